//! NDP messages from command-line fields, for `v6probe send` (and the simulator). No I/O: a
//! [`SendSpec`] plus the interface's MAC and link-local address give a [`Frame`] to emit.
//!
//! Every header field and option is settable; a field that does not belong to the message type
//! is an error naming the field (RFC 4861 section 4: which options each message carries).
use std::net::Ipv6Addr;

use thiserror::Error;

use crate::wire::{
    addr, ipv6::FragmentInfo, ndisc_option::Preference, EthernetAddress, Frame, Hex, Icmpv6Repr,
    Message, NdpOption, Options, Prefix,
};

/// The NDP message types `send` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Rs,
    Ra,
    Ns,
    Na,
    Redirect,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs => "rs",
            Self::Ra => "ra",
            Self::Ns => "ns",
            Self::Na => "na",
            Self::Redirect => "redirect",
        }
    }
    fn icmp_type(self) -> u8 {
        match self {
            Self::Rs => 133,
            Self::Ra => 134,
            Self::Ns => 135,
            Self::Na => 136,
            Self::Redirect => 137,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("{field} does not fit a {kind} message")]
    NotFor {
        field: &'static str,
        kind: &'static str,
    },
    #[error("a {kind} message needs {field}")]
    Missing {
        field: &'static str,
        kind: &'static str,
    },
    #[error("invalid {field} `{value}`: {why}")]
    Bad {
        field: &'static str,
        value: String,
        why: String,
    },
}

fn bad(field: &'static str, value: &str, why: impl Into<String>) -> BuildError {
    BuildError::Bad {
        field,
        value: value.to_string(),
        why: why.into(),
    }
}

/// Parses hex bytes (`0a1b2c`, colons allowed).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s.replace(':', "")).map_err(|_| format!("`{s}` is not hex bytes"))
}

/// Hex bytes as one command-line value (clap would take `Vec<u8>` as many values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

impl std::str::FromStr for HexBytes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_hex(s).map(Self)
    }
}

/// `--slla` / `--tlla`: a MAC, or the interface's (`auto`, or the flag without a value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAddr {
    Interface,
    Mac([u8; 6]),
}

impl std::str::FromStr for LinkAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s == "auto" {
            Ok(Self::Interface)
        } else {
            s.parse::<EthernetAddress>()
                .map(|m| Self::Mac(m.0))
                .map_err(|e| format!("`{s}` is {e}"))
        }
    }
}

/// Every settable field of a message; `None` / empty means the default.
#[derive(Clone, Debug, Default)]
pub struct SendSpec {
    pub src: Option<Ipv6Addr>,
    pub dst: Option<Ipv6Addr>,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub hop_limit: Option<u8>,
    pub code: Option<u8>,
    pub target: Option<Ipv6Addr>,
    pub destination: Option<Ipv6Addr>,
    /// NA: letters of R, S, O; RA: of M, O, H, P (proxy).
    pub flags: Option<String>,
    pub cur_hop_limit: Option<u8>,
    pub router_lifetime: Option<u16>,
    pub reachable_time: Option<u32>,
    pub retrans_timer: Option<u32>,
    pub preference: Option<String>,
    /// `PREFIX[,valid=S][,preferred=S][,flags=LARP]`
    pub prefixes: Vec<String>,
    /// `ADDR[,ADDR..][,lifetime=S]`
    pub rdnss: Vec<String>,
    /// `DOMAIN[,DOMAIN..][,lifetime=S]`
    pub dnssl: Vec<String>,
    /// `PREFIX[,pref=high|medium|low][,lifetime=S]`
    pub routes: Vec<String>,
    pub mtu: Option<u32>,
    pub slla: Option<LinkAddr>,
    pub tlla: Option<LinkAddr>,
    pub nonce: Option<Vec<u8>>,
    pub captive_portal: Option<String>,
    /// `PREFIX[,lifetime=S]`
    pub pref64: Option<String>,
    /// The 48 extended RA flag bits (RFC 5175).
    pub ra_flags_ext: Option<u64>,
    /// Redirect: the quoted packet (hex).
    pub redirected_header: Option<Vec<u8>>,
    /// Any option as `TYPE:HEX` data (after type and length).
    pub raw_options: Vec<String>,
    /// Hop-by-hop options header of this many bytes (padded), in front.
    pub hbh: Option<usize>,
    /// Destination options header of this many bytes (padded).
    pub dstopt: Option<usize>,
    /// Fragment header (the message itself is not split).
    pub fragment: Option<FragmentInfo>,
}

/// Splits `head,key=value,...`: returns the head items and the key/values.
fn split_kv(s: &str) -> (Vec<&str>, Vec<(&str, &str)>) {
    let mut items = Vec::new();
    let mut kv = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some((k, v)) => kv.push((k, v)),
            None => items.push(p),
        }
    }
    (items, kv)
}

fn num<T: std::str::FromStr>(field: &'static str, whole: &str, v: &str) -> Result<T, BuildError> {
    let v = if v == "infinity" { "4294967295" } else { v };
    v.parse()
        .map_err(|_| bad(field, whole, format!("`{v}` is not a number in range")))
}

fn parse_prefix(field: &'static str, whole: &str, p: &str) -> Result<Prefix, BuildError> {
    p.parse()
        .map_err(|e| bad(field, whole, format!("`{p}` is {e}")))
}

/// `--prefix PREFIX[,valid=S][,preferred=S][,flags=LARP]` (default: 30 days, 7 days, LA).
pub fn parse_pio(s: &str) -> Result<NdpOption, BuildError> {
    let (items, kv) = split_kv(s);
    let [p] = items[..] else {
        return Err(bad("--prefix", s, "expected one PREFIX/LEN"));
    };
    let prefix = parse_prefix("--prefix", s, p)?;
    let (mut valid, mut preferred, mut flags) = (2_592_000u32, 604_800u32, "LA".to_string());
    for (k, v) in kv {
        match k {
            "valid" => valid = num("--prefix", s, v)?,
            "preferred" => preferred = num("--prefix", s, v)?,
            "flags" => flags = v.to_ascii_uppercase(),
            _ => return Err(bad("--prefix", s, format!("unknown key `{k}`"))),
        }
    }
    if let Some(c) = flags.chars().find(|c| !"LARP".contains(*c)) {
        return Err(bad(
            "--prefix",
            s,
            format!("flag `{c}` is not one of L A R P"),
        ));
    }
    Ok(NdpOption::PrefixInfo {
        prefix,
        on_link: flags.contains('L'),
        autonomous: flags.contains('A'),
        router_addr: flags.contains('R'),
        dhcpv6_pd: flags.contains('P'),
        reserved_flags: 0,
        valid_lifetime: valid,
        preferred_lifetime: preferred,
    })
}

fn lifetime(
    field: &'static str,
    s: &str,
    kv: &[(&str, &str)],
    default: u32,
) -> Result<u32, BuildError> {
    let mut l = default;
    for (k, v) in kv {
        match *k {
            "lifetime" => l = num(field, s, v)?,
            _ => return Err(bad(field, s, format!("unknown key `{k}`"))),
        }
    }
    Ok(l)
}

/// `--rdnss ADDR[,ADDR..][,lifetime=S]` (default lifetime 1800 s).
pub fn parse_rdnss(s: &str) -> Result<NdpOption, BuildError> {
    let (items, kv) = split_kv(s);
    if items.is_empty() {
        return Err(bad("--rdnss", s, "needs at least one server address"));
    }
    let servers = items
        .iter()
        .map(|a| {
            a.parse::<Ipv6Addr>()
                .map_err(|_| bad("--rdnss", s, format!("`{a}` is not an IPv6 address")))
        })
        .collect::<Result<_, _>>()?;
    Ok(NdpOption::Rdnss {
        lifetime: lifetime("--rdnss", s, &kv, 1800)?,
        servers,
    })
}

/// `--dnssl DOMAIN[,DOMAIN..][,lifetime=S]` (default lifetime 1800 s).
pub fn parse_dnssl(s: &str) -> Result<NdpOption, BuildError> {
    let (items, kv) = split_kv(s);
    if items.is_empty() {
        return Err(bad("--dnssl", s, "needs at least one domain"));
    }
    for d in &items {
        if d.split('.').any(|l| l.is_empty() || l.len() > 63) || d.len() > 253 {
            return Err(bad("--dnssl", s, format!("`{d}` is not a domain name")));
        }
    }
    Ok(NdpOption::Dnssl {
        lifetime: lifetime("--dnssl", s, &kv, 1800)?,
        domains: items.iter().map(|d| d.to_string()).collect(),
        length: 0,
    })
}

fn parse_pref(field: &'static str, whole: &str, v: &str) -> Result<Preference, BuildError> {
    Ok(match v {
        "high" => Preference::High,
        "medium" => Preference::Medium,
        "low" => Preference::Low,
        "reserved" => Preference::Reserved,
        _ => {
            return Err(bad(
                field,
                whole,
                "preference is high, medium, low or reserved",
            ))
        }
    })
}

/// `--route PREFIX[,pref=high|medium|low][,lifetime=S]` (RFC 4191; default medium, 1800 s).
pub fn parse_route(s: &str) -> Result<NdpOption, BuildError> {
    let (items, kv) = split_kv(s);
    let [p] = items[..] else {
        return Err(bad("--route", s, "expected one PREFIX/LEN"));
    };
    let prefix = parse_prefix("--route", s, p)?;
    let (mut pref, mut life) = (Preference::Medium, 1800u32);
    for (k, v) in kv {
        match k {
            "pref" | "preference" => pref = parse_pref("--route", s, v)?,
            "lifetime" => life = num("--route", s, v)?,
            _ => return Err(bad("--route", s, format!("unknown key `{k}`"))),
        }
    }
    Ok(NdpOption::RouteInfo {
        prefix,
        preference: pref,
        route_lifetime: life,
        length: match prefix.len {
            0 => 1,
            1..=64 => 2,
            _ => 3,
        },
    })
}

/// `--pref64 PREFIX[,lifetime=S]` (RFC 8781; lengths 32, 40, 48, 56, 64, 96; default 1800 s).
pub fn parse_pref64(s: &str) -> Result<NdpOption, BuildError> {
    let (items, kv) = split_kv(s);
    let [p] = items[..] else {
        return Err(bad("--pref64", s, "expected one PREFIX/LEN"));
    };
    let prefix = parse_prefix("--pref64", s, p)?;
    if ![32, 40, 48, 56, 64, 96].contains(&prefix.len) {
        return Err(bad(
            "--pref64",
            s,
            "length must be 32, 40, 48, 56, 64 or 96",
        ));
    }
    let l = lifetime("--pref64", s, &kv, 1800)?;
    if l > 65528 {
        return Err(bad("--pref64", s, "lifetime is at most 65528 s"));
    }
    Ok(NdpOption::Pref64 {
        prefix,
        lifetime: l as u16,
    })
}

/// `--option TYPE:HEX`: any option, data after the type and length bytes (padded to 8).
pub fn parse_raw_option(s: &str) -> Result<NdpOption, BuildError> {
    let (t, d) = s
        .split_once(':')
        .ok_or_else(|| bad("--option", s, "expected TYPE:HEX"))?;
    let option_type: u8 = t
        .parse()
        .map_err(|_| bad("--option", s, "type is 0..=255"))?;
    let data = parse_hex(d).map_err(|e| bad("--option", s, e))?;
    if data.len() > 255 * 8 - 2 {
        return Err(bad("--option", s, "too long for an option"));
    }
    Ok(NdpOption::Unknown { option_type, data })
}

/// `--fragment [id=N][,offset=N][,more]` (offset in 8-octet units).
pub fn parse_fragment(s: &str) -> Result<FragmentInfo, String> {
    let mut f = FragmentInfo {
        offset: 0,
        more: false,
        id: 0,
    };
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some(("id", v)) => f.id = v.parse().map_err(|_| format!("fragment id `{v}`"))?,
            Some(("offset", v)) => {
                f.offset =
                    v.parse().ok().filter(|o| *o < 8192).ok_or_else(|| {
                        format!("fragment offset `{v}` (0..8192 units of 8 bytes)")
                    })?
            }
            None if p == "more" => f.more = true,
            _ => return Err(format!("`{p}`: fragment takes id=N, offset=N, more")),
        }
    }
    Ok(f)
}

/// Builds the frame. `iface_mac` and `iface_ll` fill the defaults.
pub fn build(
    kind: Kind,
    s: &SendSpec,
    iface_mac: [u8; 6],
    iface_ll: Option<Ipv6Addr>,
) -> Result<Frame, BuildError> {
    let k = kind.name();
    let not = |field: &'static str| BuildError::NotFor { field, kind: k };
    let need = |field: &'static str| BuildError::Missing { field, kind: k };
    let is = |kinds: &[Kind]| kinds.contains(&kind);
    use Kind::*;
    // Which fields each type takes.
    let checks: [(&'static str, bool, &[Kind]); 20] = [
        ("--target", s.target.is_some(), &[Ns, Na, Redirect]),
        ("--destination", s.destination.is_some(), &[Redirect]),
        ("--flags", s.flags.is_some(), &[Na, Ra]),
        ("--cur-hop-limit", s.cur_hop_limit.is_some(), &[Ra]),
        ("--router-lifetime", s.router_lifetime.is_some(), &[Ra]),
        ("--reachable-time", s.reachable_time.is_some(), &[Ra]),
        ("--retrans-timer", s.retrans_timer.is_some(), &[Ra]),
        ("--preference", s.preference.is_some(), &[Ra]),
        ("--prefix", !s.prefixes.is_empty(), &[Ra]),
        ("--rdnss", !s.rdnss.is_empty(), &[Ra]),
        ("--dnssl", !s.dnssl.is_empty(), &[Ra]),
        ("--route", !s.routes.is_empty(), &[Ra]),
        ("--mtu", s.mtu.is_some(), &[Ra]),
        ("--captive-portal", s.captive_portal.is_some(), &[Ra]),
        ("--pref64", s.pref64.is_some(), &[Ra]),
        ("--ra-flags-ext", s.ra_flags_ext.is_some(), &[Ra]),
        ("--slla", s.slla.is_some(), &[Rs, Ra, Ns]),
        ("--tlla", s.tlla.is_some(), &[Na, Redirect]),
        ("--nonce", s.nonce.is_some(), &[Rs, Ra, Ns, Na]),
        (
            "--redirected-header",
            s.redirected_header.is_some(),
            &[Redirect],
        ),
    ];
    for (field, given, kinds) in checks {
        if given && !is(kinds) {
            return Err(not(field));
        }
    }
    let src_mac = s.src_mac.unwrap_or(iface_mac);
    let lladdr = |l: LinkAddr| {
        EthernetAddress(match l {
            LinkAddr::Interface => src_mac,
            LinkAddr::Mac(m) => m,
        })
    };
    let mut opts = Vec::new();
    if let Some(l) = s.slla {
        opts.push(NdpOption::SourceLlAddr { addr: lladdr(l) });
    }
    if let Some(l) = s.tlla {
        opts.push(NdpOption::TargetLlAddr { addr: lladdr(l) });
    }
    if let Some(m) = s.mtu {
        opts.push(NdpOption::Mtu { mtu: m });
    }
    for p in &s.prefixes {
        opts.push(parse_pio(p)?);
    }
    for r in &s.routes {
        opts.push(parse_route(r)?);
    }
    for r in &s.rdnss {
        opts.push(parse_rdnss(r)?);
    }
    for d in &s.dnssl {
        opts.push(parse_dnssl(d)?);
    }
    if let Some(u) = &s.captive_portal {
        opts.push(NdpOption::CaptivePortal {
            uri: u.clone(),
            length: 0,
        });
    }
    if let Some(p) = &s.pref64 {
        opts.push(parse_pref64(p)?);
    }
    if let Some(b) = s.ra_flags_ext {
        if b >> 48 != 0 {
            return Err(bad("--ra-flags-ext", &b.to_string(), "only 48 bits"));
        }
        opts.push(NdpOption::RaFlagsExt { bits: b });
    }
    if let Some(n) = &s.nonce {
        if n.len() < 6 || (n.len() + 2) % 8 != 0 {
            return Err(bad(
                "--nonce",
                &Hex(n).to_string(),
                "RFC 3971 nonces are 6, 14, 22... bytes (the option is a multiple of 8)",
            ));
        }
        opts.push(NdpOption::Nonce { nonce: n.clone() });
    }
    if let Some(d) = &s.redirected_header {
        opts.push(NdpOption::RedirectedHeader { data: d.clone() });
    }
    for r in &s.raw_options {
        opts.push(parse_raw_option(r)?);
    }
    let options = Options {
        list: opts,
        error: None,
    };
    let flags = s.flags.as_deref().unwrap_or("").to_ascii_uppercase();
    let allowed = if kind == Na { "RSO" } else { "MOHP" };
    if let Some(c) = flags.chars().find(|c| !allowed.contains(*c)) {
        return Err(bad(
            "--flags",
            &flags,
            format!("`{c}` is not a {k} flag ({allowed})"),
        ));
    }
    let has = |c| flags.contains(c);
    let target = s.target;
    let message = match kind {
        Rs => Message::RouterSolicit {
            reserved: 0,
            options,
        },
        Ra => Message::RouterAdvert {
            cur_hop_limit: s.cur_hop_limit.unwrap_or(64),
            managed: has('M'),
            other: has('O'),
            home_agent: has('H'),
            preference: match &s.preference {
                Some(p) => parse_pref("--preference", p, p)?,
                None => Preference::Medium,
            },
            proxy: has('P'),
            reserved_flags: 0,
            router_lifetime: s.router_lifetime.unwrap_or(1800),
            reachable_time: s.reachable_time.unwrap_or(0),
            retrans_timer: s.retrans_timer.unwrap_or(0),
            options,
        },
        Ns => Message::NeighborSolicit {
            reserved: 0,
            target: target.ok_or_else(|| need("--target"))?,
            options,
        },
        Na => Message::NeighborAdvert {
            router: has('R'),
            solicited: has('S'),
            override_: has('O'),
            reserved: 0,
            target: target.ok_or_else(|| need("--target"))?,
            options,
        },
        Redirect => Message::Redirect {
            reserved: 0,
            target: target.ok_or_else(|| need("--target"))?,
            destination: s.destination.ok_or_else(|| need("--destination"))?,
            options,
        },
    };
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let dst = match (s.dst, kind) {
        (Some(d), _) => d,
        (None, Rs) => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2),
        (None, Ra | Na) => all_nodes,
        (None, Ns) => addr::solicited_node(&target.ok_or_else(|| need("--target"))?),
        (None, Redirect) => return Err(need("--dst")),
    };
    let src = match s.src.or(iface_ll) {
        Some(a) => a,
        None => return Err(need("--src (the interface has no link-local address)")),
    };
    let eth_dst = match s.dst_mac {
        Some(m) => m,
        None if dst.is_multicast() => addr::multicast_mac(&dst),
        None => return Err(need("--dst-mac (unicast destination)")),
    };
    let mut f = Frame::new(
        EthernetAddress(src_mac),
        EthernetAddress(eth_dst),
        src,
        dst,
        s.hop_limit.unwrap_or(255),
        Icmpv6Repr::new(kind.icmp_type(), s.code.unwrap_or(0), message),
    );
    let mut ext = Vec::new();
    if let Some(n) = s.hbh {
        ext.push((crate::abi::next_header::HOP_BY_HOP, n, None));
    }
    if let Some(n) = s.dstopt {
        ext.push((crate::abi::next_header::DEST_OPTS, n, None));
    }
    if let Some(fr) = s.fragment {
        ext.push((crate::abi::next_header::FRAGMENT, 8, Some(fr)));
    }
    if !ext.is_empty() {
        f = f.with_ext_headers(&ext);
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    fn ll() -> Option<Ipv6Addr> {
        Some("fe80::1".parse().unwrap())
    }
    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// Builds, emits and decodes again.
    fn roundtrip(kind: Kind, s: &SendSpec) -> Frame {
        let f = build(kind, s, MAC, ll()).unwrap();
        let bytes = f.to_bytes();
        let d = Frame::parse(&bytes).unwrap();
        assert_eq!(d.icmp6.as_ref().unwrap().checksum_ok, Some(true));
        d
    }

    #[test]
    fn ra_with_every_option() {
        let s = SendSpec {
            flags: Some("MOHP".into()),
            cur_hop_limit: Some(7),
            router_lifetime: Some(900),
            reachable_time: Some(30_000),
            retrans_timer: Some(1000),
            preference: Some("high".into()),
            prefixes: vec!["fd00:1::/64,valid=86400,preferred=14400,flags=LA".into()],
            rdnss: vec!["fd00::53,fd00::54,lifetime=600".into()],
            dnssl: vec!["example.com,lab.test".into()],
            routes: vec!["fd00:2::/48,pref=low,lifetime=77".into()],
            mtu: Some(1280),
            slla: Some(LinkAddr::Interface),
            captive_portal: Some("https://portal.example/".into()),
            pref64: Some("64:ff9b::/96,lifetime=600".into()),
            ra_flags_ext: Some(0x8000_0000_0001),
            raw_options: vec!["253:0102030405".into()],
            ..Default::default()
        };
        let d = roundtrip(Kind::Ra, &s);
        assert_eq!(d.ip6.dst, a("ff02::1"));
        assert_eq!(d.eth.dst.0, [0x33, 0x33, 0, 0, 0, 1]);
        let Message::RouterAdvert {
            cur_hop_limit,
            managed,
            other,
            home_agent,
            preference,
            proxy,
            router_lifetime,
            reachable_time,
            retrans_timer,
            options,
            ..
        } = &d.icmp6.unwrap().message
        else {
            panic!("not an RA")
        };
        assert_eq!(
            (
                *cur_hop_limit,
                *managed,
                *other,
                *home_agent,
                *preference,
                *proxy
            ),
            (7, true, true, true, Preference::High, true)
        );
        assert_eq!(
            (*router_lifetime, *reachable_time, *retrans_timer),
            (900, 30_000, 1000)
        );
        let names: Vec<_> = options.iter().map(|o| o.name()).collect();
        assert_eq!(
            names,
            [
                "source_ll_addr",
                "mtu",
                "prefix_info",
                "route_info",
                "rdnss",
                "dnssl",
                "captive_portal",
                "pref64",
                "ra_flags_ext",
                "unknown"
            ]
        );
        assert!(options.iter().any(|o| matches!(o, NdpOption::PrefixInfo {
            on_link: true, autonomous: true, router_addr: false, valid_lifetime: 86400,
            preferred_lifetime: 14400, prefix, ..} if prefix.to_string() == "fd00:1::/64")));
        assert!(options
            .iter()
            .any(|o| matches!(o, NdpOption::Rdnss { lifetime: 600, servers }
            if servers == &[a("fd00::53"), a("fd00::54")])));
        assert!(options
            .iter()
            .any(|o| matches!(o, NdpOption::Dnssl { domains, .. }
            if domains == &["example.com", "lab.test"])));
        assert!(options.iter().any(|o| matches!(o, NdpOption::RouteInfo {
            preference: Preference::Low, route_lifetime: 77, prefix, ..}
            if prefix.to_string() == "fd00:2::/48")));
    }

    #[test]
    fn ns_na_rs_redirect() {
        let d = roundtrip(
            Kind::Ns,
            &SendSpec {
                target: Some(a("fd00::9")),
                slla: Some(LinkAddr::Mac([2, 9, 9, 9, 9, 9])),
                nonce: Some(vec![1, 2, 3, 4, 5, 6]),
                hbh: Some(8),
                fragment: Some(FragmentInfo {
                    offset: 0,
                    more: false,
                    id: 7,
                }),
                ..Default::default()
            },
        );
        assert_eq!(d.ip6.dst, a("ff02::1:ff00:9"));
        assert_eq!(d.ip6.ext.headers().len(), 2);
        let m = d.icmp6.unwrap().message;
        assert!(
            matches!(m, Message::NeighborSolicit { target, ref options, .. }
            if target == a("fd00::9") && options.source_ll_addr().unwrap().0 == [2, 9, 9, 9, 9, 9])
        );
        let d = roundtrip(
            Kind::Na,
            &SendSpec {
                target: Some(a("fd00::9")),
                flags: Some("rso".into()),
                tlla: Some(LinkAddr::Interface),
                dst: Some(a("fd00::1")),
                dst_mac: Some([2, 0, 0, 0, 0, 2]),
                hop_limit: Some(64),
                ..Default::default()
            },
        );
        assert_eq!(d.ip6.hop_limit, 64);
        assert!(matches!(d.icmp6.unwrap().message, Message::NeighborAdvert {
            router: true, solicited: true, override_: true, ref options, .. }
            if options.target_ll_addr().unwrap().0 == MAC));
        let d = roundtrip(
            Kind::Rs,
            &SendSpec {
                src: Some(Ipv6Addr::UNSPECIFIED),
                ..Default::default()
            },
        );
        assert_eq!(d.ip6.dst, a("ff02::2"));
        let d = roundtrip(
            Kind::Redirect,
            &SendSpec {
                target: Some(a("fe80::99")),
                destination: Some(a("fd00:5::1")),
                dst: Some(a("fe80::2")),
                dst_mac: Some([2, 0, 0, 0, 0, 2]),
                tlla: Some(LinkAddr::Mac([2, 0, 0, 0, 0, 0x99])),
                redirected_header: Some(vec![0x60, 0, 0, 0, 0, 0, 58, 64]),
                ..Default::default()
            },
        );
        assert!(
            matches!(d.icmp6.unwrap().message, Message::Redirect { destination, .. }
            if destination == a("fd00:5::1"))
        );
    }

    #[test]
    fn fields_that_do_not_fit_are_errors() {
        let e = build(
            Kind::Ns,
            &SendSpec {
                target: Some(a("fd00::1")),
                prefixes: vec!["fd00::/64".into()],
                ..Default::default()
            },
            MAC,
            ll(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            BuildError::NotFor {
                field: "--prefix",
                kind: "ns"
            }
        );
        let e = build(
            Kind::Rs,
            &SendSpec {
                target: Some(a("fd00::1")),
                ..Default::default()
            },
            MAC,
            ll(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "--target does not fit a rs message");
        let e = build(
            Kind::Na,
            &SendSpec {
                target: Some(a("fd00::1")),
                flags: Some("M".into()),
                ..Default::default()
            },
            MAC,
            ll(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`M` is not a na flag"), "{e}");
        let e = build(Kind::Ns, &SendSpec::default(), MAC, ll()).unwrap_err();
        assert_eq!(e.to_string(), "a ns message needs --target");
        let e = build(
            Kind::Na,
            &SendSpec {
                target: Some(a("fd00::1")),
                slla: Some(LinkAddr::Interface),
                ..Default::default()
            },
            MAC,
            ll(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            BuildError::NotFor {
                field: "--slla",
                kind: "na"
            }
        );
        let e = build(
            Kind::Ns,
            &SendSpec {
                target: Some(a("fd00::1")),
                dst: Some(a("fd00::1")),
                ..Default::default()
            },
            MAC,
            ll(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--dst-mac"), "{e}");
    }

    #[test]
    fn bad_option_values_name_themselves() {
        for (r, needle) in [
            (parse_pio("fd00::/129"), "fd00::/129"),
            (parse_pio("fd00::/64,valid=-1"), "valid=-1"),
            (parse_pio("fd00::/64,flags=X"), "flag `X`"),
            (parse_rdnss("fd00::zz"), "fd00::zz"),
            (parse_route("fd00::/64,pref=top"), "pref=top"),
            (parse_pref64("64:ff9b::/33"), "64:ff9b::/33"),
            (parse_raw_option("x:00"), "x:00"),
        ] {
            let e = r.unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        assert!(parse_fragment("id=1,offset=9000").is_err());
        assert_eq!(
            parse_fragment("id=5,offset=2,more").unwrap(),
            FragmentInfo {
                offset: 2,
                more: true,
                id: 5
            }
        );
    }
}
