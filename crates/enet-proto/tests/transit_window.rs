//! The adaptive transit window (`HostConfig::transit_window` is its ceiling): how many
//! reliable bytes a sender keeps in flight to a peer on a path without bandwidth limits.
//! Checked in virtual time: the configuration is validated; in flight stays within C's
//! 64 KiB until acknowledgements come back, then widens, never past the ceiling; a ceiling
//! of 65,536 keeps C's window throughout; timeouts and an idle peer take it back to 64 KiB,
//! and on a harsh link (15 % loss) it stays near 64 KiB;
//! a bandwidth limit's smaller window still applies unchanged; and a 4 MB transfer over a
//! 40 ms-RTT link with 1 % loss arrives exactly once and in order with both C's window and
//! the adaptive one, sooner with the adaptive one.

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
    assert_eq!(DEFAULT_TRANSIT_WINDOW, 1 << 20, "the ceiling: 1 MiB");
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

/// As [`connected_over_40ms`], then the link loses `loss` of the datagrams each way.
fn connected_over_lossy_40ms(
    client_config: HostConfig,
    loss: f64,
) -> (Testbed, HostIndex, HostIndex, PeerId) {
    let (mut tb, server, client, peer) = connected_over_40ms(client_config);
    let link = LinkConfig::new()
        .with_latency(Duration::from_millis(20), Duration::ZERO)
        .with_loss(loss);
    tb.set_link(server, client, link).unwrap();
    (tb, server, client, peer)
}

/// Runs the testbed until `until` and returns the largest number of reliable bytes the
/// client had in flight and the largest transit window it reported at any step.
fn run_watching(tb: &mut Testbed, client: HostIndex, peer: PeerId, until: Duration) -> (u32, u32) {
    let (mut in_flight, mut window) = (0, 0);
    let end = tb.now() + until;
    tb.run_until_cond(end, |tb| {
        let info = tb.host(client).unwrap().peer_info(peer).unwrap();
        in_flight = in_flight.max(info.reliable_data_in_transit);
        window = window.max(info.transit_window);
        false
    });
    (in_flight, window)
}

#[test]
fn the_window_starts_at_c_size_and_widens_with_acknowledgements_up_to_the_ceiling() {
    for ceiling in [256 * 1024, DEFAULT_TRANSIT_WINDOW] {
        let config = HostConfig::default().with_transit_window(ceiling);
        let (mut tb, _server, client, peer) = connected_over_40ms(config);
        let info = tb.host(client).unwrap().peer_info(peer).unwrap();
        assert_eq!(
            info.window_size, C_WINDOW,
            "no bandwidth limit: ENet's largest"
        );
        assert_eq!(info.transit_window, C_WINDOW, "starts at C's window");
        let host = tb.host_mut(client).unwrap();
        for i in 0..8192u32 {
            host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
                .unwrap();
        }
        // Nothing can be acknowledged within the first round trip (40 ms): C's window.
        let (first_rtt, window) = run_watching(&mut tb, client, peer, Duration::from_millis(39));
        assert!(
            first_rtt <= C_WINDOW,
            "{first_rtt} in flight before any ack"
        );
        assert!(
            first_rtt + 1100 > C_WINDOW,
            "{first_rtt}: C's window not filled"
        );
        assert_eq!(window, C_WINDOW);
        // Acknowledgements widen it, about doubling per round trip, never past the ceiling.
        let (later, window) = run_watching(&mut tb, client, peer, Duration::from_millis(400));
        assert!(later > 2 * C_WINDOW, "{later} in flight: did not widen");
        assert!(later <= ceiling, "{later} in flight, ceiling {ceiling}");
        assert!(window <= ceiling, "window {window}, ceiling {ceiling}");
        assert!(window > 2 * C_WINDOW, "window {window}");
    }
}

#[test]
fn a_ceiling_of_65536_keeps_c_window_throughout() {
    let config = HostConfig::default().with_transit_window(C_WINDOW);
    let (mut tb, _server, client, peer) = connected_over_lossy_40ms(config, 0.01);
    let host = tb.host_mut(client).unwrap();
    for i in 0..2048u32 {
        host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
            .unwrap();
    }
    let (in_flight, window) = run_watching(&mut tb, client, peer, Duration::from_secs(3));
    assert!(in_flight <= C_WINDOW, "{in_flight} in flight");
    assert!(in_flight + 1100 > C_WINDOW, "{in_flight}: not filled");
    assert_eq!(window, C_WINDOW);
}

#[test]
fn a_timeout_takes_the_window_back_to_c_size() {
    let (mut tb, server, client, peer) = connected_over_40ms(HostConfig::default());
    let clean = LinkConfig::new().with_latency(Duration::from_millis(20), Duration::ZERO);
    let host = tb.host_mut(client).unwrap();
    for i in 0..16_384u32 {
        host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
            .unwrap();
    }
    let (_, widened) = run_watching(&mut tb, client, peer, Duration::from_millis(400));
    assert!(widened >= 4 * C_WINDOW, "widened to {widened}");
    // The path goes dark: nothing later is acknowledged, so nothing reveals the losses
    // early; the retransmission timeouts (repeated) take the window back to C's.
    tb.set_link(server, client, clean.clone().with_loss(1.0))
        .unwrap();
    tb.run_for(Duration::from_millis(600));
    let info = tb.host(client).unwrap().peer_info(peer).unwrap();
    assert!(info.counters.retransmissions > 0);
    assert_eq!(info.transit_window, C_WINDOW);
    assert!(info.reliable_data_in_transit <= C_WINDOW);
    // Back on a clean path, it starts from C's window again and widens anew.
    tb.set_link(server, client, clean).unwrap();
    let (_, again) = run_watching(&mut tb, client, peer, Duration::from_millis(400));
    assert!(again > 2 * C_WINDOW, "{again}");
}

#[test]
fn an_idle_peer_starts_again_from_c_window() {
    let (mut tb, _server, client, peer) = connected_over_40ms(HostConfig::default());
    let host = tb.host_mut(client).unwrap();
    for i in 0..2048u32 {
        host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
            .unwrap();
    }
    let (_, widened) = run_watching(&mut tb, client, peer, Duration::from_secs(2));
    assert!(widened > 2 * C_WINDOW, "{widened}");
    // Everything acknowledged; a second of silence: the peer is pinged, the window restarts.
    tb.run_for(Duration::from_secs(1));
    let info = tb.host(client).unwrap().peer_info(peer).unwrap();
    assert_eq!(info.reliable_data_in_transit, 0);
    assert_eq!(info.transit_window, C_WINDOW);
}

#[test]
fn a_bandwidth_limited_window_is_not_widened() {
    // 256 KB/s outgoing: the window is (262144 / 65536) * 4096 = 16 KiB.
    let config = HostConfig::default().with_outgoing_bandwidth(256 * 1024);
    let (mut tb, _server, client, peer) = connected_over_40ms(config);
    let host = tb.host_mut(client).unwrap();
    for i in 0..1024u32 {
        host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
            .unwrap();
    }
    let (in_flight, window) = run_watching(&mut tb, client, peer, Duration::from_secs(2));
    let info = tb.host(client).unwrap().peer_info(peer).unwrap();
    assert_eq!(info.window_size, 16 * 1024);
    assert_eq!(window, 16 * 1024, "the bandwidth limit's window, unchanged");
    assert!(in_flight <= 16 * 1024, "{in_flight} in flight");
    assert!(in_flight > 0);
}

/// Sends 4,096 reliable 1 KiB messages over a 40 ms-RTT link with 1 % loss each way;
/// checks the server gets each exactly once and in order, and returns how long it took.
fn lossy_transfer(window: u32) -> Duration {
    const COUNT: u32 = 4096;
    let config = HostConfig::default().with_transit_window(window);
    let (mut tb, server, client, peer) = connected_over_lossy_40ms(config, 0.01);
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
fn the_adaptive_window_moves_a_lossy_transfer_sooner_and_intact() {
    let c_sized = lossy_transfer(C_WINDOW);
    let adaptive = lossy_transfer(DEFAULT_TRANSIT_WINDOW);
    println!("4 MB at 40 ms RTT, 1 % loss: C's 64 KiB window {c_sized:?}, adaptive {adaptive:?}");
    // Virtual time, seeded: the comparison is deterministic.
    assert!(
        adaptive.as_secs_f64() < c_sized.as_secs_f64() * 0.75,
        "{adaptive:?} vs {c_sized:?}"
    );
}

/// The mean and the largest transit window the client reports over 5 s of a bulk transfer
/// (4,096 queued 1 KiB messages) over a 40 ms-RTT link with `loss` each way.
fn window_under_loss(loss: f64) -> (u32, u32) {
    let (mut tb, server, client, peer) = connected_over_40ms(HostConfig::default());
    let link = LinkConfig::new()
        .with_latency(Duration::from_millis(20), Duration::ZERO)
        .with_loss(loss);
    tb.set_link(server, client, link).unwrap();
    let host = tb.host_mut(client).unwrap();
    for i in 0..4096u32 {
        host.send(peer, 0, Packet::reliable(vec![i as u8; 1024]))
            .unwrap();
    }
    let (mut steps, mut sum, mut max) = (0u64, 0u64, 0u32);
    let end = tb.now() + Duration::from_secs(5);
    tb.run_until_cond(end, |tb| {
        let info = tb.host(client).unwrap().peer_info(peer).unwrap();
        steps += 1;
        sum += u64::from(info.transit_window);
        max = max.max(info.transit_window);
        false
    });
    ((sum / steps) as u32, max)
}

#[test]
fn a_harsh_link_keeps_the_window_near_c_size() {
    let (clean_mean, _) = window_under_loss(0.01);
    let (harsh_mean, harsh_max) = window_under_loss(0.15);
    println!("mean window at 1 % loss {clean_mean}, at 15 % {harsh_mean} (max {harsh_max})");
    assert!(clean_mean > 2 * C_WINDOW, "{clean_mean}");
    // Timeouts and congestion-scale early losses keep pulling it back.
    assert!(harsh_mean < C_WINDOW * 3 / 2, "{harsh_mean}");
    assert!(harsh_max < 4 * C_WINDOW, "{harsh_max}");
}
