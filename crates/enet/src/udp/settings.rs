//! The native host's settings and queries, so that a program needs nothing from the engine
//! directly: host-wide settings (MTU, bandwidth, channel limit, refusing connections,
//! early retransmission for new peers), per-peer settings (ping, ping interval, timeouts,
//! early retransmission, throttle) with [`Duration`]s, and read-only views (configuration,
//! peers, statistics). Every per-peer call checks the
//! [`PeerId`]'s generation: a stale id gets [`Error::PeerInactive`] and never reaches the
//! slot's next occupant.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use enet_proto::{DropStats, HostConfig, HostTotals, PeerId, PeerInfo, PeerState};

use super::UdpHost;
use crate::error::{Error, Invalid, Result};

/// Converts `d` to the protocol's 32-bit milliseconds: a nonzero duration below 1 ms counts
/// as 1 ms (so it never reads as "default"), and one above `u32::MAX` ms is an error.
pub(crate) fn millis(name: &'static str, d: Duration) -> Result<u32> {
    let ms = d.as_millis();
    let ms = if ms == 0 && !d.is_zero() { 1 } else { ms };
    u32::try_from(ms).map_err(|_| Error::InvalidParameter(Invalid::Duration { name, value: d }))
}

/// Maps an engine error about a peer call to this crate's: an unknown or stale id is
/// [`Error::PeerInactive`], the rest [`Error::Failed`].
pub(crate) fn peer_error(e: enet_proto::Error) -> Error {
    match e {
        enet_proto::Error::InvalidPeer => Error::PeerInactive,
        other => Error::Failed(other),
    }
}

impl UdpHost {
    /// The engine configuration in force (settings changed since creation included).
    pub fn config(&self) -> &HostConfig {
        self.host.config()
    }

    /// The number of peer slots.
    pub fn peer_count(&self) -> usize {
        self.host.peer_count()
    }

    /// Peers that are connected (or disconnecting once their queues drain).
    pub fn connected_peers(&self) -> usize {
        self.host.connected_peers()
    }

    /// The ids of every peer that is not disconnected (connecting, connected or
    /// disconnecting), in slot order.
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.host.active_peers()
    }

    /// Host-wide traffic totals since creation (bytes and datagrams, both directions).
    pub fn totals(&self) -> HostTotals {
        self.host.totals()
    }

    /// Received input the engine dropped, by reason.
    pub fn drop_stats(&self) -> &DropStats {
        self.host.drop_stats()
    }

    /// Sets the MTU offered to future connections (576..=4096); an MTU out of range gives
    /// [`Error::InvalidParameter`]`(`[`Invalid::Config`]`)` and changes nothing.
    pub fn set_mtu(&mut self, mtu: u32) -> Result<()> {
        self.host
            .set_mtu(mtu)
            .map_err(|e| Error::InvalidParameter(Invalid::Config(e)))
    }

    /// Sets the host's bandwidth limits (bytes/s, 0 = unlimited); peers learn them within a
    /// second.
    pub fn set_bandwidth_limit(&mut self, incoming: u32, outgoing: u32) {
        self.host.bandwidth_limit(incoming, outgoing);
    }

    /// Limits the channels of future incoming connections (0 or above 255 means 255).
    pub fn set_channel_limit(&mut self, limit: usize) {
        self.host.channel_limit(limit);
    }

    /// Changes the largest packet sent or accepted ([`HostConfig::maximum_packet_size`]).
    pub fn set_maximum_packet_size(&mut self, bytes: usize) {
        self.host.set_maximum_packet_size(bytes);
    }

    /// Changes the most undelivered received data held per peer
    /// ([`HostConfig::maximum_waiting_data`]).
    pub fn set_maximum_waiting_data(&mut self, bytes: usize) {
        self.host.set_maximum_waiting_data(bytes);
    }

    /// Changes the budget for received data buffered over all peers
    /// ([`HostConfig::buffer_budget`]).
    pub fn set_buffer_budget(&mut self, bytes: usize) {
        self.host.set_buffer_budget(bytes);
    }

    /// Changes how many connections one IP address may hold (clamped to 1..=4095;
    /// [`HostConfig::duplicate_peers`]).
    pub fn set_duplicate_peers(&mut self, peers: usize) {
        self.host.set_duplicate_peers(peers);
    }

    /// Whether peers connected or accepted from now on start with early retransmission on
    /// ([`HostConfig::early_retransmit`], on by default; set it at creation with
    /// [`HostConfig::with_early_retransmit`]). Peers in use keep their setting: change
    /// theirs with [`UdpHost::set_early_retransmit`].
    pub fn set_default_early_retransmit(&mut self, enabled: bool) {
        self.host.set_default_early_retransmit(enabled);
    }

    /// Changes the ceiling of the adaptive reliable window, the most reliable bytes in
    /// flight to each peer on a path without bandwidth limits
    /// ([`HostConfig::transit_window`]; 65,536..=16 MiB, else [`Error::InvalidParameter`];
    /// 65,536 sends as the C library does).
    pub fn set_transit_window(&mut self, bytes: u32) -> Result<()> {
        self.host
            .set_transit_window(bytes)
            .map_err(|e| Error::InvalidParameter(Invalid::Config(e)))
    }

    /// Received data the host holds in memory now (see
    /// [`Host::buffered_bytes`](enet_proto::Host::buffered_bytes)).
    pub fn buffered_bytes(&self) -> usize {
        self.host.buffered_bytes()
    }

    /// Refuses (or accepts again) new incoming connections; established peers are not
    /// affected. A refused CONNECT is dropped and counted, unanswered.
    /// On a DTLS server this also stops (or resumes) answering new handshakes.
    pub fn set_refuse_new_connections(&mut self, refuse: bool) {
        #[cfg(feature = "dtls")]
        self.set_dtls_refuse_new_connections(refuse);
        self.host.refuse_new_connections(refuse);
    }

    /// Whether new incoming connections are refused.
    pub fn is_refusing_new_connections(&self) -> bool {
        self.host.is_refusing_new_connections()
    }

    /// The state of a peer; `Disconnected` for a stale or unknown id.
    pub fn peer_state(&self, peer: PeerId) -> PeerState {
        self.host
            .peer_state(peer)
            .unwrap_or(PeerState::Disconnected)
    }

    /// A snapshot of a peer's state and statistics (address, MTU, round-trip time, packet
    /// loss, throttle, timeouts, counters); [`Error::PeerInactive`] for a stale or unknown
    /// id.
    pub fn peer_info(&self, peer: PeerId) -> Result<PeerInfo> {
        self.host.peer_info(peer).ok_or(Error::PeerInactive)
    }

    /// The peer's negotiated channel count; [`Error::PeerInactive`] for a stale or unknown
    /// id.
    pub fn peer_channel_count(&self, peer: PeerId) -> Result<usize> {
        self.host
            .peer_channel_count(peer)
            .ok_or(Error::PeerInactive)
    }

    /// Queues a PING now (only while connected: otherwise [`Error::Failed`] with
    /// `NotConnected`).
    pub fn ping(&mut self, peer: PeerId) -> Result<()> {
        self.host.ping(peer).map_err(peer_error)
    }

    /// Sets how often an idle peer is pinged; `Duration::ZERO` restores the default
    /// (500 ms). More than `u32::MAX` ms gives [`Invalid::Duration`].
    pub fn set_ping_interval(&mut self, peer: PeerId, interval: Duration) -> Result<()> {
        let ms = millis("ping interval", interval)?;
        self.host.set_ping_interval(peer, ms).map_err(peer_error)
    }

    /// Sets when an unanswered peer times out, as C's `enet_peer_timeout`: it is dropped
    /// once a reliable command stays unacknowledged for `maximum`, or for `minimum` after
    /// its retransmission timeout has grown past `limit` round-trip times. Zero values
    /// restore each default (32, 5 s, 30 s). Durations above `u32::MAX` ms give
    /// [`Invalid::Duration`] and change nothing.
    pub fn set_timeout(
        &mut self,
        peer: PeerId,
        limit: u32,
        minimum: Duration,
        maximum: Duration,
    ) -> Result<()> {
        let minimum = millis("minimum timeout", minimum)?;
        let maximum = millis("maximum timeout", maximum)?;
        self.host
            .set_timeout(peer, limit, minimum, maximum)
            .map_err(peer_error)
    }

    /// Turns early retransmission on or off for one peer. On (the default, see
    /// [`HostConfig::early_retransmit`]), a reliable message presumed lost because
    /// something sent after it was acknowledged goes out again before its retransmission
    /// timeout; off, retransmissions wait for their timeout as in the C library. The wire
    /// format is the same either way. [`Error::PeerInactive`] for a stale or unknown id.
    pub fn set_early_retransmit(&mut self, peer: PeerId, enabled: bool) -> Result<()> {
        self.host
            .set_early_retransmit(peer, enabled)
            .map_err(peer_error)
    }

    /// Whether early retransmission is on for `peer`; [`Error::PeerInactive`] for a stale or
    /// unknown id.
    pub fn early_retransmit(&self, peer: PeerId) -> Result<bool> {
        self.host.early_retransmit(peer).map_err(peer_error)
    }

    /// Configures the peer's packet throttle here and on the remote (THROTTLE_CONFIGURE):
    /// the measuring `interval`, and the `acceleration` and `deceleration` steps (out of
    /// 32). An `interval` above `u32::MAX` ms gives [`Invalid::Duration`].
    pub fn throttle_configure(
        &mut self,
        peer: PeerId,
        interval: Duration,
        acceleration: u32,
        deceleration: u32,
    ) -> Result<()> {
        let interval = millis("throttle interval", interval)?;
        self.host
            .throttle_configure(peer, interval, acceleration, deceleration)
            .map_err(peer_error)
    }

    /// Hands `datagram` to the engine as if it had been read from the socket from `from`:
    /// a **test seam** for sources the OS cannot produce on loopback (port 0, spoofed
    /// addresses). The engine treats it as any received datagram (a hostile one is dropped
    /// and counted); replies go out on the next flush.
    ///
    /// On a DTLS host it is refused (`Error::Dtls(DtlsError::PlaintextOnDtlsHost)`):
    /// plaintext must not bypass DTLS.
    #[doc(hidden)]
    pub fn inject_datagram(&mut self, from: SocketAddr, datagram: &[u8]) -> Result<()> {
        #[cfg(feature = "dtls")]
        if self.dtls.is_some() {
            return Err(crate::dtls::DtlsError::PlaintextOnDtlsHost.into());
        }
        self.host
            .handle_datagram(Instant::now(), super::normalize_addr(from), datagram);
        Ok(())
    }
}
