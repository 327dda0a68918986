//! `enet bench` end to end: the built binary with tiny workloads.

use std::process::{Command, Output};

use serde_json::Value;

fn enet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(args)
        .output()
        .expect("run enet")
}

/// Every stdout line parsed as JSON.
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn runs<'a>(lines: &'a [Value], imp: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|v| v["event"] == "run" && v["impl"] == imp)
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn have_libenet() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "libenet"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn reliable_throughput_json() {
    let out = enet(&["bench", "--messages", "2000", "--json"]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let r = runs(&lines, "rust");
    assert_eq!(r.len(), 1, "{lines:?}");
    let r = r[0];
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["echoed"], 2000);
    assert_eq!(r["sent"], 2000);
    assert_eq!(r["mtu"], 1392);
    assert!(r["msgs_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    assert!(r["mb_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    assert!(r["rtt_p99_ms"].as_f64().unwrap() >= r["rtt_p50_ms"].as_f64().unwrap());
    assert!(r["server_cpu_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn paced_unreliable_text() {
    let out = enet(&[
        "bench",
        "--clients",
        "4",
        "--rate",
        "50",
        "--duration",
        "0.5",
        "--size",
        "100",
        "--mode",
        "unreliable",
    ]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[custom rust]"), "{text}");
    assert!(text.contains("msgs/s"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
}

#[test]
fn vs_c_small() {
    if !enet_interop::require_c_library() {
        return;
    }
    let out = enet(&["bench", "--messages", "500", "--vs-c", "--json"]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    for imp in ["rust", "c"] {
        let r = runs(&lines, imp);
        assert_eq!(r.len(), 1, "{imp}: {lines:?}");
        assert_eq!(r[0]["ok"], true, "{}", r[0]);
        assert_eq!(r[0]["echoed"], 500);
        assert_eq!(r[0]["mtu"], 1392, "same MTU on both sides");
        assert!(r[0]["msgs_per_sec"].as_f64().unwrap() > 0.0);
    }
    let cmp = lines
        .iter()
        .find(|v| v["event"] == "compare")
        .expect("compare line");
    assert!(
        cmp["ours_over_c"]["msgs/s"].as_f64().unwrap() > 0.0,
        "{cmp}"
    );
}

#[test]
fn workload_iv_table_vs_c_cross() {
    if !enet_interop::require_c_library() {
        return;
    }
    // The connection workload is the quickest of the four.
    let out = enet(&["bench", "--workload", "iv", "--vs-c", "--cross", "--json"]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let table = lines.iter().find(|v| v["event"] == "table").expect("table");
    let rows = table["rows"].as_array().unwrap();
    assert!(rows
        .iter()
        .any(|r| r["metric"] == "connect time ms" && r["ours"].as_f64().unwrap() > 0.0));
    assert!(rows
        .iter()
        .any(|r| r["metric"] == "connect ms [our srv, C cli]"));
    assert_eq!(
        lines.iter().filter(|v| v["event"] == "run").count(),
        4,
        "{lines:?}"
    );
}

/// A bad flag: exit code non-zero, one line on stderr, nothing on stdout.
fn one_line_error(args: &[&str], needle: &str) {
    let out = enet(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    assert!(lines[0].contains(needle), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[test]
fn bad_flags_are_one_clear_line() {
    one_line_error(&["bench", "--mode", "bogus"], "mode");
    one_line_error(&["bench", "--size", "3"], "--size");
    one_line_error(&["bench", "--clients", "0"], "--clients");
    one_line_error(&["bench", "--window", "0"], "--window");
    one_line_error(&["bench", "--clients", "x"], "--clients");
    one_line_error(&["bench", "--rate", "5"], "--duration");
    one_line_error(&["bench", "--rate=-1", "--duration", "1"], "--rate");
    one_line_error(&["bench", "--workload", "vii"], "workload");
    one_line_error(&["bench", "--scale", "0.1"], "--workload");
    one_line_error(&["bench", "--workload", "i", "--scale", "0"], "--scale");
    one_line_error(&["bench", "--workload", "i", "--scale", "2"], "--scale");
    one_line_error(
        &["bench", "--workload", "i", "--clients", "2"],
        "--workload",
    );
    one_line_error(&["bench", "--cross"], "--vs-c");
    one_line_error(&["bench", "--nope"], "--nope");
}

#[test]
fn missing_c_toolchain_is_one_clear_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(["bench", "--messages", "10", "--vs-c"])
        .env("CC", "/nonexistent/cc")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    if have_libenet() {
        assert!(err.contains("C compiler"), "{err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(["bench", "--messages", "10", "--vs-c"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("pkg-config"), "{err}");
}

#[test]
fn repeat_runs_alternate_and_report_each() {
    let out = enet(&["bench", "--messages", "300", "--repeat", "2", "--json"]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let r = runs(&lines, "rust");
    assert_eq!(r.len(), 2, "{lines:?}");
    assert_eq!(r[0]["run"], 1);
    assert_eq!(r[1]["run"], 2);
    one_line_error(&["bench", "--repeat", "0"], "--repeat");
}

// Each reference workload, scaled down to a few seconds: it runs, and every reliable
// message comes back (delivery, not speed).

/// Runs `enet bench --workload W --scale S [extra] --json`; its lines.
fn scaled(workload: &str, scale: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["bench", "--workload", workload, "--scale", scale, "--json"];
    args.extend_from_slice(extra);
    let out = enet(&args);
    assert!(out.status.success(), "{args:?}: stderr: {}", stderr(&out));
    json_lines(&out)
}

/// Every run of `imp` delivered all its messages (clients x messages of its line).
fn all_delivered(lines: &[Value], imp: &str, runs_expected: usize) {
    let r = runs(lines, imp);
    assert_eq!(r.len(), runs_expected, "{imp}: {lines:?}");
    for r in r {
        assert_eq!(r["ok"], true, "{r}");
        let total = r["clients"].as_u64().unwrap() * r["messages"].as_u64().unwrap();
        assert!(total > 0, "{r}");
        assert_eq!(r["echoed"].as_u64(), Some(total), "{r}");
        assert_eq!(r["sent"].as_u64(), Some(total), "{r}");
    }
}

#[test]
fn workload_ii_scaled_delivers_both_sizes() {
    let lines = scaled("ii", "0.005", &[]);
    all_delivered(&lines, "rust", 2);
    let sizes: Vec<u64> = runs(&lines, "rust")
        .iter()
        .map(|r| r["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![1024, 256 * 1024]);
}

#[test]
fn workload_iii_scaled_reports_cpu_per_message_beside_the_udp_floor() {
    // With the C library: both implementations, event-driven and tick-driven servers.
    let c = enet_interop::require_c_library();
    let extra: &[&str] = if c { &["--vs-c"] } else { &[] };
    let lines = scaled("iii", "0.005", extra);
    let mut imps = vec!["rust"];
    if c {
        imps.push("c");
    }
    let labels = [
        "iii-500",
        "iii-2k",
        "iii-4k",
        "iii-500-tick",
        "iii-2k-tick",
        "iii-4k-tick",
    ];
    for imp in &imps {
        all_delivered(&lines, imp, 6);
        let r = runs(&lines, imp);
        let clients: Vec<u64> = r.iter().map(|r| r["clients"].as_u64().unwrap()).collect();
        assert_eq!(
            clients,
            vec![3, 10, 20, 3, 10, 20],
            "{imp}: 500, 2000, 4000 scaled, event-driven then tick-driven"
        );
        let got: Vec<&str> = r.iter().map(|r| r["workload"].as_str().unwrap()).collect();
        assert_eq!(got, labels, "{imp}");
        for r in &r[3..] {
            let title = r["title"].as_str().unwrap();
            assert!(title.contains("60 Hz tick"), "{imp}: {title}");
        }
        for r in &r {
            // Read from /proc/net/udp for the server's port (Linux).
            if cfg!(target_os = "linux") {
                assert!(r["server_socket_drops"].is_u64(), "{imp}: {r}");
            }
        }
    }
    // The floor ran at the same message rate: a plain UDP echo over loopback.
    let floor = runs(&lines, "udp-floor");
    assert_eq!(floor.len(), 6, "{lines:?}");
    for (f, r) in floor.iter().zip(runs(&lines, "rust")) {
        assert_eq!(f["ok"], true, "{f}");
        assert_eq!(f["sent"], r["sent"], "same message count: {f}");
        assert!(f["echoed"].as_u64().unwrap() > 0, "{f}");
        assert_eq!(
            f["echoed"].as_u64().unwrap() + f["lost"].as_u64().unwrap(),
            f["sent"].as_u64().unwrap(),
            "{f}"
        );
        assert!(r["server_cpu_us_per_msg"].as_f64().unwrap() > 0.0, "{r}");
    }
    // Each floor says which it is: event-driven, or draining each tick.
    let floors: Vec<&Value> = lines.iter().filter(|v| v["event"] == "floor").collect();
    assert_eq!(floors.len(), 6, "a floor line per workload");
    for f in &floors {
        let tick = f["workload"].as_str().unwrap().ends_with("-tick");
        let kind = f["floor_server"].as_str().unwrap();
        assert_eq!(kind.contains("60 Hz tick"), tick, "{f}");
    }
    let table = lines.iter().find(|v| v["event"] == "table").expect("table");
    let floor_rows = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["metric"] == "UDP echo floor µs/msg")
        .count();
    assert_eq!(floor_rows, 6, "{table}");
    if c {
        let compared = lines.iter().filter(|v| v["event"] == "compare").count();
        assert_eq!(compared, 6, "ours/C for every workload");
    }
}

#[test]
fn tick_workloads_alone_and_a_custom_tick_rate_deliver() {
    // `iii-tick` is the three tick-driven workloads; --server-tick-hz makes any run's
    // servers tick-driven (here a custom paced run at 200 Hz, both implementations).
    let lines = scaled("iii-tick", "0.002", &[]);
    all_delivered(&lines, "rust", 3);
    let c = enet_interop::require_c_library();
    let mut args = vec![
        "bench",
        "--clients",
        "6",
        "--rate",
        "40",
        "--duration",
        "0.5",
        "--size",
        "100",
        "--server-tick-hz",
        "200",
        "--json",
    ];
    if c {
        args.push("--vs-c");
    }
    let out = enet(&args);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    all_delivered(&lines, "rust", 1);
    if c {
        all_delivered(&lines, "c", 1);
    }
    for r in lines.iter().filter(|v| v["event"] == "run") {
        assert!(r["title"].as_str().unwrap().contains("200 Hz tick"), "{r}");
    }
}

/// Each of `bad` as `--name=value` to `enet bench` and to a bench worker: exit 2 with one
/// line naming the flag and its `range`, nothing on stdout.
fn assert_usage_errors(name: &str, bad: &[&str], range: &str) {
    for bad in bad {
        let flag = format!("--{name}={bad}");
        for args in [
            vec!["bench", flag.as_str()],
            vec!["bench-worker", "server", flag.as_str()],
        ] {
            let out = enet(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
            assert!(
                err.contains(&format!("--{name}")) && err.contains(range),
                "{args:?}: {err}"
            );
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
}

#[test]
fn server_tick_hz_out_of_range_is_a_usage_error() {
    assert_usage_errors(
        "server-tick-hz",
        &["0", "1001", "4294967296", "-5", "x", "60.5"],
        "1..=1000",
    );
}

#[test]
fn transit_window_is_range_checked_and_a_wide_one_delivers() {
    assert_usage_errors(
        "transit-window",
        &["0", "65535", "16777217", "-1", "x"],
        "65536..=16777216",
    );
    // The lossy bulk transfer with 4 x C's window: everything still arrives.
    let lines = scaled("v-bulk1", "0.05", &["--transit-window", "262144"]);
    all_delivered(&lines, "rust", 1);
}

#[test]
fn workload_v_scaled_crosses_the_lossy_link() {
    let lines = scaled("v", "0.03", &[]);
    all_delivered(&lines, "rust", 4);
    for r in runs(&lines, "rust") {
        let link = &r["link"];
        assert_eq!(link["rtt_ms"], 40, "{r}");
        // Round trips take at least the link's 40 ms.
        assert!(r["rtt_p50_ms"].as_f64().unwrap() >= 40.0, "{r}");
        assert!(r["rtt_p999_ms"].as_f64().unwrap() >= r["rtt_p99_ms"].as_f64().unwrap());
        if link["loss"] == 0.05 {
            let drops = link["dropped_to_server"].as_u64().unwrap()
                + link["dropped_to_client"].as_u64().unwrap();
            assert!(drops > 0, "5 % loss dropped nothing: {r}");
        }
    }
}

#[test]
fn workload_v_lossy_latency_vs_c_delivers_on_both() {
    if !enet_interop::require_c_library() {
        return;
    }
    let lines = scaled("v-lat5", "0.03", &["--vs-c"]);
    all_delivered(&lines, "rust", 1);
    all_delivered(&lines, "c", 1);
    let cmp = lines
        .iter()
        .find(|v| v["event"] == "compare")
        .expect("compare line");
    assert!(
        cmp["ours_over_c"]["RTT p99.9 ms"].as_f64().unwrap() > 0.0,
        "{cmp}"
    );
}

#[test]
fn workload_vi_scaled_reports_server_memory() {
    let c = enet_interop::require_c_library();
    let extra: &[&str] = if c { &["--vs-c"] } else { &[] };
    let lines = scaled("vi", "0.01", extra);
    all_delivered(&lines, "rust", 1);
    let mut imps = vec!["rust"];
    if c {
        all_delivered(&lines, "c", 1);
        imps.push("c");
    }
    for imp in imps {
        let r = runs(&lines, imp)[0];
        assert_eq!(r["clients"], 40, "{r}");
        let (before, after) = (
            r["server_rss_kib_before"].as_u64().unwrap(),
            r["server_rss_kib"].as_u64().unwrap(),
        );
        assert!(before > 0 && after >= before, "{r}");
    }
}
