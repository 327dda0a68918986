//! The value types a [`Variant`](crate::Variant) can hold, other than the scalars,
//! strings, [`Dictionary`](crate::Dictionary) and packed arrays.
//!
//! Real-based math types hold `f32`, the `real_t` of official Godot builds. Every
//! type has `to_array`/`from_array` giving its components in wire order.

use crate::Variant;

macro_rules! components {
    ($name:ident, $t:ty, $n:literal, |$s:ident| [$($get:expr),+ $(,)?], |$a:ident| $build:expr) => {
        impl $name {
            /// The components in Godot's wire order.
            pub fn to_array(&self) -> [$t; $n] {
                let $s = self;
                [$($get),+]
            }
            /// Builds the value from its components in Godot's wire order.
            pub fn from_array($a: [$t; $n]) -> Self {
                $build
            }
        }
    };
}

macro_rules! vector {
    ($(#[$m:meta])* $name:ident, $t:ty, $n:literal, $($f:ident => $i:literal),+) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Default)]
        pub struct $name {
            $(#[doc = concat!("The `", stringify!($f), "` component.")] pub $f: $t,)+
        }
        impl $name {
            /// A value from its components.
            pub const fn new($($f: $t),+) -> Self {
                Self { $($f),+ }
            }
        }
        components!($name, $t, $n, |s| [$(s.$f),+], |a| Self { $($f: a[$i]),+ });
    };
}

vector!(
    /// Godot's `Vector2` (two `real_t`).
    Vector2, f32, 2, x => 0, y => 1
);
vector!(
    /// Godot's `Vector2i` (two `i32`).
    Vector2i, i32, 2, x => 0, y => 1
);
vector!(
    /// Godot's `Vector3` (three `real_t`).
    Vector3, f32, 3, x => 0, y => 1, z => 2
);
vector!(
    /// Godot's `Vector3i` (three `i32`).
    Vector3i, i32, 3, x => 0, y => 1, z => 2
);
vector!(
    /// Godot's `Vector4` (four `real_t`).
    Vector4, f32, 4, x => 0, y => 1, z => 2, w => 3
);
vector!(
    /// Godot's `Vector4i` (four `i32`).
    Vector4i, i32, 4, x => 0, y => 1, z => 2, w => 3
);
vector!(
    /// Godot's `Quaternion` (x, y, z, w as `real_t`).
    Quaternion, f32, 4, x => 0, y => 1, z => 2, w => 3
);
vector!(
    /// Godot's `Color`: four `f32` (r, g, b, a), always single precision on the wire.
    Color, f32, 4, r => 0, g => 1, b => 2, a => 3
);

impl Eq for Vector2i {}
impl Eq for Vector3i {}
impl Eq for Vector4i {}

impl Quaternion {
    /// The identity rotation (0, 0, 0, 1).
    pub const IDENTITY: Self = Self::new(0.0, 0.0, 0.0, 1.0);
}

/// Godot's `Rect2`: a position and a size (`real_t`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect2 {
    /// The top-left corner.
    pub position: Vector2,
    /// The width and height.
    pub size: Vector2,
}
components!(
    Rect2,
    f32,
    4,
    |s| [s.position.x, s.position.y, s.size.x, s.size.y],
    |a| Self {
        position: Vector2::new(a[0], a[1]),
        size: Vector2::new(a[2], a[3])
    }
);

/// Godot's `Rect2i`: a position and a size (`i32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect2i {
    /// The top-left corner.
    pub position: Vector2i,
    /// The width and height.
    pub size: Vector2i,
}
components!(
    Rect2i,
    i32,
    4,
    |s| [s.position.x, s.position.y, s.size.x, s.size.y],
    |a| Self {
        position: Vector2i::new(a[0], a[1]),
        size: Vector2i::new(a[2], a[3])
    }
);

/// Godot's `Transform2D`: three columns (x axis, y axis, origin).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Transform2D {
    /// The x axis (column 0).
    pub x: Vector2,
    /// The y axis (column 1).
    pub y: Vector2,
    /// The origin (column 2).
    pub origin: Vector2,
}
components!(
    Transform2D,
    f32,
    6,
    |s| [s.x.x, s.x.y, s.y.x, s.y.y, s.origin.x, s.origin.y],
    |a| Self {
        x: Vector2::new(a[0], a[1]),
        y: Vector2::new(a[2], a[3]),
        origin: Vector2::new(a[4], a[5])
    }
);

impl Transform2D {
    /// The identity transform.
    pub const IDENTITY: Self = Self {
        x: Vector2::new(1.0, 0.0),
        y: Vector2::new(0.0, 1.0),
        origin: Vector2::new(0.0, 0.0),
    };
}

/// Godot's `Plane`: a normal and the distance from the origin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Plane {
    /// The plane's normal.
    pub normal: Vector3,
    /// The distance from the origin along the normal.
    pub d: f32,
}
components!(
    Plane,
    f32,
    4,
    |s| [s.normal.x, s.normal.y, s.normal.z, s.d],
    |a| Self {
        normal: Vector3::new(a[0], a[1], a[2]),
        d: a[3]
    }
);

/// Godot's `AABB`: a position and a size in 3D.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Aabb {
    /// The minimum corner.
    pub position: Vector3,
    /// The extent.
    pub size: Vector3,
}
components!(
    Aabb,
    f32,
    6,
    |s| [
        s.position.x,
        s.position.y,
        s.position.z,
        s.size.x,
        s.size.y,
        s.size.z
    ],
    |a| Self {
        position: Vector3::new(a[0], a[1], a[2]),
        size: Vector3::new(a[3], a[4], a[5])
    }
);

/// Godot's `Basis`: a 3×3 matrix stored as three rows (row-major on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Basis {
    /// The rows.
    pub rows: [Vector3; 3],
}
components!(
    Basis,
    f32,
    9,
    |s| [
        s.rows[0].x,
        s.rows[0].y,
        s.rows[0].z,
        s.rows[1].x,
        s.rows[1].y,
        s.rows[1].z,
        s.rows[2].x,
        s.rows[2].y,
        s.rows[2].z,
    ],
    |a| Self {
        rows: [
            Vector3::new(a[0], a[1], a[2]),
            Vector3::new(a[3], a[4], a[5]),
            Vector3::new(a[6], a[7], a[8]),
        ]
    }
);

impl Basis {
    /// The identity matrix.
    pub const IDENTITY: Self = Self {
        rows: [
            Vector3::new(1.0, 0.0, 0.0),
            Vector3::new(0.0, 1.0, 0.0),
            Vector3::new(0.0, 0.0, 1.0),
        ],
    };
}

/// Godot's `Transform3D`: a basis and an origin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Transform3D {
    /// The rotation/scale part.
    pub basis: Basis,
    /// The translation.
    pub origin: Vector3,
}

impl Transform3D {
    /// The components in wire order: the basis row-major, then the origin.
    pub fn to_array(&self) -> [f32; 12] {
        let b = self.basis.to_array();
        let mut out = [0.0; 12];
        out[..9].copy_from_slice(&b);
        out[9..].copy_from_slice(&self.origin.to_array());
        out
    }
    /// Builds the value from its components in wire order.
    pub fn from_array(a: [f32; 12]) -> Self {
        let mut b = [0.0; 9];
        b.copy_from_slice(&a[..9]);
        Self {
            basis: Basis::from_array(b),
            origin: Vector3::new(a[9], a[10], a[11]),
        }
    }
}

/// Godot's `Projection`: a 4×4 matrix stored as four columns.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Projection {
    /// The columns.
    pub columns: [Vector4; 4],
}

impl Projection {
    /// The components in wire order: column 0 (x, y, z, w), then columns 1, 2, 3.
    pub fn to_array(&self) -> [f32; 16] {
        let mut out = [0.0; 16];
        for (i, c) in self.columns.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&c.to_array());
        }
        out
    }
    /// Builds the value from its components in wire order.
    pub fn from_array(a: [f32; 16]) -> Self {
        let col = |i: usize| Vector4::new(a[i * 4], a[i * 4 + 1], a[i * 4 + 2], a[i * 4 + 3]);
        Self {
            columns: [col(0), col(1), col(2), col(3)],
        }
    }
}

/// Godot's `StringName` (`&"name"` in GDScript); on the wire it is a String with another type id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct StringName(pub String);

/// Godot's `NodePath`: names separated by `/`, then subnames each after a `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NodePath {
    /// The node names, in order.
    pub names: Vec<String>,
    /// The property subnames, in order.
    pub subnames: Vec<String>,
    /// Whether the path starts at the root (`/`).
    pub absolute: bool,
}

impl NodePath {
    /// Parses Godot's textual form: `/root/Main`, `Sprite:position:x`, `..`, or `""`.
    ///
    /// Empty components (as in `a//b`) are dropped.
    pub fn parse(path: &str) -> Self {
        let absolute = path.starts_with('/');
        let body = if absolute { &path[1..] } else { path };
        let mut parts = body.split(':');
        let names = parts
            .next()
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let subnames = parts.filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Self {
            names,
            subnames,
            absolute,
        }
    }
}

impl std::fmt::Display for NodePath {
    /// Godot's textual form, e.g. `/root/Main` or `Sprite:position:x`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.absolute {
            f.write_str("/")?;
        }
        for (i, n) in self.names.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(n)?;
        }
        for s in &self.subnames {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

/// Godot's `RID`: an opaque 64-bit handle, meaningful only inside the process that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Rid(pub u64);

/// An `Object` value as it travels on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A null (or freed) object. It is encoded as NIL.
    Null,
    /// An object known only by its instance id (Godot's `EncodedObjectAsID`); the id is not 0.
    Id(u64),
    /// A full object: its class name and its stored properties, in order.
    Full {
        /// The engine class name (never empty; an empty one decodes as [`Object::Null`]).
        class: String,
        /// Property name and value pairs, in Godot's `get_property_list` order.
        properties: Vec<(String, Variant)>,
    },
}

/// Godot's `Signal`: a signal name on an object, known by the object's instance id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Signal {
    /// The signal's name.
    pub name: String,
    /// The instance id of the object that owns it.
    pub object: u64,
}

/// The element type of a typed [`Array`] (Godot's `Array[T]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ArrayType {
    /// A plain `Array`.
    #[default]
    Untyped,
    /// `Array[T]` for a built-in type, e.g. `Array[int]`.
    Builtin(crate::VariantType),
    /// `Array[Class]` for an engine class, e.g. `Array[Node]`.
    Class(Box<str>),
    /// `Array[T]` for a script class, named by the script's `res://` path.
    Script(Box<str>),
}

/// Godot's `Array`: an ordered list of Variants, optionally typed.
///
/// Elements are not checked against the type (Godot would drop mismatching ones on append).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Array {
    /// The element type; [`ArrayType::Untyped`] for a plain Array.
    pub element_type: ArrayType,
    /// The elements.
    pub items: Vec<Variant>,
}

impl Array {
    /// An untyped array holding `items`.
    pub fn new(items: Vec<Variant>) -> Self {
        Self {
            element_type: ArrayType::Untyped,
            items,
        }
    }
    /// A typed array.
    pub fn typed(element_type: ArrayType, items: Vec<Variant>) -> Self {
        Self {
            element_type,
            items,
        }
    }
}
