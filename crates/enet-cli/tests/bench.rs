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
    one_line_error(&["bench", "--workload", "v"], "workload");
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
