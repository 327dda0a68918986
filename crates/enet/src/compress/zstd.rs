//! Zstandard, Godot's `COMPRESS_ZSTD` datagram compressor.
//!
//! Owns [`Zstd`] and [`ZSTD_MAX_WINDOW`]: standard zstd frames written by the pure-Rust `ruzstd`
//! encoder, and a decoder that walks concatenated and skippable frames, bounds the declared window
//! and checks content sizes and checksums against the room it was given. The mode enum and the
//! choice between compressors live in the parent module.

use std::io::{Cursor, Read};

use enet_proto::Compressor;
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use ruzstd::encoding::{CompressionLevel, FrameCompressor, MatchGeneratorDriver};

/// Magic number that starts every zstd frame.
const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Largest window a received zstd frame may declare (8 MiB, the default window of zstd's
/// highest standard levels). libzstd accepts up to 128 MiB by default; the limit keeps a hostile
/// datagram from making the decoder reserve that much.
pub const ZSTD_MAX_WINDOW: u64 = 1 << 23;

/// What the decoder needs to know about one frame header.
struct ZstdFrameInfo {
    /// Declared decompressed size, if the header has one.
    content_size: Option<u64>,
    /// Whether a 4-byte checksum follows the last block.
    checksum: bool,
}

/// Parses the header of the frame at the start of `input` (no validation beyond the fields
/// needed here; the decoder validates the rest).
fn zstd_frame_info(input: &[u8]) -> Option<ZstdFrameInfo> {
    let magic = u32::from_le_bytes(input.get(..4)?.try_into().ok()?);
    if magic != ZSTD_MAGIC {
        return None;
    }
    let descriptor = *input.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    let fcs_len = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let dict_len = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs_at = 5 + usize::from(!single_segment) + dict_len;
    let content_size = if fcs_len == 0 {
        None
    } else {
        let field = input.get(fcs_at..fcs_at + fcs_len)?;
        let mut raw = [0u8; 8];
        raw[..fcs_len].copy_from_slice(field);
        let value = u64::from_le_bytes(raw);
        Some(if fcs_len == 2 { value + 256 } else { value })
    };
    Some(ZstdFrameInfo {
        content_size,
        checksum: descriptor & 4 != 0,
    })
}

/// Length of the skippable frame at the start of `input`, if it starts with one.
fn zstd_skippable_len(input: &[u8]) -> Option<Option<usize>> {
    let magic = u32::from_le_bytes(input.get(..4)?.try_into().ok()?);
    if magic & 0xFFFF_FFF0 != 0x184D_2A50 {
        return None;
    }
    let size = input
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    Some(size.map(|s| s + 8))
}

/// Godot's Zstandard compressor (`COMPRESS_ZSTD`).
///
/// Output is one standard zstd frame written in one shot: single-segment frame header with the
/// content size, no checksum, no dictionary. The blocks come from the pure-Rust `ruzstd`
/// encoder, whose only implemented compression level is "fastest" (roughly zstd level 1); Godot
/// uses level 3. The format is the same, only the ratio differs a little.
///
/// Decompression accepts any sequence of zstd frames and skippable frames, as libzstd's
/// `ZSTD_decompressDCtx` does; verifies the content size and checksum when the frame has them;
/// and fails if the result would not fit in `out`. Frames declaring a window larger than
/// [`ZSTD_MAX_WINDOW`] are rejected.
///
/// Allocation: the decoder state is reused and stops allocating once warmed up (its window
/// buffer grows to the largest window seen). The `ruzstd` encoder allocates scratch memory on
/// every call (a 130 KiB output staging vector and per-block buffers); its API offers no way
/// to avoid that. Its match finder and our input and output staging vectors are reused.
pub struct Zstd {
    /// Frame encoder; reused so its match finder and tables are kept.
    encoder: FrameCompressor<Cursor<Vec<u8>>, Vec<u8>, MatchGeneratorDriver>,
    /// Frame decoder; reused so its buffers are kept.
    decoder: FrameDecoder,
}

impl Default for Zstd {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Zstd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zstd").finish_non_exhaustive()
    }
}

impl Zstd {
    /// Creates a Zstandard compressor.
    pub fn new() -> Self {
        let mut encoder = FrameCompressor::new(CompressionLevel::Fastest);
        encoder.set_source(Cursor::new(Vec::new()));
        encoder.set_drain(Vec::new());
        let mut decoder = FrameDecoder::new();
        decoder.set_max_window_size(ZSTD_MAX_WINDOW);
        Self { encoder, decoder }
    }

    /// Decodes the frame at the start of `*input` into `out`, advancing `*input` past it.
    fn decode_frame(&mut self, input: &mut &[u8], out: &mut [u8]) -> Option<usize> {
        let info = zstd_frame_info(input)?;
        if info
            .content_size
            .is_some_and(|size| size > out.len() as u64)
        {
            return None;
        }
        self.decoder.init(&mut *input).ok()?;
        let mut written = 0usize;
        loop {
            let before = input.len();
            let room = out.len() - written;
            // Decode only about as much as can still be delivered, so a frame that is too
            // large is noticed before it is all decoded.
            self.decoder
                .decode_blocks(&mut *input, BlockDecodingStrategy::UptoBytes(room + 1))
                .ok()?;
            written += self.decoder.read(&mut out[written..]).ok()?;
            if self.decoder.can_collect() != 0 {
                return None;
            }
            if self.decoder.is_finished() {
                break;
            }
            if input.len() == before {
                return None;
            }
        }
        if info.content_size.is_some_and(|size| size != written as u64) {
            return None;
        }
        if info.checksum
            && self.decoder.get_checksum_from_data() != self.decoder.get_calculated_checksum()
        {
            return None;
        }
        Some(written)
    }
}

impl Compressor for Zstd {
    fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        if input.is_empty() {
            return None;
        }
        // Stage the input in the reusable source vector and run the encoder.
        let mut source = self.encoder.take_source().unwrap_or_default().into_inner();
        source.clear();
        source.extend_from_slice(input);
        self.encoder.set_source(Cursor::new(source));
        let mut drain = self.encoder.take_drain().unwrap_or_default();
        drain.clear();
        self.encoder.set_drain(drain);
        self.encoder.compress();
        let frame = self.encoder.drain()?;

        // Replace ruzstd's header (no content size, window descriptor, maybe a checksum flag)
        // with a single-segment header carrying the content size, and drop any checksum.
        let info = zstd_frame_info(frame)?;
        let old_descriptor = frame[4];
        let old_header_len = 5
            + usize::from(old_descriptor & 0x20 == 0)
            + [0, 1, 2, 4][usize::from(old_descriptor & 3)]
            + match (old_descriptor >> 6, old_descriptor & 0x20 != 0) {
                (0, single) => usize::from(single),
                (1, _) => 2,
                (2, _) => 4,
                _ => 8,
            };
        let blocks_end = frame.len() - if info.checksum { 4 } else { 0 };
        let blocks = frame.get(old_header_len..blocks_end)?;

        let n = input.len() as u64;
        let mut header = [0u8; 13];
        header[..4].copy_from_slice(&ZSTD_MAGIC.to_le_bytes());
        let header_len = if n < 256 {
            header[4] = 0x20;
            header[5] = n as u8;
            6
        } else if n < 256 + 65536 {
            header[4] = 0x60;
            header[5..7].copy_from_slice(&((n - 256) as u16).to_le_bytes());
            7
        } else if n <= u64::from(u32::MAX) {
            header[4] = 0xA0;
            header[5..9].copy_from_slice(&(n as u32).to_le_bytes());
            9
        } else {
            header[4] = 0xE0;
            header[5..13].copy_from_slice(&n.to_le_bytes());
            13
        };
        let total = header_len + blocks.len();
        let dest = out.get_mut(..total)?;
        dest[..header_len].copy_from_slice(&header[..header_len]);
        dest[header_len..].copy_from_slice(blocks);
        Some(total)
    }

    fn decompress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        let mut rest = input;
        let mut written = 0usize;
        while !rest.is_empty() {
            if let Some(skip) = zstd_skippable_len(rest) {
                rest = rest.get(skip?..)?;
                continue;
            }
            written += self.decode_frame(&mut rest, &mut out[written..])?;
        }
        (written > 0).then_some(written)
    }
}
