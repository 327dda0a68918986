//! Spec §B.13, byte for byte, over real ENet on loopback, in both roles. The Godot side is
//! a scripted raw MultiplayerPeer that sends and checks exactly the spec's bytes.

mod support;

use enet_multiplayer::{MultiplayerPeer, TransferMode};
use scene_multiplayer::{NodeRpcs, RpcConfig, SceneEvent, Variant};
use support::*;

const SIMPLIFY: &str = "01 35 64 34 31 34 30 32 61 62 63 34 62 32 61 37 36 62 39 37 31 39 64 39 31 31 30 31 37 63 35 39 32 00 01 00 00 00 4d 61 69 6e 00";
const CALL_FULL: &str =
    "20 15 00 00 80 00 02 02 2a 04 00 00 00 02 00 00 00 68 69 00 00 4d 61 69 6e 00";
const CALL_SHORT: &str = "00 01 00 02 02 2a 04 00 00 00 02 00 00 00 68 69 00 00";
const CONFIRM: &str = "02 01 01 00 00 00";

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn declare(sm: &mut Sm) {
    sm.mp
        .declare_node("Main", NodeRpcs::new(vec![RpcConfig::any_peer("hello")]));
}

fn hello_args() -> Vec<Variant> {
    vec![Variant::Int(42), Variant::String("hi".into())]
}

// ---------------------------------------------------------------- server role

/// Our server; scripted clients A then B, after step (1).
fn server_with_a_b() -> (Sm, Raw, Raw) {
    let (peer, port) = server_peer();
    let mut s = Sm::new(peer);
    declare(&mut s);
    let mut a = Raw::new(client_peer(port, A));
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerConnected(A)); s, a));
    let mut b = Raw::new(client_peer(port, B));
    assert!(pump_until!(!received(&a).is_empty() && !received(&b).is_empty(); s, a, b));
    (s, a, b)
}

#[test]
fn server_step1_announces_peers() {
    let (mut s, mut a, mut b) = server_with_a_b();
    pump_for!(50; s, a, b);
    assert_eq!(
        received(&a),
        vec![(1, hex("07 01 f0 de bc 0a"), TransferMode::Reliable, 0)]
    );
    assert_eq!(
        received(&b),
        vec![(1, hex("07 01 78 56 34 12"), TransferMode::Reliable, 0)]
    );
    assert_eq!(
        s.ev,
        vec![SceneEvent::PeerConnected(A), SceneEvent::PeerConnected(B)]
    );
    assert_eq!(s.mp.get_peers(), &[A, B]);
}

#[test]
fn server_step2_confirms_path_and_runs_rpc() {
    let (mut s, mut a, mut b) = server_with_a_b();
    a.take_payloads();
    b.take_payloads();
    s.ev.clear();
    a.send_reliable(1, &hex(SIMPLIFY));
    a.send_reliable(1, &hex(CALL_FULL));
    let want = SceneEvent::Rpc {
        from: A,
        path: "Main".into(),
        method: "hello".into(),
        args: hello_args(),
    };
    assert!(pump_until!(s.ev.contains(&want) && !received(&a).is_empty(); s, a, b));
    assert_eq!(
        received(&a),
        vec![(1, hex(CONFIRM), TransferMode::Reliable, 0)]
    );
    // The short form after confirmation.
    s.ev.clear();
    a.send_reliable(1, &hex(CALL_SHORT));
    assert!(pump_until!(s.ev.contains(&want); s, a, b));
    pump_for!(30; s, a, b);
    assert_eq!(s.ev, vec![want]);
    assert_eq!(b.take_payloads(), Vec::<Vec<u8>>::new());
    assert_eq!(s.mp.drops().total(), 0);
}

#[test]
fn server_step3_relays_bytes_and_announces_leave() {
    let (mut s, mut a, mut b) = server_with_a_b();
    a.take_payloads();
    b.take_payloads();
    s.ev.clear();
    a.send_reliable(1, &hex("07 03 00 00 00 00 03 01 02 03"));
    assert!(pump_until!(!received(&b).is_empty(); s, a, b));
    pump_for!(30; s, a, b);
    assert_eq!(
        received(&b),
        vec![(
            1,
            hex("07 03 78 56 34 12 03 01 02 03"),
            TransferMode::Reliable,
            0
        )]
    );
    assert_eq!(
        s.ev,
        vec![SceneEvent::Bytes {
            from: A,
            data: vec![1, 2, 3]
        }]
    );
    assert!(received(&a).is_empty());
    // Directly to 1, and to B only (the server does not process it).
    b.take_payloads();
    s.ev.clear();
    a.send_reliable(1, &hex("03 01 02 03"));
    a.send_reliable(1, &hex("07 03 f0 de bc 0a 03 01 02 03"));
    assert!(pump_until!(!received(&b).is_empty() && !s.ev.is_empty(); s, a, b));
    pump_for!(30; s, a, b);
    assert_eq!(
        b.take_payloads(),
        vec![hex("07 03 78 56 34 12 03 01 02 03")]
    );
    assert_eq!(
        s.ev,
        vec![SceneEvent::Bytes {
            from: A,
            data: vec![1, 2, 3]
        }]
    );
    // B leaves: A hears DEL_PEER.
    s.ev.clear();
    b.mp.disconnect_peer(1, false);
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerDisconnected(B)); s, a, b));
    assert!(pump_until!(!received(&a).is_empty(); s, a));
    assert_eq!(a.take_payloads(), vec![hex("07 02 f0 de bc 0a")]);
}

// ---------------------------------------------------------------- client role

/// A scripted server, our client A, after step (1) (server announced B).
fn client_a() -> (Raw, Sm) {
    let (peer, port) = server_peer();
    let mut srv = Raw::new(peer);
    let mut a = Sm::new(client_peer(port, A));
    declare(&mut a);
    assert!(pump_until!(a.ev.contains(&SceneEvent::PeerConnected(1))
        && srv.events.contains(&enet_multiplayer::MultiplayerEvent::PeerConnected(A)); srv, a));
    srv.send_reliable(A, &hex("07 01 f0 de bc 0a"));
    assert!(pump_until!(a.ev.contains(&SceneEvent::PeerConnected(B)); srv, a));
    (srv, a)
}

#[test]
fn client_step1_connects_and_learns_peer_b() {
    let (mut srv, mut a) = client_a();
    pump_for!(30; srv, a);
    assert_eq!(
        a.ev,
        vec![
            SceneEvent::ConnectedToServer,
            SceneEvent::PeerConnected(1),
            SceneEvent::PeerConnected(B)
        ]
    );
    assert!(
        received(&srv).is_empty(),
        "no SceneMultiplayer payload on connect"
    );
    assert_eq!(a.mp.get_peers(), &[1, B]);
}

#[test]
fn client_step2_rpc_bytes_before_and_after_confirm() {
    let (mut srv, mut a) = client_a();
    a.mp.rpc_id(1, "Main", "hello", &hello_args()).unwrap();
    a.mp.rpc_id(1, "Main", "hello", &hello_args()).unwrap();
    assert!(pump_until!(received(&srv).len() >= 3; srv, a));
    pump_for!(30; srv, a);
    let want = [hex(SIMPLIFY), hex(CALL_FULL), hex(CALL_FULL)];
    for (g, w) in received(&srv).iter().zip(&want) {
        assert_eq!((g.0, &g.1, g.2, g.3), (A, w, TransferMode::Reliable, 0));
    }
    assert_eq!(received(&srv).len(), 3);
    srv.take_payloads();
    srv.send_reliable(A, &hex(CONFIRM));
    assert!(pump_until!(a.mp.path_confirmed("Main", 1) == Some(true); srv, a));
    a.mp.rpc_id(1, "Main", "hello", &hello_args()).unwrap();
    assert!(pump_until!(!received(&srv).is_empty(); srv, a));
    assert_eq!(srv.take_payloads(), vec![hex(CALL_SHORT)]);
}

#[test]
fn client_step2_rpc_to_all_wraps_copy_for_b() {
    let (mut srv, mut a) = client_a();
    a.mp.rpc("Main", "hello", &hello_args()).unwrap();
    assert!(pump_until!(received(&srv).len() >= 4; srv, a));
    let wrap = |p: &str| {
        let mut v = hex("07 03 f0 de bc 0a");
        v.extend(hex(p));
        v
    };
    let got = srv.take_payloads();
    // Path messages for every target first, then one call per target.
    assert_eq!(
        got,
        vec![
            hex(SIMPLIFY),
            wrap(SIMPLIFY),
            hex(CALL_FULL),
            wrap(CALL_FULL)
        ]
    );
}

#[test]
fn client_step3_send_bytes_targets() {
    let (mut srv, mut a) = client_a();
    let r = TransferMode::Reliable;
    a.mp.send_bytes(&[1, 2, 3], 0, r, 0).unwrap();
    a.mp.send_bytes(&[1, 2, 3], 1, r, 0).unwrap();
    a.mp.send_bytes(&[1, 2, 3], B, r, 0).unwrap();
    assert!(pump_until!(received(&srv).len() >= 3; srv, a));
    assert_eq!(
        srv.take_payloads(),
        vec![
            hex("07 03 00 00 00 00 03 01 02 03"),
            hex("03 01 02 03"),
            hex("07 03 f0 de bc 0a 03 01 02 03")
        ]
    );
    // B's relayed bytes arrive as from B; DEL_PEER removes B.
    srv.send_reliable(A, &hex("07 03 f0 de bc 0a 03 09"));
    srv.send_reliable(A, &hex("07 02 f0 de bc 0a"));
    assert!(pump_until!(a.ev.contains(&SceneEvent::PeerDisconnected(B)); srv, a));
    assert!(a.ev.contains(&SceneEvent::Bytes {
        from: B,
        data: vec![9]
    }));
    assert_eq!(a.mp.get_peers(), &[1]);
}
