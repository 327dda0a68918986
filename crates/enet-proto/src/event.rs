//! Events the host hands to the application, and the host's error and drop accounting.

use crate::packet::Packet;

/// Identifies one connection of a host: a slot index in the host's peer table plus the
/// slot's generation.
///
/// Slots are reused after a peer disconnects and its disconnect event has been polled (or
/// after `disconnect_now`/`reset`); each reuse starts a new generation. An id whose
/// generation is over is *stale*: the host refuses it ([`Error::InvalidPeer`]), its
/// [`Host::peer_state`](crate::Host::peer_state) is `Disconnected` and
/// [`Host::peer_info`](crate::Host::peer_info) is `None`, so it never reaches the slot's next
/// occupant. Ids come from [`Host::connect`](crate::Host::connect) and events;
/// [`Host::peer_id`](crate::Host::peer_id) names a slot's current generation by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId {
    index: u16,
    generation: u32,
}

impl PeerId {
    pub(crate) fn new(index: usize, generation: u32) -> PeerId {
        PeerId {
            index: index as u16,
            generation,
        }
    }

    /// An id built by hand from a slot index and generation (for tests and tools). It is
    /// checked like any other: out of range or stale, the host refuses it.
    pub fn from_parts(index: u16, generation: u32) -> PeerId {
        PeerId { index, generation }
    }

    /// The slot index as `usize`.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// The slot's generation this id belongs to.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The remote peer disconnected (its data is in the event).
    Remote,
    /// Our own graceful disconnect completed (the remote acknowledged it).
    Local,
    /// The peer stopped answering: retransmissions ran past the timeout limits.
    Timeout,
    /// The connection attempt was answered with an invalid VERIFY_CONNECT.
    Refused,
}

/// Something the application should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A connection was established. `data` is the CONNECT data on the server, 0 on the client.
    Connect {
        /// The peer.
        peer: PeerId,
        /// User data from the connection request (0 on the connecting side).
        data: u32,
    },
    /// A connection ended. The peer slot is freed once this event is polled.
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// User data of the remote's DISCONNECT; 0 otherwise.
        data: u32,
        /// Why the connection ended.
        reason: DisconnectReason,
    },
    /// A packet arrived.
    Receive {
        /// The sender.
        peer: PeerId,
        /// The channel it arrived on.
        channel_id: u8,
        /// The packet; its flags say how it travelled.
        packet: Packet,
    },
}

/// What is wrong with a configuration ([`Error::InvalidConfig`]), with the value refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `peer_count` outside 1..=4095.
    #[error("peer_count must be 1..=4095, got {0}")]
    PeerCount(usize),
    /// An MTU outside 576..=4096.
    #[error("mtu must be 576..=4096, got {0}")]
    Mtu(u32),
    /// With the checksum on, the MTU must leave room for its 4 bytes within 4096.
    #[error("mtu {0} leaves no room for the 4-byte checksum within 4096 bytes")]
    MtuWithChecksum(u32),
    /// A transit window outside 65,536..=16,777,216 bytes.
    #[error("transit_window must be 65536..=16777216 bytes, got {0}")]
    TransitWindow(u32),
}

/// Errors of host operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(ConfigError),
    /// No peer slot with that id, or the id is stale (its connection is over and the slot
    /// was reset since, see [`PeerId`]).
    #[error("invalid or stale peer id")]
    InvalidPeer,
    /// Every peer slot is in use.
    #[error("no free peer slot")]
    NoFreePeer,
    /// The peer is not connected.
    #[error("peer is not connected")]
    NotConnected,
    /// The channel id is not below the peer's channel count.
    #[error("invalid channel")]
    InvalidChannel,
    /// The packet exceeds the host's maximum packet size.
    #[error("packet too large")]
    PacketTooLarge,
    /// The address cannot be answered: port 0, unspecified, broadcast or multicast
    /// (IPv4, IPv6 or IPv4-mapped IPv6).
    #[error("address cannot be connected to (port 0, unspecified, broadcast or multicast)")]
    InvalidAddress,
}

/// Why an incoming datagram, or the rest of one (or, where noted, one command), was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(usize)]
#[non_exhaustive]
pub enum DropReason {
    /// Shorter than its header.
    Truncated = 0,
    /// Header names a peer id beyond the peer table.
    UnknownPeer,
    /// The addressed peer slot is free or finished.
    InactivePeer,
    /// The source address is not the peer's.
    AddressMismatch,
    /// The session id does not match the peer's.
    SessionMismatch,
    /// Compressed, but this host has no decompressor.
    NoDecompressor,
    /// Decompression failed.
    DecompressFailed,
    /// The checksum did not match.
    ChecksumMismatch,
    /// A command number outside 1..=12.
    UnknownCommand,
    /// A command's fixed part runs past the end of the datagram.
    TruncatedCommand,
    /// A payload runs past the end of the datagram.
    PayloadOverrun,
    /// A command addressed to no peer that is not CONNECT.
    NoPeer,
    /// A channel id at or above the peer's channel count.
    InvalidChannel,
    /// A command the peer's state does not allow.
    UnexpectedCommand,
    /// Fragment fields that contradict each other or an earlier fragment.
    InvalidFragment,
    /// A packet above the maximum packet size.
    PacketTooLarge,
    /// The peer has too much undelivered data waiting.
    WaitingDataLimit,
    /// A connection request refused (host full, duplicate, too many from one address, bad channel count).
    ConnectRefused,
    /// An acknowledgement the peer's state does not allow, or one whose echoed sent time
    /// lies in the future. The latter is only ignored: like C, the rest of its datagram is
    /// still processed.
    UnexpectedAcknowledge,
    /// A VERIFY_CONNECT that does not match our CONNECT.
    InvalidVerifyConnect,
    /// A reliable command in a datagram without sent time (it cannot be acknowledged).
    MissingSentTime,
    /// A source address no reply can reach (port 0, unspecified, broadcast or multicast),
    /// dropped before any peer state exists.
    UnanswerableSource,
    /// A datagram larger than ENet's maximum MTU (4,096 bytes).
    OversizeDatagram,
    /// A channel's incoming queue already holds its maximum number of entries
    /// ([`crate::host::MAXIMUM_HELD_PER_QUEUE`]); one command dropped.
    QueueFull,
    /// A fragment that does not sit at `fragment_number × fragment_length` of its group, as
    /// every ENet sender places fragments.
    MisplacedFragment,
    /// The host's budget for buffered incoming data is spent (the heaviest peers are refused
    /// first); one command dropped.
    HostBufferBudget,
    /// A half-open connection (CONNECT answered, VERIFY_CONNECT not yet acknowledged)
    /// evicted, oldest first, to make room for a new CONNECT on a full host. Counts
    /// evictions, not dropped datagrams.
    HalfOpenEvicted,
}

impl DropReason {
    /// Number of reasons.
    pub const COUNT: usize = DropReason::HalfOpenEvicted as usize + 1;
    /// Every reason, in numbering order.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Truncated,
        DropReason::UnknownPeer,
        DropReason::InactivePeer,
        DropReason::AddressMismatch,
        DropReason::SessionMismatch,
        DropReason::NoDecompressor,
        DropReason::DecompressFailed,
        DropReason::ChecksumMismatch,
        DropReason::UnknownCommand,
        DropReason::TruncatedCommand,
        DropReason::PayloadOverrun,
        DropReason::NoPeer,
        DropReason::InvalidChannel,
        DropReason::UnexpectedCommand,
        DropReason::InvalidFragment,
        DropReason::PacketTooLarge,
        DropReason::WaitingDataLimit,
        DropReason::ConnectRefused,
        DropReason::UnexpectedAcknowledge,
        DropReason::InvalidVerifyConnect,
        DropReason::MissingSentTime,
        DropReason::UnanswerableSource,
        DropReason::OversizeDatagram,
        DropReason::QueueFull,
        DropReason::MisplacedFragment,
        DropReason::HostBufferBudget,
        DropReason::HalfOpenEvicted,
    ];
}

/// Counters of dropped input, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropStats {
    counts: [u64; DropReason::COUNT],
}

impl DropStats {
    /// How often `reason` occurred.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason as usize]
    }

    /// Total drops over all reasons.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub(crate) fn add(&mut self, reason: DropReason) {
        self.counts[reason as usize] += 1;
    }
}
