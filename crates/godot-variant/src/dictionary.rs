//! [`Dictionary`]: Godot's insertion-ordered map from Variant to Variant.

use crate::variant::key_hash;
use crate::Variant;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Dictionaries up to this size are searched linearly; larger ones keep a hash index.
const INDEX_THRESHOLD: usize = 8;

/// Passes an already (randomly seeded) 64-bit hash through unchanged.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[derive(Debug, Clone, Default)]
struct Index {
    state: RandomState,
    /// Key hash → position of the first entry with that hash.
    first: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    /// Positions of entries whose hash collided with another key's (practically always empty).
    overflow: Vec<u32>,
}

/// Godot's `Dictionary`: keys and values of any type, kept in insertion order.
///
/// Keys are compared with [`Variant::key_eq`] (Godot's rule: NaN equals NaN, `1` is not `1.0`).
/// Inserting an existing key replaces its value in place. Equality (`==`) ignores order, as
/// Godot's does.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    entries: Vec<(Variant, Variant)>,
    index: Option<Box<Index>>,
}

impl Dictionary {
    /// Most entries [`Dictionary::with_capacity`] reserves before any is inserted.
    pub const MAX_CAPACITY_HINT: usize = 1 << 16;

    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty dictionary with room for `n` entries.
    ///
    /// `n` is a hint: at most [`Dictionary::MAX_CAPACITY_HINT`] entries are reserved up
    /// front (more are allocated as they are inserted), so no `n` panics or aborts.
    pub fn with_capacity(n: usize) -> Self {
        let n = n.min(Self::MAX_CAPACITY_HINT);
        let index = (n > INDEX_THRESHOLD).then(|| {
            Box::new(Index {
                first: HashMap::with_capacity_and_hasher(n, Default::default()),
                ..Default::default()
            })
        });
        Self {
            entries: Vec::with_capacity(n),
            index,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn hash_of(index: &Index, key: &Variant) -> u64 {
        let mut h = index.state.build_hasher();
        key_hash(key, &mut h);
        h.finish()
    }

    fn position(&self, key: &Variant) -> Option<usize> {
        let hash = self.index.as_ref().map(|index| Self::hash_of(index, key));
        self.position_hashed(key, hash)
    }

    /// `hash` is the key's hash when there is an index.
    fn position_hashed(&self, key: &Variant, hash: Option<u64>) -> Option<usize> {
        match (&self.index, hash) {
            (Some(index), Some(hash)) => {
                let first = *index.first.get(&hash)? as usize;
                if self.entries[first].0.key_eq(key) {
                    return Some(first);
                }
                index
                    .overflow
                    .iter()
                    .map(|i| *i as usize)
                    .find(|i| self.entries[*i].0.key_eq(key))
            }
            _ => self.entries.iter().position(|(k, _)| k.key_eq(key)),
        }
    }

    fn index_push(index: &mut Index, key: &Variant, pos: usize) {
        let hash = Self::hash_of(index, key);
        Self::index_push_hashed(index, hash, pos);
    }

    fn index_push_hashed(index: &mut Index, hash: u64, pos: usize) {
        let pos = pos as u32;
        if index.first.try_insert_or_keep(hash, pos) {
            index.overflow.push(pos);
        }
    }

    fn rebuild_index(&mut self) {
        if self.entries.len() <= INDEX_THRESHOLD || self.entries.len() >= u32::MAX as usize {
            self.index = None;
            return;
        }
        let mut index = Box::new(Index {
            first: HashMap::with_capacity_and_hasher(self.entries.len(), Default::default()),
            ..Default::default()
        });
        for (i, (k, _)) in self.entries.iter().enumerate() {
            Self::index_push(&mut index, k, i);
        }
        self.index = Some(index);
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &Variant) -> Option<&Variant> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// The value stored under `key`, mutably.
    pub fn get_mut(&mut self, key: &Variant) -> Option<&mut Variant> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    /// The value stored under the String key `key` (the usual case for GDScript dictionaries).
    pub fn get_str(&self, key: &str) -> Option<&Variant> {
        self.get(&Variant::String(key.to_owned()))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &Variant) -> bool {
        self.position(key).is_some()
    }

    /// Stores `value` under `key`. An existing key keeps its position and its old value is
    /// returned; a new key goes last.
    pub fn insert(
        &mut self,
        key: impl Into<Variant>,
        value: impl Into<Variant>,
    ) -> Option<Variant> {
        let key = key.into();
        let value = value.into();
        let hash = self.index.as_ref().map(|index| Self::hash_of(index, &key));
        if let Some(i) = self.position_hashed(&key, hash) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        let pos = self.entries.len();
        if pos >= u32::MAX as usize {
            // Positions are stored as u32; beyond that (never off the wire) search linearly.
            self.index = None;
        }
        if let (Some(index), Some(hash)) = (&mut self.index, hash) {
            Self::index_push_hashed(index, hash, pos);
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() == INDEX_THRESHOLD + 1 {
            self.rebuild_index();
        }
        None
    }

    /// Removes `key`, keeping the order of the others; returns its value.
    pub fn remove(&mut self, key: &Variant) -> Option<Variant> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        self.rebuild_index();
        Some(v)
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Variant, &Variant)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Variant> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in insertion order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Variant> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Consumes the dictionary, giving its entries in insertion order.
    pub fn into_entries(self) -> Vec<(Variant, Variant)> {
        self.entries
    }
}

trait TryInsertOrKeep {
    /// Inserts if absent and returns false; returns true (and keeps the old value) if present.
    fn try_insert_or_keep(&mut self, k: u64, v: u32) -> bool;
}

impl<S: BuildHasher> TryInsertOrKeep for HashMap<u64, u32, S> {
    fn try_insert_or_keep(&mut self, k: u64, v: u32) -> bool {
        match self.entry(k) {
            std::collections::hash_map::Entry::Occupied(_) => true,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
                false
            }
        }
    }
}

impl PartialEq for Dictionary {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Into<Variant>, V: Into<Variant>> FromIterator<(K, V)> for Dictionary {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut d = Dictionary::new();
        d.extend(iter);
        d
    }
}

impl<K: Into<Variant>, V: Into<Variant>> Extend<(K, V)> for Dictionary {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Dictionary {
    type Item = (Variant, Variant);
    type IntoIter = std::vec::IntoIter<(Variant, Variant)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}
