//! Range-coder tests: the spec's §12.7 vectors byte for byte, output limits, independence
//! of calls, and round trips and bounded failure on arbitrary input.

use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn compress_vec(coder: &mut RangeCoder, input: &[u8]) -> Vec<u8> {
    // Worst-case growth is well below 2x + 16 for these sizes.
    let mut out = vec![0u8; input.len() * 2 + 16];
    let n = coder.compress(input, &mut out).expect("compress");
    out.truncate(n);
    out
}

fn decompress_vec(coder: &mut RangeCoder, input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; limit];
    let n = coder.decompress(input, &mut out)?;
    out.truncate(n);
    Some(out)
}

fn check_vector(input: &[u8], expected: &[u8]) {
    let mut coder = RangeCoder::new();
    let compressed = compress_vec(&mut coder, input);
    assert_eq!(compressed, expected, "encoding of {input:02x?}");
    let back = decompress_vec(&mut coder, &compressed, input.len()).expect("decompress");
    assert_eq!(back, input);
}

fn vector_20000() -> Vec<u8> {
    (0..20_000usize)
        .map(|i| ((((i * 7) ^ (i >> 3)) + (i * i % 13)) % 256) as u8)
        .collect()
}

#[test]
fn range_coder_vector_single_byte() {
    check_vector(b"a", &hex("619e619e"));
}

#[test]
fn range_coder_vector_hello() {
    check_vector(b"hello", &hex("68fbe0c33d21e0"));
}

#[test]
fn range_coder_vector_repeated() {
    check_vector(&[b'a'; 20], &hex("62026af461e7"));
}

#[test]
fn range_coder_vector_abc() {
    check_vector(&b"abc".repeat(8), &hex("6202d12588b78f347885"));
}

#[test]
fn range_coder_vector_ascending() {
    let input: Vec<u8> = (0..0x20).collect();
    check_vector(
        &input,
        &hex("0103f1068d929142466659664b8723d971a0e29f4836b8407f59be0c0ae247063c32be"),
    );
}

#[test]
fn range_coder_vector_connect() {
    let input = hex(
        "82ff00010000ffff00000570000100000000000200000000000000000000138800000002000000021dc072740000002a",
    );
    assert_eq!(input.len(), 48);
    let expected = hex("837b88b1fdf1df576b939eeefcbc0a3e8a642656d339f4da669b4f0137c7");
    assert_eq!(expected.len(), 30);
    check_vector(&input, &expected);
}

#[test]
fn range_coder_vector_20000_with_resets() {
    let input = vector_20000();
    assert_eq!(crc32fast::hash(&input), 0xc592_c4a7);
    let mut coder = RangeCoder::new();
    let compressed = compress_vec(&mut coder, &input);
    assert_eq!(compressed.len(), 20_858);
    assert_eq!(crc32fast::hash(&compressed), 0x0f76_6ca0);
    assert_eq!(
        &compressed[..16],
        &hex("010addf1c3ccd6b22464327d82e88db1")[..]
    );
    let back = decompress_vec(&mut coder, &compressed, input.len()).expect("decompress");
    assert_eq!(back, input);
}

#[test]
fn range_coder_empty_input_fails() {
    let mut coder = RangeCoder::new();
    let mut out = [0u8; 16];
    assert_eq!(coder.compress(&[], &mut out), None);
    assert_eq!(coder.decompress(&[], &mut out), None);
}

#[test]
fn range_coder_output_limit() {
    let mut coder = RangeCoder::new();
    let input = b"hello";
    let expected = hex("68fbe0c33d21e0");
    // Exactly enough room works; one byte less fails.
    let mut out = vec![0u8; expected.len()];
    assert_eq!(coder.compress(input, &mut out), Some(expected.len()));
    assert_eq!(out, expected);
    for limit in 0..expected.len() {
        let mut out = vec![0u8; limit];
        assert_eq!(coder.compress(input, &mut out), None, "limit {limit}");
    }
    // Decompression needs room for every byte.
    let mut out = vec![0u8; input.len()];
    assert_eq!(coder.decompress(&expected, &mut out), Some(input.len()));
    for limit in 0..input.len() {
        let mut out = vec![0u8; limit];
        assert_eq!(coder.decompress(&expected, &mut out), None, "limit {limit}");
    }
}

#[test]
fn range_coder_reuse_is_independent() {
    // Each call starts from a fresh model.
    let mut coder = RangeCoder::new();
    let _ = compress_vec(&mut coder, &vector_20000()[..3000]);
    check_vector(b"hello", &hex("68fbe0c33d21e0"));
    assert_eq!(compress_vec(&mut coder, b"hello"), hex("68fbe0c33d21e0"));
}

#[test]
fn range_coder_trailing_input_ignored() {
    let mut coder = RangeCoder::new();
    let mut compressed = hex("68fbe0c33d21e0");
    // Zero bytes past the end are what the decoder assumes anyway.
    compressed.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        decompress_vec(&mut coder, &compressed, 64).as_deref(),
        Some(&b"hello"[..])
    );
}

#[test]
fn range_coder_decompress_junk_bounded() {
    let mut coder = RangeCoder::new();
    // Deterministic pseudo-random junk of many sizes; must not panic.
    let mut state = 0x1234_5678u32;
    let mut junk = vec![0u8; 600];
    let mut out = vec![0u8; 5000];
    for len in 1..junk.len() {
        for b in junk.iter_mut().take(len) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *b = state as u8;
        }
        if let Some(n) = coder.decompress(&junk[..len], &mut out) {
            assert!(n > 0 && n <= out.len());
        }
    }
    for fill in [0x00u8, 0xff, 0x80, 0x01] {
        let input = vec![fill; 64];
        if let Some(n) = coder.decompress(&input, &mut out) {
            assert!(n > 0 && n <= out.len());
        }
    }
}

fn low_entropy() -> impl Strategy<Value = Vec<u8>> {
    (1usize..=5000, proptest::collection::vec(any::<u8>(), 1..4)).prop_flat_map(
        |(len, alphabet)| proptest::collection::vec(proptest::sample::select(alphabet), len..=len),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn range_coder_roundtrip_random(input in proptest::collection::vec(any::<u8>(), 1..5000)) {
        let mut coder = RangeCoder::new();
        let compressed = compress_vec(&mut coder, &input);
        let back = decompress_vec(&mut coder, &compressed, input.len());
        prop_assert_eq!(back, Some(input));
    }

    #[test]
    fn range_coder_roundtrip_low_entropy(input in low_entropy()) {
        let mut coder = RangeCoder::new();
        let compressed = compress_vec(&mut coder, &input);
        let back = decompress_vec(&mut coder, &compressed, input.len());
        prop_assert_eq!(back, Some(input));
    }

    #[test]
    fn range_coder_decompress_arbitrary_never_panics(
        input in proptest::collection::vec(any::<u8>(), 1..2000),
        limit in 0usize..8000,
    ) {
        let mut coder = RangeCoder::new();
        let mut out = vec![0u8; limit];
        if let Some(n) = coder.decompress(&input, &mut out) {
            prop_assert!(n > 0 && n <= limit);
        }
    }

    #[test]
    fn range_coder_compress_limit_is_exact(
        input in proptest::collection::vec(any::<u8>(), 1..600),
        cut in 1usize..8,
    ) {
        let mut coder = RangeCoder::new();
        let full = compress_vec(&mut coder, &input);
        let mut out = vec![0u8; full.len()];
        prop_assert_eq!(coder.compress(&input, &mut out), Some(full.len()));
        let short = full.len().saturating_sub(cut);
        let mut out = vec![0u8; short];
        prop_assert_eq!(coder.compress(&input, &mut out), None);
    }
}
