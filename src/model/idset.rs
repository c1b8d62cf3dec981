//! Sets of record ids (event ids, transcript ids) held for de-duplication, at 16 bytes an id.
//!
//! A scan of an organisation trail keeps every kept event's id twice (the scan's first-seen
//! set and the store writer's per-day set): as `String`s that is ~100 bytes an id with the
//! allocator's rounding, and it grew ingest's memory with the trail. An id is held as a 128-bit
//! digest under keys drawn for the set (SipHash, twice): ids written by someone who wants two
//! of them to collide cannot be made to, as the keys are unknown outside the process, and by
//! chance the odds are ~n²/2¹²⁹ (10¹² ids: 10⁻¹⁵).

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// The digest is already uniformly spread: the table hashes it by taking its low bits.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u128`s are hashed (`write_u128`); keep any other input well defined.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// A set of ids; see the module documentation.
pub struct IdSet {
    keys: (RandomState, RandomState),
    set: HashSet<u128, BuildHasherDefault<Spread>>,
}

impl Default for IdSet {
    fn default() -> Self {
        IdSet {
            keys: (RandomState::new(), RandomState::new()),
            set: HashSet::default(),
        }
    }
}

impl std::fmt::Debug for IdSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdSet").field("len", &self.len()).finish()
    }
}

impl IdSet {
    fn digest(&self, id: &str) -> u128 {
        (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id))
    }

    /// Adds an id; false when it was already in the set.
    pub fn insert(&mut self, id: &str) -> bool {
        let d = self.digest(id);
        self.set.insert(d)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(&self.digest(id))
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// A map from ids to values, the ids held as [`IdSet`] holds them (16 bytes an id).
pub struct IdMap<V> {
    keys: (RandomState, RandomState),
    map: std::collections::HashMap<u128, V, BuildHasherDefault<Spread>>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            keys: (RandomState::new(), RandomState::new()),
            map: Default::default(),
        }
    }
}

impl<V> IdMap<V> {
    fn digest(&self, id: &str) -> u128 {
        (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id))
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.map.get(&self.digest(id))
    }

    pub fn insert(&mut self, id: &str, v: V) {
        let d = self.digest(id);
        self.map.insert(d, v);
    }
}

/// Strings met again and again (the files events were read from), each held once and named
/// by its index.
#[derive(Default)]
pub struct Interned {
    all: Vec<Box<str>>,
    index: std::collections::HashMap<Box<str>, u32>,
}

impl Interned {
    /// The index of a string, added when new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        let i = self.all.len() as u32;
        self.all.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    /// The string of an index [`Interned::id`] gave.
    pub fn get(&self, i: u32) -> &str {
        &self.all[i as usize]
    }
}

impl<'a> Extend<&'a str> for IdSet {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, ids: I) {
        for id in ids {
            self.insert(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_told_apart_and_found_again() {
        let mut s = IdSet::default();
        let ids: Vec<String> = (0..50_000)
            .map(|i| format!("{i:08x}-0000-4000-8000-000000000000"))
            .collect();
        for id in &ids {
            assert!(s.insert(id), "{id} taken for one already in the set");
        }
        assert_eq!(s.len(), ids.len());
        for id in &ids {
            assert!(s.contains(id) && !s.insert(id));
        }
        assert!(!s.contains("") && !s.contains("00000000-0000-4000-8000-00000000000"));
        assert!(s.insert(""));
        assert!(!s.insert(""));
    }
}
