//! Creating an [`EnetMultiplayerPeer`]: the server, client and mesh set-ups (Godot's
//! `create_*` and the Rust-first `server` / `client` with their configs), and access to
//! its hosts and peers.

use super::*;
impl EnetMultiplayerPeer {
    /// An inactive peer; use `create_server`, `create_client` or `create_mesh`.
    pub fn new() -> EnetMultiplayerPeer {
        EnetMultiplayerPeer {
            mode: Mode::None,
            unique_id: 0,
            target_peer: 0,
            transfer_mode: TransferMode::Reliable,
            transfer_channel: 0,
            refuse: false,
            status: ConnectionStatus::Disconnected,
            hosts: BTreeMap::new(),
            peers: BTreeMap::new(),
            net_ids: HashMap::new(),
            incoming: VecDeque::new(),
            events: VecDeque::new(),
            bind_ip: "*".to_string(),
            seen_deactivations: 0,
            var: Default::default(),
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.mode != Mode::None
    }

    /// Sets the address `create_server` (and `create_client` with a local port) binds to:
    /// `"*"` or an IP literal.
    pub fn set_bind_ip(&mut self, ip: &str) -> Result<()> {
        enet::address::BindAddress::parse(ip)?;
        self.bind_ip = ip.to_string();
        Ok(())
    }

    /// Common start of `create_server` / `create_client`: refuses when already active and,
    /// as Godot does, clears the refuse flag (even if creation then fails).
    pub(crate) fn begin_create(&mut self) -> Result<()> {
        if self.is_active() {
            return Err(Error::AlreadyInUse);
        }
        self.refuse = false;
        // Nothing from an earlier session surfaces in this one.
        self.events.clear();
        self.incoming.clear();
        Ok(())
    }

    /// Starts a server on `port` for up to `max_clients` (1..=4095) clients, bound to the
    /// address given by [`Self::set_bind_ip`] (Godot's signature; see [`Self::start_server`]).
    ///
    /// `max_channels` (0 = 255) limits the user channels; the two system channels come on
    /// top. Godot 4.3 passes these arguments shifted by one position to ENet (the server
    /// then ignores `in_bandwidth` and advertises `max_channels + 2` bytes/s as its incoming
    /// bandwidth, godotengine/godot#123254); this crate does what Godot's documentation
    /// promises instead: the channel limit is `max_channels + 2` and the bandwidths are the
    /// ones given.
    pub fn create_server(
        &mut self,
        port: u16,
        max_clients: usize,
        max_channels: usize,
        in_bandwidth: u32,
        out_bandwidth: u32,
    ) -> Result<()> {
        let cfg = ServerConfig {
            port,
            bind: self.bind_ip.clone(),
            max_clients,
            max_channels,
            in_bandwidth,
            out_bandwidth,
        };
        self.start_server(&cfg)
    }

    /// A new peer serving as `cfg` says.
    pub fn server(cfg: &ServerConfig) -> Result<EnetMultiplayerPeer> {
        let mut mp = EnetMultiplayerPeer::new();
        mp.start_server(cfg)?;
        Ok(mp)
    }

    /// A new peer connecting as `cfg` says.
    pub fn client(cfg: &ClientConfig) -> Result<EnetMultiplayerPeer> {
        let mut mp = EnetMultiplayerPeer::new();
        mp.start_client(cfg)?;
        Ok(mp)
    }

    /// Starts a server as `cfg` says (the Rust-first [`Self::create_server`]; `cfg.bind`
    /// becomes the bind address).
    pub fn start_server(&mut self, cfg: &ServerConfig) -> Result<()> {
        self.begin_create()?;
        at_most("max_channels", cfg.max_channels, 255)?;
        self.set_bind_ip(&cfg.bind)?;
        let limit = if cfg.max_channels > 0 {
            (cfg.max_channels + SYSCH_MAX).min(255)
        } else {
            0
        };
        let mut host = EnetConnection::new();
        host.create_host_bound(
            &cfg.bind,
            cfg.port,
            cfg.max_clients,
            limit,
            cfg.in_bandwidth,
            cfg.out_bandwidth,
        )?;
        self.hosts.insert(0, host);
        self.mode = Mode::Server;
        self.unique_id = 1;
        self.status = ConnectionStatus::Connected;
        Ok(())
    }

    /// Connects to a server at `address` (IP literal or host name) and `port`.
    ///
    /// `channel_count` user channels are requested (0 = as many as possible); `local_port`
    /// binds the client to a fixed port (0 = ephemeral). The client's id is random and
    /// travels in the CONNECT data. Failure to start the connection (bad port, unresolvable
    /// name) gives [`Error::CantCreate`]-like errors as Godot's `ERR_CANT_CREATE`.
    pub fn create_client(
        &mut self,
        address: &str,
        port: u16,
        channel_count: usize,
        in_bandwidth: u32,
        out_bandwidth: u32,
        local_port: u16,
    ) -> Result<()> {
        self.create_client_with_id(
            address,
            port,
            channel_count,
            in_bandwidth,
            out_bandwidth,
            local_port,
            generate_unique_id(),
        )
    }

    /// [`Self::create_client`] with a chosen peer id instead of a random one (not part of
    /// Godot's API; useful for tools and tests). Godot servers refuse ids below 2 and ids
    /// already in use.
    #[allow(clippy::too_many_arguments)]
    pub fn create_client_with_id(
        &mut self,
        address: &str,
        port: u16,
        channel_count: usize,
        in_bandwidth: u32,
        out_bandwidth: u32,
        local_port: u16,
        id: u32,
    ) -> Result<()> {
        let cfg = ClientConfig {
            address: address.to_string(),
            port,
            channel_count,
            in_bandwidth,
            out_bandwidth,
            local_port,
            bind: self.bind_ip.clone(),
            id: Some(id),
        };
        self.start_client(&cfg)
    }

    /// Connects as `cfg` says (the Rust-first [`Self::create_client`]).
    pub fn start_client(&mut self, cfg: &ClientConfig) -> Result<()> {
        self.begin_create()?;
        at_most("channel_count", cfg.channel_count, 253)?;
        if cfg.local_port != 0 {
            self.set_bind_ip(&cfg.bind)?;
        }
        let (address, port, channel_count, in_bandwidth, out_bandwidth, local_port) = (
            cfg.address.as_str(),
            cfg.port,
            cfg.channel_count,
            cfg.in_bandwidth,
            cfg.out_bandwidth,
            cfg.local_port,
        );
        let id = cfg.id.unwrap_or_else(generate_unique_id);
        let mut host = EnetConnection::new();
        if local_port != 0 {
            host.create_host_bound(
                &self.bind_ip,
                local_port,
                1,
                255,
                in_bandwidth,
                out_bandwidth,
            )?;
        } else {
            host.create_host(1, 255, in_bandwidth, out_bandwidth)?;
        }
        let channels = if channel_count > 0 {
            channel_count + SYSCH_MAX
        } else {
            0
        };
        // Godot: a null `connect_to_host` (bad port, unresolvable name, ...) destroys the
        // host and returns ERR_CANT_CREATE.
        let handle = host
            .connect_to_host(address, port, channels, id)
            .map_err(|e| Error::CantCreate(std::io::Error::other(e.to_string())))?;
        self.unique_id = id as i32;
        self.hosts.insert(0, host);
        self.peers.insert(1, (0, handle));
        self.mode = Mode::Client;
        self.status = ConnectionStatus::Connecting;
        Ok(())
    }

    /// Starts mesh mode with our own id (> 0); peers are added with [`Self::add_mesh_peer`].
    pub fn create_mesh(&mut self, unique_id: i32) -> Result<()> {
        positive_id("unique_id", unique_id)?;
        if self.is_active() {
            return Err(Error::AlreadyInUse);
        }
        self.events.clear();
        self.incoming.clear();
        self.mode = Mode::Mesh;
        self.unique_id = unique_id;
        self.status = ConnectionStatus::Connected;
        Ok(())
    }

    /// Adds a mesh peer: `host` must have exactly one peer, connected, and `peer_id` must be
    /// positive and not in use. Emits `PeerConnected(peer_id)` at once.
    ///
    /// On failure the connection comes back inside the error (Godot drops it), so the caller
    /// can retry, disconnect it gracefully or use it elsewhere; `?` into [`enet::Error`] works.
    pub fn add_mesh_peer(
        &mut self,
        peer_id: i32,
        mut host: EnetConnection,
    ) -> std::result::Result<(), AddMeshPeerError> {
        let check = (|| {
            if self.mode != Mode::Mesh {
                return Err(Error::Unconfigured);
            }
            positive_id("peer_id", peer_id)?;
            if self.peers.contains_key(&peer_id) {
                return Err(Error::AlreadyInUse);
            }
            let peers = host.get_peers();
            if peers.len() != 1 || host.peer(peers[0]).get_state() != PeerState::Connected {
                return Err(Error::InvalidParameter(enet::Invalid::MeshConnection));
            }
            Ok(peers[0])
        })();
        let handle = match check {
            Ok(h) => h,
            Err(error) => {
                return Err(AddMeshPeerError {
                    error,
                    host: Box::new(host),
                })
            }
        };
        self.hosts.insert(peer_id, host);
        self.peers.insert(peer_id, (peer_id, handle));
        self.events.push_back(PeerEvent::Connected { id: peer_id });
        Ok(())
    }

    /// The host of a server or client (not in mesh mode).
    pub fn host(&mut self) -> Option<&mut EnetConnection> {
        match self.mode {
            Mode::Server | Mode::Client => self.hosts.get_mut(&0),
            _ => None,
        }
    }

    /// The ENet peer of a connected peer id (client: only id 1).
    pub fn get_peer(&mut self, id: i32) -> Option<enet::godot::EnetPacketPeer<'_>> {
        if !self.is_active() || (self.mode == Mode::Client && id != 1) {
            return None;
        }
        let (key, h) = *self.peers.get(&id)?;
        Some(self.hosts.get_mut(&key)?.peer(h))
    }

    /// The ids of the connected peers.
    pub fn peer_ids(&self) -> Vec<i32> {
        self.peers.keys().copied().collect()
    }
}

/// `value` of argument `name` is at most `max` (an out-of-range error otherwise).
fn at_most(name: &'static str, value: usize, max: usize) -> Result<()> {
    if value > max {
        return Err(Error::out_of_range(name, value as i64, 0, max as i64));
    }
    Ok(())
}

/// Peer id `id` of argument `name` is positive (an out-of-range error otherwise).
fn positive_id(name: &'static str, id: i32) -> Result<()> {
    if id <= 0 {
        return Err(Error::out_of_range(name, id.into(), 1, i32::MAX.into()));
    }
    Ok(())
}
