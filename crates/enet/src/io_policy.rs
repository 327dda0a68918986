//! What the UDP driver does with send errors and oversized datagrams.
//!
//! * Send errors are sorted into errors about one destination (the datagram is dropped and
//!   counted; that peer may time out as on a lossy link) and errors of the socket itself
//!   (the only ones [`crate::udp::UdpHost::service`] returns). One bad address, e.g. a
//!   spoofed CONNECT from port 0 whose VERIFY_CONNECT the kernel refuses with `EINVAL`, must
//!   not stop a server.
//! * Datagrams longer than ENet's largest MTU ([`MAX_DATAGRAM_SIZE`]), or cut short by the
//!   kernel, are dropped and counted before the engine sees them, as the C library does.
//! * [`SendErrorHook`]: a test seam that makes the driver act as if the kernel had refused
//!   a datagram, so that every error class can be exercised on loopback.

use std::io;
use std::net::SocketAddr;

/// The largest datagram the driver hands to the engine: ENet's maximum MTU (4096 bytes).
/// Longer ones are dropped and counted in [`crate::udp::IoStats::oversize_dropped`].
pub const MAX_DATAGRAM_SIZE: usize = 4096;

/// Size of the receive buffers: one byte more than [`MAX_DATAGRAM_SIZE`], so that a
/// datagram that fills the buffer is known to be oversized even where the kernel does not
/// report truncation.
pub(crate) const RECV_BUFFER_SIZE: usize = MAX_DATAGRAM_SIZE + 1;

/// A test seam: consulted for every datagram the driver is about to write to the socket,
/// with its destination (as the engine knows it, IPv4 addresses in plain form) and bytes.
/// Returning `Some(error)` makes the driver treat that datagram as if the kernel had refused
/// it with `error`; `None` sends it normally.
///
/// Meant for tests of the send-error policy (see [`crate::udp::UdpHost::set_send_error_hook`]);
/// without a hook the driver does no extra work. While a hook is set, the batched path
/// writes one datagram per system call so that each can be refused on its own.
pub type SendErrorHook = Box<dyn FnMut(SocketAddr, &[u8]) -> Option<io::Error> + Send>;

/// How the driver treats a failed send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendFailure {
    /// Interrupted: try the same datagram again.
    Retry,
    /// The socket buffer is full (or the kernel is short of buffers): drop the datagram, as
    /// C ENet does; reliable data is retransmitted.
    WouldBlock,
    /// The error concerns the destination (bad or unreachable address, refused by policy,
    /// an ICMP report about an earlier datagram): drop the datagram and go on.
    Destination,
    /// The socket itself failed: report it.
    Socket,
}

/// Sorts a send error (see [`SendFailure`]).
///
/// Destination errors are `EINVAL` (e.g. port 0 or an unusable address), `EACCES` /
/// `EPERM` (broadcast without permission, a firewall rule), `EADDRNOTAVAIL`,
/// `EAFNOSUPPORT`, `ENETUNREACH`, `EHOSTUNREACH`, `ENETDOWN`, `EMSGSIZE`, `ECONNREFUSED`
/// and `ECONNRESET`; everything else (`EBADF`, `ENOTSOCK`, `EFAULT`, `EIO`…) is an error
/// of the socket.
pub(crate) fn classify_send_error(e: &io::Error) -> SendFailure {
    use io::ErrorKind as K;
    match e.kind() {
        K::Interrupted => return SendFailure::Retry,
        K::WouldBlock => return SendFailure::WouldBlock,
        K::InvalidInput
        | K::PermissionDenied
        | K::AddrNotAvailable
        | K::ConnectionRefused
        | K::ConnectionReset
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::NetworkDown => return SendFailure::Destination,
        _ => {}
    }
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        use rustix::io::Errno;
        let is = |x: Errno| x.raw_os_error() == code;
        if is(Errno::NOBUFS) || is(Errno::NOMEM) {
            return SendFailure::WouldBlock;
        }
        // Not every one of these has an `ErrorKind` of its own.
        if [
            Errno::INVAL,
            Errno::ACCESS,
            Errno::PERM,
            Errno::ADDRNOTAVAIL,
            Errno::AFNOSUPPORT,
            Errno::NETUNREACH,
            Errno::HOSTUNREACH,
            Errno::NETDOWN,
            Errno::MSGSIZE,
            Errno::CONNREFUSED,
            Errno::CONNRESET,
        ]
        .into_iter()
        .any(is)
        {
            return SendFailure::Destination;
        }
    }
    SendFailure::Socket
}

/// Receive errors caused by ICMP messages about earlier datagrams, or by a route that is
/// briefly missing: they concern one remote, not the socket, so the driver carries on.
pub(crate) fn is_ignorable_recv_error(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
    )
}

/// Whether a receive error says that the datagram did not fit the buffer: Windows reports
/// that as `WSAEMSGSIZE` where other systems truncate silently. Such a datagram is dropped
/// and counted like any oversized one, not treated as a socket error.
#[cfg_attr(batched_io, allow(dead_code))]
pub(crate) fn is_recv_truncation(e: &io::Error) -> bool {
    #[cfg(windows)]
    {
        e.raw_os_error() == Some(10040)
    }
    #[cfg(not(windows))]
    {
        let _ = e;
        false
    }
}

/// Whether a received datagram of `len` bytes (as read into a [`RECV_BUFFER_SIZE`] buffer),
/// possibly `truncated` by the kernel, must be dropped.
pub(crate) fn is_oversize(len: usize, truncated: bool) -> bool {
    truncated || len > MAX_DATAGRAM_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn every_errno_class_is_sorted() {
        use rustix::io::Errno;
        let os = |e: Errno| io::Error::from_raw_os_error(e.raw_os_error());
        for e in [
            Errno::INVAL,
            Errno::ACCESS,
            Errno::PERM,
            Errno::ADDRNOTAVAIL,
            Errno::AFNOSUPPORT,
            Errno::NETUNREACH,
            Errno::HOSTUNREACH,
            Errno::MSGSIZE,
            Errno::CONNREFUSED,
        ] {
            assert_eq!(
                classify_send_error(&os(e)),
                SendFailure::Destination,
                "{e:?}"
            );
        }
        for e in [Errno::BADF, Errno::NOTSOCK, Errno::FAULT, Errno::IO] {
            assert_eq!(classify_send_error(&os(e)), SendFailure::Socket, "{e:?}");
        }
        assert_eq!(
            classify_send_error(&os(Errno::AGAIN)),
            SendFailure::WouldBlock
        );
        assert_eq!(
            classify_send_error(&os(Errno::NOBUFS)),
            SendFailure::WouldBlock
        );
        assert_eq!(classify_send_error(&os(Errno::INTR)), SendFailure::Retry);
    }

    #[test]
    fn kinds_without_an_os_code_are_sorted_too() {
        use io::ErrorKind as K;
        assert_eq!(
            classify_send_error(&K::InvalidInput.into()),
            SendFailure::Destination
        );
        assert_eq!(
            classify_send_error(&K::ConnectionRefused.into()),
            SendFailure::Destination
        );
        assert_eq!(classify_send_error(&K::Other.into()), SendFailure::Socket);
    }

    #[test]
    fn oversize_limits() {
        assert!(!is_oversize(MAX_DATAGRAM_SIZE, false));
        assert!(is_oversize(MAX_DATAGRAM_SIZE + 1, false));
        assert!(is_oversize(100, true));
        assert!(!is_oversize(0, false));
    }
}
