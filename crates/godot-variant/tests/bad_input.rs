//! Every class of bad input gives a typed error with the Godot code of spec §A.6, and the
//! lenient cases Godot accepts are accepted.

use godot_variant::*;

const INVALID_DATA: i32 = 30;
const FILE_EOF: i32 = 18;
const UNAUTHORIZED: i32 = 4;
const OUT_OF_MEMORY: i32 = 6;

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn err(buf: &[u8]) -> DecodeError {
    decode(buf).expect_err("must not decode")
}

fn err_objects(buf: &[u8]) -> DecodeError {
    decode_with(
        buf,
        DecodeOptions {
            allow_objects: true,
        },
    )
    .expect_err("must not decode")
}

/// Godot's code; also checks the Display text is not empty.
fn code(e: &DecodeError) -> i32 {
    assert!(!e.to_string().is_empty());
    e.godot_code()
}

#[test]
fn truncated_header_is_invalid_data() {
    for n in 0..4 {
        let e = err(&[0u8; 3][..n]);
        assert_eq!(
            e,
            DecodeError::TruncatedHeader {
                offset: 0,
                available: n
            }
        );
        assert_eq!(code(&e), INVALID_DATA);
    }
}

#[test]
fn unknown_type_ids_are_invalid_data() {
    for id in [39u32, 40, 0x7f, 0xff] {
        let e = err(&words(&[id, 0, 0, 0]));
        assert_eq!(
            e,
            DecodeError::UnknownType {
                type_id: id,
                offset: 0
            }
        );
        assert_eq!(code(&e), INVALID_DATA);
    }
}

#[test]
fn truncated_fixed_payloads_are_invalid_data() {
    // (header word, full payload size) for every fixed-size type, 32- and 64-bit forms.
    let cases: &[(u32, usize)] = &[
        (1, 4),
        (2, 4),
        (0x1_0002, 8),
        (3, 4),
        (0x1_0003, 8),
        (5, 8),
        (0x1_0005, 16),
        (6, 8),
        (7, 16),
        (8, 16),
        (9, 12),
        (0x1_0009, 24),
        (10, 12),
        (11, 24),
        (0x1_000b, 48),
        (12, 16),
        (13, 16),
        (14, 16),
        (15, 16),
        (16, 24),
        (17, 36),
        (0x1_0011, 72),
        (18, 48),
        (0x1_0012, 96),
        (19, 64),
        (0x1_0013, 128),
        (20, 16),
        (0x1_0014, 16),
        (23, 8),
        (0x1_0018, 8),
    ];
    for &(header, size) in cases {
        let mut full = header.to_le_bytes().to_vec();
        full.resize(4 + size, 0);
        decode(&full).unwrap_or_else(|e| panic!("{header:#x} full payload: {e}"));
        for cut in 4..4 + size {
            let e = err(&full[..cut]);
            assert!(
                matches!(e, DecodeError::Truncated { .. }),
                "{header:#x} cut {cut}: {e:?}"
            );
            assert_eq!(code(&e), INVALID_DATA);
        }
    }
}

#[test]
fn string_overruns_are_file_eof() {
    // Length past the end.
    let e = err(&words(&[4, 100, 0]));
    assert_eq!(
        e,
        DecodeError::StringOverrun {
            offset: 4,
            length: 100,
            available: 4
        }
    );
    assert_eq!(code(&e), FILE_EOF);
    // Negative length.
    let e = err(&words(&[4, 0xFFFF_FFFF]));
    assert!(
        matches!(e, DecodeError::StringOverrun { length: -1, .. }),
        "{e:?}"
    );
    assert_eq!(code(&e), FILE_EOF);
    // Data present but the padding missing, at the very end of the buffer.
    let e = err(&[4, 0, 0, 0, 2, 0, 0, 0, b'h', b'i']);
    assert_eq!(code(&e), FILE_EOF);
    // Same rules for StringName, and for strings inside containers (the element's error).
    assert_eq!(code(&err(&words(&[21, 9, 0]))), FILE_EOF);
    assert_eq!(code(&err(&words(&[28, 1, 4, 9]))), FILE_EOF);
    // No length word at all is INVALID_DATA.
    let e = err(&words(&[4]));
    assert!(matches!(e, DecodeError::Truncated { .. }));
    assert_eq!(code(&e), INVALID_DATA);
}

fn string_bytes(data: &[u8]) -> Vec<u8> {
    let mut b = words(&[4, data.len() as u32]);
    b.extend_from_slice(data);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

#[test]
fn invalid_utf8_is_invalid_data() {
    let bad: &[&[u8]] = &[
        b"\x80",             // lone continuation byte
        b"\xc3",             // truncated sequence
        b"\xc0\x80",         // overlong NUL
        b"\xe0\x80\xaf",     // overlong '/'
        b"\xed\xa0\x80",     // surrogate U+D800
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"\xff",             // invalid lead byte
        b"ok\xfe",
    ];
    for data in bad {
        let e = err(&string_bytes(data));
        assert_eq!(e, DecodeError::InvalidUtf8 { offset: 8 }, "{data:?}");
        assert_eq!(code(&e), INVALID_DATA);
    }
}

#[test]
fn strings_stop_at_nul_and_skip_one_bom() {
    // Bytes after the first NUL are not checked, but are consumed.
    let b = string_bytes(b"ab\0\xff\xff");
    assert_eq!(decode(&b).unwrap(), (Variant::String("ab".into()), b.len()));
    let b = string_bytes(b"\xef\xbb\xbfhi");
    assert_eq!(decode(&b).unwrap().0, Variant::String("hi".into()));
}

#[test]
fn node_path_bad_forms_are_invalid_data() {
    // Bit 31 of the name count clear: the 2.x format.
    let e = err(&words(&[22, 1, 0, 0]));
    assert_eq!(e, DecodeError::NodePathOldFormat { offset: 4 });
    assert_eq!(code(&e), INVALID_DATA);
    // Fewer than 12 bytes.
    let e = err(&words(&[22, 0x8000_0000, 0]));
    assert!(matches!(
        e,
        DecodeError::Truncated {
            what: "NodePath",
            ..
        }
    ));
    assert_eq!(code(&e), INVALID_DATA);
    // Names missing: the string error.
    assert_eq!(
        code(&err(&words(&[22, 0x8000_0002, 0, 0, 0]))),
        INVALID_DATA
    );
    // Obsolete flag bit 1: one extra subname.
    let mut b = words(&[22, 0x8000_0001, 0, 2]);
    b.extend(string_bytes(b"a").iter().skip(4));
    b.extend(string_bytes(b"x").iter().skip(4));
    let v = decode(&b).unwrap().0;
    assert_eq!(
        v,
        NodePath {
            names: vec!["a".into()],
            subnames: vec!["x".into()],
            absolute: false
        }
        .into()
    );
}

fn full_object(class: &str, props: &[(&str, Variant)]) -> Vec<u8> {
    let v = Variant::from(Object::Full {
        class: class.into(),
        properties: props
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
    });
    let mut out = Vec::new();
    encode_with(
        &v,
        &mut out,
        EncodeOptions {
            full_objects: true,
            ..Default::default()
        },
    )
    .unwrap();
    out
}

#[test]
fn full_objects_are_unauthorized_unless_allowed() {
    let b = full_object("Node", &[("name", "n".into())]);
    let e = err(&b);
    assert_eq!(e, DecodeError::ObjectsNotAllowed { offset: 0 });
    assert_eq!(code(&e), UNAUTHORIZED);
    // Nested: the element's error.
    let mut nested = words(&[28, 1]);
    nested.extend_from_slice(&b);
    assert_eq!(err(&nested), DecodeError::ObjectsNotAllowed { offset: 8 });
    // Allowed: decodes.
    let (v, used) = decode_with(
        &b,
        DecodeOptions {
            allow_objects: true,
        },
    )
    .unwrap();
    assert_eq!(used, b.len());
    assert!(
        matches!(&v, Variant::Object(o) if matches!(&**o, Object::Full { class, .. } if class == "Node"))
    );
    // Objects as ids are always accepted.
    assert_eq!(
        decode(&words(&[0x1_0018, 7, 0])).unwrap().0,
        Object::Id(7).into()
    );
    assert_eq!(
        decode(&words(&[0x1_0018, 0, 0])).unwrap().0,
        Object::Null.into()
    );
    // An empty class name is a null object.
    let e = decode_with(
        &words(&[24, 0]),
        DecodeOptions {
            allow_objects: true,
        },
    )
    .unwrap();
    assert_eq!(e, (Object::Null.into(), 8));
    // Full objects cannot be encoded as ids.
    let v = Variant::from(Object::Full {
        class: "Node".into(),
        properties: vec![],
    });
    let e = to_bytes(&v).unwrap_err();
    assert_eq!(e, EncodeError::FullObjectNeedsFullObjects);
    assert_eq!(e.godot_code(), 31);
}

#[test]
fn object_script_must_be_a_res_path() {
    let ok = full_object("Node", &[("script", "res://a.gd".into())]);
    decode_with(
        &ok,
        DecodeOptions {
            allow_objects: true,
        },
    )
    .unwrap();
    let ok = full_object("Node", &[("script", Variant::Nil)]);
    decode_with(
        &ok,
        DecodeOptions {
            allow_objects: true,
        },
    )
    .unwrap();
    for bad in [Variant::from("user://a.gd"), Variant::Int(3)] {
        let e = err_objects(&full_object("Node", &[("script", bad)]));
        assert!(matches!(e, DecodeError::InvalidScript { .. }), "{e:?}");
        assert_eq!(code(&e), INVALID_DATA);
    }
}

#[test]
fn typed_array_bad_headers() {
    // Element type >= 39.
    let e = err(&words(&[0x1_001c, 39, 0]));
    assert_eq!(
        e,
        DecodeError::InvalidArrayType {
            type_id: 39,
            offset: 4
        }
    );
    assert_eq!(code(&e), INVALID_DATA);
    // Element type word missing.
    assert_eq!(code(&err(&words(&[0x1_001c]))), INVALID_DATA);
    // Script kind with objects allowed: the path must be res://.
    let mut b = words(&[0x3_001c]);
    b.extend(string_bytes(b"user://x.gd").iter().skip(4));
    b.extend(words(&[0]));
    let e = err_objects(&b);
    assert!(matches!(e, DecodeError::InvalidScript { .. }));
    assert_eq!(code(&e), INVALID_DATA);
    // Without objects the path is not checked and the type becomes EncodedObjectAsID.
    let v = decode(&b).unwrap().0;
    assert_eq!(
        v.as_array().unwrap().element_type,
        ArrayType::Class(ENCODED_OBJECT_AS_ID.into())
    );
    // Array[Object] by built-in type, without objects: EncodedObjectAsID too.
    let v = decode(&words(&[0x1_001c, 24, 0])).unwrap().0;
    assert_eq!(
        v.as_array().unwrap().element_type,
        ArrayType::Class(ENCODED_OBJECT_AS_ID.into())
    );
}

#[test]
fn packed_counts_negative_huge_or_past_end_are_invalid_data() {
    for ty in [
        29u32, 30, 31, 32, 33, 35, 36, 37, 38, 0x1_0023, 0x1_0024, 0x1_0026,
    ] {
        for count in [0xFFFF_FFFFu32, 0x8000_0000, 0x7FFF_FFFF, 0x4000_0000, 5] {
            let e = err(&words(&[ty, count, 0]));
            assert!(
                matches!(e, DecodeError::BadPackedCount { offset: 4, .. }),
                "{ty:#x} {count:#x}: {e:?}"
            );
            assert_eq!(code(&e), INVALID_DATA);
        }
        assert_eq!(code(&err(&words(&[ty]))), INVALID_DATA, "missing count");
    }
    // PackedStringArray: a negative count is an empty array.
    assert_eq!(
        decode(&words(&[34, 0xFFFF_FFFF])).unwrap(),
        (Variant::PackedStringArray(vec![]), 8)
    );
}

#[test]
fn count_0x7fffffff_with_8_bytes_left_fails_fast() {
    // Arrays, dictionaries and every packed array: the count is not trusted for allocation,
    // and the element loop ends as soon as the bytes do.
    let mut headers = vec![27u32, 28, 34];
    headers.extend(29..=38);
    for ty in headers {
        let b = words(&[ty, 0x7FFF_FFFF, 0, 0]);
        let e = err(&b);
        assert!(
            matches!(
                e,
                DecodeError::TruncatedHeader { .. }
                    | DecodeError::BadPackedCount { .. }
                    | DecodeError::Truncated { .. }
                    | DecodeError::StringOverrun { .. }
            ),
            "{ty}: {e:?}"
        );
    }
    // NodePath and object property counts too.
    assert!(decode(&words(&[22, 0xFFFF_FFFF, 0x7FFF_FFFF, 0, 0, 0])).is_err());
    let mut o = words(&[24]);
    o.extend(string_bytes(b"Node").iter().skip(4));
    o.extend(words(&[0x7FFF_FFFF, 0, 0]));
    assert!(err_objects(&o).godot_code() > 0);
}

fn nested_arrays(levels: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(levels * 8);
    for i in 0..levels {
        b.extend(words(&[28, u32::from(i + 1 < levels)]));
    }
    b
}

#[test]
fn nesting_limit_is_1024_levels() {
    // 1025 arrays: the innermost is at depth 1024, the deepest allowed.
    let ok = nested_arrays(1025);
    let (v, used) = decode(&ok).unwrap();
    assert_eq!(used, ok.len());
    assert_eq!(to_bytes(&v).unwrap(), ok);
    // One more level is "Variant is too deep": ERR_OUT_OF_MEMORY.
    let e = err(&nested_arrays(1026));
    assert_eq!(e, DecodeError::TooDeep { offset: 1025 * 8 });
    assert_eq!(code(&e), OUT_OF_MEMORY);
    // The encoder has the same limit.
    let mut deep = Variant::Nil;
    for _ in 0..1025 {
        deep = vec![deep].into();
    }
    let e = to_bytes(&deep).unwrap_err();
    assert_eq!(e, EncodeError::TooDeep);
    assert_eq!(e.godot_code(), OUT_OF_MEMORY);
}

#[test]
fn nesting_100000_arrays_is_too_deep_not_a_stack_overflow() {
    let e = err(&nested_arrays(100_000));
    assert_eq!(e, DecodeError::TooDeep { offset: 1025 * 8 });
    assert_eq!(code(&e), OUT_OF_MEMORY);
    // Dictionaries nest the same way (through keys or values).
    let mut b = Vec::new();
    for _ in 0..100_000 {
        b.extend(words(&[27, 1, 0]));
    }
    assert_eq!(code(&err(&b)), OUT_OF_MEMORY);
}

#[test]
fn lenient_forms_godot_accepts() {
    // Unknown flag bits ignored.
    assert_eq!(
        decode(&words(&[0x0001_0001, 1])).unwrap().0,
        Variant::Bool(true)
    );
    assert_eq!(
        decode(&words(&[0xFF00_0000 | 2, 5])).unwrap().0,
        Variant::Int(5)
    );
    // Any non-zero bool is true.
    assert_eq!(decode(&words(&[1, 0x100])).unwrap().0, Variant::Bool(true));
    // Bit 31 of array and dictionary counts ignored.
    assert_eq!(
        decode(&words(&[28, 0x8000_0000])).unwrap().0,
        Variant::from(Vec::<Variant>::new())
    );
    assert_eq!(
        decode(&words(&[27, 0x8000_0000])).unwrap().0,
        Dictionary::new().into()
    );
    // A PackedByteArray whose padding is cut off by the end of the buffer.
    assert_eq!(
        decode(&[29, 0, 0, 0, 1, 0, 0, 0, 7]).unwrap(),
        (Variant::PackedByteArray(vec![7]), 9)
    );
    // Repeated dictionary key: the later value wins, the first position stays.
    let b = words(&[27, 2, 2, 1, 2, 10, 2, 1, 2, 20]);
    let d = decode(&b).unwrap().0;
    assert_eq!(d.to_string(), "{1: 20}");
    // PackedStringArray element lengths with or without the NUL.
    let b = [34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'x', 0, 0, 0];
    assert_eq!(
        decode(&b).unwrap().0,
        Variant::PackedStringArray(vec!["x".into()])
    );
}

#[test]
fn encode_error_leaves_output_untouched() {
    let mut out = vec![1, 2, 3];
    let v: Variant = vec![
        Variant::Int(1),
        Object::Full {
            class: "X".into(),
            properties: vec![],
        }
        .into(),
    ]
    .into();
    assert!(encode(&v, &mut out).is_err());
    assert_eq!(out, [1, 2, 3]);
}

/// A capacity hint of any size is safe (it used to panic with "capacity overflow", or abort
/// on a failed allocation), and the dictionary still works beyond the reserved room.
#[test]
fn any_dictionary_capacity_hint_is_safe() {
    for n in [
        usize::MAX,
        usize::MAX / 2,
        1 << 40,
        Dictionary::MAX_CAPACITY_HINT + 1,
        0,
    ] {
        let mut d = Dictionary::with_capacity(n);
        for i in 0..200 {
            d.insert(Variant::Int(i), Variant::Int(i * 2));
        }
        assert_eq!(d.len(), 200);
        assert_eq!(d.get(&Variant::Int(150)), Some(&Variant::Int(300)));
    }
}
