//! `enet bench-worker` (hidden): the Rust echo server and load generator of `enet bench`.
//!
//! This is the twin of `bench_peer.c` (the C side of `--vs-c`): same arguments, same
//! algorithm, same JSON lines on stdout. Keep the two in step.
//!
//! Protocol settings: 1 channel, MTU 1392, no bandwidth limits, no compression, no
//! checksum. Socket buffers are this library's defaults ([`enet::SOCKET_BUFFER_SIZE`],
//! 1 MiB), as a user gets them; `--c-buffers` asks for the 256 KiB that `enet_host_create`
//! asks for instead, to compare the protocol engines alone.
//!
//! Client stdin/stdout handshake (lets the orchestrator sample CPU times between phases):
//! `ready` → (line on stdin) → connect all peers (at once, or `--connect-batch` at a
//! time) → `connected` → (line on stdin) →
//! transfer with a `progress` line a second → `result` → (EOF on stdin) → exit.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use enet::{Event, HostConfig, Packet, PacketFlags, PeerId, UdpHost};
use serde_json::json;

use crate::bench::MAX_MESSAGES;
use crate::common::{count, number_in, seconds, CliResult};

/// Channels per connection.
pub const CHANNELS: usize = 1;
/// MTU of both sides (the default of ENet 1.3.18 and of this implementation).
pub const MTU: u32 = 1392;
/// Socket buffer sizes (ENET_HOST_RECEIVE_BUFFER_SIZE / ENET_HOST_SEND_BUFFER_SIZE).
pub const SOCKET_BUFFER: usize = 256 * 1024;
/// Sequence number, client index and send time at the start of each message.
pub const HEADER_SIZE: usize = 16;

const OUTSTANDING: u8 = 0;
const ECHOED: u8 = 1;
const LOST: u8 = 2;

/// Role of a worker process.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Echo server.
    Server,
    /// Load generator.
    Client,
    /// Plain UDP echo server (the floor of `enet bench`; [`crate::bench::udp_floor`]).
    UdpServer,
    /// Plain UDP load generator for the floor.
    UdpClient,
}

/// Arguments of `enet bench-worker` (the same as `bench_peer`'s).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// server or client.
    #[arg(value_enum)]
    pub role: Role,
    /// Server: UDP port on 127.0.0.1 (0..=65535; 0 = ephemeral).
    #[arg(long, default_value_t = 0, value_parser = count::<u16>(0, 65535))]
    pub port: u16,
    /// Server: peer slots (1..=4095).
    #[arg(long, default_value_t = 32, value_parser = count::<usize>(1, 4095))]
    pub peers: usize,
    /// Client: server address.
    #[arg(long)]
    pub connect: Option<SocketAddr>,
    /// Client: connections (peers of one host), 1..=4000.
    #[arg(long, default_value_t = 1, value_parser = count::<usize>(1, 4000))]
    pub clients: usize,
    /// Client: messages per connection, 0..=50000000 (and --clients x --messages at most
    /// 50000000).
    #[arg(long, default_value_t = 0, value_parser = count::<u64>(0, MAX_MESSAGES))]
    pub messages: u64,
    /// Client: message size, 16..=16777216.
    #[arg(long, default_value_t = 64, value_parser = count::<usize>(HEADER_SIZE as u64, 16 * 1024 * 1024))]
    pub size: usize,
    /// Client: reliable, unreliable or unreliable-ordered.
    #[arg(long, default_value = "reliable")]
    pub mode: String,
    /// Client: most messages awaiting their echo per connection (throughput mode), 1..=65536.
    #[arg(long, default_value_t = 64, value_parser = count::<u64>(1, 65536))]
    pub window: u64,
    /// Client: messages per second per connection, 0..=1000000 (0 = throughput mode).
    #[arg(long, default_value_t = 0.0, value_parser = number_in(0.0, 1e6, "messages per second"))]
    pub rate: f64,
    /// Client: seconds for connecting, and without progress during the transfer
    /// (0.001..=86400).
    #[arg(long, default_value_t = 10.0, value_parser = seconds(0.001, 86400.0))]
    pub timeout: f64,
    /// Client: an unreliable message is lost when its echo is this late (1..=600000 ms).
    #[arg(long, default_value_t = 1000, value_parser = count::<u64>(1, 600_000))]
    pub lost_after_ms: u64,
    /// Both: exit after this many seconds whatever happens (0.001..=172800).
    #[arg(long, default_value_t = 600.0, value_parser = seconds(0.001, 172_800.0))]
    pub max_seconds: f64,
    /// Client: most connection attempts pending at once (0 = all at once), 0..=4000.
    #[arg(long, default_value_t = 0, value_parser = count::<usize>(0, 4000))]
    pub connect_batch: usize,
    /// Both: ask for C ENet's 256 KiB socket buffers instead of this library's default.
    #[arg(long)]
    pub c_buffers: bool,
    /// Both: longest busy-poll spin in µs, 0..=1000000 (default: the library's; 0 turns it
    /// off).
    #[arg(long, value_parser = count::<u64>(0, 1_000_000))]
    pub busy_poll_us: Option<u64>,
    /// Server: send without UDP GSO. The bench passes it when its load generator stands in
    /// for many clients: they all share the generator's one address, so with GSO the
    /// server's replies to different "players" would leave as one message, which no real
    /// server (whose players each have an address) gets.
    #[arg(long)]
    pub no_gso: bool,
    /// Both: ceiling of the adaptive transit window in bytes, 65536..=16777216 (default:
    /// the library's, 1 MiB; 65536 sends as C ENet does).
    #[arg(long, value_parser = count::<u32>(65_536, 16 * 1024 * 1024))]
    pub transit_window: Option<u32>,
    /// Server: serve over DTLS with this certificate and --dtls-key (feature `dtls`;
    /// ignored by the client).
    #[arg(long, requires = "dtls_key")]
    pub dtls_cert: Option<std::path::PathBuf>,
    /// Server: the key of --dtls-cert.
    #[arg(long, requires = "dtls_cert")]
    pub dtls_key: Option<std::path::PathBuf>,
    /// Client: connect over DTLS without verifying the server (feature `dtls`; ignored by
    /// the server).
    #[arg(long)]
    pub dtls: bool,
    /// Server (and the UDP floor's server): tick-driven instead of event-driven, this many
    /// ticks a second (1..=1000). Each tick drains every event with zero-timeout service
    /// calls, echoing as it goes, flushes, and sleeps until the next tick's deadline.
    #[arg(long, value_parser = count::<u32>(1, 1000))]
    pub server_tick_hz: Option<u32>,
}

/// The ticks of a tick-driven server: deadlines t0 + n / hz (absolute, so they do not
/// drift); a tick that overruns its period skips the deadlines it missed instead of
/// running back to back. The same rule as `bench_peer.c`'s `tick_sleep`.
pub(crate) struct Ticker {
    period: Duration,
    next: Instant,
}

impl Ticker {
    pub fn new(hz: u32) -> Ticker {
        let period = Duration::from_nanos(1_000_000_000 / u64::from(hz.max(1)));
        Ticker {
            period,
            next: Instant::now() + period,
        }
    }

    /// Sleeps until the next deadline after now.
    pub fn sleep(&mut self) {
        let now = Instant::now();
        while self.next <= now {
            self.next += self.period;
        }
        std::thread::sleep(self.next - now);
    }
}

struct Client {
    peer: PeerId,
    sent: u64,
    echoed: u64,
    lost: u64,
    oldest: u64,
    connected: bool,
}

/// Writes `v` as one JSON line to stdout and flushes it (the orchestrator reads line by line).
pub(crate) fn line(v: serde_json::Value) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{v}");
    let _ = o.flush();
}

/// Blocks until a line (or EOF) arrives on stdin; EOF first means the orchestrator is gone.
pub(crate) fn wait_line() {
    let mut s = String::new();
    match std::io::stdin().lock().read_line(&mut s) {
        Ok(n) if n > 0 => {}
        _ => std::process::exit(0),
    }
}

fn wait_eof() {
    let mut s = String::new();
    let mut stdin = std::io::stdin().lock();
    while matches!(stdin.read_line(&mut s), Ok(n) if n > 0) {
        s.clear();
    }
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = (((sorted.len() - 1) as f64 * p + 0.5) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

/// The echo server's answer to an event: a received packet goes back to its sender, same
/// channel, same flags; other events need none.
fn echo(host: &mut UdpHost, e: Event) {
    if let Event::Receive {
        peer,
        channel_id,
        packet,
    } = e
    {
        let _ = host.send(peer, channel_id, packet);
    }
}

/// Creates a worker's host. `gso` says whether runs of equal datagrams to one address may
/// leave as one GSO message: a load generator standing in for many clients passes false,
/// since real clients are separate machines whose datagrams never cross the kernel
/// together (with it, one host's clients reach the server coalesced by GRO, and the
/// server's CPU per message would drop below what it is for real players).
fn create_host(port: u16, peers: usize, a: &Args, gso: bool) -> Result<UdpHost, String> {
    let cfg = HostConfig::default()
        .with_peer_count(peers)
        .with_channel_limit(CHANNELS)
        .with_mtu(MTU);
    let cfg = match a.transit_window {
        Some(bytes) => cfg.with_transit_window(bytes),
        None => cfg,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut host = UdpHost::builder(addr)
        .config(cfg)
        .gso(gso)
        .bind()
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    if let Some(us) = a.busy_poll_us {
        host.set_busy_poll_limit(Duration::from_micros(us));
    }
    if a.c_buffers {
        let sock = socket2::SockRef::from(host.socket());
        // As enet_host_create does; harmless if refused.
        let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
        let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
    }
    dtls_setup(&mut host, a)?;
    Ok(host)
}

/// DTLS on a worker's host (`--dtls-cert/--dtls-key` for the server, `--dtls` for the
/// client, unverified: both ends are this tool on loopback).
#[cfg(feature = "dtls")]
fn dtls_setup(host: &mut UdpHost, a: &Args) -> Result<(), String> {
    use enet::dtls::TlsOptions;
    if let (Role::Server, Some(cert), Some(key)) = (&a.role, &a.dtls_cert, &a.dtls_key) {
        let read =
            |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let options = TlsOptions::server(&read(key)?, &read(cert)?).map_err(|e| e.to_string())?;
        host.dtls_server_setup(options).map_err(|e| e.to_string())?;
    } else if matches!(a.role, Role::Client) && a.dtls {
        host.dtls_client_setup("localhost", TlsOptions::client_unsafe())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(not(feature = "dtls"))]
fn dtls_setup(_host: &mut UdpHost, a: &Args) -> Result<(), String> {
    if a.dtls || a.dtls_cert.is_some() {
        return Err(crate::tls::REBUILD_HINT.into());
    }
    Ok(())
}

pub fn run(a: Args) -> CliResult {
    match a.role {
        Role::Server => server(&a),
        Role::Client => client(&a),
        Role::UdpServer => crate::bench::udp_floor::server(&a),
        Role::UdpClient => crate::bench::udp_floor::client(&a),
    }
}

fn server(a: &Args) -> CliResult {
    let mut host = create_host(a.port, a.peers, a, !a.no_gso)?;
    line(json!({"event": "listening", "impl": "rust", "port": host.local_addr().port()}));
    let end = Instant::now() + Duration::from_secs_f64(a.max_seconds);
    if let Some(hz) = a.server_tick_hz {
        // A game server's frame: every event that is there, the replies, one flush, sleep.
        let mut ticker = Ticker::new(hz);
        while Instant::now() < end {
            while let Some(e) = host.service(Duration::ZERO).map_err(|e| e.to_string())? {
                echo(&mut host, e);
            }
            host.flush().map_err(|e| e.to_string())?;
            ticker.sleep();
        }
        return Ok(0);
    }
    while Instant::now() < end {
        let mut ev = host
            .service(Duration::from_millis(100))
            .map_err(|e| e.to_string())?;
        while let Some(e) = ev {
            echo(&mut host, e);
            ev = host.service(Duration::ZERO).map_err(|e| e.to_string())?;
        }
    }
    Ok(0)
}

fn client(a: &Args) -> CliResult {
    let server = a.connect.ok_or("--connect is required")?;
    let k = a.clients;
    let m = a.messages;
    let size = a.size;
    if k as u64 * m > MAX_MESSAGES {
        return Err("--clients x --messages must be at most 50,000,000".into());
    }
    let (flags, reliable, unreliable) = match a.mode.as_str() {
        "reliable" => (PacketFlags::RELIABLE, true, false),
        "unreliable" => (
            PacketFlags::UNSEQUENCED | PacketFlags::UNRELIABLE_FRAGMENT,
            false,
            true,
        ),
        "unreliable-ordered" => (PacketFlags::UNRELIABLE_FRAGMENT, false, true),
        _ => return Err("bad --mode".into()),
    };
    let epoch = Instant::now();
    let now_us = || epoch.elapsed().as_micros() as u64;
    // One connection is one client (GSO as a real one has it); more stand for separate
    // machines.
    let mut host = create_host(0, k, a, k == 1)?;
    let total = k as u64 * m;
    let mut cl: Vec<Client> = Vec::with_capacity(k);
    let mut status = vec![OUTSTANDING; total as usize];
    let mut sent_at = vec![0u64; total as usize];
    let mut rtts: Vec<u32> = Vec::with_capacity(total as usize);
    let template: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
    let mut by_peer = vec![usize::MAX; k];
    let (mut bad, mut late, mut disconnects) = (0u64, 0u64, 0u64);
    let mut error: Option<String> = None;
    let hard_end = now_us() + (a.max_seconds * 1e6) as u64;
    let io = |e: std::io::Error| e.to_string();

    line(json!({"event": "ready", "impl": "rust"}));
    wait_line();

    // Phase 1: connect all peers, at once or (--connect-batch B) with at most B attempts
    // pending.
    let c0 = now_us();
    let mut up = 0usize;
    let conn_end = c0 + (a.timeout * 1e6) as u64;
    while up < k && error.is_none() {
        while cl.len() < k && (a.connect_batch == 0 || cl.len() - up < a.connect_batch) {
            let c = cl.len();
            let peer = host
                .connect(server, CHANNELS, c as u32)
                .map_err(|e| format!("connect: {e}"))?;
            by_peer[peer.index()] = c;
            cl.push(Client {
                peer,
                sent: 0,
                echoed: 0,
                lost: 0,
                oldest: 0,
                connected: false,
            });
        }
        if now_us() >= conn_end || now_us() >= hard_end {
            error = Some(format!("only {up} of {k} peers connected in time"));
            break;
        }
        let mut ev = host.service(Duration::from_millis(10)).map_err(io)?;
        while let Some(e) = ev {
            match e {
                Event::Connect { peer, .. } => {
                    let c = &mut cl[by_peer[peer.index()]];
                    if !c.connected {
                        c.connected = true;
                        up += 1;
                    }
                }
                Event::Disconnect { .. } => {
                    disconnects += 1;
                    error = Some("a connection attempt failed".into());
                }
                _ => {}
            }
            ev = host.service(Duration::ZERO).map_err(io)?;
        }
    }
    let connect_s = (now_us() - c0) as f64 / 1e6;
    let info = cl.first().and_then(|c| host.peer_info(c.peer).ok());
    line(
        json!({"event": "connected", "impl": "rust", "peers": up, "connect_s": connect_s,
                "mtu": info.as_ref().map_or(0, |i| i.mtu),
                "window_size": info.as_ref().map_or(0, |i| i.window_size)}),
    );
    wait_line();

    // Phase 2: the transfer. Throughput mode (rate 0): each client keeps at most `window`
    // messages awaiting their echo. Paced mode: message g (over all clients, client g % k,
    // its message g / k) is due at t0 + g / (k * rate) seconds.
    let t0 = now_us();
    let (mut next_g, mut resolved, mut sent_total) = (0u64, 0u64, 0u64);
    let (mut last_scan, mut last_progress, mut last_advance, mut last_activity) = (t0, t0, t0, t0);
    let mut last_echo = 0u64;
    let per_us = if a.rate > 0.0 {
        1e6 / (k as f64 * a.rate)
    } else {
        0.0
    };
    let timeout_us = (a.timeout * 1e6) as u64;
    let make = |seq: u64, c: usize, now: u64| {
        let mut v = template.clone();
        v[0..4].copy_from_slice(&(seq as u32).to_le_bytes());
        v[4..8].copy_from_slice(&(c as u32).to_le_bytes());
        v[8..16].copy_from_slice(&now.to_le_bytes());
        Packet::new(v, flags)
    };
    while error.is_none() && resolved < total {
        let now = now_us();
        let mut next_due = 0u64;
        // Sends connection `c`'s next message, stamped `now`.
        let mut send_next = |c: usize, x: &mut Client| -> Result<(), String> {
            sent_at[c * m as usize + x.sent as usize] = now;
            host.send(x.peer, 0, make(x.sent, c, now))
                .map_err(|e| format!("send: {e}"))?;
            x.sent += 1;
            sent_total += 1;
            last_activity = now;
            Ok(())
        };
        if a.rate <= 0.0 {
            for (c, x) in cl.iter_mut().enumerate() {
                while x.sent < m && x.sent - x.echoed - x.lost < a.window {
                    send_next(c, x)?;
                }
            }
        } else {
            while next_g < total && t0 + (next_g as f64 * per_us) as u64 <= now {
                let c = (next_g % k as u64) as usize;
                send_next(c, &mut cl[c])?;
                next_g += 1;
            }
            if next_g < total {
                next_due = t0 + (next_g as f64 * per_us) as u64;
            }
        }
        if unreliable && now - last_scan >= 10_000 {
            last_scan = now;
            for (c, x) in cl.iter_mut().enumerate() {
                while x.oldest < x.sent {
                    let i = c * m as usize + x.oldest as usize;
                    if status[i] == OUTSTANDING {
                        if now - sent_at[i] < a.lost_after_ms * 1000 {
                            break;
                        }
                        status[i] = LOST;
                        x.lost += 1;
                        resolved += 1;
                        last_advance = now;
                        last_activity = now;
                    }
                    x.oldest += 1;
                }
            }
        }
        if resolved >= total {
            break;
        }
        if now - last_progress >= 1_000_000 {
            last_progress = now;
            line(
                json!({"event": "progress", "impl": "rust", "t": (now - t0) as f64 / 1e6,
                        "sent": sent_total, "resolved": resolved, "total": total}),
            );
        }
        if now >= hard_end || now - last_activity >= timeout_us {
            error = Some(format!(
                "stalled: {resolved} of {total} echoes after {:.1} s",
                (now - t0) as f64 / 1e6
            ));
            break;
        }
        let wait_ms = if next_due > 0 {
            let d = next_due.saturating_sub(now).div_ceil(1000);
            d.clamp(1, 10)
        } else {
            10
        };
        let mut ev = host.service(Duration::from_millis(wait_ms)).map_err(io)?;
        while let Some(e) = ev {
            match e {
                Event::Receive { peer, packet, .. } => {
                    let t = now_us();
                    let c = by_peer[peer.index()];
                    let x = &mut cl[c];
                    let p = &packet.data;
                    let mut ok = p.len() == size;
                    let seq = if ok {
                        u32::from_le_bytes(p[0..4].try_into().unwrap()) as u64
                    } else {
                        0
                    };
                    ok = ok
                        && u32::from_le_bytes(p[4..8].try_into().unwrap()) == c as u32
                        && seq < x.sent;
                    ok = ok && packet.flags.contains(PacketFlags::RELIABLE) == reliable;
                    ok = ok && p[HEADER_SIZE..] == template[HEADER_SIZE..];
                    if !ok {
                        bad += 1;
                    } else {
                        let i = c * m as usize + seq as usize;
                        match status[i] {
                            OUTSTANDING => {
                                status[i] = ECHOED;
                                x.echoed += 1;
                                resolved += 1;
                                last_advance = t;
                                last_activity = t;
                                last_echo = t;
                                let stamp = u64::from_le_bytes(p[8..16].try_into().unwrap());
                                rtts.push(t.saturating_sub(stamp) as u32);
                            }
                            LOST => late += 1,
                            _ => bad += 1,
                        }
                    }
                }
                Event::Disconnect { .. } => {
                    disconnects += 1;
                    error = Some("a peer disconnected during the transfer".into());
                }
                _ => {}
            }
            ev = host.service(Duration::ZERO).map_err(io)?;
        }
    }
    host.flush().map_err(io)?;
    // The transfer ends with the last echo (the last loss verdict if nothing came back);
    // a failed run at the failure.
    let t_end = if resolved < total {
        now_us()
    } else if last_echo > 0 {
        last_echo
    } else {
        last_advance
    };
    let elapsed = (t_end - t0) as f64 / 1e6;
    let echoed: u64 = cl.iter().map(|c| c.echoed).sum();
    let lost: u64 = cl.iter().map(|c| c.lost).sum();
    if error.is_none() && bad > 0 {
        error = Some("corrupt, duplicate or unexpected echoes".into());
    }
    if error.is_none() && reliable && echoed != total {
        error = Some("reliable echoes missing".into());
    }
    rtts.sort_unstable();
    let mean = if rtts.is_empty() {
        0.0
    } else {
        rtts.iter().map(|&r| r as f64).sum::<f64>() / rtts.len() as f64
    };
    let ok = error.is_none();
    line(
        json!({"event": "result", "impl": "rust", "ok": ok, "error": error,
        "clients": k, "messages": m, "size": size, "mode": a.mode, "sent": sent_total,
        "echoed": echoed, "lost": lost, "late": late, "bad": bad, "disconnects": disconnects,
        "elapsed_s": elapsed, "connect_s": connect_s,
        "rtt_p50_ms": percentile_ms(&rtts, 0.5), "rtt_p99_ms": percentile_ms(&rtts, 0.99),
        "rtt_p999_ms": percentile_ms(&rtts, 0.999),
        "rtt_mean_ms": mean / 1000.0,
        "rtt_max_ms": rtts.last().map_or(0.0, |&r| r as f64 / 1000.0)}),
    );
    wait_eof();
    Ok(if ok { 0 } else { 1 })
}
