//! The wrapper state behind an active [`EnetConnection`]: the native host, one [`Slot`] per
//! peer slot (Godot's `ENetPacketPeer` object: its generation, received packets and
//! PacketPeer state) and the peers list in Godot's order; and the translation of the native
//! host's events into Godot's [`ServiceEvent`]s (packets are queued on their peer's slot).

use std::collections::VecDeque;

use enet_proto::{Event, HostTotals, Packet, PeerId};

use super::events::{EventType, PeerHandle, ServiceEvent};
use crate::udp::UdpHost;

#[cfg(doc)]
use super::EnetConnection;

/// Per-slot wrapper state (Godot's ENetPacketPeer object).
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub(crate) generation: u32,
    /// The native id of the connection this slot wraps (set while active).
    pub(crate) id: Option<PeerId>,
    pub(crate) active: bool,
    pub(crate) packets: VecDeque<(Packet, u8)>,
    pub(crate) last_flags: u32,
    /// PacketPeer state (encode_buffer_max_size, last get_packet error).
    pub(crate) var: crate::packet_peer::PacketPeerState,
}

pub(crate) struct Active {
    pub(crate) udp: UdpHost,
    pub(crate) slots: Vec<Slot>,
    /// Handles in Godot's `peers` list order.
    pub(crate) peers: Vec<PeerHandle>,
    pub(crate) stat_base: HostTotals,
    pub(crate) max_channels: usize,
    pub(crate) bound: bool,
    /// How many times a peer became inactive (lets `prune` and callers skip rescans).
    pub(crate) deactivations: u64,
    /// A peer became inactive since the last `prune`.
    pub(crate) prune_needed: bool,
}

impl Active {
    pub(crate) fn activate(&mut self, id: PeerId) -> PeerHandle {
        let slot = &mut self.slots[id.index()];
        slot.generation = slot.generation.wrapping_add(1);
        slot.active = true;
        slot.id = Some(id);
        slot.packets.clear();
        slot.var = Default::default();
        let h = PeerHandle {
            index: id.index() as u16,
            generation: slot.generation,
        };
        self.peers.push(h);
        h
    }

    pub(crate) fn handle_of(&self, id: PeerId) -> Option<PeerHandle> {
        let slot = self.slots.get(id.index())?;
        (slot.active && slot.id == Some(id)).then_some(PeerHandle {
            index: id.index() as u16,
            generation: slot.generation,
        })
    }

    pub(crate) fn deactivate(&mut self, h: PeerHandle) {
        if let Some(slot) = self.slots.get_mut(h.index as usize) {
            if slot.generation == h.generation && slot.active {
                slot.active = false;
                self.deactivations += 1;
                self.prune_needed = true;
            }
        }
    }

    /// Godot removes inactive wrappers from the list at the start of `service`.
    pub(crate) fn prune(&mut self) {
        if !std::mem::take(&mut self.prune_needed) {
            return;
        }
        let slots = &self.slots;
        self.peers.retain(|h| {
            let s = &slots[h.index as usize];
            s.active && s.generation == h.generation
        });
    }

    pub(crate) fn translate(&mut self, ev: Option<Event>) -> ServiceEvent {
        let Some(ev) = ev else {
            return ServiceEvent::none();
        };
        match ev {
            Event::Connect { peer, data } => {
                let h = match self.handle_of(peer) {
                    Some(h) => h,
                    None => {
                        // A wrapper still active on an earlier connection of this slot
                        // (reset by the engine without an event) ends here.
                        let slot = &self.slots[peer.index()];
                        if slot.active {
                            let old = PeerHandle {
                                index: peer.index() as u16,
                                generation: slot.generation,
                            };
                            self.deactivate(old);
                        }
                        self.activate(peer)
                    }
                };
                ServiceEvent {
                    kind: EventType::Connect,
                    peer: Some(h),
                    data,
                    channel: 0,
                    reason: None,
                }
            }
            Event::Disconnect { peer, data, reason } => match self.handle_of(peer) {
                Some(h) => {
                    self.deactivate(h);
                    self.peers.retain(|p| *p != h);
                    ServiceEvent {
                        kind: EventType::Disconnect,
                        peer: Some(h),
                        data,
                        channel: 0,
                        reason: Some(reason),
                    }
                }
                None => ServiceEvent {
                    kind: EventType::Error,
                    ..ServiceEvent::none()
                },
            },
            Event::Receive {
                peer,
                channel_id,
                packet,
            } => match self.handle_of(peer) {
                Some(h) => {
                    self.slots[peer.index()]
                        .packets
                        .push_back((packet, channel_id));
                    ServiceEvent {
                        kind: EventType::Receive,
                        peer: Some(h),
                        data: 0,
                        channel: channel_id,
                        reason: None,
                    }
                }
                None => ServiceEvent {
                    kind: EventType::Error,
                    ..ServiceEvent::none()
                },
            },
            // An event kind this layer does not know (the engine's `Event` is
            // non-exhaustive): nothing Godot would report.
            _ => ServiceEvent::none(),
        }
    }
}

pub(crate) fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
