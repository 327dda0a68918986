//! Attacking peers trying to pin memory with fragment groups that announce far more than
//! they send: the host's buffered bytes never exceed its budget, and the memory committed
//! per attacking peer tracks what the peer sent, not what it announced.
//!
//! A byte-counting global allocator measures what the server really holds.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use enet_proto::protocol::*;
use enet_proto::{DropReason, Event, Host, HostConfig};
use support::datagram;

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; we only count bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocator is shared: tests measuring it must not run at the same time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A peer that speaks the protocol by hand: connects, then sends crafted commands.
struct Raw {
    addr: SocketAddr,
    peer_id: u16,
    session: u8,
}

/// Connects a hand-made peer from `addr`: CONNECT, read VERIFY_CONNECT, acknowledge it.
fn handshake(server: &mut Host, now: Instant, addr: SocketAddr, id: u32) -> Raw {
    let connect = Connect {
        outgoing_peer_id: 0,
        incoming_session_id: 0xFF,
        outgoing_session_id: 0xFF,
        mtu: 1392,
        window_size: 65536,
        channel_count: 2,
        incoming_bandwidth: 0,
        outgoing_bandwidth: 0,
        packet_throttle_interval: 5000,
        packet_throttle_acceleration: 2,
        packet_throttle_deceleration: 2,
        connect_id: id.to_le_bytes(),
        data: id,
    };
    let h = CommandHeader {
        command: CommandKind::Connect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
        channel_id: CONTROL_CHANNEL,
        reliable_sequence_number: 1,
    };
    let dg = datagram(MAXIMUM_PEER_ID, 0, &[(h, Command::Connect(connect), &[])]);
    server.handle_datagram(now, addr, &dg);
    let mut buf = Vec::new();
    let mut raw = None;
    while let Some(to) = server.poll_transmit(now, &mut buf) {
        assert_eq!(to, addr);
        let (hdr, mut pos) = Header::read(&buf).unwrap();
        while pos < buf.len() {
            let (ch, c, n) = Command::read(&buf[pos..]).unwrap();
            pos += n + c.data_length();
            if let Command::VerifyConnect(v) = c {
                raw = Some((v, ch, hdr.sent_time.unwrap()));
            }
        }
    }
    let (v, ch, sent) = raw.expect("a VERIFY_CONNECT");
    let raw = Raw {
        addr,
        peer_id: v.outgoing_peer_id,
        session: v.outgoing_session_id,
    };
    let ack = CommandHeader {
        command: CommandKind::Acknowledge as u8,
        channel_id: CONTROL_CHANNEL,
        reliable_sequence_number: ch.reliable_sequence_number,
    };
    let body = Command::Acknowledge {
        received_reliable_sequence_number: ch.reliable_sequence_number,
        received_sent_time: sent,
    };
    server.handle_datagram(
        now,
        addr,
        &datagram(raw.peer_id, raw.session, &[(ack, body, &[])]),
    );
    raw
}

/// One reliable fragment as an ENet sender places it.
fn fragment(start: u16, n: u32, count: u32, len: u32, total: u32) -> (CommandHeader, Command) {
    let offset = n * len;
    let data_length = (total - offset).min(len) as u16;
    (
        CommandHeader {
            command: CommandKind::SendFragment as u8 | COMMAND_FLAG_ACKNOWLEDGE,
            channel_id: 0,
            reliable_sequence_number: start.wrapping_add(n as u16),
        },
        Command::SendFragment(Fragment {
            start_sequence_number: start,
            data_length,
            fragment_count: count,
            fragment_number: n,
            total_length: total,
            fragment_offset: offset,
        }),
    )
}

const FRAGMENT: u32 = 1364;
const ANNOUNCED: u32 = 32 * 1024 * 1024;

/// The attack of the report: fragment groups announcing 32 MiB, held behind a missing
/// reliable packet (seq 1), each sent sparsely (every `stride`-th fragment, fragment 0
/// never). Returns the payload bytes sent.
fn attack(
    server: &mut Host,
    now: Instant,
    raw: &Raw,
    groups: u16,
    per_group: u32,
    stride: u32,
    mut each: impl FnMut(&Host),
) -> usize {
    let count = ANNOUNCED.div_ceil(FRAGMENT);
    let payload = vec![0xA5u8; FRAGMENT as usize];
    let mut sent = 0;
    let mut buf = Vec::new();
    for g in 0..groups {
        // Groups far apart so their sequence ranges do not overlap, all inside the window.
        let start = 2 + g * 8;
        for k in 0..per_group {
            let n = 1 + k * stride;
            if n >= count {
                break;
            }
            let (h, c) = fragment(start, n, count, FRAGMENT, ANNOUNCED);
            let len = c.data_length();
            let dg = datagram(raw.peer_id, raw.session, &[(h, c, &payload[..len])]);
            server.handle_datagram(now, raw.addr, &dg);
            sent += len;
            // Drain acknowledgements (they would go to the attacker).
            while server.poll_transmit(now, &mut buf).is_some() {}
            each(server);
        }
    }
    sent
}

fn attacker_addr(i: u16) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(10, 9, (i >> 8) as u8, i as u8)),
        40_000 + i,
    )
}

#[test]
fn attacking_peers_never_exceed_the_buffer_budget() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const BUDGET: usize = 4 * 1024 * 1024;
    const ATTACKERS: u16 = 16;
    let now = Instant::now();
    let mut server = Host::new(
        HostConfig::default()
            .with_peer_count(64)
            .with_buffer_budget(BUDGET)
            .with_seed(5),
        now,
    )
    .unwrap();
    let attackers: Vec<Raw> = (0..ATTACKERS)
        .map(|i| handshake(&mut server, now, attacker_addr(i), u32::from(i)))
        .collect();
    let bystander = handshake(&mut server, now, attacker_addr(999), 999);
    assert_eq!(server.connected_peers(), usize::from(ATTACKERS) + 1);
    let mut peak = 0;
    let mut sent = 0;
    for raw in &attackers {
        // Each tries to pin 1.3 MB for real (1,000 fragments), 16 of them over a 4 MiB budget.
        sent += attack(&mut server, now, raw, 4, 250, 3, |s| {
            assert!(
                s.buffered_bytes() <= BUDGET,
                "{} > budget",
                s.buffered_bytes()
            );
            peak = peak.max(s.buffered_bytes());
        });
    }
    let refused = server.drop_stats().get(DropReason::HostBufferBudget);
    println!(
        "{ATTACKERS} attackers sent {sent} bytes; peak buffered {peak} of {BUDGET}; {refused} fragments refused"
    );
    assert!(refused > 0, "the budget was never reached");
    assert!(
        peak > BUDGET / 2,
        "the attackers did fill the budget ({peak})"
    );

    // The bystander holds nothing, so it is below its share: a 50 KB packet still arrives.
    let total = 50_000u32;
    let count = total.div_ceil(FRAGMENT);
    let data: Vec<u8> = (0..total).map(|i| (i % 253) as u8).collect();
    let mut buf = Vec::new();
    for n in 0..count {
        let (h, c) = fragment(1, n, count, FRAGMENT, total);
        let o = (n * FRAGMENT) as usize;
        let chunk = &data[o..o + c.data_length()];
        let dg = datagram(bystander.peer_id, bystander.session, &[(h, c, chunk)]);
        server.handle_datagram(now, bystander.addr, &dg);
        while server.poll_transmit(now, &mut buf).is_some() {}
        assert!(server.buffered_bytes() <= BUDGET);
    }
    let mut got = None;
    while let Some(e) = server.poll_event() {
        if let Event::Receive { packet, .. } = e {
            got = Some(packet.data);
        }
    }
    assert_eq!(
        got.as_deref(),
        Some(&data[..]),
        "the bystander's packet arrived"
    );
    // Disconnecting the attackers releases everything they held.
    for raw in &attackers {
        let h = CommandHeader {
            command: CommandKind::Disconnect as u8 | COMMAND_FLAG_UNSEQUENCED,
            channel_id: CONTROL_CHANNEL,
            reliable_sequence_number: 0,
        };
        let dg = datagram(
            raw.peer_id,
            raw.session,
            &[(h, Command::Disconnect { data: 0 }, &[])],
        );
        server.handle_datagram(now + Duration::from_millis(1), raw.addr, &dg);
    }
    while server.poll_event().is_some() {}
    assert_eq!(server.buffered_bytes(), 0);
}

/// With the default limits, what each attacking peer makes the server commit, measured
/// by the allocator (C ENet 1.3.17: about 65 MiB per peer for this attack).
#[test]
fn committed_memory_per_attacking_peer_tracks_what_it_sent() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const ATTACKERS: u16 = 16;
    let now = Instant::now();
    let mut server =
        Host::new(HostConfig::default().with_peer_count(64).with_seed(6), now).unwrap();
    let attackers: Vec<Raw> = (0..ATTACKERS)
        .map(|i| handshake(&mut server, now, attacker_addr(i), u32::from(i)))
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    let mut sent = 0;
    for raw in &attackers {
        // The report's traffic: ~13 MB over 16 peers, fragments spread over a 32 MiB group
        // (a second group would exceed the peer's waiting-data limit and be refused).
        sent += attack(&mut server, now, raw, 1, 600, 3, |_| {});
    }
    let committed = LIVE.load(Ordering::Relaxed) - before;
    let per_peer = committed / i64::from(ATTACKERS);
    let sent_per_peer = sent / usize::from(ATTACKERS);
    println!(
        "committed per attacking peer: {per_peer} bytes ({:.2} MiB) for {sent_per_peer} bytes sent \
         (announced {} MiB); host buffered_bytes {}",
        per_peer as f64 / 1048576.0,
        ANNOUNCED / 1048576,
        server.buffered_bytes()
    );
    // Memory tracks what arrived: at most twice the payload (buffer doubling) plus entries.
    assert!(
        per_peer < 2 * sent_per_peer as i64 + 64 * 1024,
        "{per_peer} bytes committed per peer for {sent_per_peer} sent"
    );
    // The host's statistic accounts for what it holds (a little more: fixed entry costs).
    let buffered = server.buffered_bytes() as i64;
    assert!(
        committed <= buffered + 64 * 1024 && buffered < 2 * committed,
        "buffered_bytes {buffered}, allocator {committed}"
    );
}
