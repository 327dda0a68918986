//! Time and timers: the host's clock and the per-peer deadline queue.
//!
//! Owns the conversion of `Instant`s into ENet's wrapping millisecond service time, the
//! [`TimerQueue`] of per-peer deadlines (retransmission or ping), the send queue of peers
//! due a send pass, and [`Host::poll_timeout`] / [`Host::handle_timeout`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;

impl Host {
    pub(super) fn update_time(&mut self, now: Instant) {
        let ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        if ms > self.now_ms {
            self.now_ms = ms;
        }
        self.service_time = (self.now_ms as u32).wrapping_add(SERVICE_TIME_BASE);
    }

    /// Converts a wrapping service-time deadline into the host's monotonic ms scale.
    pub(super) fn deadline_ms(&self, t: u32) -> u64 {
        let delta = t.wrapping_sub(self.service_time) as i32;
        if delta <= 0 {
            self.now_ms
        } else {
            self.now_ms + delta as u64
        }
    }

    pub(super) fn peer_deadline(&self, idx: usize) -> Option<u64> {
        let p = &self.peers[idx];
        match p.state {
            PeerState::Disconnected | PeerState::Zombie => return None,
            _ => {}
        }
        let mut d: Option<u64> = None;
        if !p.queues.sent_reliable_commands.is_empty() {
            d = Some(self.deadline_ms(p.timeouts.next_timeout));
        } else if p.state == PeerState::Connected {
            // Due exactly when the send pass would ping (the condition in `build_datagram`).
            // Adding the interval to `last_receive_time` instead would wrap for intervals
            // near `u32::MAX` and report "due now" for a ping the send pass never sends.
            let since = time_difference(self.service_time, p.last_receive_time);
            d = Some(self.now_ms + u64::from(p.timeouts.ping_interval.saturating_sub(since)));
        }
        d
    }

    pub(super) fn refresh_timer(&mut self, idx: usize) {
        self.refresh_timer_after(idx, 0);
    }

    /// Registers the peer's next deadline, but no earlier than `now + min_delay` ms.
    pub(super) fn refresh_timer_after(&mut self, idx: usize, min_delay: u64) {
        if let Some(d) = self.peer_deadline(idx) {
            let d = d.max(self.now_ms + min_delay);
            self.timers.register_earlier(idx, d);
        }
    }

    pub(super) fn schedule(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        if !p.in_send_queue {
            p.in_send_queue = true;
            self.send_queue.push_back(idx as u16);
        }
    }

    /// When [`Host::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some((d, idx)) = self.timers.peek() {
            if !self.timers.is_current(idx, d) {
                self.timers.pop();
                continue;
            }
            // Deadlines only ever move earlier when registered; an acknowledgement or a
            // received datagram can move the real one later (or cancel it). Revalidate the
            // earliest entry so that the caller is not woken for a deadline that is gone.
            match self.peer_deadline(idx) {
                Some(real) if real <= d => break,
                real => {
                    self.timers.pop();
                    self.timers.set(idx, real);
                }
            }
        }
        let mut next = self.timers.peek().map(|(d, _)| d);
        if self.connected_peers > 0 {
            let t = self.deadline_ms(
                self.bandwidth_throttle_epoch
                    .wrapping_add(BANDWIDTH_THROTTLE_INTERVAL),
            );
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next.map(|ms| {
            let at = self.epoch.checked_add(Duration::from_millis(ms));
            // Only an `Instant` at the very end of the platform's range overflows here.
            at.or_else(|| self.epoch.checked_add(Duration::from_millis(self.now_ms)))
                .unwrap_or(self.epoch)
        })
    }

    /// Runs timers due at `now`: retransmissions, timeouts, pings and the bandwidth throttle.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.update_time(now);
        if self.connected_peers > 0
            && time_difference(self.service_time, self.bandwidth_throttle_epoch)
                >= BANDWIDTH_THROTTLE_INTERVAL
        {
            self.bandwidth_throttle();
        }
        while let Some((d, idx)) = self.timers.peek() {
            if d > self.now_ms {
                break;
            }
            self.timers.pop();
            if !self.timers.is_current(idx, d) {
                continue;
            }
            self.timers.cancel(idx);
            let p = &self.peers[idx];
            if matches!(p.state, PeerState::Disconnected | PeerState::Zombie) {
                continue;
            }
            // A deadline that has since moved later (an acknowledgement emptied the
            // retransmission queue, a datagram postponed the ping) is not due: re-register it
            // without a send pass.
            if self
                .peer_deadline(idx)
                .is_none_or(|real| real > self.now_ms)
            {
                self.refresh_timer(idx);
                continue;
            }
            if !p.queues.sent_reliable_commands.is_empty()
                && time_greater_equal(self.service_time, p.timeouts.next_timeout)
                && self.check_timeouts(idx)
            {
                continue;
            }
            self.schedule(idx);
            // Whatever was due has been acted on; never report the same instant again.
            self.refresh_timer_after(idx, 1);
        }
    }
}

/// Per-peer deadlines (host milliseconds), earliest first.
///
/// Each slot has at most one registered deadline. The heap may also hold entries that were
/// superseded (by an earlier deadline, a cancellation or a reset); they are recognised by
/// [`TimerQueue::is_current`] and skipped when they reach the top. When superseded
/// entries make the heap twice as long as there are slots, it is rebuilt from the
/// registered deadlines: its memory stays proportional to the slots instead of to how
/// often deadlines moved (4,000 busy peers left 32,768 entries, 512 KB). A rebuild costs
/// O(slots) and comes at most once per that many registrations.
///
/// An entry is one `u64`, the deadline shifted left by 16 bits with the slot in the low 16
/// (8 bytes instead of 16 for a `(u64, u16)` pair; ordered the same), and a slot's
/// registered deadline is [`NO_DEADLINE`] when it has none (8 bytes a slot instead of an
/// `Option<u64>`'s 16). Deadlines are host milliseconds, far below 2^48 (8,900 years).
#[derive(Debug, Default)]
pub(super) struct TimerQueue {
    heap: BinaryHeap<Reverse<u64>>,
    registered: Vec<u64>,
}

/// A slot without a deadline.
const NO_DEADLINE: u64 = u64::MAX;
/// The latest deadline an entry can hold (later ones are clamped to it).
const LATEST: u64 = (1 << 48) - 1;

impl TimerQueue {
    /// An empty queue for `slots` peer slots (at most 65,536).
    pub(super) fn new(slots: usize) -> TimerQueue {
        TimerQueue {
            heap: BinaryHeap::new(),
            registered: vec![NO_DEADLINE; slots],
        }
    }

    /// Registers `at` for slot `idx` unless an earlier or equal deadline is registered.
    pub(super) fn register_earlier(&mut self, idx: usize, at: u64) {
        let at = at.min(LATEST);
        if at < self.registered[idx] {
            self.set(idx, Some(at));
        }
    }

    /// Replaces slot `idx`'s deadline (`None` cancels it).
    pub(super) fn set(&mut self, idx: usize, at: Option<u64>) {
        let Some(at) = at else {
            self.registered[idx] = NO_DEADLINE;
            return;
        };
        let at = at.min(LATEST);
        self.registered[idx] = at;
        if self.heap.len() >= self.limit() {
            self.compact();
        }
        self.heap.push(Reverse(entry(at, idx)));
    }

    /// Entries the heap may hold before superseded ones are dropped.
    fn limit(&self) -> usize {
        (2 * self.registered.len()).max(64)
    }

    /// Rebuilds the heap from the registered deadlines, dropping superseded entries
    /// (keeps the allocation).
    fn compact(&mut self) {
        let mut v = std::mem::take(&mut self.heap).into_vec();
        v.clear();
        v.extend(
            self.registered
                .iter()
                .enumerate()
                .filter(|&(_, &t)| t != NO_DEADLINE)
                .map(|(i, &t)| Reverse(entry(t, i))),
        );
        self.heap = BinaryHeap::from(v);
    }

    /// Cancels slot `idx`'s deadline.
    pub(super) fn cancel(&mut self, idx: usize) {
        self.registered[idx] = NO_DEADLINE;
    }

    /// Whether `at` is the deadline registered for slot `idx`.
    pub(super) fn is_current(&self, idx: usize, at: u64) -> bool {
        at != NO_DEADLINE && self.registered[idx] == at
    }

    /// The earliest entry (deadline, slot), current or superseded.
    pub(super) fn peek(&self) -> Option<(u64, usize)> {
        self.heap
            .peek()
            .map(|&Reverse(e)| (e >> 16, (e & 0xFFFF) as usize))
    }

    /// Removes the earliest entry.
    pub(super) fn pop(&mut self) {
        self.heap.pop();
    }
}

/// The heap entry of deadline `at` (at most [`LATEST`]) for slot `idx`.
fn entry(at: u64, idx: usize) -> u64 {
    debug_assert!(at <= LATEST && idx <= 0xFFFF);
    (at << 16) | idx as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deadlines that keep moving earlier leave superseded entries behind; the heap is
    /// rebuilt before it outgrows twice the slots, and the earliest current deadline of
    /// every slot is still found, in order.
    #[test]
    fn superseded_entries_are_dropped_before_the_heap_outgrows_its_slots() {
        let slots = 40;
        let mut q = TimerQueue::new(slots);
        let limit = q.limit();
        for round in 0..100u64 {
            for idx in 0..slots {
                q.register_earlier(idx, 1_000_000 - round * 100 - idx as u64);
                assert!(q.heap.len() <= limit);
            }
        }
        assert!(q.heap.capacity() <= 2 * limit);
        let mut due = Vec::new();
        while let Some((at, idx)) = q.peek() {
            q.pop();
            if q.is_current(idx, at) {
                due.push((at, idx));
                q.cancel(idx);
            }
        }
        let want: Vec<_> = (0..slots)
            .rev()
            .map(|idx| (1_000_000 - 99 * 100 - idx as u64, idx))
            .collect();
        assert_eq!(due, want);
    }

    /// A cancelled slot is not current, an equal or later deadline does not replace an
    /// earlier one, and deadlines beyond the entry range are clamped, not wrapped.
    #[test]
    fn registration_rules() {
        let mut q = TimerQueue::new(3);
        q.register_earlier(1, 50);
        q.register_earlier(1, 60);
        q.register_earlier(2, u64::MAX - 1);
        assert!(q.is_current(1, 50) && !q.is_current(1, 60));
        assert!(q.is_current(2, LATEST));
        assert_eq!(q.peek(), Some((50, 1)));
        q.cancel(1);
        assert!(!q.is_current(1, 50));
        assert!(!q.is_current(0, NO_DEADLINE));
        q.pop();
        assert_eq!(q.peek(), Some((LATEST, 2)));
        q.set(0, Some(7));
        assert_eq!(q.peek(), Some((7, 0)));
    }
}
