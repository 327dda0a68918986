//! `EnetConnection` over IPv6 loopback, by host name and on a dual-stack socket; the link
//! conditioner (loss and latency); and abuse of the API with out-of-range arguments while
//! the host keeps serving its other peers.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use enet::godot::{
    EnetConnection, EventType, HostStatistic, PeerStatistic, FLAG_RELIABLE,
    FLAG_UNRELIABLE_FRAGMENT, FLAG_UNSEQUENCED,
};
use enet::{CompressionMode, LinkConfig};

/// Exchanges one reliable packet each way over an established connection.
fn exchange(
    s: &mut EnetConnection,
    speer: enet::godot::PeerHandle,
    c: &mut EnetConnection,
    cpeer: enet::godot::PeerHandle,
) {
    c.peer(cpeer)
        .send(0, b"ping from client", FLAG_RELIABLE)
        .unwrap();
    s.peer(speer)
        .send(0, b"pong from server", FLAG_RELIABLE)
        .unwrap();
    let mut got = [false, false];
    assert!(pump(&mut [s, c], T, |i, conn, ev| {
        assert_eq!(ev.kind, EventType::Receive, "{i}: {ev:?}");
        let data = conn.peer(ev.peer.unwrap()).get_packet().unwrap();
        assert_eq!(
            &data[..],
            [&b"ping from client"[..], &b"pong from server"[..]][i]
        );
        got[i] = true;
        got[0] && got[1]
    }));
}

/// Pumps until both sides see CONNECT; returns the server's handle.
fn until_connected(
    s: &mut EnetConnection,
    c: &mut EnetConnection,
    cpeer: enet::godot::PeerHandle,
) -> enet::godot::PeerHandle {
    finish_connect(s, c, cpeer, 0).1
}

#[test]
fn ipv6_loopback() {
    let mut s = EnetConnection::new();
    if let Err(e) = s.create_host_bound("::1", 0, 4, 0, 0, 0) {
        eprintln!("skipped: cannot bind ::1 ({e})");
        return;
    }
    let port = s.get_local_port().unwrap();
    assert!(s.local_addr().unwrap().is_ipv6());
    for bound in [true, false] {
        let mut c = EnetConnection::new();
        if bound {
            c.create_host_bound("::1", 0, 1, 0, 0, 0).unwrap();
        } else {
            c.create_host(1, 0, 0, 0).unwrap();
        }
        let cpeer = c.connect_to_host("::1", port, 2, 0).unwrap();
        let speer = until_connected(&mut s, &mut c, cpeer);
        // Godot prints IPv6 as eight uncompressed groups.
        assert_eq!(
            s.peer(speer).get_remote_address().unwrap(),
            "0:0:0:0:0:0:0:1"
        );
        assert_eq!(
            c.peer(cpeer).get_remote_address().unwrap(),
            "0:0:0:0:0:0:0:1"
        );
        assert_eq!(c.peer(cpeer).get_remote_port().unwrap(), port);
        assert_eq!(
            s.peer(speer).get_remote_port().unwrap(),
            c.get_local_port().unwrap()
        );
        exchange(&mut s, speer, &mut c, cpeer);
        c.peer(cpeer).peer_disconnect(0).unwrap();
        assert!(pump(&mut [&mut s, &mut c], T, |i, _, ev| i == 0
            && ev.kind == EventType::Disconnect));
    }
    // An IPv4-only socket cannot reach an IPv6 address.
    let mut v4 = client();
    assert!(v4.connect_to_host("::1", port, 1, 0).is_err());
}

#[test]
fn connect_by_host_name_localhost() {
    // A dual-stack server, so either resolution of "localhost" reaches it.
    let mut s = EnetConnection::new();
    s.create_host_bound("*", 0, 4, 0, 0, 0).unwrap();
    let port = s.get_local_port().unwrap();
    for bind_v4 in [true, false] {
        let mut c = EnetConnection::new();
        if bind_v4 {
            c.create_host_bound("127.0.0.1", 0, 1, 0, 0, 0).unwrap();
        } else {
            c.create_host(1, 0, 0, 0).unwrap();
        }
        let cpeer = c.connect_to_host("localhost", port, 1, 0).unwrap();
        assert!(c.peer(cpeer).remote_addr().unwrap().ip().is_loopback());
        assert_eq!(c.peer(cpeer).get_remote_port().unwrap(), port);
        let speer = until_connected(&mut s, &mut c, cpeer);
        exchange(&mut s, speer, &mut c, cpeer);
        c.peer(cpeer).peer_disconnect_now(0).unwrap();
        assert!(pump(&mut [&mut s], T, |_, _, ev| ev.kind
            == EventType::Disconnect));
    }
}

#[test]
fn dual_stack_server_reachable_by_ipv4_client() {
    let mut s = EnetConnection::new();
    s.create_host_bound("*", 0, 4, 0, 0, 0).unwrap();
    let port = s.get_local_port().unwrap();
    let mut c = client(); // IPv4 socket on 127.0.0.1
    let cpeer = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    let speer = until_connected(&mut s, &mut c, cpeer);
    // The IPv4-mapped source is shown as a dotted quad, as in Godot.
    assert_eq!(s.peer(speer).get_remote_address().unwrap(), "127.0.0.1");
    assert_eq!(
        s.peer(speer).get_remote_port().unwrap(),
        c.get_local_port().unwrap()
    );
    assert_eq!(
        s.peer(speer).remote_addr().unwrap(),
        c.local_addr().unwrap()
    );
    assert_eq!(c.peer(cpeer).get_remote_address().unwrap(), "127.0.0.1");
    exchange(&mut s, speer, &mut c, cpeer);

    // An IPv6 client reaches the same server at the same time.
    let mut c6 = EnetConnection::new();
    if c6.create_host_bound("::1", 0, 1, 0, 0, 0).is_ok() {
        let cpeer6 = c6.connect_to_host("::1", port, 1, 0).unwrap();
        let speer6 = until_connected(&mut s, &mut c6, cpeer6);
        assert_eq!(
            s.peer(speer6).get_remote_address().unwrap(),
            "0:0:0:0:0:0:0:1"
        );
        exchange(&mut s, speer6, &mut c6, cpeer6);
        assert_eq!(s.get_peers(), vec![speer, speer6]);
    }
}

#[test]
fn link_conditioner_loss_is_close_to_configured() {
    const PACKETS: usize = 10_000;
    const BATCH: usize = 100;
    const LOSS: f64 = 0.30;
    let mut p = Pair::new(0, 1);
    // Deceleration 0: the packet throttle never drops unreliable packets at the sender, so
    // every packet becomes a datagram.
    p.client
        .peer(p.cpeer)
        .throttle_configure(5000, 2, 0)
        .unwrap();
    p.drain(Duration::from_millis(20));
    p.client
        .set_link_conditioner(Some(LinkConfig::new().with_loss(LOSS)), None)
        .unwrap();
    pop_all(&mut p.client);
    pop_all(&mut p.server);
    let mut received = 0usize;
    let mut sent = 0usize;
    let speer = p.speer;
    while sent < PACKETS {
        for _ in 0..BATCH {
            p.client
                .peer(p.cpeer)
                .send(0, &(sent as u32).to_le_bytes(), FLAG_UNSEQUENCED)
                .unwrap();
            // One packet per datagram.
            p.client.flush().unwrap();
            sent += 1;
        }
        // Release the conditioned datagrams, then let the server read them all.
        p.client.service(Duration::ZERO).unwrap();
        let quiet_for = Duration::from_millis(3);
        let mut last = Instant::now();
        while last.elapsed() < quiet_for {
            let ev = p.server.service(Duration::from_millis(1)).unwrap();
            match ev.kind {
                EventType::Receive => {
                    let data = p.server.peer(speer).get_packet().unwrap();
                    assert_eq!(data.len(), 4);
                    received += 1;
                    last = Instant::now();
                }
                EventType::None => {}
                other => panic!("{other:?}"),
            }
        }
    }
    p.drain(Duration::from_millis(20));
    let [_, c_sent, _, _] = pop_all(&mut p.client);
    let [_, _, _, s_recv] = pop_all(&mut p.server);
    let packet_loss = 1.0 - received as f64 / PACKETS as f64;
    let datagram_loss = 1.0 - s_recv as f64 / c_sent as f64;
    eprintln!(
        "packets {received}/{PACKETS} (loss {packet_loss:.4}); datagrams {s_recv}/{c_sent} \
         (loss {datagram_loss:.4})"
    );
    assert!(
        c_sent >= PACKETS as u64,
        "every packet was its own datagram: {c_sent}"
    );
    assert!(
        (packet_loss - LOSS).abs() <= 0.05,
        "packet loss {packet_loss}"
    );
    assert!(
        (datagram_loss - LOSS).abs() <= 0.05,
        "datagram loss {datagram_loss}"
    );

    // Switched off: no more loss.
    p.client.set_link_conditioner(None, None).unwrap();
    let mut n = 0;
    for k in 0..50u32 {
        p.client
            .peer(p.cpeer)
            .send(0, &k.to_le_bytes(), FLAG_RELIABLE)
            .unwrap();
    }
    assert!(p.pump(T, |i, _, ev| {
        assert_eq!((i, ev.kind), (0, EventType::Receive));
        n += 1;
        n == 50
    }));
}

#[test]
fn link_conditioner_latency_is_observed() {
    const DELAY: Duration = Duration::from_millis(60);
    let mut p = Pair::new(0, 1);
    p.client
        .set_link_conditioner(
            Some(LinkConfig::new().with_latency(DELAY, Duration::ZERO)),
            None,
        )
        .unwrap();
    p.server
        .set_link_conditioner(
            None,
            Some(LinkConfig::new().with_latency(DELAY, Duration::ZERO)),
        )
        .unwrap();
    for k in 0..3u8 {
        let t0 = Instant::now();
        p.client
            .peer(p.cpeer)
            .send(0, &[k; 10], FLAG_RELIABLE)
            .unwrap();
        let mut at = None;
        assert!(p.pump(T, |i, conn, ev| {
            assert_eq!((i, ev.kind), (0, EventType::Receive));
            assert_eq!(
                &conn.peer(ev.peer.unwrap()).get_packet().unwrap()[..],
                &[k; 10]
            );
            at = Some(t0.elapsed());
            true
        }));
        let at = at.unwrap();
        // Outgoing delay on the client plus incoming delay on the server.
        assert!(at >= 2 * DELAY, "one-way time {at:?}");
        assert!(
            at < 2 * DELAY + Duration::from_millis(500),
            "one-way time {at:?}"
        );
    }
    // The smoothed round-trip time climbs towards both delays (the acknowledgement path is
    // not delayed): feed it samples with bursts of reliable packets.
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        for k in 0..10u8 {
            p.client.peer(p.cpeer).send(0, &[k], FLAG_RELIABLE).unwrap();
        }
        p.drain(Duration::from_millis(150));
        let rtt = p
            .client
            .peer(p.cpeer)
            .get_statistic(PeerStatistic::RoundTripTime)
            .unwrap();
        if rtt >= DELAY.as_millis() as f64 {
            assert!(rtt < 2.0 * DELAY.as_millis() as f64 + 200.0, "RTT {rtt}");
            break;
        }
        assert!(
            Instant::now() < end,
            "RTT {rtt} ms never reflected the delay"
        );
    }
}

#[test]
fn abuse_of_one_peer_does_not_disturb_the_others() {
    let (mut s, port) = server(8, 4);
    let mut a = client();
    let mut b = client();
    let (apeer, sa) = connect(&mut s, &mut a, port, 4, 1);
    let (bpeer, sb) = connect(&mut s, &mut b, port, 4, 2);

    // Out-of-range arguments everywhere, on both ends of connection `a`. None may panic.
    for (conn, h) in [(&mut s, sa), (&mut a, apeer)] {
        let mut x = conn.peer(h);
        for ch in [4u8, 200, 255] {
            assert!(x.send(ch, b"bad channel", FLAG_RELIABLE).is_err());
        }
        for flags in [4u32, 0xF0, u32::MAX] {
            assert!(x.send(0, b"bad flags", flags).is_err());
        }
        assert!(x
            .send_bytes(0, Bytes::from(vec![7u8; 40 * 1024 * 1024]), FLAG_RELIABLE)
            .is_err());
        assert!(x.set_timeout(u32::MAX, 1, 0).is_err());
        assert!(x.set_timeout(3, 2, 1).is_err());
        x.ping_interval(u32::MAX).unwrap();
        x.ping_interval(1).unwrap();
        x.ping().unwrap();
        x.throttle_configure(u32::MAX, 0, 0).unwrap();
        // Kept: the throttle then runs with these on both ends.
        x.throttle_configure(1, u32::MAX, u32::MAX).unwrap();
        for st in [
            PeerStatistic::PacketLoss,
            PeerStatistic::PacketThrottleInterval,
        ] {
            x.get_statistic(st).unwrap();
        }
        // Unreliable fragments of a large packet and an empty unsequenced one.
        x.send(3, &vec![1u8; 20_000], FLAG_UNRELIABLE_FRAGMENT)
            .unwrap();
        x.send(2, &[], FLAG_UNSEQUENCED).unwrap();
        x.put_packet(&[]).unwrap();
    }
    assert!(s.broadcast(255, b"x", FLAG_RELIABLE).is_err());
    assert!(s.broadcast(0, b"x", u32::MAX).is_err());
    s.bandwidth_limit(u32::MAX, 1).unwrap();
    s.channel_limit(usize::MAX).unwrap();
    s.compress(CompressionMode::None).unwrap();
    assert!(s.pop_statistic(HostStatistic::TotalSentData).is_ok());
    // Garbage datagrams into the server from a's socket.
    for junk in [
        &[][..],
        &[0u8][..],
        &[0xFF; 3][..],
        &[0x80, 0, 0, 0, 0x0C, 0xFF][..],
    ] {
        a.socket_send("127.0.0.1", port, junk).unwrap();
    }
    a.socket_send("127.0.0.1", port, &[0xAA; 4000]).unwrap();
    // A handle from another host (index out of range there) is merely inactive.
    let mut foreign = EnetConnection::new();
    foreign.create_host(1, 0, 0, 0).unwrap();
    for h in [sa, sb] {
        assert!(!foreign.peer(h).is_active());
        assert!(foreign.peer(h).send(0, b"x", 0).is_err());
        assert!(foreign
            .peer(h)
            .get_statistic(PeerStatistic::RoundTripTime)
            .is_err());
    }

    // Service everyone for a while: throttle and ping timers run with the odd settings.
    drain(&mut [&mut s, &mut a, &mut b], Duration::from_millis(300));
    s.bandwidth_limit(0, 0).unwrap();

    // b is unaffected: data both ways.
    let mut got = [false, false];
    b.peer(bpeer)
        .send(1, b"b to server", FLAG_RELIABLE)
        .unwrap();
    s.peer(sb).send(1, b"server to b", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut [&mut s, &mut a, &mut b], T, |i, conn, ev| {
        if ev.peer == Some(sb) && i == 0 && ev.kind == EventType::Receive {
            assert_eq!(&conn.peer(sb).get_packet().unwrap()[..], b"b to server");
            got[0] = true;
        }
        if i == 2 && ev.kind == EventType::Receive {
            assert_eq!(&conn.peer(bpeer).get_packet().unwrap()[..], b"server to b");
            got[1] = true;
        }
        assert_ne!(ev.kind, EventType::Error);
        got[0] && got[1]
    }));
    assert!(s.peer(sb).is_active());
    assert_eq!(s.peer(sb).get_state(), enet::PeerState::Connected);
}
