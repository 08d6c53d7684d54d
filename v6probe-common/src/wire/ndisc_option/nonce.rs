//! Nonce (RFC 3971 section 5.3.2; RFC 7527 for DAD).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |             Nonce ...         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! JSON: `"nonce":"hex"`.
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    Ok(NdpOptionRef::Nonce { nonce: &b[2..] })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::Nonce { nonce } => 2 + nonce.len(),
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::Nonce { nonce } = o {
        super::put(b, 2, nonce);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::Nonce { nonce } = o {
        m.serialize_entry("nonce", &crate::wire::Hex(nonce))?;
    }
    Ok(())
}
