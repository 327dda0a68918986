//! A server and a client in one process, over UDP on 127.0.0.1, using the native API
//! ([`UdpHost`]): the client sends a few reliable messages, the server echoes each with the
//! flags it arrived with, the client checks the echoes and disconnects; then the program
//! exits.
//!
//! `cargo run -p enet --example native_loopback [messages]`
//!
//! Exits with status 0 on success, so CI can run it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use enet::{Event, Packet, UdpHost};

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let messages: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    let mut server = UdpHost::builder("127.0.0.1:0".parse()?)
        .peer_count(8)
        .channel_limit(2)
        .bind()?;
    let mut client = UdpHost::builder("127.0.0.1:0".parse()?)
        .peer_count(1)
        .bind()?;
    println!("server listening on {}", server.local_addr());
    let peer = client.connect(server.local_addr(), 2, 42)?;

    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut sent, mut echoed, mut done) = (0u32, 0u32, false);
    while !done {
        if Instant::now() > deadline {
            eprintln!("timed out: {echoed}/{messages} echoes");
            return Ok(ExitCode::FAILURE);
        }
        // The server echoes whatever it receives, on the same channel with the same flags.
        while let Some(ev) = server.service(Duration::from_millis(1))? {
            match ev {
                Event::Connect { peer, data } => {
                    println!("server: {peer:?} connected with data {data}")
                }
                Event::Receive {
                    peer,
                    channel_id,
                    packet,
                } => server.send(peer, channel_id, packet)?,
                Event::Disconnect { peer, reason, .. } => {
                    println!("server: {peer:?} left ({reason:?})")
                }
                _ => {}
            }
        }
        while let Some(ev) = client.service(Duration::from_millis(1))? {
            match ev {
                Event::Connect { .. } => {
                    let rtt = client.peer_info(peer)?.rtt();
                    println!("client: connected (round-trip estimate {rtt:?})");
                    for i in 0..messages {
                        let text = format!("message {i}");
                        client.send(peer, (i % 2) as u8, Packet::reliable(text.into_bytes()))?;
                        sent += 1;
                    }
                }
                Event::Receive { packet, .. } => {
                    echoed += 1;
                    println!("client: echo {:?}", String::from_utf8_lossy(&packet.data));
                    if echoed == messages {
                        client.disconnect(peer, 7)?;
                    }
                }
                Event::Disconnect { reason, .. } => {
                    println!("client: disconnected ({reason:?})");
                    done = true;
                }
                _ => {}
            }
        }
    }
    // Let the server see the disconnect before exiting.
    let _ = server.service(Duration::from_millis(50))?;
    let totals = client.totals();
    println!(
        "client sent {sent} messages, got {echoed} echoes; {} datagrams out, {} in",
        totals.sent_packets, totals.received_packets
    );
    Ok(if echoed == messages && sent == messages {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
