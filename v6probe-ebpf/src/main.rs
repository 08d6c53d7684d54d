//! v6probe's kernel programs: observe NDP and ICMPv6 errors, never drop or modify a packet.
//!
//! - `v6p_xdp`: XDP, ingress.
//! - `v6p_tc_ingress` / `v6p_tc_egress`: TC clsact classifiers.
//! - `v6p_xdp_all`, `v6p_tc_ingress_all`, `v6p_tc_egress_all`: the same with every frame
//!   counted (`monitor --count-frames`).
//! - `v6p_xdp_bare`: `XDP_PASS` and nothing else, the benchmark baseline for other traffic;
//!   `v6p_tc_bare` the same for TC.
//! - `v6p_xdp_floor`: writes a record of the frame without parsing it, the benchmark baseline
//!   (floor) for the record path.
//!
//! All the observers share one parser ([`parse`]), generic over how packet bytes are read
//! ([`Frame`]): direct packet access for XDP, `bpf_skb_load_bytes` for TC (which also reaches
//! non-linear skb data). A matching frame becomes a record in the ring buffer: a header with the
//! parse summary, then the frame's bytes from the Ethernet header, in the smallest size class that
//! holds them ([`emit`]); everything is counted in a per-CPU array. The record layout is
//! `v6probe_common::abi`.
//!
//! Diagnostics (why a frame could not be walked, at which offset) go through aya-log. The level
//! is the read-only global `AYA_LOG_LEVEL`, set by the loader (0, off, unless `monitor
//! --kernel-log` says otherwise): the verifier sees a constant and removes the disabled calls,
//! so they cost nothing when off.
#![no_std]
#![no_main]
// Inline assembly for BPF: the one 16-bit packet load of the first look ([`load16`]).
#![feature(asm_experimental_arch)]
// `likely`: the first look's IPv6 test laid out first.
#![feature(likely_unlikely)]

use aya_ebpf::{
    bindings::{
        __sk_buff, xdp_action, xdp_md, BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP,
    },
    helpers::{
        bpf_ktime_get_ns,
        generated::{bpf_ktime_get_coarse_ns, bpf_xdp_load_bytes},
    },
    macros::{classifier, map, xdp},
    maps::{Array, PerCpuArray, RingBuf},
    programs::{TcContext, XdpContext},
    Global,
};
use aya_log_ebpf::{debug, info, trace, warn};
use v6probe_common::abi::{
    class, counter, direction, ethertype, ext, flags, guard, hook, mac_key, mac_slots, next_header,
    ring_slot, Config, Counters, GuardBucket, MacGuard, RecordHeader, RingRecord, FRAME_CLASSES,
    GUARD_MACS, GUARD_MAC_KEEP_NS, MAX_EXT_HEADERS, MAX_VLANS, RING_BYTES, WAKEUP_BYTES,
};

/// The license the kernel checks for GPL-only helpers. The programs use none today; the
/// declaration is explicit so that it does not depend on the loader's default.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
pub static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

#[map(name = "V6P_EVENTS")]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);

/// One per-CPU entry holding every counter: a single map lookup per packet.
#[map(name = "V6P_COUNTERS")]
static COUNTERS: PerCpuArray<Counters> = PerCpuArray::with_max_entries(1, 0);

#[map(name = "V6P_CONFIG")]
static CONFIG: Array<Config> = Array::with_max_entries(1, 0);

/// Flood-guard buckets, one per guard class, per CPU.
#[map(name = "V6P_GUARD")]
static GUARD: PerCpuArray<GuardBucket> = PerCpuArray::with_max_entries(guard::SLOTS as u32, 0);

/// Flood-guard buckets and suppressed counts per source MAC, per CPU: a two-way
/// set-associative table indexed by a hash of the MAC ([`mac_slots`]). An array, not a hash
/// map: its lookups are a few instructions the verifier inlines, where a hash map's are a
/// helper call (hashing the key, walking a bucket) on every frame the guard counts.
#[map(name = "V6P_GUARD_MAC")]
static GUARD_MAC: PerCpuArray<MacGuard> = PerCpuArray::with_max_entries(GUARD_MACS, 0);

/// Whether every frame is counted in `non_ipv6` / `ipv6` (1) or not (0, the default): set by the
/// loader ([`v6probe_common::abi::GLOBAL_COUNT_FRAMES`]), which then attaches the `_all`
/// programs ([`v6p_xdp_all`]). Read-only: the verifier sees a constant, so with 0 the counting
/// is removed.
#[unsafe(no_mangle)]
static V6P_COUNT_FRAMES: Global<u8> = Global::new(0);

#[inline(always)]
fn counts_frames() -> bool {
    V6P_COUNT_FRAMES.load() != 0
}

/// TC verdict that lets the next classifier (or the default action) decide: an observer must not
/// end the chain. Same value as TCX_NEXT.
const TC_ACT_UNSPEC: i32 = -1;

/// Frames longer than this are not walked (no real link carries them; it also bounds offsets
/// for the verifier).
const MAX_OFFSET: usize = 9216;

#[xdp]
pub fn v6p_xdp_bare(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// `TC_ACT_UNSPEC` and nothing else: the benchmark baseline for other traffic through TC.
#[classifier]
pub fn v6p_tc_bare(_ctx: TcContext) -> i32 {
    TC_ACT_UNSPEC
}

/// The floor of the record path, for the benchmark: reserves the size class the frame needs,
/// fills the header and copies the frame, and submits, exactly as a record is written, but
/// without parsing, configuration or counters.
#[xdp]
pub fn v6p_xdp_floor(ctx: XdpContext) -> u32 {
    let frame = XdpFrame(&ctx);
    let header = RecordHeader {
        // SAFETY: a helper without arguments or preconditions.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        ifindex: frame.ifindex(),
        wire_len: frame.len() as u32,
        hook: hook::XDP,
        direction: direction::INGRESS,
        ..RecordHeader::default()
    };
    emit_frame(&frame, header, &Count(core::ptr::null_mut()));
    xdp_action::XDP_PASS
}

/// The entry programs take the decision for other traffic themselves ([`other_traffic`]) and
/// call the parser ([`observe_xdp`], [`observe_tc`]) only for what may be reported. The parser
/// is a function of its own (a BPF-to-BPF call, not inlined), so that the entry stays small:
/// on the path other traffic takes, the JIT saves no callee-saved register and reserves no
/// stack for the parser's locals.
#[xdp]
pub fn v6p_xdp(ctx: XdpContext) -> u32 {
    if !other_traffic(&XdpFrame(&ctx)) {
        observe_xdp(ctx.ctx);
    }
    xdp_action::XDP_PASS
}

#[classifier]
pub fn v6p_tc_ingress(ctx: TcContext) -> i32 {
    if !other_traffic(&TcFrame(&ctx)) {
        observe_tc(ctx.skb.skb, direction::INGRESS);
    }
    TC_ACT_UNSPEC
}

#[classifier]
pub fn v6p_tc_egress(ctx: TcContext) -> i32 {
    if !other_traffic(&TcFrame(&ctx)) {
        observe_tc(ctx.skb.skb, direction::EGRESS);
    }
    TC_ACT_UNSPEC
}

/// [`v6p_xdp`] for every frame counted (`monitor --count-frames`): other traffic is counted at
/// the first look, everything else by the parser. A program of its own, so that the default
/// one tests no setting on the path other traffic takes.
#[xdp]
pub fn v6p_xdp_all(ctx: XdpContext) -> u32 {
    if !counted_other_traffic(&XdpFrame(&ctx)) {
        observe_xdp(ctx.ctx);
    }
    xdp_action::XDP_PASS
}

/// [`v6p_tc_ingress`] for every frame counted (see [`v6p_xdp_all`]).
#[classifier]
pub fn v6p_tc_ingress_all(ctx: TcContext) -> i32 {
    if !counted_other_traffic(&TcFrame(&ctx)) {
        observe_tc(ctx.skb.skb, direction::INGRESS);
    }
    TC_ACT_UNSPEC
}

/// [`v6p_tc_egress`] for every frame counted (see [`v6p_xdp_all`]).
#[classifier]
pub fn v6p_tc_egress_all(ctx: TcContext) -> i32 {
    if !counted_other_traffic(&TcFrame(&ctx)) {
        observe_tc(ctx.skb.skb, direction::EGRESS);
    }
    TC_ACT_UNSPEC
}

/// The XDP parser, behind the entry's first look. Takes the context pointer itself (a value
/// the verifier tracks as the context in the callee), not a reference to the entry's stack.
#[inline(never)]
fn observe_xdp(ctx: *mut xdp_md) {
    let ctx = XdpContext::new(ctx);
    observe(&XdpFrame(&ctx), hook::XDP, direction::INGRESS);
}

/// The TC parser, behind the entry's first look (see [`observe_xdp`]).
#[inline(never)]
fn observe_tc(skb: *mut __sk_buff, dir: u8) {
    let ctx = TcContext::new(skb);
    observe(&TcFrame(&ctx), hook::TC, dir);
}

/// Other traffic, decided in as few instructions as the decision takes: an untagged frame that
/// is not IPv6, or IPv6 with neither ICMPv6 nor an extension header next. Read with direct
/// packet access (for TC too: the headers of the skb's linear part), and only the EtherType
/// (one 16-bit load), the version and the next header. No map is touched: when every frame is
/// counted the loader attaches the `_all` programs, which parse every frame. Tagged frames, and
/// frames whose first 54 bytes (Ethernet + IPv6 headers) are not at hand, go on to the parser,
/// which decides and counts them.
#[inline(always)]
fn other_traffic<F: Frame>(frame: &F) -> bool {
    first_look(frame) != WALK_ON
}

/// [`first_look`]: walk on (the parser decides).
const WALK_ON: u8 = 0;
/// [`first_look`]: other traffic, not IPv6.
const LEAVE_NON_IPV6: u8 = 1;
/// [`first_look`]: other traffic, IPv6.
const LEAVE_IPV6: u8 = 2;

/// The decision of [`other_traffic`], saying which counter a frame that leaves belongs to
/// (for the `_all` programs). A `u8`, not an enum: LLVM then computes nothing else before the
/// program leaves.
#[inline(always)]
fn first_look<F: Frame>(frame: &F) -> u8 {
    let (start, end) = frame.direct();
    if start + 54 > end {
        return WALK_ON;
    }
    let p = start as *const u8;
    // SAFETY: [start, start + 54) lies inside the packet (checked above); nothing writes the
    // packet while the program runs.
    let (et, version, nh) = unsafe { (load16::<12>(p), *p.add(14) >> 4, *p.add(20)) };
    if core::hint::likely(et == wire16(ethertype::IPV6)) {
        if version == 6 && !may_walk(nh) {
            LEAVE_IPV6
        } else {
            WALK_ON
        }
    } else if et != wire16(ethertype::VLAN) && et != wire16(ethertype::QINQ) {
        LEAVE_NON_IPV6
    } else {
        WALK_ON
    }
}

/// The `_all` programs' first look: other traffic is counted and leaves; the rest goes to the
/// parser, which counts it. True when the frame left.
#[inline(always)]
fn counted_other_traffic<F: Frame>(frame: &F) -> bool {
    match first_look(frame) {
        LEAVE_NON_IPV6 => Count::get().inc(counter::NON_IPV6),
        LEAVE_IPV6 => Count::get().inc(counter::IPV6),
        _ => return false,
    }
    true
}

/// The 16 bits at `p + OFF` as the CPU loads them (zero-extended), in one load: LLVM
/// assembles an unaligned `u16` read from two byte loads, shifts and an or on BPF. Compared
/// with [`wire16`] of a constant, so that no byte swap is computed per frame. The load is
/// aligned wherever the kernel assumes packet data is (`NET_IP_ALIGN`, with which the verifier
/// checks alignment where it is strict) for an even `OFF`.
///
/// # Safety
/// `p + OFF .. p + OFF + 2` must be readable packet memory.
#[inline(always)]
unsafe fn load16<const OFF: i16>(p: *const u8) -> u64 {
    const { assert!(OFF % 2 == 0) };
    let v: u64;
    // SAFETY: the caller guarantees the two bytes are readable.
    unsafe {
        core::arch::asm!(
            "{v} = *(u16 *)({p} + {off})",
            v = out(reg) v,
            p = in(reg) p,
            off = const OFF,
            options(pure, readonly, nostack, preserves_flags),
        );
    }
    v
}

/// A big-endian 16-bit field's value `x` as [`load16`] gives it.
const fn wire16(x: u16) -> u64 {
    u16::from_ne_bytes(x.to_be_bytes()) as u64
}

/// [`walks`] with false positives, in a shift and a test: whether bit `nh % 64` is set for
/// one of the next headers the walk goes on after. The parser decides what this lets through
/// (a next header such as 64 or 122 that shares its bit, all rare).
#[inline(always)]
fn may_walk(nh: u8) -> bool {
    // Bit 63 - (n % 64) for each: shifted left by nh % 64, the bit lands in the sign bit.
    const MASK: u64 = {
        let walked = [
            next_header::ICMPV6,
            next_header::HOP_BY_HOP,
            next_header::ROUTING,
            next_header::FRAGMENT,
            next_header::DEST_OPTS,
            next_header::AUTH,
            next_header::MOBILITY,
        ];
        let mut m = 0u64;
        let mut i = 0;
        while i < walked.len() {
            m |= 1 << (63 - walked[i] % 64);
            i += 1;
        }
        m
    };
    ((MASK << (nh % 64)) as i64) < 0
}

/// Bounds-checked access to the frame: every packet read goes through here.
trait Frame {
    /// Reads a `T` at `off`, or `None` when it would run past the frame.
    fn load<T: Copy>(&self, off: usize) -> Option<T>;
    /// Runs `f` on bytes `off..off + N`, or `None` when they would run past the frame. For XDP
    /// this is a bounds-checked view of packet memory, so only the bytes `f` reads are loaded
    /// (a `[u8; N]` value read unaligned is assembled byte by byte into one integer first).
    fn read<const N: usize, R>(&self, off: usize, f: impl FnOnce(&[u8; N]) -> R) -> Option<R>;
    /// Copies `len` bytes at `off` into `dst` (writable for at least `len` bytes).
    fn copy(&self, off: usize, dst: *mut u8, len: u32) -> bool;
    /// Bytes available from the start of the frame.
    fn len(&self) -> usize;
    fn ifindex(&self) -> u32;
    /// The frame's directly readable bytes, `(start, end)` as packet pointers: the whole frame
    /// for XDP, the linear part of the skb for TC.
    fn direct(&self) -> (usize, usize);
}

struct XdpFrame<'a>(&'a XdpContext);

impl Frame for XdpFrame<'_> {
    #[inline(always)]
    fn load<T: Copy>(&self, off: usize) -> Option<T> {
        let start = self.0.data();
        let end = self.0.data_end();
        if off > MAX_OFFSET || start + off + core::mem::size_of::<T>() > end {
            return None;
        }
        // SAFETY: the range [start+off, start+off+size) was checked to lie inside the packet;
        // read_unaligned has no alignment requirement.
        Some(unsafe { core::ptr::read_unaligned((start + off) as *const T) })
    }

    #[inline(always)]
    fn read<const N: usize, R>(&self, off: usize, f: impl FnOnce(&[u8; N]) -> R) -> Option<R> {
        let start = self.0.data();
        let end = self.0.data_end();
        if off > MAX_OFFSET || start + off + N > end {
            return None;
        }
        // SAFETY: [start+off, start+off+N) lies inside the packet (checked); [u8; N] has
        // alignment 1; nothing writes the packet while the program runs.
        Some(f(unsafe { &*((start + off) as *const [u8; N]) }))
    }

    #[inline(always)]
    fn copy(&self, off: usize, dst: *mut u8, len: u32) -> bool {
        // SAFETY: the helper checks the packet bounds itself; dst points at a ring-buffer
        // reservation's frame area of at least len bytes (checked by the caller).
        unsafe { bpf_xdp_load_bytes(self.0.ctx, off as u32, dst.cast(), len) == 0 }
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.0.data_end() - self.0.data()
    }

    #[inline(always)]
    fn ifindex(&self) -> u32 {
        self.0.ingress_ifindex() as u32
    }

    #[inline(always)]
    fn direct(&self) -> (usize, usize) {
        (self.0.data(), self.0.data_end())
    }
}

struct TcFrame<'a>(&'a TcContext);

impl TcFrame<'_> {
    #[inline(always)]
    fn skb(&self) -> *mut __sk_buff {
        self.0.skb.skb
    }
}

impl Frame for TcFrame<'_> {
    #[inline(always)]
    fn load<T: Copy>(&self, off: usize) -> Option<T> {
        if off > MAX_OFFSET {
            return None;
        }
        self.0.load::<T>(off).ok()
    }

    #[inline(always)]
    fn read<const N: usize, R>(&self, off: usize, f: impl FnOnce(&[u8; N]) -> R) -> Option<R> {
        self.load::<[u8; N]>(off).map(|b| f(&b))
    }

    #[inline(always)]
    fn copy(&self, off: usize, dst: *mut u8, len: u32) -> bool {
        // SAFETY: the helper checks the skb bounds itself; dst points at a frame area of at
        // least len bytes (checked by the caller).
        unsafe {
            aya_ebpf::helpers::generated::bpf_skb_load_bytes(
                self.skb().cast(),
                off as u32,
                dst.cast(),
                len,
            ) == 0
        }
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len() as usize
    }

    #[inline(always)]
    fn ifindex(&self) -> u32 {
        // SAFETY: the context pointer is valid for the program's run.
        unsafe { (*self.skb()).ifindex }
    }

    #[inline(always)]
    fn direct(&self) -> (usize, usize) {
        (self.0.data(), self.0.data_end())
    }
}

/// This CPU's counters, looked up once per packet.
struct Count(*mut Counters);

impl Count {
    #[inline(always)]
    fn get() -> Self {
        Self(COUNTERS.get_ptr_mut(0).unwrap_or(core::ptr::null_mut()))
    }

    /// No counters (yet): `inc` does nothing.
    const NONE: Self = Self(core::ptr::null_mut());

    /// Counts a frame under `index` ([`counter::NON_IPV6`] or [`counter::IPV6`]) when frames
    /// are counted.
    #[inline(always)]
    fn frame(&self, index: u32) {
        if counts_frames() {
            self.inc(index);
        }
    }

    #[inline(always)]
    fn inc(&self, index: u32) {
        if self.0.is_null() || index >= counter::COUNT {
            return;
        }
        // SAFETY: non-null pointer to this CPU's slot (no concurrent writer on this CPU while
        // the program runs); index checked against the array length.
        unsafe { (*self.0).v[index as usize] += 1 };
    }
}

/// Where the parser got to: the parse summary the record carries beside the frame bytes.
struct Parsed {
    vlan_count: u8,
    l3: usize,
    /// The ICMPv6 header, or where the walk stopped.
    upper_off: usize,
    upper: u8,
    payload_len: u16,
    msg_len: u16,
    hop_limit: u8,
    ext_bitmap: u8,
    ext_count: u8,
    flags: u16,
    frag_offset: u16,
    frag_id: u32,
    icmp_type: u8,
    icmp_code: u8,
    class_bit: u32,
}

#[inline(always)]
fn observe<F: Frame>(frame: &F, hook: u8, dir: u8) {
    // Looked up by parse once the frame is past the first look.
    let mut count = Count::NONE;
    let Some(p) = parse(frame, &mut count) else {
        return;
    };
    if p.flags & flags::FRAGMENT != 0 {
        count.inc(counter::FRAGMENTS);
    }
    // By reference: the config is too large to copy per packet. Never written: report all.
    let config = CONFIG.get(0);
    if !config.map_or(p.class_bit != 0, |c| c.reports(p.class_bit)) {
        return;
    }
    if let Some(c) = config {
        // The guard's clock is the coarse one (the time at the last tick, a few ms old at
        // most): reading it is a memory load, where the precise clock reads the TSC, which
        // costs about as much as the rest of a counted frame's path (a VM may trap it).
        // SAFETY: a helper without arguments or preconditions.
        if c.flags & Config::GUARD != 0
            && !admit(
                frame,
                c,
                guard::of_type(p.icmp_type),
                unsafe { bpf_ktime_get_coarse_ns() },
                &count,
            )
        {
            return;
        }
    }
    // SAFETY: a helper without arguments or preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    emit(frame, &p, hook, dir, now, &count);
}

/// The flood guard: true when the frame may be recorded. Over its class's rate or its source
/// MAC's rate it is counted instead: per class in the counters, and per MAC in the MAC's slot
/// when the MAC holds one (taken when one of its frames was recorded), else as untracked.
#[inline(always)]
fn admit<F: Frame>(frame: &F, c: &Config, class: u32, now: u64, count: &Count) -> bool {
    // Masked: the verifier needs the index bounded by the arrays' (power-of-two) length. The
    // black_box keeps LLVM from dropping the mask as redundant (it knows class < 7; the
    // verifier only sees a byte).
    let slot = core::hint::black_box(class as usize) & (guard::SLOTS - 1);
    let interval = c.class_interval_ns[slot];
    let burst = c.class_burst_ns[slot];
    let Some(bucket) = GUARD.get_ptr_mut(slot as u32) else {
        return true;
    };
    // SAFETY: a valid pointer to this CPU's bucket; nothing else runs on this CPU meanwhile.
    let ctat = unsafe { (*bucket).tat_ns }.max(now);
    let class_ok = interval == 0 || ctat - now <= burst;
    let key = frame.read(6, |m: &[u8; 6]| mac_key(*m)).unwrap_or(0);
    let (a, b) = mac_slots(key);
    // Bounded for the verifier by the mask (mac_slots stays below GUARD_MACS).
    let (Some(a), Some(b)) = (
        GUARD_MAC.get_ptr_mut(a & (GUARD_MACS - 1)),
        GUARD_MAC.get_ptr_mut(b & (GUARD_MACS - 1)),
    ) else {
        return true;
    };
    // SAFETY (every access to a, b and held below): valid pointers to this CPU's slots;
    // nothing else runs on this CPU meanwhile.
    let holds = |m: *mut MacGuard| unsafe { (*m).key == key && (*m).tat_ns != 0 };
    let held = if holds(a) {
        a
    } else if holds(b) {
        b
    } else {
        core::ptr::null_mut()
    };
    if class_ok {
        let mtat = if held.is_null() {
            now
        } else {
            // SAFETY: as above.
            unsafe { (*held).tat_ns }.max(now)
        };
        if c.mac_interval_ns == 0 || mtat - now <= c.mac_burst_ns {
            // SAFETY: as above.
            unsafe { (*bucket).tat_ns = ctat + interval };
            if !held.is_null() {
                // SAFETY: as above.
                unsafe { (*held).tat_ns = mtat + c.mac_interval_ns };
                return true;
            }
            // A new MAC takes the slot of its two that fell free first, if one is free: never
            // used, or its MAC's bucket full again (and, when that MAC had frames counted,
            // kept a while longer, so that user space reads its last counts). Otherwise the
            // MAC is not tracked: its rate is not limited on its own, only by its class's.
            // SAFETY: m is a or b.
            let free = |m: *mut MacGuard| unsafe {
                let keep = if (*m).suppressed != 0 {
                    GUARD_MAC_KEEP_NS
                } else {
                    0
                };
                (*m).tat_ns.saturating_add(keep) <= now
            };
            // SAFETY: as above.
            let (first, second) = if unsafe { (*a).tat_ns <= (*b).tat_ns } {
                (a, b)
            } else {
                (b, a)
            };
            let into = if free(first) {
                first
            } else if free(second) {
                second
            } else {
                return true;
            };
            // SAFETY: as above; the slot is written whole.
            unsafe {
                into.write(MacGuard {
                    key,
                    tat_ns: now + c.mac_interval_ns,
                    suppressed: 0,
                })
            };
            return true;
        }
    }
    count.inc(counter::FLOOD_SUPPRESSED);
    // Constant indices per arm (see the type counters in parse).
    match class {
        guard::RS => count.inc(counter::FLOOD_RS),
        guard::RA => count.inc(counter::FLOOD_RA),
        guard::NS => count.inc(counter::FLOOD_NS),
        guard::NA => count.inc(counter::FLOOD_NA),
        guard::REDIRECT => count.inc(counter::FLOOD_REDIRECT),
        guard::ERRORS => count.inc(counter::FLOOD_ERRORS),
        guard::OTHER => count.inc(counter::FLOOD_OTHER),
        // Unreachable: guard::of_type returns one of the classes above.
        _ => {}
    }
    // A MAC that holds a slot gets the count; another is only counted, and takes no slot: a
    // flood with a new source MAC per frame (THC's) would otherwise churn the table on every
    // frame. Slots are taken by recorded frames only, so at most at the guard's rates.
    if held.is_null() {
        count.inc(counter::FLOOD_UNTRACKED);
    } else {
        // SAFETY: as above.
        unsafe { (*held).suppressed += 1 };
    }
    trace!(frame, "flood guard: class {} over its rate, counted", class);
    false
}

/// Walks Ethernet, VLAN tags, IPv6 and up to MAX_EXT_HEADERS extension headers. `Some` for what
/// is reported:
/// - an ICMPv6 message of a reported type (NDP, errors), fragmented or not;
/// - a fragment that could carry NDP whatever its next header says (hop limit 255, link-local
///   source, link-local or multicast destination), first or not, and any non-first ICMPv6
///   fragment;
/// - a first fragment whose header chain ends before an upper-layer header (RFC 7112);
/// - a link-scope packet whose chain is longer than the walk.
///
/// `None` for everything else; a frame that could not be walked is counted under its reason.
/// Other traffic has left in the entry ([`other_traffic`]); the counters are looked up (into
/// `count`) only for what gets this far.
#[inline(always)]
fn parse<F: Frame>(frame: &F, count: &mut Count) -> Option<Parsed> {
    // Other traffic left in the entry ([`other_traffic`]); what walks on is read again here
    // (a few instructions on a path that costs far more). Untagged frames, the common case: Ethernet and the fixed IPv6 header in one
    // bounds-checked view, and the decision for other traffic taken inside it, so that only the
    // EtherType, the version and the next header are loaded before it leaves (with the checks
    // outside the closure, LLVM loads every field it returns up front). Each header byte is
    // read once on every path: this view, or the general path below.
    let quick = frame.read(0, |f: &[u8; 54]| {
        let et = u16::from_be_bytes([f[12], f[13]]);
        if et != ethertype::IPV6 {
            return Quick {
                et,
                head: Head::NONE,
            };
        }
        Quick {
            et,
            head: head(&f[14..54]),
        }
    });
    let (l3, vlan_count, head) = match quick {
        Some(q) if q.et == ethertype::IPV6 && q.head.kind == Head::OTHER => {
            // IPv6, neither ICMPv6 nor an extension header next: not for us.
            if counts_frames() {
                Count::get().inc(counter::IPV6);
            }
            return None;
        }
        Some(q) if q.et == ethertype::IPV6 => {
            *count = Count::get();
            count.frame(counter::IPV6);
            (14usize, 0u8, q.head)
        }
        Some(q) if q.et != ethertype::VLAN && q.et != ethertype::QINQ => {
            if counts_frames() {
                Count::get().inc(counter::NON_IPV6);
            }
            return None;
        }
        // Tagged, or shorter than Ethernet + IPv6 headers.
        _ => {
            *count = Count::get();
            general(frame, count)?
        }
    };
    match head.kind {
        Head::WALK => {}
        Head::VERSION => {
            fail(count, counter::IP_VERSION);
            debug!(
                frame,
                "IPv6 EtherType with IP version {} at offset {}", head.version, l3
            );
            return None;
        }
        _ => return None,
    }
    let (first_nh, payload_len, hop_limit) = (head.nh, head.payload_len, head.hop_limit);
    // Could the packet carry NDP whatever its next header says (RFC 4861 link scope)? Asked
    // only for fragments and over-long chains.
    let link_scope = || {
        hop_limit == 255
            || frame
                .read(l3 + 8, |a: &[u8; 32]| {
                    let ll = |x: u8, y: u8| x == 0xfe && y & 0xc0 == 0x80;
                    ll(a[0], a[1]) || a[16] == 0xff || ll(a[16], a[17])
                })
                .unwrap_or(false)
    };
    let mut p = Parsed {
        vlan_count,
        l3,
        upper_off: l3 + 40,
        upper: first_nh,
        payload_len,
        msg_len: 0,
        hop_limit,
        ext_bitmap: 0,
        ext_count: 0,
        flags: 0,
        frag_offset: 0,
        frag_id: 0,
        icmp_type: 0,
        icmp_code: 0,
        class_bit: class::FRAGMENTS,
    };
    let mut off = l3 + 40;
    let mut nh = first_nh;
    let mut end = End::TooLong;
    let mut i = 0;
    while i <= MAX_EXT_HEADERS {
        if nh == next_header::ICMPV6 {
            end = End::Icmp;
            break;
        }
        let bit = match nh {
            next_header::HOP_BY_HOP => ext::HOP_BY_HOP,
            next_header::ROUTING => ext::ROUTING,
            next_header::FRAGMENT => ext::FRAGMENT,
            next_header::DEST_OPTS => ext::DEST_OPTS,
            next_header::AUTH => ext::AUTH,
            next_header::MOBILITY => ext::MOBILITY,
            // TCP, UDP, ESP, no next header, anything else: the upper layer is not ICMPv6.
            _ => {
                end = End::Upper;
                break;
            }
        };
        if i == MAX_EXT_HEADERS {
            // More headers than we walk (end stays TooLong).
            break;
        }
        // Every extension header is at least 8 bytes: next header, length, and for a fragment
        // header its offset, flags and identification, in one read.
        let Some((next, hlen, frag_word, id)) = frame.read(off, |h: &[u8; 8]| {
            (
                h[0],
                h[1] as usize,
                u16::from_be_bytes([h[2], h[3]]),
                u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            )
        }) else {
            end = End::Cut;
            break;
        };
        p.ext_bitmap |= bit;
        p.ext_count += 1;
        let len = if nh == next_header::FRAGMENT {
            // The first fragment header's fields (as the codec keeps them).
            if p.flags & flags::FRAGMENT == 0 {
                p.frag_offset = frag_word >> 3;
                p.frag_id = id;
                p.flags |= flags::FRAGMENT;
                if frag_word & 1 != 0 {
                    p.flags |= flags::MORE_FRAGMENTS;
                }
            }
            8
        } else if nh == next_header::AUTH {
            (hlen + 2) * 4
        } else {
            (hlen + 1) * 8
        };
        nh = next;
        off += len;
        i += 1;
        if p.frag_offset != 0 {
            // A later fragment: what follows is fragment data, not a header.
            end = End::NonFirst;
            break;
        }
    }
    p.upper_off = off;
    p.upper = nh;
    let fragment = p.flags & flags::FRAGMENT != 0;
    match end {
        End::Icmp => {}
        End::NonFirst => {
            // Reported when it is ICMPv6, or when the packet could carry NDP (whatever the
            // first fragment's next header said: it may lie).
            if nh == next_header::ICMPV6 {
                count.inc(counter::ICMPV6);
            } else if !link_scope() {
                return None;
            }
            p.flags |= flags::NON_FIRST_FRAGMENT;
            return Some(p);
        }
        End::Upper => {
            // A first fragment of a link-scope packet is reported whatever its upper layer.
            if fragment && link_scope() {
                return Some(p);
            }
            return None;
        }
        End::Cut => {
            if fragment {
                return Some(incomplete(frame, p, count));
            }
            fail(count, counter::HEADER_TRUNCATED);
            debug!(
                frame,
                "frame of {} bytes: extension header {} cut at offset {}",
                frame.len(),
                nh,
                off
            );
            return None;
        }
        End::TooLong => {
            count.inc(counter::CHAIN_TOO_LONG);
            if link_scope() {
                info!(
                    frame,
                    "more than {} extension headers: recorded, walk stopped at offset {}",
                    MAX_EXT_HEADERS,
                    off
                );
                p.flags |= flags::CHAIN_TOO_LONG;
                p.class_bit = class::LONG_CHAINS;
                return Some(p);
            }
            count.inc(counter::PARSE_FAILURES);
            debug!(
                frame,
                "more than {} extension headers off link scope: stopped at offset {}",
                MAX_EXT_HEADERS,
                off
            );
            return None;
        }
    }
    // Type and code together: a 1-byte bounds check compiles to `p >= end`, which the verifier
    // cannot turn into a packet range.
    let Some((icmp_type, icmp_code)) = frame.read(off, |b: &[u8; 2]| (b[0], b[1])) else {
        if fragment {
            return Some(incomplete(frame, p, count));
        }
        fail(count, counter::HEADER_TRUNCATED);
        debug!(
            frame,
            "frame of {} bytes: ICMPv6 header cut at offset {}",
            frame.len(),
            off
        );
        return None;
    };
    count.inc(counter::ICMPV6);
    let class_bit = class::of_type(icmp_type);
    // Constant indices per arm: an index computed from the type loses its bounds for the
    // verifier once LLVM drops the (provably redundant) range check.
    match icmp_type {
        1 => count.inc(counter::DEST_UNREACHABLE),
        2 => count.inc(counter::PACKET_TOO_BIG),
        3 => count.inc(counter::TIME_EXCEEDED),
        4 => count.inc(counter::PARAM_PROBLEM),
        133 => count.inc(counter::ROUTER_SOLICIT),
        134 => count.inc(counter::ROUTER_ADVERT),
        135 => count.inc(counter::NEIGHBOR_SOLICIT),
        136 => count.inc(counter::NEIGHBOR_ADVERT),
        137 => count.inc(counter::REDIRECT),
        // Not a type we report.
        _ => {}
    }
    p.icmp_type = icmp_type;
    p.icmp_code = icmp_code;
    let ext_len = off - (l3 + 40);
    p.msg_len = (payload_len as usize).saturating_sub(ext_len) as u16;
    if class_bit != 0 {
        p.class_bit = class_bit;
        return Some(p);
    }
    // Another ICMPv6 type: reported only as a first fragment of a link-scope packet.
    if fragment && link_scope() {
        return Some(p);
    }
    None
}

/// Whether the walk goes on after next header `nh`: ICMPv6 or an extension header we walk.
#[inline(always)]
fn walks(nh: u8) -> bool {
    matches!(
        nh,
        next_header::ICMPV6
            | next_header::HOP_BY_HOP
            | next_header::ROUTING
            | next_header::FRAGMENT
            | next_header::DEST_OPTS
            | next_header::AUTH
            | next_header::MOBILITY
    )
}

/// The first look at a frame ([`parse`]): the EtherType, and for IPv6 what its header says.
/// Structs with every field set on every path, not enums: LLVM may keep an enum's unset
/// payload in a register that a later (dead) use reads, which the verifier rejects as an
/// uninitialised read.
#[derive(Clone, Copy)]
struct Quick {
    et: u16,
    /// [`Head::NONE`] when `et` is not IPv6.
    head: Head,
}

/// What the fixed IPv6 header `h` (40 bytes) says. Only the version and the next header are
/// looked at before other traffic leaves.
#[inline(always)]
fn head(h: &[u8]) -> Head {
    let version = h[0] >> 4;
    if version != 6 {
        return Head {
            kind: Head::VERSION,
            version,
            ..Head::NONE
        };
    }
    let nh = h[6];
    if !walks(nh) {
        return Head {
            version,
            ..Head::NONE
        };
    }
    Head {
        kind: Head::WALK,
        version,
        nh,
        payload_len: u16::from_be_bytes([h[4], h[5]]),
        hop_limit: h[7],
    }
}

/// The general path to the fixed IPv6 header: VLAN tags, frames shorter than Ethernet + IPv6.
/// Returns the IPv6 header's offset, the number of tags and what the header says.
#[inline(always)]
fn general<F: Frame>(frame: &F, count: &Count) -> Option<(usize, u8, Head)> {
    let Some(mut ethertype) = frame.read(12, |b: &[u8; 2]| u16::from_be_bytes(*b)) else {
        count.frame(counter::NON_IPV6);
        debug!(
            frame,
            "frame of {} bytes: no room for an Ethernet header",
            frame.len()
        );
        return None;
    };
    let mut l3 = 14usize;
    let mut vlan_count = 0u8;
    if ethertype == ethertype::VLAN || ethertype == ethertype::QINQ {
        count.inc(counter::VLAN);
        // Outer (802.1ad) then inner (802.1Q) tag; a constant bound, unrolled.
        let mut i = 0;
        while i < MAX_VLANS && (ethertype == ethertype::VLAN || ethertype == ethertype::QINQ) {
            // The tag itself stays in the recorded frame bytes; only the inner EtherType matters.
            let Some(et) = frame.read(l3, |t: &[u8; 4]| u16::from_be_bytes([t[2], t[3]])) else {
                count.frame(counter::NON_IPV6);
                debug!(
                    frame,
                    "frame of {} bytes: VLAN tag cut at offset {}",
                    frame.len(),
                    l3
                );
                return None;
            };
            ethertype = et;
            l3 += 4;
            i += 1;
        }
        vlan_count = i as u8;
    }
    if ethertype != ethertype::IPV6 {
        count.frame(counter::NON_IPV6);
        return None;
    }
    count.frame(counter::IPV6);
    // The fixed IPv6 header, read once and bounds-checked whole.
    let Some(h) = frame.read(l3, |h: &[u8; 40]| head(h)) else {
        fail(count, counter::HEADER_TRUNCATED);
        debug!(
            frame,
            "frame of {} bytes: IPv6 header cut at offset {}",
            frame.len(),
            l3
        );
        return None;
    };
    Some((l3, vlan_count, h))
}

/// What the fixed IPv6 header says, decided in its one read. The other fields are set (to
/// the header's values, or 0) whatever `kind` says (see [`Quick`]).
#[derive(Clone, Copy)]
struct Head {
    /// [`Head::OTHER`], [`Head::VERSION`] or [`Head::WALK`].
    kind: u8,
    version: u8,
    nh: u8,
    hop_limit: u8,
    payload_len: u16,
}

impl Head {
    /// The upper layer is not ICMPv6 and no extension header comes first: not for us.
    const OTHER: u8 = 0;
    /// Not version 6.
    const VERSION: u8 = 1;
    /// ICMPv6 or an extension header next: walk on.
    const WALK: u8 = 2;
    const NONE: Head = Head {
        kind: Head::OTHER,
        version: 0,
        nh: 0,
        hop_limit: 0,
        payload_len: 0,
    };
}

/// How the walk of the extension headers ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// At an ICMPv6 header.
    Icmp,
    /// At another upper-layer protocol (or ESP, or no next header).
    Upper,
    /// A non-first fragment: the rest is fragment data.
    NonFirst,
    /// An extension header runs past the end of the frame.
    Cut,
    /// More than MAX_EXT_HEADERS headers.
    TooLong,
}

/// A first fragment whose header chain ends before an upper-layer header (RFC 7112): recorded
/// whatever its addresses, since the ICMPv6 header may be in a later fragment.
#[inline(always)]
fn incomplete<F: Frame>(frame: &F, mut p: Parsed, count: &Count) -> Parsed {
    count.inc(counter::CHAIN_INCOMPLETE);
    info!(
        frame,
        "first fragment ends before an upper-layer header (offset {})", p.upper_off
    );
    p.flags |= flags::CHAIN_INCOMPLETE;
    p.class_bit = class::FRAGMENTS;
    p
}

/// A parse failure for `reason`: counted twice, under its reason and in the total.
#[inline(always)]
fn fail(count: &Count, reason: u32) {
    count.inc(reason);
    count.inc(counter::PARSE_FAILURES);
}

/// Writes the record for a parsed frame: the header, then the frame from its first byte, in the
/// smallest size class that holds the whole frame (the last class cuts longer frames).
#[inline(always)]
fn emit<F: Frame>(frame: &F, p: &Parsed, hook: u8, dir: u8, now: u64, count: &Count) {
    let wire_len = frame.len();
    // The IPv6 packet ends here; a frame shorter than that was cut on the way (or lies).
    let ip_end = p.l3 + 40 + p.payload_len as usize;
    let mut fl = p.flags;
    if wire_len < ip_end {
        fl |= flags::TRUNCATED;
    }
    let header = RecordHeader {
        ts_ns: now,
        ifindex: frame.ifindex(),
        wire_len: wire_len as u32,
        captured_len: 0,
        cap: 0,
        flags: fl,
        hook,
        direction: dir,
        l3_offset: p.l3 as u16,
        upper_offset: p.upper_off as u16,
        payload_len: p.payload_len,
        msg_len: p.msg_len,
        frag_id: p.frag_id,
        frag_offset: p.frag_offset,
        icmp_type: p.icmp_type,
        icmp_code: p.icmp_code,
        hop_limit: p.hop_limit,
        vlan_count: p.vlan_count,
        ext_count: p.ext_count,
        upper: p.upper,
        ext_bitmap: p.ext_bitmap,
        _pad: [0; 3],
    };
    emit_frame(frame, header, count);
}

/// Reserves the smallest size class that holds the frame and writes the record. One
/// constant-size reservation per class: the verifier needs the record size and the copy length
/// bounded by constants.
#[inline(always)]
fn emit_frame<F: Frame>(frame: &F, header: RecordHeader, count: &Count) {
    let wire_len = frame.len();
    if wire_len <= FRAME_CLASSES[0] {
        emit_class::<{ FRAME_CLASSES[0] }, F>(frame, header, 0, count);
    } else if wire_len <= FRAME_CLASSES[1] {
        emit_class::<{ FRAME_CLASSES[1] }, F>(frame, header, 1, count);
    } else if wire_len <= FRAME_CLASSES[2] {
        emit_class::<{ FRAME_CLASSES[2] }, F>(frame, header, 2, count);
    } else {
        emit_class::<{ FRAME_CLASSES[3] }, F>(frame, header, 3, count);
    }
}

/// Reserves a record with a frame area of `N` bytes, writes `header` (completed with the
/// captured length) in one store, copies the frame and submits it.
#[inline(always)]
fn emit_class<const N: usize, F: Frame>(
    frame: &F,
    mut header: RecordHeader,
    class_index: usize,
    count: &Count,
) {
    let wire_len = frame.len();
    let want = if wire_len > N {
        header.flags |= flags::TRUNCATED;
        N
    } else {
        wire_len
    };
    // The same value for every want in 1..=N (N is a power of two: asserted with
    // FRAME_CLASSES), written so that the verifier sees 1..=N whatever LLVM does with the
    // comparisons above (it bounds `want - 1`, not `want`, otherwise).
    let len = (want.wrapping_sub(1) & (N - 1)) + 1;
    header.captured_len = len as u16;
    header.cap = N as u16;
    let Some(mut entry) = EVENTS.reserve::<RingRecord<N>>(0) else {
        count.inc(counter::RINGBUF_DROPS);
        warn!(
            frame,
            "ring buffer full: record for ICMPv6 type {} lost", header.icmp_type
        );
        return;
    };
    let rec = entry.as_mut_ptr();
    // SAFETY: rec points at a reserved, writable RingRecord<N>; the header is written whole
    // through a raw pointer (no reference to uninitialised memory is formed), and the copy
    // writes len <= N bytes into the frame area.
    let copied = unsafe {
        core::ptr::addr_of_mut!((*rec).header).write(header);
        let dst = core::ptr::addr_of_mut!((*rec).frame).cast::<u8>();
        frame.copy(0, dst, len as u32)
    };
    if !copied {
        // The frame was shorter than the parser saw (cannot happen for XDP; an skb can change
        // under TC only through another program): no half-filled record.
        entry.discard(0);
        fail(count, counter::HEADER_TRUNCATED);
        debug!(frame, "copy of {} frame bytes failed", len);
        return;
    }
    if header.flags & flags::TRUNCATED != 0 {
        count.inc(counter::TRUNCATED);
        debug!(
            frame,
            "frame of {} bytes (IPv6 payload {}): record keeps {}",
            wire_len,
            header.payload_len,
            len
        );
    }
    // Wake the reader once, on the record that takes the backlog over WAKEUP_BYTES; it also
    // polls on a short tick. A wakeup per record (the default when the reader keeps up) costs
    // several times more than the rest of the record path.
    let avail = EVENTS.query(u64::from(BPF_RB_AVAIL_DATA));
    let wake = if (WAKEUP_BYTES..WAKEUP_BYTES + ring_slot(class_index)).contains(&avail) {
        u64::from(BPF_RB_FORCE_WAKEUP)
    } else {
        u64::from(BPF_RB_NO_WAKEUP)
    };
    entry.submit(wake);
    count.inc(counter::RECORDS);
    match class_index {
        0 => count.inc(counter::RECORDS_CLASS0),
        1 => count.inc(counter::RECORDS_CLASS1),
        2 => count.inc(counter::RECORDS_CLASS2),
        3 => count.inc(counter::RECORDS_CLASS3),
        // Unreachable: emit passes a constant class index below CLASS_COUNT.
        _ => {}
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
