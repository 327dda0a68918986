//! `enet connect` keeps what a server sends right on connect (Godot servers commonly greet
//! on `peer_connected`), in raw and in Godot mode.
//!
//! Two servers greet: an eager one that puts the greeting in the very datagram that
//! accepts the connection (so the client sees the connection and the greeting in one poll,
//! the case `enet connect` used to throw away), and a real one built on this library that
//! greets in its connect handler; and the C library's server, greeting from its connect
//! handler (the C peer's `--greet`).

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use enet::godot::{EnetConnection, EventType};
use enet_interop::{pattern, CPeer, CPeerOpts, GREET_SEED};
use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};
use enet_proto::protocol::{
    Command as Cmd, CommandHeader, CommandKind, Connect, Header, COMMAND_FLAG_ACKNOWLEDGE,
    CONTROL_CHANNEL,
};
use serde_json::Value;

const GREETING: &str = "welcome, new peer";

/// A server thread that stops when dropped.
struct ServerThread {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn spawn_server(bind: impl FnOnce() -> (u16, Box<dyn FnMut(&AtomicBool) + Send>)) -> ServerThread {
    let (port, mut body) = bind();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = std::thread::spawn(move || body(&s));
    ServerThread {
        port,
        stop,
        handle: Some(handle),
    }
}

/// Answers each CONNECT with one datagram holding VERIFY_CONNECT and, right behind it, a
/// reliable greeting on ENet channel 0; nothing else (the test stops the client itself).
fn eager_server() -> ServerThread {
    spawn_server(|| {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let body = move |stop: &AtomicBool| {
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok((_, hsize)) = Header::read(&buf[..n]) else {
                    continue;
                };
                let Ok((_, Cmd::Connect(c), _)) = Cmd::read(&buf[hsize..n]) else {
                    continue;
                };
                let mut out = [0u8; 512];
                let header = Header {
                    peer_id: c.outgoing_peer_id,
                    session_id: 0,
                    compressed: false,
                    sent_time: Some(0),
                };
                let mut len = header.write(&mut out);
                let verify = Connect {
                    outgoing_peer_id: 0,
                    incoming_session_id: 0,
                    outgoing_session_id: 0,
                    data: 0,
                    ..c
                };
                len += Cmd::VerifyConnect(verify).write(
                    &CommandHeader {
                        command: CommandKind::VerifyConnect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                        channel_id: CONTROL_CHANNEL,
                        reliable_sequence_number: 1,
                    },
                    &mut out[len..],
                );
                len += Cmd::SendReliable {
                    data_length: GREETING.len() as u16,
                }
                .write(
                    &CommandHeader {
                        command: CommandKind::SendReliable as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                        channel_id: 0,
                        reliable_sequence_number: 1,
                    },
                    &mut out[len..],
                );
                out[len..len + GREETING.len()].copy_from_slice(GREETING.as_bytes());
                len += GREETING.len();
                let _ = sock.send_to(&out[..len], from);
            }
        };
        (port, Box::new(body))
    })
}

/// A raw ENet server on this library that greets every peer in its connect handler.
fn raw_greeting_server() -> ServerThread {
    spawn_server(|| {
        let mut conn = EnetConnection::new();
        conn.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0)
            .expect("raw server");
        let port = conn.local_addr().expect("addr").port();
        let body = move |stop: &AtomicBool| {
            while !stop.load(Ordering::SeqCst) {
                let Ok(ev) = conn.service(Duration::from_millis(10)) else {
                    return;
                };
                if ev.kind == EventType::Connect {
                    let h = ev.peer.expect("peer");
                    conn.peer(h)
                        .send(0, GREETING.as_bytes(), enet::godot::FLAG_RELIABLE)
                        .expect("greet");
                    let _ = conn.flush();
                }
            }
        };
        (port, Box::new(body))
    })
}

/// A Godot-style server on this library that greets on `peer_connected`.
fn godot_greeting_server() -> ServerThread {
    spawn_server(|| {
        let mut mp = EnetMultiplayerPeer::new();
        mp.set_bind_ip("127.0.0.1").expect("bind ip");
        mp.create_server(0, 4, 0, 0, 0).expect("godot server");
        let port = mp.host().unwrap().local_addr().unwrap().port();
        let body = move |stop: &AtomicBool| {
            while !stop.load(Ordering::SeqCst) {
                mp.poll_with_timeout(Duration::from_millis(10));
                while let Some(ev) = mp.poll_event() {
                    if let MultiplayerEvent::PeerConnected(id) = ev {
                        mp.set_target_peer(id);
                        mp.set_transfer_mode(TransferMode::Reliable);
                        mp.set_transfer_channel(0);
                        mp.put_packet(GREETING.as_bytes()).expect("greet");
                    }
                }
                while mp.get_available_packet_count() > 0 {
                    let _ = mp.get_packet();
                }
            }
            mp.close();
        };
        (port, Box::new(body))
    })
}

/// Runs `enet connect 127.0.0.1:port --json extra...` interactively (stdin kept open) and
/// returns its JSON lines up to and including the first packet, or all it printed within
/// 10 s.
fn connect_lines(port: u16, extra: &[&str]) -> Vec<Value> {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(["connect", &format!("127.0.0.1:{port}"), "--json"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn enet connect");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let end = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while let Ok(l) = rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
        let v: Value = serde_json::from_str(&l).expect("JSON line");
        let done = v["event"] == "packet";
        lines.push(v);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

fn assert_greeted(lines: &[Value], what: &str) {
    assert_eq!(
        lines.first().map(|v| &v["event"]),
        Some(&"connected".into()),
        "{what}: {lines:?}"
    );
    let p = lines
        .iter()
        .find(|v| v["event"] == "packet")
        .unwrap_or_else(|| panic!("{what}: the greeting was not printed: {lines:?}"));
    assert_eq!(p["text"], GREETING, "{what}");
    assert_eq!(p["channel"], 0, "{what}");
    assert_eq!(p["mode"], "reliable", "{what}");
}

#[test]
fn raw_connect_prints_a_greeting_that_came_with_the_connection() {
    let server = eager_server();
    assert_greeted(&connect_lines(server.port, &["--raw"]), "raw, eager server");
}

#[test]
fn godot_connect_prints_a_greeting_that_came_with_the_connection() {
    let server = eager_server();
    // Godot clients ask for 2 system channels more; the greeting is on ENet channel 0,
    // Godot's reliable system channel, so it is user channel 0 in reliable mode.
    assert_greeted(
        &connect_lines(server.port, &["--id", "77"]),
        "godot, eager server",
    );
}

#[test]
fn raw_connect_prints_the_greeting_of_a_server_on_this_library() {
    let server = raw_greeting_server();
    assert_greeted(&connect_lines(server.port, &["--raw"]), "raw server");
}

#[test]
fn godot_connect_prints_the_greeting_of_a_godot_server() {
    let server = godot_greeting_server();
    assert_greeted(&connect_lines(server.port, &[]), "godot server");
}

/// The C library's server greets from its connect handler; both client modes print it.
#[test]
fn connect_prints_the_greeting_of_a_c_server() {
    if !enet_interop::require_c_library() {
        return;
    }
    for (extra, what) in [(&["--raw"][..], "raw"), (&["--id", "42"][..], "godot")] {
        let server = CPeer::spawn_server(&CPeerOpts::new().greet(64));
        let lines = connect_lines(server.port(), extra);
        assert_eq!(
            lines.first().map(|v| &v["event"]),
            Some(&"connected".into()),
            "{what}: {lines:?}"
        );
        let p = lines
            .iter()
            .find(|v| v["event"] == "packet")
            .unwrap_or_else(|| {
                panic!("{what}: the C server's greeting was not printed: {lines:?}")
            });
        assert_eq!(p["len"], 64, "{what}");
        assert_eq!(p["channel"], 0, "{what}");
        assert_eq!(p["mode"], "reliable", "{what}");
        let text = String::from_utf8_lossy(&pattern(GREET_SEED, 64)).into_owned();
        assert_eq!(p["text"], text.as_str(), "{what}: the greeting's bytes");
    }
}

/// Scripted mode counts the greeting as received, like every later packet.
#[test]
fn scripted_connect_counts_the_greeting() {
    let server = eager_server();
    let out = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args([
            "connect",
            &format!("127.0.0.1:{}", server.port),
            "--raw",
            "--json",
        ])
        .args(["--send", "1", "--timeout", "0.5"])
        .output()
        .expect("run enet connect");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    assert_eq!(summary["received"], 1, "{summary}");
}
