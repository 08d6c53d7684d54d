//! A hash map with a hard bound on its length and counted evictions.
//!
//! Eviction is CLOCK (second chance) over insertion order: an entry read or updated since it
//! was last considered gets one more round, so the busy bindings stay and a flood of one-off
//! keys evicts other one-off keys. Every operation is O(1) amortized, which matters when an
//! attacker sends a new MAC per frame.
//!
//! Memory: the first time the map is full it sizes its hash table and queue for the churn
//! that follows, once (see [`BoundedMap::insert_absent`]); after that neither grows, whatever
//! arrives. A full map at its bound costs its final memory from then on, instead of doubling
//! minutes later, after a number of evictions nobody can predict.
use std::{collections::HashMap, collections::VecDeque, hash::Hash};

/// foldhash: several times faster than SipHash on 8..24-byte keys, and seeded per process, so
/// an attacker on the link cannot choose addresses that all land in one bucket.
pub type Hasher = foldhash::fast::RandomState;

#[derive(Debug, Clone)]
struct Slot<V> {
    value: V,
    /// Matches the queue entry that currently represents this key.
    gen: u64,
    referenced: bool,
}

#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, Slot<V>, Hasher>,
    order: VecDeque<(K, u64)>,
    cap: usize,
    next_gen: u64,
    evictions: u64,
    /// Sized for churn at the bound (done once, when the map first became full).
    sized_for_churn: bool,
}

impl<K: Copy + Eq + Hash, V> BoundedMap<K, V> {
    /// A map holding at most `cap` entries (at least 1).
    pub fn new(cap: usize) -> Self {
        Self {
            map: HashMap::with_hasher(Hasher::default()),
            order: VecDeque::new(),
            cap: cap.max(1),
            next_gen: 0,
            evictions: 0,
            sized_for_churn: false,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn capacity_bound(&self) -> usize {
        self.cap
    }

    /// Entries evicted to stay within the bound since creation.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|s| &s.value)
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    /// Reads an entry for update and marks it as used.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|s| {
            s.referenced = true;
            &mut s.value
        })
    }

    /// Inserts or replaces; returns the entry evicted to make room, if any.
    pub fn insert(&mut self, k: K, v: V) -> Option<(K, V)> {
        if let Some(s) = self.map.get_mut(&k) {
            s.value = v;
            s.referenced = true;
            return None;
        }
        self.insert_absent(k, v)
    }

    /// Inserts a key the caller just found absent (saves a lookup on the hot path of a flood
    /// of new keys); returns the entry evicted to make room, if any.
    ///
    /// The first time an insert finds the map full, its hash table is sized for `2 * cap + 2` entries and
    /// its queue for its compaction bound (`2 * cap + 65`). Each eviction leaves a tombstone
    /// in the table; when tombstones use up its spare room, the table rehashes in place only if
    /// it is at most half full, and otherwise doubles. Unsized, a table of `cap` entries in the
    /// smallest power-of-two table that holds them is more than half full, so it doubled once
    /// more at some later eviction (a 20,000-binding table: 6.8 MB more, about 50,000
    /// evictions after it filled). Sized here, the rehash is always in place.
    pub fn insert_absent(&mut self, k: K, v: V) -> Option<(K, V)> {
        debug_assert!(!self.map.contains_key(&k));
        let evicted = if self.map.len() >= self.cap {
            if !self.sized_for_churn {
                self.size_for_churn();
            }
            self.evict_one()
        } else {
            None
        };
        let gen = self.next_gen;
        self.next_gen += 1;
        self.map.insert(
            k,
            Slot {
                value: v,
                gen,
                referenced: false,
            },
        );
        self.order.push_back((k, gen));
        self.compact_if_needed();
        evicted
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        // The queue entry goes stale and is skipped later.
        let v = self.map.remove(k).map(|s| s.value);
        self.compact_if_needed();
        v
    }

    /// The oldest live entry by insertion (skipping stale queue entries).
    pub fn oldest(&mut self) -> Option<(K, &V)> {
        while let Some(&(k, gen)) = self.order.front() {
            match self.map.get(&k) {
                Some(s) if s.gen == gen => return self.map.get(&k).map(|s| (k, &s.value)),
                _ => {
                    self.order.pop_front();
                }
            }
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, s)| (k, &s.value))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().map(|s| &mut s.value)
    }

    /// See [`BoundedMap::insert_absent`]. A failed allocation leaves the map as it was (it
    /// then grows when it must, as before).
    fn size_for_churn(&mut self) {
        self.sized_for_churn = true;
        let table = self.cap.saturating_mul(2).saturating_add(2) - self.map.len();
        let _ = self.map.try_reserve(table);
        let queue = self
            .cap
            .saturating_mul(2)
            .saturating_add(65)
            .saturating_sub(self.order.len());
        let _ = self.order.try_reserve_exact(queue);
    }

    fn evict_one(&mut self) -> Option<(K, V)> {
        // Each live entry gets at most one second chance, so this ends within 2 * len pops.
        // Removing first and putting back the rare survivor costs one lookup per eviction.
        let mut budget = 2 * self.order.len() + 1;
        while budget > 0 {
            budget -= 1;
            let (k, gen) = self.order.pop_front()?;
            let Some(mut s) = self.map.remove(&k) else {
                continue;
            };
            if s.gen != gen {
                // A stale queue entry for a key that has a newer one: keep the key.
                self.map.insert(k, s);
                continue;
            }
            if s.referenced {
                s.referenced = false;
                let g = self.next_gen;
                self.next_gen += 1;
                s.gen = g;
                self.map.insert(k, s);
                self.order.push_back((k, g));
                continue;
            }
            self.evictions += 1;
            return Some((k, s.value));
        }
        None
    }

    /// Removed keys leave stale queue entries: rebuild when they outnumber the live ones.
    fn compact_if_needed(&mut self) {
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, gen)| map.get(k).is_some_and(|s| s.gen == *gen));
        }
    }
}

/// Per-key rate windows in a direct-mapped array: a key's slot is picked by its hash; a
/// different key landing on a taken slot replaces it (counted). One cache line per lookup,
/// no allocation after creation: a flood of random source MACs costs nothing more than
/// normal traffic, and a single source that floods keeps its slot while it sends.
#[derive(Debug, Clone)]
pub struct RateSlots<K> {
    slots: Vec<Slot64<K>>,
    mask: usize,
    hasher: Hasher,
    replaced: u64,
}

/// A slot on a cache line of its own: with a small key a slot is 64 bytes, which at the
/// allocator's 16-byte alignment would straddle two lines (two misses per lookup under a flood
/// of random sources, where every lookup misses).
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Slot64<K>(Option<(K, RateWindow)>);

const _: () = assert!(std::mem::size_of::<Slot64<(u16, [u8; 6])>>() == 64);

impl<K: Copy + Eq + Hash> RateSlots<K> {
    /// At least `n` slots (rounded up to a power of two).
    pub fn new(n: usize) -> Self {
        let n = n.max(1).next_power_of_two();
        Self {
            slots: vec![Slot64(None); n],
            mask: n - 1,
            hasher: Hasher::default(),
            replaced: 0,
        }
    }

    /// Counts one event for `k` at `t`; returns its events in the last second.
    pub fn add(&mut self, k: K, t: u64) -> u32 {
        let h = self.hash(&k);
        self.add_at(h, k, t)
    }

    /// The slot hash of `v` (the key, or a part of it that spreads keys as well: a caller
    /// that can compute it before it has the whole key can [`RateSlots::prefetch`]).
    pub fn hash<H: Hash>(&self, v: &H) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(v)
    }

    /// [`RateSlots::add`] at the slot of hash `h` (from [`RateSlots::hash`]; the same key
    /// must always come with the same hash).
    pub fn add_at(&mut self, h: u64, k: K, t: u64) -> u32 {
        let i = (h as usize) & self.mask;
        let slot = &mut self.slots[i].0;
        match slot {
            Some((key, w)) if *key == k => w.add(t),
            _ => {
                if slot.is_some() {
                    self.replaced += 1;
                }
                let mut w = RateWindow::default();
                let r = w.add(t);
                *slot = Some((k, w));
                r
            }
        }
    }

    /// Asks the CPU to bring the slot of hash `h` into its cache, ahead of the
    /// [`RateSlots::add_at`] that will need it: under a flood of random keys every slot is a
    /// cache miss, which a prefetch issued one packet earlier hides.
    #[inline]
    pub fn prefetch(&self, h: u64) {
        let slot = &self.slots[(h as usize) & self.mask];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint: it reads nothing into the program and cannot fault;
        // the pointer is to a live element anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(slot).cast::<i8>());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.0.is_some()).count()
    }

    /// Keys that replaced another key's window.
    pub fn replaced(&self) -> u64 {
        self.replaced
    }
}

/// Packets per second over the last second, in ten 100 ms buckets.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateWindow {
    buckets: [u32; 10],
    /// The 100 ms slot of the newest bucket.
    slot: u64,
}

const SLOT_NS: u64 = 100_000_000;

impl RateWindow {
    /// Counts one event at `t` (ns) and returns the events in the last second.
    pub fn add(&mut self, t: u64) -> u32 {
        let slot = t / SLOT_NS;
        if slot > self.slot {
            let adv = slot - self.slot;
            if adv >= 10 {
                self.buckets = [0; 10];
            } else {
                for i in 1..=adv {
                    self.buckets[((self.slot + i) % 10) as usize] = 0;
                }
            }
            self.slot = slot;
        }
        // Late events (out of order by more than a second) are not counted.
        if slot + 10 > self.slot {
            let b = &mut self.buckets[(slot % 10) as usize];
            *b = b.saturating_add(1);
        }
        self.sum()
    }

    pub fn sum(&self) -> u32 {
        self.buckets.iter().fold(0u32, |a, b| a.saturating_add(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_holds_and_evictions_are_counted() {
        let mut m = BoundedMap::new(4);
        for i in 0..100u32 {
            m.insert(i, i);
            assert!(m.len() <= 4);
        }
        assert_eq!(m.len(), 4);
        assert_eq!(m.evictions(), 96);
        // The newest survive.
        assert!(m.contains_key(&99) && m.contains_key(&96));
    }

    #[test]
    fn used_entries_get_a_second_chance() {
        let mut m = BoundedMap::new(3);
        m.insert(1, ());
        m.insert(2, ());
        m.insert(3, ());
        m.get_mut(&1);
        m.insert(4, ()); // evicts 2, not 1
        assert!(m.contains_key(&1));
        assert!(!m.contains_key(&2));
    }

    #[test]
    fn a_full_map_stops_growing_under_churn() {
        // 1,000 entries at most, then 99,000 new keys: each insert evicts one, leaving a
        // tombstone in the hash table.
        let mut m = BoundedMap::new(1000);
        for i in 0..1001u32 {
            m.insert(i, i);
        }
        // Sized at the first insert that found the map full: room for 2 * 1000 + 2 entries.
        let (table, queue) = (m.map.capacity(), m.order.capacity());
        assert!(table >= 2002, "{table}");
        assert!(queue >= 2065, "{queue}");
        for i in 1001..100_000u32 {
            m.insert(i, i);
            // Tombstones lower the table's free room; a resize would raise it above `table`.
            assert!(
                m.map.capacity() <= table,
                "at key {i}: {} > {table}",
                m.map.capacity()
            );
            assert_eq!(m.order.capacity(), queue, "at key {i}");
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.evictions(), 99_000);
    }

    #[test]
    fn removals_do_not_grow_the_queue() {
        let mut m = BoundedMap::new(8);
        for i in 0..10_000u32 {
            m.insert(i % 5, i);
            m.remove(&(i % 5));
        }
        assert!(m.order.len() < 200, "{}", m.order.len());
        assert_eq!(m.evictions(), 0);
    }

    #[test]
    fn oldest_skips_removed_entries() {
        let mut m = BoundedMap::new(8);
        m.insert(1, 'a');
        m.insert(2, 'b');
        m.remove(&1);
        assert_eq!(m.oldest().map(|(k, v)| (k, *v)), Some((2, 'b')));
    }

    #[test]
    fn rate_slots_keep_a_busy_key_and_count_replacements() {
        let mut r = RateSlots::new(8);
        assert_eq!(r.slots(), 8);
        for i in 0..50u64 {
            assert_eq!(r.add(7u32, i * 1000), i as u32 + 1);
        }
        for k in 100..200u32 {
            r.add(k, 60_000);
        }
        assert!(r.used() <= 8);
        assert!(r.replaced() >= 92);
    }

    #[test]
    fn rate_window_counts_the_last_second() {
        let mut w = RateWindow::default();
        let s = 1_000_000_000u64;
        for i in 0..50 {
            w.add(10 * s + i * 10_000_000); // 50 events over 0.5 s
        }
        assert_eq!(w.sum(), 50);
        // 10.9 s: all 50 still inside the last second.
        assert_eq!(w.add(10 * s + 900_000_000), 51);
        // 11.05 s: the 10.0-10.1 s bucket (10 events) has aged out.
        assert_eq!(w.add(11 * s + 50_000_000), 42);
        assert_eq!(w.add(30 * s), 1);
    }
}
