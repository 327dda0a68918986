//! Zlib, Godot's `COMPRESS_ZLIB` datagram compressor.
//!
//! Owns [`Zlib`] and [`ZLIB_DEFAULT_LEVEL`]: one-shot RFC 1950 zlib streams through the pure-Rust
//! `miniz_oxide` deflate and inflate, with their states kept in the struct so that no call
//! allocates. The mode enum and the choice between compressors live in the parent module.

use enet_proto::Compressor;
use miniz_oxide::deflate::core::{compress as deflate, CompressorOxide, TDEFLFlush, TDEFLStatus};
use miniz_oxide::inflate::core::{decompress as inflate, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::DataFormat;

/// Godot's default zlib level (`compression/formats/zlib/compression_level` = −1, i.e. 6).
pub const ZLIB_DEFAULT_LEVEL: u8 = 6;

/// Godot's zlib compressor (`COMPRESS_ZLIB`, Godot's `Compression::MODE_DEFLATE`).
///
/// Output is an RFC 1950 zlib stream (2-byte header, deflate data, Adler-32) written in one shot
/// at level 6, Godot's default, by the pure-Rust `miniz_oxide` backend. Decompression must reach
/// the end of the stream, with a correct Adler-32, within `out`; bytes after the stream end are
/// ignored, as zlib's `inflate` does.
///
/// The deflate and inflate states (a few hundred KiB) live in the struct and are reset for every
/// call; compressing and decompressing do not allocate.
pub struct Zlib {
    /// Deflate state, reset before every datagram.
    deflate: Box<CompressorOxide>,
    /// Inflate state, reset before every datagram.
    inflate: Box<DecompressorOxide>,
}

impl Default for Zlib {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Zlib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zlib").finish_non_exhaustive()
    }
}

impl Zlib {
    /// Creates a zlib compressor at Godot's default level (6).
    pub fn new() -> Self {
        Self::with_level(ZLIB_DEFAULT_LEVEL)
    }

    /// Creates a zlib compressor at `level` (0..=9; larger values are treated as 9), as set by
    /// Godot's `compression/formats/zlib/compression_level` project setting.
    pub fn with_level(level: u8) -> Self {
        let mut deflate = Box::new(CompressorOxide::new(0));
        deflate.set_format_and_level(DataFormat::Zlib, level.min(9));
        Self {
            deflate,
            inflate: Box::default(),
        }
    }
}

impl Compressor for Zlib {
    fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        if input.is_empty() {
            return None;
        }
        self.deflate.reset();
        let (status, consumed, written) =
            deflate(&mut self.deflate, input, out, TDEFLFlush::Finish);
        (status == TDEFLStatus::Done && consumed == input.len()).then_some(written)
    }

    fn decompress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        self.inflate.init();
        let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
            | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let (status, _, written) = inflate(&mut self.inflate, input, out, 0, flags);
        (status == TINFLStatus::Done && written > 0).then_some(written)
    }
}
