//! Node and RPC declarations (B.10.3): RPC configs with Godot's defaults, the per-node RPC
//! table (ids are positions in name order) and its checksum (MD5 of the names, B.9).

use enet_multiplayer::TransferMode;

/// `MultiplayerAPI.RPCMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RpcMode {
    /// 0: never callable remotely.
    Disabled,
    /// 1: callable by any peer.
    AnyPeer,
    /// 2 (Godot's default): callable only by the node's multiplayer authority.
    #[default]
    Authority,
}

/// One RPC method's config: a GDScript `@rpc(...)` annotation or a `Node.rpc_config` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// The method name.
    pub name: String,
    /// Who may call it (default `Authority`).
    pub rpc_mode: RpcMode,
    /// Transfer mode (default `Reliable`, as Godot's code does).
    pub transfer_mode: TransferMode,
    /// Whether calling it also calls it locally (default false).
    pub call_local: bool,
    /// Channel (default 0).
    pub channel: i32,
}

impl RpcConfig {
    /// `@rpc` with every default: authority, reliable, not call_local, channel 0.
    pub fn new(name: impl Into<String>) -> Self {
        RpcConfig {
            name: name.into(),
            rpc_mode: RpcMode::Authority,
            transfer_mode: TransferMode::Reliable,
            call_local: false,
            channel: 0,
        }
    }
    /// `@rpc("any_peer")`.
    pub fn any_peer(name: impl Into<String>) -> Self {
        RpcConfig {
            rpc_mode: RpcMode::AnyPeer,
            ..RpcConfig::new(name)
        }
    }
    /// Sets the mode.
    pub fn mode(mut self, m: RpcMode) -> Self {
        self.rpc_mode = m;
        self
    }
    /// Sets the transfer mode.
    pub fn transfer(mut self, t: TransferMode) -> Self {
        self.transfer_mode = t;
        self
    }
    /// Sets `call_local`.
    pub fn call_local(mut self, c: bool) -> Self {
        self.call_local = c;
        self
    }
    /// Sets the channel.
    pub fn channel(mut self, c: i32) -> Self {
        self.channel = c;
        self
    }
}

/// The RPC table of one node: script RPCs (`@rpc`, ids 0, 1, …) and node-level RPCs
/// (`rpc_config`, ids `0x8000 | i`), each sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRpcs {
    script: Vec<RpcConfig>,
    node: Vec<RpcConfig>,
    checksum: String,
    /// The node's multiplayer authority (default 1).
    pub authority: i32,
}

impl NodeRpcs {
    /// A table from script-level configs (what `@rpc` declares in the node's script).
    pub fn new(script: Vec<RpcConfig>) -> Self {
        Self::with_node_level(script, Vec::new())
    }
    /// A table with node-level (`Node.rpc_config`) configs too.
    pub fn with_node_level(mut script: Vec<RpcConfig>, mut node: Vec<RpcConfig>) -> Self {
        script.sort_by(|a, b| a.name.cmp(&b.name));
        node.sort_by(|a, b| a.name.cmp(&b.name));
        script.dedup_by(|a, b| a.name == b.name);
        node.dedup_by(|a, b| a.name == b.name);
        let mut names = Vec::new();
        for c in node.iter().chain(&script) {
            names.extend_from_slice(c.name.as_bytes());
        }
        NodeRpcs {
            script,
            node,
            checksum: md5_hex(&names),
            authority: 1,
        }
    }
    /// The checksum SIMPLIFY_PATH carries: lowercase hex MD5 of the names in id order.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }
    /// The config and id of a method.
    ///
    /// `None` also for a method past the 32,768th of its level (script or node): the wire
    /// id has 15 bits per level (bit 15 marks node level), so such a method cannot be named.
    pub fn by_name(&self, name: &str) -> Option<(u16, &RpcConfig)> {
        /// The 15-bit wire id of position `i`, if it has one.
        fn wire_id(i: usize) -> Option<u16> {
            u16::try_from(i).ok().filter(|&i| i < 0x8000)
        }
        if let Some(i) = self.node.iter().position(|c| c.name == name) {
            return Some((0x8000 | wire_id(i)?, &self.node[i]));
        }
        let i = self.script.iter().position(|c| c.name == name)?;
        Some((wire_id(i)?, &self.script[i]))
    }
    /// The config of an id.
    pub fn by_id(&self, id: u16) -> Option<&RpcConfig> {
        if id & 0x8000 != 0 {
            self.node.get(usize::from(id & 0x7FFF))
        } else {
            self.script.get(usize::from(id))
        }
    }
}

/// MD5 of `data` as 32 lowercase hex characters (RFC 1321).
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // floor(|sin(i + 1)| * 2^32) (RFC 1321), as constants: computing them would make every
    // program using this crate load the system's math library (libm) for one `sin`.
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let k = &K;
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    let mut h = [0x67452301u32, 0xefcdab89, 0x98badcfe, 0x10325476];
    for chunk in msg.chunks_exact(64) {
        let m: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    }
    h.iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}
