//! Compares `enet_proto::RangeCoder` with the C library's range coder (system libenet).
//!
//! For every input: our compressed bytes must equal C's, C must decompress ours, and we must
//! decompress C's. Arbitrary (mostly corrupt) streams must decompress identically on both sides.
//!
//! Without the C library (the build script sets no `enet_c` cfg) the FFI below is not
//! compiled and every test skips through `enet_interop::require_c_library`.

// The build script's `-lenet` is attached to the `enet_interop` library target only; linking
// that crate carries the native library into this test binary.
extern crate enet_interop;

/// Everything that calls the C library (compiled only when it was found).
#[cfg(enet_c)]
mod with_c {
    use std::ffi::c_void;
    use std::os::raw::c_uchar;

    use enet_proto::{Compressor, RangeCoder};

    /// `ENetBuffer` as declared in `enet/unix.h` (data pointer first on Unix).
    #[repr(C)]
    struct ENetBuffer {
        data: *mut c_void,
        data_length: usize,
    }

    extern "C" {
        fn enet_range_coder_create() -> *mut c_void;
        fn enet_range_coder_destroy(context: *mut c_void);
        fn enet_range_coder_compress(
            context: *mut c_void,
            in_buffers: *const ENetBuffer,
            in_buffer_count: usize,
            in_limit: usize,
            out_data: *mut c_uchar,
            out_limit: usize,
        ) -> usize;
        fn enet_range_coder_decompress(
            context: *mut c_void,
            in_data: *const c_uchar,
            in_limit: usize,
            out_data: *mut c_uchar,
            out_limit: usize,
        ) -> usize;
    }

    /// Owns a C range coder context.
    struct CCoder(*mut c_void);

    impl CCoder {
        fn new() -> Self {
            // SAFETY: `enet_range_coder_create` has no preconditions; it returns a heap context or NULL.
            let ctx = unsafe { enet_range_coder_create() };
            assert!(!ctx.is_null(), "enet_range_coder_create failed");
            CCoder(ctx)
        }

        /// Compresses `input` (non-empty) as a single buffer; `None` when C returns 0.
        fn compress(&mut self, input: &[u8], out_limit: usize) -> Option<Vec<u8>> {
            assert!(
                !input.is_empty(),
                "the C encoder reads one byte even from an empty buffer"
            );
            let buffer = ENetBuffer {
                data: input.as_ptr() as *mut c_void,
                data_length: input.len(),
            };
            let mut out = vec![0u8; out_limit];
            // SAFETY: `self.0` is a live context; `buffer` points at `input.len()` readable bytes
            // (C only reads through the pointer); `out` has `out_limit` writable bytes and C never
            // writes past `out_limit`.
            let n = unsafe {
                enet_range_coder_compress(
                    self.0,
                    &buffer,
                    1,
                    input.len(),
                    out.as_mut_ptr(),
                    out_limit,
                )
            };
            (n > 0).then(|| {
                out.truncate(n);
                out
            })
        }

        /// Decompresses `input`; `None` when C returns 0.
        fn decompress(&mut self, input: &[u8], out_limit: usize) -> Option<Vec<u8>> {
            let mut out = vec![0u8; out_limit];
            // SAFETY: `self.0` is a live context; `input` has `input.len()` readable bytes and `out`
            // has `out_limit` writable bytes; C stays within both limits.
            let n = unsafe {
                enet_range_coder_decompress(
                    self.0,
                    input.as_ptr(),
                    input.len(),
                    out.as_mut_ptr(),
                    out_limit,
                )
            };
            (n > 0).then(|| {
                out.truncate(n);
                out
            })
        }
    }

    impl Drop for CCoder {
        fn drop(&mut self) {
            // SAFETY: `self.0` came from `enet_range_coder_create` and is destroyed exactly once.
            unsafe { enet_range_coder_destroy(self.0) }
        }
    }

    fn rust_compress(coder: &mut RangeCoder, input: &[u8], out_limit: usize) -> Option<Vec<u8>> {
        let mut out = vec![0u8; out_limit];
        let n = coder.compress(input, &mut out)?;
        out.truncate(n);
        Some(out)
    }

    fn rust_decompress(coder: &mut RangeCoder, input: &[u8], out_limit: usize) -> Option<Vec<u8>> {
        let mut out = vec![0u8; out_limit];
        let n = coder.decompress(input, &mut out)?;
        out.truncate(n);
        Some(out)
    }

    /// xorshift64* generator: deterministic, no dependencies.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn byte(&mut self) -> u8 {
            (self.next() >> 32) as u8
        }
    }

    /// Generates inputs of varied entropy: uniform noise, small alphabets, runs, repeated
    /// phrases, ascending ramps, and ENet-like command streams (mostly zeros with a few fields).
    fn generate(rng: &mut Rng, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len);
        match rng.below(7) {
            0 => v.extend((0..len).map(|_| rng.byte())),
            1 => {
                let k = 1 + rng.below(4) as usize;
                let alphabet: Vec<u8> = (0..k).map(|_| rng.byte()).collect();
                v.extend((0..len).map(|_| alphabet[rng.below(k as u64) as usize]));
            }
            2 => {
                while v.len() < len {
                    let b = rng.byte();
                    let run = 1 + rng.below(300) as usize;
                    v.extend(std::iter::repeat_n(b, run.min(len - v.len())));
                }
            }
            3 => {
                let phrase: Vec<u8> = (0..1 + rng.below(40)).map(|_| rng.byte()).collect();
                v.extend(phrase.iter().copied().cycle().take(len));
            }
            4 => {
                let step = rng.byte() | 1;
                let start = rng.byte();
                v.extend((0..len).map(|i| start.wrapping_add(step.wrapping_mul(i as u8))));
            }
            5 => {
                // Text-like: lower-case letters and spaces with skewed frequencies.
                v.extend((0..len).map(|_| {
                    let r = rng.below(100);
                    if r < 18 {
                        b' '
                    } else {
                        b'a' + (rng.below(26) * rng.below(26) / 26) as u8
                    }
                }));
            }
            _ => {
                // ENet-like: 4-byte command headers and big-endian fields, mostly zero.
                while v.len() < len {
                    let cmd = [0x86u8, 0x07, 0x49, 0x01, 0x85][rng.below(5) as usize];
                    let seq = rng.below(64) as u16;
                    let chunk = [
                        cmd,
                        rng.below(3) as u8,
                        (seq >> 8) as u8,
                        seq as u8,
                        0,
                        0,
                        0,
                        5,
                    ];
                    v.extend_from_slice(&chunk);
                    v.extend((0..rng.below(12)).map(|_| rng.byte()));
                }
                v.truncate(len);
            }
        }
        v
    }

    fn check_against_c(rust: &mut RangeCoder, c: &mut CCoder, input: &[u8], case: usize) {
        let limit = input.len() * 2 + 64;
        let ours = rust_compress(rust, input, limit).expect("rust compress");
        let theirs = c.compress(input, limit).expect("C compress");
        assert_eq!(
            ours,
            theirs,
            "case {case}: compressed output differs (len {})",
            input.len()
        );
        assert_eq!(
            c.decompress(&ours, input.len()).as_deref(),
            Some(input),
            "case {case}: C cannot decompress our output"
        );
        assert_eq!(
            rust_decompress(rust, &theirs, input.len()).as_deref(),
            Some(input),
            "case {case}: we cannot decompress C's output"
        );
        // Output limits: both fail identically one byte short.
        let short = ours.len() - 1;
        assert_eq!(
            rust_compress(rust, input, short),
            c.compress(input, short),
            "case {case}"
        );
    }

    pub fn range_coder_matches_c_on_random_inputs() {
        let mut rust = RangeCoder::new();
        let mut c = CCoder::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let cases = 3000;
        for case in 0..cases {
            // Bias towards datagram-sized inputs, but cover 1..=4096.
            let len = if case % 4 == 0 {
                1 + rng.below(4096) as usize
            } else {
                1 + rng.below(1400) as usize
            };
            let input = generate(&mut rng, len);
            check_against_c(&mut rust, &mut c, &input, case);
        }
    }

    pub fn range_coder_matches_c_on_edge_inputs() {
        let mut rust = RangeCoder::new();
        let mut c = CCoder::new();
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![0],
            vec![0xff],
            vec![0; 4096],
            vec![0xff; 4096],
            (0..=255).collect(),
            (0..=255).rev().collect(),
            (0..4096).map(|i| i as u8).collect(),
            (0..4096).map(|i| (255 - (i % 256)) as u8).collect(),
            // Many distinct order-2 contexts: exercises model resets.
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ];
        for b in 0..=255u8 {
            inputs.push(vec![b]);
            inputs.push(vec![b, b.wrapping_mul(7), b ^ 0x5a]);
        }
        for (case, input) in inputs.iter().enumerate() {
            check_against_c(&mut rust, &mut c, input, case);
        }
    }

    pub fn range_coder_decompress_matches_c_on_arbitrary_streams() {
        let mut rust = RangeCoder::new();
        let mut c = CCoder::new();
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut some = 0;
        for case in 0..3000 {
            let len = 1 + rng.below(300) as usize;
            let input = if case % 2 == 0 {
                (0..len).map(|_| rng.byte()).collect::<Vec<u8>>()
            } else {
                // Start from a valid stream and flip bytes, so decoding goes further before failing.
                let plain = generate(&mut rng, len);
                let mut s = rust_compress(&mut rust, &plain, len * 2 + 64).expect("compress");
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(s.len() as u64) as usize;
                    s[i] ^= 1 << rng.below(8);
                }
                s
            };
            let limit = rng.below(4096) as usize;
            let ours = rust_decompress(&mut rust, &input, limit);
            let theirs = c.decompress(&input, limit);
            if ours.is_some() {
                some += 1;
            }
            assert_eq!(
                ours, theirs,
                "case {case}: input {input:02x?}, limit {limit}"
            );
        }
        // Sanity: the comparison covered successful decodes too, not just failures.
        assert!(some > 100, "only {some} streams decoded");
    }
}

#[test]
fn range_coder_matches_c_on_random_inputs() {
    // Without the library this prints the skip line (or fails when references are required).
    if enet_interop::require_c_library() {
        #[cfg(enet_c)]
        with_c::range_coder_matches_c_on_random_inputs();
    }
}

#[test]
fn range_coder_matches_c_on_edge_inputs() {
    // Without the library this prints the skip line (or fails when references are required).
    if enet_interop::require_c_library() {
        #[cfg(enet_c)]
        with_c::range_coder_matches_c_on_edge_inputs();
    }
}

#[test]
fn range_coder_decompress_matches_c_on_arbitrary_streams() {
    // Without the library this prints the skip line (or fails when references are required).
    if enet_interop::require_c_library() {
        #[cfg(enet_c)]
        with_c::range_coder_decompress_matches_c_on_arbitrary_streams();
    }
}
