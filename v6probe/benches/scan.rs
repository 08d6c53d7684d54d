//! NS scan benchmark on one namespace lab (`v6probe_lab::scan`), all tools in the same run:
//! a range of 8,192 addresses (fd00::1:0-1fff) of which 4,096 (the even ones) are live, spread
//! over 8 target hosts (real kernels, 512 addresses each) behind a switch that snoops MLD, as a
//! managed switch does ([`ScanLab::segment`]). Tools: `v6probe scan` (solicited-node multicast
//! and `--unicast`), `atk6-alive6` (thc-ipv6), `scan6` (ipv6toolkit), and `ndisc6` one address
//! at a time.
//!
//! At a set rate the wire bounds every tool, so each rate-limited run is compared with its
//! bound: the least time any scheduler with that rate, timeout and retry count needs for this
//! range, max(targets / rate + timeout x (retries + 1), probes / rate + timeout), where probes
//! = live + silent x (retries + 1) (every probe passes the rate limit, and the last silent
//! target waits a timeout after each of its probes). Both tools run at scan6's default rate
//! (1,000/s) and at ours (20,000/s): v6probe with its defaults, and matched to scan6's
//! defaults (no retry, a 1 s timeout), so the same probes go out. Targets: every v6probe run
//! at a set rate completes (every live address, no false one) within 1.1x of its bound, and
//! ahead of scan6 at the same rate on the one-host lab (below). On the segment scan6 finds only
//! the first host's addresses: it resolves the MAC of the range's first address and sends every
//! echo request there. Its figures there show that; its times are compared on the one-host
//! lab, where it completes.
//!
//! A peer whose full run would take longer than a few minutes (alive6 and ndisc6 spend about
//! 3 s and 6 s on every address that does not answer) runs on a sample of the range, and its
//! time is extrapolated to the whole range (marked `extrapolated`). Each figure lists wall
//! time, live addresses found, and false ones. Then the send rate with `--rate 0` to addresses
//! nobody has, on the lab (the switch forwards such probes to no host) and on a quiet link (a
//! veth to an empty namespace).
//!
//! Then the lab of runs before 2026-12-01: all 4,096 addresses on one target behind a switch
//! that floods multicast ([`ScanLab::new`], the tests' lab). There every probe costs the target
//! kernel a walk of its 4,096 groups, synchronously on the scanner's send path, so a scanner
//! runs at that kernel's rate. The same rate-limited runs of v6probe and scan6, and the send
//! rate (`one_host` in the JSON): the bound ratios are informational, the scan6 comparison is
//! the target. Writes target/bench/scan.json.

fn main() {
    #[cfg(target_os = "linux")]
    imp::main();
    #[cfg(not(target_os = "linux"))]
    println!("scan bench: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::{
        collections::BTreeSet,
        net::Ipv6Addr,
        time::{Duration, Instant},
    };

    use serde::Serialize;
    use serde_json::Value;
    use v6probe_lab::{
        bench::{Bench, Bound},
        scan::{ScanLab, SCAN_IF},
        veth, Netns,
    };

    const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
    const BASE: u128 = 0xfd00_0000_0000_0000_0000_0000_0001_0000; // fd00::1:0
    const RANGE: &str = "fd00::1:0-1fff";
    const N: u128 = 8192;
    const LIVE: usize = 4096;
    /// The rates both tools run at: scan6's default and v6probe's.
    const RATES: [u64; 2] = [1000, 20_000];
    /// Target hosts the live addresses are spread over.
    const HOSTS: usize = 8;

    #[derive(Serialize, Clone)]
    struct Figure {
        tool: String,
        command: String,
        /// Addresses probed in the run (the whole range, or the sample).
        scanned: u128,
        wall_s: f64,
        /// Wall time for the whole range (measured, or extrapolated from the sample).
        full_range_s: f64,
        extrapolated: bool,
        live_found: usize,
        live_expected: usize,
        false_found: usize,
        finds_every_live: bool,
        /// This tool's full-range time divided by v6probe's (defaults).
        ratio_to_v6probe: Option<f64>,
        /// Probes per second the run was limited to (none: unlimited or one at a time).
        rate: Option<u64>,
        timeout_s: Option<f64>,
        retries: Option<u32>,
        /// The least time a scheduler with this rate, timeout and retry count needs for the
        /// range (see the module documentation).
        bound_s: Option<f64>,
        /// wall_s / bound_s.
        ratio_to_bound: Option<f64>,
        /// targets / rate + timeout x (retries + 1): the bound without the retries' share of
        /// the rate (below `bound_s` when retries go to silent addresses), for comparison.
        bound_targets_only_s: Option<f64>,
        /// v6probe: the scan's own time (its summary's `duration_ms`, first probe to the end
        /// of the wait for late replies), without process start-up and output.
        scan_s: Option<f64>,
        /// scan_s / bound_s.
        scan_ratio_to_bound: Option<f64>,
        /// One-host lab only: `bound_s` with the rate that host takes in its place when that is
        /// lower (its solicited-node multicast rate with `--rate 0`, measured in the same run):
        /// what a scan could do there. Informational.
        lab_bound_s: Option<f64>,
        /// wall_s / lab_bound_s.
        ratio_to_lab_bound: Option<f64>,
        /// scan_s / lab_bound_s.
        scan_ratio_to_lab_bound: Option<f64>,
    }

    /// The wire's bound for a complete scan of the lab's range (module documentation), at
    /// `rate` probes per second.
    fn bound_s(rate: f64, timeout_s: f64, retries: u32) -> f64 {
        let targets = N as f64;
        let live = LIVE as f64;
        let probes = live + (targets - live) * f64::from(retries + 1);
        (targets / rate + timeout_s * f64::from(retries + 1)).max(probes / rate + timeout_s)
    }

    impl Figure {
        fn limited(mut self, rate: u64, timeout_s: f64, retries: u32) -> Self {
            let b = bound_s(rate as f64, timeout_s, retries);
            self.rate = Some(rate);
            self.timeout_s = Some(timeout_s);
            self.retries = Some(retries);
            self.bound_s = Some(b);
            self.ratio_to_bound = Some(self.wall_s / b);
            self.bound_targets_only_s =
                Some(N as f64 / rate as f64 + timeout_s * f64::from(retries + 1));
            self
        }

        /// The scan's own time from its summary line.
        fn scanned_in(mut self, summary: &Value) -> Self {
            self.scan_s = summary["duration_ms"].as_f64().map(|ms| ms / 1e3);
            self.scan_ratio_to_bound = self.scan_s.zip(self.bound_s).map(|(s, b)| s / b);
            self
        }

        /// The bound with the lab's own rate when it is below the one asked for.
        fn on_lab(&mut self, lab_rate: f64) {
            let (Some(rate), Some(timeout_s), Some(retries)) =
                (self.rate, self.timeout_s, self.retries)
            else {
                return;
            };
            let b = bound_s((rate as f64).min(lab_rate), timeout_s, retries);
            self.lab_bound_s = Some(b);
            self.ratio_to_lab_bound = Some(self.wall_s / b);
            self.scan_ratio_to_lab_bound = self.scan_s.map(|s| s / b);
        }
    }

    /// The send-rate setup whose rate bounds the one-host lab's scans (`lab_bound_s`).
    const ONE_HOST_MULTICAST: &str = "one host, solicited-node multicast";

    #[derive(Serialize)]
    struct Rate {
        setup: String,
        probes: u64,
        probes_per_sec: f64,
    }

    fn addr(i: u128) -> Ipv6Addr {
        Ipv6Addr::from(BASE + i)
    }

    fn is_live(a: &Ipv6Addr) -> bool {
        let v = u128::from(*a);
        (BASE..BASE + N).contains(&v) && (v - BASE).is_multiple_of(2)
    }

    fn timed(ns: &Netns, prog: &str, args: &[&str]) -> (f64, std::process::Output) {
        let t = Instant::now();
        let o = ns.command(prog).args(args).output().expect("run");
        (t.elapsed().as_secs_f64(), o)
    }

    fn scan6(lab: &ScanLab, rate: u64) -> Figure {
        let r = format!("{rate}pps");
        let (wall, o) = timed(
            &lab.scanner,
            "scan6",
            &["-i", SCAN_IF, "-d", RANGE, "-r", &r],
        );
        let found: BTreeSet<Ipv6Addr> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        // scan6's defaults: no retransmission, a 1 s timeout.
        figure(
            &format!("scan6 -r {r}"),
            format!("scan6 -i {SCAN_IF} -d {RANGE} -r {r}"),
            N,
            wall,
            &found,
            LIVE,
        )
        .limited(rate, 1.0, 0)
    }

    fn figure(
        tool: &str,
        command: String,
        scanned: u128,
        wall: f64,
        found: &BTreeSet<Ipv6Addr>,
        expected: usize,
    ) -> Figure {
        let live_found = found.iter().filter(|a| is_live(a)).count();
        let false_found = found.len() - live_found;
        let extrapolated = scanned < N;
        Figure {
            tool: tool.into(),
            command,
            scanned,
            wall_s: wall,
            full_range_s: wall * N as f64 / scanned as f64,
            extrapolated,
            live_found,
            live_expected: expected,
            false_found,
            finds_every_live: live_found == expected && false_found == 0,
            ratio_to_v6probe: None,
            rate: None,
            timeout_s: None,
            retries: None,
            bound_s: None,
            ratio_to_bound: None,
            bound_targets_only_s: None,
            scan_s: None,
            scan_ratio_to_bound: None,
            lab_bound_s: None,
            ratio_to_lab_bound: None,
            scan_ratio_to_lab_bound: None,
        }
    }

    fn v6probe_scan(lab: &ScanLab, name: &str, extra: &[&str]) -> (Figure, Value) {
        let mut args = vec!["scan", "-i", SCAN_IF, RANGE];
        args.extend_from_slice(extra);
        let (wall, o) = timed(&lab.scanner, BIN, &args);
        let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let found: BTreeSet<Ipv6Addr> = lines
            .iter()
            .filter(|v| v["kind"] == "scan_result" && v["alive"] == true)
            .filter_map(|v| v["target"].as_str()?.parse().ok())
            .collect();
        let summary = lines.last().cloned().unwrap_or(Value::Null);
        let f = figure(
            name,
            format!("v6probe {}", args.join(" ")),
            N,
            wall,
            &found,
            LIVE,
        );
        (f, summary)
    }

    /// A global address on the scanner: alive6 and scan6 route by it.
    fn scanner_address(lab: &ScanLab) -> std::io::Result<String> {
        lab.scanner.ip(&[
            "-6",
            "addr",
            "add",
            "fd00::ff:0:1/64",
            "dev",
            SCAN_IF,
            "nodad",
        ])
    }

    /// At each rate, one after the other (the machine's load changes over minutes): v6probe
    /// with its defaults and matched to scan6's (no retry, a 1 s timeout), then scan6 (the whole
    /// range). v6probe's summaries go to `summaries`.
    fn rate_limited(lab: &ScanLab, summaries: &mut Vec<Value>) -> Vec<Figure> {
        let mut figures = Vec::new();
        let (f, s) = v6probe_scan(lab, "v6probe (defaults)", &[]);
        figures.push(f.limited(20_000, 0.5, 2).scanned_in(&s));
        summaries.push(s);
        let mut peers = Vec::new();
        for rate in RATES {
            let r = rate.to_string();
            if rate != 20_000 {
                let (f, s) = v6probe_scan(lab, &format!("v6probe --rate {r}"), &["--rate", &r]);
                figures.push(f.limited(rate, 0.5, 2).scanned_in(&s));
                summaries.push(s);
            }
            let (f, s) = v6probe_scan(
                lab,
                &format!("v6probe --rate {r} --retries 0 --timeout 1000"),
                &["--rate", &r, "--retries", "0", "--timeout", "1000"],
            );
            figures.push(f.limited(rate, 1.0, 0).scanned_in(&s));
            summaries.push(s);
            peers.push(scan6(lab, rate));
        }
        // scan6's figures after v6probe's.
        figures.extend(peers);
        figures
    }

    pub fn main() {
        let mut bench = Bench::start("scan");
        bench.require_privileges();
        for (program, package) in [
            ("scan6", "ipv6toolkit"),
            ("atk6-alive6", "thc-ipv6"),
            ("ndisc6", "ndisc6"),
        ] {
            bench.require_program(program, package);
        }
        let live: Vec<Ipv6Addr> = (0..N).step_by(2).map(addr).collect();
        eprintln!("building the lab (4,096 addresses on {HOSTS} targets)...");
        let lab = bench.check(ScanLab::segment("bench", &live, HOSTS), "building the lab");
        bench.check(scanner_address(&lab), "scanner address");
        let mut summaries = Vec::new();
        let loadavg_start = loadavg();
        let mut figures = rate_limited(&lab, &mut summaries);
        for (name, extra) in [
            (
                "v6probe --rate 0 --timeout 200 --retries 1",
                &["--rate", "0", "--timeout", "200", "--retries", "1"][..],
            ),
            (
                "v6probe --unicast --rate 0 --timeout 200 --retries 1",
                &[
                    "--unicast",
                    "--rate",
                    "0",
                    "--timeout",
                    "200",
                    "--retries",
                    "1",
                ][..],
            ),
        ] {
            let (f, s) = v6probe_scan(&lab, name, extra);
            summaries.push(s);
            figures.push(f);
        }

        // atk6-alive6: a 16-address sample (about 6 s per silent address).
        let sample = "fd00::1:0-f";
        let (wall, o) = timed(&lab.scanner, "atk6-alive6", &[SCAN_IF, sample]);
        let found: BTreeSet<Ipv6Addr> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                l.strip_prefix("Alive: ")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        figures.push(figure(
            "atk6-alive6",
            format!("atk6-alive6 {SCAN_IF} {sample}"),
            16,
            wall,
            &found,
            8,
        ));

        // ndisc6: one address at a time (defaults: 3 tries, 1 s apart), a 32-address sample.
        let t = Instant::now();
        let mut found = BTreeSet::new();
        for i in 0..32 {
            let a = addr(i).to_string();
            let o = lab
                .scanner
                .command("ndisc6")
                .args(["-q", &a, SCAN_IF])
                .output()
                .expect("ndisc6");
            if o.status.success() {
                found.insert(addr(i));
            }
        }
        let wall = t.elapsed().as_secs_f64();
        figures.push(figure(
            "ndisc6 (one at a time)",
            format!("for a in fd00::1:0..fd00::1:1f: ndisc6 -q $a {SCAN_IF}"),
            32,
            wall,
            &found,
            16,
        ));

        let base = figures[0].full_range_s;
        for f in &mut figures {
            f.ratio_to_v6probe = Some(f.full_range_s / base);
        }

        // Send rate with --rate 0 to addresses nobody has: the lab (the switch forwards a probe
        // to the hosts that joined its group: here none), and a quiet link to an empty namespace.
        let mut rates = Vec::new();
        let dead = "fd00::9:0-ffff"; // 65,536 addresses, none live
        for (setup, ns, ifname, extra) in [
            (
                "lab, solicited-node multicast",
                &lab.scanner,
                SCAN_IF,
                &[][..],
            ),
            ("lab, --unicast", &lab.scanner, SCAN_IF, &["--unicast"][..]),
        ] {
            rates.push(rate(ns, ifname, dead, extra, setup));
        }
        let qa = Netns::new("benchq-a").expect("ns");
        let qb = Netns::new("benchq-b").expect("ns");
        veth(&qa, "v6p-qa", &qb, "v6p-qb").expect("veth");
        qa.wait_dad(Duration::from_secs(10)).expect("dad");
        rates.push(rate(
            &qa,
            "v6p-qa",
            dead,
            &[],
            "quiet link, solicited-node multicast",
        ));

        // Informational: the lab of earlier runs, every address on one target behind a
        // flooding switch (module documentation).
        drop(lab);
        eprintln!("building the one-host lab (4,096 addresses on one target)...");
        let one = bench.check(ScanLab::new("bench1", &live), "building the one-host lab");
        bench.check(scanner_address(&one), "scanner address (one host)");
        let one_rate = rate(&one.scanner, SCAN_IF, dead, &[], ONE_HOST_MULTICAST);
        let mut one_summaries = Vec::new();
        let mut one_host = rate_limited(&one, &mut one_summaries);
        for f in &mut one_host {
            f.on_lab(one_rate.probes_per_sec);
        }
        drop(one);

        println!();
        println!(
            "{:<50} {:>7} {:>9} {:>6} {:>9} {:>6} {:>8} {:>8} {:>7} {:>8}",
            "tool",
            "scanned",
            "range s",
            "extrap",
            "live",
            "false",
            "x ours",
            "bound s",
            "x bound",
            "scan x b"
        );
        for f in &figures {
            println!(
                "{:<50} {:>7} {:>9.3} {:>6} {:>4}/{:<4} {:>6} {:>8.1} {:>8} {:>7} {:>8}",
                f.tool,
                f.scanned,
                f.full_range_s,
                if f.extrapolated { "yes" } else { "no" },
                f.live_found,
                f.live_expected,
                f.false_found,
                f.ratio_to_v6probe.unwrap_or(0.0),
                f.bound_s.map_or("-".into(), |b| format!("{b:.3}")),
                f.ratio_to_bound.map_or("-".into(), |r| format!("{r:.2}")),
                f.scan_ratio_to_bound
                    .map_or("-".into(), |r| format!("{r:.2}")),
            );
        }
        println!(
            "(x bound: wall time with process start-up and output; scan x b: the scan's own \
             duration_ms; load average {} at the start, {} at the end)",
            loadavg_start.map_or("-".into(), |l| format!("{l:.2}")),
            loadavg().map_or("-".into(), |l| format!("{l:.2}")),
        );
        let fastest_peer = figures
            .iter()
            .filter(|f| !f.tool.starts_with("v6probe") && f.finds_every_live)
            .min_by(|a, b| a.full_range_s.total_cmp(&b.full_range_s));
        println!();
        for r in &rates {
            println!(
                "send rate, --rate 0, {:<40} {:>10.0} probes/s ({} probes)",
                r.setup, r.probes_per_sec, r.probes
            );
        }
        println!(
            "send rate, --rate 0, {:<40} {:>10.0} probes/s ({} probes)",
            one_rate.setup, one_rate.probes_per_sec, one_rate.probes
        );
        for f in &one_host {
            println!(
                "one host, {:<48} {:>7.3} s, {}/{} live, {} false: wall {} the bound, {} with \
                 the one-host rate in it",
                f.tool,
                f.full_range_s,
                f.live_found,
                f.live_expected,
                f.false_found,
                f.ratio_to_bound.map_or("-".into(), |r| format!("{r:.2}x")),
                f.ratio_to_lab_bound
                    .map_or("-".into(), |r| format!("{r:.2}x")),
            );
        }
        println!();
        // A scan that misses a live address, or finds a false one, meets no target.
        let complete = |f: &Figure, x: f64| if f.finds_every_live { x } else { f64::NAN };
        for f in figures
            .iter()
            .filter(|f| f.tool.starts_with("v6probe") && f.rate.is_some())
        {
            bench.target(
                format!("{}: wall / bound", f.tool),
                complete(f, f.ratio_to_bound.unwrap_or(f64::NAN)),
                Bound::AtMost(1.1),
            );
        }
        // Against scan6 on the one-host lab only: on the segment it finds one host's addresses.
        for rate in RATES {
            let at = |tool: &str| one_host.iter().find(|f| f.tool == tool);
            let Some(peer) = at(&format!("scan6 -r {rate}pps")) else {
                continue;
            };
            let ours_default = if rate == 20_000 {
                "v6probe (defaults)".to_string()
            } else {
                format!("v6probe --rate {rate}")
            };
            for ours in [
                ours_default,
                format!("v6probe --rate {rate} --retries 0 --timeout 1000"),
            ] {
                if let Some(f) = at(&ours) {
                    bench.target(
                        format!(
                            "one host: {}: scan6 -r {rate}pps time / {}",
                            peer.tool, f.tool
                        ),
                        complete(f, complete(peer, peer.wall_s) / f.wall_s),
                        Bound::AtLeast(1.0),
                    );
                }
            }
        }
        let json = serde_json::json!({
            "lab": {"range": RANGE, "addresses": N as u64, "live": LIVE, "hosts": HOSTS, "switch": "MLD snooping, querier"},
            "one_host": {"hosts": 1, "switch": "floods multicast", "figures": one_host, "send_rate": one_rate, "v6probe_summaries": one_summaries},
            "loadavg": {"start": loadavg_start, "end": loadavg()},
            "bound": "max(targets / rate + timeout x (retries + 1), (live + silent x (retries + 1)) / rate + timeout)",
            "figures": figures,
            "send_rates": rates,
            "v6probe_summaries": summaries,
            "fastest_complete_peer": fastest_peer.map(|p| p.tool.clone()),
        });
        bench.finish(&json);
    }

    /// The 1-minute load average (other work on the machine slows the scans down).
    fn loadavg() -> Option<f64> {
        std::fs::read_to_string("/proc/loadavg")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    fn rate(ns: &Netns, ifname: &str, range: &str, extra: &[&str], setup: &str) -> Rate {
        let mut args = vec![
            "scan",
            "-i",
            ifname,
            range,
            "--rate",
            "0",
            "--retries",
            "0",
            "--timeout",
            "50",
        ];
        args.extend_from_slice(extra);
        let o = ns.command(BIN).args(&args).output().expect("scan");
        let summary: Value = String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        Rate {
            setup: setup.into(),
            probes: summary["probes_sent"].as_u64().unwrap_or(0),
            probes_per_sec: summary["probes_per_sec"].as_f64().unwrap_or(0.0),
        }
    }
}
