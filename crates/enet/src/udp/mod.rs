//! A minimal UDP driver: an [`enet_proto::Host`] bound to a [`std::net::UdpSocket`].
//!
//! [`UdpHost`] owns a non-blocking socket and the sans-IO engine and moves datagrams and
//! time between them, much like `enet_host_service` does in the C library:
//!
//! ```no_run
//! use std::time::Duration;
//! use enet::{Event, Packet, UdpHost};
//!
//! let mut host = UdpHost::builder("127.0.0.1:0".parse()?).peer_count(1).bind()?;
//! let peer = host.connect("127.0.0.1:7777".parse()?, 2, 42)?;
//! loop {
//!     match host.service(Duration::from_millis(100))? {
//!         Some(Event::Connect { .. }) => host.send(peer, 0, Packet::reliable(&b"hello"[..]))?,
//!         Some(Event::Receive { packet, .. }) => println!("got {:?}", packet.data),
//!         Some(Event::Disconnect { .. }) => break,
//!         _ => {} // no event (or a kind this program does not handle)
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
//! * On Linux, runs of equal-size datagrams to one peer leave as one UDP GSO message and
//!   the kernel may hand over several received datagrams as one (GRO), which the driver
//!   splits again: peers (the C library included) see the same datagrams, and the kernel
//!   is crossed once per run ([`UdpHostBuilder::gso`], on by default; not on DTLS hosts).
//! * Under dense traffic, [`UdpHost::service`] busy-polls the socket for up to 50 µs before
//!   sleeping on it ([`UdpHost::set_busy_poll_limit`]); a host whose spins come back empty
//!   stops spinning and only probes with one spin every 256 sleeps.
//!
//! The driver is split by concern: this file holds [`UdpHost`] and its connection and
//! sending calls; `builder` its creation ([`UdpHostBuilder`]); `settings` the host and peer
//! settings and queries; `service` the service loop and the wait on the socket; `busy_poll` the
//! adaptive spin policy; `conditioner` the optional link conditioner; `addr` address
//! mapping and socket creation; `batched` the Linux `recvmmsg`/`sendmmsg` I/O and
//! `portable` the one-datagram-per-call I/O used elsewhere (and on Linux with the
//! `portable-io` feature); `dtls_io` the DTLS seam (feature `dtls`).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use enet_proto::{Compressor, Event, Host, HostConfig, Packet, PeerId};

use crate::error::{CantConnect, Error, Result};

mod addr;
#[cfg(batched_io)]
mod batched;
mod builder;
mod busy_poll;
mod conditioner;
#[cfg(test)]
mod drain_tests;
#[cfg(feature = "dtls")]
mod dtls_io;
#[cfg(all(test, batched_io))]
mod gso_tests;
#[cfg(not(batched_io))]
mod portable;
mod service;
mod settings;
#[cfg(test)]
mod tests;

pub use crate::io_policy::{SendErrorHook, MAX_DATAGRAM_SIZE};
pub use addr::{normalize_addr, SOCKET_BUFFER_SIZE};
pub use builder::UdpHostBuilder;
pub use busy_poll::DEFAULT_BUSY_POLL_LIMIT;

#[cfg(batched_io)]
use batched::Batch;
use busy_poll::BusyPoll;
use conditioner::Conditioner;

/// Most datagrams read from the socket per wake-up before timers and sending get a turn
/// (the C library's limit in `enet_protocol_receive_incoming_commands`). With GRO (see
/// [`UdpHostBuilder::gso`]) the last read may go past it: one read takes up to 32 messages,
/// each of which may hold several coalesced datagrams.
pub const MAX_DATAGRAMS_PER_WAKE: usize = 256;

/// Counters of the driver's own I/O (the engine keeps protocol counters, see
/// [`Host::totals`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoStats {
    /// Datagrams read from the socket (oversized ones included).
    pub datagrams_received: u64,
    /// System calls that read the socket (`recvmmsg`, or `recv_from` where I/O is not
    /// batched), those that found nothing included: a `service(Duration::ZERO)` loop
    /// that drains k queued events costs one read per batch of datagrams, not one per
    /// event.
    pub receive_calls: u64,
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
    /// Busy-poll spins the scheduler interrupted (another thread wanted the CPU); each
    /// turns spinning off for a long while (spinning only pays on a CPU of one's own).
    pub preempted_spins: u64,
    /// Messages sent with UDP segmentation offload, each carrying several datagrams (see
    /// [`UdpHostBuilder::gso`]); their datagrams count in `datagrams_sent`.
    pub gso_sends: u64,
    /// Times the kernel refused a GSO message that it then took as single datagrams: a
    /// refusal for the path's MTU (`EMSGSIZE`) turns GSO off for that destination (up to
    /// 16 of them), any other refusal, or a 17th path, for the host.
    pub gso_failures: u64,
    /// Received messages in which the kernel had coalesced several datagrams (GRO), each
    /// split into its datagrams (which count in `datagrams_received`).
    pub gro_splits: u64,
}

/// An ENet host on a UDP socket: the crate's native host.
///
/// Create it with [`UdpHost::builder`] (or [`UdpHost::bind`]). Queue work with [`UdpHost::connect`], [`UdpHost::send`], [`UdpHost::broadcast`] and the
/// `disconnect*` methods; call [`UdpHost::service`] regularly to move datagrams, run timers
/// and receive [`Event`]s. [`UdpHost::flush`] sends queued datagrams without waiting.
/// Peers are [`PeerId`]s, checked by generation on every call: an id whose connection is
/// over gets [`Error::PeerInactive`], never the slot's next occupant. Settings and
/// statistics are methods here (see `set_*`, [`UdpHost::peer_info`], [`UdpHost::totals`]).
pub struct UdpHost {
    socket: UdpSocket,
    local_addr: SocketAddr,
    host: Host,
    #[cfg(not(batched_io))]
    recv_buf: Vec<u8>,
    #[cfg(not(batched_io))]
    send_buf: Vec<u8>,
    stats: IoStats,
    /// Test seam consulted per outgoing datagram (see [`UdpHost::set_send_error_hook`]).
    send_hook: Option<SendErrorHook>,
    conditioner: Option<Box<Conditioner>>,
    busy_poll: BusyPoll,
    /// Whether batched I/O uses UDP GSO and GRO (see [`UdpHostBuilder::gso`]).
    #[cfg_attr(not(batched_io), allow(dead_code))]
    gso: bool,
    /// When the last read of the socket found its queue empty (`None` after a read that
    /// stopped at its batch limit): a waiting [`UdpHost::service`] that starts right after
    /// it goes straight to the wait instead of reading again.
    drained_at: Option<Instant>,
    /// The next `receive_available` returns at once: set by [`UdpHost::service`] for a
    /// round whose read has already been done (or just found nothing).
    skip_receive: bool,
    /// Batched I/O buffers (`recvmmsg`/`sendmmsg`), allocated on first use.
    #[cfg(batched_io)]
    batch: Option<Box<Batch>>,
    /// The DTLS seam: when set, every datagram in and out goes through it (`dtls_io`).
    #[cfg(feature = "dtls")]
    dtls: Option<Box<dtls_io::DtlsIo>>,
}

impl std::fmt::Debug for UdpHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpHost")
            .field("local_addr", &self.local_addr)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl UdpHost {
    /// Binds a UDP socket to `addr` and creates a host with `config` (the short form of
    /// [`UdpHost::builder`]).
    ///
    /// An invalid `config` gives [`Error::InvalidParameter`], a socket that cannot be bound
    /// [`Error::CantCreate`].
    pub fn bind(addr: SocketAddr, config: HostConfig) -> Result<UdpHost> {
        UdpHost::builder(addr).config(config).bind()
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
    ///
    /// Do not read from it: a datagram taken with `recv_from` never reaches the engine (or,
    /// on a DTLS host, the DTLS layer), and one written with `send_to` bypasses both; use
    /// [`UdpHost::socket_send`] for raw datagrams.
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The protocol engine, read-only: **for diagnostics** (its state as the engine sees
    /// it). Everything a program needs is a method of `UdpHost`; there is deliberately no
    /// mutable access, so the driver's invariants cannot be bypassed.
    pub fn host(&self) -> &Host {
        &self.host
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
    pub fn set_checksum(&mut self, enabled: bool) -> Result<()> {
        self.host.set_checksum(enabled).map_err(Error::Failed)
    }

    /// Starts connecting to `addr` with `channel_count` channels and user `data`.
    ///
    /// The CONNECT goes out on the next [`UdpHost::flush`] or [`UdpHost::service`]; an
    /// [`Event::Connect`] or [`Event::Disconnect`] follows. `channel_count` is clamped to
    /// 1..=255. Errors: [`Error::CantConnect`] with [`CantConnect::NoFreeSlot`] or
    /// [`CantConnect::Unanswerable`] (port 0, unspecified, broadcast or multicast).
    pub fn connect(&mut self, addr: SocketAddr, channel_count: usize, data: u32) -> Result<PeerId> {
        self.host
            .connect(Instant::now(), normalize_addr(addr), channel_count, data)
            .map_err(|e| match e {
                enet_proto::Error::InvalidAddress => Error::CantConnect(CantConnect::Unanswerable),
                enet_proto::Error::NoFreePeer => Error::CantConnect(CantConnect::NoFreeSlot),
                other => Error::Failed(other),
            })
    }

    /// Queues a packet to a connected peer on `channel_id`.
    ///
    /// Errors: a stale or unknown id → [`Error::PeerInactive`]; a channel at or above the
    /// peer's channel count → [`Error::InvalidChannel`]; not connected (yet), or larger than
    /// [`HostConfig::maximum_packet_size`] → [`Error::Failed`].
    pub fn send(&mut self, peer: PeerId, channel_id: u8, packet: Packet) -> Result<()> {
        self.host
            .send(peer, channel_id, packet)
            .map_err(|e| match e {
                enet_proto::Error::InvalidChannel => Error::InvalidChannel {
                    channel: channel_id,
                    limit: self.host.peer_channel_count(peer).unwrap_or(0),
                },
                other => settings::peer_error(other),
            })
    }

    /// Queues a packet to every connected peer; a channel at or above the host's
    /// [`HostConfig::channel_limit`] gives [`Error::InvalidChannel`] and sends nothing.
    pub fn broadcast(&mut self, channel_id: u8, packet: Packet) -> Result<()> {
        let limit = self.host.config().channel_limit;
        if channel_id as usize >= limit {
            return Err(Error::InvalidChannel {
                channel: channel_id,
                limit,
            });
        }
        self.host.broadcast(channel_id, packet);
        Ok(())
    }

    /// Gracefully disconnects a peer with `data`; an [`Event::Disconnect`] follows.
    /// [`Error::PeerInactive`] for a stale or unknown id.
    pub fn disconnect(&mut self, peer: PeerId, data: u32) -> Result<()> {
        self.host
            .disconnect(peer, data)
            .map_err(settings::peer_error)
    }

    /// Disconnects a peer at once: one unreliable DISCONNECT is sent (immediately, on a
    /// best-effort basis) and the slot is freed without an event.
    pub fn disconnect_now(&mut self, peer: PeerId, data: u32) -> Result<()> {
        self.host
            .disconnect_now(peer, data)
            .map_err(settings::peer_error)?;
        // Like the C library, which sends the DISCONNECT from within the call. A failure
        // here is not the caller's concern: the peer is gone either way.
        let _ = self.flush();
        Ok(())
    }

    /// Disconnects a peer once everything queued to it has been delivered.
    pub fn disconnect_later(&mut self, peer: PeerId, data: u32) -> Result<()> {
        self.host
            .disconnect_later(peer, data)
            .map_err(settings::peer_error)
    }

    /// Resets a peer slot without telling the remote and without an event.
    pub fn reset(&mut self, peer: PeerId) -> Result<()> {
        self.host.reset(peer).map_err(settings::peer_error)
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
        #[cfg(feature = "dtls")]
        if self.dtls.is_some() {
            return self.flush_dtls();
        }
        self.flush_io()
    }

    /// Sends raw bytes as one UDP datagram from this host's socket, outside ENet (for NAT
    /// hole punching). Not subject to the link conditioner.
    ///
    /// On a DTLS host the bytes go through DTLS as Godot's do: sealed as one record to an
    /// established session, silently dropped for any other address.
    pub fn socket_send(&mut self, to: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        #[cfg(feature = "dtls")]
        if self.dtls.is_some() {
            return self.socket_send_dtls(to, bytes);
        }
        let to = addr::socket_dest(to, self.local_addr.is_ipv6());
        self.socket.send_to(bytes, to).map(|_| ())
    }
}
