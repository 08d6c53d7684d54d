//! Detection engine benchmark: observations per second on one core, and peak memory after
//! 1 million distinct forged MACs with the default bounds.
//!
//! Memory is measured with a counting global allocator (bytes live on the heap; the peak is
//! taken over the whole flood and reported relative to the heap before the engine was made),
//! and VmHWM from /proc/self/status is printed beside it for reference. Throughput is compared
//! with a baseline measured in the same run: decoding the same frames with `Frame::parse`
//! (what every consumer pays per packet anyway).
//!
//! Targets: >= 1 M observations/s, < 64 MiB after 1 M forged MACs. Figures go to
//! `target/bench/detect.json`.
use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    net::Ipv6Addr,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use v6probe::{
    detect::{Config, Engine},
    packet::{Packet, Seen},
    wire::{
        icmpv6::msg_type as mt, ndisc_option::Preference, EthernetAddress, Frame, Icmpv6Repr,
        Message, NdpOption, Options, Prefix,
    },
};
use v6probe_lab::ndp;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + (new - l.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: f64 = 1024.0 * 1024.0;
/// Each throughput is the best of this many runs: the machine is shared, and the best run is
/// the one least disturbed by other work.
const REPEATS: usize = 3;

fn packet(f: Frame) -> Packet {
    let bytes = f.to_bytes();
    Packet::new(seen(), Frame::parse(&bytes).expect("decodes"))
}

fn seen() -> Seen {
    Seen {
        frame: None,
        ts: UNIX_EPOCH,
        iface: Some("eth0".into()),
        dir: Some("ingress"),
        hook: "xdp",
    }
}

fn mac(a: u8, b: u16) -> EthernetAddress {
    let [h, l] = b.to_be_bytes();
    EthernetAddress([0x02, 0, 0, a, h, l])
}

fn host(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
}

fn na(eth: EthernetAddress, target: Ipv6Addr, solicited: bool) -> Frame {
    ndp::na(
        eth,
        target,
        ndp::ALL_NODES,
        target,
        (false, solicited, !solicited),
        Some(eth),
    )
}

fn ns(eth: EthernetAddress, src: Ipv6Addr, target: Ipv6Addr) -> Frame {
    ndp::ns(eth, src, target, Some(eth))
}

fn ra(eth: EthernetAddress, n: u16) -> Frame {
    ndp::icmp(
        eth,
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n),
        ndp::ALL_NODES,
        mt::ROUTER_ADVERT,
        Message::RouterAdvert {
            cur_hop_limit: 64,
            managed: false,
            other: false,
            home_agent: false,
            preference: Preference::Medium,
            proxy: false,
            reserved_flags: 0,
            router_lifetime: 1800,
            reachable_time: 0,
            retrans_timer: 0,
            options: Options::from(vec![
                NdpOption::SourceLlAddr { addr: eth },
                NdpOption::Mtu { mtu: 1500 },
                NdpOption::PrefixInfo {
                    prefix: Prefix {
                        addr: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0),
                        len: 64,
                    },
                    on_link: true,
                    autonomous: true,
                    router_addr: false,
                    dhcpv6_pd: false,
                    reserved_flags: 0,
                    valid_lifetime: 86400,
                    preferred_lifetime: 14400,
                },
                NdpOption::Rdnss {
                    lifetime: 600,
                    servers: vec![host(53)],
                },
            ]),
        },
    )
}

/// A busy benign link: 2000 hosts resolving each other (NS + solicited NA), NUD, two routers.
fn benign_mix() -> Vec<Frame> {
    let mut v = Vec::new();
    for i in 0..4000u16 {
        let a = i % 2000;
        let b = (i * 7 + 13) % 2000;
        v.push(ns(mac(1, a), host(a + 1), host(b + 1)));
        v.push(na(mac(1, b), host(b + 1), true));
        if i % 200 == 0 {
            v.push(ra(mac(9, 1), 1));
            v.push(ra(mac(9, 2), 2));
        }
    }
    v
}

/// A 3,000-byte UDP datagram from host `n`'s link-local address to another link-local
/// address, in three fragments (id `id`): what a large mDNS or DHCPv6 answer looks like on a
/// link, the benign reason fragments reach the monitor.
fn udp_fragments(n: u16, id: u32) -> Vec<Vec<u8>> {
    let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n);
    let dst = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xfb);
    let body: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let m = mac(1, n);
    body.chunks(1232)
        .enumerate()
        .map(|(i, chunk)| {
            let offset = i * 1232;
            let more = offset + chunk.len() < body.len();
            let mut f = vec![0x33, 0x33, 0, 0, 0, 0xfb];
            f.extend_from_slice(&m.0);
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&((8 + chunk.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[44, 255]);
            f.extend_from_slice(&src.octets());
            f.extend_from_slice(&dst.octets());
            f.extend_from_slice(&[17, 0]);
            f.extend_from_slice(&(((offset / 8) as u16) << 3 | u16::from(more)).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(chunk);
            f
        })
        .collect()
}

/// The benign mix as frame bytes with their decode (as the monitor decodes kernel records),
/// plus a fragmented link-local UDP datagram every 400 packets.
fn benign_frames(frames: &[Frame]) -> Vec<(Vec<u8>, Packet)> {
    let mut v = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let b = f.to_bytes();
        let p = Packet::new(seen(), Frame::parse(&b).expect("decodes"));
        v.push((b, p));
        if i % 400 == 0 {
            for b in udp_fragments((i / 400) as u16 % 2000 + 1, i as u32) {
                let p = Packet::new(seen(), Frame::parse_fragment(&b).expect("decodes"));
                v.push((b, p));
            }
        }
    }
    v
}

/// [`run`] through `Engine::observe_frame_into` (frame bytes: reassembly and header chains).
fn run_frames(
    e: &mut Engine,
    frames: &[(Vec<u8>, Packet)],
    rounds: usize,
    gap: Duration,
    t: &mut SystemTime,
) -> (f64, u64, u64) {
    let mut out = Vec::new();
    let (mut alerts, mut whole) = (0u64, 0u64);
    let start = Instant::now();
    for _ in 0..rounds {
        for (b, p) in frames {
            *t += gap;
            whole += u64::from(e.observe_frame_into(b, p, *t, &mut out).is_some());
            alerts += out.len() as u64;
            out.clear();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    ((rounds * frames.len()) as f64 / secs, alerts, whole)
}

fn epoch() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Runs the engine over `packets` cycled `rounds` times, `gap` apart in packet time from `t`
/// (which keeps running across calls: packet time never goes back).
fn run(
    e: &mut Engine,
    packets: &[Packet],
    rounds: usize,
    gap: Duration,
    t: &mut SystemTime,
) -> (f64, u64) {
    let mut out = Vec::new();
    let mut alerts = 0u64;
    let start = Instant::now();
    for _ in 0..rounds {
        for p in packets {
            *t += gap;
            e.observe_into(p, *t, &mut out);
            alerts += out.len() as u64;
            out.clear();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    ((rounds * packets.len()) as f64 / secs, alerts)
}

/// `n` forged NAs, `gap` apart in packet time, each with a new random MAC and target.
fn forged(e: &mut Engine, template: &Packet, n: u64, gap: Duration) -> (f64, u64) {
    let mut p = template.clone();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::new();
    let mut alerts = 0u64;
    let mut t = epoch();
    let start = Instant::now();
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let r = x.to_be_bytes();
        let m = EthernetAddress([0x02, r[0], r[1], r[2], r[3], r[4]]);
        let target = Ipv6Addr::new(
            0x2001,
            0xdb8,
            1,
            0,
            r[5].into(),
            r[6].into(),
            (i >> 16) as u16,
            i as u16,
        );
        p.frame.eth.src = m;
        p.frame.ip6.src = target;
        if let Some(Icmpv6Repr {
            message:
                Message::NeighborAdvert {
                    target: tg,
                    options,
                    ..
                },
            ..
        }) = p.frame.icmp6.as_mut()
        {
            *tg = target;
            options.list[0] = NdpOption::TargetLlAddr { addr: m };
        }
        t += gap;
        e.observe_into(&p, t, &mut out);
        alerts += out.len() as u64;
        out.clear();
    }
    (n as f64 / start.elapsed().as_secs_f64(), alerts)
}

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let mut bench = v6probe_lab::bench::Bench::start("detect");
    // 1. Baseline: decoding the benign mix from bytes.
    let frames = benign_mix();
    let bytes: Vec<Vec<u8>> = frames.iter().map(Frame::to_bytes).collect();
    let rounds = 40;
    let start = Instant::now();
    for _ in 0..rounds {
        for b in &bytes {
            black_box(Frame::parse(black_box(b)).ok());
        }
    }
    let mut decode_rate = (rounds * bytes.len()) as f64 / start.elapsed().as_secs_f64();
    for _ in 1..REPEATS {
        let start = Instant::now();
        for _ in 0..rounds {
            for b in &bytes {
                black_box(Frame::parse(black_box(b)).ok());
            }
        }
        decode_rate =
            decode_rate.max((rounds * bytes.len()) as f64 / start.elapsed().as_secs_f64());
    }

    // 2. Engine on the benign mix, 400 packets/s of packet time (under every flood limit),
    //    after a 30 s learning period that covers the whole mix once.
    let packets: Vec<Packet> = frames.into_iter().map(packet).collect();
    let mut e = Engine::new(
        Config {
            learn: Duration::from_secs(30),
            ..Default::default()
        },
        None,
    );
    let mut t = epoch();
    run(&mut e, &packets, 1, Duration::from_micros(2500), &mut t); // learn + warm up
    let mut benign_rate = 0f64;
    let mut benign_alerts = 0;
    for _ in 0..REPEATS {
        let (r, a) = run(
            &mut e,
            &packets,
            rounds,
            Duration::from_micros(2500),
            &mut t,
        );
        benign_rate = benign_rate.max(r);
        benign_alerts += a;
    }

    let benign_by_code = e.stats().alerts;

    // 2b. The same, as the monitor runs it: frame bytes through observe_frame_into, so every
    //     frame passes the reassembly and header-chain checks, with a fragmented link-local
    //     UDP datagram (3 fragments, reassembled) every 400 packets.
    let with_frags = benign_frames(&benign_mix());
    let n_frags = with_frags.len() - packets.len();
    let mut e = Engine::new(
        Config {
            learn: Duration::from_secs(30),
            ..Default::default()
        },
        None,
    );
    let mut t = epoch();
    run_frames(&mut e, &with_frags, 1, Duration::from_micros(2500), &mut t);
    let (mut reasm_rate, mut reasm_alerts, mut reasm_whole) = (0f64, 0, 0);
    for _ in 0..REPEATS {
        let (r, a, w) = run_frames(
            &mut e,
            &with_frags,
            rounds,
            Duration::from_micros(2500),
            &mut t,
        );
        reasm_rate = reasm_rate.max(r);
        reasm_alerts += a;
        reasm_whole += w;
    }
    let reasm_stats = e.stats();
    // 3. 1 M unsolicited override NAs, a new random MAC and target each, default bounds:
    //    (a) a flood at 1 M/s of packet time (admission control keeps new bindings out);
    //    (b) a churn at 400/s of packet time, under every flood limit, so the tables fill to
    //        their bounds and evict: the worst case for memory.
    // Memory: live heap before the engines vs. the peak over both runs.
    let template = packet(na(mac(7, 1), host(1), false));
    let base_live = LIVE.load(Ordering::Relaxed);
    PEAK.store(base_live, Ordering::Relaxed);
    let n = 1_000_000u64;
    let (mut flood_rate, mut churn_rate) = (0f64, 0f64);
    let (mut alerts, mut churn_alerts) = (0, 0);
    let mut flood_stats = Default::default();
    let mut e = Engine::new(Config::default(), None);
    for _ in 0..REPEATS {
        let mut f = Engine::new(Config::default(), None);
        let (r, a) = forged(&mut f, &template, n, Duration::from_micros(1));
        flood_rate = flood_rate.max(r);
        alerts = a;
        flood_stats = f.stats();
        drop(f);
        e = Engine::new(Config::default(), None);
        let (r, a) = forged(&mut e, &template, n, Duration::from_micros(2500));
        churn_rate = churn_rate.max(r);
        churn_alerts = a;
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base_live);
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(base_live);
    let stats = e.stats();
    let hwm = vm_hwm_kib();

    println!("detect engine (one core, release build, best of {REPEATS} runs)");
    println!("{:<44} {:>14}", "figure", "value");
    println!(
        "{:<44} {:>14.0}",
        "decode baseline (Frame::parse), packets/s", decode_rate
    );
    println!(
        "{:<44} {:>14.0}",
        "engine, benign mix, observations/s", benign_rate
    );
    println!(
        "{:<44} {:>14.2}",
        "  ratio to decode baseline",
        benign_rate / decode_rate
    );
    println!(
        "{:<44} {:>14}",
        "  alerts",
        format!("{benign_alerts} {benign_by_code:?}")
    );
    println!(
        "{:<44} {:>14.0}",
        "engine, benign + reassembly (frame bytes), obs/s", reasm_rate
    );
    println!(
        "{:<44} {:>14.2}",
        "  ratio to the benign mix without",
        reasm_rate / benign_rate
    );
    println!(
        "{:<44} {:>14}",
        "  fragments per round / reassembled / alerts",
        format!(
            "{n_frags} / {} / {reasm_alerts}",
            reasm_stats.reassembly.reassembled
        )
    );
    println!(
        "{:<44} {:>14.0}",
        "engine, 1M forged-MAC NA flood, obs/s", flood_rate
    );
    println!(
        "{:<44} {:>14.2}",
        "  ratio to decode baseline",
        flood_rate / decode_rate
    );
    println!("{:<44} {:>14}", "  alerts printed", alerts);
    println!(
        "{:<44} {:>14}",
        "  bindings not admitted (flooding)", flood_stats.bindings_not_admitted
    );
    println!(
        "{:<44} {:>14.0}",
        "engine, 1M forged-MAC NA churn (400/s), obs/s", churn_rate
    );
    println!(
        "{:<44} {:>14.2}",
        "  ratio to decode baseline",
        churn_rate / decode_rate
    );
    println!("{:<44} {:>14}", "  alerts printed", churn_alerts);
    println!(
        "{:<44} {:>14.1}",
        "peak engine heap, 1M MACs (flood+churn), MiB",
        peak as f64 / MIB
    );
    println!(
        "{:<44} {:>14.1}",
        "engine heap held at the end, MiB",
        held as f64 / MIB
    );
    if let Some(h) = hwm {
        println!(
            "{:<44} {:>14.1}",
            "process VmHWM (whole bench), MiB",
            h as f64 / 1024.0
        );
    }
    println!(
        "{:<44} {:>14}",
        "churn: neighbours kept / evicted",
        format!("{}/{}", stats.neighbors, stats.evictions["neighbors"])
    );
    use v6probe_lab::bench::Bound;
    bench.target("benign observations/s", benign_rate, Bound::AtLeast(1e6));
    bench.target(
        "benign with reassembly observations/s",
        reasm_rate,
        Bound::AtLeast(1e6),
    );
    bench.target(
        "forged-MAC flood observations/s",
        flood_rate,
        Bound::AtLeast(1e6),
    );
    bench.target(
        "full-table churn observations/s",
        churn_rate,
        Bound::AtLeast(1e6),
    );
    bench.target(
        "peak engine heap after 1 M MACs, MiB",
        peak as f64 / MIB,
        Bound::AtMost(64.0),
    );
    let figures = serde_json::json!({
        "decode_baseline_pps": decode_rate,
        "engine_benign_obs_per_s": benign_rate,
        "engine_benign_ratio_to_decode": benign_rate / decode_rate,
        "engine_benign_alerts": benign_alerts,
        "engine_benign_alerts_by_code": benign_by_code,
        "engine_benign_reassembly_obs_per_s": reasm_rate,
        "engine_benign_reassembly_ratio_to_benign": reasm_rate / benign_rate,
        "engine_benign_reassembly_fragments_per_round": n_frags,
        "engine_benign_reassembly_reassembled": reasm_stats.reassembly.reassembled,
        "engine_benign_reassembly_ndp_packets_returned": reasm_whole,
        "engine_benign_reassembly_alerts": reasm_alerts,
        "engine_benign_reassembly_stats": reasm_stats.reassembly,
        "engine_flood_obs_per_s": flood_rate,
        "engine_flood_ratio_to_decode": flood_rate / decode_rate,
        "flood_distinct_macs": n,
        "flood_alerts_printed": alerts,
        "flood_alerts_by_code": flood_stats.alerts,
        "flood_suppressed_by_code": flood_stats.suppressed,
        "flood_bindings_not_admitted": flood_stats.bindings_not_admitted,
        "engine_churn_obs_per_s": churn_rate,
        "engine_churn_ratio_to_decode": churn_rate / decode_rate,
        "churn_alerts_printed": churn_alerts,
        "churn_alerts_by_code": stats.alerts,
        "peak_engine_heap_mib": peak as f64 / MIB,
        "held_engine_heap_mib": held as f64 / MIB,
        "process_vm_hwm_mib": hwm.map(|h| h as f64 / 1024.0),
        "memory_method": "counting global allocator: peak live heap bytes over the flood and churn runs minus live bytes before the engines were created",
        "neighbors_kept": stats.neighbors,
        "neighbors_evicted": stats.evictions["neighbors"],
        "evictions": stats.evictions,
        "runs_per_figure": REPEATS,
        "throughput_method": "best of runs_per_figure runs on a shared 2-core machine",
    });
    bench.finish(&figures);
}
