//! Text forms shared by the value types: hex digits for byte strings, and the one rule for
//! hardware addresses written as groups.
//!
//! The rule for MAC addresses and EUI-64s (the only one in the tree: command-line flags, policy
//! and state files all parse through it): exactly one group of two hex digits per byte, every
//! group separated by the same character, `:` or `-`; upper or lower case. `02:00:00:00:00:01`
//! and `02-00-00-00-00-01` are read; `2:0:0:0:0:1`, `020000000001` and `02:00-00:00:00:01` are
//! not (a short group is more often a typo than an abbreviation). Output is always lowercase
//! with `:`.
use core::fmt;

/// Bytes as lowercase hex digits without separators (`Display`; with `serde`, a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        for chunk in self.0.chunks(buf.len() / 2) {
            let out = &mut buf[..chunk.len() * 2];
            hex::encode_to_slice(chunk, out).map_err(|_| fmt::Error)?;
            f.write_str(core::str::from_utf8(out).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Bytes as two-digit lowercase hex groups joined by `:` (`02:00:00:00:00:01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groups<'a>(pub &'a [u8]);

impl fmt::Display for Groups<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            let mut two = [0u8; 2];
            hex::encode_to_slice([*b], &mut two).map_err(|_| fmt::Error)?;
            f.write_str(core::str::from_utf8(&two).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// Reads `N` two-digit hex groups separated by one of `:` / `-` (see the module rule).
pub fn parse_groups<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if N == 0 || b.len() != 3 * N - 1 {
        return None;
    }
    let sep = if N > 1 { b[2] } else { b':' };
    if sep != b':' && sep != b'-' {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let at = 3 * i;
        if i > 0 && b[at - 1] != sep {
            return None;
        }
        hex::decode_to_slice(&b[at..at + 2], core::slice::from_mut(o)).ok()?;
    }
    Some(out)
}

/// `Deserialize` through `FromStr`, for the types written as text; the error names the input:
/// "`zz` is not a MAC address (...)".
#[cfg(feature = "serde")]
pub(crate) fn deserialize_from_str<'de, D, T>(d: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: core::str::FromStr,
    T::Err: fmt::Display,
{
    struct V<T>(&'static str, core::marker::PhantomData<T>);
    impl<T> serde::de::Visitor<'_> for V<T>
    where
        T: core::str::FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            v.parse()
                .map_err(|e| E::custom(format_args!("`{v}` is {e}")))
        }
    }
    d.deserialize_str(V(expecting, core::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_rule() {
        assert_eq!(parse_groups::<2>("0a:FF"), Some([0x0a, 0xff]));
        assert_eq!(parse_groups::<2>("0a-ff"), Some([0x0a, 0xff]));
        for bad in [
            "a:ff", "0aff", "0a:ff:", "0a-ff:00", "0g:ff", "0a;ff", "", "0a:f",
        ] {
            assert_eq!(parse_groups::<2>(bad), None, "{bad}");
        }
        assert_eq!(parse_groups::<3>("00:11-22"), None);
        assert_eq!(parse_groups::<3>("00:11:22"), Some([0, 0x11, 0x22]));
    }

    #[test]
    fn hex_text() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Hex(&[0, 0xab, 0x10]).to_string(), "00ab10");
        assert_eq!(Hex(&[]).to_string(), "");
        let long: std::vec::Vec<u8> = (0..=255u8).collect();
        let s = Hex(&long).to_string();
        assert_eq!(s.len(), 512);
        assert!(s.starts_with("000102") && s.ends_with("fdfeff"));
        assert_eq!(Groups(&[2, 0, 0xab]).to_string(), "02:00:ab");
    }
}
