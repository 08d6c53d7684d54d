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

/// The five NDP message types (RFC 4861 section 4) by their short names (`rs`, `ra`, `ns`,
/// `na`, `redirect`): what `send` builds, what the detector keeps rates of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum NdpType {
    Rs,
    Ra,
    Ns,
    Na,
    Redirect,
}

impl NdpType {
    pub const COUNT: usize = 5;
    pub const ALL: [Self; Self::COUNT] = [Self::Rs, Self::Ra, Self::Ns, Self::Na, Self::Redirect];

    /// The NDP type of an ICMPv6 type (`None` for any other type).
    #[inline]
    pub fn of(t: Icmpv6Type) -> Option<Self> {
        Some(match t {
            Icmpv6Type::RouterSolicit => Self::Rs,
            Icmpv6Type::RouterAdvert => Self::Ra,
            Icmpv6Type::NeighborSolicit => Self::Ns,
            Icmpv6Type::NeighborAdvert => Self::Na,
            Icmpv6Type::Redirect => Self::Redirect,
            _ => return None,
        })
    }

    /// The ICMPv6 type.
    #[inline]
    pub fn msg_type(self) -> Icmpv6Type {
        match self {
            Self::Rs => Icmpv6Type::RouterSolicit,
            Self::Ra => Icmpv6Type::RouterAdvert,
            Self::Ns => Icmpv6Type::NeighborSolicit,
            Self::Na => Icmpv6Type::NeighborAdvert,
            Self::Redirect => Icmpv6Type::Redirect,
        }
    }

    /// 0..[`NdpType::COUNT`], in the order of [`NdpType::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The short name: `rs`, `ra`, `ns`, `na`, `redirect`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs => "rs",
            Self::Ra => "ra",
            Self::Ns => "ns",
            Self::Na => "na",
            Self::Redirect => "redirect",
        }
    }
}

impl From<NdpType> for Icmpv6Type {
    fn from(t: NdpType) -> Self {
        t.msg_type()
    }
}

impl core::fmt::Display for NdpType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is no NDP type's short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseNdpTypeError;

impl core::fmt::Display for ParseNdpTypeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not an NDP message type (rs, ra, ns, na, redirect)")
    }
}

impl core::error::Error for ParseNdpTypeError {}

impl core::str::FromStr for NdpType {
    type Err = ParseNdpTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(ParseNdpTypeError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::icmp6;

    #[test]
    fn ndp_types_map_both_ways_and_parse_their_names() {
        for (i, t) in NdpType::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
            assert_eq!(NdpType::of(t.msg_type()), Some(t));
            assert!(t.msg_type().is_ndp());
            assert_eq!(t.as_str().parse::<NdpType>(), Ok(t));
        }
        let ndp = (0..=255u8)
            .filter(|&n| NdpType::of(Icmpv6Type::from(n)).is_some())
            .count();
        assert_eq!(ndp, NdpType::COUNT);
        assert_eq!("router_advert".parse::<NdpType>(), Err(ParseNdpTypeError));
    }

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
