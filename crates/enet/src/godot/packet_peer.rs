//! [`EnetPacketPeer`]: Godot's `ENetPacketPeer`, a view of one remote peer of an
//! [`EnetConnection`] through its generation-checked [`PeerHandle`]: sending with Godot's
//! `u32` flags, the per-peer packet queue, disconnecting, per-peer settings (ping, timeouts,
//! throttle) and Godot's peer statistics.

use std::net::SocketAddr;

use bytes::Bytes;
use enet_proto::{Packet, PeerId, PeerState};

use super::connection::EnetConnection;
use super::events::{PeerHandle, PeerStatistic};
use super::state::{Active, Slot};
use super::{flags_to_packet, FLAG_ALLOWED, FLAG_RELIABLE, MAX_PACKET_SIZE};
use crate::address;
use crate::error::{Error, Invalid, Result};

/// A view of one remote peer: Godot's `ENetPacketPeer` methods.
///
/// Methods on an inactive peer (disconnected, reset, or its host destroyed) return
/// [`Error::PeerInactive`] (Godot's `ERR_UNCONFIGURED`), except the ones Godot lets through.
pub struct EnetPacketPeer<'a> {
    pub(crate) conn: &'a mut EnetConnection,
    pub(crate) handle: PeerHandle,
}

impl EnetPacketPeer<'_> {
    /// This handle's slot in `a`, if the slot was not reused by another peer since.
    fn slot_in(a: &Active, h: PeerHandle) -> Option<&Slot> {
        a.slots
            .get(h.index as usize)
            .filter(|s| s.generation == h.generation)
    }

    /// This handle's slot, if the host still exists and the slot was not reused since
    /// (the peer may be inactive).
    fn slot(&self) -> Option<&Slot> {
        Self::slot_in(self.conn.active.as_ref()?, self.handle)
    }

    /// The native id, if this handle still names an active peer of `a`.
    fn active_id(a: &Active, h: PeerHandle) -> Result<PeerId> {
        Self::slot_in(a, h)
            .filter(|s| s.active)
            .and_then(|s| s.id)
            .ok_or(Error::PeerInactive)
    }

    fn parts(&mut self) -> Result<(&mut Active, PeerId)> {
        let h = self.handle;
        let a = self.conn.active.as_mut().ok_or(Error::PeerInactive)?;
        let id = Self::active_id(a, h)?;
        Ok((a, id))
    }

    /// The host and the native id, if this handle still names an active peer of it.
    fn active_host(&self) -> Result<(&Active, PeerId)> {
        let a = self.conn.active.as_ref().ok_or(Error::PeerInactive)?;
        Ok((a, Self::active_id(a, self.handle)?))
    }

    /// The native [`PeerId`] of this peer's connection (for [`UdpHost`](crate::UdpHost)
    /// queries through [`EnetConnection::udp_host`]); [`Error::PeerInactive`] once inactive.
    pub fn peer_id(&self) -> Result<PeerId> {
        Ok(self.active_host()?.1)
    }

    /// A snapshot of the engine's view of this peer (state, address, MTU, window size,
    /// channel count, round-trip time, counters); [`Error::PeerInactive`] when the handle no
    /// longer names an active peer (checked by generation, like every call here).
    pub fn peer_info(&self) -> Result<enet_proto::PeerInfo> {
        self.info()
    }

    fn info(&self) -> Result<enet_proto::PeerInfo> {
        let (a, id) = self.active_host()?;
        a.udp.peer_info(id)
    }

    /// Checks a send's channel and flags against the peer (cheap: no statistics snapshot).
    fn check_send(&self, channel: u8, flags: u32) -> Result<()> {
        let (a, id) = self.active_host()?;
        let channels = a.udp.peer_channel_count(id)?;
        if channel as usize >= channels {
            return Err(Error::InvalidChannel {
                channel,
                limit: channels,
            });
        }
        if flags & !FLAG_ALLOWED != 0 {
            return Err(Error::InvalidParameter(Invalid::Flags(
                flags & !FLAG_ALLOWED,
            )));
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
        self.slot().map_or(0, |s| s.packets.len())
    }

    /// The ENet flags of the next queued packet ([`Error::Unavailable`] if none).
    pub fn get_packet_flags(&self) -> Result<u32> {
        self.slot()
            .and_then(|s| s.packets.front())
            .map(|(p, _)| p.flags.0)
            .ok_or(Error::Unavailable)
    }

    /// The PacketPeer state of this peer (the default once the slot is gone).
    pub(crate) fn var_state(&self) -> crate::packet_peer::PacketPeerState {
        self.slot().map(|s| s.var).unwrap_or_default()
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
        let _ = a.udp.ping(id);
        Ok(())
    }

    /// Sets the ping interval in ms (0 = default 500).
    pub fn ping_interval(&mut self, ms: u32) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp
            .set_ping_interval(id, std::time::Duration::from_millis(ms.into()))?;
        Ok(())
    }

    /// Sets the timeout limit, minimum and maximum (ms; 0 = default). As in Godot,
    /// `limit > min` or `min > max` is rejected and nothing changes.
    pub fn set_timeout(&mut self, limit: u32, min: u32, max: u32) -> Result<()> {
        if limit > min || min > max {
            return Err(Error::InvalidParameter(Invalid::TimeoutOrder {
                limit: limit.into(),
                minimum: min.into(),
                maximum: max.into(),
            }));
        }
        let (a, id) = self.parts()?;
        a.udp.set_timeout(
            id,
            limit,
            std::time::Duration::from_millis(min.into()),
            std::time::Duration::from_millis(max.into()),
        )?;
        Ok(())
    }

    /// Turns early retransmission on or off for this peer (an extension; on by default,
    /// see [`UdpHost::set_early_retransmit`](crate::UdpHost::set_early_retransmit)). Off,
    /// retransmissions wait for their timeout as in Godot's C ENet.
    pub fn set_early_retransmit(&mut self, enabled: bool) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp.set_early_retransmit(id, enabled)
    }

    /// Configures the packet throttle here and on the remote (THROTTLE_CONFIGURE).
    pub fn throttle_configure(
        &mut self,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    ) -> Result<()> {
        let (a, id) = self.parts()?;
        a.udp.throttle_configure(
            id,
            std::time::Duration::from_millis(interval.into()),
            acceleration,
            deceleration,
        )?;
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
        self.slot().map_or(0, |s| s.last_flags)
    }
}
