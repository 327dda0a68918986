//! Every number on every subcommand's command line goes through a range-checked value
//! parser: hostile values are a usage error (exit code 2, one line naming the allowed
//! range), never a panic, a hang or a huge allocation.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Serve;

/// Values that no numeric argument of `enet` accepts, except `0` where it means something.
const HOSTILE: [&str; 8] = [
    "nan",
    "inf",
    "-1",
    "0",
    "1e19",
    "1e30",
    "18446744073709551616",
    "",
];

/// One numeric argument: the full command line with `@` where the value goes, and whether
/// 0 is a meaningful value for it (then `0` must run, not be a usage error).
struct Case {
    args: &'static [&'static str],
    zero_ok: bool,
}

const fn case(args: &'static [&'static str], zero_ok: bool) -> Case {
    Case { args, zero_ok }
}

/// Every numeric argument of every subcommand. The fixed arguments around the one under
/// test make each run that is allowed to run end by itself within a second or so (or it
/// is killed, see `run`).
#[rustfmt::skip]
const CASES: &[Case] = &[
    // demo
    case(&["demo", "--seconds", "0.2", "--bots", "2", "--loss=@"], true),
    case(&["demo", "--seconds", "0.2", "--bots", "2", "--latency=@"], true),
    case(&["demo", "--seconds", "0.2", "--bots=@"], false),
    case(&["demo", "--bots", "2", "--seconds=@"], false),
    // serve
    case(&["serve", "--bind", "127.0.0.1", "--duration", "0.2", "--port=@"], true),
    case(&["serve", "--bind", "127.0.0.1", "--port", "0", "--duration", "0.2", "--max-clients=@"], false),
    case(&["serve", "--bind", "127.0.0.1", "--port", "0", "--duration", "0.2", "--channels=@"], true),
    case(&["serve", "--bind", "127.0.0.1", "--port", "0", "--duration", "0.2", "--stats-interval=@"], true),
    // 0 = run until a signal: `run` kills it.
    case(&["serve", "--bind", "127.0.0.1", "--port", "0", "--duration=@"], true),
    // connect (nothing listens on port 9: a run that starts ends with "cannot connect")
    case(&["connect", "127.0.0.1:9", "--timeout", "0.3", "--id=@"], false),
    case(&["connect", "127.0.0.1:9", "--raw", "--timeout", "0.3", "--id=@"], true),
    case(&["connect", "127.0.0.1:9", "--timeout", "0.3", "--channels=@"], true),
    case(&["connect", "127.0.0.1:9", "--raw", "--timeout", "0.3", "--channels=@"], true),
    case(&["connect", "127.0.0.1:9", "--timeout", "0.3", "--send=@"], false),
    case(&["connect", "127.0.0.1:9", "--timeout", "0.3", "--size=@"], false),
    case(&["connect", "127.0.0.1:9", "--timeout", "0.3", "--channel=@"], true),
    case(&["connect", "127.0.0.1:9", "--timeout", "0.3", "--window=@"], false),
    case(&["connect", "127.0.0.1:9", "--timeout=@"], false),
    // probe
    case(&["probe", "127.0.0.1:9", "--timeout", "0.3", "--channels=@"], true),
    case(&["probe", "127.0.0.1:9", "--timeout", "0.3", "--data=@"], true),
    case(&["probe", "127.0.0.1:9", "--timeout=@"], false),
    // bench
    case(&["bench", "--clients=@"], false),
    case(&["bench", "--messages=@"], false),
    case(&["bench", "--size=@"], false),
    case(&["bench", "--window=@"], false),
    case(&["bench", "--duration", "1", "--rate=@"], false),
    case(&["bench", "--rate", "10", "--duration=@"], false),
    case(&["bench", "--repeat=@"], false),
    case(&["bench", "--timeout=@"], false),
    case(&["bench", "--lost-after-ms=@"], false),
    case(&["bench", "--messages", "100", "--busy-poll-us=@"], true),
    // bench-worker (hidden, run by bench)
    case(&["bench-worker", "server", "--max-seconds", "0.2", "--port=@"], true),
    case(&["bench-worker", "server", "--max-seconds", "0.2", "--peers=@"], false),
    case(&["bench-worker", "server", "--max-seconds=@"], false),
    case(&["bench-worker", "server", "--max-seconds", "0.2", "--busy-poll-us=@"], true),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout", "0.3", "--clients=@"], false),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout", "0.3", "--messages=@"], true),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout", "0.3", "--size=@"], false),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout", "0.3", "--window=@"], false),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout", "0.3", "--rate=@"], true),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout=@"], false),
    case(&["bench-worker", "client", "--connect", "127.0.0.1:9", "--timeout", "0.3", "--lost-after-ms=@"], false),
];

/// Runs `enet args`; returns the exit code (`None` if it had to be killed after `limit`)
/// and stderr.
fn run(args: &[String], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enet");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + limit;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (code, reader.join().expect("stderr reader"))
}

#[test]
fn hostile_numbers_are_usage_errors_on_every_subcommand() {
    let mut usage_errors = 0;
    let mut zero_runs = 0;
    for c in CASES {
        for value in HOSTILE {
            let args: Vec<String> = c.args.iter().map(|a| a.replace('@', value)).collect();
            let valid_zero = value == "0" && c.zero_ok;
            // A valid 0 may mean "run until stopped" (serve --duration 0): stop it after 4 s.
            let limit = Duration::from_secs(if valid_zero { 4 } else { 5 });
            let (code, err) = run(&args, limit);
            for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
                assert!(!err.contains(bad), "{args:?}: {err}");
            }
            assert_ne!(code, Some(101), "{args:?}: {err}");
            if valid_zero {
                // Meaningful: it ran (and failed to connect, finished, or was stopped).
                assert_ne!(code, Some(2), "{args:?}: 0 is valid here: {err}");
                zero_runs += 1;
            } else {
                assert_eq!(code, Some(2), "{args:?}: {err}");
                let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
                assert_eq!(lines.len(), 1, "{args:?}: one line: {err}");
                assert!(
                    lines[0].contains("..="),
                    "{args:?}: the range is named: {err}"
                );
                usage_errors += 1;
            }
        }
    }
    assert_eq!(usage_errors + zero_runs, CASES.len() * HOSTILE.len());
    assert_eq!(zero_runs, CASES.iter().filter(|c| c.zero_ok).count());
}

/// The virtual memory size of process `pid` in KiB (Linux `/proc`).
fn vm_size_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .expect("VmSize line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `--send` takes up to 10^8 messages without reserving memory for them up front (before,
/// 10^8 reserved about 900 MB), and without --expect-echo it does not queue them all at
/// once: a second into such a run against a live server the client is still small.
#[test]
fn huge_send_count_does_not_allocate_for_it() {
    // The server's stdout is read for as long as it runs (a closed pipe would end it).
    let server = Serve::start(&["--raw", "--duration", "30"]);
    let addr = server.addr.to_string();
    for extra in [&["--expect-echo"][..], &[][..]] {
        let mut client = Command::new(env!("CARGO_BIN_EXE_enet"))
            .args(["connect", &addr, "--raw", "--send", "100000000"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn enet connect");
        std::thread::sleep(Duration::from_millis(1500));
        let running = client.try_wait().expect("wait").is_none();
        let kib = if running { vm_size_kib(client.id()) } else { 0 };
        let _ = client.kill();
        let _ = client.wait();
        assert!(running, "{extra:?}: a 10^8-message run ended within 1.5 s");
        assert!(kib < 400 * 1024, "{extra:?}: VmSize {kib} KiB");
    }
    drop(server);
}
