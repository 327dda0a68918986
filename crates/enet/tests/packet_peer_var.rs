//! `PacketPeer` on `EnetPacketPeer`: put_var / get_var between two hosts on 127.0.0.1, the
//! encode_buffer_max_size rules, get_packet_error, and per-peer state.

mod common;

use std::time::Duration;

use common::*;
use enet::godot::EventType;
use enet::godot_variant::{to_bytes, Dictionary, Object, Variant, Vector3};
use enet::{PacketPeer, DEFAULT_ENCODE_BUFFER_MAX_SIZE};

fn value() -> Variant {
    let mut d = Dictionary::new();
    d.insert("v", Vector3::new(1.0, 2.0, 3.0));
    d.insert("id", Object::Id(77));
    d.insert("s", "é");
    d.into()
}

#[test]
fn put_var_get_var_between_hosts() {
    let mut p = Pair::new(0, 2);
    let (cpeer, speer) = (p.cpeer, p.speer);
    p.client.peer(cpeer).put_var(&value(), false).unwrap();
    let ok = p.pump(Duration::from_secs(5), |i, _, ev| {
        i == 0 && ev.kind == EventType::Receive
    });
    assert!(ok, "no packet");
    let mut sp = p.server.peer(speer);
    assert_eq!(sp.get_available_packet_count(), 1);
    let got = sp.get_var(false).unwrap();
    assert!(got.identical(&value()), "{got}");
    // Nothing left: ERR_UNAVAILABLE, and get_var leaves get_packet_error alone.
    assert_eq!(sp.get_var(false).unwrap_err().godot_code(), 2);
    assert_eq!(sp.get_packet_error(), 0);
    assert!(sp.get_packet_buffer().is_empty());
    assert_eq!(sp.get_packet_error(), 2);

    // The raw packet is exactly the encoding (no prefix).
    p.client
        .peer(cpeer)
        .put_var(&Variant::from("hi"), false)
        .unwrap();
    assert!(p.pump(Duration::from_secs(5), |i, _, ev| i == 0
        && ev.kind == EventType::Receive));
    let mut sp = p.server.peer(speer);
    assert_eq!(
        &sp.get_packet_buffer()[..],
        &to_bytes(&"hi".into()).unwrap()[..]
    );
    assert_eq!(sp.get_packet_error(), 0);

    // A full object is refused unless allowed.
    let obj = Variant::from(Object::Full {
        class: "Node".into(),
        properties: vec![],
    });
    p.client.peer(cpeer).put_var(&obj, true).unwrap();
    p.client.peer(cpeer).put_var(&obj, true).unwrap();
    let mut n = 0;
    assert!(p.pump(Duration::from_secs(5), |i, _, ev| {
        n += usize::from(i == 0 && ev.kind == EventType::Receive);
        n == 2
    }));
    let mut sp = p.server.peer(speer);
    assert_eq!(
        sp.get_var(false).unwrap_err().godot_code(),
        4,
        "ERR_UNAUTHORIZED"
    );
    assert_eq!(sp.get_var(true).unwrap(), obj);
    // Without full_objects a full object cannot be encoded (no instance id to send).
    assert_eq!(
        p.client
            .peer(cpeer)
            .put_var(&obj, false)
            .unwrap_err()
            .godot_code(),
        31
    );
}

#[test]
fn encode_buffer_max_size_rules() {
    let mut p = Pair::new(0, 2);
    let (cpeer, speer) = (p.cpeer, p.speer);
    let mut cp = p.client.peer(cpeer);
    assert_eq!(cp.encode_buffer_max_size(), DEFAULT_ENCODE_BUFFER_MAX_SIZE);
    for bad in [0, 42, 1023, 256 * 1024 * 1024 + 42] {
        assert_eq!(
            cp.set_encode_buffer_max_size(bad).unwrap_err().godot_code(),
            31
        );
        assert_eq!(
            cp.encode_buffer_max_size(),
            DEFAULT_ENCODE_BUFFER_MAX_SIZE,
            "unchanged"
        );
    }
    cp.set_encode_buffer_max_size(2000).unwrap();
    assert_eq!(cp.encode_buffer_max_size(), 2048);
    // Exactly the limit is sent; one byte-word more is ERR_OUT_OF_MEMORY and nothing is sent.
    let at_limit = Variant::PackedByteArray(vec![7; 2048 - 8]);
    assert_eq!(to_bytes(&at_limit).unwrap().len(), 2048);
    cp.put_var(&at_limit, false).unwrap();
    let over = Variant::PackedByteArray(vec![7; 2048 - 7]);
    assert_eq!(cp.put_var(&over, false).unwrap_err().godot_code(), 6);
    // The state is per peer: the server's view of the client keeps the default.
    assert_eq!(
        p.server.peer(speer).encode_buffer_max_size(),
        DEFAULT_ENCODE_BUFFER_MAX_SIZE
    );
    assert!(p.pump(Duration::from_secs(5), |i, _, ev| i == 0
        && ev.kind == EventType::Receive));
    assert_eq!(p.server.peer(speer).get_var(false).unwrap(), at_limit);
    let (s, _) = p.drain(Duration::from_millis(200));
    assert!(
        s.iter().all(|e| e.kind != EventType::Receive),
        "only the packet within the limit was sent: {s:?}"
    );
}
