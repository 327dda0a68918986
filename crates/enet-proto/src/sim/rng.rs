//! [`SimRng`], the simulator's seeded PRNG (xoshiro256** seeded through splitmix64), and
//! the splitmix64 mixing the network also uses to derive per-link seeds.

/// One step of splitmix64: advances `state` and returns the next output.
pub(super) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// The splitmix64 output function (a strong 64-bit finalizer).
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small, fast, seeded pseudo-random number generator (xoshiro256**).
///
/// The state is seeded from a single `u64` through splitmix64, so every seed (including 0)
/// gives a well-mixed state. Not cryptographically secure; meant for simulations only.
/// The output sequence for a given seed is fixed and will not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng {
    pub(super) s: [u64; 4],
}

impl SimRng {
    /// Creates a generator from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            // The all-zero state is a fixed point of xoshiro; splitmix64 practically never
            // produces it, but make sure.
            s[0] = 1;
        }
        Self { s }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Returns a uniformly distributed `f64` in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns `true` with probability `p`.
    ///
    /// `p <= 0` (or NaN) is never true and `p >= 1` is always true. Always draws exactly one
    /// value, whatever `p` is.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Returns a uniformly distributed integer in the half-open range `[lo, hi)`.
    ///
    /// Unbiased (Lemire's multiply-and-reject method). If `hi <= lo`, returns `lo` without
    /// drawing.
    pub fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let range = hi - lo;
        let mut m = u128::from(self.next_u64()) * u128::from(range);
        if (m as u64) < range {
            let threshold = range.wrapping_neg() % range;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(range);
            }
        }
        lo + (m >> 64) as u64
    }
}
