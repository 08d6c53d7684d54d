//! Which alerts are printed: repeat suppression per (code, link, subject) and a budget per
//! code per second. What is held back is counted, per code, and reported in the next printed
//! alert of the same subject (or the same code, for the budget) as `suppressed`.
use std::net::Ipv6Addr;

use v6probe_common::wire::{EthernetAddress, Icmpv6Type};

use super::{
    alert::{AlertCode, MsgClass, Severity},
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

/// What an alert is about, for repeat suppression: what was attacked (an address, a prefix,
/// a message class or the whole link), through which message type, and by which sender MAC
/// when the alert judges what one MAC sent. Two different attacks from one MAC are two
/// subjects; so are two MACs attacking one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The type of the message judged; `None` when the alert is about an address whatever
    /// message moved it (bindings, DAD).
    msg: Option<Icmpv6Type>,
    mac: Option<EthernetAddress>,
    target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    None,
    Addr(Ipv6Addr),
    Prefix(Ipv6Addr, u8),
    Class(MsgClass),
    Link,
    /// A class of the kernel's flood guard (`abi::guard`), for its counts.
    KernelGuard(u8),
}

impl Subject {
    /// An address, whatever message or MAC is involved (bindings, DAD).
    pub fn addr(a: Ipv6Addr) -> Self {
        Self {
            msg: None,
            mac: None,
            target: Target::Addr(a),
        }
    }

    /// Any combination of message type, sender MAC and target.
    pub fn of(msg: Option<Icmpv6Type>, mac: Option<EthernetAddress>, target: Target) -> Self {
        Self { msg, mac, target }
    }

    /// What `mac` did with a message of type `msg` to `target`.
    pub fn sent(msg: Icmpv6Type, mac: EthernetAddress, target: Target) -> Self {
        Self::of(Some(msg), Some(mac), target)
    }

    /// A message type and target, whoever sent it.
    pub fn of_msg(msg: Icmpv6Type, target: Target) -> Self {
        Self::of(Some(msg), None, target)
    }

    /// A MAC, whatever it sent.
    pub fn mac(mac: EthernetAddress) -> Self {
        Self {
            msg: None,
            mac: Some(mac),
            target: Target::None,
        }
    }

    pub fn class(c: MsgClass) -> Self {
        Self::of_msg(c.msg_type(), Target::Class(c))
    }

    /// The link as a whole.
    pub fn link() -> Self {
        Self::of(None, None, Target::Link)
    }

    /// A class of the kernel's flood guard.
    pub fn kernel_guard(class: u8) -> Self {
        Self::of(None, None, Target::KernelGuard(class))
    }
}

/// Repeat suppression and per-code rate limits, with their counters.
#[derive(Debug)]
pub struct Gate {
    /// A repeat of the same (code, link, subject) within this many ns is counted, not printed
    /// (unless its severity is higher).
    repeat_ns: u64,
    /// Alerts per code per second.
    max_per_sec: u32,
    suppress: BoundedMap<(u8, u16, Subject), Suppress>,
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
        subject: Subject,
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
        subject: Subject,
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

    /// Counts an alert a rule held back itself (a change during a MAC storm).
    pub fn hold(&mut self, code: AlertCode) {
        self.suppressed[code.index()] += 1;
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

    fn a(n: u16) -> Subject {
        Subject::addr(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n))
    }

    #[test]
    fn repeats_are_held_back_and_reported_with_the_next() {
        let mut g = Gate::new(30 * S, 20, 16);
        let c = AlertCode::RaRogue;
        assert_eq!(g.pass(c, 0, a(1), Severity::High, 0), Some(0));
        assert_eq!(g.pass(c, 0, a(1), Severity::High, S), None);
        assert_eq!(g.pass(c, 0, a(1), Severity::High, 2 * S), None);
        // Another link or subject is another alert.
        assert_eq!(g.pass(c, 1, a(1), Severity::High, 2 * S), Some(0));
        assert_eq!(g.pass(c, 0, a(2), Severity::High, 2 * S), Some(0));
        assert_eq!(g.pass(c, 0, a(1), Severity::High, 31 * S), Some(2));
        assert_eq!(g.emitted()[c.index()], 4);
        assert_eq!(g.suppressed()[c.index()], 2);
    }

    #[test]
    fn a_higher_severity_passes_and_the_budget_caps_each_second() {
        let mut g = Gate::new(30 * S, 3, 64);
        let c = AlertCode::DadDos;
        assert_eq!(g.pass(c, 0, a(1), Severity::Medium, 0), Some(0));
        assert_eq!(g.pass(c, 0, a(1), Severity::High, 1), Some(0));
        assert_eq!(g.pass(c, 0, a(2), Severity::Low, 2), Some(0));
        // Third printed alert this second was the last: new subjects are counted only.
        assert_eq!(g.pass(c, 0, a(3), Severity::Low, 3), None);
        assert_eq!(g.pass(c, 0, a(4), Severity::Low, 4), None);
        // The next second's first alert carries the overflow.
        assert_eq!(g.pass(c, 0, a(5), Severity::Low, S), Some(2));
    }
}
