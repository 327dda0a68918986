//! Batched datagram I/O on Linux: `recvmmsg(2)` and `sendmmsg(2)`, with UDP segmentation
//! offload (GSO, `UDP_SEGMENT`) on send and generic receive offload (GRO, `UDP_GRO`) on
//! receive, so that a run of datagrams to or from one address crosses the kernel once.
//!
//! The only module of the crate with `unsafe` code. Buffers and address arrays are allocated
//! once per host and reused; the `mmsghdr`/`iovec` arrays (and the send side's control
//! buffers) that point into them are built on the stack for each call (so the owning
//! structs hold no raw pointers and stay `Send`).

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

/// Most datagrams sent as one UDP GSO message (`UDP_SEGMENT`): the kernel's limit
/// (`UDP_MAX_SEGMENTS`) on older kernels.
pub(crate) const GSO_MAX_SEGMENTS: usize = 64;

/// Most payload bytes in one GSO message: below the 64 KiB an IP datagram can carry.
pub(crate) const GSO_MAX_BYTES: usize = 65_000;

/// Size of each receive buffer with GRO on: a message the kernel coalesced holds up to
/// 64 KiB, and a buffer shorter than that would cut it short.
pub(crate) const GRO_BUFFER_SIZE: usize = 65_536;

/// Room for one control message with an `int` or `u16` payload, 8-byte aligned.
type Cmsg = [u64; 4];

/// A receive message's control buffer, 8-byte aligned: room for the `UDP_GRO` message and
/// for others a caller may have turned on with socket options (timestamps, drop counts),
/// which the kernel writes first and would otherwise cut the `UDP_GRO` one off.
type RecvCmsg = [u64; 16];

// SAFETY: `CMSG_SPACE` only computes a size.
const _: () = assert!(
    unsafe { libc::CMSG_SPACE(mem::size_of::<libc::c_int>() as c_uint) } as usize
        <= mem::size_of::<Cmsg>()
);
// SAFETY: as above.
const _: () = assert!(
    unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as c_uint) } as usize <= mem::size_of::<Cmsg>()
);

/// Turns UDP generic receive offload (`UDP_GRO`, Linux 5.0+) on or off for `socket`: with it
/// on, the kernel may hand over several datagrams of one sender as one message, with their
/// size in a `UDP_GRO` control message (see [`RecvBatch::with_gro`]).
pub(crate) fn set_gro(socket: &UdpSocket, on: bool) -> io::Result<()> {
    let value = libc::c_int::from(on);
    // SAFETY: `socket` owns an open fd; the option value is a live `c_int` whose size is
    // passed along, and the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&value as *const libc::c_int).cast::<c_void>(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The segment size of a `UDP_GRO` control message in `hdr` (the kernel coalesced several
/// datagrams of that size, the last possibly shorter), or 0 when there is none.
fn gro_segment_size(hdr: &libc::msghdr) -> usize {
    if hdr.msg_control.is_null() || hdr.msg_controllen == 0 {
        return 0;
    }
    let mut segment = 0;
    // SAFETY: `msg_control` points to a live control buffer of the batch into which the
    // kernel wrote `msg_controllen` bytes of control messages; `CMSG_FIRSTHDR` and
    // `CMSG_NXTHDR` only return headers that lie within those bytes (or null), and the
    // payload is read unaligned after checking that the header's length covers it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(hdr);
        while !c.is_null() {
            let need = libc::CMSG_LEN(mem::size_of::<libc::c_int>() as c_uint) as usize;
            if (*c).cmsg_level == libc::SOL_UDP
                && (*c).cmsg_type == libc::UDP_GRO
                && (*c).cmsg_len as usize >= need
            {
                let size = ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                segment = usize::try_from(size).unwrap_or(0);
            }
            c = libc::CMSG_NXTHDR(hdr, c);
        }
    }
    segment
}

/// Receive buffers for up to [`BATCH`] messages (datagrams, or with GRO several datagrams
/// the kernel coalesced).
pub(crate) struct RecvBatch {
    buf_size: usize,
    bufs: Box<[u8]>,
    addrs: Box<[sockaddr_storage]>,
    addr_lens: [libc::socklen_t; BATCH],
    lens: [usize; BATCH],
    /// Whether the kernel cut message `i` short (`MSG_TRUNC` in its `msg_flags`).
    truncated: [bool; BATCH],
    /// The GRO segment size of message `i`; 0 when it is a single datagram.
    segments: [usize; BATCH],
    /// Control buffers for the kernel's `UDP_GRO` messages; `None` without GRO.
    control: Option<Box<[RecvCmsg; BATCH]>>,
}

/// One message read by [`RecvBatch::recv`]: a datagram or, with GRO, several datagrams of
/// one sender that the kernel coalesced (see [`Message::datagrams`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    /// The bytes read.
    pub(crate) data: &'a [u8],
    /// The source (`None` for an address family other than IPv4/IPv6).
    pub(crate) from: Option<SocketAddr>,
    /// Whether the kernel cut the message short (only its first bytes are given).
    pub(crate) truncated: bool,
    /// The size of each coalesced datagram (the last may be shorter); 0 for one datagram.
    pub(crate) segment_size: usize,
}

impl<'a> Message<'a> {
    /// Whether the message holds more than one datagram.
    pub(crate) fn is_coalesced(&self) -> bool {
        self.segment_size != 0 && self.data.len() > self.segment_size
    }

    /// The datagrams of the message in the order they were sent, each with whether it was
    /// cut short: a single datagram as it is, a coalesced message split every
    /// `segment_size` bytes. Of a truncated message the last piece is flagged.
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = (&'a [u8], bool)> {
        let data = self.data;
        let truncated = self.truncated;
        let size = if self.segment_size == 0 {
            data.len().max(1)
        } else {
            self.segment_size
        };
        // An empty datagram is still one datagram.
        let count = data.len().div_ceil(size).max(1);
        (0..count).map(move |k| {
            let start = k * size;
            let end = (start + size).min(data.len());
            (&data[start..end], truncated && k + 1 == count)
        })
    }
}

impl RecvBatch {
    /// Buffers of `buf_size` bytes each, for a socket without GRO.
    pub(crate) fn new(buf_size: usize) -> RecvBatch {
        RecvBatch::build(buf_size, false)
    }

    /// Buffers of [`GRO_BUFFER_SIZE`] bytes each and room for the `UDP_GRO` control
    /// messages, for a socket with GRO on (see [`set_gro`]). The buffers are allocated
    /// zeroed, so the pages no message reaches are never made resident.
    pub(crate) fn with_gro() -> RecvBatch {
        RecvBatch::build(GRO_BUFFER_SIZE, true)
    }

    fn build(buf_size: usize, gro: bool) -> RecvBatch {
        RecvBatch {
            buf_size,
            bufs: vec![0; buf_size * BATCH].into_boxed_slice(),
            addrs: vec![zeroed_storage(); BATCH].into_boxed_slice(),
            addr_lens: [0; BATCH],
            lens: [0; BATCH],
            truncated: [false; BATCH],
            segments: [0; BATCH],
            control: gro.then(|| Box::new([[0; 16]; BATCH])),
        }
    }

    /// Reads up to `max` (at most [`BATCH`]) messages without blocking; returns how many
    /// (at least one), or the error of the first read ([`io::ErrorKind::WouldBlock`] when
    /// none is queued). `EINTR` is retried.
    pub(crate) fn recv(&mut self, socket: &UdpSocket, max: usize) -> io::Result<usize> {
        let max = max.clamp(1, BATCH);
        let mut iovs = [iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        let mut hdrs = zeroed_headers();
        let control: *mut RecvCmsg = match self.control.as_deref_mut() {
            Some(c) => c.as_mut_ptr(),
            None => ptr::null_mut(),
        };
        let chunks = self.bufs.chunks_exact_mut(self.buf_size);
        for (i, (((iov, hdr), buf), addr)) in iovs
            .iter_mut()
            .zip(hdrs.iter_mut())
            .zip(chunks)
            .zip(self.addrs.iter_mut())
            .take(max)
            .enumerate()
        {
            iov.iov_base = buf.as_mut_ptr().cast::<c_void>();
            iov.iov_len = buf.len();
            hdr.msg_hdr.msg_name = (addr as *mut sockaddr_storage).cast::<c_void>();
            hdr.msg_hdr.msg_namelen = mem::size_of::<sockaddr_storage>() as libc::socklen_t;
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
            if !control.is_null() {
                hdr.msg_hdr.msg_control = control.wrapping_add(i).cast::<c_void>();
                hdr.msg_hdr.msg_controllen = mem::size_of::<RecvCmsg>() as _;
            }
        }
        let fd = socket.as_raw_fd();
        loop {
            // SAFETY: `fd` is an open socket borrowed from `socket`. The first `max` headers
            // point to one iovec each, which covers one distinct `buf_size`-byte chunk of
            // `self.bufs`, to one distinct `sockaddr_storage` of `self.addrs` with its
            // size and, with GRO, to one distinct control buffer of `self.control` with its
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
                self.segments[i] = gro_segment_size(&hdr.msg_hdr);
            }
            return Ok(n);
        }
    }

    /// Message `i` of the last [`RecvBatch::recv`].
    pub(crate) fn get(&self, i: usize) -> Message<'_> {
        let start = i * self.buf_size;
        Message {
            data: &self.bufs[start..start + self.lens[i]],
            from: to_std(&self.addrs[i], self.addr_lens[i]),
            truncated: self.truncated[i],
            segment_size: self.segments[i],
        }
    }
}

/// Whether a failed GSO send may be GSO's fault: no checksum offload or IPsec on the
/// route (`EIO`), a segment larger than the route's MTU (`EMSGSIZE` since the kernel's
/// 2024 udpgso fix, `EINVAL` before: a single datagram of that size would merely be
/// fragmented), or a kernel without `UDP_SEGMENT` (`ENOPROTOOPT`, `EOPNOTSUPP`).
/// Most destinations a batch keeps GSO off for individually (see `SendBatch::send`);
/// beyond them, GSO goes off for all.
const GSO_REFUSED_PATHS: usize = 16;

fn may_be_gso_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::EMSGSIZE | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
    )
}

/// Sets `hdr`'s control buffer to `buf` with one `UDP_SEGMENT` message of `size`.
fn write_segment_cmsg(hdr: &mut libc::msghdr, buf: *mut Cmsg, size: u16) {
    hdr.msg_control = buf.cast::<c_void>();
    // SAFETY: `CMSG_SPACE` only computes a size.
    hdr.msg_controllen = unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as c_uint) } as _;
    // SAFETY: `buf` points to a live, zeroed, 8-byte aligned `Cmsg` of at least
    // `msg_controllen` bytes (checked at compile time), so `CMSG_FIRSTHDR` returns a header
    // at its start with room for a `u16` payload, written unaligned.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(hdr);
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = libc::UDP_SEGMENT;
        (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as c_uint) as _;
        ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size);
    }
}

/// Up to [`BATCH`] datagrams waiting to be sent with one `sendmmsg`.
///
/// With GSO on ([`SendBatch::new`]), consecutive waiting datagrams to the same destination
/// whose sizes are equal (the last of a run may be shorter) go as one message: its iovecs
/// list their buffers and a `UDP_SEGMENT` control message gives the size at which the
/// kernel splits it into datagrams again (at most [`GSO_MAX_SEGMENTS`] and
/// [`GSO_MAX_BYTES`] per message). Receivers see the same datagrams as without GSO.
pub(crate) struct SendBatch {
    bufs: Vec<Vec<u8>>,
    addrs: Box<[sockaddr_storage]>,
    addr_lens: [libc::socklen_t; BATCH],
    dests: [Option<SocketAddr>; BATCH],
    /// Datagrams `start..len` are still to be sent.
    start: usize,
    len: usize,
    /// Whether runs of datagrams go as GSO messages (turned off for good when the kernel
    /// refuses one that it takes as single datagrams, for a reason of the device).
    gso: bool,
    /// Destinations whose path refused GSO messages for their size (`EMSGSIZE`: a segment
    /// above the path's MTU, as through a tunnel): their runs leave as single datagrams,
    /// while other destinations keep GSO. At most [`GSO_REFUSED_PATHS`]; one more turns
    /// GSO off for the whole batch.
    gso_refused: Vec<SocketAddr>,
    /// GSO messages sent and GSO failures since the last [`SendBatch::take_gso_counts`].
    gso_sends: u64,
    gso_failures: u64,
    /// Test seam: GSO messages fail with this error number (`EIO` as on a device without
    /// checksum offload, `EMSGSIZE` as on a path with a smaller MTU).
    #[cfg(test)]
    pub(crate) fail_gso: Option<i32>,
}

impl SendBatch {
    /// An empty batch; each buffer starts with `capacity` bytes. `gso` turns on UDP
    /// segmentation offload for runs of datagrams.
    pub(crate) fn new(capacity: usize, gso: bool) -> SendBatch {
        SendBatch {
            bufs: (0..BATCH).map(|_| Vec::with_capacity(capacity)).collect(),
            addrs: vec![zeroed_storage(); BATCH].into_boxed_slice(),
            addr_lens: [0; BATCH],
            dests: [None; BATCH],
            start: 0,
            len: 0,
            gso,
            gso_refused: Vec::new(),
            gso_sends: 0,
            gso_failures: 0,
            #[cfg(test)]
            fail_gso: None,
        }
    }

    /// Whether GSO is (still) on.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn gso(&self) -> bool {
        self.gso
    }

    /// GSO messages sent (each carrying several datagrams) and times GSO failed and was
    /// turned off, since the last call.
    pub(crate) fn take_gso_counts(&mut self) -> (u64, u64) {
        (
            mem::take(&mut self.gso_sends),
            mem::take(&mut self.gso_failures),
        )
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

    /// How many datagrams from `i` (before `end`) can go as one GSO message: same
    /// destination, same size as the first (the last may be shorter), within the limits.
    fn run_len(&self, i: usize, end: usize) -> usize {
        let size = self.bufs[i].len();
        if size == 0 || size > usize::from(u16::MAX) {
            return 1;
        }
        if !self.gso_refused.is_empty()
            && self.dests[i].is_some_and(|d| self.gso_refused.contains(&d))
        {
            return 1;
        }
        let (mut k, mut total) = (1, size);
        while i + k < end && k < GSO_MAX_SEGMENTS {
            let len = self.bufs[i + k].len();
            if len == 0
                || len > size
                || total + len > GSO_MAX_BYTES
                || self.dests[i + k] != self.dests[i]
            {
                break;
            }
            k += 1;
            total += len;
            if len < size {
                break;
            }
        }
        k
    }

    /// One `sendmmsg` of the waiting datagrams (at most `max` of them): returns how many
    /// datagrams the kernel took (at least one), or the error of the first. Does not
    /// advance.
    ///
    /// When a GSO message is refused with an error that may be GSO's (`EIO`, `EINVAL`,
    /// `EMSGSIZE`, `ENOPROTOOPT`, `EOPNOTSUPP`), the same datagrams are tried again one per
    /// message: if the kernel takes them so, GSO is turned off, for that destination when
    /// the error was `EMSGSIZE` (its path's MTU) and for good otherwise (the device); if
    /// not, the error was about the datagram and is returned.
    pub(crate) fn send(&mut self, socket: &UdpSocket, max: usize) -> io::Result<usize> {
        let count = (self.len - self.start).min(max);
        if count == 0 {
            return Ok(0);
        }
        let end = self.start + count;
        let first_gso = self.gso && self.run_len(self.start, end) > 1;
        match self.send_once(socket, end, self.gso) {
            Err(e) if first_gso && may_be_gso_error(&e) => {
                let sent = self.send_once(socket, end, false)?;
                self.gso_failures += 1;
                match self.dests[self.start] {
                    Some(dest)
                        if e.raw_os_error() == Some(libc::EMSGSIZE)
                            && self.gso_refused.len() < GSO_REFUSED_PATHS =>
                    {
                        tracing::debug!(error = %e, to = %dest, "UDP GSO refused for this path; sending it one datagram per message from now on");
                        self.gso_refused.push(dest);
                    }
                    _ => {
                        tracing::debug!(error = %e, "UDP GSO refused; sending one datagram per message from now on");
                        self.gso = false;
                    }
                }
                Ok(sent)
            }
            result => result,
        }
    }

    fn send_once(&mut self, socket: &UdpSocket, end: usize, gso: bool) -> io::Result<usize> {
        let mut iovs = [iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        let mut hdrs = zeroed_headers();
        let mut control: [Cmsg; BATCH] = [[0; 4]; BATCH];
        let mut runs = [0usize; BATCH];
        for (iov, buf) in iovs.iter_mut().zip(&self.bufs[self.start..end]) {
            // The kernel only reads through this pointer.
            iov.iov_base = buf.as_ptr() as *mut c_void;
            iov.iov_len = buf.len();
        }
        // The messages: how many datagrams each carries.
        let (mut messages, mut i) = (0, self.start);
        while i < end {
            let run = if gso { self.run_len(i, end) } else { 1 };
            runs[messages] = run;
            messages += 1;
            i += run;
        }
        let iov_base = iovs.as_mut_ptr();
        let addr_base = self.addrs.as_mut_ptr();
        let control_base = control.as_mut_ptr();
        let mut i = self.start;
        for (m, (hdr, &run)) in hdrs.iter_mut().zip(&runs[..messages]).enumerate() {
            let hdr = &mut hdr.msg_hdr;
            hdr.msg_name = addr_base.wrapping_add(i).cast::<c_void>();
            hdr.msg_namelen = self.addr_lens[i];
            hdr.msg_iov = iov_base.wrapping_add(i - self.start);
            hdr.msg_iovlen = run as _;
            if run > 1 {
                // `run_len` keeps sizes of runs within u16.
                let size = self.bufs[i].len() as u16;
                write_segment_cmsg(hdr, control_base.wrapping_add(m), size);
            }
            i += run;
        }
        #[cfg(test)]
        if let Some(errno) = self.fail_gso.filter(|_| runs[0] > 1) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        // SAFETY: `socket` owns an open fd. The first `messages` headers each point to
        // `msg_iovlen` consecutive iovecs of `iovs` (within its first `end - start`), each
        // covering one initialised datagram buffer of `self.bufs`, to one
        // `sockaddr_storage` of `self.addrs` holding `msg_namelen` valid bytes, and, for a
        // GSO message, to one initialised control buffer of `control`; the kernel only
        // reads them, and all outlive the call.
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr(),
                messages as c_uint,
                libc::MSG_DONTWAIT as _,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let sent = &runs[..n as usize];
        self.gso_sends += sent.iter().filter(|&&r| r > 1).count() as u64;
        Ok(sent.iter().sum())
    }
}

#[cfg(test)]
mod tests;
