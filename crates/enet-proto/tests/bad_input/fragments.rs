//! Fragments: lying and contradicting fragment commands, misplaced fragments, unanswerable
//! and oversized datagrams, and floods of parked unreliable packets.

use super::*;

/// One lying fragment of each kind; all are command errors.
fn lies(start: u16) -> Vec<(&'static str, Fragment)> {
    let f = |count, number, total, offset, len| Fragment {
        start_sequence_number: start,
        data_length: len,
        fragment_count: count,
        fragment_number: number,
        total_length: total,
        fragment_offset: offset,
    };
    vec![
        ("number >= count", f(2, 2, 200, 100, 100)),
        ("number far beyond count", f(2, 0xFFFF_FFFF, 200, 0, 100)),
        ("count 0", f(0, 0, 200, 0, 100)),
        (
            "count > 1M",
            f(MAXIMUM_FRAGMENT_COUNT + 1, 0, 2_000_000, 0, 100),
        ),
        ("count u32::MAX", f(u32::MAX, 0, u32::MAX, 0, 100)),
        ("total > maximum packet size", f(2, 0, 33 << 20, 0, 100)),
        ("offset >= total", f(2, 1, 200, 200, 100)),
        ("offset far beyond total", f(2, 1, 200, u32::MAX, 100)),
        ("data_length > total - offset", f(2, 1, 200, 150, 100)),
        ("total < count", f(100, 0, 50, 0, 10)),
        ("zero-length fragment", f(2, 0, 200, 0, 0)),
    ]
}

#[test]
fn lying_reliable_fragments() {
    let mut net = default_net();
    let start = net.forge_seq;
    for (what, f) in lies(start) {
        let before = net.drops();
        let data = vec![b'E'; f.data_length as usize];
        let dg = net.hdr().fragment(FORGE_CH, f, &data).bytes();
        net.inject(&dg);
        assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 1)]);
        let sent = net.drain_server();
        assert_eq!(net.acks_to(&sent, net.vaddr()), vec![], "{what}: acked");
        assert_eq!(
            net.server().peer_info(net.v_s).unwrap().total_waiting_data,
            0,
            "{what}: something was buffered"
        );
    }
    // The channel is untouched: a valid group at the same start seq goes through.
    let good: Vec<u8> = (0..1800u32).map(|i| i as u8).collect();
    for k in 0..3u32 {
        let f = Fragment {
            start_sequence_number: start,
            data_length: 600,
            fragment_count: 3,
            fragment_number: k,
            total_length: 1800,
            fragment_offset: k * 600,
        };
        let chunk = &good[(k * 600) as usize..(k * 600 + 600) as usize];
        let dg = net.hdr().fragment(FORGE_CH, f, chunk).bytes();
        net.inject(&dg);
    }
    net.forge_seq += 3;
    net.settle();
    assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec(), good]);
    net.forge_good(b"GOOD-after-fragments");
    net.settle();
    assert_eq!(net.forged_received().len(), 3);
    net.check_both_still_work();
}

#[test]
fn lying_unreliable_fragments() {
    let mut net = default_net();
    // Unreliable fragments follow the last reliable seq (1: the probe); u must be fresh.
    let r = net.forge_seq - 1;
    for (i, (what, mut f)) in lies(1).into_iter().enumerate() {
        f.start_sequence_number = 1 + i as u16;
        let before = net.drops();
        let data = vec![b'E'; f.data_length as usize];
        let dg = net.hdr().unreliable_fragment(FORGE_CH, r, f, &data).bytes();
        net.inject(&dg);
        assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 1)]);
        assert_eq!(
            net.server().peer_info(net.v_s).unwrap().total_waiting_data,
            0,
            "{what}: something was buffered"
        );
    }
    // A valid unreliable group still goes through.
    let good: Vec<u8> = (0..1200u32).map(|i| (i * 7) as u8).collect();
    for k in 0..2u32 {
        let f = Fragment {
            start_sequence_number: 100,
            data_length: 600,
            fragment_count: 2,
            fragment_number: k,
            total_length: 1200,
            fragment_offset: k * 600,
        };
        let chunk = &good[(k * 600) as usize..(k * 600 + 600) as usize];
        let dg = net.hdr().unreliable_fragment(FORGE_CH, r, f, chunk).bytes();
        net.inject(&dg);
    }
    net.settle();
    assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec(), good]);
    net.check_both_still_work();
}

#[test]
fn fragment_group_contradicting_an_earlier_fragment() {
    let mut net = default_net();
    let start = net.forge_seq;
    let good: Vec<u8> = (0..1800u32).map(|i| (i % 251) as u8).collect();
    let frag = |k: u32| Fragment {
        start_sequence_number: start,
        data_length: 600,
        fragment_count: 3,
        fragment_number: k,
        total_length: 1800,
        fragment_offset: k * 600,
    };
    let chunk = |k: u32| &good[(k * 600) as usize..(k * 600 + 600) as usize];
    let dg = net.hdr().fragment(FORGE_CH, frag(0), chunk(0)).bytes();
    net.inject(&dg);
    let before = net.drops();
    let evil = vec![b'E'; 600];
    let lies = [
        Fragment {
            total_length: 2400,
            ..frag(1)
        },
        Fragment {
            fragment_count: 4,
            ..frag(1)
        },
        Fragment {
            fragment_count: 2,
            total_length: 1200,
            ..frag(1)
        },
    ];
    for f in lies {
        let dg = net.hdr().fragment(FORGE_CH, f, &evil).bytes();
        net.inject(&dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::InvalidFragment, lies.len() as u64)],
    );
    // The group is intact; the real fragments complete it, exactly once.
    for k in [2, 1, 1] {
        let dg = net.hdr().fragment(FORGE_CH, frag(k), chunk(k)).bytes();
        net.inject(&dg);
    }
    net.forge_seq += 3;
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), good.clone()]
    );

    // A fragment whose start seq names a queued whole packet is refused too.
    let s = net.forge_seq;
    let dg = net.hdr().reliable(FORGE_CH, s + 1, b"GOOD-held").bytes();
    net.inject(&dg);
    let before = net.drops();
    let f = Fragment {
        start_sequence_number: s + 1,
        data_length: 600,
        fragment_count: 2,
        fragment_number: 1,
        total_length: 1200,
        fragment_offset: 600,
    };
    let dg = net.hdr().fragment(FORGE_CH, f, &evil).bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 1)]);
    let dg = net.hdr().reliable(FORGE_CH, s, b"GOOD-gap").bytes();
    net.inject(&dg);
    net.forge_seq += 2;
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![
            b"GOOD-probe".to_vec(),
            good.clone(),
            b"GOOD-gap".to_vec(),
            b"GOOD-held".to_vec()
        ]
    );

    // The same for unreliable fragment groups.
    let r = net.forge_seq - 1;
    let ufrag = |k: u32| Fragment {
        start_sequence_number: 5,
        ..frag(k)
    };
    let dg = net
        .hdr()
        .unreliable_fragment(FORGE_CH, r, ufrag(0), chunk(0))
        .bytes();
    net.inject(&dg);
    let before = net.drops();
    for f in [
        Fragment {
            total_length: 1801,
            ..ufrag(1)
        },
        Fragment {
            fragment_count: 5,
            ..ufrag(1)
        },
    ] {
        let dg = net.hdr().unreliable_fragment(FORGE_CH, r, f, &evil).bytes();
        net.inject(&dg);
    }
    assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 2)]);
    let waiting = net.server().peer_info(net.v_s).unwrap().total_waiting_data;
    assert_eq!(waiting, 1800, "only the real group is buffered");
    net.check_both_still_work();
}

/// Fragments an ENet sender would never produce (not at `number × length`, lengths that
/// differ within a group, tiny fragments) are dropped before they cost memory.
#[test]
fn misplaced_fragments_are_dropped() {
    let mut net = default_net();
    let start = net.forge_seq;
    let f = |number, offset, len| Fragment {
        start_sequence_number: start,
        data_length: len,
        fragment_count: 4,
        fragment_number: number,
        total_length: 2000,
        fragment_offset: offset,
    };
    let evil = vec![b'E'; 600];
    for (what, frag) in [
        ("offset not number x length", f(1, 700, 600)),
        ("tiny fragments spread over the total", f(1, 500, 1)),
        ("last fragment at a non-multiple", f(3, 1601, 399)),
    ] {
        let before = net.drops();
        let dg = net
            .hdr()
            .fragment(FORGE_CH, frag, &evil[..frag.data_length as usize])
            .bytes();
        net.inject(&dg);
        assert_drops(&before, &net.drops(), &[(DropReason::MisplacedFragment, 1)]);
        let waiting = net.server().peer_info(net.v_s).unwrap().total_waiting_data;
        assert_eq!(waiting, 0, "{what}: a group was created");
    }
    // A group fixed by its first fragment refuses a fragment of another length.
    let dg = net.hdr().fragment(FORGE_CH, f(1, 600, 600), &evil).bytes();
    net.inject(&dg);
    let before = net.drops();
    let dg = net
        .hdr()
        .fragment(FORGE_CH, f(2, 1000, 500), &evil[..500])
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::MisplacedFragment, 1)]);
    // The rest of the group, as a sender places it, completes it.
    let good: Vec<u8> = (0..2000u32).map(|i| (i % 7) as u8).collect();
    for (n, o, l) in [
        (0u32, 0u32, 600u16),
        (1, 600, 600),
        (2, 1200, 600),
        (3, 1800, 200),
    ] {
        let chunk = &good[o as usize..o as usize + l as usize];
        if n == 1 {
            // Fragment 1 is in already (filled with 'E'): a duplicate, ignored.
            let dg = net.hdr().fragment(FORGE_CH, f(n, o, l), chunk).bytes();
            net.inject(&dg);
            continue;
        }
        let dg = net.hdr().fragment(FORGE_CH, f(n, o, l), chunk).bytes();
        net.inject(&dg);
    }
    net.forge_seq += 4;
    net.settle();
    let mut expected = good.clone();
    expected[600..1200].fill(b'E');
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), expected]
    );
    net.check_both_still_work();
}

/// Sources no reply can reach are dropped before any peer state exists; `connect` refuses
/// them with a typed error.
#[test]
fn unanswerable_sources_are_dropped_at_the_door() {
    let mut net = default_net();
    let sources: Vec<SocketAddr> = [
        "127.0.0.1:0",
        "0.0.0.0:7000",
        "255.255.255.255:7000",
        "224.0.0.1:7000",
        "239.1.2.3:7000",
        "[::]:7000",
        "[::1]:0",
        "[ff02::1]:7000",
        "[::ffff:0.0.0.0]:7000",
        "[::ffff:224.0.0.1]:7000",
        "[::ffff:255.255.255.255]:7000",
        "[::ffff:127.0.0.1]:0",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let peers = net.server().active_peers().count();
    for (i, &from) in sources.iter().enumerate() {
        let before = net.drops();
        net.inject_from(from, &connect_dg([9, 9, 9, i as u8], 2));
        assert_drops(
            &before,
            &net.drops(),
            &[(DropReason::UnanswerableSource, 1)],
        );
        assert_eq!(
            net.server().active_peers().count(),
            peers,
            "{from}: a peer was made"
        );
        assert_eq!(net.server().half_open_peers(), 0);
        // Nothing is queued for it either.
        assert!(net.drain_server().iter().all(|(to, _)| *to != from));
        let now = net.tb.now();
        let r = net
            .tb
            .host_mut(net.victim)
            .unwrap()
            .connect(now, from, 1, 0);
        assert_eq!(r, Err(Error::InvalidAddress), "{from}");
    }
    // Answerable neighbours are not caught by the rule.
    for ok in [
        "127.0.0.1:1",
        "[::1]:1",
        "[::ffff:127.0.0.1]:1",
        "192.168.1.255:7000",
    ] {
        let from: SocketAddr = ok.parse().unwrap();
        let before = net.drops();
        net.inject_from(from, &connect_dg([8, 8, 8, 8], 2));
        assert_eq!(
            net.drops().get(DropReason::UnanswerableSource),
            before.get(DropReason::UnanswerableSource),
            "{from}"
        );
    }
    net.check_both_still_work();
}

/// Datagrams above ENet's maximum MTU are dropped whole, as C drops them.
#[test]
fn datagrams_over_4096_bytes_are_dropped() {
    let mut net = default_net();
    let seq = net.forge_seq;
    let mk = |net: &Net, total: usize| {
        let hdr = net.hdr();
        let fixed = hdr.bytes().len() + CommandKind::SendReliable.size();
        net.hdr()
            .reliable(FORGE_CH, seq, &vec![b'G'; total - fixed])
            .bytes()
    };
    let big = mk(&net, 4097);
    assert_eq!(big.len(), 4097);
    let before = net.drops();
    net.inject(&big);
    assert_drops(&before, &net.drops(), &[(DropReason::OversizeDatagram, 1)]);
    let fits = mk(&net, 4096);
    assert_eq!(fits.len(), 4096);
    let before = net.drops();
    net.inject(&fits);
    assert_drops(&before, &net.drops(), &[]);
    net.forge_seq += 1;
    net.settle();
    assert_eq!(
        net.forged_received().len(),
        2,
        "the 4096-byte datagram was delivered"
    );
    net.check_both_still_work();
}

/// The duplicate flood of the report: unreliable packets parked behind a missing reliable
/// packet, then datagrams full of duplicates of the front of that queue. Held entries are
/// bounded per channel (the excess is counted), duplicates are discarded, and when the
/// missing packet arrives everything held is delivered in ENet's order.
#[test]
fn parked_unreliable_flood_is_bounded_and_duplicates_are_discarded() {
    let server = HostConfig::default().with_maximum_waiting_data(64 << 20);
    let mut net = Net::new(server, HostConfig::default());
    let r = net.forge_seq;
    let per = 170;
    let total = MAXIMUM_HELD_PER_QUEUE + 3000;
    let mut useq = 1u32;
    while (useq as usize) <= total {
        let mut dg = net.hdr_no_time();
        for _ in 0..per {
            if useq as usize > total {
                break;
            }
            dg = dg.unreliable(FORGE_CH, r, useq as u16, &[]);
            useq += 1;
        }
        net.inject(&dg.bytes());
    }
    let full = net.drops().get(DropReason::QueueFull);
    // The first refusal stops the rest of its datagram: at least one per datagram beyond.
    assert!(full >= 3000 / per as u64, "{full}");
    let before = net.drops();
    for _ in 0..50 {
        let mut dg = net.hdr_no_time();
        for u in 1..=per as u16 {
            dg = dg.unreliable(FORGE_CH, r, u, &[]);
        }
        net.inject(&dg.bytes());
    }
    let after = net.drops();
    // The queue is full, so duplicates are refused before any search.
    assert_drops(&before, &after, &[(DropReason::QueueFull, 50)]);
    net.collect();
    assert_eq!(
        net.forged_received().len(),
        1,
        "nothing delivered ahead of seq {r}"
    );
    net.forge_good(b"GOOD-release");
    net.settle();
    let released: Vec<u16> = net.logs[0]
        .iter()
        .filter_map(|e| match e {
            Event::Receive {
                channel_id: FORGE_CH,
                packet,
                ..
            } if packet.data.is_empty() => Some(0),
            _ => None,
        })
        .collect();
    assert_eq!(
        released.len(),
        MAXIMUM_HELD_PER_QUEUE,
        "every held packet delivered once"
    );
    // With a queue below its bound, duplicates are discarded silently (as C does).
    let r = net.forge_seq;
    let mut dg = net.hdr_no_time();
    for u in 1..=100u16 {
        dg = dg.unreliable(FORGE_CH, r, u, &[]);
    }
    net.inject(&dg.bytes());
    let before = net.drops();
    for _ in 0..20 {
        let mut dg = net.hdr_no_time();
        for u in 1..=100u16 {
            dg = dg.unreliable(FORGE_CH, r, u, &[]);
        }
        net.inject(&dg.bytes());
    }
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}
