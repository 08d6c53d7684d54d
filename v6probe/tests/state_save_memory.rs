//! The heap a state save of 20,000 bindings needs, counted by this binary's allocator: the
//! owned path (`Engine::snapshot` then `State::save`, a copy of every binding) against the
//! periodic save (`Engine::save_state`, serialized from the tables), in the same run. The
//! figures are printed; the periodic save must need less than a quarter of the owned path's
//! peak, and both files must be the same bytes. One test only: the counters are global.
use std::{
    alloc::{GlobalAlloc, Layout, System},
    net::Ipv6Addr,
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

use v6probe::detect::{
    state::{NeighborState, State, STATE_VERSION},
    Config, Engine,
};
use v6probe_common::wire::EthernetAddress;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
    TOTAL.fetch_add(n, Relaxed);
}

// SAFETY: every call is passed to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap above what was live before, and bytes allocated, while `f` runs.
fn measure(f: impl FnOnce()) -> (usize, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let total = TOTAL.load(Relaxed);
    f();
    (PEAK.load(Relaxed) - base, TOTAL.load(Relaxed) - total)
}

const BINDINGS: u32 = 20_000;

fn engine() -> Engine {
    let mut e = Engine::new(Config::default(), None);
    let neighbors = (0..BINDINGS)
        .map(|i| {
            let b = i.to_be_bytes();
            NeighborState {
                iface: "eth0".into(),
                vlan: None,
                address: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (i >> 16) as u16, i as u16),
                mac: EthernetAddress([2, 0, b[0], b[1], b[2], b[3]]),
                prev_macs: if i % 10 == 0 {
                    vec![EthernetAddress([2, 1, b[0], b[1], b[2], b[3]])]
                } else {
                    Vec::new()
                },
                first_seen_ns: 1_800_000_000_000_000_000 + u64::from(i),
                last_seen_ns: 1_800_000_300_000_000_000 + u64::from(i),
            }
        })
        .collect();
    e.restore(&State {
        version: STATE_VERSION,
        neighbors,
        ..State::default()
    });
    e
}

#[test]
fn a_state_save_of_20000_bindings_copies_none_of_them() {
    let dir = v6probe_lab::TempDir::new("state-save-memory").unwrap();
    let owned_path = dir.path().join("owned.json");
    let streamed_path = dir.path().join("streamed.json");
    let e = engine();
    assert_eq!(e.stats().neighbors, BINDINGS as usize);

    let (owned_peak, owned_total) = measure(|| e.snapshot().save(&owned_path).unwrap());
    let (streamed_peak, streamed_total) = measure(|| e.save_state(&streamed_path).unwrap());
    let file = std::fs::metadata(&streamed_path).unwrap().len();
    println!(
        "state save of {BINDINGS} bindings ({file} bytes): owned snapshot peak {owned_peak} B \
         ({owned_total} B allocated); from the tables peak {streamed_peak} B \
         ({streamed_total} B allocated); ratio {:.3}",
        streamed_peak as f64 / owned_peak as f64
    );
    assert!(
        std::fs::read(&owned_path).unwrap() == std::fs::read(&streamed_path).unwrap(),
        "the two saves wrote different files"
    );
    assert!(
        streamed_peak * 4 < owned_peak,
        "saving from the tables needed {streamed_peak} B of heap at its peak, the owned \
         snapshot {owned_peak} B"
    );
}
