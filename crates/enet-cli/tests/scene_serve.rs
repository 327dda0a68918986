//! `enet serve --scene` as a child process, with scripted Godot clients (raw
//! MultiplayerPeer packets over real ENet) checking the spec's §B.13 bytes.

mod support;

use std::time::{Duration, Instant};

use enet_multiplayer::testing::{self, Node};
use enet_multiplayer::MultiplayerEvent;
use serde_json::Value;
use support::{enet, hex, Serve};

const A: u32 = 0x1234_5678;
const B: u32 = 0x0ABC_DEF0;

/// Steps the scripted clients until `done` holds; panics after 10 s.
fn pump(peers: &mut [&mut Node], done: impl FnMut(&mut [&mut Node]) -> bool) {
    assert!(
        testing::pump(peers, Duration::from_secs(10), done),
        "timed out"
    );
}

/// A scripted Godot client (raw MultiplayerPeer packets) with unique id `id`.
fn raw(port: u16, id: u32) -> Node {
    testing::client_with_id(port, id)
}

/// Whether a scripted client has seen the server connect.
fn up(n: &Node) -> bool {
    n.events.contains(&MultiplayerEvent::PeerConnected(1))
}

/// The payloads a scripted client received so far.
fn got(n: &Node) -> Vec<Vec<u8>> {
    n.packets.iter().map(|p| p.data.clone()).collect()
}

#[test]
fn scene_server_answers_worked_example_and_relays() {
    let serve = Serve::start(&["--scene", "--echo-rpc", "Main:hello", "--duration", "30"]);
    let first: Value = serde_json::from_str(&serve.seen[0]).unwrap();
    assert_eq!(first["event"], "listening");
    assert_eq!(first["mode"], "scene");
    let port = serve.port;
    let mut a = raw(port, A);
    pump(&mut [&mut a], |p| up(p[0]));
    let mut b = raw(port, B);
    pump(&mut [&mut a, &mut b], |p| {
        up(p[1]) && !got(p[0]).is_empty() && !got(p[1]).is_empty()
    });
    assert_eq!(got(&a), vec![hex("07 01 f0 de bc 0a")]);
    assert_eq!(got(&b), vec![hex("07 01 78 56 34 12")]);
    a.packets.clear();
    b.packets.clear();
    // §B.13 (2): A's two packets; the server confirms, then echoes the call with its own
    // first-use bytes, which are the same as A's.
    let simplify = "01 35 64 34 31 34 30 32 61 62 63 34 62 32 61 37 36 62 39 37 31 39 64 39 31 31 30 31 37 63 35 39 32 00 01 00 00 00 4d 61 69 6e 00";
    let call = "20 15 00 00 80 00 02 02 2a 04 00 00 00 02 00 00 00 68 69 00 00 4d 61 69 6e 00";
    a.send_reliable(1, &hex(simplify));
    a.send_reliable(1, &hex(call));
    pump(&mut [&mut a, &mut b], |p| got(p[0]).len() >= 3);
    assert_eq!(
        got(&a),
        vec![hex("02 01 01 00 00 00"), hex(simplify), hex(call)]
    );
    // §B.13 (3): send_bytes to all, relayed to B and reported.
    a.send_reliable(1, &hex("07 03 00 00 00 00 03 01 02 03"));
    pump(&mut [&mut a, &mut b], |p| !got(p[1]).is_empty());
    assert_eq!(got(&b), vec![hex("07 03 78 56 34 12 03 01 02 03")]);
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|v: &Value| v["event"] == "bytes") {
        assert!(Instant::now() < end, "{seen:?}");
        if let Ok(l) = serve.lines.recv_timeout(Duration::from_millis(20)) {
            seen.push(serde_json::from_str::<Value>(&l).expect("every line is JSON"));
        }
        a.step();
        b.step();
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
}

#[test]
fn scene_conflicts_with_raw_and_echo() {
    for extra in [["--raw"], ["--echo"]] {
        let out = enet()
            .args(["serve", "--scene", "--port", "0"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    }
    let out = enet()
        .args(["serve", "--echo-rpc", "Main:hello", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
