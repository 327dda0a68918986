//! `EnetMultiplayerPeer`'s implementation of the [`MultiplayerPeer`] trait: Godot's stateful
//! surface (target, mode and channel settings, the next-packet getters, `put_packet`,
//! `poll`, `close`, refusal of new connections) and the Rust-first `send` / `recv` /
//! `next_event` over the same queues. The connection handling itself lives in `lib.rs`.

use bytes::Bytes;
use std::time::Duration;

use enet::{Error, Result};

use crate::{
    user_channel, ConnectionStatus, EnetMultiplayerPeer, Mode, MultiplayerEvent, MultiplayerPeer,
    Packet, PeerEvent, Target, TransferMode,
};

impl MultiplayerPeer for EnetMultiplayerPeer {
    fn put_packet(&mut self, packet: &[u8]) -> Result<()> {
        // PacketPeer.put_packet: an empty buffer is OK and nothing is sent (checked before
        // anything else, as in Godot).
        if packet.is_empty() {
            return Ok(());
        }
        self.send_to(
            Target::from_godot(self.target_peer),
            self.transfer_mode,
            self.transfer_channel,
            packet,
        )
    }

    fn get_packet(&mut self) -> Result<Bytes> {
        self.incoming
            .pop_front()
            .map(|p| p.data)
            .ok_or(Error::Unavailable)
    }

    fn get_available_packet_count(&self) -> usize {
        self.incoming.len()
    }

    fn set_transfer_mode(&mut self, mode: TransferMode) {
        self.transfer_mode = mode;
    }

    fn get_transfer_mode(&self) -> TransferMode {
        self.transfer_mode
    }

    fn set_transfer_channel(&mut self, channel: i32) {
        self.transfer_channel = channel;
    }

    fn get_transfer_channel(&self) -> i32 {
        self.transfer_channel
    }

    fn set_target_peer(&mut self, id: i32) {
        self.target_peer = id;
    }

    fn get_target_peer(&self) -> i32 {
        self.target_peer
    }

    fn get_packet_peer(&self) -> i32 {
        self.incoming.front().map_or(1, |p| p.from)
    }

    fn get_packet_channel(&self) -> i32 {
        self.incoming.front().map_or(1, |p| user_channel(p.channel))
    }

    fn get_packet_mode(&self) -> TransferMode {
        self.incoming
            .front()
            .map_or(TransferMode::Reliable, |p| p.mode)
    }

    fn poll(&mut self) {
        self.poll_inner(Duration::ZERO);
    }

    fn close(&mut self) {
        // Undelivered events belong to the session being closed.
        self.events.clear();
        self.shutdown();
    }

    fn disconnect_peer(&mut self, id: i32, force: bool) {
        if !self.is_active() {
            return;
        }
        let Some(&(key, h)) = self.peers.get(&id) else {
            return;
        };
        if let Some(host) = self.hosts.get_mut(&key) {
            let _ = host.peer(h).peer_disconnect(0);
            let _ = host.flush();
        }
        if force {
            self.peers.remove(&id);
            self.net_ids.remove(&h);
            if self.mode == Mode::Mesh {
                self.remove_host(key);
            }
            if self.mode == Mode::Client {
                self.shutdown();
            }
        }
    }

    fn get_connection_status(&self) -> ConnectionStatus {
        self.status
    }

    fn get_unique_id(&self) -> i32 {
        self.unique_id
    }

    fn is_server(&self) -> bool {
        self.mode == Mode::Server
    }

    fn is_server_relay_supported(&self) -> bool {
        matches!(self.mode, Mode::Server | Mode::Client)
    }

    fn set_refuse_new_connections(&mut self, refuse: bool) {
        self.refuse = refuse;
        // Refuse at the ENet level too, so a refused client's CONNECT is never answered:
        // it never sees `peer_connected` (Godot accepts, then resets the peer: the client
        // sees a connection that times out, godotengine/godot#28740, #45276).
        for host in self.hosts.values_mut() {
            let _ = host.refuse_new_connections(refuse);
        }
    }

    fn is_refusing_new_connections(&self) -> bool {
        self.refuse
    }

    fn poll_event(&mut self) -> Option<MultiplayerEvent> {
        self.events.pop_front().map(PeerEvent::to_godot)
    }

    fn send(
        &mut self,
        target: Target,
        mode: TransferMode,
        channel: i32,
        data: &[u8],
    ) -> Result<()> {
        self.send_to(target, mode, channel, data)
    }

    fn recv(&mut self) -> Option<Packet> {
        let p = self.incoming.pop_front()?;
        Some(Packet {
            from: p.from,
            channel: user_channel(p.channel),
            mode: p.mode,
            data: p.data,
        })
    }

    fn next_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }
}
