//! SceneMultiplayer's own test support, on the shared multiplayer test bed
//! (`enet_multiplayer::testing`): real ENet peers on loopback, a scripted raw peer (the test
//! bed's node), our SceneMultiplayer with its events collected, and the bounded pumps.
#![allow(dead_code)]

use enet_multiplayer::testing;
use enet_multiplayer::{EnetMultiplayerPeer, TransferMode};
use scene_multiplayer::{SceneEvent, SceneMultiplayer};

pub const A: i32 = 0x1234_5678;
pub const B: i32 = 0x0ABC_DEF0;

pub type Scene = SceneMultiplayer<EnetMultiplayerPeer>;

/// A Godot-style server peer on loopback (32 clients) and its port.
pub fn server_peer() -> (EnetMultiplayerPeer, u16) {
    let (n, port) = testing::server(32);
    (n.mp, port)
}

/// A Godot-style client peer of the server at `port` with unique id `id`.
pub fn client_peer(port: u16, id: i32) -> EnetMultiplayerPeer {
    testing::client_with_id(port, id as u32).mp
}

/// A scripted peer speaking raw MultiplayerPeer packets (stands in for a Godot game): the
/// shared multiplayer test bed's node, collecting what it receives.
pub use enet_multiplayer::testing::Node as Raw;

/// What a raw peer received so far, as (from, payload, mode, channel).
pub fn received(n: &Raw) -> Vec<(i32, Vec<u8>, TransferMode, i32)> {
    n.packets
        .iter()
        .map(|p| (p.from, p.data.clone(), p.mode, p.channel))
        .collect()
}

/// Our SceneMultiplayer with its events collected.
pub struct Sm {
    pub mp: Scene,
    pub ev: Vec<SceneEvent>,
}

impl Sm {
    pub fn new(peer: EnetMultiplayerPeer) -> Self {
        Sm {
            mp: SceneMultiplayer::new(peer),
            ev: Vec::new(),
        }
    }
    /// Polls once and collects the events (a test-bed step).
    pub fn step(&mut self) {
        self.mp.poll();
        while let Some(e) = self.mp.poll_event() {
            self.ev.push(e);
        }
    }
}

/// The bounded pumps of the shared test bed, under the names these tests use.
#[allow(unused_imports)] // Not every test binary uses both.
pub use enet_multiplayer::{step_for as pump_for, step_until as pump_until};
