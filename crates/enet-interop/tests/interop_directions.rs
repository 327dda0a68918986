//! Rust ↔ C interop over real UDP on 127.0.0.1, in both directions: our `enet::UdpHost`
//! client against the system C ENet (Debian libenet 1.3.17) server, driven through the
//! scriptable C peer, and a C client against our server. Each direction runs with plain
//! datagrams, the range coder, the CRC-32 checksum and both together: connect data and
//! channel counts, unreliable and unsequenced packets, unreliable fragments, a 256 KiB
//! reliable packet (its fragments sent with UDP GSO on Linux), 10,000 pipelined reliable
//! messages and a graceful disconnect with data.
//! Disconnect variants, MTU and bandwidth limits and lossy links have their own
//! `interop_*.rs` files; the shared pieces are in `support/`.

mod support;

use enet::{DisconnectReason, Packet, PacketFlags};
use enet_interop::{flags, pattern, CPeer, CPeerOpts};
use support::*;

const BULK: u32 = 10_000;
const BIG: usize = 256 * 1024;

// ----------------------------------------------------------------------------------------
// Direction 1: our client, C server (echo).

fn ours_client_c_server(v: Variant, we_disconnect: bool) {
    let mut c = CPeer::spawn_server(&v.c_opts(CPeerOpts::new().echo()));
    let mut us = Ours::bind(v);
    let peer = us
        .host
        .connect(addr_of(c.port()), 4, 0xDEAD_BEEF)
        .expect("connect");

    // Connect data and channel count, both sides.
    assert_eq!(us.expect_connect(T), (peer, 0));
    let ci = us.expect_c_connect(&mut c);
    assert_eq!(ci.data, 0xDEAD_BEEF, "C server sees our connect data");
    assert_eq!(ci.channels, 4);
    let info = us.host.host().peer_info(peer).unwrap();
    assert_eq!(info.channel_count, 4);
    assert_eq!(info.mtu, ci.mtu);

    // Unreliable and unsequenced, there and (echoed) back.
    ours_to_c_unreliable(&mut us, &mut c, peer);
    check_unreliable_at_ours(&mut us, peer);

    // A 5000-byte packet as unreliable fragments; the echo stays unreliable.
    us.send(
        peer,
        3,
        Packet::new(pattern(9, 5000), PacketFlags::UNRELIABLE_FRAGMENT),
    );
    us.host.flush().unwrap();
    let r = us.expect_c_receives(&mut c, 1, T).pop().unwrap();
    assert!(r.is_pattern(9, 5000), "{r:?}");
    assert_eq!((r.channel, r.flags), (3, flags::UNRELIABLE_FRAGMENT));
    let e = us.receives(1, T).pop().unwrap();
    assert!(e.is_pattern(9, 5000), "{e:?}");
    assert_eq!(
        (e.channel, e.packet.flags),
        (3, PacketFlags::UNRELIABLE_FRAGMENT)
    );

    // A 256 KiB reliable packet.
    us.send(peer, 1, Packet::reliable(pattern(77, BIG)));
    let r = us.expect_c_receives(&mut c, 1, T).pop().unwrap();
    assert!(r.is_pattern(77, BIG), "{r:?}");
    assert_eq!((r.channel, r.flags), (1, flags::RELIABLE));
    let e = us.receives(1, T).pop().unwrap();
    assert!(e.is_pattern(77, BIG));
    assert_eq!((e.channel, e.packet.flags), (1, PacketFlags::RELIABLE));
    if !v.range_coder {
        // Its equal-size fragments left as UDP GSO messages (Linux), which the kernel
        // split into the datagrams the C server has just reassembled.
        #[cfg(target_os = "linux")]
        assert!(us.host.io_stats().gso_sends > 0, "{:?}", us.host.io_stats());
    }

    // 10,000 reliable 64-byte messages, pipelined.
    for k in 0..BULK {
        us.send(peer, 0, Packet::reliable(pattern(1000 + k, 64)));
    }
    us.host.flush().unwrap();
    let at_c = us.expect_c_receives(&mut c, BULK as usize, BULK_T);
    check_c_reliable_in_order(&at_c, 1000, 64, 0);
    let echoed = us.receives(BULK as usize, BULK_T);
    check_ours_reliable_in_order(&echoed, 1000, 64, 0);

    // Graceful disconnect with data.
    if we_disconnect {
        us.host.disconnect(peer, 0x1234_5678).unwrap();
        assert_eq!(us.expect_c_disconnect(&mut c), (ci.peer, 0x1234_5678));
        assert_eq!(
            us.expect_disconnect(T),
            disconnected(peer, 0, DisconnectReason::Local)
        );
    } else {
        c.send_line(&format!("disconnect {} 4242", ci.peer));
        assert_eq!(
            us.expect_disconnect(T),
            disconnected(peer, 4242, DisconnectReason::Remote)
        );
        assert_eq!(us.expect_c_disconnect(&mut c), (ci.peer, 0));
    }
    us.assert_clean_end();
    assert!(c.quit(T).expect("C server exits").success());
}

#[test]
fn ours_client_c_server_plain() {
    if !enet_interop::require_c_library() {
        return;
    }
    ours_client_c_server(PLAIN, true);
}

#[test]
fn ours_client_c_server_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    ours_client_c_server(RANGE_CODER, false);
}

#[test]
fn ours_client_c_server_checksum() {
    if !enet_interop::require_c_library() {
        return;
    }
    ours_client_c_server(CHECKSUM, true);
}

#[test]
fn ours_client_c_server_checksum_and_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    ours_client_c_server(BOTH, false);
}

// ----------------------------------------------------------------------------------------
// Direction 2: C client, our server.

fn c_client_ours_server(v: Variant, we_disconnect: bool) {
    let mut us = Ours::bind(v);
    let mut c = CPeer::spawn_client(
        LOCALHOST,
        us.addr().port(),
        &v.c_opts(CPeerOpts::new().channels(5).data(0xFEED_F00D)),
    );

    let (peer, data) = us.expect_connect(T);
    assert_eq!(
        data, 0xFEED_F00D,
        "our server sees the C client's connect data"
    );
    let info = us.host.host().peer_info(peer).unwrap();
    assert_eq!(info.channel_count, 5);
    assert_eq!(info.address, addr_of(c.port()));
    let ci = us.expect_c_connect(&mut c);
    assert_eq!((ci.peer, ci.data, ci.channels), (0, 0, 5));
    assert_eq!(ci.mtu, info.mtu);

    // Unreliable and unsequenced, both ways.
    c.sendn(20, "0", 1, 0, 100, 500);
    assert_eq!(us.expect_c_sent(&mut c), 20);
    c.sendn(20, "0", 2, flags::UNSEQUENCED, 33, 600);
    assert_eq!(us.expect_c_sent(&mut c), 20);
    check_unreliable_at_ours(&mut us, peer);
    ours_to_c_unreliable(&mut us, &mut c, peer);

    // 5000-byte unreliable-fragment packets, both ways.
    c.send("0", 3, flags::UNRELIABLE_FRAGMENT, 5000, 9);
    assert_eq!(us.expect_c_sent(&mut c), 1);
    let g = us.receives(1, T).pop().unwrap();
    assert!(g.is_pattern(9, 5000), "{g:?}");
    assert_eq!(
        (g.channel, g.packet.flags),
        (3, PacketFlags::UNRELIABLE_FRAGMENT)
    );
    us.send(
        peer,
        4,
        Packet::new(pattern(10, 5000), PacketFlags::UNRELIABLE_FRAGMENT),
    );
    let r = us.expect_c_receives(&mut c, 1, T).pop().unwrap();
    assert!(r.is_pattern(10, 5000), "{r:?}");
    assert_eq!((r.channel, r.flags), (4, flags::UNRELIABLE_FRAGMENT));

    // 256 KiB reliable, both ways.
    c.send("0", 1, flags::RELIABLE, BIG, 77);
    assert_eq!(us.expect_c_sent(&mut c), 1);
    let g = us.receives(1, T).pop().unwrap();
    assert!(g.is_pattern(77, BIG));
    assert_eq!((g.channel, g.packet.flags), (1, PacketFlags::RELIABLE));
    us.send(peer, 2, Packet::reliable(pattern(78, BIG)));
    let r = us.expect_c_receives(&mut c, 1, T).pop().unwrap();
    assert!(r.is_pattern(78, BIG), "{r:?}");
    assert_eq!((r.channel, r.flags), (2, flags::RELIABLE));

    // 10,000 reliable 64-byte messages, pipelined, both ways at once.
    c.sendn(BULK, "0", 0, flags::RELIABLE, 64, 1000);
    for k in 0..BULK {
        us.send(peer, 0, Packet::reliable(pattern(50_000 + k, 64)));
    }
    us.host.flush().unwrap();
    assert_eq!(us.expect_c_sent(&mut c), BULK);
    let at_c = us.expect_c_receives(&mut c, BULK as usize, BULK_T);
    check_c_reliable_in_order(&at_c, 50_000, 64, 0);
    let at_ours = us.receives(BULK as usize, BULK_T);
    check_ours_reliable_in_order(&at_ours, 1000, 64, 0);

    // Graceful disconnect with data.
    if we_disconnect {
        us.host.disconnect(peer, 99).unwrap();
        assert_eq!(us.expect_c_disconnect(&mut c), (0, 99));
        assert_eq!(
            us.expect_disconnect(T),
            disconnected(peer, 0, DisconnectReason::Local)
        );
    } else {
        c.send_line("disconnect 0 3141592");
        assert_eq!(
            us.expect_disconnect(T),
            disconnected(peer, 3_141_592, DisconnectReason::Remote)
        );
        assert_eq!(us.expect_c_disconnect(&mut c), (0, 0));
    }
    us.assert_clean_end();
    assert!(c.quit(T).expect("C client exits").success());
}

#[test]
fn c_client_ours_server_plain() {
    if !enet_interop::require_c_library() {
        return;
    }
    c_client_ours_server(PLAIN, false);
}

#[test]
fn c_client_ours_server_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    c_client_ours_server(RANGE_CODER, true);
}

#[test]
fn c_client_ours_server_checksum() {
    if !enet_interop::require_c_library() {
        return;
    }
    c_client_ours_server(CHECKSUM, false);
}

#[test]
fn c_client_ours_server_checksum_and_range_coder() {
    if !enet_interop::require_c_library() {
        return;
    }
    c_client_ours_server(BOTH, true);
}

// ----------------------------------------------------------------------------------------
// disconnect_later and disconnect_now, both ways.
