//! Godot `ENetMultiplayerPeer` (Rust) ↔ the C ENet library (system libenet 1.3.17) acting
//! as Godot does: client ids in the CONNECT data, ENet channel 0 reliable, channel 1
//! unreliable/unreliable-ordered, user channel `k` on ENet channel `k + 1` (spec
//! godot-enet.md §1.2, §6.5, §6.6). The channel and flag mapping is checked on the wire:
//! the C peer reports the ENet channel and packet flags of everything it receives.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use enet_interop::{flags, pattern, pattern_seed, CEvent, CPeer, CPeerOpts, Received};
use enet_multiplayer::{
    ConnectionStatus, EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode,
};

use enet_multiplayer::testing::{pump, Node, Pkt};

const T: Duration = Duration::from_secs(5);
const LOCALHOST: &str = "127.0.0.1";

/// Steps the Rust nodes while waiting for a C event matching `pred`; panics on timeout.
fn drive_until(
    nodes: &mut [&mut Node],
    c: &mut CPeer,
    what: &str,
    mut pred: impl FnMut(&CEvent) -> bool,
) -> CEvent {
    let end = Instant::now() + T;
    loop {
        for n in nodes.iter_mut() {
            n.step();
        }
        if let Some(ev) = c.try_expect(Duration::from_millis(2), &mut pred) {
            return ev;
        }
        if Instant::now() >= end {
            // Let `expect` produce the diagnostic (backlog and history).
            return c.expect(Duration::ZERO, what, pred);
        }
    }
}

/// Steps the Rust nodes while collecting `n` packets received by the C peer.
fn drive_receives(nodes: &mut [&mut Node], c: &mut CPeer, n: usize) -> Vec<Received> {
    (0..n)
        .map(
            |_| match drive_until(nodes, c, "receive", |e| matches!(e, CEvent::Receive(_))) {
                CEvent::Receive(r) => r,
                _ => unreachable!(),
            },
        )
        .collect()
}

fn new_server(max_clients: usize) -> (Node, u16) {
    let mut mp = EnetMultiplayerPeer::new();
    mp.set_bind_ip(LOCALHOST).unwrap();
    mp.create_server(0, max_clients, 0, 0, 0).unwrap();
    let port = mp.host().unwrap().get_local_port().unwrap();
    (Node::new(mp), port)
}

fn new_client(port: u16, channels: usize) -> Node {
    let mut mp = EnetMultiplayerPeer::new();
    mp.create_client(LOCALHOST, port, channels, 0, 0, 0)
        .unwrap();
    Node::new(mp)
}

/// Spawns a C client with Godot id `id` and `channels` ENet channels and waits until our
/// server reports it.
fn c_client(server: &mut Node, port: u16, id: u32, channels: u32) -> CPeer {
    let mut c = CPeer::spawn_client(
        LOCALHOST,
        port,
        &CPeerOpts::new().channels(channels).data(id),
    );
    assert!(
        pump(&mut [&mut *server], T, |ns| ns[0]
            .events
            .contains(&MultiplayerEvent::PeerConnected(id as i32))),
        "server never saw C client {id}: events {:?}",
        server.events
    );
    server
        .events
        .retain(|e| *e != MultiplayerEvent::PeerConnected(id as i32));
    let info = match drive_until(&mut [server], &mut c, "connect", |e| {
        matches!(e, CEvent::Connect(_))
    }) {
        CEvent::Connect(i) => i,
        _ => unreachable!(),
    };
    assert_eq!(info.channels, channels);
    c
}

fn by_seed(pkts: Vec<Pkt>) -> BTreeMap<u32, Pkt> {
    pkts.into_iter()
        .map(|p| (pattern_seed(&p.data).expect("pattern payload"), p))
        .collect()
}

#[test]
fn c_client_with_godot_id_to_rust_server() {
    if !enet_interop::require_c_library() {
        return;
    }
    const ID: u32 = 12345;
    let (mut server, port) = new_server(8);
    // 2 system channels + 3 user channels.
    let mut c = c_client(&mut server, port, ID, 5);
    assert_eq!(server.mp.peer_ids(), vec![ID as i32]);
    assert_eq!(
        server
            .mp
            .get_peer(ID as i32)
            .unwrap()
            .get_channels()
            .unwrap(),
        5
    );

    // C → Rust: (ENet channel, flags, len, seed) → (mode, user channel) seen by Godot.
    use TransferMode::*;
    let c2r: [(u8, u32, usize, u32, TransferMode, i32); 10] = [
        (0, flags::RELIABLE, 32, 100, Reliable, 0),
        (1, flags::UNSEQUENCED, 32, 101, Unreliable, 0),
        (1, 0, 32, 102, UnreliableOrdered, 0),
        (
            1,
            flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT,
            32,
            103,
            Unreliable,
            0,
        ),
        (2, flags::RELIABLE, 32, 104, Reliable, 1),
        (3, flags::UNSEQUENCED, 32, 105, Unreliable, 2),
        (4, 0, 32, 106, UnreliableOrdered, 3),
        (0, flags::RELIABLE, 5000, 107, Reliable, 0),
        // A large unreliable packet travels as unreliable fragments: UNRELIABLE_ORDERED.
        (
            1,
            flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT,
            5000,
            108,
            UnreliableOrdered,
            0,
        ),
        (
            4,
            flags::UNRELIABLE_FRAGMENT,
            5000,
            109,
            UnreliableOrdered,
            3,
        ),
    ];
    for &(ch, fl, len, seed, _, _) in &c2r {
        c.send("0", ch, fl, len, seed);
        assert_eq!(c.expect_sent(T), 1);
    }
    assert!(
        pump(&mut [&mut server], T, |ns| ns[0].packets.len() >= c2r.len()),
        "got only {:?}",
        server.packets.len()
    );
    let got = by_seed(std::mem::take(&mut server.packets));
    assert_eq!(got.len(), c2r.len());
    for &(ch, fl, len, seed, mode, user_ch) in &c2r {
        let p = &got[&seed];
        assert_eq!(
            (p.from, p.channel, p.mode),
            (ID as i32, user_ch, mode),
            "C sent ENet channel {ch} flags {fl} len {len}"
        );
        assert!(p.data == pattern(seed, len));
    }

    // Rust → C: (mode, user channel, len, seed) → (ENet channel, received flags).
    let r2c: [(TransferMode, i32, usize, u32, u8, u32); 9] = [
        (Reliable, 0, 32, 200, 0, flags::RELIABLE),
        (Unreliable, 0, 32, 201, 1, flags::UNSEQUENCED),
        (UnreliableOrdered, 0, 32, 202, 1, 0),
        (Reliable, 2, 32, 203, 3, flags::RELIABLE),
        (Unreliable, 3, 32, 204, 4, flags::UNSEQUENCED),
        (UnreliableOrdered, 1, 32, 205, 2, 0),
        (Reliable, 0, 5000, 206, 0, flags::RELIABLE),
        (Unreliable, 0, 5000, 207, 1, flags::UNRELIABLE_FRAGMENT),
        (
            UnreliableOrdered,
            2,
            5000,
            208,
            3,
            flags::UNRELIABLE_FRAGMENT,
        ),
    ];
    for &(mode, ch, len, seed, _, _) in &r2c {
        server
            .send(ID as i32, mode, ch, &pattern(seed, len))
            .unwrap();
    }
    let got: BTreeMap<u32, Received> = drive_receives(&mut [&mut server], &mut c, r2c.len())
        .into_iter()
        .map(|r| (r.seed.expect("pattern payload"), r))
        .collect();
    for &(mode, ch, len, seed, enet_ch, fl) in &r2c {
        let r = &got[&seed];
        assert!(r.is_pattern(seed, len), "{r:?}");
        assert_eq!(
            (r.channel, r.flags),
            (enet_ch, fl),
            "Rust sent {mode:?} on user channel {ch}, len {len}"
        );
    }

    // Beyond the 5 negotiated channels: an error, nothing sent.
    for ch in [4, 10, 300] {
        assert!(server.send(ID as i32, Reliable, ch, b"nope").is_err());
    }
    // Broadcast and all-but reach the C client too.
    server.send(0, Reliable, 0, &pattern(300, 16)).unwrap();
    server
        .send(-999, Reliable, 0, &pattern(301, 16))
        .unwrap_err();
    server
        .send(-(ID as i32), Reliable, 0, &pattern(302, 16))
        .unwrap();
    let r = drive_receives(&mut [&mut server], &mut c, 1);
    assert!(r[0].is_pattern(300, 16), "{r:?}");

    // The C client leaves gracefully.
    c.quit(T);
    assert!(pump(&mut [&mut server], T, |ns| !ns[0].events.is_empty()));
    assert_eq!(
        server.events,
        vec![MultiplayerEvent::PeerDisconnected(ID as i32)]
    );
    assert!(server.mp.peer_ids().is_empty());
}

#[test]
fn rust_client_to_c_server_with_godot_ids_and_echo() {
    if !enet_interop::require_c_library() {
        return;
    }
    let mut s = CPeer::spawn_server(&CPeerOpts::new().godot_ids().echo());
    let mut client = new_client(s.port(), 3); // 5 ENet channels
    let cid = client.mp.get_unique_id();
    assert!(cid >= 2);
    let info = match drive_until(&mut [&mut client], &mut s, "connect", |e| {
        matches!(e, CEvent::Connect(_) | CEvent::Refused { .. })
    }) {
        CEvent::Connect(i) => i,
        other => panic!("the C server refused our id {cid}: {other:?}"),
    };
    assert_eq!(info.data, cid as u32, "our id travels in the CONNECT data");
    assert_eq!(info.channels, 5);
    assert!(pump(&mut [&mut client], T, |ns| !ns[0].events.is_empty()));
    assert_eq!(client.events, vec![MultiplayerEvent::PeerConnected(1)]);
    assert_eq!(
        client.mp.get_connection_status(),
        ConnectionStatus::Connected
    );

    // (mode, user channel, len, seed) → seen by C (ENet channel, flags) → echoed back and
    // seen by us as (mode, user channel).
    use TransferMode::*;
    let cases: [(TransferMode, i32, usize, u32, u8, u32, TransferMode); 8] = [
        (Reliable, 0, 32, 300, 0, flags::RELIABLE, Reliable),
        (Unreliable, 0, 32, 301, 1, flags::UNSEQUENCED, Unreliable),
        (UnreliableOrdered, 0, 32, 302, 1, 0, UnreliableOrdered),
        (Reliable, 3, 32, 303, 4, flags::RELIABLE, Reliable),
        (Unreliable, 2, 32, 304, 3, flags::UNSEQUENCED, Unreliable),
        (UnreliableOrdered, 1, 32, 305, 2, 0, UnreliableOrdered),
        (Reliable, 0, 5000, 306, 0, flags::RELIABLE, Reliable),
        (
            Unreliable,
            0,
            3000,
            307,
            1,
            flags::UNRELIABLE_FRAGMENT,
            UnreliableOrdered,
        ),
    ];
    for &(mode, ch, len, seed, ..) in &cases {
        client.send(1, mode, ch, &pattern(seed, len)).unwrap();
    }
    let at_c: BTreeMap<u32, Received> = drive_receives(&mut [&mut client], &mut s, cases.len())
        .into_iter()
        .map(|r| (r.seed.expect("pattern payload"), r))
        .collect();
    for &(mode, ch, len, seed, enet_ch, fl, _) in &cases {
        let r = &at_c[&seed];
        assert!(r.is_pattern(seed, len), "{r:?}");
        assert_eq!(
            (r.channel, r.flags),
            (enet_ch, fl),
            "we sent {mode:?} on user channel {ch}, len {len}"
        );
    }
    assert!(pump(&mut [&mut client], T, |ns| ns[0].packets.len()
        >= cases.len()));
    let echoed = by_seed(std::mem::take(&mut client.packets));
    for &(mode, ch, len, seed, _, _, back) in &cases {
        let p = &echoed[&seed];
        let user_ch = if ch > 0 { ch } else { 0 };
        assert_eq!(
            (p.from, p.channel, p.mode),
            (1, user_ch, back),
            "echo of {mode:?} on user channel {ch}, len {len}"
        );
        assert!(p.data == pattern(seed, len));
    }

    // A second client gets its own id accepted too.
    let mut second = new_client(s.port(), 0);
    let sid = second.mp.get_unique_id();
    let info = match drive_until(&mut [&mut client, &mut second], &mut s, "connect", |e| {
        matches!(e, CEvent::Connect(_) | CEvent::Refused { .. })
    }) {
        CEvent::Connect(i) => i,
        other => panic!("refused: {other:?}"),
    };
    assert_eq!(info.data, sid as u32);
    assert_eq!(info.channels, 255, "channel_count 0 asks for the maximum");

    // Closing our client: the C server sees the disconnect.
    client.mp.close();
    drive_until(&mut [&mut second], &mut s, "disconnect", |e| {
        matches!(e, CEvent::Disconnect { .. })
    });
}

#[test]
fn c_clients_with_bad_ids_are_refused() {
    if !enet_interop::require_c_library() {
        return;
    }
    let (mut server, port) = new_server(16);
    let mut good = new_client(port, 0);
    let gid = good.mp.get_unique_id();
    assert!(pump(&mut [&mut server, &mut good], T, |ns| {
        !ns[0].events.is_empty() && !ns[1].events.is_empty()
    }));
    assert_eq!(server.events, vec![MultiplayerEvent::PeerConnected(gid)]);
    server.events.clear();
    // A valid C client (default 2 channels: the system ones only).
    let mut valid = c_client(&mut server, port, 4242, 2);

    // Godot refuses ids < 2 and ids in use (ours also refuses ids ≥ 2³¹, which Godot
    // would turn into a negative id).
    let bad = [0u32, 1, gid as u32, 4242, 0x8000_0005];
    let mut cs: Vec<CPeer> = bad
        .iter()
        .map(|&d| {
            let mut c = CPeer::spawn_client(LOCALHOST, port, &CPeerOpts::new().data(d));
            c.send_line("timeout 0 4 400 800");
            c
        })
        .collect();
    for (c, d) in cs.iter_mut().zip(bad) {
        let what = format!("C client with data {d}");
        // The C side completes the handshake before our server resets the peer...
        drive_until(&mut [&mut server, &mut good], c, &what, |e| {
            matches!(e, CEvent::Connect(_))
        });
        // ...and then times out (the reset is silent).
        drive_until(&mut [&mut server, &mut good], c, &what, |e| {
            matches!(e, CEvent::Disconnect { .. })
        });
    }
    assert!(
        server.events.is_empty(),
        "no PeerConnected for bad ids: {:?}",
        server.events
    );
    let mut ids = server.mp.peer_ids();
    ids.sort_unstable();
    let mut want = vec![gid, 4242];
    want.sort_unstable();
    assert_eq!(ids, want);

    // Still serving the others, both ways.
    good.send(1, TransferMode::Reliable, 0, &pattern(1, 8))
        .unwrap();
    valid.send("0", 0, flags::RELIABLE, 8, 2);
    assert!(pump(&mut [&mut server, &mut good], T, |ns| ns[0]
        .packets
        .len()
        >= 2));
    let got = by_seed(std::mem::take(&mut server.packets));
    assert_eq!(got[&1].from, gid);
    assert_eq!(got[&2].from, 4242);
    server
        .send(4242, TransferMode::Unreliable, 0, &pattern(3, 8))
        .unwrap();
    let r = drive_receives(&mut [&mut server, &mut good], &mut valid, 1);
    assert!(r[0].is_pattern(3, 8));
    assert_eq!((r[0].channel, r[0].flags), (1, flags::UNSEQUENCED));

    // The valid C client only has the two system channels: user channels fail.
    for ch in [1, 2, 300] {
        for mode in [
            TransferMode::Reliable,
            TransferMode::Unreliable,
            TransferMode::UnreliableOrdered,
        ] {
            assert!(server.send(4242, mode, ch, b"nope").is_err());
        }
    }
}
