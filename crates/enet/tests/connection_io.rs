//! `EnetConnection` (Godot's `ENetConnection`): the host's input and output, on 127.0.0.1 with
//! ephemeral ports: raw datagrams (`socket_send` and strangers' datagrams), `service`
//! waiting and returning early, `check_events` without I/O, `flush`, `broadcast` and
//! `refuse_new_connections`. The host's life cycle is in `connection.rs`.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;
use enet::godot::{
    EnetConnection, EventType, HostStatistic, FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT,
    FLAG_UNSEQUENCED,
};
use enet::CompressionMode;

#[test]
fn socket_send_delivers_exact_raw_bytes() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(T)).unwrap();
    let rx_port = rx.local_addr().unwrap().port();
    let mut buf = [0u8; 4096];

    let payloads: [&[u8]; 4] = [&[0x20, 0x21], &[], &[0; 1], &[0xAB; 1400]];
    for bind in ["127.0.0.1", "*"] {
        let mut c = EnetConnection::new();
        c.create_host_bound(bind, 0, 4, 0, 0, 0).unwrap();
        let port = c.get_local_port().unwrap();
        for p in payloads {
            c.socket_send("127.0.0.1", rx_port, p).unwrap();
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], p, "bind {bind}");
            assert_eq!(from.port(), port, "sent from the host's own socket");
            assert!(from.ip().is_loopback());
        }
        // By host name, too (an IPv4 socket picks the IPv4 result).
        if bind == "127.0.0.1" {
            c.socket_send("localhost", rx_port, b"named").unwrap();
            let (n, _) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"named");
        }
        // Raw sends bypass ENet's counters.
        assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);

        assert_code(c.socket_send("127.0.0.1", 0, b"x"), INVALID_PARAMETER);
        assert_code(
            c.socket_send("no-such-host.invalid", rx_port, b"x"),
            CANT_RESOLVE,
        );
    }
}

#[test]
fn raw_datagrams_to_a_host_give_no_event_but_count() {
    // Spec §9.2.3: bytes sent with socket_send are not ENet datagrams; the receiving host
    // counts them and drops them.
    let (mut s, port) = server(4, 0);
    let mut c = client();
    pop_all(&mut s);
    c.socket_send("127.0.0.1", port, &[0x20, 0x21, 0x22])
        .unwrap();
    c.socket_send("127.0.0.1", port, &[0xFF; 100]).unwrap();
    let mut log = drain(&mut [&mut s], Duration::from_millis(100));
    assert!(log.pop().unwrap().is_empty());
    assert_eq!(pop_all(&mut s), [0, 0, 103, 2]);
    assert!(s.udp_host().unwrap().drop_stats().total() >= 2);
}

#[test]
fn service_on_idle_host_waits_without_spinning() {
    let (mut s, _) = server(4, 0);
    let t0 = Instant::now();
    assert_eq!(s.service(Duration::ZERO).unwrap().kind, EventType::None);
    assert!(t0.elapsed() < Duration::from_millis(50));
    for ms in [50u64, 400] {
        let timeout = Duration::from_millis(ms);
        let cpu0 = thread_cpu_time();
        let t0 = Instant::now();
        let ev = s.service(timeout).unwrap();
        let elapsed = t0.elapsed();
        assert_eq!(ev.kind, EventType::None);
        assert_eq!(ev.peer, None);
        assert!(elapsed >= timeout.mul_f64(0.9), "{ms} ms: {elapsed:?}");
        assert!(
            elapsed < timeout + Duration::from_millis(250),
            "{ms} ms: {elapsed:?}"
        );
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_time()) {
            // A busy wait would burn ~`timeout` of CPU; sleeping burns next to nothing.
            assert!(
                b - a <= timeout / 4 + Duration::from_millis(20),
                "{ms} ms service used {:?} CPU",
                b - a
            );
        }
    }
}

#[test]
fn service_returns_early_when_an_event_arrives() {
    let mut p = Pair::new(0, 1);
    p.client
        .peer(p.cpeer)
        .send(0, b"wake", FLAG_RELIABLE)
        .unwrap();
    p.client.flush().unwrap();
    let t0 = Instant::now();
    let ev = p.server.service(Duration::from_secs(3)).unwrap();
    assert_eq!(ev.kind, EventType::Receive);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[test]
fn check_events_drains_queued_events_without_io() {
    let (mut s, _) = server(4, 0);
    assert_eq!(s.check_events().unwrap().kind, EventType::None);

    let mut p = Pair::new(0, 2);
    assert_eq!(p.server.check_events().unwrap().kind, EventType::None);
    for k in 0..3u8 {
        p.client
            .peer(p.cpeer)
            .send(1, &[k; 5], FLAG_RELIABLE)
            .unwrap();
    }
    // All three go out in one datagram.
    p.client.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let first = p.server.service(Duration::from_secs(2)).unwrap();
    assert_eq!(first.kind, EventType::Receive);
    assert_eq!((first.peer, first.channel), (Some(p.speer), 1));
    for _ in 0..2 {
        let ev = p.server.check_events().unwrap();
        assert_eq!(ev.kind, EventType::Receive);
        assert_eq!((ev.peer, ev.channel), (Some(p.speer), 1));
    }
    assert_eq!(p.server.check_events().unwrap().kind, EventType::None);
    let mut peer = p.server.peer(p.speer);
    assert_eq!(peer.get_available_packet_count(), 3);
    for k in 0..3u8 {
        assert_eq!(&peer.get_packet().unwrap()[..], &[k; 5]);
    }
    // check_events does no I/O: a datagram sent now is not seen by it.
    p.client
        .peer(p.cpeer)
        .send(0, b"later", FLAG_RELIABLE)
        .unwrap();
    p.client.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(p.server.check_events().unwrap().kind, EventType::None);
    assert_eq!(
        p.server.service(Duration::from_secs(2)).unwrap().kind,
        EventType::Receive
    );
}

#[test]
fn flush_sends_without_service() {
    let mut p = Pair::new(0, 1);
    p.client.flush().unwrap();
    pop_all(&mut p.client);
    p.client
        .peer(p.cpeer)
        .send(0, b"flushed", FLAG_RELIABLE)
        .unwrap();
    // Queued only: nothing on the wire yet.
    assert_eq!(
        p.client
            .pop_statistic(HostStatistic::TotalSentPackets)
            .unwrap(),
        0.0
    );
    p.client.flush().unwrap();
    // One datagram: 4-byte header with sent time + SEND_RELIABLE (4 + 2) + 7 payload bytes.
    assert_eq!(pop_all(&mut p.client), [4 + 6 + 7, 1, 0, 0]);
    let ev = p.server.service(T).unwrap();
    assert_eq!(ev.kind, EventType::Receive);
    assert_eq!(
        &p.server.peer(p.speer).get_packet().unwrap()[..],
        b"flushed"
    );
    // Flushing with nothing queued sends nothing.
    p.client.flush().unwrap();
    assert_eq!(
        p.client
            .pop_statistic(HostStatistic::TotalSentPackets)
            .unwrap(),
        0.0
    );
}

#[test]
fn broadcast_validation_and_delivery() {
    // No peers: accepted, nothing happens (spec §9.1.8), in every compression mode.
    let (mut lone, _) = server(4, 0);
    for mode in [CompressionMode::None, CompressionMode::RangeCoder] {
        lone.compress(mode).unwrap();
        lone.broadcast(0, b"nobody", FLAG_UNRELIABLE_FRAGMENT)
            .unwrap();
        assert_eq!(lone.service(Duration::ZERO).unwrap().kind, EventType::None);
    }
    assert_eq!(
        lone.pop_statistic(HostStatistic::TotalSentPackets).unwrap(),
        0.0
    );

    let (mut s, port) = server(8, 4);
    let mut a = client();
    let mut b = client();
    let mut narrow = client();
    let (apeer, _) = connect(&mut s, &mut a, port, 4, 1);
    let (bpeer, _) = connect(&mut s, &mut b, port, 4, 2);
    let (npeer, _) = connect(&mut s, &mut narrow, port, 2, 3);

    for ch in [4u8, 5, 255] {
        assert_code(s.broadcast(ch, b"x", FLAG_RELIABLE), INVALID_PARAMETER);
    }
    for flags in [4u32, 16, 0x100, 1 | 4, u32::MAX] {
        assert_code(s.broadcast(0, b"x", flags), INVALID_PARAMETER);
    }
    // Channel 3: a and b receive; `narrow` has only 2 channels and is skipped silently.
    s.broadcast(3, b"hello all", FLAG_RELIABLE).unwrap();
    s.broadcast(0, b"unseq", FLAG_UNSEQUENCED).unwrap();
    let mut got: Vec<(usize, u8, Vec<u8>, u32)> = Vec::new();
    pump(
        &mut [&mut s, &mut a, &mut b, &mut narrow],
        Duration::from_millis(500),
        |i, c, ev| {
            assert_eq!(ev.kind, EventType::Receive, "conn {i}: {ev:?}");
            let (data, ch, flags) = c.peer(ev.peer.unwrap()).get_packet_with_info().unwrap();
            assert_eq!(ch, ev.channel);
            got.push((i, ch, data.to_vec(), flags));
            false
        },
    );
    got.sort();
    assert_eq!(
        got,
        vec![
            (1, 0, b"unseq".to_vec(), FLAG_UNSEQUENCED),
            (1, 3, b"hello all".to_vec(), FLAG_RELIABLE),
            (2, 0, b"unseq".to_vec(), FLAG_UNSEQUENCED),
            (2, 3, b"hello all".to_vec(), FLAG_RELIABLE),
            (3, 0, b"unseq".to_vec(), FLAG_UNSEQUENCED),
        ]
    );
    for (conn, peer) in [(&mut a, apeer), (&mut b, bpeer), (&mut narrow, npeer)] {
        assert_eq!(conn.peer(peer).get_available_packet_count(), 0);
    }
}

#[test]
fn refuse_new_connections() {
    let (mut s, port) = server(4, 0);
    let mut old = client();
    let (opeer, _) = connect(&mut s, &mut old, port, 1, 0);
    s.refuse_new_connections(true).unwrap();
    assert!(s.udp_host().unwrap().is_refusing_new_connections());

    let mut c = client();
    let cpeer = c.connect_to_host("127.0.0.1", port, 1, 5).unwrap();
    let log = drain(&mut [&mut s, &mut c], Duration::from_millis(200));
    assert!(log[0].is_empty() && log[1].is_empty(), "{log:?}");
    assert_eq!(c.peer(cpeer).get_state(), enet::PeerState::Connecting);
    assert!(
        s.udp_host()
            .unwrap()
            .drop_stats()
            .get(enet_proto::DropReason::ConnectRefused)
            >= 1
    );
    // Established peers are not affected.
    old.peer(opeer).send(0, b"old", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut old], T, |i, _, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        true
    }));
    // Accepting again: the client's retransmitted CONNECT gets through.
    s.refuse_new_connections(false).unwrap();
    finish_connect(&mut s, &mut c, cpeer, 5);
}
