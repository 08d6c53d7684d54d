//! MTU (RFC 4861 section 4.6.4).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                              MTU                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! JSON: `"mtu"`.
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;
use crate::wire::be32;

const MTU: usize = 4;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    if b[1] != 1 {
        return Err("MTU option length is not 1");
    }
    Ok(NdpOptionRef::Mtu { mtu: be32(b, MTU) })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(_: &NdpOption) -> usize {
    8
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::Mtu { mtu } = o {
        b[MTU..MTU + 4].copy_from_slice(&mtu.to_be_bytes());
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::Mtu { mtu } = o {
        m.serialize_entry("mtu", mtu)?;
    }
    Ok(())
}
