//! NDP messages from typed fields, for `v6probe send`, the scanner's probes and the simulator.
//! No I/O: a [`SendSpec`] plus the interface's MAC and link-local address give a [`Frame`] to
//! emit.
//!
//! - [`field`]: the typed values and the parsers clap runs on each flag; a bad value is refused
//!   on the command line.
//! - this module: which fields each message type takes (RFC 4861 section 4: which options each
//!   message carries), defaults, and the frame. A field that does not belong to the message
//!   type is an error naming the field.
pub mod field;

use std::net::Ipv6Addr;

use thiserror::Error;

pub use field::{
    parse_fragment, parse_hex, preference, Dnssl, FieldError, Flags, HexBytes, LinkAddr, Nonce,
    Pref64, PrefixInfo, RaFlagsExt, RawOption, Rdnss, RouteInfo,
};

use crate::wire::{
    addr, ipv6::FragmentInfo, ndisc_option::Preference, EthernetAddress, Frame, Icmpv6Repr,
    Message, NdpOption, Options,
};

/// ff02::1, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2, all routers on the link.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// The NDP message types `send` builds: the codec's [`crate::wire::NdpType`].
pub use crate::wire::NdpType as Kind;

/// The `--flags` letters a message type takes.
fn flag_letters(kind: Kind) -> &'static str {
    match kind {
        Kind::Na => "RSO",
        Kind::Ra => "MOHP",
        _ => "",
    }
}

/// clap's parser for a message type argument: `rs`, `ra`, `ns`, `na` or `redirect` (listed in
/// `--help` and the completions).
pub fn kind_parser() -> impl clap::builder::TypedValueParser<Value = Kind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Kind::ALL.map(Kind::as_str))
        .try_map(|s| s.parse::<Kind>())
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
    #[error(transparent)]
    Bad(#[from] FieldError),
}

/// Every settable field of a message; `None` / empty means the default. These are the flags of
/// `v6probe send`, parsed into typed values by clap.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SendSpec {
    /// IPv6 source (default: the interface's link-local address; `::` allowed).
    #[arg(long)]
    pub src: Option<Ipv6Addr>,
    /// IPv6 destination (default: ff02::2 for RS, ff02::1 for RA and NA, the target's
    /// solicited-node group for NS; required for redirect).
    #[arg(long)]
    pub dst: Option<Ipv6Addr>,
    /// Ethernet source (default: the interface's MAC), as aa:bb:cc:dd:ee:ff.
    #[arg(long)]
    pub src_mac: Option<EthernetAddress>,
    /// Ethernet destination (default: the multicast MAC of a multicast --dst).
    #[arg(long)]
    pub dst_mac: Option<EthernetAddress>,
    #[arg(long)]
    pub hop_limit: Option<u8>,
    /// ICMPv6 code (0 for valid NDP).
    #[arg(long)]
    pub code: Option<u8>,
    /// NS, NA, redirect: target address.
    #[arg(long)]
    pub target: Option<Ipv6Addr>,
    /// Redirect: destination address.
    #[arg(long)]
    pub destination: Option<Ipv6Addr>,
    /// NA: letters of R S O; RA: of M O H P.
    #[arg(long)]
    pub flags: Option<Flags>,
    /// RA: Cur Hop Limit.
    #[arg(long)]
    pub cur_hop_limit: Option<u8>,
    /// RA: router lifetime in seconds.
    #[arg(long)]
    pub router_lifetime: Option<u16>,
    /// RA: reachable time in ms.
    #[arg(long)]
    pub reachable_time: Option<u32>,
    /// RA: retrans timer in ms.
    #[arg(long)]
    pub retrans_timer: Option<u32>,
    /// RA: default router preference (high, medium, low, reserved).
    #[arg(long, value_parser = preference)]
    pub preference: Option<Preference>,
    /// RA: PREFIX[,valid=S][,preferred=S][,flags=LARP] (repeatable).
    #[arg(long = "prefix")]
    pub prefixes: Vec<PrefixInfo>,
    /// RA: ADDR[,ADDR..][,lifetime=S] (repeatable).
    #[arg(long)]
    pub rdnss: Vec<Rdnss>,
    /// RA: DOMAIN[,DOMAIN..][,lifetime=S] (repeatable).
    #[arg(long)]
    pub dnssl: Vec<Dnssl>,
    /// RA: PREFIX[,pref=high|medium|low][,lifetime=S] (repeatable).
    #[arg(long = "route")]
    pub routes: Vec<RouteInfo>,
    /// RA: MTU option.
    #[arg(long)]
    pub mtu: Option<u32>,
    /// RA: captive portal URI (RFC 8910).
    #[arg(long)]
    pub captive_portal: Option<String>,
    /// RA: PREF64 PREFIX[,lifetime=S] (RFC 8781).
    #[arg(long)]
    pub pref64: Option<Pref64>,
    /// RA: extended flags option, the 48 bits as a number (RFC 5175).
    #[arg(long)]
    pub ra_flags_ext: Option<RaFlagsExt>,
    /// RS, RA, NS: source link-layer address option (MAC, or the Ethernet source if no value).
    #[arg(long, num_args = 0..=1, default_missing_value = "auto")]
    pub slla: Option<LinkAddr>,
    /// NA, redirect: target link-layer address option (MAC, or the Ethernet source).
    #[arg(long, num_args = 0..=1, default_missing_value = "auto")]
    pub tlla: Option<LinkAddr>,
    /// Nonce option (RFC 3971), hex.
    #[arg(long)]
    pub nonce: Option<Nonce>,
    /// Redirect: redirected header option, the quoted packet in hex.
    #[arg(long)]
    pub redirected_header: Option<HexBytes>,
    /// Any option: TYPE:HEX (data after the type and length bytes, zero-padded).
    #[arg(long = "option")]
    pub raw_options: Vec<RawOption>,
    /// Hop-by-hop options header in front, of this many bytes (padding; default 8).
    #[arg(long, num_args = 0..=1, default_missing_value = "8")]
    pub hbh: Option<usize>,
    /// Destination options header in front, of this many bytes (padding; default 8).
    #[arg(long, num_args = 0..=1, default_missing_value = "8")]
    pub dstopt: Option<usize>,
    /// Fragment header in front: [id=N][,offset=N][,more] (the message is not split).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_parser = parse_fragment)]
    pub fragment: Option<FragmentInfo>,
}

impl SendSpec {
    /// Fails on the first field given that `kind` does not take.
    fn check_fits(&self, kind: Kind) -> Result<(), BuildError> {
        use Kind::*;
        let checks: [(&'static str, bool, &[Kind]); 20] = [
            ("--target", self.target.is_some(), &[Ns, Na, Redirect]),
            ("--destination", self.destination.is_some(), &[Redirect]),
            ("--flags", self.flags.is_some(), &[Na, Ra]),
            ("--cur-hop-limit", self.cur_hop_limit.is_some(), &[Ra]),
            ("--router-lifetime", self.router_lifetime.is_some(), &[Ra]),
            ("--reachable-time", self.reachable_time.is_some(), &[Ra]),
            ("--retrans-timer", self.retrans_timer.is_some(), &[Ra]),
            ("--preference", self.preference.is_some(), &[Ra]),
            ("--prefix", !self.prefixes.is_empty(), &[Ra]),
            ("--rdnss", !self.rdnss.is_empty(), &[Ra]),
            ("--dnssl", !self.dnssl.is_empty(), &[Ra]),
            ("--route", !self.routes.is_empty(), &[Ra]),
            ("--mtu", self.mtu.is_some(), &[Ra]),
            ("--captive-portal", self.captive_portal.is_some(), &[Ra]),
            ("--pref64", self.pref64.is_some(), &[Ra]),
            ("--ra-flags-ext", self.ra_flags_ext.is_some(), &[Ra]),
            ("--slla", self.slla.is_some(), &[Rs, Ra, Ns]),
            ("--tlla", self.tlla.is_some(), &[Na, Redirect]),
            ("--nonce", self.nonce.is_some(), &[Rs, Ra, Ns, Na]),
            (
                "--redirected-header",
                self.redirected_header.is_some(),
                &[Redirect],
            ),
        ];
        match checks
            .into_iter()
            .find(|(_, given, kinds)| *given && !kinds.contains(&kind))
        {
            Some((field, _, _)) => Err(BuildError::NotFor {
                field,
                kind: kind.as_str(),
            }),
            None => Ok(()),
        }
    }

    /// The options in the order they are emitted.
    fn options(&self, src_mac: EthernetAddress) -> Options {
        let lladdr = |l: LinkAddr| match l {
            LinkAddr::Interface => src_mac,
            LinkAddr::Mac(m) => m,
        };
        let mut list = Vec::new();
        list.extend(
            self.slla
                .map(|l| NdpOption::SourceLlAddr { addr: lladdr(l) }),
        );
        list.extend(
            self.tlla
                .map(|l| NdpOption::TargetLlAddr { addr: lladdr(l) }),
        );
        list.extend(self.mtu.map(|mtu| NdpOption::Mtu { mtu }));
        list.extend(self.prefixes.iter().map(|p| p.0.clone()));
        list.extend(self.routes.iter().map(|r| r.0.clone()));
        list.extend(self.rdnss.iter().map(|r| r.0.clone()));
        list.extend(self.dnssl.iter().map(|d| d.0.clone()));
        list.extend(
            self.captive_portal
                .iter()
                .map(|u| NdpOption::CaptivePortal {
                    uri: u.clone(),
                    length: 0,
                }),
        );
        list.extend(self.pref64.iter().map(|p| p.0.clone()));
        list.extend(self.ra_flags_ext.iter().map(|b| b.0.clone()));
        list.extend(self.nonce.iter().map(|n| n.0.clone()));
        list.extend(
            self.redirected_header
                .iter()
                .map(|d| NdpOption::RedirectedHeader { data: d.0.clone() }),
        );
        list.extend(self.raw_options.iter().map(|r| r.0.clone()));
        Options { list, error: None }
    }

    /// The ICMPv6 message body of `kind` with `options`.
    fn message(&self, kind: Kind, options: Options) -> Result<Message, BuildError> {
        let need = |field: &'static str| BuildError::Missing {
            field,
            kind: kind.as_str(),
        };
        let flags = self.flags.unwrap_or_default();
        if let Some(c) = flags.outside(flag_letters(kind)) {
            return Err(field::bad(
                "--flags",
                &flags.to_string(),
                format!(
                    "`{c}` is not a {} flag ({})",
                    kind.as_str(),
                    flag_letters(kind)
                ),
            )
            .into());
        }
        let target = || self.target.ok_or_else(|| need("--target"));
        Ok(match kind {
            Kind::Rs => Message::RouterSolicit {
                reserved: 0,
                options,
            },
            Kind::Ra => Message::RouterAdvert {
                cur_hop_limit: self.cur_hop_limit.unwrap_or(64),
                managed: flags.has('M'),
                other: flags.has('O'),
                home_agent: flags.has('H'),
                preference: self.preference.unwrap_or(Preference::Medium),
                proxy: flags.has('P'),
                reserved_flags: 0,
                router_lifetime: self.router_lifetime.unwrap_or(1800),
                reachable_time: self.reachable_time.unwrap_or(0),
                retrans_timer: self.retrans_timer.unwrap_or(0),
                options,
            },
            Kind::Ns => Message::NeighborSolicit {
                reserved: 0,
                target: target()?,
                options,
            },
            Kind::Na => Message::NeighborAdvert {
                router: flags.has('R'),
                solicited: flags.has('S'),
                override_: flags.has('O'),
                reserved: 0,
                target: target()?,
                options,
            },
            Kind::Redirect => Message::Redirect {
                reserved: 0,
                target: target()?,
                destination: self.destination.ok_or_else(|| need("--destination"))?,
                options,
            },
        })
    }

    /// IPv6 source and destination, and the Ethernet destination.
    fn addresses(
        &self,
        kind: Kind,
        iface_ll: Option<Ipv6Addr>,
    ) -> Result<(Ipv6Addr, Ipv6Addr, EthernetAddress), BuildError> {
        let need = |field: &'static str| BuildError::Missing {
            field,
            kind: kind.as_str(),
        };
        let dst = match (self.dst, kind) {
            (Some(d), _) => d,
            (None, Kind::Rs) => ALL_ROUTERS,
            (None, Kind::Ra | Kind::Na) => ALL_NODES,
            (None, Kind::Ns) => addr::solicited_node(&self.target.ok_or_else(|| need("--target"))?),
            (None, Kind::Redirect) => return Err(need("--dst")),
        };
        let src = self
            .src
            .or(iface_ll)
            .ok_or_else(|| need("--src (the interface has no link-local address)"))?;
        let eth_dst = match self.dst_mac {
            Some(m) => m,
            None if dst.is_multicast() => EthernetAddress(addr::multicast_mac(&dst)),
            None => return Err(need("--dst-mac (unicast destination)")),
        };
        Ok((src, dst, eth_dst))
    }

    /// Extension headers in front of the ICMPv6 message, in order.
    fn ext_headers(&self) -> Vec<(u8, usize, Option<FragmentInfo>)> {
        use crate::abi::next_header::{DEST_OPTS, FRAGMENT, HOP_BY_HOP};
        let mut ext = Vec::new();
        ext.extend(self.hbh.map(|n| (HOP_BY_HOP, n, None)));
        ext.extend(self.dstopt.map(|n| (DEST_OPTS, n, None)));
        ext.extend(self.fragment.map(|f| (FRAGMENT, 8, Some(f))));
        ext
    }
}

/// Builds the frame. `iface_mac` and `iface_ll` fill the defaults.
pub fn build(
    kind: Kind,
    s: &SendSpec,
    iface_mac: [u8; 6],
    iface_ll: Option<Ipv6Addr>,
) -> Result<Frame, BuildError> {
    s.check_fits(kind)?;
    let src_mac = s.src_mac.unwrap_or(EthernetAddress(iface_mac));
    let message = s.message(kind, s.options(src_mac))?;
    let (src, dst, eth_dst) = s.addresses(kind, iface_ll)?;
    let f = Frame::new(
        src_mac,
        eth_dst,
        src,
        dst,
        s.hop_limit.unwrap_or(255),
        Icmpv6Repr::new(kind.msg_type(), s.code.unwrap_or(0), message),
    );
    let ext = s.ext_headers();
    Ok(if ext.is_empty() {
        f
    } else {
        f.with_ext_headers(&ext)
    })
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
        assert!(d.icmp6.is_some());
        assert_eq!(d.checksum_ok, Some(true));
        d
    }

    #[test]
    fn ra_with_every_option() {
        let s = SendSpec {
            flags: Some("MOHP".parse().unwrap()),
            cur_hop_limit: Some(7),
            router_lifetime: Some(900),
            reachable_time: Some(30_000),
            retrans_timer: Some(1000),
            preference: Some(Preference::High),
            prefixes: vec!["fd00:1::/64,valid=86400,preferred=14400,flags=LA"
                .parse()
                .unwrap()],
            rdnss: vec!["fd00::53,fd00::54,lifetime=600".parse().unwrap()],
            dnssl: vec!["example.com,lab.test".parse().unwrap()],
            routes: vec!["fd00:2::/48,pref=low,lifetime=77".parse().unwrap()],
            mtu: Some(1280),
            slla: Some(LinkAddr::Interface),
            captive_portal: Some("https://portal.example/".into()),
            pref64: Some("64:ff9b::/96,lifetime=600".parse().unwrap()),
            ra_flags_ext: Some("140737488355329".parse().unwrap()),
            raw_options: vec!["253:0102030405".parse().unwrap()],
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
                slla: Some(LinkAddr::Mac(EthernetAddress([2, 9, 9, 9, 9, 9]))),
                nonce: Some("010203040506".parse().unwrap()),
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
                flags: Some("rso".parse().unwrap()),
                tlla: Some(LinkAddr::Interface),
                dst: Some(a("fd00::1")),
                dst_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 2])),
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
                dst_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 2])),
                tlla: Some(LinkAddr::Mac(EthernetAddress([2, 0, 0, 0, 0, 0x99]))),
                redirected_header: Some(HexBytes(vec![0x60, 0, 0, 0, 0, 0, 58, 64])),
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
                prefixes: vec!["fd00::/64".parse().unwrap()],
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
                flags: Some("M".parse().unwrap()),
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
}
