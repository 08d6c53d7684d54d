//! The engine's bounds, thresholds and windows.
use std::time::Duration;

/// Memory bounds, thresholds and windows. The defaults keep the engine well under 64 MiB
/// whatever arrives (see the `detect` benchmark).
#[derive(Debug, Clone)]
pub struct Config {
    /// Neighbour bindings (IPv6 address -> MAC) kept.
    pub max_neighbors: usize,
    /// Routers (link-local address -> RA baseline) kept.
    pub max_routers: usize,
    /// MACs known to act as routers.
    pub max_router_macs: usize,
    /// Addresses under DAD tracked.
    pub max_dad: usize,
    /// Unanswered NS targets tracked.
    pub max_pending_ns: usize,
    /// Per-source-MAC rate windows (direct-mapped slots, rounded up to a power of two).
    pub max_sources: usize,
    /// (code, subject) repeat-suppression entries kept.
    pub max_suppress: usize,
    /// Learning period: routers and neighbours seen in it form the baseline.
    pub learn: Duration,
    /// A repeat of the same (code, subject) within this interval is counted, not printed.
    pub repeat_interval: Duration,
    /// At most this many alerts per code per second (except MAC changes); the rest are counted.
    pub max_alerts_per_code_per_sec: u32,
    /// A binding whose MAC was last confirmed longer ago than this is stale: a change then is a
    /// `low` alert (the owner changed its NIC), not `medium`.
    pub stale_after: Duration,
    /// A return to the previous MAC within this time of the change is a flip-flop.
    pub flip_flop_window: Duration,
    /// A DAD attempt lasts this long after its last probe (answers after it are not DAD
    /// replies).
    pub dad_window: Duration,
    /// NS targets stay "unanswered" this long.
    pub ns_pending_window: Duration,
    /// Unanswered distinct NS targets on one interface that make a cache-exhaustion alert.
    pub cache_exhaustion_targets: usize,
    /// Per-interface packets per second, by class (RS, RA, NS, NA, redirect), that make a
    /// flood. While a class floods, its packets create no new bindings (counted as
    /// `bindings_not_admitted`).
    pub flood_per_sec: [u32; 5],
    /// NDP packets per second from one source MAC that make a flood.
    pub flood_per_source_per_sec: u32,
    /// Compare the NA target link-layer option with the Ethernet source (off by default when
    /// the policy lists proxies).
    pub check_na_mismatch: bool,
    /// MAC changes of one address alerted per second; past that, one `neighbor_mac_storm`
    /// alert and the changes are counted, not alerted, until the address is quiet.
    pub mac_changes_per_sec: u32,
    /// A MAC storm ends when the address has not changed MAC for this long.
    pub mac_storm_quiet: Duration,
    /// (MAC -> link-local address) couples kept, for `neighbor_mac_lla_mismatch`.
    pub max_mac_lla: usize,
    /// MAC storms whose counts are kept for their alerts.
    pub max_storms: usize,
    /// Fragment reassembly: timeout, bytes held per link and in total.
    pub reassembly: crate::reasm::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_neighbors: 65_536,
            max_routers: 256,
            max_router_macs: 1024,
            max_dad: 8192,
            max_pending_ns: 16_384,
            max_sources: 16_384,
            max_suppress: 16_384,
            learn: Duration::ZERO,
            repeat_interval: Duration::from_secs(30),
            max_alerts_per_code_per_sec: 20,
            stale_after: Duration::from_secs(60),
            flip_flop_window: Duration::from_secs(300),
            dad_window: Duration::from_secs(3),
            ns_pending_window: Duration::from_secs(3),
            cache_exhaustion_targets: 64,
            // RS, RA, NS, NA, redirect
            flood_per_sec: [50, 20, 500, 500, 20],
            flood_per_source_per_sec: 200,
            check_na_mismatch: true,
            mac_changes_per_sec: 3,
            mac_storm_quiet: Duration::from_secs(5),
            max_mac_lla: 65_536,
            max_storms: 1024,
            reassembly: crate::reasm::Limits::default(),
        }
    }
}
