use std::time::{Duration, Instant};

use enet_multiplayer::{
    ConnectionStatus, EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer, TransferMode,
};

#[test]
fn server_and_client_meet() {
    let mut server = EnetMultiplayerPeer::new();
    server.set_bind_ip("127.0.0.1").unwrap();
    server.create_server(0, 32, 0, 0, 0).unwrap();
    let port = server.host().unwrap().get_local_port().unwrap();
    let mut client = EnetMultiplayerPeer::new();
    client.create_client("127.0.0.1", port, 0, 0, 0, 0).unwrap();
    let cid = client.get_unique_id();
    assert!(cid >= 2);
    let end = Instant::now() + Duration::from_secs(5);
    let (mut s_ok, mut c_ok) = (false, false);
    while Instant::now() < end && !(s_ok && c_ok) {
        server.poll();
        client.poll();
        while let Some(e) = server.poll_event() {
            assert_eq!(e, MultiplayerEvent::PeerConnected(cid));
            s_ok = true;
        }
        while let Some(e) = client.poll_event() {
            assert_eq!(e, MultiplayerEvent::PeerConnected(1));
            c_ok = true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(s_ok && c_ok);
    assert_eq!(client.get_connection_status(), ConnectionStatus::Connected);
    client.set_transfer_mode(TransferMode::UnreliableOrdered);
    client.set_transfer_channel(3);
    client.put_packet(b"hi").unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && server.get_available_packet_count() == 0 {
        server.poll();
        client.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(server.get_packet_peer(), cid);
    assert_eq!(server.get_packet_channel(), 3);
    assert_eq!(server.get_packet_mode(), TransferMode::UnreliableOrdered);
    assert_eq!(&server.get_packet().unwrap()[..], b"hi");
}
