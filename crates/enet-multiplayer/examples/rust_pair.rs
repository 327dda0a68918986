//! `godot_pair` with the Rust-first API: a server and a client in one process; the client
//! joins, sends one packet in each transfer mode, the server answers each, and both leave
//! (the server sees why the client left).
//!
//! `cargo run -p enet-multiplayer --example rust_pair`

use std::time::{Duration, Instant};

use enet_multiplayer::{
    ClientConfig, EnetMultiplayerPeer, MultiplayerPeer, PeerEvent, ServerConfig, Target,
    TransferMode,
};

fn main() -> Result<(), enet::Error> {
    let mut server = EnetMultiplayerPeer::server(&ServerConfig::new(0).bind("127.0.0.1"))?;
    let port = server.host().expect("server host").get_local_port()?;
    let mut client = EnetMultiplayerPeer::client(&ClientConfig::new("127.0.0.1", port))?;
    println!(
        "server on port {port}; client id {}",
        client.get_unique_id()
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answers = 0;
    while answers < 3 {
        assert!(Instant::now() < deadline, "timed out");
        server.poll_with_timeout(Duration::from_millis(5));
        client.poll();
        while let Some(ev) = server.next_event() {
            println!("server: {ev:?}");
        }
        while let Some(ev) = client.next_event() {
            println!("client: {ev:?}");
            if ev == (PeerEvent::Connected { id: 1 }) {
                for mode in [
                    TransferMode::Reliable,
                    TransferMode::UnreliableOrdered,
                    TransferMode::Unreliable,
                ] {
                    let text = format!("hello in {mode:?}");
                    client.send(Target::All, mode, 0, text.as_bytes())?;
                }
            }
        }
        while let Some(p) = server.recv() {
            let text = String::from_utf8_lossy(&p.data).into_owned();
            println!("server got {text:?} from {} ({:?})", p.from, p.mode);
            let answer = format!("ack: {text}");
            server.send(
                Target::Peer(p.from),
                TransferMode::Reliable,
                0,
                answer.as_bytes(),
            )?;
        }
        while let Some(p) = client.recv() {
            println!("client got {:?}", String::from_utf8_lossy(&p.data));
            answers += 1;
        }
    }
    client.close();
    // The client's DISCONNECT reaches the server, which reports it with its reason.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        server.poll_with_timeout(Duration::from_millis(5));
        if let Some(ev) = server.next_event() {
            println!("server: {ev:?}");
            break;
        }
    }
    server.close();
    Ok(())
}
