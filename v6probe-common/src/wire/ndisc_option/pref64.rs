//! PREF64, the NAT64 prefix (RFC 8781 section 4).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |     Scaled Lifetime     | PLC |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              Highest 96 bits of the Prefix                    |
//! ```
//! JSON: `"prefix":"64:ff9b::/96","lifetime"` (seconds).
#[cfg(feature = "alloc")]
use super::NdpOption;
use super::{prefix_bytes, NdpOptionRef};
use crate::wire::{be16, Prefix};

const SL_PLC: usize = 2;
const PREFIX: usize = 4;

/// Prefix length code (RFC 8781 section 4).
fn plc_to_len(plc: u8) -> Option<u8> {
    Some(match plc {
        0 => 96,
        1 => 64,
        2 => 56,
        3 => 48,
        4 => 40,
        5 => 32,
        _ => return None,
    })
}

#[cfg(feature = "alloc")]
fn len_to_plc(len: u8) -> u8 {
    match len {
        64 => 1,
        56 => 2,
        48 => 3,
        40 => 4,
        32 => 5,
        _ => 0,
    }
}

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    if b[1] != 2 {
        return Err("PREF64 length is not 2");
    }
    let w = be16(b, SL_PLC);
    let Some(plen) = plc_to_len((w & 7) as u8) else {
        return Err("PREF64 prefix length code is reserved");
    };
    Ok(NdpOptionRef::Pref64 {
        prefix: Prefix::new(prefix_bytes(&b[PREFIX..16]), plen),
        lifetime: (w >> 3) * 8,
    })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(_: &NdpOption) -> usize {
    16
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::Pref64 { prefix, lifetime } = o {
        let w = ((lifetime / 8) << 3) | u16::from(len_to_plc(prefix.len));
        b[SL_PLC..SL_PLC + 2].copy_from_slice(&w.to_be_bytes());
        b[PREFIX..PREFIX + 12].copy_from_slice(&prefix.addr.octets()[..12]);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::Pref64 { prefix, lifetime } = o {
        m.serialize_entry("prefix", prefix)?;
        m.serialize_entry("lifetime", lifetime)?;
    }
    Ok(())
}
