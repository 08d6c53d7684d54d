//! DNS Search List (RFC 8106 section 5.2): domain names in DNS wire format (RFC 1035 section
//! 3.1, no compression), zero-padded to the option's end.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Length    |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Lifetime                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! :                Domain Names of DNS Search List                :
//! ```
//! JSON: `"lifetime","domains":["example.com"]`; a byte that is not printable ASCII (or is `.`
//! or `\` inside a label) is written `\DDD` as in RFC 1035 master files, so the text stays
//! unambiguous.
use core::fmt;

#[cfg(feature = "alloc")]
use super::NdpOption;
use super::NdpOptionRef;
use crate::wire::be32;

const LIFETIME: usize = 4;
const NAMES: usize = 8;

/// The names of a DNSSL option, checked when the option is parsed and read as they are walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsNames<'a>(&'a [u8]);

/// One name of a DNSSL option: its encoded labels (without the final zero); `Display` writes
/// `label.label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsName<'a>(&'a [u8]);

impl<'a> DnsNames<'a> {
    /// Checks the encoding: labels of 1..=63 bytes, each name ended by a zero length, then only
    /// zero padding (RFC 8106 5.2).
    fn check(mut b: &'a [u8]) -> Option<Self> {
        let all = b;
        while let Some(&first) = b.first() {
            if first == 0 {
                return b.iter().all(|&x| x == 0).then_some(Self(all));
            }
            loop {
                let (&l, rest) = b.split_first()?;
                b = rest;
                if l == 0 {
                    break;
                }
                if l > 63 || b.len() < l as usize {
                    return None;
                }
                b = &b[l as usize..];
            }
        }
        Some(Self(all))
    }

    pub fn iter(&self) -> impl Iterator<Item = DnsName<'a>> + 'a {
        let mut b = self.0;
        core::iter::from_fn(move || {
            if b.first().is_none_or(|&l| l == 0) {
                return None;
            }
            let mut at = 0;
            while let Some(&l) = b.get(at) {
                if l == 0 {
                    break;
                }
                at += 1 + l as usize;
            }
            let name = DnsName(&b[..at.min(b.len())]);
            b = b.get(at + 1..).unwrap_or_default();
            Some(name)
        })
    }
}

impl DnsName<'_> {
    /// Writes `label.label`: runs of printable bytes as they are, the rest escaped.
    fn write_to<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        let plain = |c: u8| c.is_ascii_graphic() && c != b'.' && c != b'\\';
        let mut b = self.0;
        let mut first = true;
        while let Some((&l, rest)) = b.split_first() {
            let mut label = rest.get(..l as usize).unwrap_or(rest);
            b = &rest[label.len()..];
            if !first {
                w.write_str(".")?;
            }
            first = false;
            while !label.is_empty() {
                let run = label.iter().position(|&c| !plain(c)).unwrap_or(label.len());
                // Printable ASCII is UTF-8.
                w.write_str(core::str::from_utf8(&label[..run]).map_err(|_| fmt::Error)?)?;
                if let Some(&c) = label.get(run) {
                    write!(w, "\\{c:03}")?;
                    label = &label[run + 1..];
                } else {
                    label = &[];
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[inline]
pub(super) fn parse(b: &[u8]) -> Result<NdpOptionRef<'_>, &'static str> {
    // RFC 8106 5.2: "The minimum value is 2 if at least one domain name is contained in the
    // option."
    let len = b[1];
    if len < 2 {
        return Err("DNSSL length is less than 2");
    }
    match DnsNames::check(&b[NAMES..]) {
        Some(domains) => Ok(NdpOptionRef::Dnssl {
            lifetime: be32(b, LIFETIME),
            domains,
            length: len,
        }),
        None => Err("DNSSL domain names are not valid DNS encoding"),
    }
}

#[cfg(feature = "alloc")]
impl super::ToOwnedField for DnsNames<'_> {
    type Owned = alloc::vec::Vec<alloc::string::String>;
    fn to_owned_field(&self) -> Self::Owned {
        self.iter()
            .map(|n| {
                let mut s = alloc::string::String::with_capacity(n.0.len());
                // Writing to a String cannot fail.
                let _ = n.write_to(&mut s);
                s
            })
            .collect()
    }
}

#[cfg(feature = "alloc")]
fn labels(names: &[alloc::string::String]) -> impl Iterator<Item = Option<&[u8]>> {
    // Each name's labels, then None for its end.
    names.iter().flat_map(|n| {
        n.split('.')
            .filter(|l| !l.is_empty())
            .map(|l| Some(&l.as_bytes()[..l.len().min(63)]))
            .chain(core::iter::once(None))
    })
}

#[cfg(feature = "alloc")]
pub(super) fn data_len(o: &NdpOption) -> usize {
    match o {
        NdpOption::Dnssl {
            domains, length, ..
        } => {
            let names: usize = labels(domains).map(|l| 1 + l.map_or(0, <[u8]>::len)).sum();
            (NAMES + names).max(*length as usize * 8)
        }
        _ => 0,
    }
}

#[cfg(feature = "alloc")]
pub(super) fn emit(o: &NdpOption, b: &mut [u8]) {
    if let NdpOption::Dnssl {
        lifetime, domains, ..
    } = o
    {
        b[LIFETIME..LIFETIME + 4].copy_from_slice(&lifetime.to_be_bytes());
        let out = &mut b[NAMES..];
        let mut off = 0;
        for l in labels(domains) {
            let l = l.unwrap_or_default();
            if off + 1 + l.len() > out.len() {
                return;
            }
            out[off] = l.len() as u8;
            out[off + 1..off + 1 + l.len()].copy_from_slice(l);
            off += 1 + l.len();
        }
    }
}

#[cfg(feature = "serde")]
pub(super) fn serialize<M: serde::ser::SerializeMap>(
    o: &NdpOption,
    m: &mut M,
) -> Result<(), M::Error> {
    if let NdpOption::Dnssl {
        lifetime, domains, ..
    } = o
    {
        m.serialize_entry("lifetime", lifetime)?;
        m.serialize_entry("domains", domains)?;
    }
    Ok(())
}
