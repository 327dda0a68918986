//! `EnetConnection` (Godot's `ENetConnection`): the host's life cycle and configuration, with
//! Godot's error cases (spec godot-enet.md §4, §9.1, §9.2), on 127.0.0.1 with ephemeral ports:
//! methods without a host, create and destroy, parameter validation, ports in use, channel
//! limits and negotiation, the local port, `connect_to_host` errors and `get_peers`.
//!
//! Sockets, service, events, flush, broadcast and refusing connections are in
//! `connection_io.rs`; bandwidth, compression, checksum, statistics and the link conditioner
//! in `connection_options.rs`; peer methods in `connection_peer*.rs`; IPv6, host names, the
//! link conditioner's effects and abuse in `connection_net.rs`.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;
use enet::godot::{EnetConnection, EventType, HostStatistic, FLAG_RELIABLE};
use enet::{CompressionMode, DisconnectReason, LinkConfig};

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
