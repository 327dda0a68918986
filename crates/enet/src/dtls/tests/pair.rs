//! A client layer and a server layer handshaking in memory (no sockets): the client's
//! first datagrams are held and arrive with the handshake; a restarted client (a new
//! client layer at the same address) replaces its session through the cookie exchange,
//! while spoofed and replayed ClientHellos leave the session intact.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::super::{DtlsLayer, TlsOptions, MAX_HELD_DATAGRAMS};
use super::server_layer;

pub(super) fn server_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7777))
}

pub(super) fn client_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5000))
}

pub(super) fn client_layer() -> DtlsLayer {
    DtlsLayer::client(&TlsOptions::client_unsafe(), "localhost").unwrap()
}

/// What one exchange produced.
#[derive(Default)]
pub(super) struct Exchanged {
    /// ENet datagrams the server delivered.
    pub(super) server_got: Vec<Vec<u8>>,
    /// Every datagram the client sent.
    pub(super) client_sent: Vec<Vec<u8>>,
}

/// Carries datagrams between `client` (at `client_addr`) and `server`, starting with
/// `to_server`, until neither has more to say.
pub(super) fn exchange(
    client: &mut DtlsLayer,
    server: &mut DtlsLayer,
    to_server: Vec<Vec<u8>>,
) -> Exchanged {
    let (c, s) = (client_addr(), server_addr());
    let mut out = Exchanged::default();
    let mut to_server = to_server;
    out.client_sent.extend(to_server.iter().cloned());
    for _ in 0..50 {
        let mut to_client = Vec::new();
        for d in to_server.drain(..) {
            server.receive(
                Instant::now(),
                c,
                &d,
                &mut |to, r| {
                    assert_eq!(to, c);
                    to_client.push(r.to_vec());
                },
                &mut |_, p| out.server_got.push(p.to_vec()),
            );
        }
        for d in to_client.drain(..) {
            client.receive(
                Instant::now(),
                s,
                &d,
                &mut |_, r| to_server.push(r.to_vec()),
                &mut |_, _| {},
            );
        }
        out.client_sent.extend(to_server.iter().cloned());
        if to_server.is_empty() {
            return out;
        }
    }
    panic!("the exchange did not settle");
}

/// Seals `datagrams` on `client` towards the server; returns what it sent.
pub(super) fn seal(client: &mut DtlsLayer, datagrams: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for d in datagrams {
        client.seal(Instant::now(), server_addr(), d, &mut |_, r| {
            out.push(r.to_vec())
        });
    }
    out
}

/// A client with an established session to `server`; also what it sent on the way.
pub(super) fn established(server: &mut DtlsLayer) -> (DtlsLayer, Exchanged) {
    let mut client = client_layer();
    let first = seal(&mut client, &[b"CONNECT"]);
    let ex = exchange(&mut client, server, first);
    assert_eq!(ex.server_got, [b"CONNECT".to_vec()]);
    assert_eq!(client.stats().sessions, 1);
    (client, ex)
}

/// Whether `data` sealed by `client` reaches ENet at `server`.
pub(super) fn goes_through(client: &mut DtlsLayer, server: &mut DtlsLayer, data: &[u8]) -> bool {
    let sealed = seal(client, &[data]);
    exchange(client, server, sealed).server_got == [data.to_vec()]
}

#[test]
fn the_first_datagrams_are_held_until_the_handshake_completes() {
    let mut server = server_layer();
    let mut client = client_layer();
    let mut datagrams: Vec<Vec<u8>> = (0..MAX_HELD_DATAGRAMS + 2)
        .map(|i| format!("datagram {i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = datagrams.iter().map(Vec::as_slice).collect();
    let first = seal(&mut client, &refs);
    assert_eq!(first.len(), 1, "only the ClientHello leaves");
    let st = client.stats();
    assert_eq!((st.pending_handshakes, st.busy_drops), (1, 2), "{st:?}");

    let ex = exchange(&mut client, &mut server, first);
    // The held ones arrive in order as soon as the handshake is done; the two past the
    // bound were dropped (ENet would retransmit them).
    datagrams.truncate(MAX_HELD_DATAGRAMS);
    assert_eq!(ex.server_got, datagrams);
    let st = client.stats();
    assert_eq!(st.held_sent, MAX_HELD_DATAGRAMS as u64);
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.busy_drops),
        (1, 0, 2)
    );
    assert_eq!(st.records_sent, MAX_HELD_DATAGRAMS as u64);
}

#[test]
fn a_restarted_client_replaces_its_session_and_spoofs_do_not() {
    let mut server = server_layer();
    let (mut old, _) = established(&mut server);

    // The restarted client's first ClientHello (no cookie), replayed many times as an
    // off-path attacker could: each costs a stateless cookie reply and nothing else.
    let mut new = client_layer();
    let hello = seal(&mut new, &[b"CONNECT again"]);
    assert_eq!(hello.len(), 1);
    let before = server.stats();
    for _ in 0..20 {
        server.receive(
            Instant::now(),
            client_addr(),
            &hello[0],
            &mut |_, r| assert_eq!(r[13], 3, "a HelloVerifyRequest"),
            &mut |_, _| panic!("nothing to deliver"),
        );
    }
    let st = server.stats();
    assert_eq!(st.cookies_sent, before.cookies_sent + 20);
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.tracked_addresses),
        (1, 0, 1)
    );
    assert!(goes_through(&mut old, &mut server, b"old still works"));

    // The real restart: the cookie exchange, then a handshake that replaces the session.
    let ex = exchange(&mut new, &mut server, hello);
    assert_eq!(ex.server_got, [b"CONNECT again".to_vec()]);
    let st = server.stats();
    assert_eq!(st.sessions_replaced, 1);
    assert_eq!(st.handshakes_completed, 2);
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.tracked_addresses),
        (1, 0, 1)
    );
    assert!(goes_through(&mut new, &mut server, b"new works"));
    // The old session's records no longer reach ENet.
    let dropped = server.stats().dropped_records;
    assert!(!goes_through(&mut old, &mut server, b"old is gone"));
    assert_eq!(server.stats().dropped_records, dropped + 1);
}

#[test]
fn a_replayed_handshake_cannot_end_a_session() {
    let mut server = server_layer();
    let (mut client, ex) = established(&mut server);
    let handshake: Vec<Vec<u8>> = ex
        .client_sent
        .iter()
        .filter(|d| d[0] == 22 || d[0] == 20)
        .cloned()
        .collect();
    assert!(
        handshake.len() >= 3,
        "ClientHello, ClientHello with cookie, final flight"
    );
    // Replay the whole handshake, cookie and all, from the client's address.
    for d in &handshake {
        server.receive(
            Instant::now(),
            client_addr(),
            d,
            &mut |_, _| {},
            &mut |_, _| panic!("nothing to deliver"),
        );
    }
    let st = server.stats();
    assert_eq!((st.sessions, st.sessions_replaced), (1, 0), "{st:?}");
    // The replayed cookie is still valid, so a renewal started (and stalls).
    assert_eq!(st.pending_handshakes, 1, "{st:?}");
    assert!(goes_through(&mut client, &mut server, b"still mine"));
    // A renewal the replay started cannot complete: it times out, the session stays.
    server.poll(Instant::now() + Duration::from_secs(11), &mut |_, _| {});
    let st = server.stats();
    assert_eq!(
        (st.sessions, st.pending_handshakes, st.sessions_replaced),
        (1, 0, 0),
        "{st:?}"
    );
    assert_eq!(st.handshake_timeouts, 1);
    assert!(goes_through(&mut client, &mut server, b"still mine later"));
}
