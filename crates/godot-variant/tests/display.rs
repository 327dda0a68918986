//! `Display` (Godot 4.3 `var_to_str` style, one line) and the `From` / `TryFrom` conversions.

use godot_variant::*;

fn s(v: impl Into<Variant>) -> String {
    v.into().to_string()
}

#[test]
fn issue_example_dictionary() {
    let mut d = Dictionary::new();
    d.insert("hp", 5);
    d.insert("pos", Vector2::new(1.5, -2.25));
    assert_eq!(s(d), r#"{"hp": 5, "pos": Vector2(1.5, -2.25)}"#);
    assert_eq!(s(Dictionary::new()), "{}");
}

#[test]
fn floats_follow_rtos_fix_and_percent_lg() {
    // FLOAT values read back as floats: ".0" when there is no '.' and no 'e'.
    assert_eq!(s(1.0), "1.0");
    assert_eq!(s(-3.0), "-3.0");
    assert_eq!(s(0.0), "0.0");
    assert_eq!(s(-0.0), "0.0"); // rtos_fix writes -0 as 0
    assert_eq!(s(0.1), "0.1");
    assert_eq!(s(0.5), "0.5");
    // %lg: six significant digits, exponent form below 1e-4 and from 1e6 on.
    assert_eq!(s(1.2345678), "1.23457");
    assert_eq!(s(123456.0), "123456.0");
    assert_eq!(s(1234567.0), "1.23457e+06");
    assert_eq!(s(1e6), "1e+06");
    assert_eq!(s(1e20), "1e+20");
    assert_eq!(s(0.0001), "0.0001");
    assert_eq!(s(0.00001), "1e-05");
    assert_eq!(s(-2.5e-300), "-2.5e-300");
    assert_eq!(s(f64::INFINITY), "inf");
    assert_eq!(s(f64::NEG_INFINITY), "inf_neg");
    assert_eq!(s(f64::NAN), "nan");
    // Components of math types get no ".0".
    assert_eq!(s(Vector2::new(1.0, 2.0)), "Vector2(1, 2)");
    assert_eq!(s(Vector3::new(0.1, -0.0, 1e7)), "Vector3(0.1, 0, 1e+07)");
}

#[test]
fn every_type_has_godot_text() {
    let cases: Vec<(Variant, &str)> = vec![
        (Variant::Nil, "null"),
        (true.into(), "true"),
        ((-7).into(), "-7"),
        ("héllo \"q\" \\ \n".into(), "\"héllo \\\"q\\\" \\\\ \n\""),
        (Vector2i::new(1, -1).into(), "Vector2i(1, -1)"),
        (
            Rect2::from_array([1.0, 2.0, 3.0, 4.5]).into(),
            "Rect2(1, 2, 3, 4.5)",
        ),
        (
            Rect2i::from_array([1, 2, 3, 4]).into(),
            "Rect2i(1, 2, 3, 4)",
        ),
        (Vector3i::new(1, 2, 3).into(), "Vector3i(1, 2, 3)"),
        (
            Transform2D::IDENTITY.into(),
            "Transform2D(1, 0, 0, 1, 0, 0)",
        ),
        (
            Vector4::new(1.0, 2.0, 3.0, 4.0).into(),
            "Vector4(1, 2, 3, 4)",
        ),
        (Vector4i::new(1, 2, 3, 4).into(), "Vector4i(1, 2, 3, 4)"),
        (
            Plane::from_array([0.0, 1.0, 0.0, 2.0]).into(),
            "Plane(0, 1, 0, 2)",
        ),
        (Quaternion::IDENTITY.into(), "Quaternion(0, 0, 0, 1)"),
        (
            Aabb::from_array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]).into(),
            "AABB(0, 0, 0, 1, 1, 1)",
        ),
        (Basis::IDENTITY.into(), "Basis(1, 0, 0, 0, 1, 0, 0, 0, 1)"),
        (
            Transform3D {
                basis: Basis::IDENTITY,
                origin: Vector3::new(1.0, 2.0, 3.0),
            }
            .into(),
            "Transform3D(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3)",
        ),
        (
            Projection::default().into(),
            "Projection(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
        ),
        (Color::new(1.0, 0.5, 0.0, 1.0).into(), "Color(1, 0.5, 0, 1)"),
        (StringName("a\nb".into()).into(), "&\"a\\nb\""),
        (
            NodePath::parse("/root/Main").into(),
            "NodePath(\"/root/Main\")",
        ),
        (
            NodePath::parse("Sprite:position:x").into(),
            "NodePath(\"Sprite:position:x\")",
        ),
        (Rid(0).into(), "RID()"),
        (Rid(42).into(), "RID(42)"),
        (Object::Null.into(), "null"),
        (
            Object::Id(4660).into(),
            "Object(EncodedObjectAsID,\"object_id\":4660)",
        ),
        (
            Object::Full {
                class: "Node".into(),
                properties: vec![("name".into(), "n".into()), ("x".into(), 1.into())],
            }
            .into(),
            "Object(Node,\"name\":\"n\",\"x\":1)",
        ),
        (Variant::Callable, "Callable()"),
        (
            Signal {
                name: "ready".into(),
                object: 1,
            }
            .into(),
            "Signal()",
        ),
        (
            vec![Variant::from(1), "a".into(), vec![Variant::Nil].into()].into(),
            "[1, \"a\", [null]]",
        ),
        (
            Array::typed(ArrayType::Builtin(VariantType::Int), vec![1.into()]).into(),
            "Array[int]([1])",
        ),
        (
            Array::typed(ArrayType::Class("Node".into()), vec![]).into(),
            "Array[Node]([])",
        ),
        (
            Array::typed(ArrayType::Script("res://a.gd".into()), vec![]).into(),
            "Array[Resource(\"res://a.gd\")]([])",
        ),
        (vec![1u8, 2, 3].into(), "PackedByteArray(1, 2, 3)"),
        (vec![1i32, -2].into(), "PackedInt32Array(1, -2)"),
        (vec![1i64 << 40].into(), "PackedInt64Array(1099511627776)"),
        (vec![0.5f32, 1.0].into(), "PackedFloat32Array(0.5, 1)"),
        (vec![0.25f64].into(), "PackedFloat64Array(0.25)"),
        (
            vec!["a\"".to_string(), "é".into()].into(),
            "PackedStringArray(\"a\\\"\", \"é\")",
        ),
        (
            vec![Vector2::new(1.0, 2.0), Vector2::new(3.0, 4.0)].into(),
            "PackedVector2Array(1, 2, 3, 4)",
        ),
        (
            vec![Vector3::new(1.0, 2.0, 3.0)].into(),
            "PackedVector3Array(1, 2, 3)",
        ),
        (
            vec![Color::new(0.0, 0.0, 0.0, 1.0)].into(),
            "PackedColorArray(0, 0, 0, 1)",
        ),
        (Vec::<Vector4>::new().into(), "PackedVector4Array()"),
    ];
    assert_eq!(cases.len(), 42);
    for (v, text) in cases {
        assert_eq!(v.to_string(), text, "{v:?}");
    }
    assert_eq!(VariantType::Aabb.to_string(), "AABB");
}

#[test]
fn from_and_try_from_round_trip() {
    assert_eq!(bool::try_from(Variant::from(true)), Ok(true));
    assert_eq!(i64::try_from(Variant::from(5u32)), Ok(5));
    assert_eq!(i32::try_from(Variant::from(-5i8)), Ok(-5));
    assert_eq!(
        u8::try_from(Variant::from(300)),
        Err(FromVariantError {
            expected: VariantType::Int,
            found: VariantType::Int
        })
    );
    assert_eq!(f64::try_from(Variant::from(2.5f32)), Ok(2.5));
    assert_eq!(
        f64::try_from(Variant::from(3)),
        Ok(3.0),
        "int converts to float, as in Godot"
    );
    assert_eq!(String::try_from(Variant::from("x")), Ok("x".to_string()));
    assert_eq!(
        Vec::<u8>::try_from(Variant::from(&[1u8, 2][..])),
        Ok(vec![1, 2])
    );
    let arr = Variant::from(vec![Variant::from(1), Variant::Nil]);
    assert_eq!(
        Vec::<Variant>::try_from(arr),
        Ok(vec![Variant::Int(1), Variant::Nil])
    );
    assert_eq!(
        Vector2::try_from(Variant::from(Vector2::new(1.0, 2.0))),
        Ok(Vector2::new(1.0, 2.0))
    );
    assert_eq!(
        Basis::try_from(Variant::from(Basis::IDENTITY)),
        Ok(Basis::IDENTITY)
    );
    assert_eq!(Variant::from(None::<i32>), Variant::Nil);
    assert_eq!(Variant::from(Some(3)), Variant::Int(3));
    let e = String::try_from(Variant::from(1)).unwrap_err();
    assert_eq!(
        e,
        FromVariantError {
            expected: VariantType::String,
            found: VariantType::Int
        }
    );
    assert_eq!(e.to_string(), "expected String, found int");
    let d: Dictionary = [("a", 1)].into_iter().collect();
    assert_eq!(Dictionary::try_from(Variant::from(d.clone())), Ok(d));
}

#[test]
fn dictionary_keeps_order_and_godot_key_rules() {
    let mut d = Dictionary::new();
    for i in 0..50 {
        d.insert(format!("k{i}"), i);
    }
    d.insert("k3", "replaced");
    assert_eq!(d.len(), 50);
    assert_eq!(d.keys().nth(3), Some(&Variant::from("k3")));
    assert_eq!(d.get_str("k3"), Some(&Variant::from("replaced")));
    // 1 and 1.0 are different keys; NaN finds NaN; 0.0 finds -0.0.
    d.insert(1, "int");
    d.insert(1.0, "float");
    d.insert(f64::NAN, "nan");
    d.insert(0.0, "zero");
    assert_eq!(d.get(&Variant::Int(1)), Some(&Variant::from("int")));
    assert_eq!(d.get(&Variant::Float(1.0)), Some(&Variant::from("float")));
    assert_eq!(
        d.get(&Variant::Float(f64::NAN)),
        Some(&Variant::from("nan"))
    );
    assert_eq!(d.get(&Variant::Float(-0.0)), Some(&Variant::from("zero")));
    assert_eq!(d.remove(&Variant::from("k0")), Some(Variant::Int(0)));
    assert_eq!(d.keys().next(), Some(&Variant::from("k1")));
    assert_eq!(d.get_str("k49"), Some(&Variant::Int(49)));
    // Equality ignores order, as Godot's does.
    let a: Dictionary = [("x", 1), ("y", 2)].into_iter().collect();
    let b: Dictionary = [("y", 2), ("x", 1)].into_iter().collect();
    assert_eq!(a, b);
    assert!(
        !Variant::from(a).identical(&b.into()),
        "identical is order-sensitive"
    );
}
