//! Every command that prints JSON lines without privileges, run for real, each line validated
//! against `schema/v6probe.schema.json` by `v6probe_lab::json_line` (as every test's lines are):
//! decode, monitor --pcap (with and without a baseline or policy), ula generate / check /
//! aggregate / discover, route list and route add --dry-run, neigh list / params / watch, and
//! a listen + connect pair on loopback. The kinds that need privileges (start and live packets,
//! scan, send, sim, neigh events, the dialer's fallback transitions and MTU alerts) come from
//! the lab tests (monitor_lab, least_privilege, scan_lab, send_lab, neigh_ns, dualstack_lab),
//! whose lines go through the same check.
use std::{
    collections::BTreeSet,
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use v6probe_lab::{json_line, run_json, LineReader};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `v6probe args...`; every stdout line is validated. Exit 0, or 2 where `nothing_ok`
/// (ran, found nothing: an empty route table, no ULA on this host).
fn lines(args: &[&str], nothing_ok: bool) -> Vec<Value> {
    let (out, lines) = run_json(Command::new(BIN).args(args));
    let code = out.status.code();
    assert!(
        code == Some(0) || (nothing_ok && code == Some(2)),
        "v6probe {}: {:?}: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

fn kinds(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| l["kind"].as_str().map(String::from))
        .collect()
}

#[test]
fn decode_and_replay_lines_match_the_schema() {
    let pcap = data("detect_replay.pcapng");
    let mut seen = BTreeSet::new();
    seen.extend(kinds(&lines(&["decode", "--all", &pcap], false)));
    for extra in [
        vec![],
        vec!["--learn", "10"],
        vec!["--policy", &data("detect_replay.policy.toml")],
    ] {
        let mut args = vec!["monitor", "--pcap", pcap.as_str()];
        args.extend(extra.iter().copied());
        let out = lines(&args, false);
        assert!(out.len() > 1000, "{} lines", out.len());
        seen.extend(kinds(&out));
    }
    assert_eq!(
        seen,
        ["alert", "packet", "stats"].map(String::from).into(),
        "kinds printed"
    );
}

#[test]
fn ula_route_and_neigh_lines_match_the_schema() {
    let mut seen = BTreeSet::new();
    for (args, nothing_ok) in [
        (vec!["ula", "generate", "--subnets", "3"], false),
        (
            vec![
                "ula",
                "generate",
                "--mac",
                "02:00:5e:10:00:01",
                "--ntp-time",
                "1",
            ],
            false,
        ),
        (
            vec!["ula", "generate", "--eui64", "02:00:5e:ff:fe:10:00:01"],
            false,
        ),
        (
            vec![
                "ula",
                "check",
                "fd12:3456:789a::/48",
                "fd00::1",
                "fc00::/7",
                "fc01::1",
                "fe80::200:5eff:fe10:1",
                "fd00::c000:201",
                "fd00::192:168:1:10",
                "fd00::5efe:c000:201",
                "ff02::1",
                "::",
                "::1",
                "2001:db8::/32",
            ],
            false,
        ),
        (
            vec![
                "ula",
                "aggregate",
                "fd00::/48",
                "fd00:0:1::/48",
                "10.0.0.0/8",
                "10.1.0.0/16",
            ],
            false,
        ),
        (vec!["ula", "discover"], true),
        (vec!["route", "list"], true),
        (
            vec![
                "route",
                "add",
                "fd00:99::/64",
                "--dev",
                "lo",
                "--pref",
                "high",
                "--dry-run",
            ],
            false,
        ),
        (vec!["neigh", "list"], true),
        (vec!["neigh", "params", "-i", "lo"], false),
        (vec!["neigh", "watch", "--duration", "300ms"], false),
    ] {
        seen.extend(kinds(&lines(&args, nothing_ok)));
    }
    for k in [
        "ula_prefix",
        "ula_check",
        "ula_aggregate",
        "prefix",
        "route_change",
        "neigh_param",
    ] {
        assert!(seen.contains(k), "no {k} line: {seen:?}");
    }
    // ula aggregate from stdin, as the README shows it.
    let mut c = Command::new(BIN)
        .args(["ula", "aggregate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(b"fd00::/64\nfd00:0:0:1::/64\n")
        .unwrap();
    let out = c.wait_with_output().unwrap();
    let agg = v6probe_lab::stdout_json(&out);
    assert_eq!(agg.len(), 1);
    assert_eq!(agg[0]["prefix"], "fd00::/63");
}

#[test]
fn listen_and_connect_lines_match_the_schema() {
    let child = Command::new(BIN)
        .args(["listen", "[::1]:0", "--echo", "--count", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut listener = LineReader::new(child);
    let first = listener
        .wait_for(Duration::from_secs(10), |l| l.contains("\"listening\""))
        .expect("a listening line");
    let listening = json_line(&first);
    let addr = listening["addrs"][0].as_str().unwrap().to_string();
    let port = addr.rsplit(':').next().unwrap().to_string();
    let out = lines(
        &[
            "connect",
            "localhost",
            &port,
            "--addr",
            "::1",
            "--send",
            "2000",
            "--timeout",
            "5000",
        ],
        false,
    );
    assert_eq!(
        kinds(&out),
        ["connect", "transfer"].map(String::from).into()
    );
    assert_eq!(out[0]["connected"], true);
    assert_eq!(out[1]["bytes_echoed"], 2000);
    let (status, got, err) = listener.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "listen: {status} {err}");
    let got: Vec<Value> = got.iter().map(|l| json_line(l)).collect();
    assert_eq!(
        kinds(&got),
        ["listen_stats", "listening", "peer"]
            .map(String::from)
            .into()
    );
}
