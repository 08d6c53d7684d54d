//! The dual-stack lab used by the tests and the benchmark: namespaces client, router and
//! server (dual-stack), names in `/etc/netns/<name>/hosts`, and switches that break the IPv6
//! path in the ways the dialer must handle.
//!
//! ```text
//! client c0 ---- r0 router r1 ---- s0 server
//! fd00:c::2/64    fd00:c::1  fd00:5::1  fd00:5::2/64
//! 198.18.1.2/24   198.18.1.1 198.18.2.1 198.18.2.2/24
//! ```
//! [`DualLab::with_delay`] puts a [`DelayBridge`] between client and router (`c0 -- d0 bridge
//! d1 -- r0`, a fourth namespace without addresses), for a round-trip time the veths alone do
//! not have. Only addresses inside these namespaces are ever used.
use std::{
    fs,
    io::{self, BufRead, BufReader},
    net::{Ipv4Addr, Ipv6Addr},
    path::PathBuf,
    process::Child,
    thread,
    time::{Duration, Instant},
};

use crate::{delay::DelayBridge, veth, Netns};

/// The server's name in the client's hosts file.
pub const SERVER_NAME: &str = "server.v6p.test";
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 5, 0, 0, 0, 0, 0, 2);
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xc, 0, 0, 0, 0, 0, 2);
pub const ROUTER_CLIENT_SIDE_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xc, 0, 0, 0, 0, 0, 1);

/// `/etc/netns/<name>/hosts`, removed (with its folder when empty) on drop.
#[derive(Debug)]
pub struct HostsFile {
    path: PathBuf,
}

impl HostsFile {
    pub fn create(ns: &Netns, content: &str) -> io::Result<Self> {
        let dir = PathBuf::from("/etc/netns").join(ns.name());
        fs::create_dir_all(&dir)?;
        let path = dir.join("hosts");
        fs::write(&path, content)?;
        Ok(Self { path })
    }
}

impl Drop for HostsFile {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.path) {
            eprintln!("v6probe lab: removing {}: {e}", self.path.display());
        }
        if let Some(dir) = self.path.parent() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// How the IPv6 path to the server is broken (set on the router, or on the client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Fault {
    /// The router has an `unreachable` route for the server: ICMPv6 no route (type 1 code 0).
    Unreachable,
    /// The router has a `prohibit` route: ICMPv6 administratively prohibited (code 1).
    Prohibit,
    /// The router silently drops (a `blackhole` route): no ICMPv6 at all.
    Blackhole,
    /// The client sends with hop limit 1: the router answers ICMPv6 time exceeded.
    HopLimit,
}

/// Frames a [`DualLab::with_delay`] bridge holds at most per direction (more are dropped and
/// counted): far above what the tests and benchmarks have in flight.
pub const DELAY_QUEUE: usize = 4096;

/// The three namespaces (four with a delay bridge), torn down on drop (hosts file first, then
/// the bridge's threads, then namespaces).
#[derive(Debug)]
pub struct DualLab {
    hosts: Option<HostsFile>,
    delay: Option<DelayBridge>,
    /// The delay bridge's namespace ([`Self::with_delay`]).
    pub bridge: Option<Netns>,
    pub server: Netns,
    pub router: Netns,
    pub client: Netns,
}

impl DualLab {
    /// Builds the lab and waits (bounded) until both families reach the server.
    pub fn new(tag: &str) -> io::Result<Self> {
        Self::build(tag, None)
    }

    /// As [`Self::new`], with every frame between client and router held `one_way` in each
    /// direction by a [`DelayBridge`] (so `2 x one_way` of round-trip time is added; this
    /// kernel may have no netem). Its queue holds at most [`DELAY_QUEUE`] frames per direction.
    pub fn with_delay(tag: &str, one_way: Duration) -> io::Result<Self> {
        Self::build(tag, Some(one_way))
    }

    /// The delay bridge, with [`Self::with_delay`].
    pub fn delay_bridge(&self) -> Option<&DelayBridge> {
        self.delay.as_ref()
    }

    fn build(tag: &str, one_way: Option<Duration>) -> io::Result<Self> {
        let client = Netns::new(&format!("{tag}-c"))?;
        let router = Netns::new(&format!("{tag}-r"))?;
        let server = Netns::new(&format!("{tag}-s"))?;
        let (bridge, delay) = match one_way {
            None => {
                veth(&client, "c0", &router, "r0")?;
                (None, None)
            }
            Some(d) => {
                let bridge = Netns::new(&format!("{tag}-d"))?;
                // The bridge only forwards frames: no IPv6 (no link-local address, DAD, MLD
                // or RS of its own) on the interfaces it gets, and no IPv4 address.
                for key in ["all", "default"] {
                    bridge.sysctl(&format!("net.ipv6.conf.{key}.disable_ipv6"), "1")?;
                }
                veth(&client, "c0", &bridge, "d0")?;
                veth(&bridge, "d1", &router, "r0")?;
                let delay = DelayBridge::start(&bridge, "d0", "d1", d, DELAY_QUEUE)?;
                (Some(bridge), Some(delay))
            }
        };
        veth(&server, "s0", &router, "r1")?;
        for (ns, dev, addrs) in [
            (&client, "c0", ["fd00:c::2/64", "198.18.1.2/24"]),
            (&router, "r0", ["fd00:c::1/64", "198.18.1.1/24"]),
            (&router, "r1", ["fd00:5::1/64", "198.18.2.1/24"]),
            (&server, "s0", ["fd00:5::2/64", "198.18.2.2/24"]),
        ] {
            for a in addrs {
                if a.contains(':') {
                    ns.ip(&["-6", "addr", "add", a, "dev", dev, "nodad"])?;
                } else {
                    ns.ip(&["addr", "add", a, "dev", dev])?;
                }
            }
        }
        client.ip(&["-6", "route", "add", "default", "via", "fd00:c::1"])?;
        client.ip(&["route", "add", "default", "via", "198.18.1.1"])?;
        server.ip(&["-6", "route", "add", "default", "via", "fd00:5::1"])?;
        server.ip(&["route", "add", "default", "via", "198.18.2.1"])?;
        router.sysctl("net.ipv6.conf.all.forwarding", "1")?;
        router.sysctl("net.ipv4.ip_forward", "1")?;
        // The lab measures the first ICMPv6 error of each connection: no rate limit on it.
        router.sysctl("net.ipv6.icmp.ratelimit", "0")?;
        let hosts = HostsFile::create(
            &client,
            &format!(
                "127.0.0.1 localhost\n::1 localhost\n{SERVER_V6} {SERVER_NAME}\n{SERVER_V4} {SERVER_NAME}\n"
            ),
        )?;
        let lab = Self {
            hosts: Some(hosts),
            delay,
            bridge,
            server,
            router,
            client,
        };
        lab.warm_up()?;
        Ok(lab)
    }

    /// Pings the server over both families until it answers (bounded: 20 tries each), so
    /// neighbour discovery is done before anything is measured.
    pub fn warm_up(&self) -> io::Result<()> {
        for (flag, addr) in [("-6", SERVER_V6.to_string()), ("-4", SERVER_V4.to_string())] {
            let mut ok = false;
            for _ in 0..20 {
                if self
                    .client
                    .exec("ping", &[flag, "-c", "1", "-W", "1", &addr])
                    .is_ok()
                {
                    ok = true;
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            if !ok {
                return Err(io::Error::other(format!(
                    "lab: {addr} does not answer ping from the client"
                )));
            }
        }
        Ok(())
    }

    /// Breaks the IPv6 path to the server in one way (undo with [`Self::clear_ipv6_fault`]).
    pub fn set_ipv6_fault(&self, fault: Ipv6Fault) -> io::Result<()> {
        let host = format!("{SERVER_V6}/128");
        match fault {
            Ipv6Fault::Unreachable => self
                .router
                .ip(&["-6", "route", "add", "unreachable", &host])
                .map(drop),
            Ipv6Fault::Prohibit => self
                .router
                .ip(&["-6", "route", "add", "prohibit", &host])
                .map(drop),
            Ipv6Fault::Blackhole => self
                .router
                .ip(&["-6", "route", "add", "blackhole", &host])
                .map(drop),
            Ipv6Fault::HopLimit => self
                .client
                .ip(&[
                    "-6",
                    "route",
                    "add",
                    &host,
                    "via",
                    "fd00:c::1",
                    "hoplimit",
                    "1",
                ])
                .map(drop),
        }
    }

    /// Removes whatever [`Self::set_ipv6_fault`] added.
    pub fn clear_ipv6_fault(&self, fault: Ipv6Fault) -> io::Result<()> {
        let host = format!("{SERVER_V6}/128");
        match fault {
            Ipv6Fault::HopLimit => self.client.ip(&["-6", "route", "del", &host]).map(drop),
            _ => self.router.ip(&["-6", "route", "del", &host]).map(drop),
        }
    }

    /// Makes the router forward IPv6 between client and server over a path of `mtu` bytes
    /// (a locked route MTU on both of its routes: forwarding ignores an unlocked one), so an endpoint sending bigger packets gets an ICMPv6
    /// packet too big. (Setting the veth MTU instead would make both endpoints clamp their MSS,
    /// and no packet too big would ever be sent: the kernel would learn nothing.)
    pub fn set_router_path_mtu(&self, mtu: u32) -> io::Result<()> {
        let m = mtu.to_string();
        self.router.ip(&[
            "-6",
            "route",
            "replace",
            "fd00:5::/64",
            "dev",
            "r1",
            "metric",
            "256",
            "mtu",
            "lock",
            &m,
        ])?;
        self.router.ip(&[
            "-6",
            "route",
            "replace",
            "fd00:c::/64",
            "dev",
            "r0",
            "metric",
            "256",
            "mtu",
            "lock",
            &m,
        ])?;
        Ok(())
    }

    /// Starts `program args...` in the server namespace and waits (bounded) for its first line
    /// of output (a listener's `listening` record). The process dies with the namespace.
    pub fn spawn_server(&self, program: &str, args: &[&str]) -> io::Result<(Child, String)> {
        let mut child = self.server.spawn(program, args)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("server stdout not piped"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the server never blocks on a full pipe.
            let mut sink = String::new();
            while r.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).map_err(|_| {
            io::Error::other(format!(
                "{program} printed nothing within 10 s in the server"
            ))
        })?;
        Ok((child, line))
    }

    /// Drops the hosts file now (also done on drop).
    pub fn remove_hosts(&mut self) {
        self.hosts = None;
    }
}

/// Runs `f` on a new thread that has joined network namespace `ns` (setns on that thread only:
/// the calling thread and process stay where they are). Returns what `f` returns.
pub fn in_netns<R: Send + 'static>(
    ns: &Netns,
    f: impl FnOnce() -> R + Send + 'static,
) -> io::Result<R> {
    crate::in_netns(ns.name(), f)
}

/// Waits until `cond` holds, checking every 20 ms, at most `timeout`.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    cond()
}
