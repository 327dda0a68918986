//! `EnetPacketPeer` settings and statistics (Godot's `ENetPacketPeer`, via
//! `EnetConnection::peer`) on 127.0.0.1: timeouts and their validation, early
//! retransmission, ping and ping interval, the throttle as the remote sees it, and the
//! statistics of a live connection. The rest of the peer's methods are in
//! `connection_peer.rs`, how a connection ends in `connection_peer_disconnect.rs`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use enet::godot::{EnetConnection, EventType, PeerStatistic, PACKET_LOSS_SCALE};

fn timeouts(c: &EnetConnection, h: enet::godot::PeerHandle) -> (u32, u32, u32) {
    let t = c
        .udp_host()
        .unwrap()
        .peer_info(c.native_peer_id(h).unwrap())
        .unwrap()
        .timeouts;
    (t.timeout_limit, t.timeout_minimum, t.timeout_maximum)
}

#[test]
fn set_timeout_validation() {
    let mut p = Pair::new(0, 1);
    let h = p.cpeer;
    assert_eq!(timeouts(&p.client, h), (32, 5000, 30000), "ENet defaults");
    // Godot: timeout > timeout_min or timeout_min > timeout_max is rejected, nothing changes.
    assert_code(
        p.client.peer(h).set_timeout(5000, 1000, 3000),
        INVALID_PARAMETER,
    );
    assert_code(
        p.client.peer(h).set_timeout(10, 200, 100),
        INVALID_PARAMETER,
    );
    assert_code(p.client.peer(h).set_timeout(0, 100, 0), INVALID_PARAMETER);
    assert_code(
        p.client.peer(h).set_timeout(u32::MAX, 0, 0),
        INVALID_PARAMETER,
    );
    assert_eq!(timeouts(&p.client, h), (32, 5000, 30000));
    p.client.peer(h).set_timeout(10, 100, 1000).unwrap();
    assert_eq!(timeouts(&p.client, h), (10, 100, 1000));
    p.client.peer(h).set_timeout(5, 5, 5).unwrap();
    assert_eq!(timeouts(&p.client, h), (5, 5, 5));
    // Zero means ENet's default, each on its own.
    p.client.peer(h).set_timeout(0, 0, 0).unwrap();
    assert_eq!(timeouts(&p.client, h), (32, 5000, 30000));
    p.client.peer(h).set_timeout(0, 0, 7000).unwrap();
    assert_eq!(timeouts(&p.client, h), (32, 5000, 7000));
    p.client
        .peer(h)
        .set_timeout(u32::MAX, u32::MAX, u32::MAX)
        .unwrap();
    assert_eq!(timeouts(&p.client, h), (u32::MAX, u32::MAX, u32::MAX));
    // The connection keeps working.
    p.client.peer(h).put_packet(b"ok").unwrap();
    assert!(p.pump(T, |i, _, ev| i == 0 && ev.kind == EventType::Receive));
}

/// Early retransmission (an extension, on by default) can be switched off per peer, which
/// restores the C library's retransmission; the connection keeps working either way.
#[test]
fn early_retransmit_per_peer() {
    let mut p = Pair::new(0, 1);
    let h = p.cpeer;
    let early = |c: &EnetConnection| {
        c.udp_host()
            .unwrap()
            .early_retransmit(c.native_peer_id(h).unwrap())
            .unwrap()
    };
    assert!(early(&p.client), "on by default");
    p.client.peer(h).set_early_retransmit(false).unwrap();
    assert!(!early(&p.client));
    p.client.peer(h).put_packet(b"ok").unwrap();
    assert!(p.pump(T, |i, _, ev| i == 0 && ev.kind == EventType::Receive));
    p.client.peer(h).set_early_retransmit(true).unwrap();
    assert!(early(&p.client));
}

#[test]
fn ping_and_ping_interval() {
    // ping on a connecting peer: accepted, ignored by ENet.
    let (_s, port) = server(2, 0);
    let mut lone = client();
    let h = lone.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    lone.peer(h).ping().unwrap();

    let mut p = Pair::new(0, 1);
    let info = |c: &EnetConnection, h: enet::godot::PeerHandle| {
        c.udp_host()
            .unwrap()
            .peer_info(c.native_peer_id(h).unwrap())
            .unwrap()
    };
    assert_eq!(info(&p.client, p.cpeer).timeouts.ping_interval, 500);
    // An explicit ping is one datagram: 4-byte header with sent time + 4-byte PING.
    p.client.flush().unwrap();
    pop_all(&mut p.client);
    p.client.peer(p.cpeer).ping().unwrap();
    p.client.flush().unwrap();
    assert_eq!(pop_all(&mut p.client), [8, 1, 0, 0]);

    p.client.peer(p.cpeer).ping_interval(40).unwrap();
    assert_eq!(info(&p.client, p.cpeer).timeouts.ping_interval, 40);
    let log = p.drain(Duration::from_millis(400));
    assert_eq!(log, (vec![], vec![]));
    let [_, sent, _, _] = pop_all(&mut p.client);
    assert!(
        sent >= 5,
        "{sent} datagrams in 400 ms with a 40 ms ping interval"
    );
    // 0 restores ENet's default of 500 ms: at most a ping and an acknowledgement or two.
    p.client.peer(p.cpeer).ping_interval(0).unwrap();
    assert_eq!(info(&p.client, p.cpeer).timeouts.ping_interval, 500);
    p.drain(Duration::from_millis(30));
    pop_all(&mut p.client);
    p.drain(Duration::from_millis(300));
    let [_, sent, _, _] = pop_all(&mut p.client);
    assert!(
        sent <= 3,
        "{sent} datagrams in 300 ms with the default interval"
    );
}

#[test]
fn throttle_configure_reaches_the_remote() {
    let mut p = Pair::new(0, 1);
    let stats = |c: &mut EnetConnection, h| {
        let x = c.peer(h);
        [
            PeerStatistic::PacketThrottleInterval,
            PeerStatistic::PacketThrottleAcceleration,
            PeerStatistic::PacketThrottleDeceleration,
        ]
        .map(|s| x.get_statistic(s).unwrap())
    };
    assert_eq!(
        stats(&mut p.server, p.speer),
        [5000.0, 2.0, 2.0],
        "ENet defaults"
    );
    p.client
        .peer(p.cpeer)
        .throttle_configure(1234, 5, 7)
        .unwrap();
    assert_eq!(
        stats(&mut p.client, p.cpeer),
        [1234.0, 5.0, 7.0],
        "set locally"
    );
    let end = Instant::now() + T;
    while stats(&mut p.server, p.speer) != [1234.0, 5.0, 7.0] {
        assert!(Instant::now() < end, "THROTTLE_CONFIGURE did not arrive");
        p.drain(Duration::from_millis(5));
    }
    // And the other way round.
    p.server
        .peer(p.speer)
        .throttle_configure(800, 1, 3)
        .unwrap();
    let end = Instant::now() + T;
    while stats(&mut p.client, p.cpeer) != [800.0, 1.0, 3.0] {
        assert!(Instant::now() < end, "THROTTLE_CONFIGURE did not arrive");
        p.drain(Duration::from_millis(5));
    }
}

#[test]
fn peer_statistics_are_plausible() {
    let mut p = Pair::new(0, 1);
    // Some traffic each way so that RTT is measured several times.
    for round in 0..10u8 {
        p.client.peer(p.cpeer).put_packet(&[round; 64]).unwrap();
        p.server.peer(p.speer).put_packet(&[round; 64]).unwrap();
        let mut n = 0;
        assert!(p.pump(T, |_, _, ev| {
            assert_eq!(ev.kind, EventType::Receive);
            n += 1;
            n == 2
        }));
    }
    p.drain(Duration::from_millis(20));
    for (conn, h) in [(&mut p.server, p.speer), (&mut p.client, p.cpeer)] {
        let x = conn.peer(h);
        let v: Vec<f64> = ALL_STATS
            .iter()
            .map(|s| x.get_statistic(*s).unwrap())
            .collect();
        for (s, val) in ALL_STATS.iter().zip(&v) {
            assert!(
                val.is_finite() && *val >= 0.0 && val.fract() == 0.0,
                "{s:?} = {val}"
            );
        }
        let get = |s: PeerStatistic| v[s as usize];
        assert!(get(PeerStatistic::PacketLoss) <= PACKET_LOSS_SCALE as f64);
        assert_eq!(get(PeerStatistic::PacketLoss), 0.0, "no loss on loopback");
        let rtt = get(PeerStatistic::RoundTripTime);
        assert!((1.0..=200.0).contains(&rtt), "RTT {rtt}");
        assert!(get(PeerStatistic::RoundTripTimeVariance) <= 200.0);
        assert!(get(PeerStatistic::LastRoundTripTime) <= 200.0);
        assert!(get(PeerStatistic::LastRoundTripTimeVariance) <= 200.0);
        let throttle = get(PeerStatistic::PacketThrottle);
        assert!((1.0..=32.0).contains(&throttle), "throttle {throttle}");
        assert_eq!(get(PeerStatistic::PacketThrottleLimit), 32.0);
        assert!(get(PeerStatistic::PacketThrottleCounter) < 32.0);
        assert!(get(PeerStatistic::PacketThrottleEpoch) > 0.0);
        assert_eq!(get(PeerStatistic::PacketThrottleAcceleration), 2.0);
        assert_eq!(get(PeerStatistic::PacketThrottleDeceleration), 2.0);
        assert_eq!(get(PeerStatistic::PacketThrottleInterval), 5000.0);
    }
}
