//! Batched datagram I/O on Linux: `recvmmsg(2)` and `sendmmsg(2)`.
//!
//! The only module of the crate with `unsafe` code. Buffers and address arrays are allocated
//! once per host and reused; the `mmsghdr`/`iovec` arrays that point into them are built on
//! the stack for each call (so the owning structs hold no raw pointers and stay `Send`).

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::ptr;

use libc::{c_uint, c_void, iovec, mmsghdr, sockaddr_in, sockaddr_in6, sockaddr_storage};

/// Datagrams per `recvmmsg`/`sendmmsg` call.
pub(crate) const BATCH: usize = 32;

/// An all-zero `sockaddr_storage` (an unspecified address).
fn zeroed_storage() -> sockaddr_storage {
    // SAFETY: `sockaddr_storage` is a plain C struct of integers; all-zero bytes are a
    // valid value of it.
    unsafe { mem::zeroed() }
}

/// An all-zero `mmsghdr` array (null pointers, zero lengths).
fn zeroed_headers() -> [mmsghdr; BATCH] {
    // SAFETY: `mmsghdr` is a plain C struct of integers and raw pointers; all-zero bytes
    // (null pointers, zero lengths) are a valid value of it.
    unsafe { mem::zeroed() }
}

/// Reads the address the kernel wrote into `ss` (`len` bytes); `None` for families other
/// than IPv4 and IPv6.
fn to_std(ss: &sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match ss.ss_family as libc::c_int {
        libc::AF_INET if len >= mem::size_of::<sockaddr_in>() => {
            // SAFETY: the family says the storage holds a `sockaddr_in`, `len` says it was
            // written in full, and `sockaddr_storage` is large and aligned enough for it.
            let sin = unsafe { &*(ss as *const sockaddr_storage).cast::<sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= mem::size_of::<sockaddr_in6>() => {
            // SAFETY: as above, for `sockaddr_in6`.
            let sin6 = unsafe { &*(ss as *const sockaddr_storage).cast::<sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` into `ss` and returns its length.
fn from_std(addr: SocketAddr, ss: &mut sockaddr_storage) -> libc::socklen_t {
    *ss = zeroed_storage();
    match addr {
        SocketAddr::V4(a) => {
            let sin = sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sockaddr_storage` is large and aligned enough for a `sockaddr_in`,
            // and `ss` is a unique reference.
            unsafe { ptr::write((ss as *mut sockaddr_storage).cast::<sockaddr_in>(), sin) };
            mem::size_of::<sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            let sin6 = sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for `sockaddr_in6`.
            unsafe { ptr::write((ss as *mut sockaddr_storage).cast::<sockaddr_in6>(), sin6) };
            mem::size_of::<sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Receive buffers for up to [`BATCH`] datagrams.
pub(crate) struct RecvBatch {
    buf_size: usize,
    bufs: Box<[u8]>,
    addrs: Box<[sockaddr_storage]>,
    addr_lens: [libc::socklen_t; BATCH],
    lens: [usize; BATCH],
    /// Whether the kernel cut datagram `i` short (`MSG_TRUNC` in its `msg_flags`).
    truncated: [bool; BATCH],
}

impl RecvBatch {
    /// Buffers of `buf_size` bytes each.
    pub(crate) fn new(buf_size: usize) -> RecvBatch {
        RecvBatch {
            buf_size,
            bufs: vec![0; buf_size * BATCH].into_boxed_slice(),
            addrs: vec![zeroed_storage(); BATCH].into_boxed_slice(),
            addr_lens: [0; BATCH],
            lens: [0; BATCH],
            truncated: [false; BATCH],
        }
    }

    /// Reads up to `max` (at most [`BATCH`]) datagrams without blocking; returns how many
    /// (at least one), or the error of the first read ([`io::ErrorKind::WouldBlock`] when
    /// none is queued). `EINTR` is retried.
    pub(crate) fn recv(&mut self, socket: &UdpSocket, max: usize) -> io::Result<usize> {
        let max = max.clamp(1, BATCH);
        let mut iovs = [iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        let mut hdrs = zeroed_headers();
        let chunks = self.bufs.chunks_exact_mut(self.buf_size);
        for (((iov, hdr), buf), addr) in iovs
            .iter_mut()
            .zip(hdrs.iter_mut())
            .zip(chunks)
            .zip(self.addrs.iter_mut())
            .take(max)
        {
            iov.iov_base = buf.as_mut_ptr().cast::<c_void>();
            iov.iov_len = buf.len();
            hdr.msg_hdr.msg_name = (addr as *mut sockaddr_storage).cast::<c_void>();
            hdr.msg_hdr.msg_namelen = mem::size_of::<sockaddr_storage>() as libc::socklen_t;
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
        }
        let fd = socket.as_raw_fd();
        loop {
            // SAFETY: `fd` is an open socket borrowed from `socket`. The first `max` headers
            // point to one iovec each, which covers one distinct `buf_size`-byte chunk of
            // `self.bufs`, and to one distinct `sockaddr_storage` of `self.addrs` with its
            // size; all of them outlive the call and are not otherwise accessed during it.
            // A null timeout is allowed (and ignored with MSG_DONTWAIT).
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    hdrs.as_mut_ptr(),
                    max as c_uint,
                    libc::MSG_DONTWAIT as _,
                    ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let n = n as usize;
            for (i, hdr) in hdrs.iter().take(n).enumerate() {
                self.lens[i] = (hdr.msg_len as usize).min(self.buf_size);
                self.addr_lens[i] = hdr.msg_hdr.msg_namelen;
                // Without MSG_TRUNC in the call's flags, `msg_len` is what fit in the
                // buffer; the kernel flags a datagram that did not fit.
                self.truncated[i] = hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0
                    || hdr.msg_len as usize > self.buf_size;
            }
            return Ok(n);
        }
    }

    /// Datagram `i` of the last [`RecvBatch::recv`], its source (`None` for an address
    /// family other than IPv4/IPv6) and whether the kernel truncated it (the datagram was
    /// longer than the buffer; only its first bytes are given).
    pub(crate) fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>, bool) {
        let start = i * self.buf_size;
        (
            &self.bufs[start..start + self.lens[i]],
            to_std(&self.addrs[i], self.addr_lens[i]),
            self.truncated[i],
        )
    }
}

/// Up to [`BATCH`] datagrams waiting to be sent with one `sendmmsg`.
pub(crate) struct SendBatch {
    bufs: Vec<Vec<u8>>,
    addrs: Box<[sockaddr_storage]>,
    addr_lens: [libc::socklen_t; BATCH],
    dests: [Option<SocketAddr>; BATCH],
    /// Datagrams `start..len` are still to be sent.
    start: usize,
    len: usize,
}

impl SendBatch {
    /// An empty batch; each buffer starts with `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> SendBatch {
        SendBatch {
            bufs: (0..BATCH).map(|_| Vec::with_capacity(capacity)).collect(),
            addrs: vec![zeroed_storage(); BATCH].into_boxed_slice(),
            addr_lens: [0; BATCH],
            dests: [None; BATCH],
            start: 0,
            len: 0,
        }
    }

    /// Whether no more datagrams fit.
    pub(crate) fn is_full(&self) -> bool {
        self.len == BATCH
    }

    /// Whether datagrams are waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.start < self.len
    }

    /// The buffer for the next datagram (commit it with [`SendBatch::push`]). Only valid
    /// when the batch is not full.
    pub(crate) fn next_buf(&mut self) -> &mut Vec<u8> {
        &mut self.bufs[self.len]
    }

    /// Commits the datagram written to [`SendBatch::next_buf`], addressed to `to`.
    pub(crate) fn push(&mut self, to: SocketAddr) {
        let i = self.len;
        self.addr_lens[i] = from_std(to, &mut self.addrs[i]);
        self.dests[i] = Some(to);
        self.len += 1;
    }

    /// The destination of the first waiting datagram.
    pub(crate) fn first_dest(&self) -> Option<SocketAddr> {
        self.dests.get(self.start).copied().flatten()
    }

    /// The first waiting datagram: destination and bytes.
    pub(crate) fn first(&self) -> Option<(SocketAddr, &[u8])> {
        if !self.has_pending() {
            return None;
        }
        Some((self.first_dest()?, &self.bufs[self.start]))
    }

    /// Marks the first `n` waiting datagrams as done (sent or dropped); the batch is empty
    /// again once all are.
    pub(crate) fn advance(&mut self, n: usize) {
        self.start = (self.start + n).min(self.len);
        if self.start == self.len {
            self.start = 0;
            self.len = 0;
        }
    }

    /// One `sendmmsg` of the waiting datagrams (at most `max` of them): returns how many
    /// the kernel took (at least one), or the error of the first. Does not advance.
    pub(crate) fn send(&mut self, socket: &UdpSocket, max: usize) -> io::Result<usize> {
        let count = (self.len - self.start).min(max);
        let end = self.start + count;
        if count == 0 {
            return Ok(0);
        }
        let mut iovs = [iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        let mut hdrs = zeroed_headers();
        for ((((iov, hdr), buf), addr), &addr_len) in iovs
            .iter_mut()
            .zip(hdrs.iter_mut())
            .zip(&self.bufs[self.start..end])
            .zip(&mut self.addrs[self.start..end])
            .zip(&self.addr_lens[self.start..end])
        {
            // The kernel only reads through these pointers.
            iov.iov_base = buf.as_ptr() as *mut c_void;
            iov.iov_len = buf.len();
            hdr.msg_hdr.msg_name = (addr as *mut sockaddr_storage).cast::<c_void>();
            hdr.msg_hdr.msg_namelen = addr_len;
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `socket` owns an open fd. The first `count` headers point to one iovec
        // each, which covers one initialised datagram buffer of `self.bufs`, and to one
        // `sockaddr_storage` holding `addr_len` valid bytes; the kernel only reads them, and
        // all outlive the call.
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr(),
                count as c_uint,
                libc::MSG_DONTWAIT as _,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trip() {
        for s in [
            "127.0.0.1:9000",
            "10.1.2.3:4",
            "[::1]:5",
            "[::ffff:127.0.0.1]:65535",
            "[fe80::1%3]:77",
        ] {
            let a: SocketAddr = s.parse().unwrap();
            let mut ss = zeroed_storage();
            let len = from_std(a, &mut ss);
            assert_eq!(to_std(&ss, len), Some(a), "{s}");
        }
        assert_eq!(to_std(&zeroed_storage(), 0), None);
    }
}
