//! The monitor end to end under NDP floods, against tcpdump, in one run (run by `cargo xtask
//! bench monitor_flood`; writes target/bench/monitor_flood.json).
//!
//! Lab: two namespaces on a veth pair. The flooder's namespace runs a flood (THC
//! `atk6-flood_advertise6` and `atk6-flood_router26`, and a raw-socket NA sender of this
//! benchmark's own, `sendmmsg` batches over a pool of frames with varied source MACs and
//! targets, for a higher rate than THC reaches); the other namespace, which sends nothing itself
//! (no router advertisements accepted, no forwarding), has one capturer at a time on its veth:
//! nothing (the baseline), a bare `XDP_PASS` program (what XDP on a veth costs the sender by
//! itself: the floor of the monitor's XDP hook), `tcpdump -w FILE icmp6`, and `v6probe
//! monitor` with `--events none` and `--events all` (its output to a file), each with the
//! kernel flood guard at its default and off, and with the service sinks (`--output file:FILE
//! --metrics-listen`), all with the default hooks (`--hook auto`: TC on ingress and egress on
//! this veth); and `--events none --hook both`, XDP forced on ingress (TC on egress), as on a
//! NIC where native XDP is cheap. Each monitor row names the hooks its `start` line listed. The flooder runs on CPU 0 and the capturer on CPU 1: a veth delivers in the
//! sender's context, so the kernel programs' and the packet socket's cost lands on the
//! sender's CPU and shows as the rate it keeps; the capturer's own CPU time is its process's.
//! Every capturer runs under the same flood, one after the other, for several rounds
//! (interleaved, so drift of the machine's load spreads over all of them); figures are the
//! medians over the rounds, the unreported loss the worst round. A ratio to a baseline
//! (tcpdump, nothing attached, the bare XDP program) is the median of the per-round ratios,
//! each taken between two runs of the same round under the same flood (minutes apart at
//! most), as the xdp and codec benchmarks take theirs; the ratio of the two medians is kept
//! beside it in the JSON (`*_of_medians`), and the per-round ratios themselves.
//!
//! Per capturer: frames offered (the capturing veth's rx + tx counters over the capturer's
//! life), events kept (records the monitor read, packets tcpdump wrote), drops reported (ring
//! buffer drops and flood-guard suppressions; tcpdump's `dropped by kernel`), unreported loss
//! (NDP frames the kernel counted, or for tcpdump frames offered, minus kept minus reported),
//! CPU seconds (user + system, from `wait4`, less what it used before it was ready: start-up
//! is reported on its own) per kept event and per offered frame, peak RSS, and
//! the sender's rate (its veth's tx counter over a fixed window) relative to the rate it keeps
//! under tcpdump and with nothing attached.
//!
//! Targets (each flood): unreported loss 0 in every mode; `--events none` (guard at its
//! default) CPU per offered frame <= 1x tcpdump's and sender rate >= 0.95x its rate under
//! tcpdump; guard off with `--events all` to a file, CPU per kept event <= 4x tcpdump's.
//!
//! The sender's rate is wall-clock work, so it moves with whatever else runs on the sender's
//! CPU. Beside it each run reports the sender's CPU cost per frame: CPU time on the sender's
//! CPU for the flood (the flooder process, in whose context a veth delivers, plus that CPU's
//! `ksoftirqd`, which takes the receive work over under load; schedstat, nanoseconds) over the
//! window, per frame sent. Its ratio to tcpdump's is the sender-rate ratio the machine would
//! show with nothing else running (THC floods; not for the raw sender, a thread of this
//! process).
//!
//! `V6PROBE_FLOOD_SECS` (default 4) sets each flood's measured window, `V6PROBE_FLOOD_ROUNDS`
//! (default 5) the rounds, `V6PROBE_FLOODS` (default all: `thc-na,thc-ra,raw-na`) the floods,
//! `V6PROBE_FLOOD_CAPTURERS` (default all: `none,none-guard-off,none-hook-both,all,
//! all-guard-off,sinks`) the monitor's modes (nothing attached, the bare XDP program and tcpdump always run:
//! they are the baselines), and `V6PROBE_FLOOD_BIN` the v6probe binary the monitor runs from
//! (default: the one built with the benchmark), to compare two builds.

fn main() {
    #[cfg(target_os = "linux")]
    imp::main();
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("bench monitor_flood: cannot run: Linux only");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::{
        collections::BTreeMap,
        fs::File,
        io::{self, Read as _, Write as _},
        os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
        path::{Path, PathBuf},
        process::{Child, Command, Stdio},
        sync::{
            atomic::{AtomicBool, AtomicU64, Ordering},
            Arc,
        },
        thread,
        time::{Duration, Instant},
    };

    use aya::programs::XdpMode;
    use serde::Serialize;
    use serde_json::{json, Value};
    use v6probe::observe::Programs;
    use v6probe_common::abi::{self, class};
    use v6probe_lab::{
        bench::{Bench, Bound},
        in_netns, veth, LinkCounters, Netns, TempDir,
    };

    const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
    /// The flooder's and the capturing host's ends of the veth pair.
    const FLOOD_IF: &str = "v6p-mfa";
    const HOST_IF: &str = "v6p-mfh";
    /// CPUs: the flooder (and with it the kernel's receive path), the capturer.
    const SENDER_CPU: usize = 0;
    const CAPTURER_CPU: usize = 1;
    /// The flood runs this long before its rate is measured (start-up, ring buffers filling).
    const WARM_UP: Duration = Duration::from_millis(500);
    /// After the flood: time for a capturer to drain what it has not read yet.
    const SETTLE: Duration = Duration::from_secs(2);

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
    enum Flooder {
        /// `atk6-flood_advertise6 IF`: NAs, random source MAC and target per packet.
        ThcNa,
        /// `atk6-flood_router26 IF`: RAs with about 25 prefix and route entries each.
        ThcRa,
        /// This benchmark's own raw-socket NA sender (`sendmmsg`, 64 frames per call).
        RawNa,
    }

    impl Flooder {
        const ALL: [Flooder; 3] = [Flooder::ThcNa, Flooder::ThcRa, Flooder::RawNa];

        /// The name `V6PROBE_FLOODS` takes.
        fn key(self) -> &'static str {
            match self {
                Flooder::ThcNa => "thc-na",
                Flooder::ThcRa => "thc-ra",
                Flooder::RawNa => "raw-na",
            }
        }

        fn name(self) -> &'static str {
            match self {
                Flooder::ThcNa => "atk6-flood_advertise6",
                Flooder::ThcRa => "atk6-flood_router26",
                Flooder::RawNa => "raw NA sender (sendmmsg)",
            }
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
    enum Capturer {
        Nothing,
        /// A bare `XDP_PASS` program on the capturing veth, nothing else: what attaching XDP
        /// to a veth costs the sender by itself (the veth then hands frames over through its
        /// XDP receive path), the floor for the monitor's XDP hook.
        XdpBare,
        Tcpdump,
        /// `monitor --events none` (flood guard at its default).
        MonNone,
        /// `monitor --events none --flood-guard off`.
        MonNoneGuardOff,
        /// `monitor --events none --hook both` (XDP ingress forced on the veth, TC egress).
        MonNoneHookBoth,
        /// `monitor --events all` to a file (flood guard at its default).
        MonAll,
        /// `monitor --events all --flood-guard off` to a file.
        MonAllGuardOff,
        /// As `MonAllGuardOff` through the service sinks: `--output file:FILE` and
        /// `--metrics-listen` (Prometheus endpoint up, not scraped).
        MonSinksGuardOff,
    }

    impl Capturer {
        const ALL: [Capturer; 9] = [
            Capturer::Nothing,
            Capturer::XdpBare,
            Capturer::Tcpdump,
            Capturer::MonNone,
            Capturer::MonNoneGuardOff,
            Capturer::MonNoneHookBoth,
            Capturer::MonAll,
            Capturer::MonAllGuardOff,
            Capturer::MonSinksGuardOff,
        ];

        /// The name `V6PROBE_FLOOD_CAPTURERS` takes (the monitor's modes).
        fn key(self) -> Option<&'static str> {
            Some(match self {
                Capturer::MonNone => "none",
                Capturer::MonNoneGuardOff => "none-guard-off",
                Capturer::MonNoneHookBoth => "none-hook-both",
                Capturer::MonAll => "all",
                Capturer::MonAllGuardOff => "all-guard-off",
                Capturer::MonSinksGuardOff => "sinks",
                Capturer::Nothing | Capturer::XdpBare | Capturer::Tcpdump => return None,
            })
        }

        fn name(self) -> &'static str {
            match self {
                Capturer::Nothing => "nothing attached",
                Capturer::XdpBare => "bare XDP_PASS program (no capture)",
                Capturer::Tcpdump => "tcpdump -w FILE icmp6",
                Capturer::MonNone => "monitor --events none",
                Capturer::MonNoneGuardOff => "monitor --events none --flood-guard off",
                Capturer::MonNoneHookBoth => "monitor --events none --hook both",
                Capturer::MonAll => "monitor --events all > FILE",
                Capturer::MonAllGuardOff => "monitor --events all --flood-guard off > FILE",
                Capturer::MonSinksGuardOff => "monitor all, guard off, sinks: file + metrics",
            }
        }

        fn monitor_args(self) -> Option<&'static [&'static str]> {
            Some(match self {
                Capturer::MonNone => &["--events", "none"],
                Capturer::MonNoneGuardOff => &["--events", "none", "--flood-guard", "off"],
                Capturer::MonNoneHookBoth => &["--events", "none", "--hook", "both"],
                Capturer::MonAll => &["--events", "all"],
                Capturer::MonAllGuardOff => &["--events", "all", "--flood-guard", "off"],
                Capturer::MonSinksGuardOff => &[
                    "--events",
                    "all",
                    "--flood-guard",
                    "off",
                    "--metrics-listen",
                    "127.0.0.1:0",
                ],
                Capturer::Nothing | Capturer::XdpBare | Capturer::Tcpdump => return None,
            })
        }
    }

    /// One capturer under one flood, one round.
    #[derive(Clone, Debug, Serialize)]
    struct Run {
        flooder: Flooder,
        capturer: Capturer,
        round: usize,
        /// The hooks the monitor's `start` line listed, in order (`xdp+tc_egress`).
        hooks: Option<String>,
        /// The measured window of the flood (after its warm-up).
        window_s: f64,
        /// Frames the flooder's veth sent in the window, per second.
        sender_rate: f64,
        /// Frames the flooder's veth could not deliver (its tx_dropped) over the whole flood.
        sender_tx_dropped: u64,
        /// CPU time on the sender's CPU for the flood (the flooder process and that CPU's
        /// ksoftirqd) over the window, per frame sent, in ns (THC floods only).
        sender_cpu_ns_per_frame: Option<f64>,
        /// rx + tx frames of the capturing veth over the capturer's life.
        offered_frames: u64,
        /// rx_dropped of the capturing veth over the capturer's life.
        host_rx_dropped: u64,
        /// The frames the capturer is accountable for: NDP and ICMPv6-error frames the
        /// monitor's kernel programs counted; for tcpdump, every frame offered (all ICMPv6 here).
        offered_ndp: Option<u64>,
        /// Frames the kernel programs saw (the monitor), to check against `offered_frames`.
        kernel_frames: Option<u64>,
        /// Records the monitor read / packets tcpdump wrote.
        kept: Option<u64>,
        /// Lines the monitor wrote (its output file's lines).
        lines: Option<u64>,
        /// Ring-buffer drops (monitor) / `dropped by kernel` (tcpdump).
        drops: Option<u64>,
        /// Frames the kernel flood guard counted instead of recording.
        guard_suppressed: Option<u64>,
        /// offered_ndp - kept - drops - guard_suppressed.
        unreported_loss: Option<i64>,
        /// Lines the sinks dropped (their queues full), summed over sinks.
        sink_dropped: Option<u64>,
        /// CPU seconds (user + system) from ready (the monitor's `start` line, tcpdump's
        /// `listening on`) to exit: the work under the flood.
        cpu_s: Option<f64>,
        /// CPU seconds before it was ready (start-up).
        startup_cpu_s: Option<f64>,
        cpu_per_kept_us: Option<f64>,
        cpu_per_offered_us: Option<f64>,
        peak_rss_kib: Option<u64>,
        /// Bytes of the capturer's output file (the monitor's lines, tcpdump's pcap).
        output_bytes: Option<u64>,
        /// CPU of writing as many bytes as `output_bytes` into a new file in the same folder, in
        /// 64 KiB writes from a thread on the capturer's CPU, per kept event, in µs: what putting
        /// that output into the page cache costs at the least, whoever formats it.
        write_floor_us_per_kept: Option<f64>,
    }

    /// Median figures of one capturer under one flood.
    #[derive(Clone, Debug, Serialize)]
    struct Row {
        flooder: Flooder,
        capturer: Capturer,
        /// The hooks the monitor attached (its runs' `hooks`; distinct ones joined by ` / `).
        hooks: Option<String>,
        command: String,
        rounds: usize,
        sender_rate: f64,
        /// sender_rate / the rate with nothing attached (median of per-round ratios).
        sender_share_of_nothing: f64,
        /// sender_rate / the rate under tcpdump (median of per-round ratios).
        sender_share_of_tcpdump: f64,
        /// The per-round ratios behind `sender_share_of_tcpdump`, in round order.
        sender_share_of_tcpdump_rounds: Vec<f64>,
        /// The median sender_rate / tcpdump's median sender_rate.
        sender_share_of_tcpdump_of_medians: f64,
        /// sender_rate / the rate with the bare XDP_PASS program attached (median of per-round
        /// ratios).
        sender_share_of_xdp_bare: f64,
        sender_cpu_ns_per_frame: Option<f64>,
        /// tcpdump's sender_cpu_ns_per_frame / this one: the sender's rate relative to under
        /// tcpdump, were the sender's CPU its own.
        sender_cpu_share_of_tcpdump: Option<f64>,
        /// The same against the bare XDP_PASS program.
        sender_cpu_share_of_xdp_bare: Option<f64>,
        offered_frames: f64,
        kept: Option<f64>,
        drops: Option<f64>,
        guard_suppressed: Option<f64>,
        /// The worst round.
        unreported_loss_max: Option<i64>,
        cpu_s: Option<f64>,
        startup_cpu_s: Option<f64>,
        sink_dropped: Option<f64>,
        cpu_per_kept_us: Option<f64>,
        cpu_per_offered_us: Option<f64>,
        /// cpu_per_kept_us / tcpdump's (median of per-round ratios).
        cpu_per_kept_x_tcpdump: Option<f64>,
        /// The per-round ratios behind `cpu_per_kept_x_tcpdump`, in round order.
        cpu_per_kept_x_tcpdump_rounds: Vec<f64>,
        /// The median cpu_per_kept_us / tcpdump's median.
        cpu_per_kept_x_tcpdump_of_medians: Option<f64>,
        /// cpu_per_offered_us / tcpdump's (median of per-round ratios).
        cpu_per_offered_x_tcpdump: Option<f64>,
        /// The median cpu_per_offered_us / tcpdump's median.
        cpu_per_offered_x_tcpdump_of_medians: Option<f64>,
        peak_rss_kib: Option<f64>,
        /// output_bytes / kept (median).
        output_bytes_per_kept: Option<f64>,
        write_floor_us_per_kept: Option<f64>,
        /// write_floor_us_per_kept / tcpdump's cpu_per_kept_us (median of per-round ratios):
        /// the part of tcpdump's whole cost the bytes alone take.
        write_floor_x_tcpdump: Option<f64>,
    }

    fn env_num<T: std::str::FromStr>(bench: &Bench, name: &str, default: T) -> T {
        match std::env::var(name) {
            Err(_) => default,
            Ok(s) => s
                .parse()
                .unwrap_or_else(|_| bench.fail(format_args!("{name}={s:?} is not a number"))),
        }
    }

    pub fn main() {
        let mut bench = Bench::start("monitor_flood");
        bench.require_privileges();
        let tcpdump = bench.require_program("tcpdump", "tcpdump");
        let thc_na = bench.require_program("atk6-flood_advertise6", "thc-ipv6");
        let thc_ra = bench.require_program("atk6-flood_router26", "thc-ipv6");
        let taskset = bench.require_program("taskset", "util-linux");
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 {
            bench.fail("needs 2 CPUs: the flooder and the capturer each on its own");
        }
        let secs: f64 = env_num(&bench, "V6PROBE_FLOOD_SECS", 4.0);
        let rounds: usize = env_num(&bench, "V6PROBE_FLOOD_ROUNDS", 5);
        if !(0.5..=60.0).contains(&secs) || !(1..=20).contains(&rounds) {
            bench.fail("V6PROBE_FLOOD_SECS must be 0.5..60 and V6PROBE_FLOOD_ROUNDS 1..20");
        }
        let window = Duration::from_secs_f64(secs);
        let capturers: Vec<Capturer> = match std::env::var("V6PROBE_FLOOD_CAPTURERS") {
            Err(_) => Capturer::ALL.to_vec(),
            Ok(list) => {
                let keys: Vec<&str> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .collect();
                for k in &keys {
                    if !Capturer::ALL.iter().any(|c| c.key() == Some(*k)) {
                        bench.fail(format_args!(
                            "V6PROBE_FLOOD_CAPTURERS: unknown mode {k:?} (none, none-guard-off, \
                             none-hook-both, all, all-guard-off, sinks)"
                        ));
                    }
                }
                Capturer::ALL
                    .into_iter()
                    .filter(|c| c.key().is_none_or(|k| keys.contains(&k)))
                    .collect()
            }
        };
        let floods: Vec<Flooder> = match std::env::var("V6PROBE_FLOODS") {
            Err(_) => Flooder::ALL.to_vec(),
            Ok(list) => {
                let mut v = Vec::new();
                for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                    match Flooder::ALL.into_iter().find(|f| f.key() == k) {
                        Some(f) => v.push(f),
                        None => bench.fail(format_args!(
                            "V6PROBE_FLOODS: unknown flood {k:?} (thc-na, thc-ra, raw-na)"
                        )),
                    }
                }
                if v.is_empty() {
                    bench.fail("V6PROBE_FLOODS names no flood");
                }
                v
            }
        };
        let tools = Tools {
            tcpdump: tcpdump.to_string_lossy().into_owned(),
            thc_na: thc_na.to_string_lossy().into_owned(),
            thc_ra: thc_ra.to_string_lossy().into_owned(),
            taskset: taskset.to_string_lossy().into_owned(),
        };
        eprintln!(
            "{} floods x {} capturers x {rounds} rounds, {secs} s each",
            floods.len(),
            capturers.len()
        );
        // The lab and the scratch folder are dropped (namespaces deleted, files removed)
        // before a failure ends the process.
        let measured = (|| -> Result<Vec<Run>, String> {
            let lab = Lab::new().map_err(|e| format!("building the lab: {e}"))?;
            let scratch =
                TempDir::new("monitor-flood").map_err(|e| format!("scratch folder: {e}"))?;
            let mut runs = Vec::new();
            for round in 0..rounds {
                for &flooder in &floods {
                    for &capturer in &capturers {
                        let r = one_run(
                            &lab,
                            &tools,
                            scratch.path(),
                            flooder,
                            capturer,
                            round,
                            window,
                        )
                        .map_err(|e| {
                            format!("{} under {}: {e}", capturer.name(), flooder.name())
                        })?;
                        eprintln!(
                            "round {round} {:<26} {:<46} sender {:>9.0}/s {:>7} ns/frame \
                             offered {:>8} kept {:>8} cpu {:>6.3}s loss {}",
                            flooder.name(),
                            capturer.name(),
                            r.sender_rate,
                            r.sender_cpu_ns_per_frame
                                .map_or("-".into(), |n| format!("{n:.1}")),
                            r.offered_frames,
                            r.kept.map_or("-".into(), |k| k.to_string()),
                            r.cpu_s.unwrap_or(0.0),
                            r.unreported_loss.map_or("-".into(), |l| l.to_string()),
                        );
                        runs.push(r);
                    }
                }
            }
            Ok(runs)
        })();
        let runs = bench.check(measured, "measuring");
        let rows = summarize(&runs, &tools);
        print_table(&rows);
        for &flooder in &floods {
            // Only the modes this run measured (V6PROBE_FLOOD_CAPTURERS).
            let row = |c: Capturer| {
                rows.iter()
                    .find(|r| r.flooder == flooder && r.capturer == c)
            };
            for c in capturers
                .iter()
                .copied()
                .filter(|c| !matches!(c, Capturer::Nothing | Capturer::XdpBare))
            {
                let Some(r) = row(c) else { continue };
                bench.target(
                    format!(
                        "{}: {}: unreported loss (worst round)",
                        flooder.name(),
                        c.name()
                    ),
                    r.unreported_loss_max.map_or(f64::NAN, |l| l as f64),
                    Bound::AtMost(0.0),
                );
            }
            if let Some(none) = row(Capturer::MonNone) {
                bench.target(
                    format!(
                        "{}: {} CPU per offered frame / tcpdump's",
                        flooder.name(),
                        row_label(none)
                    ),
                    none.cpu_per_offered_x_tcpdump.unwrap_or(f64::NAN),
                    Bound::AtMost(1.0),
                );
                bench.target(
                    format!(
                        "{}: sender rate under {} / under tcpdump",
                        flooder.name(),
                        row_label(none)
                    ),
                    none.sender_share_of_tcpdump,
                    Bound::AtLeast(0.95),
                );
            }
            if let Some(all) = row(Capturer::MonAllGuardOff) {
                bench.target(
                    format!(
                        "{}: monitor --events all --flood-guard off CPU per kept event / \
                         tcpdump's",
                        flooder.name()
                    ),
                    all.cpu_per_kept_x_tcpdump.unwrap_or(f64::NAN),
                    Bound::AtMost(4.0),
                );
            }
        }
        let report = json!({
            "lab": {
                "flooder_interface": FLOOD_IF,
                "capturer_interface": HOST_IF,
                "sender_cpu": SENDER_CPU,
                "capturer_cpu": CAPTURER_CPU,
                "window_s": secs,
                "warm_up_s": WARM_UP.as_secs_f64(),
                "settle_s": SETTLE.as_secs_f64(),
                "rounds": rounds,
                "floods": floods,
            },
            "rows": rows,
            "runs": runs,
        });
        bench.finish(&report);
    }

    struct Tools {
        tcpdump: String,
        thc_na: String,
        thc_ra: String,
        taskset: String,
    }

    struct Lab {
        flooder: Netns,
        host: Netns,
    }

    impl Lab {
        fn new() -> io::Result<Self> {
            let flooder = Netns::new("mf-flood")?;
            let host = Netns::new("mf-host")?;
            // The host only listens: no autoconfiguration from the flood's RAs (which would send
            // DAD for every prefix), no forwarding.
            for key in ["all", "default"] {
                host.sysctl(&format!("net.ipv6.conf.{key}.accept_ra"), "0")?;
                host.sysctl(&format!("net.ipv6.conf.{key}.forwarding"), "0")?;
            }
            veth(&flooder, FLOOD_IF, &host, HOST_IF)?;
            host.sysctl(&format!("net.ipv6.conf.{HOST_IF}.accept_ra"), "0")?;
            flooder.wait_dad(Duration::from_secs(10))?;
            host.wait_dad(Duration::from_secs(10))?;
            Ok(Self { flooder, host })
        }
    }

    /// A started capturer: its process, where its output goes.
    struct Started {
        child: Child,
        /// Where its lines go: stdout's file, or the `--output file:` sink's.
        out: PathBuf,
        err: PathBuf,
        /// CPU seconds it had used when it was ready (start-up: loading and attaching the
        /// programs, opening the capture).
        ready_cpu_s: f64,
        /// The monitor's hooks, from its `start` line.
        hooks: Option<String>,
    }

    /// The hooks of a monitor's `start` line in `text` (`xdp+tc_egress`).
    fn start_hooks(text: &str) -> Option<String> {
        let start: Value = text
            .lines()
            .find(|l| l.contains("\"kind\":\"start\""))
            .and_then(|l| serde_json::from_str(l).ok())?;
        let hooks: Vec<&str> = start["attachments"]
            .as_array()?
            .iter()
            .filter_map(|a| a["hook"].as_str())
            .collect();
        Some(hooks.join("+"))
    }

    /// CPU seconds process `pid` has used so far: the sum over its threads of the time on a
    /// CPU (`/proc/PID/task/*/schedstat`, nanoseconds).
    fn cpu_so_far(pid: u32) -> io::Result<f64> {
        let mut ns = 0u64;
        for t in std::fs::read_dir(format!("/proc/{pid}/task"))? {
            let s = std::fs::read_to_string(t?.path().join("schedstat"))?;
            ns += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| io::Error::other(format!("schedstat of {pid}: {s:?}")))?;
        }
        Ok(ns as f64 / 1e9)
    }

    /// The v6probe binary the monitor runs from: `V6PROBE_FLOOD_BIN`, or the one built with
    /// the benchmark.
    fn monitor_bin() -> String {
        std::env::var("V6PROBE_FLOOD_BIN").unwrap_or_else(|_| BIN.to_string())
    }

    /// The pid of `ksoftirqd/CPU`, which runs the receive work a CPU's softirqs defer.
    fn ksoftirqd(cpu: usize) -> io::Result<u32> {
        let want = format!("ksoftirqd/{cpu}");
        for e in std::fs::read_dir("/proc")? {
            let e = e?;
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == want) {
                return Ok(pid);
            }
        }
        Err(io::Error::other(format!("no {want} in /proc")))
    }

    fn pinned(ns: &Netns, tools: &Tools, cpu: usize, program: &str) -> Command {
        let mut c = ns.command(&tools.taskset);
        c.args(["-c", &cpu.to_string(), program]);
        c
    }

    fn start_capturer(
        lab: &Lab,
        tools: &Tools,
        dir: &Path,
        capturer: Capturer,
    ) -> io::Result<Option<Started>> {
        let stdout = dir.join("capture.out");
        let err = dir.join("capture.err");
        let sink = dir.join("capture.sink");
        let out = if capturer == Capturer::MonSinksGuardOff {
            sink.clone()
        } else {
            stdout.clone()
        };
        let mut cmd = match capturer {
            Capturer::Nothing | Capturer::XdpBare => return Ok(None),
            Capturer::Tcpdump => {
                let mut c = pinned(&lab.host, tools, CAPTURER_CPU, &tools.tcpdump);
                // -Z root: tcpdump would otherwise switch to its own user, which cannot write
                // into the private scratch folder; the capture path is the same.
                c.args(["-i", HOST_IF, "-Z", "root", "-w"])
                    .arg(dir.join("capture.pcap"))
                    .arg("icmp6");
                c
            }
            _ => {
                let mut c = pinned(&lab.host, tools, CAPTURER_CPU, &monitor_bin());
                c.args(["monitor", "-i", HOST_IF])
                    .args(capturer.monitor_args().unwrap_or_default());
                if capturer == Capturer::MonSinksGuardOff {
                    c.arg("--output").arg(format!("file:{}", sink.display()));
                }
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&stdout)?)
            .stderr(File::create(&err)?)
            .spawn()?;
        let mut started = Started {
            child,
            out,
            err,
            ready_cpu_s: 0.0,
            hooks: None,
        };
        // Ready: tcpdump says it is listening; the monitor prints its `start` line.
        let (file, needle) = match capturer {
            Capturer::Tcpdump => (started.err.clone(), "listening on"),
            _ => (started.out.clone(), "\"kind\":\"start\""),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = std::fs::read_to_string(&file)
                .ok()
                .filter(|s| s.contains(needle))
            {
                started.ready_cpu_s = cpu_so_far(started.child.id())?;
                if capturer != Capturer::Tcpdump {
                    started.hooks = Some(start_hooks(&s).ok_or_else(|| {
                        io::Error::other(format!(
                            "{}: no hooks in its start line: {s}",
                            capturer.name()
                        ))
                    })?);
                }
                return Ok(Some(started));
            }
            let why = std::fs::read_to_string(&started.err).unwrap_or_default();
            if let Some(status) = started.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{} exited before it was ready ({status}): {}",
                    capturer.name(),
                    why.trim()
                )));
            }
            if Instant::now() >= deadline {
                let _ = started.child.kill();
                let _ = started.child.wait();
                return Err(io::Error::other(format!(
                    "{} not ready after 30 s: {}",
                    capturer.name(),
                    why.trim()
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// What `wait4` says about an ended process.
    struct Ended {
        status: i32,
        cpu_s: f64,
        maxrss_kib: u64,
    }

    /// Sends `sig`, then reaps the process with `wait4` (bounded; SIGKILL after `timeout`).
    fn stop(pid: u32, sig: i32, timeout: Duration) -> io::Result<Ended> {
        let pid = pid as libc::pid_t;
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, sig) };
        let deadline = Instant::now() + timeout;
        loop {
            let mut status = 0;
            // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointers to a status and a rusage.
            let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
            if r == pid {
                let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                return Ok(Ended {
                    status,
                    cpu_s: tv(ru.ru_utime) + tv(ru.ru_stime),
                    maxrss_kib: ru.ru_maxrss as u64,
                });
            }
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            if Instant::now() >= deadline {
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                return Err(io::Error::other(format!(
                    "process {pid} did not end within {timeout:?} of signal {sig}"
                )));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// A running flood.
    enum Flood {
        Process(Child),
        Raw {
            stop: Arc<AtomicBool>,
            thread: thread::JoinHandle<io::Result<()>>,
            sent: Arc<AtomicU64>,
        },
    }

    fn start_flood(lab: &Lab, tools: &Tools, flooder: Flooder) -> io::Result<Flood> {
        let program = match flooder {
            Flooder::ThcNa => &tools.thc_na,
            Flooder::ThcRa => &tools.thc_ra,
            Flooder::RawNa => return start_raw(lab),
        };
        let child = pinned(&lab.flooder, tools, SENDER_CPU, program)
            .arg(FLOOD_IF)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Flood::Process(child))
    }

    fn stop_flood(flood: Flood) -> io::Result<()> {
        match flood {
            Flood::Process(child) => {
                let e = stop(child.id(), libc::SIGTERM, Duration::from_secs(10))?;
                // Killed by the signal is the expected end of a flood that runs until stopped.
                if libc::WIFEXITED(e.status) && libc::WEXITSTATUS(e.status) != 0 {
                    return Err(io::Error::other(format!(
                        "the flooder failed (exit {})",
                        libc::WEXITSTATUS(e.status)
                    )));
                }
                Ok(())
            }
            Flood::Raw { stop, thread, sent } => {
                stop.store(true, Ordering::Relaxed);
                let r = thread
                    .join()
                    .map_err(|_| io::Error::other("the raw sender panicked"))?;
                r?;
                if sent.load(Ordering::Relaxed) == 0 {
                    return Err(io::Error::other("the raw sender sent nothing"));
                }
                Ok(())
            }
        }
    }

    fn one_run(
        lab: &Lab,
        tools: &Tools,
        dir: &Path,
        flooder: Flooder,
        capturer: Capturer,
        round: usize,
        window: Duration,
    ) -> io::Result<Run> {
        for f in ["capture.out", "capture.err", "capture.pcap", "capture.sink"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        let host0 = lab.host.counters(HOST_IF)?;
        // Detached when dropped, after the flood.
        let bare = match capturer {
            Capturer::XdpBare => Some(attach_bare(lab)?),
            _ => None,
        };
        let started = start_capturer(lab, tools, dir, capturer)?;
        let flood0 = lab.flooder.counters(FLOOD_IF)?;
        let flood = start_flood(lab, tools, flooder)?;
        // CPU time on the sender's CPU for the flood: the flooder process's and ksoftirqd's.
        let softirqd = ksoftirqd(SENDER_CPU)?;
        let sender_cpu = |flood: &Flood| -> io::Result<Option<f64>> {
            match flood {
                Flood::Process(child) => Ok(Some(cpu_so_far(child.id())? + cpu_so_far(softirqd)?)),
                Flood::Raw { .. } => Ok(None),
            }
        };
        let result = (|| -> io::Result<(LinkCounters, LinkCounters, f64, Option<f64>)> {
            thread::sleep(WARM_UP);
            let t0 = Instant::now();
            let a = lab.flooder.counters(FLOOD_IF)?;
            let cpu_a = sender_cpu(&flood)?;
            thread::sleep(window);
            let cpu_b = sender_cpu(&flood)?;
            let b = lab.flooder.counters(FLOOD_IF)?;
            let cpu = cpu_a.zip(cpu_b).map(|(a, b)| b - a);
            Ok((a, b, t0.elapsed().as_secs_f64(), cpu))
        })();
        stop_flood(flood)?;
        let (a, b, window_s, sender_cpu_s) = result?;
        let flood1 = lab.flooder.counters(FLOOD_IF)?;
        thread::sleep(SETTLE);
        let mut run = Run {
            flooder,
            capturer,
            round,
            hooks: None,
            window_s,
            sender_rate: (b.tx - a.tx) as f64 / window_s,
            sender_tx_dropped: flood1.tx_dropped - flood0.tx_dropped,
            sender_cpu_ns_per_frame: sender_cpu_s
                .filter(|_| b.tx > a.tx)
                .map(|c| c * 1e9 / (b.tx - a.tx) as f64),
            offered_frames: 0,
            host_rx_dropped: 0,
            offered_ndp: None,
            kernel_frames: None,
            kept: None,
            lines: None,
            drops: None,
            guard_suppressed: None,
            unreported_loss: None,
            sink_dropped: None,
            cpu_s: None,
            startup_cpu_s: None,
            cpu_per_kept_us: None,
            cpu_per_offered_us: None,
            peak_rss_kib: None,
            output_bytes: None,
            write_floor_us_per_kept: None,
        };
        drop(bare);
        let Some(started) = started else {
            let host1 = lab.host.counters(HOST_IF)?;
            run.offered_frames = (host1.rx + host1.tx) - (host0.rx + host0.tx);
            run.host_rx_dropped = host1.rx_dropped - host0.rx_dropped;
            return Ok(run);
        };
        run.hooks = started.hooks.clone();
        let ended = stop(started.child.id(), libc::SIGINT, Duration::from_secs(60))?;
        let host1 = lab.host.counters(HOST_IF)?;
        run.offered_frames = (host1.rx + host1.tx) - (host0.rx + host0.tx);
        run.host_rx_dropped = host1.rx_dropped - host0.rx_dropped;
        let stderr = std::fs::read_to_string(&started.err).unwrap_or_default();
        if !(libc::WIFEXITED(ended.status) && libc::WEXITSTATUS(ended.status) == 0) {
            return Err(io::Error::other(format!(
                "{} ended with wait status {:#x}: {}",
                capturer.name(),
                ended.status,
                stderr.trim()
            )));
        }
        let cpu_s = (ended.cpu_s - started.ready_cpu_s).max(0.0);
        run.cpu_s = Some(cpu_s);
        run.startup_cpu_s = Some(started.ready_cpu_s);
        run.peak_rss_kib = Some(ended.maxrss_kib);
        if capturer == Capturer::Tcpdump {
            let captured = tcpdump_figure(&stderr, "packets captured")?;
            let dropped = tcpdump_figure(&stderr, "packets dropped by kernel")?;
            // Every frame on this link is ICMPv6 (no IPv4 address, no other traffic).
            run.offered_ndp = Some(run.offered_frames);
            run.kept = Some(captured);
            run.drops = Some(dropped);
            run.guard_suppressed = Some(0);
        } else {
            let stats = monitor_stats(&started.out)?;
            let k = &stats["kernel"];
            let n = |key: &str| -> io::Result<u64> {
                k[key].as_u64().ok_or_else(|| {
                    io::Error::other(format!("no kernel.{key} in the monitor's stats: {stats}"))
                })
            };
            let mut ndp = 0;
            for key in [
                "router_solicit",
                "router_advert",
                "neighbor_solicit",
                "neighbor_advert",
                "redirect",
                "dest_unreachable",
                "packet_too_big",
                "time_exceeded",
                "param_problem",
            ] {
                ndp += n(key)?;
            }
            run.offered_ndp = Some(ndp);
            // Only with --count-frames.
            run.kernel_frames = k["frames"].as_u64();
            run.kept = stats["records_read"].as_u64();
            run.drops = Some(n("ringbuf_drops")?);
            run.guard_suppressed = Some(n("flood_suppressed")?);
            run.lines = Some(count_lines(&started.out)?);
            run.sink_dropped = Some(
                stats["sinks"]
                    .as_object()
                    .map(|m| m.values().filter_map(|v| v["dropped"].as_u64()).sum())
                    .unwrap_or(0),
            );
        }
        let (Some(offered), Some(kept), Some(drops), Some(sup)) =
            (run.offered_ndp, run.kept, run.drops, run.guard_suppressed)
        else {
            return Err(io::Error::other("incomplete figures"));
        };
        run.unreported_loss = Some(offered as i64 - kept as i64 - drops as i64 - sup as i64);
        if kept > 0 {
            run.cpu_per_kept_us = Some(cpu_s / kept as f64 * 1e6);
        }
        if run.offered_frames > 0 {
            run.cpu_per_offered_us = Some(cpu_s / run.offered_frames as f64 * 1e6);
        }
        let output = if capturer == Capturer::Tcpdump {
            dir.join("capture.pcap")
        } else {
            started.out.clone()
        };
        let bytes = std::fs::metadata(&output)?.len();
        run.output_bytes = Some(bytes);
        // Its pages freed first, so the floor writes into pages the guest has at hand, as the
        // capturer did (on this VM, pages not touched for a while cost up to 7x more to fill).
        std::fs::remove_file(&output)?;
        if kept > 0 {
            run.write_floor_us_per_kept = Some(write_floor(dir, bytes)? / kept as f64 * 1e6);
        }
        Ok(run)
    }

    /// CPU seconds a thread pinned to the capturer's CPU spends writing `bytes` bytes into a new
    /// file in `dir` in 64 KiB writes (the file removed afterwards, before its pages are written
    /// back): the least that putting a capturer's output into the page cache costs.
    /// One-off figures, not averaged: like the capturers' own writes, they move with the
    /// machine's page-cache state.
    fn write_floor(dir: &Path, bytes: u64) -> io::Result<f64> {
        let path = dir.join("floor.out");
        let worker = {
            let path = path.clone();
            thread::spawn(move || -> io::Result<f64> {
                // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET stays inside it (the
                // constant is below CPU_SETSIZE) and the call only reads it.
                unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(CAPTURER_CPU, &mut set);
                    if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                let thread_cpu = || {
                    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
                    // SAFETY: a valid clock id and a timespec to fill.
                    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
                };
                let chunk = vec![b'x'; 64 << 10];
                let mut f = File::create(&path)?;
                let t0 = thread_cpu();
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    f.write_all(&chunk[..n])?;
                    left -= n as u64;
                }
                let cpu = thread_cpu() - t0;
                drop(f);
                Ok(cpu)
            })
        };
        let cpu = worker
            .join()
            .map_err(|_| io::Error::other("the write-floor thread panicked"))?;
        let _ = std::fs::remove_file(&path);
        cpu
    }

    /// `N packets captured` (and the like) from tcpdump's closing lines.
    fn tcpdump_figure(stderr: &str, what: &str) -> io::Result<u64> {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_suffix(what)?.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("no `{what}` in tcpdump's output: {stderr}")))
    }

    /// The monitor's `stats` line (its last line).
    fn monitor_stats(out: &Path) -> io::Result<Value> {
        let mut f = File::open(out)?;
        let len = f.metadata()?.len();
        // The stats line is the last one; read the file's tail only (with --events all the
        // file holds every packet line).
        let tail = 1 << 20;
        if len > tail {
            use std::io::Seek as _;
            f.seek(io::SeekFrom::Start(len - tail))?;
        }
        let mut s = Vec::new();
        f.read_to_end(&mut s)?;
        let s = String::from_utf8_lossy(&s);
        s.lines()
            .rev()
            .find(|l| l.contains("\"kind\":\"stats\""))
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                io::Error::other(format!("no stats line at the end of {}", out.display()))
            })
    }

    fn count_lines(path: &Path) -> io::Result<u64> {
        let mut f = File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let got = f.read(&mut buf)?;
            if got == 0 {
                return Ok(n);
            }
            n += buf[..got].iter().filter(|b| **b == b'\n').count() as u64;
        }
    }

    fn median(v: Vec<f64>) -> f64 {
        v6probe_lab::bench::quantile(&v, 0.5)
    }

    fn summarize(runs: &[Run], tools: &Tools) -> Vec<Row> {
        let mut groups: BTreeMap<(Flooder, Capturer), Vec<&Run>> = BTreeMap::new();
        for r in runs {
            groups.entry((r.flooder, r.capturer)).or_default().push(r);
        }
        let med = |g: &[&Run], f: &dyn Fn(&Run) -> Option<f64>| -> Option<f64> {
            let v: Vec<f64> = g.iter().filter_map(|r| f(r)).collect();
            (!v.is_empty()).then(|| median(v))
        };
        let mut rows: Vec<Row> = groups
            .iter()
            .map(|((flooder, capturer), g)| Row {
                flooder: *flooder,
                capturer: *capturer,
                hooks: {
                    let mut h: Vec<&str> = g.iter().filter_map(|r| r.hooks.as_deref()).collect();
                    h.sort_unstable();
                    h.dedup();
                    (!h.is_empty()).then(|| h.join(" / "))
                },
                command: command_line(*flooder, *capturer, tools),
                rounds: g.len(),
                sender_rate: med(g, &|r| Some(r.sender_rate)).unwrap_or(f64::NAN),
                sender_share_of_nothing: f64::NAN,
                sender_share_of_tcpdump: f64::NAN,
                sender_share_of_tcpdump_rounds: Vec::new(),
                sender_share_of_tcpdump_of_medians: f64::NAN,
                sender_share_of_xdp_bare: f64::NAN,
                sender_cpu_ns_per_frame: med(g, &|r| r.sender_cpu_ns_per_frame),
                sender_cpu_share_of_tcpdump: None,
                sender_cpu_share_of_xdp_bare: None,
                offered_frames: med(g, &|r| Some(r.offered_frames as f64)).unwrap_or(f64::NAN),
                kept: med(g, &|r| r.kept.map(|k| k as f64)),
                drops: med(g, &|r| r.drops.map(|k| k as f64)),
                guard_suppressed: med(g, &|r| r.guard_suppressed.map(|k| k as f64)),
                unreported_loss_max: g.iter().filter_map(|r| r.unreported_loss).max(),
                cpu_s: med(g, &|r| r.cpu_s),
                startup_cpu_s: med(g, &|r| r.startup_cpu_s),
                sink_dropped: med(g, &|r| r.sink_dropped.map(|k| k as f64)),
                cpu_per_kept_us: med(g, &|r| r.cpu_per_kept_us),
                cpu_per_offered_us: med(g, &|r| r.cpu_per_offered_us),
                cpu_per_kept_x_tcpdump: None,
                cpu_per_kept_x_tcpdump_rounds: Vec::new(),
                cpu_per_kept_x_tcpdump_of_medians: None,
                cpu_per_offered_x_tcpdump: None,
                cpu_per_offered_x_tcpdump_of_medians: None,
                peak_rss_kib: med(g, &|r| r.peak_rss_kib.map(|k| k as f64)),
                output_bytes_per_kept: med(g, &|r| {
                    r.output_bytes
                        .zip(r.kept)
                        .filter(|(_, k)| *k > 0)
                        .map(|(b, k)| b as f64 / k as f64)
                }),
                write_floor_us_per_kept: med(g, &|r| r.write_floor_us_per_kept),
                write_floor_x_tcpdump: None,
            })
            .collect();
        let lookup: BTreeMap<(Flooder, Capturer), Row> = rows
            .iter()
            .map(|r| ((r.flooder, r.capturer), r.clone()))
            .collect();
        // Per-round ratios of this row's runs to the baseline's run in the same round, in
        // round order: `ratio(x, base)` of this run's `fig` and the baseline run's `base_fig`
        // where both have one.
        let paired_with = |row: &Row,
                           base: Capturer,
                           fig: &dyn Fn(&Run) -> Option<f64>,
                           base_fig: &dyn Fn(&Run) -> Option<f64>,
                           ratio: &dyn Fn(f64, f64) -> f64|
         -> Vec<f64> {
            let mut mine: Vec<&Run> = groups
                .get(&(row.flooder, row.capturer))
                .map_or(Vec::new(), |g| g.clone());
            mine.sort_by_key(|r| r.round);
            let theirs = groups
                .get(&(row.flooder, base))
                .map_or(&[][..], |g| g.as_slice());
            mine.iter()
                .filter_map(|r| {
                    let b = theirs.iter().find(|b| b.round == r.round)?;
                    let (x, y) = (fig(r)?, base_fig(b)?);
                    (x > 0.0 && y > 0.0).then(|| ratio(x, y))
                })
                .collect()
        };
        // The same figure on both sides.
        let paired = |row: &Row,
                      base: Capturer,
                      fig: &dyn Fn(&Run) -> Option<f64>,
                      ratio: &dyn Fn(f64, f64) -> f64|
         -> Vec<f64> { paired_with(row, base, fig, fig, ratio) };
        let med_of = |v: &[f64]| (!v.is_empty()).then(|| median(v.to_vec()));
        let share = |x: f64, base: f64| x / base;
        let cost_share = |x: f64, base: f64| base / x;
        let rate = |r: &Run| Some(r.sender_rate);
        let sender_ns = |r: &Run| r.sender_cpu_ns_per_frame;
        let per_kept = |r: &Run| r.cpu_per_kept_us;
        let per_offered = |r: &Run| r.cpu_per_offered_us;
        for r in &mut rows {
            // No baseline run: no pairs, so NaN / None.
            r.sender_share_of_nothing =
                med_of(&paired(r, Capturer::Nothing, &rate, &share)).unwrap_or(f64::NAN);
            r.sender_share_of_xdp_bare =
                med_of(&paired(r, Capturer::XdpBare, &rate, &share)).unwrap_or(f64::NAN);
            r.sender_cpu_share_of_xdp_bare =
                med_of(&paired(r, Capturer::XdpBare, &sender_ns, &cost_share));
            if let Some(t) = lookup.get(&(r.flooder, Capturer::Tcpdump)) {
                r.sender_share_of_tcpdump_rounds = paired(r, Capturer::Tcpdump, &rate, &share);
                r.sender_share_of_tcpdump =
                    med_of(&r.sender_share_of_tcpdump_rounds).unwrap_or(f64::NAN);
                r.sender_share_of_tcpdump_of_medians = r.sender_rate / t.sender_rate;
                r.sender_cpu_share_of_tcpdump =
                    med_of(&paired(r, Capturer::Tcpdump, &sender_ns, &cost_share));
                r.cpu_per_kept_x_tcpdump_rounds = paired(r, Capturer::Tcpdump, &per_kept, &share);
                r.cpu_per_kept_x_tcpdump = med_of(&r.cpu_per_kept_x_tcpdump_rounds);
                r.cpu_per_kept_x_tcpdump_of_medians =
                    r.cpu_per_kept_us.zip(t.cpu_per_kept_us).map(|(a, b)| a / b);
                r.cpu_per_offered_x_tcpdump =
                    med_of(&paired(r, Capturer::Tcpdump, &per_offered, &share));
                r.cpu_per_offered_x_tcpdump_of_medians = r
                    .cpu_per_offered_us
                    .zip(t.cpu_per_offered_us)
                    .map(|(a, b)| a / b);
                // This run's floor against the same round's tcpdump run's whole cost.
                r.write_floor_x_tcpdump = med_of(&paired_with(
                    r,
                    Capturer::Tcpdump,
                    &|x: &Run| x.write_floor_us_per_kept,
                    &per_kept,
                    &share,
                ));
            }
        }
        rows
    }

    fn command_line(flooder: Flooder, capturer: Capturer, tools: &Tools) -> String {
        let flood = match flooder {
            Flooder::ThcNa => format!("{} {FLOOD_IF}", tools.thc_na),
            Flooder::ThcRa => format!("{} {FLOOD_IF}", tools.thc_ra),
            Flooder::RawNa => "raw NA sender".into(),
        };
        let cap = match capturer {
            Capturer::Nothing => "-".into(),
            Capturer::XdpBare => format!("XDP program {} on {HOST_IF}", abi::PROG_XDP_BARE),
            Capturer::Tcpdump => format!("tcpdump -i {HOST_IF} -Z root -w FILE icmp6"),
            Capturer::MonSinksGuardOff => format!(
                "v6probe monitor -i {HOST_IF} {} --output file:FILE",
                capturer.monitor_args().unwrap_or_default().join(" ")
            ),
            c => format!(
                "v6probe monitor -i {HOST_IF} {} > FILE",
                c.monitor_args().unwrap_or_default().join(" ")
            ),
        };
        format!("flood: taskset -c {SENDER_CPU} {flood}; capture: taskset -c {CAPTURER_CPU} {cap}")
    }

    /// A row's capturer, with the hooks a monitor attached: `monitor --events none
    /// [tc_ingress+tc_egress]`.
    fn row_label(r: &Row) -> String {
        match &r.hooks {
            Some(h) => format!("{} [{h}]", r.capturer.name()),
            None => r.capturer.name().to_string(),
        }
    }

    fn print_table(rows: &[Row]) {
        let opt = |v: Option<f64>, prec: usize| v.map_or("-".into(), |x| format!("{x:.prec$}"));
        for flooder in Flooder::ALL {
            if !rows.iter().any(|r| r.flooder == flooder) {
                continue;
            }
            println!(
                "\n{} (medians; ratios: medians of per-round ratios; loss: worst round)",
                flooder.name()
            );
            println!(
                "{:<70} {:>10} {:>6} {:>6} {:>6} {:>8} {:>6} {:>6} {:>10} {:>9} {:>9} {:>9} {:>5} {:>9} {:>6} {:>9} {:>6} {:>8} {:>6} {:>8} {:>6}",
                "capturer",
                "sender/s",
                "x none",
                "x tcpd",
                "x xdp",
                "ns/frame",
                "x tcpd",
                "x xdp",
                "offered",
                "kept",
                "drops",
                "guarded",
                "loss",
                "us/kept",
                "x tcpd",
                "us/offer",
                "x tcpd",
                "RSS MiB",
                "B/kept",
                "floor us",
                "x tcpd"
            );
            for r in rows.iter().filter(|r| r.flooder == flooder) {
                println!(
                    "{:<70} {:>10.0} {:>6.2} {:>6.2} {:>6.2} {:>8} {:>6} {:>6} {:>10.0} {:>9} {:>9} {:>9} {:>5} {:>9} {:>6} {:>9} {:>6} {:>8} {:>6} {:>8} {:>6}",
                    row_label(r),
                    r.sender_rate,
                    r.sender_share_of_nothing,
                    r.sender_share_of_tcpdump,
                    r.sender_share_of_xdp_bare,
                    opt(r.sender_cpu_ns_per_frame, 1),
                    opt(r.sender_cpu_share_of_tcpdump, 2),
                    opt(r.sender_cpu_share_of_xdp_bare, 2),
                    r.offered_frames,
                    opt(r.kept, 0),
                    opt(r.drops, 0),
                    opt(r.guard_suppressed, 0),
                    r.unreported_loss_max.map_or("-".into(), |l| l.to_string()),
                    opt(r.cpu_per_kept_us, 3),
                    opt(r.cpu_per_kept_x_tcpdump, 2),
                    opt(r.cpu_per_offered_us, 3),
                    opt(r.cpu_per_offered_x_tcpdump, 2),
                    opt(r.peak_rss_kib.map(|k| k / 1024.0), 1),
                    opt(r.output_bytes_per_kept, 0),
                    opt(r.write_floor_us_per_kept, 3),
                    opt(r.write_floor_x_tcpdump, 2),
                );
            }
        }
        println!();
    }

    /// Frames in the raw sender's pool: varied source MACs and targets, as a flood tool's.
    const POOL: usize = 1024;
    /// Frames per `sendmmsg`.
    const BATCH: usize = 64;

    /// An unsolicited NA (override flag, target option), from a synthetic link-local address
    /// and MAC (`i` varies both and the target), to all nodes; checksum filled in.
    pub(super) fn na_frame(i: u16) -> Vec<u8> {
        let mac = [0x02, 0x00, 0x5e, 0x10, (i >> 8) as u8, i as u8];
        let mut src = [0u8; 16];
        src[0] = 0xfe;
        src[1] = 0x80;
        src[8..11].copy_from_slice(&[0x00, 0x00, 0x5e]);
        src[11] = 0xff;
        src[12] = 0xfe;
        src[13] = 0x10;
        src[14] = (i >> 8) as u8;
        src[15] = i as u8;
        let dst: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut target = [0u8; 16];
        target[..4].copy_from_slice(&[0xfd, 0x00, 0x00, 0x0f]);
        target[14] = (i >> 8) as u8;
        target[15] = i as u8;
        let mut icmp = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
        icmp.extend_from_slice(&target);
        icmp.extend_from_slice(&[2, 1]);
        icmp.extend_from_slice(&mac);
        let mut sum: u32 = 0;
        let mut add = |b: &[u8]| {
            for c in b.chunks(2) {
                sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            }
        };
        add(&src);
        add(&dst);
        add(&(icmp.len() as u32).to_be_bytes());
        add(&[0, 0, 0, 58]);
        add(&icmp);
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let ck = !(sum as u16);
        icmp[2..4].copy_from_slice(&ck.to_be_bytes());
        let mut f = vec![0x33, 0x33, 0, 0, 0, 1];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
        f.extend_from_slice(&[58, 255]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&icmp);
        f
    }

    fn start_raw(lab: &Lab) -> io::Result<Flood> {
        // The socket is opened in the flooder's namespace; it keeps sending there from any
        // thread.
        let fd = in_netns(lab.flooder.name(), || -> io::Result<OwnedFd> {
            // SAFETY: plain socket(2) call; the fd is owned below.
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: fd is a fresh, valid descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let name = std::ffi::CString::new(FLOOD_IF).map_err(io::Error::other)?;
            // SAFETY: a NUL-terminated name.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: an all-zero sockaddr_ll is valid; the fields set below make it a bind
            // to the interface with protocol 0 (send only, nothing received).
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_ifindex = ifindex as i32;
            // SAFETY: a valid sockaddr_ll of the size given.
            let r = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(fd)
        })??;
        let frames: Vec<Vec<u8>> = (0..POOL as u16).map(na_frame).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let thread = thread::spawn(move || -> io::Result<()> {
            pin_to(SENDER_CPU)?;
            let mut next = 0usize;
            // Bounded: the caller stops it after its window; this cap only guards a caller
            // that never does.
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop2.load(Ordering::Relaxed) && Instant::now() < deadline {
                let mut iov: Vec<libc::iovec> = (0..BATCH)
                    .map(|k| {
                        let f = &frames[(next + k) % POOL];
                        libc::iovec {
                            iov_base: f.as_ptr() as *mut libc::c_void,
                            iov_len: f.len(),
                        }
                    })
                    .collect();
                // SAFETY: all-zero mmsghdrs are valid; each gets one iovec below.
                let mut msgs: Vec<libc::mmsghdr> =
                    (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
                for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
                    m.msg_hdr.msg_iov = v;
                    m.msg_hdr.msg_iovlen = 1;
                }
                // SAFETY: msgs and the iovecs and frames they point to outlive the call.
                let n =
                    unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), BATCH as u32, 0) };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    // A full queue under the flood is expected: try again.
                    if matches!(e.raw_os_error(), Some(libc::ENOBUFS) | Some(libc::EAGAIN)) {
                        continue;
                    }
                    return Err(e);
                }
                next = (next + n as usize) % POOL;
                sent2.fetch_add(n as u64, Ordering::Relaxed);
            }
            Ok(())
        });
        Ok(Flood::Raw { stop, thread, sent })
    }

    /// Loads the programs and attaches the bare XDP_PASS one to the capturing veth (in the
    /// host's namespace); detached when the returned value is dropped.
    fn attach_bare(lab: &Lab) -> io::Result<Programs> {
        in_netns(lab.host.name(), || -> Result<Programs, String> {
            let mut p = Programs::load(class::ALL).map_err(|e| format!("loading: {e}"))?;
            p.xdp(abi::PROG_XDP_BARE)
                .map_err(|e| e.to_string())?
                .attach(HOST_IF, XdpMode::default())
                .map_err(|e| format!("attaching {} to {HOST_IF}: {e}", abi::PROG_XDP_BARE))?;
            Ok(p)
        })?
        .map_err(io::Error::other)
    }

    fn pin_to(cpu: usize) -> io::Result<()> {
        // SAFETY: a zeroed cpu_set_t is empty; CPU_SET and sched_setaffinity(0) act on this
        // thread only.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}
