//! Engine tests on plain values: for every alert code, a crafted sequence that raises it and
//! the nearest benign sequence that must not. Frames are built with the `wire` emitter and
//! decoded back, as the monitor would see them. Addresses: fe80::/10, 2001:db8::/32, fd00::/8.
use std::{
    net::Ipv6Addr,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use v6probe_common::{
    abi::next_header as nh,
    wire::{
        icmpv6::Quoted, ndisc_option::Preference, EthernetAddress, FragmentInfo, Frame, Icmpv6Type,
        Message, NdpOption, Options, Prefix,
    },
};

use super::{
    alert::{DadAnswer, Detail, MsgClass, RogueReason},
    baseline, vendors, *,
};
use crate::packet::{Packet, Seen};

const T0: u64 = 1_800_000_000;

pub(super) fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_millis(ms)
}

pub(super) fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

pub(super) fn ll(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n)
}

fn g(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
}

pub(super) const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// Emits the frame and decodes it back, as the capture path does.
fn packet(frame: Frame) -> Packet {
    let bytes = frame.to_bytes();
    let f = Frame::parse(&bytes).expect("crafted frame decodes");
    Packet::new(
        Seen {
            frame: None,
            ts: std::time::SystemTime::UNIX_EPOCH,
            iface: Some("eth0".into()),
            dir: Some("ingress"),
            hook: "xdp",
        },
        f,
    )
}

use v6probe_lab::ndp::icmp as frame;
use v6probe_lab::ndp::ns as ns_frame;

/// An NA; a solicited one goes to the soliciting host (ll(99)), an unsolicited one to all nodes.
pub(super) fn na_frame(
    eth_src: EthernetAddress,
    src: Ipv6Addr,
    target: Ipv6Addr,
    rso: (bool, bool, bool),
    tlla: Option<EthernetAddress>,
) -> Frame {
    let dst = if rso.1 { ll(99) } else { ALL_NODES };
    v6probe_lab::ndp::na(eth_src, src, dst, target, rso, tlla)
}

/// An NA from the owner: TLLA = Ethernet source, source address = target.
fn na(m: EthernetAddress, target: Ipv6Addr, rso: (bool, bool, bool)) -> Packet {
    packet(na_frame(m, target, target, rso, Some(m)))
}

fn ns(m: EthernetAddress, src: Ipv6Addr, target: Ipv6Addr) -> Packet {
    packet(ns_frame(m, src, target, Some(m)))
}

fn dad(m: EthernetAddress, target: Ipv6Addr) -> Packet {
    packet(ns_frame(m, Ipv6Addr::UNSPECIFIED, target, None))
}

struct Ra {
    hop: u8,
    lifetime: u16,
    prefixes: Vec<(Ipv6Addr, u32, u32)>,
    rdnss: Vec<Ipv6Addr>,
    slla: bool,
}

impl Default for Ra {
    fn default() -> Self {
        Self {
            hop: 64,
            lifetime: 1800,
            prefixes: vec![(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 86400, 14400)],
            rdnss: vec![],
            slla: true,
        }
    }
}

fn ra_frame(m: EthernetAddress, src: Ipv6Addr, ra: &Ra) -> Frame {
    let mut options = vec![];
    if ra.slla {
        options.push(NdpOption::SourceLlAddr { addr: m });
    }
    options.push(NdpOption::Mtu { mtu: 1500 });
    for (p, valid, pref) in &ra.prefixes {
        options.push(NdpOption::PrefixInfo {
            prefix: Prefix { addr: *p, len: 64 },
            on_link: true,
            autonomous: true,
            router_addr: false,
            dhcpv6_pd: false,
            reserved_flags: 0,
            valid_lifetime: *valid,
            preferred_lifetime: *pref,
        });
    }
    if !ra.rdnss.is_empty() {
        options.push(NdpOption::Rdnss {
            lifetime: 600,
            servers: ra.rdnss.clone(),
        });
    }
    frame(
        m,
        src,
        ALL_NODES,
        Icmpv6Type::RouterAdvert,
        Message::RouterAdvert {
            cur_hop_limit: ra.hop,
            managed: false,
            other: false,
            home_agent: false,
            preference: Preference::Medium,
            proxy: false,
            reserved_flags: 0,
            router_lifetime: ra.lifetime,
            reachable_time: 0,
            retrans_timer: 0,
            options: Options::from(options),
        },
    )
}

fn ra(m: EthernetAddress, src: Ipv6Addr, ra: &Ra) -> Packet {
    packet(ra_frame(m, src, ra))
}

fn redirect(m: EthernetAddress, src: Ipv6Addr) -> Packet {
    packet(frame(
        m,
        src,
        ll(5),
        Icmpv6Type::Redirect,
        Message::Redirect {
            reserved: 0,
            target: ll(66),
            destination: Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1),
            options: Options::default(),
        },
    ))
}

fn ptb(m: EthernetAddress, mtu: u32) -> Packet {
    // The quoted packet: an IPv6 header g(5) -> 2001:db8:9::1, UDP.
    let mut q = vec![0u8; 48];
    q[0] = 0x60;
    q[6] = nh::UDP;
    q[7] = 64;
    q[8..24].copy_from_slice(&g(5).octets());
    q[24..40].copy_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1).octets());
    let mut f = frame(
        m,
        g(1),
        g(5),
        Icmpv6Type::PacketTooBig,
        Message::PacketTooBig {
            mtu,
            quoted: Box::new(Quoted::parse(&q)),
            data: q,
        },
    );
    f.ip6.hop_limit = 64;
    packet(f)
}

struct H {
    e: Engine,
    all: Vec<Alert>,
}

impl H {
    fn new() -> Self {
        Self::with(Config::default(), None)
    }
    fn with(cfg: Config, policy: Option<Policy>) -> Self {
        Self {
            e: Engine::new(cfg, policy),
            all: vec![],
        }
    }
    fn feed(&mut self, p: &Packet, ms: u64) -> Vec<Alert> {
        let a = self.e.observe(p, at(ms));
        self.all.extend(a.iter().cloned());
        a
    }
    fn count(&self, code: &str) -> usize {
        self.all.iter().filter(|a| a.code.code() == code).count()
    }
    fn first(&self, code: &str) -> &Alert {
        self.all
            .iter()
            .find(|a| a.code.code() == code)
            .unwrap_or_else(|| panic!("no {code} in {:?}", codes(&self.all)))
    }
    fn above_low(&self) -> Vec<&'static str> {
        self.all
            .iter()
            .filter(|a| a.severity > Severity::Low)
            .map(|a| a.code.code())
            .collect()
    }
}

fn codes(a: &[Alert]) -> Vec<&'static str> {
    a.iter().map(|a| a.code.code()).collect()
}

const UNSOL_O: (bool, bool, bool) = (false, false, true);
const SOLICITED: (bool, bool, bool) = (false, true, true);

// --- neighbours -----------------------------------------------------------------------------

#[test]
fn neighbor_new_once_per_binding_and_not_while_learning() {
    let mut h = H::new();
    let a = h.feed(&na(mac(1), g(1), UNSOL_O), 0);
    assert_eq!(codes(&a), ["neighbor_new"]);
    assert_eq!(a[0].severity, Severity::Low);
    assert_eq!(a[0].address, Some(g(1)));
    assert_eq!(a[0].mac, Some(mac(1)));
    // Benign: the same owner again.
    assert!(h.feed(&na(mac(1), g(1), SOLICITED), 100).is_empty());

    let mut l = H::with(
        Config {
            learn: Duration::from_secs(5),
            ..Default::default()
        },
        None,
    );
    assert!(l.feed(&na(mac(1), g(1), UNSOL_O), 0).is_empty());
    assert_eq!(l.e.stats().neighbors, 1);
    assert!(l.e.is_learning());
    // After learning, a new one is reported.
    assert_eq!(
        codes(&l.feed(&na(mac(2), g(2), UNSOL_O), 6000)),
        ["neighbor_new"]
    );
    assert!(!l.e.is_learning());
}

#[test]
fn neighbor_mac_changed_medium_when_fresh_low_when_owner_was_silent() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    let a = h.feed(&na(mac(2), g(1), SOLICITED), 1000);
    assert_eq!(codes(&a), ["neighbor_mac_changed"]);
    assert_eq!(a[0].severity, Severity::Medium);
    assert_eq!(a[0].old_mac, Some(mac(1)));
    assert_eq!(a[0].mac, Some(mac(2)));

    // Benign: the owner replaced its NIC after being silent longer than `stale_after`, and
    // announces the new MAC: reported (a MAC change is never hidden) but only `low`, and not
    // as an override attack.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    let a = h.feed(&na(mac(3), g(1), UNSOL_O), 120_000);
    assert_eq!(codes(&a), ["neighbor_mac_changed"]);
    assert_eq!(a[0].severity, Severity::Low);
}

#[test]
fn na_without_override_does_not_move_a_binding() {
    // Two routers answering for the subnet-router anycast address (Linux: O clear).
    let anycast = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0);
    let mut h = H::new();
    h.feed(&ra(mac(8), ll(8), &Ra::default()), 0);
    h.feed(&ra(mac(9), ll(9), &Ra::default()), 1);
    h.feed(&na(mac(8), anycast, (true, true, false)), 2);
    h.feed(&na(mac(9), anycast, (true, true, false)), 10);
    h.feed(&na(mac(8), anycast, (true, true, false)), 20);
    assert!(h.above_low().is_empty(), "{:?}", codes(&h.all));
    // With Override, the same answer moves it.
    h.feed(&na(mac(9), anycast, (true, true, true)), 30);
    assert_eq!(h.count("neighbor_mac_changed"), 1);
}

#[test]
fn neighbor_flip_flop_back_to_previous_mac() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    h.feed(&na(mac(2), g(1), SOLICITED), 1000);
    let a = h.feed(&na(mac(1), g(1), SOLICITED), 2000);
    assert_eq!(codes(&a), ["neighbor_flip_flop"]);
    assert_eq!(a[0].severity, Severity::High);
    assert_eq!(a[0].old_mac, Some(mac(2)));
    // Benign: a change that sticks.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    h.feed(&na(mac(2), g(1), SOLICITED), 1000);
    h.feed(&na(mac(2), g(1), SOLICITED), 2000);
    h.feed(&ns(mac(2), g(1), g(7)), 3000);
    assert_eq!(h.count("neighbor_flip_flop"), 0);
    assert_eq!(h.count("neighbor_mac_changed"), 1);
}

#[test]
fn neighbor_mac_reused_older_mac() {
    let mut h = H::new();
    for (i, m) in [1u8, 2, 3, 1].iter().enumerate() {
        h.feed(&na(mac(*m), g(1), SOLICITED), i as u64 * 1000);
    }
    let last = h.all.last().unwrap();
    assert_eq!(last.code.code(), "neighbor_mac_reused");
    assert_eq!(last.old_mac, Some(mac(3)));
    // Benign: 1 -> 2 -> 3, then 3 stays.
    let mut h = H::new();
    for (i, m) in [1u8, 2, 3, 3].iter().enumerate() {
        h.feed(&na(mac(*m), g(1), SOLICITED), i as u64 * 1000);
    }
    assert_eq!(h.count("neighbor_mac_reused"), 0);
}

#[test]
fn mac_changes_pass_the_gate_a_few_a_second() {
    // One change a second for 10 s: every one is alerted (no 30 s repeat suppression for a
    // binding moving; the rate is under the storm limit).
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    for i in 0..10u64 {
        h.feed(
            &na(mac(10 + (i % 2) as u8), g(1), SOLICITED),
            1000 + i * 1000,
        );
    }
    let changes = h.all.iter().filter(|a| a.code.is_mac_change()).count();
    assert_eq!(changes, 10);
    assert_eq!(h.count("neighbor_mac_storm"), 0);
    assert_eq!(h.e.stats().mac_changes, 10);
}

/// `h.e` fed at `us` microseconds.
fn feed_us(h: &mut H, p: &Packet, us: u64) -> Vec<Alert> {
    let a = h.e.observe(
        p,
        UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_micros(us),
    );
    h.all.extend(a.iter().cloned());
    a
}

#[test]
fn alternating_mac_storm_gives_a_few_lines_and_counts_every_change() {
    // 10,000 unsolicited override NAs alternating two MACs for one address within one second.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    let (owner, attacker) = (na(mac(1), g(1), UNSOL_O), na(mac(66), g(1), UNSOL_O));
    for i in 0..10_000u64 {
        let p = if i % 2 == 0 { &attacker } else { &owner };
        feed_us(&mut h, p, 1_000_000 + i * 100);
    }
    let c = |code| h.count(code);
    // The first three changes are alerted (each a change and an unsolicited override), then
    // one storm alert; the rest are counted.
    assert_eq!(c("neighbor_mac_changed") + c("neighbor_flip_flop"), 3);
    assert_eq!(c("na_unsolicited_override"), 3);
    assert_eq!(c("neighbor_mac_storm"), 1);
    let lines = h.all.len();
    assert!(lines <= 12, "{lines} lines: {:?}", codes(&h.all));
    let storm = h.first("neighbor_mac_storm");
    assert_eq!(storm.severity, Severity::High);
    assert_eq!(storm.address, Some(g(1)));
    assert!(matches!(
        &storm.evidence.detail,
        Detail::MacStorm { changes: 4, held_back: 1, limit_per_s: 3, sample_macs, .. }
            if sample_macs == &[mac(66), mac(1)]
    ));
    let s = h.e.stats();
    assert_eq!(s.mac_changes, 10_000);
    let alerted_or_held = |code: &str| {
        s.alerts.get(code).copied().unwrap_or(0) + s.suppressed.get(code).copied().unwrap_or(0)
    };
    assert_eq!(
        alerted_or_held("neighbor_mac_changed")
            + alerted_or_held("neighbor_flip_flop")
            + alerted_or_held("neighbor_mac_reused"),
        10_000
    );
    assert_eq!(alerted_or_held("na_unsolicited_override"), 10_000);
    // Quiet for the storm's quiet interval, then a change is alerted again.
    let a = h.feed(&na(mac(67), g(1), UNSOL_O), 10_000);
    assert!(
        codes(&a).contains(&"neighbor_mac_changed"),
        "{:?}",
        codes(&a)
    );
}

#[test]
fn storm_alert_repeats_with_its_counts_while_the_storm_lasts() {
    // Ten changes a second for 65 s: storm alerts at the start, after 30 s and after 60 s.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    for i in 0..650u64 {
        h.feed(
            &na(mac(10 + (i % 2) as u8), g(1), SOLICITED),
            1000 + i * 100,
        );
    }
    let storms: Vec<&Alert> = h
        .all
        .iter()
        .filter(|a| a.code == AlertCode::NeighborMacStorm)
        .collect();
    assert_eq!(storms.len(), 3, "{:?}", codes(&h.all));
    let Detail::MacStorm {
        changes, held_back, ..
    } = storms[1].evidence.detail
    else {
        panic!("{:?}", storms[1].evidence.detail);
    };
    assert_eq!(held_back, 300);
    assert_eq!(changes, 304);
}

#[test]
fn ns_storm_spoofing_one_source_with_random_macs_is_one_storm() {
    // 2,000 NS spoofing g(5) as their source, each from a new random MAC, within a second.
    let mut h = H::new();
    h.feed(&ns(mac(5), g(5), g(6)), 0);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..2000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let r = x.to_be_bytes();
        let m = EthernetAddress([0x02, r[0], r[1], r[2], r[3], r[4]]);
        feed_us(&mut h, &ns(m, g(5), g(6)), 1_000_000 + i * 500);
    }
    assert_eq!(h.count("neighbor_mac_changed"), 3, "{:?}", codes(&h.all));
    assert_eq!(h.count("neighbor_mac_storm"), 1);
    assert!(h.all.len() <= 10, "{:?}", codes(&h.all));
    assert_eq!(h.e.stats().mac_changes, 2000);
    // The storm alert's sample: the MACs of its first second (the owner's among them), the
    // newest last.
    let Detail::MacStorm {
        changes,
        sample_macs,
        ..
    } = &h.first("neighbor_mac_storm").evidence.detail
    else {
        panic!();
    };
    assert_eq!(*changes, 4);
    assert_eq!(sample_macs.len(), 5, "{sample_macs:?}");
    assert!(sample_macs.contains(&mac(5)), "{sample_macs:?}");
    let distinct: std::collections::BTreeSet<_> = sample_macs.iter().map(|m| m.0).collect();
    assert_eq!(distinct.len(), 5);
}

#[test]
fn two_attacks_from_one_mac_are_two_alerts() {
    // An RA behind a destination-options header, then 12 s later an NA spoof behind a
    // hop-by-hop header from the same MAC: different message types and targets.
    let mut h = H::new();
    let m = mac(66);
    let ra_f = ra_frame(m, ll(66), &Ra::default()).with_ext_headers(&[(nh::DEST_OPTS, 8, None)]);
    h.feed(&packet(ra_f.clone()), 0);
    h.feed(&packet(ra_f), 1000);
    let na_f =
        na_frame(m, g(1), g(1), UNSOL_O, Some(m)).with_ext_headers(&[(nh::HOP_BY_HOP, 8, None)]);
    h.feed(&packet(na_f), 12_000);
    let ext: Vec<&Alert> = h
        .all
        .iter()
        .filter(|a| a.code == AlertCode::NdpWithExtensionHeaders)
        .collect();
    assert_eq!(ext.len(), 2, "{:?}", codes(&h.all));
    assert_eq!(
        ext[0].evidence.packet.as_ref().map(|p| p.msg),
        Some("router_advert")
    );
    assert_eq!(
        ext[1].evidence.packet.as_ref().map(|p| p.msg),
        Some("neighbor_advert")
    );
    // The repeated RA was held back, and is counted.
    assert_eq!(h.e.stats().suppressed["ndp_with_extension_headers"], 1);
    // Two MACs attacking one target are two alerts too.
    let other = na_frame(mac(67), g(1), g(1), UNSOL_O, Some(mac(67))).with_ext_headers(&[(
        nh::HOP_BY_HOP,
        8,
        None,
    )]);
    h.feed(&packet(other), 13_000);
    assert_eq!(h.count("ndp_with_extension_headers"), 3);
}

#[test]
fn repeats_are_suppressed_and_counted() {
    let mut h = H::new();
    let mut p = ns_frame(mac(1), g(1), g(2), Some(mac(1)));
    p.ip6.hop_limit = 64;
    let p = packet(p);
    for i in 0..10u64 {
        h.feed(&p, i * 100);
    }
    assert_eq!(h.count("ndp_hop_limit_invalid"), 1);
    // After the repeat interval the next one comes out with the count of those held back.
    let a = h.feed(&p, 31_000);
    assert_eq!(codes(&a), ["ndp_hop_limit_invalid"]);
    assert_eq!(a[0].suppressed, 9);
    assert_eq!(h.e.stats().suppressed["ndp_hop_limit_invalid"], 9);
}

// --- neighbour advertisements ---------------------------------------------------------------

#[test]
fn na_override_without_tlla() {
    let mut h = H::new();
    h.feed(&packet(na_frame(mac(1), g(1), g(1), UNSOL_O, None)), 0);
    assert_eq!(
        h.first("na_override_without_tlla").severity,
        Severity::Medium
    );
    // Benign: Linux's answer to a unicast NUD probe: solicited, no Override, no TLLA.
    let mut h = H::new();
    h.feed(
        &packet(na_frame(mac(1), g(1), g(1), (false, true, false), None)),
        0,
    );
    assert_eq!(h.count("na_override_without_tlla"), 0);
}

#[test]
fn na_multicast_target() {
    let mut h = H::new();
    h.feed(&na(mac(1), ALL_NODES, UNSOL_O), 0);
    h.feed(
        &packet(na_frame(mac(1), g(1), ALL_NODES, UNSOL_O, Some(mac(1)))),
        1,
    );
    assert_eq!(h.count("na_multicast_target"), 1, "{:?}", codes(&h.all));
    assert_eq!(h.e.stats().neighbors, 0);
    // Benign: an unsolicited NA *sent to* all-nodes for a unicast target.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), UNSOL_O), 0);
    assert_eq!(h.count("na_multicast_target"), 0);
}

#[test]
fn na_router_flag_from_host() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), (true, true, true)), 0);
    assert_eq!(h.first("na_router_flag_from_host").mac, Some(mac(1)));
    // Benign: a router that sent an RA first.
    let mut h = H::new();
    h.feed(&ra(mac(9), ll(9), &Ra::default()), 0);
    h.feed(&na(mac(9), g(9), (true, true, true)), 100);
    assert_eq!(h.count("na_router_flag_from_host"), 0);
}

#[test]
fn na_unsolicited_override_of_an_active_binding() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    let a = h.feed(
        &packet(na_frame(mac(66), g(1), g(1), UNSOL_O, Some(mac(66)))),
        500,
    );
    let c = codes(&a);
    assert!(c.contains(&"na_unsolicited_override"), "{c:?}");
    assert!(c.contains(&"neighbor_mac_changed"), "{c:?}");
    let o = h.first("na_unsolicited_override");
    assert_eq!(o.severity, Severity::High);
    assert_eq!((o.mac, o.old_mac), (Some(mac(66)), Some(mac(1))));
    // Benign: the owner re-announcing itself (unsolicited, Override) changes nothing.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    h.feed(&na(mac(1), g(1), UNSOL_O), 500);
    assert_eq!(h.count("na_unsolicited_override"), 0);
    // Benign: a solicited answer from the new MAC is a change, not an unsolicited override.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    h.feed(&na(mac(2), g(1), SOLICITED), 500);
    assert_eq!(h.count("na_unsolicited_override"), 0);
}

#[test]
fn ndp_ethernet_mismatch() {
    let mut h = H::new();
    h.feed(&packet(ns_frame(mac(1), g(1), g(2), Some(mac(2)))), 0);
    h.feed(
        &packet(na_frame(mac(3), g(3), g(3), SOLICITED, Some(mac(4)))),
        10,
    );
    assert_eq!(h.count("ndp_ethernet_mismatch"), 2, "{:?}", codes(&h.all));
    // Benign: matching options; and an NA answered by a proxy listed in the policy (the NA
    // check is off when proxies are configured).
    let policy = Policy {
        strict: false,
        proxies: vec![policy::PolicyProxy { mac: mac(3) }],
        ..Default::default()
    };
    let mut h = H::with(Config::default(), Some(policy));
    h.feed(&ns(mac(1), g(1), g(2)), 0);
    h.feed(
        &packet(na_frame(mac(3), g(3), g(3), SOLICITED, Some(mac(4)))),
        10,
    );
    h.feed(
        &packet(na_frame(mac(5), g(5), g(5), SOLICITED, Some(mac(6)))),
        20,
    );
    assert_eq!(h.count("ndp_ethernet_mismatch"), 0, "{:?}", codes(&h.all));
}

// --- DAD --------------------------------------------------------------------------------------

#[test]
fn dad_dos_every_attempt_answered() {
    let mut h = H::new();
    h.feed(&dad(mac(1), g(1)), 0);
    let a = h.feed(&na(mac(66), g(1), UNSOL_O), 5);
    assert!(codes(&a).contains(&"dad_dos"));
    assert_eq!(h.first("dad_dos").severity, Severity::Medium);
    // The second attempt, answered as well: high.
    h.feed(&dad(mac(1), g(1)), 10_000);
    let a = h.feed(&na(mac(66), g(1), UNSOL_O), 10_005);
    let d: Vec<_> = a.iter().filter(|a| a.code == AlertCode::DadDos).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::High);
    assert!(matches!(
        d[0].evidence.detail,
        Detail::Dad {
            attempts: 2,
            answered: 2,
            answered_with: DadAnswer::NeighborAdvert,
            ..
        }
    ));
    // A foreign DAD probe for the same tentative address is an answer too.
    let mut h = H::new();
    h.feed(&dad(mac(1), g(2)), 0);
    h.feed(&dad(mac(66), g(2)), 3);
    assert_eq!(h.count("dad_dos"), 1);
}

#[test]
fn dad_benign_unanswered_late_or_self() {
    let mut h = H::new();
    // Unanswered; the prober then announces its own address; another node's NA only after
    // the DAD window; the prober repeating its probe.
    h.feed(&dad(mac(1), g(1)), 0);
    h.feed(&dad(mac(1), g(1)), 1000);
    h.feed(&na(mac(1), g(1), UNSOL_O), 2000);
    h.feed(&dad(mac(2), g(2)), 0);
    h.feed(&na(mac(3), g(2), UNSOL_O), 10_000);
    assert_eq!(h.count("dad_dos"), 0, "{:?}", codes(&h.all));
    // A genuine duplicate (the current owner answers) is only `low`.
    let mut h = H::new();
    h.feed(&na(mac(3), g(3), SOLICITED), 0);
    h.feed(&dad(mac(4), g(3)), 1000);
    h.feed(&na(mac(3), g(3), UNSOL_O), 1001);
    assert_eq!(h.first("dad_dos").severity, Severity::Low);
}

// --- routers ----------------------------------------------------------------------------------

fn learned() -> H {
    let mut h = H::with(
        Config {
            learn: Duration::from_secs(10),
            ..Default::default()
        },
        None,
    );
    h.feed(&ra(mac(9), ll(9), &Ra::default()), 0);
    h.feed(&ra(mac(8), ll(8), &Ra::default()), 1000);
    h.feed(&na(mac(1), g(1), SOLICITED), 2000);
    assert!(h.all.is_empty(), "{:?}", codes(&h.all));
    h
}

#[test]
fn ra_rogue_after_learning() {
    let mut h = learned();
    h.feed(&ra(mac(9), ll(9), &Ra::default()), 11_000);
    h.feed(&ra(mac(8), ll(8), &Ra::default()), 12_000);
    assert!(h.all.is_empty(), "{:?}", codes(&h.all));
    let a = h.feed(&ra(mac(66), ll(66), &Ra::default()), 13_000);
    assert!(codes(&a).contains(&"ra_rogue"), "{:?}", codes(&a));
    let r = h.first("ra_rogue");
    assert_eq!(r.severity, Severity::High);
    assert!(matches!(
        r.evidence.detail,
        Detail::Rogue {
            reason: RogueReason::NotLearned,
            ..
        }
    ));
    // Known router address from another MAC.
    h.feed(&ra(mac(67), ll(9), &Ra::default()), 14_000);
    assert!(h.all.iter().any(|a| matches!(
        a.evidence.detail,
        Detail::Rogue {
            reason: RogueReason::RouterAddressFromOtherMac,
            ..
        }
    )));
}

#[test]
fn ra_rogue_with_strict_policy() {
    let text = r#"
        prefixes = ["2001:db8:1::/48"]
        [[routers]]
        mac = "02:00:00:00:00:09"
        link_local = "fe80::9"
    "#;
    let p = Policy::parse(text, Path::new("p.toml")).unwrap();
    let mut h = H::with(Config::default(), Some(p));
    h.feed(&ra(mac(9), ll(9), &Ra::default()), 0);
    assert!(h.above_low().is_empty(), "{:?}", codes(&h.all));
    h.feed(&ra(mac(8), ll(8), &Ra::default()), 10);
    assert!(matches!(
        h.first("ra_rogue").evidence.detail,
        Detail::Rogue {
            reason: RogueReason::NotInPolicy,
            ..
        }
    ));
    // The listed router advertising an unlisted prefix.
    let bad = Ra {
        prefixes: vec![(
            Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, 0),
            86400,
            14400,
        )],
        ..Default::default()
    };
    h.feed(&ra(mac(9), ll(9), &bad), 20);
    let c = h
        .all
        .iter()
        .find(|a| matches!(a.evidence.detail, Detail::NotInPolicy { .. }))
        .expect("policy content alert");
    assert_eq!(c.severity, Severity::High);
}

#[test]
fn ra_params_changed_hop_limit_and_rdnss() {
    let mut h = learned();
    let a = h.feed(
        &ra(
            mac(9),
            ll(9),
            &Ra {
                hop: 1,
                rdnss: vec![g(53)],
                ..Default::default()
            },
        ),
        11_000,
    );
    assert_eq!(codes(&a), ["ra_params_changed"]);
    assert_eq!(a[0].severity, Severity::Medium);
    let Detail::RaChanged { changes } = &a[0].evidence.detail else {
        panic!("{:?}", a[0].evidence.detail);
    };
    assert_eq!(
        changes.cur_hop_limit,
        Some(baseline::Change { old: 64, new: 1 })
    );
    assert!(changes.rdnss.is_some());
}

#[test]
fn router_renumbering_is_not_an_attack() {
    // RFC 4192: the router adds the new prefix, deprecates the old one (preferred 0), later
    // drops it. Learned only, or with a policy covering both: silent, counted. With a policy
    // that does not cover the new prefix: one `low` line.
    let old = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0);
    let new = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0);
    let steps = [
        vec![(old, 86400, 14400)],
        vec![(old, 86400, 0), (new, 86400, 14400)],
        vec![(new, 86400, 14400)],
    ];
    let run = |policy: Option<Policy>| {
        let mut h = H::with(
            Config {
                learn: Duration::from_secs(5),
                ..Default::default()
            },
            policy,
        );
        for (i, p) in steps.iter().enumerate() {
            let r = Ra {
                prefixes: p.clone(),
                ..Default::default()
            };
            h.feed(&ra(mac(9), ll(9), &r), i as u64 * 10_000);
        }
        h
    };
    let mut h = run(None);
    // Learned only: both changes (the new prefix, then the old one gone) taken into the
    // baseline, no alert; the same RA afterwards is silent and changes nothing.
    assert_eq!(h.count("ra_params_changed"), 0, "{:?}", codes(&h.all));
    assert!(!h.e.stats().suppressed.contains_key("ra_params_changed"));
    assert_eq!(h.e.stats().ra_prefix_changes, 2);
    let r = Ra {
        prefixes: steps[2].clone(),
        ..Default::default()
    };
    assert!(h.feed(&ra(mac(9), ll(9), &r), 60_000).is_empty());
    assert_eq!(h.e.stats().ra_prefix_changes, 2);
    // Anything besides prefixes still counts, renumbering or not.
    let r = Ra {
        prefixes: steps[0].clone(),
        hop: 1,
        ..Default::default()
    };
    h.feed(&ra(mac(9), ll(9), &r), 70_000);
    assert_eq!(codes(&h.all), ["ra_params_changed"]);
    assert_eq!(h.all[0].severity, Severity::Medium);
    let p = Policy::parse(
        "strict = false\nprefixes = [\"2001:db8::/32\"]\n",
        Path::new("p.toml"),
    )
    .unwrap();
    let h = run(Some(p));
    assert_eq!(h.count("ra_params_changed"), 0, "{:?}", codes(&h.all));
    assert_eq!(h.e.stats().ra_prefix_changes, 2);
    // A policy that does not cover the new prefix: said once, at low.
    let p = Policy::parse(
        "strict = false\nprefixes = [\"2001:db8:1::/48\"]\n",
        Path::new("p.toml"),
    )
    .unwrap();
    let h = run(Some(p));
    assert_eq!(h.count("ra_params_changed"), 1, "{:?}", codes(&h.all));
    assert!(h.above_low().is_empty(), "{:?}", codes(&h.all));
}

#[test]
fn ra_router_killed_from_another_mac() {
    let mut h = learned();
    let kill = Ra {
        lifetime: 0,
        slla: false,
        ..Default::default()
    };
    h.feed(&ra(mac(66), ll(9), &kill), 11_000);
    let k = h.first("ra_router_killed");
    assert_eq!((k.mac, k.old_mac), (Some(mac(66)), Some(mac(9))));
    // Benign: the router itself says goodbye (radvd on shutdown).
    let mut h = learned();
    h.feed(&ra(mac(9), ll(9), &kill), 11_000);
    assert!(h.all.is_empty(), "{:?}", codes(&h.all));
}

#[test]
fn ra_prefix_lifetime_invalid() {
    let mut h = H::new();
    let r = Ra {
        prefixes: vec![(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 600, 7200)],
        ..Default::default()
    };
    h.feed(&ra(mac(9), ll(9), &r), 0);
    assert!(matches!(
        h.first("ra_prefix_lifetime_invalid").evidence.detail,
        Detail::PrefixLifetime {
            preferred_lifetime: 7200,
            ..
        }
    ));
    // Benign: deprecation (preferred 0) and equal lifetimes.
    let mut h = H::new();
    let r = Ra {
        prefixes: vec![
            (Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 600, 0),
            (Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0), 600, 600),
        ],
        ..Default::default()
    };
    h.feed(&ra(mac(9), ll(9), &r), 0);
    assert_eq!(h.count("ra_prefix_lifetime_invalid"), 0);
}

#[test]
fn redirect_from_non_router() {
    let mut h = learned();
    h.feed(&redirect(mac(1), ll(1)), 11_000);
    assert_eq!(h.first("redirect_from_non_router").severity, Severity::High);
    // Benign: the known router redirects.
    let mut h = learned();
    h.feed(&redirect(mac(9), ll(9)), 11_000);
    assert_eq!(h.count("redirect_from_non_router"), 0);
}

// --- packet checks ----------------------------------------------------------------------------

#[test]
fn ndp_hop_limit_invalid_changes_nothing() {
    let mut h = H::new();
    let mut f = na_frame(mac(66), g(1), g(1), UNSOL_O, Some(mac(66)));
    f.ip6.hop_limit = 64;
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    h.feed(&packet(f), 10);
    assert_eq!(h.count("ndp_hop_limit_invalid"), 1);
    // Hosts drop it, so the binding stays.
    assert_eq!(h.count("neighbor_mac_changed"), 0);
    // Benign: hop limit 255.
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    assert_eq!(h.count("ndp_hop_limit_invalid"), 0);
}

#[test]
fn ndp_bogon_source() {
    let mut h = H::new();
    h.feed(&ra(mac(9), g(9), &Ra::default()), 0); // RA from a global address
    h.feed(
        &packet(na_frame(
            mac(1),
            Ipv6Addr::UNSPECIFIED,
            g(1),
            UNSOL_O,
            Some(mac(1)),
        )),
        10,
    );
    h.feed(
        &packet(ns_frame(mac(2), "ff02::5".parse().unwrap(), g(1), None)),
        20,
    );
    assert_eq!(h.count("ndp_bogon_source"), 3, "{:?}", codes(&h.all));
    // Benign: DAD and RS from the unspecified address.
    let mut h = H::new();
    h.feed(&dad(mac(1), g(1)), 0);
    h.feed(
        &packet(frame(
            mac(1),
            Ipv6Addr::UNSPECIFIED,
            ALL_ROUTERS,
            Icmpv6Type::RouterSolicit,
            Message::RouterSolicit {
                reserved: 0,
                options: Options::default(),
            },
        )),
        10,
    );
    assert_eq!(h.count("ndp_bogon_source"), 0);
}

#[test]
fn ndp_with_extension_headers_and_fragments() {
    let mut h = H::new();
    let f = na_frame(mac(66), g(1), g(1), UNSOL_O, Some(mac(66)))
        .with_ext_headers(&[(nh::HOP_BY_HOP, 8, None), (nh::DEST_OPTS, 16, None)]);
    let a = h.feed(&packet(f), 0);
    let e = a
        .iter()
        .find(|a| a.code == AlertCode::NdpWithExtensionHeaders)
        .expect("ext alert");
    assert!(
        matches!(&e.evidence.detail, Detail::ExtensionHeaders { ext } if ext == &["hop_by_hop", "dest_opts"])
    );
    let frag = Some(FragmentInfo {
        offset: 0,
        more: true,
        id: 7,
    });
    let f = ra_frame(mac(67), ll(67), &Ra::default()).with_ext_headers(&[(nh::FRAGMENT, 8, frag)]);
    h.feed(&packet(f), 10);
    assert_eq!(h.count("ndp_fragmented"), 1);
    // A fragmented RA changes no state (hosts drop it).
    assert_eq!(h.e.stats().routers, 0);
    // Benign: the same NDP without headers, and a fragmented echo request (not NDP).
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), UNSOL_O), 0);
    let echo = frame(
        mac(1),
        g(1),
        g(2),
        Icmpv6Type::EchoRequest,
        Message::EchoRequest {
            id: 1,
            seq: 1,
            data_len: 8,
            data: vec![0; 8],
        },
    )
    .with_ext_headers(&[(nh::FRAGMENT, 8, frag)]);
    h.feed(&packet(echo), 10);
    assert_eq!(
        h.count("ndp_with_extension_headers") + h.count("ndp_fragmented"),
        0
    );
}

#[test]
fn ptb_mtu_below_minimum() {
    let mut h = H::new();
    h.feed(&ptb(mac(1), 576), 0);
    let a = h.first("ptb_mtu_below_minimum");
    assert!(matches!(
        a.evidence.detail,
        Detail::PacketTooBig { mtu: 576, quoted_dst: Some(d) } if d == Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1)
    ));
    let mut h = H::new();
    h.feed(&ptb(mac(1), 1280), 0);
    h.feed(&ptb(mac(1), 1400), 1);
    assert_eq!(h.count("ptb_mtu_below_minimum"), 0);
}

// --- rates ------------------------------------------------------------------------------------

#[test]
fn flood_by_class_and_by_source() {
    let mut h = H::new();
    // 600 NAs in 300 ms from 60 sources (10 each): the NA class limit (500/s) trips.
    let mut first_flood = None;
    for i in 0..600u64 {
        let m = mac((i % 60) as u8 + 100);
        let a = h.feed(&na(m, g(1000 + (i % 60) as u16), SOLICITED), i / 2);
        if first_flood.is_none() && codes(&a).contains(&"flood") {
            first_flood = Some(i);
        }
    }
    assert_eq!(first_flood, Some(500));
    let f = h.first("flood");
    assert!(matches!(
        f.evidence.detail,
        Detail::Flood {
            class: MsgClass::Na,
            source: None,
            ..
        }
    ));
    assert_eq!(f.severity, Severity::High);
    // One source over its limit (200/s).
    let mut h = H::new();
    for i in 0..250u64 {
        h.feed(&ns(mac(7), g(7), g(1)), i * 2);
    }
    assert!(h.all.iter().any(|a| matches!(
        a.evidence.detail,
        Detail::Flood {
            source: Some(m),
            ..
        } if m == mac(7)
    )));
    // Benign: 100 NA/s from 10 hosts for 5 seconds.
    let mut h = H::new();
    for i in 0..500u64 {
        h.feed(
            &na(mac((i % 10) as u8 + 1), g((i % 10) as u16 + 1), SOLICITED),
            i * 10,
        );
    }
    assert_eq!(h.count("flood"), 0);
}

#[test]
fn neighbor_cache_exhaustion() {
    let mut h = H::new();
    let router = mac(9);
    for i in 0..100u16 {
        h.feed(&ns(router, g(1), g(2000 + i)), u64::from(i) * 5);
    }
    let a = h.first("neighbor_cache_exhaustion");
    assert!(matches!(
        a.evidence.detail,
        Detail::CacheExhaustion {
            unanswered_targets: 65,
            ..
        }
    ));
    // Benign: the same NS, each answered.
    let mut h = H::new();
    for i in 0..100u16 {
        h.feed(&ns(router, g(1), g(2000 + i)), u64::from(i) * 5);
        h.feed(&na(mac(50), g(2000 + i), SOLICITED), u64::from(i) * 5 + 1);
    }
    assert_eq!(h.count("neighbor_cache_exhaustion"), 0);
    // Benign: a few unanswered NS per second over a long time (they expire).
    let mut h = H::new();
    for i in 0..300u16 {
        h.feed(&ns(router, g(1), g(3000 + i)), u64::from(i) * 500);
    }
    assert_eq!(h.count("neighbor_cache_exhaustion"), 0);
}

// --- bounds, determinism, output ----------------------------------------------------------------

fn random_na(x: &mut u64, i: u64) -> Packet {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    let b = x.to_be_bytes();
    let m = EthernetAddress([0x02, b[0], b[1], b[2], b[3], b[4]]);
    let target = Ipv6Addr::new(
        0x2001,
        0xdb8,
        1,
        0,
        0,
        u16::from_be_bytes([b[5], b[6]]),
        (i >> 16) as u16,
        i as u16,
    );
    na(m, target, UNSOL_O)
}

#[test]
fn random_mac_churn_stays_within_bounds() {
    // Below the flood limits (200 NA/s), a new MAC and address each: the tables fill to
    // their bounds and evict, counted.
    let cfg = Config {
        max_neighbors: 1000,
        max_sources: 500,
        max_suppress: 300,
        ..Default::default()
    };
    let mut h = H::with(cfg, None);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..20_000u64 {
        let p = random_na(&mut x, i);
        h.e.observe(&p, at(i * 5));
        let s = h.e.stats();
        assert!(s.neighbors <= 1000 && s.sources <= 512 && s.suppress_entries <= 300);
    }
    let s = h.e.stats();
    assert_eq!(s.neighbors, 1000);
    assert_eq!(s.evictions["neighbors"], 20_000 - 1000);
    assert!(s.evictions["sources"] >= 19_000, "{s:?}");
    assert_eq!(s.alerts.get("flood"), None);
    assert_eq!(s.bindings_not_admitted, 0);
}

#[test]
fn random_mac_flood_is_not_admitted_and_keeps_known_bindings() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    // 50 000 NAs in 1 s of packet time, a new MAC and address each.
    for i in 0..50_000u64 {
        let p = random_na(&mut x, i);
        h.e.observe(&p, at(1000 + i / 50));
    }
    let s = h.e.stats();
    assert!(s.alerts["flood"] >= 1, "{s:?}");
    // Only the packets before the NA limit tripped were admitted.
    assert!(s.neighbors <= 502, "{s:?}");
    assert!(s.bindings_not_admitted >= 49_000, "{s:?}");
    // The binding known before the flood is still there: a spoof of it is a MAC change.
    h.feed(&na(mac(66), g(1), SOLICITED), 10_000);
    assert_eq!(h.count("neighbor_mac_changed"), 1);
}

#[test]
fn same_input_same_alerts() {
    let seq = |h: &mut H| {
        h.feed(&na(mac(1), g(1), SOLICITED), 0);
        h.feed(&na(mac(2), g(1), UNSOL_O), 10);
        h.feed(&dad(mac(3), g(3)), 20);
        h.feed(&na(mac(4), g(3), UNSOL_O), 21);
        h.feed(&ra(mac(5), g(5), &Ra::default()), 30);
        h.all
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect::<Vec<_>>()
    };
    let (mut a, mut b) = (H::new(), H::new());
    let (x, y) = (seq(&mut a), seq(&mut b));
    assert!(x.len() >= 5);
    assert_eq!(x, y);
}

#[test]
fn alert_json_line() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    let a = h.feed(&na(mac(2), g(1), UNSOL_O), 1);
    let mut w = crate::output::JsonLines::new(Vec::new());
    w.write("alert", &a[0]).unwrap();
    let line = String::from_utf8(w.get_mut().clone()).unwrap();
    let v = v6probe_lab::json_line(line.trim_end());
    assert_eq!(v["kind"], "alert");
    assert_eq!(v["v"], 1);
    assert_eq!(v["iface"], "eth0");
    assert_eq!(v["address"], "2001:db8:1::1");
    assert_eq!(v["mac"], "02:00:00:00:00:02");
    assert_eq!(v["old_mac"], "02:00:00:00:00:01");
    assert_eq!(v["ts"], crate::output::rfc3339_nanos(at(1)));
    assert_eq!(v["evidence"]["type"], "neighbor_advert");
    assert!(v["message"].as_str().unwrap().contains("02:00:00:00:00:02"));
    assert!(a[0].text().contains("neighbor_mac_changed"));
}

// --- policy and state -------------------------------------------------------------------------

#[test]
fn policy_errors_name_line_and_column() {
    let text =
        "strict = true\n[[routers]]\nmac = \"02:00:00:00:00:zz\"\nlink_local = \"fe80::1\"\n";
    let e = Policy::parse(text, Path::new("/etc/p.toml")).unwrap_err();
    let DetectError::Policy { line, column, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!((*line, *column), (3, 7), "{e}");
    assert!(e.to_string().starts_with("policy /etc/p.toml:3:7:"), "{e}");
    let e = Policy::parse("strict = true\nbogus = 1\n", Path::new("p.toml")).unwrap_err();
    assert!(matches!(e, DetectError::Policy { line: 2, .. }), "{e}");
    let e = Policy::parse("prefixes = [\"2001:db8::/129\"]\n", Path::new("p.toml")).unwrap_err();
    assert!(
        matches!(
            e,
            DetectError::Policy {
                line: 1,
                column: 13,
                ..
            }
        ),
        "{e}"
    );
    let e = Policy::parse(
        "[[routers]]\nmac = \"02:00:00:00:00:01\"\nlink_local = \"2001:db8::1\"\n",
        Path::new("p.toml"),
    )
    .unwrap_err();
    assert!(matches!(e, DetectError::PolicyValue { .. }), "{e}");
}

#[test]
fn state_round_trip_restores_the_baseline() {
    let scratch = v6probe_lab::TempDir::new("detect-state").unwrap();
    let dir = scratch.path();
    let path = dir.join("baseline.json");
    let h = learned();
    let mut h = h;
    h.feed(&na(mac(1), g(1), SOLICITED), 11_000); // ends learning
    let snap = h.e.snapshot();
    assert_eq!(snap.routers.len(), 2);
    snap.save(&path).unwrap();
    // Only the file itself is left (the temporary was renamed over it).
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("baseline.json")]);
    let back = State::load(&path).unwrap().unwrap();
    assert_eq!(back, snap);

    // A fresh engine with the state: known routers are quiet, a new one is rogue, the
    // restored binding changing is a MAC change.
    let mut e = H::new();
    e.e.restore(&back);
    e.feed(&ra(mac(9), ll(9), &Ra::default()), 20_000);
    assert!(e.all.is_empty(), "{:?}", codes(&e.all));
    e.feed(&ra(mac(66), ll(66), &Ra::default()), 20_001);
    assert_eq!(e.count("ra_rogue"), 1);
    e.feed(&na(mac(2), g(1), SOLICITED), 20_002);
    assert_eq!(e.count("neighbor_mac_changed"), 1);

    // A corrupt file names the place.
    std::fs::write(&path, "{\"version\":1,\n\"neighbors\":[}").unwrap();
    let err = State::load(&path).unwrap_err();
    assert!(matches!(err, DetectError::State { line: 2, .. }), "{err}");
    assert!(State::load(&dir.join("missing.json")).unwrap().is_none());
}

/// The periodic save writes from the tables ([`Engine::save_state`]): the same bytes as the
/// owned [`Engine::snapshot`] serialized, for thousands of bindings on named, unnamed and
/// tagged links, routers with their RA values and router MACs.
#[test]
fn state_saved_from_the_tables_is_the_snapshot_byte_for_byte() {
    let scratch = v6probe_lab::TempDir::new("detect-state-view").unwrap();
    let path = scratch.path().join("baseline.json");
    let mut h = learned();
    h.feed(&na(mac(1), g(1), SOLICITED), 11_000); // ends learning
    let learned_bindings = h.e.snapshot().neighbors.len();
    let links: [(&str, Option<u16>); 5] = [
        ("eth1", None),
        ("eth0", Some(20)),
        ("", None),
        ("eth0", None),
        ("", Some(7)),
    ];
    let neighbors = (0..4000u32)
        .map(|i| {
            let (iface, vlan) = links[i as usize % links.len()];
            let b = i.to_be_bytes();
            state::NeighborState {
                iface: iface.into(),
                vlan,
                address: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, (i >> 8) as u16, i as u16 ^ 0x5a5a),
                mac: EthernetAddress([2, 0, b[0], b[1], b[2], b[3]]),
                prev_macs: (0..i % 5)
                    .map(|k| EthernetAddress([2, 1, k as u8, b[1], b[2], b[3]]))
                    .collect(),
                first_seen_ns: u64::from(i) * 1_000,
                last_seen_ns: u64::from(i) * 2_000 + 7,
            }
        })
        .collect();
    let router_macs = (0..40u8)
        .map(|i| {
            let (iface, vlan) = links[usize::from(i) % links.len()];
            state::RouterMacState {
                iface: iface.into(),
                vlan,
                mac: mac(100 + i),
            }
        })
        .collect();
    h.e.restore(&State {
        version: state::STATE_VERSION,
        neighbors,
        routers: Vec::new(),
        router_macs,
    });
    let snap = h.e.snapshot();
    assert_eq!(snap.neighbors.len(), learned_bindings + 4000);
    assert_eq!(snap.routers.len(), 2);
    assert!(snap.routers.iter().all(|r| r.params.is_some()));
    assert!(snap.router_macs.len() >= 40);
    let expected = format!("{}\n", serde_json::to_string_pretty(&snap).unwrap());

    h.e.save_state(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.len(), expected.len());
    assert!(
        written == expected,
        "the streamed state differs from the snapshot"
    );
    assert_eq!(State::load(&path).unwrap(), Some(snap));
}

#[test]
fn events_select_packet_lines_and_alerts_print_as_text() {
    let echo_like = ptb(mac(1), 1400);
    let ndp = na(mac(1), g(1), SOLICITED);
    for (events, shows_ndp, shows_other) in [
        (Events::None, false, false),
        (Events::Ndp, true, false),
        (Events::All, true, true),
    ] {
        let d = Detector::new(&DetectArgs {
            events,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.show_packet(&ndp), shows_ndp, "{events:?}");
        assert_eq!(d.show_packet(&echo_like), shows_other, "{events:?}");
    }
    let mut d = Detector::new(&DetectArgs::default()).unwrap();
    let a = d.observe(&ndp, at(0));
    let mut w = crate::output::JsonLines::new(Vec::new());
    assert_eq!(
        run::write_alerts(&mut w, crate::output::Format::Text, &a).unwrap(),
        1
    );
    let text = String::from_utf8(w.get_mut().clone()).unwrap();
    assert!(
        text.contains("ALERT low") && text.contains("neighbor_new"),
        "{text}"
    );
    let s = run::stats_text(&d.stats());
    assert!(s.contains("neighbor_new=1"), "{s}");
}

#[test]
fn detector_saves_state_when_learning_ends() {
    let scratch = v6probe_lab::TempDir::new("detect-learn").unwrap();
    let dir = scratch.path();
    let path = dir.join("s.json");
    let args = DetectArgs {
        learn: Some(Duration::from_secs(2)),
        state: Some(path.clone()),
        ..Default::default()
    };
    let mut d = Detector::new(&args).unwrap();
    d.observe(&ra(mac(9), ll(9), &Ra::default()), at(0));
    assert!(!path.exists());
    d.observe(&na(mac(1), g(1), SOLICITED), at(2500));
    let s = State::load(&path).unwrap().expect("saved after learning");
    assert_eq!(s.routers.len(), 1);
    // And every SAVE_EVERY of packet time.
    d.observe(&ra(mac(7), ll(7), &Ra::default()), at(3000));
    assert_eq!(State::load(&path).unwrap().unwrap().routers.len(), 1);
    d.observe(
        &na(mac(1), g(1), SOLICITED),
        at(2500 + run::SAVE_EVERY.as_millis() as u64),
    );
    // (The rogue router's link-local address is a binding, not a router.)
    let saved = State::load(&path).unwrap().unwrap();
    assert_eq!(saved.routers.len(), 1);
    assert!(saved.neighbors.iter().any(|n| n.address == ll(7)));
    // Restored by the next run: a different router is rogue at once, no learning needed.
    let mut d = Detector::new(&DetectArgs {
        state: Some(path.clone()),
        ..Default::default()
    })
    .unwrap();
    let a = d.observe(&ra(mac(8), ll(8), &Ra::default()), at(10_000));
    assert!(codes(&a).contains(&"ra_rogue"), "{:?}", codes(&a));
}

#[test]
fn bindings_are_per_vlan() {
    let mut h = H::new();
    h.feed(&na(mac(1), g(1), SOLICITED), 0);
    // The same address on VLAN 10 with another MAC is another host, not a change.
    let tagged =
        packet(na_frame(mac(2), g(1), g(1), SOLICITED, Some(mac(2))).with_vlan(0x8100, 10));
    let a = h.feed(&tagged, 10);
    assert_eq!(codes(&a), ["neighbor_new"]);
    assert_eq!(a[0].vlan, Some(10));
    let tagged =
        packet(na_frame(mac(3), g(1), g(1), SOLICITED, Some(mac(3))).with_vlan(0x8100, 10));
    let a = h.feed(&tagged, 20);
    assert_eq!(codes(&a), ["neighbor_mac_changed"]);
    assert_eq!(a[0].old_mac, Some(mac(2)));
    let snap = h.e.snapshot();
    assert!(snap
        .neighbors
        .iter()
        .any(|n| n.vlan == Some(10) && n.mac == mac(3)));
    assert!(snap
        .neighbors
        .iter()
        .any(|n| n.vlan.is_none() && n.mac == mac(1)));
}

/// The hook for the kernel flood guard: one `flood` alert per guard class, through the gate.
#[test]
fn kernel_flood_guard_counts_become_gated_flood_alerts() {
    let mut e = Engine::new(Config::default(), None);
    let f = KernelFlood {
        guard_class: 3,
        name: "na",
        suppressed: 12_000,
        window: Duration::from_secs(1),
        guard_rate: 1000,
        sources: vec![alert::FloodSourceCount {
            mac: mac(9),
            suppressed: 11_000,
        }],
    };
    let a = e.kernel_flood(&f, at(0)).expect("first report alerts");
    assert_eq!(a.code, AlertCode::Flood);
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.mac, Some(mac(9)));
    assert!(a.message.contains("12000 na frames"), "{}", a.message);
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["evidence"]["guard_class"], "na");
    assert_eq!(v["evidence"]["kernel_suppressed"], 12_000);
    assert_eq!(v["evidence"]["sources"][0]["mac"], "02:00:00:00:00:09");
    assert!(
        v["evidence"].get("eth_src").is_none(),
        "no packet behind it"
    );
    // The same class a second later: held back by the repeat interval, counted.
    assert!(e.kernel_flood(&f, at(1000)).is_none());
    // Another class is its own subject.
    let rs = KernelFlood {
        guard_class: 0,
        name: "rs",
        ..f.clone()
    };
    assert!(e.kernel_flood(&rs, at(1000)).is_some());
    // After the repeat interval, the next alert carries the count held back.
    let a = e
        .kernel_flood(&f, at(31_000))
        .expect("after the repeat interval");
    assert_eq!(a.suppressed, 1);
}

// --- NDPMon parity --------------------------------------------------------------------------

#[test]
fn ra_prefix_valid_lifetime_short() {
    let mut h = H::new();
    let r = Ra {
        prefixes: vec![
            (Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 1800, 900),
            (Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0), 7200, 3600),
        ],
        ..Default::default()
    };
    h.feed(&ra(mac(9), ll(9), &r), 0);
    assert_eq!(h.count("ra_prefix_valid_lifetime_short"), 1);
    let a = h.first("ra_prefix_valid_lifetime_short");
    assert_eq!(a.severity, Severity::Low);
    assert!(matches!(
        a.evidence.detail,
        Detail::PrefixLifetime {
            valid_lifetime: 1800,
            ..
        }
    ));
    // A zero valid lifetime (the prefix-kill attempt) is short too; two hours and more are not.
    let mut h = H::new();
    let r = Ra {
        prefixes: vec![(Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 0), 0, 0)],
        ..Default::default()
    };
    h.feed(&ra(mac(9), ll(9), &r), 0);
    assert_eq!(h.count("ra_prefix_valid_lifetime_short"), 1);
    let mut h = H::new();
    h.feed(&ra(mac(9), ll(9), &Ra::default()), 0);
    assert_eq!(h.count("ra_prefix_valid_lifetime_short"), 0);
}

#[test]
fn neighbor_mac_lla_mismatch() {
    let mut h = learned();
    // mac(1) is known at fe80::1 (its RS/NS during learning would do the same).
    h.feed(&ns(mac(1), ll(1), g(2)), 11_000);
    assert_eq!(h.count("neighbor_mac_lla_mismatch"), 0);
    // The same MAC now also claims fe80::2.
    h.feed(&ns(mac(1), ll(2), g(2)), 12_000);
    let a = h.first("neighbor_mac_lla_mismatch");
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.address, Some(ll(2)));
    assert_eq!(a.mac, Some(mac(1)));
    assert!(
        matches!(a.evidence.detail, Detail::LlaMismatch { known_link_local } if known_link_local == ll(1))
    );
    // Benign: a MAC whose old link-local address moved to another MAC (a NIC handed on) is
    // not a mismatch at its new one; global addresses are not link-local couples.
    let mut h = learned();
    h.feed(&ns(mac(3), ll(3), g(2)), 11_000);
    h.feed(&na(mac(4), ll(3), SOLICITED), 11_100);
    h.feed(&ns(mac(3), ll(30), g(2)), 12_000);
    h.feed(&ns(mac(3), g(30), g(2)), 12_100);
    assert_eq!(
        h.count("neighbor_mac_lla_mismatch"),
        0,
        "{:?}",
        codes(&h.all)
    );
}

fn vendors() -> std::sync::Arc<vendors::Vendors> {
    let mut v = vendors::Vendors::default();
    v.add_csv(
        "Registry,Assignment,Organization Name,Organization Address\n\
         MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US 98248\n",
        6,
    );
    std::sync::Arc::new(v)
}

#[test]
fn alerts_name_the_vendor_and_the_policy_may_ask_for_unknown_ones() {
    let known = EthernetAddress([0x00, 0x22, 0x72, 0, 0, 1]);
    let unknown = EthernetAddress([0x00, 0x00, 0x01, 0, 0, 1]);
    let mut h = H::new();
    h.e.set_vendors(Some(vendors()));
    let a = h.feed(&na(known, g(1), SOLICITED), 0);
    assert_eq!(
        a[0].vendor.as_deref(),
        Some("American Micro-Fuel Device Corp.")
    );
    let v = serde_json::to_value(&a[0]).unwrap();
    assert_eq!(v["vendor"], "American Micro-Fuel Device Corp.");
    // No vendor for an unknown OUI or a locally administered MAC, and no unknown_vendor
    // alert unless the policy asks.
    let a = h.feed(&na(unknown, g(2), SOLICITED), 10);
    assert_eq!(a[0].vendor, None);
    assert!(serde_json::to_value(&a[0]).unwrap().get("vendor").is_none());
    assert_eq!(h.count("unknown_vendor"), 0);

    let p = Policy::parse(
        "strict = false\nunknown_vendor = true\n",
        Path::new("p.toml"),
    )
    .unwrap();
    let mut h = H::with(Config::default(), Some(p));
    h.e.set_vendors(Some(vendors()));
    h.feed(&na(known, g(1), SOLICITED), 0);
    h.feed(&na(mac(2), g(2), SOLICITED), 10);
    assert_eq!(h.count("unknown_vendor"), 0);
    h.feed(&na(unknown, g(3), SOLICITED), 20);
    h.feed(&na(unknown, g(4), SOLICITED), 30);
    let a = h.first("unknown_vendor");
    assert_eq!(a.severity, Severity::Low);
    assert_eq!(a.mac, Some(unknown));
    // Once per MAC (repeats within 30 s are counted).
    assert_eq!(h.count("unknown_vendor"), 1);
    assert_eq!(h.e.stats().vendors, 1);
}

#[test]
fn storms_are_bounded_and_their_evictions_counted() {
    let mut h = H::with(
        Config {
            max_storms: 4,
            ..Default::default()
        },
        None,
    );
    for a in 0..10u16 {
        h.feed(&na(mac(1), g(100 + a), SOLICITED), u64::from(a));
    }
    for i in 0..100u64 {
        for a in 0..10u16 {
            let m = mac(10 + (i % 2) as u8);
            h.feed(&na(m, g(100 + a), SOLICITED), 1000 + i * 10 + u64::from(a));
        }
    }
    let s = h.e.stats();
    assert_eq!(s.mac_changes, 1000);
    assert!(s.evictions["storms"] > 0, "{s:?}");
    // Ten addresses storm at once with room for four storms' counts: every address still
    // holds its changes back after the first three, and a storm whose counts were evicted
    // starts again, its alert held back as a repeat within 30 s.
    let changes = h.all.iter().filter(|a| a.code.is_mac_change()).count();
    assert_eq!(changes, 30, "{:?}", codes(&h.all));
    assert_eq!(h.count("neighbor_mac_storm"), 10);
}
