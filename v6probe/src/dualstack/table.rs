//! A fixed-capacity, lock-free table of fallback states shared by many dialers.
//!
//! Open addressing over a boxed slice of slots: a key lives within [`NEIGHBOURHOOD`] slots of
//! its home slot (a per-table seeded hash, so nobody outside can aim keys at one
//! neighbourhood). A free slot is claimed with a compare-and-swap on its tag; when the whole
//! neighbourhood is taken, the least valuable entry in it is evicted (a `normal` one first,
//! then the `limited` or `blocked` one that ends soonest; a claimed probe last), and counted.
//! So no input, forged or not, can fill the table and stop it from learning.
//!
//! The state of a key is one `AtomicU64` ([`Entry::pack`]) changed only with compare-and-swap
//! loops around the pure functions of [`super::state`]. No lock anywhere: dialers on many
//! threads can read and move the same destination at once, and exactly one of them wins each
//! transition (and reports it). Each slot has a generation, bumped when another key takes it
//! over and kept in the state word and the MTU word as well: an update prepared for the old key
//! fails its compare-and-swap instead of landing on the new one (the word keeps 15 bits of the
//! generation; a slot would have to change hands 32,768 times during one update to fool it).
use std::{
    fmt::Write as _,
    hash::{BuildHasher, RandomState},
    net::Ipv6Addr,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant, SystemTime},
};

use serde::Serialize;

use super::state::{self, Decision, Entry, FallbackState, Observation, Policy, Reason};

/// What a table entry is about: one IPv6 host, or the /64 it sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DestKey {
    Host(Ipv6Addr),
    Prefix64(Ipv6Addr),
}

impl DestKey {
    pub fn prefix_of(a: Ipv6Addr) -> Self {
        Self::Prefix64(Ipv6Addr::from(u128::from(a) & !((1u128 << 64) - 1)))
    }

    fn encode(self) -> (u8, u128) {
        match self {
            Self::Host(a) => (0, u128::from(a)),
            Self::Prefix64(a) => (1, u128::from(a)),
        }
    }

    pub fn scope(self) -> &'static str {
        match self {
            Self::Host(_) => "host",
            Self::Prefix64(_) => "prefix64",
        }
    }
}

impl std::fmt::Display for DestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Host(a) => write!(f, "{a}"),
            Self::Prefix64(a) => write!(f, "{a}/64"),
        }
    }
}

/// One state change, as printed (`"kind":"fallback_transition"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// `fd00:5::2` or `fd00:5::/64`.
    pub dest: String,
    /// `host` or `prefix64`.
    pub scope: &'static str,
    pub from: FallbackState,
    pub to: FallbackState,
    pub reason: Reason,
    /// RFC 3339 time of the transition.
    pub at: String,
    /// How long the new state lasts before it is reconsidered (pause or cool-down), in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
}

/// A path MTU below the IPv6 minimum (RFC 8200 section 5): an alert, never a fallback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MtuAlert {
    pub dest: String,
    pub mtu: u32,
    pub at: String,
}

/// How far from its home slot a key may sit: what a lookup scans and an insert evicts from.
pub const NEIGHBOURHOOD: usize = 16;

// A slot's tag: `generation << 8 | kind`.
const TAG_EMPTY: u64 = 0;
const TAG_CLAIMING: u64 = 1;
const TAG_READY: u64 = 2; // + key kind

fn tag_kind(tag: u64) -> u64 {
    tag & 0xff
}

fn tag_gen(tag: u64) -> u64 {
    tag >> 8
}

// The generation as kept in the state word (bits 9..24, free in `Entry::pack`) and in the MTU
// word (the high 32 bits).
const WORD_GEN_SHIFT: u32 = 9;
const WORD_GEN_MASK: u64 = 0x7fff;

fn word_with_gen(packed: u64, gen: u64) -> u64 {
    packed | ((gen & WORD_GEN_MASK) << WORD_GEN_SHIFT)
}

fn word_gen(word: u64) -> u64 {
    (word >> WORD_GEN_SHIFT) & WORD_GEN_MASK
}

fn mtu_with_gen(mtu: u32, gen: u64) -> u64 {
    (gen << 32) | u64::from(mtu)
}

#[derive(Default)]
struct Slot {
    tag: AtomicU64,
    hi: AtomicU64,
    lo: AtomicU64,
    word: AtomicU64,
    mtu: AtomicU64,
}

/// A slot holding a key, at the generation it was found with.
#[derive(Clone, Copy)]
struct Held<'a> {
    slot: &'a Slot,
    gen: u64,
}

impl Held<'_> {
    /// The entry, unless the slot changed hands since.
    fn entry(&self) -> Option<(u64, Entry)> {
        let w = self.slot.word.load(Ordering::Acquire);
        (word_gen(w) == self.gen & WORD_GEN_MASK).then(|| (w, Entry::unpack(w)))
    }

    /// Compare-and-swap of the entry, keeping the generation.
    fn swap(&self, cur: u64, next: Entry) -> Result<(), u64> {
        self.slot
            .word
            .compare_exchange(
                cur,
                word_with_gen(next.pack(), self.gen),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(drop)
    }
}

/// At most one log line per period; the ones in between are counted and reported with the
/// next (an attacker must not be able to fill the log).
struct LogGate {
    period_ms: u64,
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogGate {
    const fn new(period_ms: u64) -> Self {
        Self {
            period_ms,
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines suppressed since the last one)` when a line may be written at `now_ms`.
    fn pass(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Ordering::Relaxed);
        if now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.period_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// The shared table. Cheap to share behind an `Arc`.
pub struct FallbackTable {
    slots: Box<[Slot]>,
    mask: usize,
    policy: Policy,
    epoch: Instant,
    epoch_wall: SystemTime,
    /// Transitions counted by `[to][reason]`.
    counters: [[AtomicU64; Reason::COUNT]; 3],
    hasher: RandomState,
    /// Entries evicted to make room.
    evictions: AtomicU64,
    /// Inserts that found no slot (every candidate being written by another thread).
    full: AtomicU64,
    low_mtu_log: LogGate,
    full_log: LogGate,
}

impl std::fmt::Debug for FallbackTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackTable")
            .field("capacity", &self.slots.len())
            .field("policy", &self.policy)
            .finish()
    }
}

impl FallbackTable {
    /// A table of `capacity` slots (rounded up to a power of two, at least 16); a key lives
    /// within [`NEIGHBOURHOOD`] slots of its home, so it may evict before every slot is used.
    pub fn new(capacity: usize, policy: Policy) -> Self {
        let cap = capacity.max(16).next_power_of_two();
        Self {
            slots: (0..cap).map(|_| Slot::default()).collect(),
            mask: cap - 1,
            policy,
            epoch: Instant::now(),
            epoch_wall: SystemTime::now(),
            counters: Default::default(),
            hasher: RandomState::new(),
            evictions: AtomicU64::new(0),
            full: AtomicU64::new(0),
            low_mtu_log: LogGate::new(10_000),
            full_log: LogGate::new(10_000),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn now_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn wall(&self, ms: u64) -> String {
        crate::output::rfc3339_nanos(self.epoch_wall + Duration::from_millis(ms))
    }

    /// The slot of `key` (inserted, evicting if need be, when `insert`).
    fn slot(&self, key: DestKey, insert: bool) -> Option<Held<'_>> {
        let (kind, k) = key.encode();
        let (hi, lo) = ((k >> 64) as u64, k as u64);
        let home = (self.hasher.hash_one(key) as usize) & self.mask;
        let span = NEIGHBOURHOOD.min(self.slots.len());
        // A lost race (for a free slot or a victim) rescans: the winner may have inserted
        // this very key. Bounded: each round some other thread made progress.
        for _ in 0..8 {
            let mut victim: Option<(usize, u64, (bool, FallbackState, u64))> = None;
            let mut contended = false;
            for step in 0..span {
                let i = (home + step) & self.mask;
                let s = &self.slots[i];
                let mut tag = s.tag.load(Ordering::Acquire);
                if tag_kind(tag) == TAG_EMPTY {
                    if !insert {
                        return None;
                    }
                    match s.tag.compare_exchange(
                        tag,
                        (tag_gen(tag) << 8) | TAG_CLAIMING,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return Some(self.fill(s, tag_gen(tag), kind, hi, lo)),
                        Err(t) => tag = t,
                    }
                }
                // Another thread is writing this slot's key: a few stores, bounded wait.
                let mut spins = 0;
                while tag_kind(tag) == TAG_CLAIMING && spins < 100_000 {
                    std::hint::spin_loop();
                    tag = s.tag.load(Ordering::Acquire);
                    spins += 1;
                }
                if tag_kind(tag) < TAG_READY {
                    contended = true;
                    continue;
                }
                let same_key = tag_kind(tag) == TAG_READY + u64::from(kind)
                    && s.hi.load(Ordering::Acquire) == hi
                    && s.lo.load(Ordering::Acquire) == lo;
                // The key is only this slot's if nobody took the slot over while it was read.
                if s.tag.load(Ordering::Acquire) != tag {
                    contended = true;
                    continue;
                }
                if same_key {
                    return Some(Held {
                        slot: s,
                        gen: tag_gen(tag),
                    });
                }
                if insert {
                    let e = Entry::unpack(s.word.load(Ordering::Acquire));
                    let e = state::expire(e, self.now_ms(Instant::now())).unwrap_or(e);
                    // Least valuable first: no probe claim, then normal < limited < blocked,
                    // then the state that ends soonest.
                    let rank = (e.probing, e.state, e.until_ms);
                    if victim.is_none_or(|(_, _, r)| rank < r) {
                        victim = Some((i, tag, rank));
                    }
                }
            }
            if !insert {
                return None;
            }
            match victim {
                Some((i, tag, _)) if !contended => {
                    let s = &self.slots[i];
                    let gen = tag_gen(tag) + 1;
                    if s.tag
                        .compare_exchange(
                            tag,
                            (gen << 8) | TAG_CLAIMING,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        )
                        .is_ok()
                    {
                        self.evictions.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%key, "fallback table: evicted an entry to make room");
                        return Some(self.fill(s, gen, kind, hi, lo));
                    }
                }
                _ => std::hint::spin_loop(),
            }
        }
        self.full.fetch_add(1, Ordering::Relaxed);
        if let Some(more) = self.full_log.pass(self.now_ms(Instant::now())) {
            tracing::warn!(%key, more, "fallback table: no slot free of contention; destination treated as normal");
        }
        None
    }

    /// Writes a claimed slot for a new key at generation `gen` and publishes it.
    fn fill<'a>(&'a self, s: &'a Slot, gen: u64, kind: u8, hi: u64, lo: u64) -> Held<'a> {
        s.word
            .store(word_with_gen(Entry::NORMAL.pack(), gen), Ordering::Release);
        s.mtu.store(mtu_with_gen(0, gen), Ordering::Release);
        s.hi.store(hi, Ordering::Release);
        s.lo.store(lo, Ordering::Release);
        s.tag.store(
            (gen << 8) | (TAG_READY + u64::from(kind)),
            Ordering::Release,
        );
        Held { slot: s, gen }
    }

    fn transition(&self, key: DestKey, from: Entry, to: Entry, now_ms: u64) -> Option<Transition> {
        if from.state == to.state && to.reason != Reason::ProbeStarted {
            return None;
        }
        self.counters[to.state as usize][to.reason as usize].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%key, from = from.state.as_str(), to = to.state.as_str(), reason = to.reason.as_str(), "fallback transition");
        Some(Transition {
            dest: key.to_string(),
            scope: key.scope(),
            from: from.state,
            to: to.state,
            reason: to.reason,
            at: self.wall(now_ms),
            for_ms: (to.until_ms > now_ms).then(|| to.until_ms - now_ms),
        })
    }

    /// CAS loop: applies `f` to the slot's entry until the store succeeds or `f` says no
    /// change. `None` when the slot changed hands meanwhile (the key was evicted).
    fn update(
        &self,
        key: DestKey,
        held: Held<'_>,
        now_ms: u64,
        f: impl Fn(Entry) -> Option<Entry>,
        out: &mut Vec<Transition>,
    ) -> Option<Entry> {
        let (mut cur, mut e) = held.entry()?;
        loop {
            let Some(next) = f(e) else { return Some(e) };
            match held.swap(cur, next) {
                Ok(()) => {
                    // An expiry folded into the step is reported as its own transition.
                    if let Some(mid) = state::expire(e, now_ms) {
                        if mid.state != e.state && mid.state != next.state {
                            out.extend(self.transition(key, e, mid, now_ms));
                            out.extend(self.transition(key, mid, next, now_ms));
                            return Some(next);
                        }
                    }
                    out.extend(self.transition(key, e, next, now_ms));
                    return Some(next);
                }
                Err(actual) => {
                    if word_gen(actual) != held.gen & WORD_GEN_MASK {
                        return None;
                    }
                    cur = actual;
                    e = Entry::unpack(actual);
                }
            }
        }
    }

    /// The current entry of a key (after time-driven expiry), if the table knows it.
    pub fn entry(&self, key: DestKey, now: Instant) -> Option<Entry> {
        let (_, e) = self.slot(key, false)?.entry()?;
        Some(state::expire(e, self.now_ms(now)).unwrap_or(e))
    }

    /// The effective state for a destination host: the stricter of its own and its /64's.
    pub fn state_of(&self, addr: Ipv6Addr, now: Instant) -> FallbackState {
        [DestKey::Host(addr), DestKey::prefix_of(addr)]
            .into_iter()
            .filter_map(|k| self.entry(k, now))
            .map(|e| e.state)
            .max()
            .unwrap_or(FallbackState::Normal)
    }

    /// How a dialer should treat `addr` now. Applies expiries (reported in `out`) and claims the
    /// probe when a cool-down has ended: only one caller gets [`Decision::Probe`].
    pub fn decide(&self, addr: Ipv6Addr, now: Instant, out: &mut Vec<Transition>) -> Decision {
        let now_ms = self.now_ms(now);
        let keys = [DestKey::Host(addr), DestKey::prefix_of(addr)];
        // First pass: expiries, and the strictest plain decision.
        let mut decisions = [Decision::Ipv6First; 2];
        for (i, key) in keys.iter().enumerate() {
            let Some(held) = self.slot(*key, false) else {
                continue;
            };
            if let Some(e) = self.update(*key, held, now_ms, |e| state::expire(e, now_ms), out) {
                decisions[i] = state::decide(e, &self.policy, now_ms).0;
            }
        }
        if decisions.contains(&Decision::Skip) {
            return Decision::Skip;
        }
        if decisions.contains(&Decision::Ipv4First) {
            return Decision::Ipv4First;
        }
        if !decisions.contains(&Decision::Probe) {
            return Decision::Ipv6First;
        }
        // Claim the probe on every key that asks for one; losing any claim means another dialer
        // probes, so this one skips.
        for (i, key) in keys.iter().enumerate() {
            if decisions[i] != Decision::Probe {
                continue;
            }
            let Some(held) = self.slot(*key, false) else {
                continue;
            };
            let Some((cur, e)) = held.entry() else {
                continue;
            };
            let (d, claim) = state::decide(e, &self.policy, now_ms);
            let Some(claim) = claim.filter(|_| d == Decision::Probe) else {
                return Decision::Skip;
            };
            if held.swap(cur, claim).is_err() {
                return Decision::Skip;
            }
            out.extend(self.transition(*key, e, claim, now_ms));
        }
        Decision::Probe
    }

    /// Feeds what an IPv6 attempt to `addr` learned. Returns the transitions it caused.
    pub fn observe(&self, addr: Ipv6Addr, obs: Observation, now: Instant) -> Vec<Transition> {
        let now_ms = self.now_ms(now);
        let mut out = Vec::new();
        let Some((_, reason)) = obs.verdict() else {
            return out;
        };
        let mut keys = vec![DestKey::Host(addr)];
        if reason.network_scoped() {
            keys.push(DestKey::prefix_of(addr));
        }
        for key in keys {
            // Success only matters for keys the table already tracks.
            let insert = obs != Observation::Success;
            let Some(held) = self.slot(key, insert) else {
                continue;
            };
            self.update(
                key,
                held,
                now_ms,
                |e| state::step(e, obs, &self.policy, now_ms),
                &mut out,
            );
        }
        out
    }

    /// Records the path MTU to `addr` (from a packet too big, or the socket's IPV6_MTU). Never a
    /// fallback; an alert when it is below 1280 (logged at most once per 10 s, with a count of
    /// the ones not logged).
    pub fn record_mtu(&self, addr: Ipv6Addr, mtu: u32, now: Instant) -> Option<MtuAlert> {
        let held = self.slot(DestKey::Host(addr), true)?;
        let mut cur = held.slot.mtu.load(Ordering::Acquire);
        loop {
            if cur >> 32 != held.gen & 0xffff_ffff {
                return None; // the slot changed hands meanwhile
            }
            match held.slot.mtu.compare_exchange_weak(
                cur,
                mtu_with_gen(mtu, held.gen),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let now_ms = self.now_ms(now);
        (mtu < 1280).then(|| {
            if let Some(more) = self.low_mtu_log.pass(now_ms) {
                tracing::warn!(
                    %addr,
                    mtu,
                    more,
                    "path MTU below the IPv6 minimum of 1280 (`more`: such records not logged since the last line)"
                );
            }
            MtuAlert {
                dest: addr.to_string(),
                mtu,
                at: self.wall(now_ms),
            }
        })
    }

    /// The recorded path MTU to `addr`.
    pub fn path_mtu(&self, addr: Ipv6Addr) -> Option<u32> {
        let held = self.slot(DestKey::Host(addr), false)?;
        let m = held.slot.mtu.load(Ordering::Acquire);
        (m >> 32 == held.gen & 0xffff_ffff && m as u32 != 0).then_some(m as u32)
    }

    /// Every key the table holds, with its entry (after expiry) and recorded MTU.
    pub fn snapshot(&self, now: Instant) -> Vec<(DestKey, Entry, Option<u32>)> {
        let now_ms = self.now_ms(now);
        let mut v = Vec::new();
        for s in self.slots.iter() {
            let tag = s.tag.load(Ordering::Acquire);
            if tag_kind(tag) < TAG_READY {
                continue;
            }
            let k = (u128::from(s.hi.load(Ordering::Acquire)) << 64)
                | u128::from(s.lo.load(Ordering::Acquire));
            let w = s.word.load(Ordering::Acquire);
            let m = s.mtu.load(Ordering::Acquire);
            // Skip a slot taken over while it was read.
            if s.tag.load(Ordering::Acquire) != tag || word_gen(w) != tag_gen(tag) & WORD_GEN_MASK {
                continue;
            }
            let key = if tag_kind(tag) == TAG_READY {
                DestKey::Host(Ipv6Addr::from(k))
            } else {
                DestKey::Prefix64(Ipv6Addr::from(k))
            };
            let e = Entry::unpack(w);
            let e = state::expire(e, now_ms).unwrap_or(e);
            let mtu = (m >> 32 == tag_gen(tag) & 0xffff_ffff && m as u32 != 0).then_some(m as u32);
            v.push((key, e, mtu));
        }
        v.sort_by_key(|(k, _, _)| k.to_string());
        v
    }

    /// Entries evicted to make room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Slots (the capacity).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Transitions counted so far into `to` for `reason`.
    pub fn transitions_total(&self, to: FallbackState, reason: Reason) -> u64 {
        self.counters[to as usize][reason as usize].load(Ordering::Relaxed)
    }

    /// Prometheus text exposition: `v6probe_fallback_state` (0 normal, 1 limited, 2 blocked)
    /// per destination and `v6probe_fallback_transitions_total` by target state and reason.
    pub fn render_prometheus(&self, now: Instant) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP v6probe_fallback_state IPv6 fallback state per destination (0 normal, 1 limited, 2 blocked)."
        );
        let _ = writeln!(s, "# TYPE v6probe_fallback_state gauge");
        for (key, e, _) in self.snapshot(now) {
            let _ = writeln!(
                s,
                "v6probe_fallback_state{{dest=\"{key}\",scope=\"{}\",state=\"{}\"}} {}",
                key.scope(),
                e.state.as_str(),
                e.state as u8
            );
        }
        let _ = writeln!(
            s,
            "# HELP v6probe_fallback_table_evictions_total Entries evicted from the full neighbourhood of a new destination."
        );
        let _ = writeln!(s, "# TYPE v6probe_fallback_table_evictions_total counter");
        let _ = writeln!(
            s,
            "v6probe_fallback_table_evictions_total {}",
            self.evictions()
        );
        let _ = writeln!(
            s,
            "# HELP v6probe_fallback_table_slots Capacity of the fallback table."
        );
        let _ = writeln!(s, "# TYPE v6probe_fallback_table_slots gauge");
        let _ = writeln!(s, "v6probe_fallback_table_slots {}", self.capacity());
        let _ = writeln!(
            s,
            "# HELP v6probe_fallback_transitions_total Fallback state transitions by target state and reason."
        );
        let _ = writeln!(s, "# TYPE v6probe_fallback_transitions_total counter");
        for to in FallbackState::ALL {
            for reason in Reason::ALL {
                let n = self.transitions_total(to, reason);
                if n > 0 {
                    let _ = writeln!(
                        s,
                        "v6probe_fallback_transitions_total{{to=\"{}\",reason=\"{}\"}} {n}",
                        to.as_str(),
                        reason.as_str()
                    );
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn policy() -> Policy {
        Policy {
            limited_pause: Duration::from_secs(15),
            time_exceeded_pause: Duration::from_secs(15),
            blocked_cooldown: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(10),
        }
    }

    const A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 5, 0, 0, 0, 2);
    const B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 5, 0, 0, 0, 3);

    #[test]
    fn no_route_blocks_host_and_prefix_and_is_counted() {
        let t = FallbackTable::new(64, policy());
        let t0 = Instant::now();
        let tr = t.observe(A, Observation::DestUnreachable { code: 0 }, t0);
        assert_eq!(tr.len(), 2, "{tr:?}");
        assert_eq!(tr[0].dest, "2001:db8:0:5::2");
        assert_eq!(tr[1].dest, "2001:db8:0:5::/64");
        assert!(tr
            .iter()
            .all(|x| x.to == FallbackState::Blocked && x.reason == Reason::IcmpNoRoute));
        // A sibling host in the same /64 is blocked through the prefix.
        let mut out = Vec::new();
        assert_eq!(t.decide(B, t0, &mut out), Decision::Skip);
        assert_eq!(t.state_of(B, t0), FallbackState::Blocked);
        assert_eq!(
            t.transitions_total(FallbackState::Blocked, Reason::IcmpNoRoute),
            2
        );
        let prom = t.render_prometheus(t0);
        assert!(prom.contains(
            "v6probe_fallback_state{dest=\"2001:db8:0:5::2\",scope=\"host\",state=\"blocked\"} 2"
        ));
        assert!(prom.contains(
            "v6probe_fallback_transitions_total{to=\"blocked\",reason=\"icmp_no_route\"} 2"
        ));
    }

    #[test]
    fn address_unreachable_limits_only_the_host() {
        let t = FallbackTable::new(64, policy());
        let t0 = Instant::now();
        let tr = t.observe(A, Observation::DestUnreachable { code: 3 }, t0);
        assert_eq!(tr.len(), 1);
        let mut out = Vec::new();
        assert_eq!(t.decide(A, t0, &mut out), Decision::Ipv4First);
        assert_eq!(t.decide(B, t0, &mut out), Decision::Ipv6First);
        // After the pause, the expiry is reported once, by the first decide that sees it.
        let later = t0 + Duration::from_secs(16);
        assert_eq!(t.decide(A, later, &mut out), Decision::Ipv6First);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].reason, Reason::PauseElapsed);
        assert_eq!(out[0].to, FallbackState::Normal);
        out.clear();
        assert_eq!(t.decide(A, later, &mut out), Decision::Ipv6First);
        assert!(out.is_empty());
    }

    #[test]
    fn exactly_one_concurrent_dialer_claims_the_probe() {
        let t = Arc::new(FallbackTable::new(64, policy()));
        let t0 = Instant::now();
        t.observe(A, Observation::DestUnreachable { code: 0 }, t0);
        let after = t0 + Duration::from_secs(61);
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    (0..100)
                        .filter(|_| t.decide(A, after, &mut out) == Decision::Probe)
                        .count()
                })
            })
            .collect();
        let probes: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(probes, 1);
        // The probe succeeds: host and prefix back to normal.
        let tr = t.observe(A, Observation::Success, after);
        assert_eq!(tr.len(), 2);
        assert!(tr.iter().all(|x| x.to == FallbackState::Normal));
        assert_eq!(t.state_of(A, after), FallbackState::Normal);
    }

    #[test]
    fn concurrent_inserts_of_many_keys_do_not_lose_any() {
        let t = Arc::new(FallbackTable::new(4096, policy()));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4u16)
            .map(|n| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for i in 0..200u16 {
                        let a = Ipv6Addr::new(0xfd00, n, 0, 0, 0, 0, 0, i);
                        t.observe(a, Observation::DestUnreachable { code: 3 }, t0);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let snap = t.snapshot(t0);
        assert_eq!(snap.len(), 800);
        assert!(snap
            .iter()
            .all(|(_, e, _)| e.state == FallbackState::Limited));
    }

    #[test]
    fn full_table_evicts_the_entry_that_ends_soonest_and_counts() {
        let t = FallbackTable::new(16, policy());
        let t0 = Instant::now();
        // 16 limited hosts (address unreachable is host-scoped: one key each), the first one
        // ending soonest.
        for i in 0..16u16 {
            t.observe(
                Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i),
                Observation::DestUnreachable { code: 3 },
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert_eq!(t.snapshot(t0).len(), 16);
        assert_eq!(t.evictions(), 0);
        let extra = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 99);
        let tr = t.observe(extra, Observation::DestUnreachable { code: 3 }, t0);
        assert_eq!(tr.len(), 1, "{tr:?}");
        assert_eq!(t.state_of(extra, t0), FallbackState::Limited);
        assert_eq!(t.evictions(), 1);
        let snap = t.snapshot(t0);
        assert_eq!(snap.len(), 16);
        assert!(
            !snap
                .iter()
                .any(|(k, _, _)| *k == DestKey::Host(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0))),
            "the entry ending soonest goes"
        );
        assert!(t
            .render_prometheus(t0)
            .contains("v6probe_fallback_table_evictions_total 1"));
    }

    #[test]
    fn a_flood_of_mtu_records_cannot_stop_the_table_learning() {
        let t = FallbackTable::new(1024, policy());
        let t0 = Instant::now();
        for i in 0..20_000u32 {
            let dest = Ipv6Addr::from(0x2001_0db8_ffff_u128 << 80 | u128::from(i));
            t.record_mtu(dest, 1000, t0);
        }
        assert!(t.evictions() >= 20_000 - 1024, "{}", t.evictions());
        assert!(t.snapshot(t0).len() <= 1024);
        // A genuine no-route afterwards still blocks, host and /64.
        let tr = t.observe(A, Observation::DestUnreachable { code: 0 }, t0);
        assert_eq!(tr.len(), 2, "{tr:?}");
        assert_eq!(t.state_of(A, t0), FallbackState::Blocked);
        assert_eq!(t.state_of(B, t0), FallbackState::Blocked);
        // And the blocked entries are not the next ones evicted by more MTU records.
        for i in 0..5_000u32 {
            let dest = Ipv6Addr::from(0x2001_0db8_eeee_u128 << 80 | u128::from(i));
            t.record_mtu(dest, 1000, t0);
        }
        assert_eq!(t.state_of(A, t0), FallbackState::Blocked);
    }

    #[test]
    fn log_gate_passes_one_line_per_period_and_counts_the_rest() {
        let g = LogGate::new(10_000);
        assert_eq!(g.pass(0), Some(0));
        assert_eq!(g.pass(1), None);
        assert_eq!(g.pass(9_999), None);
        assert_eq!(g.pass(10_000), Some(2));
        assert_eq!(g.pass(10_001), None);
    }

    #[test]
    fn mtu_recorded_with_alert_below_1280() {
        let t = FallbackTable::new(16, policy());
        let t0 = Instant::now();
        assert_eq!(t.record_mtu(A, 1280, t0), None);
        assert_eq!(t.path_mtu(A), Some(1280));
        assert_eq!(t.state_of(A, t0), FallbackState::Normal);
        let alert = t.record_mtu(A, 1000, t0).unwrap();
        assert_eq!(alert.mtu, 1000);
    }
}
