//! NDP options (RFC 4861 section 4.6 and later RFCs).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |              ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                              ...                              ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Length is in units of 8 octets, type and length included.
//!
//! The walk keeps every option in order, several of a kind, unknown types raw. RFC 4861 section
//! 4.6: "Nodes MUST silently discard an ND packet that contains an option with length zero."
//! Only a zero length or an option running past the end stops the walk; what was read before is
//! kept and the stop is reported (see [`OptionWalkError`]).
pub use super::types::NdpOptionType;
use super::{Error, Result};

/// Option type numbers.
pub mod kind {
    pub const SOURCE_LL_ADDR: u8 = 1;
    pub const TARGET_LL_ADDR: u8 = 2;
    pub const PREFIX_INFO: u8 = 3;
    pub const REDIRECTED_HEADER: u8 = 4;
    pub const MTU: u8 = 5;
    pub const NONCE: u8 = 14;
    pub const ROUTE_INFO: u8 = 24;
    pub const RDNSS: u8 = 25;
    pub const RA_FLAGS_EXT: u8 = 26;
    pub const DNSSL: u8 = 31;
    pub const CAPTIVE_PORTAL: u8 = 37;
    pub const PREF64: u8 = 38;
}

#[allow(dead_code)] // some offsets are used only with `alloc`
mod field {
    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    pub const DATA: usize = 2;
    // Prefix information (RFC 4861 4.6.2), offsets from the option start.
    pub const PIO_PREFIX_LEN: usize = 2;
    pub const PIO_FLAGS: usize = 3;
    pub const PIO_VALID: usize = 4;
    pub const PIO_PREFERRED: usize = 8;
    pub const PIO_PREFIX: usize = 16;
    // MTU (4.6.4)
    pub const MTU: usize = 4;
    // Route information (RFC 4191 2.3)
    pub const RIO_PREFIX_LEN: usize = 2;
    pub const RIO_FLAGS: usize = 3;
    pub const RIO_LIFETIME: usize = 4;
    pub const RIO_PREFIX: usize = 8;
    // RDNSS / DNSSL (RFC 8106 5.1, 5.2)
    pub const DNS_LIFETIME: usize = 4;
    pub const DNS_DATA: usize = 8;
    // PREF64 (RFC 8781 4)
    pub const PREF64_SL_PLC: usize = 2;
    pub const PREF64_PREFIX: usize = 4;
    // Redirected header (4.6.3)
    pub const RH_DATA: usize = 8;
}

/// Why the option walk stopped early. `offset` is from the start of the options area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case", tag = "error"))]
pub enum OptionWalkError {
    /// An option with length 0.
    ZeroLength { offset: usize, option_type: u8 },
    /// An option (or its 2-byte header) runs past the end of the message.
    PastEnd {
        offset: usize,
        option_type: u8,
        need: usize,
        have: usize,
    },
}

/// A zero-copy view of one option.
#[derive(Debug, Clone)]
pub struct NdpOptionView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NdpOptionView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let o = Self::new_unchecked(buffer);
        o.check_len()?;
        Ok(o)
    }
    /// The header is present, length is not 0, and the buffer holds `length * 8` bytes.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < 2 {
            return Err(Error::Truncated {
                layer: "ndp option",
                need: 2,
                have: b.len(),
            });
        }
        let need = b[field::LENGTH] as usize * 8;
        if need == 0 {
            return Err(Error::Malformed {
                layer: "ndp option",
                what: "length 0",
            });
        }
        if b.len() < need {
            return Err(Error::Truncated {
                layer: "ndp option",
                need,
                have: b.len(),
            });
        }
        Ok(())
    }
    pub fn option_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    /// Length in units of 8 octets.
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }
    /// The whole option, `length * 8` bytes.
    pub fn bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..(self.length() as usize * 8).min(b.len())]
    }
    /// The option after its type and length bytes.
    pub fn data(&self) -> &[u8] {
        let b = self.bytes();
        &b[field::DATA.min(b.len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NdpOptionView<T> {
    pub fn set_option_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }
    pub fn set_length(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }
}

/// Walks an options area: yields each option view, then at most one error, then ends.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    buf: &'a [u8],
    off: usize,
    done: bool,
}

impl<'a> OptionIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            off: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = core::result::Result<NdpOptionView<&'a [u8]>, OptionWalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.off >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.off..];
        let option_type = rest[0];
        if rest.len() < 2 {
            self.done = true;
            return Some(Err(OptionWalkError::PastEnd {
                offset: self.off,
                option_type,
                need: 2,
                have: rest.len(),
            }));
        }
        let len = rest[1] as usize * 8;
        if len == 0 {
            self.done = true;
            return Some(Err(OptionWalkError::ZeroLength {
                offset: self.off,
                option_type,
            }));
        }
        if rest.len() < len {
            self.done = true;
            return Some(Err(OptionWalkError::PastEnd {
                offset: self.off,
                option_type,
                need: len,
                have: rest.len(),
            }));
        }
        self.off += len;
        Some(Ok(NdpOptionView::new_unchecked(&rest[..len])))
    }
}

#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::{string::String, vec::Vec};
    use core::net::Ipv6Addr;

    use super::{field, kind, NdpOptionType, NdpOptionView, OptionIter, OptionWalkError};
    use crate::wire::{
        addr16, be16, be32, ethernet::EthernetAddress, quoted::Quoted, Error, Prefix, Result,
    };

    /// Router / route preference (RFC 4191 section 2.1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize))]
    #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
    pub enum Preference {
        Medium,
        High,
        /// 10: "reserved ... MUST NOT be sent"; receivers treat it as medium.
        Reserved,
        Low,
    }

    impl Preference {
        pub fn from_bits(b: u8) -> Self {
            match b & 3 {
                0 => Self::Medium,
                1 => Self::High,
                2 => Self::Reserved,
                _ => Self::Low,
            }
        }
        pub fn bits(self) -> u8 {
            match self {
                Self::Medium => 0,
                Self::High => 1,
                Self::Reserved => 2,
                Self::Low => 3,
            }
        }
    }

    /// One NDP option in owned form.
    ///
    /// JSON (inside a message's `"options":[...]`): `{"type":3,"name":"prefix_info", ...fields}`:
    /// - `source_ll_addr` / `target_ll_addr`: `"addr":"aa:bb:cc:dd:ee:ff"`
    /// - `prefix_info`: `"prefix":"2001:db8::/64","on_link","autonomous","router_addr",
    ///   "dhcpv6_pd"` (bools), `"valid_lifetime","preferred_lifetime"` (seconds, 4294967295 =
    ///   infinity)
    /// - `redirected_header`: `"quoted":{..}` (see [`Quoted`])
    /// - `mtu`: `"mtu"`; `nonce`: `"nonce":"hex"`
    /// - `route_info`: `"prefix","preference":"high|medium|low|reserved","route_lifetime"`
    /// - `rdnss`: `"lifetime","servers":["2001:db8::53"]`
    /// - `ra_flags_ext`: `"bits"` (the 48 flag bits as an integer)
    /// - `dnssl`: `"lifetime","domains":["example.com"]`
    /// - `captive_portal`: `"uri"`
    /// - `pref64`: `"prefix":"64:ff9b::/96","lifetime"` (seconds)
    /// - `unknown`: `"data":"hex"`; `malformed` (a known type whose length or content is
    ///   wrong, kept raw): `"option_type","reason","data":"hex"`
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum NdpOption {
        SourceLlAddr {
            addr: EthernetAddress,
        },
        TargetLlAddr {
            addr: EthernetAddress,
        },
        PrefixInfo {
            prefix: Prefix,
            on_link: bool,
            autonomous: bool,
            /// R (RFC 6275 7.2).
            router_addr: bool,
            /// P (RFC 9762).
            dhcpv6_pd: bool,
            /// The other flag bits (Reserved1), kept so emit reproduces the input.
            reserved_flags: u8,
            valid_lifetime: u32,
            preferred_lifetime: u32,
        },
        RedirectedHeader {
            /// The quoted packet (IP header + data), raw.
            data: Vec<u8>,
        },
        Mtu {
            mtu: u32,
        },
        Nonce {
            nonce: Vec<u8>,
        },
        RouteInfo {
            prefix: Prefix,
            preference: Preference,
            route_lifetime: u32,
            /// Option length in 8-octet units (1, 2 or 3: how many prefix bytes were sent).
            length: u8,
        },
        Rdnss {
            lifetime: u32,
            servers: Vec<Ipv6Addr>,
        },
        RaFlagsExt {
            bits: u64,
        },
        Dnssl {
            lifetime: u32,
            domains: Vec<String>,
            /// Option length in 8-octet units (padding is not unique).
            length: u8,
        },
        CaptivePortal {
            uri: String,
            length: u8,
        },
        Pref64 {
            prefix: Prefix,
            /// Seconds (scaled lifetime * 8).
            lifetime: u16,
        },
        Unknown {
            option_type: u8,
            data: Vec<u8>,
        },
        /// A known type with a length or content that cannot be read as that type.
        Malformed {
            option_type: u8,
            reason: &'static str,
            data: Vec<u8>,
        },
    }

    /// PREF64 prefix length code (RFC 8781 section 4).
    fn plc_to_len(plc: u8) -> Option<u8> {
        Some(match plc {
            0 => 96,
            1 => 64,
            2 => 56,
            3 => 48,
            4 => 40,
            5 => 32,
            _ => return None,
        })
    }

    fn len_to_plc(len: u8) -> u8 {
        match len {
            64 => 1,
            56 => 2,
            48 => 3,
            40 => 4,
            32 => 5,
            _ => 0,
        }
    }

    fn prefix_bytes(b: &[u8]) -> Ipv6Addr {
        let mut a = [0u8; 16];
        let n = b.len().min(16);
        a[..n].copy_from_slice(&b[..n]);
        Ipv6Addr::from(a)
    }

    /// Decodes DNS wire-format names (RFC 1035 3.1, no compression) up to zero padding.
    fn decode_names(mut b: &[u8]) -> Option<Vec<String>> {
        let mut out = Vec::new();
        while let Some(&first) = b.first() {
            if first == 0 {
                // Padding: the rest must be zeros (RFC 8106 5.2).
                return b.iter().all(|&x| x == 0).then_some(out);
            }
            let mut name = String::new();
            loop {
                let (&l, rest) = b.split_first()?;
                b = rest;
                if l == 0 {
                    break;
                }
                if l > 63 || b.len() < l as usize {
                    return None;
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &c in &b[..l as usize] {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        name.push(c as char);
                    } else {
                        // Escaped like RFC 1035 master files, so the text stays unambiguous.
                        use core::fmt::Write;
                        let _ = write!(name, "\\{c:03}");
                    }
                }
                b = &b[l as usize..];
            }
            out.push(name);
        }
        Some(out)
    }

    fn encode_names(names: &[String], out: &mut [u8]) -> usize {
        let mut off = 0;
        for n in names {
            for label in n.split('.').filter(|l| !l.is_empty()) {
                let lb = label.as_bytes();
                let l = lb.len().min(63);
                if off + 1 + l > out.len() {
                    return off;
                }
                out[off] = l as u8;
                out[off + 1..off + 1 + l].copy_from_slice(&lb[..l]);
                off += 1 + l;
            }
            if off < out.len() {
                out[off] = 0;
                off += 1;
            }
        }
        off
    }

    fn names_len(names: &[String]) -> usize {
        names
            .iter()
            .map(|n| {
                n.split('.')
                    .filter(|l| !l.is_empty())
                    .map(|l| 1 + l.len().min(63))
                    .sum::<usize>()
                    + 1
            })
            .sum()
    }

    impl NdpOption {
        /// The option type number.
        pub fn option_type(&self) -> NdpOptionType {
            NdpOptionType::from(match self {
                Self::SourceLlAddr { .. } => kind::SOURCE_LL_ADDR,
                Self::TargetLlAddr { .. } => kind::TARGET_LL_ADDR,
                Self::PrefixInfo { .. } => kind::PREFIX_INFO,
                Self::RedirectedHeader { .. } => kind::REDIRECTED_HEADER,
                Self::Mtu { .. } => kind::MTU,
                Self::Nonce { .. } => kind::NONCE,
                Self::RouteInfo { .. } => kind::ROUTE_INFO,
                Self::Rdnss { .. } => kind::RDNSS,
                Self::RaFlagsExt { .. } => kind::RA_FLAGS_EXT,
                Self::Dnssl { .. } => kind::DNSSL,
                Self::CaptivePortal { .. } => kind::CAPTIVE_PORTAL,
                Self::Pref64 { .. } => kind::PREF64,
                Self::Unknown { option_type, .. } | Self::Malformed { option_type, .. } => {
                    *option_type
                }
            })
        }

        /// Stable snake_case name (`"malformed"` for a malformed known type).
        pub fn name(&self) -> &'static str {
            match self {
                Self::Malformed { .. } => "malformed",
                o => o.option_type().name(),
            }
        }

        /// Parses one option from a checked view. Never fails: a known type that cannot be
        /// read becomes [`NdpOption::Malformed`].
        pub fn parse<T: AsRef<[u8]>>(v: &NdpOptionView<T>) -> Self {
            let b = v.bytes();
            let t = v.option_type();
            let len = v.length();
            let bad = |reason| Self::Malformed {
                option_type: t,
                reason,
                data: b.get(2..).unwrap_or_default().to_vec(),
            };
            match t {
                kind::SOURCE_LL_ADDR | kind::TARGET_LL_ADDR => {
                    // RFC 2464 section 6: "Length 1 (in units of 8 octets)" for Ethernet.
                    if len != 1 {
                        return bad("link-layer address length is not Ethernet");
                    }
                    let mut a = [0u8; 6];
                    a.copy_from_slice(&b[2..8]);
                    let addr = EthernetAddress(a);
                    if t == kind::SOURCE_LL_ADDR {
                        Self::SourceLlAddr { addr }
                    } else {
                        Self::TargetLlAddr { addr }
                    }
                }
                kind::PREFIX_INFO => {
                    if len != 4 {
                        return bad("prefix information length is not 4");
                    }
                    let f = b[field::PIO_FLAGS];
                    Self::PrefixInfo {
                        prefix: Prefix {
                            addr: addr16(b, field::PIO_PREFIX),
                            len: b[field::PIO_PREFIX_LEN],
                        },
                        on_link: f & 0x80 != 0,
                        autonomous: f & 0x40 != 0,
                        router_addr: f & 0x20 != 0,
                        dhcpv6_pd: f & 0x10 != 0,
                        reserved_flags: f & 0x0f,
                        valid_lifetime: be32(b, field::PIO_VALID),
                        preferred_lifetime: be32(b, field::PIO_PREFERRED),
                    }
                }
                kind::REDIRECTED_HEADER => Self::RedirectedHeader {
                    data: b[field::RH_DATA.min(b.len())..].to_vec(),
                },
                kind::MTU => {
                    if len != 1 {
                        return bad("MTU option length is not 1");
                    }
                    Self::Mtu {
                        mtu: be32(b, field::MTU),
                    }
                }
                kind::NONCE => Self::Nonce {
                    nonce: b[2..].to_vec(),
                },
                kind::ROUTE_INFO => {
                    // RFC 4191 2.3: "The Length field is 1, 2, or 3 depending on the Prefix
                    // Length."
                    if !(1..=3).contains(&len) {
                        return bad("route information length is not 1, 2 or 3");
                    }
                    let plen = b[field::RIO_PREFIX_LEN];
                    Self::RouteInfo {
                        prefix: Prefix {
                            addr: prefix_bytes(&b[field::RIO_PREFIX..]),
                            len: plen,
                        },
                        preference: Preference::from_bits(b[field::RIO_FLAGS] >> 3),
                        route_lifetime: be32(b, field::RIO_LIFETIME),
                        length: len,
                    }
                }
                kind::RDNSS => {
                    // RFC 8106 5.1: "The minimum value is 3 if one IPv6 address is contained
                    // in the option. Every additional RDNSS address increases the length by 2."
                    if len < 3 || len & 1 == 0 {
                        return bad("RDNSS length is not 3 + 2n");
                    }
                    let servers = b[field::DNS_DATA..]
                        .chunks_exact(16)
                        .map(|c| addr16(c, 0))
                        .collect();
                    Self::Rdnss {
                        lifetime: be32(b, field::DNS_LIFETIME),
                        servers,
                    }
                }
                kind::RA_FLAGS_EXT => {
                    if len != 1 {
                        return bad("RA flags extension length is not 1");
                    }
                    let mut bits = [0u8; 8];
                    bits[2..].copy_from_slice(&b[2..8]);
                    Self::RaFlagsExt {
                        bits: u64::from_be_bytes(bits),
                    }
                }
                kind::DNSSL => {
                    // RFC 8106 5.2: "The minimum value is 2 if at least one domain name is
                    // contained in the option."
                    if len < 2 {
                        return bad("DNSSL length is less than 2");
                    }
                    match decode_names(&b[field::DNS_DATA..]) {
                        Some(domains) => Self::Dnssl {
                            lifetime: be32(b, field::DNS_LIFETIME),
                            domains,
                            length: len,
                        },
                        None => bad("DNSSL domain names are not valid DNS encoding"),
                    }
                }
                kind::CAPTIVE_PORTAL => {
                    // RFC 8910 2.3: "The URI ... padded with NUL (0x00) characters."
                    let raw = &b[2..];
                    let end = raw.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
                    Self::CaptivePortal {
                        uri: String::from_utf8_lossy(&raw[..end]).into_owned(),
                        length: len,
                    }
                }
                kind::PREF64 => {
                    if len != 2 {
                        return bad("PREF64 length is not 2");
                    }
                    let w = be16(b, field::PREF64_SL_PLC);
                    let Some(plen) = plc_to_len((w & 7) as u8) else {
                        return bad("PREF64 prefix length code is reserved");
                    };
                    Self::Pref64 {
                        prefix: Prefix {
                            addr: prefix_bytes(&b[field::PREF64_PREFIX..16]),
                            len: plen,
                        },
                        lifetime: (w >> 3) * 8,
                    }
                }
                _ => Self::Unknown {
                    option_type: t,
                    data: b[2..].to_vec(),
                },
            }
        }

        /// The encoded length in bytes (a multiple of 8).
        pub fn buffer_len(&self) -> usize {
            let raw = match self {
                Self::SourceLlAddr { .. }
                | Self::TargetLlAddr { .. }
                | Self::Mtu { .. }
                | Self::RaFlagsExt { .. } => 8,
                Self::PrefixInfo { .. } => 32,
                Self::RedirectedHeader { data } => 8 + data.len(),
                Self::Nonce { nonce } => 2 + nonce.len(),
                Self::RouteInfo { length, .. } => *length as usize * 8,
                Self::Rdnss { servers, .. } => 8 + 16 * servers.len(),
                Self::Dnssl {
                    domains, length, ..
                } => (8 + names_len(domains)).max(*length as usize * 8),
                Self::CaptivePortal { uri, length } => (2 + uri.len()).max(*length as usize * 8),
                Self::Pref64 { .. } => 16,
                Self::Unknown { data, .. } | Self::Malformed { data, .. } => 2 + data.len(),
            };
            raw.div_ceil(8).clamp(1, 255) * 8
        }

        /// Writes the option (with zero padding) at the start of `buf`; returns its length.
        pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
            let n = self.buffer_len();
            if buf.len() < n {
                return Err(Error::BufferTooSmall {
                    need: n,
                    have: buf.len(),
                });
            }
            let b = &mut buf[..n];
            b.fill(0);
            b[0] = self.option_type().into();
            b[1] = (n / 8) as u8;
            let put = |b: &mut [u8], at: usize, src: &[u8]| {
                let m = src.len().min(b.len().saturating_sub(at));
                b[at..at + m].copy_from_slice(&src[..m]);
            };
            match self {
                Self::SourceLlAddr { addr } | Self::TargetLlAddr { addr } => put(b, 2, &addr.0),
                Self::PrefixInfo {
                    prefix,
                    on_link,
                    autonomous,
                    router_addr,
                    dhcpv6_pd,
                    reserved_flags,
                    valid_lifetime,
                    preferred_lifetime,
                } => {
                    b[field::PIO_PREFIX_LEN] = prefix.len;
                    b[field::PIO_FLAGS] = (u8::from(*on_link) << 7)
                        | (u8::from(*autonomous) << 6)
                        | (u8::from(*router_addr) << 5)
                        | (u8::from(*dhcpv6_pd) << 4)
                        | (reserved_flags & 0x0f);
                    put(b, field::PIO_VALID, &valid_lifetime.to_be_bytes());
                    put(b, field::PIO_PREFERRED, &preferred_lifetime.to_be_bytes());
                    put(b, field::PIO_PREFIX, &prefix.addr.octets());
                }
                Self::RedirectedHeader { data } => put(b, field::RH_DATA, data),
                Self::Mtu { mtu } => put(b, field::MTU, &mtu.to_be_bytes()),
                Self::Nonce { nonce } => put(b, 2, nonce),
                Self::RouteInfo {
                    prefix,
                    preference,
                    route_lifetime,
                    ..
                } => {
                    b[field::RIO_PREFIX_LEN] = prefix.len;
                    b[field::RIO_FLAGS] = preference.bits() << 3;
                    put(b, field::RIO_LIFETIME, &route_lifetime.to_be_bytes());
                    let o = prefix.addr.octets();
                    let m = (n - field::RIO_PREFIX).min(16);
                    put(b, field::RIO_PREFIX, &o[..m]);
                }
                Self::Rdnss { lifetime, servers } => {
                    put(b, field::DNS_LIFETIME, &lifetime.to_be_bytes());
                    for (i, s) in servers.iter().enumerate() {
                        put(b, field::DNS_DATA + 16 * i, &s.octets());
                    }
                }
                Self::RaFlagsExt { bits } => put(b, 2, &bits.to_be_bytes()[2..]),
                Self::Dnssl {
                    lifetime, domains, ..
                } => {
                    put(b, field::DNS_LIFETIME, &lifetime.to_be_bytes());
                    encode_names(domains, &mut b[field::DNS_DATA..]);
                }
                Self::CaptivePortal { uri, .. } => put(b, 2, uri.as_bytes()),
                Self::Pref64 { prefix, lifetime } => {
                    let w = ((lifetime / 8) << 3) | u16::from(len_to_plc(prefix.len));
                    put(b, field::PREF64_SL_PLC, &w.to_be_bytes());
                    put(b, field::PREF64_PREFIX, &prefix.addr.octets()[..12]);
                }
                Self::Unknown { data, .. } | Self::Malformed { data, .. } => put(b, 2, data),
            }
            Ok(n)
        }

        /// The quoted packet of a redirected-header option, decoded as far as it goes.
        pub fn quoted(&self) -> Option<Quoted> {
            match self {
                Self::RedirectedHeader { data } => Some(Quoted::parse(data)),
                _ => None,
            }
        }
    }

    /// All options of a message, in order, and why the walk stopped early (if it did).
    ///
    /// JSON: serialized as the list of options only; a walk error is reported in
    /// `violations` (`option_zero_length` / `option_past_end`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Options {
        pub list: Vec<NdpOption>,
        pub error: Option<OptionWalkError>,
    }

    impl Options {
        /// Walks `buf` (the options area of a message).
        pub fn parse(buf: &[u8]) -> Self {
            // Count first (a walk of the length bytes only), so the list is allocated once.
            let n = OptionIter::new(buf).filter(|i| i.is_ok()).count();
            let mut o = Self {
                list: Vec::with_capacity(n),
                error: None,
            };
            for item in OptionIter::new(buf) {
                match item {
                    Ok(v) => o.list.push(NdpOption::parse(&v)),
                    Err(e) => o.error = Some(e),
                }
            }
            o
        }
        pub fn buffer_len(&self) -> usize {
            self.list.iter().map(NdpOption::buffer_len).sum()
        }
        pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
            let mut off = 0;
            for o in &self.list {
                let at = off.min(buf.len());
                off += o.emit(&mut buf[at..])?;
            }
            Ok(off)
        }
        pub fn iter(&self) -> core::slice::Iter<'_, NdpOption> {
            self.list.iter()
        }
        /// The first source link-layer address option, if any.
        pub fn source_ll_addr(&self) -> Option<EthernetAddress> {
            self.list.iter().find_map(|o| match o {
                NdpOption::SourceLlAddr { addr } => Some(*addr),
                _ => None,
            })
        }
        /// The first target link-layer address option, if any.
        pub fn target_ll_addr(&self) -> Option<EthernetAddress> {
            self.list.iter().find_map(|o| match o {
                NdpOption::TargetLlAddr { addr } => Some(*addr),
                _ => None,
            })
        }
    }

    impl From<Vec<NdpOption>> for Options {
        fn from(list: Vec<NdpOption>) -> Self {
            Self { list, error: None }
        }
    }

    #[cfg(feature = "serde")]
    mod ser {
        use serde::ser::{SerializeMap, Serializer};

        use super::{NdpOption, Options};
        use crate::wire::text::Hex;

        impl serde::Serialize for NdpOption {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", &u8::from(self.option_type()))?;
                m.serialize_entry("name", self.name())?;
                match self {
                    NdpOption::SourceLlAddr { addr } | NdpOption::TargetLlAddr { addr } => {
                        m.serialize_entry("addr", addr)?
                    }
                    NdpOption::PrefixInfo {
                        prefix,
                        on_link,
                        autonomous,
                        router_addr,
                        dhcpv6_pd,
                        valid_lifetime,
                        preferred_lifetime,
                        ..
                    } => {
                        m.serialize_entry("prefix", prefix)?;
                        m.serialize_entry("on_link", on_link)?;
                        m.serialize_entry("autonomous", autonomous)?;
                        m.serialize_entry("router_addr", router_addr)?;
                        m.serialize_entry("dhcpv6_pd", dhcpv6_pd)?;
                        m.serialize_entry("valid_lifetime", valid_lifetime)?;
                        m.serialize_entry("preferred_lifetime", preferred_lifetime)?;
                    }
                    NdpOption::RedirectedHeader { .. } => {
                        m.serialize_entry("quoted", &self.quoted())?
                    }
                    NdpOption::Mtu { mtu } => m.serialize_entry("mtu", mtu)?,
                    NdpOption::Nonce { nonce } => m.serialize_entry("nonce", &Hex(nonce))?,
                    NdpOption::RouteInfo {
                        prefix,
                        preference,
                        route_lifetime,
                        ..
                    } => {
                        m.serialize_entry("prefix", prefix)?;
                        m.serialize_entry("preference", preference)?;
                        m.serialize_entry("route_lifetime", route_lifetime)?;
                    }
                    NdpOption::Rdnss { lifetime, servers } => {
                        m.serialize_entry("lifetime", lifetime)?;
                        m.serialize_entry("servers", servers)?;
                    }
                    NdpOption::RaFlagsExt { bits } => m.serialize_entry("bits", bits)?,
                    NdpOption::Dnssl {
                        lifetime, domains, ..
                    } => {
                        m.serialize_entry("lifetime", lifetime)?;
                        m.serialize_entry("domains", domains)?;
                    }
                    NdpOption::CaptivePortal { uri, .. } => m.serialize_entry("uri", uri)?,
                    NdpOption::Pref64 { prefix, lifetime } => {
                        m.serialize_entry("prefix", prefix)?;
                        m.serialize_entry("lifetime", lifetime)?;
                    }
                    NdpOption::Unknown { data, .. } => m.serialize_entry("data", &Hex(data))?,
                    NdpOption::Malformed {
                        option_type,
                        reason,
                        data,
                    } => {
                        m.serialize_entry("option_type", option_type)?;
                        m.serialize_entry("reason", reason)?;
                        m.serialize_entry("data", &Hex(data))?;
                    }
                }
                m.end()
            }
        }

        impl serde::Serialize for Options {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.list.iter())
            }
        }
    }
}
