//! ICMPv6 (RFC 4443) and the NDP messages (RFC 4861 section 4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   RS/NS/NA/Redirect: Reserved or R|S|O flags; RA: Cur Hop      |
//! |   Limit, M|O|H|Prf|P flags, Router Lifetime; errors: unused,   |
//! |   MTU or Pointer; echo: Identifier, Sequence Number            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  RA: Reachable Time, Retrans Timer; NS/NA: Target Address;     |
//! |  Redirect: Target, Destination; errors: the invoking packet    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Options ...
//! ```
use core::net::Ipv6Addr;

pub use super::types::{Icmpv6Type, NdpType, ParseNdpTypeError};
use super::{
    addr16, be16, be32, checksum,
    ndisc_option::{OptionsRef, Preference},
    Error, Result,
};
use crate::abi::next_header;

/// ICMPv6 type numbers as constants (the kernel programs' `abi::icmp6`, plus echo), for code
/// that matches on the raw byte; elsewhere use [`Icmpv6Type`].
pub mod msg_type {
    pub use crate::abi::icmp6::*;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
}

#[allow(dead_code)] // the options offsets are used with `alloc` (emit)
mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const HEADER_LEN: usize = 4;
    // Errors
    pub const MTU: usize = 4; // packet too big
    pub const POINTER: usize = 4; // parameter problem
    pub const ERR_DATA: usize = 8;
    // Echo
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQ: usize = 6;
    // RA (RFC 4861 4.2)
    pub const CUR_HOP_LIMIT: usize = 4;
    pub const ROUTER_FLAGS: usize = 5;
    pub const ROUTER_LIFETIME: usize = 6;
    pub const REACHABLE_TIME: usize = 8;
    pub const RETRANS_TIMER: usize = 12;
    pub const RA_OPTIONS: usize = 16;
    // RS (4.1)
    pub const RS_OPTIONS: usize = 8;
    // NS / NA (4.3, 4.4)
    pub const NEIGH_FLAGS: usize = 4;
    pub const TARGET: usize = 8;
    pub const NEIGH_OPTIONS: usize = 24;
    // Redirect (4.5)
    pub const DEST: usize = 24;
    pub const REDIRECT_OPTIONS: usize = 40;
}

/// A zero-copy view of an ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    /// The 4-byte header and the type's fixed part ([`Icmpv6Type::min_len`]) are present.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        let need = if have < field::HEADER_LEN {
            field::HEADER_LEN
        } else {
            self.msg_type().min_len()
        };
        if have < need {
            return Err(Error::Truncated {
                layer: "icmpv6",
                need,
                have,
            });
        }
        Ok(())
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    #[inline]
    pub fn msg_type(&self) -> Icmpv6Type {
        Icmpv6Type::from(self.b()[field::TYPE])
    }
    pub fn msg_code(&self) -> u8 {
        self.b()[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.b(), field::CHECKSUM)
    }
    /// True when the checksum over the pseudo-header and the whole buffer is right.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        checksum::verify(src, dst, next_header::ICMPV6, self.b())
    }
    pub fn mtu(&self) -> u32 {
        be32(self.b(), field::MTU)
    }
    pub fn pointer(&self) -> u32 {
        be32(self.b(), field::POINTER)
    }
    pub fn echo_ident(&self) -> u16 {
        be16(self.b(), field::ECHO_IDENT)
    }
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.b(), field::ECHO_SEQ)
    }
    pub fn current_hop_limit(&self) -> u8 {
        self.b()[field::CUR_HOP_LIMIT]
    }
    pub fn router_flags(&self) -> u8 {
        self.b()[field::ROUTER_FLAGS]
    }
    pub fn router_lifetime(&self) -> u16 {
        be16(self.b(), field::ROUTER_LIFETIME)
    }
    pub fn reachable_time(&self) -> u32 {
        be32(self.b(), field::REACHABLE_TIME)
    }
    pub fn retrans_time(&self) -> u32 {
        be32(self.b(), field::RETRANS_TIMER)
    }
    /// NA flags byte: R 0x80, S 0x40, O 0x20.
    pub fn neighbor_flags(&self) -> u8 {
        self.b()[field::NEIGH_FLAGS]
    }
    pub fn target_addr(&self) -> Ipv6Addr {
        addr16(self.b(), field::TARGET)
    }
    pub fn dest_addr(&self) -> Ipv6Addr {
        addr16(self.b(), field::DEST)
    }
    /// Offset of the options area for NDP types (None for other types).
    pub fn options_offset(&self) -> Option<usize> {
        self.msg_type().options_offset()
    }
    /// The options area of an NDP message (empty for other types or short buffers).
    pub fn options(&self) -> &[u8] {
        let b = self.b();
        self.options_offset()
            .and_then(|o| b.get(o..))
            .unwrap_or_default()
    }
    /// The walker over the options area.
    pub fn option_iter(&self) -> super::ndisc_option::OptionIter<'_> {
        super::ndisc_option::OptionIter::new(self.options())
    }
    /// The invoking packet quoted by an error message.
    pub fn invoking_packet(&self) -> &[u8] {
        self.b().get(field::ERR_DATA..).unwrap_or_default()
    }
}

impl<'a> Icmpv6Packet<&'a [u8]> {
    /// [`Icmpv6Packet::options`] for as long as the buffer lives.
    #[inline]
    pub fn options_bytes(&self) -> &'a [u8] {
        let b: &'a [u8] = self.buffer;
        self.options_offset()
            .and_then(|o| b.get(o..))
            .unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    pub fn set_msg_type(&mut self, v: Icmpv6Type) {
        self.bm()[field::TYPE] = v.into();
    }
    pub fn set_msg_code(&mut self, v: u8) {
        self.bm()[field::CODE] = v;
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.bm()[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&v.to_be_bytes());
    }
    /// Zeroes the checksum field and writes the checksum over the pseudo-header and buffer.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let c = checksum::compute(src, dst, next_header::ICMPV6, self.buffer.as_ref());
        self.set_checksum(c);
    }
    fn put(&mut self, at: usize, v: &[u8]) {
        self.bm()[at..at + v.len()].copy_from_slice(v);
    }
    pub fn set_mtu(&mut self, v: u32) {
        self.put(field::MTU, &v.to_be_bytes());
    }
    pub fn set_pointer(&mut self, v: u32) {
        self.put(field::POINTER, &v.to_be_bytes());
    }
    pub fn set_echo_ident(&mut self, v: u16) {
        self.put(field::ECHO_IDENT, &v.to_be_bytes());
    }
    pub fn set_echo_seq_no(&mut self, v: u16) {
        self.put(field::ECHO_SEQ, &v.to_be_bytes());
    }
    pub fn set_current_hop_limit(&mut self, v: u8) {
        self.bm()[field::CUR_HOP_LIMIT] = v;
    }
    pub fn set_router_flags(&mut self, v: u8) {
        self.bm()[field::ROUTER_FLAGS] = v;
    }
    pub fn set_router_lifetime(&mut self, v: u16) {
        self.put(field::ROUTER_LIFETIME, &v.to_be_bytes());
    }
    pub fn set_reachable_time(&mut self, v: u32) {
        self.put(field::REACHABLE_TIME, &v.to_be_bytes());
    }
    pub fn set_retrans_time(&mut self, v: u32) {
        self.put(field::RETRANS_TIMER, &v.to_be_bytes());
    }
    pub fn set_neighbor_flags(&mut self, v: u8) {
        self.bm()[field::NEIGH_FLAGS] = v;
    }
    pub fn set_target_addr(&mut self, a: Ipv6Addr) {
        self.put(field::TARGET, &a.octets());
    }
    pub fn set_dest_addr(&mut self, a: Ipv6Addr) {
        self.put(field::DEST, &a.octets());
    }
}

/// The body of an ICMPv6 message, borrowing its bytes: nothing copied, options walked when
/// asked (see [`Message`] for the fields and their JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    RouterSolicit {
        reserved: u32,
        options: OptionsRef<'a>,
    },
    RouterAdvert {
        cur_hop_limit: u8,
        managed: bool,
        other: bool,
        home_agent: bool,
        preference: Preference,
        proxy: bool,
        reserved_flags: u8,
        router_lifetime: u16,
        reachable_time: u32,
        retrans_timer: u32,
        options: OptionsRef<'a>,
    },
    NeighborSolicit {
        reserved: u32,
        target: Ipv6Addr,
        options: OptionsRef<'a>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_: bool,
        reserved: u32,
        target: Ipv6Addr,
        options: OptionsRef<'a>,
    },
    Redirect {
        reserved: u32,
        target: Ipv6Addr,
        destination: Ipv6Addr,
        options: OptionsRef<'a>,
    },
    DestUnreachable {
        reason: Option<&'static str>,
        unused: u32,
        /// The invoking packet.
        data: &'a [u8],
    },
    PacketTooBig {
        mtu: u32,
        data: &'a [u8],
    },
    TimeExceeded {
        reason: Option<&'static str>,
        unused: u32,
        data: &'a [u8],
    },
    ParamProblem {
        reason: Option<&'static str>,
        pointer: u32,
        data: &'a [u8],
    },
    EchoRequest {
        id: u16,
        seq: u16,
        data: &'a [u8],
    },
    EchoReply {
        id: u16,
        seq: u16,
        data: &'a [u8],
    },
    /// Shorter than the minimum for its type: the bytes after the 4-byte header.
    Short {
        data: &'a [u8],
    },
    /// Any other type: the bytes after the 4-byte header.
    Other {
        data: &'a [u8],
    },
}

/// An ICMPv6 message borrowing its bytes (the owned form is [`Icmpv6Repr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv6Ref<'a> {
    pub msg_type: Icmpv6Type,
    pub code: u8,
    /// The checksum field as received.
    pub checksum: u16,
    pub message: MessageRef<'a>,
}

impl<'a> Icmpv6Ref<'a> {
    /// Parses a message. Only fewer than 4 bytes is an error; a message too short for its
    /// type becomes [`MessageRef::Short`]. The checksum is not verified here.
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() < field::HEADER_LEN {
            return Err(Error::Truncated {
                layer: "icmpv6",
                need: field::HEADER_LEN,
                have: bytes.len(),
            });
        }
        let p = Icmpv6Packet::new_unchecked(bytes);
        let t = p.msg_type();
        let code = p.msg_code();
        let rest = &bytes[field::HEADER_LEN..];
        let message = if bytes.len() < t.min_len() {
            MessageRef::Short { data: rest }
        } else {
            // Types without a fixed part (min_len 4) may be shorter than 8 bytes.
            let w1 = if bytes.len() >= 8 { be32(bytes, 4) } else { 0 };
            let options = OptionsRef(
                t.options_offset()
                    .and_then(|o| bytes.get(o..))
                    .unwrap_or_default(),
            );
            let after = bytes.get(field::ERR_DATA..).unwrap_or_default();
            match t {
                Icmpv6Type::RouterSolicit => MessageRef::RouterSolicit {
                    reserved: w1,
                    options,
                },
                Icmpv6Type::RouterAdvert => {
                    let f = p.router_flags();
                    MessageRef::RouterAdvert {
                        cur_hop_limit: p.current_hop_limit(),
                        managed: f & 0x80 != 0,
                        other: f & 0x40 != 0,
                        home_agent: f & 0x20 != 0,
                        preference: Preference::from_bits(f >> 3),
                        proxy: f & 0x04 != 0,
                        reserved_flags: f & 0x03,
                        router_lifetime: p.router_lifetime(),
                        reachable_time: p.reachable_time(),
                        retrans_timer: p.retrans_time(),
                        options,
                    }
                }
                Icmpv6Type::NeighborSolicit => MessageRef::NeighborSolicit {
                    reserved: w1,
                    target: p.target_addr(),
                    options,
                },
                Icmpv6Type::NeighborAdvert => MessageRef::NeighborAdvert {
                    router: w1 & 0x8000_0000 != 0,
                    solicited: w1 & 0x4000_0000 != 0,
                    override_: w1 & 0x2000_0000 != 0,
                    reserved: w1 & 0x1fff_ffff,
                    target: p.target_addr(),
                    options,
                },
                Icmpv6Type::Redirect => MessageRef::Redirect {
                    reserved: w1,
                    target: p.target_addr(),
                    destination: p.dest_addr(),
                    options,
                },
                Icmpv6Type::DestUnreachable => MessageRef::DestUnreachable {
                    reason: t.code_name(code),
                    unused: w1,
                    data: after,
                },
                Icmpv6Type::PacketTooBig => MessageRef::PacketTooBig {
                    mtu: w1,
                    data: after,
                },
                Icmpv6Type::TimeExceeded => MessageRef::TimeExceeded {
                    reason: t.code_name(code),
                    unused: w1,
                    data: after,
                },
                Icmpv6Type::ParamProblem => MessageRef::ParamProblem {
                    reason: t.code_name(code),
                    pointer: w1,
                    data: after,
                },
                Icmpv6Type::EchoRequest => MessageRef::EchoRequest {
                    id: p.echo_ident(),
                    seq: p.echo_seq_no(),
                    data: after,
                },
                Icmpv6Type::EchoReply => MessageRef::EchoReply {
                    id: p.echo_ident(),
                    seq: p.echo_seq_no(),
                    data: after,
                },
                _ => MessageRef::Other { data: rest },
            }
        };
        Ok(Self {
            msg_type: t,
            code,
            checksum: p.checksum(),
            message,
        })
    }

    /// The options area of an NDP message (`None` for other types and short messages).
    pub fn options(&self) -> Option<OptionsRef<'a>> {
        match self.message {
            MessageRef::RouterSolicit { options, .. }
            | MessageRef::RouterAdvert { options, .. }
            | MessageRef::NeighborSolicit { options, .. }
            | MessageRef::NeighborAdvert { options, .. }
            | MessageRef::Redirect { options, .. } => Some(options),
            _ => None,
        }
    }

    /// The owned form.
    #[cfg(feature = "alloc")]
    pub fn to_owned(&self) -> Icmpv6Repr {
        self.to_owned_reusing(alloc::vec::Vec::new())
    }

    /// The owned form, its option list (if it has one) built in `spare`
    /// ([`Options::parse_reusing`]).
    #[cfg(feature = "alloc")]
    pub fn to_owned_reusing(&self, spare: alloc::vec::Vec<super::NdpOption>) -> Icmpv6Repr {
        Icmpv6Repr {
            msg_type: self.msg_type,
            code: self.code,
            checksum: self.checksum,
            message: Message::from_ref_reusing(self.message, spare),
        }
    }
}

#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::{boxed::Box, vec::Vec};
    use core::net::Ipv6Addr;

    use super::{field, Icmpv6Packet, Icmpv6Ref, Icmpv6Type, MessageRef};
    pub use crate::wire::quoted::{Quoted, QuotedUpper};
    use crate::wire::{
        ndisc_option::{NdpOption, Options, Preference},
        Error, Result,
    };

    /// The body of an ICMPv6 message, by type.
    ///
    /// JSON (written by the frame's serializer, [`crate::wire::frame`]): flattened into the
    /// `icmp6` object next to `type`, `code`, `name`, `checksum_ok`:
    /// - `router_solicit`: `"options"`
    /// - `router_advert`: `"cur_hop_limit","managed","other","home_agent","preference",
    ///   "proxy","router_lifetime","reachable_time","retrans_timer","options"`
    /// - `neighbor_solicit`: `"target","options"`
    /// - `neighbor_advert`: `"router","solicited","override","target","options"`
    /// - `redirect`: `"target","destination","options"`
    /// - `dest_unreachable`, `time_exceeded`: `"reason","quoted"`; `packet_too_big`:
    ///   `"mtu","quoted"`; `param_problem`: `"reason","pointer","quoted"`
    /// - `echo_request` / `echo_reply`: `"id","seq","data_len"`
    /// - too short for its type: `"short":true,"data_len"`; other types: `"data_len"`
    ///
    /// The quoted packet of an error is boxed: errors are rare, and an unboxed [`Quoted`]
    /// (with its extension-header chain) would more than double the size of every NDP
    /// message, which the decoder moves on every frame (codec benchmark).
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize))]
    #[cfg_attr(feature = "serde", serde(untagged))]
    pub enum Message {
        RouterSolicit {
            /// The Reserved field (kept so emit reproduces the input).
            #[cfg_attr(feature = "serde", serde(skip))]
            reserved: u32,
            options: Options,
        },
        RouterAdvert {
            cur_hop_limit: u8,
            managed: bool,
            other: bool,
            home_agent: bool,
            preference: Preference,
            proxy: bool,
            #[cfg_attr(feature = "serde", serde(skip))]
            reserved_flags: u8,
            router_lifetime: u16,
            reachable_time: u32,
            retrans_timer: u32,
            options: Options,
        },
        NeighborSolicit {
            #[cfg_attr(feature = "serde", serde(skip))]
            reserved: u32,
            #[cfg_attr(
                feature = "serde",
                serde(serialize_with = "crate::wire::text::ser_ipv6")
            )]
            target: Ipv6Addr,
            options: Options,
        },
        NeighborAdvert {
            router: bool,
            solicited: bool,
            #[cfg_attr(feature = "serde", serde(rename = "override"))]
            override_: bool,
            /// The 29 reserved bits after R, S, O.
            #[cfg_attr(feature = "serde", serde(skip))]
            reserved: u32,
            #[cfg_attr(
                feature = "serde",
                serde(serialize_with = "crate::wire::text::ser_ipv6")
            )]
            target: Ipv6Addr,
            options: Options,
        },
        Redirect {
            #[cfg_attr(feature = "serde", serde(skip))]
            reserved: u32,
            #[cfg_attr(
                feature = "serde",
                serde(serialize_with = "crate::wire::text::ser_ipv6")
            )]
            target: Ipv6Addr,
            #[cfg_attr(
                feature = "serde",
                serde(serialize_with = "crate::wire::text::ser_ipv6")
            )]
            destination: Ipv6Addr,
            options: Options,
        },
        DestUnreachable {
            reason: Option<&'static str>,
            #[cfg_attr(feature = "serde", serde(skip))]
            unused: u32,
            quoted: Box<Quoted>,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
        PacketTooBig {
            mtu: u32,
            quoted: Box<Quoted>,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
        TimeExceeded {
            reason: Option<&'static str>,
            #[cfg_attr(feature = "serde", serde(skip))]
            unused: u32,
            quoted: Box<Quoted>,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
        ParamProblem {
            reason: Option<&'static str>,
            pointer: u32,
            quoted: Box<Quoted>,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
        EchoRequest {
            id: u16,
            seq: u16,
            data_len: usize,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
        EchoReply {
            id: u16,
            seq: u16,
            data_len: usize,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
        /// Shorter than the minimum for its type: the bytes after the 4-byte header, raw.
        /// JSON: `"short":true,"data_len":N`.
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser_short"))]
        Short { data_len: usize, data: Vec<u8> },
        /// Any other type: the bytes after the 4-byte header, raw.
        Other {
            data_len: usize,
            #[cfg_attr(feature = "serde", serde(skip))]
            data: Vec<u8>,
        },
    }

    #[cfg(feature = "serde")]
    fn ser_short<S: serde::Serializer>(
        data_len: &usize,
        _data: &Vec<u8>,
        s: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Short", 2)?;
        st.serialize_field("short", &true)?;
        st.serialize_field("data_len", data_len)?;
        st.end()
    }

    /// An ICMPv6 message in owned form: what the bytes say, nothing about how they are shown
    /// (the name comes from [`Icmpv6Type::name`]; whether the checksum is right needs the IPv6
    /// addresses, so it is the frame's [`crate::wire::Frame::checksum_ok`]).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Icmpv6Repr {
        pub msg_type: Icmpv6Type,
        pub code: u8,
        /// The checksum field as received (filled on emit).
        pub checksum: u16,
        pub message: Message,
    }

    impl From<MessageRef<'_>> for Message {
        fn from(m: MessageRef<'_>) -> Self {
            Self::from_ref_reusing(m, Vec::new())
        }
    }

    impl Message {
        /// The owned message, its option list (NDP types) built in `spare`
        /// ([`Options::parse_reusing`]); `spare` is dropped by the other types.
        pub fn from_ref_reusing(m: MessageRef<'_>, spare: Vec<NdpOption>) -> Self {
            let quoted = |d: &[u8]| Box::new(Quoted::parse(d));
            let mut spare = Some(spare);
            let mut owned = |o: super::OptionsRef<'_>| {
                Options::parse_reusing(o.0, spare.take().unwrap_or_default())
            };
            match m {
                MessageRef::RouterSolicit { reserved, options } => Message::RouterSolicit {
                    reserved,
                    options: owned(options),
                },
                MessageRef::RouterAdvert {
                    cur_hop_limit,
                    managed,
                    other,
                    home_agent,
                    preference,
                    proxy,
                    reserved_flags,
                    router_lifetime,
                    reachable_time,
                    retrans_timer,
                    options,
                } => Message::RouterAdvert {
                    cur_hop_limit,
                    managed,
                    other,
                    home_agent,
                    preference,
                    proxy,
                    reserved_flags,
                    router_lifetime,
                    reachable_time,
                    retrans_timer,
                    options: owned(options),
                },
                MessageRef::NeighborSolicit {
                    reserved,
                    target,
                    options,
                } => Message::NeighborSolicit {
                    reserved,
                    target,
                    options: owned(options),
                },
                MessageRef::NeighborAdvert {
                    router,
                    solicited,
                    override_,
                    reserved,
                    target,
                    options,
                } => Message::NeighborAdvert {
                    router,
                    solicited,
                    override_,
                    reserved,
                    target,
                    options: owned(options),
                },
                MessageRef::Redirect {
                    reserved,
                    target,
                    destination,
                    options,
                } => Message::Redirect {
                    reserved,
                    target,
                    destination,
                    options: owned(options),
                },
                MessageRef::DestUnreachable {
                    reason,
                    unused,
                    data,
                } => Message::DestUnreachable {
                    reason,
                    unused,
                    quoted: quoted(data),
                    data: data.to_vec(),
                },
                MessageRef::PacketTooBig { mtu, data } => Message::PacketTooBig {
                    mtu,
                    quoted: quoted(data),
                    data: data.to_vec(),
                },
                MessageRef::TimeExceeded {
                    reason,
                    unused,
                    data,
                } => Message::TimeExceeded {
                    reason,
                    unused,
                    quoted: quoted(data),
                    data: data.to_vec(),
                },
                MessageRef::ParamProblem {
                    reason,
                    pointer,
                    data,
                } => Message::ParamProblem {
                    reason,
                    pointer,
                    quoted: quoted(data),
                    data: data.to_vec(),
                },
                MessageRef::EchoRequest { id, seq, data } => Message::EchoRequest {
                    id,
                    seq,
                    data_len: data.len(),
                    data: data.to_vec(),
                },
                MessageRef::EchoReply { id, seq, data } => Message::EchoReply {
                    id,
                    seq,
                    data_len: data.len(),
                    data: data.to_vec(),
                },
                MessageRef::Short { data } => Message::Short {
                    data_len: data.len(),
                    data: data.to_vec(),
                },
                MessageRef::Other { data } => Message::Other {
                    data_len: data.len(),
                    data: data.to_vec(),
                },
            }
        }
    }

    impl Message {
        /// Empties the option list (if the message has one) and gives it back.
        fn take_option_list(&mut self) -> Vec<NdpOption> {
            match self {
                Message::RouterSolicit { options, .. }
                | Message::RouterAdvert { options, .. }
                | Message::NeighborSolicit { options, .. }
                | Message::NeighborAdvert { options, .. }
                | Message::Redirect { options, .. } => {
                    let mut list = core::mem::take(&mut options.list);
                    list.clear();
                    list
                }
                _ => Vec::new(),
            }
        }

        /// Makes this message the owned form of `m` in place: an NDP message of the same
        /// type gets the fields assigned and the options parsed into its own list
        /// ([`Options::refill`]); another is built anew ([`Message::from_ref_reusing`]) with
        /// this one's option list.
        pub fn refill_from(&mut self, m: MessageRef<'_>) {
            match (&mut *self, m) {
                (
                    Message::NeighborAdvert {
                        router,
                        solicited,
                        override_,
                        reserved,
                        target,
                        options,
                    },
                    MessageRef::NeighborAdvert {
                        router: r,
                        solicited: s,
                        override_: o,
                        reserved: res,
                        target: t,
                        options: opts,
                    },
                ) => {
                    (*router, *solicited, *override_, *reserved, *target) = (r, s, o, res, t);
                    options.refill(opts.0);
                }
                (
                    Message::NeighborSolicit {
                        reserved,
                        target,
                        options,
                    },
                    MessageRef::NeighborSolicit {
                        reserved: res,
                        target: t,
                        options: opts,
                    },
                ) => {
                    (*reserved, *target) = (res, t);
                    options.refill(opts.0);
                }
                (
                    Message::RouterSolicit { reserved, options },
                    MessageRef::RouterSolicit {
                        reserved: res,
                        options: opts,
                    },
                ) => {
                    *reserved = res;
                    options.refill(opts.0);
                }
                (
                    Message::RouterAdvert {
                        cur_hop_limit,
                        managed,
                        other,
                        home_agent,
                        preference,
                        proxy,
                        reserved_flags,
                        router_lifetime,
                        reachable_time,
                        retrans_timer,
                        options,
                    },
                    MessageRef::RouterAdvert {
                        cur_hop_limit: chl,
                        managed: m,
                        other: o,
                        home_agent: h,
                        preference: pref,
                        proxy: p,
                        reserved_flags: rf,
                        router_lifetime: rl,
                        reachable_time: rt,
                        retrans_timer: rtt,
                        options: opts,
                    },
                ) => {
                    (*cur_hop_limit, *managed, *other, *home_agent) = (chl, m, o, h);
                    (*preference, *proxy, *reserved_flags) = (pref, p, rf);
                    (*router_lifetime, *reachable_time, *retrans_timer) = (rl, rt, rtt);
                    options.refill(opts.0);
                }
                (
                    Message::Redirect {
                        reserved,
                        target,
                        destination,
                        options,
                    },
                    MessageRef::Redirect {
                        reserved: res,
                        target: t,
                        destination: d,
                        options: opts,
                    },
                ) => {
                    (*reserved, *target, *destination) = (res, t, d);
                    options.refill(opts.0);
                }
                (this, m) => {
                    let spare = this.take_option_list();
                    *this = Message::from_ref_reusing(m, spare);
                }
            }
        }
    }

    impl Icmpv6Repr {
        /// Empties the option list (if the message has one) and gives it back, for
        /// [`Icmpv6Ref::to_owned_reusing`] to fill with the next message's.
        pub fn take_option_list(&mut self) -> Vec<NdpOption> {
            self.message.take_option_list()
        }

        /// Makes this message the owned form of `m` in place ([`Message::refill_from`]).
        pub fn refill_from(&mut self, m: &Icmpv6Ref<'_>) {
            self.msg_type = m.msg_type;
            self.code = m.code;
            self.checksum = m.checksum;
            self.message.refill_from(m.message);
        }

        /// A message with type and code; checksum filled on emit.
        pub fn new(msg_type: impl Into<Icmpv6Type>, code: u8, message: Message) -> Self {
            Self {
                msg_type: msg_type.into(),
                code,
                checksum: 0,
                message,
            }
        }

        /// Parses a message. Only fewer than 4 bytes is an error; a message too short for its
        /// type becomes [`Message::Short`]. The checksum is not verified here: see
        /// [`Icmpv6Packet::verify_checksum`]. This is [`Icmpv6Ref::parse`] then `to_owned`.
        #[inline]
        pub fn parse(bytes: &[u8]) -> Result<Self> {
            Icmpv6Ref::parse(bytes).map(|r| r.to_owned())
        }

        /// The message's options (empty for non-NDP types).
        pub fn options(&self) -> Option<&Options> {
            match &self.message {
                Message::RouterSolicit { options, .. }
                | Message::RouterAdvert { options, .. }
                | Message::NeighborSolicit { options, .. }
                | Message::NeighborAdvert { options, .. }
                | Message::Redirect { options, .. } => Some(options),
                _ => None,
            }
        }

        /// The encoded length.
        pub fn buffer_len(&self) -> usize {
            field::HEADER_LEN
                + match &self.message {
                    Message::RouterSolicit { options, .. } => 4 + options.buffer_len(),
                    Message::RouterAdvert { options, .. } => 12 + options.buffer_len(),
                    Message::NeighborSolicit { options, .. }
                    | Message::NeighborAdvert { options, .. } => 20 + options.buffer_len(),
                    Message::Redirect { options, .. } => 36 + options.buffer_len(),
                    Message::DestUnreachable { data, .. }
                    | Message::PacketTooBig { data, .. }
                    | Message::TimeExceeded { data, .. }
                    | Message::ParamProblem { data, .. }
                    | Message::EchoRequest { data, .. }
                    | Message::EchoReply { data, .. } => 4 + data.len(),
                    Message::Short { data, .. } | Message::Other { data, .. } => data.len(),
                }
        }

        /// Writes the message into the start of `buf` with the checksum for `src` -> `dst`;
        /// returns its length.
        pub fn emit(&self, src: &Ipv6Addr, dst: &Ipv6Addr, buf: &mut [u8]) -> Result<usize> {
            let n = self.buffer_len();
            if buf.len() < n {
                return Err(Error::BufferTooSmall {
                    need: n,
                    have: buf.len(),
                });
            }
            let buf = &mut buf[..n];
            buf[..8.min(n)].fill(0);
            let mut p = Icmpv6Packet::new_unchecked(&mut *buf);
            p.set_msg_type(self.msg_type);
            p.set_msg_code(self.code);
            let w1 = |b: &mut [u8], v: u32| b[4..8].copy_from_slice(&v.to_be_bytes());
            match &self.message {
                Message::RouterSolicit { reserved, options } => {
                    w1(buf, *reserved);
                    options.emit(&mut buf[field::RS_OPTIONS..])?;
                }
                Message::RouterAdvert {
                    cur_hop_limit,
                    managed,
                    other,
                    home_agent,
                    preference,
                    proxy,
                    reserved_flags,
                    router_lifetime,
                    reachable_time,
                    retrans_timer,
                    options,
                } => {
                    p.set_current_hop_limit(*cur_hop_limit);
                    p.set_router_flags(
                        (u8::from(*managed) << 7)
                            | (u8::from(*other) << 6)
                            | (u8::from(*home_agent) << 5)
                            | (preference.bits() << 3)
                            | (u8::from(*proxy) << 2)
                            | (reserved_flags & 3),
                    );
                    p.set_router_lifetime(*router_lifetime);
                    p.set_reachable_time(*reachable_time);
                    p.set_retrans_time(*retrans_timer);
                    options.emit(&mut buf[field::RA_OPTIONS..])?;
                }
                Message::NeighborSolicit {
                    reserved,
                    target,
                    options,
                } => {
                    w1(buf, *reserved);
                    buf[8..24].copy_from_slice(&target.octets());
                    options.emit(&mut buf[field::NEIGH_OPTIONS..])?;
                }
                Message::NeighborAdvert {
                    router,
                    solicited,
                    override_,
                    reserved,
                    target,
                    options,
                } => {
                    let v = (u32::from(*router) << 31)
                        | (u32::from(*solicited) << 30)
                        | (u32::from(*override_) << 29)
                        | (reserved & 0x1fff_ffff);
                    w1(buf, v);
                    buf[8..24].copy_from_slice(&target.octets());
                    options.emit(&mut buf[field::NEIGH_OPTIONS..])?;
                }
                Message::Redirect {
                    reserved,
                    target,
                    destination,
                    options,
                } => {
                    w1(buf, *reserved);
                    buf[8..24].copy_from_slice(&target.octets());
                    buf[24..40].copy_from_slice(&destination.octets());
                    options.emit(&mut buf[field::REDIRECT_OPTIONS..])?;
                }
                Message::DestUnreachable {
                    unused: w, data, ..
                }
                | Message::TimeExceeded {
                    unused: w, data, ..
                }
                | Message::PacketTooBig { mtu: w, data, .. }
                | Message::ParamProblem {
                    pointer: w, data, ..
                } => {
                    w1(buf, *w);
                    buf[8..].copy_from_slice(data);
                }
                Message::EchoRequest { id, seq, data, .. }
                | Message::EchoReply { id, seq, data, .. } => {
                    buf[4..6].copy_from_slice(&id.to_be_bytes());
                    buf[6..8].copy_from_slice(&seq.to_be_bytes());
                    buf[8..].copy_from_slice(data);
                }
                Message::Short { data, .. } | Message::Other { data, .. } => {
                    buf[4..].copy_from_slice(data)
                }
            }
            Icmpv6Packet::new_unchecked(&mut *buf).fill_checksum(src, dst);
            Ok(n)
        }

        /// [`Icmpv6Repr::emit`] appended to a `BytesMut`.
        #[cfg(feature = "bytes")]
        pub fn emit_to(
            &self,
            src: &Ipv6Addr,
            dst: &Ipv6Addr,
            out: &mut bytes::BytesMut,
        ) -> Result<usize> {
            let start = out.len();
            out.resize(start + self.buffer_len(), 0);
            self.emit(src, dst, &mut out[start..])
        }
    }
}
