//! Typed values for the fields of an NDP message, each with the parser clap runs on its flag:
//! a value that does not parse is refused on the command line, naming the flag and the text
//! (`invalid --prefix `fd00::/129`: prefix length must be 0..=128`), before anything is built.
use std::{fmt, net::Ipv6Addr, str::FromStr};

use thiserror::Error;

use crate::wire::{
    ipv6::FragmentInfo, ndisc_option::Preference, EthernetAddress, NdpOption, Prefix,
};

/// A value that is not valid for its flag.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("invalid {field} `{value}`: {why}")]
pub struct FieldError {
    pub field: &'static str,
    pub value: String,
    pub why: String,
}

pub(crate) fn bad(field: &'static str, value: &str, why: impl Into<String>) -> FieldError {
    FieldError {
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

impl FromStr for HexBytes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_hex(s).map(Self)
    }
}

/// `--slla` / `--tlla`: a MAC, or the interface's (`auto`, or the flag without a value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAddr {
    Interface,
    Mac(EthernetAddress),
}

impl FromStr for LinkAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s == "auto" {
            Ok(Self::Interface)
        } else {
            s.parse::<EthernetAddress>()
                .map(Self::Mac)
                .map_err(|e| format!("`{s}` is {e}"))
        }
    }
}

/// `--flags`: message flags by letter, any case. NA takes R (router), S (solicited),
/// O (override); RA takes M (managed), O (other), H (home agent), P (proxy). Which letters fit
/// which message is checked when the message is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    const LETTERS: &'static str = "RSOMHP";

    pub fn has(self, letter: char) -> bool {
        Self::LETTERS
            .find(letter)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// These flags with `letter` set or cleared (a letter outside R S O M H P is ignored).
    pub fn with(self, letter: char, on: bool) -> Self {
        match Self::LETTERS.find(letter.to_ascii_uppercase()) {
            Some(i) if on => Self(self.0 | 1 << i),
            Some(i) => Self(self.0 & !(1 << i)),
            None => self,
        }
    }

    /// The first letter set that is not in `allowed`.
    pub fn outside(self, allowed: &str) -> Option<char> {
        Self::LETTERS
            .chars()
            .find(|c| self.has(*c) && !allowed.contains(*c))
    }
}

impl FromStr for Flags {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let mut bits = 0u8;
        for c in s.chars().map(|c| c.to_ascii_uppercase()) {
            let i = Self::LETTERS.find(c).ok_or_else(|| {
                bad(
                    "--flags",
                    s,
                    format!("`{c}` is not a flag (NA: R S O; RA: M O H P)"),
                )
            })?;
            bits |= 1 << i;
        }
        Ok(Self(bits))
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in Self::LETTERS.chars().filter(|c| self.has(*c)) {
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

fn pref(field: &'static str, whole: &str, v: &str) -> Result<Preference, FieldError> {
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

/// `--preference high|medium|low|reserved` (RFC 4191 default router preference).
pub fn preference(s: &str) -> Result<Preference, FieldError> {
    pref("--preference", s, s)
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

/// A number, `infinity` standing for 0xffffffff (the infinite lifetime of RFC 4861).
fn num<T: FromStr>(field: &'static str, whole: &str, v: &str) -> Result<T, FieldError> {
    let v = if v == "infinity" { "4294967295" } else { v };
    v.parse()
        .map_err(|_| bad(field, whole, format!("`{v}` is not a number in range")))
}

fn prefix(field: &'static str, whole: &str, p: &str) -> Result<Prefix, FieldError> {
    p.parse()
        .map_err(|e| bad(field, whole, format!("`{p}` is {e}")))
}

/// The one head item of `s` (`PREFIX,key=value..`), or an error naming `field`.
fn one<'a>(field: &'static str, s: &str, items: &[&'a str]) -> Result<&'a str, FieldError> {
    match items {
        [p] => Ok(p),
        _ => Err(bad(field, s, "expected one PREFIX/LEN")),
    }
}

/// `lifetime=S`, the only key the option takes besides its items.
fn lifetime(
    field: &'static str,
    s: &str,
    kv: &[(&str, &str)],
    default: u32,
) -> Result<u32, FieldError> {
    let mut l = default;
    for (k, v) in kv {
        match *k {
            "lifetime" => l = num(field, s, v)?,
            _ => return Err(bad(field, s, format!("unknown key `{k}`"))),
        }
    }
    Ok(l)
}

/// An option value of one kind: the option as the codec emits it, built when the flag is
/// parsed.
macro_rules! option_value {
    ($(#[$doc:meta])* $name:ident, $parse:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(pub NdpOption);

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                $parse(s).map(Self)
            }
        }

        impl From<$name> for NdpOption {
            fn from(v: $name) -> NdpOption {
                v.0
            }
        }
    };
}

option_value!(
    /// `--prefix PREFIX[,valid=S][,preferred=S][,flags=LARP]`: prefix information (RFC 4861
    /// 4.6.2; P is RFC 9762's DHCPv6-PD flag). Defaults: 30 days, 7 days, LA.
    PrefixInfo,
    parse_pio
);
option_value!(
    /// `--route PREFIX[,pref=high|medium|low][,lifetime=S]`: route information (RFC 4191).
    /// Defaults: medium, 1800 s.
    RouteInfo,
    parse_route
);
option_value!(
    /// `--rdnss ADDR[,ADDR..][,lifetime=S]`: recursive DNS servers (RFC 8106). Default 1800 s.
    Rdnss,
    parse_rdnss
);
option_value!(
    /// `--dnssl DOMAIN[,DOMAIN..][,lifetime=S]`: DNS search list (RFC 8106). Default 1800 s.
    Dnssl,
    parse_dnssl
);
option_value!(
    /// `--pref64 PREFIX[,lifetime=S]`: NAT64 prefix (RFC 8781; lengths 32, 40, 48, 56, 64,
    /// 96). Default 1800 s.
    Pref64,
    parse_pref64
);
option_value!(
    /// `--option TYPE:HEX`: any option, data after the type and length bytes (padded to 8).
    RawOption,
    parse_raw_option
);
option_value!(
    /// `--nonce HEX`: nonce option (RFC 3971): 6, 14, 22... bytes.
    Nonce,
    parse_nonce
);
option_value!(
    /// `--ra-flags-ext N`: the 48 extended RA flag bits as a number (RFC 5175).
    RaFlagsExt,
    parse_ra_flags_ext
);

fn parse_pio(s: &str) -> Result<NdpOption, FieldError> {
    let (items, kv) = split_kv(s);
    let prefix = prefix("--prefix", s, one("--prefix", s, &items)?)?;
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

fn parse_route(s: &str) -> Result<NdpOption, FieldError> {
    let (items, kv) = split_kv(s);
    let prefix = prefix("--route", s, one("--route", s, &items)?)?;
    let (mut preference, mut life) = (Preference::Medium, 1800u32);
    for (k, v) in kv {
        match k {
            "pref" | "preference" => preference = pref("--route", s, v)?,
            "lifetime" => life = num("--route", s, v)?,
            _ => return Err(bad("--route", s, format!("unknown key `{k}`"))),
        }
    }
    Ok(NdpOption::RouteInfo {
        prefix,
        preference,
        route_lifetime: life,
        // RFC 4191 2.3: 1, 2 or 3 units of 8 bytes, as the prefix length needs.
        length: match prefix.len {
            0 => 1,
            1..=64 => 2,
            _ => 3,
        },
    })
}

fn parse_rdnss(s: &str) -> Result<NdpOption, FieldError> {
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

fn parse_dnssl(s: &str) -> Result<NdpOption, FieldError> {
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

fn parse_pref64(s: &str) -> Result<NdpOption, FieldError> {
    let (items, kv) = split_kv(s);
    let prefix = prefix("--pref64", s, one("--pref64", s, &items)?)?;
    if ![32, 40, 48, 56, 64, 96].contains(&prefix.len) {
        return Err(bad(
            "--pref64",
            s,
            "length must be 32, 40, 48, 56, 64 or 96",
        ));
    }
    let l = lifetime("--pref64", s, &kv, 1800)?;
    // RFC 8781 4: the scaled lifetime is 13 bits of 8-second units.
    let lifetime = u16::try_from(l)
        .ok()
        .filter(|l| *l <= 65528)
        .ok_or_else(|| bad("--pref64", s, "lifetime is at most 65528 s"))?;
    Ok(NdpOption::Pref64 { prefix, lifetime })
}

fn parse_raw_option(s: &str) -> Result<NdpOption, FieldError> {
    let (t, d) = s
        .split_once(':')
        .ok_or_else(|| bad("--option", s, "expected TYPE:HEX"))?;
    let option_type: u8 = t
        .parse()
        .map_err(|_| bad("--option", s, "type is 0..=255"))?;
    let data = parse_hex(d).map_err(|e| bad("--option", s, e))?;
    // The length byte counts units of 8 bytes, type and length included.
    if data.len() > 255 * 8 - 2 {
        return Err(bad("--option", s, "too long for an option"));
    }
    Ok(NdpOption::Unknown { option_type, data })
}

fn parse_nonce(s: &str) -> Result<NdpOption, FieldError> {
    let nonce = parse_hex(s).map_err(|e| bad("--nonce", s, e))?;
    if nonce.len() < 6 || !(nonce.len() + 2).is_multiple_of(8) {
        return Err(bad(
            "--nonce",
            s,
            "RFC 3971 nonces are 6, 14, 22... bytes (the option is a multiple of 8)",
        ));
    }
    Ok(NdpOption::Nonce { nonce })
}

fn parse_ra_flags_ext(s: &str) -> Result<NdpOption, FieldError> {
    let bits: u64 = s
        .parse()
        .map_err(|_| bad("--ra-flags-ext", s, "not a number"))?;
    if bits >> 48 != 0 {
        return Err(bad("--ra-flags-ext", s, "only 48 bits"));
    }
    Ok(NdpOption::RaFlagsExt { bits })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_flag_and_the_text() {
        for (r, needle) in [
            ("fd00::/129".parse::<PrefixInfo>().err(), "fd00::/129"),
            ("fd00::/64,valid=-1".parse::<PrefixInfo>().err(), "valid=-1"),
            ("fd00::/64,flags=X".parse::<PrefixInfo>().err(), "flag `X`"),
            ("fd00::zz".parse::<Rdnss>().err(), "fd00::zz"),
            ("fd00::/64,pref=top".parse::<RouteInfo>().err(), "pref=top"),
            ("64:ff9b::/33".parse::<Pref64>().err(), "64:ff9b::/33"),
            (
                "64:ff9b::/96,lifetime=70000".parse::<Pref64>().err(),
                "65528",
            ),
            ("x:00".parse::<RawOption>().err(), "x:00"),
            ("0102".parse::<Nonce>().err(), "RFC 3971"),
            ("281474976710656".parse::<RaFlagsExt>().err(), "48 bits"),
            ("RX".parse::<Flags>().err(), "`X` is not a flag"),
            (preference("top").err(), "--preference `top`"),
        ] {
            let e = r.expect("an error").to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        let e = "fd00::/129".parse::<PrefixInfo>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --prefix `fd00::/129`: `fd00::/129` is not an IPv6 prefix (the length is not 0..=128)"
        );
        assert!("02:00:00:00:00".parse::<LinkAddr>().is_err());
        assert_eq!(
            "02-00-00-00-00-0a".parse::<LinkAddr>().unwrap(),
            LinkAddr::Mac(EthernetAddress([2, 0, 0, 0, 0, 10]))
        );
        assert_eq!("auto".parse::<LinkAddr>().unwrap(), LinkAddr::Interface);
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

    #[test]
    fn values_parse_to_the_options_they_stand_for() {
        let f: Flags = "rso".parse().unwrap();
        assert!(f.has('R') && f.has('S') && f.has('O') && !f.has('M'));
        assert_eq!(f.outside("RSO"), None);
        assert_eq!(f.outside("MOHP"), Some('R'));
        assert_eq!(f.to_string(), "RSO");
        assert_eq!(
            Flags::default().with('s', true).with('O', true),
            "SO".parse().unwrap()
        );
        assert_eq!(f.with('R', false).to_string(), "SO");
        assert_eq!(preference("low").unwrap(), Preference::Low);
        let RouteInfo(NdpOption::RouteInfo { length, .. }) = "::/0".parse().unwrap() else {
            panic!()
        };
        assert_eq!(length, 1);
        let PrefixInfo(NdpOption::PrefixInfo {
            valid_lifetime,
            preferred_lifetime,
            on_link,
            autonomous,
            ..
        }) = "fd00::/64,valid=infinity".parse().unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (valid_lifetime, preferred_lifetime, on_link, autonomous),
            (u32::MAX, 604_800, true, true)
        );
        assert!("aabbccddeeff".parse::<Nonce>().is_ok());
    }
}
