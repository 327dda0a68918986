//! Early retransmission's reordering allowance in virtual time: it stays at its narrowest
//! on a lossy path that keeps order, and widens on one that reorders until the spurious
//! early copies die down (`Timeouts::reorder_scale`).

mod support;

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::Testbed;
use enet_proto::{Event, HostConfig, Packet};
use support::start_connect;

/// What [`allowance_run`] saw at the sender: the largest reordering scale, and the early
/// copies sent in the first and the second half of the run.
#[derive(Debug)]
struct AllowanceRun {
    max_scale: u8,
    early_first_half: u64,
    early_second_half: u64,
}

/// One client streams 4,000 reliable 1 KiB messages, one per ms, over `link` (both ways;
/// 20 ms one-way); every message must arrive exactly once and in order.
fn allowance_run(link: LinkConfig) -> AllowanceRun {
    let mut tb = Testbed::new(11);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let base = LinkConfig::new().with_latency(Duration::from_millis(20), Duration::ZERO);
    tb.set_link(server, client, base).unwrap();
    let peer = start_connect(&mut tb, client, server, 1, 0);
    tb.run_for(Duration::from_secs(2));
    tb.take_events(server).unwrap();
    tb.set_link(server, client, link).unwrap();
    let (mut next, mut max_scale, mut early_half) = (0u32, 0u8, 0u64);
    let check = |tb: &mut Testbed, next: &mut u32| {
        for e in tb.take_events(server).unwrap() {
            if let Event::Receive { packet, .. } = e {
                let seq = u32::from_le_bytes(packet.data[0..4].try_into().unwrap());
                assert_eq!(seq, *next, "duplicate or out of order");
                *next += 1;
            }
        }
        *next
    };
    for i in 0..4000u32 {
        let mut msg = i.to_le_bytes().to_vec();
        msg.resize(1024, 0x5A);
        tb.host_mut(client)
            .unwrap()
            .send(peer, 0, Packet::reliable(msg))
            .unwrap();
        tb.run_for(Duration::from_millis(1));
        check(&mut tb, &mut next);
        let info = tb.host(client).unwrap().peer_info(peer).unwrap();
        max_scale = max_scale.max(info.timeouts.reorder_scale);
        if i == 1999 {
            early_half = info.counters.early_retransmissions;
        }
    }
    let end = tb.now() + Duration::from_secs(10);
    assert!(tb.run_until_cond(end, |tb| check(tb, &mut next) == 4000));
    let early = tb
        .host(client)
        .unwrap()
        .peer_info(peer)
        .unwrap()
        .counters
        .early_retransmissions;
    AllowanceRun {
        max_scale,
        early_first_half: early_half,
        early_second_half: early - early_half,
    }
}

/// Early retransmission's reordering allowance adapts to the path. On a path that loses
/// but keeps order it stays at its narrowest (a sixteenth of the RTT: each ms of it holds
/// up in-order delivery behind a loss), while the losses are still repaired early. On a
/// path that reorders (one datagram in ten held back 15 ms, nothing lost), the early copies
/// that prove spurious (their acknowledgement echoes the first copy) widen it until the
/// reordering fits, and the spurious copies die down.
#[test]
fn the_reordering_allowance_widens_only_on_a_path_that_reorders() {
    let fifo = LinkConfig::new()
        .with_latency(Duration::from_millis(20), Duration::ZERO)
        .with_loss(0.01);
    let lossy = allowance_run(fifo);
    println!("lossy FIFO path: {lossy:?}");
    assert_eq!(lossy.max_scale, 0, "no reordering seen");
    assert!(lossy.early_first_half + lossy.early_second_half > 0);

    let reordering = LinkConfig::new()
        .with_latency(Duration::from_millis(20), Duration::ZERO)
        .with_reorder(0.1, Duration::from_millis(15));
    let r = allowance_run(reordering);
    println!("reordering path: {r:?}");
    assert!(r.max_scale >= 2, "{r:?}");
    assert!(
        r.early_second_half * 4 < r.early_first_half.max(4),
        "spurious copies die down: {r:?}"
    );
}
