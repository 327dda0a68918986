//! [`EnetConnection`] and [`EnetPacketPeer`]: Godot 4.3's `ENetConnection` and
//! `ENetPacketPeer`, with Godot's semantics, in Rust naming.
//!
//! A connection is created inactive and becomes a host with
//! [`EnetConnection::create_host_bound`] or [`EnetConnection::create_host`]. Remote peers are
//! addressed by [`PeerHandle`]s, plain ids that stay valid (but inactive) after the peer is
//! gone; [`EnetConnection::peer`] gives a view with Godot's `ENetPacketPeer` methods.
//!
//! ```no_run
//! use std::time::Duration;
//! use enet::{EnetConnection, EventType, FLAG_RELIABLE};
//!
//! let mut server = EnetConnection::new();
//! server.create_host_bound("*", 7777, 32, 0, 0, 0)?;
//! loop {
//!     let ev = server.service(Duration::from_millis(100))?;
//!     if ev.kind == EventType::Receive {
//!         let peer = ev.peer.unwrap();
//!         let mut p = server.peer(peer);
//!         while let Ok(packet) = p.get_packet() {
//!             p.send(ev.channel, &packet, FLAG_RELIABLE)?; // echo
//!         }
//!     }
//! }
//! # Ok::<(), enet::Error>(())
//! ```

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use enet_proto::sim::{LinkConfig, LinkStats};
use enet_proto::{
    DisconnectReason, Event, HostConfig, HostTotals, Packet, PacketFlags, PeerId, PeerState,
};

use crate::address::{self, BindAddress};
use crate::compress::CompressionMode;
use crate::error::{Error, Result};
use crate::udp::UdpHost;

/// `ENetPacketPeer.FLAG_RELIABLE`.
pub const FLAG_RELIABLE: u32 = 1;
/// `ENetPacketPeer.FLAG_UNSEQUENCED`.
pub const FLAG_UNSEQUENCED: u32 = 2;
/// `ENetPacketPeer.FLAG_UNRELIABLE_FRAGMENT`.
pub const FLAG_UNRELIABLE_FRAGMENT: u32 = 8;
const FLAG_ALLOWED: u32 = FLAG_RELIABLE | FLAG_UNSEQUENCED | FLAG_UNRELIABLE_FRAGMENT;
/// `ENetPacketPeer.PACKET_THROTTLE_SCALE`.
pub const PACKET_THROTTLE_SCALE: u32 = 32;
/// `ENetPacketPeer.PACKET_LOSS_SCALE`.
pub const PACKET_LOSS_SCALE: u32 = 65536;
/// What `get_max_packet_size` reports (Godot's constant).
pub const MAX_PACKET_SIZE: usize = 1 << 24;

/// `ENetConnection.EventType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum EventType {
    /// `EVENT_ERROR`.
    Error = -1,
    /// `EVENT_NONE`.
    None = 0,
    /// `EVENT_CONNECT`.
    Connect = 1,
    /// `EVENT_DISCONNECT`.
    Disconnect = 2,
    /// `EVENT_RECEIVE`.
    Receive = 3,
}

/// What [`EnetConnection::service`] returns: Godot's `[type, peer, data, channel]`.
///
/// On [`EventType::Receive`] the packet is queued on the peer: read it with
/// [`EnetPacketPeer::get_packet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceEvent {
    /// The event type.
    pub kind: EventType,
    /// The peer concerned, if any.
    pub peer: Option<PeerHandle>,
    /// Connect data (server side), disconnect data, or 0.
    pub data: u32,
    /// The channel of a received packet.
    pub channel: u8,
    /// Why a connection ended (on [`EventType::Disconnect`]).
    pub reason: Option<DisconnectReason>,
}

impl ServiceEvent {
    fn none() -> ServiceEvent {
        ServiceEvent {
            kind: EventType::None,
            peer: None,
            data: 0,
            channel: 0,
            reason: None,
        }
    }
}

/// `ENetConnection.HostStatistic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum HostStatistic {
    /// Bytes sent, ENet headers included.
    TotalSentData = 0,
    /// UDP datagrams sent.
    TotalSentPackets = 1,
    /// Bytes received.
    TotalReceivedData = 2,
    /// UDP datagrams received.
    TotalReceivedPackets = 3,
}

/// `ENetPacketPeer.PeerStatistic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum PeerStatistic {
    /// Mean packet loss of reliable packets, scaled by [`PACKET_LOSS_SCALE`].
    PacketLoss = 0,
    /// Packet loss variance.
    PacketLossVariance = 1,
    /// Start of the current packet-loss epoch (ms).
    PacketLossEpoch = 2,
    /// Mean round-trip time (ms).
    RoundTripTime = 3,
    /// Round-trip time variance.
    RoundTripTimeVariance = 4,
    /// Lowest RTT of the previous throttle epoch.
    LastRoundTripTime = 5,
    /// Highest RTT variance of the previous throttle epoch.
    LastRoundTripTimeVariance = 6,
    /// Current packet throttle (0..=32).
    PacketThrottle = 7,
    /// Packet throttle limit.
    PacketThrottleLimit = 8,
    /// Packet throttle counter.
    PacketThrottleCounter = 9,
    /// Start of the current throttle epoch (ms).
    PacketThrottleEpoch = 10,
    /// Throttle acceleration.
    PacketThrottleAcceleration = 11,
    /// Throttle deceleration.
    PacketThrottleDeceleration = 12,
    /// Throttle interval (ms).
    PacketThrottleInterval = 13,
}

/// Identifies a remote peer of an [`EnetConnection`]: a slot index plus a generation, so a
/// handle of a finished connection never reaches the slot's next occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerHandle {
    index: u16,
    generation: u32,
}

impl PeerHandle {
    /// The ENet peer slot index.
    pub fn index(&self) -> u16 {
        self.index
    }
}

/// Per-slot wrapper state (Godot's ENetPacketPeer object).
#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    active: bool,
    packets: VecDeque<(Packet, u8)>,
    last_flags: u32,
    /// PacketPeer state (encode_buffer_max_size, last get_packet error).
    var: crate::packet_peer::PacketPeerState,
}

struct Active {
    udp: UdpHost,
    slots: Vec<Slot>,
    /// Handles in Godot's `peers` list order.
    peers: Vec<PeerHandle>,
    stat_base: HostTotals,
    max_channels: usize,
    bound: bool,
    /// How many times a peer became inactive (lets `prune` and callers skip rescans).
    deactivations: u64,
    /// A peer became inactive since the last `prune`.
    prune_needed: bool,
}

/// Godot's `ENetConnection`: an ENet host on a UDP socket.
#[derive(Default)]
pub struct EnetConnection {
    active: Option<Active>,
    /// Deactivations of hosts destroyed earlier (see [`Self::deactivation_count`]).
    retired_deactivations: u64,
}

impl std::fmt::Debug for EnetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnetConnection")
            .field("active", &self.active.is_some())
            .finish()
    }
}

fn validate_create(max_peers: usize, max_channels: usize) -> Result<()> {
    if !(1..=4095).contains(&max_peers) {
        return Err(Error::InvalidParameter("max_peers must be 1..=4095"));
    }
    if max_channels > 255 {
        return Err(Error::InvalidParameter(
            "max_channels must be 0..=255 (0 means 255)",
        ));
    }
    Ok(())
}

fn flags_to_packet(flags: u32) -> PacketFlags {
    PacketFlags(flags & FLAG_ALLOWED)
}

impl EnetConnection {
    /// An inactive connection; create a host with [`Self::create_host_bound`] or
    /// [`Self::create_host`].
    pub fn new() -> EnetConnection {
        EnetConnection {
            active: None,
            retired_deactivations: 0,
        }
    }

    /// Whether a host exists (created and not destroyed).
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Creates a host bound to `bind_address` (`"*"` for every IPv4 and IPv6 interface, or
    /// an IP literal) and `bind_port` (0 = ephemeral).
    ///
    /// `max_peers` is 1..=4095; `max_channels` 0..=255 (0 means 255); bandwidths in
    /// bytes/s, 0 = unlimited. Errors as Godot: [`Error::InvalidParameter`] for a bad
    /// address or range, [`Error::AlreadyInUse`] if already created, [`Error::CantCreate`]
    /// if the socket cannot be bound (e.g. the port is in use).
    pub fn create_host_bound(
        &mut self,
        bind_address: &str,
        bind_port: u16,
        max_peers: usize,
        max_channels: usize,
        in_bandwidth: u32,
        out_bandwidth: u32,
    ) -> Result<()> {
        let bind = BindAddress::parse(bind_address)?;
        self.create(
            Some((bind, bind_port)),
            max_peers,
            max_channels,
            in_bandwidth,
            out_bandwidth,
        )
    }

    /// Creates a host on an ephemeral port of every interface (for clients).
    pub fn create_host(
        &mut self,
        max_peers: usize,
        max_channels: usize,
        in_bandwidth: u32,
        out_bandwidth: u32,
    ) -> Result<()> {
        self.create(None, max_peers, max_channels, in_bandwidth, out_bandwidth)
    }

    fn create(
        &mut self,
        bind: Option<(BindAddress, u16)>,
        max_peers: usize,
        max_channels: usize,
        in_bandwidth: u32,
        out_bandwidth: u32,
    ) -> Result<()> {
        if self.active.is_some() {
            return Err(Error::AlreadyInUse);
        }
        validate_create(max_peers, max_channels)?;
        let channel_limit = if max_channels == 0 { 255 } else { max_channels };
        let config = HostConfig {
            peer_count: max_peers,
            channel_limit,
            incoming_bandwidth: in_bandwidth,
            outgoing_bandwidth: out_bandwidth,
            seed: rand_seed(),
            ..HostConfig::default()
        };
        let (bound, addrs): (bool, Vec<SocketAddr>) = match bind {
            None => (
                false,
                vec![
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
                    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
                ],
            ),
            Some((BindAddress::Any, port)) => (
                true,
                vec![
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
                    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port),
                ],
            ),
            Some((BindAddress::Ip(ip), port)) => (true, vec![SocketAddr::new(ip, port)]),
        };
        // Dual-stack "::" first; fall back to IPv4 where IPv6 is unavailable.
        let mut last_err = None;
        let mut udp = None;
        for a in addrs {
            match UdpHost::bind(a, config.clone()) {
                Ok(u) => {
                    udp = Some(u);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let udp = match udp {
            Some(u) => u,
            None => {
                return Err(Error::CantCreate(
                    last_err.unwrap_or_else(|| std::io::Error::other("bind failed")),
                ))
            }
        };
        let slots = (0..max_peers).map(|_| Slot::default()).collect();
        self.active = Some(Active {
            stat_base: udp.host().totals(),
            udp,
            slots,
            peers: Vec::new(),
            max_channels: channel_limit,
            bound,
            deactivations: 0,
            prune_needed: false,
        });
        Ok(())
    }

    /// Destroys the host: every peer becomes inactive and the socket is closed. No
    /// disconnect is sent (remotes time out), as in Godot.
    pub fn destroy(&mut self) -> Result<()> {
        let a = self.active.take().ok_or(Error::Unconfigured)?;
        // Every peer of the host became inactive at once.
        self.retired_deactivations += a.deactivations + 1;
        Ok(())
    }

    fn active(&mut self) -> Result<&mut Active> {
        self.active.as_mut().ok_or(Error::Unconfigured)
    }

    fn active_ref(&self) -> Result<&Active> {
        self.active.as_ref().ok_or(Error::Unconfigured)
    }

    /// Starts a connection to `address` (IP literal or host name) and `port` (1..=65535)
    /// with `channels` channels (0, or more than 255, means 255) and 32-bit connect `data`.
    ///
    /// As in Godot, a connection that already has peers cannot initiate another one
    /// ([`Error::CantConnect`]).
    pub fn connect_to_host(
        &mut self,
        address: &str,
        port: u16,
        channels: usize,
        data: u32,
    ) -> Result<PeerHandle> {
        let a = self.active()?;
        if !a.peers.is_empty() {
            return Err(Error::CantConnect("this connection already has a peer"));
        }
        if port == 0 {
            return Err(Error::InvalidParameter("port must be 1..=65535"));
        }
        let prefer_v4 = a.udp.local_addr().is_ipv4();
        let target = address::resolve(address, port, prefer_v4)?;
        if a.udp.local_addr().is_ipv4() && target.is_ipv6() {
            return Err(Error::CantConnect("IPv6 target on an IPv4-only socket"));
        }
        // Godot passes 0 as 255 and ENet clamps the count to 1..=255.
        let channels = if channels == 0 {
            255
        } else {
            channels.min(255)
        };
        let id = a
            .udp
            .connect(target, channels, data)
            .map_err(|_| Error::CantConnect("no free peer slot"))?;
        let h = a.activate(id);
        Ok(h)
    }

    /// Services the host: waits up to `timeout` for an event, moving datagrams and running
    /// timers meanwhile (it sleeps on the socket, it does not spin).
    ///
    /// Unlike Godot 4.3, whose socket layer busy-waits and only reads the socket once per
    /// call, this returns as soon as an event arrives.
    pub fn service(&mut self, timeout: Duration) -> Result<ServiceEvent> {
        let a = self.active()?;
        a.prune();
        let ev = a.udp.service(timeout).map_err(Error::Io)?;
        Ok(a.translate(ev))
    }

    /// Returns an already-queued event without any network I/O.
    pub fn check_events(&mut self) -> Result<ServiceEvent> {
        let a = self.active()?;
        let ev = a.udp.check_events();
        Ok(a.translate(ev))
    }

    /// Sends every queued datagram now.
    pub fn flush(&mut self) -> Result<()> {
        self.active()?.udp.flush().map_err(Error::Io)
    }

    /// Sets the host's bandwidth limits (bytes/s, 0 = unlimited); peers are told within a
    /// second.
    pub fn bandwidth_limit(&mut self, in_bandwidth: u32, out_bandwidth: u32) -> Result<()> {
        self.active()?
            .udp
            .host_mut()
            .bandwidth_limit(in_bandwidth, out_bandwidth);
        Ok(())
    }

    /// Limits the channels of future incoming connections (0 or above 255 means 255).
    pub fn channel_limit(&mut self, limit: usize) -> Result<()> {
        let a = self.active()?;
        a.udp.host_mut().channel_limit(limit);
        a.max_channels = a.udp.host().config().channel_limit;
        Ok(())
    }

    /// Queues a packet to every connected peer on `channel` with Godot `flags`
    /// ([`FLAG_RELIABLE`], [`FLAG_UNSEQUENCED`], [`FLAG_UNRELIABLE_FRAGMENT`]).
    ///
    /// Godot lets `channel == channel_limit` pass its first check and then drops the
    /// packet; here every channel at or above the limit is rejected.
    pub fn broadcast(&mut self, channel: u8, packet: &[u8], flags: u32) -> Result<()> {
        let a = self.active()?;
        if channel as usize >= a.max_channels {
            return Err(Error::InvalidChannel {
                channel,
                limit: a.max_channels,
            });
        }
        if flags & !FLAG_ALLOWED != 0 {
            return Err(Error::InvalidParameter("invalid flags"));
        }
        a.udp.broadcast(
            channel,
            Packet::new(Bytes::copy_from_slice(packet), flags_to_packet(flags)),
        );
        Ok(())
    }

    /// Chooses the datagram compression (both ends must agree).
    pub fn compress(&mut self, mode: CompressionMode) -> Result<()> {
        self.active()?.udp.set_compressor(mode.compressor());
        Ok(())
    }

    /// Turns ENet's CRC-32 checksum on or off: every datagram then carries the CRC-32 that
    /// C ENet computes with `host->checksum = enet_crc32`, and datagrams whose checksum does
    /// not match are dropped. Both ends must agree.
    ///
    /// An extension: Godot's `ENetConnection` has no checksum option (a Godot peer never
    /// checksums), but C ENet peers that enable `enet_crc32` need it.
    pub fn set_checksum(&mut self, enabled: bool) -> Result<()> {
        self.active()?
            .udp
            .set_checksum(enabled)
            .map_err(Error::Failed)
    }

    /// Refuses (or accepts again) new incoming connections; established peers are not
    /// affected. (Godot only honours this for DTLS servers; here it works for plain UDP.)
    pub fn refuse_new_connections(&mut self, refuse: bool) -> Result<()> {
        self.active()?.udp.host_mut().refuse_new_connections(refuse);
        Ok(())
    }

    /// Returns a host statistic and resets it to zero.
    pub fn pop_statistic(&mut self, stat: HostStatistic) -> Result<f64> {
        let a = self.active()?;
        let now = a.udp.host().totals();
        let base = &mut a.stat_base;
        let v = match stat {
            HostStatistic::TotalSentData => {
                let v = now.sent_data - base.sent_data;
                base.sent_data = now.sent_data;
                v
            }
            HostStatistic::TotalSentPackets => {
                let v = now.sent_packets - base.sent_packets;
                base.sent_packets = now.sent_packets;
                v
            }
            HostStatistic::TotalReceivedData => {
                let v = now.received_data - base.received_data;
                base.received_data = now.received_data;
                v
            }
            HostStatistic::TotalReceivedPackets => {
                let v = now.received_packets - base.received_packets;
                base.received_packets = now.received_packets;
                v
            }
        };
        Ok(v as f64)
    }

    /// The host's channel limit (255 when created with 0).
    pub fn get_max_channels(&self) -> Result<usize> {
        Ok(self
            .active
            .as_ref()
            .ok_or(Error::Unconfigured)?
            .max_channels)
    }

    /// The local UDP port.
    pub fn get_local_port(&self) -> Result<u16> {
        let a = self.active.as_ref().ok_or(Error::Unconfigured)?;
        let _ = a.bound;
        Ok(a.udp.local_addr().port())
    }

    /// The local socket address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self
            .active
            .as_ref()
            .ok_or(Error::Unconfigured)?
            .udp
            .local_addr())
    }

    /// The peers of this host, including ones still connecting or disconnecting.
    pub fn get_peers(&self) -> Vec<PeerHandle> {
        self.active
            .as_ref()
            .map(|a| a.peers.clone())
            .unwrap_or_default()
    }

    /// Sends raw bytes as one UDP datagram from the host's socket (NAT hole punching).
    pub fn socket_send(&mut self, address: &str, port: u16, packet: &[u8]) -> Result<()> {
        let a = self.active()?;
        if port == 0 {
            return Err(Error::InvalidParameter("port must be 1..=65535"));
        }
        let to = address::resolve(address, port, a.udp.local_addr().is_ipv4())?;
        a.udp.socket_send(to, packet).map_err(Error::Io)
    }

    /// Sets (or clears) a link conditioner on this host's traffic: simulated loss, latency,
    /// jitter, duplication and reordering, separately for datagrams sent and received.
    pub fn set_link_conditioner(
        &mut self,
        outgoing: Option<LinkConfig>,
        incoming: Option<LinkConfig>,
    ) -> Result<()> {
        self.active()?.udp.set_link_conditioner(outgoing, incoming);
        Ok(())
    }

    /// Sets the longest time [`EnetConnection::service`] may poll the socket without
    /// sleeping before it sleeps on it (a Rust extension; 50 µs by default, `Duration::ZERO`
    /// turns it off). The spin is adaptive: it goes on while most spins find a datagram
    /// (dense traffic) and otherwise costs at most one probe spin per 256 sleeps; see
    /// [`UdpHost::set_busy_poll_limit`]. Re-creating the host restores the default.
    pub fn set_busy_poll_limit(&mut self, limit: Duration) -> Result<()> {
        self.active()?.udp.set_busy_poll_limit(limit);
        Ok(())
    }

    /// What the link conditioner did so far: `(outgoing, incoming)` totals (datagrams sent
    /// into it, delivered, dropped, duplicated, reordered), or `None` when no conditioner is
    /// set. Fails with [`Error::Unconfigured`] on an inactive connection.
    pub fn link_conditioner_stats(&self) -> Result<Option<(LinkStats, LinkStats)>> {
        Ok(self.active_ref()?.udp.link_conditioner_stats())
    }

    /// How many times a peer of this connection has become inactive so far (disconnect
    /// event, `peer_disconnect_now`, `reset`, `destroy`); it never decreases. Callers that track peers can skip rescanning them
    /// while this number is unchanged.
    pub fn deactivation_count(&self) -> u64 {
        self.retired_deactivations + self.active.as_ref().map_or(0, |a| a.deactivations)
    }

    /// The sans-IO engine underneath (read-only), for statistics such as drop counters.
    pub fn engine(&self) -> Option<&enet_proto::Host> {
        self.active.as_ref().map(|a| a.udp.host())
    }

    /// The UDP driver's I/O counters (datagrams, send errors, oversized drops), or `None`
    /// when inactive.
    pub fn io_stats(&self) -> Option<crate::udp::IoStats> {
        self.active.as_ref().map(|a| a.udp.io_stats())
    }

    /// Installs or removes a send-error hook on the host's driver: a **test seam**, see
    /// [`UdpHost::set_send_error_hook`]. Fails with [`Error::Unconfigured`] when inactive.
    pub fn set_send_error_hook(&mut self, hook: Option<crate::udp::SendErrorHook>) -> Result<()> {
        self.active()?.udp.set_send_error_hook(hook);
        Ok(())
    }

    /// A view of one peer with Godot's `ENetPacketPeer` methods.
    pub fn peer(&mut self, handle: PeerHandle) -> EnetPacketPeer<'_> {
        EnetPacketPeer { conn: self, handle }
    }
}

impl Active {
    fn activate(&mut self, id: PeerId) -> PeerHandle {
        let slot = &mut self.slots[id.index()];
        slot.generation = slot.generation.wrapping_add(1);
        slot.active = true;
        slot.packets.clear();
        slot.var = Default::default();
        let h = PeerHandle {
            index: id.0,
            generation: slot.generation,
        };
        self.peers.push(h);
        h
    }

    fn handle_of(&self, id: PeerId) -> Option<PeerHandle> {
        let slot = self.slots.get(id.index())?;
        slot.active.then_some(PeerHandle {
            index: id.0,
            generation: slot.generation,
        })
    }

    fn deactivate(&mut self, h: PeerHandle) {
        if let Some(slot) = self.slots.get_mut(h.index as usize) {
            if slot.generation == h.generation && slot.active {
                slot.active = false;
                self.deactivations += 1;
                self.prune_needed = true;
            }
        }
    }

    /// Godot removes inactive wrappers from the list at the start of `service`.
    fn prune(&mut self) {
        if !std::mem::take(&mut self.prune_needed) {
            return;
        }
        let slots = &self.slots;
        self.peers.retain(|h| {
            let s = &slots[h.index as usize];
            s.active && s.generation == h.generation
        });
    }

    fn translate(&mut self, ev: Option<Event>) -> ServiceEvent {
        let Some(ev) = ev else {
            return ServiceEvent::none();
        };
        match ev {
            Event::Connect { peer, data } => {
                let h = match self.handle_of(peer) {
                    Some(h) => h,
                    None => self.activate(peer),
                };
                ServiceEvent {
                    kind: EventType::Connect,
                    peer: Some(h),
                    data,
                    channel: 0,
                    reason: None,
                }
            }
            Event::Disconnect { peer, data, reason } => match self.handle_of(peer) {
                Some(h) => {
                    self.deactivate(h);
                    self.peers.retain(|p| *p != h);
                    ServiceEvent {
                        kind: EventType::Disconnect,
                        peer: Some(h),
                        data,
                        channel: 0,
                        reason: Some(reason),
                    }
                }
                None => ServiceEvent {
                    kind: EventType::Error,
                    ..ServiceEvent::none()
                },
            },
            Event::Receive {
                peer,
                channel_id,
                packet,
            } => match self.handle_of(peer) {
                Some(h) => {
                    self.slots[peer.index()]
                        .packets
                        .push_back((packet, channel_id));
                    ServiceEvent {
                        kind: EventType::Receive,
                        peer: Some(h),
                        data: 0,
                        channel: channel_id,
                        reason: None,
                    }
                }
                None => ServiceEvent {
                    kind: EventType::Error,
                    ..ServiceEvent::none()
                },
            },
        }
    }
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A view of one remote peer: Godot's `ENetPacketPeer` methods.
///
/// Methods on an inactive peer (disconnected, reset, or its host destroyed) return
/// [`Error::PeerInactive`] (Godot's `ERR_UNCONFIGURED`), except the ones Godot lets through.
pub struct EnetPacketPeer<'a> {
    conn: &'a mut EnetConnection,
    handle: PeerHandle,
}

impl EnetPacketPeer<'_> {
    fn parts(&mut self) -> Result<(&mut Active, PeerId)> {
        let h = self.handle;
        let a = self.conn.active.as_mut().ok_or(Error::PeerInactive)?;
        let slot = a.slots.get(h.index as usize).ok_or(Error::PeerInactive)?;
        if !slot.active || slot.generation != h.generation {
            return Err(Error::PeerInactive);
        }
        Ok((a, PeerId(h.index)))
    }

    /// The host, if this handle still names an active peer of it.
    fn active_host(&self) -> Result<&Active> {
        let h = self.handle;
        let a = self.conn.active.as_ref().ok_or(Error::PeerInactive)?;
        let slot = a.slots.get(h.index as usize).ok_or(Error::PeerInactive)?;
        if !slot.active || slot.generation != h.generation {
            return Err(Error::PeerInactive);
        }
        Ok(a)
    }

    /// A snapshot of the engine's view of this peer (state, address, MTU, window size,
    /// channel count, round-trip time, counters); [`Error::PeerInactive`] when the handle no
    /// longer names an active peer (checked by generation, like every call here).
    pub fn peer_info(&self) -> Result<enet_proto::PeerInfo> {
        self.info()
    }

    fn info(&self) -> Result<enet_proto::PeerInfo> {
        self.active_host()?
            .udp
            .host()
            .peer_info(PeerId(self.handle.index))
            .ok_or(Error::PeerInactive)
    }

    /// Checks a send's channel and flags against the peer (cheap: no statistics snapshot).
    fn check_send(&self, channel: u8, flags: u32) -> Result<()> {
        let channels = self
            .active_host()?
            .udp
            .host()
            .peer_channel_count(PeerId(self.handle.index))
            .ok_or(Error::PeerInactive)?;
        if channel as usize >= channels {
            return Err(Error::InvalidChannel {
                channel,
                limit: channels,
            });
        }
        if flags & !FLAG_ALLOWED != 0 {
            return Err(Error::InvalidParameter("invalid flags"));
        }
        Ok(())
    }

    /// The handle of this peer.
    pub fn handle(&self) -> PeerHandle {
        self.handle
    }

    /// Whether the peer is active (connecting, connected or disconnecting).
    pub fn is_active(&self) -> bool {
        self.active_host().is_ok()
    }

    /// Queues a packet on `channel` with Godot `flags`.
    ///
    /// Errors: inactive peer → [`Error::PeerInactive`] (`ERR_UNCONFIGURED`); channel not
    /// below the peer's channel count or unknown flags → [`Error::InvalidParameter`]
    /// (Godot lets `channel == count` through and then fails; we reject it up front);
    /// the engine refusing (not yet connected, too large) → [`Error::Failed`] (`FAILED`).
    pub fn send(&mut self, channel: u8, packet: &[u8], flags: u32) -> Result<()> {
        self.check_send(channel, flags)?;
        let (a, id) = self.parts()?;
        a.udp.send(
            id,
            channel,
            Packet::new(Bytes::copy_from_slice(packet), flags_to_packet(flags)),
        )?;
        Ok(())
    }

    /// Sends a shared payload without copying it (see [`Self::send`]).
    pub fn send_bytes(&mut self, channel: u8, packet: Bytes, flags: u32) -> Result<()> {
        self.check_send(channel, flags)?;
        let (a, id) = self.parts()?;
        a.udp
            .send(id, channel, Packet::new(packet, flags_to_packet(flags)))?;
        Ok(())
    }

    /// PacketPeer's `put_packet`: reliable on channel 0. An empty packet is accepted and
    /// not sent, as in Godot, where `PacketPeer` returns OK for it before asking the peer
    /// (so even an inactive peer accepts an empty packet).
    pub fn put_packet(&mut self, packet: &[u8]) -> Result<()> {
        if packet.is_empty() {
            return Ok(());
        }
        self.send(0, packet, FLAG_RELIABLE)
    }

    /// Pops the next received packet. Godot refuses this once the peer is inactive, even
    /// if packets are still queued ([`Error::PeerInactive`]); empty queue →
    /// [`Error::Unavailable`].
    pub fn get_packet(&mut self) -> Result<Bytes> {
        let (a, id) = self.parts()?;
        let slot = &mut a.slots[id.index()];
        let (p, _) = slot.packets.pop_front().ok_or(Error::Unavailable)?;
        slot.last_flags = p.flags.0;
        Ok(p.data)
    }

    /// Pops the next received packet with its channel and flags.
    pub fn get_packet_with_info(&mut self) -> Result<(Bytes, u8, u32)> {
        let (a, id) = self.parts()?;
        let slot = &mut a.slots[id.index()];
        let (p, ch) = slot.packets.pop_front().ok_or(Error::Unavailable)?;
        slot.last_flags = p.flags.0;
        Ok((p.data, ch, p.flags.0))
    }

    /// Number of received packets queued (works on inactive peers too).
    pub fn get_available_packet_count(&self) -> usize {
        let h = self.handle;
        self.conn
            .active
            .as_ref()
            .and_then(|a| a.slots.get(h.index as usize))
            .filter(|s| s.generation == h.generation)
            .map_or(0, |s| s.packets.len())
    }

    /// The ENet flags of the next queued packet ([`Error::Unavailable`] if none).
    pub fn get_packet_flags(&self) -> Result<u32> {
        let h = self.handle;
        self.conn
            .active
            .as_ref()
            .and_then(|a| a.slots.get(h.index as usize))
            .filter(|s| s.generation == h.generation)
            .and_then(|s| s.packets.front())
            .map(|(p, _)| p.flags.0)
            .ok_or(Error::Unavailable)
    }

    /// The PacketPeer state of this peer (the default once the slot is gone).
    pub(crate) fn var_state(&self) -> crate::packet_peer::PacketPeerState {
        let h = self.handle;
        self.conn
            .active
            .as_ref()
            .and_then(|a| a.slots.get(h.index as usize))
            .filter(|s| s.generation == h.generation)
            .map(|s| s.var)
            .unwrap_or_default()
    }

    /// Stores the PacketPeer state (ignored once the slot is gone).
    pub(crate) fn set_var_state(&mut self, state: crate::packet_peer::PacketPeerState) {
        let h = self.handle;
        if let Some(s) = self
            .conn
            .active
            .as_mut()
            .and_then(|a| a.slots.get_mut(h.index as usize))
            .filter(|s| s.generation == h.generation)
        {
            s.var = state;
        }
    }

    /// Godot's constant maximum packet size, 1 << 24.
    pub fn get_max_packet_size(&self) -> usize {
        MAX_PACKET_SIZE
    }

    /// Graceful disconnect with `data`; a disconnect event follows.
    pub fn peer_disconnect(&mut self, data: u32) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp.disconnect(id, data)?;
        Ok(())
    }

    /// Disconnect once everything queued has been delivered.
    pub fn peer_disconnect_later(&mut self, data: u32) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp.disconnect_later(id, data)?;
        Ok(())
    }

    /// Immediate disconnect: one unreliable DISCONNECT is sent, the peer becomes inactive
    /// at once and no disconnect event follows.
    pub fn peer_disconnect_now(&mut self, data: u32) -> Result<()> {
        let h = self.handle;
        let (a, id) = self.parts()?;
        a.udp.disconnect_now(id, data)?;
        a.deactivate(h);
        Ok(())
    }

    /// Resets the peer without telling the remote (which times out); inactive at once.
    pub fn reset(&mut self) -> Result<()> {
        let h = self.handle;
        let (a, id) = self.parts()?;
        a.udp.reset(id)?;
        a.deactivate(h);
        Ok(())
    }

    /// Queues a ping (only effective while connected).
    pub fn ping(&mut self) -> Result<()> {
        let (a, id) = self.parts()?;
        let _ = a.udp.host_mut().ping(id);
        Ok(())
    }

    /// Sets the ping interval in ms (0 = default 500).
    pub fn ping_interval(&mut self, ms: u32) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp.host_mut().set_ping_interval(id, ms)?;
        Ok(())
    }

    /// Sets the timeout limit, minimum and maximum (ms; 0 = default). As in Godot,
    /// `limit > min` or `min > max` is rejected and nothing changes.
    pub fn set_timeout(&mut self, limit: u32, min: u32, max: u32) -> Result<()> {
        if limit > min || min > max {
            return Err(Error::InvalidParameter(
                "timeout must be <= timeout_min <= timeout_max",
            ));
        }
        let (a, id) = self.parts()?;
        a.udp.host_mut().set_timeout(id, limit, min, max)?;
        Ok(())
    }

    /// Configures the packet throttle here and on the remote (THROTTLE_CONFIGURE).
    pub fn throttle_configure(
        &mut self,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    ) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp
            .host_mut()
            .throttle_configure(id, interval, acceleration, deceleration)?;
        Ok(())
    }

    /// The remote IP address in Godot's string form.
    pub fn get_remote_address(&self) -> Result<String> {
        Ok(address::godot_ip_string(self.info()?.address.ip()))
    }

    /// The remote socket address.
    pub fn remote_addr(&self) -> Result<SocketAddr> {
        Ok(self.info()?.address)
    }

    /// The remote port.
    pub fn get_remote_port(&self) -> Result<u16> {
        Ok(self.info()?.address.port())
    }

    /// One of Godot's peer statistics, in Godot's units.
    pub fn get_statistic(&self, stat: PeerStatistic) -> Result<f64> {
        let i = self.info()?;
        Ok(match stat {
            PeerStatistic::PacketLoss => i.loss.packet_loss,
            PeerStatistic::PacketLossVariance => i.loss.packet_loss_variance,
            PeerStatistic::PacketLossEpoch => i.loss.packet_loss_epoch,
            PeerStatistic::RoundTripTime => i.rtt.round_trip_time,
            PeerStatistic::RoundTripTimeVariance => i.rtt.round_trip_time_variance,
            PeerStatistic::LastRoundTripTime => i.rtt.last_round_trip_time,
            PeerStatistic::LastRoundTripTimeVariance => i.rtt.last_round_trip_time_variance,
            PeerStatistic::PacketThrottle => i.throttle.packet_throttle,
            PeerStatistic::PacketThrottleLimit => i.throttle.packet_throttle_limit,
            PeerStatistic::PacketThrottleCounter => i.throttle.packet_throttle_counter,
            PeerStatistic::PacketThrottleEpoch => i.throttle.packet_throttle_epoch,
            PeerStatistic::PacketThrottleAcceleration => i.throttle.packet_throttle_acceleration,
            PeerStatistic::PacketThrottleDeceleration => i.throttle.packet_throttle_deceleration,
            PeerStatistic::PacketThrottleInterval => i.throttle.packet_throttle_interval,
        } as f64)
    }

    /// Godot's peer state (DISCONNECTED for an inactive peer).
    pub fn get_state(&self) -> PeerState {
        self.info()
            .map(|i| i.state)
            .unwrap_or(PeerState::Disconnected)
    }

    /// The negotiated channel count.
    pub fn get_channels(&self) -> Result<usize> {
        Ok(self.info()?.channel_count)
    }

    /// The flags of the packet last returned by [`Self::get_packet`] (0 when the handle is
    /// stale: its slot was reused by another peer since).
    pub fn last_packet_flags(&self) -> u32 {
        let h = self.handle;
        self.conn
            .active
            .as_ref()
            .and_then(|a| a.slots.get(h.index as usize))
            .filter(|s| s.generation == h.generation)
            .map_or(0, |s| s.last_flags)
    }
}
