//! Opt-in countermeasures, for `monitor --respond`: the frames to send when the detector raises
//! an alert the policy allows an answer to (`respond = [...]` in the policy file).
//!
//! No I/O and no clock: [`Responder::decide`] takes one packet, the alerts the detector raised
//! on it and the packet's time (ns since the epoch), and returns [`Response`]s, each a frame
//! to send (built by [`crate::send::build`]) with the record printed as a `response` line. The
//! monitor sends them on the packet's interface and reports the outcome back
//! ([`Responder::report`]).
//!
//! - `ra_rogue` from a router nobody knows: a Router Advertisement with router lifetime 0 and
//!   hop limit, reachable time and retrans timer unspecified, sent from the rogue router's own
//!   MAC and link-local address (as NDPMon's `kill_illegitimate_router`): hosts remove it as a
//!   default router (RFC 4861 6.3.4), and with it the more-specific routes it advertised
//!   (its route information options, repeated with lifetime 0, RFC 4191 3.1). Addresses hosts
//!   formed in its prefixes stay until they expire: withdrawing a prefix could withdraw a
//!   legitimate router's prefix too.
//! - `ra_rogue` sent with a known router's link-local address from another MAC: a zero
//!   lifetime for that address would remove the legitimate router from every host, so the
//!   answer is the next one instead, restoring the router's binding (Router flag set).
//! - `na_unsolicited_override`, `neighbor_mac_changed` (not when the old MAC had gone quiet):
//!   an unsolicited Neighbor Advertisement to all nodes with Override set, the target's known
//!   MAC as target link-layer address, the target as source, and the Router flag when the
//!   target is a router (a host clears a cached router's flag on an NA without it, RFC 4861
//!   7.2.5, and drops its default route). Its Ethernet source is the monitor's own interface:
//!   the legitimate MAC there would move it, in every switch on the way, to the monitor's
//!   port.
//!
//! An alert opens an incident (per link: the rogue router's MAC and address, or the attacked
//! address with its known MAC); while it lasts ([`Config::incident_ttl`] after the last forged
//! packet), every forged packet of it is answered, not only the alerted ones (the detector
//! holds repeats back), at most once per [`Config::subject_interval`] per incident, and at most
//! [`Config::per_sec`] responses per second in all. Incidents are kept in bounded tables; what
//! is held back, skipped or evicted is counted ([`RespondStats`]).
pub mod limit;

use std::{
    collections::{BTreeMap, VecDeque},
    net::Ipv6Addr,
    path::Path,
    time::Duration,
};

use ipnet::Ipv6Net;
use serde::Serialize;
use thiserror::Error;

use crate::{
    detect::{
        alert::{Detail, RogueReason},
        table::BoundedMap,
        Alert, AlertCode, Policy, Severity,
    },
    output::rfc3339_nanos,
    packet::Packet,
    send::{self, BuildError, Flags, Kind, LinkAddr, RouteInfo, SendSpec},
    wire::{EthernetAddress, Frame, Icmpv6Repr, Message},
};

use limit::TokenBucket;

type Mac = EthernetAddress;

/// The alert codes a countermeasure exists for.
pub const ANSWERABLE: [AlertCode; 3] = [
    AlertCode::RaRogue,
    AlertCode::NaUnsolicitedOverride,
    AlertCode::NeighborMacChanged,
];

/// Links (interface, VLAN) answered on; past this, new links are not answered (counted).
const MAX_LINKS: usize = 256;
/// The 802.1Q TPID of the tag put on responses to tagged frames.
const TPID_8021Q: u16 = 0x8100;
/// Responses remembered to recognise them on egress ([`Responder::is_own`]), and for how long.
const RECENT: usize = 32;
const RECENT_NS: u64 = 2_000_000_000;

fn answerable_list() -> String {
    ANSWERABLE.map(AlertCode::code).join(", ")
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RespondError {
    #[error(
        "--respond needs a policy file (--policy FILE.toml) listing the alert codes to answer, \
         e.g. respond = [\"ra_rogue\"] (codes with a countermeasure: {})",
        answerable_list()
    )]
    NoPolicy,
    #[error(
        "--respond: {file}: the policy lists no alert code to answer; add e.g. \
         respond = [\"ra_rogue\"] (codes with a countermeasure: {})",
        answerable_list()
    )]
    NoCodes { file: String },
    #[error(
        "--respond: {file}: respond lists `{code}`, which has no countermeasure (codes with \
         one: {})",
        answerable_list()
    )]
    NotAnswerable { file: String, code: &'static str },
}

/// The bounds of the responder.
#[derive(Debug, Clone)]
pub struct Config {
    /// Responses per second in all (the burst is the same number).
    pub per_sec: u32,
    /// Least time between two responses of one incident.
    pub subject_interval: Duration,
    /// An incident ends this long after its last forged packet.
    pub incident_ttl: Duration,
    /// Incidents kept per kind (rogue routers; attacked bindings); the oldest go first.
    pub max_incidents: usize,
    /// Routers remembered (for the Router flag and the known-address check).
    pub max_routers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            per_sec: 10,
            subject_interval: Duration::from_secs(1),
            incident_ttl: Duration::from_secs(600),
            max_incidents: 1024,
            max_routers: 1024,
        }
    }
}

/// What a response does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A zero router lifetime RA from the rogue router's addresses.
    WithdrawRouter,
    /// An override NA with the known MAC.
    RestoreNeighbor,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WithdrawRouter => "withdraw_router",
            Self::RestoreNeighbor => "restore_neighbor",
        }
    }
}

/// One countermeasure: the `"kind":"response"` record, and the frame to send.
///
/// ```text
/// {"kind":"response","v":1,"ts":"..","iface":"eth0","action":"withdraw_router",
///  "code":"ra_rogue","address":"fe80::66","mac":"02:..:66","previous":0,"message":"..",
///  "sent":true,"len":70,"eth":{..},"ip6":{..},"icmp6":{..},"truncated":false}
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    /// Time of the packet answered.
    pub ts: String,
    pub iface: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub action: Action,
    /// The alert code of the incident answered.
    pub code: AlertCode,
    /// The rogue router's link-local address, or the attacked neighbour address.
    pub address: Ipv6Addr,
    /// The MAC answered: the rogue router's, or the one that took the binding.
    pub mac: Mac,
    /// The MAC the response puts back (`restore_neighbor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_mac: Option<Mac>,
    /// Responses sent for this incident before this one.
    pub previous: u64,
    pub message: String,
    /// Whether the frame left (set by the sender; `false` until then).
    pub sent: bool,
    /// Why it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Frame length in bytes.
    pub len: usize,
    /// The frame, decoded (the `packet` line's fields).
    #[serde(flatten)]
    pub frame: Frame,
    /// The bytes to send.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Response {
    /// One aligned, readable line.
    pub fn text(&self) -> String {
        let outcome = match (&self.error, self.sent) {
            (Some(e), _) => format!("not sent: {e}"),
            (None, true) => "sent".into(),
            (None, false) => "not sent".into(),
        };
        format!(
            "{} {:<8} RESPOND {:<17} {:<26} {} ({outcome})",
            self.ts,
            self.iface,
            self.action.as_str(),
            self.code.code(),
            self.message
        )
    }
}

/// Figures for the `stats` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RespondStats {
    /// Responses sent, by action.
    pub sent: BTreeMap<&'static str, u64>,
    /// Responses the sender could not send.
    pub failed: u64,
    /// Incidents opened by an alert (a repeat of an open one is not counted).
    pub incidents_opened: u64,
    /// Incidents open now.
    pub incidents: usize,
    /// Incidents evicted to stay within the bound.
    pub incidents_evicted: u64,
    /// Forged packets not answered: over the rate.
    pub rate_limited: u64,
    /// Forged packets not answered: the incident was answered within the subject interval.
    pub held_per_subject: u64,
    /// Alerts of an allowed code not answered, by reason (`stale_binding`, `no_interface`,
    /// `lifetime_zero`, `too_many_links`, `build`).
    pub skipped: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone)]
struct Incident {
    code: AlertCode,
    last_seen: u64,
    last_sent: Option<u64>,
    sent: u64,
}

impl Incident {
    fn new(code: AlertCode, t: u64) -> Self {
        Self {
            code,
            last_seen: t,
            last_sent: None,
            sent: 0,
        }
    }
}

#[derive(Debug, Clone)]
struct Rogue {
    inc: Incident,
    /// Route information prefixes it advertised.
    routes: Vec<Ipv6Net>,
}

#[derive(Debug, Clone)]
struct Restore {
    inc: Incident,
    legit: Mac,
    router: bool,
}

/// The decision logic. See the module documentation.
pub struct Responder {
    cfg: Config,
    allow: [bool; AlertCode::COUNT],
    /// The policy's routers: (interface or any, link-local, MAC).
    policy_routers: Vec<(Option<String>, Ipv6Addr, Mac)>,
    /// Interface name -> its MAC (the Ethernet source of restore NAs).
    iface_macs: Vec<(String, Mac)>,
    /// (interface, VLAN id or 0), by link id.
    links: Vec<(String, u16)>,
    /// Routers whose RAs raised no `ra_rogue`: (link, link-local) -> MAC.
    routers: BoundedMap<(u16, Ipv6Addr), Mac>,
    rogues: BoundedMap<(u16, Mac, Ipv6Addr), Rogue>,
    restores: BoundedMap<(u16, Ipv6Addr), Restore>,
    bucket: TokenBucket,
    /// The last responses: (time, Ethernet source, IPv6 source, message).
    recent: VecDeque<(u64, Mac, Ipv6Addr, Icmpv6Repr)>,
    ttl: u64,
    interval: u64,
    stats: RespondStats,
}

/// The allow list of `policy` as a table by code index.
fn allowed(policy: &Policy, file: &Path) -> Result<[bool; AlertCode::COUNT], RespondError> {
    let mut allow = [false; AlertCode::COUNT];
    for &c in &policy.respond {
        if !ANSWERABLE.contains(&c) {
            return Err(RespondError::NotAnswerable {
                file: file.display().to_string(),
                code: c.code(),
            });
        }
        allow[c.index()] = true;
    }
    Ok(allow)
}

/// The policy's routers: (interface or any, link-local, MAC).
fn policy_routers(policy: &Policy) -> Vec<(Option<String>, Ipv6Addr, Mac)> {
    policy
        .routers
        .iter()
        .map(|r| (r.iface.clone(), r.link_local, r.mac))
        .collect()
}

fn ns(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

impl Responder {
    /// The responder for `policy` (read from `file`, named in errors). Fails when the policy
    /// lists no code, or one without a countermeasure.
    pub fn new(cfg: Config, policy: &Policy, file: &Path) -> Result<Self, RespondError> {
        if policy.respond.is_empty() {
            return Err(RespondError::NoCodes {
                file: file.display().to_string(),
            });
        }
        let allow = allowed(policy, file)?;
        Ok(Self {
            allow,
            policy_routers: policy_routers(policy),
            iface_macs: Vec::new(),
            links: Vec::new(),
            routers: BoundedMap::new(cfg.max_routers),
            rogues: BoundedMap::new(cfg.max_incidents),
            restores: BoundedMap::new(cfg.max_incidents),
            bucket: TokenBucket::new(cfg.per_sec, cfg.per_sec),
            recent: VecDeque::with_capacity(RECENT),
            ttl: ns(cfg.incident_ttl),
            interval: ns(cfg.subject_interval),
            stats: RespondStats::default(),
            cfg,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// A policy read again (the monitor's SIGHUP): its allow list and routers from now on.
    /// An empty list answers nothing; a code without a countermeasure is an error, and the
    /// list in force stays. Open incidents of a code no longer listed are not answered.
    pub fn set_policy(&mut self, policy: &Policy, file: &Path) -> Result<(), RespondError> {
        self.allow = allowed(policy, file)?;
        self.policy_routers = policy_routers(policy);
        Ok(())
    }

    /// The MAC of an interface responses go out on.
    pub fn set_interface(&mut self, iface: &str, mac: [u8; 6]) {
        match self.iface_macs.iter_mut().find(|(n, _)| n == iface) {
            Some(e) => e.1 = EthernetAddress(mac),
            None => self
                .iface_macs
                .push((iface.to_owned(), EthernetAddress(mac))),
        }
    }

    /// Counts the sender's outcome of a response.
    pub fn report(&mut self, r: &Response) {
        if r.sent {
            *self.stats.sent.entry(r.action.as_str()).or_default() += 1;
        } else {
            self.stats.failed += 1;
        }
    }

    pub fn stats(&self) -> RespondStats {
        RespondStats {
            incidents: self.rogues.len() + self.restores.len(),
            incidents_evicted: self.rogues.evictions() + self.restores.evictions(),
            ..self.stats.clone()
        }
    }

    fn skip(&mut self, why: &'static str) {
        *self.stats.skipped.entry(why).or_default() += 1;
    }

    fn link(&mut self, iface: Option<&str>, vlan: u16) -> Option<u16> {
        let iface = iface?;
        if let Some(i) = self
            .links
            .iter()
            .position(|(n, v)| n == iface && *v == vlan)
        {
            return Some(i as u16);
        }
        if self.links.len() >= MAX_LINKS {
            return None;
        }
        self.links.push((iface.to_owned(), vlan));
        Some((self.links.len() - 1) as u16)
    }

    fn iface_mac(&self, link: u16) -> Option<Mac> {
        let (name, _) = self.links.get(link as usize)?;
        self.iface_macs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| *m)
    }

    /// The known MAC of router `ll` on `link`: the policy's, or the one whose RAs raised no
    /// `ra_rogue`.
    fn known_router(&self, link: u16, ll: &Ipv6Addr) -> Option<Mac> {
        let iface = self.links.get(link as usize).map(|l| l.0.as_str());
        self.policy_routers
            .iter()
            .find(|(i, a, _)| a == ll && (i.is_none() || i.as_deref() == iface))
            .map(|(_, _, m)| *m)
            .or_else(|| self.routers.get(&(link, *ll)).copied())
    }

    /// One packet, the alerts the detector raised on it, and its time `t` (ns since the
    /// epoch): the responses to send now.
    pub fn decide(&mut self, p: &Packet, alerts: &[Alert], t: u64) -> Vec<Response> {
        for a in alerts {
            if self.allow[a.code.index()] {
                self.open(a, t);
            }
        }
        let Some(icmp) = p.frame.icmp6.as_ref() else {
            return Vec::new();
        };
        let vid = if p.frame.eth.vlan_count > 0 {
            p.frame.eth.vlans[0].vid()
        } else {
            0
        };
        let Some(link) = self.link(p.seen.iface.as_deref(), vid) else {
            return Vec::new();
        };
        let (src, eth_src) = (p.frame.ip6.src, p.frame.eth.src);
        let mut out = Vec::new();
        if let Message::RouterAdvert {
            router_lifetime,
            options,
            ..
        } = &icmp.message
        {
            let rogue_alert = alerts.iter().any(|a| a.code == AlertCode::RaRogue);
            let key = (link, eth_src, src);
            // The first MAC a router is known at stays: a repeat the detector held back
            // carries no alert, and must not make a spoofer's MAC the router's.
            if !rogue_alert
                && !self.rogues.contains_key(&key)
                && !self.routers.contains_key(&(link, src))
                && !self.restores.contains_key(&(link, src))
                && !src.is_unspecified()
            {
                self.routers.insert((link, src), eth_src);
            }
            if *router_lifetime > 0 {
                out.extend(self.answer_rogue(key, t));
            }
            let claimed = options.source_ll_addr().unwrap_or(eth_src);
            out.extend(self.answer_claim(link, src, claimed, t));
        }
        match &icmp.message {
            Message::RouterSolicit { options, .. } | Message::NeighborSolicit { options, .. }
                if !src.is_unspecified() =>
            {
                if let Some(m) = options.source_ll_addr() {
                    out.extend(self.answer_claim(link, src, m, t));
                }
            }
            Message::NeighborAdvert {
                override_: true,
                target,
                options,
                ..
            } => {
                let claimed = options.target_ll_addr().unwrap_or(eth_src);
                out.extend(self.answer_claim(link, *target, claimed, t));
            }
            _ => {}
        }
        let ts = rfc3339_nanos(std::time::UNIX_EPOCH + Duration::from_nanos(t));
        for r in &mut out {
            r.ts.clone_from(&ts);
            if let Some(icmp) = &r.frame.icmp6 {
                if self.recent.len() == RECENT {
                    self.recent.pop_front();
                }
                self.recent
                    .push_back((t, r.frame.eth.src, r.frame.ip6.src, icmp.clone()));
            }
        }
        out
    }

    /// Whether `p` is one of this responder's own frames seen leaving (a TC egress hook sees
    /// them): the monitor does not judge those.
    pub fn is_own(&self, p: &Packet, t: u64) -> bool {
        if p.seen.dir != Some("egress") {
            return false;
        }
        let Some(icmp) = &p.frame.icmp6 else {
            return false;
        };
        self.recent.iter().any(|(at, mac, src, m)| {
            t.saturating_sub(*at) <= RECENT_NS
                && *mac == p.frame.eth.src
                && *src == p.frame.ip6.src
                && m == icmp
        })
    }

    /// Opens (or refreshes) the incident of an allowed alert.
    fn open(&mut self, a: &Alert, t: u64) {
        let (Some(address), Some(mac)) = (a.address, a.mac) else {
            return;
        };
        let Some(link) = self.link(a.iface.as_deref(), a.vlan.unwrap_or(0)) else {
            self.skip("too_many_links");
            return;
        };
        if self.iface_mac(link).is_none() {
            self.skip("no_interface");
            return;
        }
        match a.code {
            AlertCode::RaRogue => {
                let Detail::Rogue {
                    reason,
                    router_lifetime,
                    ra,
                } = &a.evidence.detail
                else {
                    return;
                };
                // A known router's address from another MAC: put the router's binding back;
                // a zero lifetime there would withdraw the real router.
                let known = match reason {
                    RogueReason::RouterAddressFromOtherMac => a.old_mac,
                    _ => None,
                }
                .or_else(|| self.known_router(link, &address))
                .filter(|m| *m != mac);
                if let Some(legit) = known {
                    self.open_restore(link, address, legit, a.code, t);
                    return;
                }
                if *router_lifetime == 0 {
                    self.skip("lifetime_zero");
                    return;
                }
                let key = (link, mac, address);
                match self.rogues.get_mut(&key) {
                    Some(r) if t.saturating_sub(r.inc.last_seen) <= self.ttl => {
                        r.inc.last_seen = t;
                        r.routes = ra.routes.iter().map(|r| r.prefix).collect();
                    }
                    _ => {
                        self.stats.incidents_opened += 1;
                        self.rogues.insert(
                            key,
                            Rogue {
                                inc: Incident::new(a.code, t),
                                routes: ra.routes.iter().map(|r| r.prefix).collect(),
                            },
                        );
                    }
                }
            }
            AlertCode::NaUnsolicitedOverride | AlertCode::NeighborMacChanged => {
                let Some(old) = a.old_mac else { return };
                // A change after the old MAC went quiet is a host that moved, not a spoof.
                if a.code == AlertCode::NeighborMacChanged && a.severity == Severity::Low {
                    self.skip("stale_binding");
                    return;
                }
                self.open_restore(link, address, old, a.code, t);
            }
            _ => {}
        }
    }

    fn open_restore(&mut self, link: u16, address: Ipv6Addr, legit: Mac, code: AlertCode, t: u64) {
        let router = self.known_router(link, &address).is_some();
        let key = (link, address);
        if let Some(r) = self.restores.get_mut(&key) {
            if t.saturating_sub(r.inc.last_seen) <= self.ttl {
                // An open incident keeps the MAC it restores: a later change (the attacker's
                // MAC replaced again, or the owner answering) does not make another MAC the
                // known one.
                r.inc.last_seen = t;
                r.router |= router;
                return;
            }
        }
        self.stats.incidents_opened += 1;
        self.restores.insert(
            key,
            Restore {
                inc: Incident::new(code, t),
                legit,
                router,
            },
        );
    }

    /// Whether an incident's response may go now: its own interval, then the global rate.
    fn due(&mut self, last_sent: Option<u64>, t: u64) -> bool {
        if last_sent.is_some_and(|l| t.saturating_sub(l) < self.interval) {
            self.stats.held_per_subject += 1;
            return false;
        }
        if !self.bucket.take(t) {
            self.stats.rate_limited += 1;
            return false;
        }
        true
    }

    /// An RA with a non-zero lifetime from `key` = (link, MAC, address).
    fn answer_rogue(&mut self, key: (u16, Mac, Ipv6Addr), t: u64) -> Option<Response> {
        let r = self.rogues.get(&key)?;
        if t.saturating_sub(r.inc.last_seen) > self.ttl {
            self.rogues.remove(&key);
            return None;
        }
        let (last_sent, code, previous) = (r.inc.last_sent, r.inc.code, r.inc.sent);
        if !self.allow[code.index()] {
            return None;
        }
        let routes = r.routes.clone();
        if let Some(r) = self.rogues.get_mut(&key) {
            r.inc.last_seen = t;
        }
        if !self.due(last_sent, t) {
            return None;
        }
        let (link, mac, address) = key;
        let iface_mac = self.iface_mac(link)?;
        let frame = match withdraw_frame(mac, address, &routes, iface_mac) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("building the zero-lifetime RA for {address}: {e}");
                self.skip("build");
                return None;
            }
        };
        if let Some(r) = self.rogues.get_mut(&key) {
            r.inc.last_sent = Some(t);
            r.inc.sent += 1;
        }
        Some(self.response(
            link,
            frame,
            Action::WithdrawRouter,
            code,
            address,
            mac,
            None,
            previous,
            format!("router lifetime 0 for rogue router {address} ({mac}), from its own addresses"),
        ))
    }

    /// A packet claiming `address` at `mac` on `link`: answered when an incident knows
    /// another MAC for it.
    fn answer_claim(&mut self, link: u16, address: Ipv6Addr, mac: Mac, t: u64) -> Option<Response> {
        let key = (link, address);
        let r = self.restores.get(&key)?;
        if r.legit == mac || mac.is_multicast() {
            return None;
        }
        if t.saturating_sub(r.inc.last_seen) > self.ttl {
            self.restores.remove(&key);
            return None;
        }
        let (last_sent, code, previous, legit, router) =
            (r.inc.last_sent, r.inc.code, r.inc.sent, r.legit, r.router);
        if !self.allow[code.index()] {
            return None;
        }
        if let Some(r) = self.restores.get_mut(&key) {
            r.inc.last_seen = t;
        }
        if !self.due(last_sent, t) {
            return None;
        }
        let iface_mac = self.iface_mac(link)?;
        let frame = match restore_frame(address, legit, router, iface_mac) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("building the NA restoring {address}: {e}");
                self.skip("build");
                return None;
            }
        };
        if let Some(r) = self.restores.get_mut(&key) {
            r.inc.last_sent = Some(t);
            r.inc.sent += 1;
        }
        Some(self.response(
            link,
            frame,
            Action::RestoreNeighbor,
            code,
            address,
            mac,
            Some(legit),
            previous,
            format!(
                "{address} taken by {mac}: override NA restoring {legit}{}",
                if router { " (router)" } else { "" }
            ),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn response(
        &self,
        link: u16,
        frame: Frame,
        action: Action,
        code: AlertCode,
        address: Ipv6Addr,
        mac: Mac,
        restored_mac: Option<Mac>,
        previous: u64,
        message: String,
    ) -> Response {
        let (iface, vid) = self.links[link as usize].clone();
        let frame = if vid == 0 {
            frame
        } else {
            frame.with_vlan(TPID_8021Q, vid)
        };
        let bytes = frame.to_bytes();
        let frame = Frame::parse(&bytes).unwrap_or(frame);
        Response {
            ts: String::new(),
            iface,
            vlan: (vid != 0).then_some(vid),
            action,
            code,
            address,
            mac,
            restored_mac,
            previous,
            message,
            sent: false,
            error: None,
            len: bytes.len(),
            frame,
            bytes,
        }
    }
}

/// The zero router lifetime RA from the rogue router's MAC and link-local address, with its
/// route information options at lifetime 0.
pub fn withdraw_frame(
    rogue: Mac,
    ll: Ipv6Addr,
    routes: &[Ipv6Net],
    iface_mac: Mac,
) -> Result<Frame, BuildError> {
    let routes = routes
        .iter()
        .map(|p| format!("{p},lifetime=0").parse::<RouteInfo>())
        .collect::<Result<Vec<_>, _>>()?;
    let spec = SendSpec {
        src: Some(ll),
        src_mac: Some(rogue),
        router_lifetime: Some(0),
        // Unspecified: hosts keep their own values (RFC 4861 6.3.4).
        cur_hop_limit: Some(0),
        reachable_time: Some(0),
        retrans_timer: Some(0),
        routes,
        ..Default::default()
    };
    send::build(Kind::Ra, &spec, iface_mac.0, None)
}

/// The unsolicited override NA from `iface_mac` putting `address` back at `legit`.
pub fn restore_frame(
    address: Ipv6Addr,
    legit: Mac,
    router: bool,
    iface_mac: Mac,
) -> Result<Frame, BuildError> {
    let flags: Flags = if router { "RO" } else { "O" }.parse()?;
    let spec = SendSpec {
        src: Some(address),
        target: Some(address),
        flags: Some(flags),
        tlla: Some(LinkAddr::Mac(legit)),
        ..Default::default()
    };
    send::build(Kind::Na, &spec, iface_mac.0, None)
}

#[cfg(test)]
mod tests;
