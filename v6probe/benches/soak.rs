//! Soak: `v6probe monitor` for N minutes (10 by default; `-- --minutes N`, or
//! `V6PROBE_SOAK_MINUTES`) under steady NDP churn in a namespace lab, with every sink on:
//! stdout (read and discarded), a rotating gzip'd file, syslog over UDP and TCP (to listeners
//! in the lab), `/metrics` scraped every 5 s, a state file. Each minute it reads the monitor's
//! RSS and CPU time from /proc; after the run it says whether both stayed flat after the first
//! minute. Figures in `target/bench/soak.json`, with `meta`. The syslog listeners stop after
//! the monitor has exited; the figures compare what each syslog sink sent with what arrived.
//!
//! `V6PROBE_SOAK_WRAP=PROGRAM` starts the monitor as `PROGRAM v6probe monitor ...`, for a
//! wrapper that sets up a heap profiler (heaptrack's preload library, say) and then execs its
//! arguments, so the pid, RSS and signals stay the monitor's.
//!
//! Not a test: it prints and records figures. It needs root (namespaces, BPF) and exits
//! non-zero, without figures, when it cannot run.
fn main() -> std::process::ExitCode {
    #[cfg(target_os = "linux")]
    return linux::main();
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("soak: Linux only (network namespaces, BPF)");
        std::process::ExitCode::FAILURE
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::{
        io::{BufRead, Read, Write},
        net::Ipv6Addr,
        process::{ExitCode, Stdio},
        sync::{
            atomic::{AtomicBool, AtomicU64, Ordering},
            Arc,
        },
        thread,
        time::{Duration, Instant},
    };

    use serde::Serialize;
    use v6probe::{
        metrics::process::Figures,
        netio::{Capture, PacketSocket},
        wire::EthernetAddress,
    };
    use v6probe_lab::{in_netns, ndp, veth, Netns, TempDir};

    const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
    /// Churn: NS and NA frames per second, from a pool of neighbours larger than the detector's
    /// bound, so bindings are created and evicted the whole time (under every flood limit).
    const FRAMES_PER_SEC: u64 = 400;
    const POOL: u32 = 100_000;
    const MAX_NEIGHBORS: &str = "20000";

    #[derive(Serialize, Clone)]
    struct Sample {
        minute: u64,
        rss_mib: f64,
        cpu_s_total: f64,
        /// CPU seconds spent in this minute.
        cpu_s: f64,
        open_fds: u64,
        frames_sent: u64,
        stdout_lines: u64,
        syslog_udp_msgs: u64,
        syslog_tcp_bytes: u64,
        scrapes: u64,
    }

    #[derive(Serialize)]
    struct Figures_ {
        minutes: u64,
        frames_per_sec: u64,
        samples: Vec<Sample>,
        /// Largest RSS after the first minute over the RSS at the first minute.
        rss_growth_after_first_minute: Option<f64>,
        /// Largest and smallest per-minute CPU after the first minute, over their median.
        cpu_spread_after_first_minute: Option<(f64, f64)>,
        rss_flat: Option<bool>,
        cpu_flat: Option<bool>,
        syslog: Syslog,
        /// What the monitor wrote to stderr (warnings: a sink's failures say why here).
        monitor_stderr: Vec<String>,
        final_stats: serde_json::Value,
    }

    /// The syslog sinks' own counts (final `stats` line) beside what the listeners received,
    /// counted after the monitor exited: on loopback every message sent should arrive.
    #[derive(Serialize)]
    struct Syslog {
        udp_sent: u64,
        udp_dropped: u64,
        udp_errors: u64,
        udp_received: u64,
        tcp_sent_bytes: u64,
        tcp_received_bytes: u64,
    }

    impl Syslog {
        fn check(stats: &serde_json::Value, udp_received: u64, tcp_received_bytes: u64) -> Self {
            let sink = |name: &str, what: &str| {
                stats["sinks"][format!("syslog:{name}://127.0.0.1:5514")][what]
                    .as_u64()
                    .unwrap_or(0)
            };
            Self {
                udp_sent: sink("udp", "lines"),
                udp_dropped: sink("udp", "dropped"),
                udp_errors: sink("udp", "errors"),
                udp_received,
                tcp_sent_bytes: sink("tcp", "bytes"),
                tcp_received_bytes,
            }
        }
    }

    fn minutes() -> u64 {
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            if a == "--minutes" {
                if let Some(v) = args.next().and_then(|v| v.parse().ok()) {
                    return v;
                }
            }
        }
        std::env::var("V6PROBE_SOAK_MINUTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10)
    }

    fn churn_frame(i: u32) -> Vec<u8> {
        let n = i % POOL;
        let mac = EthernetAddress([0x02, 0x5a, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
        let ip = Ipv6Addr::new(0xfd00, 0x50a, 0, 0, 0, 0, (n >> 16) as u16, n as u16);
        let frame = if i.is_multiple_of(2) {
            let target = Ipv6Addr::new(0xfd00, 0x50a, 0, 0, 0, 0, 0, 1);
            ndp::ns(mac, ip, target, Some(mac))
        } else {
            ndp::unsolicited_na(mac, ip)
        };
        frame.to_bytes()
    }

    fn http_get(ns: &str, path: &'static str) -> Option<String> {
        in_netns(ns, move || -> Option<String> {
            let mut s = std::net::TcpStream::connect("127.0.0.1:9478").ok()?;
            s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            Some(out)
        })
        .ok()
        .flatten()
    }

    pub fn main() -> ExitCode {
        let minutes = minutes().max(1);
        // Removes the previous JSON first: figures of an older run never pass for this one's.
        let bench = v6probe_lab::bench::Bench::start("soak");
        bench.require_privileges();
        match run(minutes) {
            Ok(figures) => {
                bench.finish(&figures);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("soak: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn run(minutes: u64) -> Result<Figures_, String> {
        let e = |what: &str| {
            let what = what.to_string();
            move |err: std::io::Error| format!("{what}: {err}")
        };
        let host = Netns::new("soak-h").map_err(e("namespace"))?;
        let peer = Netns::new("soak-p").map_err(e("namespace"))?;
        veth(&host, "v6p-s0", &peer, "v6p-s1").map_err(e("veth"))?;
        peer.sysctl("net.ipv6.conf.v6p-s1.disable_ipv6", "1")
            .map_err(e("sysctl"))?;
        let dir = TempDir::new("soak").map_err(e("temp dir"))?;
        let stop = Arc::new(AtomicBool::new(false));

        // Syslog listeners in the monitor's namespace: UDP datagrams and a TCP stream, counted.
        // They stop only after the monitor has exited (`stop_listeners`), so every message
        // the monitor sent is counted, and its UDP sink never writes to a closed port.
        let stop_listeners = Arc::new(AtomicBool::new(false));
        let udp_msgs = Arc::new(AtomicU64::new(0));
        let tcp_bytes = Arc::new(AtomicU64::new(0));
        let tcp_open = Arc::new(AtomicU64::new(0));
        let udp = in_netns(host.name(), || std::net::UdpSocket::bind("127.0.0.1:5514"))
            .map_err(e("netns"))?
            .map_err(e("udp listener"))?;
        udp.set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(e("udp"))?;
        let tcp = in_netns(host.name(), || {
            std::net::TcpListener::bind("127.0.0.1:5514")
        })
        .map_err(e("netns"))?
        .map_err(e("tcp listener"))?;
        let udp_listener = {
            let (stop, n) = (stop_listeners.clone(), udp_msgs.clone());
            // Ends at the first read timeout after the stop: what was queued is counted.
            thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                loop {
                    match udp.recv(&mut buf) {
                        Ok(_) => {
                            n.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) if stop.load(Ordering::Relaxed) => break,
                        Err(_) => {}
                    }
                }
            })
        };
        {
            let (n, open) = (tcp_bytes.clone(), tcp_open.clone());
            thread::spawn(move || {
                for conn in tcp.incoming() {
                    let Ok(mut c) = conn else { break };
                    let (n, open) = (n.clone(), open.clone());
                    open.fetch_add(1, Ordering::Relaxed);
                    thread::spawn(move || {
                        let mut buf = vec![0u8; 65536];
                        while let Ok(k) = c.read(&mut buf) {
                            if k == 0 {
                                break;
                            }
                            n.fetch_add(k as u64, Ordering::Relaxed);
                        }
                        open.fetch_sub(1, Ordering::Relaxed);
                    });
                }
            });
        }

        let events = dir.path().join("events.json");
        let state = dir.path().join("state.json");
        let mut child = match std::env::var("V6PROBE_SOAK_WRAP") {
            Ok(w) => {
                let mut c = host.command(&w);
                c.arg(BIN);
                c
            }
            Err(_) => host.command(BIN),
        };
        child
            .args([
                "monitor", "-i", "v6p-s0", "--events", "all", "--output", "stdout",
            ])
            .arg("--output")
            .arg(format!("file:{}", events.display()))
            .args([
                "--rotate-size",
                "8M",
                "--rotate-keep",
                "3",
                "--rotate-compress",
            ])
            .args([
                "--syslog",
                "udp://127.0.0.1:5514",
                "--syslog",
                "tcp://127.0.0.1:5514",
            ])
            .args(["--syslog-events", "--metrics-listen", "127.0.0.1:9478"])
            .args(["--max-neighbors", MAX_NEIGHBORS, "--learn", "30", "--state"])
            .arg(&state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = child.spawn().map_err(e("starting the monitor"))?;
        let pid = child.id();
        let lines = Arc::new(AtomicU64::new(0));
        let last_line = Arc::new(std::sync::Mutex::new(String::new()));
        let started = Arc::new(AtomicBool::new(false));
        let reader = {
            let out = child.stdout.take().ok_or("no stdout")?;
            let (lines, last_line, started) = (lines.clone(), last_line.clone(), started.clone());
            thread::spawn(move || {
                for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    if l.contains("\"kind\":\"start\"") {
                        started.store(true, Ordering::Relaxed);
                    }
                    lines.fetch_add(1, Ordering::Relaxed);
                    if l.contains("\"kind\":\"stats\"") {
                        *last_line.lock().unwrap_or_else(|e| e.into_inner()) = l;
                    }
                }
            })
        };
        let t0 = Instant::now();
        while !started.load(Ordering::Relaxed) {
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                return Err("the monitor did not start".into());
            }
            thread::sleep(Duration::from_millis(50));
        }

        // Churn from the peer namespace, paced to FRAMES_PER_SEC.
        let sent = Arc::new(AtomicU64::new(0));
        let churn = {
            let sock = in_netns(peer.name(), || PacketSocket::open("v6p-s1", Capture::All))
                .map_err(e("netns"))?
                .map_err(|err| format!("packet socket: {err}"))?;
            let (stop, sent) = (stop.clone(), sent.clone());
            thread::spawn(move || {
                let start = Instant::now();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let due = (start.elapsed().as_secs_f64() * FRAMES_PER_SEC as f64) as u64;
                    while sent.load(Ordering::Relaxed) < due {
                        if sock.send(&churn_frame(i)).is_ok() {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        i = i.wrapping_add(1);
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            })
        };

        let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
        let mut samples = Vec::new();
        let mut scrapes = 0u64;
        let mut last_cpu = Figures::of(&proc_dir).cpu_seconds;
        let run_start = Instant::now();
        for minute in 1..=minutes {
            let until = run_start + Duration::from_secs(60 * minute);
            while Instant::now() < until {
                if http_get(host.name(), "/metrics")
                    .is_some_and(|r| r.contains("v6probe_build_info"))
                {
                    scrapes += 1;
                }
                thread::sleep(
                    Duration::from_secs(5).min(until.saturating_duration_since(Instant::now())),
                );
            }
            let f = Figures::of(&proc_dir);
            let s = Sample {
                minute,
                rss_mib: f.resident_bytes as f64 / (1 << 20) as f64,
                cpu_s_total: f.cpu_seconds,
                cpu_s: f.cpu_seconds - last_cpu,
                open_fds: f.open_fds,
                frames_sent: sent.load(Ordering::Relaxed),
                stdout_lines: lines.load(Ordering::Relaxed),
                syslog_udp_msgs: udp_msgs.load(Ordering::Relaxed),
                syslog_tcp_bytes: tcp_bytes.load(Ordering::Relaxed),
                scrapes,
            };
            last_cpu = f.cpu_seconds;
            println!(
            "soak minute {minute:>2}: RSS {:6.1} MiB  CPU {:5.2} s this minute ({:5.1}%)  fds {}  \
             frames {}  stdout lines {}  syslog udp {}  scrapes {}",
            s.rss_mib,
            s.cpu_s,
            s.cpu_s / 60.0 * 100.0,
            s.open_fds,
            s.frames_sent,
            s.stdout_lines,
            s.syslog_udp_msgs,
            s.scrapes
        );
            samples.push(s);
        }
        stop.store(true, Ordering::Relaxed);
        let _ = churn.join();
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Ok(Some(st)) = child.try_wait() {
                break Some(st);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break None;
            }
            thread::sleep(Duration::from_millis(50));
        };
        let _ = reader.join();
        // The monitor is gone: what it sent is in the listeners' sockets.
        stop_listeners.store(true, Ordering::Relaxed);
        let _ = udp_listener.join();
        let tcp_deadline = Instant::now() + Duration::from_secs(5);
        while tcp_open.load(Ordering::Relaxed) > 0 && Instant::now() < tcp_deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        if !status.is_some_and(|s| s.success()) {
            return Err(format!("the monitor failed ({status:?}): {err}"));
        }
        let final_stats: serde_json::Value =
            serde_json::from_str(&last_line.lock().unwrap_or_else(|e| e.into_inner()))
                .unwrap_or(serde_json::Value::Null);
        let syslog = Syslog::check(
            &final_stats,
            udp_msgs.load(Ordering::Relaxed),
            tcp_bytes.load(Ordering::Relaxed),
        );
        println!(
            "soak: syslog udp: the sink sent {} messages ({} dropped, {} errors), the listener \
             received {}; tcp: the sink sent {} bytes, the listener received {}",
            syslog.udp_sent,
            syslog.udp_dropped,
            syslog.udp_errors,
            syslog.udp_received,
            syslog.tcp_sent_bytes,
            syslog.tcp_received_bytes
        );
        let monitor_stderr: Vec<String> = err.lines().map(str::to_owned).collect();
        for l in &monitor_stderr {
            println!("soak: monitor stderr: {l}");
        }

        let (rss_growth, cpu_spread) = if samples.len() >= 3 {
            let base = samples[0].rss_mib;
            let max_rss = samples[1..].iter().map(|s| s.rss_mib).fold(0.0, f64::max);
            let mut cpus: Vec<f64> = samples[1..].iter().map(|s| s.cpu_s).collect();
            cpus.sort_by(f64::total_cmp);
            let median = cpus[cpus.len() / 2].max(1e-9);
            (
                Some(max_rss / base),
                Some((cpus[cpus.len() - 1] / median, cpus[0] / median)),
            )
        } else {
            (None, None)
        };
        // Flat: RSS after the first minute within 10% of it; each minute's CPU within 25% of the
        // median minute.
        let rss_flat = rss_growth.map(|g| g <= 1.10);
        let cpu_flat = cpu_spread.map(|(hi, lo)| hi <= 1.25 && lo >= 0.75);
        println!(
            "soak: {minutes} min at {FRAMES_PER_SEC} frames/s: RSS after minute 1 at most {} of \
         minute 1 ({}), CPU per minute {} of the median ({})",
            rss_growth.map_or("n/a".into(), |g| format!("{g:.3}x")),
            match rss_flat {
                Some(true) => "flat",
                Some(false) => "GROWING",
                None => "needs 3 minutes",
            },
            cpu_spread.map_or("n/a".into(), |(hi, lo)| format!("{lo:.2}x..{hi:.2}x")),
            match cpu_flat {
                Some(true) => "flat",
                Some(false) => "NOT FLAT",
                None => "needs 3 minutes",
            },
        );
        println!(
            "soak: final stats: records {} ring drops {} sinks {}",
            final_stats["records_read"], final_stats["drops"], final_stats["sinks"]
        );
        Ok(Figures_ {
            minutes,
            frames_per_sec: FRAMES_PER_SEC,
            samples,
            rss_growth_after_first_minute: rss_growth,
            cpu_spread_after_first_minute: cpu_spread,
            rss_flat,
            cpu_flat,
            syslog,
            monitor_stderr,
            final_stats,
        })
    }
}
