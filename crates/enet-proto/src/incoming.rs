//! Incoming queues and fragment reassembly, built so that a hostile peer cannot use them
//! to burn CPU or pin memory.
//!
//! * A channel's queues are ordered maps keyed by the *absolute* position of a reliable
//!   sequence number (a 64-bit counter that advances with the channel's 16-bit position,
//!   so keys never change while an entry waits). ENet keeps a linked list sorted by window
//!   distance from the channel's position and searches it linearly; the map holds the same
//!   order, so lookups and insertions cost O(log n) and delivery order is unchanged.
//! * Reassembly commits memory for fragments received, not for the total a group
//!   announces: fragments must sit at `fragment_number × fragment_length` (as every ENet
//!   sender places them); the in-order prefix grows in one buffer and fragments that arrive
//!   ahead of it wait in a side buffer until the prefix reaches them.

use std::collections::BTreeMap;

use crate::event::DropReason;
use crate::protocol::{Fragment, MINIMUM_MTU};

/// Most entries held in one incoming queue (reliable or unreliable) of one channel.
///
/// A well-behaved sender keeps at most seven reliable windows (28,672 sequence numbers) in
/// flight, so the reliable queue never reaches this; unreliable packets are only held while
/// a reliable packet in front of them is missing.
pub const MAXIMUM_HELD_PER_QUEUE: usize = 32 * 1024;

/// Smallest fragment length an ENet sender uses: its peer's MTU (at least 576) less the
/// 4-byte datagram header, the 24-byte fragment command and a 4-byte checksum.
pub const MINIMUM_FRAGMENT_LENGTH: u32 = MINIMUM_MTU - 4 - 24 - 4;

/// What one out-of-order fragment's index entry is charged as (the map node share).
pub(crate) const SPILL_ENTRY_COST: usize = 16;

/// Key of an entry in a channel's reliable queue: absolute position of its sequence number.
pub(crate) type ReliableKey = u64;
/// Key of an entry in a channel's unreliable queue: absolute reliable position, then the
/// unreliable sequence number.
pub(crate) type UnreliableKey = (u64, u16);

/// A fragment group being reassembled.
#[derive(Debug, Default)]
pub(crate) struct Reassembly {
    /// Announced total length.
    pub total_length: u32,
    /// Length of every fragment but the last (fixed by the first fragment received).
    pub fragment_length: u32,
    /// Fragments `0..prefix` are in the entry's data buffer, in order.
    pub prefix: u32,
    /// Payloads of fragments received ahead of the prefix, back to back.
    pub spill: Vec<u8>,
    /// Fragment number → offset of its payload in `spill`.
    pub spill_index: BTreeMap<u32, u32>,
}

/// The fragment length a group's fragments imply, after checking that `f` sits where an
/// ENet sender puts it. `known` is the group's length once fixed by an earlier fragment.
pub(crate) fn fragment_layout(f: &Fragment, known: Option<u32>) -> Result<u32, DropReason> {
    let count = f.fragment_count;
    let total = f.total_length;
    let n = f.fragment_number;
    let len = u32::from(f.data_length);
    if count == 1 {
        return if f.fragment_offset == 0 && len == total {
            Ok(total)
        } else {
            Err(DropReason::MisplacedFragment)
        };
    }
    let last = n == count - 1;
    let l = match known {
        Some(l) => l,
        None if !last => len,
        None => {
            if !f.fragment_offset.is_multiple_of(count - 1) {
                return Err(DropReason::MisplacedFragment);
            }
            f.fragment_offset / (count - 1)
        }
    };
    // Every fragment but the last is `l` long; the last holds the rest, 1..=l bytes.
    let before_last = u64::from(count - 1) * u64::from(l);
    let fits = l >= MINIMUM_FRAGMENT_LENGTH
        && before_last < u64::from(total)
        && u64::from(total) <= before_last + u64::from(l);
    let offset_ok = u64::from(f.fragment_offset) == u64::from(n) * u64::from(l);
    let len_ok = if last {
        u64::from(len) == u64::from(total) - before_last
    } else {
        len == l
    };
    if fits && offset_ok && len_ok {
        Ok(l)
    } else {
        Err(DropReason::MisplacedFragment)
    }
}

/// The capacity to grow a reassembly buffer to so that it holds `needed` bytes: doubling
/// (amortised copies), never beyond the group's total.
pub(crate) fn grown_capacity(capacity: usize, needed: usize, total: usize) -> usize {
    if needed <= capacity {
        capacity
    } else {
        needed
            .max(capacity.saturating_mul(2))
            .min(total.max(needed))
    }
}

/// How many bytes a fragment group holds now: buffer capacities and index entries.
pub(crate) fn reassembly_committed(data: &Vec<u8>, r: &Reassembly) -> usize {
    data.capacity() + r.spill.capacity() + r.spill_index.len() * SPILL_ENTRY_COST
}

/// Stores fragment `f` (already checked against the group's layout). Returns false for a
/// duplicate.
pub(crate) fn store_fragment(
    data: &mut Vec<u8>,
    r: &mut Reassembly,
    f: &Fragment,
    payload: &[u8],
) -> bool {
    let n = f.fragment_number;
    if n < r.prefix || r.spill_index.contains_key(&n) {
        return false;
    }
    let total = r.total_length as usize;
    if n == r.prefix {
        append(data, payload, total);
        r.prefix += 1;
        // Absorb the fragments that waited for this one.
        while let Some(at) = r.spill_index.remove(&r.prefix) {
            let at = at as usize;
            let l = (r.fragment_length as usize).min(total - data.len());
            let chunk = &r.spill[at..at + l];
            append(data, chunk, total);
            r.prefix += 1;
        }
        if r.spill_index.is_empty() && !r.spill.is_empty() {
            r.spill = Vec::new();
        }
    } else {
        let at = r.spill.len() as u32;
        let needed = r.spill.len() + payload.len();
        let cap = grown_capacity(r.spill.capacity(), needed, total);
        r.spill.reserve_exact(cap - r.spill.len());
        r.spill.extend_from_slice(payload);
        r.spill_index.insert(n, at);
    }
    true
}

fn append(data: &mut Vec<u8>, bytes: &[u8], total: usize) {
    let needed = data.len() + bytes.len();
    let cap = grown_capacity(data.capacity(), needed, total);
    data.reserve_exact(cap - data.len());
    data.extend_from_slice(bytes);
}

/// The bytes storing `f` would add to a group's commitment at most (capacity growth of the
/// buffer it lands in, plus an index entry).
pub(crate) fn fragment_growth(data: &Vec<u8>, r: &Reassembly, f: &Fragment) -> usize {
    let total = r.total_length as usize;
    let len = usize::from(f.data_length);
    if f.fragment_number == r.prefix {
        // The prefix may absorb the whole spill; bound by the group's total.
        let needed = (data.len() + len + r.spill.len()).min(total);
        grown_capacity(data.capacity(), needed, total) - data.capacity()
    } else {
        grown_capacity(r.spill.capacity(), r.spill.len() + len, total) - r.spill.capacity()
            + SPILL_ENTRY_COST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(n: u32, count: u32, l: u32, total: u32) -> Fragment {
        let offset = n * l;
        Fragment {
            start_sequence_number: 1,
            data_length: (total - offset).min(l) as u16,
            fragment_count: count,
            fragment_number: n,
            total_length: total,
            fragment_offset: offset,
        }
    }

    #[test]
    fn layout_accepts_what_senders_produce_and_nothing_else() {
        let l = 1364;
        let total = 3 * l + 5;
        for n in 0..4 {
            assert_eq!(
                fragment_layout(&frag(n, 4, l, total), None),
                Ok(l),
                "fragment {n}"
            );
            assert_eq!(fragment_layout(&frag(n, 4, l, total), Some(l)), Ok(l));
        }
        let mut f = frag(2, 4, l, total);
        f.fragment_offset += 1;
        assert_eq!(
            fragment_layout(&f, Some(l)),
            Err(DropReason::MisplacedFragment)
        );
        // One byte per fragment, spread over a large total: refused.
        let mut f = frag(5, 1000, 4096, 4096 * 1000);
        f.data_length = 1;
        assert_eq!(
            fragment_layout(&f, None),
            Err(DropReason::MisplacedFragment)
        );
        // Tiny fragments: refused.
        assert_eq!(
            fragment_layout(&frag(0, 10, 100, 1000), None),
            Err(DropReason::MisplacedFragment)
        );
        // A total that the count and length cannot produce.
        assert_eq!(
            fragment_layout(&frag(0, 4, l, 10 * l), None),
            Err(DropReason::MisplacedFragment)
        );
    }

    #[test]
    fn reassembly_in_any_order_commits_only_what_arrived() {
        let l = 1000u32;
        let count = 50u32;
        let total = count * l - 7;
        let payload: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let mut data = Vec::new();
        let mut r = Reassembly {
            total_length: total,
            fragment_length: l,
            ..Default::default()
        };
        let order: Vec<u32> = (0..count).rev().collect();
        for (i, &n) in order.iter().enumerate() {
            let f = frag(n, count, l, total);
            let o = f.fragment_offset as usize;
            let chunk = &payload[o..o + f.data_length as usize];
            assert!(store_fragment(&mut data, &mut r, &f, chunk));
            assert!(
                !store_fragment(&mut data, &mut r, &f, chunk),
                "duplicate accepted"
            );
            if i == 0 {
                assert!(reassembly_committed(&data, &r) < 2 * l as usize + 64);
            }
        }
        assert_eq!(data, payload);
        assert!(r.spill.is_empty() && r.spill_index.is_empty());
    }
}
