//! `enet demo`: a server and a few bots on loopback, all in this process.
//!
//! The server relays like a Godot game server; each bot sends chat lines (reliable), position
//! updates (unreliable-ordered, 20 Hz) and pings (unreliable, 5 Hz), on Godot's channels.

use std::time::{Duration, Instant};

use enet::PeerStatistic;
use enet_multiplayer::{EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode};

use crate::common::{count, number_in, seconds, CliResult};

/// Arguments of `enet demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of bot clients (1..=64).
    #[arg(long, default_value_t = 4, value_parser = count::<usize>(1, 64))]
    pub bots: usize,
    /// How long to send, in seconds (0.1..=3600).
    #[arg(long, default_value_t = 5.0, value_parser = seconds(0.1, 3600.0))]
    pub seconds: f64,
    /// Simulated packet loss on every bot's outgoing link, in percent (0..=100).
    #[arg(long, default_value_t = 5.0, value_parser = number_in(0.0, 100.0, "percent"))]
    pub loss: f64,
    /// Simulated one-way latency on every bot's outgoing link, in ms (0..=5000).
    #[arg(long, default_value_t = 20, value_parser = count::<u64>(0, 5000))]
    pub latency: u64,
}

struct Bot {
    name: String,
    mp: EnetMultiplayerPeer,
    received: [u64; 3],
    chat_seen: u64,
    sent: [u64; 3],
    /// Packets received (all modes) when the table was last printed.
    received_at_last_table: u64,
}

impl Bot {
    fn connected(&self) -> bool {
        self.mp.get_connection_status() == enet_multiplayer::ConnectionStatus::Connected
    }

    /// Polls the bot's connection and counts what arrived.
    fn receive(&mut self) {
        self.mp.poll();
        while self.mp.poll_event().is_some() {}
        while self.mp.get_available_packet_count() > 0 {
            let mode = self.mp.get_packet_mode();
            if let Ok(p) = self.mp.get_packet() {
                self.received[mode_index(mode)] += 1;
                if p.starts_with(b"chat:") {
                    self.chat_seen += 1;
                }
            }
        }
    }
}

/// Relays every queued packet to all other peers, in its mode and channel; returns how many
/// packets were relayed.
fn relay(server: &mut EnetMultiplayerPeer) -> u64 {
    let mut relayed = 0;
    while server.get_available_packet_count() > 0 {
        let from = server.get_packet_peer();
        let mode = server.get_packet_mode();
        let channel = server.get_packet_channel();
        let Ok(p) = server.get_packet() else { break };
        server.set_target_peer(-from);
        server.set_transfer_mode(mode);
        server.set_transfer_channel(channel);
        if server.put_packet(&p).is_ok() {
            relayed += 1;
        }
    }
    relayed
}

/// Services the server once and reports bots joining and leaving; `joined` counts them.
fn poll_server(server: &mut EnetMultiplayerPeer, joined: &mut usize, bots: usize) {
    server.poll_with_timeout(Duration::from_millis(1));
    while let Some(ev) = server.poll_event() {
        match ev {
            MultiplayerEvent::PeerConnected(id) => {
                *joined += 1;
                println!("  server: peer {id} joined ({joined}/{bots})");
            }
            MultiplayerEvent::PeerDisconnected(id) => {
                *joined = joined.saturating_sub(1);
                println!("  server: peer {id} left");
            }
        }
    }
}

fn mode_index(m: TransferMode) -> usize {
    match m {
        TransferMode::Reliable => 0,
        TransferMode::UnreliableOrdered => 1,
        TransferMode::Unreliable => 2,
    }
}

pub fn run(a: Args) -> CliResult {
    let mut server = EnetMultiplayerPeer::new();
    server.set_bind_ip("127.0.0.1").map_err(|e| e.to_string())?;
    server
        .create_server(0, 64, 0, 0, 0)
        .map_err(|e| format!("cannot start the demo server: {e}"))?;
    let port = server
        .host()
        .and_then(|h| h.get_local_port().ok())
        .ok_or("server has no port")?;
    println!(
        "enet demo: server on 127.0.0.1:{port}, {} bots, {:.0}% loss and {} ms latency on the bots' uplinks, {:.0} s",
        a.bots, a.loss, a.latency, a.seconds
    );
    let link = enet::LinkConfig::new()
        .with_loss(a.loss / 100.0)
        .with_latency(
            Duration::from_millis(a.latency),
            Duration::from_millis(a.latency / 4),
        );
    // A bot's client, its uplink behind the link conditioner.
    let new_client = |name: &str| -> Result<EnetMultiplayerPeer, String> {
        let mut mp = EnetMultiplayerPeer::new();
        mp.create_client("127.0.0.1", port, 0, 0, 0, 0)
            .map_err(|e| format!("{name} cannot connect: {e}"))?;
        if let Some(h) = mp.host() {
            h.set_link_conditioner(Some(link.clone()), None)
                .map_err(|e| e.to_string())?;
        }
        Ok(mp)
    };
    let mut bots = Vec::new();
    for i in 0..a.bots {
        let name = format!("bot{}", i + 1);
        let mp = new_client(&name)?;
        bots.push(Bot {
            name,
            mp,
            received: [0; 3],
            chat_seen: 0,
            sent: [0; 3],
            received_at_last_table: 0,
        });
    }
    // Lobby: like a game that waits for its players, traffic starts once every bot has joined,
    // so every chat line has every other bot as a recipient. Joins retry through the lossy
    // uplinks (the first CONNECT retransmission comes after 500 ms), so allow generous time;
    // a bot whose attempt fails altogether (every CONNECT lost) tries again, as a player would.
    let lobby_start = Instant::now();
    let lobby_limit = Duration::from_secs(15);
    let mut joined = 0usize;
    while joined < a.bots || !bots.iter().all(|b| b.connected()) {
        if lobby_start.elapsed() > lobby_limit {
            for bot in bots.iter_mut() {
                bot.mp.close();
            }
            server.close();
            eprintln!(
                "enet demo: only {joined} of {} bots joined within {} s",
                a.bots,
                lobby_limit.as_secs()
            );
            return Ok(1);
        }
        poll_server(&mut server, &mut joined, a.bots);
        for bot in bots.iter_mut() {
            bot.receive();
            if bot.mp.get_connection_status() == enet_multiplayer::ConnectionStatus::Disconnected {
                println!("  {}: join failed, trying again", bot.name);
                bot.mp.close();
                bot.mp = new_client(&bot.name)?;
            }
        }
    }
    println!(
        "  all bots joined after {} ms; traffic starts",
        lobby_start.elapsed().as_millis()
    );
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.seconds);
    let mut next_tick = start;
    let mut tick = 0u64;
    let mut next_table = start + Duration::from_secs(1);
    let mut relayed = 0u64;
    let mut last_relayed = 0u64;
    let mut last_table = start;
    while Instant::now() < end {
        poll_server(&mut server, &mut joined, a.bots);
        relayed += relay(&mut server);
        let now = Instant::now();
        let send_now = now >= next_tick;
        if send_now {
            next_tick += Duration::from_millis(50);
            tick += 1;
        }
        for bot in bots.iter_mut() {
            bot.receive();
            if !send_now || !bot.connected() {
                continue;
            }
            // 20 Hz position updates, 5 Hz pings, a chat line every second.
            let sends: &[(TransferMode, u64)] = &[
                (TransferMode::UnreliableOrdered, 1),
                (TransferMode::Unreliable, 4),
                (TransferMode::Reliable, 20),
            ];
            for &(mode, every) in sends {
                // From the first tick on, so that even a short run sends every kind.
                if !(tick - 1).is_multiple_of(every) {
                    continue;
                }
                let payload = match mode {
                    TransferMode::Reliable => {
                        format!("chat:{} says hello #{}", bot.name, tick / 20 + 1)
                    }
                    TransferMode::UnreliableOrdered => {
                        format!("pos:{}:{:.2}", bot.name, (tick as f64 / 10.0).sin())
                    }
                    TransferMode::Unreliable => format!("ping:{}:{tick}", bot.name),
                };
                bot.mp.set_transfer_mode(mode);
                bot.mp.set_target_peer(1);
                if bot.mp.put_packet(payload.as_bytes()).is_ok() {
                    bot.sent[mode_index(mode)] += 1;
                }
            }
        }
        if now >= next_table {
            next_table += Duration::from_secs(1);
            let secs = last_table.elapsed().as_secs_f64();
            last_table = now;
            let rate = (relayed - last_relayed) as f64 / secs;
            last_relayed = relayed;
            println!(
                "  t={:>4.1}s  server relayed {relayed} packets ({rate:.0}/s)",
                start.elapsed().as_secs_f64()
            );
            println!(
                "    {:<6} {:>7} {:>7} {:>7} {:>9} {:>8} {:>7} {:>8}",
                "peer", "rtt ms", "loss %", "link %", "rx msg/s", "chat rx", "pos rx", "ping rx"
            );
            for bot in bots.iter_mut() {
                let (rtt, loss) = bot
                    .mp
                    .get_peer(1)
                    .map(|p| {
                        (
                            p.get_statistic(PeerStatistic::RoundTripTime).unwrap_or(0.0),
                            p.get_statistic(PeerStatistic::PacketLoss).unwrap_or(0.0) * 100.0
                                / enet::PACKET_LOSS_SCALE as f64,
                        )
                    })
                    .unwrap_or((0.0, 0.0));
                // What the simulated uplink dropped; ENet's own estimate ("loss %") counts
                // only reliable commands and is averaged over 10 s windows.
                let link = bot
                    .mp
                    .host()
                    .and_then(|h| h.link_conditioner_stats().ok().flatten())
                    .map_or(0.0, |(out, _)| {
                        100.0 * out.dropped() as f64 / out.sent.max(1) as f64
                    });
                let total: u64 = bot.received.iter().sum();
                let rx_rate = (total - bot.received_at_last_table) as f64 / secs;
                bot.received_at_last_table = total;
                let [chat, pos, ping] = bot.received;
                println!(
                    "    {:<6} {rtt:>7.0} {loss:>7.1} {link:>7.1} {rx_rate:>9.0} {chat:>8} {pos:>7} {ping:>8}",
                    bot.name
                );
            }
        }
    }
    let chat_sent: u64 = bots.iter().map(|b| b.sent[0]).sum();
    let chat_expected = chat_sent * (a.bots as u64 - 1);
    // Let reliable traffic drain before judging it.
    let drain_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < drain_until {
        server.poll_with_timeout(Duration::from_millis(1));
        while server.poll_event().is_some() {}
        relay(&mut server);
        for bot in bots.iter_mut() {
            bot.receive();
        }
        if bots.iter().map(|b| b.chat_seen).sum::<u64>() >= chat_expected {
            break;
        }
    }
    let chat_seen: u64 = bots.iter().map(|b| b.chat_seen).sum();
    let sent: [u64; 3] = [0, 1, 2].map(|i| bots.iter().map(|b| b.sent[i]).sum());
    let got: [u64; 3] = [0, 1, 2].map(|i| bots.iter().map(|b| b.received[i]).sum());
    println!("summary:");
    println!("  {joined} bots joined; server relayed {relayed} packets to the other bots");
    println!("  chat (reliable):            {chat_seen}/{chat_expected} delivered");
    println!(
        "  positions (unreliable-ordered): {} sent, {} relayed copies received",
        sent[1], got[1]
    );
    println!(
        "  pings (unreliable):          {} sent, {} relayed copies received",
        sent[2], got[2]
    );
    for bot in bots.iter_mut() {
        bot.mp.close();
    }
    server.close();
    if joined < a.bots || chat_seen < chat_expected {
        eprintln!("enet demo: not every bot joined or some reliable chat was lost");
        return Ok(1);
    }
    Ok(0)
}
