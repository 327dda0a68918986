//! The deterministic payloads the C peer sends and checks ([`pattern`]), identical to
//! `pattern_fill` in `cpeer.c`, and the CRC-32 it prints.

/// Byte `index` of [`pattern`]`(seed, ..)`.
fn pattern_byte(seed: u32, index: usize) -> u8 {
    if index < 4 {
        return (seed >> (8 * index)) as u8;
    }
    let mut h = seed ^ (index as u32).wrapping_mul(0x9E37_79B1);
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h as u8
}

/// The deterministic payload the C peer sends for `seed` (identical to
/// `pattern_fill` in `cpeer.c`). Bytes `0..min(4, len)` are the seed in
/// little-endian order; every byte `i >= 4` is the low byte of a 32-bit hash
/// of `seed` and `i` (wrapping arithmetic):
///
/// ```text
/// h = seed ^ (i * 0x9E3779B1); h *= 0x85EBCA6B; h ^= h >> 13;
/// h *= 0xC2B2AE35; h ^= h >> 16; byte = h & 0xFF
/// ```
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| pattern_byte(seed, i)).collect()
}

/// Returns `Some(seed)` if `data` is exactly [`pattern`]`(seed, data.len())`
/// for the seed held in its first four bytes (what the C peer prints as the
/// `<seed>` field). Payloads shorter than 4 bytes give `None`.
pub fn pattern_seed(data: &[u8]) -> Option<u32> {
    if data.len() < 4 {
        return None;
    }
    let seed = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    data.iter()
        .enumerate()
        .skip(4)
        .all(|(i, &b)| b == pattern_byte(seed, i))
        .then_some(seed)
}

/// The seed of the greeting a C peer started with `--greet` sends
/// ([`CPeerOpts::greet`](crate::CPeerOpts::greet)).
pub const GREET_SEED: u32 = 4711;

/// Standard (zlib-compatible) CRC-32 of `bytes`, as printed by the C peer.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}
