//! A DTLS server under attack (feature `dtls`): a spoofed-ClientHello flood from many
//! source ports leaves no per-address state while a real client still connects; stalled
//! handshakes are bounded and time out; garbage, replayed and oversize records are dropped
//! and counted without disturbing an established session.
#![cfg(feature = "dtls")]

mod dtls_support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_support::*;
use enet::dtls::{DtlsLimits, TlsOptions};
use enet::udp::UdpHost;
use enet::{Event, HostConfig, Packet};

fn dtls_server(limits: DtlsLimits) -> (UdpHost, Pki) {
    let pki = Pki::new();
    let (key, cert) = pki.leaf("localhost", Alg::Ecdsa);
    let mut s = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    s.dtls_server_setup(TlsOptions::server(&key, &cert).unwrap().with_limits(limits))
        .unwrap();
    (s, pki)
}

fn dtls_client(server: std::net::SocketAddr, pki: &Pki) -> (UdpHost, enet::PeerId) {
    let mut c = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    let p = c.connect(server, 1, 0).unwrap();
    c.dtls_client_setup(
        "localhost",
        TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
    )
    .unwrap();
    (c, p)
}

/// A genuine ClientHello (without cookie), as the first datagram of an OpenSSL client.
fn client_hello() -> Vec<u8> {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = RawDtlsClient::new(sink.local_addr().unwrap());
    assert!(!raw.step());
    let mut buf = vec![0u8; 4096];
    let n = sink.recv(&mut buf).unwrap();
    buf.truncate(n);
    assert_eq!(buf[0], 22, "a handshake record");
    buf
}

#[test]
fn a_spoofed_client_hello_flood_leaves_no_state_and_a_real_client_connects() {
    const TOTAL: u64 = 100_000;
    const PORTS: usize = 250;
    const SECONDS: u64 = 10;
    let (mut server, pki) = dtls_server(DtlsLimits::default());
    let target = server.local_addr();
    let hello = client_hello();
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let (d, s) = (done.clone(), sent.clone());
    let flood = std::thread::spawn(move || {
        let socks: Vec<UdpSocket> = (0..PORTS)
            .map(|_| {
                let u = UdpSocket::bind("127.0.0.1:0").unwrap();
                u.set_nonblocking(true).unwrap();
                u
            })
            .collect();
        let start = Instant::now();
        let per_ms = TOTAL / (SECONDS * 1000);
        let mut i = 0u64;
        while i < TOTAL {
            // Paced: `per_ms` datagrams per elapsed millisecond, from rotating ports.
            let due = (start.elapsed().as_millis() as u64 + 1) * per_ms;
            while i < due.min(TOTAL) {
                let _ = socks[i as usize % PORTS].send_to(&hello, target);
                i += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        s.store(i, Ordering::Relaxed);
        d.store(true, Ordering::Relaxed);
    });

    let start = Instant::now();
    let mut client: Option<(UdpHost, enet::PeerId)> = None;
    let (mut s_up, mut c_up) = (false, false);
    let deadline = start + Duration::from_secs(60);
    while Instant::now() < deadline && !(done.load(Ordering::Relaxed) && s_up && c_up) {
        if let Some(Event::Connect { .. }) = server.service(Duration::from_millis(1)).unwrap() {
            s_up = true;
        }
        if client.is_none() && start.elapsed() > Duration::from_secs(2) {
            client = Some(dtls_client(target, &pki));
        }
        if let Some((c, _)) = client.as_mut() {
            if let Some(Event::Connect { .. }) = c.service(Duration::ZERO).unwrap() {
                c_up = true;
            }
        }
        // A flood that outlasts its pacing is still bounded by `deadline`.
        let st = server.dtls_stats().unwrap();
        assert!(
            st.tracked_addresses <= 1,
            "per-address state under the flood: {st:?}"
        );
    }
    flood.join().unwrap();
    let st = server.dtls_stats().unwrap();
    let io = server.io_stats();
    eprintln!(
        "flood: {} ClientHellos sent in {:?}; server read {} datagrams, {:?}",
        sent.load(Ordering::Relaxed),
        start.elapsed(),
        io.datagrams_received,
        st
    );
    assert!(
        s_up && c_up,
        "the real client connects during the flood: {st:?}"
    );
    assert_eq!(sent.load(Ordering::Relaxed), TOTAL);
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.tracked_addresses),
        (1, 0, 1),
        "only the real client has state"
    );
    // Most of the flood reached the server (the kernel may drop some) and each got only a
    // stateless cookie.
    assert!(st.cookies_sent > TOTAL / 10, "{st:?}");
    assert_eq!(st.handshakes_completed, 1);
}

#[test]
fn stalled_handshakes_are_bounded_and_time_out() {
    let limits = DtlsLimits::default()
        .with_handshake_timeout(Duration::from_secs(1))
        .with_max_handshakes(3);
    let (mut server, pki) = dtls_server(limits);
    let target = server.local_addr();
    // Six clients each get as far as returning their cookie, then stall.
    let mut raws = Vec::new();
    for i in 0..6 {
        let mut raw = RawDtlsClient::new(target);
        let before = server.dtls_stats().unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(
                Instant::now() < end,
                "client {i} never got its cookie through"
            );
            raw.step();
            server.service(Duration::from_millis(2)).unwrap();
            let now = server.dtls_stats().unwrap();
            if now.pending_handshakes > before.pending_handshakes
                || now.dropped_records > before.dropped_records
            {
                break;
            }
        }
        raws.push(raw);
    }
    let st = server.dtls_stats().unwrap();
    assert_eq!(st.pending_handshakes, 3, "{st:?}");
    assert_eq!(st.tracked_addresses, 3);
    assert!(st.dropped_records >= 3, "{st:?}");
    // Nobody moves on: after the timeout nothing is left.
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        server.service(Duration::from_millis(10)).unwrap();
    }
    let st = server.dtls_stats().unwrap();
    assert_eq!(
        (st.pending_handshakes, st.tracked_addresses, st.sessions),
        (0, 0, 0),
        "{st:?}"
    );
    assert_eq!(st.handshake_timeouts, 3);
    assert!(st.failures >= 3);
    // A real client is served afterwards.
    let (mut c, _) = dtls_client(target, &pki);
    let (mut s_up, mut c_up) = (false, false);
    assert!(pump(
        &mut server,
        &mut c,
        Duration::from_secs(20),
        |i, ev| {
            if matches!(ev, Event::Connect { .. }) {
                if i == 0 {
                    s_up = true
                } else {
                    c_up = true
                }
            }
            s_up && c_up
        }
    ));
}

#[test]
fn garbage_replayed_and_oversize_records_are_dropped_and_the_session_goes_on() {
    let (mut server, pki) = dtls_server(DtlsLimits::default());
    let relay = Relay::start(server.local_addr());
    let (mut client, cpeer) = dtls_client(relay.addr, &pki);
    let mut speer = None;
    let mut c_up = false;
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(20),
        |i, ev| {
            match (i, ev) {
                (0, Event::Connect { peer, .. }) => speer = Some(*peer),
                (1, Event::Connect { .. }) => c_up = true,
                _ => {}
            }
            speer.is_some() && c_up
        }
    ));
    let speer = speer.unwrap();
    client
        .send(cpeer, 0, Packet::reliable(&b"first"[..]))
        .unwrap();
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(10),
        |i, ev| { i == 0 && matches!(ev, Event::Receive { .. }) }
    ));
    // Let the relay's log settle, then attack through the relay (the client's address).
    let end = Instant::now() + Duration::from_millis(200);
    while Instant::now() < end {
        server.service(Duration::from_millis(5)).unwrap();
        client.service(Duration::ZERO).unwrap();
    }
    let before = server.dtls_stats().unwrap();
    let recorded = relay.client_datagrams();
    let mut injected = 0;
    // Replays of everything the client sent (handshake and application data).
    for d in &recorded {
        relay.inject(d);
        injected += 1;
    }
    // Garbage: random bytes, and random bodies behind valid-looking record headers.
    let mut rnd = vec![0u8; 1200];
    for i in 0..200 {
        enet::dtls::openssl::rand::rand_bytes(&mut rnd).unwrap();
        let len = 1 + (i * 37) % rnd.len();
        if i % 2 == 0 {
            // application_data, DTLS 1.2, epoch 1, any sequence and length.
            rnd[..5].copy_from_slice(&[23, 0xfe, 0xfd, 0, 1]);
        }
        relay.inject(&rnd[..len]);
        injected += 1;
    }
    // Oversize and empty datagrams.
    relay.inject(&vec![23u8; 9000]);
    relay.inject(&[]);
    injected += 2;
    // A stranger's garbage creates no state either.
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..20 {
        stranger.send_to(&rnd[..300], server.local_addr()).unwrap();
    }
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        server.service(Duration::from_millis(5)).unwrap();
    }
    let st = server.dtls_stats().unwrap();
    let dropped = st.dropped_records - before.dropped_records;
    // The kernel may lose a few on a loaded machine; nearly all must be counted.
    assert!(
        dropped as usize >= (injected + 20) * 9 / 10,
        "dropped {dropped} of {injected}+20: {st:?}"
    );
    assert_eq!(
        st.records_received, before.records_received,
        "no replay got through"
    );
    // The replayed ClientHello with its cookie may start a renewal of the session, which
    // cannot complete: the session is not replaced.
    assert_eq!(st.sessions_replaced, 0, "{st:?}");
    assert_eq!(
        (st.sessions, st.failures, st.tracked_addresses),
        (1, 0, 1),
        "{:?}",
        server.dtls_last_error()
    );

    // The session still works both ways.
    client
        .send(cpeer, 0, Packet::reliable(&b"after the storm"[..]))
        .unwrap();
    server
        .send(speer, 0, Packet::reliable(&b"still fine"[..]))
        .unwrap();
    let (mut s_got, mut c_got) = (false, false);
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(10),
        |i, ev| {
            if let Event::Receive { packet, .. } = ev {
                match i {
                    0 => s_got |= &packet.data[..] == b"after the storm",
                    _ => c_got |= &packet.data[..] == b"still fine",
                }
            }
            s_got && c_got
        }
    ));
}

#[test]
fn sessions_beyond_the_limit_are_refused() {
    let limits = DtlsLimits::default().with_max_sessions(2);
    let (mut server, _pki) = dtls_server(limits);
    let target = server.local_addr();
    let mut done = 0;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut raw = RawDtlsClient::new(target);
        let end = Instant::now() + Duration::from_secs(3);
        let mut complete = false;
        while Instant::now() < end && !complete {
            complete = raw.step();
            server.service(Duration::from_millis(2)).unwrap();
        }
        done += complete as usize;
        clients.push(raw);
    }
    let st = server.dtls_stats().unwrap();
    assert_eq!(done, 2, "{st:?}");
    assert_eq!((st.sessions, st.tracked_addresses), (2, 2), "{st:?}");
    assert!(st.dropped_records >= 1, "{st:?}");
}
