//! [`SceneMultiplayer`]: the state machine of Godot's SceneMultiplayer over a
//! [`MultiplayerPeer`] (admission, relay, auth, RAW, path cache and RPCs).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use enet_multiplayer::{ConnectionStatus, MultiplayerEvent, MultiplayerPeer, TransferMode};
use godot_variant::Variant;
use thiserror::Error;

use crate::cache::{PathCache, Sent, Store};
use crate::codec::{self, Message, NodeRef, CMD_SYS, SYS_ADD_PEER, SYS_AUTH, SYS_DEL_PEER};
use crate::rpc::{NodeRpcs, RpcMode};

#[path = "incoming.rs"]
mod incoming;
#[path = "outgoing.rs"]
mod outgoing;

/// What [`SceneMultiplayer::poll_event`] reports (Godot's SceneMultiplayer signals).
#[derive(Debug, Clone, PartialEq)]
pub enum SceneEvent {
    /// `peer_connected(id)`: admitted (directly, after auth, or announced by the server).
    PeerConnected(i32),
    /// `peer_disconnected(id)`.
    PeerDisconnected(i32),
    /// `peer_authenticating(id)`: the peer is pending; exchange [`SceneMultiplayer::send_auth`]
    /// / [`SceneMultiplayer::complete_auth`].
    PeerAuthenticating(i32),
    /// What Godot's `auth_callback(id, data)` receives.
    AuthData {
        /// The pending peer.
        from: i32,
        /// Its payload.
        data: Vec<u8>,
    },
    /// `peer_authentication_failed(id)`: a pending peer left or timed out.
    PeerAuthenticationFailed(i32),
    /// `connected_to_server` (client).
    ConnectedToServer,
    /// `connection_failed` (client).
    ConnectionFailed,
    /// `server_disconnected` (client).
    ServerDisconnected,
    /// An RPC call that passed the permission check.
    Rpc {
        /// The caller (the original client for a relayed call; our id for `call_local`).
        from: i32,
        /// The root-relative node path.
        path: String,
        /// The method.
        method: String,
        /// The arguments (undecodable ones are `Nil`, as in Godot).
        args: Vec<Variant>,
    },
    /// `peer_packet(from, data)`: a `send_bytes` payload.
    Bytes {
        /// The sender (the original client for a relayed packet).
        from: i32,
        /// The payload.
        data: Vec<u8>,
    },
}

/// Why a call was refused.
#[derive(Debug, Error)]
pub enum SceneError {
    /// The peer is not connected.
    #[error("not connected")]
    NotConnected,
    /// The peer id is not admitted (or is still authenticating).
    #[error("unknown peer {0}")]
    UnknownPeer(i32),
    /// The node path was not declared.
    #[error("node {0:?} is not declared")]
    UnknownNode(String),
    /// The method is not in the node's RPC list.
    #[error("node {path:?} has no RPC {method:?}")]
    UnknownMethod {
        /// The node.
        path: String,
        /// The method.
        method: String,
    },
    /// `rpc_id` to ourselves on an RPC without `call_local`.
    #[error("RPC to self without call_local")]
    CallOnSelf,
    /// `send_bytes` / `send_auth` with empty data.
    #[error("empty data")]
    Empty,
    /// The peer is not pending authentication.
    #[error("peer {0} is not authenticating")]
    NotPending(i32),
    /// Auth already marked complete (Godot's ERR_FILE_CANT_WRITE).
    #[error("authentication with {0} already completed")]
    AuthCompleted(i32),
    /// The arguments could not be encoded.
    #[error(transparent)]
    Args(#[from] codec::ArgsError),
    /// The transport refused the packet.
    #[error("transport: {0}")]
    Transport(String),
}

/// Counters of received packets that were dropped, by reason (never a panic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Not a well-formed message (empty, truncated, bad width, unknown SYS sub-command, …).
    pub malformed: u64,
    /// Anything but `07 00…` from a peer still authenticating.
    pub pending: u64,
    /// From a peer that is neither admitted nor pending.
    pub unknown_sender: u64,
    /// SYS not allowed here (ADD/DEL_PEER to a server or not from 1, AUTH on an admitted
    /// peer with payload, RELAY with relay off, relayed RELAY, relay from a non-server).
    pub refused_sys: u64,
    /// RELAY to a peer that is not admitted (or to 1).
    pub relay_target: u64,
    /// SIMPLIFY_PATH for an undeclared node, a duplicate id, or over the per-peer limit.
    pub bad_path: u64,
    /// RPC for a node id never announced or an undeclared path.
    pub unknown_node: u64,
    /// RPC id out of range for the node.
    pub unknown_method: u64,
    /// RPC refused by its mode (disabled, or authority-only from another peer).
    pub unauthorized: u64,
    /// RPCs delivered with at least one argument that did not decode (set to `Nil`).
    pub bad_args: u64,
    /// SPAWN / DESPAWN / SYNC addressed to us (not interpreted).
    pub replication: u64,
}

impl Drops {
    /// All drops (`bad_args` calls are delivered, so not counted).
    pub fn total(&self) -> u64 {
        self.malformed
            + self.pending
            + self.unknown_sender
            + self.refused_sys
            + self.relay_target
            + self.bad_path
            + self.unknown_node
            + self.unknown_method
            + self.unauthorized
            + self.replication
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    local: bool,
    remote: bool,
    since: Instant,
}

/// Godot's `SceneMultiplayer` over a [`MultiplayerPeer`] `P`.
pub struct SceneMultiplayer<P: MultiplayerPeer> {
    peer: P,
    server_relay: bool,
    auth: bool,
    auth_timeout: Duration,
    allow_object_decoding: bool,
    /// Admitted peers in admission order, and a set for O(1) checks.
    order: Vec<i32>,
    connected: HashMap<i32, ()>,
    pending: HashMap<i32, Pending>,
    nodes: HashMap<String, NodeRpcs>,
    cache: PathCache,
    events: std::collections::VecDeque<SceneEvent>,
    drops: Drops,
    status: ConnectionStatus,
    scratch: Vec<u8>,
    relay_buf: Vec<u8>,
}

impl<P: MultiplayerPeer> SceneMultiplayer<P> {
    /// Wraps a peer (created as server or client, connecting or connected) with Godot's
    /// defaults: relay on, no auth, auth timeout 3 s, object decoding off.
    pub fn new(peer: P) -> Self {
        SceneMultiplayer {
            peer,
            server_relay: true,
            auth: false,
            auth_timeout: Duration::from_secs(3),
            allow_object_decoding: false,
            order: Vec::new(),
            connected: HashMap::new(),
            pending: HashMap::new(),
            nodes: HashMap::new(),
            cache: PathCache::default(),
            events: Default::default(),
            drops: Drops::default(),
            status: ConnectionStatus::Disconnected,
            scratch: Vec::new(),
            relay_buf: Vec::new(),
        }
    }
    /// The transport.
    pub fn peer(&self) -> &P {
        &self.peer
    }
    /// The transport, mutably.
    pub fn peer_mut(&mut self) -> &mut P {
        &mut self.peer
    }
    /// `server_relay` (default on).
    pub fn set_server_relay(&mut self, on: bool) {
        self.server_relay = on;
    }
    /// Enables authentication (what setting Godot's `auth_callback` does): new peers are
    /// pending until both sides call [`complete_auth`](Self::complete_auth).
    pub fn set_auth_enabled(&mut self, on: bool) {
        self.auth = on;
    }
    /// `auth_timeout` (default 3 s; zero disables it; any length, `Duration::MAX` included,
    /// is accepted and simply never expires within the process's life).
    pub fn set_auth_timeout(&mut self, t: Duration) {
        self.auth_timeout = t;
    }
    /// `allow_object_decoding` (default off; also makes objects encode in full).
    pub fn set_allow_object_decoding(&mut self, on: bool) {
        self.allow_object_decoding = on;
    }
    /// Declares a node (root-relative path, e.g. `Main` for `/root/Main`) and its RPCs.
    pub fn declare_node(&mut self, path: &str, rpcs: NodeRpcs) {
        self.nodes.insert(path.to_owned(), rpcs);
    }
    /// Sets a declared node's multiplayer authority (default 1).
    pub fn set_node_authority(&mut self, path: &str, id: i32) {
        if let Some(n) = self.nodes.get_mut(path) {
            n.authority = id;
        }
    }
    /// Our id (1 for the server).
    pub fn get_unique_id(&self) -> i32 {
        self.peer.get_unique_id()
    }
    /// Whether we are the server.
    pub fn is_server(&self) -> bool {
        self.peer.is_server()
    }
    /// Admitted peers, in admission order.
    pub fn get_peers(&self) -> &[i32] {
        &self.order
    }
    /// Peers still authenticating.
    pub fn get_authenticating_peers(&self) -> Vec<i32> {
        self.pending.keys().copied().collect()
    }
    /// Dropped-packet counters.
    pub fn drops(&self) -> Drops {
        self.drops
    }
    /// Whether `peer` has confirmed our cache id for `path` (and with a matching checksum).
    pub fn path_confirmed(&self, path: &str, peer: i32) -> Option<bool> {
        match self.cache.sent(path, peer)? {
            Sent::Announced => None,
            Sent::Confirmed { valid } => Some(valid),
        }
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<SceneEvent> {
        self.events.pop_front()
    }

    /// Polls the transport, handles its events and packets, and times out pending peers.
    pub fn poll(&mut self) {
        self.peer.poll();
        while let Some(ev) = self.peer.poll_event() {
            match ev {
                MultiplayerEvent::PeerConnected(id) => self.add_peer(id),
                MultiplayerEvent::PeerDisconnected(id) => self.del_peer(id),
            }
        }
        while MultiplayerPeer::get_available_packet_count(&self.peer) > 0 {
            let from = self.peer.get_packet_peer();
            let mode = self.peer.get_packet_mode();
            let channel = self.peer.get_packet_channel();
            let Ok(pkt) = MultiplayerPeer::get_packet(&mut self.peer) else {
                break;
            };
            self.receive(from, &pkt, mode, channel);
        }
        self.check_auth_timeouts();
        self.update_status();
    }

    fn update_status(&mut self) {
        let now = self.peer.get_connection_status();
        if now == self.status {
            return;
        }
        if now == ConnectionStatus::Disconnected {
            if self.status == ConnectionStatus::Connecting {
                self.events.push_back(SceneEvent::ConnectionFailed);
            } else if !self.peer.is_server() {
                self.events.push_back(SceneEvent::ServerDisconnected);
            }
            self.clear();
        }
        self.status = now;
    }

    fn clear(&mut self) {
        self.order.clear();
        self.connected.clear();
        self.pending.clear();
        self.cache.clear();
    }

    fn check_auth_timeouts(&mut self) {
        if self.auth_timeout.is_zero() || self.pending.is_empty() {
            return;
        }
        let now = Instant::now();
        let expired: Vec<i32> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.since) >= self.auth_timeout)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.pending.remove(&id);
            self.peer.disconnect_peer(id, false);
            self.events
                .push_back(SceneEvent::PeerAuthenticationFailed(id));
        }
    }

    fn add_peer(&mut self, id: i32) {
        // A transport announcing a peer twice (no well-behaved one does) changes nothing:
        // an admitted peer is not put back into authentication, a pending one keeps its start.
        if self.connected.contains_key(&id) || self.pending.contains_key(&id) {
            return;
        }
        if self.auth {
            let p = Pending {
                local: false,
                remote: false,
                since: Instant::now(),
            };
            self.pending.insert(id, p);
            self.events.push_back(SceneEvent::PeerAuthenticating(id));
        } else {
            self.admit(id);
        }
    }

    fn admit(&mut self, id: i32) {
        if self.connected.contains_key(&id) {
            return;
        }
        if self.server_relay && self.peer.get_unique_id() == 1 {
            self.set_mode(TransferMode::Reliable, 0);
            for i in 0..self.order.len() {
                let p = self.order[i];
                self.put_sys(p, SYS_ADD_PEER, id);
                self.put_sys(id, SYS_ADD_PEER, p);
            }
        }
        self.order.push(id);
        self.connected.insert(id, ());
        if id == 1 {
            self.events.push_back(SceneEvent::ConnectedToServer);
        }
        self.events.push_back(SceneEvent::PeerConnected(id));
    }

    fn del_peer(&mut self, id: i32) {
        if self.pending.remove(&id).is_some() {
            self.events
                .push_back(SceneEvent::PeerAuthenticationFailed(id));
            return;
        }
        if self.connected.remove(&id).is_none() {
            return;
        }
        self.order.retain(|&p| p != id);
        if self.server_relay && self.peer.get_unique_id() == 1 {
            self.set_mode(TransferMode::Reliable, 0);
            for i in 0..self.order.len() {
                let p = self.order[i];
                self.put_sys(p, SYS_DEL_PEER, id);
            }
        }
        self.cache.remove_peer(id);
        self.events.push_back(SceneEvent::PeerDisconnected(id));
    }

    fn set_mode(&mut self, mode: TransferMode, channel: i32) {
        self.peer.set_transfer_mode(mode);
        self.peer.set_transfer_channel(channel);
    }

    fn put_sys(&mut self, to: i32, sub: u8, id: i32) {
        let mut b = [0u8; 6];
        b[0] = CMD_SYS;
        b[1] = sub;
        b[2..].copy_from_slice(&id.to_le_bytes());
        self.peer.set_target_peer(to);
        let _ = MultiplayerPeer::put_packet(&mut self.peer, &b);
    }

    /// Godot's `send_command`: relays through 1 on a client (target ≠ 1), else sends to one
    /// admitted peer or loops over them (0 / −N). Mode and channel must be set already.
    fn send_command(&mut self, to: i32, msg: &[u8]) -> Result<(), SceneError> {
        let me = self.peer.get_unique_id();
        if self.server_relay && me != 1 && to != 1 {
            self.relay_buf.clear();
            codec::write_sys(&mut self.relay_buf, codec::SYS_RELAY, to);
            self.relay_buf.extend_from_slice(msg);
            self.peer.set_target_peer(1);
            let buf = std::mem::take(&mut self.relay_buf);
            let r = MultiplayerPeer::put_packet(&mut self.peer, &buf);
            self.relay_buf = buf;
            return r.map_err(|e| SceneError::Transport(e.to_string()));
        }
        if to > 0 {
            if !self.connected.contains_key(&to) {
                return Err(SceneError::UnknownPeer(to));
            }
            self.peer.set_target_peer(to);
            return MultiplayerPeer::put_packet(&mut self.peer, msg)
                .map_err(|e| SceneError::Transport(e.to_string()));
        }
        for i in 0..self.order.len() {
            let p = self.order[i];
            if to != 0 && p == to.wrapping_neg() {
                continue;
            }
            self.peer.set_target_peer(p);
            let _ = MultiplayerPeer::put_packet(&mut self.peer, msg);
        }
        Ok(())
    }

    fn connected_check(&self) -> Result<(), SceneError> {
        if self.peer.get_connection_status() != ConnectionStatus::Connected {
            return Err(SceneError::NotConnected);
        }
        Ok(())
    }

    /// `send_bytes(data, target, mode, channel)`: RAW to 0 (all), 1, N or −N.
    pub fn send_bytes(
        &mut self,
        data: &[u8],
        target: i32,
        mode: TransferMode,
        channel: i32,
    ) -> Result<(), SceneError> {
        if data.is_empty() {
            return Err(SceneError::Empty);
        }
        self.connected_check()?;
        let mut msg = std::mem::take(&mut self.scratch);
        msg.clear();
        msg.push(codec::CMD_RAW);
        msg.extend_from_slice(data);
        self.set_mode(mode, channel);
        let r = self.send_command(target, &msg);
        self.scratch = msg;
        r
    }

    /// `send_auth(id, data)`: `07 00 <data>` to a pending peer, reliable, channel 0.
    pub fn send_auth(&mut self, id: i32, data: &[u8]) -> Result<(), SceneError> {
        self.connected_check()?;
        let p = *self.pending.get(&id).ok_or(SceneError::NotPending(id))?;
        if data.is_empty() {
            return Err(SceneError::Empty);
        }
        if p.local || p.remote {
            return Err(SceneError::AuthCompleted(id));
        }
        let mut msg = vec![CMD_SYS, SYS_AUTH];
        msg.extend_from_slice(data);
        self.set_mode(TransferMode::Reliable, 0);
        self.peer.set_target_peer(id);
        MultiplayerPeer::put_packet(&mut self.peer, &msg)
            .map_err(|e| SceneError::Transport(e.to_string()))
    }

    /// `complete_auth(id)`: sends `07 00`; admits the peer if it completed too.
    pub fn complete_auth(&mut self, id: i32) -> Result<(), SceneError> {
        self.connected_check()?;
        let p = self
            .pending
            .get_mut(&id)
            .ok_or(SceneError::NotPending(id))?;
        if p.local {
            return Err(SceneError::AuthCompleted(id));
        }
        p.local = true;
        let remote = p.remote;
        self.set_mode(TransferMode::Reliable, 0);
        self.peer.set_target_peer(id);
        let r = MultiplayerPeer::put_packet(&mut self.peer, &[CMD_SYS, SYS_AUTH]);
        if remote {
            self.pending.remove(&id);
            self.admit(id);
        }
        r.map_err(|e| SceneError::Transport(e.to_string()))
    }

    /// Disconnects a peer (graceful); a pending one leaves the pending set at once.
    pub fn disconnect_peer(&mut self, id: i32) {
        self.pending.remove(&id);
        self.peer.disconnect_peer(id, false);
    }

    /// `rpc(method, args)` on node `path`: to every admitted peer (and locally with
    /// `call_local`).
    pub fn rpc(&mut self, path: &str, method: &str, args: &[Variant]) -> Result<(), SceneError> {
        self.rpc_id(0, path, method, args)
    }
}
