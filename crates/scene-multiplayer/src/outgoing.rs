//! Send side of RPCs: targets, SIMPLIFY_PATH before first use, and the per-target
//! REMOTE_CALL form (short id once every target confirmed, else 4-byte id / full path).

use super::*;

impl<P: MultiplayerPeer> SceneMultiplayer<P> {
    /// `rpc_id(peer, method, args)` on node `path`: `peer` is 0 (all), N, or −N (all but N).
    pub fn rpc_id(
        &mut self,
        peer: i32,
        path: &str,
        method: &str,
        args: &[Variant],
    ) -> Result<(), SceneError> {
        let node = self
            .nodes
            .get(path)
            .ok_or_else(|| SceneError::UnknownNode(path.to_owned()))?;
        let (name_id, cfg) = node
            .by_name(method)
            .ok_or_else(|| SceneError::UnknownMethod {
                path: path.to_owned(),
                method: method.to_owned(),
            })?;
        let (mode, channel, call_local, method) = (
            cfg.transfer_mode,
            cfg.channel,
            cfg.call_local,
            cfg.name.clone(),
        );
        let checksum = node.checksum().to_owned();
        let me = self.peer.get_unique_id();
        let local = if peer == me {
            if !call_local {
                return Err(SceneError::CallOnSelf);
            }
            true
        } else {
            call_local && (peer == 0 || (peer < 0 && peer.wrapping_neg() != me))
        };
        let targets: Vec<i32> = if peer > 0 {
            if peer != me && !self.connected.contains_key(&peer) {
                return Err(SceneError::UnknownPeer(peer));
            }
            if peer == me {
                Vec::new()
            } else {
                vec![peer]
            }
        } else {
            self.order
                .iter()
                .copied()
                .filter(|&p| peer == 0 || p != peer.wrapping_neg())
                .collect()
        };
        if !targets.is_empty() {
            self.connected_check()?;
            // Encode once to validate the arguments before anything is sent.
            let mut probe = std::mem::take(&mut self.scratch);
            probe.clear();
            let r = codec::write_remote_call(
                &mut probe,
                Some(0),
                false,
                path,
                name_id,
                args,
                self.allow_object_decoding,
            );
            self.scratch = probe;
            r?;
            let cache_id = self.cache.local_id(path);
            self.set_mode(TransferMode::Reliable, 0);
            let mut all_confirmed = true;
            for &t in &targets {
                match self.cache.sent(path, t) {
                    Some(Sent::Confirmed { .. }) => {}
                    Some(Sent::Announced) => all_confirmed = false,
                    None => {
                        all_confirmed = false;
                        let mut m = Vec::with_capacity(43);
                        codec::write_simplify_path(&mut m, &checksum, cache_id, path);
                        self.cache.mark_announced(path, t);
                        let _ = self.send_command(t, &m);
                    }
                }
            }
            self.set_mode(mode, channel);
            let mut short = Vec::new();
            let mut full = Vec::new();
            let mut wide_id = Vec::new();
            for &t in &targets {
                let confirmed = matches!(self.cache.sent(path, t), Some(Sent::Confirmed { .. }));
                let (buf, node) = match (all_confirmed, confirmed) {
                    (true, _) => (&mut short, Some(cache_id)),
                    (false, true) => (&mut wide_id, Some(cache_id)),
                    (false, false) => (&mut full, None),
                };
                if buf.is_empty() {
                    codec::write_remote_call(
                        buf,
                        node,
                        !all_confirmed,
                        path,
                        name_id,
                        args,
                        self.allow_object_decoding,
                    )?;
                }
                let msg = std::mem::take(buf);
                let r = self.send_command(t, &msg);
                *match (all_confirmed, confirmed) {
                    (true, _) => &mut short,
                    (false, true) => &mut wide_id,
                    (false, false) => &mut full,
                } = msg;
                if peer > 0 {
                    r?;
                }
            }
        }
        if local {
            self.events.push_back(SceneEvent::Rpc {
                from: me,
                path: path.to_owned(),
                method,
                args: args.to_vec(),
            });
        }
        Ok(())
    }
}
