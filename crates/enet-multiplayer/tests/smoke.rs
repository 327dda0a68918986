//! The shortest path through the Godot surface: a server and a client on the shared test
//! bed meet, and one packet arrives with its getters right.

use enet_multiplayer::testing::{client, pump_until, server};
use enet_multiplayer::{ConnectionStatus, MultiplayerEvent, MultiplayerPeer, TransferMode};

#[test]
fn server_and_client_meet() {
    let (mut server, port) = server(32);
    server.hold = true;
    let mut client = client(port, 0);
    client.hold = true;
    let cid = client.mp.get_unique_id();
    assert!(cid >= 2);
    let (mut s_ok, mut c_ok) = (false, false);
    pump_until(&mut [&mut server, &mut client], "the connection", |ns| {
        while let Some(e) = ns[0].mp.poll_event() {
            assert_eq!(e, MultiplayerEvent::PeerConnected(cid));
            s_ok = true;
        }
        while let Some(e) = ns[1].mp.poll_event() {
            assert_eq!(e, MultiplayerEvent::PeerConnected(1));
            c_ok = true;
        }
        s_ok && c_ok
    });
    assert_eq!(
        client.mp.get_connection_status(),
        ConnectionStatus::Connected
    );
    client.mp.set_transfer_mode(TransferMode::UnreliableOrdered);
    client.mp.set_transfer_channel(3);
    client.mp.put_packet(b"hi").unwrap();
    pump_until(&mut [&mut server, &mut client], "the packet", |ns| {
        ns[0].mp.get_available_packet_count() > 0
    });
    let server = &mut server.mp;
    assert_eq!(server.get_packet_peer(), cid);
    assert_eq!(server.get_packet_channel(), 3);
    assert_eq!(server.get_packet_mode(), TransferMode::UnreliableOrdered);
    assert_eq!(&server.get_packet().unwrap()[..], b"hi");
}
