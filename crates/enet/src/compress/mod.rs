//! Godot's datagram compressors (`ENetConnection.compress`).
//!
//! Godot installs one of these on an ENet host; ENet hands it the command area of every outgoing
//! datagram and uses the result only when it is shorter (see [`enet_proto::Compressor`]). Both
//! ends must use the same [`CompressionMode`].
//!
//! * [`CompressionMode::RangeCoder`] is ENet's own range coder ([`enet_proto::RangeCoder`]).
//! * [`FastLz`], [`Zlib`] and [`Zstd`] reproduce Godot's `Compression::compress` and
//!   `Compression::decompress` framing for `MODE_FASTLZ`, `MODE_DEFLATE` (zlib stream) and
//!   `MODE_ZSTD`: a raw FastLZ block, an RFC 1950 zlib stream, and a standard zstd frame, each
//!   without any extra length prefix.
//!
//! All three are pure Rust. Compressed output is not byte-identical to Godot's (that is not
//! needed: any conforming decoder accepts it), but each decoder accepts what Godot's encoder
//! produces.
//!
//! This module owns [`CompressionMode`] (Godot's numbering and the choice of compressor); each
//! compressor lives in its own file: `fastlz.rs`, `zlib.rs` and `zstd.rs`.

mod fastlz;
mod zlib;
mod zstd;

use enet_proto::Compressor;

pub use fastlz::FastLz;
pub use zlib::{Zlib, ZLIB_DEFAULT_LEVEL};
pub use zstd::{Zstd, ZSTD_MAX_WINDOW};

/// Godot's `ENetConnection.CompressionMode`.
///
/// The discriminants are Godot's numeric values, so `mode as i32` gives the value Godot uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
#[non_exhaustive]
pub enum CompressionMode {
    /// `COMPRESS_NONE` (0): datagrams are sent uncompressed, and compressed ones are dropped.
    #[default]
    None = 0,
    /// `COMPRESS_RANGE_CODER` (1): ENet's built-in range coder.
    RangeCoder = 1,
    /// `COMPRESS_FASTLZ` (2): FastLZ, see [`FastLz`].
    FastLz = 2,
    /// `COMPRESS_ZLIB` (3): zlib stream, see [`Zlib`].
    Zlib = 3,
    /// `COMPRESS_ZSTD` (4): Zstandard frame, see [`Zstd`].
    Zstd = 4,
}

impl CompressionMode {
    /// Godot's numeric value of this mode.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The mode with Godot's numeric value `value`, or `None` if there is none.
    pub const fn from_i32(value: i32) -> Option<Self> {
        match value {
            0 => Some(Self::None),
            1 => Some(Self::RangeCoder),
            2 => Some(Self::FastLz),
            3 => Some(Self::Zlib),
            4 => Some(Self::Zstd),
            _ => None,
        }
    }

    /// A fresh compressor for this mode, or `None` for [`CompressionMode::None`].
    ///
    /// Each host should own its own compressor; they keep scratch memory between calls.
    pub fn compressor(self) -> Option<Box<dyn Compressor>> {
        // Each compressor is built in a frame of its own: zstd's encoder and decoder are
        // built on the stack (~150 KB), and one frame holding every arm's temporaries is
        // touched in full by its stack probes on every call, even for `None`, leaving that
        // much of the thread's stack resident for good (every `UdpHost::bind` calls this).
        match self {
            Self::None => None,
            Self::RangeCoder => Some(boxed(enet_proto::RangeCoder::new)),
            Self::FastLz => Some(boxed(FastLz::new)),
            Self::Zlib => Some(boxed(Zlib::new)),
            Self::Zstd => Some(boxed(Zstd::new)),
        }
    }
}

/// `Box::new(new())`, in a stack frame of its own (see [`CompressionMode::compressor`]).
#[inline(never)]
fn boxed<C: Compressor + 'static>(new: fn() -> C) -> Box<dyn Compressor> {
    Box::new(new())
}
