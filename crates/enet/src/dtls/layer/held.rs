//! [`Held`]: the first ENet datagrams to a server whose handshake is still running, kept
//! (bounded in count and bytes) and sealed as soon as the handshake completes.
//!
//! Godot drops them ("busy") and lets ENet retransmit, so its first CONNECT goes out only
//! after ENet's first retransmission timeout (about 500 ms); held here, it leaves with the
//! handshake's last flight. Datagrams past the bound are dropped and counted as before
//! (`DtlsStats::busy_drops`); ENet retransmits them.

/// Datagrams held per handshake at most: a host may connect many peers to one server at
/// once (they share its DTLS session), each with its own CONNECT.
pub const MAX_HELD_DATAGRAMS: usize = 1024;
/// Bytes held per handshake at most (an ENet CONNECT is 52 bytes on the wire, so this
/// holds about a thousand of them).
pub const MAX_HELD_BYTES: usize = 64 * 1024;

/// The datagrams held for one handshaking session, in order. Its buffers grow as
/// datagrams are held (a few allocations per handshake, none once established) and are
/// freed when the handshake ends.
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
        assert!(h.push(&vec![1; MAX_HELD_BYTES - 7]));
        assert!(!h.push(b"x"));
        assert!(h.push(&[]));
        assert_eq!(h.len(), 4);
        // The count bound.
        let mut h = Held::default();
        for i in 0..MAX_HELD_DATAGRAMS {
            assert!(h.push(&[i as u8]));
        }
        assert!(!h.push(&[]));
        assert_eq!(h.len(), MAX_HELD_DATAGRAMS);
        assert!(h.iter().enumerate().all(|(i, d)| d == [i as u8]));
    }
}
