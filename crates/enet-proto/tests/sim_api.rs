//! The simulator's public API under arbitrary arguments in arbitrary order: `Network` and
//! `Link` calls with any configuration (NaN and out-of-range probabilities, delays up to
//! `Duration::MAX`, zero or huge bandwidth and queue bounds), times that go backwards or far
//! ahead, and datagrams of any size. Nothing may panic, every link's bookkeeping stays
//! balanced, and what is delivered is a datagram that was sent.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use enet_proto::sim::{Link, LinkConfig, Network, SimRng, MAX_DELAY};
use proptest::prelude::*;
use support::link_from_fields;

fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => Just(0.0f64),
        2 => 0.0f64..1.0,
        1 => Just(1.0f64),
        1 => Just(f64::NAN),
        1 => Just(-0.5f64),
        1 => Just(f64::INFINITY),
        1 => any::<f64>(),
    ]
}

fn delay() -> impl Strategy<Value = Duration> {
    prop_oneof![
        3 => (0u64..50).prop_map(Duration::from_millis),
        1 => Just(MAX_DELAY),
        1 => Just(Duration::MAX),
        1 => any::<u64>().prop_map(Duration::from_nanos),
    ]
}

fn config() -> impl Strategy<Value = LinkConfig> {
    (
        (probability(), probability(), probability()),
        (delay(), delay(), delay()),
        prop_oneof![
            Just(None),
            Just(Some(0u64)),
            Just(Some(1u64)),
            any::<u64>().prop_map(Some)
        ],
        prop_oneof![Just(0usize), 1usize..8, Just(usize::MAX)],
    )
        .prop_map(link_from_fields)
}

#[derive(Clone, Debug)]
enum Op {
    SetLink(u8, u8, LinkConfig),
    SetDefault(LinkConfig),
    Reset(u8, u8),
    Send {
        from: u8,
        to: u8,
        len: usize,
        at: i64,
    },
    Poll {
        at: i64,
    },
    PollInto {
        at: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let at = prop_oneof![4 => -1_000i64..100_000, 1 => any::<i64>()];
    prop_oneof![
        1 => (0u8..3, 0u8..3, config()).prop_map(|(a, b, c)| Op::SetLink(a, b, c)),
        1 => config().prop_map(Op::SetDefault),
        1 => (0u8..3, 0u8..3).prop_map(|(a, b)| Op::Reset(a, b)),
        5 => (0u8..3, 0u8..3, prop_oneof![0usize..64, Just(70_000usize)], at.clone())
            .prop_map(|(from, to, len, at)| Op::Send { from, to, len, at }),
        2 => at.clone().prop_map(|at| Op::Poll { at }),
        1 => at.prop_map(|at| Op::PollInto { at }),
    ]
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i + 1], 7000 + u16::from(i)))
}

/// `base` moved by `ms` milliseconds either way, when the platform can represent it.
fn at(base: Instant, ms: i64) -> Option<Instant> {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms < 0 {
        base.checked_sub(d)
    } else {
        base.checked_add(d)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn network_calls_with_any_arguments(seed in any::<u64>(), ops in proptest::collection::vec(op(), 1..60)) {
        let base = Instant::now() + Duration::from_secs(3600);
        let mut net = Network::new(seed);
        let mut sent = 0u64;
        let mut out = Vec::new();
        for op in &ops {
            match op.clone() {
                Op::SetLink(a, b, c) => {
                    net.set_link(addr(a), addr(b), c);
                    prop_assert!(net.link_config(addr(a), addr(b)).validate().is_ok());
                }
                Op::SetDefault(c) => {
                    net.set_default_link(c);
                    prop_assert!(net.default_link().validate().is_ok());
                }
                Op::Reset(a, b) => net.reset_link(addr(a), addr(b)),
                Op::Send { from, to, len, at: t } => {
                    if let Some(now) = at(base, t) {
                        // The first byte names the sender, so a delivery can be checked.
                        net.send(now, addr(from), addr(to), &vec![from; len]);
                        sent += 1;
                    }
                }
                Op::Poll { at: t } => {
                    if let Some(now) = at(base, t) {
                        while let Some(d) = net.poll(now) {
                            if let Some(&first) = d.data.first() {
                                prop_assert_eq!(addr(first), d.from);
                            }
                            net.recycle(d.data);
                        }
                    }
                }
                Op::PollInto { at: t } => {
                    if let Some(now) = at(base, t) {
                        if net.poll_into(now, &mut out).is_some() {
                            prop_assert!(out.len() <= 70_000);
                        }
                    }
                }
            }
            let total = net.total_stats();
            prop_assert!(total.is_balanced(), "{:?}", total);
            prop_assert_eq!(total.queued as usize, net.queued());
            prop_assert!(total.sent <= sent);
            for (_, _, s) in net.links() {
                prop_assert!(s.is_balanced(), "{:?}", s);
            }
        }
    }

    #[test]
    fn link_calls_with_any_arguments(
        seed in any::<u64>(),
        first in config(),
        steps in proptest::collection::vec((prop_oneof![Just(None), config().prop_map(Some)], 0usize..3000, -1_000i64..100_000), 1..40),
    ) {
        let base = Instant::now() + Duration::from_secs(3600);
        let mut link = Link::new(first, seed);
        let mut out = Vec::new();
        for (config, len, t) in steps {
            if let Some(c) = config {
                link.set_config(c);
                prop_assert!(link.config().validate().is_ok());
            }
            let Some(now) = at(base, t) else { continue };
            link.send(now, &vec![0xA5; len]);
            if let Some(d) = link.poll(now) {
                prop_assert!(d.iter().all(|&b| b == 0xA5));
                link.recycle(d);
            }
            let _ = link.poll_into(now, &mut out);
            prop_assert!(link.next_delivery().is_some() == (link.queued() > 0));
            prop_assert!(link.stats().is_balanced(), "{:?}", link.stats());
        }
    }

    #[test]
    fn rng_calls_with_any_arguments(seed in any::<u64>(), lo in any::<u64>(), hi in any::<u64>(), p in any::<f64>()) {
        let mut r = SimRng::new(seed);
        let v = r.range_u64(lo, hi);
        if lo < hi {
            prop_assert!((lo..hi).contains(&v));
        } else {
            prop_assert_eq!(v, lo);
        }
        let x = r.next_f64();
        prop_assert!((0.0..1.0).contains(&x));
        let _ = r.chance(p);
    }
}
