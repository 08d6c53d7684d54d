//! The IPv6 header (RFC 8200 section 3) and the extension-header chain (section 4).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Source Address (16)                   |
//! |                      Destination Address (16)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
use core::net::Ipv6Addr;

use super::{addr16, be16, be32, Error, Result};
use crate::abi::{next_header as nh, MAX_EXT_HEADERS};

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: usize = 4;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const HEADER_LEN: usize = 40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::HEADER_LEN;

/// A zero-copy view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    /// The fixed header is present. (The payload may be shorter than `payload_len` says: a
    /// capture can be cut; [`Ipv6Packet::payload`] returns what is there.)
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        if have < field::HEADER_LEN {
            return Err(Error::Truncated {
                layer: "ipv6",
                need: field::HEADER_LEN,
                have,
            });
        }
        Ok(())
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }
    pub fn traffic_class(&self) -> u8 {
        (be16(self.buffer.as_ref(), 0) >> 4) as u8
    }
    pub fn flow_label(&self) -> u32 {
        be32(self.buffer.as_ref(), 0) & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }
    pub fn src_addr(&self) -> Ipv6Addr {
        addr16(self.buffer.as_ref(), field::SRC)
    }
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr16(self.buffer.as_ref(), field::DST)
    }
    /// The payload, cut to `payload_len` when the buffer holds more (Ethernet padding).
    pub fn payload(&self) -> &[u8] {
        let b = &self.buffer.as_ref()[field::HEADER_LEN..];
        let n = (self.payload_len() as usize).min(b.len());
        &b[..n]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    pub fn set_version_tc_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let v = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_payload_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH..field::LENGTH + 2].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = v;
    }
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 16].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 16].copy_from_slice(&a.octets());
    }
}

/// The fixed IPv6 header in owned form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: u16,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Ipv6Repr {
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Result<Self> {
        p.check_len()?;
        if p.version() != 6 {
            return Err(Error::Malformed {
                layer: "ipv6",
                what: "version is not 6",
            });
        }
        Ok(Self {
            src: p.src_addr(),
            dst: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: p.payload_len(),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        field::HEADER_LEN
    }
    /// Writes the 40-byte header.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < field::HEADER_LEN {
            return Err(Error::BufferTooSmall {
                need: field::HEADER_LEN,
                have: buf.len(),
            });
        }
        let mut p = Ipv6Packet::new_unchecked(&mut buf[..field::HEADER_LEN]);
        p.set_version_tc_flow(self.traffic_class, self.flow_label);
        p.set_payload_len(self.payload_len);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        Ok(field::HEADER_LEN)
    }
}

/// Fragment header fields (RFC 8200 section 4.5).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Identification                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// JSON: `{"offset":0,"more":true,"id":305419896}` (offset in 8-octet units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FragmentInfo {
    pub offset: u16,
    pub more: bool,
    pub id: u32,
}

/// Length of the fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// One extension header of the chain: its type (the next-header value that announced it), its
/// length in bytes and, for a fragment header, the fragment fields. ESP and "no next header"
/// appear as the last entry with length 0 (their contents are opaque / absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtHeader {
    pub kind: u8,
    pub len: u16,
}

impl ExtHeader {
    /// Stable snake_case name of an extension header type.
    pub fn name_of(kind: u8) -> &'static str {
        match kind {
            nh::HOP_BY_HOP => "hop_by_hop",
            nh::ROUTING => "routing",
            nh::FRAGMENT => "fragment",
            nh::DEST_OPTS => "dest_opts",
            nh::AUTH => "auth",
            nh::ESP => "esp",
            nh::NO_NEXT => "no_next",
            nh::MOBILITY => "mobility",
            139 => "hip",
            140 => "shim6",
            _ => "unknown",
        }
    }
    pub fn name(&self) -> &'static str {
        Self::name_of(self.kind)
    }
    /// True for next-header values that are extension headers (not upper layers).
    pub fn is_ext(kind: u8) -> bool {
        matches!(
            kind,
            nh::HOP_BY_HOP
                | nh::ROUTING
                | nh::FRAGMENT
                | nh::DEST_OPTS
                | nh::AUTH
                | nh::ESP
                | nh::NO_NEXT
                | nh::MOBILITY
                | 139
                | 140
        )
    }
}

/// Serializes a chain as the list of its header names (`["hop_by_hop","fragment"]`): the `ext`
/// of a frame's `ip6` object and of a quoted packet.
#[cfg(feature = "serde")]
pub(crate) fn ser_ext_names<S: serde::Serializer>(
    c: &ExtChain,
    s: S,
) -> core::result::Result<S::Ok, S::Error> {
    s.collect_seq(c.headers().iter().map(|h| h.name()))
}

/// How the walk of the chain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ChainEnd {
    /// Reached an upper-layer header (`upper`) at `upper_offset`.
    #[default]
    Upper,
    /// ESP: the rest is encrypted.
    Esp,
    /// Next header 59: nothing follows.
    NoNext,
    /// A non-first fragment: what follows is fragment data, not a header.
    NonFirstFragment,
    /// A header runs past the end of the buffer.
    Truncated,
}

/// The walked extension-header chain, without allocation.
///
/// The walk goes as far as Linux does: a chain is bounded only by the packet's length (Linux's
/// `ip6_protocol_deliver_rcu` resubmits header after header, and accepts an RA behind nine
/// destination-options headers). The first [`MAX_EXT_HEADERS`] headers (as many as the kernel
/// programs walk) are kept; [`ExtChain::count`] counts them all, so a longer chain is both
/// walked to its upper layer and visible as longer than the kernel parser goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtChain {
    headers: [ExtHeader; MAX_EXT_HEADERS],
    /// Headers kept in `headers`.
    count: u8,
    /// Headers walked, kept or not (a payload of at most 65,535 bytes holds at most 8,192).
    total: u16,
    /// The (first) fragment header's fields: kept once, not per header, so the chain (and every
    /// decoded frame, which holds one) stays small.
    frag: Option<FragmentInfo>,
    /// Next-header value after the last header walked (the upper-layer protocol when
    /// `end == Upper`; for a non-first fragment, the fragment header's next header).
    pub upper: u8,
    /// Offset of the upper-layer header from the start of the IPv6 payload.
    pub upper_offset: usize,
    pub end: ChainEnd,
}

impl ExtChain {
    /// Walks `payload` (the bytes after the fixed header) starting at `first` (the IPv6 next
    /// header field). Never fails: how it stopped is in [`ExtChain::end`].
    #[inline]
    pub fn walk(first: u8, payload: &[u8]) -> Self {
        // Fast path, the common case (no extension header): built whole, in place.
        if !ExtHeader::is_ext(first) {
            return Self {
                headers: [ExtHeader::default(); MAX_EXT_HEADERS],
                count: 0,
                total: 0,
                frag: None,
                upper: first,
                upper_offset: 0,
                end: ChainEnd::Upper,
            };
        }
        Self::walk_slow(first, payload)
    }

    /// The general walk (also reached for the fast path's inputs in tests).
    #[inline(never)]
    pub(crate) fn walk_slow(first: u8, payload: &[u8]) -> Self {
        let mut c = Self {
            upper: first,
            ..Self::default()
        };
        let mut kind = first;
        let mut off = 0usize;
        loop {
            if !ExtHeader::is_ext(kind) {
                c.end = ChainEnd::Upper;
                break;
            }
            if kind == nh::ESP || kind == nh::NO_NEXT {
                c.push(ExtHeader { kind, len: 0 });
                c.end = if kind == nh::ESP {
                    ChainEnd::Esp
                } else {
                    ChainEnd::NoNext
                };
                break;
            }
            let rest = &payload[off.min(payload.len())..];
            if rest.len() < 8 {
                c.end = ChainEnd::Truncated;
                break;
            }
            let next = rest[0];
            let (len, frag) = match kind {
                nh::FRAGMENT => {
                    let w = be16(rest, 2);
                    let f = FragmentInfo {
                        offset: w >> 3,
                        more: w & 1 != 0,
                        id: be32(rest, 4),
                    };
                    (FRAGMENT_HEADER_LEN, Some(f))
                }
                nh::AUTH => ((rest[1] as usize + 2) * 4, None),
                _ => ((rest[1] as usize + 1) * 8, None),
            };
            c.push(ExtHeader {
                kind,
                len: len as u16,
            });
            if c.frag.is_none() {
                c.frag = frag;
            }
            c.upper = next;
            if rest.len() < len {
                c.end = ChainEnd::Truncated;
                break;
            }
            off += len;
            c.upper_offset = off;
            if let Some(f) = frag {
                if f.offset != 0 {
                    c.end = ChainEnd::NonFirstFragment;
                    break;
                }
            }
            kind = next;
        }
        c
    }

    fn push(&mut self, h: ExtHeader) {
        self.total = self.total.saturating_add(1);
        if let Some(slot) = self.headers.get_mut(self.count as usize) {
            *slot = h;
            self.count += 1;
        }
    }

    /// The headers walked, in order: the first [`MAX_EXT_HEADERS`] of them.
    pub fn headers(&self) -> &[ExtHeader] {
        &self.headers[..self.count as usize]
    }

    /// How many headers were walked, including those past [`MAX_EXT_HEADERS`] that
    /// [`ExtChain::headers`] does not list.
    pub fn count(&self) -> usize {
        self.total as usize
    }

    /// The chain is longer than the kernel programs walk ([`MAX_EXT_HEADERS`]): they record
    /// such a packet on link-scope traffic only, flagged, and user space walks on.
    pub fn longer_than_kernel_walks(&self) -> bool {
        self.count() > MAX_EXT_HEADERS
    }
    /// The fragment header's fields, if there was one.
    pub fn fragment(&self) -> Option<FragmentInfo> {
        self.frag
    }
    /// Sets the header lengths (for emitting), in order.
    pub fn set_lens(&mut self, lens: impl Iterator<Item = u16>) {
        let n = self.count as usize;
        for (h, l) in self.headers[..n].iter_mut().zip(lens) {
            h.len = l;
        }
    }

    /// Builds a chain from parts (used for kernel records, which list only the types).
    pub fn from_parts(kinds: &[u8], frag: Option<FragmentInfo>, upper: u8) -> Self {
        let mut c = Self {
            upper,
            ..Self::default()
        };
        for &k in kinds.iter().take(MAX_EXT_HEADERS) {
            c.push(ExtHeader { kind: k, len: 0 });
        }
        if kinds.contains(&nh::FRAGMENT) {
            c.frag = frag;
        }
        c.end = match c.headers().last().map(|h| h.kind) {
            Some(nh::ESP) => ChainEnd::Esp,
            Some(nh::NO_NEXT) => ChainEnd::NoNext,
            _ if frag.is_some_and(|f| f.offset != 0) => ChainEnd::NonFirstFragment,
            _ => ChainEnd::Upper,
        };
        c
    }
}

/// Writes an extension header of `kind` announcing `next`, `len` bytes long (rounded up to the
/// header's unit, at least 8), into `buf`. Options headers are filled with PadN, routing headers
/// are type 0 with segments left 0 and zeroed data, fragment headers carry `frag`. Returns the
/// length written.
pub fn emit_ext_header(
    buf: &mut [u8],
    kind: u8,
    next: u8,
    len: usize,
    frag: Option<FragmentInfo>,
) -> Result<usize> {
    let len = ext_header_len(kind, len);
    if buf.len() < len {
        return Err(Error::BufferTooSmall {
            need: len,
            have: buf.len(),
        });
    }
    let b = &mut buf[..len];
    b.fill(0);
    b[0] = next;
    match kind {
        nh::FRAGMENT => {
            let f = frag.unwrap_or_default();
            let w = (f.offset << 3) | u16::from(f.more);
            b[2..4].copy_from_slice(&w.to_be_bytes());
            b[4..8].copy_from_slice(&f.id.to_be_bytes());
        }
        nh::AUTH => b[1] = (len / 4 - 2) as u8,
        nh::HOP_BY_HOP | nh::DEST_OPTS => {
            b[1] = (len / 8 - 1) as u8;
            // PadN over the option area (len - 2 >= 6 bytes).
            b[2] = 1;
            b[3] = (len - 4) as u8;
        }
        _ => b[1] = (len / 8 - 1) as u8,
    }
    Ok(len)
}

/// The length [`emit_ext_header`] writes for a requested length.
pub fn ext_header_len(kind: u8, len: usize) -> usize {
    match kind {
        nh::FRAGMENT => FRAGMENT_HEADER_LEN,
        // AH: units of 4 octets, at least 12 (RFC 4302); keep a multiple of 8 for IPv6.
        _ => len.clamp(8, 2048).div_ceil(8) * 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic (built by hand from RFC 8200): IPv6 fd00::1 -> fd00::2, hop limit 255,
    // hop-by-hop (8 bytes, PadN) -> fragment (offset 0, M=1, id 0x12345678) -> ICMPv6,
    // followed by 4 bytes of payload.
    const PKT: [u8; 60] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0xff, // ver, len 20, nh 0, hlim 255
        0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src
        0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst
        0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // HBH -> frag, PadN 4
        0x3a, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78, // frag -> icmpv6, off 0, M
        0x87, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn header_and_chain() {
        let p = Ipv6Packet::new_checked(&PKT[..]).unwrap();
        let r = Ipv6Repr::parse(&p).unwrap();
        assert_eq!(r.hop_limit, 255);
        assert_eq!(r.payload_len, 20);
        assert_eq!(r.src, "fd00::1".parse::<Ipv6Addr>().unwrap());
        let c = ExtChain::walk(r.next_header, p.payload());
        assert_eq!(c.end, ChainEnd::Upper);
        assert_eq!(c.upper, nh::ICMPV6);
        assert_eq!(c.upper_offset, 16);
        let kinds: [u8; 2] = [c.headers()[0].kind, c.headers()[1].kind];
        assert_eq!(kinds, [nh::HOP_BY_HOP, nh::FRAGMENT]);
        assert_eq!(
            c.fragment(),
            Some(FragmentInfo {
                offset: 0,
                more: true,
                id: 0x1234_5678
            })
        );
        // Emit: header and both extension headers into junk.
        let mut buf = [0xa5u8; 60];
        r.emit(&mut buf).unwrap();
        emit_ext_header(&mut buf[40..], nh::HOP_BY_HOP, nh::FRAGMENT, 8, None).unwrap();
        emit_ext_header(&mut buf[48..], nh::FRAGMENT, nh::ICMPV6, 8, c.fragment()).unwrap();
        buf[56..].copy_from_slice(&PKT[56..]);
        assert_eq!(buf, PKT);
    }

    #[test]
    fn non_first_fragment_stops() {
        let mut pkt = PKT;
        pkt[50] = 0x00;
        pkt[51] = 0x08; // offset 1
        let p = Ipv6Packet::new_checked(&pkt[..]).unwrap();
        let c = ExtChain::walk(p.next_header(), p.payload());
        assert_eq!(c.end, ChainEnd::NonFirstFragment);
        assert_eq!(c.upper, nh::ICMPV6);
    }

    /// `n` 8-byte destination-options headers, then a 4-byte ICMPv6 header, into `buf`.
    fn dest_opts_chain(buf: &mut [u8], n: usize) -> &[u8] {
        let payload = &mut buf[..n * 8 + 4];
        payload.fill(0);
        for (i, h) in payload[..n * 8].chunks_mut(8).enumerate() {
            h[0] = if i + 1 == n {
                nh::ICMPV6
            } else {
                nh::DEST_OPTS
            };
            h[2] = 1; // PadN over the other 6 bytes
            h[3] = 4;
        }
        payload[n * 8] = 134;
        payload
    }

    #[test]
    fn chain_is_walked_past_what_the_kernel_walks() {
        let mut buf = [0u8; 8192];
        for n in [9, 16, 17, 40, 1000] {
            let payload = dest_opts_chain(&mut buf, n);
            let c = ExtChain::walk(nh::DEST_OPTS, payload);
            assert_eq!(c.end, ChainEnd::Upper, "{n} headers");
            assert_eq!(c.upper, nh::ICMPV6);
            assert_eq!(c.upper_offset, n * 8);
            assert_eq!(c.count(), n);
            assert_eq!(c.headers().len(), n.min(MAX_EXT_HEADERS));
            assert_eq!(c.longer_than_kernel_walks(), n > MAX_EXT_HEADERS);
        }
    }

    #[test]
    fn the_longest_possible_chain_is_walked_and_counted() {
        // A 65,535-byte payload of 8-byte headers: 8,191 of them, then 7 bytes of a cut one.
        let mut payload = [0u8; 65_535];
        for h in payload.chunks_mut(8) {
            h[0] = nh::DEST_OPTS;
        }
        let c = ExtChain::walk(nh::DEST_OPTS, &payload);
        assert_eq!(c.end, ChainEnd::Truncated);
        assert_eq!(c.count(), 8_191);
    }

    #[test]
    fn a_long_options_header_is_one_header() {
        // 300 bytes rounded up to 304 (length field 37), then ICMPv6.
        let mut payload = [0u8; 304 + 4];
        payload[0] = nh::ICMPV6;
        payload[1] = 37;
        let c = ExtChain::walk(nh::DEST_OPTS, &payload);
        assert_eq!(c.end, ChainEnd::Upper);
        assert_eq!(c.upper_offset, 304);
        assert_eq!(c.headers()[0].len, 304);
        // Cut inside the header: truncated, never a panic.
        let c = ExtChain::walk(nh::DEST_OPTS, &payload[..200]);
        assert_eq!(c.end, ChainEnd::Truncated);
    }

    #[test]
    fn truncations_never_panic() {
        for n in 0..PKT.len() {
            if let Ok(p) = Ipv6Packet::new_checked(&PKT[..n]) {
                let c = ExtChain::walk(p.next_header(), p.payload());
                if n < 56 {
                    assert_eq!(c.end, ChainEnd::Truncated, "len {n}");
                }
            }
        }
    }
}
