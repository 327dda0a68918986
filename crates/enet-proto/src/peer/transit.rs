//! The adaptive transit window: how many reliable payload bytes a sender keeps in flight to
//! one peer on a path without bandwidth limits (see [`crate::HostConfig::transit_window`]).
//!
//! The C library keeps at most its largest window, 64 KiB, in flight, whatever the path.
//! This window starts there and widens like TCP's slow start (by the bytes each
//! acknowledgement reports, so about doubling per round trip) while the path shows no
//! sign of congestion and the window is in use, up to the host's ceiling. A retransmission
//! at the timeout (tail loss, a lost burst, a stalled receiver) or a peer gone idle brings
//! it back to 64 KiB; many early retransmissions within about one window's worth of
//! acknowledgements (losses the size of congestion, not random loss) halve it. It never goes
//! below 64 KiB, so the C library's window (with the packet throttle applied to either)
//! stays the floor. Everything is O(1) and allocation-free; the state is 8 bytes per peer.

use crate::protocol::MAXIMUM_WINDOW_SIZE;

/// The window the adaptive transit window starts at and never goes below: ENet's largest
/// window, the C library's.
pub(crate) const TRANSIT_FLOOR: u32 = MAXIMUM_WINDOW_SIZE;

/// How much an early-retransmitted byte weighs against an acknowledged one in the loss
/// score: the window halves once early retransmissions exceed 1/this of the window within
/// about one window's worth of acknowledgements (sustained, 1/this of the bytes sent). At
/// 1 % random loss each way (about 2 % of the commands retransmitted early, counting lost
/// acknowledgements) it never halves; at 5 % each way it halves every two round trips or so
/// and still widens, more slowly (a simulated bulk transfer averaged about 300 KiB); at
/// 15 % it stays near the floor (with the timeouts there, about 72 KiB on average).
pub(crate) const EARLY_LOSS_WEIGHT: u32 = 16;

/// A peer's adaptive transit window (bytes), its early-loss score and what a timeout took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TransitWindow {
    /// The window, [`TRANSIT_FLOOR`]..=the host's ceiling when it was last raised.
    window: u32,
    /// Early-retransmitted bytes times [`EARLY_LOSS_WEIGHT`], less the bytes acknowledged
    /// since (not below 0); above the window it halves the window.
    loss_score: u32,
    /// The window before the last timeout restart, until an acknowledgement shows whether
    /// that timeout was real (0: none pending).
    before_timeout: u32,
}

impl Default for TransitWindow {
    fn default() -> Self {
        TransitWindow {
            window: TRANSIT_FLOOR,
            loss_score: 0,
            before_timeout: 0,
        }
    }
}

impl TransitWindow {
    /// The window under the host's `ceiling` (which may have been lowered since it grew).
    pub fn get(&self, ceiling: u32) -> u32 {
        self.window.min(ceiling).max(TRANSIT_FLOOR)
    }

    /// An acknowledgement removed `bytes` of reliable payload from the `in_flight` bytes
    /// (counted before the removal). The window widens by `bytes` if it was at least half
    /// used (Linux's rule for a window-limited sender in slow start): a sender that leaves
    /// most of its window empty learns nothing about a wider one.
    pub fn acknowledged(&mut self, bytes: u32, in_flight: u32, ceiling: u32) {
        self.loss_score = self.loss_score.saturating_sub(bytes);
        let window = self.get(ceiling);
        if in_flight.saturating_mul(2) >= window {
            self.window = window.saturating_add(bytes).min(ceiling.max(TRANSIT_FLOOR));
        } else {
            self.window = window;
        }
    }

    /// A command carrying `bytes` of payload is presumed lost and goes out again early.
    /// Returns whether the window shrank.
    pub fn early_loss(&mut self, bytes: u32, ceiling: u32) -> bool {
        let window = self.get(ceiling);
        self.loss_score = self
            .loss_score
            .saturating_add(bytes.saturating_mul(EARLY_LOSS_WEIGHT));
        if self.loss_score > window {
            self.window = (window / 2).max(TRANSIT_FLOOR);
            self.loss_score = 0;
            return true;
        }
        false
    }

    /// A peer idle long enough to be pinged: back to the floor.
    pub fn restart(&mut self) {
        *self = TransitWindow::default();
    }

    /// A pass of retransmissions at their timeout: the window halves, or, if one of them
    /// had timed out before (`repeated`: the path is dead or jammed, not just unlucky), goes
    /// back to the floor. The window before is kept until
    /// [`TransitWindow::timeout_verdict`] tells whether the timeout was real.
    pub fn timed_out(&mut self, repeated: bool) {
        let before = self.window.max(self.before_timeout);
        *self = TransitWindow {
            before_timeout: before,
            window: if repeated {
                TRANSIT_FLOOR
            } else {
                (self.window / 2).max(TRANSIT_FLOOR)
            },
            ..TransitWindow::default()
        };
    }

    /// An acknowledgement of a command retransmitted at its timeout arrived. If it echoes
    /// an earlier transmission (`spurious`: the first copy was not lost, only late, as
    /// TCP's Eifel detection tells), the window taken by the timeout comes back; otherwise
    /// the loss was real and the restart stands.
    pub fn timeout_verdict(&mut self, spurious: bool) {
        if spurious {
            self.window = self.window.max(self.before_timeout);
        }
        self.before_timeout = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEILING: u32 = 1 << 20;

    #[test]
    fn widens_by_acknowledged_bytes_only_when_in_use_and_up_to_the_ceiling() {
        let mut w = TransitWindow::default();
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR);
        // Less than half used: no growth.
        w.acknowledged(1024, TRANSIT_FLOOR / 2 - 1, CEILING);
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR);
        w.acknowledged(1024, TRANSIT_FLOOR / 2, CEILING);
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR + 1024);
        for _ in 0..10_000 {
            let now = w.get(CEILING);
            w.acknowledged(1024, now, CEILING);
        }
        assert_eq!(w.get(CEILING), CEILING);
        // A lowered ceiling applies at once; the C-sized ceiling pins the floor.
        assert_eq!(w.get(256 * 1024), 256 * 1024);
        w.acknowledged(1024, CEILING, TRANSIT_FLOOR);
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR);
    }

    #[test]
    fn isolated_early_losses_are_forgiven_clusters_halve_and_restart_resets() {
        let mut w = TransitWindow::default();
        for _ in 0..448 {
            let now = w.get(CEILING);
            w.acknowledged(1024, now, CEILING);
        }
        assert_eq!(w.get(CEILING), 512 * 1024);
        // 2 % of the bytes lost early, spread out: no shrinking.
        for i in 0..5_000 {
            if i % 50 == 0 {
                assert!(!w.early_loss(1024, CEILING));
            }
            w.acknowledged(1024, 0, CEILING);
        }
        assert_eq!(w.get(CEILING), 512 * 1024);
        // 33 lost within one window (> 512 KiB / 16): halved, not below the floor.
        let shrank = (0..33).filter(|_| w.early_loss(1024, CEILING)).count();
        assert_eq!(shrank, 1);
        assert_eq!(w.get(CEILING), 256 * 1024);
        for _ in 0..1000 {
            w.early_loss(1024, CEILING);
        }
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR);
        w.acknowledged(4096, TRANSIT_FLOOR, CEILING);
        w.restart();
        assert_eq!(w, TransitWindow::default());
    }

    #[test]
    fn a_spurious_timeout_gives_the_window_back_a_real_one_does_not() {
        let grown = |w: &mut TransitWindow| {
            for _ in 0..192 {
                let now = w.get(CEILING);
                w.acknowledged(1024, now, CEILING);
            }
            assert_eq!(w.get(CEILING), 256 * 1024);
        };
        let mut w = TransitWindow::default();
        grown(&mut w);
        w.timed_out(false);
        assert_eq!(w.get(CEILING), 128 * 1024, "halved");
        // A second timeout before the verdict keeps the first window to give back.
        w.timed_out(true);
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR, "repeated: the floor");
        w.timeout_verdict(true);
        assert_eq!(w.get(CEILING), 256 * 1024);
        // A verdict without a pending timeout changes nothing.
        w.timeout_verdict(true);
        assert_eq!(w.get(CEILING), 256 * 1024);
        w.timed_out(true);
        w.timeout_verdict(false);
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR);
        w.timeout_verdict(true);
        assert_eq!(w.get(CEILING), TRANSIT_FLOOR, "nothing pending any more");
    }
}
