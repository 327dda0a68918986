//! Any public call of Godot's classes, with any arguments, in any order, never panics
//! (issue 8, item 7): a property test for `EnetConnection` with its `EnetPacketPeer` views,
//! over loopback (addresses are loopback or unusable; nothing leaves the machine). Every
//! failure is a typed error, and `service` never fails on a healthy socket. Also the
//! compressors on any input and buffer. The native `UdpHost` has its own in
//! `api_props_native.rs`.

mod props_config;

use std::time::Duration;

use enet::godot::{EnetConnection, HostStatistic, PeerHandle, PeerStatistic};
use enet::{CompressionMode, LinkConfig, RangeCoder};
use props_config::config;
use proptest::prelude::*;

const HOSTS: [&str; 7] = [
    "127.0.0.1",
    "::1",
    "[::1]",
    "localhost",
    "",
    "::ffff:127.0.0.1",
    " 127.0.0.1 ",
];
const BINDS: [&str; 6] = ["127.0.0.1", "*", "::1", "x", "300.1.1.1", ""];

#[derive(Clone, Debug)]
enum ConnOp {
    Create(u8, bool, usize, usize, u32),
    Destroy,
    ConnectTo(u8, bool, u16, usize, u32),
    Service(u8),
    CheckEvents,
    Flush,
    Bandwidth(u32, u32),
    ChannelLimit(usize),
    Broadcast(u8, usize, u32),
    Compress(u8),
    Checksum(bool),
    Refuse(bool),
    Stat(u8),
    Queries,
    SocketSend(u8, u16, usize),
    Conditioner(bool),
    BusyPoll(u64),
    Peer(u16, PeerOp),
}

#[derive(Clone, Debug)]
enum PeerOp {
    Send(u8, usize, u32),
    Put(usize),
    Get,
    Disconnect(u8, u32),
    Ping,
    PingInterval(u32),
    Timeout(u32, u32, u32),
    Throttle(u32, u32, u32),
    Queries(u8),
}

fn peer_op() -> impl Strategy<Value = PeerOp> {
    prop_oneof![
        (any::<u8>(), 0usize..5000, any::<u32>()).prop_map(|(c, n, f)| PeerOp::Send(c, n, f)),
        (0usize..3000).prop_map(PeerOp::Put),
        Just(PeerOp::Get),
        (any::<u8>(), any::<u32>()).prop_map(|(k, d)| PeerOp::Disconnect(k, d)),
        Just(PeerOp::Ping),
        any::<u32>().prop_map(PeerOp::PingInterval),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| PeerOp::Timeout(a, b, c)),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| PeerOp::Throttle(a, b, c)),
        any::<u8>().prop_map(PeerOp::Queries),
    ]
}

fn conn_op() -> impl Strategy<Value = ConnOp> {
    prop_oneof![
        (
            any::<u8>(),
            any::<bool>(),
            any::<usize>(),
            any::<usize>(),
            any::<u32>()
        )
            .prop_map(|(b, bound, p, c, bw)| ConnOp::Create(
                b,
                bound,
                p % 5000,
                c % 300,
                bw
            )),
        Just(ConnOp::Destroy),
        (
            any::<u8>(),
            any::<bool>(),
            any::<u16>(),
            any::<usize>(),
            any::<u32>()
        )
            .prop_map(|(h, real, p, c, d)| ConnOp::ConnectTo(h, real, p, c, d)),
        (0u8..3).prop_map(ConnOp::Service),
        Just(ConnOp::CheckEvents),
        Just(ConnOp::Flush),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| ConnOp::Bandwidth(a, b)),
        any::<usize>().prop_map(ConnOp::ChannelLimit),
        (any::<u8>(), 0usize..3000, any::<u32>()).prop_map(|(c, n, f)| ConnOp::Broadcast(c, n, f)),
        any::<u8>().prop_map(ConnOp::Compress),
        any::<bool>().prop_map(ConnOp::Checksum),
        any::<bool>().prop_map(ConnOp::Refuse),
        any::<u8>().prop_map(ConnOp::Stat),
        Just(ConnOp::Queries),
        (any::<u8>(), any::<u16>(), 0usize..70_000)
            .prop_map(|(h, p, n)| ConnOp::SocketSend(h, p, n)),
        any::<bool>().prop_map(ConnOp::Conditioner),
        any::<u64>().prop_map(ConnOp::BusyPoll),
        (any::<u16>(), peer_op()).prop_map(|(k, op)| ConnOp::Peer(k, op)),
    ]
}

const COMPRESSION: [CompressionMode; 5] = [
    CompressionMode::None,
    CompressionMode::RangeCoder,
    CompressionMode::FastLz,
    CompressionMode::Zlib,
    CompressionMode::Zstd,
];
const HOST_STATS: [HostStatistic; 4] = [
    HostStatistic::TotalSentData,
    HostStatistic::TotalSentPackets,
    HostStatistic::TotalReceivedData,
    HostStatistic::TotalReceivedPackets,
];
const PEER_STATS: [PeerStatistic; 3] = [
    PeerStatistic::PacketLoss,
    PeerStatistic::RoundTripTime,
    PeerStatistic::PacketThrottleInterval,
];

fn apply_peer(c: &mut EnetConnection, h: PeerHandle, op: &PeerOp) {
    let mut p = c.peer(h);
    let _ = (p.handle(), p.is_active(), p.get_available_packet_count());
    match *op {
        PeerOp::Send(ch, n, f) => {
            let _ = p.send(ch, &vec![3; n], f);
        }
        PeerOp::Put(n) => {
            let _ = p.put_packet(&vec![4; n]);
        }
        PeerOp::Get => {
            let _ = (
                p.get_packet_flags(),
                p.get_packet_with_info(),
                p.get_packet(),
            );
        }
        PeerOp::Disconnect(k, d) => {
            let _ = match k % 4 {
                0 => p.peer_disconnect(d),
                1 => p.peer_disconnect_later(d),
                2 => p.peer_disconnect_now(d),
                _ => p.reset(),
            };
        }
        PeerOp::Ping => {
            let _ = p.ping();
        }
        PeerOp::PingInterval(ms) => {
            let _ = p.ping_interval(ms);
        }
        PeerOp::Timeout(a, b, x) => {
            let _ = p.set_timeout(a, b, x);
        }
        PeerOp::Throttle(a, b, x) => {
            let _ = p.throttle_configure(a, b, x);
        }
        PeerOp::Queries(k) => {
            let _ = (
                p.get_remote_address(),
                p.remote_addr(),
                p.get_remote_port(),
                p.get_statistic(PEER_STATS[k as usize % PEER_STATS.len()]),
                p.get_state(),
                p.get_channels(),
                p.last_packet_flags(),
                p.get_max_packet_size(),
            );
        }
    }
}

fn apply_conn(c: &mut EnetConnection, other_port: u16, op: &ConnOp) {
    match *op {
        ConnOp::Create(b, bound, peers, chans, bw) => {
            let _ = if bound {
                // Port 0 only: fixed ports could collide with other tests.
                c.create_host_bound(BINDS[b as usize % BINDS.len()], 0, peers, chans, bw, bw)
            } else {
                c.create_host(peers, chans, bw, bw)
            };
        }
        ConnOp::Destroy => {
            let _ = c.destroy();
        }
        ConnOp::ConnectTo(h, real, port, chans, data) => {
            let port = if real { other_port } else { port };
            let _ = c.connect_to_host(HOSTS[h as usize % HOSTS.len()], port, chans, data);
        }
        ConnOp::Service(ms) => {
            if c.is_active() {
                c.service(Duration::from_millis(ms as u64))
                    .expect("service never fails on a healthy socket");
            } else {
                assert!(c.service(Duration::ZERO).is_err());
            }
        }
        ConnOp::CheckEvents => {
            let _ = c.check_events();
        }
        ConnOp::Flush => {
            if c.is_active() {
                c.flush().expect("flush never fails on a healthy socket");
            }
        }
        ConnOp::Bandwidth(a, b) => {
            let _ = c.bandwidth_limit(a, b);
        }
        ConnOp::ChannelLimit(n) => {
            let _ = c.channel_limit(n);
        }
        ConnOp::Broadcast(ch, n, f) => {
            let _ = c.broadcast(ch, &vec![2; n], f);
        }
        ConnOp::Compress(k) => {
            let _ = c.compress(COMPRESSION[k as usize % COMPRESSION.len()]);
        }
        ConnOp::Checksum(on) => {
            let _ = c.set_checksum(on);
        }
        ConnOp::Refuse(on) => {
            let _ = c.refuse_new_connections(on);
        }
        ConnOp::Stat(k) => {
            let _ = c.pop_statistic(HOST_STATS[k as usize % HOST_STATS.len()]);
        }
        ConnOp::Queries => {
            let _ = (
                c.get_max_channels(),
                c.get_local_port(),
                c.local_addr(),
                c.get_peers(),
                c.link_conditioner_stats(),
                c.deactivation_count(),
                c.udp_host().map(|e| e.peer_count()),
                c.io_stats(),
            );
        }
        ConnOp::SocketSend(h, port, n) => {
            let _ = c.socket_send(HOSTS[h as usize % HOSTS.len()], port, &vec![0; n]);
        }
        ConnOp::Conditioner(on) => {
            let cfg = on.then(|| LinkConfig::new().with_loss(0.3));
            let _ = c.set_link_conditioner(cfg.clone(), cfg);
        }
        ConnOp::BusyPoll(ns) => {
            let _ = c.set_busy_poll_limit(Duration::from_nanos(ns % 5_000_000));
        }
        ConnOp::Peer(k, ref op) => {
            let peers = c.get_peers();
            if let Some(&h) = peers.get(k as usize % peers.len().max(1)) {
                apply_peer(c, h, op);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn connection_and_peer_any_call_sequence(
        ops in proptest::collection::vec((any::<bool>(), conn_op()), 1..40),
    ) {
        let mut server = EnetConnection::new();
        server.create_host_bound("127.0.0.1", 0, 4, 0, 0, 0).unwrap();
        let port = server.get_local_port().unwrap();
        let mut client = EnetConnection::new();
        client.create_host(1, 0, 0, 0).unwrap();
        let cpeer = client.connect_to_host("127.0.0.1", port, 0, 9).unwrap();
        // Let the connection complete (usually) so peer views have someone to talk to.
        for _ in 0..20 {
            server.service(Duration::from_millis(1)).unwrap();
            client.service(Duration::from_millis(1)).unwrap();
        }
        for (which, op) in &ops {
            let (c, other) = if *which { (&mut server, 0) } else { (&mut client, port) };
            apply_conn(c, other, op);
        }
        // A stale handle (its peer may be long gone) is still safe to use.
        for op in [PeerOp::Get, PeerOp::Ping, PeerOp::Queries(0), PeerOp::Disconnect(3, 0)] {
            apply_peer(&mut client, cpeer, &op);
        }
        prop_assert!(server.get_peers().len() <= 4);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..config() })]

    /// The compressors' public functions with any input and any output buffer size (too
    /// small ones included): a result or `None`, never a panic or a write out of bounds.
    #[test]
    fn compressors_any_input_any_buffer(
        input in proptest::collection::vec(any::<u8>(), 0..3000),
        out_len in 0usize..5000,
        level in any::<u8>(),
    ) {
        use enet::compress::{FastLz, Zlib, Zstd};
        use enet::Compressor;
        let mut out = vec![0u8; out_len];
        if let Some(n) = FastLz::new().compress_block(&input, &mut out) {
            prop_assert!(n <= out_len);
        }
        if let Some(n) = FastLz::decompress_block(&input, &mut out) {
            prop_assert!(n <= out_len);
        }
        let mut all: Vec<Box<dyn Compressor>> = vec![
            Box::new(FastLz::new()),
            Box::new(Zlib::with_level(level)),
            Box::new(Zstd::new()),
            Box::new(RangeCoder::new()),
        ];
        for c in &mut all {
            if let Some(n) = c.compress(&input, &mut out) {
                prop_assert!(n <= out_len);
            }
            if let Some(n) = c.decompress(&input, &mut out) {
                prop_assert!(n <= out_len);
            }
        }
    }
}
