//! [`Held`]: the first ENet datagrams to a server whose handshake is still running, kept
//! (a few, bounded in count and bytes) and sealed as soon as the handshake completes.
//!
//! Godot drops them ("busy") and lets ENet retransmit, so its first CONNECT goes out only
//! after ENet's first retransmission timeout (about 500 ms); held here, it leaves with the
//! handshake's last flight. Datagrams past the bound are dropped and counted as before
//! (`DtlsStats::busy_drops`); ENet retransmits them.

/// Datagrams held per handshake at most.
pub const MAX_HELD_DATAGRAMS: usize = 4;
/// Bytes held per handshake at most (ENet's CONNECT is a few dozen bytes).
pub const MAX_HELD_BYTES: usize = 8 * 1024;

/// The datagrams held for one handshaking session, in order. Its buffers are allocated
/// when the first datagram is held and freed when the handshake ends.
#[derive(Default)]
pub(super) struct Held {
    bytes: Vec<u8>,
    lens: Vec<usize>,
}

impl Held {
    /// Holds a copy of `datagram`; false (nothing held) past either bound.
    pub(super) fn push(&mut self, datagram: &[u8]) -> bool {
        if self.lens.len() >= MAX_HELD_DATAGRAMS
            || self.bytes.len() + datagram.len() > MAX_HELD_BYTES
        {
            return false;
        }
        if self.lens.capacity() == 0 {
            self.lens.reserve_exact(MAX_HELD_DATAGRAMS);
        }
        self.bytes.extend_from_slice(datagram);
        self.lens.push(datagram.len());
        true
    }

    /// How many datagrams are held.
    pub(super) fn len(&self) -> usize {
        self.lens.len()
    }

    /// The held datagrams, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut at = 0;
        self.lens.iter().map(move |&len| {
            let d = &self.bytes[at..at + len];
            at += len;
            d
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_in_order_within_both_bounds() {
        let mut h = Held::default();
        assert!(h.push(b"one"));
        assert!(h.push(b"two!"));
        assert_eq!(h.iter().collect::<Vec<_>>(), [&b"one"[..], &b"two!"[..]]);
        // The byte bound: a datagram that would pass it is refused, a smaller one fits.
        assert!(!h.push(&vec![0; MAX_HELD_BYTES]));
        assert!(h.push(&[1; 100]));
        assert!(h.push(&[]));
        // The count bound.
        assert_eq!(h.len(), MAX_HELD_DATAGRAMS);
        assert!(!h.push(b"x"));
        assert_eq!(h.iter().map(<[u8]>::len).sum::<usize>(), 3 + 4 + 100);
    }
}
