//! Held datagrams in delivery order (a heap ordered by arrival time, then by scheduling
//! order) and the pool of payload buffers that keeps sending and delivering allocation-free
//! once warmed up.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::link::Schedule;
use super::POOL_LIMIT;

/// A datagram waiting in a heap, ordered so that `BinaryHeap` pops the earliest
/// `(at, seq)` first.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) at: Instant,
    pub(super) seq: u64,
    pub(super) link: usize,
    pub(super) data: Vec<u8>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the earliest time, then the lowest sequence number, is the maximum.
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

/// Datagrams scheduled for delivery plus a pool of spare buffers.
#[derive(Debug, Default)]
pub(super) struct Queue {
    pub(super) heap: BinaryHeap<Entry>,
    pub(super) pool: Vec<Vec<u8>>,
    pub(super) next_seq: u64,
}

impl Queue {
    pub(super) fn push(&mut self, at: Instant, link: usize, data: &[u8]) {
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            at,
            seq,
            link,
            data: buf,
        });
    }

    pub(super) fn push_scheduled(&mut self, schedule: Schedule, link: usize, data: &[u8]) {
        for at in [schedule.first, schedule.second].into_iter().flatten() {
            self.push(at, link, data);
        }
    }

    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        if self.heap.peek()?.at <= now {
            self.heap.pop()
        } else {
            None
        }
    }

    pub(super) fn next_delivery(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    pub(super) fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() > 0 && self.pool.len() < POOL_LIMIT {
            buf.clear();
            self.pool.push(buf);
        }
    }

    /// Moves `entry`'s payload into `out` and keeps `out`'s old buffer.
    pub(super) fn swap_out(&mut self, mut entry: Entry, out: &mut Vec<u8>) {
        std::mem::swap(out, &mut entry.data);
        self.recycle(entry.data);
    }
}
