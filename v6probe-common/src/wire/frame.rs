//! The owned frame-level decode every consumer uses (monitor, `decode`, detector, scanner), its
//! constructor from a kernel [`Record`], and the whole-frame emitter.
//!
//! JSON shape (the `eth`, `ip6`, `icmp6` members of a `packet` line):
//! ```text
//! {"eth":{"src":"02:..","dst":"33:33:..","vlan":[{"vid":10,"pcp":0,"dei":false}]},
//!  "ip6":{"src":"fe80::1","dst":"ff02::1","hop_limit":255,"payload_len":32,
//!         "ext":["hop_by_hop"],"frag":{"offset":0,"more":false,"id":7}|null},
//!  "icmp6":{"type":135,"code":0,"name":"neighbor_solicit","checksum_ok":true,
//!           "target":"fe80::2","options":[{"type":1,"name":"source_ll_addr","addr":".."}]}|null,
//!  "truncated":false}
//! ```
//! `icmp6` is `null` for a non-first fragment or a message shorter than 4 bytes.
use alloc::vec::Vec;
use core::net::Ipv6Addr;

use super::{
    icmpv6::{Icmpv6Ref, Icmpv6Repr},
    ipv6::{self, ChainEnd, ExtChain, FragmentInfo},
    Error, EthernetAddress, EthernetFrame, EthernetRepr, Ipv6Packet, Ipv6Repr, VlanTag,
};
use crate::abi::{self, ethertype, next_header as nh, RecordRef};

/// Why a frame is not an ICMPv6 frame the decoder can represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Ethernet or IPv6 header cut short or unreadable.
    Header(Error),
    /// The EtherType (after VLAN tags) is not IPv6.
    NotIpv6 { ethertype: u16 },
    /// The upper layer is not ICMPv6 (or is hidden behind ESP / no-next-header).
    NotIcmpv6 { next_header: u8 },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Header(e) => write!(f, "{e}"),
            Self::NotIpv6 { ethertype } => write!(f, "not IPv6 (ethertype {ethertype:#06x})"),
            Self::NotIcmpv6 { next_header } => {
                write!(f, "not ICMPv6 (next header {next_header})")
            }
        }
    }
}

impl core::error::Error for FrameError {}

impl From<Error> for FrameError {
    fn from(e: Error) -> Self {
        Self::Header(e)
    }
}

impl FrameError {
    /// Stable snake_case reason (for `"kind":"skipped"` lines).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Header(Error::Truncated { .. }) => "truncated",
            Self::Header(_) => "malformed",
            Self::NotIpv6 { .. } => "not_ipv6",
            Self::NotIcmpv6 { .. } => "not_icmpv6",
        }
    }
}

/// IPv6-level facts about the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip6Info {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub payload_len: u16,
    pub traffic_class: u8,
    pub flow_label: u32,
    /// The extension headers (types, lengths, fragment fields) and how the walk ended.
    pub ext: ExtChain,
}

impl Ip6Info {
    pub fn frag(&self) -> Option<FragmentInfo> {
        self.ext.fragment()
    }
}

/// One decoded frame: Ethernet -> VLANs -> IPv6 -> extension headers -> ICMPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub eth: EthernetRepr,
    pub ip6: Ip6Info,
    /// `None` for a non-first fragment, a chain that could not be walked, or fewer than 4
    /// bytes of ICMPv6.
    pub icmp6: Option<Icmpv6Repr>,
    /// Whether the ICMPv6 checksum is right (over the pseudo-header of `ip6`); `None` when it
    /// could not be checked (the capture holds less than the message, or there is no message).
    /// Shown inside the `icmp6` object.
    pub checksum_ok: Option<bool>,
    /// Bytes of ICMPv6 message present.
    pub icmp6_len: usize,
    /// The capture holds less than the IPv6 payload length says.
    pub truncated: bool,
}

/// The checksum verdict for a decoded message: only when the whole message is there.
#[inline]
fn checksum_ok(
    has_message: bool,
    truncated: bool,
    msg: &[u8],
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Option<bool> {
    (has_message && !truncated)
        .then(|| super::Icmpv6Packet::new_unchecked(msg).verify_checksum(src, dst))
}

/// One decoded frame borrowing the message bytes: the headers as values, the ICMPv6 message
/// as a view whose options are walked when asked. Nothing is allocated; [`FrameRef::to_owned`]
/// gives the [`Frame`] to print or keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    pub eth: EthernetRepr,
    pub ip6: Ip6Info,
    /// `None` for a non-first fragment, a chain that could not be walked, or fewer than 4
    /// bytes of ICMPv6.
    pub icmp6: Option<Icmpv6Ref<'a>>,
    /// As [`Frame::checksum_ok`].
    pub checksum_ok: Option<bool>,
    pub icmp6_len: usize,
    pub truncated: bool,
}

impl<'a> FrameRef<'a> {
    /// Decodes an Ethernet frame.
    #[inline]
    pub fn parse(frame: &'a [u8]) -> Result<Self, FrameError> {
        Self::parse_with(frame, false)
    }

    /// Decodes a kernel record: its frame bytes, with the same parser as capture files. The
    /// kernel also records fragments of link-scope packets whatever their upper layer (NDP can
    /// hide in them): those decode with `icmp6: None`. `truncated` is set when the record holds
    /// less than the IPv6 packet (a frame longer than the largest size class).
    pub fn from_record(r: &RecordRef<'a>) -> Result<Self, FrameError> {
        Self::parse_with(r.frame, true)
    }

    /// Decodes an Ethernet frame as [`FrameRef::from_record`] decodes a record: a fragment
    /// whose upper layer is not ICMPv6 (or not in this frame) decodes too, with `icmp6: None`,
    /// so fragments read from a capture file can be reassembled as the kernel's are.
    pub fn parse_fragment(frame: &'a [u8]) -> Result<Self, FrameError> {
        Self::parse_with(frame, true)
    }

    /// `any_fragment`: a fragment whose upper layer is not ICMPv6 (or not in this frame) is
    /// decoded too, with `icmp6: None`, instead of being refused as not ICMPv6.
    #[inline]
    fn parse_with(frame: &'a [u8], any_fragment: bool) -> Result<Self, FrameError> {
        let ef = EthernetFrame::new_checked(frame)?;
        let (eth, off) = EthernetRepr::parse(&ef)?;
        if eth.ethertype != ethertype::IPV6 {
            return Err(FrameError::NotIpv6 {
                ethertype: eth.ethertype,
            });
        }
        let p = Ipv6Packet::new_checked(&frame[off..])?;
        let ip = Ipv6Repr::parse(&p)?;
        let payload: &'a [u8] = &frame[off + ipv6::HEADER_LEN..];
        let payload = &payload[..payload.len().min(ip.payload_len as usize)];
        let truncated = payload.len() < ip.payload_len as usize;
        let ext = ExtChain::walk(ip.next_header, payload);
        let ip6 = Ip6Info {
            src: ip.src,
            dst: ip.dst,
            hop_limit: ip.hop_limit,
            payload_len: ip.payload_len,
            traffic_class: ip.traffic_class,
            flow_label: ip.flow_label,
            ext,
        };
        let msg: &'a [u8] = match ext.end {
            ChainEnd::Upper if ext.upper == nh::ICMPV6 => {
                payload.get(ext.upper_offset..).unwrap_or_default()
            }
            ChainEnd::NonFirstFragment if ext.upper == nh::ICMPV6 => &[],
            ChainEnd::Truncated => &[],
            _ if any_fragment && ext.fragment().is_some() => &[],
            ChainEnd::Esp => {
                return Err(FrameError::NotIcmpv6 {
                    next_header: nh::ESP,
                })
            }
            _ => {
                return Err(FrameError::NotIcmpv6 {
                    next_header: ext.upper,
                })
            }
        };
        let icmp6 = Icmpv6Ref::parse(msg).ok();
        let checksum_ok = checksum_ok(icmp6.is_some(), truncated, msg, &ip.src, &ip.dst);
        Ok(Self {
            eth,
            ip6,
            icmp6,
            checksum_ok,
            icmp6_len: msg.len(),
            truncated,
        })
    }

    /// The owned decode.
    pub fn to_owned(&self) -> Frame {
        Frame {
            eth: self.eth,
            ip6: self.ip6,
            icmp6: self.icmp6.as_ref().map(Icmpv6Ref::to_owned),
            checksum_ok: self.checksum_ok,
            icmp6_len: self.icmp6_len,
            truncated: self.truncated,
        }
    }
}

impl Frame {
    /// Makes this frame the owned decode of `r` in place, the message refilled in place
    /// ([`Icmpv6Repr::refill_from`]): a caller decoding frame after frame into one `Frame`
    /// neither allocates an option list nor builds a whole frame to move in.
    pub fn refill_from(&mut self, r: &FrameRef<'_>) {
        self.eth = r.eth;
        self.ip6 = r.ip6;
        self.checksum_ok = r.checksum_ok;
        self.icmp6_len = r.icmp6_len;
        self.truncated = r.truncated;
        match (&mut self.icmp6, &r.icmp6) {
            (Some(mine), Some(m)) => mine.refill_from(m),
            // One side has no message: there is no list to keep.
            (mine, m) => *mine = m.as_ref().map(Icmpv6Ref::to_owned),
        }
    }

    /// Decodes an Ethernet frame ([`FrameRef::parse`], then owned).
    pub fn parse(frame: &[u8]) -> Result<Self, FrameError> {
        FrameRef::parse(frame).map(|f| f.to_owned())
    }

    /// Decodes a frame, fragments of any upper layer included ([`FrameRef::parse_fragment`],
    /// then owned).
    pub fn parse_fragment(frame: &[u8]) -> Result<Self, FrameError> {
        FrameRef::parse_fragment(frame).map(|f| f.to_owned())
    }

    /// Decodes a kernel record ([`FrameRef::from_record`], then owned).
    pub fn from_record(r: &RecordRef<'_>) -> Result<Self, FrameError> {
        FrameRef::from_record(r).map(|f| f.to_owned())
    }

    /// Why the frame has no ICMPv6 message, in one word: `fragment` (a fragment whose
    /// message, if any, is not in this frame), `truncated_chain` (an extension header runs past
    /// the end), `esp`, `no_next_header`, `icmpv6_too_short`, or `not_icmpv6`. A chain longer
    /// than the kernel programs walk is walked on, so it is never called a fragment.
    pub fn no_message(&self) -> &'static str {
        let ext = &self.ip6.ext;
        if ext.fragment().is_some_and(|f| f.offset != 0 || f.more) {
            return "fragment";
        }
        match ext.end {
            ChainEnd::Truncated => "truncated_chain",
            ChainEnd::Esp => "esp",
            ChainEnd::NoNext => "no_next_header",
            ChainEnd::NonFirstFragment => "fragment",
            ChainEnd::Upper if ext.upper == nh::ICMPV6 => "icmpv6_too_short",
            ChainEnd::Upper => "not_icmpv6",
        }
    }

    /// A frame to emit: untagged Ethernet, IPv6 without extension headers, `icmp6`.
    pub fn new(
        eth_src: EthernetAddress,
        eth_dst: EthernetAddress,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        icmp6: Icmpv6Repr,
    ) -> Self {
        let len = icmp6.buffer_len();
        Self {
            eth: EthernetRepr::new(eth_src, eth_dst, ethertype::IPV6),
            ip6: Ip6Info {
                src,
                dst,
                hop_limit,
                payload_len: len as u16,
                traffic_class: 0,
                flow_label: 0,
                ext: ExtChain::from_parts(&[], None, nh::ICMPV6),
            },
            icmp6_len: len,
            icmp6: Some(icmp6),
            checksum_ok: None,
            truncated: false,
        }
    }

    /// Replaces the extension headers to emit: `(type, length in bytes, fragment fields)`.
    pub fn with_ext_headers(mut self, headers: &[(u8, usize, Option<FragmentInfo>)]) -> Self {
        let kinds: Vec<u8> = headers.iter().map(|h| h.0).collect();
        let frag = headers.iter().find_map(|h| h.2);
        let mut c = ExtChain::from_parts(&kinds, frag, nh::ICMPV6);
        c.set_lens(
            headers
                .iter()
                .map(|h| ipv6::ext_header_len(h.0, h.1) as u16),
        );
        self.ip6.ext = c;
        self
    }

    /// Adds a VLAN tag (outer first); ignored beyond [`abi::MAX_VLANS`].
    pub fn with_vlan(mut self, tpid: u16, tci: u16) -> Self {
        let n = self.eth.vlan_count as usize;
        if n < abi::MAX_VLANS {
            self.eth.vlans[n] = VlanTag {
                tpid: Some(tpid),
                tci,
            };
            self.eth.vlan_count += 1;
        }
        self
    }

    fn ext_len(&self) -> usize {
        self.ip6
            .ext
            .headers()
            .iter()
            .map(|h| ipv6::ext_header_len(h.kind, h.len as usize))
            .sum()
    }

    /// The encoded frame length.
    pub fn buffer_len(&self) -> usize {
        self.eth.buffer_len()
            + ipv6::HEADER_LEN
            + self.ext_len()
            + self.icmp6.as_ref().map_or(0, Icmpv6Repr::buffer_len)
    }

    /// Writes the whole frame (payload length and ICMPv6 checksum computed); returns its
    /// length. `ip6.payload_len` is ignored.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let n = self.buffer_len();
        if buf.len() < n {
            return Err(Error::BufferTooSmall {
                need: n,
                have: buf.len(),
            });
        }
        let mut off = self.eth.emit(buf)?;
        let headers = self.ip6.ext.headers();
        let first = headers.first().map_or(nh::ICMPV6, |h| h.kind);
        let ip = Ipv6Repr {
            src: self.ip6.src,
            dst: self.ip6.dst,
            next_header: first,
            payload_len: (n - off - ipv6::HEADER_LEN) as u16,
            hop_limit: self.ip6.hop_limit,
            traffic_class: self.ip6.traffic_class,
            flow_label: self.ip6.flow_label,
        };
        off += ip.emit(&mut buf[off..])?;
        for (i, h) in headers.iter().enumerate() {
            let next = headers.get(i + 1).map_or(nh::ICMPV6, |n| n.kind);
            let frag = if h.kind == nh::FRAGMENT {
                self.ip6.ext.fragment()
            } else {
                None
            };
            off += ipv6::emit_ext_header(&mut buf[off..], h.kind, next, h.len as usize, frag)?;
        }
        if let Some(m) = &self.icmp6 {
            off += m.emit(&self.ip6.src, &self.ip6.dst, &mut buf[off..])?;
        }
        Ok(off)
    }

    /// The encoded frame as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = alloc::vec![0u8; self.buffer_len()];
        // Cannot fail: the buffer has exactly `buffer_len` bytes.
        let n = self.emit(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }

    /// [`Frame::emit`] appended to a `BytesMut`.
    #[cfg(feature = "bytes")]
    pub fn emit_to(&self, out: &mut bytes::BytesMut) -> Result<usize, Error> {
        let start = out.len();
        out.resize(start + self.buffer_len(), 0);
        self.emit(&mut out[start..])
    }
}

#[cfg(feature = "serde")]
mod ser {
    use serde::ser::{SerializeStruct, Serializer};

    use super::{Frame, Ip6Info};
    use crate::wire::Message;

    /// The `icmp6` object: the message with its number, name and checksum verdict.
    #[derive(serde::Serialize)]
    struct Icmp6<'a> {
        #[serde(rename = "type")]
        msg_type: u8,
        code: u8,
        name: &'static str,
        checksum_ok: Option<bool>,
        #[serde(flatten)]
        message: &'a Message,
    }

    /// An address written through [`crate::wire::text::ser_ipv6`].
    struct Addr<'a>(&'a core::net::Ipv6Addr);
    impl serde::Serialize for Addr<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            crate::wire::text::ser_ipv6(self.0, s)
        }
    }

    impl serde::Serialize for Ip6Info {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            struct Ext<'a>(&'a crate::wire::ExtChain);
            impl serde::Serialize for Ext<'_> {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    crate::wire::ipv6::ser_ext_names(self.0, s)
                }
            }
            let mut st = s.serialize_struct("Ip6Info", 7)?;
            st.serialize_field("src", &Addr(&self.src))?;
            st.serialize_field("dst", &Addr(&self.dst))?;
            st.serialize_field("hop_limit", &self.hop_limit)?;
            st.serialize_field("payload_len", &self.payload_len)?;
            st.serialize_field("ext", &Ext(&self.ext))?;
            // Headers walked past the listed ones (a chain longer than the kernel walks).
            let more = self.ext.count() - self.ext.headers().len();
            if more > 0 {
                st.serialize_field("ext_more", &more)?;
            } else {
                st.skip_field("ext_more")?;
            }
            st.serialize_field("frag", &self.frag())?;
            st.end()
        }
    }

    impl serde::Serialize for Frame {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Frame", 4)?;
            st.serialize_field("eth", &self.eth)?;
            st.serialize_field("ip6", &self.ip6)?;
            st.serialize_field(
                "icmp6",
                &self.icmp6.as_ref().map(|m| Icmp6 {
                    msg_type: m.msg_type.into(),
                    code: m.code,
                    name: m.msg_type.name(),
                    checksum_ok: self.checksum_ok,
                    message: &m.message,
                }),
            )?;
            st.serialize_field("truncated", &self.truncated)?;
            st.end()
        }
    }
}
