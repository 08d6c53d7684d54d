//! One fragment read from a frame's bytes: where its per-fragment headers end, its fragment
//! header's fields, and its data (RFC 8200 4.5).
//!
//! ```text
//!  Ethernet (+ VLAN tags) | IPv6 header | per-fragment headers | Fragment header | data
//!                           \______ kept from the first fragment _____/            \_ offset*8
//! ```
use v6probe_common::{
    abi::{ethertype, next_header as nh},
    wire::{ipv6, EthernetFrame, EthernetRepr, ExtChain, ExtHeader, Ipv6Packet},
};

/// Bytes of upper-layer header a first fragment must hold (RFC 7112; Linux's
/// `ipv6frag_thdr_truncated` asks for the same: TCP 20, UDP 8, ICMPv6 8, anything else 1).
pub fn upper_header_len(next_header: u8) -> usize {
    match next_header {
        nh::TCP => 20,
        nh::UDP | nh::ICMPV6 => 8,
        _ => 1,
    }
}

/// Why a frame's fragment cannot be reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// The record or capture holds less than the IPv6 payload length says.
    Truncated,
    /// Not Ethernet + IPv6, or a header in front of the fragment header runs past the end.
    Malformed,
}

/// A fragment, borrowing the frame.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Ethernet header, VLAN tags included.
    pub eth: &'a [u8],
    /// The IPv6 header and the per-fragment headers (everything before the fragment header).
    pub head: &'a [u8],
    /// Index in `head` of the next-header byte that announces the fragment header.
    pub nh_at: usize,
    /// The fragment header's next header: the first header of the fragmentable part.
    pub next_header: u8,
    /// Offset of `data` in the original packet's fragmentable part, in bytes.
    pub offset: u32,
    pub more: bool,
    pub id: u32,
    /// The fragment's data (after the fragment header, to the end of the IPv6 payload).
    pub data: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// The fragment in an Ethernet frame, `Ok(None)` when the packet has no fragment header
    /// before its upper layer.
    pub fn parse(frame: &'a [u8]) -> Result<Option<Self>, Unusable> {
        let ef = EthernetFrame::new_checked(frame).map_err(|_| Unusable::Malformed)?;
        let (eth, l3) = EthernetRepr::parse(&ef).map_err(|_| Unusable::Malformed)?;
        if eth.ethertype != ethertype::IPV6 {
            return Err(Unusable::Malformed);
        }
        let ip = Ipv6Packet::new_checked(&frame[l3..]).map_err(|_| Unusable::Malformed)?;
        if ip.version() != 6 {
            return Err(Unusable::Malformed);
        }
        let payload_len = usize::from(ip.payload_len());
        let payload = &frame[l3 + ipv6::HEADER_LEN..];
        // Walk to the first fragment header: every header before it is a per-fragment header.
        let mut kind = ip.next_header();
        let mut nh_at = 6;
        let mut off = 0usize;
        loop {
            if kind == nh::FRAGMENT {
                break;
            }
            if !ExtHeader::is_ext(kind) || kind == nh::ESP || kind == nh::NO_NEXT {
                return Ok(None);
            }
            let Some(h) = payload.get(off..off + 2) else {
                return Err(Self::cut(payload, payload_len));
            };
            let len = if kind == nh::AUTH {
                (usize::from(h[1]) + 2) * 4
            } else {
                (usize::from(h[1]) + 1) * 8
            };
            nh_at = ipv6::HEADER_LEN + off;
            kind = h[0];
            off += len;
            if off > payload_len {
                return Err(Self::cut(payload, payload_len));
            }
        }
        let frag_end = off + ipv6::FRAGMENT_HEADER_LEN;
        if frag_end > payload_len {
            return Err(Self::cut(payload, payload_len));
        }
        if payload.len() < payload_len {
            // The fragment's data is not all there: it cannot be put in its place.
            return Err(Unusable::Truncated);
        }
        let f = &payload[off..frag_end];
        let w = u16::from_be_bytes([f[2], f[3]]);
        Ok(Some(Self {
            eth: &frame[..l3],
            head: &frame[l3..l3 + ipv6::HEADER_LEN + off],
            nh_at,
            next_header: f[0],
            offset: u32::from(w >> 3) * 8,
            more: w & 1 != 0,
            id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
            data: &payload[frag_end..payload_len],
        }))
    }

    /// A header runs past the end: truncated when the capture is shorter than the payload
    /// length (the rest was not kept), malformed when the packet itself ends there.
    fn cut(payload: &[u8], payload_len: usize) -> Unusable {
        if payload.len() < payload_len {
            Unusable::Truncated
        } else {
            Unusable::Malformed
        }
    }

    /// The data's end in the fragmentable part.
    pub fn end(&self) -> u32 {
        self.offset + self.data.len() as u32
    }

    /// A first fragment that does not hold the whole header chain through the upper-layer
    /// header (RFC 7112 5: "the first fragment MUST include the entire IPv6 header chain";
    /// RFC 8200 4.5 has a host discard it). Only a first fragment with more to follow: a
    /// lone one is the whole packet.
    pub fn chain_incomplete(&self) -> bool {
        if self.offset != 0 || !self.more {
            return false;
        }
        let c = ExtChain::walk(self.next_header, self.data);
        match c.end {
            ipv6::ChainEnd::Truncated => true,
            ipv6::ChainEnd::Upper => {
                self.data.len() - c.upper_offset.min(self.data.len()) < upper_header_len(c.upper)
            }
            _ => false,
        }
    }

    /// Where the fragment header sat: the IPv6 payload length of the per-fragment part.
    pub fn head_ext_len(&self) -> usize {
        self.head.len() - ipv6::HEADER_LEN
    }
}
