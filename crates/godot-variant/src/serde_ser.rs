//! `serde` feature, serializing side: Rust data → [`Variant`].
//!
//! The mapping (the same one [`from_variant`](crate::from_variant) reads back):
//!
//! | Rust (serde data model) | Variant |
//! |---|---|
//! | `bool` | BOOL |
//! | integers | INT (a `u64`/`i128`/`u128` beyond `i64` is an error) |
//! | `f32`, `f64` | FLOAT |
//! | `char`, `&str`, `String` | STRING |
//! | bytes (`serde_bytes`) | PACKED_BYTE_ARRAY |
//! | `None`, `()`, unit struct | NIL |
//! | `Some(x)`, newtype struct | `x` |
//! | sequence, tuple, tuple struct | ARRAY |
//! | map | DICTIONARY (keys of any type) |
//! | struct | DICTIONARY with String keys, in field order |
//! | unit variant `E::A` | STRING `"A"` |
//! | newtype / tuple / struct variant `E::A(..)` | DICTIONARY `{"A": value / [..] / {..}}` |

use crate::{Array, Dictionary, Variant};
use serde::ser::{self, Serialize};

/// An error of [`to_variant`] or [`from_variant`](crate::from_variant).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerdeError {
    /// A message from a `Serialize` / `Deserialize` implementation, or a type mismatch.
    #[error("{0}")]
    Custom(String),
    /// An integer outside `i64`, which INT cannot hold.
    #[error("integer {0} does not fit Godot's 64-bit int")]
    IntegerOverflow(String),
}

impl ser::Error for SerdeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        SerdeError::Custom(msg.to_string())
    }
}

impl serde::de::Error for SerdeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        SerdeError::Custom(msg.to_string())
    }
}

/// Converts any `Serialize` value to a Variant (see the module table for the mapping).
pub fn to_variant<T: Serialize + ?Sized>(value: &T) -> Result<Variant, SerdeError> {
    value.serialize(Serializer)
}

struct Serializer;

fn tagged(name: &'static str, value: Variant) -> Variant {
    let mut d = Dictionary::with_capacity(1);
    d.insert(name, value);
    d.into()
}

fn int<T: TryInto<i64> + std::fmt::Display + Copy>(v: T) -> Result<Variant, SerdeError> {
    v.try_into()
        .map(Variant::Int)
        .map_err(|_| SerdeError::IntegerOverflow(v.to_string()))
}

impl ser::Serializer for Serializer {
    type Ok = Variant;
    type Error = SerdeError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = SeqSer;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = MapSer;

    fn serialize_bool(self, v: bool) -> Result<Variant, SerdeError> {
        Ok(Variant::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Variant, SerdeError> {
        int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Variant, SerdeError> {
        Ok(Variant::Float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Variant, SerdeError> {
        Ok(Variant::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Variant, SerdeError> {
        Ok(Variant::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Variant, SerdeError> {
        Ok(Variant::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Variant, SerdeError> {
        Ok(Variant::PackedByteArray(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Variant, SerdeError> {
        Ok(Variant::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Variant, SerdeError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Variant, SerdeError> {
        Ok(Variant::Nil)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Variant, SerdeError> {
        Ok(Variant::Nil)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Variant, SerdeError> {
        Ok(Variant::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Variant, SerdeError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Variant, SerdeError> {
        Ok(tagged(variant, v.serialize(Serializer)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, SerdeError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, SerdeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, SerdeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqSer, SerdeError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.min(4096)),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapSer, SerdeError> {
        Ok(MapSer {
            dict: Dictionary::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapSer, SerdeError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapSer, SerdeError> {
        let mut m = self.serialize_map(Some(len))?;
        m.variant = Some(variant);
        Ok(m)
    }
}

/// Collects a sequence, tuple, or tuple variant.
struct SeqSer {
    items: Vec<Variant>,
    variant: Option<&'static str>,
}

impl SeqSer {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerdeError> {
        self.items.push(v.serialize(Serializer)?);
        Ok(())
    }
    fn finish(self) -> Result<Variant, SerdeError> {
        let array = Variant::Array(Box::new(Array::new(self.items)));
        Ok(match self.variant {
            Some(name) => tagged(name, array),
            None => array,
        })
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerdeError> {
        self.push(v)
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerdeError> {
        self.push(v)
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerdeError> {
        self.push(v)
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerdeError> {
        self.push(v)
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}

/// Collects a map, struct, or struct variant.
struct MapSer {
    dict: Dictionary,
    key: Option<Variant>,
    variant: Option<&'static str>,
}

impl MapSer {
    fn finish(self) -> Result<Variant, SerdeError> {
        let d = Variant::Dictionary(Box::new(self.dict));
        Ok(match self.variant {
            Some(name) => tagged(name, d),
            None => d,
        })
    }
    fn field<T: Serialize + ?Sized>(&mut self, k: &'static str, v: &T) -> Result<(), SerdeError> {
        self.dict.insert(k, v.serialize(Serializer)?);
        Ok(())
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), SerdeError> {
        self.key = Some(k.serialize(Serializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerdeError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| SerdeError::Custom("map value without a key".into()))?;
        self.dict.insert(k, v.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), SerdeError> {
        self.field(k, v)
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapSer {
    type Ok = Variant;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), SerdeError> {
        self.field(k, v)
    }
    fn end(self) -> Result<Variant, SerdeError> {
        self.finish()
    }
}
