//! `v6probe monitor` as a service, against real peers in network namespaces this test creates:
//! a real Prometheus scraping `/metrics`, `promtool` checking a scrape.
#![cfg(target_os = "linux")]

use std::{
    process::Stdio,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::Value;
use v6probe_lab::{start_monitor, stop_monitor, veth, Daemon, LineReader, Netns, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
/// The tests here load the kernel programs and some check for leftovers: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

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
    start_monitor(
        ns.command(BIN)
            .args(["monitor", "-i", "v6p-h0", "--duration", "120"])
            .args(args),
        Duration::from_secs(20),
    )
}

fn stop(mon: LineReader) -> Vec<Value> {
    stop_monitor(mon)
}

/// A forged NA for a multicast target (a `na_multicast_target` alert), sent with `v6probe send`
/// from the peer.
fn forge_na(peer: &Netns) {
    peer.exec(
        BIN,
        &[
            "send", "na", "-i", "v6p-p0", "--src", "fe80::2", "--target", "ff02::1", "--flags", "O",
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
        // Refused until Prometheus listens: asked again.
        let body = lab
            .host
            .exec("curl", &["-s", "--max-time", "5", query])
            .unwrap_or_default();
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

/// rsyslog in `ns`, listening on 127.0.0.1:5514 over UDP and TCP, writing
/// `INPUT|SEVERITY|FACILITY|MSGID|APP|MSG` lines to `out`.
fn rsyslog(ns: &Netns, dir: &std::path::Path, out: &std::path::Path) -> Daemon {
    let work = dir.join("rsyslog-work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{work}\")\n\
             module(load=\"imudp\")\n\
             module(load=\"imtcp\")\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"5514\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"5514\")\n\
             template(name=\"fields\" type=\"string\" \
             string=\"%inputname%|%syslogseverity%|%syslogfacility%|%msgid%|%app-name%|%msg%\\n\")\n\
             *.* action(type=\"omfile\" file=\"{out}\" template=\"fields\")\n",
            work = work.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let pid = dir.join("rsyslog.pid");
    let _ = std::fs::remove_file(&pid);
    let d = Daemon(
        ns.command("/usr/sbin/rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(&pid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd (apt-get install rsyslog)"),
    );
    // Up when both listeners are.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let tcp = ns
            .exec("ss", &["-Hltn", "sport = :5514"])
            .unwrap_or_default();
        let udp = ns
            .exec("ss", &["-Hlun", "sport = :5514"])
            .unwrap_or_default();
        if !tcp.trim().is_empty() && !udp.trim().is_empty() {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "rsyslogd did not start listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The rsyslog output lines (`INPUT|SEV|FAC|MSGID|APP|MSG`) whose MSGID is `msgid`.
fn received(out: &std::path::Path, msgid: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| l.splitn(6, '|').map(str::to_string).collect::<Vec<_>>())
        .filter(|f| f.len() == 6 && f[3] == msgid)
        .collect()
}

fn wait_received(out: &std::path::Path, msgid: &str, inputs: &[&str]) -> Vec<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let got = received(out, msgid);
        if inputs.iter().all(|i| got.iter().any(|f| f[0] == *i)) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "rsyslog did not get {msgid} over {inputs:?}: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs root: network namespaces, the kernel programs (BPF), rsyslog"]
fn rsyslog_receives_alerts_and_a_stopped_rsyslog_costs_counted_drops_only() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("syslog");
    let dir = TempDir::new("syslog").unwrap();
    let out = dir.path().join("received.log");
    let rsyslogd = rsyslog(&lab.host, dir.path(), &out);
    let mon = monitor(
        &lab.host,
        &[
            "--events",
            "ndp",
            "--syslog",
            "udp://127.0.0.1:5514",
            "--syslog",
            "tcp://127.0.0.1:5514",
            "--syslog-events",
            "--syslog-queue",
            "16",
            "--syslog-facility",
            "local3",
        ],
    );

    // An alert reaches rsyslog over both transports as an RFC 5424 message whose MSG is the
    // alert's JSON object.
    forge_na(&lab.peer);
    let got = wait_received(&out, "na_multicast_target", &["imudp", "imtcp"]);
    for f in &got {
        assert_eq!(f[1], "2", "high is crit: {f:?}");
        assert_eq!(f[2], "19", "local3: {f:?}");
        assert_eq!(f[4], "v6probe");
        let alert: Value = serde_json::from_str(f[5].trim()).unwrap();
        assert_eq!(alert["kind"], "alert");
        assert_eq!(alert["code"], "na_multicast_target");
        assert_eq!(alert["severity"], "high");
        assert_eq!(alert["iface"], "v6p-h0");
    }
    // Packet lines too (--syslog-events), at info.
    assert!(received(&out, "packet").iter().all(|f| f[1] == "6"));

    // rsyslog goes away; a burst of NDP follows. The monitor keeps reading the ring buffer
    // (every NS is reported on stdout) and counts what syslog could not take.
    drop(rsyslogd);
    lab.peer
        .exec(
            BIN,
            &[
                "send",
                "ns",
                "-i",
                "v6p-p0",
                "--target",
                "fd00:a::1",
                "--count",
                "300",
                "--interval",
                "2ms",
            ],
        )
        .unwrap();

    // rsyslog comes back: the TCP sink reconnects by itself and delivers the next alert.
    let _ = std::fs::remove_file(&out);
    let _rsyslogd = rsyslog(&lab.host, dir.path(), &out);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        lab.peer
            .exec(
                BIN,
                &[
                    "send",
                    "na",
                    "-i",
                    "v6p-p0",
                    "--target",
                    "ff02::1:2",
                    "--flags",
                    "O",
                ],
            )
            .unwrap();
        if received(&out, "na_multicast_target")
            .iter()
            .any(|f| f[0] == "imtcp")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the TCP sink did not reconnect");
        std::thread::sleep(Duration::from_secs(1));
    }
    let v = stop(mon);
    let ns_seen = v
        .iter()
        .filter(|l| {
            l["kind"] == "packet"
                && l["icmp6"]["name"] == "neighbor_solicit"
                && l["dir"] == "ingress"
                && l["icmp6"]["target"] == "fd00:a::1"
        })
        .count();
    assert!(ns_seen >= 300, "only {ns_seen} of 300 NS reported");
    let stats = v
        .iter()
        .rev()
        .find(|l| l["kind"] == "stats" && l["final"] == true)
        .expect("final stats");
    eprintln!("sinks: {}", stats["sinks"]);
    let tcp = &stats["sinks"]["syslog:tcp://127.0.0.1:5514"];
    let udp = &stats["sinks"]["syslog:udp://127.0.0.1:5514"];
    assert!(tcp["dropped"].as_u64().unwrap() > 0, "{tcp}");
    assert!(tcp["errors"].as_u64().unwrap() > 0, "{tcp}");
    assert!(udp["dropped"].as_u64().unwrap() > 0, "{udp}");
    assert_eq!(stats["drops"], 0, "ring buffer drops");
    assert_eq!(stats["sinks"]["stdout"]["dropped"], 0);
}

/// Messages arriving on a systemd-style notify socket (what systemd reads for Type=notify).
struct Notify {
    sock: std::os::unix::net::UnixDatagram,
    got: Vec<String>,
}

impl Notify {
    fn bind(path: &std::path::Path) -> Self {
        let sock = std::os::unix::net::UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Self {
            sock,
            got: Vec::new(),
        }
    }

    /// Waits (bounded) for a message containing `what`.
    fn wait(&mut self, what: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.got.iter().any(|m| m.contains(what)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.sock.recv(&mut buf) {
                self.got
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    }
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn config_file_signals_unreadable_state_and_systemd_notify() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("svc");
    let dir = TempDir::new("svc").unwrap();
    let d = dir.path();
    let state = dir
        .file("state.json", b"{\"version\": 1, \"neighbors\": [")
        .unwrap();
    let policy = dir.file("policy.toml", b"strict = false\n").unwrap();
    let config = dir
        .file(
            "monitor.toml",
            format!(
                "interface = [\"v6p-h0\"]\nevents = \"all\"\nstate = \"{}\"\npolicy = \"{}\"\n\
                 output = [\"file:{}\"]\nstats-interval = 1\n",
                state.display(),
                policy.display(),
                d.join("from-config.json").display()
            )
            .as_bytes(),
        )
        .unwrap();
    let mut notify = Notify::bind(&d.join("notify.sock"));
    let cli_file = d.join("from-cli.json");
    let child = lab
        .host
        .command(BIN)
        .args(["monitor", "--config"])
        .arg(&config)
        // The command line's outputs replace the file's list.
        .args(["--output", "stdout", "--output"])
        .arg(format!("file:{}", cli_file.display()))
        .env("NOTIFY_SOCKET", d.join("notify.sock"))
        .env("WATCHDOG_USEC", "2000000")
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

    // Ready after the start line; the watchdog pinged at half of WATCHDOG_USEC.
    assert!(
        notify.wait("READY=1", Duration::from_secs(20)),
        "{:?}",
        notify.got
    );
    assert!(
        notify.wait("WATCHDOG=1", Duration::from_secs(20)),
        "{:?}",
        notify.got
    );

    // The damaged state file was moved aside and alerted on; the monitor runs.
    let alert = mon
        .wait_for(Duration::from_secs(20), |l| l.contains("state_unreadable"))
        .expect("state_unreadable alert");
    let alert = v6probe_lab::json_line(&alert);
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["evidence"]["file"], state.display().to_string());
    let moved = alert["evidence"]["moved_to"].as_str().unwrap().to_string();
    assert!(moved.contains("state.json.unreadable-"), "{moved}");
    assert_eq!(
        std::fs::read(&moved).unwrap(),
        b"{\"version\": 1, \"neighbors\": [",
        "the unreadable file is kept as it was"
    );

    // A broken policy on SIGHUP: the old one stays, and the error says where.
    std::fs::write(&policy, b"strict = maybe\n").unwrap();
    mon.signal(libc::SIGHUP);
    assert!(
        notify.wait("RELOADING=1", Duration::from_secs(20)),
        "{:?}",
        notify.got
    );
    // logrotate's way: move the file away, SIGHUP, and lines go to a new file.
    mon.wait_for(Duration::from_secs(3), |l| l.contains("\"kind\":\"stats\""))
        .expect("a periodic stats line");
    std::fs::rename(&cli_file, d.join("from-cli.json.1")).unwrap();
    mon.signal(libc::SIGHUP);
    // The file sink opens the path afresh (at once, or with the next stats line).
    assert!(
        v6probe_lab::dualstack::wait_for(Duration::from_secs(20), || cli_file.exists()),
        "{} not reopened after SIGHUP",
        cli_file.display()
    );
    forge_na(&lab.peer);
    mon.wait_for(Duration::from_secs(20), |l| {
        l.contains("na_multicast_target")
    })
    .expect("alert after the reopen");

    mon.signal(libc::SIGTERM);
    let (status, out, err) = mon.finish(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    assert!(
        err.contains("keeping the policy in force") && err.contains("policy.toml:1:"),
        "{err}"
    );
    assert!(
        notify.wait("STOPPING=1", Duration::from_secs(2)),
        "{:?}",
        notify.got
    );
    // SIGTERM: the final stats line, in every output, and the state saved afresh.
    let v: Vec<Value> = out.iter().map(|l| v6probe_lab::json_line(l)).collect();
    let last = v.last().expect("lines");
    assert_eq!(last["kind"], "stats");
    assert_eq!(last["final"], true);
    assert!(
        !d.join("from-config.json").exists(),
        "the command line's outputs replace"
    );
    let reopened = std::fs::read_to_string(&cli_file).unwrap();
    assert!(reopened.contains("na_multicast_target"), "{reopened}");
    assert!(reopened.trim_end().ends_with('}') && reopened.contains("\"final\":true"));
    let before = std::fs::read_to_string(d.join("from-cli.json.1")).unwrap();
    assert!(before.contains("state_unreadable") && !before.contains("na_multicast_target"));
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
}

#[test]
fn a_bad_config_file_is_a_usage_error_naming_the_line() {
    let dir = TempDir::new("badcfg").unwrap();
    let config = dir
        .file("m.toml", b"interface = [\"eth0\"]\nhook = \"sideways\"\n")
        .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["monitor", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("m.toml:2:8:") && err.contains("sideways"),
        "{err}"
    );
}

/// What bpftool lists as attached to the interfaces of `ns` (XDP, TC, TCX links).
fn bpftool_net(ns: &Netns) -> String {
    ns.exec("/usr/sbin/bpftool", &["-j", "net", "show"])
        .expect("bpftool (apt-get install bpftool)")
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn interfaces_that_go_and_come_back_are_followed() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("links");
    // v6p-w0 does not exist yet: --wait-for-interface starts anyway.
    let mut mon = monitor(
        &lab.host,
        &[
            "-i",
            "v6p-w0",
            "--wait-for-interface",
            "--events",
            "ndp",
            "--metrics-listen",
            "127.0.0.1:9478",
        ],
    );
    mon.wait_for(Duration::from_secs(20), |l| {
        l.contains("\"kind\":\"interface\"") && l.contains("\"waiting\"")
    })
    .expect("interface waiting line");
    let health = curl(&lab.host, "http://127.0.0.1:9478/healthz");
    assert!(health.contains("v6p-w0 does not exist yet"), "{health}");

    // The watched veth is deleted: a `gone` line, /healthz 503 naming it.
    lab.host.ip(&["link", "del", "v6p-h0"]).unwrap();
    let gone = mon
        .wait_for(Duration::from_secs(20), |l| {
            l.contains("\"interface\"") && l.contains("\"gone\"") && l.contains("v6p-h0")
        })
        .expect("interface gone line");
    let gone = v6probe_lab::json_line(&gone);
    // The default hooks on a veth: TC on ingress and egress.
    assert_eq!(
        gone["hooks"],
        serde_json::json!(["tc_ingress", "tc_egress"])
    );
    let health = lab
        .host
        .exec(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:9478/healthz",
            ],
        )
        .unwrap();
    assert_eq!(health, "503");
    let body = curl(&lab.host, "http://127.0.0.1:9478/healthz");
    assert!(body.contains("interface v6p-h0 is gone"), "{body}");

    // Created again (a new ifindex), and the awaited one appears: both `back`, attached.
    veth(&lab.host, "v6p-h0", &lab.peer, "v6p-p0").unwrap();
    veth(&lab.host, "v6p-w0", &lab.peer, "v6p-w1").unwrap();
    // The hooks are chosen again on each (re)attach, from the link kind: TC on these veths.
    for name in ["v6p-h0", "v6p-w0"] {
        let back = mon
            .wait_for(Duration::from_secs(20), |l| {
                l.contains("\"interface\"") && l.contains("\"back\"") && l.contains(name)
            })
            .unwrap_or_else(|| panic!("interface back line for {name}"));
        let back = v6probe_lab::json_line(&back);
        assert_eq!(
            back["hooks"],
            serde_json::json!(["tc_ingress", "tc_egress"]),
            "{back}"
        );
    }
    let health = curl(&lab.host, "http://127.0.0.1:9478/healthz");
    assert!(health.contains("\"healthy\":true"), "{health}");
    let net: Value = serde_json::from_str(&bpftool_net(&lab.host)).unwrap();
    assert_eq!(net[0]["xdp"], serde_json::json!([]), "XDP on a veth: {net}");

    // NDP after the re-creation is reported, on both.
    forge_na(&lab.peer);
    lab.peer
        .exec(
            BIN,
            &[
                "send", "na", "-i", "v6p-w1", "--src", "fe80::3", "--target", "ff02::1", "--flags",
                "O",
            ],
        )
        .unwrap();
    for name in ["v6p-h0", "v6p-w0"] {
        mon.wait_for(Duration::from_secs(20), |l| {
            l.contains("\"kind\":\"packet\"")
                && l.contains("neighbor_advert")
                && l.contains(&format!("\"iface\":\"{name}\""))
        })
        .unwrap_or_else(|| panic!("no NA reported on {name} after it came back"));
    }
    let v = stop(mon);
    let stats = v.last().unwrap();
    assert_eq!(stats["kind"], "stats");

    // Nothing stays attached: no XDP on the links, no v6probe program on any of them.
    for name in ["v6p-h0", "v6p-w0"] {
        let link = lab.host.ip(&["link", "show", name]).unwrap();
        assert!(!link.contains("xdp"), "XDP still attached: {link}");
    }
    // (Per namespace: other monitors on this machine may have programs loaded meanwhile.)
    let net: Value = serde_json::from_str(&bpftool_net(&lab.host)).unwrap();
    assert_eq!(
        net[0]["xdp"],
        serde_json::json!([]),
        "XDP still attached: {net}"
    );
    assert_eq!(
        net[0]["tc"],
        serde_json::json!([]),
        "TC still attached: {net}"
    );
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF), tshark"]
fn pcapng_files_hold_every_reported_frame_and_name_the_alerts() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("pcapng");
    let dir = TempDir::new("pcapng").unwrap();
    let caps = dir.path().join("caps");
    let mut mon = monitor(
        &lab.host,
        &[
            "--events",
            "all",
            "--pcapng",
            caps.to_str().unwrap(),
            "--pcapng-size",
            "4K",
            "--pcapng-keep",
            "1000",
        ],
    );
    lab.peer
        .exec(
            "ping",
            &[
                "-6",
                "-c",
                "2",
                "-i",
                "0.2",
                "-W",
                "2",
                "-w",
                "10",
                "fd00:a::1",
            ],
        )
        .unwrap();
    forge_na(&lab.peer);
    lab.peer
        .exec(
            BIN,
            &[
                "send",
                "ns",
                "-i",
                "v6p-p0",
                "--target",
                "fd00:a::1",
                "--count",
                "60",
                "--interval",
                "5ms",
            ],
        )
        .unwrap();
    // The alert's frame is read before the stop (the rest is drained at the stop).
    mon.wait_for(Duration::from_secs(20), |l| {
        l.contains("na_multicast_target")
    })
    .expect("alert line");
    let v = stop(mon);
    let stats = v.last().unwrap();
    let records = stats["records_read"].as_u64().unwrap();
    let packets = v.iter().filter(|l| l["kind"] == "packet").count() as u64;
    assert_eq!(
        records, packets,
        "every record is a packet line with --events all"
    );
    let sink = &stats["sinks"][format!("pcapng:{}", caps.display())];
    assert_eq!(sink["dropped"], 0, "{sink}");
    assert_eq!(sink["lines"].as_u64(), Some(records), "{sink}");

    // tshark reads every file; together they hold every frame the monitor reported.
    let mut files: Vec<_> = std::fs::read_dir(&caps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(
        files.len() > 2,
        "4 KiB files should have rotated: {files:?}"
    );
    let mut frames = 0u64;
    let mut ingress = 0u64;
    let mut comments = Vec::new();
    for f in &files {
        let out = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(f)
            .args([
                "-T",
                "fields",
                "-E",
                "separator=|",
                "-e",
                "frame.interface_name",
                "-e",
                "frame.packet_flags_direction",
                "-e",
                "frame.comment",
            ])
            .output()
            .expect("tshark (apt-get install tshark)");
        assert!(
            out.status.success(),
            "tshark -r {}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let fields: Vec<&str> = line.split('|').collect();
            assert_eq!(fields[0], "v6p-h0", "{line}");
            frames += 1;
            // epb_flags direction, as tshark prints it: 1 inbound, 2 outbound.
            let dir = u32::from_str_radix(fields[1].trim_start_matches("0x"), 16).unwrap();
            if dir == 1 {
                ingress += 1;
            } else {
                assert_eq!(dir, 2, "direction: {line}");
            }
            if fields.get(2).is_some_and(|c| !c.is_empty()) {
                comments.push(fields[2].to_string());
            }
        }
    }
    assert_eq!(
        frames, records,
        "frames in the pcapng files vs records reported"
    );
    let ingress_lines = v
        .iter()
        .filter(|l| l["kind"] == "packet" && l["dir"] == "ingress")
        .count() as u64;
    assert_eq!(ingress, ingress_lines);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("v6probe alert: na_multicast_target (high)")),
        "{comments:?}"
    );
}

/// The text of a rotated output file, gunzipped when it ends in `.gz`.
fn read_output(path: &std::path::Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    let f = std::fs::File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .unwrap();
    } else {
        std::io::BufReader::new(f).read_to_string(&mut s).unwrap();
    }
    s
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn rotated_output_files_hold_every_line_exactly_once_under_a_burst() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("rotate");
    let dir = TempDir::new("rotate").unwrap();
    let events = dir.path().join("events.json");
    let mut mon = monitor(
        &lab.host,
        &[
            "--events",
            "all",
            "--output",
            "stdout",
            "--output",
            &format!("file:{}", events.display()),
            "--rotate-size",
            "8K",
            "--rotate-keep",
            "1000",
            "--rotate-compress",
            // The burst goes past the kernel flood guard's 1000 frames/s.
            "--flood-guard",
            "off",
        ],
    );
    // A burst of NS (and the host's NA replies) with an alert among it.
    forge_na(&lab.peer);
    lab.peer
        .exec(
            BIN,
            &[
                "send",
                "ns",
                "-i",
                "v6p-p0",
                "--target",
                "fd00:a::1",
                "--count",
                "400",
                "--interval",
                "1ms",
            ],
        )
        .unwrap();
    mon.wait_for(Duration::from_secs(20), |l| {
        l.contains("na_multicast_target")
    })
    .expect("alert line");
    let v = stop(mon);

    // The live file and events.json.1.gz ... events.json.N.gz, nothing else.
    let mut rotated: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let n = name.strip_prefix("events.json.")?.strip_suffix(".gz")?;
            Some((n.parse().unwrap(), p))
        })
        .collect();
    rotated.sort();
    assert!(
        rotated.len() >= 3,
        "8 KiB files should have rotated: {rotated:?}"
    );
    let numbers: Vec<u32> = rotated.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..=rotated.len() as u32).collect::<Vec<_>>());

    // Oldest first: the highest number, down to 1, then the live file.
    let mut files: Vec<std::path::PathBuf> = rotated.into_iter().rev().map(|(_, p)| p).collect();
    files.push(events.clone());
    let mut written = Vec::new();
    for f in &files {
        let text = read_output(f);
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends mid-line",
            f.display()
        );
        for line in text.lines() {
            // Every line in the files is a whole line of the schema.
            v6probe_lab::json_line(line);
            written.push(line.to_string());
        }
    }
    // stdout got the same lines: each is in the files exactly once, in the same order.
    let stdout: Vec<String> = v.iter().map(|l| l.to_string()).collect();
    let files_json: Vec<String> = written
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap().to_string())
        .collect();
    let ns = files_json
        .iter()
        .filter(|l| l.contains("neighbor_solicit") && l.contains("\"kind\":\"packet\""))
        .count();
    assert!(ns >= 400, "only {ns} NS packet lines in the files");
    assert_eq!(
        files_json.len(),
        stdout.len(),
        "lines in the rotated files vs lines on stdout"
    );
    assert!(
        files_json == stdout,
        "the rotated files hold other lines (or another order) than stdout"
    );
    let stats = v.last().unwrap();
    let sink = &stats["sinks"][format!("file:{}", events.display())];
    assert_eq!(sink["dropped"], 0, "{sink}");
    assert_eq!(sink["errors"], 0, "{sink}");
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn the_shipped_example_config_runs_the_monitor() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab("excfg");
    let dir = TempDir::new("excfg").unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/config/monitor.toml");
    let events = dir.path().join("events.json");
    let state = dir.path().join("state.json");
    // deploy/config/monitor.toml as the package installs it, with the host's paths and
    // interface replaced on the command line; its metrics port, rotation, learning and queue
    // settings stay as shipped.
    let child = lab
        .host
        .command(BIN)
        .args(["monitor", "--config", example, "-i", "v6p-h0"])
        .arg("--output")
        .arg(format!("file:{}", events.display()))
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mon = LineReader::new(child);
    // Healthy on the shipped metrics port (all addresses, 9478) once the programs are attached.
    let healthy = v6probe_lab::dualstack::wait_for(Duration::from_secs(30), || {
        lab.host
            .exec(
                "curl",
                &["-s", "--max-time", "5", "http://[::1]:9478/healthz"],
            )
            .is_ok_and(|b| b.contains("\"healthy\":true"))
    });
    assert!(healthy, "no healthy /healthz on [::]:9478");
    let metrics = curl(&lab.host, "http://127.0.0.1:9478/metrics");
    assert!(metrics.contains("v6probe_build_info{"), "{metrics}");
    forge_na(&lab.peer);
    // events = "ndp": the NA's packet line and its alert reach the file.
    assert!(
        v6probe_lab::dualstack::wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(&events).is_ok_and(|t| t.contains("na_multicast_target"))
        }),
        "no alert in {}",
        events.display()
    );
    mon.signal(libc::SIGTERM);
    let (status, out, err) = mon.finish(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    assert!(out.is_empty(), "the file output replaced stdout: {out:?}");
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(v6probe_lab::json_line)
        .collect();
    assert_eq!(lines[0]["kind"], "start");
    assert!(lines
        .iter()
        .any(|l| l["kind"] == "packet" && l["icmp6"]["name"] == "neighbor_advert"));
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "stats");
    assert_eq!(last["final"], true);
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
}
