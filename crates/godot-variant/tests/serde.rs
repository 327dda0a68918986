//! The `serde` feature: `cargo test -p godot-variant --features serde`.
#![cfg(feature = "serde")]

use godot_variant::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Action {
    Idle,
    Move(f32, f32),
    Say(String),
    Attack { target: u32, power: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Player {
    name: String,
    hp: i32,
    alive: bool,
    speed: f64,
    pos: (f32, f32),
    tags: Vec<String>,
    action: Action,
    pet: Option<String>,
    stats: BTreeMap<String, u16>,
}

fn player() -> Player {
    Player {
        name: "Zoë".into(),
        hp: 5,
        alive: true,
        speed: 0.1,
        pos: (1.5, -2.25),
        tags: vec!["a".into(), "b".into()],
        action: Action::Attack {
            target: 7,
            power: -1,
        },
        pet: None,
        stats: [("str".to_string(), 3u16)].into_iter().collect(),
    }
}

#[test]
fn struct_becomes_a_string_keyed_dictionary_in_field_order() {
    let v = to_variant(&player()).unwrap();
    assert_eq!(
        v.to_string(),
        r#"{"name": "Zoë", "hp": 5, "alive": true, "speed": 0.1, "pos": [1.5, -2.25], "tags": ["a", "b"], "action": {"Attack": {"target": 7, "power": -1}}, "pet": null, "stats": {"str": 3}}"#
    );
    let back: Player = from_variant(&v).unwrap();
    assert_eq!(back, player());
}

#[test]
fn through_the_wire_format() {
    // Rust struct -> Variant -> Godot bytes -> Variant -> Rust struct.
    let bytes = to_bytes(&to_variant(&player()).unwrap()).unwrap();
    let (v, _) = decode(&bytes).unwrap();
    assert_eq!(from_variant_owned::<Player>(v).unwrap(), player());
}

#[test]
fn enum_forms() {
    assert_eq!(to_variant(&Action::Idle).unwrap(), Variant::from("Idle"));
    assert_eq!(
        to_variant(&Action::Move(1.0, 2.0)).unwrap().to_string(),
        r#"{"Move": [1.0, 2.0]}"#
    );
    assert_eq!(
        to_variant(&Action::Say("hi".into())).unwrap().to_string(),
        r#"{"Say": "hi"}"#
    );
    for a in [
        Action::Idle,
        Action::Move(1.0, 2.0),
        Action::Say("x".into()),
        Action::Attack {
            target: 1,
            power: 2,
        },
    ] {
        assert_eq!(from_variant::<Action>(&to_variant(&a).unwrap()).unwrap(), a);
    }
    // A StringName works as a unit variant too (Godot code often uses them).
    assert_eq!(
        from_variant::<Action>(&StringName("Idle".into()).into()).unwrap(),
        Action::Idle
    );
}

#[test]
fn godot_types_read_as_plain_rust() {
    // Math types as component sequences; packed arrays as sequences; ints into floats.
    let (x, y): (f32, f32) = from_variant(&Vector2::new(1.5, 2.0).into()).unwrap();
    assert_eq!((x, y), (1.5, 2.0));
    let v: Vec<[f32; 3]> = from_variant(&vec![Vector3::new(1.0, 2.0, 3.0)].into()).unwrap();
    assert_eq!(v, [[1.0, 2.0, 3.0]]);
    let b: Vec<u8> = from_variant(&vec![1u8, 2].into()).unwrap();
    assert_eq!(b, [1, 2]);
    let f: f32 = from_variant(&Variant::Int(3)).unwrap();
    assert_eq!(f, 3.0);
    let s: String = from_variant(&NodePath::parse("/root/Main").into()).unwrap();
    assert_eq!(s, "/root/Main");
    let m: BTreeMap<i64, String> =
        from_variant(&[(1, "a")].into_iter().collect::<Dictionary>().into()).unwrap();
    assert_eq!(m[&1], "a");
}

#[test]
fn errors_are_typed() {
    assert_eq!(
        to_variant(&u64::MAX),
        Err(SerdeError::IntegerOverflow(u64::MAX.to_string()))
    );
    assert!(matches!(
        from_variant::<u8>(&Variant::Int(300)),
        Err(SerdeError::Custom(_))
    ));
    assert!(matches!(
        from_variant::<Player>(&Variant::Int(1)),
        Err(SerdeError::Custom(_))
    ));
    assert!(matches!(
        from_variant::<Action>(&Variant::Int(1)),
        Err(SerdeError::Custom(_))
    ));
    assert!(from_variant::<(i32, i32)>(&vec![Variant::from(1)].into()).is_err());
}
