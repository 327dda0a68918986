//! Tests of Godot's datagram compressors on their own: Godot's mode values, round trips,
//! realistic traffic shrinking, Godot's FastLZ padding, bounded output, hostile input and the
//! zlib and zstd framing. Interoperability with reference implementations is in
//! `compress_reference.rs`; the inputs both use are in `compress_inputs/`.

mod compress_inputs;

use compress_inputs::{batch_inputs, enet_like, Rng};
use enet::compress::{CompressionMode, FastLz, Zlib, Zstd};
use enet_proto::Compressor;
use proptest::prelude::*;

/// The modes that have a compressor.
const MODES: [CompressionMode; 4] = [
    CompressionMode::RangeCoder,
    CompressionMode::FastLz,
    CompressionMode::Zlib,
    CompressionMode::Zstd,
];

/// Length the decompressor must report for `input` in `mode` (FastLZ pads to 16 bytes).
fn decompressed_len(mode: CompressionMode, input: &[u8]) -> usize {
    if mode == CompressionMode::FastLz {
        input.len().max(16)
    } else {
        input.len()
    }
}

/// Compresses with ample room, decompresses into exactly the expected size, and checks.
fn check_round_trip(mode: CompressionMode, c: &mut dyn Compressor, input: &[u8]) {
    let mut packed = vec![0u8; input.len() * 2 + 128];
    let n = c
        .compress(input, &mut packed)
        .unwrap_or_else(|| panic!("{mode:?}: {} bytes did not compress", input.len()));
    let expect = decompressed_len(mode, input);
    let mut unpacked = vec![0xAAu8; expect];
    assert_eq!(
        c.decompress(&packed[..n], &mut unpacked),
        Some(expect),
        "{mode:?}: {} bytes",
        input.len()
    );
    assert_eq!(&unpacked[..input.len()], input, "{mode:?}");
    assert!(unpacked[input.len()..].iter().all(|&b| b == 0), "{mode:?}");

    // ENet's own call: output limit = input size; a result that fits must still decode.
    let mut tight = vec![0u8; input.len()];
    if let Some(m) = c.compress(input, &mut tight) {
        assert!(m <= input.len());
        let mut again = vec![0u8; expect];
        assert_eq!(
            c.decompress(&tight[..m], &mut again),
            Some(expect),
            "{mode:?}"
        );
        assert_eq!(&again[..input.len()], input, "{mode:?}");
    }
}

fn input_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..4096),
        (any::<u64>(), 1..4096usize).prop_map(|(seed, len)| enet_like(seed, len)),
    ]
}

#[test]
fn mode_values_match_godot() {
    assert_eq!(CompressionMode::default(), CompressionMode::None);
    let expected = [
        (CompressionMode::None, 0),
        (CompressionMode::RangeCoder, 1),
        (CompressionMode::FastLz, 2),
        (CompressionMode::Zlib, 3),
        (CompressionMode::Zstd, 4),
    ];
    for (mode, value) in expected {
        assert_eq!(mode.as_i32(), value);
        assert_eq!(mode as i32, value);
        assert_eq!(CompressionMode::from_i32(value), Some(mode));
        assert_eq!(mode.compressor().is_some(), mode != CompressionMode::None);
    }
    assert_eq!(CompressionMode::from_i32(5), None);
    assert_eq!(CompressionMode::from_i32(-1), None);
}

#[test]
fn round_trip_batch_and_reuse() {
    // One compressor per mode, reused across all inputs (state must not leak between calls).
    for mode in MODES {
        let mut c = mode.compressor().unwrap();
        for input in batch_inputs() {
            check_round_trip(mode, c.as_mut(), &input);
        }
    }
}

#[test]
fn realistic_traffic_shrinks() {
    // Sanity check on ratios: realistic command areas must shrink in every mode.
    let input = enet_like(99, 1400);
    for mode in MODES {
        let mut c = mode.compressor().unwrap();
        let mut out = vec![0u8; input.len()];
        let n = c.compress(&input, &mut out).unwrap();
        assert!(n < input.len() * 3 / 4, "{mode:?}: {n} of {}", input.len());
    }
}

proptest! {
    // 128 cases per property unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    #[test]
    fn round_trip_any_input(input in input_strategy()) {
        for mode in MODES {
            let mut c = mode.compressor().unwrap();
            check_round_trip(mode, c.as_mut(), &input);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        room in 0..5000usize,
    ) {
        for mode in MODES {
            let mut c = mode.compressor().unwrap();
            let mut out = vec![0u8; room];
            if let Some(n) = c.decompress(&data, &mut out) {
                prop_assert!(n > 0 && n <= room, "{:?}: {} into {}", mode, n, room);
            }
        }
    }

    #[test]
    fn damaged_streams_never_panic(
        input in input_strategy(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        for mode in MODES {
            let mut c = mode.compressor().unwrap();
            let mut packed = vec![0u8; input.len() * 2 + 128];
            let n = c.compress(&input, &mut packed).unwrap();
            packed.truncate(n);
            let expect = decompressed_len(mode, &input);
            let mut out = vec![0u8; expect];

            // Flipped bytes: anything but a panic or an overlong result is acceptable.
            let mut bad = packed.clone();
            for (at, x) in &flips {
                bad[at.index(n)] ^= x;
            }
            if let Some(m) = c.decompress(&bad, &mut out) {
                prop_assert!(m > 0 && m <= expect);
            }

            // A truncated zlib stream or zstd frame is always rejected (both carry their end).
            let short = &packed[..cut.index(n)];
            let got = c.decompress(short, &mut out);
            if matches!(mode, CompressionMode::Zlib | CompressionMode::Zstd) {
                prop_assert_eq!(got, None, "{:?} accepted {} of {} bytes", mode, short.len(), n);
            } else if let Some(m) = got {
                prop_assert!(m > 0 && m <= expect);
            }
        }
    }
}

#[test]
fn fastlz_pads_short_inputs() {
    let mut flz = FastLz::new();
    for len in 1..16 {
        let input: Vec<u8> = (1..=len as u8).collect();
        let mut packed = [0u8; 64];
        let n = flz.compress(&input, &mut packed).unwrap();
        // The padded 16-byte block is one literal run: control byte + 16 bytes.
        assert_eq!(n, 17);
        assert_eq!(packed[0], 15);
        let mut out = [0xAAu8; 64];
        assert_eq!(flz.decompress(&packed[..n], &mut out), Some(16));
        assert_eq!(&out[..len], &input[..]);
        assert!(out[len..16].iter().all(|&b| b == 0));
        assert!(
            out[16..].iter().all(|&b| b == 0xAA),
            "wrote past the result"
        );
        // Never smaller than the input, so ENet would send these uncompressed.
        let mut tight = vec![0u8; len];
        assert_eq!(flz.compress(&input, &mut tight), None);
    }
    // Exactly 16 bytes are not padded further.
    let input = [7u8; 16];
    let mut packed = [0u8; 64];
    let n = flz.compress(&input, &mut packed).unwrap();
    let mut out = [0u8; 64];
    assert_eq!(flz.decompress(&packed[..n], &mut out), Some(16));
    // The raw block API does not pad.
    let mut raw = [0u8; 8];
    assert_eq!(flz.compress_block(&[1, 2, 3], &mut raw), Some(4));
    assert_eq!(&raw[..4], &[2, 1, 2, 3]);
}

#[test]
fn fastlz_rejects_malformed_blocks() {
    let mut out = [0u8; 64];
    let cases: &[(&str, &[u8])] = &[
        ("empty", &[]),
        ("level 3 marker", &[0x40, 1, 2]),
        ("level 8 marker", &[0xE0, 1, 2]),
        ("literal run past the end", &[0x03, 1, 2]),
        ("match before the start", &[0x00, 9, 0x20, 0x05]),
        ("level 2 match before the start", &[0x20, 9, 0x20, 0x05]),
        ("level 2 far match cut short", &[0x20, 9, 0x3F, 0xFF, 0x00]),
        ("level 2 match cut after control", &[0x20, 9, 0x20]),
    ];
    for (what, block) in cases {
        assert_eq!(
            FastLz::decompress_block(block, &mut out),
            None,
            "{what} accepted"
        );
    }
    // Result larger than the room: rejected, and nothing is written past the slice.
    let mut small = [0u8; 3];
    assert_eq!(
        FastLz::decompress_block(&[0x03, 1, 2, 3, 4], &mut small),
        None
    );
    // A valid level 1 block with a run: "a" then 4 copies at distance 1.
    assert_eq!(
        FastLz::decompress_block(&[0x00, b'a', 0x40, 0x00], &mut out),
        Some(5)
    );
    assert_eq!(&out[..5], b"aaaaa");
}

#[test]
fn output_that_does_not_fit_is_refused() {
    let input = enet_like(3, 2000);
    for mode in MODES {
        let mut c = mode.compressor().unwrap();
        let mut packed = vec![0u8; 4096];
        let n = c.compress(&input, &mut packed).unwrap();
        packed.truncate(n);
        for room in [0, 1, n / 2, n - 1] {
            let mut out = vec![0u8; room];
            assert_eq!(c.compress(&input, &mut out), None, "{mode:?} into {room}");
        }
        let mut exact = vec![0u8; n];
        assert_eq!(c.compress(&input, &mut exact), Some(n), "{mode:?}");
        assert_eq!(exact, packed, "{mode:?}: output depends on call history");
        for room in [0, 1, input.len() / 2, input.len() - 1] {
            let mut out = vec![0u8; room];
            assert_eq!(
                c.decompress(&packed, &mut out),
                None,
                "{mode:?} into {room}"
            );
        }
    }
    // Incompressible data does not fit in ENet's limit (the input size) with any compressor.
    let mut rng = Rng::new(11);
    let noise: Vec<u8> = (0..1000).map(|_| rng.next() as u8).collect();
    for mode in MODES {
        let mut c = mode.compressor().unwrap();
        let mut out = vec![0u8; noise.len()];
        assert_eq!(c.compress(&noise, &mut out), None, "{mode:?}");
    }
}

#[test]
fn zlib_and_zstd_framing() {
    let input = enet_like(5, 700);
    let mut out = vec![0u8; 2048];
    let n = Zlib::new().compress(&input, &mut out).unwrap();
    // zlib header for deflate, 32 KiB window, level 6 (zlib's "default" level flag).
    assert_eq!(&out[..2], &[0x78, 0x9C]);
    assert!(n > 6);

    for len in [1usize, 255, 256, 700, 65_791, 65_792, 70_000] {
        let input = enet_like(len as u64, len);
        let mut out = vec![0u8; len * 2 + 128];
        let n = Zstd::new().compress(&input, &mut out).unwrap();
        assert_eq!(&out[..4], &[0x28, 0xB5, 0x2F, 0xFD], "magic");
        let descriptor = out[4];
        assert_eq!(descriptor & 0x20, 0x20, "single segment");
        assert_eq!(descriptor & 0x04, 0, "no checksum");
        assert_eq!(descriptor & 0x03, 0, "no dictionary");
        let size = match descriptor >> 6 {
            0 => u64::from(out[5]),
            1 => u64::from(u16::from_le_bytes([out[5], out[6]])) + 256,
            2 => u64::from(u32::from_le_bytes(out[5..9].try_into().unwrap())),
            _ => unreachable!(),
        };
        assert_eq!(size, len as u64, "content size");
        let mut back = vec![0u8; len];
        assert_eq!(Zstd::new().decompress(&out[..n], &mut back), Some(len));
        assert_eq!(back, input);
    }
}
