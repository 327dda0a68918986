//! Any public call of `EnetMultiplayerPeer`, with any arguments, in any order, never panics
//! (issue 8, item 7). Two peers on loopback (a server and a client, each of which the
//! sequence may close and re-create in any mode); targets, channels and ids range over all
//! of `i32`, including `i32::MIN` with peer 2³¹ − 1 connected.

use std::time::Duration;

use enet::godot::EnetConnection;
use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerPeer, TransferMode};
use proptest::prelude::*;

const HOSTS: [&str; 5] = ["127.0.0.1", "::1", "localhost", "", " 127.0.0.1 "];
const BINDS: [&str; 5] = ["127.0.0.1", "*", "::1", "x", ""];
const MODES: [TransferMode; 3] = [
    TransferMode::Unreliable,
    TransferMode::UnreliableOrdered,
    TransferMode::Reliable,
];

#[derive(Clone, Debug)]
enum Op {
    BindIp(u8),
    Server(usize, usize, u32),
    Client(u8, bool, usize, u32, Option<u32>),
    Mesh(i32),
    AddMeshPeer(i32, bool),
    Poll(u8),
    Put(usize),
    Get,
    Mode(u8),
    Channel(i32),
    Target(i32),
    Close,
    DisconnectPeer(i32, bool),
    Refuse(bool),
    Queries(i32),
}

fn interesting_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(-i32::MAX),
        -3i32..4,
        Just(254),
        Just(253),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::BindIp),
        (any::<usize>(), any::<usize>(), any::<u32>()).prop_map(|(n, c, bw)| Op::Server(
            n % 5000,
            c % 300,
            bw
        )),
        (
            any::<u8>(),
            any::<bool>(),
            any::<usize>(),
            any::<u32>(),
            proptest::option::of(prop_oneof![any::<u32>(), Just(i32::MAX as u32), 0u32..3])
        )
            .prop_map(|(h, real, c, bw, id)| Op::Client(h, real, c % 300, bw, id)),
        interesting_i32().prop_map(Op::Mesh),
        (interesting_i32(), any::<bool>()).prop_map(|(id, made)| Op::AddMeshPeer(id, made)),
        (0u8..3).prop_map(Op::Poll),
        (0usize..3000).prop_map(Op::Put),
        Just(Op::Get),
        any::<u8>().prop_map(Op::Mode),
        interesting_i32().prop_map(Op::Channel),
        interesting_i32().prop_map(Op::Target),
        Just(Op::Close),
        (interesting_i32(), any::<bool>()).prop_map(|(id, f)| Op::DisconnectPeer(id, f)),
        any::<bool>().prop_map(Op::Refuse),
        interesting_i32().prop_map(Op::Queries),
    ]
}

fn apply(mp: &mut EnetMultiplayerPeer, server_port: u16, op: &Op) {
    match *op {
        Op::BindIp(k) => {
            let _ = mp.set_bind_ip(BINDS[k as usize % BINDS.len()]);
        }
        Op::Server(n, c, bw) => {
            // Port 0 only: fixed ports could collide with other tests.
            let _ = mp.create_server(0, n, c, bw, bw);
        }
        Op::Client(h, real, c, bw, id) => {
            let port = if real { server_port } else { 9 };
            let host = HOSTS[h as usize % HOSTS.len()];
            let _ = match id {
                Some(id) => mp.create_client_with_id(host, port, c, bw, bw, 0, id),
                None => mp.create_client(host, port, c, bw, bw, 0),
            };
        }
        Op::Mesh(id) => {
            let _ = mp.create_mesh(id);
        }
        Op::AddMeshPeer(id, made) => {
            let mut h = EnetConnection::new();
            if made {
                let _ = h.create_host(1, 0, 0, 0);
            }
            let _ = mp.add_mesh_peer(id, h);
        }
        Op::Poll(ms) => {
            if ms == 0 {
                mp.poll()
            } else {
                mp.poll_with_timeout(Duration::from_millis(ms as u64))
            }
            while mp.poll_event().is_some() {}
        }
        Op::Put(n) => {
            let _ = mp.put_packet(&vec![9; n]);
        }
        Op::Get => {
            let _ = (
                mp.get_packet_peer(),
                mp.get_packet_channel(),
                mp.get_packet_mode(),
                mp.get_packet(),
            );
        }
        Op::Mode(k) => mp.set_transfer_mode(MODES[k as usize % 3]),
        Op::Channel(c) => mp.set_transfer_channel(c),
        Op::Target(t) => mp.set_target_peer(t),
        Op::Close => mp.close(),
        Op::DisconnectPeer(id, force) => mp.disconnect_peer(id, force),
        Op::Refuse(r) => mp.set_refuse_new_connections(r),
        Op::Queries(id) => {
            let _ = (
                mp.get_available_packet_count(),
                mp.get_max_packet_size(),
                mp.get_transfer_mode(),
                mp.get_transfer_channel(),
                mp.get_target_peer(),
                mp.get_connection_status(),
                mp.get_unique_id(),
                mp.is_server(),
                mp.is_server_relay_supported(),
                mp.is_refusing_new_connections(),
                mp.peer_ids(),
                mp.host().map(|h| h.get_peers().len()),
            );
            if let Some(mut p) = mp.get_peer(id) {
                let _ = (p.get_state(), p.get_remote_port(), p.ping());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn multiplayer_any_call_sequence(
        ops in proptest::collection::vec((any::<bool>(), op()), 1..40),
    ) {
        let mut server = EnetMultiplayerPeer::new();
        server.set_bind_ip("127.0.0.1").unwrap();
        server.create_server(0, 4, 0, 0, 0).unwrap();
        let port = server.host().unwrap().get_local_port().unwrap();
        // The client takes the largest id, so i32::MIN targets meet peer 2³¹ − 1.
        let mut client = EnetMultiplayerPeer::new();
        client
            .create_client_with_id("127.0.0.1", port, 0, 0, 0, 0, i32::MAX as u32)
            .unwrap();
        for _ in 0..20 {
            server.poll_with_timeout(Duration::from_millis(1));
            client.poll_with_timeout(Duration::from_millis(1));
        }
        for (which, op) in &ops {
            let mp = if *which { &mut server } else { &mut client };
            apply(mp, port, op);
        }
        for _ in 0..3 {
            server.poll();
            client.poll();
        }
        // Whatever happened, every id a server or client tracks has an ENet peer behind it.
        for mp in [&mut server, &mut client] {
            let ids = mp.peer_ids();
            if let Some(h) = mp.host() {
                prop_assert!(ids.len() <= h.get_peers().len(), "{:?}", ids);
            }
        }
    }
}
