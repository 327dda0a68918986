//! Tests of receive coalescing on real sockets: a host with many sparse peers serves them in
//! batches and loses nothing; a host with one fast peer, or with coalescing turned off,
//! never holds a datagram back.

use super::tests::localhost;
use super::*;

/// A server host (slots for `peers`) and a client host with `peers` connections to it,
/// all connected; the server's peer ids in the client's connection order.
fn many_peers(peers: usize) -> (UdpHost, UdpHost, Vec<PeerId>) {
    let cfg = HostConfig::default().with_peer_count(peers);
    let mut server = UdpHost::bind(localhost(), cfg.clone()).unwrap();
    let mut client = UdpHost::bind(localhost(), cfg).unwrap();
    let cpeers: Vec<PeerId> = (0..peers)
        .map(|_| client.connect(server.local_addr(), 1, 0).unwrap())
        .collect();
    let (mut up_server, mut up_client) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while (up_server < peers || up_client < peers) && Instant::now() < deadline {
        while let Some(ev) = server.service(Duration::from_millis(1)).unwrap() {
            if let Event::Connect { .. } = ev {
                up_server += 1;
            }
        }
        while let Some(ev) = client.service(Duration::ZERO).unwrap() {
            if let Event::Connect { .. } = ev {
                up_client += 1;
            }
        }
    }
    assert_eq!((up_server, up_client), (peers, peers), "all connected");
    (server, client, cpeers)
}

/// Sends `per_peer` reliable messages on each of `peers` from a thread, paced at `rate`
/// messages a second in all (round robin, each carrying its peer's index and sequence),
/// while the server receives them: returns the server's I/O counters once every message
/// has arrived, after checking that each peer's arrived exactly once and in order.
fn paced_transfer(
    mut server: UdpHost,
    mut client: UdpHost,
    cpeers: Vec<PeerId>,
    per_peer: u32,
    rate: u64,
) -> IoStats {
    let peers = cpeers.len();
    let total = peers as u64 * u64::from(per_peer);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done_sender = done.clone();
    let sender = std::thread::spawn(move || {
        let start = Instant::now();
        for g in 0..total {
            let due = start + Duration::from_micros(g * 1_000_000 / rate);
            while Instant::now() < due {
                client
                    .service(due.saturating_duration_since(Instant::now()))
                    .unwrap();
            }
            let (c, seq) = ((g % peers as u64) as u32, (g / peers as u64) as u32);
            let mut body = c.to_le_bytes().to_vec();
            body.extend_from_slice(&seq.to_le_bytes());
            client
                .send(cpeers[c as usize], 0, Packet::reliable(body))
                .unwrap();
            client.flush().unwrap();
        }
        // Stay around for retransmissions until the server has everything.
        let end = Instant::now() + Duration::from_secs(30);
        while !done_sender.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < end {
            client.service(Duration::from_millis(5)).unwrap();
        }
    });
    let mut next = vec![0u32; peers];
    let mut got = 0u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while got < total && Instant::now() < deadline {
        while let Some(ev) = server.service(Duration::from_millis(5)).unwrap() {
            if let Event::Receive { packet, .. } = ev {
                let c = u32::from_le_bytes(packet.data[0..4].try_into().unwrap()) as usize;
                let seq = u32::from_le_bytes(packet.data[4..8].try_into().unwrap());
                assert_eq!(seq, next[c], "peer {c}: in order, exactly once");
                next[c] += 1;
                got += 1;
            }
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    assert_eq!(got, total, "every message arrived");
    server.io_stats()
}

#[test]
fn many_sparse_peers_are_served_in_batches_without_loss() {
    // 100 peers, 180 messages a second each, 18,000 in all (plus the server's acknowledgements
    // going back): a game server's traffic in small, where coalescing pays.
    let (server, client, cpeers) = many_peers(100);
    let stats = paced_transfer(server, client, cpeers, 18, 18_000);
    assert!(
        stats.coalesced_waits > 0,
        "the server never coalesced: {stats:?}"
    );
}

#[test]
fn coalescing_turned_off_never_sleeps() {
    let (mut server, client, cpeers) = many_peers(100);
    server.set_coalesce_limit(Duration::ZERO);
    assert_eq!(server.coalesce_limit(), Duration::ZERO);
    let stats = paced_transfer(server, client, cpeers, 18, 18_000);
    assert_eq!(stats.coalesced_waits, 0);
}

#[test]
fn one_fast_peer_is_never_held_back() {
    // One connection at 20,000 messages a second: a transfer or a request-reply loop, where
    // every wait for a batch would cost the peer throughput.
    let (server, client, cpeers) = many_peers(1);
    assert_eq!(server.coalesce_limit(), DEFAULT_COALESCE_LIMIT);
    let stats = paced_transfer(server, client, cpeers, 4_000, 20_000);
    assert_eq!(stats.coalesced_waits, 0, "{stats:?}");
}
