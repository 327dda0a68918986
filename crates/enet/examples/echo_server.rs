//! An ENet echo server with the Godot-style API: every packet received is sent back to its
//! sender on the same channel with the same reliability.
//!
//! `cargo run -p enet --example echo_server [port] [bind-address]`
//!
//! Defaults: port 7777, bind address `*` (every IPv4 and IPv6 interface). Try it with the
//! `client` example: `cargo run -p enet --example client -- 127.0.0.1 7777`. Stop with
//! Ctrl-C.

use std::time::Duration;

use enet::godot::{EnetConnection, EventType};

fn main() -> Result<(), enet::Error> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|s| s.parse().ok()).unwrap_or(7777);
    let bind = args.next().unwrap_or_else(|| "*".to_owned());

    let mut server = EnetConnection::new();
    // Up to 32 peers, 0 = the maximum of 255 channels, no bandwidth limits.
    server.create_host_bound(&bind, port, 32, 0, 0, 0)?;
    println!("echo server on {bind} port {}", server.get_local_port()?);
    loop {
        // Sleeps on the socket for up to 100 ms while nothing happens.
        let ev = server.service(Duration::from_millis(100))?;
        let Some(handle) = ev.peer else { continue };
        let mut peer = server.peer(handle);
        match ev.kind {
            EventType::Connect => println!(
                "{}:{} connected (data {}, {} channels)",
                peer.get_remote_address()?,
                peer.get_remote_port()?,
                ev.data,
                peer.get_channels()?
            ),
            EventType::Receive => {
                while let Ok((packet, channel, flags)) = peer.get_packet_with_info() {
                    // Received flags map back to send flags (unreliable fragments included).
                    if let Err(e) = peer.send(channel, &packet, flags) {
                        eprintln!("echo failed: {e}");
                    }
                }
            }
            EventType::Disconnect => println!("peer left (data {}, {:?})", ev.data, ev.reason),
            EventType::None | EventType::Error => {}
        }
    }
}
