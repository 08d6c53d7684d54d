//! NDP / ICMPv6 wire codec.
//!
//! Follows smoltcp's wire contract: zero-copy `*Packet<T: AsRef<[u8]>>` views with
//! `new_unchecked` / `new_checked` / `check_len`, getters named after the RFC fields and `set_`
//! setters, offsets in a private `mod field` under the RFC diagram; `*Repr` values with
//! `parse`, `buffer_len` and `emit` (emit writes every byte of its span).
//!
//! Two decodes of the same bytes, one parser: the borrowed one ([`FrameRef`], [`Icmpv6Ref`],
//! [`OptionsRef`], [`NdpOptionRef`]) allocates nothing and walks options when asked (the hot
//! path); the owned one ([`Frame`], [`Icmpv6Repr`], [`Options`], [`NdpOption`], with `alloc`)
//! is the borrowed one plus `to_owned`, for printing, keeping and emitting.
//!
//! Modules, each importing only those above it:
//! - [`types`]: ICMPv6 message types as an enum; [`text`]: hex text and the MAC / EUI-64 rule;
//!   [`prefix`]: [`Prefix`] and its text form; [`checksum`].
//! - [`ethernet`]: Ethernet II with up to [`crate::abi::MAX_VLANS`] VLAN tags; MAC and EUI-64.
//! - [`ipv6`]: the IPv6 header and the extension-header chain (bounded by
//!   [`crate::abi::MAX_EXT_HEADERS`]).
//! - [`quoted`]: the packet quoted by an ICMPv6 error or a redirected-header option.
//! - [`ndisc_option`]: NDP options, one module per kind, registered in one list.
//! - [`icmpv6`]: the ICMPv6 header, checksum over the pseudo-header, NDP / error / echo field
//!   accessors, [`Icmpv6Ref`] and (with `alloc`) [`icmpv6::Icmpv6Repr`] / [`icmpv6::Message`].
//! - [`frame`] (with `alloc`): the frame-level decodes, their constructors from a kernel
//!   [`crate::abi::Record`], the whole-frame emitter, and the JSON of a frame.
//! - [`validate`] (with `alloc`): RFC checks, separate from parsing, with stable codes.
//!
//! The eBPF side uses only constants and the zero-copy views; everything that allocates is behind
//! the `alloc` feature; `serde` adds Serialize (and Deserialize on the text value types).

/// A `u8`-numbered protocol field as an enum: the named values, and `Unknown(n)` for any other
/// number. `From<u8>` never yields `Unknown` for a named number, so `==` works on values built
/// from the wire; `From<Self> for u8` gives the number back; `name()` is the stable snake_case
/// name (`"unknown"` for `Unknown`).
macro_rules! numbered_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident {
            $( $(#[$vm:meta])* $var:ident = $num:literal => $text:literal, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vm])* $var, )*
            /// Any other number.
            Unknown(u8),
        }

        impl From<u8> for $name {
            #[inline]
            fn from(n: u8) -> Self {
                match n {
                    $( $num => Self::$var, )*
                    n => Self::Unknown(n),
                }
            }
        }

        impl From<$name> for u8 {
            #[inline]
            fn from(t: $name) -> u8 {
                match t {
                    $( $name::$var => $num, )*
                    $name::Unknown(n) => n,
                }
            }
        }

        impl $name {
            /// Stable snake_case name (`"unknown"` for a number without one).
            pub fn name(self) -> &'static str {
                match self {
                    $( Self::$var => $text, )*
                    Self::Unknown(_) => "unknown",
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub mod checksum;
pub mod ethernet;
pub mod icmpv6;
pub mod ipv6;
pub mod ndisc_option;
pub mod prefix;
pub mod quoted;
pub mod text;
pub mod types;

#[cfg(feature = "alloc")]
pub mod frame;
#[cfg(feature = "alloc")]
pub mod validate;

#[cfg(feature = "alloc")]
pub use frame::{Frame, FrameError, FrameRef, Ip6Info};
#[cfg(feature = "alloc")]
pub use validate::{Code, Violation};

pub use ethernet::{
    EthernetAddress, EthernetFrame, EthernetRepr, Eui64, ParseEui64Error, ParseMacError, VlanTag,
};
pub use icmpv6::{Icmpv6Packet, Icmpv6Ref, Icmpv6Type, MessageRef, NdpType, ParseNdpTypeError};
#[cfg(feature = "alloc")]
pub use icmpv6::{Icmpv6Repr, Message};
pub use ipv6::{ExtChain, ExtHeader, FragmentInfo, Ipv6Packet, Ipv6Repr};
#[cfg(feature = "alloc")]
pub use ndisc_option::{NdpOption, Options};
pub use ndisc_option::{NdpOptionRef, NdpOptionType, NdpOptionView, OptionWalkError, OptionsRef};
pub use prefix::{ParsePrefixError, Prefix};
pub use text::Hex;

/// A view or repr error: the buffer is too short for a layer, or a field has a value the
/// layer cannot be read with. Parse errors are about structure only; RFC rules are
/// [`validate`] findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `layer` needs `need` bytes, the buffer has `have`.
    Truncated {
        layer: &'static str,
        need: usize,
        have: usize,
    },
    /// A field makes the layer unreadable (e.g. IPv6 version not 6).
    Malformed {
        layer: &'static str,
        what: &'static str,
    },
    /// The output buffer is too small for `emit`.
    BufferTooSmall { need: usize, have: usize },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Truncated { layer, need, have } => {
                write!(f, "{layer}: truncated, need {need} bytes, have {have}")
            }
            Error::Malformed { layer, what } => write!(f, "{layer}: malformed: {what}"),
            Error::BufferTooSmall { need, have } => {
                write!(f, "emit: buffer too small, need {need} bytes, have {have}")
            }
        }
    }
}

impl core::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;

#[inline(always)]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline(always)]
pub(crate) fn addr16(b: &[u8], at: usize) -> core::net::Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    core::net::Ipv6Addr::from(a)
}

/// Address helpers used by the parser, validator and emitter.
pub mod addr {
    use core::net::Ipv6Addr;

    /// fe80::/10
    pub fn is_link_local(a: &Ipv6Addr) -> bool {
        a.segments()[0] & 0xffc0 == 0xfe80
    }

    /// ff02::1:ffXX:XXXX for `a`.
    pub fn solicited_node(a: &Ipv6Addr) -> Ipv6Addr {
        let o = a.octets();
        Ipv6Addr::from([
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
        ])
    }

    /// ff02::1:ff00:0/104
    pub fn is_solicited_node(a: &Ipv6Addr) -> bool {
        let o = a.octets();
        o[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]
    }

    /// The Ethernet multicast address of an IPv6 multicast address (RFC 2464 section 7).
    pub fn multicast_mac(a: &Ipv6Addr) -> [u8; 6] {
        let o = a.octets();
        [0x33, 0x33, o[12], o[13], o[14], o[15]]
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests;
// scapy-generated frames (see testdata/gen_vectors.py).
#[cfg(all(test, feature = "serde"))]
mod golden;
#[cfg(all(test, feature = "alloc"))]
mod proptests;
#[cfg(all(test, feature = "alloc"))]
mod vectors;
