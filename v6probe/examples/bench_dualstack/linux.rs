//! Dual-stack benchmark (run by `cargo xtask bench`): time to connect when the IPv6 path
//! answers with an ICMPv6 no-route, for v6probe, curl (`--happy-eyeballs-timeout-ms 200`) and a
//! plain sequential connect, all in one lab in one run; plus a repeat connection to the
//! now-`blocked` destination against a direct IPv4 connect.
//!
//! Then the same against a lab with 20 ms of round-trip time between client and router (a
//! delay bridge holds every frame 10 ms each way: `DualLab::with_delay`), where the ICMPv6
//! error arrives after connect() returned, as on any real network: the first connection, and
//! ten repeated connections to the blocked destination (one v6probe process, `--repeat 11`)
//! against curl making the same ten (each pays the failed IPv6 attempt again).
//!
//! Usage: `bench_dualstack --bin PATH/TO/v6probe [--runs N]`; writes target/bench/dualstack.json.
//! Needs root (network namespaces), curl and python3: exits non-zero with the reason otherwise.
use std::{collections::BTreeMap, path::PathBuf, process::Output, time::Duration};

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};
use v6probe_lab::{
    bench::{Bench, Bound},
    dualstack::{in_netns, DualLab, Ipv6Fault, SERVER_NAME, SERVER_V4, SERVER_V6},
    Netns,
};

struct Args {
    bin: PathBuf,
    runs: usize,
}

fn args() -> Result<Args> {
    let mut bin = None;
    let mut runs = 15;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bin" => bin = it.next().map(PathBuf::from),
            "--runs" => {
                runs = it
                    .next()
                    .context("--runs needs a value")?
                    .parse()
                    .context("--runs")?
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(Args {
        bin: bin.context("--bin PATH is required")?,
        runs: runs.max(1),
    })
}

/// Whether client programs run pinned to CPU 0 (for the asynchronous-ICMP scenario).
static PIN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn run(ns: &Netns, program: &str, args: &[&str]) -> Result<Output> {
    let mut c = if PIN.load(std::sync::atomic::Ordering::Relaxed) {
        let mut c = ns.command("taskset");
        c.args(["-c", "0", program]);
        c
    } else {
        ns.command(program)
    };
    c.args(args)
        .output()
        .with_context(|| format!("running {program} {}", args.join(" ")))
}

/// `time_to_connect_ms` of each `connect` record v6probe printed.
fn v6probe_times(ns: &Netns, bin: &str, args: &[&str]) -> Result<Vec<f64>> {
    let out = run(ns, bin, args)?;
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let j: Value = serde_json::from_str(line).context("v6probe JSON")?;
        if j["kind"] == "connect" {
            v.push(
                j["time_to_connect_ms"]
                    .as_f64()
                    .with_context(|| format!("no connection: {j}"))?,
            );
        }
    }
    Ok(v)
}

fn curl_time(ns: &Netns) -> Result<f64> {
    // The server echoes, so curl fails after connecting (not HTTP); %{time_connect} is still
    // the time until the TCP connection completed, name resolution included.
    let url = format!("http://{SERVER_NAME}:8080/");
    let out = run(
        ns,
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            "--happy-eyeballs-timeout-ms",
            "200",
            "-w",
            "%{time_connect} %{remote_ip}",
            &url,
        ],
    )?;
    let s = String::from_utf8_lossy(&out.stdout);
    let mut parts = s.split_whitespace();
    let t: f64 = parts
        .next()
        .context("curl printed nothing")?
        .parse()
        .with_context(|| format!("curl -w output {s:?}"))?;
    if t == 0.0 {
        bail!(
            "curl did not connect: {s:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(t * 1000.0)
}

/// Connections per process for the repeat-to-blocked / direct IPv4 comparison.
const REPEATS: &str = "21";

const PLAIN: &str = r#"
import socket, sys, time
t = time.monotonic()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print("%.6f %s" % ((time.monotonic() - t) * 1000.0, s.getpeername()[0]))
"#;

fn plain_time(ns: &Netns) -> Result<f64> {
    let out = run(ns, "/usr/bin/python3", &["-c", PLAIN, SERVER_NAME, "8080"])?;
    let s = String::from_utf8_lossy(&out.stdout);
    s.split_whitespace()
        .next()
        .with_context(|| {
            format!(
                "python printed nothing: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?
        .parse()
        .with_context(|| format!("python output {s:?}"))
}

fn lock_dropped_icmps(ns: &Netns) -> Option<u64> {
    let s = ns.exec("nstat", &["-asz", "TcpExtLockDroppedIcmps"]).ok()?;
    s.lines()
        .find(|l| l.starts_with("TcpExtLockDroppedIcmps"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One non-blocking IPv6 connect to the unreachable server from the client namespace, without
/// any Happy Eyeballs: how long until the socket reports an error, and which.
fn kernel_probe(lab: &DualLab, recverr: bool) -> Result<(f64, i32)> {
    use std::os::fd::AsRawFd;
    let pin = PIN.load(std::sync::atomic::Ordering::Relaxed);
    let r = in_netns(&lab.client, move || -> std::io::Result<(f64, i32)> {
        if pin {
            // SAFETY: a zeroed cpu_set_t is empty; CPU_SET and sched_setaffinity(0) act on this
            // thread only.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        let s = socket2::Socket::new(
            socket2::Domain::IPV6,
            socket2::Type::STREAM.nonblocking(),
            None,
        )?;
        if recverr {
            use std::os::fd::AsFd;
            v6probe::dualstack::errqueue::enable_recverr(s.as_fd())?;
        }
        let t = std::time::Instant::now();
        let addr = std::net::SocketAddr::new(SERVER_V6.into(), 8080);
        match s.connect(&addr.into()) {
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Ok((0.0, e.raw_os_error().unwrap_or(0))),
            Ok(()) => return Ok((0.0, 0)),
        }
        let mut pfd = libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 5000) };
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let err = s.take_error()?.and_then(|e| e.raw_os_error()).unwrap_or(0);
        Ok((ms, err))
    })??;
    Ok(r)
}

/// Kernel behaviour for a connecting socket and an ICMPv6 no-route: when the error arrives
/// during connect() (zero-latency veth: the socket is still locked by the syscall), and when it
/// is produced concurrently on another CPU (RPS), i.e. after the syscall released the socket.
fn kernel_section(lab: &DualLab, bin: &str, runs: usize) -> Result<Value> {
    let mut out = serde_json::Map::new();
    for (name, recverr) in [
        ("immediate_icmp_plain", false),
        ("immediate_icmp_recverr", true),
    ] {
        let mut v = Vec::new();
        for _ in 0..runs {
            let (ms, err) = kernel_probe(lab, recverr)?;
            if err != libc::ENETUNREACH {
                bail!("{name}: expected ENETUNREACH, got errno {err}");
            }
            v.push(ms);
        }
        out.insert(name.into(), stats(&v));
    }
    // Asynchronous ICMPv6: the router's receive on r0 is steered (RPS) to CPU 1 while the
    // client runs on CPU 0, so the error is generated and delivered concurrently with, and
    // almost always after, the client's connect() syscall -- as on any real path.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        out.insert(
            "async_icmp".into(),
            json!({"skipped": "needs at least 2 CPUs"}),
        );
        return Ok(Value::Object(out));
    }
    lab.router
        .sh("echo 2 > /sys/class/net/r0/queues/rx-0/rps_cpus")
        .context("steering the router's r0 receive to CPU 1 (RPS)")?;
    PIN.store(true, std::sync::atomic::Ordering::Relaxed);
    let result = (|| -> Result<()> {
        let mut plain = Vec::new();
        for _ in 0..runs {
            let (ms, err) = kernel_probe(lab, false)?;
            if err != libc::ENETUNREACH {
                bail!("async_icmp_plain: expected ENETUNREACH, got errno {err}");
            }
            plain.push(ms);
        }
        out.insert("async_icmp_plain".into(), stats(&plain));
        let (mut curl, mut ours, mut seq) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            curl.push(curl_time(&lab.client)?);
            ours.push(v6probe_times(&lab.client, bin, &["connect", SERVER_NAME, "8080"])?[0]);
            seq.push(plain_time(&lab.client)?);
        }
        out.insert("async_icmp_curl_he_200".into(), stats(&curl));
        out.insert("async_icmp_v6probe_first".into(), stats(&ours));
        out.insert("async_icmp_plain_sequential".into(), stats(&seq));
        Ok(())
    })();
    PIN.store(false, std::sync::atomic::Ordering::Relaxed);
    lab.router
        .sh("echo 0 > /sys/class/net/r0/queues/rx-0/rps_cpus")
        .context("resetting RPS on r0")?;
    result?;
    Ok(Value::Object(out))
}

/// One-way delay of the delayed lab's bridge (20 ms round trip).
const ONE_WAY: Duration = Duration::from_millis(10);
/// Repeated connections compared in the delayed lab.
const TEN: usize = 10;

/// The round-trip time from the client to the router over IPv4 (`ping`), in ms: the median of
/// five.
fn rtt_ms(ns: &Netns, addr: &str) -> Result<f64> {
    let out = ns
        .exec(
            "ping",
            &["-4", "-n", "-c", "5", "-i", "0.2", "-W", "2", addr],
        )
        .context("ping across the delay bridge")?;
    let mut v: Vec<f64> = out
        .lines()
        .filter_map(|l| {
            l.split("time=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if v.is_empty() {
        bail!("no reply times in ping's output: {out}");
    }
    v.sort_by(f64::total_cmp);
    Ok(v[v.len() / 2])
}

/// The 20 ms lab (module documentation): first connections and ten repeated connections to the
/// blocked destination, v6probe against curl; each of `runs` rounds is one v6probe process
/// (first + ten) and ten curl processes.
fn delayed_section(bin: &str, runs: usize) -> Result<Value> {
    let lab = DualLab::with_delay("benchd", ONE_WAY).context("building the 20 ms lab")?;
    let (_server, _) = lab
        .spawn_server(bin, &["listen", "[::]:8080", "--echo"])
        .context("starting the server in the 20 ms lab")?;
    lab.set_ipv6_fault(Ipv6Fault::Unreachable)?;
    let rtt = rtt_ms(&lab.client, "198.18.1.1")?;
    let repeat = (TEN + 1).to_string();
    let (mut ours_first, mut ours_ten, mut ours_each) = (Vec::new(), Vec::new(), Vec::new());
    let (mut curl_first, mut curl_ten, mut curl_each) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = v6probe_times(
            &lab.client,
            bin,
            &["connect", SERVER_NAME, "8080", "--repeat", &repeat],
        )?;
        if t.len() != TEN + 1 {
            bail!(
                "v6probe connect --repeat {repeat} printed {} connections",
                t.len()
            );
        }
        ours_first.push(t[0]);
        ours_ten.push(t[1..].iter().sum::<f64>());
        ours_each.extend_from_slice(&t[1..]);
        let mut c = Vec::new();
        for _ in 0..TEN {
            c.push(curl_time(&lab.client)?);
        }
        curl_first.push(c[0]);
        curl_ten.push(c.iter().sum::<f64>());
        curl_each.extend_from_slice(&c);
    }
    let bridge = lab
        .delay_bridge()
        .context("the 20 ms lab has no delay bridge")?;
    let mut crossed = serde_json::Map::new();
    for (dir, name) in [(0, "client_to_router"), (1, "router_to_client")] {
        let s = bridge.stats(dir);
        let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        crossed.insert(
            name.into(),
            json!({
                "forwarded": n(&s.forwarded),
                "queue_full": n(&s.queue_full),
                "send_errors": n(&s.send_errors),
            }),
        );
    }
    Ok(json!({
        "one_way_delay_ms": ONE_WAY.as_secs_f64() * 1000.0,
        "rtt_client_router_ms": rtt,
        "runs": runs,
        "v6probe_first": stats(&ours_first),
        "v6probe_ten_repeats_total": stats(&ours_ten),
        "v6probe_repeat_each": stats(&ours_each),
        "curl_he_200_first": stats(&curl_first),
        "curl_he_200_ten_total": stats(&curl_ten),
        "curl_he_200_each": stats(&curl_each),
        "bridge": crossed,
    }))
}

fn stats(v: &[f64]) -> Value {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    json!({
        "runs": s.len(),
        "median_ms": pick(0.5),
        "p90_ms": pick(0.9),
        "min_ms": s[0],
        "max_ms": s[s.len() - 1],
        "samples_ms": v,
    })
}

pub fn main() -> Result<()> {
    let mut bench = Bench::start("dualstack");
    let args = bench.check(args(), "command line");
    bench.require_privileges();
    bench.require_program("curl", "curl");
    bench.require_program("python3", "python3");
    bench.require_program("nstat", "iproute2");
    bench.require_program("taskset", "util-linux");
    let bin = args.bin.to_string_lossy().into_owned();
    let lab = DualLab::new("bench").context("building the lab")?;
    let (_server, _) = lab
        .spawn_server(&bin, &["listen", "[::]:8080", "--echo"])
        .context("starting the server")?;
    lab.set_ipv6_fault(Ipv6Fault::Unreachable)?;
    let v6 = SERVER_V6.to_string();
    let v4 = SERVER_V4.to_string();

    let mut results: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let lock_before = lock_dropped_icmps(&lab.client);
    for _ in 0..args.runs {
        // Fresh process each run: a fresh fallback table, so this is the first connection.
        let t = v6probe_times(
            &lab.client,
            &bin,
            &["connect", SERVER_NAME, "8080", "--repeat", "2"],
        )?;
        results.entry("v6probe_first").or_default().push(t[0]);
        results
            .entry("v6probe_repeat_blocked")
            .or_default()
            .push(t[1]);
        let t = v6probe_times(
            &lab.client,
            &bin,
            &[
                "connect", "x", "8080", "--addr", &v6, "--addr", &v4, "--repeat", REPEATS,
            ],
        )?;
        // Connections 2..N of one process: every one finds the destination blocked.
        results
            .entry("v6probe_repeat_blocked_addr")
            .or_default()
            .extend_from_slice(&t[1..]);
        // The baseline: connections 2..N of one process too (same warm state).
        let t = v6probe_times(
            &lab.client,
            &bin,
            &["connect", "x", "8080", "--addr", &v4, "--repeat", REPEATS],
        )?;
        results
            .entry("v6probe_direct_ipv4_addr")
            .or_default()
            .extend_from_slice(&t[1..]);
        let t = v6probe_times(
            &lab.client,
            &bin,
            &["connect", SERVER_NAME, "8080", "--no-recverr"],
        )?;
        results.entry("v6probe_no_recverr").or_default().push(t[0]);
        results
            .entry("curl_he_200")
            .or_default()
            .push(curl_time(&lab.client)?);
        results
            .entry("plain_sequential")
            .or_default()
            .push(plain_time(&lab.client)?);
    }
    let lock_after = lock_dropped_icmps(&lab.client);
    let kernel = kernel_section(&lab, &bin, args.runs).context("kernel behaviour measurements")?;
    drop(_server);
    drop(lab);
    let delayed = delayed_section(&bin, args.runs).context("the 20 ms lab")?;
    println!(
        "kernel (ms): *_icmp_plain / _recverr = a bare non-blocking IPv6 connect until it errors; \
         async_icmp_* clients = time to connect (IPv4 wins)"
    );
    for k in [
        "immediate_icmp_plain",
        "immediate_icmp_recverr",
        "async_icmp_plain",
        "async_icmp_curl_he_200",
        "async_icmp_v6probe_first",
        "async_icmp_plain_sequential",
    ] {
        println!(
            "{:<30} median {:>10.3}  min {:>10.3}  max {:>10.3}",
            k,
            kernel[k]["median_ms"].as_f64().unwrap_or(f64::NAN),
            kernel[k]["min_ms"].as_f64().unwrap_or(f64::NAN),
            kernel[k]["max_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }

    let med = |k: &str| {
        let mut s = results[k].clone();
        s.sort_by(|a, b| a.total_cmp(b));
        s[(s.len() - 1) / 2]
    };
    let curl_over_v6probe = med("curl_he_200") / med("v6probe_first");
    let plain_over_v6probe = med("plain_sequential") / med("v6probe_first");
    let kmed = |k: &str| kernel[k]["median_ms"].as_f64().unwrap_or(f64::NAN);
    let async_curl_over_v6probe = kmed("async_icmp_curl_he_200") / kmed("async_icmp_v6probe_first");
    let repeat_over_direct = med("v6probe_repeat_blocked_addr") / med("v6probe_direct_ipv4_addr");

    println!(
        "dualstack: IPv6 path answers ICMPv6 no-route; {} runs each (median, p90, min, max in ms)",
        args.runs
    );
    println!(
        "(--addr rows: connections 2..{REPEATS} of each process, {} samples)",
        results["v6probe_direct_ipv4_addr"].len()
    );
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>10}",
        "client", "median", "p90", "min", "max"
    );
    let labels = [
        ("v6probe_first", "v6probe connect (1st)"),
        ("v6probe_repeat_blocked", "v6probe repeat, blocked"),
        (
            "v6probe_repeat_blocked_addr",
            "v6probe repeat, blocked --addr",
        ),
        ("v6probe_direct_ipv4_addr", "v6probe direct IPv4 --addr"),
        ("v6probe_no_recverr", "v6probe --no-recverr"),
        ("curl_he_200", "curl --happy-eyeballs 200"),
        ("plain_sequential", "plain sequential connect"),
    ];
    let mut table = serde_json::Map::new();
    for (k, label) in labels {
        let st = stats(&results[k]);
        println!(
            "{:<32} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            label,
            st["median_ms"].as_f64().unwrap_or(f64::NAN),
            st["p90_ms"].as_f64().unwrap_or(f64::NAN),
            st["min_ms"].as_f64().unwrap_or(f64::NAN),
            st["max_ms"].as_f64().unwrap_or(f64::NAN)
        );
        table.insert(k.to_string(), st);
    }
    bench.target(
        "curl / v6probe, first connection (ICMPv6 error during connect())",
        curl_over_v6probe,
        Bound::AtLeast(10.0),
    );
    println!("plain / v6probe: {plain_over_v6probe:.1}x");
    println!(
        "with the ICMPv6 error arriving after connect() returned (async): curl / v6probe {async_curl_over_v6probe:.2}x"
    );
    bench.target(
        "repeat to a blocked destination / direct IPv4",
        repeat_over_direct,
        Bound::AtMost(1.2),
    );
    let dmed = |k: &str| delayed[k]["median_ms"].as_f64().unwrap_or(f64::NAN);
    println!(
        "\n20 ms lab (RTT client-router {:.1} ms, ICMPv6 error after connect() returned); \
         {} runs (median, p90, min, max in ms)",
        delayed["rtt_client_router_ms"].as_f64().unwrap_or(f64::NAN),
        args.runs
    );
    for (k, label) in [
        ("v6probe_first", "v6probe connect (1st)"),
        ("curl_he_200_first", "curl --happy-eyeballs 200 (1st)"),
        ("v6probe_ten_repeats_total", "v6probe: ten repeats, total"),
        ("curl_he_200_ten_total", "curl: ten connections, total"),
        ("v6probe_repeat_each", "v6probe: each repeat"),
        ("curl_he_200_each", "curl: each connection"),
    ] {
        let st = &delayed[k];
        let f = |q: &str| st[q].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:<32} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            label,
            f("median_ms"),
            f("p90_ms"),
            f("min_ms"),
            f("max_ms")
        );
    }
    let delayed_first_ratio = dmed("curl_he_200_first") / dmed("v6probe_first");
    println!("20 ms lab: curl / v6probe, first connection: {delayed_first_ratio:.2}x");
    let delayed_ten_ratio = dmed("curl_he_200_ten_total") / dmed("v6probe_ten_repeats_total");
    bench.target(
        "20 ms RTT lab: curl ten connections / v6probe ten repeats to the blocked destination",
        delayed_ten_ratio,
        Bound::AtLeast(1.8),
    );
    let lock_delta = match (lock_before, lock_after) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    if let Some(d) = lock_delta {
        println!("TcpExtLockDroppedIcmps in the client during the run: {d}");
    }
    let report = json!({
        "bench": "dualstack",
        "scenario": "router has an unreachable route for the server's IPv6 address (ICMPv6 type 1 code 0); IPv4 healthy; lab of veth pairs in namespaces",
        "runs": args.runs,
        "results": table,
        "ratios": {
            "curl_over_v6probe_first": curl_over_v6probe,
            "plain_over_v6probe_first": plain_over_v6probe,
            "repeat_blocked_over_direct_ipv4": repeat_over_direct,
            "async_icmp_curl_over_v6probe_first": async_curl_over_v6probe,
            "delayed_curl_over_v6probe_first": delayed_first_ratio,
            "delayed_curl_ten_over_v6probe_ten": delayed_ten_ratio,
        },
        "delayed_20ms": delayed,
        "kernel": {
            "connect_error_timing": kernel,
            "tcp_ext_lock_dropped_icmps_delta": lock_delta,
        },
    });
    bench.finish(&report);
    Ok(())
}
