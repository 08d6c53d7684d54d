//! `v6probe monitor --respond` against real kernels in network namespaces this test creates:
//! a switch namespace with a bridge; a host (the kernel whose tables are watched), a legitimate
//! router (radvd), a rogue router that also forges a neighbour advertisement (both sent with
//! `v6probe send`), a victim neighbour, and the monitor, each on a port of the bridge.
//!
//! First without countermeasures, to show what the attacks do to the host: the rogue's RA adds
//! a default route through it, the forged NA moves the victim's address to the rogue's MAC in
//! the host's neighbour cache. Then with the monitor answering: the rogue's default route
//! disappears from the host (`ip -6 route show default`) while the legitimate one stays, and
//! the victim's binding is back in the host's cache (`ip -6 neigh`); the monitor sees its
//! responses leave (TC egress) and does not judge them; the responses are counted in the
//! `stats` line and the Prometheus metrics; after SIGHUP with an empty `respond` list nothing
//! is answered. Addresses:
//! 2001:db8::/32 and fe80::/10, inside the lab only.
#![cfg(target_os = "linux")]

use std::{
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use v6probe_lab::{json_line, start_monitor, veth, Daemon, LineReader, Netns, Switch, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

/// radvd in `ns` on `ifname`, advertising `prefix` every 3 to 4 s, router lifetime 1800 s.
fn radvd(ns: &Netns, ifname: &str, prefix: &str, dir: &std::path::Path) -> Daemon {
    ns.sysctl("net.ipv6.conf.all.forwarding", "1").unwrap();
    let conf = dir.join(format!("radvd-{ifname}.conf"));
    std::fs::write(
        &conf,
        format!(
            "interface {ifname} {{\n AdvSendAdvert on;\n MinRtrAdvInterval 3;\n \
             MaxRtrAdvInterval 4;\n AdvDefaultLifetime 1800;\n prefix {prefix} {{ AdvOnLink on; \
             AdvAutonomous on; }};\n}};\n"
        ),
    )
    .unwrap();
    let pid = dir.join("radvd.pid");
    ns.radvd(&conf, &pid).unwrap()
}

/// `v6probe send ARGS` inside `ns`; must succeed.
fn send(ns: &Netns, args: &[&str]) {
    let out = ns.command(BIN).arg("send").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "v6probe send {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The gateways of the host's default routes.
fn default_routers(ns: &Netns) -> Vec<String> {
    let out = ns.ip(&["-6", "route", "show", "default"]).unwrap();
    out.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.iter()
                .position(|x| *x == "via")
                .and_then(|i| w.get(i + 1))
                .map(|s| s.to_string())
        })
        .collect()
}

/// The MAC of `addr` in the host's neighbour cache, if it has one.
fn neigh_mac(ns: &Netns, addr: &str, ifname: &str) -> Option<String> {
    let out = ns
        .ip(&["-6", "neigh", "show", addr, "dev", ifname])
        .unwrap();
    let w: Vec<&str> = out.split_whitespace().collect();
    w.iter()
        .position(|x| *x == "lladdr")
        .and_then(|i| w.get(i + 1))
        .map(|s| s.to_string())
}

/// Polls `check` every 100 ms until it is true or `timeout` passes; returns whether it was.
fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Makes the host learn the victim's address at the victim's MAC: the victim (its cache
/// flushed) pings the host, so its multicast NS carries its MAC to the host and the monitor.
fn victim_speaks(victim: &Netns, host: &Netns, host_addr: &str, victim_addr: &str) {
    victim
        .ip(&["-6", "neigh", "flush", "dev", "v6p-v0"])
        .unwrap();
    host.ip(&["-6", "neigh", "flush", "dev", "v6p-h0"]).unwrap();
    victim
        .exec(
            "ping",
            &[
                "-6",
                "-c",
                "1",
                "-W",
                "2",
                "-w",
                "10",
                "-I",
                victim_addr,
                host_addr,
            ],
        )
        .unwrap();
}

fn monitor(ns: &Netns, policy: &std::path::Path) -> LineReader {
    start_monitor(
        ns.command(BIN).args([
            "monitor",
            "-i",
            "v6p-m0",
            "--duration",
            "120",
            // XDP on ingress, TC on egress: the responses are seen leaving too.
            "--hook",
            "both",
            "--events",
            "ndp",
            "--metrics-listen",
            "127.0.0.1:9478",
            "--respond",
            "--policy",
            policy.to_str().unwrap(),
        ]),
        Duration::from_secs(15),
    )
}

#[test]
#[ignore = "needs root: network namespaces, the kernel programs (BPF) and packet sockets"]
fn rogue_router_is_withdrawn_and_spoofed_binding_restored() {
    v6probe_lab::require_privileges();
    let scratch = TempDir::new("respond-lab").unwrap();
    let dir = scratch.path();
    let mut lab = Switch::new("rsp").unwrap();
    let host_i = lab.host("rsp-host", "v6p-h0").unwrap();
    let rtr_i = lab.host("rsp-rtr", "v6p-r0").unwrap();
    let rogue_i = lab.host("rsp-rogue", "v6p-g0").unwrap();
    let victim_i = lab.host("rsp-victim", "v6p-v0").unwrap();
    let mon_i = lab.host("rsp-mon", "v6p-m0").unwrap();
    let [host, rtr, rogue, victim, mon_ns] =
        [host_i, rtr_i, rogue_i, victim_i, mon_i].map(|i| lab.ns(i));
    // Only the host takes router advertisements; the others have nothing to learn.
    for ns in [rogue, victim, mon_ns] {
        ns.sysctl("net.ipv6.conf.all.accept_ra", "0").unwrap();
        ns.sysctl("net.ipv6.conf.default.accept_ra", "0").unwrap();
    }
    let (host_addr, victim_addr) = ("2001:db8:1::10", "2001:db8:1::20");
    host.ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:1::10/64",
        "dev",
        "v6p-h0",
        "nodad",
    ])
    .unwrap();
    victim
        .ip(&[
            "-6",
            "addr",
            "add",
            "2001:db8:1::20/64",
            "dev",
            "v6p-v0",
            "nodad",
        ])
        .unwrap();
    for ns in lab.hosts() {
        ns.wait_dad(Duration::from_secs(5)).unwrap();
    }
    let rtr_ll = rtr.link_local("v6p-r0").unwrap().to_string();
    let rtr_mac = rtr.mac("v6p-r0").unwrap();
    let rogue_ll = rogue.link_local("v6p-g0").unwrap().to_string();
    let rogue_mac = rogue.mac("v6p-g0").unwrap();
    let victim_mac = victim.mac("v6p-v0").unwrap();
    let _radvd = radvd(rtr, "v6p-r0", "2001:db8:1::/64", dir);
    assert!(
        wait_until(Duration::from_secs(10), || default_routers(host)
            .contains(&rtr_ll)),
        "the host never took the legitimate router: {:?}",
        default_routers(host)
    );

    let rogue_ra = [
        "ra",
        "-i",
        "v6p-g0",
        "--router-lifetime",
        "1800",
        "--preference",
        "high",
        "--prefix",
        "2001:db8:bad::/64",
        "--slla",
    ];
    let spoof = [
        "na",
        "-i",
        "v6p-g0",
        "--src",
        victim_addr,
        "--target",
        victim_addr,
        "--flags",
        "O",
        "--tlla",
    ];

    // Without countermeasures: what the attacks do to the host.
    send(rogue, &rogue_ra);
    assert!(
        wait_until(Duration::from_secs(5), || default_routers(host)
            .contains(&rogue_ll)),
        "the rogue RA added no default route: {:?}",
        default_routers(host)
    );
    let before = host.ip(&["-6", "route", "show", "default"]).unwrap();
    eprintln!("default routes after the rogue RA, nobody answering:\n{before}");
    victim_speaks(victim, host, host_addr, victim_addr);
    assert_eq!(
        neigh_mac(host, victim_addr, "v6p-h0"),
        Some(victim_mac.clone())
    );
    send(rogue, &spoof);
    assert!(
        wait_until(Duration::from_secs(5), || neigh_mac(
            host,
            victim_addr,
            "v6p-h0"
        )
        .as_deref()
            == Some(rogue_mac.as_str())),
        "the forged NA did not move the victim's binding: {:?}",
        neigh_mac(host, victim_addr, "v6p-h0")
    );
    eprintln!(
        "neighbour cache after the forged NA, nobody answering: {}",
        host.ip(&["-6", "neigh", "show", victim_addr])
            .unwrap()
            .trim()
    );

    // With countermeasures: the policy knows the legitimate router and lets the monitor
    // answer rogue routers and spoofed overrides.
    let policy = scratch
        .file(
            "policy.toml",
            format!(
                "strict = false\nrespond = [\"ra_rogue\", \"na_unsolicited_override\"]\n\
                 [[routers]]\nmac = \"{rtr_mac}\"\nlink_local = \"{rtr_ll}\"\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut mon = monitor(mon_ns, &policy);
    victim_speaks(victim, host, host_addr, victim_addr);
    assert_eq!(
        neigh_mac(host, victim_addr, "v6p-h0"),
        Some(victim_mac.clone())
    );

    // The rogue advertises again (its route is still there from before).
    send(rogue, &rogue_ra);
    let line = mon
        .wait_for(Duration::from_secs(5), |l| {
            l.contains("\"kind\":\"response\"") && l.contains("withdraw_router")
        })
        .expect("a withdraw_router response");
    let r = json_line(&line);
    assert_eq!(r["sent"], true, "{r}");
    assert_eq!(r["address"], rogue_ll.as_str());
    assert_eq!(r["eth"]["src"], rogue_mac.as_str());
    assert_eq!(r["ip6"]["src"], rogue_ll.as_str());
    assert_eq!(r["icmp6"]["router_lifetime"], 0, "{r}");
    assert!(
        wait_until(Duration::from_secs(5), || !default_routers(host)
            .contains(&rogue_ll)),
        "the rogue's default route stayed: {:?}",
        default_routers(host)
    );
    let after = host.ip(&["-6", "route", "show", "default"]).unwrap();
    eprintln!("default routes after the response:\n{after}");
    assert_eq!(default_routers(host), vec![rtr_ll.clone()], "{after}");

    // The forged NA again: the monitor puts the victim's MAC back in the host's cache.
    send(rogue, &spoof);
    let line = mon
        .wait_for(Duration::from_secs(5), |l| {
            l.contains("\"kind\":\"response\"") && l.contains("restore_neighbor")
        })
        .expect("a restore_neighbor response");
    let r = json_line(&line);
    assert_eq!(r["sent"], true, "{r}");
    assert_eq!(r["address"], victim_addr);
    assert_eq!(r["mac"], rogue_mac.as_str());
    assert_eq!(r["restored_mac"], victim_mac.as_str());
    assert!(
        wait_until(Duration::from_secs(5), || neigh_mac(
            host,
            victim_addr,
            "v6p-h0"
        )
        .as_deref()
            == Some(victim_mac.as_str())),
        "the victim's binding was not restored: {:?}",
        neigh_mac(host, victim_addr, "v6p-h0")
    );
    eprintln!(
        "neighbour cache after the response: {}",
        host.ip(&["-6", "neigh", "show", victim_addr])
            .unwrap()
            .trim()
    );
    // The legitimate router is still the host's default router after radvd's next RA.
    thread::sleep(Duration::from_secs(5));
    assert_eq!(default_routers(host), vec![rtr_ll.clone()]);
    // Both actions are in the metrics (the monitor's loopback, in its namespace).
    let scrape = mon_ns
        .exec(
            "curl",
            &["-s", "--max-time", "5", "http://127.0.0.1:9478/metrics"],
        )
        .unwrap();
    for (action, code) in [
        ("withdraw_router", "ra_rogue"),
        ("restore_neighbor", "na_unsolicited_override"),
    ] {
        let want = format!(
            "v6probe_responses_total{{action=\"{action}\",code=\"{code}\",iface=\"v6p-m0\",\
             outcome=\"sent\"}}"
        );
        assert!(scrape.contains(&want), "{want} missing in\n{scrape}");
    }

    // The policy read again on SIGHUP with an empty list: the rogue is not answered any more,
    // and its default route stays on the host.
    let withdrawn = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("\"kind\":\"response\"") && l.contains("withdraw_router"))
            .count()
    };
    std::fs::write(
        &policy,
        format!(
            "strict = false\nrespond = []\n[[routers]]\nmac = \"{rtr_mac}\"\n\
             link_local = \"{rtr_ll}\"\n"
        ),
    )
    .unwrap();
    mon.signal(libc::SIGHUP);
    thread::sleep(Duration::from_secs(1));
    send(rogue, &rogue_ra);
    assert!(
        wait_until(Duration::from_secs(5), || default_routers(host)
            .contains(&rogue_ll)),
        "the rogue RA after the reload added no route: {:?}",
        default_routers(host)
    );
    thread::sleep(Duration::from_secs(2));

    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    // Every withdraw_router came before the reload: the last rogue RA (after it) was not
    // answered, so the route it added stayed (checked above).
    let lines: Vec<Value> = out.iter().map(|l| json_line(l)).collect();
    let rogue_alerts = lines
        .iter()
        .filter(|v| v["kind"] == "alert" && v["code"] == "ra_rogue")
        .count();
    assert!(rogue_alerts >= 1, "no ra_rogue alert");
    let last_withdraw = out
        .iter()
        .rposition(|l| withdrawn(std::slice::from_ref(l)) > 0);
    let last_rogue_packet = out.iter().rposition(|l| {
        l.contains("\"kind\":\"packet\"")
            && l.contains(&format!("\"src\":\"{rogue_ll}\""))
            && l.contains("\"router_lifetime\":1800")
    });
    assert!(
        last_withdraw < last_rogue_packet,
        "a response after the reload: {last_withdraw:?} >= {last_rogue_packet:?}"
    );
    assert!(withdrawn(&out) >= 1);
    let responses: Vec<&Value> = lines.iter().filter(|v| v["kind"] == "response").collect();
    // Nothing answered the legitimate router or the victim.
    assert!(
        responses
            .iter()
            .all(|r| r["mac"] == rogue_mac.as_str() && r["address"] != rtr_ll.as_str()),
        "{responses:#?}"
    );
    // The responses were seen leaving, and not judged: no alert about an egress frame.
    let mon_mac = mon_ns.mac("v6p-m0").unwrap();
    let egress: Vec<&Value> = lines
        .iter()
        .filter(|v| v["kind"] == "packet" && v["dir"] == "egress")
        .collect();
    let left = |src: &str, name: &str| {
        egress
            .iter()
            .any(|p| p["eth"]["src"] == src && p["icmp6"]["name"] == name)
    };
    assert!(
        left(&rogue_mac, "router_advert") && left(&mon_mac, "neighbor_advert"),
        "the responses were not seen leaving: {egress:#?}"
    );
    let judged: Vec<&Value> = lines
        .iter()
        .filter(|v| v["kind"] == "alert" && v["evidence"]["dir"] == "egress")
        .collect();
    assert!(judged.is_empty(), "{judged:#?}");
    let stats = lines.last().expect("stats line");
    assert_eq!(stats["kind"], "stats");
    let sent = &stats["respond"]["sent"];
    assert_eq!(
        sent["withdraw_router"].as_u64().unwrap_or(0)
            + sent["restore_neighbor"].as_u64().unwrap_or(0),
        responses.len() as u64,
        "{stats}"
    );
    assert!(sent["withdraw_router"].as_u64() >= Some(1), "{stats}");
    assert!(sent["restore_neighbor"].as_u64() >= Some(1), "{stats}");
    assert_eq!(stats["respond"]["failed"], 0);
}

#[test]
#[ignore = "needs root: a network namespace, setpriv to another user"]
fn respond_without_cap_net_raw_names_it_and_attaches_nothing() {
    use std::os::unix::fs::PermissionsExt;
    v6probe_lab::require_privileges();
    let a = Netns::new("rsp-lp-a").unwrap();
    let b = Netns::new("rsp-lp-b").unwrap();
    veth(&a, "v6p-h0", &b, "v6p-p0").unwrap();
    // A copy of the binary and a policy that nobody can read.
    let (dir, bin) = v6probe_lab::public_executable(std::path::Path::new(BIN), "rsp-lp").unwrap();
    let policy = dir.file("p.toml", b"respond = [\"ra_rogue\"]\n").unwrap();
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The monitor's own three capabilities, not CAP_NET_RAW.
    let caps = "+bpf,+perfmon,+net_admin";
    let out = a
        .command("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--bounding-set=-all,+bpf,+perfmon,+net_admin",
            &format!("--inh-caps={caps}"),
            &format!("--ambient-caps={caps}"),
            "--",
        ])
        .arg(&bin)
        // XDP asked for, so the link would show it had anything been attached.
        .args([
            "monitor",
            "-i",
            "v6p-h0",
            "--hook",
            "both",
            "--duration",
            "5",
            "--respond",
        ])
        .arg("--policy")
        .arg(&policy)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    assert!(out.stdout.is_empty(), "printed {:?}", out.stdout);
    // Nothing was attached: the sockets are opened before the programs.
    let links = a.ip(&["link", "show", "v6p-h0"]).unwrap();
    assert!(!links.contains("xdp"), "{links}");
}
