//! Godot 4.3's `SceneMultiplayer` protocol over any [`MultiplayerPeer`]: peer announcement
//! (SYS ADD_PEER / DEL_PEER), the server relay, authentication, `send_bytes` (RAW), RPCs
//! with the node path cache, and relaying of SPAWN / DESPAWN / SYNC between Godot clients.
//!
//! Event-driven: call [`SceneMultiplayer::poll`] and drain [`SceneMultiplayer::poll_event`].
//! The Rust side declares each node path the game's scripts put `@rpc` methods on, with the
//! same names and modes ([`RpcConfig`]), because RPC ids are positions in that list.
//!
//! ```no_run
//! use enet_multiplayer::EnetMultiplayerPeer;
//! use scene_multiplayer::{NodeRpcs, RpcConfig, SceneEvent, SceneMultiplayer};
//!
//! let mut peer = EnetMultiplayerPeer::new();
//! peer.create_server(7777, 32, 0, 0, 0)?;
//! let mut mp = SceneMultiplayer::new(peer);
//! mp.declare_node("Main", NodeRpcs::new(vec![RpcConfig::any_peer("hello")]));
//! loop {
//!     mp.poll();
//!     while let Some(ev) = mp.poll_event() {
//!         if let SceneEvent::Rpc { from, path, method, args } = ev {
//!             let _ = mp.rpc_id(from, &path, &method, &args); // echo it back
//!         }
//!     }
//!     std::thread::sleep(std::time::Duration::from_millis(5));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Out of scope: owning MultiplayerSpawner / MultiplayerSynchronizer state. Those messages
//! are relayed between Godot clients untouched; addressed to us they are dropped.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod cache;
pub mod codec;
mod rpc;

pub use api::{Drops, SceneError, SceneEvent, SceneMultiplayer};
pub use cache::MAX_REMOTE_IDS_PER_PEER;
pub use enet_multiplayer::{MultiplayerPeer, TransferMode};
pub use godot_variant::Variant;
pub use rpc::{md5_hex, NodeRpcs, RpcConfig, RpcMode};
