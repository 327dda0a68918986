//! Helpers shared by the CLI's integration tests: the `enet` binary as a command, a running
//! `enet serve` child process with its stdout lines ([`Serve`]), the summary line of
//! `enet connect`, hex input and the CPU time of a child process (from `/proc`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `enet` binary under test.
pub fn enet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_enet"))
}

/// Bytes from hex digits, in pairs, white space ignored (`"07 01 f0"` or `"0701f0"`).
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// The `summary` line among `enet connect --json`'s stdout lines (each must be JSON).
pub fn summary(stdout: &str) -> Value {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
        .find(|v| v["event"] == "summary")
        .expect("summary line")
}

/// A running `enet serve --bind 127.0.0.1 --port 0 --stats-interval 0 [--json] ARGS…`,
/// killed when dropped. A thread reads its stdout for as long as it runs (so it never blocks
/// on a full pipe) and hands the lines over on `lines`.
pub struct Serve {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    /// Where it listens.
    pub addr: SocketAddr,
    pub port: u16,
    /// The lines read through [`Serve::wait_for`] and [`Serve::terminate`], the first
    /// (`listening`) line included.
    pub seen: Vec<String>,
}

impl Serve {
    /// Starts it with `--json` and reads the `listening` line.
    pub fn start(args: &[&str]) -> Serve {
        Serve::spawn(args, true)
    }

    /// Starts it with text output and reads the `listening on ADDR …` line.
    pub fn start_text(args: &[&str]) -> Serve {
        Serve::spawn(args, false)
    }

    fn spawn(args: &[&str], json: bool) -> Serve {
        let mut cmd = enet();
        cmd.args(["serve", "--bind", "127.0.0.1", "--port", "0"])
            .args(["--stats-interval", "0"]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn enet serve");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                // Keep reading even when nobody listens any more.
                let _ = tx.send(l);
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("listening line");
        let addr = if json {
            let v: Value = serde_json::from_str(&first).expect("json");
            assert_eq!(v["event"], "listening", "{first}");
            v["addr"].as_str().expect("addr").to_string()
        } else {
            // "listening on 127.0.0.1:PORT (godot mode, ...)"
            first.split_whitespace().nth(2).expect("addr").to_string()
        };
        let addr: SocketAddr = addr.parse().expect("a socket address");
        Serve {
            child,
            lines,
            addr,
            port: addr.port(),
            seen: vec![first],
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// The next JSON line whose `event` is `event`; panics after `timeout` with the lines
    /// seen so far.
    pub fn wait_for(&mut self, event: &str, timeout: Duration) -> Value {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let l = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {event} line; saw {:?}", self.seen));
            self.seen.push(l.clone());
            let v: Value = serde_json::from_str(&l).expect("every line is JSON");
            assert!(v["event"].is_string(), "line without event: {l}");
            if v["event"] == event {
                return v;
            }
        }
    }

    /// Sends SIGTERM, waits (10 s at most) for the exit, and returns the exit code with every
    /// line it printed (as JSON).
    pub fn terminate(mut self) -> (i32, Vec<Value>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let end = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s.code().unwrap_or(-1);
            }
            assert!(Instant::now() < end, "serve did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(l);
        }
        let values = self
            .seen
            .iter()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect();
        (code, values)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User plus system CPU time of process `pid` so far, in clock ticks (`/proc/<pid>/stat`;
/// 0 where that cannot be read).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// [`cpu_ticks`] as a duration.
pub fn cpu_time(pid: u32) -> Duration {
    Duration::from_millis(cpu_ticks(pid) * 1000 / clock_ticks())
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if that fails).
pub fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}
