//! Received unsequenced packets and fragments.
//!
//! Owns the unsequenced duplicate window, the validation of fragment commands against the
//! host's limits, the creation and lookup of fragment groups in a channel's queues, and
//! filling a group under the host's memory budget. The layout and storage rules for a
//! group's buffers are in [`crate::incoming`]; queueing and delivery in
//! [`super::incoming_queue`].

use super::*;

impl Host {
    pub(super) fn handle_send_unsequenced(
        &mut self,
        idx: usize,
        ch: usize,
        group: u16,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        let p = &mut self.peers[idx];
        let mut g = group as u32;
        let index = g % UNSEQUENCED_WINDOW_SIZE;
        let base = p.incoming_unsequenced_group as u32;
        if g < base {
            g += 0x10000;
        }
        if g >= base + FREE_UNSEQUENCED_WINDOWS * UNSEQUENCED_WINDOW_SIZE {
            return Ok(false);
        }
        g &= 0xFFFF;
        if g - index != base {
            p.incoming_unsequenced_group = (g - index) as u16;
            if let Some(w) = p.unsequenced_window.as_deref_mut() {
                *w = [0; (UNSEQUENCED_WINDOW_SIZE / 32) as usize];
            }
        } else if p
            .unsequenced_window
            .as_deref()
            .is_some_and(|w| w[(index / 32) as usize] & (1 << (index % 32)) != 0)
        {
            return Ok(false);
        }
        self.queue_incoming(
            idx,
            ch,
            IncomingKind::Unsequenced,
            0,
            0,
            payload,
            PacketFlags::UNSEQUENCED,
            None,
        )?;
        // Once per connection, not per packet: the window stays until the slot is reset.
        self.peers[idx]
            .unsequenced_window
            .get_or_insert_with(Box::default)[(index / 32) as usize] |= 1 << (index % 32);
        Ok(true)
    }

    pub(super) fn validate_fragment(&self, f: &Fragment) -> Result<(), DropReason> {
        let max = self.config.maximum_packet_size;
        if f.fragment_count > MAXIMUM_FRAGMENT_COUNT
            || f.fragment_number >= f.fragment_count
            || f.total_length as usize > max
            || f.total_length < f.fragment_count
            || f.fragment_offset >= f.total_length
            || f.data_length as u32 > f.total_length - f.fragment_offset
        {
            return Err(DropReason::InvalidFragment);
        }
        Ok(())
    }

    pub(super) fn handle_send_fragment(
        &mut self,
        idx: usize,
        ch: usize,
        f: &Fragment,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        if f.data_length == 0 {
            return Err(DropReason::InvalidFragment);
        }
        let start = f.start_sequence_number;
        let chan = &self.peers[idx].channels[ch];
        if !in_receive_window(start, chan.incoming_reliable_sequence_number) {
            return Ok(false);
        }
        self.validate_fragment(f)?;
        let key = GroupKey::Reliable(chan.position(start));
        if !self.group_exists(idx, ch, key, IncomingKind::Fragment, f)? {
            let layout = fragment_layout(f, None)?;
            self.queue_incoming(
                idx,
                ch,
                IncomingKind::Fragment,
                start,
                0,
                &[],
                PacketFlags::RELIABLE,
                Some((f, layout)),
            )?;
        }
        if self.fill_fragment(idx, ch, key, f, payload)? {
            self.dispatch_incoming_reliable(idx, ch, None);
        }
        Ok(true)
    }

    /// Whether the fragment group `key` exists, after checking that it matches `f`.
    pub(super) fn group_exists(
        &self,
        idx: usize,
        ch: usize,
        key: GroupKey,
        kind: IncomingKind,
        f: &Fragment,
    ) -> Result<bool, DropReason> {
        let chan = &self.peers[idx].channels[ch];
        let Some(c) = key.get(chan) else {
            return Ok(false);
        };
        match &c.reassembly {
            Some(r)
                if c.kind == kind
                    && r.total_length == f.total_length
                    && c.fragment_count == f.fragment_count =>
            {
                Ok(true)
            }
            _ => Err(DropReason::InvalidFragment),
        }
    }

    /// Stores a fragment into its group; returns whether the group is now complete.
    pub(super) fn fill_fragment(
        &mut self,
        idx: usize,
        ch: usize,
        key: GroupKey,
        f: &Fragment,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        let chan = &self.peers[idx].channels[ch];
        // Gone already (an unreliable group dropped by dispatch): nothing to fill.
        let Some(c) = key.get(chan) else {
            return Ok(false);
        };
        let Some(r) = c.reassembly.as_deref() else {
            return Err(DropReason::InvalidFragment);
        };
        fragment_layout(f, Some(r.fragment_length))?;
        let n = f.fragment_number;
        if n < r.prefix || r.spill_index.contains_key(&n) {
            return Ok(false);
        }
        let growth = fragment_growth(&c.data, r, f);
        if !self.admit(idx, growth) {
            return Err(DropReason::HostBufferBudget);
        }
        let p = &mut self.peers[idx];
        let c = key.get_mut(&mut p.channels[ch]).expect("looked up above");
        let r = c.reassembly.as_deref_mut().expect("checked above");
        store_fragment(&mut c.data, r, f, payload);
        let committed = reassembly_committed(&c.data, r) + GROUP_ENTRY_COST;
        let old = std::mem::replace(&mut c.committed, committed);
        c.fragments_remaining -= 1;
        let complete = c.fragments_remaining == 0;
        p.held_committed = (p.held_committed + committed).saturating_sub(old);
        self.buffered = (self.buffered + committed).saturating_sub(old);
        Ok(complete)
    }

    pub(super) fn handle_send_unreliable_fragment(
        &mut self,
        idx: usize,
        ch: usize,
        header: &CommandHeader,
        f: &Fragment,
        payload: &[u8],
    ) -> Result<bool, DropReason> {
        if f.data_length == 0 {
            return Err(DropReason::InvalidFragment);
        }
        let s = header.reliable_sequence_number;
        let u = f.start_sequence_number;
        let chan = &self.peers[idx].channels[ch];
        let r = chan.incoming_reliable_sequence_number;
        if !in_receive_window(s, r) {
            return Ok(false);
        }
        if s == r && u <= chan.incoming_unreliable_sequence_number {
            return Ok(false);
        }
        self.validate_fragment(f)?;
        let key = GroupKey::Unreliable((chan.position(s), u));
        if !self.group_exists(idx, ch, key, IncomingKind::UnreliableFragment, f)? {
            let layout = fragment_layout(f, None)?;
            self.queue_incoming(
                idx,
                ch,
                IncomingKind::UnreliableFragment,
                s,
                u,
                &[],
                PacketFlags::UNRELIABLE_FRAGMENT,
                Some((f, layout)),
            )?;
        }
        if self.fill_fragment(idx, ch, key, f, payload)? {
            self.dispatch_incoming_unreliable(idx, ch, None);
        }
        Ok(true)
    }
}

/// What a fragment group's entry costs in memory besides its buffers.
pub(super) const GROUP_ENTRY_COST: usize = INCOMING_ENTRY_COST + std::mem::size_of::<Reassembly>();

/// A fragment group's place in a channel's queues.
#[derive(Clone, Copy)]
pub(super) enum GroupKey {
    Reliable(ReliableKey),
    Unreliable(UnreliableKey),
}

impl GroupKey {
    fn get(self, chan: &Channel) -> Option<&IncomingCommand> {
        match self {
            GroupKey::Reliable(k) => chan.incoming_reliable_commands.get(&k),
            GroupKey::Unreliable(k) => chan.incoming_unreliable_commands.get(&k),
        }
    }

    fn get_mut(self, chan: &mut Channel) -> Option<&mut IncomingCommand> {
        match self {
            GroupKey::Reliable(k) => chan.incoming_reliable_commands.get_mut(&k),
            GroupKey::Unreliable(k) => chan.incoming_unreliable_commands.get_mut(&k),
        }
    }
}
