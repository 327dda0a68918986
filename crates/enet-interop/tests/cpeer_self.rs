//! C ↔ C self-tests: prove that the C peer (`csrc/cpeer.c`) and the Rust
//! harness work, using the system C ENet on both ends over 127.0.0.1 with
//! ephemeral ports.

use std::time::Duration;

use enet_interop::{crc32, flags, pattern, CEvent, CPeer, CPeerOpts, ConnectInfo};

const T: Duration = Duration::from_secs(5);
const LOCALHOST: &str = "127.0.0.1";

/// Spawns a server and a client and waits until both report `connect`.
fn pair(server: CPeerOpts, client: CPeerOpts) -> (CPeer, CPeer, ConnectInfo, ConnectInfo) {
    let mut s = CPeer::spawn_server(&server);
    assert_ne!(s.port(), 0);
    let mut c = CPeer::spawn_client(LOCALHOST, s.port(), &client);
    let cc = c.expect_connect(T);
    let sc = s.expect_connect(T);
    (s, c, sc, cc)
}

/// Sends one packet from the client to an echo server and checks both the
/// server's view and the echo.
fn roundtrip(s: &mut CPeer, c: &mut CPeer, channel: u8, flag_bits: u32, len: usize, seed: u32) {
    c.send("0", channel, flag_bits, len, seed);
    assert_eq!(c.expect_sent(T), 1);
    let r = s.expect_receive(T);
    assert!(r.is_pattern(seed, len), "server got {r:?}");
    assert_eq!(r.channel, channel);
    let e = c.expect_receive(T);
    assert!(e.is_pattern(seed, len), "client got echo {e:?}");
    assert_eq!(e.channel, channel);
}

#[test]
fn connect_sees_data_and_channels() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, sc, cc) = pair(
        CPeerOpts::new(),
        CPeerOpts::new().channels(5).data(0xDEAD_BEEF),
    );
    assert_eq!(sc.data, 0xDEAD_BEEF);
    assert_eq!(sc.channels, 5);
    assert_eq!(cc.peer, 0);
    assert_eq!(cc.data, 0, "a client's CONNECT event carries data 0");
    assert_eq!(cc.channels, 5);
    assert!(sc.mtu >= 576 && sc.mtu <= 4096, "{sc:?}");
    assert_eq!(sc.mtu, cc.mtu);

    let stats = s.stats(T);
    assert_eq!(stats.host["connected"], 1);
    assert_eq!(stats.peers[&sc.peer]["channels"], 5);
    assert_eq!(
        stats.peers[&sc.peer]["state"], 5,
        "ENET_PEER_STATE_CONNECTED"
    );

    assert!(c.quit(T).expect("client exits").success());
    assert!(s.quit(T).expect("server exits").success());
}

#[test]
fn server_channel_limit_applies_to_both_sides() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (_s, _c, sc, cc) = pair(
        CPeerOpts::new().channels(3),
        CPeerOpts::new().channels(8).data(1),
    );
    assert_eq!(sc.channels, 3);
    assert_eq!(cc.channels, 3);
}

#[test]
fn ten_thousand_reliable_messages_echoed() {
    if !enet_interop::require_c_library() {
        return;
    }
    const N: u32 = 10_000;
    const SEED0: u32 = 1_000;
    let (mut s, mut c, _, _) = pair(CPeerOpts::new().echo(), CPeerOpts::new());
    c.sendn(N, "0", 0, flags::RELIABLE, 64, SEED0);
    assert_eq!(c.expect_sent(T), N);

    let echoed = c.expect_receives(N as usize, Duration::from_secs(15));
    for (k, r) in echoed.iter().enumerate() {
        let seed = SEED0 + k as u32;
        assert!(
            r.is_pattern(seed, 64),
            "echo #{k} out of order or corrupt: {r:?}"
        );
        assert_eq!(r.flags & flags::RELIABLE, flags::RELIABLE);
        assert_eq!(r.channel, 0);
    }
    let at_server = s.expect_receives(N as usize, T);
    let crc_expected: Vec<u32> = (0..N).map(|k| crc32(&pattern(SEED0 + k, 64))).collect();
    let crc_seen: Vec<u32> = at_server.iter().map(|r| r.crc).collect();
    assert_eq!(crc_seen, crc_expected);
    assert!(s
        .try_expect(Duration::from_millis(100), |e| matches!(
            e,
            CEvent::Receive(_)
        ))
        .is_none());
}

#[test]
fn unreliable_and_unsequenced_delivered() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(CPeerOpts::new().echo(), CPeerOpts::new().channels(2));
    c.sendn(20, "0", 1, 0, 100, 500);
    assert_eq!(c.expect_sent(T), 20);
    c.sendn(20, "0", 0, flags::UNSEQUENCED, 33, 600);
    assert_eq!(c.expect_sent(T), 20);

    let mut got = s.expect_receives(40, T);
    got.sort_by_key(|r| r.seed);
    for (k, r) in got.iter().enumerate() {
        if k < 20 {
            assert!(r.is_pattern(500 + k as u32, 100), "{r:?}");
            assert_eq!((r.channel, r.flags), (1, 0), "plain unreliable");
        } else {
            assert!(r.is_pattern(600 + k as u32 - 20, 33), "{r:?}");
            assert_eq!((r.channel, r.flags), (0, flags::UNSEQUENCED));
        }
    }
    let echoes = c.expect_receives(40, T);
    assert!(echoes
        .iter()
        .all(|r| r.flags & flags::RELIABLE == 0 && r.seed.is_some()));
}

#[test]
fn large_reliable_packet() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(CPeerOpts::new().echo(), CPeerOpts::new());
    roundtrip(&mut s, &mut c, 1, flags::RELIABLE, 256 * 1024, 77);
}

#[test]
fn unreliable_fragment_packet() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(CPeerOpts::new().echo(), CPeerOpts::new());
    c.send("0", 1, flags::UNRELIABLE_FRAGMENT, 5000, 5);
    assert_eq!(c.expect_sent(T), 1);
    let r = s.expect_receive(T);
    assert!(r.is_pattern(5, 5000), "{r:?}");
    assert_eq!(
        r.flags,
        flags::UNRELIABLE_FRAGMENT,
        "C marks packets reassembled from unreliable fragments"
    );
    let e = c.expect_receive(T);
    assert!(e.is_pattern(5, 5000), "{e:?}");
    assert_eq!(e.flags, flags::UNRELIABLE_FRAGMENT, "echo stays unreliable");
}

#[test]
fn checksum_on_both() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(
        CPeerOpts::new().echo().checksum(),
        CPeerOpts::new().checksum(),
    );
    roundtrip(&mut s, &mut c, 0, flags::RELIABLE, 3000, 11);
    roundtrip(&mut s, &mut c, 1, 0, 200, 12);
}

#[test]
fn range_coder_on_both() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(
        CPeerOpts::new().echo().range_coder(),
        CPeerOpts::new().range_coder(),
    );
    roundtrip(&mut s, &mut c, 0, flags::RELIABLE, 3000, 21);
    roundtrip(&mut s, &mut c, 1, flags::UNSEQUENCED, 100, 22);
    c.sendn(200, "0", 0, flags::RELIABLE, 8, 300);
    assert_eq!(c.expect_sent(T), 200);
    let echoed = c.expect_receives(200, T);
    assert!(echoed
        .iter()
        .enumerate()
        .all(|(k, r)| r.is_pattern(300 + k as u32, 8)));
}

#[test]
fn checksum_and_range_coder_together() {
    if !enet_interop::require_c_library() {
        return;
    }
    let both = CPeerOpts::new().checksum().range_coder();
    let (mut s, mut c, _, _) = pair(both.clone().echo(), both.print_data());
    c.send("0", 1, flags::RELIABLE, 1500, 31);
    assert_eq!(c.expect_sent(T), 1);
    assert!(s.expect_receive(T).is_pattern(31, 1500));
    let e = c.expect_receive(T);
    assert_eq!(
        e.data.as_deref(),
        Some(&pattern(31, 1500)[..]),
        "--print-data hex dump"
    );
}

#[test]
fn graceful_disconnect_from_client_carries_data() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, sc, _) = pair(CPeerOpts::new(), CPeerOpts::new());
    c.send_line("disconnect 0 4242");
    c.expect_done("disconnect", T);
    assert_eq!(s.expect_disconnect(T), (sc.peer, 4242));
    assert_eq!(c.expect_disconnect(T), (0, 0));
}

#[test]
fn graceful_disconnect_from_server_carries_data() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, sc, _) = pair(CPeerOpts::new(), CPeerOpts::new());
    s.send_line(&format!("disconnect {} 77", sc.peer));
    s.expect_done("disconnect", T);
    assert_eq!(c.expect_disconnect(T), (0, 77));
    assert_eq!(s.expect_disconnect(T), (sc.peer, 0));
}

#[test]
fn disconnect_later_delivers_queued_data_first() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(CPeerOpts::new(), CPeerOpts::new());
    c.sendn(50, "0", 0, flags::RELIABLE, 1000, 0);
    assert_eq!(c.expect_sent(T), 50);
    c.send_line("disconnect_later 0 9");
    c.expect_done("disconnect_later", T);
    let got = s.expect_receives(50, T);
    assert!(got
        .iter()
        .enumerate()
        .all(|(k, r)| r.is_pattern(k as u32, 1000)));
    assert_eq!(s.expect_disconnect(T).1, 9);
}

#[test]
fn godot_ids_refuses_low_and_duplicate_ids() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut s = CPeer::spawn_server(&CPeerOpts::new().godot_ids().peers(8));
    let client = |id: u32| CPeerOpts::new().data(id).channels(4);

    // ids 0 and 1 are refused; the client still sees its own CONNECT first
    // (the handshake completes on the client before the server's event).
    for id in [0, 1] {
        let mut c = CPeer::spawn_client(LOCALHOST, s.port(), &client(id));
        c.expect_connect(T);
        assert_eq!(s.expect_refused(T), id);
    }

    let mut a = CPeer::spawn_client(LOCALHOST, s.port(), &client(1234));
    a.expect_connect(T);
    let ca = s.expect_connect(T);
    assert_eq!(ca.data, 1234);

    let mut dup = CPeer::spawn_client(LOCALHOST, s.port(), &client(1234));
    dup.expect_connect(T);
    assert_eq!(s.expect_refused(T), 1234);
    drop(dup);

    // a different id is accepted
    let mut b = CPeer::spawn_client(LOCALHOST, s.port(), &client(99));
    b.expect_connect(T);
    assert_eq!(s.expect_connect(T).data, 99);

    // once 1234 has disconnected, the id is free again
    a.send_line("disconnect 0 0");
    assert_eq!(s.expect_disconnect(T).0, ca.peer);
    let mut again = CPeer::spawn_client(LOCALHOST, s.port(), &client(1234));
    again.expect_connect(T);
    assert_eq!(s.expect_connect(T).data, 1234);
}

#[test]
fn bad_commands_give_errors_and_peer_survives() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(CPeerOpts::new().echo(), CPeerOpts::new());
    for bad in [
        "nonsense",
        "send",
        "send 0 0 reliable 10",
        "send 9 0 reliable 10 1",
        "send 0 999 reliable 10 1",
        "send 0 0 wobbly 10 1",
        "send 0 0 reliable -5 1",
        "send 0 0 reliable 999999999999 1",
        "sendn x 0 0 reliable 1 1",
        "disconnect zz 1",
        "timeout 0 1 2",
        "send 0 7 reliable 10 1", // channel >= negotiated count: enet_peer_send fails
    ] {
        c.send_line(bad);
        let ev = c
            .next_event(T)
            .unwrap_or_else(|| panic!("no answer to {bad:?}"));
        assert!(matches!(ev, CEvent::Error(_)), "{bad:?} gave {ev:?}");
        if bad.starts_with("send 0 7") {
            assert_eq!(c.expect_sent(T), 0);
        }
    }
    c.send_line(&"x".repeat(10_000));
    assert!(matches!(c.next_event(T), Some(CEvent::Error(_))));
    // still alive and working
    roundtrip(&mut s, &mut c, 0, flags::RELIABLE, 10, 1);
    c.send_line("flush");
    c.expect_done("flush", T);
    assert!(c.quit(T).expect("exits").success());
    assert!(c.try_expect(T, |e| *e == CEvent::Bye).is_some());
    assert_eq!(s.expect_disconnect(T).1, 0);
}

#[test]
fn stdin_eof_quits_gracefully() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut s, mut c, _, _) = pair(CPeerOpts::new(), CPeerOpts::new());
    c.close_stdin();
    assert!(c.wait_exit(T).expect("client exits on EOF").success());
    assert_eq!(s.expect_disconnect(T).1, 0);
}

#[test]
fn send_to_all_peers() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut s = CPeer::spawn_server(&CPeerOpts::new());
    let mut clients: Vec<CPeer> = (0..3)
        .map(|i| CPeer::spawn_client(LOCALHOST, s.port(), &CPeerOpts::new().data(10 + i)))
        .collect();
    for c in &mut clients {
        c.expect_connect(T);
    }
    for _ in 0..3 {
        s.expect_connect(T);
    }
    s.sendn(5, "all", 1, flags::RELIABLE, 40, 7000);
    assert_eq!(s.expect_sent(T), 15);
    for c in &mut clients {
        let got = c.expect_receives(5, T);
        assert!(got
            .iter()
            .enumerate()
            .all(|(k, r)| r.is_pattern(7000 + k as u32, 40)));
    }
}

/// The range coder really is on: the same traffic takes fewer bytes on the
/// wire than without it.
#[test]
fn range_coder_shrinks_traffic() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut sent_bytes = Vec::new();
    for opts in [CPeerOpts::new(), CPeerOpts::new().range_coder()] {
        let (mut s, mut c, _, _) = pair(opts.clone(), opts);
        c.sendn(300, "0", 0, flags::RELIABLE, 8, 0);
        assert_eq!(c.expect_sent(T), 300);
        s.expect_receives(300, T);
        sent_bytes.push(c.stats(T).host["sent_bytes"]);
    }
    eprintln!("client sent bytes plain / range coder: {sent_bytes:?}");
    assert!(sent_bytes[1] < sent_bytes[0], "{sent_bytes:?}");
}
