//! API-sequence model tests: random sequences of public calls (connect, send, disconnect,
//! settings, time, datagrams) on a few hosts on a [`Testbed`], checking after every step
//! that no call panics, that each result agrees with the peer's state, and that the host's
//! invariants hold; plus random configurations for `Host::new`.
//!
//! Longer than ~600 lines because the operation model (the `Op` enum, its strategies and
//! the `apply` interpreter) reads best as one unit.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::{HostIndex, Testbed};
use enet_proto::{Error, Event, Host, HostConfig, Packet, PacketFlags, PeerId, PeerState};
use proptest::prelude::*;
use support::cases;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const API_HOSTS: usize = 3;
const API_PEERS: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    Connect {
        from: usize,
        to: usize,
        channels: usize,
        data: u32,
    },
    Send {
        host: usize,
        peer: u16,
        channel: u8,
        size: usize,
        flags: u32,
    },
    Broadcast {
        host: usize,
        channel: u8,
        size: usize,
        flags: u32,
    },
    Disconnect {
        host: usize,
        peer: u16,
        data: u32,
    },
    DisconnectNow {
        host: usize,
        peer: u16,
        data: u32,
    },
    DisconnectLater {
        host: usize,
        peer: u16,
        data: u32,
    },
    Reset {
        host: usize,
        peer: u16,
    },
    Ping {
        host: usize,
        peer: u16,
    },
    SetTimeout {
        host: usize,
        peer: u16,
        limit: u32,
        minimum: u32,
        maximum: u32,
    },
    Throttle {
        host: usize,
        peer: u16,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    },
    PingInterval {
        host: usize,
        peer: u16,
        interval: u32,
    },
    Advance {
        ms: u64,
    },
    /// A host setting changed to an arbitrary value.
    Setting {
        host: usize,
        setting: Setting,
    },
    /// `connect` to an address no reply could reach.
    ConnectUnanswerable {
        host: usize,
        addr: SocketAddr,
    },
    /// Time passed to the host that lies before its origin or far after it.
    OddTime {
        host: usize,
        back: bool,
        ms: u64,
    },
    Link {
        a: usize,
        b: usize,
        latency: u64,
        jitter: u64,
        loss: u8,
    },
}

/// A host setting and an arbitrary value for it.
#[derive(Clone, Debug)]
enum Setting {
    MaximumPacketSize(usize),
    MaximumWaitingData(usize),
    BufferBudget(usize),
    DuplicatePeers(usize),
    ChannelLimit(usize),
    Mtu(u32),
    Bandwidth(u32, u32),
    Refuse(bool),
}

fn arb_usize() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(usize::MAX),
        Just(usize::MAX - 1),
        0usize..16,
        0usize..100_000,
        any::<usize>()
    ]
}

fn arb_setting() -> impl Strategy<Value = Setting> {
    let wide = prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()];
    prop_oneof![
        arb_usize().prop_map(Setting::MaximumPacketSize),
        arb_usize().prop_map(Setting::MaximumWaitingData),
        arb_usize().prop_map(Setting::BufferBudget),
        arb_usize().prop_map(Setting::DuplicatePeers),
        arb_usize().prop_map(Setting::ChannelLimit),
        prop_oneof![
            Just(0u32),
            Just(575),
            Just(576),
            Just(4096),
            Just(4097),
            any::<u32>()
        ]
        .prop_map(Setting::Mtu),
        (wide.clone(), wide).prop_map(|(a, b)| Setting::Bandwidth(a, b)),
        any::<bool>().prop_map(Setting::Refuse),
    ]
}

fn arb_unanswerable() -> impl Strategy<Value = SocketAddr> {
    let port = prop_oneof![Just(0u16), any::<u16>()];
    (
        prop_oneof![
            Just("0.0.0.0"),
            Just("255.255.255.255"),
            Just("224.0.0.1"),
            Just("239.255.255.250"),
            Just("::"),
            Just("ff02::1"),
            Just("::ffff:0.0.0.0"),
            Just("::ffff:224.0.0.1"),
            Just("::ffff:255.255.255.255"),
            Just("127.0.0.1"),
            Just("::1"),
        ],
        port,
    )
        .prop_map(|(ip, port)| {
            let ip: IpAddr = ip.parse().unwrap();
            // Loopback only with port 0: every generated address is unanswerable.
            let port = if ip.is_loopback() { 0 } else { port };
            SocketAddr::new(ip, port)
        })
}

fn arb_op() -> impl Strategy<Value = Op> {
    let host = 0..API_HOSTS;
    let peer =
        prop_oneof![8 => 0u16..API_PEERS as u16, 1 => API_PEERS as u16..12, 1 => any::<u16>()];
    let channel = prop_oneof![4 => 0u8..4, 1 => any::<u8>()];
    let size = prop_oneof![0usize..64, 0usize..2000, 0usize..10_240];
    let flags = prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(8),
        Just(9),
        Just(10),
        any::<u32>()
    ];
    let wide = prop_oneof![0u32..10, 0u32..100_000, any::<u32>()];
    prop_oneof![
        3 => (host.clone(), host.clone(), 0usize..300, any::<u32>())
            .prop_map(|(from, to, channels, data)| Op::Connect { from, to, channels, data }),
        6 => (host.clone(), peer.clone(), channel.clone(), size.clone(), flags.clone())
            .prop_map(|(host, peer, channel, size, flags)| Op::Send { host, peer, channel, size, flags }),
        1 => (host.clone(), channel, size, flags)
            .prop_map(|(host, channel, size, flags)| Op::Broadcast { host, channel, size, flags }),
        1 => (host.clone(), peer.clone(), any::<u32>())
            .prop_map(|(host, peer, data)| Op::Disconnect { host, peer, data }),
        1 => (host.clone(), peer.clone(), any::<u32>())
            .prop_map(|(host, peer, data)| Op::DisconnectNow { host, peer, data }),
        1 => (host.clone(), peer.clone(), any::<u32>())
            .prop_map(|(host, peer, data)| Op::DisconnectLater { host, peer, data }),
        1 => (host.clone(), peer.clone()).prop_map(|(host, peer)| Op::Reset { host, peer }),
        1 => (host.clone(), peer.clone()).prop_map(|(host, peer)| Op::Ping { host, peer }),
        1 => (host.clone(), peer.clone(), wide.clone(), wide.clone(), wide.clone())
            .prop_map(|(host, peer, limit, minimum, maximum)| Op::SetTimeout { host, peer, limit, minimum, maximum }),
        1 => (host.clone(), peer.clone(), wide.clone(), wide.clone(), wide.clone())
            .prop_map(|(host, peer, interval, acceleration, deceleration)| Op::Throttle { host, peer, interval, acceleration, deceleration }),
        1 => (host, peer, wide).prop_map(|(host, peer, interval)| Op::PingInterval { host, peer, interval }),
        5 => prop_oneof![0u64..20, 0u64..600, 0u64..8000].prop_map(|ms| Op::Advance { ms }),
        2 => (0..API_HOSTS, arb_setting()).prop_map(|(host, setting)| Op::Setting { host, setting }),
        1 => (0..API_HOSTS, arb_unanswerable())
            .prop_map(|(host, addr)| Op::ConnectUnanswerable { host, addr }),
        1 => prop_oneof![
            (0..API_HOSTS, prop_oneof![0u64..10, any::<u64>()])
                .prop_map(|(host, ms)| Op::OddTime { host, back: true, ms }),
            (0..API_HOSTS, 0u64..10_000)
                .prop_map(|(host, ms)| Op::OddTime { host, back: false, ms }),
        ],
        1 => (0..API_HOSTS, 0..API_HOSTS, 0u64..80, 0u64..40, 0u8..30)
            .prop_map(|(a, b, latency, jitter, loss)| Op::Link { a, b, latency, jitter, loss }),
    ]
}

fn api_config(i: usize) -> HostConfig {
    let mut c = HostConfig::default()
        .with_peer_count(API_PEERS)
        .with_seed(100 + i as u64);
    match i {
        0 => {
            c.duplicate_peers = 2;
            c.maximum_packet_size = 8000;
        }
        1 => c.channel_limit = 3,
        _ => c.mtu = 576,
    }
    c
}

/// The `i`th host of the testbed (the model names hosts by position).
fn nth(tb: &Testbed, i: usize) -> HostIndex {
    tb.hosts()
        .nth(i)
        .expect("the model only names hosts it added")
}

/// Bookkeeping every host must keep consistent whatever the application does.
fn check_invariants(tb: &Testbed) {
    for h in 0..API_HOSTS {
        let host = tb.host(nth(tb, h)).unwrap();
        let mut connected = 0;
        for i in 0..host.peer_count() {
            // (A free slot that has been used has no valid id left to look at it with.)
            let Some(info) = host.peer_info(pid(host, i as u16)) else {
                assert!(host.peer_id(i).is_none(), "host {h} peer {i}");
                continue;
            };
            if matches!(
                info.state,
                PeerState::Connected | PeerState::DisconnectLater
            ) {
                connected += 1;
            }
            if info.state == PeerState::Disconnected {
                assert_eq!(info.total_waiting_data, 0, "host {h} peer {i}");
                assert_eq!(info.reliable_data_in_transit, 0, "host {h} peer {i}");
            }
        }
        assert_eq!(host.connected_peers(), connected, "host {h}");
        assert!(host
            .peer_info(PeerId::from_parts(host.peer_count() as u16, 0))
            .is_none());
    }
}

/// The id of slot `i`'s present occupant; for a free slot (which has none) or one past the
/// table, generation 0: valid only for a slot never used yet, stale otherwise.
fn pid(host: &Host, i: u16) -> PeerId {
    host.peer_id(i as usize).unwrap_or(PeerId::from_parts(i, 0))
}

/// A per-peer call succeeds exactly when its id was `valid` (in range and of the slot's
/// present generation) before the call; otherwise it is refused with `InvalidPeer`.
fn expect_peer_call(valid: bool, r: Result<(), Error>, op: &Op) {
    if valid {
        assert_eq!(r, Ok(()), "{op:?}");
    } else {
        assert_eq!(r, Err(Error::InvalidPeer), "{op:?}");
    }
}

fn apply(tb: &mut Testbed, op: &Op) {
    let now = tb.now();
    match *op {
        Op::Connect {
            from,
            to,
            channels,
            data,
        } => {
            let addr = tb.addr(nth(tb, to)).unwrap();
            let host = tb.host_mut(nth(tb, from)).unwrap();
            let free = (0..host.peer_count() as u16)
                .find(|&i| host.peer_state(pid(host, i)) == Some(PeerState::Disconnected));
            let r = host.connect(now, addr, channels, data);
            match free {
                Some(i) => {
                    assert_eq!(r, Ok(pid(host, i)), "{op:?}");
                    let info = host.peer_info(pid(host, i)).unwrap();
                    assert_eq!(info.state, PeerState::Connecting);
                    assert_eq!(info.channel_count, channels.clamp(1, 255));
                }
                None => assert_eq!(r, Err(Error::NoFreePeer), "{op:?}"),
            }
        }
        Op::Send {
            host,
            peer,
            channel,
            size,
            flags,
        } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let expected = match h.peer_info(pid(h, peer)) {
                None => Err(Error::InvalidPeer),
                Some(i) if i.state != PeerState::Connected => Err(Error::NotConnected),
                Some(i) if channel as usize >= i.channel_count => Err(Error::InvalidChannel),
                Some(_) if size > h.config().maximum_packet_size => Err(Error::PacketTooLarge),
                Some(_) => Ok(()),
            };
            let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let r = h.send(pid(h, peer), channel, Packet::new(data, PacketFlags(flags)));
            assert_eq!(r, expected, "{op:?}");
        }
        Op::Broadcast {
            host,
            channel,
            size,
            flags,
        } => {
            let data: Vec<u8> = vec![0x5A; size];
            tb.host_mut(nth(tb, host))
                .unwrap()
                .broadcast(channel, Packet::new(data, PacketFlags(flags)));
        }
        Op::Disconnect { host, peer, data } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.disconnect(id, data);
            expect_peer_call(valid, r, op);
        }
        Op::DisconnectNow { host, peer, data } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.disconnect_now(id, data);
            expect_peer_call(valid, r, op);
            if (peer as usize) < h.peer_count() {
                assert_eq!(h.peer_state(pid(h, peer)), Some(PeerState::Disconnected));
            }
        }
        Op::DisconnectLater { host, peer, data } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.disconnect_later(id, data);
            expect_peer_call(valid, r, op);
        }
        Op::Reset { host, peer } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.reset(id);
            expect_peer_call(valid, r, op);
            if (peer as usize) < h.peer_count() {
                assert_eq!(h.peer_state(pid(h, peer)), Some(PeerState::Disconnected));
            }
        }
        Op::Ping { host, peer } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            // (`peer_state` reads a stale id as disconnected; `peer_info` refuses it.)
            let expected = match h.peer_info(pid(h, peer)).map(|i| i.state) {
                None => Err(Error::InvalidPeer),
                Some(PeerState::Connected) => Ok(()),
                Some(_) => Err(Error::NotConnected),
            };
            assert_eq!(h.ping(pid(h, peer)), expected, "{op:?}");
        }
        Op::SetTimeout {
            host,
            peer,
            limit,
            minimum,
            maximum,
        } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.set_timeout(id, limit, minimum, maximum);
            expect_peer_call(valid, r, op);
        }
        Op::Throttle {
            host,
            peer,
            interval,
            acceleration,
            deceleration,
        } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.throttle_configure(id, interval, acceleration, deceleration);
            expect_peer_call(valid, r, op);
        }
        Op::PingInterval {
            host,
            peer,
            interval,
        } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let id = pid(h, peer);
            let valid = h.peer_info(id).is_some();
            let r = h.set_ping_interval(id, interval);
            expect_peer_call(valid, r, op);
        }
        Op::Advance { ms: n } => tb.run_for(ms(n)),
        Op::Setting { host, ref setting } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            match *setting {
                Setting::MaximumPacketSize(n) => {
                    h.set_maximum_packet_size(n);
                    assert_eq!(h.config().maximum_packet_size, n);
                }
                Setting::MaximumWaitingData(n) => h.set_maximum_waiting_data(n),
                Setting::BufferBudget(n) => {
                    h.set_buffer_budget(n);
                    assert_eq!(h.config().buffer_budget, n);
                }
                Setting::DuplicatePeers(n) => h.set_duplicate_peers(n),
                Setting::ChannelLimit(n) => h.channel_limit(n),
                Setting::Mtu(m) => {
                    let ok = (576..=4096).contains(&m) && !(h.config().checksum && m > 4092);
                    let r = h.set_mtu(m);
                    assert_eq!(r.is_ok(), ok, "{op:?}: {r:?}");
                    assert!(r.is_ok() || matches!(r, Err(Error::InvalidConfig(_))));
                }
                Setting::Bandwidth(i, o) => h.bandwidth_limit(i, o),
                Setting::Refuse(r) => h.refuse_new_connections(r),
            }
        }
        Op::ConnectUnanswerable { host, addr } => {
            let h = tb.host_mut(nth(tb, host)).unwrap();
            let active = h.active_peers().count();
            assert_eq!(
                h.connect(now, addr, 2, 0),
                Err(Error::InvalidAddress),
                "{op:?}"
            );
            assert_eq!(h.active_peers().count(), active, "{op:?}: a slot was used");
        }
        Op::OddTime { host, back, ms: n } => {
            let at = if back {
                now.checked_sub(Duration::from_millis(n))
            } else {
                now.checked_add(Duration::from_millis(n))
            };
            if let Some(at) = at {
                let h = tb.host_mut(nth(tb, host)).unwrap();
                h.handle_timeout(at);
                let _ = h.poll_timeout();
                let mut buf = Vec::new();
                // Sent into the void: the testbed's clock is unchanged.
                while h.poll_transmit(at, &mut buf).is_some() {}
            }
        }
        Op::Link {
            a,
            b,
            latency,
            jitter,
            loss,
        } => {
            let link = LinkConfig::new()
                .with_latency(ms(latency), ms(jitter))
                .with_loss(f64::from(loss) / 100.0);
            tb.set_link(nth(tb, a), nth(tb, b), link).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary API call sequences on three hosts: no panic, only the expected typed
    /// errors, consistent bookkeeping, and no leaked slots or registrations afterwards.
    #[test]
    fn arbitrary_api_sequences(ops in proptest::collection::vec(arb_op(), 1..48)) {
        let mut tb = Testbed::new(7);
        for i in 0..API_HOSTS {
            tb.add_host(api_config(i)).unwrap();
        }
        for op in &ops {
            apply(&mut tb, op);
            check_invariants(&tb);
        }

        // Let everything settle: retransmissions, timeouts, zombies.
        tb.run_for(Duration::from_secs(40));
        check_invariants(&tb);
        for h in 0..API_HOSTS {
            for p in 0..API_PEERS as u16 {
                let host = tb.host_mut(nth(&tb, h)).unwrap();
                if let Some(id) = host.peer_id(p as usize) {
                    host.reset(id).unwrap();
                }
            }
            // Settings back to working values for the final check.
            let c = api_config(h);
            let host = tb.host_mut(nth(&tb, h)).unwrap();
            host.set_maximum_packet_size(c.maximum_packet_size);
            host.set_maximum_waiting_data(c.maximum_waiting_data);
            host.set_buffer_budget(c.buffer_budget);
            host.set_duplicate_peers(c.duplicate_peers);
            host.channel_limit(c.channel_limit);
            host.set_mtu(c.mtu).unwrap();
            host.bandwidth_limit(0, 0);
            host.refuse_new_connections(false);
            prop_assert_eq!(host.buffered_bytes(), 0);
        }
        tb.run_for(ms(100));
        check_invariants(&tb);
        for h in 0..API_HOSTS {
            let active: Vec<PeerId> = tb.host(nth(&tb, h)).unwrap().active_peers().collect();
            prop_assert!(active.is_empty(), "host {} still has {:?}", h, active);
        }
        // Fresh connections work: nothing leaked (slots, per-address counts, connect ids).
        for a in 0..API_HOSTS {
            for b in 0..API_HOSTS {
                tb.set_link(nth(&tb, a), nth(&tb, b), LinkConfig::new()).unwrap();
            }
        }
        tb.take_events(nth(&tb, 0)).unwrap();
        let addr = tb.addr(nth(&tb, 0)).unwrap();
        let mut clients = Vec::new();
        for c in 1..API_HOSTS {
            let now = tb.now();
            for _ in 0..2 {
                let p = tb.host_mut(nth(&tb, c)).unwrap().connect(now, addr, 2, c as u32).unwrap();
                clients.push((c, p));
            }
        }
        tb.run_for(ms(500));
        for &(c, p) in &clients {
            prop_assert_eq!(tb.host(nth(&tb, c)).unwrap().peer_state(p), Some(PeerState::Connected));
            tb.host_mut(nth(&tb, c)).unwrap().send(p, 1, Packet::reliable(vec![c as u8; 3000])).unwrap();
        }
        tb.run_for(ms(500));
        let got = tb
            .events(nth(&tb, 0)).unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Receive { channel_id: 1, packet, .. } if packet.data.len() == 3000))
            .count();
        prop_assert_eq!(got, clients.len());
    }
}

fn arb_config() -> impl Strategy<Value = HostConfig> {
    (
        prop_oneof![
            Just(0usize),
            1usize..6,
            Just(4095),
            Just(4096),
            any::<usize>()
        ],
        arb_usize(),
        (any::<u32>(), any::<u32>()),
        prop_oneof![
            Just(575u32),
            Just(576),
            Just(1392),
            Just(4092),
            Just(4096),
            any::<u32>()
        ],
        (arb_usize(), arb_usize(), arb_usize(), arb_usize()),
        any::<bool>(),
    )
        .prop_map(
            |(peer_count, channel_limit, (inb, outb), mtu, (mps, mwd, budget, dups), checksum)| {
                HostConfig::default()
                    .with_peer_count(peer_count)
                    .with_channel_limit(channel_limit)
                    .with_incoming_bandwidth(inb)
                    .with_outgoing_bandwidth(outb)
                    .with_mtu(mtu)
                    .with_maximum_packet_size(mps)
                    .with_maximum_waiting_data(mwd)
                    .with_buffer_budget(budget)
                    .with_duplicate_peers(dups)
                    .with_checksum(checksum)
                    .with_seed(9)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any configuration value: `Host::new` returns a host or a typed error, and a host it
    /// returns survives traffic of every kind and size, both ways, without a panic.
    #[test]
    fn arbitrary_configs_never_panic(
        cfg in arb_config(),
        sizes in proptest::collection::vec(prop_oneof![0usize..64, 0usize..5000, 0usize..70_000], 1..8),
        flags in proptest::collection::vec(prop_oneof![Just(0u32), Just(1), Just(2), Just(8), Just(9), any::<u32>()], 1..8),
    ) {
        let valid = (1..=4095).contains(&cfg.peer_count)
            && (576..=4096).contains(&cfg.mtu)
            && !(cfg.checksum && cfg.mtu > 4092);
        let r = Host::new(cfg.clone(), Instant::now());
        match r {
            Ok(_) => prop_assert!(valid, "accepted {:?}", cfg),
            Err(e) => {
                prop_assert!(!valid, "refused {:?}: {}", cfg, e);
                prop_assert!(matches!(e, Error::InvalidConfig(_)));
                return Ok(());
            }
        }
        let mut tb = Testbed::new(3);
        let odd = tb.add_host(cfg.clone()).unwrap();
        let other = tb.add_host(HostConfig::default().with_checksum(cfg.checksum).with_seed(4)).unwrap();
        let (from, to) = (odd, other);
        for (a, b) in [(from, to), (to, from)] {
            let addr = tb.addr(b).unwrap();
            let now = tb.now();
            let Ok(p) = tb.host_mut(a).unwrap().connect(now, addr, 3, 0) else { continue };
            tb.run_for(ms(300));
            for (i, &size) in sizes.iter().enumerate() {
                let f = PacketFlags(flags[i % flags.len()]);
                let r = tb.host_mut(a).unwrap().send(p, (i % 3) as u8, Packet::new(vec![i as u8; size], f));
                if let Err(e) = r {
                    prop_assert!(matches!(e, Error::PacketTooLarge | Error::NotConnected | Error::InvalidChannel), "{}", e);
                }
                let now = tb.now();
                let _ = tb.host_mut(a).unwrap().poll_timeout();
                tb.host_mut(a).unwrap().handle_timeout(now);
            }
            tb.run_for(ms(500));
            let _ = tb.host_mut(a).unwrap().disconnect(p, 0);
            tb.run_for(ms(300));
        }
        check_invariants_of(tb.host(odd).unwrap());
    }
}

fn check_invariants_of(host: &Host) {
    let connected = host
        .active_peers()
        .filter(|&p| {
            matches!(
                host.peer_state(p),
                Some(PeerState::Connected | PeerState::DisconnectLater)
            )
        })
        .count();
    assert_eq!(host.connected_peers(), connected);
    assert!(host.buffered_bytes() <= host.config().buffer_budget);
}
