//! `Dictionary` against a model (a list of pairs searched with `Variant::key_eq`) under
//! arbitrary calls in arbitrary order, from any capacity hint and across the size where the
//! hash index takes over: keys that only Godot's rules make equal (NaN and NaN, 0.0 and
//! -0.0 inside arrays too) are found through the index exactly as by a linear search, and
//! order, values and lengths always agree.

use godot_variant::{Dictionary, StringName, Variant};
use proptest::prelude::*;

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(1.0),
        Just(f64::INFINITY),
        (0i32..4).prop_map(f64::from),
    ]
}

fn key() -> impl Strategy<Value = Variant> {
    let leaf = prop_oneof![
        Just(Variant::Nil),
        any::<bool>().prop_map(Variant::Bool),
        (0i64..24).prop_map(Variant::Int),
        float().prop_map(Variant::Float),
        "[ab]{0,2}".prop_map(Variant::String),
        "[ab]{0,2}".prop_map(|s| Variant::StringName(StringName(s))),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        proptest::collection::vec(inner, 0..3).prop_map(Variant::from)
    })
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Variant, i64),
    Remove(Variant),
    Get(Variant),
    Set(Variant, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (key(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        1 => (key(), any::<i64>()).prop_map(|(k, v)| Op::Set(k, v)),
    ]
}

fn find(model: &[(Variant, Variant)], k: &Variant) -> Option<usize> {
    model.iter().position(|(m, _)| m.key_eq(k))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn dictionary_agrees_with_a_linear_model(
        hint in prop_oneof![Just(0usize), 0usize..20, Just(usize::MAX)],
        ops in proptest::collection::vec(op(), 0..80),
    ) {
        let mut d = Dictionary::with_capacity(hint);
        let mut model: Vec<(Variant, Variant)> = Vec::new();
        for op in &ops {
            match op {
                Op::Insert(k, v) => {
                    let old = d.insert(k.clone(), Variant::Int(*v));
                    let want = match find(&model, k) {
                        Some(i) => Some(std::mem::replace(&mut model[i].1, Variant::Int(*v))),
                        None => {
                            model.push((k.clone(), Variant::Int(*v)));
                            None
                        }
                    };
                    prop_assert_eq!(old, want, "insert {:?}", k);
                }
                Op::Remove(k) => {
                    let want = find(&model, k).map(|i| model.remove(i).1);
                    prop_assert_eq!(d.remove(k), want, "remove {:?}", k);
                }
                Op::Get(k) => {
                    let want = find(&model, k).map(|i| &model[i].1);
                    prop_assert_eq!(d.get(k), want, "get {:?}", k);
                    prop_assert_eq!(d.contains_key(k), want.is_some());
                }
                Op::Set(k, v) => {
                    if let Some(slot) = d.get_mut(k) {
                        *slot = Variant::Int(*v);
                    }
                    if let Some(i) = find(&model, k) {
                        model[i].1 = Variant::Int(*v);
                    }
                }
            }
            prop_assert_eq!(d.len(), model.len());
            // Same order; every key is found again (through the index once there is one).
            for ((dk, dv), (mk, mv)) in d.iter().zip(&model) {
                prop_assert!(dk.identical(mk) && dv.identical(mv), "{:?} vs {:?}", dk, mk);
                prop_assert_eq!(d.get(mk), Some(mv));
            }
        }
    }
}
