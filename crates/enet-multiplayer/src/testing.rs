//! Test support (feature `testing`), shared by this crate's tests and the C interop tests
//! in `enet-interop`: a multiplayer peer that records what it delivers through the Godot
//! surface ([`Node`]), and loops that step several of them ([`pump`], [`pump_for`]).
//! Not part of the stable API.

use std::thread;
use std::time::{Duration, Instant};

use crate::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};

/// One received packet with what the getters said about it before `get_packet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkt {
    /// `get_packet_peer`.
    pub from: i32,
    /// `get_packet_channel`.
    pub channel: i32,
    /// `get_packet_mode`.
    pub mode: TransferMode,
    /// The payload.
    pub data: Vec<u8>,
}

/// A multiplayer peer plus everything it has delivered so far.
#[derive(Debug)]
pub struct Node {
    /// The peer.
    pub mp: EnetMultiplayerPeer,
    /// Events polled so far.
    pub events: Vec<MultiplayerEvent>,
    /// Packets received so far.
    pub packets: Vec<Pkt>,
}

impl Node {
    /// Wraps `mp`.
    pub fn new(mp: EnetMultiplayerPeer) -> Node {
        Node {
            mp,
            events: Vec::new(),
            packets: Vec::new(),
        }
    }

    /// Polls once and moves events and packets into `events` / `packets`.
    pub fn step(&mut self) {
        self.mp.poll();
        while let Some(e) = self.mp.poll_event() {
            self.events.push(e);
        }
        while self.mp.get_available_packet_count() > 0 {
            let from = self.mp.get_packet_peer();
            let channel = self.mp.get_packet_channel();
            let mode = self.mp.get_packet_mode();
            let data = self.mp.get_packet().expect("a packet is queued").to_vec();
            self.packets.push(Pkt {
                from,
                channel,
                mode,
                data,
            });
        }
    }

    /// Sets target, mode and channel (Godot's stateful way) and puts `data`.
    pub fn send(
        &mut self,
        target: i32,
        mode: TransferMode,
        channel: i32,
        data: &[u8],
    ) -> enet::Result<()> {
        self.mp.set_target_peer(target);
        self.mp.set_transfer_mode(mode);
        self.mp.set_transfer_channel(channel);
        self.mp.put_packet(data)
    }

    /// Takes the events polled so far.
    pub fn take_events(&mut self) -> Vec<MultiplayerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Takes the packets received so far.
    pub fn take_packets(&mut self) -> Vec<Pkt> {
        std::mem::take(&mut self.packets)
    }

    /// `get_unique_id`.
    pub fn id(&self) -> i32 {
        self.mp.get_unique_id()
    }
}

/// Steps every node until `done` holds (true) or `timeout` passes (false).
pub fn pump(
    nodes: &mut [&mut Node],
    timeout: Duration,
    mut done: impl FnMut(&[&mut Node]) -> bool,
) -> bool {
    let end = Instant::now() + timeout;
    loop {
        for n in nodes.iter_mut() {
            n.step();
        }
        if done(nodes) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Steps every node for `d`.
pub fn pump_for(nodes: &mut [&mut Node], d: Duration) {
    pump(nodes, d, |_| false);
}
