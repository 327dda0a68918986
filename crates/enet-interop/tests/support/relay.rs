//! An in-process UDP relay on 127.0.0.1 between one client and one server, for the interop
//! tests: seeded loss, duplication, reordering and delay per datagram and direction
//! ([`Conditions`]), counts of what it did ([`RelayStats`]), and an optional look at every
//! datagram it passes on towards the server.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use enet_proto::sim::SimRng;

/// Link conditions applied by the relay, per datagram and per direction.
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    /// Chance that a datagram is dropped.
    pub loss: f64,
    /// Chance that a datagram is sent twice.
    pub duplicate: f64,
    /// Chance that a copy gets an extra delay (and so may overtake or be overtaken).
    pub reorder: f64,
    /// Delay of every copy.
    pub delay: Duration,
    /// Extra delay of a reordered datagram (uniform in this range, ms).
    pub reorder_extra_ms: (u64, u64),
}

/// The conditions of the lossy interop scenarios.
pub const LOSSY: Conditions = Conditions {
    loss: 0.10,
    duplicate: 0.01,
    reorder: 0.05,
    delay: Duration::from_millis(20),
    reorder_extra_ms: (5, 40),
};

/// What a relay did, counted over its whole run.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Datagrams sent on (each copy counts).
    pub forwarded: u64,
    /// Datagrams dropped by the loss draw or by a failed send.
    pub lost: u64,
    /// Datagrams sent twice.
    pub duplicated: u64,
    /// Copies held back by an extra delay.
    pub reordered: u64,
}

/// A UDP relay between one client and `server`: the client sends to [`Relay::addr`], the
/// relay forwards from the same socket, so the server sees the relay as its client.
pub struct Relay {
    /// Where the client sends to.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<RelayStats>>,
}

/// Most time a relay thread runs, whatever happens to the test.
pub const RELAY_LIFETIME: Duration = Duration::from_secs(120);

impl Relay {
    /// Starts a relay to `server` under `cond`, its randomness from `seed`.
    pub fn spawn(server: SocketAddr, seed: u64, cond: Conditions) -> Relay {
        Relay::spawn_inspecting(server, seed, cond, |_| {})
    }

    /// As [`Relay::spawn`], and calls `inspect` with every datagram the relay passes on towards
    /// `server` (after the loss draw, once however many copies it sends).
    pub fn spawn_inspecting(
        server: SocketAddr,
        seed: u64,
        cond: Conditions,
        inspect: impl FnMut(&[u8]) + Send + 'static,
    ) -> Relay {
        assert!(server.ip().is_loopback());
        let socket = UdpSocket::bind("127.0.0.1:0").expect("relay bind");
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("lossy-relay".into())
            .spawn(move || relay_loop(socket, server, seed, cond, &flag, inspect))
            .unwrap();
        Relay {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the relay and returns what it did.
    pub fn finish(mut self) -> RelayStats {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("relay thread")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A datagram held by the relay: (due, sequence number, destination, bytes).
type Delayed = (Instant, u64, SocketAddr, Vec<u8>);

fn relay_loop(
    socket: UdpSocket,
    server: SocketAddr,
    seed: u64,
    cond: Conditions,
    stop: &AtomicBool,
    mut inspect: impl FnMut(&[u8]),
) -> RelayStats {
    let started = Instant::now();
    let mut rng = SimRng::new(seed);
    let mut stats = RelayStats::default();
    let mut client: Option<SocketAddr> = None;
    let mut queue: BinaryHeap<Reverse<Delayed>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) && started.elapsed() < RELAY_LIFETIME {
        let now = Instant::now();
        while queue.peek().is_some_and(|Reverse(e)| e.0 <= now) {
            let Reverse((_, _, to, data)) = queue.pop().unwrap();
            match socket.send_to(&data, to) {
                Ok(_) => stats.forwarded += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => stats.lost += 1,
                Err(_) => stats.lost += 1,
            }
        }
        let wait = queue
            .peek()
            .map(|Reverse(e)| e.0.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(10))
            .clamp(Duration::from_micros(200), Duration::from_millis(10));
        socket.set_read_timeout(Some(wait)).unwrap();
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue,
        };
        let to = if from == server {
            match client {
                Some(c) => c,
                None => continue,
            }
        } else {
            client = Some(from);
            server
        };
        if rng.chance(cond.loss) {
            stats.lost += 1;
            continue;
        }
        if to == server {
            inspect(&buf[..len]);
        }
        let copies = if rng.chance(cond.duplicate) {
            stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = cond.delay;
            if rng.chance(cond.reorder) {
                stats.reordered += 1;
                let (lo, hi) = cond.reorder_extra_ms;
                delay += Duration::from_millis(rng.range_u64(lo, hi));
            }
            seq += 1;
            queue.push(Reverse((
                Instant::now() + delay,
                seq,
                to,
                buf[..len].to_vec(),
            )));
        }
    }
    stats
}
