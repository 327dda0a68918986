//! Wrap-aware millisecond time, as ENet keeps it.
//!
//! The engine keeps a `u32` millisecond service time that wraps. Comparisons treat any two
//! times less than [`TIME_OVERFLOW`] apart as ordered, like the C library.

/// Distance beyond which a difference is taken to have wrapped (one day, in ms).
pub const TIME_OVERFLOW: u32 = 86_400_000;

/// `a` is earlier than `b`.
#[inline]
pub fn time_less(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) >= TIME_OVERFLOW
}

/// `a` is later than `b`.
#[inline]
pub fn time_greater(a: u32, b: u32) -> bool {
    time_less(b, a)
}

/// `a` is not earlier than `b`.
#[inline]
pub fn time_greater_equal(a: u32, b: u32) -> bool {
    !time_less(a, b)
}

/// Absolute distance between two times.
#[inline]
pub fn time_difference(a: u32, b: u32) -> u32 {
    if a.wrapping_sub(b) >= TIME_OVERFLOW {
        b.wrapping_sub(a)
    } else {
        a.wrapping_sub(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_survive_wrap() {
        assert!(time_less(1, 2));
        assert!(!time_less(2, 1));
        assert!(time_less(u32::MAX - 5, 3));
        assert!(time_greater(3, u32::MAX - 5));
        assert!(time_greater_equal(7, 7));
        assert_eq!(time_difference(3, u32::MAX - 5), 9);
        assert_eq!(time_difference(u32::MAX - 5, 3), 9);
        assert_eq!(time_difference(100, 40), 60);
    }
}
