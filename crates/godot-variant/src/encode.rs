//! The encoder: Godot's `encode_variant`, byte for byte.

use crate::types::*;
use crate::{EncodeError, Variant, MAX_RECURSION_DEPTH};

/// Bit 16 of the header: 64-bit payload (INT, FLOAT, real types) or OBJECT_AS_ID (OBJECT).
pub(crate) const FLAG_64: u32 = 1 << 16;
/// Typed-array kind shift (bits 16–17 of an ARRAY header).
pub(crate) const TYPED_SHIFT: u32 = 16;
/// The class name Godot 4.3 writes for object-typed arrays when `full_objects` is off.
pub const ENCODED_OBJECT_AS_ID: &str = "EncodedObjectAsID";

/// Options of [`encode_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Godot's `full_objects`: write [`Object::Full`] with class and properties, and typed
    /// object arrays with their real class or script. Off (Godot's default): objects are
    /// instance ids and object-typed arrays say `EncodedObjectAsID`.
    pub full_objects: bool,
    /// Write real-based math types with 64-bit components and the 64-bit flag, as a
    /// double-precision (`precision=double`) Godot build does. Off for official builds.
    pub double_reals: bool,
}

/// Appends Godot's encoding of `v` (as `var_to_bytes` / `put_var` make it) to `out`.
///
/// On error `out` is left as it was.
pub fn encode(v: &Variant, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    encode_with(v, out, EncodeOptions::default())
}

/// [`encode`] with options (`full_objects`, double-precision reals).
pub fn encode_with(v: &Variant, out: &mut Vec<u8>, opts: EncodeOptions) -> Result<(), EncodeError> {
    let start = out.len();
    let r = Encoder { out, opts }.value(v, 0);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// The encoding of `v` as a new vector.
pub fn to_bytes(v: &Variant) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode(v, &mut out)?;
    Ok(out)
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    opts: EncodeOptions,
}

fn len32(n: usize, what: &'static str) -> Result<u32, EncodeError> {
    if n > i32::MAX as usize {
        return Err(EncodeError::TooLarge(what));
    }
    Ok(n as u32)
}

impl Encoder<'_> {
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn header(&mut self, ty: crate::VariantType, flags: u32) {
        self.u32(ty as u32 | flags);
    }
    fn real_flag(&self) -> u32 {
        if self.opts.double_reals {
            FLAG_64
        } else {
            0
        }
    }
    fn reals(&mut self, v: &[f32]) {
        for x in v {
            if self.opts.double_reals {
                self.out.extend_from_slice(&f64::from(*x).to_le_bytes());
            } else {
                self.out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    fn ints(&mut self, v: &[i32]) {
        for x in v {
            self.out.extend_from_slice(&x.to_le_bytes());
        }
    }
    fn pad(&mut self, n: usize) {
        let pad = (4 - n % 4) % 4;
        self.out.extend_from_slice(&[0u8; 3][..pad]);
    }
    /// A String payload: length without NUL, UTF-8, zero padding.
    fn string(&mut self, s: &str) -> Result<(), EncodeError> {
        self.u32(len32(s.len(), "string")?);
        self.out.extend_from_slice(s.as_bytes());
        self.pad(s.len());
        Ok(())
    }
    fn real_header(&mut self, ty: crate::VariantType, reals: &[f32]) {
        let f = self.real_flag();
        self.header(ty, f);
        self.reals(reals);
    }

    fn value(&mut self, v: &Variant, depth: usize) -> Result<(), EncodeError> {
        use crate::VariantType as T;
        use Variant as V;
        if depth > MAX_RECURSION_DEPTH {
            return Err(EncodeError::TooDeep);
        }
        match v {
            V::Nil => self.header(T::Nil, 0),
            V::Bool(b) => {
                self.header(T::Bool, 0);
                self.u32(u32::from(*b));
            }
            V::Int(i) => match i32::try_from(*i) {
                Ok(small) => {
                    self.header(T::Int, 0);
                    self.out.extend_from_slice(&small.to_le_bytes());
                }
                Err(_) => {
                    self.header(T::Int, FLAG_64);
                    self.out.extend_from_slice(&i.to_le_bytes());
                }
            },
            V::Float(f) => {
                // 32-bit exactly when the value survives f64 -> f32 -> f64 (NaN never does).
                let narrow = *f as f32;
                if f64::from(narrow) == *f {
                    self.header(T::Float, 0);
                    self.out.extend_from_slice(&narrow.to_le_bytes());
                } else {
                    self.header(T::Float, FLAG_64);
                    self.out.extend_from_slice(&f.to_le_bytes());
                }
            }
            V::String(s) => {
                self.header(T::String, 0);
                self.string(s)?;
            }
            V::Vector2(x) => self.real_header(T::Vector2, &x.to_array()),
            V::Vector2i(x) => {
                self.header(T::Vector2i, 0);
                self.ints(&x.to_array());
            }
            V::Rect2(x) => self.real_header(T::Rect2, &x.to_array()),
            V::Rect2i(x) => {
                self.header(T::Rect2i, 0);
                self.ints(&x.to_array());
            }
            V::Vector3(x) => self.real_header(T::Vector3, &x.to_array()),
            V::Vector3i(x) => {
                self.header(T::Vector3i, 0);
                self.ints(&x.to_array());
            }
            V::Transform2D(x) => self.real_header(T::Transform2D, &x.to_array()),
            V::Vector4(x) => self.real_header(T::Vector4, &x.to_array()),
            V::Vector4i(x) => {
                self.header(T::Vector4i, 0);
                self.ints(&x.to_array());
            }
            V::Plane(x) => self.real_header(T::Plane, &x.to_array()),
            V::Quaternion(x) => self.real_header(T::Quaternion, &x.to_array()),
            V::Aabb(x) => self.real_header(T::Aabb, &x.to_array()),
            V::Basis(x) => self.real_header(T::Basis, &x.to_array()),
            V::Transform3D(x) => self.real_header(T::Transform3D, &x.to_array()),
            V::Projection(x) => self.real_header(T::Projection, &x.to_array()),
            V::Color(c) => {
                self.header(T::Color, 0);
                for x in c.to_array() {
                    self.out.extend_from_slice(&x.to_le_bytes());
                }
            }
            V::StringName(s) => {
                self.header(T::StringName, 0);
                self.string(&s.0)?;
            }
            V::NodePath(p) => self.node_path(p)?,
            V::Rid(r) => {
                self.header(T::Rid, 0);
                self.out.extend_from_slice(&r.0.to_le_bytes());
            }
            V::Object(o) => self.object(o, depth)?,
            V::Callable => self.header(T::Callable, 0),
            V::Signal(s) => {
                self.header(T::Signal, 0);
                self.string(&s.name)?;
                self.out.extend_from_slice(&s.object.to_le_bytes());
            }
            V::Dictionary(d) => {
                self.header(T::Dictionary, 0);
                self.u32(len32(d.len(), "dictionary")?);
                for (k, v) in d.iter() {
                    self.value(k, depth + 1)?;
                    self.value(v, depth + 1)?;
                }
            }
            V::Array(a) => self.array(a, depth)?,
            V::PackedByteArray(b) => {
                self.header(T::PackedByteArray, 0);
                self.u32(len32(b.len(), "PackedByteArray")?);
                self.out.extend_from_slice(b);
                self.pad(b.len());
            }
            V::PackedInt32Array(a) => {
                self.header(T::PackedInt32Array, 0);
                self.u32(len32(a.len(), "PackedInt32Array")?);
                self.ints(a);
            }
            V::PackedInt64Array(a) => {
                self.header(T::PackedInt64Array, 0);
                self.u32(len32(a.len(), "PackedInt64Array")?);
                a.iter()
                    .for_each(|x| self.out.extend_from_slice(&x.to_le_bytes()));
            }
            V::PackedFloat32Array(a) => {
                self.header(T::PackedFloat32Array, 0);
                self.u32(len32(a.len(), "PackedFloat32Array")?);
                a.iter()
                    .for_each(|x| self.out.extend_from_slice(&x.to_le_bytes()));
            }
            V::PackedFloat64Array(a) => {
                self.header(T::PackedFloat64Array, 0);
                self.u32(len32(a.len(), "PackedFloat64Array")?);
                a.iter()
                    .for_each(|x| self.out.extend_from_slice(&x.to_le_bytes()));
            }
            V::PackedStringArray(a) => {
                self.header(T::PackedStringArray, 0);
                self.u32(len32(a.len(), "PackedStringArray")?);
                for s in a {
                    // Length includes the NUL, which is written, then padding.
                    self.u32(len32(s.len() + 1, "string")?);
                    self.out.extend_from_slice(s.as_bytes());
                    self.out.push(0);
                    self.pad(s.len() + 1);
                }
            }
            V::PackedVector2Array(a) => {
                let f = self.real_flag();
                self.header(T::PackedVector2Array, f);
                self.u32(len32(a.len(), "PackedVector2Array")?);
                a.iter().for_each(|x| self.reals(&x.to_array()));
            }
            V::PackedVector3Array(a) => {
                let f = self.real_flag();
                self.header(T::PackedVector3Array, f);
                self.u32(len32(a.len(), "PackedVector3Array")?);
                a.iter().for_each(|x| self.reals(&x.to_array()));
            }
            V::PackedColorArray(a) => {
                self.header(T::PackedColorArray, 0);
                self.u32(len32(a.len(), "PackedColorArray")?);
                for c in a {
                    c.to_array()
                        .iter()
                        .for_each(|x| self.out.extend_from_slice(&x.to_le_bytes()));
                }
            }
            V::PackedVector4Array(a) => {
                let f = self.real_flag();
                self.header(T::PackedVector4Array, f);
                self.u32(len32(a.len(), "PackedVector4Array")?);
                a.iter().for_each(|x| self.reals(&x.to_array()));
            }
        }
        Ok(())
    }

    fn node_path(&mut self, p: &NodePath) -> Result<(), EncodeError> {
        self.header(crate::VariantType::NodePath, 0);
        self.u32(len32(p.names.len(), "NodePath")? | 0x8000_0000);
        self.u32(len32(p.subnames.len(), "NodePath")?);
        self.u32(u32::from(p.absolute));
        for s in p.names.iter().chain(&p.subnames) {
            self.string(s)?;
        }
        Ok(())
    }

    fn object(&mut self, o: &Object, depth: usize) -> Result<(), EncodeError> {
        use crate::VariantType as T;
        match o {
            // A null object is written as NIL; so is id 0, which Godot reads back as null.
            Object::Null | Object::Id(0) => self.header(T::Nil, 0),
            Object::Id(id) => {
                self.header(T::Object, FLAG_64);
                self.out.extend_from_slice(&id.to_le_bytes());
            }
            Object::Full { class, properties } => {
                if !self.opts.full_objects {
                    return Err(EncodeError::FullObjectNeedsFullObjects);
                }
                if class.is_empty() {
                    self.header(T::Nil, 0);
                    return Ok(());
                }
                self.header(T::Object, 0);
                self.string(class)?;
                self.u32(len32(properties.len(), "object properties")?);
                for (name, value) in properties {
                    self.string(name)?;
                    self.value(value, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    fn array(&mut self, a: &Array, depth: usize) -> Result<(), EncodeError> {
        use crate::VariantType as T;
        let count = len32(a.items.len(), "array")?;
        match &a.element_type {
            ArrayType::Untyped => self.header(T::Array, 0),
            ArrayType::Builtin(t) => {
                self.header(T::Array, 1 << TYPED_SHIFT);
                self.u32(*t as u32);
            }
            ArrayType::Class(name) => {
                self.header(T::Array, 2 << TYPED_SHIFT);
                let name: &str = if self.opts.full_objects {
                    name
                } else {
                    ENCODED_OBJECT_AS_ID
                };
                self.string(name)?;
            }
            ArrayType::Script(path) => {
                if self.opts.full_objects {
                    if !path.starts_with("res://") {
                        return Err(EncodeError::ScriptWithoutPath(path.to_string()));
                    }
                    self.header(T::Array, 3 << TYPED_SHIFT);
                    self.string(path)?;
                } else {
                    self.header(T::Array, 2 << TYPED_SHIFT);
                    self.string(ENCODED_OBJECT_AS_ID)?;
                }
            }
        }
        self.u32(count);
        for item in &a.items {
            self.value(item, depth + 1)?;
        }
        Ok(())
    }
}
