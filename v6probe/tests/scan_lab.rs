//! `v6probe scan` and `v6probe sim` against a real kernel, in namespaces this test creates
//! (see `v6probe_lab::scan`): the scan finds exactly the live addresses with RTT > 0 and the
//! right MAC; addresses a simulator also answers for (with other MACs) get `duplicate_replies`,
//! and only those; multicast discovery and the neighbour table as target sources; exit codes
//! and errors for bad input; floods of forged replies and of forged multicast responders.
#![cfg(target_os = "linux")]

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv6Addr,
    process::Output,
    time::{Duration, Instant},
};

use serde_json::Value;
use v6probe::{
    netio::{Capture, PacketSocket},
    send::{self, Kind, LinkAddr, SendSpec},
    wire::{EthernetAddress, Frame, Icmpv6Repr, Message},
};
use v6probe_lab::{
    in_netns, json_line,
    scan::{ScanLab, SCAN_IF, SIM_IF, SIM_PORT, TARGET_IF},
    stdout_json, LineReader, Netns,
};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn run(ns: &Netns, args: &[&str]) -> Output {
    ns.command(BIN).args(args).output().unwrap()
}

/// Runs `v6probe scan -i SCAN_IF RANGE --timeout MS --retries N` in `ns`, checks that it exits
/// 0, and returns its summary line and its result lines.
fn scan_ok(ns: &Netns, range: &str, timeout_ms: &str, retries: &str) -> (Value, Vec<Value>) {
    let o = run(
        ns,
        &[
            "scan",
            "-i",
            SCAN_IF,
            range,
            "--timeout",
            timeout_ms,
            "--retries",
            retries,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut results = stdout_json(&o);
    let summary = results.pop().expect("a summary line");
    (summary, results)
}

fn addr(base: u128, i: u128) -> Ipv6Addr {
    Ipv6Addr::from(base + i)
}

const BASE: u128 = 0xfd00_0000_0000_0000_0000_0000_0001_0000; // fd00::1:0

#[test]
#[ignore = "needs root: network namespaces and packet sockets"]
fn scan_finds_live_addresses_and_flags_forged_replies() {
    v6probe_lab::require_privileges();
    // 512 targets, 342 of them live (every offset not divisible by 3).
    let live: Vec<Ipv6Addr> = (0..512)
        .filter(|i| i % 3 != 0)
        .map(|i| addr(BASE, i))
        .collect();
    let lab = ScanLab::new("scan", &live).unwrap();
    // The simulator answers for 12 of the live addresses, each with its own MAC.
    let forged: BTreeMap<Ipv6Addr, String> = live
        .iter()
        .step_by(28)
        .enumerate()
        .map(|(k, a)| (*a, format!("02:ee:00:00:00:{:02x}", k + 1)))
        .collect();
    assert_eq!(forged.len(), 13);
    let mut args = vec![
        "sim".to_string(),
        "-i".into(),
        SIM_IF.into(),
        "--duration".into(),
        "60s".into(),
    ];
    for (a, m) in &forged {
        args.push("--neighbor".into());
        args.push(format!("{a}={m}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut sim = LineReader::new(lab.sim.spawn(BIN, &argv).unwrap());
    assert!(
        sim.wait_for(Duration::from_secs(10), |l| l.contains("sim_ready"))
            .is_some(),
        "sim did not start"
    );

    let (summary, results) = scan_ok(&lab.scanner, "fd00::1:0-1ff", "300", "2");
    assert_eq!(summary["kind"], "scan_summary");
    assert_eq!(summary["v"], 1);
    assert_eq!(summary["targets"], 512);
    assert_eq!(summary["alive"], live.len());
    assert_eq!(summary["capture_drops"], 0);
    // Every probe was timed by the kernel (its outgoing copy captured).
    assert_eq!(summary["kernel_send_timestamps"], summary["probes_sent"]);
    assert_eq!(results.len(), 512);

    let live_set: BTreeSet<Ipv6Addr> = live.iter().copied().collect();
    let mut found = BTreeSet::new();
    let mut dups = BTreeSet::new();
    for r in results {
        assert_eq!(r["kind"], "scan_result");
        let t: Ipv6Addr = r["target"].as_str().unwrap().parse().unwrap();
        let verdicts: Vec<&str> = r["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if verdicts.contains(&"duplicate_replies") {
            dups.insert(t);
        }
        if r["alive"] != true {
            assert!(r["replies"].as_array().unwrap().is_empty());
            assert_eq!(r["probes"], 3, "{r}");
            continue;
        }
        found.insert(t);
        let macs: BTreeSet<String> = r["replies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                assert!(g["rtt_min_us"].as_f64().unwrap() > 0.0, "{r}");
                assert_eq!(g["solicited"], true, "{r}");
                assert_eq!(g["tlla"], g["eth_src"], "{r}");
                g["tlla"].as_str().unwrap().to_string()
            })
            .collect();
        let mut want = BTreeSet::from([lab.target_mac.clone()]);
        if let Some(m) = forged.get(&t) {
            want.insert(m.clone());
        }
        assert_eq!(macs, want, "{t}: {r}");
        assert!(!verdicts.contains(&"ethernet_mismatch"), "{r}");
    }
    assert_eq!(
        found, live_set,
        "the scan must find exactly the live addresses"
    );
    assert_eq!(
        dups,
        forged.keys().copied().collect(),
        "duplicate_replies for exactly the simulated"
    );
    assert_eq!(summary["verdicts"]["duplicate_replies"], forged.len());

    // The simulator said what it did.
    sim.signal(libc::SIGTERM);
    let (_, sim_lines, _) = sim.finish(Duration::from_secs(5)).unwrap();
    let answered: BTreeSet<Ipv6Addr> = sim_lines
        .iter()
        .map(|l| json_line(l))
        .filter(|v| v["event"] == "na_sent")
        .map(|v| v["target"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(answered, forged.keys().copied().collect());

    // Table format on a pipe: the table and the summary line, no progress bar.
    let o = run(
        &lab.scanner,
        &[
            "scan",
            "-i",
            SCAN_IF,
            "fd00::1:1-3",
            "--format",
            "table",
            "--timeout",
            "200",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("TARGET"), "{text}");
    assert!(text.contains(&lab.target_mac), "{text}");
    assert!(text.contains("2 of 3 targets answered"), "{text}");
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Nothing alive: exit 2.
    let o = run(
        &lab.scanner,
        &[
            "scan",
            "-i",
            SCAN_IF,
            "fd00::9:0/124",
            "--timeout",
            "100",
            "--retries",
            "0",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout_json(&o);
    assert_eq!(out.last().unwrap()["alive"], 0);
    assert_eq!(out.last().unwrap()["probes_sent"], 16);

    // --multicast: the target's link-local answers the echo, then NS confirms it.
    let ll = lab
        .target
        .ip(&["-6", "-o", "addr", "show", "dev", "v6p-tg", "scope", "link"])
        .unwrap();
    let ll: Ipv6Addr = ll
        .split_whitespace()
        .nth(3)
        .and_then(|a| a.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let o = run(
        &lab.scanner,
        &["scan", "-i", SCAN_IF, "--multicast", "--timeout", "300"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout_json(&o);
    let hit = out
        .iter()
        .find(|r| r["target"].as_str() == Some(&ll.to_string()))
        .unwrap_or_else(|| panic!("{ll} not discovered: {out:?}"));
    assert_eq!(hit["alive"], true);
    assert_eq!(hit["mac"], lab.target_mac.as_str());

    // --neighbors with --unicast: entries of the scanner's neighbour table (one real, one not).
    let real = live[0].to_string();
    lab.scanner
        .ip(&[
            "-6",
            "neigh",
            "add",
            &real,
            "lladdr",
            &lab.target_mac,
            "dev",
            SCAN_IF,
            "nud",
            "stale",
        ])
        .unwrap();
    lab.scanner
        .ip(&[
            "-6",
            "neigh",
            "add",
            "fd00::dead",
            "lladdr",
            "02:00:00:00:de:ad",
            "dev",
            SCAN_IF,
            "nud",
            "stale",
        ])
        .unwrap();
    let o = run(
        &lab.scanner,
        &[
            "scan",
            "-i",
            SCAN_IF,
            "--neighbors",
            "--unicast",
            "--timeout",
            "200",
            "--retries",
            "1",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout_json(&o);
    let by: BTreeMap<String, &Value> = out[..out.len() - 1]
        .iter()
        .map(|r| (r["target"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(by[&real]["alive"], true);
    assert_eq!(by["fd00::dead"]["alive"], false);
    // Only unicast entries (the table also lists multicast groups).
    assert!(
        by.keys()
            .all(|a| !a.parse::<Ipv6Addr>().unwrap().is_multicast()),
        "{by:?}"
    );
}

/// The benchmark's layout: addresses on several hosts behind a switch that snoops MLD. Every
/// live address is found with its own host's MAC and no verdict, and the switch forwarded the
/// probes by group (the sim port, which joined none of them, got almost none).
#[test]
#[ignore = "needs root: network namespaces and packet sockets"]
fn scan_across_hosts_behind_a_snooping_switch() {
    v6probe_lab::require_privileges();
    const HOSTS: usize = 4;
    let live: Vec<Ipv6Addr> = (0..128).step_by(2).map(|i| addr(BASE, i)).collect();
    let lab = ScanLab::segment("scanseg", &live, HOSTS).unwrap();
    let macs: Vec<String> = lab.targets().map(|t| t.mac(TARGET_IF).unwrap()).collect();
    assert_eq!(macs.len(), HOSTS);
    let to_sim = || lab.switch.counters(SIM_PORT).unwrap().tx;
    let before = to_sim();
    let (summary, results) = scan_ok(&lab.scanner, "fd00::1:0-7f", "300", "1");
    let to_sim = to_sim() - before;
    assert_eq!(summary["alive"], live.len(), "{summary}");
    // 64 live probes and 2 x 64 to silent addresses.
    assert_eq!(summary["probes_sent"], 192, "{summary}");
    assert!(
        to_sim < 20,
        "the sim port got {to_sim} frames during the scan"
    );
    for r in results {
        let t: Ipv6Addr = r["target"].as_str().unwrap().parse().unwrap();
        assert_eq!(r["verdicts"], serde_json::json!([]), "{r}");
        let Some(k) = live.iter().position(|a| *a == t) else {
            assert_eq!(r["alive"], false, "{r}");
            continue;
        };
        let replies = r["replies"].as_array().unwrap();
        assert_eq!(replies.len(), 1, "{r}");
        assert_eq!(replies[0]["tlla"], macs[k % HOSTS].as_str(), "{r}");
    }
}

#[test]
#[ignore = "needs root: network namespaces and packet sockets"]
fn bad_input_gives_clear_errors() {
    v6probe_lab::require_privileges();
    let ns = Netns::new("scanbad").unwrap();
    let cases: [(&[&str], i32, &str); 8] = [
        (
            &["scan", "-i", "lo", "fd00::/129"],
            64,
            "invalid target `fd00::/129`",
        ),
        (
            &["scan", "-i", "lo", "fd00::1-zz"],
            64,
            "invalid target `fd00::1-zz`",
        ),
        (&["scan", "-i", "lo", "fd00::/100"], 64, "--max-targets"),
        (
            &["scan", "-i", "lo", "fd00::1", "--rate", "-5"],
            64,
            "--rate",
        ),
        (
            &["scan", "-i", "lo", "fd00::1", "--rate", "fast"],
            64,
            "--rate",
        ),
        (
            &["scan", "-i", "v6p-nonexistent", "fd00::1"],
            1,
            "interface `v6p-nonexistent` not found",
        ),
        (&["scan", "-i", "lo"], 64, "no targets"),
        (
            &["scan", "-i", "lo", "@/nonexistent/targets"],
            64,
            "/nonexistent/targets",
        ),
    ];
    for (args, code, needle) in cases {
        let o = run(&ns, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: `{needle}` not in: {err}");
    }
}

/// Forged answers sent with `v6probe send` from the sim namespace while a scan runs: an
/// unsolicited NA to all-nodes (`unsolicited_na_race`, not counted as an answer), and a reply
/// to the scanner without S whose TLLA differs from its Ethernet source
/// (`missing_solicited_flag`, `ethernet_mismatch`).
#[test]
#[ignore = "needs root: network namespaces and packet sockets"]
fn forged_answers_get_verdicts() {
    v6probe_lab::require_privileges();
    let lab = ScanLab::new("scanv", &[]).unwrap();
    let (sc_ll, sc_mac) = scanner_ll_and_mac(&lab);
    let (sc_ll, sc_mac) = (sc_ll.to_string(), sc_mac.to_string());
    let scan = LineReader::new(
        lab.scanner
            .spawn(
                BIN,
                &[
                    "scan",
                    "-i",
                    SCAN_IF,
                    "fd00::e:1-2",
                    "--timeout",
                    "1500",
                    "--retries",
                    "0",
                    "--rate",
                    "0",
                ],
            )
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(400));
    let send = |args: &[&str]| {
        let mut full = vec!["send", "na", "-i", SIM_IF];
        full.extend_from_slice(args);
        let o = run(&lab.sim, &full);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    send(&[
        "--target",
        "fd00::e:1",
        "--flags",
        "O",
        "--tlla",
        "02:ee:00:00:01:01",
    ]);
    send(&[
        "--target",
        "fd00::e:2",
        "--flags",
        "O",
        "--tlla",
        "02:ee:00:00:02:01",
        "--src-mac",
        "02:ee:00:00:02:02",
        "--dst",
        &sc_ll,
        "--dst-mac",
        &sc_mac,
    ]);
    let (status, out, err) = scan.finish(Duration::from_secs(10)).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let v: Vec<Value> = out.iter().map(|l| json_line(l)).collect();
    assert_eq!(v[0]["target"], "fd00::e:1");
    assert_eq!(
        v[0]["alive"], false,
        "an announcement is not an answer: {}",
        v[0]
    );
    assert_eq!(v[0]["unsolicited_nas"], 1);
    assert_eq!(v[0]["verdicts"], serde_json::json!(["unsolicited_na_race"]));
    assert_eq!(v[1]["alive"], true);
    assert_eq!(v[1]["mac"], "02:ee:00:00:02:01");
    assert_eq!(v[1]["replies"][0]["eth_src"], "02:ee:00:00:02:02");
    assert_eq!(
        v[1]["verdicts"],
        serde_json::json!(["ethernet_mismatch", "missing_solicited_flag"])
    );
    assert_eq!(v[2]["kind"], "scan_summary");
    assert_eq!(v[2]["alive"], 1);
}

/// The scanner's link-local address and MAC, as the lab's kernel reports them.
fn scanner_ll_and_mac(lab: &ScanLab) -> (Ipv6Addr, EthernetAddress) {
    let ll = lab
        .scanner
        .ip(&["-6", "-o", "addr", "show", "dev", SCAN_IF, "scope", "link"])
        .unwrap();
    let ll = ll
        .split_whitespace()
        .nth(3)
        .and_then(|a| a.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    (ll, lab.scanner.mac(SCAN_IF).unwrap().parse().unwrap())
}

/// CPU time (user + system) of the children this process has waited for.
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes one rusage into the zeroed value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// In the sim namespace: waits (bounded) for a frame `is_trigger` accepts, then sends every
/// frame `make(trigger)` returns, as fast as the socket takes them. Returns how many were sent
/// and how long that took.
fn answer_with_flood(
    lab: &ScanLab,
    is_trigger: impl Fn(&Frame) -> bool + Send + 'static,
    make: impl FnOnce(&Frame) -> Vec<Vec<u8>> + Send + 'static,
) -> std::thread::JoinHandle<(usize, Duration)> {
    let sim = lab.sim.name().to_string();
    std::thread::spawn(move || {
        in_netns(&sim, move || {
            let sock = PacketSocket::open(SIM_IF, Capture::Ipv6).unwrap();
            let mut buf = vec![0u8; 2048];
            let deadline = Instant::now() + Duration::from_secs(20);
            let trigger = loop {
                let left = deadline
                    .checked_duration_since(Instant::now())
                    .expect("the trigger frame within 20 s");
                if let Some(r) = sock.recv(&mut buf, left).unwrap() {
                    if let Ok(f) = Frame::parse(&buf[..r.len]) {
                        if !r.outgoing && is_trigger(&f) {
                            break f;
                        }
                    }
                }
            };
            let frames = make(&trigger);
            let start = Instant::now();
            for f in &frames {
                sock.send(f).unwrap();
            }
            (frames.len(), start.elapsed())
        })
        .unwrap()
    })
}

/// 40,000 neighbor advertisements for one target, each from its own forged link-layer address,
/// while the scanner waits for an answer: the result keeps the first 64 distinct replies,
/// counts the others, says `flooded`, and its line stays bounded. Time is printed, not
/// asserted.
#[test]
#[ignore = "needs root: network namespaces and packet sockets"]
fn forty_thousand_forged_replies_for_one_target_stay_bounded() {
    v6probe_lab::require_privileges();
    const FLOOD: u32 = 40_000;
    let lab = ScanLab::new("scanfl", &[]).unwrap();
    let target: Ipv6Addr = "fd00::f:1".parse().unwrap();
    let (sc_ll, sc_mac) = scanner_ll_and_mac(&lab);
    // Built before the probe is seen, so the flood goes out in one burst.
    let frames: Vec<Vec<u8>> = (0..FLOOD)
        .map(|n| {
            let mut m = [0x02, 0xf1, 0, 0, 0, 0];
            m[2..].copy_from_slice(&n.to_be_bytes());
            let spec = SendSpec {
                src: Some(target),
                dst: Some(sc_ll),
                src_mac: Some(EthernetAddress(m)),
                dst_mac: Some(sc_mac),
                target: Some(target),
                flags: Some("SO".parse().unwrap()),
                tlla: Some(LinkAddr::Interface),
                ..SendSpec::default()
            };
            send::build(Kind::Na, &spec, m, None).unwrap().to_bytes()
        })
        .collect();
    let flooder = answer_with_flood(
        &lab,
        move |f| {
            matches!(&f.icmp6, Some(i)
                if matches!(i.message, Message::NeighborSolicit { target: t, .. } if t == target))
        },
        move |_| frames,
    );
    let cpu0 = children_cpu();
    let started = Instant::now();
    let o = run(
        &lab.scanner,
        &[
            "scan",
            "-i",
            SCAN_IF,
            "fd00::f:1",
            "--timeout",
            "10000",
            "--retries",
            "0",
        ],
    );
    let wall = started.elapsed();
    let cpu = children_cpu().saturating_sub(cpu0);
    let (sent, flood_time) = flooder.join().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let result_line = stdout.lines().next().unwrap_or_default();
    let out = stdout_json(&o);
    let (summary, results) = out.split_last().unwrap();
    let r = &results[0];
    let kept: u64 = r["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    let over = r["replies_over_cap"].as_u64().unwrap_or(0);
    eprintln!(
        "{sent} forged NAs sent in {:.0} ms; scan: {:.0} ms wall (10 s timeout), {:.0} ms CPU; \
         scan_result line {} bytes; {} groups with {kept} replies, {over} over the cap, \
         capture drops {}",
        flood_time.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3,
        result_line.len(),
        r["replies"].as_array().unwrap().len(),
        summary["capture_drops"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(sent, FLOOD as usize);
    assert!(
        result_line.len() <= v6probe::scan::MAX_RESULT_LINE_BYTES,
        "{} bytes",
        result_line.len()
    );
    assert_eq!(
        r["replies"].as_array().unwrap().len(),
        v6probe::scan::MAX_REPLY_GROUPS
    );
    assert!(over > 0, "{r}");
    assert!(kept + over <= u64::from(FLOOD), "{r}");
    let verdicts = r["verdicts"].as_array().unwrap();
    assert!(verdicts.contains(&Value::from("flooded")), "{r}");
    assert!(verdicts.contains(&Value::from("duplicate_replies")), "{r}");
    assert_eq!(summary["verdicts"]["flooded"], 1);
}

/// More echo replies to `--multicast` than the target limit allows, from forged sources: the
/// scan goes on with the first ones and says what it left out, instead of refusing the command
/// line.
#[test]
#[ignore = "needs root: network namespaces and packet sockets"]
fn multicast_responders_beyond_the_limit_are_left_out_with_a_message() {
    v6probe_lab::require_privileges();
    const FORGED: u16 = 300;
    let lab = ScanLab::new("scanmc", &[]).unwrap();
    let flooder = answer_with_flood(
        &lab,
        |f| {
            matches!(&f.icmp6, Some(i) if matches!(i.message, Message::EchoRequest { .. }))
                && f.ip6.dst.is_multicast()
        },
        |req| {
            let Some(Icmpv6Repr {
                message: Message::EchoRequest { id, seq, .. },
                ..
            }) = &req.icmp6
            else {
                unreachable!("the trigger is an echo request")
            };
            (1..=FORGED)
                .map(|n| {
                    let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xee, n);
                    Frame::new(
                        EthernetAddress([0x02, 0xee, 0, 0, (n >> 8) as u8, n as u8]),
                        req.eth.src,
                        src,
                        req.ip6.src,
                        64,
                        Icmpv6Repr::new(
                            129,
                            0,
                            Message::EchoReply {
                                id: *id,
                                seq: *seq,
                                data_len: 8,
                                data: b"v6probe!".to_vec(),
                            },
                        ),
                    )
                    .to_bytes()
                })
                .collect()
        },
    );
    let o = run(
        &lab.scanner,
        &[
            "scan",
            "-i",
            SCAN_IF,
            "--multicast",
            "--max-targets",
            "100",
            "--timeout",
            "300",
            "--retries",
            "0",
        ],
    );
    let (sent, _) = flooder.join().unwrap();
    assert_eq!(sent, usize::from(FORGED));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "a scan, not a usage error: {:?} {err}",
        o.status
    );
    assert!(err.contains("--max-targets"), "{err}");
    assert!(err.contains("scanning the first 100"), "{err}");
    let out = stdout_json(&o);
    let summary = out.last().unwrap();
    assert_eq!(summary["targets"], 100);
    assert!(
        summary["multicast_over_limit"].as_u64().unwrap() > 0,
        "{summary}"
    );
}
