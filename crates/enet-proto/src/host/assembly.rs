//! Datagram assembly: turning a peer's queues into wire datagrams.
//!
//! Owns [`Host::poll_transmit`] and the send pass (`enet_protocol_send_outgoing_commands`):
//! acknowledgements first, then queued commands in queue order within the MTU, the
//! reliable window and the packet throttle, then a keep-alive PING when idle. It updates
//! the packet-loss statistics once per epoch and finishes each datagram with its header,
//! optional compression and optional CRC-32. Commands are queued elsewhere ([`super::send`]);
//! retransmission decisions live in [`super::reliability`].

use super::*;

/// Where the datagram being assembled stands.
pub(super) struct Assembly {
    packet_size: u32,
    command_count: usize,
    sent_time: bool,
}

pub(super) const HEADER_RESERVE: usize = 8;

impl Host {
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
    pub(super) fn flush_peer_now(&mut self, idx: usize) {
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

    pub(super) fn build_datagram(
        &mut self,
        idx: usize,
        buf: &mut Vec<u8>,
        check_timeouts: bool,
    ) -> bool {
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
                && !p.queues.sent_reliable_commands.is_empty()
                && time_greater_equal(self.service_time, p.timeouts.next_timeout)
                && self.check_timeouts(idx)
            {
                buf.clear();
                return false;
            }
        }
        let p = &self.peers[idx];
        let can_ping = if p.queues.outgoing_commands.is_empty()
            && p.queues.outgoing_send_reliable_commands.is_empty()
        {
            true
        } else {
            self.pack_commands(idx, buf, &mut asm)
        };
        let p = &self.peers[idx];
        if can_ping
            && p.state == PeerState::Connected
            && p.queues.sent_reliable_commands.is_empty()
            && time_difference(self.service_time, p.last_receive_time) >= p.timeouts.ping_interval
            && p.mtu - asm.packet_size >= CommandKind::Ping.size() as u32
        {
            // Idle (nothing in flight, nothing heard for a ping interval): what the path
            // took before says little about now, so the next burst starts at C's window.
            self.peers[idx].transit.restart();
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
        self.peers[idx].loss.update(st);
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
    pub(super) fn finish_datagram(&mut self, idx: usize, buf: &mut Vec<u8>, sent_time: bool) {
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

    pub(super) fn pack_acknowledgements(
        &mut self,
        idx: usize,
        buf: &mut Vec<u8>,
        asm: &mut Assembly,
    ) {
        loop {
            let p = &mut self.peers[idx];
            let Some(ack) = p.queues.acknowledgements.front().copied() else {
                break;
            };
            if asm.command_count >= MAXIMUM_PACKET_COMMANDS
                || p.mtu.saturating_sub(asm.packet_size) < CommandKind::Acknowledge.size() as u32
            {
                p.continue_sending = true;
                break;
            }
            p.queues.acknowledgements.pop_front();
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
    pub(super) fn pack_commands(
        &mut self,
        idx: usize,
        buf: &mut Vec<u8>,
        asm: &mut Assembly,
    ) -> bool {
        let st = self.service_time;
        let ceiling = self.config.transit_window;
        let p = &mut self.peers[idx];
        let mut reliable_blocked = false;
        let mut can_ping = true;
        loop {
            let from_reliable = match (
                p.queues.outgoing_commands.front(),
                p.queues.outgoing_send_reliable_commands.front(),
            ) {
                (Some(&o), Some(&r)) => {
                    !reliable_blocked
                        && time_less(self.commands[r].queue_time, self.commands[o].queue_time)
                }
                (Some(_), None) => false,
                (None, Some(_)) if !reliable_blocked => true,
                _ => break,
            };
            let cmd = &self.commands[if from_reliable {
                p.queues.outgoing_send_reliable_commands[0]
            } else {
                p.queues.outgoing_commands[0]
            }];
            let is_reliable = cmd.header.command & COMMAND_FLAG_ACKNOWLEDGE != 0;
            let ch = cmd.header.channel_id as usize;
            let has_channel = ch < p.channel_count;
            let seq = cmd.header.reliable_sequence_number;
            let window = seq / RELIABLE_WINDOW_SIZE;
            if is_reliable {
                if has_channel && cmd.send_attempts < 1 && seq.is_multiple_of(RELIABLE_WINDOW_SIZE)
                {
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
                    // An unlimited path (ENet's largest window) carries the peer's
                    // adaptive transit window instead (64 KiB up to the host's ceiling);
                    // the throttle scales either.
                    let base = if p.window_size >= MAXIMUM_WINDOW_SIZE {
                        p.transit.get(ceiling)
                    } else {
                        p.window_size
                    };
                    let window_size = ((u64::from(p.throttle.packet_throttle) * u64::from(base))
                        / u64::from(PACKET_THROTTLE_SCALE))
                        as u32;
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
            let slot = if from_reliable {
                p.queues.outgoing_send_reliable_commands.pop_front()
            } else {
                p.queues.outgoing_commands.pop_front()
            }
            .expect("front checked above");
            let cmd = &mut self.commands[slot];
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
                    cmd.round_trip_timeout =
                        p.rtt.round_trip_time + 4 * p.rtt.round_trip_time_variance;
                }
                if p.queues.sent_reliable_commands.is_empty() {
                    p.timeouts.next_timeout = st.wrapping_add(cmd.round_trip_timeout);
                }
                cmd.sent_time = st;
                asm.sent_time = true;
                p.reliable_data_in_transit += cmd.fragment_length();
            } else if cmd.has_packet && cmd.fragment_offset == 0 {
                p.throttle.packet_throttle_counter = (p.throttle.packet_throttle_counter
                    + PACKET_THROTTLE_COUNTER)
                    % PACKET_THROTTLE_SCALE;
                if p.throttle.packet_throttle_counter > p.throttle.packet_throttle {
                    let key = (
                        cmd.header.reliable_sequence_number,
                        cmd.unreliable_sequence_number,
                    );
                    self.commands.take(slot);
                    while let Some(&next) = p.queues.outgoing_commands.front() {
                        let next_cmd = &self.commands[next];
                        if (
                            next_cmd.header.reliable_sequence_number,
                            next_cmd.unreliable_sequence_number,
                        ) != key
                        {
                            break;
                        }
                        p.queues.outgoing_commands.pop_front();
                        self.commands.take(next);
                    }
                    continue;
                }
            }
            let at = buf.len();
            buf.resize(at + size as usize, 0);
            cmd.wire_command().write(&cmd.header, &mut buf[at..]);
            buf.extend_from_slice(&cmd.payload);
            asm.packet_size += size + cmd.fragment_length();
            asm.command_count += 1;
            p.loss.packets_sent += 1;
            if is_reliable {
                p.queues.sent_reliable_commands.push_back(slot);
            } else {
                self.commands.take(slot);
            }
        }
        if p.state == PeerState::DisconnectLater && !p.has_outgoing_commands() {
            let data = p.event_data;
            self.disconnect_index(idx, data);
        }
        can_ping
    }
}
