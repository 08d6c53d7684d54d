//! Route Information (RFC 4191 section 2.3).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     | Prefix Length |Resvd|Prf|Resvd|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Route Lifetime                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Prefix (Variable Length)                    |
//! ```
//! JSON: `"prefix","preference":"high|medium|low|reserved","route_lifetime"`.
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::{prefix_bytes, NdpOptionRef, Preference};
use crate::wire::{be32, Prefix};

const PREFIX_LEN: usize = 2;
const FLAGS: usize = 3;
const LIFETIME: usize = 4;
const PREFIX: usize = 8;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    // RFC 4191 2.3: "The Length field is 1, 2, or 3 depending on the Prefix Length."
    let len = b[1];
    if !(1..=3).contains(&len) {
        return Err("route information length is not 1, 2 or 3");
    }
    Ok(NdpOptionRef::RouteInfo {
        prefix: Prefix::new(prefix_bytes(&b[PREFIX..]), b[PREFIX_LEN]),
        preference: Preference::from_bits(b[FLAGS] >> 3),
        route_lifetime: be32(b, LIFETIME),
        length: len,
    })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::RouteInfo { length, .. } => *length as usize * 8,
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::RouteInfo {
        prefix,
        preference,
        route_lifetime,
        ..
    } = o
    {
        b[PREFIX_LEN] = prefix.len;
        b[FLAGS] = preference.bits() << 3;
        b[LIFETIME..LIFETIME + 4].copy_from_slice(&route_lifetime.to_be_bytes());
        let m = (b.len() - PREFIX).min(16);
        b[PREFIX..PREFIX + m].copy_from_slice(&prefix.addr.octets()[..m]);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::RouteInfo {
        prefix,
        preference,
        route_lifetime,
        ..
    } = o
    {
        m.serialize_entry("prefix", prefix)?;
        m.serialize_entry("preference", preference)?;
        m.serialize_entry("route_lifetime", route_lifetime)?;
    }
    Ok(())
}
