//! Early retransmission against the C library (ENet 1.3.17): our sender, with early
//! retransmission on (the default), streams reliable messages through a lossy, delayed UDP
//! relay to a C receiver. The C side must deliver every message exactly once and in order
//! (it drops the extra copies as duplicates, as for any retransmission), while its
//! received-datagram count shows that more copies arrived than it delivered. A second test
//! sends a 2 MB burst the same way with a 256 KiB transit window: our sender keeps more
//! than C's 64 KiB window in flight, and the C side still delivers it exactly once and in
//! order.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enet::udp::UdpHost;
use enet::{Event, HostConfig, Packet};
use enet_interop::{flags, pattern, CEvent, CPeer, CPeerOpts, Received};
use support::relay::{Conditions, Relay};

/// Messages sent, one every `GAP`: a stream dense enough that later acknowledgements
/// reveal most losses before the retransmission timeout would.
const MESSAGES: u32 = 600;
const GAP: Duration = Duration::from_millis(5);
const SEED0: u32 = 70_000;
const LEN: usize = 64;
/// Loss each way, and one-way delay, of the relay.
const LOSS: f64 = 0.10;
const DELAY: Duration = Duration::from_millis(20);

/// Size of each ENet command (header included, payload not), by command number, as in
/// the C library's `commandSizes`.
const COMMAND_SIZES: [usize; 13] = [0, 8, 48, 44, 8, 4, 6, 8, 24, 8, 12, 16, 24];
const SEND_RELIABLE: u8 = 6;

/// SEND_RELIABLE commands in a plain datagram (no checksum, no compression); `None` if it
/// does not parse.
fn reliable_sends(d: &[u8]) -> Option<usize> {
    let peer_id = u16::from_be_bytes([*d.first()?, *d.get(1)?]);
    let mut at = if peer_id & 0x8000 != 0 { 4 } else { 2 };
    let mut n = 0;
    while at < d.len() {
        let cmd = d[at] & 0x0F;
        let size = *COMMAND_SIZES.get(cmd as usize).filter(|&&s| s > 0)?;
        let body = d.get(at..at + size)?;
        // Commands with a payload carry its length in their last two header bytes but
        // for the fragment kinds (bytes 6..8).
        let data = match cmd {
            6 => u16::from_be_bytes([body[4], body[5]]) as usize,
            7 | 9 => u16::from_be_bytes([body[6], body[7]]) as usize,
            8 | 12 => u16::from_be_bytes([body[6], body[7]]) as usize,
            _ => 0,
        };
        if cmd == SEND_RELIABLE {
            n += 1;
        }
        at += size + data;
    }
    (at == d.len()).then_some(n)
}

/// SEND_RELIABLE copies the relay passed on to the server (the C side), and datagrams to it
/// that did not parse.
#[derive(Debug, Default)]
struct ToServer {
    reliable_copies: AtomicU64,
    unparsed: AtomicU64,
}

/// Starts the shared relay with seeded loss and a fixed delay each way (no duplication, no
/// reordering), counting the SEND_RELIABLE copies it passes on to `server`.
fn spawn_relay(server: SocketAddr, seed: u64) -> (Relay, Arc<ToServer>) {
    let counts = Arc::new(ToServer::default());
    let seen = counts.clone();
    let cond = Conditions {
        loss: LOSS,
        duplicate: 0.0,
        reorder: 0.0,
        delay: DELAY,
        reorder_extra_ms: (0, 0),
    };
    let relay = Relay::spawn_inspecting(server, seed, cond, move |d| match reliable_sends(d) {
        Some(n) => {
            seen.reliable_copies.fetch_add(n as u64, Ordering::Relaxed);
        }
        None => {
            seen.unparsed.fetch_add(1, Ordering::Relaxed);
        }
    });
    (relay, counts)
}

/// Connects our host (one channel) through the relay at `relay`: a lost handshake datagram
/// is retried after the default 500 ms RTO, so this may take a few seconds.
fn connect_through(us: &mut UdpHost, relay: SocketAddr) -> enet::PeerId {
    let peer = us.connect(relay, 1, 0).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no connection through the relay");
        if let Some(Event::Connect { .. }) = us.service(Duration::from_millis(5)).unwrap() {
            return peer;
        }
    }
}

/// Services our host for up to `wait`; panics on a disconnect.
fn step(host: &mut UdpHost, wait: Duration) {
    let mut ev = host.service(wait).expect("service");
    while let Some(e) = ev {
        assert!(!matches!(e, Event::Disconnect { .. }), "ours: {e:?}");
        ev = host.check_events();
    }
}

/// Takes the C receive events that have arrived.
fn drain_c(c: &mut CPeer, got: &mut Vec<Received>) {
    while let Some(ev) = c.try_expect(Duration::ZERO, |e| {
        matches!(e, CEvent::Receive(_) | CEvent::Error(_))
    }) {
        match ev {
            CEvent::Receive(r) => got.push(r),
            other => panic!("C peer: {other:?}"),
        }
    }
}

fn run(seed: u64) {
    let mut c = CPeer::spawn_server(&CPeerOpts::new().channels(1));
    let (relay, to_c) = spawn_relay(SocketAddr::from(([127, 0, 0, 1], c.port())), seed);
    let mut us = UdpHost::bind("127.0.0.1:0".parse().unwrap(), HostConfig::default()).unwrap();
    let peer = connect_through(&mut us, relay.addr);
    assert!(us.host().early_retransmit(peer).unwrap(), "on by default");
    c.expect_connect(Duration::from_secs(20));

    let mut got: Vec<Received> = Vec::new();
    let start = Instant::now();
    for k in 0..MESSAGES {
        let due = start + GAP * k;
        while Instant::now() < due {
            step(&mut us, due.saturating_duration_since(Instant::now()));
        }
        us.send(peer, 0, Packet::reliable(pattern(SEED0 + k, LEN)))
            .unwrap();
        us.flush().unwrap();
        drain_c(&mut c, &mut got);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < MESSAGES as usize {
        assert!(
            Instant::now() < deadline,
            "C delivered only {} of {MESSAGES}",
            got.len()
        );
        step(&mut us, Duration::from_millis(2));
        drain_c(&mut c, &mut got);
    }
    // A grace period: no copy is delivered a second time.
    let grace = Instant::now() + Duration::from_millis(500);
    while Instant::now() < grace {
        step(&mut us, Duration::from_millis(2));
        drain_c(&mut c, &mut got);
    }
    assert_eq!(got.len(), MESSAGES as usize, "delivered exactly once");
    for (k, r) in got.iter().enumerate() {
        assert!(
            r.is_pattern(SEED0 + k as u32, LEN) && r.channel == 0,
            "message #{k} out of order or corrupt: {r:?}"
        );
        assert_ne!(r.flags & flags::RELIABLE, 0, "#{k}: {r:?}");
    }
    let counters = us.host().peer_info(peer).unwrap().counters;
    let received_datagrams = c.stats(Duration::from_secs(5)).host["recv_packets"];
    let stats = relay.finish();
    let reliable_copies_to_c = to_c.reliable_copies.load(Ordering::Relaxed);
    let unparsed = to_c.unparsed.load(Ordering::Relaxed);
    eprintln!(
        "seed {seed:#x}: relay {stats:?}, {reliable_copies_to_c} reliable copies to C, \
         {unparsed} unparsed; ours sent {} datagrams, {} retransmissions \
         ({} early); C received {received_datagrams} datagrams, delivered {}",
        counters.datagrams_sent,
        counters.retransmissions,
        counters.early_retransmissions,
        got.len()
    );
    assert!(stats.lost > 0, "the relay lost nothing");
    assert_eq!(unparsed, 0, "every datagram to C parsed");
    assert!(
        counters.early_retransmissions > 0,
        "early retransmission never triggered"
    );
    // More reliable copies reached the C side than it delivered: the spurious ones (their
    // acknowledgement was lost) it dropped as duplicates. The connection's own reliable
    // commands (the handshake's acknowledgement is not one; pings are not SEND_RELIABLE)
    // do not count here.
    assert!(
        reliable_copies_to_c > u64::from(MESSAGES),
        "{reliable_copies_to_c} reliable copies reached C for {MESSAGES} messages"
    );
    assert!(received_datagrams > 0);
}

#[test]
fn early_retransmission_to_a_c_receiver_delivers_exactly_once_in_order() {
    if !enet_interop::require_c_library() {
        return;
    }
    for seed in [0xE4_0001, 0xE4_0002] {
        run(seed);
    }
}

/// A 2 MB burst (2,048 reliable 1 KiB messages queued at once) through the lossy relay
/// to a C receiver: more than 64 KiB is in flight at some point, and C delivers every
/// message exactly once and in order.
fn run_bulk(seed: u64) {
    const BULK: u32 = 2048;
    const BULK_LEN: usize = 1024;
    let mut c = CPeer::spawn_server(&CPeerOpts::new().channels(1));
    let (relay, _to_c) = spawn_relay(SocketAddr::from(([127, 0, 0, 1], c.port())), seed);
    let config = HostConfig::default().with_transit_window(256 * 1024);
    let mut us = UdpHost::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let peer = connect_through(&mut us, relay.addr);
    c.expect_connect(Duration::from_secs(20));
    for k in 0..BULK {
        us.send(peer, 0, Packet::reliable(pattern(SEED0 + k, BULK_LEN)))
            .unwrap();
    }
    let mut got: Vec<Received> = Vec::new();
    let mut most_in_flight = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    while got.len() < BULK as usize {
        assert!(
            Instant::now() < deadline,
            "C delivered only {} of {BULK}",
            got.len()
        );
        step(&mut us, Duration::from_millis(2));
        let info = us.peer_info(peer).unwrap();
        most_in_flight = most_in_flight.max(info.reliable_data_in_transit);
        drain_c(&mut c, &mut got);
    }
    let grace = Instant::now() + Duration::from_millis(500);
    while Instant::now() < grace {
        step(&mut us, Duration::from_millis(2));
        drain_c(&mut c, &mut got);
    }
    let stats = relay.finish();
    eprintln!("bulk seed {seed:#x}: relay {stats:?}, most in flight {most_in_flight} bytes");
    assert_eq!(got.len(), BULK as usize, "delivered exactly once");
    for (k, r) in got.iter().enumerate() {
        assert!(
            r.is_pattern(SEED0 + k as u32, BULK_LEN) && r.channel == 0,
            "message #{k} out of order or corrupt"
        );
    }
    assert!(stats.lost > 0, "the relay lost nothing");
    assert!(
        most_in_flight > 65_536,
        "never more than C's window in flight: {most_in_flight}"
    );
}

#[test]
fn a_transit_window_beyond_c_s_is_delivered_exactly_once_in_order_by_c() {
    if !enet_interop::require_c_library() {
        return;
    }
    run_bulk(0xE4_0101);
}
