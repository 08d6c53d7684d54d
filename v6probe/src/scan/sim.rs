//! Simulated neighbours and router for labs: answers NS for configured addresses with the
//! configured MACs, and (optionally) a router that answers RS and sends periodic RAs. No I/O:
//! [`Sim::respond`] maps a received frame to the frames to send back.
use std::net::Ipv6Addr;

use serde::Serialize;

use crate::{
    send::{self, BuildError, Flags, Kind, LinkAddr, PrefixInfo, SendSpec, ALL_NODES},
    wire::{addr, EthernetAddress, Frame, Message, NdpOption, Prefix},
};

/// A simulated router.
#[derive(Clone, Debug)]
pub struct Router {
    pub mac: [u8; 6],
    /// Its link-local address (EUI-64 from `mac` unless given).
    pub addr: Ipv6Addr,
    pub prefixes: Vec<Prefix>,
    pub lifetime: u16,
}

/// What the simulator did (`"kind":"sim_event"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimEvent {
    /// `na_sent` or `ra_sent`.
    pub event: &'static str,
    /// NA: the address answered for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Ipv6Addr>,
    pub to: Ipv6Addr,
    pub mac: String,
    /// What caused it: `ns`, `rs`, `periodic`.
    pub reason: &'static str,
}

pub struct Sim {
    pub neighbors: Vec<(Ipv6Addr, [u8; 6])>,
    pub router: Option<Router>,
}

/// A frame the simulator built from fields it always sets; a failure is a bug, logged.
fn built(r: Result<Frame, BuildError>) -> Option<Frame> {
    r.map_err(|e| tracing::error!("sim: building a frame: {e}"))
        .ok()
}

impl Sim {
    fn mac_for(&self, target: &Ipv6Addr) -> Option<([u8; 6], bool)> {
        if let Some((_, m)) = self.neighbors.iter().find(|(a, _)| a == target) {
            return Some((*m, false));
        }
        self.router
            .as_ref()
            .filter(|r| r.addr == *target)
            .map(|r| (r.mac, true))
    }

    /// The router's RA to `dst` (all-nodes unless answering a unicast-sourced RS).
    pub fn ra(&self, dst: Ipv6Addr, eth_dst: [u8; 6]) -> Option<Frame> {
        let r = self.router.as_ref()?;
        let prefixes = r
            .prefixes
            .iter()
            .map(|p| {
                PrefixInfo(NdpOption::PrefixInfo {
                    prefix: *p,
                    on_link: true,
                    autonomous: p.len == 64,
                    router_addr: false,
                    dhcpv6_pd: false,
                    reserved_flags: 0,
                    valid_lifetime: 86_400,
                    preferred_lifetime: 14_400,
                })
            })
            .collect();
        let spec = SendSpec {
            src: Some(r.addr),
            dst: Some(dst),
            dst_mac: Some(EthernetAddress(eth_dst)),
            router_lifetime: Some(r.lifetime),
            slla: Some(LinkAddr::Interface),
            prefixes,
            ..SendSpec::default()
        };
        built(send::build(Kind::Ra, &spec, r.mac, None))
    }

    /// A periodic, unsolicited RA.
    pub fn periodic(&self) -> Option<(Frame, SimEvent)> {
        let f = self.ra(ALL_NODES, addr::multicast_mac(&ALL_NODES))?;
        let mac = f.eth.src.to_string();
        Some((
            f,
            SimEvent {
                event: "ra_sent",
                target: None,
                to: ALL_NODES,
                mac,
                reason: "periodic",
            },
        ))
    }

    /// Frames to send in answer to a received frame (NS for one of ours, or RS).
    pub fn respond(&self, f: &Frame) -> Vec<(Frame, SimEvent)> {
        let Some(icmp) = &f.icmp6 else {
            return vec![];
        };
        if icmp.checksum_ok == Some(false) || f.ip6.hop_limit != 255 {
            return vec![]; // RFC 4861 7.1.1 / 6.1.1: not a valid ND message
        }
        match &icmp.message {
            Message::NeighborSolicit {
                target, options, ..
            } => {
                let Some((mac, router)) = self.mac_for(target) else {
                    return vec![];
                };
                // RFC 4861 7.2.4: to the solicitation's source with S set; to all-nodes with S
                // clear when the source is unspecified (DAD).
                let dad = f.ip6.src.is_unspecified();
                let (dst, eth_dst) = if dad {
                    (ALL_NODES, addr::multicast_mac(&ALL_NODES))
                } else {
                    let m = options.source_ll_addr().map_or(f.eth.src.0, |e| e.0);
                    (f.ip6.src, m)
                };
                let spec = SendSpec {
                    src: Some(*target),
                    dst: Some(dst),
                    dst_mac: Some(EthernetAddress(eth_dst)),
                    target: Some(*target),
                    flags: Some(
                        Flags::default()
                            .with('R', router)
                            .with('S', !dad)
                            .with('O', true),
                    ),
                    tlla: Some(LinkAddr::Interface),
                    ..SendSpec::default()
                };
                let Some(na) = built(send::build(Kind::Na, &spec, mac, None)) else {
                    return vec![];
                };
                vec![(
                    na,
                    SimEvent {
                        event: "na_sent",
                        target: Some(*target),
                        to: dst,
                        mac: EthernetAddress(mac).to_string(),
                        reason: "ns",
                    },
                )]
            }
            Message::RouterSolicit { .. } => {
                let Some((ra, mut ev)) = self.periodic() else {
                    return vec![];
                };
                ev.reason = "rs";
                vec![(ra, ev)]
            }
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{EthernetAddress, Icmpv6Repr, Options};

    const SCANNER: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const FAKE: [u8; 6] = [2, 0xee, 0, 0, 0, 7];

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn ns(src: Ipv6Addr, target: Ipv6Addr) -> Frame {
        let g = addr::solicited_node(&target);
        let list = if src.is_unspecified() {
            vec![]
        } else {
            vec![NdpOption::SourceLlAddr {
                addr: EthernetAddress(SCANNER),
            }]
        };
        let f = Frame::new(
            EthernetAddress(SCANNER),
            EthernetAddress(addr::multicast_mac(&g)),
            src,
            g,
            255,
            Icmpv6Repr::new(
                135,
                0,
                Message::NeighborSolicit {
                    reserved: 0,
                    target,
                    options: Options { list, error: None },
                },
            ),
        );
        Frame::parse(&f.to_bytes()).unwrap()
    }

    fn sim() -> Sim {
        Sim {
            neighbors: vec![(a("fd00::7"), FAKE)],
            router: Some(Router {
                mac: [2, 0, 0, 0, 0, 0x99],
                addr: EthernetAddress([2, 0, 0, 0, 0, 0x99]).link_local(),
                prefixes: vec![Prefix {
                    addr: a("fd00:1::"),
                    len: 64,
                }],
                lifetime: 600,
            }),
        }
    }

    #[test]
    fn answers_ns_for_its_addresses_only() {
        let s = sim();
        let out = s.respond(&ns(a("fe80::1"), a("fd00::7")));
        assert_eq!(out.len(), 1);
        let d = Frame::parse(&out[0].0.to_bytes()).unwrap();
        assert_eq!(d.eth.src.0, FAKE);
        assert_eq!(d.eth.dst.0, SCANNER);
        assert_eq!((d.ip6.src, d.ip6.dst), (a("fd00::7"), a("fe80::1")));
        let icmp = d.icmp6.unwrap();
        assert_eq!(icmp.checksum_ok, Some(true));
        assert!(
            matches!(icmp.message, Message::NeighborAdvert { solicited: true, override_: true,
            router: false, ref options, .. } if options.target_ll_addr().unwrap().0 == FAKE)
        );
        assert!(s.respond(&ns(a("fe80::1"), a("fd00::8"))).is_empty());
        // DAD probe: answer to all-nodes without S.
        let out = s.respond(&ns(Ipv6Addr::UNSPECIFIED, a("fd00::7")));
        let d = Frame::parse(&out[0].0.to_bytes()).unwrap();
        assert_eq!(d.ip6.dst, ALL_NODES);
        assert!(matches!(
            d.icmp6.unwrap().message,
            Message::NeighborAdvert {
                solicited: false,
                ..
            }
        ));
        // The router answers for its own address with R set.
        let r = EthernetAddress([2, 0, 0, 0, 0, 0x99]).link_local();
        assert_eq!(r, a("fe80::ff:fe00:99"));
        let out = s.respond(&ns(a("fe80::1"), r));
        assert!(matches!(
            out[0].0.icmp6.as_ref().unwrap().message,
            Message::NeighborAdvert { router: true, .. }
        ));
    }

    #[test]
    fn router_answers_rs_and_sends_periodic_ra() {
        let s = sim();
        let (f, ev) = s.periodic().unwrap();
        assert_eq!(ev.reason, "periodic");
        let d = Frame::parse(&f.to_bytes()).unwrap();
        let Message::RouterAdvert {
            router_lifetime,
            options,
            ..
        } = d.icmp6.unwrap().message
        else {
            panic!()
        };
        assert_eq!(router_lifetime, 600);
        assert!(options.iter().any(|o| matches!(o, NdpOption::PrefixInfo { prefix, autonomous: true, .. } if prefix.addr == a("fd00:1::"))));
        let rs = Frame::new(
            EthernetAddress(SCANNER),
            EthernetAddress([0x33, 0x33, 0, 0, 0, 2]),
            a("fe80::1"),
            a("ff02::2"),
            255,
            Icmpv6Repr::new(
                133,
                0,
                Message::RouterSolicit {
                    reserved: 0,
                    options: Options::default(),
                },
            ),
        );
        let out = s.respond(&Frame::parse(&rs.to_bytes()).unwrap());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.reason, "rs");
        let none = Sim {
            neighbors: vec![],
            router: None,
        };
        assert!(none.periodic().is_none());
        assert!(none
            .respond(&Frame::parse(&rs.to_bytes()).unwrap())
            .is_empty());
    }
}
