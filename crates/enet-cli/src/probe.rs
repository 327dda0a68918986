//! `enet probe`: one handshake, print what was negotiated.

use std::time::{Duration, Instant};

use enet::godot::{EnetConnection, EventType};
use serde_json::json;

use crate::common::{count, seconds, split_host_port, CliResult, Out};

/// Arguments of `enet probe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Server address, HOST:PORT (IPv6 in brackets, e.g. `[::1]:7777`).
    pub addr: String,
    /// ENet channels to ask for (0..=255; 0 = maximum, 255).
    #[arg(long, default_value_t = 0, value_parser = count::<usize>(0, 255))]
    pub channels: usize,
    /// Connect data to send (0..=4294967295; Godot servers expect a peer id ≥ 2).
    #[arg(long, value_parser = count::<u32>(0, u32::MAX as u64))]
    pub data: Option<u32>,
    /// Seconds to wait for the handshake (0.001..=86400).
    #[arg(long, default_value_t = 5.0, value_parser = seconds(0.001, 86400.0))]
    pub timeout: f64,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> CliResult {
    let (host, port) = split_host_port(&a.addr)?;
    let out = Out::new(a.json);
    let mut conn = EnetConnection::new();
    conn.create_host(1, 0, 0, 0).map_err(|e| e.to_string())?;
    let data = a.data.unwrap_or_else(enet_multiplayer::generate_unique_id);
    let started = Instant::now();
    let peer = conn
        .connect_to_host(&host, port, a.channels, data)
        .map_err(|e| format!("cannot probe {}: {e}", a.addr))?;
    let deadline = started + Duration::from_secs_f64(a.timeout);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "cannot probe {}: no answer within {:.1} s",
                a.addr, a.timeout
            ));
        }
        let ev = conn
            .service(left.min(Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        match ev.kind {
            EventType::Connect => break,
            EventType::Disconnect => return Err(format!("cannot probe {}: refused", a.addr)),
            _ => {}
        }
    }
    let handshake_ms = started.elapsed().as_secs_f64() * 1000.0;
    // A few pings to get a measured RTT (the handshake itself leaves ENet's estimate at 500).
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        let _ = conn.peer(peer).ping();
        let _ = conn.service(Duration::from_millis(20));
    }
    let info = conn.peer(peer).peer_info().map_err(|_| "peer vanished")?;
    let p = conn.peer(peer);
    let remote = p.remote_addr().map(|a| a.to_string()).unwrap_or_default();
    out.emit(
        || {
            format!(
                "{remote}: mtu={} window={} channels={} rtt={}ms handshake={handshake_ms:.1}ms",
                info.mtu, info.window_size, info.channel_count, info.rtt.round_trip_time
            )
        },
        || {
            json!({"event": "probe", "addr": remote, "mtu": info.mtu, "window_size": info.window_size,
                   "channels": info.channel_count, "rtt_ms": info.rtt.round_trip_time,
                   "handshake_ms": handshake_ms})
        },
    );
    let mut p = conn.peer(peer);
    let _ = p.peer_disconnect(0);
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        match conn.service(Duration::from_millis(10)) {
            Ok(ev) if ev.kind == EventType::Disconnect => break,
            Err(_) => break,
            _ => {}
        }
    }
    Ok(0)
}
