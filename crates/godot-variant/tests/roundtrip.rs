//! Property tests: arbitrary nested Variants of every type encode and decode back to an
//! identical value (floats compared by bit pattern, so NaN payloads and -0.0 must survive).

use godot_variant::*;
use proptest::prelude::*;

fn f32s() -> impl Strategy<Value = f32> {
    prop_oneof![
        proptest::num::f32::ANY,
        any::<u32>().prop_map(f32::from_bits),
        Just(f32::MAX),
        Just(f32::MIN_POSITIVE),
        Just(-0.0f32),
    ]
}

fn f64s() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::ANY,
        any::<u64>().prop_map(f64::from_bits),
        f32s().prop_map(f64::from),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(-0.0),
    ]
}

fn i64s() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        any::<i32>().prop_map(i64::from),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i32::MIN as i64 - 1),
        Just(i32::MAX as i64 + 1),
    ]
}

/// Strings as Godot can carry them: no NUL (the decoder stops there) and no leading BOM.
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| {
        s.replace('\0', "")
            .trim_start_matches('\u{feff}')
            .to_owned()
    })
}

fn v2() -> impl Strategy<Value = Vector2> {
    (f32s(), f32s()).prop_map(|(x, y)| Vector2::new(x, y))
}
fn v3() -> impl Strategy<Value = Vector3> {
    [f32s(), f32s(), f32s()].prop_map(Vector3::from_array)
}
fn v4() -> impl Strategy<Value = Vector4> {
    [f32s(), f32s(), f32s(), f32s()].prop_map(Vector4::from_array)
}

fn leaf() -> impl Strategy<Value = Variant> {
    let a = prop_oneof![
        Just(Variant::Nil),
        any::<bool>().prop_map(Variant::Bool),
        i64s().prop_map(Variant::Int),
        f64s().prop_map(Variant::Float),
        text().prop_map(Variant::String),
        v2().prop_map(Variant::Vector2),
        any::<[i32; 2]>().prop_map(|a| Vector2i::from_array(a).into()),
        [f32s(), f32s(), f32s(), f32s()].prop_map(|a| Rect2::from_array(a).into()),
        any::<[i32; 4]>().prop_map(|a| Rect2i::from_array(a).into()),
        v3().prop_map(Variant::Vector3),
        any::<[i32; 3]>().prop_map(|a| Vector3i::from_array(a).into()),
        proptest::array::uniform6(f32s()).prop_map(|a| Transform2D::from_array(a).into()),
        v4().prop_map(Variant::Vector4),
        any::<[i32; 4]>().prop_map(|a| Vector4i::from_array(a).into()),
        v4().prop_map(|v| Plane::from_array(v.to_array()).into()),
        v4().prop_map(|v| Quaternion::from_array(v.to_array()).into()),
    ];
    let b = prop_oneof![
        proptest::array::uniform6(f32s()).prop_map(|a| Aabb::from_array(a).into()),
        proptest::array::uniform9(f32s()).prop_map(|a| Basis::from_array(a).into()),
        proptest::array::uniform12(f32s()).prop_map(|a| Transform3D::from_array(a).into()),
        proptest::array::uniform16(f32s()).prop_map(|a| Projection::from_array(a).into()),
        v4().prop_map(|v| Color::from_array(v.to_array()).into()),
        text().prop_map(|s| StringName(s).into()),
        (
            prop::collection::vec(text(), 0..4),
            prop::collection::vec(text(), 0..3),
            any::<bool>()
        )
            .prop_map(|(names, subnames, absolute)| NodePath {
                names,
                subnames,
                absolute
            }
            .into()),
        any::<u64>().prop_map(|r| Rid(r).into()),
        (1..=u64::MAX).prop_map(|id| Object::Id(id).into()),
        Just(Variant::Callable),
        (text(), any::<u64>()).prop_map(|(name, object)| Signal { name, object }.into()),
    ];
    let c = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Variant::PackedByteArray),
        prop::collection::vec(any::<i32>(), 0..8).prop_map(Variant::PackedInt32Array),
        prop::collection::vec(i64s(), 0..8).prop_map(Variant::PackedInt64Array),
        prop::collection::vec(f32s(), 0..8).prop_map(Variant::PackedFloat32Array),
        prop::collection::vec(f64s(), 0..8).prop_map(Variant::PackedFloat64Array),
        prop::collection::vec(text(), 0..5).prop_map(Variant::PackedStringArray),
        prop::collection::vec(v2(), 0..5).prop_map(Variant::PackedVector2Array),
        prop::collection::vec(v3(), 0..5).prop_map(Variant::PackedVector3Array),
        prop::collection::vec(v4().prop_map(|v| Color::from_array(v.to_array())), 0..5)
            .prop_map(Variant::PackedColorArray),
        prop::collection::vec(v4(), 0..5).prop_map(Variant::PackedVector4Array),
    ];
    prop_oneof![a, b, c]
}

fn array_type() -> impl Strategy<Value = ArrayType> {
    prop_oneof![
        Just(ArrayType::Untyped),
        (0u32..39).prop_map(|t| ArrayType::Builtin(VariantType::from_id(t).unwrap())),
        text().prop_map(|c| ArrayType::Class(c.into())),
        text().prop_map(|p| ArrayType::Script(format!("res://{p}").into())),
    ]
}

fn variant() -> impl Strategy<Value = Variant> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            (array_type(), prop::collection::vec(inner.clone(), 0..8))
                .prop_map(|(t, items)| Array::typed(t, items).into()),
            prop::collection::vec((inner.clone(), inner.clone()), 0..12)
                .prop_map(|kv| kv.into_iter().collect::<Dictionary>().into()),
            (
                text().prop_filter("class", |c| !c.is_empty()),
                prop::collection::vec(
                    (text().prop_filter("script", |n| n != "script"), inner),
                    0..4
                )
            )
                .prop_map(|(class, properties)| Object::Full { class, properties }.into()),
        ]
    })
}

const FULL: EncodeOptions = EncodeOptions {
    full_objects: true,
    double_reals: false,
};
const ALLOW: DecodeOptions = DecodeOptions {
    allow_objects: true,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The non-codec surface on any value: `Display` (Godot's `var_to_str`), `Debug`, the
    /// accessors, the type table and both equalities never panic, and a value is equal to
    /// itself under Godot's key rules (NaN included) and identical to itself.
    #[test]
    fn display_accessors_and_equality_take_any_value(v in variant(), id in any::<u32>()) {
        let _ = (v.to_string(), format!("{v:?}"));
        let _ = (v.as_str(), v.as_int(), v.as_float(), v.as_bool(), v.as_dictionary(), v.as_array());
        let t = v.get_type();
        prop_assert_eq!(VariantType::from_id(t.id()), Some(t));
        prop_assert!(!t.name().is_empty());
        prop_assert_eq!(VariantType::from_id(id).is_some(), id <= 38);
        prop_assert!(v.key_eq(&v), "{:?}", v);
        prop_assert!(v.identical(&v), "{:?}", v);
        prop_assert!(v.key_eq(&v.clone()));
    }

    #[test]
    fn roundtrip_identical(v in variant()) {
        let mut bytes = Vec::new();
        encode_with(&v, &mut bytes, FULL).unwrap();
        prop_assert_eq!(bytes.len() % 4, 0, "every encoding is a multiple of 4 bytes");
        let (back, used) = decode_with(&bytes, ALLOW).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert!(back.identical(&v), "{:?}\n!=\n{:?}", back, v);
        // Re-encoding gives the same bytes.
        let mut again = Vec::new();
        encode_with(&back, &mut again, FULL).unwrap();
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn roundtrip_double_precision_reals(v in variant()) {
        // A double build's encoding (64-bit reals, flag set) decodes to the same f32 values.
        let opts = EncodeOptions { full_objects: true, double_reals: true };
        let mut wide = Vec::new();
        encode_with(&v, &mut wide, opts).unwrap();
        let (back, used) = decode_with(&wide, ALLOW).unwrap();
        prop_assert_eq!(used, wide.len());
        // Narrowing a NaN (f32 -> f64 -> f32) may change its payload bits, so NaNs compare
        // as Godot's key equality does; everything else must be identical.
        prop_assert!(back.key_eq(&v), "{:?}\n!=\n{:?}", back, v);
    }

    #[test]
    fn trailing_bytes_are_ignored(v in variant(), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = Vec::new();
        encode_with(&v, &mut bytes, FULL).unwrap();
        let n = bytes.len();
        bytes.extend_from_slice(&tail);
        let (back, used) = decode_with(&bytes, ALLOW).unwrap();
        prop_assert_eq!(used, n);
        prop_assert!(back.identical(&v));
    }

    #[test]
    fn every_proper_prefix_fails_cleanly(v in variant()) {
        let mut bytes = Vec::new();
        encode_with(&v, &mut bytes, FULL).unwrap();
        for cut in 0..bytes.len() {
            // A cut-off PackedByteArray padding still decodes (Godot's leniency); anything else
            // shorter than the whole must fail, never panic.
            if let Ok((_, used)) = decode_with(&bytes[..cut], ALLOW) {
                prop_assert!(used <= cut);
                prop_assert!(bytes.len() - cut <= 3, "a prefix {} of {} decoded", cut, bytes.len());
            }
        }
    }

    #[test]
    fn without_full_objects_objects_need_ids(v in variant()) {
        let mut bytes = Vec::new();
        match encode(&v, &mut bytes) {
            Ok(()) => {
                // Default options: no full object is ever written, so a default decode succeeds.
                let (_, used) = decode(&bytes).unwrap();
                prop_assert_eq!(used, bytes.len());
            }
            Err(e) => {
                prop_assert_eq!(e, EncodeError::FullObjectNeedsFullObjects);
                prop_assert!(bytes.is_empty(), "output untouched on error");
            }
        }
    }
}

#[test]
fn variant_is_32_bytes() {
    // The memory bound of decoding rests on this.
    assert_eq!(std::mem::size_of::<Variant>(), 32);
}

#[test]
fn extreme_numbers_roundtrip() {
    let values: Vec<Variant> = vec![
        i64::MIN.into(),
        i64::MAX.into(),
        (i32::MIN as i64).into(),
        (i32::MAX as i64).into(),
        f64::MAX.into(),
        f64::MIN.into(),
        f64::INFINITY.into(),
        f64::NEG_INFINITY.into(),
        5e-324.into(),
        f64::from_bits(0x7FF0_0000_0000_0001).into(), // signalling NaN
        f64::from_bits(0xFFF8_0000_0000_1234).into(),
        Vector2::new(f32::MAX, f32::from_bits(0x7FC0_1234)).into(),
        vec![f64::NAN, -0.0, 1e300].into(),
    ];
    for v in values {
        let bytes = to_bytes(&v).unwrap();
        let (back, _) = decode(&bytes).unwrap();
        assert!(back.identical(&v), "{v:?}");
    }
    // Floats outside f32 take 64 bits; ±inf and f32-exact values take 32.
    assert_eq!(to_bytes(&f64::INFINITY.into()).unwrap().len(), 8);
    assert_eq!(to_bytes(&1e300.into()).unwrap().len(), 12);
    assert_eq!(to_bytes(&f64::NAN.into()).unwrap().len(), 12);
}
