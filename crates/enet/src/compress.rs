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

use std::io::{Cursor, Read};

use enet_proto::Compressor;
use miniz_oxide::deflate::core::{compress as deflate, CompressorOxide, TDEFLFlush, TDEFLStatus};
use miniz_oxide::inflate::core::{decompress as inflate, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::DataFormat;
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use ruzstd::encoding::{CompressionLevel, FrameCompressor, MatchGeneratorDriver};

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
        match self {
            Self::None => None,
            Self::RangeCoder => Some(Box::new(enet_proto::RangeCoder::new())),
            Self::FastLz => Some(Box::new(FastLz::new())),
            Self::Zlib => Some(Box::new(Zlib::new())),
            Self::Zstd => Some(Box::new(Zstd::new())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// FastLZ
// ---------------------------------------------------------------------------------------------

/// Number of bits of the FastLZ match-finder hash.
const FLZ_HASH_BITS: u32 = 13;
/// Number of entries in the FastLZ match-finder table.
const FLZ_HASH_SIZE: usize = 1 << FLZ_HASH_BITS;
/// Longest literal run one FastLZ instruction can carry.
const FLZ_MAX_LITERALS: usize = 32;
/// Largest back-reference distance of a level 1 block.
const FLZ_L1_MAX_DISTANCE: usize = 8192;
/// Largest match-length value (`length - 2`) one level 1 match instruction can carry.
const FLZ_L1_MAX_LEN_FIELD: usize = 262;
/// Distance bias of the 16-bit "far" back-references of level 2 blocks.
const FLZ_L2_FAR_BIAS: usize = 8191;
/// Godot zero-pads FastLZ inputs shorter than this before compressing.
const FLZ_MIN_INPUT: usize = 16;

/// Godot's FastLZ compressor (`COMPRESS_FASTLZ`).
///
/// Output is a raw FastLZ block in the format of FastLZ 0.5.0 (as bundled with Godot), written by
/// a level 1 encoder: the one FastLZ itself picks for inputs shorter than 64 KiB, which every ENet
/// datagram is. Longer inputs are also written as level 1 blocks, which are valid for any length.
/// Like Godot, inputs shorter than 16 bytes are zero-padded to 16 bytes first, so they decompress
/// to 16 bytes. The decoder accepts level 1 and level 2 blocks (level in the top three bits of
/// the first byte), checks every read and write, and never writes past its output slice.
///
/// The 32 KiB match-finder table lives in the struct; compressing and decompressing do not
/// allocate.
pub struct FastLz {
    /// Match finder: for each hash of three bytes, the last input position that had it.
    table: Box<[u32; FLZ_HASH_SIZE]>,
}

impl Default for FastLz {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FastLz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastLz").finish_non_exhaustive()
    }
}

impl FastLz {
    /// Creates a FastLZ compressor with its match-finder table allocated.
    pub fn new() -> Self {
        Self {
            table: Box::new([0; FLZ_HASH_SIZE]),
        }
    }

    /// Compresses `input` as one level 1 FastLZ block into `out`, without Godot's padding.
    ///
    /// Returns the block length, or `None` if `input` is empty, longer than `i32::MAX` bytes,
    /// or the block does not fit in `out`. Inputs shorter than 13 bytes become a single literal
    /// run.
    pub fn compress_block(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        if input.is_empty() || input.len() > i32::MAX as usize {
            return None;
        }
        flz1_encode(&mut self.table, input, out)
    }

    /// Decompresses one FastLZ block (level 1 or level 2) into `out`.
    ///
    /// Returns the number of bytes produced, or `None` if the block is corrupt, names an
    /// unknown level, produces nothing, or does not fit in `out`.
    pub fn decompress_block(input: &[u8], out: &mut [u8]) -> Option<usize> {
        let first = *input.first()?;
        let produced = match first >> 5 {
            0 => flz1_decode(input, out)?,
            1 => flz2_decode(input, out)?,
            _ => return None,
        };
        (produced > 0).then_some(produced)
    }
}

impl Compressor for FastLz {
    fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        if input.is_empty() {
            return None;
        }
        if input.len() < FLZ_MIN_INPUT {
            let mut padded = [0u8; FLZ_MIN_INPUT];
            padded[..input.len()].copy_from_slice(input);
            return self.compress_block(&padded, out);
        }
        self.compress_block(input, out)
    }

    fn decompress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        Self::decompress_block(input, out)
    }
}

/// Bounded output cursor for the FastLZ encoder: every write fails cleanly when `out` is full.
struct FlzSink<'a> {
    /// Destination buffer.
    out: &'a mut [u8],
    /// Number of bytes written so far.
    len: usize,
}

impl FlzSink<'_> {
    /// Appends one byte.
    fn byte(&mut self, value: u8) -> Option<()> {
        *self.out.get_mut(self.len)? = value;
        self.len += 1;
        Some(())
    }

    /// Appends `bytes` as literal runs of at most [`FLZ_MAX_LITERALS`] bytes each.
    fn literals(&mut self, bytes: &[u8]) -> Option<()> {
        for run in bytes.chunks(FLZ_MAX_LITERALS) {
            // A run of n literals is announced by the control byte n - 1 (top three bits zero).
            self.byte((run.len() - 1) as u8)?;
            self.out
                .get_mut(self.len..self.len + run.len())?
                .copy_from_slice(run);
            self.len += run.len();
        }
        Some(())
    }

    /// Appends a level 1 back-reference instruction (or several, for long matches).
    ///
    /// `len_field` is the match length minus two and `distance` the (unbiased) distance back to
    /// the start of the match, 1..=8192.
    fn l1_match(&mut self, mut len_field: usize, distance: usize) -> Option<()> {
        let stored = distance - 1;
        let high = (stored >> 8) as u8;
        let low = (stored & 0xff) as u8;
        // Long matches are split into pieces of 262 + 2 bytes at the same distance; the last
        // piece keeps a length field of at least 1, so it never reads as a literal run.
        while len_field > FLZ_L1_MAX_LEN_FIELD {
            self.byte((7 << 5) | high)?;
            self.byte((FLZ_L1_MAX_LEN_FIELD - 7 - 2) as u8)?;
            self.byte(low)?;
            len_field -= FLZ_L1_MAX_LEN_FIELD;
        }
        if len_field < 7 {
            self.byte(((len_field as u8) << 5) | high)?;
        } else {
            self.byte((7 << 5) | high)?;
            self.byte((len_field - 7) as u8)?;
        }
        self.byte(low)
    }
}

/// FastLZ's multiplicative hash of three bytes (the low 24 bits of `v`).
fn flz_hash(v: u32) -> usize {
    (v.wrapping_mul(2_654_435_769) >> (32 - FLZ_HASH_BITS)) as usize & (FLZ_HASH_SIZE - 1)
}

/// Little-endian 32-bit read at `pos`; the caller guarantees `pos + 4 <= data.len()`.
fn read_le32(data: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]])
}

/// Level 1 FastLZ encoder (same match-finding rules as FastLZ 0.5.0's `fastlz1_compress`).
fn flz1_encode(table: &mut [u32; FLZ_HASH_SIZE], input: &[u8], out: &mut [u8]) -> Option<usize> {
    let n = input.len();
    let mut sink = FlzSink { out, len: 0 };
    table.fill(0);

    // Positions at or past `limit` never start a match; match extension stops at `bound`.
    let limit = n.saturating_sub(13);
    let bound = n.saturating_sub(4);
    let mut anchor = 0usize;
    let mut ip = 2usize;

    'outer: while ip < limit {
        // Look for a position whose next three bytes were seen within the last 8192 bytes.
        let (candidate, seq_at);
        loop {
            let seq = read_le32(input, ip) & 0x00ff_ffff;
            let slot = flz_hash(seq);
            let previous = table[slot] as usize;
            table[slot] = ip as u32;
            let matched = ip - previous < FLZ_L1_MAX_DISTANCE
                && read_le32(input, previous) & 0x00ff_ffff == seq;
            if ip >= limit {
                break 'outer;
            }
            ip += 1;
            if matched {
                candidate = previous;
                seq_at = ip - 1;
                break;
            }
        }
        if ip >= limit {
            break;
        }
        ip = seq_at;

        if ip > anchor {
            sink.literals(&input[anchor..ip])?;
        }

        // Extend the three-byte match; `extra` also counts the first mismatching byte, so the
        // length field (match length - 2) is `extra` and the match covers `extra + 2` bytes.
        let mut p = candidate + 3;
        let mut q = ip + 3;
        let mut extra = 0usize;
        while q < bound {
            let same = input[p] == input[q];
            p += 1;
            q += 1;
            extra += 1;
            if !same {
                break;
            }
        }
        sink.l1_match(extra, ip - candidate)?;

        // Seed the table with the two positions at the end of the match.
        ip += extra;
        let next = read_le32(input, ip);
        table[flz_hash(next & 0x00ff_ffff)] = ip as u32;
        ip += 1;
        table[flz_hash(next >> 8)] = ip as u32;
        ip += 1;
        anchor = ip;
    }

    sink.literals(&input[anchor..])?;
    Some(sink.len)
}

/// Copies `len` bytes that start `back` bytes before `at` in `out` to `at`, byte by byte in the
/// LZ77 sense (an overlapping source repeats the bytes just written). Bounds are checked by the
/// caller.
fn lz_copy(out: &mut [u8], at: usize, back: usize, len: usize) {
    let from = at - back;
    if back >= len {
        out.copy_within(from..from + len, at);
    } else {
        for i in 0..len {
            out[at + i] = out[from + i];
        }
    }
}

/// Copies a literal run of `run` bytes from `input[*ip..]` to `out[*op..]`, advancing both.
fn flz_literal_run(
    input: &[u8],
    ip: &mut usize,
    out: &mut [u8],
    op: &mut usize,
    run: usize,
) -> Option<()> {
    let src = input.get(*ip..*ip + run)?;
    out.get_mut(*op..*op + run)?.copy_from_slice(src);
    *ip += run;
    *op += run;
    Some(())
}

/// Level 1 FastLZ decoder. Accepts exactly what FastLZ 0.5.0's `fastlz1_decompress` accepts
/// (a final lone byte after the last instruction is ignored, as there).
fn flz1_decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let n = input.len();
    // The first instruction is always a literal run; its top bits hold the level.
    let mut ctrl = usize::from(*input.first()? & 31);
    let mut ip = 1usize;
    let mut op = 0usize;
    loop {
        if ctrl >= 32 {
            let mut len = (ctrl >> 5) + 2;
            if len == 9 {
                if ip + 2 > n {
                    return None;
                }
                len += usize::from(input[ip]);
                ip += 1;
            }
            let back = ((ctrl & 31) << 8) + usize::from(*input.get(ip)?) + 1;
            ip += 1;
            if back > op || op + len > out.len() {
                return None;
            }
            lz_copy(out, op, back, len);
            op += len;
        } else {
            flz_literal_run(input, &mut ip, out, &mut op, ctrl + 1)?;
        }
        if ip + 2 > n {
            break;
        }
        ctrl = usize::from(input[ip]);
        ip += 1;
    }
    Some(op)
}

/// Level 2 FastLZ decoder, with the bounds checks of FastLZ 0.5.0's `fastlz2_decompress` plus
/// one it lacks (a match instruction cut off right after its control byte is rejected).
fn flz2_decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let n = input.len();
    let mut ctrl = usize::from(*input.first()? & 31);
    let mut ip = 1usize;
    let mut op = 0usize;
    loop {
        if ctrl >= 32 {
            let mut len = (ctrl >> 5) + 2;
            let high = (ctrl & 31) << 8;
            if len == 9 {
                // Length continues in bytes of 255 until a smaller byte.
                loop {
                    if ip + 2 > n {
                        return None;
                    }
                    let more = input[ip];
                    ip += 1;
                    len += usize::from(more);
                    if more != 255 {
                        break;
                    }
                }
            }
            let low = *input.get(ip)?;
            ip += 1;
            let mut back = high + usize::from(low) + 1;
            if low == 255 && high == 31 << 8 {
                // Far match: a 16-bit big-endian distance follows, biased by 8191.
                if ip + 3 > n {
                    return None;
                }
                back = (usize::from(input[ip]) << 8 | usize::from(input[ip + 1]))
                    + FLZ_L2_FAR_BIAS
                    + 1;
                ip += 2;
            }
            if back > op || op + len > out.len() {
                return None;
            }
            lz_copy(out, op, back, len);
            op += len;
        } else {
            flz_literal_run(input, &mut ip, out, &mut op, ctrl + 1)?;
        }
        if ip >= n {
            break;
        }
        ctrl = usize::from(input[ip]);
        ip += 1;
    }
    Some(op)
}

// ---------------------------------------------------------------------------------------------
// Zlib
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Zstandard
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Input of the "far" vector: 100 bytes, a 9900-byte run of 0x55, the same 100 bytes.
    fn far_input() -> Vec<u8> {
        let head: Vec<u8> = (0..100u32).map(|i| ((i * 37 + 11) % 251) as u8).collect();
        let mut v = head.clone();
        v.extend(std::iter::repeat_n(0x55, 9900));
        v.extend(head);
        v
    }

    /// Blocks produced by the reference C FastLZ, as (input, level 1 block, level 2 block).
    /// Generated with fastlz.c from the PyPI package fastlz5 0.0.1.4 and, identically, with
    /// ariya/FastLZ at commit 344eb40 (the snapshot Godot 4.3 bundles), called through ctypes.
    fn reference_vectors() -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let text = b"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog again!".to_vec();
        let mut pad = vec![1u8, 2, 3];
        pad.resize(16, 0);
        vec![
            (
                text,
                unhex("1f54686520717569636b2062726f776e20666f78206a756d7073206f76657220740c6865206c617a7920646f672e20e0222c0620616761696e21"),
                unhex("3f54686520717569636b2062726f776e20666f78206a756d7073206f76657220740c6865206c617a7920646f672e20e0222c0620616761696e21"),
            ),
            (
                vec![0; 300],
                unhex("010000e0fd01e01601040000000000"),
                unhex("210000e0ff1d01040000000000"),
            ),
            (
                pad,
                unhex("0f01020300000000000000000000000000"),
                unhex("2f01020300000000000000000000000000"),
            ),
            (
                far_input(),
                unhex(concat!(
                    "1f0b30557a9fc4e913385d82a7ccf11b40658aafd4f923486d92b7dc062b50759a1fbfe40e33587da2c7ec163b6085aacff41e43688db2d701264b7095badf092e531f789dc2e711365b80a5caef193e6388add2f721466b90b5da04294e7398bde20c0431567ba055",
                    "e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0fd00e0c400",
                    "1f0b30557a9fc4e913385d82a7ccf11b40658aafd4f923486d92b7dc062b50759a1fbfe40e33587da2c7ec163b6085aacff41e43688db2d701264b7095badf092e531f789dc2e711365b80a5caef193e6388add2f721466b90b5da04294e7398bde20c0331567ba0",
                )),
                unhex(concat!(
                    "3f0b30557a9fc4e913385d82a7ccf11b40658aafd4f923486d92b7dc062b50759a1fbfe40e33587da2c7ec163b6085aacff41e43688db2d701264b7095badf092e531f789dc2e711365b80a5caef193e6388add2f721466b90b5da04294e7398bde20c0431567ba055",
                    "e0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc800ff56ff0710040c31567ba0",
                )),
            ),
        ]
    }

    #[test]
    fn fastlz_decodes_reference_blocks() {
        for (input, l1, l2) in reference_vectors() {
            for block in [&l1, &l2] {
                let mut out = vec![0u8; input.len()];
                assert_eq!(FastLz::decompress_block(block, &mut out), Some(input.len()));
                assert_eq!(out, input);
                // One byte less room must fail, never truncate.
                let mut short = vec![0u8; input.len() - 1];
                assert_eq!(FastLz::decompress_block(block, &mut short), None);
            }
        }
    }

    #[test]
    fn fastlz_encoder_matches_reference_level1() {
        let mut flz = FastLz::new();
        for (input, l1, _) in reference_vectors() {
            let mut out = vec![0u8; input.len() * 2 + 16];
            let n = flz.compress_block(&input, &mut out).unwrap();
            assert_eq!(&out[..n], &l1[..], "input of {} bytes", input.len());
        }
    }
}
