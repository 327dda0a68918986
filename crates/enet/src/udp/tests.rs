//! Tests of the driver over real loopback sockets (and, on Linux, of the batched send
//! policy with a scripted kernel).

use super::*;
use enet_proto::{DisconnectReason, PacketFlags};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Services both hosts in turn until `pred` accepts an event of `which` (0 = a, 1 = b);
/// every event seen is returned in `log`.
fn pump_until(
    a: &mut UdpHost,
    b: &mut UdpHost,
    limit: Duration,
    mut pred: impl FnMut(usize, &Event) -> bool,
) -> Option<(usize, Event)> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        for (i, h) in [&mut *a, &mut *b].into_iter().enumerate() {
            if let Some(ev) = h.service(Duration::from_millis(1)).unwrap() {
                if pred(i, &ev) {
                    return Some((i, ev));
                }
            }
        }
    }
    None
}

pub(super) fn connected_pair(channels: usize, data: u32) -> (UdpHost, UdpHost, PeerId, PeerId) {
    let mut server = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let cpeer = client.connect(server.local_addr(), channels, data).unwrap();
    let mut speer = None;
    let mut client_up = false;
    pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
        match (i, ev) {
            (0, Event::Connect { peer, data: d }) => {
                assert_eq!(*d, data);
                speer = Some(*peer);
            }
            (1, Event::Connect { peer, data: d }) => {
                assert_eq!((*peer, *d), (cpeer, 0));
                client_up = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
        speer.is_some() && client_up
    })
    .expect("both sides connect");
    let speer = speer.unwrap();
    assert_eq!(
        server.host().peer_info(speer).unwrap().channel_count,
        channels
    );
    assert_eq!(
        server.host().peer_info(speer).unwrap().address,
        client.local_addr()
    );
    (server, client, speer, cpeer)
}

#[test]
fn normalize_maps_v4_mapped_v6() {
    let mapped = SocketAddr::new(
        IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped()),
        9000,
    );
    assert_eq!(normalize_addr(mapped), "127.0.0.1:9000".parse().unwrap());
    let v6: SocketAddr = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 9000);
    assert_eq!(normalize_addr(v6), v6);
    let v4: SocketAddr = "10.1.2.3:4".parse().unwrap();
    assert_eq!(normalize_addr(v4), v4);
}

#[test]
fn an_idle_host_hardly_ever_spins() {
    let mut h = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    assert_eq!(h.busy_poll_limit(), DEFAULT_BUSY_POLL_LIMIT);
    for _ in 0..300 {
        assert!(h.service(Duration::from_micros(200)).unwrap().is_none());
    }
    // (How many of these calls slept depends on scheduling: a call whose timeout has
    // passed by the time it would wait returns at once. Spins are what matters here.)
    let s = h.io_stats();
    // Two spins at the start and one probe per 256 sleeps; a little slack for calls
    // that return without sleeping under load.
    assert!(s.spins <= 5, "an idle host stops spinning: {s:?}");
    // Waits shorter than the limit (each spin cut short) must not keep it spinning either.
    let before = h.io_stats().spins;
    for _ in 0..2000 {
        h.service(Duration::from_micros(30)).unwrap();
    }
    let short = h.io_stats().spins - before;
    assert!(short <= 12, "{short} spins in 2000 short waits");
    let s = h.io_stats();
    h.set_busy_poll_limit(Duration::ZERO);
    for _ in 0..600 {
        h.service(Duration::from_micros(200)).unwrap();
    }
    assert_eq!(h.io_stats().spins, s.spins, "a zero limit never spins");
}

#[test]
fn invalid_config_is_a_typed_invalid_parameter() {
    let cfg = HostConfig::default().with_peer_count(0);
    let err = UdpHost::bind(localhost(), cfg).unwrap_err();
    assert!(
        matches!(
            err,
            crate::Error::InvalidParameter(crate::Invalid::Config(
                enet_proto::Error::InvalidConfig(_)
            ))
        ),
        "{err:?}"
    );
    assert_eq!(err.godot_code(), 31);
}

#[test]
fn connect_exchange_and_disconnect_with_data() {
    let (mut server, mut client, speer, cpeer) = connected_pair(3, 0xC0FFEE);
    let kinds = [
        (0u8, PacketFlags::RELIABLE),
        (1, PacketFlags::UNRELIABLE),
        (2, PacketFlags::UNSEQUENCED),
    ];
    for (k, &(ch, flags)) in kinds.iter().enumerate() {
        let payload = vec![k as u8 + 1; 100 + k];
        client
            .send(cpeer, ch, Packet::new(payload.clone(), flags))
            .unwrap();
        server.send(speer, ch, Packet::new(payload, flags)).unwrap();
    }
    // A reliable packet spanning several fragments, too.
    let big: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    client
        .send(cpeer, 0, Packet::reliable(big.clone()))
        .unwrap();

    let mut got = [Vec::new(), Vec::new()];
    pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
        let Event::Receive {
            channel_id, packet, ..
        } = ev
        else {
            panic!("unexpected {ev:?}")
        };
        got[i].push((*channel_id, packet.clone()));
        got[0].len() == 4 && got[1].len() == 3
    })
    .expect("all packets arrive on a clean loopback");
    for side in &got {
        for (k, &(ch, flags)) in kinds.iter().enumerate() {
            let (_, p) = side
                .iter()
                .find(|(c, _)| *c == ch)
                .expect("packet on channel");
            assert_eq!(&p.data[..], &vec![k as u8 + 1; 100 + k][..]);
            assert_eq!(
                p.flags.contains(PacketFlags::RELIABLE),
                flags == PacketFlags::RELIABLE
            );
            assert_eq!(
                p.flags.contains(PacketFlags::UNSEQUENCED),
                flags == PacketFlags::UNSEQUENCED
            );
        }
    }
    let reliable: Vec<_> = got[0].iter().filter(|(c, _)| *c == 0).collect();
    assert_eq!(reliable.len(), 2);
    assert_eq!(
        &reliable[1].1.data[..],
        &big[..],
        "fragments reassembled in order"
    );

    client.disconnect(cpeer, 77).unwrap();
    let mut seen = [None, None];
    pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
        if let Event::Disconnect { data, reason, .. } = ev {
            seen[i] = Some((*data, *reason));
        }
        seen.iter().all(Option::is_some)
    })
    .expect("both sides see the disconnect");
    assert_eq!(seen[0], Some((77, DisconnectReason::Remote)));
    assert_eq!(seen[1], Some((0, DisconnectReason::Local)));
    assert_eq!(server.host().connected_peers(), 0);
    assert_eq!(client.host().connected_peers(), 0);
}

#[test]
fn idle_service_waits_about_the_timeout() {
    let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    for ms in [0u64, 30, 120] {
        let timeout = Duration::from_millis(ms);
        let t0 = Instant::now();
        assert_eq!(host.service(timeout).unwrap(), None);
        let elapsed = t0.elapsed();
        assert!(elapsed >= timeout.mul_f64(0.9), "{ms} ms: {elapsed:?}");
        assert!(
            elapsed <= timeout + Duration::from_millis(250),
            "{ms} ms: {elapsed:?}"
        );
    }
    // No peers, no timers: one wait per call, no spinning.
    assert!(host.io_stats().waits <= 4, "{:?}", host.io_stats());
}

#[test]
fn connected_idle_service_does_not_spin() {
    let (mut server, mut client, _, _) = connected_pair(1, 0);
    let before = server.io_stats().waits + client.io_stats().waits;
    let timeout = Duration::from_millis(150);
    let t0 = Instant::now();
    let mut events = 0;
    while t0.elapsed() < timeout {
        events += server.service(Duration::from_millis(50)).unwrap().is_some() as u32;
        events += client.service(Duration::from_millis(50)).unwrap().is_some() as u32;
    }
    assert_eq!(events, 0);
    let waits = server.io_stats().waits + client.io_stats().waits - before;
    // Six-ish calls, plus the odd wake-up for a ping or a throttle epoch; a busy loop
    // would show thousands.
    assert!(waits < 60, "{waits} waits in {:?}", t0.elapsed());
    eprintln!("{waits} waits in {:?}", t0.elapsed());
}

#[test]
fn pending_event_returned_without_waiting() {
    let (mut server, mut client, _, cpeer) = connected_pair(1, 0);
    for k in 0..3u8 {
        client.send(cpeer, 0, Packet::reliable(vec![k; 8])).unwrap();
    }
    client.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // The first service reads all three and returns the first; the rest are queued.
    assert!(matches!(
        server.service(Duration::from_secs(1)).unwrap(),
        Some(Event::Receive { .. })
    ));
    let t0 = Instant::now();
    assert!(server.check_events().is_some());
    assert!(matches!(
        server.service(Duration::from_secs(10)).unwrap(),
        Some(Event::Receive { .. })
    ));
    assert!(t0.elapsed() < Duration::from_millis(100));
    assert_eq!(server.check_events(), None);
}

#[test]
fn connecting_to_a_closed_port_is_not_an_error() {
    let closed = UdpSocket::bind(localhost()).unwrap().local_addr().unwrap();
    let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    host.connect(closed, 1, 0).unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(150) {
        // ICMP port unreachable must not surface as an error.
        assert_eq!(host.service(Duration::from_millis(50)).unwrap(), None);
    }
    assert!(host.io_stats().datagrams_sent >= 1);
}

/// A reply to a reliable packet leaves in one datagram with the packet's acknowledgement,
/// as with the C library: the call that returns the Receive event sends nothing, the next
/// one sends the acknowledgement and the reply together (and the client, acknowledged,
/// has nothing to resend).
#[test]
fn a_reply_leaves_with_the_acknowledgement() {
    let (mut server, mut client, speer, cpeer) = connected_pair(1, 0);
    server
        .set_ping_interval(speer, Duration::from_secs(600))
        .unwrap();
    client
        .set_ping_interval(cpeer, Duration::from_secs(600))
        .unwrap();
    // The handshake's last acknowledgements settle; nothing else is due.
    for _ in 0..10 {
        assert_eq!(server.service(Duration::from_millis(2)).unwrap(), None);
        assert_eq!(client.service(Duration::from_millis(2)).unwrap(), None);
    }
    client
        .send(cpeer, 0, Packet::reliable(&b"ping"[..]))
        .unwrap();
    client.flush().unwrap();
    let before = server.io_stats().datagrams_sent;
    let deadline = Instant::now() + Duration::from_secs(10);
    let ev = loop {
        assert!(Instant::now() < deadline, "the packet never arrived");
        if let Some(ev) = server.service(Duration::from_millis(50)).unwrap() {
            break ev;
        }
    };
    let Event::Receive { peer, packet, .. } = ev else {
        panic!("unexpected {ev:?}")
    };
    assert_eq!((peer, &packet.data[..]), (speer, &b"ping"[..]));
    assert_eq!(
        server.io_stats().datagrams_sent,
        before,
        "the acknowledgement waits for the reply"
    );
    server
        .send(speer, 0, Packet::reliable(&b"pong"[..]))
        .unwrap();
    assert_eq!(server.service(Duration::ZERO).unwrap(), None);
    assert_eq!(
        server.io_stats().datagrams_sent,
        before + 1,
        "acknowledgement and reply in one datagram"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the reply never arrived");
        if let Some(ev) = client.service(Duration::from_millis(50)).unwrap() {
            let Event::Receive { packet, .. } = ev else {
                panic!("unexpected {ev:?}")
            };
            assert_eq!(&packet.data[..], &b"pong"[..]);
            break;
        }
    }
    assert_eq!(
        client
            .host()
            .peer_info(cpeer)
            .unwrap()
            .reliable_data_in_transit,
        0,
        "the client's packet was acknowledged"
    );
}

#[test]
fn one_service_reads_many_datagrams() {
    // More than one recvmmsg batch and more than MAX_DATAGRAMS_PER_WAKE are queued before
    // a zero-timeout call; none makes an event, and the first round's read stops at its
    // limit, so the call reads on in a second round: all of them in one call.
    let mut host = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let sender = UdpSocket::bind(localhost()).unwrap();
    let total = MAX_DATAGRAMS_PER_WAKE + 44;
    for k in 0..total {
        // Not ENet: the engine ignores them, but the driver counts them.
        sender.send_to(&[k as u8; 3], host.local_addr()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(host.service(Duration::ZERO).unwrap(), None);
    assert_eq!(host.io_stats().datagrams_received, total as u64);
    let reads = host.io_stats().receive_calls;
    assert_eq!(host.service(Duration::ZERO).unwrap(), None);
    assert_eq!(host.io_stats().datagrams_received, total as u64);
    assert_eq!(
        host.io_stats().receive_calls,
        reads + 1,
        "one read finds nothing"
    );
}

#[test]
fn hundreds_of_datagrams_in_one_flush_all_arrive() {
    let (mut server, mut client, _, cpeer) = connected_pair(1, 0);
    let before = client.io_stats().datagrams_sent;
    let n = 200u32;
    for k in 0..n {
        // About an MTU each, so each goes in a datagram of its own.
        let mut payload = vec![0u8; 1200];
        payload[..4].copy_from_slice(&k.to_le_bytes());
        client
            .send(cpeer, 0, Packet::new(payload, PacketFlags::UNSEQUENCED))
            .unwrap();
    }
    client.flush().unwrap();
    assert!(client.io_stats().datagrams_sent - before >= n as u64);
    let mut seen = vec![false; n as usize];
    let mut count = 0;
    pump_until(&mut server, &mut client, Duration::from_secs(5), |i, ev| {
        let Event::Receive { packet, .. } = ev else {
            panic!("unexpected {ev:?}")
        };
        assert_eq!(i, 0);
        let k = u32::from_le_bytes(packet.data[..4].try_into().unwrap());
        assert!(!seen[k as usize], "duplicate {k}");
        seen[k as usize] = true;
        count += 1;
        count == n
    })
    .expect("all datagrams arrive on a clean loopback");
}

#[cfg(batched_io)]
#[test]
fn partial_sends_and_errors_in_a_batch() {
    use super::batched::send_pending;
    use crate::sys::{SendBatch, BATCH};
    let fill = |tx: &mut SendBatch, n: usize| {
        for k in 0..n {
            tx.next_buf().clear();
            tx.next_buf().push(k as u8);
            tx.push(SocketAddr::from(([127, 0, 0, 1], 1000 + k as u16)));
        }
    };
    let mut tx = SendBatch::new(16, false);
    fill(&mut tx, BATCH);
    assert!(tx.is_full());
    let mut stats = IoStats::default();
    // The kernel takes 5, refuses one (would block), takes 3, reports an ICMP error for
    // one, is interrupted, then takes the rest.
    let mut script: Vec<io::Result<usize>> = vec![
        Ok(5),
        Err(io::ErrorKind::WouldBlock.into()),
        Ok(3),
        Err(io::ErrorKind::ConnectionRefused.into()),
        Err(io::ErrorKind::Interrupted.into()),
        Ok(BATCH - 10),
    ];
    script.reverse();
    let mut firsts = Vec::new();
    send_pending(&mut tx, &mut stats, |tx| {
        firsts.push(tx.first_dest().unwrap().port() - 1000);
        script.pop().unwrap()
    })
    .unwrap();
    assert!(script.is_empty());
    assert_eq!(firsts, [0, 5, 6, 9, 10, 10]);
    assert!(!tx.has_pending());
    assert_eq!(stats.datagrams_sent, BATCH as u64 - 2);
    assert_eq!(stats.send_would_block, 1);
    assert_eq!(stats.send_errors, 1);

    // Errors about one destination in the middle of a batch: each drops its datagram
    // only, the rest of the batch is sent.
    fill(&mut tx, 8);
    let mut stats = IoStats::default();
    let mut script: Vec<io::Result<usize>> = vec![
        Ok(2),
        Err(io::Error::from_raw_os_error(libc::EINVAL)),
        Err(io::Error::from_raw_os_error(libc::EPERM)),
        Ok(1),
        Err(io::Error::from_raw_os_error(libc::EMSGSIZE)),
        Ok(3),
    ];
    script.reverse();
    send_pending(&mut tx, &mut stats, |_| script.pop().unwrap()).unwrap();
    assert!(script.is_empty() && !tx.has_pending());
    assert_eq!((stats.datagrams_sent, stats.send_errors), (6, 3));

    // An error of the socket is returned; the failed datagram is dropped and the rest
    // stay queued for the next flush.
    fill(&mut tx, 4);
    let mut stats = IoStats::default();
    let mut script = vec![Err(io::Error::from_raw_os_error(libc::EBADF)), Ok(1)];
    let err = send_pending(&mut tx, &mut stats, |_| script.pop().unwrap()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    assert!(tx.has_pending());
    assert_eq!(tx.first_dest().unwrap().port(), 1002);
    send_pending(&mut tx, &mut stats, |_| Ok(2)).unwrap();
    assert!(!tx.has_pending());
    assert_eq!(stats.datagrams_sent, 3);
}

#[test]
fn dual_stack_socket_talks_to_ipv4_peer() {
    // An IPv6 socket bound to the IPv4-mapped loopback receives IPv4 traffic with
    // `::ffff:127.0.0.1` sources. Skipped quietly where the system refuses that.
    let mapped = SocketAddr::new(IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()), 0);
    let Ok(mut server) = UdpHost::bind(mapped, HostConfig::default()) else {
        eprintln!("skipped: cannot bind {mapped}");
        return;
    };
    assert!(server.local_addr().is_ipv6());
    let port = server.local_addr().port();
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let target = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    client.connect(target, 1, 5).unwrap();
    let mut ok = [false, false];
    let done = pump_until(&mut server, &mut client, Duration::from_secs(2), |i, ev| {
        if let Event::Connect { .. } = ev {
            ok[i] = true;
        }
        ok[0] && ok[1]
    });
    if done.is_none() {
        eprintln!("skipped: no IPv4 traffic on an IPv6 socket here");
        return;
    }
    let peers: Vec<_> = server.host().active_peers().collect();
    let addr = server.host().peer_info(peers[0]).unwrap().address;
    assert_eq!(
        addr,
        client.local_addr(),
        "IPv4-mapped source given as IPv4"
    );
}
