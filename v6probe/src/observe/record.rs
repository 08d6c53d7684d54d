//! A kernel [`Record`] turned into the monitor's packet line (`"kind":"packet"`).
use std::net::Ipv6Addr;

use serde::Serialize;
use v6probe_common::abi::{direction, flags, hook, next_header, Record};

use crate::output::{mac_string, rfc3339_nanos};

/// The header part of a packet line: where and when it was seen, Ethernet and IPv6.
#[derive(Clone, Debug, Serialize)]
pub struct PacketMeta {
    pub ts: String,
    pub iface: String,
    pub dir: &'static str,
    pub hook: &'static str,
    pub eth: EthMeta,
    pub ip6: Ip6Meta,
}

#[derive(Clone, Debug, Serialize)]
pub struct EthMeta {
    pub src: String,
    pub dst: String,
    /// VLAN IDs, outer first (empty when untagged).
    pub vlan: Vec<u16>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Ip6Meta {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub payload_len: u16,
    /// Extension headers in order: `hop_by_hop`, `routing`, `fragment`, `dest_opts`, `auth`,
    /// `mobility`.
    pub ext: Vec<&'static str>,
    pub frag: Option<FragMeta>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FragMeta {
    /// Offset in bytes.
    pub offset: u32,
    pub more: bool,
    pub id: u32,
}

/// The name of an extension header's next-header value.
pub fn ext_name(nh: u8) -> &'static str {
    match nh {
        next_header::HOP_BY_HOP => "hop_by_hop",
        next_header::ROUTING => "routing",
        next_header::FRAGMENT => "fragment",
        next_header::DEST_OPTS => "dest_opts",
        next_header::AUTH => "auth",
        next_header::MOBILITY => "mobility",
        _ => "unknown",
    }
}

impl PacketMeta {
    pub fn from_record(rec: &Record, ts: std::time::SystemTime, iface: String) -> Self {
        let n = (rec.ext_count as usize).min(rec.ext_types.len());
        let vlans = (rec.vlan_count as usize).min(rec.vlan_tci.len());
        Self {
            ts: rfc3339_nanos(ts),
            iface,
            dir: if rec.direction == direction::EGRESS {
                "egress"
            } else {
                "ingress"
            },
            hook: if rec.hook == hook::TC { "tc" } else { "xdp" },
            eth: EthMeta {
                src: mac_string(&rec.eth_src),
                dst: mac_string(&rec.eth_dst),
                vlan: rec.vlan_tci[..vlans].iter().map(|t| t & 0x0fff).collect(),
            },
            ip6: Ip6Meta {
                src: Ipv6Addr::from(rec.ip6_src),
                dst: Ipv6Addr::from(rec.ip6_dst),
                hop_limit: rec.hop_limit,
                payload_len: rec.payload_len,
                ext: rec.ext_types[..n].iter().map(|&t| ext_name(t)).collect(),
                frag: (rec.flags & flags::FRAGMENT != 0).then(|| FragMeta {
                    offset: u32::from(rec.frag_offset) * 8,
                    more: rec.flags & flags::MORE_FRAGMENTS != 0,
                    id: rec.frag_id,
                }),
            },
        }
    }
}
