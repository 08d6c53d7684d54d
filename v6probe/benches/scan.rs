//! NS scan benchmark on one namespace lab (`v6probe_lab::scan`), all tools in the same run:
//! a range of 8,192 addresses (fd00::1:0-1fff) of which 4,096 (the even ones) are live on a
//! real kernel. Tools: `v6probe scan` (solicited-node multicast and `--unicast`),
//! `atk6-alive6` (thc-ipv6), `scan6` (ipv6toolkit), and `ndisc6` one address at a time.
//!
//! A peer whose full run would take longer than a few minutes (alive6 and ndisc6 spend about
//! 3 s and 6 s on every address that does not answer) runs on a sample of the range, and its
//! time is extrapolated to the whole range (marked `extrapolated`). Each figure lists wall
//! time, live addresses found, and false ones. Then the send rate with `--rate 0`, on the lab
//! and on a quiet link (a veth to a namespace without the 4,096 addresses: see the note printed
//! about the target kernel's cost). Writes target/bench/scan.json.

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
        scan::{ScanLab, SCAN_IF},
        veth, Netns,
    };

    const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
    const BASE: u128 = 0xfd00_0000_0000_0000_0000_0000_0001_0000; // fd00::1:0
    const RANGE: &str = "fd00::1:0-1fff";
    const N: u128 = 8192;

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
    }

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
            4096,
        );
        (f, summary)
    }

    pub fn main() {
        if let Some(why) = v6probe_lab::missing_privileges() {
            eprintln!("scan bench SKIPPED: {why}");
            return;
        }
        let live: Vec<Ipv6Addr> = (0..N).step_by(2).map(addr).collect();
        eprintln!("building the lab (4,096 addresses on the target)...");
        let lab = ScanLab::new("bench", &live).expect("lab");
        // A global address on the scanner: alive6 and scan6 route by it.
        lab.scanner
            .ip(&[
                "-6",
                "addr",
                "add",
                "fd00::ff:0:1/64",
                "dev",
                SCAN_IF,
                "nodad",
            ])
            .expect("scanner address");
        let mut figures = Vec::new();
        let mut summaries = Vec::new();

        // v6probe: defaults except the rate; tuned; unicast.
        for (name, extra) in [
            ("v6probe (defaults)", &[][..]),
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

        // scan6: the whole range.
        let (wall, o) = timed(&lab.scanner, "scan6", &["-i", SCAN_IF, "-d", RANGE]);
        let found: BTreeSet<Ipv6Addr> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        figures.push(figure(
            "scan6",
            format!("scan6 -i {SCAN_IF} -d {RANGE}"),
            N,
            wall,
            &found,
            4096,
        ));

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

        // Send rate with --rate 0: the lab (the target kernel is on the send path: veth delivers
        // synchronously, and its check of each solicited-node group walks a list of 4,096 groups),
        // and a quiet link to an empty namespace.
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

        println!();
        println!(
            "{:<54} {:>9} {:>12} {:>6} {:>9} {:>6} {:>8}",
            "tool", "scanned", "full range s", "extrap", "live", "false", "x v6probe"
        );
        for f in &figures {
            println!(
                "{:<54} {:>9} {:>12.3} {:>6} {:>4}/{:<4} {:>6} {:>8.1}",
                f.tool,
                f.scanned,
                f.full_range_s,
                if f.extrapolated { "yes" } else { "no" },
                f.live_found,
                f.live_expected,
                f.false_found,
                f.ratio_to_v6probe.unwrap_or(0.0)
            );
        }
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
        if let Some(p) = fastest_peer {
            for f in figures.iter().filter(|f| f.tool.starts_with("v6probe")) {
                println!(
                    "{}: {:.1}x faster than {} (fastest peer finding every live address); target >= 10x",
                    f.tool,
                    p.full_range_s / f.full_range_s,
                    p.tool
                );
            }
        }
        println!("targets: every live address and no false one; >= 10x the fastest complete peer; >= 50,000 probes/s");
        let json = serde_json::json!({
            "lab": {"range": RANGE, "addresses": N as u64, "live": 4096},
            "figures": figures,
            "send_rates": rates,
            "v6probe_summaries": summaries,
            "fastest_complete_peer": fastest_peer.map(|p| p.tool.clone()),
        });
        v6probe_lab::write_bench_figures("scan", &json).expect("target/bench");
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
