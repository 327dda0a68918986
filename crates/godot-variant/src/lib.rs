//! Godot 4.3's `Variant` and its binary serialization, byte-exact.
//!
//! This is the format of GDScript's `var_to_bytes` / `bytes_to_var` and of
//! `PacketPeer.put_var` / `get_var` (one encoding per packet, no prefix). The crate does no
//! I/O.
//!
//! ```
//! use godot_variant::{decode, encode, Dictionary, Variant, Vector2};
//!
//! let mut d = Dictionary::new();
//! d.insert("hp", 5);
//! d.insert("pos", Vector2::new(1.5, -2.25));
//! let v = Variant::from(d);
//! let mut bytes = Vec::new();
//! encode(&v, &mut bytes).unwrap();
//! assert_eq!(&bytes[..8], &[0x1b, 0, 0, 0, 2, 0, 0, 0]);
//! let (back, used) = decode(&bytes).unwrap();
//! assert_eq!(used, bytes.len());
//! assert_eq!(back, v);
//! assert_eq!(back.to_string(), r#"{"hp": 5, "pos": Vector2(1.5, -2.25)}"#);
//! ```
//!
//! * Decoding follows Godot's `decode_variant`: the same checks, the same leniencies
//!   (trailing bytes ignored, unknown flag bits ignored, strings cut at NUL), and errors that
//!   carry Godot's error code ([`DecodeError::godot_code`]). Full objects are refused unless
//!   [`DecodeOptions::allow_objects`] is set. Nesting is limited to 1024 levels.
//! * Encoding follows `encode_variant`: INT and FLOAT take 64 bits only when 32 do not hold
//!   the value exactly; objects are instance ids unless [`EncodeOptions::full_objects`].
//! * Real-based math types hold `f32` (official builds); 64-bit (double build) payloads
//!   decode too, narrowed.
//! * `Display` writes Godot's `var_to_str` style on one line.
//! * With the `serde` feature, `to_variant` / `from_variant` map Rust data to
//!   Dictionaries and Arrays.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod convert;
mod decode;
mod dictionary;
mod display;
mod encode;
mod error;
#[cfg(feature = "serde")]
mod serde_de;
#[cfg(feature = "serde")]
mod serde_ser;
mod types;
mod variant;

pub use convert::FromVariantError;
pub use decode::{decode, decode_with, from_bytes, DecodeOptions};
pub use dictionary::Dictionary;
pub use encode::{encode, encode_with, to_bytes, EncodeOptions, ENCODED_OBJECT_AS_ID};
pub use error::{DecodeError, EncodeError, GodotError};
#[cfg(feature = "serde")]
pub use serde_de::{from_variant, from_variant_owned};
#[cfg(feature = "serde")]
pub use serde_ser::{to_variant, SerdeError};
pub use types::*;
pub use variant::{Variant, VariantType};

/// Godot's `Variant::MAX_RECURSION_DEPTH`: the deepest nesting level that encodes and decodes
/// (the top-level value is level 0).
pub const MAX_RECURSION_DEPTH: usize = 1024;
