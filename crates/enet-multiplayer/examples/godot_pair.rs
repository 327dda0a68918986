//! A Godot-style server and client in one process: the client joins, sends one packet in
//! each transfer mode, the server answers, and both leave.
//!
//! `cargo run -p enet-multiplayer --example godot_pair`

use std::time::{Duration, Instant};

use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};

fn main() -> Result<(), enet::Error> {
    let mut server = EnetMultiplayerPeer::new();
    server.set_bind_ip("127.0.0.1")?;
    server.create_server(0, 32, 0, 0, 0)?;
    let port = server.host().expect("server host").get_local_port()?;

    let mut client = EnetMultiplayerPeer::new();
    client.create_client("127.0.0.1", port, 0, 0, 0, 0)?;
    println!(
        "server on port {port}; client id {}",
        client.get_unique_id()
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answers = 0;
    let mut sent = false;
    while answers < 3 {
        assert!(Instant::now() < deadline, "timed out");
        server.poll_with_timeout(Duration::from_millis(5));
        client.poll();
        while let Some(ev) = server.poll_event() {
            println!("server: {ev:?}");
        }
        while let Some(ev) = client.poll_event() {
            println!("client: {ev:?}");
            if ev == MultiplayerEvent::PeerConnected(1) && !sent {
                for mode in [
                    TransferMode::Reliable,
                    TransferMode::UnreliableOrdered,
                    TransferMode::Unreliable,
                ] {
                    client.set_transfer_mode(mode);
                    client.put_packet(format!("hello in {mode:?}").as_bytes())?;
                }
                sent = true;
            }
        }
        while server.get_available_packet_count() > 0 {
            let (from, mode) = (server.get_packet_peer(), server.get_packet_mode());
            let text = String::from_utf8_lossy(&server.get_packet()?).into_owned();
            println!("server got {text:?} from {from} ({mode:?})");
            server.set_target_peer(from);
            server.set_transfer_mode(TransferMode::Reliable);
            server.put_packet(format!("ack: {text}").as_bytes())?;
        }
        while client.get_available_packet_count() > 0 {
            let text = String::from_utf8_lossy(&client.get_packet()?).into_owned();
            println!("client got {text:?}");
            answers += 1;
        }
    }
    client.close();
    server.close();
    Ok(())
}
