//! Sending: queueing packets and control commands, and fragmenting large packets.
//!
//! Owns [`Host::send`], [`Host::broadcast`] and [`Host::ping`], the queueing of every
//! outgoing command (each built by its one constructor, `OutgoingCommand::new`),
//! sequence-number assignment (`enet_peer_setup_outgoing_command`) and the queueing of
//! acknowledgements to send.

use super::*;

impl Host {
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
                let cmd = OutgoingCommand::new(
                    command,
                    channel_id,
                    Command::SendFragment(Fragment {
                        start_sequence_number: start,
                        data_length: flen as u16,
                        fragment_count: count as u32,
                        fragment_number: k as u32,
                        total_length: len as u32,
                        fragment_offset: offset as u32,
                    }),
                    packet.data.slice(offset..offset + flen),
                    true,
                    offset as u32,
                );
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
            let cmd = OutgoingCommand::new(command, channel_id, body, packet.data, true, 0);
            self.setup_outgoing_command(idx, cmd);
        }
        Ok(())
    }

    /// Queues a packet to every connected peer (the payload is shared, not copied).
    pub fn broadcast(&mut self, channel_id: u8, packet: Packet) {
        for idx in 0..self.peers.len() {
            if self.peers[idx].state == PeerState::Connected {
                let id = PeerId::new(idx, self.peers[idx].incarnation);
                let _ = self.send(id, channel_id, packet.clone());
            }
        }
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

    pub(super) fn queue_control(&mut self, idx: usize, command: u8, body: Command) {
        let cmd = OutgoingCommand::new(
            command,
            CONTROL_CHANNEL,
            body,
            bytes::Bytes::new(),
            false,
            0,
        );
        self.setup_outgoing_command(idx, cmd);
    }

    /// Assigns sequence numbers and queues the command (`enet_peer_setup_outgoing_command`).
    pub(super) fn setup_outgoing_command(&mut self, idx: usize, mut cmd: OutgoingCommand) {
        self.total_queued = self.total_queued.wrapping_add(1);
        let p = &mut self.peers[idx];
        let kind_size = CommandKind::from_number(cmd.header.command & COMMAND_MASK)
            .map_or(0, |k| k.size()) as u32;
        p.bandwidth.outgoing_data_total = p
            .bandwidth
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
            OutgoingBody::Unreliable(unreliable_sequence_number, _) => {
                *unreliable_sequence_number = cmd.unreliable_sequence_number
            }
            OutgoingBody::Unsequenced(unsequenced_group, _) => {
                *unsequenced_group = p.outgoing_unsequenced_group
            }
            _ => {}
        }
        let reliable_packet = cmd.header.command & COMMAND_FLAG_ACKNOWLEDGE != 0 && cmd.has_packet;
        let slot = self.commands.insert(cmd);
        if reliable_packet {
            p.queues.outgoing_send_reliable_commands.push_back(slot);
        } else {
            p.queues.outgoing_commands.push_back(slot);
        }
        self.schedule(idx);
    }

    pub(super) fn queue_acknowledgement(
        &mut self,
        idx: usize,
        header: &CommandHeader,
        sent_time: u16,
    ) {
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
        p.bandwidth.outgoing_data_total = p.bandwidth.outgoing_data_total.wrapping_add(8);
        p.queues.acknowledgements.push_back(Acknowledgement {
            channel_id: header.channel_id,
            reliable_sequence_number: header.reliable_sequence_number,
            sent_time,
            command_number: header.number(),
        });
        self.schedule(idx);
    }
}
