//! Any public call, with any arguments, in any order, never panics (issue 8, item 7):
//! property tests for `UdpHost` and for `EnetConnection` with its `EnetPacketPeer` views,
//! over loopback (addresses are loopback or unusable; nothing leaves the machine). Every
//! failure is a typed error, and `service` never fails on a healthy socket, whatever the
//! calls before it (connecting to port 0 or to IPv6 from an IPv4 socket included). Peer
//! ids are live ones or forged from any index and generation; the native settings take any
//! value, and out-of-range durations are [`enet::Invalid::Duration`].

use std::net::SocketAddr;
use std::time::Duration;

use enet::godot::{EnetConnection, HostStatistic, PeerHandle, PeerStatistic};
use enet::udp::UdpHost;
use enet::{
    CompressionMode, Error, HostConfig, Invalid, LinkConfig, Packet, PacketFlags, PeerId,
    RangeCoder,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(24),
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Target addresses: the other host, port 0, IPv6 loopback, a closed loopback port.
fn target(k: u8, other: SocketAddr) -> SocketAddr {
    match k % 5 {
        0 | 1 => other,
        2 => "127.0.0.1:0".parse().unwrap(),
        3 => SocketAddr::new("::1".parse().unwrap(), other.port()),
        _ => "127.0.0.1:9".parse().unwrap(),
    }
}

#[derive(Clone, Debug)]
enum UdpOp {
    Connect(u8, usize, u32),
    Send(u16, u8, usize, u32),
    Broadcast(u8, usize, u32),
    Disconnect(u16, u32, u8),
    Service(u8),
    Flush,
    CheckEvents,
    Checksum(bool),
    Compressor(bool),
    SocketSend(u8, usize),
    Conditioner(Option<(f64, u64, f64)>),
    BusyPoll(u64),
    Mtu(u32),
    Bandwidth(u32, u32),
    ChannelLimit(usize),
    Refuse(bool),
    Ping(Id),
    PingInterval(Id, u64),
    Timeout(Id, u32, u64, u64),
    Throttle(Id, u64, u32, u32),
    Query(Id),
}

/// A peer id: the `n`-th live one (if any), or one forged from any index and generation.
#[derive(Clone, Copy, Debug)]
enum Id {
    Live(usize),
    Forged(u16, u32),
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        any::<usize>().prop_map(Id::Live),
        (any::<u16>(), any::<u32>())
            .prop_map(|(i, g)| Id::Forged(if i > 0x8000 { i } else { i % 8 }, g % 4)),
    ]
}

fn resolve(h: &UdpHost, id: Id) -> PeerId {
    let live: Vec<PeerId> = h.peers().collect();
    match id {
        Id::Live(n) if !live.is_empty() => live[n % live.len()],
        Id::Live(n) => PeerId::from_parts(n as u16, 0),
        Id::Forged(i, g) => PeerId::from_parts(i, g),
    }
}

/// Durations from nanoseconds up to far beyond `u32::MAX` ms.
fn duration(n: u64) -> Duration {
    match n % 3 {
        0 => Duration::from_nanos(n % 2_000_000),
        1 => Duration::from_millis(n % 100_000),
        _ => Duration::from_millis(n),
    }
}

/// Checks the typed outcome of a native per-peer setting.
fn check_setting(h: &UdpHost, peer: PeerId, r: Result<(), Error>, durations: &[Duration]) {
    let too_long = durations.iter().any(|d| d.as_millis() > u32::MAX as u128);
    match r {
        Ok(()) => {
            assert!(!too_long, "{durations:?} accepted");
            assert!(
                h.peer_info(peer).is_ok(),
                "a stale id {peer:?} was accepted"
            );
        }
        Err(Error::InvalidParameter(Invalid::Duration { .. })) => assert!(too_long),
        Err(Error::PeerInactive) => assert!(h.peer_info(peer).is_err()),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

fn udp_op() -> impl Strategy<Value = UdpOp> {
    prop_oneof![
        (any::<u8>(), any::<usize>(), any::<u32>()).prop_map(|(a, c, d)| UdpOp::Connect(a, c, d)),
        (any::<u16>(), any::<u8>(), 0usize..5000, any::<u32>())
            .prop_map(|(p, c, n, f)| UdpOp::Send(p % 8, c, n, f)),
        (any::<u8>(), 0usize..3000, any::<u32>()).prop_map(|(c, n, f)| UdpOp::Broadcast(c, n, f)),
        (any::<u16>(), any::<u32>(), any::<u8>()).prop_map(|(p, d, k)| UdpOp::Disconnect(
            if p > 0x8000 { p } else { p % 8 },
            d,
            k
        )),
        (0u8..3).prop_map(UdpOp::Service),
        Just(UdpOp::Flush),
        Just(UdpOp::CheckEvents),
        any::<bool>().prop_map(UdpOp::Checksum),
        any::<bool>().prop_map(UdpOp::Compressor),
        (any::<u8>(), 0usize..70_000).prop_map(|(a, n)| UdpOp::SocketSend(a, n)),
        proptest::option::of((any::<f64>(), any::<u64>(), any::<f64>()))
            .prop_map(UdpOp::Conditioner),
        any::<u64>().prop_map(UdpOp::BusyPoll),
        any::<u32>().prop_map(UdpOp::Mtu),
        (any::<u32>(), any::<u32>()).prop_map(|(i, o)| UdpOp::Bandwidth(i, o)),
        any::<usize>().prop_map(UdpOp::ChannelLimit),
        any::<bool>().prop_map(UdpOp::Refuse),
        id().prop_map(UdpOp::Ping),
        (id(), any::<u64>()).prop_map(|(p, d)| UdpOp::PingInterval(p, d)),
        (id(), any::<u32>(), any::<u64>(), any::<u64>())
            .prop_map(|(p, l, a, b)| UdpOp::Timeout(p, l, a, b)),
        (id(), any::<u64>(), any::<u32>(), any::<u32>())
            .prop_map(|(p, i, a, d)| UdpOp::Throttle(p, i, a, d)),
        id().prop_map(UdpOp::Query),
    ]
}

fn apply_udp(h: &mut UdpHost, other: SocketAddr, op: &UdpOp) {
    match *op {
        UdpOp::Connect(a, c, d) => {
            let _ = h.connect(target(a, other), c, d);
        }
        UdpOp::Send(p, c, n, f) => {
            let id = h
                .host()
                .peer_id(p as usize)
                .unwrap_or(PeerId::from_parts(p, 0));
            let r = h.send(id, c, Packet::new(vec![0x5A; n], PacketFlags(f)));
            if let Err(Error::InvalidChannel { channel, limit }) = r {
                assert_eq!(channel, c);
                assert_eq!(limit, h.peer_channel_count(id).unwrap());
                assert!(channel as usize >= limit);
            }
        }
        UdpOp::Broadcast(c, n, f) => {
            let r = h.broadcast(c, Packet::new(vec![1; n], PacketFlags(f)));
            let limit = h.config().channel_limit;
            match r {
                Ok(()) => assert!((c as usize) < limit),
                Err(Error::InvalidChannel { channel, limit: l }) => {
                    assert_eq!((channel, l), (c, limit));
                    assert!(c as usize >= limit);
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        UdpOp::Disconnect(p, d, k) => {
            let id = h
                .host()
                .peer_id(p as usize)
                .unwrap_or(PeerId::from_parts(p, 0));
            let _ = match k % 4 {
                0 => h.disconnect(id, d),
                1 => h.disconnect_now(id, d),
                2 => h.disconnect_later(id, d),
                _ => h.reset(id),
            };
        }
        UdpOp::Mtu(m) => {
            let before = h.config().mtu;
            match h.set_mtu(m) {
                Ok(()) => assert_eq!(h.config().mtu, m),
                Err(Error::InvalidParameter(Invalid::Config(_))) => {
                    assert_eq!(h.config().mtu, before)
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        UdpOp::Bandwidth(i, o) => {
            h.set_bandwidth_limit(i, o);
            assert_eq!(
                (h.config().incoming_bandwidth, h.config().outgoing_bandwidth),
                (i, o)
            );
        }
        UdpOp::ChannelLimit(n) => {
            h.set_channel_limit(n);
            assert!((1..=255).contains(&h.config().channel_limit));
        }
        UdpOp::Refuse(on) => {
            h.set_refuse_new_connections(on);
            assert_eq!(h.is_refusing_new_connections(), on);
        }
        UdpOp::Ping(p) => {
            let id = resolve(h, p);
            match h.ping(id) {
                Ok(()) | Err(Error::Failed(enet::ProtoError::NotConnected)) => {}
                Err(Error::PeerInactive) => assert!(h.peer_info(id).is_err()),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        UdpOp::PingInterval(p, d) => {
            let (id, d) = (resolve(h, p), duration(d));
            let r = h.set_ping_interval(id, d);
            check_setting(h, id, r, &[d]);
        }
        UdpOp::Timeout(p, l, a, b) => {
            let (id, a, b) = (resolve(h, p), duration(a), duration(b));
            let r = h.set_timeout(id, l, a, b);
            check_setting(h, id, r, &[a, b]);
        }
        UdpOp::Throttle(p, i, a, d) => {
            let (id, i) = (resolve(h, p), duration(i));
            let r = h.throttle_configure(id, i, a, d);
            check_setting(h, id, r, &[i]);
        }
        UdpOp::Query(p) => {
            let id = resolve(h, p);
            let live = h.peers().any(|q| q == id);
            assert_eq!(
                h.peer_info(id).is_ok(),
                live || h.host().peer_id(id.index()) == Some(id)
            );
            assert_eq!(h.peer_channel_count(id).is_ok(), h.peer_info(id).is_ok());
            if h.peer_info(id).is_err() {
                assert_eq!(h.peer_state(id), enet::PeerState::Disconnected);
            }
        }
        UdpOp::Service(ms) => {
            h.service(Duration::from_millis(ms as u64))
                .expect("service never fails on a healthy socket");
        }
        UdpOp::Flush => h.flush().expect("flush never fails on a healthy socket"),
        UdpOp::CheckEvents => {
            let _ = h.check_events();
        }
        UdpOp::Checksum(on) => {
            let _ = h.set_checksum(on);
        }
        UdpOp::Compressor(on) => {
            h.set_compressor(on.then(|| Box::new(RangeCoder::new()) as Box<dyn enet::Compressor>))
        }
        UdpOp::SocketSend(a, n) => {
            // Oversized, port 0 or IPv6-on-IPv4 fail with an error; fine.
            let _ = h.socket_send(target(a, other), &vec![0; n]);
        }
        UdpOp::Conditioner(c) => {
            let cfg = c.map(|(loss, lat, dup)| {
                LinkConfig::new()
                    .with_loss(loss)
                    .with_latency(
                        Duration::from_micros(lat % 20_000),
                        Duration::from_nanos(lat),
                    )
                    .with_duplicate(dup)
            });
            h.set_link_conditioner(cfg.clone(), cfg);
        }
        UdpOp::BusyPoll(ns) => h.set_busy_poll_limit(Duration::from_nanos(ns % 5_000_000)),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn udp_host_any_call_sequence(
        ops in proptest::collection::vec((any::<bool>(), udp_op()), 1..40),
        peers in 1usize..6,
        mtu in prop_oneof![any::<u32>(), 576u32..=4096],
        channels in prop_oneof![1usize..=255, any::<usize>()],
        buffer in prop_oneof![0usize..(4 << 20), any::<usize>()],
        spin in any::<u64>(),
    ) {
        // A bad configuration is a typed error; the builder's values reach the host.
        let built = UdpHost::builder("127.0.0.1:0".parse().unwrap())
            .peer_count(peers)
            .mtu(mtu)
            .channel_limit(channels)
            .socket_buffer_size(buffer)
            .busy_poll_limit(Duration::from_nanos(spin))
            .bind();
        let mut a = match built {
            Ok(h) => {
                prop_assert_eq!(h.config().peer_count, peers);
                prop_assert_eq!(h.config().mtu, mtu);
                let expected = if channels == 0 || channels > 255 { 255 } else { channels };
                prop_assert_eq!(h.config().channel_limit, expected);
                prop_assert_eq!(h.busy_poll_limit(), Duration::from_nanos(spin));
                h
            }
            Err(e) => {
                prop_assert!(
                    matches!(
                        e,
                        Error::InvalidParameter(Invalid::Config(_) | Invalid::OutOfRange { .. })
                    ),
                    "{:?}",
                    e
                );
                UdpHost::bind("127.0.0.1:0".parse().unwrap(), HostConfig::default()).unwrap()
            }
        };
        let mut b = UdpHost::bind("127.0.0.1:0".parse().unwrap(), HostConfig::default()).unwrap();
        let (aa, ba) = (a.local_addr(), b.local_addr());
        for (which, op) in &ops {
            if *which { apply_udp(&mut a, ba, op) } else { apply_udp(&mut b, aa, op) }
        }
        for _ in 0..3 {
            a.service(Duration::ZERO).unwrap();
            b.service(Duration::ZERO).unwrap();
        }
        let s = a.io_stats();
        prop_assert!(s.datagrams_received >= s.oversize_dropped);
    }
}

const HOSTS: [&str; 7] = [
    "127.0.0.1",
    "::1",
    "[::1]",
    "localhost",
    "",
    "::ffff:127.0.0.1",
    " 127.0.0.1 ",
];
const BINDS: [&str; 6] = ["127.0.0.1", "*", "::1", "x", "300.1.1.1", ""];

#[derive(Clone, Debug)]
enum ConnOp {
    Create(u8, bool, usize, usize, u32),
    Destroy,
    ConnectTo(u8, bool, u16, usize, u32),
    Service(u8),
    CheckEvents,
    Flush,
    Bandwidth(u32, u32),
    ChannelLimit(usize),
    Broadcast(u8, usize, u32),
    Compress(u8),
    Checksum(bool),
    Refuse(bool),
    Stat(u8),
    Queries,
    SocketSend(u8, u16, usize),
    Conditioner(bool),
    BusyPoll(u64),
    Peer(u16, PeerOp),
}

#[derive(Clone, Debug)]
enum PeerOp {
    Send(u8, usize, u32),
    Put(usize),
    Get,
    Disconnect(u8, u32),
    Ping,
    PingInterval(u32),
    Timeout(u32, u32, u32),
    Throttle(u32, u32, u32),
    Queries(u8),
}

fn peer_op() -> impl Strategy<Value = PeerOp> {
    prop_oneof![
        (any::<u8>(), 0usize..5000, any::<u32>()).prop_map(|(c, n, f)| PeerOp::Send(c, n, f)),
        (0usize..3000).prop_map(PeerOp::Put),
        Just(PeerOp::Get),
        (any::<u8>(), any::<u32>()).prop_map(|(k, d)| PeerOp::Disconnect(k, d)),
        Just(PeerOp::Ping),
        any::<u32>().prop_map(PeerOp::PingInterval),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| PeerOp::Timeout(a, b, c)),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| PeerOp::Throttle(a, b, c)),
        any::<u8>().prop_map(PeerOp::Queries),
    ]
}

fn conn_op() -> impl Strategy<Value = ConnOp> {
    prop_oneof![
        (
            any::<u8>(),
            any::<bool>(),
            any::<usize>(),
            any::<usize>(),
            any::<u32>()
        )
            .prop_map(|(b, bound, p, c, bw)| ConnOp::Create(
                b,
                bound,
                p % 5000,
                c % 300,
                bw
            )),
        Just(ConnOp::Destroy),
        (
            any::<u8>(),
            any::<bool>(),
            any::<u16>(),
            any::<usize>(),
            any::<u32>()
        )
            .prop_map(|(h, real, p, c, d)| ConnOp::ConnectTo(h, real, p, c, d)),
        (0u8..3).prop_map(ConnOp::Service),
        Just(ConnOp::CheckEvents),
        Just(ConnOp::Flush),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| ConnOp::Bandwidth(a, b)),
        any::<usize>().prop_map(ConnOp::ChannelLimit),
        (any::<u8>(), 0usize..3000, any::<u32>()).prop_map(|(c, n, f)| ConnOp::Broadcast(c, n, f)),
        any::<u8>().prop_map(ConnOp::Compress),
        any::<bool>().prop_map(ConnOp::Checksum),
        any::<bool>().prop_map(ConnOp::Refuse),
        any::<u8>().prop_map(ConnOp::Stat),
        Just(ConnOp::Queries),
        (any::<u8>(), any::<u16>(), 0usize..70_000)
            .prop_map(|(h, p, n)| ConnOp::SocketSend(h, p, n)),
        any::<bool>().prop_map(ConnOp::Conditioner),
        any::<u64>().prop_map(ConnOp::BusyPoll),
        (any::<u16>(), peer_op()).prop_map(|(k, op)| ConnOp::Peer(k, op)),
    ]
}

const COMPRESSION: [CompressionMode; 5] = [
    CompressionMode::None,
    CompressionMode::RangeCoder,
    CompressionMode::FastLz,
    CompressionMode::Zlib,
    CompressionMode::Zstd,
];
const HOST_STATS: [HostStatistic; 4] = [
    HostStatistic::TotalSentData,
    HostStatistic::TotalSentPackets,
    HostStatistic::TotalReceivedData,
    HostStatistic::TotalReceivedPackets,
];
const PEER_STATS: [PeerStatistic; 3] = [
    PeerStatistic::PacketLoss,
    PeerStatistic::RoundTripTime,
    PeerStatistic::PacketThrottleInterval,
];

fn apply_peer(c: &mut EnetConnection, h: PeerHandle, op: &PeerOp) {
    let mut p = c.peer(h);
    let _ = (p.handle(), p.is_active(), p.get_available_packet_count());
    match *op {
        PeerOp::Send(ch, n, f) => {
            let _ = p.send(ch, &vec![3; n], f);
        }
        PeerOp::Put(n) => {
            let _ = p.put_packet(&vec![4; n]);
        }
        PeerOp::Get => {
            let _ = (
                p.get_packet_flags(),
                p.get_packet_with_info(),
                p.get_packet(),
            );
        }
        PeerOp::Disconnect(k, d) => {
            let _ = match k % 4 {
                0 => p.peer_disconnect(d),
                1 => p.peer_disconnect_later(d),
                2 => p.peer_disconnect_now(d),
                _ => p.reset(),
            };
        }
        PeerOp::Ping => {
            let _ = p.ping();
        }
        PeerOp::PingInterval(ms) => {
            let _ = p.ping_interval(ms);
        }
        PeerOp::Timeout(a, b, x) => {
            let _ = p.set_timeout(a, b, x);
        }
        PeerOp::Throttle(a, b, x) => {
            let _ = p.throttle_configure(a, b, x);
        }
        PeerOp::Queries(k) => {
            let _ = (
                p.get_remote_address(),
                p.remote_addr(),
                p.get_remote_port(),
                p.get_statistic(PEER_STATS[k as usize % PEER_STATS.len()]),
                p.get_state(),
                p.get_channels(),
                p.last_packet_flags(),
                p.get_max_packet_size(),
            );
        }
    }
}

fn apply_conn(c: &mut EnetConnection, other_port: u16, op: &ConnOp) {
    match *op {
        ConnOp::Create(b, bound, peers, chans, bw) => {
            let _ = if bound {
                // Port 0 only: fixed ports could collide with other tests.
                c.create_host_bound(BINDS[b as usize % BINDS.len()], 0, peers, chans, bw, bw)
            } else {
                c.create_host(peers, chans, bw, bw)
            };
        }
        ConnOp::Destroy => {
            let _ = c.destroy();
        }
        ConnOp::ConnectTo(h, real, port, chans, data) => {
            let port = if real { other_port } else { port };
            let _ = c.connect_to_host(HOSTS[h as usize % HOSTS.len()], port, chans, data);
        }
        ConnOp::Service(ms) => {
            if c.is_active() {
                c.service(Duration::from_millis(ms as u64))
                    .expect("service never fails on a healthy socket");
            } else {
                assert!(c.service(Duration::ZERO).is_err());
            }
        }
        ConnOp::CheckEvents => {
            let _ = c.check_events();
        }
        ConnOp::Flush => {
            if c.is_active() {
                c.flush().expect("flush never fails on a healthy socket");
            }
        }
        ConnOp::Bandwidth(a, b) => {
            let _ = c.bandwidth_limit(a, b);
        }
        ConnOp::ChannelLimit(n) => {
            let _ = c.channel_limit(n);
        }
        ConnOp::Broadcast(ch, n, f) => {
            let _ = c.broadcast(ch, &vec![2; n], f);
        }
        ConnOp::Compress(k) => {
            let _ = c.compress(COMPRESSION[k as usize % COMPRESSION.len()]);
        }
        ConnOp::Checksum(on) => {
            let _ = c.set_checksum(on);
        }
        ConnOp::Refuse(on) => {
            let _ = c.refuse_new_connections(on);
        }
        ConnOp::Stat(k) => {
            let _ = c.pop_statistic(HOST_STATS[k as usize % HOST_STATS.len()]);
        }
        ConnOp::Queries => {
            let _ = (
                c.get_max_channels(),
                c.get_local_port(),
                c.local_addr(),
                c.get_peers(),
                c.link_conditioner_stats(),
                c.deactivation_count(),
                c.udp_host().map(|e| e.peer_count()),
                c.io_stats(),
            );
        }
        ConnOp::SocketSend(h, port, n) => {
            let _ = c.socket_send(HOSTS[h as usize % HOSTS.len()], port, &vec![0; n]);
        }
        ConnOp::Conditioner(on) => {
            let cfg = on.then(|| LinkConfig::new().with_loss(0.3));
            let _ = c.set_link_conditioner(cfg.clone(), cfg);
        }
        ConnOp::BusyPoll(ns) => {
            let _ = c.set_busy_poll_limit(Duration::from_nanos(ns % 5_000_000));
        }
        ConnOp::Peer(k, ref op) => {
            let peers = c.get_peers();
            if let Some(&h) = peers.get(k as usize % peers.len().max(1)) {
                apply_peer(c, h, op);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn connection_and_peer_any_call_sequence(
        ops in proptest::collection::vec((any::<bool>(), conn_op()), 1..40),
    ) {
        let mut server = EnetConnection::new();
        server.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0).unwrap();
        let port = server.get_local_port().unwrap();
        let mut client = EnetConnection::new();
        client.create_host(1, 0, 0, 0).unwrap();
        let cpeer = client.connect_to_host("127.0.0.1", port, 0, 9).unwrap();
        // Let the connection complete (usually) so peer views have someone to talk to.
        for _ in 0..20 {
            server.service(Duration::from_millis(1)).unwrap();
            client.service(Duration::from_millis(1)).unwrap();
        }
        for (which, op) in &ops {
            let (c, other) = if *which { (&mut server, 0) } else { (&mut client, port) };
            apply_conn(c, other, op);
        }
        // A stale handle (its peer may be long gone) is still safe to use.
        for op in [PeerOp::Get, PeerOp::Ping, PeerOp::Queries(0), PeerOp::Disconnect(3, 0)] {
            apply_peer(&mut client, cpeer, &op);
        }
        prop_assert!(server.get_peers().len() <= 4);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..config() })]

    /// The compressors' public functions with any input and any output buffer size (too
    /// small ones included): a result or `None`, never a panic or a write out of bounds.
    #[test]
    fn compressors_any_input_any_buffer(
        input in proptest::collection::vec(any::<u8>(), 0..3000),
        out_len in 0usize..5000,
        level in any::<u8>(),
    ) {
        use enet::compress::{FastLz, Zlib, Zstd};
        use enet::Compressor;
        let mut out = vec![0u8; out_len];
        if let Some(n) = FastLz::new().compress_block(&input, &mut out) {
            prop_assert!(n <= out_len);
        }
        if let Some(n) = FastLz::decompress_block(&input, &mut out) {
            prop_assert!(n <= out_len);
        }
        let mut all: Vec<Box<dyn Compressor>> = vec![
            Box::new(FastLz::new()),
            Box::new(Zlib::with_level(level)),
            Box::new(Zstd::new()),
            Box::new(RangeCoder::new()),
        ];
        for c in &mut all {
            if let Some(n) = c.compress(&input, &mut out) {
                prop_assert!(n <= out_len);
            }
            if let Some(n) = c.decompress(&input, &mut out) {
                prop_assert!(n <= out_len);
            }
        }
    }
}
