//! Generation-checked peer ids in the engine, on the deterministic testbed: once a slot is
//! reset its old id is stale, every call with it is refused with `InvalidPeer`, and it
//! never reaches the slot's next occupant; a free slot hands out no id (`Host::peer_id`).

use std::time::Duration;

use enet_proto::testbed::{HostIndex, Testbed};
use enet_proto::{DisconnectReason, Error, Event, HostConfig, Packet, PeerId, PeerState};

fn connect_event(tb: &mut Testbed, h: HostIndex) -> PeerId {
    tb.take_events(h)
        .unwrap()
        .into_iter()
        .find_map(|e| match e {
            Event::Connect { peer, .. } => Some(peer),
            _ => None,
        })
        .expect("a connect event")
}

#[test]
fn a_stale_id_never_reaches_the_next_occupant_of_its_slot() {
    let mut tb = Testbed::new(31);
    let server = tb
        .add_host(HostConfig::default().with_peer_count(1))
        .unwrap();
    let first = tb.add_host(HostConfig::default()).unwrap();
    let second = tb.add_host(HostConfig::default()).unwrap();
    let addr = tb.addr(server).unwrap();

    let now = tb.now();
    let a = tb
        .host_mut(first)
        .unwrap()
        .connect(now, addr, 2, 1)
        .unwrap();
    tb.run_for(Duration::from_millis(100));
    let old = connect_event(&mut tb, server);
    assert_eq!(connect_event(&mut tb, first), a);
    assert_eq!(tb.host(server).unwrap().peer_id(old.index()), Some(old));

    // The first client leaves; the server polls the disconnect and frees the slot.
    tb.host_mut(first).unwrap().disconnect_now(a, 5).unwrap();
    assert_eq!(
        tb.host(first).unwrap().peer_state(a),
        Some(PeerState::Disconnected)
    );
    assert!(
        tb.host(first).unwrap().peer_info(a).is_none(),
        "the client's own id is stale"
    );
    assert_eq!(
        tb.host(first).unwrap().peer_id(a.index()),
        None,
        "a free slot has no id"
    );
    tb.run_for(Duration::from_millis(100));
    assert_eq!(
        tb.take_events(server).unwrap(),
        vec![Event::Disconnect {
            peer: old,
            data: 5,
            reason: DisconnectReason::Remote
        }]
    );
    // While the slot is free there is no id to take: one taken now would name whoever
    // connects next.
    assert_eq!(tb.host(server).unwrap().peer_id(old.index()), None);
    assert_eq!(tb.host(server).unwrap().active_peers().count(), 0);

    // The second client gets the same slot with a new generation.
    let now = tb.now();
    let b = tb
        .host_mut(second)
        .unwrap()
        .connect(now, addr, 2, 2)
        .unwrap();
    tb.run_for(Duration::from_millis(100));
    let new = connect_event(&mut tb, server);
    assert_eq!(connect_event(&mut tb, second), b);
    assert_eq!(new.index(), old.index());
    assert_ne!(new.generation(), old.generation());
    assert_eq!(tb.host(server).unwrap().peer_id(old.index()), Some(new));
    assert_eq!(
        tb.host(server).unwrap().active_peers().collect::<Vec<_>>(),
        vec![new]
    );

    // Every call with the old id is refused and changes nothing.
    let h = tb.host_mut(server).unwrap();
    assert_eq!(
        h.send(old, 0, Packet::reliable(&b"x"[..])),
        Err(Error::InvalidPeer)
    );
    assert_eq!(h.ping(old), Err(Error::InvalidPeer));
    assert_eq!(h.set_ping_interval(old, 1), Err(Error::InvalidPeer));
    assert_eq!(h.set_timeout(old, 1, 1, 1), Err(Error::InvalidPeer));
    assert_eq!(h.throttle_configure(old, 1, 1, 1), Err(Error::InvalidPeer));
    assert_eq!(h.disconnect(old, 9), Err(Error::InvalidPeer));
    assert_eq!(h.disconnect_later(old, 9), Err(Error::InvalidPeer));
    assert_eq!(h.disconnect_now(old, 9), Err(Error::InvalidPeer));
    assert_eq!(h.reset(old), Err(Error::InvalidPeer));
    assert_eq!(h.peer_state(old), Some(PeerState::Disconnected));
    assert!(h.peer_info(old).is_none());
    assert_eq!(h.peer_channel_count(old), None);
    let info = h.peer_info(new).unwrap();
    assert_eq!(info.state, PeerState::Connected);
    assert_eq!(
        (
            info.timeouts.timeout_limit,
            info.timeouts.timeout_minimum,
            info.timeouts.timeout_maximum
        ),
        (32, 5000, 30000),
        "the stale set_timeout did not land"
    );
    assert_eq!(info.timeouts.ping_interval, 500);

    // Forged ids: wrong generation, out of range.
    let forged = PeerId::from_parts(new.index() as u16, new.generation().wrapping_add(1));
    assert_eq!(
        h.send(forged, 0, Packet::reliable(&b"x"[..])),
        Err(Error::InvalidPeer)
    );
    assert_eq!(h.peer_state(PeerId::from_parts(7, 0)), None);

    // The second client was never disturbed: no disconnect, and it still gets data.
    h.send(new, 1, Packet::reliable(&b"hello"[..])).unwrap();
    tb.run_for(Duration::from_secs(2));
    let events = tb.take_events(second).unwrap();
    assert!(
        matches!(&events[..], [Event::Receive { peer, channel_id: 1, packet }]
            if *peer == b && &packet.data[..] == b"hello"),
        "{events:?}"
    );
    assert_eq!(
        tb.host(second).unwrap().peer_state(b),
        Some(PeerState::Connected)
    );
}
