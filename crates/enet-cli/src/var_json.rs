//! The JSON form of a Godot [`Variant`], both directions (`--decode var --json`, `--send-as var`).
//!
//! The mapping:
//!
//! * JSON-like types map to plain JSON: `Nil` ↔ `null`, `bool` ↔ `true`/`false`, `int` ↔ an
//!   integer, `float` ↔ a number, `String` ↔ a string, an untyped `Array` ↔ an array, a
//!   `Dictionary` whose keys are all Strings ↔ an object (in order).
//! * Int vs Float: a JSON number written with a `.` or an exponent (`1.0`, `1e3`) is a Float;
//!   one without (`1`, `-7`) is an Int (it must fit in i64). A Float always prints with a `.`
//!   or an exponent, so an integral Float stays `1.0`. Non-finite Floats print as
//!   `{"float": "nan"}`, `{"float": "inf"}`, `{"float": "-inf"}`.
//! * Every other type is a single-key object naming the type by Godot's type name:
//!   `{"Vector2": [1.5, -2.25]}`. Math types give their components in wire order as a flat
//!   array (`Rect2` = x, y, w, h; `Transform2D` = x axis, y axis, origin; `Basis` row-major;
//!   `Transform3D` = basis then origin; `Projection` column by column; `Color` = r, g, b, a).
//!   `{"StringName": "x"}`, `{"NodePath": "/root/Main"}`, `{"RID": 5}`, `{"Callable": null}`,
//!   `{"Signal": {"name": "ready", "object": 16}}`, `{"Object": null}` (null object),
//!   `{"Object": 4660}` (instance id), `{"Object": {"class": "Node", "properties": [["name",
//!   v], ...]}}` (full object). `{"PackedByteArray": "<hex>"}`; the other packed arrays hold a
//!   JSON array of numbers, strings, or component arrays (`{"PackedVector2Array": [[1, 2]]}`).
//!   A typed Array is `{"Array": {"type": "int", "items": [...]}}` (or `"class": "Node"`,
//!   `"script": "res://a.gd"` instead of `"type"`). A Dictionary with a non-String key is
//!   `{"Dictionary": [[k, v], ...]}`; so is a String-keyed one with a single key that is a type
//!   name, so that it is not read as a tagged value.
//! * Reading, the tagged forms of the JSON-like types are accepted too (`{"float": 2}` is 2.0,
//!   `{"int": 2}`, `{"String": "x"}`, `{"Array": [...]}`), and so are `"nan"`, `"inf"`,
//!   `"-inf"` in any float component.

use godot_variant::{
    Aabb, Array, ArrayType, Basis, Color, Dictionary, Object, Plane, Projection, Quaternion, Rect2,
    Rect2i, Rid, Signal, StringName, Transform2D, Transform3D, Variant, VariantType, Vector2,
    Vector2i, Vector3, Vector3i, Vector4, Vector4i,
};
use serde_json::{json, Map, Value};

/// The mapping in short, for `--help`.
pub const HELP: &str = "How payloads are shown: text (UTF-8, the default), hex, or var: one Godot \
Variant (put_var's encoding), printed in var_to_str style, or with --json as a \"var\" field \
(\"var_error\": {message, code} when the bytes are no Variant). JSON mapping (also --send-as var): \
null/bool/string/array/object = Nil/bool/String/Array/Dictionary with String keys; a number \
with '.' or an exponent is a float (1.0), without is an int (1); every other type is a \
single-key object naming it: {\"Vector2\": [1.5, -2.25]}, {\"StringName\": \"x\"}, \
{\"NodePath\": \"/root/Main\"}, {\"PackedByteArray\": \"0102ff\"}, {\"Color\": [1, 0, 0, 1]}, \
{\"Array\": {\"type\": \"int\", \"items\": [1]}}, {\"Dictionary\": [[1, \"a\"]]} (non-String keys), \
{\"Object\": 4660} (instance id), {\"float\": \"nan\"}. Math types list their components \
in wire order.";

/// Deepest JSON nesting accepted (Godot's Variant recursion limit).
const MAX_DEPTH: usize = godot_variant::MAX_RECURSION_DEPTH;

/// A `f64` as JSON: a number, or `"nan"`/`"inf"`/`"-inf"`.
fn f64_json(x: f64) -> Value {
    if x.is_nan() {
        json!("nan")
    } else if x.is_infinite() {
        json!(if x > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(x)
    }
}

/// A `f32` as JSON, written with its shortest decimal form (0.1f32 prints `0.1`).
fn f32_json(x: f32) -> Value {
    if !x.is_finite() {
        return f64_json(x as f64);
    }
    let shortest: f64 = format!("{x:?}").parse().unwrap_or(x as f64);
    json!(shortest)
}

fn f32s(a: &[f32]) -> Value {
    Value::Array(a.iter().map(|x| f32_json(*x)).collect())
}

fn i32s(a: &[i32]) -> Value {
    Value::Array(a.iter().map(|x| json!(x)).collect())
}

fn tag(name: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(name.to_string(), v);
    Value::Object(m)
}

fn is_type_name(s: &str) -> bool {
    VariantType::ALL.iter().any(|t| t.name() == s)
}

/// The JSON form of `v` (see the module docs).
pub fn to_json(v: &Variant) -> Value {
    use Variant as V;
    let name = v.get_type().name();
    match v {
        V::Nil => Value::Null,
        V::Bool(b) => json!(b),
        V::Int(i) => json!(i),
        V::Float(f) if f.is_finite() => json!(f),
        V::Float(f) => tag(name, f64_json(*f)),
        V::String(s) => json!(s),
        V::Vector2(x) => tag(name, f32s(&x.to_array())),
        V::Vector2i(x) => tag(name, i32s(&x.to_array())),
        V::Rect2(x) => tag(name, f32s(&x.to_array())),
        V::Rect2i(x) => tag(name, i32s(&x.to_array())),
        V::Vector3(x) => tag(name, f32s(&x.to_array())),
        V::Vector3i(x) => tag(name, i32s(&x.to_array())),
        V::Transform2D(x) => tag(name, f32s(&x.to_array())),
        V::Vector4(x) => tag(name, f32s(&x.to_array())),
        V::Vector4i(x) => tag(name, i32s(&x.to_array())),
        V::Plane(x) => tag(name, f32s(&x.to_array())),
        V::Quaternion(x) => tag(name, f32s(&x.to_array())),
        V::Aabb(x) => tag(name, f32s(&x.to_array())),
        V::Basis(x) => tag(name, f32s(&x.to_array())),
        V::Transform3D(x) => tag(name, f32s(&x.to_array())),
        V::Projection(x) => tag(name, f32s(&x.to_array())),
        V::Color(x) => tag(name, f32s(&x.to_array())),
        V::StringName(s) => tag(name, json!(s.0)),
        V::NodePath(p) => tag(name, json!(p.to_string())),
        V::Rid(r) => tag(name, json!(r.0)),
        V::Object(o) => tag(
            name,
            match &**o {
                Object::Null => Value::Null,
                Object::Id(id) => json!(id),
                Object::Full { class, properties } => json!({
                    "class": class,
                    "properties": properties.iter().map(|(k, v)| json!([k, to_json(v)])).collect::<Vec<_>>(),
                }),
            },
        ),
        V::Callable => tag(name, Value::Null),
        V::Signal(s) => tag(name, json!({"name": s.name, "object": s.object})),
        V::Dictionary(d) => {
            let all_str = d.keys().all(|k| matches!(k, V::String(_)));
            let ambiguous = d.len() == 1
                && d.keys()
                    .any(|k| matches!(k, V::String(s) if is_type_name(s)));
            if all_str && !ambiguous {
                let mut m = Map::with_capacity(d.len());
                for (k, v) in d.iter() {
                    if let V::String(k) = k {
                        m.insert(k.clone(), to_json(v));
                    }
                }
                Value::Object(m)
            } else {
                let pairs = d.iter().map(|(k, v)| json!([to_json(k), to_json(v)]));
                tag(name, Value::Array(pairs.collect()))
            }
        }
        V::Array(a) => {
            let items = Value::Array(a.items.iter().map(to_json).collect());
            match &a.element_type {
                ArrayType::Untyped => items,
                ArrayType::Builtin(t) => tag(name, json!({"type": t.name(), "items": items})),
                ArrayType::Class(c) => tag(name, json!({"class": &**c, "items": items})),
                ArrayType::Script(s) => tag(name, json!({"script": &**s, "items": items})),
            }
        }
        V::PackedByteArray(b) => tag(name, json!(crate::payload_view::hex(b))),
        V::PackedInt32Array(x) => tag(name, json!(x)),
        V::PackedInt64Array(x) => tag(name, json!(x)),
        V::PackedFloat32Array(x) => tag(name, f32s(x)),
        V::PackedFloat64Array(x) => {
            tag(name, Value::Array(x.iter().map(|f| f64_json(*f)).collect()))
        }
        V::PackedStringArray(x) => tag(name, json!(x)),
        V::PackedVector2Array(x) => tag(name, x.iter().map(|e| f32s(&e.to_array())).collect()),
        V::PackedVector3Array(x) => tag(name, x.iter().map(|e| f32s(&e.to_array())).collect()),
        V::PackedColorArray(x) => tag(name, x.iter().map(|e| f32s(&e.to_array())).collect()),
        V::PackedVector4Array(x) => tag(name, x.iter().map(|e| f32s(&e.to_array())).collect()),
    }
}

/// Why a JSON value has no Variant form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonVarError(String);

type R<T> = Result<T, JsonVarError>;

fn err<T>(msg: impl Into<String>) -> R<T> {
    Err(JsonVarError(msg.into()))
}

fn as_f64(v: &Value) -> R<f64> {
    match v {
        Value::Number(n) => n.as_f64().map_or_else(|| err("bad number"), Ok),
        Value::String(s) if s == "nan" => Ok(f64::NAN),
        Value::String(s) if s == "inf" => Ok(f64::INFINITY),
        Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
        other => err(format!("expected a number, got {other}")),
    }
}

fn as_i64(v: &Value) -> R<i64> {
    match v.as_i64() {
        Some(i) => Ok(i),
        None => err(format!("expected an integer in the i64 range, got {v}")),
    }
}

fn as_str(v: &Value) -> R<&str> {
    v.as_str()
        .map_or_else(|| err(format!("expected a string, got {v}")), Ok)
}

fn as_arr(v: &Value) -> R<&Vec<Value>> {
    v.as_array()
        .map_or_else(|| err(format!("expected an array, got {v}")), Ok)
}

fn reals<const N: usize>(v: &Value) -> R<[f32; N]> {
    let a = as_arr(v)?;
    if a.len() != N {
        return err(format!("expected {N} numbers, got {}", a.len()));
    }
    let mut out = [0f32; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = as_f64(x)? as f32;
    }
    Ok(out)
}

fn ints<const N: usize>(v: &Value) -> R<[i32; N]> {
    let a = as_arr(v)?;
    if a.len() != N {
        return err(format!("expected {N} integers, got {}", a.len()));
    }
    let mut out = [0i32; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = i32::try_from(as_i64(x)?).or_else(|_| err(format!("{x} is not an i32")))?;
    }
    Ok(out)
}

fn each<T>(v: &Value, f: impl Fn(&Value) -> R<T>) -> R<Vec<T>> {
    as_arr(v)?.iter().map(f).collect()
}

fn unhex(s: &str) -> R<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return err("hex string of odd length");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .map_or_else(|| err(format!("bad hex {s:?}")), Ok)
        })
        .collect()
}

/// The Variant of a JSON value (see the module docs).
pub fn from_json(v: &Value) -> Result<Variant, JsonVarError> {
    from_json_at(v, 0)
}

fn from_json_at(v: &Value, depth: usize) -> R<Variant> {
    if depth > MAX_DEPTH {
        return err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let sub = |x: &Value| from_json_at(x, depth + 1);
    Ok(match v {
        Value::Null => Variant::Nil,
        Value::Bool(b) => Variant::Bool(*b),
        Value::Number(n) if n.is_f64() => Variant::Float(as_f64(v)?),
        Value::Number(_) => Variant::Int(as_i64(v)?),
        Value::String(s) => Variant::String(s.clone()),
        Value::Array(a) => Variant::from(Array::new(a.iter().map(sub).collect::<R<_>>()?)),
        Value::Object(m) => {
            if m.len() == 1 {
                let (k, x) = m.iter().next().expect("one entry");
                if let Some(t) = VariantType::ALL.iter().find(|t| t.name() == k) {
                    return tagged(*t, x, depth);
                }
            }
            let mut d = Dictionary::with_capacity(m.len());
            for (k, x) in m {
                d.insert(k.as_str(), sub(x)?);
            }
            Variant::from(d)
        }
    })
}

fn tagged(t: VariantType, x: &Value, depth: usize) -> R<Variant> {
    use Variant as V;
    use VariantType as T;
    let sub = |x: &Value| from_json_at(x, depth + 1);
    Ok(match t {
        T::Nil if x.is_null() => V::Nil,
        T::Nil => return err("Nil takes null"),
        T::Bool => V::Bool(
            x.as_bool()
                .map_or_else(|| err("bool takes true or false"), Ok)?,
        ),
        T::Int => V::Int(as_i64(x)?),
        T::Float => V::Float(as_f64(x)?),
        T::String => V::String(as_str(x)?.to_string()),
        T::Vector2 => V::Vector2(Vector2::from_array(reals(x)?)),
        T::Vector2i => V::Vector2i(Vector2i::from_array(ints(x)?)),
        T::Rect2 => V::Rect2(Rect2::from_array(reals(x)?)),
        T::Rect2i => V::Rect2i(Rect2i::from_array(ints(x)?)),
        T::Vector3 => V::Vector3(Vector3::from_array(reals(x)?)),
        T::Vector3i => V::Vector3i(Vector3i::from_array(ints(x)?)),
        T::Transform2D => V::Transform2D(Transform2D::from_array(reals(x)?)),
        T::Vector4 => V::Vector4(Vector4::from_array(reals(x)?)),
        T::Vector4i => V::Vector4i(Vector4i::from_array(ints(x)?)),
        T::Plane => V::Plane(Plane::from_array(reals(x)?)),
        T::Quaternion => V::Quaternion(Quaternion::from_array(reals(x)?)),
        T::Aabb => V::Aabb(Aabb::from_array(reals(x)?)),
        T::Basis => V::Basis(Box::new(Basis::from_array(reals(x)?))),
        T::Transform3D => V::Transform3D(Box::new(Transform3D::from_array(reals(x)?))),
        T::Projection => V::Projection(Box::new(Projection::from_array(reals(x)?))),
        T::Color => V::Color(Color::from_array(reals(x)?)),
        T::StringName => V::StringName(StringName(as_str(x)?.to_string())),
        T::NodePath => V::NodePath(Box::new(godot_variant::NodePath::parse(as_str(x)?))),
        T::Rid => V::Rid(Rid(x
            .as_u64()
            .map_or_else(|| err("RID takes an unsigned integer"), Ok)?)),
        T::Object => V::Object(Box::new(match x {
            Value::Null => Object::Null,
            Value::Number(_) => match x.as_u64() {
                Some(0) | None => return err("an Object id is an unsigned integer, not 0"),
                Some(id) => Object::Id(id),
            },
            Value::Object(m) => {
                let class = as_str(m.get("class").unwrap_or(&Value::Null))?.to_string();
                let props = m.get("properties").unwrap_or(&Value::Null);
                let properties = each(props, |p| {
                    let pair = as_arr(p)?;
                    match pair.as_slice() {
                        [k, v] => Ok((as_str(k)?.to_string(), sub(v)?)),
                        _ => err("an Object property is [name, value]"),
                    }
                })?;
                Object::Full { class, properties }
            }
            _ => return err("Object takes null, an instance id or {class, properties}"),
        })),
        T::Callable if x.is_null() => V::Callable,
        T::Callable => return err("Callable takes null"),
        T::Signal => {
            let name = as_str(x.get("name").unwrap_or(&Value::Null))?.to_string();
            let object = x.get("object").and_then(Value::as_u64);
            let object = object.map_or_else(|| err("Signal needs an unsigned \"object\""), Ok)?;
            V::Signal(Box::new(Signal { name, object }))
        }
        T::Dictionary => {
            let mut d = Dictionary::new();
            for p in as_arr(x)? {
                match as_arr(p)?.as_slice() {
                    [k, v] => {
                        d.insert(sub(k)?, sub(v)?);
                    }
                    _ => return err("a Dictionary entry is [key, value]"),
                }
            }
            V::from(d)
        }
        T::Array => match x {
            Value::Array(_) => V::from(Array::new(each(x, sub)?)),
            Value::Object(m) => {
                let items = each(m.get("items").unwrap_or(&Value::Null), sub)?;
                let et = if let Some(n) = m.get("type") {
                    let n = as_str(n)?;
                    let t = VariantType::ALL.iter().find(|t| t.name() == n);
                    ArrayType::Builtin(*t.map_or_else(|| err(format!("unknown type {n:?}")), Ok)?)
                } else if let Some(c) = m.get("class") {
                    ArrayType::Class(as_str(c)?.into())
                } else if let Some(s) = m.get("script") {
                    ArrayType::Script(as_str(s)?.into())
                } else {
                    ArrayType::Untyped
                };
                V::from(Array::typed(et, items))
            }
            _ => return err("Array takes an array or {type|class|script, items}"),
        },
        T::PackedByteArray => V::PackedByteArray(unhex(as_str(x)?)?),
        T::PackedInt32Array => V::PackedInt32Array(each(x, |e| Ok(ints::<1>(&json!([e]))?[0]))?),
        T::PackedInt64Array => V::PackedInt64Array(each(x, as_i64)?),
        T::PackedFloat32Array => V::PackedFloat32Array(each(x, |e| Ok(as_f64(e)? as f32))?),
        T::PackedFloat64Array => V::PackedFloat64Array(each(x, as_f64)?),
        T::PackedStringArray => V::PackedStringArray(each(x, |e| Ok(as_str(e)?.to_string()))?),
        T::PackedVector2Array => {
            V::PackedVector2Array(each(x, |e| Ok(Vector2::from_array(reals(e)?)))?)
        }
        T::PackedVector3Array => {
            V::PackedVector3Array(each(x, |e| Ok(Vector3::from_array(reals(e)?)))?)
        }
        T::PackedColorArray => V::PackedColorArray(each(x, |e| Ok(Color::from_array(reals(e)?)))?),
        T::PackedVector4Array => {
            V::PackedVector4Array(each(x, |e| Ok(Vector4::from_array(reals(e)?)))?)
        }
    })
}

/// Parses one line of JSON text into a Variant.
pub fn parse_line(line: &str) -> Result<Variant, JsonVarError> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| JsonVarError(format!("not JSON: {e}")))?;
    from_json(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use godot_variant::NodePath;

    /// One sample per type id 0..=38, in id order.
    fn samples() -> Vec<Variant> {
        use Variant as V;
        let mut d = Dictionary::new();
        d.insert(1, "one");
        d.insert("k", Vector2::new(0.1, 2.0));
        vec![
            V::Nil,
            V::Bool(true),
            V::Int(-1070935975390360081),
            V::Float(1.0),
            V::String("héllo".into()),
            V::Vector2(Vector2::new(1.5, -2.25)),
            V::Vector2i(Vector2i::new(1, -1)),
            V::Rect2(Rect2::from_array([1.0, 2.0, 3.5, 4.0])),
            V::Rect2i(Rect2i::from_array([1, 2, 3, 4])),
            V::Vector3(Vector3::new(0.0, 1.0, -0.1)),
            V::Vector3i(Vector3i::new(7, 8, i32::MIN)),
            V::Transform2D(Transform2D::IDENTITY),
            V::Vector4(Vector4::new(1.0, 2.0, 3.0, f32::MAX)),
            V::Vector4i(Vector4i::new(1, 2, 3, i32::MAX)),
            V::Plane(Plane::from_array([0.0, 1.0, 0.0, 5.0])),
            V::Quaternion(Quaternion::IDENTITY),
            V::Aabb(Aabb::from_array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
            V::Basis(Box::new(Basis::IDENTITY)),
            V::Transform3D(Box::new(Transform3D::from_array(std::array::from_fn(
                |i| i as f32 * 0.25,
            )))),
            V::Projection(Box::new(Projection::from_array(std::array::from_fn(|i| {
                i as f32 - 3.0
            })))),
            V::Color(Color::new(1.0, 0.0, 0.0, 1.0)),
            V::StringName(StringName("x".into())),
            V::NodePath(Box::new(NodePath::parse("/root/Main:position:x"))),
            V::Rid(Rid(u64::MAX)),
            V::Object(Box::new(Object::Id(0x1234))),
            V::Callable,
            V::Signal(Box::new(Signal {
                name: "ready".into(),
                object: 16,
            })),
            V::from(d),
            V::from(Array::typed(
                ArrayType::Builtin(VariantType::Int),
                vec![V::Int(1), V::Int(2)],
            )),
            V::PackedByteArray(vec![0, 1, 0xff]),
            V::PackedInt32Array(vec![1, -1, i32::MIN]),
            V::PackedInt64Array(vec![i64::MIN, i64::MAX]),
            V::PackedFloat32Array(vec![0.5, 0.1, -0.0]),
            V::PackedFloat64Array(vec![0.1, 1.0, 1e300]),
            V::PackedStringArray(vec!["ab".into(), "".into()]),
            V::PackedVector2Array(vec![Vector2::new(1.0, 2.0)]),
            V::PackedVector3Array(vec![Vector3::new(1.0, 2.0, 3.0)]),
            V::PackedColorArray(vec![Color::new(0.0, 0.0, 0.0, 1.0)]),
            V::PackedVector4Array(vec![Vector4::new(1.0, 2.0, 3.0, 4.0)]),
        ]
    }

    #[test]
    fn every_type_round_trips_json_variant_json() {
        let all = samples();
        assert_eq!(all.len(), 39);
        for (id, v) in all.iter().enumerate() {
            assert_eq!(v.get_type().id() as usize, id, "sample order");
            let j = to_json(v);
            // Through text too, as a stdin line would be.
            let back = parse_line(&j.to_string()).unwrap_or_else(|e| panic!("{id}: {j}: {e}"));
            assert!(back.identical(v), "type {id}: {j} -> {back:?}");
            assert_eq!(to_json(&back), j, "type {id}");
        }
    }

    #[test]
    fn documented_forms() {
        assert_eq!(
            to_json(&Variant::Vector2(Vector2::new(1.5, -2.25))).to_string(),
            r#"{"Vector2":[1.5,-2.25]}"#
        );
        assert_eq!(to_json(&Variant::Float(1.0)).to_string(), "1.0");
        assert_eq!(to_json(&Variant::Int(1)).to_string(), "1");
        assert_eq!(
            to_json(&Variant::PackedByteArray(vec![1, 2, 255])).to_string(),
            r#"{"PackedByteArray":"0102ff"}"#
        );
        // f32 components print in their shortest form, not as widened f64 digits.
        assert_eq!(
            to_json(&Variant::Vector2(Vector2::new(0.1, 0.0))).to_string(),
            r#"{"Vector2":[0.1,0.0]}"#
        );
        let mut d = Dictionary::new();
        d.insert(1, 2);
        assert_eq!(
            to_json(&Variant::from(d)).to_string(),
            r#"{"Dictionary":[[1,2]]}"#
        );
    }

    #[test]
    fn int_and_float_stay_apart() {
        assert!(matches!(parse_line("1").unwrap(), Variant::Int(1)));
        assert!(matches!(parse_line("-7").unwrap(), Variant::Int(-7)));
        assert!(matches!(parse_line("1.0").unwrap(), Variant::Float(f) if f == 1.0));
        assert!(matches!(parse_line("1e3").unwrap(), Variant::Float(f) if f == 1000.0));
        assert!(matches!(parse_line(r#"{"float": 2}"#).unwrap(), Variant::Float(f) if f == 2.0));
        assert!(parse_line("18446744073709551615").is_err(), "past i64");
    }

    #[test]
    fn non_finite_and_ambiguous_values_round_trip() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
            let v = Variant::Float(f);
            assert!(from_json(&to_json(&v)).unwrap().identical(&v), "{f}");
        }
        // A String-keyed dictionary whose single key is a type name keeps its type.
        let mut d = Dictionary::new();
        d.insert("Vector2", 5);
        let v = Variant::from(d);
        assert!(from_json(&to_json(&v)).unwrap().identical(&v));
        // Object key order is kept.
        let v = parse_line(r#"{"z": 1, "a": 2}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"z": 1, "a": 2}"#);
    }

    #[test]
    fn bad_json_is_an_error_not_a_panic() {
        for bad in [
            "{",
            r#"{"Vector2": [1]}"#,
            r#"{"Vector2i": [1.5, 2]}"#,
            r#"{"Vector2i": [1, 4294967296]}"#,
            r#"{"PackedByteArray": "0g"}"#,
            r#"{"PackedByteArray": "abc"}"#,
            r#"{"Object": 0}"#,
            r#"{"Nil": 1}"#,
            r#"{"Dictionary": [[1]]}"#,
            r#"{"Array": {"type": "nope", "items": []}}"#,
            r#"{"Signal": {"name": "x"}}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse_line(&deep).is_err());
    }
}
