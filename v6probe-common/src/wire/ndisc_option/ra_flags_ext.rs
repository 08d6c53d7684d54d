//! IPv6 Router Advertisement Flags Option (RFC 5175 section 4).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |         Bit fields available ..
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ... for assignment                                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! JSON: `"bits"` (the 48 flag bits as an integer).
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    if b[1] != 1 {
        return Err("RA flags extension length is not 1");
    }
    let mut bits = [0u8; 8];
    bits[2..].copy_from_slice(&b[2..8]);
    Ok(NdpOptionRef::RaFlagsExt {
        bits: u64::from_be_bytes(bits),
    })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(_: &NdpOption) -> usize {
    8
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::RaFlagsExt { bits } = o {
        b[2..8].copy_from_slice(&bits.to_be_bytes()[2..]);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::RaFlagsExt { bits } = o {
        m.serialize_entry("bits", bits)?;
    }
    Ok(())
}
