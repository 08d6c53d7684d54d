//! Reply matching: probe send times and neighbor advertisements in, per-target results and
//! verdicts out. No I/O; times are the kernel's where the driver has them.
//!
//! Verdicts (stable snake_case codes):
//! - `duplicate_replies`: more than one link-layer address answered for the target (the TLLA
//!   option, or the Ethernet source when the reply has no TLLA).
//! - `ethernet_mismatch`: a reply whose TLLA differs from its Ethernet source.
//! - `missing_solicited_flag`: a reply to our probe (unicast to our address) without S set
//!   (RFC 4861 section 7.2.4 requires S in a response to a unicast-sourced NS).
//! - `unsolicited_na_race`: an unsolicited NA (S clear, to a multicast address) for the target
//!   arrived during the scan: someone announced the address while we asked for it.
//! - `rtt_outlier`: the target's best RTT is above both 10x the scan's median best RTT and the
//!   median + 2 ms (a responder far slower than the others on the same link, e.g. one relaying
//!   or forging replies in user space).
//! - `flooded`: more than [`MAX_REPLY_GROUPS`] distinct replies: the first ones are kept, the
//!   rest counted in `replies_over_cap` (someone is answering with forged link-layer
//!   addresses, or the link is looped).
//!
//! Each reply is matched to its target and to its group by hash lookups (seeded per process),
//! so a flood of forged replies costs constant time per reply and bounded memory per target;
//! with the cap a `scan_result` line stays under [`MAX_RESULT_LINE_BYTES`].
use std::{
    collections::HashMap,
    hash::RandomState,
    net::Ipv6Addr,
    time::{Duration, SystemTime},
};

use serde::Serialize;

use crate::wire::EthernetAddress;

/// Distinct replies kept per target.
pub const MAX_REPLY_GROUPS: usize = 64;

/// The longest `scan_result` line (JSON, without the newline) [`MAX_REPLY_GROUPS`] allow: the
/// groups at their widest (every field at its longest text) plus the rest of the line.
pub const MAX_RESULT_LINE_BYTES: usize = 20_000;

/// A neighbor advertisement seen on the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert {
    pub target: Ipv6Addr,
    pub eth_src: [u8; 6],
    pub tlla: Option<[u8; 6]>,
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
    /// Sent to a multicast address (an announcement) rather than to us.
    pub to_multicast: bool,
    /// Kernel receive time.
    pub rx: SystemTime,
}

impl Advert {
    /// A reply to a probe, as opposed to an unsolicited announcement.
    pub fn is_reply(&self) -> bool {
        self.solicited || !self.to_multicast
    }
}

/// One distinct reply for a target: the same MACs and flags, with how often and how fast.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplyGroup {
    pub eth_src: String,
    pub tlla: Option<String>,
    pub router: bool,
    pub solicited: bool,
    #[serde(rename = "override")]
    pub override_: bool,
    pub count: u32,
    /// Microseconds; `null` when no probe was sent before the reply arrived.
    pub rtt_min_us: Option<f64>,
    pub rtt_avg_us: Option<f64>,
    pub rtt_max_us: Option<f64>,
    #[serde(skip)]
    key: GroupKey,
    #[serde(skip)]
    rtt_sum_ns: u128,
    #[serde(skip)]
    rtt_n: u32,
}

/// The result line for one target (`"kind":"scan_result"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScanResult {
    pub target: Ipv6Addr,
    pub alive: bool,
    /// The answering link-layer address (the first reply's TLLA, else its Ethernet source).
    pub mac: Option<String>,
    pub probes: u32,
    pub replies: Vec<ReplyGroup>,
    /// Replies beyond the [`MAX_REPLY_GROUPS`] distinct ones kept (present when not 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub replies_over_cap: u32,
    pub unsolicited_nas: u32,
    pub verdicts: Vec<&'static str>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

type GroupKey = ([u8; 6], Option<[u8; 6]>, bool, bool, bool);

#[derive(Default)]
struct PerTarget {
    /// Probe send times, oldest first, and whether each is a kernel timestamp yet.
    sends: Vec<(SystemTime, bool)>,
    replies: Vec<ReplyGroup>,
    /// Where each group is in `replies`.
    groups: HashMap<GroupKey, usize, RandomState>,
    over_cap: u32,
    unsolicited: u32,
}

pub struct Matcher {
    index: HashMap<Ipv6Addr, usize>,
    targets: Vec<Ipv6Addr>,
    per: Vec<PerTarget>,
    /// NAs for addresses we did not ask about.
    pub unrelated: u64,
    /// Probes whose send time is the kernel's (their outgoing copy was captured).
    pub kernel_sends: u64,
}

fn us(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

impl Matcher {
    pub fn new(targets: &[Ipv6Addr]) -> Self {
        Self {
            index: targets.iter().enumerate().map(|(i, a)| (*a, i)).collect(),
            targets: targets.to_vec(),
            per: (0..targets.len()).map(|_| PerTarget::default()).collect(),
            unrelated: 0,
            kernel_sends: 0,
        }
    }

    pub fn index_of(&self, a: &Ipv6Addr) -> Option<usize> {
        self.index.get(a).copied()
    }

    /// A probe to target `i` is being sent; `ts` is the user-space time just before the send.
    pub fn on_sent(&mut self, i: usize, ts: SystemTime) {
        if let Some(p) = self.per.get_mut(i) {
            p.sends.push((ts, false));
        }
    }

    /// The kernel's timestamp of our own probe to target `i` leaving (the packet socket's copy
    /// of outgoing frames): replaces the oldest send time that is not a kernel one yet.
    pub fn on_sent_kernel(&mut self, i: usize, ts: SystemTime) {
        if let Some(p) = self.per.get_mut(i) {
            if let Some(s) = p.sends.iter_mut().find(|s| !s.1) {
                *s = (ts, true);
                self.kernel_sends += 1;
            }
        }
    }

    /// Records an NA. Returns the target index if it is a reply to one of our targets (the
    /// scheduler then stops probing it).
    pub fn on_advert(&mut self, a: &Advert) -> Option<usize> {
        let Some(i) = self.index_of(&a.target) else {
            self.unrelated += 1;
            return None;
        };
        let p = &mut self.per[i];
        if !a.is_reply() {
            p.unsolicited = p.unsolicited.saturating_add(1);
            return None;
        }
        let key = (a.eth_src, a.tlla, a.router, a.solicited, a.override_);
        let k = match p.groups.get(&key) {
            Some(k) => *k,
            None if p.replies.len() < MAX_REPLY_GROUPS => {
                p.replies.push(ReplyGroup {
                    eth_src: EthernetAddress(a.eth_src).to_string(),
                    tlla: a.tlla.map(|m| EthernetAddress(m).to_string()),
                    router: a.router,
                    solicited: a.solicited,
                    override_: a.override_,
                    count: 0,
                    rtt_min_us: None,
                    rtt_avg_us: None,
                    rtt_max_us: None,
                    key,
                    rtt_sum_ns: 0,
                    rtt_n: 0,
                });
                p.groups.insert(key, p.replies.len() - 1);
                p.replies.len() - 1
            }
            None => {
                p.over_cap = p.over_cap.saturating_add(1);
                return Some(i);
            }
        };
        // RTT against the latest probe sent before the reply arrived.
        let rtt = p
            .sends
            .iter()
            .rev()
            .find_map(|(t, _)| a.rx.duration_since(*t).ok());
        let g = &mut p.replies[k];
        g.count = g.count.saturating_add(1);
        if let Some(r) = rtt {
            let v = us(r);
            g.rtt_min_us = Some(g.rtt_min_us.map_or(v, |m| m.min(v)));
            g.rtt_max_us = Some(g.rtt_max_us.map_or(v, |m| m.max(v)));
            g.rtt_sum_ns += r.as_nanos();
            g.rtt_n = g.rtt_n.saturating_add(1);
            g.rtt_avg_us = Some(g.rtt_sum_ns as f64 / f64::from(g.rtt_n) / 1000.0);
        }
        Some(i)
    }

    /// Whether target `i` has answered.
    pub fn answered(&self, i: usize) -> bool {
        self.per.get(i).is_some_and(|p| !p.replies.is_empty())
    }

    /// Per-target results in target order, with verdicts. `probes(i)` gives the probe count.
    pub fn finish(self, probes: impl Fn(usize) -> u32) -> Vec<ScanResult> {
        let best = |p: &PerTarget| {
            p.replies
                .iter()
                .filter_map(|g| g.rtt_min_us)
                .min_by(|a, b| a.total_cmp(b))
        };
        let mut bests: Vec<f64> = self.per.iter().filter_map(best).collect();
        bests.sort_by(|a, b| a.total_cmp(b));
        let median = bests.get(bests.len() / 2).copied();
        let outlier_above = median.map(|m| (m * 10.0).max(m + 2000.0));
        self.per
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut verdicts = Vec::new();
                let mut lladdrs: Vec<[u8; 6]> = p
                    .replies
                    .iter()
                    .map(|g| g.key.1.unwrap_or(g.key.0))
                    .collect();
                lladdrs.sort();
                lladdrs.dedup();
                if lladdrs.len() > 1 {
                    verdicts.push("duplicate_replies");
                }
                if p.replies
                    .iter()
                    .any(|g| g.key.1.is_some_and(|t| t != g.key.0))
                {
                    verdicts.push("ethernet_mismatch");
                }
                if p.replies.iter().any(|g| !g.solicited) {
                    verdicts.push("missing_solicited_flag");
                }
                if p.unsolicited > 0 {
                    verdicts.push("unsolicited_na_race");
                }
                if p.over_cap > 0 {
                    verdicts.push("flooded");
                }
                if let (Some(b), Some(limit)) = (best(&p), outlier_above) {
                    if b > limit {
                        verdicts.push("rtt_outlier");
                    }
                }
                let mac = p
                    .replies
                    .first()
                    .map(|g| EthernetAddress(g.key.1.unwrap_or(g.key.0)).to_string());
                ScanResult {
                    target: self.targets[i],
                    alive: !p.replies.is_empty(),
                    mac,
                    probes: probes(i),
                    replies: p.replies,
                    replies_over_cap: p.over_cap,
                    unsolicited_nas: p.unsolicited,
                    verdicts,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;
    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

    fn at(us: u64) -> SystemTime {
        T0 + Duration::from_micros(us)
    }

    fn reply(target: &str, mac: [u8; 6], rx_us: u64) -> Advert {
        Advert {
            target: target.parse().unwrap(),
            eth_src: mac,
            tlla: Some(mac),
            router: false,
            solicited: true,
            override_: true,
            to_multicast: false,
            rx: at(rx_us),
        }
    }

    fn targets(n: u16) -> Vec<Ipv6Addr> {
        (1..=n)
            .map(|i| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i))
            .collect()
    }

    #[test]
    fn clean_reply_gives_alive_mac_and_rtt() {
        let t = targets(3);
        let mut m = Matcher::new(&t);
        m.on_sent(0, at(1000));
        m.on_sent_kernel(0, at(1010)); // the kernel saw it leave 10 us later
        assert_eq!(m.kernel_sends, 1);
        assert_eq!(m.on_advert(&reply("fd00::1", MAC_A, 1060)), Some(0));
        assert_eq!(m.on_advert(&reply("fd00::99", MAC_A, 1060)), None);
        assert_eq!(m.unrelated, 1);
        let r = m.finish(|i| i as u32 + 1);
        assert!(r[0].alive && !r[1].alive && !r[2].alive);
        assert_eq!(r[0].mac.as_deref(), Some("02:00:00:00:00:0a"));
        assert_eq!(r[0].replies[0].rtt_min_us, Some(50.0));
        assert_eq!(r[0].probes, 1);
        assert!(r[0].verdicts.is_empty(), "{:?}", r[0].verdicts);
        assert_eq!(r[2].probes, 3);
    }

    #[test]
    fn rtt_uses_latest_probe_before_reply() {
        let t = targets(1);
        let mut m = Matcher::new(&t);
        m.on_sent(0, at(0));
        m.on_sent(0, at(1_000_000));
        m.on_advert(&reply("fd00::1", MAC_A, 1_000_200));
        m.on_advert(&reply("fd00::1", MAC_A, 1_000_400));
        let r = m.finish(|_| 2);
        let g = &r[0].replies[0];
        assert_eq!(g.count, 2);
        assert_eq!(
            (g.rtt_min_us, g.rtt_max_us, g.rtt_avg_us),
            (Some(200.0), Some(400.0), Some(300.0))
        );
        assert!(r[0].verdicts.is_empty());
    }

    #[test]
    fn verdicts() {
        let t = targets(6);
        let mut m = Matcher::new(&t);
        for i in 0..6 {
            m.on_sent(i, at(0));
        }
        // fd00::1: two MACs answer.
        m.on_advert(&reply("fd00::1", MAC_A, 50));
        m.on_advert(&reply("fd00::1", MAC_B, 80));
        // fd00::2: TLLA says A, the frame came from B.
        let mut a = reply("fd00::2", MAC_A, 50);
        a.eth_src = MAC_B;
        m.on_advert(&a);
        // fd00::3: no S flag on a unicast reply.
        let mut a = reply("fd00::3", MAC_A, 50);
        a.solicited = false;
        m.on_advert(&a);
        // fd00::4: an unsolicited announcement, then a clean reply.
        let mut a = reply("fd00::4", MAC_A, 40);
        a.solicited = false;
        a.to_multicast = true;
        assert_eq!(m.on_advert(&a), None, "an announcement is not an answer");
        m.on_advert(&reply("fd00::4", MAC_A, 50));
        // fd00::5: far slower than the others.
        m.on_advert(&reply("fd00::5", MAC_A, 50_000));
        // fd00::6: clean.
        m.on_advert(&reply("fd00::6", MAC_A, 60));
        let r = m.finish(|_| 1);
        let v: Vec<_> = r.iter().map(|r| r.verdicts.clone()).collect();
        assert_eq!(v[0], vec!["duplicate_replies"]);
        assert_eq!(v[1], vec!["ethernet_mismatch"]);
        assert_eq!(v[2], vec!["missing_solicited_flag"]);
        assert_eq!(v[3], vec!["unsolicited_na_race"]);
        assert_eq!(r[3].unsolicited_nas, 1);
        assert_eq!(v[4], vec!["rtt_outlier"]);
        assert!(v[5].is_empty());
        assert_eq!(r[0].replies.len(), 2);
        assert!(r.iter().all(|r| r.alive));
    }

    #[test]
    fn same_mac_without_tlla_is_not_a_duplicate() {
        let t = targets(1);
        let mut m = Matcher::new(&t);
        m.on_sent(0, at(0));
        m.on_advert(&reply("fd00::1", MAC_A, 10));
        let mut a = reply("fd00::1", MAC_A, 20);
        a.tlla = None;
        m.on_advert(&a);
        let r = m.finish(|_| 1);
        assert_eq!(r[0].replies.len(), 2);
        assert!(r[0].verdicts.is_empty(), "{:?}", r[0].verdicts);
    }

    #[test]
    fn reply_before_any_probe_has_no_rtt() {
        let t = targets(1);
        let mut m = Matcher::new(&t);
        m.on_sent(0, at(100));
        m.on_advert(&reply("fd00::1", MAC_A, 50));
        let r = m.finish(|_| 1);
        assert!(r[0].alive);
        assert_eq!(r[0].replies[0].rtt_min_us, None);
    }

    #[test]
    fn a_flood_of_distinct_replies_is_capped_counted_and_flagged() {
        let t = targets(2);
        let mut m = Matcher::new(&t);
        m.on_sent(0, at(0));
        for n in 0..10_000u32 {
            let mut mac = [2, 0xff, 0, 0, 0, 0];
            mac[2..].copy_from_slice(&n.to_be_bytes());
            assert_eq!(
                m.on_advert(&reply("fd00::1", mac, 10 + u64::from(n))),
                Some(0)
            );
        }
        // A repeat of a kept reply still counts in its group.
        let mut first = [2, 0xff, 0, 0, 0, 0];
        first[2..].copy_from_slice(&0u32.to_be_bytes());
        m.on_advert(&reply("fd00::1", first, 20_000));
        m.on_advert(&reply("fd00::2", MAC_A, 30));
        let r = m.finish(|_| 1);
        assert_eq!(r[0].replies.len(), MAX_REPLY_GROUPS);
        assert_eq!(r[0].replies_over_cap, 10_000 - MAX_REPLY_GROUPS as u32);
        assert_eq!(r[0].replies[0].count, 2);
        assert!(r[0].verdicts.contains(&"flooded"), "{:?}", r[0].verdicts);
        assert!(r[0].verdicts.contains(&"duplicate_replies"));
        assert!(!r[1].verdicts.contains(&"flooded"));
        let line = serde_json::to_string(&r[0]).unwrap();
        assert!(line.len() < MAX_RESULT_LINE_BYTES, "{}", line.len());
        // Not flooded: the field is absent.
        assert!(!serde_json::to_string(&r[1])
            .unwrap()
            .contains("replies_over_cap"));
    }

    /// The widest line the cap allows: every field of every group at its longest text.
    #[test]
    fn the_widest_result_line_fits_the_bound() {
        let widest = ReplyGroup {
            eth_src: "ff:ff:ff:ff:ff:ff".into(),
            tlla: Some("ff:ff:ff:ff:ff:ff".into()),
            router: false,
            solicited: false,
            override_: false,
            count: u32::MAX,
            rtt_min_us: Some(-1.234_567_890_123_456_7e-300),
            rtt_avg_us: Some(-1.234_567_890_123_456_7e-300),
            rtt_max_us: Some(-1.234_567_890_123_456_7e-300),
            key: ([0; 6], None, false, false, false),
            rtt_sum_ns: 0,
            rtt_n: 0,
        };
        let r = ScanResult {
            target: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            alive: false,
            mac: Some("ff:ff:ff:ff:ff:ff".into()),
            probes: u32::MAX,
            replies: vec![widest; MAX_REPLY_GROUPS],
            replies_over_cap: u32::MAX,
            unsolicited_nas: u32::MAX,
            verdicts: vec![
                "duplicate_replies",
                "ethernet_mismatch",
                "missing_solicited_flag",
                "unsolicited_na_race",
                "flooded",
                "rtt_outlier",
            ],
        };
        let mut out = crate::output::JsonLines::new(Vec::new());
        out.write("scan_result", &r).unwrap();
        let n = out.get_mut().len() - 1;
        assert!(n <= MAX_RESULT_LINE_BYTES, "{n}");
    }
}
