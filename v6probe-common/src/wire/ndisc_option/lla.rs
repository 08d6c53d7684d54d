//! Source / Target Link-Layer Address (RFC 4861 section 4.6.1), Ethernet form (RFC 2464
//! section 6).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |    Link-Layer Address ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! JSON: `"addr":"aa:bb:cc:dd:ee:ff"`.
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::{NdpOptionRef, NdpOptionType};
use crate::wire::EthernetAddress;

const ADDR: core::ops::Range<usize> = 2..8;

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    // RFC 2464 section 6: "Length 1 (in units of 8 octets)" for Ethernet.
    if b[1] != 1 {
        return Err("link-layer address length is not Ethernet");
    }
    let mut a = [0u8; 6];
    a.copy_from_slice(&b[ADDR]);
    let addr = EthernetAddress(a);
    Ok(
        if NdpOptionType::from(b[0]) == NdpOptionType::SourceLlAddr {
            NdpOptionRef::SourceLlAddr { addr }
        } else {
            NdpOptionRef::TargetLlAddr { addr }
        },
    )
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(_: &NdpOption) -> usize {
    8
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::SourceLlAddr { addr } | NdpOption::TargetLlAddr { addr } = o {
        b[ADDR].copy_from_slice(&addr.0);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::SourceLlAddr { addr } | NdpOption::TargetLlAddr { addr } = o {
        m.serialize_entry("addr", addr)?;
    }
    Ok(())
}
