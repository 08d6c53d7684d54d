//! A delay bridge for labs on kernels without netem: frames read from one interface with a
//! packet socket are held for a fixed time, then written to the other, both ways.
//!
//! Each direction has a reader thread (it timestamps every frame and puts it in a bounded
//! queue; a frame that finds the queue full is dropped and counted) and a writer thread (it
//! sends each frame once its time has come, in order). The sockets carry a virtio-net header
//! (`PACKET_VNET_HDR`), so a frame whose checksum the sender left to the device (veth keeps it
//! partial across namespaces) or a GSO frame crosses the bridge as it came, rather than with a
//! checksum nobody fills in. The bridge's own namespace must stay silent: its interfaces need
//! IPv6 disabled and no addresses (see [`crate::dualstack::DualLab::with_delay`]). Everything
//! stops when the bridge is dropped (threads poll a stop flag every [`POLL`]).
use std::{
    io,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use crate::Netns;

/// How often the threads look at the stop flag (the receive timeout, the queue wait).
pub const POLL: Duration = Duration::from_millis(20);
/// Bytes read per frame: a virtio-net header and the largest GSO frame a veth passes.
const BUF: usize = 10 + 65_536 + 64;

/// What crossed the bridge, one direction.
#[derive(Debug, Default)]
pub struct DirectionStats {
    /// Frames written to the other side.
    pub forwarded: AtomicU64,
    /// Frames dropped because the queue was full.
    pub queue_full: AtomicU64,
    /// Frames the other side's socket refused (e.g. larger than its MTU).
    pub send_errors: AtomicU64,
}

/// A running delay bridge between two interfaces of one namespace; stops on drop.
#[derive(Debug)]
pub struct DelayBridge {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
    /// `[a -> b, b -> a]`.
    stats: [Arc<DirectionStats>; 2],
    delay: Duration,
}

impl DelayBridge {
    /// Starts bridging `a` and `b` (interfaces of `ns`), holding each frame `delay` in either
    /// direction, with at most `queue` frames waiting per direction.
    pub fn start(ns: &Netns, a: &str, b: &str, delay: Duration, queue: usize) -> io::Result<Self> {
        let (a_name, b_name) = (a.to_string(), b.to_string());
        let (fa, fb) = crate::in_netns(ns.name(), move || -> io::Result<(OwnedFd, OwnedFd)> {
            Ok((open(&a_name)?, open(&b_name)?))
        })??;
        let (fa, fb) = (Arc::new(fa), Arc::new(fb));
        let stop = Arc::new(AtomicBool::new(false));
        let stats = [
            Arc::new(DirectionStats::default()),
            Arc::new(DirectionStats::default()),
        ];
        let mut threads = Vec::new();
        for (dir, (from, to)) in [(fa.clone(), fb.clone()), (fb, fa)].into_iter().enumerate() {
            let (tx, rx) = sync_channel::<(Instant, Vec<u8>)>(queue.max(1));
            let (s1, st1) = (stop.clone(), stats[dir].clone());
            let spawned = thread::Builder::new()
                .name(format!("v6p-delay-rx{dir}"))
                .spawn(move || read_loop(&from, &tx, delay, &s1, &st1));
            let (s2, st2) = (stop.clone(), stats[dir].clone());
            let spawned = spawned.and_then(|h| {
                threads.push(h);
                thread::Builder::new()
                    .name(format!("v6p-delay-tx{dir}"))
                    .spawn(move || write_loop(&to, &rx, &s2, &st2))
            });
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Self {
            stop,
            threads,
            stats,
            delay,
        })
    }

    /// The delay each frame is held, one way.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Counters of direction `a -> b` (0) or `b -> a` (1).
    pub fn stats(&self, direction: usize) -> &DirectionStats {
        &self.stats[direction.min(1)]
    }
}

impl Drop for DelayBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                eprintln!("v6probe lab: a delay bridge thread panicked");
            }
        }
    }
}

fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: a valid fd and a pointer to an int of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A packet socket on `ifname` (every protocol, incoming frames only, with virtio-net headers,
/// a receive timeout of [`POLL`]).
fn open(ifname: &str) -> io::Result<OwnedFd> {
    let ctx = |e: io::Error, what: &str| io::Error::new(e.kind(), format!("{ifname}: {what}: {e}"));
    // Protocol 0 until bound: nothing is received from other interfaces meanwhile.
    // SAFETY: plain socket(2); the fd is owned below.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(ctx(io::Error::last_os_error(), "packet socket"));
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    setsockopt_int(&fd, libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1)
        .map_err(|e| ctx(e, "PACKET_VNET_HDR"))?;
    // The frames this socket writes would otherwise come back to its own reader.
    setsockopt_int(&fd, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1)
        .map_err(|e| ctx(e, "PACKET_IGNORE_OUTGOING"))?;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL.as_micros() as libc::suseconds_t,
    };
    // SAFETY: a valid fd and a timeval of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    if r != 0 {
        return Err(ctx(io::Error::last_os_error(), "SO_RCVTIMEO"));
    }
    let name = std::ffi::CString::new(ifname)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name with NUL"))?;
    // SAFETY: a NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(ctx(io::Error::last_os_error(), "no such interface"));
    }
    // SAFETY: all-zero is a valid sockaddr_ll; the fields below bind it to the interface.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: a valid sockaddr_ll of the size given.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if r != 0 {
        return Err(ctx(io::Error::last_os_error(), "bind"));
    }
    Ok(fd)
}

fn read_loop(
    from: &OwnedFd,
    tx: &SyncSender<(Instant, Vec<u8>)>,
    delay: Duration,
    stop: &AtomicBool,
    stats: &DirectionStats,
) {
    let mut buf = vec![0u8; BUF];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: buf is valid for BUF bytes.
        let n = unsafe { libc::recv(from.as_raw_fd(), buf.as_mut_ptr().cast(), BUF, 0) };
        if n <= 0 {
            // The receive timeout (look at the stop flag again), EINTR, or an interface that
            // went away with the lab: the stop flag ends the loop.
            continue;
        }
        let frame = buf[..n as usize].to_vec();
        match tx.try_send((Instant::now() + delay, frame)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                stats.queue_full.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn write_loop(
    to: &OwnedFd,
    rx: &Receiver<(Instant, Vec<u8>)>,
    stop: &AtomicBool,
    stats: &DirectionStats,
) {
    while !stop.load(Ordering::Relaxed) {
        let (due, frame) = match rx.recv_timeout(POLL) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Frames are queued in arrival order with the same delay: due times never go back.
        while let Some(left) = due.checked_duration_since(Instant::now()) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            thread::sleep(left.min(POLL));
        }
        // SAFETY: frame is valid for its length.
        let r = unsafe { libc::send(to.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if r < 0 {
            stats.send_errors.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::veth;
    use std::io::{Read as _, Write as _};

    /// Two namespaces joined through a bridge namespace that holds frames 10 ms each way: ping
    /// sees at least 20 ms, and a TCP transfer (checksums left to the device, segments larger
    /// than the MTU on the sending veth) arrives intact.
    #[test]
    #[ignore = "needs root: network namespaces and packet sockets"]
    fn frames_cross_late_and_intact() {
        crate::require_privileges();
        let a = Netns::new("dly-a").unwrap();
        let d = Netns::new("dly-d").unwrap();
        let b = Netns::new("dly-b").unwrap();
        for key in ["all", "default"] {
            d.sysctl(&format!("net.ipv6.conf.{key}.disable_ipv6"), "1")
                .unwrap();
        }
        veth(&a, "v6p-da", &d, "v6p-d0").unwrap();
        veth(&d, "v6p-d1", &b, "v6p-db").unwrap();
        a.ip(&[
            "-6",
            "addr",
            "add",
            "fd00:d::1/64",
            "dev",
            "v6p-da",
            "nodad",
        ])
        .unwrap();
        b.ip(&[
            "-6",
            "addr",
            "add",
            "fd00:d::2/64",
            "dev",
            "v6p-db",
            "nodad",
        ])
        .unwrap();
        let bridge =
            DelayBridge::start(&d, "v6p-d0", "v6p-d1", Duration::from_millis(10), 1024).unwrap();

        let out = a
            .exec(
                "ping",
                &["-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", "fd00:d::2"],
            )
            .unwrap();
        let times: Vec<f64> = out
            .lines()
            .filter_map(|l| {
                l.split("time=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(times.len(), 3, "{out}");
        for t in &times {
            assert!(
                *t >= 20.0,
                "a reply faster than the bridge holds frames: {out}"
            );
        }

        let listener =
            crate::in_netns(b.name(), || std::net::TcpListener::bind("[fd00:d::2]:7070"))
                .unwrap()
                .unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        crate::in_netns(a.name(), move || {
            let mut s = std::net::TcpStream::connect_timeout(
                &"[fd00:d::2]:7070".parse().unwrap(),
                Duration::from_secs(5),
            )
            .unwrap();
            s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(&sent).unwrap();
        })
        .unwrap();
        let got = server.join().unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the transfer arrived changed");
        let s = bridge.stats(0);
        assert!(s.forwarded.load(Ordering::Relaxed) > 0);
        assert_eq!(s.queue_full.load(Ordering::Relaxed), 0);
        assert_eq!(s.send_errors.load(Ordering::Relaxed), 0);
    }
}
