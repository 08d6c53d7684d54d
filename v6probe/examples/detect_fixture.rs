//! Writes `tests/data/detect_replay.pcapng`: two links' worth of NDP with almost every attack the
//! detector knows, for the golden replay test (`tests/detect_replay.rs`).
//!
//! ```sh
//! cargo run -p v6probe --example detect_fixture -- v6probe/tests/data/detect_replay.pcapng
//! ```
//! The committed capture is the fixture; this program only documents how it was made (and
//! remakes it if the scenario has to grow). Times are packet times from 2027-01-15T08:00:00Z;
//! the first 10 s are a benign link (two radvd-like routers, hosts doing DAD, NS/NA), so
//! `--learn 10` has a baseline. Addresses: 2001:db8::/32, fd00::/8, fe80::/10.
use std::{
    net::Ipv6Addr,
    time::{Duration, UNIX_EPOCH},
};

use anyhow::Context;
use v6probe::{
    capture::{write::PcapNgWriter, Direction},
    wire::{
        icmpv6::Quoted, ndisc_option::Preference, EthernetAddress, FragmentInfo, Frame, Icmpv6Repr,
        Icmpv6Type, Message, NdpOption, Options, Prefix,
    },
};
use v6probe_lab::ndp::{icmp as frame, ns};

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
const HOP_BY_HOP: u8 = 0;
const DEST_OPTS: u8 = 60;
const FRAGMENT: u8 = 44;
const UDP: u8 = 17;

fn mac(a: u8, b: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, a, b])
}

fn ll(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n)
}

fn g(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
}

/// An NA; `tlla` is the target link-layer option (None: no option). A solicited one goes to
/// the soliciting host (ll(0x99)), an unsolicited one to all nodes.
fn na(
    eth: EthernetAddress,
    src: Ipv6Addr,
    target: Ipv6Addr,
    rso: (bool, bool, bool),
    tlla: Option<EthernetAddress>,
) -> Frame {
    let dst = if rso.1 { ll(0x99) } else { ALL_NODES };
    v6probe_lab::ndp::na(eth, src, dst, target, rso, tlla)
}

const SOL: (bool, bool, bool) = (false, true, true);
const UNSOL: (bool, bool, bool) = (false, false, true);

/// An NA from the owner of `target` (TLLA = Ethernet source).
fn na_owner(eth: EthernetAddress, target: Ipv6Addr, rso: (bool, bool, bool)) -> Frame {
    na(eth, target, target, rso, Some(eth))
}

fn dad(eth: EthernetAddress, target: Ipv6Addr) -> Frame {
    ns(eth, Ipv6Addr::UNSPECIFIED, target, None)
}

fn rs(eth: EthernetAddress, src: Ipv6Addr) -> Frame {
    frame(
        eth,
        src,
        ALL_ROUTERS,
        Icmpv6Type::RouterSolicit,
        Message::RouterSolicit {
            reserved: 0,
            options: Options::from(vec![NdpOption::SourceLlAddr { addr: eth }]),
        },
    )
}

#[derive(Clone)]
struct Ra {
    hop: u8,
    lifetime: u16,
    mtu: u32,
    /// (prefix, valid lifetime, preferred lifetime)
    prefixes: Vec<(Ipv6Addr, u32, u32)>,
    rdnss: Vec<Ipv6Addr>,
    dnssl: Vec<String>,
    routes: Vec<Ipv6Addr>,
    slla: Option<EthernetAddress>,
}

impl Ra {
    fn of(router: u16, slla: EthernetAddress) -> Self {
        Self {
            hop: 64,
            lifetime: 1800,
            mtu: 1500,
            prefixes: vec![(
                Ipv6Addr::new(0x2001, 0xdb8, router, 0, 0, 0, 0, 0),
                86400,
                14400,
            )],
            rdnss: vec![Ipv6Addr::new(0x2001, 0xdb8, router, 0, 0, 0, 0, 0x53)],
            dnssl: vec![],
            routes: vec![],
            slla: Some(slla),
        }
    }

    fn frame(&self, eth: EthernetAddress, src: Ipv6Addr) -> Frame {
        let mut options = vec![];
        if let Some(a) = self.slla {
            options.push(NdpOption::SourceLlAddr { addr: a });
        }
        options.push(NdpOption::Mtu { mtu: self.mtu });
        for (p, valid, pref) in &self.prefixes {
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
        if !self.rdnss.is_empty() {
            options.push(NdpOption::Rdnss {
                lifetime: 600,
                servers: self.rdnss.clone(),
            });
        }
        if !self.dnssl.is_empty() {
            options.push(NdpOption::Dnssl {
                lifetime: 600,
                domains: self.dnssl.clone(),
                length: 0,
            });
        }
        for r in &self.routes {
            options.push(NdpOption::RouteInfo {
                prefix: Prefix { addr: *r, len: 48 },
                preference: Preference::High,
                route_lifetime: 1800,
                length: 2,
            });
        }
        frame(
            eth,
            src,
            ALL_NODES,
            Icmpv6Type::RouterAdvert,
            Message::RouterAdvert {
                cur_hop_limit: self.hop,
                managed: false,
                other: false,
                home_agent: false,
                preference: Preference::Medium,
                proxy: false,
                reserved_flags: 0,
                router_lifetime: self.lifetime,
                reachable_time: 0,
                retrans_timer: 0,
                options: Options::from(options),
            },
        )
    }
}

fn redirect(eth: EthernetAddress, src: Ipv6Addr, target: Ipv6Addr, dest: Ipv6Addr) -> Frame {
    frame(
        eth,
        src,
        g(5),
        Icmpv6Type::Redirect,
        Message::Redirect {
            reserved: 0,
            target,
            destination: dest,
            options: Options::default(),
        },
    )
}

fn ptb(eth: EthernetAddress, src: Ipv6Addr, mtu: u32) -> Frame {
    // The quoted packet: an IPv6 header g(5) -> 2001:db8:9::1, UDP.
    let mut q = vec![0u8; 48];
    q[0] = 0x60;
    q[6] = UDP;
    q[7] = 64;
    q[8..24].copy_from_slice(&g(5).octets());
    q[24..40].copy_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1).octets());
    let mut f = Frame::new(
        eth,
        mac(0, 5),
        src,
        g(5),
        64,
        Icmpv6Repr::new(
            Icmpv6Type::PacketTooBig,
            0,
            Message::PacketTooBig {
                mtu,
                quoted: Box::new(Quoted::parse(&q)),
                data: q,
            },
        ),
    );
    f.ip6.hop_limit = 64;
    f
}

/// xorshift64: the same pseudo-random MACs on every run.
fn rand_mac(x: &mut u64) -> EthernetAddress {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    let r = x.to_be_bytes();
    EthernetAddress([0x02, 0xaa, r[0], r[1], r[2], r[3]])
}

/// The frames, written in time order at the end (the scenario adds them by topic).
struct Cap {
    frames: Vec<(u64, u32, Vec<u8>)>,
}

impl Cap {
    /// One frame at `ms` of packet time on interface `ifx` (0: eth0, 1: eth1), inbound.
    fn put(&mut self, ms: f64, ifx: u32, f: &Frame) -> anyhow::Result<()> {
        self.raw(ms, ifx, &f.to_bytes())
    }

    fn raw(&mut self, ms: f64, ifx: u32, bytes: &[u8]) -> anyhow::Result<()> {
        self.frames.push(((ms * 1e6) as u64, ifx, bytes.to_vec()));
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .context("usage: detect_fixture OUT.pcapng")?;
    let mut c = Cap { frames: Vec::new() };
    let (r1, r2) = (mac(1, 1), mac(1, 2));
    let host = |n: u8| mac(0, n);
    let attacker = mac(0x66, 0x66);

    // --- 0-10 s: a benign link ----------------------------------------------------------------
    // Routers advertise every 3 s, for the whole capture (R1 also on eth1's VLAN-free link).
    let mut ms = 0.0;
    while ms < 90_000.0 {
        c.put(ms, 0, &Ra::of(1, r1).frame(r1, ll(1)))?;
        c.put(ms + 500.0, 0, &Ra::of(2, r2).frame(r2, ll(2)))?;
        c.put(ms + 700.0, 1, &Ra::of(7, mac(1, 7)).frame(mac(1, 7), ll(7)))?;
        ms += 3000.0;
    }
    // Twenty hosts: DAD for the link-local and the global address, an RS, then resolve
    // each other (NS + solicited NA) every few seconds.
    for n in 1..=20u8 {
        let t = 100.0 + f64::from(n) * 20.0;
        let h = host(n);
        c.put(t, 0, &dad(h, ll(0x100 + u16::from(n))))?;
        c.put(t + 1.0, 0, &dad(h, g(n.into())))?;
        c.put(t + 2.0, 0, &rs(h, ll(0x100 + u16::from(n))))?;
    }
    for round in 0..17u32 {
        let base = 1500.0 + f64::from(round) * 5000.0;
        for n in 1..=20u8 {
            // Host 10 falls silent after 8 s (its binding goes stale).
            if n == 10 && base > 8000.0 {
                continue;
            }
            let peer = (n % 20) + 1;
            let t = base + f64::from(n) * 7.0;
            c.put(
                t,
                0,
                &ns(host(n), g(n.into()), g(peer.into()), Some(host(n))),
            )?;
            c.put(t + 0.5, 0, &na_owner(host(peer), g(peer.into()), SOL))?;
        }
    }
    // A host on eth1 and on VLAN 10 of eth0: the same address elsewhere is another host.
    c.put(1200.0, 1, &na_owner(mac(7, 1), g(1), SOL))?;
    c.put(
        1300.0,
        0,
        &na_owner(mac(10, 1), g(1), SOL).with_vlan(0x8100, 10),
    )?;
    // A benign redirect from R1.
    c.put(
        4000.0,
        0,
        &redirect(
            r1,
            ll(1),
            ll(0x105),
            Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1),
        ),
    )?;

    // --- 10 s on: attacks ---------------------------------------------------------------------
    // A new host (neighbor_new after learning).
    c.put(11_000.0, 0, &dad(host(30), g(30)))?;
    c.put(12_100.0, 0, &na_owner(host(30), g(30), UNSOL))?;
    // Spoofed unsolicited override of host 1, host 1 answers back (flip-flop), the attacker
    // again, then a third MAC, then host 1 (an older MAC: reused).
    c.put(12_000.0, 0, &na_owner(attacker, g(1), UNSOL))?;
    c.put(12_050.0, 0, &na_owner(host(1), g(1), UNSOL))?;
    c.put(12_200.0, 0, &na_owner(attacker, g(1), UNSOL))?;
    c.put(12_300.0, 0, &na_owner(mac(0x66, 0x67), g(1), UNSOL))?;
    c.put(12_400.0, 0, &na_owner(host(1), g(1), SOL))?;
    // The stale host 10 comes back with a new NIC (low).
    c.put(75_000.0, 0, &na_owner(mac(0, 0xa0), g(10), UNSOL))?;
    // Override without a target link-layer address; multicast target; R flag from a host.
    c.put(13_000.0, 0, &na(host(2), g(2), g(2), UNSOL, None))?;
    c.put(
        13_100.0,
        0,
        &na(
            attacker,
            g(0x66),
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x1234),
            UNSOL,
            Some(attacker),
        ),
    )?;
    c.put(
        13_200.0,
        0,
        &na(host(3), g(3), g(3), (true, true, true), Some(host(3))),
    )?;
    // Link-layer options that differ from the Ethernet source.
    c.put(13_300.0, 0, &ns(host(4), g(4), g(5), Some(attacker)))?;
    c.put(13_400.0, 0, &na(attacker, g(6), g(6), SOL, Some(host(6))))?;
    // DAD DoS: a new host probes three times, the attacker answers every probe.
    for k in 0..3u32 {
        let t = 14_000.0 + f64::from(k) * 4000.0;
        c.put(t, 0, &dad(host(40), g(40)))?;
        c.put(t + 20.0, 0, &na_owner(attacker, g(40), UNSOL))?;
    }
    // ... and by a foreign probe for the same tentative address.
    c.put(27_000.0, 0, &dad(host(41), g(41)))?;
    c.put(27_010.0, 0, &dad(attacker, g(41)))?;
    // A genuine duplicate: host 3 still owns its address and answers a probe for it.
    c.put(28_000.0, 0, &dad(host(42), g(3)))?;
    c.put(28_050.0, 0, &na_owner(host(3), g(3), UNSOL))?;

    // Rogue routers: a new one (repeated, so the repeats are counted), R1's address from
    // another MAC, R2 killed from another MAC.
    for k in 0..45u32 {
        let t = 30_000.0 + f64::from(k) * 1000.0;
        c.put(t, 0, &Ra::of(0x66, attacker).frame(attacker, ll(0x66)))?;
    }
    c.put(31_500.0, 0, &Ra::of(1, attacker).frame(attacker, ll(1)))?;
    let mut kill = Ra::of(2, attacker);
    kill.lifetime = 0;
    c.put(31_600.0, 0, &kill.frame(attacker, ll(2)))?;
    // R1 changes its hop limit and RDNSS (medium), then goes back.
    let mut changed = Ra::of(1, r1);
    changed.hop = 1;
    changed.rdnss = vec![Ipv6Addr::new(0x2001, 0xdb8, 0x66, 0, 0, 0, 0, 0x53)];
    changed.dnssl = vec!["evil.example".into()];
    changed.routes = vec![Ipv6Addr::new(0x2001, 0xdb8, 0x99, 0, 0, 0, 0, 0)];
    c.put(32_000.0, 0, &changed.frame(r1, ll(1)))?;
    // R2 renumbers: a second prefix (no alert learned only; low under a policy not listing it).
    let mut renum = Ra::of(2, r2);
    renum
        .prefixes
        .push((Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 0), 86400, 14400));
    c.put(33_000.0, 0, &renum.frame(r2, ll(2)))?;
    // R1's prefix with preferred > valid lifetime.
    let mut bad_life = Ra::of(1, r1);
    bad_life.prefixes[0].1 = 600;
    bad_life.prefixes[0].2 = 3600;
    c.put(34_000.0, 0, &bad_life.frame(r1, ll(1)))?;
    // A short valid lifetime (under two hours) from R1.
    let mut short = Ra::of(1, r1);
    short.prefixes[0].1 = 1800;
    short.prefixes[0].2 = 900;
    c.put(34_500.0, 0, &short.frame(r1, ll(1)))?;
    // An RA padded past what a record keeps would be cut: here a capture cut short, with a new
    // RDNSS in the part that remains.
    let mut cut = Ra::of(1, r1);
    cut.rdnss = vec![Ipv6Addr::new(0x2001, 0xdb8, 0x66, 0, 0, 0, 0, 0x53)];
    cut.dnssl = vec!["a.example".into(), "b.example".into()];
    let bytes = cut.frame(r1, ll(1)).to_bytes();
    c.raw(35_000.0, 0, &bytes[..bytes.len() - 16])?;
    // Redirect from a host.
    c.put(
        36_000.0,
        0,
        &redirect(
            host(5),
            ll(0x105),
            ll(0x66),
            Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1),
        ),
    )?;

    // Packet checks: hop limit, bogon sources, extension headers, fragments, checksum.
    let mut off_link = na_owner(host(7), g(7), UNSOL);
    off_link.ip6.hop_limit = 64;
    c.put(37_000.0, 0, &off_link)?;
    c.put(37_100.0, 0, &ns(attacker, ALL_NODES, g(8), Some(attacker)))?;
    c.put(
        37_200.0,
        0,
        &na(attacker, Ipv6Addr::LOCALHOST, g(8), UNSOL, Some(attacker)),
    )?;
    c.put(
        37_300.0,
        0,
        &ns(attacker, "::ffff:10.0.0.1".parse()?, g(8), Some(attacker)),
    )?;
    c.put(
        37_400.0,
        0,
        &na(attacker, Ipv6Addr::UNSPECIFIED, g(8), UNSOL, Some(attacker)),
    )?;
    c.put(
        37_500.0,
        0,
        &Ra::of(0x67, attacker).frame(attacker, g(0x67)),
    )?;
    // 30 bogon sources within a second: over the per-code budget.
    for k in 0..30u16 {
        let src = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0x1, 0x100 + k);
        c.put(
            38_000.0 + f64::from(k) * 10.0,
            0,
            &ns(attacker, src, g(8), Some(attacker)),
        )?;
    }
    c.put(
        39_000.0,
        0,
        &na_owner(attacker, g(9), UNSOL).with_ext_headers(&[(HOP_BY_HOP, 8, None)]),
    )?;
    c.put(
        39_100.0,
        0,
        &Ra::of(0x68, attacker)
            .frame(attacker, ll(0x68))
            .with_ext_headers(&[(DEST_OPTS, 16, None), (DEST_OPTS, 8, None)]),
    )?;
    let frag = Some(FragmentInfo {
        offset: 0,
        more: true,
        id: 0x1234,
    });
    c.put(
        39_200.0,
        0,
        &Ra::of(0x69, attacker)
            .frame(attacker, ll(0x69))
            .with_ext_headers(&[(FRAGMENT, 8, frag)]),
    )?;
    let mut bad_sum = na_owner(attacker, g(11), UNSOL).to_bytes();
    let at = 14 + 40 + 2;
    bad_sum[at] ^= 0xff;
    c.raw(39_300.0, 0, &bad_sum)?;
    // Packet too big below the minimum MTU, twice (one repeat), and a benign one.
    c.put(40_000.0, 0, &ptb(mac(1, 1), g(0xfe), 576))?;
    c.put(40_100.0, 0, &ptb(mac(1, 1), g(0xfe), 576))?;
    c.put(40_200.0, 0, &ptb(mac(1, 1), g(0xfd), 1400))?;

    // Rates: an NS flood from 60 MACs (class limit), an NA flood from one MAC (source limit).
    for k in 0..600u32 {
        let m = mac(0x70, (k % 60) as u8);
        let t = 42_000.0 + f64::from(k) * 0.8;
        c.put(t, 0, &ns(m, g(0x700 + (k % 60) as u16), g(1), Some(m)))?;
    }
    for k in 0..250u32 {
        let t = 45_000.0 + f64::from(k) * 3.0;
        c.put(t, 0, &na_owner(mac(0x71, 1), g(0x710), SOL))?;
    }
    // Neighbour-cache exhaustion: NS for 100 distinct unanswered targets within a second.
    for k in 0..100u16 {
        let t = 50_000.0 + f64::from(k) * 9.0;
        c.put(t, 0, &ns(host(12), g(12), g(0x1000 + k), Some(host(12))))?;
    }
    // An NS storm spoofing host 13's address with a random MAC per packet.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for k in 0..120u32 {
        let m = rand_mac(&mut x);
        let t = 55_000.0 + f64::from(k) * 3.0;
        c.put(t, 0, &ns(m, g(13), g(14), Some(m)))?;
    }
    // Host 15's address flip-flopping between two MACs, 100 NAs in half a second.
    for k in 0..100u32 {
        let m = if k % 2 == 0 { attacker } else { host(15) };
        let t = 60_000.0 + f64::from(k) * 5.0;
        c.put(t, 0, &na_owner(m, g(15), UNSOL))?;
    }
    // Two different attacks from one MAC within 30 s: an RA behind options, then an NA
    // spoof behind options.
    c.put(
        65_000.0,
        0,
        &Ra::of(0x6a, mac(0x66, 0x70))
            .frame(mac(0x66, 0x70), ll(0x6a))
            .with_ext_headers(&[(DEST_OPTS, 8, None)]),
    )?;
    c.put(
        77_000.0,
        0,
        &na_owner(mac(0x66, 0x70), g(16), UNSOL).with_ext_headers(&[(HOP_BY_HOP, 8, None)]),
    )?;
    // On eth1 and VLAN 10: spoofs of the hosts there.
    c.put(80_000.0, 1, &na_owner(attacker, g(1), UNSOL))?;
    c.put(
        80_100.0,
        0,
        &na_owner(attacker, g(1), UNSOL).with_vlan(0x8100, 10),
    )?;
    // A known MAC with a second link-local address.
    c.put(81_000.0, 0, &ns(host(17), ll(0x217), g(18), Some(host(17))))?;
    c.put(81_100.0, 0, &ns(host(17), ll(0x117), g(18), Some(host(17))))?;

    let mut w = PcapNgWriter::new(Vec::new())?;
    w.add_interface(Some("eth0"))?;
    w.add_interface(Some("eth1"))?;
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    // Stable: frames put at the same time keep the order the scenario gave them.
    c.frames.sort_by_key(|f| f.0);
    for (ns, ifx, bytes) in &c.frames {
        w.write(
            *ifx,
            t0 + Duration::from_nanos(*ns),
            Some(Direction::Inbound),
            bytes,
        )?;
    }
    let bytes = w.into_inner();
    std::fs::write(&out, &bytes).with_context(|| format!("writing {out}"))?;
    println!("{out}: {} frames, {} bytes", c.frames.len(), bytes.len());
    Ok(())
}
