//! Reliability: acknowledgements, round-trip time, retransmission and timeouts.
//!
//! Owns the handling of a received ACKNOWLEDGE (RTT sample, the per-ack throttle update,
//! removing the command from the retransmission queue and the state transitions it
//! completes), the retransmission pass with its capped back-off and the timeout decision,
//! and the per-peer ping and timeout settings.

use super::*;

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

    /// Retransmission and timeout check (`enet_protocol_check_timeouts`). Returns true if
    /// the peer timed out.
    pub(super) fn check_timeouts(&mut self, idx: usize) -> bool {
        let st = self.service_time;
        let mut i = 0;
        let mut insert_outgoing = 0;
        let mut insert_reliable = 0;
        loop {
            let p = &mut self.peers[idx];
            if i >= p.queues.sent_reliable_commands.len() {
                break;
            }
            let c = &p.queues.sent_reliable_commands[i];
            if time_difference(st, c.sent_time) < c.round_trip_timeout {
                i += 1;
                continue;
            }
            if p.timeouts.earliest_timeout == 0
                || time_less(c.sent_time, p.timeouts.earliest_timeout)
            {
                p.timeouts.earliest_timeout = c.sent_time;
            }
            let waited = time_difference(st, p.timeouts.earliest_timeout);
            let attempts_exceeded = {
                let shift = u32::from(c.send_attempts.saturating_sub(1));
                shift >= 31 || (1u32 << shift) >= p.timeouts.timeout_limit
            };
            if p.timeouts.earliest_timeout != 0
                && (waited >= p.timeouts.timeout_maximum
                    || (attempts_exceeded && waited >= p.timeouts.timeout_minimum))
            {
                self.notify_disconnect(idx, DisconnectReason::Timeout);
                return true;
            }
            let mut c = p
                .queues
                .sent_reliable_commands
                .remove(i)
                .expect("index checked");
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
            if c.has_packet {
                p.reliable_data_in_transit -= c.fragment_length();
                p.queues
                    .outgoing_send_reliable_commands
                    .insert(insert_reliable, c);
                insert_reliable += 1;
            } else {
                p.queues.outgoing_commands.insert(insert_outgoing, c);
                insert_outgoing += 1;
            }
            if i == 0 {
                if let Some(front) = p.queues.sent_reliable_commands.front() {
                    p.timeouts.next_timeout =
                        front.sent_time.wrapping_add(front.round_trip_timeout);
                }
            }
        }
        if insert_outgoing + insert_reliable > 0 {
            self.schedule(idx);
        }
        false
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
        if !p.queues.outgoing_send_reliable_commands.is_empty()
            || !p.queues.outgoing_commands.is_empty()
        {
            self.schedule(idx);
        }
        Ok(())
    }

    /// Removes an acknowledged command; returns its command number.
    pub(super) fn remove_sent_reliable_command(
        &mut self,
        idx: usize,
        seq: u16,
        channel_id: u8,
    ) -> Option<u8> {
        let p = &mut self.peers[idx];
        let matches = |c: &OutgoingCommand| {
            c.header.reliable_sequence_number == seq && c.header.channel_id == channel_id
        };
        let mut was_sent = true;
        let mut found = p
            .queues
            .sent_reliable_commands
            .iter()
            .position(matches)
            .and_then(|i| p.queues.sent_reliable_commands.remove(i));
        if found.is_none() {
            was_sent = false;
            for queue in [
                &mut p.queues.outgoing_commands,
                &mut p.queues.outgoing_send_reliable_commands,
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
        if let Some(front) = p.queues.sent_reliable_commands.front() {
            p.timeouts.next_timeout = front.sent_time.wrapping_add(front.round_trip_timeout);
        }
        Some(cmd.header.command & COMMAND_MASK)
    }
}
