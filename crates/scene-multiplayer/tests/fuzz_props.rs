//! Arbitrary packets into a SceneMultiplayer server and client over an in-memory
//! MultiplayerPeer: never a panic, bounded output, and nothing sent on a hostile peer's
//! behalf except what Godot's server does (relays stamped with its id, path confirmations).
//! And every public method of `SceneMultiplayer` called with arbitrary arguments in arbitrary
//! order, in both roles: never a panic, refusals are `SceneError`s, the bookkeeping holds.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use enet::{PacketPeer, PacketPeerState};
use enet_multiplayer::{ConnectionStatus, MultiplayerEvent, MultiplayerPeer, TransferMode};
use proptest::prelude::*;
use scene_multiplayer::{NodeRpcs, RpcConfig, RpcMode, SceneEvent, SceneMultiplayer, Variant};

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

/// One public call (or one event or packet from the transport) on a `SceneMultiplayer`.
#[derive(Clone, Debug)]
enum Call {
    Declare(String, Vec<RpcConfig>, Vec<RpcConfig>),
    Authority(String, i32),
    Rpc(i32, String, String, Vec<Variant>),
    SendBytes(Vec<u8>, i32, TransferMode, i32),
    SendAuth(i32, Vec<u8>),
    CompleteAuth(i32),
    Disconnect(i32),
    Relay(bool),
    Auth(bool),
    AuthTimeout(Duration),
    AllowObjects(bool),
    PathConfirmed(String, i32),
    Joined(i32),
    Left(i32),
    Packet(i32, Vec<u8>),
}

fn any_id() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(-1),
        Just(A),
        Just(-A),
        Just(B),
        Just(i32::MIN),
        Just(i32::MAX),
        any::<i32>()
    ]
}

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("Main".to_owned()),
        1 => Just(String::new()),
        1 => Just("a/b:c".to_owned()),
        1 => Just("Main\0x".to_owned()),
        1 => "[a-zA-Z/]{0,12}",
    ]
}

fn any_method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("hello".to_owned()),
        1 => Just("local".to_owned()),
        1 => Just(String::new()),
        1 => "[a-z]{0,8}",
    ]
}

fn any_config() -> impl Strategy<Value = RpcConfig> {
    (
        any_method(),
        prop_oneof![
            Just(RpcMode::Disabled),
            Just(RpcMode::AnyPeer),
            Just(RpcMode::Authority)
        ],
        any_mode(),
        any::<bool>(),
        prop_oneof![Just(0), Just(-1), any::<i32>()],
    )
        .prop_map(|(name, mode, transfer, local, channel)| {
            RpcConfig::new(name)
                .mode(mode)
                .transfer(transfer)
                .call_local(local)
                .channel(channel)
        })
}

fn any_mode() -> impl Strategy<Value = TransferMode> {
    prop_oneof![
        Just(TransferMode::Reliable),
        Just(TransferMode::Unreliable),
        Just(TransferMode::UnreliableOrdered)
    ]
}

fn any_args() -> impl Strategy<Value = Vec<Variant>> {
    let arg = prop_oneof![
        Just(Variant::Nil),
        any::<i64>().prop_map(Variant::Int),
        any::<bool>().prop_map(Variant::Bool),
        any::<f64>().prop_map(Variant::Float),
        "[ -~]{0,8}".prop_map(Variant::from),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Variant::PackedByteArray),
    ];
    prop_oneof![
        4 => proptest::collection::vec(arg, 0..4),
        1 => Just(vec![Variant::Nil; 256]),
    ]
}

fn any_call() -> impl Strategy<Value = Call> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..24);
    let configs = || proptest::collection::vec(any_config(), 0..4);
    prop_oneof![
        2 => (any_path(), configs(), configs()).prop_map(|(p, s, n)| Call::Declare(p, s, n)),
        1 => (any_path(), any_id()).prop_map(|(p, id)| Call::Authority(p, id)),
        4 => (any_id(), any_path(), any_method(), any_args())
            .prop_map(|(id, p, m, a)| Call::Rpc(id, p, m, a)),
        2 => (bytes.clone(), any_id(), any_mode(), prop_oneof![Just(0), any::<i32>()])
            .prop_map(|(d, t, m, c)| Call::SendBytes(d, t, m, c)),
        1 => (any_id(), bytes.clone()).prop_map(|(id, d)| Call::SendAuth(id, d)),
        1 => any_id().prop_map(Call::CompleteAuth),
        1 => any_id().prop_map(Call::Disconnect),
        1 => any::<bool>().prop_map(Call::Relay),
        1 => any::<bool>().prop_map(Call::Auth),
        1 => prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::MAX),
            any::<u64>().prop_map(Duration::from_nanos),
            any::<u64>().prop_map(Duration::from_secs)
        ]
        .prop_map(Call::AuthTimeout),
        1 => any::<bool>().prop_map(Call::AllowObjects),
        1 => (any_path(), any_id()).prop_map(|(p, id)| Call::PathConfirmed(p, id)),
        2 => any_id().prop_map(Call::Joined),
        1 => any_id().prop_map(Call::Left),
        3 => (any_id(), packet()).prop_map(|(from, p)| Call::Packet(from, p)),
    ]
}

fn call(s: &mut SceneMultiplayer<Mock>, c: &Call) {
    // Every refusal is a typed `SceneError`; only a panic would fail here.
    let _: Result<(), scene_multiplayer::SceneError> = match c.clone() {
        Call::Declare(p, script, node) => {
            s.declare_node(&p, NodeRpcs::with_node_level(script, node));
            Ok(())
        }
        Call::Authority(p, id) => {
            s.set_node_authority(&p, id);
            Ok(())
        }
        Call::Rpc(id, p, m, args) => s.rpc_id(id, &p, &m, &args),
        Call::SendBytes(d, t, m, ch) => s.send_bytes(&d, t, m, ch),
        Call::SendAuth(id, d) => s.send_auth(id, &d),
        Call::CompleteAuth(id) => s.complete_auth(id),
        Call::Disconnect(id) => {
            s.disconnect_peer(id);
            Ok(())
        }
        Call::Relay(on) => {
            s.set_server_relay(on);
            Ok(())
        }
        Call::Auth(on) => {
            s.set_auth_enabled(on);
            Ok(())
        }
        Call::AuthTimeout(t) => {
            s.set_auth_timeout(t);
            Ok(())
        }
        Call::AllowObjects(on) => {
            s.set_allow_object_decoding(on);
            Ok(())
        }
        Call::PathConfirmed(p, id) => {
            let _ = s.path_confirmed(&p, id);
            Ok(())
        }
        Call::Joined(id) => {
            s.peer_mut()
                .events
                .push_back(MultiplayerEvent::PeerConnected(id));
            s.poll();
            Ok(())
        }
        Call::Left(id) => {
            s.peer_mut()
                .events
                .push_back(MultiplayerEvent::PeerDisconnected(id));
            s.poll();
            Ok(())
        }
        Call::Packet(from, p) => {
            s.peer_mut().inbox.push_back((from, p));
            s.poll();
            Ok(())
        }
    };
    while s.poll_event().is_some() {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every public method, arbitrary arguments, arbitrary order, as server and as client.
    #[test]
    fn any_call_sequence_is_safe(
        server in any::<bool>(),
        calls in proptest::collection::vec(any_call(), 1..40),
    ) {
        let mut s = scene(if server { 1 } else { A });
        for c in &calls {
            call(&mut s, c);
            let peers = s.get_peers().to_vec();
            let unique: std::collections::BTreeSet<i32> = peers.iter().copied().collect();
            prop_assert_eq!(unique.len(), peers.len(), "a peer listed twice: {:?}", peers);
            for p in s.get_authenticating_peers() {
                prop_assert!(!peers.contains(&p), "{} both pending and admitted", p);
            }
            s.peer_mut().sent.clear();
        }
    }
}
