//! Linux backend: rtnetlink through the `rtnetlink` / `netlink-packet-route` crates.
//!
//! `add` sends RTM_NEWROUTE with NLM_F_CREATE | NLM_F_EXCL, so an existing route (same prefix,
//! table and metric) is refused by the kernel and nothing changes. `del` sends RTM_DELROUTE with
//! only the fields given (protocol left unspecified, so it matches routes of any origin).
use std::net::Ipv6Addr;

use futures::TryStreamExt;
use ipnet::Ipv6Net;
use netlink_packet_route::{
    route::{
        RouteAddress, RouteAttribute, RouteMessage, RoutePreference, RouteProtocol, RouteType,
    },
    AddressFamily,
};
use rtnetlink::RouteMessageBuilder;

use super::{nl, Op, RouteEntry, RouteError, RoutePref, RouteSpec};

/// The RTM_NEWROUTE / RTM_DELROUTE message for a spec (pure; `oif` is the resolved `--dev`).
pub fn message(spec: &RouteSpec, op: Op, oif: Option<u32>) -> RouteMessage {
    let mut b = RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(spec.prefix.network(), spec.prefix.prefix_len());
    if let Some(i) = oif {
        b = b.output_interface(i);
    }
    if let Some(via) = spec.via {
        b = b.gateway(via);
    }
    if let Some(m) = spec.metric {
        b = b.priority(m);
    }
    if let Some(t) = spec.table {
        b = b.table_id(t);
    }
    if let Some(e) = spec.expires {
        b = b.expires(e);
    }
    if op == Op::Del {
        b = b.protocol(RouteProtocol::Unspec);
    }
    let mut msg = b.build();
    if let Some(p) = spec.pref {
        msg.attributes.push(RouteAttribute::Preference(match p {
            RoutePref::Low => RoutePreference::Low,
            RoutePref::Medium => RoutePreference::Medium,
            RoutePref::High => RoutePreference::High,
        }));
    }
    msg
}

fn map_err(op: Op, spec: &RouteSpec, e: rtnetlink::Error) -> RouteError {
    let io = match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io(),
        other => return RouteError::List(other.to_string()),
    };
    match (op, io.raw_os_error()) {
        (Op::Add, Some(libc::EEXIST)) => RouteError::Exists {
            prefix: spec.prefix,
        },
        (Op::Del, Some(libc::ESRCH)) => RouteError::NotFound {
            prefix: spec.prefix,
        },
        (_, Some(libc::ENODEV)) => RouteError::NoSuchInterface {
            name: spec.dev.clone().unwrap_or_default(),
        },
        (Op::Add, Some(libc::ENETUNREACH | libc::EHOSTUNREACH)) if spec.via.is_some() => {
            RouteError::GatewayUnreachable {
                via: spec.via.unwrap_or(Ipv6Addr::UNSPECIFIED),
            }
        }
        _ => RouteError::Kernel {
            op,
            prefix: spec.prefix,
            source: io,
        },
    }
}

fn run(spec: &RouteSpec, op: Op) -> Result<(), RouteError> {
    let oif = spec.dev.as_deref().map(super::ifindex).transpose()?;
    let msg = message(spec, op, oif);
    tracing::debug!(?op, ?msg, "route request");
    let rt = nl::runtime()?;
    rt.block_on(async {
        let handle = nl::connect()?;
        let r = match op {
            Op::Add => handle.route().add(msg).execute().await,
            Op::Del => handle.route().del(msg).execute().await,
        };
        r.map_err(|e| map_err(op, spec, e))
    })
}

pub fn add(spec: &RouteSpec) -> Result<(), RouteError> {
    run(spec, Op::Add)
}

pub fn del(spec: &RouteSpec) -> Result<(), RouteError> {
    run(spec, Op::Del)
}

/// Every IPv6 route of every table (one entry per next hop of a multipath route).
pub fn list() -> Result<Vec<RouteEntry>, RouteError> {
    let rt = nl::runtime()?;
    rt.block_on(async {
        let handle = nl::connect()?;
        let links = nl::links(&handle)
            .await
            .map_err(|e| RouteError::List(e.to_string()))?;
        let name = |i: u32| {
            links
                .get(&i)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("if{i}"))
        };
        let mut out = Vec::new();
        let req = RouteMessageBuilder::<Ipv6Addr>::new().build();
        let mut s = handle.route().get(req).execute();
        while let Some(msg) = s
            .try_next()
            .await
            .map_err(|e| RouteError::List(e.to_string()))?
        {
            if msg.header.address_family != AddressFamily::Inet6 {
                continue;
            }
            out.extend(entries(&msg, &name));
        }
        Ok(out)
    })
}

/// The entries of one RTM_NEWROUTE message (pure apart from `name`).
pub fn entries(msg: &RouteMessage, name: &dyn Fn(u32) -> String) -> Vec<RouteEntry> {
    let mut dst = Ipv6Addr::UNSPECIFIED;
    let mut via = None;
    let mut oif = None;
    let mut metric = None;
    let mut table = u32::from(msg.header.table);
    let mut pref = None;
    let mut expires = None;
    let mut hops = Vec::new();
    for a in &msg.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet6(d)) => dst = *d,
            RouteAttribute::Gateway(RouteAddress::Inet6(g)) => via = Some(*g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = Some(*p),
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Preference(p) => {
                pref = match p {
                    RoutePreference::Low => Some(RoutePref::Low),
                    RoutePreference::Medium => Some(RoutePref::Medium),
                    RoutePreference::High => Some(RoutePref::High),
                    _ => None,
                }
            }
            // rta_expires is in clock ticks of USER_HZ (100 per second), as `ip` reads it.
            RouteAttribute::CacheInfo(c) if c.expires != 0 => expires = Some(c.expires / 100),
            RouteAttribute::MultiPath(nh) => {
                for h in nh {
                    let g = h.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(RouteAddress::Inet6(g)) => Some(*g),
                        _ => None,
                    });
                    hops.push((Some(h.interface_index), g));
                }
            }
            _ => {}
        }
    }
    if hops.is_empty() {
        hops.push((oif, via));
    }
    let prefix = Ipv6Net::new(dst, msg.header.destination_prefix_length)
        .unwrap_or_else(|_| Ipv6Net::new_assert(dst, 128));
    let protocol = match msg.header.protocol {
        RouteProtocol::Kernel => "kernel".to_string(),
        RouteProtocol::Boot => "boot".to_string(),
        RouteProtocol::Static => "static".to_string(),
        RouteProtocol::Ra => "ra".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    let kind = match msg.header.kind {
        RouteType::Unicast => "unicast".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    hops.into_iter()
        .map(|(oif, via)| RouteEntry {
            prefix,
            dev: oif.map(name),
            via,
            metric,
            table,
            protocol: protocol.clone(),
            kind: kind.clone(),
            pref,
            expires,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_carries_every_option() {
        let spec = RouteSpec {
            prefix: "fd00:1::/64".parse().unwrap(),
            dev: Some("eth0".into()),
            via: Some("fe80::1".parse().unwrap()),
            metric: Some(300),
            table: Some(1000),
            pref: Some(RoutePref::High),
            expires: Some(60),
        };
        let m = message(&spec, Op::Add, Some(7));
        assert_eq!(m.header.destination_prefix_length, 64);
        assert_eq!(m.header.protocol, RouteProtocol::Static);
        let has = |want: &RouteAttribute| m.attributes.contains(want);
        assert!(has(&RouteAttribute::Destination(RouteAddress::Inet6(
            "fd00:1::".parse().unwrap()
        ))));
        assert!(has(&RouteAttribute::Oif(7)));
        assert!(has(&RouteAttribute::Gateway(RouteAddress::Inet6(
            "fe80::1".parse().unwrap()
        ))));
        assert!(has(&RouteAttribute::Priority(300)));
        assert!(has(&RouteAttribute::Table(1000)));
        assert!(has(&RouteAttribute::Expires(60)));
        assert!(has(&RouteAttribute::Preference(RoutePreference::High)));
        let d = message(&spec, Op::Del, Some(7));
        assert_eq!(d.header.protocol, RouteProtocol::Unspec);
        // Round trip through our own parser.
        let e = entries(&m, &|i| format!("if{i}"));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].dev.as_deref(), Some("if7"));
        assert_eq!(e[0].table, 1000);
        assert_eq!(e[0].pref, Some(RoutePref::High));
    }
}
