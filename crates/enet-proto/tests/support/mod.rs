//! Helpers shared by the engine tests (`engine.rs`, `engine_lifecycle.rs`,
//! `early_retransmit.rs`) and the API property tests (`sim_api.rs`, `testbed_api.rs`,
//! `api_sequences.rs`): a client and a server on a [`Testbed`], connected or connecting, the
//! hostile link they are tested over, what a host received, property-test case counts and
//! links built field by field.
#![allow(dead_code)]

use std::time::Duration;

use enet_proto::protocol::{Command, CommandHeader, Header};
use enet_proto::sim::LinkConfig;
use enet_proto::testbed::{HostIndex, Testbed};
use enet_proto::{Event, HostConfig, Packet, PeerId};

/// A server and a client on a fresh testbed; the client's CONNECT (4 channels, data 42) is
/// queued. Returns the testbed, the server, the client and the client's peer.
pub fn pair(seed: u64) -> (Testbed, HostIndex, HostIndex, PeerId) {
    let mut tb = Testbed::new(seed);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(HostConfig::default()).unwrap();
    let peer = start_connect(&mut tb, client, server, 4, 42);
    (tb, server, client, peer)
}

/// Property-test cases: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A link's fields as a property test draws them: ((loss, duplicate, reorder), (latency,
/// jitter, reorder delay), bandwidth, maximum queue).
pub type LinkFields = (
    (f64, f64, f64),
    (Duration, Duration, Duration),
    Option<u64>,
    usize,
);

/// A [`LinkConfig`] set field by field, out-of-range values included (the builder methods
/// would not let those through, and the struct is `#[non_exhaustive]`).
pub fn link_from_fields(fields: LinkFields) -> LinkConfig {
    let ((loss, duplicate, reorder), (latency, jitter, reorder_delay), bandwidth, max_queue) =
        fields;
    let mut c = LinkConfig::new();
    c.loss = loss;
    c.duplicate = duplicate;
    c.reorder = reorder;
    c.latency = latency;
    c.jitter = jitter;
    c.reorder_delay = reorder_delay;
    c.bandwidth = bandwidth;
    c.max_queue = max_queue;
    c
}

/// Queues a CONNECT from `client` to `server` (with `channels` channels and `data`); returns
/// the client's peer.
pub fn start_connect(
    tb: &mut Testbed,
    client: HostIndex,
    server: HostIndex,
    channels: usize,
    data: u32,
) -> PeerId {
    let addr = tb.addr(server).unwrap();
    let now = tb.now();
    tb.host_mut(client)
        .unwrap()
        .connect(now, addr, channels, data)
        .unwrap()
}

/// The first `Connect` event of host `h`: the peer and its data.
pub fn connected(tb: &Testbed, h: HostIndex) -> Option<(PeerId, u32)> {
    tb.events(h).unwrap().iter().find_map(|e| match e {
        Event::Connect { peer, data } => Some((*peer, *data)),
        _ => None,
    })
}

/// 20 % loss, 5 % duplication, 5 % reordering, 50 ± 30 ms.
pub fn hostile() -> LinkConfig {
    LinkConfig::new()
        .with_loss(0.20)
        .with_duplicate(0.05)
        .with_reorder(0.05, Duration::from_millis(40))
        .with_latency(Duration::from_millis(50), Duration::from_millis(30))
}

/// [`pair`], connected on a perfect link, with no events left: (testbed, server, client,
/// client's peer, server's peer).
pub fn connect_pair(seed: u64) -> (Testbed, HostIndex, HostIndex, PeerId, PeerId) {
    let (mut tb, server, client, cpeer) = pair(seed);
    tb.run_for(Duration::from_millis(50));
    let (speer, _) = connected(&tb, server).expect("connected");
    tb.take_events(server).unwrap();
    tb.take_events(client).unwrap();
    (tb, server, client, cpeer, speer)
}

/// The packets host `h` received (and forgets every event it had).
pub fn receives(tb: &mut Testbed, h: HostIndex) -> Vec<(u8, Packet)> {
    tb.take_events(h)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            Event::Receive {
                channel_id, packet, ..
            } => Some((channel_id, packet)),
            _ => None,
        })
        .collect()
}

/// `len` bytes of a fixed pseudo-random pattern, varied by `salt`.
pub fn big(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[3] ^ salt)
        .collect()
}

/// A datagram made by hand: the header (peer id, session, a send time) and `commands`, each
/// with its payload, as a peer that speaks the protocol without an engine would send it.
pub fn datagram(
    peer_id: u16,
    session: u8,
    commands: &[(CommandHeader, Command, &[u8])],
) -> Vec<u8> {
    let header = Header {
        peer_id,
        session_id: session,
        compressed: false,
        sent_time: Some(1),
    };
    enet_proto::protocol::encode_datagram(&header, commands)
}
