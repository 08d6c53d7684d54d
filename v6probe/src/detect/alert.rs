//! The `"kind":"alert"` record.
//!
//! ```text
//! {"kind":"alert","v":1,"code":"neighbor_mac_changed","severity":"medium","iface":"eth0",
//!  "ts":"2026-11-26T18:00:00.000000001Z","address":"fe80::1","mac":"02:..:02",
//!  "old_mac":"02:..:01","message":"fe80::1 moved from 02:..:01 to 02:..:02",
//!  "evidence":{"type":"neighbor_advert","eth_src":"..","ip6_src":"..",..},"suppressed":0}
//! ```
//! `address`, `mac`, `vendor`, `old_mac` are present when the alert is about them;
//! `suppressed` counts the alerts of the same (code, subject) that were not printed since the
//! last one.
use std::{fmt::Write as _, net::Ipv6Addr};

use ipnet::Ipv6Net;
use serde::Serialize;
use v6probe_common::wire::{EthernetAddress, FragmentInfo, Prefix};

use super::baseline::{RaDiff, RaParams};
use crate::{packet::Reassembly, reasm::Overlap};

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
    NeighborMacStorm,
    NeighborMacLlaMismatch,
    RaPrefixValidLifetimeShort,
    UnknownVendor,
    FragmentIncompleteHeaderChain,
    FragmentOverlap,
    NdpHeaderChainTooLong,
    NdpChecksumInvalid,
    NdpTruncated,
}

impl AlertCode {
    pub const COUNT: usize = 31;
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
        Self::NeighborMacStorm,
        Self::NeighborMacLlaMismatch,
        Self::RaPrefixValidLifetimeShort,
        Self::UnknownVendor,
        Self::FragmentIncompleteHeaderChain,
        Self::FragmentOverlap,
        Self::NdpHeaderChainTooLong,
        Self::NdpChecksumInvalid,
        Self::NdpTruncated,
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
            Self::NeighborMacStorm => "neighbor_mac_storm",
            Self::NeighborMacLlaMismatch => "neighbor_mac_lla_mismatch",
            Self::RaPrefixValidLifetimeShort => "ra_prefix_valid_lifetime_short",
            Self::UnknownVendor => "unknown_vendor",
            Self::FragmentIncompleteHeaderChain => "fragment_incomplete_header_chain",
            Self::FragmentOverlap => "fragment_overlap",
            Self::NdpHeaderChainTooLong => "ndp_header_chain_too_long",
            Self::NdpChecksumInvalid => "ndp_checksum_invalid",
            Self::NdpTruncated => "ndp_truncated",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Alerts that report a binding changing MAC: never held back by the gate (the
    /// neighbour rules bound them per address, see `neighbor_mac_storm`).
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
    /// The organisation the IEEE registry assigned `mac`'s prefix to, when the system has
    /// the registry (Debian's `ieee-data`) and `mac` is a universally administered address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The MAC the binding had before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_mac: Option<EthernetAddress>,
    pub message: String,
    /// The packet fields behind the alert.
    #[serde(serialize_with = "sorted")]
    pub evidence: Evidence,
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

/// The evidence object's keys come out sorted, packet fields and the rule's fields mixed, as
/// the schema has always printed them; converting to a JSON value here, at the output edge,
/// does that (its maps are ordered by key).
fn sorted<S: serde::Serializer>(e: &Evidence, s: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(e)
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

/// What an alert is based on: the packet's addresses, and the rule's own findings.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// `None` for alerts that are not about one packet (the kernel flood guard's counts).
    #[serde(flatten)]
    pub packet: Option<PacketEvidence>,
    #[serde(flatten)]
    pub detail: Detail,
}

/// The packet behind an alert.
#[derive(Debug, Clone, Serialize)]
pub struct PacketEvidence {
    /// The message type's name (`neighbor_advert`, ...; `fragment` for a non-first fragment).
    #[serde(rename = "type")]
    pub msg: &'static str,
    pub eth_src: EthernetAddress,
    pub eth_dst: EthernetAddress,
    pub ip6_src: Ipv6Addr,
    pub ip6_dst: Ipv6Addr,
    pub hop_limit: u8,
    /// `ingress` / `egress`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<&'static str>,
}

/// What a rule found, beside the packet's fields.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// Nothing beyond the packet and the alert's address and MACs.
    None,
    Flood {
        class: MsgClass,
        /// The flooding MAC, for a per-source flood.
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<EthernetAddress>,
        rate: u32,
        limit: u32,
    },
    /// The kernel's flood guard counted frames of a class instead of recording them
    /// ([`crate::detect::Engine::kernel_flood`]).
    KernelFlood {
        /// The guard class (`rs`, `ra`, `ns`, `na`, `redirect`, `errors`, `other`).
        guard_class: &'static str,
        /// Frames counted, not recorded, since the last report.
        kernel_suppressed: u64,
        window_s: f64,
        /// The guard's rate per class (records per second per CPU).
        guard_rate: u32,
        /// The source MACs the guard counted most frames from, in that window.
        sources: Vec<FloodSourceCount>,
    },
    ExtensionHeaders {
        ext: Vec<&'static str>,
    },
    Fragment {
        frag: FragmentInfo,
    },
    /// A packet the monitor put back together from fragments.
    Reassembled {
        reassembled: Reassembly,
    },
    /// Fragments that overlap (RFC 5722): the datagram is dropped whole.
    FragmentOverlap {
        frag_id: u32,
        overlap: Overlap,
    },
    /// A first fragment without the header chain through the upper-layer header (RFC 7112).
    IncompleteChain {
        frag: FragmentInfo,
        /// The headers the first fragment holds, and why the walk stopped (`truncated_chain`,
        /// `fragment`, ...).
        ext: Vec<&'static str>,
        chain_end: &'static str,
    },
    /// An extension-header chain longer than the kernel programs walk.
    LongChain {
        /// Headers in the chain.
        ext_count: usize,
        /// Headers the kernel programs walk.
        kernel_walks: usize,
        /// The first of them.
        ext: Vec<&'static str>,
        /// What ends the chain (`icmpv6`, `fragment`, `truncated_chain`, ...).
        chain_end: &'static str,
    },
    /// An NDP message the capture holds only in part.
    Truncated {
        /// ICMPv6 bytes captured, and bytes the IPv6 header says the payload has.
        icmp6_captured: usize,
        payload_len: u16,
    },
    Bogon {
        reason: BogonReason,
    },
    /// A link-layer address option that differs from the Ethernet source.
    SourceLlMismatch {
        source_ll_addr: EthernetAddress,
    },
    TargetLlMismatch {
        target_ll_addr: EthernetAddress,
    },
    NewNeighbor {
        learned_from: LearnedFrom,
    },
    MacChange {
        learned_from: LearnedFrom,
        /// How long the old MAC had been silent, in seconds.
        old_idle_s: f64,
        /// Earlier MACs of the address, most recent first (before this change).
        previous_macs: Vec<EthernetAddress>,
    },
    Dad {
        prober: EthernetAddress,
        attempts: u32,
        answered: u32,
        answered_with: DadAnswer,
        known_owner: bool,
    },
    Rogue {
        reason: RogueReason,
        router_lifetime: u16,
        ra: Box<RaParams>,
    },
    RaChanged {
        changes: Box<RaDiff>,
    },
    NotInPolicy {
        not_in_policy: PolicyMisses,
    },
    PrefixLifetime {
        prefix: Prefix,
        valid_lifetime: u32,
        preferred_lifetime: u32,
    },
    /// Change alerts of one address held back while its MAC changes too often.
    MacStorm {
        /// MAC changes since the storm began (the alerted ones included).
        changes: u64,
        /// Changes not alerted since the last storm alert.
        held_back: u64,
        /// Seconds since the storm began.
        storm_s: f64,
        /// Change alerts printed per address per second before the storm alert.
        limit_per_s: u32,
        /// Some of the MACs that claimed the address (distinct, in order of appearance).
        sample_macs: Vec<EthernetAddress>,
    },
    /// A MAC known at one link-local address shows up at another.
    LlaMismatch {
        known_link_local: Ipv6Addr,
    },
    Redirect {
        target: Ipv6Addr,
        destination: Ipv6Addr,
    },
    PacketTooBig {
        mtu: u32,
        /// The destination of the quoted packet, when the quote reaches it.
        quoted_dst: Option<Ipv6Addr>,
    },
    CacheExhaustion {
        unanswered_targets: usize,
        window_s: f64,
        limit: usize,
        target: Ipv6Addr,
    },
}

/// A source MAC and the frames the kernel's flood guard counted from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FloodSourceCount {
    pub mac: EthernetAddress,
    pub suppressed: u64,
}

/// What a strict policy does not list in an RA.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyMisses {
    pub prefixes: Vec<Ipv6Net>,
    pub rdnss: Vec<Ipv6Addr>,
    pub dnssl: Vec<String>,
    pub routes: Vec<Ipv6Net>,
}

impl PolicyMisses {
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
            && self.rdnss.is_empty()
            && self.dnssl.is_empty()
            && self.routes.is_empty()
    }

    /// Every item as text, in the order prefixes, RDNSS, DNSSL, routes.
    pub fn all(&self) -> Vec<String> {
        let mut v: Vec<String> = self.prefixes.iter().map(|p| p.to_string()).collect();
        v.extend(self.rdnss.iter().map(|a| a.to_string()));
        v.extend(self.dnssl.iter().cloned());
        v.extend(self.routes.iter().map(|p| p.to_string()));
        v
    }
}

/// NDP message classes, for rate windows and flood alerts: the codec's [`NdpType`].
pub use v6probe_common::wire::NdpType as MsgClass;

/// Why a source address is a bogon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BogonReason {
    Multicast,
    Loopback,
    Ipv4Mapped,
    /// `::` as the source of an NA, RA or redirect.
    Unspecified,
    /// An RA or redirect from outside fe80::/10.
    NotLinkLocal,
}

impl BogonReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Multicast => "multicast",
            Self::Loopback => "loopback",
            Self::Ipv4Mapped => "ipv4_mapped",
            Self::Unspecified => "unspecified",
            Self::NotLinkLocal => "not_link_local",
        }
    }
}

/// The message a binding was learned or changed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnedFrom {
    RouterSolicit,
    RouterAdvert,
    NeighborSolicit,
    NeighborAdvert,
}

/// What answered a DAD probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DadAnswer {
    NeighborAdvert,
    /// Another MAC probing the same tentative address.
    DadProbe,
}

/// Why an RA's router is rogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RogueReason {
    NotInPolicy,
    NotLearned,
    RouterAddressFromOtherMac,
}

/// Which link-layer address option an NDP message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlOption {
    Source,
    Target,
}

impl LlOption {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source_ll_addr",
            Self::Target => "target_ll_addr",
        }
    }

    /// The evidence naming this option's value.
    pub fn detail(self, ll: EthernetAddress) -> Detail {
        match self {
            Self::Source => Detail::SourceLlMismatch { source_ll_addr: ll },
            Self::Target => Detail::TargetLlMismatch { target_ll_addr: ll },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet() -> PacketEvidence {
        PacketEvidence {
            msg: "neighbor_advert",
            eth_src: EthernetAddress([2, 0, 0, 0, 0, 1]),
            eth_dst: EthernetAddress([0x33, 0x33, 0, 0, 0, 1]),
            ip6_src: "fe80::1".parse().unwrap(),
            ip6_dst: "ff02::1".parse().unwrap(),
            hop_limit: 255,
            dir: None,
        }
    }

    #[test]
    fn evidence_keys_are_sorted_and_reasons_are_snake_case() {
        let e = Evidence {
            packet: Some(packet()),
            detail: Detail::Bogon {
                reason: BogonReason::Ipv4Mapped,
            },
        };
        let mut out = Vec::new();
        sorted(&e, &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"eth_dst":"33:33:00:00:00:01","eth_src":"02:00:00:00:00:01","hop_limit":255,"ip6_dst":"ff02::1","ip6_src":"fe80::1","reason":"ipv4_mapped","type":"neighbor_advert"}"#
        );
        let e = Evidence {
            packet: Some(packet()),
            detail: Detail::None,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 6);
    }
}
