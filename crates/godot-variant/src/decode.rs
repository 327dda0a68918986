//! The decoder: Godot's `decode_variant`, with the same checks and error codes.
//!
//! Decoding runs in two passes over the same code: the first validates everything and
//! allocates nothing; the second builds the value, reserving exactly the (now proven)
//! element counts. Forged counts therefore never cause a large reservation, and the result
//! never holds growth slack: memory stays within a small multiple of the input size.

use crate::encode::{ENCODED_OBJECT_AS_ID, FLAG_64, TYPED_SHIFT};
use crate::types::*;
use crate::{DecodeError, Dictionary, Variant, VariantType, MAX_RECURSION_DEPTH};

/// Options of [`decode_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Godot's `allow_objects`: accept full objects (class name + properties). Off (Godot's
    /// default for `bytes_to_var` and `get_var`): a full object fails with `ERR_UNAUTHORIZED`;
    /// objects sent as instance ids are always accepted.
    pub allow_objects: bool,
}

/// Decodes one Variant from the start of `buf`, as `bytes_to_var` / `get_var` do.
///
/// Returns the value and the number of bytes it used; bytes after it are ignored, as Godot
/// ignores them. (A `PackedByteArray` whose padding is cut off by the end of `buf` still
/// decodes; Godot then reports a length past the end, this reports at most `buf.len()`.)
pub fn decode(buf: &[u8]) -> Result<(Variant, usize), DecodeError> {
    decode_with(buf, DecodeOptions::default())
}

/// [`decode`] with options (`allow_objects`).
pub fn decode_with(buf: &[u8], opts: DecodeOptions) -> Result<(Variant, usize), DecodeError> {
    let mut check = Reader { buf, pos: 0, opts };
    check.value::<false>(0)?;
    let mut build = Reader { buf, pos: 0, opts };
    let v = build.value::<true>(0)?;
    debug_assert_eq!(build.pos, check.pos);
    Ok((v, build.pos))
}

/// Decodes `buf` and returns only the value (Godot's `bytes_to_var`, with errors).
pub fn from_bytes(buf: &[u8]) -> Result<Variant, DecodeError> {
    decode(buf).map(|(v, _)| v)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    opts: DecodeOptions,
}

fn truncated(what: &'static str, offset: usize, needed: usize, available: usize) -> DecodeError {
    DecodeError::Truncated {
        what,
        offset,
        needed,
        available,
    }
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(truncated(what, self.pos, n, self.remaining()));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn f32s<const N: usize>(&mut self, what: &'static str) -> Result<[f32; N], DecodeError> {
        let b = self.take(N * 4, what)?;
        let mut out = [0.0f32; N];
        for (o, c) in out.iter_mut().zip(b.chunks_exact(4)) {
            *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(out)
    }

    /// `N` real_t components: f32, or f64 narrowed to f32 when the 64-bit flag is set.
    fn reals<const N: usize>(
        &mut self,
        wide: bool,
        what: &'static str,
    ) -> Result<[f32; N], DecodeError> {
        if !wide {
            return self.f32s::<N>(what);
        }
        let b = self.take(N * 8, what)?;
        let mut out = [0.0f32; N];
        for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            *o = f64::from_le_bytes(a) as f32;
        }
        Ok(out)
    }

    fn i32s<const N: usize>(&mut self, what: &'static str) -> Result<[i32; N], DecodeError> {
        let b = self.take(N * 4, what)?;
        let mut out = [0i32; N];
        for (o, c) in out.iter_mut().zip(b.chunks_exact(4)) {
            *o = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(out)
    }

    /// A String payload: i32 length, UTF-8 bytes, padding that must be present.
    fn string(&mut self) -> Result<&'a str, DecodeError> {
        let offset = self.pos;
        let len = self.u32("string length")? as i32;
        let available = self.remaining();
        let overrun = DecodeError::StringOverrun {
            offset,
            length: i64::from(len),
            available,
        };
        if len < 0 {
            return Err(overrun);
        }
        let len = len as usize;
        let padded = len + (4 - len % 4) % 4;
        if padded > available {
            return Err(overrun);
        }
        let start = self.pos;
        let mut bytes = &self.buf[start..start + len];
        self.pos += padded;
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            bytes = &bytes[3..];
        }
        if let Some(nul) = bytes.iter().position(|b| *b == 0) {
            bytes = &bytes[..nul];
        }
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { offset: start })
    }

    /// A packed-array count checked as Godot does: not negative, `n × size` fits an i32 and
    /// the bytes left.
    fn packed_count(&mut self, elem: usize) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let n = self.u32("packed array count")? as i32;
        let available = self.remaining();
        let bad = DecodeError::BadPackedCount {
            offset,
            count: i64::from(n),
            available,
        };
        if n < 0 {
            return Err(bad);
        }
        let bytes = (n as u64) * elem as u64;
        if bytes > i32::MAX as u64 || bytes as usize > available {
            return Err(bad);
        }
        Ok(n as usize)
    }

    fn owned<const B: bool>(s: &str) -> String {
        if B {
            s.to_owned()
        } else {
            String::new()
        }
    }

    fn value<const B: bool>(&mut self, depth: usize) -> Result<Variant, DecodeError> {
        use Variant as V;
        let start = self.pos;
        if depth > MAX_RECURSION_DEPTH {
            return Err(DecodeError::TooDeep { offset: start });
        }
        if self.remaining() < 4 {
            return Err(DecodeError::TruncatedHeader {
                offset: start,
                available: self.remaining(),
            });
        }
        let header = self.u32("header")?;
        let ty = VariantType::from_id(header & 0xFF).ok_or(DecodeError::UnknownType {
            type_id: header & 0xFF,
            offset: start,
        })?;
        let wide = header & FLAG_64 != 0;
        let w = if wide { 8 } else { 4 };
        use VariantType as T;
        Ok(match ty {
            T::Nil => V::Nil,
            T::Bool => V::Bool(self.u32("bool")? != 0),
            T::Int => {
                if wide {
                    V::Int(self.u64("int")? as i64)
                } else {
                    V::Int(i64::from(self.u32("int")? as i32))
                }
            }
            T::Float => {
                if wide {
                    V::Float(f64::from_bits(self.u64("float")?))
                } else {
                    V::Float(f64::from(f32::from_bits(self.u32("float")?)))
                }
            }
            T::String => V::String(Self::owned::<B>(self.string()?)),
            T::Vector2 => V::Vector2(Vector2::from_array(self.reals(wide, "Vector2")?)),
            T::Vector2i => V::Vector2i(Vector2i::from_array(self.i32s("Vector2i")?)),
            T::Rect2 => V::Rect2(Rect2::from_array(self.reals(wide, "Rect2")?)),
            T::Rect2i => V::Rect2i(Rect2i::from_array(self.i32s("Rect2i")?)),
            T::Vector3 => V::Vector3(Vector3::from_array(self.reals(wide, "Vector3")?)),
            T::Vector3i => V::Vector3i(Vector3i::from_array(self.i32s("Vector3i")?)),
            T::Transform2D => {
                V::Transform2D(Transform2D::from_array(self.reals(wide, "Transform2D")?))
            }
            T::Vector4 => V::Vector4(Vector4::from_array(self.reals(wide, "Vector4")?)),
            T::Vector4i => V::Vector4i(Vector4i::from_array(self.i32s("Vector4i")?)),
            T::Plane => V::Plane(Plane::from_array(self.reals(wide, "Plane")?)),
            T::Quaternion => V::Quaternion(Quaternion::from_array(self.reals(wide, "Quaternion")?)),
            T::Aabb => V::Aabb(Aabb::from_array(self.reals(wide, "AABB")?)),
            T::Basis => {
                let a = self.reals(wide, "Basis")?;
                if B {
                    V::Basis(Box::new(Basis::from_array(a)))
                } else {
                    V::Nil
                }
            }
            T::Transform3D => {
                let a = self.reals(wide, "Transform3D")?;
                if B {
                    V::Transform3D(Box::new(Transform3D::from_array(a)))
                } else {
                    V::Nil
                }
            }
            T::Projection => {
                let a = self.reals(wide, "Projection")?;
                if B {
                    V::Projection(Box::new(Projection::from_array(a)))
                } else {
                    V::Nil
                }
            }
            T::Color => V::Color(Color::from_array(self.f32s("Color")?)),
            T::StringName => V::StringName(StringName(Self::owned::<B>(self.string()?))),
            T::NodePath => self.node_path::<B>()?,
            T::Rid => V::Rid(Rid(self.u64("RID")?)),
            T::Object => self.object::<B>(wide, start, depth)?,
            T::Callable => V::Callable,
            T::Signal => {
                let name = Self::owned::<B>(self.string()?);
                let object = self.u64("signal object id")?;
                if B {
                    V::Signal(Box::new(Signal { name, object }))
                } else {
                    V::Nil
                }
            }
            T::Dictionary => {
                let n = (self.u32("dictionary count")? & 0x7FFF_FFFF) as usize;
                let mut d = if B {
                    Dictionary::with_capacity(n)
                } else {
                    Dictionary::new()
                };
                for _ in 0..n {
                    let k = self.value::<B>(depth + 1)?;
                    let v = self.value::<B>(depth + 1)?;
                    if B {
                        d.insert(k, v);
                    }
                }
                if B {
                    V::Dictionary(Box::new(d))
                } else {
                    V::Nil
                }
            }
            T::Array => self.array::<B>(header, depth)?,
            T::PackedByteArray => {
                let n = self.packed_count(1)?;
                let data = self.take(n, "PackedByteArray")?;
                // The padding may be cut off by the end of the buffer.
                let pad = ((4 - n % 4) % 4).min(self.remaining());
                self.pos += pad;
                V::PackedByteArray(if B { data.to_vec() } else { Vec::new() })
            }
            T::PackedInt32Array => {
                let n = self.packed_count(4)?;
                let b = self.take(n * 4, "PackedInt32Array")?;
                V::PackedInt32Array(if B {
                    b.chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                } else {
                    Vec::new()
                })
            }
            T::PackedInt64Array => {
                let n = self.packed_count(8)?;
                let b = self.take(n * 8, "PackedInt64Array")?;
                V::PackedInt64Array(if B {
                    b.chunks_exact(8).map(le_u64).map(|x| x as i64).collect()
                } else {
                    Vec::new()
                })
            }
            T::PackedFloat32Array => {
                let n = self.packed_count(4)?;
                let b = self.take(n * 4, "PackedFloat32Array")?;
                V::PackedFloat32Array(if B {
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                } else {
                    Vec::new()
                })
            }
            T::PackedFloat64Array => {
                let n = self.packed_count(8)?;
                let b = self.take(n * 8, "PackedFloat64Array")?;
                V::PackedFloat64Array(if B {
                    b.chunks_exact(8).map(le_u64).map(f64::from_bits).collect()
                } else {
                    Vec::new()
                })
            }
            T::PackedStringArray => {
                let n = self.u32("packed array count")? as i32;
                // A negative count gives an empty array, as in Godot.
                let n = n.max(0) as usize;
                let mut out = Vec::with_capacity(if B { n } else { 0 });
                for _ in 0..n {
                    let s = self.string()?;
                    if B {
                        out.push(s.to_owned());
                    }
                }
                V::PackedStringArray(out)
            }
            T::PackedVector2Array => {
                let n = self.packed_count(2 * w)?;
                V::PackedVector2Array(self.vectors::<B, 2, _>(n, wide, Vector2::from_array)?)
            }
            T::PackedVector3Array => {
                let n = self.packed_count(3 * w)?;
                V::PackedVector3Array(self.vectors::<B, 3, _>(n, wide, Vector3::from_array)?)
            }
            T::PackedColorArray => {
                let n = self.packed_count(16)?;
                V::PackedColorArray(self.vectors::<B, 4, _>(n, false, Color::from_array)?)
            }
            T::PackedVector4Array => {
                let n = self.packed_count(4 * w)?;
                V::PackedVector4Array(self.vectors::<B, 4, _>(n, wide, Vector4::from_array)?)
            }
        })
    }

    fn vectors<const B: bool, const N: usize, T>(
        &mut self,
        n: usize,
        wide: bool,
        make: fn([f32; N]) -> T,
    ) -> Result<Vec<T>, DecodeError> {
        if !B {
            self.take(n * N * if wide { 8 } else { 4 }, "packed vector array")?;
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(make(self.reals::<N>(wide, "packed vector array")?));
        }
        Ok(out)
    }

    fn node_path<const B: bool>(&mut self) -> Result<Variant, DecodeError> {
        let offset = self.pos;
        if self.remaining() < 12 {
            return Err(truncated("NodePath", offset, 12, self.remaining()));
        }
        let names = self.u32("NodePath")?;
        if names & 0x8000_0000 == 0 {
            return Err(DecodeError::NodePathOldFormat { offset });
        }
        let names = (names & 0x7FFF_FFFF) as u64;
        let mut subnames = u64::from(self.u32("NodePath")?);
        let flags = self.u32("NodePath")?;
        if flags & 2 != 0 {
            subnames += 1;
        }
        let mut path = NodePath {
            absolute: flags & 1 != 0,
            ..Default::default()
        };
        if B {
            path.names.reserve_exact(names as usize);
            path.subnames.reserve_exact(subnames as usize);
        }
        for i in 0..names + subnames {
            let s = Self::owned::<B>(self.string()?);
            if B {
                if i < names {
                    path.names.push(s)
                } else {
                    path.subnames.push(s)
                }
            }
        }
        Ok(if B {
            Variant::NodePath(Box::new(path))
        } else {
            Variant::Nil
        })
    }

    fn object<const B: bool>(
        &mut self,
        as_id: bool,
        start: usize,
        depth: usize,
    ) -> Result<Variant, DecodeError> {
        if as_id {
            let id = self.u64("object id")?;
            let o = if id == 0 {
                Object::Null
            } else {
                Object::Id(id)
            };
            return Ok(if B {
                Variant::Object(Box::new(o))
            } else {
                Variant::Nil
            });
        }
        if !self.opts.allow_objects {
            return Err(DecodeError::ObjectsNotAllowed { offset: start });
        }
        let class = self.string()?;
        if class.is_empty() {
            return Ok(if B {
                Variant::Object(Box::new(Object::Null))
            } else {
                Variant::Nil
            });
        }
        let n = self.u32("object property count")? as usize;
        let mut properties = Vec::with_capacity(if B { n } else { 0 });
        for _ in 0..n {
            let name = self.string()?;
            let value_at = self.pos;
            let value = self.value::<B>(depth + 1)?;
            if name == "script" {
                // Only the value's type is checked in the first pass, so look at the bytes.
                self.check_script_value(value_at)?;
            }
            if B {
                properties.push((name.to_owned(), value));
            }
        }
        let o = Object::Full {
            class: Self::owned::<B>(class),
            properties,
        };
        Ok(if B {
            Variant::Object(Box::new(o))
        } else {
            Variant::Nil
        })
    }

    /// An object's `script` property must be NIL or a `res://` String.
    fn check_script_value(&self, at: usize) -> Result<(), DecodeError> {
        let mut r = Reader {
            buf: self.buf,
            pos: at,
            opts: self.opts,
        };
        let bad = DecodeError::InvalidScript { offset: at };
        let header = r.u32("header")?;
        match header & 0xFF {
            0 => Ok(()),
            4 if r.string()?.starts_with("res://") => Ok(()),
            _ => Err(bad),
        }
    }

    fn array<const B: bool>(&mut self, header: u32, depth: usize) -> Result<Variant, DecodeError> {
        let allow = self.opts.allow_objects;
        let as_id = || {
            ArrayType::Class(if B {
                ENCODED_OBJECT_AS_ID.into()
            } else {
                "".into()
            })
        };
        let element_type = match (header >> TYPED_SHIFT) & 3 {
            0 => ArrayType::Untyped,
            1 => {
                let offset = self.pos;
                let id = self.u32("typed array element type")?;
                match VariantType::from_id(id) {
                    None => {
                        return Err(DecodeError::InvalidArrayType {
                            type_id: id,
                            offset,
                        })
                    }
                    Some(VariantType::Object) if !allow => as_id(),
                    Some(t) => ArrayType::Builtin(t),
                }
            }
            2 => {
                let name = self.string()?;
                if allow && B {
                    ArrayType::Class(name.into())
                } else {
                    as_id()
                }
            }
            _ => {
                let offset = self.pos;
                let path = self.string()?;
                if !allow {
                    as_id()
                } else if !path.starts_with("res://") {
                    return Err(DecodeError::InvalidScript { offset });
                } else {
                    ArrayType::Script(if B { path.into() } else { "".into() })
                }
            }
        };
        let n = (self.u32("array count")? & 0x7FFF_FFFF) as usize;
        let mut items = Vec::with_capacity(if B { n } else { 0 });
        for _ in 0..n {
            let v = self.value::<B>(depth + 1)?;
            if B {
                items.push(v);
            }
        }
        Ok(if B {
            Variant::Array(Box::new(Array {
                element_type,
                items,
            }))
        } else {
            Variant::Nil
        })
    }
}

fn le_u64(c: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(c);
    u64::from_le_bytes(a)
}
