//! Acknowledgements: for sequence numbers never sent, in the wrong state, with a sent time
//! in the future, and reliable commands without a sent time.

use super::*;

/// Makes the victim deaf and has the server put one reliable packet in flight to it.
fn in_flight_to_victim(net: &mut Net, data: &[u8]) -> u32 {
    net.tb.set_silent(net.victim, true).unwrap();
    net.tb
        .host_mut(net.server)
        .unwrap()
        .send(net.v_s, 1, Packet::reliable(data.to_vec()))
        .unwrap();
    net.tb.run_for(ms(2));
    let info = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(info.reliable_data_in_transit, data.len() as u32);
    info.reliable_data_in_transit
}

/// Lets the victim hear again and checks that it gets `data` on channel 1 exactly once.
fn victim_gets_exactly_once(net: &mut Net, data: &[u8]) {
    net.tb.set_silent(net.victim, false).unwrap();
    net.tb.run_for(Duration::from_secs(3));
    net.collect();
    let got = net.logs[1]
        .iter()
        .filter(
            |e| matches!(e, Event::Receive { channel_id: 1, packet, .. } if packet.data == data),
        )
        .count();
    assert_eq!(got, 1, "the real packet arrives exactly once");
    assert_eq!(
        net.server()
            .peer_info(net.v_s)
            .unwrap()
            .reliable_data_in_transit,
        0
    );
}

#[test]
fn acknowledgements_for_sequence_numbers_never_sent() {
    let mut net = default_net();
    let data = b"DOWN-real-packet".repeat(10);
    let in_transit = in_flight_to_victim(&mut net, &data);
    let rtt = net.server().peer_info(net.v_s).unwrap().rtt.round_trip_time;
    let before = net.drops();
    let st = net.server().service_time() as u16;
    // The real packet is channel 1, seq 1. None of these match it.
    let bogus: [(u8, u16); 9] = [
        (1, 2),
        (1, 0),
        (1, 0xFFFF),
        (1, 0x8001),
        (0, 1),
        (2, 1),
        (200, 1),
        (CONTROL_CHANNEL, 999),
        (CONTROL_CHANNEL, 0),
    ];
    let mut dg = net.hdr_no_time();
    for (ch, seq) in bogus {
        dg = dg.ack(ch, seq, st);
    }
    net.inject(&dg.bytes());
    for (ch, seq) in bogus {
        let dg = net.hdr().ack(ch, seq, st).bytes();
        net.inject(&dg);
    }
    // C treats acks that match nothing as no-ops (duplicates are normal on lossy links).
    assert_drops(&before, &net.drops(), &[]);
    let info = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(info.reliable_data_in_transit, in_transit);
    assert_eq!(info.state, PeerState::Connected);
    // Their sent time is genuine, so they do count as RTT samples (C does the same).
    assert!(info.rtt.round_trip_time <= rtt.max(1));
    victim_gets_exactly_once(&mut net, &data);
    net.check_both_still_work();
}

#[test]
fn unexpected_acknowledgement_while_disconnecting() {
    let mut net = default_net();
    net.tb.set_silent(net.victim, true).unwrap();
    net.tb
        .host_mut(net.server)
        .unwrap()
        .disconnect(net.v_s, 7)
        .unwrap();
    net.tb.run_for(ms(2));
    assert_eq!(
        net.server().peer_state(net.v_s),
        Some(PeerState::Disconnecting)
    );
    let before = net.drops();
    let st = net.server().service_time() as u16;
    let dg = net.hdr().ack(CONTROL_CHANNEL, 999, st).bytes();
    net.inject(&dg);
    let dg = net.hdr().ack(0, 1, st).bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnexpectedAcknowledge, 2)],
    );
    assert_eq!(
        net.server().peer_state(net.v_s),
        Some(PeerState::Disconnecting)
    );
    // The real disconnect completes on both sides.
    net.tb.set_silent(net.victim, false).unwrap();
    net.tb.run_for(Duration::from_secs(3));
    net.collect();
    assert!(net.logs[0].contains(&Event::Disconnect {
        peer: net.v_s,
        data: 0,
        reason: DisconnectReason::Local
    }));
    assert!(net.logs[1].contains(&Event::Disconnect {
        peer: net.v_c,
        data: 7,
        reason: DisconnectReason::Remote
    }));
    net.assert_nothing_evil();
    net.exchange(Who::Bystander, 6);
}

#[test]
fn unexpected_acknowledgement_while_acknowledging_connect() {
    let mut net = default_net();
    let stranger = foreign(1, 1, 4000);
    let dg = Dg::new(MAXIMUM_PEER_ID, 0, Some(1))
        .connect(connect_fields([7, 7, 7, 7], 2, 0xC0FFEE))
        .bytes();
    net.inject_from(stranger, &dg);
    let half = net
        .server()
        .active_peers()
        .find(|p| net.server().peer_info(*p).unwrap().address == stranger)
        .expect("half-open peer");
    assert_eq!(
        net.server().peer_state(half),
        Some(PeerState::AcknowledgingConnect)
    );
    let before = net.drops();
    let st = net.server().service_time() as u16;
    // Acks of something other than VERIFY_CONNECT (channel 0xFF, seq 1).
    for (ch, seq) in [(CONTROL_CHANNEL, 2), (0, 1), (CONTROL_CHANNEL, 0)] {
        let dg = Dg::new(half.index() as u16, 0, None)
            .ack(ch, seq, st)
            .bytes();
        net.inject_from(stranger, &dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnexpectedAcknowledge, 3)],
    );
    assert_eq!(
        net.server().peer_state(half),
        Some(PeerState::AcknowledgingConnect)
    );
    net.settle();
    assert!(!net.logs[0]
        .iter()
        .any(|e| matches!(e, Event::Connect { peer, .. } if *peer == half)));
    // The right ack completes the (crafted) handshake.
    let dg = Dg::new(half.index() as u16, 0, None)
        .ack(CONTROL_CHANNEL, 1, net.server().service_time() as u16)
        .bytes();
    net.inject_from(stranger, &dg);
    net.settle();
    assert!(net.logs[0].contains(&Event::Connect {
        peer: half,
        data: 0xC0FFEE
    }));
    net.tb.host_mut(net.server).unwrap().reset(half).unwrap();
    net.check_both_still_work();
}

#[test]
fn acknowledgement_with_sent_time_in_the_future() {
    let mut net = default_net();
    let data = b"DOWN-future-ack".repeat(5);
    let in_transit = in_flight_to_victim(&mut net, &data);
    let info = net.server().peer_info(net.v_s).unwrap();
    let st = net.server().service_time();
    let future = st.wrapping_add(1000);
    assert_eq!(st & 0x8000, future & 0x8000, "no half-wrap in this test");
    let before = net.drops();
    // Acks the real packet (channel 1, seq 1) but claims a future send time; a valid
    // command follows in the same datagram and must still be processed.
    let seq = net.forge_seq;
    net.forge_seq += 1;
    let dg = net
        .hdr()
        .ack(1, 1, future as u16)
        .reliable(FORGE_CH, seq, b"GOOD-after-future-ack")
        .bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnexpectedAcknowledge, 1)],
    );
    let after = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(after.reliable_data_in_transit, in_transit, "not removed");
    assert_eq!(after.rtt.round_trip_time, info.rtt.round_trip_time);
    assert_eq!(
        after.rtt.round_trip_time_variance,
        info.rtt.round_trip_time_variance
    );
    net.tb.run_for(ms(1));
    net.collect();
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), b"GOOD-after-future-ack".to_vec()]
    );
    victim_gets_exactly_once(&mut net, &data);
    net.check_both_still_work();
}

#[test]
fn reliable_command_without_sent_time() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let dg = net
        .hdr_no_time()
        .reliable(FORGE_CH, seq, b"GOOD-no-sent-time")
        .reliable(FORGE_CH, seq + 1, b"EVIL-after-missing-sent-time")
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::MissingSentTime, 1)]);
    // C handles the command but cannot acknowledge it, and stops there.
    let sent = net.drain_server();
    assert_eq!(net.acks_to(&sent, net.vaddr()), vec![]);
    // The sender's retransmission (with sent time) is a duplicate: acked, not redelivered.
    let dg = net
        .hdr()
        .reliable(FORGE_CH, seq, b"GOOD-no-sent-time")
        .bytes();
    net.inject(&dg);
    let sent = net.drain_server();
    assert_eq!(net.acks_to(&sent, net.vaddr()), vec![(FORGE_CH, seq)]);
    net.forge_seq += 1;
    net.forge_good(b"GOOD-next");
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![
            b"GOOD-probe".to_vec(),
            b"GOOD-no-sent-time".to_vec(),
            b"GOOD-next".to_vec()
        ]
    );
    // Unreliable commands need no sent time.
    let before = net.drops();
    let r = net.forge_seq - 1;
    let dg = net
        .hdr_no_time()
        .unreliable(FORGE_CH, r, 1, b"GOOD-unreliable")
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[]);
    net.settle();
    assert_eq!(net.forged_received().len(), 4);
    net.check_both_still_work();
}
