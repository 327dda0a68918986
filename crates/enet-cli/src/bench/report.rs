//! What `enet bench` prints: a line per run, the metrics compared per workload family
//! (ours/C, and ours against the raw-UDP floor), the median pick of repeated runs, and the
//! closing table (text or JSON).

use serde_json::{json, Value};

use super::config::{Config, Family};
use super::process::RunResult;

/// A compared metric: (name, ours, C, higher is better).
pub(super) type Metric = (&'static str, f64, f64, bool);

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1} ")
    }
}

/// `a / b`, if it means something.
pub(super) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

pub(super) fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}"))
}

/// One human line for a run.
pub(super) fn print_run(cfg: &Config, r: &RunResult) {
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
            " = {}msgs/s, {:.2} MB/s; RTT p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms",
            fmt_rate(r.msgs_per_s),
            r.mb_per_s,
            r.rtt_p50_ms,
            r.rtt_p99_ms,
            r.rtt_p999_ms
        );
        s += &format!(
            "; CPU server {:.3} s ({:.2} µs/msg), client {:.3} s; connect {:.1} ms (CPU server {:.3} s, client {:.3} s)",
            r.server_cpu,
            r.cpu_us_per_msg(),
            r.client_cpu,
            r.connect_s * 1e3,
            r.server_connect_cpu,
            r.client_connect_cpu
        );
    }
    if cfg.family == Family::Memory {
        s += &format!(
            "; server RSS {:.1} MB ({:.2} KiB per peer)",
            r.server_rss_kib.1 as f64 / 1024.0,
            r.rss_growth_kib(cfg.clients)
        );
    }
    if cfg.link.is_some() {
        s += &format!(
            "; link dropped {} to server, {} to client",
            r.link_dropped.0, r.link_dropped.1
        );
    }
    if let Some(d) = r.server_socket_drops.filter(|&d| d > 0) {
        s += &format!("; server socket dropped {d} datagrams (buffer full)");
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

/// The metrics compared for a configuration.
pub(super) fn metrics(cfg: &Config, ours: &RunResult, c: &RunResult) -> Vec<Metric> {
    let (o, c) = (ours, c);
    let connect = |m: &mut Vec<Metric>| {
        m.push((
            "connect time ms",
            o.connect_s * 1e3,
            c.connect_s * 1e3,
            false,
        ));
        m.push((
            "server CPU s (connect)",
            o.server_connect_cpu,
            c.server_connect_cpu,
            false,
        ));
        m.push((
            "client CPU s (connect)",
            o.client_connect_cpu,
            c.client_connect_cpu,
            false,
        ));
    };
    let mut m = Vec::new();
    match cfg.family {
        Family::Connect => connect(&mut m),
        Family::Paced => {
            m.push((
                "server CPU µs/msg",
                o.cpu_us_per_msg(),
                c.cpu_us_per_msg(),
                false,
            ));
            m.push(("server CPU s", o.server_cpu, c.server_cpu, false));
            m.push(("delivered msgs", o.echoed as f64, c.echoed as f64, true));
            m.push(("RTT p50 ms", o.rtt_p50_ms, c.rtt_p50_ms, false));
            m.push(("RTT p99 ms", o.rtt_p99_ms, c.rtt_p99_ms, false));
            m.push(("client CPU s", o.client_cpu, c.client_cpu, false));
            let drops = |r: &RunResult| r.server_socket_drops.unwrap_or(0) as f64;
            m.push(("server socket drops", drops(o), drops(c), false));
        }
        Family::LossyLatency => {
            m.push(("RTT p50 ms", o.rtt_p50_ms, c.rtt_p50_ms, false));
            m.push(("RTT p99 ms", o.rtt_p99_ms, c.rtt_p99_ms, false));
            m.push(("RTT p99.9 ms", o.rtt_p999_ms, c.rtt_p999_ms, false));
            m.push(("RTT max ms", o.rtt_max_ms, c.rtt_max_ms, false));
            m.push(("delivered msgs", o.echoed as f64, c.echoed as f64, true));
            m.push(("server CPU s", o.server_cpu, c.server_cpu, false));
        }
        Family::LossyBulk => {
            m.push(("MB/s", o.mb_per_s, c.mb_per_s, true));
            m.push(("RTT p99 ms", o.rtt_p99_ms, c.rtt_p99_ms, false));
            m.push(("server CPU s", o.server_cpu, c.server_cpu, false));
        }
        Family::Memory => {
            let mb = |r: &RunResult| r.server_rss_kib.1 as f64 / 1024.0;
            m.push(("server RSS MB", mb(o), mb(c), false));
            m.push((
                "RSS growth KiB/peer",
                o.rss_growth_kib(cfg.clients),
                c.rss_growth_kib(cfg.clients),
                false,
            ));
            m.push((
                "server RSS MB (idle)",
                o.server_rss_kib.0 as f64 / 1024.0,
                c.server_rss_kib.0 as f64 / 1024.0,
                false,
            ));
            connect(&mut m);
        }
        Family::Throughput => {
            if cfg.size >= 1024 {
                m.push(("MB/s", o.mb_per_s, c.mb_per_s, true));
                m.push(("msgs/s", o.msgs_per_s, c.msgs_per_s, true));
            } else {
                m.push(("msgs/s", o.msgs_per_s, c.msgs_per_s, true));
                m.push(("MB/s", o.mb_per_s, c.mb_per_s, true));
            }
            m.push(("RTT p50 ms", o.rtt_p50_ms, c.rtt_p50_ms, false));
            m.push(("RTT p99 ms", o.rtt_p99_ms, c.rtt_p99_ms, false));
            m.push(("server CPU s", o.server_cpu, c.server_cpu, false));
            m.push(("client CPU s", o.client_cpu, c.client_cpu, false));
        }
    }
    m
}

/// The metric that picks the median of repeated runs.
pub(super) fn primary(cfg: &Config, r: &RunResult) -> f64 {
    match cfg.family {
        Family::Connect => r.connect_s,
        Family::Paced => r.server_cpu,
        Family::LossyLatency => r.rtt_p99_ms,
        Family::Memory => r.server_rss_kib.1 as f64,
        Family::Throughput | Family::LossyBulk => r.elapsed,
    }
}

/// The primary metric of a run, for humans.
pub(super) fn primary_text(cfg: &Config, r: &RunResult) -> String {
    match cfg.family {
        Family::Connect => format!("connect time {:.1} ms", r.connect_s * 1e3),
        Family::Paced => format!("server CPU {:.3} s", r.server_cpu),
        Family::LossyLatency => format!("RTT p99 {:.1} ms", r.rtt_p99_ms),
        Family::Memory => format!("server RSS {:.1} MB", r.server_rss_kib.1 as f64 / 1024.0),
        Family::Throughput | Family::LossyBulk => {
            format!("transfer time {:.1} ms", r.elapsed * 1e3)
        }
    }
}

/// Metrics of the mixed runs (`--cross`) against the all-C run: our server with the C
/// load generator (`rs`), and the C server with our load generator (`rc`).
pub(super) fn cross_metrics(
    cfg: &Config,
    rs: &RunResult,
    rc: &RunResult,
    c: &RunResult,
) -> Vec<Metric> {
    match cfg.family {
        Family::Connect | Family::Memory => vec![
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
        ],
        Family::Paced => vec![
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
        ],
        Family::LossyLatency => vec![
            (
                "RTT p99 ms [our srv, C cli]",
                rs.rtt_p99_ms,
                c.rtt_p99_ms,
                false,
            ),
            (
                "RTT p99 ms [C srv, our cli]",
                rc.rtt_p99_ms,
                c.rtt_p99_ms,
                false,
            ),
        ],
        Family::Throughput | Family::LossyBulk if cfg.size >= 1024 => vec![
            ("MB/s [our srv, C cli]", rs.mb_per_s, c.mb_per_s, true),
            ("MB/s [C srv, our cli]", rc.mb_per_s, c.mb_per_s, true),
        ],
        Family::Throughput | Family::LossyBulk => vec![
            ("msgs/s [our srv, C cli]", rs.msgs_per_s, c.msgs_per_s, true),
            ("msgs/s [C srv, our cli]", rc.msgs_per_s, c.msgs_per_s, true),
        ],
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

/// Which raw-UDP floor a workload measured: an event-driven echo (blocking reads, woken
/// per datagram) or, for tick-driven servers, one that drains with non-blocking reads
/// each tick.
pub(super) fn floor_kind(cfg: &Config) -> String {
    match cfg.server_tick_hz {
        Some(hz) => format!("{hz} Hz tick, non-blocking reads"),
        None => "event-driven, blocking reads".into(),
    }
}

/// One workload's median runs: ours, then C, then the cross pairs; and the UDP floor.
pub(super) struct Row {
    pub cfg: Config,
    pub results: Vec<Option<RunResult>>,
    pub floor: Option<RunResult>,
}

/// The closing table: every metric of every workload, ours, C and ours/C; for paced
/// workloads also the raw-UDP floor's server CPU per message.
pub(super) fn print_table(rows: &[Row], json: bool, vs_c: bool) {
    let mut out: Vec<Value> = Vec::new();
    let mut text = String::new();
    text += &format!(
        "\n{:<12} {:<46} {:<30} {:>12} {:>12} {:>8}\n",
        "", "workload", "metric", "ours", "C", "ours/C"
    );
    for Row {
        cfg,
        results,
        floor,
    } in rows
    {
        let ours = results.first().cloned().flatten();
        let c = results.get(1).cloned().flatten();
        let (Some(ours), c) = (ours, c) else {
            text += &format!("{:<12} {:<46} failed\n", cfg.label, cfg.title);
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
                "{label:<12} {title:<46} {name:<30} {:>12} {cs:>12} {rs:>8}\n",
                fmt_num(o)
            );
            out.push(json!({"workload": cfg.label, "metric": name, "ours": o,
                "c": c.as_ref().map(|_| cv), "ratio": c.as_ref().and_then(|_| ratio(o, cv)),
                "higher_is_better": higher, "ours_ok": ours.ok,
                "c_ok": c.as_ref().map(|c| c.ok)}));
        }
        for (who, r) in [("ours", Some(&ours)), ("C", c.as_ref())] {
            if let Some(r) = r.filter(|r| !r.ok) {
                let e = r.result["error"].as_str().unwrap_or("verification failed");
                text += &format!("{:<12} {:<46} {who}: the median run FAILED: {e}\n", "", "");
            }
        }
        if let Some(f) = floor {
            let fl = f.cpu_us_per_msg();
            let theirs = c.as_ref().map(|c| c.cpu_us_per_msg());
            let name = match cfg.server_tick_hz {
                Some(hz) => format!("UDP floor ({hz} Hz tick) µs/msg"),
                None => "UDP echo floor µs/msg".into(),
            };
            text += &format!(
                "{:<12} {:<46} {:<30} {:>12} {:>12} {:>8}\n",
                "",
                "",
                name,
                fmt_num(fl),
                "",
                ""
            );
            text += &format!(
                "{:<12} {:<46} {:<30} {:>12} {:>12}\n",
                "",
                "",
                "server CPU / floor",
                fmt_ratio(ratio(ours.cpu_us_per_msg(), fl)),
                theirs.map_or("-".into(), |t| fmt_ratio(ratio(t, fl)))
            );
            out.push(
                json!({"workload": cfg.label, "metric": "UDP echo floor µs/msg",
                "floor_server": floor_kind(cfg), "floor": fl, "ours_over_floor": ratio(ours.cpu_us_per_msg(), fl),
                "c_over_floor": theirs.and_then(|t| ratio(t, fl)),
                "floor_echoed": f.echoed, "floor_ok": f.ok}),
            );
        }
    }
    if json {
        println!("{}", json!({"event": "table", "rows": out}));
    } else {
        print!("{text}");
        if let Some(hz) = rows.iter().find_map(|r| r.cfg.server_tick_hz) {
            println!(
                "tick workloads: both servers tick-driven at {hz} Hz (drain all events with zero-timeout service, echo, flush, sleep to the next tick), which adds up to one tick ({:.1} ms) to each echo's RTT on both sides.",
                1000.0 / f64::from(hz)
            );
        }
        if vs_c {
            println!("ratios are ours/C: above 1 is better for msgs/s, MB/s and delivered; below 1 is better for times, CPU and memory.");
        }
    }
}
