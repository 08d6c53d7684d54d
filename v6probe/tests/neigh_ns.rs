//! `v6probe neigh` against the real kernel, inside namespaces this test creates: parameters set
//! and read back, invalid values refused with nothing written, a failing write rolled back, and
//! the neighbour table listed and watched.
use std::{
    collections::BTreeMap,
    process::Output,
    thread,
    time::{Duration, Instant},
};

use v6probe_lab::{stdout_json, veth, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
const DIR: &str = "/proc/sys/net/ipv6/neigh/v6p0";

fn v6probe(ns: &Netns, args: &[&str]) -> Output {
    ns.command(BIN).args(args).output().unwrap()
}

/// Every file of the interface's ND parameter directory, read inside the namespace.
fn snapshot(ns: &Netns) -> BTreeMap<String, String> {
    let out = ns
        .sh(&format!(
            "cd {DIR} && for f in *; do echo \"$f $(cat $f)\"; done"
        ))
        .unwrap();
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn read(ns: &Netns, key: &str) -> String {
    ns.exec("cat", &[&format!("{DIR}/{key}")])
        .unwrap()
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs root: network namespaces"]
fn params_set_read_back_refuse_and_roll_back() {
    v6probe_lab::require_privileges();
    let a = Netns::new("nbp-a").unwrap();
    let b = Netns::new("nbp-b").unwrap();
    veth(&a, "v6p0", &b, "v6p1").unwrap();

    // Read: every key present for the interface, with the kernel's values.
    let o = v6probe(&a, &["neigh", "params", "-i", "v6p0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = snapshot(&a);
    let lines = stdout_json(&o);
    assert!(lines.len() >= 14, "{lines:?}");
    for l in &lines {
        assert_eq!(l["kind"], "neigh_param");
        let key = l["key"].as_str().unwrap();
        assert_eq!(l["value"].to_string(), before[key], "{key}");
    }

    // Set three keys: written, read back, old values reported. (Times are stored in jiffies:
    // 12000 and 900 ms are whole ticks at HZ 100, 250, 300 and 1000.)
    let o = v6probe(
        &a,
        &[
            "neigh",
            "params",
            "-i",
            "v6p0",
            "--set",
            "base_reachable_time_ms=12000",
            "--set",
            "retrans_time_ms=900",
            "--set",
            "ucast_solicit=7",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&a, "base_reachable_time_ms"), "12000");
    assert_eq!(read(&a, "retrans_time_ms"), "900");
    assert_eq!(read(&a, "ucast_solicit"), "7");
    let ucast = stdout_json(&o)
        .into_iter()
        .find(|v| v["key"] == "ucast_solicit")
        .unwrap();
    assert_eq!(ucast["value"], 7);
    assert_eq!(ucast["old"].to_string(), before["ucast_solicit"]);
    // The values a watching kernel uses changed only where asked.
    let after = snapshot(&a);
    for (k, v) in &before {
        if ![
            "base_reachable_time_ms",
            "base_reachable_time",
            "retrans_time_ms",
            "retrans_time",
            "ucast_solicit",
        ]
        .contains(&k.as_str())
        {
            assert_eq!(&after[k], v, "{k} changed");
        }
    }

    // Invalid values: refused, nothing written (the valid ones before them included).
    let cur = snapshot(&a);
    for bad in [
        vec!["--set", "mcast_solicit=9", "--set", "ucast_solicit=-1"],
        vec![
            "--set",
            "mcast_solicit=9",
            "--set",
            "interval_probe_time_ms=0",
        ],
        vec!["--set", "mcast_solicit=9", "--set", "unres_qlen=99999999"],
        vec!["--set", "mcast_solicit=9", "--set", "no_such_key=1"],
        vec!["--set", "mcast_solicit=9", "--set", "retrans_time_ms=abc"],
        vec!["--set", "mcast_solicit=9", "--set", "gc_thresh1=1"],
        vec!["--set", "mcast_solicit=9", "--set", "mcast_solicit=8"],
        vec!["--set", "mcast_solicit"],
    ] {
        let mut args = vec!["neigh", "params", "-i", "v6p0"];
        args.extend(&bad);
        let o = v6probe(&a, &args);
        assert_eq!(o.status.code(), Some(1), "{bad:?} was accepted");
        assert!(!o.stderr.is_empty());
        assert_eq!(snapshot(&a), cur, "{bad:?} wrote something");
    }
    // Dry run: shows the change, writes nothing.
    let o = v6probe(
        &a,
        &[
            "neigh",
            "params",
            "-i",
            "v6p0",
            "--set",
            "mcast_solicit=9",
            "--dry-run",
        ],
    );
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"key\":\"mcast_solicit\",\"value\":9"));
    assert_eq!(snapshot(&a), cur);

    // A write that fails for real: `unres_qlen` is bind-mounted read-only over itself in the
    // mount namespace of this one `ip netns exec` (so the mount goes away with it); the kernel
    // refuses the write with EROFS after ucast_solicit and retrans_time_ms were written, and
    // v6probe restores those two.
    let script = format!(
        "f={DIR}/unres_qlen && mount --bind $f $f && mount -o remount,bind,ro $f && \
         exec {BIN} neigh params -i v6p0 --set ucast_solicit=9 --set retrans_time_ms=600 \
         --set unres_qlen=50 --set locktime=7"
    );
    let o = a.command("sh").args(["-c", &script]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(
        err.contains("restored retrans_time_ms=900, ucast_solicit=7"),
        "{err}"
    );
    assert_eq!(snapshot(&a), cur, "the failed run left changes behind");

    // `default` exists only in the initial namespace: a clear error here.
    let o = v6probe(&a, &["neigh", "params"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("only in the initial network namespace"));
    // An interface without a directory.
    let o = v6probe(&a, &["neigh", "params", "-i", "nosuch0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such interface"));
}

/// MAC, state and router flag of each IPv6 neighbour `ip` shows on v6p0.
fn ip_neigh(ns: &Netns) -> Vec<(String, String, String, bool)> {
    let j: Vec<serde_json::Value> = serde_json::from_str(
        &ns.ip(&["-j", "-6", "neigh", "show", "dev", "v6p0"])
            .unwrap(),
    )
    .unwrap();
    j.iter()
        .map(|n| {
            (
                n["dst"].as_str().unwrap().to_string(),
                n["lladdr"].as_str().unwrap_or("").to_string(),
                n["state"][0].as_str().unwrap_or("").to_lowercase(),
                n.get("router").is_some(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs root: network namespaces"]
fn list_and_watch_the_neighbour_table() {
    v6probe_lab::require_privileges();
    let a = Netns::new("nbl-a").unwrap();
    let b = Netns::new("nbl-b").unwrap();
    veth(&a, "v6p0", &b, "v6p1").unwrap();
    // b routes, so its NAs carry the R flag and a's entry is a router.
    b.sysctl("net.ipv6.conf.all.forwarding", "1").unwrap();
    a.ip(&["-6", "addr", "add", "fd00:8::1/64", "dev", "v6p0", "nodad"])
        .unwrap();
    b.ip(&["-6", "addr", "add", "fd00:8::2/64", "dev", "v6p1", "nodad"])
        .unwrap();
    b.wait_dad(Duration::from_secs(5)).unwrap();
    let b_mac = b.mac("v6p1").unwrap();

    // Watch while resolving b.
    let watch = a
        .spawn(BIN, &["neigh", "watch", "-i", "v6p0", "--duration", "3s"])
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    a.exec(
        "ping",
        &["-6", "-c", "1", "-W", "2", "-w", "10", "fd00:8::2"],
    )
    .unwrap();
    let started = Instant::now();
    let out = watch.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = stdout_json(&out);
    let ev = events
        .iter()
        .find(|e| e["address"] == "fd00:8::2" && e["mac"] == b_mac.as_str())
        .unwrap_or_else(|| panic!("no event resolving fd00:8::2 in {events:?}"));
    assert_eq!(ev["kind"], "neigh_event");
    assert_eq!(ev["event"], "new");
    assert_eq!(ev["interface"], "v6p0");
    assert!(events.iter().all(|e| e["interface"] == "v6p0"));

    // List: the same entries as `ip -6 neigh show dev v6p0`.
    let o = v6probe(&a, &["neigh", "list", "-i", "v6p0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = stdout_json(&o);
    let theirs = ip_neigh(&a);
    assert!(!theirs.is_empty());
    for (dst, mac, state, router) in &theirs {
        let o = ours
            .iter()
            .find(|o| o["address"] == dst.as_str())
            .unwrap_or_else(|| panic!("{dst} missing from {ours:?}"));
        assert_eq!(o["mac"].as_str().unwrap_or(""), mac, "{dst}");
        assert_eq!(o["state"].as_str().unwrap(), state, "{dst}");
        assert_eq!(o["router"].as_bool().unwrap(), *router, "{dst}");
    }
    let b_entry = ours.iter().find(|o| o["address"] == "fd00:8::2").unwrap();
    assert_eq!(b_entry["router"], true, "{b_entry}");

    // An unknown interface is an error; an interface with no neighbours exits 2.
    assert_eq!(
        v6probe(&a, &["neigh", "list", "-i", "nosuch0"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        v6probe(&a, &["neigh", "list", "-i", "lo"]).status.code(),
        Some(2)
    );
}
