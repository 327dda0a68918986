//! The world a fuzz case runs in: a sans-IO ENet server, a bystander client and (while
//! recording) an honest client, joined by a perfect wire with a fixed latency, in virtual
//! time.
//!
//! During a case the honest client is absent: its recorded datagrams, mutated, and spoofed
//! ones from other addresses arrive as *injections*. The bystander keeps sending numbered
//! reliable packets that the server echoes; it must get every echo, in order, and never be
//! disconnected. Engine invariants are checked as the case runs (those checks are in
//! `checks.rs`).

mod checks;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use enet_proto::{Host, HostConfig, Packet, PacketFlags, PeerId, RangeCoder};

/// The server's address.
pub const SERVER: SocketAddr = addr(1, 7777);
/// The bystander's address (never spoofed: ENet cannot protect a peer whose address an
/// attacker uses, see the README's security model).
pub const BYSTANDER: SocketAddr = addr(2, 40000);
/// The recorded client's address (its datagrams are the ones mutated in flight).
pub const CLIENT: SocketAddr = addr(3, 40001);

const fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port)
}

/// One-way latency of the wire.
const LATENCY_US: u64 = 5_000;
/// The bystander sends a numbered packet this often...
const BYSTANDER_PERIOD_US: u64 = 10_000;
/// ...until then,
const BYSTANDER_UNTIL_US: u64 = 450_000;
/// and the case ends then (every echo must be back by then).
pub const END_US: u64 = 1_200_000;
/// A case that takes more steps than this is stuck (a timer that never advances).
const MAX_STEPS: u64 = 200_000;

/// Engine configuration variants (both ends use the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Plain ENet.
    Plain,
    /// Datagrams compressed with ENet's range coder.
    RangeCoder,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 2] = [Variant::Plain, Variant::RangeCoder];

    /// The name used in case files.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::RangeCoder => "range-coder",
        }
    }

    /// The variant of a name.
    pub fn from_name(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// A datagram to hand to the server at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injection {
    /// When it is sent (it arrives one wire latency later), µs since the case start.
    pub at_us: u64,
    /// Its source address.
    pub from: SocketAddr,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What one case did (for statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaseStats {
    /// Datagrams injected into the server.
    pub injected: u64,
    /// Datagrams the server received in all.
    pub server_received: u64,
    /// Echoes the bystander got back.
    pub echoes: u32,
    /// Events the server produced.
    pub server_events: u64,
    /// Packets the server received from peers other than the bystander.
    pub other_packets: u64,
    /// Connections the server accepted (the bystander's included).
    pub server_connects: u64,
}

/// A datagram on the wire.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at_us: u64,
    seq: u64,
    to: SocketAddr,
    from: SocketAddr,
    bytes: Vec<u8>,
}

/// Server and bystander configuration: small enough that floods hit the limits.
fn config(seed: u64) -> HostConfig {
    HostConfig::default()
        .with_peer_count(8)
        .with_maximum_packet_size(64 * 1024)
        .with_maximum_waiting_data(256 * 1024)
        .with_seed(seed)
}

fn new_host(variant: Variant, seed: u64, base: Instant) -> Host {
    let mut h = Host::new(config(seed), base).expect("valid config");
    if variant == Variant::RangeCoder {
        h.set_compressor(Some(Box::new(RangeCoder::new())));
    }
    h
}

/// What the honest client does after it connected (offsets in µs).
fn client_script(client: &mut Host, peer: PeerId, step: u32) {
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    match step {
        0 => {
            let _ = client.send(peer, 0, Packet::reliable(&b"hello"[..]));
            let _ = client.send(peer, 1, Packet::unreliable(vec![1u8; 100]));
            let _ = client.send(peer, 2, Packet::unsequenced(vec![2u8; 50]));
            let _ = client.send(peer, 3, Packet::reliable(big.clone()));
            let frag = PacketFlags(PacketFlags::UNRELIABLE_FRAGMENT.0);
            let _ = client.send(peer, 1, Packet::new(big[..3000].to_vec(), frag));
            let _ = client.ping(peer);
        }
        1 => {
            let _ = client.throttle_configure(peer, 1000, 3, 4);
            client.bandwidth_limit(50_000, 60_000);
            for k in 0..5u8 {
                let _ = client.send(peer, k % 4, Packet::reliable(vec![k; 10 + k as usize]));
            }
            let _ = client.send(peer, 2, Packet::reliable(big));
        }
        _ => {
            let _ = client.disconnect(peer, 77);
        }
    }
}

/// Offsets after the client's connect at which `client_script` steps run.
const CLIENT_STEPS_US: [u64; 3] = [0, 40_000, 150_000];

/// The world of one case (or of the recording).
pub struct World {
    base: Instant,
    now_us: u64,
    seq: u64,
    wire: BinaryHeap<Reverse<InFlight>>,
    server: Host,
    bystander: Host,
    client: Option<Host>,
    buf: Vec<u8>,
    // Bystander bookkeeping.
    b_peer: Option<PeerId>,
    b_up_at: Option<u64>,
    b_sent: u32,
    b_echoed: u32,
    /// The server's peer for the bystander and the next number it must receive from it.
    s_bystander: Option<PeerId>,
    s_next_from_b: u32,
    /// Server peers that had a Connect and no Disconnect since.
    s_connected: BTreeSet<PeerId>,
    // Honest client bookkeeping (recording only).
    c_peer: Option<PeerId>,
    c_up_at: Option<u64>,
    c_step: usize,
    /// Recorded datagrams: client → server and server → client.
    pub recorded_to_server: Vec<Injection>,
    /// Datagrams the server sent to the client address (material for mutations).
    pub recorded_to_client: Vec<Vec<u8>>,
    recording: bool,
    /// Statistics of the case.
    pub stats: CaseStats,
    last_totals: enet_proto::HostTotals,
}

impl World {
    /// A world with a server and a bystander; with `record`, also the honest client, whose
    /// exchange with the server is recorded.
    pub fn new(variant: Variant, record: bool) -> World {
        let base = Instant::now();
        let server = new_host(variant, 0x5E4_7E4, base);
        let mut bystander = new_host(variant, 0xB7_57A4D, base);
        let b_peer = bystander.connect(base, SERVER, 4, 1).ok();
        let client = record.then(|| {
            let mut c = new_host(variant, 0xC11_E47, base);
            c.connect(base, SERVER, 4, 2).expect("a free slot");
            c
        });
        World {
            base,
            now_us: 0,
            seq: 0,
            wire: BinaryHeap::new(),
            server,
            bystander,
            client,
            buf: Vec::with_capacity(4096),
            b_peer,
            b_up_at: None,
            b_sent: 0,
            b_echoed: 0,
            s_bystander: None,
            s_next_from_b: 0,
            s_connected: BTreeSet::new(),
            c_peer: None,
            c_up_at: None,
            c_step: 0,
            recorded_to_server: Vec::new(),
            recorded_to_client: Vec::new(),
            recording: record,
            stats: CaseStats::default(),
            last_totals: Default::default(),
        }
    }

    fn at(&self, us: u64) -> Instant {
        self.base + Duration::from_micros(us)
    }

    fn put(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>, sent_us: u64) {
        self.seq += 1;
        self.wire.push(Reverse(InFlight {
            at_us: sent_us + LATENCY_US,
            seq: self.seq,
            to,
            from,
            bytes,
        }));
    }

    /// Moves everything the hosts want to send onto the wire.
    fn transmit(&mut self) {
        let now = self.at(self.now_us);
        while let Some(to) = self.server.poll_transmit(now, &mut self.buf) {
            if self.recording && to == CLIENT {
                self.recorded_to_client.push(self.buf.clone());
            }
            // Only the bystander (and, while recording, the client) is really there.
            if to == BYSTANDER || (self.recording && to == CLIENT) {
                let bytes = self.buf.clone();
                self.put(SERVER, to, bytes, self.now_us);
            }
        }
        while let Some(to) = self.bystander.poll_transmit(now, &mut self.buf) {
            let bytes = self.buf.clone();
            self.put(BYSTANDER, to, bytes, self.now_us);
        }
        if let Some(c) = self.client.as_mut() {
            while let Some(to) = c.poll_transmit(now, &mut self.buf) {
                self.recorded_to_server.push(Injection {
                    at_us: self.now_us,
                    from: CLIENT,
                    bytes: self.buf.clone(),
                });
                let bytes = self.buf.clone();
                self.seq += 1;
                self.wire.push(Reverse(InFlight {
                    at_us: self.now_us + LATENCY_US,
                    seq: self.seq,
                    to,
                    from: CLIENT,
                    bytes,
                }));
            }
        }
    }

    /// Runs the case: `injections` (sorted by time) go to the server. Returns an error
    /// describing the first broken invariant or bystander failure.
    pub fn run(&mut self, injections: &[Injection]) -> Result<(), String> {
        let mut next_inj = 0;
        let mut steps = 0u64;
        loop {
            steps += 1;
            if steps > MAX_STEPS {
                return Err(format!("stuck: {MAX_STEPS} steps by {} µs", self.now_us));
            }
            self.transmit();
            self.drain_events()?;
            self.transmit();
            // Next thing to happen.
            let mut next = u64::MAX;
            if let Some(Reverse(d)) = self.wire.peek() {
                next = next.min(d.at_us);
            }
            if let Some(inj) = injections.get(next_inj) {
                next = next.min(inj.at_us + LATENCY_US);
            }
            for t in [
                self.server.poll_timeout(),
                self.bystander.poll_timeout(),
                self.client.as_mut().and_then(|c| c.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            {
                let us = t.saturating_duration_since(self.base).as_micros() as u64;
                next = next.min(us.max(self.now_us));
            }
            if let Some(t) = self.next_action_us() {
                next = next.min(t.max(self.now_us));
            }
            if next > END_US {
                break;
            }
            self.now_us = next;
            let now = self.at(next);
            while self.wire.peek().is_some_and(|Reverse(d)| d.at_us <= next) {
                let Reverse(d) = self.wire.pop().expect("peeked");
                match d.to {
                    SERVER => {
                        self.stats.server_received += 1;
                        self.server.handle_datagram(now, d.from, &d.bytes)
                    }
                    BYSTANDER => self.bystander.handle_datagram(now, d.from, &d.bytes),
                    CLIENT => {
                        if let Some(c) = self.client.as_mut() {
                            c.handle_datagram(now, d.from, &d.bytes)
                        }
                    }
                    _ => {}
                }
            }
            while let Some(inj) = injections.get(next_inj) {
                if inj.at_us + LATENCY_US > next {
                    break;
                }
                next_inj += 1;
                self.stats.injected += 1;
                self.stats.server_received += 1;
                self.server.handle_datagram(now, inj.from, &inj.bytes);
            }
            for h in [&mut self.server, &mut self.bystander]
                .into_iter()
                .chain(self.client.as_mut())
            {
                if h.poll_timeout().is_some_and(|t| t <= now) {
                    h.handle_timeout(now);
                }
            }
            self.run_actions();
            self.check_server()?;
        }
        self.final_check()
    }

    /// When the bystander or the client next does something scripted.
    fn next_action_us(&self) -> Option<u64> {
        let mut next = None::<u64>;
        if let Some(up) = self.b_up_at {
            let t = up + (self.b_sent as u64 + 1) * BYSTANDER_PERIOD_US;
            if t <= BYSTANDER_UNTIL_US {
                next = Some(t);
            }
        }
        if let (Some(up), Some(&off)) = (self.c_up_at, CLIENT_STEPS_US.get(self.c_step)) {
            let t = up + off;
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next
    }

    fn run_actions(&mut self) {
        if let (Some(up), Some(peer)) = (self.b_up_at, self.b_peer) {
            while up + (self.b_sent as u64 + 1) * BYSTANDER_PERIOD_US <= self.now_us
                && up + (self.b_sent as u64 + 1) * BYSTANDER_PERIOD_US <= BYSTANDER_UNTIL_US
            {
                let payload = self.b_sent.to_le_bytes().to_vec();
                if self
                    .bystander
                    .send(peer, 0, Packet::reliable(payload))
                    .is_ok()
                {
                    self.b_sent += 1;
                } else {
                    break;
                }
            }
        }
        if let (Some(up), Some(peer), Some(c)) = (self.c_up_at, self.c_peer, self.client.as_mut()) {
            while let Some(&off) = CLIENT_STEPS_US.get(self.c_step) {
                if up + off > self.now_us {
                    break;
                }
                client_script(c, peer, self.c_step as u32);
                self.c_step += 1;
            }
        }
    }
}

/// Records the honest client's exchange with the server (with the bystander present), for
/// `variant`. Fails if the recording itself breaks an invariant.
pub fn record(variant: Variant) -> Result<Recording, String> {
    let mut w = World::new(variant, true);
    w.run(&[])?;
    if w.c_step < CLIENT_STEPS_US.len() {
        return Err("the recorded client did not finish its script".into());
    }
    Ok(Recording {
        variant,
        to_server: w.recorded_to_server,
        to_client: w.recorded_to_client,
        stats: w.stats,
    })
}

/// A recorded exchange: what the honest client sent to the server (with times) and what
/// the server sent back.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The engine variant it was recorded with.
    pub variant: Variant,
    /// Client → server datagrams.
    pub to_server: Vec<Injection>,
    /// Server → client datagrams.
    pub to_client: Vec<Vec<u8>>,
    /// What the server did during the recording.
    pub stats: CaseStats,
}

/// Runs one case: `injections` against a fresh server of `variant` with a bystander.
pub fn run_case(variant: Variant, injections: &[Injection]) -> Result<CaseStats, String> {
    let mut w = World::new(variant, false);
    w.run(injections)?;
    Ok(w.stats)
}
