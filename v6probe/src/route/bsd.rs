//! FreeBSD and macOS backend: the routing socket (`PF_ROUTE`) for add and delete, and the
//! `NET_RT_DUMP` sysctl for listing. Messages are made and read by [`super::bsd_msg`].
use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::atomic::{AtomicI32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use ipnet::Ipv6Net;

use super::{
    bsd_msg::{self, Flavor, Gateway, RtRequest},
    Op, RouteEntry, RouteError, RouteSpec,
};

static SEQ: AtomicI32 = AtomicI32::new(1);

fn unsupported(spec: &RouteSpec) -> Result<(), RouteError> {
    if spec.pref.is_some() {
        return Err(RouteError::UnsupportedOption {
            option: "--pref",
            why: "routing sockets carry no route preference",
        });
    }
    if spec.metric.is_some() {
        return Err(RouteError::UnsupportedOption {
            option: "--metric",
            why: "routing sockets carry no route metric",
        });
    }
    if spec.table.is_some() && cfg!(target_os = "macos") {
        return Err(RouteError::UnsupportedOption {
            option: "--table",
            why: "macOS has a single routing table",
        });
    }
    Ok(())
}

fn request(spec: &RouteSpec, op: Op) -> Result<RtRequest, RouteError> {
    let ifindex = spec.dev.as_deref().map(super::ifindex).transpose()?;
    let idx16 = |i: u32| {
        u16::try_from(i).map_err(|_| RouteError::NoSuchInterface {
            name: spec.dev.clone().unwrap_or_default(),
        })
    };
    let ifp = ifindex.map(idx16).transpose()?;
    let gateway = match (spec.via, ifp) {
        (Some(addr), _) => Some(Gateway::Inet6 {
            addr,
            scope_id: if super::is_link_local(addr) {
                ifindex.unwrap_or(0)
            } else {
                0
            },
        }),
        (None, Some(index)) => Some(Gateway::Link { index }),
        (None, None) => None,
    };
    let expire = spec.expires.map(|s| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + u64::from(s)
    });
    Ok(RtRequest {
        kind: match op {
            Op::Add => bsd_msg::RTM_ADD,
            Op::Del => bsd_msg::RTM_DELETE,
        },
        dst: spec.prefix,
        gateway,
        ifp: if spec.via.is_some() { ifp } else { None },
        expire,
        // SAFETY: getpid has no preconditions.
        pid: unsafe { libc::getpid() },
        seq: SEQ.fetch_add(1, Ordering::Relaxed),
    })
}

fn map_errno(op: Op, spec: &RouteSpec, errno: i32) -> RouteError {
    match (op, errno) {
        (Op::Add, libc::EEXIST) => RouteError::Exists {
            prefix: spec.prefix,
        },
        (Op::Del, libc::ESRCH) => RouteError::NotFound {
            prefix: spec.prefix,
        },
        (Op::Add, libc::ENETUNREACH | libc::EHOSTUNREACH) if spec.via.is_some() => {
            RouteError::GatewayUnreachable {
                via: spec.via.unwrap_or(std::net::Ipv6Addr::UNSPECIFIED),
            }
        }
        _ => RouteError::Kernel {
            op,
            prefix: spec.prefix,
            source: io::Error::from_raw_os_error(errno),
        },
    }
}

fn run(spec: &RouteSpec, op: Op) -> Result<(), RouteError> {
    unsupported(spec)?;
    let req = request(spec, op)?;
    let msg = bsd_msg::build(Flavor::NATIVE, &req);
    // SAFETY: plain socket(2) call; the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::PF_ROUTE, libc::SOCK_RAW, libc::AF_UNSPEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: fd is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(target_os = "freebsd")]
    if let Some(t) = spec.table {
        let fib = libc::c_int::try_from(t).unwrap_or(libc::c_int::MAX);
        // SAFETY: setsockopt with a c_int option value.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SETFIB,
                (&fib as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(RouteError::BadTable { table: t });
        }
    }
    // SAFETY: msg is a valid buffer of msg.len() bytes.
    let n = unsafe { libc::write(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return Err(map_errno(op, spec, e.raw_os_error().unwrap_or(0)));
    }
    // Read our reply (matching pid and seq); bounded in count.
    let mut buf = vec![0u8; 2048];
    for _ in 0..64 {
        // SAFETY: buf is a valid writable buffer.
        let n = unsafe { libc::read(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error().into());
        }
        let replies = bsd_msg::parse(Flavor::NATIVE, &buf[..n as usize])
            .map_err(|e| RouteError::List(e.to_string()))?;
        for r in replies {
            if r.pid == req.pid && r.seq == req.seq {
                if r.errno != 0 {
                    return Err(map_errno(op, spec, r.errno));
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

pub fn add(spec: &RouteSpec) -> Result<(), RouteError> {
    run(spec, Op::Add)
}

pub fn del(spec: &RouteSpec) -> Result<(), RouteError> {
    run(spec, Op::Del)
}

fn ifname(index: u16) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(u32::from(index), buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("if{index}");
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into buf.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The IPv6 routes of the current FIB, from `sysctl net.route.0.inet6.dump`.
pub fn list() -> Result<Vec<RouteEntry>, RouteError> {
    let mut mib = [
        libc::CTL_NET,
        libc::PF_ROUTE,
        0,
        libc::AF_INET6,
        libc::NET_RT_DUMP,
        0,
    ];
    let mut len: libc::size_t = 0;
    // SAFETY: size query with a null buffer.
    let r = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            mib.len() as libc::c_uint,
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error().into());
    }
    let mut buf = vec![0u8; len + len / 4 + 1024];
    let mut len = buf.len();
    // SAFETY: buf has len bytes.
    let r = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            mib.len() as libc::c_uint,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error().into());
    }
    let replies = bsd_msg::parse(Flavor::NATIVE, &buf[..len.min(buf.len())])
        .map_err(|e| RouteError::List(e.to_string()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(replies
        .into_iter()
        .filter_map(|r| {
            let dst = r.dst?;
            let prefix = Ipv6Net::new(dst, r.prefix_len.unwrap_or(128)).ok()?;
            let (via, dev) = match r.gateway {
                Some(Gateway::Inet6 { addr, .. }) => (Some(addr), Some(ifname(r.index))),
                Some(Gateway::Link { index }) => (None, Some(ifname(index))),
                None => (None, (r.index != 0).then(|| ifname(r.index))),
            };
            Some(RouteEntry {
                prefix,
                dev,
                via,
                metric: None,
                table: super::TABLE_MAIN,
                protocol: if r.flags & bsd_msg::RTF_STATIC != 0 {
                    "static".into()
                } else {
                    "kernel".into()
                },
                kind: "unicast".into(),
                pref: None,
                expires: (r.expire > now).then(|| (r.expire - now) as u32),
            })
        })
        .collect())
}
