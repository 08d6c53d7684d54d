//! The lab of `cargo xtask demo`: network namespaces with real kernels talking NDP, watched by
//! `v6probe monitor` on the host.
//!
//! ```text
//!   v6p-demo-host ── v6p-h0 ═══ v6p-r0 ── v6p-demo-router ── v6p-r1 ═══ v6p-f0 ── v6p-demo-far
//!   fd00:d0::/64 (SLAAC from radvd)      forwarding on        MTU 1280     fd00:d1::20
//!                                        unreachable fd00:dead::/64
//! ```
//! The host watches `v6p-h0` for about 10 seconds while the kernels produce DAD, RS/RA, NS/NA,
//! echo, and the router answers with destination unreachable (no route), packet too big (1280
//! link) and time exceeded (hop limit 1). Every namespace is removed at the end, on error, and on
//! Ctrl-C.
use std::{
    collections::BTreeMap,
    io::Write,
    process::Stdio,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use v6probe_lab::{veth, LineReader, Netns, TempDir};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn step(what: &str) {
    println!("demo: {what}");
}

fn pause(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end && !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the demo with the v6probe binary `bin`; Ctrl-C (SIGINT) or SIGTERM ends it early. The
/// lab is removed on every path before this returns.
pub fn main(bin: &str) -> anyhow::Result<()> {
    // SAFETY: installing a handler that only stores to an atomic. Ctrl-C reaches the whole
    // process group: the monitor stops by itself, and the demo cleans up.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    if let Some(reason) = v6probe_lab::missing_privileges() {
        anyhow::bail!("the demo cannot run: {reason}");
    }
    let result = run(bin);
    println!("demo: lab removed");
    result.map_err(|e| anyhow::anyhow!("the demo failed: {e}"))?;
    println!("demo: done");
    Ok(())
}

fn run(bin: &str) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: std::io::Error| format!("{what}: {err}")
    };
    step("creating namespaces v6p-demo-{host,router,far}");
    let host = Netns::new("demo-host").map_err(e("host namespace"))?;
    let router = Netns::new("demo-router").map_err(e("router namespace"))?;
    let far = Netns::new("demo-far").map_err(e("far namespace"))?;
    veth(&host, "v6p-h0", &router, "v6p-r0").map_err(e("host-router link"))?;
    veth(&router, "v6p-r1", &far, "v6p-f0").map_err(e("router-far link"))?;
    router
        .sysctl("net.ipv6.conf.all.forwarding", "1")
        .map_err(e("forwarding"))?;
    // Let the router send every ICMPv6 error the demo provokes.
    router
        .sysctl("net.ipv6.icmp.ratelimit", "0")
        .map_err(e("icmp ratelimit"))?;
    for (ns, dev, addr) in [
        (&router, "v6p-r0", "fd00:d0::1/64"),
        (&router, "v6p-r1", "fd00:d1::1/64"),
        (&far, "v6p-f0", "fd00:d1::20/64"),
    ] {
        ns.ip(&["-6", "addr", "add", addr, "dev", dev, "nodad"])
            .map_err(e("addresses"))?;
    }
    router
        .ip(&["link", "set", "v6p-r1", "mtu", "1280"])
        .map_err(e("mtu"))?;
    far.ip(&["link", "set", "v6p-f0", "mtu", "1280"])
        .map_err(e("mtu"))?;
    far.ip(&["-6", "route", "add", "default", "via", "fd00:d1::1"])
        .map_err(e("far route"))?;
    router
        .ip(&["-6", "route", "add", "unreachable", "fd00:dead::/64"])
        .map_err(e("unreachable route"))?;
    // radvd on the router answers router solicitations and announces the prefix.
    // Removed with the namespaces, whichever way the demo ends.
    let scratch = TempDir::new("demo").map_err(e("scratch folder"))?;
    let conf = scratch.path().join("radvd.conf");
    let pidfile = scratch.path().join("radvd.pid");
    std::fs::write(
        &conf,
        "interface v6p-r0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvLinkMTU 1500;\n  prefix fd00:d0::/64 { AdvOnLink on; AdvAutonomous on; };\n  RDNSS fd00:d0::53 { };\n};\n",
    )
    .map_err(e("radvd config"))?;
    let _radvd = router
        .command("radvd")
        .args(["-n", "-C"])
        .arg(&conf)
        .arg("-p")
        .arg(&pidfile)
        .args(["-m", "stderr"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(LineReader::new)
        .map_err(e("starting radvd (apt-get install radvd)"))?;

    step("starting `v6probe monitor -i v6p-h0 --format text --duration 10` in the host");
    // Its stderr goes to a file: text mode says there which hooks it attached, once they are.
    let stderr_path = scratch.path().join("monitor.stderr");
    let stderr_file = std::fs::File::create(&stderr_path).map_err(e("monitor stderr file"))?;
    let monitor_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let child = host
        .command(bin)
        .args([
            "monitor",
            "-i",
            "v6p-h0",
            "--format",
            "text",
            "--duration",
            "10",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr_file)
        .spawn()
        .map_err(e("starting the monitor"))?;
    let mut mon = LineReader::new(child);
    // Wait (bounded) for the programs to be in place: text mode announces the attachments on
    // stderr, `v6probe: watching v6p-h0:HOOK, ...` (on a veth the default hooks are TC).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let err = monitor_stderr();
        if let Some(l) = err.lines().find(|l| l.starts_with("v6probe: watching ")) {
            step(&format!(
                "the monitor attached: {}",
                l.trim_start_matches("v6probe: watching ")
            ));
            break;
        }
        if Instant::now() > deadline || STOP.load(Ordering::SeqCst) {
            let _ = mon.finish(Duration::from_secs(5));
            return Err(format!(
                "the monitor did not attach: {}",
                monitor_stderr().trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    step("host link down/up: the kernel does DAD and sends router solicitations; radvd answers");
    let _ = host.sysctl("net.ipv6.conf.v6p-h0.router_solicitation_interval", "1");
    host.ip(&["link", "set", "v6p-h0", "down"])
        .map_err(e("link down"))?;
    host.ip(&["link", "set", "v6p-h0", "up"])
        .map_err(e("link up"))?;
    host.ip(&["-6", "addr", "add", "fd00:d0::10/64", "dev", "v6p-h0"])
        .map_err(e("host address"))?;
    let _ = host.wait_dad(Duration::from_secs(4));
    host.ip(&["-6", "route", "replace", "default", "via", "fd00:d0::1"])
        .map_err(e("host route"))?;
    pause(Duration::from_millis(500));

    let pings: [(&str, &[&str]); 4] = [
        (
            "ping the router: NS/NA and echo",
            &["-6", "-c", "2", "-i", "0.3", "-W", "1", "fd00:d0::1"],
        ),
        (
            "ping fd00:dead::1: the router has an unreachable route -> destination unreachable",
            &["-6", "-c", "2", "-i", "0.3", "-W", "1", "fd00:dead::1"],
        ),
        (
            "ping the far host with 1400 bytes over the 1280-byte link -> packet too big",
            &[
                "-6",
                "-c",
                "2",
                "-i",
                "0.3",
                "-W",
                "1",
                "-s",
                "1400",
                "-M",
                "want",
                "fd00:d1::20",
            ],
        ),
        (
            "ping the far host with hop limit 1 -> time exceeded",
            &[
                "-6",
                "-c",
                "2",
                "-i",
                "0.3",
                "-W",
                "1",
                "-t",
                "1",
                "fd00:d1::20",
            ],
        ),
    ];
    for (what, args) in pings {
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        step(what);
        // Failures are the point for the last three; the output is not needed.
        let _ = host
            .command("ping")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    step("flushing the host's neighbour cache and pinging again: NUD from scratch");
    let _ = host.ip(&["-6", "neigh", "flush", "dev", "v6p-h0"]);
    let _ = host
        .command("ping")
        .args(["-6", "-c", "1", "-W", "1", "fd00:d0::1"])
        .stdout(Stdio::null())
        .status();

    // Let the monitor run out its 10 seconds (or stop it early on Ctrl-C).
    while !STOP.load(Ordering::SeqCst) {
        if mon
            .wait_for(Duration::from_millis(200), |l| l.starts_with("-- "))
            .is_some()
        {
            break;
        }
    }
    if STOP.load(Ordering::SeqCst) {
        mon.signal(libc::SIGINT);
    }
    let (status, lines, _) = mon.finish(Duration::from_secs(15)).map_err(e("monitor"))?;
    println!();
    println!("---- what v6probe monitor saw on v6p-h0 ----");
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = std::io::stdout().lock();
    for l in &lines {
        let _ = writeln!(out, "{l}");
        // Packet lines: `ts iface dir hook mac src -> dst hlim=N name`; alert lines:
        // `ts iface ALERT severity code message`; anything else is the closing summary.
        let f: Vec<&str> = l.split_whitespace().collect();
        let key = match f.as_slice() {
            [_, _, "ALERT", sev, code, ..] => format!("alert {code} ({sev})"),
            [_, _, _, "xdp" | "tc", _, _, "->", _, _, name, ..] => (*name).to_string(),
            _ => continue,
        };
        *by_kind.entry(key).or_default() += 1;
    }
    println!("---- summary ----");
    for (k, n) in &by_kind {
        println!("{n:>5}  {k}");
    }
    if !status.success() {
        return Err(format!(
            "monitor exited with {status}: {}",
            monitor_stderr().trim()
        ));
    }
    let expected = [
        "neighbor_solicit",
        "neighbor_advert",
        "router_solicit",
        "router_advert",
        "dest_unreachable",
        "packet_too_big",
        "time_exceeded",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|k| !by_kind.contains_key(*k))
        .collect();
    if missing.is_empty() {
        println!("demo: saw every expected message type");
    } else if !STOP.load(Ordering::SeqCst) {
        println!("demo: did not see: {}", missing.join(", "));
    }
    Ok(())
}
