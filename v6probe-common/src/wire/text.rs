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
        // Up to 16 bytes at a time into a buffer, each written with one `write_str`.
        let mut buf = [0u8; 48];
        for (c, chunk) in self.0.chunks(16).enumerate() {
            let mut n = 0;
            for (i, b) in chunk.iter().enumerate() {
                if c > 0 || i > 0 {
                    buf[n] = b':';
                    n += 1;
                }
                buf[n..n + 2].copy_from_slice(&hex_pair(*b));
                n += 2;
            }
            f.write_str(core::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The two lowercase hex digits of `b`, high digit first (one lookup in [`HEX_PAIRS`]): what
/// every hex text of the project is written with.
#[inline(always)]
pub fn hex_pair(b: u8) -> [u8; 2] {
    HEX_PAIRS[usize::from(b)].to_le_bytes()
}

/// [`Groups`] of a hardware address of `N` bytes, written into a buffer on the stack (what the
/// address types serialize: no formatter machinery per byte).
#[cfg(feature = "serde")]
pub(crate) fn groups_text<'b, const N: usize>(bytes: &[u8; N], buf: &'b mut [u8]) -> &'b str {
    let mut n = 0;
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            buf[n] = b':';
            n += 1;
        }
        buf[n..n + 2].copy_from_slice(&hex_pair(*b));
        n += 2;
    }
    core::str::from_utf8(&buf[..n]).unwrap_or_default()
}

/// An IPv6 address as text, exactly as `Ipv6Addr`'s `Display` writes it (RFC 5952: lowercase,
/// no leading zeros, the longest run of two or more zero groups as `::`, the first of equal
/// runs; IPv4-mapped as `::ffff:a.b.c.d`), written into a buffer on the stack. Several times
/// faster than the formatter, and it is in every packet line three times or more.
#[derive(Clone, Copy)]
pub struct Ipv6Text {
    buf: [u8; 45],
    len: u8,
}

impl Ipv6Text {
    pub fn new(a: &core::net::Ipv6Addr) -> Self {
        let mut buf = [0u8; 45];
        let n = Self::write(a, &mut buf);
        Self { buf, len: n as u8 }
    }

    /// Writes the text of `a` into `buf` from its start; returns its length (at most 39;
    /// the rest of `buf` is scratch). For a writer that has room for it in its own buffer:
    /// text built here and then copied elsewhere is reloaded wider than it was stored,
    /// which waits for the stores.
    #[inline]
    pub fn write(a: &core::net::Ipv6Addr, buf: &mut [u8; 45]) -> usize {
        // Written with a cursor in a local, not through a length field (a store and a reload
        // per piece), and the zero run found from a bit mask instead of a loop with branches.
        if let Some(v4) = a.to_ipv4_mapped() {
            buf[..7].copy_from_slice(b"::ffff:");
            let mut n = 7;
            for (i, o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                n = dec(buf, n, *o);
            }
            n
        } else {
            let seg = a.segments();
            // Bit i: group i is zero. After k rounds of `run &= run >> 1`, bit i says groups
            // i..=i+k are zero: the rounds until none is left give the longest run's length,
            // the lowest bit of the last mask left its first (the first of equal runs).
            let mut zeros = 0u32;
            for (i, &s) in seg.iter().enumerate() {
                zeros |= u32::from(s == 0) << i;
            }
            let (mut run, mut last, mut best_len) = (zeros, 0u32, 0usize);
            while run != 0 {
                last = run;
                run &= run >> 1;
                best_len += 1;
            }
            if best_len > 1 {
                let best = last.trailing_zeros() as usize;
                let mut n = groups(buf, 0, &seg[..best]);
                buf[n] = b':';
                buf[n + 1] = b':';
                n += 2;
                groups(buf, n, &seg[best + best_len..])
            } else {
                groups(buf, 0, &seg)
            }
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII was written.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text's bytes (ASCII), without the UTF-8 check of [`Ipv6Text::as_str`], for
    /// writers that copy it into a byte buffer.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// Writes groups `g` from `at`, `:` between them; returns the end. Each group is lowercase hex
/// without leading zeros: its four digits as one little-endian word (two [`HEX_PAIRS`]
/// lookups, one per byte), the leading zeros shifted out, stored whole (the buffer has room
/// past the longest text, 39 bytes) and the end moved by the digits.
#[inline(always)]
fn groups(buf: &mut [u8; 45], mut at: usize, g: &[u16]) -> usize {
    for (i, &s) in g.iter().enumerate() {
        if i > 0 {
            buf[at] = b':';
            at += 1;
        }
        let n = (16 - s.leading_zeros()).div_ceil(4).max(1) as usize;
        let word = (u32::from(HEX_PAIRS[usize::from(s >> 8)])
            | (u32::from(HEX_PAIRS[usize::from(s & 0xff)]) << 16))
            >> (8 * (4 - n));
        buf[at..at + 4].copy_from_slice(&word.to_le_bytes());
        at += n;
    }
    at
}

/// The two lowercase hex digits of every byte, as a little-endian word (the first digit in the
/// low byte): one lookup per byte instead of one per digit.
static HEX_PAIRS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = u16::from_le_bytes([HEX_DIGITS[b >> 4], HEX_DIGITS[b & 0xf]]);
        b += 1;
    }
    t
};

/// Writes `v` in decimal from `at`; returns the end.
fn dec(buf: &mut [u8; 45], mut at: usize, v: u8) -> usize {
    if v >= 100 {
        buf[at] = b'0' + v / 100;
        at += 1;
    }
    if v >= 10 {
        buf[at] = b'0' + v / 10 % 10;
        at += 1;
    }
    buf[at] = b'0' + v % 10;
    at + 1
}

impl fmt::Display for Ipv6Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serializes an IPv6 address as its text ([`Ipv6Text`]; the same string serde writes for
/// `Ipv6Addr` in a human-readable format), for `#[serde(serialize_with)]`.
#[cfg(feature = "serde")]
pub fn ser_ipv6<S: serde::Serializer>(a: &core::net::Ipv6Addr, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(Ipv6Text::new(a).as_str())
    } else {
        serde::Serialize::serialize(a, s)
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
