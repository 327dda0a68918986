//! `enet connect`: an interactive or scripted client (Godot mode or raw ENet).

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use enet::godot::{EnetConnection, EventType, PeerHandle};
use enet_multiplayer::{
    ConnectionStatus, EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode,
};
use serde_json::json;

use crate::common::{
    count, mode_flags, mode_name, parse_mode, percentile, read_stamp, seconds, split_host_port,
    stamped_payload, stop_flag, usage_error, CliResult, Compress, Out,
};
use crate::payload_view::{line_payload, Decode, SendAs, View};

/// Most messages `--send` takes.
const MAX_SEND: u64 = 100_000_000;

/// Arguments of `enet connect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Server address, HOST:PORT (IPv6 in brackets, e.g. `[::1]:7777`).
    pub addr: String,
    /// Plain ENet instead of Godot's ENetMultiplayerPeer conventions.
    #[arg(long)]
    pub raw: bool,
    /// Godot mode: our peer id (2..=2147483647; default random). Raw mode: the connect
    /// data (0..=4294967295).
    #[arg(long, value_parser = count::<u32>(0, u32::MAX as u64))]
    pub id: Option<u32>,
    /// Channels to request: user channels in Godot mode (0..=253), ENet channels with --raw
    /// (0..=255); 0 = the maximum.
    #[arg(long, default_value_t = 0, value_parser = count::<usize>(0, 255))]
    pub channels: usize,
    /// Scripted mode: send this many messages (1..=100000000), then print a summary and exit.
    #[arg(long, value_parser = count::<u64>(1, MAX_SEND))]
    pub send: Option<u64>,
    /// Message size in bytes (12..=1048576; at least 12: sequence number and timestamp).
    #[arg(long, default_value_t = 64, value_parser = count::<usize>(12, 1 << 20))]
    pub size: usize,
    /// Transfer mode: reliable, unreliable or unreliable-ordered.
    #[arg(long, default_value = "reliable")]
    pub mode: String,
    /// Channel to send on (0..=255; Godot: user channel; raw: ENet channel).
    #[arg(long, default_value_t = 0, value_parser = count::<u8>(0, 255))]
    pub channel: u8,
    /// Most messages awaiting their echo with --expect-echo; without it, most messages
    /// sent per poll (about 1 ms), so that a big --send does not queue everything at once
    /// (1..=65536).
    #[arg(long, default_value_t = 64, value_parser = count::<u64>(1, 65536))]
    pub window: u64,
    /// Expect every message to be echoed back; exit 1 if any echo is missing.
    #[arg(long)]
    pub expect_echo: bool,
    /// Seconds to wait for the connection, and for echoes after the last send
    /// (0.001..=86400).
    #[arg(long, default_value_t = 5.0, value_parser = seconds(0.001, 86400.0))]
    pub timeout: f64,
    /// Datagram compression (the server must use the same).
    #[arg(long, value_enum, default_value_t = Compress::None)]
    pub compress: Compress,
    /// ENet's CRC-32 checksum on every datagram (C's `enet_crc32`; the server must use it
    /// too). Not a Godot option: Godot never checksums.
    #[arg(long)]
    pub checksum: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Show each received payload as text, hex or var (a Godot Variant; see --help).
    #[arg(long, value_enum, default_value_t = Decode::Text, long_help = crate::var_json::HELP)]
    pub decode: Decode,
    /// Interactive mode: send each stdin line as text, or as var (the line parsed as JSON,
    /// mapped to a Variant as --decode var prints it, sent in put_var's encoding; a line
    /// that does not parse is reported on stderr and not sent).
    #[arg(long, value_enum, default_value_t = SendAs::Text)]
    pub send_as: SendAs,
    /// DTLS (build with `--features dtls`).
    #[command(flatten)]
    pub tls: crate::tls::ConnectTls,
}

enum Rx {
    Packet {
        data: Bytes,
        channel: i32,
        mode: TransferMode,
    },
    Closed,
}

/// A client connection, Godot-style or raw.
trait Client {
    fn poll(&mut self, wait: Duration, rx: &mut Vec<Rx>);
    fn connected(&self) -> bool;
    fn send(&mut self, data: &[u8], mode: TransferMode, channel: u8) -> Result<(), String>;
    fn rtt(&mut self) -> Option<f64>;
    fn disconnect(&mut self);
    /// Why DTLS refused the server, if it did.
    fn dtls_failure(&mut self) -> Option<String>;
}

struct Godot {
    mp: EnetMultiplayerPeer,
}

impl Client for Godot {
    fn poll(&mut self, wait: Duration, rx: &mut Vec<Rx>) {
        self.mp.poll_with_timeout(wait);
        while let Some(ev) = self.mp.poll_event() {
            if ev == MultiplayerEvent::PeerDisconnected(1) {
                rx.push(Rx::Closed);
            }
        }
        while self.mp.get_available_packet_count() > 0 {
            let channel = self.mp.get_packet_channel();
            let mode = self.mp.get_packet_mode();
            if let Ok(data) = self.mp.get_packet() {
                rx.push(Rx::Packet {
                    data,
                    channel,
                    mode,
                });
            }
        }
        if self.mp.get_connection_status() == ConnectionStatus::Disconnected {
            rx.push(Rx::Closed);
        }
    }
    fn connected(&self) -> bool {
        self.mp.get_connection_status() == ConnectionStatus::Connected
    }
    fn dtls_failure(&mut self) -> Option<String> {
        crate::tls::client_failure(self.mp.host()?)
    }
    fn send(&mut self, data: &[u8], mode: TransferMode, channel: u8) -> Result<(), String> {
        self.mp.set_transfer_mode(mode);
        self.mp.set_transfer_channel(channel as i32);
        self.mp.set_target_peer(1);
        self.mp.put_packet(data).map_err(|e| e.to_string())
    }
    fn rtt(&mut self) -> Option<f64> {
        self.mp
            .get_peer(1)?
            .get_statistic(enet::godot::PeerStatistic::RoundTripTime)
            .ok()
    }
    fn disconnect(&mut self) {
        // Deliver what is still queued first: a plain disconnect drops unsent packets, as
        // ENet's does.
        match self.mp.get_peer(1) {
            Some(mut p) => {
                let _ = p.peer_disconnect_later(0);
            }
            None => self.mp.disconnect_peer(1, false),
        }
        let end = Instant::now() + DISCONNECT_GRACE;
        while self.mp.get_connection_status() != ConnectionStatus::Disconnected
            && Instant::now() < end
        {
            self.mp.poll_with_timeout(Duration::from_millis(10));
        }
        self.mp.close();
    }
}

struct Raw {
    conn: EnetConnection,
    peer: PeerHandle,
    up: bool,
}

impl Client for Raw {
    fn poll(&mut self, wait: Duration, rx: &mut Vec<Rx>) {
        let mut wait = wait;
        loop {
            let ev = match self.conn.service(wait) {
                Ok(ev) => ev,
                Err(_) => {
                    rx.push(Rx::Closed);
                    return;
                }
            };
            wait = Duration::ZERO;
            match ev.kind {
                EventType::Connect => self.up = true,
                EventType::Disconnect | EventType::Error => {
                    self.up = false;
                    rx.push(Rx::Closed);
                }
                EventType::Receive => {
                    let mut p = self.conn.peer(self.peer);
                    while let Ok((data, channel, flags)) = p.get_packet_with_info() {
                        rx.push(Rx::Packet {
                            data,
                            channel: channel as i32,
                            mode: crate::common::flags_mode(flags),
                        });
                    }
                }
                EventType::None => return,
            }
        }
    }
    fn connected(&self) -> bool {
        self.up
    }
    fn dtls_failure(&mut self) -> Option<String> {
        crate::tls::client_failure(&self.conn)
    }
    fn send(&mut self, data: &[u8], mode: TransferMode, channel: u8) -> Result<(), String> {
        let r = self
            .conn
            .peer(self.peer)
            .send(channel, data, mode_flags(mode))
            .map_err(|e| e.to_string());
        let _ = self.conn.flush();
        r
    }
    fn rtt(&mut self) -> Option<f64> {
        self.conn
            .peer(self.peer)
            .get_statistic(enet::godot::PeerStatistic::RoundTripTime)
            .ok()
    }
    fn disconnect(&mut self) {
        // As above: deliver what is queued, then disconnect.
        let _ = self.conn.peer(self.peer).peer_disconnect_later(0);
        let end = Instant::now() + DISCONNECT_GRACE;
        while Instant::now() < end {
            match self.conn.service(Duration::from_millis(10)) {
                Ok(ev) if ev.kind == EventType::Disconnect => break,
                Err(_) => break,
                _ => {}
            }
        }
    }
}

/// How long a finished run waits for its queued packets and the graceful disconnect before
/// it closes the connection anyway.
const DISCONNECT_GRACE: Duration = Duration::from_secs(5);

fn open(a: &Args) -> Result<Box<dyn Client>, String> {
    let (host, port) = split_host_port(&a.addr)?;
    if a.raw {
        let mut conn = EnetConnection::new();
        conn.create_host(1, 0, 0, 0).map_err(|e| e.to_string())?;
        conn.compress(a.compress.mode())
            .map_err(|e| e.to_string())?;
        conn.set_checksum(a.checksum).map_err(|e| e.to_string())?;
        let peer = conn
            .connect_to_host(&host, port, a.channels, a.id.unwrap_or(0))
            .map_err(|e| format!("cannot connect to {}: {e}", a.addr))?;
        crate::tls::client_setup(&mut conn, &a.tls, &host)?;
        Ok(Box::new(Raw {
            conn,
            peer,
            up: false,
        }))
    } else {
        let mut mp = EnetMultiplayerPeer::new();
        let r = match a.id {
            Some(id) => mp.create_client_with_id(&host, port, a.channels, 0, 0, 0, id),
            None => mp.create_client(&host, port, a.channels, 0, 0, 0),
        };
        r.map_err(|e| format!("cannot connect to {}: {e}", a.addr))?;
        let h = mp.host().ok_or("the client has no host")?;
        h.compress(a.compress.mode()).map_err(|e| e.to_string())?;
        h.set_checksum(a.checksum).map_err(|e| e.to_string())?;
        crate::tls::client_setup(h, &a.tls, &host)?;
        Ok(Box::new(Godot { mp }))
    }
}

/// Waits for the connection; returns what arrived with it (a server may greet a peer in
/// its connect handler, and the greeting can come in the same poll as the connection).
fn wait_connected(c: &mut dyn Client, timeout: Duration, addr: &str) -> Result<Vec<Rx>, String> {
    let end = Instant::now() + timeout;
    let mut rx = Vec::new();
    while !c.connected() {
        if Instant::now() >= end {
            return Err(format!(
                "cannot connect to {addr}: no answer within {timeout:?}"
            ));
        }
        c.poll(Duration::from_millis(10), &mut rx);
        if let Some(why) = c.dtls_failure() {
            return Err(format!("cannot connect to {addr}: {why}"));
        }
        if rx.iter().any(|r| matches!(r, Rx::Closed)) {
            return Err(format!(
                "cannot connect to {addr}: connection refused or failed"
            ));
        }
    }
    Ok(rx)
}

pub fn run(a: Args) -> CliResult {
    if let Some(r) = crate::tls::check(a.tls.wanted()) {
        return r;
    }
    let mode = parse_mode(&a.mode)?;
    if let Some(id) = a.id {
        if !a.raw && !(2..=i32::MAX as u32).contains(&id) {
            return usage_error("--id must be 2..=2147483647 in Godot mode");
        }
    }
    if !a.raw && a.channels > 253 {
        return usage_error("--channels must be 0..=253 in Godot mode");
    }
    let out = Out::new(a.json);
    let timeout = Duration::from_secs_f64(a.timeout);
    let mut c = open(&a)?;
    let early = wait_connected(c.as_mut(), timeout, &a.addr)?;
    out.emit(
        || format!("connected to {}", a.addr),
        || json!({"event": "connected", "addr": a.addr}),
    );
    match a.send {
        Some(n) => scripted(&a, c.as_mut(), &out, n, mode, timeout, early),
        None => interactive(c.as_mut(), &out, early, a.decode, a.send_as),
    }
}

/// `early`: packets that came with the connection, printed first.
fn interactive(
    c: &mut dyn Client,
    out: &Out,
    early: Vec<Rx>,
    decode: Decode,
    send_as: SendAs,
) -> CliResult {
    let stop = stop_flag();
    let (tx, lines) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            match line {
                Ok(l) => {
                    if tx.send(Some(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(None);
    });
    let mut rx = early;
    print_rx(out, &mut rx, decode);
    loop {
        if stop.load(Ordering::SeqCst) {
            c.disconnect();
            return Ok(0);
        }
        loop {
            match lines.try_recv() {
                Ok(Some(l)) => match line_payload(send_as, &l) {
                    Ok(p) => c.send(&p, TransferMode::Reliable, 0)?,
                    Err(e) => eprintln!("enet: {e}"),
                },
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                    // End of input: let queued data go out, then leave politely.
                    let end = Instant::now() + Duration::from_millis(300);
                    while Instant::now() < end {
                        c.poll(Duration::from_millis(10), &mut rx);
                    }
                    print_rx(out, &mut rx, decode);
                    c.disconnect();
                    return Ok(0);
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        c.poll(Duration::from_millis(10), &mut rx);
        if print_rx(out, &mut rx, decode) {
            out.emit(
                || "disconnected".to_string(),
                || json!({"event": "disconnected"}),
            );
            return Ok(0);
        }
    }
}

/// Prints received packets; returns true if the connection closed.
fn print_rx(out: &Out, rx: &mut Vec<Rx>, decode: Decode) -> bool {
    let mut closed = false;
    for r in rx.drain(..) {
        match r {
            Rx::Packet {
                data,
                channel,
                mode,
            } => {
                let view = View::of(decode, &data);
                out.emit(
                    || format!("[{} ch{channel}] {}", mode_name(mode), view.text()),
                    || {
                        let mut j = json!({"event": "packet", "channel": channel,
                              "mode": mode_name(mode), "len": data.len()});
                        view.add_to(&mut j);
                        j
                    },
                );
            }
            Rx::Closed => closed = true,
        }
    }
    closed
}

fn scripted(
    a: &Args,
    c: &mut dyn Client,
    out: &Out,
    n: u64,
    mode: TransferMode,
    timeout: Duration,
    early: Vec<Rx>,
) -> CliResult {
    let stop = stop_flag();
    let epoch = Instant::now();
    // Which sequence numbers were echoed: a bit each, grown as messages go out, so memory
    // follows what was sent, not what --send asked for.
    let mut seen: Vec<u64> = Vec::new();
    let (mut sent, mut received, mut matched) = (0u64, 0u64, 0u64);
    let mut rtts: Vec<f64> = Vec::new();
    // What came with the connection counts as received like everything after it.
    let mut rx = early;
    let mut last_progress = Instant::now();
    let mut last_report = Instant::now();
    let mut closed = false;
    let window = a.window.max(1);
    while !stop.load(Ordering::SeqCst) {
        let mut burst = 0;
        while sent < n && burst < window && (!a.expect_echo || sent - matched < window) {
            burst += 1;
            let p = stamped_payload(sent as u32, epoch, a.size);
            c.send(&p, mode, a.channel)?;
            if sent % 64 == 0 {
                seen.push(0);
            }
            sent += 1;
            last_progress = Instant::now();
        }
        c.poll(Duration::from_millis(1), &mut rx);
        for r in rx.drain(..) {
            match r {
                Rx::Packet { data, .. } => {
                    received += 1;
                    if let Some((seq, t)) = read_stamp(&data) {
                        let (word, bit) = (seq as usize / 64, 1u64 << (seq % 64));
                        if (seq as u64) < sent && seen[word] & bit == 0 {
                            seen[word] |= bit;
                            matched += 1;
                            let now = epoch.elapsed().as_micros() as u64;
                            rtts.push(now.saturating_sub(t) as f64 / 1000.0);
                            last_progress = Instant::now();
                        }
                    }
                }
                Rx::Closed => closed = true,
            }
        }
        if closed {
            break;
        }
        let finished = sent == n && (!a.expect_echo || matched == n);
        if finished || (sent == n && last_progress.elapsed() > timeout) {
            break;
        }
        if !a.json && last_report.elapsed() > Duration::from_secs(1) && n >= 10_000 {
            last_report = Instant::now();
            eprintln!("progress: sent {sent}/{n}, echoed {matched}");
        }
    }
    let elapsed = epoch.elapsed().as_secs_f64();
    rtts.sort_by(|x, y| x.total_cmp(y));
    let p50 = percentile(&rtts, 0.50);
    let p99 = percentile(&rtts, 0.99);
    let enet_rtt = c.rtt().unwrap_or(0.0);
    if !closed {
        c.disconnect();
    }
    out.emit(
        || {
            format!(
                "summary sent={sent} received={received} matched={matched} rtt_p50={p50:.2}ms rtt_p99={p99:.2}ms enet_rtt={enet_rtt}ms elapsed={elapsed:.2}s msgs/s={:.0}",
                matched.max(sent) as f64 / elapsed
            )
        },
        || {
            json!({"event": "summary", "sent": sent, "received": received, "matched": matched,
                   "rtt_p50_ms": p50, "rtt_p99_ms": p99, "enet_rtt_ms": enet_rtt,
                   "elapsed_s": elapsed})
        },
    );
    if closed && (sent < n || (a.expect_echo && matched < n)) {
        eprintln!("enet: connection closed before the run finished");
        return Ok(1);
    }
    if a.expect_echo && matched < n {
        eprintln!("enet: {} of {n} echoes missing", n - matched);
        return Ok(1);
    }
    Ok(0)
}
