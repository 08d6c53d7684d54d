//! The detection engine: one call per packet. It keeps the links and the learning period,
//! builds each packet's context, and hands the packet to the rule subjects in turn (packet
//! checks, then neighbours, DAD or routers by message type), lending them the alert sink.
//! The subjects own their tables; the engine owns none but the links.
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use v6probe_common::wire::{Icmpv6Type, Message};

use super::{
    alert::{Alert, AlertCode, Detail, Evidence, FloodSourceCount, MsgClass, Severity},
    config::Config,
    dad::DadWatch,
    fragments::Fragments,
    gate::Gate,
    links::Links,
    neighbors::{Na, Neighbors},
    packet_checks::PacketChecks,
    policy::Policy,
    routers::Routers,
    sink::{ns, Cx, Sink, Subject},
    state::{SavedLinks, State, StateView, STATE_VERSION},
    vendors::Vendors,
};
use crate::{
    output::rfc3339_nanos,
    packet::{Packet, Reassembly},
    reasm::ReasmStats,
};

/// What the kernel's flood guard counted for one of its classes over a window (the monitor
/// reads it from the kernel counters and the guard's per-MAC table).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelFlood {
    /// `abi::guard` class index and name.
    pub guard_class: u8,
    pub name: &'static str,
    /// Frames counted instead of recorded in the window.
    pub suppressed: u64,
    pub window: std::time::Duration,
    /// The guard's rate per class (records per second per CPU).
    pub guard_rate: u32,
    /// The MACs most of them came from, most first.
    pub sources: Vec<FloodSourceCount>,
}

/// Figures for the `stats` line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineStats {
    pub observed: u64,
    pub learning: bool,
    pub baseline: bool,
    pub neighbors: usize,
    pub routers: usize,
    pub router_macs: usize,
    /// MAC -> link-local couples known.
    pub mac_lla: usize,
    pub dad: usize,
    pub pending_ns: usize,
    pub sources: usize,
    /// New bindings not stored because their message class was flooding at the time.
    pub bindings_not_admitted: u64,
    /// Changes of a binding's MAC, alerted or held back in a MAC storm.
    pub mac_changes: u64,
    /// Prefix changes of known routers (renumbering) taken into their baseline without an
    /// alert.
    pub ra_prefix_changes: u64,
    /// Assignments in the IEEE MAC registry loaded (0: none on this system).
    pub vendors: usize,
    pub suppress_entries: usize,
    /// Entries evicted per table to stay within the bounds.
    pub evictions: BTreeMap<&'static str, u64>,
    /// Alerts emitted, by code.
    pub alerts: BTreeMap<&'static str, u64>,
    /// Alerts counted but not printed (repeats, per-code budget), by code.
    pub suppressed: BTreeMap<&'static str, u64>,
    /// Fragments held, packets reassembled, datagrams timed out or evicted, drops by reason.
    pub reassembly: ReasmStats,
}

pub fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

/// A saved interface name: empty when the packets did not say.
fn named(iface: &str) -> Option<&str> {
    Some(iface).filter(|s| !s.is_empty())
}

/// Interface name and VLAN (when tagged) of a link.
fn link_name(links: &Links, link: u16) -> (Option<&str>, Option<u16>) {
    (links.name(link), links.vlan(link))
}

/// The rules' view of one packet ([`Cx`]) from the engine's read-only fields. A macro, not a
/// method: a method would borrow the whole engine while the rules' `Sink` holds `gate`
/// mutably; field by field the two borrows are disjoint.
macro_rules! cx {
    ($engine:ident, $p:expr, $now:expr, $t:expr, $link:expr) => {{
        let (iface, vlan) = link_name(&$engine.links, $link);
        Cx {
            p: $p,
            now: $now,
            t: $t,
            link: $link,
            iface,
            vlan,
            policy: $engine.policy.as_ref(),
            vendors: $engine.vendors.as_deref(),
            learning: $engine.learn_until.is_some(),
            baseline: $engine.baseline,
            flooding: false,
        }
    }};
}

/// The engine. See the module documentation.
pub struct Engine {
    cfg: Config,
    policy: Option<Policy>,
    vendors: Option<Arc<Vendors>>,
    /// Links: (interface name, outer VLAN id or 0). Bindings and routers are per link.
    links: Links,
    checks: PacketChecks,
    frags: Fragments,
    neighbors: Neighbors,
    dad: DadWatch,
    routers: Routers,
    gate: Gate,
    learn_until: Option<u64>,
    learn_started: bool,
    learning_finished: bool,
    baseline: bool,
    observed: u64,
    /// `cfg.check_na_mismatch` as given, before a policy listing proxies turned it off.
    na_mismatch_wanted: bool,
}

impl Engine {
    pub fn new(mut cfg: Config, policy: Option<Policy>) -> Self {
        let na_mismatch_wanted = cfg.check_na_mismatch;
        if policy.as_ref().is_some_and(|p| !p.proxies.is_empty()) {
            cfg.check_na_mismatch = false;
        }
        Self {
            na_mismatch_wanted,
            checks: PacketChecks::new(&cfg),
            frags: Fragments::new(cfg.reassembly),
            neighbors: Neighbors::new(&cfg),
            dad: DadWatch::new(&cfg),
            routers: Routers::new(&cfg),
            gate: Gate::new(
                ns(cfg.repeat_interval),
                cfg.max_alerts_per_code_per_sec,
                cfg.max_suppress,
            ),
            baseline: policy.is_some(),
            policy,
            vendors: None,
            cfg,
            links: Links::default(),
            learn_until: None,
            learn_started: false,
            learning_finished: false,
            observed: 0,
        }
    }

    /// Replaces the policy (the monitor's SIGHUP): later packets are judged against the new
    /// one; what was learned stays.
    pub fn set_policy(&mut self, policy: Option<Policy>) {
        let proxies = policy.as_ref().is_some_and(|p| !p.proxies.is_empty());
        self.cfg.check_na_mismatch = self.na_mismatch_wanted && !proxies;
        self.neighbors
            .set_check_na_mismatch(self.cfg.check_na_mismatch);
        self.baseline |= policy.is_some();
        self.policy = policy;
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The IEEE MAC registry: alerts then name the vendor of their MAC, and a policy may ask
    /// for `unknown_vendor`.
    pub fn set_vendors(&mut self, vendors: Option<Arc<Vendors>>) {
        self.vendors = vendors;
    }

    /// Judges one packet seen at `now` (its kernel or capture timestamp).
    pub fn observe(&mut self, p: &Packet, now: SystemTime) -> Vec<Alert> {
        let mut out = Vec::new();
        self.observe_into(p, now, &mut out);
        out
    }

    /// [`Engine::observe`] appending to `out`.
    pub fn observe_into(&mut self, p: &Packet, now: SystemTime, out: &mut Vec<Alert>) {
        let t = nanos(now);
        self.observed += 1;
        let link = self.link_of(p);
        self.tick_learning(t);
        let Some(icmp) = p.frame.icmp6.as_ref() else {
            return;
        };
        let cx = cx!(self, p, now, t, link);
        let mut sink = Sink::new(&mut self.gate, out);
        if icmp.msg_type == Icmpv6Type::PacketTooBig {
            self.checks.packet_too_big(&cx, &mut sink, icmp);
            return;
        }
        let Some(class) = MsgClass::of(icmp.msg_type) else {
            return;
        };
        let flooding = self.checks.rates(&cx, &mut sink, class);
        let cx = Cx { flooding, ..cx };
        let verdict = self.checks.headers(&cx, &mut sink, icmp);
        if verdict.discarded {
            return;
        }
        let bogon = verdict.bogon.is_some();
        if verdict.untrusted {
            // Judged against what is known, changing nothing.
            match &icmp.message {
                Message::RouterAdvert { .. } if !bogon => {
                    self.routers.on_ra(&cx, &mut sink, None, icmp);
                }
                Message::Redirect {
                    target,
                    destination,
                    ..
                } => self
                    .routers
                    .on_redirect(&cx, &mut sink, *target, *destination),
                _ => {}
            }
            return;
        }
        let src = cx.src();
        let proxy = cx.policy.is_some_and(|p| p.is_proxy(&cx.eth_src()));
        match &icmp.message {
            Message::RouterSolicit { options, .. } => {
                self.neighbors.on_rs(&cx, &mut sink, options, !bogon);
            }
            Message::RouterAdvert { .. } if !bogon => {
                self.routers
                    .on_ra(&cx, &mut sink, Some(&mut self.neighbors), icmp);
            }
            Message::NeighborSolicit {
                target, options, ..
            } => {
                if src.is_unspecified() {
                    let owner = self.neighbors.fresh_owner(&(link, *target), t);
                    self.dad.probe(&cx, &mut sink, *target, owner);
                } else if !bogon {
                    self.neighbors
                        .on_ns(&cx, &mut sink, *target, options, proxy);
                }
            }
            Message::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                options,
                ..
            } if !bogon => {
                let na = Na {
                    router: *router,
                    solicited: *solicited,
                    override_: *override_,
                    target: *target,
                    options,
                };
                self.neighbors
                    .on_na(&cx, &mut sink, &mut self.dad, na, proxy);
            }
            Message::Redirect {
                target,
                destination,
                ..
            } => self
                .routers
                .on_redirect(&cx, &mut sink, *target, *destination),
            _ => {}
        }
    }

    /// Prepares for a frame that will be judged soon (the next of a batch): prefetches the
    /// per-source rate slot of its Ethernet source (`frame`: the frame's bytes, Ethernet
    /// first). Changes nothing; a frame too short for a MAC is ignored.
    pub fn prefetch(&self, frame: &[u8]) {
        if let Some(src) = frame.get(6..12).and_then(|b| <[u8; 6]>::try_from(b).ok()) {
            self.checks
                .prefetch_source(&v6probe_common::wire::EthernetAddress::from(src));
        }
    }

    /// Judges one frame: its decode `p` as [`Engine::observe_into`] does, then its IPv6 layer
    /// (`bytes`: the frame `p` was decoded from): a header chain longer than the kernel
    /// programs walk, and fragments, held until their packet is whole. The fragment that
    /// completes a packet returns it, already judged (its alerts are in `out`), for the caller
    /// to print.
    pub fn observe_frame_into(
        &mut self,
        bytes: &[u8],
        p: &Packet,
        now: SystemTime,
        out: &mut Vec<Alert>,
    ) -> Option<Packet> {
        self.observe_into(p, now, out);
        let ext = &p.frame.ip6.ext;
        let fragment = ext.fragment().is_some();
        if !fragment && !ext.longer_than_kernel_walks() {
            return None;
        }
        let r = {
            let link = self.link_of(p);
            let cx = cx!(self, p, now, nanos(now), link);
            let mut sink = Sink::new(&mut self.gate, out);
            self.frags.long_chain(&cx, &mut sink);
            if !fragment {
                return None;
            }
            self.frags.push(&cx, &mut sink, bytes)?
        };
        // Not an IPv6 packet the decoder can show (not ICMPv6): nothing more to judge.
        let frame = v6probe_common::wire::Frame::parse(&r.bytes).ok()?;
        let mut whole = Packet::new(p.seen.clone(), frame);
        whole.reassembled = Some(Reassembly {
            id: r.key.id,
            fragments: r.fragments,
        });
        self.observe_into(&whole, now, out);
        if whole.frame.ip6.ext.longer_than_kernel_walks() {
            let link = self.link_of(&whole);
            let cx = cx!(self, &whole, now, nanos(now), link);
            self.frags
                .long_chain(&cx, &mut Sink::new(&mut self.gate, out));
        }
        Some(whole)
    }

    /// The link a packet was seen on.
    fn link_of(&mut self, p: &Packet) -> u16 {
        let vid = if p.frame.eth.vlan_count > 0 {
            p.frame.eth.vlans[0].vid()
        } else {
            0
        };
        self.link_id(p.seen.iface.as_deref(), vid)
    }

    // ---- Hook for the kernel flood guard (the kernel work owns the guard; this only turns
    // ---- its counts into alerts through the engine's gate).

    /// A `flood` alert for frames the kernel's flood guard counted instead of recording, or
    /// `None` when the gate holds it back (a repeat for the same class within the repeat
    /// interval: counted in the next one's `suppressed`).
    pub fn kernel_flood(&mut self, f: &KernelFlood, now: SystemTime) -> Option<Alert> {
        let t = nanos(now);
        let link = self.link_id(None, 0);
        let subject = Subject::kernel_guard(f.guard_class);
        let suppressed = self
            .gate
            .pass(AlertCode::Flood, link, subject, Severity::High, t)?;
        let secs = f.window.as_secs_f64();
        let mut message = format!(
            "kernel flood guard: {} {} frames counted, not recorded, in {secs:.1} s (over {} per \
             second)",
            f.suppressed, f.name, f.guard_rate
        );
        if let Some(top) = f.sources.first() {
            message.push_str(&format!("; most from {} ({})", top.mac, top.suppressed));
        }
        Some(Alert {
            code: AlertCode::Flood,
            severity: Severity::High,
            iface: None,
            vlan: None,
            ts: rfc3339_nanos(now),
            address: None,
            mac: f.sources.first().map(|s| s.mac),
            vendor: f
                .sources
                .first()
                .and_then(|s| self.vendors.as_ref()?.lookup(&s.mac))
                .map(str::to_owned),
            old_mac: None,
            message,
            evidence: Evidence {
                packet: None,
                detail: Detail::KernelFlood {
                    guard_class: f.name,
                    kernel_suppressed: f.suppressed,
                    window_s: secs,
                    guard_rate: f.guard_rate,
                    sources: f.sources.clone(),
                },
            },
            suppressed,
            ts_ns: t,
        })
    }

    /// True while the learning period runs.
    pub fn is_learning(&self) -> bool {
        self.learn_until.is_some()
    }

    /// True once, after the learning period ended (the caller saves the state then).
    pub fn take_learning_finished(&mut self) -> bool {
        std::mem::take(&mut self.learning_finished)
    }

    pub fn stats(&self) -> EngineStats {
        // (entries, evictions) of each neighbour table.
        let [neighbors, router_macs, pending_ns, mac_lla, storms] = self.neighbors.sizes();
        let (sources, ev_sources) = self.checks.sources();
        let mut s = EngineStats {
            observed: self.observed,
            learning: self.is_learning(),
            baseline: self.baseline,
            neighbors: neighbors.0,
            routers: self.routers.len(),
            router_macs: router_macs.0,
            mac_lla: mac_lla.0,
            dad: self.dad.len(),
            pending_ns: pending_ns.0,
            sources,
            bindings_not_admitted: self.neighbors.not_admitted(),
            mac_changes: self.neighbors.mac_changes(),
            ra_prefix_changes: self.routers.prefix_changes(),
            vendors: self.vendors.as_ref().map_or(0, |v| v.len()),
            suppress_entries: self.gate.entries(),
            reassembly: self.frags.stats(),
            ..Default::default()
        };
        for (name, n) in [
            ("neighbors", neighbors.1),
            ("routers", self.routers.evictions()),
            ("router_macs", router_macs.1),
            ("mac_lla", mac_lla.1),
            ("storms", storms.1),
            ("dad", self.dad.evictions()),
            ("pending_ns", pending_ns.1),
            ("sources", ev_sources),
            ("suppress", self.gate.evictions()),
            ("links", self.links.over_cap()),
            ("reassembly", s.reassembly.evicted),
        ] {
            s.evictions.insert(name, n);
        }
        for c in AlertCode::ALL {
            let n = self.gate.emitted()[c.index()];
            if n > 0 {
                s.alerts.insert(c.code(), n);
            }
            let sup = self.gate.suppressed()[c.index()];
            if sup > 0 {
                s.suppressed.insert(c.code(), sup);
            }
        }
        s
    }

    /// The learned baseline, for `--state`.
    pub fn snapshot(&self) -> State {
        let name = |link: u16| {
            let (iface, vlan) = link_name(&self.links, link);
            (iface.unwrap_or_default().to_owned(), vlan)
        };
        let (neighbors, router_macs) = self.neighbors.snapshot(name);
        let mut s = State {
            version: STATE_VERSION,
            neighbors,
            routers: self.routers.snapshot(name),
            router_macs,
        };
        // Stable order, so unchanged state gives an unchanged file.
        s.neighbors
            .sort_by(|a, b| (&a.iface, a.vlan, a.address).cmp(&(&b.iface, b.vlan, b.address)));
        s.routers.sort_by(|a, b| {
            (&a.iface, a.vlan, a.link_local).cmp(&(&b.iface, b.vlan, b.link_local))
        });
        s.router_macs
            .sort_by(|a, b| (&a.iface, a.vlan, a.mac).cmp(&(&b.iface, b.vlan, b.mac)));
        s
    }

    /// Writes the learned baseline to `path` as [`Engine::snapshot`] followed by
    /// [`State::save`] would, byte for byte, but serialized from the tables as it is written:
    /// no owned copy of them is built (see [`StateView`]).
    pub fn save_state(&self, path: &std::path::Path) -> Result<(), super::DetectError> {
        let links = SavedLinks::new(&self.links);
        let (neighbors, router_macs) = self.neighbors.saved(&links);
        let view = StateView {
            version: STATE_VERSION,
            neighbors,
            routers: self.routers.saved(&links),
            router_macs,
        };
        super::state::save_json(path, &view)
    }

    /// Loads a saved baseline: afterwards unknown routers are judged as rogue.
    pub fn restore(&mut self, s: &State) {
        for n in &s.neighbors {
            let link = self.link_id(named(&n.iface), n.vlan.unwrap_or(0));
            self.neighbors.restore(link, n);
        }
        for r in &s.routers {
            let link = self.link_id(named(&r.iface), r.vlan.unwrap_or(0));
            self.routers.restore(link, r);
            self.neighbors.add_router_mac(link, r.mac);
        }
        for m in &s.router_macs {
            let link = self.link_id(named(&m.iface), m.vlan.unwrap_or(0));
            self.neighbors.add_router_mac(link, m.mac);
        }
        self.baseline = true;
    }

    fn link_id(&mut self, name: Option<&str>, vid: u16) -> u16 {
        self.links.id(name, vid)
    }

    fn tick_learning(&mut self, t: u64) {
        if !self.learn_started && !self.cfg.learn.is_zero() {
            self.learn_started = true;
            self.learn_until = Some(t.saturating_add(ns(self.cfg.learn)));
            tracing::info!(secs = self.cfg.learn.as_secs_f64(), "learning started");
        }
        if let Some(u) = self.learn_until {
            if t >= u {
                self.learn_until = None;
                self.baseline = true;
                self.learning_finished = true;
                tracing::info!(
                    routers = self.routers.len(),
                    neighbors = self.neighbors.sizes()[0].0,
                    "learning finished"
                );
            }
        }
    }
}
