//! Two Rust SceneMultiplayer clients through a Rust SceneMultiplayer server over real ENet:
//! announcement, relay, RPC targets, send_bytes, auth (accept, reject, timeout), DEL_PEER.

mod support;

use std::time::Duration;

use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerPeer, TransferMode};
use scene_multiplayer::{NodeRpcs, RpcConfig, SceneError, SceneEvent, Variant};
use support::*;

fn lobby() -> NodeRpcs {
    NodeRpcs::new(vec![
        RpcConfig::any_peer("chat"),
        RpcConfig::any_peer("shout").call_local(true),
        RpcConfig::new("kick"),
    ])
}

fn client(port: u16) -> Sm {
    let mut peer = EnetMultiplayerPeer::new();
    peer.create_client("127.0.0.1", port, 0, 0, 0, 0).unwrap();
    let mut c = Sm::new(peer);
    c.mp.declare_node("Lobby", lobby());
    c
}

/// Server + A + B, all admitted and announced.
fn trio() -> (Sm, Sm, Sm) {
    let (peer, port) = server_peer();
    let mut s = Sm::new(peer);
    s.mp.declare_node("Lobby", lobby());
    let mut a = client(port);
    assert!(pump_until!(a.ev.contains(&SceneEvent::ConnectedToServer); s, a));
    let mut b = client(port);
    let (ia, ib) = (a.mp.get_unique_id(), b.mp.get_unique_id());
    assert!(pump_until!(
        a.ev.contains(&SceneEvent::PeerConnected(ib)) && b.ev.contains(&SceneEvent::PeerConnected(ia));
        s, a, b));
    s.ev.clear();
    a.ev.clear();
    b.ev.clear();
    (s, a, b)
}

fn rpc_ev(from: i32, method: &str, args: Vec<Variant>) -> SceneEvent {
    SceneEvent::Rpc {
        from,
        path: "Lobby".into(),
        method: method.into(),
        args,
    }
}

fn rpcs(ev: &[SceneEvent]) -> Vec<&SceneEvent> {
    ev.iter()
        .filter(|e| matches!(e, SceneEvent::Rpc { .. }))
        .collect()
}

#[test]
fn announcement_lists_every_peer() {
    let (s, a, b) = trio();
    let (ia, ib) = (a.mp.get_unique_id(), b.mp.get_unique_id());
    assert_eq!(s.mp.get_peers(), &[ia, ib]);
    assert_eq!(a.mp.get_peers(), &[1, ib]);
    assert_eq!(b.mp.get_peers(), &[1, ia]);
}

#[test]
fn rpc_to_all_one_and_all_but_one() {
    let (mut s, mut a, mut b) = trio();
    let (ia, ib) = (a.mp.get_unique_id(), b.mp.get_unique_id());
    let hi = vec![Variant::String("hi".into()), Variant::Int(7)];
    // To all (from a client, through the relay for B).
    a.mp.rpc("Lobby", "chat", &hi).unwrap();
    let want = rpc_ev(ia, "chat", hi.clone());
    assert!(pump_until!(s.ev.contains(&want) && b.ev.contains(&want); s, a, b));
    // To one client: only B.
    a.mp.rpc_id(ib, "Lobby", "chat", &[Variant::Int(1)])
        .unwrap();
    assert!(pump_until!(b.ev.contains(&rpc_ev(ia, "chat", vec![Variant::Int(1)])); s, a, b));
    // All but A, from the server: B only.
    s.mp.rpc_id(-ia, "Lobby", "chat", &[Variant::Int(2)])
        .unwrap();
    assert!(pump_until!(b.ev.contains(&rpc_ev(1, "chat", vec![Variant::Int(2)])); s, a, b));
    // All but B, from A: the server only.
    a.mp.rpc_id(-ib, "Lobby", "chat", &[Variant::Int(3)])
        .unwrap();
    assert!(pump_until!(s.ev.contains(&rpc_ev(ia, "chat", vec![Variant::Int(3)])); s, a, b));
    // call_local: the caller gets it too.
    b.mp.rpc("Lobby", "shout", &[]).unwrap();
    let shout = rpc_ev(ib, "shout", vec![]);
    assert!(pump_until!(s.ev.contains(&shout) && a.ev.contains(&shout); s, a, b));
    assert!(b.ev.contains(&shout));
    pump_for!(50; s, a, b);
    assert_eq!(rpcs(&s.ev).len(), 3, "{:?}", s.ev);
    assert_eq!(
        rpcs(&a.ev),
        vec![&shout],
        "A gets neither its own calls nor the -A call"
    );
    assert_eq!(rpcs(&b.ev).len(), 4, "{:?}", b.ev);
    // Authority-only RPC from a client is refused (and counted) by the server.
    a.mp.rpc_id(1, "Lobby", "kick", &[]).unwrap();
    assert!(pump_until!(s.mp.drops().unauthorized == 1; s, a, b));
    // But the server (authority 1) may call it on the clients.
    s.mp.rpc("Lobby", "kick", &[]).unwrap();
    let kick = rpc_ev(1, "kick", vec![]);
    assert!(pump_until!(a.ev.contains(&kick) && b.ev.contains(&kick); s, a, b));
    // Paths were confirmed with matching checksums.
    assert_eq!(a.mp.path_confirmed("Lobby", 1), Some(true));
    assert_eq!(a.mp.path_confirmed("Lobby", ib), Some(true));
    assert!(matches!(
        a.mp.rpc_id(ia, "Lobby", "chat", &[]),
        Err(SceneError::CallOnSelf)
    ));
    assert!(matches!(
        a.mp.rpc_id(1, "Nope", "chat", &[]),
        Err(SceneError::UnknownNode(_))
    ));
    assert!(matches!(
        a.mp.rpc_id(1, "Lobby", "nope", &[]),
        Err(SceneError::UnknownMethod { .. })
    ));
    assert!(matches!(
        a.mp.rpc_id(999, "Lobby", "chat", &[]),
        Err(SceneError::UnknownPeer(999))
    ));
}

#[test]
fn checksum_mismatch_is_reported_but_calls_still_work() {
    let (mut s, mut a, mut b) = trio();
    let ia = a.mp.get_unique_id();
    // The server's script has an extra RPC: same ids for "chat", different checksum.
    let mut extra = vec![RpcConfig::any_peer("chat"), RpcConfig::new("zzz")];
    extra.push(RpcConfig::any_peer("shout"));
    s.mp.declare_node("Other", NodeRpcs::new(extra));
    a.mp.declare_node("Other", NodeRpcs::new(vec![RpcConfig::any_peer("chat")]));
    a.mp.rpc_id(1, "Other", "chat", &[]).unwrap();
    assert!(pump_until!(a.mp.path_confirmed("Other", 1).is_some(); s, a, b));
    assert_eq!(a.mp.path_confirmed("Other", 1), Some(false));
    let want = SceneEvent::Rpc {
        from: ia,
        path: "Other".into(),
        method: "chat".into(),
        args: vec![],
    };
    assert!(s.ev.contains(&want));
}

#[test]
fn send_bytes_broadcast_and_direct() {
    let (mut s, mut a, mut b) = trio();
    let (ia, ib) = (a.mp.get_unique_id(), b.mp.get_unique_id());
    a.mp.send_bytes(b"all", 0, TransferMode::Reliable, 0)
        .unwrap();
    let all = SceneEvent::Bytes {
        from: ia,
        data: b"all".to_vec(),
    };
    assert!(pump_until!(s.ev.contains(&all) && b.ev.contains(&all); s, a, b));
    a.mp.send_bytes(b"b", ib, TransferMode::Unreliable, 0)
        .unwrap();
    a.mp.send_bytes(b"srv", 1, TransferMode::UnreliableOrdered, 2)
        .unwrap();
    let to_b = SceneEvent::Bytes {
        from: ia,
        data: b"b".to_vec(),
    };
    let to_s = SceneEvent::Bytes {
        from: ia,
        data: b"srv".to_vec(),
    };
    assert!(pump_until!(b.ev.contains(&to_b) && s.ev.contains(&to_s); s, a, b));
    s.mp.send_bytes(b"x", -ib, TransferMode::Reliable, 0)
        .unwrap();
    let x = SceneEvent::Bytes {
        from: 1,
        data: b"x".to_vec(),
    };
    assert!(pump_until!(a.ev.contains(&x); s, a, b));
    pump_for!(50; s, a, b);
    assert!(!s.ev.contains(&to_b) && !b.ev.contains(&to_s) && !b.ev.contains(&x));
    assert!(!a
        .ev
        .iter()
        .any(|e| matches!(e, SceneEvent::Bytes { from, .. } if *from == ia)));
    assert!(matches!(
        a.mp.send_bytes(b"", 0, TransferMode::Reliable, 0),
        Err(SceneError::Empty)
    ));
}

#[test]
fn del_peer_on_disconnect() {
    let (mut s, mut a, mut b) = trio();
    let ib = b.mp.get_unique_id();
    b.mp.peer_mut().disconnect_peer(1, false);
    assert!(pump_until!(a.ev.contains(&SceneEvent::PeerDisconnected(ib)); s, a, b));
    assert!(s.ev.contains(&SceneEvent::PeerDisconnected(ib)));
    assert_eq!(a.mp.get_peers(), &[1]);
    assert_eq!(s.mp.get_peers(), &[a.mp.get_unique_id()]);
}

fn auth_pair(timeout: Duration, client_auth: bool) -> (Sm, Sm, i32) {
    let (peer, port) = server_peer();
    let mut s = Sm::new(peer);
    s.mp.declare_node("Lobby", lobby());
    s.mp.set_auth_enabled(true);
    s.mp.set_auth_timeout(timeout);
    let mut c = client(port);
    c.mp.set_auth_enabled(client_auth);
    let id = c.mp.get_unique_id();
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerAuthenticating(id)); s, c));
    (s, c, id)
}

#[test]
fn auth_accept() {
    let (mut s, mut c, id) = auth_pair(Duration::from_secs(30), true);
    assert!(pump_until!(c.ev.contains(&SceneEvent::PeerAuthenticating(1)); s, c));
    // Nothing else passes while pending: the client may not RPC or send bytes to 1.
    assert!(matches!(
        c.mp.rpc_id(1, "Lobby", "chat", &[]),
        Err(SceneError::UnknownPeer(1))
    ));
    c.mp.send_auth(1, b"secret").unwrap();
    let data = SceneEvent::AuthData {
        from: id,
        data: b"secret".to_vec(),
    };
    assert!(pump_until!(s.ev.contains(&data); s, c));
    s.mp.send_auth(id, b"welcome").unwrap();
    s.mp.complete_auth(id).unwrap();
    assert!(matches!(
        s.mp.complete_auth(id),
        Err(SceneError::AuthCompleted(_))
    ));
    assert!(matches!(
        s.mp.send_auth(id, b"late"),
        Err(SceneError::AuthCompleted(_))
    ));
    let back = SceneEvent::AuthData {
        from: 1,
        data: b"welcome".to_vec(),
    };
    assert!(pump_until!(c.ev.contains(&back); s, c));
    assert!(
        s.mp.get_peers().is_empty(),
        "not admitted before both sides completed"
    );
    c.mp.complete_auth(1).unwrap();
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerConnected(id))
        && c.ev.contains(&SceneEvent::PeerConnected(1)); s, c));
    c.mp.rpc_id(1, "Lobby", "chat", &[]).unwrap();
    assert!(pump_until!(s.ev.contains(&rpc_ev(id, "chat", vec![])); s, c));
    assert_eq!(s.mp.drops().total(), 0);
}

#[test]
fn auth_reject() {
    let (mut s, mut c, id) = auth_pair(Duration::from_secs(30), true);
    c.mp.send_auth(1, b"wrong").unwrap();
    assert!(pump_until!(s.ev.iter().any(|e| matches!(e, SceneEvent::AuthData { .. })); s, c));
    s.mp.disconnect_peer(id);
    assert!(pump_until!(c.ev.contains(&SceneEvent::PeerAuthenticationFailed(1)); s, c));
    assert!(s.mp.get_authenticating_peers().is_empty());
    assert!(!s.ev.contains(&SceneEvent::PeerConnected(id)));
}

#[test]
fn auth_timeout_disconnects() {
    // Only the server authenticates: the client admits at once and its early packets are
    // dropped by the server, which times it out.
    let (mut s, mut c, id) = auth_pair(Duration::from_millis(300), false);
    assert!(pump_until!(c.ev.contains(&SceneEvent::PeerConnected(1)); s, c));
    c.mp.send_bytes(b"early", 1, TransferMode::Reliable, 0)
        .unwrap();
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerAuthenticationFailed(id)); s, c));
    assert!(s.mp.drops().pending >= 1);
    assert!(pump_until!(c.ev.contains(&SceneEvent::PeerDisconnected(1)); s, c));
    assert!(c.ev.contains(&SceneEvent::ServerDisconnected));
    assert!(!s.ev.iter().any(|e| matches!(e, SceneEvent::Bytes { .. })));
}
