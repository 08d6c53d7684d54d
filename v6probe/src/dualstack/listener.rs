//! A dual-stack TCP listener built with socket2, and the bounds that keep it serving.
//!
//! IPV6_V6ONLY is always set explicitly, never left to `net.ipv6.bindv6only`. Where one
//! dual-stack socket is not possible (the option is refused, or IPv6 is missing), the listener
//! falls back to two sockets (`[::]` IPv6-only and `0.0.0.0`) on the same port. Peers are
//! reported with IPv4-mapped addresses (`::ffff:198.18.1.2`) shown as IPv4.
//!
//! Under load a server must not stop: [`accept_error_is_transient`] says which accept errors
//! (out of descriptors, memory, a peer gone) mean "back off and try again" ([`Backoff`]);
//! [`echo`] bounds a session by an idle timeout and by an absolute limit that bytes trickled
//! one at a time cannot extend.
use std::{
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use serde::Serialize;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::{resolve::Family, Error};

/// How the listener is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One IPv6 socket with IPV6_V6ONLY=0: IPv4 peers arrive as IPv4-mapped addresses.
    DualStack,
    /// One IPv6 socket with IPV6_V6ONLY=1.
    Ipv6Only,
    /// `[::]` IPv6-only plus `0.0.0.0`, same port.
    TwoSockets,
    /// One IPv4 socket.
    Ipv4,
}

/// Whether to try one dual-stack socket first or go straight to two sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Auto,
    TwoSockets,
}

/// What the listener is bound to (`"kind":"listening"`).
#[derive(Clone, Debug, Serialize)]
pub struct ListenInfo {
    pub addrs: Vec<SocketAddr>,
    pub mode: Mode,
    /// The IPV6_V6ONLY value set on the IPv6 socket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v6only: Option<bool>,
    /// Why the listener fell back to two sockets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// An accepted peer (`"kind":"peer"`).
#[derive(Clone, Debug, Serialize)]
pub struct Peer {
    /// The peer, IPv4-mapped addresses shown as IPv4.
    pub peer: SocketAddr,
    pub family: Family,
    /// The peer arrived as an IPv4-mapped address on the dual-stack socket.
    pub mapped: bool,
    pub local: SocketAddr,
}

/// A bound, listening set of sockets.
#[derive(Debug)]
pub struct DualListener {
    sockets: Vec<TcpListener>,
    info: ListenInfo,
}

fn map_bind_error(addr: SocketAddr, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => Error::PortInUse { addr },
        Some(libc::EADDRNOTAVAIL) => Error::AddressNotLocal { addr },
        _ => Error::Listen {
            addr,
            what: "bind",
            source: e,
        },
    }
}

fn listen_socket(addr: SocketAddr, v6only: Option<bool>) -> Result<Socket, Error> {
    let io = |what| move |source| Error::Listen { addr, what, source };
    // socket2 sets close-on-exec on every platform.
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(io("socket"))?;
    sock.set_nonblocking(true).map_err(io("O_NONBLOCK"))?;
    if let Some(v) = v6only {
        sock.set_only_v6(v).map_err(io("IPV6_V6ONLY"))?;
    }
    sock.set_reuse_address(true).map_err(io("SO_REUSEADDR"))?;
    sock.bind(&SockAddr::from(addr))
        .map_err(|e| map_bind_error(addr, e))?;
    sock.listen(1024).map_err(io("listen"))?;
    Ok(sock)
}

fn to_tokio(addr: SocketAddr, s: Socket) -> Result<TcpListener, Error> {
    TcpListener::from_std(s.into()).map_err(|source| Error::Listen {
        addr,
        what: "registering with tokio",
        source,
    })
}

impl DualListener {
    /// Binds `addr`. For an IPv6 address, `v6only` is the IPV6_V6ONLY value to set (default
    /// `false`: dual-stack). For an IPv4 address it must not be `true`.
    pub fn bind(addr: SocketAddr, v6only: Option<bool>, strategy: Strategy) -> Result<Self, Error> {
        if addr.is_ipv4() {
            if v6only == Some(true) {
                return Err(Error::V6OnlyOnIpv4 { addr, v6only: true });
            }
            let s = listen_socket(addr, None)?;
            return Ok(Self {
                sockets: vec![to_tokio(addr, s)?],
                info: ListenInfo {
                    addrs: vec![addr],
                    mode: Mode::Ipv4,
                    v6only: None,
                    fallback_reason: None,
                },
            });
        }
        let v6only = v6only.unwrap_or(false);
        if v6only {
            let s = listen_socket(addr, Some(true))?;
            let local = local_of(&s).unwrap_or(addr);
            return Ok(Self {
                sockets: vec![to_tokio(addr, s)?],
                info: ListenInfo {
                    addrs: vec![local],
                    mode: Mode::Ipv6Only,
                    v6only: Some(true),
                    fallback_reason: None,
                },
            });
        }
        let fallback_reason = match strategy {
            Strategy::TwoSockets => "requested".to_string(),
            Strategy::Auto => match listen_socket(addr, Some(false)) {
                Ok(s) => {
                    let local = local_of(&s).unwrap_or(addr);
                    return Ok(Self {
                        sockets: vec![to_tokio(addr, s)?],
                        info: ListenInfo {
                            addrs: vec![local],
                            mode: Mode::DualStack,
                            v6only: Some(false),
                            fallback_reason: None,
                        },
                    });
                }
                // Port in use, address not local: the same on two sockets; report it.
                Err(e @ (Error::PortInUse { .. } | Error::AddressNotLocal { .. })) => {
                    return Err(e)
                }
                Err(e) if addr.ip().is_unspecified() => {
                    tracing::info!(error = %e, "no dual-stack socket; using two sockets");
                    e.to_string()
                }
                Err(e) => return Err(e),
            },
        };
        if !addr.ip().is_unspecified() {
            return Err(Error::Listen {
                addr,
                what: "two sockets need the unspecified address",
                source: io::Error::from(io::ErrorKind::InvalidInput),
            });
        }
        let s6 = listen_socket(addr, Some(true))?;
        let local6 = local_of(&s6).unwrap_or(addr);
        let addr4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), local6.port());
        let s4 = listen_socket(addr4, None)?;
        Ok(Self {
            sockets: vec![to_tokio(addr, s6)?, to_tokio(addr4, s4)?],
            info: ListenInfo {
                addrs: vec![local6, addr4],
                mode: Mode::TwoSockets,
                v6only: Some(true),
                fallback_reason: Some(fallback_reason),
            },
        })
    }

    pub fn info(&self) -> &ListenInfo {
        &self.info
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.info.addrs.first().map_or(0, SocketAddr::port)
    }

    /// Accepts the next peer on any of the sockets.
    pub async fn accept(&self) -> io::Result<(TcpStream, Peer)> {
        let (stream, peer) = match self.sockets.as_slice() {
            [one] => one.accept().await?,
            [a, b] => tokio::select! {
                r = a.accept() => r?,
                r = b.accept() => r?,
            },
            _ => return Err(io::Error::other("listener has no socket")),
        };
        let local = stream.local_addr()?;
        Ok((stream, describe_peer(peer, local)))
    }
}

/// Whether a failed `accept()` leaves the listener usable, so it should wait and accept again:
/// out of descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM), the connection gone before
/// it was taken (ECONNABORTED, EPROTO), a firewall refusal (EPERM), an interrupted call, and
/// the network errors accept(2) says to treat like EAGAIN. Anything else is a bug or a broken
/// socket.
pub fn accept_error_is_transient(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Interrupted || e.kind() == io::ErrorKind::ConnectionAborted {
        return true;
    }
    matches!(
        e.raw_os_error(),
        Some(
            libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
                | libc::ECONNABORTED
                | libc::EPROTO
                | libc::EPERM
                | libc::EINTR
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
                | libc::ETIMEDOUT
        )
    )
}

/// Exponential back-off between retries of a failing accept: 10 ms doubling to 1 s, back to
/// the start after a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(10);
    pub const MAX: Duration = Duration::from_secs(1);

    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// How long to wait after this failure.
    pub fn failed(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// How long an echo session may last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Closed after this long without a byte from the peer.
    pub idle: Duration,
    /// Closed after this long whatever the peer does (bytes trickled one by one reset the
    /// idle timer, not this one; a peer that does not read is cut here too).
    pub total: Duration,
}

/// How an echo session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// The peer closed.
    Closed,
    /// A read or write failed (reset, ...).
    Error,
    /// Nothing received for [`SessionLimits::idle`].
    Idle,
    /// [`SessionLimits::total`] reached.
    Limit,
}

/// Echoes what the peer sends until it closes, fails, goes idle or reaches the limit.
pub async fn echo(mut stream: TcpStream, limits: SessionLimits) -> SessionEnd {
    let deadline = tokio::time::Instant::now() + limits.total;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            r = tokio::time::timeout(limits.idle, stream.read(&mut buf)) => match r {
                Ok(Ok(0)) => return SessionEnd::Closed,
                Ok(Ok(n)) => n,
                Ok(Err(_)) => return SessionEnd::Error,
                Err(_) => return SessionEnd::Idle,
            },
            _ = tokio::time::sleep_until(deadline) => return SessionEnd::Limit,
        };
        tokio::select! {
            r = stream.write_all(&buf[..n]) => {
                if r.is_err() {
                    return SessionEnd::Error;
                }
            }
            _ = tokio::time::sleep_until(deadline) => return SessionEnd::Limit,
        }
    }
}

fn local_of(s: &Socket) -> Option<SocketAddr> {
    s.local_addr().ok().and_then(|a| a.as_socket())
}

/// A peer with an IPv4-mapped address shown as IPv4.
pub fn describe_peer(peer: SocketAddr, local: SocketAddr) -> Peer {
    let canon = peer.ip().to_canonical();
    let mapped = peer.is_ipv6() && canon.is_ipv4();
    Peer {
        peer: SocketAddr::new(canon, peer.port()),
        family: Family::of(&canon),
        mapped,
        local: SocketAddr::new(local.ip().to_canonical(), local.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_peers_shown_as_ipv4() {
        let p = describe_peer(
            "[::ffff:198.18.1.2]:40000".parse().unwrap(),
            "[::ffff:198.18.2.2]:80".parse().unwrap(),
        );
        assert_eq!(p.peer, "198.18.1.2:40000".parse().unwrap());
        assert_eq!(p.family, Family::Ipv4);
        assert!(p.mapped);
        assert_eq!(p.local, "198.18.2.2:80".parse().unwrap());
        let p = describe_peer(
            "[fd00::2]:1".parse().unwrap(),
            "[fd00::1]:80".parse().unwrap(),
        );
        assert_eq!((p.family, p.mapped), (Family::Ipv6, false));
    }

    #[tokio::test]
    async fn dual_stack_socket_serves_both_families_on_loopback() {
        let l = DualListener::bind("[::]:0".parse().unwrap(), None, Strategy::Auto).unwrap();
        assert_eq!(l.info().mode, Mode::DualStack);
        let port = l.port();
        for target in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
            let c = tokio::spawn(async move { TcpStream::connect(target).await });
            let (_s, peer) = l.accept().await.unwrap();
            c.await.unwrap().unwrap();
            assert!(peer.peer.ip().is_loopback(), "{peer:?}");
        }
    }

    #[tokio::test]
    async fn v6only_refuses_ipv4_and_two_sockets_serve_both() {
        let l = DualListener::bind("[::]:0".parse().unwrap(), Some(true), Strategy::Auto).unwrap();
        assert_eq!(l.info().mode, Mode::Ipv6Only);
        let e = TcpStream::connect(("127.0.0.1", l.port()))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);

        let l2 = DualListener::bind("[::]:0".parse().unwrap(), None, Strategy::TwoSockets).unwrap();
        assert_eq!(l2.info().mode, Mode::TwoSockets);
        assert_eq!(l2.info().addrs.len(), 2);
        let port = l2.port();
        let c = tokio::spawn(async move { TcpStream::connect(("127.0.0.1", port)).await });
        let (_s, peer) = l2.accept().await.unwrap();
        c.await.unwrap().unwrap();
        assert_eq!((peer.family, peer.mapped), (Family::Ipv4, false));
    }

    #[test]
    fn clear_errors_for_port_in_use_and_foreign_address() {
        let l = std::net::TcpListener::bind("[::1]:0").unwrap();
        let addr = l.local_addr().unwrap();
        let e = DualListener::bind(addr, Some(true), Strategy::Auto).unwrap_err();
        assert!(matches!(e, Error::PortInUse { .. }), "{e}");
        assert!(e.to_string().contains("already in use"), "{e}");
        let foreign: SocketAddr = "[2001:db8::dead]:0".parse().unwrap();
        let e = DualListener::bind(foreign, None, Strategy::Auto).unwrap_err();
        assert!(matches!(e, Error::AddressNotLocal { .. }), "{e}");
        let e = DualListener::bind("127.0.0.1:0".parse().unwrap(), Some(true), Strategy::Auto)
            .unwrap_err();
        assert!(matches!(e, Error::V6OnlyOnIpv4 { .. }));
    }

    #[test]
    fn descriptor_and_memory_exhaustion_are_transient_a_bad_socket_is_not() {
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ECONNABORTED,
        ] {
            assert!(accept_error_is_transient(&io::Error::from_raw_os_error(
                errno
            )));
        }
        for errno in [libc::EBADF, libc::EINVAL, libc::ENOTSOCK] {
            assert!(!accept_error_is_transient(&io::Error::from_raw_os_error(
                errno
            )));
        }
        let mut b = Backoff::new();
        let waits: Vec<_> = (0..9).map(|_| b.failed()).collect();
        assert_eq!(waits[0], Backoff::FIRST);
        assert_eq!(waits[1], Duration::from_millis(20));
        assert_eq!(*waits.last().unwrap(), Backoff::MAX);
        b.succeeded();
        assert_eq!(b.failed(), Backoff::FIRST);
    }

    /// Loopback: a peer trickling a byte every 50 ms never goes idle (200 ms), but the session
    /// still ends at its 600 ms limit; an idle peer ends at the idle timeout; an echo works.
    #[tokio::test]
    async fn trickled_bytes_cannot_keep_a_session_forever() {
        let l = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let limits = SessionLimits {
            idle: Duration::from_millis(200),
            total: Duration::from_millis(600),
        };
        let server = tokio::spawn(async move {
            let mut ends = Vec::new();
            for _ in 0..3 {
                let (s, _) = l.accept().await.unwrap();
                ends.push(echo(s, limits).await);
            }
            ends
        });
        // 1. Trickle: at most 100 bytes, one per 50-100 ms, stopped by the server closing.
        let mut c = TcpStream::connect(("::1", port)).await.unwrap();
        let mut echoed = 0;
        let mut byte = [0u8; 1];
        for _ in 0..100 {
            if c.write_all(b"x").await.is_err() {
                break;
            }
            match tokio::time::timeout(Duration::from_millis(50), c.read(&mut byte)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => echoed += 1,
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(echoed >= 1, "the session echoed");
        assert!(echoed < 100, "the session was cut before the trickle ended");
        // 2. Idle.
        let c2 = TcpStream::connect(("::1", port)).await.unwrap();
        // 3. Closed by the peer.
        let c3 = TcpStream::connect(("::1", port)).await.unwrap();
        drop(c3);
        let ends = server.await.unwrap();
        drop((c, c2));
        assert_eq!(
            ends,
            vec![SessionEnd::Limit, SessionEnd::Idle, SessionEnd::Closed]
        );
    }
}
