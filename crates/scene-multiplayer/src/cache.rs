//! The node path cache (B.9): our cache ids for nodes we reference (with who has confirmed
//! them) and the ids other peers announced to us.

use std::collections::HashMap;

/// Most cache ids one peer may announce to us; more are dropped (bounded memory).
pub const MAX_REMOTE_IDS_PER_PEER: usize = 4096;

/// What we sent for one of our nodes towards one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// SIMPLIFY_PATH sent, no CONFIRM_PATH yet.
    Announced,
    /// CONFIRM_PATH received (`valid` = checksum matched).
    Confirmed { valid: bool },
}

#[derive(Debug, Default)]
pub(crate) struct LocalNode {
    pub(crate) id: u32,
    pub(crate) peers: HashMap<i32, Sent>,
}

/// Both directions of the cache.
#[derive(Debug)]
pub(crate) struct PathCache {
    next_id: u32,
    /// Our nodes by path.
    pub(crate) local: HashMap<String, LocalNode>,
    /// Our cache id → path (for CONFIRM_PATH).
    local_by_id: HashMap<u32, String>,
    /// Per remote peer: their cache id → path.
    remote: HashMap<i32, HashMap<u32, String>>,
}

impl Default for PathCache {
    fn default() -> Self {
        PathCache {
            next_id: 1,
            local: HashMap::new(),
            local_by_id: HashMap::new(),
            remote: HashMap::new(),
        }
    }
}

/// The outcome of storing an announced id.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Store {
    Stored,
    Duplicate,
    Full,
}

impl PathCache {
    /// Our cache id for `path`, assigning the next one on first use.
    pub(crate) fn local_id(&mut self, path: &str) -> u32 {
        if let Some(n) = self.local.get(path) {
            return n.id;
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.local.insert(
            path.to_owned(),
            LocalNode {
                id,
                peers: HashMap::new(),
            },
        );
        self.local_by_id.insert(id, path.to_owned());
        id
    }

    /// What `peer` knows about our node `path`.
    pub(crate) fn sent(&self, path: &str, peer: i32) -> Option<Sent> {
        self.local.get(path)?.peers.get(&peer).copied()
    }

    pub(crate) fn mark_announced(&mut self, path: &str, peer: i32) {
        if let Some(n) = self.local.get_mut(path) {
            n.peers.insert(peer, Sent::Announced);
        }
    }

    /// Handles CONFIRM_PATH; false if the id is not ours (ignored silently, as Godot does).
    pub(crate) fn confirm(&mut self, peer: i32, id: u32, valid: bool) -> bool {
        let Some(path) = self.local_by_id.get(&id) else {
            return false;
        };
        match self
            .local
            .get_mut(path)
            .and_then(|n| n.peers.get_mut(&peer))
        {
            Some(s) => {
                *s = Sent::Confirmed { valid };
                true
            }
            None => false,
        }
    }

    pub(crate) fn store_remote(&mut self, peer: i32, id: u32, path: &str) -> Store {
        let m = self.remote.entry(peer).or_default();
        if m.contains_key(&id) {
            return Store::Duplicate;
        }
        if m.len() >= MAX_REMOTE_IDS_PER_PEER {
            return Store::Full;
        }
        m.insert(id, path.to_owned());
        Store::Stored
    }

    pub(crate) fn remote_path(&self, peer: i32, id: u32) -> Option<&str> {
        self.remote.get(&peer)?.get(&id).map(String::as_str)
    }

    /// Forgets everything about a peer that left.
    pub(crate) fn remove_peer(&mut self, peer: i32) {
        self.remote.remove(&peer);
        for n in self.local.values_mut() {
            n.peers.remove(&peer);
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = PathCache::default();
    }
}
