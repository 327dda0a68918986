//! Two or more engines driven through the deterministic simulator: the handshake and the
//! delivery guarantees of every packet kind, over perfect and hostile links. Connection
//! lifetime (timeouts, disconnects, sequence wrap, bandwidth, many peers, throttling) is in
//! `engine_lifecycle.rs`.

mod support;

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::Testbed;
use enet_proto::{Event, HostConfig, Packet, PacketFlags, PeerState};
use support::*;

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
        .add_host(HostConfig::default().with_channel_limit(2))
        .unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let cpeer = start_connect(&mut tb, client, server, 8, 0);
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
