//! Golden replay: `v6probe monitor --pcap tests/data/detect_replay.pcapng --events none` under
//! four detection set-ups must print exactly the alert lines committed beside the capture.
//! The capture (made by `examples/detect_fixture.rs`) holds a benign link and nearly every
//! attack the detector knows, so any change to what the detector says shows up here as a
//! line-by-line difference. No privileges needed.
//!
//! When the alerts change on purpose, rewrite the golden files with
//! `V6PROBE_BLESS=1 cargo test -p v6probe --test detect_replay` (the run then fails, saying
//! what it wrote), review `git diff v6probe/tests/data/`, and run the test again.
use std::{path::PathBuf, process::Command};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The alert lines of one replay, as printed (every line read through `json_line`, so the
/// stats line is validated against the schema too).
fn replay(args: &[&str]) -> Vec<String> {
    let out = Command::new(BIN)
        .args(["monitor", "--pcap"])
        .arg(data("detect_replay.pcapng"))
        .args(["--events", "none"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| v6probe_lab::json_line(l)["kind"] == "alert")
        .map(str::to_owned)
        .collect()
}

fn check(golden: &str, args: &[&str]) {
    let got = replay(args);
    let path = data(golden);
    if std::env::var_os("V6PROBE_BLESS").is_some() {
        let mut text = got.join("\n");
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        panic!(
            "wrote {} ({} alert lines); review the diff and run again without V6PROBE_BLESS",
            path.display(),
            got.len()
        );
    }
    let want: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect();
    // A golden file that lost its content would make this comparison vacuous.
    assert!(want.len() > 100, "{}: {} lines", path.display(), want.len());
    if let Some(i) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i)) {
        panic!(
            "{} ({:?}): first difference at alert line {} of {} (got {} lines)\n want: {}\n  got: {}",
            path.display(),
            args,
            i + 1,
            want.len(),
            got.len(),
            want.get(i).map_or("<none>", String::as_str),
            got.get(i).map_or("<none>", String::as_str),
        );
    }
}

#[test]
fn replay_without_baseline_matches_golden_alerts() {
    check("detect_replay.default.alerts.jsonl", &[]);
}

#[test]
fn replay_after_learning_matches_golden_alerts() {
    check("detect_replay.learn.alerts.jsonl", &["--learn", "10"]);
}

#[test]
fn replay_under_strict_policy_matches_golden_alerts() {
    let policy = data("detect_replay.policy.toml");
    check(
        "detect_replay.policy.alerts.jsonl",
        &["--policy", policy.to_str().unwrap()],
    );
}

#[test]
fn replay_with_proxy_policy_and_learning_matches_golden_alerts() {
    let policy = data("detect_replay.proxy.toml");
    check(
        "detect_replay.proxy.alerts.jsonl",
        &["--learn", "10", "--policy", policy.to_str().unwrap()],
    );
}
