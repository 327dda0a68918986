//! Integration tests that run the `enet` binary.

mod support;

use std::time::Duration;

use enet_interop::{flags, CEvent, CPeer, CPeerOpts, Received};
use serde_json::Value;
use support::{enet, summary, Serve};

fn run_connect(args: &[&str]) -> (i32, String, String) {
    let out = enet()
        .arg("connect")
        .args(args)
        .output()
        .expect("run enet connect");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_and_connect_echo_in_every_mode() {
    let server = Serve::start(&["--echo", "--verbose"]);
    let addr = format!("127.0.0.1:{}", server.port);
    for (mode, channel) in [
        ("reliable", "0"),
        ("unreliable", "1"),
        ("unreliable-ordered", "2"),
    ] {
        let (code, out, err) = run_connect(&[
            &addr,
            "--send",
            "300",
            "--size",
            "100",
            "--mode",
            mode,
            "--channel",
            channel,
            "--window",
            "16",
            "--expect-echo",
            "--json",
        ]);
        assert_eq!(code, 0, "mode {mode}: {err}");
        let s = summary(&out);
        assert_eq!(s["sent"], 300);
        assert_eq!(s["matched"], 300, "mode {mode}");
        assert!(s["rtt_p50_ms"].as_f64().unwrap() >= 0.0);
    }
    let (code, values) = server.terminate();
    assert_eq!(code, 0);
    let packets: Vec<&Value> = values.iter().filter(|v| v["event"] == "packet").collect();
    assert_eq!(packets.len(), 900);
    for mode in ["reliable", "unreliable", "unreliable-ordered"] {
        assert_eq!(packets.iter().filter(|v| v["mode"] == mode).count(), 300);
    }
    assert!(packets.iter().all(|v| v["len"] == 100));
    assert_eq!(
        values
            .iter()
            .filter(|v| v["event"] == "peer_connected")
            .count(),
        3
    );
    assert!(values.iter().all(|v| v["event"].is_string()));
}

/// `--json` alone prints no line per packet (in raw, echo and relay modes); `--verbose`
/// adds one per packet. Both servers echo every packet either way.
#[test]
fn serve_prints_packet_lines_only_with_verbose() {
    for mode in [&["--echo"][..], &["--raw"][..], &[][..]] {
        for verbose in [false, true] {
            let mut extra = mode.to_vec();
            if verbose {
                extra.push("--verbose");
            }
            let server = Serve::start(&extra);
            let addr = format!("127.0.0.1:{}", server.port);
            let mut args = vec![&addr[..], "--send", "40", "--size", "32", "--json"];
            if mode == ["--raw"] {
                args.push("--raw");
            }
            if !mode.is_empty() {
                args.push("--expect-echo");
            }
            let (code, out, err) = run_connect(&args);
            assert_eq!(code, 0, "{extra:?}: {err}");
            if !mode.is_empty() {
                assert_eq!(summary(&out)["matched"], 40, "{extra:?}");
            }
            // The server's own counters: it saw every packet, printed or not.
            let (code, values) = server.terminate();
            assert_eq!(code, 0, "{extra:?}");
            let stopped = values
                .iter()
                .find(|v| v["event"] == "stopped")
                .unwrap_or_else(|| panic!("{extra:?}: no stopped line in {values:?}"));
            assert_eq!(stopped["packets_in"], 40, "{extra:?}");
            let packets = values.iter().filter(|v| v["event"] == "packet").count();
            assert_eq!(packets, if verbose { 40 } else { 0 }, "{extra:?}");
            assert_eq!(
                values
                    .iter()
                    .filter(|v| v["event"] == "peer_connected")
                    .count(),
                1,
                "{extra:?}"
            );
        }
    }
}

#[test]
fn relay_forwards_between_clients() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut server = Serve::start(&[]);
    let port = server.port;
    // A C client acting as a Godot peer (data = its id, 2 system channels + 1).
    let mut c = CPeer::spawn_client("127.0.0.1", port, &CPeerOpts::new().data(4242).channels(3));
    c.expect_connect(Duration::from_secs(5));
    server.wait_for("peer_connected", Duration::from_secs(5));
    let addr = format!("127.0.0.1:{port}");
    let (code, _, err) = run_connect(&[&addr, "--send", "50", "--mode", "reliable", "--json"]);
    assert_eq!(code, 0, "{err}");
    let got = c.expect_receives(50, Duration::from_secs(5));
    assert!(got
        .iter()
        .all(|r| r.channel == 0 && r.flags & flags::RELIABLE != 0));
}

#[test]
fn probe_reports_negotiated_values() {
    let server = Serve::start(&["--echo"]);
    let out = enet()
        .args(["probe", &format!("127.0.0.1:{}", server.port), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["event"], "probe");
    assert_eq!(v["mtu"], 1392);
    assert_eq!(v["window_size"], 65536);
    assert_eq!(v["channels"], 255);
    assert!(v["rtt_ms"].as_u64().unwrap() < 500);
}

#[test]
fn raw_serve_echoes_the_c_library() {
    if !enet_interop::require_c_library() {
        return;
    }
    let server = Serve::start(&["--raw", "--channels", "4"]);
    let mut c = CPeer::spawn_client(
        "127.0.0.1",
        server.port,
        &CPeerOpts::new().channels(8).data(7),
    );
    let info = c.expect_connect(Duration::from_secs(5));
    assert_eq!(info.channels, 4);
    c.sendn(200, "0", 3, flags::RELIABLE, 500, 1);
    c.send("0", 2, flags::RELIABLE, 100_000, 9002);
    let got = c.expect_receives(201, Duration::from_secs(10));
    let reliable: Vec<_> = got.iter().filter(|r| r.channel == 3).collect();
    assert_eq!(reliable.len(), 200);
    for (i, r) in reliable.iter().enumerate() {
        assert!(
            r.is_pattern(1 + i as u32, 500),
            "echo {i} intact and in order"
        );
        assert!(r.flags & flags::RELIABLE != 0);
    }
    let big = got.iter().find(|r| r.len == 100_000).expect("big echo");
    assert!(big.is_pattern(9002, 100_000));
    let uns = unreliable_echo(&mut c, 1, flags::UNSEQUENCED, 40, 9000);
    assert!(uns.flags & flags::UNSEQUENCED != 0, "{uns:?}");
    let seq = unreliable_echo(&mut c, 2, 0, 30, 9100);
    assert!(
        seq.flags & (flags::RELIABLE | flags::UNSEQUENCED) == 0,
        "{seq:?}"
    );
}

/// Sends unreliable pattern packets (seeds from `seed0`) until one's echo comes back on the
/// same channel, intact; at most 50 tries. Unreliable packets may be dropped on the way:
/// ENet's throttle drops them while round-trip times swing, as under CPU load.
fn unreliable_echo(c: &mut CPeer, channel: u8, flag_bits: u32, len: usize, seed0: u32) -> Received {
    for k in 0..50 {
        c.send("0", channel, flag_bits, len, seed0 + k);
        let end = std::time::Instant::now() + Duration::from_millis(200);
        while let Some(ev) = c.next_event(end.saturating_duration_since(std::time::Instant::now()))
        {
            if let CEvent::Receive(r) = ev {
                assert_eq!(r.channel, channel, "{r:?}");
                assert!(
                    r.seed.is_some_and(|s| (seed0..=seed0 + k).contains(&s)) && r.len == len,
                    "an echo of one of ours, intact: {r:?}"
                );
                return r;
            }
        }
    }
    panic!("none of 50 unreliable packets on channel {channel} was echoed");
}

#[test]
fn sigterm_disconnects_peers_cleanly() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut server = Serve::start(&[]);
    let mut c = CPeer::spawn_client("127.0.0.1", server.port, &CPeerOpts::new().data(99));
    c.expect_connect(Duration::from_secs(5));
    server.wait_for("peer_connected", Duration::from_secs(5));
    let (code, values) = server.terminate();
    assert_eq!(code, 0);
    assert!(values.iter().any(|v| v["event"] == "stopped"));
    // The C peer is told right away, long before any timeout could fire.
    let (_, _data) = c.expect_disconnect(Duration::from_secs(2));
}

fn fails_with_one_line(args: &[&str], needle: &str) {
    let out = enet().args(args).output().expect("run enet");
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{args:?}: stderr {err:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn bad_input_gives_a_clear_error() {
    fails_with_one_line(&["serve", "--no-such-flag"], "--no-such-flag");
    fails_with_one_line(&["connect", "nonsense"], "bad address");
    fails_with_one_line(&["connect", "127.0.0.1:0"], "bad address");
    fails_with_one_line(&["connect", "no-such-host.invalid:7777"], "cannot connect");
    fails_with_one_line(
        &["connect", "127.0.0.1:7", "--mode", "fast"],
        "unknown mode",
    );
    fails_with_one_line(
        &["connect", "127.0.0.1:9", "--timeout", "0.5", "--send", "1"],
        "cannot connect",
    );
    fails_with_one_line(
        &["probe", "127.0.0.1:9", "--timeout", "0.5"],
        "cannot probe",
    );
    fails_with_one_line(&["serve", "--bind", "1.2.3"], "--bind");
    fails_with_one_line(&["serve", "--max-clients", "0"], "--max-clients");
    // A port that is in use.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    fails_with_one_line(
        &["serve", "--bind", "127.0.0.1", "--port", &port],
        "cannot serve on port",
    );
}

/// The README's first command under heavy loss: joins that need CONNECT retransmissions must
/// not count as lost chat (the demo waits for every bot before traffic starts), and every
/// reliable chat line must reach every other bot.
#[test]
fn demo_succeeds_under_heavy_loss() {
    for _ in 0..2 {
        let out = enet()
            .args(["demo", "--seconds", "2", "--loss", "30", "--bots", "5"])
            .output()
            .expect("run enet demo");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("5 bots joined"), "{stdout}");
        let chat = stdout
            .lines()
            .find(|l| l.contains("chat (reliable):"))
            .expect("chat summary line");
        let counts = chat
            .split_whitespace()
            .find(|w| w.contains('/'))
            .expect("seen/expected in the chat line");
        let (seen, expected) = counts.split_once('/').expect("seen/expected");
        assert_eq!(seen, expected, "{chat}");
        assert!(expected.parse::<u64>().unwrap() > 0, "{chat}");
    }
}

/// `serve --compress` and `connect --compress` take every Godot mode, with and without the
/// CRC-32 checksum, in Godot and raw mode; each pair must echo every message. Mismatched
/// ends (another compressor, or a checksum on one side only) cannot even connect, which
/// shows both options really change the datagrams.
#[test]
fn serve_and_connect_in_every_compression_mode_with_and_without_checksum() {
    let modes = ["none", "range-coder", "fastlz", "zlib", "zstd"];
    let runs: Vec<_> = modes
        .iter()
        .map(|&mode| {
            std::thread::spawn(move || {
                for checksum in [false, true] {
                    for raw in [false, true] {
                        let mut extra = vec!["--echo", "--compress", mode];
                        if checksum {
                            extra.push("--checksum");
                        }
                        if raw {
                            extra.push("--raw");
                        }
                        let server = Serve::start(&extra);
                        let addr = format!("127.0.0.1:{}", server.port);
                        let mut args = vec![
                            addr.as_str(),
                            "--compress",
                            mode,
                            "--send",
                            "100",
                            "--size",
                            "700",
                            "--expect-echo",
                            "--json",
                        ];
                        if checksum {
                            args.push("--checksum");
                        }
                        if raw {
                            args.push("--raw");
                        }
                        let (code, out, err) = run_connect(&args);
                        let what = format!("{mode} checksum={checksum} raw={raw}");
                        assert_eq!(code, 0, "{what}: {err}");
                        assert_eq!(summary(&out)["matched"], 100, "{what}");
                        // The other end of the checksum option, and another compressor.
                        let other = if mode == "zlib" { "zstd" } else { "zlib" };
                        let mut bad = vec![addr.as_str(), "--timeout", "1", "--compress", mode];
                        if !checksum {
                            bad.push("--checksum");
                        }
                        if raw {
                            bad.push("--raw");
                        }
                        let (code, _, err) = run_connect(&bad);
                        assert_eq!(code, 1, "{what}: one-sided checksum: {err}");
                        assert!(err.contains("cannot connect"), "{what}: {err}");
                        if !checksum && !raw {
                            // Compressed datagrams the server cannot decode: if the
                            // handshake gets through (small datagrams may go out
                            // uncompressed), the echoes do not.
                            let (code, _, err) = run_connect(&[
                                &addr,
                                "--timeout",
                                "1",
                                "--compress",
                                other,
                                "--send",
                                "20",
                                "--size",
                                "700",
                                "--expect-echo",
                            ]);
                            assert_eq!(code, 1, "{what}: client with {other}: {err}");
                        }
                    }
                }
            })
        })
        .collect();
    for r in runs {
        r.join().expect("a compression run failed");
    }
}
