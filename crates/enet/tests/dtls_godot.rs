//! Godot's DTLS surface on `EnetConnection` (feature `dtls`): error codes of
//! `dtls_server_setup` / `dtls_client_setup`, a connection, and `refuse_new_connections`.
#![cfg(feature = "dtls")]

mod dtls_support;

use std::time::{Duration, Instant};

use dtls_support::{Alg, Pki};
use enet::dtls::TlsOptions;
use enet::godot::{EnetConnection, EventType, FLAG_RELIABLE};

fn server(pki: &Pki) -> EnetConnection {
    let (key, cert) = pki.leaf("localhost", Alg::Ecdsa);
    let mut s = EnetConnection::new();
    s.create_host_bound("127.0.0.1", 0, 8, 0, 0, 0).unwrap();
    s.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap();
    s
}

fn client(port: u16, pki: &Pki) -> EnetConnection {
    let mut c = EnetConnection::new();
    c.create_host(1, 0, 0, 0).unwrap();
    c.connect_to_host("127.0.0.1", port, 2, 9).unwrap();
    c.dtls_client_setup(
        "localhost",
        TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
    )
    .unwrap();
    c
}

/// Services both until `f` says stop; false on timeout.
fn pump(
    a: &mut EnetConnection,
    b: &mut EnetConnection,
    limit: Duration,
    mut f: impl FnMut(usize, &mut EnetConnection, enet::godot::ServiceEvent) -> bool,
) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        for (i, c) in [&mut *a, &mut *b].into_iter().enumerate() {
            let ev = c.service(Duration::from_millis(1)).unwrap();
            if ev.kind != EventType::None && f(i, c, ev) {
                return true;
            }
        }
    }
    false
}

#[test]
fn setup_returns_godots_error_codes() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut c = EnetConnection::new();
    let e = c
        .dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap_err();
    assert_eq!(e.godot_code(), 3, "ERR_UNCONFIGURED without a host");
    let e = c
        .dtls_client_setup("localhost", TlsOptions::client_unsafe())
        .unwrap_err();
    assert_eq!(e.godot_code(), 3);
    c.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0).unwrap();
    let e = c
        .dtls_server_setup(TlsOptions::client_unsafe())
        .unwrap_err();
    assert_eq!(
        e.godot_code(),
        31,
        "ERR_INVALID_PARAMETER for client options"
    );
    let e = c
        .dtls_client_setup("x", TlsOptions::server(&key, &cert).unwrap())
        .unwrap_err();
    assert_eq!(
        e.godot_code(),
        31,
        "ERR_INVALID_PARAMETER for server options"
    );
    let e = c
        .dtls_client_setup("local\0host", TlsOptions::client_unsafe())
        .unwrap_err();
    assert_eq!(
        e.godot_code(),
        31,
        "ERR_INVALID_PARAMETER for a host name DTLS cannot carry"
    );
    c.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap();
    let e = c
        .dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap_err();
    assert_eq!(e.godot_code(), 1, "FAILED once upgraded");
    let e = c
        .dtls_client_setup("x", TlsOptions::client_unsafe())
        .unwrap_err();
    assert_eq!(e.godot_code(), 1);
}

#[test]
fn connection_over_dtls_and_refusing_new_handshakes() {
    let pki = Pki::new();
    let mut s = server(&pki);
    let port = s.get_local_port().unwrap();
    let mut c = client(port, &pki);
    let mut up = 0;
    assert!(
        pump(&mut s, &mut c, Duration::from_secs(20), |_, _, ev| {
            assert_eq!(ev.kind, EventType::Connect);
            up += 1;
            up == 2
        }),
        "{:?}",
        c.dtls_last_error()
    );
    let peer = c.get_peers()[0];
    c.peer(peer)
        .send(1, b"godot over dtls", FLAG_RELIABLE)
        .unwrap();
    assert!(pump(
        &mut s,
        &mut c,
        Duration::from_secs(10),
        |i, conn, ev| {
            if i == 0 && ev.kind == EventType::Receive {
                let p = conn.peer(ev.peer.unwrap()).get_packet().unwrap();
                assert_eq!(&p[..], b"godot over dtls");
                assert_eq!(ev.channel, 1);
                return true;
            }
            false
        }
    ));

    // Refusing: a second client gets no handshake (not even a cookie), the first stays.
    s.refuse_new_connections(true).unwrap();
    let cookies = s.dtls_stats().unwrap().cookies_sent;
    let mut late = client(port, &pki);
    let connected = pump(&mut s, &mut late, Duration::from_secs(2), |_, _, ev| {
        ev.kind == EventType::Connect
    });
    assert!(!connected);
    let st = s.dtls_stats().unwrap();
    assert_eq!(st.cookies_sent, cookies);
    assert_eq!((st.sessions, st.pending_handshakes), (1, 0));
    assert!(st.dropped_records >= 1);
    c.peer(peer).send(0, b"still here", FLAG_RELIABLE).unwrap();
    assert!(pump(&mut s, &mut c, Duration::from_secs(10), |i, _, ev| {
        i == 0 && ev.kind == EventType::Receive
    }));
}

#[test]
fn a_dual_stack_dtls_server_serves_ipv4_and_ipv6_clients() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut s = EnetConnection::new();
    s.create_host_bound("*", 0, 8, 0, 0, 0).unwrap();
    s.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap();
    let port = s.get_local_port().unwrap();
    for addr in ["127.0.0.1", "::1"] {
        let mut c = EnetConnection::new();
        c.create_host(1, 0, 0, 0).unwrap();
        c.connect_to_host(addr, port, 1, 0).unwrap();
        c.dtls_client_setup(
            "localhost",
            TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
        )
        .unwrap();
        let mut up = 0;
        assert!(
            pump(&mut s, &mut c, Duration::from_secs(20), |_, _, ev| {
                if ev.kind == EventType::Connect {
                    up += 1;
                }
                up == 2
            }),
            "{addr}: {:?}",
            c.dtls_last_error()
        );
        let peer = c.get_peers()[0];
        c.peer(peer)
            .send(0, addr.as_bytes(), FLAG_RELIABLE)
            .unwrap();
        assert!(pump(
            &mut s,
            &mut c,
            Duration::from_secs(10),
            |i, conn, ev| {
                i == 0
                    && ev.kind == EventType::Receive
                    && conn.peer(ev.peer.unwrap()).get_packet().unwrap() == addr.as_bytes()
            }
        ));
        // Dropping the client closes its session (close_notify); the count below stays.
        drop(c);
    }
    let st = s.dtls_stats().unwrap();
    assert_eq!(st.handshakes_completed, 2, "{st:?}");
    assert_eq!(st.failures, 0);
}
