//! Ethernet II with up to two VLAN tags (IEEE 802.1Q 0x8100, 802.1ad 0x88a8).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Destination MAC (6 octets)                   |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                    Source MAC (6 octets)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   EtherType / TPID            | [TCI         ] [EtherType ...]|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
use super::{be16, Error, Result};
use crate::abi::{ethertype, MAX_VLANS};

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: usize = 12;
    pub const HEADER_LEN: usize = 14;
    pub const TAG_LEN: usize = 4;
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// A MAC address; shown and serialized as `aa:bb:cc:dd:ee:ff`, parsed by the rule of
/// [`super::text`] (`aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`, two hex digits per byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    pub const BROADCAST: Self = Self([0xff; 6]);
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// The modified EUI-64 interface identifier (RFC 4291 appendix A): `ff:fe` in the middle
    /// and the universal/local bit inverted.
    pub fn modified_eui64(&self) -> Eui64 {
        let m = self.0;
        Eui64([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
    }

    /// fe80::/64 with the modified EUI-64 interface identifier (RFC 4862 section 5.3).
    pub fn link_local(&self) -> core::net::Ipv6Addr {
        let mut a = [0u8; 16];
        a[0] = 0xfe;
        a[1] = 0x80;
        a[8..].copy_from_slice(&self.modified_eui64().0);
        core::net::Ipv6Addr::from(a)
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(a: [u8; 6]) -> Self {
        Self(a)
    }
}

impl From<EthernetAddress> for [u8; 6] {
    fn from(a: EthernetAddress) -> Self {
        a.0
    }
}

/// Display, `FromStr` (the rule of [`super::text`]), serde as text, and the parse error, for a
/// hardware address type holding `[u8; N]`.
macro_rules! hex_groups_text {
    ($ty:ident, $n:literal, $err:ident, $what:literal, $example:literal) => {
        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(&super::text::Groups(&self.0), f)
            }
        }

        #[doc = concat!("Text that is not ", $what, " (see [`super::text`] for the rule).")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $err;

        impl core::fmt::Display for $err {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(
                    "not ",
                    $what,
                    " (",
                    $n,
                    " two-digit hex groups separated by `:` or `-`, e.g. ",
                    $example,
                    ")"
                ))
            }
        }

        impl core::error::Error for $err {}

        impl core::str::FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> core::result::Result<Self, $err> {
                super::text::parse_groups::<$n>(s).map(Self).ok_or($err)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                let mut buf = [0u8; 3 * $n];
                s.serialize_str(super::text::groups_text(&self.0, &mut buf))
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> core::result::Result<Self, D::Error> {
                super::text::deserialize_from_str(d, concat!($what, " (", $example, ")"))
            }
        }
    };
}

hex_groups_text!(
    EthernetAddress,
    6,
    ParseMacError,
    "a MAC address",
    "02:00:00:00:00:01"
);

/// A 64-bit extended unique identifier (an interface identifier, or the EUI-64 input of RFC
/// 4193's global ID); written as eight two-digit hex groups, like a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Eui64(pub [u8; 8]);

hex_groups_text!(
    Eui64,
    8,
    ParseEui64Error,
    "an EUI-64",
    "02:1b:21:ff:fe:aa:bb:cc"
);

/// A zero-copy view of an Ethernet II frame (its first, outer header).
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }
    /// The outer 14-byte header is present.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        if have < field::HEADER_LEN {
            return Err(Error::Truncated {
                layer: "ethernet",
                need: field::HEADER_LEN,
                have,
            });
        }
        Ok(())
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn dst_addr(&self) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST]);
        EthernetAddress(a)
    }
    pub fn src_addr(&self) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC]);
        EthernetAddress(a)
    }
    /// The outer EtherType (a TPID when the frame is tagged).
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ETHERTYPE)
    }
    /// Walks up to [`MAX_VLANS`] tags: returns the tags, the inner EtherType and the offset of
    /// the payload. A frame with a third tag yields the third TPID as EtherType.
    pub fn walk_vlans(&self) -> Result<([VlanTag; MAX_VLANS], usize, u16, usize)> {
        let b = self.buffer.as_ref();
        let mut tags = [VlanTag::default(); MAX_VLANS];
        let mut n = 0;
        let mut off = field::ETHERTYPE;
        let mut et = be16(b, off);
        while (et == ethertype::VLAN || et == ethertype::QINQ) && n < MAX_VLANS {
            if b.len() < off + 2 + field::TAG_LEN {
                return Err(Error::Truncated {
                    layer: "vlan",
                    need: off + 2 + field::TAG_LEN,
                    have: b.len(),
                });
            }
            tags[n] = VlanTag {
                tpid: Some(et),
                tci: be16(b, off + 2),
            };
            n += 1;
            off += field::TAG_LEN;
            et = be16(b, off);
        }
        Ok((tags, n, et, off + 2))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.0);
    }
    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.0);
    }
    pub fn set_ethertype(&mut self, v: u16) {
        self.buffer.as_mut()[field::ETHERTYPE..field::ETHERTYPE + 2]
            .copy_from_slice(&v.to_be_bytes());
    }
}

/// An 802.1Q / 802.1ad tag. `tpid` is `None` when unknown (kernel records carry only the TCI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VlanTag {
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub tpid: Option<u16>,
    #[cfg_attr(feature = "serde", serde(skip))]
    pub tci: u16,
}

impl VlanTag {
    pub fn vid(&self) -> u16 {
        self.tci & 0x0fff
    }
    pub fn pcp(&self) -> u8 {
        (self.tci >> 13) as u8
    }
    pub fn dei(&self) -> bool {
        self.tci & 0x1000 != 0
    }
}

/// The Ethernet header in owned form: addresses, tags (outer first), inner EtherType.
///
/// JSON: `{"src":"aa:..","dst":"33:33:..","vlan":[{"vid":10,"pcp":0,"dei":false,"tpid":33024}]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src: EthernetAddress,
    pub dst: EthernetAddress,
    pub vlans: [VlanTag; MAX_VLANS],
    pub vlan_count: u8,
    pub ethertype: u16,
}

impl EthernetRepr {
    /// An untagged header.
    pub fn new(src: EthernetAddress, dst: EthernetAddress, ethertype: u16) -> Self {
        Self {
            src,
            dst,
            vlans: [VlanTag::default(); MAX_VLANS],
            vlan_count: 0,
            ethertype,
        }
    }

    /// The tags present, outer first.
    pub fn vlans(&self) -> &[VlanTag] {
        &self.vlans[..(self.vlan_count as usize).min(MAX_VLANS)]
    }

    /// Parses the header and tags; returns the repr and the payload offset.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<(Self, usize)> {
        frame.check_len()?;
        let (vlans, n, et, off) = frame.walk_vlans()?;
        Ok((
            Self {
                src: frame.src_addr(),
                dst: frame.dst_addr(),
                vlans,
                vlan_count: n as u8,
                ethertype: et,
            },
            off,
        ))
    }

    pub fn buffer_len(&self) -> usize {
        field::HEADER_LEN + field::TAG_LEN * self.vlans().len()
    }

    /// Writes the header and tags into the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let need = self.buffer_len();
        if buf.len() < need {
            return Err(Error::BufferTooSmall {
                need,
                have: buf.len(),
            });
        }
        buf[field::DST].copy_from_slice(&self.dst.0);
        buf[field::SRC].copy_from_slice(&self.src.0);
        let mut off = field::ETHERTYPE;
        for t in self.vlans() {
            buf[off..off + 2].copy_from_slice(&t.tpid.unwrap_or(ethertype::VLAN).to_be_bytes());
            buf[off + 2..off + 4].copy_from_slice(&t.tci.to_be_bytes());
            off += field::TAG_LEN;
        }
        buf[off..off + 2].copy_from_slice(&self.ethertype.to_be_bytes());
        Ok(need)
    }
}

#[cfg(feature = "serde")]
mod ser {
    use serde::ser::{SerializeStruct, Serializer};

    impl serde::Serialize for super::EthernetRepr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("EthernetRepr", 3)?;
            st.serialize_field("src", &self.src)?;
            st.serialize_field("dst", &self.dst)?;
            st.serialize_field("vlan", &VlanList(self.vlans()))?;
            st.end()
        }
    }

    struct VlanList<'a>(&'a [super::VlanTag]);
    impl serde::Serialize for VlanList<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(Tag))
        }
    }
    struct Tag<'a>(&'a super::VlanTag);
    impl serde::Serialize for Tag<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let t = self.0;
            let mut st = s.serialize_struct("VlanTag", 4)?;
            st.serialize_field("vid", &t.vid())?;
            st.serialize_field("pcp", &t.pcp())?;
            st.serialize_field("dei", &t.dei())?;
            if let Some(p) = t.tpid {
                st.serialize_field("tpid", &p)?;
            } else {
                st.skip_field("tpid")?;
            }
            st.end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic: QinQ (0x88a8 vid 100) + 802.1Q (vid 10, pcp 5) + IPv6 EtherType.
    const QINQ: [u8; 22] = [
        0x33, 0x33, 0xff, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xa8, 0x00,
        0x64, 0x81, 0x00, 0xa0, 0x0a, 0x86, 0xdd,
    ];

    #[test]
    fn parse_emit_qinq() {
        let f = EthernetFrame::new_checked(&QINQ[..]).unwrap();
        let (r, off) = EthernetRepr::parse(&f).unwrap();
        assert_eq!(off, 22);
        assert_eq!(r.ethertype, ethertype::IPV6);
        assert_eq!(r.vlans().len(), 2);
        assert_eq!(r.vlans()[0].vid(), 100);
        assert_eq!(r.vlans()[0].tpid, Some(0x88a8));
        assert_eq!(r.vlans()[1].vid(), 10);
        assert_eq!(r.vlans()[1].pcp(), 5);
        assert_eq!(r.dst.0, [0x33, 0x33, 0xff, 0, 0, 1]);
        let mut buf = [0xa5u8; 22];
        assert_eq!(r.emit(&mut buf).unwrap(), 22);
        assert_eq!(buf, QINQ);
    }

    #[test]
    fn mac_text() {
        extern crate std;
        use std::string::ToString;
        let m: EthernetAddress = "02:00:5E:00:53:0a".parse().unwrap();
        assert_eq!(m.0, [2, 0, 0x5e, 0, 0x53, 0x0a]);
        assert_eq!(m.to_string(), "02:00:5e:00:53:0a");
        assert_eq!("02-00-5e-00-53-0a".parse::<EthernetAddress>(), Ok(m));
        for bad in [
            "2:0:0:0:0:1",
            "020000000001",
            "02:00:00:00:00",
            "02:00:00:00:00:01:02",
        ] {
            assert_eq!(bad.parse::<EthernetAddress>(), Err(ParseMacError), "{bad}");
        }
        // RFC 4291 appendix A's example MAC 34-56-78-9A-BC-DE.
        let m: EthernetAddress = "34-56-78-9a-bc-de".parse().unwrap();
        assert_eq!(m.modified_eui64().to_string(), "36:56:78:ff:fe:9a:bc:de");
        assert_eq!(
            m.link_local(),
            "fe80::3656:78ff:fe9a:bcde"
                .parse::<core::net::Ipv6Addr>()
                .unwrap()
        );
        let e: Eui64 = "36-56-78-ff-fe-9a-bc-de".parse().unwrap();
        assert_eq!(e, m.modified_eui64());
        assert_eq!("3656:78ff:fe9a:bcde".parse::<Eui64>(), Err(ParseEui64Error));
    }

    #[test]
    fn truncations_never_panic() {
        for n in 0..QINQ.len() {
            if let Ok(f) = EthernetFrame::new_checked(&QINQ[..n]) {
                let _ = EthernetRepr::parse(&f);
            }
        }
    }
}
