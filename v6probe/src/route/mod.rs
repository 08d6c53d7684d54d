//! IPv6 route injection and listing: rtnetlink on Linux, the routing socket (`PF_ROUTE`) on
//! FreeBSD and macOS. The request is a plain [`RouteSpec`], checked by [`RouteSpec::validate`]
//! before any backend sees it.
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use serde::Serialize;

#[cfg(any(target_os = "freebsd", target_os = "macos"))]
pub mod bsd;
pub mod bsd_msg;
#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
pub(crate) mod nl;

/// RFC 4191 route preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutePref {
    Low,
    Medium,
    High,
}

impl RoutePref {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Linux's main routing table.
pub const TABLE_MAIN: u32 = 254;

/// A route to add or delete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    pub prefix: Ipv6Net,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Ipv6Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pref: Option<RoutePref>,
    /// Lifetime in seconds (Linux: RTA_EXPIRES; BSD: rmx_expire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
}

/// What a route operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Add,
    Del,
}

impl RouteSpec {
    /// Checks the request without touching the system: host bits, a link-local gateway
    /// without a device, and (for `add`) that a device or gateway is given.
    pub fn validate(&self, op: Op) -> Result<(), RouteError> {
        if self.prefix.trunc() != self.prefix {
            return Err(RouteError::HostBitsSet {
                prefix: self.prefix,
                network: self.prefix.trunc(),
            });
        }
        if let Some(via) = self.via {
            if is_link_local(via) && self.dev.is_none() {
                return Err(RouteError::LinkLocalGatewayWithoutDev { via });
            }
            if via.is_multicast() || via.is_unspecified() {
                return Err(RouteError::BadGateway { via });
            }
        }
        if op == Op::Add && self.dev.is_none() && self.via.is_none() {
            return Err(RouteError::NoDevNoGateway {
                prefix: self.prefix,
            });
        }
        if self.table == Some(0) {
            return Err(RouteError::BadTable { table: 0 });
        }
        Ok(())
    }
}

/// fe80::/10 (the codec's test, by value).
pub(crate) fn is_link_local(a: Ipv6Addr) -> bool {
    v6probe_common::wire::addr::is_link_local(&a)
}

/// A route as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteEntry {
    pub prefix: Ipv6Net,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Ipv6Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    pub table: u32,
    /// kernel, boot, static, ra, ... or the protocol number.
    pub protocol: String,
    /// unicast, local, unreachable, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pref: Option<RoutePref>,
    /// Seconds left before the route expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
}

/// Which routes `list` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only destinations inside fc00::/7.
    pub ula_only: bool,
    /// Only this table (default: main).
    pub table: Option<u32>,
}

impl ListFilter {
    pub fn matches(&self, e: &RouteEntry) -> bool {
        let ula = "fc00::/7".parse::<Ipv6Net>().map(|u| u.contains(&e.prefix));
        (!self.ula_only || ula.unwrap_or(false)) && e.table == self.table.unwrap_or(TABLE_MAIN)
    }
}

/// Errors of route operations; each names the route, interface or gateway involved.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("{prefix} has host bits set (the network is {network})")]
    HostBitsSet { prefix: Ipv6Net, network: Ipv6Net },
    #[error("gateway {via} is link-local: give the interface with --dev")]
    LinkLocalGatewayWithoutDev { via: Ipv6Addr },
    #[error("{via} cannot be a gateway (multicast or unspecified)")]
    BadGateway { via: Ipv6Addr },
    #[error("route to {prefix} needs --dev or --via")]
    NoDevNoGateway { prefix: Ipv6Net },
    #[error("table {table} is not a routing table (1 to 4294967295)")]
    BadTable { table: u32 },
    #[error("interface `{name}` not found")]
    NoSuchInterface { name: String },
    #[error("a route to {prefix} already exists (same table and metric); nothing changed")]
    Exists { prefix: Ipv6Net },
    #[error("no route to {prefix} matches; nothing changed")]
    NotFound { prefix: Ipv6Net },
    #[error("gateway {via} is not reachable on-link; nothing changed")]
    GatewayUnreachable { via: Ipv6Addr },
    #[error("kernel refused to {op:?} route {prefix}: {source}")]
    Kernel {
        op: Op,
        prefix: Ipv6Net,
        #[source]
        source: std::io::Error,
    },
    #[error("listing routes: {0}")]
    List(String),
    #[error("routing socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("{option} is not supported here: {why}")]
    UnsupportedOption {
        option: &'static str,
        why: &'static str,
    },
    #[error("route changes are not supported on this system")]
    Unsupported,
}

/// Adds a route (after [`RouteSpec::validate`]).
pub fn add(spec: &RouteSpec) -> Result<(), RouteError> {
    spec.validate(Op::Add)?;
    backend::add(spec)
}

/// Deletes a route matching the given fields.
pub fn del(spec: &RouteSpec) -> Result<(), RouteError> {
    spec.validate(Op::Del)?;
    backend::del(spec)
}

/// Lists IPv6 routes.
pub fn list(filter: ListFilter) -> Result<Vec<RouteEntry>, RouteError> {
    Ok(backend::list()?
        .into_iter()
        .filter(|e| filter.matches(e))
        .collect())
}

/// Checks that the interface exists (for `--dry-run`): its index.
pub fn ifindex(name: &str) -> Result<u32, RouteError> {
    let c = std::ffi::CString::new(name).map_err(|_| RouteError::NoSuchInterface {
        name: name.to_string(),
    })?;
    // SAFETY: c is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(RouteError::NoSuchInterface {
            name: name.to_string(),
        })
    } else {
        Ok(idx)
    }
}

#[cfg(target_os = "linux")]
use linux as backend;

#[cfg(any(target_os = "freebsd", target_os = "macos"))]
use bsd as backend;

#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "macos")))]
mod backend {
    use super::{RouteEntry, RouteError, RouteSpec};
    pub fn add(_: &RouteSpec) -> Result<(), RouteError> {
        Err(RouteError::Unsupported)
    }
    pub fn del(_: &RouteSpec) -> Result<(), RouteError> {
        Err(RouteError::Unsupported)
    }
    pub fn list() -> Result<Vec<RouteEntry>, RouteError> {
        Err(RouteError::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(p: &str) -> RouteSpec {
        RouteSpec {
            prefix: p.parse().unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn validation() {
        let mut s = spec("fd00:1::/64");
        assert!(matches!(
            s.validate(Op::Add),
            Err(RouteError::NoDevNoGateway { .. })
        ));
        assert!(s.validate(Op::Del).is_ok());
        s.via = Some("fe80::1".parse().unwrap());
        assert!(matches!(
            s.validate(Op::Add),
            Err(RouteError::LinkLocalGatewayWithoutDev { .. })
        ));
        s.dev = Some("eth0".into());
        assert!(s.validate(Op::Add).is_ok());
        s.via = Some("ff02::1".parse().unwrap());
        assert!(matches!(
            s.validate(Op::Add),
            Err(RouteError::BadGateway { .. })
        ));
        let mut h = spec("fd00:1::1/64");
        h.dev = Some("eth0".into());
        assert!(matches!(
            h.validate(Op::Add),
            Err(RouteError::HostBitsSet { .. })
        ));
        let mut t = spec("fd00:1::/64");
        t.dev = Some("eth0".into());
        t.table = Some(0);
        assert!(matches!(
            t.validate(Op::Add),
            Err(RouteError::BadTable { table: 0 })
        ));
    }

    #[test]
    fn list_filter() {
        let e = RouteEntry {
            prefix: "fd00:1::/64".parse().unwrap(),
            dev: None,
            via: None,
            metric: None,
            table: TABLE_MAIN,
            protocol: "static".into(),
            kind: "unicast".into(),
            pref: None,
            expires: None,
        };
        assert!(ListFilter {
            ula_only: true,
            table: None
        }
        .matches(&e));
        assert!(!ListFilter {
            ula_only: false,
            table: Some(100)
        }
        .matches(&e));
        let g = RouteEntry {
            prefix: "2001:db8::/32".parse().unwrap(),
            ..e
        };
        assert!(!ListFilter {
            ula_only: true,
            table: None
        }
        .matches(&g));
        assert!(ListFilter::default().matches(&g));
    }
}
