//! IPv6 reassembly for the monitor: fragments back into the packet a host would have built,
//! so NDP hidden in fragments is judged like any other NDP.
//!
//! The rules are RFC 8200 4.5 (as Linux's `net/ipv6/reassembly.c` applies them), RFC 5722 and
//! RFC 7112:
//! - a datagram is keyed by (link, source, destination, identification): the link (interface
//!   and VLAN) because a fragment of one link never completes a packet of another;
//! - the per-fragment headers (and the Ethernet header) of the packet come from the first
//!   fragment (offset 0); the fragment header's next header replaces the one that announced it;
//! - a fragment with M set and a length that is not a multiple of 8, or one that would make the
//!   packet longer than 65,535 bytes, is dropped alone (a host sends a parameter problem);
//! - overlapping fragments drop the whole datagram (RFC 5722). An exact duplicate (same range,
//!   same bytes) is dropped alone, as RFC 8200 allows; the same range with other bytes counts as
//!   an overlap, because hosts disagree about which copy wins (Linux keeps the first);
//! - ends that disagree (a second last fragment with another end, data past the last
//!   fragment's end, an empty fragment) drop the whole datagram, as Linux does;
//! - a datagram not complete 60 s after its first fragment arrived is abandoned (RFC 8200 and
//!   Linux's `ip6frag_time`);
//! - memory is bounded per link (4 MiB, Linux's `ip6frag_high_thresh`) and in total (16 MiB).
//!   At a bound the oldest datagrams are evicted, counted: a newer datagram is the one an
//!   attack in progress needs looked at, and an attacker who wants to push an attack's first
//!   fragment out must keep flooding the link, which is visible.
//!
//! What is dropped starts over: a fragment that arrives after its datagram was dropped starts
//! a new one, as in Linux (no tombstones), so nothing a host could still assemble is missed.
//!
//! Sans-I/O and deterministic: time comes in as nanoseconds, so replaying a capture gives the
//! same result twice.
pub mod fragment;

use std::{
    collections::{BTreeMap, HashMap},
    net::Ipv6Addr,
    time::Duration,
};

use serde::Serialize;

pub use fragment::{Fragment, Unusable};

use crate::detect::table::Hasher;

/// Reassembly bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A datagram not complete this long after its first fragment arrived is abandoned.
    pub timeout: Duration,
    /// Bytes held per link (data plus bookkeeping, see [`Reassembler::held_bytes`]).
    pub link_bytes: usize,
    /// Bytes held in total.
    pub total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            link_bytes: 4 << 20,
            total_bytes: 16 << 20,
        }
    }
}

/// Bookkeeping charged per datagram and per fragment on top of the bytes they hold, so that a
/// flood of tiny fragments is bounded like a flood of big ones.
const DATAGRAM_COST: usize = 256;
const FRAGMENT_COST: usize = 64;

/// The reassembled packet's payload length may not exceed this (RFC 8200 4.5).
const MAX_PAYLOAD: usize = 65_535;

/// A datagram's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub link: u16,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub id: u32,
}

/// What a fragment range overlapped: the range held and the one that arrived, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Overlap {
    /// `[start, end)` of the fragment already held.
    pub held: (u32, u32),
    /// `[start, end)` of the fragment that arrived.
    pub arrived: (u32, u32),
    /// Same range as a held fragment but other bytes (not an exact duplicate).
    pub same_range: bool,
    /// Fragments dropped with the datagram (the one that arrived included).
    pub fragments: u32,
}

/// Why a fragment (or its whole datagram) was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// The frame holds the fragment only in part ([`Unusable`]), or it is not IPv6.
    Unusable(Unusable),
    /// M set and the data is not a multiple of 8 bytes: this fragment only.
    BadLength,
    /// The packet would be longer than 65,535 bytes: this fragment (or, at completion, the
    /// datagram).
    TooBig { len: usize },
    /// An exact copy of a fragment held: this fragment only.
    Duplicate,
    /// Overlapping fragments (RFC 5722): the whole datagram.
    Overlap(Overlap),
    /// Ends that disagree, or an empty fragment: the whole datagram.
    Inconsistent,
}

impl Discard {
    /// Stable snake_case reason, for stats.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unusable(Unusable::Truncated) => "truncated",
            Self::Unusable(Unusable::Malformed) => "malformed",
            Self::BadLength => "bad_length",
            Self::TooBig { .. } => "too_big",
            Self::Duplicate => "duplicate",
            Self::Overlap(_) => "overlap",
            Self::Inconsistent => "inconsistent",
        }
    }
}

/// A reassembled packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub key: Key,
    /// The whole frame: the first fragment's Ethernet header, IPv6 header (payload length set)
    /// and per-fragment headers, then the data of every fragment in order.
    pub bytes: Vec<u8>,
    /// Fragments it was built from.
    pub fragments: u32,
    /// When its first fragment arrived (ns).
    pub first_ns: u64,
}

/// What became of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No fragment header before the upper layer.
    NotFragment,
    /// Offset 0 and no more fragments: an atomic fragment (RFC 6946), the whole packet.
    Atomic,
    /// Held, waiting for the rest.
    Held,
    /// The last missing piece: the packet.
    Complete(Reassembled),
    Discarded(Discard),
}

/// One fragment's result: the outcome, and what the fragment itself showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub outcome: Outcome,
    /// The datagram's key (`None` when the frame had no usable fragment header).
    pub key: Option<Key>,
    /// A first fragment without the whole header chain through the upper-layer header
    /// (RFC 7112).
    pub chain_incomplete: bool,
}

/// Counters for the `stats` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReasmStats {
    /// Fragments pushed.
    pub fragments: u64,
    /// Packets reassembled.
    pub reassembled: u64,
    /// Datagrams held now, and the bytes charged for them.
    pub held: usize,
    pub held_bytes: usize,
    /// Datagrams abandoned 60 s after their first fragment.
    pub timed_out: u64,
    /// Datagrams evicted to stay within the memory bounds.
    pub evicted: u64,
    /// First fragments without the whole header chain (RFC 7112).
    pub chain_incomplete: u64,
    /// Fragments or datagrams dropped, by [`Discard::code`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub discarded: BTreeMap<&'static str, u64>,
}

/// The first fragment's part of the packet.
#[derive(Debug, Clone)]
struct Head {
    eth: Vec<u8>,
    /// IPv6 header and per-fragment headers, the announcing next-header byte already set to
    /// the fragment header's next header.
    ip: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Datagram {
    first_ns: u64,
    /// Order of creation (ties in `first_ns`).
    seq: u64,
    head: Option<Head>,
    /// Data by start offset; never overlapping.
    parts: BTreeMap<u32, Vec<u8>>,
    /// Bytes of data held.
    have: u32,
    /// The furthest end seen, and whether it came from the last fragment (M clear).
    end: u32,
    last_seen: bool,
    /// Bytes charged.
    cost: usize,
}

impl Datagram {
    fn new(first_ns: u64, seq: u64) -> Self {
        Self {
            first_ns,
            seq,
            head: None,
            parts: BTreeMap::new(),
            have: 0,
            end: 0,
            last_seen: false,
            cost: DATAGRAM_COST,
        }
    }

    fn complete(&self) -> bool {
        self.last_seen && self.head.is_some() && self.have == self.end
    }
}

/// What an arriving range does to the held ones.
enum Fit {
    New,
    Duplicate,
    Overlap(Overlap),
}

#[derive(Debug, Default)]
struct LinkState {
    /// Datagrams of this link by age.
    by_age: BTreeMap<(u64, u64), Key>,
    bytes: usize,
}

/// The reassembler. See the module documentation.
#[derive(Debug)]
pub struct Reassembler {
    limits: Limits,
    datagrams: HashMap<Key, Datagram, Hasher>,
    /// Every datagram by age, for timeouts and the total bound.
    by_age: BTreeMap<(u64, u64), Key>,
    links: HashMap<u16, LinkState, Hasher>,
    bytes: usize,
    seq: u64,
    stats: ReasmStats,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Reassembler {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            datagrams: HashMap::with_hasher(Hasher::default()),
            by_age: BTreeMap::new(),
            links: HashMap::with_hasher(Hasher::default()),
            bytes: 0,
            seq: 0,
            stats: ReasmStats::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes charged for the datagrams held (data, first-fragment headers, and a fixed cost per
    /// datagram and per fragment).
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Datagrams held.
    pub fn held(&self) -> usize {
        self.datagrams.len()
    }

    pub fn stats(&self) -> ReasmStats {
        ReasmStats {
            held: self.datagrams.len(),
            held_bytes: self.bytes,
            ..self.stats.clone()
        }
    }

    /// Takes a frame seen on `link` at `now_ns`: nothing for a frame without a fragment header,
    /// otherwise the fragment is held, completes its packet, or is dropped.
    pub fn push(&mut self, link: u16, now_ns: u64, frame: &[u8]) -> Pushed {
        self.expire(now_ns);
        let f = match Fragment::parse(frame) {
            Ok(Some(f)) => f,
            Ok(None) => return Pushed::plain(Outcome::NotFragment),
            Err(u) => {
                self.stats.fragments += 1;
                return self.discard(None, false, Discard::Unusable(u));
            }
        };
        self.stats.fragments += 1;
        let ip = Addrs::new(f.head);
        let key = Key {
            link,
            src: ip.src,
            dst: ip.dst,
            id: f.id,
        };
        let incomplete = f.chain_incomplete();
        if incomplete {
            self.stats.chain_incomplete += 1;
        }
        let pushed = |outcome| Pushed {
            outcome,
            key: Some(key),
            chain_incomplete: incomplete,
        };
        if f.offset == 0 && !f.more {
            return pushed(Outcome::Atomic);
        }
        // RFC 8200 4.5: a fragment with M set must be a multiple of 8 bytes long ...
        if f.more && f.data.len() % 8 != 0 {
            return self.discard(Some(key), incomplete, Discard::BadLength);
        }
        // ... and none may make the packet longer than 65,535 bytes.
        let len = f.head_ext_len() + f.end() as usize;
        if len > MAX_PAYLOAD {
            return self.discard(Some(key), incomplete, Discard::TooBig { len });
        }
        let outcome = self.insert(key, now_ns, &f);
        Pushed {
            outcome,
            key: Some(key),
            chain_incomplete: incomplete,
        }
    }

    fn discard(&mut self, key: Option<Key>, chain_incomplete: bool, d: Discard) -> Pushed {
        *self.stats.discarded.entry(d.code()).or_default() += 1;
        Pushed {
            outcome: Outcome::Discarded(d),
            key,
            chain_incomplete,
        }
    }

    fn insert(&mut self, key: Key, now_ns: u64, f: &Fragment<'_>) -> Outcome {
        let (start, end) = (f.offset, f.end());
        let cost = f.data.len()
            + FRAGMENT_COST
            + if start == 0 {
                f.eth.len() + f.head.len()
            } else {
                0
            };
        if !self.datagrams.contains_key(&key) {
            self.make_room(key.link, cost + DATAGRAM_COST);
            self.seq += 1;
            let d = Datagram::new(now_ns, self.seq);
            self.by_age.insert((d.first_ns, d.seq), key);
            let l = self.links.entry(key.link).or_default();
            l.by_age.insert((d.first_ns, d.seq), key);
            self.charge(key.link, DATAGRAM_COST as isize);
            self.datagrams.insert(key, d);
        } else {
            self.make_room_keeping(key, cost);
        }
        let Some(d) = self.datagrams.get_mut(&key) else {
            // Evicted to make room for itself: cannot happen (it is the newest), but a
            // fragment is never lost silently.
            self.stats.evicted += 1;
            return Outcome::Discarded(Discard::Inconsistent);
        };
        // An empty fragment, data past the last fragment's end, or a second last fragment with
        // another end: the whole datagram goes (Linux: `discard_fq`).
        let inconsistent = start == end
            || (d.last_seen && end > d.end)
            || (!f.more && (end < d.end || (d.last_seen && end != d.end)));
        if inconsistent {
            self.remove(&key);
            *self.stats.discarded.entry("inconsistent").or_default() += 1;
            return Outcome::Discarded(Discard::Inconsistent);
        }
        match fit(&d.parts, start, f.data) {
            Fit::Duplicate => {
                *self.stats.discarded.entry("duplicate").or_default() += 1;
                return Outcome::Discarded(Discard::Duplicate);
            }
            Fit::Overlap(mut o) => {
                o.fragments = d.parts.len() as u32 + 1;
                self.remove(&key);
                *self.stats.discarded.entry("overlap").or_default() += 1;
                return Outcome::Discarded(Discard::Overlap(o));
            }
            Fit::New => {}
        }
        if !f.more {
            d.last_seen = true;
        }
        d.end = d.end.max(end);
        d.have += end - start;
        d.parts.insert(start, f.data.to_vec());
        if start == 0 {
            let mut ip = f.head.to_vec();
            ip[f.nh_at] = f.next_header;
            d.head = Some(Head {
                eth: f.eth.to_vec(),
                ip,
            });
        }
        d.cost += cost;
        self.charge(key.link, cost as isize);
        let Some(d) = self.datagrams.get(&key) else {
            return Outcome::Held;
        };
        if !d.complete() {
            return Outcome::Held;
        }
        let Some(d) = self.remove(&key) else {
            return Outcome::Held;
        };
        self.build(key, d)
    }

    /// The packet from a complete datagram.
    fn build(&mut self, key: Key, d: Datagram) -> Outcome {
        let Some(head) = d.head else {
            return Outcome::Held;
        };
        let payload = head.ip.len() - v6probe_common::wire::ipv6::HEADER_LEN + d.have as usize;
        if payload > MAX_PAYLOAD {
            *self.stats.discarded.entry("too_big").or_default() += 1;
            return Outcome::Discarded(Discard::TooBig { len: payload });
        }
        let mut bytes = Vec::with_capacity(head.eth.len() + head.ip.len() + d.have as usize);
        bytes.extend_from_slice(&head.eth);
        bytes.extend_from_slice(&head.ip);
        let l3 = head.eth.len();
        bytes[l3 + 4..l3 + 6].copy_from_slice(&(payload as u16).to_be_bytes());
        let fragments = d.parts.len() as u32;
        for part in d.parts.into_values() {
            bytes.extend_from_slice(&part);
        }
        self.stats.reassembled += 1;
        Outcome::Complete(Reassembled {
            key,
            bytes,
            fragments,
            first_ns: d.first_ns,
        })
    }

    /// Abandons the datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now_ns: u64) {
        let timeout = self.limits.timeout.as_nanos().min(u128::from(u64::MAX)) as u64;
        while let Some((&(first, _), &key)) = self.by_age.first_key_value() {
            if now_ns.saturating_sub(first) < timeout {
                break;
            }
            self.remove(&key);
            self.stats.timed_out += 1;
        }
    }

    /// Evicts the oldest datagrams until `cost` more bytes fit on `link` and in total.
    fn make_room(&mut self, link: u16, cost: usize) {
        loop {
            let link_bytes = self.links.get(&link).map_or(0, |l| l.bytes);
            let victim = if link_bytes + cost > self.limits.link_bytes {
                self.links
                    .get(&link)
                    .and_then(|l| l.by_age.first_key_value().map(|(_, k)| *k))
            } else if self.bytes + cost > self.limits.total_bytes {
                self.by_age.first_key_value().map(|(_, k)| *k)
            } else {
                return;
            };
            let Some(victim) = victim else { return };
            self.remove(&victim);
            self.stats.evicted += 1;
        }
    }

    /// [`Reassembler::make_room`] for a datagram that is growing: it is evicted last.
    fn make_room_keeping(&mut self, key: Key, cost: usize) {
        loop {
            let link_bytes = self.links.get(&key.link).map_or(0, |l| l.bytes);
            let over_link = link_bytes + cost > self.limits.link_bytes;
            let over_total = self.bytes + cost > self.limits.total_bytes;
            if !over_link && !over_total {
                return;
            }
            let pick =
                |ages: &BTreeMap<(u64, u64), Key>| ages.values().find(|k| **k != key).copied();
            let victim = if over_link {
                self.links.get(&key.link).and_then(|l| pick(&l.by_age))
            } else {
                pick(&self.by_age)
            };
            let Some(victim) = victim else { return };
            self.remove(&victim);
            self.stats.evicted += 1;
        }
    }

    fn charge(&mut self, link: u16, delta: isize) {
        self.bytes = self.bytes.saturating_add_signed(delta);
        let l = self.links.entry(link).or_default();
        l.bytes = l.bytes.saturating_add_signed(delta);
    }

    fn remove(&mut self, key: &Key) -> Option<Datagram> {
        let d = self.datagrams.remove(key)?;
        self.by_age.remove(&(d.first_ns, d.seq));
        let mut empty = false;
        if let Some(l) = self.links.get_mut(&key.link) {
            l.by_age.remove(&(d.first_ns, d.seq));
            empty = l.by_age.is_empty();
        }
        self.charge(key.link, -(d.cost as isize));
        if empty {
            self.links.remove(&key.link);
        }
        Some(d)
    }
}

impl Pushed {
    fn plain(outcome: Outcome) -> Self {
        Self {
            outcome,
            key: None,
            chain_incomplete: false,
        }
    }
}

/// How `[start, start + data.len())` fits among the held parts.
fn fit(parts: &BTreeMap<u32, Vec<u8>>, start: u32, data: &[u8]) -> Fit {
    let end = start + data.len() as u32;
    if let Some((&s, held)) = parts.range(..=start).next_back() {
        let e = s + held.len() as u32;
        if e > start {
            let same_range = s == start && e == end;
            if same_range && held.as_slice() == data {
                return Fit::Duplicate;
            }
            return Fit::Overlap(Overlap {
                held: (s, e),
                arrived: (start, end),
                same_range,
                fragments: 0,
            });
        }
    }
    if let Some((&s, held)) = parts
        .range((std::ops::Bound::Excluded(start), std::ops::Bound::Unbounded))
        .next()
    {
        if s < end {
            return Fit::Overlap(Overlap {
                held: (s, s + held.len() as u32),
                arrived: (start, end),
                same_range: false,
                fragments: 0,
            });
        }
    }
    Fit::New
}

/// The addresses of a fragment's IPv6 header.
struct Addrs {
    src: Ipv6Addr,
    dst: Ipv6Addr,
}

impl Addrs {
    fn new(head: &[u8]) -> Self {
        let a = |at: usize| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&head[at..at + 16]);
            Ipv6Addr::from(o)
        };
        Self {
            src: a(8),
            dst: a(24),
        }
    }
}

#[cfg(test)]
mod tests;
