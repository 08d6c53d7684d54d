//! What kind of link an interface is, for `--hook auto`: the kernel's link kind (rtnetlink
//! `IFLA_LINKINFO` / `IFLA_INFO_KIND`), asked with one `RTM_GETLINK` request on a blocking
//! socket (attaching is synchronous), and the hooks that kind gets.
//!
//! On a veth, XDP's native mode costs the sending side: with an XDP program attached, the veth
//! hands each frame to its own NAPI receive path (a copy and a softirq) instead of straight to
//! the peer's stack, and that work runs in the sender's context. TC hooks leave the veth's fast
//! path alone, so a veth gets TC on ingress and egress; every other link gets XDP on ingress
//! (where native XDP is the cheapest place to look at a frame) and TC on egress.
use std::{io, os::fd::AsRawFd, time::Duration};

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
use netlink_packet_route::{
    link::{LinkAttribute, LinkInfo, LinkMessage},
    RouteNetlinkMessage,
};
use rtnetlink::sys::{constants::NETLINK_ROUTE, Socket, SocketAddr};
use thiserror::Error;

use super::HookSel;

/// How long the kernel gets to answer (it answers at once; this only bounds a wait that
/// should never happen).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum LinkError {
    #[error("interface index {ifindex}: rtnetlink socket: {source}")]
    Socket {
        ifindex: u32,
        #[source]
        source: io::Error,
    },
    #[error("interface index {ifindex}: the kernel refused RTM_GETLINK: {source}")]
    Refused {
        ifindex: u32,
        #[source]
        source: io::Error,
    },
    #[error(
        "interface index {ifindex}: undecodable RTM_GETLINK answer at byte {offset}: {reason}"
    )]
    Decode {
        ifindex: u32,
        offset: usize,
        reason: String,
    },
    #[error("interface index {ifindex}: no link message in the kernel's answer")]
    NoAnswer { ifindex: u32 },
}

/// The hooks `--hook auto` attaches to a link of `kind` (`IFLA_INFO_KIND`; `None` for a link
/// without one, such as a physical NIC): TC on ingress and egress for a veth, XDP on ingress
/// and TC on egress for anything else. Never [`HookSel::Auto`].
pub fn auto_hooks(kind: Option<&str>) -> HookSel {
    match kind {
        Some("veth") => HookSel::Tc,
        _ => HookSel::Both,
    }
}

/// The kernel's link kind of interface `ifindex` (`veth`, `bridge`, ...), or `None` when the
/// link has none (physical NICs, loopback).
pub fn link_kind(ifindex: u32) -> Result<Option<String>, LinkError> {
    let socket_err = |source| LinkError::Socket { ifindex, source };
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    let mut req = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetLink(msg)),
    );
    req.header.flags = NLM_F_REQUEST;
    req.header.sequence_number = 1;
    req.finalize();
    let mut buf = vec![0u8; req.buffer_len()];
    req.serialize(&mut buf);

    let mut sock = Socket::new(NETLINK_ROUTE).map_err(socket_err)?;
    sock.bind_auto().map_err(socket_err)?;
    sock.connect(&SocketAddr::new(0, 0)).map_err(socket_err)?;
    set_recv_timeout(&sock, ANSWER_TIMEOUT).map_err(socket_err)?;
    sock.send(&buf, 0).map_err(socket_err)?;
    let (answer, _) = sock.recv_from_full().map_err(socket_err)?;
    parse_answer(ifindex, &answer)
}

/// The link kind in the kernel's answer to one `RTM_GETLINK` (a `RTM_NEWLINK` message, or an
/// error message).
fn parse_answer(ifindex: u32, answer: &[u8]) -> Result<Option<String>, LinkError> {
    let mut offset = 0;
    // Bounded by the answer's length: every message is at least its 16-byte header long.
    while offset < answer.len() {
        let rest = &answer[offset..];
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest).map_err(|e| {
            LinkError::Decode {
                ifindex,
                offset,
                reason: e.to_string(),
            }
        })?;
        let len = msg.header.length as usize;
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                return Ok(kind_of(&link));
            }
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(LinkError::Refused {
                    ifindex,
                    source: e.to_io(),
                });
            }
            _ => {}
        }
        // Messages are padded to 4 bytes (NLMSG_ALIGN).
        let step = (len + 3) & !3;
        if step < 16 {
            return Err(LinkError::Decode {
                ifindex,
                offset,
                reason: format!("message length {len}"),
            });
        }
        offset += step;
    }
    Err(LinkError::NoAnswer { ifindex })
}

/// `IFLA_INFO_KIND` of a link message, if it has one.
fn kind_of(link: &LinkMessage) -> Option<String> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k.to_string()),
            _ => None,
        }),
        _ => None,
    })
}

fn set_recv_timeout(sock: &Socket, d: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: the descriptor is the socket's own and tv a valid timeval of the size given.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{InfoKind, LinkInfo};

    #[test]
    fn veth_gets_tc_everything_else_xdp_and_tc() {
        assert_eq!(auto_hooks(Some("veth")), HookSel::Tc);
        for kind in [
            None,
            Some("bridge"),
            Some("bond"),
            Some("vlan"),
            Some("vxlan"),
        ] {
            assert_eq!(auto_hooks(kind), HookSel::Both, "{kind:?}");
        }
        // The kernel's names are lower case and compared exactly.
        assert_eq!(auto_hooks(Some("VETH")), HookSel::Both);
        assert_eq!(auto_hooks(Some("")), HookSel::Both);
    }

    /// An RTM_NEWLINK message as the kernel would send it, with `infos` as IFLA_LINKINFO.
    fn newlink(ifindex: u32, infos: Option<Vec<LinkInfo>>) -> Vec<u8> {
        let mut link = LinkMessage::default();
        link.header.index = ifindex;
        link.attributes
            .push(LinkAttribute::IfName(format!("v6p-{ifindex}")));
        if let Some(infos) = infos {
            link.attributes.push(LinkAttribute::LinkInfo(infos));
        }
        let mut m = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)),
        );
        m.finalize();
        let mut buf = vec![0u8; m.buffer_len()];
        m.serialize(&mut buf);
        buf
    }

    #[test]
    fn the_kind_is_read_from_the_answer() {
        let veth = newlink(7, Some(vec![LinkInfo::Kind(InfoKind::Veth)]));
        assert_eq!(parse_answer(7, &veth).unwrap().as_deref(), Some("veth"));
        assert_eq!(
            auto_hooks(parse_answer(7, &veth).unwrap().as_deref()),
            HookSel::Tc
        );
        let bridge = newlink(8, Some(vec![LinkInfo::Kind(InfoKind::Bridge)]));
        assert_eq!(parse_answer(8, &bridge).unwrap().as_deref(), Some("bridge"));
        // A NIC: no IFLA_LINKINFO at all.
        assert_eq!(parse_answer(9, &newlink(9, None)).unwrap(), None);
    }

    /// The real kernel: loopback has no link kind; an index that names nothing is refused.
    #[test]
    fn the_kernel_answers_for_loopback_and_refuses_a_missing_index() {
        let lo = crate::observe::ifindex("lo").unwrap();
        let kind = link_kind(lo).unwrap();
        assert_eq!(kind, None);
        assert_eq!(auto_hooks(kind.as_deref()), HookSel::Both);
        // Interface indexes are handed out upwards from 1; this one is never reached.
        let e = link_kind(i32::MAX as u32).unwrap_err();
        assert!(
            matches!(e, LinkError::Refused { ifindex, .. } if ifindex == i32::MAX as u32),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_interface() {
        let e = parse_answer(5, &[]).unwrap_err();
        assert!(matches!(e, LinkError::NoAnswer { ifindex: 5 }), "{e}");
        let e = parse_answer(5, &[1, 2, 3]).unwrap_err();
        assert!(e.to_string().contains("interface index 5"), "{e}");
        // A NACK (ENODEV) from the kernel.
        let mut err = netlink_packet_core::ErrorMessage::default();
        err.code = std::num::NonZeroI32::new(-libc::ENODEV);
        let mut m = NetlinkMessage::<RouteNetlinkMessage>::new(
            NetlinkHeader::default(),
            NetlinkPayload::Error(err),
        );
        m.finalize();
        let mut buf = vec![0u8; m.buffer_len()];
        m.serialize(&mut buf);
        let e = parse_answer(5, &buf).unwrap_err();
        assert!(matches!(e, LinkError::Refused { ifindex: 5, .. }), "{e}");
    }
}
