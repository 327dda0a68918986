//! One benchmark run: the worker processes (ours, C's or the UDP floor's), their CPU time
//! and memory from `/proc`, the optional lossy link between them, and what the load
//! generator reported.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::config::Config;
use super::relay::Relay;

/// Which implementation a run uses.
#[derive(Clone, Debug)]
pub(super) enum Imp {
    /// `enet bench-worker`.
    Rust(PathBuf),
    /// `bench_peer` (C).
    C(PathBuf),
    /// `enet bench-worker udp-server|udp-client`: a plain UDP echo, the floor.
    Floor(PathBuf),
}

impl Imp {
    pub fn name(&self) -> &'static str {
        match self {
            Imp::Rust(_) => "rust",
            Imp::C(_) => "c",
            Imp::Floor(_) => "udp-floor",
        }
    }

    /// The worker's role argument.
    fn role(&self, server: bool) -> &'static str {
        match (self, server) {
            (Imp::Floor(_), true) => "udp-server",
            (Imp::Floor(_), false) => "udp-client",
            (_, true) => "server",
            (_, false) => "client",
        }
    }

    /// The worker's command line, with our worker's options from `ctx`.
    fn command(&self, ctx: &Ctx) -> Command {
        match self {
            Imp::Floor(exe) => {
                let mut c = Command::new(exe);
                c.arg("bench-worker");
                c
            }
            Imp::Rust(exe) => {
                let mut c = Command::new(exe);
                c.arg("bench-worker");
                if ctx.c_buffers {
                    c.arg("--c-buffers");
                }
                if let Some(us) = ctx.busy_poll_us {
                    c.arg("--busy-poll-us").arg(us.to_string());
                }
                if let Some(bytes) = ctx.transit_window {
                    c.arg("--transit-window").arg(bytes.to_string());
                }
                if let Some(dir) = &ctx.dtls {
                    c.arg("--dtls-cert").arg(dir.0.join("cert.pem"));
                    c.arg("--dtls-key").arg(dir.0.join("key.pem"));
                    c.arg("--dtls");
                }
                c
            }
            Imp::C(exe) => Command::new(exe),
        }
    }
}

/// The implementations of the server and of the load generator of one run.
#[derive(Clone, Debug)]
pub(super) struct Pair {
    pub server: Imp,
    pub client: Imp,
}

impl Pair {
    pub fn name(&self) -> String {
        match (self.server.name(), self.client.name()) {
            (s, c) if s == c => s.to_string(),
            (s, c) => format!("{s}-server+{c}-client"),
        }
    }
}

/// A child process that is killed when dropped.
pub(super) struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    what: String,
}

impl Proc {
    fn spawn(mut cmd: Command, what: String, with_stdin: bool) -> Result<Proc, String> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        cmd.stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the {what}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            child,
            stdin,
            lines: rx,
            what,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn go(&mut self) -> Result<(), String> {
        let w = self.stdin.as_mut().expect("piped stdin");
        w.write_all(b"go\n")
            .and_then(|_| w.flush())
            .map_err(|e| format!("the {} is gone: {e}", self.what))
    }

    /// Waits for the JSON line `{"event": event, ...}`; other lines go to `other`.
    fn expect(
        &mut self,
        event: &str,
        deadline: Instant,
        stop: &AtomicBool,
        mut other: impl FnMut(&Value),
    ) -> Result<Value, String> {
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err("interrupted".into());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("the {} sent no {event:?} line in time", self.what));
            }
            match self
                .lines
                .recv_timeout((deadline - now).min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    let v: Value = serde_json::from_str(&line).map_err(|_| {
                        format!("the {} printed an unexpected line: {line}", self.what)
                    })?;
                    if v["event"] == event {
                        return Ok(v);
                    }
                    other(&v);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(format!(
                        "the {} exited before its {event:?} line ({status})",
                        self.what
                    ));
                }
            }
        }
    }

    /// Closes stdin and waits up to `limit` for the process to exit, then kills it.
    fn finish(mut self, limit: Duration) {
        self.stdin = None;
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/<pid>/status`).
fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// Datagrams the kernel dropped at the UDP socket bound to `port` on this host because
/// its receive buffer was full (the `drops` column of `/proc/net/udp` and `udp6`).
fn udp_drops(port: u16) -> Option<u64> {
    let mut found = None;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(s) = std::fs::read_to_string(table) else {
            continue;
        };
        for l in s.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                if let Some(d) = f.get(12).and_then(|d| d.parse::<u64>().ok()) {
                    *found.get_or_insert(0) += d;
                }
            }
        }
    }
    found
}

/// CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    // schedstat: ns on CPU of the (single) thread, far finer than stat's clock ticks.
    if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/schedstat")) {
        if let Some(ns) = s
            .split_whitespace()
            .next()
            .and_then(|t| t.parse::<u64>().ok())
        {
            return Some(ns as f64 / 1e9);
        }
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) counted from 1; `rest` starts at field 3.
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// What one run measured.
#[derive(Clone, Debug)]
pub(super) struct RunResult {
    pub imp: String,
    pub server_imp: &'static str,
    pub client_imp: &'static str,
    /// The load generator's `result` line (with `mtu` and `window_size` added).
    pub result: Value,
    pub ok: bool,
    pub elapsed: f64,
    pub echoed: u64,
    pub connect_s: f64,
    pub msgs_per_s: f64,
    pub mb_per_s: f64,
    pub rtt_p50_ms: f64,
    pub rtt_p99_ms: f64,
    pub rtt_p999_ms: f64,
    pub rtt_max_ms: f64,
    pub server_cpu: f64,
    pub client_cpu: f64,
    pub server_connect_cpu: f64,
    pub client_connect_cpu: f64,
    /// Server RSS in KiB before the load generator connected, and after its result.
    pub server_rss_kib: (u64, u64),
    /// Datagrams the lossy link dropped (towards the server, towards the load generator).
    pub link_dropped: (u64, u64),
    /// Datagrams the kernel dropped at the server's socket (receive buffer full) during
    /// the transfer; `None` where `/proc/net/udp` does not tell.
    pub server_socket_drops: Option<u64>,
}

impl RunResult {
    /// Server CPU µs per echoed message.
    pub fn cpu_us_per_msg(&self) -> f64 {
        if self.echoed == 0 {
            0.0
        } else {
            self.server_cpu * 1e6 / self.echoed as f64
        }
    }

    /// Server RSS growth per client connection, in KiB.
    pub fn rss_growth_kib(&self, clients: usize) -> f64 {
        self.server_rss_kib.1.saturating_sub(self.server_rss_kib.0) as f64 / clients.max(1) as f64
    }

    pub fn to_json(&self, cfg: &Config) -> Value {
        let link = cfg.link.map(|l| {
            json!({"rtt_ms": l.rtt_ms, "loss": l.loss, "seed": l.seed,
                   "dropped_to_server": self.link_dropped.0,
                   "dropped_to_client": self.link_dropped.1})
        });
        let mut v = json!({"event": "run", "workload": cfg.label, "title": cfg.title, "impl": self.imp,
            "server_impl": self.server_imp, "client_impl": self.client_imp,
            "ok": self.ok, "error": self.result["error"],
            "clients": cfg.clients, "messages": cfg.messages, "size": cfg.size, "mode": cfg.mode,
            "window": cfg.window, "rate": cfg.rate, "duration": cfg.duration,
            "sent": self.result["sent"], "echoed": self.echoed, "lost": self.result["lost"],
            "late": self.result["late"], "bad": self.result["bad"],
            "elapsed_s": self.elapsed, "connect_s": self.connect_s,
            "msgs_per_sec": self.msgs_per_s, "mb_per_sec": self.mb_per_s,
            "rtt_p50_ms": self.rtt_p50_ms, "rtt_p99_ms": self.rtt_p99_ms,
            "rtt_p999_ms": self.rtt_p999_ms,
            "rtt_mean_ms": self.result["rtt_mean_ms"], "rtt_max_ms": self.rtt_max_ms,
            "server_cpu_s": self.server_cpu, "client_cpu_s": self.client_cpu,
            "server_cpu_us_per_msg": self.cpu_us_per_msg(),
            "server_connect_cpu_s": self.server_connect_cpu,
            "client_connect_cpu_s": self.client_connect_cpu,
            "server_rss_kib_before": self.server_rss_kib.0,
            "server_rss_kib": self.server_rss_kib.1,
            "server_rss_growth_kib_per_client": self.rss_growth_kib(cfg.clients),
            "server_socket_drops": self.server_socket_drops,
            "mtu": self.result["mtu"], "window_size": self.result["window_size"]});
        v["link"] = link.unwrap_or(Value::Null);
        v
    }
}

/// Settings of every run.
pub(super) struct Ctx {
    pub stop: Arc<AtomicBool>,
    pub timeout: f64,
    pub lost_after_ms: u64,
    pub c_buffers: bool,
    pub busy_poll_us: Option<u64>,
    /// Our workers' transit window (`HostConfig::transit_window`), if not the default.
    pub transit_window: Option<u32>,
    /// With --dtls: the directory holding cert.pem and key.pem for our workers.
    pub dtls: Option<crate::tls::TempDir>,
}

/// Runs one configuration with one implementation.
pub(super) fn run_one(cfg: &Config, pair: &Pair, ctx: &Ctx) -> Result<RunResult, String> {
    let name = pair.name();
    let limit = ctx.timeout + cfg.duration;
    let stall = 10.0f64.min(ctx.timeout).max(1.0);
    let max_seconds = limit + 30.0;
    let stop = &*ctx.stop;

    let mut scmd = pair.server.command(ctx);
    scmd.args([
        pair.server.role(true),
        "--port",
        "0",
        "--peers",
        &cfg.peers().to_string(),
        "--max-seconds",
        &max_seconds.to_string(),
    ]);
    scmd.args(cfg.server_args());
    if cfg.clients > 1 && matches!(pair.server, Imp::Rust(_)) {
        // The load generator's clients share its one address, real players do not: no
        // GSO batching of replies to different clients (see bench-worker --no-gso).
        scmd.arg("--no-gso");
    }
    let sname = pair.server.name();
    let mut server = Proc::spawn(scmd, format!("{sname} server"), false)?;
    let listening = server.expect(
        "listening",
        Instant::now() + Duration::from_secs(10),
        stop,
        |_| {},
    )?;
    let port = listening["port"]
        .as_u64()
        .filter(|p| (1..=65535).contains(p))
        .ok_or_else(|| format!("the {sname} server reported no port"))? as u16;
    let relay = match cfg.link {
        Some(link) => Some(
            Relay::start(([127, 0, 0, 1], port).into(), link)
                .map_err(|e| format!("cannot start the lossy link: {e}"))?,
        ),
        None => None,
    };
    let client_port = relay.as_ref().map_or(port, |r| r.port());

    let mut ccmd = pair.client.command(ctx);
    ccmd.arg(pair.client.role(false));
    ccmd.args(cfg.worker_args(client_port, stall, ctx.lost_after_ms, max_seconds));
    let mut client = Proc::spawn(ccmd, format!("{} client", pair.client.name()), true)?;
    client.expect(
        "ready",
        Instant::now() + Duration::from_secs(10),
        stop,
        |_| {},
    )?;
    let cpu = |p: &Proc| cpu_seconds(p.pid()).unwrap_or(0.0);
    let (s0, c0) = (cpu(&server), cpu(&client));
    let rss0 = rss_kib(server.pid()).unwrap_or(0);
    client.go()?;
    let connected = client.expect(
        "connected",
        Instant::now() + Duration::from_secs_f64(stall + 5.0),
        stop,
        |_| {},
    )?;
    let (s1, c1) = (cpu(&server), cpu(&client));
    let drops0 = udp_drops(port);
    client.go()?;
    let label = format!("{} {name}", cfg.label);
    let result = client.expect(
        "result",
        Instant::now() + Duration::from_secs_f64(limit),
        stop,
        |v| {
            if v["event"] == "progress" {
                eprintln!(
                    "bench: [{label}] {:.0} s: {}/{} messages echoed",
                    v["t"].as_f64().unwrap_or(0.0),
                    v["resolved"],
                    v["total"]
                );
            }
        },
    )?;
    let (s2, c2) = (cpu(&server), cpu(&client));
    let drops1 = udp_drops(port);
    let rss1 = rss_kib(server.pid()).unwrap_or(0);
    client.finish(Duration::from_secs(5));
    drop(server);
    let link_dropped = relay.map_or((0, 0), Relay::stop);

    let mut result = result;
    result["mtu"] = connected["mtu"].clone();
    result["window_size"] = connected["window_size"].clone();
    let f = |k: &str| result[k].as_f64().unwrap_or(0.0);
    let elapsed = f("elapsed_s");
    let echoed = result["echoed"].as_u64().unwrap_or(0);
    let per_s = |x: f64| if elapsed > 0.0 { x / elapsed } else { 0.0 };
    Ok(RunResult {
        imp: name,
        server_imp: pair.server.name(),
        client_imp: pair.client.name(),
        ok: result["ok"] == true,
        elapsed,
        echoed,
        connect_s: f("connect_s"),
        msgs_per_s: per_s(echoed as f64),
        mb_per_s: per_s(echoed as f64 * cfg.size as f64) / 1e6,
        rtt_p50_ms: f("rtt_p50_ms"),
        rtt_p99_ms: f("rtt_p99_ms"),
        rtt_p999_ms: f("rtt_p999_ms"),
        rtt_max_ms: f("rtt_max_ms"),
        server_cpu: s2 - s1,
        client_cpu: c2 - c1,
        server_connect_cpu: s1 - s0,
        client_connect_cpu: c1 - c0,
        server_rss_kib: (rss0, rss1),
        link_dropped,
        server_socket_drops: drops0.zip(drops1).map(|(a, b)| b.saturating_sub(a)),
        result,
    })
}
