//! Shared helpers: real ENet peers on loopback, a scripted raw peer, and a bounded pump.
#![allow(dead_code)]

use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};
use scene_multiplayer::{SceneEvent, SceneMultiplayer};

pub const A: i32 = 0x1234_5678;
pub const B: i32 = 0x0ABC_DEF0;

pub type Scene = SceneMultiplayer<EnetMultiplayerPeer>;

pub fn server_peer() -> (EnetMultiplayerPeer, u16) {
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip("127.0.0.1").unwrap();
    mp.create_server(0, 32, 0, 0, 0).unwrap();
    let port = mp.host().unwrap().get_local_port().unwrap();
    (mp, port)
}

pub fn client_peer(port: u16, id: i32) -> EnetMultiplayerPeer {
    let mut mp = EnetMultiplayerPeer::new();
    mp.create_client_with_id("127.0.0.1", port, 0, 0, 0, 0, id as u32)
        .unwrap();
    mp
}

/// A scripted peer speaking raw MultiplayerPeer packets (stands in for a Godot game).
pub struct Raw {
    pub peer: EnetMultiplayerPeer,
    pub got: Vec<(i32, Vec<u8>, TransferMode, i32)>,
    pub events: Vec<MultiplayerEvent>,
}

impl Raw {
    pub fn new(peer: EnetMultiplayerPeer) -> Self {
        Raw {
            peer,
            got: Vec::new(),
            events: Vec::new(),
        }
    }
    pub fn poll(&mut self) {
        self.peer.poll();
        while let Some(e) = self.peer.poll_event() {
            self.events.push(e);
        }
        while MultiplayerPeer::get_available_packet_count(&self.peer) > 0 {
            let from = self.peer.get_packet_peer();
            let mode = self.peer.get_packet_mode();
            let ch = self.peer.get_packet_channel();
            let p = MultiplayerPeer::get_packet(&mut self.peer).unwrap();
            self.got.push((from, p.to_vec(), mode, ch));
        }
    }
    /// Sends reliable on channel 0 to `to`.
    pub fn send(&mut self, to: i32, bytes: &[u8]) {
        self.peer.set_transfer_mode(TransferMode::Reliable);
        self.peer.set_transfer_channel(0);
        self.peer.set_target_peer(to);
        MultiplayerPeer::put_packet(&mut self.peer, bytes).unwrap();
    }
    /// The payloads received so far (and forgets them).
    pub fn take(&mut self) -> Vec<Vec<u8>> {
        self.got.drain(..).map(|g| g.1).collect()
    }
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
    pub fn poll(&mut self) {
        self.mp.poll();
        while let Some(e) = self.mp.poll_event() {
            self.ev.push(e);
        }
    }
}

/// Polls every node until the condition holds or 5 s pass; evaluates to whether it held.
#[macro_export]
macro_rules! pump_until {
    ($cond:expr; $($n:expr),+) => {{
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut ok = false;
        while std::time::Instant::now() < end {
            $($n.poll();)+
            if $cond {
                ok = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        ok
    }};
}

/// Polls every node for `ms` milliseconds.
#[macro_export]
macro_rules! pump_for {
    ($ms:expr; $($n:expr),+) => {{
        let end = std::time::Instant::now() + std::time::Duration::from_millis($ms);
        while std::time::Instant::now() < end {
            $($n.poll();)+
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }};
}
