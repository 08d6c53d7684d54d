//! The probe scheduler: which target to probe next and when, with a rate limit, retries, a
//! per-probe timeout and a cap on probes in flight. No I/O and no clock: the caller passes the
//! time (nanoseconds since the scan started) to [`Scheduler::poll`] and reports answers with
//! [`Scheduler::on_answer`]; tests drive it with a fake clock.
//!
//! Life of a target: queued -> probe sent (in flight until `timeout`) -> answered (no more
//! probes), or timed out -> queued for a retry while it has tries left -> exhausted. The scan is
//! done once nothing is queued or in flight and `timeout` has passed since the last probe, so
//! late and duplicate replies to the last probes are still heard.
//!
//! Pacing is by deadline: probe `k` of a paced run is due at `epoch + k / rate`, and
//! [`Scheduler::poll`] hands out every probe that is due, so a driver that wakes late (timer
//! granularity, a busy CPU) catches up and the average rate stays the set one. The catch-up is
//! bounded: a driver more than [`MAX_LAG_NS`] behind (or a scheduler that had nothing to send
//! for a while) gets at most [`Scheduler::burst`] probes back to back, then the pace again.
//!
//! Order: first probes before retries. Every target's first probe goes out at the set rate
//! (all are out by `targets / rate`), and the retries that fall due meanwhile are sent in the
//! order they fell due once the first pass is over, so the link stays busy until the last
//! probe and the scan ends one timeout after it: within `max(targets / rate + timeout x
//! (retries + 1), probes / rate + timeout)`, the least any scheduler with this rate needs.
use std::collections::VecDeque;

/// How far behind its deadlines the pacing may fall and still catch up (10 ms of probes).
pub const MAX_LAG_NS: u64 = 10_000_000;

/// Scheduler settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedConfig {
    /// Probes per second; 0 is unlimited.
    pub rate: u64,
    /// Extra probes after the first for a target that has not answered.
    pub retries: u32,
    /// How long to wait for an answer to each probe, in nanoseconds.
    pub timeout_ns: u64,
    /// At most this many targets with a probe in flight.
    pub max_in_flight: usize,
}

/// What the driver should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a probe to target `index` now (counted as sent).
    Send(usize),
    /// Nothing is due before this time (ns since start); receive until then.
    Wait(u64),
    /// Every target is answered or exhausted and the last probe's timeout passed.
    Done,
}

/// Counters for progress display and the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub targets: usize,
    pub sent: u64,
    pub answered: usize,
    /// Answered or out of tries.
    pub finished: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Queued,
    InFlight,
    Answered,
    Exhausted,
}

pub struct Scheduler {
    cfg: SchedConfig,
    state: Vec<State>,
    tries: Vec<u32>,
    next_new: usize,
    retry: VecDeque<usize>,
    /// (deadline, target, try number), in deadline order (deadlines are send time + a constant).
    deadlines: VecDeque<(u64, usize, u32)>,
    in_flight: usize,
    /// Pacing: paced probe `paced` (counted from `epoch`) is due at `epoch + paced / rate`.
    epoch: u64,
    paced: u64,
    last_send: Option<u64>,
    progress: Progress,
}

impl Scheduler {
    pub fn new(targets: usize, cfg: SchedConfig) -> Self {
        Self {
            cfg: SchedConfig {
                max_in_flight: cfg.max_in_flight.max(1),
                ..cfg
            },
            state: vec![State::Queued; targets],
            tries: vec![0; targets],
            next_new: 0,
            retry: VecDeque::new(),
            deadlines: VecDeque::new(),
            in_flight: 0,
            epoch: 0,
            paced: 0,
            last_send: None,
            progress: Progress {
                targets,
                ..Progress::default()
            },
        }
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Probes sent to target `index` so far.
    pub fn tries(&self, index: usize) -> u32 {
        self.tries.get(index).copied().unwrap_or(0)
    }

    /// Target `index` answered: no more probes for it. Unknown indices and repeats are ignored.
    pub fn on_answer(&mut self, index: usize) {
        let Some(s) = self.state.get_mut(index) else {
            return;
        };
        match *s {
            State::Answered => return,
            State::InFlight => self.in_flight -= 1,
            State::Exhausted => self.progress.finished -= 1,
            State::Queued => {}
        }
        *s = State::Answered;
        self.progress.answered += 1;
        self.progress.finished += 1;
    }

    /// The most probes [`Self::poll`] hands out back to back when the driver is late or after
    /// an idle spell: [`MAX_LAG_NS`] of probes at the set rate, plus one (unlimited: all).
    pub fn burst(&self) -> u64 {
        if self.cfg.rate == 0 {
            return u64::MAX;
        }
        (u128::from(MAX_LAG_NS) * u128::from(self.cfg.rate) / 1_000_000_000) as u64 + 1
    }

    /// When paced probe `k` (counted from `epoch`) is due.
    fn due(&self, k: u64) -> u64 {
        let ns = u128::from(k) * 1_000_000_000 / u128::from(self.cfg.rate.max(1));
        self.epoch
            .saturating_add(ns.min(u128::from(u64::MAX)) as u64)
    }

    fn expire(&mut self, now: u64) {
        while let Some(&(deadline, i, try_no)) = self.deadlines.front() {
            if self.state[i] != State::InFlight || self.tries[i] != try_no {
                self.deadlines.pop_front(); // answered since: a stale deadline
                continue;
            }
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            self.in_flight -= 1;
            if self.tries[i] <= self.cfg.retries {
                self.state[i] = State::Queued;
                self.retry.push_back(i);
            } else {
                self.state[i] = State::Exhausted;
                self.progress.finished += 1;
            }
        }
    }

    /// The next target to probe: the next one never probed, else the oldest retry due.
    fn next_target(&mut self) -> Option<usize> {
        while self.next_new < self.state.len() {
            if self.state[self.next_new] == State::Queued && self.tries[self.next_new] == 0 {
                return Some(self.next_new);
            }
            self.next_new += 1; // answered before we asked (e.g. an early reply)
        }
        while let Some(&i) = self.retry.front() {
            if self.state[i] == State::Queued {
                return Some(i);
            }
            self.retry.pop_front(); // answered late, after its probe timed out
        }
        None
    }

    /// The next action at time `now` (ns since the scan started; must not go backwards).
    pub fn poll(&mut self, now: u64) -> Action {
        self.expire(now);
        if let Some(i) = self.next_target() {
            if self.in_flight < self.cfg.max_in_flight {
                if self.cfg.rate > 0 {
                    let at = self.due(self.paced);
                    if at > now {
                        return Action::Wait(self.earliest_deadline().map_or(at, |d| d.min(at)));
                    }
                    if now - at > MAX_LAG_NS {
                        // Too far behind (or idle): catch up by one burst at most.
                        self.epoch = now - MAX_LAG_NS;
                        self.paced = 0;
                    }
                    self.paced += 1;
                }
                if self.next_new == i && self.tries[i] == 0 {
                    self.next_new += 1;
                } else {
                    self.retry.pop_front();
                }
                self.tries[i] += 1;
                self.state[i] = State::InFlight;
                self.in_flight += 1;
                self.deadlines
                    .push_back((now + self.cfg.timeout_ns, i, self.tries[i]));
                self.last_send = Some(now);
                self.progress.sent += 1;
                return Action::Send(i);
            }
        }
        if let Some(d) = self.earliest_deadline() {
            return Action::Wait(d);
        }
        // Nothing left to send: linger for replies to the last probe.
        match self.last_send {
            Some(t) if now < t + self.cfg.timeout_ns => Action::Wait(t + self.cfg.timeout_ns),
            _ => Action::Done,
        }
    }

    /// The first live deadline ([`Self::expire`] has dropped the stale ones in front).
    fn earliest_deadline(&self) -> Option<u64> {
        self.deadlines.front().map(|d| d.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn cfg(rate: u64, retries: u32, timeout_ms: u64, max_in_flight: usize) -> SchedConfig {
        SchedConfig {
            rate,
            retries,
            timeout_ns: timeout_ms * MS,
            max_in_flight,
        }
    }

    /// Runs the scheduler on a fake clock; `answers(target, try)` says whether that probe is
    /// answered, after `rtt` ns. Returns (send log (time, target), finish time).
    fn simulate(
        n: usize,
        c: SchedConfig,
        rtt: u64,
        answers: impl Fn(usize, u32) -> bool,
    ) -> (Vec<(u64, usize)>, u64, Scheduler) {
        let mut s = Scheduler::new(n, c);
        let mut now = 0u64;
        let mut log = Vec::new();
        let mut pending: Vec<(u64, usize)> = Vec::new(); // (arrival, target)
        for _ in 0..1_000_000 {
            pending.sort();
            while let Some(&(t, i)) = pending.first() {
                if t > now {
                    break;
                }
                pending.remove(0);
                s.on_answer(i);
            }
            match s.poll(now) {
                Action::Send(i) => {
                    log.push((now, i));
                    if answers(i, s.tries(i)) {
                        pending.push((now + rtt, i));
                    }
                }
                Action::Wait(t) => {
                    assert!(t > now, "wait must move time forward ({t} <= {now})");
                    let next = pending.first().map_or(t, |p| p.0.min(t)).max(now + 1);
                    now = next;
                }
                Action::Done => return (log, now, s),
            }
        }
        panic!("scheduler did not finish");
    }

    #[test]
    fn unlimited_rate_sends_everything_at_once() {
        let (log, end, s) = simulate(100, cfg(0, 2, 100, 1000), MS, |_, _| true);
        assert_eq!(log.len(), 100);
        assert!(log.iter().all(|(t, _)| *t == 0));
        assert_eq!(end, 100 * MS, "lingers one timeout after the last probe");
        assert_eq!(s.progress().answered, 100);
        assert_eq!(s.progress().finished, 100);
    }

    #[test]
    fn rate_spaces_probes() {
        // 1000/s: one per ms after a burst of one.
        let (log, _, _) = simulate(50, cfg(1000, 0, 10, 1000), 0, |_, _| true);
        for w in log.windows(2) {
            assert_eq!(w[1].0 - w[0].0, MS, "{w:?}");
        }
        // 100,000/s with a 1 ms burst of 100: 1,000 probes take about 10 ms.
        let (log, _, _) = simulate(1000, cfg(100_000, 0, 10, 10_000), 0, |_, _| true);
        let span = log.last().unwrap().0;
        assert!((8 * MS..=10 * MS).contains(&span), "span {span}");
    }

    #[test]
    fn silent_targets_get_retries_then_give_up() {
        let (log, end, s) = simulate(10, cfg(0, 2, 100, 100), MS, |i, _| i % 2 == 0);
        let count = |t: usize| log.iter().filter(|(_, i)| *i == t).count();
        for t in 0..10 {
            assert_eq!(count(t), if t % 2 == 0 { 1 } else { 3 }, "target {t}");
        }
        // Retries go out when the previous probe times out.
        let t1: Vec<u64> = log.iter().filter(|(_, i)| *i == 1).map(|x| x.0).collect();
        assert_eq!(t1, vec![0, 100 * MS, 200 * MS]);
        assert_eq!(end, 300 * MS);
        let p = s.progress();
        assert_eq!((p.answered, p.finished, p.sent), (5, 10, 20));
    }

    #[test]
    fn answer_to_a_retry_stops_further_probes() {
        let (log, _, s) = simulate(3, cfg(0, 5, 50, 10), MS, |_, try_no| try_no == 2);
        assert_eq!(log.len(), 6);
        assert_eq!(s.progress().answered, 3);
    }

    #[test]
    fn in_flight_cap_holds() {
        let mut s = Scheduler::new(100, cfg(0, 0, 100, 8));
        let mut sent = 0;
        while let Action::Send(_) = s.poll(0) {
            sent += 1;
        }
        assert_eq!(sent, 8);
        s.on_answer(0);
        assert_eq!(s.poll(0), Action::Send(8));
        assert!(matches!(s.poll(0), Action::Wait(t) if t == 100 * MS));
        // Timeouts free the slots.
        let mut more = 0;
        while let Action::Send(_) = s.poll(100 * MS) {
            more += 1;
        }
        assert_eq!(more, 8);
        let (log, _, s) = simulate(100, cfg(0, 1, 10, 8), MS, |i, _| i % 3 == 0);
        assert_eq!(s.progress().finished, 100);
        assert_eq!(log.len(), 34 + 66 * 2);
    }

    #[test]
    fn early_and_unknown_answers_are_harmless() {
        let mut s = Scheduler::new(3, cfg(0, 1, 10, 10));
        s.on_answer(1); // answered before probed (e.g. an unsolicited reply)
        s.on_answer(99);
        s.on_answer(1);
        assert_eq!(s.poll(0), Action::Send(0));
        assert_eq!(s.poll(0), Action::Send(2));
        assert_eq!(s.progress().answered, 1);
    }

    #[test]
    fn empty_scan_is_done_at_once() {
        let mut s = Scheduler::new(0, cfg(0, 1, 10, 10));
        assert_eq!(s.poll(0), Action::Done);
    }

    /// Like [`simulate`], but the driver wakes `late()` ns after the time it asked for (timer
    /// granularity, a busy CPU), or when a reply arrives, whichever is first.
    fn simulate_late(
        n: usize,
        c: SchedConfig,
        rtt: u64,
        answers: impl Fn(usize, u32) -> bool,
        mut late: impl FnMut() -> u64,
    ) -> (Vec<(u64, usize, u32)>, u64) {
        let mut s = Scheduler::new(n, c);
        let mut now = 0u64;
        let mut log = Vec::new();
        let mut pending = std::collections::BinaryHeap::new(); // Reverse((arrival, target))
        for _ in 0..10_000_000 {
            while let Some(&std::cmp::Reverse((t, i))) = pending.peek() {
                if t > now {
                    break;
                }
                pending.pop();
                s.on_answer(i);
            }
            match s.poll(now) {
                Action::Send(i) => {
                    log.push((now, i, s.tries(i)));
                    if answers(i, s.tries(i)) {
                        pending.push(std::cmp::Reverse((now + rtt, i)));
                    }
                }
                Action::Wait(t) => {
                    assert!(t > now, "wait must move time forward ({t} <= {now})");
                    let woken = t + late();
                    now = pending
                        .peek()
                        .map_or(woken, |p: &std::cmp::Reverse<(u64, usize)>| {
                            p.0 .0.min(woken)
                        });
                }
                Action::Done => return (log, now),
            }
        }
        panic!("scheduler did not finish");
    }

    /// A small deterministic generator of wake-up delays in `0..max` ns.
    fn jitter(max: u64) -> impl FnMut() -> u64 {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % max
        }
    }

    /// The least time any scheduler at this rate, timeout and retry count needs for `n`
    /// targets of which `live` answer: max(n / rate + timeout x (retries + 1), probes / rate +
    /// timeout), probes = live + silent x (retries + 1).
    fn bound(n: u64, live: u64, c: &SchedConfig) -> u64 {
        let tries = u64::from(c.retries) + 1;
        let probes = live + (n - live) * tries;
        let per = |k: u64| k * 1_000_000_000 / c.rate;
        (per(n) + c.timeout_ns * tries).max(per(probes) + c.timeout_ns)
    }

    #[test]
    fn late_wake_ups_keep_the_rate_and_the_bound() {
        // (targets, rate, retries, timeout ms): the benchmark's shapes and smaller ones.
        for (n, rate, retries, timeout_ms) in [
            (8192usize, 1000u64, 2u32, 500u64),
            (8192, 1000, 0, 1000),
            (8192, 20_000, 2, 500),
            (8192, 20_000, 0, 1000),
            (500, 1000, 3, 200),
            (3000, 100, 1, 50),
        ] {
            let c = cfg(rate, retries, timeout_ms, 1 << 20);
            let max_late = 2 * MS;
            // Even targets answer after 1 ms; odd ones never.
            let (log, end) = simulate_late(n, c, MS, |i, _| i % 2 == 0, jitter(max_late));
            let first_pass_end = n as u64 * 1_000_000_000 / rate;
            let last_first = log.iter().filter(|l| l.2 == 1).map(|l| l.0).max().unwrap();
            assert!(
                last_first <= first_pass_end + max_late,
                "{n} at {rate}/s: last first probe at {last_first} ns, due by {first_pass_end}"
            );
            assert_eq!(log.iter().filter(|l| l.2 == 1).count(), n);
            let b = bound(n as u64, n as u64 / 2, &c);
            assert!(
                end <= b + 2 * max_late,
                "{n} at {rate}/s, {retries} retries, {timeout_ms} ms: ended at {end} ns, \
                 bound {b}"
            );
            // Every target answered with its first probe or had every try.
            for i in (1..n).step_by(2) {
                assert_eq!(
                    log.iter().filter(|l| l.1 == i).count(),
                    retries as usize + 1
                );
            }
        }
    }

    #[test]
    fn every_target_answering_ends_one_timeout_after_the_first_pass() {
        let (n, rate) = (4000usize, 20_000u64);
        let c = cfg(rate, 2, 500, 1 << 20);
        let (log, end) = simulate_late(n, c, MS, |_, _| true, jitter(MS));
        assert_eq!(log.len(), n, "no retries when every probe is answered");
        // N / R + timeout: the last probe's timeout, then done.
        let last = log.last().unwrap().0;
        assert!(last <= 200 * MS + MS, "last probe at {last}");
        assert!(
            end <= last + 500 * MS + MS,
            "ended at {end}, last probe at {last}"
        );
    }

    #[test]
    fn catch_up_is_bounded_and_the_average_rate_holds() {
        // At 20,000/s the driver stalls 300 ms once (a blocked send): afterwards at most one
        // burst goes out at once, and no window of time gets more than its share plus a burst.
        let c = cfg(20_000, 0, 100, 1 << 20);
        let burst = Scheduler::new(1, c).burst();
        assert_eq!(burst, 201);
        let mut wakes = 0u64;
        let (log, _) = simulate_late(
            20_000,
            c,
            MS,
            |_, _| false, // no reply wakes the driver early: the stall is whole
            move || {
                wakes += 1;
                if wakes == 1000 {
                    300 * MS
                } else {
                    0
                }
            },
        );
        let mut most_at_once = 0;
        for w in log.chunk_by(|a, b| a.0 == b.0) {
            most_at_once = most_at_once.max(w.len() as u64);
        }
        assert!(
            most_at_once <= burst,
            "{most_at_once} probes at one instant"
        );
        // Any 10 ms window: at most 200 (its share) plus one burst.
        let times: Vec<u64> = log.iter().map(|l| l.0).collect();
        for (k, &t) in times.iter().enumerate() {
            let in_window = times[k..].partition_point(|&x| x < t + 10 * MS) as u64;
            assert!(
                in_window <= 200 + burst,
                "{in_window} probes in 10 ms from {t}"
            );
        }
        // 20,000 probes at 20,000/s, a 300 ms stall of which 10 ms is caught up: about 1.29 s.
        let span = *times.last().unwrap();
        assert!((1_280 * MS..=1_300 * MS).contains(&span), "span {span} ns");
    }

    #[test]
    fn first_probes_go_before_retries() {
        // 1000/s, 10 targets, timeout 2 ms: retries fall due during the first pass but wait.
        let (log, _, _) = simulate(10, cfg(1000, 1, 2, 100), MS, |_, _| false);
        let order: Vec<usize> = log.iter().map(|l| l.1).collect();
        assert_eq!(
            order,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        );
    }
}
