//! The kernel/user ABI: what the eBPF programs write and user space reads.
//!
//! Everything here is `#[repr(C)]`, `Copy`, has no implicit padding (explicit `_pad` fields), and
//! carries a compile-time size assertion, so a layout change cannot go unnoticed on either side.
//! Multi-byte integers in records are in host byte order; frame bytes are as on the wire.
//!
//! A record is a [`RecordHeader`] (metadata and the kernel's parse summary) followed by the frame
//! from its Ethernet header on, VLAN tags included, exactly as on the wire: user space decodes it
//! with the same parser as capture files and can write it to pcapng byte for byte. Records come in
//! size classes ([`FRAME_CLASSES`]): the program reserves the smallest class that holds the whole
//! frame, so an NS costs a 128-byte copy and an RA on a 1500-byte link is kept whole.

/// Name of the BPF ring buffer map carrying records.
pub const MAP_EVENTS: &str = "V6P_EVENTS";
/// Name of the per-CPU array holding one [`Counters`] entry (index 0).
pub const MAP_COUNTERS: &str = "V6P_COUNTERS";
/// Name of the one-entry array holding the [`Config`].
pub const MAP_CONFIG: &str = "V6P_CONFIG";
/// Name of the per-CPU array of flood-guard buckets, one per [`guard`] class ([`GuardBucket`]).
pub const MAP_GUARD: &str = "V6P_GUARD";
/// Name of the per-CPU array of flood-guard buckets per source MAC ([`MacGuard`]): a
/// two-way set-associative table, indexed by a hash of the MAC ([`mac_slots`]).
pub const MAP_GUARD_MAC: &str = "V6P_GUARD_MAC";
/// Slots of [`MAP_GUARD_MAC`] (per CPU): source MACs the flood guard tracks at most at once.
/// A power of two.
pub const GUARD_MACS: u32 = 4096;
/// How long a source MAC's entry is kept after its bucket is full again when it has counted
/// frames: user space reads the counts once a second, so it sees an entry's last counts before
/// another MAC may take the slot.
pub const GUARD_MAC_KEEP_NS: u64 = 3_000_000_000;

/// The programs' read-only global that says whether every frame is counted
/// ([`counter::NON_IPV6`], [`counter::IPV6`]): a `u8`, 1 or 0 (the default), set by the loader.
/// Fixed at load time, so with 0 the verifier removes the counting.
pub const GLOBAL_COUNT_FRAMES: &str = "V6P_COUNT_FRAMES";

/// Program names in the object file.
pub const PROG_XDP: &str = "v6p_xdp";
pub const PROG_TC_INGRESS: &str = "v6p_tc_ingress";
pub const PROG_TC_EGRESS: &str = "v6p_tc_egress";
/// The same three for every frame counted ([`GLOBAL_COUNT_FRAMES`] 1): every frame goes to the
/// parser, which counts it. The default three let other traffic leave at a first look that
/// tests no setting and touches no map.
pub const PROG_XDP_ALL: &str = "v6p_xdp_all";
pub const PROG_TC_INGRESS_ALL: &str = "v6p_tc_ingress_all";
pub const PROG_TC_EGRESS_ALL: &str = "v6p_tc_egress_all";
/// A bare `XDP_PASS` program, built into the same object as the baseline for benchmarks.
pub const PROG_XDP_BARE: &str = "v6p_xdp_bare";
/// A bare `TC_ACT_UNSPEC` classifier, the TC baseline for benchmarks.
pub const PROG_TC_BARE: &str = "v6p_tc_bare";
/// Writes a record of every frame without parsing it: the floor of the record path, for the
/// benchmark (never attached).
pub const PROG_XDP_FLOOR: &str = "v6p_xdp_floor";

/// The object's program that runs as `name` ([`PROG_XDP`], [`PROG_TC_INGRESS`],
/// [`PROG_TC_EGRESS`]; any other name is itself) when every frame is counted or not.
pub fn program_for(name: &'static str, count_frames: bool) -> &'static str {
    match (name, count_frames) {
        (PROG_XDP, true) => PROG_XDP_ALL,
        (PROG_TC_INGRESS, true) => PROG_TC_INGRESS_ALL,
        (PROG_TC_EGRESS, true) => PROG_TC_EGRESS_ALL,
        _ => name,
    }
}

/// Default ring buffer size in bytes (a power of two, a multiple of the page size).
pub const RING_BYTES: u32 = 4 << 20;

/// The programs wake the ring-buffer reader only once this many bytes are pending; the reader
/// also polls every [`POLL_INTERVAL_MS`], so a lone record waits at most that long.
pub const WAKEUP_BYTES: u64 = 64 * 1024;
/// How often the reader looks at the ring buffer without a wakeup.
pub const POLL_INTERVAL_MS: u64 = 10;

/// Frame bytes a record holds, per size class, smallest first. The program picks the smallest
/// class that holds the whole frame; a longer frame is cut to the last class (flagged
/// [`flags::TRUNCATED`] and counted). The last class holds a whole frame of a 1500-byte-MTU link
/// with two VLAN tags (14 + 8 + 1500 = 1522 bytes). Powers of two: the program bounds the copy
/// length for the verifier with a mask (`((len - 1) & (N - 1)) + 1`, which is `len` for every
/// `len` in `1..=N` only when `N` is a power of two).
pub const FRAME_CLASSES: [usize; 4] = [128, 256, 512, 2048];
const _: () = assert!(
    FRAME_CLASSES[0].is_power_of_two()
        && FRAME_CLASSES[1].is_power_of_two()
        && FRAME_CLASSES[2].is_power_of_two()
        && FRAME_CLASSES[3].is_power_of_two()
);
/// Number of size classes.
pub const CLASS_COUNT: usize = FRAME_CLASSES.len();
/// The largest size class: the most frame bytes a record holds.
pub const MAX_FRAME_CAP: usize = FRAME_CLASSES[CLASS_COUNT - 1];

/// The size class (index into [`FRAME_CLASSES`]) for a frame of `len` bytes.
#[inline(always)]
pub const fn size_class(len: usize) -> usize {
    if len <= FRAME_CLASSES[0] {
        0
    } else if len <= FRAME_CLASSES[1] {
        1
    } else if len <= FRAME_CLASSES[2] {
        2
    } else {
        3
    }
}

/// How many extension headers the parsers (kernel and [`crate::wire`]) walk. Linux bounds a chain
/// only by the packet's length (`ip6_protocol_deliver_rcu` resubmits header after header; it
/// accepts an RA behind nine 8-byte destination-options headers): 16 covers every chain seen
/// in use and in the evasion tools, and a longer one on link-scope traffic is recorded with
/// [`flags::CHAIN_TOO_LONG`], so user space sees it and can parse on from the frame bytes.
pub const MAX_EXT_HEADERS: usize = 16;
/// How many VLAN tags the parser strips.
pub const MAX_VLANS: usize = 2;

/// Where the record was captured.
pub mod hook {
    pub const XDP: u8 = 0;
    pub const TC: u8 = 1;
}

/// Packet direction relative to the interface.
pub mod direction {
    pub const INGRESS: u8 = 0;
    pub const EGRESS: u8 = 1;
}

/// Bits of [`RecordHeader::flags`].
pub mod flags {
    /// The record holds less than the IPv6 packet: the frame was longer than the largest size
    /// class ([`super::MAX_FRAME_CAP`]), or the frame itself ends before the IPv6 payload length
    /// says.
    pub const TRUNCATED: u16 = 1 << 0;
    /// A fragment header was present.
    pub const FRAGMENT: u16 = 1 << 1;
    /// The fragment header had the M (more fragments) flag set.
    pub const MORE_FRAGMENTS: u16 = 1 << 2;
    /// The fragment was not the first one (offset != 0): no upper-layer header in this frame,
    /// `icmp_type` is 0. Recorded because a non-first fragment of NDP is an evasion signal.
    pub const NON_FIRST_FRAGMENT: u16 = 1 << 3;
    /// The chain of extension headers goes on past the [`super::MAX_EXT_HEADERS`] the program
    /// walks (recorded for link-scope traffic: user space parses on from the frame bytes).
    pub const CHAIN_TOO_LONG: u16 = 1 << 4;
    /// A first fragment whose header chain ends before an upper-layer header (RFC 7112): the
    /// ICMPv6 header, if any, is in a later fragment.
    pub const CHAIN_INCOMPLETE: u16 = 1 << 5;
}

/// Bits of [`RecordHeader::ext_bitmap`]: which IPv6 extension headers were seen.
pub mod ext {
    pub const HOP_BY_HOP: u8 = 1 << 0;
    pub const ROUTING: u8 = 1 << 1;
    pub const FRAGMENT: u8 = 1 << 2;
    pub const DEST_OPTS: u8 = 1 << 3;
    pub const AUTH: u8 = 1 << 4;
    pub const MOBILITY: u8 = 1 << 5;
}
/// IPv6 next-header values the parser knows.
pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AUTH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
}

/// EtherType values the parser knows.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
}

/// ICMPv6 types the programs report.
pub mod icmp6 {
    pub const DEST_UNREACHABLE: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAM_PROBLEM: u8 = 4;
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
    pub const REDIRECT: u8 = 137;
}

/// Message classes user space can select through [`Config::report_mask`].
pub mod class {
    pub const RS: u32 = 1 << 0;
    pub const RA: u32 = 1 << 1;
    pub const NS: u32 = 1 << 2;
    pub const NA: u32 = 1 << 3;
    pub const REDIRECT: u32 = 1 << 4;
    pub const DEST_UNREACHABLE: u32 = 1 << 5;
    pub const PACKET_TOO_BIG: u32 = 1 << 6;
    pub const TIME_EXCEEDED: u32 = 1 << 7;
    pub const PARAM_PROBLEM: u32 = 1 << 8;
    /// Fragments without a reported ICMPv6 type in them: non-first fragments of ICMPv6 or of
    /// link-scope packets, and first fragments of link-scope packets or without an upper-layer
    /// header (possible NDP evasion).
    pub const FRAGMENTS: u32 = 1 << 9;
    /// Link-scope packets whose extension-header chain is longer than the program walks.
    pub const LONG_CHAINS: u32 = 1 << 10;
    pub const NDP: u32 = RS | RA | NS | NA | REDIRECT;
    pub const ERRORS: u32 = DEST_UNREACHABLE | PACKET_TOO_BIG | TIME_EXCEEDED | PARAM_PROBLEM;
    pub const ALL: u32 = NDP | ERRORS | FRAGMENTS | LONG_CHAINS;

    /// The class bit of an ICMPv6 type, or 0 when the type is not one the programs report.
    #[inline(always)]
    pub const fn of_type(icmp_type: u8) -> u32 {
        match icmp_type {
            super::icmp6::ROUTER_SOLICIT => RS,
            super::icmp6::ROUTER_ADVERT => RA,
            super::icmp6::NEIGHBOR_SOLICIT => NS,
            super::icmp6::NEIGHBOR_ADVERT => NA,
            super::icmp6::REDIRECT => REDIRECT,
            super::icmp6::DEST_UNREACHABLE => DEST_UNREACHABLE,
            super::icmp6::PACKET_TOO_BIG => PACKET_TOO_BIG,
            super::icmp6::TIME_EXCEEDED => TIME_EXCEEDED,
            super::icmp6::PARAM_PROBLEM => PARAM_PROBLEM,
            _ => 0,
        }
    }
}

/// Indices into the per-CPU counter array [`MAP_COUNTERS`].
pub mod counter {
    /// Frames that are not IPv6 (or too short to tell). With frame counting on
    /// ([`super::GLOBAL_COUNT_FRAMES`]) every frame increments exactly one of `NON_IPV6` and
    /// `IPV6`, so frames seen = [`frames`] = the two added (one counter update per frame on the
    /// fast path, not two). With it off (the default) neither is counted: both stay 0, and user
    /// space leaves them out (the interfaces' own counters count frames).
    pub const NON_IPV6: u32 = 0;
    pub const IPV6: u32 = 1;
    pub const ICMPV6: u32 = 2;
    pub const DEST_UNREACHABLE: u32 = 3;
    pub const PACKET_TOO_BIG: u32 = 4;
    pub const TIME_EXCEEDED: u32 = 5;
    pub const PARAM_PROBLEM: u32 = 6;
    pub const ROUTER_SOLICIT: u32 = 7;
    pub const ROUTER_ADVERT: u32 = 8;
    pub const NEIGHBOR_SOLICIT: u32 = 9;
    pub const NEIGHBOR_ADVERT: u32 = 10;
    pub const REDIRECT: u32 = 11;
    /// IPv6 frames neither walked to a reported message nor recorded: the sum of the reasons
    /// below that were not recorded ([`IP_VERSION`], [`HEADER_TRUNCATED`], [`CHAIN_TOO_LONG`]
    /// off link scope). Never a silent failure: each has its own counter.
    pub const PARSE_FAILURES: u32 = 12;
    /// Records holding less than their IPv6 packet ([`super::flags::TRUNCATED`]).
    pub const TRUNCATED: u32 = 13;
    /// Ring-buffer reservations that failed: records lost because user space fell behind.
    pub const RINGBUF_DROPS: u32 = 14;
    /// Records written to the ring buffer.
    pub const RECORDS: u32 = 15;
    /// Frames carrying at least one VLAN tag.
    pub const VLAN: u32 = 16;
    /// Frames with a fragment header that the parser reports (before the report mask and the
    /// flood guard).
    pub const FRAGMENTS: u32 = 17;
    /// Records per size class ([`super::FRAME_CLASSES`]), smallest first.
    pub const RECORDS_CLASS0: u32 = 18;
    pub const RECORDS_CLASS1: u32 = 19;
    pub const RECORDS_CLASS2: u32 = 20;
    pub const RECORDS_CLASS3: u32 = 21;
    /// Frames the flood guard counted instead of recording (all classes).
    pub const FLOOD_SUPPRESSED: u32 = 22;
    /// The same per [`super::guard`] class: RS, RA, NS, NA, Redirect, errors, other.
    pub const FLOOD_RS: u32 = 23;
    pub const FLOOD_RA: u32 = 24;
    pub const FLOOD_NS: u32 = 25;
    pub const FLOOD_NA: u32 = 26;
    pub const FLOOD_REDIRECT: u32 = 27;
    pub const FLOOD_ERRORS: u32 = 28;
    pub const FLOOD_OTHER: u32 = 29;
    /// The IPv6 EtherType with another IP version (not recorded).
    pub const IP_VERSION: u32 = 30;
    /// An IPv6, extension or ICMPv6 header that runs past the end of a frame that is not a
    /// fragment (not recorded: a host drops it too).
    pub const HEADER_TRUNCATED: u32 = 31;
    /// Chains longer than the program walks ([`super::flags::CHAIN_TOO_LONG`]; recorded for
    /// link-scope traffic, a parse failure otherwise).
    pub const CHAIN_TOO_LONG: u32 = 32;
    /// First fragments without an upper-layer header ([`super::flags::CHAIN_INCOMPLETE`]; all
    /// recorded).
    pub const CHAIN_INCOMPLETE: u32 = 33;
    /// Of [`FLOOD_SUPPRESSED`], frames from a source MAC the guard's table does not hold:
    /// counted per class but not per MAC. Only a recorded frame makes a table entry, so a
    /// flood with a new source MAC per frame costs no table insert per frame.
    pub const FLOOD_UNTRACKED: u32 = 34;
    pub const COUNT: u32 = 35;

    /// Stable snake_case names, indexed like the constants, for output.
    pub const NAMES: [&str; COUNT as usize] = [
        "non_ipv6",
        "ipv6",
        "icmpv6",
        "dest_unreachable",
        "packet_too_big",
        "time_exceeded",
        "param_problem",
        "router_solicit",
        "router_advert",
        "neighbor_solicit",
        "neighbor_advert",
        "redirect",
        "parse_failures",
        "truncated",
        "ringbuf_drops",
        "records",
        "vlan",
        "fragments",
        "records_128",
        "records_256",
        "records_512",
        "records_2048",
        "flood_suppressed",
        "flood_suppressed_rs",
        "flood_suppressed_ra",
        "flood_suppressed_ns",
        "flood_suppressed_na",
        "flood_suppressed_redirect",
        "flood_suppressed_errors",
        "flood_suppressed_other",
        "ip_version",
        "header_truncated",
        "chain_too_long",
        "chain_incomplete",
        "flood_untracked",
    ];

    /// Frames seen, from the counters summed over CPUs.
    pub const fn frames(c: &[u64; COUNT as usize]) -> u64 {
        c[NON_IPV6 as usize] + c[IPV6 as usize]
    }

    /// The counter for a matched ICMPv6 type, if it is one the programs count.
    #[inline(always)]
    pub const fn of_type(icmp_type: u8) -> Option<u32> {
        match icmp_type {
            1..=4 => Some(DEST_UNREACHABLE + icmp_type as u32 - 1),
            133..=137 => Some(ROUTER_SOLICIT + icmp_type as u32 - 133),
            _ => None,
        }
    }
}

const _: () = assert!(class_names_match());
/// The per-class record counter names follow [`FRAME_CLASSES`].
const fn class_names_match() -> bool {
    FRAME_CLASSES[0] == 128
        && FRAME_CLASSES[1] == 256
        && FRAME_CLASSES[2] == 512
        && FRAME_CLASSES[3] == 2048
        && counter::RECORDS_CLASS3 - counter::RECORDS_CLASS0 + 1 == CLASS_COUNT as u32
}

/// Every counter of one CPU, indexed by [`counter`]: the single entry of [`MAP_COUNTERS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    pub v: [u64; counter::COUNT as usize],
}

/// The flood guard's message classes: one token bucket each (per CPU), and one flood counter.
pub mod guard {
    pub const RS: u32 = 0;
    pub const RA: u32 = 1;
    pub const NS: u32 = 2;
    pub const NA: u32 = 3;
    pub const REDIRECT: u32 = 4;
    /// ICMPv6 errors (types 1-4).
    pub const ERRORS: u32 = 5;
    /// Records without a known NDP or error type: fragments, header chains.
    pub const OTHER: u32 = 6;
    /// Classes in use.
    pub const COUNT: u32 = 7;
    /// Slots in [`super::Config`] and [`super::MAP_GUARD`]: a power of two, so the program can
    /// bound a class index with a mask.
    pub const SLOTS: usize = 8;
    /// Stable names, indexed like the constants.
    pub const NAMES: [&str; COUNT as usize] =
        ["rs", "ra", "ns", "na", "redirect", "errors", "other"];

    /// The guard class of a record's ICMPv6 type (0 when there is none: [`OTHER`]).
    #[inline(always)]
    pub const fn of_type(icmp_type: u8) -> u32 {
        match icmp_type {
            133 => RS,
            134 => RA,
            135 => NS,
            136 => NA,
            137 => REDIRECT,
            1..=4 => ERRORS,
            _ => OTHER,
        }
    }
}
const _: () = assert!(guard::SLOTS.is_power_of_two() && guard::COUNT as usize <= guard::SLOTS);

/// The one entry of [`MAP_CONFIG`].
///
/// The flood guard is a GCRA (the token bucket as arrival times): a class (or source MAC) may
/// record when its theoretical arrival time `tat` is at most `burst_ns` ahead of now; each record
/// moves `tat` on by `interval_ns` (1 s / rate). So a burst of `burst_ns / interval_ns + 1`
/// records goes through at once (the first packets of a flood are recorded in full), then one per
/// `interval_ns`; the rest is counted ([`counter::FLOOD_SUPPRESSED`], per class, and per MAC in
/// [`MAP_GUARD_MAC`] when the MAC has an entry there, else in [`counter::FLOOD_UNTRACKED`]).
/// Only a recorded frame creates a MAC entry, in one of the two slots its hash selects, and
/// only in a slot that is free (never used, or its MAC's bucket full again, and
/// [`GUARD_MAC_KEEP_NS`] past that when it has counted frames); otherwise the MAC is not
/// tracked (its frames are limited per class only, and counted as untracked). Buckets are per
/// CPU. Their clock is the kernel's coarse monotonic clock (the time at the last tick, 1 to 10
/// ms steps by the kernel's HZ), which costs a memory load to read where the precise clock
/// reads the TSC: over a second the rates hold, within a tick the records a bucket lets
/// through can run ahead of the rate by up to a tick's worth.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// [`class`] bits to report. Only honoured when [`Config::VALID`] is set in `flags`;
    /// a zeroed (never written) config reports everything.
    pub report_mask: u32,
    pub flags: u32,
    /// Per [`guard`] class: nanoseconds per record (0: no limit for the class).
    pub class_interval_ns: [u64; guard::SLOTS],
    /// Per [`guard`] class: how far ahead of now `tat` may run (the burst).
    pub class_burst_ns: [u64; guard::SLOTS],
    /// Per source MAC (0: no per-MAC limit).
    pub mac_interval_ns: u64,
    pub mac_burst_ns: u64,
}

impl Config {
    pub const VALID: u32 = 1;
    /// The flood guard is on.
    pub const GUARD: u32 = 2;

    /// A config that reports `report_mask`, with the flood guard `guard` (or none).
    pub fn new(report_mask: u32, guard: Option<FloodGuard>) -> Self {
        let mut c = Self {
            report_mask,
            flags: Self::VALID,
            ..Self::default()
        };
        if let Some(g) = guard {
            c.flags |= Self::GUARD;
            let (i, b) = g.class.gcra();
            for slot in 0..guard::COUNT as usize {
                c.class_interval_ns[slot] = i;
                c.class_burst_ns[slot] = b;
            }
            (c.mac_interval_ns, c.mac_burst_ns) = g.mac.gcra();
        }
        c
    }

    #[inline(always)]
    pub const fn reports(&self, class_bit: u32) -> bool {
        if self.flags & Self::VALID == 0 {
            return class_bit != 0;
        }
        self.report_mask & class_bit != 0
    }
}

/// A rate with a burst, for the flood guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Records per second (0: no limit).
    pub per_sec: u32,
    /// Records let through at once before the rate applies (at least 1).
    pub burst: u32,
}

impl Rate {
    /// (interval, burst tolerance) in nanoseconds for [`Config`].
    pub const fn gcra(&self) -> (u64, u64) {
        if self.per_sec == 0 {
            return (0, 0);
        }
        let interval = 1_000_000_000 / self.per_sec as u64;
        let burst = if self.burst == 0 { 1 } else { self.burst } as u64;
        (interval, interval * (burst - 1))
    }
}

/// Flood-guard rates: per message class (each [`guard`] class has its own bucket at this rate)
/// and per source MAC. Per CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodGuard {
    pub class: Rate,
    pub mac: Rate,
}

impl FloodGuard {
    /// `rate` records per second per class, one second of burst; a source MAC gets a quarter of
    /// that (so one sender cannot take a class's whole budget from the others).
    pub const fn with_rate(rate: u32) -> Self {
        let mac = if rate / 4 == 0 { 1 } else { rate / 4 };
        Self {
            class: Rate {
                per_sec: rate,
                burst: rate,
            },
            mac: Rate {
                per_sec: mac,
                burst: mac,
            },
        }
    }
}

/// One flood-guard bucket ([`MAP_GUARD`] entry): the theoretical arrival time.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardBucket {
    pub tat_ns: u64,
}

/// One slot of [`MAP_GUARD_MAC`]: a source MAC's flood-guard state.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacGuard {
    /// [`mac_key`] of the MAC; with `tat_ns` 0, a slot never used.
    pub key: u64,
    pub tat_ns: u64,
    /// Frames from this MAC counted instead of recorded (on this CPU) since the MAC took the
    /// slot.
    pub suppressed: u64,
}

impl MacGuard {
    /// Whether the slot has a MAC in it (a never used slot is all zeros).
    pub const fn used(&self) -> bool {
        self.tat_ns != 0
    }
}

/// The key of a MAC: its six bytes in the low bytes of a little-endian u64.
pub const fn mac_key(mac: [u8; 6]) -> u64 {
    u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0])
}

/// The two [`MAP_GUARD_MAC`] slots a MAC may hold (an even index and the next): a
/// multiplicative hash of its key (Fibonacci hashing), so that MACs that differ in any byte
/// spread over the table.
#[inline(always)]
pub const fn mac_slots(key: u64) -> (u32, u32) {
    const BITS: u32 = GUARD_MACS.trailing_zeros();
    let h = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BITS)) as u32;
    let first = h & !1;
    (first, first | 1)
}
const _: () = assert!(GUARD_MACS.is_power_of_two() && GUARD_MACS >= 2);

/// The MAC of a key ([`mac_key`]).
pub const fn key_mac(key: u64) -> [u8; 6] {
    let b = key.to_le_bytes();
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

/// The fixed start of every record: metadata and the kernel's parse summary. The frame bytes
/// follow it ([`RingRecord`]). Built as one value in the kernel and written into the ring-buffer
/// reservation at once (reserved ring memory is not zeroed).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) when the program ran.
    pub ts_ns: u64,
    pub ifindex: u32,
    /// Length of the frame on the wire, from the Ethernet header (what pcapng calls the
    /// original length).
    pub wire_len: u32,
    /// Frame bytes in this record (at most `cap`, at most `wire_len`).
    pub captured_len: u16,
    /// Frame bytes this record's size class holds ([`FRAME_CLASSES`]).
    pub cap: u16,
    /// [`flags`] bits.
    pub flags: u16,
    /// [`hook`] value.
    pub hook: u8,
    /// [`direction`] value.
    pub direction: u8,
    /// Offset of the IPv6 header in the frame (14, 18 or 22: after the VLAN tags).
    pub l3_offset: u16,
    /// Offset of the ICMPv6 header in the frame; for records without one, where the parser
    /// stopped (after the last header it walked).
    pub upper_offset: u16,
    /// The IPv6 payload length field.
    pub payload_len: u16,
    /// ICMPv6 message length from the payload length minus the extension headers (0 when
    /// there is no ICMPv6 header in this frame).
    pub msg_len: u16,
    /// Fragment identification (when [`flags::FRAGMENT`]).
    pub frag_id: u32,
    /// Fragment offset in 8-byte units (when [`flags::FRAGMENT`]).
    pub frag_offset: u16,
    /// ICMPv6 type and code (0 when there is no ICMPv6 header in this frame).
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub hop_limit: u8,
    /// Number of VLAN tags in front of IPv6 (0..=2).
    pub vlan_count: u8,
    /// Number of extension headers walked.
    pub ext_count: u8,
    /// Next-header value where the walk stopped ([`next_header::ICMPV6`] for NDP).
    pub upper: u8,
    /// [`ext`] bits.
    pub ext_bitmap: u8,
    pub _pad: [u8; 3],
}

/// Size of [`RecordHeader`]: the frame starts this many bytes into a record.
pub const RECORD_HEADER_LEN: usize = 48;

/// A record as reserved in the ring buffer: the header and a frame area of one size class.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RingRecord<const N: usize> {
    pub header: RecordHeader,
    /// The frame from its Ethernet header; `header.captured_len` bytes are valid.
    pub frame: [u8; N],
}

const _: () = assert!(core::mem::size_of::<RecordHeader>() == RECORD_HEADER_LEN);
const _: () = assert!(core::mem::size_of::<RingRecord<128>>() == RECORD_HEADER_LEN + 128);
const _: () = assert!(core::mem::size_of::<RingRecord<256>>() == RECORD_HEADER_LEN + 256);
const _: () = assert!(core::mem::size_of::<RingRecord<512>>() == RECORD_HEADER_LEN + 512);
const _: () = assert!(core::mem::size_of::<RingRecord<2048>>() == RECORD_HEADER_LEN + 2048);
const _: () = assert!(core::mem::align_of::<RingRecord<128>>() == 8);
const _: () = assert!(core::mem::size_of::<Config>() == 8 + 16 * guard::SLOTS + 16);
const _: () = assert!(core::mem::size_of::<GuardBucket>() == 8);
const _: () = assert!(core::mem::size_of::<MacGuard>() == 24);
const _: () = assert!(core::mem::size_of::<Counters>() == 8 * counter::COUNT as usize);

/// Bytes one record of size class `class` takes in the ring (8-byte ring header, rounded up to
/// 8), for the wakeup threshold and ring sizing.
pub const fn ring_slot(class: usize) -> u64 {
    ((RECORD_HEADER_LEN + FRAME_CLASSES[class] + 8 + 7) & !7) as u64
}

/// A record read from the ring buffer, borrowing its frame bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub header: RecordHeader,
    /// The captured frame (`header.captured_len` bytes).
    pub frame: &'a [u8],
}

impl<'a> RecordRef<'a> {
    /// Splits ring-buffer bytes into header and frame; `None` when they are shorter than the
    /// header or than the frame length it announces.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < RECORD_HEADER_LEN {
            return None;
        }
        // SAFETY: RecordHeader is repr(C), every bit pattern is valid (integers and byte
        // arrays), and the length was checked; read_unaligned copes with any alignment.
        let header = unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<RecordHeader>()) };
        let frame =
            bytes.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + header.captured_len as usize)?;
        Some(Self { header, frame })
    }

    /// The captured bytes of the ICMPv6 message (from its type byte), empty when the frame has
    /// no ICMPv6 header.
    pub fn message(&self) -> &'a [u8] {
        if self.header.icmp_type == 0 {
            return &[];
        }
        let start = self.header.upper_offset as usize;
        let end = start.saturating_add(self.header.msg_len as usize);
        let end = end.min(self.frame.len());
        self.frame.get(start..end).unwrap_or_default()
    }

    /// The IPv6 source address.
    pub fn ip6_src(&self) -> Option<[u8; 16]> {
        let at = self.header.l3_offset as usize + 8;
        self.frame.get(at..at + 16)?.try_into().ok()
    }

    /// The IPv6 destination address.
    pub fn ip6_dst(&self) -> Option<[u8; 16]> {
        let at = self.header.l3_offset as usize + 24;
        self.frame.get(at..at + 16)?.try_into().ok()
    }

    /// An owned copy.
    #[cfg(feature = "alloc")]
    pub fn to_record(&self) -> Record {
        Record {
            header: self.header,
            frame: self.frame.into(),
        }
    }
}

/// A record with its own copy of the frame bytes (user space).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub header: RecordHeader,
    pub frame: alloc::vec::Vec<u8>,
}

#[cfg(feature = "alloc")]
impl Record {
    /// A copy of the record in ring-buffer bytes (see [`RecordRef::parse`]).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        RecordRef::parse(bytes).map(|r| r.to_record())
    }

    /// The borrowed view.
    pub fn view(&self) -> RecordRef<'_> {
        RecordRef {
            header: self.header,
            frame: &self.frame,
        }
    }

    /// See [`RecordRef::message`].
    pub fn message(&self) -> &[u8] {
        self.view().message()
    }
}

#[cfg(all(feature = "user", target_os = "linux"))]
mod pod {
    // SAFETY: plain old data, no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::Config {}
    // SAFETY: an array of u64, no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::Counters {}
    // SAFETY: plain old data, no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::GuardBucket {}
    // SAFETY: plain old data, no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::MacGuard {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_by_frame_length() {
        assert_eq!(size_class(60), 0);
        assert_eq!(size_class(128), 0);
        assert_eq!(size_class(129), 1);
        assert_eq!(size_class(512), 2);
        assert_eq!(size_class(1522), 3);
        assert_eq!(size_class(9000), 3);
        assert_eq!(ring_slot(0), 48 + 128 + 8);
        assert_eq!(ring_slot(3), 48 + 2048 + 8);
    }

    #[test]
    fn guard_rates_become_gcra_intervals() {
        let g = FloodGuard::with_rate(1000);
        assert_eq!(g.class.gcra(), (1_000_000, 999 * 1_000_000));
        assert_eq!(g.mac.per_sec, 250);
        assert_eq!(FloodGuard::with_rate(2).mac.per_sec, 1);
        assert_eq!(
            Rate {
                per_sec: 0,
                burst: 5
            }
            .gcra(),
            (0, 0)
        );
        // A burst of 1: no tolerance, one record per interval.
        assert_eq!(
            Rate {
                per_sec: 10,
                burst: 1
            }
            .gcra(),
            (100_000_000, 0)
        );
        let c = Config::new(class::ALL, Some(g));
        assert_eq!(c.flags, Config::VALID | Config::GUARD);
        assert!(c.class_interval_ns[..guard::COUNT as usize]
            .iter()
            .all(|&i| i == 1_000_000));
        assert_eq!(
            c.class_interval_ns[guard::SLOTS - 1],
            0,
            "the spare slot stays unlimited"
        );
        assert_eq!(Config::new(class::NDP, None).flags, Config::VALID);
    }

    #[test]
    fn guard_class_of_each_reported_type() {
        assert_eq!(guard::of_type(133), guard::RS);
        assert_eq!(guard::of_type(137), guard::REDIRECT);
        assert_eq!(guard::of_type(2), guard::ERRORS);
        assert_eq!(guard::of_type(0), guard::OTHER);
        assert_eq!(key_mac(mac_key([2, 0, 0, 0, 0, 9])), [2, 0, 0, 0, 0, 9]);
    }
}
