//! The service loop of an [`EnetMultiplayerPeer`]: polling its hosts and dispatching their
//! events (connects with Godot's id checks, packets, disconnects) into the peer's queues.

use super::*;
impl EnetMultiplayerPeer {
    /// Like [`MultiplayerPeer::poll`], but first waits up to `timeout` for network activity
    /// (sleeping on the socket), so a server loop does not need to spin. In mesh mode the
    /// wait applies to the first host only.
    pub fn poll_with_timeout(&mut self, timeout: Duration) {
        self.poll_inner(timeout);
    }

    pub(crate) fn poll_inner(&mut self, timeout: Duration) {
        if !self.is_active() {
            return;
        }
        self.disconnect_inactive_peers();
        match self.mode {
            Mode::Client => {
                if !self.peers.contains_key(&1) {
                    self.shutdown();
                    return;
                }
                self.drain_host(0, timeout);
            }
            Mode::Server => {
                self.drain_host(0, timeout);
            }
            Mode::Mesh => {
                let keys: Vec<i32> = self.hosts.keys().copied().collect();
                let mut wait = timeout;
                for k in keys {
                    self.drain_host(k, wait);
                    wait = Duration::ZERO;
                }
            }
            Mode::None => {}
        }
    }

    pub(crate) fn drain_host(&mut self, key: i32, timeout: Duration) -> bool {
        // Returns false if the host asked to be dropped (mesh) or was closed.
        let mut first = true;
        loop {
            let Some(host) = self.hosts.get_mut(&key) else {
                return false;
            };
            let ev = if first {
                first = false;
                host.service(timeout)
            } else {
                host.check_events()
            };
            let ev = match ev {
                Ok(e) => e,
                Err(_) => return self.on_error(key),
            };
            match ev.kind {
                EventType::None => return true,
                EventType::Error => return self.on_error(key),
                EventType::Connect => {
                    self.on_connect(key, ev.peer.expect("connect has a peer"), ev.data)
                }
                EventType::Disconnect => {
                    let reason = DisconnectReason::from_enet(ev.reason, ev.data);
                    let peer = ev.peer.expect("disconnect has a peer");
                    if !self.on_disconnect(key, peer, reason) {
                        return false;
                    }
                }
                EventType::Receive => self.on_receive(key, ev.peer.expect("receive has a peer")),
            }
        }
    }

    pub(crate) fn on_error(&mut self, key: i32) -> bool {
        match self.mode {
            Mode::Mesh => {
                self.drop_mesh_host(key, DisconnectReason::Lost);
                false
            }
            _ => {
                self.shutdown();
                false
            }
        }
    }

    pub(crate) fn on_connect(&mut self, key: i32, h: PeerHandle, data: u32) {
        match self.mode {
            Mode::Client => {
                self.status = ConnectionStatus::Connected;
                self.events.push_back(PeerEvent::Connected { id: 1 });
            }
            Mode::Server => {
                let host = self.hosts.get_mut(&key).expect("host exists");
                let id = data as i32;
                if self.refuse || data < 2 || data > i32::MAX as u32 || self.peers.contains_key(&id)
                {
                    let _ = host.peer(h).reset();
                    return;
                }
                self.net_ids.insert(h, id);
                self.peers.insert(id, (key, h));
                self.events.push_back(PeerEvent::Connected { id });
            }
            Mode::Mesh => {
                // Mesh hosts never accept new peers.
                if let Some(host) = self.hosts.get_mut(&key) {
                    let _ = host.peer(h).reset();
                }
            }
            Mode::None => {}
        }
    }

    pub(crate) fn on_disconnect(
        &mut self,
        key: i32,
        h: PeerHandle,
        reason: DisconnectReason,
    ) -> bool {
        match self.mode {
            Mode::Client => {
                if self.status == ConnectionStatus::Connected {
                    self.events
                        .push_back(PeerEvent::Disconnected { id: 1, reason });
                }
                self.shutdown();
                false
            }
            Mode::Server => {
                if let Some(id) = self.net_ids.remove(&h) {
                    if self.peers.get(&id).is_some_and(|(_, ph)| *ph == h) {
                        self.events
                            .push_back(PeerEvent::Disconnected { id, reason });
                        self.peers.remove(&id);
                    }
                }
                true
            }
            Mode::Mesh => {
                self.drop_mesh_host(key, reason);
                false
            }
            Mode::None => false,
        }
    }

    pub(crate) fn drop_mesh_host(&mut self, key: i32, reason: DisconnectReason) {
        if self.peers.remove(&key).is_some() {
            self.events
                .push_back(PeerEvent::Disconnected { id: key, reason });
        }
        self.remove_host(key);
    }

    pub(crate) fn on_receive(&mut self, key: i32, h: PeerHandle) {
        let from = match self.mode {
            Mode::Client => 1,
            Mode::Server => match self.net_ids.get(&h) {
                Some(id) => *id,
                None => {
                    // A refused peer's packet: drop it.
                    if let Some(host) = self.hosts.get_mut(&key) {
                        while host.peer(h).get_packet().is_ok() {}
                    }
                    return;
                }
            },
            Mode::Mesh => key,
            Mode::None => return,
        };
        let Some(host) = self.hosts.get_mut(&key) else {
            return;
        };
        let mut p = host.peer(h);
        while let Ok((data, channel, flags)) = p.get_packet_with_info() {
            self.incoming.push_back(Incoming {
                data,
                from,
                channel,
                mode: mode_of_flags(flags),
            });
        }
    }

    /// Drops a host; forces the next inactive-peer scan, since the deactivation sum changed.
    pub(crate) fn remove_host(&mut self, key: i32) {
        self.hosts.remove(&key);
        self.seen_deactivations = u64::MAX;
    }

    /// Closes every connection, keeping the queued events (a client's last
    /// `PeerDisconnected(1)` must still surface); [`MultiplayerPeer::close`] drops them.
    pub(crate) fn shutdown(&mut self) {
        if !self.is_active() {
            return;
        }
        for (_, (key, h)) in std::mem::take(&mut self.peers) {
            if let Some(host) = self.hosts.get_mut(&key) {
                let mut p = host.peer(h);
                if p.get_state() == PeerState::Connected {
                    let _ = p.peer_disconnect_now(0);
                }
            }
        }
        for host in self.hosts.values_mut() {
            let _ = host.flush();
        }
        self.hosts.clear();
        self.seen_deactivations = 0;
        self.net_ids.clear();
        self.incoming.clear();
        self.mode = Mode::None;
        self.unique_id = 0;
        self.status = ConnectionStatus::Disconnected;
        self.refuse = false;
    }

    /// [`MultiplayerPeer::send`]; `put_packet` comes here with the stateful settings.
    pub(crate) fn send_to(
        &mut self,
        target: Target,
        mode: TransferMode,
        channel: i32,
        packet: &[u8],
    ) -> Result<()> {
        if packet.is_empty() {
            return Ok(());
        }
        if !self.is_active() || self.status != ConnectionStatus::Connected {
            return Err(Error::Unconfigured);
        }
        let (target, excluded) = match target {
            Target::Peer(id) => (Some(id), None),
            Target::AllExcept(id) => (None, Some(id)),
            _ => (None, None),
        };
        let named = target.or(excluded);
        if let Some(id) = named.filter(|id| !self.peers.contains_key(id)) {
            return Err(Error::InvalidParameter(enet::Invalid::TargetPeer(id)));
        }
        let (channel, flags) = enet_channel_and_flags(mode, channel)?;
        let mode = self.mode;
        if mode == Mode::Client && !self.peers.contains_key(&1) {
            return Err(Error::Unconfigured);
        }
        // One copy of the payload, shared by every target; one flush per host.
        let data = Bytes::copy_from_slice(packet);
        let mut result = Ok(());
        for (&id, &(key, h)) in &self.peers {
            let wanted = match mode {
                // A client always sends to the server (the target was validated above).
                Mode::Client => id == 1,
                _ if target.is_some() => Some(id) == target,
                // Everyone, or everyone but `excluded`.
                _ => Some(id) != excluded,
            };
            if !wanted {
                continue;
            }
            let Some(host) = self.hosts.get_mut(&key) else {
                result = Err(Error::Unconfigured);
                continue;
            };
            if let Err(e) = host.peer(h).send_bytes(channel, data.clone(), flags) {
                result = Err(e);
            }
            if mode == Mode::Mesh {
                let _ = host.flush();
            }
        }
        if mode != Mode::Mesh {
            if let Some(host) = self.hosts.get_mut(&0) {
                let _ = host.flush();
            }
        }
        result
    }

    pub(crate) fn disconnect_inactive_peers(&mut self) {
        // Only rescan when some host reports a peer that became inactive since last time.
        let deactivations: u64 = self.hosts.values().map(|h| h.deactivation_count()).sum();
        if deactivations == self.seen_deactivations {
            return;
        }
        self.seen_deactivations = deactivations;
        let mut gone = Vec::new();
        for (&id, &(key, h)) in &self.peers {
            let active = self
                .hosts
                .get_mut(&key)
                .map(|host| host.peer(h).is_active())
                .unwrap_or(false);
            if !active {
                gone.push(id);
            }
        }
        for id in gone {
            let (key, h) = self.peers.remove(&id).expect("listed above");
            self.net_ids.remove(&h);
            if self.mode == Mode::Mesh {
                self.remove_host(key);
            }
            if self.mode != Mode::Client || id == 1 {
                self.events.push_back(PeerEvent::Disconnected {
                    id,
                    reason: DisconnectReason::Lost,
                });
            }
        }
    }
}
