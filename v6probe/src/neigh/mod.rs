//! The IPv6 neighbour cache: its tunable ND parameters ([`params`]), and the table itself over
//! rtnetlink (list and watch, Linux).
pub mod params;

use std::net::Ipv6Addr;

use serde::Serialize;

pub use params::{NeighParams, ParamError, ParamSpec, ParamValue, PARAMS};

/// A neighbour cache entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NeighEntry {
    pub interface: String,
    pub address: Ipv6Addr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// NUD state: incomplete, reachable, stale, delay, probe, failed, noarp, permanent, none.
    pub state: String,
    pub router: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub proxy: bool,
}

/// A change seen by `neigh watch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NeighEvent {
    /// `new` (added or changed) or `del`.
    pub event: &'static str,
    pub time: String,
    #[serde(flatten)]
    pub entry: NeighEntry,
}

/// Errors of `neigh list` / `neigh watch`.
#[derive(Debug, thiserror::Error)]
pub enum NeighError {
    #[error("interface `{name}` not found")]
    NoSuchInterface { name: String },
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the neighbour table is read over rtnetlink, which this system does not have")]
    Unsupported,
}

#[cfg(target_os = "linux")]
mod linux {
    use std::{collections::BTreeMap, net::Ipv6Addr, time::Duration};

    use futures::{StreamExt, TryStreamExt};
    use netlink_packet_core::NetlinkPayload;
    use netlink_packet_route::{
        neighbour::{
            NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
        },
        AddressFamily, RouteNetlinkMessage,
    };
    use rtnetlink::MulticastGroup;

    use super::{NeighEntry, NeighError, NeighEvent};
    use crate::route::nl::{self, Link};

    fn state(s: NeighbourState) -> String {
        match s {
            NeighbourState::Incomplete => "incomplete".into(),
            NeighbourState::Reachable => "reachable".into(),
            NeighbourState::Stale => "stale".into(),
            NeighbourState::Delay => "delay".into(),
            NeighbourState::Probe => "probe".into(),
            NeighbourState::Failed => "failed".into(),
            NeighbourState::Noarp => "noarp".into(),
            NeighbourState::Permanent => "permanent".into(),
            NeighbourState::None => "none".into(),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The entry of one RTM_NEWNEIGH / RTM_DELNEIGH (IPv6 only).
    pub fn entry(msg: &NeighbourMessage, links: &BTreeMap<u32, Link>) -> Option<NeighEntry> {
        if msg.header.family != AddressFamily::Inet6 {
            return None;
        }
        let mut address = None;
        let mut mac = None;
        for a in &msg.attributes {
            match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(d)) => address = Some(*d),
                NeighbourAttribute::LinkLayerAddress(l) if l.len() == 6 => {
                    let m = [l[0], l[1], l[2], l[3], l[4], l[5]];
                    mac = Some(v6probe_common::wire::EthernetAddress(m).to_string());
                }
                _ => {}
            }
        }
        let address: Ipv6Addr = address?;
        Some(NeighEntry {
            interface: links
                .get(&msg.header.ifindex)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("if{}", msg.header.ifindex)),
            address,
            mac,
            state: state(msg.header.state),
            router: msg.header.flags.contains(NeighbourFlags::Router),
            proxy: msg.header.flags.contains(NeighbourFlags::Proxy),
        })
    }

    fn ifindex(links: &BTreeMap<u32, Link>, name: &str) -> Result<u32, NeighError> {
        links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| NeighError::NoSuchInterface {
                name: name.to_string(),
            })
    }

    pub fn list(iface: Option<&str>) -> Result<Vec<NeighEntry>, NeighError> {
        let rt = nl::runtime()?;
        rt.block_on(async {
            let handle = nl::connect()?;
            let links = nl::links(&handle)
                .await
                .map_err(|e| NeighError::Netlink(e.to_string()))?;
            let want = iface.map(|n| ifindex(&links, n)).transpose()?;
            let mut out = Vec::new();
            let mut s = handle
                .neighbours()
                .get()
                .set_address_family(AddressFamily::Inet6)
                .execute();
            while let Some(msg) = s
                .try_next()
                .await
                .map_err(|e| NeighError::Netlink(e.to_string()))?
            {
                if want.is_some_and(|w| w != msg.header.ifindex) {
                    continue;
                }
                out.extend(entry(&msg, &links));
            }
            out.sort_by(|a, b| (&a.interface, a.address).cmp(&(&b.interface, b.address)));
            Ok(out)
        })
    }

    /// Calls `on_event` for each IPv6 neighbour change until `duration` has passed (forever when
    /// `None`) or `on_event` returns false.
    pub fn watch(
        iface: Option<&str>,
        duration: Option<Duration>,
        mut on_event: impl FnMut(NeighEvent) -> bool,
    ) -> Result<(), NeighError> {
        let rt = nl::runtime()?;
        rt.block_on(async {
            let (conn, handle, mut messages) =
                rtnetlink::new_multicast_connection(&[MulticastGroup::Neigh])?;
            tokio::spawn(conn);
            let mut links = nl::links(&handle)
                .await
                .map_err(|e| NeighError::Netlink(e.to_string()))?;
            let want = iface.map(|n| ifindex(&links, n)).transpose()?;
            let deadline = duration.map(|d| tokio::time::Instant::now() + d);
            loop {
                let next = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, messages.next()).await {
                        Ok(m) => m,
                        Err(_) => return Ok(()),
                    },
                    None => messages.next().await,
                };
                let Some((msg, _)) = next else {
                    return Ok(());
                };
                let (event, m) = match msg.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(m)) => {
                        ("new", m)
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelNeighbour(m)) => {
                        ("del", m)
                    }
                    _ => continue,
                };
                if want.is_some_and(|w| w != m.header.ifindex) {
                    continue;
                }
                if !links.contains_key(&m.header.ifindex) {
                    if let Ok(l) = nl::links(&handle).await {
                        links = l;
                    }
                }
                if let Some(entry) = entry(&m, &links) {
                    let ev = NeighEvent {
                        event,
                        time: crate::output::rfc3339_nanos(std::time::SystemTime::now()),
                        entry,
                    };
                    if !on_event(ev) {
                        return Ok(());
                    }
                }
            }
        })
    }
}

#[cfg(target_os = "linux")]
pub use linux::{list, watch};

#[cfg(not(target_os = "linux"))]
pub fn list(_iface: Option<&str>) -> Result<Vec<NeighEntry>, NeighError> {
    Err(NeighError::Unsupported)
}

#[cfg(not(target_os = "linux"))]
pub fn watch(
    _iface: Option<&str>,
    _duration: Option<std::time::Duration>,
    _on_event: impl FnMut(NeighEvent) -> bool,
) -> Result<(), NeighError> {
    Err(NeighError::Unsupported)
}
