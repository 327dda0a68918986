//! `Display` in the style of Godot 4.3's `var_to_str` (`VariantWriter`), on one line.
//!
//! Facts followed from Godot 4.3: reals are printed by `rtos_fix`, i.e. `0` for ±0, `nan`,
//! `inf`, `inf_neg`, otherwise C's `%lg` (six significant digits, exponent form below 1e-4
//! or from 1e6 on); a FLOAT value gets `.0` appended when that text has no `.` and no `e`
//! (so `1.0`, but `Vector2(1, 2)`); Strings escape only `\` and `"` (UTF-8 is kept as is);
//! StringName, NodePath and PackedStringArray elements use C escapes; packed arrays list
//! their (flattened) components. Unlike Godot, dictionaries are printed on one line in
//! insertion order (`{"hp": 5, "pos": Vector2(1.5, -2.25)}`); Godot puts each entry on its
//! own line. The text is lossy for floats, as Godot's is; use `Debug` for exact values.

use crate::types::*;
use crate::{Variant, VariantType};
use std::fmt::{self, Display, Formatter, Write};

/// Godot's `rtos_fix` for one real.
pub(crate) fn real(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "inf".into()
        } else {
            "inf_neg".into()
        };
    }
    format_g(v)
}

/// C's `%g` with the default precision of 6, for a finite non-zero value.
fn format_g(v: f64) -> String {
    const P: i32 = 6;
    let sci = format!("{:.*e}", (P - 1) as usize, v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..P).contains(&exp) {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (P - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{v:.decimals$}")).to_owned()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A FLOAT value: `rtos_fix`, plus `.0` when it would read back as an int.
pub(crate) fn float(v: f64) -> String {
    let mut s = real(v);
    if v.is_finite() && !s.contains('.') && !s.contains('e') {
        s.push_str(".0");
    }
    s
}

/// Godot's `c_escape_multiline`: only backslash and double quote.
fn escape_multiline(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// Godot's `c_escape`.
fn escape(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\u{7}' => f.write_str("\\a")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{b}' => f.write_str("\\v")?,
            '\'' => f.write_str("\\'")?,
            '"' => f.write_str("\\\"")?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

fn reals(f: &mut Formatter<'_>, name: &str, v: &[f32]) -> fmt::Result {
    write!(f, "{name}(")?;
    list(f, v, |f, x| f.write_str(&real(f64::from(*x))))?;
    f.write_str(")")
}

fn ints(f: &mut Formatter<'_>, name: &str, v: &[i32]) -> fmt::Result {
    write!(f, "{name}(")?;
    list(f, v, |f, x| write!(f, "{x}"))?;
    f.write_str(")")
}

fn list<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    mut each: impl FnMut(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, x)?;
    }
    Ok(())
}

fn flat<T, const N: usize>(
    f: &mut Formatter<'_>,
    name: &str,
    items: &[T],
    parts: impl Fn(&T) -> [f32; N],
) -> fmt::Result {
    write!(f, "{name}(")?;
    let mut first = true;
    for x in items {
        for c in parts(x) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_str(&real(f64::from(c)))?;
        }
    }
    f.write_str(")")
}

impl Display for Variant {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        use Variant as V;
        match self {
            V::Nil => f.write_str("null"),
            V::Bool(b) => write!(f, "{b}"),
            V::Int(i) => write!(f, "{i}"),
            V::Float(x) => f.write_str(&float(*x)),
            V::String(s) => {
                f.write_str("\"")?;
                escape_multiline(f, s)?;
                f.write_str("\"")
            }
            V::Vector2(x) => reals(f, "Vector2", &x.to_array()),
            V::Vector2i(x) => ints(f, "Vector2i", &x.to_array()),
            V::Rect2(x) => reals(f, "Rect2", &x.to_array()),
            V::Rect2i(x) => ints(f, "Rect2i", &x.to_array()),
            V::Vector3(x) => reals(f, "Vector3", &x.to_array()),
            V::Vector3i(x) => ints(f, "Vector3i", &x.to_array()),
            V::Transform2D(x) => reals(f, "Transform2D", &x.to_array()),
            V::Vector4(x) => reals(f, "Vector4", &x.to_array()),
            V::Vector4i(x) => ints(f, "Vector4i", &x.to_array()),
            V::Plane(x) => reals(f, "Plane", &x.to_array()),
            V::Quaternion(x) => reals(f, "Quaternion", &x.to_array()),
            V::Aabb(x) => reals(f, "AABB", &x.to_array()),
            V::Basis(x) => reals(f, "Basis", &x.to_array()),
            V::Transform3D(x) => reals(f, "Transform3D", &x.to_array()),
            V::Projection(x) => reals(f, "Projection", &x.to_array()),
            V::Color(x) => reals(f, "Color", &x.to_array()),
            V::StringName(s) => {
                f.write_str("&\"")?;
                escape(f, &s.0)?;
                f.write_str("\"")
            }
            V::NodePath(p) => {
                f.write_str("NodePath(\"")?;
                escape(f, &p.to_string())?;
                f.write_str("\")")
            }
            V::Rid(r) if r.0 == 0 => f.write_str("RID()"),
            V::Rid(r) => write!(f, "RID({})", r.0),
            V::Object(o) => match &**o {
                Object::Null => f.write_str("null"),
                Object::Id(id) => write!(f, "Object(EncodedObjectAsID,\"object_id\":{id})"),
                Object::Full { class, properties } => {
                    write!(f, "Object({class},")?;
                    for (i, (name, value)) in properties.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "\"{name}\":{value}")?;
                    }
                    f.write_str(")")
                }
            },
            V::Callable => f.write_str("Callable()"),
            V::Signal(_) => f.write_str("Signal()"),
            V::Dictionary(d) => {
                f.write_str("{")?;
                for (i, (k, v)) in d.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            V::Array(a) => {
                let typed = a.element_type != ArrayType::Untyped;
                match &a.element_type {
                    ArrayType::Untyped => {}
                    ArrayType::Builtin(t) => write!(f, "Array[{}](", t.name())?,
                    ArrayType::Class(c) => write!(f, "Array[{c}](")?,
                    ArrayType::Script(p) => write!(f, "Array[Resource(\"{p}\")](")?,
                }
                f.write_str("[")?;
                list(f, &a.items, |f, x| write!(f, "{x}"))?;
                f.write_str("]")?;
                if typed {
                    f.write_str(")")?;
                }
                Ok(())
            }
            V::PackedByteArray(a) => {
                f.write_str("PackedByteArray(")?;
                list(f, a, |f, x| write!(f, "{x}"))?;
                f.write_str(")")
            }
            V::PackedInt32Array(a) => ints(f, "PackedInt32Array", a),
            V::PackedInt64Array(a) => {
                f.write_str("PackedInt64Array(")?;
                list(f, a, |f, x| write!(f, "{x}"))?;
                f.write_str(")")
            }
            V::PackedFloat32Array(a) => reals(f, "PackedFloat32Array", a),
            V::PackedFloat64Array(a) => {
                f.write_str("PackedFloat64Array(")?;
                list(f, a, |f, x| f.write_str(&real(*x)))?;
                f.write_str(")")
            }
            V::PackedStringArray(a) => {
                f.write_str("PackedStringArray(")?;
                list(f, a, |f, s| {
                    f.write_str("\"")?;
                    escape(f, s)?;
                    f.write_str("\"")
                })?;
                f.write_str(")")
            }
            V::PackedVector2Array(a) => flat(f, "PackedVector2Array", a, Vector2::to_array),
            V::PackedVector3Array(a) => flat(f, "PackedVector3Array", a, Vector3::to_array),
            V::PackedColorArray(a) => flat(f, "PackedColorArray", a, Color::to_array),
            V::PackedVector4Array(a) => flat(f, "PackedVector4Array", a, Vector4::to_array),
        }
    }
}

impl Display for VariantType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
