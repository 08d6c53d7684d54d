//! The dial's decisions without I/O or a clock: which attempt starts next, when, and to which
//! address; what the end of an attempt, a late DNS answer, an ICMPv6 error or the deadline do.
//! Time comes in as a [`Duration`] since the dial started, so tests drive the plan with plain
//! values (like `scan::sched`); [`super::dialer`] is the async driver that owns the sockets,
//! the resolver and the timers, and reports to the plan what happened.
//!
//! RFC 8305: addresses interleaved by family (first-address-family count 1), a new attempt
//! every attempt delay or at once when one fails, the first connection wins. The fallback
//! table's decision for each IPv6 address is an input: `ipv6_first` and `probe` lead,
//! `ipv4_first` (limited) come after the first IPv4 address and are held back while the A
//! answer is pending (at most one attempt delay), `skip` (blocked) are left out unless nothing
//! else is left to try.
//!
//! An ICMPv6 error counts only if it quotes a flow of an attempt in flight: the TCP 4-tuple,
//! and, unless the kernel already checked it (the socket error queue), the sequence number of
//! the attempt's SYN within the send window, the test `tcp_v6_err()` applies (`snd_una <= seq
//! <= snd_nxt`, which for a SYN is the initial sequence number or one past it). Then a
//! destination unreachable or time exceeded ends the attempt, and a packet too big is an MTU
//! to record, never the end of an attempt.
use std::{
    collections::VecDeque,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6},
    time::Duration,
};

use super::{
    icmp::{
        IcmpErrorEvent, IcmpSource, ICMPV6_DEST_UNREACH, ICMPV6_PACKET_TOO_BIG,
        ICMPV6_TIME_EXCEEDED,
    },
    resolve::Family,
    state::Decision,
};

/// The plan's settings (from [`super::DialConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanConfig {
    /// Delay between starting attempts.
    pub attempt_delay: Duration,
    /// Deadline of the whole dial, from its start.
    pub timeout: Duration,
    /// Which family leads when the table says nothing against IPv6.
    pub prefer: Family,
}

/// What the driver should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Start attempt number `attempt` (0, 1, ...) to `addr` now.
    Start {
        attempt: usize,
        addr: SocketAddr,
        decision: Option<Decision>,
    },
    /// Nothing to start before `until`: wait for it, or for an event (an attempt ending, a
    /// late answer, an ICMPv6 error).
    Wait { until: Duration },
    /// Every attempt ended without a connection and nothing is left to try or to wait for.
    Exhausted,
    /// The deadline passed: [`DialPlan::deadline`] lists the attempts that timed out.
    Deadline,
}

/// The late DNS answer a dial was still waiting for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// AAAA, with the table's decision for each address.
    Ipv6(Vec<(Ipv6Addr, Decision)>),
    /// A.
    Ipv4(Vec<Ipv4Addr>),
    /// The lookup failed.
    Failed,
}

/// The flow an attempt's SYN belongs to, for matching ICMPv6 errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub local: SocketAddrV6,
    pub remote: SocketAddrV6,
    /// The SYN's sequence number, when it could be read (TCP_REPAIR needs CAP_NET_ADMIN).
    pub isn: Option<u32>,
}

/// What an ICMPv6 error does to the dial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpAction {
    /// Destination unreachable or time exceeded about attempt `attempt`'s SYN: it ends now.
    EndAttempt(usize),
    /// Packet too big about attempt `attempt`'s flow: an MTU to record, never an end.
    RecordMtu(usize),
    /// Nothing: see the reason.
    Ignore(Ignored),
}

/// Why an ICMPv6 error was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// It quotes no flow of an attempt in flight.
    NotOurs,
    /// It quotes our 4-tuple with a sequence number outside the SYN's window (forged, or
    /// about an older connection).
    OutOfWindow,
    /// It quotes our 4-tuple, but the sequence number could not be checked (the SYN's was
    /// not readable, or the quote is too short) and the kernel did not check it either.
    Unverified,
    /// A type that says nothing about the attempt (parameter problem).
    NoEffect,
}

/// An attempt still in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight {
    pub attempt: usize,
    pub addr: SocketAddr,
    pub started: Duration,
    pub flow: Option<Flow>,
}

impl InFlight {
    /// An IPv6 attempt unanswered for a whole attempt delay: the path drops silently.
    fn silent(&self, now: Duration, delay: Duration) -> bool {
        self.addr.is_ipv6() && now.saturating_sub(self.started) >= delay
    }
}

/// An attempt ended by the plan (cancelled or timed out), for the driver to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    pub attempt: usize,
    pub addr: SocketAddr,
    /// An IPv6 attempt that got no answer within the attempt delay: a connect timeout for
    /// the fallback table.
    pub silent: bool,
}

/// The state of one dial.
#[derive(Debug)]
pub struct DialPlan {
    cfg: PlanConfig,
    port: u16,
    v6: Vec<(Ipv6Addr, Decision)>,
    v4: Vec<Ipv4Addr>,
    /// A DNS answer is still to come.
    pending: bool,
    /// `limited` IPv6 addresses are held back until the A answer or one attempt delay.
    held: bool,
    queue: VecDeque<(IpAddr, Option<Decision>)>,
    tried: Vec<IpAddr>,
    started: usize,
    in_flight: Vec<InFlight>,
    next_at: Duration,
    connected: bool,
}

impl DialPlan {
    /// A plan over the first answers; `pending`: the other family's answer is still to come.
    pub fn new(
        cfg: PlanConfig,
        port: u16,
        v6: Vec<(Ipv6Addr, Decision)>,
        v4: Vec<Ipv4Addr>,
        pending: bool,
    ) -> Self {
        let mut p = Self {
            cfg,
            port,
            v6,
            v4,
            pending,
            held: false,
            queue: VecDeque::new(),
            tried: Vec::new(),
            started: 0,
            in_flight: Vec::new(),
            next_at: Duration::ZERO,
            connected: false,
        };
        p.rebuild(pending);
        p
    }

    /// The decision the plan holds for `a` (one decision per address per dial:
    /// asking the table again would see this dial's own probe claim and skip the address).
    pub fn decision(&self, a: &Ipv6Addr) -> Option<Decision> {
        self.v6.iter().find(|(x, _)| x == a).map(|(_, d)| *d)
    }

    /// Rebuilds the queue from the addresses not tried yet. `more_coming`: an answer may still
    /// bring IPv4, so `limited` IPv6 may be held back.
    fn rebuild(&mut self, more_coming: bool) {
        let mut decided: Vec<(IpAddr, Decision)> = self
            .v6
            .iter()
            .map(|(a, d)| (IpAddr::V6(*a), *d))
            .filter(|(a, _)| !self.tried.contains(a))
            .collect();
        let v4: Vec<IpAddr> = self
            .v4
            .iter()
            .map(|a| IpAddr::V4(*a))
            .filter(|a| !self.tried.contains(a))
            .collect();
        self.held =
            more_coming && v4.is_empty() && decided.iter().any(|(_, d)| *d == Decision::Ipv4First);
        if self.held {
            decided.retain(|(_, d)| *d != Decision::Ipv4First);
        }
        let mut ordered = order(&decided, &v4, self.cfg.prefer);
        if ordered.is_empty() && v4.is_empty() && !more_coming {
            // Everything blocked, no other family, and no answer still to come: try the
            // blocked addresses after all rather than fail without trying.
            ordered = decided.iter().map(|(a, d)| (*a, Some(*d))).collect();
        }
        self.queue = ordered.into();
    }

    /// The answer the dial was waiting for arrived.
    pub fn late_answer(&mut self, answer: Answer) {
        self.pending = false;
        match answer {
            Answer::Ipv6(v6) => self.v6 = v6,
            Answer::Ipv4(v4) => self.v4 = v4,
            Answer::Failed => {}
        }
        self.rebuild(false);
    }

    /// Whether a DNS answer is still awaited.
    pub fn pending(&self) -> bool {
        self.pending
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Duration) -> Step {
        if self.connected {
            return Step::Exhausted;
        }
        if now >= self.cfg.timeout {
            return Step::Deadline;
        }
        if self.held && now >= self.cfg.attempt_delay {
            // A did not come within the attempt delay: race the held IPv6 now.
            self.rebuild(false);
        }
        if !self.queue.is_empty() && (self.in_flight.is_empty() || now >= self.next_at) {
            if let Some((ip, decision)) = self.queue.pop_front() {
                let addr = SocketAddr::new(ip, self.port);
                let attempt = self.started;
                self.started += 1;
                self.tried.push(ip);
                self.in_flight.push(InFlight {
                    attempt,
                    addr,
                    started: now,
                    flow: None,
                });
                self.next_at = now + self.cfg.attempt_delay;
                return Step::Start {
                    attempt,
                    addr,
                    decision,
                };
            }
        }
        if self.in_flight.is_empty() && self.queue.is_empty() && !self.pending {
            return Step::Exhausted;
        }
        let mut until = self.cfg.timeout;
        if !self.queue.is_empty() {
            until = until.min(self.next_at);
        }
        if self.held {
            until = until.min(self.cfg.attempt_delay);
        }
        Step::Wait { until }
    }

    /// The flow of attempt `attempt` (its socket's local and remote address and, if readable,
    /// its SYN's sequence number), for matching ICMPv6 errors.
    pub fn set_flow(&mut self, attempt: usize, flow: Flow) {
        if let Some(f) = self.in_flight.iter_mut().find(|f| f.attempt == attempt) {
            f.flow = Some(flow);
        }
    }

    fn take(&mut self, attempt: usize) -> Option<InFlight> {
        let i = self.in_flight.iter().position(|f| f.attempt == attempt)?;
        Some(self.in_flight.swap_remove(i))
    }

    /// Attempt `attempt` failed (errno or ICMPv6): the next one starts at once.
    pub fn failed(&mut self, attempt: usize, now: Duration) {
        if self.take(attempt).is_some() {
            self.next_at = now;
        }
    }

    /// Attempt `attempt` connected: the dial is won. Returns the others, cancelled.
    pub fn connected(&mut self, attempt: usize, now: Duration) -> Vec<Ended> {
        self.take(attempt);
        self.connected = true;
        self.queue.clear();
        self.drain(now)
    }

    /// The deadline passed: every attempt in flight timed out.
    pub fn deadline(&mut self, now: Duration) -> Vec<Ended> {
        self.queue.clear();
        self.pending = false;
        self.held = false;
        self.drain(now)
    }

    fn drain(&mut self, now: Duration) -> Vec<Ended> {
        let delay = self.cfg.attempt_delay;
        let mut v: Vec<Ended> = self
            .in_flight
            .drain(..)
            .map(|f| Ended {
                attempt: f.attempt,
                addr: f.addr,
                silent: f.silent(now, delay),
            })
            .collect();
        v.sort_by_key(|e| e.attempt);
        v
    }

    /// What an ICMPv6 error does (see the module documentation).
    pub fn on_icmp(&self, ev: &IcmpErrorEvent) -> IcmpAction {
        let Some(f) = self.in_flight.iter().find(|f| {
            f.flow.is_some_and(|fl| {
                ev.matches_tcp(
                    *fl.local.ip(),
                    fl.local.port(),
                    *fl.remote.ip(),
                    fl.remote.port(),
                )
            })
        }) else {
            return IcmpAction::Ignore(Ignored::NotOurs);
        };
        // The socket error queue only carries errors the kernel matched to the socket, with
        // their sequence number inside the window.
        if ev.source != IcmpSource::Errqueue {
            let isn = f.flow.and_then(|fl| fl.isn);
            match (isn, ev.quoted_seq) {
                (Some(isn), Some(seq)) if in_syn_window(isn, seq) => {}
                (Some(_), Some(_)) => return IcmpAction::Ignore(Ignored::OutOfWindow),
                _ => return IcmpAction::Ignore(Ignored::Unverified),
            }
        }
        match ev.icmp_type {
            ICMPV6_DEST_UNREACH | ICMPV6_TIME_EXCEEDED => IcmpAction::EndAttempt(f.attempt),
            ICMPV6_PACKET_TOO_BIG => IcmpAction::RecordMtu(f.attempt),
            _ => IcmpAction::Ignore(Ignored::NoEffect),
        }
    }

    /// The attempts in flight.
    pub fn in_flight(&self) -> &[InFlight] {
        &self.in_flight
    }
}

/// `tcp_v6_err()`'s window test for a socket in SYN-SENT: `snd_una <= seq <= snd_nxt` (modulo
/// 2^32), where `snd_una` is the initial sequence number and `snd_nxt` one past it.
pub fn in_syn_window(isn: u32, seq: u32) -> bool {
    seq.wrapping_sub(isn) <= 1
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const CFG: PlanConfig = PlanConfig {
        attempt_delay: Duration::from_millis(250),
        timeout: Duration::from_secs(10),
        prefer: Family::Ipv6,
    };

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }
    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A plan for port 80 over one IPv6 address with its decision and at most one IPv4.
    fn plan(v6_addr: (&str, Decision), v4_addr: Option<&str>, pending: bool) -> DialPlan {
        DialPlan::new(
            CFG,
            80,
            vec![(v6(v6_addr.0), v6_addr.1)],
            v4_addr.map(v4).into_iter().collect(),
            pending,
        )
    }

    /// Starts what the plan says at `now`; returns (attempt, addr) or the step.
    fn start(p: &mut DialPlan, now: Duration) -> (usize, IpAddr) {
        match p.poll(now) {
            Step::Start { attempt, addr, .. } => (attempt, addr.ip()),
            s => panic!("expected a start at {now:?}, got {s:?}"),
        }
    }

    fn flow(local: &str, remote: &str, isn: Option<u32>) -> Flow {
        Flow {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            isn,
        }
    }

    fn icmp(t: u8, src: IcmpSource, seq: Option<u32>) -> IcmpErrorEvent {
        IcmpErrorEvent {
            icmp_type: t,
            code: 0,
            mtu: if t == ICMPV6_PACKET_TOO_BIG { 1280 } else { 0 },
            offender: None,
            quoted_src: v6("fd00:c::2"),
            quoted_dst: v6("fd00:5::2"),
            quoted_proto: 6,
            quoted_src_port: 40000,
            quoted_dst_port: 80,
            quoted_seq: seq,
            seen_at: Instant::now(),
            seen: String::new(),
            source: src,
        }
    }

    #[test]
    fn ipv6_first_then_ipv4_after_the_attempt_delay_or_at_once_on_failure() {
        let mut p = plan(
            ("fd00:5::2", Decision::Ipv6First),
            Some("198.18.2.2"),
            false,
        );
        assert_eq!(start(&mut p, Duration::ZERO), (0, a("fd00:5::2")));
        assert_eq!(
            p.poll(10 * MS),
            Step::Wait {
                until: CFG.attempt_delay
            }
        );
        assert_eq!(start(&mut p, CFG.attempt_delay), (1, a("198.18.2.2")));
        // Both in flight, nothing left: wait for them (bounded by the deadline).
        assert_eq!(p.poll(300 * MS), Step::Wait { until: CFG.timeout });
        p.failed(0, 400 * MS);
        p.failed(1, 500 * MS);
        assert_eq!(p.poll(500 * MS), Step::Exhausted);

        // A failure before the delay starts the next attempt at once.
        let mut p = plan(
            ("fd00:5::2", Decision::Ipv6First),
            Some("198.18.2.2"),
            false,
        );
        start(&mut p, Duration::ZERO);
        p.failed(0, 3 * MS);
        assert_eq!(start(&mut p, 3 * MS), (1, a("198.18.2.2")));
    }

    #[test]
    fn connected_cancels_the_rest_and_flags_silent_ipv6() {
        let mut p = plan(
            ("fd00:5::2", Decision::Ipv6First),
            Some("198.18.2.2"),
            false,
        );
        start(&mut p, Duration::ZERO);
        start(&mut p, CFG.attempt_delay);
        let ended = p.connected(1, 260 * MS);
        assert_eq!(
            ended,
            vec![Ended {
                attempt: 0,
                addr: "[fd00:5::2]:80".parse().unwrap(),
                silent: true
            }]
        );
        assert_eq!(p.poll(261 * MS), Step::Exhausted);
        // Not silent when cancelled before a whole attempt delay.
        let mut p = plan(
            ("fd00:5::2", Decision::Ipv6First),
            Some("198.18.2.2"),
            false,
        );
        start(&mut p, Duration::ZERO);
        p.failed(0, MS);
        start(&mut p, MS);
        assert!(p.connected(1, 2 * MS).is_empty());
    }

    #[test]
    fn limited_ipv6_is_held_until_a_answers_or_one_attempt_delay() {
        // Only AAAA so far, its address limited, A pending: nothing to start yet.
        let mut p = plan(("fd00:5::2", Decision::Ipv4First), None, true);
        assert_eq!(
            p.poll(Duration::ZERO),
            Step::Wait {
                until: CFG.attempt_delay
            }
        );
        // A answers at 20 ms: IPv4 first, then the limited IPv6.
        p.late_answer(Answer::Ipv4(vec![v4("198.18.2.2")]));
        assert_eq!(start(&mut p, 20 * MS), (0, a("198.18.2.2")));
        assert_eq!(start(&mut p, 270 * MS), (1, a("fd00:5::2")));

        // A never answers: the held IPv6 goes after one attempt delay.
        let mut p = plan(("fd00:5::2", Decision::Ipv4First), None, true);
        assert!(matches!(p.poll(100 * MS), Step::Wait { .. }));
        assert_eq!(start(&mut p, CFG.attempt_delay), (0, a("fd00:5::2")));
        // Still waiting for the A answer after that attempt failed.
        p.failed(0, 300 * MS);
        assert!(matches!(p.poll(300 * MS), Step::Wait { .. }));
        p.late_answer(Answer::Failed);
        assert_eq!(p.poll(301 * MS), Step::Exhausted);
    }

    #[test]
    fn blocked_is_skipped_unless_nothing_else_is_left() {
        let mut p = plan(("fd00:5::2", Decision::Skip), Some("198.18.2.2"), false);
        assert_eq!(start(&mut p, Duration::ZERO), (0, a("198.18.2.2")));
        p.failed(0, MS);
        assert_eq!(p.poll(MS), Step::Exhausted);
        // Nothing but blocked IPv6 and no answer to come: tried after all.
        let mut p = plan(("fd00:5::2", Decision::Skip), None, false);
        assert_eq!(p.decision(&v6("fd00:5::2")), Some(Decision::Skip));
        match p.poll(Duration::ZERO) {
            Step::Start { decision, .. } => assert_eq!(decision, Some(Decision::Skip)),
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn deadline_times_out_what_is_in_flight() {
        let mut p = plan(("fd00:5::2", Decision::Ipv6First), None, false);
        start(&mut p, Duration::ZERO);
        assert_eq!(p.poll(CFG.timeout), Step::Deadline);
        let ended = p.deadline(CFG.timeout);
        assert_eq!(ended.len(), 1);
        assert!(ended[0].silent);
        assert_eq!(p.poll(CFG.timeout), Step::Deadline);
        assert!(p.in_flight().is_empty());
    }

    #[test]
    fn icmp_errors_count_only_for_our_flows_within_the_syn_window() {
        let mut p = plan(("fd00:5::2", Decision::Ipv6First), None, false);
        start(&mut p, Duration::ZERO);
        // Before the flow is known nothing matches.
        let unreach = |src, seq| icmp(ICMPV6_DEST_UNREACH, src, seq);
        assert_eq!(
            p.on_icmp(&unreach(IcmpSource::Errqueue, None)),
            IcmpAction::Ignore(Ignored::NotOurs)
        );
        p.set_flow(
            0,
            flow("[fd00:c::2]:40000", "[fd00:5::2]:80", Some(u32::MAX)),
        );
        // The error queue: checked by the kernel.
        assert_eq!(
            p.on_icmp(&unreach(IcmpSource::Errqueue, None)),
            IcmpAction::EndAttempt(0)
        );
        // Another source: the SYN's sequence number (or one past it, wrapping) is needed.
        for (seq, want) in [
            (Some(u32::MAX), IcmpAction::EndAttempt(0)),
            (Some(0), IcmpAction::EndAttempt(0)),
            (Some(1), IcmpAction::Ignore(Ignored::OutOfWindow)),
            (Some(12345), IcmpAction::Ignore(Ignored::OutOfWindow)),
            (None, IcmpAction::Ignore(Ignored::Unverified)),
        ] {
            assert_eq!(
                p.on_icmp(&unreach(IcmpSource::Observer, seq)),
                want,
                "{seq:?}"
            );
        }
        assert_eq!(
            p.on_icmp(&icmp(
                ICMPV6_PACKET_TOO_BIG,
                IcmpSource::Observer,
                Some(u32::MAX)
            )),
            IcmpAction::RecordMtu(0)
        );
        assert_eq!(
            p.on_icmp(&icmp(4, IcmpSource::Observer, Some(u32::MAX))),
            IcmpAction::Ignore(Ignored::NoEffect)
        );
        let mut other = unreach(IcmpSource::Observer, Some(u32::MAX));
        other.quoted_src_port = 40001;
        assert_eq!(p.on_icmp(&other), IcmpAction::Ignore(Ignored::NotOurs));
        // Without the SYN's sequence number, only the kernel's word counts.
        p.set_flow(0, flow("[fd00:c::2]:40000", "[fd00:5::2]:80", None));
        assert_eq!(
            p.on_icmp(&unreach(IcmpSource::Observer, Some(7))),
            IcmpAction::Ignore(Ignored::Unverified)
        );
        // An attempt that ended is no longer a target.
        p.failed(0, MS);
        assert_eq!(
            p.on_icmp(&unreach(IcmpSource::Errqueue, None)),
            IcmpAction::Ignore(Ignored::NotOurs)
        );
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
}
