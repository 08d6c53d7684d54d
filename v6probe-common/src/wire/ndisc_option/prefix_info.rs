//! Prefix Information (RFC 4861 section 4.6.2; R flag RFC 6275 section 7.2, P flag RFC 9762).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     | Prefix Length |L|A|R|P| Rsvd1 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Valid Lifetime                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Preferred Lifetime                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Reserved2                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Prefix (16 octets)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! JSON: `"prefix":"2001:db8::/64","on_link","autonomous","router_addr","dhcpv6_pd"` (bools),
//! `"valid_lifetime","preferred_lifetime"` (seconds, 4294967295 = infinity).
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;
use crate::wire::{addr16, be32, Prefix};

const PREFIX_LEN: usize = 2;
const FLAGS: usize = 3;
const VALID: usize = 4;
const PREFERRED: usize = 8;
const PREFIX: usize = 16;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    if b[1] != 4 {
        return Err("prefix information length is not 4");
    }
    let f = b[FLAGS];
    Ok(NdpOptionRef::PrefixInfo {
        prefix: Prefix::new(addr16(b, PREFIX), b[PREFIX_LEN]),
        on_link: f & 0x80 != 0,
        autonomous: f & 0x40 != 0,
        router_addr: f & 0x20 != 0,
        dhcpv6_pd: f & 0x10 != 0,
        reserved_flags: f & 0x0f,
        valid_lifetime: be32(b, VALID),
        preferred_lifetime: be32(b, PREFERRED),
    })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(_: &NdpOption) -> usize {
    32
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::PrefixInfo {
        prefix,
        on_link,
        autonomous,
        router_addr,
        dhcpv6_pd,
        reserved_flags,
        valid_lifetime,
        preferred_lifetime,
    } = o
    {
        b[PREFIX_LEN] = prefix.len;
        b[FLAGS] = (u8::from(*on_link) << 7)
            | (u8::from(*autonomous) << 6)
            | (u8::from(*router_addr) << 5)
            | (u8::from(*dhcpv6_pd) << 4)
            | (reserved_flags & 0x0f);
        b[VALID..VALID + 4].copy_from_slice(&valid_lifetime.to_be_bytes());
        b[PREFERRED..PREFERRED + 4].copy_from_slice(&preferred_lifetime.to_be_bytes());
        b[PREFIX..PREFIX + 16].copy_from_slice(&prefix.addr.octets());
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::PrefixInfo {
        prefix,
        on_link,
        autonomous,
        router_addr,
        dhcpv6_pd,
        valid_lifetime,
        preferred_lifetime,
        ..
    } = o
    {
        m.serialize_entry("prefix", prefix)?;
        m.serialize_entry("on_link", on_link)?;
        m.serialize_entry("autonomous", autonomous)?;
        m.serialize_entry("router_addr", router_addr)?;
        m.serialize_entry("dhcpv6_pd", dhcpv6_pd)?;
        m.serialize_entry("valid_lifetime", valid_lifetime)?;
        m.serialize_entry("preferred_lifetime", preferred_lifetime)?;
    }
    Ok(())
}
