//! Redirected Header (RFC 4861 section 4.6.3): as much of the redirected packet as fits.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |            Reserved           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Reserved                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                       IP header + data                        ~
//! ```
//! JSON: `"quoted":{..}` (see [`crate::wire::quoted::Quoted`]).
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;

const DATA: usize = 8;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    Ok(NdpOptionRef::RedirectedHeader {
        data: &b[DATA.min(b.len())..],
    })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::RedirectedHeader { data } => DATA + data.len(),
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::RedirectedHeader { data } = o {
        super::put(b, DATA, data);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::RedirectedHeader { data } = o {
        m.serialize_entry("quoted", &crate::wire::quoted::Quoted::parse(data))?;
    }
    Ok(())
}
