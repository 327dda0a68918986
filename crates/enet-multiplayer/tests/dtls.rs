//! `EnetMultiplayerPeer` over DTLS (feature `dtls`): Godot's recipe, `create_server` then
//! `host().dtls_server_setup(...)`, `create_client` then `host().dtls_client_setup(...)`.
#![cfg(feature = "dtls")]

use std::time::{Duration, Instant};

use enet::dtls::{certs, TlsOptions};
use enet_multiplayer::{ConnectionStatus, EnetMultiplayerPeer, MultiplayerEvent, MultiplayerPeer};

#[test]
fn server_and_client_meet_over_dtls() {
    let pem = certs::self_signed_rsa("localhost", 30).unwrap();
    let mut server = EnetMultiplayerPeer::new();
    server.set_bind_ip("127.0.0.1").unwrap();
    server.create_server(0, 8, 0, 0, 0).unwrap();
    let host = server.host().unwrap();
    host.dtls_server_setup(TlsOptions::server(&pem.key_pem, &pem.cert_pem).unwrap())
        .unwrap();
    let port = host.get_local_port().unwrap();

    let mut client = EnetMultiplayerPeer::new();
    client.create_client("127.0.0.1", port, 0, 0, 0, 0).unwrap();
    client
        .host()
        .unwrap()
        .dtls_client_setup(
            "localhost",
            TlsOptions::client(Some(&pem.cert_pem), None).unwrap(),
        )
        .unwrap();
    let cid = client.get_unique_id();
    let end = Instant::now() + Duration::from_secs(20);
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
    assert!(
        s_ok && c_ok,
        "{:?}",
        client.host().unwrap().dtls_last_error()
    );
    assert_eq!(client.get_connection_status(), ConnectionStatus::Connected);
    client.put_packet(b"over dtls").unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && server.get_available_packet_count() == 0 {
        server.poll();
        client.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(server.get_packet_peer(), cid);
    assert_eq!(&server.get_packet().unwrap()[..], b"over dtls");
    let st = server.host().unwrap().dtls_stats().unwrap();
    assert_eq!((st.sessions, st.handshakes_completed), (1, 1));
}
