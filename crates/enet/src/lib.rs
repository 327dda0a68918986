//! ENet over UDP: a native Rust host, and Godot 4.3's `ENetConnection` and `ENetPacketPeer`
//! as a thin layer on it.
//!
//! # The native host: [`UdpHost`]
//!
//! [`UdpHost`] drives the sans-IO engine ([`enet_proto`]) over a [`std::net::UdpSocket`].
//! Create it with [`UdpHost::builder`]; [`UdpHost::service`] returns `Option<`[`Event`]`>`;
//! packets carry [`PacketFlags`]; times are [`std::time::Duration`]s; errors are typed
//! ([`Error`], e.g. [`Error::InvalidChannel`]); peers are [`PeerId`]s checked by generation,
//! so an id whose connection is over gets [`Error::PeerInactive`] and never reaches the
//! slot's next occupant. Settings and statistics are methods of the host
//! ([`UdpHost::set_timeout`], [`UdpHost::peer_info`], [`UdpHost::totals`], …).
//!
//! ```no_run
//! use std::time::Duration;
//! use enet::{Event, UdpHost};
//!
//! let mut host = UdpHost::builder("0.0.0.0:7777".parse()?).peer_count(32).bind()?;
//! loop {
//!     match host.service(Duration::from_millis(100))? {
//!         Some(Event::Connect { peer, .. }) => println!("{peer:?} joined"),
//!         // Echo on the same channel with the same flags.
//!         Some(Event::Receive { peer, channel_id, packet }) => host.send(peer, channel_id, packet)?,
//!         Some(Event::Disconnect { peer, reason, .. }) => println!("{peer:?} left: {reason:?}"),
//!         _ => {}
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Godot's classes: [`godot`]
//!
//! [`godot::EnetConnection`] and [`godot::EnetPacketPeer`] keep Godot's semantics, `u32`
//! `FLAG_*` masks, event and statistic enums and error codes ([`Error::godot_code`]), over
//! the same [`UdpHost`]. What both layers share lives here at the root: [`Error`],
//! [`CompressionMode`], the [`PacketPeer`] trait, [`LinkConfig`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod compress;
#[cfg(feature = "dtls")]
pub mod dtls;
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
