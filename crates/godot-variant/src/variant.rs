//! The [`Variant`] enum, its type ids, and its two non-IEEE equalities.

use crate::types::*;
use crate::Dictionary;
use std::hash::{Hash, Hasher};

macro_rules! variant_types {
    ($($name:ident = $id:literal, $gd:literal;)+) => {
        /// Godot 4.3's `Variant::Type`: the type id in the low byte of every header word.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum VariantType {
            $(#[doc = concat!("`", $gd, "` (id ", stringify!($id), ").")] $name = $id,)+
        }
        impl VariantType {
            /// Every type, in id order.
            pub const ALL: [VariantType; 39] = [$(VariantType::$name),+];
            /// The type with this id, if the id is below 39 (`VARIANT_MAX`).
            pub fn from_id(id: u32) -> Option<Self> {
                Self::ALL.get(usize::try_from(id).ok()?).copied()
            }
            /// The numeric id.
            pub fn id(self) -> u32 {
                self as u32
            }
            /// Godot's type name (`Variant::get_type_name`), e.g. `int`, `Vector2`, `PackedByteArray`.
            pub fn name(self) -> &'static str {
                match self { $(VariantType::$name => $gd,)+ }
            }
        }
    };
}

variant_types! {
    Nil = 0, "Nil"; Bool = 1, "bool"; Int = 2, "int"; Float = 3, "float"; String = 4, "String";
    Vector2 = 5, "Vector2"; Vector2i = 6, "Vector2i"; Rect2 = 7, "Rect2"; Rect2i = 8, "Rect2i";
    Vector3 = 9, "Vector3"; Vector3i = 10, "Vector3i"; Transform2D = 11, "Transform2D";
    Vector4 = 12, "Vector4"; Vector4i = 13, "Vector4i"; Plane = 14, "Plane";
    Quaternion = 15, "Quaternion"; Aabb = 16, "AABB"; Basis = 17, "Basis";
    Transform3D = 18, "Transform3D"; Projection = 19, "Projection"; Color = 20, "Color";
    StringName = 21, "StringName"; NodePath = 22, "NodePath"; Rid = 23, "RID";
    Object = 24, "Object"; Callable = 25, "Callable"; Signal = 26, "Signal";
    Dictionary = 27, "Dictionary"; Array = 28, "Array"; PackedByteArray = 29, "PackedByteArray";
    PackedInt32Array = 30, "PackedInt32Array"; PackedInt64Array = 31, "PackedInt64Array";
    PackedFloat32Array = 32, "PackedFloat32Array"; PackedFloat64Array = 33, "PackedFloat64Array";
    PackedStringArray = 34, "PackedStringArray"; PackedVector2Array = 35, "PackedVector2Array";
    PackedVector3Array = 36, "PackedVector3Array"; PackedColorArray = 37, "PackedColorArray";
    PackedVector4Array = 38, "PackedVector4Array";
}

/// A Godot 4.3 `Variant`: one value of any of the 39 built-in types.
///
/// Large payloads are boxed so that a `Variant` stays 32 bytes; this keeps decoding of
/// hostile input within a small multiple of the input size.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Variant {
    /// `null`.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int` (64-bit).
    Int(i64),
    /// `float` (64-bit).
    Float(f64),
    /// `String`.
    String(String),
    /// `Vector2`.
    Vector2(Vector2),
    /// `Vector2i`.
    Vector2i(Vector2i),
    /// `Rect2`.
    Rect2(Rect2),
    /// `Rect2i`.
    Rect2i(Rect2i),
    /// `Vector3`.
    Vector3(Vector3),
    /// `Vector3i`.
    Vector3i(Vector3i),
    /// `Transform2D`.
    Transform2D(Transform2D),
    /// `Vector4`.
    Vector4(Vector4),
    /// `Vector4i`.
    Vector4i(Vector4i),
    /// `Plane`.
    Plane(Plane),
    /// `Quaternion`.
    Quaternion(Quaternion),
    /// `AABB`.
    Aabb(Aabb),
    /// `Basis`.
    Basis(Box<Basis>),
    /// `Transform3D`.
    Transform3D(Box<Transform3D>),
    /// `Projection`.
    Projection(Box<Projection>),
    /// `Color`.
    Color(Color),
    /// `StringName`.
    StringName(StringName),
    /// `NodePath`.
    NodePath(Box<NodePath>),
    /// `RID`.
    Rid(Rid),
    /// `Object`.
    Object(Box<Object>),
    /// `Callable`: it never carries data on the wire, so it has none here.
    Callable,
    /// `Signal`.
    Signal(Box<Signal>),
    /// `Dictionary` (insertion-ordered).
    Dictionary(Box<Dictionary>),
    /// `Array` (possibly typed).
    Array(Box<Array>),
    /// `PackedByteArray`.
    PackedByteArray(Vec<u8>),
    /// `PackedInt32Array`.
    PackedInt32Array(Vec<i32>),
    /// `PackedInt64Array`.
    PackedInt64Array(Vec<i64>),
    /// `PackedFloat32Array`.
    PackedFloat32Array(Vec<f32>),
    /// `PackedFloat64Array`.
    PackedFloat64Array(Vec<f64>),
    /// `PackedStringArray`.
    PackedStringArray(Vec<String>),
    /// `PackedVector2Array`.
    PackedVector2Array(Vec<Vector2>),
    /// `PackedVector3Array`.
    PackedVector3Array(Vec<Vector3>),
    /// `PackedColorArray`.
    PackedColorArray(Vec<Color>),
    /// `PackedVector4Array` (new in 4.3).
    PackedVector4Array(Vec<Vector4>),
}

/// How two floats are compared by [`eq_with`].
#[derive(Clone, Copy)]
enum FloatEq {
    /// Godot's `hash_compare`: equal values, or both NaN (so 0.0 equals -0.0).
    Key,
    /// The same bit pattern.
    Bits,
}

impl FloatEq {
    fn f64(self, a: f64, b: f64) -> bool {
        match self {
            FloatEq::Key => a == b || (a.is_nan() && b.is_nan()),
            FloatEq::Bits => a.to_bits() == b.to_bits(),
        }
    }
    fn f32(self, a: f32, b: f32) -> bool {
        match self {
            FloatEq::Key => a == b || (a.is_nan() && b.is_nan()),
            FloatEq::Bits => a.to_bits() == b.to_bits(),
        }
    }
    fn all32(self, a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| self.f32(*x, *y))
    }
}

fn eq_with(a: &Variant, b: &Variant, m: FloatEq) -> bool {
    use Variant as V;
    let flat = |x: &[Vector2], y: &[Vector2]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(p, q)| m.all32(&p.to_array(), &q.to_array()))
    };
    match (a, b) {
        (V::Float(x), V::Float(y)) => m.f64(*x, *y),
        (V::Vector2(x), V::Vector2(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Rect2(x), V::Rect2(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Vector3(x), V::Vector3(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Transform2D(x), V::Transform2D(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Vector4(x), V::Vector4(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Plane(x), V::Plane(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Quaternion(x), V::Quaternion(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Aabb(x), V::Aabb(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Basis(x), V::Basis(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Transform3D(x), V::Transform3D(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Projection(x), V::Projection(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Color(x), V::Color(y)) => m.all32(&x.to_array(), &y.to_array()),
        (V::Object(x), V::Object(y)) => match (&**x, &**y) {
            (
                Object::Full {
                    class: c1,
                    properties: p1,
                },
                Object::Full {
                    class: c2,
                    properties: p2,
                },
            ) => {
                c1 == c2
                    && p1.len() == p2.len()
                    && p1
                        .iter()
                        .zip(p2)
                        .all(|(u, v)| u.0 == v.0 && eq_with(&u.1, &v.1, m))
            }
            (x, y) => x == y,
        },
        (V::Dictionary(x), V::Dictionary(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(u, v)| eq_with(u.0, v.0, m) && eq_with(u.1, v.1, m))
        }
        (V::Array(x), V::Array(y)) => {
            x.element_type == y.element_type
                && x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|(u, v)| eq_with(u, v, m))
        }
        (V::PackedFloat32Array(x), V::PackedFloat32Array(y)) => m.all32(x, y),
        (V::PackedFloat64Array(x), V::PackedFloat64Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| m.f64(*p, *q))
        }
        (V::PackedVector2Array(x), V::PackedVector2Array(y)) => flat(x, y),
        (V::PackedVector3Array(x), V::PackedVector3Array(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| m.all32(&p.to_array(), &q.to_array()))
        }
        (V::PackedColorArray(x), V::PackedColorArray(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| m.all32(&p.to_array(), &q.to_array()))
        }
        (V::PackedVector4Array(x), V::PackedVector4Array(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| m.all32(&p.to_array(), &q.to_array()))
        }
        _ => a == b,
    }
}

fn hash_f32(h: &mut dyn Hasher, v: f32) {
    // Consistent with FloatEq::Key: -0 hashes as 0, every NaN alike.
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f32::NAN
    } else {
        v
    };
    h.write_u32(v.to_bits());
}

fn hash_all32(h: &mut dyn Hasher, v: &[f32]) {
    h.write_usize(v.len());
    v.iter().for_each(|x| hash_f32(h, *x));
}

/// Feeds `v` into `h` consistently with Godot's key equality (see [`Variant::key_eq`]).
pub(crate) fn key_hash(v: &Variant, h: &mut dyn Hasher) {
    use Variant as V;
    h.write_u8(v.get_type() as u8);
    match v {
        V::Nil | V::Callable => {}
        V::Bool(b) => h.write_u8(*b as u8),
        V::Int(i) => h.write_i64(*i),
        V::Float(f) => {
            let f = if *f == 0.0 {
                0.0
            } else if f.is_nan() {
                f64::NAN
            } else {
                *f
            };
            h.write_u64(f.to_bits())
        }
        V::String(s) => s.hash(&mut HashAdapter(h)),
        V::StringName(s) => s.0.hash(&mut HashAdapter(h)),
        V::Vector2(x) => hash_all32(h, &x.to_array()),
        V::Rect2(x) => hash_all32(h, &x.to_array()),
        V::Vector3(x) => hash_all32(h, &x.to_array()),
        V::Transform2D(x) => hash_all32(h, &x.to_array()),
        V::Vector4(x) => hash_all32(h, &x.to_array()),
        V::Plane(x) => hash_all32(h, &x.to_array()),
        V::Quaternion(x) => hash_all32(h, &x.to_array()),
        V::Aabb(x) => hash_all32(h, &x.to_array()),
        V::Basis(x) => hash_all32(h, &x.to_array()),
        V::Transform3D(x) => hash_all32(h, &x.to_array()),
        V::Projection(x) => hash_all32(h, &x.to_array()),
        V::Color(x) => hash_all32(h, &x.to_array()),
        V::Vector2i(x) => x.to_array().hash(&mut HashAdapter(h)),
        V::Rect2i(x) => x.to_array().hash(&mut HashAdapter(h)),
        V::Vector3i(x) => x.to_array().hash(&mut HashAdapter(h)),
        V::Vector4i(x) => x.to_array().hash(&mut HashAdapter(h)),
        V::NodePath(p) => p.hash(&mut HashAdapter(h)),
        V::Rid(r) => h.write_u64(r.0),
        V::Signal(s) => s.hash(&mut HashAdapter(h)),
        V::Object(o) => match &**o {
            Object::Null => h.write_u8(0),
            Object::Id(id) => h.write_u64(*id),
            Object::Full { class, properties } => {
                class.hash(&mut HashAdapter(h));
                h.write_usize(properties.len());
            }
        },
        // Containers hash by size only: cheap, and still consistent with equality.
        V::Dictionary(d) => h.write_usize(d.len()),
        V::Array(a) => h.write_usize(a.items.len()),
        V::PackedByteArray(x) => x.hash(&mut HashAdapter(h)),
        V::PackedInt32Array(x) => x.hash(&mut HashAdapter(h)),
        V::PackedInt64Array(x) => x.hash(&mut HashAdapter(h)),
        V::PackedStringArray(x) => x.hash(&mut HashAdapter(h)),
        V::PackedFloat32Array(x) => hash_all32(h, x),
        V::PackedFloat64Array(x) => h.write_usize(x.len()),
        V::PackedVector2Array(x) => h.write_usize(x.len()),
        V::PackedVector3Array(x) => h.write_usize(x.len()),
        V::PackedColorArray(x) => h.write_usize(x.len()),
        V::PackedVector4Array(x) => h.write_usize(x.len()),
    }
}

struct HashAdapter<'a>(&'a mut dyn Hasher);

impl Hasher for HashAdapter<'_> {
    fn finish(&self) -> u64 {
        self.0.finish()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes)
    }
}

impl Variant {
    /// This value's Godot type.
    pub fn get_type(&self) -> VariantType {
        use Variant as V;
        use VariantType as T;
        match self {
            V::Nil => T::Nil,
            V::Bool(_) => T::Bool,
            V::Int(_) => T::Int,
            V::Float(_) => T::Float,
            V::String(_) => T::String,
            V::Vector2(_) => T::Vector2,
            V::Vector2i(_) => T::Vector2i,
            V::Rect2(_) => T::Rect2,
            V::Rect2i(_) => T::Rect2i,
            V::Vector3(_) => T::Vector3,
            V::Vector3i(_) => T::Vector3i,
            V::Transform2D(_) => T::Transform2D,
            V::Vector4(_) => T::Vector4,
            V::Vector4i(_) => T::Vector4i,
            V::Plane(_) => T::Plane,
            V::Quaternion(_) => T::Quaternion,
            V::Aabb(_) => T::Aabb,
            V::Basis(_) => T::Basis,
            V::Transform3D(_) => T::Transform3D,
            V::Projection(_) => T::Projection,
            V::Color(_) => T::Color,
            V::StringName(_) => T::StringName,
            V::NodePath(_) => T::NodePath,
            V::Rid(_) => T::Rid,
            V::Object(_) => T::Object,
            V::Callable => T::Callable,
            V::Signal(_) => T::Signal,
            V::Dictionary(_) => T::Dictionary,
            V::Array(_) => T::Array,
            V::PackedByteArray(_) => T::PackedByteArray,
            V::PackedInt32Array(_) => T::PackedInt32Array,
            V::PackedInt64Array(_) => T::PackedInt64Array,
            V::PackedFloat32Array(_) => T::PackedFloat32Array,
            V::PackedFloat64Array(_) => T::PackedFloat64Array,
            V::PackedStringArray(_) => T::PackedStringArray,
            V::PackedVector2Array(_) => T::PackedVector2Array,
            V::PackedVector3Array(_) => T::PackedVector3Array,
            V::PackedColorArray(_) => T::PackedColorArray,
            V::PackedVector4Array(_) => T::PackedVector4Array,
        }
    }

    /// Godot's key equality (`hash_compare`), used by [`Dictionary`]: like `==`, except that
    /// NaN equals NaN. Values of different types are never equal (1 is not 1.0).
    pub fn key_eq(&self, other: &Variant) -> bool {
        eq_with(self, other, FloatEq::Key)
    }

    /// Strict structural identity: like `==`, but floats compare by bit pattern (NaN equals a
    /// NaN with the same bits; 0.0 differs from -0.0) and dictionaries compare in order.
    /// A decode of an encoding is `identical` to the original.
    pub fn identical(&self, other: &Variant) -> bool {
        eq_with(self, other, FloatEq::Bits)
    }

    /// Whether this is `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Variant::Nil)
    }
}
