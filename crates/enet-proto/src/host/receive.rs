//! Receiving datagrams and dispatching their commands.
//!
//! Owns [`Host::handle_datagram`]: size and source checks, header, peer and session
//! lookup, decompression, checksum verification, the command loop and the decision to
//! acknowledge. Each command is handed to the module that owns it (connection, reliability,
//! throttle, fragments, incoming queues); malformed input ends as a counted [`DropReason`].

use super::connection::answerable;
use super::*;

impl Host {
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

    pub(super) fn receive(&mut self, from: SocketAddr, datagram: &[u8]) -> Result<(), DropReason> {
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
                p.bandwidth.incoming_data_total = p.bandwidth.incoming_data_total.wrapping_add(len);
                p.counters.datagrams_received += 1;
                p.counters.bytes_received += len as u64;
            }
            self.process_commands(peer, from, header.sent_time, body)
        })();
        self.recv_scratch = scratch;
        result
    }

    pub(super) fn process_commands(
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

    pub(super) fn handle_peer_command(
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
                self.handle_bandwidth_limit(idx, incoming_bandwidth, outgoing_bandwidth);
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
                self.handle_throttle_configure(
                    idx,
                    packet_throttle_interval,
                    packet_throttle_acceleration,
                    packet_throttle_deceleration,
                );
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
}
