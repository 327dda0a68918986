//! After warm-up, the engine allocates nothing per packet beyond the received payload itself.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use enet_proto::{Event, Host, HostConfig, Packet, PacketFlags, PeerId};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Pair {
    a: Host,
    b: Host,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: Instant,
    buf: Vec<u8>,
}

impl Pair {
    /// Moves every pending datagram in both directions and returns the events of `b`.
    fn pump(&mut self, received: &mut u64) {
        self.now += Duration::from_millis(1);
        for _ in 0..64 {
            let mut moved = false;
            while let Some(to) = self.a.poll_transmit(self.now, &mut self.buf) {
                assert_eq!(to, self.b_addr);
                self.b.handle_datagram(self.now, self.a_addr, &self.buf);
                moved = true;
            }
            while let Some(to) = self.b.poll_transmit(self.now, &mut self.buf) {
                assert_eq!(to, self.a_addr);
                self.a.handle_datagram(self.now, self.b_addr, &self.buf);
                moved = true;
            }
            while let Some(e) = self.b.poll_event() {
                if let Event::Receive { .. } = e {
                    *received += 1;
                }
            }
            while self.a.poll_event().is_some() {}
            if !moved {
                break;
            }
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
    }
}

fn run(p: &mut Pair, peer: PeerId, payload: &Bytes, flags: PacketFlags, n: u64) -> u64 {
    let mut received = 0;
    let mut sent = 0;
    while sent < n {
        for _ in 0..32 {
            p.a.send(peer, 0, Packet::new(payload.clone(), flags))
                .unwrap();
            sent += 1;
        }
        p.pump(&mut received);
    }
    for _ in 0..10 {
        p.pump(&mut received);
    }
    received
}

#[test]
fn steady_state_allocates_only_received_payloads() {
    let now = Instant::now();
    let mut p = Pair {
        a: Host::new(HostConfig::default(), now).unwrap(),
        b: Host::new(HostConfig::default(), now).unwrap(),
        a_addr: "127.0.0.1:1".parse().unwrap(),
        b_addr: "127.0.0.1:2".parse().unwrap(),
        now,
        buf: Vec::with_capacity(4096),
    };
    let peer = p.a.connect(now, p.b_addr, 2, 0).unwrap();
    let mut r = 0;
    for _ in 0..10 {
        p.pump(&mut r);
    }
    let payload = Bytes::from(vec![7u8; 64]);
    for flags in [PacketFlags::RELIABLE, PacketFlags::UNRELIABLE] {
        // Warm up: queues and buffers reach their working size.
        assert_eq!(run(&mut p, peer, &payload, flags, 20_000), 20_000);
        let before = ALLOCS.load(Ordering::Relaxed);
        let n = 20_000;
        assert_eq!(run(&mut p, peer, &payload, flags, n), n);
        let allocs = ALLOCS.load(Ordering::Relaxed) - before;
        // One allocation per received packet (its payload); a little slack for the
        // occasional growth of a queue.
        assert!(
            allocs <= n + n / 100,
            "{flags:?}: {allocs} allocations for {n} packets"
        );
    }
}
