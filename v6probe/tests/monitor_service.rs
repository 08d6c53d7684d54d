//! `v6probe monitor` as a service, against real peers in network namespaces this test creates:
//! a real Prometheus scraping `/metrics`, `promtool` checking a scrape.
#![cfg(target_os = "linux")]

use std::{
    process::{Child, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::Value;
use v6probe_lab::{veth, LineReader, Netns, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
/// The tests here load the kernel programs and some check for leftovers: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// A background process killed (and reaped) on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host namespace watched by the monitor and a peer namespace on the other end of a veth
/// (`v6p-h0` / `v6p-p0`), addresses fd00:a::1 and fd00:a::2.
struct Lab {
    host: Netns,
    peer: Netns,
}

fn lab(tag: &str) -> Lab {
    let host = Netns::new(&format!("{tag}-h")).unwrap();
    let peer = Netns::new(&format!("{tag}-p")).unwrap();
    veth(&host, "v6p-h0", &peer, "v6p-p0").unwrap();
    host.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:a::1/64",
        "dev",
        "v6p-h0",
        "nodad",
    ])
    .unwrap();
    peer.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:a::2/64",
        "dev",
        "v6p-p0",
        "nodad",
    ])
    .unwrap();
    Lab { host, peer }
}

fn monitor(ns: &Netns, args: &[&str]) -> LineReader {
    let child = ns
        .command(BIN)
        .args(["monitor", "-i", "v6p-h0", "--duration", "120"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut mon = LineReader::new(child);
    mon.wait_for(Duration::from_secs(20), |l| {
        l.contains("\"kind\":\"start\"")
    })
    .expect("monitor start line");
    mon
}

fn stop(mon: LineReader) -> Vec<Value> {
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    out.iter().map(|l| v6probe_lab::json_line(l)).collect()
}

/// A forged NA for a multicast target (a `na_multicast_target` alert), sent with `v6probe send`
/// from the peer.
fn forge_na(peer: &Netns) {
    peer.exec(
        BIN,
        &[
            "send", "na", "-i", "v6p-p0", "--target", "ff02::1", "--flags", "O",
        ],
    )
    .unwrap();
}

/// `curl -s URL` inside `ns`; the body.
fn curl(ns: &Netns, url: &str) -> String {
    ns.exec("curl", &["-s", "--max-time", "5", url]).unwrap()
}

#[test]
#[ignore = "needs root: network namespaces, the kernel programs (BPF), Prometheus"]
fn prometheus_scrapes_the_monitor_and_sees_the_alert() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("prom");
    let dir = TempDir::new("prom").unwrap();
    let mon = monitor(
        &lab.host,
        &["--events", "none", "--metrics-listen", "127.0.0.1:9478"],
    );
    let config = dir
        .file(
            "prometheus.yml",
            b"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
              scrape_configs:\n  - job_name: v6probe\n    static_configs:\n\
              \x20     - targets: ['127.0.0.1:9478']\n",
        )
        .unwrap();
    let storage = dir.path().join("tsdb");
    let prometheus = Daemon(
        lab.host
            .command("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", storage.display()))
            .arg("--web.listen-address=127.0.0.1:9090")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (apt-get install prometheus)"),
    );

    // The scrape is valid Prometheus text, by Prometheus's own linter.
    let scrape = curl(&lab.host, "http://127.0.0.1:9478/metrics");
    assert!(scrape.contains("v6probe_build_info{"), "{scrape}");
    let scrape_file = dir.file("scrape.txt", scrape.as_bytes()).unwrap();
    let check = lab.host.sh(&format!(
        "promtool check metrics < {}",
        scrape_file.display()
    ));
    assert!(check.is_ok(), "promtool check metrics: {check:?}\n{scrape}");
    let health = curl(&lab.host, "http://127.0.0.1:9478/healthz");
    assert!(health.contains("\"healthy\":true"), "{health}");

    forge_na(&lab.peer);
    // Prometheus scrapes every second; ask its HTTP API until the alert counter shows up.
    let query = "http://127.0.0.1:9090/api/v1/query?query=\
                 v6probe_alerts_total%7Bcode%3D%22na_multicast_target%22%7D";
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        let body = curl(&lab.host, query);
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let got = v["data"]["result"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|s| s["value"][1].as_str())
            .and_then(|s| s.parse::<f64>().ok());
        if let Some(x) = got.filter(|x| *x > 0.0) {
            eprintln!("prometheus: {body}");
            let labels = &v["data"]["result"][0]["metric"];
            assert_eq!(labels["severity"], "high", "{body}");
            assert_eq!(labels["iface"], "v6p-h0", "{body}");
            break x;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never returned v6probe_alerts_total for na_multicast_target: {body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(value >= 1.0);
    // Prometheus scraped with its own Accept header (OpenMetrics first): the target is up.
    let up = curl(&lab.host, "http://127.0.0.1:9090/api/v1/query?query=up");
    assert!(up.contains("\"1\""), "{up}");
    drop(prometheus);
    let v = stop(mon);
    assert!(
        v.iter()
            .any(|l| l["kind"] == "alert" && l["code"] == "na_multicast_target"),
        "no alert line"
    );
}
