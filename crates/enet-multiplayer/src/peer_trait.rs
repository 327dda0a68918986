//! The one [`MultiplayerPeer`] trait: Godot's `MultiplayerPeer` surface (required methods)
//! plus the Rust-first `send` / `recv` / `next_event` (default methods built on that surface,
//! which an implementation may override), so code such as a SceneMultiplayer can be generic
//! over any peer.

use bytes::Bytes;
use enet::Result;

use crate::{
    generate_unique_id, ConnectionStatus, DisconnectReason, MultiplayerEvent, Packet, PeerEvent,
    Target, TransferMode, MAX_PACKET_SIZE,
};

/// Godot's `MultiplayerPeer` (with `PacketPeer`'s packet methods).
///
/// Packet getters describe the *next* packet [`MultiplayerPeer::get_packet`] would return.
pub trait MultiplayerPeer: enet::PacketPeer {
    /// Sends a packet to the target peer with the current transfer mode and channel. An
    /// empty packet is accepted and not sent (Godot's `PacketPeer.put_packet`).
    fn put_packet(&mut self, packet: &[u8]) -> Result<()>;
    /// Pops the next received packet ([`Error::Unavailable`](enet::Error::Unavailable) if none).
    fn get_packet(&mut self) -> Result<Bytes>;
    /// Number of received packets waiting.
    fn get_available_packet_count(&self) -> usize;
    /// The largest packet size accepted (1 << 24).
    fn get_max_packet_size(&self) -> usize {
        MAX_PACKET_SIZE
    }
    /// Sets the transfer mode of future sends.
    fn set_transfer_mode(&mut self, mode: TransferMode);
    /// The transfer mode of future sends.
    fn get_transfer_mode(&self) -> TransferMode;
    /// Sets the user channel of future sends (0 = the default channel of each mode).
    fn set_transfer_channel(&mut self, channel: i32);
    /// The user channel of future sends.
    fn get_transfer_channel(&self) -> i32;
    /// Sets the target of future sends: 0 everyone, `id` one peer, `-id` everyone but one.
    ///
    /// `i32::MIN` would exclude peer 2³¹, which cannot exist (ids are at most 2³¹ − 1), so
    /// it sends to everyone, like 0.
    fn set_target_peer(&mut self, id: i32);
    /// The target of future sends.
    fn get_target_peer(&self) -> i32;
    /// Sender id of the next packet.
    fn get_packet_peer(&self) -> i32;
    /// User channel of the next packet.
    fn get_packet_channel(&self) -> i32;
    /// Transfer mode of the next packet.
    fn get_packet_mode(&self) -> TransferMode;
    /// Moves network traffic and queues packets and events.
    fn poll(&mut self);
    /// Closes every connection (no events are emitted).
    fn close(&mut self);
    /// Disconnects one peer; with `force` at once and without a `PeerDisconnected` event.
    fn disconnect_peer(&mut self, id: i32, force: bool);
    /// The connection status.
    fn get_connection_status(&self) -> ConnectionStatus;
    /// Our own id (1 for a server; 0 when inactive).
    fn get_unique_id(&self) -> i32;
    /// Whether this peer is a server.
    fn is_server(&self) -> bool;
    /// Whether the server relays packets between clients.
    fn is_server_relay_supported(&self) -> bool {
        false
    }
    /// Refuses or accepts new connections.
    fn set_refuse_new_connections(&mut self, refuse: bool);
    /// Whether new connections are refused.
    fn is_refusing_new_connections(&self) -> bool;
    /// A random id in `2..=0x7FFF_FFFF`.
    fn generate_unique_id(&self) -> u32 {
        generate_unique_id()
    }
    /// The next `peer_connected` / `peer_disconnected` event.
    fn poll_event(&mut self) -> Option<MultiplayerEvent>;

    /// Rust-first send: `data` to `target` with `mode` on user `channel`, leaving the
    /// stateful target / mode / channel of [`Self::put_packet`] as they were.
    ///
    /// The default goes through the Godot surface; implementations may do better.
    fn send(
        &mut self,
        target: Target,
        mode: TransferMode,
        channel: i32,
        data: &[u8],
    ) -> Result<()> {
        let saved = (
            self.get_target_peer(),
            self.get_transfer_mode(),
            self.get_transfer_channel(),
        );
        self.set_target_peer(target.to_godot());
        self.set_transfer_mode(mode);
        self.set_transfer_channel(channel);
        let r = MultiplayerPeer::put_packet(self, data);
        self.set_target_peer(saved.0);
        self.set_transfer_mode(saved.1);
        self.set_transfer_channel(saved.2);
        r
    }

    /// Rust-first receive: the next packet with its sender, channel and mode, or `None`.
    fn recv(&mut self) -> Option<Packet> {
        if MultiplayerPeer::get_available_packet_count(self) == 0 {
            return None;
        }
        let (from, channel, mode) = (
            self.get_packet_peer(),
            self.get_packet_channel(),
            self.get_packet_mode(),
        );
        let data = MultiplayerPeer::get_packet(self).ok()?;
        Some(Packet {
            from,
            channel,
            mode,
            data,
        })
    }

    /// Rust-first events: the next connect / disconnect, a disconnect with its reason.
    /// The default maps [`Self::poll_event`] (reason [`DisconnectReason::Unknown`]).
    /// It shares one queue with `poll_event`: each event comes out of one of the two.
    fn next_event(&mut self) -> Option<PeerEvent> {
        Some(match self.poll_event()? {
            MultiplayerEvent::PeerConnected(id) => PeerEvent::Connected { id },
            MultiplayerEvent::PeerDisconnected(id) => PeerEvent::Disconnected {
                id,
                reason: DisconnectReason::Unknown,
            },
        })
    }
}
