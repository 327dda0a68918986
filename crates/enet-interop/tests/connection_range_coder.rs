//! `EnetConnection::compress(CompressionMode::RangeCoder)` against the C library's range
//! coder (`enet_host_compress_with_range_coder`), through the C peer, both roles and both
//! directions of traffic, payloads verified byte for byte (pattern seeds and CRC-32).
//!
//! The same runs with `EnetConnection::set_checksum(true)` against a C peer with
//! `host->checksum = enet_crc32` (an extension: Godot has no checksum option), alone and
//! together with the range coder.

use std::time::{Duration, Instant};

use enet::godot::{
    EnetConnection, EventType, HostStatistic, PeerHandle, FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT,
    FLAG_UNSEQUENCED,
};
use enet::CompressionMode;
use enet_interop::{crc32, flags, pattern, CEvent, CPeer, CPeerOpts, Received};

const T: Duration = Duration::from_secs(5);

/// Services `conn` until it reports an event (returned), meanwhile nothing else.
fn next_rust_event(conn: &mut EnetConnection, c: &CPeer) -> enet::godot::ServiceEvent {
    let end = Instant::now() + T;
    loop {
        let ev = conn.service(Duration::from_millis(2)).unwrap();
        if ev.kind != EventType::None {
            return ev;
        }
        assert!(
            Instant::now() < end,
            "no event on the Rust side; C output {:?}",
            c.history()
        );
    }
}

/// Services `conn` while waiting for a C event accepted by `pred`. Rust events seen
/// meanwhile are appended to `log`.
fn wait_c(
    conn: &mut EnetConnection,
    c: &mut CPeer,
    what: &str,
    log: &mut Vec<enet::godot::ServiceEvent>,
    mut pred: impl FnMut(&CEvent) -> bool,
) -> CEvent {
    let end = Instant::now() + T;
    loop {
        let ev = conn.service(Duration::from_millis(1)).unwrap();
        if ev.kind != EventType::None {
            log.push(ev);
        }
        if let Some(e) = c.try_expect(Duration::from_millis(1), &mut pred) {
            if let CEvent::Error(msg) = &e {
                panic!("C peer error while waiting for {what}: {msg}");
            }
            return e;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for C {what}; C output {:?}",
            c.history()
        );
    }
}

fn wait_c_receive(
    conn: &mut EnetConnection,
    c: &mut CPeer,
    log: &mut Vec<enet::godot::ServiceEvent>,
) -> Received {
    match wait_c(conn, c, "receive", log, |e| {
        matches!(e, CEvent::Receive(_) | CEvent::Error(_))
    }) {
        CEvent::Receive(r) => r,
        _ => unreachable!(),
    }
}

/// Waits for the next packet on the Rust side; returns (channel, payload).
fn rust_receive(
    conn: &mut EnetConnection,
    c: &CPeer,
    peer: PeerHandle,
    log: &mut Vec<enet::godot::ServiceEvent>,
) -> (u8, Vec<u8>) {
    let ev = if log.is_empty() {
        next_rust_event(conn, c)
    } else {
        log.remove(0)
    };
    assert_eq!(ev.kind, EventType::Receive, "{ev:?}");
    assert_eq!(ev.peer, Some(peer));
    let (data, ch, _) = conn.peer(peer).get_packet_with_info().unwrap();
    assert_eq!(ch, ev.channel);
    (ch, data.to_vec())
}

/// Text that the range coder shrinks well.
fn text(len: usize) -> Vec<u8> {
    b"Godot ENet range coder interop; "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// (channel, Godot flags, length, seed) of the patterned packets sent each way.
const CASES: [(u8, u32, usize, u32); 6] = [
    (0, FLAG_RELIABLE, 64, 11),
    (1, FLAG_UNSEQUENCED, 200, 12),
    (2, 0, 500, 13),
    // Fragmented, reliably.
    (0, FLAG_RELIABLE, 5000, 14),
    // Fragmented, unreliably.
    (1, FLAG_UNRELIABLE_FRAGMENT, 3000, 15),
    (2, FLAG_RELIABLE, 4, 16),
];

/// Datagram options of both ends.
#[derive(Clone, Copy, Debug)]
struct Opts {
    range_coder: bool,
    checksum: bool,
}

impl Opts {
    fn apply(self, conn: &mut EnetConnection) {
        if self.range_coder {
            conn.compress(CompressionMode::RangeCoder).unwrap();
        }
        conn.set_checksum(self.checksum).unwrap();
    }
    fn c(self, mut o: CPeerOpts) -> CPeerOpts {
        if self.range_coder {
            o = o.range_coder();
        }
        if self.checksum {
            o = o.checksum();
        }
        o
    }
}

const RANGE_CODER: Opts = Opts {
    range_coder: true,
    checksum: false,
};
const CHECKSUM: Opts = Opts {
    range_coder: false,
    checksum: true,
};
const BOTH: Opts = Opts {
    range_coder: true,
    checksum: true,
};

/// Our side sends patterned and compressible packets; the C echo peer must see exactly
/// them and echo them back intact. Then the C peer sends and we check.
fn exchange_with_echo_peer(
    conn: &mut EnetConnection,
    peer: PeerHandle,
    c: &mut CPeer,
    c_peer: &str,
    opts: Opts,
) {
    let mut log = Vec::new();
    for &(ch, fl, len, seed) in &CASES {
        conn.peer(peer).send(ch, &pattern(seed, len), fl).unwrap();
        let r = wait_c_receive(conn, c, &mut log);
        assert!(r.is_pattern(seed, len), "C got {r:?} for seed {seed}");
        assert_eq!(r.channel, ch);
        assert_eq!(
            r.flags & flags::RELIABLE != 0,
            fl & FLAG_RELIABLE != 0,
            "{r:?}"
        );
        let (ech, data) = rust_receive(conn, c, peer, &mut log);
        assert_eq!(ech, ch);
        assert_eq!(data, pattern(seed, len), "echo of seed {seed}");
    }
    // Compressible data: the wire carries far fewer bytes, and C decodes it exactly.
    let t = text(3000);
    conn.flush().unwrap();
    conn.pop_statistic(HostStatistic::TotalSentData).unwrap();
    conn.peer(peer).send(2, &t, FLAG_RELIABLE).unwrap();
    conn.flush().unwrap();
    let wire = conn.pop_statistic(HostStatistic::TotalSentData).unwrap();
    if opts.range_coder {
        assert!(
            wire < 1500.0,
            "{wire} bytes on the wire for 3000 bytes of text"
        );
    } else {
        assert!(wire > 3000.0, "{wire} bytes on the wire, uncompressed");
    }
    let r = wait_c_receive(conn, c, &mut log);
    assert_eq!((r.len, r.crc, r.channel), (t.len(), crc32(&t), 2), "{r:?}");
    assert_eq!(rust_receive(conn, c, peer, &mut log), (2, t));

    // The C peer sends; we check every byte.
    for &(ch, fl, len, seed) in &CASES {
        c.send(c_peer, ch, fl, len, seed + 100);
        let (rch, data) = rust_receive(conn, c, peer, &mut log);
        assert_eq!(rch, ch);
        assert_eq!(data, pattern(seed + 100, len), "C seed {}", seed + 100);
    }
    assert!(log.is_empty(), "unexpected Rust events {log:?}");
}

fn rust_server_with_c_client(opts: Opts) {
    let mut s = EnetConnection::new();
    s.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0).unwrap();
    opts.apply(&mut s);
    let port = s.get_local_port().unwrap();
    let mut c = CPeer::spawn_client(
        "127.0.0.1",
        port,
        &opts.c(CPeerOpts::new().echo().channels(3).data(77)),
    );
    let mut log = Vec::new();
    let info = match wait_c(&mut s, &mut c, "connect", &mut log, |e| {
        matches!(e, CEvent::Connect(_) | CEvent::Error(_))
    }) {
        CEvent::Connect(i) => i,
        _ => unreachable!(),
    };
    assert_eq!(info.channels, 3);
    let ev = if log.is_empty() {
        next_rust_event(&mut s, &c)
    } else {
        log.remove(0)
    };
    assert_eq!((ev.kind, ev.data), (EventType::Connect, 77));
    let speer = ev.peer.unwrap();
    assert_eq!(s.peer(speer).get_channels().unwrap(), 3);
    assert_eq!(s.peer(speer).get_remote_port().unwrap(), c.port());
    exchange_with_echo_peer(&mut s, speer, &mut c, "0", opts);

    // A graceful disconnect from the C side arrives with its data.
    c.send_line("disconnect 0 4242");
    let ev = next_rust_event(&mut s, &c);
    assert_eq!(
        (ev.kind, ev.data, ev.peer),
        (EventType::Disconnect, 4242, Some(speer))
    );
}

fn rust_client_with_c_server(opts: Opts) {
    let mut srv = CPeer::spawn_server(&opts.c(CPeerOpts::new().echo()));
    let mut c = EnetConnection::new();
    c.create_host_bound("127.0.0.1", 0, 1, 0, 0, 0).unwrap();
    opts.apply(&mut c);
    let cpeer = c.connect_to_host("127.0.0.1", srv.port(), 3, 9).unwrap();
    let mut log = Vec::new();
    let info = match wait_c(&mut c, &mut srv, "connect", &mut log, |e| {
        matches!(e, CEvent::Connect(_) | CEvent::Error(_))
    }) {
        CEvent::Connect(i) => i,
        _ => unreachable!(),
    };
    assert_eq!((info.data, info.channels), (9, 3));
    let ev = if log.is_empty() {
        next_rust_event(&mut c, &srv)
    } else {
        log.remove(0)
    };
    assert_eq!((ev.kind, ev.peer), (EventType::Connect, Some(cpeer)));
    let peer = info.peer.to_string();
    exchange_with_echo_peer(&mut c, cpeer, &mut srv, &peer, opts);

    // Our graceful disconnect reaches the C server with its data.
    c.peer(cpeer).peer_disconnect(31337).unwrap();
    let mut log = Vec::new();
    match wait_c(&mut c, &mut srv, "disconnect", &mut log, |e| {
        matches!(e, CEvent::Disconnect { .. } | CEvent::Error(_))
    }) {
        CEvent::Disconnect { data, .. } => assert_eq!(data, 31337),
        _ => unreachable!(),
    }
}

#[test]
fn rust_server_with_c_client_using_the_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    rust_server_with_c_client(RANGE_CODER);
}

#[test]
fn rust_client_with_c_server_using_the_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    rust_client_with_c_server(RANGE_CODER);
}

#[test]
fn rust_server_with_c_client_using_the_checksum() {
    if !enet_interop::require_c_library() {
        return;
    }
    rust_server_with_c_client(CHECKSUM);
}

#[test]
fn rust_client_with_c_server_using_the_checksum() {
    if !enet_interop::require_c_library() {
        return;
    }
    rust_client_with_c_server(CHECKSUM);
}

#[test]
fn rust_server_with_c_client_using_checksum_and_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    rust_server_with_c_client(BOTH);
}

#[test]
fn rust_client_with_c_server_using_checksum_and_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    rust_client_with_c_server(BOTH);
}

/// The checksum really is on the wire: a C client with checksums cannot connect to us
/// without them (every datagram fails our parse), and with them it can.
#[test]
fn checksum_mismatch_keeps_a_c_client_out() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut s = EnetConnection::new();
    s.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0).unwrap();
    let port = s.get_local_port().unwrap();
    let mut c = CPeer::spawn_client("127.0.0.1", port, &CPeerOpts::new().checksum());
    let end = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < end {
        let ev = s.service(Duration::from_millis(10)).unwrap();
        assert_eq!(
            ev.kind,
            EventType::None,
            "a checksummed CONNECT got through: {ev:?}"
        );
        if let Some(e) = c.next_event(Duration::ZERO) {
            assert!(!matches!(e, CEvent::Connect(_)), "C connected: {e:?}");
        }
    }
}
