//! Receive side of [`SceneMultiplayer`]: auth gate, SYS (admission, relay), RAW, path cache
//! and RPC dispatch. Every rejected packet is counted in [`Drops`](super::Drops).

use super::*;

/// How deep relays may nest: a client never wraps a RELAY, so a RELAY inside a RELAY is
/// refused (bounded work per packet).
const MAX_RELAY_DEPTH: u8 = 1;

impl<P: MultiplayerPeer> SceneMultiplayer<P> {
    pub(super) fn receive(&mut self, from: i32, pkt: &[u8], mode: TransferMode, channel: i32) {
        if let Some(p) = self.pending.get_mut(&from) {
            // Only `07 00 …` from a pending peer.
            if pkt.len() < 2 || pkt[0] & 7 != CMD_SYS || pkt[1] != SYS_AUTH {
                self.drops.pending += 1;
                return;
            }
            if pkt.len() == 2 {
                p.remote = true;
                if p.local {
                    self.pending.remove(&from);
                    self.admit(from);
                }
            } else {
                self.events.push_back(SceneEvent::AuthData {
                    from,
                    data: pkt[2..].to_vec(),
                });
            }
            return;
        }
        if !self.connected.contains_key(&from) {
            self.drops.unknown_sender += 1;
            return;
        }
        self.process(from, pkt, mode, channel, 0);
    }

    fn process(&mut self, from: i32, pkt: &[u8], mode: TransferMode, channel: i32, depth: u8) {
        let msg = match codec::parse(pkt) {
            Ok(m) => m,
            Err(_) => {
                self.drops.malformed += 1;
                return;
            }
        };
        let me = self.peer.get_unique_id();
        match msg {
            // A late completion is ignored; a payload after admission is an error.
            Message::Auth(p) => {
                if !p.is_empty() {
                    self.drops.refused_sys += 1;
                }
            }
            Message::AddPeer(id) | Message::DelPeer(id) => {
                if !self.server_relay || me == 1 || from != 1 || depth > 0 {
                    self.drops.refused_sys += 1;
                } else if matches!(msg, Message::AddPeer(_)) {
                    if id > 1 && id != me {
                        self.admit(id);
                    } else {
                        self.drops.refused_sys += 1;
                    }
                } else {
                    self.del_peer(id);
                }
            }
            Message::Relay { peer, inner } => {
                if !self.server_relay || depth >= MAX_RELAY_DEPTH {
                    self.drops.refused_sys += 1;
                } else if me == 1 {
                    self.server_relay(from, peer, inner, mode, channel);
                } else if from != 1 {
                    self.drops.refused_sys += 1;
                } else {
                    self.process(peer, inner, mode, channel, depth + 1);
                }
            }
            Message::Raw(data) => self.events.push_back(SceneEvent::Bytes {
                from,
                data: data.to_vec(),
            }),
            Message::SimplifyPath {
                checksum,
                cache_id,
                path,
            } => self.on_simplify(from, checksum, cache_id, path),
            Message::ConfirmPath { valid, cache_id } => {
                self.cache.confirm(from, cache_id, valid);
            }
            Message::RemoteCall(call) => self.on_rpc(from, call),
            Message::Replication { .. } => self.drops.replication += 1,
        }
    }

    /// The server side of RELAY from `from` to `target` (B.6).
    fn server_relay(
        &mut self,
        from: i32,
        target: i32,
        inner: &[u8],
        mode: TransferMode,
        channel: i32,
    ) {
        if target > 0 && !self.connected.contains_key(&target) {
            self.drops.relay_target += 1;
            return;
        }
        let mut buf = std::mem::take(&mut self.relay_buf);
        buf.clear();
        codec::write_sys(&mut buf, codec::SYS_RELAY, from);
        buf.extend_from_slice(inner);
        self.set_mode(mode, channel);
        if target > 0 {
            self.peer.set_target_peer(target);
            let _ = MultiplayerPeer::put_packet(&mut self.peer, &buf);
        } else {
            for i in 0..self.order.len() {
                let p = self.order[i];
                if p == from || p == target.wrapping_neg() {
                    continue;
                }
                self.peer.set_target_peer(p);
                let _ = MultiplayerPeer::put_packet(&mut self.peer, &buf);
            }
        }
        self.relay_buf = buf;
        if target <= 0 && target != -1 {
            self.process(from, inner, mode, channel, 1);
        }
    }

    fn on_simplify(&mut self, from: i32, checksum: &[u8], cache_id: u32, path: &str) {
        let Some(node) = self.nodes.get(path) else {
            self.drops.bad_path += 1;
            return;
        };
        let valid = node.checksum().as_bytes() == checksum;
        match self.cache.store_remote(from, cache_id, path) {
            Store::Stored => {}
            Store::Duplicate | Store::Full => {
                self.drops.bad_path += 1;
                return;
            }
        }
        let mut msg = [codec::CMD_CONFIRM_PATH, u8::from(valid), 0, 0, 0, 0];
        msg[2..].copy_from_slice(&cache_id.to_le_bytes());
        self.set_mode(TransferMode::Reliable, 0);
        let _ = self.send_command(from, &msg);
    }

    fn on_rpc(&mut self, from: i32, call: codec::RemoteCall<'_>) {
        let path = match call.node {
            NodeRef::Path(p) => p.to_owned(),
            NodeRef::Cached(id) => match self.cache.remote_path(from, id) {
                Some(p) => p.to_owned(),
                None => {
                    self.drops.unknown_node += 1;
                    return;
                }
            },
        };
        let Some(node) = self.nodes.get(&path) else {
            self.drops.unknown_node += 1;
            return;
        };
        let Some(cfg) = node.by_id(call.name_id) else {
            self.drops.unknown_method += 1;
            return;
        };
        let allowed = match cfg.rpc_mode {
            RpcMode::Disabled => false,
            RpcMode::AnyPeer => true,
            RpcMode::Authority => from == node.authority,
        };
        if !allowed {
            self.drops.unauthorized += 1;
            return;
        }
        let method = cfg.name.clone();
        let mut args = Vec::new();
        if !codec::decode_args(call.args, self.allow_object_decoding, &mut args) {
            self.drops.bad_args += 1;
        }
        self.events.push_back(SceneEvent::Rpc {
            from,
            path,
            method,
            args,
        });
    }
}
