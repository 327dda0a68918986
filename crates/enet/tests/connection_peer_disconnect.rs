//! `EnetPacketPeer` (Godot's `ENetPacketPeer`, via `EnetConnection::peer`): how a peer's
//! connection ends, on 127.0.0.1: `peer_disconnect` (graceful, both ways, and dropping unsent
//! packets), `peer_disconnect_later` (queued packets first), `peer_disconnect_now` (immediate,
//! silent locally), `reset` (silent; the remote times out), and handles of finished peers
//! never reaching the next occupant of their slot. The other peer methods are in
//! `connection_peer.rs`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use enet::godot::{EventType, ServiceEvent, FLAG_RELIABLE};
use enet::{DisconnectReason, PeerState};

/// Services the pair until the server sees an event, which must be a disconnect; returns its
/// data and reason, and the events the client saw meanwhile.
fn server_disconnect(p: &mut Pair) -> ((u32, Option<DisconnectReason>), Vec<ServiceEvent>) {
    let mut server_saw = None;
    let mut client_events = Vec::new();
    assert!(p.pump(T, |i, _, ev| {
        if i == 1 {
            client_events.push(ev);
            return false;
        }
        assert_eq!(ev.kind, EventType::Disconnect);
        server_saw = Some((ev.data, ev.reason));
        true
    }));
    (server_saw.unwrap(), client_events)
}

#[test]
fn peer_disconnect_is_graceful_both_ways() {
    // Client-initiated.
    let mut p = Pair::new(0, 1);
    p.client.peer(p.cpeer).peer_disconnect(7).unwrap();
    assert_eq!(p.client.peer(p.cpeer).get_state(), PeerState::Disconnecting);
    assert!(p.client.peer(p.cpeer).is_active(), "active until the event");
    assert_eq!(p.client.get_peers(), vec![p.cpeer]);
    let mut seen = [None, None];
    let (speer, cpeer) = (p.speer, p.cpeer);
    assert!(p.pump(T, |i, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect, "{i}: {ev:?}");
        assert_eq!(ev.peer, Some([speer, cpeer][i]));
        seen[i] = Some((ev.data, ev.reason.unwrap()));
        seen.iter().all(Option::is_some)
    }));
    assert_eq!(seen[0], Some((7, DisconnectReason::Remote)));
    assert_eq!(seen[1], Some((0, DisconnectReason::Local)));
    for (conn, h) in [(&mut p.server, speer), (&mut p.client, cpeer)] {
        assert!(!conn.peer(h).is_active());
        assert_eq!(conn.peer(h).get_state(), PeerState::Disconnected);
        assert!(conn.get_peers().is_empty());
    }

    // Server-initiated.
    let mut p = Pair::new(0, 1);
    p.server.peer(p.speer).peer_disconnect(u32::MAX).unwrap();
    assert_eq!(p.server.peer(p.speer).get_state(), PeerState::Disconnecting);
    let mut client_data = None;
    assert!(p.pump(T, |i, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect);
        if i == 1 {
            client_data = Some(ev.data);
        }
        i == 1
    }));
    assert_eq!(client_data, Some(u32::MAX));
}

#[test]
fn peer_disconnect_later_sends_queued_packets_first() {
    let mut p = Pair::new(0, 1);
    for k in 0..5u8 {
        p.client
            .peer(p.cpeer)
            .send(0, &[k; 600], FLAG_RELIABLE)
            .unwrap();
    }
    p.client.peer(p.cpeer).peer_disconnect_later(9).unwrap();
    assert_eq!(
        p.client.peer(p.cpeer).get_state(),
        PeerState::DisconnectLater
    );
    // No new packets once disconnecting.
    assert_code(p.client.peer(p.cpeer).send(0, b"x", FLAG_RELIABLE), FAILED);
    let mut order = Vec::new();
    let speer = p.speer;
    assert!(p.pump(T, |i, conn, ev| {
        if i == 0 {
            match ev.kind {
                EventType::Receive => order.push(conn.peer(speer).get_packet().unwrap()[0] as i32),
                EventType::Disconnect => order.push(-(ev.data as i32)),
                other => panic!("{other:?}"),
            }
        }
        order.last() == Some(&-9)
    }));
    assert_eq!(order, vec![0, 1, 2, 3, 4, -9]);

    // With nothing queued or in flight it is a plain disconnect. (Right after connecting
    // the client's first PING is in flight: let it be acknowledged.)
    let mut p = Pair::new(0, 1);
    p.drain(Duration::from_millis(50));
    p.client.peer(p.cpeer).peer_disconnect_later(3).unwrap();
    assert_eq!(p.client.peer(p.cpeer).get_state(), PeerState::Disconnecting);
    assert!(p.pump(T, |i, _, ev| i == 0
        && ev.kind == EventType::Disconnect
        && ev.data == 3));
}

#[test]
fn peer_disconnect_now_is_immediate_and_silent_locally() {
    let mut p = Pair::new(0, 1);
    p.client.peer(p.cpeer).peer_disconnect_now(11).unwrap();
    assert!(!p.client.peer(p.cpeer).is_active());
    assert_eq!(p.client.peer(p.cpeer).get_state(), PeerState::Disconnected);
    assert_eq!(
        p.client.get_peers(),
        vec![p.cpeer],
        "listed until the next service"
    );
    let (server_saw, mut client_events) = server_disconnect(&mut p);
    assert_eq!(server_saw, (11, Some(DisconnectReason::Remote)));
    let (_, more) = p.drain(Duration::from_millis(50));
    client_events.extend(more);
    assert!(
        client_events.is_empty(),
        "no local event: {client_events:?}"
    );
    assert!(p.client.get_peers().is_empty());
    assert_eq!(p.client.udp_host().unwrap().connected_peers(), 0);
}

#[test]
fn reset_is_silent_and_the_remote_times_out() {
    let mut p = Pair::new(0, 1);
    // Short timeouts and frequent pings on the remote keep this fast.
    p.server.peer(p.speer).set_timeout(1, 100, 300).unwrap();
    p.server.peer(p.speer).ping_interval(20).unwrap();
    p.client.peer(p.cpeer).reset().unwrap();
    assert!(!p.client.peer(p.cpeer).is_active());
    assert_eq!(p.client.peer(p.cpeer).get_state(), PeerState::Disconnected);
    let t0 = Instant::now();
    let (server_saw, client_events) = server_disconnect(&mut p);
    assert_eq!(server_saw, (0, Some(DisconnectReason::Timeout)));
    // The remote's 300 ms timeout, not ENet's default 30 s, ended it (bound kept loose:
    // a loaded machine may be slow, never 30 s slow).
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    assert!(client_events.is_empty(), "{client_events:?}");
    assert!(!p.server.peer(p.speer).is_active());
}

#[test]
fn handles_of_finished_peers_never_reach_a_new_occupant() {
    // One slot, so the second client must reuse it.
    let (mut s, port) = server(1, 0);
    let mut a = client();
    let (apeer, speer_a) = connect(&mut s, &mut a, port, 1, 1);
    // The host is full: another client gets no answer.
    let mut b = client();
    let bpeer = b.connect_to_host("127.0.0.1", port, 1, 2).unwrap();
    let log = drain(&mut [&mut s, &mut b], Duration::from_millis(150));
    assert!(log[0].is_empty() && log[1].is_empty(), "{log:?}");
    assert_eq!(b.peer(bpeer).get_state(), PeerState::Connecting);

    a.peer(apeer).peer_disconnect(0).unwrap();
    let mut downs = 0;
    assert!(pump(&mut [&mut s, &mut a], T, |_, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect);
        downs += 1;
        downs == 2
    }));
    // The slot is free: b's retransmitted CONNECT gets in.
    let (_, speer_b) = finish_connect(&mut s, &mut b, bpeer, 2);
    assert_eq!(speer_b.index(), speer_a.index());
    assert_ne!(speer_b, speer_a);
    b.peer(bpeer).put_packet(b"for b").unwrap();
    assert!(pump(&mut [&mut s, &mut b], T, |i, _, ev| i == 0
        && ev.kind == EventType::Receive));
    let mut old = s.peer(speer_a);
    assert!(!old.is_active());
    assert_eq!(old.get_available_packet_count(), 0);
    assert_code(old.get_packet(), UNCONFIGURED);
    assert_code(old.send(0, b"x", FLAG_RELIABLE), UNCONFIGURED);
    assert_eq!(s.peer(speer_b).get_available_packet_count(), 1);
    assert_eq!(s.get_peers(), vec![speer_b]);
}

#[test]
fn peer_disconnect_drops_unsent_packets() {
    // ENet's graceful disconnect resets the outgoing queues: packets not yet sent are lost
    // (use peer_disconnect_later to deliver them first).
    let mut p = Pair::new(0, 1);
    p.drain(Duration::from_millis(20));
    p.client.peer(p.cpeer).put_packet(b"never sent").unwrap();
    p.client.peer(p.cpeer).peer_disconnect(1).unwrap();
    let mut server_events = Vec::new();
    assert!(p.pump(T, |i, _, ev| {
        if i == 0 {
            server_events.push((ev.kind, ev.data));
        }
        i == 0 && ev.kind == EventType::Disconnect
    }));
    assert_eq!(server_events, vec![(EventType::Disconnect, 1)]);
}
