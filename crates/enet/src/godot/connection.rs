//! [`EnetConnection`]: Godot's `ENetConnection`, an ENet host on a UDP socket, created
//! inactive and made a host by `create_host*`. It owns the host's lifetime, connecting,
//! servicing (native events translated into Godot's), host-wide settings and statistics;
//! per-peer calls go through [`EnetConnection::peer`] ([`EnetPacketPeer`]). The fields are
//! `pub(crate)` so that other parts of the crate can add `impl EnetConnection` blocks.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use enet_proto::sim::{LinkConfig, LinkStats};
use enet_proto::{HostConfig, Packet};

use super::events::{HostStatistic, PeerHandle, ServiceEvent};
use super::packet_peer::EnetPacketPeer;
use super::state::{rand_seed, Active, Slot};
use super::{flags_to_packet, FLAG_ALLOWED};
use crate::address::{self, BindAddress};
use crate::compress::CompressionMode;
use crate::error::{CantConnect, Error, Invalid, Result};
use crate::udp::UdpHost;

#[cfg(doc)]
use super::{FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT, FLAG_UNSEQUENCED};

/// Godot's `ENetConnection`: an ENet host on a UDP socket.
#[derive(Default)]
pub struct EnetConnection {
    pub(crate) active: Option<Active>,
    /// Deactivations of hosts destroyed earlier (see [`Self::deactivation_count`]).
    pub(crate) retired_deactivations: u64,
    /// The highest handle generation of hosts destroyed earlier: a new host's slots start
    /// above it, so a handle of an earlier host never names a peer of a later one.
    pub(crate) generation_base: u32,
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
        return Err(Error::out_of_range("max_peers", max_peers as i64, 1, 4095));
    }
    if max_channels > 255 {
        return Err(Error::out_of_range(
            "max_channels",
            max_channels as i64,
            0,
            255,
        ));
    }
    Ok(())
}

impl EnetConnection {
    /// An inactive connection; create a host with [`Self::create_host_bound`] or
    /// [`Self::create_host`].
    pub fn new() -> EnetConnection {
        EnetConnection {
            active: None,
            retired_deactivations: 0,
            generation_base: 0,
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
        let config = HostConfig::default()
            .with_peer_count(max_peers)
            .with_channel_limit(channel_limit)
            .with_incoming_bandwidth(in_bandwidth)
            .with_outgoing_bandwidth(out_bandwidth)
            .with_seed(rand_seed());
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
                return Err(last_err
                    .unwrap_or_else(|| Error::CantCreate(std::io::Error::other("bind failed"))))
            }
        };
        let base = self.generation_base;
        let slots = (0..max_peers)
            .map(|_| Slot {
                generation: base,
                ..Slot::default()
            })
            .collect();
        self.active = Some(Active {
            stat_base: udp.totals(),
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
        self.generation_base = a
            .slots
            .iter()
            .map(|s| s.generation)
            .fold(self.generation_base, u32::max);
        Ok(())
    }

    pub(crate) fn active(&mut self) -> Result<&mut Active> {
        self.active.as_mut().ok_or(Error::Unconfigured)
    }

    pub(crate) fn active_ref(&self) -> Result<&Active> {
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
            return Err(Error::CantConnect(CantConnect::AlreadyHasPeer));
        }
        if port == 0 {
            return Err(Error::InvalidParameter(Invalid::PortZero));
        }
        let prefer_v4 = a.udp.local_addr().is_ipv4();
        let target = address::resolve(address, port, prefer_v4)?;
        if a.udp.local_addr().is_ipv4() && target.is_ipv6() {
            return Err(Error::CantConnect(CantConnect::Ipv6OnIpv4Socket));
        }
        // Godot passes 0 as 255 and ENet clamps the count to 1..=255.
        let channels = if channels == 0 {
            255
        } else {
            channels.min(255)
        };
        let id = a.udp.connect(target, channels, data).map_err(|e| match e {
            // No free slot, or an address that cannot be connected to.
            Error::CantConnect(why) => Error::CantConnect(why),
            _ => Error::CantConnect(CantConnect::NoFreeSlot),
        })?;
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
            .set_bandwidth_limit(in_bandwidth, out_bandwidth);
        Ok(())
    }

    /// Limits the channels of future incoming connections (0 or above 255 means 255).
    pub fn channel_limit(&mut self, limit: usize) -> Result<()> {
        let a = self.active()?;
        a.udp.set_channel_limit(limit);
        a.max_channels = a.udp.config().channel_limit;
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
            return Err(Error::InvalidParameter(Invalid::Flags(
                flags & !FLAG_ALLOWED,
            )));
        }
        a.udp.broadcast(
            channel,
            Packet::new(Bytes::copy_from_slice(packet), flags_to_packet(flags)),
        )
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
        self.active()?.udp.set_checksum(enabled)
    }

    /// Refuses (or accepts again) new incoming connections; established peers are not
    /// affected. (Godot only honours this for DTLS servers; here it works for plain UDP.)
    pub fn refuse_new_connections(&mut self, refuse: bool) -> Result<()> {
        self.active()?.udp.set_refuse_new_connections(refuse);
        Ok(())
    }

    /// Returns a host statistic and resets it to zero.
    pub fn pop_statistic(&mut self, stat: HostStatistic) -> Result<f64> {
        let a = self.active()?;
        let now = a.udp.totals();
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
            return Err(Error::InvalidParameter(Invalid::PortZero));
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

    /// The native host underneath, read-only (`None` when inactive): for statistics and
    /// diagnostics such as [`UdpHost::drop_stats`], [`UdpHost::config`] or
    /// [`UdpHost::peer_info`] (see [`EnetPacketPeer::peer_id`] for a peer's native id).
    pub fn udp_host(&self) -> Option<&UdpHost> {
        self.active.as_ref().map(|a| &a.udp)
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

    /// The native [`PeerId`](crate::PeerId) behind a Godot handle, while the peer is active
    /// (for queries on [`EnetConnection::udp_host`]).
    pub fn native_peer_id(&self, handle: PeerHandle) -> Option<crate::PeerId> {
        let slot = self.active.as_ref()?.slots.get(handle.index as usize)?;
        if slot.active && slot.generation == handle.generation {
            slot.id
        } else {
            None
        }
    }

    /// A view of one peer with Godot's `ENetPacketPeer` methods.
    pub fn peer(&mut self, handle: PeerHandle) -> EnetPacketPeer<'_> {
        EnetPacketPeer { conn: self, handle }
    }
}
