//! DTLS sessions over real sockets (feature `dtls`): a client's CONNECT leaves with its
//! handshake instead of after ENet's retransmission; a client that crashed and restarts on
//! the same port reconnects at once (RFC 6347 §4.2.8), while spoofed ClientHellos for an
//! established address, with or without a forged cookie, leave the session intact.
#![cfg(feature = "dtls")]

mod dtls_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dtls_support::*;
use enet::dtls::{DtlsLimits, TlsOptions};
use enet::udp::UdpHost;
use enet::{Event, HostConfig, Packet, PeerId};

/// A DTLS server whose sessions never idle out during a test: a reconnect it allows can
/// only come from a session renewal.
fn dtls_server() -> (UdpHost, Pki) {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Ecdsa);
    let limits = DtlsLimits::default().with_session_idle_timeout(Duration::from_secs(3600));
    let mut s = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    s.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap().with_limits(limits))
        .unwrap();
    (s, pki)
}

fn dtls_client(server: SocketAddr, pki: &Pki) -> (UdpHost, PeerId) {
    let mut c = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let p = c.connect(server, 1, 0).unwrap();
    c.dtls_client_setup(
        "localhost",
        TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
    )
    .unwrap();
    (c, p)
}

/// Pumps until both sides report a connection; the server's new peer.
fn connect(server: &mut UdpHost, client: &mut UdpHost) -> PeerId {
    let mut speer = None;
    let mut c_up = false;
    let ok = pump(server, client, Duration::from_secs(20), |i, ev| {
        match (i, ev) {
            (0, Event::Connect { peer, .. }) => speer = Some(*peer),
            (1, Event::Connect { .. }) => c_up = true,
            _ => {}
        }
        speer.is_some() && c_up
    });
    assert!(
        ok,
        "connect over DTLS: server {:?}, client {:?} / {:?}",
        server.dtls_stats(),
        client.dtls_stats(),
        client.dtls_last_error()
    );
    speer.unwrap()
}

/// Sends `data` both ways and waits for both to arrive.
fn round_trip(server: &mut UdpHost, speer: PeerId, client: &mut UdpHost, cpeer: PeerId) {
    client
        .send(cpeer, 0, Packet::reliable(&b"to server"[..]))
        .unwrap();
    server
        .send(speer, 0, Packet::reliable(&b"to client"[..]))
        .unwrap();
    let (mut s_got, mut c_got) = (false, false);
    assert!(
        pump(server, client, Duration::from_secs(10), |i, ev| {
            if let Event::Receive { peer, packet, .. } = ev {
                match i {
                    0 => s_got |= *peer == speer && &packet.data[..] == b"to server",
                    _ => c_got |= &packet.data[..] == b"to client",
                }
            }
            s_got && c_got
        }),
        "traffic both ways: {:?}",
        server.dtls_stats()
    );
}

#[test]
fn the_connect_leaves_with_the_handshake_and_is_not_retransmitted() {
    let (mut server, pki) = dtls_server();
    // On a heavily loaded machine a handshake could outlast ENet's first retransmission
    // timeout (about 500 ms): a user would simply try again. Without holding, every
    // attempt retransmits, since the first CONNECT is always dropped.
    let mut last = None;
    for _ in 0..3 {
        let (mut client, cpeer) = dtls_client(server.local_addr(), &pki);
        connect(&mut server, &mut client);
        let info = client.peer_info(cpeer).unwrap();
        let st = client.dtls_stats().unwrap();
        if info.counters.retransmissions == 0 {
            assert_eq!(st.held_sent, 1, "the CONNECT was held and sent: {st:?}");
            assert_eq!(st.busy_drops, 0, "{st:?}");
            return;
        }
        last = Some((info.counters, st));
    }
    panic!("the CONNECT was retransmitted in every attempt: {last:?}");
}

#[test]
fn a_client_restarted_on_the_same_port_reconnects_at_once() {
    let (mut server, pki) = dtls_server();
    // The relay gives both clients the same address at the server; it drops the client's
    // alerts, so that the first client's end looks like a crash (no close_notify).
    let relay = Relay::with_filter(server.local_addr(), |from_client, d| {
        !(from_client && d.first() == Some(&21))
    });
    let (mut first, cpeer) = dtls_client(relay.addr, &pki);
    let speer = connect(&mut server, &mut first);
    round_trip(&mut server, speer, &mut first, cpeer);
    drop(first);

    let (mut second, cpeer2) = dtls_client(relay.addr, &pki);
    let start = Instant::now();
    let speer2 = connect(&mut server, &mut second);
    eprintln!("reconnected in {:?}", start.elapsed());
    assert_ne!(speer2, speer, "a new ENet peer");
    let st = server.dtls_stats().unwrap();
    assert_eq!(st.sessions_replaced, 1, "{st:?}");
    assert_eq!(st.handshakes_completed, 2, "{st:?}");
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.tracked_addresses),
        (1, 0, 1),
        "{st:?}"
    );
    round_trip(&mut server, speer2, &mut second, cpeer2);
}

/// `hello` (a ClientHello without cookie) with `cookie` inserted.
fn with_cookie(hello: &[u8], cookie: &[u8]) -> Vec<u8> {
    // Record header 13 bytes, handshake header 12, then version (2) and random (32),
    // the session id (length byte + bytes) and the cookie (length byte + bytes).
    let sid = hello[25 + 34] as usize;
    let at = 25 + 34 + 1 + sid;
    assert_eq!(hello[at], 0, "no cookie yet");
    let mut out = hello[..at].to_vec();
    out.push(cookie.len() as u8);
    out.extend_from_slice(cookie);
    out.extend_from_slice(&hello[at + 1..]);
    let n = cookie.len();
    let rec = u16::from_be_bytes([out[11], out[12]]) as usize + n;
    out[11..13].copy_from_slice(&(rec as u16).to_be_bytes());
    for at in [14, 22] {
        // The handshake length and the fragment length (24-bit).
        let v = u32::from_be_bytes([0, out[at], out[at + 1], out[at + 2]]) as usize + n;
        out[at..at + 3].copy_from_slice(&(v as u32).to_be_bytes()[1..]);
    }
    out
}

#[test]
fn spoofed_client_hellos_leave_an_established_session_intact() {
    let (mut server, pki) = dtls_server();
    let relay = Relay::start(server.local_addr());
    let (mut client, cpeer) = dtls_client(relay.addr, &pki);
    let speer = connect(&mut server, &mut client);
    round_trip(&mut server, speer, &mut client, cpeer);

    // ClientHellos from the client's address (as an off-path attacker spoofing it would
    // send): genuine ones without a cookie, and ones with forged cookies.
    let before = server.dtls_stats().unwrap();
    let mut sent = 0u64;
    for i in 0..40 {
        let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sink.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut raw = RawDtlsClient::new(sink.local_addr().unwrap());
        assert!(!raw.step());
        let mut hello = vec![0u8; 4096];
        let n = sink.recv(&mut hello).unwrap();
        hello.truncate(n);
        if i % 2 == 1 {
            let mut cookie = [0u8; 16];
            enet::dtls::openssl::rand::rand_bytes(&mut cookie).unwrap();
            hello = with_cookie(&hello, &cookie);
        }
        relay.inject(&hello);
        sent += 1;
        server.service(Duration::from_millis(2)).unwrap();
        client.service(Duration::ZERO).unwrap();
    }
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        server.service(Duration::from_millis(5)).unwrap();
        client.service(Duration::ZERO).unwrap();
    }
    let st = server.dtls_stats().unwrap();
    // Each got a stateless cookie reply (a forged cookie fails and gets a fresh one); the
    // kernel may lose a few on a loaded machine.
    let cookies = st.cookies_sent - before.cookies_sent;
    assert!(cookies >= sent * 9 / 10, "{cookies} of {sent}: {st:?}");
    assert_eq!(
        (
            st.sessions,
            st.pending_handshakes,
            st.tracked_addresses,
            st.sessions_replaced,
            st.failures
        ),
        (1, 0, 1, 0, 0),
        "{st:?}"
    );
    round_trip(&mut server, speer, &mut client, cpeer);
}

#[test]
fn the_largest_enet_datagrams_cross_dtls_whole() {
    // With ENet's largest MTU, a datagram plus its DTLS record overhead is longer than
    // ENet's largest datagram: the receive buffers must hold the whole record.
    let mut cfg = HostConfig::default();
    cfg.mtu = 4096;
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Ecdsa);
    let mut server = UdpHost::bind(localhost(), cfg.clone()).unwrap();
    server
        .dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap();
    let mut client = UdpHost::bind(localhost(), cfg).unwrap();
    let cpeer = client.connect(server.local_addr(), 1, 0).unwrap();
    client
        .dtls_client_setup("localhost", TlsOptions::client_unsafe())
        .unwrap();
    let speer = connect(&mut server, &mut client);
    assert_eq!(client.peer_info(cpeer).unwrap().mtu, 4096);
    // One unfragmented packet filling the datagram (4070 + 16 bytes of ENet headers).
    let big: Vec<u8> = (0..4070u32).map(|i| (i * 7) as u8).collect();
    client
        .send(cpeer, 0, Packet::reliable(big.clone()))
        .unwrap();
    server
        .send(speer, 0, Packet::reliable(big.clone()))
        .unwrap();
    let (mut s_got, mut c_got) = (false, false);
    assert!(
        pump(
            &mut server,
            &mut client,
            Duration::from_secs(10),
            |i, ev| {
                if let Event::Receive { packet, .. } = ev {
                    assert_eq!(&packet.data[..], &big[..]);
                    match i {
                        0 => s_got = true,
                        _ => c_got = true,
                    }
                }
                s_got && c_got
            }
        ),
        "{:?} {:?}",
        server.io_stats(),
        server.dtls_stats()
    );
    assert_eq!(server.io_stats().oversize_dropped, 0);
    assert_eq!(client.io_stats().oversize_dropped, 0);
    let (s, c) = (server.dtls_stats().unwrap(), client.dtls_stats().unwrap());
    assert_eq!(
        (s.dropped_records, c.dropped_records),
        (0, 0),
        "{s:?} {c:?}"
    );
}

#[test]
fn socket_send_refuses_what_dtls_cannot_carry_and_the_session_survives() {
    let (mut server, pki) = dtls_server();
    let (mut client, cpeer) = dtls_client(server.local_addr(), &pki);
    let speer = connect(&mut server, &mut client);
    let to_client = server.peer_info(speer).unwrap().address;
    // Over OpenSSL's 16 KiB record limit (this used to end the server's session silently
    // while returning Ok), over ENet's largest datagram, and empty.
    for len in [20_000, enet::udp::MAX_DATAGRAM_SIZE + 1, 0] {
        let err = server.socket_send(to_client, &vec![1u8; len]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{len} bytes");
    }
    let st = server.dtls_stats().unwrap();
    assert_eq!((st.sessions, st.failures), (1, 0), "{st:?}");
    // ENet's largest datagram still goes, and ENet traffic carries on both ways.
    server
        .socket_send(to_client, &vec![1u8; enet::udp::MAX_DATAGRAM_SIZE])
        .unwrap();
    round_trip(&mut server, speer, &mut client, cpeer);
    assert_eq!(server.dtls_stats().unwrap().failures, 0);
}

#[test]
fn plaintext_cannot_be_injected_into_a_dtls_host() {
    let (mut server, _pki) = dtls_server();
    let from: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let err = server.inject_datagram(from, b"plaintext").unwrap_err();
    assert!(
        matches!(
            err,
            enet::Error::Dtls(enet::dtls::DtlsError::PlaintextOnDtlsHost)
        ),
        "{err:?}"
    );
    // A plain host still takes injected datagrams (a test seam).
    let mut plain = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    plain.inject_datagram(from, b"plaintext").unwrap();
}
