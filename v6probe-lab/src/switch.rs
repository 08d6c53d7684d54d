//! A link segment: a switch namespace holding a bridge, and host namespaces attached to it by
//! veth pairs. The switch takes no part in IPv6 (disabled), and the bridge floods multicast to
//! every port (snooping off), so each host sees what a host on a real segment would.

use std::io;

use crate::{veth, Netns};

/// A bridge in its own namespace, with hosts on it. Dropping it removes every namespace.
pub struct Switch {
    sw: Netns,
    hosts: Vec<(Netns, String)>,
}

impl Switch {
    /// Creates the switch namespace `<tag>-sw` with an empty bridge `br0`.
    pub fn new(tag: &str) -> io::Result<Self> {
        let sw = Netns::new(&format!("{tag}-sw"))?;
        // The switch itself says nothing: no IPv6 on its ports or bridge.
        sw.sysctl("net.ipv6.conf.all.disable_ipv6", "1")?;
        sw.sysctl("net.ipv6.conf.default.disable_ipv6", "1")?;
        sw.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        sw.ip(&["link", "set", "br0", "up"])?;
        Ok(Self { sw, hosts: vec![] })
    }

    /// Adds a host namespace `tag` whose interface `ifname` is a port of the bridge; returns
    /// its index.
    pub fn host(&mut self, tag: &str, ifname: &str) -> io::Result<usize> {
        let ns = Netns::new(tag)?;
        let port = format!("v6p-s{}", self.hosts.len());
        veth(&ns, ifname, &self.sw, &port)?;
        self.sw.ip(&["link", "set", &port, "master", "br0"])?;
        self.hosts.push((ns, ifname.to_string()));
        Ok(self.hosts.len() - 1)
    }

    /// The namespace of host `i`.
    pub fn ns(&self, i: usize) -> &Netns {
        &self.hosts[i].0
    }

    /// The interface of host `i` on the segment.
    pub fn ifname(&self, i: usize) -> &str {
        &self.hosts[i].1
    }

    /// Every host namespace, in the order they were added.
    pub fn hosts(&self) -> impl Iterator<Item = &Netns> {
        self.hosts.iter().map(|(ns, _)| ns)
    }
}
