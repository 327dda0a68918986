//! The Rust-first multiplayer API (`send` / `recv` / `next_event`, config structs) and the
//! Godot-behaviour fixes of issue 9: `close()` discards undelivered events, a refused
//! `add_mesh_peer` hands the connection back. (The refusal of new connections at the ENet
//! level is checked in `godot_scenarios.rs`, `refuse_new_connections_keeps_serving_others`.)

use std::time::{Duration, Instant};

use enet::{Error, PeerState};
use enet_multiplayer::{
    ClientConfig, ConnectionStatus, DisconnectReason, EnetMultiplayerPeer, MultiplayerPeer, Packet,
    PeerEvent, ServerConfig, Target, TransferMode,
};

use enet_multiplayer::testing::{mesh_link, pump_until, Node, LOCALHOST, TIMEOUT as T};

fn server() -> (EnetMultiplayerPeer, u16) {
    let mut s =
        EnetMultiplayerPeer::server(&ServerConfig::new(0).bind(LOCALHOST).max_clients(4)).unwrap();
    let port = s.host().unwrap().get_local_port().unwrap();
    (s, port)
}

/// [`server`] as a holding test-bed node: events and packets wait for `next_event`/`recv`.
fn holding_server() -> (Node, u16) {
    let (s, port) = server();
    (Node::holding(s), port)
}

#[test]
fn target_maps_to_and_from_godot_ids() {
    assert_eq!(Target::from_godot(0), Target::All);
    assert_eq!(Target::from_godot(i32::MIN), Target::All);
    assert_eq!(Target::from_godot(7), Target::Peer(7));
    assert_eq!(Target::from_godot(-7), Target::AllExcept(7));
    for t in [Target::All, Target::Peer(1), Target::AllExcept(i32::MAX)] {
        assert_eq!(Target::from_godot(t.to_godot()), t);
    }
    assert_eq!(Target::AllExcept(i32::MIN).to_godot(), 0);
}

#[test]
fn send_recv_with_targets_and_disconnect_reasons() {
    let (mut s, port) = holding_server();
    let mut a = Node::holding(
        EnetMultiplayerPeer::client(&ClientConfig::new(LOCALHOST, port).id(1000)).unwrap(),
    );
    let mut b = Node::holding(
        EnetMultiplayerPeer::client(&ClientConfig::new(LOCALHOST, port).id(2000)).unwrap(),
    );
    let mut seen = Vec::new();
    pump_until(&mut [&mut s, &mut a, &mut b], "two connects", |ps| {
        while let Some(e) = ps[0].mp.next_event() {
            seen.push(e);
        }
        seen.len() == 2
            && ps[1].mp.get_connection_status() == ConnectionStatus::Connected
            && ps[2].mp.get_connection_status() == ConnectionStatus::Connected
    });
    seen.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        seen,
        vec![
            PeerEvent::Connected { id: 1000 },
            PeerEvent::Connected { id: 2000 }
        ]
    );
    assert_eq!(a.mp.next_event(), Some(PeerEvent::Connected { id: 1 }));
    assert_eq!(b.mp.next_event(), Some(PeerEvent::Connected { id: 1 }));

    // The stateful settings are untouched by `send`.
    s.mp.set_target_peer(2000);
    s.mp.set_transfer_mode(TransferMode::UnreliableOrdered);
    s.mp.set_transfer_channel(3);
    s.mp.send(Target::All, TransferMode::Reliable, 0, b"all")
        .unwrap();
    s.mp.send(Target::Peer(1000), TransferMode::Reliable, 2, b"a only")
        .unwrap();
    s.mp.send(Target::AllExcept(1000), TransferMode::Reliable, 0, b"not a")
        .unwrap();
    assert_eq!(
        (
            s.mp.get_target_peer(),
            s.mp.get_transfer_mode(),
            s.mp.get_transfer_channel()
        ),
        (2000, TransferMode::UnreliableOrdered, 3)
    );
    a.mp.send(Target::Peer(1), TransferMode::Unreliable, 0, b"up")
        .unwrap();
    // Unknown targets are errors, not silent drops.
    assert!(matches!(
        s.mp.send(Target::Peer(3000), TransferMode::Reliable, 0, b"x"),
        Err(Error::InvalidParameter(_))
    ));
    assert!(matches!(
        s.mp.send(Target::AllExcept(3000), TransferMode::Reliable, 0, b"x"),
        Err(Error::InvalidParameter(_))
    ));

    let (mut got_a, mut got_b, mut got_s) = (Vec::new(), Vec::new(), Vec::new());
    pump_until(&mut [&mut s, &mut a, &mut b], "the packets", |ps| {
        while let Some(p) = ps[0].mp.recv() {
            got_s.push(p);
        }
        while let Some(p) = ps[1].mp.recv() {
            got_a.push(p);
        }
        while let Some(p) = ps[2].mp.recv() {
            got_b.push(p);
        }
        got_s.len() == 1 && got_a.len() == 2 && got_b.len() == 2
    });
    let view = |v: &[Packet]| -> Vec<(i32, i32, TransferMode, Vec<u8>)> {
        v.iter()
            .map(|p| (p.from, p.channel, p.mode, p.data.to_vec()))
            .collect()
    };
    assert_eq!(
        view(&got_a),
        vec![
            (1, 0, TransferMode::Reliable, b"all".to_vec()),
            (1, 2, TransferMode::Reliable, b"a only".to_vec())
        ]
    );
    assert_eq!(
        view(&got_b),
        vec![
            (1, 0, TransferMode::Reliable, b"all".to_vec()),
            (1, 0, TransferMode::Reliable, b"not a".to_vec())
        ]
    );
    assert_eq!(
        view(&got_s),
        vec![(1000, 0, TransferMode::Unreliable, b"up".to_vec())]
    );
    assert_eq!(s.mp.recv(), None);

    // A graceful server-side disconnect: the server sees it complete (Local), the client
    // sees the remote's DISCONNECT with its data (0, as Godot sends).
    s.mp.disconnect_peer(2000, false);
    let (mut ev_s, mut ev_b) = (None, None);
    pump_until(&mut [&mut s, &mut b], "the disconnect", |ps| {
        ev_s = ev_s.or_else(|| ps[0].mp.next_event());
        ev_b = ev_b.or_else(|| ps[1].mp.next_event());
        ev_s.is_some() && ev_b.is_some()
    });
    assert_eq!(
        ev_s,
        Some(PeerEvent::Disconnected {
            id: 2000,
            reason: DisconnectReason::Local
        })
    );
    assert_eq!(
        ev_b,
        Some(PeerEvent::Disconnected {
            id: 1,
            reason: DisconnectReason::Remote { data: 0 }
        })
    );
    // A client closing: the server hears the remote's DISCONNECT.
    a.mp.close();
    let mut ev = None;
    pump_until(&mut [&mut s], "a's disconnect", |ps| {
        ev = ps[0].mp.next_event();
        ev.is_some()
    });
    assert_eq!(
        ev,
        Some(PeerEvent::Disconnected {
            id: 1000,
            reason: DisconnectReason::Remote { data: 0 }
        })
    );
}

#[test]
fn close_discards_undelivered_events_and_packets() {
    let (mut s, port) = holding_server();
    let mut c = Node::holding(
        EnetMultiplayerPeer::client(&ClientConfig::new(LOCALHOST, port).id(77)).unwrap(),
    );
    // Poll without reading events: both sides end up with one queued `Connected`, and the
    // server with a queued packet.
    pump_until(&mut [&mut s, &mut c], "the connect", |ps| {
        ps[0].mp.peer_ids() == vec![77]
            && ps[1].mp.get_connection_status() == ConnectionStatus::Connected
    });
    c.mp.send(Target::All, TransferMode::Reliable, 0, b"late")
        .unwrap();
    pump_until(&mut [&mut s, &mut c], "the packet", |ps| {
        ps[0].mp.get_available_packet_count() == 1
    });
    s.mp.close();
    c.mp.close();
    assert_eq!(s.mp.next_event(), None);
    assert_eq!(c.mp.poll_event(), None);
    assert_eq!(s.mp.recv(), None);
    // Nothing of the old sessions surfaces in the new ones either.
    s.mp.start_server(&ServerConfig::new(0).bind(LOCALHOST))
        .unwrap();
    let port = s.mp.host().unwrap().get_local_port().unwrap();
    c.mp.start_client(&ClientConfig::new(LOCALHOST, port).id(78))
        .unwrap();
    s.mp.poll();
    c.mp.poll();
    assert_eq!(s.mp.next_event(), None);
    assert_eq!(c.mp.next_event(), None);
    assert_eq!(s.mp.recv(), None);
    // And the new session works.
    let mut got = Vec::new();
    pump_until(&mut [&mut s, &mut c], "the new connect", |ps| {
        got.extend(std::iter::from_fn(|| ps[0].mp.next_event()));
        !got.is_empty()
    });
    assert_eq!(got, vec![PeerEvent::Connected { id: 78 }]);
}

#[test]
fn failing_add_mesh_peer_hands_the_connection_back() {
    let mut m = EnetMultiplayerPeer::new();
    let (a, b) = mesh_link();
    // Not in mesh mode yet: refused, and the live connection comes back intact.
    let e = m.add_mesh_peer(2, a).unwrap_err();
    assert!(matches!(e.error, Error::Unconfigured), "{e:?}");
    assert_eq!(e.godot_code(), 3);
    let mut a = e.into_host();
    let h = a.get_peers()[0];
    assert_eq!(a.peer(h).get_state(), PeerState::Connected);

    m.create_mesh(1).unwrap();
    let e = m.add_mesh_peer(0, a).unwrap_err();
    assert!(matches!(e.error, Error::InvalidParameter(_)), "{e:?}");
    let a = e.into_host();
    m.add_mesh_peer(2, a).unwrap();
    assert_eq!(m.next_event(), Some(PeerEvent::Connected { id: 2 }));

    // A second connection under an id in use is refused (not silently replacing the
    // first) and handed back, still connected; under a fresh id it is accepted.
    let (c, d) = mesh_link();
    let e = m.add_mesh_peer(2, c).unwrap_err();
    assert!(matches!(e.error, Error::AlreadyInUse), "{e:?}");
    let mut c = e.into_host();
    let h = c.get_peers()[0];
    assert_eq!(c.peer(h).get_state(), PeerState::Connected);
    // `?` into enet::Error still works for callers that do not want the connection back.
    let as_enet: Error = m.add_mesh_peer(-5, c).unwrap_err().into();
    assert!(matches!(as_enet, Error::InvalidParameter(_)));
    assert_eq!(m.peer_ids(), vec![2]);
    drop((b, d));
}

/// A peer that implements only the trait's required (Godot) methods, by delegation, so the
/// Rust-first default methods are exercised as another implementation would get them.
struct GodotOnly(EnetMultiplayerPeer, enet::PacketPeerState);

impl enet::PacketPeer for GodotOnly {
    fn get_packet(&mut self) -> enet::Result<bytes::Bytes> {
        MultiplayerPeer::get_packet(&mut self.0)
    }
    fn put_packet(&mut self, packet: &[u8]) -> enet::Result<()> {
        MultiplayerPeer::put_packet(&mut self.0, packet)
    }
    fn get_available_packet_count(&self) -> usize {
        MultiplayerPeer::get_available_packet_count(&self.0)
    }
    fn packet_peer_state(&self) -> enet::PacketPeerState {
        self.1
    }
    fn set_packet_peer_state(&mut self, state: enet::PacketPeerState) {
        self.1 = state;
    }
}

impl MultiplayerPeer for GodotOnly {
    fn put_packet(&mut self, packet: &[u8]) -> enet::Result<()> {
        MultiplayerPeer::put_packet(&mut self.0, packet)
    }
    fn get_packet(&mut self) -> enet::Result<bytes::Bytes> {
        MultiplayerPeer::get_packet(&mut self.0)
    }
    fn get_available_packet_count(&self) -> usize {
        MultiplayerPeer::get_available_packet_count(&self.0)
    }
    fn set_transfer_mode(&mut self, mode: TransferMode) {
        self.0.set_transfer_mode(mode)
    }
    fn get_transfer_mode(&self) -> TransferMode {
        self.0.get_transfer_mode()
    }
    fn set_transfer_channel(&mut self, channel: i32) {
        self.0.set_transfer_channel(channel)
    }
    fn get_transfer_channel(&self) -> i32 {
        self.0.get_transfer_channel()
    }
    fn set_target_peer(&mut self, id: i32) {
        self.0.set_target_peer(id)
    }
    fn get_target_peer(&self) -> i32 {
        self.0.get_target_peer()
    }
    fn get_packet_peer(&self) -> i32 {
        self.0.get_packet_peer()
    }
    fn get_packet_channel(&self) -> i32 {
        self.0.get_packet_channel()
    }
    fn get_packet_mode(&self) -> TransferMode {
        self.0.get_packet_mode()
    }
    fn poll(&mut self) {
        self.0.poll()
    }
    fn close(&mut self) {
        self.0.close()
    }
    fn disconnect_peer(&mut self, id: i32, force: bool) {
        self.0.disconnect_peer(id, force)
    }
    fn get_connection_status(&self) -> ConnectionStatus {
        self.0.get_connection_status()
    }
    fn get_unique_id(&self) -> i32 {
        self.0.get_unique_id()
    }
    fn is_server(&self) -> bool {
        self.0.is_server()
    }
    fn set_refuse_new_connections(&mut self, refuse: bool) {
        self.0.set_refuse_new_connections(refuse)
    }
    fn is_refusing_new_connections(&self) -> bool {
        self.0.is_refusing_new_connections()
    }
    fn poll_event(&mut self) -> Option<enet_multiplayer::MultiplayerEvent> {
        self.0.poll_event()
    }
}

/// Generic code over the trait, as a SceneMultiplayer would write it.
fn echo_once<P: MultiplayerPeer>(p: &mut P) -> Option<Packet> {
    let got = p.recv()?;
    p.send(Target::Peer(got.from), got.mode, got.channel, &got.data)
        .unwrap();
    Some(got)
}

#[test]
fn trait_default_methods_work_over_the_godot_surface() {
    let (s, port) = server();
    let mut s = GodotOnly(s, Default::default());
    let c = EnetMultiplayerPeer::client(&ClientConfig::new(LOCALHOST, port).id(500)).unwrap();
    let mut c = GodotOnly(c, Default::default());
    let end = Instant::now() + T;
    let mut ev = None;
    while ev.is_none() {
        assert!(Instant::now() < end, "no connect");
        s.poll();
        c.poll();
        ev = s.next_event();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ev, Some(PeerEvent::Connected { id: 500 }));
    while c.get_connection_status() != ConnectionStatus::Connected {
        assert!(Instant::now() < end, "client not connected");
        c.poll();
        s.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    c.set_target_peer(1);
    c.set_transfer_mode(TransferMode::Unreliable);
    c.send(Target::All, TransferMode::Reliable, 2, b"ping")
        .unwrap();
    // The default `send` restored the stateful settings.
    assert_eq!(
        (c.get_target_peer(), c.get_transfer_mode()),
        (1, TransferMode::Unreliable)
    );
    let mut echoed = None;
    let mut back = None;
    while back.is_none() {
        assert!(Instant::now() < end, "no echo");
        s.poll();
        c.poll();
        echoed = echoed.or_else(|| echo_once(&mut s));
        back = c.recv();
        std::thread::sleep(Duration::from_millis(1));
    }
    let echoed = echoed.unwrap();
    assert_eq!(
        (echoed.from, echoed.channel, echoed.mode, &echoed.data[..]),
        (500, 2, TransferMode::Reliable, &b"ping"[..])
    );
    let back = back.unwrap();
    assert_eq!(
        (back.from, back.channel, back.mode, &back.data[..]),
        (1, 2, TransferMode::Reliable, &b"ping"[..])
    );
    // The default `next_event` has no reason to give.
    c.close();
    let mut ev = None;
    while ev.is_none() {
        assert!(Instant::now() < end, "no disconnect");
        s.poll();
        ev = s.next_event();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        ev,
        Some(PeerEvent::Disconnected {
            id: 500,
            reason: DisconnectReason::Unknown
        })
    );
}
