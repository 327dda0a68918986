//! Helpers shared by the `connection*` integration tests: Godot's error codes, hosts on 127.0.0.1 with
//! ephemeral ports, event pumps with deadlines, and connected pairs.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use enet::godot::{
    EnetConnection, EventType, HostStatistic, PeerHandle, PeerStatistic, ServiceEvent,
};

/// Godot's `ERR_FAILED`.
pub const FAILED: i32 = 1;
/// Godot's `ERR_UNAVAILABLE`.
pub const UNAVAILABLE: i32 = 2;
/// Godot's `ERR_UNCONFIGURED`.
pub const UNCONFIGURED: i32 = 3;
/// Godot's `ERR_CANT_CREATE`.
pub const CANT_CREATE: i32 = 20;
/// Godot's `ERR_ALREADY_IN_USE`.
pub const ALREADY_IN_USE: i32 = 22;
/// Godot's `ERR_CANT_CONNECT`.
pub const CANT_CONNECT: i32 = 25;
/// Godot's `ERR_CANT_RESOLVE`.
pub const CANT_RESOLVE: i32 = 26;
/// Godot's `ERR_INVALID_PARAMETER`.
pub const INVALID_PARAMETER: i32 = 31;

/// Generous upper bound for anything that should happen promptly on loopback.
pub const T: Duration = Duration::from_secs(5);

/// Asserts that `r` is an error with the given Godot code (and shows it otherwise).
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(r: enet::Result<T>, code: i32) {
    match r {
        Ok(v) => panic!("expected Godot error {code}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.godot_code(), code, "unexpected error {e:?}"),
    }
}

/// An active server bound to 127.0.0.1 on an ephemeral port; returns it with its port.
pub fn server(max_peers: usize, max_channels: usize) -> (EnetConnection, u16) {
    let mut s = EnetConnection::new();
    s.create_host_bound("127.0.0.1", 0, max_peers, max_channels, 0, 0)
        .expect("bind 127.0.0.1:0");
    let port = s.get_local_port().unwrap();
    assert_ne!(port, 0);
    (s, port)
}

/// A client host (one peer slot) bound to 127.0.0.1 on an ephemeral port.
pub fn client() -> EnetConnection {
    let mut c = EnetConnection::new();
    c.create_host_bound("127.0.0.1", 0, 1, 0, 0, 0)
        .expect("bind 127.0.0.1:0");
    c
}

/// Services every connection in turn (1 ms each) until `f` returns true for an event, or
/// `limit` passes (then returns false). `f` gets the connection's index and the connection.
pub fn pump(
    conns: &mut [&mut EnetConnection],
    limit: Duration,
    mut f: impl FnMut(usize, &mut EnetConnection, ServiceEvent) -> bool,
) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        for (i, c) in conns.iter_mut().enumerate() {
            let ev = c.service(Duration::from_millis(1)).expect("service");
            if ev.kind != EventType::None && f(i, c, ev) {
                return true;
            }
        }
    }
    false
}

/// Services every connection for `dur` and returns the events each one saw.
pub fn drain(conns: &mut [&mut EnetConnection], dur: Duration) -> Vec<Vec<ServiceEvent>> {
    let mut log = vec![Vec::new(); conns.len()];
    pump(conns, dur, |i, _, ev| {
        log[i].push(ev);
        false
    });
    log
}

/// A connected client/server pair on loopback.
pub struct Pair {
    pub server: EnetConnection,
    pub client: EnetConnection,
    pub port: u16,
    /// The server's handle of the client.
    pub speer: PeerHandle,
    /// The client's handle of the server.
    pub cpeer: PeerHandle,
}

impl Pair {
    /// Server with `server_channels` channel limit; client asking for `client_channels`.
    pub fn new(server_channels: usize, client_channels: usize) -> Pair {
        let (mut server, port) = self::server(32, server_channels);
        let mut client = self::client();
        let (cpeer, speer) = connect(&mut server, &mut client, port, client_channels, 0);
        Pair {
            server,
            client,
            port,
            speer,
            cpeer,
        }
    }

    /// Pumps both sides; see [`pump`] (index 0 is the server, 1 the client).
    pub fn pump(
        &mut self,
        limit: Duration,
        f: impl FnMut(usize, &mut EnetConnection, ServiceEvent) -> bool,
    ) -> bool {
        pump(&mut [&mut self.server, &mut self.client], limit, f)
    }

    /// Services both sides for `dur`; returns (server events, client events).
    pub fn drain(&mut self, dur: Duration) -> (Vec<ServiceEvent>, Vec<ServiceEvent>) {
        let mut log = drain(&mut [&mut self.server, &mut self.client], dur);
        let c = log.pop().unwrap();
        let s = log.pop().unwrap();
        (s, c)
    }
}

/// Connects `client` to `server` (on 127.0.0.1:`port`) with `channels` and `data`; pumps
/// until both see CONNECT. Returns (client's handle, server's handle). Panics on any other
/// event.
pub fn connect(
    server: &mut EnetConnection,
    client: &mut EnetConnection,
    port: u16,
    channels: usize,
    data: u32,
) -> (PeerHandle, PeerHandle) {
    let cpeer = client
        .connect_to_host("127.0.0.1", port, channels, data)
        .expect("connect_to_host");
    finish_connect(server, client, cpeer, data)
}

/// Pumps until both sides of a connection started with `connect_to_host` see CONNECT.
pub fn finish_connect(
    server: &mut EnetConnection,
    client: &mut EnetConnection,
    cpeer: PeerHandle,
    data: u32,
) -> (PeerHandle, PeerHandle) {
    let mut speer = None;
    let mut client_up = false;
    let ok = pump(&mut [server, client], T, |i, _, ev| {
        assert_eq!(ev.kind, EventType::Connect, "side {i}: {ev:?}");
        if i == 0 {
            assert_eq!(ev.data, data, "server sees the connect data");
            speer = ev.peer;
        } else {
            assert_eq!(ev.peer, Some(cpeer));
            assert_eq!(ev.data, 0, "the client's CONNECT event carries 0");
            client_up = true;
        }
        speer.is_some() && client_up
    });
    assert!(ok, "connection not established within {T:?}");
    (cpeer, speer.unwrap())
}

/// Pops all four host statistics: (sent data, sent packets, received data, received packets).
pub fn pop_all(c: &mut EnetConnection) -> [u64; 4] {
    [
        HostStatistic::TotalSentData,
        HostStatistic::TotalSentPackets,
        HostStatistic::TotalReceivedData,
        HostStatistic::TotalReceivedPackets,
    ]
    .map(|s| {
        let v = c.pop_statistic(s).unwrap();
        assert!(v >= 0.0 && v.fract() == 0.0, "{s:?} = {v}");
        v as u64
    })
}

/// CPU time (user + system) consumed so far by the calling thread, from
/// `/proc/thread-self/stat`; `None` where that file does not exist.
pub fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration in practice.
    Some(Duration::from_millis(ticks * 10))
}

/// Every `PeerStatistic`, in Godot's order.
pub const ALL_STATS: [PeerStatistic; 14] = [
    PeerStatistic::PacketLoss,
    PeerStatistic::PacketLossVariance,
    PeerStatistic::PacketLossEpoch,
    PeerStatistic::RoundTripTime,
    PeerStatistic::RoundTripTimeVariance,
    PeerStatistic::LastRoundTripTime,
    PeerStatistic::LastRoundTripTimeVariance,
    PeerStatistic::PacketThrottle,
    PeerStatistic::PacketThrottleLimit,
    PeerStatistic::PacketThrottleCounter,
    PeerStatistic::PacketThrottleEpoch,
    PeerStatistic::PacketThrottleAcceleration,
    PeerStatistic::PacketThrottleDeceleration,
    PeerStatistic::PacketThrottleInterval,
];
