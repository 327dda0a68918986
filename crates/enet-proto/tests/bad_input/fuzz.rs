//! Property tests: random junk, commands and mutations of a corpus of valid datagrams
//! against a server with connected peers.

use super::*;

/// Case count of a proptest: `default`, unless `PROPTEST_CASES` asks for more (or fewer).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Server configuration for fuzzing: small limits, so that bounds are tight.
fn fuzz_server() -> HostConfig {
    HostConfig::default()
        .with_maximum_packet_size(64 * 1024)
        .with_maximum_waiting_data(128 * 1024)
}

/// After junk: memory stays bounded and the bystander still works.
fn check_after_junk(net: &mut Net) {
    net.tb.run_for(ms(200));
    net.collect();
    let cfg = net.server().config().clone();
    let active: Vec<PeerId> = net.server().active_peers().collect();
    assert!(active.len() <= cfg.peer_count);
    // The engine's bound per peer (see `Host::queue_incoming`): the limit for delivered
    // data plus the limit and three maximum-size packets held in the queues.
    let bound = 2 * cfg.maximum_waiting_data + 3 * cfg.maximum_packet_size;
    for p in active {
        let info = net.server().peer_info(p).unwrap();
        assert!(
            info.total_waiting_data < bound,
            "peer {p:?} holds {} bytes",
            info.total_waiting_data
        );
    }
    assert_eq!(net.server().peer_state(net.b_s), Some(PeerState::Connected));
    net.exchange(Who::Bystander, 3);
}

#[derive(Clone, Debug)]
enum Junk {
    /// Arbitrary bytes from the victim's or a stranger's address.
    Raw { stranger: bool, bytes: Vec<u8> },
    /// A valid header of the victim (or a wrong session), then arbitrary bytes.
    Framed {
        sent_time: bool,
        compressed: bool,
        session: u8,
        body: Vec<u8>,
    },
    /// A valid header of the victim, then structurally plausible commands.
    Commands { sent_time: bool, cmds: Vec<Vec<u8>> },
}

fn arb_command_bytes() -> impl Strategy<Value = Vec<u8>> {
    let channel = prop_oneof![0u8..5, Just(CONTROL_CHANNEL), any::<u8>()];
    let seq = prop_oneof![0u16..8, any::<u16>()];
    let small = prop_oneof![0u32..4, 0u32..300, Just(u32::MAX), any::<u32>()];
    // Command numbers, weighted towards the data commands; a DISCONNECT ends the fun early.
    let kind = prop_oneof![
        2 => Just(1u8),
        1 => Just(2u8),
        1 => Just(3u8),
        1 => Just(4u8),
        2 => Just(5u8),
        6 => Just(6u8),
        4 => Just(7u8),
        6 => Just(8u8),
        3 => Just(9u8),
        2 => Just(10u8),
        2 => Just(11u8),
        5 => Just(12u8),
    ];
    (
        kind,
        0u8..4,
        channel,
        seq,
        proptest::collection::vec(small, 10),
        proptest::collection::vec(any::<u8>(), 0..80),
        any::<bool>(),
    )
        .prop_map(|(kind, flags, ch, seq, f, payload, honest_len)| {
            let k = CommandKind::from_number(kind).unwrap();
            let len = if honest_len {
                payload.len() as u16
            } else {
                f[9] as u16
            };
            let body = match k {
                CommandKind::Acknowledge => Command::Acknowledge {
                    received_reliable_sequence_number: f[0] as u16,
                    received_sent_time: f[1] as u16,
                },
                CommandKind::Connect | CommandKind::VerifyConnect => {
                    let c = Connect {
                        outgoing_peer_id: f[0] as u16,
                        incoming_session_id: f[1] as u8,
                        outgoing_session_id: f[2] as u8,
                        mtu: f[3],
                        window_size: f[4],
                        channel_count: f[5],
                        incoming_bandwidth: f[6],
                        outgoing_bandwidth: f[7],
                        packet_throttle_interval: f[8],
                        packet_throttle_acceleration: f[9],
                        packet_throttle_deceleration: f[0],
                        connect_id: f[1].to_le_bytes(),
                        data: f[2],
                    };
                    if k == CommandKind::Connect {
                        Command::Connect(c)
                    } else {
                        Command::VerifyConnect(c)
                    }
                }
                CommandKind::Disconnect => Command::Disconnect { data: f[0] },
                CommandKind::Ping => Command::Ping,
                CommandKind::SendReliable => Command::SendReliable { data_length: len },
                CommandKind::SendUnreliable => Command::SendUnreliable {
                    unreliable_sequence_number: f[0] as u16,
                    data_length: len,
                },
                CommandKind::SendFragment | CommandKind::SendUnreliableFragment => {
                    Command::SendFragment(Fragment {
                        start_sequence_number: f[0] as u16,
                        data_length: len,
                        fragment_count: f[1],
                        fragment_number: f[2],
                        total_length: f[3].wrapping_mul(if f[4] % 2 == 0 { 1 } else { 300 }),
                        fragment_offset: f[5],
                    })
                }
                CommandKind::SendUnsequenced => Command::SendUnsequenced {
                    unsequenced_group: f[0] as u16,
                    data_length: len,
                },
                CommandKind::BandwidthLimit => Command::BandwidthLimit {
                    incoming_bandwidth: f[0],
                    outgoing_bandwidth: f[1],
                },
                CommandKind::ThrottleConfigure => Command::ThrottleConfigure {
                    packet_throttle_interval: f[0],
                    packet_throttle_acceleration: f[1],
                    packet_throttle_deceleration: f[2],
                },
            };
            let header = CommandHeader {
                command: kind | (flags << 6),
                channel_id: ch,
                reliable_sequence_number: seq,
            };
            let mut buf = vec![0u8; 64];
            let n = body.write(&header, &mut buf);
            buf.truncate(n);
            buf.extend_from_slice(&payload);
            buf
        })
}

fn arb_junk() -> impl Strategy<Value = Junk> {
    prop_oneof![
        1 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..2000))
            .prop_map(|(stranger, bytes)| Junk::Raw { stranger, bytes }),
        1 => (
            any::<bool>(),
            proptest::bool::weighted(0.1),
            prop_oneof![4 => Just(0u8), 1 => 0u8..4],
            proptest::collection::vec(any::<u8>(), 0..600)
        )
            .prop_map(|(sent_time, compressed, session, body)| Junk::Framed {
                sent_time,
                compressed,
                session,
                body
            }),
        3 => (
            proptest::bool::weighted(0.9),
            proptest::collection::vec(arb_command_bytes(), 1..12)
        )
            .prop_map(|(sent_time, cmds)| Junk::Commands { sent_time, cmds }),
    ]
}

fn feed_junk(net: &mut Net, junk: &Junk) {
    match junk {
        Junk::Raw { stranger, bytes } => {
            if *stranger {
                net.inject_from(foreign(9, 9, 9), bytes);
            } else {
                net.inject(bytes);
            }
        }
        Junk::Framed {
            sent_time,
            compressed,
            session,
            body,
        } => {
            let mut dg = if *sent_time {
                net.hdr()
            } else {
                net.hdr_no_time()
            };
            dg.header.compressed = *compressed;
            dg.header.session_id = *session;
            let dg = dg.raw(body).bytes();
            net.inject(&dg);
        }
        Junk::Commands { sent_time, cmds } => {
            let mut dg = if *sent_time {
                net.hdr()
            } else {
                net.hdr_no_time()
            };
            for c in cmds {
                dg = dg.raw(c);
            }
            net.inject(&dg.bytes());
        }
    }
}

/// Datagrams captured from a live exchange between the victim and the server, in a net
/// built exactly like the fuzzing nets (so peer ids, sessions and connect ids match).
fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut net = Net::new(fuzz_server(), HostConfig::default());
        let mut out = Vec::new();
        let (v, vc, vs, s) = (net.victim, net.v_c, net.v_s, net.server);
        let big: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
        {
            let c = net.tb.host_mut(v).unwrap();
            c.send(vc, 0, Packet::reliable(&b"hello"[..])).unwrap();
            c.send(vc, 1, Packet::reliable(big.clone())).unwrap();
            c.send(vc, 2, Packet::unreliable(&b"unrel"[..])).unwrap();
            c.send(vc, 0, Packet::unsequenced(&b"unseq"[..])).unwrap();
            c.send(
                vc,
                2,
                Packet::new(big.clone(), PacketFlags::UNRELIABLE_FRAGMENT),
            )
            .unwrap();
            c.send(vc, 1, Packet::reliable(Vec::new())).unwrap();
            c.ping(vc).unwrap();
            c.throttle_configure(vc, 1000, 3, 4).unwrap();
        }
        net.tb
            .host_mut(s)
            .unwrap()
            .send(vs, 1, Packet::reliable(big.clone()))
            .unwrap();
        net.tb
            .host_mut(s)
            .unwrap()
            .send(vs, 0, Packet::reliable(&b"down"[..]))
            .unwrap();
        let saddr = net.saddr();
        let vaddr = net.vaddr();
        let mut buf = Vec::new();
        for _ in 0..6 {
            let now = net.tb.now();
            let mut batch = Vec::new();
            while let Some(to) = net.tb.host_mut(v).unwrap().poll_transmit(now, &mut buf) {
                batch.push((v, to, buf.clone()));
            }
            while let Some(to) = net.tb.host_mut(s).unwrap().poll_transmit(now, &mut buf) {
                batch.push((s, to, buf.clone()));
            }
            for (from, to, d) in batch {
                if to == saddr {
                    net.tb.host_mut(s).unwrap().handle_datagram(now, vaddr, &d);
                    out.push(d);
                } else if to == vaddr && from == s {
                    net.tb.host_mut(v).unwrap().handle_datagram(now, saddr, &d);
                    out.push(d);
                }
            }
        }
        // Control commands the clients would send on their own schedule.
        out.push(
            net.hdr()
                .cmd(
                    0x8A,
                    0xFF,
                    40,
                    Command::BandwidthLimit {
                        incoming_bandwidth: 100_000,
                        outgoing_bandwidth: 0,
                    },
                    &[],
                )
                .bytes(),
        );
        out.push(connect_dg([0xAB; 4], 3));
        out.push(
            net.hdr()
                .cmd(0x84, 0xFF, 41, Command::Disconnect { data: 5 }, &[])
                .bytes(),
        );
        assert!(out.len() >= 10, "corpus too small: {}", out.len());
        out
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Truncate {
        len: usize,
    },
    Splice {
        other: usize,
        at: usize,
        from: usize,
    },
    Overwrite {
        at: usize,
        value: u32,
        width: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0xFF),
        Just(0xFFFF),
        Just(0x8000),
        Just(0x8000_0000),
        Just(u32::MAX),
        any::<u32>()
    ];
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        1 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(other, at, from)| Mutation::Splice { other, at, from }),
        2 => (any::<usize>(), interesting, prop_oneof![Just(1u8), Just(2), Just(4)])
            .prop_map(|(at, value, width)| Mutation::Overwrite { at, value, width }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn mutate(mut d: Vec<u8>, m: &Mutation, corpus: &[Vec<u8>]) -> Vec<u8> {
    let n = d.len().max(1);
    match m {
        Mutation::Flip { at, bit } => {
            if !d.is_empty() {
                d[at % n] ^= 1 << bit;
            }
        }
        Mutation::Truncate { len } => d.truncate(len % n),
        Mutation::Splice { other, at, from } => {
            let o = &corpus[other % corpus.len()];
            d.truncate(at % n);
            d.extend_from_slice(&o[from % o.len().max(1)..]);
        }
        Mutation::Overwrite { at, value, width } => {
            let bytes = value.to_be_bytes();
            let w = *width as usize;
            let at = at % n;
            for (i, b) in bytes[4 - w..].iter().enumerate() {
                if let Some(x) = d.get_mut(at + i) {
                    *x = *b;
                }
            }
        }
        Mutation::Insert { at, bytes } => {
            let at = at % (d.len() + 1);
            d.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let at = at % n;
            let end = (at + len).min(d.len());
            if at < end {
                d.drain(at..end);
            }
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes and arbitrary command sequences behind a valid header.
    #[test]
    fn arbitrary_datagrams_leave_the_server_sound(
        junk in proptest::collection::vec(arb_junk(), 1..24),
    ) {
        let mut net = Net::new(fuzz_server(), HostConfig::default());
        for (i, j) in junk.iter().enumerate() {
            feed_junk(&mut net, j);
            if i % 4 == 3 {
                net.tb.run_for(ms(7));
            }
        }
        check_after_junk(&mut net);
    }

    /// Compressed junk at a server with the range coder: arbitrary coded bytes, and
    /// plausible commands that are range coded and then damaged.
    #[test]
    fn compressed_junk_leaves_the_server_sound(
        inputs in proptest::collection::vec(
            (
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..700),
                proptest::collection::vec(arb_command_bytes(), 1..8),
                proptest::collection::vec(arb_mutation(), 0..3),
            ),
            1..12,
        ),
    ) {
        use enet_proto::Compressor;
        let mut net = Net::with_setup(fuzz_server(), HostConfig::default(), |h| {
            h.set_compressor(Some(Box::new(RangeCoder::new())))
        });
        let mut coder = RangeCoder::new();
        let mut out = vec![0u8; 8192];
        for (raw, bytes, cmds, muts) in &inputs {
            let body = if *raw {
                bytes.clone()
            } else {
                let plain: Vec<u8> = cmds.concat();
                let n = coder.compress(&plain, &mut out).unwrap_or(0);
                let mut coded = out[..n].to_vec();
                for m in muts {
                    coded = mutate(coded, m, std::slice::from_ref(bytes));
                }
                coded
            };
            let mut dg = net.hdr().compressed();
            dg.body = body;
            net.inject(&dg.bytes());
        }
        check_after_junk(&mut net);
    }

    /// Bit flips, truncations, splices and field overwrites of real captured datagrams.
    #[test]
    fn mutated_real_datagrams_leave_the_server_sound(
        picks in proptest::collection::vec(
            (any::<usize>(), proptest::collection::vec(arb_mutation(), 0..4)),
            1..24,
        ),
    ) {
        let corpus = corpus();
        let mut net = Net::new(fuzz_server(), HostConfig::default());
        for (i, (pick, muts)) in picks.iter().enumerate() {
            let mut d = corpus[pick % corpus.len()].clone();
            for m in muts {
                d = mutate(d, m, corpus);
            }
            net.inject(&d);
            if i % 4 == 3 {
                net.tb.run_for(ms(7));
            }
        }
        check_after_junk(&mut net);
    }
}
