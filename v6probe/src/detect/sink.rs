//! What every rule gets: the packet's context ([`Cx`]), and where its alerts go ([`Sink`]).
//! The rules (packet checks, neighbours, DAD, routers) sit above this module and never see the
//! engine: the engine builds a `Cx` per packet and lends each rule the sink.
use std::{net::Ipv6Addr, time::SystemTime};

use v6probe_common::wire::{EthernetAddress, Icmpv6Type, Message};

pub use super::gate::{Subject, Target};
use super::{
    alert::{Alert, AlertCode, Detail, Evidence, MsgClass, PacketEvidence, Severity},
    gate::Gate,
    policy::Policy,
    vendors::Vendors,
};
use crate::{output::rfc3339_nanos, packet::Packet};

pub type Mac = EthernetAddress;

/// A binding, router, DAD attempt or pending NS is kept per link: (link index, address).
pub type Key = (u16, Ipv6Addr);

/// One packet and what the engine knows around it.
#[derive(Clone, Copy)]
pub struct Cx<'a> {
    pub p: &'a Packet,
    pub now: SystemTime,
    /// `now` in ns since the Unix epoch.
    pub t: u64,
    /// The link (interface and outer VLAN) the packet was seen on, as an index.
    pub link: u16,
    pub iface: Option<&'a str>,
    pub vlan: Option<u16>,
    pub policy: Option<&'a Policy>,
    /// The IEEE MAC registry, when the system has it.
    pub vendors: Option<&'a Vendors>,
    /// The learning period runs: what is seen forms the baseline.
    pub learning: bool,
    /// A baseline exists (learned, restored, or a policy): unknown routers are rogue.
    pub baseline: bool,
    /// This packet's message class is over its flood limit on this link: it creates no new
    /// binding.
    pub flooding: bool,
}

impl Cx<'_> {
    pub fn eth_src(&self) -> Mac {
        self.p.frame.eth.src
    }

    pub fn src(&self) -> Ipv6Addr {
        self.p.frame.ip6.src
    }

    /// The NDP class of the packet, if it is RS, RA, NS, NA or redirect.
    pub fn class(&self) -> Option<MsgClass> {
        self.p
            .frame
            .icmp6
            .as_ref()
            .and_then(|m| MsgClass::of(m.msg_type))
    }

    /// The ICMPv6 type (`None` for a non-first fragment, which has no ICMPv6 header).
    pub fn msg_type(&self) -> Option<Icmpv6Type> {
        self.p.frame.icmp6.as_ref().map(|m| m.msg_type)
    }

    /// What the message is about: the target of an NS or NA, the destination of a redirect,
    /// the source of anything else (an RS, an RA's router).
    pub fn target(&self) -> Ipv6Addr {
        match self.p.frame.icmp6.as_ref().map(|m| &m.message) {
            Some(
                Message::NeighborSolicit { target, .. } | Message::NeighborAdvert { target, .. },
            ) => *target,
            Some(Message::Redirect { destination, .. }) => *destination,
            _ => self.src(),
        }
    }

    /// The subject of an alert about this message: its type, its sender's MAC, its target.
    pub fn sent(&self) -> Subject {
        Subject::of(
            self.msg_type(),
            Some(self.eth_src()),
            Target::Addr(self.target()),
        )
    }

    /// The message's name (`router_advert`, ...), for alert messages.
    pub fn msg_name(&self) -> &'static str {
        self.p
            .frame
            .icmp6
            .as_ref()
            .map_or("fragment", |m| m.msg_type.name())
    }
}

/// Where rules put alerts: through the gate, onto the output list.
pub struct Sink<'a> {
    gate: &'a mut Gate,
    out: &'a mut Vec<Alert>,
}

impl<'a> Sink<'a> {
    pub fn new(gate: &'a mut Gate, out: &'a mut Vec<Alert>) -> Self {
        Self { gate, out }
    }

    /// Raises an alert about `subject`; `fill` sets its message, addresses and detail, and
    /// runs only when the gate lets the alert through. True when it was printed.
    pub fn raise(
        &mut self,
        cx: &Cx,
        code: AlertCode,
        severity: Severity,
        subject: Subject,
        fill: impl FnOnce(&mut Alert),
    ) -> bool {
        let Some(suppressed) = self.gate.pass(code, cx.link, subject, severity, cx.t) else {
            return false;
        };
        let f = &cx.p.frame;
        let mut a = Alert {
            code,
            severity,
            iface: cx.iface.map(str::to_owned),
            vlan: cx.vlan,
            ts: rfc3339_nanos(cx.now),
            address: None,
            mac: None,
            vendor: None,
            old_mac: None,
            message: String::new(),
            evidence: Evidence {
                packet: Some(PacketEvidence {
                    msg: cx.msg_name(),
                    eth_src: f.eth.src,
                    eth_dst: f.eth.dst,
                    ip6_src: f.ip6.src,
                    ip6_dst: f.ip6.dst,
                    hop_limit: f.ip6.hop_limit,
                    dir: cx.p.seen.dir,
                }),
                detail: Detail::None,
            },
            suppressed,
            ts_ns: cx.t,
        };
        fill(&mut a);
        if let (Some(v), Some(mac)) = (cx.vendors, a.mac) {
            a.vendor = v.lookup(&mac).map(str::to_owned);
        }
        self.out.push(a);
        true
    }

    /// Counts an alert the rule holds back itself.
    pub fn hold(&mut self, code: AlertCode) {
        self.gate.hold(code);
    }
}

/// `d` in ns, saturated.
pub fn ns(d: std::time::Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}
