//! Recursive DNS Server (RFC 8106 section 5.1).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Length    |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Lifetime                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! :            Addresses of IPv6 Recursive DNS Servers            :
//! ```
//! JSON: `"lifetime","servers":["2001:db8::53"]`.
use core::net::Ipv6Addr;

#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;
use crate::wire::{addr16, be32};

const LIFETIME: usize = 4;
const SERVERS: usize = 8;

/// The server addresses of an RDNSS option, read from the bytes as they are walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addrs<'a>(&'a [u8]);

impl<'a> Addrs<'a> {
    pub fn len(&self) -> usize {
        self.0.len() / 16
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = Ipv6Addr> + 'a {
        self.0.chunks_exact(16).map(|c| addr16(c, 0))
    }
}

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    // RFC 8106 5.1: "The minimum value is 3 if one IPv6 address is contained in the option.
    // Every additional RDNSS address increases the length by 2."
    let len = b[1];
    if len < 3 || len & 1 == 0 {
        return Err("RDNSS length is not 3 + 2n");
    }
    Ok(NdpOptionRef::Rdnss {
        lifetime: be32(b, LIFETIME),
        servers: Addrs(&b[SERVERS..]),
    })
}

#[cfg(feature = "alloc")]
impl super::ToOwnedField for Addrs<'_> {
    type Owned = alloc::vec::Vec<Ipv6Addr>;
    fn to_owned_field(&self) -> Self::Owned {
        self.iter().collect()
    }
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::Rdnss { servers, .. } => SERVERS + 16 * servers.len(),
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::Rdnss { lifetime, servers } = o {
        b[LIFETIME..LIFETIME + 4].copy_from_slice(&lifetime.to_be_bytes());
        for (i, s) in servers.iter().enumerate() {
            super::put(b, SERVERS + 16 * i, &s.octets());
        }
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::Rdnss { lifetime, servers } = o {
        m.serialize_entry("lifetime", lifetime)?;
        m.serialize_entry("servers", servers)?;
    }
    Ok(())
}
