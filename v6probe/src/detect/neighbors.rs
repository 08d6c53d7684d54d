//! Neighbour rules: address -> MAC bindings and their changes (new, changed, flip-flop,
//! reused, unsolicited override), MAC-change storms, a known MAC at a second link-local
//! address, MACs of no registered vendor (when the policy asks), NA checks (multicast target,
//! Override without a target link-layer address, Router flag from a host), and
//! neighbour-cache exhaustion (NS for many targets nobody answers).
use std::net::Ipv6Addr;

use v6probe_common::wire::{addr::is_link_local, Options};

use super::{
    alert::{AlertCode, DadAnswer, Detail, LearnedFrom, LlOption, Severity},
    config::Config,
    dad::DadWatch,
    packet_checks::ll_mismatch,
    sink::{ns, Cx, Key, Mac, Sink, Subject, Target},
    state::{Listed, NeighborRef, NeighborState, RouterMacRef, RouterMacState, SavedLinks},
    table::BoundedMap,
    vendors::Vendors,
};

const PREV_MACS: usize = 4;
/// MACs kept as a sample in a storm alert.
const STORM_SAMPLE: usize = 8;
const SECOND: u64 = 1_000_000_000;

/// What a storm alert reports about an address whose MAC changes too often.
#[derive(Debug, Clone)]
struct Storm {
    started: u64,
    /// When the last storm alert was printed.
    last_alert: Option<u64>,
    /// Changes since the storm began, the alerted ones of its first second included.
    changes: u64,
    /// Changes held back since the last storm alert.
    held: u64,
    sample: Vec<Mac>,
}

impl Storm {
    fn add_sample(&mut self, mac: Mac) {
        if self.sample.len() < STORM_SAMPLE && !self.sample.contains(&mac) {
            self.sample.push(mac);
        }
    }
}

/// What to say about one MAC change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Say {
    /// Alert it.
    Alert,
    /// Count it only: the address is in a storm (the storm alert repeats every repeat
    /// interval while it lasts).
    Hold,
    /// Count it and raise the storm alert.
    StormStart,
}

/// How a binding changed.
#[derive(Debug, Clone, Copy)]
pub struct Changed {
    pub old: Mac,
    /// The old MAC had been silent longer than the stale interval.
    pub stale: bool,
    /// The change was alerted (not held back in a storm).
    pub alerted: bool,
}

#[derive(Debug, Clone)]
struct Binding {
    mac: Mac,
    /// Earlier MACs, most recent first.
    prev: [Mac; PREV_MACS],
    n_prev: u8,
    /// The address changes MAC too often: its change alerts are held back.
    storming: bool,
    /// MAC changes in the second `change_sec` (seconds since the epoch).
    changes_this_sec: u16,
    change_sec: u32,
    first_seen: u64,
    last_seen: u64,
    changed_at: u64,
}

impl Binding {
    fn new(mac: Mac, t: u64) -> Self {
        Self {
            mac,
            prev: [Mac::default(); PREV_MACS],
            n_prev: 0,
            storming: false,
            changes_this_sec: 0,
            change_sec: 0,
            first_seen: t,
            last_seen: t,
            changed_at: 0,
        }
    }

    fn prev(&self) -> &[Mac] {
        &self.prev[..self.n_prev as usize]
    }

    /// Counts a change at `t` (before [`Binding::change_to`]): alerted while the address
    /// changes at most `limit` times in a second; past that a storm holds its change alerts
    /// back until it has not changed for `quiet` ns.
    fn count_change(&mut self, t: u64, limit: u32, quiet: u64) -> Say {
        if self.storming && t.saturating_sub(self.changed_at) > quiet {
            self.storming = false;
        }
        let sec = (t / SECOND).min(u64::from(u32::MAX)) as u32;
        if sec != self.change_sec {
            self.change_sec = sec;
            self.changes_this_sec = 0;
        }
        self.changes_this_sec = self.changes_this_sec.saturating_add(1);
        if self.storming {
            Say::Hold
        } else if u32::from(self.changes_this_sec) > limit {
            self.storming = true;
            Say::StormStart
        } else {
            Say::Alert
        }
    }

    /// Makes `mac` current, pushing the old one on the front of the history.
    fn change_to(&mut self, mac: Mac, t: u64) {
        let old = self.mac;
        let mut list: Vec<Mac> = self
            .prev()
            .iter()
            .copied()
            .filter(|m| *m != mac && *m != old)
            .collect();
        list.insert(0, old);
        list.truncate(PREV_MACS);
        self.n_prev = list.len() as u8;
        self.prev[..list.len()].copy_from_slice(&list);
        self.mac = mac;
        self.changed_at = t;
        self.last_seen = t;
    }
}

/// The fields of a neighbour advertisement the rules read.
#[derive(Debug, Clone, Copy)]
pub struct Na<'a> {
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
    pub target: Ipv6Addr,
    pub options: &'a Options,
}

/// Bindings, the MACs known to act as routers, each MAC's link-local address, and the NS
/// targets not answered yet.
pub struct Neighbors {
    bindings: BoundedMap<Key, Binding>,
    router_macs: BoundedMap<(u16, Mac), ()>,
    /// The link-local address each MAC was first seen at (per link).
    mac_lla: BoundedMap<(u16, Mac), Ipv6Addr>,
    /// The storms' counts, for their alerts (a storm whose entry was evicted starts a new
    /// one; its changes stay held back).
    storms: BoundedMap<Key, Storm>,
    pending_ns: BoundedMap<Key, u64>,
    /// Pending NS targets per link.
    pending_count: Vec<usize>,
    /// New bindings not stored because their message class was flooding.
    not_admitted: u64,
    /// Every change of a binding's MAC, alerted or held back.
    mac_changes: u64,
    mac_changes_per_sec: u32,
    mac_storm_quiet: u64,
    repeat: u64,
    stale_after: u64,
    flip_flop: u64,
    ns_pending_window: u64,
    ns_pending_window_s: f64,
    cache_exhaustion_targets: usize,
    check_na_mismatch: bool,
}

impl Neighbors {
    pub fn new(cfg: &Config) -> Self {
        Self {
            bindings: BoundedMap::new(cfg.max_neighbors),
            router_macs: BoundedMap::new(cfg.max_router_macs),
            mac_lla: BoundedMap::new(cfg.max_mac_lla),
            storms: BoundedMap::new(cfg.max_storms),
            pending_ns: BoundedMap::new(cfg.max_pending_ns),
            pending_count: Vec::new(),
            not_admitted: 0,
            mac_changes: 0,
            mac_changes_per_sec: cfg.mac_changes_per_sec,
            mac_storm_quiet: ns(cfg.mac_storm_quiet),
            repeat: ns(cfg.repeat_interval),
            stale_after: ns(cfg.stale_after),
            flip_flop: ns(cfg.flip_flop_window),
            ns_pending_window: ns(cfg.ns_pending_window),
            ns_pending_window_s: cfg.ns_pending_window.as_secs_f64(),
            cache_exhaustion_targets: cfg.cache_exhaustion_targets,
            check_na_mismatch: cfg.check_na_mismatch,
        }
    }

    /// Whether NA target link-layer options are compared with the Ethernet source (off when
    /// the policy lists proxies).
    pub fn set_check_na_mismatch(&mut self, on: bool) {
        self.check_na_mismatch = on;
    }

    /// (bindings, router MACs, pending NS targets, MAC -> link-local couples, storms): sizes
    /// and evictions.
    pub fn sizes(&self) -> [(usize, u64); 5] {
        [
            (self.bindings.len(), self.bindings.evictions()),
            (self.router_macs.len(), self.router_macs.evictions()),
            (self.pending_ns.len(), self.pending_ns.evictions()),
            (self.mac_lla.len(), self.mac_lla.evictions()),
            (self.storms.len(), self.storms.evictions()),
        ]
    }

    pub fn not_admitted(&self) -> u64 {
        self.not_admitted
    }

    /// Every change of a binding's MAC so far, alerted or held back.
    pub fn mac_changes(&self) -> u64 {
        self.mac_changes
    }

    /// The MAC bound to `key`, if it was heard within the stale interval before `t`.
    pub fn fresh_owner(&self, key: &Key, t: u64) -> Option<Mac> {
        self.bindings
            .get(key)
            .filter(|b| t.saturating_sub(b.last_seen) <= self.stale_after)
            .map(|b| b.mac)
    }

    /// True when `mac` sent RAs on the link (or the policy lists it as a router).
    pub fn is_router_mac(&self, cx: &Cx, mac: &Mac) -> bool {
        self.router_macs.contains_key(&(cx.link, *mac))
            || cx.policy.is_some_and(|p| p.is_router_mac(mac))
    }

    pub fn add_router_mac(&mut self, link: u16, mac: Mac) {
        self.router_macs.insert((link, mac), ());
    }

    /// Records `addr -> mac`; says how the binding changed, if it did.
    pub fn bind(
        &mut self,
        cx: &Cx,
        sink: &mut Sink,
        addr: Ipv6Addr,
        mac: Mac,
        from: LearnedFrom,
    ) -> Option<Changed> {
        if addr.is_unspecified() || addr.is_multicast() || mac.is_multicast() {
            return None;
        }
        let t = cx.t;
        let key = (cx.link, addr);
        let Some(b) = self.bindings.get_mut(&key) else {
            // Admission control: while this message class floods, new addresses are counted,
            // not stored, so a flood of forged MACs cannot evict the bindings already known
            // (a later spoof of one of them is then still seen as a MAC change).
            if cx.flooding {
                self.not_admitted += 1;
                return None;
            }
            self.bindings.insert_absent(key, Binding::new(mac, t));
            if !cx.learning {
                sink.raise(
                    cx,
                    AlertCode::NeighborNew,
                    Severity::Low,
                    Subject::addr(addr),
                    |a| {
                        a.message = format!("new neighbour {addr} at {mac}");
                        a.address = Some(addr);
                        a.mac = Some(mac);
                        a.evidence.detail = Detail::NewNeighbor { learned_from: from };
                    },
                );
            }
            self.new_couple(cx, sink, addr, mac);
            return None;
        };
        if b.mac == mac {
            b.last_seen = t;
            return None;
        }
        self.mac_changes += 1;
        let old = b.mac;
        let idle = t.saturating_sub(b.last_seen);
        let stale = idle > self.stale_after;
        let code =
            if b.n_prev > 0 && b.prev[0] == mac && t.saturating_sub(b.changed_at) <= self.flip_flop
            {
                AlertCode::NeighborFlipFlop
            } else if b.prev().contains(&mac) {
                AlertCode::NeighborMacReused
            } else {
                AlertCode::NeighborMacChanged
            };
        let say = b.count_change(t, self.mac_changes_per_sec, self.mac_storm_quiet);
        let history = b.prev().to_vec();
        b.change_to(mac, t);
        match say {
            Say::Alert => {
                let sev = match code {
                    AlertCode::NeighborFlipFlop => Severity::High,
                    AlertCode::NeighborMacReused => Severity::Medium,
                    _ if stale => Severity::Low,
                    _ => Severity::Medium,
                };
                sink.raise(cx, code, sev, Subject::addr(addr), |a| {
                    a.message = match code {
                        AlertCode::NeighborFlipFlop => {
                            format!("{addr} flipped back from {old} to {mac}")
                        }
                        AlertCode::NeighborMacReused => {
                            format!("{addr} moved from {old} back to an older MAC {mac}")
                        }
                        _ => format!("{addr} moved from {old} to {mac}"),
                    };
                    a.address = Some(addr);
                    a.mac = Some(mac);
                    a.old_mac = Some(old);
                    a.evidence.detail = Detail::MacChange {
                        learned_from: from,
                        old_idle_s: idle as f64 / 1e9,
                        previous_macs: history,
                    };
                });
            }
            Say::Hold | Say::StormStart => {
                sink.hold(code);
                self.storm(cx, sink, key, old, mac, say == Say::StormStart);
            }
        }
        if say == Say::Alert {
            self.new_couple(cx, sink, addr, mac);
        }
        Some(Changed {
            old,
            stale,
            alerted: say == Say::Alert,
        })
    }

    /// A change of the binding at `key` from `old` to `new`, held back in a storm: counted in
    /// the storm, with `neighbor_mac_storm` at its start and every repeat interval.
    fn storm(&mut self, cx: &Cx, sink: &mut Sink, key: Key, old: Mac, new: Mac, start: bool) {
        let t = cx.t;
        if start || !self.storms.contains_key(&key) {
            // The changes of this second so far, this one included, and the MACs the address
            // had before (the old one first: the binding has already moved to `new`).
            let (changes, before) = self.bindings.get(&key).map_or((1, Vec::new()), |b| {
                (u64::from(b.changes_this_sec), b.prev().to_vec())
            });
            let mut s = Storm {
                // The start of the second whose changes went over the limit.
                started: t - t % SECOND,
                last_alert: None,
                changes: changes.saturating_sub(1),
                held: 0,
                sample: Vec::with_capacity(STORM_SAMPLE),
            };
            s.add_sample(old);
            for m in before {
                s.add_sample(m);
            }
            self.storms.insert(key, s);
        }
        let Some(s) = self.storms.get_mut(&key) else {
            return;
        };
        s.changes += 1;
        s.held += 1;
        s.add_sample(new);
        if s.last_alert
            .is_some_and(|l| t.saturating_sub(l) < self.repeat)
        {
            return;
        }
        let limit = self.mac_changes_per_sec;
        let quiet = self.mac_storm_quiet as f64 / 1e9;
        let addr = key.1;
        let (changes, held, sample) = (s.changes, s.held, s.sample.clone());
        let storm_s = t.saturating_sub(s.started) as f64 / 1e9;
        let printed = sink.raise(
            cx,
            AlertCode::NeighborMacStorm,
            Severity::High,
            Subject::addr(addr),
            |a| {
                a.message = format!(
                    "{addr} changed MAC {changes} times in {storm_s:.3} s (more than {limit} a second): \
                     its change alerts are held back until it is quiet for {quiet} s"
                );
                a.address = Some(addr);
                a.mac = Some(new);
                a.evidence.detail = Detail::MacStorm {
                    changes,
                    held_back: held,
                    storm_s,
                    limit_per_s: limit,
                    sample_macs: sample,
                };
            },
        );
        if printed {
            s.held = 0;
            s.last_alert = Some(t);
        }
    }

    /// A binding of `addr` to `mac` that is new (or a new MAC for it): the MAC's vendor (when
    /// the policy asks) and its link-local couple.
    fn new_couple(&mut self, cx: &Cx, sink: &mut Sink, addr: Ipv6Addr, mac: Mac) {
        if let (Some(true), Some(v)) = (cx.policy.map(|p| p.unknown_vendor), cx.vendors) {
            if Vendors::is_universal(&mac) && v.lookup(&mac).is_none() {
                let oui = format!("{:02x}:{:02x}:{:02x}", mac.0[0], mac.0[1], mac.0[2]);
                sink.raise(
                    cx,
                    AlertCode::UnknownVendor,
                    Severity::Low,
                    Subject::mac(mac),
                    |a| {
                        a.message =
                            format!("{mac} (at {addr}): its OUI {oui} is in no IEEE registry");
                        a.address = Some(addr);
                        a.mac = Some(mac);
                    },
                );
            }
        }
        if !is_link_local(&addr) {
            return;
        }
        let ckey = (cx.link, mac);
        let Some(known) = self.mac_lla.get(&ckey).copied() else {
            self.mac_lla.insert_absent(ckey, addr);
            return;
        };
        if known == addr {
            return;
        }
        // The known couple holds while its address is still bound to this MAC; otherwise the
        // MAC moved on and the new address is its couple now.
        let holds = self
            .bindings
            .get(&(cx.link, known))
            .is_some_and(|b| b.mac == mac);
        if !holds {
            self.mac_lla.insert(ckey, addr);
            return;
        }
        if cx.learning {
            return;
        }
        sink.raise(
            cx,
            AlertCode::NeighborMacLlaMismatch,
            Severity::Medium,
            Subject::of(None, Some(mac), Target::Addr(addr)),
            |a| {
                a.message =
                    format!("{mac}, known at link-local {known}, also claims link-local {addr}");
                a.address = Some(addr);
                a.mac = Some(mac);
                a.evidence.detail = Detail::LlaMismatch {
                    known_link_local: known,
                };
            },
        );
    }

    /// A router solicitation: its source link-layer option, and the binding of its source
    /// (`bind` false for a bogon source).
    pub fn on_rs(&mut self, cx: &Cx, sink: &mut Sink, options: &Options, bind: bool) {
        let slla = options.source_ll_addr();
        ll_mismatch(cx, sink, slla, LlOption::Source);
        let src = cx.src();
        if bind && !src.is_unspecified() {
            self.bind(
                cx,
                sink,
                src,
                slla.unwrap_or(cx.eth_src()),
                LearnedFrom::RouterSolicit,
            );
        }
    }

    /// A neighbour solicitation from a specified, non-bogon source (DAD probes go to
    /// [`DadWatch::probe`]).
    pub fn on_ns(
        &mut self,
        cx: &Cx,
        sink: &mut Sink,
        target: Ipv6Addr,
        options: &Options,
        proxy: bool,
    ) {
        let slla = options.source_ll_addr();
        ll_mismatch(cx, sink, slla, LlOption::Source);
        if !proxy {
            self.bind(
                cx,
                sink,
                cx.src(),
                slla.unwrap_or(cx.eth_src()),
                LearnedFrom::NeighborSolicit,
            );
        }
        self.ns_pending(cx, sink, target);
    }

    fn ns_pending(&mut self, cx: &Cx, sink: &mut Sink, target: Ipv6Addr) {
        if target.is_multicast() || target.is_unspecified() {
            return;
        }
        let link = cx.link as usize;
        if self.pending_count.len() <= link {
            self.pending_count.resize(link + 1, 0);
        }
        let key = (cx.link, target);
        if !self.pending_ns.contains_key(&key) {
            if let Some(((l, _), _)) = self.pending_ns.insert(key, cx.t) {
                self.dec_pending(l);
            }
            self.pending_count[link] += 1;
        }
        while let Some((k, &t0)) = self.pending_ns.oldest() {
            if cx.t.saturating_sub(t0) <= self.ns_pending_window {
                break;
            }
            self.pending_ns.remove(&k);
            self.dec_pending(k.0);
        }
        let n = self.pending_count[link];
        let limit = self.cache_exhaustion_targets;
        if n > limit {
            let secs = self.ns_pending_window_s;
            sink.raise(
                cx,
                AlertCode::NeighborCacheExhaustion,
                Severity::High,
                Subject::link(),
                |a| {
                    a.message = format!(
                        "{n} distinct NS targets unanswered within {secs}s (limit {limit})"
                    );
                    a.evidence.detail = Detail::CacheExhaustion {
                        unanswered_targets: n,
                        window_s: secs,
                        limit,
                        target,
                    };
                },
            );
        }
    }

    fn dec_pending(&mut self, link: u16) {
        if let Some(c) = self.pending_count.get_mut(link as usize) {
            *c = c.saturating_sub(1);
        }
    }

    /// A neighbour advertisement from a non-bogon source; `dad` hears it as a possible answer
    /// to a running DAD attempt.
    pub fn on_na(&mut self, cx: &Cx, sink: &mut Sink, dad: &mut DadWatch, na: Na, proxy: bool) {
        let (flags, target) = (na, na.target);
        let eth_src = cx.eth_src();
        let tlla = na.options.target_ll_addr();
        if target.is_multicast() {
            sink.raise(
                cx,
                AlertCode::NaMulticastTarget,
                Severity::High,
                cx.sent(),
                |a| {
                    a.message =
                        format!("neighbor advert from {eth_src} for multicast target {target}");
                    a.address = Some(target);
                    a.mac = Some(eth_src);
                },
            );
            return;
        }
        if flags.override_ && tlla.is_none() {
            sink.raise(
                cx,
                AlertCode::NaOverrideWithoutTlla,
                Severity::Medium,
                cx.sent(),
                |a| {
                    a.message = format!("neighbor advert for {target} from {eth_src} sets Override without a target link-layer address");
                    a.address = Some(target);
                    a.mac = Some(eth_src);
                },
            );
        }
        let mac = tlla.unwrap_or(eth_src);
        if self.pending_ns.remove(&(cx.link, target)).is_some() {
            self.dec_pending(cx.link);
        }
        if proxy {
            return;
        }
        if self.check_na_mismatch {
            ll_mismatch(cx, sink, tlla, LlOption::Target);
        }
        dad.answer(cx, sink, target, mac, DadAnswer::NeighborAdvert);
        if flags.router && !self.is_router_mac(cx, &mac) {
            if cx.learning {
                self.add_router_mac(cx.link, mac);
            } else {
                sink.raise(
                    cx,
                    AlertCode::NaRouterFlagFromHost,
                    Severity::Medium,
                    Subject::of(cx.msg_type(), Some(mac), Target::Addr(target)),
                    |a| {
                        a.message = format!("neighbor advert for {target} from {mac} claims to be a router (R flag); no RA was seen from it");
                        a.address = Some(target);
                        a.mac = Some(mac);
                    },
                );
            }
        }
        // RFC 4861 7.2.5: an NA without Override does not replace a cached link-layer address
        // (anycast answers, proxies); hosts keep the old one, and so does the baseline.
        if !flags.override_
            && self
                .bindings
                .get(&(cx.link, target))
                .is_some_and(|b| b.mac != mac)
        {
            return;
        }
        let changed = self.bind(cx, sink, target, mac, LearnedFrom::NeighborAdvert);
        // An unsolicited override moving an active binding; held back, like the change
        // itself, while the address is in a MAC storm.
        let Some(Changed {
            old,
            stale: false,
            alerted,
        }) = changed
        else {
            return;
        };
        if flags.solicited || !flags.override_ {
            return;
        }
        if !alerted {
            sink.hold(AlertCode::NaUnsolicitedOverride);
            return;
        }
        sink.raise(
            cx,
            AlertCode::NaUnsolicitedOverride,
            Severity::High,
            cx.sent(),
            |a| {
                a.message = format!(
                    "unsolicited override NA moves {target} from the active {old} to {mac}"
                );
                a.address = Some(target);
                a.mac = Some(mac);
                a.old_mac = Some(old);
            },
        );
    }

    /// The bindings and router MACs, for the state file; `link` names a link index.
    pub fn snapshot(
        &self,
        link: impl Fn(u16) -> (String, Option<u16>),
    ) -> (Vec<NeighborState>, Vec<RouterMacState>) {
        let neighbors = self
            .bindings
            .iter()
            .map(|((l, a), b)| {
                let (iface, vlan) = link(*l);
                NeighborState {
                    iface,
                    vlan,
                    address: *a,
                    mac: b.mac,
                    prev_macs: b.prev().to_vec(),
                    first_seen_ns: b.first_seen,
                    last_seen_ns: b.last_seen,
                }
            })
            .collect();
        let router_macs = self
            .router_macs
            .iter()
            .map(|((l, mac), ())| {
                let (iface, vlan) = link(*l);
                RouterMacState {
                    iface,
                    vlan,
                    mac: *mac,
                }
            })
            .collect();
        (neighbors, router_macs)
    }

    /// The bindings and router MACs for [`super::state::StateView`]: sorted references into
    /// the tables (16 bytes an entry), each written from the table when its turn comes.
    pub fn saved<'a>(
        &'a self,
        links: &'a SavedLinks<'a>,
    ) -> (impl serde::Serialize + 'a, impl serde::Serialize + 'a) {
        let mut bindings: Vec<_> = self.bindings.iter().collect();
        bindings.sort_unstable_by_key(|((l, a), _)| (links.rank(*l), *a));
        let neighbors = Listed::new(bindings, |((l, a), b): &(&Key, &'a Binding)| {
            let (iface, vlan) = links.name(*l);
            NeighborRef {
                iface,
                vlan,
                address: *a,
                mac: b.mac,
                prev_macs: b.prev(),
                first_seen_ns: b.first_seen,
                last_seen_ns: b.last_seen,
            }
        });
        let mut macs: Vec<_> = self.router_macs.iter().map(|(k, ())| k).collect();
        macs.sort_unstable_by_key(|(l, mac)| (links.rank(*l), *mac));
        let router_macs = Listed::new(macs, |(l, mac): &&(u16, Mac)| {
            let (iface, vlan) = links.name(*l);
            RouterMacRef {
                iface,
                vlan,
                mac: *mac,
            }
        });
        (neighbors, router_macs)
    }

    /// Restores a saved binding on link `link`.
    pub fn restore(&mut self, link: u16, n: &NeighborState) {
        let mut b = Binding::new(n.mac, n.first_seen_ns);
        b.last_seen = n.last_seen_ns;
        let prev: Vec<Mac> = n.prev_macs.iter().copied().take(PREV_MACS).collect();
        b.prev[..prev.len()].copy_from_slice(&prev);
        b.n_prev = prev.len() as u8;
        self.bindings.insert((link, n.address), b);
        if is_link_local(&n.address) && !self.mac_lla.contains_key(&(link, n.mac)) {
            self.mac_lla.insert_absent((link, n.mac), n.address);
        }
    }
}
