//! Which alerts are printed: repeat suppression per (code, link, subject) and a budget per
//! code per second. What is held back is counted, per code, and reported in the next printed
//! alert of the same subject (or the same code, for the budget) as `suppressed`.
use super::{
    alert::{AlertCode, Severity},
    table::BoundedMap,
};

#[derive(Debug, Clone, Copy)]
struct Suppress {
    last: u64,
    suppressed: u64,
    severity: Severity,
}

#[derive(Debug, Clone, Copy, Default)]
struct Budget {
    second: u64,
    count: u32,
    overflow: u64,
}

/// The key of a repeat: what the alert is about, in one namespace per kind (see the rules'
/// `Subject`).
pub type SubjectKey = u128;

/// Repeat suppression and per-code rate limits, with their counters.
#[derive(Debug)]
pub struct Gate {
    /// A repeat of the same (code, link, subject) within this many ns is counted, not printed
    /// (unless its severity is higher).
    repeat_ns: u64,
    /// Alerts per code per second.
    max_per_sec: u32,
    suppress: BoundedMap<(u8, u16, SubjectKey), Suppress>,
    budget: [Budget; AlertCode::COUNT],
    emitted: [u64; AlertCode::COUNT],
    suppressed: [u64; AlertCode::COUNT],
}

impl Gate {
    pub fn new(repeat_ns: u64, max_per_sec: u32, max_entries: usize) -> Self {
        Self {
            repeat_ns,
            max_per_sec,
            suppress: BoundedMap::new(max_entries),
            budget: [Budget::default(); AlertCode::COUNT],
            emitted: [0; AlertCode::COUNT],
            suppressed: [0; AlertCode::COUNT],
        }
    }

    /// `Some(n)` to print the alert (with `n` held back since the last one printed), `None`
    /// to count it only.
    pub fn pass(
        &mut self,
        code: AlertCode,
        link: u16,
        subject: SubjectKey,
        sev: Severity,
        t: u64,
    ) -> Option<u64> {
        let n = self.decide(code, link, subject, sev, t);
        match n {
            Some(_) => self.emitted[code.index()] += 1,
            None => self.suppressed[code.index()] += 1,
        }
        n
    }

    fn decide(
        &mut self,
        code: AlertCode,
        link: u16,
        subject: SubjectKey,
        sev: Severity,
        t: u64,
    ) -> Option<u64> {
        let ci = code.index();
        if code.is_mac_change() {
            return Some(0);
        }
        let b = &mut self.budget[ci];
        let sec = t / 1_000_000_000;
        if b.second != sec {
            b.second = sec;
            b.count = 0;
        }
        // Over the per-code budget: count only (checked first: a flood of new subjects then
        // costs no table lookup).
        if b.count >= self.max_per_sec {
            b.overflow += 1;
            return None;
        }
        let key = (ci as u8, link, subject);
        if let Some(s) = self.suppress.get_mut(&key) {
            if t.saturating_sub(s.last) < self.repeat_ns && sev <= s.severity {
                s.suppressed += 1;
                return None;
            }
            b.count += 1;
            let n = std::mem::take(&mut s.suppressed) + std::mem::take(&mut b.overflow);
            s.last = t;
            s.severity = sev;
            return Some(n);
        }
        b.count += 1;
        let n = std::mem::take(&mut b.overflow);
        self.suppress.insert_absent(
            key,
            Suppress {
                last: t,
                suppressed: 0,
                severity: sev,
            },
        );
        Some(n)
    }

    /// Alerts printed, by code index.
    pub fn emitted(&self) -> &[u64; AlertCode::COUNT] {
        &self.emitted
    }

    /// Alerts counted but not printed, by code index.
    pub fn suppressed(&self) -> &[u64; AlertCode::COUNT] {
        &self.suppressed
    }

    pub fn entries(&self) -> usize {
        self.suppress.len()
    }

    pub fn evictions(&self) -> u64 {
        self.suppress.evictions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn repeats_are_held_back_and_reported_with_the_next() {
        let mut g = Gate::new(30 * S, 20, 16);
        let c = AlertCode::RaRogue;
        assert_eq!(g.pass(c, 0, 1, Severity::High, 0), Some(0));
        assert_eq!(g.pass(c, 0, 1, Severity::High, S), None);
        assert_eq!(g.pass(c, 0, 1, Severity::High, 2 * S), None);
        // Another link or subject is another alert.
        assert_eq!(g.pass(c, 1, 1, Severity::High, 2 * S), Some(0));
        assert_eq!(g.pass(c, 0, 2, Severity::High, 2 * S), Some(0));
        assert_eq!(g.pass(c, 0, 1, Severity::High, 31 * S), Some(2));
        assert_eq!(g.emitted()[c.index()], 4);
        assert_eq!(g.suppressed()[c.index()], 2);
    }

    #[test]
    fn a_higher_severity_passes_and_the_budget_caps_each_second() {
        let mut g = Gate::new(30 * S, 3, 64);
        let c = AlertCode::DadDos;
        assert_eq!(g.pass(c, 0, 1, Severity::Medium, 0), Some(0));
        assert_eq!(g.pass(c, 0, 1, Severity::High, 1), Some(0));
        assert_eq!(g.pass(c, 0, 2, Severity::Low, 2), Some(0));
        // Third printed alert this second was the last: new subjects are counted only.
        assert_eq!(g.pass(c, 0, 3, Severity::Low, 3), None);
        assert_eq!(g.pass(c, 0, 4, Severity::Low, 4), None);
        // The next second's first alert carries the overflow.
        assert_eq!(g.pass(c, 0, 5, Severity::Low, S), Some(2));
    }
}
