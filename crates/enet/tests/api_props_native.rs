//! Any call of the native `UdpHost`, with any arguments, in any order, never panics
//! (issue 8, item 7; issue 9's native API): a property test over loopback (addresses are
//! loopback or unusable; nothing leaves the machine). Every failure is a typed error, and
//! `service` never fails on a healthy socket, whatever the calls before it (connecting to
//! port 0 or to IPv6 from an IPv4 socket included). Peer ids are live ones or forged from
//! any index and generation; the settings take any value, out-of-range durations are
//! [`enet::Invalid::Duration`], and the builder's values reach the host.

mod props_config;

use std::net::SocketAddr;
use std::time::Duration;

use enet::{
    Error, HostConfig, Invalid, LinkConfig, Packet, PacketFlags, PeerId, RangeCoder, UdpHost,
};
use props_config::config;
use proptest::prelude::*;

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
    Limit(u8, usize),
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
        4 => (any::<u8>(), any::<usize>(), any::<u32>()).prop_map(|(a, c, d)| UdpOp::Connect(a, c, d)),
        1 => (any::<u16>(), any::<u8>(), 0usize..5000, any::<u32>())
            .prop_map(|(p, c, n, f)| UdpOp::Send(p % 8, c, n, f)),
        1 => (any::<u8>(), 0usize..3000, any::<u32>()).prop_map(|(c, n, f)| UdpOp::Broadcast(c, n, f)),
        1 => (any::<u16>(), any::<u32>(), any::<u8>()).prop_map(|(p, d, k)| UdpOp::Disconnect(
            if p > 0x8000 { p } else { p % 8 },
            d,
            k
        )),
        4 => (0u8..3).prop_map(UdpOp::Service),
        1 => Just(UdpOp::Flush),
        1 => Just(UdpOp::CheckEvents),
        1 => any::<bool>().prop_map(UdpOp::Checksum),
        1 => any::<bool>().prop_map(UdpOp::Compressor),
        1 => (any::<u8>(), 0usize..70_000).prop_map(|(a, n)| UdpOp::SocketSend(a, n)),
        1 => proptest::option::of((any::<f64>(), any::<u64>(), any::<f64>()))
            .prop_map(UdpOp::Conditioner),
        1 => any::<u64>().prop_map(UdpOp::BusyPoll),
        1 => any::<u32>().prop_map(UdpOp::Mtu),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(i, o)| UdpOp::Bandwidth(i, o)),
        1 => any::<usize>().prop_map(UdpOp::ChannelLimit),
        1 => any::<bool>().prop_map(UdpOp::Refuse),
        1 => id().prop_map(UdpOp::Ping),
        1 => (id(), any::<u64>()).prop_map(|(p, d)| UdpOp::PingInterval(p, d)),
        1 => (id(), any::<u32>(), any::<u64>(), any::<u64>())
            .prop_map(|(p, l, a, b)| UdpOp::Timeout(p, l, a, b)),
        1 => (id(), any::<u64>(), any::<u32>(), any::<u32>())
            .prop_map(|(p, i, a, d)| UdpOp::Throttle(p, i, a, d)),
        1 => id().prop_map(UdpOp::Query),
        1 => (any::<u8>(), prop_oneof![0usize..100_000, any::<usize>()])
            .prop_map(|(k, n)| UdpOp::Limit(k, n)),
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
        UdpOp::Limit(k, n) => {
            let c = match k % 4 {
                0 => {
                    h.set_maximum_packet_size(n);
                    h.config().maximum_packet_size
                }
                1 => {
                    h.set_maximum_waiting_data(n);
                    h.config().maximum_waiting_data
                }
                2 => {
                    h.set_buffer_budget(n);
                    h.config().buffer_budget
                }
                _ => {
                    h.set_duplicate_peers(n);
                    h.config().duplicate_peers
                }
            };
            assert_eq!(c, if k % 4 == 3 { n.clamp(1, 4095) } else { n });
        }
        UdpOp::Query(p) => {
            let id = resolve(h, p);
            let live = h.peers().any(|q| q == id);
            // A live id is the id of its slot; a free slot has none, and only a forged id
            // can match its next generation (which reads as a disconnected peer).
            assert_eq!(live, h.host().peer_id(id.index()) == Some(id));
            match h.peer_info(id) {
                Ok(info) if !live => {
                    assert_eq!(info.state, enet::PeerState::Disconnected);
                    assert_eq!(h.host().peer_id(id.index()), None);
                }
                Ok(_) => {}
                Err(_) => assert!(!live),
            }
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
