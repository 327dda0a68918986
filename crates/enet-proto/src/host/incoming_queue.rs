//! The incoming queues: admitting received packets and delivering them in order.
//!
//! Owns `enet_peer_queue_incoming_command` and the two dispatchers (reliable and
//! unreliable), with the limits that keep a hostile peer from pinning memory: the per-queue
//! entry cap, the per-peer waiting-data limit (with the gap allowance) and the host-wide
//! buffer budget. Delivered packets become receive events; entries that can never be
//! delivered are freed and their cost returned.

use super::fragments::GROUP_ENTRY_COST;
use super::*;

impl Host {
    /// Whether the host's budget for buffered data admits `delta` more bytes from peer
    /// `idx`. Past half the budget, only peers below an even share of it may grow, so the
    /// heaviest peers are refused first.
    pub(super) fn admit(&self, idx: usize, delta: usize) -> bool {
        let budget = self.config.buffer_budget;
        let after = self.buffered.saturating_add(delta);
        if after > budget {
            return false;
        }
        if after > budget / 2 {
            let p = &self.peers[idx];
            let mine = p
                .held_committed
                .saturating_add(p.event_committed)
                .saturating_add(delta);
            if mine > budget / self.connected_peers.max(1) {
                return false;
            }
        }
        true
    }

    /// Queues an incoming packet or fragment group (`enet_peer_queue_incoming_command`).
    /// Returns whether it was queued (false: discarded as old or duplicate). `group` is the
    /// first fragment of a new group and the group's fragment length.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn queue_incoming(
        &mut self,
        idx: usize,
        ch: usize,
        kind: IncomingKind,
        reliable_seq: u16,
        unreliable_seq: u16,
        data: &[u8],
        flags: PacketFlags,
        group: Option<(&Fragment, u32)>,
    ) -> Result<bool, DropReason> {
        let max_waiting = self.config.maximum_waiting_data;
        let p = &self.peers[idx];
        let discard = || {
            if group.is_some() {
                Err(DropReason::UnexpectedCommand)
            } else {
                Ok(false)
            }
        };
        if p.state == PeerState::DisconnectLater {
            return discard();
        }
        let chan = &p.channels[ch];
        let r = chan.incoming_reliable_sequence_number;
        if kind != IncomingKind::Unsequenced && !in_receive_window(reliable_seq, r) {
            return discard();
        }
        let reliable = matches!(kind, IncomingKind::Reliable | IncomingKind::Fragment);
        // The bound on held entries comes before any search.
        let held = if reliable {
            chan.incoming_reliable_commands.len()
        } else {
            chan.incoming_unreliable_commands.len()
        };
        if held >= MAXIMUM_HELD_PER_QUEUE {
            return Err(DropReason::QueueFull);
        }
        let position = chan.position(reliable_seq);
        match kind {
            IncomingKind::Reliable | IncomingKind::Fragment => {
                if reliable_seq == r || chan.incoming_reliable_commands.contains_key(&position) {
                    return discard();
                }
            }
            IncomingKind::Unreliable | IncomingKind::UnreliableFragment => {
                if reliable_seq == r && unreliable_seq <= chan.incoming_unreliable_sequence_number
                    || chan
                        .incoming_unreliable_commands
                        .contains_key(&(position, unreliable_seq))
                {
                    return discard();
                }
            }
            IncomingKind::Unsequenced => {}
        }
        let length = group.map_or(data.len(), |(f, _)| f.total_length as usize);
        let reserved = waiting_cost(length);
        // C refuses every new command once `total_waiting_data >= max_waiting`. That
        // deadlocks a reliable channel when out-of-order packets fill the budget: they were
        // acknowledged, so they stay, waiting for the missing packets in front of them, which
        // are refused because of them, for good, however often the application polls. So the
        // next reliable packet in order is only held back by delivered data the application
        // has not polled yet, and a packet that fills a gap in front of held packets by a
        // cap of the limit plus a constant allowance (`GAP_ALLOWANCE`, at most the limit)
        // on what sits in the queues. Everything
        // else must fit under the limit (or arrive while the peer holds nothing). A peer's
        // queues thus hold at most the limit, the allowance and one packet. Sizes are costs,
        // payload plus a fixed cost per packet, so that empty packets count too.
        let over_limit = if reliable && reliable_seq.wrapping_sub(r) == 1 {
            p.waiting_cost.saturating_sub(p.held_cost) >= max_waiting
        } else if reliable
            && chan
                .incoming_reliable_commands
                .last_key_value()
                .is_some_and(|(&k, _)| position < k)
        {
            p.waiting_cost.saturating_sub(p.held_cost) >= max_waiting
                || p.held_cost.saturating_add(reserved)
                    > max_waiting.saturating_add(max_waiting.min(GAP_ALLOWANCE))
        } else {
            p.waiting_cost > 0 && p.waiting_cost.saturating_add(reserved) > max_waiting
        };
        if over_limit {
            return Err(DropReason::WaitingDataLimit);
        }
        let committed = match group {
            Some(_) => GROUP_ENTRY_COST,
            None => data.len() + INCOMING_ENTRY_COST,
        };
        if !self.admit(idx, committed) {
            return Err(DropReason::HostBufferBudget);
        }
        let (buffer, reassembly, fragment_count) = match group {
            Some((f, fragment_length)) => (
                Vec::new(),
                Some(Box::new(Reassembly {
                    total_length: f.total_length,
                    fragment_length,
                    ..Default::default()
                })),
                f.fragment_count,
            ),
            None => (data.to_vec(), None, 0),
        };
        let p = &mut self.peers[idx];
        p.total_waiting_data += length;
        p.waiting_cost += reserved;
        p.held_cost += reserved;
        p.held_committed += committed;
        self.buffered += committed;
        let entry = IncomingCommand {
            kind,
            reliable_sequence_number: reliable_seq,
            unreliable_sequence_number: unreliable_seq,
            fragment_count,
            fragments_remaining: fragment_count,
            data: buffer,
            reassembly,
            flags,
            reserved,
            committed,
        };
        let chan = &mut p.channels[ch];
        match kind {
            IncomingKind::Reliable if position == chan.incoming_base.wrapping_add(1) => {
                // Next in order: delivered at once, as C's dispatch would (no map node).
                self.dispatch_incoming_reliable(idx, ch, Some(entry));
            }
            IncomingKind::Reliable | IncomingKind::Fragment => {
                chan.incoming_reliable_commands.insert(position, entry);
                self.dispatch_incoming_reliable(idx, ch, None);
            }
            IncomingKind::Unsequenced => {
                // C queues it at the front of the unreliable queue, where dispatch delivers it
                // first; the rest of that dispatch goes on as without it.
                self.deliver(idx, ch, entry);
                self.dispatch_incoming_unreliable(idx, ch, None);
            }
            IncomingKind::Unreliable
                if reliable_seq == r
                    && chan
                        .incoming_unreliable_commands
                        .first_key_value()
                        .is_none_or(|(&(k, _), _)| k > position) =>
            {
                // Deliverable now, and nothing else is at the channel's position: C's
                // dispatch would deliver it and stop at the next (later) entry.
                chan.incoming_unreliable_sequence_number = unreliable_seq;
                self.deliver(idx, ch, entry);
            }
            _ => {
                let key = (position, unreliable_seq);
                chan.incoming_unreliable_commands.insert(key, entry);
                self.dispatch_incoming_unreliable(idx, ch, Some(key));
            }
        }
        Ok(true)
    }

    pub(super) fn deliver(&mut self, idx: usize, ch: usize, cmd: IncomingCommand) {
        let p = &mut self.peers[idx];
        p.held_cost = p.held_cost.saturating_sub(cmd.reserved);
        p.held_committed = p.held_committed.saturating_sub(cmd.committed);
        p.event_committed += cmd.committed;
        let inc = p.incarnation;
        let ev = Event::Receive {
            peer: PeerId::new(idx, inc),
            channel_id: ch as u8,
            packet: Packet {
                data: bytes::Bytes::from(cmd.data),
                flags: cmd.flags,
            },
        };
        self.events.push_back((ev, inc, cmd.committed));
    }

    /// Frees an entry that will never be delivered.
    pub(super) fn discard_entry(&mut self, idx: usize, cmd: IncomingCommand) {
        let p = &mut self.peers[idx];
        p.total_waiting_data = p.total_waiting_data.saturating_sub(cmd.packet_length());
        p.waiting_cost = p.waiting_cost.saturating_sub(cmd.reserved);
        p.held_cost = p.held_cost.saturating_sub(cmd.reserved);
        p.held_committed = p.held_committed.saturating_sub(cmd.committed);
        self.buffered = self.buffered.saturating_sub(cmd.committed);
    }

    /// Delivers the complete packets at the front of the reliable queue
    /// (`enet_peer_dispatch_incoming_reliable_commands`). `head` is a packet at the next
    /// position that was never put in the queue.
    pub(super) fn dispatch_incoming_reliable(
        &mut self,
        idx: usize,
        ch: usize,
        head: Option<IncomingCommand>,
    ) {
        let mut next = head;
        let mut moved = false;
        loop {
            let chan = &mut self.peers[idx].channels[ch];
            let c = match next.take() {
                Some(c) => c,
                None => {
                    let want = chan.incoming_base.wrapping_add(1);
                    match chan.incoming_reliable_commands.first_entry() {
                        Some(e) if *e.key() == want && e.get().fragments_remaining == 0 => {
                            e.remove()
                        }
                        _ => break,
                    }
                }
            };
            let mut seq = c.reliable_sequence_number;
            if c.fragment_count > 0 {
                seq = seq.wrapping_add((c.fragment_count - 1) as u16);
            }
            chan.advance_to(seq);
            moved = true;
            self.deliver(idx, ch, c);
        }
        if !moved {
            return;
        }
        // A fragment group advances the position over all its sequence numbers; anything
        // a misbehaving sender put at those numbers can never be delivered (C leaves it at
        // the front of its queue, which stalls the channel). Free it.
        loop {
            let chan = &mut self.peers[idx].channels[ch];
            let base = chan.incoming_base;
            match chan.incoming_reliable_commands.first_entry() {
                Some(e) if *e.key() <= base => {
                    let c = e.remove();
                    self.discard_entry(idx, c);
                }
                _ => break,
            }
        }
        self.peers[idx].channels[ch].incoming_unreliable_sequence_number = 0;
        self.dispatch_incoming_unreliable(idx, ch, None);
    }

    /// Delivers the unreliable entries with keys in `start..end` (`None`: to the end).
    pub(super) fn deliver_unreliable_range(
        &mut self,
        idx: usize,
        ch: usize,
        start: UnreliableKey,
        end: Option<UnreliableKey>,
    ) {
        loop {
            let list = &mut self.peers[idx].channels[ch].incoming_unreliable_commands;
            let key = match list.range(start..).next() {
                Some((&k, _)) if end.is_none_or(|e| k < e) => k,
                _ => break,
            };
            let c = list.remove(&key).expect("found above");
            self.deliver(idx, ch, c);
        }
    }

    /// `enet_peer_dispatch_incoming_unreliable_commands`. Keys play the part of C's list
    /// nodes (`None` is the list's end): they stay valid while other entries leave.
    pub(super) fn dispatch_incoming_unreliable(
        &mut self,
        idx: usize,
        ch: usize,
        queued: Option<UnreliableKey>,
    ) {
        let after = |list: &BTreeMap<UnreliableKey, IncomingCommand>, k: UnreliableKey| {
            list.range((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded))
                .next()
                .map(|(&k, _)| k)
        };
        let first = self.peers[idx].channels[ch]
            .incoming_unreliable_commands
            .keys()
            .next()
            .copied();
        let mut start = first;
        let mut dropped = first;
        let mut cur = first;
        while let Some(ck) = cur {
            let chan = &mut self.peers[idx].channels[ch];
            let list = &chan.incoming_unreliable_commands;
            let c = &list[&ck];
            let r = chan.incoming_reliable_sequence_number;
            if c.reliable_sequence_number == r {
                if c.fragments_remaining == 0 {
                    chan.incoming_unreliable_sequence_number = c.unreliable_sequence_number;
                    cur = after(list, ck);
                    continue;
                }
                if start != cur {
                    if let Some(s) = start {
                        self.deliver_unreliable_range(idx, ch, s, cur);
                    }
                    dropped = cur;
                } else if dropped != cur {
                    dropped = list.range(..ck).next_back().map(|(&k, _)| k);
                }
            } else {
                if in_receive_window(c.reliable_sequence_number, r) {
                    break;
                }
                dropped = after(list, ck);
                if start != cur {
                    if let Some(s) = start {
                        self.deliver_unreliable_range(idx, ch, s, cur);
                    }
                }
            }
            let list = &self.peers[idx].channels[ch].incoming_unreliable_commands;
            cur = after(list, ck);
            start = cur;
        }
        if start != cur {
            if let Some(s) = start {
                self.deliver_unreliable_range(idx, ch, s, cur);
            }
            dropped = cur;
        }
        // Free everything before `dropped` except the command just queued.
        let mut from = None;
        loop {
            let list = &mut self.peers[idx].channels[ch].incoming_unreliable_commands;
            let next = match from {
                None => list.keys().next().copied(),
                Some(k) => after(list, k),
            };
            let Some(k) = next else { break };
            if dropped.is_some_and(|d| k >= d) {
                break;
            }
            if Some(k) == queued {
                from = Some(k);
                continue;
            }
            let c = list.remove(&k).expect("found above");
            self.discard_entry(idx, c);
        }
    }
}
