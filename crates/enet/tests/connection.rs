//! `EnetConnection` (Godot's `ENetConnection`): every public method, with Godot's error
//! cases (spec godot-enet.md §4, §9.1, §9.2), on 127.0.0.1 with ephemeral ports.
//!
//! Peer methods are in `connection_peer.rs`; IPv6, host names, the link conditioner and
//! abuse in `connection_net.rs`.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;
use enet::godot::{
    EnetConnection, EventType, HostStatistic, FLAG_RELIABLE, FLAG_UNRELIABLE_FRAGMENT,
    FLAG_UNSEQUENCED,
};
use enet::{CompressionMode, DisconnectReason, LinkConfig};

const UNCONFIGURED: i32 = 3;
const CANT_CREATE: i32 = 20;
const ALREADY_IN_USE: i32 = 22;
const CANT_CONNECT: i32 = 25;
const CANT_RESOLVE: i32 = 26;
const INVALID_PARAMETER: i32 = 31;

/// Calls every `EnetConnection` method that needs a host and checks ERR_UNCONFIGURED.
fn assert_all_unconfigured(c: &mut EnetConnection) {
    assert!(!c.is_active());
    assert_code(c.destroy(), UNCONFIGURED);
    assert_code(c.connect_to_host("127.0.0.1", 9, 0, 0), UNCONFIGURED);
    assert_code(c.service(Duration::ZERO), UNCONFIGURED);
    assert_code(c.service(Duration::from_millis(10)), UNCONFIGURED);
    assert_code(c.check_events(), UNCONFIGURED);
    assert_code(c.flush(), UNCONFIGURED);
    assert_code(c.bandwidth_limit(1, 1), UNCONFIGURED);
    assert_code(c.channel_limit(4), UNCONFIGURED);
    assert_code(c.broadcast(0, b"x", FLAG_RELIABLE), UNCONFIGURED);
    assert_code(c.compress(CompressionMode::None), UNCONFIGURED);
    assert_code(c.compress(CompressionMode::RangeCoder), UNCONFIGURED);
    assert_code(c.set_checksum(true), UNCONFIGURED);
    assert_code(c.refuse_new_connections(true), UNCONFIGURED);
    for s in [
        HostStatistic::TotalSentData,
        HostStatistic::TotalSentPackets,
        HostStatistic::TotalReceivedData,
        HostStatistic::TotalReceivedPackets,
    ] {
        assert_code(c.pop_statistic(s), UNCONFIGURED);
    }
    assert_code(c.get_max_channels(), UNCONFIGURED);
    assert_code(c.get_local_port(), UNCONFIGURED);
    assert_code(c.local_addr(), UNCONFIGURED);
    assert_code(c.socket_send("127.0.0.1", 9, b"x"), UNCONFIGURED);
    assert_code(
        c.set_link_conditioner(Some(LinkConfig::new()), None),
        UNCONFIGURED,
    );
    assert!(c.get_peers().is_empty(), "Godot returns an empty array");
    assert!(c.udp_host().is_none());
    assert_code(c.link_conditioner_stats(), UNCONFIGURED);
    assert_code(c.set_busy_poll_limit(Duration::ZERO), UNCONFIGURED);
}

#[test]
fn inactive_connection_methods_are_unconfigured() {
    let mut c = EnetConnection::new();
    assert_all_unconfigured(&mut c);
    let mut d = EnetConnection::default();
    assert_all_unconfigured(&mut d);
    assert!(format!("{c:?}").contains("false"));
}

#[test]
fn destroyed_connection_is_unconfigured_and_its_peers_inactive() {
    let (mut server, port) = server(4, 0);
    let mut c = client();
    let (cpeer, speer) = connect(&mut server, &mut c, port, 2, 0);
    c.peer(cpeer).send(0, b"queued", FLAG_RELIABLE).unwrap();
    c.destroy().unwrap();
    assert_all_unconfigured(&mut c);
    let mut p = c.peer(cpeer);
    assert!(!p.is_active());
    assert_eq!(p.get_state(), enet::PeerState::Disconnected);
    assert_eq!(p.get_available_packet_count(), 0);
    assert_code(p.send(0, b"x", FLAG_RELIABLE), UNCONFIGURED);
    assert_code(p.get_packet(), UNCONFIGURED);
    assert!(matches!(
        p.send(0, b"x", 0).unwrap_err(),
        enet::Error::PeerInactive
    ));
    // No disconnect is sent on destroy (Godot/ENet): the server's peer is still connected.
    let log = drain(&mut [&mut server], Duration::from_millis(100));
    assert!(log[0].is_empty(), "{log:?}");
    assert_eq!(server.peer(speer).get_state(), enet::PeerState::Connected);
}

#[test]
fn create_twice_destroy_twice_and_recreate() {
    let mut c = EnetConnection::new();
    c.create_host(32, 0, 0, 0).unwrap();
    assert!(c.is_active());
    assert_eq!(c.get_max_channels().unwrap(), 255, "0 channels means 255");
    assert_code(c.create_host(32, 0, 0, 0), ALREADY_IN_USE);
    assert_code(
        c.create_host_bound("127.0.0.1", 0, 32, 0, 0, 0),
        ALREADY_IN_USE,
    );
    // Godot checks the bind address before anything else.
    assert_code(
        c.create_host_bound("nonsense", 0, 32, 0, 0, 0),
        INVALID_PARAMETER,
    );
    // Still the first host.
    assert!(c.is_active());
    c.destroy().unwrap();
    assert_code(c.destroy(), UNCONFIGURED);
    assert_code(c.get_max_channels(), UNCONFIGURED);
    c.create_host(1, 7, 0, 0).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 7);
    c.destroy().unwrap();
    c.create_host_bound("127.0.0.1", 0, 2, 3, 0, 0).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 3);
    c.destroy().unwrap();
}

#[test]
fn create_parameter_validation() {
    let mut c = EnetConnection::new();
    for peers in [0usize, 4096, 100_000, usize::MAX] {
        assert_code(c.create_host(peers, 0, 0, 0), INVALID_PARAMETER);
        assert_code(
            c.create_host_bound("127.0.0.1", 0, peers, 0, 0, 0),
            INVALID_PARAMETER,
        );
        assert!(
            !c.is_active(),
            "a failed create leaves the connection inactive"
        );
    }
    for channels in [256usize, 1000, usize::MAX] {
        assert_code(c.create_host(32, channels, 0, 0), INVALID_PARAMETER);
        assert_code(
            c.create_host_bound("127.0.0.1", 0, 32, channels, 0, 0),
            INVALID_PARAMETER,
        );
        assert!(!c.is_active());
    }
    for addr in [
        "1.2.3",
        "nonsense",
        "localhost",
        "",
        "1.2.3.4.5",
        "300.1.1.1",
        "::g",
        "1.2.3.x",
    ] {
        assert_code(c.create_host_bound(addr, 0, 32, 0, 0, 0), INVALID_PARAMETER);
        assert!(!c.is_active(), "{addr:?}");
    }
    // The extremes that are valid.
    c.create_host(4095, 255, u32::MAX, u32::MAX).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 255);
    assert_eq!(c.udp_host().unwrap().peer_count(), 4095);
    c.destroy().unwrap();
    c.create_host_bound("127.0.0.1", 0, 1, 1, 0, 0).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 1);
    assert_eq!(c.udp_host().unwrap().peer_count(), 1);
}

#[test]
fn port_in_use_is_cant_create() {
    let (_first, port) = server(4, 0);
    let mut c = EnetConnection::new();
    assert_code(
        c.create_host_bound("127.0.0.1", port, 4, 0, 0, 0),
        CANT_CREATE,
    );
    assert!(!c.is_active());
    // A port held by some other UDP socket.
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port2 = other.local_addr().unwrap().port();
    assert_code(
        c.create_host_bound("127.0.0.1", port2, 4, 0, 0, 0),
        CANT_CREATE,
    );
    // The wildcard conflicts with a specific address on the same port, too (Linux).
    assert_code(c.create_host_bound("*", port2, 4, 0, 0, 0), CANT_CREATE);
    assert!(!c.is_active());
    drop(other);
    // An address this machine does not have cannot be bound.
    assert_code(c.create_host_bound("192.0.2.1", 0, 4, 0, 0, 0), CANT_CREATE);
}

#[test]
fn channel_limits() {
    let mut c = EnetConnection::new();
    c.create_host(8, 8, 0, 0).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 8);
    c.channel_limit(12).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 12);
    c.channel_limit(16).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 16);
    c.channel_limit(0).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 255);
    c.channel_limit(1).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 1);
    c.channel_limit(255).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 255);
    c.channel_limit(256).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 255, "above 255 means 255");
    c.channel_limit(usize::MAX).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 255);
    c.destroy().unwrap();
    c.create_host(10, 2, 0, 0).unwrap();
    c.channel_limit(4).unwrap();
    assert_eq!(c.get_max_channels().unwrap(), 4);
    assert_eq!(c.udp_host().unwrap().config().channel_limit, 4);
}

#[test]
fn channel_count_negotiation() {
    // Negotiated count = min(client request, server limit); 0 requests 255.
    let (mut s, port) = server(8, 4);
    let mut seen = Vec::new();
    for request in [8usize, 2, 0, 4, 1] {
        let mut c = client();
        let (cpeer, speer) = connect(&mut s, &mut c, port, request, request as u32);
        let want = if request == 0 { 4 } else { request.min(4) };
        assert_eq!(c.peer(cpeer).get_channels().unwrap(), want, "{request}");
        assert_eq!(s.peer(speer).get_channels().unwrap(), want, "{request}");
        seen.push((c, speer, want));
    }
    // channel_limit affects only future connections.
    s.channel_limit(6).unwrap();
    let mut c = client();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 8, 0);
    assert_eq!(c.peer(cpeer).get_channels().unwrap(), 6);
    assert_eq!(s.peer(speer).get_channels().unwrap(), 6);
    for (_, speer, want) in &seen {
        assert_eq!(s.peer(*speer).get_channels().unwrap(), *want);
    }
    // A client asking for 0 channels of an unlimited server gets 255.
    let (mut s2, port2) = server(2, 0);
    let mut c2 = client();
    let (cpeer, speer) = connect(&mut s2, &mut c2, port2, 0, 0);
    assert_eq!(c2.peer(cpeer).get_channels().unwrap(), 255);
    assert_eq!(s2.peer(speer).get_channels().unwrap(), 255);
}

#[test]
fn get_local_port_bound_and_ephemeral() {
    // A specific port: find a free one, then bind it.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    let free = probe.local_addr().unwrap().port();
    drop(probe);
    let mut c = EnetConnection::new();
    c.create_host_bound("127.0.0.1", free, 4, 0, 0, 0).unwrap();
    assert_eq!(c.get_local_port().unwrap(), free);
    assert_eq!(
        c.local_addr().unwrap(),
        format!("127.0.0.1:{free}").parse().unwrap()
    );
    c.destroy().unwrap();
    // Port 0: the actual ephemeral port.
    c.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0).unwrap();
    assert!(c.get_local_port().unwrap() > 0);
    c.destroy().unwrap();
    c.create_host_bound("*", 0, 4, 0, 0, 0).unwrap();
    assert!(c.get_local_port().unwrap() > 0);
    c.destroy().unwrap();
    // Unbound (create_host): this implementation binds an ephemeral port at once (Godot
    // reports 0 until the first send).
    c.create_host(4, 0, 0, 0).unwrap();
    assert!(c.get_local_port().unwrap() > 0);
}

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
fn bandwidth_limits_reach_the_remote() {
    // Bandwidths given at creation travel in CONNECT / VERIFY_CONNECT.
    let mut s = EnetConnection::new();
    s.create_host_bound("127.0.0.1", 0, 4, 0, 300_000, 200_000)
        .unwrap();
    let port = s.get_local_port().unwrap();
    let mut c = EnetConnection::new();
    c.create_host_bound("127.0.0.1", 0, 1, 0, 12_345, 154_321)
        .unwrap();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 1, 0);
    let sinfo = s
        .udp_host()
        .unwrap()
        .peer_info(s.native_peer_id(speer).unwrap())
        .unwrap();
    assert_eq!(
        (
            sinfo.bandwidth.incoming_bandwidth,
            sinfo.bandwidth.outgoing_bandwidth
        ),
        (12_345, 154_321)
    );
    let cinfo = c
        .udp_host()
        .unwrap()
        .peer_info(c.native_peer_id(cpeer).unwrap())
        .unwrap();
    assert_eq!(
        (
            cinfo.bandwidth.incoming_bandwidth,
            cinfo.bandwidth.outgoing_bandwidth
        ),
        (300_000, 200_000)
    );

    // bandwidth_limit changes ours and tells the peers (BANDWIDTH_LIMIT, within ~1 s). The
    // incoming figure sent is this peer's share of ours (ENet gives a peer whose own upload
    // is below its share that upload instead; 154_321 is above the share here).
    s.bandwidth_limit(100_000, 50_000).unwrap();
    assert_eq!(s.udp_host().unwrap().config().incoming_bandwidth, 100_000);
    assert_eq!(s.udp_host().unwrap().config().outgoing_bandwidth, 50_000);
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        drain(&mut [&mut s, &mut c], Duration::from_millis(20));
        let i = c
            .udp_host()
            .unwrap()
            .peer_info(c.native_peer_id(cpeer).unwrap())
            .unwrap();
        if (
            i.bandwidth.incoming_bandwidth,
            i.bandwidth.outgoing_bandwidth,
        ) == (100_000, 50_000)
        {
            break;
        }
        assert!(Instant::now() < end, "BANDWIDTH_LIMIT not seen: {i:?}");
    }
    // 0 = unlimited, and Godot does no sign validation (u32 here): u32::MAX is accepted.
    s.bandwidth_limit(0, u32::MAX).unwrap();
    assert_eq!(s.udp_host().unwrap().config().outgoing_bandwidth, u32::MAX);
    // Traffic still flows.
    c.peer(cpeer).send(0, b"still here", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, _, ev| i == 0
        && ev.kind == EventType::Receive));
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
fn compression_modes_exchange_data_and_must_match() {
    // Both sides with the range coder: data flows and the wire carries fewer bytes.
    let (mut s, port) = server(4, 0);
    let mut c = client();
    s.compress(CompressionMode::RangeCoder).unwrap();
    c.compress(CompressionMode::RangeCoder).unwrap();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 2, 0);
    drain(&mut [&mut s, &mut c], Duration::from_millis(20));
    c.flush().unwrap();
    pop_all(&mut c);
    let text: Vec<u8> = b"ENet range coder over loopback. ".repeat(30);
    c.peer(cpeer).send(1, &text, FLAG_RELIABLE).unwrap();
    c.flush().unwrap();
    let [sent_data, sent_packets, _, _] = pop_all(&mut c);
    assert_eq!(sent_packets, 1);
    assert!(
        (sent_data as usize) < text.len() / 2,
        "{sent_data} bytes on the wire for {} bytes of text",
        text.len()
    );
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind, ev.channel), (0, EventType::Receive, 1));
        assert_eq!(conn.peer(speer).get_packet().unwrap(), &text[..]);
        true
    }));
    // Back to no compression on both sides, mid-connection.
    s.compress(CompressionMode::None).unwrap();
    c.compress(CompressionMode::None).unwrap();
    s.peer(speer).send(0, &text, FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (1, EventType::Receive));
        assert_eq!(conn.peer(cpeer).get_packet().unwrap(), &text[..]);
        true
    }));

    // Only the server compresses: the client cannot read the compressed datagram, drops
    // it, and no packet is delivered.
    s.compress(CompressionMode::RangeCoder).unwrap();
    s.peer(speer).send(0, &text, FLAG_RELIABLE).unwrap();
    let log = drain(&mut [&mut s, &mut c], Duration::from_millis(100));
    assert!(log[1].is_empty(), "{:?}", log[1]);
    assert!(
        c.udp_host()
            .unwrap()
            .drop_stats()
            .get(enet_proto::DropReason::NoDecompressor)
            >= 1
    );
    // Agreeing again, the retransmission gets through.
    c.compress(CompressionMode::RangeCoder).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (1, EventType::Receive));
        assert_eq!(conn.peer(cpeer).get_packet().unwrap(), &text[..]);
        true
    }));
}

#[test]
fn checksum_on_both_sides_works_and_mismatch_is_dropped() {
    let (mut s, port) = server(4, 0);
    let mut c = client();
    s.set_checksum(true).unwrap();
    c.set_checksum(true).unwrap();
    let (cpeer, _) = connect(&mut s, &mut c, port, 1, 0);
    c.peer(cpeer).send(0, b"crc", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        assert_eq!(
            &conn.peer(ev.peer.unwrap()).get_packet().unwrap()[..],
            b"crc"
        );
        true
    }));
    c.set_checksum(false).unwrap();
    s.set_checksum(false).unwrap();

    let (mut s2, port2) = server(4, 0);
    s2.set_checksum(true).unwrap();
    let mut c2 = client();
    c2.connect_to_host("127.0.0.1", port2, 1, 0).unwrap();
    let log = drain(&mut [&mut s2, &mut c2], Duration::from_millis(200));
    assert!(log[0].is_empty() && log[1].is_empty(), "{log:?}");
    assert!(
        s2.udp_host()
            .unwrap()
            .drop_stats()
            .get(enet_proto::DropReason::ChecksumMismatch)
            >= 1
    );
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

#[test]
fn pop_statistic_fresh_host_is_zero() {
    let mut c = EnetConnection::new();
    c.create_host(4, 0, 0, 0).unwrap();
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);
    c.service(Duration::from_millis(5)).unwrap();
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);
}

#[test]
fn pop_statistic_exact_after_known_exchange() {
    const N: usize = 20;
    const SIZE: usize = 100;
    let (mut s, port) = server(4, 0);
    let mut c = client();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 1, 0);
    // Let the handshake's acknowledgements settle.
    drain(&mut [&mut s, &mut c], Duration::from_millis(30));

    // Whole lifetime so far: what one side sent, the other received (no loss on
    // loopback), and popping equals the engine's totals.
    let st = s.udp_host().unwrap().totals();
    let ct = c.udp_host().unwrap().totals();
    let sp = pop_all(&mut s);
    let cp = pop_all(&mut c);
    assert_eq!(
        sp,
        [
            st.sent_data,
            st.sent_packets,
            st.received_data,
            st.received_packets
        ]
    );
    assert_eq!(
        cp,
        [
            ct.sent_data,
            ct.sent_packets,
            ct.received_data,
            ct.received_packets
        ]
    );
    assert_eq!(
        (cp[0], cp[1]),
        (sp[2], sp[3]),
        "client sent = server received"
    );
    assert_eq!(
        (sp[0], sp[1]),
        (cp[2], cp[3]),
        "server sent = client received"
    );
    assert!(
        cp[1] >= 2 && sp[1] >= 1,
        "CONNECT, ACK / VERIFY_CONNECT: {cp:?} {sp:?}"
    );
    // Popping reset them.
    assert_eq!(pop_all(&mut s), [0, 0, 0, 0]);
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);

    // N reliable packets, each flushed into its own datagram: exactly N datagrams of
    // 4 (header with sent time) + 6 (SEND_RELIABLE) + SIZE bytes.
    for k in 0..N {
        c.peer(cpeer)
            .send(0, &[k as u8; SIZE], FLAG_RELIABLE)
            .unwrap();
        c.flush().unwrap();
    }
    assert_eq!(pop_all(&mut c), [(N * (10 + SIZE)) as u64, N as u64, 0, 0]);
    let mut got = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        assert_eq!(
            &conn.peer(speer).get_packet().unwrap()[..],
            &[got as u8; SIZE]
        );
        got += 1;
        got == N
    }));
    // Graceful disconnect; run both until they are quiet.
    c.peer(cpeer).peer_disconnect(99).unwrap();
    let mut downs = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |_, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect);
        downs += 1;
        downs == 2
    }));
    drain(&mut [&mut s, &mut c], Duration::from_millis(50));
    let sp = pop_all(&mut s);
    let mut cp = pop_all(&mut c);
    // Add the N datagrams popped above.
    cp[0] += (N * (10 + SIZE)) as u64;
    cp[1] += N as u64;
    assert_eq!(
        (cp[0], cp[1]),
        (sp[2], sp[3]),
        "client→server: {cp:?} {sp:?}"
    );
    assert_eq!(
        (sp[0], sp[1]),
        (cp[2], cp[3]),
        "server→client: {cp:?} {sp:?}"
    );
    // The client sent at least the N packets and the DISCONNECT (4 + 8 bytes).
    assert!(
        cp[1] > N as u64 && cp[0] >= (N * (10 + SIZE) + 12) as u64,
        "{cp:?}"
    );
    // The server acknowledged N packets and the DISCONNECT: N + 1 ACK commands of 8 bytes,
    // in datagrams with at least a 2-byte header.
    assert!(
        sp[1] >= 1 && sp[0] >= 8 * (N as u64 + 1) + 2 * sp[1],
        "{sp:?}"
    );
    // Nothing more happens once both are disconnected.
    drain(&mut [&mut s, &mut c], Duration::from_millis(30));
    assert_eq!(pop_all(&mut s), [0, 0, 0, 0]);
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);
}

#[test]
fn get_peers_lists_connecting_connected_and_prunes_on_service() {
    let (mut s, port) = server(4, 0);
    assert!(s.get_peers().is_empty());
    let mut c = client();
    let cpeer = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    assert_eq!(c.get_peers(), vec![cpeer], "connecting peers are listed");
    assert_eq!(c.peer(cpeer).get_state(), enet::PeerState::Connecting);
    let (_, speer) = finish_connect(&mut s, &mut c, cpeer, 0);
    assert_eq!(s.get_peers(), vec![speer]);
    assert_eq!(c.get_peers(), vec![cpeer]);

    let mut c2 = client();
    let (_, speer2) = connect(&mut s, &mut c2, port, 1, 0);
    assert_eq!(s.get_peers(), vec![speer, speer2]);

    // disconnect_now: inactive at once, but listed until the next service (Godot prunes
    // the list at the start of service).
    s.peer(speer).peer_disconnect_now(0).unwrap();
    assert_eq!(s.get_peers(), vec![speer, speer2]);
    s.service(Duration::ZERO).unwrap();
    assert_eq!(s.get_peers(), vec![speer2]);
    // A graceful disconnect: listed (disconnecting) until its DISCONNECT event.
    s.peer(speer2).peer_disconnect(0).unwrap();
    assert_eq!(s.get_peers(), vec![speer2]);
    assert!(pump(&mut [&mut s, &mut c2], T, |i, _, ev| {
        i == 0 && ev.kind == EventType::Disconnect
    }));
    assert!(s.get_peers().is_empty());
}

#[test]
fn connect_to_host_errors() {
    let (mut s, port) = server(4, 0);
    let mut c = client();
    assert_code(c.connect_to_host("127.0.0.1", 0, 1, 0), INVALID_PARAMETER);
    assert_code(
        c.connect_to_host("no-such-host.invalid", port, 1, 0),
        CANT_RESOLVE,
    );
    assert_code(c.connect_to_host("", port, 1, 0), CANT_RESOLVE);
    assert!(c.get_peers().is_empty(), "failed attempts leave no peer");
    let cpeer = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    // One outgoing connection per ENetConnection, even while it is still connecting.
    assert_code(c.connect_to_host("127.0.0.1", port, 1, 0), CANT_CONNECT);
    let (_, speer) = finish_connect(&mut s, &mut c, cpeer, 0);
    assert_code(c.connect_to_host("127.0.0.1", port, 1, 0), CANT_CONNECT);
    // A host with incoming peers cannot initiate either.
    let (_, other_port) = server(1, 0);
    assert_code(
        s.connect_to_host("127.0.0.1", other_port, 1, 0),
        CANT_CONNECT,
    );
    // Once the peer is gone (and pruned by service), a new connection may start.
    s.peer(speer).peer_disconnect(0).unwrap();
    let mut downs = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |_, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect);
        downs += 1;
        downs == 2
    }));
    let again = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    assert_ne!(again, cpeer, "a new handle, not the old one");
    assert!(!c.peer(cpeer).is_active());
    finish_connect(&mut s, &mut c, again, 0);
}

#[test]
fn connect_to_host_channel_count_clamps_like_enet() {
    // Godot passes the count to ENet, which clamps it to 1..=255.
    let (mut s, port) = server(4, 0);
    let mut c = client();
    let cpeer = c.connect_to_host("127.0.0.1", port, 300, 0).unwrap();
    assert_eq!(c.peer(cpeer).get_channels().unwrap(), 255);
    let (_, speer) = finish_connect(&mut s, &mut c, cpeer, 0);
    assert_eq!(s.peer(speer).get_channels().unwrap(), 255);
}

#[test]
fn connect_to_a_silent_port_times_out() {
    // Nobody answers: the client's peer times out (short timeouts keep this fast) and a
    // DISCONNECT event with reason Timeout follows.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = client();
    let cpeer = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    c.peer(cpeer).set_timeout(1, 100, 200).unwrap();
    let t0 = Instant::now();
    assert!(pump(&mut [&mut c], T, |_, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect);
        assert_eq!(ev.peer, Some(cpeer));
        assert_eq!(ev.reason, Some(DisconnectReason::Timeout));
        true
    }));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(!c.peer(cpeer).is_active());
    assert!(c.get_peers().is_empty());
}

#[test]
fn set_link_conditioner_and_engine_accessors() {
    let (mut s, _) = server(4, 0);
    s.set_link_conditioner(Some(LinkConfig::new().with_loss(0.1)), None)
        .unwrap();
    s.set_link_conditioner(None, Some(LinkConfig::new()))
        .unwrap();
    s.set_link_conditioner(None, None).unwrap();
    s.set_busy_poll_limit(Duration::ZERO).unwrap();
    s.set_busy_poll_limit(Duration::from_micros(20)).unwrap();
    let e = s.udp_host().unwrap();
    assert_eq!(e.peer_count(), 4);
    assert_eq!(e.connected_peers(), 0);
}

#[test]
fn link_conditioner_stats_count_what_the_conditioner_did() {
    let (_s, port) = server(4, 0);
    let mut c = client();
    assert!(c.link_conditioner_stats().unwrap().is_none());
    // Everything this client sends is lost: its CONNECT attempts never reach the server.
    c.set_link_conditioner(Some(LinkConfig::new().with_loss(1.0)), None)
        .unwrap();
    c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    // Wait for the first CONNECT and its retransmission (due after 500 ms).
    let end = Instant::now() + Duration::from_secs(5);
    let sent = |c: &EnetConnection| c.link_conditioner_stats().unwrap().unwrap().0.sent;
    while sent(&c) < 2 && Instant::now() < end {
        c.service(Duration::from_millis(50)).unwrap();
    }
    let (out, inc) = c
        .link_conditioner_stats()
        .unwrap()
        .expect("a conditioner is set");
    assert!(out.sent >= 2, "{out:?}");
    assert_eq!(out.dropped_loss, out.sent, "{out:?}");
    assert_eq!(out.delivered, 0, "{out:?}");
    assert_eq!(inc.sent, 0, "nothing came back: {inc:?}");
    c.set_link_conditioner(None, None).unwrap();
    assert!(c.link_conditioner_stats().unwrap().is_none());
}
