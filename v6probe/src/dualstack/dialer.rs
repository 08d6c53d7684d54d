//! The Happy Eyeballs dialer (RFC 8305) driven by the fallback table: the async driver of a
//! [`DialPlan`], which makes every decision below without I/O.
//!
//! - AAAA and A resolved separately; when A answers first, wait up to the resolution delay
//!   (50 ms) for AAAA; late answers join the queue.
//! - Addresses interleaved by family (first-address-family count 1); the table decides per
//!   IPv6 address: IPv6 first (`normal`, probe), IPv4 first (`limited`), or skipped (`blocked`).
//! - A new attempt every attempt delay (default 250 ms, never under 10 ms), or at once when an
//!   attempt fails; the first connection wins and the others are cancelled.
//! - Every IPv6 socket sets IPV6_RECVERR: an ICMPv6 error ends the attempt the moment it arrives
//!   from the error queue (checked by the kernel), or from any other source pushing to the
//!   [`IcmpFeed`] once it passed the checksum and quotes the attempt's SYN (4-tuple and
//!   sequence number, read with TCP_REPAIR when the process may; see [`super::plan`]).
//! - TCP_USER_TIMEOUT per socket and an overall deadline bound everything.
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6},
    os::fd::AsFd,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
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
    plan::{Answer, DialPlan, Ended, Flow, IcmpAction, Ignored, PlanConfig, Step},
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
    /// ICMPv6 errors that quoted an attempt's 4-tuple but were not believed: the sequence
    /// number outside the SYN's window, or not checkable (present when not 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub icmp_ignored: u32,
    /// Fallback transitions this dial caused (printed as their own records).
    #[serde(skip)]
    pub transitions: Vec<Transition>,
}

impl DialReport {
    fn new(target: &Target, port: u16) -> Self {
        let host = match target {
            Target::Host(h) => h.clone(),
            Target::Addrs(a) => a
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(","),
        };
        Self {
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
            icmp_ignored: 0,
            transitions: Vec::new(),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug)]
enum AttemptFail {
    Errno(io::Error),
    Icmp(IcmpErrorEvent, Option<io::Error>),
}

/// The tasks of a dial's attempts; `live` holds those not ended yet, by attempt number.
#[derive(Default)]
struct Tasks {
    set: JoinSet<(usize, Result<Socket, AttemptFail>)>,
    live: HashMap<usize, AbortHandle>,
}

impl Tasks {
    fn cancel(&mut self, attempt: usize) {
        if let Some(h) = self.live.remove(&attempt) {
            h.abort();
        }
    }
}

/// A dialer sharing one fallback table and one ICMPv6 feed with others.
#[derive(Clone, Debug)]
pub struct Dialer {
    table: Arc<FallbackTable>,
    feed: IcmpFeed,
    cfg: DialConfig,
}

type Late = Pin<Box<dyn Future<Output = (Family, io::Result<Vec<IpAddr>>, f64)> + Send>>;

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
    ///
    /// The decisions are the [`DialPlan`]'s; this drives it: resolution, sockets, timers, the
    /// ICMPv6 feed, and the fallback table.
    pub async fn dial(&self, target: Target, port: u16) -> (Option<TcpStream>, DialReport) {
        let start = Instant::now();
        let mut rx = self.feed.subscribe();
        let mut report = DialReport::new(&target, port);
        let (v6, v4, mut late) = self
            .resolve_target(target, start, &mut report.resolution)
            .await;
        report.resolution.aaaa.clone_from(&v6);
        report.resolution.a.clone_from(&v4);
        let decided = self.decide(&v6, None, &mut report);
        let plan = DialPlan::new(
            self.plan_config(),
            port,
            decided,
            ipv4s(&v4),
            late.is_some(),
        );
        let mut run = Run {
            dialer: self,
            start,
            plan,
            tasks: Tasks::default(),
            report,
        };
        let winner = loop {
            let until = match run.plan.poll(run.elapsed()) {
                Step::Start {
                    attempt,
                    addr,
                    decision,
                } => {
                    run.start_attempt(attempt, addr, decision);
                    continue;
                }
                Step::Exhausted => break None,
                Step::Deadline => {
                    run.time_out();
                    break None;
                }
                Step::Wait { until } => tokio::time::Instant::from_std(start + until),
            };
            tokio::select! {
                biased;
                ev = rx.recv() => match ev {
                    Ok(ev) => run.on_icmp(ev),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "dialer lagged behind the ICMPv6 feed");
                    }
                    Err(RecvError::Closed) => {}
                },
                joined = run.tasks.set.join_next(), if !run.tasks.set.is_empty() => {
                    if let Some(Ok((attempt, res))) = joined {
                        if let Some(sock) = run.on_joined(attempt, res) {
                            break Some(sock);
                        }
                    }
                },
                _ = tokio::time::sleep_until(until) => {},
                res = async { match late.as_mut() { Some(f) => f.await, None => std::future::pending().await } }, if late.is_some() => {
                    late = None;
                    run.on_late(res);
                },
            }
        };
        run.tasks.set.abort_all();
        let mut report = run.report;
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

    /// Resolves per family (RFC 8305 section 3): the addresses to start with, and the answer
    /// still pending, if any.
    async fn resolve_target(
        &self,
        target: Target,
        start: Instant,
        res: &mut Resolution,
    ) -> (Vec<IpAddr>, Vec<IpAddr>, Option<Late>) {
        let ms = move || {
            Instant::now()
                .saturating_duration_since(start)
                .as_secs_f64()
                * 1000.0
        };
        match target {
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
                        (Family::Ipv6, r, ms())
                    }
                });
                let q4: Late = Box::pin(async move {
                    let r = resolve::lookup(h, Family::Ipv4).await;
                    (Family::Ipv4, r, ms())
                });
                let deadline = tokio::time::Instant::from_std(start + self.cfg.timeout);
                self.resolve(q6, q4, deadline, res).await
            }
        }
    }

    fn plan_config(&self) -> PlanConfig {
        PlanConfig {
            attempt_delay: self.cfg.attempt_delay,
            timeout: self.cfg.timeout,
            prefer: self.cfg.prefer,
        }
    }

    /// The table's decision for each IPv6 address (the plan's, when it already holds one);
    /// skipped addresses are recorded in the report.
    fn decide(
        &self,
        addrs: &[IpAddr],
        plan: Option<&DialPlan>,
        report: &mut DialReport,
    ) -> Vec<(Ipv6Addr, Decision)> {
        let now = Instant::now();
        let mut out = Vec::new();
        for a in addrs {
            let IpAddr::V6(a6) = a else { continue };
            let d = match plan.and_then(|p| p.decision(a6)) {
                Some(d) => d,
                None => self.table.decide(*a6, now, &mut report.transitions),
            };
            if d == Decision::Skip && !report.skipped.iter().any(|s| s.addr == *a) {
                report.skipped.push(Skipped {
                    addr: *a,
                    why: format!("fallback state {}", self.table.state_of(*a6, now).as_str()),
                });
            }
            out.push((*a6, d));
        }
        out
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

/// One dial in progress: the plan, the attempts' tasks, and the report being written.
struct Run<'a> {
    dialer: &'a Dialer,
    start: Instant,
    plan: DialPlan,
    tasks: Tasks,
    report: DialReport,
}

impl Run<'_> {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64() * 1000.0
    }

    fn start_attempt(&mut self, attempt: usize, addr: SocketAddr, decision: Option<Decision>) {
        debug_assert_eq!(attempt, self.report.attempts.len(), "numbered in order");
        self.report.attempts.push(AttemptRecord {
            addr,
            family: Family::of(&addr.ip()),
            local: None,
            decision,
            start_ms: self.ms(Instant::now()),
            end_ms: None,
            outcome: None,
            why: String::new(),
            errno: None,
            icmp: None,
        });
        match begin_connect(addr, &self.dialer.cfg) {
            Ok(Started { sock, local, isn }) => {
                self.report.attempts[attempt].local = local;
                if let (Some(SocketAddr::V6(local)), SocketAddr::V6(remote)) = (local, addr) {
                    self.plan.set_flow(attempt, Flow { local, remote, isn });
                }
                let feed = self.dialer.feed.clone();
                let recverr = self.dialer.cfg.recverr;
                let abort = self.tasks.set.spawn(async move {
                    (attempt, wait_connect(sock, local, recverr, feed).await)
                });
                self.tasks.live.insert(attempt, abort);
            }
            Err(e) => self.failed(attempt, AttemptFail::Errno(e)),
        }
    }

    /// The deadline passed: what is still in flight timed out.
    fn time_out(&mut self) {
        let now = Instant::now();
        for e in self.plan.deadline(self.elapsed()) {
            self.tasks.cancel(e.attempt);
            let end_ms = self.ms(now);
            let rec = &mut self.report.attempts[e.attempt];
            rec.end_ms = Some(end_ms);
            rec.outcome = Some(Outcome::TimedOut);
            rec.why = format!(
                "no answer before the {} ms deadline",
                self.dialer.cfg.timeout.as_millis()
            );
            if let SocketAddr::V6(r) = e.addr {
                self.report.transitions.extend(self.dialer.table.observe(
                    *r.ip(),
                    Observation::Timeout,
                    now,
                ));
            }
        }
    }

    fn on_icmp(&mut self, ev: IcmpErrorEvent) {
        match self.plan.on_icmp(&ev) {
            IcmpAction::EndAttempt(i) => {
                self.tasks.cancel(i);
                self.failed(i, AttemptFail::Icmp(ev, None));
            }
            // Packet too big: an MTU to record, never the end of an attempt.
            IcmpAction::RecordMtu(_) => {
                self.dialer
                    .table
                    .record_mtu(ev.quoted_dst, ev.mtu, Instant::now());
            }
            IcmpAction::Ignore(why @ (Ignored::OutOfWindow | Ignored::Unverified)) => {
                self.report.icmp_ignored = self.report.icmp_ignored.saturating_add(1);
                tracing::debug!(
                    ?why,
                    ?ev,
                    "ICMPv6 error quoting an attempt's flow not believed"
                );
            }
            IcmpAction::Ignore(Ignored::NotOurs | Ignored::NoEffect) => {}
        }
    }

    /// An attempt's task ended: the winner's socket, if it connected.
    fn on_joined(&mut self, attempt: usize, res: Result<Socket, AttemptFail>) -> Option<Socket> {
        // Not live any more: an ICMPv6 error already ended it.
        self.tasks.live.remove(&attempt)?;
        let sock = match res {
            Ok(sock) => sock,
            Err(fail) => {
                self.failed(attempt, fail);
                return None;
            }
        };
        let now = Instant::now();
        let end_ms = self.ms(now);
        let rec = &mut self.report.attempts[attempt];
        rec.end_ms = Some(end_ms);
        rec.outcome = Some(Outcome::Connected);
        rec.why = "connected".into();
        let (addr, family) = (rec.addr, rec.family);
        self.report.winner = Some(addr);
        self.report.family = Some(family);
        self.report.time_to_connect_ms = Some(end_ms);
        if let SocketAddr::V6(r) = addr {
            self.report.transitions.extend(self.dialer.table.observe(
                *r.ip(),
                Observation::Success,
                now,
            ));
        }
        for e in self.plan.connected(attempt, self.elapsed()) {
            self.tasks.cancel(e.attempt);
            self.cancelled(e, now);
        }
        Some(sock)
    }

    /// The pending DNS answer arrived.
    fn on_late(&mut self, (fam, r, at): (Family, io::Result<Vec<IpAddr>>, f64)) {
        let res = &mut self.report.resolution;
        let answer = match (fam, r) {
            (Family::Ipv6, Ok(a)) => {
                res.aaaa_ms = Some(at);
                res.aaaa.clone_from(&a);
                Answer::Ipv6(self.dialer.decide(&a, Some(&self.plan), &mut self.report))
            }
            (Family::Ipv4, Ok(a)) => {
                res.a_ms = Some(at);
                res.a.clone_from(&a);
                Answer::Ipv4(ipv4s(&a))
            }
            (_, Err(e)) => {
                res.errors.push(e.to_string());
                Answer::Failed
            }
        };
        self.plan.late_answer(answer);
    }

    /// Records a failed attempt, feeds what it learned to the table, and tells the plan.
    fn failed(&mut self, attempt: usize, fail: AttemptFail) {
        let now = Instant::now();
        let end_ms = self.ms(now);
        let rec = &mut self.report.attempts[attempt];
        rec.end_ms = Some(end_ms);
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
            self.report
                .transitions
                .extend(self.dialer.table.observe(*r.ip(), obs, now));
        }
        self.plan.failed(attempt, self.elapsed());
    }

    /// Records an attempt the winner cancelled. An IPv6 attempt still unanswered a whole
    /// attempt delay after it started, while another connection completed, met a silent path
    /// (a drop, no ICMPv6): the "connect timeout" input, `limited` for the pause.
    fn cancelled(&mut self, e: Ended, now: Instant) {
        let end_ms = self.ms(now);
        let rec = &mut self.report.attempts[e.attempt];
        rec.end_ms = Some(end_ms);
        rec.outcome = Some(Outcome::Cancelled);
        rec.why = "another attempt connected first".into();
        if let (SocketAddr::V6(r), true) = (e.addr, e.silent) {
            rec.why = format!(
                "another attempt connected first; no answer within the {} ms attempt delay",
                self.dialer.cfg.attempt_delay.as_millis()
            );
            self.report.transitions.extend(self.dialer.table.observe(
                *r.ip(),
                Observation::Timeout,
                now,
            ));
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

fn ipv4s(addrs: &[IpAddr]) -> Vec<Ipv4Addr> {
    addrs
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        })
        .collect()
}

/// Creates the socket and starts a non-blocking connect. Returns the socket and its local
/// address (for matching ICMPv6 errors to the attempt).
fn begin_connect(addr: SocketAddr, cfg: &DialConfig) -> io::Result<Started> {
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
    let connecting = match sock.connect(&SockAddr::from(addr)) {
        Ok(()) => false,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
        Err(e) => return Err(e),
    };
    let local = sock.local_addr().ok().and_then(|a| a.as_socket());
    let isn = (connecting && addr.is_ipv6())
        .then(|| syn_sequence(&sock))
        .flatten();
    Ok(Started { sock, local, isn })
}

/// A socket whose connect has begun.
struct Started {
    sock: Socket,
    local: Option<SocketAddr>,
    /// Its SYN's sequence number, when readable.
    isn: Option<u32>,
}

/// Set once reading a SYN's sequence number was refused (no CAP_NET_ADMIN): not tried again.
static SEQUENCE_REFUSED: AtomicBool = AtomicBool::new(false);

/// The SYN's sequence number of a connecting socket, so that ICMPv6 errors from sources the
/// kernel did not check can be held to the kernel's window test; `None` without the privilege
/// (then only the socket error queue can end an attempt early).
fn syn_sequence(sock: &Socket) -> Option<u32> {
    if SEQUENCE_REFUSED.load(Ordering::Relaxed) {
        return None;
    }
    match errqueue::syn_sequence(sock.as_fd()) {
        Ok(isn) => Some(isn),
        Err(e) => {
            if matches!(e.raw_os_error(), Some(libc::EPERM))
                || e.kind() == io::ErrorKind::Unsupported
            {
                SEQUENCE_REFUSED.store(true, Ordering::Relaxed);
                tracing::info!(
                    "SYN sequence numbers are not readable ({e}): ICMPv6 errors from sources \
                     other than the socket error queue are not believed"
                );
            } else {
                tracing::debug!(error = %e, "reading the SYN's sequence number");
            }
            None
        }
    }
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
