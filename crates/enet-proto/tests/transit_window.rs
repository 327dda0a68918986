//! The transit window (`HostConfig::transit_window`): how many reliable bytes a sender
//! keeps in flight to a peer on a path without bandwidth limits. Checked in virtual time:
//! the configuration is validated; the bytes in flight fill the window and never pass it
//! (65,536 is the C library's window); a bandwidth limit's smaller window still applies; and
//! a 4 MB transfer over a 40 ms-RTT link with 1 % loss arrives exactly once and in order
//! with both the default (C-sized) and a 256 KiB window, sooner with the wider one.

mod support;

use std::time::Duration;

use enet_proto::sim::LinkConfig;
use enet_proto::testbed::{HostIndex, Testbed};
use enet_proto::{
    ConfigError, Error, Event, Host, HostConfig, Packet, PeerId, DEFAULT_TRANSIT_WINDOW,
    MAXIMUM_TRANSIT_WINDOW,
};
use support::{connected, start_connect};

const C_WINDOW: u32 = 65_536;

#[test]
fn transit_window_is_validated_at_creation_and_when_changed() {
    let now = std::time::Instant::now();
    assert_eq!(HostConfig::default().transit_window, DEFAULT_TRANSIT_WINDOW);
    assert_eq!(DEFAULT_TRANSIT_WINDOW, C_WINDOW, "C's window unless asked");
    for bad in [0, 1, C_WINDOW - 1, MAXIMUM_TRANSIT_WINDOW + 1, u32::MAX] {
        let err = Host::new(HostConfig::default().with_transit_window(bad), now).err();
        assert_eq!(
            err,
            Some(Error::InvalidConfig(ConfigError::TransitWindow(bad))),
            "{bad}"
        );
    }
    let mut host = Host::new(HostConfig::default(), now).unwrap();
    for good in [C_WINDOW, 1 << 20, MAXIMUM_TRANSIT_WINDOW] {
        assert!(Host::new(HostConfig::default().with_transit_window(good), now).is_ok());
        host.set_transit_window(good).unwrap();
        assert_eq!(host.config().transit_window, good);
    }
    assert_eq!(
        host.set_transit_window(C_WINDOW - 1),
        Err(Error::InvalidConfig(ConfigError::TransitWindow(
            C_WINDOW - 1
        )))
    );
    assert_eq!(
        host.config().transit_window,
        MAXIMUM_TRANSIT_WINDOW,
        "unchanged"
    );
}

/// A server and a client (with `client_config`) connected over a 40 ms-RTT link; returns
/// the testbed, server, client and the client's peer.
fn connected_over_40ms(client_config: HostConfig) -> (Testbed, HostIndex, HostIndex, PeerId) {
    let mut tb = Testbed::new(7);
    let server = tb.add_host(HostConfig::default()).unwrap();
    let client = tb.add_host(client_config).unwrap();
    let link = LinkConfig::new().with_latency(Duration::from_millis(20), Duration::ZERO);
    tb.set_link(server, client, link).unwrap();
    let peer = start_connect(&mut tb, client, server, 1, 0);
    let start = tb.now();
    assert!(
        tb.run_until_cond(start + Duration::from_secs(5), |tb| connected(tb, server)
            .is_some()
            && connected(tb, client).is_some())
    );
    tb.take_events(server).unwrap();
    tb.take_events(client).unwrap();
    (tb, server, client, peer)
}

/// Queues `count` reliable 1 KiB messages from the client, lets 10 ms pass (a quarter of
/// the round trip, so nothing is acknowledged yet) and returns the client's bytes in
/// flight and the peer's negotiated window.
fn in_flight_after_burst(client_config: HostConfig, count: usize) -> (u32, u32) {
    let (mut tb, _server, client, peer) = connected_over_40ms(client_config);
    let host = tb.host_mut(client).unwrap();
    for i in 0..count {
        host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
            .unwrap();
    }
    tb.run_for(Duration::from_millis(10));
    let info = tb.host(client).unwrap().peer_info(peer).unwrap();
    (info.reliable_data_in_transit, info.window_size)
}

#[test]
fn bytes_in_flight_fill_the_transit_window_and_never_pass_it() {
    for window in [C_WINDOW, 256 * 1024, 1 << 20] {
        let config = HostConfig::default().with_transit_window(window);
        let (in_flight, negotiated) = in_flight_after_burst(config, 2048);
        assert_eq!(
            negotiated, C_WINDOW,
            "no bandwidth limit: ENet's largest window"
        );
        assert!(
            in_flight <= window,
            "{in_flight} in flight, window {window}"
        );
        // Filled up to the last message that fits (1 KiB plus headers).
        assert!(
            in_flight + 1100 > window,
            "{in_flight} in flight, window {window}: not filled"
        );
    }
}

#[test]
fn a_bandwidth_limited_window_is_not_widened() {
    // 256 KB/s outgoing: the window is (262144 / 65536) * 4096 = 16 KiB.
    let config = HostConfig::default().with_outgoing_bandwidth(256 * 1024);
    let (in_flight, negotiated) = in_flight_after_burst(config, 512);
    assert_eq!(negotiated, 16 * 1024);
    assert!(in_flight <= negotiated, "{in_flight} in flight");
    assert!(in_flight > 0);
}

/// Sends 4,096 reliable 1 KiB messages over a 40 ms-RTT link with 1 % loss each way;
/// checks the server gets each exactly once and in order, and returns how long it took.
fn lossy_transfer(window: u32) -> Duration {
    const COUNT: u32 = 4096;
    let config = HostConfig::default().with_transit_window(window);
    let (mut tb, server, client, peer) = connected_over_40ms(config);
    let link = LinkConfig::new()
        .with_latency(Duration::from_millis(20), Duration::ZERO)
        .with_loss(0.01);
    tb.set_link(server, client, link).unwrap();
    let host = tb.host_mut(client).unwrap();
    for i in 0..COUNT {
        let mut m = i.to_le_bytes().to_vec();
        m.resize(1024, (i % 251) as u8);
        host.send(peer, 0, Packet::reliable(m)).unwrap();
    }
    let start = tb.now();
    let mut next = 0u32;
    let done = tb.run_until_cond(start + Duration::from_secs(120), |tb| {
        for e in tb.take_events(server).unwrap() {
            if let Event::Receive { packet, .. } = e {
                let data = &packet.data;
                let n = u32::from_le_bytes(data[..4].try_into().unwrap());
                assert_eq!(n, next, "out of order or duplicated");
                assert_eq!(data.len(), 1024);
                assert!(data[4..].iter().all(|&b| b == (n % 251) as u8));
                next += 1;
            }
        }
        next == COUNT
    });
    assert!(done, "{next} of {COUNT} delivered");
    tb.now() - start
}

#[test]
fn a_wider_window_moves_a_lossy_transfer_sooner_and_intact() {
    let c_sized = lossy_transfer(DEFAULT_TRANSIT_WINDOW);
    let wide = lossy_transfer(256 * 1024);
    println!("4 MB at 40 ms RTT, 1 % loss: 64 KiB window {c_sized:?}, 256 KiB {wide:?}");
    // Virtual time, seeded: the comparison is deterministic.
    assert!(wide < c_sized, "{wide:?} vs {c_sized:?}");
}
