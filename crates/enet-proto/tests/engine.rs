//! Two or more engines driven through the deterministic simulator.

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::{HostIndex, Testbed};
use enet_proto::{DisconnectReason, Event, HostConfig, Packet, PacketFlags, PeerId, PeerState};

fn pair(seed: u64) -> (Testbed, HostIndex, HostIndex, PeerId) {
    let mut tb = Testbed::new(seed);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let peer = tb
        .host_mut(client)
        .unwrap()
        .connect(now, addr, 4, 42)
        .unwrap();
    (tb, server, client, peer)
}

fn connected(tb: &Testbed, h: HostIndex) -> Option<(PeerId, u32)> {
    tb.events(h).unwrap().iter().find_map(|e| match e {
        Event::Connect { peer, data } => Some((*peer, *data)),
        _ => None,
    })
}

#[test]
fn handshake_delivers_connect_data_and_channel_count() {
    let (mut tb, server, client, cpeer) = pair(1);
    tb.run_for(Duration::from_millis(50));
    let (speer, data) = connected(&tb, server).expect("server connect event");
    assert_eq!(data, 42);
    assert_eq!(connected(&tb, client), Some((cpeer, 0)));
    let info = tb.host(server).unwrap().peer_info(speer).unwrap();
    assert_eq!(info.channel_count, 4);
    assert_eq!(info.mtu, 1392);
    assert_eq!(info.state, PeerState::Connected);
    assert_eq!(
        tb.host(client)
            .unwrap()
            .peer_info(cpeer)
            .unwrap()
            .channel_count,
        4
    );
}

#[test]
fn server_channel_limit_caps_channels() {
    let mut tb = Testbed::new(2);
    let server = tb
        .add_host(HostConfig {
            channel_limit: 2,
            ..HostConfig::default()
        })
        .unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let cpeer = tb
        .host_mut(client)
        .unwrap()
        .connect(now, addr, 8, 0)
        .unwrap();
    tb.run_for(Duration::from_millis(50));
    assert_eq!(
        tb.host(client)
            .unwrap()
            .peer_info(cpeer)
            .unwrap()
            .channel_count,
        2
    );
    let (speer, _) = connected(&tb, server).unwrap();
    assert_eq!(
        tb.host(server)
            .unwrap()
            .peer_info(speer)
            .unwrap()
            .channel_count,
        2
    );
}

fn message(channel: u8, seq: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(12);
    v.push(channel);
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend(std::iter::repeat_n((seq % 251) as u8, (seq % 7) as usize));
    v
}

#[test]
fn reliable_messages_survive_a_hostile_link_exactly_once_in_order() {
    for seed in [3, 11, 29] {
        hostile_link_run(seed);
    }
}

fn hostile_link_run(seed: u64) {
    const TOTAL: u32 = 100_000;
    const CHANNELS: u8 = 4;
    let (mut tb, server, client, cpeer) = pair(seed);
    tb.run_for(Duration::from_millis(50));
    let hostile = LinkConfig::new()
        .with_loss(0.20)
        .with_duplicate(0.05)
        .with_reorder(0.05, Duration::from_millis(40))
        .with_latency(Duration::from_millis(50), Duration::from_millis(30));
    tb.set_link(server, client, hostile).unwrap();
    let mut next = [0u32; CHANNELS as usize];
    let mut sent = 0u32;
    let mut received = 0u32;
    let deadline = tb.now() + Duration::from_secs(3600);
    let mut last_check = 0;
    while received < TOTAL {
        // Keep the pipeline full without queueing everything at once.
        while sent < TOTAL && sent - received < 4000 {
            let ch = (sent % CHANNELS as u32) as u8;
            let seq = sent / CHANNELS as u32;
            tb.host_mut(client)
                .unwrap()
                .send(cpeer, ch, Packet::reliable(message(ch, seq)))
                .unwrap();
            sent += 1;
        }
        let step = tb.now() + Duration::from_millis(20);
        tb.run_until(step);
        for e in tb.take_events(server).unwrap() {
            if let Event::Receive {
                channel_id, packet, ..
            } = e
            {
                let seq = u32::from_le_bytes(packet.data[1..5].try_into().unwrap());
                assert_eq!(packet.data[0], channel_id);
                assert_eq!(
                    seq, next[channel_id as usize],
                    "channel {channel_id} out of order or duplicated"
                );
                assert_eq!(&packet.data[..], &message(channel_id, seq)[..]);
                assert!(packet.flags.contains(PacketFlags::RELIABLE));
                next[channel_id as usize] += 1;
                received += 1;
            }
        }
        assert!(tb.now() < deadline, "stalled at {received}/{TOTAL}");
        if received - last_check > 0 {
            last_check = received;
        }
        assert_eq!(
            tb.host(client).unwrap().peer_state(cpeer),
            Some(PeerState::Connected),
            "client lost the connection at {received} after {:?}: {:?} / server {:?}",
            tb.elapsed(),
            tb.events(client).unwrap(),
            tb.events(server)
                .unwrap()
                .iter()
                .filter(|e| !matches!(e, Event::Receive { .. }))
                .collect::<Vec<_>>()
        );
    }
    let stats = tb.network_mut().total_stats();
    assert!(stats.dropped_loss > 1000, "the link really lost datagrams");
    assert!(
        stats.duplicated > 100,
        "the link really duplicated datagrams"
    );
    assert!(
        tb.host(client)
            .unwrap()
            .peer_info(cpeer)
            .unwrap()
            .counters
            .retransmissions
            > 1000
    );
}

fn hostile() -> LinkConfig {
    LinkConfig::new()
        .with_loss(0.20)
        .with_duplicate(0.05)
        .with_reorder(0.05, Duration::from_millis(40))
        .with_latency(Duration::from_millis(50), Duration::from_millis(30))
}

fn connect_pair(seed: u64) -> (Testbed, HostIndex, HostIndex, PeerId, PeerId) {
    let (mut tb, server, client, cpeer) = pair(seed);
    tb.run_for(Duration::from_millis(50));
    let (speer, _) = connected(&tb, server).expect("connected");
    tb.take_events(server).unwrap();
    tb.take_events(client).unwrap();
    (tb, server, client, cpeer, speer)
}

fn receives(tb: &mut Testbed, h: HostIndex) -> Vec<(u8, Packet)> {
    tb.take_events(h)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            Event::Receive {
                channel_id, packet, ..
            } => Some((channel_id, packet)),
            _ => None,
        })
        .collect()
}

#[test]
fn unreliable_sequenced_is_never_duplicated_or_reordered() {
    let (mut tb, server, client, cpeer, _) = connect_pair(5);
    tb.set_link(server, client, hostile()).unwrap();
    let mut got = Vec::new();
    for i in 0..20_000u32 {
        // Interleave reliable packets so unreliable ones are tied to moving reliable epochs.
        if i % 100 == 0 {
            tb.host_mut(client)
                .unwrap()
                .send(cpeer, 1, Packet::reliable(i.to_le_bytes().to_vec()))
                .unwrap();
        }
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 1, Packet::unreliable(i.to_le_bytes().to_vec()))
            .unwrap();
        if i % 20 == 0 {
            tb.run_for(Duration::from_millis(5));
            got.extend(receives(&mut tb, server));
        }
    }
    tb.run_for(Duration::from_secs(30));
    got.extend(receives(&mut tb, server));
    let unreliable: Vec<u32> = got
        .iter()
        .filter(|(_, p)| !p.flags.contains(PacketFlags::RELIABLE))
        .map(|(_, p)| u32::from_le_bytes(p.data[..4].try_into().unwrap()))
        .collect();
    // Jitter reorders datagrams and sequenced delivery drops late ones, on top of the loss:
    // a fraction arrives, never out of order.
    assert!(
        unreliable.len() > 2_000,
        "unreliable packets should arrive, got {}",
        unreliable.len()
    );
    assert!(unreliable.len() < 20_000, "the link is lossy");
    for w in unreliable.windows(2) {
        assert!(w[0] < w[1], "unreliable out of order or duplicated: {w:?}");
    }
    // Reliable ones all arrive, in order.
    let reliable: Vec<u32> = got
        .iter()
        .filter(|(_, p)| p.flags.contains(PacketFlags::RELIABLE))
        .map(|(_, p)| u32::from_le_bytes(p.data[..4].try_into().unwrap()))
        .collect();
    assert_eq!(reliable, (0..200).map(|k| k * 100).collect::<Vec<_>>());
}

#[test]
fn unsequenced_is_never_duplicated() {
    let (mut tb, server, client, cpeer, _) = connect_pair(6);
    tb.set_link(server, client, hostile().with_duplicate(0.30))
        .unwrap();
    for i in 0..20_000u32 {
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 2, Packet::unsequenced(i.to_le_bytes().to_vec()))
            .unwrap();
        if i % 20 == 0 {
            tb.run_for(Duration::from_millis(5));
        }
    }
    tb.run_for(Duration::from_secs(2));
    let got = receives(&mut tb, server);
    let mut seen = std::collections::HashSet::new();
    for (ch, p) in &got {
        assert_eq!(*ch, 2);
        assert!(p.flags.contains(PacketFlags::UNSEQUENCED));
        let v = u32::from_le_bytes(p.data[..4].try_into().unwrap());
        assert!(seen.insert(v), "unsequenced packet {v} delivered twice");
    }
    assert!(got.len() > 5_000, "got {}", got.len());
    assert!(tb.network_mut().total_stats().duplicated > 100);
}

fn big(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[3] ^ salt)
        .collect()
}

#[test]
fn one_mebibyte_reliable_packet_reassembles_over_a_hostile_link() {
    let (mut tb, server, client, cpeer, _) = connect_pair(7);
    tb.set_link(server, client, hostile()).unwrap();
    let data = big(1 << 20, 1);
    tb.host_mut(client)
        .unwrap()
        .send(cpeer, 3, Packet::reliable(data.clone()))
        .unwrap();
    let deadline = tb.now() + Duration::from_secs(600);
    let ok = tb.run_until_cond(deadline, |tb| {
        tb.events(server)
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::Receive { .. }))
    });
    assert!(ok, "1 MiB packet did not arrive");
    let got = receives(&mut tb, server);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 3);
    assert!(got[0].1.data == data, "payload corrupted");
}

#[test]
fn unreliable_fragments_reassemble_and_are_never_corrupted() {
    let (mut tb, server, client, cpeer, _) = connect_pair(8);
    // Duplication, reordering and jitter but no loss: every packet must arrive intact.
    tb.set_link(
        server,
        client,
        LinkConfig::new()
            .with_duplicate(0.05)
            .with_reorder(0.10, Duration::from_millis(15))
            .with_latency(Duration::from_millis(30), Duration::from_millis(10)),
    )
    .unwrap();
    let data = big(100 * 1024, 2);
    tb.host_mut(client)
        .unwrap()
        .send(
            cpeer,
            0,
            Packet::new(data.clone(), PacketFlags::UNRELIABLE_FRAGMENT),
        )
        .unwrap();
    tb.run_for(Duration::from_secs(2));
    let got = receives(&mut tb, server);
    assert_eq!(got.len(), 1, "the 100 KiB unreliable packet arrives once");
    assert!(got[0].1.data == data);
    assert!(got[0].1.flags.contains(PacketFlags::UNRELIABLE_FRAGMENT));
    assert!(!got[0].1.flags.contains(PacketFlags::RELIABLE));

    // Under loss, whatever arrives is intact; lost groups are simply not delivered.
    tb.set_link(server, client, hostile().with_loss(0.01))
        .unwrap();
    for k in 0..20u8 {
        let d = big(20 * 1024, k);
        tb.host_mut(client)
            .unwrap()
            .send(cpeer, 0, Packet::new(d, PacketFlags::UNRELIABLE_FRAGMENT))
            .unwrap();
        tb.run_for(Duration::from_millis(50));
    }
    tb.run_for(Duration::from_secs(2));
    let got = receives(&mut tb, server);
    assert!(!got.is_empty() && got.len() <= 20);
    for (_, p) in got {
        let salt = p.data[0] ^ big(1, 0)[0];
        assert!(
            p.data == big(20 * 1024, salt),
            "corrupted unreliable packet"
        );
    }
}

#[test]
fn large_unreliable_packet_without_flag_goes_reliable() {
    let (mut tb, server, client, cpeer, _) = connect_pair(9);
    let data = big(5000, 3);
    tb.host_mut(client)
        .unwrap()
        .send(cpeer, 0, Packet::unreliable(data.clone()))
        .unwrap();
    tb.run_for(Duration::from_millis(100));
    let got = receives(&mut tb, server);
    assert_eq!(got.len(), 1);
    assert!(got[0].1.flags.contains(PacketFlags::RELIABLE));
    assert!(got[0].1.data == data);
}

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
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let cpeer = tb
        .host_mut(client)
        .unwrap()
        .connect(now, addr, 2, 0)
        .unwrap();
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
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let cpeer = tb
        .host_mut(client)
        .unwrap()
        .connect(now, addr, 1, 5)
        .unwrap();
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
        .add_host(HostConfig {
            incoming_bandwidth: 256 * 1024,
            outgoing_bandwidth: 128 * 1024,
            ..HostConfig::default()
        })
        .unwrap();
    let client = tb
        .add_host(HostConfig {
            outgoing_bandwidth: 512 * 1024,
            ..HostConfig::default()
        })
        .unwrap();
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let cpeer = tb
        .host_mut(client)
        .unwrap()
        .connect(now, addr, 1, 0)
        .unwrap();
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
        .add_host(HostConfig {
            peer_count: 64,
            ..HostConfig::default()
        })
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
