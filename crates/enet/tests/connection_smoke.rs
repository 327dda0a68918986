//! Smoke tests of `EnetConnection` (Godot's `ENetConnection`) on 127.0.0.1, through the
//! Godot-shaped API: connect and exchange packets, the typed errors of channel arguments,
//! peer info and stale peer handles, and handles of a destroyed host staying stale after
//! `create`. The method-by-method tests are in the other `connection*.rs` files.

mod common;

use std::time::Duration;

use common::pump;
use enet::godot::{EnetConnection, EventType, PeerHandle, FLAG_RELIABLE};

#[test]
fn connect_send_receive() {
    let mut server = EnetConnection::new();
    server
        .create_host_bound("127.0.0.1", 0, 32, 0, 0, 0)
        .unwrap();
    let port = server.get_local_port().unwrap();
    let mut client = EnetConnection::new();
    client.create_host(1, 0, 0, 0).unwrap();
    let cpeer = client.connect_to_host("127.0.0.1", port, 3, 1234).unwrap();
    let mut speer: Option<PeerHandle> = None;
    let mut up = 0;
    assert!(pump(
        &mut [&mut server, &mut client],
        Duration::from_secs(5),
        |i, _, ev| {
            assert_eq!(ev.kind, EventType::Connect);
            if i == 0 {
                assert_eq!(ev.data, 1234);
                speer = ev.peer;
            }
            up += 1;
            up == 2
        }
    ));
    assert_eq!(client.peer(cpeer).get_channels().unwrap(), 3);
    client.peer(cpeer).send(2, b"hello", FLAG_RELIABLE).unwrap();
    assert!(pump(
        &mut [&mut server, &mut client],
        Duration::from_secs(5),
        |i, c, ev| {
            assert_eq!((i, ev.kind, ev.channel), (0, EventType::Receive, 2));
            let mut p = c.peer(ev.peer.unwrap());
            assert_eq!(p.get_packet_flags().unwrap(), FLAG_RELIABLE);
            assert_eq!(&p.get_packet().unwrap()[..], b"hello");
            true
        }
    ));
    assert_eq!(server.get_peers(), vec![speer.unwrap()]);
}

/// Channel errors are typed (`InvalidChannel { channel, limit }`, Godot's
/// `ERR_INVALID_PARAMETER`); `peer_info` gives the engine's view of a peer through the public
/// API; a stale handle (its slot reused) sees neither that peer's info nor its packet flags.
#[test]
fn typed_channel_errors_peer_info_and_stale_handles() {
    let mut server = EnetConnection::new();
    server
        .create_host_bound("127.0.0.1", 0, 32, 4, 0, 0)
        .unwrap();
    let port = server.get_local_port().unwrap();
    let mut client = EnetConnection::new();
    client.create_host(1, 0, 0, 0).unwrap();
    let connect = |client: &mut EnetConnection, server: &mut EnetConnection| {
        let h = client.connect_to_host("127.0.0.1", port, 3, 7).unwrap();
        let mut up = 0;
        assert!(pump(
            &mut [server, client],
            Duration::from_secs(5),
            |_, _, ev| {
                up += usize::from(ev.kind == EventType::Connect);
                up == 2
            }
        ));
        h
    };
    let old = connect(&mut client, &mut server);
    let e = client.peer(old).send(3, b"x", FLAG_RELIABLE).unwrap_err();
    assert!(
        matches!(
            e,
            enet::Error::InvalidChannel {
                channel: 3,
                limit: 3
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.godot_code(), 31);
    let e = server.broadcast(4, b"x", FLAG_RELIABLE).unwrap_err();
    assert!(
        matches!(
            e,
            enet::Error::InvalidChannel {
                channel: 4,
                limit: 4
            }
        ),
        "{e:?}"
    );
    let info = client.peer(old).peer_info().unwrap();
    assert_eq!(info.channel_count, 3);
    assert_eq!(info.address.port(), port);

    // A reliable packet from the client sets the server's last packet flags.
    let speer = server.get_peers()[0];
    client.peer(old).send(0, b"r", FLAG_RELIABLE).unwrap();
    assert!(pump(
        &mut [&mut server, &mut client],
        Duration::from_secs(5),
        |i, c, ev| {
            if i == 0 && ev.kind == EventType::Receive {
                assert_eq!(&c.peer(ev.peer.unwrap()).get_packet().unwrap()[..], b"r");
                return true;
            }
            false
        }
    ));
    assert_eq!(server.peer(speer).last_packet_flags(), FLAG_RELIABLE);

    // The server resets that peer; a new client's connection reuses the slot.
    server.peer(speer).reset().unwrap();
    let mut client2 = EnetConnection::new();
    client2.create_host(1, 0, 0, 0).unwrap();
    connect(&mut client2, &mut server);
    let snew = server.get_peers()[0];
    assert_eq!(snew.index(), speer.index(), "the slot is reused");
    assert_ne!(snew, speer);
    assert!(matches!(
        server.peer(speer).peer_info(),
        Err(enet::Error::PeerInactive)
    ));
    assert_eq!(server.peer(speer).last_packet_flags(), 0, "stale handle");
    assert!(server.peer(snew).peer_info().is_ok());
}

/// A handle of a destroyed host never names a peer of the next host created on the same
/// connection, even in the same slot: generations go on rising across `create_*`.
#[test]
fn handles_of_a_destroyed_host_stay_stale_after_create() {
    let target = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = target.local_addr().unwrap().port();
    let mut c = EnetConnection::new();
    c.create_host(1, 0, 0, 0).unwrap();
    let first = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    assert!(c.peer(first).is_active());
    c.destroy().unwrap();
    c.create_host(1, 0, 0, 0).unwrap();
    let second = c.connect_to_host("127.0.0.1", port, 1, 0).unwrap();
    assert_eq!(second.index(), first.index(), "the same slot");
    assert_ne!(second, first);
    assert!(!c.peer(first).is_active());
    assert!(matches!(
        c.peer(first).peer_disconnect_now(0),
        Err(enet::Error::PeerInactive)
    ));
    assert!(
        c.peer(second).is_active(),
        "the stale handle did not touch it"
    );
    assert_eq!(c.get_peers(), vec![second]);
}
