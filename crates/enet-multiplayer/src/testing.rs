//! Test support (feature `testing`), the one test bed of the multiplayer layer, shared by
//! this crate's tests, the C interop tests in `enet-interop` and the SceneMultiplayer
//! tests: a multiplayer peer on loopback that records what it delivers through the Godot
//! surface ([`Node`]), or, switched to *hold*, leaves its events and packets queued for the
//! Rust-first calls (`next_event`, `recv`) of the test; the loops that step several nodes
//! ([`pump`], [`pump_for`], [`pump_until`]); and the usual set-ups ([`server`], [`client`],
//! [`client_with_id`], [`connect_clients`], [`mesh_link`]). Not part of the stable API.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use enet::godot::EnetConnection;
use enet::PeerState;

use crate::{
    ConnectionStatus, EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode,
};

/// Generous bound for anything that should happen promptly on loopback.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The address every test bed binds to and connects to.
pub const LOCALHOST: &str = "127.0.0.1";

/// One received packet with what the getters said about it before `get_packet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkt {
    /// `get_packet_peer`.
    pub from: i32,
    /// `get_packet_channel`.
    pub channel: i32,
    /// `get_packet_mode`.
    pub mode: TransferMode,
    /// The payload.
    pub data: Vec<u8>,
}

/// A multiplayer peer plus everything it has delivered so far.
#[derive(Debug)]
pub struct Node {
    /// The peer.
    pub mp: EnetMultiplayerPeer,
    /// Events polled so far.
    pub events: Vec<MultiplayerEvent>,
    /// Packets received so far.
    pub packets: Vec<Pkt>,
    /// Hold: [`Node::step`] only polls, and events and packets stay queued in `mp`.
    pub hold: bool,
}

impl Node {
    /// Wraps `mp`; each [`Node::step`] collects its events and packets.
    pub fn new(mp: EnetMultiplayerPeer) -> Node {
        Node {
            mp,
            events: Vec::new(),
            packets: Vec::new(),
            hold: false,
        }
    }

    /// Wraps `mp` holding: each [`Node::step`] only polls, leaving events and packets
    /// queued for the test to take (`mp.next_event()`, `mp.recv()`, `mp.get_packet()`…).
    pub fn holding(mp: EnetMultiplayerPeer) -> Node {
        Node {
            hold: true,
            ..Node::new(mp)
        }
    }

    /// Polls once and, unless holding, moves events and packets into `events` / `packets`.
    pub fn step(&mut self) {
        self.mp.poll();
        if self.hold {
            return;
        }
        while let Some(e) = self.mp.poll_event() {
            self.events.push(e);
        }
        while self.mp.get_available_packet_count() > 0 {
            let from = self.mp.get_packet_peer();
            let channel = self.mp.get_packet_channel();
            let mode = self.mp.get_packet_mode();
            let data = self.mp.get_packet().expect("a packet is queued").to_vec();
            self.packets.push(Pkt {
                from,
                channel,
                mode,
                data,
            });
        }
    }

    /// Sends `data` to `target` reliably on channel 0 (the SceneMultiplayer system channel);
    /// panics if the peer refuses it.
    pub fn send_reliable(&mut self, target: i32, data: &[u8]) {
        self.send(target, TransferMode::Reliable, 0, data)
            .expect("put_packet");
    }

    /// Takes the payloads of the packets received so far.
    pub fn take_payloads(&mut self) -> Vec<Vec<u8>> {
        self.take_packets().into_iter().map(|p| p.data).collect()
    }

    /// Sets target, mode and channel (Godot's stateful way) and puts `data`.
    pub fn send(
        &mut self,
        target: i32,
        mode: TransferMode,
        channel: i32,
        data: &[u8],
    ) -> enet::Result<()> {
        self.mp.set_target_peer(target);
        self.mp.set_transfer_mode(mode);
        self.mp.set_transfer_channel(channel);
        self.mp.put_packet(data)
    }

    /// Takes the events polled so far.
    pub fn take_events(&mut self) -> Vec<MultiplayerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Takes the packets received so far.
    pub fn take_packets(&mut self) -> Vec<Pkt> {
        std::mem::take(&mut self.packets)
    }

    /// `get_unique_id`.
    pub fn id(&self) -> i32 {
        self.mp.get_unique_id()
    }
}

/// Steps every node until `done` holds (true) or `timeout` passes (false). `done` may
/// take what holding nodes keep queued.
pub fn pump(
    nodes: &mut [&mut Node],
    timeout: Duration,
    mut done: impl FnMut(&mut [&mut Node]) -> bool,
) -> bool {
    let end = Instant::now() + timeout;
    loop {
        for n in nodes.iter_mut() {
            n.step();
        }
        if done(nodes) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Steps every node for `d`.
pub fn pump_for(nodes: &mut [&mut Node], d: Duration) {
    pump(nodes, d, |_| false);
}

/// Steps every node until `done` holds; panics, naming `what`, after [`TIMEOUT`].
#[track_caller]
pub fn pump_until(nodes: &mut [&mut Node], what: &str, done: impl FnMut(&mut [&mut Node]) -> bool) {
    assert!(pump(nodes, TIMEOUT, done), "timed out waiting for {what}");
}

/// A Godot-style server on [`LOCALHOST`] (an ephemeral port) for up to `max_clients`
/// clients, collecting; returns it with its port.
pub fn server(max_clients: usize) -> (Node, u16) {
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip(LOCALHOST).expect("bind address");
    mp.create_server(0, max_clients, 0, 0, 0)
        .expect("create_server");
    let port = mp
        .host()
        .and_then(|h| h.get_local_port().ok())
        .expect("a bound port");
    assert_ne!(port, 0);
    (Node::new(mp), port)
}

/// A Godot-style client of the server at `port`, asking for `channels` channels (0: the
/// default), with a random unique id (checked to be in Godot's range); collecting.
pub fn client(port: u16, channels: usize) -> Node {
    let mut mp = EnetMultiplayerPeer::new();
    mp.create_client(LOCALHOST, port, channels, 0, 0, 0)
        .expect("create_client");
    assert_eq!(mp.get_connection_status(), ConnectionStatus::Connecting);
    let id = mp.get_unique_id();
    assert!((2..=i32::MAX).contains(&id), "client id {id}");
    Node::new(mp)
}

/// Connects `n` [`client`]s to `server` and checks both sides' `PeerConnected` events (each
/// client's own id at the server, 1 at each client); returns them with no events left.
pub fn connect_clients(server: &mut Node, port: u16, n: usize, channels: usize) -> Vec<Node> {
    let mut clients: Vec<Node> = (0..n).map(|_| client(port, channels)).collect();
    let ids: BTreeSet<i32> = clients.iter().map(Node::id).collect();
    assert_eq!(ids.len(), n, "client ids must be distinct");
    {
        let mut all: Vec<&mut Node> = vec![&mut *server];
        all.extend(clients.iter_mut());
        let ok = pump(&mut all, TIMEOUT, |ns| {
            ns[0].events.len() >= n && ns[1..].iter().all(|c| !c.events.is_empty())
        });
        assert!(ok, "clients did not all connect");
    }
    let seen: BTreeSet<i32> = server
        .take_events()
        .into_iter()
        .map(|e| match e {
            MultiplayerEvent::PeerConnected(id) => id,
            other => panic!("server: unexpected {other:?}"),
        })
        .collect();
    assert_eq!(seen, ids, "the server sees each client's own id");
    assert_eq!(
        server.mp.peer_ids().into_iter().collect::<BTreeSet<_>>(),
        ids
    );
    for c in &mut clients {
        assert_eq!(c.take_events(), vec![MultiplayerEvent::PeerConnected(1)]);
        assert_eq!(c.mp.get_connection_status(), ConnectionStatus::Connected);
        assert_eq!(c.mp.peer_ids(), vec![1]);
    }
    clients
}

/// A Godot-style client of the server at `port` with the unique id `id`; collecting.
pub fn client_with_id(port: u16, id: u32) -> Node {
    let mut mp = EnetMultiplayerPeer::new();
    mp.create_client_with_id(LOCALHOST, port, 0, 0, 0, 0, id)
        .expect("create_client_with_id");
    Node::new(mp)
}

/// Two hosts joined by one ENet connection, both connected (for `add_mesh_peer`).
pub fn mesh_link() -> (EnetConnection, EnetConnection) {
    let mut a = EnetConnection::new();
    a.create_host_bound(LOCALHOST, 0, 1, 0, 0, 0).expect("bind");
    let port = a.get_local_port().expect("a bound port");
    let mut b = EnetConnection::new();
    b.create_host_bound(LOCALHOST, 0, 1, 0, 0, 0).expect("bind");
    let hb = b.connect_to_host(LOCALHOST, port, 0, 0).expect("connect");
    let end = Instant::now() + TIMEOUT;
    loop {
        a.service(Duration::from_millis(1)).expect("service");
        b.service(Duration::from_millis(1)).expect("service");
        let a_ok = a
            .get_peers()
            .first()
            .is_some_and(|&h| a.peer(h).get_state() == PeerState::Connected);
        if a_ok && b.peer(hb).get_state() == PeerState::Connected {
            return (a, b);
        }
        assert!(Instant::now() < end, "mesh link did not connect");
    }
}

/// Steps every named test-bed value (anything with a `step()` method: a [`Node`], or a
/// wrapper a crate's tests build on one) until the condition holds or [`TIMEOUT`] passes;
/// evaluates to whether it held. Unlike [`pump`], the nodes may be of different types and
/// the condition names them directly: `step_until!(!a.packets.is_empty(); server, a)`.
#[macro_export]
macro_rules! step_until {
    ($cond:expr; $($n:expr),+ $(,)?) => {{
        let end = std::time::Instant::now() + $crate::testing::TIMEOUT;
        let mut ok = false;
        while std::time::Instant::now() < end {
            $($n.step();)+
            if $cond {
                ok = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        ok
    }};
}

/// Steps every named test-bed value for `ms` milliseconds (see [`step_until!`]).
#[macro_export]
macro_rules! step_for {
    ($ms:expr; $($n:expr),+ $(,)?) => {{
        let end = std::time::Instant::now() + std::time::Duration::from_millis($ms);
        while std::time::Instant::now() < end {
            $($n.step();)+
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }};
}
