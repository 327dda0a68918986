//! The host: a table of peers driven by datagrams and time (sans-IO).
//!
//! Feed it with [`Host::handle_datagram`] and [`Host::handle_timeout`]; drain it with
//! [`Host::poll_transmit`] (datagrams to send) and [`Host::poll_event`] (events). Ask
//! [`Host::poll_timeout`] when it next needs [`Host::handle_timeout`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
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

mod assembly;
mod config;
mod connection;
mod fragments;
mod incoming_queue;
mod receive;
mod reliability;
mod send;
mod throttle;
mod timers;

use timers::TimerQueue;

pub use config::{
    HostConfig, BANDWIDTH_THROTTLE_INTERVAL, DEFAULT_BUFFER_BUDGET, DEFAULT_MAXIMUM_PACKET_SIZE,
    DEFAULT_MAXIMUM_WAITING_DATA, DEFAULT_MTU, DEFAULT_TRANSIT_WINDOW, GAP_ALLOWANCE,
    MAXIMUM_DATAGRAM_SIZE, MAXIMUM_TRANSIT_WINDOW,
};

/// A snapshot of a peer's state and statistics.
///
/// The engine's groups of per-peer state come whole ([`RttEstimator`], [`Throttle`],
/// [`LossStats`], [`Timeouts`], [`Bandwidth`]), so a statistic is named once, in its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Round-trip time estimate.
    pub rtt: RttEstimator,
    /// Packet-loss statistics (mean and variance scaled by [`PACKET_LOSS_SCALE`]).
    pub loss: LossStats,
    /// Packet throttle.
    pub throttle: Throttle,
    /// Ping interval and timeout settings.
    pub timeouts: Timeouts,
    /// The remote's announced bandwidths and the bandwidth-throttle bookkeeping.
    pub bandwidth: Bandwidth,
    /// Reliable payload bytes in flight.
    pub reliable_data_in_transit: u32,
    /// Most reliable payload bytes this peer may have in flight now, before the packet
    /// throttle scales it: on a bandwidth-limited path `window_size`, else the adaptive
    /// transit window, 64 KiB up to [`HostConfig::transit_window`].
    pub transit_window: u32,
    /// Received data not yet handed to the application, bytes.
    pub total_waiting_data: usize,
    /// Cumulative traffic counters.
    pub counters: PeerCounters,
    /// Connection id (opaque bytes).
    pub connect_id: [u8; 4],
}

/// The times of a [`PeerInfo`] as [`Duration`]s (the fields hold the protocol's
/// milliseconds).
impl PeerInfo {
    /// The smoothed round-trip time ([`RttEstimator::round_trip_time`] of [`PeerInfo::rtt`](#structfield.rtt)).
    pub fn rtt(&self) -> Duration {
        ms_duration(self.rtt.round_trip_time)
    }

    /// The round-trip time variance ([`RttEstimator::round_trip_time_variance`]).
    pub fn rtt_variance(&self) -> Duration {
        ms_duration(self.rtt.round_trip_time_variance)
    }

    /// How often an idle peer is pinged ([`Timeouts::ping_interval`]).
    pub fn ping_period(&self) -> Duration {
        ms_duration(self.timeouts.ping_interval)
    }

    /// The minimum and maximum timeouts ([`Timeouts::timeout_minimum`] and [`Timeouts::timeout_maximum`]).
    pub fn timeout_bounds(&self) -> (Duration, Duration) {
        (
            ms_duration(self.timeouts.timeout_minimum),
            ms_duration(self.timeouts.timeout_maximum),
        )
    }

    /// The packet throttle's measuring interval ([`Throttle::packet_throttle_interval`]).
    pub fn throttle_period(&self) -> Duration {
        ms_duration(self.throttle.packet_throttle_interval)
    }
}

fn ms_duration(ms: u32) -> Duration {
    Duration::from_millis(ms.into())
}

/// Host-wide traffic totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Counter behind [`Host::next_connect_id`]: advances by an odd step per connect.
    connect_id_state: u32,
    total_queued: u32,
    connected_peers: usize,
    bandwidth_limited_peers: usize,
    recalculate_bandwidth_limits: bool,
    bandwidth_throttle_epoch: u32,
    free_slots: BTreeSet<u16>,
    /// Registered peers per remote IP (at most the slot count, so 16 bits).
    ip_counts: HashMap<IpAddr, u16>,
    /// Registered connections by address and connect id.
    active_connects: HashSet<(SocketAddr, [u8; 4])>,
    send_queue: VecDeque<u16>,
    timers: TimerQueue,
    /// Events with the incarnation of their peer and the bytes they hold.
    events: VecDeque<(Event, u32, usize)>,
    /// Bytes of received data in memory: incoming queues plus undelivered receive events.
    buffered: usize,
    /// Half-open connections (VERIFY_CONNECT sent, not acknowledged), oldest first.
    half_open: BTreeMap<u64, u16>,
    half_open_counter: u64,
    pending_transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Every peer's outgoing commands; the peers' queues hold slots of it.
    commands: CommandSlab,
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

impl Host {
    /// Creates a host. `now` becomes its time origin.
    pub fn new(config: HostConfig, now: Instant) -> Result<Host, Error> {
        let config = config.validated()?;
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
            connect_id_state: seed,
            total_queued: 0,
            connected_peers: 0,
            bandwidth_limited_peers: 0,
            recalculate_bandwidth_limits: false,
            bandwidth_throttle_epoch: 0,
            ip_counts: HashMap::new(),
            active_connects: HashSet::new(),
            send_queue: VecDeque::new(),
            timers: TimerQueue::new(config.peer_count),
            events: VecDeque::new(),
            buffered: 0,
            half_open: BTreeMap::new(),
            half_open_counter: 0,
            pending_transmits: VecDeque::new(),
            commands: CommandSlab::default(),
            compressor: None,
            recv_scratch: vec![0; MAXIMUM_MTU as usize],
            send_scratch: vec![0; MAXIMUM_MTU as usize],
            drops: DropStats::default(),
            totals: HostTotals::default(),
            refuse_connections: false,
            config,
        })
    }

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

    /// State of a peer: `Disconnected` for a stale id (its connection is over), `None` for
    /// an id out of range.
    pub fn peer_state(&self, peer: PeerId) -> Option<PeerState> {
        self.peers.get(peer.index()).map(|p| {
            if p.incarnation == peer.generation() {
                p.state
            } else {
                PeerState::Disconnected
            }
        })
    }

    /// Number of channels of a peer (0 when it has none), or `None` for an id out of range
    /// or stale.
    pub fn peer_channel_count(&self, peer: PeerId) -> Option<usize> {
        self.live_peer(peer).map(|p| p.channel_count)
    }

    /// The id of slot `index`'s occupant, or `None` when the slot is free (disconnected) or
    /// out of range. A free slot has no id to hand out: one taken then would name whoever
    /// connects next. For diagnostics and tools that walk the peer table; ids from
    /// [`Host::connect`] and events name one connection and are what to keep.
    pub fn peer_id(&self, index: usize) -> Option<PeerId> {
        self.peers
            .get(index)
            .filter(|p| p.state != PeerState::Disconnected)
            .map(|p| PeerId::new(index, p.incarnation))
    }

    /// The slot `peer` names, if the id is in range and not stale.
    fn live_peer(&self, peer: PeerId) -> Option<&Peer> {
        self.peers
            .get(peer.index())
            .filter(|p| p.incarnation == peer.generation())
    }

    /// A snapshot of a peer's state and statistics (`None` for an id out of range or stale).
    pub fn peer_info(&self, peer: PeerId) -> Option<PeerInfo> {
        let p = self.live_peer(peer)?;
        Some(PeerInfo {
            address: p.address,
            state: p.state,
            channel_count: p.channel_count,
            mtu: p.mtu,
            window_size: p.window_size,
            rtt: p.rtt,
            loss: p.loss,
            throttle: p.throttle,
            timeouts: p.timeouts,
            bandwidth: p.bandwidth,
            reliable_data_in_transit: p.reliable_data_in_transit,
            transit_window: if p.window_size >= MAXIMUM_WINDOW_SIZE {
                p.transit.get(self.config.transit_window)
            } else {
                p.window_size
            },
            total_waiting_data: p.total_waiting_data,
            counters: p.counters,
            connect_id: p.connect_id,
        })
    }

    /// Ids of all peers that are not disconnected.
    pub fn active_peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state != PeerState::Disconnected)
            .map(|(i, p)| PeerId::new(i, p.incarnation))
    }

    /// Installs or removes the datagram compressor (both ends must use the same one).
    pub fn set_compressor(&mut self, compressor: Option<Box<dyn Compressor>>) {
        self.compressor = compressor;
    }

    /// Whether a compressor is installed.
    pub fn has_compressor(&self) -> bool {
        self.compressor.is_some()
    }

    /// The connect ID of this host's next connection attempt: unpredictable from outside
    /// (seeded), and never the same twice in 2^32 attempts. A server refuses a CONNECT whose
    /// address and connect ID match a connection it already has (it takes it for a
    /// retransmission), so two clients behind one address (one host with many peers, or a
    /// NAT) must not draw the same ID: with a plain random draw, 4,000 connects from one
    /// host repeated an ID about once in 150 runs, and that client timed out after 5 s. C
    /// ENet counts up (`++randomSeed`); this is a counter too, passed through a bijective
    /// mix (murmur3's finaliser) so that consecutive IDs do not look consecutive.
    fn next_connect_id(&mut self) -> u32 {
        // An odd step visits all 2^32 states before repeating.
        self.connect_id_state = self.connect_id_state.wrapping_add(0x9E37_79B9);
        let mut n = self.connect_id_state;
        // Each step is invertible (xor-shift right, multiply by an odd constant).
        n ^= n >> 16;
        n = n.wrapping_mul(0x85EB_CA6B);
        n ^= n >> 13;
        n = n.wrapping_mul(0xC2B2_AE35);
        n ^ (n >> 16)
    }

    /// Whether the next queued event is an [`Event::Receive`] (without taking it). A driver
    /// can let the acknowledgements of received packets wait for the replies to them, and
    /// send at once before a connect or disconnect event.
    pub fn next_event_is_receive(&self) -> bool {
        matches!(self.events.front(), Some((Event::Receive { .. }, _, _)))
    }

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

    /// The slot index of `peer`; [`Error::InvalidPeer`] out of range or stale.
    fn peer_index(&self, peer: PeerId) -> Result<usize, Error> {
        match self.peers.get(peer.index()) {
            Some(p) if p.incarnation == peer.generation() => Ok(peer.index()),
            _ => Err(Error::InvalidPeer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection::next_session_id;
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
        let server = tb.add_host(HostConfig::default()).unwrap();
        let client = tb.add_host(HostConfig::default()).unwrap();
        let link = LinkConfig::new().with_latency(Duration::from_millis(50), Duration::ZERO);
        tb.set_link(client, server, link.clone()).unwrap();
        tb.set_link(server, client, link).unwrap();
        let addr = tb.addr(server).unwrap();
        let now = tb.now();
        let peer = tb
            .host_mut(client)
            .unwrap()
            .connect(now, addr, 1, 0)
            .unwrap();
        // Let pings settle the round-trip time near 100 ms.
        tb.run_for(Duration::from_secs(3));
        for round in 0..5 {
            let now = tb.now();
            tb.host_mut(client)
                .unwrap()
                .send(peer, 0, Packet::reliable(vec![round; 32]))
                .unwrap();
            let deadline = now + Duration::from_secs(2);
            let acked = tb.run_until_cond(deadline, |tb| {
                tb.host(client).unwrap().peers[peer.index()]
                    .queues
                    .sent_reliable_commands
                    .is_empty()
            });
            assert!(acked, "round {round}: not acknowledged");
            let next = tb
                .host_mut(client)
                .unwrap()
                .poll_timeout()
                .expect("a ping deadline");
            let ping = tb
                .host(client)
                .unwrap()
                .peer_info(peer)
                .unwrap()
                .timeouts
                .ping_interval;
            let wait = next.saturating_duration_since(tb.now());
            assert!(
                wait >= Duration::from_millis(u64::from(ping) - 100),
                "round {round}: next wake-up in {wait:?}, the ping is due in about {ping} ms"
            );
        }
    }

    /// Connect IDs never repeat within a host (the server would take the second client
    /// behind one address for a retransmission of the first and refuse it): a million in a
    /// row are all different, from several seeds.
    #[test]
    fn connect_ids_do_not_repeat() {
        for seed in [0u64, 1, 0xDEAD_BEEF_0000_0001, u64::MAX] {
            let mut host = super::Host::new(
                HostConfig::default().with_seed(seed),
                std::time::Instant::now(),
            )
            .unwrap();
            let mut seen = std::collections::HashSet::with_capacity(1 << 20);
            for i in 0..(1u32 << 20) {
                let id = host.next_connect_id();
                assert!(
                    seen.insert(id),
                    "seed {seed}: ID {id:#x} repeated at draw {i}"
                );
            }
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
