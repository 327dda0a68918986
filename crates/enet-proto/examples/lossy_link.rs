//! Two sans-IO ENet engines talking through a hostile simulated network.
//!
//! `cargo run --release -p enet-proto --example lossy_link [messages]`
//!
//! The client sends reliable messages on four channels through a link with 20% loss, 5%
//! duplication, reordering and 50±30 ms latency; the server checks that each arrives exactly
//! once and in order. Everything runs in virtual time, so it finishes in about a second.

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::Testbed;
use enet_proto::{Event, HostConfig, Packet};

fn main() {
    let total: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut tb = Testbed::new(2026);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let peer = tb
        .host_mut(client)
        .unwrap()
        .connect(now, addr, 4, 42)
        .expect("free peer slot");
    tb.run_for(Duration::from_millis(50));
    tb.set_link(
        server,
        client,
        LinkConfig::new()
            .with_loss(0.20)
            .with_duplicate(0.05)
            .with_reorder(0.05, Duration::from_millis(40))
            .with_latency(Duration::from_millis(50), Duration::from_millis(30)),
    )
    .unwrap();
    let wall = std::time::Instant::now();
    let (mut sent, mut received) = (0u32, 0u32);
    let mut next = [0u32; 4];
    while received < total {
        while sent < total && sent - received < 4000 {
            let ch = (sent % 4) as u8;
            let body = (sent / 4).to_le_bytes().to_vec();
            tb.host_mut(client)
                .unwrap()
                .send(peer, ch, Packet::reliable(body))
                .expect("connected");
            sent += 1;
        }
        tb.run_for(Duration::from_millis(20));
        for e in tb.take_events(server).unwrap() {
            if let Event::Receive {
                channel_id, packet, ..
            } = e
            {
                let seq = u32::from_le_bytes(packet.data[..4].try_into().unwrap());
                assert_eq!(seq, next[channel_id as usize], "out of order");
                next[channel_id as usize] += 1;
                received += 1;
            }
        }
        if tb.elapsed() > Duration::from_secs(3600) {
            eprintln!("stalled after {received} messages");
            std::process::exit(1);
        }
    }
    let info = tb.host(client).unwrap().peer_info(peer).unwrap();
    let link = tb.network_mut().total_stats();
    println!("{received} reliable messages delivered exactly once and in order over 4 channels");
    println!(
        "virtual time {:.1} s, wall time {:.2} s",
        tb.elapsed().as_secs_f64(),
        wall.elapsed().as_secs_f64()
    );
    println!(
        "network: {} datagrams, {} lost, {} duplicated, {} reordered",
        link.sent, link.dropped_loss, link.duplicated, link.reordered
    );
    println!(
        "client: rtt {} ms, {} retransmissions, {} datagrams sent",
        info.rtt.round_trip_time, info.counters.retransmissions, info.counters.datagrams_sent
    );
}
