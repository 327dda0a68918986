//! Tests of UDP GSO and GRO in the batched driver over loopback: a host's GSO messages
//! reach a socket without GRO as separate valid datagrams, a GRO host splits coalesced
//! receives and delivers every packet in order, each datagram of a coalesced message is
//! counted and size-checked on its own, and refused GSO falls back without losing data.

use super::*;
use crate::sys::SendBatch;
use std::net::UdpSocket;

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Bytes of message `k` of a test stream, `len` long.
fn payload(k: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (k * 13 + j * 7 + j / 251) as u8).collect()
}

/// Services every host in turn (and runs `between` after each round) until `done` says
/// so; every event goes to `on_event` with the index of its host. Panics after `limit`.
fn pump(
    hosts: &mut [&mut UdpHost],
    limit: Duration,
    mut between: impl FnMut(),
    mut on_event: impl FnMut(usize, Event),
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        for (i, h) in hosts.iter_mut().enumerate() {
            while let Some(ev) = h.service(Duration::ZERO).unwrap() {
                on_event(i, ev);
            }
        }
        between();
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A client connected to `server_addr` (directly or through a relay run by `between`).
fn connect(
    server: &mut UdpHost,
    client: &mut UdpHost,
    server_addr: SocketAddr,
    between: impl FnMut(),
) -> PeerId {
    let peer = client.connect(server_addr, 1, 0).unwrap();
    let up = [std::cell::Cell::new(false), std::cell::Cell::new(false)];
    pump(
        &mut [server, client],
        Duration::from_secs(10),
        between,
        |i, ev| {
            if matches!(ev, Event::Connect { .. }) {
                up[i].set(true);
            }
        },
        || up[0].get() && up[1].get(),
    );
    peer
}

/// Sends `packets` reliably from `client` and pumps until `server` delivered them all;
/// returns them in delivery order.
fn transfer(
    server: &mut UdpHost,
    client: &mut UdpHost,
    peer: PeerId,
    packets: &[Vec<u8>],
    between: impl FnMut(),
) -> Vec<Vec<u8>> {
    for p in packets {
        client
            .send(peer, 0, Packet::reliable(p.clone()))
            .expect("queued");
    }
    let mut got = Vec::new();
    let want = packets.len();
    let got_len = std::cell::Cell::new(0);
    pump(
        &mut [server, client],
        Duration::from_secs(30),
        between,
        |i, ev| {
            if let (0, Event::Receive { packet, .. }) = (i, ev) {
                got.push(packet.data.to_vec());
                got_len.set(got_len.get() + 1);
            }
        },
        || got_len.get() == want,
    );
    got
}

#[test]
fn gso_datagrams_reach_a_socket_without_gro_one_by_one() {
    // Client (GSO) → relay (a plain socket without GRO, reading one datagram per call) →
    // server with GSO off (no GRO either). Every datagram the relay reads must be one
    // ENet datagram, no longer than the MTU, and the server must rebuild every packet.
    let relay = UdpSocket::bind(localhost()).unwrap();
    relay.set_nonblocking(true).unwrap();
    let relay_addr = relay.local_addr().unwrap();
    let mut server = UdpHost::builder(localhost()).gso(false).bind().unwrap();
    // The default transit window (ENet's 64 KiB): what is in flight fits the relay's
    // default socket buffer between two relay rounds, so that no datagram is lost and the
    // counts below compare.
    let mut client = UdpHost::builder(localhost())
        .transit_window(65_536)
        .bind()
        .unwrap();
    let (server_addr, client_addr) = (server.local_addr(), client.local_addr());
    let mtu = client.config().mtu as usize;
    let mut from_client: Vec<usize> = Vec::new();
    let mut relay_round = || {
        let mut buf = [0u8; 65536];
        while let Ok((n, from)) = relay.recv_from(&mut buf) {
            let to = if from == client_addr {
                from_client.push(n);
                server_addr
            } else {
                client_addr
            };
            relay.send_to(&buf[..n], to).unwrap();
        }
    };
    let peer = connect(&mut server, &mut client, relay_addr, &mut relay_round);
    // A fragmented packet (equal MTU-sized fragments) and a stream of 1 KiB messages.
    let mut packets = vec![payload(0, 100_000)];
    packets.extend((1..200).map(|k| payload(k, 1024)));
    let got = transfer(&mut server, &mut client, peer, &packets, &mut relay_round);
    assert_eq!(got, packets, "every packet, in order, with its bytes");
    let stats = client.io_stats();
    assert!(stats.gso_sends > 0, "GSO was used: {stats:?}");
    assert_eq!(stats.gso_failures, 0);
    assert!(
        from_client.iter().all(|&n| (4..=mtu).contains(&n)),
        "{from_client:?}"
    );
    // The kernel split the GSO messages back into the engine's datagrams, one per read.
    assert_eq!(from_client.len() as u64, stats.datagrams_sent);
    assert!(stats.datagrams_sent > 100_000 / mtu as u64 + 199 / 2);
    assert_eq!(server.drop_stats().total(), 0);
    assert_eq!(server.io_stats().gro_splits, 0);
}

#[test]
fn gro_receives_are_split_and_every_packet_delivered_in_order() {
    let mut server = UdpHost::builder(localhost()).bind().unwrap();
    let mut client = UdpHost::builder(localhost()).bind().unwrap();
    let addr = server.local_addr();
    let peer = connect(&mut server, &mut client, addr, || {});
    let mut packets: Vec<Vec<u8>> = (0..300).map(|k| payload(k, 1024)).collect();
    packets.push(payload(300, 256 * 1024));
    packets.extend((301..400).map(|k| payload(k, 1024)));
    let got = transfer(&mut server, &mut client, peer, &packets, || {});
    assert_eq!(got.len(), packets.len());
    assert!(got == packets, "every packet, in order, with its bytes");
    let (sent, received) = (client.io_stats(), server.io_stats());
    assert!(sent.gso_sends > 0, "{sent:?}");
    assert!(received.gro_splits > 0, "{received:?}");
    assert_eq!(received.oversize_dropped, 0);
    assert_eq!(server.drop_stats().total(), 0);
    // Each datagram of a coalesced message counts as one.
    assert!(received.datagrams_received > received.gro_splits * 2);
    assert!(received.datagrams_received <= sent.datagrams_sent + 8);
}

#[test]
fn refused_gso_falls_back_and_still_delivers() {
    let mut server = UdpHost::builder(localhost()).bind().unwrap();
    let mut client = UdpHost::builder(localhost()).bind().unwrap();
    let addr = server.local_addr();
    let peer = connect(&mut server, &mut client, addr, || {});
    assert!(client.gso_active());
    client.fail_gso_sends();
    let packets = vec![payload(1, 64 * 1024), payload(2, 1000), payload(3, 30_000)];
    let got = transfer(&mut server, &mut client, peer, &packets, || {});
    assert_eq!(got, packets);
    let stats = client.io_stats();
    assert_eq!((stats.gso_sends, stats.gso_failures), (0, 1));
    assert!(!client.gso_active(), "GSO stays off");
}

#[test]
fn gso_off_sends_and_reads_single_datagrams() {
    let mut server = UdpHost::builder(localhost()).gso(false).bind().unwrap();
    let mut client = UdpHost::builder(localhost()).gso(false).bind().unwrap();
    assert!(!client.gso_active());
    let addr = server.local_addr();
    let peer = connect(&mut server, &mut client, addr, || {});
    let packets: Vec<_> = (0..50).map(|k| payload(k, 1024)).collect();
    assert_eq!(
        transfer(&mut server, &mut client, peer, &packets, || {}),
        packets
    );
    assert_eq!(client.io_stats().gso_sends, 0);
    assert_eq!(server.io_stats().gro_splits, 0);
}

#[test]
fn each_datagram_of_a_coalesced_message_is_checked_and_counted() {
    let mut host = UdpHost::builder(localhost()).bind().unwrap();
    // The first round turns GRO on.
    host.service(Duration::ZERO).unwrap();
    let to = host.local_addr();
    let sender = UdpSocket::bind(localhost()).unwrap();
    // One GSO message of three datagrams over ENet's largest (each dropped and counted),
    // one of four short ones (each handed to the engine, which drops them as malformed),
    // and a single oversized datagram, as before GRO.
    let mut tx = SendBatch::new(8192, true);
    for len in [4500, 4500, 4500] {
        tx.next_buf().clear();
        tx.next_buf().resize(len, 0xAB);
        tx.push(to);
    }
    let sent = tx.send(&sender, usize::MAX).unwrap();
    assert_eq!(sent, 3);
    tx.advance(sent);
    for _ in 0..4 {
        tx.next_buf().clear();
        tx.next_buf().resize(3, 0);
        tx.push(to);
    }
    let sent = tx.send(&sender, usize::MAX).unwrap();
    assert_eq!(sent, 4);
    tx.advance(sent);
    assert_eq!(tx.take_gso_counts(), (2, 0));
    sender.send_to(&[0u8; 5000], to).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.io_stats().datagrams_received < 8 {
        assert!(Instant::now() < deadline, "{:?}", host.io_stats());
        host.service(Duration::from_millis(1)).unwrap();
    }
    let stats = host.io_stats();
    assert_eq!(stats.datagrams_received, 8);
    assert_eq!(stats.oversize_dropped, 4);
    assert_eq!(stats.gro_splits, 2);
    assert_eq!(host.drop_stats().total(), 4);
}
