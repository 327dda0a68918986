//! Tests of how a tick-driven caller drains a host (`service(Duration::ZERO)` until it
//! returns None, once a frame): the reads that costs ([`IoStats::receive_calls`]), and
//! that one zero-timeout call reads past datagrams that make no event, within a bound.

use super::tests::{connected_pair, localhost};
use super::*;

/// A connected pair (server, client, server's peer, client's peer) whose pings are 10
/// minutes apart and whose handshake traffic is over: nothing moves unless a test sends.
fn quiet_pair() -> (UdpHost, UdpHost, PeerId, PeerId) {
    let (mut server, mut client, speer, cpeer) = connected_pair(1, 0);
    for (h, p) in [(&mut server, speer), (&mut client, cpeer)] {
        h.set_ping_interval(p, Duration::from_secs(600)).unwrap();
    }
    for _ in 0..10 {
        assert_eq!(server.service(Duration::from_millis(2)).unwrap(), None);
        assert_eq!(client.service(Duration::from_millis(2)).unwrap(), None);
    }
    (server, client, speer, cpeer)
}

#[test]
fn a_zero_timeout_call_reads_past_eventless_datagrams_to_the_next_event() {
    // A tick-driven server's socket after a frame: hundreds of datagrams that make no
    // event (here junk; in a game, the clients' acknowledgements), then a packet. One
    // `service(ZERO)` must reach the packet, not return None after the first 256, which
    // would end the caller's drain and leave the queue to grow a frame at a time.
    let (mut server, mut client, _speer, cpeer) = quiet_pair();
    let junk = UdpSocket::bind(localhost()).unwrap();
    let n = 2 * MAX_DATAGRAMS_PER_WAKE + 10;
    for k in 0..n {
        junk.send_to(&[k as u8; 3], server.local_addr()).unwrap();
    }
    client
        .send(cpeer, 0, Packet::reliable(&b"after the junk"[..]))
        .unwrap();
    client.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let before = server.io_stats().datagrams_received;
    let ev = server.service(Duration::ZERO).unwrap();
    let Some(Event::Receive { packet, .. }) = ev else {
        panic!("expected the packet behind {n} junk datagrams, got {ev:?}")
    };
    assert_eq!(&packet.data[..], &b"after the junk"[..]);
    assert_eq!(
        server.io_stats().datagrams_received - before,
        n as u64 + 1,
        "three rounds read all of it"
    );
}

#[test]
fn a_flood_cannot_hold_a_zero_timeout_call() {
    // Reading on past the first round is bounded: one call reads at most one round of
    // MAX_DATAGRAMS_PER_WAKE and MAX_EXTRA_DATAGRAMS more (exactly, without GRO), whatever
    // is queued.
    let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    // Room for the whole flood where the system allows it (else the kernel drops some
    // and the bound is checked only if more than it was kept).
    let _ = socket2::SockRef::from(host.socket()).set_recv_buffer_size(16 << 20);
    let limit = MAX_DATAGRAMS_PER_WAKE + super::service::MAX_EXTRA_DATAGRAMS;
    let sender = UdpSocket::bind(localhost()).unwrap();
    for k in 0..limit + 500 {
        let _ = sender.send_to(&[k as u8; 3], host.local_addr());
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(host.service(Duration::ZERO).unwrap(), None);
    let first = host.io_stats().datagrams_received;
    assert!(first <= limit as u64, "{first} read by one call");
    assert_eq!(host.service(Duration::ZERO).unwrap(), None);
    let second = host.io_stats().datagrams_received - first;
    if second > 0 {
        // The kernel kept more than one call may read: the first stopped at the bound.
        assert_eq!(first, limit as u64, "then {second} more");
    }
}

#[test]
fn a_tick_drain_reads_once_per_batch_not_once_per_event() {
    // A game server's tick: `service(ZERO)` until it returns None, replying to each
    // Receive, then flush. The first call reads everything queued (one recvmmsg per
    // batch); the calls that hand out the events it made read nothing; only the last call
    // (the one that sends the replies and finds the queue empty) reads once more.
    let (mut server, mut client, _speer, cpeer) = quiet_pair();
    let k = 100u32;
    for i in 0..k {
        // One datagram each: a flush per packet.
        client
            .send(cpeer, 0, Packet::reliable(i.to_le_bytes().to_vec()))
            .unwrap();
        client.flush().unwrap();
    }
    // Loopback delivers within the send call; a moment more for a loaded machine.
    std::thread::sleep(Duration::from_millis(20));
    let before = server.io_stats();
    let mut got = Vec::new();
    let mut reads_while_handing_out = 0;
    let mut last = before.receive_calls;
    while let Some(ev) = server.service(Duration::ZERO).unwrap() {
        let Event::Receive { peer, packet, .. } = ev else {
            panic!("unexpected {ev:?}")
        };
        if !got.is_empty() && server.io_stats().receive_calls != last {
            reads_while_handing_out += 1;
        }
        last = server.io_stats().receive_calls;
        got.push(u32::from_le_bytes(packet.data[..4].try_into().unwrap()));
        server.send(peer, 0, packet).unwrap();
    }
    server.flush().unwrap();
    assert_eq!(got, (0..k).collect::<Vec<_>>(), "every packet, in order");
    let after = server.io_stats();
    assert_eq!(
        after.datagrams_received - before.datagrams_received,
        k as u64
    );
    let reads = after.receive_calls - before.receive_calls;
    // Batched I/O: ceil(100 / 32) = 4 reads fetch the 100 datagrams (the 4th comes back
    // short, so the queue is known empty), then one read by the call that returns None.
    // Elsewhere one recv_from per datagram, one that would block, and the last call's.
    #[cfg(batched_io)]
    let most = (k as u64).div_ceil(crate::sys::BATCH as u64) + 1;
    #[cfg(not(batched_io))]
    let most = k as u64 + 2;
    assert!(
        reads <= most,
        "{reads} reads for {k} datagrams (at most {most})"
    );
    // Handing out the events of a batch already read costs no read; a new batch is read
    // only when the engine's events ran out (batched: none of the 100 calls).
    if cfg!(batched_io) {
        assert_eq!(reads_while_handing_out, 0, "{reads} reads in all");
    }
    // The echoes arrive.
    let mut echoed = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while echoed < k {
        assert!(Instant::now() < deadline, "{echoed} of {k} echoes arrived");
        if let Some(Event::Receive { .. }) = client.service(Duration::from_millis(10)).unwrap() {
            echoed += 1;
        }
    }
}
