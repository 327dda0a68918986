//! `enet serve --decode var|hex` and `enet connect --send-as var --decode var`, against the
//! byte vectors of the spec (godot-variant-and-scene-multiplayer.md §A.9), not only against
//! our own encoder.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use enet_multiplayer::{ConnectionStatus, EnetMultiplayerPeer, MultiplayerPeer};
use serde_json::{json, Value};

/// §A.9 #39: `{"a": 1}`.
const DICT_A1: &str = "1b000000010000000400000001000000610000000200000001000000";
/// §A.9 #25: `Vector2(1.5, -2)`.
const VEC2: &str = "05000000 0000c03f 000000c0";
/// §A.9 #7: an unknown type id (ERR_INVALID_DATA, 30).
const GARBAGE: &str = "ff000000";

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A running `enet serve`; its stdout lines arrive on `lines`.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Serve {
    fn start(args: &[&str], json: bool) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_enet"));
        cmd.args(["serve", "--bind", "127.0.0.1", "--port", "0"])
            .args(["--stats-interval", "0", "--duration", "30"])
            .args(args);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn enet serve");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("listening");
        let addr = if json {
            let v: Value = serde_json::from_str(&first).unwrap();
            v["addr"].as_str().unwrap().to_string()
        } else {
            // "listening on 127.0.0.1:PORT (godot mode, ...)"
            first.split_whitespace().nth(2).unwrap().to_string()
        };
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Serve { child, lines, port }
    }

    /// The next `n` lines that describe packets.
    fn packet_lines(&self, n: usize) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(15);
        let mut got = Vec::new();
        while got.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            let l = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("only {got:?}"));
            if l.starts_with("packet ") || l.contains(r#""event":"packet""#) {
                got.push(l);
            }
        }
        got
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let s = Serve::start(&["--decode", "var"], false);
    send_packets(s.port, &[unhex(DICT_A1), unhex(VEC2), unhex(GARBAGE)]);
    let l = s.packet_lines(3);
    assert!(l[0].ends_with(r#"len=28 var={"a": 1}"#), "{}", l[0]);
    assert!(l[1].ends_with("len=12 var=Vector2(1.5, -2)"), "{}", l[1]);
    assert!(l[2].contains("len=4 var_error: "), "{}", l[2]);
    assert!(l[2].ends_with("(Godot error 30)"), "{}", l[2]);
}

#[test]
fn serve_decode_var_json_gives_var_and_var_error_fields() {
    let s = Serve::start(&["--decode", "var", "--echo"], true);
    send_packets(s.port, &[unhex(DICT_A1), unhex(VEC2), unhex(GARBAGE)]);
    let v: Vec<Value> = s
        .packet_lines(3)
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
    let s = Serve::start(&["--decode", "hex"], true);
    send_packets(s.port, &[unhex(DICT_A1)]);
    let v: Value = serde_json::from_str(&s.packet_lines(1)[0]).unwrap();
    assert_eq!(v["hex"], DICT_A1);
    // Without a view, JSON mode prints packets only with --verbose (issue 14).
    let s = Serve::start(&["--verbose"], true);
    send_packets(s.port, &[b"hello".to_vec()]);
    let v: Value = serde_json::from_str(&s.packet_lines(1)[0]).unwrap();
    assert_eq!(v["len"], 5);
    assert!(v.get("var").is_none() && v.get("hex").is_none());
}

#[test]
fn connect_send_as_var_sends_the_spec_bytes_and_decodes_the_echo() {
    let s = Serve::start(&["--decode", "hex", "--echo"], true);
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
    let l = s.packet_lines(2);
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
