//! Shared rtnetlink plumbing for `route`, `neigh` and `ula discover` (Linux).
use std::{collections::BTreeMap, io};

use futures::TryStreamExt;
use netlink_packet_route::link::LinkAttribute;
use rtnetlink::Handle;

/// A current-thread tokio runtime for one command's netlink requests.
pub(crate) fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Opens an rtnetlink connection (its driver is spawned on the current runtime).
pub(crate) fn connect() -> io::Result<Handle> {
    let (conn, handle, _) = rtnetlink::new_connection()?;
    tokio::spawn(conn);
    Ok(handle)
}

/// A network interface: index, name and (for Ethernet-like links) its MAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
}

/// Every link, by index.
pub(crate) async fn links(handle: &Handle) -> Result<BTreeMap<u32, Link>, rtnetlink::Error> {
    let mut out = BTreeMap::new();
    let mut s = handle.link().get().execute();
    while let Some(msg) = s.try_next().await? {
        let mut name = String::new();
        let mut mac = None;
        for a in &msg.attributes {
            match a {
                LinkAttribute::IfName(n) => name = n.clone(),
                LinkAttribute::Address(b) if b.len() == 6 => {
                    let m: [u8; 6] = [b[0], b[1], b[2], b[3], b[4], b[5]];
                    if m != [0; 6] {
                        mac = Some(m);
                    }
                }
                _ => {}
            }
        }
        out.insert(
            msg.header.index,
            Link {
                index: msg.header.index,
                name,
                mac,
            },
        );
    }
    Ok(out)
}
