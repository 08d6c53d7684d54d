//! A fixed-capacity, lock-free table of fallback states shared by many dialers.
//!
//! Open addressing with linear probing over a boxed slice of slots. A slot is claimed once with
//! a compare-and-swap on its tag and never freed, so a key never moves; the state of a key is one
//! `AtomicU64` ([`Entry::pack`]) changed only with compare-and-swap loops around the pure
//! functions of [`super::state`]. No lock anywhere: dialers on many threads can read and move
//! the same destination at once, and exactly one of them wins each transition (and reports it).
use std::{
    fmt::Write as _,
    hash::{Hash, Hasher},
    net::Ipv6Addr,
    sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering},
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

const TAG_EMPTY: u8 = 0;
const TAG_CLAIMING: u8 = 1;
const TAG_READY: u8 = 2; // + key kind

#[derive(Default)]
struct Slot {
    tag: AtomicU8,
    hi: AtomicU64,
    lo: AtomicU64,
    word: AtomicU64,
    mtu: AtomicU32,
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
    full: AtomicU64,
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
    /// A table holding up to `capacity` keys (rounded up to a power of two, at least 16).
    pub fn new(capacity: usize, policy: Policy) -> Self {
        let cap = capacity.max(16).next_power_of_two();
        Self {
            slots: (0..cap).map(|_| Slot::default()).collect(),
            mask: cap - 1,
            policy,
            epoch: Instant::now(),
            epoch_wall: SystemTime::now(),
            counters: Default::default(),
            full: AtomicU64::new(0),
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

    fn slot(&self, key: DestKey, insert: bool) -> Option<&Slot> {
        let (kind, k) = key.encode();
        let (hi, lo) = ((k >> 64) as u64, k as u64);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let mut i = (h.finish() as usize) & self.mask;
        for _ in 0..self.slots.len() {
            let s = &self.slots[i];
            let mut tag = s.tag.load(Ordering::Acquire);
            if tag == TAG_EMPTY {
                if !insert {
                    return None;
                }
                match s.tag.compare_exchange(
                    TAG_EMPTY,
                    TAG_CLAIMING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        s.hi.store(hi, Ordering::Relaxed);
                        s.lo.store(lo, Ordering::Relaxed);
                        s.tag.store(TAG_READY + kind, Ordering::Release);
                        return Some(s);
                    }
                    Err(t) => tag = t,
                }
            }
            // Another thread is writing this slot's key: a few stores, bounded wait.
            let mut spins = 0;
            while tag == TAG_CLAIMING && spins < 100_000 {
                std::hint::spin_loop();
                tag = s.tag.load(Ordering::Acquire);
                spins += 1;
            }
            if tag == TAG_READY + kind
                && s.hi.load(Ordering::Relaxed) == hi
                && s.lo.load(Ordering::Relaxed) == lo
            {
                return Some(s);
            }
            i = (i + 1) & self.mask;
        }
        if insert {
            self.full.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%key, "fallback table full; destination treated as normal");
        }
        None
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

    /// CAS loop: applies `f` to the slot's entry until the store succeeds or `f` says no change.
    fn update(
        &self,
        key: DestKey,
        slot: &Slot,
        now_ms: u64,
        f: impl Fn(Entry) -> Option<Entry>,
        out: &mut Vec<Transition>,
    ) -> Entry {
        let mut cur = slot.word.load(Ordering::Acquire);
        loop {
            let e = Entry::unpack(cur);
            let Some(next) = f(e) else { return e };
            match slot.word.compare_exchange_weak(
                cur,
                next.pack(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // An expiry folded into the step is reported as its own transition.
                    if let Some(mid) = state::expire(e, now_ms) {
                        if mid.state != e.state && mid.state != next.state {
                            out.extend(self.transition(key, e, mid, now_ms));
                            out.extend(self.transition(key, mid, next, now_ms));
                            return next;
                        }
                    }
                    out.extend(self.transition(key, e, next, now_ms));
                    return next;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// The current entry of a key (after time-driven expiry), if the table knows it.
    pub fn entry(&self, key: DestKey, now: Instant) -> Option<Entry> {
        let s = self.slot(key, false)?;
        let e = Entry::unpack(s.word.load(Ordering::Acquire));
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
            let Some(slot) = self.slot(*key, false) else {
                continue;
            };
            let e = self.update(*key, slot, now_ms, |e| state::expire(e, now_ms), out);
            decisions[i] = state::decide(e, &self.policy, now_ms).0;
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
            let Some(slot) = self.slot(*key, false) else {
                continue;
            };
            let cur = slot.word.load(Ordering::Acquire);
            let e = Entry::unpack(cur);
            let (d, claim) = state::decide(e, &self.policy, now_ms);
            let Some(claim) = claim.filter(|_| d == Decision::Probe) else {
                return Decision::Skip;
            };
            if slot
                .word
                .compare_exchange(cur, claim.pack(), Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
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
            let Some(slot) = self.slot(key, insert) else {
                continue;
            };
            self.update(
                key,
                slot,
                now_ms,
                |e| state::step(e, obs, &self.policy, now_ms),
                &mut out,
            );
        }
        out
    }

    /// Records the path MTU to `addr` (from a packet too big, or the socket's IPV6_MTU). Never a
    /// fallback; an alert when it is below 1280.
    pub fn record_mtu(&self, addr: Ipv6Addr, mtu: u32, now: Instant) -> Option<MtuAlert> {
        let slot = self.slot(DestKey::Host(addr), true)?;
        slot.mtu.store(mtu, Ordering::Relaxed);
        (mtu < 1280).then(|| {
            tracing::warn!(%addr, mtu, "path MTU below the IPv6 minimum of 1280");
            MtuAlert {
                dest: addr.to_string(),
                mtu,
                at: self.wall(self.now_ms(now)),
            }
        })
    }

    /// The recorded path MTU to `addr`.
    pub fn path_mtu(&self, addr: Ipv6Addr) -> Option<u32> {
        let m = self
            .slot(DestKey::Host(addr), false)?
            .mtu
            .load(Ordering::Relaxed);
        (m != 0).then_some(m)
    }

    /// Every key the table holds, with its entry (after expiry) and recorded MTU.
    pub fn snapshot(&self, now: Instant) -> Vec<(DestKey, Entry, Option<u32>)> {
        let now_ms = self.now_ms(now);
        let mut v = Vec::new();
        for s in self.slots.iter() {
            let tag = s.tag.load(Ordering::Acquire);
            if tag < TAG_READY {
                continue;
            }
            let k = (u128::from(s.hi.load(Ordering::Relaxed)) << 64)
                | u128::from(s.lo.load(Ordering::Relaxed));
            let key = if tag == TAG_READY {
                DestKey::Host(Ipv6Addr::from(k))
            } else {
                DestKey::Prefix64(Ipv6Addr::from(k))
            };
            let e = Entry::unpack(s.word.load(Ordering::Acquire));
            let e = state::expire(e, now_ms).unwrap_or(e);
            let m = s.mtu.load(Ordering::Relaxed);
            v.push((key, e, (m != 0).then_some(m)));
        }
        v.sort_by_key(|(k, _, _)| k.to_string());
        v
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
    fn full_table_degrades_to_normal() {
        let t = FallbackTable::new(16, policy());
        let t0 = Instant::now();
        for i in 0..16u16 {
            t.observe(
                Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i),
                Observation::DestUnreachable { code: 3 },
                t0,
            );
        }
        let extra = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 99);
        assert!(t
            .observe(extra, Observation::DestUnreachable { code: 3 }, t0)
            .is_empty());
        assert_eq!(t.state_of(extra, t0), FallbackState::Normal);
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
