//! ICMPv6 message types as an enum with its named values and `Unknown(n)` (see
//! `numbered_enum!` in [`super`]; the NDP option types are made the same way by the option
//! registry in [`super::ndisc_option`]). A leaf module: the codec's other modules depend on it,
//! it depends on none of them.

numbered_enum! {
    /// ICMPv6 message types (IANA "ICMPv6 Parameters"): the ones v6probe decodes or names.
    pub enum Icmpv6Type {
        DestUnreachable = 1 => "dest_unreachable",
        PacketTooBig = 2 => "packet_too_big",
        TimeExceeded = 3 => "time_exceeded",
        ParamProblem = 4 => "param_problem",
        EchoRequest = 128 => "echo_request",
        EchoReply = 129 => "echo_reply",
        MldQuery = 130 => "mld_query",
        MldReport = 131 => "mld_report",
        MldDone = 132 => "mld_done",
        RouterSolicit = 133 => "router_solicit",
        RouterAdvert = 134 => "router_advert",
        NeighborSolicit = 135 => "neighbor_solicit",
        NeighborAdvert = 136 => "neighbor_advert",
        Redirect = 137 => "redirect",
        Mldv2Report = 143 => "mldv2_report",
    }
}

impl Icmpv6Type {
    /// RS, RA, NS, NA or redirect (RFC 4861).
    #[inline]
    pub fn is_ndp(self) -> bool {
        matches!(
            self,
            Self::RouterSolicit
                | Self::RouterAdvert
                | Self::NeighborSolicit
                | Self::NeighborAdvert
                | Self::Redirect
        )
    }

    /// An error message (types 0..=127, RFC 4443 section 2.1); v6probe decodes 1..=4.
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// Minimum length of a message of this type (RFC 4861 section 6.1 / 7.1 / 8.1 "ICMP length
    /// (derived from the IP length) is N or more octets"; RFC 4443 for errors and echo).
    #[inline]
    pub fn min_len(self) -> usize {
        match self {
            Self::RouterSolicit => 8,
            Self::RouterAdvert => 16,
            Self::NeighborSolicit | Self::NeighborAdvert => 24,
            Self::Redirect => 40,
            Self::DestUnreachable
            | Self::PacketTooBig
            | Self::TimeExceeded
            | Self::ParamProblem
            | Self::EchoRequest
            | Self::EchoReply => 8,
            _ => 4,
        }
    }

    /// Offset of the options area, for the NDP types.
    #[inline]
    pub fn options_offset(self) -> Option<usize> {
        match self {
            Self::RouterSolicit => Some(8),
            Self::RouterAdvert => Some(16),
            Self::NeighborSolicit | Self::NeighborAdvert => Some(24),
            Self::Redirect => Some(40),
            _ => None,
        }
    }

    /// Stable name of an error code (RFC 4443 3.1, 3.3, 3.4; RFC 7112 for code 3 of type 4).
    pub fn code_name(self, code: u8) -> Option<&'static str> {
        Some(match (self, code) {
            (Self::DestUnreachable, 0) => "no_route",
            (Self::DestUnreachable, 1) => "admin_prohibited",
            (Self::DestUnreachable, 2) => "beyond_scope",
            (Self::DestUnreachable, 3) => "address_unreachable",
            (Self::DestUnreachable, 4) => "port_unreachable",
            (Self::DestUnreachable, 5) => "source_policy_failed",
            (Self::DestUnreachable, 6) => "reject_route",
            (Self::DestUnreachable, 7) => "source_routing_header_error",
            (Self::TimeExceeded, 0) => "hop_limit_exceeded",
            (Self::TimeExceeded, 1) => "reassembly_time_exceeded",
            (Self::ParamProblem, 0) => "erroneous_header_field",
            (Self::ParamProblem, 1) => "unrecognized_next_header",
            (Self::ParamProblem, 2) => "unrecognized_ipv6_option",
            (Self::ParamProblem, 3) => "incomplete_header_chain",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::icmp6;

    #[test]
    fn numbers_round_trip_and_match_the_kernel_constants() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(Icmpv6Type::from(n)), n);
            assert_eq!(u8::from(crate::wire::NdpOptionType::from(n)), n);
        }
        assert_eq!(u8::from(Icmpv6Type::RouterSolicit), icmp6::ROUTER_SOLICIT);
        assert_eq!(u8::from(Icmpv6Type::RouterAdvert), icmp6::ROUTER_ADVERT);
        assert_eq!(
            u8::from(Icmpv6Type::NeighborSolicit),
            icmp6::NEIGHBOR_SOLICIT
        );
        assert_eq!(u8::from(Icmpv6Type::NeighborAdvert), icmp6::NEIGHBOR_ADVERT);
        assert_eq!(u8::from(Icmpv6Type::Redirect), icmp6::REDIRECT);
        assert_eq!(u8::from(Icmpv6Type::PacketTooBig), icmp6::PACKET_TOO_BIG);
        assert_eq!(Icmpv6Type::from(200), Icmpv6Type::Unknown(200));
        assert_eq!(Icmpv6Type::Unknown(200).name(), "unknown");
        assert_eq!(crate::wire::NdpOptionType::from(3).name(), "prefix_info");
    }
}
