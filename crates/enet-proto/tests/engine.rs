//! Two or more engines driven through the deterministic simulator.

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::Testbed;
use enet_proto::{Event, HostConfig, Packet, PacketFlags, PeerId, PeerState};

fn pair(seed: u64) -> (Testbed, usize, usize, PeerId) {
    let mut tb = Testbed::new(seed);
    let server = tb.add_host(HostConfig::default());
    let client = tb.add_host(HostConfig::default());
    let addr = tb.addr(server);
    let now = tb.now();
    let peer = tb.host_mut(client).connect(now, addr, 4, 42).unwrap();
    (tb, server, client, peer)
}

fn connected(tb: &Testbed, h: usize) -> Option<(PeerId, u32)> {
    tb.events(h).iter().find_map(|e| match e {
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
    let info = tb.host(server).peer_info(speer).unwrap();
    assert_eq!(info.channel_count, 4);
    assert_eq!(info.mtu, 1392);
    assert_eq!(info.state, PeerState::Connected);
    assert_eq!(tb.host(client).peer_info(cpeer).unwrap().channel_count, 4);
}

#[test]
fn server_channel_limit_caps_channels() {
    let mut tb = Testbed::new(2);
    let server = tb.add_host(HostConfig {
        channel_limit: 2,
        ..HostConfig::default()
    });
    let client = tb.add_host(HostConfig::default());
    let addr = tb.addr(server);
    let now = tb.now();
    let cpeer = tb.host_mut(client).connect(now, addr, 8, 0).unwrap();
    tb.run_for(Duration::from_millis(50));
    assert_eq!(tb.host(client).peer_info(cpeer).unwrap().channel_count, 2);
    let (speer, _) = connected(&tb, server).unwrap();
    assert_eq!(tb.host(server).peer_info(speer).unwrap().channel_count, 2);
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
    tb.set_link(server, client, hostile);
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
                .send(cpeer, ch, Packet::reliable(message(ch, seq)))
                .unwrap();
            sent += 1;
        }
        let step = tb.now() + Duration::from_millis(20);
        tb.run_until(step);
        for e in tb.take_events(server) {
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
            tb.host(client).peer_state(cpeer),
            Some(PeerState::Connected),
            "client lost the connection at {received} after {:?}: {:?} / server {:?}",
            tb.elapsed(),
            tb.events(client),
            tb.events(server)
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
            .peer_info(cpeer)
            .unwrap()
            .counters
            .retransmissions
            > 1000
    );
}
