//! A packet quoted inside an ICMPv6 error (RFC 4443 section 2.4 (c): "as much of invoking packet
//! as possible") or a redirected-header option (RFC 4861 section 4.6.3), decoded as far as the
//! quoted bytes go. Used by [`super::icmpv6`] and [`super::ndisc_option`]; depends only on
//! [`super::ipv6`].
use core::net::Ipv6Addr;

use super::{
    be16,
    ipv6::{self, ChainEnd, ExtChain},
    types::Icmpv6Type,
    Ipv6Packet,
};
use crate::abi::next_header as nh;

/// The upper-layer part of a quoted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "proto", rename_all = "snake_case"))]
pub enum QuotedUpper {
    Tcp {
        src_port: u16,
        dst_port: u16,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    Icmpv6 {
        #[cfg_attr(feature = "serde", serde(rename = "type"))]
        msg_type: u8,
        code: u8,
        /// Echo identifier and sequence number, for echo request/reply.
        #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
        id: Option<u16>,
        #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
        seq: Option<u16>,
    },
}

/// A packet quoted inside an ICMPv6 error or a redirected-header option, decoded as far as
/// the quoted bytes go.
///
/// JSON: `{"len":48,"src":"..","dst":"..","next_header":58,"hop_limit":64,"ext":["fragment"],
/// "upper":{"proto":"udp","src_port":..,"dst_port":..}|null}`; address fields are absent when
/// fewer than 40 bytes were quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Quoted {
    /// Bytes quoted.
    pub len: usize,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub src: Option<Ipv6Addr>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub dst: Option<Ipv6Addr>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub next_header: Option<u8>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub hop_limit: Option<u8>,
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::wire::ipv6::ser_ext_names")
    )]
    pub ext: ExtChain,
    pub upper: Option<QuotedUpper>,
}

impl Quoted {
    /// Decodes a quoted packet; never fails.
    pub fn parse(data: &[u8]) -> Self {
        let mut q = Self {
            len: data.len(),
            src: None,
            dst: None,
            next_header: None,
            hop_limit: None,
            ext: ExtChain::default(),
            upper: None,
        };
        let Ok(p) = Ipv6Packet::new_checked(data) else {
            return q;
        };
        if p.version() != 6 {
            return q;
        }
        q.src = Some(p.src_addr());
        q.dst = Some(p.dst_addr());
        q.next_header = Some(p.next_header());
        q.hop_limit = Some(p.hop_limit());
        // The quoted payload may be cut: use what is there, not payload_len.
        let payload = &data[ipv6::HEADER_LEN..];
        q.ext = ExtChain::walk(p.next_header(), payload);
        if q.ext.end != ChainEnd::Upper {
            return q;
        }
        let u = payload.get(q.ext.upper_offset..).unwrap_or_default();
        q.upper = match q.ext.upper {
            nh::TCP if u.len() >= 4 => Some(QuotedUpper::Tcp {
                src_port: be16(u, 0),
                dst_port: be16(u, 2),
            }),
            nh::UDP if u.len() >= 4 => Some(QuotedUpper::Udp {
                src_port: be16(u, 0),
                dst_port: be16(u, 2),
            }),
            nh::ICMPV6 if u.len() >= 2 => {
                let echo = matches!(
                    Icmpv6Type::from(u[0]),
                    Icmpv6Type::EchoRequest | Icmpv6Type::EchoReply
                );
                Some(QuotedUpper::Icmpv6 {
                    msg_type: u[0],
                    code: u[1],
                    id: (echo && u.len() >= 6).then(|| be16(u, 4)),
                    seq: (echo && u.len() >= 8).then(|| be16(u, 6)),
                })
            }
            _ => None,
        };
        q
    }
}
