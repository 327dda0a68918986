//! Host configuration: [`HostConfig`], its defaults (ENet 1.3.18's) and the host-wide
//! limits, and the setters that change it on a running host.
//!
//! Every rule about what a configuration may hold is checked here, once, by the private
//! helpers that [`Host::new`] and the setters share (peer count range, MTU range, room for
//! the checksum, channel-limit normalisation, duplicate-peer clamping).

use super::*;
use crate::event::ConfigError;

/// Default MTU (ENet 1.3.18).
pub const DEFAULT_MTU: u32 = 1392;
/// Default maximum packet size (32 MiB).
pub const DEFAULT_MAXIMUM_PACKET_SIZE: usize = 32 * 1024 * 1024;
/// Default maximum undelivered data per peer (32 MiB).
pub const DEFAULT_MAXIMUM_WAITING_DATA: usize = 32 * 1024 * 1024;
/// Default budget for buffered incoming data over all peers (256 MiB).
pub const DEFAULT_BUFFER_BUDGET: usize = 256 * 1024 * 1024;
/// How far above [`HostConfig::maximum_waiting_data`] reliable packets that fill a gap in
/// front of held packets may take a peer's queues: this constant, or the limit itself if
/// that is smaller (whatever the maximum packet size).
pub const GAP_ALLOWANCE: usize = 1024 * 1024;
/// Largest datagram processed: ENet's maximum MTU. Larger ones are dropped, as C does.
pub const MAXIMUM_DATAGRAM_SIZE: usize = MAXIMUM_MTU as usize;
/// Default [`HostConfig::transit_window`], the ceiling of the adaptive transit window:
/// 1 MiB (65,536, ENet's largest window, sends exactly as the C library does).
pub const DEFAULT_TRANSIT_WINDOW: u32 = 1024 * 1024;
/// Largest [`HostConfig::transit_window`] accepted (16 MiB).
pub const MAXIMUM_TRANSIT_WINDOW: u32 = 16 * 1024 * 1024;
/// Period of the host bandwidth throttle, in ms.
pub const BANDWIDTH_THROTTLE_INTERVAL: u32 = 1000;

/// Host configuration. Defaults equal ENet 1.3.18's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostConfig {
    /// Number of peer slots, 1..=4095.
    pub peer_count: usize,
    /// Most channels a remote may open, 1..=255 (0 means 255).
    pub channel_limit: usize,
    /// Our download capacity in bytes/s (0 = unlimited).
    pub incoming_bandwidth: u32,
    /// Our upload capacity in bytes/s (0 = unlimited).
    pub outgoing_bandwidth: u32,
    /// MTU proposed and accepted, 576..=4096.
    pub mtu: u32,
    /// Largest packet sent or accepted.
    pub maximum_packet_size: usize,
    /// Most undelivered received data held per peer.
    pub maximum_waiting_data: usize,
    /// Most received data buffered over all peers (in the incoming queues and in
    /// undelivered receive events), in bytes of memory committed. When it runs short, the
    /// peers holding the most are refused first. See [`Host::buffered_bytes`].
    pub buffer_budget: usize,
    /// Most simultaneous connections from one IP address.
    pub duplicate_peers: usize,
    /// Append a CRC-32 to every datagram (both ends must agree).
    pub checksum: bool,
    /// Seed for connection ids. The default is fresh for every `HostConfig::default()`; set
    /// it for reproducible runs.
    pub seed: u64,
    /// Whether new peers (connected or accepted from now on) start with early
    /// retransmission on (the default; see [`Host::set_early_retransmit`]). Off, reliable
    /// commands are retransmitted only at their timeout, as in the C library.
    pub early_retransmit: bool,
    /// Ceiling of the adaptive transit window: the most reliable payload bytes kept in
    /// flight to a peer (sent, not yet acknowledged) when neither side limits bandwidth,
    /// before the packet throttle scales it. 65,536..=16 MiB ([`MAXIMUM_TRANSIT_WINDOW`]);
    /// default [`DEFAULT_TRANSIT_WINDOW`], 1 MiB.
    ///
    /// ENet keeps at most its protocol maximum, 64 KiB, in flight on such a path, which
    /// caps a reliable transfer at 64 KiB per round trip (1.6 MB/s at 40 ms). Here each
    /// peer's window starts at those 64 KiB and widens like TCP's slow start: by the bytes
    /// each acknowledgement reports while at least half of the window is in use (about
    /// doubling per round trip), up to this ceiling. It narrows again:
    /// - to half when a command goes out again at its retransmission timeout although
    ///   nothing sent at the same time or later was acknowledged (tail loss), and to 64 KiB
    ///   when such a timeout repeats (a dead or jammed path); if the acknowledgement then
    ///   echoes the first transmission (the timeout was spurious), the window comes back;
    /// - to half when early retransmissions (see [`HostConfig::early_retransmit`]) carry
    ///   more than 1/16 of the window within about one window's worth of acknowledgements:
    ///   isolated random losses leave it alone, loss at congestion scale does not;
    /// - to 64 KiB when the peer has been idle long enough to be pinged.
    ///
    /// It never goes below 64 KiB, so with the packet throttle applied ENet's own window is
    /// the floor, and a peer whose window a bandwidth limit sets below 64 KiB keeps that
    /// window unchanged. 65,536 turns the adaptation off: exactly the C library's behaviour.
    /// Receivers, the C library's included, accept a wider window: it changes only when the
    /// sender sends. [`PeerInfo::transit_window`](crate::PeerInfo::transit_window) shows a
    /// peer's current window.
    pub transit_window: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            peer_count: 32,
            channel_limit: MAXIMUM_CHANNEL_COUNT as usize,
            incoming_bandwidth: 0,
            outgoing_bandwidth: 0,
            mtu: DEFAULT_MTU,
            maximum_packet_size: DEFAULT_MAXIMUM_PACKET_SIZE,
            maximum_waiting_data: DEFAULT_MAXIMUM_WAITING_DATA,
            buffer_budget: DEFAULT_BUFFER_BUDGET,
            duplicate_peers: MAXIMUM_PEER_ID as usize,
            checksum: false,
            seed: fresh_seed(),
            early_retransmit: true,
            transit_window: DEFAULT_TRANSIT_WINDOW,
        }
    }
}

/// A seed that differs between hosts and runs (from the standard library's per-process
/// random hash keys, a counter and the clock), so connection ids of different hosts differ.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

impl Host {
    /// Turns the CRC-32 checksum on or off (both ends must agree).
    pub fn set_checksum(&mut self, enabled: bool) -> Result<(), Error> {
        check_mtu(self.config.mtu, enabled)?;
        self.config.checksum = enabled;
        Ok(())
    }

    /// Limits the channels future remotes may open (0 or above 255 means 255).
    pub fn channel_limit(&mut self, limit: usize) {
        self.config.channel_limit = normalized_channel_limit(limit);
    }

    /// Refuses (or accepts again) incoming connection requests; refused requests are
    /// dropped silently (ENet has no refusal message) and counted as
    /// [`DropReason::ConnectRefused`].
    pub fn refuse_new_connections(&mut self, refuse: bool) {
        self.refuse_connections = refuse;
    }

    /// Whether incoming connection requests are refused.
    pub fn is_refusing_new_connections(&self) -> bool {
        self.refuse_connections
    }

    /// Changes the MTU used for new connections.
    pub fn set_mtu(&mut self, mtu: u32) -> Result<(), Error> {
        check_mtu(mtu, self.config.checksum)?;
        self.config.mtu = mtu;
        Ok(())
    }

    /// Changes the largest packet sent or accepted.
    pub fn set_maximum_packet_size(&mut self, size: usize) {
        self.config.maximum_packet_size = size;
    }

    /// Changes the largest amount of undelivered data held per peer.
    pub fn set_maximum_waiting_data(&mut self, size: usize) {
        self.config.maximum_waiting_data = size;
    }

    /// Changes the budget for buffered incoming data over all peers.
    pub fn set_buffer_budget(&mut self, size: usize) {
        self.config.buffer_budget = size;
    }

    /// Turns early retransmission on or off for peers connected or accepted from now on
    /// ([`HostConfig::early_retransmit`]); peers already in use keep their setting.
    pub fn set_default_early_retransmit(&mut self, enabled: bool) {
        self.config.early_retransmit = enabled;
    }

    /// Changes [`HostConfig::transit_window`], the ceiling of the adaptive transit window
    /// (for all peers, at once: a window above a lowered ceiling is cut to it).
    pub fn set_transit_window(&mut self, bytes: u32) -> Result<(), Error> {
        check_transit_window(bytes)?;
        self.config.transit_window = bytes;
        Ok(())
    }

    /// Changes how many connections one IP address may hold.
    pub fn set_duplicate_peers(&mut self, n: usize) {
        self.config.duplicate_peers = n.clamp(1, MAXIMUM_PEER_ID as usize);
    }
}

/// Builder-style setters: `HostConfig` is `#[non_exhaustive]`, so outside this crate a
/// configuration starts from [`HostConfig::default`] and changes fields with these (or by
/// assignment). Values are checked once, when a host is created.
///
/// ```
/// use enet_proto::HostConfig;
/// let config = HostConfig::default().with_peer_count(64).with_channel_limit(4);
/// assert_eq!((config.peer_count, config.channel_limit), (64, 4));
/// ```
impl HostConfig {
    /// This configuration with the number of peer slots (1..=4095) ([`HostConfig::peer_count`]).
    pub fn with_peer_count(mut self, peer_count: usize) -> Self {
        self.peer_count = peer_count;
        self
    }

    /// This configuration with the most channels a remote may open (1..=255; 0 means 255) ([`HostConfig::channel_limit`]).
    pub fn with_channel_limit(mut self, channel_limit: usize) -> Self {
        self.channel_limit = channel_limit;
        self
    }

    /// This configuration with our download capacity in bytes/s (0 = unlimited) ([`HostConfig::incoming_bandwidth`]).
    pub fn with_incoming_bandwidth(mut self, incoming_bandwidth: u32) -> Self {
        self.incoming_bandwidth = incoming_bandwidth;
        self
    }

    /// This configuration with our upload capacity in bytes/s (0 = unlimited) ([`HostConfig::outgoing_bandwidth`]).
    pub fn with_outgoing_bandwidth(mut self, outgoing_bandwidth: u32) -> Self {
        self.outgoing_bandwidth = outgoing_bandwidth;
        self
    }

    /// This configuration with the MTU proposed and accepted (576..=4096) ([`HostConfig::mtu`]).
    pub fn with_mtu(mut self, mtu: u32) -> Self {
        self.mtu = mtu;
        self
    }

    /// This configuration with the largest packet sent or accepted ([`HostConfig::maximum_packet_size`]).
    pub fn with_maximum_packet_size(mut self, maximum_packet_size: usize) -> Self {
        self.maximum_packet_size = maximum_packet_size;
        self
    }

    /// This configuration with the most undelivered received data held per peer ([`HostConfig::maximum_waiting_data`]).
    pub fn with_maximum_waiting_data(mut self, maximum_waiting_data: usize) -> Self {
        self.maximum_waiting_data = maximum_waiting_data;
        self
    }

    /// This configuration with the most received data buffered over all peers ([`HostConfig::buffer_budget`]).
    pub fn with_buffer_budget(mut self, buffer_budget: usize) -> Self {
        self.buffer_budget = buffer_budget;
        self
    }

    /// This configuration with the most simultaneous connections from one IP address ([`HostConfig::duplicate_peers`]).
    pub fn with_duplicate_peers(mut self, duplicate_peers: usize) -> Self {
        self.duplicate_peers = duplicate_peers;
        self
    }

    /// This configuration with the CRC-32 checksum on every datagram ([`HostConfig::checksum`]).
    pub fn with_checksum(mut self, checksum: bool) -> Self {
        self.checksum = checksum;
        self
    }

    /// This configuration with the seed for connection ids ([`HostConfig::seed`]).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// This configuration with early retransmission on or off for new peers
    /// ([`HostConfig::early_retransmit`]).
    pub fn with_early_retransmit(mut self, early_retransmit: bool) -> Self {
        self.early_retransmit = early_retransmit;
        self
    }

    /// This configuration with another ceiling of the adaptive transit window
    /// ([`HostConfig::transit_window`]; 65,536 sends as the C library does).
    pub fn with_transit_window(mut self, bytes: u32) -> Self {
        self.transit_window = bytes;
        self
    }
}

impl HostConfig {
    /// The one validation of a configuration: checks what must hold and normalises what
    /// has a documented substitute (a channel limit of 0 or above 255 means 255).
    pub(super) fn validated(mut self) -> Result<HostConfig, Error> {
        if self.peer_count == 0 || self.peer_count > MAXIMUM_PEER_ID as usize {
            return Err(Error::InvalidConfig(ConfigError::PeerCount(
                self.peer_count,
            )));
        }
        self.channel_limit = normalized_channel_limit(self.channel_limit);
        check_mtu(self.mtu, self.checksum)?;
        check_transit_window(self.transit_window)?;
        Ok(self)
    }
}

/// A channel limit as the host applies it: 0 or above 255 means 255.
fn normalized_channel_limit(limit: usize) -> usize {
    if limit == 0 || limit > MAXIMUM_CHANNEL_COUNT as usize {
        MAXIMUM_CHANNEL_COUNT as usize
    } else {
        limit
    }
}

/// Whether `mtu` is in ENet's range and, with the checksum on, leaves room for it.
fn check_mtu(mtu: u32, checksum: bool) -> Result<(), Error> {
    if !(MINIMUM_MTU..=MAXIMUM_MTU).contains(&mtu) {
        return Err(Error::InvalidConfig(ConfigError::Mtu(mtu)));
    }
    if checksum && mtu + 4 > MAXIMUM_MTU {
        return Err(Error::InvalidConfig(ConfigError::MtuWithChecksum(mtu)));
    }
    Ok(())
}

/// Whether `bytes` is a valid [`HostConfig::transit_window`].
fn check_transit_window(bytes: u32) -> Result<(), Error> {
    if !(MAXIMUM_WINDOW_SIZE..=MAXIMUM_TRANSIT_WINDOW).contains(&bytes) {
        return Err(Error::InvalidConfig(ConfigError::TransitWindow(bytes)));
    }
    Ok(())
}
