//! DTLS between a Rust client and a Rust server on `UdpHost` (feature `dtls`): traffic of
//! every kind through a recording relay that must see no plaintext, certificate and host
//! name verification, and a plain client refused by a DTLS server.
#![cfg(feature = "dtls")]

mod dtls_support;

use std::time::Duration;

use dtls_support::*;
use enet::dtls::{DtlsError, TlsOptions};
use enet::udp::UdpHost;
use enet::{DisconnectReason, Event, HostConfig, Packet, PacketFlags};

fn server_with(key: &[u8], cert: &[u8]) -> UdpHost {
    let mut s = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    s.dtls_server_setup(TlsOptions::server(key, cert).unwrap())
        .unwrap();
    s
}

#[test]
fn traffic_of_every_kind_crosses_dtls_encrypted() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut server = server_with(&key, &cert);
    let relay = Relay::start(server.local_addr());
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let cpeer = client.connect(relay.addr, 4, 77).unwrap();
    client
        .dtls_client_setup(
            "localhost",
            TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
        )
        .unwrap();

    let mut speer = None;
    let mut client_up = false;
    assert!(
        pump(
            &mut server,
            &mut client,
            Duration::from_secs(20),
            |i, ev| {
                match (i, ev) {
                    (0, Event::Connect { peer, data }) => {
                        assert_eq!(*data, 77);
                        speer = Some(*peer);
                    }
                    (1, Event::Connect { .. }) => client_up = true,
                    other => panic!("unexpected {other:?}"),
                }
                speer.is_some() && client_up
            }
        ),
        "connect over DTLS; client error: {:?}",
        client.dtls_last_error()
    );
    let speer = speer.unwrap();

    let big: Vec<u8> = b"FRAGMENTED-SECRET-"
        .iter()
        .copied()
        .cycle()
        .take(20_000)
        .collect();
    let sent: Vec<(u8, Packet)> = vec![
        (0, Packet::reliable(&b"RELIABLE-SECRET-PAYLOAD"[..])),
        (1, Packet::unreliable(&b"UNRELIABLE-SECRET-PAYLOAD"[..])),
        (2, Packet::unsequenced(&b"UNSEQUENCED-SECRET-PAYLOAD"[..])),
        (3, Packet::reliable(big.clone())),
    ];
    for (ch, p) in &sent {
        client.send(cpeer, *ch, p.clone()).unwrap();
    }
    let mut got = Vec::new();
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(20),
        |i, ev| {
            if let (
                0,
                Event::Receive {
                    channel_id, packet, ..
                },
            ) = (i, ev)
            {
                got.push((*channel_id, packet.data.to_vec(), packet.flags));
                // Echo each back on the same channel, reliably.
            }
            got.len() == sent.len()
        }
    ));
    got.sort_by_key(|g| g.0);
    for ((ch, p), (gch, data, flags)) in sent.iter().zip(&got) {
        assert_eq!(ch, gch);
        assert_eq!(&p.data[..], &data[..]);
        let kind = PacketFlags::RELIABLE.0 | PacketFlags::UNSEQUENCED.0;
        assert_eq!(p.flags.0 & kind, flags.0 & kind, "channel {ch}");
    }
    // And back: the server's reply reaches the client.
    server
        .send(speer, 0, Packet::reliable(&b"SERVER-SECRET-REPLY"[..]))
        .unwrap();
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(10),
        |i, ev| {
            matches!((i, ev), (1, Event::Receive { packet, .. }) if &packet.data[..] == b"SERVER-SECRET-REPLY")
        }
    ));

    // Graceful disconnect: both sides see it.
    client.disconnect(cpeer, 5).unwrap();
    let (mut s_done, mut c_done) = (false, false);
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(10),
        |i, ev| {
            match (i, ev) {
                (0, Event::Disconnect { data, .. }) => {
                    assert_eq!(*data, 5);
                    s_done = true;
                }
                (1, Event::Disconnect { reason, .. }) => {
                    assert_eq!(*reason, DisconnectReason::Local);
                    c_done = true;
                }
                _ => {}
            }
            s_done && c_done
        }
    ));

    // socket_send goes through DTLS as in Godot: sealed to the session, dropped elsewhere.
    let before = (client.dtls_stats().unwrap(), server.dtls_stats().unwrap());
    server.socket_send(relay.addr, b"RAW-SECRET-BYTES").unwrap();
    server
        .socket_send("127.0.0.1:9".parse().unwrap(), b"RAW-SECRET-BYTES")
        .unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < end
        && client.dtls_stats().unwrap().records_received == before.0.records_received
    {
        client.service(Duration::from_millis(5)).unwrap();
    }
    assert_eq!(
        client.dtls_stats().unwrap().records_received,
        before.0.records_received + 1
    );
    assert_eq!(
        server.dtls_stats().unwrap().busy_drops,
        before.1.busy_drops + 1
    );

    let wire = relay.recorded();
    assert!(wire.len() > 20_000, "relay saw {} bytes", wire.len());
    for marker in [
        &b"RELIABLE-SECRET"[..],
        b"UNRELIABLE-SECRET",
        b"UNSEQUENCED-SECRET",
        b"FRAGMENTED-SECRET",
        b"SERVER-SECRET",
        b"RAW-SECRET",
    ] {
        assert!(
            !contains(&wire, marker),
            "plaintext {:?} on the wire",
            String::from_utf8_lossy(marker)
        );
    }
    let ss = server.dtls_stats().unwrap();
    let cs = client.dtls_stats().unwrap();
    assert_eq!(ss.sessions, 1);
    assert_eq!(ss.handshakes_completed, 1);
    assert!(ss.cookies_sent >= 1, "{ss:?}");
    assert_eq!(ss.failures, 0);
    assert_eq!(cs.handshakes_completed, 1);
    assert!(
        cs.records_sent > 15 && ss.records_received > 15,
        "{cs:?} {ss:?}"
    );
}

/// Runs a client with `options` against `server` until its DTLS layer reports an error;
/// asserts it never connected.
fn refused(server: &mut UdpHost, hostname: &str, options: TlsOptions) -> DtlsError {
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    client.connect(server.local_addr(), 1, 0).unwrap();
    client.dtls_client_setup(hostname, options).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.dtls_last_error().is_none() && std::time::Instant::now() < deadline {
        for h in [&mut *server, &mut client] {
            if let Some(ev) = h.service(Duration::from_millis(1)).unwrap() {
                assert!(!matches!(ev, Event::Connect { .. }), "connected: {ev:?}");
            }
        }
    }
    let error = client.dtls_last_error().cloned();
    assert_eq!(server.dtls_stats().unwrap().sessions, 0);
    let cs = client.dtls_stats().unwrap();
    assert!(cs.failures >= 1 && cs.handshakes_completed == 0, "{cs:?}");
    error.expect("the client reports why it refused")
}

#[test]
fn verification_refuses_wrong_ca_wrong_name_and_expired_certificates() {
    let pki = Pki::new();
    let other = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut server = server_with(&key, &cert);

    let e = refused(
        &mut server,
        "localhost",
        TlsOptions::client(Some(&other.ca_pem()), None).unwrap(),
    );
    assert!(matches!(e, DtlsError::UntrustedCertificate(_)), "{e:?}");

    let e = refused(
        &mut server,
        "example.org",
        TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
    );
    assert_eq!(e, DtlsError::HostnameMismatch("example.org".into()));
    // The common-name override is what is checked when given.
    let e = refused(
        &mut server,
        "localhost",
        TlsOptions::client(Some(&pki.ca_pem()), Some("game.example")).unwrap(),
    );
    assert_eq!(e, DtlsError::HostnameMismatch("game.example".into()));

    let (xkey, xcert) = pki.expired_leaf("localhost");
    let mut expired = server_with(&xkey, &xcert);
    let e = refused(
        &mut expired,
        "localhost",
        TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
    );
    assert!(matches!(e, DtlsError::CertificateExpired(_)), "{e:?}");
    assert!(e.to_string().contains("expired"), "{e}");
}

fn connects(server: &mut UdpHost, hostname: &str, options: TlsOptions) -> UdpHost {
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    client.connect(server.local_addr(), 1, 0).unwrap();
    client.dtls_client_setup(hostname, options).unwrap();
    let (mut s, mut c) = (false, false);
    assert!(
        pump(server, &mut client, Duration::from_secs(20), |i, ev| {
            match (i, ev) {
                (0, Event::Connect { .. }) => s = true,
                (1, Event::Connect { .. }) => c = true,
                other => panic!("unexpected {other:?}"),
            }
            s && c
        }),
        "client error: {:?}",
        client.dtls_last_error()
    );
    client
}

#[test]
fn client_unsafe_override_and_der_material_connect() {
    let pki = Pki::new();
    // An ECDSA leaf, loaded from DER.
    let (key, cert) = pki.leaf("game.example", Alg::Ecdsa);
    let key_der = enet::dtls::openssl::pkey::PKey::private_key_from_pem(&key)
        .unwrap()
        .private_key_to_der()
        .unwrap();
    let cert_der = enet::dtls::openssl::x509::X509::from_pem(&cert)
        .unwrap()
        .to_der()
        .unwrap();
    let mut server = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    server
        .dtls_server_setup(TlsOptions::server(&key_der, &cert_der).unwrap())
        .unwrap();
    // Both clients stay alive (dropping one closes its session).
    let _unsafe_client = connects(&mut server, "127.0.0.1", TlsOptions::client_unsafe());
    let ca_der = pki.ca.to_der().unwrap();
    let _verified_client = connects(
        &mut server,
        "127.0.0.1",
        TlsOptions::client(Some(&ca_der), Some("game.example")).unwrap(),
    );
    let st = server.dtls_stats().unwrap();
    assert_eq!((st.sessions, st.handshakes_completed), (2, 2));
}

#[test]
fn a_plain_enet_client_never_becomes_a_peer_of_a_dtls_server() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut server = server_with(&key, &cert);
    let mut plain = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    plain.connect(server.local_addr(), 1, 0).unwrap();
    let happened = pump(&mut server, &mut plain, Duration::from_secs(3), |i, ev| {
        i == 0 || matches!(ev, Event::Connect { .. })
    });
    assert!(!happened, "the plain client must not connect");
    let st = server.dtls_stats().unwrap();
    assert!(st.dropped_records >= 1, "{st:?}");
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.tracked_addresses),
        (0, 0, 0)
    );
    assert_eq!(server.host().connected_peers(), 0);
}

#[test]
fn setup_is_checked() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let (other_key, _) = pki.leaf("localhost", Alg::Ecdsa);
    assert_eq!(
        TlsOptions::server(&other_key, &cert).unwrap_err(),
        DtlsError::KeyMismatch
    );
    assert!(matches!(
        TlsOptions::server(b"not a key", &cert).unwrap_err(),
        DtlsError::InvalidKey(_)
    ));
    assert!(matches!(
        TlsOptions::client(Some(b"-----BEGIN CERTIFICATE-----\nxx\n"), None).unwrap_err(),
        DtlsError::InvalidCertificate(_)
    ));
    let mut h = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    assert!(matches!(
        h.dtls_server_setup(TlsOptions::client_unsafe()),
        Err(DtlsError::WrongOptions(_))
    ));
    assert!(matches!(
        h.dtls_client_setup("x", TlsOptions::server(&key, &cert).unwrap()),
        Err(DtlsError::WrongOptions(_))
    ));
    // A host name OpenSSL could not take (it used to panic in the next service()).
    for bad in ["local\0host", ""] {
        assert_eq!(
            h.dtls_client_setup(bad, TlsOptions::client_unsafe()),
            Err(DtlsError::InvalidHostname(bad.into()))
        );
    }
    assert!(matches!(
        TlsOptions::client(None, Some("a\0b")),
        Err(DtlsError::InvalidHostname(_))
    ));
    assert!(!h.is_dtls());
    h.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap();
    assert!(h.is_dtls());
    assert_eq!(
        h.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap()),
        Err(DtlsError::AlreadyUpgraded)
    );
    assert_eq!(
        h.dtls_client_setup("x", TlsOptions::client_unsafe()),
        Err(DtlsError::AlreadyUpgraded)
    );
}

#[test]
fn the_handshake_survives_lost_flights() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut server = server_with(&key, &cert);
    // Drop the first HelloVerifyRequest and the first datagram carrying a ServerHello:
    // both sides' retransmission timers must recover.
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let d = dropped.clone();
    let (mut hvr_lost, mut hello_lost) = (false, false);
    let relay = Relay::with_filter(server.local_addr(), move |from_client, data| {
        let handshake = !from_client && data.len() > 13 && data[0] == 22;
        let lose = if handshake && data[13] == 3 && !hvr_lost {
            hvr_lost = true;
            true
        } else if handshake && data[13] == 2 && !hello_lost {
            hello_lost = true;
            true
        } else {
            false
        };
        if lose {
            d.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        !lose
    });
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    client.connect(relay.addr, 1, 0).unwrap();
    client
        .dtls_client_setup(
            "localhost",
            TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
        )
        .unwrap();
    let (mut s, mut c) = (false, false);
    assert!(
        pump(
            &mut server,
            &mut client,
            Duration::from_secs(30),
            |i, ev| {
                match (i, ev) {
                    (0, Event::Connect { .. }) => s = true,
                    (1, Event::Connect { .. }) => c = true,
                    _ => {}
                }
                s && c
            }
        ),
        "{:?} {:?}",
        client.dtls_stats(),
        server.dtls_stats()
    );
    assert_eq!(dropped.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert_eq!(client.dtls_stats().unwrap().failures, 0);
}

#[test]
fn dropping_a_host_closes_its_dtls_sessions_at_the_peer() {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Rsa);
    let mut server = server_with(&key, &cert);
    let client = connects(
        &mut server,
        "localhost",
        TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
    );
    assert_eq!(server.dtls_stats().unwrap().sessions, 1);
    drop(client);
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < end && server.dtls_stats().unwrap().sessions > 0 {
        server.service(Duration::from_millis(5)).unwrap();
    }
    let st = server.dtls_stats().unwrap();
    assert_eq!(
        (st.sessions, st.tracked_addresses, st.failures),
        (0, 0, 0),
        "{st:?}"
    );
}
