//! Codec throughput: parse + validate of whole Ethernet frames on one core, messages per
//! second, for NS, NA and an RA with 3 PIO + RDNSS + DNSSL + MTU; smoltcp's parser on the same
//! frames (Ethernet -> IPv6 -> ICMPv6 with checksum -> NDP) as the baseline, measured in the
//! same run, rounds interleaved. smoltcp keeps only the last PIO and skips RDNSS / DNSSL;
//! v6probe keeps every option (DNS names decoded to strings) and runs the RFC checks.
//!
//! Prints a table with ratios and writes target/bench/codec.json.
//! Targets: v6probe at least as fast as smoltcp per message; >= 5 M NS/s.
use std::{
    hint::black_box,
    net::Ipv6Addr,
    time::{Duration, Instant},
};

use serde::Serialize;
use smoltcp::{
    phy::ChecksumCapabilities,
    wire::{EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Ipv6Packet, Ipv6Repr},
};
use v6probe::wire::{
    ndisc_option::Preference, EthernetAddress, Frame, Icmpv6Repr, Icmpv6Type, Message, NdpOption,
    Options, Prefix,
};

const ROUNDS: usize = 7;
const ROUND_TIME: Duration = Duration::from_millis(250);

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

/// v6probe: the whole-frame decode every consumer uses, then the RFC checks.
#[inline(never)]
fn ours(b: &[u8]) -> usize {
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

/// smoltcp: Ethernet -> IPv6 -> ICMPv6 (checksum verified) -> NDP repr.
#[inline(never)]
fn smol(b: &[u8]) -> usize {
    let caps = ChecksumCapabilities::default();
    let Ok(eth) = EthernetFrame::new_checked(b) else {
        return usize::MAX;
    };
    let Ok(er) = EthernetRepr::parse(&eth) else {
        return usize::MAX;
    };
    if er.ethertype != EthernetProtocol::Ipv6 {
        return usize::MAX;
    }
    let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
        return usize::MAX;
    };
    let Ok(ir) = Ipv6Repr::parse(&ip) else {
        return usize::MAX;
    };
    let Ok(ic) = Icmpv6Packet::new_checked(ip.payload()) else {
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

/// Messages per second in one round of about `ROUND_TIME`.
fn round(f: fn(&[u8]) -> usize, b: &[u8], iters: u64) -> f64 {
    let start = Instant::now();
    let mut acc = 0usize;
    for _ in 0..iters {
        acc = acc.wrapping_add(f(black_box(b)));
    }
    black_box(acc);
    iters as f64 / start.elapsed().as_secs_f64()
}

/// Iterations for about `ROUND_TIME`.
fn calibrate(f: fn(&[u8]) -> usize, b: &[u8]) -> u64 {
    let mut n = 1000u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f(black_box(b)));
        }
        let t = start.elapsed();
        if t >= ROUND_TIME / 8 {
            return ((n as f64) * ROUND_TIME.as_secs_f64() / t.as_secs_f64()) as u64;
        }
        n *= 4;
    }
}

#[derive(Serialize)]
struct Figure {
    message: &'static str,
    bytes: usize,
    v6probe_msgs_per_s: f64,
    v6probe_ns_per_msg: f64,
    smoltcp_msgs_per_s: f64,
    smoltcp_ns_per_msg: f64,
    /// v6probe rate / smoltcp rate (>= 1: v6probe as fast or faster).
    ratio: f64,
    v6probe_options: usize,
}

#[derive(Serialize)]
struct Report {
    rounds: usize,
    statistic: &'static str,
    figures: Vec<Figure>,
    target_ns_per_s: f64,
    ns_target_met: bool,
    all_at_least_smoltcp: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn main() {
    // `cargo test` runs benches with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        for (name, b) in messages() {
            assert_ne!(ours(&b), usize::MAX, "{name}: v6probe cannot decode");
            assert_eq!(smol(&b), 1, "{name}: smoltcp cannot decode");
        }
        println!("codec bench: frames decode (run `cargo bench --bench codec` for figures)");
        return;
    }
    // Profiling aid: `V6P_CODEC_PROFILE=NS perf record ... --bench` runs only v6probe's
    // decode of that message for 3 s.
    if let Ok(only) = std::env::var("V6P_CODEC_PROFILE") {
        for (name, b) in messages()
            .into_iter()
            .filter(|m| m.0.starts_with(only.as_str()))
        {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_secs(3) {
                for _ in 0..10_000 {
                    black_box(ours(black_box(&b)));
                }
                n += 10_000;
            }
            println!(
                "{name}: {:.0} msg/s",
                n as f64 / start.elapsed().as_secs_f64()
            );
        }
        return;
    }
    let mut figures = Vec::new();
    for (name, b) in messages() {
        let n_opts = ours(&b);
        assert_ne!(n_opts, usize::MAX, "{name}: v6probe cannot decode");
        assert_eq!(smol(&b), 1, "{name}: smoltcp cannot decode");
        let (io, is) = (calibrate(ours, &b), calibrate(smol, &b));
        let (mut o, mut s) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            o.push(round(ours, &b, io));
            s.push(round(smol, &b, is));
        }
        let (o, s) = (median(o), median(s));
        figures.push(Figure {
            message: name,
            bytes: b.len(),
            v6probe_msgs_per_s: o.round(),
            v6probe_ns_per_msg: r2(1e9 / o),
            smoltcp_msgs_per_s: s.round(),
            smoltcp_ns_per_msg: r2(1e9 / s),
            ratio: r2(o / s),
            v6probe_options: n_opts,
        });
    }
    println!();
    println!(
        "Codec: parse + validate per message, one core, median of {ROUNDS} rounds (interleaved)"
    );
    println!(
        "{:<26} {:>6} {:>14} {:>10} {:>14} {:>10} {:>8}",
        "message", "bytes", "v6probe msg/s", "ns/msg", "smoltcp msg/s", "ns/msg", "ratio"
    );
    for f in &figures {
        println!(
            "{:<26} {:>6} {:>14.0} {:>10.1} {:>14.0} {:>10.1} {:>8.2}",
            f.message,
            f.bytes,
            f.v6probe_msgs_per_s,
            f.v6probe_ns_per_msg,
            f.smoltcp_msgs_per_s,
            f.smoltcp_ns_per_msg,
            f.ratio
        );
    }
    let ns_rate = figures[0].v6probe_msgs_per_s;
    let report = Report {
        rounds: ROUNDS,
        statistic: "median",
        target_ns_per_s: 5e6,
        ns_target_met: ns_rate >= 5e6,
        all_at_least_smoltcp: figures.iter().all(|f| f.ratio >= 1.0),
        figures,
    };
    println!(
        "targets: >= 5 M NS/s: {} ({:.2} M); at least smoltcp's rate on every message: {}",
        if report.ns_target_met {
            "met"
        } else {
            "MISSED"
        },
        ns_rate / 1e6,
        if report.all_at_least_smoltcp {
            "met"
        } else {
            "MISSED"
        }
    );
    v6probe_lab::write_bench_figures("codec", &report).expect("target/bench");
}
