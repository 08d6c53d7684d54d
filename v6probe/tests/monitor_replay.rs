//! `v6probe monitor --pcap`: a recorded incident re-judged offline through the same decoder and
//! detector, with the capture's timestamps. No privileges needed.
use std::{
    fs,
    net::Ipv6Addr,
    process::Command,
    time::{Duration, UNIX_EPOCH},
};

use serde_json::Value;
use v6probe::{capture::write::PcapWriter, wire::EthernetAddress};
use v6probe_lab::{stdout_json, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

/// An unsolicited NA with the Override flag, from `eth` claiming `target` (TLLA = `eth`).
fn na(eth: EthernetAddress, target: Ipv6Addr) -> Vec<u8> {
    v6probe_lab::ndp::unsolicited_na(eth, target).to_bytes()
}

#[test]
fn replay_judges_a_capture_with_its_own_timestamps() {
    let dir = TempDir::new("replay").unwrap();
    let target: Ipv6Addr = "fd00:1::10".parse().unwrap();
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    // The owner announces itself, then 200 ms later another MAC takes the address over.
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    w.write(t0, &na(mac(1), target)).unwrap();
    w.write(t0 + Duration::from_millis(200), &na(mac(2), target))
        .unwrap();
    let bytes = w.into_inner();
    let path = dir.path().join("incident.pcap");
    fs::write(&path, &bytes).unwrap();

    let run = || {
        let out = Command::new(BIN)
            .args(["monitor", "--pcap"])
            .arg(&path)
            .args(["--events", "none"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        stdout_json(&out)
    };
    let first = run();
    let alerts: Vec<&Value> = first.iter().filter(|l| l["kind"] == "alert").collect();
    assert!(
        alerts
            .iter()
            .any(|a| a["code"] == "neighbor_mac_changed" && a["mac"] == "02:00:00:00:00:02"),
        "{first:?}"
    );
    assert!(alerts
        .iter()
        .any(|a| a["code"] == "na_unsolicited_override"));
    // Alerts carry the capture's time, not the replay's: the owner is new at t0, the takeover
    // happens at t0 + 200 ms.
    let at = |code: &str| {
        alerts
            .iter()
            .find(|a| a["code"] == code)
            .map(|a| a["ts"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(at("neighbor_new"), "2027-01-15T08:00:00.000000000Z");
    assert_eq!(at("neighbor_mac_changed"), "2027-01-15T08:00:00.200000000Z");
    // --events none: no packet lines; the stats line accounts for the capture.
    assert!(first.iter().all(|l| l["kind"] != "packet"));
    let stats = first.iter().find(|l| l["kind"] == "stats").unwrap();
    assert_eq!(stats["capture"]["frames"], 2);
    assert!(stats.get("kernel").is_none());
    // Deterministic: the same capture gives the same alerts.
    let again = run();
    let a1: Vec<_> = first.iter().filter(|l| l["kind"] == "alert").collect();
    let a2: Vec<_> = again.iter().filter(|l| l["kind"] == "alert").collect();
    assert_eq!(a1, a2);

    // A capture cut in the middle of the second record: the first is judged and printed, then
    // the error names the byte offset, exit 1.
    let cut = dir.path().join("cut.pcap");
    fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let out = Command::new(BIN)
        .args(["monitor", "--pcap"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = stdout_json(&out);
    assert_eq!(v.iter().filter(|l| l["kind"] == "packet").count(), 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offset"), "{err}");

    // Usage: --pcap and -i together.
    let out = Command::new(BIN)
        .args(["monitor", "-i", "lo", "--pcap"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}
