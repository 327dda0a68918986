//! The host: a table of peers driven by datagrams and time (sans-IO).
//!
//! Feed it with [`Host::handle_datagram`] and [`Host::handle_timeout`]; drain it with
//! [`Host::poll_transmit`] (datagrams to send) and [`Host::poll_event`] (events). Ask
//! [`Host::poll_timeout`] when it next needs [`Host::handle_timeout`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::compress::Compressor;
use crate::event::{DisconnectReason, DropReason, DropStats, Error, Event, PeerId};
pub use crate::incoming::MAXIMUM_HELD_PER_QUEUE;
use crate::incoming::*;
use crate::packet::{Packet, PacketFlags};
use crate::peer::*;
use crate::protocol::*;
use crate::time::*;

/// Default MTU (ENet 1.3.18).
pub const DEFAULT_MTU: u32 = 1392;
/// Default maximum packet size (32 MiB).
pub const DEFAULT_MAXIMUM_PACKET_SIZE: usize = 32 * 1024 * 1024;
/// Default maximum undelivered data per peer (32 MiB).
pub const DEFAULT_MAXIMUM_WAITING_DATA: usize = 32 * 1024 * 1024;
/// Default budget for buffered incoming data over all peers (256 MiB).
pub const DEFAULT_BUFFER_BUDGET: usize = 256 * 1024 * 1024;
/// How far above [`HostConfig::maximum_waiting_data`] reliable packets that fill a gap in
/// front of held packets may take a peer's queues: this constant, or the limit itself if
/// that is smaller (whatever the maximum packet size).
pub const GAP_ALLOWANCE: usize = 1024 * 1024;
/// Largest datagram processed: ENet's maximum MTU. Larger ones are dropped, as C does.
pub const MAXIMUM_DATAGRAM_SIZE: usize = MAXIMUM_MTU as usize;
/// Period of the host bandwidth throttle, in ms.
pub const BANDWIDTH_THROTTLE_INTERVAL: u32 = 1000;

/// Host configuration. Defaults equal ENet 1.3.18's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Number of peer slots, 1..=4095.
    pub peer_count: usize,
    /// Most channels a remote may open, 1..=255 (0 means 255).
    pub channel_limit: usize,
    /// Our download capacity in bytes/s (0 = unlimited).
    pub incoming_bandwidth: u32,
    /// Our upload capacity in bytes/s (0 = unlimited).
    pub outgoing_bandwidth: u32,
    /// MTU proposed and accepted, 576..=4096.
    pub mtu: u32,
    /// Largest packet sent or accepted.
    pub maximum_packet_size: usize,
    /// Most undelivered received data held per peer.
    pub maximum_waiting_data: usize,
    /// Most received data buffered over all peers (in the incoming queues and in
    /// undelivered receive events), in bytes of memory committed. When it runs short, the
    /// peers holding the most are refused first. See [`Host::buffered_bytes`].
    pub buffer_budget: usize,
    /// Most simultaneous connections from one IP address.
    pub duplicate_peers: usize,
    /// Append a CRC-32 to every datagram (both ends must agree).
    pub checksum: bool,
    /// Seed for connection ids. The default is fresh for every `HostConfig::default()`; set
    /// it for reproducible runs.
    pub seed: u64,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            peer_count: 32,
            channel_limit: MAXIMUM_CHANNEL_COUNT as usize,
            incoming_bandwidth: 0,
            outgoing_bandwidth: 0,
            mtu: DEFAULT_MTU,
            maximum_packet_size: DEFAULT_MAXIMUM_PACKET_SIZE,
            maximum_waiting_data: DEFAULT_MAXIMUM_WAITING_DATA,
            buffer_budget: DEFAULT_BUFFER_BUDGET,
            duplicate_peers: MAXIMUM_PEER_ID as usize,
            checksum: false,
            seed: fresh_seed(),
        }
    }
}

/// A seed that differs between hosts and runs (from the standard library's per-process
/// random hash keys, a counter and the clock), so connection ids of different hosts differ.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A snapshot of a peer's state and statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Remote address.
    pub address: SocketAddr,
    /// Connection state.
    pub state: PeerState,
    /// Channels in use.
    pub channel_count: usize,
    /// Negotiated MTU.
    pub mtu: u32,
    /// Reliable window in bytes.
    pub window_size: u32,
    /// Smoothed round-trip time, ms.
    pub round_trip_time: u32,
    /// Round-trip time variance, ms.
    pub round_trip_time_variance: u32,
    /// Lowest RTT of the previous throttle epoch, ms.
    pub last_round_trip_time: u32,
    /// Highest variance of the previous throttle epoch, ms.
    pub last_round_trip_time_variance: u32,
    /// Mean packet loss, scaled by [`PACKET_LOSS_SCALE`].
    pub packet_loss: u32,
    /// Packet loss variance, same scale.
    pub packet_loss_variance: u32,
    /// Start of the current loss epoch (service time, ms).
    pub packet_loss_epoch: u32,
    /// Current packet throttle (0..=32).
    pub packet_throttle: u32,
    /// Upper bound of the throttle.
    pub packet_throttle_limit: u32,
    /// Throttle drop counter.
    pub packet_throttle_counter: u32,
    /// Start of the current throttle epoch.
    pub packet_throttle_epoch: u32,
    /// Throttle acceleration.
    pub packet_throttle_acceleration: u32,
    /// Throttle deceleration.
    pub packet_throttle_deceleration: u32,
    /// Throttle interval, ms.
    pub packet_throttle_interval: u32,
    /// Ping interval, ms.
    pub ping_interval: u32,
    /// Timeout limit, minimum and maximum.
    pub timeouts: (u32, u32, u32),
    /// Remote host's incoming bandwidth.
    pub incoming_bandwidth: u32,
    /// Remote host's outgoing bandwidth.
    pub outgoing_bandwidth: u32,
    /// Reliable payload bytes in flight.
    pub reliable_data_in_transit: u32,
    /// Received data not yet handed to the application, bytes.
    pub total_waiting_data: usize,
    /// Cumulative traffic counters.
    pub counters: PeerCounters,
    /// Connection id (opaque bytes).
    pub connect_id: [u8; 4],
}

/// Host-wide traffic totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostTotals {
    /// Bytes handed to the network.
    pub sent_data: u64,
    /// Datagrams handed to the network.
    pub sent_packets: u64,
    /// Bytes received (raw).
    pub received_data: u64,
    /// Datagrams received.
    pub received_packets: u64,
}

/// Where the datagram being assembled stands.
struct Assembly {
    packet_size: u32,
    command_count: usize,
    sent_time: bool,
}

const HEADER_RESERVE: usize = 8;

/// Service time at the host's time origin. ENet's clock is wall-clock milliseconds, so zero
/// timestamps ("never") always lie far in the past; starting well above zero keeps that true.
const SERVICE_TIME_BASE: u32 = 1_000_000;

/// A sans-IO ENet host.
pub struct Host {
    config: HostConfig,
    peers: Vec<Peer>,
    epoch: Instant,
    now_ms: u64,
    service_time: u32,
    random_seed: u32,
    total_queued: u32,
    connected_peers: usize,
    bandwidth_limited_peers: usize,
    recalculate_bandwidth_limits: bool,
    bandwidth_throttle_epoch: u32,
    free_slots: BTreeSet<u16>,
    ip_counts: HashMap<IpAddr, usize>,
    active_connects: HashMap<(SocketAddr, [u8; 4]), u16>,
    send_queue: VecDeque<u16>,
    timers: BinaryHeap<Reverse<(u64, u16)>>,
    /// Events with the incarnation of their peer and the bytes they hold.
    events: VecDeque<(Event, u32, usize)>,
    /// Bytes of received data in memory: incoming queues plus undelivered receive events.
    buffered: usize,
    /// Half-open connections (VERIFY_CONNECT sent, not acknowledged), oldest first.
    half_open: BTreeMap<u64, u16>,
    half_open_counter: u64,
    pending_transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    compressor: Option<Box<dyn Compressor>>,
    recv_scratch: Vec<u8>,
    send_scratch: Vec<u8>,
    drops: DropStats,
    totals: HostTotals,
    refuse_connections: bool,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("config", &self.config)
            .field("connected_peers", &self.connected_peers)
            .field("service_time", &self.service_time)
            .finish_non_exhaustive()
    }
}

fn clamp_window(w: u32) -> u32 {
    w.clamp(MINIMUM_WINDOW_SIZE, MAXIMUM_WINDOW_SIZE)
}

impl Host {
    /// Creates a host. `now` becomes its time origin.
    pub fn new(config: HostConfig, now: Instant) -> Result<Host, Error> {
        let mut config = config;
        if config.peer_count == 0 || config.peer_count > MAXIMUM_PEER_ID as usize {
            return Err(Error::InvalidConfig("peer_count must be 1..=4095"));
        }
        if config.channel_limit == 0 || config.channel_limit > MAXIMUM_CHANNEL_COUNT as usize {
            config.channel_limit = MAXIMUM_CHANNEL_COUNT as usize;
        }
        if !(MINIMUM_MTU..=MAXIMUM_MTU).contains(&config.mtu) {
            return Err(Error::InvalidConfig("mtu must be 576..=4096"));
        }
        if config.checksum && config.mtu + 4 > MAXIMUM_MTU {
            return Err(Error::InvalidConfig(
                "mtu must leave room for the 4-byte checksum within 4096 bytes",
            ));
        }
        let placeholder = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        let peers = (0..config.peer_count)
            .map(|i| Peer::new(i as u16, config.mtu, placeholder))
            .collect();
        let seed = (config.seed ^ (config.seed >> 32)) as u32;
        Ok(Host {
            free_slots: (0..config.peer_count as u16).collect(),
            peers,
            epoch: now,
            now_ms: 0,
            service_time: SERVICE_TIME_BASE,
            random_seed: seed,
            total_queued: 0,
            connected_peers: 0,
            bandwidth_limited_peers: 0,
            recalculate_bandwidth_limits: false,
            bandwidth_throttle_epoch: 0,
            ip_counts: HashMap::new(),
            active_connects: HashMap::new(),
            send_queue: VecDeque::new(),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            buffered: 0,
            half_open: BTreeMap::new(),
            half_open_counter: 0,
            pending_transmits: VecDeque::new(),
            compressor: None,
            recv_scratch: vec![0; MAXIMUM_MTU as usize],
            send_scratch: vec![0; MAXIMUM_MTU as usize],
            drops: DropStats::default(),
            totals: HostTotals::default(),
            refuse_connections: false,
            config,
        })
    }

    // ------------------------------------------------------------------ accessors

    /// The configuration in force.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Number of peer slots.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Peers in the CONNECTED or DISCONNECT_LATER state.
    pub fn connected_peers(&self) -> usize {
        self.connected_peers
    }

    /// Drop counters by reason.
    pub fn drop_stats(&self) -> &DropStats {
        &self.drops
    }

    /// Host-wide traffic totals.
    pub fn totals(&self) -> HostTotals {
        self.totals
    }

    /// Bytes of received data the host holds in memory: packets and fragment groups waiting
    /// in incoming queues (payload buffers and a fixed cost per entry) plus packets in
    /// receive events not yet polled. Never exceeds [`HostConfig::buffer_budget`] through
    /// received data.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Half-open connections (CONNECT answered, VERIFY_CONNECT not yet acknowledged).
    pub fn half_open_peers(&self) -> usize {
        self.half_open.len()
    }

    /// The host's current service time (ms, wrapping).
    pub fn service_time(&self) -> u32 {
        self.service_time
    }

    /// State of a peer slot, or `None` for an id out of range.
    pub fn peer_state(&self, peer: PeerId) -> Option<PeerState> {
        self.peers.get(peer.index()).map(|p| p.state)
    }

    /// Number of channels of a peer (0 when it has none), or `None` for an id out of range.
    pub fn peer_channel_count(&self, peer: PeerId) -> Option<usize> {
        self.peers.get(peer.index()).map(|p| p.channel_count)
    }

    /// A snapshot of a peer's state and statistics.
    pub fn peer_info(&self, peer: PeerId) -> Option<PeerInfo> {
        let p = self.peers.get(peer.index())?;
        Some(PeerInfo {
            address: p.address,
            state: p.state,
            channel_count: p.channel_count,
            mtu: p.mtu,
            window_size: p.window_size,
            round_trip_time: p.round_trip_time,
            round_trip_time_variance: p.round_trip_time_variance,
            last_round_trip_time: p.last_round_trip_time,
            last_round_trip_time_variance: p.last_round_trip_time_variance,
            packet_loss: p.packet_loss,
            packet_loss_variance: p.packet_loss_variance,
            packet_loss_epoch: p.packet_loss_epoch,
            packet_throttle: p.packet_throttle,
            packet_throttle_limit: p.packet_throttle_limit,
            packet_throttle_counter: p.packet_throttle_counter,
            packet_throttle_epoch: p.packet_throttle_epoch,
            packet_throttle_acceleration: p.packet_throttle_acceleration,
            packet_throttle_deceleration: p.packet_throttle_deceleration,
            packet_throttle_interval: p.packet_throttle_interval,
            ping_interval: p.ping_interval,
            timeouts: (p.timeout_limit, p.timeout_minimum, p.timeout_maximum),
            incoming_bandwidth: p.incoming_bandwidth,
            outgoing_bandwidth: p.outgoing_bandwidth,
            reliable_data_in_transit: p.reliable_data_in_transit,
            total_waiting_data: p.total_waiting_data,
            counters: p.counters,
            connect_id: p.connect_id,
        })
    }

    /// Ids of all peers that are not disconnected.
    pub fn active_peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers
            .iter()
            .filter(|p| p.state != PeerState::Disconnected)
            .map(|p| PeerId(p.incoming_peer_id))
    }

    /// Installs or removes the datagram compressor (both ends must use the same one).
    pub fn set_compressor(&mut self, compressor: Option<Box<dyn Compressor>>) {
        self.compressor = compressor;
    }

    /// Whether a compressor is installed.
    pub fn has_compressor(&self) -> bool {
        self.compressor.is_some()
    }

    /// Turns the CRC-32 checksum on or off (both ends must agree).
    pub fn set_checksum(&mut self, enabled: bool) -> Result<(), Error> {
        if enabled && self.config.mtu + 4 > MAXIMUM_MTU {
            return Err(Error::InvalidConfig(
                "mtu must leave room for the 4-byte checksum within 4096 bytes",
            ));
        }
        self.config.checksum = enabled;
        Ok(())
    }

    /// Sets our bandwidth limits (bytes/s, 0 = unlimited); peers learn them within a second.
    pub fn bandwidth_limit(&mut self, incoming: u32, outgoing: u32) {
        self.config.incoming_bandwidth = incoming;
        self.config.outgoing_bandwidth = outgoing;
        self.recalculate_bandwidth_limits = true;
    }

    /// Limits the channels future remotes may open (0 or above 255 means 255).
    pub fn channel_limit(&mut self, limit: usize) {
        self.config.channel_limit = if limit == 0 || limit > MAXIMUM_CHANNEL_COUNT as usize {
            MAXIMUM_CHANNEL_COUNT as usize
        } else {
            limit
        };
    }

    /// Refuses (or accepts again) incoming connection requests; refused requests are
    /// dropped silently (ENet has no refusal message) and counted as
    /// [`DropReason::ConnectRefused`].
    pub fn refuse_new_connections(&mut self, refuse: bool) {
        self.refuse_connections = refuse;
    }

    /// Whether incoming connection requests are refused.
    pub fn is_refusing_new_connections(&self) -> bool {
        self.refuse_connections
    }

    /// Changes the MTU used for new connections.
    pub fn set_mtu(&mut self, mtu: u32) -> Result<(), Error> {
        if !(MINIMUM_MTU..=MAXIMUM_MTU).contains(&mtu)
            || (self.config.checksum && mtu + 4 > MAXIMUM_MTU)
        {
            return Err(Error::InvalidConfig("mtu must be 576..=4096"));
        }
        self.config.mtu = mtu;
        Ok(())
    }

    /// Changes the largest packet sent or accepted.
    pub fn set_maximum_packet_size(&mut self, size: usize) {
        self.config.maximum_packet_size = size;
    }

    /// Changes the largest amount of undelivered data held per peer.
    pub fn set_maximum_waiting_data(&mut self, size: usize) {
        self.config.maximum_waiting_data = size;
    }

    /// Changes the budget for buffered incoming data over all peers.
    pub fn set_buffer_budget(&mut self, size: usize) {
        self.config.buffer_budget = size;
    }

    /// Changes how many connections one IP address may hold.
    pub fn set_duplicate_peers(&mut self, n: usize) {
        self.config.duplicate_peers = n.clamp(1, MAXIMUM_PEER_ID as usize);
    }

    // ------------------------------------------------------------------ time

    fn update_time(&mut self, now: Instant) {
        let ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        if ms > self.now_ms {
            self.now_ms = ms;
        }
        self.service_time = (self.now_ms as u32).wrapping_add(SERVICE_TIME_BASE);
    }

    /// Converts a wrapping service-time deadline into the host's monotonic ms scale.
    fn deadline_ms(&self, t: u32) -> u64 {
        let delta = t.wrapping_sub(self.service_time) as i32;
        if delta <= 0 {
            self.now_ms
        } else {
            self.now_ms + delta as u64
        }
    }

    fn peer_deadline(&self, idx: usize) -> Option<u64> {
        let p = &self.peers[idx];
        match p.state {
            PeerState::Disconnected | PeerState::Zombie => return None,
            _ => {}
        }
        let mut d: Option<u64> = None;
        if !p.sent_reliable_commands.is_empty() {
            d = Some(self.deadline_ms(p.next_timeout));
        } else if p.state == PeerState::Connected {
            // Due exactly when the send pass would ping (the condition in `build_datagram`).
            // Adding the interval to `last_receive_time` instead would wrap for intervals
            // near `u32::MAX` and report "due now" for a ping the send pass never sends.
            let since = time_difference(self.service_time, p.last_receive_time);
            d = Some(self.now_ms + u64::from(p.ping_interval.saturating_sub(since)));
        }
        d
    }

    fn refresh_timer(&mut self, idx: usize) {
        self.refresh_timer_after(idx, 0);
    }

    /// Registers the peer's next deadline, but no earlier than `now + min_delay` ms.
    fn refresh_timer_after(&mut self, idx: usize, min_delay: u64) {
        if let Some(d) = self.peer_deadline(idx) {
            let d = d.max(self.now_ms + min_delay);
            let p = &mut self.peers[idx];
            if p.timer.is_none_or(|t| d < t) {
                p.timer = Some(d);
                self.timers.push(Reverse((d, idx as u16)));
            }
        }
    }

    fn schedule(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        if !p.in_send_queue {
            p.in_send_queue = true;
            self.send_queue.push_back(idx as u16);
        }
    }

    /// When [`Host::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((d, idx))) = self.timers.peek() {
            if self.peers[idx as usize].timer != Some(d) {
                self.timers.pop();
                continue;
            }
            // Deadlines only ever move earlier when registered; an acknowledgement or a
            // received datagram can move the real one later (or cancel it). Revalidate the
            // earliest entry so that the caller is not woken for a deadline that is gone.
            match self.peer_deadline(idx as usize) {
                Some(real) if real <= d => break,
                real => {
                    self.timers.pop();
                    self.peers[idx as usize].timer = real;
                    if let Some(real) = real {
                        self.timers.push(Reverse((real, idx)));
                    }
                }
            }
        }
        let mut next = self.timers.peek().map(|r| r.0 .0);
        if self.connected_peers > 0 {
            let t = self.deadline_ms(
                self.bandwidth_throttle_epoch
                    .wrapping_add(BANDWIDTH_THROTTLE_INTERVAL),
            );
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next.map(|ms| {
            let at = self.epoch.checked_add(Duration::from_millis(ms));
            // Only an `Instant` at the very end of the platform's range overflows here.
            at.or_else(|| self.epoch.checked_add(Duration::from_millis(self.now_ms)))
                .unwrap_or(self.epoch)
        })
    }

    /// Runs timers due at `now`: retransmissions, timeouts, pings and the bandwidth throttle.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.update_time(now);
        if self.connected_peers > 0
            && time_difference(self.service_time, self.bandwidth_throttle_epoch)
                >= BANDWIDTH_THROTTLE_INTERVAL
        {
            self.bandwidth_throttle();
        }
        while let Some(&Reverse((d, idx))) = self.timers.peek() {
            if d > self.now_ms {
                break;
            }
            self.timers.pop();
            let idx = idx as usize;
            if self.peers[idx].timer != Some(d) {
                continue;
            }
            self.peers[idx].timer = None;
            let p = &self.peers[idx];
            if matches!(p.state, PeerState::Disconnected | PeerState::Zombie) {
                continue;
            }
            // A deadline that has since moved later (an acknowledgement emptied the
            // retransmission queue, a datagram postponed the ping) is not due: re-register it
            // without a send pass.
            if self
                .peer_deadline(idx)
                .is_none_or(|real| real > self.now_ms)
            {
                self.refresh_timer(idx);
                continue;
            }
            if !p.sent_reliable_commands.is_empty()
                && time_greater_equal(self.service_time, p.next_timeout)
                && self.check_timeouts(idx)
            {
                continue;
            }
            self.schedule(idx);
            // Whatever was due has been acted on; never report the same instant again.
            self.refresh_timer_after(idx, 1);
        }
    }

    fn random_u32(&mut self) -> u32 {
        // mulberry32
        self.random_seed = self.random_seed.wrapping_add(0x6D2B_79F5);
        let mut n = self.random_seed;
        n = (n ^ (n >> 15)).wrapping_mul(n | 1);
        n ^= n.wrapping_add((n ^ (n >> 7)).wrapping_mul(n | 61));
        n ^ (n >> 14)
    }

    // ------------------------------------------------------------------ state bookkeeping

    fn change_state(&mut self, idx: usize, state: PeerState) {
        let p = &mut self.peers[idx];
        if let Some(at) = p.half_open.take() {
            self.half_open.remove(&at);
        }
        if matches!(state, PeerState::Connected | PeerState::DisconnectLater) {
            if !p.counted_connected {
                p.counted_connected = true;
                if p.incoming_bandwidth != 0 {
                    self.bandwidth_limited_peers += 1;
                }
                if self.connected_peers == 0 {
                    self.bandwidth_throttle_epoch = self.service_time;
                }
                self.connected_peers += 1;
            }
        } else if p.counted_connected {
            p.counted_connected = false;
            if p.incoming_bandwidth != 0 {
                self.bandwidth_limited_peers -= 1;
            }
            self.connected_peers -= 1;
        }
        self.peers[idx].state = state;
    }

    fn register(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        if !p.registered {
            p.registered = true;
            *self.ip_counts.entry(p.address.ip()).or_insert(0) += 1;
            self.active_connects
                .insert((p.address, p.connect_id), idx as u16);
        }
    }

    fn unregister(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        if p.registered {
            p.registered = false;
            if let Some(c) = self.ip_counts.get_mut(&p.address.ip()) {
                *c -= 1;
                if *c == 0 {
                    self.ip_counts.remove(&p.address.ip());
                }
            }
            self.active_connects.remove(&(p.address, p.connect_id));
        }
    }

    /// Silently resets a slot (`enet_peer_reset`).
    fn reset_peer(&mut self, idx: usize) {
        self.change_state(idx, PeerState::Disconnected);
        self.unregister(idx);
        self.release_held(idx);
        let mtu = self.config.mtu;
        let p = &mut self.peers[idx];
        let in_queue = p.in_send_queue;
        p.reset(mtu);
        p.in_send_queue = in_queue;
        self.free_slots.insert(idx as u16);
    }

    /// Takes what the peer's incoming queues hold out of the host's buffered bytes (before
    /// the queues are emptied).
    fn release_held(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        self.buffered = self.buffered.saturating_sub(p.held_committed);
        p.held_committed = 0;
    }

    fn reset_queues(&mut self, idx: usize) {
        self.release_held(idx);
        self.peers[idx].reset_queues();
    }

    fn notify_connect(&mut self, idx: usize) {
        self.recalculate_bandwidth_limits = true;
        self.change_state(idx, PeerState::Connected);
        let p = &self.peers[idx];
        let ev = Event::Connect {
            peer: PeerId(idx as u16),
            data: p.event_data,
        };
        self.events.push_back((ev, p.incarnation, 0));
    }

    /// Moves the peer to ZOMBIE and queues its disconnect event.
    fn zombify(&mut self, idx: usize, data: u32, reason: DisconnectReason) {
        self.change_state(idx, PeerState::Zombie);
        self.recalculate_bandwidth_limits = true;
        let p = &self.peers[idx];
        let ev = Event::Disconnect {
            peer: PeerId(idx as u16),
            data,
            reason,
        };
        self.events.push_back((ev, p.incarnation, 0));
    }

    fn notify_disconnect(&mut self, idx: usize, reason: DisconnectReason) {
        let state = self.peers[idx].state;
        if state >= PeerState::ConnectionPending {
            self.recalculate_bandwidth_limits = true;
        }
        if state != PeerState::Connecting && state < PeerState::ConnectionSucceeded {
            self.reset_peer(idx);
        } else {
            self.peers[idx].event_data = 0;
            self.zombify(idx, 0, reason);
        }
    }

    // ------------------------------------------------------------------ events

    /// The next event, if any.
    ///
    /// Polling a disconnect event frees the peer slot.
    pub fn poll_event(&mut self) -> Option<Event> {
        while let Some((ev, inc, held)) = self.events.pop_front() {
            self.buffered = self.buffered.saturating_sub(held);
            match &ev {
                Event::Receive { peer, packet, .. } => {
                    let p = &mut self.peers[peer.index()];
                    if p.incarnation != inc {
                        continue;
                    }
                    p.event_committed = p.event_committed.saturating_sub(held);
                    p.total_waiting_data = p.total_waiting_data.saturating_sub(packet.data.len());
                    p.waiting_cost = p
                        .waiting_cost
                        .saturating_sub(waiting_cost(packet.data.len()));
                    p.counters.packets_received += 1;
                }
                Event::Connect { peer, .. } => {
                    if self.peers[peer.index()].incarnation != inc {
                        continue;
                    }
                }
                Event::Disconnect { peer, .. } => {
                    let idx = peer.index();
                    if self.peers[idx].incarnation != inc {
                        continue;
                    }
                    if self.peers[idx].state == PeerState::Zombie {
                        self.reset_peer(idx);
                    }
                }
            }
            return Some(ev);
        }
        None
    }

    // ------------------------------------------------------------------ application API

    fn peer_index(&self, peer: PeerId) -> Result<usize, Error> {
        if peer.index() < self.peers.len() {
            Ok(peer.index())
        } else {
            Err(Error::InvalidPeer)
        }
    }

    /// Starts connecting to `address` with `channel_count` channels (clamped to 1..=255) and
    /// user `data`. A [`Event::Connect`] or [`Event::Disconnect`] follows.
    pub fn connect(
        &mut self,
        now: Instant,
        address: SocketAddr,
        channel_count: usize,
        data: u32,
    ) -> Result<PeerId, Error> {
        self.update_time(now);
        if !answerable(address) {
            return Err(Error::InvalidAddress);
        }
        let channel_count = channel_count.clamp(1, MAXIMUM_CHANNEL_COUNT as usize);
        let idx = *self.free_slots.iter().next().ok_or(Error::NoFreePeer)? as usize;
        self.free_slots.remove(&(idx as u16));
        let connect_id = self.random_u32().to_le_bytes();
        let mtu = self.config.mtu;
        let window_size = if self.config.outgoing_bandwidth == 0 {
            MAXIMUM_WINDOW_SIZE
        } else {
            clamp_window((self.config.outgoing_bandwidth / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE)
        };
        let p = &mut self.peers[idx];
        p.setup_channels(channel_count);
        p.state = PeerState::Connecting;
        p.address = address;
        p.connect_id = connect_id;
        p.mtu = mtu;
        p.window_size = window_size;
        let cmd = Command::Connect(Connect {
            outgoing_peer_id: idx as u16,
            incoming_session_id: p.incoming_session_id,
            outgoing_session_id: p.outgoing_session_id,
            mtu,
            window_size,
            channel_count: channel_count as u32,
            incoming_bandwidth: self.config.incoming_bandwidth,
            outgoing_bandwidth: self.config.outgoing_bandwidth,
            packet_throttle_interval: p.packet_throttle_interval,
            packet_throttle_acceleration: p.packet_throttle_acceleration,
            packet_throttle_deceleration: p.packet_throttle_deceleration,
            connect_id,
            data,
        });
        self.queue_control(
            idx,
            CommandKind::Connect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
            cmd,
        );
        Ok(PeerId(idx as u16))
    }

    /// Queues a packet to a connected peer on `channel_id`.
    ///
    /// Packets larger than the fragment size are fragmented: reliably unless the packet is
    /// marked [`PacketFlags::UNRELIABLE_FRAGMENT`] (ENet's rule).
    pub fn send(&mut self, peer: PeerId, channel_id: u8, packet: Packet) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        let checksum = self.config.checksum;
        let max = self.config.maximum_packet_size;
        let p = &self.peers[idx];
        if p.state != PeerState::Connected {
            return Err(Error::NotConnected);
        }
        let ch = channel_id as usize;
        if ch >= p.channel_count {
            return Err(Error::InvalidChannel);
        }
        let len = packet.data.len();
        if len > max {
            return Err(Error::PacketTooLarge);
        }
        let fragment_length =
            (p.mtu as usize) - 4 - CommandKind::SendFragment.size() - if checksum { 4 } else { 0 };
        let flags = packet.flags;
        self.peers[idx].counters.packets_sent += 1;
        if len > fragment_length {
            let count = len.div_ceil(fragment_length);
            if count > MAXIMUM_FRAGMENT_COUNT as usize {
                return Err(Error::PacketTooLarge);
            }
            let chan = &self.peers[idx].channels[ch];
            let unreliable = flags.0
                & (PacketFlags::RELIABLE.0 | PacketFlags::UNRELIABLE_FRAGMENT.0)
                == PacketFlags::UNRELIABLE_FRAGMENT.0
                && chan.outgoing_unreliable_sequence_number < 0xFFFF;
            let (command, start) = if unreliable {
                (
                    CommandKind::SendUnreliableFragment as u8,
                    chan.outgoing_unreliable_sequence_number.wrapping_add(1),
                )
            } else {
                (
                    CommandKind::SendFragment as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                    chan.outgoing_reliable_sequence_number.wrapping_add(1),
                )
            };
            for k in 0..count {
                let offset = k * fragment_length;
                let flen = fragment_length.min(len - offset);
                let cmd = OutgoingCommand {
                    header: CommandHeader {
                        command,
                        channel_id,
                        reliable_sequence_number: 0,
                    },
                    command: Command::SendFragment(Fragment {
                        start_sequence_number: start,
                        data_length: flen as u16,
                        fragment_count: count as u32,
                        fragment_number: k as u32,
                        total_length: len as u32,
                        fragment_offset: offset as u32,
                    }),
                    payload: packet.data.slice(offset..offset + flen),
                    has_packet: true,
                    fragment_offset: offset as u32,
                    unreliable_sequence_number: 0,
                    sent_time: 0,
                    round_trip_timeout: 0,
                    queue_time: 0,
                    send_attempts: 0,
                };
                self.setup_outgoing_command(idx, cmd);
            }
        } else {
            let chan = &self.peers[idx].channels[ch];
            let (command, body) = if flags.0
                & (PacketFlags::RELIABLE.0 | PacketFlags::UNSEQUENCED.0)
                == PacketFlags::UNSEQUENCED.0
            {
                (
                    CommandKind::SendUnsequenced as u8 | COMMAND_FLAG_UNSEQUENCED,
                    Command::SendUnsequenced {
                        unsequenced_group: 0,
                        data_length: len as u16,
                    },
                )
            } else if flags.contains(PacketFlags::RELIABLE)
                || chan.outgoing_unreliable_sequence_number == 0xFFFF
            {
                (
                    CommandKind::SendReliable as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                    Command::SendReliable {
                        data_length: len as u16,
                    },
                )
            } else {
                (
                    CommandKind::SendUnreliable as u8,
                    Command::SendUnreliable {
                        unreliable_sequence_number: 0,
                        data_length: len as u16,
                    },
                )
            };
            let cmd = OutgoingCommand {
                header: CommandHeader {
                    command,
                    channel_id,
                    reliable_sequence_number: 0,
                },
                command: body,
                payload: packet.data,
                has_packet: true,
                fragment_offset: 0,
                unreliable_sequence_number: 0,
                sent_time: 0,
                round_trip_timeout: 0,
                queue_time: 0,
                send_attempts: 0,
            };
            self.setup_outgoing_command(idx, cmd);
        }
        Ok(())
    }

    /// Queues a packet to every connected peer (the payload is shared, not copied).
    pub fn broadcast(&mut self, channel_id: u8, packet: Packet) {
        for idx in 0..self.peers.len() {
            if self.peers[idx].state == PeerState::Connected {
                let _ = self.send(PeerId(idx as u16), channel_id, packet.clone());
            }
        }
    }

    /// Gracefully disconnects a peer, sending `data`. A [`Event::Disconnect`] with reason
    /// [`DisconnectReason::Local`] follows once the remote acknowledges (or a timeout).
    ///
    /// A peer that is not connected yet is reset at once, without an event.
    pub fn disconnect(&mut self, peer: PeerId, data: u32) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        self.disconnect_index(idx, data);
        Ok(())
    }

    fn disconnect_index(&mut self, idx: usize, data: u32) {
        let state = self.peers[idx].state;
        if matches!(
            state,
            PeerState::Disconnecting
                | PeerState::Disconnected
                | PeerState::AcknowledgingDisconnect
                | PeerState::Zombie
        ) {
            return;
        }
        self.reset_queues(idx);
        let connected = matches!(state, PeerState::Connected | PeerState::DisconnectLater);
        let command = CommandKind::Disconnect as u8
            | if connected {
                COMMAND_FLAG_ACKNOWLEDGE
            } else {
                COMMAND_FLAG_UNSEQUENCED
            };
        self.queue_control(idx, command, Command::Disconnect { data });
        if connected {
            self.change_state(idx, PeerState::Disconnecting);
        } else {
            self.flush_peer_now(idx);
            self.reset_peer(idx);
        }
    }

    /// Disconnects a peer immediately: one unreliable DISCONNECT is sent and the slot is
    /// reset without an event.
    pub fn disconnect_now(&mut self, peer: PeerId, data: u32) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        let state = self.peers[idx].state;
        if state == PeerState::Disconnected {
            return Ok(());
        }
        if state != PeerState::Zombie && state != PeerState::Disconnecting {
            self.reset_queues(idx);
            self.queue_control(
                idx,
                CommandKind::Disconnect as u8 | COMMAND_FLAG_UNSEQUENCED,
                Command::Disconnect { data },
            );
            self.flush_peer_now(idx);
        }
        self.reset_peer(idx);
        Ok(())
    }

    /// Disconnects a peer once everything queued to it has been sent and acknowledged.
    pub fn disconnect_later(&mut self, peer: PeerId, data: u32) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        let p = &self.peers[idx];
        if matches!(p.state, PeerState::Connected | PeerState::DisconnectLater)
            && p.has_outgoing_commands()
        {
            self.change_state(idx, PeerState::DisconnectLater);
            self.peers[idx].event_data = data;
        } else {
            self.disconnect_index(idx, data);
        }
        Ok(())
    }

    /// Forcefully resets a peer slot: nothing is sent and no event is raised.
    pub fn reset(&mut self, peer: PeerId) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        if self.peers[idx].state != PeerState::Disconnected {
            self.reset_peer(idx);
        }
        Ok(())
    }

    /// Queues a PING to a connected peer.
    pub fn ping(&mut self, peer: PeerId) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        if self.peers[idx].state != PeerState::Connected {
            return Err(Error::NotConnected);
        }
        self.queue_control(
            idx,
            CommandKind::Ping as u8 | COMMAND_FLAG_ACKNOWLEDGE,
            Command::Ping,
        );
        Ok(())
    }

    /// Sets how often an idle peer is pinged (ms; 0 restores the default 500).
    pub fn set_ping_interval(&mut self, peer: PeerId, interval: u32) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        self.peers[idx].ping_interval = if interval == 0 {
            DEFAULT_PING_INTERVAL
        } else {
            interval
        };
        self.refresh_timer(idx);
        Ok(())
    }

    /// Sets the timeout parameters (0 restores each default: 32, 5000 ms, 30000 ms).
    pub fn set_timeout(
        &mut self,
        peer: PeerId,
        limit: u32,
        minimum: u32,
        maximum: u32,
    ) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        let p = &mut self.peers[idx];
        p.timeout_limit = if limit == 0 {
            DEFAULT_TIMEOUT_LIMIT
        } else {
            limit
        };
        p.timeout_minimum = if minimum == 0 {
            DEFAULT_TIMEOUT_MINIMUM
        } else {
            minimum
        };
        p.timeout_maximum = if maximum == 0 {
            DEFAULT_TIMEOUT_MAXIMUM
        } else {
            maximum
        };
        Ok(())
    }

    /// Configures the packet throttle locally and tells the peer (THROTTLE_CONFIGURE).
    pub fn throttle_configure(
        &mut self,
        peer: PeerId,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    ) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        let p = &mut self.peers[idx];
        p.packet_throttle_interval = interval;
        p.packet_throttle_acceleration = acceleration;
        p.packet_throttle_deceleration = deceleration;
        if matches!(p.state, PeerState::Connected | PeerState::DisconnectLater) {
            self.queue_control(
                idx,
                CommandKind::ThrottleConfigure as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                Command::ThrottleConfigure {
                    packet_throttle_interval: interval,
                    packet_throttle_acceleration: acceleration,
                    packet_throttle_deceleration: deceleration,
                },
            );
        }
        Ok(())
    }

    // ------------------------------------------------------------------ outgoing queueing

    fn queue_control(&mut self, idx: usize, command: u8, body: Command) {
        let cmd = OutgoingCommand {
            header: CommandHeader {
                command,
                channel_id: CONTROL_CHANNEL,
                reliable_sequence_number: 0,
            },
            command: body,
            payload: bytes::Bytes::new(),
            has_packet: false,
            fragment_offset: 0,
            unreliable_sequence_number: 0,
            sent_time: 0,
            round_trip_timeout: 0,
            queue_time: 0,
            send_attempts: 0,
        };
        self.setup_outgoing_command(idx, cmd);
    }

    /// Assigns sequence numbers and queues the command (`enet_peer_setup_outgoing_command`).
    fn setup_outgoing_command(&mut self, idx: usize, mut cmd: OutgoingCommand) {
        self.total_queued = self.total_queued.wrapping_add(1);
        let p = &mut self.peers[idx];
        let kind_size = CommandKind::from_number(cmd.header.command & COMMAND_MASK)
            .map_or(0, |k| k.size()) as u32;
        p.outgoing_data_total = p
            .outgoing_data_total
            .wrapping_add(kind_size + cmd.fragment_length());
        let ch = cmd.header.channel_id;
        if ch == CONTROL_CHANNEL {
            p.outgoing_reliable_sequence_number =
                p.outgoing_reliable_sequence_number.wrapping_add(1);
            cmd.header.reliable_sequence_number = p.outgoing_reliable_sequence_number;
            cmd.unreliable_sequence_number = 0;
        } else {
            let chan = &mut p.channels[ch as usize];
            if cmd.header.command & COMMAND_FLAG_ACKNOWLEDGE != 0 {
                chan.outgoing_reliable_sequence_number =
                    chan.outgoing_reliable_sequence_number.wrapping_add(1);
                chan.outgoing_unreliable_sequence_number = 0;
                cmd.header.reliable_sequence_number = chan.outgoing_reliable_sequence_number;
                cmd.unreliable_sequence_number = 0;
            } else if cmd.header.command & COMMAND_FLAG_UNSEQUENCED != 0 {
                p.outgoing_unsequenced_group = p.outgoing_unsequenced_group.wrapping_add(1);
                cmd.header.reliable_sequence_number = 0;
                cmd.unreliable_sequence_number = 0;
            } else {
                if cmd.fragment_offset == 0 {
                    chan.outgoing_unreliable_sequence_number =
                        chan.outgoing_unreliable_sequence_number.wrapping_add(1);
                }
                cmd.header.reliable_sequence_number = chan.outgoing_reliable_sequence_number;
                cmd.unreliable_sequence_number = chan.outgoing_unreliable_sequence_number;
            }
        }
        cmd.queue_time = self.total_queued;
        match &mut cmd.command {
            Command::SendUnreliable {
                unreliable_sequence_number,
                ..
            } => *unreliable_sequence_number = cmd.unreliable_sequence_number,
            Command::SendUnsequenced {
                unsequenced_group, ..
            } => *unsequenced_group = p.outgoing_unsequenced_group,
            _ => {}
        }
        if cmd.header.command & COMMAND_FLAG_ACKNOWLEDGE != 0 && cmd.has_packet {
            p.outgoing_send_reliable_commands.push_back(cmd);
        } else {
            p.outgoing_commands.push_back(cmd);
        }
        self.schedule(idx);
    }

    fn queue_acknowledgement(&mut self, idx: usize, header: &CommandHeader, sent_time: u16) {
        let p = &mut self.peers[idx];
        let ch = header.channel_id as usize;
        if ch < p.channel_count {
            let chan = &p.channels[ch];
            let seq = header.reliable_sequence_number;
            let mut w = seq / RELIABLE_WINDOW_SIZE;
            let cw = chan.incoming_reliable_sequence_number / RELIABLE_WINDOW_SIZE;
            if seq < chan.incoming_reliable_sequence_number {
                w += RELIABLE_WINDOWS;
            }
            if w >= cw + FREE_RELIABLE_WINDOWS - 1 && w <= cw + FREE_RELIABLE_WINDOWS {
                return;
            }
        }
        p.outgoing_data_total = p.outgoing_data_total.wrapping_add(8);
        p.acknowledgements.push_back(Acknowledgement {
            channel_id: header.channel_id,
            reliable_sequence_number: header.reliable_sequence_number,
            sent_time,
            command_number: header.number(),
        });
        self.schedule(idx);
    }

    // ------------------------------------------------------------------ sending

    /// Builds the next datagram to send into `buf` and returns its destination.
    ///
    /// Call repeatedly until it returns `None` after every input (datagram, timeout or API
    /// call). Peers take turns, one datagram each.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        self.update_time(now);
        if let Some((addr, data)) = self.pending_transmits.pop_front() {
            buf.clear();
            buf.extend_from_slice(&data);
            return Some(addr);
        }
        while let Some(idx) = self.send_queue.pop_front() {
            let idx = idx as usize;
            self.peers[idx].in_send_queue = false;
            if matches!(
                self.peers[idx].state,
                PeerState::Disconnected | PeerState::Zombie
            ) {
                continue;
            }
            let built = self.build_datagram(idx, buf, true);
            if self.peers[idx].continue_sending {
                self.schedule(idx);
            }
            self.refresh_timer(idx);
            if built {
                return Some(self.peers[idx].address);
            }
        }
        None
    }

    /// Sends whatever is queued for one peer right now into the pending list (used before
    /// a reset, like `enet_host_flush`).
    fn flush_peer_now(&mut self, idx: usize) {
        let mut buf = Vec::new();
        loop {
            self.peers[idx].continue_sending = false;
            if !self.build_datagram(idx, &mut buf, false) {
                break;
            }
            let addr = self.peers[idx].address;
            self.pending_transmits
                .push_back((addr, std::mem::take(&mut buf)));
            if !self.peers[idx].continue_sending {
                break;
            }
        }
    }

    fn build_datagram(&mut self, idx: usize, buf: &mut Vec<u8>, check_timeouts: bool) -> bool {
        buf.clear();
        buf.resize(HEADER_RESERVE, 0);
        let mut asm = Assembly {
            packet_size: 4,
            command_count: 0,
            sent_time: false,
        };
        self.peers[idx].continue_sending = false;
        self.pack_acknowledgements(idx, buf, &mut asm);
        {
            let p = &self.peers[idx];
            if check_timeouts
                && !p.sent_reliable_commands.is_empty()
                && time_greater_equal(self.service_time, p.next_timeout)
                && self.check_timeouts(idx)
            {
                buf.clear();
                return false;
            }
        }
        let p = &self.peers[idx];
        let can_ping =
            if p.outgoing_commands.is_empty() && p.outgoing_send_reliable_commands.is_empty() {
                true
            } else {
                self.pack_commands(idx, buf, &mut asm)
            };
        let p = &self.peers[idx];
        if can_ping
            && p.state == PeerState::Connected
            && p.sent_reliable_commands.is_empty()
            && time_difference(self.service_time, p.last_receive_time) >= p.ping_interval
            && p.mtu - asm.packet_size >= CommandKind::Ping.size() as u32
        {
            self.queue_control(
                idx,
                CommandKind::Ping as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                Command::Ping,
            );
            self.pack_commands(idx, buf, &mut asm);
        }
        if asm.command_count == 0 {
            buf.clear();
            return false;
        }
        let st = self.service_time;
        let p = &mut self.peers[idx];
        if p.packet_loss_epoch == 0 {
            p.packet_loss_epoch = st;
        } else if time_difference(st, p.packet_loss_epoch) >= PACKET_LOSS_INTERVAL
            && p.packets_sent > 0
        {
            let loss =
                ((p.packets_lost as u64 * PACKET_LOSS_SCALE as u64) / p.packets_sent as u64) as u32;
            p.packet_loss_variance =
                (p.packet_loss_variance * 3 + loss.abs_diff(p.packet_loss)) / 4;
            p.packet_loss = (p.packet_loss * 7 + loss) / 8;
            p.packet_loss_epoch = st;
            p.packets_sent = 0;
            p.packets_lost = 0;
        }
        self.finish_datagram(idx, buf, asm.sent_time);
        let len = buf.len() as u64;
        let p = &mut self.peers[idx];
        p.last_send_time = st;
        p.counters.datagrams_sent += 1;
        p.counters.bytes_sent += len;
        self.totals.sent_data += len;
        self.totals.sent_packets += 1;
        true
    }

    /// Writes header, compression and checksum around the commands in `buf[8..]`.
    fn finish_datagram(&mut self, idx: usize, buf: &mut Vec<u8>, sent_time: bool) {
        let body_len = buf.len() - HEADER_RESERVE;
        let mut compressed_len = None;
        if let Some(c) = self.compressor.as_mut() {
            let out = &mut self.send_scratch[..body_len];
            if let Some(n) = c.compress(&buf[HEADER_RESERVE..], out) {
                if n > 0 && n < body_len {
                    compressed_len = Some(n);
                }
            }
        }
        let p = &self.peers[idx];
        let header = Header {
            peer_id: p.outgoing_peer_id,
            session_id: if p.outgoing_peer_id < MAXIMUM_PEER_ID {
                p.outgoing_session_id & 3
            } else {
                0
            },
            compressed: compressed_len.is_some(),
            sent_time: sent_time.then_some(self.service_time as u16),
        };
        let checksum = self.config.checksum;
        let hsize = header.size() + if checksum { 4 } else { 0 };
        let start = HEADER_RESERVE - hsize;
        let hlen = header.write(&mut buf[start..]);
        if checksum {
            let seed = if p.outgoing_peer_id < MAXIMUM_PEER_ID {
                p.connect_id
            } else {
                [0; 4]
            };
            let at = start + hlen;
            buf[at..at + 4].copy_from_slice(&seed);
            let crc = crc32fast::hash(&buf[start..]);
            buf[at..at + 4].copy_from_slice(&crc.to_be_bytes());
        }
        if let Some(n) = compressed_len {
            buf.truncate(HEADER_RESERVE);
            buf.extend_from_slice(&self.send_scratch[..n]);
        }
        buf.copy_within(start.., 0);
        let len = buf.len() - start;
        buf.truncate(len);
    }

    fn pack_acknowledgements(&mut self, idx: usize, buf: &mut Vec<u8>, asm: &mut Assembly) {
        loop {
            let p = &mut self.peers[idx];
            let Some(ack) = p.acknowledgements.front().copied() else {
                break;
            };
            if asm.command_count >= MAXIMUM_PACKET_COMMANDS
                || p.mtu.saturating_sub(asm.packet_size) < CommandKind::Acknowledge.size() as u32
            {
                p.continue_sending = true;
                break;
            }
            p.acknowledgements.pop_front();
            let header = CommandHeader {
                command: CommandKind::Acknowledge as u8,
                channel_id: ack.channel_id,
                reliable_sequence_number: ack.reliable_sequence_number,
            };
            let body = Command::Acknowledge {
                received_reliable_sequence_number: ack.reliable_sequence_number,
                received_sent_time: ack.sent_time,
            };
            let at = buf.len();
            buf.resize(at + CommandKind::Acknowledge.size(), 0);
            body.write(&header, &mut buf[at..]);
            asm.packet_size += CommandKind::Acknowledge.size() as u32;
            asm.command_count += 1;
            if ack.command_number == CommandKind::Disconnect as u8 {
                let data = self.peers[idx].event_data;
                self.zombify(idx, data, DisconnectReason::Remote);
            }
        }
    }

    /// Packs queued commands (`enet_protocol_check_outgoing_commands`); returns `can_ping`.
    fn pack_commands(&mut self, idx: usize, buf: &mut Vec<u8>, asm: &mut Assembly) -> bool {
        let st = self.service_time;
        let p = &mut self.peers[idx];
        let mut reliable_blocked = false;
        let mut can_ping = true;
        loop {
            let from_reliable = match (
                p.outgoing_commands.front(),
                p.outgoing_send_reliable_commands.front(),
            ) {
                (Some(o), Some(r)) => !reliable_blocked && time_less(r.queue_time, o.queue_time),
                (Some(_), None) => false,
                (None, Some(_)) if !reliable_blocked => true,
                _ => break,
            };
            let cmd = if from_reliable {
                &p.outgoing_send_reliable_commands[0]
            } else {
                &p.outgoing_commands[0]
            };
            let is_reliable = cmd.header.command & COMMAND_FLAG_ACKNOWLEDGE != 0;
            let ch = cmd.header.channel_id as usize;
            let has_channel = ch < p.channel_count;
            let seq = cmd.header.reliable_sequence_number;
            let window = seq / RELIABLE_WINDOW_SIZE;
            if is_reliable {
                if has_channel && cmd.send_attempts < 1 && seq % RELIABLE_WINDOW_SIZE == 0 {
                    let chan = &p.channels[ch];
                    let prev = ((window + RELIABLE_WINDOWS - 1) % RELIABLE_WINDOWS) as usize;
                    let mask = ((0x3FFu32 << window) | (0x3FFu32 >> (16 - window as u32))) & 0xFFFF;
                    if chan.reliable_windows[prev] >= RELIABLE_WINDOW_SIZE
                        || (chan.used_reliable_windows as u32) & mask != 0
                    {
                        reliable_blocked = true;
                        continue;
                    }
                }
                if cmd.has_packet {
                    let window_size = (p.packet_throttle * p.window_size) / PACKET_THROTTLE_SCALE;
                    if p.reliable_data_in_transit + cmd.fragment_length() > window_size.max(p.mtu) {
                        reliable_blocked = true;
                        continue;
                    }
                }
                can_ping = false;
            }
            let size = CommandKind::from_number(cmd.header.command & COMMAND_MASK)
                .map_or(4, |k| k.size()) as u32;
            let room = p.mtu.saturating_sub(asm.packet_size);
            if asm.command_count >= MAXIMUM_PACKET_COMMANDS
                || room < size
                || (cmd.has_packet && (room as u16) < (size + cmd.fragment_length()) as u16)
            {
                p.continue_sending = true;
                break;
            }
            let mut cmd = if from_reliable {
                p.outgoing_send_reliable_commands.pop_front()
            } else {
                p.outgoing_commands.pop_front()
            }
            .expect("front checked above");
            if is_reliable {
                if has_channel && cmd.send_attempts < 1 {
                    let chan = &mut p.channels[ch];
                    chan.used_reliable_windows |= 1 << window;
                    chan.reliable_windows[window as usize] += 1;
                }
                cmd.send_attempts += 1;
                if cmd.send_attempts > 1 {
                    p.counters.retransmissions += 1;
                }
                if cmd.round_trip_timeout == 0 {
                    cmd.round_trip_timeout = p.round_trip_time + 4 * p.round_trip_time_variance;
                }
                if p.sent_reliable_commands.is_empty() {
                    p.next_timeout = st.wrapping_add(cmd.round_trip_timeout);
                }
                cmd.sent_time = st;
                asm.sent_time = true;
                p.reliable_data_in_transit += cmd.fragment_length();
            } else if cmd.has_packet && cmd.fragment_offset == 0 {
                p.packet_throttle_counter =
                    (p.packet_throttle_counter + PACKET_THROTTLE_COUNTER) % PACKET_THROTTLE_SCALE;
                if p.packet_throttle_counter > p.packet_throttle {
                    let key = (
                        cmd.header.reliable_sequence_number,
                        cmd.unreliable_sequence_number,
                    );
                    while let Some(next) = p.outgoing_commands.front() {
                        if (
                            next.header.reliable_sequence_number,
                            next.unreliable_sequence_number,
                        ) != key
                        {
                            break;
                        }
                        p.outgoing_commands.pop_front();
                    }
                    continue;
                }
            }
            let at = buf.len();
            buf.resize(at + size as usize, 0);
            cmd.command.write(&cmd.header, &mut buf[at..]);
            buf.extend_from_slice(&cmd.payload);
            asm.packet_size += size + cmd.fragment_length();
            asm.command_count += 1;
            p.packets_sent += 1;
            if is_reliable {
                p.sent_reliable_commands.push_back(cmd);
            }
        }
        if p.state == PeerState::DisconnectLater && !p.has_outgoing_commands() {
            let data = p.event_data;
            self.disconnect_index(idx, data);
        }
        can_ping
    }

    /// Retransmission and timeout check (`enet_protocol_check_timeouts`). Returns true if
    /// the peer timed out.
    fn check_timeouts(&mut self, idx: usize) -> bool {
        let st = self.service_time;
        let mut i = 0;
        let mut insert_outgoing = 0;
        let mut insert_reliable = 0;
        loop {
            let p = &mut self.peers[idx];
            if i >= p.sent_reliable_commands.len() {
                break;
            }
            let c = &p.sent_reliable_commands[i];
            if time_difference(st, c.sent_time) < c.round_trip_timeout {
                i += 1;
                continue;
            }
            if p.earliest_timeout == 0 || time_less(c.sent_time, p.earliest_timeout) {
                p.earliest_timeout = c.sent_time;
            }
            let waited = time_difference(st, p.earliest_timeout);
            let attempts_exceeded = {
                let shift = u32::from(c.send_attempts.saturating_sub(1));
                shift >= 31 || (1u32 << shift) >= p.timeout_limit
            };
            if p.earliest_timeout != 0
                && (waited >= p.timeout_maximum
                    || (attempts_exceeded && waited >= p.timeout_minimum))
            {
                self.notify_disconnect(idx, DisconnectReason::Timeout);
                return true;
            }
            let mut c = p.sent_reliable_commands.remove(i).expect("index checked");
            p.packets_lost += 1;
            // ENet doubles the RTO without bound, so on a lossy link the last unacknowledged
            // packet is probed ever more rarely and a live peer can time out. We cap the
            // backoff so that at least 16 probes fit in the timeout minimum (never below
            // twice the current RTO estimate). The wire format is unaffected.
            let cap = (p.timeout_minimum / 16)
                .max(2 * (p.round_trip_time + 4 * p.round_trip_time_variance));
            c.round_trip_timeout = c
                .round_trip_timeout
                .saturating_mul(2)
                .min(cap)
                .max(c.round_trip_timeout);
            if c.has_packet {
                p.reliable_data_in_transit -= c.fragment_length();
                p.outgoing_send_reliable_commands.insert(insert_reliable, c);
                insert_reliable += 1;
            } else {
                p.outgoing_commands.insert(insert_outgoing, c);
                insert_outgoing += 1;
            }
            if i == 0 {
                if let Some(front) = p.sent_reliable_commands.front() {
                    p.next_timeout = front.sent_time.wrapping_add(front.round_trip_timeout);
                }
            }
        }
        if insert_outgoing + insert_reliable > 0 {
            self.schedule(idx);
        }
        false
    }

    // ------------------------------------------------------------------ bandwidth throttle

    fn bandwidth_throttle(&mut self) {
        let now = self.service_time;
        let elapsed = now.wrapping_sub(self.bandwidth_throttle_epoch);
        if elapsed < BANDWIDTH_THROTTLE_INTERVAL {
            return;
        }
        self.bandwidth_throttle_epoch = now;
        if self.connected_peers == 0 {
            return;
        }
        let mut data_total: u32 = u32::MAX;
        let mut bandwidth: u32 = u32::MAX;
        if self.config.outgoing_bandwidth != 0 {
            data_total = 0;
            bandwidth = ((self.config.outgoing_bandwidth as u64 * elapsed as u64) / 1000) as u32;
            for p in &self.peers {
                if p.is_connected_state() {
                    data_total = data_total.wrapping_add(p.outgoing_data_total);
                }
            }
        }
        let mut peers_remaining = self.connected_peers as u32;
        let mut needs_adjustment = self.bandwidth_limited_peers > 0;
        let mut throttle;
        while peers_remaining > 0 && needs_adjustment {
            needs_adjustment = false;
            throttle = if data_total <= bandwidth {
                PACKET_THROTTLE_SCALE
            } else {
                ((bandwidth as u64 * PACKET_THROTTLE_SCALE as u64) / data_total as u64) as u32
            };
            for p in self.peers.iter_mut() {
                if !p.is_connected_state()
                    || p.incoming_bandwidth == 0
                    || p.outgoing_bandwidth_throttle_epoch == now
                {
                    continue;
                }
                let peer_bandwidth = ((p.incoming_bandwidth as u64 * elapsed as u64) / 1000) as u32;
                if (throttle as u64 * p.outgoing_data_total as u64) / PACKET_THROTTLE_SCALE as u64
                    <= peer_bandwidth as u64
                {
                    continue;
                }
                let limit = if p.outgoing_data_total == 0 {
                    PACKET_THROTTLE_SCALE
                } else {
                    ((peer_bandwidth as u64 * PACKET_THROTTLE_SCALE as u64)
                        / p.outgoing_data_total as u64) as u32
                };
                p.packet_throttle_limit = limit.max(1);
                if p.packet_throttle > p.packet_throttle_limit {
                    p.packet_throttle = p.packet_throttle_limit;
                }
                p.outgoing_bandwidth_throttle_epoch = now;
                p.incoming_data_total = 0;
                p.outgoing_data_total = 0;
                needs_adjustment = true;
                peers_remaining -= 1;
                bandwidth = bandwidth.wrapping_sub(peer_bandwidth);
                data_total = data_total.wrapping_sub(peer_bandwidth);
            }
        }
        if peers_remaining > 0 {
            throttle = if data_total <= bandwidth {
                PACKET_THROTTLE_SCALE
            } else {
                ((bandwidth as u64 * PACKET_THROTTLE_SCALE as u64) / data_total.max(1) as u64)
                    as u32
            };
            for p in self.peers.iter_mut() {
                if !p.is_connected_state() || p.outgoing_bandwidth_throttle_epoch == now {
                    continue;
                }
                p.packet_throttle_limit = throttle;
                if p.packet_throttle > throttle {
                    p.packet_throttle = throttle;
                }
                p.incoming_data_total = 0;
                p.outgoing_data_total = 0;
            }
        }
        if self.recalculate_bandwidth_limits {
            self.recalculate_bandwidth_limits = false;
            let mut peers_remaining = self.connected_peers as u32;
            let mut bandwidth = self.config.incoming_bandwidth;
            let mut needs_adjustment = true;
            let mut limit = 0u32;
            if bandwidth != 0 {
                while peers_remaining > 0 && needs_adjustment {
                    needs_adjustment = false;
                    limit = bandwidth / peers_remaining;
                    for p in self.peers.iter_mut() {
                        if !p.is_connected_state() || p.incoming_bandwidth_throttle_epoch == now {
                            continue;
                        }
                        if p.outgoing_bandwidth > 0 && p.outgoing_bandwidth >= limit {
                            continue;
                        }
                        p.incoming_bandwidth_throttle_epoch = now;
                        needs_adjustment = true;
                        peers_remaining -= 1;
                        bandwidth = bandwidth.wrapping_sub(p.outgoing_bandwidth);
                    }
                }
            }
            let outgoing = self.config.outgoing_bandwidth;
            for idx in 0..self.peers.len() {
                let p = &self.peers[idx];
                if !p.is_connected_state() {
                    continue;
                }
                let incoming = if p.incoming_bandwidth_throttle_epoch == now {
                    p.outgoing_bandwidth
                } else {
                    limit
                };
                self.queue_control(
                    idx,
                    CommandKind::BandwidthLimit as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                    Command::BandwidthLimit {
                        incoming_bandwidth: incoming,
                        outgoing_bandwidth: outgoing,
                    },
                );
            }
        }
    }

    // ------------------------------------------------------------------ receiving

    /// Processes one received datagram from `from`.
    ///
    /// Malformed or unexpected input is dropped and counted in [`Host::drop_stats`]; it
    /// never panics and never affects other peers.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.update_time(now);
        self.totals.received_data += datagram.len() as u64;
        self.totals.received_packets += 1;
        if datagram.len() > MAXIMUM_DATAGRAM_SIZE {
            self.drops.add(DropReason::OversizeDatagram);
            return;
        }
        if !answerable(from) {
            self.drops.add(DropReason::UnanswerableSource);
            return;
        }
        if let Err(reason) = self.receive(from, datagram) {
            self.drops.add(reason);
        }
    }

    fn receive(&mut self, from: SocketAddr, datagram: &[u8]) -> Result<(), DropReason> {
        let (header, base) = Header::read(datagram).map_err(|_| DropReason::Truncated)?;
        let checksum = self.config.checksum;
        let hsize = base + if checksum { 4 } else { 0 };
        if datagram.len() < hsize {
            return Err(DropReason::Truncated);
        }
        let peer = if header.peer_id == MAXIMUM_PEER_ID {
            None
        } else {
            let idx = header.peer_id as usize;
            let p = self.peers.get(idx).ok_or(DropReason::UnknownPeer)?;
            if matches!(p.state, PeerState::Disconnected | PeerState::Zombie) {
                return Err(DropReason::InactivePeer);
            }
            if p.address != from {
                return Err(DropReason::AddressMismatch);
            }
            if p.outgoing_peer_id < MAXIMUM_PEER_ID && header.session_id != p.incoming_session_id {
                return Err(DropReason::SessionMismatch);
            }
            Some(idx)
        };
        let mut scratch = std::mem::take(&mut self.recv_scratch);
        let result = (|| {
            let body: &[u8] = if header.compressed {
                let c = self.compressor.as_mut().ok_or(DropReason::NoDecompressor)?;
                let limit = MAXIMUM_MTU as usize - hsize;
                let n = c
                    .decompress(&datagram[hsize..], &mut scratch[..limit])
                    .filter(|&n| n > 0 && n <= limit)
                    .ok_or(DropReason::DecompressFailed)?;
                &scratch[..n]
            } else {
                &datagram[hsize..]
            };
            if checksum {
                let stored = &datagram[base..base + 4];
                let seed = match peer {
                    Some(idx) => self.peers[idx].connect_id,
                    None => [0; 4],
                };
                let mut h = crc32fast::Hasher::new();
                h.update(&datagram[..base]);
                h.update(&seed);
                h.update(body);
                if h.finalize().to_be_bytes() != stored {
                    return Err(DropReason::ChecksumMismatch);
                }
            }
            if let Some(idx) = peer {
                let len = (hsize + body.len()) as u32;
                let p = &mut self.peers[idx];
                p.incoming_data_total = p.incoming_data_total.wrapping_add(len);
                p.counters.datagrams_received += 1;
                p.counters.bytes_received += len as u64;
            }
            self.process_commands(peer, from, header.sent_time, body)
        })();
        self.recv_scratch = scratch;
        result
    }

    fn process_commands(
        &mut self,
        mut peer: Option<usize>,
        from: SocketAddr,
        sent_time: Option<u16>,
        body: &[u8],
    ) -> Result<(), DropReason> {
        let mut pos = 0;
        let result = loop {
            if pos >= body.len() {
                break Ok(());
            }
            if pos + 4 > body.len() {
                // 1 to 3 trailing bytes: a command header cut short. C stops silently.
                break Err(DropReason::TruncatedCommand);
            }
            let (header, cmd, size) = match Command::read(&body[pos..]) {
                Ok(v) => v,
                Err(DecodeError::UnknownCommand(_)) => break Err(DropReason::UnknownCommand),
                Err(DecodeError::Truncated) => break Err(DropReason::TruncatedCommand),
            };
            pos += size;
            let kind = cmd.kind();
            if peer.is_none() && kind != CommandKind::Connect {
                break Err(DropReason::NoPeer);
            }
            let data_length = cmd.data_length();
            let payload = match body.get(pos..pos + data_length) {
                Some(p) => p,
                None => {
                    if data_length > self.config.maximum_packet_size {
                        break Err(DropReason::PacketTooLarge);
                    }
                    break Err(DropReason::PayloadOverrun);
                }
            };
            pos += data_length;
            let r = match (kind, peer) {
                (CommandKind::Connect, None) => match cmd {
                    Command::Connect(c) => self.handle_connect(from, &c).map(Some),
                    _ => unreachable!("kind matches"),
                },
                (CommandKind::Connect, Some(_)) => Err(DropReason::UnexpectedCommand),
                (_, Some(idx)) => self
                    .handle_peer_command(idx, &header, &cmd, payload, sent_time)
                    .map(|_| Some(idx)),
                (_, None) => Err(DropReason::NoPeer),
            };
            match r {
                Ok(p) => peer = p,
                Err(e) => break Err(e),
            }
            if let Some(idx) = peer {
                if header.is_reliable() {
                    let Some(st) = sent_time else {
                        break Err(DropReason::MissingSentTime);
                    };
                    match self.peers[idx].state {
                        PeerState::AcknowledgingConnect
                        | PeerState::Disconnecting
                        | PeerState::Disconnected
                        | PeerState::Zombie => {}
                        PeerState::AcknowledgingDisconnect => {
                            if kind == CommandKind::Disconnect {
                                self.queue_acknowledgement(idx, &header, st);
                            }
                        }
                        _ => self.queue_acknowledgement(idx, &header, st),
                    }
                }
            }
        };
        if let Some(idx) = peer {
            self.refresh_timer(idx);
        }
        result
    }

    fn handle_connect(&mut self, from: SocketAddr, c: &Connect) -> Result<usize, DropReason> {
        if self.refuse_connections {
            return Err(DropReason::ConnectRefused);
        }
        if !(MINIMUM_CHANNEL_COUNT..=MAXIMUM_CHANNEL_COUNT).contains(&c.channel_count) {
            return Err(DropReason::ConnectRefused);
        }
        if self.active_connects.contains_key(&(from, c.connect_id)) {
            // A retransmitted CONNECT of a connection we already know.
            return Err(DropReason::ConnectRefused);
        }
        let dups = self.ip_counts.get(&from.ip()).copied().unwrap_or(0);
        if dups >= self.config.duplicate_peers {
            return Err(DropReason::ConnectRefused);
        }
        if self.free_slots.is_empty() {
            // Full: make room by evicting the oldest half-open connection, if any. A flood of
            // spoofed CONNECTs can then keep slots busy only for as long as it takes the next
            // CONNECT to arrive, and a real client that retries gets in.
            let (_, oldest) = self
                .half_open
                .pop_first()
                .ok_or(DropReason::ConnectRefused)?;
            let oldest = oldest as usize;
            self.peers[oldest].half_open = None;
            self.reset_peer(oldest);
            self.drops.add(DropReason::HalfOpenEvicted);
        }
        let idx = *self
            .free_slots
            .iter()
            .next()
            .ok_or(DropReason::ConnectRefused)? as usize;
        self.free_slots.remove(&(idx as u16));
        self.half_open_counter += 1;
        self.half_open.insert(self.half_open_counter, idx as u16);
        self.peers[idx].half_open = Some(self.half_open_counter);
        let channel_count = (c.channel_count as usize).min(self.config.channel_limit);
        let host_mtu = self.config.mtu;
        let host_in = self.config.incoming_bandwidth;
        let host_out = self.config.outgoing_bandwidth;
        let p = &mut self.peers[idx];
        p.setup_channels(channel_count);
        p.state = PeerState::AcknowledgingConnect;
        p.connect_id = c.connect_id;
        p.address = from;
        p.mtu = host_mtu;
        p.outgoing_peer_id = c.outgoing_peer_id;
        p.incoming_bandwidth = c.incoming_bandwidth;
        p.outgoing_bandwidth = c.outgoing_bandwidth;
        p.packet_throttle_interval = c.packet_throttle_interval;
        p.packet_throttle_acceleration = c.packet_throttle_acceleration;
        p.packet_throttle_deceleration = c.packet_throttle_deceleration;
        p.event_data = c.data;

        p.outgoing_session_id = next_session_id(c.incoming_session_id, p.outgoing_session_id);
        p.incoming_session_id = next_session_id(c.outgoing_session_id, p.incoming_session_id);

        p.mtu = host_mtu.min(c.mtu.clamp(MINIMUM_MTU, MAXIMUM_MTU));
        p.window_size = if host_out == 0 && p.incoming_bandwidth == 0 {
            MAXIMUM_WINDOW_SIZE
        } else if host_out == 0 || p.incoming_bandwidth == 0 {
            (host_out.max(p.incoming_bandwidth) / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
        } else {
            (host_out.min(p.incoming_bandwidth) / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
        };
        p.window_size = clamp_window(p.window_size);
        let mut window = if host_in == 0 {
            MAXIMUM_WINDOW_SIZE
        } else {
            (host_in / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
        };
        window = clamp_window(window.min(c.window_size));
        let verify = Command::VerifyConnect(Connect {
            outgoing_peer_id: idx as u16,
            incoming_session_id: p.outgoing_session_id,
            outgoing_session_id: p.incoming_session_id,
            mtu: p.mtu,
            window_size: window,
            channel_count: channel_count as u32,
            incoming_bandwidth: host_in,
            outgoing_bandwidth: host_out,
            packet_throttle_interval: p.packet_throttle_interval,
            packet_throttle_acceleration: p.packet_throttle_acceleration,
            packet_throttle_deceleration: p.packet_throttle_deceleration,
            connect_id: p.connect_id,
            data: 0,
        });
        self.register(idx);
        self.queue_control(
            idx,
            CommandKind::VerifyConnect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
            verify,
        );
        Ok(idx)
    }

    fn handle_peer_command(
        &mut self,
        idx: usize,
        header: &CommandHeader,
        cmd: &Command,
        payload: &[u8],
        sent_time: Option<u16>,
    ) -> Result<(), DropReason> {
        let state = self.peers[idx].state;
        let data_state = matches!(state, PeerState::Connected | PeerState::DisconnectLater);
        match *cmd {
            Command::Acknowledge {
                received_reliable_sequence_number,
                received_sent_time,
            } => self.handle_acknowledge(
                idx,
                header.channel_id,
                received_reliable_sequence_number,
                received_sent_time,
            ),
            Command::Connect(_) => Err(DropReason::UnexpectedCommand),
            Command::VerifyConnect(v) => self.handle_verify_connect(idx, &v),
            Command::Disconnect { data } => {
                self.handle_disconnect(idx, header, data);
                Ok(())
            }
            Command::Ping => {
                if data_state {
                    Ok(())
                } else {
                    Err(DropReason::UnexpectedCommand)
                }
            }
            Command::BandwidthLimit {
                incoming_bandwidth,
                outgoing_bandwidth,
            } => {
                if !data_state {
                    return Err(DropReason::UnexpectedCommand);
                }
                let host_out = self.config.outgoing_bandwidth;
                let p = &mut self.peers[idx];
                if p.incoming_bandwidth != 0 {
                    self.bandwidth_limited_peers -= 1;
                }
                p.incoming_bandwidth = incoming_bandwidth;
                p.outgoing_bandwidth = outgoing_bandwidth;
                if p.incoming_bandwidth != 0 {
                    self.bandwidth_limited_peers += 1;
                }
                p.window_size = if p.incoming_bandwidth == 0 && host_out == 0 {
                    MAXIMUM_WINDOW_SIZE
                } else if p.incoming_bandwidth == 0 || host_out == 0 {
                    (p.incoming_bandwidth.max(host_out) / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
                } else {
                    (p.incoming_bandwidth.min(host_out) / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
                };
                p.window_size = clamp_window(p.window_size);
                Ok(())
            }
            Command::ThrottleConfigure {
                packet_throttle_interval,
                packet_throttle_acceleration,
                packet_throttle_deceleration,
            } => {
                if !data_state {
                    return Err(DropReason::UnexpectedCommand);
                }
                let p = &mut self.peers[idx];
                p.packet_throttle_interval = packet_throttle_interval;
                p.packet_throttle_acceleration = packet_throttle_acceleration;
                p.packet_throttle_deceleration = packet_throttle_deceleration;
                Ok(())
            }
            Command::SendReliable { .. }
            | Command::SendUnreliable { .. }
            | Command::SendUnsequenced { .. }
            | Command::SendFragment(_) => {
                let _ = sent_time;
                if !data_state {
                    return Err(DropReason::UnexpectedCommand);
                }
                let ch = header.channel_id as usize;
                if ch >= self.peers[idx].channel_count {
                    return Err(DropReason::InvalidChannel);
                }
                if payload.len() > self.config.maximum_packet_size {
                    return Err(DropReason::PacketTooLarge);
                }
                match *cmd {
                    Command::SendReliable { .. } => self.queue_incoming(
                        idx,
                        ch,
                        IncomingKind::Reliable,
                        header.reliable_sequence_number,
                        0,
                        payload,
                        PacketFlags::RELIABLE,
                        None,
                    ),
                    Command::SendUnreliable {
                        unreliable_sequence_number,
                        ..
                    } => self.queue_incoming(
                        idx,
                        ch,
                        IncomingKind::Unreliable,
                        header.reliable_sequence_number,
                        unreliable_sequence_number,
                        payload,
                        PacketFlags::UNRELIABLE,
                        None,
                    ),
                    Command::SendUnsequenced {
                        unsequenced_group, ..
                    } => self.handle_send_unsequenced(idx, ch, unsequenced_group, payload),
                    Command::SendFragment(f) => {
                        if header.number() == CommandKind::SendUnreliableFragment as u8 {
                            self.handle_send_unreliable_fragment(idx, ch, header, &f, payload)
                        } else {
                            self.handle_send_fragment(idx, ch, &f, payload)
                        }
                    }
                    _ => unreachable!("matched above"),
                }
                .map(|_| ())
            }
        }
    }

    fn handle_acknowledge(
        &mut self,
        idx: usize,
        channel_id: u8,
        seq: u16,
        received_sent_time: u16,
    ) -> Result<(), DropReason> {
        let st = self.service_time;
        let p = &mut self.peers[idx];
        if matches!(p.state, PeerState::Disconnected | PeerState::Zombie) {
            return Ok(());
        }
        let mut sent = (received_sent_time as u32) | (st & 0xFFFF_0000);
        if (sent & 0x8000) > (st & 0x8000) {
            sent = sent.wrapping_sub(0x10000);
        }
        if time_less(st, sent) {
            // C ignores such an acknowledgement entirely (no RTT sample, nothing removed)
            // and goes on with the datagram; we do the same, but count it.
            self.drops.add(DropReason::UnexpectedAcknowledge);
            return Ok(());
        }
        let rtt = time_difference(st, sent).max(1);
        if p.last_receive_time > 0 {
            // enet_peer_throttle
            if p.last_round_trip_time <= p.last_round_trip_time_variance {
                p.packet_throttle = p.packet_throttle_limit;
            } else if rtt <= p.last_round_trip_time {
                // The acceleration is the remote's (THROTTLE_CONFIGURE, CONNECT): any u32.
                p.packet_throttle = p
                    .packet_throttle
                    .saturating_add(p.packet_throttle_acceleration)
                    .min(p.packet_throttle_limit);
            } else if rtt > p.last_round_trip_time + 2 * p.last_round_trip_time_variance {
                p.packet_throttle = p
                    .packet_throttle
                    .saturating_sub(p.packet_throttle_deceleration);
            }
            p.round_trip_time_variance -= p.round_trip_time_variance / 4;
            if rtt >= p.round_trip_time {
                let diff = rtt - p.round_trip_time;
                p.round_trip_time_variance += diff / 4;
                p.round_trip_time += diff / 8;
            } else {
                let diff = p.round_trip_time - rtt;
                p.round_trip_time_variance += diff / 4;
                p.round_trip_time -= diff / 8;
            }
        } else {
            p.round_trip_time = rtt;
            p.round_trip_time_variance = rtt.div_ceil(2);
        }
        p.lowest_round_trip_time = p.lowest_round_trip_time.min(p.round_trip_time);
        p.highest_round_trip_time_variance = p
            .highest_round_trip_time_variance
            .max(p.round_trip_time_variance);
        if p.packet_throttle_epoch == 0
            || time_difference(st, p.packet_throttle_epoch) >= p.packet_throttle_interval
        {
            p.last_round_trip_time = p.lowest_round_trip_time;
            p.last_round_trip_time_variance = p.highest_round_trip_time_variance.max(1);
            p.lowest_round_trip_time = p.round_trip_time;
            p.highest_round_trip_time_variance = p.round_trip_time_variance;
            p.packet_throttle_epoch = st;
        }
        p.last_receive_time = st.max(1);
        p.earliest_timeout = 0;
        let removed = self.remove_sent_reliable_command(idx, seq, channel_id);
        match self.peers[idx].state {
            PeerState::AcknowledgingConnect => {
                if removed != Some(CommandKind::VerifyConnect as u8) {
                    return Err(DropReason::UnexpectedAcknowledge);
                }
                self.notify_connect(idx);
            }
            PeerState::Disconnecting => {
                if removed != Some(CommandKind::Disconnect as u8) {
                    return Err(DropReason::UnexpectedAcknowledge);
                }
                self.notify_disconnect(idx, DisconnectReason::Local);
            }
            PeerState::DisconnectLater if !self.peers[idx].has_outgoing_commands() => {
                let data = self.peers[idx].event_data;
                self.disconnect_index(idx, data);
            }
            _ => {}
        }
        // The acknowledgement may have opened the reliable window for commands that were
        // held back: give the peer a send pass now rather than at its next timer.
        let p = &self.peers[idx];
        if !p.outgoing_send_reliable_commands.is_empty() || !p.outgoing_commands.is_empty() {
            self.schedule(idx);
        }
        Ok(())
    }

    /// Removes an acknowledged command; returns its command number.
    fn remove_sent_reliable_command(&mut self, idx: usize, seq: u16, channel_id: u8) -> Option<u8> {
        let p = &mut self.peers[idx];
        let matches = |c: &OutgoingCommand| {
            c.header.reliable_sequence_number == seq && c.header.channel_id == channel_id
        };
        let mut was_sent = true;
        let mut found = p
            .sent_reliable_commands
            .iter()
            .position(matches)
            .and_then(|i| p.sent_reliable_commands.remove(i));
        if found.is_none() {
            was_sent = false;
            for queue in [
                &mut p.outgoing_commands,
                &mut p.outgoing_send_reliable_commands,
            ] {
                let mut hit = None;
                for (i, c) in queue.iter().enumerate() {
                    if c.header.command & COMMAND_FLAG_ACKNOWLEDGE == 0 {
                        continue;
                    }
                    if c.send_attempts < 1 {
                        break;
                    }
                    if matches(c) {
                        hit = Some(i);
                        break;
                    }
                }
                if let Some(i) = hit {
                    found = queue.remove(i);
                    break;
                }
            }
        }
        let cmd = found?;
        let ch = channel_id as usize;
        if ch < p.channel_count {
            let chan = &mut p.channels[ch];
            let w = (seq / RELIABLE_WINDOW_SIZE) as usize;
            if chan.reliable_windows[w] > 0 {
                chan.reliable_windows[w] -= 1;
                if chan.reliable_windows[w] == 0 {
                    chan.used_reliable_windows &= !(1 << w);
                }
            }
        }
        if was_sent {
            p.reliable_data_in_transit -= cmd.fragment_length();
        }
        if let Some(front) = p.sent_reliable_commands.front() {
            p.next_timeout = front.sent_time.wrapping_add(front.round_trip_timeout);
        }
        Some(cmd.header.command & COMMAND_MASK)
    }

    fn handle_verify_connect(&mut self, idx: usize, v: &Connect) -> Result<(), DropReason> {
        let p = &self.peers[idx];
        if p.state != PeerState::Connecting {
            return Ok(());
        }
        if !(MINIMUM_CHANNEL_COUNT..=MAXIMUM_CHANNEL_COUNT).contains(&v.channel_count)
            || v.packet_throttle_interval != p.packet_throttle_interval
            || v.packet_throttle_acceleration != p.packet_throttle_acceleration
            || v.packet_throttle_deceleration != p.packet_throttle_deceleration
            || v.connect_id != p.connect_id
        {
            self.peers[idx].event_data = 0;
            self.zombify(idx, 0, DisconnectReason::Refused);
            return Err(DropReason::InvalidVerifyConnect);
        }
        self.remove_sent_reliable_command(idx, 1, CONTROL_CHANNEL);
        let host_mtu = self.config.mtu;
        let p = &mut self.peers[idx];
        let count = (v.channel_count as usize).min(p.channel_count);
        p.channel_count = count;
        p.outgoing_peer_id = v.outgoing_peer_id;
        p.incoming_session_id = v.incoming_session_id;
        p.outgoing_session_id = v.outgoing_session_id;
        let mtu = v.mtu.clamp(MINIMUM_MTU, MAXIMUM_MTU);
        if mtu < p.mtu {
            p.mtu = mtu;
        }
        let _ = host_mtu;
        let window = clamp_window(v.window_size);
        if window < p.window_size {
            p.window_size = window;
        }
        p.incoming_bandwidth = v.incoming_bandwidth;
        p.outgoing_bandwidth = v.outgoing_bandwidth;
        self.register(idx);
        self.notify_connect(idx);
        Ok(())
    }

    fn handle_disconnect(&mut self, idx: usize, header: &CommandHeader, data: u32) {
        let state = self.peers[idx].state;
        if matches!(
            state,
            PeerState::Disconnected | PeerState::Zombie | PeerState::AcknowledgingDisconnect
        ) {
            return;
        }
        self.reset_queues(idx);
        match state {
            PeerState::ConnectionSucceeded | PeerState::Disconnecting | PeerState::Connecting => {
                self.peers[idx].event_data = data;
                self.zombify(idx, data, DisconnectReason::Remote);
            }
            PeerState::Connected | PeerState::DisconnectLater => {
                self.peers[idx].event_data = data;
                if header.is_reliable() {
                    self.change_state(idx, PeerState::AcknowledgingDisconnect);
                } else {
                    self.zombify(idx, data, DisconnectReason::Remote);
                }
            }
            _ => {
                if state == PeerState::ConnectionPending {
                    self.recalculate_bandwidth_limits = true;
                }
                self.reset_peer(idx);
            }
        }
    }

    fn handle_send_unsequenced(
        &mut self,
        idx: usize,
        ch: usize,
        group: u16,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        let p = &mut self.peers[idx];
        let mut g = group as u32;
        let index = g % UNSEQUENCED_WINDOW_SIZE;
        let base = p.incoming_unsequenced_group as u32;
        if g < base {
            g += 0x10000;
        }
        if g >= base + FREE_UNSEQUENCED_WINDOWS * UNSEQUENCED_WINDOW_SIZE {
            return Ok(false);
        }
        g &= 0xFFFF;
        if g - index != base {
            p.incoming_unsequenced_group = (g - index) as u16;
            p.unsequenced_window = [0; (UNSEQUENCED_WINDOW_SIZE / 32) as usize];
        } else if p.unsequenced_window[(index / 32) as usize] & (1 << (index % 32)) != 0 {
            return Ok(false);
        }
        self.queue_incoming(
            idx,
            ch,
            IncomingKind::Unsequenced,
            0,
            0,
            payload,
            PacketFlags::UNSEQUENCED,
            None,
        )?;
        self.peers[idx].unsequenced_window[(index / 32) as usize] |= 1 << (index % 32);
        Ok(true)
    }

    fn validate_fragment(&self, f: &Fragment) -> Result<(), DropReason> {
        let max = self.config.maximum_packet_size;
        if f.fragment_count > MAXIMUM_FRAGMENT_COUNT
            || f.fragment_number >= f.fragment_count
            || f.total_length as usize > max
            || f.total_length < f.fragment_count
            || f.fragment_offset >= f.total_length
            || f.data_length as u32 > f.total_length - f.fragment_offset
        {
            return Err(DropReason::InvalidFragment);
        }
        Ok(())
    }

    fn handle_send_fragment(
        &mut self,
        idx: usize,
        ch: usize,
        f: &Fragment,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        if f.data_length == 0 {
            return Err(DropReason::InvalidFragment);
        }
        let start = f.start_sequence_number;
        let chan = &self.peers[idx].channels[ch];
        if !in_receive_window(start, chan.incoming_reliable_sequence_number) {
            return Ok(false);
        }
        self.validate_fragment(f)?;
        let key = GroupKey::Reliable(chan.position(start));
        if !self.group_exists(idx, ch, key, IncomingKind::Fragment, f)? {
            let layout = fragment_layout(f, None)?;
            self.queue_incoming(
                idx,
                ch,
                IncomingKind::Fragment,
                start,
                0,
                &[],
                PacketFlags::RELIABLE,
                Some((f, layout)),
            )?;
        }
        if self.fill_fragment(idx, ch, key, f, payload)? {
            self.dispatch_incoming_reliable(idx, ch, None);
        }
        Ok(true)
    }

    /// Whether the fragment group `key` exists, after checking that it matches `f`.
    fn group_exists(
        &self,
        idx: usize,
        ch: usize,
        key: GroupKey,
        kind: IncomingKind,
        f: &Fragment,
    ) -> Result<bool, DropReason> {
        let chan = &self.peers[idx].channels[ch];
        let Some(c) = key.get(chan) else {
            return Ok(false);
        };
        match &c.reassembly {
            Some(r)
                if c.kind == kind
                    && r.total_length == f.total_length
                    && c.fragment_count == f.fragment_count =>
            {
                Ok(true)
            }
            _ => Err(DropReason::InvalidFragment),
        }
    }

    /// Stores a fragment into its group; returns whether the group is now complete.
    fn fill_fragment(
        &mut self,
        idx: usize,
        ch: usize,
        key: GroupKey,
        f: &Fragment,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        let chan = &self.peers[idx].channels[ch];
        // Gone already (an unreliable group dropped by dispatch): nothing to fill.
        let Some(c) = key.get(chan) else {
            return Ok(false);
        };
        let Some(r) = c.reassembly.as_deref() else {
            return Err(DropReason::InvalidFragment);
        };
        fragment_layout(f, Some(r.fragment_length))?;
        let n = f.fragment_number;
        if n < r.prefix || r.spill_index.contains_key(&n) {
            return Ok(false);
        }
        let growth = fragment_growth(&c.data, r, f);
        if !self.admit(idx, growth) {
            return Err(DropReason::HostBufferBudget);
        }
        let p = &mut self.peers[idx];
        let c = key.get_mut(&mut p.channels[ch]).expect("looked up above");
        let r = c.reassembly.as_deref_mut().expect("checked above");
        store_fragment(&mut c.data, r, f, payload);
        let committed = reassembly_committed(&c.data, r) + GROUP_ENTRY_COST;
        let old = std::mem::replace(&mut c.committed, committed);
        c.fragments_remaining -= 1;
        let complete = c.fragments_remaining == 0;
        p.held_committed = (p.held_committed + committed).saturating_sub(old);
        self.buffered = (self.buffered + committed).saturating_sub(old);
        Ok(complete)
    }

    fn handle_send_unreliable_fragment(
        &mut self,
        idx: usize,
        ch: usize,
        header: &CommandHeader,
        f: &Fragment,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        if f.data_length == 0 {
            return Err(DropReason::InvalidFragment);
        }
        let s = header.reliable_sequence_number;
        let u = f.start_sequence_number;
        let chan = &self.peers[idx].channels[ch];
        let r = chan.incoming_reliable_sequence_number;
        if !in_receive_window(s, r) {
            return Ok(false);
        }
        if s == r && u <= chan.incoming_unreliable_sequence_number {
            return Ok(false);
        }
        self.validate_fragment(f)?;
        let key = GroupKey::Unreliable((chan.position(s), u));
        if !self.group_exists(idx, ch, key, IncomingKind::UnreliableFragment, f)? {
            let layout = fragment_layout(f, None)?;
            self.queue_incoming(
                idx,
                ch,
                IncomingKind::UnreliableFragment,
                s,
                u,
                &[],
                PacketFlags::UNRELIABLE_FRAGMENT,
                Some((f, layout)),
            )?;
        }
        if self.fill_fragment(idx, ch, key, f, payload)? {
            self.dispatch_incoming_unreliable(idx, ch, None);
        }
        Ok(true)
    }

    /// Whether the host's budget for buffered data admits `delta` more bytes from peer
    /// `idx`. Past half the budget, only peers below an even share of it may grow, so the
    /// heaviest peers are refused first.
    fn admit(&self, idx: usize, delta: usize) -> bool {
        let budget = self.config.buffer_budget;
        let after = self.buffered.saturating_add(delta);
        if after > budget {
            return false;
        }
        if after > budget / 2 {
            let p = &self.peers[idx];
            let mine = p
                .held_committed
                .saturating_add(p.event_committed)
                .saturating_add(delta);
            if mine > budget / self.connected_peers.max(1) {
                return false;
            }
        }
        true
    }

    /// Queues an incoming packet or fragment group (`enet_peer_queue_incoming_command`).
    /// Returns whether it was queued (false: discarded as old or duplicate). `group` is the
    /// first fragment of a new group and the group's fragment length.
    #[allow(clippy::too_many_arguments)]
    fn queue_incoming(
        &mut self,
        idx: usize,
        ch: usize,
        kind: IncomingKind,
        reliable_seq: u16,
        unreliable_seq: u16,
        data: &[u8],
        flags: PacketFlags,
        group: Option<(&Fragment, u32)>,
    ) -> Result<bool, DropReason> {
        let max_waiting = self.config.maximum_waiting_data;
        let p = &self.peers[idx];
        let discard = || {
            if group.is_some() {
                Err(DropReason::UnexpectedCommand)
            } else {
                Ok(false)
            }
        };
        if p.state == PeerState::DisconnectLater {
            return discard();
        }
        let chan = &p.channels[ch];
        let r = chan.incoming_reliable_sequence_number;
        if kind != IncomingKind::Unsequenced && !in_receive_window(reliable_seq, r) {
            return discard();
        }
        let reliable = matches!(kind, IncomingKind::Reliable | IncomingKind::Fragment);
        // The bound on held entries comes before any search.
        let held = if reliable {
            chan.incoming_reliable_commands.len()
        } else {
            chan.incoming_unreliable_commands.len()
        };
        if held >= MAXIMUM_HELD_PER_QUEUE {
            return Err(DropReason::QueueFull);
        }
        let position = chan.position(reliable_seq);
        match kind {
            IncomingKind::Reliable | IncomingKind::Fragment => {
                if reliable_seq == r || chan.incoming_reliable_commands.contains_key(&position) {
                    return discard();
                }
            }
            IncomingKind::Unreliable | IncomingKind::UnreliableFragment => {
                if reliable_seq == r && unreliable_seq <= chan.incoming_unreliable_sequence_number
                    || chan
                        .incoming_unreliable_commands
                        .contains_key(&(position, unreliable_seq))
                {
                    return discard();
                }
            }
            IncomingKind::Unsequenced => {}
        }
        let length = group.map_or(data.len(), |(f, _)| f.total_length as usize);
        let reserved = waiting_cost(length);
        // C refuses every new command once `total_waiting_data >= max_waiting`. That
        // deadlocks a reliable channel when out-of-order packets fill the budget: they were
        // acknowledged, so they stay, waiting for the missing packets in front of them, which
        // are refused because of them, for good, however often the application polls. So the
        // next reliable packet in order is only held back by delivered data the application
        // has not polled yet, and a packet that fills a gap in front of held packets by a
        // cap of the limit plus a constant allowance (`GAP_ALLOWANCE`, at most the limit)
        // on what sits in the queues. Everything
        // else must fit under the limit (or arrive while the peer holds nothing). A peer's
        // queues thus hold at most the limit, the allowance and one packet. Sizes are costs,
        // payload plus a fixed cost per packet, so that empty packets count too.
        let over_limit = if reliable && reliable_seq.wrapping_sub(r) == 1 {
            p.waiting_cost.saturating_sub(p.held_cost) >= max_waiting
        } else if reliable
            && chan
                .incoming_reliable_commands
                .last_key_value()
                .is_some_and(|(&k, _)| position < k)
        {
            p.waiting_cost.saturating_sub(p.held_cost) >= max_waiting
                || p.held_cost.saturating_add(reserved)
                    > max_waiting.saturating_add(max_waiting.min(GAP_ALLOWANCE))
        } else {
            p.waiting_cost > 0 && p.waiting_cost.saturating_add(reserved) > max_waiting
        };
        if over_limit {
            return Err(DropReason::WaitingDataLimit);
        }
        let committed = match group {
            Some(_) => GROUP_ENTRY_COST,
            None => data.len() + INCOMING_ENTRY_COST,
        };
        if !self.admit(idx, committed) {
            return Err(DropReason::HostBufferBudget);
        }
        let (buffer, reassembly, fragment_count) = match group {
            Some((f, fragment_length)) => (
                Vec::new(),
                Some(Box::new(Reassembly {
                    total_length: f.total_length,
                    fragment_length,
                    ..Default::default()
                })),
                f.fragment_count,
            ),
            None => (data.to_vec(), None, 0),
        };
        let p = &mut self.peers[idx];
        p.total_waiting_data += length;
        p.waiting_cost += reserved;
        p.held_cost += reserved;
        p.held_committed += committed;
        self.buffered += committed;
        let entry = IncomingCommand {
            kind,
            reliable_sequence_number: reliable_seq,
            unreliable_sequence_number: unreliable_seq,
            fragment_count,
            fragments_remaining: fragment_count,
            data: buffer,
            reassembly,
            flags,
            reserved,
            committed,
        };
        let chan = &mut p.channels[ch];
        match kind {
            IncomingKind::Reliable if position == chan.incoming_base.wrapping_add(1) => {
                // Next in order: delivered at once, as C's dispatch would (no map node).
                self.dispatch_incoming_reliable(idx, ch, Some(entry));
            }
            IncomingKind::Reliable | IncomingKind::Fragment => {
                chan.incoming_reliable_commands.insert(position, entry);
                self.dispatch_incoming_reliable(idx, ch, None);
            }
            IncomingKind::Unsequenced => {
                // C queues it at the front of the unreliable queue, where dispatch delivers it
                // first; the rest of that dispatch goes on as without it.
                self.deliver(idx, ch, entry);
                self.dispatch_incoming_unreliable(idx, ch, None);
            }
            IncomingKind::Unreliable
                if reliable_seq == r
                    && chan
                        .incoming_unreliable_commands
                        .first_key_value()
                        .is_none_or(|(&(k, _), _)| k > position) =>
            {
                // Deliverable now, and nothing else is at the channel's position: C's
                // dispatch would deliver it and stop at the next (later) entry.
                chan.incoming_unreliable_sequence_number = unreliable_seq;
                self.deliver(idx, ch, entry);
            }
            _ => {
                let key = (position, unreliable_seq);
                chan.incoming_unreliable_commands.insert(key, entry);
                self.dispatch_incoming_unreliable(idx, ch, Some(key));
            }
        }
        Ok(true)
    }

    fn deliver(&mut self, idx: usize, ch: usize, cmd: IncomingCommand) {
        let p = &mut self.peers[idx];
        p.held_cost = p.held_cost.saturating_sub(cmd.reserved);
        p.held_committed = p.held_committed.saturating_sub(cmd.committed);
        p.event_committed += cmd.committed;
        let inc = p.incarnation;
        let ev = Event::Receive {
            peer: PeerId(idx as u16),
            channel_id: ch as u8,
            packet: Packet {
                data: bytes::Bytes::from(cmd.data),
                flags: cmd.flags,
            },
        };
        self.events.push_back((ev, inc, cmd.committed));
    }

    /// Frees an entry that will never be delivered.
    fn discard_entry(&mut self, idx: usize, cmd: IncomingCommand) {
        let p = &mut self.peers[idx];
        p.total_waiting_data = p.total_waiting_data.saturating_sub(cmd.packet_length());
        p.waiting_cost = p.waiting_cost.saturating_sub(cmd.reserved);
        p.held_cost = p.held_cost.saturating_sub(cmd.reserved);
        p.held_committed = p.held_committed.saturating_sub(cmd.committed);
        self.buffered = self.buffered.saturating_sub(cmd.committed);
    }

    /// Delivers the complete packets at the front of the reliable queue
    /// (`enet_peer_dispatch_incoming_reliable_commands`). `head` is a packet at the next
    /// position that was never put in the queue.
    fn dispatch_incoming_reliable(&mut self, idx: usize, ch: usize, head: Option<IncomingCommand>) {
        let mut next = head;
        let mut moved = false;
        loop {
            let chan = &mut self.peers[idx].channels[ch];
            let c = match next.take() {
                Some(c) => c,
                None => {
                    let want = chan.incoming_base.wrapping_add(1);
                    match chan.incoming_reliable_commands.first_entry() {
                        Some(e) if *e.key() == want && e.get().fragments_remaining == 0 => {
                            e.remove()
                        }
                        _ => break,
                    }
                }
            };
            let mut seq = c.reliable_sequence_number;
            if c.fragment_count > 0 {
                seq = seq.wrapping_add((c.fragment_count - 1) as u16);
            }
            chan.advance_to(seq);
            moved = true;
            self.deliver(idx, ch, c);
        }
        if !moved {
            return;
        }
        // A fragment group advances the position over all its sequence numbers; anything
        // a misbehaving sender put at those numbers can never be delivered (C leaves it at
        // the front of its queue, which stalls the channel). Free it.
        loop {
            let chan = &mut self.peers[idx].channels[ch];
            let base = chan.incoming_base;
            match chan.incoming_reliable_commands.first_entry() {
                Some(e) if *e.key() <= base => {
                    let c = e.remove();
                    self.discard_entry(idx, c);
                }
                _ => break,
            }
        }
        self.peers[idx].channels[ch].incoming_unreliable_sequence_number = 0;
        self.dispatch_incoming_unreliable(idx, ch, None);
    }

    /// Delivers the unreliable entries with keys in `start..end` (`None`: to the end).
    fn deliver_unreliable_range(
        &mut self,
        idx: usize,
        ch: usize,
        start: UnreliableKey,
        end: Option<UnreliableKey>,
    ) {
        loop {
            let list = &mut self.peers[idx].channels[ch].incoming_unreliable_commands;
            let key = match list.range(start..).next() {
                Some((&k, _)) if end.is_none_or(|e| k < e) => k,
                _ => break,
            };
            let c = list.remove(&key).expect("found above");
            self.deliver(idx, ch, c);
        }
    }

    /// `enet_peer_dispatch_incoming_unreliable_commands`. Keys play the part of C's list
    /// nodes (`None` is the list's end): they stay valid while other entries leave.
    fn dispatch_incoming_unreliable(
        &mut self,
        idx: usize,
        ch: usize,
        queued: Option<UnreliableKey>,
    ) {
        let after = |list: &BTreeMap<UnreliableKey, IncomingCommand>, k: UnreliableKey| {
            list.range((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded))
                .next()
                .map(|(&k, _)| k)
        };
        let first = self.peers[idx].channels[ch]
            .incoming_unreliable_commands
            .keys()
            .next()
            .copied();
        let mut start = first;
        let mut dropped = first;
        let mut cur = first;
        while let Some(ck) = cur {
            let chan = &mut self.peers[idx].channels[ch];
            let list = &chan.incoming_unreliable_commands;
            let c = &list[&ck];
            let r = chan.incoming_reliable_sequence_number;
            if c.reliable_sequence_number == r {
                if c.fragments_remaining == 0 {
                    chan.incoming_unreliable_sequence_number = c.unreliable_sequence_number;
                    cur = after(list, ck);
                    continue;
                }
                if start != cur {
                    if let Some(s) = start {
                        self.deliver_unreliable_range(idx, ch, s, cur);
                    }
                    dropped = cur;
                } else if dropped != cur {
                    dropped = list.range(..ck).next_back().map(|(&k, _)| k);
                }
            } else {
                if in_receive_window(c.reliable_sequence_number, r) {
                    break;
                }
                dropped = after(list, ck);
                if start != cur {
                    if let Some(s) = start {
                        self.deliver_unreliable_range(idx, ch, s, cur);
                    }
                }
            }
            let list = &self.peers[idx].channels[ch].incoming_unreliable_commands;
            cur = after(list, ck);
            start = cur;
        }
        if start != cur {
            if let Some(s) = start {
                self.deliver_unreliable_range(idx, ch, s, cur);
            }
            dropped = cur;
        }
        // Free everything before `dropped` except the command just queued.
        let mut from = None;
        loop {
            let list = &mut self.peers[idx].channels[ch].incoming_unreliable_commands;
            let next = match from {
                None => list.keys().next().copied(),
                Some(k) => after(list, k),
            };
            let Some(k) = next else { break };
            if dropped.is_some_and(|d| k >= d) {
                break;
            }
            if Some(k) == queued {
                from = Some(k);
                continue;
            }
            let c = list.remove(&k).expect("found above");
            self.discard_entry(idx, c);
        }
    }
}

/// The session id a server slot uses for a new connection: one past the id the client
/// proposes (or past the slot's current one when the client proposes none, 0xFF), skipping
/// the slot's current id so stray datagrams of the previous connection are rejected.
fn next_session_id(proposed: u8, current: u8) -> u8 {
    let base = if proposed == 0xFF { current } else { proposed };
    let mut id = (u32::from(base) + 1) & 3;
    if id == u32::from(current) {
        id = (id + 1) & 3;
    }
    id as u8
}

/// What a fragment group's entry costs in memory besides its buffers.
const GROUP_ENTRY_COST: usize = INCOMING_ENTRY_COST + std::mem::size_of::<Reassembly>();

/// Whether a reply can reach `a`: not port 0, not an unspecified, broadcast or multicast
/// address (IPv4, IPv6, or IPv4 mapped into IPv6).
fn answerable(a: SocketAddr) -> bool {
    fn v4(ip: Ipv4Addr) -> bool {
        !ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast()
    }
    if a.port() == 0 {
        return false;
    }
    match a.ip() {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(ip) => v4(ip),
            None => !ip.is_unspecified() && !ip.is_multicast(),
        },
    }
}

/// A fragment group's place in a channel's queues.
#[derive(Clone, Copy)]
enum GroupKey {
    Reliable(ReliableKey),
    Unreliable(UnreliableKey),
}

impl GroupKey {
    fn get(self, chan: &Channel) -> Option<&IncomingCommand> {
        match self {
            GroupKey::Reliable(k) => chan.incoming_reliable_commands.get(&k),
            GroupKey::Unreliable(k) => chan.incoming_unreliable_commands.get(&k),
        }
    }

    fn get_mut(self, chan: &mut Channel) -> Option<&mut IncomingCommand> {
        match self {
            GroupKey::Reliable(k) => chan.incoming_reliable_commands.get_mut(&k),
            GroupKey::Unreliable(k) => chan.incoming_unreliable_commands.get_mut(&k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::next_session_id;
    use crate::sim::LinkConfig;
    use crate::testbed::Testbed;
    use crate::{HostConfig, Packet};
    use std::time::Duration;

    /// Once an acknowledgement empties the retransmission queue, the next deadline is the
    /// ping, not the retransmission timeout of the acknowledged command: a driver must not
    /// be woken for a deadline that is gone (each such wake-up costs a context switch).
    #[test]
    fn acknowledged_commands_leave_no_stale_deadline() {
        let mut tb = Testbed::new(5);
        let server = tb.add_host(HostConfig::default());
        let client = tb.add_host(HostConfig::default());
        let link = LinkConfig::new().with_latency(Duration::from_millis(50), Duration::ZERO);
        tb.set_link(client, server, link.clone());
        tb.set_link(server, client, link);
        let addr = tb.addr(server);
        let now = tb.now();
        let peer = tb.host_mut(client).connect(now, addr, 1, 0).unwrap();
        // Let pings settle the round-trip time near 100 ms.
        tb.run_for(Duration::from_secs(3));
        for round in 0..5 {
            let now = tb.now();
            tb.host_mut(client)
                .send(peer, 0, Packet::reliable(vec![round; 32]))
                .unwrap();
            let deadline = now + Duration::from_secs(2);
            let acked = tb.run_until_cond(deadline, |tb| {
                tb.host(client).peers[peer.index()]
                    .sent_reliable_commands
                    .is_empty()
            });
            assert!(acked, "round {round}: not acknowledged");
            let next = tb.host_mut(client).poll_timeout().expect("a ping deadline");
            let ping = tb.host(client).peer_info(peer).unwrap().ping_interval;
            let wait = next.saturating_duration_since(tb.now());
            assert!(
                wait >= Duration::from_millis(u64::from(ping) - 100),
                "round {round}: next wake-up in {wait:?}, the ping is due in about {ping} ms"
            );
        }
    }

    #[test]
    fn session_ids_follow_the_c_rules() {
        // Fresh client and fresh server slot: session 0 both ways (spec §A.1).
        assert_eq!(next_session_id(0xFF, 0xFF), 0);
        // One past the proposal...
        assert_eq!(next_session_id(1, 0xFF), 2);
        assert_eq!(next_session_id(3, 0xFF), 0);
        // ...skipping the slot's current id.
        assert_eq!(next_session_id(1, 2), 3);
        assert_eq!(next_session_id(0xFF, 1), 2);
        assert_eq!(next_session_id(0xFF, 3), 0);
    }
}
