//! End to end: a C ENet peer (system libenet, acting as a Godot client) sends the exact bytes
//! Godot's `PacketPeer.put_var` produces for a dictionary of mixed types; `get_var` on our
//! `EnetMultiplayerPeer` returns that Dictionary, and our `put_var` of it arrives at the C
//! peer byte-identical. The bytes are assembled from spec vectors (godot-variant-and-scene-
//! multiplayer.md §A.9: #20-#23, #39, #41, #45, §A.9.1), not produced by our encoder.

use std::time::{Duration, Instant};

use enet::godot_variant::{Dictionary, Variant, Vector2};
use enet::PacketPeer;
use enet_interop::{flags, CEvent, CPeer, CPeerOpts};
use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer};

const T: Duration = Duration::from_secs(5);
const LOCALHOST: &str = "127.0.0.1";
const ID: u32 = 4242;

/// `{"hp": 5, "pos": Vector2(1.5, -2.25), "name": "héllo", "alive": true, "ratio": 0.1,
/// "big": 2147483648, "list": [1, "a"], "bytes": PackedByteArray([1, 2, 3])}`.
const PUT_VAR_HEX: &str = concat!(
    "1b000000", "08000000", "04000000", "02000000", "68700000", "02000000", "05000000", "04000000",
    "03000000", "706f7300", "05000000", "0000c03f", "000010c0", "04000000", "04000000", "6e616d65",
    "04000000", "06000000", "68c3a96c", "6c6f0000", "04000000", "05000000", "616c6976", "65000000",
    "01000000", "01000000", "04000000", "05000000", "72617469", "6f000000", "03000100", "9a999999",
    "9999b93f", "04000000", "03000000", "62696700", "02000100", "00000080", "00000000", "04000000",
    "04000000", "6c697374", "1c000000", "02000000", "02000000", "01000000", "04000000", "01000000",
    "61000000", "04000000", "05000000", "62797465", "73000000", "1d000000", "03000000", "01020300",
);

fn expected() -> Variant {
    let mut d = Dictionary::new();
    d.insert("hp", 5);
    d.insert("pos", Vector2::new(1.5, -2.25));
    d.insert("name", "héllo");
    d.insert("alive", true);
    d.insert("ratio", 0.1);
    d.insert("big", 2_147_483_648i64);
    d.insert("list", vec![Variant::from(1), "a".into()]);
    d.insert("bytes", vec![1u8, 2, 3]);
    d.into()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Polls the server until `pred` holds, reading C events meanwhile; panics after `T`.
fn poll_until(
    mp: &mut EnetMultiplayerPeer,
    c: &mut CPeer,
    what: &str,
    mut pred: impl FnMut(&mut EnetMultiplayerPeer) -> bool,
) {
    let end = Instant::now() + T;
    while !pred(mp) {
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; C history {:?}",
            c.history()
        );
        mp.poll();
        let _ = c.try_expect(Duration::from_millis(2), |_| false);
    }
}

#[test]
fn godot_put_var_bytes_from_c_peer_round_trip_through_get_var_and_put_var() {
    if !enet_interop::require_c_library() {
        return;
    }
    let bytes = unhex(PUT_VAR_HEX);
    assert_eq!(bytes.len() % 4, 0);

    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip(LOCALHOST).unwrap();
    mp.create_server(0, 4, 0, 0, 0).unwrap();
    let port = mp.host().unwrap().get_local_port().unwrap();
    let mut c = CPeer::spawn_client(
        LOCALHOST,
        port,
        &CPeerOpts::new().channels(2).data(ID).print_data(),
    );
    let mut connected = false;
    poll_until(&mut mp, &mut c, "the C client", |mp| {
        while let Some(e) = mp.poll_event() {
            connected |= e == MultiplayerEvent::PeerConnected(ID as i32);
        }
        connected
    });
    c.expect(T, "connect", |e| matches!(e, CEvent::Connect(_)));

    // C -> Rust: the put_var bytes as one reliable packet on ENet channel 0 (Godot's
    // reliable channel), then a packet that is not a Variant.
    c.send_line(&format!("sendhex 0 0 reliable {PUT_VAR_HEX}"));
    assert_eq!(c.expect_sent(T), 1);
    c.send_line("sendhex 0 0 reliable ff000000");
    assert_eq!(c.expect_sent(T), 1);
    poll_until(&mut mp, &mut c, "two packets", |mp| {
        MultiplayerPeer::get_available_packet_count(mp) >= 2
    });
    assert_eq!(mp.get_packet_peer(), ID as i32);
    let got = PacketPeer::get_var(&mut mp, false).expect("decodes");
    assert!(got.identical(&expected()), "{got}");
    assert_eq!(
        got.to_string(),
        r#"{"hp": 5, "pos": Vector2(1.5, -2.25), "name": "héllo", "alive": true, "ratio": 0.1, "big": 2147483648, "list": [1, "a"], "bytes": PackedByteArray(1, 2, 3)}"#
    );
    let err = PacketPeer::get_var(&mut mp, false).unwrap_err();
    assert_eq!(
        err.godot_code(),
        30,
        "ERR_INVALID_DATA for type id 0xff: {err}"
    );
    let err = PacketPeer::get_var(&mut mp, false).unwrap_err();
    assert_eq!(err.godot_code(), 2, "ERR_UNAVAILABLE with no packet: {err}");

    // Rust -> C: put_var of the same value arrives byte-identical, reliable on channel 0.
    mp.set_target_peer(ID as i32);
    PacketPeer::put_var(&mut mp, &expected(), false).unwrap();
    let end = Instant::now() + T;
    let r = loop {
        mp.poll();
        if let Some(CEvent::Receive(r)) = c.try_expect(Duration::from_millis(2), |e| {
            matches!(e, CEvent::Receive(_))
        }) {
            break r;
        }
        assert!(
            Instant::now() < end,
            "C never received the put_var packet: {:?}",
            c.history()
        );
    };
    assert_eq!(r.channel, 0);
    assert_ne!(r.flags & flags::RELIABLE, 0);
    assert_eq!(
        r.data.as_deref(),
        Some(&bytes[..]),
        "put_var bytes differ from Godot's"
    );

    // encode_buffer_max_size: Godot's setter rules, and nothing sent past the limit.
    assert_eq!(mp.encode_buffer_max_size(), 8 * 1024 * 1024);
    assert_eq!(
        mp.set_encode_buffer_max_size(42).unwrap_err().godot_code(),
        31
    );
    mp.set_encode_buffer_max_size(2000).unwrap();
    assert_eq!(mp.encode_buffer_max_size(), 2048);
    let big = Variant::PackedByteArray(vec![0; 4096]);
    let err = PacketPeer::put_var(&mut mp, &big, false).unwrap_err();
    assert_eq!(err.godot_code(), 6, "ERR_OUT_OF_MEMORY: {err}");
    // get_packet_error follows get_packet_buffer only.
    assert_eq!(mp.get_packet_buffer().len(), 0);
    assert_eq!(mp.get_packet_error(), 2);
    c.send_line("quit");
}
