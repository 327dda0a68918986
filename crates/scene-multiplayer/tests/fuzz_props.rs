//! Arbitrary packets into a SceneMultiplayer server and client over an in-memory
//! MultiplayerPeer: never a panic, bounded output, and nothing sent on a hostile peer's
//! behalf except what Godot's server does (relays stamped with its id, path confirmations).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use enet::{PacketPeer, PacketPeerState};
use enet_multiplayer::{ConnectionStatus, MultiplayerEvent, MultiplayerPeer, TransferMode};
use proptest::prelude::*;
use scene_multiplayer::{NodeRpcs, RpcConfig, SceneEvent, SceneMultiplayer};

const A: i32 = 0x1234_5678;
const B: i32 = 0x0ABC_DEF0;

/// Records every put_packet with its target; packets and events are injected.
struct Mock {
    id: i32,
    target: i32,
    mode: TransferMode,
    channel: i32,
    inbox: VecDeque<(i32, Vec<u8>)>,
    events: VecDeque<MultiplayerEvent>,
    sent: Vec<(i32, Vec<u8>)>,
    state: PacketPeerState,
}

impl Mock {
    fn new(id: i32) -> Self {
        Mock {
            id,
            target: 0,
            mode: TransferMode::Reliable,
            channel: 0,
            inbox: VecDeque::new(),
            events: VecDeque::new(),
            sent: Vec::new(),
            state: PacketPeerState::default(),
        }
    }
}

impl PacketPeer for Mock {
    fn get_packet(&mut self) -> Result<Bytes, enet::Error> {
        MultiplayerPeer::get_packet(self)
    }
    fn put_packet(&mut self, p: &[u8]) -> Result<(), enet::Error> {
        MultiplayerPeer::put_packet(self, p)
    }
    fn get_available_packet_count(&self) -> usize {
        self.inbox.len()
    }
    fn packet_peer_state(&self) -> PacketPeerState {
        self.state
    }
    fn set_packet_peer_state(&mut self, s: PacketPeerState) {
        self.state = s;
    }
}

impl MultiplayerPeer for Mock {
    fn put_packet(&mut self, p: &[u8]) -> enet::Result<()> {
        self.sent.push((self.target, p.to_vec()));
        Ok(())
    }
    fn get_packet(&mut self) -> enet::Result<Bytes> {
        self.inbox
            .pop_front()
            .map(|p| Bytes::from(p.1))
            .ok_or(enet::Error::Unavailable)
    }
    fn get_available_packet_count(&self) -> usize {
        self.inbox.len()
    }
    fn set_transfer_mode(&mut self, m: TransferMode) {
        self.mode = m;
    }
    fn get_transfer_mode(&self) -> TransferMode {
        self.mode
    }
    fn set_transfer_channel(&mut self, c: i32) {
        self.channel = c;
    }
    fn get_transfer_channel(&self) -> i32 {
        self.channel
    }
    fn set_target_peer(&mut self, id: i32) {
        self.target = id;
    }
    fn get_target_peer(&self) -> i32 {
        self.target
    }
    fn get_packet_peer(&self) -> i32 {
        self.inbox.front().map_or(0, |p| p.0)
    }
    fn get_packet_channel(&self) -> i32 {
        0
    }
    fn get_packet_mode(&self) -> TransferMode {
        TransferMode::Reliable
    }
    fn poll(&mut self) {}
    fn close(&mut self) {}
    fn disconnect_peer(&mut self, _id: i32, _force: bool) {}
    fn get_connection_status(&self) -> ConnectionStatus {
        ConnectionStatus::Connected
    }
    fn get_unique_id(&self) -> i32 {
        self.id
    }
    fn is_server(&self) -> bool {
        self.id == 1
    }
    fn set_refuse_new_connections(&mut self, _r: bool) {}
    fn is_refusing_new_connections(&self) -> bool {
        false
    }
    fn poll_event(&mut self) -> Option<MultiplayerEvent> {
        self.events.pop_front()
    }
}

/// Packets that often look like SceneMultiplayer messages.
fn packet() -> impl Strategy<Value = Vec<u8>> {
    let tail = proptest::collection::vec(any::<u8>(), 0..48);
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (0u8..8, tail.clone()).prop_map(|(c, t)| [vec![c], t].concat()),
        (0u8..5, tail.clone()).prop_map(|(s, t)| [vec![7, s], t].concat()),
        (
            prop_oneof![Just(0), Just(-1), Just(B), Just(1), Just(999)],
            tail.clone()
        )
            .prop_map(
                |(to, t): (i32, Vec<u8>)| [vec![7, 3], to.to_le_bytes().to_vec(), t].concat()
            ),
        (any::<u8>(), tail).prop_map(|(m, t)| [vec![m & 0xF8], vec![1, 0, 0], t].concat()),
    ]
}

fn scene(id: i32) -> SceneMultiplayer<Mock> {
    let mut s = SceneMultiplayer::new(Mock::new(id));
    s.declare_node("Main", NodeRpcs::new(vec![RpcConfig::any_peer("hello")]));
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn server_survives_arbitrary_packets(pkts in proptest::collection::vec(packet(), 1..24)) {
        let mut s = scene(1);
        s.peer_mut().events.extend([MultiplayerEvent::PeerConnected(A), MultiplayerEvent::PeerConnected(B)]);
        s.poll();
        while s.poll_event().is_some() {}
        s.peer_mut().sent.clear();
        let n = pkts.len();
        for p in pkts {
            s.peer_mut().inbox.push_back((A, p));
        }
        s.poll();
        let mut events = 0;
        while let Some(e) = s.poll_event() {
            events += 1;
            // Everything A causes is attributed to A.
            match e {
                SceneEvent::Rpc { from, .. } | SceneEvent::Bytes { from, .. } => prop_assert_eq!(from, A),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert!(events <= n);
        let sent = std::mem::take(&mut s.peer_mut().sent);
        prop_assert!(sent.len() <= n);
        for (to, p) in sent {
            if to == B {
                prop_assert_eq!(&p[..6], &[7, 3, 0x78, 0x56, 0x34, 0x12][..]);
            } else {
                prop_assert_eq!(to, A);
                prop_assert_eq!(p.len(), 6);
                prop_assert_eq!(p[0], 2);
            }
        }
        prop_assert_eq!(s.get_peers(), &[A, B][..]);
    }

    #[test]
    fn client_survives_arbitrary_packets(pkts in proptest::collection::vec(packet(), 1..24)) {
        let mut c = scene(A);
        c.peer_mut().events.push_back(MultiplayerEvent::PeerConnected(1));
        c.poll();
        for p in pkts {
            c.peer_mut().inbox.push_back((1, p));
        }
        c.poll();
        while c.poll_event().is_some() {}
        // A client only ever answers with path confirmations (direct or relayed).
        for (to, p) in std::mem::take(&mut c.peer_mut().sent) {
            prop_assert_eq!(to, 1);
            prop_assert!(p[0] == 2 || (p[0] == 7 && p[1] == 3 && p[6] == 2), "{:?}", p);
        }
        prop_assert!(c.get_peers().contains(&1));
    }
}

/// Any authentication timeout is accepted: the longest never expires (it used to overflow
/// `Instant + Duration` and panic on the first poll with a peer pending), a short one expires.
#[test]
fn any_auth_timeout_is_accepted() {
    for (timeout, expires) in [
        (Duration::MAX, false),
        (Duration::from_secs(u64::MAX / 2), false),
        (Duration::from_nanos(1), true),
    ] {
        let mut s = scene(1);
        s.set_auth_enabled(true);
        s.set_auth_timeout(timeout);
        s.peer_mut()
            .events
            .push_back(MultiplayerEvent::PeerConnected(A));
        s.poll();
        assert_eq!(s.poll_event(), Some(SceneEvent::PeerAuthenticating(A)));
        std::thread::sleep(Duration::from_millis(2));
        s.poll();
        let failed = s.poll_event() == Some(SceneEvent::PeerAuthenticationFailed(A));
        assert_eq!(failed, expires, "{timeout:?}");
        assert_eq!(
            s.get_authenticating_peers().is_empty(),
            expires,
            "{timeout:?}"
        );
    }
}
