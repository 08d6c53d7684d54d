//! `ula discover`: the ULAs configured on the host's interfaces, grouped by /48 and aggregated.
//! Netlink on Linux; `getifaddrs(3)` elsewhere.
use std::net::Ipv6Addr;

use ipnet::{IpNet, Ipv6Net};
use serde::Serialize;

use super::UlaError;

/// One IPv6 address configured on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IfAddr {
    pub interface: String,
    pub address: Ipv6Addr,
    pub prefix_len: u8,
}

/// The ULAs of one /48 site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UlaSite {
    /// The /48.
    pub site: Ipv6Net,
    /// Interfaces that carry an address in it.
    pub interfaces: Vec<String>,
    /// The on-link prefixes (address/len truncated) of this site, aggregated.
    pub prefixes: Vec<Ipv6Net>,
    pub addresses: Vec<IfAddr>,
}

/// Result of a discovery: the sites and the aggregate of every ULA prefix seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Discovery {
    pub sites: Vec<UlaSite>,
    pub aggregate: Vec<Ipv6Net>,
}

/// Keeps the ULAs (fc00::/7) among `addrs` and groups them by /48 (pure).
pub fn group(addrs: &[IfAddr]) -> Discovery {
    let mut sites: Vec<UlaSite> = Vec::new();
    let mut all: Vec<IpNet> = Vec::new();
    for a in addrs
        .iter()
        .filter(|a| a.address.octets()[0] & 0xfe == 0xfc)
    {
        let site = Ipv6Net::new_assert(a.address, 48).trunc();
        let net = Ipv6Net::new_assert(a.address, a.prefix_len.min(128)).trunc();
        all.push(IpNet::V6(net));
        let idx = match sites.iter().position(|s| s.site == site) {
            Some(i) => i,
            None => {
                sites.push(UlaSite {
                    site,
                    interfaces: Vec::new(),
                    prefixes: Vec::new(),
                    addresses: Vec::new(),
                });
                sites.len() - 1
            }
        };
        let s = &mut sites[idx];
        if !s.interfaces.contains(&a.interface) {
            s.interfaces.push(a.interface.clone());
        }
        s.prefixes.push(net);
        s.addresses.push(a.clone());
    }
    for s in &mut sites {
        let nets: Vec<IpNet> = s.prefixes.iter().copied().map(IpNet::V6).collect();
        s.prefixes = v6_only(super::aggregate(&nets));
        s.interfaces.sort();
        s.addresses
            .sort_by(|a, b| (a.address, &a.interface).cmp(&(b.address, &b.interface)));
    }
    sites.sort_by_key(|s| s.site);
    Discovery {
        sites,
        aggregate: v6_only(super::aggregate(&all)),
    }
}

fn v6_only(v: Vec<IpNet>) -> Vec<Ipv6Net> {
    v.into_iter()
        .filter_map(|n| match n {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        })
        .collect()
}

/// The IPv6 addresses on the host's interfaces (only `iface` when given).
#[cfg(target_os = "linux")]
pub fn interface_addresses(iface: Option<&str>) -> Result<Vec<IfAddr>, UlaError> {
    use futures::TryStreamExt;
    use netlink_packet_route::{address::AddressAttribute, AddressFamily};
    use std::net::IpAddr;

    let rt = crate::route::nl::runtime()?;
    rt.block_on(async {
        let handle = crate::route::nl::connect()?;
        let links = crate::route::nl::links(&handle).await?;
        let want = match iface {
            Some(name) => Some(
                links
                    .values()
                    .find(|l| l.name == name)
                    .map(|l| l.index)
                    .ok_or_else(|| UlaError::NoSuchInterface {
                        name: name.to_string(),
                    })?,
            ),
            None => None,
        };
        let mut out = Vec::new();
        let mut s = handle.address().get().execute();
        while let Some(msg) = s.try_next().await? {
            if msg.header.family != AddressFamily::Inet6 {
                continue;
            }
            if want.is_some_and(|w| w != msg.header.index) {
                continue;
            }
            let addr = msg.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(IpAddr::V6(a)) => Some(*a),
                _ => None,
            });
            if let Some(address) = addr {
                out.push(IfAddr {
                    interface: links
                        .get(&msg.header.index)
                        .map(|l| l.name.clone())
                        .unwrap_or_else(|| format!("if{}", msg.header.index)),
                    address,
                    prefix_len: msg.header.prefix_len,
                });
            }
        }
        Ok(out)
    })
}

/// The MAC of the first interface (lowest index) that has one.
#[cfg(target_os = "linux")]
pub fn first_mac() -> Result<[u8; 6], UlaError> {
    let rt = crate::route::nl::runtime()?;
    rt.block_on(async {
        let handle = crate::route::nl::connect()?;
        let links = crate::route::nl::links(&handle).await?;
        links.values().find_map(|l| l.mac).ok_or(UlaError::NoMac)
    })
}

#[cfg(not(target_os = "linux"))]
pub use other::{first_mac, interface_addresses};

#[cfg(not(target_os = "linux"))]
mod other {
    //! `getifaddrs(3)`: the interface list of the BSDs and macOS.
    use std::{ffi::CStr, net::Ipv6Addr};

    use super::{IfAddr, UlaError};

    struct IfAddrs(*mut libc::ifaddrs);

    impl Drop for IfAddrs {
        fn drop(&mut self) {
            // SAFETY: the list came from getifaddrs and is freed once.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }

    fn walk(
        mut f: impl FnMut(&str, &libc::sockaddr, Option<&libc::sockaddr>),
    ) -> Result<(), UlaError> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs writes a list head we free with freeifaddrs.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let list = IfAddrs(head);
        let mut cur = list.0;
        while !cur.is_null() {
            // SAFETY: cur is a node of the list, valid until freeifaddrs.
            let ifa = unsafe { &*cur };
            if !ifa.ifa_addr.is_null() && !ifa.ifa_name.is_null() {
                // SAFETY: non-null pointers into the list.
                let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_string_lossy();
                let addr = unsafe { &*ifa.ifa_addr };
                let mask = (!ifa.ifa_netmask.is_null()).then(|| unsafe { &*ifa.ifa_netmask });
                f(&name, addr, mask);
            }
            cur = ifa.ifa_next;
        }
        Ok(())
    }

    pub fn interface_addresses(iface: Option<&str>) -> Result<Vec<IfAddr>, UlaError> {
        let mut out = Vec::new();
        let mut seen_iface = iface.is_none();
        walk(|name, addr, mask| {
            if iface.is_some_and(|w| w != name) {
                return;
            }
            seen_iface = true;
            if i32::from(addr.sa_family) != libc::AF_INET6 {
                return;
            }
            // SAFETY: an AF_INET6 sockaddr is a sockaddr_in6.
            let sin6 = unsafe { &*(addr as *const libc::sockaddr as *const libc::sockaddr_in6) };
            let prefix_len = mask
                .map(|m| {
                    // SAFETY: the netmask of an AF_INET6 address is a sockaddr_in6.
                    let m = unsafe { &*(m as *const libc::sockaddr as *const libc::sockaddr_in6) };
                    u128::from_be_bytes(m.sin6_addr.s6_addr).count_ones() as u8
                })
                .unwrap_or(128);
            out.push(IfAddr {
                interface: name.to_string(),
                address: Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                prefix_len,
            });
        })?;
        if !seen_iface {
            return Err(UlaError::NoSuchInterface {
                name: iface.unwrap_or_default().to_string(),
            });
        }
        Ok(out)
    }

    pub fn first_mac() -> Result<[u8; 6], UlaError> {
        let mut found = None;
        walk(|_, addr, _| {
            if found.is_some() || i32::from(addr.sa_family) != libc::AF_LINK {
                return;
            }
            // SAFETY: an AF_LINK sockaddr is a sockaddr_dl.
            let dl = unsafe { &*(addr as *const libc::sockaddr as *const libc::sockaddr_dl) };
            if dl.sdl_alen != 6 {
                return;
            }
            let off = usize::from(dl.sdl_nlen);
            let data: Vec<u8> = dl.sdl_data.iter().map(|c| *c as u8).collect();
            if let Some(m) = data.get(off..off + 6) {
                let mac = [m[0], m[1], m[2], m[3], m[4], m[5]];
                if mac != [0; 6] {
                    found = Some(mac);
                }
            }
        })?;
        found.ok_or(UlaError::NoMac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(i: &str, s: &str, l: u8) -> IfAddr {
        IfAddr {
            interface: i.into(),
            address: s.parse().unwrap(),
            prefix_len: l,
        }
    }

    #[test]
    fn groups_by_48_and_aggregates() {
        let d = group(&[
            a("eth0", "fd3c:9e21:7b4::1", 64),
            a("eth1", "fd3c:9e21:7b4:1::1", 64),
            a("eth0", "2001:db8::1", 64),
            a("eth0", "fe80::1", 64),
            a("eth2", "fdaa:1:2:3::9", 64),
        ]);
        assert_eq!(d.sites.len(), 2);
        assert_eq!(d.sites[0].site.to_string(), "fd3c:9e21:7b4::/48");
        assert_eq!(d.sites[0].interfaces, vec!["eth0", "eth1"]);
        assert_eq!(d.sites[0].prefixes[0].to_string(), "fd3c:9e21:7b4::/63");
        assert_eq!(d.sites[1].site.to_string(), "fdaa:1:2::/48");
        let agg: Vec<String> = d.aggregate.iter().map(|n| n.to_string()).collect();
        assert_eq!(agg, vec!["fd3c:9e21:7b4::/63", "fdaa:1:2:3::/64"]);
    }
}
