//! Routing-socket (`PF_ROUTE`) messages of FreeBSD and macOS, built and parsed as bytes by pure
//! functions compiled on every OS, so their layout is unit-tested on Linux.
//!
//! A message is an `rt_msghdr` followed by the socket addresses named in `rtm_addrs`, in RTA bit
//! order (DST, GATEWAY, NETMASK, GENMASK, IFP, IFA, ...), each padded to the system's alignment
//! (`SA_SIZE`: `sizeof(long)` on FreeBSD, `sizeof(uint32_t)` on macOS). An interface route has a
//! `sockaddr_dl` naming the interface index as its gateway and no RTF_GATEWAY flag.
//!
//! The header layouts are mirrored here as `#[repr(C)]` structs from the systems' headers
//! (FreeBSD `sys/net/route.h` for LP64, macOS `net/route.h`); the builder writes at their field
//! offsets. On macOS a compile-time assertion compares the mirror with `libc::rt_msghdr`.
use std::{mem::offset_of, net::Ipv6Addr};

use ipnet::Ipv6Net;

pub const RTM_ADD: u8 = 0x1;
pub const RTM_DELETE: u8 = 0x2;
pub const RTM_GET: u8 = 0x4;
/// RTM_VERSION of both FreeBSD and macOS.
pub const RTM_VERSION: u8 = 5;

pub const RTF_UP: i32 = 0x1;
pub const RTF_GATEWAY: i32 = 0x2;
pub const RTF_HOST: i32 = 0x4;
pub const RTF_DONE: i32 = 0x40;
pub const RTF_STATIC: i32 = 0x800;

pub const RTA_DST: i32 = 0x1;
pub const RTA_GATEWAY: i32 = 0x2;
pub const RTA_NETMASK: i32 = 0x4;
pub const RTA_GENMASK: i32 = 0x8;
pub const RTA_IFP: i32 = 0x10;
pub const RTA_IFA: i32 = 0x20;

/// `rtm_inits` bit saying `rmx_expire` is set.
pub const RTV_EXPIRE: u32 = 0x4;

pub const AF_LINK: u8 = 18;
/// `sizeof(struct sockaddr_in6)` on both systems.
pub const SOCKADDR_IN6_LEN: usize = 28;

/// FreeBSD (LP64) `struct rt_metrics`: every field a `u_long`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct FreeBsdRtMetrics {
    pub rmx_locks: u64,
    pub rmx_mtu: u64,
    pub rmx_hopcount: u64,
    pub rmx_expire: u64,
    pub rmx_recvpipe: u64,
    pub rmx_sendpipe: u64,
    pub rmx_ssthresh: u64,
    pub rmx_rtt: u64,
    pub rmx_rttvar: u64,
    pub rmx_pksent: u64,
    pub rmx_weight: u64,
    pub rmx_nhidx: u64,
    pub rmx_filler: [u64; 2],
}

/// FreeBSD (LP64) `struct rt_msghdr`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct FreeBsdRtMsghdr {
    pub rtm_msglen: u16,
    pub rtm_version: u8,
    pub rtm_type: u8,
    pub rtm_index: u16,
    pub rtm_spare1: u16,
    pub rtm_flags: i32,
    pub rtm_addrs: i32,
    pub rtm_pid: i32,
    pub rtm_seq: i32,
    pub rtm_errno: i32,
    pub rtm_fmask: i32,
    pub rtm_inits: u64,
    pub rtm_rmx: FreeBsdRtMetrics,
}

/// macOS `struct rt_metrics`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct MacRtMetrics {
    pub rmx_locks: u32,
    pub rmx_mtu: u32,
    pub rmx_hopcount: u32,
    pub rmx_expire: i32,
    pub rmx_recvpipe: u32,
    pub rmx_sendpipe: u32,
    pub rmx_ssthresh: u32,
    pub rmx_rtt: u32,
    pub rmx_rttvar: u32,
    pub rmx_pksent: u32,
    pub rmx_state: u32,
    pub rmx_filler: [u32; 3],
}

/// macOS `struct rt_msghdr`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct MacRtMsghdr {
    pub rtm_msglen: u16,
    pub rtm_version: u8,
    pub rtm_type: u8,
    pub rtm_index: u16,
    pub rtm_flags: i32,
    pub rtm_addrs: i32,
    pub rtm_pid: i32,
    pub rtm_seq: i32,
    pub rtm_errno: i32,
    pub rtm_use: i32,
    pub rtm_inits: u32,
    pub rtm_rmx: MacRtMetrics,
}

const _: () = assert!(size_of::<FreeBsdRtMsghdr>() == 152);
const _: () = assert!(size_of::<MacRtMsghdr>() == 92);

#[cfg(target_os = "macos")]
const _: () = {
    assert!(size_of::<MacRtMsghdr>() == size_of::<libc::rt_msghdr>());
    assert!(offset_of!(MacRtMsghdr, rtm_index) == offset_of!(libc::rt_msghdr, rtm_index));
    assert!(offset_of!(MacRtMsghdr, rtm_flags) == offset_of!(libc::rt_msghdr, rtm_flags));
    assert!(offset_of!(MacRtMsghdr, rtm_addrs) == offset_of!(libc::rt_msghdr, rtm_addrs));
    assert!(offset_of!(MacRtMsghdr, rtm_seq) == offset_of!(libc::rt_msghdr, rtm_seq));
    assert!(offset_of!(MacRtMsghdr, rtm_errno) == offset_of!(libc::rt_msghdr, rtm_errno));
    assert!(offset_of!(MacRtMsghdr, rtm_inits) == offset_of!(libc::rt_msghdr, rtm_inits));
    assert!(offset_of!(MacRtMsghdr, rtm_rmx) == offset_of!(libc::rt_msghdr, rtm_rmx));
    assert!(libc::RTM_VERSION == RTM_VERSION as i32);
    assert!(libc::AF_LINK == AF_LINK as i32);
    assert!(libc::AF_INET6 == 30);
    assert!(size_of::<libc::sockaddr_in6>() == SOCKADDR_IN6_LEN);
    assert!(size_of::<libc::sockaddr_dl>() == 20);
};

#[cfg(target_os = "freebsd")]
const _: () = {
    assert!(libc::RTM_VERSION == RTM_VERSION as i32);
    assert!(libc::AF_LINK == AF_LINK as i32);
    assert!(libc::AF_INET6 == 28);
    assert!(libc::RTF_STATIC == RTF_STATIC);
    assert!(libc::RTA_IFP == RTA_IFP);
    assert!(size_of::<libc::sockaddr_in6>() == SOCKADDR_IN6_LEN);
    assert!(size_of::<libc::sockaddr_dl>() == 54);
    assert!(
        size_of::<libc::c_ulong>() == 8,
        "the FreeBSD mirror is for LP64"
    );
};

/// Which system's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    FreeBsd,
    MacOs,
}

/// Offsets of the header fields the builder and parser use.
struct Offsets {
    hdr_len: usize,
    msglen: usize,
    version: usize,
    kind: usize,
    index: usize,
    flags: usize,
    addrs: usize,
    pid: usize,
    seq: usize,
    errno: usize,
    inits: usize,
    expire: usize,
}

impl Flavor {
    /// The flavour of the system this is compiled for (FreeBSD on other systems).
    pub const NATIVE: Flavor = if cfg!(target_os = "macos") {
        Flavor::MacOs
    } else {
        Flavor::FreeBsd
    };

    pub fn af_inet6(self) -> u8 {
        match self {
            Self::FreeBsd => 28,
            Self::MacOs => 30,
        }
    }

    /// `sizeof(struct sockaddr_dl)`.
    pub fn sockaddr_dl_len(self) -> usize {
        match self {
            Self::FreeBsd => 54,
            Self::MacOs => 20,
        }
    }

    /// Socket addresses are padded to a multiple of this.
    pub fn sa_align(self) -> usize {
        match self {
            Self::FreeBsd => 8,
            Self::MacOs => 4,
        }
    }

    /// Padded size of a socket address of length `len` (`SA_SIZE` / `ROUNDUP`).
    pub fn sa_size(self, len: usize) -> usize {
        let a = self.sa_align();
        if len == 0 {
            a
        } else {
            1 + ((len - 1) | (a - 1))
        }
    }

    pub fn header_len(self) -> usize {
        self.offsets().hdr_len
    }

    fn offsets(self) -> Offsets {
        match self {
            Self::FreeBsd => Offsets {
                hdr_len: size_of::<FreeBsdRtMsghdr>(),
                msglen: offset_of!(FreeBsdRtMsghdr, rtm_msglen),
                version: offset_of!(FreeBsdRtMsghdr, rtm_version),
                kind: offset_of!(FreeBsdRtMsghdr, rtm_type),
                index: offset_of!(FreeBsdRtMsghdr, rtm_index),
                flags: offset_of!(FreeBsdRtMsghdr, rtm_flags),
                addrs: offset_of!(FreeBsdRtMsghdr, rtm_addrs),
                pid: offset_of!(FreeBsdRtMsghdr, rtm_pid),
                seq: offset_of!(FreeBsdRtMsghdr, rtm_seq),
                errno: offset_of!(FreeBsdRtMsghdr, rtm_errno),
                inits: offset_of!(FreeBsdRtMsghdr, rtm_inits),
                expire: offset_of!(FreeBsdRtMsghdr, rtm_rmx)
                    + offset_of!(FreeBsdRtMetrics, rmx_expire),
            },
            Self::MacOs => Offsets {
                hdr_len: size_of::<MacRtMsghdr>(),
                msglen: offset_of!(MacRtMsghdr, rtm_msglen),
                version: offset_of!(MacRtMsghdr, rtm_version),
                kind: offset_of!(MacRtMsghdr, rtm_type),
                index: offset_of!(MacRtMsghdr, rtm_index),
                flags: offset_of!(MacRtMsghdr, rtm_flags),
                addrs: offset_of!(MacRtMsghdr, rtm_addrs),
                pid: offset_of!(MacRtMsghdr, rtm_pid),
                seq: offset_of!(MacRtMsghdr, rtm_seq),
                errno: offset_of!(MacRtMsghdr, rtm_errno),
                inits: offset_of!(MacRtMsghdr, rtm_inits),
                expire: offset_of!(MacRtMsghdr, rtm_rmx) + offset_of!(MacRtMetrics, rmx_expire),
            },
        }
    }
}

/// The gateway of a route: a next-hop address, or the interface itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gateway {
    /// An IPv6 next hop; the scope (interface index) matters for a link-local one.
    Inet6 { addr: Ipv6Addr, scope_id: u32 },
    /// An interface route: a `sockaddr_dl` with this interface index.
    Link { index: u16 },
}

/// A routing-socket request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtRequest {
    /// RTM_ADD, RTM_DELETE or RTM_GET.
    pub kind: u8,
    pub dst: Ipv6Net,
    pub gateway: Option<Gateway>,
    /// The interface, sent as RTA_IFP (a `sockaddr_dl`) and in `rtm_index`.
    pub ifp: Option<u16>,
    /// Absolute expiry in seconds of the system clock (`rmx_expire`), with RTV_EXPIRE.
    pub expire: Option<u64>,
    pub pid: i32,
    pub seq: i32,
}

fn put<const N: usize>(buf: &mut [u8], off: usize, v: [u8; N]) {
    buf[off..off + N].copy_from_slice(&v);
}

fn sockaddr_in6(flavor: Flavor, addr: Ipv6Addr, scope_id: u32) -> Vec<u8> {
    let mut b = vec![0u8; SOCKADDR_IN6_LEN];
    b[0] = SOCKADDR_IN6_LEN as u8;
    b[1] = flavor.af_inet6();
    let mut octets = addr.octets();
    let mut scope = scope_id;
    // macOS keeps KAME's embedded form in the kernel: the scope of a link-local address in
    // bytes 2-3 of the address and sin6_scope_id zero, as its route(8) sends it.
    if flavor == Flavor::MacOs && super::is_link_local(addr) && scope_id != 0 {
        let s = u16::try_from(scope_id).unwrap_or(0).to_be_bytes();
        octets[2] = s[0];
        octets[3] = s[1];
        scope = 0;
    }
    b[8..24].copy_from_slice(&octets);
    put(&mut b, 24, scope.to_ne_bytes());
    b
}

fn sockaddr_dl(flavor: Flavor, index: u16) -> Vec<u8> {
    let len = flavor.sockaddr_dl_len();
    let mut b = vec![0u8; len];
    b[0] = len as u8;
    b[1] = AF_LINK;
    put(&mut b, 2, index.to_ne_bytes());
    b
}

/// Builds the bytes of a request: header, then DST, GATEWAY, NETMASK, IFP as present.
pub fn build(flavor: Flavor, req: &RtRequest) -> Vec<u8> {
    let o = flavor.offsets();
    let mut addrs = RTA_DST | RTA_NETMASK;
    let mut flags = RTF_UP | RTF_STATIC;
    if req.dst.prefix_len() == 128 {
        flags |= RTF_HOST;
    }
    let mut sas: Vec<(i32, Vec<u8>)> = vec![(RTA_DST, sockaddr_in6(flavor, req.dst.network(), 0))];
    match req.gateway {
        Some(Gateway::Inet6 { addr, scope_id }) => {
            flags |= RTF_GATEWAY;
            addrs |= RTA_GATEWAY;
            sas.push((RTA_GATEWAY, sockaddr_in6(flavor, addr, scope_id)));
        }
        Some(Gateway::Link { index }) => {
            addrs |= RTA_GATEWAY;
            sas.push((RTA_GATEWAY, sockaddr_dl(flavor, index)));
        }
        None => {}
    }
    sas.push((RTA_NETMASK, sockaddr_in6(flavor, req.dst.netmask(), 0)));
    if let Some(i) = req.ifp {
        addrs |= RTA_IFP;
        sas.push((RTA_IFP, sockaddr_dl(flavor, i)));
    }
    let total = o.hdr_len
        + sas
            .iter()
            .map(|(_, s)| flavor.sa_size(s.len()))
            .sum::<usize>();
    let mut b = vec![0u8; total];
    put(&mut b, o.msglen, (total as u16).to_ne_bytes());
    b[o.version] = RTM_VERSION;
    b[o.kind] = req.kind;
    put(&mut b, o.index, req.ifp.unwrap_or(0).to_ne_bytes());
    put(&mut b, o.flags, flags.to_ne_bytes());
    put(&mut b, o.addrs, addrs.to_ne_bytes());
    put(&mut b, o.pid, req.pid.to_ne_bytes());
    put(&mut b, o.seq, req.seq.to_ne_bytes());
    if let Some(e) = req.expire {
        match flavor {
            Flavor::FreeBsd => {
                put(&mut b, o.inits, u64::from(RTV_EXPIRE).to_ne_bytes());
                put(&mut b, o.expire, e.to_ne_bytes());
            }
            Flavor::MacOs => {
                put(&mut b, o.inits, RTV_EXPIRE.to_ne_bytes());
                put(
                    &mut b,
                    o.expire,
                    (e.min(i32::MAX as u64) as i32).to_ne_bytes(),
                );
            }
        }
    }
    let mut off = o.hdr_len;
    for (_, s) in &sas {
        b[off..off + s.len()].copy_from_slice(s);
        off += flavor.sa_size(s.len());
    }
    b
}

/// A message read back from the routing socket or a route dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtReply {
    pub kind: u8,
    pub index: u16,
    pub flags: i32,
    pub addrs: i32,
    pub pid: i32,
    pub seq: i32,
    pub errno: i32,
    pub dst: Option<Ipv6Addr>,
    pub prefix_len: Option<u8>,
    pub gateway: Option<Gateway>,
    pub expire: u64,
}

/// Why a message could not be parsed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("routing message at offset {offset}: {what}")]
    Bad { offset: usize, what: &'static str },
}

fn get<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[off..off + N]);
    a
}

/// Parses a sequence of messages (one reply, or a whole `NET_RT_DUMP`).
pub fn parse(flavor: Flavor, buf: &[u8]) -> Result<Vec<RtReply>, ParseError> {
    let o = flavor.offsets();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let bad = |what| ParseError::Bad { offset: pos, what };
        if buf.len() - pos < 4 {
            return Err(bad("truncated header"));
        }
        let len = usize::from(u16::from_ne_bytes(get(buf, pos)));
        if len < 4 || pos + len > buf.len() {
            return Err(bad("message length runs past the end"));
        }
        let m = &buf[pos..pos + len];
        pos += len;
        if m[o.version] != RTM_VERSION || len < o.hdr_len {
            // Other versions or message types (interface announcements): skip.
            continue;
        }
        let mut r = RtReply {
            kind: m[o.kind],
            index: u16::from_ne_bytes(get(m, o.index)),
            flags: i32::from_ne_bytes(get(m, o.flags)),
            addrs: i32::from_ne_bytes(get(m, o.addrs)),
            pid: i32::from_ne_bytes(get(m, o.pid)),
            seq: i32::from_ne_bytes(get(m, o.seq)),
            errno: i32::from_ne_bytes(get(m, o.errno)),
            expire: match flavor {
                Flavor::FreeBsd => u64::from_ne_bytes(get(m, o.expire)),
                Flavor::MacOs => i32::from_ne_bytes(get(m, o.expire)).max(0) as u64,
            },
            ..Default::default()
        };
        let mut off = o.hdr_len;
        for bit in 0..8 {
            let flag = 1 << bit;
            if r.addrs & flag == 0 {
                continue;
            }
            if off >= m.len() {
                return Err(ParseError::Bad {
                    offset: pos - len + off,
                    what: "socket address past the end of the message",
                });
            }
            let sa_len = usize::from(m[off]);
            let end = (off + sa_len).min(m.len());
            let sa = &m[off..end];
            // A netmask may be shortened (trailing zero bytes dropped) and have no family.
            let mut full = [0u8; SOCKADDR_IN6_LEN];
            let n = sa.len().min(SOCKADDR_IN6_LEN);
            full[..n].copy_from_slice(&sa[..n]);
            let family = full[1];
            let addr6 = || {
                let mut a: [u8; 16] = get(&full, 8);
                let scope = u32::from_ne_bytes(get(&full, 24));
                let mut scope_id = scope;
                if super::is_link_local(Ipv6Addr::from(a)) && flavor == Flavor::MacOs {
                    let embedded = u16::from_be_bytes([a[2], a[3]]);
                    if embedded != 0 {
                        scope_id = u32::from(embedded);
                    }
                    a[2] = 0;
                    a[3] = 0;
                }
                (Ipv6Addr::from(a), scope_id)
            };
            match flag {
                RTA_DST if family == flavor.af_inet6() => r.dst = Some(addr6().0),
                RTA_GATEWAY if family == flavor.af_inet6() => {
                    let (addr, scope_id) = addr6();
                    r.gateway = Some(Gateway::Inet6 { addr, scope_id });
                }
                RTA_GATEWAY if family == AF_LINK && sa.len() >= 4 => {
                    r.gateway = Some(Gateway::Link {
                        index: u16::from_ne_bytes(get(sa, 2)),
                    });
                }
                RTA_NETMASK => {
                    let mask = u128::from_be_bytes(get(&full, 8));
                    r.prefix_len = Some(mask.count_ones() as u8);
                }
                _ => {}
            }
            off += flavor.sa_size(sa_len);
        }
        if r.prefix_len.is_none() && r.flags & RTF_HOST != 0 {
            r.prefix_len = Some(128);
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field offsets of the systems' headers, written out from `sys/net/route.h` (FreeBSD 14,
    /// amd64) and `net/route.h` (macOS 14), checked against the mirror structs.
    #[test]
    fn header_layouts_match_the_system_headers() {
        let f = Flavor::FreeBsd.offsets();
        assert_eq!(
            (
                f.msglen, f.version, f.kind, f.index, f.flags, f.addrs, f.pid, f.seq, f.errno,
                f.inits, f.expire, f.hdr_len
            ),
            (0, 2, 3, 4, 8, 12, 16, 20, 24, 32, 64, 152)
        );
        let m = Flavor::MacOs.offsets();
        assert_eq!(
            (
                m.msglen, m.version, m.kind, m.index, m.flags, m.addrs, m.pid, m.seq, m.errno,
                m.inits, m.expire, m.hdr_len
            ),
            (0, 2, 3, 4, 8, 12, 16, 20, 24, 32, 48, 92)
        );
        assert_eq!(Flavor::FreeBsd.sa_size(28), 32);
        assert_eq!(Flavor::FreeBsd.sa_size(54), 56);
        assert_eq!(Flavor::FreeBsd.sa_size(0), 8);
        assert_eq!(Flavor::MacOs.sa_size(28), 28);
        assert_eq!(Flavor::MacOs.sa_size(20), 20);
    }

    fn req(gw: Option<Gateway>, ifp: Option<u16>) -> RtRequest {
        RtRequest {
            kind: RTM_ADD,
            dst: "fd00:1:2::/48".parse().unwrap(),
            gateway: gw,
            ifp,
            expire: None,
            pid: 4242,
            seq: 7,
        }
    }

    /// The exact bytes of an interface route on FreeBSD: header, DST, GATEWAY (sockaddr_dl),
    /// NETMASK, each at 8-byte boundaries.
    #[test]
    fn freebsd_interface_route_bytes() {
        let b = build(
            Flavor::FreeBsd,
            &req(Some(Gateway::Link { index: 3 }), None),
        );
        assert_eq!(b.len(), 152 + 32 + 56 + 32);
        assert_eq!(u16::from_ne_bytes([b[0], b[1]]) as usize, b.len());
        assert_eq!((b[2], b[3]), (RTM_VERSION, RTM_ADD));
        assert_eq!(i32::from_ne_bytes(get(&b, 8)), RTF_UP | RTF_STATIC);
        assert_eq!(
            i32::from_ne_bytes(get(&b, 12)),
            RTA_DST | RTA_GATEWAY | RTA_NETMASK
        );
        assert_eq!(i32::from_ne_bytes(get(&b, 16)), 4242);
        assert_eq!(i32::from_ne_bytes(get(&b, 20)), 7);
        let dst = &b[152..184];
        assert_eq!(&dst[..2], &[28, 28]);
        assert_eq!(
            &dst[8..24],
            &"fd00:1:2::".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert!(dst[28..].iter().all(|x| *x == 0), "padding is zero");
        let gw = &b[184..240];
        assert_eq!(&gw[..4], &[54, AF_LINK, 3, 0]);
        let mask = &b[240..272];
        assert_eq!(&mask[..2], &[28, 28]);
        assert_eq!(
            &mask[8..24],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    /// macOS: 4-byte alignment, AF_INET6 = 30, a link-local gateway's scope embedded in bytes
    /// 2-3 (KAME form), RTA_IFP after the netmask, and rmx_expire with RTV_EXPIRE.
    #[test]
    fn macos_gateway_route_bytes() {
        let mut r = req(
            Some(Gateway::Inet6 {
                addr: "fe80::1".parse().unwrap(),
                scope_id: 5,
            }),
            Some(5),
        );
        r.expire = Some(1_000_000);
        let b = build(Flavor::MacOs, &r);
        assert_eq!(b.len(), 92 + 28 + 28 + 28 + 20);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 5, "rtm_index");
        assert_eq!(
            i32::from_ne_bytes(get(&b, 8)),
            RTF_UP | RTF_STATIC | RTF_GATEWAY
        );
        assert_eq!(
            i32::from_ne_bytes(get(&b, 12)),
            RTA_DST | RTA_GATEWAY | RTA_NETMASK | RTA_IFP
        );
        assert_eq!(u32::from_ne_bytes(get(&b, 32)), RTV_EXPIRE);
        assert_eq!(i32::from_ne_bytes(get(&b, 48)), 1_000_000);
        let gw = &b[92 + 28..92 + 56];
        assert_eq!(&gw[..2], &[28, 30]);
        assert_eq!(&gw[8..12], &[0xfe, 0x80, 0, 5]);
        assert_eq!(
            u32::from_ne_bytes(get(gw, 24)),
            0,
            "scope moved into the address"
        );
        let ifp = &b[92 + 84..];
        assert_eq!(&ifp[..4], &[20, AF_LINK, 5, 0]);
    }

    #[test]
    fn host_route_flag_and_round_trip() {
        for flavor in [Flavor::FreeBsd, Flavor::MacOs] {
            let mut r = req(
                Some(Gateway::Inet6 {
                    addr: "fe80::1".parse().unwrap(),
                    scope_id: 2,
                }),
                Some(2),
            );
            r.dst = "fd00::5/128".parse().unwrap();
            r.expire = Some(99);
            let b = build(flavor, &r);
            // Two messages back to back, as in a dump.
            let mut two = b.clone();
            two.extend_from_slice(&build(flavor, &req(Some(Gateway::Link { index: 9 }), None)));
            let p = parse(flavor, &two).unwrap();
            assert_eq!(p.len(), 2);
            assert!(p[0].flags & RTF_HOST != 0);
            assert_eq!(p[0].dst, Some("fd00::5".parse().unwrap()));
            assert_eq!(p[0].prefix_len, Some(128));
            assert_eq!(
                p[0].gateway,
                Some(Gateway::Inet6 {
                    addr: "fe80::1".parse().unwrap(),
                    scope_id: 2
                })
            );
            assert_eq!((p[0].pid, p[0].seq, p[0].expire), (4242, 7, 99));
            assert_eq!(p[1].prefix_len, Some(48));
            assert_eq!(p[1].gateway, Some(Gateway::Link { index: 9 }));
        }
    }

    #[test]
    fn parse_rejects_truncated_and_accepts_short_netmask() {
        let b = build(
            Flavor::FreeBsd,
            &req(Some(Gateway::Link { index: 3 }), None),
        );
        assert!(parse(Flavor::FreeBsd, &b[..b.len() - 1]).is_err());
        assert!(parse(Flavor::FreeBsd, &b[..3]).is_err());
        // A kernel-shortened netmask: sa_len 14 (family 0, 6 mask bytes = /48).
        let mut s = b[..152 + 32 + 56].to_vec();
        let mut mask = vec![0u8; 16];
        mask[0] = 14;
        mask[8..14].copy_from_slice(&[0xff; 6]);
        s.extend_from_slice(&mask);
        let n = s.len() as u16;
        s[..2].copy_from_slice(&n.to_ne_bytes());
        let p = parse(Flavor::FreeBsd, &s).unwrap();
        assert_eq!(p[0].prefix_len, Some(48));
    }
}
