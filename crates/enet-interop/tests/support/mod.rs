//! Shared pieces of the Rust ↔ C interop tests over real UDP on 127.0.0.1 (`interop_*.rs`):
//! the datagram [`Variant`]s both ends use, our side of a test ([`Ours`]: a `UdpHost` with its
//! events filed, plus waits for the scriptable C peer's events), the checks of pattern traffic
//! that several scenarios repeat, and (in [`relay`]) the in-process lossy UDP relay.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod relay;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use enet::udp::UdpHost;
use enet::{DisconnectReason, Event, HostConfig, Packet, PacketFlags, PeerId, RangeCoder};
use enet_interop::{flags, pattern, pattern_seed, CEvent, CPeer, CPeerOpts, ConnectInfo, Received};
use enet_proto::DropReason;

pub const T: Duration = Duration::from_secs(5);
pub const BULK_T: Duration = Duration::from_secs(15);
pub const LOCALHOST: &str = "127.0.0.1";

/// Datagram options shared by both ends of a test.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub checksum: bool,
    pub range_coder: bool,
}

pub const PLAIN: Variant = Variant {
    checksum: false,
    range_coder: false,
};
pub const RANGE_CODER: Variant = Variant {
    checksum: false,
    range_coder: true,
};
pub const CHECKSUM: Variant = Variant {
    checksum: true,
    range_coder: false,
};
pub const BOTH: Variant = Variant {
    checksum: true,
    range_coder: true,
};

impl Variant {
    pub fn c_opts(self, mut opts: CPeerOpts) -> CPeerOpts {
        if self.checksum {
            opts = opts.checksum();
        }
        if self.range_coder {
            opts = opts.range_coder();
        }
        opts
    }
}

/// A packet our host received.
#[derive(Debug)]
pub struct Got {
    pub peer: PeerId,
    pub channel: u8,
    pub packet: Packet,
}

impl Got {
    pub fn is_pattern(&self, seed: u32, len: usize) -> bool {
        self.packet.data.len() == len && pattern_seed(&self.packet.data) == Some(seed)
    }
}

/// Our side: a `UdpHost` plus the events it produced, split into received packets and
/// everything else.
pub struct Ours {
    pub host: UdpHost,
    pub received: VecDeque<Got>,
    pub others: VecDeque<Event>,
    /// Send every received packet back like the C peer's `--echo`.
    pub echo: bool,
}

impl Ours {
    pub fn bind(v: Variant) -> Ours {
        let cfg = HostConfig::default().with_checksum(v.checksum);
        let mut host = UdpHost::bind("127.0.0.1:0".parse().unwrap(), cfg).expect("bind");
        if v.range_coder {
            host.set_compressor(Some(Box::new(RangeCoder::new())));
        }
        Ours {
            host,
            received: VecDeque::new(),
            others: VecDeque::new(),
            echo: false,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.host.local_addr()
    }

    pub fn push(&mut self, ev: Event) {
        match ev {
            Event::Receive {
                peer,
                channel_id,
                packet,
            } => {
                if self.echo {
                    // As the C peer's --echo: keep large unreliable packets unreliable.
                    let mut f = packet.flags.0
                        & (PacketFlags::RELIABLE.0
                            | PacketFlags::UNSEQUENCED.0
                            | PacketFlags::UNRELIABLE_FRAGMENT.0);
                    if f & PacketFlags::RELIABLE.0 == 0 {
                        f |= PacketFlags::UNRELIABLE_FRAGMENT.0;
                    }
                    let echo = Packet::new(packet.data.clone(), PacketFlags(f));
                    self.host.send(peer, channel_id, echo).expect("echo");
                }
                self.received.push_back(Got {
                    peer,
                    channel: channel_id,
                    packet,
                })
            }
            other => self.others.push_back(other),
        }
    }

    /// Services our host for up to `wait` (less if an event arrives) and files the events.
    pub fn step(&mut self, wait: Duration) {
        if let Some(ev) = self.host.service(wait).expect("service") {
            self.push(ev);
            while let Some(ev) = self.host.check_events() {
                self.push(ev);
            }
        }
    }

    pub fn send(&mut self, peer: PeerId, channel: u8, packet: Packet) {
        self.host.send(peer, channel, packet).expect("send");
    }

    /// Waits for a non-receive event matching `pred` and removes it.
    pub fn expect(
        &mut self,
        limit: Duration,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Event {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(pos) = self.others.iter().position(&mut pred) {
                return self.others.remove(pos).unwrap();
            }
            if Instant::now() >= deadline {
                panic!(
                    "ours: timed out expecting {what}; other events {:?}; {} packets pending",
                    self.others,
                    self.received.len()
                );
            }
            self.step(Duration::from_millis(5));
        }
    }

    /// Waits for a connect event; returns its peer and data.
    pub fn expect_connect(&mut self, limit: Duration) -> (PeerId, u32) {
        match self.expect(limit, "connect", |e| matches!(e, Event::Connect { .. })) {
            Event::Connect { peer, data } => (peer, data),
            _ => unreachable!(),
        }
    }

    /// Waits for a disconnect event and returns it.
    pub fn expect_disconnect(&mut self, limit: Duration) -> Event {
        self.expect(limit, "disconnect", |e| {
            matches!(e, Event::Disconnect { .. })
        })
    }

    /// Fails unless the scenario ended cleanly: no peer left connected, no input dropped for
    /// a wire mismatch, and no packet left unchecked.
    pub fn assert_clean_end(&self) {
        assert_eq!(self.host.host().connected_peers(), 0);
        self.assert_no_bad_drops();
        assert!(
            self.received.is_empty(),
            "stray packets: {:?}",
            self.received
        );
    }

    /// Takes the next `n` received packets in arrival order.
    pub fn receives(&mut self, n: usize, limit: Duration) -> Vec<Got> {
        let deadline = Instant::now() + limit;
        while self.received.len() < n {
            if Instant::now() >= deadline {
                panic!(
                    "ours: only {} of {n} packets within {limit:?}; other events {:?}; drops {:?}",
                    self.received.len(),
                    self.others,
                    self.host.host().drop_stats()
                );
            }
            self.step(Duration::from_millis(5));
        }
        self.received.drain(..n).collect()
    }

    /// Waits for a C event matching `pred`, servicing our host meanwhile. Panics on a C
    /// `error` line.
    pub fn expect_c(
        &mut self,
        c: &mut CPeer,
        limit: Duration,
        what: &str,
        mut pred: impl FnMut(&CEvent) -> bool,
    ) -> CEvent {
        let deadline = Instant::now() + limit;
        loop {
            let found = c.try_expect(Duration::ZERO, |e| pred(e) || matches!(e, CEvent::Error(_)));
            match found {
                Some(CEvent::Error(e)) if !pred(&CEvent::Error(e.clone())) => {
                    panic!(
                        "C peer error while expecting {what}: {e}; history {:#?}",
                        c.history()
                    )
                }
                Some(ev) => return ev,
                None => {}
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {limit:?} expecting {what} from C (eof {}); history {:#?}",
                    c.is_eof(),
                    c.history()
                );
            }
            self.step(Duration::from_millis(2));
        }
    }

    pub fn expect_c_connect(&mut self, c: &mut CPeer) -> ConnectInfo {
        self.expect_c_connect_within(c, T)
    }

    pub fn expect_c_connect_within(&mut self, c: &mut CPeer, limit: Duration) -> ConnectInfo {
        match self.expect_c(c, limit, "connect", |e| matches!(e, CEvent::Connect(_))) {
            CEvent::Connect(ci) => ci,
            _ => unreachable!(),
        }
    }

    pub fn expect_c_sent(&mut self, c: &mut CPeer) -> u32 {
        match self.expect_c(c, T, "sent", |e| matches!(e, CEvent::Sent { .. })) {
            CEvent::Sent { count } => count,
            _ => unreachable!(),
        }
    }

    pub fn expect_c_disconnect(&mut self, c: &mut CPeer) -> (u32, u32) {
        self.expect_c_disconnect_within(c, T)
    }

    pub fn expect_c_disconnect_within(&mut self, c: &mut CPeer, limit: Duration) -> (u32, u32) {
        match self.expect_c(c, limit, "disconnect", |e| {
            matches!(e, CEvent::Disconnect { .. })
        }) {
            CEvent::Disconnect { peer, data } => (peer, data),
            _ => unreachable!(),
        }
    }

    /// Collects `n` C receive events in order, servicing our host meanwhile.
    pub fn expect_c_receives(&mut self, c: &mut CPeer, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!("receive #{} of {n}", got.len() + 1);
            match self.expect_c(c, left, &what, |e| matches!(e, CEvent::Receive(_))) {
                CEvent::Receive(r) => got.push(r),
                _ => unreachable!(),
            }
        }
        got
    }

    /// Fails if our host dropped input for a reason that means a wire mismatch.
    pub fn assert_no_bad_drops(&self) {
        let d = self.host.host().drop_stats();
        for r in [
            DropReason::Truncated,
            DropReason::UnknownPeer,
            DropReason::SessionMismatch,
            DropReason::NoDecompressor,
            DropReason::DecompressFailed,
            DropReason::ChecksumMismatch,
            DropReason::UnknownCommand,
            DropReason::TruncatedCommand,
            DropReason::PayloadOverrun,
            DropReason::InvalidFragment,
            DropReason::InvalidVerifyConnect,
            DropReason::MissingSentTime,
        ] {
            assert_eq!(d.get(r), 0, "dropped input ({r:?}): {d:?}");
        }
    }
}

/// The disconnect event of `peer` with `data` and `reason`.
pub fn disconnected(peer: PeerId, data: u32, reason: DisconnectReason) -> Event {
    Event::Disconnect { peer, data, reason }
}

/// 127.0.0.1 at `port`.
pub fn addr_of(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

// ----------------------------------------------------------------------------------------
// Scenario pieces, parameterised by who is on which side.

/// 20 unreliable packets on channel 1 and 20 unsequenced on channel 2, from us to C.
pub fn ours_to_c_unreliable(us: &mut Ours, c: &mut CPeer, peer: PeerId) {
    for k in 0..20 {
        us.send(peer, 1, Packet::unreliable(pattern(500 + k, 100)));
    }
    for k in 0..20 {
        us.send(peer, 2, Packet::unsequenced(pattern(600 + k, 33)));
    }
    us.host.flush().unwrap();
    let mut got = us.expect_c_receives(c, 40, T);
    got.sort_by_key(|r| r.seed);
    for (k, r) in got.iter().enumerate() {
        let k = k as u32;
        if k < 20 {
            assert!(r.is_pattern(500 + k, 100), "{r:?}");
            assert_eq!((r.channel, r.flags), (1, 0), "plain unreliable at C");
        } else {
            assert!(r.is_pattern(600 + k - 20, 33), "{r:?}");
            assert_eq!((r.channel, r.flags), (2, flags::UNSEQUENCED));
        }
    }
}

/// The same 40 packets from C to us (checked on our side).
pub fn check_unreliable_at_ours(us: &mut Ours, peer: PeerId) {
    let mut got = us.receives(40, T);
    got.sort_by_key(|g| pattern_seed(&g.packet.data));
    for (k, g) in got.iter().enumerate() {
        let k = k as u32;
        assert_eq!(g.peer, peer);
        if k < 20 {
            assert!(g.is_pattern(500 + k, 100), "{g:?}");
            assert_eq!(g.channel, 1);
            assert_eq!(g.packet.flags, PacketFlags::UNRELIABLE, "{g:?}");
        } else {
            assert!(g.is_pattern(600 + k - 20, 33), "{g:?}");
            assert_eq!(g.channel, 2);
            assert_eq!(g.packet.flags, PacketFlags::UNSEQUENCED, "{g:?}");
        }
    }
}

pub fn check_c_reliable_in_order(got: &[Received], seed0: u32, len: usize, channel: u8) {
    for (k, r) in got.iter().enumerate() {
        assert!(
            r.is_pattern(seed0 + k as u32, len),
            "C: #{k} out of order or corrupt: {r:?}"
        );
        assert_eq!((r.channel, r.flags), (channel, flags::RELIABLE), "#{k}");
    }
}

pub fn check_ours_reliable_in_order(got: &[Got], seed0: u32, len: usize, channel: u8) {
    for (k, g) in got.iter().enumerate() {
        assert!(
            g.is_pattern(seed0 + k as u32, len),
            "ours: #{k} out of order or corrupt: len {} seed {:?}",
            g.packet.data.len(),
            pattern_seed(&g.packet.data)
        );
        assert_eq!(g.channel, channel, "#{k}");
        assert_eq!(g.packet.flags, PacketFlags::RELIABLE, "#{k}");
    }
}
