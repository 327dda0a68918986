//! `enet bench`: an echo server and a load generator on loopback, in separate processes,
//! optionally run a second time with the C library (`--vs-c`).
//!
//! The orchestrator (this module) starts a server worker and a client worker, both either
//! `enet bench-worker` (Rust, [`crate::bench_worker`]) or `bench_peer` (C, `bench_peer.c`,
//! compiled at run time against the system's libenet). Both speak the same arguments and
//! JSON lines, so they are driven alike. CPU times come from `/proc/<pid>/schedstat`
//! (nanoseconds; the workers are single-threaded) with `/proc/<pid>/stat` utime+stime as
//! the fallback, sampled between the client's phases: connecting, then the transfer.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{count, mode_name, number_in, parse_mode, seconds, stop_flag, CliResult};

/// Most messages of one run, over all connections (the load generator keeps a byte each).
pub const MAX_MESSAGES: u64 = 50_000_000;

/// The C load generator and echo server, compiled by `--vs-c`.
const BENCH_PEER_C: &str = include_str!("bench_peer.c");

/// Arguments of `enet bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Connections (peers of one client host), 1..=4000 [default: 1].
    #[arg(long, value_parser = count::<usize>(1, 4000))]
    pub clients: Option<usize>,
    /// Messages per connection in throughput mode, 1..=50000000 (and --clients x
    /// --messages at most 50000000) [default: 10000].
    #[arg(long, conflicts_with_all = ["rate", "duration"], value_parser = count::<u64>(1, MAX_MESSAGES))]
    pub messages: Option<u64>,
    /// Message size in bytes, 16..=16777216 (at least 16: sequence number, client and
    /// timestamp) [default: 64].
    #[arg(long, value_parser = count::<usize>(16, 16 * 1024 * 1024))]
    pub size: Option<usize>,
    /// Transfer mode: reliable, unreliable or unreliable-ordered [default: reliable].
    #[arg(long)]
    pub mode: Option<String>,
    /// Throughput mode: most messages awaiting their echo per connection, 1..=65536
    /// [default: 64].
    #[arg(long, value_parser = count::<u64>(1, 65536))]
    pub window: Option<u64>,
    /// Paced mode: messages per second per connection, 0.001..=1000000 (with --duration).
    #[arg(long, requires = "duration", value_parser = number_in(0.001, 1e6, "messages per second"))]
    pub rate: Option<f64>,
    /// Paced mode: seconds of sending, 0.001..=3600 (with --rate).
    #[arg(long, requires = "rate", value_parser = seconds(0.001, 3600.0))]
    pub duration: Option<f64>,
    /// Run one of the reference workloads: i, ii, iii, iv or all (prints a table).
    #[arg(long, conflicts_with_all = ["clients", "messages", "size", "window", "rate", "duration"])]
    pub workload: Option<String>,
    /// Also run the same workload with the C library (needs cc, pkg-config, libenet-dev).
    #[arg(long)]
    pub vs_c: bool,
    /// With --vs-c: also run our server with the C load generator and the C server with
    /// ours, so that each side is measured against the same peer.
    #[arg(long, requires = "vs_c")]
    pub cross: bool,
    /// Run each configuration this many times (alternating implementations) and compare
    /// the median runs (1..=100).
    #[arg(long, default_value_t = 1, value_parser = count::<u32>(1, 100))]
    pub repeat: u32,
    /// One JSON object per line on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// Seconds a run may take before it is abandoned (paced runs: on top of --duration),
    /// 0.001..=86400.
    #[arg(long, default_value_t = 120.0, value_parser = seconds(0.001, 86400.0))]
    pub timeout: f64,
    /// Unreliable modes: a message whose echo is this late counts as lost (1..=600000 ms).
    #[arg(long, default_value_t = 1000, value_parser = count::<u64>(1, 600_000))]
    pub lost_after_ms: u64,
    /// Give our side C ENet's 256 KiB socket buffers instead of this library's 1 MiB
    /// default, so that only the protocol engines differ (by default each library runs
    /// with its own defaults, as its users get it).
    #[arg(long)]
    pub c_buffers: bool,
    /// Longest busy-poll spin of our side in µs before it sleeps on the socket (default:
    /// the library's, 50 µs, adaptive; 0 turns busy polling off), 0..=1000000.
    #[arg(long, value_parser = count::<u64>(0, 1_000_000))]
    pub busy_poll_us: Option<u64>,
    /// Run our server and load generator over DTLS (a fresh self-signed certificate; the
    /// client does not verify it). Needs a build with `--features dtls`; not with --vs-c.
    #[arg(long, conflicts_with = "vs_c")]
    pub dtls: bool,
}

/// One benchmark configuration.
#[derive(Clone, Debug)]
struct Config {
    /// Workload label ("i", "ii-a", ...; "custom").
    label: String,
    /// Human description.
    title: String,
    clients: usize,
    messages: u64,
    size: usize,
    mode: &'static str,
    window: u64,
    /// Messages per second per connection; 0 = throughput mode.
    rate: f64,
    duration: f64,
}

impl Config {
    fn worker_args(&self, port: u16, stall: f64, lost_after_ms: u64, max: f64) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "client".into(),
            "--connect".into(),
            format!("127.0.0.1:{port}"),
            "--clients".into(),
            self.clients.to_string(),
            "--messages".into(),
            self.messages.to_string(),
            "--size".into(),
            self.size.to_string(),
            "--mode".into(),
            self.mode.into(),
            "--window".into(),
            self.window.to_string(),
            "--timeout".into(),
            stall.to_string(),
            "--lost-after-ms".into(),
            lost_after_ms.to_string(),
            "--max-seconds".into(),
            max.to_string(),
        ];
        if self.rate > 0.0 {
            v.push("--rate".into());
            v.push(self.rate.to_string());
        }
        v
    }

    fn describe(&self) -> String {
        let what = if self.rate > 0.0 {
            format!(
                "{} x {}/s x {} B for {} s, {}",
                self.clients, self.rate, self.size, self.duration, self.mode
            )
        } else if self.messages == 0 {
            format!("{} connections at once", self.clients)
        } else {
            format!(
                "{} x {} x {} B {}, window {}",
                self.clients, self.messages, self.size, self.mode, self.window
            )
        };
        what
    }
}

/// The reference workloads.
fn workloads(which: &str, mode: Option<&'static str>) -> Result<Vec<Config>, String> {
    let rel = mode.unwrap_or("reliable");
    let mk = |label: &str, title: &str, clients, messages, size, rate: f64, duration: f64| Config {
        label: label.into(),
        title: title.into(),
        clients,
        messages,
        size,
        mode: rel,
        window: 64,
        rate,
        duration,
    };
    let i = mk(
        "i",
        "1 x 100000 x 64 B, 64 in flight",
        1,
        100_000,
        64,
        0.0,
        0.0,
    );
    let ii_a = mk("ii-a", "1 MB as 1000 x 1 KiB", 1, 1000, 1024, 0.0, 0.0);
    let ii_b = mk("ii-b", "1 MB as 4 x 256 KiB", 1, 4, 256 * 1024, 0.0, 0.0);
    let iii = mk(
        "iii",
        "500 clients x 20/s x 100 B, 10 s",
        500,
        200,
        100,
        20.0,
        10.0,
    );
    let iv = mk("iv", "1000 connections at once", 1000, 0, 16, 0.0, 0.0);
    Ok(match which {
        "i" | "1" => vec![i],
        "ii" | "2" => vec![ii_a, ii_b],
        "iii" | "3" => vec![iii],
        "iv" | "4" => vec![iv],
        "all" => vec![i, ii_a, ii_b, iii, iv],
        _ => {
            return Err(format!(
                "unknown workload {which:?}: use i, ii, iii, iv or all"
            ))
        }
    })
}

fn custom(a: &Args, mode: Option<&'static str>) -> Result<Config, String> {
    // The value parsers checked each number's range; what is left are combinations.
    let clients = a.clients.unwrap_or(1);
    let size = a.size.unwrap_or(64);
    let window = a.window.unwrap_or(64);
    let (rate, duration, messages) = match (a.rate, a.duration) {
        (Some(r), Some(d)) => (r, d, (r * d).round().max(1.0) as u64),
        _ => (0.0, 0.0, a.messages.unwrap_or(10_000)),
    };
    if clients as u64 * messages > MAX_MESSAGES {
        return Err("--clients x --messages must be at most 50,000,000".into());
    }
    let mut c = Config {
        label: "custom".into(),
        title: String::new(),
        clients,
        messages,
        size,
        mode: mode.unwrap_or("reliable"),
        window,
        rate,
        duration,
    };
    c.title = c.describe();
    Ok(c)
}

/// Which implementation a run uses.
#[derive(Clone, Debug)]
enum Imp {
    Rust(PathBuf),
    C(PathBuf),
}

impl Imp {
    fn name(&self) -> &'static str {
        match self {
            Imp::Rust(_) => "rust",
            Imp::C(_) => "c",
        }
    }

    /// The worker's command line, with our worker's options from `ctx`.
    fn command(&self, ctx: &Ctx) -> Command {
        match self {
            Imp::Rust(exe) => {
                let mut c = Command::new(exe);
                c.arg("bench-worker");
                if ctx.c_buffers {
                    c.arg("--c-buffers");
                }
                if let Some(us) = ctx.busy_poll_us {
                    c.arg("--busy-poll-us").arg(us.to_string());
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
struct Pair {
    server: Imp,
    client: Imp,
}

impl Pair {
    fn name(&self) -> String {
        match (self.server.name(), self.client.name()) {
            (s, c) if s == c => s.to_string(),
            (s, c) => format!("{s}-server+{c}-client"),
        }
    }
}

/// A child process that is killed when dropped.
struct Proc {
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
struct RunResult {
    imp: String,
    server_imp: &'static str,
    client_imp: &'static str,
    result: Value,
    ok: bool,
    elapsed: f64,
    echoed: u64,
    connect_s: f64,
    msgs_per_s: f64,
    mb_per_s: f64,
    rtt_p50_ms: f64,
    rtt_p99_ms: f64,
    server_cpu: f64,
    client_cpu: f64,
    server_connect_cpu: f64,
    client_connect_cpu: f64,
}

impl RunResult {
    fn to_json(&self, cfg: &Config) -> Value {
        json!({"event": "run", "workload": cfg.label, "title": cfg.title, "impl": self.imp,
            "server_impl": self.server_imp, "client_impl": self.client_imp,
            "ok": self.ok, "error": self.result["error"],
            "clients": cfg.clients, "messages": cfg.messages, "size": cfg.size, "mode": cfg.mode,
            "window": cfg.window, "rate": cfg.rate, "duration": cfg.duration,
            "sent": self.result["sent"], "echoed": self.echoed, "lost": self.result["lost"],
            "late": self.result["late"], "bad": self.result["bad"],
            "elapsed_s": self.elapsed, "connect_s": self.connect_s,
            "msgs_per_sec": self.msgs_per_s, "mb_per_sec": self.mb_per_s,
            "rtt_p50_ms": self.rtt_p50_ms, "rtt_p99_ms": self.rtt_p99_ms,
            "rtt_mean_ms": self.result["rtt_mean_ms"], "rtt_max_ms": self.result["rtt_max_ms"],
            "server_cpu_s": self.server_cpu, "client_cpu_s": self.client_cpu,
            "server_connect_cpu_s": self.server_connect_cpu,
            "client_connect_cpu_s": self.client_connect_cpu,
            "mtu": self.result["mtu"], "window_size": self.result["window_size"]})
    }
}

struct Ctx {
    stop: Arc<AtomicBool>,
    timeout: f64,
    lost_after_ms: u64,
    c_buffers: bool,
    busy_poll_us: Option<u64>,
    /// With --dtls: the directory holding cert.pem and key.pem for our workers.
    dtls: Option<crate::tls::TempDir>,
}

/// Runs one configuration with one implementation.
fn run_one(cfg: &Config, pair: &Pair, ctx: &Ctx) -> Result<RunResult, String> {
    let name = pair.name();
    let limit = ctx.timeout + cfg.duration;
    let stall = 10.0f64.min(ctx.timeout).max(1.0);
    let max_seconds = limit + 30.0;
    let stop = &*ctx.stop;

    let mut scmd = pair.server.command(ctx);
    scmd.args([
        "server",
        "--port",
        "0",
        "--peers",
        &(cfg.clients + 16).min(4095).to_string(),
        "--max-seconds",
        &max_seconds.to_string(),
    ]);
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

    let mut ccmd = pair.client.command(ctx);
    ccmd.args(cfg.worker_args(port, stall, ctx.lost_after_ms, max_seconds));
    let mut client = Proc::spawn(ccmd, format!("{} client", pair.client.name()), true)?;
    client.expect(
        "ready",
        Instant::now() + Duration::from_secs(10),
        stop,
        |_| {},
    )?;
    let cpu = |p: &Proc| cpu_seconds(p.pid()).unwrap_or(0.0);
    let (s0, c0) = (cpu(&server), cpu(&client));
    client.go()?;
    let connected = client.expect(
        "connected",
        Instant::now() + Duration::from_secs_f64(stall + 5.0),
        stop,
        |_| {},
    )?;
    let (s1, c1) = (cpu(&server), cpu(&client));
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
    client.finish(Duration::from_secs(5));
    drop(server);

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
        server_cpu: s2 - s1,
        client_cpu: c2 - c1,
        server_connect_cpu: s1 - s0,
        client_connect_cpu: c1 - c0,
        result,
    })
}

/// The C programs' build directory, removed when dropped.
struct CBuild {
    dir: PathBuf,
    exe: PathBuf,
    version: String,
}

impl Drop for CBuild {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn first_lines(b: &[u8], n: usize) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Compiles `bench_peer.c` with `$CC` (default `cc`) against libenet (pkg-config).
fn build_c() -> Result<CBuild, String> {
    let pc = |args: &[&str]| Command::new("pkg-config").args(args).output();
    let flags = match pc(&["--cflags", "--libs", "libenet"]) {
        Err(e) => {
            return Err(format!(
                "--vs-c needs pkg-config and libenet-dev (apt-get install pkg-config libenet-dev): cannot run pkg-config: {e}"
            ))
        }
        Ok(o) if !o.status.success() => {
            return Err(format!(
                "--vs-c needs the C library: `pkg-config --cflags --libs libenet` failed (apt-get install libenet-dev): {}",
                first_lines(&o.stderr, 1)
            ))
        }
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
    };
    let version = pc(&["--modversion", "libenet"])
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("enet-bench-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let build = CBuild {
        exe: dir.join("bench_peer"),
        dir,
        version,
    };
    let src = build.dir.join("bench_peer.c");
    std::fs::write(&src, BENCH_PEER_C)
        .map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    let cc = std::env::var("CC")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cc".into());
    let mut words = cc.split_whitespace();
    let prog = words.next().unwrap_or("cc").to_string();
    let out = Command::new(&prog)
        .args(words)
        .args(["-O2", "-o"])
        .arg(&build.exe)
        .arg(&src)
        .args(flags.split_whitespace())
        .output()
        .map_err(|e| {
            format!("--vs-c needs a C compiler: cannot run {prog:?} ({e}); install gcc or set $CC")
        })?;
    if !out.status.success() {
        return Err(format!(
            "compiling bench_peer.c with {cc:?} failed: {}",
            first_lines(&out.stderr, 3)
        ));
    }
    Ok(build)
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1} ")
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}"))
}

fn print_run(cfg: &Config, r: &RunResult) {
    let mut s = if cfg.messages == 0 {
        format!(
            "[{} {}] {}: {} connected in {:.1} ms (CPU server {:.3} s, client {:.3} s)",
            cfg.label,
            r.imp,
            cfg.title,
            r.result["clients"],
            r.connect_s * 1e3,
            r.server_connect_cpu,
            r.client_connect_cpu
        )
    } else {
        format!(
            "[{} {}] {}: {} echoed in {:.3} s",
            cfg.label, r.imp, cfg.title, r.echoed, r.elapsed
        )
    };
    if cfg.messages > 0 {
        s += &format!(
            " = {}msgs/s, {:.2} MB/s; RTT p50 {:.3} ms, p99 {:.3} ms",
            fmt_rate(r.msgs_per_s),
            r.mb_per_s,
            r.rtt_p50_ms,
            r.rtt_p99_ms
        );
        s += &format!(
            "; CPU server {:.3} s, client {:.3} s; connect {:.1} ms (CPU server {:.3} s, client {:.3} s)",
            r.server_cpu,
            r.client_cpu,
            r.connect_s * 1e3,
            r.server_connect_cpu,
            r.client_connect_cpu
        );
    }
    let lost = r.result["lost"].as_u64().unwrap_or(0);
    if lost > 0 {
        s += &format!("; {lost} lost");
    }
    if !r.ok {
        s += &format!("; FAILED: {}", r.result["error"].as_str().unwrap_or("?"));
    }
    println!("{s}");
}

/// The metrics compared for a configuration: (name, ours, C, higher is better).
fn metrics(cfg: &Config, ours: &RunResult, c: &RunResult) -> Vec<(&'static str, f64, f64, bool)> {
    let mut m = Vec::new();
    if cfg.messages == 0 {
        m.push((
            "connect time ms",
            ours.connect_s * 1e3,
            c.connect_s * 1e3,
            false,
        ));
        m.push((
            "server CPU s (connect)",
            ours.server_connect_cpu,
            c.server_connect_cpu,
            false,
        ));
        m.push((
            "client CPU s (connect)",
            ours.client_connect_cpu,
            c.client_connect_cpu,
            false,
        ));
        return m;
    }
    if cfg.rate > 0.0 {
        m.push(("server CPU s", ours.server_cpu, c.server_cpu, false));
        m.push(("delivered msgs", ours.echoed as f64, c.echoed as f64, true));
        m.push(("RTT p50 ms", ours.rtt_p50_ms, c.rtt_p50_ms, false));
        m.push(("RTT p99 ms", ours.rtt_p99_ms, c.rtt_p99_ms, false));
        m.push(("client CPU s", ours.client_cpu, c.client_cpu, false));
        return m;
    }
    if cfg.size >= 1024 {
        m.push(("MB/s", ours.mb_per_s, c.mb_per_s, true));
        m.push(("msgs/s", ours.msgs_per_s, c.msgs_per_s, true));
    } else {
        m.push(("msgs/s", ours.msgs_per_s, c.msgs_per_s, true));
        m.push(("MB/s", ours.mb_per_s, c.mb_per_s, true));
    }
    m.push(("RTT p50 ms", ours.rtt_p50_ms, c.rtt_p50_ms, false));
    m.push(("RTT p99 ms", ours.rtt_p99_ms, c.rtt_p99_ms, false));
    m.push(("server CPU s", ours.server_cpu, c.server_cpu, false));
    m.push(("client CPU s", ours.client_cpu, c.client_cpu, false));
    m
}

/// The metric that picks the median of repeated runs.
fn primary(cfg: &Config, r: &RunResult) -> f64 {
    if cfg.messages == 0 {
        r.connect_s
    } else if cfg.rate > 0.0 {
        r.server_cpu
    } else {
        r.elapsed
    }
}

/// The primary metric of a run, for humans.
fn primary_text(cfg: &Config, r: &RunResult) -> String {
    if cfg.messages == 0 {
        format!("connect time {:.1} ms", r.connect_s * 1e3)
    } else if cfg.rate > 0.0 {
        format!("server CPU {:.3} s", r.server_cpu)
    } else {
        format!("transfer time {:.1} ms", r.elapsed * 1e3)
    }
}

/// Metrics of the mixed runs (`--cross`) against the all-C run: our server with the C
/// load generator (`rs`), and the C server with our load generator (`rc`).
fn cross_metrics(
    cfg: &Config,
    rs: &RunResult,
    rc: &RunResult,
    c: &RunResult,
) -> Vec<(&'static str, f64, f64, bool)> {
    if cfg.messages == 0 {
        return vec![
            (
                "connect ms [our srv, C cli]",
                rs.connect_s * 1e3,
                c.connect_s * 1e3,
                false,
            ),
            (
                "connect ms [C srv, our cli]",
                rc.connect_s * 1e3,
                c.connect_s * 1e3,
                false,
            ),
        ];
    }
    if cfg.rate > 0.0 {
        return vec![
            (
                "server CPU s [our srv, C cli]",
                rs.server_cpu,
                c.server_cpu,
                false,
            ),
            (
                "RTT p50 ms [our srv, C cli]",
                rs.rtt_p50_ms,
                c.rtt_p50_ms,
                false,
            ),
            (
                "client CPU s [C srv, our cli]",
                rc.client_cpu,
                c.client_cpu,
                false,
            ),
            (
                "RTT p50 ms [C srv, our cli]",
                rc.rtt_p50_ms,
                c.rtt_p50_ms,
                false,
            ),
        ];
    }
    if cfg.size >= 1024 {
        vec![
            ("MB/s [our srv, C cli]", rs.mb_per_s, c.mb_per_s, true),
            ("MB/s [C srv, our cli]", rc.mb_per_s, c.mb_per_s, true),
        ]
    } else {
        vec![
            ("msgs/s [our srv, C cli]", rs.msgs_per_s, c.msgs_per_s, true),
            ("msgs/s [C srv, our cli]", rc.msgs_per_s, c.msgs_per_s, true),
        ]
    }
}

fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

pub fn run(a: Args) -> CliResult {
    if let Some(r) = crate::tls::check(a.dtls) {
        return r;
    }
    let mode = match &a.mode {
        Some(m) => Some(mode_name(parse_mode(m)?)),
        None => None,
    };
    let configs = match &a.workload {
        Some(w) => workloads(w, mode)?,
        None => vec![custom(&a, mode)?],
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find our own binary: {e}"))?;
    let stop = stop_flag();
    let c_build = if a.vs_c { Some(build_c()?) } else { None };
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: this is a debug build; use a release build (cargo run --release) for meaningful numbers");
    }
    let rust = Imp::Rust(exe);
    let mut pairs = vec![Pair {
        server: rust.clone(),
        client: rust.clone(),
    }];
    if let Some(b) = &c_build {
        let c = Imp::C(b.exe.clone());
        pairs.push(Pair {
            server: c.clone(),
            client: c.clone(),
        });
        if a.cross {
            pairs.push(Pair {
                server: rust.clone(),
                client: c.clone(),
            });
            pairs.push(Pair {
                server: c,
                client: rust,
            });
        }
    }
    let ctx = Ctx {
        stop: stop.clone(),
        timeout: a.timeout,
        lost_after_ms: a.lost_after_ms,
        c_buffers: a.c_buffers,
        busy_poll_us: a.busy_poll_us,
        dtls: if a.dtls {
            Some(crate::tls::bench_certificate()?)
        } else {
            None
        },
    };
    let our_buffers = if a.c_buffers {
        crate::bench_worker::SOCKET_BUFFER
    } else {
        enet::SOCKET_BUFFER_SIZE
    };
    if a.json {
        println!(
            "{}",
            json!({"event": "start", "debug_build": cfg!(debug_assertions),
                   "libenet": c_build.as_ref().map(|b| b.version.clone()),
                   "socket_buffers": {"rust": our_buffers, "c": crate::bench_worker::SOCKET_BUFFER},
                   "workloads": configs.iter().map(|c| c.label.clone()).collect::<Vec<_>>()})
        );
    } else {
        if let Some(b) = &c_build {
            println!(
                "C: libenet {} via pkg-config, bench_peer built with -O2",
                b.version
            );
        }
        println!(
            "socket buffers requested: ours {} KiB{}, C {} KiB (enet_host_create)",
            our_buffers / 1024,
            if a.c_buffers {
                " (--c-buffers)"
            } else {
                " (library default; --c-buffers for C's size)"
            },
            crate::bench_worker::SOCKET_BUFFER / 1024
        );
    }
    let mut failures: Vec<String> = Vec::new();
    let mut rows: Vec<(Config, Vec<Option<RunResult>>)> = Vec::new();
    for cfg in &configs {
        // Repetitions alternate between the implementations, so that drifting background
        // load affects them alike; each one's median run (by its primary metric) counts.
        let mut per_pair: Vec<Vec<RunResult>> = vec![Vec::new(); pairs.len()];
        for rep in 0..a.repeat {
            for (i, pair) in pairs.iter().enumerate() {
                let name = pair.name();
                let nth = if a.repeat > 1 {
                    format!(" (run {} of {})", rep + 1, a.repeat)
                } else {
                    String::new()
                };
                eprintln!("bench: [{} {name}] {}{nth} ...", cfg.label, cfg.title);
                match run_one(cfg, pair, &ctx) {
                    Ok(r) => {
                        if !r.ok {
                            failures.push(format!(
                                "[{} {}] {}",
                                cfg.label,
                                r.imp,
                                r.result["error"].as_str().unwrap_or("verification failed")
                            ));
                        }
                        if a.json {
                            let mut v = r.to_json(cfg);
                            v["run"] = json!(rep + 1);
                            println!("{v}");
                        } else {
                            print_run(cfg, &r);
                        }
                        per_pair[i].push(r);
                    }
                    Err(e) => {
                        if stop.load(Ordering::SeqCst) {
                            return Err("interrupted".into());
                        }
                        failures.push(format!("[{} {name}] {e}", cfg.label));
                        if a.json {
                            println!(
                                "{}",
                                json!({"event": "run", "workload": cfg.label, "impl": name,
                                       "run": rep + 1, "ok": false, "error": e})
                            );
                        } else {
                            println!("[{} {name}] FAILED: {e}", cfg.label);
                        }
                    }
                }
            }
        }
        let results: Vec<Option<RunResult>> = per_pair
            .into_iter()
            .map(|mut runs| {
                if runs.is_empty() {
                    return None;
                }
                runs.sort_by(|x, y| primary(cfg, x).total_cmp(&primary(cfg, y)));
                Some(runs.swap_remove(runs.len() / 2))
            })
            .collect();
        if a.repeat > 1 && !a.json {
            for r in results.iter().flatten() {
                println!(
                    "[{} {}] median of {} runs: {}",
                    cfg.label,
                    r.imp,
                    a.repeat,
                    primary_text(cfg, r)
                );
            }
        }
        if let [Some(ours), Some(c), rest @ ..] = &results[..] {
            let mut m = metrics(cfg, ours, c);
            if let [Some(rs), Some(rc)] = rest {
                m.extend(cross_metrics(cfg, rs, rc, c));
            }
            if a.json {
                let ratios: serde_json::Map<String, Value> = m
                    .iter()
                    .map(|(k, o, c, _)| (k.to_string(), json!(ratio(*o, *c))))
                    .collect();
                println!(
                    "{}",
                    json!({"event": "compare", "workload": cfg.label, "repeat": a.repeat,
                           "ours_over_c": ratios})
                );
            } else {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, o, c, _)| format!("{k} {}", fmt_ratio(ratio(*o, *c))))
                    .collect();
                println!("[{}] ours/C: {}", cfg.label, parts.join(", "));
            }
        }
        rows.push((cfg.clone(), results));
    }
    if a.workload.is_some() {
        print_table(&rows, a.json, c_build.is_some());
    }
    if !failures.is_empty() {
        for f in &failures[1..] {
            eprintln!("bench: {f}");
        }
        return Err(format!("bench failed: {}", failures[0]));
    }
    Ok(0)
}

fn print_table(rows: &[(Config, Vec<Option<RunResult>>)], json: bool, vs_c: bool) {
    let mut out: Vec<Value> = Vec::new();
    let mut text = String::new();
    text += &format!(
        "\n{:<6} {:<36} {:<30} {:>12} {:>12} {:>8}\n",
        "", "workload", "metric", "ours", "C", "ours/C"
    );
    for (cfg, results) in rows {
        let ours = results.first().cloned().flatten();
        let c = results.get(1).cloned().flatten();
        let (Some(ours), c) = (ours, c) else {
            text += &format!("{:<6} {:<36} failed\n", cfg.label, cfg.title);
            continue;
        };
        let stand_in = c.clone().unwrap_or_else(|| ours.clone());
        let mut m = metrics(cfg, &ours, &stand_in);
        if let (Some(c), Some(Some(rs)), Some(Some(rc))) = (&c, results.get(2), results.get(3)) {
            m.extend(cross_metrics(cfg, rs, rc, c));
        }
        for (n, (name, o, cv, higher)) in m.into_iter().enumerate() {
            let (cs, rs) = match &c {
                Some(_) => (fmt_num(cv), fmt_ratio(ratio(o, cv))),
                None => ("-".into(), "-".into()),
            };
            let label = if n == 0 { cfg.label.as_str() } else { "" };
            let title = if n == 0 { cfg.title.as_str() } else { "" };
            text += &format!(
                "{label:<6} {title:<36} {name:<30} {:>12} {cs:>12} {rs:>8}\n",
                fmt_num(o)
            );
            out.push(json!({"workload": cfg.label, "metric": name, "ours": o,
                "c": c.as_ref().map(|_| cv), "ratio": c.as_ref().and_then(|_| ratio(o, cv)),
                "higher_is_better": higher}));
        }
    }
    if json {
        println!("{}", json!({"event": "table", "rows": out}));
    } else {
        print!("{text}");
        if vs_c {
            println!("ratios are ours/C: above 1 is better for msgs/s, MB/s and delivered; below 1 is better for times and CPU.");
        }
    }
}
