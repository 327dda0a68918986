//! ENet over UDP: a native Rust host, and Godot 4.3's `ENetConnection` and `ENetPacketPeer`
//! as a thin layer on it.
//!
//! * [`UdpHost`]: the native host, the sans-IO engine ([`enet_proto`]) on a
//!   [`std::net::UdpSocket`]. [`UdpHost::service`] returns `Option<`[`Event`]`>`, packets
//!   carry [`PacketFlags`], times are [`std::time::Duration`]s and peers are
//!   generation-checked [`PeerId`]s.
//! * [`godot`]: Godot's classes ([`godot::EnetConnection`], [`godot::EnetPacketPeer`]) with
//!   Godot's semantics, `u32` flag masks and error codes ([`Error::godot_code`]).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod compress;
pub mod error;
pub mod godot;
mod io_policy;
pub mod packet_peer;
#[cfg(batched_io)]
#[allow(unsafe_code)]
mod sys;
pub mod udp;

pub use compress::CompressionMode;
pub use enet_proto::sim::LinkConfig;
pub use enet_proto::{
    Compressor, ConfigError, DisconnectReason, DropReason, DropStats, Error as ProtoError, Event,
    Host, HostConfig, HostTotals, Packet, PacketFlags, PeerId, PeerInfo, PeerState, RangeCoder,
};
pub use error::{CantConnect, Error, GodotError, Invalid, Result};
pub use godot_variant;
pub use packet_peer::{PacketPeer, PacketPeerState, VarError, DEFAULT_ENCODE_BUFFER_MAX_SIZE};
pub use udp::{
    IoStats, SendErrorHook, UdpHost, UdpHostBuilder, DEFAULT_BUSY_POLL_LIMIT, MAX_DATAGRAM_SIZE,
    SOCKET_BUFFER_SIZE,
};
