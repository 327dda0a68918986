//! `enet bench`: an echo server and a load generator on loopback, in separate processes,
//! optionally run a second time with the C library (`--vs-c`).
//!
//! The orchestrator (this module) starts a server worker and a client worker, both either
//! `enet bench-worker` (Rust, [`crate::bench_worker`]) or `bench_peer` (C, `bench_peer.c`,
//! compiled at run time against the system's libenet). Both speak the same arguments and
//! JSON lines, so they are driven alike. CPU times come from `/proc/<pid>/schedstat`
//! (nanoseconds; the workers are single-threaded) with `/proc/<pid>/stat` utime+stime as
//! the fallback, sampled between the client's phases: connecting, then the transfer;
//! server memory is `VmRSS` of `/proc/<pid>/status` before and after.
//!
//! This module owns the flags and the loop over workloads and repetitions; the workloads
//! are in `config`, one run (processes, `/proc` sampling) in `process`, the lossy link of
//! workload v in `relay`, the raw-UDP floor of workload iii in `udp_floor`, the C build in
//! `c_peer`, and what is printed in `report`.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::common::{count, mode_name, number_in, parse_mode, seconds, stop_flag, CliResult};

mod c_peer;
mod config;
mod process;
mod relay;
mod report;
pub mod udp_floor;

use c_peer::build_c;
use config::{custom, workloads};
use process::{run_one, Ctx, Imp, Pair, RunResult};
use report::{
    cross_metrics, fmt_ratio, metrics, primary, primary_text, print_run, print_table, ratio, Row,
};

/// Most messages of one run, over all connections (the load generator keeps a byte each).
pub const MAX_MESSAGES: u64 = 50_000_000;

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
    /// Run one of the reference workloads: i, ii, iii, iv, v, vi or all (prints a table), or
    /// one by its label (iii-2k, iii-2k-tick, v-lat5, ...). iii includes iii-500-tick,
    /// iii-2k-tick and iii-4k-tick (iii-tick: those three alone): the same loads with both
    /// servers tick-driven at 60 Hz, which adds up to one tick of latency to both.
    #[arg(long, conflicts_with_all = ["clients", "messages", "size", "window", "rate", "duration"])]
    pub workload: Option<String>,
    /// With --workload: run each workload scaled down by this factor (message counts,
    /// client counts, durations), 0.0001..=1; for quick checks (the tests), not numbers.
    #[arg(long, requires = "workload", default_value_t = 1.0, value_parser = number_in(0.0001, 1.0, "a factor"))]
    pub scale: f64,
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
    /// Our side's transit-window ceiling in bytes, 65536..=16777216: the most reliable
    /// bytes the adaptive window keeps in flight per peer (default: the library's, 1 MiB;
    /// 65536 sends as C ENet does; see `HostConfig::transit_window`).
    #[arg(long, value_parser = count::<u32>(65_536, 16 * 1024 * 1024))]
    pub transit_window: Option<u32>,
    /// Run the servers (ours, C's, and the UDP floor's) tick-driven at this many ticks a
    /// second, 1..=1000, as game servers run: each tick drains every event with zero-timeout
    /// service calls, echoes, flushes once and sleeps until the next tick, instead of
    /// waking for each datagram. This adds up to one tick of latency to both
    /// implementations. With --workload it applies to every workload run (the -tick
    /// workloads use 60 by default).
    #[arg(long, value_parser = count::<u32>(1, 1000))]
    pub server_tick_hz: Option<u32>,
    /// Run our server and load generator over DTLS (a fresh self-signed certificate; the
    /// client does not verify it). Needs a build with `--features dtls`; not with --vs-c.
    #[arg(long, conflicts_with = "vs_c")]
    pub dtls: bool,
}

pub fn run(a: Args) -> CliResult {
    if let Some(r) = crate::tls::check(a.dtls) {
        return r;
    }
    let mode = match &a.mode {
        Some(m) => Some(mode_name(parse_mode(m)?)),
        None => None,
    };
    let tick = |c: config::Config| match a.server_tick_hz {
        Some(hz) => c.with_server_tick(hz),
        None => c,
    };
    let configs: Vec<_> = match &a.workload {
        Some(w) => workloads(w, mode)?
            .into_iter()
            .map(|c| tick(c).scaled(a.scale))
            .collect(),
        None => vec![tick(custom(&a, mode)?)],
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find our own binary: {e}"))?;
    let stop = stop_flag();
    let c_build = if a.vs_c { Some(build_c()?) } else { None };
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: this is a debug build; use a release build (cargo run --release) for meaningful numbers");
    }
    let floor = Pair {
        server: Imp::Floor(exe.clone()),
        client: Imp::Floor(exe.clone()),
    };
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
        transit_window: a.transit_window,
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
    let mut rows: Vec<Row> = Vec::new();
    for cfg in &configs {
        // The raw-UDP floor runs last, beside the implementations.
        let mut cfg_pairs = pairs.clone();
        if cfg.floor {
            cfg_pairs.push(floor.clone());
        }
        // Repetitions alternate between the implementations, so that drifting background
        // load affects them alike; each one's median run (by its primary metric) counts.
        let mut per_pair: Vec<Vec<RunResult>> = vec![Vec::new(); cfg_pairs.len()];
        for rep in 0..a.repeat {
            for (i, pair) in cfg_pairs.iter().enumerate() {
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
        // Each pair's median run, and how many runs it was the median of: those that
        // succeeded (a failed run's CPU or time covers less work), or all if none did.
        let mut medians: Vec<Option<(RunResult, usize)>> = per_pair
            .into_iter()
            .map(|mut runs| {
                if runs.is_empty() {
                    return None;
                }
                if runs.iter().any(|r| r.ok) {
                    runs.retain(|r| r.ok);
                }
                runs.sort_by(|x, y| primary(cfg, x).total_cmp(&primary(cfg, y)));
                let n = runs.len();
                Some((runs.swap_remove(n / 2), n))
            })
            .collect();
        let floor_median = if cfg.floor {
            medians.pop().flatten()
        } else {
            None
        };
        if a.repeat > 1 && !a.json {
            for (r, n) in medians.iter().flatten().chain(floor_median.iter()) {
                let which = match (r.ok, *n == a.repeat as usize) {
                    (true, true) => String::new(),
                    (true, false) => format!(" ({n} succeeded)"),
                    (false, _) => " (none succeeded)".into(),
                };
                println!(
                    "[{} {}] median of {} runs{which}: {}",
                    cfg.label,
                    r.imp,
                    a.repeat,
                    primary_text(cfg, r)
                );
            }
        }
        let results: Vec<Option<RunResult>> =
            medians.into_iter().map(|m| m.map(|(r, _)| r)).collect();
        let floor_run = floor_median.map(|(r, _)| r);
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
        if let (Some(Some(ours)), Some(f)) = (results.first(), &floor_run) {
            let fl = f.cpu_us_per_msg();
            if a.json {
                println!(
                    "{}",
                    json!({"event": "floor", "workload": cfg.label,
                           "floor_server": report::floor_kind(cfg),
                           "udp_floor_cpu_us_per_msg": fl,
                           "ours_cpu_us_per_msg": ours.cpu_us_per_msg(),
                           "ours_over_floor": ratio(ours.cpu_us_per_msg(), fl)})
                );
            } else {
                println!(
                    "[{}] server CPU per message: ours {:.2} µs, UDP echo floor ({}) {:.2} µs (ours/floor {})",
                    cfg.label,
                    ours.cpu_us_per_msg(),
                    report::floor_kind(cfg),
                    fl,
                    fmt_ratio(ratio(ours.cpu_us_per_msg(), fl))
                );
            }
        }
        rows.push(Row {
            cfg: cfg.clone(),
            results,
            floor: floor_run,
        });
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
