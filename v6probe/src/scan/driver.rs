//! The scanner's I/O: two packet sockets on the interface (one sends, one captures every frame
//! including the kernel's copies of what the first sent), driven by the [`Scheduler`] and fed
//! into the [`Matcher`].
use std::{
    collections::{HashMap, HashSet},
    net::Ipv6Addr,
    os::fd::AsRawFd,
    time::{Duration, Instant, SystemTime},
};

use crate::{
    netio::{Capture, PacketSocket, Received},
    send::{self, Kind, LinkAddr, SendSpec},
    wire::{addr, EthernetAddress, Frame, Icmpv6Repr, Message},
};

use super::{
    count_verdicts,
    matcher::{Advert, Matcher},
    sched::{Action, Progress, SchedConfig, Scheduler},
    ScanError, ScanReport, ScanSummary,
};

/// How to probe.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub iface: String,
    /// Source address of the probes; default: the interface's link-local address.
    pub source: Option<Ipv6Addr>,
    /// Ethernet source and SLLA of the probes; default: the interface's MAC.
    pub src_mac: Option<[u8; 6]>,
    /// Send each NS to the target address itself instead of its solicited-node group.
    pub unicast: bool,
    /// With `unicast`: Ethernet destination per target (e.g. from the neighbour table); the
    /// others get the broadcast address, which every host's IPv6 layer accepts.
    pub dst_macs: HashMap<Ipv6Addr, [u8; 6]>,
    pub sched: SchedConfig,
}

const ICMP_ECHO_REQUEST: u8 = 128;
/// Capture buffer: room for a burst of tens of thousands of replies and probe copies.
const RCVBUF: usize = 64 << 20;

/// The first IPv6 link-local address of `iface` in this thread's network namespace.
pub fn link_local(iface: &str) -> Result<Ipv6Addr, ScanError> {
    // thread-self: the namespace of this thread (a lab thread may have entered another one).
    let text = std::fs::read_to_string("/proc/thread-self/net/if_inet6").map_err(|e| {
        ScanError::Addresses {
            iface: iface.into(),
            source: e,
        }
    })?;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[5] != iface {
            continue;
        }
        if let Ok(v) = u128::from_str_radix(f[0], 16) {
            let a = Ipv6Addr::from(v);
            if addr::is_link_local(&a) {
                return Ok(a);
            }
        }
    }
    Err(ScanError::NoLinkLocal {
        iface: iface.into(),
    })
}

struct Link {
    tx: PacketSocket,
    rx: PacketSocket,
    src_ip: Ipv6Addr,
    src_mac: [u8; 6],
    buf: Vec<u8>,
}

impl Link {
    fn open(cfg: &ScanConfig) -> Result<Self, ScanError> {
        let rx = PacketSocket::open(&cfg.iface, Capture::All)?;
        if let Err(e) = rx.set_recv_buffer(RCVBUF) {
            tracing::warn!("capture buffer stays at the default size: {e}");
        }
        let tx = PacketSocket::open(&cfg.iface, Capture::Nothing)?;
        let src_mac = match cfg.src_mac {
            Some(m) => m,
            None => tx.mac()?,
        };
        let src_ip = match cfg.source {
            Some(a) => a,
            None => link_local(&cfg.iface)?,
        };
        // Frames queued before we started are not replies to this scan.
        let mut buf = vec![0u8; 2048];
        while rx.try_recv(&mut buf)?.is_some() {}
        let _ = rx.take_drops();
        Ok(Self {
            tx,
            rx,
            src_ip,
            src_mac,
            buf,
        })
    }

    /// Closes both sockets at once: closing a packet socket waits out an RCU grace period
    /// (about 10 ms), and two closes in parallel wait for one.
    fn close(self) {
        let Self { tx, rx, .. } = self;
        std::thread::scope(|s| {
            s.spawn(move || drop(tx));
            drop(rx);
        });
    }

    /// Waits up to `timeout` (nanosecond precision) for a frame to read.
    fn wait_readable(&self, timeout: Duration) -> Result<(), ScanError> {
        let mut pfd = libc::pollfd {
            fd: self.rx.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
        };
        // SAFETY: one valid pollfd and a valid timespec; no signal mask.
        let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(ScanError::NetIo(crate::netio::NetIoError::Io {
                    iface: self.rx.iface().into(),
                    op: "ppoll",
                    source: e,
                }));
            }
        }
        Ok(())
    }

    /// Receives every queued frame (at most `max`) without waiting, passing each to `f`.
    fn drain(
        &mut self,
        max: usize,
        mut f: impl FnMut(&[u8], &Received),
    ) -> Result<usize, ScanError> {
        let mut n = 0;
        while n < max {
            match self.rx.try_recv(&mut self.buf)? {
                Some(r) => {
                    f(&self.buf[..r.len], &r);
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

/// The probe for `target`: an NS with a source link-layer address option, from the send
/// builder, to the solicited-node group (or, unicast, to the target itself).
fn ns_frame(link: &Link, cfg: &ScanConfig, target: Ipv6Addr) -> Result<Frame, ScanError> {
    let mut spec = SendSpec {
        src: Some(link.src_ip),
        src_mac: Some(EthernetAddress(link.src_mac)),
        target: Some(target),
        slla: Some(LinkAddr::Interface),
        ..SendSpec::default()
    };
    if cfg.unicast {
        spec.dst = Some(target);
        spec.dst_mac = Some(EthernetAddress(
            cfg.dst_macs.get(&target).copied().unwrap_or([0xff; 6]),
        ));
    }
    send::build(Kind::Ns, &spec, link.src_mac, Some(link.src_ip)).map_err(|e| ScanError::Probe {
        target,
        why: e.to_string(),
    })
}

/// Handles one captured frame: our probe leaving (kernel send time) or an NA.
fn on_frame(
    data: &[u8],
    r: &Received,
    link_ip: Ipv6Addr,
    link_mac: [u8; 6],
    m: &mut Matcher,
    sched: &mut Scheduler,
) {
    // Cheap pre-filter: untagged IPv6 carrying ICMPv6 NS/NA directly, or anything tagged /
    // with extension headers (left to the full decoder).
    if data.len() < 58 || data[12..14] != [0x86, 0xdd] {
        if data.len() < 14 || data[12..14] != [0x81, 0x00] {
            return;
        }
    } else if data[20] == 58 && !matches!(data[54], 135 | 136) {
        return;
    }
    let Ok(f) = Frame::parse(data) else {
        return;
    };
    let Some(icmp) = &f.icmp6 else {
        return;
    };
    if f.checksum_ok == Some(false) {
        return;
    }
    match &icmp.message {
        Message::NeighborSolicit { target, .. }
            if r.outgoing && f.eth.src.0 == link_mac && f.ip6.src == link_ip =>
        {
            if let Some(i) = m.index_of(target) {
                m.on_sent_kernel(i, r.ts);
            }
        }
        Message::NeighborAdvert {
            router,
            solicited,
            override_,
            target,
            options,
            ..
        } if !r.outgoing => {
            let a = Advert {
                target: *target,
                eth_src: f.eth.src.0,
                tlla: options.target_ll_addr().map(|e| e.0),
                router: *router,
                solicited: *solicited,
                override_: *override_,
                to_multicast: f.ip6.dst.is_multicast(),
                rx: r.ts,
            };
            if let Some(i) = m.on_advert(&a) {
                sched.on_answer(i);
            }
        }
        _ => {}
    }
}

/// Scans `targets`; `progress` is called about every 100 ms and once at the end.
pub fn scan(
    cfg: &ScanConfig,
    targets: &[Ipv6Addr],
    progress: &mut dyn FnMut(Progress),
) -> Result<ScanReport, ScanError> {
    let mut link = Link::open(cfg)?;
    let (src_ip, src_mac) = (link.src_ip, link.src_mac);
    let mut sched = Scheduler::new(targets.len(), cfg.sched);
    let mut m = Matcher::new(targets);
    let mut frame = vec![0u8; 256];
    let start = Instant::now();
    let mut first_send: Option<Instant> = None;
    let mut last_send;
    // When the last first probe (not a retry) went out: the send rate is measured up to here.
    let mut last_first_try = start;
    let mut first_tries = 0u64;
    let mut last_progress = start;
    let mut since_drain = 0u32;
    let mut drops = 0u64;
    tracing::info!(
        iface = %cfg.iface, %src_ip, targets = targets.len(), "scan starting"
    );
    loop {
        let now = start.elapsed().as_nanos() as u64;
        match sched.poll(now) {
            Action::Send(i) => {
                let f = ns_frame(&link, cfg, targets[i])?;
                let n = f.emit(&mut frame).map_err(|e| ScanError::Probe {
                    target: targets[i],
                    why: e.to_string(),
                })?;
                m.on_sent(i, SystemTime::now());
                link.tx.send(&frame[..n])?;
                last_send = Instant::now();
                first_send.get_or_insert(last_send);
                if sched.tries(i) == 1 {
                    last_first_try = last_send;
                    first_tries += 1;
                }
                since_drain += 1;
                if since_drain >= 32 {
                    since_drain = 0;
                    link.drain(1024, |d, r| {
                        on_frame(d, r, src_ip, src_mac, &mut m, &mut sched)
                    })?;
                }
            }
            Action::Wait(t) => {
                let got = link.drain(1024, |d, r| {
                    on_frame(d, r, src_ip, src_mac, &mut m, &mut sched)
                })?;
                if got == 0 {
                    // Until the next probe or deadline is due (to the nanosecond: the
                    // scheduler catches up if this wakes late), or a frame arrives.
                    let now = start.elapsed().as_nanos() as u64;
                    let left = Duration::from_nanos(t.saturating_sub(now));
                    if !left.is_zero() {
                        link.wait_readable(left.min(Duration::from_millis(100)))?;
                    }
                }
            }
            Action::Done => break,
        }
        if last_progress.elapsed() >= Duration::from_millis(100) {
            last_progress = Instant::now();
            drops += u64::from(link.rx.take_drops().unwrap_or(0));
            progress(sched.progress());
        }
    }
    link.drain(usize::MAX, |d, r| {
        on_frame(d, r, src_ip, src_mac, &mut m, &mut sched)
    })?;
    drops += u64::from(link.rx.take_drops().unwrap_or(0));
    progress(sched.progress());
    let duration = first_send.map_or(Duration::ZERO, |f| f.elapsed());
    link.close();
    let send_span = first_send.map_or(Duration::ZERO, |f| last_first_try.duration_since(f));
    let p = sched.progress();
    let unrelated = m.unrelated;
    let kernel_sends = m.kernel_sends;
    let results = m.finish(|i| sched.tries(i));
    let alive = results.iter().filter(|r| r.alive).count();
    if drops > 0 {
        tracing::warn!(
            drops,
            "the capture socket dropped frames: replies may be missing"
        );
    }
    let summary = ScanSummary {
        interface: cfg.iface.clone(),
        targets: targets.len(),
        alive,
        probes_sent: p.sent,
        duration_ms: duration.as_secs_f64() * 1e3,
        probes_per_sec: if first_tries > 1 && !send_span.is_zero() {
            (first_tries - 1) as f64 / send_span.as_secs_f64()
        } else {
            0.0
        },
        unrelated_nas: unrelated,
        kernel_send_timestamps: kernel_sends,
        capture_drops: drops,
        verdicts: count_verdicts(&results),
        multicast_over_limit: 0,
    };
    Ok(ScanReport { results, summary })
}

/// What `--multicast` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    /// Sources of echo replies, in order of first reply, without ours; at most the limit.
    pub addrs: Vec<Ipv6Addr>,
    /// Echo replies from sources beyond the limit (not kept; a source answering twice counts
    /// twice).
    pub over_limit: u64,
}

/// `--multicast`: echo requests to ff02::1 (`tries` of them, 100 ms apart), then collects the
/// sources of echo replies for `wait`. Keeps at most `max` distinct sources (anyone on the
/// link can answer with forged sources); the rest are counted.
pub fn discover_multicast(
    cfg: &ScanConfig,
    tries: u32,
    wait: Duration,
    max: usize,
) -> Result<Discovered, ScanError> {
    let mut link = Link::open(cfg)?;
    let all_nodes = send::ALL_NODES;
    let id = (std::process::id() & 0xffff) as u16;
    let me = link.src_ip;
    let mut found = Discovered::default();
    let mut seen: HashSet<Ipv6Addr> = HashSet::new();
    let mut collect = |d: &[u8], r: &Received| {
        if r.outgoing {
            return;
        }
        let Ok(f) = Frame::parse(d) else { return };
        if let Some(Icmpv6Repr {
            message: Message::EchoReply { id: rid, .. },
            ..
        }) = &f.icmp6
        {
            if *rid == id && f.checksum_ok != Some(false) && f.ip6.src != me {
                if seen.contains(&f.ip6.src) {
                    return;
                }
                if found.addrs.len() < max {
                    seen.insert(f.ip6.src);
                    found.addrs.push(f.ip6.src);
                } else {
                    found.over_limit += 1;
                }
            }
        }
    };
    for seq in 0..tries.max(1) {
        let f = Frame::new(
            EthernetAddress(link.src_mac),
            EthernetAddress(addr::multicast_mac(&all_nodes)),
            link.src_ip,
            all_nodes,
            255,
            Icmpv6Repr::new(
                ICMP_ECHO_REQUEST,
                0,
                Message::EchoRequest {
                    id,
                    seq: seq as u16,
                    data_len: 8,
                    data: b"v6probe!".to_vec(),
                },
            ),
        );
        link.tx.send(&f.to_bytes())?;
        let until = Instant::now() + Duration::from_millis(100);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if let Some(r) = link.rx.recv(&mut link.buf, left)? {
                collect(&link.buf[..r.len], &r);
            }
        }
    }
    let until = Instant::now() + wait;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if let Some(r) = link.rx.recv(&mut link.buf, left)? {
            collect(&link.buf[..r.len], &r);
        }
    }
    tracing::info!(
        found = found.addrs.len(),
        over_limit = found.over_limit,
        "multicast discovery"
    );
    Ok(found)
}
