//! The `"kind":"alert"` record.
//!
//! ```text
//! {"kind":"alert","v":1,"code":"neighbor_mac_changed","severity":"medium","iface":"eth0",
//!  "ts":"2026-11-26T18:00:00.000000001Z","address":"fe80::1","mac":"02:..:02",
//!  "old_mac":"02:..:01","message":"fe80::1 moved from 02:..:01 to 02:..:02",
//!  "evidence":{"type":"neighbor_advert","eth_src":"..","ip6_src":"..",..},"suppressed":0}
//! ```
//! `address`, `mac`, `old_mac`, `router` are present when the alert is about them; `suppressed`
//! counts the repeats of the same (code, subject) that were not printed since the last one.
use std::{fmt::Write as _, net::Ipv6Addr};

use serde::Serialize;
use v6probe_common::wire::EthernetAddress;

/// Alert codes: stable snake_case strings (README, "Alert codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertCode {
    NeighborNew,
    NeighborMacChanged,
    NeighborFlipFlop,
    NeighborMacReused,
    NaOverrideWithoutTlla,
    NaMulticastTarget,
    NaRouterFlagFromHost,
    NaUnsolicitedOverride,
    NdpEthernetMismatch,
    DadDos,
    RaRogue,
    RaParamsChanged,
    RaRouterKilled,
    RaPrefixLifetimeInvalid,
    RedirectFromNonRouter,
    NdpHopLimitInvalid,
    NdpBogonSource,
    NdpWithExtensionHeaders,
    NdpFragmented,
    PtbMtuBelowMinimum,
    Flood,
    NeighborCacheExhaustion,
}

impl AlertCode {
    pub const COUNT: usize = 22;
    pub const ALL: [AlertCode; Self::COUNT] = [
        Self::NeighborNew,
        Self::NeighborMacChanged,
        Self::NeighborFlipFlop,
        Self::NeighborMacReused,
        Self::NaOverrideWithoutTlla,
        Self::NaMulticastTarget,
        Self::NaRouterFlagFromHost,
        Self::NaUnsolicitedOverride,
        Self::NdpEthernetMismatch,
        Self::DadDos,
        Self::RaRogue,
        Self::RaParamsChanged,
        Self::RaRouterKilled,
        Self::RaPrefixLifetimeInvalid,
        Self::RedirectFromNonRouter,
        Self::NdpHopLimitInvalid,
        Self::NdpBogonSource,
        Self::NdpWithExtensionHeaders,
        Self::NdpFragmented,
        Self::PtbMtuBelowMinimum,
        Self::Flood,
        Self::NeighborCacheExhaustion,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NeighborNew => "neighbor_new",
            Self::NeighborMacChanged => "neighbor_mac_changed",
            Self::NeighborFlipFlop => "neighbor_flip_flop",
            Self::NeighborMacReused => "neighbor_mac_reused",
            Self::NaOverrideWithoutTlla => "na_override_without_tlla",
            Self::NaMulticastTarget => "na_multicast_target",
            Self::NaRouterFlagFromHost => "na_router_flag_from_host",
            Self::NaUnsolicitedOverride => "na_unsolicited_override",
            Self::NdpEthernetMismatch => "ndp_ethernet_mismatch",
            Self::DadDos => "dad_dos",
            Self::RaRogue => "ra_rogue",
            Self::RaParamsChanged => "ra_params_changed",
            Self::RaRouterKilled => "ra_router_killed",
            Self::RaPrefixLifetimeInvalid => "ra_prefix_lifetime_invalid",
            Self::RedirectFromNonRouter => "redirect_from_non_router",
            Self::NdpHopLimitInvalid => "ndp_hop_limit_invalid",
            Self::NdpBogonSource => "ndp_bogon_source",
            Self::NdpWithExtensionHeaders => "ndp_with_extension_headers",
            Self::NdpFragmented => "ndp_fragmented",
            Self::PtbMtuBelowMinimum => "ptb_mtu_below_minimum",
            Self::Flood => "flood",
            Self::NeighborCacheExhaustion => "neighbor_cache_exhaustion",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Alerts that report a binding changing MAC: never suppressed.
    pub fn is_mac_change(self) -> bool {
        matches!(
            self,
            Self::NeighborMacChanged
                | Self::NeighborFlipFlop
                | Self::NeighborMacReused
                | Self::NaUnsolicitedOverride
        )
    }
}

impl std::fmt::Display for AlertCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for AlertCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub code: AlertCode,
    pub severity: Severity,
    pub iface: Option<String>,
    /// Outer VLAN id, when the frame was tagged (bindings are kept per interface and VLAN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub ts: String,
    /// The IPv6 address the alert is about (binding, DAD target, router, source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv6Addr>,
    /// The MAC now claiming it, or the offending source MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<EthernetAddress>,
    /// The MAC the binding had before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_mac: Option<EthernetAddress>,
    pub message: String,
    /// The packet fields behind the alert.
    pub evidence: serde_json::Map<String, serde_json::Value>,
    pub suppressed: u64,
    /// Kernel / capture timestamp of the packet, ns since the Unix epoch (not serialized: `ts`
    /// carries it).
    #[serde(skip)]
    pub ts_ns: u64,
}

impl Alert {
    /// One aligned, readable line.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} {:<8} ALERT {:<6} {:<26} {}",
            self.ts,
            self.iface.as_deref().unwrap_or("-"),
            self.severity.as_str(),
            self.code.code(),
            self.message
        );
        if self.suppressed > 0 {
            let _ = write!(s, " (+{} suppressed)", self.suppressed);
        }
        s
    }
}
