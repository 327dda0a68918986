//! Rust ↔ C interop over real UDP on 127.0.0.1: `disconnect_later` (everything queued is
//! delivered before the DISCONNECT) and `disconnect_now` (one unreliable DISCONNECT, no
//! event on the side that sends it), both from our host to a C server and from a C client to
//! our host.

mod support;

use enet::{DisconnectReason, Packet};
use enet_interop::{flags, pattern, CPeer, CPeerOpts};
use support::*;

#[test]
fn ours_disconnect_later_and_now_seen_by_c_server() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut c = CPeer::spawn_server(&CPeerOpts::new());
    let mut us = Ours::bind(PLAIN);

    // disconnect_later: everything queued is delivered first, then the DISCONNECT.
    let peer = us.host.connect(addr_of(c.port()), 1, 1).unwrap();
    us.expect_connect(T);
    let ci = us.expect_c_connect(&mut c);
    for k in 0..500 {
        us.send(peer, 0, Packet::reliable(pattern(7000 + k, 200)));
    }
    us.host.disconnect_later(peer, 11).unwrap();
    let got = us.expect_c_receives(&mut c, 500, T);
    check_c_reliable_in_order(&got, 7000, 200, 0);
    assert_eq!(us.expect_c_disconnect(&mut c), (ci.peer, 11));
    assert_eq!(
        us.expect_disconnect(T),
        disconnected(peer, 0, DisconnectReason::Local)
    );

    // disconnect_now: one unreliable DISCONNECT, no event on our side.
    let peer = us.host.connect(addr_of(c.port()), 1, 2).unwrap();
    us.expect_connect(T);
    let ci = us.expect_c_connect(&mut c);
    assert_eq!(ci.data, 2);
    us.host.disconnect_now(peer, 12).unwrap();
    assert_eq!(us.expect_c_disconnect(&mut c), (ci.peer, 12));
    assert_eq!(us.host.host().connected_peers(), 0);
    assert!(us.others.is_empty(), "{:?}", us.others);
    us.assert_no_bad_drops();
}

#[test]
fn c_disconnect_later_and_now_seen_by_ours_server() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut us = Ours::bind(PLAIN);
    let opts = CPeerOpts::new().channels(1);

    let mut c = CPeer::spawn_client(LOCALHOST, us.addr().port(), &opts);
    let (peer, _) = us.expect_connect(T);
    us.expect_c_connect(&mut c);
    c.sendn(500, "0", 0, flags::RELIABLE, 200, 8000);
    c.send_line("disconnect_later 0 13");
    let got = us.receives(500, T);
    check_ours_reliable_in_order(&got, 8000, 200, 0);
    assert_eq!(
        us.expect_disconnect(T),
        disconnected(peer, 13, DisconnectReason::Remote)
    );
    assert_eq!(us.expect_c_disconnect(&mut c), (0, 0));
    drop(c);

    let mut c = CPeer::spawn_client(LOCALHOST, us.addr().port(), &opts);
    let (peer, _) = us.expect_connect(T);
    us.expect_c_connect(&mut c);
    c.send_line("disconnect_now 0 14");
    assert_eq!(
        us.expect_disconnect(T),
        disconnected(peer, 14, DisconnectReason::Remote)
    );
    us.assert_no_bad_drops();
}

// ----------------------------------------------------------------------------------------
