//! NS scanner: who answers for these addresses, how fast, and does anyone else answer too.
//!
//! - [`targets`]: target arguments (addresses, prefixes, ranges, `@FILE`) and their expansion.
//! - [`sched`]: the sans-I/O probe scheduler (rate, retries, timeout, probes in flight).
//! - [`matcher`]: replies to per-target results and verdicts (sans-I/O).
//! - this module: the I/O driver. Probes are neighbor solicitations with a source link-layer
//!   address option (built by [`crate::send`]), sent to the solicited-node multicast group of each target (or, with
//!   `unicast`, to the target itself) through a [`PacketSocket`]; a second packet socket on the
//!   same interface captures every frame, so the driver sees each NA with its Ethernet source,
//!   and the kernel's copy of each probe leaving. RTT is kernel receive time of the NA minus
//!   the kernel's timestamp of the probe's outgoing copy (the user-space time just before
//!   `send` where the copy was missed), both from SO_TIMESTAMPNS.
#[cfg(target_os = "linux")]
mod driver;
pub mod matcher;
pub mod sched;
pub mod sim;
pub mod targets;

use std::{collections::BTreeMap, io, net::Ipv6Addr};

use serde::Serialize;
use thiserror::Error;

#[cfg(target_os = "linux")]
pub use driver::{discover_multicast, link_local, scan, Discovered, ScanConfig};
pub use matcher::{Advert, ReplyGroup, ScanResult, MAX_REPLY_GROUPS, MAX_RESULT_LINE_BYTES};
pub use sched::{Progress, SchedConfig};
pub use targets::{expand, parse_args, parse_target, TargetSpec, DEFAULT_MAX_TARGETS};

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("invalid target `{target}`: {why}")]
    BadTarget { target: String, why: String },
    #[error("target file `{path}`: {source}")]
    TargetFile {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("target file `{path}` line {line}: {source}")]
    TargetFileLine {
        path: String,
        line: usize,
        #[source]
        source: Box<ScanError>,
    },
    #[error(
        "target `{target}` brings the scan to {count} addresses, over the limit of {max}: \
         raise it with --max-targets"
    )]
    TooManyTargets {
        target: String,
        count: u128,
        max: u128,
    },
    #[error("building the probe for {target}: {why}")]
    Probe { target: Ipv6Addr, why: String },
    #[error("interface `{iface}` has no IPv6 link-local address to send from (give --source)")]
    NoLinkLocal { iface: String },
    #[error("reading the addresses of `{iface}`: {source}")]
    Addresses {
        iface: String,
        #[source]
        source: io::Error,
    },
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    NetIo(#[from] crate::netio::NetIoError),
}

/// The final line (`"kind":"scan_summary"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScanSummary {
    pub interface: String,
    pub targets: usize,
    pub alive: usize,
    pub probes_sent: u64,
    /// From the first probe to the end of the scan (including the wait for late replies).
    pub duration_ms: f64,
    /// Send rate of the first pass: first probes (not retries) per second, from the first
    /// probe to the last first probe.
    pub probes_per_sec: f64,
    /// Neighbor advertisements for addresses that were not targets.
    pub unrelated_nas: u64,
    /// Probes timed by the kernel's timestamp of their outgoing copy (the rest by the
    /// user-space time just before `send`).
    pub kernel_send_timestamps: u64,
    /// Frames the capture socket's buffer dropped (replies may be missing if not 0).
    pub capture_drops: u64,
    /// How many targets got each verdict.
    pub verdicts: BTreeMap<&'static str, usize>,
    /// `--multicast`: echo replies from sources beyond the target limit, not scanned (present
    /// when not 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub multicast_over_limit: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Results in target order and the summary.
#[derive(Clone, Debug)]
pub struct ScanReport {
    pub results: Vec<ScanResult>,
    pub summary: ScanSummary,
}

impl ScanReport {
    pub fn any_alive(&self) -> bool {
        self.summary.alive > 0
    }
}

/// Counts verdicts over results (for the summary).
pub fn count_verdicts(results: &[ScanResult]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for r in results {
        for v in &r.verdicts {
            *m.entry(*v).or_insert(0) += 1;
        }
    }
    m
}

/// Parses `ADDR` values into targets, e.g. from the neighbour table.
pub fn addrs_to_specs(addrs: impl IntoIterator<Item = Ipv6Addr>) -> Vec<TargetSpec> {
    addrs.into_iter().map(TargetSpec::Addr).collect()
}
