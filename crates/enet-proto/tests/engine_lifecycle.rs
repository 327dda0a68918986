//! Two or more engines through the deterministic simulator, over a connection's lifetime:
//! timeouts, graceful, deferred and immediate disconnects, sequence-number wrap, bandwidth
//! limits, many clients (also 4,000 behind one address), refused connections and extreme
//! throttle settings.

mod support;

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::Testbed;
use enet_proto::{DisconnectReason, Event, HostConfig, Packet, PacketFlags, PeerState};
use support::*;

#[test]
fn silent_peer_times_out_between_minimum_and_maximum() {
    for (limit, min, max) in [(32, 5000, 30_000), (4, 2000, 8000)] {
        let (mut tb, server, client, cpeer, speer) = connect_pair(10);
        tb.host_mut(server)
            .unwrap()
            .set_timeout(speer, limit, min, max)
            .unwrap();
        tb.run_for(Duration::from_secs(2));
        tb.set_silent(client, true).unwrap();
        let silent_at = tb.now();
        let deadline = silent_at + Duration::from_secs(120);
        let ok = tb.run_until_cond(deadline, |tb| {
            tb.events(server).unwrap().iter().any(|e| {
                matches!(
                    e,
                    Event::Disconnect {
                        reason: DisconnectReason::Timeout,
                        ..
                    }
                )
            })
        });
        assert!(ok, "no timeout");
        let took = tb.now() - silent_at;
        assert!(
            took >= Duration::from_millis(min as u64)
                && took <= Duration::from_millis(max as u64 + 1000),
            "timed out after {took:?}, expected within [{min}, {max}] ms"
        );
        assert_eq!(
            tb.host(server).unwrap().peer_state(speer),
            Some(PeerState::Disconnected)
        );
        let _ = cpeer;
    }
}

#[test]
fn connect_to_nobody_fails_with_a_timeout_event() {
    let mut tb = Testbed::new(12);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    tb.set_silent(server, true).unwrap();
    let cpeer = start_connect(&mut tb, client, server, 2, 0);
    tb.run_for(Duration::from_secs(40));
    assert_eq!(
        tb.events(client).unwrap(),
        &[Event::Disconnect {
            peer: cpeer,
            data: 0,
            reason: DisconnectReason::Timeout
        }]
    );
    assert!(tb.events(server).unwrap().is_empty());
}

#[test]
fn graceful_disconnect_carries_data_both_ways() {
    let (mut tb, server, client, cpeer, speer) = connect_pair(13);
    tb.host_mut(client).unwrap().disconnect(cpeer, 77).unwrap();
    tb.run_for(Duration::from_millis(200));
    assert_eq!(
        tb.take_events(server).unwrap(),
        vec![Event::Disconnect {
            peer: speer,
            data: 77,
            reason: DisconnectReason::Remote
        }]
    );
    assert_eq!(
        tb.take_events(client).unwrap(),
        vec![Event::Disconnect {
            peer: cpeer,
            data: 0,
            reason: DisconnectReason::Local
        }]
    );
    // Reconnect on the same hosts, this time the server disconnects.
    let cpeer = start_connect(&mut tb, client, server, 1, 5);
    tb.run_for(Duration::from_millis(100));
    let (speer, data) = connected(&tb, server).unwrap();
    assert_eq!(data, 5);
    tb.take_events(server).unwrap();
    tb.take_events(client).unwrap();
    tb.host_mut(server).unwrap().disconnect(speer, 9).unwrap();
    tb.run_for(Duration::from_millis(200));
    assert!(tb.events(client).unwrap().contains(&Event::Disconnect {
        peer: cpeer,
        data: 9,
        reason: DisconnectReason::Remote
    }));
}

#[test]
fn disconnect_later_delivers_queued_data_first() {
    let (mut tb, server, client, cpeer, _) = connect_pair(14);
    tb.set_link(server, client, hostile().with_loss(0.1))
        .unwrap();
    for i in 0..500u32 {
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 0, Packet::reliable(i.to_le_bytes().to_vec()))
            .unwrap();
    }
    tb.host_mut(client)
        .unwrap()
        .disconnect_later(cpeer, 3)
        .unwrap();
    assert_eq!(
        tb.host(client).unwrap().peer_state(cpeer),
        Some(PeerState::DisconnectLater)
    );
    assert_eq!(
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 0, Packet::reliable(&b"late"[..])),
        Err(enet_proto::Error::NotConnected)
    );
    tb.run_for(Duration::from_secs(30));
    let events = tb.take_events(server).unwrap();
    let n = events
        .iter()
        .filter(|e| matches!(e, Event::Receive { .. }))
        .count();
    assert_eq!(n, 500);
    assert!(matches!(
        events.last(),
        Some(Event::Disconnect { data: 3, .. })
    ));
}

#[test]
fn disconnect_now_resets_locally_and_notifies_remote() {
    let (mut tb, server, client, cpeer, speer) = connect_pair(15);
    tb.host_mut(client)
        .unwrap()
        .disconnect_now(cpeer, 11)
        .unwrap();
    assert_eq!(
        tb.host(client).unwrap().peer_state(cpeer),
        Some(PeerState::Disconnected)
    );
    tb.run_for(Duration::from_millis(100));
    assert!(tb.events(client).unwrap().is_empty(), "no local event");
    assert_eq!(
        tb.events(server).unwrap(),
        &[Event::Disconnect {
            peer: speer,
            data: 11,
            reason: DisconnectReason::Remote
        }]
    );
}

#[test]
fn reliable_sequence_numbers_wrap_on_one_channel() {
    let (mut tb, server, client, cpeer, _) = connect_pair(16);
    tb.set_link(server, client, hostile().with_loss(0.05))
        .unwrap();
    const N: u32 = 140_000;
    let mut sent = 0;
    let mut next = 0u32;
    while next < N {
        while sent < N && sent - next < 3000 {
            tb.host_mut(client)
                .unwrap()
                .send(cpeer, 0, Packet::reliable(sent.to_le_bytes().to_vec()))
                .unwrap();
            sent += 1;
        }
        tb.run_for(Duration::from_millis(20));
        for (_, p) in receives(&mut tb, server) {
            assert_eq!(u32::from_le_bytes(p.data[..4].try_into().unwrap()), next);
            next += 1;
        }
        assert!(
            tb.elapsed() < Duration::from_secs(3600),
            "stalled at {next}"
        );
    }
}

#[test]
fn unreliable_sequence_exhaustion_switches_to_reliable() {
    let (mut tb, server, client, cpeer, _) = connect_pair(17);
    const N: u32 = 70_000;
    for i in 0..N {
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 0, Packet::unreliable(i.to_le_bytes().to_vec()))
            .unwrap();
        if i % 500 == 0 {
            tb.run_for(Duration::from_millis(2));
        }
    }
    tb.run_for(Duration::from_secs(1));
    let got = receives(&mut tb, server);
    let values: Vec<u32> = got
        .iter()
        .map(|(_, p)| u32::from_le_bytes(p.data[..4].try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), N as usize, "perfect link loses nothing");
    assert!(values.windows(2).all(|w| w[0] < w[1]));
    let reliable = got
        .iter()
        .filter(|(_, p)| p.flags.contains(PacketFlags::RELIABLE))
        .count();
    assert_eq!(
        reliable, 1,
        "the 65536th unreliable packet travels reliably"
    );
}

#[test]
fn bandwidth_limits_shape_the_window() {
    let mut tb = Testbed::new(18);
    let server = tb
        .add_host(
            HostConfig::default()
                .with_incoming_bandwidth(256 * 1024)
                .with_outgoing_bandwidth(128 * 1024),
        )
        .unwrap();
    let client = tb
        .add_host(HostConfig::default().with_outgoing_bandwidth(512 * 1024))
        .unwrap();
    let cpeer = start_connect(&mut tb, client, server, 1, 0);
    tb.run_for(Duration::from_millis(100));
    let (speer, _) = connected(&tb, server).unwrap();
    // Client window: min(own 512K/64K*4096 = 32768, server advertises 256K/64K*4096 = 16384).
    assert_eq!(
        tb.host(client)
            .unwrap()
            .peer_info(cpeer)
            .unwrap()
            .window_size,
        16384
    );
    // Server window from its outgoing 128K and the client's incoming 0: 128K/64K*4096.
    assert_eq!(
        tb.host(server)
            .unwrap()
            .peer_info(speer)
            .unwrap()
            .window_size,
        8192
    );
    let info = tb.host(client).unwrap().peer_info(cpeer).unwrap();
    assert_eq!(
        (
            info.bandwidth.incoming_bandwidth,
            info.bandwidth.outgoing_bandwidth
        ),
        (256 * 1024, 128 * 1024)
    );
    // After the bandwidth throttle runs, BANDWIDTH_LIMIT has been exchanged and acked.
    tb.run_for(Duration::from_secs(3));
    assert_eq!(
        tb.host(server).unwrap().peer_state(speer),
        Some(PeerState::Connected)
    );
    assert_eq!(tb.host(client).unwrap().drop_stats().total(), 0);
    assert_eq!(tb.host(server).unwrap().drop_stats().total(), 0);
}

#[test]
fn many_clients_on_one_server() {
    let mut tb = Testbed::new(19);
    let server = tb
        .add_host(HostConfig::default().with_peer_count(64))
        .unwrap();
    let addr = tb.addr(server).unwrap();
    let mut clients = Vec::new();
    for i in 0..40 {
        let c = tb.add_host(HostConfig::default()).unwrap();
        let now = tb.now();
        let p = tb.host_mut(c).unwrap().connect(now, addr, 2, i).unwrap();
        clients.push((c, p));
    }
    tb.run_for(Duration::from_millis(200));
    assert_eq!(tb.host(server).unwrap().connected_peers(), 40);
    for (c, p) in &clients {
        for k in 0..50u32 {
            tb.host_mut(*c)
                .unwrap()
                .send(*p, 1, Packet::reliable(k.to_le_bytes().to_vec()))
                .unwrap();
        }
    }
    tb.run_for(Duration::from_secs(1));
    let n = tb
        .events(server)
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::Receive { .. }))
        .count();
    assert_eq!(n, 40 * 50);
}

/// 4,000 peers of one client host (one address, as behind a NAT or in a load generator)
/// connect to one server, 250 attempts at a time, and every one gets in. The server takes
/// a CONNECT with the address and connect ID of a connection it has for a retransmission,
/// so a repeated connect ID leaves that client unanswered until it times out (5 s): with
/// testbed seed 227 the random connect IDs used before repeated one (as they did in about
/// one bench run in 150).
#[test]
fn four_thousand_clients_behind_one_address_all_connect() {
    let mut tb = Testbed::new(227);
    let config = HostConfig::default()
        .with_peer_count(4095)
        .with_duplicate_peers(4095);
    let server = tb.add_host(config.clone()).unwrap();
    let client = tb.add_host(config).unwrap();
    let addr = tb.addr(server).unwrap();
    let (mut started, mut up) = (0u32, 0u32);
    while up < 4000 && tb.elapsed() < Duration::from_secs(30) {
        while started < 4000 && started - up < 250 {
            let now = tb.now();
            tb.host_mut(client)
                .unwrap()
                .connect(now, addr, 2, started)
                .unwrap();
            started += 1;
        }
        tb.run_for(Duration::from_millis(10));
        for e in tb.take_events(client).unwrap() {
            match e {
                Event::Connect { .. } => up += 1,
                Event::Disconnect { reason, .. } => {
                    panic!(
                        "a client failed to connect ({reason:?}) after {:?}",
                        tb.elapsed()
                    )
                }
                _ => {}
            }
        }
        tb.take_events(server).unwrap();
    }
    assert_eq!(up, 4000, "connected after {:?}", tb.elapsed());
    assert_eq!(tb.host(server).unwrap().connected_peers(), 4000);
}

#[test]
fn refusing_new_connections_keeps_existing_ones() {
    let (mut tb, server, client, cpeer, _) = connect_pair(20);
    tb.host_mut(server).unwrap().refuse_new_connections(true);
    let late = tb.add_host(HostConfig::default()).unwrap();
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let lpeer = tb.host_mut(late).unwrap().connect(now, addr, 1, 0).unwrap();
    tb.host_mut(client)
        .unwrap()
        .send(cpeer, 0, Packet::reliable(&b"still here"[..]))
        .unwrap();
    tb.run_for(Duration::from_secs(40));
    assert!(tb.events(late).unwrap().contains(&Event::Disconnect {
        peer: lpeer,
        data: 0,
        reason: DisconnectReason::Timeout
    }));
    assert!(
        tb.host(server)
            .unwrap()
            .drop_stats()
            .get(enet_proto::DropReason::ConnectRefused)
            > 0
    );
    assert_eq!(receives(&mut tb, server).len(), 1);
    assert_eq!(tb.host(server).unwrap().connected_peers(), 1);
    tb.host_mut(server).unwrap().refuse_new_connections(false);
    let now = tb.now();
    tb.host_mut(late).unwrap().connect(now, addr, 1, 0).unwrap();
    tb.run_for(Duration::from_millis(100));
    assert_eq!(tb.host(server).unwrap().connected_peers(), 2);
}

#[test]
fn extreme_throttle_configuration_does_not_panic_either_end() {
    // THROTTLE_CONFIGURE carries any u32; a huge acceleration must not overflow the throttle
    // on the peer that set it nor on the remote that received it (C ENet wraps, u32).
    let (mut tb, server, client, cpeer, speer) = connect_pair(31);
    tb.set_link(
        server,
        client,
        LinkConfig::new().with_latency(Duration::from_millis(20), Duration::from_millis(5)),
    )
    .unwrap();
    tb.host_mut(client)
        .unwrap()
        .throttle_configure(cpeer, 1, u32::MAX, u32::MAX)
        .unwrap();
    tb.run_for(Duration::from_millis(200));
    let info = tb.host(server).unwrap().peer_info(speer).unwrap();
    assert_eq!(
        info.throttle.packet_throttle_acceleration,
        u32::MAX,
        "reached the server"
    );
    for k in 0..200u32 {
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 0, Packet::reliable(k.to_le_bytes().to_vec()))
            .unwrap();
        tb.host_mut(server)
            .unwrap()
            .send(speer, 0, Packet::reliable(k.to_le_bytes().to_vec()))
            .unwrap();
        tb.run_for(Duration::from_millis(7));
    }
    tb.run_for(Duration::from_millis(500));
    assert_eq!(receives(&mut tb, server).len(), 200);
    assert_eq!(receives(&mut tb, client).len(), 200);
    for (h, p) in [(server, speer), (client, cpeer)] {
        let i = tb.host(h).unwrap().peer_info(p).unwrap();
        assert_eq!(i.state, PeerState::Connected);
        assert!(
            i.throttle.packet_throttle <= i.throttle.packet_throttle_limit,
            "{i:?}"
        );
    }
}

#[test]
fn acknowledgements_release_window_held_fragments_at_once() {
    // Four 256 KiB packets exceed the 64 KiB reliable window many times over; each
    // acknowledgement must let held fragments go out immediately, not at the next timer.
    let (mut tb, server, client, cpeer, _) = connect_pair(21);
    tb.set_link(
        server,
        client,
        LinkConfig::new().with_latency(Duration::from_millis(1), Duration::ZERO),
    )
    .unwrap();
    let start = tb.now();
    for k in 0..4u8 {
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 0, Packet::reliable(big(256 * 1024, k)))
            .unwrap();
    }
    let deadline = start + Duration::from_secs(10);
    assert!(tb.run_until_cond(deadline, |tb| {
        tb.events(server)
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Receive { .. }))
            .count()
            == 4
    }));
    let took = tb.now() - start;
    // 1 MiB through a 64 KiB window at a 2 ms RTT is about 16 round trips (33 ms measured);
    // waiting for a retransmission timer after each window took 81 ms.
    assert!(
        took < Duration::from_millis(50),
        "took {took:?}: held fragments waited for a timer"
    );
}
