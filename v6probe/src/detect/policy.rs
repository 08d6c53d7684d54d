//! `--policy FILE.toml`: the legitimate routers, prefixes, DNS servers, routes and proxies.
//!
//! ```toml
//! strict = true                    # alert on any router or RA content not listed (default)
//! prefixes = ["2001:db8:1::/48"]   # an advertised prefix must lie inside one of these
//! rdnss = ["2001:db8:1::53"]
//! dnssl = ["example.net"]
//! routes = ["2001:db8:ff::/48"]    # route information options (inside one of these)
//!
//! [[routers]]
//! mac = "02:00:00:00:01:01"
//! link_local = "fe80::1"
//! iface = "eth0"                   # optional: any interface when absent
//!
//! [[proxies]]                      # answers NS for others (proxy NDP): its NAs are not
//! mac = "02:00:00:00:01:fe"        # bindings and not checked for Ethernet mismatch
//! ```
//! MACs are two hex digits per byte, separated by `:` or `-` (the one rule of the codec's
//! `EthernetAddress`). With `strict = false` the listed routers are trusted from the start and anything else is
//! judged by what was learned.
use std::{net::Ipv6Addr, path::Path};

use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};
use v6probe_common::wire::EthernetAddress;

use super::error::DetectError;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "yes")]
    pub strict: bool,
    #[serde(default)]
    pub routers: Vec<PolicyRouter>,
    #[serde(default)]
    pub prefixes: Vec<Ipv6Net>,
    #[serde(default)]
    pub rdnss: Vec<Ipv6Addr>,
    #[serde(default)]
    pub dnssl: Vec<String>,
    #[serde(default)]
    pub routes: Vec<Ipv6Net>,
    #[serde(default)]
    pub proxies: Vec<PolicyProxy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRouter {
    pub mac: EthernetAddress,
    pub link_local: Ipv6Addr,
    #[serde(default)]
    pub iface: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyProxy {
    pub mac: EthernetAddress,
}

impl Policy {
    /// Parses policy text; `file` names the source in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Self, DetectError> {
        let p: Policy = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            DetectError::Policy {
                file: file.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        for r in &p.routers {
            if !v6probe_common::wire::addr::is_link_local(&r.link_local) {
                return Err(DetectError::PolicyValue {
                    file: file.to_path_buf(),
                    message: format!(
                        "router {}: link_local {} is not in fe80::/10",
                        r.mac, r.link_local
                    ),
                });
            }
        }
        Ok(p)
    }

    pub fn load(path: &Path) -> Result<Self, DetectError> {
        let text = std::fs::read_to_string(path).map_err(|source| DetectError::Io {
            op: "reading the policy",
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn router(
        &self,
        iface: Option<&str>,
        mac: &EthernetAddress,
        ll: &Ipv6Addr,
    ) -> Option<&PolicyRouter> {
        self.routers.iter().find(|r| {
            r.mac == *mac
                && r.link_local == *ll
                && (r.iface.is_none() || r.iface.as_deref() == iface)
        })
    }

    pub fn is_router_mac(&self, mac: &EthernetAddress) -> bool {
        self.routers.iter().any(|r| r.mac == *mac)
    }

    pub fn is_router_ll(&self, ll: &Ipv6Addr) -> bool {
        self.routers.iter().any(|r| r.link_local == *ll)
    }

    pub fn is_proxy(&self, mac: &EthernetAddress) -> bool {
        self.proxies.iter().any(|p| p.mac == *mac)
    }

    pub fn prefix_allowed(&self, p: &Ipv6Net) -> bool {
        self.prefixes.iter().any(|a| a.contains(p))
    }

    pub fn route_allowed(&self, p: &Ipv6Net) -> bool {
        self.routes.iter().any(|a| a.contains(p))
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
