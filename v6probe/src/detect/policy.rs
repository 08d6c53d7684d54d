//! `--policy FILE.toml`: the legitimate routers, prefixes, DNS servers, routes and proxies.
//!
//! ```toml
//! strict = true                    # alert on any router or RA content not listed (default)
//! prefixes = ["2001:db8:1::/48"]   # an advertised prefix must lie inside one of these
//! rdnss = ["2001:db8:1::53"]
//! dnssl = ["example.net"]
//! routes = ["2001:db8:ff::/48"]    # route information options (inside one of these)
//! unknown_vendor = false           # true: a low alert for MACs of no registered vendor
//! respond = ["ra_rogue"]           # alert codes `monitor --respond` may answer (default none)
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

use super::{alert::AlertCode, error::DetectError};

/// Largest policy file read (a policy lists routers, prefixes and servers: kilobytes).
pub const MAX_POLICY_BYTES: u64 = 16 << 20;

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
    /// Alert (`unknown_vendor`, low) on a universally administered MAC whose OUI is in no
    /// IEEE registry (needs Debian's `ieee-data`).
    #[serde(default)]
    pub unknown_vendor: bool,
    /// The alert codes `monitor --respond` may answer with countermeasures (none unless
    /// listed; which codes have a countermeasure is checked when `--respond` starts).
    #[serde(default, deserialize_with = "alert_codes")]
    pub respond: Vec<AlertCode>,
}

/// A list of alert codes by their snake_case names; an unknown name is an error at its place
/// in the file.
fn alert_codes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<AlertCode>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            AlertCode::ALL
                .into_iter()
                .find(|c| c.code() == s)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown alert code `{s}`")))
        })
        .collect()
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
        let p: Policy = toml::from_str(text).map_err(|e| match e.span() {
            Some(s) => {
                let (line, column) = line_col(text, s.start);
                DetectError::Policy {
                    file: file.to_path_buf(),
                    line,
                    column,
                    message: e.message().to_string(),
                }
            }
            // The TOML parser gives some errors (its key depth limit) no position.
            None => DetectError::PolicyValue {
                file: file.to_path_buf(),
                message: format!("{} (the TOML parser gives no position)", e.message()),
            },
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

    /// Reads and parses a policy file: a regular file of at most [`MAX_POLICY_BYTES`], UTF-8
    /// (an invalid byte is reported at its line and column).
    pub fn load(path: &Path) -> Result<Self, DetectError> {
        let io = |error| DetectError::Io {
            op: "reading the policy",
            path: path.to_path_buf(),
            error,
        };
        let bytes = crate::files::read_regular(path, MAX_POLICY_BYTES)
            .map_err(io)?
            .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
        Self::parse_bytes(&bytes, path)
    }

    /// [`Policy::parse`] of bytes, which must be UTF-8 (an invalid byte is reported at its
    /// line and column); `file` names the source in errors.
    pub fn parse_bytes(bytes: &[u8], file: &Path) -> Result<Self, DetectError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            // The valid prefix is text: count lines and columns in it.
            let before = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = line_col(before, before.len());
            DetectError::Policy {
                file: file.to_path_buf(),
                line,
                column,
                message: format!("invalid UTF-8 (byte {:#04x})", bytes[e.valid_up_to()]),
            }
        })?;
        Self::parse(text, file)
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
#[cfg(test)]
mod load_tests {
    use super::*;
    use v6probe_lab::TempDir;

    #[test]
    fn hostile_policy_files_are_errors_with_line_and_column() {
        let d = TempDir::new("policy-load").unwrap();
        for (name, bytes, what) in [
            (
                "utf8.toml",
                b"strict = true\nrdnss = [\"\xff\xfe\"]\n".to_vec(),
                "utf8.toml:2:11: invalid UTF-8 (byte 0xff)",
            ),
            (
                "deep.toml",
                format!("prefixes = {}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
                "deep.toml:1:",
            ),
            (
                "inline.toml",
                format!("x = {}1{}", "{a=".repeat(100_000), "}".repeat(100_000)).into_bytes(),
                "inline.toml:1:",
            ),
            (
                "big.toml",
                format!("strict = 1{}", "0".repeat(5000)).into_bytes(),
                "big.toml:1:10:",
            ),
            (
                "type.toml",
                b"strict = \"yes\"\n".to_vec(),
                "type.toml:1:10:",
            ),
            (
                "ctl.toml",
                b"dnssl = [\"a\x1b[2J\"]\n".to_vec(),
                "ctl.toml:1:",
            ),
        ] {
            let p = d.file(name, &bytes).unwrap();
            let e = Policy::load(&p).unwrap_err().to_string();
            assert!(e.contains(what), "{name}: {e}");
        }
        // The TOML parser's key depth limit carries no position: the message says so.
        let p = d
            .file(
                "keys.toml",
                format!("[{}b]\n", "a.".repeat(100_000)).as_bytes(),
            )
            .unwrap();
        let e = Policy::load(&p).unwrap_err().to_string();
        assert!(e.contains("keys.toml: recursion limit"), "{e}");
        // Longer than the bound: refused before reading (a sparse file).
        let p = d.path().join("huge.toml");
        std::fs::File::create(&p)
            .unwrap()
            .set_len(MAX_POLICY_BYTES + 1)
            .unwrap();
        let e = Policy::load(&p).unwrap_err().to_string();
        assert!(e.contains("longer than the 16777216 bytes read"), "{e}");
        let e = Policy::load(&d.path().join("missing.toml")).unwrap_err();
        assert!(e.to_string().contains("missing.toml"), "{e}");
    }
}
