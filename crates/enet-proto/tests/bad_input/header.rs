//! Header level: truncated datagrams and headers, unknown commands, payload overruns,
//! oversized packets, wrong peer ids, session ids, source addresses and channel ids.

use super::*;

#[test]
fn truncated_datagrams() {
    let mut net = default_net();
    let before = net.drops();
    let peer = net.v_s.index() as u16;
    let word = (peer | 0x8000).to_be_bytes();
    net.inject(&[]);
    net.inject(&[0x00]);
    net.inject(&[word[0]]);
    // SENT_TIME flag, but the sent time is missing or cut short.
    net.inject(&word);
    net.inject(&[word[0], word[1], 0x12]);
    // The same from an address no peer has, and for the "no peer" id.
    net.inject_from(foreign(0, 1, 9), &[]);
    net.inject_from(foreign(0, 1, 9), &[0x8F]);
    net.inject_from(foreign(0, 1, 9), &[0x8F, 0xFF, 0x00]);
    assert_drops(&before, &net.drops(), &[(DropReason::Truncated, 8)]);
    // A header with nothing behind it is not an error (and not a drop).
    let before = net.drops();
    let hdr = net.hdr().bytes();
    net.inject(&hdr);
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}

#[test]
fn truncated_header_with_checksum() {
    let cfg = HostConfig::default().with_checksum(true);
    let mut net = Net::new(cfg.clone(), cfg);
    let before = net.drops();
    let with_time = net.hdr().bytes(); // 4 + 4 bytes
    let without = net.hdr_no_time().bytes(); // 2 + 4 bytes
    assert_eq!((with_time.len(), without.len()), (8, 6));
    for cut in 4..8 {
        net.inject(&with_time[..cut]);
    }
    for cut in 2..6 {
        net.inject(&without[..cut]);
    }
    assert_drops(&before, &net.drops(), &[(DropReason::Truncated, 8)]);
    // The full header with a valid checksum and no commands is fine.
    let before = net.drops();
    net.inject(&with_time);
    net.inject(&without);
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}

#[test]
fn unknown_command_numbers() {
    let mut net = default_net();
    let before = net.drops();
    let bad = [0x00u8, 0x0D, 0x0F, 0x8D, 0x4F, 0x80, 0xCE];
    for &c in &bad {
        // Eight bytes, so the command could not be mistaken for a truncated one.
        let dg = net
            .hdr()
            .raw(&[c, FORGE_CH, 0, 9, 0, 4, 0, 0])
            .reliable(FORGE_CH, net.forge_seq, b"EVIL-after-unknown")
            .bytes();
        net.inject(&dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnknownCommand, bad.len() as u64)],
    );
    // A valid command before an unknown one keeps its effect (C: parsing just stops).
    let before = net.drops();
    let seq = net.forge_seq;
    net.forge_seq += 1;
    let dg = net
        .hdr()
        .reliable(FORGE_CH, seq, b"GOOD-before-unknown")
        .raw(&[0x0E, FORGE_CH, 0, 0, 0, 0, 0, 0])
        .reliable(FORGE_CH, seq + 1, b"EVIL-after-unknown")
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::UnknownCommand, 1)]);
    let sent = net.drain_server();
    assert!(net.acks_to(&sent, net.vaddr()).contains(&(FORGE_CH, seq)));
    assert!(!net
        .acks_to(&sent, net.vaddr())
        .contains(&(FORGE_CH, seq + 1)));
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), b"GOOD-before-unknown".to_vec()]
    );
    net.check_both_still_work();
}

#[test]
fn truncated_command_fixed_part() {
    let mut net = default_net();
    let st = net.sent_time();
    let frag = Fragment {
        start_sequence_number: 9,
        data_length: 4,
        fragment_count: 2,
        fragment_number: 0,
        total_length: 8,
        fragment_offset: 0,
    };
    // Every command kind with a fixed part above 4 bytes, each cut one byte short.
    let cmds: Vec<(u8, u8, Command)> = vec![
        (
            0x01,
            FORGE_CH,
            Command::Acknowledge {
                received_reliable_sequence_number: 1,
                received_sent_time: st,
            },
        ),
        (
            0x82,
            0xFF,
            Command::Connect(connect_fields([1, 2, 3, 4], 2, 0)),
        ),
        (
            0x83,
            0xFF,
            Command::VerifyConnect(connect_fields([1, 2, 3, 4], 2, 0)),
        ),
        (0x84, 0xFF, Command::Disconnect { data: 0 }),
        (0x86, FORGE_CH, Command::SendReliable { data_length: 4 }),
        (
            0x07,
            FORGE_CH,
            Command::SendUnreliable {
                unreliable_sequence_number: 1,
                data_length: 4,
            },
        ),
        (0x88, FORGE_CH, Command::SendFragment(frag)),
        (
            0x49,
            FORGE_CH,
            Command::SendUnsequenced {
                unsequenced_group: 1,
                data_length: 4,
            },
        ),
        (
            0x8A,
            0xFF,
            Command::BandwidthLimit {
                incoming_bandwidth: 0,
                outgoing_bandwidth: 0,
            },
        ),
        (
            0x8B,
            0xFF,
            Command::ThrottleConfigure {
                packet_throttle_interval: 1,
                packet_throttle_acceleration: 1,
                packet_throttle_deceleration: 1,
            },
        ),
        (0x0C, FORGE_CH, Command::SendFragment(frag)),
    ];
    let before = net.drops();
    for (c, ch, body) in &cmds {
        let mut dg = net.hdr().cmd(*c, *ch, 77, *body, &[]);
        dg.body.pop();
        net.inject(&dg.bytes());
    }
    // A truncated CONNECT for the "no peer" id, from a stranger.
    let mut dg = Dg::new(MAXIMUM_PEER_ID, 0, Some(1)).connect(connect_fields([9; 4], 2, 0));
    dg.body.truncate(40);
    net.inject_from(foreign(0, 2, 9), &dg.bytes());
    // Trailing bytes too short for even a command header, after a valid command.
    for tail in 1..4 {
        let dg = net.hdr().raw(&[0x85, 0xFF, 0x00, 0x63][..tail]).bytes();
        net.inject(&dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::TruncatedCommand, cmds.len() as u64 + 1 + 3)],
    );
    assert_eq!(net.server().active_peers().count(), 2);
    net.check_both_still_work();
}

#[test]
fn payload_runs_past_datagram_end() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let frag = Fragment {
        start_sequence_number: seq,
        data_length: 200,
        fragment_count: 2,
        fragment_number: 0,
        total_length: 400,
        fragment_offset: 0,
    };
    let evil = b"EVIL-overrun-EVIL-overrun";
    let dgs = vec![
        net.hdr().cmd(
            0x86,
            FORGE_CH,
            seq,
            Command::SendReliable { data_length: 100 },
            evil,
        ),
        net.hdr().cmd(
            0x07,
            FORGE_CH,
            seq - 1,
            Command::SendUnreliable {
                unreliable_sequence_number: 1,
                data_length: 26,
            },
            evil,
        ),
        net.hdr().cmd(
            0x49,
            FORGE_CH,
            0,
            Command::SendUnsequenced {
                unsequenced_group: 1,
                data_length: 0xFFFF,
            },
            evil,
        ),
        net.hdr()
            .cmd(0x88, FORGE_CH, seq, Command::SendFragment(frag), evil),
        net.hdr()
            .cmd(0x0C, FORGE_CH, seq - 1, Command::SendFragment(frag), evil),
    ];
    for dg in &dgs {
        net.inject(&dg.bytes());
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::PayloadOverrun, dgs.len() as u64)],
    );
    // Nothing was acknowledged either.
    let sent = net.drain_server();
    assert!(net
        .acks_to(&sent, net.vaddr())
        .iter()
        .all(|(ch, _)| *ch != FORGE_CH));
    net.check_both_still_work();
    assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec()]);
}

#[test]
fn oversized_packets_are_refused() {
    let server = HostConfig::default().with_maximum_packet_size(3000);
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    let big = b"EVIL".repeat(900);
    let seq = net.forge_seq;
    let dg = net.hdr().reliable(FORGE_CH, seq, &big).bytes();
    net.inject(&dg);
    // A fragment group whose total exceeds the limit.
    let f = Fragment {
        start_sequence_number: seq,
        data_length: 100,
        fragment_count: 40,
        fragment_number: 0,
        total_length: 4000,
        fragment_offset: 0,
    };
    let dg = net.hdr().fragment(FORGE_CH, f, &big[..100]).bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[
            (DropReason::PacketTooLarge, 1),
            (DropReason::InvalidFragment, 1),
        ],
    );
    net.check_both_still_work();
}

#[test]
fn wrong_peer_id() {
    let mut net = default_net();
    let before = net.drops();
    let st = net.sent_time();
    let seq = net.forge_seq;
    let peer_count = net.server().peer_count() as u16;
    // Out of range.
    for id in [peer_count, peer_count + 7, MAXIMUM_PEER_ID - 1] {
        let dg = Dg::new(id, 0, Some(st))
            .reliable(FORGE_CH, seq, b"EVIL-wrong-peer")
            .bytes();
        net.inject(&dg);
    }
    // A free slot.
    // (A free slot has no id.)
    let free = (0..peer_count)
        .find(|&i| net.server().peer_id(i as usize).is_none())
        .unwrap();
    let dg = Dg::new(free, 0, Some(st))
        .reliable(FORGE_CH, seq, b"EVIL-free-slot")
        .bytes();
    net.inject(&dg);
    let from = foreign(0, 3, 9);
    net.inject_from(from, &dg);
    // The "no peer" id with anything but CONNECT.
    let dg = Dg::new(MAXIMUM_PEER_ID, 0, Some(st))
        .reliable(FORGE_CH, seq, b"EVIL-no-peer")
        .bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[
            (DropReason::UnknownPeer, 3),
            (DropReason::InactivePeer, 2),
            (DropReason::NoPeer, 1),
        ],
    );
    assert_eq!(net.server().peer_id(free as usize), None, "still free");
    assert_eq!(net.drain_server().len(), 0, "nothing is answered");
    net.check_both_still_work();
}

#[test]
fn wrong_session_id() {
    let mut net = default_net();
    let before = net.drops();
    for session in 1..4u8 {
        let mut dg = net.hdr().reliable(FORGE_CH, net.forge_seq, b"EVIL-session");
        dg.header.session_id = session;
        net.inject(&dg.bytes());
    }
    assert_drops(&before, &net.drops(), &[(DropReason::SessionMismatch, 3)]);
    assert_eq!(net.drain_server().len(), 0);
    net.check_both_still_work();
}

#[test]
fn wrong_source_address() {
    let mut net = default_net();
    let before = net.drops();
    let dg = net
        .hdr()
        .reliable(FORGE_CH, net.forge_seq, b"EVIL-address")
        .bytes();
    let v = net.vaddr();
    let froms = [
        foreign(0, 4, 7777),
        SocketAddr::new(v.ip(), v.port() + 1),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 99)), v.port()),
        net.tb.addr(net.bystander).unwrap(),
    ];
    for from in froms {
        net.inject_from(from, &dg);
    }
    assert_drops(&before, &net.drops(), &[(DropReason::AddressMismatch, 4)]);
    assert_eq!(net.drain_server().len(), 0);
    net.check_both_still_work();
}

#[test]
fn out_of_range_channel_ids() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let frag = Fragment {
        start_sequence_number: 1,
        data_length: 4,
        fragment_count: 2,
        fragment_number: 0,
        total_length: 8,
        fragment_offset: 0,
    };
    let n = CHANNELS as u8;
    let dgs = vec![
        net.hdr().reliable(n, 1, b"EVIL"),
        net.hdr().reliable(254, 1, b"EVIL"),
        net.hdr().reliable(CONTROL_CHANNEL, seq, b"EVIL"),
        net.hdr().unreliable(n + 5, 0, 1, b"EVIL"),
        net.hdr().unsequenced(200, 1, b"EVIL"),
        net.hdr().unsequenced(CONTROL_CHANNEL, 1, b"EVIL"),
        net.hdr().fragment(n, frag, b"EVIL"),
        net.hdr()
            .unreliable_fragment(CONTROL_CHANNEL, 0, frag, b"EVIL"),
    ];
    for dg in &dgs {
        net.inject(&dg.bytes());
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::InvalidChannel, dgs.len() as u64)],
    );
    // Not acknowledged.
    let sent = net.drain_server();
    assert_eq!(net.acks_to(&sent, net.vaddr()), vec![]);
    // Acknowledgements on channels the peer does not have are harmless no-ops (C).
    let before = net.drops();
    let st = net.server().service_time() as u16;
    let dg = net.hdr().ack(n, 1, st).ack(250, 1, st).bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}
