//! Decode and encode errors, each mapped to the code Godot's `decode_variant` /
//! `encode_variant` return for the same condition.

/// The members of Godot's `Error` enum (`core/error/error_list.h`) that this crate reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum GodotError {
    /// `ERR_UNAVAILABLE` (2).
    Unavailable = 2,
    /// `ERR_UNAUTHORIZED` (4).
    Unauthorized = 4,
    /// `ERR_OUT_OF_MEMORY` (6).
    OutOfMemory = 6,
    /// `ERR_FILE_EOF` (18).
    FileEof = 18,
    /// `ERR_INVALID_DATA` (30).
    InvalidData = 30,
    /// `ERR_INVALID_PARAMETER` (31).
    InvalidParameter = 31,
}

impl GodotError {
    /// The integer value of Godot's `Error`.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Why bytes did not decode as a Variant. `offset` is where the failing value's field starts,
/// counted from the start of the buffer given to [`decode`](crate::decode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer than 4 bytes where a header word belongs (`ERR_INVALID_DATA`).
    #[error("truncated header at offset {offset}: {available} byte(s) left, 4 needed")]
    TruncatedHeader {
        /// Where the header should start.
        offset: usize,
        /// Bytes left there.
        available: usize,
    },
    /// The type id is 39 or more (`ERR_INVALID_DATA`).
    #[error("unknown Variant type id {type_id} at offset {offset}")]
    UnknownType {
        /// The type byte read.
        type_id: u32,
        /// Offset of the header.
        offset: usize,
    },
    /// A fixed-size payload or a count word runs past the end (`ERR_INVALID_DATA`).
    #[error("truncated {what} at offset {offset}: {needed} byte(s) needed, {available} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A string length is negative, or the string and its padding overrun the buffer
    /// (`ERR_FILE_EOF`).
    #[error("string at offset {offset} of length {length} (+ padding) overruns the {available} byte(s) left")]
    StringOverrun {
        /// Where the length word starts.
        offset: usize,
        /// The length read, as Godot's signed `int`.
        length: i64,
        /// Bytes left after the length word.
        available: usize,
    },
    /// A string is not well-formed UTF-8 (`ERR_INVALID_DATA`).
    #[error("invalid UTF-8 in the string at offset {offset}")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: usize,
    },
    /// A NodePath in the pre-3.0 format (bit 31 of its name count clear) (`ERR_INVALID_DATA`).
    #[error("NodePath at offset {offset} uses the obsolete format")]
    NodePathOldFormat {
        /// Where the NodePath payload starts.
        offset: usize,
    },
    /// A full object, while objects are not allowed (`ERR_UNAUTHORIZED`).
    #[error("full object at offset {offset}, but objects are not allowed")]
    ObjectsNotAllowed {
        /// Offset of the object's header.
        offset: usize,
    },
    /// A script reference (a typed array's script, an object's `script` property) that is not a
    /// `res://` path (`ERR_INVALID_DATA`).
    #[error("invalid script reference at offset {offset}")]
    InvalidScript {
        /// Where the reference starts.
        offset: usize,
    },
    /// A typed array's element type id is 39 or more (`ERR_INVALID_DATA`).
    #[error("typed array at offset {offset} has unknown element type id {type_id}")]
    InvalidArrayType {
        /// The type id read.
        type_id: u32,
        /// Where it was read.
        offset: usize,
    },
    /// A packed array count that is negative, overflows, or exceeds the bytes left
    /// (`ERR_INVALID_DATA`).
    #[error("packed array at offset {offset}: bad count {count} ({available} byte(s) left)")]
    BadPackedCount {
        /// Where the count word starts.
        offset: usize,
        /// The count read, as Godot's signed `int`.
        count: i64,
        /// Bytes left after the count word.
        available: usize,
    },
    /// Nesting deeper than Godot's `Variant::MAX_RECURSION_DEPTH` (1024) (`ERR_OUT_OF_MEMORY`,
    /// "Variant is too deep").
    #[error("Variant is too deep (more than 1024 levels) at offset {offset}")]
    TooDeep {
        /// Offset of the value that is one level too deep.
        offset: usize,
    },
}

impl DecodeError {
    /// The Godot error for this condition, as `decode_variant` would return it.
    pub fn godot_error(&self) -> GodotError {
        match self {
            DecodeError::StringOverrun { .. } => GodotError::FileEof,
            DecodeError::ObjectsNotAllowed { .. } => GodotError::Unauthorized,
            DecodeError::TooDeep { .. } => GodotError::OutOfMemory,
            _ => GodotError::InvalidData,
        }
    }

    /// The integer value of [`godot_error`](Self::godot_error) (e.g. 30 for `ERR_INVALID_DATA`).
    pub fn godot_code(&self) -> i32 {
        self.godot_error().code()
    }
}

/// Why a Variant could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Nesting deeper than 1024 levels (`ERR_OUT_OF_MEMORY`, "Potential infinite recursion").
    #[error("Variant nesting exceeds 1024 levels")]
    TooDeep,
    /// An [`Object::Full`](crate::Object::Full) with `full_objects` off: Godot would send the
    /// instance id, which a decoded full object does not have (`ERR_INVALID_PARAMETER`).
    #[error("a full object can be encoded only with full_objects")]
    FullObjectNeedsFullObjects,
    /// A typed array of a script class whose path is not `res://…` (`ERR_UNAVAILABLE`).
    #[error("typed array script path {0:?} is not a res:// path")]
    ScriptWithoutPath(String),
    /// A string, array or count too large for Godot's 32-bit lengths (`ERR_INVALID_PARAMETER`).
    #[error("{0} is too large for the wire format")]
    TooLarge(&'static str),
}

impl EncodeError {
    /// The Godot error for this condition.
    pub fn godot_error(&self) -> GodotError {
        match self {
            EncodeError::TooDeep => GodotError::OutOfMemory,
            EncodeError::ScriptWithoutPath(_) => GodotError::Unavailable,
            EncodeError::FullObjectNeedsFullObjects | EncodeError::TooLarge(_) => {
                GodotError::InvalidParameter
            }
        }
    }

    /// The integer value of [`godot_error`](Self::godot_error).
    pub fn godot_code(&self) -> i32 {
        self.godot_error().code()
    }
}
