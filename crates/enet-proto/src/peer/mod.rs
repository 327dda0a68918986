//! Per-peer and per-channel protocol state.
//!
//! The host ([`crate::Host`]) owns a table of peers; everything here is reached through it.
//! A peer's (crate-private) state is grouped by concern: its command queues
//! (`CommandQueues`), round-trip estimate ([`RttEstimator`]), packet throttle
//! ([`Throttle`]), loss statistics ([`LossStats`]), timeout settings ([`Timeouts`]) and
//! bandwidth bookkeeping ([`Bandwidth`]), each with the arithmetic that updates it; an
//! `OutgoingCommand` is built only by `OutgoingCommand::new`. All groups but the queues are
//! public, as parts of the [`crate::PeerInfo`] snapshot.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::incoming::{Reassembly, ReliableKey, UnreliableKey};
use crate::packet::PacketFlags;
use crate::protocol::{Command, CommandHeader, Fragment, MAXIMUM_WINDOW_SIZE};

mod groups;
mod slab;
mod transit;

pub(crate) use groups::CommandQueues;
pub use groups::{
    Bandwidth, LossStats, RttEstimator, Throttle, Timeouts, MAX_REORDER_SCALE, REORDER_DECAY,
};
pub(crate) use slab::{CommandSlab, CommandSlot};
pub(crate) use transit::TransitWindow;

/// Reliable sequence numbers are split into this many windows.
pub(crate) const RELIABLE_WINDOWS: u16 = 16;
/// Sequence numbers per reliable window.
pub(crate) const RELIABLE_WINDOW_SIZE: u16 = 0x1000;
/// Windows a receiver accepts ahead of its position, plus one.
pub(crate) const FREE_RELIABLE_WINDOWS: u16 = 8;
/// Bits in the unsequenced duplicate bitmap.
pub(crate) const UNSEQUENCED_WINDOW_SIZE: u32 = 1024;
/// How many unsequenced blocks ahead a group may be.
pub(crate) const FREE_UNSEQUENCED_WINDOWS: u32 = 32;

/// Default initial round-trip time estimate, in ms.
pub const DEFAULT_ROUND_TRIP_TIME: u32 = 500;
/// Packet throttle value meaning "send everything".
pub const PACKET_THROTTLE_SCALE: u32 = 32;
/// Default packet throttle.
pub const DEFAULT_PACKET_THROTTLE: u32 = 32;
/// Step of the throttle drop counter.
pub(crate) const PACKET_THROTTLE_COUNTER: u32 = 7;
/// Default throttle acceleration.
pub const DEFAULT_PACKET_THROTTLE_ACCELERATION: u32 = 2;
/// Default throttle deceleration.
pub const DEFAULT_PACKET_THROTTLE_DECELERATION: u32 = 2;
/// Default throttle interval, in ms.
pub const DEFAULT_PACKET_THROTTLE_INTERVAL: u32 = 5000;
/// Fixed-point scale of the packet-loss statistic (65536 = 100%).
pub const PACKET_LOSS_SCALE: u32 = 1 << 16;
/// Length of a packet-loss statistics epoch, in ms.
pub(crate) const PACKET_LOSS_INTERVAL: u32 = 10_000;
/// Bytes per second per window step.
pub(crate) const WINDOW_SIZE_SCALE: u32 = 64 * 1024;
/// Default number of doubling retransmissions before a timeout is possible.
pub const DEFAULT_TIMEOUT_LIMIT: u32 = 32;
/// Default minimum time without acknowledgement before a timeout, in ms.
pub const DEFAULT_TIMEOUT_MINIMUM: u32 = 5000;
/// Default maximum time without acknowledgement before a timeout, in ms.
pub const DEFAULT_TIMEOUT_MAXIMUM: u32 = 30_000;
/// Default ping interval, in ms.
pub const DEFAULT_PING_INTERVAL: u32 = 500;

/// The state of a peer slot. The numbering equals the C library's `ENetPeerState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[non_exhaustive]
pub enum PeerState {
    /// Free slot.
    Disconnected = 0,
    /// Client: CONNECT sent, waiting for VERIFY_CONNECT.
    Connecting = 1,
    /// Server: VERIFY_CONNECT sent, waiting for its acknowledgement.
    AcknowledgingConnect = 2,
    /// Server: connected, event not yet delivered (unused by this engine).
    ConnectionPending = 3,
    /// Client: connected, event not yet delivered (unused by this engine).
    ConnectionSucceeded = 4,
    /// Connected.
    Connected = 5,
    /// Disconnecting once the outgoing queues drain.
    DisconnectLater = 6,
    /// Our DISCONNECT is in flight.
    Disconnecting = 7,
    /// The remote's DISCONNECT arrived; our acknowledgement is queued.
    AcknowledgingDisconnect = 8,
    /// Finished; the disconnect event is waiting to be polled.
    Zombie = 9,
}

/// A command waiting to be sent, or sent and waiting for its acknowledgement.
#[derive(Debug)]
pub(crate) struct OutgoingCommand {
    pub header: CommandHeader,
    pub command: OutgoingBody,
    /// Fragment (or whole packet) payload; empty for commands without payload.
    pub payload: Bytes,
    /// Whether the command carries a packet (even a zero-length one).
    pub has_packet: bool,
    pub fragment_offset: u32,
    pub unreliable_sequence_number: u16,
    pub sent_time: u32,
    pub round_trip_timeout: u32,
    pub queue_time: u32,
    pub send_attempts: u16,
    /// Times early retransmission has put this command back (at most
    /// [`MAX_EARLY_RETRANSMISSIONS`]).
    pub early_retransmissions: u8,
}

/// Most early retransmissions of one command; later losses of it wait for its timeout.
/// This bounds what a receiver that withholds one acknowledgement while acknowledging
/// everything after it can make us resend.
pub(crate) const MAX_EARLY_RETRANSMISSIONS: u8 = 3;

impl OutgoingCommand {
    /// The one constructor: a command not yet sequenced, queued or sent. `command` is the
    /// command byte with its flags; `has_packet` says whether it carries a packet (even an
    /// empty one); `fragment_offset` places a fragment's payload in its packet.
    pub fn new(
        command: u8,
        channel_id: u8,
        body: Command,
        payload: Bytes,
        has_packet: bool,
        fragment_offset: u32,
    ) -> OutgoingCommand {
        // A fragment's body drops its length and offset: they must be the payload's.
        debug_assert!(!matches!(body, Command::SendFragment(f)
            if usize::from(f.data_length) != payload.len() || f.fragment_offset != fragment_offset));
        OutgoingCommand {
            header: CommandHeader {
                command,
                channel_id,
                reliable_sequence_number: 0,
            },
            command: body.into(),
            payload,
            has_packet,
            fragment_offset,
            unreliable_sequence_number: 0,
            sent_time: 0,
            round_trip_timeout: 0,
            queue_time: 0,
            send_attempts: 0,
            early_retransmissions: 0,
        }
    }

    pub fn fragment_length(&self) -> u32 {
        self.payload.len() as u32
    }

    /// The command as it goes on the wire: a fragment's length and offset come from the
    /// command's payload and [`OutgoingCommand::fragment_offset`], the rest from its body.
    pub fn wire_command(&self) -> Command {
        match self.command {
            OutgoingBody::Fragment {
                start_sequence_number,
                fragment_count,
                fragment_number,
                total_length,
            } => Command::SendFragment(Fragment {
                start_sequence_number,
                data_length: self.payload.len() as u16,
                fragment_count,
                fragment_number,
                total_length,
                fragment_offset: self.fragment_offset,
            }),
            ref body => body.command(),
        }
    }
}

/// An outgoing command's body, compact for the host's command slab: CONNECT and
/// VERIFY_CONNECT (one each per connection) are boxed, and a fragment keeps neither its
/// length nor its offset (its command's payload and `fragment_offset` have them), so every
/// body takes 16 bytes instead of a [`Command`]'s 48.
#[derive(Debug)]
pub(crate) enum OutgoingBody {
    /// CONNECT or VERIFY_CONNECT (or any other command, boxed).
    Boxed(Box<Command>),
    /// DISCONNECT with its data.
    Disconnect(u32),
    /// PING.
    Ping,
    /// SEND_RELIABLE with its payload length.
    Reliable(u16),
    /// SEND_UNRELIABLE: unreliable sequence number, payload length.
    Unreliable(u16, u16),
    /// SEND_FRAGMENT or SEND_UNRELIABLE_FRAGMENT, less its length and offset (see
    /// [`OutgoingCommand::wire_command`]).
    Fragment {
        start_sequence_number: u16,
        fragment_count: u32,
        fragment_number: u32,
        total_length: u32,
    },
    /// SEND_UNSEQUENCED: unsequenced group, payload length.
    Unsequenced(u16, u16),
    /// BANDWIDTH_LIMIT: incoming and outgoing bandwidth.
    BandwidthLimit(u32, u32),
    /// THROTTLE_CONFIGURE: interval, acceleration, deceleration.
    ThrottleConfigure(u32, u32, u32),
}

impl From<Command> for OutgoingBody {
    fn from(c: Command) -> OutgoingBody {
        match c {
            Command::Disconnect { data } => OutgoingBody::Disconnect(data),
            Command::Ping => OutgoingBody::Ping,
            Command::SendReliable { data_length } => OutgoingBody::Reliable(data_length),
            Command::SendUnreliable {
                unreliable_sequence_number,
                data_length,
            } => OutgoingBody::Unreliable(unreliable_sequence_number, data_length),
            Command::SendFragment(f) => OutgoingBody::Fragment {
                start_sequence_number: f.start_sequence_number,
                fragment_count: f.fragment_count,
                fragment_number: f.fragment_number,
                total_length: f.total_length,
            },
            Command::SendUnsequenced {
                unsequenced_group,
                data_length,
            } => OutgoingBody::Unsequenced(unsequenced_group, data_length),
            Command::BandwidthLimit {
                incoming_bandwidth,
                outgoing_bandwidth,
            } => OutgoingBody::BandwidthLimit(incoming_bandwidth, outgoing_bandwidth),
            Command::ThrottleConfigure {
                packet_throttle_interval,
                packet_throttle_acceleration,
                packet_throttle_deceleration,
            } => OutgoingBody::ThrottleConfigure(
                packet_throttle_interval,
                packet_throttle_acceleration,
                packet_throttle_deceleration,
            ),
            c @ (Command::Connect(_) | Command::VerifyConnect(_) | Command::Acknowledge { .. }) => {
                OutgoingBody::Boxed(Box::new(c))
            }
        }
    }
}

impl OutgoingBody {
    /// The command this body stands for; a fragment's only through
    /// [`OutgoingCommand::wire_command`].
    fn command(&self) -> Command {
        match *self {
            OutgoingBody::Boxed(ref c) => **c,
            OutgoingBody::Disconnect(data) => Command::Disconnect { data },
            OutgoingBody::Ping => Command::Ping,
            OutgoingBody::Reliable(data_length) => Command::SendReliable { data_length },
            OutgoingBody::Unreliable(unreliable_sequence_number, data_length) => {
                Command::SendUnreliable {
                    unreliable_sequence_number,
                    data_length,
                }
            }
            OutgoingBody::Fragment { .. } => {
                unreachable!("a fragment's command is built by OutgoingCommand::wire_command")
            }
            OutgoingBody::Unsequenced(unsequenced_group, data_length) => Command::SendUnsequenced {
                unsequenced_group,
                data_length,
            },
            OutgoingBody::BandwidthLimit(incoming_bandwidth, outgoing_bandwidth) => {
                Command::BandwidthLimit {
                    incoming_bandwidth,
                    outgoing_bandwidth,
                }
            }
            OutgoingBody::ThrottleConfigure(interval, acceleration, deceleration) => {
                Command::ThrottleConfigure {
                    packet_throttle_interval: interval,
                    packet_throttle_acceleration: acceleration,
                    packet_throttle_deceleration: deceleration,
                }
            }
        }
    }
}

/// An acknowledgement waiting to be sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acknowledgement {
    pub channel_id: u8,
    pub reliable_sequence_number: u16,
    pub sent_time: u16,
    pub command_number: u8,
}

/// What kind of incoming command an entry in an incoming queue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IncomingKind {
    Reliable,
    Fragment,
    Unreliable,
    UnreliableFragment,
    Unsequenced,
}

/// A received packet or fragment group waiting for in-order delivery.
#[derive(Debug)]
pub(crate) struct IncomingCommand {
    pub kind: IncomingKind,
    pub reliable_sequence_number: u16,
    pub unreliable_sequence_number: u16,
    pub fragment_count: u32,
    pub fragments_remaining: u32,
    /// The packet, or the in-order prefix of a fragment group.
    pub data: Vec<u8>,
    /// Reassembly state of a fragment group (`None` for whole packets).
    pub reassembly: Option<Box<Reassembly>>,
    pub flags: PacketFlags,
    /// What the entry is charged against the peer's waiting-data limit (its announced
    /// length plus [`INCOMING_ENTRY_COST`]).
    pub reserved: usize,
    /// What the entry holds in memory now (counted in the host's buffered bytes).
    pub committed: usize,
}

impl IncomingCommand {
    /// Length of the packet this entry delivers.
    pub fn packet_length(&self) -> usize {
        match &self.reassembly {
            Some(r) => r.total_length as usize,
            None => self.data.len(),
        }
    }
}

/// What one received packet costs against the waiting-data limit besides its payload: its
/// queue entry, later its event. Without it, packets without payload would be free, and a
/// peer could park an unbounded number of them.
pub(crate) const INCOMING_ENTRY_COST: usize = std::mem::size_of::<IncomingCommand>();

/// The cost of a received packet of `len` bytes against the waiting-data limit.
pub(crate) fn waiting_cost(len: usize) -> usize {
    len + INCOMING_ENTRY_COST
}

/// The duplicate bitmap of the unsequenced groups of one block.
pub(crate) type UnsequencedWindow = [u32; (UNSEQUENCED_WINDOW_SIZE / 32) as usize];

/// Per-channel sequencing state.
#[derive(Debug, Default)]
pub(crate) struct Channel {
    pub outgoing_reliable_sequence_number: u16,
    pub outgoing_unreliable_sequence_number: u16,
    pub used_reliable_windows: u16,
    pub reliable_windows: [u16; RELIABLE_WINDOWS as usize],
    pub incoming_reliable_sequence_number: u16,
    pub incoming_unreliable_sequence_number: u16,
    /// Absolute position of `incoming_reliable_sequence_number` (see [`crate::incoming`]).
    pub incoming_base: u64,
    pub incoming_reliable_commands: BTreeMap<ReliableKey, IncomingCommand>,
    pub incoming_unreliable_commands: BTreeMap<UnreliableKey, IncomingCommand>,
}

impl Channel {
    pub fn reset(&mut self) {
        self.outgoing_reliable_sequence_number = 0;
        self.outgoing_unreliable_sequence_number = 0;
        self.used_reliable_windows = 0;
        self.reliable_windows = [0; RELIABLE_WINDOWS as usize];
        self.incoming_reliable_sequence_number = 0;
        self.incoming_unreliable_sequence_number = 0;
        self.incoming_base = 0;
        self.incoming_reliable_commands.clear();
        self.incoming_unreliable_commands.clear();
    }

    /// The absolute position of reliable seq `seq`, at or ahead of the channel's position.
    pub fn position(&self, seq: u16) -> u64 {
        self.incoming_base.wrapping_add(u64::from(
            seq.wrapping_sub(self.incoming_reliable_sequence_number),
        ))
    }

    /// Moves the channel's reliable position to `seq`, forward.
    pub fn advance_to(&mut self, seq: u16) {
        self.incoming_base = self.position(seq);
        self.incoming_reliable_sequence_number = seq;
    }
}

/// Whether reliable seq `seq` lies inside the receive window that starts at `current`.
pub(crate) fn in_receive_window(seq: u16, current: u16) -> bool {
    let mut w = seq / RELIABLE_WINDOW_SIZE;
    let cw = current / RELIABLE_WINDOW_SIZE;
    if seq < current {
        w += RELIABLE_WINDOWS;
    }
    w >= cw && w < cw + FREE_RELIABLE_WINDOWS - 1
}

/// Cumulative per-peer traffic counters, never reset by the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerCounters {
    /// Datagrams sent to this peer.
    pub datagrams_sent: u64,
    /// Bytes sent to this peer (on the wire, after compression).
    pub bytes_sent: u64,
    /// Datagrams accepted from this peer.
    pub datagrams_received: u64,
    /// Bytes accepted from this peer (after decompression).
    pub bytes_received: u64,
    /// Packets delivered to the application.
    pub packets_received: u64,
    /// Packets queued by the application.
    pub packets_sent: u64,
    /// Reliable commands retransmitted.
    pub retransmissions: u64,
    /// Reliable commands queued again by early retransmission, before their timeout (each
    /// also counts in `retransmissions` once it is sent).
    pub early_retransmissions: u64,
}

/// One peer slot.
#[derive(Debug)]
pub(crate) struct Peer {
    pub incoming_peer_id: u16,
    pub outgoing_peer_id: u16,
    pub state: PeerState,
    pub address: SocketAddr,
    pub connect_id: [u8; 4],
    pub incoming_session_id: u8,
    pub outgoing_session_id: u8,
    /// Announced bandwidths and bandwidth-throttle bookkeeping.
    pub bandwidth: Bandwidth,
    pub last_send_time: u32,
    pub last_receive_time: u32,
    /// Retransmission deadline and timeout settings.
    pub timeouts: Timeouts,
    /// Packet-loss statistics.
    pub loss: LossStats,
    /// Packet throttle.
    pub throttle: Throttle,
    /// Round-trip time estimate.
    pub rtt: RttEstimator,
    pub mtu: u32,
    pub window_size: u32,
    pub reliable_data_in_transit: u32,
    /// The adaptive transit window (see `transit`).
    pub transit: TransitWindow,
    pub outgoing_reliable_sequence_number: u16,
    /// Outgoing command queues.
    pub queues: CommandQueues,
    pub incoming_unsequenced_group: u16,
    pub outgoing_unsequenced_group: u16,
    /// Unsequenced groups seen in the current block (`None`: none yet). Allocated on the
    /// connection's first unsequenced packet: most peers never send one.
    pub unsequenced_window: Option<Box<UnsequencedWindow>>,
    pub event_data: u32,
    pub total_waiting_data: usize,
    /// What the undelivered packets cost against the waiting-data limit: their payload
    /// bytes plus [`INCOMING_ENTRY_COST`] each (see [`waiting_cost`]).
    pub waiting_cost: usize,
    /// The part of `waiting_cost` still in the channels' incoming queues (received, not yet
    /// delivered in order); the rest waits in the host's event queue.
    pub held_cost: usize,
    /// Bytes the channels' incoming queues hold in memory (part of the host's buffered bytes).
    pub held_committed: usize,
    /// Bytes of this peer's undelivered receive events (part of the host's buffered bytes).
    pub event_committed: usize,
    /// Position in the host's queue of half-open connections, while in that queue.
    pub half_open: Option<u64>,
    pub channels: Vec<Channel>,
    /// Number of channels in use (the vector may be longer and is reused).
    pub channel_count: usize,
    pub continue_sending: bool,
    /// Queued for a send pass.
    pub in_send_queue: bool,
    /// Bumped on every reset, so stale events and timers can be recognised.
    pub incarnation: u32,
    /// Whether the peer is registered in the host's duplicate-detection maps.
    pub registered: bool,
    /// Counted in `connected_peers`.
    pub counted_connected: bool,
    pub counters: PeerCounters,
}

impl Peer {
    pub fn new(index: u16, mtu: u32, placeholder: SocketAddr) -> Peer {
        Peer {
            incoming_peer_id: index,
            outgoing_peer_id: crate::protocol::MAXIMUM_PEER_ID,
            state: PeerState::Disconnected,
            address: placeholder,
            connect_id: [0; 4],
            incoming_session_id: 0xFF,
            outgoing_session_id: 0xFF,
            bandwidth: Bandwidth::default(),
            last_send_time: 0,
            last_receive_time: 0,
            timeouts: Timeouts::default(),
            loss: LossStats::default(),
            throttle: Throttle::default(),
            rtt: RttEstimator::default(),
            mtu,
            window_size: MAXIMUM_WINDOW_SIZE,
            reliable_data_in_transit: 0,
            transit: TransitWindow::default(),
            outgoing_reliable_sequence_number: 0,
            queues: CommandQueues::default(),
            incoming_unsequenced_group: 0,
            outgoing_unsequenced_group: 0,
            unsequenced_window: None,
            event_data: 0,
            total_waiting_data: 0,
            waiting_cost: 0,
            held_cost: 0,
            held_committed: 0,
            event_committed: 0,
            half_open: None,
            channels: Vec::new(),
            channel_count: 0,
            continue_sending: false,
            in_send_queue: false,
            incarnation: 0,
            registered: false,
            counted_connected: false,
            counters: PeerCounters::default(),
        }
    }

    /// Drops every queued command (freeing its slot in `slab`) and packet and releases the
    /// channels (`enet_peer_reset_queues`).
    pub fn reset_queues(&mut self, slab: &mut CommandSlab) {
        self.queues.clear(slab);
        for c in &mut self.channels[..self.channel_count] {
            c.reset();
        }
        self.channel_count = 0;
        self.total_waiting_data = 0;
        self.waiting_cost = 0;
        self.held_cost = 0;
        self.held_committed = 0;
        self.event_committed = 0;
    }

    /// Resets the slot to its defaults (`enet_peer_reset`). Session ids survive.
    pub fn reset(&mut self, host_mtu: u32, slab: &mut CommandSlab) {
        let keep = (
            self.incoming_peer_id,
            self.incoming_session_id,
            self.outgoing_session_id,
            self.address,
            self.incarnation,
            self.counters,
        );
        self.reset_queues(slab);
        // Reuse allocated queues and channels: swap them out, rebuild, and swap back.
        let queues = std::mem::take(&mut self.queues);
        let channels = std::mem::take(&mut self.channels);
        *self = Peer::new(keep.0, host_mtu, keep.3);
        self.incoming_session_id = keep.1;
        self.outgoing_session_id = keep.2;
        self.incarnation = keep.4.wrapping_add(1);
        self.counters = keep.5;
        self.queues = queues;
        self.channels = channels;
    }

    /// Allocates `count` channels with zeroed state.
    pub fn setup_channels(&mut self, count: usize) {
        if self.channels.len() < count {
            // Exactly `count`: an amortised resize would round a single channel up to four.
            self.channels.reserve_exact(count - self.channels.len());
            self.channels.resize_with(count, Channel::default);
        }
        for c in &mut self.channels[..count] {
            c.reset();
        }
        self.channel_count = count;
    }

    pub fn has_outgoing_commands(&self) -> bool {
        self.queues.has_outgoing_commands()
    }

    /// Whether the peer counts as connected for bandwidth bookkeeping.
    pub fn is_connected_state(&self) -> bool {
        matches!(
            self.state,
            PeerState::Connected | PeerState::DisconnectLater
        )
    }
}

#[cfg(test)]
mod tests;
