//! `ula check`: is it a ULA, is its global ID weak, and what kind of IPv6 address is it (scope,
//! type, interface-ID kind), in the spirit of ipv6toolkit's addr6.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;
use serde::Serialize;

use super::UlaError;
use v6probe_common::wire::{EthernetAddress, Hex, Prefix};

/// RFC 4193 status of an address or prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UlaStatus {
    /// In fd00::/8: locally assigned, L = 1.
    Valid,
    /// In fc00::/8: L = 0, reserved for a future definition (RFC 4193 section 3.2).
    ReservedL0,
    /// A prefix shorter than /8 that covers both halves of fc00::/7.
    UlaBlock,
    /// Not in fc00::/7.
    NotUla,
}

/// A weakness found in a ULA global ID (stable snake_case codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Weakness {
    /// Global ID 00 0000 0000.
    AllZeros,
    /// Global ID ff ffff ffff.
    AllOnes,
    /// Every byte the same (e.g. fdaa:aaaa:aaaa).
    RepeatedBytes,
    /// Bytes counting up or down by one (e.g. fd01:0203:0405).
    SequentialBytes,
    /// Hex digits counting up or down by one (e.g. fd12:3456:789a).
    SequentialNibbles,
    /// Three or more of the five bytes are zero (e.g. fd00:0:1::/48).
    MostlyZero,
    /// The prefix is shorter than /48, so the global ID is not fully given.
    PrefixShorterThan48,
}

impl Weakness {
    pub fn message(self) -> &'static str {
        match self {
            Self::AllZeros => "global ID is all zeros: not pseudo-random (RFC 4193 3.2.1)",
            Self::AllOnes => "global ID is all ones: not pseudo-random",
            Self::RepeatedBytes => "global ID repeats one byte: not pseudo-random",
            Self::SequentialBytes => "global ID bytes are sequential: not pseudo-random",
            Self::SequentialNibbles => "global ID hex digits are sequential: not pseudo-random",
            Self::MostlyZero => "global ID is mostly zero bytes: likely hand-picked",
            Self::PrefixShorterThan48 => "prefix shorter than /48: spans several ULA global IDs",
        }
    }
}

/// The kind of the low 64 bits of a unicast address (addr6's interface-ID types).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IidKind {
    /// All zero: the subnet-router anycast address (RFC 4291 2.6.1).
    SubnetRouterAnycast,
    /// Modified EUI-64 from a MAC (ff:fe in the middle).
    ModifiedEui64 { mac: String },
    /// Only the low 16 bits used (e.g. ::1, ::53).
    LowByte,
    /// An IPv4 address in the low 32 bits (e.g. ::c000:201).
    EmbeddedIpv4 { ipv4: Ipv4Addr },
    /// An IPv4 address written as decimal digits in the four groups (e.g. ::192:168:1:10).
    EmbeddedIpv4Decimal { ipv4: Ipv4Addr },
    /// ISATAP (RFC 5214): 0000:5efe or 0200:5efe then an IPv4 address.
    Isatap { ipv4: Ipv4Addr },
    /// A byte pattern: at most two distinct byte values.
    PatternBytes,
    /// None of the above: randomized (RFC 4941 / RFC 7217) or otherwise opaque.
    Randomized,
}

/// Everything `ula check` says about one argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The argument as given.
    pub input: String,
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub ula: UlaStatus,
    /// The 40-bit global ID (10 hex digits) for a ULA whose prefix covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_id: Option<String>,
    /// The 16-bit subnet ID (4 hex digits) for a ULA whose prefix covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// The interface ID, for a single address (prefix length 128).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_id: Option<String>,
    pub warnings: Vec<Weakness>,
    /// unicast, multicast, unspecified, loopback.
    #[serde(rename = "type")]
    pub addr_type: &'static str,
    /// interface, link, admin, site, organization, global, reserved, or unassigned.
    pub scope: &'static str,
    /// The special-purpose block it falls in, if any (e.g. documentation, nat64, 6to4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iid: Option<IidKind>,
}

/// Parses `ADDR` or `ADDR/LEN` (IPv6 only).
pub fn parse_arg(s: &str) -> Result<(Ipv6Addr, u8), UlaError> {
    let bad = || UlaError::BadAddress {
        input: s.to_string(),
    };
    match s.split_once('/') {
        Some(_) => {
            let p: Prefix = s.trim().parse().map_err(|_| bad())?;
            Ok((p.addr, p.len))
        }
        None => match s.trim().parse::<IpAddr>() {
            Ok(IpAddr::V6(a)) => Ok((a, 128)),
            _ => Err(bad()),
        },
    }
}

/// Classifies one argument.
pub fn check(input: &str) -> Result<Check, UlaError> {
    let (address, prefix_len) = parse_arg(input)?;
    let o = address.octets();
    let ula = if prefix_len < 7 || o[0] & 0xfe != 0xfc {
        UlaStatus::NotUla
    } else if prefix_len == 7 {
        UlaStatus::UlaBlock
    } else if o[0] == 0xfd {
        UlaStatus::Valid
    } else {
        UlaStatus::ReservedL0
    };
    let is_ula = matches!(ula, UlaStatus::Valid | UlaStatus::ReservedL0);
    let mut warnings = Vec::new();
    let mut global_id = None;
    let mut subnet_id = None;
    if is_ula {
        if prefix_len < 48 {
            warnings.push(Weakness::PrefixShorterThan48);
        } else {
            let gid: [u8; 5] = [o[1], o[2], o[3], o[4], o[5]];
            global_id = Some(Hex(&gid).to_string());
            warnings.extend(weaknesses(gid));
        }
        if prefix_len >= 64 {
            subnet_id = Some(Hex(&o[6..8]).to_string());
        }
    }
    let interface_id = (prefix_len == 128).then(|| {
        let s = u128::from(address) as u64;
        format!(
            "{:x}:{:x}:{:x}:{:x}",
            s >> 48,
            (s >> 32) & 0xffff,
            (s >> 16) & 0xffff,
            s & 0xffff
        )
    });
    let (addr_type, scope, block) = general(address);
    let iid = (prefix_len == 128 && addr_type == "unicast").then(|| iid_kind(address));
    Ok(Check {
        input: input.to_string(),
        address,
        prefix_len,
        ula,
        global_id,
        subnet_id,
        interface_id,
        warnings,
        addr_type,
        scope,
        block,
        iid,
    })
}

/// The weaknesses of a 40-bit global ID.
pub fn weaknesses(gid: [u8; 5]) -> Vec<Weakness> {
    let mut w = Vec::new();
    if gid == [0; 5] {
        w.push(Weakness::AllZeros);
    } else if gid == [0xff; 5] {
        w.push(Weakness::AllOnes);
    } else if gid.iter().all(|b| *b == gid[0]) {
        w.push(Weakness::RepeatedBytes);
    }
    let seq = |v: &[u8]| {
        v.windows(2).all(|p| p[1] == p[0].wrapping_add(1))
            || v.windows(2).all(|p| p[1] == p[0].wrapping_sub(1))
    };
    if seq(&gid) {
        w.push(Weakness::SequentialBytes);
    }
    // The digits after "fd": the global ID's ten nibbles, sequential modulo 16.
    let nib: Vec<u8> = gid.iter().flat_map(|b| [b >> 4, b & 0xf]).collect();
    let nseq = nib.windows(2).all(|p| p[1] == (p[0] + 1) & 0xf)
        || nib.windows(2).all(|p| p[1] == p[0].wrapping_sub(1) & 0xf);
    if nseq {
        w.push(Weakness::SequentialNibbles);
    }
    if gid != [0; 5] && gid.iter().filter(|b| **b == 0).count() >= 3 {
        w.push(Weakness::MostlyZero);
    }
    w
}

/// (type, scope, special-purpose block) of any IPv6 address.
pub fn general(a: Ipv6Addr) -> (&'static str, &'static str, Option<&'static str>) {
    let o = a.octets();
    let v = u128::from(a);
    let in_net = |net: &str| {
        net.parse::<Ipv6Net>()
            .map(|n| n.contains(&a))
            .unwrap_or(false)
    };
    if a.is_unspecified() {
        return ("unspecified", "reserved", Some("unspecified"));
    }
    if a.is_loopback() {
        return ("loopback", "interface", Some("loopback"));
    }
    if o[0] == 0xff {
        let scope = match o[1] & 0x0f {
            0x1 => "interface",
            0x2 => "link",
            0x3 => "realm",
            0x4 => "admin",
            0x5 => "site",
            0x8 => "organization",
            0xe => "global",
            0x0 | 0xf => "reserved",
            _ => "unassigned",
        };
        let block = if in_net("ff02::1:ff00:0/104") {
            Some("solicited_node")
        } else if o[1] & 0x30 == 0x30 {
            Some("ssm_or_prefix_based")
        } else {
            None
        };
        return ("multicast", scope, block);
    }
    let (scope, block) = if o[0] == 0xfe && o[1] & 0xc0 == 0x80 {
        ("link", Some("link_local"))
    } else if o[0] == 0xfe && o[1] & 0xc0 == 0xc0 {
        ("site", Some("site_local_deprecated"))
    } else if o[0] & 0xfe == 0xfc {
        ("global", Some("unique_local"))
    } else if v >> 32 == 0xffff {
        ("global", Some("ipv4_mapped"))
    } else if v >> 32 == 0 {
        ("global", Some("ipv4_compatible_deprecated"))
    } else if in_net("64:ff9b::/96") {
        ("global", Some("nat64_well_known"))
    } else if in_net("64:ff9b:1::/48") {
        ("global", Some("nat64_local_use"))
    } else if in_net("100::/64") {
        ("global", Some("discard_only"))
    } else if in_net("2001::/32") {
        ("global", Some("teredo"))
    } else if in_net("2001:db8::/32") || in_net("3fff::/20") {
        ("global", Some("documentation"))
    } else if in_net("2001:10::/28") || in_net("2001:20::/28") {
        ("global", Some("orchid"))
    } else if in_net("2002::/16") {
        ("global", Some("6to4"))
    } else if in_net("2000::/3") {
        ("global", None)
    } else {
        ("global", Some("unassigned_or_reserved"))
    };
    ("unicast", scope, block)
}

/// The kind of the interface ID (low 64 bits).
pub fn iid_kind(a: Ipv6Addr) -> IidKind {
    let o = a.octets();
    let iid = &o[8..16];
    let v4 = Ipv4Addr::new(iid[4], iid[5], iid[6], iid[7]);
    if iid.iter().all(|b| *b == 0) {
        return IidKind::SubnetRouterAnycast;
    }
    if iid[0] & 0xfd == 0 && iid[1..4] == [0x00, 0x5e, 0xfe] {
        return IidKind::Isatap { ipv4: v4 };
    }
    if iid[3] == 0xff && iid[4] == 0xfe {
        let mac = [iid[0] ^ 0x02, iid[1], iid[2], iid[5], iid[6], iid[7]];
        return IidKind::ModifiedEui64 {
            mac: EthernetAddress(mac).to_string(),
        };
    }
    if iid[..6].iter().all(|b| *b == 0) {
        return IidKind::LowByte;
    }
    if iid[..4].iter().all(|b| *b == 0) {
        return IidKind::EmbeddedIpv4 { ipv4: v4 };
    }
    // Each 16-bit group read as decimal digits, 0 to 255: ::192:168:1:10.
    let groups = [0usize, 2, 4, 6].map(|i| u16::from_be_bytes([iid[i], iid[i + 1]]));
    let dec = groups.map(|g| {
        let (d2, d1, d0) = ((g >> 8) & 0xf, (g >> 4) & 0xf, g & 0xf);
        if g >> 12 == 0 && d2 <= 9 && d1 <= 9 && d0 <= 9 {
            let n = d2 * 100 + d1 * 10 + d0;
            u8::try_from(n).ok()
        } else {
            None
        }
    });
    if let [Some(a), Some(b), Some(c), Some(d)] = dec {
        return IidKind::EmbeddedIpv4Decimal {
            ipv4: Ipv4Addr::new(a, b, c, d),
        };
    }
    let mut distinct: Vec<u8> = iid.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= 2 {
        return IidKind::PatternBytes;
    }
    IidKind::Randomized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ula_status_by_l_bit_and_length() {
        assert_eq!(check("fd12:3456:789a::/48").unwrap().ula, UlaStatus::Valid);
        assert_eq!(
            check("fc00:1234:5678::/48").unwrap().ula,
            UlaStatus::ReservedL0
        );
        assert_eq!(check("fc00::/7").unwrap().ula, UlaStatus::UlaBlock);
        assert_eq!(check("fd00::/6").unwrap().ula, UlaStatus::NotUla);
        assert_eq!(check("2001:db8::1").unwrap().ula, UlaStatus::NotUla);
        let c = check("fd00::/8").unwrap();
        assert_eq!(c.ula, UlaStatus::Valid);
        assert_eq!(c.warnings, vec![Weakness::PrefixShorterThan48]);
        assert!(check("fd00::/129").is_err());
        assert!(check("10.0.0.1").is_err());
        assert!(check("nonsense").is_err());
    }

    #[test]
    fn weak_global_ids() {
        let w = |s: &str| check(s).unwrap().warnings;
        assert_eq!(w("fd00::/48"), vec![Weakness::AllZeros]);
        assert_eq!(w("fdff:ffff:ffff::/48"), vec![Weakness::AllOnes]);
        assert_eq!(w("fdaa:aaaa:aaaa::/48"), vec![Weakness::RepeatedBytes]);
        assert_eq!(w("fd01:0203:0405::/48"), vec![Weakness::SequentialBytes]);
        assert_eq!(w("fd12:3456:789a::/48"), vec![Weakness::SequentialNibbles]);
        assert_eq!(w("fd00:0:1::/48"), vec![Weakness::MostlyZero]);
        assert!(w("fd3c:9e21:07b4::/48").is_empty());
        let c = check("fd3c:9e21:07b4:2a::1").unwrap();
        assert_eq!(c.global_id.as_deref(), Some("3c9e2107b4"));
        assert_eq!(c.subnet_id.as_deref(), Some("002a"));
        assert_eq!(c.interface_id.as_deref(), Some("0:0:0:1"));
        assert_eq!(check("fd3c:9e21:07b4::/48").unwrap().subnet_id, None);
    }

    #[test]
    fn general_classification() {
        let g = |s: &str| general(s.parse().unwrap());
        assert_eq!(g("::"), ("unspecified", "reserved", Some("unspecified")));
        assert_eq!(g("::1"), ("loopback", "interface", Some("loopback")));
        assert_eq!(g("fe80::1"), ("unicast", "link", Some("link_local")));
        assert_eq!(g("ff02::1"), ("multicast", "link", None));
        assert_eq!(
            g("ff02::1:ff00:1234"),
            ("multicast", "link", Some("solicited_node"))
        );
        assert_eq!(g("ff05::2"), ("multicast", "site", None));
        assert_eq!(g("ff0e::101"), ("multicast", "global", None));
        assert_eq!(
            g("2001:db8::1"),
            ("unicast", "global", Some("documentation"))
        );
        assert_eq!(
            g("64:ff9b::c000:201"),
            ("unicast", "global", Some("nat64_well_known"))
        );
        assert_eq!(
            g("::ffff:192.0.2.1"),
            ("unicast", "global", Some("ipv4_mapped"))
        );
        assert_eq!(g("2002:c000:201::1"), ("unicast", "global", Some("6to4")));
        assert_eq!(g("2606:4700::1111"), ("unicast", "global", None));
        assert_eq!(g("fd00::1"), ("unicast", "global", Some("unique_local")));
    }

    #[test]
    fn interface_id_kinds() {
        let k = |s: &str| iid_kind(s.parse().unwrap());
        assert_eq!(
            k("fe80::21b:21ff:feaa:bbcc"),
            IidKind::ModifiedEui64 {
                mac: "00:1b:21:aa:bb:cc".into()
            }
        );
        assert_eq!(k("2001:db8::"), IidKind::SubnetRouterAnycast);
        assert_eq!(k("2001:db8::53"), IidKind::LowByte);
        assert_eq!(
            k("2001:db8::c000:201"),
            IidKind::EmbeddedIpv4 {
                ipv4: "192.0.2.1".parse().unwrap()
            }
        );
        assert_eq!(
            k("2001:db8::192:168:1:10"),
            IidKind::EmbeddedIpv4Decimal {
                ipv4: "192.168.1.10".parse().unwrap()
            }
        );
        assert_eq!(
            k("fe80::5efe:c000:201"),
            IidKind::Isatap {
                ipv4: "192.0.2.1".parse().unwrap()
            }
        );
        assert_eq!(k("2001:db8::aaaa:5555:aaaa:5555"), IidKind::PatternBytes);
        assert_eq!(k("2001:db8::a3f1:9c2e:4b7d:e051"), IidKind::Randomized);
        let c = check("fd3c:9e21:7b4::21b:21ff:feaa:bbcc").unwrap();
        assert!(matches!(c.iid, Some(IidKind::ModifiedEui64 { .. })));
    }
}
