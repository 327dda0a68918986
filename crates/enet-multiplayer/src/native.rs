//! The Rust-first vocabulary of the multiplayer layer: where a packet goes ([`Target`]), what
//! arrives ([`Packet`]), what happens to peers ([`PeerEvent`] with its [`DisconnectReason`]),
//! how a peer starts ([`ServerConfig`], [`ClientConfig`]) and the error of a refused mesh
//! peer ([`AddMeshPeerError`], which hands the connection back).

use bytes::Bytes;
use enet::godot::EnetConnection;

use crate::TransferMode;

/// Where [`crate::MultiplayerPeer::send`] delivers a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// Every connected peer (a client: the server).
    All,
    /// One peer by id (1 is the server).
    Peer(i32),
    /// Every connected peer except this one.
    AllExcept(i32),
}

impl Target {
    /// Godot's `i32` target: 0 everyone, `id` one peer, `-id` everyone but `id`.
    /// `i32::MIN` (which would exclude the impossible peer 2³¹) means everyone.
    pub fn from_godot(id: i32) -> Target {
        match id {
            0 | i32::MIN => Target::All,
            id if id > 0 => Target::Peer(id),
            id => Target::AllExcept(-id),
        }
    }

    /// The `i32` Godot uses for this target (`AllExcept(i32::MIN)` maps to 0, everyone).
    pub fn to_godot(self) -> i32 {
        match self {
            Target::All => 0,
            Target::Peer(id) => id,
            Target::AllExcept(id) => id.checked_neg().unwrap_or(0),
        }
    }
}

/// A received packet, as [`crate::MultiplayerPeer::recv`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Packet {
    /// The sender's peer id.
    pub from: i32,
    /// The user channel (0 = the default channel of its mode).
    pub channel: i32,
    /// How it travelled.
    pub mode: TransferMode,
    /// The payload.
    pub data: Bytes,
}

/// Why a peer went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The remote disconnected; `data` is what its DISCONNECT carried.
    Remote {
        /// The remote's disconnect data.
        data: u32,
    },
    /// Our own graceful disconnect completed.
    Local,
    /// The peer stopped answering.
    Timeout,
    /// The connection attempt was refused.
    Refused,
    /// The peer's host failed or the peer went inactive without a disconnect event.
    Lost,
    /// The [`crate::MultiplayerPeer`] implementation does not say (the trait's default
    /// `next_event`, built on `poll_event`).
    Unknown,
}

impl DisconnectReason {
    pub(crate) fn from_enet(reason: Option<enet::DisconnectReason>, data: u32) -> Self {
        match reason {
            Some(enet::DisconnectReason::Remote) => DisconnectReason::Remote { data },
            Some(enet::DisconnectReason::Local) => DisconnectReason::Local,
            Some(enet::DisconnectReason::Timeout) => DisconnectReason::Timeout,
            Some(enet::DisconnectReason::Refused) => DisconnectReason::Refused,
            // `None`, or a reason this crate does not know yet.
            _ => DisconnectReason::Lost,
        }
    }
}

/// A change in the set of connected peers, with the reason of a disconnect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerEvent {
    /// A peer connected (Godot's `peer_connected`).
    Connected {
        /// Its id.
        id: i32,
    },
    /// A peer disconnected (Godot's `peer_disconnected`).
    Disconnected {
        /// Its id.
        id: i32,
        /// Why.
        reason: DisconnectReason,
    },
}

impl PeerEvent {
    /// The Godot signal this event stands for.
    pub fn to_godot(self) -> crate::MultiplayerEvent {
        match self {
            PeerEvent::Connected { id } => crate::MultiplayerEvent::PeerConnected(id),
            PeerEvent::Disconnected { id, .. } => crate::MultiplayerEvent::PeerDisconnected(id),
        }
    }
}

/// How [`crate::EnetMultiplayerPeer::start_server`] starts a server.
///
/// ```
/// let cfg = enet_multiplayer::ServerConfig::new(7777).bind("127.0.0.1").max_clients(8);
/// assert_eq!((cfg.port, cfg.max_clients), (7777, 8));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// UDP port (0 = ephemeral).
    pub port: u16,
    /// Bind address: `"*"` (all interfaces) or an IP literal.
    pub bind: String,
    /// Most clients at once (1..=4095).
    pub max_clients: usize,
    /// User channels (0 = as many as possible, else 1..=253 on top of the two system ones).
    pub max_channels: usize,
    /// Incoming bandwidth in bytes/s (0 = unlimited).
    pub in_bandwidth: u32,
    /// Outgoing bandwidth in bytes/s (0 = unlimited).
    pub out_bandwidth: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 0,
            bind: "*".to_string(),
            max_clients: 32,
            max_channels: 0,
            in_bandwidth: 0,
            out_bandwidth: 0,
        }
    }
}

impl ServerConfig {
    /// The defaults on `port`: all interfaces, 32 clients, all channels, no bandwidth limits.
    pub fn new(port: u16) -> Self {
        ServerConfig {
            port,
            ..Default::default()
        }
    }
    /// Sets the bind address (`"*"` or an IP literal).
    pub fn bind(mut self, ip: &str) -> Self {
        self.bind = ip.to_string();
        self
    }
    /// Sets the most clients at once.
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n;
        self
    }
    /// Sets the number of user channels.
    pub fn max_channels(mut self, n: usize) -> Self {
        self.max_channels = n;
        self
    }
    /// Sets the incoming and outgoing bandwidth limits (bytes/s, 0 = unlimited).
    pub fn bandwidth(mut self, incoming: u32, outgoing: u32) -> Self {
        self.in_bandwidth = incoming;
        self.out_bandwidth = outgoing;
        self
    }
}

/// How [`crate::EnetMultiplayerPeer::start_client`] connects.
///
/// ```
/// let cfg = enet_multiplayer::ClientConfig::new("127.0.0.1", 7777).id(42);
/// assert_eq!(cfg.id, Some(42));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Server address: IP literal or host name.
    pub address: String,
    /// Server port.
    pub port: u16,
    /// User channels requested (0 = as many as possible, else 1..=253).
    pub channel_count: usize,
    /// Incoming bandwidth in bytes/s (0 = unlimited).
    pub in_bandwidth: u32,
    /// Outgoing bandwidth in bytes/s (0 = unlimited).
    pub out_bandwidth: u32,
    /// Local port (0 = ephemeral); bound on [`Self::bind`].
    pub local_port: u16,
    /// Local bind address when `local_port` is set (`"*"` or an IP literal).
    pub bind: String,
    /// Our peer id (2..=2³¹−1); `None` draws a random one as Godot does.
    pub id: Option<u32>,
}

impl ClientConfig {
    /// Connects to `address:port` with the defaults: all channels, no bandwidth limits,
    /// ephemeral local port, random id.
    pub fn new(address: &str, port: u16) -> Self {
        ClientConfig {
            address: address.to_string(),
            port,
            channel_count: 0,
            in_bandwidth: 0,
            out_bandwidth: 0,
            local_port: 0,
            bind: "*".to_string(),
            id: None,
        }
    }
    /// Sets the number of user channels requested.
    pub fn channel_count(mut self, n: usize) -> Self {
        self.channel_count = n;
        self
    }
    /// Sets the incoming and outgoing bandwidth limits (bytes/s, 0 = unlimited).
    pub fn bandwidth(mut self, incoming: u32, outgoing: u32) -> Self {
        self.in_bandwidth = incoming;
        self.out_bandwidth = outgoing;
        self
    }
    /// Binds the client to `ip:port` locally.
    pub fn local(mut self, ip: &str, port: u16) -> Self {
        self.bind = ip.to_string();
        self.local_port = port;
        self
    }
    /// Uses this peer id instead of a random one.
    pub fn id(mut self, id: u32) -> Self {
        self.id = Some(id);
        self
    }
}

/// [`crate::EnetMultiplayerPeer::add_mesh_peer`] refused the connection: the reason, and the
/// connection itself, handed back unchanged.
#[derive(thiserror::Error)]
#[error("add_mesh_peer refused the connection: {error}")]
pub struct AddMeshPeerError {
    /// Why.
    #[source]
    pub error: enet::Error,
    /// The connection that was passed in (boxed: it is large, and errors travel by value).
    pub host: Box<EnetConnection>,
}

impl std::fmt::Debug for AddMeshPeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddMeshPeerError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl AddMeshPeerError {
    /// Godot's error code of the reason (as `add_mesh_peer` returns it in Godot).
    pub fn godot_code(&self) -> i32 {
        self.error.godot_code()
    }

    /// The connection back.
    pub fn into_host(self) -> EnetConnection {
        *self.host
    }
}

impl From<AddMeshPeerError> for enet::Error {
    fn from(e: AddMeshPeerError) -> Self {
        e.error
    }
}
