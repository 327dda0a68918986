//! Unit tests of the C-peer support: payload patterns, flag arguments, line parsing.

use super::*;

#[test]
fn pattern_roundtrip() {
    for &(seed, len) in &[
        (0u32, 0usize),
        (1, 3),
        (7, 4),
        (0xDEAD_BEEF, 1000),
        (u32::MAX, 70_000),
    ] {
        let p = pattern(seed, len);
        assert_eq!(p.len(), len);
        assert_eq!(pattern_seed(&p), if len >= 4 { Some(seed) } else { None });
    }
    assert_ne!(pattern(1, 64), pattern(257, 64));
}

#[test]
fn crc_matches_zlib() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn flags_arg_names() {
    assert_eq!(flags_arg(0), "unreliable");
    assert_eq!(flags_arg(flags::RELIABLE), "reliable");
    assert_eq!(
        flags_arg(flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT),
        "unsequenced+unreliable-fragment"
    );
}

#[test]
fn parse_lines() {
    assert_eq!(
        CEvent::parse("listening 1234"),
        CEvent::Listening { port: 1234 }
    );
    assert_eq!(
        CEvent::parse("connect 3 77 4 1400"),
        CEvent::Connect(ConnectInfo {
            peer: 3,
            data: 77,
            channels: 4,
            mtu: 1400
        })
    );
    assert_eq!(
        CEvent::parse("receive 0 1 4 8 0a0b0c0d 5 05000000"),
        CEvent::Receive(Received {
            peer: 0,
            channel: 1,
            len: 4,
            flags: 8,
            crc: 0x0a0b_0c0d,
            seed: Some(5),
            data: Some(vec![5, 0, 0, 0]),
        })
    );
    assert!(matches!(
        CEvent::parse("receive 0 1 2 0 00000000 -"),
        CEvent::Receive(Received { seed: None, .. })
    ));
    assert_eq!(
        CEvent::parse("disconnect 2 42"),
        CEvent::Disconnect { peer: 2, data: 42 }
    );
    assert_eq!(CEvent::parse("refused 1"), CEvent::Refused { data: 1 });
    assert_eq!(CEvent::parse("sent 10"), CEvent::Sent { count: 10 });
    assert_eq!(CEvent::parse("ok flush"), CEvent::Done("flush".into()));
    assert_eq!(CEvent::parse("bye"), CEvent::Bye);
    assert_eq!(
        CEvent::parse("error bad peer 'x'"),
        CEvent::Error("bad peer 'x'".into())
    );
    assert_eq!(
        CEvent::parse("stats 0 rtt=3 mtu=1400"),
        CEvent::Stats {
            subject: "0".into(),
            values: vec![("rtt".into(), 3), ("mtu".into(), 1400)]
        }
    );
    assert_eq!(
        CEvent::parse("connect x"),
        CEvent::Other("connect x".into())
    );
    assert_eq!(CEvent::parse(""), CEvent::Other("".into()));
}

#[test]
fn pattern_matches_c_output() {
    // Values printed by the C peer for `send 0 1 reliable 64 7`.
    assert_eq!(crc32(&pattern(7, 64)), 0x8693_81a9);
    assert_eq!(crc32(&pattern(9, 5000)), 0x1cde_fa6a);
    assert_eq!(crc32(&pattern(3, 10)), 0x0221_2dba);
}

#[test]
fn backoff_is_the_most_transmitted_command_over_all_peers() {
    let peer = |attempts: u64, rto: u64, next: u64| {
        [
            ("max_attempts", attempts),
            ("max_rto", rto),
            ("next_resend", next),
            ("state", 5),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };
    let mut report = StatsReport::default();
    report.peers.insert(0, peer(0, 0, 0));
    assert_eq!(
        report.backoff(),
        None,
        "nothing waits for an acknowledgement"
    );
    report.peers.insert(3, peer(6, 3200, 150));
    report.peers.insert(7, peer(2, 200, 90));
    assert_eq!(
        report.backoff(),
        Some(Backoff {
            peer: 3,
            attempts: 6,
            rto: std::time::Duration::from_millis(3200),
            next: std::time::Duration::from_millis(150),
        })
    );
}
