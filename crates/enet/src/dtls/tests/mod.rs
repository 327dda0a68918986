//! Unit tests of the DTLS layer without sockets: hostile datagrams fed straight to a
//! server layer never panic and never create per-address state; in-memory handshakes show
//! a client's held datagrams and a server's session renewal (`pair` module).

use std::net::SocketAddr;
use std::time::Instant;

use proptest::prelude::*;

use super::{certs, DtlsLayer, DtlsLimits, TlsOptions};

mod hardening;
mod pair;

fn server_layer() -> DtlsLayer {
    server_layer_with(DtlsLimits::default())
}

/// A server layer (one shared RSA certificate for "localhost") with `limits`.
fn server_layer_with(limits: DtlsLimits) -> DtlsLayer {
    // One RSA key for all cases (generating one takes a while).
    static PEM: std::sync::OnceLock<certs::PemPair> = std::sync::OnceLock::new();
    let pem = PEM.get_or_init(|| certs::self_signed_rsa("localhost", 1).unwrap());
    DtlsLayer::server(
        &TlsOptions::server(&pem.key_pem, &pem.cert_pem)
            .unwrap()
            .with_limits(limits),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_datagrams_leave_no_state(
        datagrams in proptest::collection::vec(
            (any::<u16>(), 0u8..4, proptest::collection::vec(any::<u8>(), 0..1500)),
            1..40,
        )
    ) {
        let mut layer = server_layer();
        let mut replies = 0usize;
        for (port, kind, mut data) in datagrams {
            // Some look like DTLS 1.2 records: handshake (22) or application data (23).
            if data.len() >= 13 && kind < 2 {
                data[0] = if kind == 0 { 22 } else { 23 };
                data[1] = 0xfe;
                data[2] = 0xfd;
            }
            let from = SocketAddr::from(([127, 0, 0, 1], port.max(1)));
            let mut delivered = 0usize;
            layer.receive(
                Instant::now(),
                from,
                &data,
                &mut |_, _| replies += 1,
                &mut |_, _| delivered += 1,
            );
            prop_assert_eq!(delivered, 0);
        }
        let st = layer.stats();
        prop_assert_eq!((st.tracked_addresses, st.sessions, st.pending_handshakes), (0, 0, 0));
        prop_assert_eq!(replies as u64, st.cookies_sent);
    }
}

/// A real ClientHello (without a cookie) from a client layer, captured once.
fn client_hello() -> &'static [u8] {
    static HELLO: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    HELLO.get_or_init(|| {
        let mut client = DtlsLayer::client(&TlsOptions::client_unsafe(), "localhost").unwrap();
        let mut hello = Vec::new();
        let to = SocketAddr::from(([127, 0, 0, 1], 7777));
        client.seal(Instant::now(), to, b"enet", &mut |_, d| hello = d.to_vec());
        hello
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random bytes hardly ever pass the listener's first checks; ClientHellos with a few
    /// bytes changed (or cut short, or grown) go deep into `DTLSv1_listen`'s parsing and
    /// cookie check, and still leave no state: at most a stateless cookie reply each.
    #[test]
    fn mutated_client_hellos_leave_no_state(
        mutations in proptest::collection::vec(
            (
                any::<u16>(),
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
                0usize..3,
                any::<prop::sample::Index>(),
            ),
            1..40,
        )
    ) {
        let mut layer = server_layer();
        let hello = client_hello();
        let mut replies = 0usize;
        let feed = |layer: &mut DtlsLayer, port: u16, data: &[u8], replies: &mut usize| {
            let from = SocketAddr::from(([127, 0, 0, 1], port.max(1)));
            let mut delivered = 0usize;
            layer.receive(
                Instant::now(),
                from,
                data,
                &mut |_, _| *replies += 1,
                &mut |_, _| delivered += 1,
            );
            delivered
        };
        // The unchanged ClientHello first: it does reach the cookie path.
        prop_assert_eq!(feed(&mut layer, 1, hello, &mut replies), 0);
        prop_assert_eq!(layer.stats().cookies_sent, 1);
        for (port, flips, resize, at) in mutations {
            let mut data = hello.to_vec();
            for (i, b) in flips {
                let i = i.index(data.len());
                data[i] ^= b.max(1);
            }
            match resize {
                1 => data.truncate(at.index(data.len())),
                2 => data.extend(std::iter::repeat_n(0xab, at.index(64))),
                _ => {}
            }
            prop_assert_eq!(feed(&mut layer, port, &data, &mut replies), 0);
        }
        let st = layer.stats();
        prop_assert_eq!((st.tracked_addresses, st.sessions, st.pending_handshakes), (0, 0, 0));
        prop_assert_eq!(replies as u64, st.cookies_sent);
    }
}

#[test]
fn a_client_hello_gets_a_cookie_and_no_state() {
    // A real ClientHello from a client layer (captured from its `send` callback).
    let mut client = DtlsLayer::client(&TlsOptions::client_unsafe(), "localhost").unwrap();
    let server_addr = SocketAddr::from(([127, 0, 0, 1], 7777));
    let mut hello = Vec::new();
    client.seal(Instant::now(), server_addr, b"enet", &mut |to, d| {
        assert_eq!(to, server_addr);
        hello = d.to_vec();
    });
    assert_eq!(hello[0], 22);
    assert_eq!(client.stats().pending_handshakes, 1);
    // The datagram that started the handshake is held, not dropped.
    assert_eq!(client.stats().busy_drops, 0);

    let mut server = server_layer();
    for port in 1000..1100u16 {
        let mut replies = Vec::new();
        let from = SocketAddr::from(([127, 0, 0, 1], port));
        server.receive(
            Instant::now(),
            from,
            &hello,
            &mut |to, d| replies.push((to, d.to_vec())),
            &mut |_, _| panic!("nothing to deliver"),
        );
        assert_eq!(replies.len(), 1, "one HelloVerifyRequest");
        assert_eq!(replies[0].0, from);
        // Content type handshake, message type hello_verify_request (3).
        assert_eq!((replies[0].1[0], replies[0].1[13]), (22, 3));
    }
    let st = server.stats();
    assert_eq!(st.cookies_sent, 100);
    assert_eq!((st.tracked_addresses, st.pending_handshakes), (0, 0));
}
