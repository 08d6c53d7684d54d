//! NDP options (RFC 4861 section 4.6 and later RFCs): one module per option kind, each with
//! its parse (to the borrowed [`NdpOptionRef`]), emit and serialize side by side; the
//! registration of every kind is the one `ndp_options!` list below. Adding an option type is
//! a module with `parse`, `data_len`, `emit`, `serialize` and a line in that list.
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
//!
//! Two forms: [`NdpOptionRef`] borrows the message bytes and allocates nothing (the monitor's
//! hot path walks options with it); [`NdpOption`] (with `alloc`) owns its values, for printing
//! and emitting. `NdpOption::parse` is `NdpOptionRef::parse` then `to_owned`: one parser.
#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};
use core::net::Ipv6Addr;

use super::{Error, EthernetAddress, Prefix, Result};

mod captive_portal;
mod dnssl;
mod lla;
mod mtu;
mod nonce;
mod pref64;
mod prefix_info;
mod ra_flags_ext;
mod rdnss;
mod redirected_header;
mod route_info;
mod unknown;

pub use captive_portal::Text;
pub use dnssl::{DnsName, DnsNames};
pub use rdnss::Addrs;

mod field {
    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    pub const DATA: usize = 2;
}

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
    pub fn option_type(&self) -> NdpOptionType {
        NdpOptionType::from(self.buffer.as_ref()[field::TYPE])
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

impl<'a> NdpOptionView<&'a [u8]> {
    /// The whole option (`length * 8` bytes, or what the buffer has), for as long as the
    /// buffer lives.
    #[inline]
    pub fn into_bytes(self) -> &'a [u8] {
        let n = (self.length() as usize * 8).min(self.buffer.len());
        &self.buffer[..n]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NdpOptionView<T> {
    pub fn set_option_type(&mut self, v: NdpOptionType) {
        self.buffer.as_mut()[field::TYPE] = v.into();
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

    #[inline]
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

/// The registry: for each option kind, its type number and name (these make [`NdpOptionType`]),
/// its module, and its fields as owned `=>` borrowed types (these make [`NdpOption`] and
/// [`NdpOptionRef`], and the dispatch to the module).
macro_rules! ndp_options {
    (<$a:lifetime> $(
        $(#[$vm:meta])*
        $var:ident = $num:literal, $text:literal, $m:ident {
            $( $(#[$fm:meta])* $f:ident : $owned:ty => $borrowed:ty ),* $(,)?
        }
    ),* $(,)?) => {
        numbered_enum! {
            /// NDP option types (IANA "IPv6 Neighbor Discovery Option Formats"): the ones
            /// v6probe decodes.
            pub enum NdpOptionType {
                $( $var = $num => $text, )*
            }
        }

        /// One option, borrowing the message bytes: nothing is copied or allocated. Variable
        /// parts (RDNSS servers, DNSSL names, captive portal URI, raw data) are read when
        /// walked. See [`NdpOption`] for the fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum NdpOptionRef<$a> {
            $( $(#[$vm])* $var { $( $f: $borrowed ),* }, )*
            /// A type v6probe does not decode.
            Unknown { option_type: u8, data: &$a [u8] },
            /// A known type with a length or content that cannot be read as that type.
            Malformed { option_type: u8, reason: &'static str, data: &$a [u8] },
        }

        impl<$a> NdpOptionRef<$a> {
            /// Parses one option: `b` is the whole option (`length * 8` bytes, as the walker
            /// yields it). Never fails: a known type that cannot be read is `Malformed`.
            #[inline]
            pub fn parse(b: &$a [u8]) -> Self {
                let Some(&t) = b.first() else {
                    return Self::Malformed { option_type: 0, reason: "empty option", data: b };
                };
                let data = b.get(field::DATA..).unwrap_or_default();
                if b.len() < 8 || b.len() < usize::from(b[field::LENGTH]) * 8 {
                    return Self::Malformed {
                        option_type: t,
                        reason: "option shorter than its length field",
                        data,
                    };
                }
                // Each arm unwraps its own result, so the option is built where it is
                // returned (one result merged from every arm was copied field by field).
                match t {
                    $( $num => match $m::parse(b) {
                        Ok(o) => o,
                        Err(reason) => Self::Malformed { option_type: t, reason, data },
                    }, )*
                    _ => Self::Unknown { option_type: t, data },
                }
            }

            /// The option type.
            pub fn option_type(&self) -> NdpOptionType {
                match self {
                    $( Self::$var { .. } => NdpOptionType::$var, )*
                    Self::Unknown { option_type, .. } | Self::Malformed { option_type, .. } => {
                        NdpOptionType::from(*option_type)
                    }
                }
            }

            /// The owned form.
            #[cfg(feature = "alloc")]
            pub fn to_owned(&self) -> NdpOption {
                match self {
                    $( Self::$var { $($f),* } => NdpOption::$var {
                        $( $f: ToOwnedField::to_owned_field($f) ),*
                    }, )*
                    Self::Unknown { option_type, data } => NdpOption::Unknown {
                        option_type: *option_type,
                        data: data.to_vec(),
                    },
                    Self::Malformed { option_type, reason, data } => NdpOption::Malformed {
                        option_type: *option_type,
                        reason,
                        data: data.to_vec(),
                    },
                }
            }
        }

        /// One NDP option in owned form.
        ///
        /// JSON (inside a message's `"options":[...]`): `{"type":3,"name":"prefix_info",
        /// ...fields}`, the fields as each kind's module says; `malformed` (a known type whose
        /// length or content is wrong, kept raw): `"option_type","reason","data":"hex"`.
        #[cfg(feature = "alloc")]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum NdpOption {
            $( $(#[$vm])* $var { $( $(#[$fm])* $f: $owned ),* }, )*
            /// A type v6probe does not decode.
            Unknown { option_type: u8, data: Vec<u8> },
            /// A known type with a length or content that cannot be read as that type.
            Malformed { option_type: u8, reason: &'static str, data: Vec<u8> },
        }

        #[cfg(feature = "alloc")]
        impl NdpOption {
            /// The option type.
            pub fn option_type(&self) -> NdpOptionType {
                match self {
                    $( Self::$var { .. } => NdpOptionType::$var, )*
                    Self::Unknown { option_type, .. } | Self::Malformed { option_type, .. } => {
                        NdpOptionType::from(*option_type)
                    }
                }
            }

            /// Bytes before padding to a multiple of 8.
            fn data_len(&self) -> usize {
                match self {
                    $( Self::$var { .. } => $m::data_len(self), )*
                    Self::Unknown { .. } | Self::Malformed { .. } => unknown::data_len(self),
                }
            }

            /// Writes the fields after the type and length bytes (`b` is zeroed).
            fn emit_fields(&self, b: &mut [u8]) {
                match self {
                    $( Self::$var { .. } => $m::emit(self, b), )*
                    Self::Unknown { .. } | Self::Malformed { .. } => unknown::emit(self, b),
                }
            }

            #[cfg(feature = "serde")]
            fn serialize_fields<M: serde::ser::SerializeMap>(
                &self,
                m: &mut M,
            ) -> core::result::Result<(), M::Error> {
                match self {
                    $( Self::$var { .. } => $m::serialize(self, m), )*
                    Self::Unknown { .. } | Self::Malformed { .. } => unknown::serialize(self, m),
                }
            }
        }
    };
}

ndp_options! { <'a>
    SourceLlAddr = 1, "source_ll_addr", lla { addr: EthernetAddress => EthernetAddress },
    TargetLlAddr = 2, "target_ll_addr", lla { addr: EthernetAddress => EthernetAddress },
    PrefixInfo = 3, "prefix_info", prefix_info {
        prefix: Prefix => Prefix,
        on_link: bool => bool,
        autonomous: bool => bool,
        /// R (RFC 6275 7.2).
        router_addr: bool => bool,
        /// P (RFC 9762).
        dhcpv6_pd: bool => bool,
        /// The other flag bits (Reserved1), kept so emit reproduces the input.
        reserved_flags: u8 => u8,
        valid_lifetime: u32 => u32,
        preferred_lifetime: u32 => u32,
    },
    RedirectedHeader = 4, "redirected_header", redirected_header {
        /// The quoted packet (IP header + data), raw.
        data: Vec<u8> => &'a [u8],
    },
    Mtu = 5, "mtu", mtu { mtu: u32 => u32 },
    Nonce = 14, "nonce", nonce { nonce: Vec<u8> => &'a [u8] },
    RouteInfo = 24, "route_info", route_info {
        prefix: Prefix => Prefix,
        preference: Preference => Preference,
        route_lifetime: u32 => u32,
        /// Option length in 8-octet units (1, 2 or 3: how many prefix bytes were sent).
        length: u8 => u8,
    },
    Rdnss = 25, "rdnss", rdnss { lifetime: u32 => u32, servers: Vec<Ipv6Addr> => Addrs<'a> },
    RaFlagsExt = 26, "ra_flags_ext", ra_flags_ext { bits: u64 => u64 },
    Dnssl = 31, "dnssl", dnssl {
        lifetime: u32 => u32,
        domains: Vec<String> => DnsNames<'a>,
        /// Option length in 8-octet units (padding is not unique).
        length: u8 => u8,
    },
    CaptivePortal = 37, "captive_portal", captive_portal {
        uri: String => Text<'a>,
        length: u8 => u8,
    },
    Pref64 = 38, "pref64", pref64 {
        prefix: Prefix => Prefix,
        /// Seconds (scaled lifetime * 8).
        lifetime: u16 => u16,
    },
}

/// The first `b.len()` (at most 16) bytes of an address, zero-filled.
fn prefix_bytes(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    let n = b.len().min(16);
    a[..n].copy_from_slice(&b[..n]);
    Ipv6Addr::from(a)
}

/// Copies `src` to `b[at..]`, cut to what fits.
#[cfg(feature = "alloc")]
fn put(b: &mut [u8], at: usize, src: &[u8]) {
    let m = src.len().min(b.len().saturating_sub(at));
    b[at..at + m].copy_from_slice(&src[..m]);
}

/// A borrowed field's owned form (identity for the plain values).
#[cfg(feature = "alloc")]
trait ToOwnedField {
    type Owned;
    fn to_owned_field(&self) -> Self::Owned;
}

#[cfg(feature = "alloc")]
macro_rules! owned_as_is {
    ($($t:ty),*) => {$(
        impl ToOwnedField for $t {
            type Owned = $t;
            fn to_owned_field(&self) -> $t {
                *self
            }
        }
    )*};
}
#[cfg(feature = "alloc")]
owned_as_is!(u8, u16, u32, u64, bool, Prefix, Preference, EthernetAddress);

#[cfg(feature = "alloc")]
impl ToOwnedField for &[u8] {
    type Owned = Vec<u8>;
    fn to_owned_field(&self) -> Vec<u8> {
        self.to_vec()
    }
}

/// The options area of a message, borrowed: walked on demand, nothing allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptionsRef<'a>(pub &'a [u8]);

impl<'a> OptionsRef<'a> {
    /// Each option in order, then at most one walk error.
    #[inline]
    pub fn iter(
        &self,
    ) -> impl Iterator<Item = core::result::Result<NdpOptionRef<'a>, OptionWalkError>> + 'a {
        OptionIter::new(self.0).map(|r| r.map(|v| NdpOptionRef::parse(v.into_bytes())))
    }
    /// The options that could be walked (without the walk error).
    pub fn options(&self) -> impl Iterator<Item = NdpOptionRef<'a>> + 'a {
        self.iter().filter_map(|r| r.ok())
    }
    /// Why the walk stopped early, if it did.
    pub fn walk_error(&self) -> Option<OptionWalkError> {
        OptionIter::new(self.0).find_map(|r| r.err())
    }
    /// The first source link-layer address option, if any.
    pub fn source_ll_addr(&self) -> Option<EthernetAddress> {
        self.options().find_map(|o| match o {
            NdpOptionRef::SourceLlAddr { addr } => Some(addr),
            _ => None,
        })
    }
    /// The first target link-layer address option, if any.
    pub fn target_ll_addr(&self) -> Option<EthernetAddress> {
        self.options().find_map(|o| match o {
            NdpOptionRef::TargetLlAddr { addr } => Some(addr),
            _ => None,
        })
    }
    /// The owned form.
    #[cfg(feature = "alloc")]
    pub fn to_owned(&self) -> Options {
        Options::parse(self.0)
    }
}

#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::vec::Vec;

    use super::{NdpOption, NdpOptionRef, NdpOptionView, OptionIter, OptionWalkError};
    use crate::wire::{ethernet::EthernetAddress, quoted::Quoted, Error, Result};

    impl NdpOption {
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
            NdpOptionRef::parse(v.bytes()).to_owned()
        }

        /// The encoded length in bytes (a multiple of 8).
        pub fn buffer_len(&self) -> usize {
            self.data_len().div_ceil(8).clamp(1, 255) * 8
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
            self.emit_fields(b);
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
            Self::parse_reusing(buf, Vec::new())
        }

        /// [`Options::parse`] into `spare` (emptied first), so a caller decoding message
        /// after message can hand back the list of the previous one and allocate nothing
        /// while its capacity suffices.
        pub fn parse_reusing(buf: &[u8], spare: Vec<NdpOption>) -> Self {
            let mut o = Self {
                list: spare,
                error: None,
            };
            o.refill(buf);
            o
        }

        /// Makes these the options of `buf` in place ([`Options::parse`] into this list,
        /// emptied first).
        pub fn refill(&mut self, buf: &[u8]) {
            self.list.clear();
            self.error = None;
            if self.list.capacity() == 0 {
                // Count first (a walk of the length bytes only), so the list is allocated once.
                self.list
                    .reserve_exact(OptionIter::new(buf).filter(|i| i.is_ok()).count());
            }
            for item in OptionIter::new(buf) {
                match item {
                    Ok(v) => self
                        .list
                        .push(NdpOptionRef::parse(v.into_bytes()).to_owned()),
                    Err(e) => self.error = Some(e),
                }
            }
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

        impl serde::Serialize for NdpOption {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", &u8::from(self.option_type()))?;
                m.serialize_entry("name", self.name())?;
                self.serialize_fields(&mut m)?;
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
