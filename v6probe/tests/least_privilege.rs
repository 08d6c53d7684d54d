//! `v6probe monitor` as an unprivileged user (nobody) holding only CAP_BPF, CAP_PERFMON and
//! CAP_NET_ADMIN, as the systemd unit and the DaemonSet run it: it attaches and reports NDP from
//! a real kernel. Without any one of the three it fails with exit 1 and names the one it lacks.
#![cfg(target_os = "linux")]

use std::{process::Stdio, time::Duration};

use v6probe_lab::{json_line, public_executable, veth, LineReader, Netns, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
const CAPS: [&str; 3] = ["bpf", "perfmon", "net_admin"];

/// A copy of the binary that `nobody` can execute (the build folder may not be reachable).
fn public_binary() -> (TempDir, String) {
    let (dir, bin) = public_executable(std::path::Path::new(BIN), "lp-bin").unwrap();
    let path = bin.to_string_lossy().into_owned();
    (dir, path)
}

/// `setpriv` arguments that become nobody:nogroup, no supplementary groups, holding `caps`
/// (inheritable + ambient, so they survive the exec) and nothing else.
fn as_nobody_with(caps: &[&str]) -> Vec<String> {
    let list = caps
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut a = vec![
        "--reuid=nobody".to_string(),
        "--regid=nogroup".to_string(),
        "--clear-groups".to_string(),
        // Keep the bounding set to the same capabilities: nothing else can be regained.
        format!(
            "--bounding-set=-all{}",
            caps.iter().map(|c| format!(",+{c}")).collect::<String>()
        ),
    ];
    if !caps.is_empty() {
        a.push(format!("--inh-caps={list}"));
        a.push(format!("--ambient-caps={list}"));
    }
    a.push("--".into());
    a
}

fn lab() -> (Netns, Netns) {
    let host = Netns::new("lp-host").unwrap();
    let peer = Netns::new("lp-peer").unwrap();
    veth(&host, "v6p-h0", &peer, "v6p-p0").unwrap();
    host.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:7::1/64",
        "dev",
        "v6p-h0",
        "nodad",
    ])
    .unwrap();
    peer.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:7::2/64",
        "dev",
        "v6p-p0",
        "nodad",
    ])
    .unwrap();
    (host, peer)
}

/// A `Key:\tvalue` line of /proc/PID/status.
fn status_field(pid: u32, key: &str) -> String {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    st.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs root: network namespaces, setpriv to another user, the kernel programs (BPF)"]
fn monitor_as_nobody_with_three_capabilities_sees_ndp() {
    v6probe_lab::require_privileges();
    let (host, peer) = lab();
    let (_dir, bin) = public_binary();
    let mut args = as_nobody_with(&CAPS);
    // XDP forced on the veth (the default there is TC): the hooks the service gets on a NIC.
    args.extend(
        [
            &bin,
            "monitor",
            "-i",
            "v6p-h0",
            "--hook",
            "both",
            "--duration",
            "20",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let child = host
        .command("setpriv")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `ip netns exec` and setpriv exec in place: this pid becomes the monitor.
    let pid = child.id();
    let mut mon = LineReader::new(child);
    let start = mon.wait_for(Duration::from_secs(10), |l| {
        l.contains("\"kind\":\"start\"")
    });
    let Some(start) = start else {
        mon.signal(libc::SIGKILL);
        let (_, _, err) = mon.finish(Duration::from_secs(5)).unwrap();
        panic!("the monitor did not start as nobody: {err}");
    };
    assert_eq!(
        json_line(&start)["attachments"].as_array().unwrap().len(),
        2
    );
    // Who it runs as, and with which capabilities, read from the kernel.
    assert_eq!(
        status_field(pid, "Uid").split_whitespace().next(),
        Some("65534")
    );
    let eff = u64::from_str_radix(&status_field(pid, "CapEff"), 16).unwrap();
    // CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39.
    assert_eq!(eff, (1 << 12) | (1 << 38) | (1 << 39), "CapEff {eff:#x}");

    // The peer resolves our address: its NS arrives (XDP), our NA leaves (TC).
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
            "fd00:7::1",
        ],
    )
    .unwrap();
    // Only the messages about fd00:7::1: DAD and link-local resolution may come first.
    let seen = |name: &'static str| {
        move |l: &str| {
            l.contains("\"kind\":\"packet\"")
                && l.contains(name)
                && l.contains("\"target\":\"fd00:7::1\"")
        }
    };
    let ns = mon.wait_for(Duration::from_secs(5), seen("\"neighbor_solicit\""));
    let na = mon.wait_for(Duration::from_secs(5), seen("\"neighbor_advert\""));
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "monitor as nobody: {status} {err}");
    let ns = json_line(&ns.unwrap_or_else(|| panic!("no NS seen: {out:?}")));
    let na = json_line(&na.unwrap_or_else(|| panic!("no NA seen: {out:?}")));
    assert_eq!(ns["icmp6"]["target"], "fd00:7::1");
    assert_eq!(ns["dir"], "ingress");
    assert_eq!(na["icmp6"]["target"], "fd00:7::1");
    assert_eq!(na["dir"], "egress");
    assert!(
        out.iter().any(|l| json_line(l)["kind"] == "stats"),
        "{out:?}"
    );
}

#[test]
#[ignore = "needs root: network namespaces, setpriv to another user, the kernel programs (BPF)"]
fn monitor_names_the_capability_it_lacks() {
    v6probe_lab::require_privileges();
    let (host, _peer) = lab();
    let (_dir, bin) = public_binary();
    for missing in CAPS {
        let held: Vec<&str> = CAPS.iter().copied().filter(|c| *c != missing).collect();
        let mut args = as_nobody_with(&held);
        args.extend(
            [&bin, "monitor", "-i", "v6p-h0", "--duration", "5"]
                .iter()
                .map(|s| s.to_string()),
        );
        let out = host
            .command("setpriv")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let name = format!("CAP_{}", missing.to_uppercase());
        assert_eq!(out.status.code(), Some(1), "without {name}: {err}");
        assert!(
            err.contains(&format!("lacks {name};")),
            "without {name}, the error does not name it: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "without {name}: printed {:?}",
            out.stdout
        );
    }
}
