//! RFC validation, separate from parsing: a monitor must see a malformed message and say what is
//! wrong with it. Each finding has a stable snake_case code; the RFC sentence behind each rule is
//! quoted beside it.
use alloc::{format, string::String, vec::Vec};

use super::{
    addr,
    frame::{Frame, Ip6Info},
    icmpv6::{Icmpv6Repr, Message},
    ipv6::ChainEnd,
    ndisc_option::{NdpOption, NdpOptionType, NdpOptionType as O, OptionWalkError, Preference},
    types::{Icmpv6Type, Icmpv6Type as T},
};
use crate::abi::next_header as nh;

/// Finding codes. [`Code::code`] gives the stable string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    HopLimitNot255,
    CodeNotZero,
    ChecksumBad,
    MessageTooShort,
    OptionZeroLength,
    OptionPastEnd,
    OptionNotAllowed,
    OptionBadLength,
    LlOptionLengthNotEthernet,
    SourceNotLinkLocal,
    TargetMulticast,
    NaSolicitedToMulticast,
    DadNsDstNotSolicitedNode,
    DadNsWithSlla,
    RsUnspecifiedWithSlla,
    RedirectDestMulticast,
    RedirectTargetInvalid,
    PioPreferredGtValid,
    PrefixLenInvalid,
    RioLengthMismatch,
    PreferenceReserved,
    NdpFragmented,
    NdpBehindExtHeaders,
    NonFirstFragment,
    ExtChainTooLong,
    ExtChainTruncated,
    CaptureTruncated,
}

impl Code {
    pub const ALL: [Code; 27] = [
        Code::HopLimitNot255,
        Code::CodeNotZero,
        Code::ChecksumBad,
        Code::MessageTooShort,
        Code::OptionZeroLength,
        Code::OptionPastEnd,
        Code::OptionNotAllowed,
        Code::OptionBadLength,
        Code::LlOptionLengthNotEthernet,
        Code::SourceNotLinkLocal,
        Code::TargetMulticast,
        Code::NaSolicitedToMulticast,
        Code::DadNsDstNotSolicitedNode,
        Code::DadNsWithSlla,
        Code::RsUnspecifiedWithSlla,
        Code::RedirectDestMulticast,
        Code::RedirectTargetInvalid,
        Code::PioPreferredGtValid,
        Code::PrefixLenInvalid,
        Code::RioLengthMismatch,
        Code::PreferenceReserved,
        Code::NdpFragmented,
        Code::NdpBehindExtHeaders,
        Code::NonFirstFragment,
        Code::ExtChainTooLong,
        Code::ExtChainTruncated,
        Code::CaptureTruncated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Code::HopLimitNot255 => "hop_limit_not_255",
            Code::CodeNotZero => "code_not_zero",
            Code::ChecksumBad => "checksum_bad",
            Code::MessageTooShort => "message_too_short",
            Code::OptionZeroLength => "option_zero_length",
            Code::OptionPastEnd => "option_past_end",
            Code::OptionNotAllowed => "option_not_allowed",
            Code::OptionBadLength => "option_bad_length",
            Code::LlOptionLengthNotEthernet => "ll_option_length_not_ethernet",
            Code::SourceNotLinkLocal => "source_not_link_local",
            Code::TargetMulticast => "target_multicast",
            Code::NaSolicitedToMulticast => "na_solicited_to_multicast",
            Code::DadNsDstNotSolicitedNode => "dad_ns_dst_not_solicited_node",
            Code::DadNsWithSlla => "dad_ns_with_slla",
            Code::RsUnspecifiedWithSlla => "rs_unspecified_with_slla",
            Code::RedirectDestMulticast => "redirect_dest_multicast",
            Code::RedirectTargetInvalid => "redirect_target_invalid",
            Code::PioPreferredGtValid => "pio_preferred_gt_valid",
            Code::PrefixLenInvalid => "prefix_len_invalid",
            Code::RioLengthMismatch => "rio_length_mismatch",
            Code::PreferenceReserved => "preference_reserved",
            Code::NdpFragmented => "ndp_fragmented",
            Code::NdpBehindExtHeaders => "ndp_behind_ext_headers",
            Code::NonFirstFragment => "non_first_fragment",
            Code::ExtChainTooLong => "ext_chain_too_long",
            Code::ExtChainTruncated => "ext_chain_truncated",
            Code::CaptureTruncated => "capture_truncated",
        }
    }
}

impl core::fmt::Display for Code {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

/// One finding. JSON: `{"code":"hop_limit_not_255","detail":"hop limit 64"}` (`detail` absent
/// when there is nothing to add).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Violation {
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_code"))]
    pub code: Code,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub detail: Option<String>,
}

#[cfg(feature = "serde")]
fn ser_code<S: serde::Serializer>(c: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.code())
}

fn push(out: &mut Vec<Violation>, code: Code, detail: Option<String>) {
    out.push(Violation { code, detail });
}

/// Whether an option type may appear in a message type (unknown types always may: RFC 4861
/// 4.6: "Receivers MUST silently ignore any options they do not recognize").
fn option_allowed(msg: Icmpv6Type, opt: NdpOptionType) -> bool {
    match opt {
        // 4.6.1: "The Source Link-Layer Address option ... is used in the Neighbor
        // Solicitation, Router Solicitation, and Router Advertisement packets."
        O::SourceLlAddr => matches!(msg, T::RouterSolicit | T::RouterAdvert | T::NeighborSolicit),
        // 4.6.1: "The Target Link-Layer Address option ... is used in Neighbor Advertisement
        // and Redirect packets."
        O::TargetLlAddr => matches!(msg, T::NeighborAdvert | T::Redirect),
        // 4.6.2: "The Prefix Information option appear[s] in Router Advertisement packets
        // and MUST be silently ignored for other messages." 4.6.4 (MTU) likewise; RFC 4191,
        // 8106, 5175, 8910, 8781 define RIO, RDNSS/DNSSL, flags extension, captive portal and
        // PREF64 as Router Advertisement options.
        O::PrefixInfo
        | O::Mtu
        | O::RouteInfo
        | O::Rdnss
        | O::RaFlagsExt
        | O::Dnssl
        | O::CaptivePortal
        | O::Pref64 => msg == T::RouterAdvert,
        // 4.6.3: "The Redirected Header option ... MUST be silently ignored for other Neighbor
        // Discovery messages."
        O::RedirectedHeader => msg == T::Redirect,
        // RFC 3971 5.3 (nonce in solicitations and the answers to them; RFC 7527 in DAD NS).
        _ => true,
    }
}

/// The message rules (types 133-137) for `icmp` carried in `ip`.
pub fn validate_message(
    icmp: &Icmpv6Repr,
    checksum_ok: Option<bool>,
    ip: &Ip6Info,
    truncated: bool,
    out: &mut Vec<Violation>,
) {
    let ty = icmp.msg_type;
    // RFC 4443 2.3 / RFC 4861 6.1.1 etc.: "ICMP Checksum is valid."
    if checksum_ok == Some(false) {
        push(
            out,
            Code::ChecksumBad,
            Some(format!("checksum {:#06x}", icmp.checksum)),
        );
    }
    if !ty.is_ndp() {
        return;
    }
    // RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1: "The IP Hop Limit field has a value of 255,
    // i.e., the packet could not possibly have been forwarded by a router."
    if ip.hop_limit != 255 {
        push(
            out,
            Code::HopLimitNot255,
            Some(format!("hop limit {}", ip.hop_limit)),
        );
    }
    // Same sections: "ICMP Code is 0."
    if icmp.code != 0 {
        push(out, Code::CodeNotZero, Some(format!("code {}", icmp.code)));
    }
    let options = match &icmp.message {
        // Same sections: "ICMP length (derived from the IP length) is 8 [RS] / 16 [RA] /
        // 24 [NS, NA] / 40 [Redirect] or more octets."
        Message::Short { data_len, .. } => {
            if !truncated {
                push(
                    out,
                    Code::MessageTooShort,
                    Some(format!("{} bytes, minimum {}", data_len + 4, ty.min_len())),
                );
            }
            return;
        }
        _ => match icmp.options() {
            Some(o) => o,
            None => return,
        },
    };
    match options.error {
        // Same sections: "All included options have a length that is greater than zero."
        Some(OptionWalkError::ZeroLength {
            offset,
            option_type,
        }) => push(
            out,
            Code::OptionZeroLength,
            Some(format!("option type {option_type} at options offset {offset}")),
        ),
        // RFC 4861 4.6: the Length field gives "the length of the option (including the type
        // and length fields) in units of 8 octets"; an option cannot extend past the message.
        // A capture cut short is not the sender's fault: reported as capture_truncated.
        Some(OptionWalkError::PastEnd {
            offset,
            option_type,
            need,
            have,
        }) if !truncated => push(
            out,
            Code::OptionPastEnd,
            Some(format!(
                "option type {option_type} at options offset {offset} needs {need} bytes, {have} left"
            )),
        ),
        _ => {}
    }
    let unspecified = ip.src.is_unspecified();
    for o in options.iter() {
        let ot = o.option_type();
        if !option_allowed(ty, ot) {
            push(
                out,
                Code::OptionNotAllowed,
                Some(format!("{} in {}", ot.name(), ty.name())),
            );
        }
        match o {
            NdpOption::Malformed {
                option_type,
                reason,
                ..
            } => {
                // RFC 2464 6: "Length 1 (in units of 8 octets)" for an Ethernet link-layer
                // address option.
                let code = if matches!(
                    NdpOptionType::from(*option_type),
                    O::SourceLlAddr | O::TargetLlAddr
                ) {
                    Code::LlOptionLengthNotEthernet
                } else {
                    Code::OptionBadLength
                };
                push(
                    out,
                    code,
                    Some(format!("option type {option_type}: {reason}")),
                );
            }
            NdpOption::PrefixInfo {
                prefix,
                valid_lifetime,
                preferred_lifetime,
                ..
            } => {
                // RFC 4862 5.5.3 c): "If the preferred lifetime is greater than the valid
                // lifetime, silently ignore the Prefix Information option."
                if preferred_lifetime > valid_lifetime {
                    push(
                        out,
                        Code::PioPreferredGtValid,
                        Some(format!(
                            "{prefix}: preferred {preferred_lifetime} > valid {valid_lifetime}"
                        )),
                    );
                }
                // RFC 4861 4.6.2: "Prefix Length ... The number of leading bits in the Prefix
                // that are valid. The value ranges from 0 to 128."
                if prefix.len > 128 {
                    push(
                        out,
                        Code::PrefixLenInvalid,
                        Some(format!("prefix length {}", prefix.len)),
                    );
                }
            }
            NdpOption::RouteInfo {
                prefix,
                length,
                preference,
                ..
            } => {
                // RFC 4191 2.3: "If the Reserved (10) value is received, the Route Information
                // Option MUST be ignored."
                if *preference == Preference::Reserved {
                    push(
                        out,
                        Code::PreferenceReserved,
                        Some(format!("route {prefix}")),
                    );
                }
                if prefix.len > 128 {
                    push(
                        out,
                        Code::PrefixLenInvalid,
                        Some(format!("prefix length {}", prefix.len)),
                    );
                }
                // RFC 4191 2.3: "The Length field is 1, 2, or 3 depending on the Prefix Length.
                // If Prefix Length is greater than 64, then Length must be 3. If Prefix Length
                // is greater than 0, then Length must be 2 or 3."
                if (prefix.len > 64 && *length != 3) || (prefix.len > 0 && *length < 2) {
                    push(
                        out,
                        Code::RioLengthMismatch,
                        Some(format!(
                            "prefix length {} with option length {length}",
                            prefix.len
                        )),
                    );
                }
            }
            NdpOption::SourceLlAddr { .. } if unspecified => match ty {
                // RFC 4861 6.1.1: "If the IP source address is the unspecified address, there
                // is no source link-layer address option in the message."
                T::RouterSolicit => push(out, Code::RsUnspecifiedWithSlla, None),
                // RFC 4861 7.1.1: "If the IP source address is the unspecified address, there
                // is no source link-layer address option in the message."
                T::NeighborSolicit => push(out, Code::DadNsWithSlla, None),
                _ => {}
            },
            _ => {}
        }
    }
    match &icmp.message {
        // RFC 4861 6.1.2 (RA) and 8.1 (Redirect): "IP Source Address is a link-local address."
        Message::RouterAdvert { .. } | Message::Redirect { .. }
            if !addr::is_link_local(&ip.src) =>
        {
            push(
                out,
                Code::SourceNotLinkLocal,
                Some(format!("source {}", ip.src)),
            );
        }
        _ => {}
    }
    match &icmp.message {
        // RFC 4191 2.2: "If the Reserved (10) value is received, the receiver MUST treat the
        // value as if it were (00)."
        Message::RouterAdvert {
            preference: Preference::Reserved,
            ..
        } => push(
            out,
            Code::PreferenceReserved,
            Some("router preference".into()),
        ),
        Message::NeighborSolicit { target, .. } => {
            // RFC 4861 7.1.1: "Target Address is not a multicast address."
            if target.is_multicast() {
                push(out, Code::TargetMulticast, Some(format!("target {target}")));
            }
            // RFC 4861 7.1.1: "If the IP source address is the unspecified address, the IP
            // destination address is a solicited-node multicast address."
            if unspecified && !addr::is_solicited_node(&ip.dst) {
                push(
                    out,
                    Code::DadNsDstNotSolicitedNode,
                    Some(format!("destination {}", ip.dst)),
                );
            }
        }
        Message::NeighborAdvert {
            target, solicited, ..
        } => {
            // RFC 4861 7.1.2: "Target Address is not a multicast address."
            if target.is_multicast() {
                push(out, Code::TargetMulticast, Some(format!("target {target}")));
            }
            // RFC 4861 7.1.2: "If the IP Destination Address is a multicast address the
            // Solicited flag is zero."
            if *solicited && ip.dst.is_multicast() {
                push(
                    out,
                    Code::NaSolicitedToMulticast,
                    Some(format!("destination {}", ip.dst)),
                );
            }
        }
        Message::Redirect {
            target,
            destination,
            ..
        } => {
            // RFC 4861 8.1: "The ICMP Destination Address field in the redirect message does
            // not contain a multicast address."
            if destination.is_multicast() {
                push(
                    out,
                    Code::RedirectDestMulticast,
                    Some(format!("destination {destination}")),
                );
            }
            // RFC 4861 8.1: "The ICMP Target Address is either a link-local address (when
            // redirected to a router) or the same as the ICMP Destination Address (when
            // redirected to the on-link destination)."
            if !addr::is_link_local(target) && target != destination {
                push(
                    out,
                    Code::RedirectTargetInvalid,
                    Some(format!("target {target}")),
                );
            }
        }
        _ => {}
    }
}

/// The IPv6-level rules plus the message rules for a decoded frame.
pub fn validate_frame(f: &Frame) -> Vec<Violation> {
    let mut out = Vec::new();
    let ip = &f.ip6;
    let ext = &ip.ext;
    if ext.longer_than_kernel_walks() {
        // Linux walks a chain of any length; the kernel programs stop at MAX_EXT_HEADERS, so a
        // longer chain in front of NDP is an evasion attempt.
        push(
            &mut out,
            Code::ExtChainTooLong,
            Some(format!(
                "{} extension headers, more than the {} the kernel programs walk",
                ext.count(),
                crate::abi::MAX_EXT_HEADERS
            )),
        );
    }
    if ext.end == ChainEnd::Truncated && !f.truncated {
        let first_fragment = ext.fragment().is_some_and(|fr| fr.offset == 0 && fr.more);
        // RFC 7112 5: "the first fragment MUST include the entire IPv6 header chain"; RFC 8200
        // 4.5 has a host discard such a first fragment.
        push(
            &mut out,
            Code::ExtChainTruncated,
            first_fragment.then(|| "first fragment: the chain goes on in a later one".into()),
        );
    }
    if f.truncated {
        push(
            &mut out,
            Code::CaptureTruncated,
            Some(format!("{} bytes of ICMPv6 captured", f.icmp6_len)),
        );
    }
    let frag = ext.fragment();
    if let Some(fr) = frag {
        if fr.offset != 0 {
            // RFC 6980 5: "... if the packet is fragmented and is NDP ... the host MUST silently
            // ignore it"; a non-first fragment hides the type, which is itself an evasion sign.
            push(
                &mut out,
                Code::NonFirstFragment,
                Some(format!("offset {} id {:#x}", fr.offset, fr.id)),
            );
        }
    }
    let Some(icmp) = &f.icmp6 else {
        if ext.end == ChainEnd::Upper && ext.upper == nh::ICMPV6 && !f.truncated {
            push(
                &mut out,
                Code::MessageTooShort,
                Some(format!("{} bytes of ICMPv6", f.icmp6_len)),
            );
        }
        return out;
    };
    if icmp.msg_type.is_ndp() {
        if let Some(fr) = frag {
            // RFC 6980 5: "Hosts MUST NOT employ IPv6 fragmentation for sending any of the
            // following Neighbor Discovery and SEcure Neighbor Discovery messages: Neighbor
            // Solicitation, Neighbor Advertisement, Router Solicitation, Router Advertisement,
            // Redirect ..."
            push(
                &mut out,
                Code::NdpFragmented,
                Some(format!("fragment id {:#x}, more {}", fr.id, fr.more)),
            );
        }
        let others: Vec<&'static str> = ext
            .headers()
            .iter()
            .filter(|h| h.kind != nh::FRAGMENT)
            .map(|h| h.name())
            .collect();
        if !others.is_empty() {
            // RFC 7113 (RA-Guard implementation advice) 2: extension headers in front of NDP
            // are the way attackers evade RA-Guard; RFC 4861 NDP needs none of them.
            push(&mut out, Code::NdpBehindExtHeaders, Some(others.join(",")));
        }
    }
    validate_message(icmp, f.checksum_ok, ip, f.truncated, &mut out);
    out
}

impl Frame {
    /// Runs the IPv6-level and message rules; never rejects the decode.
    pub fn validate(&self) -> Vec<Violation> {
        validate_frame(self)
    }
}
