//! Captive Portal (RFC 8910 section 2.3): a URI, padded with NUL characters.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Length    |              URI              .
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               .
//! .                                                               .
//! ```
//! JSON: `"uri"` (bytes that are not UTF-8 shown as U+FFFD).
use core::fmt;

#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;

/// Bytes shown as UTF-8 text, invalid sequences as U+FFFD (like `String::from_utf8_lossy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    // RFC 8910 2.3: "The URI ... padded with NUL (0x00) characters."
    let raw = &b[2..];
    let end = raw.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
    Ok(NdpOptionRef::CaptivePortal {
        uri: Text(&raw[..end]),
        length: b[1],
    })
}

#[cfg(feature = "alloc")]
impl super::ToOwnedField for Text<'_> {
    type Owned = alloc::string::String;
    fn to_owned_field(&self) -> Self::Owned {
        alloc::string::String::from_utf8_lossy(self.0).into_owned()
    }
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::CaptivePortal { uri, length } => (2 + uri.len()).max(*length as usize * 8),
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::CaptivePortal { uri, .. } = o {
        super::put(b, 2, uri.as_bytes());
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::CaptivePortal { uri, .. } = o {
        m.serialize_entry("uri", uri)?;
    }
    Ok(())
}
