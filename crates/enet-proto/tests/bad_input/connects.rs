//! Connects: invalid channel counts, duplicate CONNECTs, floods beyond the peer table and
//! the per-address limit.

use super::*;

fn verifies_to(sent: &[(SocketAddr, Vec<u8>)], to: SocketAddr) -> Vec<Connect> {
    sent.iter()
        .filter(|(a, _)| *a == to)
        .flat_map(|(_, d)| decode(d, false))
        .filter_map(|(_, c)| match c {
            Command::VerifyConnect(v) => Some(v),
            _ => None,
        })
        .collect()
}

#[test]
fn connect_with_invalid_channel_count() {
    let mut net = default_net();
    let stranger = foreign(2, 1, 5000);
    let before = net.drops();
    for (i, count) in [0u32, 256, 0x1_0001, u32::MAX].into_iter().enumerate() {
        net.inject_from(stranger, &connect_dg([1, 1, 1, i as u8], count));
    }
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 4)]);
    assert_eq!(net.server().active_peers().count(), 2);
    assert!(verifies_to(&net.drain_server(), stranger).is_empty());
    // The boundaries 1 and 255 are accepted.
    let before = net.drops();
    net.inject_from(stranger, &connect_dg([2, 2, 2, 1], 1));
    net.inject_from(stranger, &connect_dg([2, 2, 2, 2], 255));
    assert_drops(&before, &net.drops(), &[]);
    assert_eq!(net.server().active_peers().count(), 4);
    let verifies = verifies_to(&net.drain_server(), stranger);
    let mut counts: Vec<u32> = verifies.iter().map(|v| v.channel_count).collect();
    counts.sort();
    assert_eq!(counts, vec![1, 255]);
    net.check_both_still_work();
}

#[test]
fn duplicate_connect_creates_no_second_peer() {
    let mut net = default_net();
    let stranger = foreign(2, 2, 5000);
    let dg = connect_dg([3, 3, 3, 3], 2);
    let before = net.drops();
    net.inject_from(stranger, &dg);
    net.inject_from(stranger, &dg);
    net.inject_from(stranger, &dg);
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 2)]);
    assert_eq!(net.server().active_peers().count(), 3);
    assert_eq!(verifies_to(&net.drain_server(), stranger).len(), 1);
    // A replay of the victim's own CONNECT (same address, same connect id).
    let before = net.drops();
    let id = net.server().peer_info(net.v_s).unwrap().connect_id;
    let dg = connect_dg(id, CHANNELS as u32);
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 1)]);
    assert_eq!(net.server().active_peers().count(), 3);
    // The same connect id from another port is another connection (C compares the port).
    let before = net.drops();
    net.inject_from(foreign(2, 2, 5001), &connect_dg([3, 3, 3, 3], 2));
    assert_drops(&before, &net.drops(), &[]);
    assert_eq!(net.server().active_peers().count(), 4);
    net.check_both_still_work();
}

#[test]
fn connect_flood_beyond_the_peer_table() {
    let server = HostConfig::default().with_peer_count(6);
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    for i in 0..40u8 {
        net.inject_from(foreign(3, i, 6000), &connect_dg([4, 4, 4, i], 2));
    }
    // A full host evicts the oldest half-open connection for each new CONNECT.
    assert_drops(&before, &net.drops(), &[(DropReason::HalfOpenEvicted, 36)]);
    assert_eq!(net.server().active_peers().count(), 6);
    assert_eq!(net.server().half_open_peers(), 4);
    let mut half_open: Vec<SocketAddr> = net
        .server()
        .active_peers()
        .filter_map(|p| net.server().peer_info(p))
        .filter(|i| i.state == PeerState::AcknowledgingConnect)
        .map(|i| i.address)
        .collect();
    half_open.sort();
    let newest: Vec<SocketAddr> = (36..40u8).map(|i| foreign(3, i, 6000)).collect();
    assert_eq!(half_open, newest, "the newest requests hold the slots");
    net.exchange(Who::Bystander, 6);
    net.exchange(Who::Victim, 6);
    // The half-open slots time out silently and become usable again.
    net.tb.run_for(Duration::from_secs(40));
    net.collect();
    assert_eq!(net.server().active_peers().count(), 2);
    let server_events: Vec<&Event> = net.logs[0]
        .iter()
        .filter(|e| !matches!(e, Event::Receive { .. }))
        .collect();
    assert!(server_events.is_empty(), "{server_events:?}");
    let before = net.drops();
    for i in 0..4u8 {
        net.inject_from(foreign(4, i, 6000), &connect_dg([5, 5, 5, i], 2));
    }
    net.inject_from(foreign(4, 9, 6000), &connect_dg([5, 5, 5, 9], 2));
    assert_drops(&before, &net.drops(), &[(DropReason::HalfOpenEvicted, 1)]);
    assert_eq!(net.server().active_peers().count(), 6);
    net.check_both_still_work();
}

/// With every slot connected (none half-open), a CONNECT is refused and nobody is evicted.
#[test]
fn connect_to_a_host_full_of_connected_peers_is_refused() {
    let server = HostConfig::default().with_peer_count(2);
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    net.inject_from(foreign(3, 1, 6000), &connect_dg([4, 4, 4, 1], 2));
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 1)]);
    assert_eq!(net.server().half_open_peers(), 0);
    net.check_both_still_work();
}

#[test]
fn duplicate_peers_limit_per_address() {
    let server = HostConfig::default().with_duplicate_peers(2);
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    let ip = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)), port);
    for port in 1000..1005u16 {
        net.inject_from(ip(port), &connect_dg([6, 6, 6, port as u8], 2));
    }
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 3)]);
    // Another address is not affected.
    let before = net.drops();
    let other_ip = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2)), 1000);
    net.inject_from(other_ip, &connect_dg([6, 6, 7, 0], 2));
    assert_drops(&before, &net.drops(), &[]);
    assert_eq!(net.server().active_peers().count(), 5);
    // A real client opening a second and a third connection: only one more fits.
    let saddr = net.saddr();
    let now = net.tb.now();
    let second = net
        .tb
        .host_mut(net.victim)
        .unwrap()
        .connect(now, saddr, 2, 11)
        .unwrap();
    let third = net
        .tb
        .host_mut(net.victim)
        .unwrap()
        .connect(now, saddr, 2, 12)
        .unwrap();
    let before = net.drops();
    net.tb.run_for(ms(200));
    net.collect();
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 1)]);
    let ok: Vec<PeerId> = [second, third]
        .into_iter()
        .filter(|p| net.tb.host(net.victim).unwrap().peer_state(*p) == Some(PeerState::Connected))
        .collect();
    assert_eq!(ok.len(), 1, "exactly one more connection from the victim");
    net.exchange(Who::Bystander, 6);
    net.exchange(Who::Victim, 6);
    // Once the half-open connections time out, the address may connect again.
    net.tb.run_for(Duration::from_secs(40));
    net.collect();
    let before = net.drops();
    for port in 2000..2002u16 {
        net.inject_from(ip(port), &connect_dg([6, 6, 8, port as u8], 2));
    }
    assert_drops(&before, &net.drops(), &[]);
    let server_disconnects: Vec<&Event> = net.logs[0]
        .iter()
        .filter(|e| matches!(e, Event::Disconnect { .. }))
        .collect();
    assert!(server_disconnects.is_empty(), "{server_disconnects:?}");
    // The refused attempt of the victim timed out on its side; its first connection lives.
    assert!(net.logs[1].iter().any(|e| matches!(
        e,
        Event::Disconnect {
            reason: DisconnectReason::Timeout,
            ..
        }
    )));
    net.exchange(Who::Victim, 6);
    net.exchange(Who::Bystander, 6);
    net.assert_nothing_evil();
}
