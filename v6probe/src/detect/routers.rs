//! Router rules: rogue routers (not in the policy, not learned, or a known router's address
//! from another MAC), routers killed with a zero lifetime from another MAC, changed RA
//! parameters against each router's baseline, RA contents a strict policy does not list,
//! prefix lifetimes, and redirects from anything but a known router.
use std::net::Ipv6Addr;

use v6probe_common::wire::{Icmpv6Repr, Icmpv6Type, Message, NdpOption, Prefix};

use super::{
    alert::{AlertCode, Detail, LearnedFrom, LlOption, PolicyMisses, RogueReason, Severity},
    baseline::{RaDiff, RaParams},
    config::Config,
    neighbors::Neighbors,
    packet_checks::ll_mismatch,
    sink::{Cx, Key, Mac, Sink, Subject, Target},
    state::{Listed, RouterRef, RouterState, SavedLinks},
    table::BoundedMap,
};

#[derive(Debug, Clone)]
struct Router {
    mac: Mac,
    params: Option<RaParams>,
    last_seen: u64,
}

/// RFC 4862 5.5.3 e: two hours, in seconds.
const TWO_HOURS: u32 = 7200;

/// Known routers per (link, link-local address), with their RA baseline.
pub struct Routers {
    routers: BoundedMap<Key, Router>,
    /// Prefix changes of known routers taken into their baseline without an alert.
    prefix_changes: u64,
}

impl Routers {
    pub fn new(cfg: &Config) -> Self {
        Self {
            routers: BoundedMap::new(cfg.max_routers),
            prefix_changes: 0,
        }
    }

    /// Prefix changes (renumbering) taken into a router's baseline without an alert.
    pub fn prefix_changes(&self) -> u64 {
        self.prefix_changes
    }

    pub fn len(&self) -> usize {
        self.routers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.routers.evictions()
    }

    /// A router advertisement from a non-bogon source. The source is a neighbour too:
    /// `neighbors` binds it, and learns the MAC of a new router. Without `neighbors` the RA is
    /// untrusted (fragmented, or captured in part): judged against what is known, with the
    /// same alerts, but it changes nothing (no binding, router or baseline).
    pub fn on_ra(
        &mut self,
        cx: &Cx,
        sink: &mut Sink,
        mut neighbors: Option<&mut Neighbors>,
        icmp: &Icmpv6Repr,
    ) {
        let commit = neighbors.is_some();
        let (src, eth_src) = (cx.src(), cx.eth_src());
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
        ll_mismatch(cx, sink, slla, LlOption::Source);
        if let Some(n) = neighbors.as_deref_mut() {
            n.bind(
                cx,
                sink,
                src,
                slla.unwrap_or(eth_src),
                LearnedFrom::RouterAdvert,
            );
        }
        for o in options.iter() {
            if let NdpOption::PrefixInfo {
                prefix,
                valid_lifetime,
                preferred_lifetime,
                ..
            } = o
            {
                prefix_lifetimes(cx, sink, *prefix, *valid_lifetime, *preferred_lifetime);
            }
        }
        let complete = !cx.p.frame.truncated && options.error.is_none();
        let Some(params) = RaParams::from_ra(&icmp.message, complete) else {
            return;
        };
        let key = (cx.link, src);
        let in_policy = cx
            .policy
            .map(|p| p.router(cx.iface, &eth_src, &src).is_some());
        let strict = cx.policy.is_some_and(|p| p.strict);
        let known = self.routers.get(&key).map(|r| (r.mac, r.params.clone()));
        match known {
            None => {
                let rogue = if strict {
                    in_policy != Some(true)
                } else {
                    !cx.learning && cx.baseline && in_policy != Some(true)
                };
                if rogue {
                    let why = if strict {
                        RogueReason::NotInPolicy
                    } else {
                        RogueReason::NotLearned
                    };
                    self.rogue(cx, sink, &params, lifetime, why);
                    return;
                }
                // The policy check first (storing the router raises nothing), so the
                // parameters move into the table instead of being copied.
                if strict {
                    policy_contents(cx, sink, &params);
                }
                if let Some(n) = neighbors {
                    self.routers.insert(
                        key,
                        Router {
                            mac: eth_src,
                            params: (lifetime > 0).then_some(params),
                            last_seen: cx.t,
                        },
                    );
                    n.add_router_mac(cx.link, eth_src);
                }
                return;
            }
            Some((mac, _)) if mac != eth_src => {
                if lifetime == 0 {
                    sink.raise(
                        cx,
                        AlertCode::RaRouterKilled,
                        Severity::High,
                        cx.sent(),
                        |a| {
                            a.message = format!("RA with router lifetime 0 for router {src} ({mac}) sent from {eth_src}");
                            a.address = Some(src);
                            a.mac = Some(eth_src);
                            a.old_mac = Some(mac);
                        },
                    );
                } else {
                    self.rogue(
                        cx,
                        sink,
                        &params,
                        lifetime,
                        RogueReason::RouterAddressFromOtherMac,
                    );
                }
                return;
            }
            Some((_, base)) => {
                if commit {
                    if let Some(r) = self.routers.get_mut(&key) {
                        r.last_seen = cx.t;
                    }
                }
                // Lifetime 0 from the router itself: it is leaving; nothing to compare.
                if lifetime == 0 {
                    return;
                }
                match base {
                    None if commit => {
                        if let Some(r) = self.routers.get_mut(&key) {
                            r.params = Some(params.clone());
                        }
                    }
                    None => {}
                    Some(base) => {
                        let d = RaDiff::of(&base, &params);
                        if !d.is_empty() {
                            self.changed(cx, sink, base, &params, d, commit);
                        }
                    }
                }
            }
        }
        if strict {
            policy_contents(cx, sink, &params);
        }
    }

    fn rogue(&self, cx: &Cx, sink: &mut Sink, params: &RaParams, lifetime: u16, why: RogueReason) {
        let (src, eth_src) = (cx.src(), cx.eth_src());
        let old = self.routers.get(&(cx.link, src)).map(|r| r.mac);
        sink.raise(cx, AlertCode::RaRogue, Severity::High, cx.sent(), |a| {
            a.message = match why {
                RogueReason::RouterAddressFromOtherMac => {
                    format!("RA for known router {src} sent from another MAC {eth_src}")
                }
                RogueReason::NotInPolicy => {
                    format!("RA from {src} ({eth_src}): router not in the policy")
                }
                RogueReason::NotLearned => {
                    format!("RA from {src} ({eth_src}): router not in the learned baseline")
                }
            };
            a.address = Some(src);
            a.mac = Some(eth_src);
            a.old_mac = old;
            a.evidence.detail = Detail::Rogue {
                reason: why,
                router_lifetime: lifetime,
                ra: Box::new(params.clone()),
            };
        });
    }

    /// A known router's RA differs from its baseline by `d`; `commit`: the RA may update the
    /// baseline (it is trusted).
    fn changed(
        &mut self,
        cx: &Cx,
        sink: &mut Sink,
        mut base: RaParams,
        new: &RaParams,
        d: RaDiff,
        commit: bool,
    ) {
        let key = (cx.link, cx.src());
        let only_prefixes = d.only_prefixes();
        if cx.learning {
            // Still building the baseline: the newest advertisement is the baseline.
            if commit {
                if let Some(r) = self.routers.get_mut(&key) {
                    r.params = Some(new.clone());
                }
            }
            return;
        }
        if only_prefixes {
            // Renumbering (RFC 4192): prefixes come and go on a router we trust, from its own
            // MAC and address. The baseline follows (from a trusted message). Learned only (no
            // policy) there is nothing to judge the new prefix against, and an operator's
            // renumbering is routine: no alert, a count in the stats (`ra_prefix_changes`). A
            // policy lists the prefixes that may appear: one it does not cover is a `low` line,
            // once per change.
            if commit {
                base.prefixes = new.prefixes.clone();
                if let Some(r) = self.routers.get_mut(&key) {
                    r.params = Some(base);
                }
            }
            let allowed = cx
                .policy
                .is_none_or(|p| d.prefixes_added.iter().all(|x| p.prefix_allowed(&x.prefix)));
            if allowed {
                if commit {
                    self.prefix_changes += 1;
                }
                tracing::debug!(
                    router = %cx.src(),
                    changed = ?d.changed(),
                    "prefix change taken into the router's baseline"
                );
                return;
            }
        }
        let sev = if only_prefixes {
            Severity::Low
        } else {
            Severity::Medium
        };
        let (src, eth_src) = (cx.src(), cx.eth_src());
        sink.raise(cx, AlertCode::RaParamsChanged, sev, cx.sent(), |a| {
            a.message = format!(
                "RA from router {src} ({eth_src}) changed: {}",
                d.changed().join(", ")
            );
            a.address = Some(src);
            a.mac = Some(eth_src);
            a.evidence.detail = Detail::RaChanged {
                changes: Box::new(d),
            };
        });
    }

    /// A redirect: only a known router (address and MAC, learned or in the policy) may send
    /// one.
    pub fn on_redirect(&self, cx: &Cx, sink: &mut Sink, target: Ipv6Addr, destination: Ipv6Addr) {
        let (src, eth_src) = (cx.src(), cx.eth_src());
        let ok = match self.routers.get(&(cx.link, src)) {
            Some(r) => r.mac == eth_src,
            None => cx
                .policy
                .is_some_and(|p| p.router(cx.iface, &eth_src, &src).is_some()),
        };
        if ok {
            return;
        }
        sink.raise(
            cx,
            AlertCode::RedirectFromNonRouter,
            Severity::High,
            cx.sent(),
            |a| {
                a.message = format!(
                    "redirect from {src} ({eth_src}), not a known router: {destination} via {target}"
                );
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.evidence.detail = Detail::Redirect {
                    target,
                    destination,
                };
            },
        );
    }

    /// The routers, for the state file; `link` names a link index.
    pub fn snapshot(&self, link: impl Fn(u16) -> (String, Option<u16>)) -> Vec<RouterState> {
        self.routers
            .iter()
            .map(|((l, ll), r)| {
                let (iface, vlan) = link(*l);
                RouterState {
                    iface,
                    vlan,
                    link_local: *ll,
                    mac: r.mac,
                    params: r.params.clone(),
                }
            })
            .collect()
    }

    /// The routers for [`super::state::StateView`]: sorted references into the table.
    pub fn saved<'a>(&'a self, links: &'a SavedLinks<'a>) -> impl serde::Serialize + 'a {
        let mut routers: Vec<_> = self.routers.iter().collect();
        routers.sort_unstable_by_key(|((l, ll), _)| (links.rank(*l), *ll));
        Listed::new(routers, |((l, ll), r): &(&Key, &'a Router)| {
            let (iface, vlan) = links.name(*l);
            RouterRef {
                iface,
                vlan,
                link_local: *ll,
                mac: r.mac,
                params: r.params.as_ref(),
            }
        })
    }

    /// Restores a saved router on link `link`.
    pub fn restore(&mut self, link: u16, r: &RouterState) {
        self.routers.insert(
            (link, r.link_local),
            Router {
                mac: r.mac,
                params: r.params.clone(),
                last_seen: 0,
            },
        );
    }
}

/// A prefix information option's lifetimes: `ra_prefix_lifetime_invalid` when the preferred
/// lifetime exceeds the valid one, `ra_prefix_valid_lifetime_short` under two hours.
fn prefix_lifetimes(cx: &Cx, sink: &mut Sink, prefix: Prefix, valid: u32, preferred: u32) {
    let (src, eth_src) = (cx.src(), cx.eth_src());
    let mut raise = |code, sev, what: String| {
        sink.raise(
            cx,
            code,
            sev,
            Subject::sent(
                Icmpv6Type::RouterAdvert,
                eth_src,
                Target::Prefix(prefix.addr, prefix.len),
            ),
            |a| {
                a.message = format!("RA from {src} ({eth_src}): prefix {prefix} {what}");
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.evidence.detail = Detail::PrefixLifetime {
                    prefix,
                    valid_lifetime: valid,
                    preferred_lifetime: preferred,
                };
            },
        );
    };
    if preferred > valid {
        raise(
            AlertCode::RaPrefixLifetimeInvalid,
            Severity::Medium,
            format!("preferred lifetime {preferred} > valid lifetime {valid}"),
        );
    }
    // RFC 4862 5.5.3 e: hosts keep an existing address's valid lifetime when an RA offers less
    // than two hours (the "two-hour rule" against killing addresses with short lifetimes);
    // under two hours is a misconfiguration or a probe.
    if valid < TWO_HOURS {
        raise(
            AlertCode::RaPrefixValidLifetimeShort,
            Severity::Low,
            format!("valid lifetime {valid} s is under two hours (RFC 4862 5.5.3 e)"),
        );
    }
}

/// Strict policy: every advertised prefix, RDNSS server, DNSSL domain and route must be
/// listed.
fn policy_contents(cx: &Cx, sink: &mut Sink, params: &RaParams) {
    let Some(p) = cx.policy else { return };
    let miss = PolicyMisses {
        prefixes: params
            .prefixes
            .iter()
            .filter(|x| !p.prefix_allowed(&x.prefix))
            .map(|x| x.prefix)
            .collect(),
        rdnss: params
            .rdnss
            .iter()
            .filter(|x| !p.rdnss.contains(x))
            .copied()
            .collect(),
        dnssl: params
            .dnssl
            .iter()
            .filter(|x| !p.dnssl.contains(x))
            .cloned()
            .collect(),
        routes: params
            .routes
            .iter()
            .filter(|x| !p.route_allowed(&x.prefix))
            .map(|x| x.prefix)
            .collect(),
    };
    if miss.is_empty() {
        return;
    }
    let (src, eth_src) = (cx.src(), cx.eth_src());
    sink.raise(
        cx,
        AlertCode::RaParamsChanged,
        Severity::High,
        cx.sent(),
        |a| {
            a.message = format!(
                "RA from {src} ({eth_src}) advertises what the policy does not list: {}",
                miss.all().join(", ")
            );
            a.address = Some(src);
            a.mac = Some(eth_src);
            a.evidence.detail = Detail::NotInPolicy {
                not_in_policy: miss,
            };
        },
    );
}
