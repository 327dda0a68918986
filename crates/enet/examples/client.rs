//! An ENet client with the Godot-style API: connects, sends a few messages, prints the
//! replies, and disconnects. Pair it with the `echo_server` example.
//!
//! `cargo run -p enet --example client [host] [port] [messages]`
//!
//! Defaults: `127.0.0.1`, port 7777, 3 messages. `host` may be an IPv4 or IPv6 literal or a
//! host name.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use enet::godot::{EnetConnection, EventType, PeerStatistic, FLAG_RELIABLE};

fn main() -> Result<ExitCode, enet::Error> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_owned());
    let port: u16 = args.next().and_then(|s| s.parse().ok()).unwrap_or(7777);
    let messages: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);

    let mut client = EnetConnection::new();
    // One peer slot, 2 channels.
    client.create_host(1, 2, 0, 0)?;
    let server = client.connect_to_host(&host, port, 2, 0)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut replies = 0;
    loop {
        if Instant::now() > deadline {
            eprintln!("no answer from {host}:{port}");
            return Ok(ExitCode::FAILURE);
        }
        let ev = client.service(Duration::from_millis(100))?;
        match ev.kind {
            EventType::Connect => {
                println!("connected to {}", client.peer(server).remote_addr()?);
                for k in 0..messages {
                    let text = format!("hello #{k}");
                    client
                        .peer(server)
                        .send(0, text.as_bytes(), FLAG_RELIABLE)?;
                }
            }
            EventType::Receive => {
                let reply = client.peer(server).get_packet()?;
                println!("reply: {}", String::from_utf8_lossy(&reply));
                replies += 1;
                if replies == messages {
                    let rtt = client
                        .peer(server)
                        .get_statistic(PeerStatistic::RoundTripTime)?;
                    println!("round-trip time {rtt} ms");
                    client.peer(server).peer_disconnect(0)?;
                }
            }
            EventType::Disconnect => {
                println!("disconnected");
                return Ok(ExitCode::SUCCESS);
            }
            EventType::None | EventType::Error => {}
        }
    }
}
