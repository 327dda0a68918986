//! The connection state machine: connect, verify, disconnect and reset.
//!
//! Owns every peer state change ([`PeerState`]), the bookkeeping that follows it
//! (connected-peer and bandwidth-limited counts, half-open connections, the per-address
//! duplicate maps, freeing slots), the connect/disconnect events, and the handshake
//! commands received (CONNECT, VERIFY_CONNECT, DISCONNECT) with session-id selection.

use super::throttle::{clamp_window, window_for_bandwidths};
use super::*;

impl Host {
    pub(super) fn change_state(&mut self, idx: usize, state: PeerState) {
        let p = &mut self.peers[idx];
        if let Some(at) = p.half_open.take() {
            self.half_open.remove(&at);
        }
        if matches!(state, PeerState::Connected | PeerState::DisconnectLater) {
            if !p.counted_connected {
                p.counted_connected = true;
                if p.bandwidth.incoming_bandwidth != 0 {
                    self.bandwidth_limited_peers += 1;
                }
                if self.connected_peers == 0 {
                    self.bandwidth_throttle_epoch = self.service_time;
                }
                self.connected_peers += 1;
            }
        } else if p.counted_connected {
            p.counted_connected = false;
            if p.bandwidth.incoming_bandwidth != 0 {
                self.bandwidth_limited_peers -= 1;
            }
            self.connected_peers -= 1;
        }
        self.peers[idx].state = state;
    }

    pub(super) fn register(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        if !p.registered {
            p.registered = true;
            *self.ip_counts.entry(p.address.ip()).or_insert(0) += 1;
            self.active_connects.insert((p.address, p.connect_id));
        }
    }

    pub(super) fn unregister(&mut self, idx: usize) {
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
    pub(super) fn reset_peer(&mut self, idx: usize) {
        self.change_state(idx, PeerState::Disconnected);
        self.unregister(idx);
        self.release_held(idx);
        let mtu = self.config.mtu;
        let p = &mut self.peers[idx];
        let in_queue = p.in_send_queue;
        p.reset(mtu, &mut self.commands);
        self.timers.cancel(idx);
        p.in_send_queue = in_queue;
        self.free_slots.insert(idx as u16);
    }

    /// Takes what the peer's incoming queues hold out of the host's buffered bytes (before
    /// the queues are emptied).
    pub(super) fn release_held(&mut self, idx: usize) {
        let p = &mut self.peers[idx];
        self.buffered = self.buffered.saturating_sub(p.held_committed);
        p.held_committed = 0;
    }

    pub(super) fn reset_queues(&mut self, idx: usize) {
        self.release_held(idx);
        self.peers[idx].reset_queues(&mut self.commands);
    }

    pub(super) fn notify_connect(&mut self, idx: usize) {
        self.recalculate_bandwidth_limits = true;
        self.change_state(idx, PeerState::Connected);
        let p = &self.peers[idx];
        let ev = Event::Connect {
            peer: PeerId::new(idx, p.incarnation),
            data: p.event_data,
        };
        self.events.push_back((ev, p.incarnation, 0));
    }

    /// Moves the peer to ZOMBIE and queues its disconnect event.
    pub(super) fn zombify(&mut self, idx: usize, data: u32, reason: DisconnectReason) {
        self.change_state(idx, PeerState::Zombie);
        self.recalculate_bandwidth_limits = true;
        let p = &self.peers[idx];
        let ev = Event::Disconnect {
            peer: PeerId::new(idx, p.incarnation),
            data,
            reason,
        };
        self.events.push_back((ev, p.incarnation, 0));
    }

    pub(super) fn notify_disconnect(&mut self, idx: usize, reason: DisconnectReason) {
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
        let connect_id = self.next_connect_id().to_le_bytes();
        let mtu = self.config.mtu;
        let window_size = if self.config.outgoing_bandwidth == 0 {
            MAXIMUM_WINDOW_SIZE
        } else {
            clamp_window((self.config.outgoing_bandwidth / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE)
        };
        let early_retransmit = self.config.early_retransmit;
        let p = &mut self.peers[idx];
        p.setup_channels(channel_count);
        p.timeouts.early_retransmit = early_retransmit;
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
            packet_throttle_interval: p.throttle.packet_throttle_interval,
            packet_throttle_acceleration: p.throttle.packet_throttle_acceleration,
            packet_throttle_deceleration: p.throttle.packet_throttle_deceleration,
            connect_id,
            data,
        });
        self.queue_control(
            idx,
            CommandKind::Connect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
            cmd,
        );
        Ok(PeerId::new(idx, self.peers[idx].incarnation))
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

    pub(super) fn disconnect_index(&mut self, idx: usize, data: u32) {
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

    pub(super) fn handle_connect(
        &mut self,
        from: SocketAddr,
        c: &Connect,
    ) -> Result<usize, DropReason> {
        if self.refuse_connections {
            return Err(DropReason::ConnectRefused);
        }
        if !(MINIMUM_CHANNEL_COUNT..=MAXIMUM_CHANNEL_COUNT).contains(&c.channel_count) {
            return Err(DropReason::ConnectRefused);
        }
        if self.active_connects.contains(&(from, c.connect_id)) {
            // A retransmitted CONNECT of a connection we already know.
            return Err(DropReason::ConnectRefused);
        }
        let dups = usize::from(self.ip_counts.get(&from.ip()).copied().unwrap_or(0));
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
        let early_retransmit = self.config.early_retransmit;
        let p = &mut self.peers[idx];
        p.setup_channels(channel_count);
        p.timeouts.early_retransmit = early_retransmit;
        p.state = PeerState::AcknowledgingConnect;
        p.connect_id = c.connect_id;
        p.address = from;
        p.mtu = host_mtu;
        p.outgoing_peer_id = c.outgoing_peer_id;
        p.bandwidth.incoming_bandwidth = c.incoming_bandwidth;
        p.bandwidth.outgoing_bandwidth = c.outgoing_bandwidth;
        p.throttle.packet_throttle_interval = c.packet_throttle_interval;
        p.throttle.packet_throttle_acceleration = c.packet_throttle_acceleration;
        p.throttle.packet_throttle_deceleration = c.packet_throttle_deceleration;
        p.event_data = c.data;

        p.outgoing_session_id = next_session_id(c.incoming_session_id, p.outgoing_session_id);
        p.incoming_session_id = next_session_id(c.outgoing_session_id, p.incoming_session_id);

        p.mtu = host_mtu.min(c.mtu.clamp(MINIMUM_MTU, MAXIMUM_MTU));
        p.window_size = window_for_bandwidths(host_out, p.bandwidth.incoming_bandwidth);
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
            packet_throttle_interval: p.throttle.packet_throttle_interval,
            packet_throttle_acceleration: p.throttle.packet_throttle_acceleration,
            packet_throttle_deceleration: p.throttle.packet_throttle_deceleration,
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

    pub(super) fn handle_verify_connect(
        &mut self,
        idx: usize,
        v: &Connect,
    ) -> Result<(), DropReason> {
        let p = &self.peers[idx];
        if p.state != PeerState::Connecting {
            return Ok(());
        }
        if !(MINIMUM_CHANNEL_COUNT..=MAXIMUM_CHANNEL_COUNT).contains(&v.channel_count)
            || v.packet_throttle_interval != p.throttle.packet_throttle_interval
            || v.packet_throttle_acceleration != p.throttle.packet_throttle_acceleration
            || v.packet_throttle_deceleration != p.throttle.packet_throttle_deceleration
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
        p.bandwidth.incoming_bandwidth = v.incoming_bandwidth;
        p.bandwidth.outgoing_bandwidth = v.outgoing_bandwidth;
        self.register(idx);
        self.notify_connect(idx);
        Ok(())
    }

    pub(super) fn handle_disconnect(&mut self, idx: usize, header: &CommandHeader, data: u32) {
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
}

/// The session id a server slot uses for a new connection: one past the id the client
/// proposes (or past the slot's current one when the client proposes none, 0xFF), skipping
/// the slot's current id so stray datagrams of the previous connection are rejected.
pub(super) fn next_session_id(proposed: u8, current: u8) -> u8 {
    let base = if proposed == 0xFF { current } else { proposed };
    let mut id = (u32::from(base) + 1) & 3;
    if id == u32::from(current) {
        id = (id + 1) & 3;
    }
    id as u8
}

/// Whether a reply can reach `a`: not port 0, not an unspecified, broadcast or multicast
/// address (IPv4, IPv6, or IPv4 mapped into IPv6).
pub(super) fn answerable(a: SocketAddr) -> bool {
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
