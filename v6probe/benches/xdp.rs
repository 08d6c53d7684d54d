//! XDP program cost per packet with BPF_PROG_TEST_RUN, as ratios against baselines measured in
//! the same run (absolute nanoseconds move 3x between machines; ratios do not):
//! - non-ICMPv6 frames through the observer against a bare `XDP_PASS` program (target: IPv6
//!   TCP <= 1.2x), and through the TC ingress classifier against a bare classifier;
//! - NS and RA record paths against the floor of the record path: a program that only
//!   reserves, fills and submits a record of the same size class, without parsing
//!   (`v6p_xdp_floor`; target <= 1.3x), per size class (128, 256, 512, 2048 bytes of frame);
//! - the same NS with the flood guard on (under its rate: the guard's own cost; over it: the
//!   counted, unrecorded path);
//! - the non-ICMPv6 frames with every frame counted (`monitor --count-frames`: the `_all`
//!   program, every frame through the parser and a per-CPU counter update, which the default
//!   leaves out);
//! - the same frames with the programs loaded with `--kernel-log debug`, beside the default
//!   (off): the log calls sit off these paths, and with logging off the verifier removes them
//!   (the translated program sizes are printed and written too).
//!
//! Method. The kernel's own figure (`duration` of BPF_PROG_TEST_RUN) is a whole-nanosecond
//! average per call, steps of 12-14% near 7 ns, so the bench times each test_run call itself:
//! the calling thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`, nanoseconds, monotonic) read just
//! before and after the syscall, divided by the call's repeat count (up to 1,000,000, never more
//! records than half the ring holds). The thread's CPU clock runs only while the thread runs,
//! so time spent rescheduled to the other builds on a shared 2-core machine is left out, as the
//! kernel's figure leaves it out, but at sub-nanosecond resolution. The syscall costs about
//! 0.3 ms of CPU outside the run loop (3 ns per packet of a 100,000-packet call, which would
//! pull every ratio toward 1): each measurement first times a single-packet call and subtracts
//! that from every call, and the calls are long, so what is left is a few hundredths of a ns.
//! Each configuration runs 1,000,000 packets per round; the rounds (30) interleave all
//! configurations (forward order on even rounds, reverse on odd, so no configuration always
//! follows the same one). Per row: the median of the round figures, with the minimum and the
//! interquartile range (25th..75th percentile). Each ratio is computed per round, from the two
//! figures of that round (load changes hit both sides alike), and the median of the per-round
//! ratios is reported and judged against the target, with its interquartile range. The
//! kernel's whole-nanosecond figure is still written beside ours (`kernel_ns_per_packet`,
//! median) as a cross-check.
//!
//! For frames that produce records a consumer thread drains the ring concurrently, and it is
//! fully drained between calls (outside the timing): no record is dropped (the drop counter is
//! printed to prove it).
//!
//! A run that cannot measure (no privileges, programs that do not load) removes the old
//! `target/bench/xdp.json` and exits 1 with the reason.
//!
//! `V6PROBE_XDP_ROUNDS` (default 30) sets the rounds; `V6PROBE_XDP_ONLY` (a comma-separated
//! list of configuration names) runs only those and their baselines, for a closer look at a
//! few rows with more rounds.

fn main() {
    #[cfg(target_os = "linux")]
    imp::main();
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("xdp bench: Linux only");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::{
        path::PathBuf,
        sync::{
            atomic::{AtomicBool, AtomicU64, Ordering},
            Arc,
        },
        thread::JoinHandle,
        time::{Duration, Instant},
    };

    use aya::programs::{
        ProgramError, SchedClassifier, TestRun, TestRunOptions, TestRunResult, Xdp,
    };
    use serde::Serialize;
    use v6probe::{
        abi::{self, class, counter, FloodGuard, Rate},
        observe::{KernelLog, LoadOptions, Programs},
    };
    use v6probe_lab::bench::{quantile, thread_cpu_ns};
    use v6probe_lab::frame::{ns_body, ra_body, FrameSpec};

    /// Packets per configuration per round.
    const PACKETS: u32 = 1_000_000;
    const CHUNK: u32 = 1_000_000;
    const ROUNDS: usize = 30;
    const RING_BYTES: u32 = 128 << 20;
    const NAME: &str = "xdp";

    /// Which loaded programs and guard setting a configuration runs with.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Setup {
        /// Logging off (the default), flood guard off.
        Plain,
        /// Flood guard on, at a rate the run never reaches.
        GuardUnder,
        /// Flood guard on, one record per second: all but the first frame are counted.
        GuardOver,
        /// Programs loaded with `--kernel-log debug`.
        Logged,
        /// Programs loaded counting every frame (`monitor --count-frames`).
        Counted,
    }

    struct Config {
        name: String,
        prog: &'static str,
        frame: Vec<u8>,
        setup: Setup,
        /// The configuration this one is divided by, and the target for the ratio.
        baseline: Option<(String, Option<f64>)>,
    }

    #[derive(Serialize)]
    struct Figure {
        name: String,
        frame_bytes: usize,
        /// The record's size class (frame bytes it holds), for configurations that record.
        size_class: Option<usize>,
        /// Thread CPU time per packet around the test_run calls: median of the rounds.
        ns_per_packet: f64,
        ns_min: f64,
        ns_p25: f64,
        ns_p75: f64,
        /// BPF_PROG_TEST_RUN's own whole-nanosecond figure, median of the rounds.
        kernel_ns_per_packet: f64,
        baseline: Option<String>,
        /// Median of the per-round ratios (this row's figure / the baseline's, same round).
        ratio: Option<f64>,
        ratio_p25: Option<f64>,
        ratio_p75: Option<f64>,
        /// Per-call syscall overhead measured and subtracted (ns of CPU), median of the rounds.
        call_overhead_ns: f64,
        target: Option<f64>,
        met: Option<bool>,
        records_per_packet: f64,
    }

    #[derive(Serialize)]
    struct Sizes {
        /// Translated (verified, dead code removed) size of v6p_xdp in bytes.
        xdp_translated_log_off: Option<u32>,
        xdp_translated_log_debug: Option<u32>,
        xdp_jited_log_off: u32,
        xdp_jited_log_debug: u32,
    }

    #[derive(Serialize)]
    struct Output {
        method: &'static str,
        rounds: usize,
        packets_per_round: u32,
        figures: Vec<Figure>,
        program_sizes: Sizes,
        ringbuf_drops: u64,
    }

    fn json_path() -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("bench")
            .join(format!("{NAME}.json"))
    }

    /// Removes the old figures and exits 1: a benchmark that cannot run leaves nothing that
    /// looks like a result.
    fn cannot_run(reason: &str) -> ! {
        let path = json_path();
        match std::fs::remove_file(&path) {
            Ok(()) => eprintln!("xdp bench: removed the old {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("xdp bench: could not remove {}: {e}", path.display()),
        }
        eprintln!("xdp bench: cannot run: {reason}");
        std::process::exit(1);
    }

    /// A Router Advertisement with ra_body's options and `pios` more prefixes.
    fn ra(pios: usize) -> Vec<u8> {
        let mut body = ra_body();
        for i in 0..pios {
            body.extend_from_slice(&[
                3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0,
            ]);
            body.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, (i >> 8) as u8, i as u8]);
            body.extend_from_slice(&[0; 8]);
        }
        FrameSpec::icmp(134, 0, &body).build()
    }

    fn configs() -> Vec<Config> {
        let mut v4 = FrameSpec::icmp(0, 0, &[]);
        v4.ethertype = 0x0800;
        // A 20-byte IPv4 header + 20-byte TCP header after Ethernet.
        let mut ipv4_tcp = v4.build();
        ipv4_tcp.truncate(14);
        ipv4_tcp.extend_from_slice(&[
            0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
        ]);
        ipv4_tcp.extend_from_slice(&[
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        let mut tcp6 = FrameSpec::icmp(0, 0, &[]);
        tcp6.upper = 6;
        tcp6.payload = vec![
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0,
        ];
        let ipv6_tcp = tcp6.build();
        let ns = FrameSpec::icmp(135, 0, &ns_body()).build();
        let base = |name: &str, target: Option<f64>| Some((name.to_string(), target));
        let plain = |name: &str, prog, frame: &Vec<u8>, baseline| Config {
            name: name.to_string(),
            prog,
            frame: frame.clone(),
            setup: Setup::Plain,
            baseline,
        };
        let mut c = vec![
            plain("bare_xdp_pass", abi::PROG_XDP_BARE, &ipv4_tcp, None),
            plain(
                "ipv4_tcp",
                abi::PROG_XDP,
                &ipv4_tcp,
                base("bare_xdp_pass", Some(1.2)),
            ),
            plain(
                "ipv6_tcp",
                abi::PROG_XDP,
                &ipv6_tcp,
                base("bare_xdp_pass", Some(1.2)),
            ),
            // The same frames through the TC classifier (the hook `--hook auto` takes on a
            // veth), against a bare classifier.
            plain("bare_tc", abi::PROG_TC_BARE, &ipv4_tcp, None),
            plain(
                "ipv4_tcp_tc",
                abi::PROG_TC_INGRESS,
                &ipv4_tcp,
                base("bare_tc", None),
            ),
            plain(
                "ipv6_tcp_tc",
                abi::PROG_TC_INGRESS,
                &ipv6_tcp,
                base("bare_tc", None),
            ),
        ];
        // One NS / RA per size class: 86, 174, ~430 and ~1400 bytes of frame.
        for (label, frame) in [
            ("ns", ns.clone()),
            ("ra_5_options", ra(0)),
            ("ra_13_options", ra(8)),
            ("ra_40_options", ra(35)),
        ] {
            let class = abi::FRAME_CLASSES[abi::size_class(frame.len())];
            let floor = format!("floor_{class}");
            c.push(plain(&floor, abi::PROG_XDP_FLOOR, &frame, None));
            c.push(plain(
                &format!("{label}_record_{class}"),
                abi::PROG_XDP,
                &frame,
                base(&floor, Some(1.3)),
            ));
        }
        c.push(Config {
            name: "ns_record_128_guard_under_rate".into(),
            prog: abi::PROG_XDP,
            frame: ns.clone(),
            setup: Setup::GuardUnder,
            baseline: base("floor_128", Some(1.3)),
        });
        c.push(Config {
            name: "ns_counted_guard_over_rate".into(),
            prog: abi::PROG_XDP,
            frame: ns.clone(),
            setup: Setup::GuardOver,
            baseline: base("bare_xdp_pass", None),
        });
        c.push(Config {
            name: "ipv4_tcp_count_frames".into(),
            prog: abi::PROG_XDP,
            frame: ipv4_tcp.clone(),
            setup: Setup::Counted,
            baseline: base("bare_xdp_pass", None),
        });
        c.push(Config {
            name: "ipv6_tcp_count_frames".into(),
            prog: abi::PROG_XDP,
            frame: ipv6_tcp.clone(),
            setup: Setup::Counted,
            baseline: base("bare_xdp_pass", None),
        });
        c.push(Config {
            name: "ipv6_tcp_log_debug".into(),
            prog: abi::PROG_XDP,
            frame: ipv6_tcp,
            setup: Setup::Logged,
            baseline: base("ipv6_tcp", None),
        });
        c.push(Config {
            name: "ns_record_128_log_debug".into(),
            prog: abi::PROG_XDP,
            frame: ns,
            setup: Setup::Logged,
            baseline: base("ns_record_128", None),
        });
        c
    }

    /// An XDP program or a TC classifier, run the same way.
    enum Prog<'a> {
        Xdp(&'a mut Xdp),
        Tc(&'a mut SchedClassifier),
    }

    impl Prog<'_> {
        fn test_run(&self, opts: TestRunOptions<'_>) -> Result<TestRunResult, ProgramError> {
            match self {
                Prog::Xdp(p) => p.test_run(opts),
                Prog::Tc(p) => p.test_run(opts),
            }
        }
    }

    /// The programs plus a thread draining their ring.
    struct Loaded {
        programs: Programs,
        consumed: Arc<AtomicU64>,
        stop: Arc<AtomicBool>,
        consumer: Option<JoinHandle<u64>>,
    }

    impl Loaded {
        fn new(kernel_log: KernelLog, count_frames: bool) -> Self {
            let mut programs = Programs::load_with(&LoadOptions {
                report_mask: class::ALL,
                ring_bytes: RING_BYTES,
                kernel_log,
                count_frames,
                ..LoadOptions::default()
            })
            .unwrap_or_else(|e| cannot_run(&format!("loading the programs: {e}")));
            let mut ring = programs
                .take_ring()
                .unwrap_or_else(|e| cannot_run(&format!("ring buffer: {e}")));
            let consumed = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let consumer = {
                let consumed = consumed.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut sink = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let mut n = 0;
                        while let Some(item) = ring.next() {
                            // Touch the record like a reader would: header and frame.
                            sink = sink.wrapping_add(u64::from(item[20]) + u64::from(item[60]));
                            n += 1;
                        }
                        if n == 0 {
                            std::thread::sleep(Duration::from_micros(50));
                        } else {
                            consumed.fetch_add(n, Ordering::Relaxed);
                        }
                    }
                    sink
                })
            };
            Self {
                programs,
                consumed,
                stop,
                consumer: Some(consumer),
            }
        }

        fn prog(&mut self, name: &'static str) -> Prog<'_> {
            if name == abi::PROG_TC_BARE || name == abi::PROG_TC_INGRESS {
                Prog::Tc(self.programs.classifier(name).expect("program"))
            } else {
                Prog::Xdp(self.programs.xdp(name).expect("program"))
            }
        }

        fn records(&self) -> u64 {
            self.programs.counters().expect("counters")[counter::RECORDS as usize]
        }

        /// Runs `frame` PACKETS times; (thread CPU ns/packet, kernel ns/packet, per-call
        /// overhead ns subtracted, records).
        fn measure(&mut self, prog: &'static str, frame: &[u8]) -> (f64, f64, f64, u64) {
            let slot = abi::ring_slot(abi::size_class(frame.len()));
            let chunk = CHUNK.min((u64::from(RING_BYTES) / slot / 2) as u32);
            let consumed_before = self.consumed.load(Ordering::Relaxed);
            let records_before = self.records();
            // The syscall's own cost outside the run loop (about 0.3 ms of CPU on the test
            // machine, 3 ns per packet of a 100,000-packet call): one single-packet call,
            // subtracted from every call below.
            let overhead = {
                let xdp = self.prog(prog);
                let opts = TestRunOptions {
                    data_in: Some(frame),
                    repeat: 1,
                    ..TestRunOptions::new()
                };
                let t0 = thread_cpu_ns();
                let res = xdp.test_run(opts);
                let t1 = thread_cpu_ns();
                res.expect("test_run");
                t1 - t0
            };
            let mut cpu_total = 0f64;
            let mut kernel_total = 0f64;
            let mut done = 0;
            let mut produced = 0u64;
            while done < PACKETS {
                let n = chunk.min(PACKETS - done);
                let xdp = self.prog(prog);
                let opts = TestRunOptions {
                    data_in: Some(frame),
                    repeat: n,
                    ..TestRunOptions::new()
                };
                let t0 = thread_cpu_ns();
                let res = xdp.test_run(opts);
                let t1 = thread_cpu_ns();
                let res = res.expect("test_run");
                cpu_total += (t1 - t0).saturating_sub(overhead) as f64;
                kernel_total += res.duration.as_nanos() as f64 * f64::from(n);
                // XDP_PASS, or TC_ACT_UNSPEC (-1).
                let pass = match prog {
                    abi::PROG_TC_BARE | abi::PROG_TC_INGRESS => u32::MAX,
                    _ => 2,
                };
                assert_eq!(res.return_value, pass, "{prog} lets the frame pass");
                done += n;
                // The floor program keeps no counters: a record per packet.
                produced = if prog == abi::PROG_XDP_FLOOR {
                    u64::from(done)
                } else {
                    self.records() - records_before
                };
                // Let the consumer empty the ring before the next call.
                let deadline = Instant::now() + Duration::from_secs(30);
                while self.consumed.load(Ordering::Relaxed) - consumed_before < produced
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            let packets = f64::from(PACKETS);
            (
                cpu_total / packets,
                kernel_total / packets,
                overhead as f64,
                produced,
            )
        }

        fn drops(&self) -> u64 {
            self.programs.counters().expect("counters")[counter::RINGBUF_DROPS as usize]
        }

        fn sizes(&mut self) -> (Option<u32>, u32) {
            let info = self
                .programs
                .xdp(abi::PROG_XDP)
                .expect("program")
                .info()
                .expect("program info");
            (info.size_translated(), info.size_jitted())
        }
    }

    impl Drop for Loaded {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(c) = self.consumer.take() {
                let _ = c.join();
            }
        }
    }

    fn round3(x: f64) -> f64 {
        (x * 1000.0).round() / 1000.0
    }

    fn round2(x: f64) -> f64 {
        (x * 100.0).round() / 100.0
    }

    pub fn main() {
        // Removes the previous JSON first: figures of an older run never pass for this one's.
        let mut bench = v6probe_lab::bench::Bench::start(NAME);
        bench.require_privileges();
        let mut plain = Loaded::new(KernelLog::Off, false);
        let mut logged = Loaded::new(KernelLog::Debug, false);
        let mut counted = Loaded::new(KernelLog::Off, true);
        let rounds = match std::env::var("V6PROBE_XDP_ROUNDS") {
            Err(_) => ROUNDS,
            Ok(s) => match s.parse::<usize>() {
                Ok(r) if (1..=1000).contains(&r) => r,
                _ => cannot_run(&format!(
                    "V6PROBE_XDP_ROUNDS={s:?}: not a number in 1..=1000"
                )),
            },
        };
        let mut configs = configs();
        if let Ok(only) = std::env::var("V6PROBE_XDP_ONLY") {
            let names: Vec<&str> = only.split(',').map(str::trim).collect();
            for n in &names {
                if !configs.iter().any(|c| c.name == *n) {
                    cannot_run(&format!("V6PROBE_XDP_ONLY: no configuration {n:?}"));
                }
            }
            let keep = |c: &Config| names.contains(&c.name.as_str());
            let bases: Vec<String> = configs
                .iter()
                .filter(|c| keep(c))
                .filter_map(|c| c.baseline.as_ref().map(|b| b.0.clone()))
                .collect();
            configs.retain(|c| keep(c) || bases.contains(&c.name));
        }
        let n = configs.len();
        // Per configuration, one figure per round.
        let mut cpu_ns = vec![Vec::with_capacity(rounds); n];
        let mut kernel_ns = vec![Vec::with_capacity(rounds); n];
        let mut overhead_ns = vec![Vec::with_capacity(rounds); n];
        let mut records = vec![0u64; n];
        let under = FloodGuard {
            class: Rate {
                per_sec: 10_000_000,
                burst: 10_000_000,
            },
            mac: Rate {
                per_sec: 10_000_000,
                burst: 10_000_000,
            },
        };
        let over = FloodGuard {
            class: Rate {
                per_sec: 1,
                burst: 1,
            },
            mac: Rate {
                per_sec: 1,
                burst: 1,
            },
        };
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 {
                (0..n).collect()
            } else {
                (0..n).rev().collect()
            };
            for i in order {
                let c = &configs[i];
                let l = match c.setup {
                    Setup::Logged => &mut logged,
                    Setup::Counted => &mut counted,
                    _ => &mut plain,
                };
                let guard = match c.setup {
                    Setup::GuardUnder => Some(under),
                    Setup::GuardOver => Some(over),
                    _ => None,
                };
                l.programs.set_flood_guard(guard).expect("config map");
                let (cpu, k, o, r) = l.measure(c.prog, &c.frame);
                overhead_ns[i].push(o);
                cpu_ns[i].push(cpu);
                kernel_ns[i].push(k);
                records[i] = r;
            }
        }
        plain.programs.set_flood_guard(None).expect("config map");
        let drops = plain.drops() + logged.drops() + counted.drops();
        let (t_off, j_off) = plain.sizes();
        let (t_dbg, j_dbg) = logged.sizes();

        let index = |name: &str| configs.iter().position(|c| c.name == name);
        let figures: Vec<Figure> = configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let base = c.baseline.as_ref().and_then(|(b, t)| {
                    index(b).map(|j| {
                        let ratios: Vec<f64> = cpu_ns[i]
                            .iter()
                            .zip(&cpu_ns[j])
                            .map(|(x, y)| x / y)
                            .collect();
                        (b.clone(), ratios, *t)
                    })
                });
                let median_ratio = base.as_ref().map(|b| quantile(&b.1, 0.5));
                let records_per_packet = records[i] as f64 / f64::from(PACKETS);
                Figure {
                    name: c.name.clone(),
                    frame_bytes: c.frame.len(),
                    size_class: (records_per_packet > 0.5)
                        .then(|| abi::FRAME_CLASSES[abi::size_class(c.frame.len())]),
                    ns_per_packet: round2(quantile(&cpu_ns[i], 0.5)),
                    ns_min: round2(quantile(&cpu_ns[i], 0.0)),
                    ns_p25: round2(quantile(&cpu_ns[i], 0.25)),
                    ns_p75: round2(quantile(&cpu_ns[i], 0.75)),
                    kernel_ns_per_packet: round2(quantile(&kernel_ns[i], 0.5)),
                    call_overhead_ns: quantile(&overhead_ns[i], 0.5).round(),
                    baseline: base.as_ref().map(|b| b.0.clone()),
                    ratio: median_ratio.map(round3),
                    ratio_p25: base.as_ref().map(|b| round3(quantile(&b.1, 0.25))),
                    ratio_p75: base.as_ref().map(|b| round3(quantile(&b.1, 0.75))),
                    target: base.as_ref().and_then(|b| b.2),
                    met: base
                        .as_ref()
                        .and_then(|b| b.2.zip(median_ratio).map(|(t, r)| r <= t)),
                    records_per_packet,
                }
            })
            .collect();

        println!();
        println!(
            "XDP per-packet cost (BPF_PROG_TEST_RUN timed by thread CPU clock, {PACKETS} packets \
             x {rounds} interleaved rounds; median [min, 25..75%]; ratio: median of per-round \
             ratios [25..75%]; kernel: its whole-ns figure, median)"
        );
        println!(
            "{:<32} {:>5} {:>5} {:>7} {:>15} {:>6} {:>16} {:>5} {:>13} {:>12} {:>5}",
            "configuration",
            "bytes",
            "class",
            "ns/pkt",
            "[min, IQR]",
            "kernel",
            "baseline",
            "ratio",
            "[IQR]",
            "target",
            "recs"
        );
        for f in &figures {
            println!(
                "{:<32} {:>5} {:>5} {:>7.2} {:>15} {:>6.1} {:>16} {:>5} {:>13} {:>12} {:>5.2}",
                f.name,
                f.frame_bytes,
                f.size_class.map_or("-".into(), |c| c.to_string()),
                f.ns_per_packet,
                format!("[{:.2}, {:.2}..{:.2}]", f.ns_min, f.ns_p25, f.ns_p75),
                f.kernel_ns_per_packet,
                f.baseline.as_deref().unwrap_or("-"),
                f.ratio.map_or("-".into(), |r| format!("{r:.3}")),
                match (f.ratio_p25, f.ratio_p75) {
                    (Some(a), Some(b)) => format!("[{a:.3}..{b:.3}]"),
                    _ => "-".into(),
                },
                match (f.target, f.met) {
                    (Some(t), Some(true)) => format!("<={t} met"),
                    (Some(t), _) => format!("<={t} MISSED"),
                    _ => "-".into(),
                },
                f.records_per_packet,
            );
        }
        println!("ring-buffer drops: {drops}");
        println!(
            "v6p_xdp translated/jited bytes: log off {}/{j_off}, log debug {}/{j_dbg} \
             (the verifier removes the disabled log calls)",
            t_off.map_or("?".into(), |t| t.to_string()),
            t_dbg.map_or("?".into(), |t| t.to_string()),
        );
        let out = Output {
            method: "thread CPU time (CLOCK_THREAD_CPUTIME_ID) around each BPF_PROG_TEST_RUN \
                     call, less a single-packet call's time, / repeat; configurations interleaved per round; per row the median \
                     of rounds; ratios are medians of per-round ratios",
            rounds,
            packets_per_round: PACKETS,
            figures,
            program_sizes: Sizes {
                xdp_translated_log_off: t_off,
                xdp_translated_log_debug: t_dbg,
                xdp_jited_log_off: j_off,
                xdp_jited_log_debug: j_dbg,
            },
            ringbuf_drops: drops,
        };
        for f in &out.figures {
            if let (Some(t), Some(r), Some(b)) = (f.target, f.ratio, f.baseline.as_deref()) {
                bench.target(
                    format!("{}: ns per packet / {b}'s", f.name),
                    r,
                    v6probe_lab::bench::Bound::AtMost(t),
                );
            }
        }
        // `meta` comes from Bench (the figures' own is replaced).
        bench.finish(&out);
    }
}
