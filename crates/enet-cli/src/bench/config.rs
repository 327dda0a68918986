//! The benchmark configurations: the reference workloads (i to vi), `--scale` for quick
//! runs of them (the tests), and a custom configuration from the command-line flags.

use super::{Args, MAX_MESSAGES};

/// Connection attempts pending at once in the many-client workloads (iii, vi).
const CONNECT_BATCH: usize = 250;

/// Server ticks a second of the tick-driven workloads (`iii-*-tick`): a 60 Hz frame.
pub(super) const TICK_HZ: u32 = 60;

/// What a configuration measures; picks its metrics and the run that is its median.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// Messages kept in flight as fast as they come back: msgs/s (small) or MB/s (bulk).
    Throughput,
    /// Clients sending at a fixed rate: server CPU per delivered message.
    Paced,
    /// Connections at once: time until all are connected.
    Connect,
    /// Paced clients over a lossy, delayed link: echo latency percentiles.
    LossyLatency,
    /// Bulk over a lossy, delayed link: MB/s.
    LossyBulk,
    /// Connected peers after a few messages each: server RSS.
    Memory,
}

/// A lossy, delayed link between load generator and server (an in-bench UDP relay).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Link {
    /// Round-trip delay the relay adds (half each way), in ms.
    pub rtt_ms: u64,
    /// Probability that the relay drops a datagram, each direction.
    pub loss: f64,
    /// Seed of the drop pattern: datagram n of a direction is dropped or not whichever
    /// implementation sends it.
    pub seed: u64,
}

/// One benchmark configuration.
#[derive(Clone, Debug)]
pub(super) struct Config {
    /// Workload label ("i", "ii-a", ...; "custom").
    pub label: String,
    /// Human description.
    pub title: String,
    pub family: Family,
    pub clients: usize,
    pub messages: u64,
    pub size: usize,
    pub mode: &'static str,
    pub window: u64,
    /// Messages per second per connection; 0 = throughput mode.
    pub rate: f64,
    pub duration: f64,
    /// Server peer slots; `None`: the clients and 16 more (at most 4095).
    pub server_peers: Option<usize>,
    /// The link between load generator and server; `None`: straight over loopback.
    pub link: Option<Link>,
    /// Also measure a plain UDP echo of the same datagram rate (the floor).
    pub floor: bool,
    /// Most connection attempts pending at once; 0: all at once (workload iv measures
    /// that; the steady-state workloads connect in batches, so that a connection storm
    /// on loopback does not decide them).
    pub connect_batch: usize,
    /// The servers (ours, C's and the UDP floor's) run tick-driven at this many ticks a
    /// second instead of waking for each datagram; `None`: event-driven.
    pub server_tick_hz: Option<u32>,
}

impl Config {
    /// The server worker's extra arguments (`--server-tick-hz` of tick-driven runs).
    pub fn server_args(&self) -> Vec<String> {
        match self.server_tick_hz {
            Some(hz) => vec!["--server-tick-hz".into(), hz.to_string()],
            None => Vec::new(),
        }
    }

    /// Makes the servers tick-driven at `hz` (`enet bench --server-tick-hz`).
    pub fn with_server_tick(mut self, hz: u32) -> Config {
        self.server_tick_hz = Some(hz);
        self.title = self.describe();
        self
    }

    /// The load generator's arguments (after the role).
    pub fn worker_args(&self, port: u16, stall: f64, lost_after_ms: u64, max: f64) -> Vec<String> {
        let mut v: Vec<String> = vec![
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
        if self.connect_batch > 0 {
            v.push("--connect-batch".into());
            v.push(self.connect_batch.to_string());
        }
        v
    }

    /// Server peer slots.
    pub fn peers(&self) -> usize {
        self.server_peers.unwrap_or((self.clients + 16).min(4095))
    }

    fn describe(&self) -> String {
        let base = self.describe_load();
        match self.server_tick_hz {
            Some(hz) => format!("{base}, server {hz} Hz tick"),
            None => base,
        }
    }

    fn describe_load(&self) -> String {
        if self.rate > 0.0 {
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
        }
    }

    /// A smaller version of this workload for quick runs (`--scale`, the tests): message
    /// counts, client counts, connection batches and durations times `s` (at least 1
    /// message, client or connection, and half a second), the rest unchanged.
    pub fn scaled(mut self, s: f64) -> Config {
        if s >= 1.0 {
            return self;
        }
        let at_least = |x: f64, min: f64| (x * s).round().max(min);
        if self.connect_batch > 0 {
            // Batches shrink with the client counts, so that quick runs still batch.
            self.connect_batch = at_least(self.connect_batch as f64, 1.0) as usize;
        }
        match self.family {
            Family::Throughput | Family::LossyBulk => {
                self.messages = at_least(self.messages as f64, 1.0) as u64;
            }
            Family::Paced | Family::LossyLatency => {
                if self.family == Family::Paced {
                    self.clients = at_least(self.clients as f64, 1.0) as usize;
                }
                self.duration = (self.duration * s).max(0.5);
                self.messages = (self.rate * self.duration).round().max(1.0) as u64;
            }
            Family::Connect | Family::Memory => {
                self.clients = at_least(self.clients as f64, 1.0) as usize;
            }
        }
        self.title = format!("{} (scaled x{s})", self.describe());
        self
    }
}

/// The reference workloads, in the order of `all`.
pub(super) fn workloads(which: &str, mode: Option<&'static str>) -> Result<Vec<Config>, String> {
    let rel = mode.unwrap_or("reliable");
    let base = |label: &str, title: &str, family: Family| Config {
        label: label.into(),
        title: title.into(),
        family,
        clients: 1,
        messages: 0,
        size: 64,
        mode: rel,
        window: 64,
        rate: 0.0,
        duration: 0.0,
        server_peers: None,
        link: None,
        floor: false,
        connect_batch: 0,
        server_tick_hz: None,
    };
    let throughput = |label: &str, title: &str, messages: u64, size: usize| Config {
        messages,
        size,
        ..base(label, title, Family::Throughput)
    };
    let paced = |label: &str, title: &str, clients: usize| Config {
        clients,
        messages: 200,
        size: 100,
        rate: 20.0,
        duration: 10.0,
        floor: true,
        connect_batch: CONNECT_BATCH,
        ..base(label, title, Family::Paced)
    };
    let link = |loss: f64| Link {
        rtt_ms: 40,
        loss,
        seed: 0x5eed_0e1e,
    };
    let lossy_latency = |label: &str, title: &str, loss: f64| Config {
        clients: 50,
        messages: 200,
        size: 100,
        rate: 20.0,
        duration: 10.0,
        link: Some(link(loss)),
        ..base(label, title, Family::LossyLatency)
    };
    let lossy_bulk = |label: &str, title: &str, loss: f64| Config {
        messages: 16 * 1024,
        size: 1024,
        window: 256,
        link: Some(link(loss)),
        ..base(label, title, Family::LossyBulk)
    };
    let i = throughput("i", "1 x 100000 x 64 B, 64 in flight", 100_000, 64);
    let ii = vec![
        throughput("ii-a", "64 MB as 65536 x 1 KiB", 65536, 1024),
        throughput("ii-b", "64 MB as 256 x 256 KiB", 256, 256 * 1024),
    ];
    // The same loads with tick-driven servers (a game server's frame: drain, reply, flush,
    // sleep), which adds up to one tick (16.7 ms) of latency on both sides.
    let tick = |label: &str, title: &str, clients: usize| Config {
        server_tick_hz: Some(TICK_HZ),
        ..paced(label, title, clients)
    };
    let iii = vec![
        paced("iii-500", "500 clients x 20/s x 100 B, 10 s", 500),
        paced("iii-2k", "2000 clients x 20/s x 100 B, 10 s", 2000),
        paced("iii-4k", "4000 clients x 20/s x 100 B, 10 s", 4000),
        tick(
            "iii-500-tick",
            "500 clients x 20/s x 100 B, 10 s, 60 Hz tick",
            500,
        ),
        tick(
            "iii-2k-tick",
            "2000 clients x 20/s x 100 B, 10 s, 60 Hz tick",
            2000,
        ),
        tick(
            "iii-4k-tick",
            "4000 clients x 20/s x 100 B, 10 s, 60 Hz tick",
            4000,
        ),
    ];
    let iv = Config {
        clients: 1000,
        size: 16,
        ..base("iv", "1000 connections at once", Family::Connect)
    };
    let v = vec![
        lossy_latency("v-lat1", "50 x 20/s x 100 B, 40 ms RTT, 1 % loss", 0.01),
        lossy_latency("v-lat5", "50 x 20/s x 100 B, 40 ms RTT, 5 % loss", 0.05),
        lossy_bulk("v-bulk1", "16 MB as 1 KiB, 40 ms RTT, 1 % loss", 0.01),
        lossy_bulk("v-bulk5", "16 MB as 1 KiB, 40 ms RTT, 5 % loss", 0.05),
    ];
    let vi = Config {
        clients: 4000,
        messages: 10,
        size: 100,
        window: 10,
        server_peers: Some(4095),
        connect_batch: CONNECT_BATCH,
        ..base(
            "vi",
            "4000 peers x 10 x 100 B, 4095 slots: server RSS",
            Family::Memory,
        )
    };
    Ok(match which {
        "i" | "1" => vec![i],
        "ii" | "2" => ii,
        "iii" | "3" => iii,
        "iii-tick" => iii
            .into_iter()
            .filter(|c| c.server_tick_hz.is_some())
            .collect(),
        "iv" | "4" => vec![iv],
        "v" | "5" => v,
        "vi" | "6" => vec![vi],
        "all" => {
            let mut all = vec![i];
            all.extend(ii);
            all.extend(iii);
            all.push(iv);
            all.extend(v);
            all.push(vi);
            all
        }
        label => {
            // One configuration by its label ("ii-b", "v-lat5", ...).
            match workloads("all", mode)?.into_iter().find(|c| c.label == label) {
                Some(c) => vec![c],
                None => {
                    return Err(format!(
                        "unknown workload {which:?}: use i, ii, iii, iii-tick, iv, v, vi, all or one label (ii-a, iii-2k, v-lat5, ...)"
                    ))
                }
            }
        }
    })
}

/// The configuration of the `--clients`/`--messages`/... flags.
pub(super) fn custom(a: &Args, mode: Option<&'static str>) -> Result<Config, String> {
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
        family: if rate > 0.0 {
            Family::Paced
        } else {
            Family::Throughput
        },
        clients,
        messages,
        size,
        mode: mode.unwrap_or("reliable"),
        window,
        rate,
        duration,
        server_peers: None,
        link: None,
        floor: false,
        connect_batch: 0,
        server_tick_hz: None,
    };
    c.title = c.describe();
    Ok(c)
}
