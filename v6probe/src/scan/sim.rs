//! Simulated neighbours and router for labs: answers NS for configured addresses with the
//! configured MACs, and (optionally) a router that answers RS and sends periodic RAs. No I/O:
//! [`Sim::respond`] maps a received frame to the frames to send back, and [`RaSchedule`] says
//! when the router's next RA goes out, as RFC 4861 section 6.2.6 asks (answers to RS delayed
//! by a random 0 to 500 ms, several RS answered by one RA, multicast RAs at least 3 s apart),
//! so RS sent in a flood cannot turn the simulator into an RA flood.
use std::{collections::HashMap, net::Ipv6Addr, time::Duration};

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
    /// Address to MAC (looked up per NS).
    pub neighbors: HashMap<Ipv6Addr, [u8; 6]>,
    pub router: Option<Router>,
}

/// RFC 4861 10: a router never sends multicast RAs closer together than this.
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 10: the most an RA answering an RS is delayed.
pub const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);

/// When the simulated router's next multicast RA is due: periodic ones every `interval`, and
/// answers to router solicitations as RFC 4861 6.2.6 describes. No I/O and no clock: times
/// are durations since the simulator started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaSchedule {
    interval: Duration,
    /// When the last multicast RA went out.
    last: Option<Duration>,
    next_periodic: Duration,
    /// When the RA answering the solicitations since the last one is due.
    answer_at: Option<Duration>,
    /// Solicitations answered by an RA already scheduled.
    pub consolidated: u64,
}

impl RaSchedule {
    /// The first RA goes out at `now`; then one every `interval` (at least
    /// [`MIN_DELAY_BETWEEN_RAS`]).
    pub fn new(interval: Duration, now: Duration) -> Self {
        Self {
            interval: interval.max(MIN_DELAY_BETWEEN_RAS),
            last: None,
            next_periodic: now,
            answer_at: None,
            consolidated: 0,
        }
    }

    /// A router solicitation arrived at `now`; `delay` is a random value in 0 to
    /// [`MAX_RA_DELAY_TIME`] (clamped to it).
    ///
    /// RFC 4861 6.2.6: "If the computed value corresponds to a time later than the time the
    /// next multicast Router Advertisement is scheduled to be sent, ignore the random delay
    /// and send the advertisement at the already-scheduled time. If the router sent a
    /// multicast Router Advertisement (solicited or unsolicited) within the last
    /// MIN_DELAY_BETWEEN_RAS seconds, schedule the advertisement to be sent at a time
    /// corresponding to MIN_DELAY_BETWEEN_RAS plus the random value after the previous
    /// advertisement was sent." One RA answers every solicitation before it, with the delay
    /// counted from the first.
    pub fn on_router_solicit(&mut self, now: Duration, delay: Duration) {
        if self.answer_at.is_some() {
            self.consolidated += 1;
            return;
        }
        let delay = delay.min(MAX_RA_DELAY_TIME);
        let mut at = now + delay;
        if at >= self.next_periodic {
            self.consolidated += 1;
            return;
        }
        if let Some(last) = self.last {
            if now < last + MIN_DELAY_BETWEEN_RAS {
                at = last + MIN_DELAY_BETWEEN_RAS + delay;
            }
        }
        self.answer_at = Some(at);
    }

    /// Whether an RA is due at `now`, and why (`rs` or `periodic`).
    pub fn due(&self, now: Duration) -> Option<&'static str> {
        match self.answer_at {
            Some(at) if now >= at => Some("rs"),
            _ if now >= self.next_periodic => Some("periodic"),
            _ => None,
        }
    }

    /// The RA went out at `now` (or was attempted: a failed send is not retried sooner).
    pub fn sent(&mut self, now: Duration) {
        self.last = Some(now);
        self.answer_at = None;
        self.next_periodic = now + self.interval;
    }

    /// When the next RA is due.
    pub fn next(&self) -> Duration {
        self.answer_at
            .map_or(self.next_periodic, |a| a.min(self.next_periodic))
    }
}

/// A frame the simulator built from fields it always sets; a failure is a bug, logged.
fn built(r: Result<Frame, BuildError>) -> Option<Frame> {
    r.map_err(|e| tracing::error!("sim: building a frame: {e}"))
        .ok()
}

impl Sim {
    fn mac_for(&self, target: &Ipv6Addr) -> Option<([u8; 6], bool)> {
        if let Some(m) = self.neighbors.get(target) {
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

    /// An RA to all nodes; `reason` says why (`periodic`, `rs`).
    pub fn multicast_ra(&self, reason: &'static str) -> Option<(Frame, SimEvent)> {
        let f = self.ra(ALL_NODES, addr::multicast_mac(&ALL_NODES))?;
        let mac = f.eth.src.to_string();
        Some((
            f,
            SimEvent {
                event: "ra_sent",
                target: None,
                to: ALL_NODES,
                mac,
                reason,
            },
        ))
    }

    /// The ICMPv6 message of a frame a host would accept as NDP (RFC 4861 6.1.1 / 7.1.1:
    /// checksum right, hop limit 255).
    fn valid_nd(f: &Frame) -> Option<&Message> {
        let icmp = f.icmp6.as_ref()?;
        (f.checksum_ok != Some(false) && f.ip6.hop_limit == 255).then_some(&icmp.message)
    }

    /// Whether `f` is a router solicitation the simulated router answers (through its
    /// [`RaSchedule`]).
    pub fn solicits_router(&self, f: &Frame) -> bool {
        self.router.is_some() && matches!(Self::valid_nd(f), Some(Message::RouterSolicit { .. }))
    }

    /// Frames to send at once in answer to a received frame: the NA for an NS about one of
    /// ours. (An RS is answered through the [`RaSchedule`], see [`Sim::solicits_router`].)
    pub fn respond(&self, f: &Frame) -> Vec<(Frame, SimEvent)> {
        let Some(message) = Self::valid_nd(f) else {
            return vec![];
        };
        match message {
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
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{EthernetAddress, Icmpv6Repr, Icmpv6Type, Options};

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
                Icmpv6Type::NeighborSolicit,
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
            neighbors: [(a("fd00::7"), FAKE)].into(),
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
        assert_eq!(d.checksum_ok, Some(true));
        let icmp = d.icmp6.unwrap();
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
        let (f, ev) = s.multicast_ra("periodic").unwrap();
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
                Icmpv6Type::RouterSolicit,
                0,
                Message::RouterSolicit {
                    reserved: 0,
                    options: Options::default(),
                },
            ),
        );
        let rs = Frame::parse(&rs.to_bytes()).unwrap();
        assert!(s.solicits_router(&rs));
        assert!(
            s.respond(&rs).is_empty(),
            "an RS is answered through the schedule"
        );
        let none = Sim {
            neighbors: HashMap::new(),
            router: None,
        };
        assert!(none.multicast_ra("periodic").is_none());
        assert!(!none.solicits_router(&rs));
        assert!(none.respond(&rs).is_empty());
    }

    const S: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    /// Drives a schedule: RS at the given times (with the given random delays), RAs sent when
    /// due; returns the RA times and reasons, checked every millisecond up to `until`.
    fn run(
        interval: Duration,
        solicits: &[(Duration, Duration)],
        until: Duration,
    ) -> (Vec<(Duration, &'static str)>, RaSchedule) {
        let mut s = RaSchedule::new(interval, Duration::ZERO);
        let mut sent = Vec::new();
        let mut rs = solicits.iter().peekable();
        let mut now = Duration::ZERO;
        while now <= until {
            while let Some((_, d)) = rs.next_if(|(t, _)| *t <= now) {
                s.on_router_solicit(now, *d);
            }
            if let Some(why) = s.due(now) {
                sent.push((now, why));
                s.sent(now);
            }
            now += MS;
        }
        (sent, s)
    }

    #[test]
    fn a_flood_of_solicitations_gets_one_ra_per_three_seconds() {
        // An RS every millisecond for 10 s, random delays up to the maximum.
        let flood: Vec<_> = (0..10_000u64)
            .map(|i| (Duration::from_millis(i), Duration::from_millis(i * 7 % 501)))
            .collect();
        // Run on 3 s past the flood, so the last answer goes out too.
        let (sent, sched) = run(3600 * S, &flood, 13 * S);
        // The first periodic RA at 0, then an answer at most every 3 s.
        assert_eq!(sent[0], (Duration::ZERO, "periodic"));
        assert!(sent.len() <= 5, "{sent:?}");
        assert!(sent.len() >= 4, "{sent:?}");
        for w in sent.windows(2) {
            assert!(w[1].0 - w[0].0 >= MIN_DELAY_BETWEEN_RAS, "{sent:?}");
        }
        assert!(sent[1..].iter().all(|(_, why)| *why == "rs"));
        // Every solicitation was answered by one of those.
        assert_eq!(sched.consolidated as usize, flood.len() - (sent.len() - 1));
    }

    #[test]
    fn an_isolated_solicitation_is_answered_within_the_random_delay() {
        // Long after the first RA: answered after exactly its random delay.
        let (sent, _) = run(3600 * S, &[(10 * S, 321 * MS)], 11 * S);
        assert_eq!(
            sent,
            vec![(Duration::ZERO, "periodic"), (10 * S + 321 * MS, "rs")]
        );
        // Right after an RA: 3 s after that RA, plus the delay.
        let (sent, _) = run(3600 * S, &[(S, 100 * MS)], 5 * S);
        assert_eq!(
            sent,
            vec![(Duration::ZERO, "periodic"), (3 * S + 100 * MS, "rs")]
        );
        // A delay past the next periodic RA: the periodic one answers it.
        let (sent, sched) = run(4 * S, &[(3900 * MS, 400 * MS)], 5 * S);
        assert_eq!(
            sent,
            vec![(Duration::ZERO, "periodic"), (4 * S, "periodic")]
        );
        assert_eq!(sched.consolidated, 1);
    }

    #[test]
    fn periodic_ras_are_never_closer_than_three_seconds() {
        let (sent, _) = run(Duration::from_millis(100), &[], 10 * S);
        let times: Vec<_> = sent.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![Duration::ZERO, 3 * S, 6 * S, 9 * S]);
    }
}
