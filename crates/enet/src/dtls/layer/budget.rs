//! What a pending handshake may cost the server: the count of pending handshakes per
//! source (an IPv4 address or an IPv6 /64, for
//! [`DtlsLimits::max_handshakes_per_source`](crate::dtls::DtlsLimits)) and the cap on
//! records of a later epoch a handshake is given ([`MAX_FUTURE_RECORDS`]).
//!
//! OpenSSL buffers records of the next epoch that arrive before the handshake reaches it
//! (up to 100, each with a read buffer of its own): a client that returned a valid cookie
//! could pin hundreds of KiB per handshake with them. An honest peer sends one such record
//! per flight (its Finished), and at most 13 flights (OpenSSL gives up after 12
//! retransmissions), so a handshake that has taken [`MAX_FUTURE_RECORDS`] of them gets no
//! more (they are dropped and counted).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::dtls::DtlsStats;

/// Records of an epoch other than 0 one handshake (or renewal) is given at most.
pub(super) const MAX_FUTURE_RECORDS: u32 = 16;

/// The records of an epoch other than 0 in `data` (a datagram may pack several DTLS
/// records; a truncated header at the end counts as one).
pub(super) fn future_records(data: &[u8]) -> u32 {
    let mut n = 0;
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 13 {
            return n + 1;
        }
        if rest[3] != 0 || rest[4] != 0 {
            n += 1;
        }
        let len = 13 + usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        rest = rest.get(len..).unwrap_or(&[]);
    }
    n
}

/// Takes `data`'s later-epoch records from a handshake's allowance `used`; false (and
/// `used` unchanged) if they would exceed [`MAX_FUTURE_RECORDS`].
pub(super) fn take_future_records(used: &mut u32, data: &[u8]) -> bool {
    let n = future_records(data);
    if *used + n > MAX_FUTURE_RECORDS {
        return false;
    }
    *used += n;
    true
}

/// The source a handshake is counted against for
/// [`DtlsLimits::max_handshakes_per_source`](crate::dtls::DtlsLimits): an IPv4 address, or an IPv6 /64 prefix (one
/// host commonly owns a whole /64).
pub(super) fn source_of(addr: SocketAddr) -> IpAddr {
    match addr.ip() {
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(ip) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// One more pending handshake from `addr`.
pub(super) fn pending_add(
    stats: &mut DtlsStats,
    by_source: &mut HashMap<IpAddr, usize>,
    addr: SocketAddr,
) {
    stats.pending_handshakes += 1;
    *by_source.entry(source_of(addr)).or_insert(0) += 1;
}

/// One pending handshake from `addr` fewer (completed, failed or closed).
pub(super) fn pending_sub(
    stats: &mut DtlsStats,
    by_source: &mut HashMap<IpAddr, usize>,
    addr: SocketAddr,
) {
    stats.pending_handshakes -= 1;
    let key = source_of(addr);
    if let Some(n) = by_source.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            by_source.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_epoch_records_are_counted_in_packed_datagrams() {
        let record = |epoch: u8, len: u8| {
            let mut r = vec![22, 0xfe, 0xfd, 0, epoch, 0, 0, 0, 0, 0, 1, 0, len];
            r.extend(std::iter::repeat_n(0, usize::from(len)));
            r
        };
        let mut d = record(0, 10);
        assert_eq!(future_records(&d), 0);
        d.extend(record(1, 30));
        d.extend(record(1, 0));
        assert_eq!(future_records(&d), 2);
        d.extend_from_slice(&[22, 0xfe]);
        assert_eq!(future_records(&d), 3, "a truncated header counts");
        let mut used = MAX_FUTURE_RECORDS - 3;
        assert!(take_future_records(&mut used, &d));
        assert_eq!(used, MAX_FUTURE_RECORDS);
        assert!(take_future_records(&mut used, &record(0, 5)));
        assert!(!take_future_records(&mut used, &record(2, 5)));
        assert_eq!(used, MAX_FUTURE_RECORDS);
    }
}
