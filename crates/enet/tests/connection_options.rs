//! `EnetConnection` (Godot's `ENetConnection`): the host options that shape traffic, on
//! 127.0.0.1 with ephemeral ports: bandwidth limits reaching the remote, compression modes and
//! checksums (matching and mismatched), `pop_statistic`, and the link conditioner's settings
//! and counters. The host's life cycle is in `connection.rs`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use enet::godot::{EnetConnection, EventType, FLAG_RELIABLE};
use enet::{CompressionMode, LinkConfig};

#[test]
fn bandwidth_limits_reach_the_remote() {
    // Bandwidths given at creation travel in CONNECT / VERIFY_CONNECT.
    let mut s = EnetConnection::new();
    s.create_host_bound("127.0.0.1", 0, 4, 0, 300_000, 200_000)
        .unwrap();
    let port = s.get_local_port().unwrap();
    let mut c = EnetConnection::new();
    c.create_host_bound("127.0.0.1", 0, 1, 0, 12_345, 154_321)
        .unwrap();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 1, 0);
    let sinfo = s
        .udp_host()
        .unwrap()
        .peer_info(s.native_peer_id(speer).unwrap())
        .unwrap();
    assert_eq!(
        (
            sinfo.bandwidth.incoming_bandwidth,
            sinfo.bandwidth.outgoing_bandwidth
        ),
        (12_345, 154_321)
    );
    let cinfo = c
        .udp_host()
        .unwrap()
        .peer_info(c.native_peer_id(cpeer).unwrap())
        .unwrap();
    assert_eq!(
        (
            cinfo.bandwidth.incoming_bandwidth,
            cinfo.bandwidth.outgoing_bandwidth
        ),
        (300_000, 200_000)
    );

    // bandwidth_limit changes ours and tells the peers (BANDWIDTH_LIMIT, within ~1 s). The
    // incoming figure sent is this peer's share of ours (ENet gives a peer whose own upload
    // is below its share that upload instead; 154_321 is above the share here).
    s.bandwidth_limit(100_000, 50_000).unwrap();
    assert_eq!(s.udp_host().unwrap().config().incoming_bandwidth, 100_000);
    assert_eq!(s.udp_host().unwrap().config().outgoing_bandwidth, 50_000);
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        drain(&mut [&mut s, &mut c], Duration::from_millis(20));
        let i = c
            .udp_host()
            .unwrap()
            .peer_info(c.native_peer_id(cpeer).unwrap())
            .unwrap();
        if (
            i.bandwidth.incoming_bandwidth,
            i.bandwidth.outgoing_bandwidth,
        ) == (100_000, 50_000)
        {
            break;
        }
        assert!(Instant::now() < end, "BANDWIDTH_LIMIT not seen: {i:?}");
    }
    // 0 = unlimited, and Godot does no sign validation (u32 here): u32::MAX is accepted.
    s.bandwidth_limit(0, u32::MAX).unwrap();
    assert_eq!(s.udp_host().unwrap().config().outgoing_bandwidth, u32::MAX);
    // Traffic still flows.
    c.peer(cpeer).send(0, b"still here", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, _, ev| i == 0
        && ev.kind == EventType::Receive));
}

#[test]
fn compression_modes_exchange_data_and_must_match() {
    // Both sides with the range coder: data flows and the wire carries fewer bytes.
    let (mut s, port) = server(4, 0);
    let mut c = client();
    s.compress(CompressionMode::RangeCoder).unwrap();
    c.compress(CompressionMode::RangeCoder).unwrap();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 2, 0);
    drain(&mut [&mut s, &mut c], Duration::from_millis(20));
    c.flush().unwrap();
    pop_all(&mut c);
    let text: Vec<u8> = b"ENet range coder over loopback. ".repeat(30);
    c.peer(cpeer).send(1, &text, FLAG_RELIABLE).unwrap();
    c.flush().unwrap();
    let [sent_data, sent_packets, _, _] = pop_all(&mut c);
    assert_eq!(sent_packets, 1);
    assert!(
        (sent_data as usize) < text.len() / 2,
        "{sent_data} bytes on the wire for {} bytes of text",
        text.len()
    );
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind, ev.channel), (0, EventType::Receive, 1));
        assert_eq!(conn.peer(speer).get_packet().unwrap(), &text[..]);
        true
    }));
    // Back to no compression on both sides, mid-connection.
    s.compress(CompressionMode::None).unwrap();
    c.compress(CompressionMode::None).unwrap();
    s.peer(speer).send(0, &text, FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (1, EventType::Receive));
        assert_eq!(conn.peer(cpeer).get_packet().unwrap(), &text[..]);
        true
    }));

    // Only the server compresses: the client cannot read the compressed datagram, drops
    // it, and no packet is delivered.
    s.compress(CompressionMode::RangeCoder).unwrap();
    s.peer(speer).send(0, &text, FLAG_RELIABLE).unwrap();
    let log = drain(&mut [&mut s, &mut c], Duration::from_millis(100));
    assert!(log[1].is_empty(), "{:?}", log[1]);
    assert!(
        c.udp_host()
            .unwrap()
            .drop_stats()
            .get(enet_proto::DropReason::NoDecompressor)
            >= 1
    );
    // Agreeing again, the retransmission gets through.
    c.compress(CompressionMode::RangeCoder).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (1, EventType::Receive));
        assert_eq!(conn.peer(cpeer).get_packet().unwrap(), &text[..]);
        true
    }));
}

#[test]
fn checksum_on_both_sides_works_and_mismatch_is_dropped() {
    let (mut s, port) = server(4, 0);
    let mut c = client();
    s.set_checksum(true).unwrap();
    c.set_checksum(true).unwrap();
    let (cpeer, _) = connect(&mut s, &mut c, port, 1, 0);
    c.peer(cpeer).send(0, b"crc", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        assert_eq!(
            &conn.peer(ev.peer.unwrap()).get_packet().unwrap()[..],
            b"crc"
        );
        true
    }));
    c.set_checksum(false).unwrap();
    s.set_checksum(false).unwrap();

    let (mut s2, port2) = server(4, 0);
    s2.set_checksum(true).unwrap();
    let mut c2 = client();
    c2.connect_to_host("127.0.0.1", port2, 1, 0).unwrap();
    let log = drain(&mut [&mut s2, &mut c2], Duration::from_millis(200));
    assert!(log[0].is_empty() && log[1].is_empty(), "{log:?}");
    assert!(
        s2.udp_host()
            .unwrap()
            .drop_stats()
            .get(enet_proto::DropReason::ChecksumMismatch)
            >= 1
    );
}

#[test]
fn pop_statistic_fresh_host_is_zero() {
    let mut c = EnetConnection::new();
    c.create_host(4, 0, 0, 0).unwrap();
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);
    c.service(Duration::from_millis(5)).unwrap();
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);
}

#[test]
fn pop_statistic_exact_after_known_exchange() {
    const N: usize = 20;
    const SIZE: usize = 100;
    let (mut s, port) = server(4, 0);
    let mut c = client();
    let (cpeer, speer) = connect(&mut s, &mut c, port, 1, 0);
    // Let the handshake's acknowledgements settle.
    drain(&mut [&mut s, &mut c], Duration::from_millis(30));

    // Whole lifetime so far: what one side sent, the other received (no loss on
    // loopback), and popping equals the engine's totals.
    let st = s.udp_host().unwrap().totals();
    let ct = c.udp_host().unwrap().totals();
    let sp = pop_all(&mut s);
    let cp = pop_all(&mut c);
    assert_eq!(
        sp,
        [
            st.sent_data,
            st.sent_packets,
            st.received_data,
            st.received_packets
        ]
    );
    assert_eq!(
        cp,
        [
            ct.sent_data,
            ct.sent_packets,
            ct.received_data,
            ct.received_packets
        ]
    );
    assert_eq!(
        (cp[0], cp[1]),
        (sp[2], sp[3]),
        "client sent = server received"
    );
    assert_eq!(
        (sp[0], sp[1]),
        (cp[2], cp[3]),
        "server sent = client received"
    );
    assert!(
        cp[1] >= 2 && sp[1] >= 1,
        "CONNECT, ACK / VERIFY_CONNECT: {cp:?} {sp:?}"
    );
    // Popping reset them.
    assert_eq!(pop_all(&mut s), [0, 0, 0, 0]);
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);

    // N reliable packets, each flushed into its own datagram: exactly N datagrams of
    // 4 (header with sent time) + 6 (SEND_RELIABLE) + SIZE bytes.
    for k in 0..N {
        c.peer(cpeer)
            .send(0, &[k as u8; SIZE], FLAG_RELIABLE)
            .unwrap();
        c.flush().unwrap();
    }
    assert_eq!(pop_all(&mut c), [(N * (10 + SIZE)) as u64, N as u64, 0, 0]);
    let mut got = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |i, conn, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        assert_eq!(
            &conn.peer(speer).get_packet().unwrap()[..],
            &[got as u8; SIZE]
        );
        got += 1;
        got == N
    }));
    // Graceful disconnect; run both until they are quiet.
    c.peer(cpeer).peer_disconnect(99).unwrap();
    let mut downs = 0;
    assert!(pump(&mut [&mut s, &mut c], T, |_, _, ev| {
        assert_eq!(ev.kind, EventType::Disconnect);
        downs += 1;
        downs == 2
    }));
    drain(&mut [&mut s, &mut c], Duration::from_millis(50));
    let sp = pop_all(&mut s);
    let mut cp = pop_all(&mut c);
    // Add the N datagrams popped above.
    cp[0] += (N * (10 + SIZE)) as u64;
    cp[1] += N as u64;
    assert_eq!(
        (cp[0], cp[1]),
        (sp[2], sp[3]),
        "client→server: {cp:?} {sp:?}"
    );
    assert_eq!(
        (sp[0], sp[1]),
        (cp[2], cp[3]),
        "server→client: {cp:?} {sp:?}"
    );
    // The client sent at least the N packets and the DISCONNECT (4 + 8 bytes).
    assert!(
        cp[1] > N as u64 && cp[0] >= (N * (10 + SIZE) + 12) as u64,
        "{cp:?}"
    );
    // The server acknowledged N packets and the DISCONNECT: N + 1 ACK commands of 8 bytes,
    // in datagrams with at least a 2-byte header.
    assert!(
        sp[1] >= 1 && sp[0] >= 8 * (N as u64 + 1) + 2 * sp[1],
        "{sp:?}"
    );
    // Nothing more happens once both are disconnected.
    drain(&mut [&mut s, &mut c], Duration::from_millis(30));
    assert_eq!(pop_all(&mut s), [0, 0, 0, 0]);
    assert_eq!(pop_all(&mut c), [0, 0, 0, 0]);
}

#[test]
fn set_link_conditioner_and_engine_accessors() {
    let (mut s, _) = server(4, 0);
    s.set_link_conditioner(Some(LinkConfig::new().with_loss(0.1)), None)
        .unwrap();
    s.set_link_conditioner(None, Some(LinkConfig::new()))
        .unwrap();
    s.set_link_conditioner(None, None).unwrap();
    s.set_busy_poll_limit(Duration::ZERO).unwrap();
    s.set_busy_poll_limit(Duration::from_micros(20)).unwrap();
    let e = s.udp_host().unwrap();
    assert_eq!(e.peer_count(), 4);
    assert_eq!(e.connected_peers(), 0);
}

#[test]
fn link_conditioner_stats_count_what_the_conditioner_did() {
    let (_s, port) = server(4, 0);
    let mut c = client();
    assert!(c.link_conditioner_stats().unwrap().is_none());
    // Everything this client sends is lost: its CONNECT attempts never reach the server.
    c.set_link_conditioner(Some(LinkConfig::new().with_loss(1.0)), None)
        .unwrap();
    c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    // Wait for the first CONNECT and its retransmission (due after 500 ms).
    let end = Instant::now() + Duration::from_secs(5);
    let sent = |c: &EnetConnection| c.link_conditioner_stats().unwrap().unwrap().0.sent;
    while sent(&c) < 2 && Instant::now() < end {
        c.service(Duration::from_millis(50)).unwrap();
    }
    let (out, inc) = c
        .link_conditioner_stats()
        .unwrap()
        .expect("a conditioner is set");
    assert!(out.sent >= 2, "{out:?}");
    assert_eq!(out.dropped_loss, out.sent, "{out:?}");
    assert_eq!(out.delivered, 0, "{out:?}");
    assert_eq!(inc.sent, 0, "nothing came back: {inc:?}");
    c.set_link_conditioner(None, None).unwrap();
    assert!(c.link_conditioner_stats().unwrap().is_none());
}
