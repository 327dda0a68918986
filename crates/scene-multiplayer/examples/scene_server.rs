//! A chat/lobby server that Godot 4 clients call by RPC.
//!
//! The Godot side (a node at `/root/Lobby` with this script on every client):
//!
//! ```gdscript
//! @rpc("any_peer") func join(name: String): pass
//! @rpc("any_peer") func say(text: String): pass
//! @rpc func chat(from: int, text: String): print(from, ": ", text)
//! ```
//!
//! Run: `cargo run -p scene-multiplayer --example scene_server -- --port 7777 --seconds 60`
//! (`--seconds N` stops it by itself, for CI).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use enet_multiplayer::EnetMultiplayerPeer;
use scene_multiplayer::{NodeRpcs, RpcConfig, SceneEvent, SceneMultiplayer, Variant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port = 7777u16;
    let mut seconds = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().ok_or("--port N")?.parse()?,
            "--seconds" => seconds = args.next().ok_or("--seconds N")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mut peer = EnetMultiplayerPeer::new();
    peer.set_bind_ip("127.0.0.1")?;
    peer.create_server(port, 64, 0, 0, 0)?;
    let mut mp = SceneMultiplayer::new(peer);
    // Same names and modes as the GDScript above: ids are positions in name order.
    mp.declare_node(
        "Lobby",
        NodeRpcs::new(vec![
            RpcConfig::new("chat"),
            RpcConfig::any_peer("join"),
            RpcConfig::any_peer("say"),
        ]),
    );
    let bound = mp.peer_mut().host().and_then(|h| h.get_local_port().ok());
    println!("lobby listening on 127.0.0.1:{}", bound.unwrap_or(port));
    let end = (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds));
    let mut names: HashMap<i32, String> = HashMap::new();
    while end.is_none_or(|e| Instant::now() < e) {
        mp.peer_mut().poll_with_timeout(Duration::from_millis(10));
        mp.poll();
        while let Some(ev) = mp.poll_event() {
            match ev {
                SceneEvent::PeerConnected(id) => println!("peer {id} joined"),
                SceneEvent::PeerDisconnected(id) => {
                    println!("peer {id} left");
                    names.remove(&id);
                }
                SceneEvent::Rpc {
                    from, method, args, ..
                } => {
                    let text = args
                        .first()
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_owned();
                    match method.as_str() {
                        "join" => {
                            names.insert(from, text.clone());
                            let msg = format!("{text} joined");
                            mp.rpc("Lobby", "chat", &[Variant::Int(1), msg.into()])?;
                        }
                        "say" => {
                            let who = names.get(&from).cloned().unwrap_or(from.to_string());
                            let line = format!("{who}: {text}");
                            mp.rpc("Lobby", "chat", &[Variant::Int(from.into()), line.into()])?;
                        }
                        _ => {}
                    }
                }
                SceneEvent::Bytes { from, data } => println!("{from} sent {} bytes", data.len()),
                _ => {}
            }
        }
    }
    println!("lobby stopped");
    Ok(())
}
