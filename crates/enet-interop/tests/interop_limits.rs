//! Rust ↔ C interop over real UDP on 127.0.0.1 with different MTUs and bandwidth limits on
//! the two ends: the MTU each side settles on, the bandwidths and send windows from the
//! handshake and after the BANDWIDTH_LIMIT exchange, and reliable traffic both ways under
//! those limits.

mod support;

use std::time::{Duration, Instant};

use enet::{Packet, PeerId};
use enet_interop::{flags, pattern, CPeer, CPeerOpts};
use support::*;

// Different MTUs and bandwidth limits on the two ends.

/// Sends a 64 KiB reliable packet and 200 small reliable messages each way and checks them.
fn exchange_checked(us: &mut Ours, c: &mut CPeer, peer: PeerId, c_peer: u32) {
    let cp = c_peer.to_string();
    c.send(&cp, 0, flags::RELIABLE, 65_536, 1);
    c.sendn(200, &cp, 0, flags::RELIABLE, 64, 100);
    us.send(peer, 0, Packet::reliable(pattern(2, 65_536)));
    for k in 0..200 {
        us.send(peer, 0, Packet::reliable(pattern(300 + k, 64)));
    }
    us.host.flush().unwrap();
    let at_c = us.expect_c_receives(c, 201, BULK_T);
    assert!(at_c[0].is_pattern(2, 65_536), "{:?}", at_c[0]);
    check_c_reliable_in_order(&at_c[1..], 300, 64, 0);
    let at_ours = us.receives(201, BULK_T);
    assert!(at_ours[0].is_pattern(1, 65_536));
    check_ours_reliable_in_order(&at_ours[1..], 100, 64, 0);
}

/// Services our host until 1.5 s after `connected_at` (both ends exchange BANDWIDTH_LIMIT
/// about 1 s after a connect).
fn idle_past_bandwidth_exchange(us: &mut Ours, connected_at: Instant) {
    let until = connected_at + Duration::from_millis(1500);
    while Instant::now() < until {
        us.step(Duration::from_millis(5));
    }
}

/// Our peer's bandwidths as (incoming, outgoing) and its send window.
fn limits(us: &Ours, peer: PeerId) -> ((u32, u32), u32) {
    let info = us.host.host().peer_info(peer).unwrap();
    let b = &info.bandwidth;
    (
        (b.incoming_bandwidth, b.outgoing_bandwidth),
        info.window_size,
    )
}

/// Each end's `windowSize` is its own send window (spec §4.2 step 8, §4.4, §9.5); the
/// expected values below are worked out from the bandwidths by those rules.
#[test]
fn mtu_and_bandwidth_limits_ours_client_c_server() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut c = CPeer::spawn_server(&CPeerOpts::new().mtu(576).bandwidth(200_000, 150_000));
    let mut us = Ours::bind(PLAIN);
    us.host.set_mtu(4000).unwrap();
    us.host.set_bandwidth_limit(300_000, 250_000);
    let connected_at = Instant::now();
    let peer = us.host.connect(addr_of(c.port()), 1, 0).unwrap();
    us.expect_connect(T);
    let ci = us.expect_c_connect(&mut c);
    let info = us.host.host().peer_info(peer).unwrap();
    // libenet 1.3.17's server adopts the client's MTU even above its own host.mtu
    // (1.3.18 takes the minimum); our client keeps min(own, VERIFY_CONNECT's).
    assert_eq!((ci.mtu, info.mtu), (4000, 4000));
    assert_eq!(
        limits(&us, peer).0,
        (200_000, 150_000),
        "C server's bandwidths from VERIFY_CONNECT"
    );
    // Ours: from our 250 kB/s upload and VERIFY's 200 kB/s window: 3 * 4096.
    // C's: min(its 150 kB/s upload, our 300 kB/s download) / 64 Ki * 4096 = 2 * 4096.
    assert_eq!(info.window_size, 12_288);
    assert_eq!(c.stats(T).peers[&ci.peer]["window"], 8192);

    exchange_checked(&mut us, &mut c, peer, ci.peer);

    // After the BANDWIDTH_LIMIT exchange: C allows us 200 kB/s (its download, unshared),
    // we allow it 150 kB/s (its upload is below our 300 kB/s download).
    idle_past_bandwidth_exchange(&mut us, connected_at);
    assert_eq!(limits(&us, peer), ((200_000, 150_000), 12_288));
    assert_eq!(c.stats(T).peers[&ci.peer]["window"], 8192);
    us.assert_no_bad_drops();
}

#[test]
fn mtu_and_bandwidth_limits_c_client_ours_server() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut us = Ours::bind(PLAIN);
    us.host.set_mtu(600).unwrap();
    us.host.set_bandwidth_limit(120_000, 180_000);
    let connected_at = Instant::now();
    let mut c = CPeer::spawn_client(
        LOCALHOST,
        us.addr().port(),
        &CPeerOpts::new()
            .channels(1)
            .mtu(4096)
            .bandwidth(250_000, 90_000),
    );
    let (peer, _) = us.expect_connect(T);
    let ci = us.expect_c_connect(&mut c);
    let info = us.host.host().peer_info(peer).unwrap();
    assert_eq!((ci.mtu, info.mtu), (600, 600), "the smaller MTU wins");
    assert_eq!(
        limits(&us, peer).0,
        (250_000, 90_000),
        "C client's bandwidths from CONNECT"
    );
    // Ours: min(our 180 kB/s upload, its 250 kB/s download) -> 2 * 4096.
    // C's: from its 90 kB/s upload and our 120 kB/s download -> 4096.
    assert_eq!(info.window_size, 8192);
    assert_eq!(c.stats(T).peers[&0]["window"], 4096);

    exchange_checked(&mut us, &mut c, peer, 0);

    // After BANDWIDTH_LIMIT: C allows us 180 kB/s (our upload is below its download).
    idle_past_bandwidth_exchange(&mut us, connected_at);
    assert_eq!(limits(&us, peer), ((180_000, 90_000), 8192));
    assert_eq!(c.stats(T).peers[&0]["window"], 4096);
    us.assert_no_bad_drops();
}

// ----------------------------------------------------------------------------------------
// A lossy relay on 127.0.0.1.
