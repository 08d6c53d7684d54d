//! `v6probe monitor` against real kernels in network namespaces this test creates.
#![cfg(target_os = "linux")]

use std::{sync::Mutex, time::Duration};

use serde_json::Value;
use v6probe::netio::{Capture, PacketSocket};
use v6probe_lab::frame::{ns_body, FrameSpec};
use v6probe_lab::{json_line, veth, LineReader, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
/// The lab tests in this file check for leftover programs globally: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn packets<'a>(v: &'a [Value], name: &str, dir: &str) -> Vec<&'a Value> {
    v.iter()
        .filter(|l| l["kind"] == "packet" && l["icmp6"]["name"] == name && l["dir"] == dir)
        .collect()
}

/// IDs of the programs a monitor on `ifname` in `ns` loaded: its XDP program as `bpftool net`
/// lists it (this bpftool does not list TCX links), and every v6probe program sharing a map
/// with it (one object, one set of maps). Read while the monitor runs, they name its own
/// programs: other processes load programs of the same names in parallel.
fn attached_program_ids(ns: &Netns, ifname: &str) -> std::collections::BTreeSet<u32> {
    let text = ns
        .exec("bpftool", &["-j", "net", "show", "dev", ifname])
        .expect("bpftool (apt-get install bpftool)");
    let v: Value = serde_json::from_str(&text).unwrap();
    let xdp: Vec<u32> = v[0]["xdp"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .map(|id| id as u32)
        .collect();
    let programs: Vec<(u32, Vec<u32>)> = aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter(|p| p.name_as_str().is_some_and(|n| n.starts_with("v6p_")))
        .map(|p| (p.id(), p.map_ids().ok().flatten().unwrap_or_default()))
        .collect();
    let maps: Vec<u32> = programs
        .iter()
        .filter(|(id, _)| xdp.contains(id))
        .flat_map(|(_, m)| m.clone())
        .collect();
    programs
        .into_iter()
        .filter(|(id, m)| xdp.contains(id) || m.iter().any(|m| maps.contains(m)))
        .map(|(id, _)| id)
        .collect()
}

fn is_v6probe_program(id: u32) -> bool {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .any(|p| p.id() == id && p.name_as_str().is_some_and(|n| n.starts_with("v6p_")))
}

/// Waits (bounded) until none of `ids` is loaded: the kernel frees a program once its last
/// reference goes, which can trail the process's exit a little.
fn wait_unloaded(ids: &std::collections::BTreeSet<u32>) -> Vec<u32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|id| is_v6probe_program(*id))
            .collect();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn monitor_sees_real_ndp_and_detaches() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = Netns::new("mon-host").unwrap();
    let peer = Netns::new("mon-peer").unwrap();
    veth(&host, "v6p-h0", &peer, "v6p-p0").unwrap();
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
    let host_mac = host.mac("v6p-h0").unwrap();
    let peer_mac = peer.mac("v6p-p0").unwrap();

    // XDP forced on the veth (the default there is TC): the XDP path and its detach.
    let (mut mon, start) = start_monitor(
        &host,
        &[
            "monitor",
            "-i",
            "v6p-h0",
            "--hook",
            "both",
            "--duration",
            "20",
        ],
    );
    assert_eq!(start_hooks(&start, "v6p-h0"), ["xdp", "tc_egress"]);
    let ours = attached_program_ids(&host, "v6p-h0");
    assert!(
        ours.len() >= 2,
        "the monitor's programs (XDP, TC egress): {ours:?}"
    );

    // The local kernel: DAD for a new address, and router solicitations when the link comes
    // back up (forwarding off, accept_ra on: the defaults).
    host.sysctl("net.ipv6.conf.v6p-h0.router_solicitation_interval", "1")
        .unwrap();
    host.ip(&["link", "set", "v6p-h0", "down"]).unwrap();
    host.ip(&["link", "set", "v6p-h0", "up"]).unwrap();
    host.ip(&["-6", "addr", "add", "fd00:a::1/64", "dev", "v6p-h0"])
        .unwrap();
    host.wait_dad(Duration::from_secs(5)).unwrap();
    // The peer kernel resolves us (NS in, our NA out) and we resolve it (NS out, its NA in).
    peer.exec(
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
    host.ip(&["-6", "neigh", "flush", "dev", "v6p-h0"]).unwrap();
    host.exec(
        "ping",
        &["-6", "-c", "1", "-W", "2", "-w", "10", "fd00:a::2"],
    )
    .unwrap();

    mon.wait_for(Duration::from_secs(5), |l| l.contains("router_solicit"))
        .expect("a router solicitation");
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    let v: Vec<Value> = out.iter().map(|l| json_line(l)).collect();

    // Every packet line carries the documented fields.
    for p in v.iter().filter(|l| l["kind"] == "packet") {
        for key in ["ts", "iface", "dir", "hook"] {
            assert!(p[key].is_string(), "{key} missing in {p}");
        }
        assert!(p["ts"].as_str().unwrap().ends_with('Z'));
        assert!(p["eth"]["src"].is_string() && p["eth"]["dst"].is_string());
        assert!(p["ip6"]["src"].is_string() && p["ip6"]["dst"].is_string());
        assert!(p["ip6"]["hop_limit"].is_u64() && p["ip6"]["ext"].is_array());
        assert!(p["icmp6"]["type"].is_u64() && p["icmp6"]["code"].is_u64());
        assert_eq!(p["iface"], "v6p-h0");
    }

    // NS from the peer, seen by XDP on ingress, and our NA back, seen by TC on egress.
    let ns_in = packets(&v, "neighbor_solicit", "ingress");
    assert!(
        ns_in.iter().any(|p| p["eth"]["src"] == peer_mac.as_str()
            && p["hook"] == "xdp"
            && p["ip6"]["src"] == "fd00:a::2"),
        "no NS from the peer: {ns_in:?}"
    );
    // The full message is decoded: the target and the source link-layer option.
    let ns = ns_in
        .iter()
        .find(|p| p["ip6"]["src"] == "fd00:a::2")
        .unwrap();
    eprintln!("NS line: {ns}");
    assert_eq!(ns["icmp6"]["target"], "fd00:a::1");
    assert_eq!(ns["icmp6"]["checksum_ok"], true);
    assert!(ns["icmp6"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["name"] == "source_ll_addr" && o["addr"] == peer_mac.as_str()));
    assert_eq!(ns["violations"].as_array().map(Vec::len), Some(0), "{ns}");
    let na_out = packets(&v, "neighbor_advert", "egress");
    assert!(
        na_out.iter().any(|p| p["eth"]["src"] == host_mac.as_str()
            && p["hook"] == "tc"
            && p["ip6"]["hop_limit"] == 255),
        "no NA from us: {na_out:?}"
    );
    // Our NS for the peer and its NA.
    assert!(packets(&v, "neighbor_solicit", "egress")
        .iter()
        .any(|p| p["eth"]["src"] == host_mac.as_str()));
    assert!(packets(&v, "neighbor_advert", "ingress")
        .iter()
        .any(|p| p["eth"]["src"] == peer_mac.as_str() && p["ip6"]["src"] == "fd00:a::2"));
    // DAD: NS from the unspecified address.
    assert!(
        packets(&v, "neighbor_solicit", "egress")
            .iter()
            .any(|p| p["ip6"]["src"] == "::"),
        "no DAD NS"
    );
    // RS to all-routers.
    assert!(packets(&v, "router_solicit", "egress")
        .iter()
        .any(|p| p["ip6"]["dst"] == "ff02::2"));

    // The final stats line agrees with what was printed.
    let stats = v.iter().find(|l| l["kind"] == "stats").expect("stats line");
    // (`lines` counts the packet lines and the detector's alert lines.)
    let printed = v
        .iter()
        .filter(|l| l["kind"] == "packet" || l["kind"] == "alert")
        .count() as u64;
    assert_eq!(stats["lines"].as_u64().unwrap(), printed);
    let packets_printed = v.iter().filter(|l| l["kind"] == "packet").count() as u64;
    assert!(stats["kernel"]["records"].as_u64().unwrap() >= packets_printed);
    assert_eq!(stats["kernel"]["ringbuf_drops"], 0);

    // Nothing left attached.
    let link = host.ip(&["link", "show", "v6p-h0"]).unwrap();
    assert!(!link.contains("xdp"), "XDP still attached: {link}");
    assert!(attached_program_ids(&host, "v6p-h0").is_empty());
    let left = wait_unloaded(&ours);
    assert!(left.is_empty(), "programs still loaded: {left:?}");
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn monitor_errors_are_clear_and_leave_nothing_behind() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = Netns::new("mon-err").unwrap();
    let peer = Netns::new("mon-err-peer").unwrap();
    veth(&host, "v6p-e0", &peer, "v6p-e1").unwrap();

    // Unknown interface: exit 1, the interface named.
    let out = host
        .command(BIN)
        .args(["monitor", "-i", "v6p-nope", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("interface `v6p-nope` not found"), "{err}");

    // Without privileges: the missing capabilities are named, exit 1.
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .args([BIN, "monitor", "-i", "lo", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing privileges") && err.contains("CAP_BPF"),
        "{err}"
    );

    // Bad command line: exit 64.
    let out = host
        .command(BIN)
        .args(["monitor", "-i", "v6p-e0", "--duration", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));

    // Someone else's XDP program on the interface: refuse, name it, leave theirs alone.
    let first = host
        .command(BIN)
        .args([
            "monitor",
            "-i",
            "v6p-e0",
            "--hook",
            "xdp",
            "--duration",
            "20",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = LineReader::new(first);
    first
        .wait_for(Duration::from_secs(10), |l| {
            l.contains("\"kind\":\"start\"")
        })
        .expect("first monitor started");
    let first_ids = attached_program_ids(&host, "v6p-e0");
    assert!(!first_ids.is_empty(), "the first monitor's programs");
    // A second monitor on a free interface and the busy one: it attaches to the free one
    // first, then fails on the busy one, and must not leave the free one attached.
    veth(&host, "v6p-f0", &host, "v6p-f1").unwrap();
    let out = host
        .command(BIN)
        .args([
            "monitor",
            "-i",
            "v6p-f0",
            "-i",
            "v6p-e0",
            "--hook",
            "xdp",
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already attached"), "{err}");
    assert!(err.contains("v6p-e0"), "{err}");
    let link = host.ip(&["link", "show", "v6p-e0"]).unwrap();
    assert!(
        link.contains("xdp"),
        "the first monitor's program must survive: {link}"
    );
    let free = host.ip(&["link", "show", "v6p-f0"]).unwrap();
    assert!(!free.contains("xdp"), "partial attach left behind: {free}");
    first.signal(libc::SIGTERM);
    let (status, _, _) = first.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success());
    let left = wait_unloaded(&first_ids);
    assert!(left.is_empty(), "programs still loaded: {left:?}");
    let link = host.ip(&["link", "show", "v6p-e0"]).unwrap();
    assert!(!link.contains("xdp"), "{link}");

    // A missing second interface is caught before anything is loaded (XDP asked for, so the
    // link shows it if it were).
    let out = host
        .command(BIN)
        .args([
            "monitor",
            "-i",
            "v6p-e0",
            "-i",
            "v6p-missing",
            "--hook",
            "both",
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let link = host.ip(&["link", "show", "v6p-e0"]).unwrap();
    assert!(!link.contains("xdp"), "{link}");
    let left = attached_program_ids(&host, "v6p-e0");
    assert!(left.is_empty(), "programs left attached: {left:?}");
}

/// `--hook tc`: both TC programs attached (and only they were loaded: attaching one that was
/// not would fail), NDP seen in both directions through them.
#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn monitor_with_tc_hooks_sees_both_directions() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = Netns::new("mon-tc").unwrap();
    let peer = Netns::new("mon-tc-peer").unwrap();
    veth(&host, "v6p-t0", &peer, "v6p-t1").unwrap();
    peer.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:b::2/64",
        "dev",
        "v6p-t1",
        "nodad",
    ])
    .unwrap();
    let (mut mon, start) = start_monitor(
        &host,
        &[
            "monitor",
            "-i",
            "v6p-t0",
            "--hook",
            "tc",
            "--duration",
            "20",
        ],
    );
    assert_eq!(start_hooks(&start, "v6p-t0"), ["tc_ingress", "tc_egress"]);
    // Our DAD NS goes out; the peer resolving us sends an NS in and gets our NA out.
    host.ip(&["-6", "addr", "add", "fd00:b::1/64", "dev", "v6p-t0"])
        .unwrap();
    host.wait_dad(Duration::from_secs(5)).unwrap();
    peer.exec(
        "ping",
        &["-6", "-c", "1", "-W", "2", "-w", "10", "fd00:b::1"],
    )
    .unwrap();
    mon.wait_for(Duration::from_secs(5), |l| {
        l.contains("neighbor_advert") && l.contains("\"dir\":\"egress\"")
    })
    .expect("our NA out");
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    let v: Vec<Value> = out.iter().map(|l| json_line(l)).collect();
    let ns_in = packets(&v, "neighbor_solicit", "ingress");
    assert!(!ns_in.is_empty(), "the peer's NS, in");
    assert!(ns_in.iter().all(|p| p["hook"] == "tc"), "{ns_in:?}");
    assert!(
        !packets(&v, "neighbor_solicit", "egress").is_empty(),
        "our DAD NS, out"
    );
}

/// Starts `v6probe` with `args` in `ns` (stdout and stderr read by the returned reader) and
/// waits for its `start` line, which it returns parsed.
fn start_monitor(ns: &Netns, args: &[&str]) -> (LineReader, Value) {
    let child = ns
        .command(BIN)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut mon = LineReader::new(child);
    let start = mon
        .wait_for(Duration::from_secs(10), |l| {
            l.contains("\"kind\":\"start\"")
        })
        .expect("monitor start line");
    let start = json_line(&start);
    (mon, start)
}

/// The hooks of the `start` line, per interface, in order.
fn start_hooks(start: &Value, iface: &str) -> Vec<String> {
    start["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["iface"] == iface)
        .map(|a| a["hook"].as_str().unwrap().to_string())
        .collect()
}

/// No `--hook` (auto): TC on ingress and egress on a veth, XDP on ingress and TC on egress on
/// a bridge (not a veth), in one monitor; NDP still recorded on the veth, through TC. The
/// bridge appears after the start: its hooks are chosen when it is attached, and the XDP
/// program, which the veth did not need at the start, is loaded then.
#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn monitor_default_hooks_are_tc_on_a_veth_and_xdp_elsewhere() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = Netns::new("mon-auto").unwrap();
    let peer = Netns::new("mon-auto-peer").unwrap();
    veth(&host, "v6p-a0", &peer, "v6p-a1").unwrap();
    peer.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:c::2/64",
        "dev",
        "v6p-a1",
        "nodad",
    ])
    .unwrap();
    let (mut mon, start) = start_monitor(
        &host,
        &[
            "monitor",
            "-i",
            "v6p-a0",
            "-i",
            "v6p-abr",
            "--wait-for-interface",
            "--duration",
            "20",
        ],
    );
    assert_eq!(
        start_hooks(&start, "v6p-a0"),
        ["tc_ingress", "tc_egress"],
        "{start}"
    );
    assert!(start_hooks(&start, "v6p-abr").is_empty(), "{start}");
    host.ip(&["link", "add", "v6p-abr", "type", "bridge"])
        .unwrap();
    host.ip(&["link", "set", "v6p-abr", "up"]).unwrap();
    let back = mon
        .wait_for(Duration::from_secs(10), |l| {
            l.contains("\"kind\":\"interface\"") && l.contains("\"back\"")
        })
        .expect("the bridge attached when it appeared");
    let back = json_line(&back);
    assert_eq!(back["iface"], "v6p-abr", "{back}");
    assert_eq!(
        back["hooks"],
        serde_json::json!(["xdp", "tc_egress"]),
        "{back}"
    );
    // What the kernel holds agrees: no XDP program on the veth, ours on the bridge.
    let link = host.ip(&["link", "show", "v6p-a0"]).unwrap();
    assert!(!link.contains("xdp"), "XDP on the veth: {link}");
    let link = host.ip(&["link", "show", "v6p-abr"]).unwrap();
    assert!(link.contains("xdp"), "no XDP on the bridge: {link}");
    let ours = attached_program_ids(&host, "v6p-abr");

    // The peer resolves us: its NS in, our NA out, both through TC.
    host.ip(&["-6", "addr", "add", "fd00:c::1/64", "dev", "v6p-a0"])
        .unwrap();
    host.wait_dad(Duration::from_secs(5)).unwrap();
    peer.exec(
        "ping",
        &["-6", "-c", "1", "-W", "2", "-w", "10", "fd00:c::1"],
    )
    .unwrap();
    mon.wait_for(Duration::from_secs(5), |l| {
        l.contains("neighbor_advert") && l.contains("\"dir\":\"egress\"")
    })
    .expect("our NA out");
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    let v: Vec<Value> = out.iter().map(|l| json_line(l)).collect();
    let ns_in: Vec<&Value> = packets(&v, "neighbor_solicit", "ingress")
        .into_iter()
        .filter(|p| p["iface"] == "v6p-a0" && p["ip6"]["src"] == "fd00:c::2")
        .collect();
    assert!(!ns_in.is_empty(), "the peer's NS, in: {v:?}");
    assert!(ns_in.iter().all(|p| p["hook"] == "tc"), "{ns_in:?}");
    let na_out = packets(&v, "neighbor_advert", "egress");
    assert!(
        na_out
            .iter()
            .any(|p| p["iface"] == "v6p-a0" && p["hook"] == "tc"),
        "{na_out:?}"
    );
    let stats = v.iter().find(|l| l["kind"] == "stats").expect("stats line");
    assert_eq!(stats["kernel"]["ringbuf_drops"], 0);

    // Nothing left attached.
    let link = host.ip(&["link", "show", "v6p-abr"]).unwrap();
    assert!(!link.contains("xdp"), "XDP still attached: {link}");
    let left = wait_unloaded(&ours);
    assert!(left.is_empty(), "programs still loaded: {left:?}");
}

/// With `--kernel-log`, the log reader is set up before any program is loaded: an interface
/// that appears after the start gets its programs verified then, and their log lines still
/// reach stderr.
#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn monitor_kernel_log_covers_programs_loaded_after_the_start() {
    v6probe_lab::require_privileges();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = Netns::new("mon-klog").unwrap();
    let peer = Netns::new("mon-klog-peer").unwrap();
    let (mut mon, start) = start_monitor(
        &host,
        &[
            "monitor",
            "-i",
            "v6p-k0",
            "--wait-for-interface",
            "--kernel-log",
            "debug",
            "--duration",
            "20",
        ],
    );
    assert!(start_hooks(&start, "v6p-k0").is_empty(), "{start}");
    veth(&host, "v6p-k0", &peer, "v6p-k1").unwrap();
    let back = mon
        .wait_for(Duration::from_secs(10), |l| {
            l.contains("\"kind\":\"interface\"") && l.contains("\"back\"")
        })
        .expect("the veth attached when it appeared");
    assert_eq!(json_line(&back)["iface"], "v6p-k0", "{back}");
    // From the peer: an IPv6 EtherType carrying IP version 4 (a parse failure the kernel
    // programs log at debug), then an NS, which shows the frames went through the programs.
    let mut bad = FrameSpec::icmp(135, 0, &ns_body()).build();
    bad[14] = 0x45;
    let ns = FrameSpec::icmp(135, 0, &ns_body()).build();
    v6probe_lab::in_netns(peer.name(), move || {
        let sock = PacketSocket::open("v6p-k1", Capture::Nothing).expect("packet socket");
        sock.send(&bad).expect("send");
        sock.send(&ns).expect("send");
    })
    .unwrap();
    mon.wait_for(Duration::from_secs(5), |l| {
        l.contains("neighbor_solicit") && l.contains("v6p-k0")
    })
    .expect("the NS recorded");
    mon.signal(libc::SIGINT);
    let (status, _out, err) = mon.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    assert!(
        err.lines()
            .any(|l| l.contains("kernel debug") && l.contains("IP version 4")),
        "no kernel log line on stderr: {err}"
    );
}
