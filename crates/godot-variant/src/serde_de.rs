//! `serde` feature, deserializing side: [`Variant`] → Rust data, the inverse of
//! [`to_variant`](crate::to_variant).
//!
//! Besides the JSON-like types, math types read as sequences of their components (wire
//! order), packed arrays as sequences, StringName and NodePath as strings, RID and object
//! ids as `u64`, a full object as a map of its properties, Callable as unit.

use crate::{Object, SerdeError, Variant};
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, VariantAccess, Visitor,
};

/// Converts a Variant to any `Deserialize` type (see [`to_variant`](crate::to_variant) for
/// the mapping). The Variant is cloned; use [`from_variant_owned`] to avoid that.
pub fn from_variant<T: DeserializeOwned>(v: &Variant) -> Result<T, SerdeError> {
    T::deserialize(v.clone())
}

/// [`from_variant`], consuming the Variant.
pub fn from_variant_owned<T: DeserializeOwned>(v: Variant) -> Result<T, SerdeError> {
    T::deserialize(v)
}

impl IntoDeserializer<'_, SerdeError> for Variant {
    type Deserializer = Variant;
    fn into_deserializer(self) -> Variant {
        self
    }
}

fn seq<'de, V, I>(visitor: V, items: I) -> Result<V::Value, SerdeError>
where
    V: Visitor<'de>,
    I: Iterator,
    I::Item: IntoDeserializer<'de, SerdeError>,
{
    let mut s = SeqDeserializer::new(items);
    let v = visitor.visit_seq(&mut s)?;
    s.end()?;
    Ok(v)
}

impl<'de> de::Deserializer<'de> for Variant {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        use Variant as X;
        match self {
            X::Nil | X::Callable => visitor.visit_unit(),
            X::Bool(b) => visitor.visit_bool(b),
            X::Int(i) => visitor.visit_i64(i),
            X::Float(f) => visitor.visit_f64(f),
            X::String(s) => visitor.visit_string(s),
            X::StringName(s) => visitor.visit_string(s.0),
            X::NodePath(p) => visitor.visit_string(p.to_string()),
            X::Rid(r) => visitor.visit_u64(r.0),
            X::Vector2(x) => seq(visitor, x.to_array().into_iter()),
            X::Vector2i(x) => seq(visitor, x.to_array().into_iter()),
            X::Rect2(x) => seq(visitor, x.to_array().into_iter()),
            X::Rect2i(x) => seq(visitor, x.to_array().into_iter()),
            X::Vector3(x) => seq(visitor, x.to_array().into_iter()),
            X::Vector3i(x) => seq(visitor, x.to_array().into_iter()),
            X::Transform2D(x) => seq(visitor, x.to_array().into_iter()),
            X::Vector4(x) => seq(visitor, x.to_array().into_iter()),
            X::Vector4i(x) => seq(visitor, x.to_array().into_iter()),
            X::Plane(x) => seq(visitor, x.to_array().into_iter()),
            X::Quaternion(x) => seq(visitor, x.to_array().into_iter()),
            X::Aabb(x) => seq(visitor, x.to_array().into_iter()),
            X::Basis(x) => seq(visitor, x.to_array().into_iter()),
            X::Transform3D(x) => seq(visitor, x.to_array().into_iter()),
            X::Projection(x) => seq(visitor, x.to_array().into_iter()),
            X::Color(x) => seq(visitor, x.to_array().into_iter()),
            X::Object(o) => match *o {
                Object::Null => visitor.visit_unit(),
                Object::Id(id) => visitor.visit_u64(id),
                Object::Full { properties, .. } => {
                    let mut m = MapDeserializer::new(properties.into_iter());
                    let v = visitor.visit_map(&mut m)?;
                    m.end()?;
                    Ok(v)
                }
            },
            X::Signal(s) => visitor.visit_string(s.name),
            X::Dictionary(d) => {
                let mut m = MapDeserializer::new(d.into_iter());
                let v = visitor.visit_map(&mut m)?;
                m.end()?;
                Ok(v)
            }
            X::Array(a) => seq(visitor, a.items.into_iter()),
            X::PackedByteArray(b) => seq(visitor, b.into_iter()),
            X::PackedInt32Array(b) => seq(visitor, b.into_iter()),
            X::PackedInt64Array(b) => seq(visitor, b.into_iter()),
            X::PackedFloat32Array(b) => seq(visitor, b.into_iter()),
            X::PackedFloat64Array(b) => seq(visitor, b.into_iter()),
            X::PackedStringArray(b) => seq(visitor, b.into_iter()),
            X::PackedVector2Array(b) => seq(visitor, b.into_iter().map(Variant::Vector2)),
            X::PackedVector3Array(b) => seq(visitor, b.into_iter().map(Variant::Vector3)),
            X::PackedColorArray(b) => seq(visitor, b.into_iter().map(Variant::Color)),
            X::PackedVector4Array(b) => seq(visitor, b.into_iter().map(Variant::Vector4)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self {
            Variant::Nil => visitor.visit_none(),
            v => visitor.visit_some(v),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self {
            Variant::PackedByteArray(b) => visitor.visit_byte_buf(b),
            v => v.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self {
            Variant::String(s) => visitor.visit_enum(s.into_deserializer()),
            Variant::StringName(s) => visitor.visit_enum(s.0.into_deserializer()),
            Variant::Dictionary(d) if d.len() == 1 => {
                let (variant, value) = d.into_iter().next().unwrap_or_default();
                visitor.visit_enum(Enum { variant, value })
            }
            other => Err(SerdeError::Custom(format!(
                "expected an enum (a String, or a Dictionary with one entry), found {}",
                other.get_type()
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Enum {
    variant: Variant,
    value: Variant,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = SerdeError;
    type Variant = Variant;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Variant), SerdeError> {
        Ok((seed.deserialize(self.variant)?, self.value))
    }
}

impl<'de> VariantAccess<'de> for Variant {
    type Error = SerdeError;
    fn unit_variant(self) -> Result<(), SerdeError> {
        match self {
            Variant::Nil => Ok(()),
            other => Err(SerdeError::Custom(format!(
                "expected null for a unit variant, found {}",
                other.get_type()
            ))),
        }
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, SerdeError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, SerdeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}
