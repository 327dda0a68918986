//! `enet demo`: a server and a few bots on loopback, all in this process.
//!
//! The server relays like a Godot game server; each bot sends chat lines (reliable), position
//! updates (unreliable-ordered, 20 Hz) and pings (unreliable, 5 Hz), on Godot's channels.
//!
//! The summary is honest about reliable chat: when the time is up the bots stop sending and
//! the demo waits (bounded by ENet's peer timeout, after which every reliable message has
//! either arrived or its connection has dropped) for the chat still in flight. A chat line
//! counts as lost only if the connection of its sender or its recipient dropped; one that
//! is missing while both stay connected is a failure (exit code 1).

use std::time::{Duration, Instant};

use enet::godot::PeerStatistic;
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
    /// Chat lines received, per sending bot (index in the bot list).
    chat_from: Vec<u64>,
    /// The connection to the server dropped after the bot joined.
    dropped: bool,
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
                if let Some(from) = chat_sender(&p) {
                    if let Some(n) = self.chat_from.get_mut(from) {
                        *n += 1;
                    }
                }
            }
        }
    }
}

/// The chat payload for bot `index` (0-based); [`chat_sender`] reads the index back.
fn chat_payload(index: usize, line: u64) -> String {
    format!("chat:bot{} says hello #{line}", index + 1)
}

/// A bot's position at `tick`: a triangle wave between -1 and 1, period 40 ticks (2 s).
/// Not `f64::sin`, which alone would make the `enet` binary load the math library (libm)
/// and keep ~300 KB more of it resident in every process, servers included.
fn wave(tick: u64) -> f64 {
    let t = (tick % 40) as f64 / 10.0;
    if t < 2.0 {
        t - 1.0
    } else {
        3.0 - t
    }
}

/// The 0-based index of the bot that sent a chat payload, `None` for other payloads.
fn chat_sender(p: &[u8]) -> Option<usize> {
    let rest = p.strip_prefix(b"chat:bot")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let n: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    n.checked_sub(1)
}

/// Chat delivery between every pair of bots: (delivered, expected, lost because a
/// connection dropped, missing although both ends are still connected).
fn chat_tally(bots: &[Bot]) -> (u64, u64, u64, u64) {
    let (mut delivered, mut expected, mut lost, mut missing) = (0, 0, 0, 0);
    for (s, sender) in bots.iter().enumerate() {
        for (r, receiver) in bots.iter().enumerate() {
            if s == r {
                continue;
            }
            let got = receiver.chat_from[s].min(sender.sent[0]);
            let gap = sender.sent[0] - got;
            delivered += got;
            expected += sender.sent[0];
            if sender.dropped || receiver.dropped {
                lost += gap;
            } else {
                missing += gap;
            }
        }
    }
    (delivered, expected, lost, missing)
}

/// Longest wait for reliable chat in flight after the bots stop sending: ENet's peer
/// timeout maximum (30 s) and some slack. By then every reliable message has arrived or
/// its connection has timed out.
const DRAIN_LIMIT: Duration = Duration::from_secs(35);

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
            chat_from: vec![0; a.bots],
            dropped: false,
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
        for (index, bot) in bots.iter_mut().enumerate() {
            bot.receive();
            bot.dropped |= !bot.connected();
            if !send_now || bot.dropped {
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
                    TransferMode::Reliable => chat_payload(index, tick / 20 + 1),
                    TransferMode::UnreliableOrdered => {
                        format!("pos:{}:{:.2}", bot.name, wave(tick))
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
                                / enet::godot::PACKET_LOSS_SCALE as f64,
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
    // Time is up: the bots have stopped sending. Wait for the reliable chat still in
    // flight, until every line has arrived or every missing one has lost its connection.
    let drain_start = Instant::now();
    loop {
        poll_server(&mut server, &mut joined, a.bots);
        relay(&mut server);
        for bot in bots.iter_mut() {
            bot.receive();
            bot.dropped |= !bot.connected();
        }
        let (_, _, _, missing) = chat_tally(&bots);
        if missing == 0 || drain_start.elapsed() > DRAIN_LIMIT {
            break;
        }
    }
    let (chat_seen, chat_expected, chat_lost, chat_missing) = chat_tally(&bots);
    let sent: [u64; 3] = [0, 1, 2].map(|i| bots.iter().map(|b| b.sent[i]).sum());
    let got: [u64; 3] = [0, 1, 2].map(|i| bots.iter().map(|b| b.received[i]).sum());
    println!("summary:");
    // Every bot joined in the lobby (else the demo ended there).
    println!(
        "  {} bots joined; server relayed {relayed} packets to the other bots",
        a.bots
    );
    println!(
        "  chat (reliable):            {chat_seen}/{chat_expected} delivered ({} ms after sending stopped)",
        drain_start.elapsed().as_millis()
    );
    let dropped = bots.iter().filter(|b| b.dropped).count();
    if chat_lost > 0 || dropped > 0 {
        println!("  {dropped} bot connection(s) dropped; {chat_lost} chat line(s) lost with them");
    }
    if chat_missing > 0 {
        println!(
            "  {chat_missing} chat line(s) missing although both ends stayed connected for {} s",
            DRAIN_LIMIT.as_secs()
        );
    }
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
    if chat_missing > 0 {
        eprintln!("enet demo: reliable chat went missing on live connections");
        return Ok(1);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_wave_stays_between_minus_one_and_one() {
        assert_eq!(wave(0), -1.0);
        assert_eq!(wave(10), 0.0);
        assert_eq!(wave(20), 1.0);
        assert_eq!(wave(30), 0.0);
        assert_eq!(wave(40), -1.0);
        assert!((0..200).all(|t| (-1.0..=1.0).contains(&wave(t))));
    }

    fn bot(index: usize, bots: usize, chat_sent: u64) -> Bot {
        Bot {
            name: format!("bot{}", index + 1),
            mp: EnetMultiplayerPeer::new(),
            received: [0; 3],
            chat_from: vec![0; bots],
            dropped: false,
            sent: [chat_sent, 0, 0],
            received_at_last_table: 0,
        }
    }

    #[test]
    fn chat_payloads_name_their_sender() {
        assert_eq!(chat_sender(chat_payload(0, 1).as_bytes()), Some(0));
        assert_eq!(chat_sender(chat_payload(11, 7).as_bytes()), Some(11));
        assert_eq!(chat_sender(b"pos:bot1:0.5"), None);
        assert_eq!(chat_sender(b"chat:bot0 says"), None);
        assert_eq!(chat_sender(b"chat:botx"), None);
    }

    #[test]
    fn missing_chat_is_lost_only_with_a_dropped_connection() {
        let mut bots: Vec<Bot> = (0..3).map(|i| bot(i, 3, 4)).collect();
        // Everything from bot 0 and bot 1 arrived; bot 2's lines reached bot 0 only half.
        for (r, bot) in bots.iter_mut().enumerate() {
            for (s, n) in bot.chat_from.iter_mut().enumerate() {
                if r != s {
                    *n = 4;
                }
            }
        }
        bots[0].chat_from[2] = 2;
        assert_eq!(chat_tally(&bots), (22, 24, 0, 2));
        // The same gap with the sender's connection dropped is a loss, not a failure.
        bots[2].dropped = true;
        assert_eq!(chat_tally(&bots), (22, 24, 2, 0));
        // Or with the recipient's.
        bots[2].dropped = false;
        bots[0].dropped = true;
        assert_eq!(chat_tally(&bots), (22, 24, 2, 0));
    }
}
