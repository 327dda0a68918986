//! FastLZ, Godot's `COMPRESS_FASTLZ` datagram compressor.
//!
//! Owns [`FastLz`]: a level 1 encoder whose blocks match the reference C FastLZ 0.5.0 byte for
//! byte, a bounds-checked level 1 and level 2 decoder, and Godot's zero-padding of inputs shorter
//! than 16 bytes. The mode enum and the choice between compressors live in the parent module.

use enet_proto::Compressor;

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
        // Allocated zeroed on the heap directly: `Box::new([0; N])` may build the 64 KB
        // array on the stack first.
        let table: Box<[u32]> = vec![0; FLZ_HASH_SIZE].into_boxed_slice();
        Self {
            table: table.try_into().expect("FLZ_HASH_SIZE entries"),
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
