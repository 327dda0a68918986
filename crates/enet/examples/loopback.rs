//! A server and a client in one process, over UDP on 127.0.0.1, using the Godot-style API
//! ([`EnetConnection`] / `EnetPacketPeer`). The client sends a few messages, the server
//! echoes them, the client checks the echoes and disconnects; then the program exits.
//!
//! `cargo run -p enet --example loopback [messages]`
//!
//! Exits with status 0 on success, so CI can run it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use enet::godot::{EnetConnection, EventType, HostStatistic, PeerStatistic, FLAG_RELIABLE};

fn main() -> Result<ExitCode, enet::Error> {
    let messages: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    // Server: 127.0.0.1, ephemeral port, up to 8 peers, 2 channels.
    let mut server = EnetConnection::new();
    server.create_host_bound("127.0.0.1", 0, 8, 2, 0, 0)?;
    let port = server.get_local_port()?;
    println!("server listening on 127.0.0.1:{port}");

    // Client: one peer slot; connect asking for 2 channels with connect data 42.
    let mut client = EnetConnection::new();
    client.create_host(1, 2, 0, 0)?;
    let peer = client.connect_to_host("127.0.0.1", port, 2, 42)?;

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = 0u32;
    let mut echoed = 0u32;
    let (mut client_done, mut server_done) = (false, false);
    while !(client_done && server_done) {
        if Instant::now() > deadline {
            eprintln!("timed out: {echoed}/{messages} echoes");
            return Ok(ExitCode::FAILURE);
        }
        // The server echoes every packet back on the channel it came from.
        let ev = server.service(Duration::from_millis(5))?;
        match ev.kind {
            EventType::Connect => println!("server: peer connected with data {}", ev.data),
            EventType::Receive => {
                let from = ev.peer.expect("receive has a peer");
                let mut p = server.peer(from);
                while let Ok(packet) = p.get_packet() {
                    p.send(ev.channel, &packet, FLAG_RELIABLE)?;
                }
            }
            EventType::Disconnect => {
                println!("server: peer left with data {}", ev.data);
                server_done = true;
            }
            EventType::None | EventType::Error => {}
        }

        let ev = client.service(Duration::from_millis(5))?;
        match ev.kind {
            EventType::Connect => {
                println!("client: connected to {}", client.peer(peer).remote_addr()?);
            }
            EventType::Receive => {
                let text = client.peer(peer).get_packet()?;
                println!("client: echo {:?}", String::from_utf8_lossy(&text));
                echoed += 1;
                if echoed == messages {
                    let rtt = client
                        .peer(peer)
                        .get_statistic(PeerStatistic::RoundTripTime)?;
                    println!("client: all echoes back, RTT {rtt} ms; disconnecting");
                    client.peer(peer).peer_disconnect(7)?;
                }
            }
            EventType::Disconnect => {
                println!("client: disconnected");
                client_done = true;
            }
            EventType::None | EventType::Error => {}
        }
        // One message at a time, each once the previous echo is back.
        if client.peer(peer).get_state() == enet::PeerState::Connected
            && sent == echoed
            && sent < messages
        {
            let text = format!("message {sent}");
            client.peer(peer).send(1, text.as_bytes(), FLAG_RELIABLE)?;
            sent += 1;
        }
    }
    println!(
        "client sent {} datagrams ({} bytes) in total",
        client.pop_statistic(HostStatistic::TotalSentPackets)?,
        client.pop_statistic(HostStatistic::TotalSentData)?
    );
    server.destroy()?;
    client.destroy()?;
    Ok(ExitCode::SUCCESS)
}
