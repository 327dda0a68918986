//! Godot 4.3's `ENetConnection` and `ENetPacketPeer`, with Godot's semantics and error codes,
//! in Rust naming: a thin layer over the native [`UdpHost`](crate::UdpHost).
//!
//! This module owns the Godot vocabulary: the `u32` `FLAG_*` masks, Godot's constants, the
//! event and statistic enums, and the two classes. A connection is created inactive and
//! becomes a host with [`EnetConnection::create_host_bound`] or
//! [`EnetConnection::create_host`]. Remote peers are addressed by [`PeerHandle`]s, plain ids
//! that stay valid (but inactive) after the peer is gone; [`EnetConnection::peer`] gives a
//! view with Godot's `ENetPacketPeer` methods. Every error maps to Godot's code
//! ([`Error::godot_code`](crate::Error::godot_code)).
//!
//! Files: `events` (the enums, [`ServiceEvent`] and [`PeerHandle`]), `state` (the per-slot
//! wrapper state and the translation of native events into Godot's), `connection`
//! ([`EnetConnection`]) and `packet_peer` ([`EnetPacketPeer`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use enet::godot::{EnetConnection, EventType, FLAG_RELIABLE};
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

use enet_proto::PacketFlags;

mod connection;
mod events;
mod packet_peer;
mod state;

pub use connection::EnetConnection;
pub use events::{EventType, HostStatistic, PeerHandle, PeerStatistic, ServiceEvent};
pub use packet_peer::EnetPacketPeer;

/// `ENetPacketPeer.FLAG_RELIABLE`.
pub const FLAG_RELIABLE: u32 = 1;
/// `ENetPacketPeer.FLAG_UNSEQUENCED`.
pub const FLAG_UNSEQUENCED: u32 = 2;
/// `ENetPacketPeer.FLAG_UNRELIABLE_FRAGMENT`.
pub const FLAG_UNRELIABLE_FRAGMENT: u32 = 8;
pub(crate) const FLAG_ALLOWED: u32 = FLAG_RELIABLE | FLAG_UNSEQUENCED | FLAG_UNRELIABLE_FRAGMENT;
/// `ENetPacketPeer.PACKET_THROTTLE_SCALE`.
pub const PACKET_THROTTLE_SCALE: u32 = 32;
/// `ENetPacketPeer.PACKET_LOSS_SCALE`.
pub const PACKET_LOSS_SCALE: u32 = 65536;
/// What `get_max_packet_size` reports (Godot's constant).
pub const MAX_PACKET_SIZE: usize = 1 << 24;

pub(crate) fn flags_to_packet(flags: u32) -> PacketFlags {
    PacketFlags(flags & FLAG_ALLOWED)
}
