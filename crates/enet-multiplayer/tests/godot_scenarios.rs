//! Godot 4.3 `ENetMultiplayerPeer` scenarios (spec godot-enet.md §2, §3, §6, §9, §11),
//! pure Rust on both ends, over 127.0.0.1 with ephemeral ports.
//!
//! Longer than ~600 lines because it holds one scenario per Godot behaviour of those spec
//! sections, in the spec's order, each on the shared test bed (`enet_multiplayer::testing`)
//! and sharing nothing else; the load test, which has its own helpers, is in
//! `godot_load.rs`.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::thread;
use std::time::{Duration, Instant};

use enet::godot::EnetConnection;
use enet::{Error, PeerState};
use enet_multiplayer::{
    ConnectionStatus, EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode,
    MAX_PACKET_SIZE,
};

use enet_multiplayer::testing::{
    client as new_client, connect_clients, mesh_link, pump, pump_for, server as new_server, Node,
    Pkt, LOCALHOST, TIMEOUT as T,
};
const MODES: [TransferMode; 3] = [
    TransferMode::Reliable,
    TransferMode::Unreliable,
    TransferMode::UnreliableOrdered,
];

fn assert_default_getters(mp: &EnetMultiplayerPeer) {
    assert_eq!(mp.get_available_packet_count(), 0);
    assert_eq!(mp.get_packet_peer(), 1);
    assert_eq!(mp.get_packet_channel(), 1);
    assert_eq!(mp.get_packet_mode(), TransferMode::Reliable);
}

// ------------------------------------------------------------------------------------------

#[test]
fn inactive_peer_defaults() {
    let mut mp = EnetMultiplayerPeer::new();
    assert_eq!(mp.get_unique_id(), 0);
    assert_eq!(mp.get_connection_status(), ConnectionStatus::Disconnected);
    assert!(!mp.is_server());
    assert!(!mp.is_server_relay_supported());
    assert!(!mp.is_refusing_new_connections());
    assert_eq!(mp.get_max_packet_size(), 1 << 24);
    assert_eq!(MAX_PACKET_SIZE, 16_777_216);
    assert_eq!(mp.get_target_peer(), 0);
    assert_eq!(mp.get_transfer_mode(), TransferMode::Reliable);
    assert_eq!(mp.get_transfer_channel(), 0);
    assert_default_getters(&mp);
    let e = mp.get_packet().unwrap_err();
    assert!(matches!(e, Error::Unavailable), "{e:?}");
    assert_eq!(e.godot_code(), 2);
    let e = mp.put_packet(b"x").unwrap_err();
    assert!(matches!(e, Error::Unconfigured), "{e:?}");
    assert_eq!(e.godot_code(), 3);
    // PacketPeer.put_packet accepts an empty buffer before any other check.
    mp.put_packet(b"").unwrap();
    assert!(mp.host().is_none());
    assert!(mp.get_peer(1).is_none());
    assert!(mp.peer_ids().is_empty());
    mp.poll();
    mp.close();
    mp.disconnect_peer(1, false);
    assert!(mp.poll_event().is_none());
    let id = mp.generate_unique_id();
    assert!((2..=0x7FFF_FFFF).contains(&id));
}

#[test]
fn create_close_create_and_already_in_use() {
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip(LOCALHOST).unwrap();
    mp.create_server(0, 4, 0, 0, 0).unwrap();
    let port = mp.host().unwrap().get_local_port().unwrap();
    for e in [
        mp.create_server(0, 4, 0, 0, 0).unwrap_err(),
        mp.create_client(LOCALHOST, port, 0, 0, 0, 0).unwrap_err(),
        mp.create_mesh(5).unwrap_err(),
    ] {
        assert!(matches!(e, Error::AlreadyInUse), "{e:?}");
        assert_eq!(e.godot_code(), 22);
    }
    // The failed calls changed nothing.
    assert!(mp.is_server());
    assert_eq!(mp.get_unique_id(), 1);
    assert_eq!(mp.host().unwrap().get_local_port().unwrap(), port);

    // Close releases the socket: the same port can be bound again at once.
    mp.close();
    assert_eq!(mp.get_unique_id(), 0);
    assert_eq!(mp.get_connection_status(), ConnectionStatus::Disconnected);
    assert!(mp.host().is_none());
    mp.create_server(port, 4, 0, 0, 0).unwrap();
    assert_eq!(mp.host().unwrap().get_local_port().unwrap(), port);
    assert_eq!(mp.get_connection_status(), ConnectionStatus::Connected);
    mp.close();

    // Client, then mesh, on the same object.
    mp.create_client(LOCALHOST, port, 0, 0, 0, 0).unwrap();
    let e = mp.create_client(LOCALHOST, port, 0, 0, 0, 0).unwrap_err();
    assert_eq!(e.godot_code(), 22);
    assert_eq!(
        mp.create_server(0, 4, 0, 0, 0).unwrap_err().godot_code(),
        22
    );
    mp.close();
    mp.create_mesh(7).unwrap();
    for e in [
        mp.create_server(0, 4, 0, 0, 0).unwrap_err(),
        mp.create_client(LOCALHOST, port, 0, 0, 0, 0).unwrap_err(),
        mp.create_mesh(8).unwrap_err(),
    ] {
        assert_eq!(e.godot_code(), 22, "{e:?}");
    }
    // create_mesh checks the id before the active state.
    let e = mp.create_mesh(0).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
    assert_eq!(mp.get_unique_id(), 7);
    mp.close();
    assert_eq!(mp.get_unique_id(), 0);
}

#[test]
fn mode_queries_and_properties_survive_close() {
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_target_peer(-42);
    mp.set_transfer_mode(TransferMode::Unreliable);
    mp.set_transfer_channel(7);

    mp.set_bind_ip(LOCALHOST).unwrap();
    mp.set_refuse_new_connections(true);
    mp.create_server(0, 2, 0, 0, 0).unwrap();
    assert!(
        !mp.is_refusing_new_connections(),
        "create_server resets refuse"
    );
    assert!(mp.is_server());
    assert!(mp.is_server_relay_supported());
    assert_eq!(mp.get_unique_id(), 1);
    assert_eq!(mp.get_max_packet_size(), 1 << 24);
    assert_default_getters(&mp);
    let port = mp.host().unwrap().get_local_port().unwrap();
    mp.set_refuse_new_connections(true);
    mp.close();
    assert!(!mp.is_refusing_new_connections(), "close resets refuse");
    assert_eq!(mp.get_target_peer(), -42);
    assert_eq!(mp.get_transfer_mode(), TransferMode::Unreliable);
    assert_eq!(mp.get_transfer_channel(), 7);

    mp.set_refuse_new_connections(true);
    mp.create_client(LOCALHOST, port, 0, 0, 0, 0).unwrap();
    assert!(
        !mp.is_refusing_new_connections(),
        "create_client resets refuse"
    );
    assert!(!mp.is_server());
    assert!(mp.is_server_relay_supported());
    let id = mp.get_unique_id();
    assert!((2..=i32::MAX).contains(&id));
    assert!(mp.host().is_some());
    assert!(mp.get_peer(1).is_some());
    assert!(mp.get_peer(id).is_none(), "a client only knows peer 1");
    mp.close();
    assert_eq!(mp.get_unique_id(), 0);

    mp.set_refuse_new_connections(true);
    mp.create_mesh(1).unwrap();
    assert!(
        mp.is_refusing_new_connections(),
        "create_mesh keeps the refuse flag"
    );
    assert!(!mp.is_server());
    assert!(!mp.is_server_relay_supported());
    assert_eq!(mp.get_unique_id(), 1);
    assert_eq!(mp.get_connection_status(), ConnectionStatus::Connected);
    assert!(mp.host().is_none(), "no host() in mesh mode");
    mp.close();

    assert_eq!(mp.get_target_peer(), -42);
    assert_eq!(mp.get_transfer_mode(), TransferMode::Unreliable);
    assert_eq!(mp.get_transfer_channel(), 7);
    assert_default_getters(&mp);
}

#[test]
fn client_connects_and_both_sides_see_ids() {
    let (mut server, port) = new_server(8);
    let mut clients = connect_clients(&mut server, port, 1, 0);
    let c = &mut clients[0];
    let cid = c.id();
    assert!((2..=i32::MAX).contains(&cid));
    assert_eq!(server.id(), 1);
    assert!(server.mp.get_peer(cid).is_some());
    assert!(server.mp.get_peer(0).is_none(), "unknown id");
    assert_eq!(server.mp.peer_ids(), vec![cid]);
    assert_eq!(
        server.mp.get_peer(cid).unwrap().get_state(),
        PeerState::Connected
    );
    assert_eq!(c.mp.get_peer(1).unwrap().get_state(), PeerState::Connected);
    assert_eq!(c.mp.get_peer(1).unwrap().get_remote_port().unwrap(), port);
}

#[test]
fn server_targets_all_one_and_all_but_one() {
    let (mut server, port) = new_server(8);
    let mut clients = connect_clients(&mut server, port, 3, 0);
    let ids: Vec<i32> = clients.iter().map(Node::id).collect();

    // (target, which clients must receive)
    let cases: [(i32, [bool; 3]); 3] = [
        (0, [true, true, true]),
        (ids[1], [false, true, false]),
        (-ids[1], [true, false, true]),
    ];
    for (k, (target, expect)) in cases.iter().enumerate() {
        let payload = format!("case {k} target {target}").into_bytes();
        server
            .send(*target, TransferMode::Reliable, 0, &payload)
            .unwrap();
        let want = expect.iter().filter(|b| **b).count();
        let mut all: Vec<&mut Node> = vec![&mut server];
        all.extend(clients.iter_mut());
        assert!(pump(&mut all, T, |ns| {
            ns[1..].iter().map(|c| c.packets.len()).sum::<usize>() >= want
        }));
        // Anything extra would show up within a short while.
        pump_for(&mut all, Duration::from_millis(100));
        for (i, c) in clients.iter_mut().enumerate() {
            let got = c.take_packets();
            if expect[i] {
                assert_eq!(
                    got,
                    vec![Pkt {
                        from: 1,
                        channel: 0,
                        mode: TransferMode::Reliable,
                        data: payload.clone()
                    }],
                    "client {i} for target {target}"
                );
            } else {
                assert!(got.is_empty(), "client {i} got {got:?} for target {target}");
            }
        }
    }

    // Clients always send to the server: target 0, 1 and -1 pass; another client's id
    // is not one of the client's peers.
    for (i, target) in [0, 1, -1].into_iter().enumerate() {
        let payload = format!("from client {i}").into_bytes();
        clients[i]
            .send(target, TransferMode::Reliable, 0, &payload)
            .unwrap();
    }
    let e = clients[0]
        .send(ids[2], TransferMode::Reliable, 0, b"relay?")
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
    assert_eq!(e.godot_code(), 31);
    {
        let mut all: Vec<&mut Node> = vec![&mut server];
        all.extend(clients.iter_mut());
        assert!(pump(&mut all, T, |ns| ns[0].packets.len() >= 3));
        pump_for(&mut all, Duration::from_millis(100));
    }
    let mut got = server.take_packets();
    got.sort_by_key(|p| p.data.clone());
    let mut want: Vec<Pkt> = (0..3)
        .map(|i| Pkt {
            from: ids[i],
            channel: 0,
            mode: TransferMode::Reliable,
            data: format!("from client {i}").into_bytes(),
        })
        .collect();
    want.sort_by_key(|p| p.data.clone());
    assert_eq!(got, want);
    for c in &mut clients {
        assert!(c.take_packets().is_empty(), "no relay between clients");
    }
}

#[test]
fn every_transfer_mode_and_custom_channel_both_ways() {
    let (mut server, port) = new_server(4);
    let mut clients = connect_clients(&mut server, port, 1, 0);
    let mut client = clients.pop().unwrap();
    let cid = client.id();

    // (mode, transfer_channel, channel the receiver reports)
    let mut cases = Vec::new();
    for mode in MODES {
        for (ch, seen) in [(0, 0), (3, 3), (-2, 0), (1, 1)] {
            cases.push((mode, ch, seen));
        }
    }
    for (k, &(mode, ch, _)) in cases.iter().enumerate() {
        let data = format!("c2s {k}").into_bytes();
        client.send(1, mode, ch, &data).unwrap();
        let data = format!("s2c {k}").into_bytes();
        server.send(cid, mode, ch, &data).unwrap();
    }
    let n = cases.len();
    assert!(pump(&mut [&mut server, &mut client], T, |ns| {
        ns[0].packets.len() >= n && ns[1].packets.len() >= n
    }));
    let by_data = |pkts: Vec<Pkt>| -> BTreeMap<Vec<u8>, Pkt> {
        pkts.into_iter().map(|p| (p.data.clone(), p)).collect()
    };
    let at_server = by_data(server.take_packets());
    let at_client = by_data(client.take_packets());
    for (k, &(mode, ch, seen)) in cases.iter().enumerate() {
        let p = &at_server[&format!("c2s {k}").into_bytes()];
        assert_eq!(
            (p.from, p.channel, p.mode),
            (cid, seen, mode),
            "client→server mode {mode:?} channel {ch}"
        );
        let p = &at_client[&format!("s2c {k}").into_bytes()];
        assert_eq!(
            (p.from, p.channel, p.mode),
            (1, seen, mode),
            "server→client mode {mode:?} channel {ch}"
        );
    }

    // Large packets: reliable ones arrive whole; an unreliable payload larger than a
    // fragment travels as unreliable fragments and is reported as UNRELIABLE_ORDERED
    // (Godot quirk, spec §6.6 / §11.7).
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mid: Vec<u8> = (0..4000u32).map(|i| (i * 13) as u8).collect();
    client.send(1, TransferMode::Reliable, 2, &big).unwrap();
    client.send(1, TransferMode::Unreliable, 0, &mid).unwrap();
    server
        .send(cid, TransferMode::UnreliableOrdered, 4, &mid)
        .unwrap();
    assert!(pump(&mut [&mut server, &mut client], T, |ns| {
        ns[0].packets.len() >= 2 && !ns[1].packets.is_empty()
    }));
    let at_server = server.take_packets();
    let p = at_server
        .iter()
        .find(|p| p.data.len() == big.len())
        .unwrap();
    assert_eq!(
        (p.from, p.channel, p.mode),
        (cid, 2, TransferMode::Reliable)
    );
    assert!(p.data == big);
    let p = at_server
        .iter()
        .find(|p| p.data.len() == mid.len())
        .unwrap();
    assert_eq!(
        (p.from, p.channel, p.mode),
        (cid, 0, TransferMode::UnreliableOrdered)
    );
    assert!(p.data == mid);
    let p = &client.take_packets()[0];
    assert_eq!(
        (p.from, p.channel, p.mode),
        (1, 4, TransferMode::UnreliableOrdered)
    );
    assert!(p.data == mid);

    // The getters describe the next packet, not the last one read.
    server
        .send(cid, TransferMode::Reliable, 5, b"first")
        .unwrap();
    server
        .send(cid, TransferMode::Unreliable, 0, b"second")
        .unwrap();
    let end = Instant::now() + T;
    while client.mp.get_available_packet_count() < 2 && Instant::now() < end {
        server.mp.poll();
        client.mp.poll();
        thread::sleep(Duration::from_millis(1));
    }
    let mp = &mut client.mp;
    assert_eq!(mp.get_available_packet_count(), 2);
    // Arrival order of the two is not fixed (different channels): check each in turn.
    for _ in 0..2 {
        let (peer, channel, mode) = (
            mp.get_packet_peer(),
            mp.get_packet_channel(),
            mp.get_packet_mode(),
        );
        let data = mp.get_packet().unwrap();
        match &data[..] {
            b"first" => assert_eq!((peer, channel, mode), (1, 5, TransferMode::Reliable)),
            b"second" => assert_eq!((peer, channel, mode), (1, 0, TransferMode::Unreliable)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_default_getters(mp);
    assert_eq!(mp.get_packet().unwrap_err().godot_code(), 2);
}

#[test]
fn refuse_new_connections_keeps_serving_others() {
    let (mut server, port) = new_server(8);
    let mut clients = connect_clients(&mut server, port, 1, 0);
    let mut a = clients.pop().unwrap();
    let aid = a.id();

    server.mp.set_refuse_new_connections(true);
    assert!(server.mp.is_refusing_new_connections());
    let mut b = new_client(port, 0);
    // Short timeouts so the refused client gives up quickly (limit ≤ min ≤ max).
    b.mp.get_peer(1).unwrap().set_timeout(4, 400, 800).unwrap();
    let start = Instant::now();
    let mut sent = 0;
    let ok = pump(&mut [&mut server, &mut a, &mut b], T, |ns| {
        ns[2].mp.get_connection_status() == ConnectionStatus::Disconnected
    });
    assert!(ok, "the refused client never gave up");
    eprintln!("refused client gave up after {:?}", start.elapsed());
    // The refusal reaches the ENet host, which never answers the CONNECT: the refused
    // client never connects, so it sees no transient `peer_connected` followed by a
    // disconnect (what Godot does, spec §6.7, §11.8, godotengine/godot#28740, #45276).
    assert_eq!(b.take_events(), vec![]);
    assert_eq!(b.mp.next_event(), None);
    assert_eq!(b.mp.get_unique_id(), 0);
    assert!(
        server.take_events().is_empty(),
        "no event for a refused peer"
    );
    assert_eq!(server.mp.peer_ids(), vec![aid]);

    // The established client is still served, both ways.
    for _ in 0..3 {
        sent += 1;
        a.send(1, TransferMode::Reliable, 0, b"still here").unwrap();
        server
            .send(aid, TransferMode::Reliable, 0, b"hello a")
            .unwrap();
    }
    assert!(pump(&mut [&mut server, &mut a], T, |ns| {
        ns[0].packets.len() >= sent && ns[1].packets.len() >= sent
    }));
    assert!(server.take_packets().iter().all(|p| p.from == aid));
    a.take_packets();

    // Accepting again lets a new client in.
    server.mp.set_refuse_new_connections(false);
    let mut c = new_client(port, 0);
    assert!(pump(&mut [&mut server, &mut a, &mut c], T, |ns| {
        !ns[0].events.is_empty() && !ns[2].events.is_empty()
    }));
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerConnected(c.id())]
    );
    assert_eq!(c.take_events(), vec![MultiplayerEvent::PeerConnected(1)]);
}

#[test]
fn disconnect_peer_graceful() {
    let (mut server, port) = new_server(4);
    let mut clients = connect_clients(&mut server, port, 2, 0);
    let mut keep = clients.pop().unwrap();
    let mut c = clients.pop().unwrap();
    let cid = c.id();
    server.mp.disconnect_peer(cid, false);
    // Not forced: still listed until the DISCONNECT event.
    assert!(server.mp.peer_ids().contains(&cid));
    assert!(pump(&mut [&mut server, &mut c, &mut keep], T, |ns| {
        !ns[0].events.is_empty() && !ns[1].events.is_empty()
    }));
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerDisconnected(cid)]
    );
    assert_eq!(c.take_events(), vec![MultiplayerEvent::PeerDisconnected(1)]);
    assert_eq!(c.mp.get_connection_status(), ConnectionStatus::Disconnected);
    assert_eq!(c.mp.get_unique_id(), 0);
    assert_eq!(server.mp.peer_ids(), vec![keep.id()]);
    assert!(keep.take_events().is_empty());
    let e = server
        .send(cid, TransferMode::Reliable, 0, b"gone")
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
    // Unknown ids are ignored.
    server.mp.disconnect_peer(cid, false);
    server.mp.disconnect_peer(12345, true);
    assert_eq!(server.mp.peer_ids(), vec![keep.id()]);

    // A client disconnecting the server gracefully.
    let kid = keep.id();
    keep.mp.disconnect_peer(1, false);
    assert!(pump(&mut [&mut server, &mut keep], T, |ns| {
        !ns[0].events.is_empty() && !ns[1].events.is_empty()
    }));
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerDisconnected(kid)]
    );
    assert_eq!(
        keep.take_events(),
        vec![MultiplayerEvent::PeerDisconnected(1)]
    );
    assert_eq!(
        keep.mp.get_connection_status(),
        ConnectionStatus::Disconnected
    );
}

#[test]
fn disconnect_peer_forced() {
    let (mut server, port) = new_server(4);
    let mut clients = connect_clients(&mut server, port, 2, 0);
    let mut b = clients.pop().unwrap();
    let mut a = clients.pop().unwrap();
    let (aid, bid) = (a.id(), b.id());

    server.mp.disconnect_peer(aid, true);
    assert_eq!(server.mp.peer_ids(), vec![bid], "forced: removed at once");
    assert!(pump(&mut [&mut server, &mut a, &mut b], T, |ns| {
        !ns[1].events.is_empty()
    }));
    assert_eq!(a.take_events(), vec![MultiplayerEvent::PeerDisconnected(1)]);
    assert_eq!(a.mp.get_connection_status(), ConnectionStatus::Disconnected);
    pump_for(&mut [&mut server, &mut b], Duration::from_millis(300));
    assert!(
        server.take_events().is_empty(),
        "no PeerDisconnected after a forced disconnect"
    );

    // Forced on the client side: closed at once, silently; the server hears of it.
    b.mp.disconnect_peer(1, true);
    assert_eq!(b.mp.get_connection_status(), ConnectionStatus::Disconnected);
    assert_eq!(b.mp.get_unique_id(), 0);
    assert!(pump(&mut [&mut server, &mut b], T, |ns| !ns[0]
        .events
        .is_empty()));
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerDisconnected(bid)]
    );
    assert!(b.take_events().is_empty());
    assert!(server.mp.peer_ids().is_empty());
}

#[test]
fn close_makes_the_other_side_see_disconnect() {
    let (mut server, port) = new_server(4);
    let mut clients = connect_clients(&mut server, port, 3, 0);
    let mut c0 = clients.remove(0);
    let c0id = c0.id();
    c0.mp.close();
    assert!(pump(&mut [&mut server], T, |ns| !ns[0].events.is_empty()));
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerDisconnected(c0id)]
    );
    c0.step();
    assert!(c0.take_events().is_empty(), "close() emits nothing");

    server.mp.close();
    assert_eq!(
        server.mp.get_connection_status(),
        ConnectionStatus::Disconnected
    );
    let mut all: Vec<&mut Node> = clients.iter_mut().collect();
    assert!(pump(&mut all, T, |ns| ns
        .iter()
        .all(|c| !c.events.is_empty())));
    for c in &mut clients {
        assert_eq!(c.take_events(), vec![MultiplayerEvent::PeerDisconnected(1)]);
        assert_eq!(c.mp.get_connection_status(), ConnectionStatus::Disconnected);
    }
    server.step();
    assert!(server.take_events().is_empty(), "close() emits nothing");
}

#[test]
fn mesh_of_three() {
    let ids = [11, 22, 33];
    let mut nodes: Vec<Node> = ids
        .iter()
        .map(|&id| {
            let mut mp = EnetMultiplayerPeer::new();
            mp.create_mesh(id).unwrap();
            Node::new(mp)
        })
        .collect();
    // A host without a connected peer is rejected.
    let mut lonely = EnetConnection::new();
    lonely.create_host(1, 0, 0, 0).unwrap();
    let e = nodes[0].mp.add_mesh_peer(99, lonely).unwrap_err();
    assert!(matches!(e.error, Error::InvalidParameter(_)), "{e:?}");

    for (i, j) in [(0, 1), (0, 2), (1, 2)] {
        let (hi, hj) = mesh_link();
        nodes[i].mp.add_mesh_peer(ids[j], hi).unwrap();
        nodes[j].mp.add_mesh_peer(ids[i], hj).unwrap();
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        // add_mesh_peer emits peer_connected synchronously.
        let want: Vec<MultiplayerEvent> = ids
            .iter()
            .filter(|&&x| x != ids[i])
            .map(|&x| MultiplayerEvent::PeerConnected(x))
            .collect();
        let mut got = Vec::new();
        while let Some(e) = n.mp.poll_event() {
            got.push(e);
        }
        got.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(got, want, "node {}", ids[i]);
        assert!(!n.mp.is_server());
        assert!(!n.mp.is_server_relay_supported());
        assert!(n.mp.host().is_none());
        assert_eq!(
            n.mp.get_peer(ids[(i + 1) % 3]).unwrap().get_state(),
            PeerState::Connected
        );
    }

    // Everyone broadcasts; node 0 sends to 33 only and to all but 22.
    for (i, n) in nodes.iter_mut().enumerate() {
        for mode in MODES {
            let data = format!("{} {mode:?} all", ids[i]).into_bytes();
            n.send(0, mode, 2, &data).unwrap();
        }
    }
    nodes[0]
        .send(33, TransferMode::Reliable, 0, b"only 33")
        .unwrap();
    nodes[0]
        .send(-22, TransferMode::Reliable, 0, b"not 22")
        .unwrap();
    let e = nodes[0]
        .send(44, TransferMode::Reliable, 0, b"nobody")
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
    {
        let mut all: Vec<&mut Node> = nodes.iter_mut().collect();
        assert!(pump(&mut all, T, |ns| {
            ns[0].packets.len() >= 6 && ns[1].packets.len() >= 6 && ns[2].packets.len() >= 8
        }));
        pump_for(&mut all, Duration::from_millis(100));
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        let got = n.take_packets();
        let mut want = Vec::new();
        for (j, &from) in ids.iter().enumerate() {
            if j == i {
                continue;
            }
            for mode in MODES {
                want.push(Pkt {
                    from,
                    channel: 2,
                    mode,
                    data: format!("{from} {mode:?} all").into_bytes(),
                });
            }
        }
        if ids[i] == 33 {
            for d in ["only 33", "not 22"] {
                want.push(Pkt {
                    from: 11,
                    channel: 0,
                    mode: TransferMode::Reliable,
                    data: d.as_bytes().to_vec(),
                });
            }
        }
        let key = |p: &Pkt| p.data.clone();
        let (mut got, mut want) = (got, want);
        got.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(got, want, "node {}", ids[i]);
    }

    // Node 33 leaves: the others see PeerDisconnected(33); a graceful disconnect_peer
    // between 11 and 22 gives PeerDisconnected on both.
    let mut n33 = nodes.pop().unwrap();
    n33.mp.close();
    {
        let mut all: Vec<&mut Node> = nodes.iter_mut().collect();
        assert!(pump(&mut all, T, |ns| ns
            .iter()
            .all(|n| !n.events.is_empty())));
    }
    for n in &mut nodes {
        assert_eq!(
            n.take_events(),
            vec![MultiplayerEvent::PeerDisconnected(33)]
        );
        assert_eq!(n.mp.peer_ids().len(), 1);
    }
    nodes[0].mp.disconnect_peer(22, false);
    {
        let mut all: Vec<&mut Node> = nodes.iter_mut().collect();
        assert!(pump(&mut all, T, |ns| ns
            .iter()
            .all(|n| !n.events.is_empty())));
    }
    assert_eq!(
        nodes[0].take_events(),
        vec![MultiplayerEvent::PeerDisconnected(22)]
    );
    assert_eq!(
        nodes[1].take_events(),
        vec![MultiplayerEvent::PeerDisconnected(11)]
    );
    assert!(nodes.iter().all(|n| n.mp.peer_ids().is_empty()));
    assert_eq!(
        nodes[0].mp.get_connection_status(),
        ConnectionStatus::Connected,
        "a mesh stays up without peers"
    );
}

#[test]
fn client_notices_a_vanished_server() {
    let (mut server, port) = new_server(4);
    let mut clients = connect_clients(&mut server, port, 1, 0);
    let mut c = clients.pop().unwrap();
    let cid = c.id();
    // Godot validates limit ≤ min ≤ max.
    let e =
        c.mp.get_peer(1)
            .unwrap()
            .set_timeout(5000, 1000, 3000)
            .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
    c.mp.get_peer(1).unwrap().set_timeout(4, 500, 1000).unwrap();

    // The server's host disappears without sending anything.
    server.mp.host().unwrap().destroy().unwrap();
    let start = Instant::now();
    assert!(pump(&mut [&mut c], T, |ns| !ns[0].events.is_empty()));
    let took = start.elapsed();
    eprintln!("client noticed the vanished server after {took:?}");
    assert_eq!(c.take_events(), vec![MultiplayerEvent::PeerDisconnected(1)]);
    assert_eq!(c.mp.get_connection_status(), ConnectionStatus::Disconnected);
    assert_eq!(c.mp.get_unique_id(), 0);
    assert!(took >= Duration::from_millis(400), "too early: {took:?}");

    // The server's wrappers went inactive with the host: it reports the peer gone
    // (§6.7 _disconnect_inactive_peers) and closes on the dead host.
    server.step();
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerDisconnected(cid)]
    );
    assert_eq!(
        server.mp.get_connection_status(),
        ConnectionStatus::Disconnected
    );
}

#[test]
fn failed_connect_closes_silently() {
    // A UDP socket that never answers.
    let silent = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = new_client(port, 0);
    c.mp.get_peer(1).unwrap().set_timeout(4, 300, 600).unwrap();
    assert!(pump(&mut [&mut c], T, |ns| ns[0]
        .mp
        .get_connection_status()
        == ConnectionStatus::Disconnected));
    assert!(c.take_events().is_empty(), "no signal for a failed connect");
    assert_eq!(c.mp.get_unique_id(), 0);
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    // Bad arguments.
    let mut mp = EnetMultiplayerPeer::new();
    for id in [0, -1, i32::MIN] {
        let e = mp.create_mesh(id).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
        assert_eq!(e.godot_code(), 31);
    }
    let mut h = EnetConnection::new();
    h.create_host(1, 0, 0, 0).unwrap();
    let e = mp.add_mesh_peer(2, h).unwrap_err();
    assert!(matches!(e.error, Error::Unconfigured), "{e:?}");
    assert_eq!(e.godot_code(), 3);
    assert!(mp.set_bind_ip("not an ip").is_err());
    mp.set_bind_ip(LOCALHOST).unwrap();
    for n in [0, 4096] {
        let e = mp.create_server(0, n, 0, 0, 0).unwrap_err();
        assert_eq!(e.godot_code(), 31, "max_clients {n}: {e:?}");
        assert_eq!(mp.get_connection_status(), ConnectionStatus::Disconnected);
    }
    // Godot's create_client turns any connect_to_host failure into ERR_CANT_CREATE.
    let e = mp.create_client(LOCALHOST, 0, 0, 0, 0, 0).unwrap_err();
    assert_eq!(e.godot_code(), 20, "{e:?}");
    assert_eq!(mp.get_unique_id(), 0);

    let (mut server, port) = new_server(4);
    let mut h = EnetConnection::new();
    h.create_host(1, 0, 0, 0).unwrap();
    let e = server.mp.add_mesh_peer(2, h).unwrap_err();
    assert_eq!(e.godot_code(), 3, "add_mesh_peer on a server: {e:?}");
    // No peers yet: a broadcast is fine, an unknown target is not.
    server
        .send(0, TransferMode::Reliable, 0, b"nobody")
        .unwrap();
    for t in [77, -77, 1] {
        let e = server.send(t, TransferMode::Reliable, 0, b"x").unwrap_err();
        assert!(matches!(e, Error::InvalidParameter(_)), "target {t}: {e:?}");
    }

    // put_packet before the connection completes.
    let mut c = new_client(port, 2); // 2 user channels: ENet channels 0..=3
    let e = c.send(1, TransferMode::Reliable, 0, b"early").unwrap_err();
    assert!(matches!(e, Error::Unconfigured), "{e:?}");
    let cid = c.id();
    assert!(pump(&mut [&mut server, &mut c], T, |ns| {
        !ns[0].events.is_empty() && !ns[1].events.is_empty()
    }));
    assert_eq!(
        server.take_events(),
        vec![MultiplayerEvent::PeerConnected(cid)]
    );
    c.take_events();
    assert_eq!(c.mp.get_peer(1).unwrap().get_channels().unwrap(), 4);

    // Out-of-range channels: an error on both sides, no panic, nothing delivered.
    for ch in [3, 4, 252, 253, 254, 300, i32::MAX] {
        for mode in MODES {
            assert!(
                c.send(1, mode, ch, b"bad channel").is_err(),
                "client channel {ch} {mode:?}"
            );
            assert!(
                server.send(cid, mode, ch, b"bad channel").is_err(),
                "server channel {ch} {mode:?}"
            );
            assert!(
                server.send(0, mode, ch, b"bad channel").is_err(),
                "server broadcast channel {ch} {mode:?}"
            );
        }
    }
    // In range (user channel 2 = ENet channel 3) it works.
    c.send(1, TransferMode::Reliable, 2, b"ok").unwrap();
    server.send(cid, TransferMode::Reliable, 2, b"ok").unwrap();
    assert!(pump(&mut [&mut server, &mut c], T, |ns| {
        !ns[0].packets.is_empty() && !ns[1].packets.is_empty()
    }));
    pump_for(&mut [&mut server, &mut c], Duration::from_millis(100));
    let s = server.take_packets();
    let k = c.take_packets();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(k.len(), 1, "{k:?}");
    assert_eq!(
        (s[0].from, s[0].channel, &s[0].data[..]),
        (cid, 2, &b"ok"[..])
    );
    assert_eq!(
        (k[0].from, k[0].channel, &k[0].data[..]),
        (1, 2, &b"ok"[..])
    );

    // An empty packet is accepted and nothing is sent (PacketPeer.put_packet, spec §3).
    c.send(1, TransferMode::Reliable, 0, b"").unwrap();
    server.send(cid, TransferMode::Unreliable, 0, b"").unwrap();
    pump_for(&mut [&mut server, &mut c], Duration::from_millis(100));
    assert!(server.take_packets().is_empty(), "empty packet delivered");
    assert!(c.take_packets().is_empty(), "empty packet delivered");
    assert!(server.take_events().is_empty());
    assert!(c.take_events().is_empty());
}

#[test]
fn raw_enet_clients_with_bad_ids_are_refused() {
    let (mut server, port) = new_server(8);
    let mut clients = connect_clients(&mut server, port, 1, 0);
    let mut good = clients.pop().unwrap();
    let gid = good.id();

    // Raw ENet clients sending Godot ids 0, 1, a duplicate, and one ≥ 2³¹.
    let bad_ids = [0u32, 1, gid as u32, 0x8000_0005];
    let mut raws: Vec<(EnetConnection, enet::godot::PeerHandle)> = bad_ids
        .iter()
        .map(|&data| {
            let mut h = EnetConnection::new();
            h.create_host_bound(LOCALHOST, 0, 1, 0, 0, 0).unwrap();
            let p = h.connect_to_host(LOCALHOST, port, 4, data).unwrap();
            h.peer(p).set_timeout(4, 400, 800).unwrap();
            (h, p)
        })
        .collect();
    let mut connected = vec![false; raws.len()];
    let mut gone = vec![false; raws.len()];
    let end = Instant::now() + T;
    while gone.iter().any(|g| !g) && Instant::now() < end {
        server.step();
        good.step();
        for (k, (h, _)) in raws.iter_mut().enumerate() {
            loop {
                let ev = h.service(Duration::ZERO).unwrap();
                match ev.kind {
                    enet::godot::EventType::None => break,
                    enet::godot::EventType::Connect => connected[k] = true,
                    enet::godot::EventType::Disconnect => gone[k] = true,
                    _ => {}
                }
            }
        }
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(connected, vec![true; raws.len()], "transient connects");
    assert_eq!(gone, vec![true; raws.len()], "refused peers time out");
    assert!(
        server.take_events().is_empty(),
        "no PeerConnected for bad ids"
    );
    assert_eq!(server.mp.peer_ids(), vec![gid]);
    for (h, p) in &mut raws {
        assert!(!h.peer(*p).is_active());
    }
    // Still serving the good client.
    good.send(1, TransferMode::Reliable, 0, b"ping").unwrap();
    assert!(pump(&mut [&mut server, &mut good], T, |ns| !ns[0]
        .packets
        .is_empty()));
    assert_eq!(server.take_packets()[0].from, gid);
}

#[test]
fn full_server_ignores_extra_client() {
    let (mut server, port) = new_server(1);
    let mut clients = connect_clients(&mut server, port, 1, 0);
    let mut first = clients.pop().unwrap();
    // No free ENet slot: the CONNECT is ignored and the client times out silently
    // (a failed connect emits no signal, spec §6.7).
    let mut extra = new_client(port, 0);
    extra
        .mp
        .get_peer(1)
        .unwrap()
        .set_timeout(4, 300, 600)
        .unwrap();
    assert!(pump(&mut [&mut server, &mut first, &mut extra], T, |ns| {
        ns[2].mp.get_connection_status() == ConnectionStatus::Disconnected
    }));
    assert!(extra.take_events().is_empty());
    assert!(server.take_events().is_empty());
    assert_eq!(server.mp.peer_ids(), vec![first.id()]);
    first.send(1, TransferMode::Reliable, 0, b"still").unwrap();
    assert!(pump(&mut [&mut server, &mut first], T, |ns| !ns[0]
        .packets
        .is_empty()));
}

#[test]
fn server_max_channels_limits_user_channels() {
    // max_channels user channels on top of the two system ones (what Godot documents;
    // Godot 4.3 itself passes the arguments shifted, see create_server's docs).
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip(LOCALHOST).unwrap();
    mp.create_server(0, 4, 2, 0, 0).unwrap();
    let port = mp.host().unwrap().get_local_port().unwrap();
    let mut server = Node::new(mp);
    let mut clients = connect_clients(&mut server, port, 1, 6);
    let mut c = clients.pop().unwrap();
    let cid = c.id();
    assert_eq!(c.mp.get_peer(1).unwrap().get_channels().unwrap(), 4);
    assert_eq!(server.mp.get_peer(cid).unwrap().get_channels().unwrap(), 4);
    assert!(c.send(1, TransferMode::Reliable, 3, b"x").is_err());
    assert!(server.send(cid, TransferMode::Reliable, 3, b"x").is_err());
    c.send(1, TransferMode::UnreliableOrdered, 2, b"ok")
        .unwrap();
    assert!(pump(&mut [&mut server, &mut c], T, |ns| !ns[0]
        .packets
        .is_empty()));
    let p = &server.packets[0];
    assert_eq!(
        (p.from, p.channel, p.mode, &p.data[..]),
        (cid, 2, TransferMode::UnreliableOrdered, &b"ok"[..])
    );
}
