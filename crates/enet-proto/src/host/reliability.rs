//! Reliability: acknowledgements, round-trip time, retransmission and timeouts.
//!
//! Owns the handling of a received ACKNOWLEDGE (RTT sample, the per-ack throttle update,
//! removing the command from the retransmission queue and the state transitions it
//! completes), the retransmission pass with its capped back-off and the timeout decision,
//! early retransmission, and the per-peer ping, timeout and early-retransmission settings.
//!
//! Early retransmission (not in the C library; the wire format is unchanged): once an
//! acknowledgement echoes a send time more than a reordering allowance (a sixteenth of the
//! RTT, widening by an eighth for each early copy that proves spurious, at least 2 ms)
//! after an unacknowledged reliable command's last transmission, that command is presumed
//! lost and goes out again at the next send pass instead of at its retransmission timeout;
//! a command sent at the same time as (or after) the acknowledged one, in the same burst,
//! is presumed lost once the allowance has passed after that acknowledgement's round trip
//! (TCP's RACK). It keeps its timeout (no back-off: the acknowledgement shows the path
//! alive), and only an acknowledgement of something sent after the new transmission
//! can trigger it again, at most [`MAX_EARLY_RETRANSMISSIONS`] times per command; only
//! acknowledgements of commands still awaiting one count, and early copies do not count
//! toward the timeout limit. An echoed send time newer than the acknowledged command's
//! last transmission is clamped to it, so a receiver forging echoes can neither mark
//! commands in flight lost nor shrink the RTT estimate. A spurious copy (its
//! acknowledgement was lost, or the link reordered more than the allowance) is dropped by
//! the receiver as a duplicate, as C and this engine do with any retransmission.
//!
//! The losses found here also steer the peer's adaptive transit window (see
//! `crate::peer::transit` and [`HostConfig::transit_window`]): acknowledged bytes widen it,
//! early losses at congestion scale and tail-loss timeouts narrow it.

use super::*;

/// What [`Host::remove_sent_reliable_command`] removed.
pub(super) struct RemovedCommand {
    /// The command number (without flags).
    pub(super) command: u8,
    /// When it was last transmitted (service time).
    pub(super) last_sent: u32,
    /// Whether it was transmitted again after a timeout.
    pub(super) timed_retransmit: bool,
    /// Whether it was transmitted again early (before its timeout).
    pub(super) early_copies: bool,
}

impl Host {
    /// Sets how often an idle peer is pinged (ms; 0 restores the default 500).
    pub fn set_ping_interval(&mut self, peer: PeerId, interval: u32) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        self.peers[idx].timeouts.ping_interval = if interval == 0 {
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
        p.timeouts.timeout_limit = if limit == 0 {
            DEFAULT_TIMEOUT_LIMIT
        } else {
            limit
        };
        p.timeouts.timeout_minimum = if minimum == 0 {
            DEFAULT_TIMEOUT_MINIMUM
        } else {
            minimum
        };
        p.timeouts.timeout_maximum = if maximum == 0 {
            DEFAULT_TIMEOUT_MAXIMUM
        } else {
            maximum
        };
        Ok(())
    }

    /// Turns early retransmission on or off for a peer (a new peer starts with
    /// [`HostConfig::early_retransmit`], on by default). Off, retransmissions wait for their
    /// timeout as in the C library.
    pub fn set_early_retransmit(&mut self, peer: PeerId, enabled: bool) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        self.peers[idx].timeouts.early_retransmit = enabled;
        Ok(())
    }

    /// Whether early retransmission is on for a peer.
    pub fn early_retransmit(&self, peer: PeerId) -> Result<bool, Error> {
        let idx = self.peer_index(peer)?;
        Ok(self.peers[idx].timeouts.early_retransmit)
    }

    /// The reordering allowance of early retransmission, ms: a sixteenth of the RTT on a
    /// path that has not reordered, widening by an eighth per early copy found spurious, at
    /// least 2 (see [`Timeouts::reorder_scale`]). Every ms of it is a ms that a lost message
    /// holds up in-order delivery: over 40 ms RTT with 1 % loss, a sixteenth instead of an
    /// eighth moved 16 MB about 4 % faster (simulation); a quarter put the deadline of a loss
    /// in a burst within a few ms of its retransmission timeout, so the timeout often won.
    fn reorder_allowance(p: &Peer) -> u32 {
        p.timeouts.reorder_allowance(p.rtt.round_trip_time)
    }

    /// Whether `c` (in `p`'s retransmission queue) is presumed lost at `now` and may go out
    /// early.
    fn early_candidate(p: &Peer, c: &OutgoingCommand, now: u32) -> bool {
        c.early_retransmissions < MAX_EARLY_RETRANSMISSIONS
            && p.timeouts
                .early_due(c.sent_time, Self::reorder_allowance(p), now)
    }

    /// The earliest early-retransmission deadline in `idx`'s retransmission queue: that of
    /// the first command (in order of transmission) sent no later than the newest
    /// acknowledged one with early copies left. Usually the front; a scan past the front
    /// only passes commands whose early copies are spent.
    fn next_early_deadline(&self, idx: usize) -> Option<u32> {
        let p = &self.peers[idx];
        let reorder = Self::reorder_allowance(p);
        p.queues
            .sent_reliable_commands
            .iter()
            .map(|&slot| &self.commands[slot])
            .map_while(|c| {
                p.timeouts
                    .early_deadline(c.sent_time, reorder)
                    .map(|d| (d, c.early_retransmissions))
            })
            .find(|&(_, n)| n < MAX_EARLY_RETRANSMISSIONS)
            .map(|(d, _)| d)
    }

    /// Moves `idx`'s next deadline to `deadline` if that is sooner.
    fn pull_next_timeout(&mut self, idx: usize, deadline: u32) {
        let t = &mut self.peers[idx].timeouts;
        if time_less(deadline, t.next_timeout) {
            t.next_timeout = deadline;
        }
    }

    /// Retransmission and timeout check (`enet_protocol_check_timeouts`), plus early
    /// retransmission of commands presumed lost. Returns true if the peer timed out.
    pub(super) fn check_timeouts(&mut self, idx: usize) -> bool {
        let st = self.service_time;
        let mut i = 0;
        let mut insert_outgoing = 0;
        let mut insert_reliable = 0;
        // Whether a command went out again at its timeout in this pass, and whether one of
        // them had done so before.
        let mut timeouts: Option<bool> = None;
        loop {
            let p = &mut self.peers[idx];
            if i >= p.queues.sent_reliable_commands.len() {
                break;
            }
            let slot = p.queues.sent_reliable_commands[i];
            let c = &self.commands[slot];
            let timed_out = time_difference(st, c.sent_time) >= c.round_trip_timeout;
            if !timed_out {
                if !Self::early_candidate(p, c, st) {
                    i += 1;
                    continue;
                }
                // Presumed lost: out again now, same timeout, no timeout decision (the
                // acknowledgement that revealed the loss shows the peer alive).
                // Payload presumed lost counts against the transit window.
                let lost = if c.has_packet { c.fragment_length() } else { 0 };
                p.queues.sent_reliable_commands.remove(i);
                self.commands[slot].early_retransmissions += 1;
                p.loss.packets_lost += 1;
                p.counters.early_retransmissions += 1;
                p.transit.early_loss(lost, self.config.transit_window);
                self.requeue_for_retransmission(
                    idx,
                    i,
                    slot,
                    &mut insert_outgoing,
                    &mut insert_reliable,
                );
                continue;
            }
            if p.timeouts.earliest_timeout == 0
                || time_less(c.sent_time, p.timeouts.earliest_timeout)
            {
                p.timeouts.earliest_timeout = c.sent_time;
            }
            let waited = time_difference(st, p.timeouts.earliest_timeout);
            // Early copies are not timeout doublings: only timed-out transmissions bring
            // the timeout limit closer.
            let attempts_exceeded = {
                let timed = c
                    .send_attempts
                    .saturating_sub(u16::from(c.early_retransmissions));
                let shift = u32::from(timed.saturating_sub(1));
                shift >= 31 || (1u32 << shift) >= p.timeouts.timeout_limit
            };
            if p.timeouts.earliest_timeout != 0
                && (waited >= p.timeouts.timeout_maximum
                    || (attempts_exceeded && waited >= p.timeouts.timeout_minimum))
            {
                self.notify_disconnect(idx, DisconnectReason::Timeout);
                return true;
            }
            // For the transit window: a loss that acknowledgements of later commands have
            // revealed (its early deadline was about to pass too) counts as an early loss;
            // only one that nothing after it revealed (tail loss, a lost burst, a stalled
            // peer) counts as a timeout.
            if c.has_packet
                && p.timeouts
                    .early_deadline(c.sent_time, Self::reorder_allowance(p))
                    .is_some()
            {
                p.transit
                    .early_loss(c.fragment_length(), self.config.transit_window);
            } else {
                let timed_before = c
                    .send_attempts
                    .saturating_sub(u16::from(c.early_retransmissions))
                    > 1;
                timeouts = Some(timeouts.unwrap_or(false) || timed_before);
            }
            p.queues.sent_reliable_commands.remove(i);
            let c = &mut self.commands[slot];
            p.loss.packets_lost += 1;
            // ENet doubles the RTO without bound, so on a lossy link the last unacknowledged
            // packet is probed ever more rarely and a live peer can time out. We cap the
            // backoff so that at least 16 probes fit in the timeout minimum (never below
            // twice the current RTO estimate). The wire format is unaffected.
            let cap = (p.timeouts.timeout_minimum / 16)
                .max(2 * (p.rtt.round_trip_time + 4 * p.rtt.round_trip_time_variance));
            c.round_trip_timeout = c
                .round_trip_timeout
                .saturating_mul(2)
                .min(cap)
                .max(c.round_trip_timeout);
            self.requeue_for_retransmission(
                idx,
                i,
                slot,
                &mut insert_outgoing,
                &mut insert_reliable,
            );
        }
        if insert_outgoing + insert_reliable > 0 {
            self.schedule(idx);
        }
        let p = &mut self.peers[idx];
        if let Some(repeated) = timeouts {
            // Tail loss, a lost burst or a stalled peer: the transit window halves, or after
            // a repeated timeout goes back to C's (given back if the acknowledgement shows
            // the first copy was only late).
            p.transit.timed_out(repeated);
        }
        if p.timeouts.early_retransmit {
            // An early retransmission may have been requested with a deadline of "now" that
            // no command meets any more: the deadline is the front's timeout again, or the
            // next early-retransmission deadline if sooner.
            if let Some(&front) = p.queues.sent_reliable_commands.front() {
                let front = &self.commands[front];
                p.timeouts.next_timeout = front.sent_time.wrapping_add(front.round_trip_timeout);
                if let Some(d) = self.next_early_deadline(idx) {
                    // (Never "now" again: what was due now has just been handled.)
                    let soonest = st.wrapping_add(1);
                    self.pull_next_timeout(idx, if time_less(d, soonest) { soonest } else { d });
                }
            }
        }
        false
    }

    /// Puts a command taken from position `i` of the retransmission queue back in front of
    /// the outgoing queues (after those already put back this pass), as ENet does.
    fn requeue_for_retransmission(
        &mut self,
        idx: usize,
        i: usize,
        slot: CommandSlot,
        insert_outgoing: &mut usize,
        insert_reliable: &mut usize,
    ) {
        let p = &mut self.peers[idx];
        let c = &self.commands[slot];
        if c.has_packet {
            p.reliable_data_in_transit -= c.fragment_length();
            p.queues
                .outgoing_send_reliable_commands
                .insert(*insert_reliable, slot);
            *insert_reliable += 1;
        } else {
            p.queues.outgoing_commands.insert(*insert_outgoing, slot);
            *insert_outgoing += 1;
        }
        if i == 0 {
            if let Some(&front) = p.queues.sent_reliable_commands.front() {
                let front = &self.commands[front];
                p.timeouts.next_timeout = front.sent_time.wrapping_add(front.round_trip_timeout);
            }
        }
    }

    pub(super) fn handle_acknowledge(
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
        // The echoed send time is the receiver's word: never believe one newer than the
        // acknowledged command's last transmission (an honest echo is that or an earlier
        // transmission's time, so this changes nothing against the C library). Without
        // this a receiver echoing our current time collapses the RTT estimate and marks
        // every command in flight lost (early retransmission). (C samples the RTT before
        // removing the command; the order does not matter, neither step reads the other's.)
        let removed = self.remove_sent_reliable_command(idx, seq, channel_id);
        if let Some(r) = &removed {
            if r.early_copies && !r.timed_retransmit {
                // Echoing an earlier copy than the early one: the path reordered (or delayed)
                // more than the allowance, which widens. (With a timed copy as well, which copy
                // an echo of an earlier one proves late is unknown: no verdict.)
                self.peers[idx]
                    .timeouts
                    .early_copy_verdict(time_less(sent, r.last_sent));
            }
            if r.timed_retransmit {
                // Echoing an earlier transmission than the last: the timeout was spurious.
                self.peers[idx]
                    .transit
                    .timeout_verdict(time_less(sent, r.last_sent));
            }
            if time_less(r.last_sent, sent) {
                sent = r.last_sent;
            }
        }
        let removed = removed.map(|r| r.command);
        let p = &mut self.peers[idx];
        let rtt = time_difference(st, sent).max(1);
        let first = p.last_receive_time == 0;
        if !first {
            p.throttle.adjust(rtt, &p.rtt);
        }
        p.rtt.sample(rtt, first);
        if p.throttle.epoch_due(st) {
            p.rtt.next_epoch();
            p.throttle.packet_throttle_epoch = st;
        }
        p.last_receive_time = st.max(1);
        p.timeouts.earliest_timeout = 0;
        // Only the acknowledgement of a command still awaiting one counts: a repeated or
        // made-up acknowledgement reveals no loss and needs no scan.
        if removed.is_some() {
            p.timeouts.acked(sent, rtt);
            // The queue is in order of last transmission: the candidates are at its front.
            if let Some(d) = self.next_early_deadline(idx) {
                if time_greater_equal(st, d) {
                    // Something sent before the acknowledged command is presumed lost: check
                    // at the next send pass (later acknowledgements in this datagram may
                    // still clear it).
                    self.peers[idx].timeouts.next_timeout = st;
                    self.schedule(idx);
                } else {
                    // Sent in the same burst as the acknowledged command: presumed lost if
                    // its acknowledgement has not come `reorder` ms from now.
                    self.pull_next_timeout(idx, d);
                }
            }
        }
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
        if !p.queues.outgoing_send_reliable_commands.is_empty()
            || !p.queues.outgoing_commands.is_empty()
        {
            self.schedule(idx);
        }
        Ok(())
    }

    /// Removes an acknowledged command; returns what it was (see [`RemovedCommand`]).
    pub(super) fn remove_sent_reliable_command(
        &mut self,
        idx: usize,
        seq: u16,
        channel_id: u8,
    ) -> Option<RemovedCommand> {
        let p = &mut self.peers[idx];
        let matches = |c: &OutgoingCommand| {
            c.header.reliable_sequence_number == seq && c.header.channel_id == channel_id
        };
        let mut was_sent = true;
        let mut found = p
            .queues
            .sent_reliable_commands
            .iter()
            .position(|&slot| matches(&self.commands[slot]))
            .and_then(|i| p.queues.sent_reliable_commands.remove(i));
        if found.is_none() {
            was_sent = false;
            for queue in [
                &mut p.queues.outgoing_commands,
                &mut p.queues.outgoing_send_reliable_commands,
            ] {
                let mut hit = None;
                for (i, &slot) in queue.iter().enumerate() {
                    let c = &self.commands[slot];
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
        let cmd = self.commands.take(found?);
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
            if cmd.has_packet && p.window_size >= MAXIMUM_WINDOW_SIZE {
                p.transit.acknowledged(
                    cmd.fragment_length(),
                    p.reliable_data_in_transit,
                    self.config.transit_window,
                );
            }
            p.reliable_data_in_transit -= cmd.fragment_length();
        }
        if let Some(&front) = p.queues.sent_reliable_commands.front() {
            let front = &self.commands[front];
            p.timeouts.next_timeout = front.sent_time.wrapping_add(front.round_trip_timeout);
        }
        let timed_retransmit = cmd
            .send_attempts
            .saturating_sub(u16::from(cmd.early_retransmissions))
            > 1;
        Some(RemovedCommand {
            command: cmd.header.command & COMMAND_MASK,
            last_sent: cmd.sent_time,
            timed_retransmit,
            early_copies: cmd.early_retransmissions > 0,
        })
    }
}
