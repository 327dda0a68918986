//! `From` conversions into [`Variant`] and `TryFrom` back.

use crate::types::*;
use crate::{Dictionary, Variant, VariantType};

/// A Variant did not hold the type a `TryFrom` asked for (or its value did not fit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct FromVariantError {
    /// The type that was asked for.
    pub expected: VariantType,
    /// The type the Variant held.
    pub found: VariantType,
}

macro_rules! from_inline {
    ($($t:ty => $var:ident),+ $(,)?) => {$(
        impl From<$t> for Variant {
            fn from(v: $t) -> Self {
                Variant::$var(v)
            }
        }
        impl TryFrom<Variant> for $t {
            type Error = FromVariantError;
            fn try_from(v: Variant) -> Result<Self, Self::Error> {
                match v {
                    Variant::$var(x) => Ok(x),
                    other => Err(FromVariantError { expected: VariantType::$var, found: other.get_type() }),
                }
            }
        }
    )+};
}

macro_rules! from_boxed {
    ($($t:ty => $var:ident),+ $(,)?) => {$(
        impl From<$t> for Variant {
            fn from(v: $t) -> Self {
                Variant::$var(Box::new(v))
            }
        }
        impl TryFrom<Variant> for $t {
            type Error = FromVariantError;
            fn try_from(v: Variant) -> Result<Self, Self::Error> {
                match v {
                    Variant::$var(x) => Ok(*x),
                    other => Err(FromVariantError { expected: VariantType::$var, found: other.get_type() }),
                }
            }
        }
    )+};
}

from_inline! {
    bool => Bool, String => String, Vector2 => Vector2, Vector2i => Vector2i, Rect2 => Rect2,
    Rect2i => Rect2i, Vector3 => Vector3, Vector3i => Vector3i, Transform2D => Transform2D,
    Vector4 => Vector4, Vector4i => Vector4i, Plane => Plane, Quaternion => Quaternion,
    Aabb => Aabb, Color => Color, StringName => StringName, Rid => Rid,
    Vec<u8> => PackedByteArray, Vec<i32> => PackedInt32Array, Vec<i64> => PackedInt64Array,
    Vec<f32> => PackedFloat32Array, Vec<f64> => PackedFloat64Array,
    Vec<String> => PackedStringArray, Vec<Vector2> => PackedVector2Array,
    Vec<Vector3> => PackedVector3Array, Vec<Color> => PackedColorArray,
    Vec<Vector4> => PackedVector4Array,
}

from_boxed! {
    Basis => Basis, Transform3D => Transform3D, Projection => Projection, NodePath => NodePath,
    Object => Object, Signal => Signal, Dictionary => Dictionary, Array => Array,
}

macro_rules! from_int {
    ($($t:ty),+) => {$(
        impl From<$t> for Variant {
            fn from(v: $t) -> Self {
                Variant::Int(i64::from(v))
            }
        }
        impl TryFrom<Variant> for $t {
            type Error = FromVariantError;
            /// An INT whose value fits.
            fn try_from(v: Variant) -> Result<Self, Self::Error> {
                let found = v.get_type();
                let err = FromVariantError { expected: VariantType::Int, found };
                match v {
                    Variant::Int(i) => <$t>::try_from(i).map_err(|_| err),
                    _ => Err(err),
                }
            }
        }
    )+};
}

from_int!(i8, i16, i32, u8, u16, u32);

impl From<i64> for Variant {
    fn from(v: i64) -> Self {
        Variant::Int(v)
    }
}

impl TryFrom<Variant> for i64 {
    type Error = FromVariantError;
    fn try_from(v: Variant) -> Result<Self, Self::Error> {
        match v {
            Variant::Int(i) => Ok(i),
            other => Err(FromVariantError {
                expected: VariantType::Int,
                found: other.get_type(),
            }),
        }
    }
}

impl From<f64> for Variant {
    fn from(v: f64) -> Self {
        Variant::Float(v)
    }
}

impl From<f32> for Variant {
    fn from(v: f32) -> Self {
        Variant::Float(f64::from(v))
    }
}

impl TryFrom<Variant> for f64 {
    type Error = FromVariantError;
    /// A FLOAT, or an INT converted (as Godot converts int to float).
    fn try_from(v: Variant) -> Result<Self, Self::Error> {
        match v {
            Variant::Float(x) => Ok(x),
            Variant::Int(i) => Ok(i as f64),
            other => Err(FromVariantError {
                expected: VariantType::Float,
                found: other.get_type(),
            }),
        }
    }
}

impl TryFrom<Variant> for f32 {
    type Error = FromVariantError;
    /// A FLOAT or INT, narrowed.
    fn try_from(v: Variant) -> Result<Self, Self::Error> {
        f64::try_from(v).map(|x| x as f32)
    }
}

impl From<&str> for Variant {
    fn from(v: &str) -> Self {
        Variant::String(v.to_owned())
    }
}

impl From<&[u8]> for Variant {
    fn from(v: &[u8]) -> Self {
        Variant::PackedByteArray(v.to_vec())
    }
}

impl From<Vec<Variant>> for Variant {
    /// An untyped Array.
    fn from(v: Vec<Variant>) -> Self {
        Variant::Array(Box::new(Array::new(v)))
    }
}

impl TryFrom<Variant> for Vec<Variant> {
    type Error = FromVariantError;
    /// The elements of an Array (typed or not).
    fn try_from(v: Variant) -> Result<Self, Self::Error> {
        match v {
            Variant::Array(a) => Ok(a.items),
            other => Err(FromVariantError {
                expected: VariantType::Array,
                found: other.get_type(),
            }),
        }
    }
}

impl<T: Into<Variant>> From<Option<T>> for Variant {
    /// `None` is `null`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Variant::Nil, Into::into)
    }
}

impl From<()> for Variant {
    fn from(_: ()) -> Self {
        Variant::Nil
    }
}

impl Variant {
    /// The text of a String or StringName.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Variant::String(s) | Variant::StringName(StringName(s)) => Some(s),
            _ => None,
        }
    }
    /// The value of an INT.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Variant::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// The value of a FLOAT, or of an INT as a float.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Variant::Float(x) => Some(*x),
            Variant::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    /// The value of a BOOL.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Variant::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The dictionary, if this is one.
    pub fn as_dictionary(&self) -> Option<&Dictionary> {
        match self {
            Variant::Dictionary(d) => Some(d),
            _ => None,
        }
    }
    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Variant::Array(a) => Some(a),
            _ => None,
        }
    }
}
