//! Raw link-layer I/O: an `AF_PACKET` socket bound to one interface, for sending frames built
//! with the `wire` emitter (any Ethernet source, any NDP message) and receiving frames with the
//! kernel's receive timestamps. Used by `scan`, `send`, `sim` and the attack tests.
//! Needs CAP_NET_RAW.
use std::{
    ffi::CString,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    time::{Duration, SystemTime},
};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetIoError {
    #[error("interface `{0}` not found")]
    UnknownInterface(String),
    #[error("opening a packet socket on `{iface}` needs CAP_NET_RAW (or root)")]
    Privileges { iface: String },
    #[error("packet socket on `{iface}`: {op}: {source}")]
    Io {
        iface: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

/// ETH_P_ALL / ETH_P_IPV6 in network byte order, as `sll_protocol` wants them.
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_ALL: u16 = 0x0003;

/// Which frames a [`PacketSocket`] receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// IPv6 frames only (EtherType 0x86dd; VLAN-tagged frames arrive untagged on most NICs).
    Ipv6,
    /// Every frame, including copies of frames other sockets on this host send (the kernel
    /// does not loop a socket's own frames back to it).
    All,
    /// No frames: a socket used only for sending.
    Nothing,
}

/// A frame received with its kernel timestamp.
#[derive(Clone, Debug)]
pub struct Received {
    pub len: usize,
    /// Kernel receive time (SO_TIMESTAMPNS), or the time of the read if the kernel gave none.
    pub ts: SystemTime,
    /// `PACKET_OUTGOING` frames are ones this host sent.
    pub outgoing: bool,
}

/// An `AF_PACKET`/`SOCK_RAW` socket bound to one interface.
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
    iface: String,
}

impl PacketSocket {
    /// Opens a socket on `iface` receiving `capture` frames, with kernel receive timestamps.
    pub fn open(iface: &str, capture: Capture) -> Result<Self, NetIoError> {
        let c = CString::new(iface).map_err(|_| NetIoError::UnknownInterface(iface.into()))?;
        // SAFETY: valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) } as i32;
        if ifindex == 0 {
            return Err(NetIoError::UnknownInterface(iface.into()));
        }
        let proto = match capture {
            Capture::Ipv6 => ETH_P_IPV6,
            Capture::All => ETH_P_ALL,
            Capture::Nothing => 0,
        }
        .to_be();
        // Created with protocol 0 (no frames yet) and bound with the protocol below: a socket
        // created with a protocol gets its receive hook at once, and bind(2) would take it
        // off again first, which waits out an RCU grace period (about 10 ms).
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EPERM) {
                return Err(NetIoError::Privileges {
                    iface: iface.into(),
                });
            }
            return Err(NetIoError::Io {
                iface: iface.into(),
                op: "socket",
                source: e,
            });
        }
        // SAFETY: raw is a fresh, owned descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = Self {
            fd,
            ifindex,
            iface: iface.into(),
        };
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid starting value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex;
        // SAFETY: sll is a valid sockaddr_ll of the given length.
        let rc = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(sock.err("bind"));
        }
        let one: libc::c_int = 1;
        // SAFETY: valid option value pointer and length.
        let rc = unsafe {
            libc::setsockopt(
                sock.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        if rc < 0 {
            return Err(sock.err("setsockopt(SO_TIMESTAMPNS)"));
        }
        Ok(sock)
    }

    /// The interface's hardware address (from `getsockname`, so namespace-correct).
    pub fn mac(&self) -> Result<[u8; 6], NetIoError> {
        // SAFETY: sockaddr_ll is plain data; the kernel fills at most `len` bytes.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        // SAFETY: valid pointers to sll and len.
        let rc = unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut sll as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(self.err("getsockname"));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&sll.sll_addr[..6]);
        Ok(mac)
    }

    /// Asks for a receive buffer of `bytes` (SO_RCVBUFFORCE as root, else SO_RCVBUF, which the
    /// kernel caps at net.core.rmem_max). For bursts of replies at high probe rates.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<(), NetIoError> {
        let v = bytes.min(i32::MAX as usize) as libc::c_int;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: valid option value pointer and length.
            let rc = unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as u32,
                )
            };
            if rc == 0 {
                return Ok(());
            }
        }
        Err(self.err("setsockopt(SO_RCVBUF)"))
    }

    /// Frames the kernel dropped for this socket (receive buffer full) since the last call
    /// (PACKET_STATISTICS resets on read).
    pub fn take_drops(&self) -> Result<u32, NetIoError> {
        // SAFETY: tpacket_stats is plain data of the stated length.
        let mut st: libc::tpacket_stats = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as u32;
        // SAFETY: valid pointers to st and len.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(self.err("getsockopt(PACKET_STATISTICS)"));
        }
        Ok(st.tp_drops)
    }

    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    fn err(&self, op: &'static str) -> NetIoError {
        NetIoError::Io {
            iface: self.iface.clone(),
            op,
            source: io::Error::last_os_error(),
        }
    }

    /// Sends one complete Ethernet frame as given (the source MAC is not rewritten).
    pub fn send(&self, frame: &[u8]) -> Result<(), NetIoError> {
        loop {
            // SAFETY: frame is a valid readable buffer of its length.
            let n =
                unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                // The queue is full: wait until writable (bounded) and try again.
                Some(libc::EAGAIN) | Some(libc::ENOBUFS) => {
                    if !self.wait(libc::POLLOUT, Duration::from_millis(100))? {
                        return Err(NetIoError::Io {
                            iface: self.iface.clone(),
                            op: "send",
                            source: e,
                        });
                    }
                }
                _ => {
                    return Err(NetIoError::Io {
                        iface: self.iface.clone(),
                        op: "send",
                        source: e,
                    })
                }
            }
        }
    }

    /// Waits up to `timeout` for a frame; `Ok(None)` on timeout.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> Result<Option<Received>, NetIoError> {
        if !self.wait(libc::POLLIN, timeout)? {
            return Ok(None);
        }
        self.try_recv(buf)
    }

    /// Receives a frame if one is queued, without waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<Option<Received>, NetIoError> {
        // SAFETY: zeroed sockaddr_ll / msghdr are valid; every pointer below refers to live
        // buffers of the stated lengths for the duration of the call.
        unsafe {
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut cmsg = [0u64; 16];
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cmsg.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&cmsg);
            let n = libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC);
            if n < 0 {
                let e = io::Error::last_os_error();
                if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) {
                    return Ok(None);
                }
                return Err(NetIoError::Io {
                    iface: self.iface.clone(),
                    op: "recvmsg",
                    source: e,
                });
            }
            let mut ts = None;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let t = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    ts = Some(
                        SystemTime::UNIX_EPOCH + Duration::new(t.tv_sec as u64, t.tv_nsec as u32),
                    );
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            Ok(Some(Received {
                len: (n as usize).min(buf.len()),
                ts: ts.unwrap_or_else(SystemTime::now),
                outgoing: sll.sll_pkttype == libc::PACKET_OUTGOING,
            }))
        }
    }

    /// Polls for `events`; `Ok(false)` on timeout.
    fn wait(&self, events: i16, timeout: Duration) -> Result<bool, NetIoError> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                return Ok(false);
            }
            return Err(NetIoError::Io {
                iface: self.iface.clone(),
                op: "poll",
                source: e,
            });
        }
        Ok(rc > 0)
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use v6probe_lab::{veth, Netns};

    #[test]
    fn unknown_interface_is_named() {
        match PacketSocket::open("v6p-does-not-exist", Capture::All) {
            Err(NetIoError::UnknownInterface(n)) => assert_eq!(n, "v6p-does-not-exist"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a missing interface"),
        }
    }

    /// Sends a frame on one end of a veth pair and receives it, timestamped, on the other. The
    /// sockets are opened inside the namespaces by a helper thread that enters them.
    #[test]
    #[ignore = "needs root: network namespaces and packet sockets"]
    fn frame_crosses_a_veth_pair_with_timestamp() {
        v6probe_lab::require_privileges();
        let a = Netns::new("netio-a").unwrap();
        let b = Netns::new("netio-b").unwrap();
        veth(&a, "v6p-n0", &b, "v6p-n1").unwrap();
        let frame =
            v6probe_lab::frame::FrameSpec::icmp(135, 0, &v6probe_lab::frame::ns_body()).build();
        let a_name = a.name().to_string();
        let expected = frame.clone();
        let got = v6probe_lab::in_netns(b.name(), move || {
            let rx = PacketSocket::open("v6p-n1", Capture::Ipv6).unwrap();
            let sent = frame.clone();
            let sender = std::thread::spawn(move || {
                v6probe_lab::in_netns(&a_name, move || {
                    let tx = PacketSocket::open("v6p-n0", Capture::Ipv6).unwrap();
                    std::thread::sleep(Duration::from_millis(100));
                    tx.send(&sent).unwrap();
                })
                .unwrap();
            });
            let mut buf = vec![0u8; 2048];
            let deadline = Instant::now() + Duration::from_secs(3);
            let mut got = None;
            while Instant::now() < deadline {
                if let Some(r) = rx.recv(&mut buf, Duration::from_millis(200)).unwrap() {
                    if buf[..r.len] == expected[..] {
                        got = Some(r);
                        break;
                    }
                }
            }
            sender.join().unwrap();
            got
        })
        .unwrap();
        let r = got.expect("frame received");
        assert!(!r.outgoing);
        let age = SystemTime::now().duration_since(r.ts).unwrap();
        assert!(age < Duration::from_secs(5), "timestamp {age:?} old");
    }
}
