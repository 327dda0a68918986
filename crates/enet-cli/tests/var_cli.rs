//! `enet serve --decode var|hex` and `enet connect --send-as var --decode var`, against the
//! byte vectors of the spec (godot-variant-and-scene-multiplayer.md §A.9), not only against
//! our own encoder.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use enet_multiplayer::{ConnectionStatus, EnetMultiplayerPeer, MultiplayerPeer};
use serde_json::{json, Value};
use support::{hex, Serve};

/// §A.9 #39: `{"a": 1}`.
const DICT_A1: &str = "1b000000010000000400000001000000610000000200000001000000";
/// §A.9 #25: `Vector2(1.5, -2)`.
const VEC2: &str = "05000000 0000c03f 000000c0";
/// §A.9 #7: an unknown type id (ERR_INVALID_DATA, 30).
const GARBAGE: &str = "ff000000";

/// `enet serve --duration 30 ARGS…`, with JSON or text output.
fn serve(args: &[&str], json: bool) -> Serve {
    let args = [&["--duration", "30"][..], args].concat();
    if json {
        Serve::start(&args)
    } else {
        Serve::start_text(&args)
    }
}

/// The next `n` lines of `s` that describe packets.
fn packet_lines(s: &Serve, n: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(15);
    let mut got = Vec::new();
    while got.len() < n {
        let left = end.saturating_duration_since(Instant::now());
        let l = s
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("only {got:?}"));
        if l.starts_with("packet ") || l.contains(r#""event":"packet""#) {
            got.push(l);
        }
    }
    got
}

/// Connects a Godot-mode client of our library to `port` and sends each payload reliably.
fn send_packets(port: u16, payloads: &[Vec<u8>]) {
    let mut mp = EnetMultiplayerPeer::new();
    mp.create_client("127.0.0.1", port, 0, 0, 0, 0).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while mp.get_connection_status() != ConnectionStatus::Connected {
        assert!(Instant::now() < end, "client did not connect");
        mp.poll_with_timeout(Duration::from_millis(10));
        while mp.poll_event().is_some() {}
    }
    mp.set_target_peer(1);
    for p in payloads {
        mp.put_packet(p).unwrap();
    }
    for _ in 0..30 {
        mp.poll_with_timeout(Duration::from_millis(10));
        while mp.poll_event().is_some() {}
    }
    mp.close();
}

#[test]
fn serve_decode_var_text_prints_display_form_of_spec_vectors() {
    let s = serve(&["--decode", "var"], false);
    send_packets(s.port, &[hex(DICT_A1), hex(VEC2), hex(GARBAGE)]);
    let l = packet_lines(&s, 3);
    assert!(l[0].ends_with(r#"len=28 var={"a": 1}"#), "{}", l[0]);
    assert!(l[1].ends_with("len=12 var=Vector2(1.5, -2)"), "{}", l[1]);
    assert!(l[2].contains("len=4 var_error: "), "{}", l[2]);
    assert!(l[2].ends_with("(Godot error 30)"), "{}", l[2]);
}

#[test]
fn serve_decode_var_json_gives_var_and_var_error_fields() {
    let s = serve(&["--decode", "var", "--echo"], true);
    send_packets(s.port, &[hex(DICT_A1), hex(VEC2), hex(GARBAGE)]);
    let v: Vec<Value> = packet_lines(&s, 3)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v[0]["var"], json!({"a": 1}));
    assert!(v[0]["var"]["a"].is_i64(), "an Int stays an integer");
    assert_eq!(v[0]["len"], 28);
    assert_eq!(v[1]["var"], json!({"Vector2": [1.5, -2.0]}));
    assert!(v[2].get("var").is_none());
    assert_eq!(v[2]["var_error"]["code"], 30);
    assert!(v[2]["var_error"]["message"]
        .as_str()
        .unwrap()
        .contains("type id 255"));
}

#[test]
fn serve_decode_hex_and_default_text_are_unchanged() {
    let s = serve(&["--decode", "hex"], true);
    send_packets(s.port, &[hex(DICT_A1)]);
    let v: Value = serde_json::from_str(&packet_lines(&s, 1)[0]).unwrap();
    assert_eq!(v["hex"], DICT_A1);
    // Without a view, JSON mode prints packets only with --verbose (issue 14).
    let s = serve(&["--verbose"], true);
    send_packets(s.port, &[b"hello".to_vec()]);
    let v: Value = serde_json::from_str(&packet_lines(&s, 1)[0]).unwrap();
    assert_eq!(v["len"], 5);
    assert!(v.get("var").is_none() && v.get("hex").is_none());
}

#[test]
fn connect_send_as_var_sends_the_spec_bytes_and_decodes_the_echo() {
    let s = serve(&["--decode", "hex", "--echo"], true);
    let mut c = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(["connect", &format!("127.0.0.1:{}", s.port)])
        .args(["--send-as", "var", "--decode", "var", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    writeln!(stdin, r#"{{"a": 1}}"#).unwrap();
    writeln!(stdin, "this is not json").unwrap();
    writeln!(stdin, r#"{{"Vector2": [1.5, -2]}}"#).unwrap();
    // The server sees the two good lines, in order, as the spec's bytes.
    let l = packet_lines(&s, 2);
    let hexes: Vec<Value> = l
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["hex"].clone())
        .collect();
    let vec2: String = VEC2.split_whitespace().collect();
    assert_eq!(hexes, vec![json!(DICT_A1), json!(vec2)]);
    drop(stdin);
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--send-as var: not JSON"), "{stderr}");
    let packets: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event"] == "packet")
        .collect();
    let vars: Vec<&Value> = packets.iter().map(|v| &v["var"]).collect();
    assert_eq!(
        vars,
        vec![&json!({"a": 1}), &json!({"Vector2": [1.5, -2.0]})]
    );
}
