//! Every test vector of the spec's §A.9 (godot-variant-and-scene-multiplayer.md), one test each.
//! #10 only illustrates a structure (engine-specific property list) and is not a vector.

use godot_variant::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn enc(v: &Variant, full_objects: bool) -> Vec<u8> {
    let mut out = Vec::new();
    encode_with(
        v,
        &mut out,
        EncodeOptions {
            full_objects,
            ..Default::default()
        },
    )
    .unwrap();
    out
}

/// Encodes `v` to exactly `bytes`, and decodes `bytes` (all of them) back to `v`.
fn vector(v: Variant, bytes: &str) {
    vector_with(v, bytes, false)
}

fn vector_with(v: Variant, bytes: &str, objects: bool) {
    let want = hex(bytes);
    assert_eq!(enc(&v, objects), want, "encoding of {v:?}");
    let (back, used) = decode_with(
        &want,
        DecodeOptions {
            allow_objects: objects,
        },
    )
    .unwrap();
    assert_eq!(used, want.len(), "decoded length");
    assert!(back.identical(&v), "decoded {back:?}, expected {v:?}");
}

fn arr(items: Vec<Variant>) -> Variant {
    Variant::from(items)
}

#[test]
fn v01_null() {
    vector(Variant::Nil, "00 00 00 00");
}
#[test]
fn v02_int32() {
    vector(Variant::Int(0x12345678), "02 00 00 00 78 56 34 12");
}
#[test]
fn v03_int64() {
    assert_eq!(0x0F123456789ABCDEFu64 as i64, -1070935975390360081);
    vector(
        Variant::Int(-1070935975390360081),
        "02 00 01 00 ef cd ab 89 67 45 23 f1",
    );
}
#[test]
fn v04_float32() {
    vector(Variant::Float(0.15625), "03 00 00 00 00 00 20 3e");
}
#[test]
fn v05_float64() {
    #[allow(clippy::excessive_precision)]
    let third = 0.33333333333333333;
    vector(Variant::Float(third), "03 00 01 00 55 55 55 55 55 55 d5 3f");
}
#[test]
fn v06_typed_int_array_with_int64() {
    let a = Array::typed(
        ArrayType::Builtin(VariantType::Int),
        vec![Variant::Int(0x0F123456789ABCDEFu64 as i64)],
    );
    vector(
        a.into(),
        "1c 00 01 00 02 00 00 00 01 00 00 00 02 00 01 00 ef cd ab 89 67 45 23 f1",
    );
}
#[test]
fn v07_decode_invalid_type_and_short_buffer() {
    let e = decode(&hex("ff 00 00 00")).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::UnknownType {
                type_id: 0xff,
                offset: 0
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.godot_code(), 30);
    let e = decode(&[0x00]).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::TruncatedHeader {
                offset: 0,
                available: 1
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.godot_code(), 30);
}
#[test]
fn v08_float_array() {
    vector(
        arr(vec![1.2.into(), 3.4.into(), 5.600000000001.into()]),
        "1c 00 00 00 03 00 00 00 03 00 01 00 33 33 33 33 33 33 f3 3f 03 00 01 00 33 33 33 33 33 33 0b 40 03 00 01 00 cc 6a 66 66 66 66 16 40",
    );
}
#[test]
fn v09_array_with_object_as_id() {
    let id = 0x8000_0000_5800_0054u64;
    vector(
        arr(vec![42.into(), Object::Id(id).into(), true.into()]),
        "1c 00 00 00 03 00 00 00 02 00 00 00 2a 00 00 00 18 00 01 00 54 00 00 58 00 00 00 80 01 00 00 00 01 00 00 00",
    );
}
#[test]
fn v11_true() {
    vector(true.into(), "01 00 00 00 01 00 00 00");
}
#[test]
fn v12_false() {
    vector(false.into(), "01 00 00 00 00 00 00 00");
}
#[test]
fn v13_int_minus_one() {
    vector((-1).into(), "02 00 00 00 ff ff ff ff");
}
#[test]
fn v14_int_2_pow_31() {
    vector(2147483648i64.into(), "02 00 01 00 00 00 00 80 00 00 00 00");
}
#[test]
fn v15_int_minus_2_pow_31() {
    vector((-2147483648i64).into(), "02 00 00 00 00 00 00 80");
}
#[test]
fn v16_float_one() {
    vector(1.0.into(), "03 00 00 00 00 00 80 3f");
}
#[test]
fn v17_float_point_one() {
    vector(0.1.into(), "03 00 01 00 9a 99 99 99 99 99 b9 3f");
}
#[test]
fn v18_float_negative_zero() {
    vector((-0.0).into(), "03 00 00 00 00 00 00 80");
}
#[test]
fn v19_float_nan() {
    vector(
        f64::from_bits(0x7FF8_0000_0000_0000).into(),
        "03 00 01 00 00 00 00 00 00 00 f8 7f",
    );
}
#[test]
fn v20_string_hi() {
    vector("hi".into(), "04 00 00 00 02 00 00 00 68 69 00 00");
}
#[test]
fn v21_string_empty() {
    vector("".into(), "04 00 00 00 00 00 00 00");
}
#[test]
fn v22_string_no_padding() {
    vector("abcd".into(), "04 00 00 00 04 00 00 00 61 62 63 64");
}
#[test]
fn v23_string_utf8() {
    vector(
        "héllo".into(),
        "04 00 00 00 06 00 00 00 68 c3 a9 6c 6c 6f 00 00",
    );
}
#[test]
fn v24_string_name() {
    vector(
        StringName("hello".into()).into(),
        "15 00 00 00 05 00 00 00 68 65 6c 6c 6f 00 00 00",
    );
}
#[test]
fn v25_vector2() {
    vector(
        Vector2::new(1.5, -2.0).into(),
        "05 00 00 00 00 00 c0 3f 00 00 00 c0",
    );
}
#[test]
fn v26_vector2i() {
    vector(
        Vector2i::new(1, -1).into(),
        "06 00 00 00 01 00 00 00 ff ff ff ff",
    );
}
#[test]
fn v27_rect2i() {
    let r = Rect2i {
        position: Vector2i::new(1, 2),
        size: Vector2i::new(3, 4),
    };
    vector(
        r.into(),
        "08 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00",
    );
}
#[test]
fn v28_vector3() {
    vector(
        Vector3::new(0.0, 1.0, 0.0).into(),
        "09 00 00 00 00 00 00 00 00 00 80 3f 00 00 00 00",
    );
}
#[test]
fn v29_transform2d_identity() {
    vector(
        Transform2D::IDENTITY.into(),
        "0b 00 00 00 00 00 80 3f 00 00 00 00 00 00 00 00 00 00 80 3f 00 00 00 00 00 00 00 00",
    );
}
#[test]
fn v30_quaternion_identity() {
    vector(
        Quaternion::IDENTITY.into(),
        "0f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80 3f",
    );
}
#[test]
fn v31_color_red() {
    vector(
        Color::new(1.0, 0.0, 0.0, 1.0).into(),
        "14 00 00 00 00 00 80 3f 00 00 00 00 00 00 00 00 00 00 80 3f",
    );
}
#[test]
fn v32_node_path_absolute() {
    vector(
        NodePath::parse("/root/Main").into(),
        "16 00 00 00 02 00 00 80 00 00 00 00 01 00 00 00 04 00 00 00 72 6f 6f 74 04 00 00 00 4d 61 69 6e",
    );
}
#[test]
fn v33_node_path_subnames() {
    let p = NodePath::parse("Sprite:position:x");
    assert_eq!(p.names, ["Sprite"]);
    assert_eq!(p.subnames, ["position", "x"]);
    vector(
        p.into(),
        "16 00 00 00 01 00 00 80 02 00 00 00 00 00 00 00 06 00 00 00 53 70 72 69 74 65 00 00 08 00 00 00 70 6f 73 69 74 69 6f 6e 01 00 00 00 78 00 00 00",
    );
}
#[test]
fn v34_rid_empty() {
    vector(Rid(0).into(), "17 00 00 00 00 00 00 00 00 00 00 00");
}
#[test]
fn v35_callable() {
    vector(Variant::Callable, "19 00 00 00");
}
#[test]
fn v36_signal() {
    vector(
        Signal {
            name: "ready".into(),
            object: 0x10,
        }
        .into(),
        "1a 00 00 00 05 00 00 00 72 65 61 64 79 00 00 00 10 00 00 00 00 00 00 00",
    );
}
#[test]
fn v37_null_object_is_nil() {
    assert_eq!(enc(&Object::Null.into(), false), hex("00 00 00 00"));
    assert_eq!(enc(&Object::Null.into(), true), hex("00 00 00 00"));
    assert_eq!(decode(&hex("00 00 00 00")).unwrap(), (Variant::Nil, 4));
}
#[test]
fn v38_object_as_id() {
    vector(
        Object::Id(0x1234).into(),
        "18 00 01 00 34 12 00 00 00 00 00 00",
    );
}
#[test]
fn v39_dictionary() {
    let d: Dictionary = [("a", 1)].into_iter().collect();
    vector(
        d.into(),
        "1b 00 00 00 01 00 00 00 04 00 00 00 01 00 00 00 61 00 00 00 02 00 00 00 01 00 00 00",
    );
}
#[test]
fn v40_empty_array() {
    vector(arr(vec![]), "1c 00 00 00 00 00 00 00");
}
#[test]
fn v41_mixed_array() {
    vector(
        arr(vec![1.into(), "a".into()]),
        "1c 00 00 00 02 00 00 00 02 00 00 00 01 00 00 00 04 00 00 00 01 00 00 00 61 00 00 00",
    );
}
#[test]
fn v42_typed_string_array() {
    let a = Array::typed(ArrayType::Builtin(VariantType::String), vec!["x".into()]);
    vector(
        a.into(),
        "1c 00 01 00 04 00 00 00 01 00 00 00 04 00 00 00 01 00 00 00 78 00 00 00",
    );
}
#[test]
fn v43_typed_node_array_as_ids() {
    let bytes = "1c 00 02 00 11 00 00 00 45 6e 63 6f 64 65 64 4f 62 6a 65 63 74 41 73 49 44 00 00 00 00 00 00 00";
    let node = Variant::from(Array::typed(ArrayType::Class("Node".into()), vec![]));
    assert_eq!(enc(&node, false), hex(bytes));
    // Read back without objects, the array is typed as EncodedObjectAsID (Godot does the same).
    let as_id = Array::typed(ArrayType::Class(ENCODED_OBJECT_AS_ID.into()), vec![]);
    vector(as_id.into(), bytes);
}
#[test]
fn v44_typed_node_array_full_objects() {
    let node = Array::typed(ArrayType::Class("Node".into()), vec![]);
    vector_with(
        node.clone().into(),
        "1c 00 02 00 04 00 00 00 4e 6f 64 65 00 00 00 00",
        true,
    );
    // Without allow_objects the class is replaced, as in Godot.
    let (v, _) = decode(&hex("1c 00 02 00 04 00 00 00 4e 6f 64 65 00 00 00 00")).unwrap();
    assert_eq!(
        v.as_array().unwrap().element_type,
        ArrayType::Class(ENCODED_OBJECT_AS_ID.into())
    );
}
#[test]
fn v45_packed_bytes() {
    vector(
        vec![1u8, 2, 3].into(),
        "1d 00 00 00 03 00 00 00 01 02 03 00",
    );
}
#[test]
fn v46_packed_int32() {
    vector(
        vec![1i32, -1].into(),
        "1e 00 00 00 02 00 00 00 01 00 00 00 ff ff ff ff",
    );
}
#[test]
fn v47_packed_int64() {
    vector(
        vec![1i64].into(),
        "1f 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00",
    );
}
#[test]
fn v48_packed_float32() {
    vector(vec![0.5f32].into(), "20 00 00 00 01 00 00 00 00 00 00 3f");
}
#[test]
fn v49_packed_float64() {
    vector(
        vec![0.5f64].into(),
        "21 00 00 00 01 00 00 00 00 00 00 00 00 00 e0 3f",
    );
}
#[test]
fn v50_packed_strings() {
    vector(
        vec!["ab".to_string(), String::new()].into(),
        "22 00 00 00 02 00 00 00 03 00 00 00 61 62 00 00 01 00 00 00 00 00 00 00",
    );
}
#[test]
fn v51_packed_vector2() {
    vector(
        vec![Vector2::new(1.0, 2.0)].into(),
        "23 00 00 00 01 00 00 00 00 00 80 3f 00 00 00 40",
    );
}
#[test]
fn v52_packed_color() {
    vector(
        vec![Color::new(0.0, 0.0, 0.0, 1.0)].into(),
        "25 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80 3f",
    );
}
#[test]
fn v53_packed_vector4_empty() {
    vector(Vec::<Vector4>::new().into(), "26 00 00 00 00 00 00 00");
}
#[test]
fn a91_engine_checked_strings_and_vector2() {
    // §A.9.1: bytes produced by a real engine (Godot 3.2.3, ids 0–5 identical to 4.x).
    vector(
        "héllo wörld".into(),
        "04 00 00 00 0d 00 00 00 68 c3 a9 6c 6c 6f 20 77 c3 b6 72 6c 64 00 00 00",
    );
    vector(
        Vector2::new(1.5, -2.25).into(),
        "05 00 00 00 00 00 c0 3f 00 00 10 c0",
    );
    vector(1.2.into(), "03 00 01 00 33 33 33 33 33 33 f3 3f");
}
