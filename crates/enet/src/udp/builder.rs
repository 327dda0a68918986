//! Creating a [`UdpHost`]: [`UdpHostBuilder`] gathers the bind address, the engine's
//! [`HostConfig`] and the driver's own settings (busy-poll limit, compression, socket buffer
//! sizes, GSO), validates them once and binds the socket. [`UdpHost::bind`] is the short form.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use enet_proto::{Host, HostConfig};

use super::{addr, busy_poll::BusyPoll, IoStats, UdpHost, DEFAULT_BUSY_POLL_LIMIT};
use crate::compress::CompressionMode;
use crate::error::{Error, Invalid, Result};
#[cfg(not(batched_io))]
use crate::io_policy::RECV_BUFFER_SIZE;

/// How to create a [`UdpHost`]: start with [`UdpHost::builder`], change what you need, then
/// [`UdpHostBuilder::bind`].
///
/// ```no_run
/// use std::time::Duration;
/// use enet::{CompressionMode, UdpHost};
///
/// let host = UdpHost::builder("0.0.0.0:7777".parse().unwrap())
///     .peer_count(64)
///     .channel_limit(4)
///     .bandwidth_limit(0, 0)
///     .compression(CompressionMode::RangeCoder)
///     .busy_poll_limit(Duration::ZERO)
///     .bind()?;
/// assert_eq!(host.config().peer_count, 64);
/// # Ok::<(), enet::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `bind` is called"]
pub struct UdpHostBuilder {
    addr: SocketAddr,
    config: HostConfig,
    busy_poll_limit: Duration,
    compression: CompressionMode,
    socket_buffer_size: usize,
    gso: bool,
}

impl UdpHost {
    /// A builder for a host bound to `addr` (port 0 for an ephemeral port), with
    /// [`HostConfig::default`] and the driver's defaults.
    pub fn builder(addr: SocketAddr) -> UdpHostBuilder {
        UdpHostBuilder {
            addr,
            config: HostConfig::default(),
            busy_poll_limit: DEFAULT_BUSY_POLL_LIMIT,
            compression: CompressionMode::None,
            socket_buffer_size: addr::SOCKET_BUFFER_SIZE,
            gso: true,
        }
    }
}

impl UdpHostBuilder {
    /// Replaces the whole engine configuration (the other setters change single fields of
    /// it, so call this one first).
    pub fn config(mut self, config: HostConfig) -> Self {
        self.config = config;
        self
    }

    /// How many peers the host can hold (1..=4095; [`HostConfig::peer_count`]).
    pub fn peer_count(mut self, peers: usize) -> Self {
        self.config.peer_count = peers;
        self
    }

    /// The most channels an incoming connection may have (1..=255, 0 or above 255 meaning
    /// 255; [`HostConfig::channel_limit`]).
    pub fn channel_limit(mut self, channels: usize) -> Self {
        self.config.channel_limit = channels;
        self
    }

    /// Incoming and outgoing bandwidth in bytes/s, 0 = unlimited.
    pub fn bandwidth_limit(mut self, incoming: u32, outgoing: u32) -> Self {
        self.config.incoming_bandwidth = incoming;
        self.config.outgoing_bandwidth = outgoing;
        self
    }

    /// The MTU offered to peers (576..=4096; [`HostConfig::mtu`]).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.config.mtu = mtu;
        self
    }

    /// Ceiling of the adaptive reliable window: the most reliable bytes in flight to a peer
    /// on a path without bandwidth limits (65,536..=16 MiB, default 1 MiB; 65,536 sends as
    /// the C library does; [`HostConfig::transit_window`]).
    pub fn transit_window(mut self, bytes: u32) -> Self {
        self.config.transit_window = bytes;
        self
    }

    /// ENet's CRC-32 checksum on every datagram (both ends must agree).
    pub fn checksum(mut self, enabled: bool) -> Self {
        self.config.checksum = enabled;
        self
    }

    /// The longest busy-poll spin of [`UdpHost::service`] (see
    /// [`UdpHost::set_busy_poll_limit`]; `Duration::ZERO` turns it off).
    pub fn busy_poll_limit(mut self, limit: Duration) -> Self {
        self.busy_poll_limit = limit;
        self
    }

    /// The datagram compression (both ends must agree; none by default).
    pub fn compression(mut self, mode: CompressionMode) -> Self {
        self.compression = mode;
        self
    }

    /// The send and receive buffer size asked of the OS (default
    /// [`SOCKET_BUFFER_SIZE`](super::SOCKET_BUFFER_SIZE), 1 MiB; the OS may grant less or
    /// more). At most 1 GiB.
    pub fn socket_buffer_size(mut self, bytes: usize) -> Self {
        self.socket_buffer_size = bytes;
        self
    }

    /// Whether to use UDP segmentation offload on send and generic receive offload on
    /// receive (Linux batched I/O; on by default; ignored elsewhere and on DTLS hosts).
    ///
    /// With it on, consecutive datagrams of a flush to the same peer whose sizes are equal
    /// (the last may be shorter: a fragmented packet, a stream of equal messages) go to the
    /// kernel as one message that it splits into the same datagrams ([`IoStats::gso_sends`]),
    /// and the socket accepts several datagrams of one sender as one message
    /// ([`IoStats::gro_splits`]), split again before the engine sees them, each checked
    /// against [`MAX_DATAGRAM_SIZE`](super::MAX_DATAGRAM_SIZE) on its own. Receivers, the C
    /// library included, see the same datagrams either way; bulk transfers cost the kernel
    /// far fewer traversals. Where the kernel or device refuses GSO, the host notices on
    /// its first such send, resends those datagrams one by one and stops using GSO
    /// ([`IoStats::gso_failures`]): for that destination alone when its path's MTU was the
    /// reason (a tunnel, say; up to 16 such paths), otherwise for all; where the kernel
    /// refuses GRO, datagrams are read one by one.
    /// With GRO on, the host's receive buffers take 2 MiB of address space (32 × 64 KiB),
    /// of which only what large bursts reach becomes resident.
    pub fn gso(mut self, enabled: bool) -> Self {
        self.gso = enabled;
        self
    }

    /// The engine configuration as it stands.
    pub fn host_config(&self) -> &HostConfig {
        &self.config
    }

    /// Validates the settings, binds the socket and creates the host.
    ///
    /// Errors: a configuration the engine refuses →
    /// [`Error::InvalidParameter`]`(`[`Invalid::Config`]`)`, a socket buffer size above 1 GiB
    /// → [`Invalid::OutOfRange`], a socket that cannot be created or bound →
    /// [`Error::CantCreate`].
    pub fn bind(self) -> Result<UdpHost> {
        const MAX_SOCKET_BUFFER: usize = 1 << 30;
        if self.socket_buffer_size > MAX_SOCKET_BUFFER {
            return Err(Error::out_of_range(
                "socket_buffer_size",
                self.socket_buffer_size.min(i64::MAX as usize) as i64,
                0,
                MAX_SOCKET_BUFFER as i64,
            ));
        }
        let mut host = Host::new(self.config, Instant::now())
            .map_err(|e| Error::InvalidParameter(Invalid::Config(e)))?;
        host.set_compressor(self.compression.compressor());
        let socket =
            addr::open_socket(self.addr, self.socket_buffer_size).map_err(Error::CantCreate)?;
        socket.set_nonblocking(true).map_err(Error::CantCreate)?;
        // As the C library does (enet_host_create); harmless if refused.
        let _ = socket.set_broadcast(true);
        let local_addr = socket.local_addr().map_err(Error::CantCreate)?;
        Ok(UdpHost {
            socket,
            local_addr,
            host,
            #[cfg(not(batched_io))]
            recv_buf: vec![0; RECV_BUFFER_SIZE],
            #[cfg(not(batched_io))]
            send_buf: Vec::with_capacity(RECV_BUFFER_SIZE),
            stats: IoStats::default(),
            send_hook: None,
            conditioner: None,
            busy_poll: BusyPoll::new(self.busy_poll_limit),
            gso: self.gso,
            drained_at: None,
            skip_receive: false,
            #[cfg(batched_io)]
            batch: None,
            #[cfg(feature = "dtls")]
            dtls: None,
        })
    }
}
