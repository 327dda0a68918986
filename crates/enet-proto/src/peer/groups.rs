//! The groups of a peer's state, each with the arithmetic that updates it: outgoing command
//! queues, the round-trip estimate, the packet throttle, the loss statistics, the timeout
//! settings and the bandwidth bookkeeping. The engine's `Peer` holds one of each.
//!
//! Every group but the queues is also public, as the snapshot [`crate::PeerInfo`] hands
//! out: a copy, so changing one changes nothing in the engine. They are
//! `#[non_exhaustive]` (only the engine builds them) and their fields keep the C library's
//! names (`ENetPeer`), which Godot's peer statistics also follow.

use std::collections::VecDeque;

use super::*;

/// A peer's outgoing command queues: slots of the host's [`CommandSlab`], in order.
///
/// A queue holds 4-byte slot numbers, not the commands: a command is stored once, in the
/// host-wide slab, and moving it from one queue to another (sent, put back for
/// retransmission) moves only its number. A peer's queues thus cost 4 bytes per queued
/// command, and the commands themselves cost what the host has in flight at once, not
/// what every peer ever had.
#[derive(Debug, Default)]
pub(crate) struct CommandQueues {
    /// Acknowledgements waiting to be sent.
    pub acknowledgements: VecDeque<Acknowledgement>,
    /// Reliable commands sent and not yet acknowledged (the retransmission queue).
    pub sent_reliable_commands: VecDeque<CommandSlot>,
    /// Commands without a reliable packet, waiting to be sent.
    pub outgoing_commands: VecDeque<CommandSlot>,
    /// Reliable commands carrying a packet, waiting for room in the reliable window.
    pub outgoing_send_reliable_commands: VecDeque<CommandSlot>,
}

impl CommandQueues {
    /// Empties every queue, keeping the allocations, and frees the commands' slots in
    /// `slab`.
    pub fn clear(&mut self, slab: &mut CommandSlab) {
        self.acknowledgements.clear();
        for q in [
            &mut self.sent_reliable_commands,
            &mut self.outgoing_commands,
            &mut self.outgoing_send_reliable_commands,
        ] {
            for slot in q.drain(..) {
                slab.take(slot);
            }
        }
    }

    /// Whether any command waits to be sent or acknowledged.
    pub fn has_outgoing_commands(&self) -> bool {
        !self.outgoing_commands.is_empty()
            || !self.outgoing_send_reliable_commands.is_empty()
            || !self.sent_reliable_commands.is_empty()
    }
}

/// Round-trip time estimate: the smoothed mean and variance, and the extremes over the
/// current and the previous throttle epoch (which drive the packet throttle). All ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RttEstimator {
    /// Smoothed round-trip time.
    pub round_trip_time: u32,
    /// Round-trip time variance.
    pub round_trip_time_variance: u32,
    /// Lowest RTT of the previous epoch.
    pub last_round_trip_time: u32,
    /// Highest variance of the previous epoch.
    pub last_round_trip_time_variance: u32,
    /// Lowest RTT of the current epoch.
    pub lowest_round_trip_time: u32,
    /// Highest variance of the current epoch.
    pub highest_round_trip_time_variance: u32,
}

impl Default for RttEstimator {
    fn default() -> Self {
        RttEstimator {
            round_trip_time: DEFAULT_ROUND_TRIP_TIME,
            round_trip_time_variance: 0,
            last_round_trip_time: DEFAULT_ROUND_TRIP_TIME,
            last_round_trip_time_variance: 0,
            lowest_round_trip_time: DEFAULT_ROUND_TRIP_TIME,
            highest_round_trip_time_variance: 0,
        }
    }
}

impl RttEstimator {
    /// Folds in a round-trip sample `rtt` (ms, at least 1); the first sample of a
    /// connection replaces the initial estimate.
    pub(crate) fn sample(&mut self, rtt: u32, first: bool) {
        if first {
            self.round_trip_time = rtt;
            self.round_trip_time_variance = rtt.div_ceil(2);
        } else {
            self.round_trip_time_variance -= self.round_trip_time_variance / 4;
            if rtt >= self.round_trip_time {
                let diff = rtt - self.round_trip_time;
                self.round_trip_time_variance += diff / 4;
                self.round_trip_time += diff / 8;
            } else {
                let diff = self.round_trip_time - rtt;
                self.round_trip_time_variance += diff / 4;
                self.round_trip_time -= diff / 8;
            }
        }
        self.lowest_round_trip_time = self.lowest_round_trip_time.min(self.round_trip_time);
        self.highest_round_trip_time_variance = self
            .highest_round_trip_time_variance
            .max(self.round_trip_time_variance);
    }

    /// Starts a new throttle epoch: the current extremes become the previous epoch's.
    pub(crate) fn next_epoch(&mut self) {
        self.last_round_trip_time = self.lowest_round_trip_time;
        self.last_round_trip_time_variance = self.highest_round_trip_time_variance.max(1);
        self.lowest_round_trip_time = self.round_trip_time;
        self.highest_round_trip_time_variance = self.round_trip_time_variance;
    }
}

/// The packet throttle (`enet_peer_throttle`): how much of the unreliable traffic and of the
/// reliable window is used, out of [`PACKET_THROTTLE_SCALE`], and how it moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Throttle {
    /// Current throttle, 0..=[`PACKET_THROTTLE_SCALE`].
    pub packet_throttle: u32,
    /// Upper bound set by the bandwidth throttle.
    pub packet_throttle_limit: u32,
    /// Drop counter for unreliable packets.
    pub packet_throttle_counter: u32,
    /// Start of the current throttle epoch (service time).
    pub packet_throttle_epoch: u32,
    /// Step up on a good round trip.
    pub packet_throttle_acceleration: u32,
    /// Step down on a bad round trip.
    pub packet_throttle_deceleration: u32,
    /// Epoch length, ms.
    pub packet_throttle_interval: u32,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            packet_throttle: DEFAULT_PACKET_THROTTLE,
            packet_throttle_limit: PACKET_THROTTLE_SCALE,
            packet_throttle_counter: 0,
            packet_throttle_epoch: 0,
            packet_throttle_acceleration: DEFAULT_PACKET_THROTTLE_ACCELERATION,
            packet_throttle_deceleration: DEFAULT_PACKET_THROTTLE_DECELERATION,
            packet_throttle_interval: DEFAULT_PACKET_THROTTLE_INTERVAL,
        }
    }
}

impl Throttle {
    /// Moves the throttle for a round-trip sample `rtt` against the previous epoch's
    /// extremes in `est` (`enet_peer_throttle`): up when the sample is no worse than the
    /// previous lowest, down when it is well above it, to the limit on a stable link.
    pub(crate) fn adjust(&mut self, rtt: u32, est: &RttEstimator) {
        if est.last_round_trip_time <= est.last_round_trip_time_variance {
            self.packet_throttle = self.packet_throttle_limit;
        } else if rtt <= est.last_round_trip_time {
            // The acceleration is the remote's (THROTTLE_CONFIGURE, CONNECT): any u32.
            self.packet_throttle = self
                .packet_throttle
                .saturating_add(self.packet_throttle_acceleration)
                .min(self.packet_throttle_limit);
        } else if rtt > est.last_round_trip_time + 2 * est.last_round_trip_time_variance {
            self.packet_throttle = self
                .packet_throttle
                .saturating_sub(self.packet_throttle_deceleration);
        }
    }

    /// Whether the throttle epoch that started at `packet_throttle_epoch` is over at `now`.
    pub(crate) fn epoch_due(&self, now: u32) -> bool {
        self.packet_throttle_epoch == 0
            || crate::time::time_difference(now, self.packet_throttle_epoch)
                >= self.packet_throttle_interval
    }
}

/// Packet-loss statistics, folded in once per loss epoch (10 s, as in ENet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LossStats {
    /// Start of the current loss epoch (service time; 0 before the first datagram).
    pub packet_loss_epoch: u32,
    /// Commands sent in the current epoch.
    pub packets_sent: u32,
    /// Reliable commands retransmitted in the current epoch.
    pub packets_lost: u32,
    /// Mean loss, scaled by [`PACKET_LOSS_SCALE`].
    pub packet_loss: u32,
    /// Loss variance, same scale.
    pub packet_loss_variance: u32,
}

impl LossStats {
    /// Called for every datagram sent at `now`: starts the first epoch, or, once an epoch
    /// is over and something was sent in it, folds its loss ratio into the mean and
    /// variance and starts the next.
    pub(crate) fn update(&mut self, now: u32) {
        if self.packet_loss_epoch == 0 {
            self.packet_loss_epoch = now;
        } else if crate::time::time_difference(now, self.packet_loss_epoch) >= PACKET_LOSS_INTERVAL
            && self.packets_sent > 0
        {
            let loss = ((self.packets_lost as u64 * PACKET_LOSS_SCALE as u64)
                / self.packets_sent as u64) as u32;
            self.packet_loss_variance =
                (self.packet_loss_variance * 3 + loss.abs_diff(self.packet_loss)) / 4;
            self.packet_loss = (self.packet_loss * 7 + loss) / 8;
            self.packet_loss_epoch = now;
            self.packets_sent = 0;
            self.packets_lost = 0;
        }
    }
}

/// Retransmission deadline and the timeout and ping settings.
///
/// A read-only snapshot outside the engine (from [`PeerInfo`](crate::PeerInfo)): its
/// bookkeeping methods are the engine's own.
///
/// ```
/// let t = enet_proto::Timeouts::default();
/// assert!(t.early_retransmit && t.newest_acked_sent.is_none());
/// ```
/// ```compile_fail
/// let mut t = enet_proto::Timeouts::default();
/// t.acked(1, 40);
/// ```
/// ```compile_fail
/// let t = enet_proto::Timeouts::default();
/// let _ = t.early_due(1, 2, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Ping interval, ms.
    pub ping_interval: u32,
    /// Doubling retransmissions before a timeout is possible.
    pub timeout_limit: u32,
    /// Minimum time without acknowledgement before a timeout, ms.
    pub timeout_minimum: u32,
    /// Maximum time without acknowledgement before a timeout, ms.
    pub timeout_maximum: u32,
    /// When the front of the retransmission queue is due (service time).
    pub next_timeout: u32,
    /// Send time of the oldest unacknowledged retransmitted command (0: none).
    pub earliest_timeout: u32,
    /// Whether reliable commands are retransmitted early, before their timeout, once a
    /// command sent after them has been acknowledged (see [`Host::set_early_retransmit`](crate::Host::set_early_retransmit)).
    pub early_retransmit: bool,
    /// Latest send time (service time) that an acknowledgement has echoed.
    pub newest_acked_sent: Option<u32>,
    /// The round trip (ms) measured by the acknowledgement that echoed `newest_acked_sent`.
    pub newest_acked_rtt: u32,
    /// How much reordering early retransmission allows for, in eighths of the RTT (0: none
    /// seen on this path, a sixteenth). Each early copy that proves spurious (its
    /// acknowledgement echoes an earlier copy: the path reordered or delayed more than
    /// allowed) adds one eighth, up to [`MAX_REORDER_SCALE`] (the whole RTT); every
    /// [`REORDER_DECAY`] early copies that prove needed take one off.
    pub reorder_scale: u8,
    /// Early copies proven needed since `reorder_scale` last changed.
    pub needed_early_copies: u8,
}

/// Largest [`Timeouts::reorder_scale`]: a reordering allowance of one RTT.
pub const MAX_REORDER_SCALE: u8 = 8;
/// Early retransmissions proven needed (their acknowledgement echoes the early copy) after
/// which [`Timeouts::reorder_scale`] goes down by one.
pub const REORDER_DECAY: u8 = 16;

impl Timeouts {
    /// Early retransmission's reordering allowance (ms) on a path with round-trip time
    /// `rtt`: a sixteenth of it while the path has not reordered, then
    /// `reorder_scale` eighths; at least 2 ms (the clock's resolution and a margin).
    pub(crate) fn reorder_allowance(&self, rtt: u32) -> u32 {
        let allowance = if self.reorder_scale == 0 {
            rtt / 16
        } else {
            (rtt / 8).saturating_mul(u32::from(self.reorder_scale))
        };
        allowance.max(2)
    }

    /// The verdict on an early copy, from the acknowledgement that ended its command:
    /// `spurious` when it echoes an earlier copy's send time (that copy arrived; its
    /// acknowledgement came later than the allowance), else the early copy was needed.
    pub(crate) fn early_copy_verdict(&mut self, spurious: bool) {
        if spurious {
            self.reorder_scale = (self.reorder_scale + 1).min(MAX_REORDER_SCALE);
            self.needed_early_copies = 0;
        } else if self.reorder_scale > 0 {
            self.needed_early_copies += 1;
            if self.needed_early_copies >= REORDER_DECAY {
                self.reorder_scale -= 1;
                self.needed_early_copies = 0;
            }
        }
    }

    /// Records that a datagram sent at `sent` (service time) arrived `rtt` ms later: an
    /// acknowledgement echoed its send time.
    pub(crate) fn acked(&mut self, sent: u32, rtt: u32) {
        if self
            .newest_acked_sent
            .is_none_or(|t| crate::time::time_less(t, sent))
        {
            self.newest_acked_sent = Some(sent);
            self.newest_acked_rtt = rtt;
        }
    }

    /// When (service time) a reliable command whose last transmission was at `sent_time`
    /// is presumed lost, if something sent at the same time or after it has been
    /// acknowledged: once the round trip of that acknowledgement plus `reorder` ms have
    /// passed since `sent_time` (TCP's RACK). Something sent more than `reorder` ms after
    /// it makes that at once; something sent in the same burst, `reorder` ms after the
    /// acknowledgement of that. It only makes a retransmission come sooner, and receivers
    /// drop the duplicates a spurious one causes, so the wire protocol is unchanged.
    pub(crate) fn early_deadline(&self, sent_time: u32, reorder: u32) -> Option<u32> {
        let t = self.newest_acked_sent.filter(|_| self.early_retransmit)?;
        crate::time::time_greater_equal(t, sent_time).then(|| {
            sent_time
                .wrapping_add(self.newest_acked_rtt)
                .wrapping_add(reorder)
        })
    }

    /// Whether a reliable command whose last transmission was at `sent_time` is presumed
    /// lost at `now` ([`Timeouts::early_deadline`] has passed).
    pub(crate) fn early_due(&self, sent_time: u32, reorder: u32, now: u32) -> bool {
        self.early_deadline(sent_time, reorder)
            .is_some_and(|d| crate::time::time_greater_equal(now, d))
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            ping_interval: DEFAULT_PING_INTERVAL,
            timeout_limit: DEFAULT_TIMEOUT_LIMIT,
            timeout_minimum: DEFAULT_TIMEOUT_MINIMUM,
            timeout_maximum: DEFAULT_TIMEOUT_MAXIMUM,
            next_timeout: 0,
            earliest_timeout: 0,
            early_retransmit: true,
            newest_acked_sent: None,
            newest_acked_rtt: 0,
            reorder_scale: 0,
            needed_early_copies: 0,
        }
    }
}

/// The remote's announced bandwidths and the per-epoch traffic totals the host's bandwidth
/// throttle works on (`enet_host_bandwidth_throttle`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bandwidth {
    /// The remote's download capacity, bytes/s (0 = unlimited).
    pub incoming_bandwidth: u32,
    /// The remote's upload capacity, bytes/s (0 = unlimited).
    pub outgoing_bandwidth: u32,
    /// When the bandwidth throttle last limited what we send to this peer (service time).
    pub outgoing_bandwidth_throttle_epoch: u32,
    /// When the bandwidth throttle last limited what this peer may send us (service time).
    pub incoming_bandwidth_throttle_epoch: u32,
    /// Bytes received from this peer in the current bandwidth epoch.
    pub incoming_data_total: u32,
    /// Bytes sent to this peer in the current bandwidth epoch.
    pub outgoing_data_total: u32,
}
