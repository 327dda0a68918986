//! ENet over UDP, with Godot 4.3's `ENetConnection` and `ENetPacketPeer` API.
//!
//! * [`EnetConnection`] / [`EnetPacketPeer`]: Godot's classes, with Godot's semantics and
//!   error codes ([`Error::godot_code`]).
//! * [`udp::UdpHost`]: the lower-level driver of the sans-IO engine ([`enet_proto`]) over a
//!   [`std::net::UdpSocket`], for programs that want ENet without Godot's conventions.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod compress;
pub mod connection;
#[cfg(feature = "dtls")]
pub mod dtls;
pub mod error;
mod io_policy;
pub mod packet_peer;
#[cfg(batched_io)]
#[allow(unsafe_code)]
mod sys;
pub mod udp;

pub use compress::CompressionMode;
pub use connection::{
    EnetConnection, EnetPacketPeer, EventType, HostStatistic, PeerHandle, PeerStatistic,
    ServiceEvent, FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT, FLAG_UNSEQUENCED, MAX_PACKET_SIZE,
    PACKET_LOSS_SCALE, PACKET_THROTTLE_SCALE,
};
pub use enet_proto::sim::LinkConfig;
pub use enet_proto::{
    Compressor, DisconnectReason, Error as ProtoError, Event, Host, HostConfig, Packet,
    PacketFlags, PeerId, PeerInfo, PeerState, RangeCoder,
};
pub use error::{Error, GodotError, Result};
pub use godot_variant;
pub use packet_peer::{PacketPeer, PacketPeerState, VarError, DEFAULT_ENCODE_BUFFER_MAX_SIZE};
pub use udp::{
    SendErrorHook, UdpHost, DEFAULT_BUSY_POLL_LIMIT, MAX_DATAGRAM_SIZE, SOCKET_BUFFER_SIZE,
};
