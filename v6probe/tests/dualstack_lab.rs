//! Dual-stack dialer and listener against real kernels: namespaces client, router, server
//! (`v6probe_lab::dualstack`). Each test builds its own lab; everything is removed on drop.
#![cfg(target_os = "linux")]
use std::{
    net::{IpAddr, Ipv6Addr},
    process::Output,
    sync::Arc,
    time::Duration,
};

use serde_json::Value;
use v6probe::{
    dualstack::{
        dialer::Outcome, DialConfig, DialReport, Dialer, FallbackState, FallbackTable, Family,
        IcmpFeed, IcmpSource, Outer, Policy, Reason, Target,
    },
    netio::{Capture, PacketSocket},
    wire::EthernetAddress,
};
use v6probe_lab::{
    dualstack::{
        in_netns, DualLab, Ipv6Fault, CLIENT_V6, ROUTER_CLIENT_SIDE_V6, SERVER_NAME, SERVER_V4,
        SERVER_V6,
    },
    json_line, stdout_json, LineReader, Netns, TempDir,
};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn cli(ns: &Netns, args: &[&str]) -> Output {
    ns.command(BIN)
        .args(args)
        .output()
        .expect("running v6probe in the namespace")
}

fn of_kind<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["kind"] == kind).collect()
}

fn start_echo_server(lab: &DualLab, extra: &[&str]) -> Value {
    let mut args = vec!["listen", "[::]:8080", "--echo"];
    args.extend_from_slice(extra);
    let (_child, line) = lab.spawn_server(BIN, &args).expect("server listener");
    json_line(&line)
}

/// Runs one dialer (with a table the caller keeps) in the client namespace.
fn dial_in(lab: &DualLab, dialer: &Dialer, port: u16) -> DialReport {
    let d = dialer.clone();
    in_netns(&lab.client, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let (_s, r) = d
                .dial(
                    Target::Addrs(vec![IpAddr::V6(SERVER_V6), IpAddr::V4(SERVER_V4)]),
                    port,
                )
                .await;
            r
        })
    })
    .expect("thread in the client namespace")
}

#[test]
#[ignore = "needs root: network namespaces"]
fn ipv6_healthy_ipv6_wins_by_name() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dh").unwrap();
    start_echo_server(&lab, &[]);
    let out = cli(&lab.client, &["connect", SERVER_NAME, "8080"]);
    assert!(out.status.success(), "{out:?}");
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["family"], "ipv6", "{}", c[0]);
    assert_eq!(c[0]["winner"], format!("[{SERVER_V6}]:8080"));
    // AAAA came from the namespace's hosts file; the A query runs separately and may still be
    // pending when IPv6 has already won (RFC 8305: no waiting for A).
    assert_eq!(c[0]["resolution"]["aaaa"][0], SERVER_V6.to_string());
    let a = c[0]["resolution"]["a"].as_array().unwrap();
    assert!(a.is_empty() || a[0] == SERVER_V4.to_string(), "{}", c[0]);
    assert!(of_kind(&lines, "fallback_transition").is_empty());
}

#[test]
#[ignore = "needs root: network namespaces"]
fn no_route_ends_ipv6_at_once_blocks_and_next_goes_straight_to_ipv4() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("du").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Unreachable).unwrap();
    let out = cli(
        &lab.client,
        &["connect", SERVER_NAME, "8080", "--repeat", "2"],
    );
    assert!(out.status.success(), "{out:?}");
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect");
    assert_eq!(c.len(), 2);

    // First connection: the IPv6 attempt ends with the ICMPv6 no-route from the router, read
    // from the socket error queue; IPv4 wins.
    assert_eq!(c[0]["family"], "ipv4", "{}", c[0]);
    let a0 = &c[0]["attempts"][0];
    assert_eq!(a0["family"], "ipv6");
    assert_eq!(a0["outcome"], "failed");
    assert_eq!(a0["icmp"]["icmp_type"], 1);
    assert_eq!(a0["icmp"]["code"], 0);
    assert_eq!(a0["icmp"]["offender"], "fd00:c::1");
    assert_eq!(a0["icmp"]["source"], "errqueue");
    assert_eq!(a0["icmp"]["quoted_dst"], SERVER_V6.to_string());
    // It ended before the attempt delay, so IPv4 started at once, not after 250 ms.
    let a1 = &c[0]["attempts"][1];
    assert_eq!(a1["family"], "ipv4");
    assert!(
        a1["start_ms"].as_f64().unwrap() < 250.0,
        "IPv4 waited for the attempt delay: {}",
        c[0]
    );
    let tr = of_kind(&lines, "fallback_transition");
    assert!(
        tr.iter().any(|t| t["dest"] == SERVER_V6.to_string()
            && t["to"] == "blocked"
            && t["reason"] == "icmp_no_route"),
        "{tr:?}"
    );
    assert!(tr
        .iter()
        .any(|t| t["dest"] == "fd00:5::/64" && t["to"] == "blocked"));

    // Second connection: IPv6 skipped, IPv4 is the only attempt.
    assert_eq!(c[1]["family"], "ipv4");
    assert_eq!(c[1]["skipped"][0]["addr"], SERVER_V6.to_string());
    assert_eq!(c[1]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(c[1]["attempts"][0]["family"], "ipv4");
}

/// The kernel observer alone (error queue off): the XDP program sees the router's ICMPv6
/// no-route on the client's interface and the dialer ends the IPv6 attempt at once; without it
/// (error queue off, no observer) IPv4 only starts after the attempt delay.
#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn kernel_observer_ends_the_ipv6_attempt_without_the_error_queue() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dk").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Unreachable).unwrap();
    let out = cli(
        &lab.client,
        &[
            "connect",
            SERVER_NAME,
            "8080",
            "--no-recverr",
            "--observe",
            "c0",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect");
    assert_eq!(c[0]["family"], "ipv4", "{}", c[0]);
    let a0 = &c[0]["attempts"][0];
    assert_eq!(a0["family"], "ipv6");
    assert_eq!(a0["icmp"]["source"], "observer", "{}", c[0]);
    assert_eq!(a0["icmp"]["code"], 0);
    assert_eq!(a0["icmp"]["offender"], "fd00:c::1");
    let a1 = &c[0]["attempts"][1];
    assert!(
        a1["start_ms"].as_f64().unwrap() < 250.0,
        "IPv4 waited for the attempt delay: {}",
        c[0]
    );
    // Nothing stays attached to the client's interface.
    let link = lab.client.ip(&["link", "show", "c0"]).unwrap();
    assert!(!link.contains("xdp"), "{link}");

    // Control: no error queue, no observer: IPv4 starts only after the 250 ms attempt delay.
    let out = cli(
        &lab.client,
        &["connect", SERVER_NAME, "8080", "--no-recverr"],
    );
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect");
    let a1 = &c[0]["attempts"][1];
    assert!(a1["start_ms"].as_f64().unwrap() >= 249.0, "{}", c[0]);
}

#[test]
#[ignore = "needs root: network namespaces"]
fn admin_prohibited_blocks_through_the_library_with_metrics() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dp").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Prohibit).unwrap();
    let table = Arc::new(FallbackTable::new(64, Policy::default()));
    let feed = IcmpFeed::default();
    let mut events = feed.subscribe();
    let dialer = Dialer::new(table.clone(), feed, DialConfig::default()).unwrap();
    let r = dial_in(&lab, &dialer, 8080);
    assert_eq!(r.family, Some(Family::Ipv4), "{r:?}");
    let icmp = r.attempts[0].icmp.as_ref().expect("ICMPv6 error recorded");
    assert_eq!((icmp.icmp_type, icmp.code), (1, 1));
    // The error queue source went through the shared feed.
    let ev = events.try_recv().expect("event on the feed");
    assert_eq!(ev.source, IcmpSource::Errqueue);
    assert_eq!(ev.quoted_dst, SERVER_V6);
    let now = std::time::Instant::now();
    assert_eq!(table.state_of(SERVER_V6, now), FallbackState::Blocked);
    assert_eq!(
        table.transitions_total(FallbackState::Blocked, Reason::IcmpAdminProhibited),
        2
    );
    let prom = table.render_prometheus(now);
    assert!(
        prom.contains("v6probe_fallback_state{dest=\"fd00:5::2\""),
        "{prom}"
    );
    assert!(
        prom.contains(
            "v6probe_fallback_transitions_total{to=\"blocked\",reason=\"icmp_admin_prohibited\"} 2"
        ),
        "{prom}"
    );
}

#[test]
#[ignore = "needs root: network namespaces"]
fn silent_drop_ipv4_wins_after_the_attempt_delay() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("db").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Blackhole).unwrap();
    let out = cli(
        &lab.client,
        &[
            "connect",
            SERVER_NAME,
            "8080",
            "--attempt-delay",
            "100",
            "--timeout",
            "3000",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect")[0];
    assert_eq!(c["family"], "ipv4", "{c}");
    let a = c["attempts"].as_array().unwrap();
    assert_eq!(a[0]["family"], "ipv6");
    assert_eq!(a[0]["outcome"], "cancelled", "{c}");
    assert!(a[0].get("icmp").is_none());
    assert!(
        a[1]["start_ms"].as_f64().unwrap() >= 100.0,
        "IPv4 must start after the attempt delay: {c}"
    );
    // The silent IPv6 path is remembered: `limited` for the pause (connect_timeout).
    let tr = of_kind(&lines, "fallback_transition");
    assert!(
        tr.iter().any(|t| t["dest"] == SERVER_V6.to_string()
            && t["to"] == "limited"
            && t["reason"] == "connect_timeout"),
        "{tr:?}"
    );
}

#[test]
#[ignore = "needs root: network namespaces"]
fn silent_drop_is_remembered_ipv4_first_on_the_next_connection() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dr").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Blackhole).unwrap();
    let out = cli(
        &lab.client,
        &[
            "connect",
            SERVER_NAME,
            "8080",
            "--repeat",
            "2",
            "--timeout",
            "3000",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect");
    assert_eq!(c[0]["attempts"][0]["family"], "ipv6", "{}", c[0]);
    // Second connection: IPv4 first (IPv6 would be raced only after the attempt delay).
    assert_eq!(c[1]["attempts"][0]["family"], "ipv4", "{}", c[1]);
    assert_eq!(c[1]["attempts"][0]["outcome"], "connected");
    assert_eq!(c[1]["attempts"].as_array().unwrap().len(), 1, "{}", c[1]);
}

#[test]
#[ignore = "needs root: network namespaces"]
fn mtu_1280_link_records_path_mtu_without_fallback() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dm").unwrap();
    lab.set_router_path_mtu(1280).unwrap();
    start_echo_server(&lab, &[]);
    let out = cli(
        &lab.client,
        &["connect", SERVER_NAME, "8080", "--send", "300000"],
    );
    assert!(out.status.success(), "{out:?}");
    let lines = stdout_json(&out);
    let c = of_kind(&lines, "connect")[0];
    assert_eq!(c["family"], "ipv6", "{c}");
    let t = of_kind(&lines, "transfer")[0];
    assert_eq!(t["bytes_echoed"], 300000, "{t}");
    assert_eq!(t["path_mtu"], 1280, "{t}");
    assert_eq!(c["path_mtu"], 1280);
    assert!(of_kind(&lines, "fallback_transition").is_empty());
    assert!(of_kind(&lines, "mtu_alert").is_empty());
}

#[test]
#[ignore = "needs root: network namespaces"]
fn hop_limit_exhausted_limits_then_normal_after_the_pause() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dt").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::HopLimit).unwrap();
    let pause = Duration::from_millis(700);
    let policy = Policy {
        limited_pause: pause,
        time_exceeded_pause: pause,
        ..Policy::default()
    };
    let table = Arc::new(FallbackTable::new(64, policy));
    let dialer = Dialer::new(table.clone(), IcmpFeed::default(), DialConfig::default()).unwrap();

    let r1 = dial_in(&lab, &dialer, 8080);
    assert_eq!(r1.family, Some(Family::Ipv4), "{r1:?}");
    let icmp = r1.attempts[0]
        .icmp
        .as_ref()
        .expect("time exceeded recorded");
    assert_eq!(icmp.icmp_type, 3);
    assert!(r1.transitions.iter().any(|t| t.to == FallbackState::Limited
        && t.reason == Reason::IcmpTimeExceeded
        && t.dest == SERVER_V6.to_string()));

    // While limited: IPv4 goes first; IPv6 would only follow after the attempt delay.
    let r2 = dial_in(&lab, &dialer, 8080);
    assert_eq!(r2.attempts[0].family, Family::Ipv4, "{r2:?}");
    assert_eq!(r2.family, Some(Family::Ipv4));

    // Path repaired; after the pause IPv6 is first again and wins.
    lab.clear_ipv6_fault(Ipv6Fault::HopLimit).unwrap();
    std::thread::sleep(pause + Duration::from_millis(100));
    let r3 = dial_in(&lab, &dialer, 8080);
    assert_eq!(r3.family, Some(Family::Ipv6), "{r3:?}");
    assert_eq!(r3.attempts[0].outcome, Some(Outcome::Connected));
    assert!(
        r3.transitions
            .iter()
            .any(|t| t.to == FallbackState::Normal && t.reason == Reason::PauseElapsed),
        "{:?}",
        r3.transitions
    );
    assert_eq!(
        table.state_of(SERVER_V6, std::time::Instant::now()),
        FallbackState::Normal
    );
}

#[test]
#[ignore = "needs root: network namespaces"]
fn listener_dual_stack_serves_both_and_v6only_refuses_ipv4() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dl").unwrap();

    // One dual-stack socket: an IPv6 and an IPv4 client, the IPv4 one shown as IPv4.
    let (child, line) = lab
        .spawn_server(BIN, &["listen", "[::]:9000", "--count", "2"])
        .unwrap();
    drop(child);
    let info = json_line(&line);
    assert_eq!(info["mode"], "dual_stack", "{info}");
    assert_eq!(info["v6only"], false);
    for addr in [SERVER_V6.to_string(), SERVER_V4.to_string()] {
        let out = cli(&lab.client, &["connect", "x", "9000", "--addr", &addr]);
        assert!(out.status.success(), "{addr}: {out:?}");
    }

    // --v6only true: IPv6 served, IPv4 refused.
    let (_c2, line) = lab
        .spawn_server(BIN, &["listen", "[::]:9001", "--v6only", "true"])
        .unwrap();
    let info = json_line(&line);
    assert_eq!(info["mode"], "ipv6_only", "{info}");
    let out = cli(
        &lab.client,
        &["connect", "x", "9001", "--addr", &SERVER_V6.to_string()],
    );
    assert!(out.status.success(), "{out:?}");
    let out = cli(
        &lab.client,
        &["connect", "x", "9001", "--addr", &SERVER_V4.to_string()],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let c = stdout_json(&out);
    assert_eq!(
        of_kind(&c, "connect")[0]["attempts"][0]["errno"],
        libc::ECONNREFUSED
    );

    // Port in use: a clear error and exit code 1.
    let out = cli(&lab.server, &["listen", "[::]:9001"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already in use"),
        "{out:?}"
    );
    // An address that is not local.
    let out = cli(&lab.server, &["listen", "[fd00:99::1]:9002"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not assigned"),
        "{out:?}"
    );
}

/// Any source can feed the dialer: here a raw ICMPv6 socket in the client namespace stands in
/// for the kernel observer and pushes what it reads through `push_observed_icmpv6`, while the
/// dialer's own error-queue source is off. The no-route still ends the IPv6 attempt at once.
#[test]
#[ignore = "needs root: network namespaces"]
fn external_icmp_source_ends_the_attempt_without_recverr() {
    v6probe_lab::require_privileges();
    use std::sync::atomic::{AtomicBool, Ordering};
    let lab = DualLab::new("dx").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Unreachable).unwrap();
    let table = Arc::new(FallbackTable::new(64, Policy::default()));
    let feed = IcmpFeed::default();
    let cfg = DialConfig {
        recverr: false,
        ..DialConfig::default()
    };
    let dialer = Dialer::new(table, feed.clone(), cfg).unwrap();
    let r = in_netns(&lab.client, move || {
        let raw = socket2::Socket::new(
            socket2::Domain::IPV6,
            socket2::Type::RAW,
            Some(socket2::Protocol::ICMPV6),
        )
        .expect("raw ICMPv6 socket");
        raw.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut pushed = 0;
                // Bounded: at most 200 reads of 50 ms.
                for _ in 0..200 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
                    let Ok((n, from)) = raw.recv_from(&mut buf) else {
                        continue;
                    };
                    // SAFETY: recv_from initialised the first n bytes.
                    let msg: Vec<u8> = buf[..n]
                        .iter()
                        .map(|b| unsafe { b.assume_init() })
                        .collect();
                    let Some(from) = from.as_socket_ipv6() else {
                        continue;
                    };
                    // Checked like the observer's: the checksum over the outer addresses
                    // (to the client), the SYN's sequence number by the dialer.
                    let outer = Outer {
                        src: *from.ip(),
                        dst: CLIENT_V6,
                    };
                    if v6probe::dualstack::push_observed_icmpv6(
                        &feed,
                        &msg,
                        msg.len(),
                        outer,
                        std::time::Instant::now(),
                        std::time::SystemTime::now(),
                    )
                    .is_ok()
                    {
                        pushed += 1;
                    }
                }
                pushed
            })
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = rt.block_on(async {
            dialer
                .dial(
                    Target::Addrs(vec![IpAddr::V6(SERVER_V6), IpAddr::V4(SERVER_V4)]),
                    8080,
                )
                .await
                .1
        });
        stop.store(true, Ordering::Relaxed);
        (report, reader.join().unwrap_or(0))
    })
    .unwrap();
    let (report, pushed) = r;
    assert!(pushed >= 1, "the raw socket saw no ICMPv6 error");
    assert_eq!(report.family, Some(Family::Ipv4), "{report:?}");
    let icmp = report.attempts[0]
        .icmp
        .as_ref()
        .expect("ended by the ICMPv6 error");
    assert_eq!(icmp.source, IcmpSource::Observer);
    assert_eq!((icmp.icmp_type, icmp.code), (1, 0));
    assert!(
        report.attempts[1].start_ms < 250.0,
        "IPv4 waited for the attempt delay: {report:?}"
    );
}

/// `blocked` recovers on its own: after the cool-down one dialer probes IPv6 first; on a
/// repaired path the probe connects and the destination (host and /64) is `normal` again.
#[test]
#[ignore = "needs root: network namespaces"]
fn blocked_probes_after_the_cooldown_and_recovers() {
    v6probe_lab::require_privileges();
    let lab = DualLab::new("dc").unwrap();
    start_echo_server(&lab, &[]);
    lab.set_ipv6_fault(Ipv6Fault::Unreachable).unwrap();
    let cooldown = Duration::from_millis(600);
    let policy = Policy {
        blocked_cooldown: cooldown,
        ..Policy::default()
    };
    let table = Arc::new(FallbackTable::new(64, policy));
    let dialer = Dialer::new(table.clone(), IcmpFeed::default(), DialConfig::default()).unwrap();

    let r1 = dial_in(&lab, &dialer, 8080);
    assert_eq!(r1.family, Some(Family::Ipv4), "{r1:?}");
    assert_eq!(
        table.state_of(SERVER_V6, std::time::Instant::now()),
        FallbackState::Blocked
    );
    // Within the cool-down: IPv6 skipped.
    let r2 = dial_in(&lab, &dialer, 8080);
    assert_eq!(r2.skipped.len(), 1, "{r2:?}");
    assert_eq!(r2.attempts.len(), 1);

    lab.clear_ipv6_fault(Ipv6Fault::Unreachable).unwrap();
    std::thread::sleep(cooldown + Duration::from_millis(100));
    let r3 = dial_in(&lab, &dialer, 8080);
    assert_eq!(
        r3.attempts[0].decision,
        Some(v6probe::dualstack::Decision::Probe),
        "{r3:?}"
    );
    assert_eq!(r3.family, Some(Family::Ipv6), "{r3:?}");
    assert!(r3
        .transitions
        .iter()
        .any(|t| t.reason == Reason::ProbeStarted));
    assert!(r3
        .transitions
        .iter()
        .any(|t| t.to == FallbackState::Normal && t.reason == Reason::Ipv6Success));
    assert_eq!(
        table.state_of(SERVER_V6, std::time::Instant::now()),
        FallbackState::Normal
    );
}

/// A packet too big from the router's address to the client, quoting a SYN from the client to
/// `dest`, with a wrong checksum: what a host flooding the client's link would send (from a
/// forged source, to fill the dialer's table with made-up destinations).
fn forged_packet_too_big(router_mac: [u8; 6], client_mac: [u8; 6], dest: Ipv6Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(110);
    f.extend_from_slice(&client_mac);
    f.extend_from_slice(&router_mac);
    f.extend_from_slice(&[0x86, 0xdd]);
    // IPv6: payload 56 (8 ICMPv6 + 40 quoted header + 8 quoted TCP), next header 58.
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 56, 58, 255]);
    f.extend_from_slice(&ROUTER_CLIENT_SIDE_V6.octets());
    f.extend_from_slice(&CLIENT_V6.octets());
    let icmp = f.len();
    f.extend_from_slice(&[2, 0, 0, 0]);
    f.extend_from_slice(&1000u32.to_be_bytes());
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, 6, 64]);
    f.extend_from_slice(&CLIENT_V6.octets());
    f.extend_from_slice(&dest.octets());
    f.extend_from_slice(&[0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1]);
    let good = v6probe::wire::checksum::compute(&ROUTER_CLIENT_SIDE_V6, &CLIENT_V6, 58, &f[icmp..]);
    f[icmp + 2..icmp + 4].copy_from_slice(&(good ^ 0x5a5a).to_be_bytes());
    f
}

/// 2,000 forged packet too big messages with wrong checksums reach the client while `connect
/// --observe` runs (the kernel observer sees every one of them), then the IPv6 path really
/// breaks: the router's genuine no-route still ends the IPv6 attempt and still moves the
/// destination to `blocked`. The forged messages are refused and counted, and none of their
/// made-up destinations is in the table.
#[test]
#[ignore = "needs root: network namespaces, XDP"]
fn forged_packet_too_big_flood_does_not_stop_the_fallback() {
    v6probe_lab::require_privileges();
    const FORGED: u32 = 2_000;
    let lab = DualLab::new("dz").unwrap();
    start_echo_server(&lab, &[]);
    let dir = TempDir::new("dz").unwrap();
    let metrics = dir.path().join("metrics.prom");
    let mut connect = LineReader::new(
        lab.client
            .spawn(
                BIN,
                &[
                    "connect",
                    SERVER_NAME,
                    "8080",
                    "--no-recverr",
                    "--observe",
                    "c0",
                    "--repeat",
                    "2",
                    "--interval",
                    "3000",
                    "--metrics",
                    &metrics.display().to_string(),
                ],
            )
            .unwrap(),
    );
    // The first connection, over a healthy path, shows the observer is running.
    let first = connect
        .wait_for(Duration::from_secs(15), |l| {
            l.contains("\"kind\":\"connect\"")
        })
        .expect("the first connection");
    let first = json_line(&first);
    assert_eq!(first["family"], "ipv6", "{first}");

    let router_mac: [u8; 6] = lab
        .router
        .mac("r0")
        .unwrap()
        .parse::<EthernetAddress>()
        .unwrap()
        .0;
    let client_mac: [u8; 6] = lab
        .client
        .mac("c0")
        .unwrap()
        .parse::<EthernetAddress>()
        .unwrap()
        .0;
    let sent = in_netns(&lab.router, move || {
        let sock = PacketSocket::open("r0", Capture::Nothing).unwrap();
        for n in 0..FORGED {
            let dest = Ipv6Addr::from(0x2001_0db8_00ff_u128 << 96 | u128::from(n));
            sock.send(&forged_packet_too_big(router_mac, client_mac, dest))
                .unwrap();
            // Paced (2,000 in about 100 ms) so the observer's ring buffer keeps every one.
            if n % 20 == 19 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        FORGED
    })
    .unwrap();
    lab.set_ipv6_fault(Ipv6Fault::Unreachable).unwrap();

    let (status, out, err) = connect.finish(Duration::from_secs(30)).unwrap();
    assert!(status.success(), "{status:?} {err}");
    let lines: Vec<Value> = out.iter().map(|l| json_line(l)).collect();
    let c = of_kind(&lines, "connect");
    assert_eq!(c.len(), 2, "{out:?}");
    // The second connection: the genuine no-route, seen by the observer, ends IPv6 at once.
    assert_eq!(c[1]["family"], "ipv4", "{}", c[1]);
    let a0 = &c[1]["attempts"][0];
    assert_eq!(a0["icmp"]["source"], "observer", "{}", c[1]);
    assert_eq!(
        (a0["icmp"]["icmp_type"].clone(), a0["icmp"]["code"].clone()),
        (1.into(), 0.into())
    );
    assert!(
        c[1]["attempts"][1]["start_ms"].as_f64().unwrap() < 250.0,
        "IPv4 waited for the attempt delay: {}",
        c[1]
    );
    let tr = of_kind(&lines, "fallback_transition");
    assert!(
        tr.iter().any(|t| t["dest"] == SERVER_V6.to_string()
            && t["to"] == "blocked"
            && t["reason"] == "icmp_no_route"),
        "{tr:?}"
    );
    let prom = std::fs::read_to_string(&metrics).unwrap();
    let refused: u64 = prom
        .lines()
        .find_map(|l| l.strip_prefix("v6probe_icmp_refused_total{reason=\"bad_checksum\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bad_checksum count in {prom}"));
    eprintln!("{sent} forged packet too big sent, {refused} refused for their checksum");
    assert_eq!(refused, u64::from(sent), "{prom}");
    assert!(
        !prom.contains("2001:db8:ff"),
        "a forged destination in the table: {prom}"
    );
    assert!(
        prom.contains("v6probe_fallback_table_evictions_total 0"),
        "{prom}"
    );
}
