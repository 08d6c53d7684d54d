//! Codec throughput on one core, messages per second, for NS, NA and an RA with 3 PIO + RDNSS +
//! DNSSL + MTU, against smoltcp on the same frames, measured in the same run, rounds interleaved.
//!
//! Two comparisons:
//! - `like_for_like`: the same work on both sides. Ethernet -> IPv6 -> ICMPv6 with the checksum
//!   verified -> the NDP fixed fields -> every option parsed, in order, to a typed value and
//!   consumed. smoltcp: its wire views and reprs, its option iterator (`NdiscOption` +
//!   `NdiscOptionRepr::parse`) driven to the end of the options area (RDNSS and DNSSL come out
//!   as `Unknown`). v6probe: the borrowed decode (`FrameRef`, `OptionsRef`, `NdpOptionRef`; RDNSS
//!   addresses read, DNSSL names checked), which allocates nothing. Target: ratio >= 1.0.
//! - `full_decode_validate`: v6probe's owned decode every consumer uses (every option to owned
//!   values, DNS names to strings) plus the RFC checks, against smoltcp's `Icmpv6Repr::parse`
//!   (which keeps the last PIO and skips RDNSS / DNSSL). Not the same work: shown for what the
//!   monitor pays when it prints. Target: >= 5 M NS/s.
//!
//! Method: each side runs for about `ROUND_TIME` per round, the two sides alternating (which
//! goes first swaps every round), `ROUNDS` rounds. Time is the thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`), so time the host takes away from the thread counts for neither
//! side. A rate is the median over the rounds; a ratio is the median of the per-round ratios
//! (each round's two sides ran back to back), with its quartiles, as the xdp benchmark does.
//!
//! Prints the table with ratios and writes target/bench/codec.json with `meta`.
use std::{
    hint::black_box,
    net::Ipv6Addr,
    time::{Duration, Instant},
};

use serde::Serialize;
use smoltcp::{
    phy::ChecksumCapabilities,
    wire::{
        EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Message, Icmpv6Packet, IpProtocol,
        Ipv6Packet, Ipv6Repr, NdiscOption, NdiscOptionRepr,
    },
};
use v6probe::wire::{
    ndisc_option::Preference, EthernetAddress, Frame, FrameRef, Icmpv6Repr, Icmpv6Type, Message,
    MessageRef, NdpOption, NdpOptionRef, Options, Prefix,
};

const ROUNDS: usize = 15;
const ROUND_TIME: Duration = Duration::from_millis(120);
const WARM_UP: Duration = Duration::from_millis(500);

fn ip(s: &str) -> Ipv6Addr {
    s.parse().expect("address")
}

fn mac(last: u8) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, 0, last])
}

fn frame(src: &str, dst: &str, eth_dst: EthernetAddress, m: Icmpv6Repr) -> Vec<u8> {
    Frame::new(mac(1), eth_dst, ip(src), ip(dst), 255, m).to_bytes()
}

fn opts(list: Vec<NdpOption>) -> Options {
    Options { list, error: None }
}

fn messages() -> Vec<(&'static str, Vec<u8>)> {
    let sol = EthernetAddress([0x33, 0x33, 0xff, 0, 0, 2]);
    let ns = Icmpv6Repr::new(
        Icmpv6Type::NeighborSolicit,
        0,
        Message::NeighborSolicit {
            reserved: 0,
            target: ip("fe80::2"),
            options: opts(vec![NdpOption::SourceLlAddr { addr: mac(1) }]),
        },
    );
    let na = Icmpv6Repr::new(
        Icmpv6Type::NeighborAdvert,
        0,
        Message::NeighborAdvert {
            router: false,
            solicited: true,
            override_: true,
            reserved: 0,
            target: ip("fe80::2"),
            options: opts(vec![NdpOption::TargetLlAddr { addr: mac(2) }]),
        },
    );
    let pio = |p: &str| NdpOption::PrefixInfo {
        prefix: Prefix {
            addr: ip(p),
            len: 64,
        },
        on_link: true,
        autonomous: true,
        router_addr: false,
        dhcpv6_pd: false,
        reserved_flags: 0,
        valid_lifetime: 86400,
        preferred_lifetime: 14400,
    };
    let ra = Icmpv6Repr::new(
        Icmpv6Type::RouterAdvert,
        0,
        Message::RouterAdvert {
            cur_hop_limit: 64,
            managed: false,
            other: true,
            home_agent: false,
            preference: Preference::Medium,
            proxy: false,
            reserved_flags: 0,
            router_lifetime: 1800,
            reachable_time: 0,
            retrans_timer: 0,
            options: opts(vec![
                pio("2001:db8:1::"),
                pio("2001:db8:2::"),
                pio("fd00:1::"),
                NdpOption::Rdnss {
                    lifetime: 600,
                    servers: vec![ip("2001:db8::53"), ip("2001:db8::54")],
                },
                NdpOption::Dnssl {
                    lifetime: 600,
                    domains: vec!["example.com".into(), "lab.example.org".into()],
                    length: 0,
                },
                NdpOption::Mtu { mtu: 1500 },
            ]),
        },
    );
    vec![
        ("NS", frame("fe80::1", "ff02::1:ff00:2", sol, ns)),
        ("NA", frame("fe80::2", "fe80::1", mac(1), na)),
        (
            "RA 3xPIO+RDNSS+DNSSL+MTU",
            frame(
                "fe80::1",
                "ff02::1",
                EthernetAddress([0x33, 0x33, 0, 0, 0, 1]),
                ra,
            ),
        ),
    ]
}

/// v6probe, like for like: the borrowed decode, every option parsed and consumed.
#[inline(never)]
fn ours_view(b: &[u8]) -> usize {
    let Ok(f) = FrameRef::parse(b) else {
        return usize::MAX;
    };
    if f.checksum_ok != Some(true) {
        return usize::MAX;
    }
    let Some(m) = f.icmp6 else {
        return usize::MAX;
    };
    // The fixed fields (what smoltcp's accessors read).
    match m.message {
        MessageRef::NeighborSolicit { target, .. } => {
            black_box(target);
        }
        MessageRef::NeighborAdvert {
            router,
            solicited,
            override_,
            target,
            ..
        } => {
            black_box((router, solicited, override_, target));
        }
        MessageRef::RouterAdvert {
            cur_hop_limit,
            managed,
            other,
            router_lifetime,
            reachable_time,
            retrans_timer,
            ..
        } => {
            black_box((
                cur_hop_limit,
                managed,
                other,
                router_lifetime,
                reachable_time,
                retrans_timer,
            ));
        }
        _ => return usize::MAX,
    }
    let Some(options) = m.options() else {
        return usize::MAX;
    };
    let mut n = 0;
    for o in options.iter() {
        let Ok(o) = o else { return usize::MAX };
        if let NdpOptionRef::Rdnss { servers, .. } = o {
            for a in servers.iter() {
                black_box(a);
            }
        }
        black_box(&o);
        n += 1;
    }
    n
}

/// smoltcp's Ethernet -> IPv6 views and reprs, and the ICMPv6 view.
#[inline(always)]
fn smol_headers(b: &[u8]) -> Option<(Ipv6Repr, Icmpv6Packet<&[u8]>)> {
    let eth = EthernetFrame::new_checked(b).ok()?;
    let er = EthernetRepr::parse(&eth).ok()?;
    if er.ethertype != EthernetProtocol::Ipv6 {
        return None;
    }
    let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
    let ir = Ipv6Repr::parse(&ip).ok()?;
    let ic = Icmpv6Packet::new_checked(ip.payload()).ok()?;
    Some((ir, ic))
}

/// smoltcp, like for like: wire views and reprs, the checksum, the fixed fields, and its option
/// iterator driven to the end (each option parsed by `NdiscOptionRepr::parse` and consumed).
#[inline(never)]
fn smol_walk(b: &[u8]) -> usize {
    let Some((ir, ic)) = smol_headers(b) else {
        return usize::MAX;
    };
    if ir.next_header != IpProtocol::Icmpv6 {
        return usize::MAX;
    }
    if !ic.verify_checksum(&ir.src_addr, &ir.dst_addr) {
        return usize::MAX;
    }
    let fixed = match ic.msg_type() {
        Icmpv6Message::NeighborSolicit => {
            black_box(ic.target_addr());
            24
        }
        Icmpv6Message::NeighborAdvert => {
            black_box((ic.neighbor_flags(), ic.target_addr()));
            24
        }
        Icmpv6Message::RouterAdvert => {
            black_box((
                ic.current_hop_limit(),
                ic.router_flags(),
                ic.router_lifetime(),
                ic.reachable_time(),
                ic.retrans_time(),
            ));
            16
        }
        _ => return usize::MAX,
    };
    let Some(mut rest) = ic.into_inner().get(fixed..) else {
        return usize::MAX;
    };
    let mut n = 0;
    while !rest.is_empty() {
        let Ok(opt) = NdiscOption::new_checked(rest) else {
            return usize::MAX;
        };
        let len = opt.data_len() as usize * 8;
        match NdiscOptionRepr::parse(&opt) {
            Ok(r) => {
                black_box(&r);
            }
            Err(_) => return usize::MAX,
        }
        n += 1;
        rest = &rest[len..];
    }
    n
}

/// v6probe, full: the owned decode every consumer uses, then the RFC checks.
#[inline(never)]
fn ours_full(b: &[u8]) -> usize {
    match Frame::parse(b) {
        Ok(f) => {
            let v = f.validate();
            let n = f
                .icmp6
                .as_ref()
                .and_then(|m| m.options())
                .map_or(0, |o| o.list.len());
            black_box(&f);
            black_box(&v);
            n + v.len()
        }
        Err(_) => usize::MAX,
    }
}

/// smoltcp, its own decode: Ethernet -> IPv6 -> ICMPv6 (checksum verified) -> NDP repr.
#[inline(never)]
fn smol_repr(b: &[u8]) -> usize {
    let caps = ChecksumCapabilities::default();
    let Some((ir, ic)) = smol_headers(b) else {
        return usize::MAX;
    };
    match smoltcp::wire::Icmpv6Repr::parse(&ir.src_addr, &ir.dst_addr, &ic, &caps) {
        Ok(r) => {
            black_box(&r);
            1
        }
        Err(_) => usize::MAX,
    }
}

/// The calling thread's CPU time in seconds.
fn thread_cpu_s() -> f64 {
    v6probe_lab::bench::thread_cpu_ns() as f64 * 1e-9
}

/// Messages per second of the thread's CPU time in one round of `iters` messages.
fn round(f: fn(&[u8]) -> usize, b: &[u8], iters: u64) -> f64 {
    let start = thread_cpu_s();
    let mut acc = 0usize;
    for _ in 0..iters {
        acc = acc.wrapping_add(f(black_box(b)));
    }
    black_box(acc);
    iters as f64 / (thread_cpu_s() - start)
}

/// Iterations for about `ROUND_TIME` of the thread's CPU time.
fn calibrate(f: fn(&[u8]) -> usize, b: &[u8]) -> u64 {
    let mut n = 1000u64;
    loop {
        let start = thread_cpu_s();
        for _ in 0..n {
            black_box(f(black_box(b)));
        }
        let t = thread_cpu_s() - start;
        if t >= ROUND_TIME.as_secs_f64() / 8.0 {
            return ((n as f64) * ROUND_TIME.as_secs_f64() / t) as u64;
        }
        n *= 4;
    }
}

#[derive(Serialize)]
struct Figure {
    comparison: &'static str,
    message: &'static str,
    bytes: usize,
    v6probe_msgs_per_s: f64,
    v6probe_ns_per_msg: f64,
    smoltcp_msgs_per_s: f64,
    smoltcp_ns_per_msg: f64,
    /// v6probe rate / smoltcp rate in the same round, median over the rounds (>= 1: v6probe
    /// as fast or faster).
    ratio: f64,
    /// Quartiles of the per-round ratios.
    ratio_p25: f64,
    ratio_p75: f64,
    /// The ratio of the two sides' median rates (the statistic before per-round ratios).
    ratio_of_medians: f64,
    /// Options parsed per message (like for like, the same on both sides), or options plus
    /// findings (full decode).
    v6probe_items: usize,
}

#[derive(Serialize)]
struct Report {
    rounds: usize,
    round_s: f64,
    statistic: &'static str,
    figures: Vec<Figure>,
    like_for_like_target_ratio: f64,
    like_for_like_target_met: bool,
    target_ns_per_s: f64,
    ns_target_met: bool,
}

use v6probe_lab::bench::quantile;

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

type Decoder = fn(&[u8]) -> usize;

/// The comparisons: name, v6probe's side, smoltcp's side.
const COMPARISONS: [(&str, Decoder, Decoder); 2] = [
    ("like_for_like", ours_view, smol_walk),
    ("full_decode_validate", ours_full, smol_repr),
];

fn main() {
    // `cargo test` runs benches with --bench absent: keep that quick, but check that both sides
    // of each comparison decode every frame and (like for like) parse the same options.
    if !std::env::args().any(|a| a == "--bench") {
        for (name, b) in messages() {
            assert_ne!(ours_full(&b), usize::MAX, "{name}: v6probe cannot decode");
            assert_eq!(smol_repr(&b), 1, "{name}: smoltcp cannot decode");
            let (o, s) = (ours_view(&b), smol_walk(&b));
            assert_ne!(o, usize::MAX, "{name}: v6probe view");
            assert_eq!(o, s, "{name}: options parsed, v6probe vs smoltcp");
        }
        println!("codec bench: frames decode (run `cargo bench --bench codec` for figures)");
        return;
    }
    // Profiling aid: `V6P_CODEC_PROFILE=RA valgrind --tool=callgrind ... --bench` runs each
    // side of each comparison on that message for 3 s (instruction counts per call come from
    // the call counts callgrind reports for ours_view, smol_walk, ours_full, smol_repr).
    if let Ok(only) = std::env::var("V6P_CODEC_PROFILE") {
        for (name, b) in messages()
            .into_iter()
            .filter(|m| m.0.starts_with(only.as_str()))
        {
            for (cmp, ours, smol) in COMPARISONS {
                for (side, f) in [("v6probe", ours), ("smoltcp", smol)] {
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < Duration::from_secs(3) {
                        for _ in 0..1_000 {
                            black_box(f(black_box(&b)));
                        }
                        n += 1_000;
                    }
                    println!(
                        "{name} {cmp} {side}: {:.0} msg/s",
                        n as f64 / start.elapsed().as_secs_f64()
                    );
                }
            }
        }
        return;
    }
    let mut bench = v6probe_lab::bench::Bench::start("codec");
    // Warm-up, not measured: every decoder on every message, so the first comparison does not
    // also pay for cold caches, page faults and the CPU leaving an idle state.
    let warm = Instant::now();
    while warm.elapsed() < WARM_UP {
        for (_, ours, smol) in COMPARISONS {
            for (_, b) in messages() {
                for _ in 0..10_000 {
                    black_box(ours(black_box(&b)));
                    black_box(smol(black_box(&b)));
                }
            }
        }
    }
    let mut figures = Vec::new();
    for (cmp, ours, smol) in COMPARISONS {
        for (name, b) in messages() {
            let items = ours(&b);
            assert_ne!(items, usize::MAX, "{name}: v6probe cannot decode");
            assert_ne!(smol(&b), usize::MAX, "{name}: smoltcp cannot decode");
            let (io, is) = (calibrate(ours, &b), calibrate(smol, &b));
            let (mut o, mut s, mut r) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..ROUNDS {
                let (ro, rs) = if i % 2 == 0 {
                    let ro = round(ours, &b, io);
                    (ro, round(smol, &b, is))
                } else {
                    let rs = round(smol, &b, is);
                    (round(ours, &b, io), rs)
                };
                o.push(ro);
                s.push(rs);
                r.push(ro / rs);
            }
            let ratio = median(&r);
            let (o, s) = (median(&o), median(&s));
            figures.push(Figure {
                comparison: cmp,
                message: name,
                bytes: b.len(),
                v6probe_msgs_per_s: o.round(),
                v6probe_ns_per_msg: r2(1e9 / o),
                smoltcp_msgs_per_s: s.round(),
                smoltcp_ns_per_msg: r2(1e9 / s),
                ratio: r2(ratio),
                ratio_p25: r2(quantile(&r, 0.25)),
                ratio_p75: r2(quantile(&r, 0.75)),
                ratio_of_medians: r2(o / s),
                v6probe_items: items,
            });
        }
    }
    println!();
    println!(
        "Codec: messages per CPU second, one core, median of {ROUNDS} rounds (interleaved); \
         ratio: median of per-round ratios [quartiles]"
    );
    println!(
        "{:<21} {:<26} {:>6} {:>14} {:>8} {:>14} {:>8} {:>7} {:>13}",
        "comparison",
        "message",
        "bytes",
        "v6probe msg/s",
        "ns/msg",
        "smoltcp msg/s",
        "ns/msg",
        "ratio",
        "[p25..p75]"
    );
    for f in &figures {
        println!(
            "{:<21} {:<26} {:>6} {:>14.0} {:>8.1} {:>14.0} {:>8.1} {:>7.2} {:>13}",
            f.comparison,
            f.message,
            f.bytes,
            f.v6probe_msgs_per_s,
            f.v6probe_ns_per_msg,
            f.smoltcp_msgs_per_s,
            f.smoltcp_ns_per_msg,
            f.ratio,
            format!("[{:.2}..{:.2}]", f.ratio_p25, f.ratio_p75)
        );
    }
    let ns_rate = figures
        .iter()
        .find(|f| f.comparison == "full_decode_validate" && f.message == "NS")
        .map_or(0.0, |f| f.v6probe_msgs_per_s);
    let like = figures.iter().filter(|f| f.comparison == "like_for_like");
    let like_met = like.clone().all(|f| f.ratio >= 1.0);
    let worst = like.map(|f| f.ratio).fold(f64::INFINITY, f64::min);
    let report = Report {
        rounds: ROUNDS,
        round_s: ROUND_TIME.as_secs_f64(),
        statistic: "thread CPU time (CLOCK_THREAD_CPUTIME_ID); rates: median of rounds; \
                    ratios: median of per-round ratios (the two sides back to back, order \
                    swapped every round)",
        like_for_like_target_ratio: 1.0,
        like_for_like_target_met: like_met,
        target_ns_per_s: 5e6,
        ns_target_met: ns_rate >= 5e6,
        figures,
    };
    println!(
        "targets: like for like >= 1.0x smoltcp on every message: {} (lowest {worst:.2}x); \
         full decode + validate >= 5 M NS/s: {} ({:.2} M)",
        if like_met { "met" } else { "MISSED" },
        if report.ns_target_met {
            "met"
        } else {
            "MISSED"
        },
        ns_rate / 1e6,
    );
    for f in report
        .figures
        .iter()
        .filter(|f| f.comparison == "like_for_like")
    {
        bench.target(
            format!(
                "like for like, {}: v6probe / smoltcp messages per second",
                f.message
            ),
            f.ratio,
            v6probe_lab::bench::Bound::AtLeast(1.0),
        );
    }
    bench.target(
        "full decode + validate: NS messages per second",
        ns_rate,
        v6probe_lab::bench::Bound::AtLeast(5e6),
    );
    bench.finish(&report);
}
