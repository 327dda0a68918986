//! `EnetMultiplayerPeer` as a [`PacketPeer`]: Godot's `MultiplayerPeer` inherits
//! `PacketPeer`, so `put_var` / `get_var` work on it, with the current target peer, transfer
//! mode and channel, and the sender of the next packet given by `get_packet_peer`.

use crate::{EnetMultiplayerPeer, MultiplayerPeer};
use bytes::Bytes;
use enet::{Error, PacketPeer, PacketPeerState};

impl PacketPeer for EnetMultiplayerPeer {
    fn get_packet(&mut self) -> Result<Bytes, Error> {
        MultiplayerPeer::get_packet(self)
    }
    fn put_packet(&mut self, packet: &[u8]) -> Result<(), Error> {
        MultiplayerPeer::put_packet(self, packet)
    }
    fn get_available_packet_count(&self) -> usize {
        MultiplayerPeer::get_available_packet_count(self)
    }
    fn packet_peer_state(&self) -> PacketPeerState {
        self.var
    }
    fn set_packet_peer_state(&mut self, state: PacketPeerState) {
        self.var = state;
    }
}
