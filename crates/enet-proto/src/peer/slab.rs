//! The host's table of outgoing commands ([`CommandSlab`]): every peer's queued and
//! in-flight commands in reusable slots, grown in fixed chunks and given back chunk by
//! chunk as a burst drains.

use super::OutgoingCommand;

/// The number of a slot in a [`CommandSlab`]: its chunk in the high bits, its place in the
/// chunk in the low [`CHUNK_BITS`].
pub(crate) type CommandSlot = u32;

/// Bits of a slot number that address a slot inside its chunk.
const CHUNK_BITS: u32 = 12;
/// Slots per chunk (4,096: 320 KB of commands, well above the size from which the system
/// allocator maps a block on its own, 128 KB at first and raised by glibc up to the
/// largest block freed so far, such as a grown hash table's old one; a chunk mapped on its
/// own goes back to the operating system when released instead of staying in the heap).
pub(crate) const CHUNK_SLOTS: usize = 1 << CHUNK_BITS;
/// Slots the first chunk keeps when the whole table empties (about 90 KB).
pub(crate) const SLAB_KEEP: usize = 1024;

/// The host's outgoing commands, every peer's, in one table of reusable slots.
///
/// A slot is owned by exactly one queue entry from [`CommandSlab::insert`] to
/// [`CommandSlab::take`]; free slots form a list through their chunk, so a free slot costs
/// nothing more. The table grows in chunks of [`CHUNK_SLOTS`] slots (the first one
/// doubling up to that size, so that a host with little traffic stays small), never by
/// reallocating and copying what it holds, so it holds what the host has had in flight at
/// once rounded up to a chunk, not up to a power of two.
///
/// New commands go to the lowest chunk with a free slot, so the chunks at the end drain
/// once a burst is over, and a chunk at the end that empties behind another empty one is
/// freed: the memory of a burst goes back as it is acknowledged, even while other
/// commands (every connected peer's pings) stay in flight for good. One empty chunk is
/// kept at the end, so a host whose traffic swings around a chunk boundary does not
/// allocate and free a chunk each time: a chunk is allocated after at least
/// [`CHUNK_SLOTS`] more commands than were in flight when the last was freed. When the
/// last command leaves the table, the first chunk shrinks back to [`SLAB_KEEP`] slots.
/// Queueing thus allocates nothing once the host has warmed up to its traffic.
#[derive(Debug, Default)]
pub(crate) struct CommandSlab {
    chunks: Vec<Chunk>,
    /// Bit `c` (word `c / 64`) set: chunk `c` has a free slot or room to grow.
    open: Vec<u64>,
    /// Slots holding a command.
    used: u32,
}

/// One chunk of a [`CommandSlab`].
#[derive(Debug, Default)]
struct Chunk {
    entries: Vec<SlabEntry>,
    /// The first free entry; the list ends at `entries.len()`.
    free: u32,
    /// Entries holding a command.
    used: u32,
}

/// A slot of the [`CommandSlab`]: a command, or the next free slot of its chunk.
#[derive(Debug)]
enum SlabEntry {
    Used(OutgoingCommand),
    Free(u32),
}

impl Chunk {
    fn insert(&mut self, c: OutgoingCommand) -> u32 {
        self.used += 1;
        let local = self.free;
        match self.entries.get_mut(local as usize) {
            Some(e) => {
                let SlabEntry::Free(next) = *e else {
                    unreachable!("the free list holds free slots")
                };
                self.free = next;
                *e = SlabEntry::Used(c);
            }
            None => {
                // Chunks after the first are allocated whole; the first doubles from 4
                // to CHUNK_SLOTS (a power of two), so this push never exceeds it.
                self.entries.push(SlabEntry::Used(c));
                self.free = self.entries.len() as u32;
            }
        }
        local
    }

    fn take(&mut self, local: u32) -> OutgoingCommand {
        let e = std::mem::replace(
            &mut self.entries[local as usize],
            SlabEntry::Free(self.free),
        );
        self.free = local;
        self.used -= 1;
        match e {
            SlabEntry::Used(c) => c,
            SlabEntry::Free(_) => unreachable!("a queued slot holds a command"),
        }
    }

    fn get(&self, local: u32) -> &OutgoingCommand {
        match &self.entries[local as usize] {
            SlabEntry::Used(c) => c,
            SlabEntry::Free(_) => unreachable!("a queued slot holds a command"),
        }
    }

    fn get_mut(&mut self, local: u32) -> &mut OutgoingCommand {
        match &mut self.entries[local as usize] {
            SlabEntry::Used(c) => c,
            SlabEntry::Free(_) => unreachable!("a queued slot holds a command"),
        }
    }
}

fn split(slot: CommandSlot) -> (usize, u32) {
    (
        (slot >> CHUNK_BITS) as usize,
        slot & (CHUNK_SLOTS as u32 - 1),
    )
}

impl CommandSlab {
    /// Stores `c` in a free slot (in the lowest chunk that has one) and returns the slot.
    pub fn insert(&mut self, c: OutgoingCommand) -> CommandSlot {
        let ci = match self.lowest_open() {
            Some(ci) => ci,
            None => self.add_chunk(),
        };
        let chunk = &mut self.chunks[ci];
        let local = chunk.insert(c);
        if chunk.used as usize == CHUNK_SLOTS {
            self.open[ci / 64] &= !(1 << (ci % 64));
        }
        self.used += 1;
        // Queues hold at most a few hundred thousand commands (every peer's window and its
        // send queue): chunk numbers stay far below 2^21.
        ((ci as u32) << CHUNK_BITS) | local
    }

    /// Removes the command of `slot` and frees the slot.
    pub fn take(&mut self, slot: CommandSlot) -> OutgoingCommand {
        let (ci, local) = split(slot);
        let chunk = &mut self.chunks[ci];
        let c = chunk.take(local);
        let emptied = chunk.used == 0;
        self.open[ci / 64] |= 1 << (ci % 64);
        self.used -= 1;
        if self.used == 0 {
            self.shrink_all();
        } else if emptied && ci + 2 >= self.chunks.len() {
            self.release_trailing();
        }
        c
    }

    /// The lowest chunk with a free slot or room to grow.
    fn lowest_open(&self) -> Option<usize> {
        self.open
            .iter()
            .position(|&w| w != 0)
            .map(|i| i * 64 + self.open[i].trailing_zeros() as usize)
    }

    /// Appends an empty chunk (all of it at once but for the first) and returns it.
    fn add_chunk(&mut self) -> usize {
        let ci = self.chunks.len();
        let entries = if ci == 0 {
            Vec::new()
        } else {
            Vec::with_capacity(CHUNK_SLOTS)
        };
        self.chunks.push(Chunk {
            entries,
            free: 0,
            used: 0,
        });
        if ci / 64 == self.open.len() {
            self.open.push(0);
        }
        self.open[ci / 64] |= 1 << (ci % 64);
        ci
    }

    /// Frees the last chunk while it and the one before it are empty (one empty chunk
    /// stays at the end, and the first chunk always stays).
    fn release_trailing(&mut self) {
        while let [.., a, b] = &self.chunks[..] {
            if a.used != 0 || b.used != 0 {
                break;
            }
            let ci = self.chunks.len() - 1;
            self.chunks.pop();
            self.open[ci / 64] &= !(1 << (ci % 64));
        }
    }

    /// The table is empty: frees every chunk but the first and shrinks that one to
    /// [`SLAB_KEEP`] slots.
    fn shrink_all(&mut self) {
        self.chunks.truncate(1);
        self.open.truncate(1);
        self.open[0] = 1;
        let first = &mut self.chunks[0];
        first.free = 0;
        first.entries.clear();
        if first.entries.capacity() > SLAB_KEEP {
            first.entries.shrink_to(SLAB_KEEP);
        }
    }

    /// Chunks allocated, and slots the table has room for without allocating.
    #[cfg(test)]
    fn capacity(&self) -> (usize, usize) {
        let slots = self.chunks.iter().map(|c| c.entries.capacity()).sum();
        (self.chunks.len(), slots)
    }
}

impl std::ops::Index<CommandSlot> for CommandSlab {
    type Output = OutgoingCommand;
    fn index(&self, slot: CommandSlot) -> &OutgoingCommand {
        let (ci, local) = split(slot);
        self.chunks[ci].get(local)
    }
}

impl std::ops::IndexMut<CommandSlot> for CommandSlab {
    fn index_mut(&mut self, slot: CommandSlot) -> &mut OutgoingCommand {
        let (ci, local) = split(slot);
        self.chunks[ci].get_mut(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Command;
    use bytes::Bytes;

    fn command(n: u32) -> OutgoingCommand {
        OutgoingCommand::new(
            0,
            0,
            Command::Disconnect { data: n },
            Bytes::new(),
            false,
            n,
        )
    }

    /// Slots are reused most recently freed first, a command stays where it was put, and
    /// a table that grew past its keep size shrinks back once empty, then serves again.
    #[test]
    fn slab_reuses_slots_and_shrinks_when_empty() {
        let mut slab = CommandSlab::default();
        let a = slab.insert(command(1));
        let b = slab.insert(command(2));
        let c = slab.insert(command(3));
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(slab.take(b).fragment_offset, 2);
        assert_eq!(slab.insert(command(4)), b);
        assert_eq!(slab[a].fragment_offset, 1);
        slab[c].send_attempts = 7;
        assert_eq!(slab.take(c).send_attempts, 7);
        assert_eq!(slab.take(b).fragment_offset, 4);
        assert_eq!(slab.take(a).fragment_offset, 1);
        // Empty but small: kept.
        assert_eq!(slab.capacity(), (1, 4));
        let n = CHUNK_SLOTS as u32 * 3;
        let slots: Vec<_> = (0..n).map(|i| slab.insert(command(i))).collect();
        assert_eq!(slab.capacity(), (3, 3 * CHUNK_SLOTS));
        for (i, s) in slots.iter().enumerate().rev() {
            assert_eq!(slab.take(*s).fragment_offset, i as u32);
        }
        assert_eq!(slab.capacity(), (1, SLAB_KEEP));
        assert_eq!(slab.insert(command(9)), 0);
        assert_eq!(slab[0].fragment_offset, 9);
    }

    /// The table holds what was in flight rounded up to a chunk (not to a power of two),
    /// and gives chunks back as a burst drains while other commands stay in flight: new
    /// commands go to the lowest chunk with room, and one empty chunk stays at the end.
    #[test]
    fn chunks_are_given_back_as_a_burst_drains() {
        let mut slab = CommandSlab::default();
        // A few commands that stay (pings of connected peers).
        let stay: Vec<_> = (0..5).map(|i| slab.insert(command(i))).collect();
        // A burst of 4.5 chunks.
        let burst: Vec<_> = (0..CHUNK_SLOTS * 9 / 2)
            .map(|i| slab.insert(command(i as u32)))
            .collect();
        assert_eq!(slab.capacity(), (5, 5 * CHUNK_SLOTS));
        // The burst drains oldest first; the staying commands hold the first chunk.
        for (i, s) in burst.iter().enumerate() {
            assert_eq!(slab.take(*s).fragment_offset, i as u32);
        }
        // Chunks 2..5 freed, chunk 1 kept empty at the end.
        assert_eq!(slab.capacity(), (2, 2 * CHUNK_SLOTS));
        // New commands fill the first chunk's free slots before the spare chunk.
        let again: Vec<_> = (0..CHUNK_SLOTS - 5)
            .map(|i| slab.insert(command(i as u32)))
            .collect();
        assert!(again.iter().all(|&s| (s as usize) < CHUNK_SLOTS));
        assert_eq!(slab.capacity(), (2, 2 * CHUNK_SLOTS));
        // Swinging around the chunk boundary neither allocates nor frees a chunk.
        for _ in 0..10 {
            let s = slab.insert(command(0)) as usize;
            assert!(
                (CHUNK_SLOTS..2 * CHUNK_SLOTS).contains(&s),
                "in the spare chunk"
            );
            let s = s as CommandSlot;
            slab.take(s);
            assert_eq!(slab.capacity(), (2, 2 * CHUNK_SLOTS));
        }
        for s in stay.iter().chain(&again) {
            slab.take(*s);
        }
        assert_eq!(slab.capacity(), (1, SLAB_KEEP));
    }

    /// Slots of a freed chunk in the middle are reused before a chunk is added.
    #[test]
    fn a_full_table_reuses_the_lowest_free_slot() {
        let mut slab = CommandSlab::default();
        let all: Vec<_> = (0..CHUNK_SLOTS * 3)
            .map(|i| slab.insert(command(i as u32)))
            .collect();
        let mid = all[CHUNK_SLOTS + 17];
        slab.take(mid);
        let late = all[2 * CHUNK_SLOTS + 3];
        slab.take(late);
        assert_eq!(slab.insert(command(1)), mid);
        assert_eq!(slab.insert(command(2)), late);
        assert_eq!(slab.capacity(), (3, 3 * CHUNK_SLOTS));
        assert_eq!(slab.insert(command(3)) as usize, 3 * CHUNK_SLOTS);
        assert_eq!(slab.capacity(), (4, 4 * CHUNK_SLOTS));
    }
}
