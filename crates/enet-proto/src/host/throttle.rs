//! Throttle and bandwidth: the host's bandwidth limits and the peers' packet throttles.
//!
//! Owns the once-a-second bandwidth throttle (`enet_host_bandwidth_throttle`), the
//! BANDWIDTH_LIMIT and THROTTLE_CONFIGURE commands in both directions, and the window
//! size derived from both ends' bandwidth.

use super::*;

impl Host {
    /// Sets our bandwidth limits (bytes/s, 0 = unlimited); peers learn them within a second.
    pub fn bandwidth_limit(&mut self, incoming: u32, outgoing: u32) {
        self.config.incoming_bandwidth = incoming;
        self.config.outgoing_bandwidth = outgoing;
        self.recalculate_bandwidth_limits = true;
    }

    /// Configures the packet throttle locally and tells the peer (THROTTLE_CONFIGURE).
    pub fn throttle_configure(
        &mut self,
        peer: PeerId,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    ) -> Result<(), Error> {
        let idx = self.peer_index(peer)?;
        let p = &mut self.peers[idx];
        p.throttle.packet_throttle_interval = interval;
        p.throttle.packet_throttle_acceleration = acceleration;
        p.throttle.packet_throttle_deceleration = deceleration;
        if matches!(p.state, PeerState::Connected | PeerState::DisconnectLater) {
            self.queue_control(
                idx,
                CommandKind::ThrottleConfigure as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                Command::ThrottleConfigure {
                    packet_throttle_interval: interval,
                    packet_throttle_acceleration: acceleration,
                    packet_throttle_deceleration: deceleration,
                },
            );
        }
        Ok(())
    }

    pub(super) fn bandwidth_throttle(&mut self) {
        let now = self.service_time;
        let elapsed = now.wrapping_sub(self.bandwidth_throttle_epoch);
        if elapsed < BANDWIDTH_THROTTLE_INTERVAL {
            return;
        }
        self.bandwidth_throttle_epoch = now;
        if self.connected_peers == 0 {
            return;
        }
        let mut data_total: u32 = u32::MAX;
        let mut bandwidth: u32 = u32::MAX;
        if self.config.outgoing_bandwidth != 0 {
            data_total = 0;
            bandwidth = ((self.config.outgoing_bandwidth as u64 * elapsed as u64) / 1000) as u32;
            for p in &self.peers {
                if p.is_connected_state() {
                    data_total = data_total.wrapping_add(p.bandwidth.outgoing_data_total);
                }
            }
        }
        let mut peers_remaining = self.connected_peers as u32;
        let mut needs_adjustment = self.bandwidth_limited_peers > 0;
        let mut throttle;
        while peers_remaining > 0 && needs_adjustment {
            needs_adjustment = false;
            throttle = if data_total <= bandwidth {
                PACKET_THROTTLE_SCALE
            } else {
                ((bandwidth as u64 * PACKET_THROTTLE_SCALE as u64) / data_total as u64) as u32
            };
            for p in self.peers.iter_mut() {
                if !p.is_connected_state()
                    || p.bandwidth.incoming_bandwidth == 0
                    || p.bandwidth.outgoing_bandwidth_throttle_epoch == now
                {
                    continue;
                }
                let peer_bandwidth =
                    ((p.bandwidth.incoming_bandwidth as u64 * elapsed as u64) / 1000) as u32;
                if (throttle as u64 * p.bandwidth.outgoing_data_total as u64)
                    / PACKET_THROTTLE_SCALE as u64
                    <= peer_bandwidth as u64
                {
                    continue;
                }
                let limit = if p.bandwidth.outgoing_data_total == 0 {
                    PACKET_THROTTLE_SCALE
                } else {
                    ((peer_bandwidth as u64 * PACKET_THROTTLE_SCALE as u64)
                        / p.bandwidth.outgoing_data_total as u64) as u32
                };
                p.throttle.packet_throttle_limit = limit.max(1);
                if p.throttle.packet_throttle > p.throttle.packet_throttle_limit {
                    p.throttle.packet_throttle = p.throttle.packet_throttle_limit;
                }
                p.bandwidth.outgoing_bandwidth_throttle_epoch = now;
                p.bandwidth.incoming_data_total = 0;
                p.bandwidth.outgoing_data_total = 0;
                needs_adjustment = true;
                peers_remaining -= 1;
                bandwidth = bandwidth.wrapping_sub(peer_bandwidth);
                data_total = data_total.wrapping_sub(peer_bandwidth);
            }
        }
        if peers_remaining > 0 {
            throttle = if data_total <= bandwidth {
                PACKET_THROTTLE_SCALE
            } else {
                ((bandwidth as u64 * PACKET_THROTTLE_SCALE as u64) / data_total.max(1) as u64)
                    as u32
            };
            for p in self.peers.iter_mut() {
                if !p.is_connected_state() || p.bandwidth.outgoing_bandwidth_throttle_epoch == now {
                    continue;
                }
                p.throttle.packet_throttle_limit = throttle;
                if p.throttle.packet_throttle > throttle {
                    p.throttle.packet_throttle = throttle;
                }
                p.bandwidth.incoming_data_total = 0;
                p.bandwidth.outgoing_data_total = 0;
            }
        }
        if self.recalculate_bandwidth_limits {
            self.recalculate_bandwidth_limits = false;
            let mut peers_remaining = self.connected_peers as u32;
            let mut bandwidth = self.config.incoming_bandwidth;
            let mut needs_adjustment = true;
            let mut limit = 0u32;
            if bandwidth != 0 {
                while peers_remaining > 0 && needs_adjustment {
                    needs_adjustment = false;
                    limit = bandwidth / peers_remaining;
                    for p in self.peers.iter_mut() {
                        if !p.is_connected_state()
                            || p.bandwidth.incoming_bandwidth_throttle_epoch == now
                        {
                            continue;
                        }
                        if p.bandwidth.outgoing_bandwidth > 0
                            && p.bandwidth.outgoing_bandwidth >= limit
                        {
                            continue;
                        }
                        p.bandwidth.incoming_bandwidth_throttle_epoch = now;
                        needs_adjustment = true;
                        peers_remaining -= 1;
                        bandwidth = bandwidth.wrapping_sub(p.bandwidth.outgoing_bandwidth);
                    }
                }
            }
            let outgoing = self.config.outgoing_bandwidth;
            for idx in 0..self.peers.len() {
                let p = &self.peers[idx];
                if !p.is_connected_state() {
                    continue;
                }
                let incoming = if p.bandwidth.incoming_bandwidth_throttle_epoch == now {
                    p.bandwidth.outgoing_bandwidth
                } else {
                    limit
                };
                self.queue_control(
                    idx,
                    CommandKind::BandwidthLimit as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                    Command::BandwidthLimit {
                        incoming_bandwidth: incoming,
                        outgoing_bandwidth: outgoing,
                    },
                );
            }
        }
    }

    /// A BANDWIDTH_LIMIT from the peer: its bandwidths, and our window derived from them.
    pub(super) fn handle_bandwidth_limit(&mut self, idx: usize, incoming: u32, outgoing: u32) {
        let host_out = self.config.outgoing_bandwidth;
        let p = &mut self.peers[idx];
        if p.bandwidth.incoming_bandwidth != 0 {
            self.bandwidth_limited_peers -= 1;
        }
        p.bandwidth.incoming_bandwidth = incoming;
        p.bandwidth.outgoing_bandwidth = outgoing;
        if p.bandwidth.incoming_bandwidth != 0 {
            self.bandwidth_limited_peers += 1;
        }
        p.window_size = window_for_bandwidths(host_out, p.bandwidth.incoming_bandwidth);
    }

    /// A THROTTLE_CONFIGURE from the peer: its throttle parameters replace ours.
    pub(super) fn handle_throttle_configure(
        &mut self,
        idx: usize,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    ) {
        let p = &mut self.peers[idx];
        p.throttle.packet_throttle_interval = interval;
        p.throttle.packet_throttle_acceleration = acceleration;
        p.throttle.packet_throttle_deceleration = deceleration;
    }
}

/// A reliable window clamped to ENet's range.
pub(super) fn clamp_window(w: u32) -> u32 {
    w.clamp(MINIMUM_WINDOW_SIZE, MAXIMUM_WINDOW_SIZE)
}

/// The reliable window towards a peer, from our outgoing and its incoming bandwidth
/// (0 = unlimited): the smaller limit if both are set, the set one if only one is.
pub(super) fn window_for_bandwidths(host_out: u32, peer_in: u32) -> u32 {
    let w = if host_out == 0 && peer_in == 0 {
        MAXIMUM_WINDOW_SIZE
    } else if host_out == 0 || peer_in == 0 {
        (host_out.max(peer_in) / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
    } else {
        (host_out.min(peer_in) / WINDOW_SIZE_SCALE) * MINIMUM_WINDOW_SIZE
    };
    clamp_window(w)
}
