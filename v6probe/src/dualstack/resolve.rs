//! Per-family name resolution (RFC 8305 section 3: AAAA and A asked separately) through the
//! system resolver, so `/etc/hosts` (and `/etc/netns/<name>/hosts` under `ip netns exec`) and
//! the RFC 6724 sorting of glibc's `getaddrinfo` apply.
use std::{
    ffi::CString,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    ptr,
};

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv6,
    Ipv4,
}

impl Family {
    pub fn of(a: &IpAddr) -> Self {
        if a.is_ipv6() {
            Self::Ipv6
        } else {
            Self::Ipv4
        }
    }
}

/// Looks up `host` for one family, blocking (call it from `spawn_blocking`). Addresses come in
/// the resolver's order (RFC 6724 for glibc), without duplicates.
pub fn lookup_blocking(host: &str, family: Family) -> io::Result<Vec<IpAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(if Family::of(&ip) == family {
            vec![ip]
        } else {
            Vec::new()
        });
    }
    let c_host = CString::new(host).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("host name {host:?} contains a NUL byte"),
        )
    })?;
    // SAFETY: addrinfo is plain data; a zeroed value is valid hints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = match family {
        Family::Ipv6 => libc::AF_INET6,
        Family::Ipv4 => libc::AF_INET,
    };
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: c_host is NUL-terminated, hints valid, res receives a list freed below.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), ptr::null(), &hints, &mut res) };
    if rc != 0 {
        #[cfg(target_os = "linux")]
        let no_data = rc == libc::EAI_NODATA;
        #[cfg(not(target_os = "linux"))]
        let no_data = false;
        if rc == libc::EAI_NONAME || no_data {
            return Ok(Vec::new());
        }
        // SAFETY: gai_strerror returns a static string.
        let msg = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(io::Error::other(format!(
            "resolving {host} ({family:?}): {}",
            msg.to_string_lossy()
        )));
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned.
        let ai = unsafe { &*p };
        if !ai.ai_addr.is_null() {
            let ip = match ai.ai_family {
                // SAFETY: the family says which sockaddr the pointer holds.
                libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(unsafe {
                    (*ai.ai_addr.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr
                }))),
                // SAFETY: as above.
                libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(unsafe {
                    (*ai.ai_addr.cast::<libc::sockaddr_in>()).sin_addr.s_addr
                })))),
                _ => None,
            };
            if let Some(ip) = ip {
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(out)
}

/// Async wrapper around [`lookup_blocking`].
pub async fn lookup(host: String, family: Family) -> io::Result<Vec<IpAddr>> {
    tokio::task::spawn_blocking(move || lookup_blocking(&host, family))
        .await
        .map_err(|e| io::Error::other(format!("resolver task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_localhost() {
        assert_eq!(
            lookup_blocking("::1", Family::Ipv6).unwrap(),
            vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]
        );
        assert!(lookup_blocking("::1", Family::Ipv4).unwrap().is_empty());
        let v4 = lookup_blocking("localhost", Family::Ipv4).unwrap();
        assert!(v4.iter().all(|a| a.is_ipv4()) && !v4.is_empty(), "{v4:?}");
        assert!(lookup_blocking("a\0b", Family::Ipv4).is_err());
    }
}
