//! The fallback state machine for one destination, without I/O: plain values in, plain values
//! out. [`super::table::FallbackTable`] stores the state of many destinations in atomics and
//! applies [`step`] with compare-and-swap.
//!
//! States (per IPv6 destination host, and per /64):
//! - `normal`: IPv6 first (RFC 8305 order);
//! - `limited`: IPv4 first, IPv6 raced after the connection attempt delay, until `until`;
//!   afterwards the destination is `normal` again (reason `pause_elapsed`);
//! - `blocked`: IPv6 skipped until `until` (the cool-down); afterwards one dialer claims a probe
//!   attempt (IPv6 tried first); the probe's outcome decides the next state.
use std::time::Duration;

use serde::Serialize;

/// The state of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FallbackState {
    Normal = 0,
    Limited = 1,
    Blocked = 2,
}

impl FallbackState {
    pub const ALL: [FallbackState; 3] = [Self::Normal, Self::Limited, Self::Blocked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Limited => "limited",
            Self::Blocked => "blocked",
        }
    }

    pub(crate) fn from_bits(b: u64) -> Self {
        match b & 3 {
            0 => Self::Normal,
            1 => Self::Limited,
            _ => Self::Blocked,
        }
    }
}

/// Why a transition happened. Stable snake_case names (JSON and metric labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Initial state, never the reason of a transition.
    None = 0,
    /// ICMPv6 destination unreachable, code 0 (no route to destination).
    IcmpNoRoute = 1,
    /// ICMPv6 destination unreachable, code 1 (administratively prohibited).
    IcmpAdminProhibited = 2,
    /// ICMPv6 destination unreachable, code 2 (beyond scope of source address).
    IcmpBeyondScope = 3,
    /// ICMPv6 destination unreachable, code 3 (address unreachable).
    IcmpAddressUnreachable = 4,
    /// ICMPv6 destination unreachable, code 5 (source address failed ingress/egress policy).
    IcmpPolicyFailed = 5,
    /// ICMPv6 destination unreachable, code 6 (reject route to destination).
    IcmpRejectRoute = 6,
    /// ICMPv6 time exceeded (hop limit exhausted in transit, or reassembly time).
    IcmpTimeExceeded = 7,
    /// The socket failed with ENETUNREACH (no ICMPv6 detail available).
    ErrnoNetUnreachable = 8,
    /// The socket failed with EHOSTUNREACH.
    ErrnoHostUnreachable = 9,
    /// The socket failed with EACCES (a prohibit / policy answer).
    ErrnoAccess = 10,
    /// The IPv6 attempt got no answer: before the overall deadline, or within the attempt
    /// delay while another connection completed (a silent path).
    ConnectTimeout = 11,
    /// An IPv6 connection completed.
    Ipv6Success = 12,
    /// The `limited` pause ended.
    PauseElapsed = 13,
    /// The `blocked` cool-down ended and a dialer claimed the probe attempt.
    ProbeStarted = 14,
}

impl Reason {
    pub const COUNT: usize = 15;
    pub const ALL: [Reason; Self::COUNT] = [
        Self::None,
        Self::IcmpNoRoute,
        Self::IcmpAdminProhibited,
        Self::IcmpBeyondScope,
        Self::IcmpAddressUnreachable,
        Self::IcmpPolicyFailed,
        Self::IcmpRejectRoute,
        Self::IcmpTimeExceeded,
        Self::ErrnoNetUnreachable,
        Self::ErrnoHostUnreachable,
        Self::ErrnoAccess,
        Self::ConnectTimeout,
        Self::Ipv6Success,
        Self::PauseElapsed,
        Self::ProbeStarted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::IcmpNoRoute => "icmp_no_route",
            Self::IcmpAdminProhibited => "icmp_admin_prohibited",
            Self::IcmpBeyondScope => "icmp_beyond_scope",
            Self::IcmpAddressUnreachable => "icmp_address_unreachable",
            Self::IcmpPolicyFailed => "icmp_policy_failed",
            Self::IcmpRejectRoute => "icmp_reject_route",
            Self::IcmpTimeExceeded => "icmp_time_exceeded",
            Self::ErrnoNetUnreachable => "errno_enetunreach",
            Self::ErrnoHostUnreachable => "errno_ehostunreach",
            Self::ErrnoAccess => "errno_eacces",
            Self::ConnectTimeout => "connect_timeout",
            Self::Ipv6Success => "ipv6_success",
            Self::PauseElapsed => "pause_elapsed",
            Self::ProbeStarted => "probe_started",
        }
    }

    pub(crate) fn from_bits(b: u64) -> Self {
        Self::ALL
            .get((b & 0x3f) as usize)
            .copied()
            .unwrap_or(Self::None)
    }

    /// Whether the evidence concerns the route to a whole network (recorded on the /64 too),
    /// rather than one host.
    pub fn network_scoped(self) -> bool {
        matches!(
            self,
            Self::IcmpNoRoute
                | Self::IcmpAdminProhibited
                | Self::IcmpPolicyFailed
                | Self::IcmpRejectRoute
                | Self::IcmpTimeExceeded
                | Self::ErrnoNetUnreachable
                | Self::ErrnoAccess
                | Self::Ipv6Success
        )
    }
}

/// What an IPv6 attempt (or an observer) learned about a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// ICMPv6 destination unreachable with this code.
    DestUnreachable { code: u8 },
    /// ICMPv6 time exceeded.
    TimeExceeded,
    /// A socket error (errno) without ICMPv6 detail.
    Errno(i32),
    /// No answer within the attempt timeout.
    Timeout,
    /// The IPv6 connection completed.
    Success,
}

impl Observation {
    /// The state this observation asks for and its reason; `None` when it says nothing about
    /// the IPv6 path (e.g. port unreachable or connection refused: the host answered).
    pub fn verdict(self) -> Option<(FallbackState, Reason)> {
        use FallbackState::*;
        Some(match self {
            Self::DestUnreachable { code } => match code {
                0 => (Blocked, Reason::IcmpNoRoute),
                1 => (Blocked, Reason::IcmpAdminProhibited),
                2 => (Limited, Reason::IcmpBeyondScope),
                3 => (Limited, Reason::IcmpAddressUnreachable),
                5 => (Blocked, Reason::IcmpPolicyFailed),
                6 => (Blocked, Reason::IcmpRejectRoute),
                // 4: port unreachable, the host is there; 7 (source routing header error) and
                // unknown codes: no verdict.
                _ => return None,
            },
            Self::TimeExceeded => (Limited, Reason::IcmpTimeExceeded),
            Self::Errno(e) if e == libc::ENETUNREACH => (Blocked, Reason::ErrnoNetUnreachable),
            Self::Errno(e) if e == libc::EHOSTUNREACH => (Limited, Reason::ErrnoHostUnreachable),
            Self::Errno(e) if e == libc::EACCES || e == libc::EPERM => {
                (Blocked, Reason::ErrnoAccess)
            }
            Self::Errno(_) => return None,
            Self::Timeout => (Limited, Reason::ConnectTimeout),
            Self::Success => (Normal, Reason::Ipv6Success),
        })
    }
}

/// Durations of the states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How long `limited` lasts after an address unreachable, a timeout or an EHOSTUNREACH.
    pub limited_pause: Duration,
    /// How long `limited` lasts after an ICMPv6 time exceeded (15 s by default).
    pub time_exceeded_pause: Duration,
    /// How long IPv6 is skipped when `blocked`, before one probe attempt.
    pub blocked_cooldown: Duration,
    /// How long a claimed probe may stay unanswered before another dialer may probe.
    pub probe_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            limited_pause: Duration::from_secs(15),
            time_exceeded_pause: Duration::from_secs(15),
            blocked_cooldown: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(10),
        }
    }
}

/// The stored state of one destination: what the table keeps in one atomic word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub state: FallbackState,
    pub reason: Reason,
    /// A probe is claimed (only in `blocked`).
    pub probing: bool,
    /// End of the pause / cool-down / probe claim, in ms since the table's epoch (0: none).
    pub until_ms: u64,
}

impl Entry {
    pub const NORMAL: Entry = Entry {
        state: FallbackState::Normal,
        reason: Reason::None,
        probing: false,
        until_ms: 0,
    };

    /// Bits 9..24 of the word are left to the table (the slot's generation); `until_ms` takes
    /// the 40 bits above: 34 years of milliseconds, clamped.
    const UNTIL_SHIFT: u32 = 24;
    pub const MAX_UNTIL_MS: u64 = (1 << 40) - 1;

    pub(crate) fn pack(self) -> u64 {
        (self.state as u64)
            | ((self.reason as u64) << 2)
            | ((self.probing as u64) << 8)
            | (self.until_ms.min(Self::MAX_UNTIL_MS) << Self::UNTIL_SHIFT)
    }

    pub(crate) fn unpack(w: u64) -> Self {
        Self {
            state: FallbackState::from_bits(w),
            reason: Reason::from_bits(w >> 2),
            probing: (w >> 8) & 1 == 1,
            until_ms: w >> Self::UNTIL_SHIFT,
        }
    }
}

/// How a dialer should treat the IPv6 addresses of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// IPv6 first.
    Ipv6First,
    /// IPv4 first, IPv6 after the attempt delay.
    Ipv4First,
    /// Do not try IPv6.
    Skip,
    /// The cool-down ended and this dialer holds the probe: IPv6 first, once.
    Probe,
}

/// `now_ms` plus `d`, within what an entry can hold.
fn until(now_ms: u64, d: Duration) -> u64 {
    let d = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_add(d).min(Entry::MAX_UNTIL_MS)
}

/// Applies an observation to an entry at `now_ms`. Returns the new entry, or `None` when the
/// entry does not change.
pub fn step(e: Entry, obs: Observation, policy: &Policy, now_ms: u64) -> Option<Entry> {
    let (to, reason) = obs.verdict()?;
    let e = expire(e, now_ms).unwrap_or(e);
    let until_ms = match to {
        FallbackState::Normal => 0,
        FallbackState::Limited => {
            let pause = if reason == Reason::IcmpTimeExceeded {
                policy.time_exceeded_pause
            } else {
                policy.limited_pause
            };
            until(now_ms, pause)
        }
        FallbackState::Blocked => until(now_ms, policy.blocked_cooldown),
    };
    // A weaker verdict does not shorten a stronger state still running: `limited` evidence
    // while `blocked` keeps `blocked`; a longer running pause is kept.
    if to == FallbackState::Normal && e.state == FallbackState::Normal {
        return None;
    }
    if to != FallbackState::Normal && e.state > to {
        return None;
    }
    if to != FallbackState::Normal && e.state == to && e.until_ms >= until_ms && !e.probing {
        return None;
    }
    let next = Entry {
        state: to,
        reason,
        probing: false,
        until_ms,
    };
    (next != e).then_some(next)
}

/// Time-driven change: a `limited` entry whose pause ended becomes `normal`; a `blocked` entry
/// whose probe claim expired becomes claimable again. `None` when nothing changes.
pub fn expire(e: Entry, now_ms: u64) -> Option<Entry> {
    match e.state {
        FallbackState::Limited if now_ms >= e.until_ms => Some(Entry {
            state: FallbackState::Normal,
            reason: Reason::PauseElapsed,
            probing: false,
            until_ms: 0,
        }),
        FallbackState::Blocked if e.probing && now_ms >= e.until_ms => Some(Entry {
            probing: false,
            ..e
        }),
        _ => None,
    }
}

/// What a dialer should do with this entry at `now_ms`, and the entry to store when the
/// decision claims the probe (the caller stores it with compare-and-swap; only the winner of
/// the CAS probes).
pub fn decide(e: Entry, policy: &Policy, now_ms: u64) -> (Decision, Option<Entry>) {
    let e = expire(e, now_ms).unwrap_or(e);
    match e.state {
        FallbackState::Normal => (Decision::Ipv6First, None),
        FallbackState::Limited => (Decision::Ipv4First, None),
        FallbackState::Blocked if now_ms < e.until_ms || e.probing => (Decision::Skip, None),
        FallbackState::Blocked => (
            Decision::Probe,
            Some(Entry {
                probing: true,
                reason: Reason::ProbeStarted,
                until_ms: until(now_ms, policy.probe_timeout),
                ..e
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        limited_pause: Duration::from_secs(15),
        time_exceeded_pause: Duration::from_secs(15),
        blocked_cooldown: Duration::from_secs(60),
        probe_timeout: Duration::from_secs(10),
    };

    #[test]
    fn pack_roundtrip() {
        let e = Entry {
            state: FallbackState::Blocked,
            reason: Reason::ProbeStarted,
            probing: true,
            until_ms: 123_456_789_012,
        };
        assert_eq!(Entry::unpack(e.pack()), e);
        assert_eq!(Entry::unpack(0), Entry::NORMAL);
        // The table's bits (9..24) are not part of the entry; a far deadline is clamped.
        assert_eq!(Entry::unpack(e.pack() | (0x7fff << 9)), e);
        let far = Entry {
            until_ms: u64::MAX,
            ..e
        };
        assert_eq!(Entry::unpack(far.pack()).until_ms, Entry::MAX_UNTIL_MS);
        for r in Reason::ALL {
            assert_eq!(Reason::from_bits(r as u64), r);
        }
    }

    #[test]
    fn icmp_errors_and_errnos_map_to_states() {
        let v = |code| Observation::DestUnreachable { code }.verdict();
        assert_eq!(v(0), Some((FallbackState::Blocked, Reason::IcmpNoRoute)));
        assert_eq!(v(1).map(|x| x.0), Some(FallbackState::Blocked));
        assert_eq!(v(5).map(|x| x.0), Some(FallbackState::Blocked));
        assert_eq!(v(6).map(|x| x.0), Some(FallbackState::Blocked));
        assert_eq!(v(3).map(|x| x.0), Some(FallbackState::Limited));
        assert_eq!(v(4), None, "port unreachable says the host is there");
        assert_eq!(
            Observation::TimeExceeded.verdict(),
            Some((FallbackState::Limited, Reason::IcmpTimeExceeded))
        );
        assert_eq!(
            Observation::Errno(libc::ENETUNREACH).verdict().map(|x| x.0),
            Some(FallbackState::Blocked)
        );
        assert_eq!(Observation::Errno(libc::ECONNREFUSED).verdict(), None);
    }

    #[test]
    fn no_route_blocks_then_probe_then_success_is_normal() {
        let e = step(
            Entry::NORMAL,
            Observation::DestUnreachable { code: 0 },
            &P,
            1000,
        )
        .unwrap();
        assert_eq!(e.state, FallbackState::Blocked);
        assert_eq!(e.until_ms, 61_000);
        assert_eq!(decide(e, &P, 2000), (Decision::Skip, None));
        let (d, claimed) = decide(e, &P, 61_000);
        assert_eq!(d, Decision::Probe);
        let claimed = claimed.unwrap();
        assert!(claimed.probing);
        // A second dialer sees the claim and skips.
        assert_eq!(decide(claimed, &P, 61_001).0, Decision::Skip);
        // The claim expires if the probe never reports.
        assert_eq!(decide(claimed, &P, 71_000).0, Decision::Probe);
        let ok = step(claimed, Observation::Success, &P, 61_010).unwrap();
        assert_eq!(ok.state, FallbackState::Normal);
        assert_eq!(ok.reason, Reason::Ipv6Success);
        // A failed probe blocks again for a full cool-down.
        let again = step(
            claimed,
            Observation::DestUnreachable { code: 0 },
            &P,
            61_010,
        )
        .unwrap();
        assert_eq!(
            (again.state, again.probing),
            (FallbackState::Blocked, false)
        );
        assert_eq!(again.until_ms, 121_010);
    }

    #[test]
    fn time_exceeded_limits_then_pause_elapses() {
        let e = step(Entry::NORMAL, Observation::TimeExceeded, &P, 0).unwrap();
        assert_eq!(e.state, FallbackState::Limited);
        assert_eq!(decide(e, &P, 14_999).0, Decision::Ipv4First);
        assert_eq!(decide(e, &P, 15_000).0, Decision::Ipv6First);
        let n = expire(e, 15_000).unwrap();
        assert_eq!(
            (n.state, n.reason),
            (FallbackState::Normal, Reason::PauseElapsed)
        );
        assert_eq!(expire(e, 14_000), None);
    }

    #[test]
    fn weaker_evidence_does_not_unblock_and_repeats_do_not_churn() {
        let b = step(
            Entry::NORMAL,
            Observation::DestUnreachable { code: 1 },
            &P,
            0,
        )
        .unwrap();
        assert_eq!(step(b, Observation::TimeExceeded, &P, 10), None);
        // Same evidence again extends the cool-down (a new deadline) but stays blocked.
        let b2 = step(b, Observation::DestUnreachable { code: 1 }, &P, 10).unwrap();
        assert_eq!(b2.until_ms, 60_010);
        // Normal + success: nothing to change.
        assert_eq!(step(Entry::NORMAL, Observation::Success, &P, 5), None);
        // Limited then stronger evidence: blocked.
        let l = step(Entry::NORMAL, Observation::Timeout, &P, 0).unwrap();
        let b3 = step(l, Observation::Errno(libc::ENETUNREACH), &P, 1).unwrap();
        assert_eq!(b3.state, FallbackState::Blocked);
        // Success while limited moves back to normal.
        let n = step(l, Observation::Success, &P, 2).unwrap();
        assert_eq!(n.state, FallbackState::Normal);
    }
}
