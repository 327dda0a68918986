//! The Godot enums and plain values of this layer: [`EventType`], [`ServiceEvent`] (what
//! [`EnetConnection::service`] returns), [`HostStatistic`], [`PeerStatistic`] and
//! [`PeerHandle`], the generation-checked name of a remote peer. [`EventType`],
//! [`HostStatistic`] and [`PeerStatistic`] mirror Godot 4.3's enums value for value, so they
//! stay exhaustive (a `match` on them needs no wildcard arm); [`ServiceEvent`] is
//! `#[non_exhaustive]`.

use enet_proto::DisconnectReason;

#[cfg(doc)]
use super::{EnetConnection, EnetPacketPeer, PACKET_LOSS_SCALE};

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
#[non_exhaustive]
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
    pub(crate) fn none() -> ServiceEvent {
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
    pub(crate) index: u16,
    pub(crate) generation: u32,
}

impl PeerHandle {
    /// The ENet peer slot index.
    pub fn index(&self) -> u16 {
        self.index
    }
}
