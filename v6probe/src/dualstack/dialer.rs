//! The Happy Eyeballs dialer (RFC 8305) driven by the fallback table.
//!
//! - AAAA and A resolved separately; when A answers first, wait up to the resolution delay
//!   (50 ms) for AAAA; late answers join the queue.
//! - Addresses interleaved by family (first-address-family count 1); the table decides per
//!   IPv6 address: IPv6 first (`normal`, probe), IPv4 first (`limited`), or skipped (`blocked`).
//! - A new attempt every attempt delay (default 250 ms, never under 10 ms), or at once when an
//!   attempt fails; the first connection wins and the others are cancelled.
//! - Every IPv6 socket sets IPV6_RECVERR: an ICMPv6 error ends the attempt the moment it arrives
//!   (from the error queue, or from any other source pushing to the [`IcmpFeed`]).
//! - TCP_USER_TIMEOUT per socket and an overall deadline bound everything.
use std::{
    collections::VecDeque,
    future::Future,
    io,
    net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6},
    os::fd::AsFd,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::{
    io::{unix::AsyncFd, Interest},
    net::TcpStream,
    sync::broadcast::error::RecvError,
    task::{AbortHandle, JoinSet},
};

use super::{
    errqueue,
    icmp::{IcmpErrorEvent, IcmpFeed},
    resolve::{self, Family},
    state::{Decision, Observation},
    table::{FallbackTable, MtuAlert, Transition},
    Error,
};

/// The smallest connection attempt delay RFC 8305 section 5 allows.
pub const MIN_ATTEMPT_DELAY: Duration = Duration::from_millis(10);

/// Dialer settings.
#[derive(Clone, Debug)]
pub struct DialConfig {
    /// Delay between starting attempts (RFC 8305: 250 ms recommended, at least 10 ms).
    pub attempt_delay: Duration,
    /// How long to wait for AAAA after A answered (RFC 8305: 50 ms).
    pub resolution_delay: Duration,
    /// Which family goes first when the table says nothing against it.
    pub prefer: Family,
    /// Deadline for the whole dial (resolution included).
    pub timeout: Duration,
    /// TCP_USER_TIMEOUT on every socket (bounds the connect and later writes).
    pub tcp_user_timeout: Option<Duration>,
    /// Read ICMPv6 errors from each socket's error queue (IPV6_RECVERR).
    pub recverr: bool,
}

impl Default for DialConfig {
    fn default() -> Self {
        Self {
            attempt_delay: Duration::from_millis(250),
            resolution_delay: Duration::from_millis(50),
            prefer: Family::Ipv6,
            timeout: Duration::from_secs(10),
            tcp_user_timeout: Some(Duration::from_secs(10)),
            recverr: true,
        }
    }
}

impl DialConfig {
    /// Checks the settings against RFC 8305's floor.
    pub fn validate(&self) -> Result<(), Error> {
        if self.attempt_delay < MIN_ATTEMPT_DELAY {
            return Err(Error::AttemptDelayTooShort {
                ms: self.attempt_delay.as_millis() as u64,
            });
        }
        if self.timeout.is_zero() {
            return Err(Error::ZeroTimeout);
        }
        Ok(())
    }
}

/// What to dial.
#[derive(Clone, Debug)]
pub enum Target {
    /// A name, resolved per family.
    Host(String),
    /// Given addresses (bypasses DNS).
    Addrs(Vec<IpAddr>),
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Connected,
    Failed,
    /// Another attempt won first.
    Cancelled,
    /// The overall deadline passed.
    TimedOut,
}

/// One attempt in the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct AttemptRecord {
    pub addr: SocketAddr,
    pub family: Family,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<SocketAddr>,
    /// What the table said about this IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Milliseconds since the dial started.
    pub start_ms: f64,
    pub end_ms: Option<f64>,
    pub outcome: Option<Outcome>,
    /// Why it ended, in words.
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpErrorEvent>,
}

/// An IPv6 address not tried, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub addr: IpAddr,
    pub why: String,
}

/// Resolution results and timings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Resolution {
    pub aaaa: Vec<IpAddr>,
    pub a: Vec<IpAddr>,
    pub aaaa_ms: Option<f64>,
    pub a_ms: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The result of one dial (`"kind":"connect"`).
#[derive(Clone, Debug, Serialize)]
pub struct DialReport {
    pub host: String,
    pub port: u16,
    pub connected: bool,
    pub winner: Option<SocketAddr>,
    pub family: Option<Family>,
    pub time_to_connect_ms: Option<f64>,
    pub resolution: Resolution,
    pub skipped: Vec<Skipped>,
    pub attempts: Vec<AttemptRecord>,
    /// Path MTU the kernel reported for the winning IPv6 connection, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_mtu: Option<u32>,
    /// Fallback transitions this dial caused (printed as their own records).
    #[serde(skip)]
    pub transitions: Vec<Transition>,
}

#[derive(Debug)]
enum AttemptFail {
    Errno(io::Error),
    Icmp(IcmpErrorEvent, Option<io::Error>),
}

/// A dialer sharing one fallback table and one ICMPv6 feed with others.
#[derive(Clone, Debug)]
pub struct Dialer {
    table: Arc<FallbackTable>,
    feed: IcmpFeed,
    cfg: DialConfig,
}

type Late = Pin<Box<dyn Future<Output = (Family, io::Result<Vec<IpAddr>>, f64)> + Send>>;

struct InFlight {
    idx: usize,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    abort: AbortHandle,
}

impl Dialer {
    pub fn new(table: Arc<FallbackTable>, feed: IcmpFeed, cfg: DialConfig) -> Result<Self, Error> {
        cfg.validate()?;
        Ok(Self { table, feed, cfg })
    }

    pub fn table(&self) -> &Arc<FallbackTable> {
        &self.table
    }

    pub fn feed(&self) -> &IcmpFeed {
        &self.feed
    }

    pub fn config(&self) -> &DialConfig {
        &self.cfg
    }

    /// Dials `target:port`. Returns the winning stream (if any) and the full report.
    pub async fn dial(&self, target: Target, port: u16) -> (Option<TcpStream>, DialReport) {
        let start = Instant::now();
        let ms = move |t: Instant| t.saturating_duration_since(start).as_secs_f64() * 1000.0;
        let deadline = tokio::time::Instant::from_std(start + self.cfg.timeout);
        let mut rx = self.feed.subscribe();
        let host = match &target {
            Target::Host(h) => h.clone(),
            Target::Addrs(a) => a
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(","),
        };
        let mut report = DialReport {
            host,
            port,
            connected: false,
            winner: None,
            family: None,
            time_to_connect_ms: None,
            resolution: Resolution::default(),
            skipped: Vec::new(),
            attempts: Vec::new(),
            path_mtu: None,
            transitions: Vec::new(),
        };

        // --- Resolution (RFC 8305 section 3).
        let (mut v6, mut v4, mut late): (Vec<IpAddr>, Vec<IpAddr>, Option<Late>) = match target {
            Target::Addrs(a) => {
                let v6 = a.iter().copied().filter(IpAddr::is_ipv6).collect();
                let v4 = a.iter().copied().filter(IpAddr::is_ipv4).collect();
                (v6, v4, None)
            }
            Target::Host(h) => {
                let q6: Late = Box::pin({
                    let h = h.clone();
                    async move {
                        let r = resolve::lookup(h, Family::Ipv6).await;
                        (Family::Ipv6, r, ms(Instant::now()))
                    }
                });
                let q4: Late = Box::pin(async move {
                    let r = resolve::lookup(h, Family::Ipv4).await;
                    (Family::Ipv4, r, ms(Instant::now()))
                });
                self.resolve(q6, q4, deadline, &mut report.resolution).await
            }
        };
        report.resolution.aaaa.clone_from(&v6);
        report.resolution.a.clone_from(&v4);

        // --- Order by the table's decisions.
        let mut queue: VecDeque<(SocketAddr, Option<Decision>)> = VecDeque::new();
        let mut tried: Vec<IpAddr> = Vec::new();
        // One decision per address per dial: asking again (when a late answer rebuilds the
        // queue) would see this dial's own probe claim and skip the address.
        let mut decisions: Vec<(IpAddr, Decision)> = Vec::new();
        let mut rebuild = |v6: &[IpAddr],
                           v4: &[IpAddr],
                           tried: &[IpAddr],
                           skipped: &mut Vec<Skipped>,
                           transitions: &mut Vec<Transition>,
                           more_coming: bool|
         -> (VecDeque<(SocketAddr, Option<Decision>)>, bool) {
            let now = Instant::now();
            let mut decided = Vec::new();
            for a in v6.iter().filter(|a| !tried.contains(a)) {
                let IpAddr::V6(a6) = a else { continue };
                let d = match decisions.iter().find(|(x, _)| x == a) {
                    Some((_, d)) => *d,
                    None => {
                        let d = self.table.decide(*a6, now, transitions);
                        decisions.push((*a, d));
                        d
                    }
                };
                if d == Decision::Skip && !skipped.iter().any(|s| s.addr == *a) {
                    skipped.push(Skipped {
                        addr: *a,
                        why: format!("fallback state {}", self.table.state_of(*a6, now).as_str()),
                    });
                }
                decided.push((*a, d));
            }
            let v4: Vec<IpAddr> = v4.iter().filter(|a| !tried.contains(a)).copied().collect();
            // `limited` means IPv4 first: while the A answer is still pending, hold those IPv6
            // addresses back (until A arrives or one attempt delay has passed).
            let held = more_coming
                && v4.is_empty()
                && decided.iter().any(|(_, d)| *d == Decision::Ipv4First);
            if held {
                decided.retain(|(_, d)| *d != Decision::Ipv4First);
            }
            let mut ordered = order(&decided, &v4, self.cfg.prefer);
            if ordered.is_empty() && v4.is_empty() && !more_coming {
                // Everything blocked, no other family, and no answer still to come: try the
                // blocked addresses after all rather than fail without trying.
                ordered = decided.iter().map(|(a, d)| (*a, Some(*d))).collect();
            }
            let q = ordered
                .into_iter()
                .map(|(a, d)| (SocketAddr::new(a, port), d))
                .collect();
            (q, held)
        };
        let (q, mut held) = rebuild(
            &v6,
            &v4,
            &tried,
            &mut report.skipped,
            &mut report.transitions,
            late.is_some(),
        );
        queue.extend(q);
        let hold_until = tokio::time::Instant::from_std(start + self.cfg.attempt_delay);

        // --- Attempts.
        let mut set: JoinSet<(usize, Result<Socket, AttemptFail>)> = JoinSet::new();
        let mut inflight: Vec<InFlight> = Vec::new();
        let mut next_at = tokio::time::Instant::now();
        let mut winner: Option<Socket> = None;
        loop {
            if inflight.is_empty() && queue.is_empty() && late.is_none() {
                break;
            }
            let now_t = tokio::time::Instant::now();
            if !queue.is_empty() && (inflight.is_empty() || now_t >= next_at) {
                if let Some((addr, decision)) = queue.pop_front() {
                    tried.push(addr.ip());
                    self.start_attempt(addr, decision, start, &mut report, &mut set, &mut inflight);
                    next_at = tokio::time::Instant::now() + self.cfg.attempt_delay;
                    continue;
                }
            }
            let have_queue = !queue.is_empty();
            tokio::select! {
                biased;
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        let hit = inflight.iter().position(|f| match (f.local, f.remote) {
                            (Some(SocketAddr::V6(l)), SocketAddr::V6(r)) => {
                                ev.matches_tcp(*l.ip(), l.port(), *r.ip(), r.port())
                            }
                            _ => false,
                        });
                        if !ends_attempt(&ev) {
                            // Packet too big: an MTU to record, never the end of an attempt.
                            if let Some(alert) = self.learn(&ev).1 {
                                tracing::warn!(dest = %alert.dest, mtu = alert.mtu, "path MTU below 1280");
                            }
                        } else if let Some(i) = hit {
                            let f = inflight.swap_remove(i);
                            f.abort.abort();
                            self.end_failed(&mut report, f.idx, AttemptFail::Icmp(ev, None), start);
                            next_at = tokio::time::Instant::now();
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "dialer lagged behind the ICMPv6 feed");
                    }
                    Err(RecvError::Closed) => {}
                },
                joined = set.join_next(), if !set.is_empty() => {
                    let Some(Ok((idx, res))) = joined else { continue };
                    let Some(i) = inflight.iter().position(|f| f.idx == idx) else { continue };
                    inflight.swap_remove(i);
                    match res {
                        Ok(sock) => {
                            let rec = &mut report.attempts[idx];
                            rec.end_ms = Some(ms(Instant::now()));
                            rec.outcome = Some(Outcome::Connected);
                            rec.why = "connected".into();
                            winner = Some(sock);
                            report.winner = Some(rec.addr);
                            report.family = Some(rec.family);
                            report.time_to_connect_ms = rec.end_ms;
                            if let SocketAddr::V6(r) = rec.addr {
                                report.transitions.extend(self.table.observe(
                                    *r.ip(),
                                    Observation::Success,
                                    Instant::now(),
                                ));
                            }
                            break;
                        }
                        Err(fail) => {
                            self.end_failed(&mut report, idx, fail, start);
                            next_at = tokio::time::Instant::now();
                        }
                    }
                },
                _ = tokio::time::sleep_until(next_at), if have_queue => {},
                _ = tokio::time::sleep_until(hold_until), if held => {
                    // A did not come within the attempt delay: race the held IPv6 now.
                    held = false;
                    queue = rebuild(&v6, &v4, &tried, &mut report.skipped, &mut report.transitions, false).0;
                },
                res = async { match late.as_mut() { Some(f) => f.await, None => std::future::pending().await } }, if late.is_some() => {
                    late = None;
                    let (fam, r, at) = res;
                    match (fam, r) {
                        (Family::Ipv6, Ok(a)) => { report.resolution.aaaa_ms = Some(at); report.resolution.aaaa.clone_from(&a); v6 = a; }
                        (Family::Ipv4, Ok(a)) => { report.resolution.a_ms = Some(at); report.resolution.a.clone_from(&a); v4 = a; }
                        (_, Err(e)) => report.resolution.errors.push(e.to_string()),
                    }
                    held = false;
                    queue = rebuild(&v6, &v4, &tried, &mut report.skipped, &mut report.transitions, false).0;
                },
                _ = tokio::time::sleep_until(deadline) => {
                    for f in inflight.drain(..) {
                        f.abort.abort();
                        let rec = &mut report.attempts[f.idx];
                        rec.end_ms = Some(ms(Instant::now()));
                        rec.outcome = Some(Outcome::TimedOut);
                        rec.why = format!("no answer before the {} ms deadline", self.cfg.timeout.as_millis());
                        if let SocketAddr::V6(r) = rec.addr {
                            report.transitions.extend(self.table.observe(*r.ip(), Observation::Timeout, Instant::now()));
                        }
                    }
                    break;
                },
            }
        }
        let delay_ms = self.cfg.attempt_delay.as_secs_f64() * 1000.0;
        for f in inflight.drain(..) {
            f.abort.abort();
            let now = Instant::now();
            let rec = &mut report.attempts[f.idx];
            rec.end_ms = Some(ms(now));
            rec.outcome = Some(Outcome::Cancelled);
            rec.why = "another attempt connected first".into();
            // An IPv6 attempt still unanswered a whole attempt delay after it started, while
            // another connection completed: the IPv6 path is silent (a drop, no ICMPv6). That
            // is the "connect timeout" input: `limited` for the pause.
            if let SocketAddr::V6(r) = rec.addr {
                if ms(now) - rec.start_ms >= delay_ms {
                    rec.why = format!(
                        "another attempt connected first; no answer within the {} ms attempt delay",
                        self.cfg.attempt_delay.as_millis()
                    );
                    report.transitions.extend(self.table.observe(
                        *r.ip(),
                        Observation::Timeout,
                        now,
                    ));
                }
            }
        }
        set.abort_all();
        let stream = winner.and_then(|s| {
            let std: std::net::TcpStream = s.into();
            match TcpStream::from_std(std) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "registering the connected socket with tokio");
                    None
                }
            }
        });
        report.connected = stream.is_some();
        (stream, report)
    }

    async fn resolve(
        &self,
        mut q6: Late,
        mut q4: Late,
        deadline: tokio::time::Instant,
        res: &mut Resolution,
    ) -> (Vec<IpAddr>, Vec<IpAddr>, Option<Late>) {
        let mut v6 = Vec::new();
        let mut v4 = Vec::new();
        fn take(
            fam: Family,
            r: io::Result<Vec<IpAddr>>,
            at: f64,
            res: &mut Resolution,
            v6: &mut Vec<IpAddr>,
            v4: &mut Vec<IpAddr>,
        ) {
            match r {
                Ok(a) => match fam {
                    Family::Ipv6 => {
                        res.aaaa_ms = Some(at);
                        *v6 = a;
                    }
                    Family::Ipv4 => {
                        res.a_ms = Some(at);
                        *v4 = a;
                    }
                },
                Err(e) => res.errors.push(e.to_string()),
            }
        }
        let late: Option<Late> = tokio::select! {
            (fam, r, at) = &mut q6 => {
                take(fam, r, at, res, &mut v6, &mut v4);
                // AAAA first: connect at once; A joins later (RFC 8305 section 3).
                Some(q4)
            }
            (fam, r, at) = &mut q4 => {
                take(fam, r, at, res, &mut v6, &mut v4);
                // A first: give AAAA the resolution delay.
                match tokio::time::timeout(self.cfg.resolution_delay, &mut q6).await {
                    Ok((fam, r, at)) => { take(fam, r, at, res, &mut v6, &mut v4); None }
                    Err(_) => Some(q6),
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                res.errors.push("resolution did not finish before the deadline".into());
                None
            }
        };
        // Nothing yet to connect to: wait for the other answer instead of racing nothing.
        if v6.is_empty() && v4.is_empty() {
            if let Some(l) = late {
                if let Ok((fam, r, at)) = tokio::time::timeout_at(deadline, l).await {
                    take(fam, r, at, res, &mut v6, &mut v4);
                }
                return (v6, v4, None);
            }
        }
        (v6, v4, late)
    }

    fn start_attempt(
        &self,
        addr: SocketAddr,
        decision: Option<Decision>,
        start: Instant,
        report: &mut DialReport,
        set: &mut JoinSet<(usize, Result<Socket, AttemptFail>)>,
        inflight: &mut Vec<InFlight>,
    ) {
        let idx = report.attempts.len();
        let t = Instant::now()
            .saturating_duration_since(start)
            .as_secs_f64()
            * 1000.0;
        report.attempts.push(AttemptRecord {
            addr,
            family: Family::of(&addr.ip()),
            local: None,
            decision,
            start_ms: t,
            end_ms: None,
            outcome: None,
            why: String::new(),
            errno: None,
            icmp: None,
        });
        match begin_connect(addr, &self.cfg) {
            Ok((sock, local)) => {
                report.attempts[idx].local = local;
                let feed = self.feed.clone();
                let recverr = self.cfg.recverr;
                let abort =
                    set.spawn(async move { (idx, wait_connect(sock, local, recverr, feed).await) });
                inflight.push(InFlight {
                    idx,
                    local,
                    remote: addr,
                    abort,
                });
            }
            Err(e) => self.end_failed(report, idx, AttemptFail::Errno(e), start),
        }
    }

    fn end_failed(&self, report: &mut DialReport, idx: usize, fail: AttemptFail, start: Instant) {
        let now = Instant::now();
        let rec = &mut report.attempts[idx];
        rec.end_ms = Some(now.saturating_duration_since(start).as_secs_f64() * 1000.0);
        rec.outcome = Some(Outcome::Failed);
        let obs = match fail {
            AttemptFail::Icmp(ev, err) => {
                rec.why = ev.describe();
                rec.errno = err.and_then(|e| e.raw_os_error());
                let obs = ev.observation();
                rec.icmp = Some(ev);
                obs
            }
            AttemptFail::Errno(e) => {
                rec.why = e.to_string();
                rec.errno = e.raw_os_error();
                e.raw_os_error().map(Observation::Errno)
            }
        };
        if let (SocketAddr::V6(r), Some(obs)) = (rec.addr, obs) {
            report
                .transitions
                .extend(self.table.observe(*r.ip(), obs, now));
        }
    }

    /// Records the path MTU the kernel holds for a connected IPv6 stream (call it after a
    /// transfer); returns the MTU and an alert when it is below 1280.
    pub fn record_path_mtu(&self, stream: &TcpStream) -> Option<(u32, Option<MtuAlert>)> {
        let SocketAddr::V6(peer) = stream.peer_addr().ok()? else {
            return None;
        };
        let mtu = errqueue::socket_path_mtu(stream.as_fd()).ok()?;
        Some((mtu, self.table.record_mtu(*peer.ip(), mtu, Instant::now())))
    }

    /// Feeds an ICMPv6 error about any destination straight into the table (for an observer
    /// that wants the table to learn from traffic of other programs too). Packet too big
    /// records the MTU. Returns the transitions.
    pub fn learn(&self, ev: &IcmpErrorEvent) -> (Vec<Transition>, Option<MtuAlert>) {
        let now = Instant::now();
        if ev.icmp_type == super::icmp::ICMPV6_PACKET_TOO_BIG {
            return (
                Vec::new(),
                self.table.record_mtu(ev.quoted_dst, ev.mtu, now),
            );
        }
        match ev.observation() {
            Some(o) => (self.table.observe(ev.quoted_dst, o, now), None),
            None => (Vec::new(), None),
        }
    }
}

/// Whether an ICMPv6 error about an attempt's SYN ends the attempt: destination unreachable
/// and time exceeded do (the kernel would fail or retry the SYN); packet too big does not.
fn ends_attempt(ev: &IcmpErrorEvent) -> bool {
    matches!(
        ev.icmp_type,
        super::icmp::ICMPV6_DEST_UNREACH | super::icmp::ICMPV6_TIME_EXCEEDED
    )
}

/// RFC 8305 section 4 ordering with the table's decisions: IPv6 addresses that may go first
/// lead (unless IPv4 is preferred), then families alternate; `limited` IPv6 addresses come
/// after the first IPv4 address; skipped ones are left out.
pub fn order(
    v6: &[(IpAddr, Decision)],
    v4: &[IpAddr],
    prefer: Family,
) -> Vec<(IpAddr, Option<Decision>)> {
    let first: Vec<_> = v6
        .iter()
        .filter(|(_, d)| matches!(d, Decision::Ipv6First | Decision::Probe))
        .map(|(a, d)| (*a, Some(*d)))
        .collect();
    let later: Vec<_> = v6
        .iter()
        .filter(|(_, d)| *d == Decision::Ipv4First)
        .map(|(a, d)| (*a, Some(*d)))
        .collect();
    let v6_all: Vec<_> = first.iter().chain(later.iter()).copied().collect();
    let v4: Vec<_> = v4.iter().map(|a| (*a, None)).collect();
    let v6_leads = prefer == Family::Ipv6 && !first.is_empty();
    let (a, b) = if v6_leads { (v6_all, v4) } else { (v4, v6_all) };
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() {
            out.push(a[i]);
            i += 1;
        }
        if j < b.len() {
            out.push(b[j]);
            j += 1;
        }
    }
    out
}

/// Creates the socket and starts a non-blocking connect. Returns the socket and its local
/// address (for matching ICMPv6 errors to the attempt).
fn begin_connect(addr: SocketAddr, cfg: &DialConfig) -> io::Result<(Socket, Option<SocketAddr>)> {
    // socket2 sets close-on-exec on every platform.
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    if addr.is_ipv6() && cfg.recverr {
        if let Err(e) = errqueue::enable_recverr(sock.as_fd()) {
            tracing::warn!(error = %e, "IPV6_RECVERR not available; ICMPv6 errors will be slow");
        }
    }
    #[cfg(target_os = "linux")]
    if let Some(t) = cfg.tcp_user_timeout {
        sock.set_tcp_user_timeout(Some(t))?;
    }
    sock.set_tcp_nodelay(true)?;
    match sock.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let local = sock.local_addr().ok().and_then(|a| a.as_socket());
    Ok((sock, local))
}

/// Waits until the connect completes, fails, or an ICMPv6 error is queued for it. Errors read
/// from the error queue are also pushed to the feed (so every source goes through one path).
async fn wait_connect(
    sock: Socket,
    local: Option<SocketAddr>,
    recverr: bool,
    feed: IcmpFeed,
) -> Result<Socket, AttemptFail> {
    let v6_local: Option<SocketAddrV6> = match local {
        Some(SocketAddr::V6(l)) => Some(l),
        _ => None,
    };
    // SAFETY: the socket owns its fd, which stays open and the same until `into_inner` or drop.
    let afd =
        unsafe { AsyncFd::register_with_interest(sock, Interest::WRITABLE | Interest::ERROR) }
            .map_err(|e| AttemptFail::Errno(e.into_parts().1))?;
    loop {
        let mut guard = afd
            .ready(Interest::WRITABLE | Interest::ERROR)
            .await
            .map_err(AttemptFail::Errno)?;
        let mut icmp = None;
        if let (true, Some(l)) = (recverr, v6_local) {
            match errqueue::drain(afd.get_ref().as_fd(), l) {
                Ok(evs) => {
                    for ev in evs {
                        feed.push(ev.clone());
                        if ends_attempt(&ev) {
                            icmp.get_or_insert(ev);
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "reading the socket error queue"),
            }
        }
        // SO_ERROR also returns the "soft" error the kernel keeps while it retransmits the SYN.
        let err = afd.get_ref().take_error().map_err(AttemptFail::Errno)?;
        match (icmp, err) {
            (Some(ev), err) => return Err(AttemptFail::Icmp(ev, err)),
            (None, Some(e)) => return Err(AttemptFail::Errno(e)),
            (None, None) => {}
        }
        match afd.get_ref().peer_addr() {
            Ok(_) => return Ok(afd.into_inner()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => guard.clear_ready(),
            Err(e) => return Err(AttemptFail::Errno(e)),
        }
    }
}

/// A helper for callers that only have an IPv6 destination: the table's effective state.
pub fn state_label(table: &FallbackTable, addr: Ipv6Addr) -> &'static str {
    table.state_of(addr, Instant::now()).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn order_interleaves_and_respects_decisions() {
        let v6 = [
            (a("2001:db8::1"), Decision::Ipv6First),
            (a("2001:db8::2"), Decision::Ipv4First),
            (a("2001:db8::3"), Decision::Skip),
        ];
        let v4 = [a("198.18.0.1"), a("198.18.0.2")];
        let o: Vec<IpAddr> = order(&v6, &v4, Family::Ipv6)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(
            o,
            vec![
                a("2001:db8::1"),
                a("198.18.0.1"),
                a("2001:db8::2"),
                a("198.18.0.2")
            ]
        );
        // Only limited IPv6: IPv4 leads.
        let o: Vec<IpAddr> = order(&v6[1..], &v4, Family::Ipv6)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(o, vec![a("198.18.0.1"), a("2001:db8::2"), a("198.18.0.2")]);
        // Preferring IPv4.
        let o = order(&v6[..1], &v4, Family::Ipv4);
        assert_eq!(o[0].0, a("198.18.0.1"));
        // Nothing but blocked IPv6: nothing.
        assert!(order(&v6[2..], &[], Family::Ipv6).is_empty());
    }

    #[test]
    fn attempt_delay_floor() {
        let cfg = DialConfig {
            attempt_delay: Duration::from_millis(5),
            ..Default::default()
        };
        assert!(matches!(
            cfg.validate(),
            Err(Error::AttemptDelayTooShort { ms: 5 })
        ));
        assert!(DialConfig::default().validate().is_ok());
    }

    /// Loopback only: a listener on ::1 and on 127.0.0.1; the dialer connects over IPv6 first.
    #[tokio::test]
    async fn loopback_ipv6_wins_and_refused_is_not_a_fallback() {
        let l6 = std::net::TcpListener::bind("[::1]:0").unwrap();
        let port = l6.local_addr().unwrap().port();
        let table = Arc::new(FallbackTable::new(64, Default::default()));
        let d = Dialer::new(table.clone(), IcmpFeed::default(), DialConfig::default()).unwrap();
        let (s, r) = d
            .dial(Target::Addrs(vec![a("::1"), a("127.0.0.1")]), port)
            .await;
        assert!(s.is_some(), "{r:?}");
        assert_eq!(r.family, Some(Family::Ipv6));
        assert_eq!(r.attempts.len(), 1);
        // Nobody listens on 127.0.0.1:port: refused. ::1 then wins.
        drop(l6);
        let (s, r) = d
            .dial(Target::Addrs(vec![a("::1"), a("127.0.0.1")]), port)
            .await;
        assert!(s.is_none());
        assert_eq!(r.attempts.len(), 2, "{r:?}");
        assert!(r
            .attempts
            .iter()
            .all(|x| x.errno == Some(libc::ECONNREFUSED)));
        // Refused says the host is there: no fallback state.
        assert!(r.transitions.is_empty());
        assert_eq!(state_label(&table, Ipv6Addr::LOCALHOST), "normal");
    }
}
