//! The raw-UDP floor of workload iii: `enet bench-worker udp-server|udp-client`, a plain
//! UDP echo (one `recv_from` and one `send_to` per datagram) driven at the same message
//! rate as the ENet runs, so that the server's CPU per message can be set against what the
//! kernel's UDP path alone costs.
//!
//! It speaks the workers' JSON lines (`listening`; `ready`, `connected`, `progress`,
//! `result`) so that the orchestrator runs it like any other pair. The load generator uses
//! one socket for all its "clients" (there is no connection to set up); message g, for
//! client g % k, is due at t0 + g / (k × rate). An echo later than `--lost-after-ms`
//! counts as lost (plain UDP has no retransmission); corrupt echoes fail the run.
//!
//! With `--server-tick-hz` the echo server is tick-driven like the ENet servers of the
//! tick workloads: each tick it reads with non-blocking `recv_from` until the socket
//! would block, echoing each datagram with `send_to`, then sleeps until the next tick
//! (the floor of a tick-driven server: the same two system calls per datagram, plus one
//! read that finds the queue empty per tick, and no wake-up per datagram).

use std::io::{BufRead, ErrorKind};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bench_worker::{line, wait_line, Args, Ticker, HEADER_SIZE, SOCKET_BUFFER};
use crate::common::CliResult;

fn bind(port: u16) -> Result<UdpSocket, String> {
    let s = UdpSocket::bind(("127.0.0.1", port)).map_err(|e| format!("cannot bind: {e}"))?;
    let r = socket2::SockRef::from(&s);
    let _ = r.set_recv_buffer_size(4 * SOCKET_BUFFER);
    let _ = r.set_send_buffer_size(4 * SOCKET_BUFFER);
    Ok(s)
}

/// The echo server: every datagram back to its sender until `--max-seconds`.
pub fn server(a: &Args) -> CliResult {
    let sock = bind(a.port)?;
    let port = sock.local_addr().map_err(|e| e.to_string())?.port();
    line(json!({"event": "listening", "impl": "udp-floor", "port": port}));
    let end = Instant::now() + Duration::from_secs_f64(a.max_seconds);
    let mut buf = vec![0u8; 65536];
    if let Some(hz) = a.server_tick_hz {
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut ticker = Ticker::new(hz);
        while Instant::now() < end {
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let _ = sock.send_to(&buf[..n], from);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("recv: {e}")),
                }
            }
            ticker.sleep();
        }
        return Ok(0);
    }
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    while Instant::now() < end {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let _ = sock.send_to(&buf[..n], from);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("recv: {e}")),
        }
    }
    Ok(0)
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = (((sorted.len() - 1) as f64 * p + 0.5) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

/// The load generator: paced (or, with rate 0, `--window` × clients in flight).
pub fn client(a: &Args) -> CliResult {
    let server = a.connect.ok_or("--connect is required")?;
    let k = a.clients as u64;
    let total = k * a.messages;
    let size = a.size.clamp(HEADER_SIZE, 65507);
    let sock = bind(0)?;
    sock.connect(server).map_err(|e| format!("connect: {e}"))?;
    let epoch = Instant::now();
    let now_us = || epoch.elapsed().as_micros() as u64;
    line(json!({"event": "ready", "impl": "udp-floor"}));
    wait_line();
    line(
        json!({"event": "connected", "impl": "udp-floor", "peers": k, "connect_s": 0.0,
                "mtu": 0, "window_size": 0}),
    );
    wait_line();

    let mut status = vec![0u8; total as usize]; // 0 outstanding, 1 echoed, 2 lost
    let mut sent_at = vec![0u64; total as usize];
    let mut rtts: Vec<u32> = Vec::with_capacity(total as usize);
    let mut msg: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
    let template = msg.clone();
    let mut buf = vec![0u8; 65536];
    let t0 = now_us();
    let per_us = if a.rate > 0.0 {
        1e6 / (k as f64 * a.rate)
    } else {
        0.0
    };
    let in_flight = a.window * k;
    let lost_us = a.lost_after_ms * 1000;
    let hard_end = t0 + (a.max_seconds * 1e6) as u64;
    let (mut next, mut oldest, mut resolved) = (0u64, 0u64, 0u64);
    let (mut echoed, mut lost, mut late, mut bad) = (0u64, 0u64, 0u64, 0u64);
    let (mut last_echo, mut last_progress) = (t0, t0);
    let mut error: Option<String> = None;
    while resolved < total {
        let now = now_us();
        while next < total
            && if per_us > 0.0 {
                t0 + (next as f64 * per_us) as u64 <= now
            } else {
                next - resolved < in_flight
            }
        {
            msg[0..8].copy_from_slice(&next.to_le_bytes());
            msg[8..16].copy_from_slice(&now.to_le_bytes());
            sent_at[next as usize] = now;
            if sock.send(&msg).is_err() {
                // A full socket buffer: the datagram is gone, as on a real link.
            }
            next += 1;
        }
        while oldest < next {
            let i = oldest as usize;
            if status[i] == 0 {
                if now - sent_at[i] < lost_us {
                    break;
                }
                status[i] = 2;
                lost += 1;
                resolved += 1;
            }
            oldest += 1;
        }
        if now - last_progress >= 1_000_000 {
            last_progress = now;
            line(
                json!({"event": "progress", "impl": "udp-floor", "t": (now - t0) as f64 / 1e6,
                        "sent": next, "resolved": resolved, "total": total}),
            );
        }
        if now >= hard_end {
            error = Some(format!("stalled: {resolved} of {total} resolved"));
            break;
        }
        let wait = if per_us > 0.0 && next < total {
            (t0 + (next as f64 * per_us) as u64).saturating_sub(now)
        } else {
            10_000
        };
        let _ = sock.set_read_timeout(Some(Duration::from_micros(wait.clamp(50, 10_000))));
        while let Ok(n) = sock.recv(&mut buf) {
            let t = now_us();
            let p = &buf[..n];
            let g = if n == size {
                u64::from_le_bytes(p[0..8].try_into().expect("8 bytes"))
            } else {
                u64::MAX
            };
            if g >= next || p[HEADER_SIZE..] != template[HEADER_SIZE..] {
                bad += 1;
            } else if status[g as usize] == 2 {
                late += 1;
            } else if status[g as usize] == 1 {
                bad += 1;
            } else {
                status[g as usize] = 1;
                echoed += 1;
                resolved += 1;
                last_echo = t;
                let stamp = u64::from_le_bytes(p[8..16].try_into().expect("8 bytes"));
                rtts.push(t.saturating_sub(stamp) as u32);
            }
            let _ = sock.set_read_timeout(Some(Duration::from_micros(50)));
            if resolved >= total {
                break;
            }
        }
    }
    if error.is_none() && bad > 0 {
        error = Some("corrupt or duplicate echoes".into());
    }
    rtts.sort_unstable();
    let elapsed = (last_echo.max(t0) - t0) as f64 / 1e6;
    let mean = if rtts.is_empty() {
        0.0
    } else {
        rtts.iter().map(|&r| r as f64).sum::<f64>() / rtts.len() as f64 / 1000.0
    };
    let ok = error.is_none();
    line(
        json!({"event": "result", "impl": "udp-floor", "ok": ok, "error": error,
        "clients": k, "messages": a.messages, "size": size, "mode": "udp", "sent": next,
        "echoed": echoed, "lost": lost, "late": late, "bad": bad, "disconnects": 0,
        "elapsed_s": elapsed, "connect_s": 0.0,
        "rtt_p50_ms": percentile_ms(&rtts, 0.5), "rtt_p99_ms": percentile_ms(&rtts, 0.99),
        "rtt_p999_ms": percentile_ms(&rtts, 0.999), "rtt_mean_ms": mean,
        "rtt_max_ms": rtts.last().map_or(0.0, |&r| r as f64 / 1000.0)}),
    );
    let mut s = String::new();
    let mut stdin = std::io::stdin().lock();
    while matches!(stdin.read_line(&mut s), Ok(n) if n > 0) {
        s.clear();
    }
    Ok(if ok { 0 } else { 1 })
}
