//! `v6probe monitor --flood-guard`: a real NA flood between two namespaces; the kernel records
//! the first packets in full, counts the rest, and the monitor turns the counts into a `flood`
//! alert and `stats` figures. Nothing is lost without a number.
#![cfg(target_os = "linux")]

use std::time::Duration;

use serde_json::Value;
use v6probe_lab::{json_line, veth, LineReader, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn na_flood_is_recorded_then_counted_and_alerted() {
    v6probe_lab::require_privileges();
    let host = Netns::new("fg-host").unwrap();
    let peer = Netns::new("fg-peer").unwrap();
    veth(&host, "v6p-fh0", &peer, "v6p-fp0").unwrap();
    let peer_mac = peer.mac("v6p-fp0").unwrap();
    // `send` takes its source from the link-local address, which exists only after DAD.
    peer.wait_link_local("v6p-fp0", Duration::from_secs(10))
        .unwrap();

    let child = host
        .command(BIN)
        .args([
            "monitor",
            "-i",
            "v6p-fh0",
            "--hook",
            "xdp",
            "--flood-guard",
            "20",
            "--duration",
            "30",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut mon = LineReader::new(child);
    mon.wait_for(Duration::from_secs(10), |l| {
        l.contains("\"kind\":\"start\"")
    })
    .expect("monitor start line");

    // 400 unsolicited NAs, as fast as the sender goes: far past 20 per second.
    const SENT: u64 = 400;
    let o = peer
        .command(BIN)
        .args([
            "send",
            "na",
            "-i",
            "v6p-fp0",
            "--target",
            "fd00:f::1",
            "--flags",
            "O",
            "--count",
            &SENT.to_string(),
            "--interval",
            "0s",
        ])
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    mon.wait_for(Duration::from_secs(10), |l| {
        l.contains("\"kind\":\"alert\"") && l.contains("\"guard_class\":\"na\"")
    })
    .expect("a flood alert from the kernel guard's counts");
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    let v: Vec<Value> = out.iter().map(|l| json_line(l)).collect();

    let alert = v
        .iter()
        .find(|l| l["kind"] == "alert" && l["evidence"]["guard_class"] == "na")
        .unwrap();
    assert_eq!(alert["code"], "flood");
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["mac"], peer_mac.as_str());
    assert_eq!(alert["evidence"]["guard_rate"], 20);
    assert!(alert["evidence"]["kernel_suppressed"].as_u64().unwrap() > 0);
    assert_eq!(alert["evidence"]["sources"][0]["mac"], peer_mac.as_str());

    // The first packets of the flood are there in full, as packet lines.
    let na_lines = |from_peer: bool| {
        v.iter()
            .filter(|l| {
                l["kind"] == "packet"
                    && l["icmp6"]["name"] == "neighbor_advert"
                    && (!from_peer || l["eth"]["src"] == peer_mac.as_str())
            })
            .count() as u64
    };
    let recorded = na_lines(true);
    assert!(recorded >= 5, "the burst is recorded: {recorded}");
    assert!(recorded < SENT, "the guard held the flood back: {recorded}");

    // Every NA the kernel saw is a record or a counted suppression.
    let stats = v.iter().find(|l| l["kind"] == "stats").unwrap();
    let k = &stats["kernel"];
    let seen = k["neighbor_advert"].as_u64().unwrap();
    assert!(seen >= SENT, "{k}");
    let suppressed = k["flood_suppressed_na"].as_u64().unwrap();
    assert!(suppressed > 0);
    assert_eq!(k["flood_suppressed"].as_u64().unwrap(), suppressed, "{k}");
    assert_eq!(k["ringbuf_drops"], 0);
    // Every NA the kernel counted is a packet line or a guard suppression.
    assert_eq!(na_lines(false) + suppressed, seen, "{k}");
    let sources = stats["flood_sources"].as_array().unwrap();
    assert_eq!(sources[0]["mac"], peer_mac.as_str());
    assert!(sources[0]["suppressed"].as_u64().unwrap() > 0);
}
