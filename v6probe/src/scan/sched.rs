//! The probe scheduler: which target to probe next and when, with a rate limit, retries, a
//! per-probe timeout and a cap on probes in flight. No I/O and no clock: the caller passes the
//! time (nanoseconds since the scan started) to [`Scheduler::poll`] and reports answers with
//! [`Scheduler::on_answer`]; tests drive it with a fake clock.
//!
//! Life of a target: queued -> probe sent (in flight until `timeout`) -> answered (no more
//! probes), or timed out -> queued for a retry while it has tries left -> exhausted. The scan is
//! done once nothing is queued or in flight and `timeout` has passed since the last probe, so
//! late and duplicate replies to the last probes are still heard.
use std::collections::VecDeque;

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
    tokens: f64,
    refilled_at: u64,
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
            tokens: 1.0,
            refilled_at: 0,
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

    /// Burst size of the token bucket: one millisecond of probes, at least one.
    fn burst(&self) -> f64 {
        (self.cfg.rate as f64 / 1000.0).max(1.0)
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

    fn next_target(&mut self) -> Option<usize> {
        while let Some(&i) = self.retry.front() {
            if self.state[i] == State::Queued {
                return Some(i);
            }
            self.retry.pop_front(); // answered late, after its probe timed out
        }
        while self.next_new < self.state.len() {
            if self.state[self.next_new] == State::Queued {
                return Some(self.next_new);
            }
            self.next_new += 1; // answered before we asked (e.g. an early reply)
        }
        None
    }

    /// The next action at time `now` (ns since the scan started; must not go backwards).
    pub fn poll(&mut self, now: u64) -> Action {
        self.expire(now);
        if let Some(i) = self.next_target() {
            if self.in_flight < self.cfg.max_in_flight {
                if self.cfg.rate > 0 {
                    let dt = now.saturating_sub(self.refilled_at) as f64 / 1e9;
                    self.tokens = (self.tokens + dt * self.cfg.rate as f64).min(self.burst());
                    self.refilled_at = now;
                    if self.tokens < 1.0 {
                        let ns = ((1.0 - self.tokens) / self.cfg.rate as f64 * 1e9).ceil();
                        let at = now + (ns as u64).max(1);
                        return Action::Wait(self.earliest_deadline().map_or(at, |d| d.min(at)));
                    }
                    self.tokens -= 1.0;
                }
                if self.retry.front() == Some(&i) {
                    self.retry.pop_front();
                } else {
                    self.next_new += 1;
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
}
