//! Waiting data: the per-peer limit on undelivered data, with reordering, fragments and
//! zero-length packets.

use super::*;

/// A tiny lossless driver that, unlike the testbed, lets a test leave a host's events
/// unpolled.
struct Wire {
    now: Instant,
    hosts: Vec<(SocketAddr, Host)>,
    events: Vec<Vec<Event>>,
    /// Whether each host's events are drained while time runs.
    polled: Vec<bool>,
    /// Deliver each batch of datagrams in reverse order.
    reorder: bool,
}

impl Wire {
    fn new() -> Wire {
        Wire {
            now: Instant::now(),
            hosts: Vec::new(),
            events: Vec::new(),
            polled: Vec::new(),
            reorder: false,
        }
    }

    fn add(&mut self, config: HostConfig) -> usize {
        let n = self.hosts.len();
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 0, n as u8 + 1)), 7777);
        self.hosts
            .push((addr, Host::new(config, self.now).unwrap()));
        self.events.push(Vec::new());
        self.polled.push(true);
        n
    }

    fn pump(&mut self) {
        let mut buf = Vec::new();
        loop {
            let mut moved = VecDeque::new();
            for (from, host) in self.hosts.iter_mut() {
                while let Some(to) = host.poll_transmit(self.now, &mut buf) {
                    moved.push_back((*from, to, buf.clone()));
                }
            }
            if moved.is_empty() {
                break;
            }
            if self.reorder {
                moved.make_contiguous().reverse();
            }
            for (from, to, d) in moved {
                if let Some((_, h)) = self.hosts.iter_mut().find(|(a, _)| *a == to) {
                    h.handle_datagram(self.now, from, &d);
                }
            }
        }
        for (i, (_, host)) in self.hosts.iter_mut().enumerate() {
            if self.polled[i] {
                while let Some(e) = host.poll_event() {
                    self.events[i].push(e);
                }
            }
        }
    }

    /// Runs `n` milliseconds, 1 ms at a time.
    fn run_ms(&mut self, n: u64, mut each: impl FnMut(&Wire)) {
        for _ in 0..n {
            self.now += ms(1);
            for (_, host) in self.hosts.iter_mut() {
                if host.poll_timeout().is_some_and(|t| t <= self.now) {
                    host.handle_timeout(self.now);
                }
            }
            self.pump();
            each(self);
        }
    }
}

#[test]
fn waiting_data_limit() {
    waiting_data_limit_run(false, &[1000]);
}

#[test]
fn waiting_data_limit_with_reordering_and_fragments() {
    waiting_data_limit_run(true, &[1000, 2600, 300, 4000]);
}

/// Packets without payload cost the receiver memory too (a queue entry, an event), so
/// they must count against the waiting-data limit: otherwise a peer can park an unbounded
/// number of them (unreliable packets tagged with a future reliable seq are held until that
/// seq arrives, and every (seq, unreliable seq) pair is a distinct entry).
#[test]
fn zero_length_packets_cannot_exhaust_memory() {
    const LIMIT: usize = 64 * 1024;
    let server = HostConfig::default().with_maximum_waiting_data(LIMIT);
    let mut net = Net::new(server, HostConfig::default());
    let r = net.forge_seq - 1;
    let before = net.drops();
    let mut useq = 1u16;
    for _ in 0..100 {
        let mut dg = net.hdr_no_time();
        for _ in 0..400 {
            dg = dg.unreliable(FORGE_CH, r + 1, useq, &[]);
            useq += 1;
        }
        net.inject(&dg.bytes());
    }
    let refused =
        net.drops().get(DropReason::WaitingDataLimit) - before.get(DropReason::WaitingDataLimit);
    assert!(refused > 0, "40000 empty packets were all parked");
    // The same with in-order empty packets while the application does not poll: each is
    // an event waiting in the host.
    let before = net.drops();
    let mut group = 1u16;
    for _ in 0..100 {
        let mut dg = net.hdr_no_time();
        for _ in 0..300 {
            dg = dg.unsequenced(FORGE_CH, group, &[]);
            group += 1;
        }
        net.inject(&dg.bytes());
    }
    let refused =
        net.drops().get(DropReason::WaitingDataLimit) - before.get(DropReason::WaitingDataLimit);
    assert!(refused > 0, "30000 empty events were all queued");
    // Release the parked packets: only a bounded number was kept.
    net.forge_good(b"GOOD-release");
    net.settle();
    let delivered = net.logs[0]
        .iter()
        .filter(|e| matches!(e, Event::Receive { channel_id: FORGE_CH, packet, .. } if packet.data.is_empty()))
        .count();
    assert!(
        delivered > 0 && delivered < 2 * LIMIT / 32,
        "{delivered} empty packets kept"
    );
    net.check_both_still_work();
}

/// Floods a server whose application does not poll, then lets it poll again.
fn waiting_data_limit_run(reorder: bool, sizes: &[usize]) {
    const LIMIT: usize = 8 * 1024;
    const MAX_PACKET: usize = 4096;
    const COUNT: usize = 120;
    assert!(sizes.iter().all(|&s| s <= MAX_PACKET));
    let mut w = Wire::new();
    w.reorder = reorder;
    let server = w.add(
        HostConfig::default()
            .with_maximum_waiting_data(LIMIT)
            .with_maximum_packet_size(MAX_PACKET),
    );
    let victim = w.add(HostConfig::default().with_seed(1));
    let bystander = w.add(HostConfig::default().with_seed(2));
    let saddr = w.hosts[server].0;
    let now = w.now;
    let vc = w.hosts[victim].1.connect(now, saddr, 2, 1).unwrap();
    let bc = w.hosts[bystander].1.connect(now, saddr, 2, 2).unwrap();
    w.run_ms(50, |_| {});
    let peer_of = |w: &Wire, data| {
        w.events[server].iter().find_map(|e| match e {
            Event::Connect { peer, data: d } if *d == data => Some(*peer),
            _ => None,
        })
    };
    let vs = peer_of(&w, 1).unwrap();
    let bs = peer_of(&w, 2).unwrap();
    w.events[server].clear();

    let msg = |i: usize| {
        let mut m = vec![(i % 251) as u8; sizes[i % sizes.len()]];
        m[..4].copy_from_slice(&(i as u32).to_be_bytes());
        m
    };
    // Phase 1: the server application stops polling; the victim floods it.
    w.polled[server] = false;
    for i in 0..COUNT {
        w.hosts[victim]
            .1
            .send(vc, 0, Packet::reliable(msg(i)))
            .unwrap();
    }
    let small: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("bystander-{i}").into_bytes())
        .collect();
    for m in &small {
        w.hosts[bystander]
            .1
            .send(bc, 0, Packet::reliable(m.clone()))
            .unwrap();
    }
    let mut peak = 0;
    w.run_ms(1500, |w| {
        let waiting = w.hosts[server].1.peer_info(vs).unwrap().total_waiting_data;
        peak = peak.max(waiting);
    });
    let server_host = &w.hosts[server].1;
    assert!(server_host.drop_stats().get(DropReason::WaitingDataLimit) > 0);
    assert!(peak >= LIMIT / 2, "the limit was reached ({peak})");
    // The engine's bound: the limit for delivered data, plus at most the limit and three
    // maximum-size packets held in the queues (see `Host::queue_incoming`).
    assert!(
        peak < 2 * LIMIT + 3 * MAX_PACKET,
        "undelivered data stays bounded: {peak} bytes"
    );
    // The bystander is not affected by the victim's limit.
    assert_eq!(
        server_host.peer_info(bs).unwrap().total_waiting_data,
        small.iter().map(|m| m.len()).sum::<usize>()
    );
    assert_eq!(server_host.peer_state(vs), Some(PeerState::Connected));

    // Phase 2: the application polls again; everything arrives exactly once, in order.
    w.polled[server] = true;
    let mut elapsed = 0;
    loop {
        w.run_ms(100, |_| {});
        elapsed += 100;
        let got = w.events[server]
            .iter()
            .filter(|e| matches!(e, Event::Receive { peer, .. } if *peer == vs))
            .count();
        // Reversed batches are harsh with a budget this small: every retransmission round
        // fills it with the packets furthest ahead first. Progress is slower, but steady.
        if got >= COUNT || elapsed > 60_000 {
            break;
        }
    }
    w.run_ms(100, |_| {});
    let from = |peer: PeerId| -> Vec<Vec<u8>> {
        w.events[server]
            .iter()
            .filter_map(|e| match e {
                Event::Receive {
                    peer: p, packet, ..
                } if *p == peer => Some(packet.data.to_vec()),
                _ => None,
            })
            .collect()
    };
    let expected: Vec<Vec<u8>> = (0..COUNT).map(msg).collect();
    assert_eq!(
        from(vs).len(),
        COUNT,
        "all flood messages arrive (victim {:?})",
        w.hosts[server].1.peer_info(vs)
    );
    assert!(from(vs) == expected, "in order, exactly once");
    assert_eq!(from(bs), small);
    assert_eq!(
        w.hosts[server].1.peer_info(vs).unwrap().total_waiting_data,
        0
    );
    for (h, p) in [(victim, vc), (bystander, bc)] {
        assert_eq!(w.hosts[h].1.peer_state(p), Some(PeerState::Connected));
    }
    // And the bystander still exchanges both ways.
    w.hosts[server]
        .1
        .send(bs, 1, Packet::reliable(&b"server-to-bystander"[..]))
        .unwrap();
    w.hosts[bystander]
        .1
        .send(bc, 1, Packet::reliable(&b"bystander-to-server"[..]))
        .unwrap();
    w.run_ms(100, |_| {});
    assert!(w.events[bystander].iter().any(
        |e| matches!(e, Event::Receive { packet, .. } if packet.data == b"server-to-bystander"[..])
    ));
    assert!(w.events[server].iter().any(
        |e| matches!(e, Event::Receive { packet, .. } if packet.data == b"bystander-to-server"[..])
    ));
}
