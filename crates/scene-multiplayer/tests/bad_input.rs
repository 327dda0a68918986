//! Hostile packets from a scripted client over real ENet: every one dropped and counted,
//! nothing forwarded that Godot's server would refuse, and the server keeps working.

mod support;

use std::time::Duration;

use enet_multiplayer::TransferMode;
use scene_multiplayer::{Drops, NodeRpcs, RpcConfig, SceneEvent, Variant};
use support::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn main_node() -> NodeRpcs {
    NodeRpcs::new(vec![RpcConfig::any_peer("hello")])
}

/// Our server, a scripted client A and our client B.
fn setup() -> (Sm, Raw, Sm) {
    let (peer, port) = server_peer();
    let mut s = Sm::new(peer);
    s.mp.declare_node("Main", main_node());
    let mut a = Raw::new(client_peer(port, A));
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerConnected(A)); s, a));
    let mut b = Sm::new(client_peer(port, B));
    b.mp.declare_node("Main", main_node());
    assert!(
        pump_until!(b.ev.contains(&SceneEvent::PeerConnected(A)) && !received(&a).is_empty(); s, a, b)
    );
    a.take_payloads();
    s.ev.clear();
    b.ev.clear();
    (s, a, b)
}

/// Sends `p` from A and waits until the server's counters change.
fn expect_drop(s: &mut Sm, a: &mut Raw, b: &mut Sm, p: &str, field: fn(&Drops) -> u64) {
    let before = s.mp.drops();
    a.send_reliable(1, &hex(p));
    assert!(
        pump_until!(field(&s.mp.drops()) == field(&before) + 1; s, a, b),
        "{p}: {:?}",
        s.mp.drops()
    );
    assert_eq!(s.mp.drops().total(), before.total() + 1, "{p}");
}

#[test]
fn hostile_packets_are_dropped_and_counted() {
    let (mut s, mut a, mut b) = setup();
    let (s, a, b) = (&mut s, &mut a, &mut b);
    let malformed = |d: &Drops| d.malformed;
    for p in [
        "07",
        "07 09 00 00 00 00",
        "07 01 00",
        "07 03 f0 de bc 0a",
        "00",
        "30 01 00",
        "a0 ff 00 00 80 00 4d",
        "01 00 00",
        "02 01 01 00 00",
        "03",
    ] {
        expect_drop(s, a, b, p, malformed);
    }
    // SYS that only the server may send, and auth payloads after admission.
    expect_drop(s, a, b, "07 01 05 00 00 00", |d| d.refused_sys);
    expect_drop(s, a, b, "07 02 f0 de bc 0a", |d| d.refused_sys);
    expect_drop(s, a, b, "07 00 01", |d| d.refused_sys);
    // Cache id never announced; undeclared full path; undeclared SIMPLIFY_PATH (no reply).
    expect_drop(s, a, b, "80 05 00", |d| d.unknown_node);
    expect_drop(s, a, b, "a0 06 00 00 80 00 4e 6f 00", |d| d.unknown_node);
    let mut sp = vec![1u8];
    sp.extend_from_slice(b"d41d8cd98f00b204e9800998ecf8427e\0");
    sp.extend_from_slice(&[9, 0, 0, 0]);
    sp.extend_from_slice(b"Nope\0");
    let sp_hex: Vec<String> = sp.iter().map(|b| format!("{b:02x}")).collect();
    expect_drop(s, a, b, &sp_hex.join(" "), |d| d.bad_path);
    // Announce Main as id 1 properly, then: RPC id out of range, duplicate announcement.
    let mut ok = vec![1u8];
    ok.extend_from_slice(b"5d41402abc4b2a76b9719d911017c592\0");
    ok.extend_from_slice(&[1, 0, 0, 0]);
    ok.extend_from_slice(b"Main\0");
    a.send_reliable(1, &ok);
    assert!(pump_until!(!received(a).is_empty(); s, a, b));
    assert_eq!(a.take_payloads(), vec![hex("02 01 01 00 00 00")]);
    let ok_hex: Vec<String> = ok.iter().map(|b| format!("{b:02x}")).collect();
    expect_drop(s, a, b, &ok_hex.join(" "), |d| d.bad_path);
    expect_drop(s, a, b, "80 01 01", |d| d.unknown_method);
    expect_drop(s, a, b, "c0 01 00 80", |d| d.unknown_method);
    // Relay to a peer that does not exist, and to 1: nothing is forwarded.
    expect_drop(s, a, b, "07 03 e7 03 00 00 03 01", |d| d.relay_target);
    expect_drop(s, a, b, "07 03 01 00 00 00 03 01", |d| d.relay_target);
    // Replication addressed to the server is ignored (counted).
    expect_drop(s, a, b, "05 01 00 00 00", |d| d.replication);
    // An argument count that lies: delivered with Nil for the missing ones, as Godot does.
    a.send_reliable(1, &hex("00 01 00 03 02 2a"));
    let lied = SceneEvent::Rpc {
        from: A,
        path: "Main".into(),
        method: "hello".into(),
        args: vec![Variant::Int(42), Variant::Nil, Variant::Nil],
    };
    assert!(pump_until!(s.ev.contains(&lied); s, a, b));
    assert_eq!(s.mp.drops().bad_args, 1);
    // A relayed ADD_PEER / nested RELAY reaches B only as data from A, which B refuses.
    a.send_reliable(1, &hex("07 03 f0 de bc 0a 07 01 05 00 00 00"));
    a.send_reliable(1, &hex("07 03 f0 de bc 0a 07 03 00 00 00 00 03 01"));
    assert!(pump_until!(b.mp.drops().refused_sys == 2; s, a, b));
    assert_eq!(b.mp.get_peers(), &[1, A]);
    // SYNC between clients is relayed untouched.
    a.send_reliable(
        1,
        &hex("07 03 f0 de bc 0a 06 01 00 05 00 00 80 00 00 00 00"),
    );
    assert!(pump_until!(b.mp.drops().replication == 1; s, a, b));
    // Still healthy: B's RPC arrives.
    b.mp.rpc_id(1, "Main", "hello", &[Variant::Bool(true)])
        .unwrap();
    let fine = SceneEvent::Rpc {
        from: B,
        path: "Main".into(),
        method: "hello".into(),
        args: vec![Variant::Bool(true)],
    };
    assert!(pump_until!(s.ev.contains(&fine); s, a, b));
    assert!(!b
        .ev
        .iter()
        .any(|e| matches!(e, SceneEvent::Bytes { .. } | SceneEvent::Rpc { .. })));
    assert_eq!(s.mp.get_peers(), &[A, B]);
}

#[test]
fn authenticating_peer_can_send_nothing_but_auth() {
    let (peer, port) = server_peer();
    let mut s = Sm::new(peer);
    s.mp.declare_node("Main", main_node());
    s.mp.set_auth_enabled(true);
    s.mp.set_auth_timeout(Duration::from_secs(30));
    let mut a = Raw::new(client_peer(port, A));
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerAuthenticating(A)); s, a));
    let mut b = Sm::new(client_peer(port, B));
    assert!(pump_until!(s.ev.contains(&SceneEvent::PeerAuthenticating(B)); s, a, b));
    for p in [
        "03 01 02",
        "07 03 f0 de bc 0a 03 01",
        "07 03 00 00 00 00 03 01",
        "80 01 00",
        "07",
        "00",
    ] {
        a.send_reliable(1, &hex(p));
    }
    assert!(pump_until!(s.mp.drops().pending == 6; s, a, b));
    a.send_reliable(1, &hex("07 00 2a"));
    let data = SceneEvent::AuthData {
        from: A,
        data: vec![42],
    };
    assert!(pump_until!(s.ev.contains(&data); s, a, b));
    // Not announced to anyone, nothing relayed, nothing delivered.
    assert!(received(&a).is_empty());
    assert_eq!(
        b.ev,
        vec![SceneEvent::ConnectedToServer, SceneEvent::PeerConnected(1)]
    );
    assert!(s.mp.get_peers().is_empty());
    assert!(matches!(
        s.mp.send_bytes(&[1], A, TransferMode::Reliable, 0),
        Err(scene_multiplayer::SceneError::UnknownPeer(A))
    ));
    assert_eq!(s.mp.drops().total(), 6);
}
