//! A router's advertised parameters (what must stay stable between its RAs) and the typed
//! difference between two of them. Used by the router rules and by the state file.
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};
use v6probe_common::wire::{Message, NdpOption};

/// The values of a router's advertisements that must stay stable (lifetimes excluded: they
/// may count down, and a lifetime of 0 from the router itself is a legitimate goodbye).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaParams {
    pub cur_hop_limit: u8,
    pub managed: bool,
    pub other: bool,
    pub home_agent: bool,
    /// Default router preference bits (RFC 4191): 0 medium, 1 high, 3 low.
    pub preference: u8,
    pub proxy: bool,
    pub reachable_time: u32,
    pub retrans_timer: u32,
    /// False when the record was cut short: options are then not compared.
    pub options_complete: bool,
    pub mtu: Option<u32>,
    pub prefixes: Vec<PrefixParams>,
    pub rdnss: Vec<Ipv6Addr>,
    pub dnssl: Vec<String>,
    pub routes: Vec<RouteParams>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PrefixParams {
    pub prefix: Ipv6Net,
    pub on_link: bool,
    pub autonomous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RouteParams {
    pub prefix: Ipv6Net,
    pub preference: u8,
}

fn net(p: &v6probe_common::wire::Prefix) -> Option<Ipv6Net> {
    Ipv6Net::new(p.addr, p.len).ok().map(|n| n.trunc())
}

impl RaParams {
    /// The parameters of a router advertisement (`None` for any other message);
    /// `complete` is false when the message was cut short or its options did not parse.
    pub fn from_ra(m: &Message, complete: bool) -> Option<Self> {
        let Message::RouterAdvert {
            cur_hop_limit,
            managed,
            other,
            home_agent,
            preference,
            proxy,
            reachable_time,
            retrans_timer,
            options,
            ..
        } = m
        else {
            return None;
        };
        // Sized from one pass over the options: no growth per prefix (an RA carries dozens).
        let (mut n_prefixes, mut n_routes) = (0, 0);
        for o in options.iter() {
            match o {
                NdpOption::PrefixInfo { .. } => n_prefixes += 1,
                NdpOption::RouteInfo { .. } => n_routes += 1,
                _ => {}
            }
        }
        let mut p = RaParams {
            cur_hop_limit: *cur_hop_limit,
            managed: *managed,
            other: *other,
            home_agent: *home_agent,
            preference: preference.bits(),
            proxy: *proxy,
            reachable_time: *reachable_time,
            retrans_timer: *retrans_timer,
            options_complete: complete,
            mtu: None,
            prefixes: Vec::with_capacity(n_prefixes),
            rdnss: Vec::new(),
            dnssl: Vec::new(),
            routes: Vec::with_capacity(n_routes),
        };
        for o in options.iter() {
            match o {
                NdpOption::Mtu { mtu } => p.mtu = Some(*mtu),
                NdpOption::PrefixInfo {
                    prefix,
                    on_link,
                    autonomous,
                    ..
                } => {
                    if let Some(prefix) = net(prefix) {
                        p.prefixes.push(PrefixParams {
                            prefix,
                            on_link: *on_link,
                            autonomous: *autonomous,
                        });
                    }
                }
                NdpOption::Rdnss { lifetime, servers } if *lifetime > 0 => {
                    p.rdnss.extend(servers.iter().copied())
                }
                NdpOption::Dnssl {
                    lifetime, domains, ..
                } if *lifetime > 0 => p.dnssl.extend(domains.iter().cloned()),
                NdpOption::RouteInfo {
                    prefix,
                    preference,
                    route_lifetime,
                    ..
                } if *route_lifetime > 0 => {
                    if let Some(prefix) = net(prefix) {
                        p.routes.push(RouteParams {
                            prefix,
                            preference: preference.bits(),
                        });
                    }
                }
                _ => {}
            }
        }
        // Unstable sorts: elements that compare equal are equal in every field (derived Ord),
        // and dedup keeps one of them.
        p.prefixes.sort_unstable();
        p.prefixes.dedup();
        p.rdnss.sort_unstable();
        p.rdnss.dedup();
        p.dnssl.sort_unstable();
        p.dnssl.dedup();
        p.routes.sort_unstable();
        p.routes.dedup();
        Some(p)
    }
}

/// A value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub old: T,
    pub new: T,
}

/// What differs between a baseline and a new RA: one entry per changed header value or
/// option list, and the prefixes that came and went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RaDiff {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cur_hop_limit: Option<Change<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<Change<bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<Change<bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_agent: Option<Change<bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<Change<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Change<bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable_time: Option<Change<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrans_timer: Option<Change<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<Change<Option<u32>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdnss: Option<Change<Vec<Ipv6Addr>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnssl: Option<Change<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes: Option<Change<Vec<RouteParams>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefixes_added: Vec<PrefixParams>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefixes_removed: Vec<PrefixParams>,
}

fn change<T: PartialEq + Clone>(old: &T, new: &T) -> Option<Change<T>> {
    (old != new).then(|| Change {
        old: old.clone(),
        new: new.clone(),
    })
}

impl RaDiff {
    /// The header values always; MTU, RDNSS, DNSSL, routes and prefixes in full when both
    /// advertisements were captured whole. When only the new one was cut short, what it
    /// shows is compared (an MTU, a server, domain, route or prefix the baseline lacks), not
    /// what it may have lost.
    pub fn of(base: &RaParams, new: &RaParams) -> Self {
        let mut d = RaDiff {
            cur_hop_limit: change(&base.cur_hop_limit, &new.cur_hop_limit),
            managed: change(&base.managed, &new.managed),
            other: change(&base.other, &new.other),
            home_agent: change(&base.home_agent, &new.home_agent),
            preference: change(&base.preference, &new.preference),
            proxy: change(&base.proxy, &new.proxy),
            reachable_time: change(&base.reachable_time, &new.reachable_time),
            retrans_timer: change(&base.retrans_timer, &new.retrans_timer),
            ..Default::default()
        };
        if base.options_complete && new.options_complete {
            d.mtu = change(&base.mtu, &new.mtu);
            d.rdnss = change(&base.rdnss, &new.rdnss);
            d.dnssl = change(&base.dnssl, &new.dnssl);
            d.routes = change(&base.routes, &new.routes);
            d.prefixes_added = new
                .prefixes
                .iter()
                .filter(|p| !base.prefixes.contains(p))
                .cloned()
                .collect();
            d.prefixes_removed = base
                .prefixes
                .iter()
                .filter(|p| !new.prefixes.contains(p))
                .cloned()
                .collect();
        } else if base.options_complete {
            // The new advertisement was cut short: what it shows is compared, what it may have
            // lost is not. An option value the baseline lacks is a change; a missing one may
            // sit past the cut.
            fn shows_new<T: PartialEq + Clone>(old: &[T], new: &[T]) -> bool {
                new.iter().any(|x| !old.contains(x))
            }
            if new.mtu.is_some() {
                d.mtu = change(&base.mtu, &new.mtu);
            }
            if shows_new(&base.rdnss, &new.rdnss) {
                d.rdnss = change(&base.rdnss, &new.rdnss);
            }
            if shows_new(&base.dnssl, &new.dnssl) {
                d.dnssl = change(&base.dnssl, &new.dnssl);
            }
            if shows_new(&base.routes, &new.routes) {
                d.routes = change(&base.routes, &new.routes);
            }
            d.prefixes_added = new
                .prefixes
                .iter()
                .filter(|p| !base.prefixes.contains(p))
                .cloned()
                .collect();
        }
        d
    }

    /// The names of what changed besides prefixes, in a fixed order.
    fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("cur_hop_limit", self.cur_hop_limit.is_some()),
            ("managed", self.managed.is_some()),
            ("other", self.other.is_some()),
            ("home_agent", self.home_agent.is_some()),
            ("preference", self.preference.is_some()),
            ("proxy", self.proxy.is_some()),
            ("reachable_time", self.reachable_time.is_some()),
            ("retrans_timer", self.retrans_timer.is_some()),
            ("mtu", self.mtu.is_some()),
            ("rdnss", self.rdnss.is_some()),
            ("dnssl", self.dnssl.is_some()),
            ("routes", self.routes.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
    }

    /// True when only prefixes came or went (renumbering).
    pub fn only_prefixes(&self) -> bool {
        self.fields().next().is_none()
    }

    pub fn is_empty(&self) -> bool {
        self.only_prefixes() && self.prefixes_added.is_empty() && self.prefixes_removed.is_empty()
    }

    /// Every changed item's name, header values first, then `prefixes_added`,
    /// `prefixes_removed`.
    pub fn changed(&self) -> Vec<&'static str> {
        self.fields()
            .chain((!self.prefixes_added.is_empty()).then_some("prefixes_added"))
            .chain((!self.prefixes_removed.is_empty()).then_some("prefixes_removed"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RaParams {
        RaParams {
            cur_hop_limit: 64,
            managed: false,
            other: false,
            home_agent: false,
            preference: 0,
            proxy: false,
            reachable_time: 0,
            retrans_timer: 0,
            options_complete: true,
            mtu: Some(1500),
            prefixes: vec![PrefixParams {
                prefix: "2001:db8:1::/64".parse().unwrap(),
                on_link: true,
                autonomous: true,
            }],
            rdnss: vec!["2001:db8:1::53".parse().unwrap()],
            dnssl: vec![],
            routes: vec![],
        }
    }

    #[test]
    fn diff_names_changes_in_order_and_keeps_prefixes_apart() {
        let base = params();
        assert!(RaDiff::of(&base, &base).is_empty());
        let mut new = params();
        new.rdnss = vec!["2001:db8:66::53".parse().unwrap()];
        new.cur_hop_limit = 1;
        new.prefixes[0].prefix = "2001:db8:2::/64".parse().unwrap();
        let d = RaDiff::of(&base, &new);
        assert_eq!(
            d.changed(),
            [
                "cur_hop_limit",
                "rdnss",
                "prefixes_added",
                "prefixes_removed"
            ]
        );
        assert!(!d.only_prefixes());
        assert_eq!(d.cur_hop_limit, Some(Change { old: 64, new: 1 }));
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["cur_hop_limit"], serde_json::json!({"old": 64, "new": 1}));
        assert!(v.get("managed").is_none());
    }

    #[test]
    fn a_cut_advertisement_is_compared_as_far_as_it_goes() {
        let base = params();
        let mut new = params();
        new.options_complete = false;
        new.rdnss.clear();
        new.prefixes.clear();
        new.mtu = None;
        // What may sit past the cut is not a change.
        assert!(RaDiff::of(&base, &new).is_empty());
        new.managed = true;
        assert_eq!(RaDiff::of(&base, &new).changed(), ["managed"]);
        // What the captured part shows and the baseline lacks is.
        new.managed = false;
        new.rdnss = vec!["2001:db8:66::53".parse().unwrap()];
        new.mtu = Some(1280);
        new.prefixes = vec![PrefixParams {
            prefix: "2001:db8:66::/64".parse().unwrap(),
            on_link: true,
            autonomous: true,
        }];
        let d = RaDiff::of(&base, &new);
        assert_eq!(d.changed(), ["mtu", "rdnss", "prefixes_added"]);
        assert!(d.prefixes_removed.is_empty());
        // A baseline that was itself cut short compares no options.
        let mut cut_base = params();
        cut_base.options_complete = false;
        assert!(RaDiff::of(&cut_base, &new).is_empty());
    }
}
