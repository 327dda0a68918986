//! Interop test support against the C ENet library.
//!
//! The build script compiles `csrc/cpeer.c` against the system C ENet
//! (Debian `libenet-dev` 1.3.17) into a small scriptable program, the *C
//! peer*. [`CPeer`] spawns it as a server or a client, writes commands to its
//! stdin and parses the lines it prints on stdout into [`CEvent`]s, with
//! timeouts. The crate itself is also linked with `-lenet`, so tests may call
//! the C library directly through FFI (only under the cfg `enet_c`, which the build
//! script sets when it found the library).
//!
//! Without the C library the crate still builds: [`CPEER_BIN`] is `None`, spawning a
//! C peer fails with an error, and every C-interop test starts with
//! `if !enet_interop::require_c_library() { return; }`, which prints [`SKIP_MESSAGE`]
//! (or fails under `ENET_REQUIRE_REFERENCES`).
//!
//! # The C peer's protocol
//!
//! Command line (built by [`CPeerOpts`]):
//!
//! ```text
//! cpeer server --port P [--bind ADDR] [--peers N] [--channels N] [--godot-ids] [common]
//! cpeer client --host H --port P [--bind ADDR] [--channels N] [--data D] [common]
//! common: --checksum --range-coder --echo --print-data --in-bw N --out-bw N --mtu N --greet N
//! ```
//!
//! * `--bind` defaults to `127.0.0.1` for both kinds; a client binds port 0.
//! * server `--port 0` picks an ephemeral port; `--peers` defaults to 32,
//!   `--channels` is the host channel limit (default 0 = ENet's maximum, 255).
//! * client `--channels` is the channel count asked for (default 2), `--data`
//!   the connect data (default 0).
//! * `--checksum` sets `host->checksum = enet_crc32`; `--range-coder` calls
//!   `enet_host_compress_with_range_coder`.
//! * `--greet N` sends [`pattern`]`(`[`GREET_SEED`]`, N)` reliably on channel 0 to
//!   every peer from inside the connect handler, flushed at once.
//! * `--echo` sends every received packet back to its sender on the same
//!   channel with the received flags masked to RELIABLE|UNSEQUENCED|
//!   UNRELIABLE_FRAGMENT, plus UNRELIABLE_FRAGMENT whenever RELIABLE is not
//!   set (so large unreliable packets stay unreliable on the way back).
//! * `--godot-ids` (server): CONNECT data is a Godot peer id; ids < 2 or ids in
//!   use are refused with `enet_peer_reset` and reported as `refused <data>`.
//! * `--print-data` appends a hex dump of every received payload.
//!
//! Stdout lines (each one parsed by [`CEvent::parse`]):
//!
//! ```text
//! listening <port>                                   server, first line
//! connecting <port>                                  client, first line (its local port)
//! connect <peer> <data> <channels> <mtu>
//! receive <peer> <channel> <len> <flags> <crc32hex> <seed|-> [<hex>|-]
//! disconnect <peer> <data>
//! refused <data>
//! sent <count>
//! stats host k=v ... / stats <peer> k=v ... / stats end
//! ok <command>
//! bye
//! error <text>
//! ```
//!
//! `<peer>` is the index of the ENet peer in the C host's peer array (always
//! 0 on a client). `<flags>` is the received `packet->flags` in decimal
//! (see [`flags`]). `<seed>` is given when the payload is exactly
//! [`pattern`]`(seed, len)`.
//!
//! Stdin commands (one per line; see the C file's header for details):
//!
//! ```text
//! send <peer|all> <channel> <flags> <len> <seed>          -> sent <n>
//! sendn <count> <peer|all> <channel> <flags> <len> <seed0> -> sent <n>
//! sendhex <peer|all> <channel> <flags> <hex>              -> sent <n>
//! disconnect|disconnect_now|disconnect_later <peer|all> <data>   -> ok <cmd>
//! reset <peer|all>                                        -> ok reset
//! timeout <peer|all> <limit> <min> <max>                  -> ok timeout
//! ping_interval <peer|all> <ms>                           -> ok ping_interval
//! flush                                                   -> ok flush
//! stats                                                   -> stats ... lines
//! quit          (also stdin EOF): graceful disconnect, ~200 ms service, bye, exit 0
//! ```
//!
//! `<flags>` is a `+`-separated list of `reliable`, `unreliable`,
//! `unsequenced`, `unreliable-fragment` or numbers; [`flags_arg`] builds it.
//! `sendn` sends seeds `seed0 .. seed0+count-1`, flushing every 64 packets.

#![warn(missing_docs)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Path of the C peer executable built by `build.rs`; `None` when the build found no C
/// ENet library (or `ENET_INTEROP_FORCE_MISSING=1` was set at build time).
pub const CPEER_BIN: Option<&str> = option_env!("ENET_CPEER_BIN");

/// Returns the path of the C peer executable, `None` without the C library.
pub fn cpeer_bin() -> Option<&'static Path> {
    CPEER_BIN.map(Path::new)
}

/// What a C-interop test prints when it skips.
pub const SKIP_MESSAGE: &str =
    "SKIPPED: C library not found (apt-get install libenet-dev pkg-config)";

/// Whether the C library (and so the C peer and the FFI) is available to this build.
///
/// Call it first in every test that needs the C library and return early on `false`:
/// without the library it prints [`SKIP_MESSAGE`] and returns `false`, unless the
/// environment variable `ENET_REQUIRE_REFERENCES` is set (as CI does), in which case a
/// missing library fails the test (panics). With the library it returns `true`.
pub fn require_c_library() -> bool {
    if CPEER_BIN.is_some() {
        return true;
    }
    if std::env::var_os("ENET_REQUIRE_REFERENCES").is_some() {
        panic!("ENET_REQUIRE_REFERENCES is set but the C library was not found at build time (apt-get install libenet-dev pkg-config)");
    }
    eprintln!("{SKIP_MESSAGE}");
    false
}

/// ENet packet flag bits, as in `enet.h` (`ENetPacketFlag`).
pub mod flags {
    /// `ENET_PACKET_FLAG_RELIABLE`.
    pub const RELIABLE: u32 = 1 << 0;
    /// `ENET_PACKET_FLAG_UNSEQUENCED`.
    pub const UNSEQUENCED: u32 = 1 << 1;
    /// `ENET_PACKET_FLAG_NO_ALLOCATE` (the C peer never sends with it).
    pub const NO_ALLOCATE: u32 = 1 << 2;
    /// `ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT`. The C library also sets it on
    /// received packets that arrived as unreliable fragments.
    pub const UNRELIABLE_FRAGMENT: u32 = 1 << 3;
    /// `ENET_PACKET_FLAG_SENT`.
    pub const SENT: u32 = 1 << 8;
}

/// Formats ENet packet flag bits as the C peer's `<flags>` argument, e.g.
/// `flags_arg(flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT)` is
/// `"unsequenced+unreliable-fragment"`, and `flags_arg(0)` is `"unreliable"`.
pub fn flags_arg(bits: u32) -> String {
    let mut parts = Vec::new();
    if bits & flags::RELIABLE != 0 {
        parts.push("reliable".to_owned());
    }
    if bits & flags::UNSEQUENCED != 0 {
        parts.push("unsequenced".to_owned());
    }
    if bits & flags::UNRELIABLE_FRAGMENT != 0 {
        parts.push("unreliable-fragment".to_owned());
    }
    let rest = bits & !(flags::RELIABLE | flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT);
    if rest != 0 {
        parts.push(rest.to_string());
    }
    if parts.is_empty() {
        "unreliable".to_owned()
    } else {
        parts.join("+")
    }
}

/// Byte `index` of [`pattern`]`(seed, ..)`.
fn pattern_byte(seed: u32, index: usize) -> u8 {
    if index < 4 {
        return (seed >> (8 * index)) as u8;
    }
    let mut h = seed ^ (index as u32).wrapping_mul(0x9E37_79B1);
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h as u8
}

/// The deterministic payload the C peer sends for `seed` (identical to
/// `pattern_fill` in `cpeer.c`). Bytes `0..min(4, len)` are the seed in
/// little-endian order; every byte `i >= 4` is the low byte of a 32-bit hash
/// of `seed` and `i` (wrapping arithmetic):
///
/// ```text
/// h = seed ^ (i * 0x9E3779B1); h *= 0x85EBCA6B; h ^= h >> 13;
/// h *= 0xC2B2AE35; h ^= h >> 16; byte = h & 0xFF
/// ```
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| pattern_byte(seed, i)).collect()
}

/// Returns `Some(seed)` if `data` is exactly [`pattern`]`(seed, data.len())`
/// for the seed held in its first four bytes (what the C peer prints as the
/// `<seed>` field). Payloads shorter than 4 bytes give `None`.
pub fn pattern_seed(data: &[u8]) -> Option<u32> {
    if data.len() < 4 {
        return None;
    }
    let seed = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    data.iter()
        .enumerate()
        .skip(4)
        .all(|(i, &b)| b == pattern_byte(seed, i))
        .then_some(seed)
}

/// The seed of the greeting a C peer started with `--greet` sends ([`CPeerOpts::greet`]).
pub const GREET_SEED: u32 = 4711;

/// Standard (zlib-compatible) CRC-32 of `bytes`, as printed by the C peer.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Options for spawning a [`CPeer`]; each field maps to one command-line
/// option of the C peer. Start from [`CPeerOpts::new`] and chain the builder
/// methods.
#[derive(Clone, Debug, Default)]
pub struct CPeerOpts {
    /// Server only: UDP port to bind; 0 (the default) picks an ephemeral one.
    pub port: u16,
    /// Local address to bind (`--bind`); `None` means the C peer's default,
    /// `127.0.0.1`.
    pub bind: Option<String>,
    /// Server only: number of peer slots (`--peers`, C default 32).
    pub peers: Option<u32>,
    /// Server: channel limit; client: channel count requested (`--channels`).
    pub channels: Option<u32>,
    /// Client only: connect data (`--data`).
    pub data: Option<u32>,
    /// Enable ENet's CRC-32 checksums (`--checksum`).
    pub checksum: bool,
    /// Enable ENet's range coder (`--range-coder`).
    pub range_coder: bool,
    /// Echo every received packet back (`--echo`).
    pub echo: bool,
    /// Server only: Godot-style id checks on connect (`--godot-ids`).
    pub godot_ids: bool,
    /// Append hex dumps of payloads to receive events (`--print-data`).
    pub print_data: bool,
    /// Incoming bandwidth given to `enet_host_create` (`--in-bw`).
    pub in_bandwidth: Option<u32>,
    /// Outgoing bandwidth given to `enet_host_create` (`--out-bw`).
    pub out_bandwidth: Option<u32>,
    /// `host->mtu` (`--mtu`).
    pub mtu: Option<u32>,
    /// On every connect, send [`pattern`]`(`[`GREET_SEED`]`, n)` reliably on channel 0
    /// from inside the connect handler (`--greet n`, 1..=1024).
    pub greet: Option<u32>,
    /// Extra raw arguments appended to the command line.
    pub extra_args: Vec<String>,
}

impl CPeerOpts {
    /// Default options (ephemeral server port, everything else off/default).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`CPeerOpts::port`].
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Sets [`CPeerOpts::bind`].
    pub fn bind(mut self, addr: &str) -> Self {
        self.bind = Some(addr.to_owned());
        self
    }
    /// Sets [`CPeerOpts::peers`].
    pub fn peers(mut self, n: u32) -> Self {
        self.peers = Some(n);
        self
    }
    /// Sets [`CPeerOpts::channels`].
    pub fn channels(mut self, n: u32) -> Self {
        self.channels = Some(n);
        self
    }
    /// Sets [`CPeerOpts::data`].
    pub fn data(mut self, d: u32) -> Self {
        self.data = Some(d);
        self
    }
    /// Sets [`CPeerOpts::checksum`].
    pub fn checksum(mut self) -> Self {
        self.checksum = true;
        self
    }
    /// Sets [`CPeerOpts::range_coder`].
    pub fn range_coder(mut self) -> Self {
        self.range_coder = true;
        self
    }
    /// Sets [`CPeerOpts::echo`].
    pub fn echo(mut self) -> Self {
        self.echo = true;
        self
    }
    /// Sets [`CPeerOpts::godot_ids`].
    pub fn godot_ids(mut self) -> Self {
        self.godot_ids = true;
        self
    }
    /// Sets [`CPeerOpts::print_data`].
    pub fn print_data(mut self) -> Self {
        self.print_data = true;
        self
    }
    /// Sets [`CPeerOpts::in_bandwidth`] and [`CPeerOpts::out_bandwidth`].
    pub fn bandwidth(mut self, incoming: u32, outgoing: u32) -> Self {
        self.in_bandwidth = Some(incoming);
        self.out_bandwidth = Some(outgoing);
        self
    }
    /// Sets [`CPeerOpts::mtu`].
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }
    /// Sets [`CPeerOpts::greet`].
    pub fn greet(mut self, len: u32) -> Self {
        self.greet = Some(len);
        self
    }
    /// Appends one raw argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_owned());
        self
    }

    /// Options shared by both kinds.
    fn common_args(&self, args: &mut Vec<String>) {
        let mut num = |name: &str, v: Option<u32>| {
            if let Some(v) = v {
                args.push(name.to_owned());
                args.push(v.to_string());
            }
        };
        num("--channels", self.channels);
        num("--in-bw", self.in_bandwidth);
        num("--out-bw", self.out_bandwidth);
        num("--mtu", self.mtu);
        num("--greet", self.greet);
        if let Some(b) = &self.bind {
            args.push("--bind".into());
            args.push(b.clone());
        }
        for (on, name) in [
            (self.checksum, "--checksum"),
            (self.range_coder, "--range-coder"),
            (self.echo, "--echo"),
            (self.print_data, "--print-data"),
        ] {
            if on {
                args.push(name.into());
            }
        }
    }

    /// The C peer's command line for a server with these options.
    pub fn server_args(&self) -> Vec<String> {
        let mut args = vec![
            "server".to_owned(),
            "--port".to_owned(),
            self.port.to_string(),
        ];
        if let Some(n) = self.peers {
            args.push("--peers".into());
            args.push(n.to_string());
        }
        if self.godot_ids {
            args.push("--godot-ids".into());
        }
        self.common_args(&mut args);
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// The C peer's command line for a client of `host:port` with these
    /// options.
    pub fn client_args(&self, host: &str, port: u16) -> Vec<String> {
        let mut args = vec![
            "client".to_owned(),
            "--host".to_owned(),
            host.to_owned(),
            "--port".to_owned(),
            port.to_string(),
        ];
        if let Some(d) = self.data {
            args.push("--data".into());
            args.push(d.to_string());
        }
        self.common_args(&mut args);
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A `connect` event: a peer reached the CONNECTED state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectInfo {
    /// Index of the peer in the C host's peer array.
    pub peer: u32,
    /// The CONNECT event's data (the client's connect data on a server, 0 on
    /// a client).
    pub data: u32,
    /// Negotiated channel count (`peer->channelCount`).
    pub channels: u32,
    /// Negotiated MTU (`peer->mtu`).
    pub mtu: u32,
}

/// A `receive` event: one packet delivered by the C library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Index of the sending peer in the C host's peer array.
    pub peer: u32,
    /// Channel the packet arrived on.
    pub channel: u8,
    /// Payload length in bytes.
    pub len: usize,
    /// `packet->flags` as seen by the receiver (see [`flags`]).
    pub flags: u32,
    /// CRC-32 of the payload (see [`crc32`]).
    pub crc: u32,
    /// The seed if the payload is exactly [`pattern`]`(seed, len)`.
    pub seed: Option<u32>,
    /// The payload, only when the peer runs with `--print-data`.
    pub data: Option<Vec<u8>>,
}

impl Received {
    /// True if this packet is exactly [`pattern`]`(seed, len)` with this
    /// length, checked by seed and by CRC.
    pub fn is_pattern(&self, seed: u32, len: usize) -> bool {
        self.len == len && self.seed == Some(seed) && self.crc == crc32(&pattern(seed, len))
    }
}

/// One line printed by the C peer, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CEvent {
    /// `listening <port>`: a server's bound UDP port (first line).
    Listening {
        /// Bound UDP port.
        port: u16,
    },
    /// `connecting <port>`: a client started connecting from this local port
    /// (first line).
    Connecting {
        /// The client's local UDP port.
        port: u16,
    },
    /// `connect ...`: ENET_EVENT_TYPE_CONNECT.
    Connect(ConnectInfo),
    /// `receive ...`: ENET_EVENT_TYPE_RECEIVE.
    Receive(Received),
    /// `disconnect <peer> <data>`: ENET_EVENT_TYPE_DISCONNECT.
    Disconnect {
        /// Peer index.
        peer: u32,
        /// The event's data (the remote's disconnect data, or 0).
        data: u32,
    },
    /// `refused <data>`: `--godot-ids` reset a connecting peer.
    Refused {
        /// The refused connect data (Godot peer id).
        data: u32,
    },
    /// `sent <count>`: a `send`/`sendn` command finished; `count` packets
    /// were accepted by `enet_peer_send`.
    Sent {
        /// Number of packets accepted.
        count: u32,
    },
    /// `stats <subject> k=v ...`: one line of a `stats` report; `subject` is
    /// `host`, a peer index, or `end` (the last line, with no values).
    Stats {
        /// `host`, a peer index, or `end`.
        subject: String,
        /// The key/value pairs in printed order.
        values: Vec<(String, u64)>,
    },
    /// `ok <command>`: a command without other output was carried out.
    Done(String),
    /// `bye`: the peer is exiting cleanly.
    Bye,
    /// `error <text>`: a bad command or a failure inside the C peer.
    Error(String),
    /// Any line that does not parse as one of the above.
    Other(String),
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return Some(Vec::new());
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl CEvent {
    /// Parses one stdout line of the C peer; unknown or malformed lines give
    /// [`CEvent::Other`].
    pub fn parse(line: &str) -> CEvent {
        Self::try_parse(line).unwrap_or_else(|| CEvent::Other(line.to_owned()))
    }

    fn try_parse(line: &str) -> Option<CEvent> {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("error ") {
            return Some(CEvent::Error(rest.to_owned()));
        }
        let t: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| -> Option<u32> { t.get(i)?.parse().ok() };
        Some(match (t[0], t.len()) {
            ("listening", 2) => CEvent::Listening {
                port: t[1].parse().ok()?,
            },
            ("connecting", 2) => CEvent::Connecting {
                port: t[1].parse().ok()?,
            },
            ("connect", 5) => CEvent::Connect(ConnectInfo {
                peer: n(1)?,
                data: n(2)?,
                channels: n(3)?,
                mtu: n(4)?,
            }),
            ("receive", 7 | 8) => CEvent::Receive(Received {
                peer: n(1)?,
                channel: t[2].parse().ok()?,
                len: t[3].parse().ok()?,
                flags: n(4)?,
                crc: u32::from_str_radix(t[5], 16).ok()?,
                seed: if t[6] == "-" {
                    None
                } else {
                    Some(t[6].parse().ok()?)
                },
                data: match t.get(7) {
                    Some(h) => Some(parse_hex(h)?),
                    None => None,
                },
            }),
            ("disconnect", 3) => CEvent::Disconnect {
                peer: n(1)?,
                data: n(2)?,
            },
            ("refused", 2) => CEvent::Refused { data: n(1)? },
            ("sent", 2) => CEvent::Sent { count: n(1)? },
            ("stats", len) if len >= 2 => CEvent::Stats {
                subject: t[1].to_owned(),
                values: t[2..]
                    .iter()
                    .map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        Some((k.to_owned(), v.parse().ok()?))
                    })
                    .collect::<Option<Vec<_>>>()?,
            },
            ("ok", 2) => CEvent::Done(t[1].to_owned()),
            ("bye", 1) => CEvent::Bye,
            _ => return None,
        })
    }
}

/// Result of [`CPeer::stats`]: the values of one `stats` report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsReport {
    /// Host-wide values (`peers`, `connected`, `sent_packets`, `sent_bytes`,
    /// `recv_packets`, `recv_bytes`).
    pub host: BTreeMap<String, u64>,
    /// Per peer index (peers not DISCONNECTED): `state`, `rtt`, `rtt_var`,
    /// `mtu`, `window`, `in_transit`, `packets_sent`, `packets_lost`,
    /// `packet_loss`, `throttle`, `channels`, `data_total_in`,
    /// `data_total_out`.
    pub peers: BTreeMap<u32, BTreeMap<String, u64>>,
}

/// How many raw stdout lines a [`CPeer`] remembers for diagnostics.
const HISTORY: usize = 40;

/// A running C peer process. Killed (and reaped) when dropped.
///
/// Events are read by a background thread; [`CPeer::next_event`] returns
/// them in order. The `expect*` helpers search for a matching event and keep
/// the events they skip in a backlog that later calls see first, so nothing
/// is lost.
pub struct CPeer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    eof: bool,
    backlog: VecDeque<CEvent>,
    history: VecDeque<String>,
    port: u16,
}

impl CPeer {
    /// Spawns the C peer with raw arguments and waits up to 10 s for its
    /// first line, which must be `listening <port>` or `connecting <port>`.
    pub fn try_spawn(name: &str, args: &[String]) -> io::Result<CPeer> {
        let bin = CPEER_BIN.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, SKIP_MESSAGE))?;
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name(format!("cpeer-{name}-stdout"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    match line {
                        Ok(l) => {
                            if tx.send(l).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
            })?;
        let mut peer = CPeer {
            name: name.to_owned(),
            child,
            stdin,
            rx,
            eof: false,
            backlog: VecDeque::new(),
            history: VecDeque::new(),
            port: 0,
        };
        match peer.pull(Instant::now() + Duration::from_secs(10)) {
            Some(CEvent::Listening { port } | CEvent::Connecting { port }) => {
                peer.port = port;
                Ok(peer)
            }
            other => Err(io::Error::other(format!(
                "C peer {name} ({args:?}) did not start: first event {other:?}"
            ))),
        }
    }

    /// Spawns a C server (see [`CPeerOpts::server_args`]) and waits for its
    /// `listening` line.
    pub fn try_spawn_server(opts: &CPeerOpts) -> io::Result<CPeer> {
        Self::try_spawn("server", &opts.server_args())
    }

    /// Like [`CPeer::try_spawn_server`], panicking on failure.
    pub fn spawn_server(opts: &CPeerOpts) -> CPeer {
        Self::try_spawn_server(opts).unwrap_or_else(|e| panic!("spawn C server: {e}"))
    }

    /// Spawns a C client connecting to `host:port` (see
    /// [`CPeerOpts::client_args`]) and waits for its `connecting` line. The
    /// connection itself completes later (a [`CEvent::Connect`]).
    pub fn try_spawn_client(host: &str, port: u16, opts: &CPeerOpts) -> io::Result<CPeer> {
        Self::try_spawn("client", &opts.client_args(host, port))
    }

    /// Like [`CPeer::try_spawn_client`], panicking on failure.
    pub fn spawn_client(host: &str, port: u16, opts: &CPeerOpts) -> CPeer {
        Self::try_spawn_client(host, port, opts).unwrap_or_else(|e| panic!("spawn C client: {e}"))
    }

    /// The C host's local UDP port: the listening port of a server, the
    /// ephemeral source port of a client.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// OS process id of the C peer.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last raw stdout lines (up to 40), oldest first, for diagnostics.
    pub fn history(&self) -> Vec<String> {
        self.history.iter().cloned().collect()
    }

    /// Writes one command line (a newline is appended) to the C peer's
    /// stdin and flushes it. Panics if the process's stdin is closed.
    pub fn send_line(&mut self, line: &str) {
        let name = self.name.clone();
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("C peer {name}: stdin closed"));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
            panic!(
                "C peer {name}: writing {line:?} failed: {e}; history {:?}",
                self.history
            );
        }
    }

    /// Sends `send <peer> <channel> <flags> <len> <seed>`; `peer` is an index
    /// or `"all"`, `flags` ENet flag bits (see [`flags_arg`]).
    pub fn send(&mut self, peer: &str, channel: u8, flag_bits: u32, len: usize, seed: u32) {
        self.send_line(&format!(
            "send {peer} {channel} {} {len} {seed}",
            flags_arg(flag_bits)
        ));
    }

    /// Sends `sendn <count> <peer> <channel> <flags> <len> <seed0>`.
    pub fn sendn(
        &mut self,
        count: u32,
        peer: &str,
        channel: u8,
        flag_bits: u32,
        len: usize,
        seed0: u32,
    ) {
        self.send_line(&format!(
            "sendn {count} {peer} {channel} {} {len} {seed0}",
            flags_arg(flag_bits)
        ));
    }

    /// Closes the C peer's stdin (it then quits gracefully, as on `quit`).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Takes the next raw line from the reader thread, waiting until
    /// `deadline`. Returns `None` on timeout or end of output.
    fn pull(&mut self, deadline: Instant) -> Option<CEvent> {
        if self.eof {
            return None;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(wait) {
            Ok(line) => {
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                let ev = CEvent::parse(&line);
                self.history.push_back(line);
                Some(ev)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
        }
    }

    /// True once the C peer's stdout has closed and every line was read
    /// (the backlog may still hold events).
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// The next event in order (backlog first), waiting up to `timeout`.
    /// `None` on timeout or when the process has exited and all output was
    /// consumed.
    pub fn next_event(&mut self, timeout: Duration) -> Option<CEvent> {
        if let Some(ev) = self.backlog.pop_front() {
            return Some(ev);
        }
        self.pull(Instant::now() + timeout)
    }

    /// Returns the first event (backlog first, then new ones, up to
    /// `timeout`) for which `pred` is true; the events skipped stay in the
    /// backlog in order. `None` on timeout or end of output.
    pub fn try_expect(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&CEvent) -> bool,
    ) -> Option<CEvent> {
        if let Some(pos) = self.backlog.iter().position(&mut pred) {
            return self.backlog.remove(pos);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let ev = self.pull(deadline)?;
            if pred(&ev) {
                return Some(ev);
            }
            self.backlog.push_back(ev);
        }
    }

    /// Like [`CPeer::try_expect`], but panics (naming `what` and showing the
    /// recent output) on timeout, on end of output, or as soon as an
    /// [`CEvent::Error`] arrives that `pred` does not accept.
    pub fn expect(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&CEvent) -> bool,
    ) -> CEvent {
        let mut error = None;
        let found = self.try_expect(timeout, |ev| {
            if pred(ev) {
                return true;
            }
            if let CEvent::Error(e) = ev {
                error = Some(e.clone());
                return true;
            }
            false
        });
        match (found, error) {
            (Some(CEvent::Error(e)), Some(_)) => {
                self.fail(&format!("expecting {what}: got error `{e}`"))
            }
            (Some(ev), _) => ev,
            (None, _) => self.fail(&format!(
                "timed out after {timeout:?} expecting {what} (eof: {})",
                self.eof
            )),
        }
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "C peer {} (pid {}): {msg}\nbacklog: {:?}\nlast lines: {:#?}",
            self.name,
            self.child.id(),
            self.backlog.iter().take(20).collect::<Vec<_>>(),
            self.history
        )
    }

    /// Waits for a [`CEvent::Connect`] and returns it.
    pub fn expect_connect(&mut self, timeout: Duration) -> ConnectInfo {
        match self.expect(timeout, "connect", |e| matches!(e, CEvent::Connect(_))) {
            CEvent::Connect(c) => c,
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Disconnect`] and returns `(peer, data)`.
    pub fn expect_disconnect(&mut self, timeout: Duration) -> (u32, u32) {
        match self.expect(timeout, "disconnect", |e| {
            matches!(e, CEvent::Disconnect { .. })
        }) {
            CEvent::Disconnect { peer, data } => (peer, data),
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Refused`] and returns its data.
    pub fn expect_refused(&mut self, timeout: Duration) -> u32 {
        match self.expect(timeout, "refused", |e| matches!(e, CEvent::Refused { .. })) {
            CEvent::Refused { data } => data,
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Sent`] and returns its count.
    pub fn expect_sent(&mut self, timeout: Duration) -> u32 {
        match self.expect(timeout, "sent", |e| matches!(e, CEvent::Sent { .. })) {
            CEvent::Sent { count } => count,
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Done`] acknowledging `command`.
    pub fn expect_done(&mut self, command: &str, timeout: Duration) {
        self.expect(
            timeout,
            &format!("ok {command}"),
            |e| matches!(e, CEvent::Done(c) if c == command),
        );
    }

    /// Waits for one [`CEvent::Receive`] and returns it.
    pub fn expect_receive(&mut self, timeout: Duration) -> Received {
        self.expect_receives(1, timeout).pop().expect("one packet")
    }

    /// Collects `count` [`CEvent::Receive`] events in arrival order within
    /// `timeout` in total (other events stay in the backlog). Panics if they
    /// do not all arrive or on an unexpected [`CEvent::Error`].
    pub fn expect_receives(&mut self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::with_capacity(count);
        while got.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!("receive #{} of {count}", got.len() + 1);
            match self.expect(left, &what, |e| matches!(e, CEvent::Receive(_))) {
                CEvent::Receive(r) => got.push(r),
                _ => unreachable!(),
            }
        }
        got
    }

    /// Sends `stats` and collects the report up to its `stats end` line.
    pub fn stats(&mut self, timeout: Duration) -> StatsReport {
        self.send_line("stats");
        let deadline = Instant::now() + timeout;
        let mut report = StatsReport::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = self.expect(left, "stats", |e| matches!(e, CEvent::Stats { .. }));
            let CEvent::Stats { subject, values } = ev else {
                unreachable!()
            };
            let map: BTreeMap<String, u64> = values.into_iter().collect();
            match subject.as_str() {
                "end" => return report,
                "host" => report.host = map,
                idx => match idx.parse() {
                    Ok(i) => {
                        report.peers.insert(i, map);
                    }
                    Err(_) => self.fail(&format!("bad stats subject {idx:?}")),
                },
            }
        }
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `quit`, closes stdin and waits up to `timeout` for a clean exit.
    /// Returns the exit status, or `None` if it did not exit in time (it is
    /// then killed on drop). Events printed meanwhile (disconnects, `bye`)
    /// stay readable.
    pub fn quit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(stdin) = self.stdin.as_mut() {
            // The process may already be gone; a failed write is fine here.
            let _ = writeln!(stdin, "quit").and_then(|_| stdin.flush());
        }
        self.stdin = None;
        self.wait_exit(timeout)
    }
}

impl Drop for CPeer {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for CPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CPeer")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_roundtrip() {
        for &(seed, len) in &[
            (0u32, 0usize),
            (1, 3),
            (7, 4),
            (0xDEAD_BEEF, 1000),
            (u32::MAX, 70_000),
        ] {
            let p = pattern(seed, len);
            assert_eq!(p.len(), len);
            assert_eq!(pattern_seed(&p), if len >= 4 { Some(seed) } else { None });
        }
        assert_ne!(pattern(1, 64), pattern(257, 64));
    }

    #[test]
    fn crc_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn flags_arg_names() {
        assert_eq!(flags_arg(0), "unreliable");
        assert_eq!(flags_arg(flags::RELIABLE), "reliable");
        assert_eq!(
            flags_arg(flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT),
            "unsequenced+unreliable-fragment"
        );
    }

    #[test]
    fn parse_lines() {
        assert_eq!(
            CEvent::parse("listening 1234"),
            CEvent::Listening { port: 1234 }
        );
        assert_eq!(
            CEvent::parse("connect 3 77 4 1400"),
            CEvent::Connect(ConnectInfo {
                peer: 3,
                data: 77,
                channels: 4,
                mtu: 1400
            })
        );
        assert_eq!(
            CEvent::parse("receive 0 1 4 8 0a0b0c0d 5 05000000"),
            CEvent::Receive(Received {
                peer: 0,
                channel: 1,
                len: 4,
                flags: 8,
                crc: 0x0a0b_0c0d,
                seed: Some(5),
                data: Some(vec![5, 0, 0, 0]),
            })
        );
        assert!(matches!(
            CEvent::parse("receive 0 1 2 0 00000000 -"),
            CEvent::Receive(Received { seed: None, .. })
        ));
        assert_eq!(
            CEvent::parse("disconnect 2 42"),
            CEvent::Disconnect { peer: 2, data: 42 }
        );
        assert_eq!(CEvent::parse("refused 1"), CEvent::Refused { data: 1 });
        assert_eq!(CEvent::parse("sent 10"), CEvent::Sent { count: 10 });
        assert_eq!(CEvent::parse("ok flush"), CEvent::Done("flush".into()));
        assert_eq!(CEvent::parse("bye"), CEvent::Bye);
        assert_eq!(
            CEvent::parse("error bad peer 'x'"),
            CEvent::Error("bad peer 'x'".into())
        );
        assert_eq!(
            CEvent::parse("stats 0 rtt=3 mtu=1400"),
            CEvent::Stats {
                subject: "0".into(),
                values: vec![("rtt".into(), 3), ("mtu".into(), 1400)]
            }
        );
        assert_eq!(
            CEvent::parse("connect x"),
            CEvent::Other("connect x".into())
        );
        assert_eq!(CEvent::parse(""), CEvent::Other("".into()));
    }

    #[test]
    fn pattern_matches_c_output() {
        // Values printed by the C peer for `send 0 1 reliable 64 7`.
        assert_eq!(crc32(&pattern(7, 64)), 0x8693_81a9);
        assert_eq!(crc32(&pattern(9, 5000)), 0x1cde_fa6a);
        assert_eq!(crc32(&pattern(3, 10)), 0x0221_2dba);
    }
}
