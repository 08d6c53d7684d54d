//! The unprivileged ICMPv6 error source: the socket error queue (IPV6_RECVERR, Linux).
//!
//! With IPV6_RECVERR set on a TCP socket, `tcp_v6_err` queues every ICMPv6 error about the
//! socket's packets to its error queue (`ipv6_icmp_error`), even when the socket is busy and the
//! kernel only records the error as "soft". A queued error raises POLLERR, so a non-blocking
//! connect wakes at once. `recvmsg(MSG_ERRQUEUE)` returns: as name, the quoted packet's
//! destination (address and port); as data, the start of the quoted TCP header (ports); as
//! control message, `sock_extended_err` (origin, type, code, info = MTU) followed by the
//! offender's address (SO_EE_OFFENDER, the router that sent the error).
//!
//! Packet too big is not queued for TCP (the kernel lowers the MSS itself); read the socket's
//! IPV6_MTU for the path MTU ([`socket_path_mtu`]).
use std::{io, net::SocketAddrV6, os::fd::BorrowedFd};
#[cfg(target_os = "linux")]
use std::{
    mem::{self, MaybeUninit},
    net::Ipv6Addr,
    os::fd::AsRawFd,
    time::{Instant, SystemTime},
};

use super::icmp::IcmpErrorEvent;
#[cfg(target_os = "linux")]
use super::icmp::IcmpSource;

#[cfg(target_os = "linux")]
const SO_EE_ORIGIN_ICMP6: u8 = 3;

/// `struct sock_extended_err` (linux/errqueue.h).
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Clone, Copy)]
struct SockExtendedErr {
    ee_errno: u32,
    ee_origin: u8,
    ee_type: u8,
    ee_code: u8,
    ee_pad: u8,
    ee_info: u32,
    ee_data: u32,
}

/// Turns on IPV6_RECVERR on an IPv6 socket (Linux; elsewhere: `Unsupported`).
#[cfg(not(target_os = "linux"))]
pub fn enable_recverr(_fd: BorrowedFd<'_>) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "IPV6_RECVERR (the socket error queue) is Linux-only",
    ))
}

/// The path MTU of a connected IPv6 socket (Linux; elsewhere: `Unsupported`).
#[cfg(not(target_os = "linux"))]
pub fn socket_path_mtu(_fd: BorrowedFd<'_>) -> io::Result<u32> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "IPV6_MTU on a connected socket is read on Linux only",
    ))
}

/// No error queue outside Linux: nothing to read.
#[cfg(not(target_os = "linux"))]
pub fn drain(_fd: BorrowedFd<'_>, _local: SocketAddrV6) -> io::Result<Vec<IcmpErrorEvent>> {
    Ok(Vec::new())
}

/// Turns on IPV6_RECVERR on an IPv6 socket.
#[cfg(target_os = "linux")]
pub fn enable_recverr(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: valid fd, option value points to a c_int of the given length.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVERR,
            (&one as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The path MTU the kernel holds for a connected IPv6 socket (getsockopt IPV6_MTU).
#[cfg(target_os = "linux")]
pub fn socket_path_mtu(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut v: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid fd; v and len are valid for writes of the given size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        u32::try_from(v).map_err(|_| io::Error::other(format!("negative IPV6_MTU {v}")))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The sequence number of the SYN of a connecting TCP socket (Linux, CAP_NET_ADMIN;
/// elsewhere: `Unsupported`).
#[cfg(not(target_os = "linux"))]
pub fn syn_sequence(_fd: BorrowedFd<'_>) -> io::Result<u32> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "reading a socket's sequence numbers (TCP_REPAIR) is Linux-only",
    ))
}

/// The sequence number of the SYN of a connecting TCP socket, so that an ICMPv6 error from a
/// source the kernel did not check can be held to the window test of `tcp_v6_err()`.
///
/// Read with the socket repair interface (the one checkpoint/restore tools use; needs
/// CAP_NET_ADMIN): repair mode on, the send queue selected, `TCP_QUEUE_SEQ` (the next sequence
/// number to send, one past the SYN's while connecting), repair mode off again without a
/// window probe. The mode is on for three system calls; a reply arriving meanwhile is
/// processed as usual. The repair mode is always switched off before returning.
#[cfg(target_os = "linux")]
pub fn syn_sequence(fd: BorrowedFd<'_>) -> io::Result<u32> {
    const TCP_REPAIR: libc::c_int = 19;
    const TCP_REPAIR_QUEUE: libc::c_int = 20;
    const TCP_QUEUE_SEQ: libc::c_int = 21;
    const TCP_SEND_QUEUE: libc::c_int = 2;
    const TCP_NO_QUEUE: libc::c_int = 0;
    const TCP_REPAIR_ON: libc::c_int = 1;
    const TCP_REPAIR_OFF_NO_WP: libc::c_int = -1;
    let set = |opt: libc::c_int, v: libc::c_int| -> io::Result<()> {
        // SAFETY: valid fd, option value points to a c_int of the given length.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                opt,
                (&v as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    set(TCP_REPAIR, TCP_REPAIR_ON)?;
    let read = set(TCP_REPAIR_QUEUE, TCP_SEND_QUEUE).and_then(|()| {
        let mut v: u32 = 0;
        let mut len = mem::size_of::<u32>() as libc::socklen_t;
        // SAFETY: valid fd; v and len are valid for writes of the given size.
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                TCP_QUEUE_SEQ,
                (&mut v as *mut u32).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            Ok(v)
        } else {
            Err(io::Error::last_os_error())
        }
    });
    let _ = set(TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
    let off = set(TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
    let next = read?;
    off?;
    Ok(next.wrapping_sub(1))
}

#[cfg(target_os = "linux")]
fn v6_from_sockaddr(sa: &libc::sockaddr_in6) -> SocketAddrV6 {
    SocketAddrV6::new(
        Ipv6Addr::from(sa.sin6_addr.s6_addr),
        u16::from_be(sa.sin6_port),
        sa.sin6_flowinfo,
        sa.sin6_scope_id,
    )
}

/// Reads every queued ICMPv6 error (at most 16) from a TCP socket whose local address is
/// `local`, without blocking. Errors of other origins (local errors) are skipped.
#[cfg(target_os = "linux")]
pub fn drain(fd: BorrowedFd<'_>, local: SocketAddrV6) -> io::Result<Vec<IcmpErrorEvent>> {
    let mut events = Vec::new();
    for _ in 0..16 {
        let mut name = MaybeUninit::<libc::sockaddr_in6>::zeroed();
        let mut data = [0u8; 64];
        let mut control = [0u64; 64];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        // SAFETY: msghdr is plain data; zeroed is a valid (empty) value.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = name.as_mut_ptr().cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = mem::size_of_val(&control) as _;
        // SAFETY: every pointer in msg points to a live buffer of the stated length.
        let n = unsafe {
            libc::recvmsg(
                fd.as_raw_fd(),
                &mut msg,
                libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                break;
            }
            return Err(e);
        }
        let seen_at = Instant::now();
        let seen = SystemTime::now();
        let payload = &data[..(n as usize).min(data.len())];
        // SAFETY: the kernel wrote a sockaddr_in6 (AF_INET6 socket); zeroed otherwise.
        let quoted_dst = v6_from_sockaddr(unsafe { name.assume_init_ref() });
        // SAFETY: msg was filled by recvmsg; CMSG_* walk the control buffer within its length.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            // SAFETY: cmsg is non-null and inside the control buffer.
            let c = unsafe { &*cmsg };
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR {
                // SAFETY: the data of an IPV6_RECVERR cmsg is a sock_extended_err followed by
                // a sockaddr_in6 (the offender); read_unaligned copes with any alignment.
                let (ee, off) = unsafe {
                    let p = libc::CMSG_DATA(cmsg);
                    let ee = std::ptr::read_unaligned(p.cast::<SockExtendedErr>());
                    let off = std::ptr::read_unaligned(
                        p.add(mem::size_of::<SockExtendedErr>())
                            .cast::<libc::sockaddr_in6>(),
                    );
                    (ee, off)
                };
                if ee.ee_origin == SO_EE_ORIGIN_ICMP6 {
                    let offender = (off.sin6_family == libc::AF_INET6 as libc::sa_family_t)
                        .then(|| Ipv6Addr::from(off.sin6_addr.s6_addr));
                    let (sport, dport) = if payload.len() >= 4 {
                        (
                            u16::from_be_bytes([payload[0], payload[1]]),
                            u16::from_be_bytes([payload[2], payload[3]]),
                        )
                    } else {
                        (local.port(), quoted_dst.port())
                    };
                    tracing::debug!(
                        errno = ee.ee_errno,
                        r#type = ee.ee_type,
                        code = ee.ee_code,
                        ?offender,
                        dst = %quoted_dst,
                        "ICMPv6 error from the socket error queue"
                    );
                    events.push(IcmpErrorEvent {
                        icmp_type: ee.ee_type,
                        code: ee.ee_code,
                        mtu: if ee.ee_type == super::icmp::ICMPV6_PACKET_TOO_BIG {
                            ee.ee_info
                        } else {
                            0
                        },
                        offender,
                        quoted_src: *local.ip(),
                        quoted_dst: *quoted_dst.ip(),
                        quoted_proto: libc::IPPROTO_TCP as u8,
                        quoted_src_port: sport,
                        quoted_dst_port: dport,
                        quoted_seq: payload
                            .get(4..8)
                            .and_then(|b| b.try_into().ok())
                            .map(u32::from_be_bytes),
                        seen_at,
                        seen: crate::output::rfc3339_nanos(seen),
                        source: IcmpSource::Errqueue,
                    });
                }
            }
            // SAFETY: advancing within the buffer recvmsg filled.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
    }
    Ok(events)
}
