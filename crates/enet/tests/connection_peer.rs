//! `EnetPacketPeer` (Godot's `ENetPacketPeer`, via `EnetConnection::peer`): its methods
//! with Godot's error cases (spec godot-enet.md §5, §9.2), on 127.0.0.1: Godot's enum
//! values, sending and receiving packets, inactive peers, state and remote address.
//! Settings and statistics (timeouts, ping, throttle) are in `connection_peer_settings.rs`,
//! how a connection ends (disconnects, reset, reused slots) in
//! `connection_peer_disconnect.rs`.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use enet::godot::{
    EventType, HostStatistic, FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT, FLAG_UNSEQUENCED,
    MAX_PACKET_SIZE, PACKET_LOSS_SCALE, PACKET_THROTTLE_SCALE,
};
use enet::{CompressionMode, PeerState};

#[test]
fn godot_enum_values_and_constants() {
    assert_eq!(
        (FLAG_RELIABLE, FLAG_UNSEQUENCED, FLAG_UNRELIABLE_FRAGMENT),
        (1, 2, 8)
    );
    assert_eq!(PACKET_THROTTLE_SCALE, 32);
    assert_eq!(PACKET_LOSS_SCALE, 65536);
    assert_eq!(MAX_PACKET_SIZE, 16_777_216);
    for (i, s) in ALL_STATS.iter().enumerate() {
        assert_eq!(*s as i32, i as i32, "{s:?}");
    }
    let states = [
        PeerState::Disconnected,
        PeerState::Connecting,
        PeerState::AcknowledgingConnect,
        PeerState::ConnectionPending,
        PeerState::ConnectionSucceeded,
        PeerState::Connected,
        PeerState::DisconnectLater,
        PeerState::Disconnecting,
        PeerState::AcknowledgingDisconnect,
        PeerState::Zombie,
    ];
    for (i, s) in states.iter().enumerate() {
        assert_eq!(*s as i32, i as i32, "{s:?}");
    }
    assert_eq!(EventType::Error as i32, -1);
    assert_eq!(EventType::None as i32, 0);
    assert_eq!(EventType::Connect as i32, 1);
    assert_eq!(EventType::Disconnect as i32, 2);
    assert_eq!(EventType::Receive as i32, 3);
    assert_eq!(HostStatistic::TotalSentData as i32, 0);
    assert_eq!(HostStatistic::TotalSentPackets as i32, 1);
    assert_eq!(HostStatistic::TotalReceivedData as i32, 2);
    assert_eq!(HostStatistic::TotalReceivedPackets as i32, 3);
    assert_eq!(CompressionMode::None as i32, 0);
    assert_eq!(CompressionMode::RangeCoder as i32, 1);
    assert_eq!(CompressionMode::default(), CompressionMode::None);
}

#[test]
fn send_errors_before_during_and_after_the_connection() {
    let (mut s, port) = server(4, 0);
    let mut c = client();
    let cpeer = c.connect_to_host("127.0.0.1", port, 3, 0).unwrap();
    {
        let mut p = c.peer(cpeer);
        assert_eq!(p.handle(), cpeer);
        assert!(p.is_active());
        assert_eq!(p.get_state(), PeerState::Connecting);
        // Still connecting: ENet refuses, Godot returns FAILED.
        assert_code(p.send(0, b"early", FLAG_RELIABLE), FAILED);
        assert_code(p.send(2, b"early", 0), FAILED);
        assert_code(p.send_bytes(0, Bytes::from_static(b"early"), 0), FAILED);
        assert_code(p.put_packet(b"early"), FAILED);
        // Parameters are checked first.
        assert_code(p.send(3, b"x", FLAG_RELIABLE), INVALID_PARAMETER);
        assert_code(p.send(0, b"x", 4), INVALID_PARAMETER);
        // An empty put_packet is OK and sends nothing.
        p.put_packet(&[]).unwrap();
    }
    let (_, speer) = finish_connect(&mut s, &mut c, cpeer, 0);
    let mut p = c.peer(cpeer);
    assert_eq!(p.get_channels().unwrap(), 3);
    for ch in [3u8, 4, 255] {
        assert_code(p.send(ch, b"x", FLAG_RELIABLE), INVALID_PARAMETER);
        assert_code(
            p.send_bytes(ch, Bytes::from_static(b"x"), 0),
            INVALID_PARAMETER,
        );
    }
    for flags in [4u32, 16, 0x100, 1 | 4, 0x8000_0000, u32::MAX] {
        assert_code(p.send(0, b"x", flags), INVALID_PARAMETER);
        assert_code(
            p.send_bytes(0, Bytes::from_static(b"x"), flags),
            INVALID_PARAMETER,
        );
    }
    // Larger than ENet's 32 MiB packet limit: FAILED (Godot's get_max_packet_size says
    // 16 MiB but does not enforce it).
    assert_code(
        p.send_bytes(
            0,
            Bytes::from(vec![0u8; 32 * 1024 * 1024 + 1]),
            FLAG_RELIABLE,
        ),
        FAILED,
    );
    // Every allowed flag combination is accepted.
    let mut sent = 0;
    for flags in [0u32, 1, 2, 8, 1 | 2, 1 | 8, 2 | 8, 1 | 2 | 8] {
        p.send(2, &[flags as u8; 3], flags).unwrap();
        sent += 1;
    }
    assert_eq!(p.get_max_packet_size(), MAX_PACKET_SIZE);
    let mut got = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |i, _, ev| {
        assert_eq!((i, ev.kind, ev.channel), (0, EventType::Receive, 2));
        got += 1;
        got == sent
    }));
    assert_eq!(s.peer(speer).get_available_packet_count(), sent);

    // Inactive after disconnect_now: ERR_UNCONFIGURED.
    c.peer(cpeer).peer_disconnect_now(0).unwrap();
    let mut p = c.peer(cpeer);
    assert_code(p.send(0, b"late", FLAG_RELIABLE), UNCONFIGURED);
    assert_code(
        p.send_bytes(0, Bytes::from_static(b"late"), 0),
        UNCONFIGURED,
    );
    assert_code(p.put_packet(b"late"), UNCONFIGURED);
    assert!(matches!(
        p.send(0, b"late", 0),
        Err(enet::Error::PeerInactive)
    ));
}

#[test]
fn put_packet_and_empty_packets() {
    let mut p = Pair::new(0, 2);
    drain(
        &mut [&mut p.server, &mut p.client],
        Duration::from_millis(20),
    );
    p.client.flush().unwrap();
    pop_all(&mut p.client);
    // PacketPeer: an empty put_packet is OK and nothing is sent.
    p.client.peer(p.cpeer).put_packet(&[]).unwrap();
    p.client.flush().unwrap();
    assert_eq!(
        p.client
            .pop_statistic(HostStatistic::TotalSentPackets)
            .unwrap(),
        0.0
    );
    // put_packet: reliable on channel 0.
    p.client
        .peer(p.cpeer)
        .put_packet(b"via put_packet")
        .unwrap();
    // An empty packet through send is allowed and delivered.
    p.client.peer(p.cpeer).send(1, &[], FLAG_RELIABLE).unwrap();
    p.client
        .peer(p.cpeer)
        .send_bytes(1, Bytes::from_static(b"shared"), FLAG_UNSEQUENCED)
        .unwrap();
    let mut got = Vec::new();
    let speer = p.speer;
    assert!(p.pump(T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        let (data, ch, flags) = conn.peer(speer).get_packet_with_info().unwrap();
        assert_eq!(ch, ev.channel);
        got.push((ch, data.to_vec(), flags));
        got.len() == 3
    }));
    got.sort();
    assert_eq!(
        got,
        vec![
            (0, b"via put_packet".to_vec(), FLAG_RELIABLE),
            (1, vec![], FLAG_RELIABLE),
            (1, b"shared".to_vec(), FLAG_UNSEQUENCED),
        ]
    );
    assert_eq!(p.drain(Duration::from_millis(30)), (vec![], vec![]));
}

#[test]
fn get_packet_queue_flags_and_inactive_peer() {
    let mut p = Pair::new(0, 3);
    {
        let mut sp = p.server.peer(p.speer);
        assert_eq!(sp.get_available_packet_count(), 0);
        assert_code(sp.get_packet(), UNAVAILABLE);
        assert_code(sp.get_packet_with_info(), UNAVAILABLE);
        assert_code(sp.get_packet_flags(), UNAVAILABLE);
        assert_eq!(sp.last_packet_flags(), 0);
    }
    let big_uf: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    let big_plain: Vec<u8> = (0..5000u32).map(|i| (i % 241) as u8).collect();
    // (channel, payload, send flags, flags seen by the receiver)
    let cases: Vec<(u8, Vec<u8>, u32, u32)> = vec![
        (0, b"reliable".to_vec(), FLAG_RELIABLE, FLAG_RELIABLE),
        (
            1,
            b"unsequenced".to_vec(),
            FLAG_UNSEQUENCED,
            FLAG_UNSEQUENCED,
        ),
        (2, b"unreliable".to_vec(), 0, 0),
        // Large and marked: unreliable fragments.
        (
            1,
            big_uf.clone(),
            FLAG_UNRELIABLE_FRAGMENT,
            FLAG_UNRELIABLE_FRAGMENT,
        ),
        // Large and unmarked: ENet fragments it reliably.
        (2, big_plain.clone(), 0, FLAG_RELIABLE),
    ];
    for (ch, data, flags, _) in &cases {
        p.client.peer(p.cpeer).send(*ch, data, *flags).unwrap();
    }
    let mut n = 0;
    assert!(p.pump(T, |i, _, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        n += 1;
        n == cases.len()
    }));
    let mut sp = p.server.peer(p.speer);
    assert_eq!(sp.get_available_packet_count(), cases.len());
    let mut seen = Vec::new();
    while sp.get_available_packet_count() > 0 {
        let next_flags = sp.get_packet_flags().unwrap();
        let (data, ch, flags) = sp.get_packet_with_info().unwrap();
        assert_eq!(
            flags, next_flags,
            "get_packet_flags describes the next packet"
        );
        assert_eq!(sp.last_packet_flags(), flags);
        let case = cases
            .iter()
            .find(|c| c.1 == data)
            .unwrap_or_else(|| panic!("unexpected packet of {} bytes", data.len()));
        assert_eq!((ch, flags), (case.0, case.3), "{} bytes", data.len());
        seen.push(ch);
    }
    assert_eq!(seen.len(), cases.len());
    assert_code(sp.get_packet(), UNAVAILABLE);

    // Packets still queued when the peer disconnects stay counted, but get_packet refuses
    // them (Godot: ERR_UNCONFIGURED once inactive). The packets are flushed before the
    // disconnect: ENet's disconnect drops whatever is still unsent.
    for k in 0..2u8 {
        p.client.peer(p.cpeer).put_packet(&[k; 4]).unwrap();
    }
    p.client.flush().unwrap();
    p.client.peer(p.cpeer).peer_disconnect(5).unwrap();
    let mut events = Vec::new();
    assert!(p.pump(T, |i, _, ev| {
        if i == 0 {
            events.push(ev.kind);
        }
        ev.kind == EventType::Disconnect && i == 0
    }));
    assert_eq!(
        events,
        vec![
            EventType::Receive,
            EventType::Receive,
            EventType::Disconnect
        ]
    );
    let mut sp = p.server.peer(p.speer);
    assert!(!sp.is_active());
    assert_eq!(sp.get_available_packet_count(), 2);
    assert_eq!(sp.get_packet_flags().unwrap(), FLAG_RELIABLE);
    assert_code(sp.get_packet(), UNCONFIGURED);
    assert_code(sp.get_packet_with_info(), UNCONFIGURED);
    assert_eq!(sp.get_available_packet_count(), 2);
}

#[test]
fn inactive_peer_methods() {
    let mut p = Pair::new(0, 2);
    p.client.peer(p.cpeer).peer_disconnect_now(0).unwrap();
    let mut x = p.client.peer(p.cpeer);
    assert!(!x.is_active());
    assert_eq!(x.handle(), p.cpeer);
    assert_eq!(x.get_state(), PeerState::Disconnected);
    assert_eq!(x.get_available_packet_count(), 0);
    assert_code(x.get_packet_flags(), UNAVAILABLE);
    assert_eq!(x.get_max_packet_size(), MAX_PACKET_SIZE);
    assert_code(x.send(0, b"x", 0), UNCONFIGURED);
    assert_code(x.send_bytes(0, Bytes::from_static(b"x"), 0), UNCONFIGURED);
    assert_code(x.put_packet(b"x"), UNCONFIGURED);
    // Godot's PacketPeer answers OK to an empty packet before asking the peer.
    x.put_packet(&[]).unwrap();
    assert_code(x.get_packet(), UNCONFIGURED);
    assert_code(x.get_packet_with_info(), UNCONFIGURED);
    assert_code(x.peer_disconnect(0), UNCONFIGURED);
    assert_code(x.peer_disconnect_later(0), UNCONFIGURED);
    assert_code(x.peer_disconnect_now(0), UNCONFIGURED);
    assert_code(x.reset(), UNCONFIGURED);
    assert_code(x.ping(), UNCONFIGURED);
    assert_code(x.ping_interval(100), UNCONFIGURED);
    assert_code(x.set_timeout(10, 100, 1000), UNCONFIGURED);
    assert_code(x.throttle_configure(1000, 2, 2), UNCONFIGURED);
    assert_code(x.set_early_retransmit(false), UNCONFIGURED);
    assert_code(x.get_remote_address(), UNCONFIGURED);
    assert_code(x.remote_addr(), UNCONFIGURED);
    assert_code(x.get_remote_port(), UNCONFIGURED);
    assert_code(x.get_channels(), UNCONFIGURED);
    for s in ALL_STATS {
        assert_code(x.get_statistic(s), UNCONFIGURED);
    }
}

#[test]
fn get_state_follows_the_connection() {
    let (mut s, port) = server(2, 0);
    let mut c = client();
    let cpeer = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    assert_eq!(c.peer(cpeer).get_state() as i32, 1, "CONNECTING");
    let (_, speer) = finish_connect(&mut s, &mut c, cpeer, 0);
    assert_eq!(c.peer(cpeer).get_state() as i32, 5, "CONNECTED");
    assert_eq!(s.peer(speer).get_state() as i32, 5, "CONNECTED");
    c.peer(cpeer).put_packet(b"pending").unwrap();
    c.peer(cpeer).peer_disconnect_later(0).unwrap();
    assert_eq!(c.peer(cpeer).get_state() as i32, 6, "DISCONNECT_LATER");
    let mut downs = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        if ev.kind == EventType::Receive {
            // The DISCONNECT follows the data.
            return false;
        }
        assert_eq!(ev.kind, EventType::Disconnect);
        if i == 1 {
            // Seen DISCONNECTING on the way (checked below through a second pair).
            assert_eq!(conn.peer(cpeer).get_state() as i32, 0);
        }
        downs += 1;
        downs == 2
    }));
    let mut p = Pair::new(0, 1);
    p.client.peer(p.cpeer).peer_disconnect(0).unwrap();
    assert_eq!(
        p.client.peer(p.cpeer).get_state() as i32,
        7,
        "DISCONNECTING"
    );
    assert!(p.pump(T, |i, _, ev| i == 1 && ev.kind == EventType::Disconnect));
    assert_eq!(p.client.peer(p.cpeer).get_state() as i32, 0, "DISCONNECTED");
}

#[test]
fn remote_address_and_port() {
    let mut p = Pair::new(0, 1);
    let client_port = p.client.get_local_port().unwrap();
    let s = p.server.peer(p.speer);
    assert_eq!(s.get_remote_address().unwrap(), "127.0.0.1");
    assert_eq!(s.get_remote_port().unwrap(), client_port);
    assert_eq!(s.remote_addr().unwrap(), p.client.local_addr().unwrap());
    let c = p.client.peer(p.cpeer);
    assert_eq!(c.get_remote_address().unwrap(), "127.0.0.1");
    assert_eq!(c.get_remote_port().unwrap(), p.port);
    assert_eq!(c.remote_addr().unwrap(), p.server.local_addr().unwrap());
}
