//! The checks a fuzz case's world makes as it runs: the events of the server, the bystander
//! and the recorded client (the bystander's echoes must come back complete and in order, and
//! it must never be disconnected), cheap server invariants after every step, and the
//! invariants of every active server peer at the end of a case. The world itself (hosts,
//! wire, virtual time, injections) is in the parent module.

use enet_proto::{Event, PeerId, PeerState};

use super::{World, BYSTANDER};

impl World {
    pub(super) fn drain_events(&mut self) -> Result<(), String> {
        while let Some(ev) = self.server.poll_event() {
            self.stats.server_events += 1;
            self.on_server_event(ev)?;
        }
        while let Some(ev) = self.bystander.poll_event() {
            match ev {
                Event::Connect { .. } => self.b_up_at = Some(self.now_us),
                Event::Receive { packet, .. } => {
                    let want = self.b_echoed.to_le_bytes();
                    if packet.data[..] != want[..] {
                        return Err(format!(
                            "bystander: echo {:?}, expected {}",
                            &packet.data[..packet.data.len().min(8)],
                            self.b_echoed
                        ));
                    }
                    self.b_echoed += 1;
                    self.stats.echoes = self.b_echoed;
                }
                Event::Disconnect { reason, .. } => {
                    return Err(format!(
                        "bystander disconnected ({reason:?}) at {} µs",
                        self.now_us
                    ))
                }
                _ => {}
            }
        }
        if let Some(c) = self.client.as_mut() {
            while let Some(ev) = c.poll_event() {
                if let Event::Connect { peer, .. } = ev {
                    self.c_peer = Some(peer);
                    self.c_up_at = Some(self.now_us);
                }
            }
        }
        Ok(())
    }

    fn on_server_event(&mut self, ev: Event) -> Result<(), String> {
        match ev {
            Event::Connect { peer, data } => {
                self.stats.server_connects += 1;
                if !self.s_connected.insert(peer) {
                    return Err(format!("server: second Connect for {peer:?}"));
                }
                let info = self.server.peer_info(peer).ok_or("Connect for no peer")?;
                if info.address == BYSTANDER {
                    if data != 1 || self.s_bystander.is_some() {
                        return Err(format!("server: odd bystander connect {data}"));
                    }
                    self.s_bystander = Some(peer);
                }
            }
            Event::Disconnect { peer, .. } => {
                self.s_connected.remove(&peer);
                if Some(peer) == self.s_bystander {
                    return Err(format!(
                        "server dropped the bystander at {} µs",
                        self.now_us
                    ));
                }
            }
            Event::Receive {
                peer,
                channel_id,
                packet,
            } => {
                if !self.s_connected.contains(&peer) {
                    return Err(format!("server: Receive from unconnected {peer:?}"));
                }
                let channels = self.server.peer_channel_count(peer).unwrap_or(0);
                // A packet queued just before the peer's DISCONNECT is still delivered,
                // after its channels are gone (count 0); otherwise it must fit them.
                if channels > 0 && channel_id as usize >= channels {
                    return Err(format!(
                        "server: packet on channel {channel_id} of {channels} ({:?}, {} bytes, at {} µs)",
                        self.server.peer_state(peer),
                        packet.data.len(),
                        self.now_us
                    ));
                }
                if packet.data.len() > self.server.config().maximum_packet_size {
                    return Err(format!("server: packet of {} bytes", packet.data.len()));
                }
                if Some(peer) == self.s_bystander {
                    let want = self.s_next_from_b.to_le_bytes();
                    if channel_id != 0 || packet.data[..] != want[..] {
                        return Err(format!(
                            "server: bystander packet {:?} on {channel_id}, expected {}",
                            &packet.data[..packet.data.len().min(8)],
                            self.s_next_from_b
                        ));
                    }
                    self.s_next_from_b += 1;
                } else {
                    self.stats.other_packets += 1;
                }
                // Echo everything (to the client too: its acknowledgements are recorded).
                let _ = self.server.send(peer, channel_id, packet);
            }
            _ => {}
        }
        Ok(())
    }

    /// Cheap invariants of the server after every step.
    pub(super) fn check_server(&mut self) -> Result<(), String> {
        let cfg_peers = self.server.config().peer_count;
        if self.server.connected_peers() > cfg_peers {
            return Err(format!(
                "{} connected peers of {cfg_peers}",
                self.server.connected_peers()
            ));
        }
        let t = self.server.totals();
        if t.received_packets < self.last_totals.received_packets
            || t.sent_packets < self.last_totals.sent_packets
            || t.received_data < self.last_totals.received_data
            || t.sent_data < self.last_totals.sent_data
        {
            return Err(format!("totals went back: {:?} → {t:?}", self.last_totals));
        }
        self.last_totals = t;
        if let Some(p) = self.s_bystander {
            match self.server.peer_state(p) {
                Some(PeerState::Connected) => {}
                other => return Err(format!("bystander's server peer is {other:?}")),
            }
        }
        Ok(())
    }

    /// Invariants at the end of a case: the bystander got everything back, and every
    /// active peer of the server looks sane.
    pub(super) fn final_check(&mut self) -> Result<(), String> {
        if self.b_up_at.is_none() || self.s_bystander.is_none() {
            return Err("the bystander never connected".into());
        }
        if self.b_sent == 0 || self.b_echoed != self.b_sent || self.s_next_from_b != self.b_sent {
            return Err(format!(
                "bystander sent {}, server got {}, echoes back {}",
                self.b_sent, self.s_next_from_b, self.b_echoed
            ));
        }
        let cfg = self.server.config().clone();
        let mut active = 0;
        let peers: Vec<PeerId> = self.server.active_peers().collect();
        for p in peers {
            active += 1;
            let i = self.server.peer_info(p).ok_or("active peer without info")?;
            if i.channel_count > cfg.channel_limit.max(1) {
                return Err(format!("{p:?}: {} channels", i.channel_count));
            }
            if !(576..=4096).contains(&i.mtu) {
                return Err(format!("{p:?}: mtu {}", i.mtu));
            }
            if i.throttle.packet_throttle > 32 {
                return Err(format!("{p:?}: throttle {}", i.throttle.packet_throttle));
            }
            // Generous: the engine may hold somewhat more than its limit while gaps fill.
            if i.total_waiting_data > 8 * cfg.maximum_waiting_data {
                return Err(format!("{p:?}: {} bytes waiting", i.total_waiting_data));
            }
        }
        if active > cfg.peer_count {
            return Err(format!("{active} active peers of {}", cfg.peer_count));
        }
        Ok(())
    }
}
