//! The [`Testbed`]'s own API under arbitrary arguments: random sequences of every public
//! method, with indices of its own and of other testbeds, arbitrary host configurations,
//! arbitrary link configurations and times in the past and future. Nothing may panic; an
//! invalid configuration is [`TestbedError::InvalidConfig`], a foreign index
//! [`TestbedError::UnknownHost`], and an own index always works.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::{HostIndex, Testbed, TestbedError, MAX_ELAPSED, MAX_HOSTS};
use enet_proto::{Error, Event, HostConfig, Packet, PacketFlags, PeerState};
use proptest::prelude::*;
use support::{cases, link_from_fields};

/// Names a host: the `n`th of the testbed under test (modulo its host count), or the `n`th
/// of another testbed.
#[derive(Clone, Copy, Debug)]
enum Ix {
    Own(usize),
    Foreign(usize),
}

#[derive(Clone, Debug)]
enum Op {
    AddHost(HostConfig),
    Addr(Ix),
    Host(Ix),
    Events(Ix),
    TakeEvents(Ix),
    SetSilent(Ix, bool),
    SetLink(Ix, Ix, LinkConfig),
    Connect {
        from: Ix,
        to: Ix,
        channels: usize,
        data: u32,
    },
    Send {
        from: Ix,
        peer: u16,
        channel: u8,
        size: usize,
        flags: u32,
    },
    /// `run_for` this many ms.
    RunFor(u64),
    /// `run_until` an instant this many ms before (`back`) or after now.
    RunUntil {
        back: bool,
        ms: u64,
    },
    /// `run_until_cond` with a condition that holds from its `steps`th check.
    RunUntilCond {
        ms: u64,
        steps: u8,
    },
    Network,
}

fn arb_ix() -> impl Strategy<Value = Ix> {
    prop_oneof![
        6 => any::<usize>().prop_map(Ix::Own),
        1 => any::<usize>().prop_map(Ix::Foreign),
    ]
}

fn arb_config() -> impl Strategy<Value = HostConfig> {
    (
        prop_oneof![
            4 => 1usize..5,
            1 => Just(0usize),
            1 => Just(4096usize),
            1 => any::<usize>()
        ],
        prop_oneof![
            Just(0u32),
            Just(575),
            Just(576),
            Just(1392),
            Just(4092),
            Just(4093),
            Just(4096),
            Just(4097),
            any::<u32>()
        ],
        any::<bool>(),
        prop_oneof![Just(0usize), 1usize..300, any::<usize>()],
        prop_oneof![Just(0usize), Just(usize::MAX), any::<usize>()],
    )
        .prop_map(
            |(peer_count, mtu, checksum, channel_limit, maximum_packet_size)| {
                HostConfig::default()
                    .with_peer_count(peer_count)
                    .with_mtu(mtu)
                    .with_checksum(checksum)
                    .with_channel_limit(channel_limit)
                    .with_maximum_packet_size(maximum_packet_size)
            },
        )
}

fn arb_probability() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => Just(0.0f64),
        2 => 0.0f64..0.5,
        1 => Just(1.0f64),
        1 => Just(f64::NAN),
        1 => Just(-1.0f64),
        1 => Just(f64::INFINITY),
        1 => any::<f64>(),
    ]
}

fn arb_delay() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0u64..100).prop_map(Duration::from_millis),
        1 => Just(Duration::MAX),
        1 => any::<u64>().prop_map(Duration::from_nanos),
    ]
}

fn arb_link() -> impl Strategy<Value = LinkConfig> {
    (
        (arb_probability(), arb_probability(), arb_probability()),
        (arb_delay(), arb_delay(), arb_delay()),
        prop_oneof![Just(None), Just(Some(0u64)), any::<u64>().prop_map(Some)],
        prop_oneof![Just(0usize), 1usize..64, any::<usize>()],
    )
        .prop_map(link_from_fields)
}

fn arb_op() -> impl Strategy<Value = Op> {
    let ms = prop_oneof![0u64..50, 0u64..2_000, 0u64..20_000];
    prop_oneof![
        2 => arb_config().prop_map(Op::AddHost),
        1 => arb_ix().prop_map(Op::Addr),
        1 => arb_ix().prop_map(Op::Host),
        1 => arb_ix().prop_map(Op::Events),
        1 => arb_ix().prop_map(Op::TakeEvents),
        1 => (arb_ix(), any::<bool>()).prop_map(|(h, s)| Op::SetSilent(h, s)),
        1 => (arb_ix(), arb_ix(), arb_link()).prop_map(|(a, b, l)| Op::SetLink(a, b, l)),
        3 => (arb_ix(), arb_ix(), prop_oneof![0usize..4, any::<usize>()], any::<u32>())
            .prop_map(|(from, to, channels, data)| Op::Connect { from, to, channels, data }),
        3 => (arb_ix(), prop_oneof![0u16..4, any::<u16>()], prop_oneof![0u8..2, any::<u8>()],
              prop_oneof![0usize..64, 0usize..5_000], any::<u32>())
            .prop_map(|(from, peer, channel, size, flags)| Op::Send { from, peer, channel, size, flags }),
        3 => ms.clone().prop_map(Op::RunFor),
        1 => (any::<bool>(), prop_oneof![ms.clone(), any::<u64>()])
            .prop_map(|(back, ms)| Op::RunUntil { back, ms: if back { ms } else { ms % 20_000 } }),
        1 => (ms, any::<u8>()).prop_map(|(ms, steps)| Op::RunUntilCond { ms, steps }),
        1 => Just(Op::Network),
    ]
}

/// The testbed under test, another testbed whose indices it must refuse, and what the
/// model knows of the first.
struct Model {
    tb: Testbed,
    other: Testbed,
    foreign: Vec<HostIndex>,
    own: Vec<HostIndex>,
}

impl Model {
    fn new() -> Model {
        let mut other = Testbed::new(2);
        let foreign = (0..3)
            .map(|_| other.add_host(HostConfig::default()).unwrap())
            .collect();
        // Two hosts from the start, so that most calls meet hosts to act on.
        let mut tb = Testbed::new(1);
        let own = (0..2)
            .map(|_| tb.add_host(HostConfig::default()).unwrap())
            .collect();
        Model {
            tb,
            other,
            foreign,
            own,
        }
    }

    /// The index an [`Ix`] names, and whether the testbed under test must accept it.
    fn index(&self, ix: Ix) -> (HostIndex, bool) {
        match ix {
            Ix::Own(n) if !self.own.is_empty() => (self.own[n % self.own.len()], true),
            Ix::Own(n) | Ix::Foreign(n) => (self.foreign[n % self.foreign.len()], false),
        }
    }
}

/// `r` is `Ok` for an own index and `UnknownHost(h)` for a foreign one.
fn expect_index<T: std::fmt::Debug>(r: &Result<T, TestbedError>, h: HostIndex, own: bool) {
    match r {
        Ok(_) => assert!(own, "{h} of another testbed accepted"),
        Err(e) => {
            assert!(!own, "{h} refused: {e}");
            assert_eq!(e, &TestbedError::UnknownHost(h));
        }
    }
}

fn valid(cfg: &HostConfig) -> bool {
    (1..=4095).contains(&cfg.peer_count)
        && (576..=4096).contains(&cfg.mtu)
        && !(cfg.checksum && cfg.mtu > 4092)
}

fn apply(m: &mut Model, op: &Op) {
    match op {
        Op::AddHost(cfg) => {
            let before = m.tb.host_count();
            let r = m.tb.add_host(cfg.clone());
            if valid(cfg) {
                let h = r.unwrap();
                m.own.push(h);
                let addr = m.tb.addr(h).unwrap();
                assert_eq!(
                    addr.ip(),
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, before as u8 + 1))
                );
                assert_eq!(m.tb.host(h).unwrap().peer_count(), cfg.peer_count);
                assert_eq!(h.to_string(), format!("host {before}"));
            } else {
                assert!(
                    matches!(r, Err(TestbedError::InvalidConfig(Error::InvalidConfig(_)))),
                    "{cfg:?}: {r:?}"
                );
                assert_eq!(m.tb.host_count(), before, "a refused host was added");
            }
        }
        Op::Addr(ix) => {
            let (h, own) = m.index(*ix);
            expect_index(&m.tb.addr(h), h, own);
        }
        Op::Host(ix) => {
            let (h, own) = m.index(*ix);
            expect_index(&m.tb.host(h).map(|_| ()), h, own);
        }
        Op::Events(ix) => {
            let (h, own) = m.index(*ix);
            let n = m.tb.events(h).map(<[Event]>::len);
            expect_index(&n, h, own);
        }
        Op::TakeEvents(ix) => {
            let (h, own) = m.index(*ix);
            let taken = m.tb.take_events(h);
            expect_index(&taken, h, own);
            if own {
                assert_eq!(m.tb.events(h).unwrap().len(), 0);
            }
        }
        Op::SetSilent(ix, silent) => {
            let (h, own) = m.index(*ix);
            expect_index(&m.tb.set_silent(h, *silent), h, own);
        }
        Op::SetLink(a, b, link) => {
            let ((a, own_a), (b, own_b)) = (m.index(*a), m.index(*b));
            let r = m.tb.set_link(a, b, link.clone());
            match (own_a, own_b) {
                (true, true) => assert_eq!(r, Ok(())),
                (false, _) => assert_eq!(r, Err(TestbedError::UnknownHost(a))),
                (true, false) => assert_eq!(r, Err(TestbedError::UnknownHost(b))),
            }
        }
        Op::Connect {
            from,
            to,
            channels,
            data,
        } => {
            let ((from, own_from), (to, own_to)) = (m.index(*from), m.index(*to));
            let addr = m.tb.addr(to);
            expect_index(&addr, to, own_to);
            let now = m.tb.now();
            let host = m.tb.host_mut(from);
            expect_index(
                &host.as_ref().map(|_| ()).map_err(|e| e.clone()),
                from,
                own_from,
            );
            if let (Ok(addr), Ok(host)) = (addr, host) {
                match host.connect(now, addr, *channels, *data) {
                    Ok(p) => assert_eq!(host.peer_state(p), Some(PeerState::Connecting)),
                    Err(e) => assert_eq!(e, Error::NoFreePeer),
                }
            }
        }
        Op::Send {
            from,
            peer,
            channel,
            size,
            flags,
        } => {
            let (from, own) = m.index(*from);
            let host = m.tb.host_mut(from);
            expect_index(&host.as_ref().map(|_| ()).map_err(|e| e.clone()), from, own);
            if let Ok(host) = host {
                let packet = Packet::new(vec![7; *size], PacketFlags(*flags));
                let peer = host
                    .active_peers()
                    .nth(usize::from(*peer))
                    .unwrap_or(enet_proto::PeerId::from_parts(*peer, 0));
                if let Err(e) = host.send(peer, *channel, packet) {
                    assert!(
                        matches!(
                            e,
                            Error::InvalidPeer
                                | Error::NotConnected
                                | Error::InvalidChannel
                                | Error::PacketTooLarge
                        ),
                        "{e}"
                    );
                }
            }
        }
        Op::RunFor(ms) => {
            let before = m.tb.now();
            m.tb.run_for(Duration::from_millis(*ms));
            assert_eq!(m.tb.now() - before, Duration::from_millis(*ms));
        }
        Op::RunUntil { back, ms } => {
            let before = m.tb.now();
            let d = Duration::from_millis(*ms);
            let deadline = if *back {
                before.checked_sub(d)
            } else {
                before.checked_add(d)
            };
            if let Some(deadline) = deadline {
                m.tb.run_until(deadline);
                assert_eq!(m.tb.now(), deadline.max(before));
            }
        }
        Op::RunUntilCond { ms, steps } => {
            let before = m.tb.now();
            let deadline = before + Duration::from_millis(*ms);
            let mut left = *steps;
            let held = m.tb.run_until_cond(deadline, |_| {
                left = left.saturating_sub(1);
                left == 0
            });
            assert!(m.tb.now() >= before && m.tb.now() <= deadline);
            assert_eq!(held, left == 0);
        }
        Op::Network => {
            let stats = m.tb.network_mut().total_stats();
            assert!(stats.is_balanced(), "{stats:?}");
        }
    }
}

/// What holds after every call, whatever it was.
fn check(m: &Model) {
    assert_eq!(m.tb.host_count(), m.own.len());
    assert_eq!(m.tb.hosts().collect::<Vec<_>>(), m.own);
    for &h in &m.foreign {
        assert_eq!(m.tb.host(h).err(), Some(TestbedError::UnknownHost(h)));
    }
    for &h in &m.own {
        assert_eq!(m.other.host(h).err(), Some(TestbedError::UnknownHost(h)));
    }
    assert!(m.tb.elapsed() <= MAX_ELAPSED);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary calls of every public method, in arbitrary order, with arbitrary
    /// arguments: no panic, own indices always accepted, foreign ones and invalid
    /// configurations refused with their typed error, and the testbed still works.
    #[test]
    fn arbitrary_testbed_calls(ops in proptest::collection::vec(arb_op(), 4..48)) {
        let mut m = Model::new();
        for op in &ops {
            apply(&mut m, op);
            check(&m);
        }
        // Still usable: two fresh hosts on perfect links connect and exchange a packet.
        let a = m.tb.add_host(HostConfig::default()).unwrap();
        let b = m.tb.add_host(HostConfig::default()).unwrap();
        m.tb.set_link(a, b, LinkConfig::new()).unwrap();
        let addr = m.tb.addr(b).unwrap();
        let now = m.tb.now();
        let p = m.tb.host_mut(a).unwrap().connect(now, addr, 1, 5).unwrap();
        m.tb.run_for(Duration::from_millis(200));
        m.tb.host_mut(a).unwrap().send(p, 0, Packet::reliable(&b"still here"[..])).unwrap();
        m.tb.run_for(Duration::from_millis(200));
        let got = m.tb.take_events(b).unwrap();
        prop_assert!(got.iter().any(|e| matches!(e, Event::Receive { packet, .. } if &packet.data[..] == b"still here")), "{:?}", got);
    }
}

/// Runs asked to go past the end of virtual time stop there; hosts still work at the end.
#[test]
fn time_saturates_at_max_elapsed() {
    let mut tb = Testbed::new(9);
    let a = tb.add_host(HostConfig::default()).unwrap();
    let b = tb.add_host(HostConfig::default()).unwrap();
    tb.run_for(Duration::MAX);
    assert_eq!(tb.elapsed(), MAX_ELAPSED);
    tb.run_for(Duration::from_secs(1));
    assert_eq!(tb.elapsed(), MAX_ELAPSED);
    // Live peers ping for ever; at the end of time a run still returns.
    let addr = tb.addr(b).unwrap();
    let now = tb.now();
    let p = tb.host_mut(a).unwrap().connect(now, addr, 1, 0).unwrap();
    tb.run_until(now + Duration::from_secs(3600 * 24 * 365));
    tb.run_for(Duration::MAX);
    assert_eq!(tb.elapsed(), MAX_ELAPSED);
    assert_eq!(
        tb.host(a).unwrap().peer_state(p),
        Some(PeerState::Connected),
        "the handshake completes at the end of time"
    );
}

/// An index outlives its testbed without becoming valid anywhere else.
#[test]
fn an_index_from_a_dropped_testbed_is_refused() {
    let h = {
        let mut gone = Testbed::new(1);
        gone.add_host(HostConfig::default()).unwrap()
    };
    let mut tb = Testbed::new(1);
    let own = tb.add_host(HostConfig::default()).unwrap();
    assert_ne!(own, h, "same seed and position, still a different index");
    assert_eq!(tb.addr(h), Err(TestbedError::UnknownHost(h)));
    assert_eq!(tb.set_silent(h, true), Err(TestbedError::UnknownHost(h)));
    assert_eq!(
        tb.set_link(own, h, LinkConfig::new()),
        Err(TestbedError::UnknownHost(h))
    );
    assert_eq!(tb.take_events(h), Err(TestbedError::UnknownHost(h)));
    assert!(tb.host_mut(h).is_err());
    assert!(tb.events(h).is_err());
    assert!(tb.addr(own).is_ok());
}

/// The testbed has an address for [`MAX_HOSTS`] hosts and refuses the next with `Full`.
#[test]
fn a_full_testbed_refuses_another_host() {
    let mut tb = Testbed::new(4);
    let small = HostConfig::default().with_peer_count(1);
    let mut last = None;
    for _ in 0..MAX_HOSTS {
        last = Some(tb.add_host(small.clone()).unwrap());
    }
    let last = last.unwrap();
    assert_eq!(
        tb.addr(last).unwrap().ip(),
        IpAddr::V4(Ipv4Addr::new(10, 0, 255, 250))
    );
    assert_eq!(tb.add_host(small), Err(TestbedError::Full));
    assert_eq!(tb.host_count(), MAX_HOSTS);
    // Every host has its own address: a datagram to the last one reaches it.
    let first = tb.hosts().next().unwrap();
    let addr = tb.addr(last).unwrap();
    let now = tb.now();
    tb.host_mut(first)
        .unwrap()
        .connect(now, addr, 1, 77)
        .unwrap();
    tb.run_for(Duration::from_millis(10));
    assert!(tb
        .events(last)
        .unwrap()
        .iter()
        .any(|e| matches!(e, Event::Connect { data: 77, .. })));
}
