//! Options kept raw: a type v6probe does not decode (RFC 4861 4.6: "Receivers MUST silently
//! ignore any options they do not recognize"), and a known type whose length or content cannot
//! be read as that type.
//!
//! JSON: unknown: `"data":"hex"`; malformed: `"option_type","reason","data":"hex"`.
#[cfg(feature = "alloc")]
use super::NdpOption;

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::Unknown { data, .. } | NdpOption::Malformed { data, .. } => 2 + data.len(),
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::Unknown { data, .. } | NdpOption::Malformed { data, .. } = o {
        super::put(b, 2, data);
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    match o {
        NdpOption::Unknown { data, .. } => m.serialize_entry("data", &crate::wire::Hex(data))?,
        NdpOption::Malformed {
            option_type,
            reason,
            data,
        } => {
            m.serialize_entry("option_type", option_type)?;
            m.serialize_entry("reason", reason)?;
            m.serialize_entry("data", &crate::wire::Hex(data))?;
        }
        _ => {}
    }
    Ok(())
}
