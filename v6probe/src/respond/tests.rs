//! The responder on plain values: frames built with the `wire` emitter and decoded back, judged
//! by the real detection engine, whose alerts go to the responder with the packet time.
//! Addresses: fe80::/10, 2001:db8::/32.
use std::{
    net::Ipv6Addr,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::*;
use crate::{
    detect::{self, Engine},
    packet::Seen,
    wire::{icmpv6::msg_type as mt, ndisc_option::Preference, NdpOption, Options},
};

const T0: u64 = 1_800_000_000;
const IFACE_MAC: Mac = EthernetAddress([0x02, 0, 0, 0, 0, 0xee]);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_millis(ms)
}

fn mac(n: u8) -> Mac {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

fn ll(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n)
}

fn g(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
}

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

/// An NDP frame from `eth_src` to all nodes.
fn frame(eth_src: Mac, src: Ipv6Addr, ty: u8, m: Message) -> Frame {
    v6probe_lab::ndp::icmp(eth_src, src, ALL_NODES, ty, m)
}

fn ra_frame(m: Mac, src: Ipv6Addr, lifetime: u16, route: Option<&str>) -> Frame {
    let mut options = vec![NdpOption::SourceLlAddr { addr: m }];
    if let Some(r) = route {
        options.push(
            format!("{r},pref=high,lifetime=900")
                .parse::<RouteInfo>()
                .unwrap()
                .0,
        );
    }
    frame(
        m,
        src,
        mt::ROUTER_ADVERT,
        Message::RouterAdvert {
            cur_hop_limit: 64,
            managed: false,
            other: false,
            home_agent: false,
            preference: Preference::High,
            proxy: false,
            reserved_flags: 0,
            router_lifetime: lifetime,
            reachable_time: 0,
            retrans_timer: 0,
            options: Options::from(options),
        },
    )
}

fn ra(m: Mac, src: Ipv6Addr, lifetime: u16) -> Packet {
    packet(ra_frame(m, src, lifetime, None))
}

/// An unsolicited NA (Override set unless `o` is false) claiming `target` at `claim`.
fn na(eth: Mac, target: Ipv6Addr, claim: Mac, router: bool, o: bool) -> Packet {
    packet(frame(
        eth,
        target,
        mt::NEIGHBOR_ADVERT,
        Message::NeighborAdvert {
            router,
            solicited: false,
            override_: o,
            reserved: 0,
            target,
            options: Options::from(vec![NdpOption::TargetLlAddr { addr: claim }]),
        },
    ))
}

const POLICY: &str = r#"
    respond = ["ra_rogue", "na_unsolicited_override"]
    [[routers]]
    mac = "02:00:00:00:00:01"
    link_local = "fe80::1"
"#;

fn policy(text: &str) -> Policy {
    Policy::parse(text, Path::new("p.toml")).unwrap()
}

/// The engine and the responder, fed one packet at a time.
struct H {
    e: Engine,
    r: Responder,
    out: Vec<Response>,
    alerts: Vec<Alert>,
}

impl H {
    fn new(text: &str, cfg: Config) -> Self {
        let p = policy(text);
        let mut r = Responder::new(cfg, &p, Path::new("p.toml")).unwrap();
        r.set_interface("eth0", IFACE_MAC.0);
        Self {
            e: Engine::new(detect::Config::default(), Some(p)),
            r,
            out: vec![],
            alerts: vec![],
        }
    }

    /// Feeds a packet at `ms`; returns the responses to it (reported as sent).
    fn feed(&mut self, p: &Packet, ms: u64) -> Vec<Response> {
        let alerts = self.e.observe(p, at(ms));
        let t = (T0 * 1000 + ms) * 1_000_000;
        let mut rs = self.r.decide(p, &alerts, t);
        for r in &mut rs {
            r.sent = true;
            self.r.report(r);
        }
        self.alerts.extend(alerts);
        self.out.extend(rs.iter().cloned());
        rs
    }

    fn alerted(&self, code: &str) -> bool {
        self.alerts.iter().any(|a| a.code.code() == code)
    }
}

fn only(rs: Vec<Response>) -> Response {
    assert_eq!(rs.len(), 1, "{rs:#?}");
    rs.into_iter().next().unwrap()
}

/// The RA fields of a response's frame: (router lifetime, cur hop limit, options).
fn ra_of(r: &Response) -> (u16, u8, Vec<NdpOption>) {
    match &r.frame.icmp6.as_ref().expect("icmp6").message {
        Message::RouterAdvert {
            router_lifetime,
            cur_hop_limit,
            options,
            ..
        } => (
            *router_lifetime,
            *cur_hop_limit,
            options.iter().cloned().collect(),
        ),
        m => panic!("not an RA: {m:?}"),
    }
}

/// The NA fields of a response's frame: (R, S, O, target, TLLA).
fn na_of(r: &Response) -> (bool, bool, bool, Ipv6Addr, Option<Mac>) {
    match &r.frame.icmp6.as_ref().expect("icmp6").message {
        Message::NeighborAdvert {
            router,
            solicited,
            override_,
            target,
            options,
            ..
        } => (
            *router,
            *solicited,
            *override_,
            *target,
            options.target_ll_addr(),
        ),
        m => panic!("not an NA: {m:?}"),
    }
}

#[test]
fn rogue_router_gets_a_zero_lifetime_ra_from_its_own_addresses() {
    let mut h = H::new(POLICY, Config::default());
    assert!(
        h.feed(&ra(mac(1), ll(1), 1800), 0).is_empty(),
        "the listed router"
    );
    let rogue = packet(ra_frame(mac(66), ll(66), 1800, Some("2001:db8:99::/48")));
    let r = only(h.feed(&rogue, 100));
    assert!(h.alerted("ra_rogue"));
    assert_eq!(
        (r.action, r.code, r.address, r.mac, r.previous),
        (
            Action::WithdrawRouter,
            AlertCode::RaRogue,
            ll(66),
            mac(66),
            0
        )
    );
    assert_eq!(r.iface, "eth0");
    assert_eq!(r.ts, rfc3339_nanos(at(100)));
    let f = &r.frame;
    assert_eq!(
        (f.eth.src, f.ip6.src, f.ip6.dst),
        (mac(66), ll(66), ALL_NODES)
    );
    assert_eq!(f.eth.dst.0, [0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!((f.ip6.hop_limit, f.checksum_ok), (255, Some(true)));
    assert_eq!(r.len, r.bytes.len());
    let (lifetime, hop, options) = ra_of(&r);
    assert_eq!((lifetime, hop), (0, 0));
    // Its route, withdrawn too; nothing else (no prefix: it could be a real router's).
    assert_eq!(options.len(), 1, "{options:?}");
    assert!(
        matches!(&options[0], NdpOption::RouteInfo { route_lifetime: 0, prefix, .. }
        if prefix.to_string() == "2001:db8:99::/48")
    );
    // The bytes are the decoded frame's.
    assert_eq!(Frame::parse(&r.bytes).unwrap().eth.src, mac(66));

    // The rogue's next RA within a second: the detector holds its alert back; the responder
    // holds the response back for the incident's interval, then answers again.
    assert!(h.feed(&rogue, 600).is_empty());
    assert_eq!(h.r.stats().held_per_subject, 1);
    let again = only(h.feed(&rogue, 1200));
    assert_eq!((again.action, again.previous), (Action::WithdrawRouter, 1));
    // Its zero-lifetime RAs (or ours seen back) are not answered.
    assert!(h.feed(&ra(mac(66), ll(66), 0), 3000).is_empty());
    // The legitimate router is never answered.
    assert!(h.feed(&ra(mac(1), ll(1), 1800), 3100).is_empty());
    let s = h.r.stats();
    assert_eq!(s.sent.get("withdraw_router"), Some(&2));
    assert_eq!((s.incidents_opened, s.incidents, s.failed), (1, 1, 0));
}

#[test]
fn a_known_routers_address_from_another_mac_restores_the_router_binding() {
    let mut h = H::new(POLICY, Config::default());
    h.feed(&ra(mac(1), ll(1), 1800), 0);
    let r = only(h.feed(&ra(mac(66), ll(1), 1800), 100));
    assert!(h.alerted("ra_rogue"));
    assert_eq!(
        (r.action, r.address, r.mac, r.restored_mac),
        (Action::RestoreNeighbor, ll(1), mac(66), Some(mac(1)))
    );
    // Never a zero lifetime for the real router's address.
    assert!(h.out.iter().all(|r| r.action != Action::WithdrawRouter));
    // Router flag set, Override set, not solicited, the known MAC as TLLA; sent from the
    // monitor's interface, with the router's address.
    assert_eq!(na_of(&r), (true, false, true, ll(1), Some(mac(1))));
    let f = &r.frame;
    assert_eq!(
        (f.eth.src, f.ip6.src, f.ip6.dst),
        (IFACE_MAC, ll(1), ALL_NODES)
    );
    assert_eq!((f.ip6.hop_limit, f.checksum_ok), (255, Some(true)));

    // Same with the router known from the policy only (not heard yet).
    let mut h = H::new(POLICY, Config::default());
    let r = only(h.feed(&ra(mac(66), ll(1), 1800), 0));
    assert_eq!(
        (r.action, r.restored_mac),
        (Action::RestoreNeighbor, Some(mac(1)))
    );
}

#[test]
fn spoofed_override_is_answered_with_the_known_binding() {
    let mut h = H::new(POLICY, Config::default());
    assert!(h.feed(&na(mac(5), g(5), mac(5), false, true), 0).is_empty());
    // An attacker's unsolicited override for the active binding.
    let spoof = na(mac(66), g(5), mac(66), false, true);
    let r = only(h.feed(&spoof, 1000));
    assert!(h.alerted("na_unsolicited_override"));
    assert_eq!(
        (r.action, r.code, r.address, r.mac, r.restored_mac),
        (
            Action::RestoreNeighbor,
            AlertCode::NaUnsolicitedOverride,
            g(5),
            mac(66),
            Some(mac(5))
        )
    );
    assert_eq!(na_of(&r), (false, false, true, g(5), Some(mac(5))));
    assert_eq!((r.frame.eth.src, r.frame.ip6.src), (IFACE_MAC, g(5)));
    // The owner speaking is not answered; the attacker again is, with the same known MAC
    // (the detector's binding moved back and forth meanwhile).
    assert!(h
        .feed(&na(mac(5), g(5), mac(5), false, true), 2500)
        .is_empty());
    let r = only(h.feed(&spoof, 4000));
    assert_eq!((r.restored_mac, r.previous), (Some(mac(5)), 1));
    // A spoof without Override changes no cache: not answered.
    assert!(h
        .feed(&na(mac(66), g(5), mac(66), false, false), 6000)
        .is_empty());
    // A forged NS claiming the address (its source link-layer option): answered.
    let ns = packet(frame(
        mac(66),
        g(5),
        mt::NEIGHBOR_SOLICIT,
        Message::NeighborSolicit {
            reserved: 0,
            target: g(9),
            options: Options::from(vec![NdpOption::SourceLlAddr { addr: mac(66) }]),
        },
    ));
    let r = only(h.feed(&ns, 8000));
    assert_eq!(
        (r.action, r.restored_mac),
        (Action::RestoreNeighbor, Some(mac(5)))
    );
}

#[test]
fn a_spoofed_router_address_keeps_the_router_flag() {
    let mut h = H::new(POLICY, Config::default());
    h.feed(&ra(mac(1), ll(1), 1800), 0);
    h.feed(&na(mac(1), ll(1), mac(1), true, true), 100);
    let r = only(h.feed(&na(mac(66), ll(1), mac(66), true, true), 1000));
    assert_eq!(na_of(&r), (true, false, true, ll(1), Some(mac(1))));
}

#[test]
fn only_allowed_codes_are_answered() {
    let text = r#"
        respond = ["na_unsolicited_override"]
        [[routers]]
        mac = "02:00:00:00:00:01"
        link_local = "fe80::1"
    "#;
    let mut h = H::new(text, Config::default());
    assert!(h.feed(&ra(mac(66), ll(66), 1800), 0).is_empty());
    assert!(h.alerted("ra_rogue"));
    assert!(h.out.is_empty());
    assert_eq!(h.r.stats(), RespondStats::default());
}

#[test]
fn a_change_after_the_old_mac_went_quiet_is_not_answered() {
    let text = r#"respond = ["neighbor_mac_changed"]"#;
    let mut h = H::new(text, Config::default());
    h.feed(&na(mac(5), g(5), mac(5), false, true), 0);
    // Ten minutes of silence, then another MAC: a host that moved (low alert).
    let moved = 600_000;
    assert!(h
        .feed(&na(mac(6), g(5), mac(6), false, true), moved)
        .is_empty());
    assert!(h.alerted("neighbor_mac_changed"));
    assert_eq!(h.r.stats().skipped.get("stale_binding"), Some(&1));
    // An active binding taken over by a solicited override: answered.
    h.feed(&na(mac(7), g(7), mac(7), false, true), moved + 10);
    let solicited = packet(frame(
        mac(66),
        g(7),
        mt::NEIGHBOR_ADVERT,
        Message::NeighborAdvert {
            router: false,
            solicited: true,
            override_: true,
            reserved: 0,
            target: g(7),
            options: Options::from(vec![NdpOption::TargetLlAddr { addr: mac(66) }]),
        },
    ));
    let r = only(h.feed(&solicited, moved + 1000));
    assert_eq!(
        (r.code, r.restored_mac),
        (AlertCode::NeighborMacChanged, Some(mac(7)))
    );
}

#[test]
fn responses_stay_within_the_rate() {
    let cfg = Config {
        per_sec: 3,
        ..Config::default()
    };
    let mut h = H::new(POLICY, cfg);
    h.feed(&ra(mac(1), ll(1), 1800), 0);
    // Fifty rogue routers in half a second: three answered, the rest counted.
    let mut n = 0;
    for i in 0..50u16 {
        n += h
            .feed(
                &ra(mac(100 + i as u8), ll(100 + i), 1800),
                100 + i as u64 * 10,
            )
            .len();
    }
    assert_eq!(n, 3);
    let s = h.r.stats();
    assert_eq!(s.rate_limited + 3, s.incidents_opened.min(50));
    assert!(s.rate_limited >= 1, "{s:?}");
    // A second later, the rate allows three more (a rogue sending again is answered).
    let r = h.feed(&ra(mac(140), ll(140), 1800), 2000);
    assert_eq!(r.len(), 1);
}

#[test]
fn incidents_are_bounded_and_end() {
    let cfg = Config {
        per_sec: 1000,
        max_incidents: 4,
        incident_ttl: Duration::from_secs(10),
        ..Config::default()
    };
    let mut h = H::new(POLICY, cfg);
    for i in 0..10u16 {
        h.feed(&ra(mac(100 + i as u8), ll(100 + i), 1800), i as u64);
    }
    let s = h.r.stats();
    assert_eq!((s.incidents, s.incidents_evicted), (4, 6));
    // An incident answered within its lifetime; not after it, until an alert opens it again
    // (the detector alerts again after its repeat interval).
    let last = ra(mac(109), ll(109), 1800);
    assert_eq!(h.feed(&last, 5_000).len(), 1);
    // 11 s later the incident has ended; the detector holds the repeat back (its repeat
    // interval is 30 s), so nothing is answered.
    assert!(h.feed(&last, 16_000).is_empty());
    assert_eq!(h.r.stats().incidents, 3);
    // Past the detector's repeat interval it alerts again, which opens the incident again.
    let rs = h.feed(&last, 45_000);
    assert!(h
        .alerts
        .iter()
        .any(|a| a.code == AlertCode::RaRogue && a.ts == rfc3339_nanos(at(45_000))));
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].previous, 0, "a new incident");
}

#[test]
fn tagged_frames_are_answered_tagged() {
    let mut h = H::new(POLICY, Config::default());
    let tagged = packet(ra_frame(mac(66), ll(66), 1800, None).with_vlan(0x8100, 42));
    let r = only(h.feed(&tagged, 0));
    assert_eq!(r.vlan, Some(42));
    assert_eq!(r.frame.eth.vlan_count, 1);
    assert_eq!(r.frame.eth.vlans[0].vid(), 42);
    // The same rogue untagged is another link: another incident.
    let r = only(h.feed(&ra(mac(66), ll(66), 1800), 10));
    assert_eq!((r.vlan, r.previous), (None, 0));
}

#[test]
fn no_answer_without_the_interface_mac() {
    let p = policy(POLICY);
    let mut r = Responder::new(Config::default(), &p, Path::new("p.toml")).unwrap();
    let mut e = Engine::new(detect::Config::default(), Some(p));
    let rogue = ra(mac(66), ll(66), 1800);
    let alerts = e.observe(&rogue, at(0));
    assert!(!alerts.is_empty());
    assert!(r.decide(&rogue, &alerts, T0 * 1_000_000_000).is_empty());
    assert_eq!(r.stats().skipped.get("no_interface"), Some(&1));
}

#[test]
fn the_allow_list_is_checked() {
    let e = Responder::new(
        Config::default(),
        &policy("strict = true"),
        Path::new("p.toml"),
    )
    .err()
    .unwrap();
    assert_eq!(
        e,
        RespondError::NoCodes {
            file: "p.toml".into()
        }
    );
    assert!(e.to_string().contains("respond = [\"ra_rogue\"]"), "{e}");
    let e = Responder::new(
        Config::default(),
        &policy(r#"respond = ["ra_rogue", "dad_dos"]"#),
        Path::new("p.toml"),
    )
    .err()
    .unwrap();
    assert_eq!(
        e.to_string(),
        "--respond: p.toml: respond lists `dad_dos`, which has no countermeasure (codes with \
         one: ra_rogue, na_unsolicited_override, neighbor_mac_changed)"
    );
    // A name that is no alert code: refused where the policy is read, at its line.
    let e = Policy::parse(
        "strict = true\nrespond = [\"ra_rouge\"]\n",
        Path::new("p.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("p.toml:2:") && e.contains("unknown alert code `ra_rouge`"),
        "{e}"
    );
    // The codes, in the order listed.
    let p = policy(POLICY);
    assert_eq!(
        p.respond,
        vec![AlertCode::RaRogue, AlertCode::NaUnsolicitedOverride]
    );
}

#[test]
fn response_records_are_json_lines_of_the_schema() {
    let mut h = H::new(POLICY, Config::default());
    let r = only(h.feed(&ra(mac(66), ll(66), 1800), 0));
    let mut buf = Vec::new();
    crate::output::JsonLines::new(&mut buf)
        .write("response", &r)
        .unwrap();
    let line = String::from_utf8(buf).unwrap();
    let v = v6probe_lab::json_line(line.trim_end());
    assert_eq!(v["kind"], "response");
    assert_eq!(v["action"], "withdraw_router");
    assert_eq!(v["sent"], true);
    assert!(r.text().contains("RESPOND withdraw_router"), "{}", r.text());
}

#[test]
fn own_responses_are_recognised_on_egress_only() {
    let mut h = H::new(POLICY, Config::default());
    let r = only(h.feed(&ra(mac(66), ll(66), 1800), 0));
    let t = (T0 * 1000 + 5) * 1_000_000;
    let mut seen = packet(r.frame.clone());
    assert!(!h.r.is_own(&seen, t), "ingress: someone else's frame");
    seen.seen.dir = Some("egress");
    assert!(h.r.is_own(&seen, t));
    assert!(!h.r.is_own(&seen, t + 3_000_000_000), "long after");
    let mut other = ra(mac(66), ll(66), 0);
    other.seen.dir = Some("egress");
    assert!(!h.r.is_own(&other, t), "the rogue's own zero-lifetime RA");
}

#[test]
fn a_policy_read_again_changes_what_is_answered() {
    let mut h = H::new(POLICY, Config::default());
    let rogue = ra(mac(66), ll(66), 1800);
    assert_eq!(h.feed(&rogue, 0).len(), 1);
    // The code taken off the list: its open incident is no longer answered.
    let off = policy(
        "respond = []\n[[routers]]\nmac = \"02:00:00:00:00:01\"\nlink_local = \"fe80::1\"\n",
    );
    h.r.set_policy(&off, Path::new("p.toml")).unwrap();
    assert!(h.feed(&rogue, 2000).is_empty());
    // A code without a countermeasure: refused, the list in force stays.
    let bad = policy("respond = [\"flood\"]");
    let e = h.r.set_policy(&bad, Path::new("p.toml")).unwrap_err();
    assert!(
        matches!(e, RespondError::NotAnswerable { code: "flood", .. }),
        "{e}"
    );
    assert!(h.feed(&rogue, 4000).is_empty());
    // Back on the list: answered again.
    h.r.set_policy(&policy(POLICY), Path::new("p.toml"))
        .unwrap();
    let r = only(h.feed(&rogue, 6000));
    assert_eq!((r.action, r.previous), (Action::WithdrawRouter, 1));
}
