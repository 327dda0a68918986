//! `enet serve --scene` as a child process, with scripted Godot clients (raw
//! MultiplayerPeer packets over real ENet) checking the spec's §B.13 bytes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};
use serde_json::Value;

const A: u32 = 0x1234_5678;
const B: u32 = 0x0ABC_DEF0;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

struct Raw {
    peer: EnetMultiplayerPeer,
    got: Vec<Vec<u8>>,
    up: bool,
}

impl Raw {
    fn new(port: u16, id: u32) -> Raw {
        let mut peer = EnetMultiplayerPeer::new();
        peer.create_client_with_id("127.0.0.1", port, 0, 0, 0, 0, id)
            .unwrap();
        Raw {
            peer,
            got: Vec::new(),
            up: false,
        }
    }
    fn poll(&mut self) {
        self.peer.poll();
        while let Some(e) = self.peer.poll_event() {
            if e == MultiplayerEvent::PeerConnected(1) {
                self.up = true;
            }
        }
        while MultiplayerPeer::get_available_packet_count(&self.peer) > 0 {
            self.got.push(
                MultiplayerPeer::get_packet(&mut self.peer)
                    .unwrap()
                    .to_vec(),
            );
        }
    }
    fn send(&mut self, b: &[u8]) {
        self.peer.set_transfer_mode(TransferMode::Reliable);
        self.peer.set_transfer_channel(0);
        self.peer.set_target_peer(1);
        MultiplayerPeer::put_packet(&mut self.peer, b).unwrap();
    }
}

fn pump(peers: &mut [&mut Raw], mut done: impl FnMut(&[&mut Raw]) -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !done(peers) {
        assert!(Instant::now() < end, "timed out");
        for p in peers.iter_mut() {
            p.poll();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn scene_server_answers_worked_example_and_relays() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args([
            "serve",
            "--scene",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--json",
        ])
        .args(["--echo-rpc", "Main:hello", "--duration", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel::<Value>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&l).expect("every line is JSON");
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first["event"], "listening");
    assert_eq!(first["mode"], "scene");
    let port: std::net::SocketAddr = first["addr"].as_str().unwrap().parse().unwrap();
    let port = port.port();
    let mut a = Raw::new(port, A);
    pump(&mut [&mut a], |p| p[0].up);
    let mut b = Raw::new(port, B);
    pump(&mut [&mut a, &mut b], |p| {
        p[1].up && !p[0].got.is_empty() && !p[1].got.is_empty()
    });
    assert_eq!(a.got, vec![hex("07 01 f0 de bc 0a")]);
    assert_eq!(b.got, vec![hex("07 01 78 56 34 12")]);
    a.got.clear();
    b.got.clear();
    // §B.13 (2): A's two packets; the server confirms, then echoes the call with its own
    // first-use bytes, which are the same as A's.
    let simplify = "01 35 64 34 31 34 30 32 61 62 63 34 62 32 61 37 36 62 39 37 31 39 64 39 31 31 30 31 37 63 35 39 32 00 01 00 00 00 4d 61 69 6e 00";
    let call = "20 15 00 00 80 00 02 02 2a 04 00 00 00 02 00 00 00 68 69 00 00 4d 61 69 6e 00";
    a.send(&hex(simplify));
    a.send(&hex(call));
    pump(&mut [&mut a, &mut b], |p| p[0].got.len() >= 3);
    assert_eq!(
        a.got,
        vec![hex("02 01 01 00 00 00"), hex(simplify), hex(call)]
    );
    // §B.13 (3): send_bytes to all, relayed to B and reported.
    a.send(&hex("07 03 00 00 00 00 03 01 02 03"));
    pump(&mut [&mut a, &mut b], |p| !p[1].got.is_empty());
    assert_eq!(b.got, vec![hex("07 03 78 56 34 12 03 01 02 03")]);
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|v: &Value| v["event"] == "bytes") {
        assert!(Instant::now() < end, "{seen:?}");
        if let Ok(v) = lines.recv_timeout(Duration::from_millis(20)) {
            seen.push(v);
        }
        a.poll();
        b.poll();
    }
    let ev = |name: &str| {
        seen.iter()
            .filter(|v| v["event"] == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(ev("peer_connected").len(), 2);
    let rpc = &ev("rpc")[0];
    assert_eq!(rpc["from"], A as i64);
    assert_eq!(rpc["path"], "Main");
    assert_eq!(rpc["method"], "hello");
    assert_eq!(rpc["args"], serde_json::json!([42, "hi"]));
    let bytes = &ev("bytes")[0];
    assert_eq!(
        (
            bytes["from"].clone(),
            bytes["len"].clone(),
            bytes["hex"].clone()
        ),
        (
            serde_json::json!(A),
            serde_json::json!(3),
            serde_json::json!("010203")
        )
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn scene_conflicts_with_raw_and_echo() {
    for extra in [["--raw"], ["--echo"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_enet"))
            .args(["serve", "--scene", "--port", "0"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(["serve", "--echo-rpc", "Main:hello", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
