// Layout: this file holds the public types and the peer's state; `create` sets a peer up
// (server, client, mesh), `service` polls its hosts and dispatches their events, `channels`
// maps transfer modes and user channels to ENet channels, `peer_trait` / `peer_impl` are
// the `MultiplayerPeer` trait and its implementation, `native` the Rust-first types.
//! Godot 4's `MultiplayerPeer` and `ENetMultiplayerPeer` in Rust: server, client and mesh
//! modes, wire-compatible with Godot/Redot 4 games.
//!
//! Rust-first: start from a [`ServerConfig`] / [`ClientConfig`], [`MultiplayerPeer::send`] to
//! a [`Target`], [`MultiplayerPeer::recv`] a [`Packet`], and read [`PeerEvent`]s, whose
//! disconnects carry a [`DisconnectReason`]:
//!
//! ```no_run
//! use enet_multiplayer::{
//!     EnetMultiplayerPeer, MultiplayerPeer, PeerEvent, ServerConfig, Target, TransferMode,
//! };
//!
//! let mut server = EnetMultiplayerPeer::server(&ServerConfig::new(7777))?;
//! loop {
//!     server.poll_with_timeout(std::time::Duration::from_millis(5));
//!     while let Some(ev) = server.next_event() {
//!         if let PeerEvent::Disconnected { id, reason } = ev {
//!             println!("peer {id} left: {reason:?}");
//!         }
//!     }
//!     while let Some(p) = server.recv() {
//!         server.send(Target::Peer(p.from), TransferMode::Reliable, 0, &p.data)?; // echo
//!     }
//! }
//! # Ok::<(), enet::Error>(())
//! ```
//!
//! Godot's stateful surface, on the same peer and trait:
//!
//! ```no_run
//! use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};
//!
//! let mut server = EnetMultiplayerPeer::new();
//! server.create_server(7777, 32, 0, 0, 0)?;
//! loop {
//!     server.poll();
//!     while let Some(ev) = server.poll_event() {
//!         if let MultiplayerEvent::PeerConnected(id) = ev {
//!             println!("peer {id} joined");
//!         }
//!     }
//!     while server.get_available_packet_count() > 0 {
//!         let from = server.get_packet_peer();
//!         let packet = server.get_packet()?;
//!         server.set_transfer_mode(TransferMode::Reliable);
//!         server.set_target_peer(from);
//!         server.put_packet(&packet)?; // echo
//!     }
//!     std::thread::sleep(std::time::Duration::from_millis(5));
//! }
//! # Ok::<(), enet::Error>(())
//! ```
//!
//! Godot conventions, exactly: the server's id is 1; a client sends its random id
//! (2..=2³¹−1) as the CONNECT data; the server refuses ids below 2 and duplicates; ENet
//! channel 0 carries reliable traffic, channel 1 unreliable and unreliable-ordered traffic,
//! and user channel `k ≥ 1` travels on ENet channel `k + 1`; packets carry no extra header.
#![warn(missing_docs)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

mod channels;
use channels::{enet_channel_and_flags, mode_of_flags, user_channel};
mod create;
mod native;
mod packet_peer;
mod peer_impl;
mod peer_trait;
mod service;

pub use peer_trait::MultiplayerPeer;
#[cfg(feature = "testing")]
pub mod testing;

pub use native::{
    AddMeshPeerError, ClientConfig, DisconnectReason, Packet, PeerEvent, ServerConfig, Target,
};

use bytes::Bytes;
use enet::godot::{
    EnetConnection, EventType, PeerHandle, FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT,
    FLAG_UNSEQUENCED,
};
use enet::{Error, PeerState, Result};

/// `MultiplayerPeer.TARGET_PEER_BROADCAST`.
pub const TARGET_PEER_BROADCAST: i32 = 0;
/// `MultiplayerPeer.TARGET_PEER_SERVER`.
pub const TARGET_PEER_SERVER: i32 = 1;
/// What `get_max_packet_size` reports (Godot's constant).
pub const MAX_PACKET_SIZE: usize = 1 << 24;

const SYSCH_RELIABLE: u8 = 0;
const SYSCH_UNRELIABLE: u8 = 1;
const SYSCH_MAX: usize = 2;

/// `MultiplayerPeer.TransferMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum TransferMode {
    /// May be lost or arrive out of order.
    Unreliable = 0,
    /// May be lost; never arrives out of order.
    UnreliableOrdered = 1,
    /// Always arrives, in order.
    #[default]
    Reliable = 2,
}

/// `MultiplayerPeer.ConnectionStatus`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ConnectionStatus {
    /// Not connected.
    #[default]
    Disconnected = 0,
    /// Connecting (client).
    Connecting = 1,
    /// Connected (or serving).
    Connected = 2,
}

/// The two `MultiplayerPeer` signals, delivered as events after [`MultiplayerPeer::poll`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MultiplayerEvent {
    /// `peer_connected(id)`.
    PeerConnected(i32),
    /// `peer_disconnected(id)`.
    PeerDisconnected(i32),
}

/// Godot's `generate_unique_id`: a random id in `2..=0x7FFF_FFFF`.
pub fn generate_unique_id() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let id = (h.finish() as u32) & 0x7FFF_FFFF;
        if id >= 2 {
            return id;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    None,
    Server,
    Client,
    Mesh,
}

struct Incoming {
    data: Bytes,
    from: i32,
    channel: u8,
    mode: TransferMode,
}

/// Godot's `ENetMultiplayerPeer`.
pub struct EnetMultiplayerPeer {
    mode: Mode,
    unique_id: i32,
    target_peer: i32,
    transfer_mode: TransferMode,
    transfer_channel: i32,
    refuse: bool,
    status: ConnectionStatus,
    /// Server and client use key 0; mesh uses the peer id.
    hosts: BTreeMap<i32, EnetConnection>,
    /// Peer id → (host key, handle).
    peers: BTreeMap<i32, (i32, PeerHandle)>,
    /// Server: handle → peer id.
    net_ids: HashMap<PeerHandle, i32>,
    incoming: VecDeque<Incoming>,
    events: VecDeque<PeerEvent>,
    bind_ip: String,
    /// Sum of the hosts' deactivation counts at the last inactive-peer scan.
    seen_deactivations: u64,
    /// PacketPeer state (see `packet_peer.rs`).
    var: enet::PacketPeerState,
}

impl Default for EnetMultiplayerPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for EnetMultiplayerPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnetMultiplayerPeer")
            .field("mode", &self.mode)
            .field("unique_id", &self.unique_id)
            .field("status", &self.status)
            .field("peers", &self.peers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Drop for EnetMultiplayerPeer {
    fn drop(&mut self) {
        self.close();
    }
}

/// The README's code examples, compiled as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
