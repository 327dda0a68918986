//! Codec tests: every command round-trips byte for byte, datagrams captured from the C
//! library decode, writers refuse short buffers, and truncated, unknown or arbitrary input
//! gives a [`DecodeError`], never a panic.

use super::*;
use proptest::prelude::*;

/// Writers never panic: a buffer too short gets nothing written and a 0 back.
#[test]
fn writers_refuse_short_buffers() {
    let h = CommandHeader {
        command: CommandKind::Connect as u8,
        channel_id: CONTROL_CHANNEL,
        reliable_sequence_number: 1,
    };
    let commands = [
        Command::Connect(Connect::default()),
        Command::VerifyConnect(Connect::default()),
        Command::Ping,
        Command::Disconnect { data: 1 },
        Command::SendFragment(Fragment::default()),
        Command::Acknowledge {
            received_reliable_sequence_number: 1,
            received_sent_time: 2,
        },
    ];
    for c in commands {
        let size = c.kind().size();
        let mut big = [0u8; 64];
        assert_eq!(c.write(&h, &mut big), size, "{c:?}");
        let mut short = vec![0xEEu8; size - 1];
        assert_eq!(c.write(&h, &mut short), 0, "{c:?}");
        assert!(short.iter().all(|&b| b == 0xEE));
    }
    let header = Header {
        peer_id: 1,
        session_id: 0,
        compressed: false,
        sent_time: Some(7),
    };
    assert_eq!(header.write(&mut [0u8; 3]), 0);
    assert_eq!(header.write(&mut [0u8; 4]), 4);
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn decodes_captured_connect() {
    // Spec §4.10: the C client's CONNECT datagram.
    let d = hex("8fff 5964 82ff0001 0000ffff 00000570 00010000 00000002 00000000 00000000 00001388 00000002 00000002 8df852f2 0000002a");
    let (h, n) = Header::read(&d).unwrap();
    assert_eq!(n, 4);
    assert_eq!(h.peer_id, MAXIMUM_PEER_ID);
    assert_eq!(h.session_id, 0);
    assert_eq!(h.sent_time, Some(0x5964));
    let (ch, cmd, size) = Command::read(&d[n..]).unwrap();
    assert_eq!(size, 48);
    assert_eq!(ch.command, 0x82);
    assert!(ch.is_reliable());
    assert_eq!(ch.channel_id, 0xFF);
    assert_eq!(ch.reliable_sequence_number, 1);
    let Command::Connect(c) = cmd else {
        panic!("not connect")
    };
    assert_eq!(c.mtu, 1392);
    assert_eq!(c.window_size, 65536);
    assert_eq!(c.channel_count, 2);
    assert_eq!(c.packet_throttle_interval, 5000);
    assert_eq!(c.connect_id, [0x8d, 0xf8, 0x52, 0xf2]);
    assert_eq!(c.data, 42);
    assert_eq!((c.incoming_session_id, c.outgoing_session_id), (0xFF, 0xFF));
    // And it re-encodes to the same bytes.
    let mut out = [0u8; 64];
    let mut hn = h.write(&mut out);
    hn += cmd.write(&ch, &mut out[hn..]);
    assert_eq!(&out[..hn], &d[..]);
}

#[test]
fn decodes_captured_data_datagram() {
    // Spec §A.2: reliable, unreliable and unsequenced in one datagram.
    let d = hex("8000 59c5 86000001 0005 68656c6c6f 07010000 0001 0002 7531 49000000 0001 0001 78");
    let (h, mut pos) = Header::read(&d).unwrap();
    assert_eq!(h.peer_id, 0);
    let mut seen = Vec::new();
    while pos < d.len() {
        let (ch, cmd, size) = Command::read(&d[pos..]).unwrap();
        pos += size;
        let payload = &d[pos..pos + cmd.data_length()];
        pos += cmd.data_length();
        seen.push((ch.command, ch.channel_id, cmd, payload.to_vec()));
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].2, Command::SendReliable { data_length: 5 });
    assert_eq!(seen[0].3, b"hello");
    assert_eq!(
        seen[1].2,
        Command::SendUnreliable {
            unreliable_sequence_number: 1,
            data_length: 2
        }
    );
    assert_eq!(seen[1].1, 1);
    assert_eq!(
        seen[2].2,
        Command::SendUnsequenced {
            unsequenced_group: 1,
            data_length: 1
        }
    );
    assert_eq!(seen[2].0, 0x49);
}

#[test]
fn header_without_sent_time_is_two_bytes() {
    let h = Header {
        peer_id: 5,
        session_id: 2,
        compressed: true,
        sent_time: None,
    };
    let mut b = [0u8; 4];
    assert_eq!(h.write(&mut b), 2);
    assert_eq!(&b[..2], &[0x60, 0x05]);
    assert_eq!(Header::read(&b[..2]).unwrap(), (h, 2));
    assert_eq!(
        Header::read(&[0x80, 0x00, 0x01]),
        Err(DecodeError::Truncated)
    );
    assert_eq!(Header::read(&[0x80]), Err(DecodeError::Truncated));
}

#[test]
fn unknown_and_truncated_commands() {
    assert_eq!(
        Command::read(&[0x00, 0, 0, 0]),
        Err(DecodeError::UnknownCommand(0))
    );
    assert_eq!(
        Command::read(&[0x0D, 0, 0, 0, 0, 0, 0, 0]),
        Err(DecodeError::UnknownCommand(13))
    );
    assert_eq!(Command::read(&[0x86, 0, 0]), Err(DecodeError::Truncated));
    assert_eq!(
        Command::read(&[0x88, 0, 0, 1, 0, 0]),
        Err(DecodeError::Truncated)
    );
}

fn arb_connect() -> impl Strategy<Value = Connect> {
    (
        any::<(u16, u8, u8, u32, u32, u32)>(),
        any::<(u32, u32, u32, u32, u32)>(),
        any::<([u8; 4], u32)>(),
    )
        .prop_map(|(a, b, c)| Connect {
            outgoing_peer_id: a.0,
            incoming_session_id: a.1,
            outgoing_session_id: a.2,
            mtu: a.3,
            window_size: a.4,
            channel_count: a.5,
            incoming_bandwidth: b.0,
            outgoing_bandwidth: b.1,
            packet_throttle_interval: b.2,
            packet_throttle_acceleration: b.3,
            packet_throttle_deceleration: b.4,
            connect_id: c.0,
            data: c.1,
        })
}

fn arb_command() -> impl Strategy<Value = (u8, Command)> {
    let frag = any::<(u16, u16, u32, u32, u32, u32)>().prop_map(|f| Fragment {
        start_sequence_number: f.0,
        data_length: f.1,
        fragment_count: f.2,
        fragment_number: f.3,
        total_length: f.4,
        fragment_offset: f.5,
    });
    prop_oneof![
        any::<(u16, u16)>().prop_map(|(a, b)| (
            1,
            Command::Acknowledge {
                received_reliable_sequence_number: a,
                received_sent_time: b
            }
        )),
        arb_connect().prop_map(|c| (2, Command::Connect(c))),
        arb_connect().prop_map(|mut c| {
            c.data = 0;
            (3, Command::VerifyConnect(c))
        }),
        any::<u32>().prop_map(|data| (4, Command::Disconnect { data })),
        Just((5, Command::Ping)),
        any::<u16>().prop_map(|l| (6, Command::SendReliable { data_length: l })),
        any::<(u16, u16)>().prop_map(|(u, l)| (
            7,
            Command::SendUnreliable {
                unreliable_sequence_number: u,
                data_length: l
            }
        )),
        frag.clone().prop_map(|f| (8, Command::SendFragment(f))),
        any::<(u16, u16)>().prop_map(|(g, l)| (
            9,
            Command::SendUnsequenced {
                unsequenced_group: g,
                data_length: l
            }
        )),
        any::<(u32, u32)>().prop_map(|(i, o)| (
            10,
            Command::BandwidthLimit {
                incoming_bandwidth: i,
                outgoing_bandwidth: o
            }
        )),
        any::<(u32, u32, u32)>().prop_map(|(i, a, d)| (
            11,
            Command::ThrottleConfigure {
                packet_throttle_interval: i,
                packet_throttle_acceleration: a,
                packet_throttle_deceleration: d
            }
        )),
        frag.prop_map(|f| (12, Command::SendFragment(f))),
    ]
}

proptest! {
    #[test]
    fn every_command_round_trips((number, cmd) in arb_command(), flags in 0u8..4, channel in any::<u8>(), seq in any::<u16>()) {
        let header = CommandHeader { command: number | (flags << 6), channel_id: channel, reliable_sequence_number: seq };
        let mut buf = [0u8; 64];
        let n = cmd.write(&header, &mut buf);
        prop_assert_eq!(n, CommandKind::from_number(number).unwrap().size());
        let (h2, c2, n2) = Command::read(&buf[..n]).unwrap();
        prop_assert_eq!(h2, header);
        prop_assert_eq!(c2, cmd);
        prop_assert_eq!(n2, n);
        // Any truncation is reported, never a panic.
        for cut in 0..n {
            prop_assert_eq!(Command::read(&buf[..cut]), Err(DecodeError::Truncated));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Header::read(&bytes);
        let _ = Command::read(&bytes);
    }
}
