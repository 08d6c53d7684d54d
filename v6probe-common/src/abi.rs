//! The kernel/user ABI: what the eBPF programs write and user space reads.
//!
//! Everything here is `#[repr(C)]`, `Copy`, has no implicit padding (explicit `_pad` fields), and
//! carries a compile-time size assertion, so a layout change cannot go unnoticed on either side.
//! Multi-byte integers in records are in host byte order unless the field name ends in `_be`;
//! addresses are raw network-order byte arrays.

/// Name of the BPF ring buffer map carrying [`Record`]s.
pub const MAP_EVENTS: &str = "V6P_EVENTS";
/// Name of the per-CPU array holding one [`Counters`] entry (index 0).
pub const MAP_COUNTERS: &str = "V6P_COUNTERS";
/// Name of the one-entry array holding the [`Config`].
pub const MAP_CONFIG: &str = "V6P_CONFIG";

/// Program names in the object file.
pub const PROG_XDP: &str = "v6p_xdp";
pub const PROG_TC_INGRESS: &str = "v6p_tc_ingress";
pub const PROG_TC_EGRESS: &str = "v6p_tc_egress";
/// A bare `XDP_PASS` program, built into the same object as the baseline for benchmarks.
pub const PROG_XDP_BARE: &str = "v6p_xdp_bare";

/// Default ring buffer size in bytes (a power of two, a multiple of the page size).
pub const RING_BYTES: u32 = 4 << 20;

/// The programs wake the ring-buffer reader only once this many bytes are pending; the reader
/// also polls every [`POLL_INTERVAL_MS`], so a lone record waits at most that long.
pub const WAKEUP_BYTES: u64 = 64 * 1024;
/// How often the reader looks at the ring buffer without a wakeup.
pub const POLL_INTERVAL_MS: u64 = 10;

/// How many bytes of the ICMPv6 message (from its type byte) a record can hold.
pub const MSG_CAP: usize = 512;
/// How many extension headers the parser walks before giving up (a parse failure).
pub const MAX_EXT_HEADERS: usize = 8;
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

/// Bits of [`Record::flags`].
pub mod flags {
    /// The ICMPv6 message was longer than [`super::MSG_CAP`] (or than the frame): only
    /// `captured_len` bytes are in the record; `msg_len` is the length the IPv6 header claims.
    pub const TRUNCATED: u8 = 1 << 0;
    /// A fragment header was present.
    pub const FRAGMENT: u8 = 1 << 1;
    /// The fragment header had the M (more fragments) flag set.
    pub const MORE_FRAGMENTS: u8 = 1 << 2;
    /// The fragment was not the first one (offset != 0): the ICMPv6 header is not in this frame
    /// and `icmp_type` is 0. Recorded because a non-first fragment of NDP is an evasion signal.
    pub const NON_FIRST_FRAGMENT: u8 = 1 << 3;
}

/// Bits of [`Record::ext_bitmap`]: which IPv6 extension headers were seen.
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
    /// Non-first fragments of ICMPv6 (the type is unknown; reported as a possible NDP evasion).
    pub const FRAGMENTS: u32 = 1 << 9;
    pub const NDP: u32 = RS | RA | NS | NA | REDIRECT;
    pub const ERRORS: u32 = DEST_UNREACHABLE | PACKET_TOO_BIG | TIME_EXCEEDED | PARAM_PROBLEM;
    pub const ALL: u32 = NDP | ERRORS | FRAGMENTS;

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
    /// Frames that are not IPv6 (or too short to tell). Every frame increments exactly one of
    /// `NON_IPV6` and `IPV6`, so frames seen = [`frames`] = the two added (one counter update
    /// per frame on the fast path, not two).
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
    /// Frames whose headers could not be walked (too short, too many extension headers, ...).
    pub const PARSE_FAILURES: u32 = 12;
    /// Records whose ICMPv6 message was cut to [`super::MSG_CAP`].
    pub const TRUNCATED: u32 = 13;
    /// Ring-buffer reservations that failed: records lost because user space fell behind.
    pub const RINGBUF_DROPS: u32 = 14;
    /// Records written to the ring buffer.
    pub const RECORDS: u32 = 15;
    /// Frames carrying at least one VLAN tag.
    pub const VLAN: u32 = 16;
    /// Non-first ICMPv6 fragments.
    pub const FRAGMENTS: u32 = 17;
    pub const COUNT: u32 = 18;

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

/// Every counter of one CPU, indexed by [`counter`]: the single entry of [`MAP_COUNTERS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    pub v: [u64; counter::COUNT as usize],
}

/// The one entry of [`MAP_CONFIG`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// [`class`] bits to report. Only honoured when [`Config::VALID`] is set in `flags`;
    /// a zeroed (never written) config reports everything.
    pub report_mask: u32,
    pub flags: u32,
}

impl Config {
    pub const VALID: u32 = 1;

    #[inline(always)]
    pub const fn reports(&self, class_bit: u32) -> bool {
        if self.flags & Self::VALID == 0 {
            return class_bit != 0;
        }
        self.report_mask & class_bit != 0
    }
}

/// Everything a record says besides the message bytes: built as one value in the kernel and
/// written into the ring-buffer reservation at once (reserved ring memory is not zeroed, so a
/// field-by-field fill could leave bytes of an older record behind on an early exit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) when the program ran.
    pub ts_ns: u64,
    pub ifindex: u32,
    /// ICMPv6 message length as given by the IPv6 payload length minus extension headers
    /// (0 for a non-first fragment).
    pub msg_len: u16,
    /// Bytes of the message present in `msg` (at most [`MSG_CAP`]).
    pub captured_len: u16,
    /// [`direction`] value.
    pub direction: u8,
    /// [`hook`] value.
    pub hook: u8,
    /// [`flags`] bits.
    pub flags: u8,
    /// Number of VLAN tags stripped (0..=2).
    pub vlan_count: u8,
    /// VLAN tag control information (PCP, DEI, VID), outer first, host order.
    pub vlan_tci: [u16; MAX_VLANS],
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub hop_limit: u8,
    /// ICMPv6 type (0 for a non-first fragment).
    pub icmp_type: u8,
    /// [`ext`] bits.
    pub ext_bitmap: u8,
    /// Number of extension headers walked, in `ext_types`.
    pub ext_count: u8,
    /// The next-header values of the extension headers in order.
    pub ext_types: [u8; MAX_EXT_HEADERS],
    pub ip6_src: [u8; 16],
    pub ip6_dst: [u8; 16],
    /// IPv6 payload length field.
    pub payload_len: u16,
    /// Fragment offset in 8-byte units (when [`flags::FRAGMENT`]).
    pub frag_offset: u16,
    /// Fragment identification (when [`flags::FRAGMENT`]).
    pub frag_id: u32,
    /// Offset of the ICMPv6 header from the start of the frame.
    pub icmp_offset: u16,
    pub _pad: [u8; 6],
}

/// One observed NDP / ICMPv6-error frame, as written to the ring buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub header: RecordHeader,
    /// The ICMPv6 message from its type byte; `header.captured_len` bytes are valid.
    pub msg: [u8; MSG_CAP],
}

/// Size of [`RecordHeader`], everything in [`Record`] before `msg`.
pub const RECORD_HEADER_LEN: usize = 96;
const _: () = assert!(core::mem::size_of::<RecordHeader>() == RECORD_HEADER_LEN);
const _: () = assert!(core::mem::size_of::<Record>() == RECORD_HEADER_LEN + MSG_CAP);
const _: () = assert!(core::mem::align_of::<Record>() == 8);
const _: () = assert!(core::mem::size_of::<Config>() == 8);
const _: () = assert!(core::mem::size_of::<Counters>() == 8 * counter::COUNT as usize);

impl Record {
    /// The valid part of the message bytes.
    pub fn message(&self) -> &[u8] {
        let n = (self.header.captured_len as usize).min(MSG_CAP);
        &self.msg[..n]
    }

    /// The record reinterpreted from ring-buffer bytes, if they are long enough.
    #[cfg(feature = "alloc")]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < core::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: Record is repr(C), every bit pattern is valid (integers and byte arrays), and
        // the length was checked; read_unaligned copes with any alignment of the source.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }
}

#[cfg(all(feature = "user", target_os = "linux"))]
mod pod {
    // SAFETY: plain old data, no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::Config {}
    // SAFETY: an array of u64, no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::Counters {}
}
