//! Load: `enet serve --scene` as a child process, 200 SceneMultiplayer clients each calling
//! an RPC 20 times a second for 10 s; every call must arrive (counted from the child's `rpc`
//! lines) and every echo must come back. The child's CPU time (from /proc) is printed.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enet_multiplayer::EnetMultiplayerPeer;
use godot_variant::Variant;
use scene_multiplayer::{NodeRpcs, RpcConfig, SceneEvent, SceneMultiplayer};
use serde_json::Value;
use support::cpu_ticks;

const CLIENTS: usize = 200;
const RATE: u64 = 20;
const SECONDS: u64 = 10;

#[test]
fn two_hundred_clients_twenty_rpcs_a_second() {
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
        .args([
            "--echo-rpc",
            "Main:ping",
            "--max-clients",
            "256",
            "--duration",
            "120",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["mode"], "scene");
    let addr: std::net::SocketAddr = first["addr"].as_str().unwrap().parse().unwrap();
    let rpcs = Arc::new(AtomicU64::new(0));
    let r2 = rpcs.clone();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            if l.contains("\"event\":\"rpc\"") {
                r2.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let mut clients: Vec<SceneMultiplayer<EnetMultiplayerPeer>> = (0..CLIENTS)
        .map(|_| {
            let mut p = EnetMultiplayerPeer::new();
            p.create_client("127.0.0.1", addr.port(), 0, 0, 0, 0)
                .unwrap();
            let mut c = SceneMultiplayer::new(p);
            c.declare_node("Main", NodeRpcs::new(vec![RpcConfig::any_peer("ping")]));
            c
        })
        .collect();
    let mut up = vec![false; CLIENTS];
    let mut echoes = vec![0u64; CLIENTS];
    let poll_all = |clients: &mut Vec<SceneMultiplayer<EnetMultiplayerPeer>>,
                    up: &mut Vec<bool>,
                    echoes: &mut Vec<u64>| {
        for (i, c) in clients.iter_mut().enumerate() {
            c.poll();
            while let Some(e) = c.poll_event() {
                match e {
                    SceneEvent::ConnectedToServer => up[i] = true,
                    SceneEvent::Rpc { from: 1, .. } => echoes[i] += 1,
                    _ => {}
                }
            }
        }
    };
    let end = Instant::now() + Duration::from_secs(30);
    while !up.iter().all(|&u| u) {
        assert!(
            Instant::now() < end,
            "only {} connected",
            up.iter().filter(|&&u| u).count()
        );
        poll_all(&mut clients, &mut up, &mut echoes);
        std::thread::sleep(Duration::from_millis(2));
    }
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let total = RATE * SECONDS;
    let mut sent = vec![0u64; CLIENTS];
    while sent.iter().any(|&s| s < total) {
        let due = ((t0.elapsed().as_secs_f64() * RATE as f64) as u64 + 1).min(total);
        for (i, c) in clients.iter_mut().enumerate() {
            while sent[i] < due {
                c.rpc_id(1, "Main", "ping", &[Variant::Int(sent[i] as i64)])
                    .unwrap();
                sent[i] += 1;
            }
        }
        poll_all(&mut clients, &mut up, &mut echoes);
        std::thread::sleep(Duration::from_millis(5));
    }
    let want = (CLIENTS as u64) * total;
    let end = Instant::now() + Duration::from_secs(30);
    while rpcs.load(Ordering::Relaxed) < want || echoes.iter().any(|&e| e < total) {
        assert!(
            Instant::now() < end,
            "server saw {} of {want} calls; echoes short on {} clients",
            rpcs.load(Ordering::Relaxed),
            echoes.iter().filter(|&&e| e < total).count()
        );
        poll_all(&mut clients, &mut up, &mut echoes);
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = t0.elapsed().as_secs_f64();
    let ticks = cpu_ticks(pid) - cpu0;
    eprintln!(
        "scene load: {want} RPCs delivered and echoed in {wall:.1} s; server CPU {:.2} s ({:.0}% of one core)",
        ticks as f64 / 100.0,
        ticks as f64 / wall
    );
    assert_eq!(rpcs.load(Ordering::Relaxed), want);
    let _ = child.kill();
    let _ = child.wait();
}
