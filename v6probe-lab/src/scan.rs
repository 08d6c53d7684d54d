//! The scanner's lab, shared by its tests and benchmark: namespaces on one bridged link.
//!
//! ```text
//!   scanner (v6p-sc) ----+
//!   target  (v6p-tg) ----+-- br0 in the switch namespace
//!   sim     (v6p-sm) ----+
//!  [more targets (v6p-tg) --+  (ScanLab::segment only)]
//! ```
//! Targets are real kernels with the live addresses on their interface (`nodad`, added in one
//! `ip -batch` each), ICMPv6 rate limiting off. The sim namespace is for `v6probe sim`.
//!
//! Two layouts:
//! - [`ScanLab::new`] (the tests'): one target with every live address, and a switch that does
//!   not snoop multicast, so solicited-node multicast reaches every port (the sim namespace sees
//!   every probe).
//! - [`ScanLab::segment`] (the benchmark's): the live addresses spread over several target
//!   hosts, and a switch that snoops MLD with its own querier, as a managed switch does: a probe
//!   reaches only the host that joined its solicited-node group. With every address on one
//!   host, the scanner's send rate is the target kernel's: veth delivers synchronously, and that
//!   kernel's check of each probe's group walks its list of groups (one per address).
use std::{collections::BTreeSet, io, net::Ipv6Addr, time::Duration};

use v6probe_common::wire::addr;

use crate::{veth, Netns, TempDir};

pub const SCAN_IF: &str = "v6p-sc";
pub const TARGET_IF: &str = "v6p-tg";
pub const SIM_IF: &str = "v6p-sm";

pub struct ScanLab {
    pub scanner: Netns,
    /// The first target (the only one with [`ScanLab::new`]).
    pub target: Netns,
    /// [`ScanLab::segment`]'s other targets.
    more_targets: Vec<Netns>,
    pub sim: Netns,
    pub switch: Netns,
    /// The first target interface's MAC, `aa:bb:..`.
    pub target_mac: String,
}

impl ScanLab {
    /// Every target: the first, then [`ScanLab::segment`]'s others.
    pub fn targets(&self) -> impl Iterator<Item = &Netns> {
        std::iter::once(&self.target).chain(&self.more_targets)
    }

    /// Builds the lab with `live` on one target, behind a switch that floods multicast.
    pub fn new(tag: &str, live: &[Ipv6Addr]) -> io::Result<Self> {
        Self::build(tag, live, 1, false)
    }

    /// Builds the lab with `live` spread over `hosts` targets (round robin), behind a switch
    /// that snoops MLD and is the link's querier. Returns once the switch has learned the
    /// solicited-node group of every live address (a probe to a group it has not learned
    /// reaches no port).
    pub fn segment(tag: &str, live: &[Ipv6Addr], hosts: usize) -> io::Result<Self> {
        Self::build(tag, live, hosts.max(1), true)
    }

    fn build(tag: &str, live: &[Ipv6Addr], hosts: usize, snooping: bool) -> io::Result<Self> {
        let switch = Netns::new(&format!("{tag}-sw"))?;
        let scanner = Netns::new(&format!("{tag}-sc"))?;
        let target = Netns::new(&format!("{tag}-tg"))?;
        let more_targets = (1..hosts)
            .map(|i| Netns::new(&format!("{tag}-tg{i}")))
            .collect::<io::Result<Vec<_>>>()?;
        let sim = Netns::new(&format!("{tag}-sm"))?;
        let snoop = if snooping { "1" } else { "0" };
        // The switch's own queries need an address on br0, usable at once: a query tried while
        // it is tentative (DAD) is not sent, and the next startup query is 31 s later.
        switch.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        switch.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            snoop,
            "mcast_querier",
            snoop,
            // MLDv2 queries: hosts answer with a few reports of many records (an MLDv1 query
            // puts them in v1 mode, a report per group).
            "mcast_mld_version",
            "2",
            // Room for every group (the default is 4,096 entries).
            "mcast_hash_max",
            "65536",
        ])?;
        switch.ip(&["link", "set", "br0", "up"])?;
        let targets: Vec<&Netns> = std::iter::once(&target).chain(&more_targets).collect();
        let ports = [(&scanner, SCAN_IF), (&sim, SIM_IF)]
            .into_iter()
            .chain(targets.iter().map(|t| (*t, TARGET_IF)));
        for (i, (ns, ifname)) in ports.enumerate() {
            let port = format!("v6p-p{i}");
            veth(&switch, &port, ns, ifname)?;
            switch.ip(&["link", "set", &port, "master", "br0"])?;
        }
        // Addresses in one batch per target: `ip` per address would take minutes for
        // thousands. The batch files live in a private scratch folder (this runs as root).
        let scratch = TempDir::new("scan-batch")?;
        for (i, t) in targets.iter().enumerate() {
            t.sysctl("net.ipv6.icmp.ratelimit", "0")?;
            let mut batch = String::with_capacity(live.len() / hosts * 48 + 48);
            for a in live.iter().skip(i).step_by(hosts) {
                batch.push_str(&format!("addr add {a}/64 dev {TARGET_IF} nodad\n"));
            }
            if !batch.is_empty() {
                let file = scratch.file(&format!("addresses-{i}.batch"), batch.as_bytes())?;
                t.ip(&["-batch", &file.display().to_string()])?;
            }
        }
        for ns in [&scanner, &sim].into_iter().chain(targets.iter().copied()) {
            ns.wait_dad(Duration::from_secs(10))?;
        }
        if snooping {
            wait_groups(&switch, live, Duration::from_secs(30))?;
            if let Some(first) = live.first() {
                wait_strict(&switch, &scanner, *first, Duration::from_secs(30))?;
            }
        }
        let target_mac = target.mac(TARGET_IF)?;
        Ok(Self {
            scanner,
            target,
            more_targets,
            sim,
            switch,
            target_mac,
        })
    }
}

/// The scanner's and the sim namespace's switch ports (`build` numbers the ports scanner, sim,
/// targets).
const SCAN_PORT: &str = "v6p-p0";
pub const SIM_PORT: &str = "v6p-p1";

/// Waits until the switch forwards multicast by its database. For some seconds after it
/// becomes the link's querier the kernel's bridge still floods every group to every port;
/// pings from the scanner to the solicited-node group of `live` (on the first target) must no
/// longer reach the sim port.
fn wait_strict(
    switch: &Netns,
    scanner: &Netns,
    live: Ipv6Addr,
    timeout: Duration,
) -> io::Result<()> {
    const PINGS: u64 = 10;
    let group = addr::solicited_node(&live).to_string();
    // Frames the switch got from the scanner, and sent to the sim namespace.
    let count = || -> io::Result<(u64, u64)> {
        Ok((
            switch.counters(SCAN_PORT)?.rx,
            switch.counters(SIM_PORT)?.tx,
        ))
    };
    let t0 = std::time::Instant::now();
    loop {
        let (sent, to_sim) = count()?;
        // The exit status does not matter: only where the echo requests went.
        let pings = PINGS.to_string();
        let out = scanner
            .command("ping")
            .args([
                "-6", "-q", "-c", &pings, "-i", "0.01", "-I", SCAN_IF, &group,
            ])
            .output()?;
        let (sent, to_sim) = {
            let (s, t) = count()?;
            (s - sent, t - to_sim)
        };
        if sent < PINGS {
            return Err(io::Error::other(format!(
                "ping -6 {group} on {SCAN_IF} sent {sent} of {PINGS} frames: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        if to_sim < PINGS / 2 {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            return Err(io::Error::other(format!(
                "the switch still floods {group} to every port after {timeout:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Waits until the switch's multicast database holds the solicited-node group of every address
/// in `live` (the targets report them when the addresses are added).
fn wait_groups(switch: &Netns, live: &[Ipv6Addr], timeout: Duration) -> io::Result<()> {
    let want: BTreeSet<Ipv6Addr> = live.iter().map(addr::solicited_node).collect();
    let t0 = std::time::Instant::now();
    loop {
        let mdb = switch.exec("bridge", &["mdb", "show"])?;
        let words: Vec<&str> = mdb.split_whitespace().collect();
        let have: BTreeSet<Ipv6Addr> = words
            .windows(2)
            .filter(|w| w[0] == "grp")
            .filter_map(|w| w[1].parse().ok())
            .collect();
        let missing = want.difference(&have).count();
        if missing == 0 {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            return Err(io::Error::other(format!(
                "the switch learned {} of {} solicited-node groups in {timeout:?}",
                want.len() - missing,
                want.len()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
