//! An IPv6 prefix `addr/len` as NDP carries it (PIO, RIO, PREF64) and as the tools take it on
//! the command line and in policy files: one parser, one text form (`2001:db8::/64`).
use core::{fmt, net::Ipv6Addr, str::FromStr};

/// An IPv6 prefix. The address is kept as given (host bits included: a prefix option may carry
/// them, and the decoder shows what was sent); `len` is the raw length byte, so a wire value
/// above 128 is kept too (validation reports it). [`Prefix::network`] clears the host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: Ipv6Addr,
    pub len: u8,
}

impl Prefix {
    pub const fn new(addr: Ipv6Addr, len: u8) -> Self {
        Self { addr, len }
    }

    /// The mask of the first `len` bits (all ones for `len >= 128`).
    pub fn mask(&self) -> u128 {
        match self.len {
            0 => 0,
            l if l >= 128 => u128::MAX,
            l => u128::MAX << (128 - u32::from(l)),
        }
    }

    /// The first address (host bits cleared).
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }

    /// The last address (host bits set).
    pub fn last(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) | !self.mask())
    }

    /// The same prefix with the host bits cleared (and the length capped at 128).
    pub fn trunc(&self) -> Self {
        Self::new(self.network(), self.len.min(128))
    }

    pub fn contains(&self, a: &Ipv6Addr) -> bool {
        (u128::from(*a) ^ u128::from(self.addr)) & self.mask() == 0
    }
}

/// A single address as a /128.
impl From<Ipv6Addr> for Prefix {
    fn from(addr: Ipv6Addr) -> Self {
        Self::new(addr, 128)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Why a text is not a prefix. Shown as "not an IPv6 prefix (...)", so callers write
/// "`{input}` is {error}".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsePrefixError {
    /// No `/`.
    NoLength,
    /// The part before `/` is not an IPv6 address.
    Address,
    /// The part after `/` is not a number from 0 to 128.
    Length,
}

impl fmt::Display for ParsePrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoLength => "not an IPv6 prefix (ADDR/LEN, e.g. 2001:db8::/64)",
            Self::Address => "not an IPv6 prefix (the part before `/` is not an IPv6 address)",
            Self::Length => "not an IPv6 prefix (the length is not 0..=128)",
        })
    }
}

impl core::error::Error for ParsePrefixError {}

/// `ADDR/LEN` with `LEN` in 0..=128 (decimal digits only). Host bits are kept.
impl FromStr for Prefix {
    type Err = ParsePrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = s.split_once('/').ok_or(ParsePrefixError::NoLength)?;
        let addr = a.parse().map_err(|_| ParsePrefixError::Address)?;
        if l.is_empty() || l.len() > 3 || !l.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParsePrefixError::Length);
        }
        let len: u8 = l.parse().map_err(|_| ParsePrefixError::Length)?;
        if len > 128 {
            return Err(ParsePrefixError::Length);
        }
        Ok(Self::new(addr, len))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::text::deserialize_from_str(d, "an IPv6 prefix (ADDR/LEN)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Prefix, ParsePrefixError> {
        s.parse()
    }

    #[test]
    fn parse_and_show() {
        let x = p("2001:db8::1/64").unwrap();
        assert_eq!(x.addr, "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(x.len, 64);
        assert_eq!(x.network(), "2001:db8::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            x.last(),
            "2001:db8::ffff:ffff:ffff:ffff".parse::<Ipv6Addr>().unwrap()
        );
        assert!(x.contains(&"2001:db8::5".parse().unwrap()));
        assert!(!x.contains(&"2001:db9::5".parse().unwrap()));
        extern crate std;
        use std::string::ToString;
        assert_eq!(x.trunc().to_string(), "2001:db8::/64");
        assert_eq!(p("::/0").unwrap().mask(), 0);
        assert_eq!(p("::1/128").unwrap().mask(), u128::MAX);
        assert_eq!(p("fd00::"), Err(ParsePrefixError::NoLength));
        assert_eq!(p("fd00::/129"), Err(ParsePrefixError::Length));
        assert_eq!(p("fd00::/+64"), Err(ParsePrefixError::Length));
        assert_eq!(p("fd00::/"), Err(ParsePrefixError::Length));
        assert_eq!(p("10.0.0.0/8"), Err(ParsePrefixError::Address));
    }
}
