//! A minimal UDP driver: an [`enet_proto::Host`] bound to a [`std::net::UdpSocket`].
//!
//! [`UdpHost`] owns a non-blocking socket and the sans-IO engine and moves datagrams and
//! time between them, much like `enet_host_service` does in the C library:
//!
//! ```no_run
//! use std::time::Duration;
//! use enet::udp::UdpHost;
//! use enet::{Event, HostConfig, Packet};
//!
//! let mut host = UdpHost::bind("127.0.0.1:0".parse().unwrap(), HostConfig::default())?;
//! let peer = host.connect("127.0.0.1:7777".parse().unwrap(), 2, 42).unwrap();
//! loop {
//!     match host.service(Duration::from_millis(100))? {
//!         Some(Event::Connect { .. }) => {
//!             host.send(peer, 0, Packet::reliable(&b"hello"[..])).unwrap();
//!         }
//!         Some(Event::Receive { packet, .. }) => println!("got {:?}", packet.data),
//!         Some(Event::Disconnect { .. }) => break,
//!         None => {}
//!     }
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Differences from the C library worth knowing:
//!
//! * The socket asks for 1 MiB send and receive buffers ([`SOCKET_BUFFER_SIZE`]; the C
//!   library asks for 256 KiB), so bursts from many peers survive; the OS may grant less.
//! * A datagram the kernel refuses with "would block" is dropped, as in C; reliable data is
//!   retransmitted by the engine. So is one the kernel refuses for its destination (`EINVAL`
//!   for port 0, unreachable or unusable addresses…), counted in [`IoStats::send_errors`]:
//!   only errors of the socket itself end [`UdpHost::service`] with `Err`.
//! * Received datagrams over [`MAX_DATAGRAM_SIZE`] (4,096 bytes, ENet's largest MTU) or
//!   truncated by the kernel are dropped and counted ([`IoStats::oversize_dropped`]) before
//!   the engine sees them, as C does.
//! * Source addresses in IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, seen on dual-stack sockets)
//!   are given to the engine as plain IPv4 addresses, and IPv4 destinations are mapped back
//!   when the socket is IPv6.
//! * Under dense traffic, [`UdpHost::service`] busy-polls the socket for up to 50 µs before
//!   sleeping on it ([`UdpHost::set_busy_poll_limit`]); a host whose spins come back empty
//!   stops spinning and only probes with one spin every 256 sleeps.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use enet_proto::sim::{LinkConfig, Network};
use enet_proto::{Compressor, Error, Event, Host, HostConfig, Packet, PeerId};

/// Most datagrams read from the socket per wake-up before timers and sending get a turn
/// (the C library's limit in `enet_protocol_receive_incoming_commands`).
pub const MAX_DATAGRAMS_PER_WAKE: usize = 256;

use crate::io_policy::RECV_BUFFER_SIZE;
use crate::io_policy::{classify_send_error, is_ignorable_recv_error, is_oversize, SendFailure};
pub use crate::io_policy::{SendErrorHook, MAX_DATAGRAM_SIZE};

/// Counters of the driver's own I/O (the engine keeps protocol counters, see
/// [`Host::totals`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoStats {
    /// Datagrams read from the socket (oversized ones included).
    pub datagrams_received: u64,
    /// Received datagrams dropped before the engine saw them because they were longer than
    /// [`MAX_DATAGRAM_SIZE`] (ENet's largest MTU) or cut short by the kernel.
    pub oversize_dropped: u64,
    /// Datagrams written to the socket.
    pub datagrams_sent: u64,
    /// Datagrams dropped because the socket would block on send (or the kernel was short
    /// of buffers).
    pub send_would_block: u64,
    /// Datagrams dropped because the kernel refused them for their destination (`EINVAL`
    /// for port 0, `EACCES`/`EPERM`, `EADDRNOTAVAIL`, `EAFNOSUPPORT`, `ENETUNREACH`,
    /// `EHOSTUNREACH`, `EMSGSIZE`, `ECONNREFUSED`…). Such an error costs that peer the
    /// datagram at most (it may time out as on a lossy link); [`UdpHost::service`] carries
    /// on. Only errors of the socket itself are returned.
    pub send_errors: u64,
    /// Receive errors that were ignored (ICMP-induced errors such as `ECONNREFUSED`,
    /// unreachable networks and hosts).
    pub ignored_errors: u64,
    /// Times [`UdpHost::service`] slept on the socket.
    pub waits: u64,
    /// Times [`UdpHost::service`] busy-polled the socket before sleeping (see
    /// [`UdpHost::set_busy_poll_limit`]).
    pub spins: u64,
}

/// An ENet host on a UDP socket.
///
/// Queue work with [`UdpHost::connect`], [`UdpHost::send`], [`UdpHost::broadcast`] and the
/// `disconnect*` methods; call [`UdpHost::service`] regularly to move datagrams, run timers
/// and receive [`Event`]s. [`UdpHost::flush`] sends queued datagrams without waiting.
pub struct UdpHost {
    socket: UdpSocket,
    local_addr: SocketAddr,
    host: Host,
    #[cfg(not(target_os = "linux"))]
    recv_buf: Vec<u8>,
    #[cfg(not(target_os = "linux"))]
    send_buf: Vec<u8>,
    stats: IoStats,
    /// Test seam consulted per outgoing datagram (see [`UdpHost::set_send_error_hook`]).
    send_hook: Option<SendErrorHook>,
    conditioner: Option<Box<Conditioner>>,
    busy_poll: BusyPoll,
    /// Batched I/O buffers (`recvmmsg`/`sendmmsg`), allocated on first use.
    #[cfg(target_os = "linux")]
    batch: Option<Box<Batch>>,
}

/// Receive and send batches of the Linux driver.
#[cfg(target_os = "linux")]
struct Batch {
    rx: crate::sys::RecvBatch,
    tx: crate::sys::SendBatch,
}

/// Adaptive busy polling: before [`UdpHost::service`] sleeps on the socket, it may poll it
/// without sleeping for a short while, as long as such spins keep finding datagrams.
///
/// Putting a process to sleep and waking it again costs both ends several microseconds of
/// scheduler work (and the sender an inter-processor wake-up); under dense traffic, where the
/// next datagram usually arrives within microseconds, spinning for it is cheaper and faster.
/// Spins that come back empty turn spinning off; an idle host then only probes with one spin
/// every [`BusyPoll::PROBE_EVERY`] sleeps, so sparse traffic costs next to nothing.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(unix), allow(dead_code))]
struct BusyPoll {
    /// Longest spin; zero disables busy polling.
    limit: Duration,
    /// Moving average of spin outcomes, 0 (all empty) to 256 (all found a datagram). A new
    /// host starts as after a useful probe, so that a short burst of traffic (a transfer of
    /// a few milliseconds) benefits too; two empty spins stop it.
    score: u32,
    /// Sleeps since the last spin.
    since_spin: u32,
}

#[cfg_attr(not(unix), allow(dead_code))]
impl BusyPoll {
    /// Spinning continues while the score stays at or above this (75 % of spins useful).
    const KEEP: u32 = 192;
    /// A probe that finds a datagram restarts spinning with this score (87.5 %): a couple of
    /// empty spins in a row stop it again.
    const RESTART: u32 = 224;
    /// While not spinning, one probe spin every this many sleeps.
    const PROBE_EVERY: u32 = 256;

    fn new(limit: Duration) -> BusyPoll {
        BusyPoll {
            limit,
            score: Self::RESTART,
            since_spin: 0,
        }
    }

    /// How long to spin before sleeping this time.
    fn budget(&self) -> Duration {
        if !self.limit.is_zero()
            && (self.score >= Self::KEEP || self.since_spin >= Self::PROBE_EVERY)
        {
            self.limit
        } else {
            Duration::ZERO
        }
    }

    /// Records a spin's outcome.
    fn record_spin(&mut self, found: bool) {
        let probing = self.score < Self::KEEP;
        self.since_spin = 0;
        // Exponential moving average with weight 1/8.
        self.score = self.score - self.score / 8 + if found { 32 } else { 0 };
        if probing && found {
            self.score = self.score.max(Self::RESTART);
        }
    }

    /// Records a sleep that was not preceded by a spin.
    fn record_sleep(&mut self) {
        self.since_spin = self.since_spin.saturating_add(1);
    }
}

/// Default longest busy-poll spin (see [`UdpHost::set_busy_poll_limit`]).
pub const DEFAULT_BUSY_POLL_LIMIT: Duration = Duration::from_micros(50);

/// The optional link conditioner: simulated networks in front of the socket.
struct Conditioner {
    outgoing: Option<Network>,
    incoming: Option<Network>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for UdpHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpHost")
            .field("local_addr", &self.local_addr)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// Maps an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to its IPv4 form; other addresses
/// are returned unchanged.
pub fn normalize_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// Socket buffer size requested for both directions (the C library asks for 256 KiB; we ask
/// for more so that bursts from many peers are not dropped by the kernel).
pub const SOCKET_BUFFER_SIZE: usize = 1 << 20;

/// Opens the UDP socket: dual-stack for the IPv6 wildcard, large buffers where the OS
/// allows (failures to enlarge them are ignored, as in C).
fn open_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // "::" serves IPv4 too; harmless for a specific IPv6 address.
        let _ = socket.set_only_v6(false);
    }
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_SIZE);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_SIZE);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Sends the datagrams waiting in `tx` with `send` (one `sendmmsg` each time), continuing
/// after partial sends. `sendmmsg` stops at the first datagram it cannot send and reports
/// the ones before it; the next call then starts with that datagram and gets its error. A
/// datagram refused with "would block" or an error about its destination is dropped and
/// counted, and the rest of the batch goes on; an error of the socket drops that datagram
/// and is returned, the rest stays in `tx` for the next flush.
#[cfg(target_os = "linux")]
fn send_pending(
    tx: &mut crate::sys::SendBatch,
    stats: &mut IoStats,
    mut send: impl FnMut(&mut crate::sys::SendBatch) -> io::Result<usize>,
) -> io::Result<()> {
    while tx.has_pending() {
        match send(tx) {
            Ok(n) if n > 0 => {
                stats.datagrams_sent += n as u64;
                tx.advance(n);
            }
            Ok(_) => {
                // Not expected from sendmmsg; treat like "would block" so as not to spin.
                stats.send_would_block += 1;
                tx.advance(1);
            }
            Err(e) => match classify_send_error(&e) {
                SendFailure::Retry => {}
                SendFailure::WouldBlock => {
                    stats.send_would_block += 1;
                    tracing::trace!(to = ?tx.first_dest(), "send would block; datagram dropped");
                    tx.advance(1);
                }
                SendFailure::Destination => {
                    stats.send_errors += 1;
                    tracing::debug!(to = ?tx.first_dest(), error = %e, "send refused for this destination; datagram dropped");
                    tx.advance(1);
                }
                SendFailure::Socket => {
                    tx.advance(1);
                    return Err(e);
                }
            },
        }
    }
    Ok(())
}

/// One send attempt of the first waiting datagrams: with a send-error hook installed (a
/// test seam), the first datagram alone, after the hook had its say; otherwise one
/// `sendmmsg` of all of them.
#[cfg(target_os = "linux")]
fn send_batch_once(
    socket: &UdpSocket,
    hook: &mut Option<SendErrorHook>,
    tx: &mut crate::sys::SendBatch,
) -> io::Result<usize> {
    let Some(h) = hook else {
        return tx.send(socket, usize::MAX);
    };
    let Some((to, bytes)) = tx.first() else {
        return Ok(0);
    };
    match h(normalize_addr(to), bytes) {
        Some(e) => Err(e),
        None => tx.send(socket, 1),
    }
}

impl UdpHost {
    /// Binds a UDP socket to `addr` and creates a host with `config`.
    ///
    /// An invalid `config` gives an [`io::ErrorKind::InvalidInput`] error.
    pub fn bind(addr: SocketAddr, config: HostConfig) -> io::Result<UdpHost> {
        let host = Host::new(config, Instant::now())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let socket = open_socket(addr)?;
        socket.set_nonblocking(true)?;
        // As the C library does (enet_host_create); harmless if refused.
        let _ = socket.set_broadcast(true);
        let local_addr = socket.local_addr()?;
        Ok(UdpHost {
            socket,
            local_addr,
            host,
            #[cfg(not(target_os = "linux"))]
            recv_buf: vec![0; RECV_BUFFER_SIZE],
            #[cfg(not(target_os = "linux"))]
            send_buf: Vec::with_capacity(RECV_BUFFER_SIZE),
            stats: IoStats::default(),
            send_hook: None,
            conditioner: None,
            busy_poll: BusyPoll::new(DEFAULT_BUSY_POLL_LIMIT),
            #[cfg(target_os = "linux")]
            batch: None,
        })
    }

    /// Sets the longest time [`UdpHost::service`] may poll the socket without sleeping
    /// before it sleeps on it ([`DEFAULT_BUSY_POLL_LIMIT`], 50 µs, by default;
    /// `Duration::ZERO` turns busy polling off).
    ///
    /// The spin is adaptive. A moving average of spin outcomes decides: spinning goes on
    /// while at least 75 % of spins find a datagram (dense traffic, where a spin saves each
    /// side the cost of sleeping and being woken for every datagram) and stops after about
    /// two empty spins in a row. A new host tries spinning on its first waits; a host that
    /// is not spinning probes with one spin every 256 sleeps, so an idle host or sparse
    /// traffic costs at most one spin per 256 sleeps. Only waiting calls spin (`service`
    /// with a nonzero timeout), and a spin never outlasts the timeout. Unix only; elsewhere
    /// this is ignored.
    pub fn set_busy_poll_limit(&mut self, limit: Duration) {
        self.busy_poll.limit = limit;
    }

    /// The longest busy-poll spin (see [`UdpHost::set_busy_poll_limit`]).
    pub fn busy_poll_limit(&self) -> Duration {
        self.busy_poll.limit
    }

    /// The socket's local address (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The socket itself (for options such as TTL; keep it non-blocking).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The protocol engine.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The protocol engine, mutably (for settings and calls without a wrapper here).
    pub fn host_mut(&mut self) -> &mut Host {
        &mut self.host
    }

    /// The driver's I/O counters.
    pub fn io_stats(&self) -> IoStats {
        self.stats
    }

    /// Installs (or with `None` removes) a send-error hook: a **test seam** consulted for
    /// every datagram about to be written to the socket, which can make the driver act as if
    /// the kernel had refused it (see [`SendErrorHook`]). Refused datagrams go through the
    /// same error policy as real errors: destination errors are dropped and counted in
    /// [`IoStats::send_errors`], socket errors end [`UdpHost::service`] with `Err`.
    ///
    /// Without a hook (the default) nothing is consulted and batching is unchanged.
    pub fn set_send_error_hook(&mut self, hook: Option<SendErrorHook>) {
        self.send_hook = hook;
    }

    /// Installs or removes the datagram compressor, e.g.
    /// `Some(Box::new(enet_proto::RangeCoder::new()))` (both ends must agree).
    pub fn set_compressor(&mut self, compressor: Option<Box<dyn Compressor>>) {
        self.host.set_compressor(compressor);
    }

    /// Turns ENet's CRC-32 checksum on or off (both ends must agree); the same as C ENet's
    /// `host->checksum = enet_crc32`, and as [`HostConfig::checksum`] at creation.
    pub fn set_checksum(&mut self, enabled: bool) -> Result<(), Error> {
        self.host.set_checksum(enabled)
    }

    /// Starts connecting to `addr` with `channel_count` channels and user `data`.
    ///
    /// The CONNECT goes out on the next [`UdpHost::flush`] or [`UdpHost::service`]; an
    /// [`Event::Connect`] or [`Event::Disconnect`] follows.
    pub fn connect(
        &mut self,
        addr: SocketAddr,
        channel_count: usize,
        data: u32,
    ) -> Result<PeerId, Error> {
        self.host
            .connect(Instant::now(), normalize_addr(addr), channel_count, data)
    }

    /// Queues a packet to a connected peer on `channel_id`.
    pub fn send(&mut self, peer: PeerId, channel_id: u8, packet: Packet) -> Result<(), Error> {
        self.host.send(peer, channel_id, packet)
    }

    /// Queues a packet to every connected peer.
    pub fn broadcast(&mut self, channel_id: u8, packet: Packet) {
        self.host.broadcast(channel_id, packet)
    }

    /// Gracefully disconnects a peer with `data`; an [`Event::Disconnect`] follows.
    pub fn disconnect(&mut self, peer: PeerId, data: u32) -> Result<(), Error> {
        self.host.disconnect(peer, data)
    }

    /// Disconnects a peer at once: one unreliable DISCONNECT is sent (immediately, on a
    /// best-effort basis) and the slot is freed without an event.
    pub fn disconnect_now(&mut self, peer: PeerId, data: u32) -> Result<(), Error> {
        self.host.disconnect_now(peer, data)?;
        // Like the C library, which sends the DISCONNECT from within the call. A failure
        // here is not the caller's concern: the peer is gone either way.
        let _ = self.flush();
        Ok(())
    }

    /// Disconnects a peer once everything queued to it has been delivered.
    pub fn disconnect_later(&mut self, peer: PeerId, data: u32) -> Result<(), Error> {
        self.host.disconnect_later(peer, data)
    }

    /// Resets a peer slot without telling the remote and without an event.
    pub fn reset(&mut self, peer: PeerId) -> Result<(), Error> {
        self.host.reset(peer)
    }

    /// Returns the next queued event without doing any I/O (`enet_host_check_events`).
    pub fn check_events(&mut self) -> Option<Event> {
        self.host.poll_event()
    }

    /// Sends every datagram the engine has ready (`enet_host_flush`, without timers).
    ///
    /// Datagrams the socket refuses with "would block" are dropped and counted, and so are
    /// datagrams the kernel refuses for their destination ([`IoStats::send_errors`]). Only an
    /// error of the socket itself is returned (the datagram is lost; the rest stays queued
    /// for the next flush).
    pub fn flush(&mut self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        return self.flush_batched();
        #[cfg(not(target_os = "linux"))]
        self.flush_portable()
    }

    /// [`UdpHost::flush`] with one `sendto` per datagram.
    #[cfg(not(target_os = "linux"))]
    fn flush_portable(&mut self) -> io::Result<()> {
        let v6_socket = self.local_addr.is_ipv6();
        loop {
            let Some(to) = self.host.poll_transmit(Instant::now(), &mut self.send_buf) else {
                return Ok(());
            };
            if let Some(c) = self.conditioner.as_mut() {
                if let Some(net) = c.outgoing.as_mut() {
                    net.send(Instant::now(), self.local_addr, to, &self.send_buf);
                    continue;
                }
            }
            let to = match to {
                SocketAddr::V4(v4) if v6_socket => {
                    SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
                }
                other => other,
            };
            loop {
                let sent = match self.send_hook.as_mut() {
                    Some(h) => match h(normalize_addr(to), &self.send_buf) {
                        Some(e) => Err(e),
                        None => self.socket.send_to(&self.send_buf, to),
                    },
                    None => self.socket.send_to(&self.send_buf, to),
                };
                match sent {
                    Ok(_) => {
                        self.stats.datagrams_sent += 1;
                        break;
                    }
                    Err(e) => match classify_send_error(&e) {
                        SendFailure::Retry => continue,
                        SendFailure::WouldBlock => {
                            self.stats.send_would_block += 1;
                            tracing::trace!(%to, "send would block; datagram dropped");
                            break;
                        }
                        SendFailure::Destination => {
                            self.stats.send_errors += 1;
                            tracing::debug!(%to, error = %e, "send refused for this destination; datagram dropped");
                            break;
                        }
                        SendFailure::Socket => return Err(e),
                    },
                }
            }
        }
    }

    /// The batch buffers, allocated on first use.
    #[cfg(target_os = "linux")]
    fn take_batch(&mut self) -> Box<Batch> {
        self.batch.take().unwrap_or_else(|| {
            Box::new(Batch {
                rx: crate::sys::RecvBatch::new(RECV_BUFFER_SIZE),
                tx: crate::sys::SendBatch::new(RECV_BUFFER_SIZE),
            })
        })
    }

    /// [`UdpHost::flush`] with `sendmmsg`: the datagrams the engine produces are collected
    /// into batches of [`crate::sys::BATCH`], each sent with one system call.
    #[cfg(target_os = "linux")]
    fn flush_batched(&mut self) -> io::Result<()> {
        let mut batch = self.take_batch();
        let result = self.flush_with(&mut batch.tx);
        self.batch = Some(batch);
        result
    }

    #[cfg(target_os = "linux")]
    fn flush_with(&mut self, tx: &mut crate::sys::SendBatch) -> io::Result<()> {
        let v6_socket = self.local_addr.is_ipv6();
        // Datagrams left over by an error in the previous flush go first.
        let (socket, hook) = (&self.socket, &mut self.send_hook);
        send_pending(tx, &mut self.stats, |tx| send_batch_once(socket, hook, tx))?;
        loop {
            let now = Instant::now();
            let mut drained = false;
            while !tx.is_full() {
                let Some(to) = self.host.poll_transmit(now, tx.next_buf()) else {
                    drained = true;
                    break;
                };
                if let Some(c) = self.conditioner.as_mut() {
                    if let Some(net) = c.outgoing.as_mut() {
                        net.send(now, self.local_addr, to, tx.next_buf());
                        continue;
                    }
                }
                let to = match to {
                    SocketAddr::V4(v4) if v6_socket => {
                        SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
                    }
                    other => other,
                };
                tx.push(to);
            }
            let (socket, hook) = (&self.socket, &mut self.send_hook);
            send_pending(tx, &mut self.stats, |tx| send_batch_once(socket, hook, tx))?;
            if drained {
                return Ok(());
            }
        }
    }

    /// Hands one datagram to the engine.
    #[cfg(not(target_os = "linux"))]
    fn handle(&mut self, len: usize, from: SocketAddr) {
        self.stats.datagrams_received += 1;
        if is_oversize(len, false) {
            self.stats.oversize_dropped += 1;
            return;
        }
        if let Some(c) = self.conditioner.as_mut() {
            if let Some(net) = c.incoming.as_mut() {
                net.send(
                    Instant::now(),
                    normalize_addr(from),
                    self.local_addr,
                    &self.recv_buf[..len],
                );
                return;
            }
        }
        self.host
            .handle_datagram(Instant::now(), normalize_addr(from), &self.recv_buf[..len]);
    }

    /// Reads datagrams until the socket would block or [`MAX_DATAGRAMS_PER_WAKE`] were read,
    /// up to [`crate::sys::BATCH`] per `recvmmsg`. A batch shorter than asked for means the
    /// queue was empty: no further call is made to see "would block".
    #[cfg(target_os = "linux")]
    fn receive_available(&mut self) -> io::Result<()> {
        let mut batch = self.take_batch();
        let result = self.receive_with(&mut batch.rx);
        self.batch = Some(batch);
        result
    }

    #[cfg(target_os = "linux")]
    fn receive_with(&mut self, rx: &mut crate::sys::RecvBatch) -> io::Result<()> {
        let mut n = 0;
        while n < MAX_DATAGRAMS_PER_WAKE {
            let want = (MAX_DATAGRAMS_PER_WAKE - n).min(crate::sys::BATCH);
            match rx.recv(&self.socket, want) {
                Ok(got) => {
                    n += got;
                    let now = Instant::now();
                    for i in 0..got {
                        let (data, from, truncated) = rx.get(i);
                        self.stats.datagrams_received += 1;
                        if is_oversize(data.len(), truncated) {
                            self.stats.oversize_dropped += 1;
                            continue;
                        }
                        let Some(from) = from else { continue };
                        let from = normalize_addr(from);
                        match self.conditioner.as_mut().and_then(|c| c.incoming.as_mut()) {
                            Some(net) => net.send(now, from, self.local_addr, data),
                            None => self.host.handle_datagram(now, from, data),
                        }
                    }
                    if got < want {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if is_ignorable_recv_error(e.kind()) => {
                    n += 1;
                    self.stats.ignored_errors += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads datagrams until the socket would block or [`MAX_DATAGRAMS_PER_WAKE`] were read.
    #[cfg(not(target_os = "linux"))]
    fn receive_available(&mut self) -> io::Result<()> {
        let mut n = 0;
        while n < MAX_DATAGRAMS_PER_WAKE {
            match self.socket.recv_from(&mut self.recv_buf) {
                Ok((len, from)) => {
                    n += 1;
                    self.handle(len, from);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => n += 1,
                Err(e) if crate::io_policy::is_recv_truncation(&e) => {
                    n += 1;
                    self.stats.datagrams_received += 1;
                    self.stats.oversize_dropped += 1;
                }
                Err(e) if is_ignorable_recv_error(e.kind()) => {
                    n += 1;
                    self.stats.ignored_errors += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sleeps until the socket is readable or `wait` has passed (`poll(2)`: precise, one
    /// system call). The next round reads whatever arrived.
    #[cfg(unix)]
    fn wait_for_datagram(&mut self, wait: Duration) -> io::Result<()> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let start = Instant::now();
        let mut fds = [PollFd::new(&self.socket, PollFlags::IN)];
        let spin = self.busy_poll.budget().min(wait);
        if spin.is_zero() {
            self.busy_poll.record_sleep();
        } else {
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            self.stats.spins += 1;
            loop {
                if matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0) {
                    self.busy_poll.record_spin(true);
                    return Ok(());
                }
                if start.elapsed() >= spin {
                    break;
                }
                std::hint::spin_loop();
            }
            // Counted even when cut short by the caller's timeout: a caller that keeps
            // waiting briefly on an idle socket must not keep spinning.
            self.busy_poll.record_spin(false);
        }
        self.stats.waits += 1;
        let left = wait.saturating_sub(start.elapsed());
        let timeout = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: left.subsec_nanos() as _,
        };
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) => Ok(()),
            Err(e) if e == rustix::io::Errno::INTR => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Blocks on the socket for at most `wait` and handles the datagram that arrives, if
    /// any. The socket is non-blocking again afterwards.
    #[cfg(not(unix))]
    fn wait_for_datagram(&mut self, wait: Duration) -> io::Result<()> {
        self.stats.waits += 1;
        self.socket.set_nonblocking(false)?;
        let result = self
            .socket
            .set_read_timeout(Some(wait))
            .and_then(|_| self.socket.recv_from(&mut self.recv_buf));
        let restore = self.socket.set_nonblocking(true);
        let outcome = match result {
            Ok((len, from)) => {
                self.handle(len, from);
                Ok(())
            }
            Err(e) if crate::io_policy::is_recv_truncation(&e) => {
                self.stats.datagrams_received += 1;
                self.stats.oversize_dropped += 1;
                Ok(())
            }
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(()),
                k if is_ignorable_recv_error(k) => {
                    self.stats.ignored_errors += 1;
                    Ok(())
                }
                _ => Err(e),
            },
        };
        restore.and(outcome)
    }

    /// Runs the engine's timers if one is due.
    fn run_timers(&mut self) {
        let now = Instant::now();
        if self.host.poll_timeout().is_some_and(|t| t <= now) {
            self.host.handle_timeout(now);
        }
    }

    /// Sends raw bytes as one UDP datagram from this host's socket, outside ENet (for NAT
    /// hole punching). Not subject to the link conditioner.
    pub fn socket_send(&mut self, to: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let to = match to {
            SocketAddr::V4(v4) if self.local_addr.is_ipv6() => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            other => other,
        };
        self.socket.send_to(bytes, to).map(|_| ())
    }

    /// Switches the link conditioner on or off for each direction: datagrams this host
    /// sends (`outgoing`) and receives (`incoming`) go through a simulated link with the
    /// given loss, latency, jitter, duplication and reordering. `None` for both turns it
    /// off; datagrams still held by a direction that is switched off are dropped.
    pub fn set_link_conditioner(
        &mut self,
        outgoing: Option<LinkConfig>,
        incoming: Option<LinkConfig>,
    ) {
        if outgoing.is_none() && incoming.is_none() {
            self.conditioner = None;
            return;
        }
        let seed = self.local_addr.port() as u64 ^ 0x5EED_0000;
        let make = |cfg: Option<LinkConfig>, salt: u64| {
            cfg.map(|c| {
                let mut n = Network::new(seed ^ salt);
                n.set_default_link(c);
                n
            })
        };
        self.conditioner = Some(Box::new(Conditioner {
            outgoing: make(outgoing, 1),
            incoming: make(incoming, 2),
            buf: Vec::with_capacity(RECV_BUFFER_SIZE),
        }));
    }

    /// Statistics of the link conditioner: (outgoing, incoming) totals.
    pub fn link_conditioner_stats(
        &self,
    ) -> Option<(enet_proto::sim::LinkStats, enet_proto::sim::LinkStats)> {
        let c = self.conditioner.as_ref()?;
        Some((
            c.outgoing
                .as_ref()
                .map(|n| n.total_stats())
                .unwrap_or_default(),
            c.incoming
                .as_ref()
                .map(|n| n.total_stats())
                .unwrap_or_default(),
        ))
    }

    fn conditioner_next(&self) -> Option<Instant> {
        let c = self.conditioner.as_ref()?;
        let a = c.outgoing.as_ref().and_then(|n| n.next_delivery());
        let b = c.incoming.as_ref().and_then(|n| n.next_delivery());
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves datagrams whose simulated delay has passed: outgoing ones to the socket,
    /// incoming ones to the engine.
    fn release_conditioned(&mut self) -> io::Result<()> {
        let Some(mut c) = self.conditioner.take() else {
            return Ok(());
        };
        let now = Instant::now();
        let mut result = Ok(());
        if let Some(net) = c.outgoing.as_mut() {
            while let Some((_, to)) = net.poll_into(now, &mut c.buf) {
                let sent = match self.send_hook.as_mut().and_then(|h| h(to, &c.buf)) {
                    Some(e) => Err(e),
                    None => self.socket_send(to, &c.buf),
                };
                if let Err(e) = sent {
                    match classify_send_error(&e) {
                        SendFailure::WouldBlock | SendFailure::Retry => {
                            self.stats.send_would_block += 1
                        }
                        SendFailure::Destination => self.stats.send_errors += 1,
                        SendFailure::Socket => result = Err(e),
                    }
                } else {
                    self.stats.datagrams_sent += 1;
                }
            }
        }
        if let Some(net) = c.incoming.as_mut() {
            while let Some((from, _)) = net.poll_into(now, &mut c.buf) {
                self.host.handle_datagram(now, from, &c.buf);
            }
        }
        self.conditioner = Some(c);
        result
    }

    /// Services the host (`enet_host_service`): returns a queued event at once; otherwise
    /// receives datagrams, runs timers and sends, waiting on the socket for up to `timeout`
    /// until an event occurs. Returns `Ok(None)` when `timeout` passes without one.
    ///
    /// With a zero `timeout` it does one round of I/O without waiting.
    pub fn service(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if let Some(ev) = self.host.poll_event() {
            return Ok(Some(ev));
        }
        let deadline = Instant::now().checked_add(timeout);
        loop {
            self.receive_available()?;
            self.release_conditioned()?;
            self.run_timers();
            self.flush()?;
            self.release_conditioned()?;
            if let Some(ev) = self.host.poll_event() {
                return Ok(Some(ev));
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            let timer = match (self.host.poll_timeout(), self.conditioner_next()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wake = match (deadline, timer) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            let wait = match wake {
                Some(w) => w.saturating_duration_since(now),
                // No deadline and no timer: wait for a datagram in long slices.
                None => Duration::from_secs(3600),
            };
            if wait.is_zero() {
                // A timer is due now: run it on the next round.
                continue;
            }
            self.wait_for_datagram(wait)?;
        }
    }
}

#[cfg(test)]
mod busy_poll_tests {
    use super::BusyPoll;
    use std::time::Duration;

    #[test]
    fn a_new_host_sleeps_and_probes_now_and_then() {
        let mut b = BusyPoll::new(Duration::from_micros(50));
        let mut spins = 0;
        for _ in 0..10 * BusyPoll::PROBE_EVERY {
            if b.budget().is_zero() {
                b.record_sleep();
            } else {
                spins += 1;
                b.record_spin(false);
            }
        }
        // Two spins at the start, then empty probes never turn spinning on: one probe per
        // PROBE_EVERY sleeps.
        assert!((11..=12).contains(&spins), "{spins} spins");
    }

    #[test]
    fn useful_spins_keep_spinning_and_empty_ones_stop_it() {
        let mut b = BusyPoll::new(Duration::from_micros(50));
        assert!(!b.budget().is_zero(), "a new host tries spinning");
        b.record_spin(true);
        for _ in 0..100 {
            assert_eq!(b.budget(), Duration::from_micros(50), "dense traffic spins");
            b.record_spin(true);
        }
        // One empty spin in a while is tolerated...
        b.record_spin(false);
        assert!(!b.budget().is_zero());
        // ...a run of them is not.
        let mut empty = 1;
        while !b.budget().is_zero() {
            b.record_spin(false);
            empty += 1;
            assert!(empty < 10, "spinning never stopped");
        }
        // Half-empty spins (sparse traffic) do not keep it going either: beyond the probes
        // and the few spins after a useful probe, the host sleeps.
        let mut spins = 0;
        let mut useful = false;
        for _ in 0..10_000 {
            if b.budget().is_zero() {
                b.record_sleep();
            } else {
                spins += 1;
                useful = !useful;
                b.record_spin(useful);
            }
        }
        assert!(spins < 400, "{spins} spins in 10000 waits");
    }

    #[test]
    fn a_zero_limit_never_spins() {
        let mut b = BusyPoll::new(Duration::ZERO);
        for _ in 0..4 * BusyPoll::PROBE_EVERY {
            assert!(b.budget().is_zero());
            b.record_sleep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enet_proto::{DisconnectReason, PacketFlags};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn localhost() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// Services both hosts in turn until `pred` accepts an event of `which` (0 = a, 1 = b);
    /// every event seen is returned in `log`.
    fn pump_until(
        a: &mut UdpHost,
        b: &mut UdpHost,
        limit: Duration,
        mut pred: impl FnMut(usize, &Event) -> bool,
    ) -> Option<(usize, Event)> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            for (i, h) in [&mut *a, &mut *b].into_iter().enumerate() {
                if let Some(ev) = h.service(Duration::from_millis(1)).unwrap() {
                    if pred(i, &ev) {
                        return Some((i, ev));
                    }
                }
            }
        }
        None
    }

    fn connected_pair(channels: usize, data: u32) -> (UdpHost, UdpHost, PeerId, PeerId) {
        let mut server = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        let cpeer = client.connect(server.local_addr(), channels, data).unwrap();
        let mut speer = None;
        let mut client_up = false;
        pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
            match (i, ev) {
                (0, Event::Connect { peer, data: d }) => {
                    assert_eq!(*d, data);
                    speer = Some(*peer);
                }
                (1, Event::Connect { peer, data: d }) => {
                    assert_eq!((*peer, *d), (cpeer, 0));
                    client_up = true;
                }
                other => panic!("unexpected event {other:?}"),
            }
            speer.is_some() && client_up
        })
        .expect("both sides connect");
        let speer = speer.unwrap();
        assert_eq!(
            server.host().peer_info(speer).unwrap().channel_count,
            channels
        );
        assert_eq!(
            server.host().peer_info(speer).unwrap().address,
            client.local_addr()
        );
        (server, client, speer, cpeer)
    }

    #[test]
    fn normalize_maps_v4_mapped_v6() {
        let mapped = SocketAddr::new(
            IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped()),
            9000,
        );
        assert_eq!(normalize_addr(mapped), "127.0.0.1:9000".parse().unwrap());
        let v6: SocketAddr = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 9000);
        assert_eq!(normalize_addr(v6), v6);
        let v4: SocketAddr = "10.1.2.3:4".parse().unwrap();
        assert_eq!(normalize_addr(v4), v4);
    }

    #[test]
    fn an_idle_host_hardly_ever_spins() {
        let mut h = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        assert_eq!(h.busy_poll_limit(), DEFAULT_BUSY_POLL_LIMIT);
        for _ in 0..300 {
            assert!(h.service(Duration::from_micros(200)).unwrap().is_none());
        }
        // (How many of these calls slept depends on scheduling: a call whose timeout has
        // passed by the time it would wait returns at once. Spins are what matters here.)
        let s = h.io_stats();
        // Two spins at the start and one probe per 256 sleeps; a little slack for calls
        // that return without sleeping under load.
        assert!(s.spins <= 5, "an idle host stops spinning: {s:?}");
        // Waits shorter than the limit (each spin cut short) must not keep it spinning either.
        let before = h.io_stats().spins;
        for _ in 0..2000 {
            h.service(Duration::from_micros(30)).unwrap();
        }
        let short = h.io_stats().spins - before;
        assert!(short <= 12, "{short} spins in 2000 short waits");
        let s = h.io_stats();
        h.set_busy_poll_limit(Duration::ZERO);
        for _ in 0..600 {
            h.service(Duration::from_micros(200)).unwrap();
        }
        assert_eq!(h.io_stats().spins, s.spins, "a zero limit never spins");
    }

    #[test]
    fn invalid_config_is_invalid_input() {
        let cfg = HostConfig {
            peer_count: 0,
            ..HostConfig::default()
        };
        let err = UdpHost::bind(localhost(), cfg).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn connect_exchange_and_disconnect_with_data() {
        let (mut server, mut client, speer, cpeer) = connected_pair(3, 0xC0FFEE);
        let kinds = [
            (0u8, PacketFlags::RELIABLE),
            (1, PacketFlags::UNRELIABLE),
            (2, PacketFlags::UNSEQUENCED),
        ];
        for (k, &(ch, flags)) in kinds.iter().enumerate() {
            let payload = vec![k as u8 + 1; 100 + k];
            client
                .send(cpeer, ch, Packet::new(payload.clone(), flags))
                .unwrap();
            server.send(speer, ch, Packet::new(payload, flags)).unwrap();
        }
        // A reliable packet spanning several fragments, too.
        let big: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        client
            .send(cpeer, 0, Packet::reliable(big.clone()))
            .unwrap();

        let mut got = [Vec::new(), Vec::new()];
        pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
            let Event::Receive {
                channel_id, packet, ..
            } = ev
            else {
                panic!("unexpected {ev:?}")
            };
            got[i].push((*channel_id, packet.clone()));
            got[0].len() == 4 && got[1].len() == 3
        })
        .expect("all packets arrive on a clean loopback");
        for side in &got {
            for (k, &(ch, flags)) in kinds.iter().enumerate() {
                let (_, p) = side
                    .iter()
                    .find(|(c, _)| *c == ch)
                    .expect("packet on channel");
                assert_eq!(&p.data[..], &vec![k as u8 + 1; 100 + k][..]);
                assert_eq!(
                    p.flags.contains(PacketFlags::RELIABLE),
                    flags == PacketFlags::RELIABLE
                );
                assert_eq!(
                    p.flags.contains(PacketFlags::UNSEQUENCED),
                    flags == PacketFlags::UNSEQUENCED
                );
            }
        }
        let reliable: Vec<_> = got[0].iter().filter(|(c, _)| *c == 0).collect();
        assert_eq!(reliable.len(), 2);
        assert_eq!(
            &reliable[1].1.data[..],
            &big[..],
            "fragments reassembled in order"
        );

        client.disconnect(cpeer, 77).unwrap();
        let mut seen = [None, None];
        pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
            if let Event::Disconnect { data, reason, .. } = ev {
                seen[i] = Some((*data, *reason));
            }
            seen.iter().all(Option::is_some)
        })
        .expect("both sides see the disconnect");
        assert_eq!(seen[0], Some((77, DisconnectReason::Remote)));
        assert_eq!(seen[1], Some((0, DisconnectReason::Local)));
        assert_eq!(server.host().connected_peers(), 0);
        assert_eq!(client.host().connected_peers(), 0);
    }

    #[test]
    fn idle_service_waits_about_the_timeout() {
        let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        for ms in [0u64, 30, 120] {
            let timeout = Duration::from_millis(ms);
            let t0 = Instant::now();
            assert_eq!(host.service(timeout).unwrap(), None);
            let elapsed = t0.elapsed();
            assert!(elapsed >= timeout.mul_f64(0.9), "{ms} ms: {elapsed:?}");
            assert!(
                elapsed <= timeout + Duration::from_millis(250),
                "{ms} ms: {elapsed:?}"
            );
        }
        // No peers, no timers: one wait per call, no spinning.
        assert!(host.io_stats().waits <= 4, "{:?}", host.io_stats());
    }

    #[test]
    fn connected_idle_service_does_not_spin() {
        let (mut server, mut client, _, _) = connected_pair(1, 0);
        let before = server.io_stats().waits + client.io_stats().waits;
        let timeout = Duration::from_millis(150);
        let t0 = Instant::now();
        let mut events = 0;
        while t0.elapsed() < timeout {
            events += server.service(Duration::from_millis(50)).unwrap().is_some() as u32;
            events += client.service(Duration::from_millis(50)).unwrap().is_some() as u32;
        }
        assert_eq!(events, 0);
        let waits = server.io_stats().waits + client.io_stats().waits - before;
        // Six-ish calls, plus the odd wake-up for a ping or a throttle epoch; a busy loop
        // would show thousands.
        assert!(waits < 60, "{waits} waits in {:?}", t0.elapsed());
        eprintln!("{waits} waits in {:?}", t0.elapsed());
    }

    #[test]
    fn pending_event_returned_without_waiting() {
        let (mut server, mut client, _, cpeer) = connected_pair(1, 0);
        for k in 0..3u8 {
            client.send(cpeer, 0, Packet::reliable(vec![k; 8])).unwrap();
        }
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        // The first service reads all three and returns the first; the rest are queued.
        assert!(matches!(
            server.service(Duration::from_secs(1)).unwrap(),
            Some(Event::Receive { .. })
        ));
        let t0 = Instant::now();
        assert!(server.check_events().is_some());
        assert!(matches!(
            server.service(Duration::from_secs(10)).unwrap(),
            Some(Event::Receive { .. })
        ));
        assert!(t0.elapsed() < Duration::from_millis(100));
        assert_eq!(server.check_events(), None);
    }

    #[test]
    fn connecting_to_a_closed_port_is_not_an_error() {
        let closed = UdpSocket::bind(localhost()).unwrap().local_addr().unwrap();
        let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        host.connect(closed, 1, 0).unwrap();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(150) {
            // ICMP port unreachable must not surface as an error.
            assert_eq!(host.service(Duration::from_millis(50)).unwrap(), None);
        }
        assert!(host.io_stats().datagrams_sent >= 1);
    }

    #[test]
    fn one_service_reads_many_datagrams() {
        // More than one recvmmsg batch is queued before the call; all of them (up to
        // MAX_DATAGRAMS_PER_WAKE) are read by one round, the rest by the next.
        let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        let sender = UdpSocket::bind(localhost()).unwrap();
        let total = MAX_DATAGRAMS_PER_WAKE + 44;
        for k in 0..total {
            // Not ENet: the engine ignores them, but the driver counts them.
            sender.send_to(&[k as u8; 3], host.local_addr()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(host.service(Duration::ZERO).unwrap(), None);
        assert_eq!(
            host.io_stats().datagrams_received,
            MAX_DATAGRAMS_PER_WAKE as u64
        );
        assert_eq!(host.service(Duration::ZERO).unwrap(), None);
        assert_eq!(host.io_stats().datagrams_received, total as u64);
    }

    #[test]
    fn hundreds_of_datagrams_in_one_flush_all_arrive() {
        let (mut server, mut client, _, cpeer) = connected_pair(1, 0);
        let before = client.io_stats().datagrams_sent;
        let n = 200u32;
        for k in 0..n {
            // About an MTU each, so each goes in a datagram of its own.
            let mut payload = vec![0u8; 1200];
            payload[..4].copy_from_slice(&k.to_le_bytes());
            client
                .send(cpeer, 0, Packet::new(payload, PacketFlags::UNSEQUENCED))
                .unwrap();
        }
        client.flush().unwrap();
        assert!(client.io_stats().datagrams_sent - before >= n as u64);
        let mut seen = vec![false; n as usize];
        let mut count = 0;
        pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
            let Event::Receive { packet, .. } = ev else {
                panic!("unexpected {ev:?}")
            };
            assert_eq!(i, 0);
            let k = u32::from_le_bytes(packet.data[..4].try_into().unwrap());
            assert!(!seen[k as usize], "duplicate {k}");
            seen[k as usize] = true;
            count += 1;
            count == n
        })
        .expect("all datagrams arrive on a clean loopback");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn partial_sends_and_errors_in_a_batch() {
        use crate::sys::{SendBatch, BATCH};
        let fill = |tx: &mut SendBatch, n: usize| {
            for k in 0..n {
                tx.next_buf().clear();
                tx.next_buf().push(k as u8);
                tx.push(SocketAddr::from(([127, 0, 0, 1], 1000 + k as u16)));
            }
        };
        let mut tx = SendBatch::new(16);
        fill(&mut tx, BATCH);
        assert!(tx.is_full());
        let mut stats = IoStats::default();
        // The kernel takes 5, refuses one (would block), takes 3, reports an ICMP error for
        // one, is interrupted, then takes the rest.
        let mut script: Vec<io::Result<usize>> = vec![
            Ok(5),
            Err(io::ErrorKind::WouldBlock.into()),
            Ok(3),
            Err(io::ErrorKind::ConnectionRefused.into()),
            Err(io::ErrorKind::Interrupted.into()),
            Ok(BATCH - 10),
        ];
        script.reverse();
        let mut firsts = Vec::new();
        send_pending(&mut tx, &mut stats, |tx| {
            firsts.push(tx.first_dest().unwrap().port() - 1000);
            script.pop().unwrap()
        })
        .unwrap();
        assert!(script.is_empty());
        assert_eq!(firsts, [0, 5, 6, 9, 10, 10]);
        assert!(!tx.has_pending());
        assert_eq!(stats.datagrams_sent, BATCH as u64 - 2);
        assert_eq!(stats.send_would_block, 1);
        assert_eq!(stats.send_errors, 1);

        // Errors about one destination in the middle of a batch: each drops its datagram
        // only, the rest of the batch is sent.
        fill(&mut tx, 8);
        let mut stats = IoStats::default();
        let mut script: Vec<io::Result<usize>> = vec![
            Ok(2),
            Err(io::Error::from_raw_os_error(libc::EINVAL)),
            Err(io::Error::from_raw_os_error(libc::EPERM)),
            Ok(1),
            Err(io::Error::from_raw_os_error(libc::EMSGSIZE)),
            Ok(3),
        ];
        script.reverse();
        send_pending(&mut tx, &mut stats, |_| script.pop().unwrap()).unwrap();
        assert!(script.is_empty() && !tx.has_pending());
        assert_eq!((stats.datagrams_sent, stats.send_errors), (6, 3));

        // An error of the socket is returned; the failed datagram is dropped and the rest
        // stay queued for the next flush.
        fill(&mut tx, 4);
        let mut stats = IoStats::default();
        let mut script = vec![Err(io::Error::from_raw_os_error(libc::EBADF)), Ok(1)];
        let err = send_pending(&mut tx, &mut stats, |_| script.pop().unwrap()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        assert!(tx.has_pending());
        assert_eq!(tx.first_dest().unwrap().port(), 1002);
        send_pending(&mut tx, &mut stats, |_| Ok(2)).unwrap();
        assert!(!tx.has_pending());
        assert_eq!(stats.datagrams_sent, 3);
    }

    #[test]
    fn dual_stack_socket_talks_to_ipv4_peer() {
        // An IPv6 socket bound to the IPv4-mapped loopback receives IPv4 traffic with
        // `::ffff:127.0.0.1` sources. Skipped quietly where the system refuses that.
        let mapped = SocketAddr::new(IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()), 0);
        let Ok(mut server) = UdpHost::bind(mapped, HostConfig::default()) else {
            eprintln!("skipped: cannot bind {mapped}");
            return;
        };
        assert!(server.local_addr().is_ipv6());
        let port = server.local_addr().port();
        let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
        let target = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        client.connect(target, 1, 5).unwrap();
        let mut ok = [false, false];
        let done = pump_until(&mut server, &mut client, Duration::from_secs(2), |i, ev| {
            if let Event::Connect { .. } = ev {
                ok[i] = true;
            }
            ok[0] && ok[1]
        });
        if done.is_none() {
            eprintln!("skipped: no IPv4 traffic on an IPv6 socket here");
            return;
        }
        let peers: Vec<_> = server.host().active_peers().collect();
        let addr = server.host().peer_info(peers[0]).unwrap().address;
        assert_eq!(
            addr,
            client.local_addr(),
            "IPv4-mapped source given as IPv4"
        );
    }
}
