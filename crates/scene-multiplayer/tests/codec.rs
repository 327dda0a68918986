//! The codec against the spec's vectors (B.9, B.10.4, B.10.5) and its typed errors.

use godot_variant::{Object, Variant};
use scene_multiplayer::codec::*;
use scene_multiplayer::{md5_hex, NodeRpcs, RpcConfig};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn compressed(v: &Variant) -> Vec<u8> {
    let mut out = Vec::new();
    encode_compressed(v, &mut out, false).unwrap();
    out
}

#[test]
fn compressed_examples_encode_and_decode() {
    let cases = [
        (Variant::Bool(true), "81"),
        (Variant::Bool(false), "01"),
        (Variant::Int(42), "02 2a"),
        (Variant::Int(-1), "02 ff"),
        (Variant::Int(300), "42 2c 01"),
        (Variant::Int(-129), "42 7f ff"),
        (Variant::Int(100000), "82 a0 86 01 00"),
        (Variant::Int(1 << 40), "c2 00 00 00 00 00 01 00 00"),
        (
            Variant::String("hi".into()),
            "04 00 00 00 02 00 00 00 68 69 00 00",
        ),
    ];
    for (v, h) in cases {
        assert_eq!(compressed(&v), hex(h), "{v:?}");
        let (back, used) = decode_compressed(&hex(h), false).unwrap();
        assert_eq!((back, used), (v, hex(h).len()));
    }
    // Extremes of each width.
    for i in [
        i8::MIN as i64,
        i8::MAX as i64,
        i16::MIN as i64,
        i32::MAX as i64,
        i64::MIN,
    ] {
        let b = compressed(&Variant::Int(i));
        assert_eq!(
            decode_compressed(&b, false).unwrap(),
            (Variant::Int(i), b.len())
        );
    }
}

#[test]
fn null_object_is_18_00_00_00_and_fails_like_godot() {
    assert_eq!(
        compressed(&Variant::Object(Box::new(Object::Null))),
        hex("18 00 00 00")
    );
    // Decoding stops at it: it and every later argument are Nil.
    let data = hex("18 00 00 00 02 05");
    let mut out = Vec::new();
    let ok = decode_args(
        ArgsRef::Compressed {
            argc: 2,
            data: &data,
        },
        false,
        &mut out,
    );
    assert!(!ok);
    assert_eq!(out, vec![Variant::Nil, Variant::Nil]);
}

#[test]
fn checksums_are_md5_of_names() {
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    // RFC 1321 vector crossing a block boundary.
    assert_eq!(
        md5_hex(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        ),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
    let t = NodeRpcs::new(vec![RpcConfig::new("b"), RpcConfig::new("a")]);
    assert_eq!(t.checksum(), md5_hex(b"ab"));
    assert_eq!(t.by_name("a").unwrap().0, 0);
    assert_eq!(t.by_name("b").unwrap().0, 1);
    let n = NodeRpcs::with_node_level(vec![RpcConfig::new("z")], vec![RpcConfig::new("y")]);
    assert_eq!(n.checksum(), md5_hex(b"yz"));
    assert_eq!(n.by_name("y").unwrap().0, 0x8000);
    assert_eq!(n.by_id(0).unwrap().name, "z");
    assert!(n.by_id(1).is_none() && n.by_id(0x8001).is_none());
}

/// Methods past the 32,768th of a level have no 15-bit wire id: `by_name` refuses them
/// instead of truncating the position into another method's id.
#[test]
fn methods_beyond_the_wire_id_range_have_no_id() {
    let many = |prefix: &str| -> Vec<RpcConfig> {
        (0..40_000)
            .map(|i| RpcConfig::new(format!("{prefix}{i:05}")))
            .collect()
    };
    let t = NodeRpcs::with_node_level(many("s"), many("n"));
    assert_eq!(t.by_name("s32767").unwrap().0, 0x7FFF);
    assert!(t.by_name("s32768").is_none(), "would have aliased s00000");
    assert!(t.by_name("s39999").is_none());
    assert_eq!(t.by_name("n32767").unwrap().0, 0xFFFF);
    assert!(t.by_name("n32768").is_none(), "would have aliased n00000");
    assert_eq!(t.by_id(0x7FFF).unwrap().name, "s32767");
    assert_eq!(t.by_id(0x8000).unwrap().name, "n00000");
}

fn call(node: Option<u32>, args: &[Variant]) -> Vec<u8> {
    let mut out = Vec::new();
    write_remote_call(&mut out, node, false, "Main", 0, args, false).unwrap();
    out
}

#[test]
fn small_rpc_examples() {
    assert_eq!(call(Some(1), &[]), hex("80 01 00"));
    assert_eq!(call(Some(1), &[Variant::Int(5)]), hex("00 01 00 01 02 05"));
    assert_eq!(
        call(Some(1), &[Variant::PackedByteArray(vec![1, 2, 3])]),
        hex("80 01 00 01 02 03")
    );
    assert_eq!(call(None, &[]), hex("a0 06 00 00 80 00 4d 61 69 6e 00"));
    // Widths: 2-byte node id, 2-byte name id.
    let mut out = Vec::new();
    write_remote_call(&mut out, Some(300), false, "Main", 0x8001, &[], false).unwrap();
    assert_eq!(out, hex("d0 2c 01 01 80"));
    let Message::RemoteCall(c) = parse(&out).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.node, c.name_id, c.args),
        (NodeRef::Cached(300), 0x8001, ArgsRef::None)
    );
    // Forced wide form for a confirmed target in a mixed broadcast.
    out.clear();
    write_remote_call(&mut out, Some(1), true, "Main", 0, &[], false).unwrap();
    assert_eq!(out, hex("a0 01 00 00 00 00"));
}

#[test]
fn parse_every_command() {
    assert_eq!(
        parse(&hex("07 01 f0 de bc 0a")).unwrap(),
        Message::AddPeer(0x0ABC_DEF0)
    );
    assert_eq!(
        parse(&hex("07 02 78 56 34 12")).unwrap(),
        Message::DelPeer(0x1234_5678)
    );
    assert_eq!(parse(&hex("07 00")).unwrap(), Message::Auth(&[]));
    assert_eq!(parse(&hex("07 00 09")).unwrap(), Message::Auth(&[9]));
    assert_eq!(
        parse(&hex("07 03 00 00 00 00 03 01")).unwrap(),
        Message::Relay {
            peer: 0,
            inner: &[3, 1]
        }
    );
    assert_eq!(parse(&hex("03 01 02")).unwrap(), Message::Raw(&[1, 2]));
    assert_eq!(
        parse(&hex("02 00 07 00 00 00")).unwrap(),
        Message::ConfirmPath {
            valid: false,
            cache_id: 7
        }
    );
    for c in ["04 00", "05 01 00 00 00", "06", "16 00"] {
        assert!(matches!(
            parse(&hex(c)).unwrap(),
            Message::Replication { .. }
        ));
    }
    let mut sp = Vec::new();
    write_simplify_path(&mut sp, &md5_hex(b"hello"), 1, "Main");
    assert_eq!(sp.len(), 43);
    assert_eq!(
        parse(&sp).unwrap(),
        Message::SimplifyPath {
            checksum: b"5d41402abc4b2a76b9719d911017c592",
            cache_id: 1,
            path: "Main"
        }
    );
    let full = call(None, &[Variant::Int(5)]);
    let Message::RemoteCall(c) = parse(&full).unwrap() else {
        panic!()
    };
    assert_eq!(c.node, NodeRef::Path("Main"));
    assert_eq!(
        c.args,
        ArgsRef::Compressed {
            argc: 1,
            data: &[2, 5]
        }
    );
}

#[test]
fn malformed_packets_give_typed_errors() {
    use WireError::*;
    let t = |cmd, len, need| Truncated { cmd, len, need };
    let cases: Vec<(&str, WireError)> = vec![
        ("", Empty),
        ("07", t(7, 1, 2)),
        ("07 01 00", t(7, 3, 6)),
        ("07 03 02 00 00 00", t(7, 6, 7)),
        ("07 09 00 00 00 00", UnknownSys(9)),
        ("03", t(3, 1, 2)),
        ("01 00", t(1, 2, 38)),
        ("02 01 01 00 00", ConfirmLength(5)),
        ("02 01 01 00 00 00 00", ConfirmLength(7)),
        ("30 00 00", NodeIdWidth),
        ("00 01", t(0, 2, 4)),
        ("80 01", t(0, 2, 3)),
        ("e0 01 00 00", t(0, 4, 7)),
        // Path offset inside the header, past the end, and an empty path.
        (
            "a0 02 00 00 80 00",
            PathOffset {
                offset: 2,
                header: 6,
                len: 6,
            },
        ),
        (
            "a0 09 00 00 80 00 41",
            PathOffset {
                offset: 9,
                header: 6,
                len: 7,
            },
        ),
        ("a0 06 00 00 80 00 00", BadPath),
        ("a0 06 00 00 80 00 ff 00", BadPath),
    ];
    for (h, e) in cases {
        assert_eq!(parse(&hex(h)).unwrap_err(), e, "{h}");
    }
    // Bad compressed type ids and truncated ints.
    assert!(matches!(
        decode_compressed(&[39], false),
        Err(CompressedError::BadType(39))
    ));
    assert!(matches!(
        decode_compressed(&[0xc2, 1], false),
        Err(CompressedError::Eof)
    ));
    assert!(decode_compressed(&[0x44, 0, 0, 0], false).is_err());
}
