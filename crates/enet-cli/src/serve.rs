//! `enet serve`: a Godot-compatible relay/echo server, or a raw ENet echo server.
//!
//! Output goes through a buffered [`Out`], written once per service round (the `listening`
//! line at once); a line per packet only with `--verbose` or a `--decode` view.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use enet::godot::{EnetConnection, EventType};
use enet::CompressionMode;
use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer};
use serde_json::json;

use crate::common::{
    count, flags_mode, mode_name, seconds, stop_flag, usage_error, CliResult, Compress, Out,
};
use crate::payload_view::{Decode, View};

/// Arguments of `enet serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to bind: "*" (all IPv4 and IPv6) or an IP literal.
    #[arg(long, default_value = "*")]
    pub bind: String,
    /// UDP port (0..=65535; 0 = ephemeral, printed in the `listening` line).
    #[arg(long, default_value_t = 7777, value_parser = count::<u16>(0, 65535))]
    pub port: u16,
    /// Most clients at once (1..=4095).
    #[arg(long, default_value_t = 32, value_parser = count::<usize>(1, 4095))]
    pub max_clients: usize,
    /// Channel limit: user channels in Godot mode (0..=253), ENet channels with --raw
    /// (0..=255); 0 = the maximum.
    #[arg(long, default_value_t = 0, value_parser = count::<usize>(0, 255))]
    pub channels: usize,
    /// Datagram compression (Godot's modes; clients must use the same).
    #[arg(long, value_enum, default_value_t = Compress::None)]
    pub compress: Compress,
    /// ENet's CRC-32 checksum on every datagram (C's `enet_crc32`; clients must use it too).
    /// Not a Godot option: Godot servers and clients never checksum.
    #[arg(long)]
    pub checksum: bool,
    /// Echo each packet back to its sender.
    #[arg(long, conflicts_with = "relay")]
    pub echo: bool,
    /// Relay each packet to every other client (the default).
    #[arg(long)]
    pub relay: bool,
    /// Serve plain ENet (any connect data, any channel; always echo with the same flags).
    #[arg(long)]
    pub raw: bool,
    /// Serve Godot's SceneMultiplayer protocol (RPCs, send_bytes, relay): stock Godot 4
    /// clients using `multiplayer.multiplayer_peer` join; every RPC and RAW event is printed.
    #[arg(long, conflicts_with_all = ["raw", "echo"])]
    pub scene: bool,
    /// With --scene: declare node PATH with an any_peer, reliable, channel-0 RPC METHOD and
    /// answer each call with the same RPC and arguments to the caller (repeatable).
    #[arg(long, value_name = "PATH:METHOD", requires = "scene")]
    pub echo_rpc: Vec<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Seconds between stats lines (0..=86400; 0 = none).
    #[arg(long, default_value_t = 5.0, value_parser = seconds(0.0, 86400.0))]
    pub stats_interval: f64,
    /// Also print a line per packet (text and JSON mode; --decode hex/var and --scene print
    /// theirs anyway). Output is written once per service round either way.
    #[arg(long)]
    pub verbose: bool,
    /// Show each packet's payload: text, hex or var (a Godot Variant; see --help). With
    /// hex or var a line per packet is printed in text mode too.
    #[arg(long, value_enum, default_value_t = Decode::Text, long_help = crate::var_json::HELP)]
    pub decode: Decode,
    /// Stop after this many seconds (0..=31536000; 0 = run until SIGINT/SIGTERM).
    #[arg(long, default_value_t = 0.0, value_parser = seconds(0.0, 31_536_000.0))]
    pub duration: f64,
    /// DTLS (build with `--features dtls`).
    #[command(flatten)]
    pub tls: crate::tls::ServeTls,
}

struct Stats {
    packets_in: u64,
    packets_out: u64,
    bytes_in: u64,
    last: Instant,
    last_in: u64,
}

impl Stats {
    /// Whether a stats line is due (`interval` seconds since the last; never for 0).
    fn due(&self, interval: f64) -> bool {
        interval > 0.0 && self.last.elapsed().as_secs_f64() >= interval
    }

    fn new() -> Stats {
        Stats {
            packets_in: 0,
            packets_out: 0,
            bytes_in: 0,
            last: Instant::now(),
            last_in: 0,
        }
    }
}

pub fn run(a: Args) -> CliResult {
    if let Some(r) = crate::tls::check(a.tls.wanted()) {
        return r;
    }
    if !a.raw && a.channels > 253 {
        return usage_error(
            "--channels must be 0..=253 in Godot mode (2 of ENet's 255 are Godot's)",
        );
    }
    let compress = a.compress.mode();
    let stop = stop_flag();
    let out = Out::buffered(a.json);
    let deadline = (a.duration > 0.0).then(|| Instant::now() + Duration::from_secs_f64(a.duration));
    let done = || stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d);
    if a.scene {
        crate::scene::serve_scene(&a, compress, &out, done)
    } else if a.raw {
        serve_raw(&a, compress, &out, done)
    } else {
        serve_godot(&a, compress, &out, done)
    }
}

/// `, dtls` in the text `listening` line of a DTLS server.
pub(crate) fn dtls_note(dtls: bool) -> &'static str {
    if dtls {
        ", dtls"
    } else {
        ""
    }
}

/// ` hex=...` or ` var=...` (or ` var_error: ...`) for a packet line; empty without a view.
fn payload_suffix(view: Option<&View>) -> String {
    match view {
        None | Some(View::Text(_)) => String::new(),
        Some(v @ View::Hex(_)) => format!(" hex={}", v.text()),
        Some(v @ View::Var(_)) => format!(" var={}", v.text()),
        Some(v @ View::VarError(_)) => format!(" {}", v.text()),
    }
}

fn stats_line(out: &Out, s: &mut Stats, peers: usize, interval: f64) {
    if !s.due(interval) {
        return;
    }
    let secs = s.last.elapsed().as_secs_f64();
    let rate = (s.packets_in - s.last_in) as f64 / secs;
    s.last = Instant::now();
    s.last_in = s.packets_in;
    out.emit(
        || {
            format!(
                "stats peers={peers} in={} out={} bytes_in={} msgs/s={rate:.0}",
                s.packets_in, s.packets_out, s.bytes_in
            )
        },
        || {
            json!({"event": "stats", "peers": peers, "packets_in": s.packets_in,
                   "packets_out": s.packets_out, "bytes_in": s.bytes_in, "msgs_per_sec": rate})
        },
    );
}

fn serve_godot(
    a: &Args,
    compress: CompressionMode,
    out: &Out,
    done: impl Fn() -> bool,
) -> CliResult {
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip(&a.bind)
        .map_err(|e| format!("--bind {:?}: {e}", a.bind))?;
    mp.create_server(a.port, a.max_clients, a.channels, 0, 0)
        .map_err(|e| format!("cannot serve on port {}: {e}", a.port))?;
    let host = mp.host().expect("server has a host");
    host.compress(compress).map_err(|e| e.to_string())?;
    host.set_checksum(a.checksum).map_err(|e| e.to_string())?;
    let dtls = crate::tls::server_setup(host, &a.tls)?;
    let addr = host.local_addr().map_err(|e| e.to_string())?;
    out.emit(
        || {
            format!(
                "listening on {addr} (godot mode, {}{})",
                if a.echo { "echo" } else { "relay" },
                dtls_note(dtls)
            )
        },
        || json!({"event": "listening", "addr": addr.to_string(), "mode": "godot", "dtls": dtls}),
    );
    out.flush();
    let per_packet = a.verbose || a.decode != Decode::Text;
    let mut stats = Stats::new();
    while !done() {
        mp.poll_with_timeout(Duration::from_millis(20));
        while let Some(ev) = mp.poll_event() {
            match ev {
                MultiplayerEvent::PeerConnected(id) => {
                    let peer_addr = mp
                        .get_peer(id)
                        .and_then(|p| p.remote_addr().ok())
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    out.emit(
                        || format!("peer_connected id={id} addr={peer_addr}"),
                        || json!({"event": "peer_connected", "id": id, "addr": peer_addr}),
                    );
                }
                MultiplayerEvent::PeerDisconnected(id) => out.emit(
                    || format!("peer_disconnected id={id}"),
                    || json!({"event": "peer_disconnected", "id": id}),
                ),
            }
        }
        // Counted once per round: relaying must not cost O(peers) per packet.
        let others = if a.echo {
            0
        } else {
            mp.peer_ids().len().saturating_sub(1)
        };
        while mp.get_available_packet_count() > 0 {
            let from = mp.get_packet_peer();
            let channel = mp.get_packet_channel();
            let mode = mp.get_packet_mode();
            let Ok(data) = mp.get_packet() else { break };
            stats.packets_in += 1;
            stats.bytes_in += data.len() as u64;
            if per_packet {
                let view = (a.decode != Decode::Text).then(|| View::of(a.decode, &data));
                out.emit(
                    || {
                        format!(
                            "packet from={from} channel={channel} mode={} len={}{}",
                            mode_name(mode),
                            data.len(),
                            payload_suffix(view.as_ref())
                        )
                    },
                    || {
                        let mut j = json!({"event": "packet", "from": from, "channel": channel,
                              "mode": mode_name(mode), "len": data.len()});
                        if let Some(v) = &view {
                            v.add_to(&mut j);
                        }
                        j
                    },
                );
            }
            mp.set_transfer_mode(mode);
            mp.set_transfer_channel(channel);
            let targets = if a.echo {
                mp.set_target_peer(from);
                1
            } else {
                mp.set_target_peer(-from);
                others
            };
            if targets > 0 && mp.put_packet(&data).is_ok() {
                stats.packets_out += targets as u64;
            }
        }
        if stats.due(a.stats_interval) {
            stats_line(out, &mut stats, mp.peer_ids().len(), a.stats_interval);
        }
        out.flush();
    }
    // Graceful shutdown: disconnect everyone and wait briefly for the acknowledgements.
    let ids = mp.peer_ids();
    for id in &ids {
        mp.disconnect_peer(*id, false);
    }
    let end = Instant::now() + Duration::from_secs(2);
    while !mp.peer_ids().is_empty() && Instant::now() < end {
        mp.poll_with_timeout(Duration::from_millis(10));
        while mp.poll_event().is_some() {}
    }
    mp.close();
    out.emit(
        || format!("stopped after {} packets in, {} out", stats.packets_in, stats.packets_out),
        || json!({"event": "stopped", "packets_in": stats.packets_in, "packets_out": stats.packets_out}),
    );
    Ok(0)
}

fn serve_raw(a: &Args, compress: CompressionMode, out: &Out, done: impl Fn() -> bool) -> CliResult {
    let mut conn = EnetConnection::new();
    conn.create_host_bound(&a.bind, a.port, a.max_clients, a.channels, 0, 0)
        .map_err(|e| format!("cannot serve on port {}: {e}", a.port))?;
    conn.compress(compress).map_err(|e| e.to_string())?;
    conn.set_checksum(a.checksum).map_err(|e| e.to_string())?;
    let dtls = crate::tls::server_setup(&mut conn, &a.tls)?;
    let addr = conn.local_addr().map_err(|e| e.to_string())?;
    out.emit(
        || format!("listening on {addr} (raw ENet echo{})", dtls_note(dtls)),
        || json!({"event": "listening", "addr": addr.to_string(), "mode": "raw", "dtls": dtls}),
    );
    out.flush();
    let per_packet = a.verbose || a.decode != Decode::Text;
    let mut stats = Stats::new();
    while !done() {
        // One round: wait for the first event, then take every event already queued, then
        // write the round's output at once.
        let mut ev = conn
            .service(Duration::from_millis(20))
            .map_err(|e| e.to_string())?;
        while !matches!(ev.kind, EventType::None | EventType::Error) {
            raw_event(&mut conn, ev, a, per_packet, out, &mut stats);
            ev = conn.check_events().map_err(|e| e.to_string())?;
        }
        if stats.due(a.stats_interval) {
            let n = conn.get_peers().len();
            stats_line(out, &mut stats, n, a.stats_interval);
        }
        out.flush();
    }
    for h in conn.get_peers() {
        let _ = conn.peer(h).peer_disconnect(0);
    }
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        let ev = conn
            .service(Duration::from_millis(10))
            .map_err(|e| e.to_string())?;
        if ev.kind == EventType::None && conn.get_peers().iter().all(|h| !conn.peer(*h).is_active())
        {
            break;
        }
    }
    let _ = conn.flush();
    out.emit(
        || format!("stopped after {} packets in, {} out", stats.packets_in, stats.packets_out),
        || json!({"event": "stopped", "packets_in": stats.packets_in, "packets_out": stats.packets_out}),
    );
    Ok(0)
}

/// Handles one event of the raw echo server: prints connects and disconnects, echoes every
/// packet of a receive event (printing a line per packet when `per_packet`).
fn raw_event(
    conn: &mut EnetConnection,
    ev: enet::godot::ServiceEvent,
    a: &Args,
    per_packet: bool,
    out: &Out,
    stats: &mut Stats,
) {
    match ev.kind {
        EventType::Connect => {
            let Some(h) = ev.peer else { return };
            let peer_addr = conn
                .peer(h)
                .remote_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let id = h.index();
            out.emit(
                || format!("peer_connected id={id} addr={peer_addr} data={}", ev.data),
                || json!({"event": "peer_connected", "id": id, "addr": peer_addr, "data": ev.data}),
            );
        }
        EventType::Disconnect => {
            let id = ev.peer.map(|h| h.index()).unwrap_or(0);
            out.emit(
                || format!("peer_disconnected id={id} data={}", ev.data),
                || json!({"event": "peer_disconnected", "id": id, "data": ev.data}),
            );
        }
        EventType::Receive => {
            let Some(h) = ev.peer else { return };
            let mut p = conn.peer(h);
            while let Ok((data, channel, flags)) = p.get_packet_with_info() {
                stats.packets_in += 1;
                stats.bytes_in += data.len() as u64;
                if per_packet {
                    let mode = mode_name(flags_mode(flags));
                    let view = (a.decode != Decode::Text).then(|| View::of(a.decode, &data));
                    out.emit(
                        || {
                            format!(
                                "packet from={} channel={channel} mode={mode} flags={flags} len={}{}",
                                h.index(),
                                data.len(),
                                payload_suffix(view.as_ref())
                            )
                        },
                        || {
                            let mut j = json!({"event": "packet", "from": h.index(),
                                  "channel": channel, "mode": mode, "flags": flags,
                                  "len": data.len()});
                            if let Some(v) = &view {
                                v.add_to(&mut j);
                            }
                            j
                        },
                    );
                }
                let echo_flags = flags
                    & (enet::godot::FLAG_RELIABLE
                        | enet::godot::FLAG_UNSEQUENCED
                        | enet::godot::FLAG_UNRELIABLE_FRAGMENT);
                if p.send_bytes(channel, data, echo_flags).is_ok() {
                    stats.packets_out += 1;
                }
            }
        }
        EventType::None | EventType::Error => {}
    }
}
