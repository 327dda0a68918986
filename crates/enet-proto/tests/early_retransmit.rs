//! Early retransmission in virtual time: game-like reliable streams (20 peers x 20 Hz) over a
//! lossy 40 ms-RTT link arrive exactly once and in order with early retransmission on and
//! off; the delivery latencies of both are printed (`--nocapture`) for comparison, not
//! asserted. A second test makes the loss that early retransmission repairs certain: a
//! dropped datagram followed by acknowledged traffic is resent before its timeout, and so is
//! one lost from a burst whose other commands are acknowledged (RACK's rule). The rest
//! bound what a hostile or unlucky receiver can cost: a withheld acknowledgement, forged
//! echoed send times, and the timeout limit with early copies in the count. How the
//! reordering allowance adapts to the path is in `reordering_allowance.rs`.

mod support;

use std::time::{Duration, Instant};

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::Testbed;
use enet_proto::{Event, HostConfig, Packet, PacketFlags, PeerId};
use support::start_connect;

const PEERS: usize = 20;
const HZ: u64 = 20;

/// One run: its delivery latencies (ms, sorted), and the datagrams the network carried and
/// dropped (both directions).
struct Run {
    latencies: Vec<u64>,
    datagrams: u64,
    dropped: u64,
    /// The client's early retransmissions (`PeerCounters::early_retransmissions`).
    early: u64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// `PEERS` client peers each send a reliable message every 1/HZ s for `seconds` over a
/// link with `loss` each way and 20 ms one-way delay; the server checks each peer's stream
/// is exactly once and in order.
fn stream_run(seed: u64, loss: f64, early: bool, seconds: u64) -> Run {
    let mut tb = Testbed::new(seed);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    let peers: Vec<PeerId> = (0..PEERS)
        .map(|i| {
            tb.host_mut(client)
                .unwrap()
                .connect(now, addr, 1, i as u32)
                .unwrap()
        })
        .collect();
    let link = LinkConfig::new().with_latency(Duration::from_millis(20), Duration::ZERO);
    tb.set_link(server, client, link.clone()).unwrap();
    let mut up = 0;
    let ok = tb.run_until_cond(now + Duration::from_secs(10), |tb| {
        up += tb
            .take_events(server)
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Connect { .. }))
            .count();
        up == PEERS
    });
    assert!(ok, "only {up} of {PEERS} connected");
    for &p in &peers {
        tb.host_mut(client)
            .unwrap()
            .set_early_retransmit(p, early)
            .unwrap();
        assert_eq!(tb.host(client).unwrap().early_retransmit(p).unwrap(), early);
    }
    tb.set_link(server, client, link.with_loss(loss)).unwrap();

    let t0 = tb.now();
    let total = PEERS as u64 * HZ * seconds;
    let step = Duration::from_micros(1_000_000 / HZ / PEERS as u64);
    let mut next = [0u32; PEERS];
    let mut latencies = Vec::with_capacity(total as usize);
    let mut record = |tb: &mut Testbed, latencies: &mut Vec<u64>| {
        let at = tb.now();
        for e in tb.take_events(server).unwrap() {
            if let Event::Receive { packet, .. } = e {
                assert!(packet.flags.contains(PacketFlags::RELIABLE));
                let d = &packet.data;
                let who = u32::from_le_bytes(d[0..4].try_into().unwrap()) as usize;
                let seq = u32::from_le_bytes(d[4..8].try_into().unwrap());
                let sent_us = u64::from_le_bytes(d[8..16].try_into().unwrap());
                assert_eq!(seq, next[who], "peer {who}: duplicate or out of order");
                next[who] += 1;
                let at_us = at.duration_since(t0).as_micros() as u64;
                latencies.push((at_us - sent_us) / 1000);
            }
        }
    };
    for g in 0..total {
        let due = t0 + step * g as u32;
        tb.run_until_cond(due, |tb| {
            record(tb, &mut latencies);
            false
        });
        let who = (g % PEERS as u64) as usize;
        let seq = (g / PEERS as u64) as u32;
        let mut msg = Vec::with_capacity(100);
        msg.extend_from_slice(&(who as u32).to_le_bytes());
        msg.extend_from_slice(&seq.to_le_bytes());
        msg.extend_from_slice(&(due.duration_since(t0).as_micros() as u64).to_le_bytes());
        msg.resize(100, 0xA5);
        tb.host_mut(client)
            .unwrap()
            .send(peers[who], 0, Packet::reliable(msg))
            .unwrap();
    }
    let end: Instant = tb.now() + Duration::from_secs(30);
    let done = tb.run_until_cond(end, |tb| {
        record(tb, &mut latencies);
        latencies.len() as u64 == total
    });
    assert!(done, "delivered {} of {total}", latencies.len());
    assert!(next.iter().all(|&n| n as u64 == HZ * seconds));
    let early = peers
        .iter()
        .map(|&p| {
            tb.host(client)
                .unwrap()
                .peer_info(p)
                .unwrap()
                .counters
                .early_retransmissions
        })
        .sum();
    let stats = tb.network_mut().total_stats();
    latencies.sort_unstable();
    Run {
        latencies,
        datagrams: stats.sent,
        dropped: stats.dropped_loss,
        early,
    }
}

/// Hands `host` every datagram of `queue` that is due at `now` (a one-way link of the
/// hand-driven tests), each from `from`.
fn deliver_due(
    queue: &mut std::collections::VecDeque<(Instant, Vec<u8>)>,
    now: Instant,
    host: &mut enet_proto::Host,
    from: std::net::SocketAddr,
) {
    while queue.front().is_some_and(|(t, _)| *t <= now) {
        let (_, d) = queue.pop_front().unwrap();
        host.handle_datagram(now, from, &d);
    }
}

/// Queues every datagram `host` has to send at `now`, due `delay` later.
fn send_all(
    host: &mut enet_proto::Host,
    now: Instant,
    buf: &mut Vec<u8>,
    queue: &mut std::collections::VecDeque<(Instant, Vec<u8>)>,
    delay: Duration,
) {
    while host.poll_transmit(now, buf).is_some() {
        queue.push_back((now + delay, buf.clone()));
    }
}

#[test]
fn lossy_streams_arrive_exactly_once_in_order_with_and_without_early_retransmission() {
    for loss in [0.01, 0.05] {
        for seed in [1, 2] {
            let on = stream_run(seed, loss, true, 30);
            let off = stream_run(seed, loss, false, 30);
            assert!(on.dropped > 0 && off.dropped > 0, "the link lost datagrams");
            assert!(on.early > 0, "early retransmission never triggered");
            assert_eq!(off.early, 0, "switched off, it never triggers");
            for (name, r) in [("early on", &on), ("early off", &off)] {
                let l = &r.latencies;
                println!(
                    "loss {:.0} % seed {seed} {name}: {} messages, latency ms p50 {} p99 {} p99.9 {} max {}; {} datagrams, {} dropped, {} early retransmissions",
                    loss * 100.0,
                    l.len(),
                    percentile(l, 0.5),
                    percentile(l, 0.99),
                    percentile(l, 0.999),
                    l[l.len() - 1],
                    r.datagrams,
                    r.dropped,
                    r.early
                );
            }
        }
    }
}

/// One lost datagram, then traffic that is acknowledged: with early retransmission the lost
/// message arrives about one round trip after the next acknowledgement, well before its
/// retransmission timeout would have fired (which the run without it shows).
#[test]
fn a_loss_revealed_by_a_later_acknowledgement_is_resent_before_its_timeout() {
    let arrival = |early: bool| -> Duration {
        let mut tb = Testbed::new(9);
        let server = tb.add_host(HostConfig::default()).unwrap();
        let client = tb.add_host(HostConfig::default()).unwrap();
        let peer = start_connect(&mut tb, client, server, 1, 0);
        let link = LinkConfig::new().with_latency(Duration::from_millis(20), Duration::ZERO);
        tb.set_link(server, client, link.clone()).unwrap();
        // Connected, with the handshake's RTT sample only: a retransmission timeout of
        // about RTT + 4 x RTT/2.
        tb.run_for(Duration::from_millis(100));
        tb.host_mut(client)
            .unwrap()
            .set_early_retransmit(peer, early)
            .unwrap();
        // The first message is lost on the way: the link drops everything for a moment.
        tb.set_link(server, client, link.clone().with_loss(1.0))
            .unwrap();
        tb.host_mut(client)
            .unwrap()
            .send(peer, 0, Packet::reliable(&b"first"[..]))
            .unwrap();
        tb.run_for(Duration::from_millis(1));
        tb.set_link(server, client, link.clone()).unwrap();
        let t0 = tb.now();
        tb.run_for(Duration::from_millis(20));
        tb.host_mut(client)
            .unwrap()
            .send(peer, 0, Packet::reliable(&b"second"[..]))
            .unwrap();
        let mut got = Vec::new();
        let mut at = None;
        let ok = tb.run_until_cond(t0 + Duration::from_secs(10), |tb| {
            for e in tb.take_events(server).unwrap() {
                if let Event::Receive { packet, .. } = e {
                    got.push(packet.data.to_vec());
                    at.get_or_insert(tb.now());
                }
            }
            got.len() == 2
        });
        assert!(ok, "early={early}: got {got:?}");
        assert_eq!(
            got,
            vec![b"first".to_vec(), b"second".to_vec()],
            "in order, once"
        );
        // Nothing more arrives later (no duplicate delivery).
        tb.run_for(Duration::from_secs(2));
        assert!(!tb
            .take_events(server)
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::Receive { .. })));
        at.unwrap() - t0
    };
    let early = arrival(true);
    let late = arrival(false);
    println!("first message delivered after {early:?} (early) vs {late:?} (timeout only)");
    assert!(early < late, "{early:?} vs {late:?}");
}

/// A receiver that never gets (or never acknowledges) one message but acknowledges every
/// message after it cannot make the sender resend that message once per acknowledgement:
/// early retransmission gives up after a few copies and leaves the rest to the (backing
/// off) retransmission timeout, so the copies stay close to what timeouts alone send.
#[test]
fn a_withheld_acknowledgement_costs_only_a_few_early_copies() {
    use enet_proto::Host;
    let copies = |early: bool| -> u64 {
        let mut now = Instant::now();
        let mut a = Host::new(HostConfig::default(), now).unwrap();
        let mut b = Host::new(HostConfig::default(), now).unwrap();
        let (a_addr, b_addr): (std::net::SocketAddr, std::net::SocketAddr) =
            ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
        let peer = a.connect(now, b_addr, 1, 0).unwrap();
        let marker = [0xEEu8; 32];
        let mut buf = Vec::new();
        let mut copies = 0u64;
        let mut delivered = 0u64;
        // One virtual millisecond per round; datagrams from `a` that carry the marker are
        // lost, everything else arrives at once.
        let mut round = |a: &mut Host, b: &mut Host, now: Instant, copies: &mut u64| {
            for _ in 0..16 {
                let mut moved = false;
                while a.poll_transmit(now, &mut buf).is_some() {
                    moved = true;
                    if buf.windows(marker.len()).any(|w| w == marker) {
                        *copies += 1;
                        continue;
                    }
                    b.handle_datagram(now, a_addr, &buf);
                }
                while b.poll_transmit(now, &mut buf).is_some() {
                    moved = true;
                    a.handle_datagram(now, b_addr, &buf);
                }
                while let Some(e) = b.poll_event() {
                    if matches!(e, Event::Receive { .. }) {
                        delivered += 1;
                    }
                }
                while let Some(e) = a.poll_event() {
                    assert!(!matches!(e, Event::Disconnect { .. }), "{e:?}");
                }
                if !moved {
                    break;
                }
            }
            a.handle_timeout(now);
            b.handle_timeout(now);
        };
        for _ in 0..100 {
            now += Duration::from_millis(1);
            round(&mut a, &mut b, now, &mut copies);
        }
        a.set_early_retransmit(peer, early).unwrap();
        a.send(peer, 0, Packet::reliable(marker.to_vec())).unwrap();
        // Then a message every 10 ms for 3 s, each acknowledged.
        for ms in 0..3000u32 {
            if ms % 10 == 5 {
                let mut m = vec![0x11u8; 32];
                m[..4].copy_from_slice(&ms.to_le_bytes());
                a.send(peer, 0, Packet::reliable(m)).unwrap();
            }
            now += Duration::from_millis(1);
            round(&mut a, &mut b, now, &mut copies);
        }
        assert_eq!(delivered, 0, "nothing passes the missing first message");
        // (Messages that shared a datagram with a copy of the withheld one were lost with
        // it and may have been resent early too; the copies counted are of the withheld one.)
        copies
    };
    let with = copies(true);
    let without = copies(false);
    println!("copies of the withheld message in 3 s: {with} (early on), {without} (timeouts only)");
    assert!(
        with > without,
        "early retransmission sent its few extra copies"
    );
    assert!(with <= without + 3, "{with} vs {without}");
}

/// What [`delay_line_run`] measured at the sender.
struct DelayRun {
    /// Bytes the sender put on the wire while the messages flowed.
    bytes: u64,
    /// The sender's early retransmissions.
    early: u64,
    /// The sender's smoothed RTT at the end, ms.
    rtt: u32,
    /// Messages the receiver got.
    delivered: u64,
    /// When (ms after the first message) the sender timed the receiver out, if it did.
    timed_out: Option<u32>,
}

/// Rewrites the echoed send time of every ACKNOWLEDGE in datagram `buf` to `forged`.
fn forge_acks(buf: &mut [u8], forged: u16) {
    use enet_proto::protocol::{Command, Header};
    let Ok((h, mut off)) = Header::read(buf) else {
        return;
    };
    assert!(!h.compressed);
    while off < buf.len() {
        let Ok((_, cmd, len)) = Command::read(&buf[off..]) else {
            break;
        };
        if let Command::Acknowledge { .. } = cmd {
            // Command header (4 bytes), received reliable sequence number, sent time.
            buf[off + 6..off + 8].copy_from_slice(&forged.to_be_bytes());
        }
        off += len + cmd.data_length();
    }
}

/// A sends a 32-byte reliable message every 5 ms for 3 s over a lossless link with 40 ms
/// each way (virtual time, 1 ms steps). With `forge`, B's acknowledgements echo A's current
/// service time (what a receiver wanting to be served faster would claim) instead of the
/// send time of the datagram they acknowledge. With `withhold`, the first message never
/// arrives (every datagram carrying it is lost) and A's timeout limit is 4 (timeout minimum
/// 1 ms): A times B out after its third timed-out transmission of it.
fn delay_line_run(early: bool, forge: bool, withhold: bool) -> DelayRun {
    use enet_proto::Host;
    use std::collections::VecDeque;
    let t0 = Instant::now();
    let mut a = Host::new(HostConfig::default(), t0).unwrap();
    let mut b = Host::new(HostConfig::default(), t0).unwrap();
    let (a_addr, b_addr): (std::net::SocketAddr, std::net::SocketAddr) =
        ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
    let peer = a.connect(t0, b_addr, 1, 0).unwrap();
    let latency = Duration::from_millis(40);
    let marker = [0xEEu8; 32];
    let mut to_b: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut to_a: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = Vec::new();
    let mut run = DelayRun {
        bytes: 0,
        early: 0,
        rtt: 0,
        delivered: 0,
        timed_out: None,
    };
    let mut measuring = false;
    for ms in 0..4000u32 {
        let now = t0 + Duration::from_millis(ms.into());
        if ms == 500 {
            a.set_early_retransmit(peer, early).unwrap();
            if withhold {
                a.set_timeout(peer, 4, 1, 60_000).unwrap();
                a.send(peer, 0, Packet::reliable(marker.to_vec())).unwrap();
            }
            measuring = true;
        }
        if (500..3500).contains(&ms) && ms % 5 == 0 && run.timed_out.is_none() {
            a.send(peer, 0, Packet::reliable(vec![7u8; 32])).unwrap();
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        while a.poll_transmit(now, &mut buf).is_some() {
            if measuring {
                run.bytes += buf.len() as u64;
            }
            if withhold && buf.windows(marker.len()).any(|w| w == marker) {
                continue;
            }
            to_b.push_back((now + latency, buf.clone()));
        }
        // (Read each step: a timed-out peer's slot is reset with its counters.)
        if let Some(info) = a.peer_info(peer).filter(|_| run.timed_out.is_none()) {
            run.early = info.counters.early_retransmissions;
            run.rtt = info.rtt.round_trip_time;
        }
        deliver_due(&mut to_b, now, &mut b, a_addr);
        send_all(&mut b, now, &mut buf, &mut to_a, latency);
        while to_a.front().is_some_and(|(t, _)| *t <= now) {
            let (_, mut d) = to_a.pop_front().unwrap();
            if forge && measuring {
                forge_acks(&mut d, a.service_time() as u16);
            }
            a.handle_datagram(now, b_addr, &d);
        }
        while let Some(e) = b.poll_event() {
            if let Event::Receive { .. } = e {
                run.delivered += 1;
            }
        }
        while let Some(e) = a.poll_event() {
            if let Event::Disconnect { .. } = e {
                assert!(withhold && run.timed_out.is_none(), "{e:?}");
                run.timed_out = Some(ms - 500);
            }
        }
        if run.timed_out.is_some() {
            break;
        }
    }
    run
}

/// The echoed send time is the receiver's word. A receiver echoing the sender's current
/// time must gain nothing: no early copies (it would otherwise mark everything in flight
/// lost), no collapsed RTT estimate (early timeouts), and no more bytes than an honest
/// receiver costs, with early retransmission on or off.
#[test]
fn forged_acknowledgement_times_do_not_amplify_retransmission() {
    for early in [true, false] {
        let honest = delay_line_run(early, false, false);
        let forged = delay_line_run(early, true, false);
        println!(
            "early={early}: honest {} bytes, {} early copies, rtt {} ms; forged {} bytes, {} early copies, rtt {} ms",
            honest.bytes, honest.early, honest.rtt, forged.bytes, forged.early, forged.rtt
        );
        assert_eq!(honest.delivered, 600);
        assert_eq!(forged.delivered, 600);
        assert_eq!(honest.early, 0, "a lossless link needs no early copies");
        assert_eq!(forged.early, honest.early, "early={early}");
        assert!(
            forged.bytes <= honest.bytes + honest.bytes / 20,
            "early={early}: {} vs {} bytes",
            forged.bytes,
            honest.bytes
        );
        assert!(forged.rtt >= 60, "early={early}: rtt {} ms", forged.rtt);
    }
}

/// Early copies are not timeout doublings: a message that never gets through times the
/// peer out after as many timed-out transmissions with early retransmission as without
/// (its early copies only postpone its timeouts), not at its first timeout.
#[test]
fn early_copies_do_not_bring_the_timeout_limit_closer() {
    let on = delay_line_run(true, false, true);
    let off = delay_line_run(false, false, true);
    println!(
        "withheld message: timed out after {:?} ms with {} early copies (early on), {:?} ms (off)",
        on.timed_out, on.early, off.timed_out
    );
    assert_eq!(on.delivered, 0);
    assert!(on.early > 0, "early retransmission triggered");
    let (on_t, off_t) = (on.timed_out.unwrap(), off.timed_out.unwrap());
    assert!(on_t >= off_t, "{on_t} ms (early on) vs {off_t} ms (off)");
}

/// A burst of 1 KiB messages (one per datagram) leaves in the same millisecond and its
/// first datagram is lost once. Nothing is sent later, so only the acknowledgements of
/// its own burst can reveal the loss: with early retransmission the first message is
/// resent a reordering allowance after they arrive (RACK's rule for commands sent at the
/// same time), well before its retransmission timeout, which the run without it waits for.
/// Returns when the first message arrived (ms after the burst) and the early copies.
fn same_burst_loss(early: bool) -> (u32, u64) {
    use enet_proto::Host;
    use std::collections::VecDeque;
    let t0 = Instant::now();
    let mut a = Host::new(HostConfig::default(), t0).unwrap();
    let mut b = Host::new(HostConfig::default(), t0).unwrap();
    let (a_addr, b_addr): (std::net::SocketAddr, std::net::SocketAddr) =
        ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
    let peer = a.connect(t0, b_addr, 1, 0).unwrap();
    let one_way = Duration::from_millis(20);
    let mut to_b: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut to_a: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = Vec::new();
    let mut drop_first = false;
    let mut got: Vec<u8> = Vec::new();
    let mut first_at = None;
    for ms in 0..3000u32 {
        let now = t0 + Duration::from_millis(ms.into());
        if ms == 1000 {
            a.set_early_retransmit(peer, early).unwrap();
            for i in 0..16u8 {
                a.send(peer, 0, Packet::reliable(vec![i; 1024])).unwrap();
            }
            drop_first = true;
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        while a.poll_transmit(now, &mut buf).is_some() {
            if drop_first && buf.len() > 1024 {
                drop_first = false;
                continue;
            }
            to_b.push_back((now + one_way, buf.clone()));
        }
        deliver_due(&mut to_b, now, &mut b, a_addr);
        send_all(&mut b, now, &mut buf, &mut to_a, one_way);
        deliver_due(&mut to_a, now, &mut a, b_addr);
        while let Some(e) = b.poll_event() {
            if let Event::Receive { packet, .. } = e {
                got.push(packet.data[0]);
                first_at.get_or_insert(ms - 1000);
            }
        }
        while a.poll_event().is_some() {}
    }
    assert_eq!(
        got,
        (0..16).collect::<Vec<u8>>(),
        "early={early}: once, in order"
    );
    let early_copies = a.peer_info(peer).unwrap().counters.early_retransmissions;
    (first_at.unwrap(), early_copies)
}

#[test]
fn a_loss_in_the_same_burst_as_acknowledged_commands_is_resent_before_its_timeout() {
    let (early_at, early_copies) = same_burst_loss(true);
    let (late_at, late_copies) = same_burst_loss(false);
    println!("first of the burst delivered after {early_at} ms (early) vs {late_at} ms");
    assert_eq!(early_copies, 1, "one early copy");
    assert_eq!(late_copies, 0);
    // 40 ms round trip: revealed at ~40 ms, resent a few ms later, there 20 ms after that.
    assert!(early_at < 80, "{early_at} ms");
    assert!(early_at + 20 < late_at, "{early_at} vs {late_at} ms");
}
