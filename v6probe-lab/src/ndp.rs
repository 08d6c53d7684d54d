//! NDP frames built with v6probe's own `wire` codec (valid checksums), for the tests, benchmarks
//! and examples that feed whole messages to the monitor, a capture or the detector. The kernel
//! parser's tests use [`crate::frame`] instead, which writes bytes without the codec.
use std::net::Ipv6Addr;

use v6probe_common::wire::{
    addr, icmpv6::msg_type as mt, EthernetAddress, Frame, Icmpv6Repr, Icmpv6Type, Message,
    NdpOption, Options,
};

/// ff02::1, where unsolicited advertisements go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An ICMPv6 frame from `eth` with hop limit 255, to the multicast MAC of `dst`.
pub fn icmp(
    eth: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ty: impl Into<Icmpv6Type>,
    m: Message,
) -> Frame {
    Frame::new(
        eth,
        EthernetAddress(addr::multicast_mac(&dst)),
        src,
        dst,
        255,
        Icmpv6Repr::new(ty, 0, m),
    )
}

/// A Neighbor Advertisement with flags `(router, solicited, override)`; `tlla` is the target
/// link-layer address option (None: no option).
pub fn na(
    eth: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    (router, solicited, override_): (bool, bool, bool),
    tlla: Option<EthernetAddress>,
) -> Frame {
    let options: Vec<NdpOption> = tlla
        .map(|addr| NdpOption::TargetLlAddr { addr })
        .into_iter()
        .collect();
    icmp(
        eth,
        src,
        dst,
        mt::NEIGHBOR_ADVERT,
        Message::NeighborAdvert {
            router,
            solicited,
            override_,
            reserved: 0,
            target,
            options: Options::from(options),
        },
    )
}

/// An unsolicited NA with the Override flag from `eth` claiming `target` (source `target`, to
/// all nodes, TLLA `eth`): what a host sends when its address moves, and what a spoofer forges.
pub fn unsolicited_na(eth: EthernetAddress, target: Ipv6Addr) -> Frame {
    na(
        eth,
        target,
        ALL_NODES,
        target,
        (false, false, true),
        Some(eth),
    )
}

/// A Neighbor Solicitation for `target` to its solicited-node group; `slla` is the source
/// link-layer address option (None: no option, as in DAD).
pub fn ns(
    eth: EthernetAddress,
    src: Ipv6Addr,
    target: Ipv6Addr,
    slla: Option<EthernetAddress>,
) -> Frame {
    let options: Vec<NdpOption> = slla
        .map(|addr| NdpOption::SourceLlAddr { addr })
        .into_iter()
        .collect();
    icmp(
        eth,
        src,
        addr::solicited_node(&target),
        mt::NEIGHBOR_SOLICIT,
        Message::NeighborSolicit {
            reserved: 0,
            target,
            options: Options::from(options),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_frames_parse_back_with_valid_checksums() {
        let eth = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
        let target: Ipv6Addr = "fd00:1::10".parse().unwrap();
        let f = Frame::parse(&unsolicited_na(eth, target).to_bytes()).unwrap();
        assert_eq!(
            (f.ip6.src, f.ip6.dst, f.ip6.hop_limit),
            (target, ALL_NODES, 255)
        );
        assert_eq!(f.checksum_ok, Some(true));
        let icmp = f.icmp6.unwrap();
        assert_eq!(
            icmp.message,
            Message::NeighborAdvert {
                router: false,
                solicited: false,
                override_: true,
                reserved: 0,
                target,
                options: Options::from(vec![NdpOption::TargetLlAddr { addr: eth }]),
            }
        );
        let f = Frame::parse(&ns(eth, Ipv6Addr::UNSPECIFIED, target, None).to_bytes()).unwrap();
        assert_eq!(f.ip6.dst, addr::solicited_node(&target));
        assert_eq!(f.eth.dst.0, addr::multicast_mac(&f.ip6.dst));
        assert_eq!(f.checksum_ok, Some(true));
    }
}
