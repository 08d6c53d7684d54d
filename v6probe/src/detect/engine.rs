//! The detection engine: bindings, routers, DAD, pending NS, rates; one call per packet.
use std::{
    collections::BTreeMap,
    net::Ipv6Addr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use serde_json::{json, Map, Value};
use v6probe_common::{
    abi::next_header as nh,
    wire::{
        addr, icmpv6::msg_type as mt, EthernetAddress, Icmpv6Repr, Message, NdpOption, Options,
    },
};

use super::{
    alert::{Alert, AlertCode, Severity},
    baseline::{RaDiff, RaParams},
    config::Config,
    gate::Gate,
    policy::Policy,
    state::{NeighborState, RouterMacState, RouterState, State, STATE_VERSION},
    table::{BoundedMap, RateSlots, RateWindow},
};
use crate::{output::rfc3339_nanos, packet::Packet};

type Mac = EthernetAddress;

/// Message classes for rate windows, indexed by `type - 133`.
pub const CLASS_NAMES: [&str; 5] = ["rs", "ra", "ns", "na", "redirect"];

const PREV_MACS: usize = 4;

#[derive(Debug, Clone)]
struct Binding {
    mac: Mac,
    /// Earlier MACs, most recent first.
    prev: [Mac; PREV_MACS],
    n_prev: u8,
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
            first_seen: t,
            last_seen: t,
            changed_at: 0,
        }
    }

    fn prev(&self) -> &[Mac] {
        &self.prev[..self.n_prev as usize]
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

#[derive(Debug, Clone)]
struct Router {
    mac: Mac,
    params: Option<RaParams>,
    last_seen: u64,
}

#[derive(Debug, Clone)]
struct Dad {
    prober: Mac,
    last_probe: u64,
    attempts: u32,
    answered: u32,
    answered_this: bool,
    /// The MAC bound to the target (fresh) when the first attempt started: if it answers, the
    /// address is a genuine duplicate.
    owner_before: Option<Mac>,
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
    pub dad: usize,
    pub pending_ns: usize,
    pub sources: usize,
    /// New bindings not stored because their message class was flooding at the time.
    pub bindings_not_admitted: u64,
    pub suppress_entries: usize,
    /// Entries evicted per table to stay within the bounds.
    pub evictions: BTreeMap<&'static str, u64>,
    /// Alerts emitted, by code.
    pub alerts: BTreeMap<&'static str, u64>,
    /// Alerts counted but not printed (repeats, per-code budget), by code.
    pub suppressed: BTreeMap<&'static str, u64>,
}

/// Per-packet context.
struct Cx<'a> {
    p: &'a Packet,
    now: SystemTime,
    t: u64,
    ifx: u16,
}

type Key = (u16, Ipv6Addr);

/// Subjects for repeat suppression, one namespace per kind.
fn subj_addr(a: &Ipv6Addr) -> u128 {
    u128::from(*a)
}
fn subj_mac(m: &Mac) -> u128 {
    let mut b = [0u8; 16];
    b[0] = 0xfe; // no address in fe00::/9 except link-local is ever a subject
    b[1] = 0xff;
    b[10..].copy_from_slice(&m.0);
    u128::from_be_bytes(b)
}
fn subj_class(c: usize) -> u128 {
    (0xfeee_u128 << 112) | c as u128
}

pub fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

fn ns(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

fn bogon(ty: u8, src: &Ipv6Addr) -> Option<&'static str> {
    let o = src.octets();
    if src.is_multicast() {
        Some("multicast")
    } else if src.is_loopback() {
        Some("loopback")
    } else if o[..12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
        Some("ipv4_mapped")
    } else if src.is_unspecified() {
        matches!(ty, mt::NEIGHBOR_ADVERT | mt::ROUTER_ADVERT | mt::REDIRECT)
            .then_some("unspecified")
    } else if matches!(ty, mt::ROUTER_ADVERT | mt::REDIRECT) && !addr::is_link_local(src) {
        Some("not_link_local")
    } else {
        None
    }
}

fn base_evidence(p: &Packet) -> Map<String, Value> {
    let f = &p.frame;
    let mut m = Map::new();
    m.insert("type".into(), json!(p.name()));
    m.insert("eth_src".into(), json!(f.eth.src));
    m.insert("eth_dst".into(), json!(f.eth.dst));
    m.insert("ip6_src".into(), json!(f.ip6.src));
    m.insert("ip6_dst".into(), json!(f.ip6.dst));
    m.insert("hop_limit".into(), json!(f.ip6.hop_limit));
    if let Some(d) = p.seen.dir {
        m.insert("dir".into(), json!(d));
    }
    m
}

/// The engine. See the module documentation.
pub struct Engine {
    cfg: Config,
    policy: Option<Policy>,
    /// Links: (interface name, outer VLAN id or 0). Bindings and routers are per link.
    ifaces: Vec<(Option<String>, u16)>,
    class_rates: Vec<[RateWindow; 5]>,
    pending_count: Vec<usize>,
    neighbors: BoundedMap<Key, Binding>,
    routers: BoundedMap<Key, Router>,
    router_macs: BoundedMap<(u16, Mac), ()>,
    dad: BoundedMap<Key, Dad>,
    pending_ns: BoundedMap<Key, u64>,
    sources: RateSlots<(u16, Mac)>,
    not_admitted: u64,
    gate: Gate,
    learn_until: Option<u64>,
    learn_started: bool,
    learning_finished: bool,
    baseline: bool,
    observed: u64,
}

impl Engine {
    pub fn new(mut cfg: Config, policy: Option<Policy>) -> Self {
        if policy.as_ref().is_some_and(|p| !p.proxies.is_empty()) {
            cfg.check_na_mismatch = false;
        }
        Self {
            neighbors: BoundedMap::new(cfg.max_neighbors),
            routers: BoundedMap::new(cfg.max_routers),
            router_macs: BoundedMap::new(cfg.max_router_macs),
            dad: BoundedMap::new(cfg.max_dad),
            pending_ns: BoundedMap::new(cfg.max_pending_ns),
            sources: RateSlots::new(cfg.max_sources),
            not_admitted: 0,
            gate: Gate::new(
                ns(cfg.repeat_interval),
                cfg.max_alerts_per_code_per_sec,
                cfg.max_suppress,
            ),
            baseline: policy.is_some(),
            policy,
            cfg,
            ifaces: Vec::new(),
            class_rates: Vec::new(),
            pending_count: Vec::new(),
            learn_until: None,
            learn_started: false,
            learning_finished: false,
            observed: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
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
        let vid = if p.frame.eth.vlan_count > 0 {
            p.frame.eth.vlans[0].vid()
        } else {
            0
        };
        let ifx = self.iface_id(p.seen.iface.as_deref(), vid);
        self.tick_learning(t);
        let cx = Cx { p, now, t, ifx };
        let Some(icmp) = p.frame.icmp6.as_ref() else {
            return;
        };
        match icmp.msg_type {
            mt::PACKET_TOO_BIG => self.on_ptb(&cx, icmp, out),
            mt::ROUTER_SOLICIT..=mt::REDIRECT => self.on_ndp(&cx, icmp, out),
            _ => {}
        }
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
        let mut s = EngineStats {
            observed: self.observed,
            learning: self.is_learning(),
            baseline: self.baseline,
            neighbors: self.neighbors.len(),
            routers: self.routers.len(),
            router_macs: self.router_macs.len(),
            dad: self.dad.len(),
            pending_ns: self.pending_ns.len(),
            sources: self.sources.used(),
            bindings_not_admitted: self.not_admitted,
            suppress_entries: self.gate.entries(),
            ..Default::default()
        };
        for (name, n) in [
            ("neighbors", self.neighbors.evictions()),
            ("routers", self.routers.evictions()),
            ("router_macs", self.router_macs.evictions()),
            ("dad", self.dad.evictions()),
            ("pending_ns", self.pending_ns.evictions()),
            ("sources", self.sources.replaced()),
            ("suppress", self.gate.evictions()),
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
        let name = |ifx: u16| self.iface_name(ifx).unwrap_or_default();
        let vlan = |ifx: u16| self.vlan(ifx);
        let mut s = State {
            version: STATE_VERSION,
            ..Default::default()
        };
        for ((ifx, a), b) in self.neighbors.iter() {
            s.neighbors.push(NeighborState {
                iface: name(*ifx),
                vlan: vlan(*ifx),
                address: *a,
                mac: b.mac,
                prev_macs: b.prev().to_vec(),
                first_seen_ns: b.first_seen,
                last_seen_ns: b.last_seen,
            });
        }
        for ((ifx, ll), r) in self.routers.iter() {
            s.routers.push(RouterState {
                iface: name(*ifx),
                vlan: vlan(*ifx),
                link_local: *ll,
                mac: r.mac,
                params: r.params.clone(),
            });
        }
        for ((ifx, mac), ()) in self.router_macs.iter() {
            s.router_macs.push(RouterMacState {
                iface: name(*ifx),
                vlan: vlan(*ifx),
                mac: *mac,
            });
        }
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

    /// Loads a saved baseline: afterwards unknown routers are judged as rogue.
    pub fn restore(&mut self, s: &State) {
        for n in &s.neighbors {
            let ifx = self.iface_id(
                Some(n.iface.as_str()).filter(|s| !s.is_empty()),
                n.vlan.unwrap_or(0),
            );
            let mut b = Binding::new(n.mac, n.first_seen_ns);
            b.last_seen = n.last_seen_ns;
            let prev: Vec<Mac> = n.prev_macs.iter().copied().take(PREV_MACS).collect();
            b.prev[..prev.len()].copy_from_slice(&prev);
            b.n_prev = prev.len() as u8;
            self.neighbors.insert((ifx, n.address), b);
        }
        for r in &s.routers {
            let ifx = self.iface_id(
                Some(r.iface.as_str()).filter(|s| !s.is_empty()),
                r.vlan.unwrap_or(0),
            );
            self.routers.insert(
                (ifx, r.link_local),
                Router {
                    mac: r.mac,
                    params: r.params.clone(),
                    last_seen: 0,
                },
            );
            self.router_macs.insert((ifx, r.mac), ());
        }
        for m in &s.router_macs {
            let ifx = self.iface_id(
                Some(m.iface.as_str()).filter(|s| !s.is_empty()),
                m.vlan.unwrap_or(0),
            );
            self.router_macs.insert((ifx, m.mac), ());
        }
        self.baseline = true;
    }

    fn iface_name(&self, ifx: u16) -> Option<String> {
        self.ifaces.get(ifx as usize).and_then(|l| l.0.clone())
    }

    fn vlan(&self, ifx: u16) -> Option<u16> {
        self.ifaces
            .get(ifx as usize)
            .map(|l| l.1)
            .filter(|v| *v != 0)
    }

    fn iface_id(&mut self, name: Option<&str>, vid: u16) -> u16 {
        if let Some(i) = self
            .ifaces
            .iter()
            .position(|(n, v)| *v == vid && n.as_deref() == name)
        {
            return i as u16;
        }
        // Interface names come from the host (or a capture's few interface records): a
        // handful. Past u16 they share the last slot rather than growing without bound.
        if self.ifaces.len() >= u16::MAX as usize {
            return u16::MAX - 1;
        }
        self.ifaces.push((name.map(str::to_owned), vid));
        self.class_rates.push([RateWindow::default(); 5]);
        self.pending_count.push(0);
        (self.ifaces.len() - 1) as u16
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
                    neighbors = self.neighbors.len(),
                    "learning finished"
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        code: AlertCode,
        sev: Severity,
        subject: u128,
        message: impl FnOnce() -> String,
        fill: impl FnOnce(&mut Alert),
    ) {
        let Some(n) = self.gate.pass(code, cx.ifx, subject, sev, cx.t) else {
            return;
        };
        let mut a = Alert {
            code,
            severity: sev,
            iface: self.iface_name(cx.ifx),
            vlan: self.vlan(cx.ifx),
            ts: rfc3339_nanos(cx.now),
            address: None,
            mac: None,
            old_mac: None,
            message: message(),
            evidence: base_evidence(cx.p),
            suppressed: n,
            ts_ns: cx.t,
        };
        fill(&mut a);
        out.push(a);
    }

    fn on_ptb(&mut self, cx: &Cx, icmp: &Icmpv6Repr, out: &mut Vec<Alert>) {
        let Message::PacketTooBig { mtu, quoted, .. } = &icmp.message else {
            return;
        };
        if *mtu >= 1280 {
            return;
        }
        let (mtu, src, qdst) = (*mtu, cx.p.frame.ip6.src, quoted.dst);
        self.alert(
            cx,
            out,
            AlertCode::PtbMtuBelowMinimum,
            Severity::Medium,
            subj_addr(&src),
            || format!("packet too big from {src} advertises MTU {mtu} < 1280"),
            |a| {
                a.address = Some(src);
                a.mac = Some(cx.p.frame.eth.src);
                a.evidence.insert("mtu".into(), json!(mtu));
                a.evidence.insert("quoted_dst".into(), json!(qdst));
            },
        );
    }

    fn on_ndp(&mut self, cx: &Cx, icmp: &Icmpv6Repr, out: &mut Vec<Alert>) {
        let f = &cx.p.frame;
        let ty = icmp.msg_type;
        let class = (ty - mt::ROUTER_SOLICIT) as usize;
        let eth_src = f.eth.src;
        let src = f.ip6.src;

        // Rates: per interface and class, and per source MAC.
        let rate = self.class_rates[cx.ifx as usize][class].add(cx.t);
        let limit = self.cfg.flood_per_sec[class];
        if rate > limit {
            self.alert(
                cx,
                out,
                AlertCode::Flood,
                Severity::High,
                subj_class(class),
                || {
                    format!(
                        "{} flood: {rate} per second (limit {limit})",
                        CLASS_NAMES[class]
                    )
                },
                |a| {
                    a.evidence.insert("class".into(), json!(CLASS_NAMES[class]));
                    a.evidence.insert("rate".into(), json!(rate));
                    a.evidence.insert("limit".into(), json!(limit));
                },
            );
        }
        let skey = (cx.ifx, eth_src);
        let srate = self.sources.add(skey, cx.t);
        let slimit = self.cfg.flood_per_source_per_sec;
        if srate > slimit {
            self.alert(
                cx,
                out,
                AlertCode::Flood,
                Severity::High,
                subj_mac(&eth_src),
                || format!("NDP flood from {eth_src}: {srate} per second (limit {slimit})"),
                |a| {
                    a.mac = Some(eth_src);
                    a.evidence.insert("class".into(), json!(CLASS_NAMES[class]));
                    a.evidence.insert("source".into(), json!(eth_src));
                    a.evidence.insert("rate".into(), json!(srate));
                    a.evidence.insert("limit".into(), json!(slimit));
                },
            );
        }

        // Checks on the packet alone.
        let headers = f.ip6.ext.headers();
        if headers.iter().any(|h| h.kind != nh::FRAGMENT) {
            let names: Vec<&str> = headers.iter().map(|h| h.name()).collect();
            self.alert(
                cx,
                out,
                AlertCode::NdpWithExtensionHeaders,
                Severity::High,
                subj_mac(&eth_src),
                || {
                    format!(
                        "{} from {src} behind extension headers {}",
                        icmp.name,
                        names.join(",")
                    )
                },
                |a| {
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.insert("ext".into(), json!(names));
                },
            );
        }
        let frag = f.ip6.frag();
        if let Some(fr) = frag {
            self.alert(
                cx,
                out,
                AlertCode::NdpFragmented,
                Severity::High,
                subj_mac(&eth_src),
                || format!("fragmented {} from {src} (RFC 6980 forbids it)", icmp.name),
                |a| {
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.insert(
                        "frag".into(),
                        json!({"offset": fr.offset, "more": fr.more, "id": fr.id}),
                    );
                },
            );
        }
        let hop = f.ip6.hop_limit;
        if hop != 255 {
            self.alert(
                cx,
                out,
                AlertCode::NdpHopLimitInvalid,
                Severity::Medium,
                subj_addr(&src),
                || {
                    format!(
                        "{} from {src} with hop limit {hop} (not 255: sent from off-link)",
                        icmp.name
                    )
                },
                |a| {
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                },
            );
        }
        let bogus = bogon(ty, &src);
        if let Some(why) = bogus {
            self.alert(
                cx,
                out,
                AlertCode::NdpBogonSource,
                Severity::Medium,
                subj_addr(&src),
                || format!("{} from bogon source {src} ({why})", icmp.name),
                |a| {
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.insert("reason".into(), json!(why));
                },
            );
        }
        // Hosts discard these (RFC 4861 6.1, 7.1; RFC 6980): they change no cache, so they
        // change no state here either.
        if hop != 255 || frag.is_some() || icmp.code != 0 || icmp.checksum_ok == Some(false) {
            return;
        }
        let proxy = self.policy.as_ref().is_some_and(|p| p.is_proxy(&eth_src));
        match &icmp.message {
            Message::RouterSolicit { options, .. } => {
                let slla = options.source_ll_addr();
                self.check_mismatch(cx, out, slla, "source_ll_addr");
                if bogus.is_none() && !src.is_unspecified() {
                    self.bind(cx, out, src, slla.unwrap_or(eth_src), "router_solicit");
                }
            }
            Message::RouterAdvert { .. } if bogus.is_none() => self.on_ra(cx, icmp, out),
            Message::NeighborSolicit {
                target, options, ..
            } => {
                if src.is_unspecified() {
                    self.dad_probe(cx, out, *target);
                } else if bogus.is_none() {
                    let slla = options.source_ll_addr();
                    self.check_mismatch(cx, out, slla, "source_ll_addr");
                    if !proxy {
                        self.bind(cx, out, src, slla.unwrap_or(eth_src), "neighbor_solicit");
                    }
                    self.ns_pending(cx, out, *target);
                }
            }
            Message::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                options,
                ..
            } if bogus.is_none() => {
                self.on_na(
                    cx,
                    out,
                    (*router, *solicited, *override_),
                    *target,
                    options,
                    proxy,
                );
            }
            Message::Redirect {
                target,
                destination,
                ..
            } => self.on_redirect(cx, out, *target, *destination),
            _ => {}
        }
    }

    fn check_mismatch(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        ll: Option<Mac>,
        opt: &'static str,
    ) {
        let eth_src = cx.p.frame.eth.src;
        let Some(ll) = ll else { return };
        if ll == eth_src {
            return;
        }
        let src = cx.p.frame.ip6.src;
        self.alert(
            cx,
            out,
            AlertCode::NdpEthernetMismatch,
            Severity::Medium,
            subj_mac(&eth_src),
            || format!("{opt} {ll} differs from the Ethernet source {eth_src} (from {src})"),
            |a| {
                a.address = Some(src);
                a.mac = Some(ll);
                a.evidence.insert(opt.into(), json!(ll));
            },
        );
    }

    /// True when the current packet's class is over its flood limit on this interface.
    fn flooding(&self, cx: &Cx) -> bool {
        let Some(m) = cx.p.frame.icmp6.as_ref() else {
            return false;
        };
        let class = m.msg_type.wrapping_sub(mt::ROUTER_SOLICIT) as usize;
        match (
            self.class_rates.get(cx.ifx as usize),
            self.cfg.flood_per_sec.get(class),
        ) {
            (Some(r), Some(limit)) => r[class].sum() > *limit,
            _ => false,
        }
    }

    fn is_learning_at(&self, t: u64) -> bool {
        self.learn_until.is_some_and(|u| t < u)
    }

    /// Records `addr -> mac`; returns `(old MAC, old binding was stale)` when it changed.
    fn bind(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        addr: Ipv6Addr,
        mac: Mac,
        cause: &'static str,
    ) -> Option<(Mac, bool)> {
        if addr.is_unspecified() || addr.is_multicast() || mac.is_multicast() {
            return None;
        }
        let t = cx.t;
        let key = (cx.ifx, addr);
        let stale_after = ns(self.cfg.stale_after);
        let flip = ns(self.cfg.flip_flop_window);
        let Some(b) = self.neighbors.get_mut(&key) else {
            // Admission control: while this message class floods, new addresses are counted,
            // not stored, so a flood of forged MACs cannot evict the bindings already known
            // (a later spoof of one of them is then still seen as a MAC change).
            if self.flooding(cx) {
                self.not_admitted += 1;
                return None;
            }
            self.neighbors.insert_absent(key, Binding::new(mac, t));
            if !self.is_learning_at(t) {
                self.alert(
                    cx,
                    out,
                    AlertCode::NeighborNew,
                    Severity::Low,
                    subj_addr(&addr),
                    || format!("new neighbour {addr} at {mac}"),
                    |a| {
                        a.address = Some(addr);
                        a.mac = Some(mac);
                        a.evidence.insert("learned_from".into(), json!(cause));
                    },
                );
            }
            return None;
        };
        if b.mac == mac {
            b.last_seen = t;
            return None;
        }
        let old = b.mac;
        let idle = t.saturating_sub(b.last_seen);
        let stale = idle > stale_after;
        let code = if b.n_prev > 0 && b.prev[0] == mac && t.saturating_sub(b.changed_at) <= flip {
            AlertCode::NeighborFlipFlop
        } else if b.prev().contains(&mac) {
            AlertCode::NeighborMacReused
        } else {
            AlertCode::NeighborMacChanged
        };
        let history: Vec<String> = b.prev().iter().map(|m| m.to_string()).collect();
        b.change_to(mac, t);
        let sev = match code {
            AlertCode::NeighborFlipFlop => Severity::High,
            AlertCode::NeighborMacReused => Severity::Medium,
            _ if stale => Severity::Low,
            _ => Severity::Medium,
        };
        self.alert(
            cx,
            out,
            code,
            sev,
            subj_addr(&addr),
            || match code {
                AlertCode::NeighborFlipFlop => format!("{addr} flipped back from {old} to {mac}"),
                AlertCode::NeighborMacReused => {
                    format!("{addr} moved from {old} back to an older MAC {mac}")
                }
                _ => format!("{addr} moved from {old} to {mac}"),
            },
            |a| {
                a.address = Some(addr);
                a.mac = Some(mac);
                a.old_mac = Some(old);
                a.evidence.insert("learned_from".into(), json!(cause));
                a.evidence
                    .insert("old_idle_s".into(), json!(idle as f64 / 1e9));
                a.evidence.insert("previous_macs".into(), json!(history));
            },
        );
        Some((old, stale))
    }

    fn dad_probe(&mut self, cx: &Cx, out: &mut Vec<Alert>, target: Ipv6Addr) {
        let mac = cx.p.frame.eth.src;
        let key = (cx.ifx, target);
        let window = ns(self.cfg.dad_window);
        let stale_after = ns(self.cfg.stale_after);
        let owner = self
            .neighbors
            .get(&key)
            .filter(|b| cx.t.saturating_sub(b.last_seen) <= stale_after)
            .map(|b| b.mac);
        match self.dad.get_mut(&key) {
            Some(d) if cx.t.saturating_sub(d.last_probe) <= window => {
                if d.prober == mac {
                    d.last_probe = cx.t;
                } else {
                    // Another MAC probes the same tentative address: it answers the attempt.
                    self.dad_answer(cx, out, target, mac, "dad_probe");
                }
            }
            Some(d) => {
                d.attempts += 1;
                d.prober = mac;
                d.last_probe = cx.t;
                d.answered_this = false;
                // `owner_before` stays the owner at the first attempt: an earlier answer must
                // not make the answering MAC look like the address's owner.
            }
            None => {
                self.dad.insert(
                    key,
                    Dad {
                        prober: mac,
                        last_probe: cx.t,
                        attempts: 1,
                        answered: 0,
                        answered_this: false,
                        owner_before: owner,
                    },
                );
            }
        }
    }

    /// An NA (or a foreign DAD probe) for `target`; true when it answered a running attempt.
    fn dad_answer(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        target: Ipv6Addr,
        mac: Mac,
        how: &'static str,
    ) -> bool {
        let key = (cx.ifx, target);
        let window = ns(self.cfg.dad_window);
        let Some(d) = self.dad.get_mut(&key) else {
            return false;
        };
        if cx.t.saturating_sub(d.last_probe) > window || d.answered_this || mac == d.prober {
            return false;
        }
        d.answered += 1;
        d.answered_this = true;
        let (attempts, answered, prober) = (d.attempts, d.answered, d.prober);
        let genuine = d.owner_before == Some(mac);
        let sev = if genuine {
            Severity::Low
        } else if answered >= 2 && answered == attempts {
            Severity::High
        } else {
            Severity::Medium
        };
        self.alert(
            cx,
            out,
            AlertCode::DadDos,
            sev,
            subj_addr(&target),
            || {
                if genuine {
                    format!("DAD for {target} by {prober} answered by its current owner {mac} (duplicate address)")
                } else {
                    format!("DAD for {target} by {prober} answered by {mac} ({answered} of {attempts} attempts)")
                }
            },
            |a| {
                a.address = Some(target);
                a.mac = Some(mac);
                a.evidence.insert("prober".into(), json!(prober));
                a.evidence.insert("attempts".into(), json!(attempts));
                a.evidence.insert("answered".into(), json!(answered));
                a.evidence.insert("answered_with".into(), json!(how));
                a.evidence.insert("known_owner".into(), json!(genuine));
            },
        );
        true
    }

    fn ns_pending(&mut self, cx: &Cx, out: &mut Vec<Alert>, target: Ipv6Addr) {
        if target.is_multicast() || target.is_unspecified() {
            return;
        }
        let key = (cx.ifx, target);
        if !self.pending_ns.contains_key(&key) {
            if let Some(((ifx, _), _)) = self.pending_ns.insert(key, cx.t) {
                self.dec_pending(ifx);
            }
            self.pending_count[cx.ifx as usize] += 1;
        }
        let window = ns(self.cfg.ns_pending_window);
        while let Some((k, &t0)) = self.pending_ns.oldest() {
            if cx.t.saturating_sub(t0) <= window {
                break;
            }
            self.pending_ns.remove(&k);
            self.dec_pending(k.0);
        }
        let n = self.pending_count[cx.ifx as usize];
        let limit = self.cfg.cache_exhaustion_targets;
        if n > limit {
            let secs = self.cfg.ns_pending_window.as_secs_f64();
            self.alert(
                cx,
                out,
                AlertCode::NeighborCacheExhaustion,
                Severity::High,
                subj_class(100),
                || format!("{n} distinct NS targets unanswered within {secs}s (limit {limit})"),
                |a| {
                    a.evidence.insert("unanswered_targets".into(), json!(n));
                    a.evidence.insert("window_s".into(), json!(secs));
                    a.evidence.insert("limit".into(), json!(limit));
                    a.evidence.insert("target".into(), json!(target));
                },
            );
        }
    }

    fn dec_pending(&mut self, ifx: u16) {
        if let Some(c) = self.pending_count.get_mut(ifx as usize) {
            *c = c.saturating_sub(1);
        }
    }

    fn is_router_mac(&self, ifx: u16, mac: &Mac) -> bool {
        self.router_macs.contains_key(&(ifx, *mac))
            || self.policy.as_ref().is_some_and(|p| p.is_router_mac(mac))
    }

    fn on_na(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        (router, solicited, override_): (bool, bool, bool),
        target: Ipv6Addr,
        options: &Options,
        proxy: bool,
    ) {
        let eth_src = cx.p.frame.eth.src;
        let tlla = options.target_ll_addr();
        if target.is_multicast() {
            self.alert(
                cx,
                out,
                AlertCode::NaMulticastTarget,
                Severity::High,
                subj_addr(&target),
                || format!("neighbor advert from {eth_src} for multicast target {target}"),
                |a| {
                    a.address = Some(target);
                    a.mac = Some(eth_src);
                },
            );
            return;
        }
        if override_ && tlla.is_none() {
            self.alert(
                cx,
                out,
                AlertCode::NaOverrideWithoutTlla,
                Severity::Medium,
                subj_addr(&target),
                || format!("neighbor advert for {target} from {eth_src} sets Override without a target link-layer address"),
                |a| {
                    a.address = Some(target);
                    a.mac = Some(eth_src);
                },
            );
        }
        let mac = tlla.unwrap_or(eth_src);
        if let Some(((ifx, _), _)) = self
            .pending_ns
            .remove(&(cx.ifx, target))
            .map(|v| ((cx.ifx, target), v))
        {
            self.dec_pending(ifx);
        }
        if proxy {
            return;
        }
        if self.cfg.check_na_mismatch {
            self.check_mismatch(cx, out, tlla, "target_ll_addr");
        }
        self.dad_answer(cx, out, target, mac, "neighbor_advert");
        if router && !self.is_router_mac(cx.ifx, &mac) {
            if self.is_learning_at(cx.t) {
                self.router_macs.insert((cx.ifx, mac), ());
            } else {
                self.alert(
                    cx,
                    out,
                    AlertCode::NaRouterFlagFromHost,
                    Severity::Medium,
                    subj_mac(&mac),
                    || format!("neighbor advert for {target} from {mac} claims to be a router (R flag); no RA was seen from it"),
                    |a| {
                        a.address = Some(target);
                        a.mac = Some(mac);
                    },
                );
            }
        }
        // RFC 4861 7.2.5: an NA without Override does not replace a cached link-layer address
        // (anycast answers, proxies); hosts keep the old one, and so does the baseline.
        if !override_
            && self
                .neighbors
                .get(&(cx.ifx, target))
                .is_some_and(|b| b.mac != mac)
        {
            return;
        }
        let changed = self.bind(cx, out, target, mac, "neighbor_advert");
        if let Some((old, false)) = changed {
            if !solicited && override_ {
                self.alert(
                    cx,
                    out,
                    AlertCode::NaUnsolicitedOverride,
                    Severity::High,
                    subj_addr(&target),
                    || {
                        format!(
                            "unsolicited override NA moves {target} from the active {old} to {mac}"
                        )
                    },
                    |a| {
                        a.address = Some(target);
                        a.mac = Some(mac);
                        a.old_mac = Some(old);
                    },
                );
            }
        }
    }

    fn on_ra(&mut self, cx: &Cx, icmp: &Icmpv6Repr, out: &mut Vec<Alert>) {
        let f = &cx.p.frame;
        let (src, eth_src) = (f.ip6.src, f.eth.src);
        let Message::RouterAdvert {
            router_lifetime,
            options,
            ..
        } = &icmp.message
        else {
            return;
        };
        let lifetime = *router_lifetime;
        let slla = options.source_ll_addr();
        self.check_mismatch(cx, out, slla, "source_ll_addr");
        self.bind(cx, out, src, slla.unwrap_or(eth_src), "router_advert");
        for o in options.iter() {
            if let NdpOption::PrefixInfo {
                prefix,
                valid_lifetime,
                preferred_lifetime,
                ..
            } = o
            {
                if preferred_lifetime > valid_lifetime {
                    let (pfx, v, p) = (*prefix, *valid_lifetime, *preferred_lifetime);
                    self.alert(
                        cx,
                        out,
                        AlertCode::RaPrefixLifetimeInvalid,
                        Severity::Medium,
                        subj_addr(&pfx.addr),
                        || format!("RA from {src} ({eth_src}): prefix {pfx} preferred lifetime {p} > valid lifetime {v}"),
                        |a| {
                            a.address = Some(src);
                            a.mac = Some(eth_src);
                            a.evidence.insert("prefix".into(), json!(pfx));
                            a.evidence.insert("valid_lifetime".into(), json!(v));
                            a.evidence.insert("preferred_lifetime".into(), json!(p));
                        },
                    );
                }
            }
        }
        let complete = !f.truncated && options.error.is_none();
        let Some(params) = RaParams::from_ra(&icmp.message, complete) else {
            return;
        };
        let key = (cx.ifx, src);
        let learning = self.is_learning_at(cx.t);
        let iface = self.iface_name(cx.ifx);
        let in_policy = self
            .policy
            .as_ref()
            .map(|p| p.router(iface.as_deref(), &eth_src, &src).is_some());
        let strict = self.policy.as_ref().is_some_and(|p| p.strict);
        let known = self.routers.get(&key).map(|r| (r.mac, r.params.clone()));
        match known {
            None => {
                let rogue = if strict {
                    in_policy != Some(true)
                } else {
                    !learning && self.baseline && in_policy != Some(true)
                };
                if rogue {
                    let why = if strict {
                        "not_in_policy"
                    } else {
                        "not_learned"
                    };
                    self.ra_rogue(cx, out, &params, lifetime, why);
                    return;
                }
                self.routers.insert(
                    key,
                    Router {
                        mac: eth_src,
                        params: (lifetime > 0).then(|| params.clone()),
                        last_seen: cx.t,
                    },
                );
                self.router_macs.insert((cx.ifx, eth_src), ());
            }
            Some((mac, _)) if mac != eth_src => {
                if lifetime == 0 {
                    self.alert(
                        cx,
                        out,
                        AlertCode::RaRouterKilled,
                        Severity::High,
                        subj_addr(&src),
                        || format!("RA with router lifetime 0 for router {src} ({mac}) sent from {eth_src}"),
                        |a| {
                            a.address = Some(src);
                            a.mac = Some(eth_src);
                            a.old_mac = Some(mac);
                        },
                    );
                } else {
                    self.ra_rogue(cx, out, &params, lifetime, "router_address_from_other_mac");
                }
                return;
            }
            Some((_, base)) => {
                if let Some(r) = self.routers.get_mut(&key) {
                    r.last_seen = cx.t;
                }
                // Lifetime 0 from the router itself: it is leaving; nothing to compare.
                if lifetime == 0 {
                    return;
                }
                match base {
                    None => {
                        if let Some(r) = self.routers.get_mut(&key) {
                            r.params = Some(params.clone());
                        }
                    }
                    Some(base) => {
                        let d = RaDiff::of(&base, &params);
                        if !d.is_empty() {
                            self.ra_changed(cx, out, &key, base, &params, d, learning);
                        }
                    }
                }
            }
        }
        if strict {
            self.ra_policy_contents(cx, out, &params);
        }
    }

    fn ra_rogue(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        params: &RaParams,
        lifetime: u16,
        why: &'static str,
    ) {
        let (src, eth_src) = (cx.p.frame.ip6.src, cx.p.frame.eth.src);
        let old = self.routers.get(&(cx.ifx, src)).map(|r| r.mac);
        self.alert(
            cx,
            out,
            AlertCode::RaRogue,
            Severity::High,
            subj_addr(&src),
            || match why {
                "router_address_from_other_mac" => {
                    format!("RA for known router {src} sent from another MAC {eth_src}")
                }
                "not_in_policy" => format!("RA from {src} ({eth_src}): router not in the policy"),
                _ => format!("RA from {src} ({eth_src}): router not in the learned baseline"),
            },
            |a| {
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.old_mac = old;
                a.evidence.insert("reason".into(), json!(why));
                a.evidence.insert("router_lifetime".into(), json!(lifetime));
                a.evidence.insert("ra".into(), json!(params));
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn ra_changed(
        &mut self,
        cx: &Cx,
        out: &mut Vec<Alert>,
        key: &Key,
        mut base: RaParams,
        new: &RaParams,
        d: RaDiff,
        learning: bool,
    ) {
        let only_prefixes = d.only_prefixes();
        if learning {
            // Still building the baseline: the newest advertisement is the baseline.
            if let Some(r) = self.routers.get_mut(key) {
                r.params = Some(new.clone());
            }
            return;
        }
        if only_prefixes {
            // Renumbering (RFC 4192): prefixes come and go on a router we trust. Take them
            // into the baseline; say so at `low` unless the policy allows every new one.
            base.prefixes = new.prefixes.clone();
            if let Some(r) = self.routers.get_mut(key) {
                r.params = Some(base);
            }
            let policy_ok = self
                .policy
                .as_ref()
                .is_some_and(|p| d.prefixes_added.iter().all(|x| p.prefix_allowed(&x.prefix)));
            if policy_ok {
                return;
            }
        }
        let sev = if only_prefixes {
            Severity::Low
        } else {
            Severity::Medium
        };
        let src = cx.p.frame.ip6.src;
        let eth_src = cx.p.frame.eth.src;
        let changed = d.changed();
        let ev = json!(d);
        self.alert(
            cx,
            out,
            AlertCode::RaParamsChanged,
            sev,
            subj_addr(&src),
            || {
                format!(
                    "RA from router {src} ({eth_src}) changed: {}",
                    changed.join(", ")
                )
            },
            |a| {
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.evidence.insert("changes".into(), ev);
            },
        );
    }

    /// Strict policy: every advertised prefix, RDNSS server, DNSSL domain and route must be
    /// listed.
    fn ra_policy_contents(&mut self, cx: &Cx, out: &mut Vec<Alert>, params: &RaParams) {
        let Some(p) = &self.policy else { return };
        let bad_prefixes: Vec<String> = params
            .prefixes
            .iter()
            .filter(|x| !p.prefix_allowed(&x.prefix))
            .map(|x| x.prefix.to_string())
            .collect();
        let bad_rdnss: Vec<String> = params
            .rdnss
            .iter()
            .filter(|x| !p.rdnss.contains(x))
            .map(|x| x.to_string())
            .collect();
        let bad_dnssl: Vec<String> = params
            .dnssl
            .iter()
            .filter(|x| !p.dnssl.contains(x))
            .cloned()
            .collect();
        let bad_routes: Vec<String> = params
            .routes
            .iter()
            .filter(|x| !p.route_allowed(&x.prefix))
            .map(|x| x.prefix.to_string())
            .collect();
        if bad_prefixes.is_empty()
            && bad_rdnss.is_empty()
            && bad_dnssl.is_empty()
            && bad_routes.is_empty()
        {
            return;
        }
        let src = cx.p.frame.ip6.src;
        let eth_src = cx.p.frame.eth.src;
        let what: Vec<String> = bad_prefixes
            .iter()
            .chain(&bad_rdnss)
            .chain(&bad_dnssl)
            .chain(&bad_routes)
            .cloned()
            .collect();
        self.alert(
            cx,
            out,
            AlertCode::RaParamsChanged,
            Severity::High,
            subj_addr(&src),
            || format!("RA from {src} ({eth_src}) advertises what the policy does not list: {}", what.join(", ")),
            |a| {
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.evidence.insert(
                    "not_in_policy".into(),
                    json!({"prefixes": bad_prefixes, "rdnss": bad_rdnss, "dnssl": bad_dnssl, "routes": bad_routes}),
                );
            },
        );
    }

    fn on_redirect(&mut self, cx: &Cx, out: &mut Vec<Alert>, target: Ipv6Addr, dest: Ipv6Addr) {
        let (src, eth_src) = (cx.p.frame.ip6.src, cx.p.frame.eth.src);
        let iface = self.iface_name(cx.ifx);
        let ok = match self.routers.get(&(cx.ifx, src)) {
            Some(r) => r.mac == eth_src,
            None => self
                .policy
                .as_ref()
                .is_some_and(|p| p.router(iface.as_deref(), &eth_src, &src).is_some()),
        };
        if ok {
            return;
        }
        self.alert(
            cx,
            out,
            AlertCode::RedirectFromNonRouter,
            Severity::High,
            subj_addr(&src),
            || format!("redirect from {src} ({eth_src}), not a known router: {dest} via {target}"),
            |a| {
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.evidence.insert("target".into(), json!(target));
                a.evidence.insert("destination".into(), json!(dest));
            },
        );
    }
}
