//! The scanner's lab, shared by its tests and benchmark: four namespaces on one bridged link.
//!
//! ```text
//!   scanner (v6p-sc) ----+
//!   target  (v6p-tg) ----+-- br0 in the switch namespace (multicast snooping off, so
//!   sim     (v6p-sm) ----+   solicited-node multicast reaches every port)
//! ```
//! The target is a real kernel with the live addresses on its interface (`nodad`, added in one
//! `ip -batch`), ICMPv6 rate limiting off. The sim namespace is for `v6probe sim`.
use std::{io, net::Ipv6Addr, time::Duration};

use crate::{veth, Netns, TempDir};

pub const SCAN_IF: &str = "v6p-sc";
pub const TARGET_IF: &str = "v6p-tg";
pub const SIM_IF: &str = "v6p-sm";

pub struct ScanLab {
    pub scanner: Netns,
    pub target: Netns,
    pub sim: Netns,
    pub switch: Netns,
    /// The target interface's MAC, `aa:bb:..`.
    pub target_mac: String,
}

impl ScanLab {
    /// Builds the lab with `live` on the target's interface.
    pub fn new(tag: &str, live: &[Ipv6Addr]) -> io::Result<Self> {
        let switch = Netns::new(&format!("{tag}-sw"))?;
        let scanner = Netns::new(&format!("{tag}-sc"))?;
        let target = Netns::new(&format!("{tag}-tg"))?;
        let sim = Netns::new(&format!("{tag}-sm"))?;
        switch.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        switch.ip(&["link", "set", "br0", "up"])?;
        for (ns, ifname, port) in [
            (&scanner, SCAN_IF, "v6p-p0"),
            (&target, TARGET_IF, "v6p-p1"),
            (&sim, SIM_IF, "v6p-p2"),
        ] {
            veth(&switch, port, ns, ifname)?;
            switch.ip(&["link", "set", port, "master", "br0"])?;
        }
        target.sysctl("net.ipv6.icmp.ratelimit", "0")?;
        // Addresses in one batch: `ip` per address would take minutes for thousands.
        // The batch file lives in a private scratch folder (this runs as root).
        let mut batch = String::with_capacity(live.len() * 48);
        for a in live {
            batch.push_str(&format!("addr add {a}/64 dev {TARGET_IF} nodad\n"));
        }
        if !live.is_empty() {
            let scratch = TempDir::new("scan-batch")?;
            let file = scratch.file("addresses.batch", batch.as_bytes())?;
            target.ip(&["-batch", &file.display().to_string()])?;
        }
        for ns in [&scanner, &target, &sim] {
            ns.wait_dad(Duration::from_secs(10))?;
        }
        let target_mac = target.mac(TARGET_IF)?;
        Ok(Self {
            scanner,
            target,
            sim,
            switch,
            target_mac,
        })
    }
}
