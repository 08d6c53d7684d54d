//! The monitor's figures, kept once and read three ways: the periodic and final `stats` lines,
//! the Prometheus endpoint (`monitor --metrics-listen`, see [`http`]), and the health check.
//!
//! [`Telemetry`] is shared between the ring-buffer reader (which adds a batch's counts under one
//! lock per batch, never per record), the sink threads (lock-free [`SinkCounters`]) and the
//! HTTP thread, which encodes everything at scrape time through a prometheus-client
//! [`Collector`]. Labels are interfaces, hooks, message types, alert codes and severities, sinks
//! and line kinds: all bounded by configuration or by the code, never an address or a MAC.
pub mod http;
pub mod process;

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge, info::Info, MetricType},
    registry::Registry,
};
use serde::Serialize;

use crate::detect::EngineStats;

/// The ring-buffer reader counts as stalled (unhealthy) when it has not come round for this
/// long. It comes round at least once a second, records or not.
pub const READER_STALE_AFTER: Duration = Duration::from_secs(5);

/// The version and the commit this binary was built from (`v6probe_build_info`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = match option_env!("V6PROBE_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// Line kinds counted per sink (`kind` label); `frame` is a frame written to a pcapng file.
/// Anything else is `other` (the last).
pub const LINE_KINDS: [&str; 8] = [
    "packet",
    "alert",
    "stats",
    "start",
    "interface",
    "frame",
    "response",
    "other",
];

/// The index of a line kind in [`LINE_KINDS`].
pub fn kind_index(kind: &str) -> usize {
    LINE_KINDS
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(LINE_KINDS.len() - 1)
}

/// The lines a `stats` line counts in `lines`: what was observed (packet, alert, interface),
/// not the monitor's own `start` and `stats` lines.
fn content_lines(by_kind: &[u64; LINE_KINDS.len()]) -> u64 {
    LINE_KINDS
        .iter()
        .zip(by_kind)
        .filter(|(k, _)| !matches!(**k, "start" | "stats" | "frame"))
        .map(|(_, n)| n)
        .sum()
}

/// Counters of one sink, updated by its thread and read by stats and metrics.
#[derive(Debug)]
pub struct SinkCounters {
    /// `stdout`, `file:PATH`, `syslog:udp://HOST:PORT`, `pcapng:DIR`.
    pub name: String,
    /// Lines (or frames, for pcapng) written, by kind ([`LINE_KINDS`]).
    pub lines: [AtomicU64; LINE_KINDS.len()],
    pub bytes: AtomicU64,
    /// Failed writes, connects and opens.
    pub errors: AtomicU64,
    /// Lines that never reached the destination: the queue was full, or a write failed.
    pub dropped: AtomicU64,
    /// Lines waiting in the queue now.
    pub queued: AtomicU64,
    /// Files rotated (file and pcapng sinks).
    pub rotations: AtomicU64,
}

impl SinkCounters {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            lines: Default::default(),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            rotations: AtomicU64::new(0),
        }
    }

    pub fn totals(&self) -> SinkTotals {
        SinkTotals {
            lines: self.lines.iter().map(|l| l.load(Ordering::Relaxed)).sum(),
            bytes: self.bytes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
        }
    }
}

/// One sink's figures in a `stats` line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SinkTotals {
    pub lines: u64,
    pub bytes: u64,
    pub errors: u64,
    pub dropped: u64,
    /// Lines waiting in the queue at the time of the line (not a running total).
    pub queued: u64,
}

/// Where a watched interface stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IfaceState {
    /// The programs are attached to it.
    Attached,
    /// It disappeared; the programs will attach again when it comes back.
    Gone,
    /// It did not exist yet at start (`--wait-for-interface`).
    Waiting,
}

/// Counts per interface from the records read (user space).
#[derive(Clone, Debug, Default)]
struct IfaceCounts {
    /// Records by hook label.
    records: BTreeMap<&'static str, u64>,
    /// Messages by (hook label, message type name).
    messages: BTreeMap<(&'static str, &'static str), u64>,
}

#[derive(Debug, Default)]
struct Inner {
    ifaces: BTreeMap<String, IfaceCounts>,
    /// Alerts by (code, severity, interface).
    alerts: BTreeMap<(&'static str, &'static str, String), u64>,
    /// Countermeasures (`--respond`) by (action, code, interface, outcome).
    responses: BTreeMap<Response, u64>,
    /// Lines produced (before the sinks), by kind.
    lines: [u64; LINE_KINDS.len()],
    records_read: u64,
    records_undecodable: u64,
    /// The kernel counters, summed over CPUs, as last read, with their names.
    kernel: Vec<(&'static str, u64)>,
    detect: Option<EngineStats>,
    health: BTreeMap<String, IfaceState>,
    last_read: Option<Instant>,
    sinks: Vec<Arc<SinkCounters>>,
    /// Policy reloads that failed (the old policy stayed).
    policy_reload_failures: u64,
}

/// The shared figures. See the module documentation.
#[derive(Debug)]
pub struct Telemetry {
    inner: Mutex<Inner>,
    started: Instant,
    /// `process_start_time_seconds`.
    start_unix: f64,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            started: Instant::now(),
            start_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

/// A batch's counts, gathered by the reader without locking and added at once.
#[derive(Debug, Default)]
pub struct Tally {
    /// (interface index, hook label, message type name) -> records.
    records: Vec<((u32, &'static str, &'static str), u64)>,
    undecodable: u64,
    alerts: Vec<(&'static str, &'static str, Option<String>)>,
    responses: Vec<Response>,
    lines: [u64; LINE_KINDS.len()],
}

/// A countermeasure's labels: action, alert code, interface, outcome (`sent` / `failed`).
type Response = (&'static str, &'static str, String, &'static str);

impl Tally {
    /// One record read from interface `ifindex` at `hook`, carrying message `msg`.
    pub fn record(&mut self, ifindex: u32, hook: &'static str, msg: &'static str) {
        let key = (ifindex, hook, msg);
        // A batch holds a handful of distinct keys: a short scan beats hashing.
        match self.records.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.records.push((key, 1)),
        }
    }

    pub fn undecodable(&mut self) {
        self.undecodable += 1;
    }

    pub fn alert(&mut self, code: &'static str, severity: &'static str, iface: Option<&str>) {
        self.alerts
            .push((code, severity, iface.map(str::to_string)));
    }

    pub fn line(&mut self, kind: &str) {
        self.lines[kind_index(kind)] += 1;
    }

    /// One countermeasure (`monitor --respond`), sent or not.
    pub fn response(&mut self, action: &'static str, code: &'static str, iface: &str, sent: bool) {
        let outcome = if sent { "sent" } else { "failed" };
        self.responses
            .push((action, code, iface.to_string(), outcome));
    }

    /// Lines counted so far, as in [`Totals::lines`] (the replay's `stats` line, which has no
    /// telemetry).
    pub fn lines_total(&self) -> u64 {
        content_lines(&self.lines)
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
            && self.undecodable == 0
            && self.alerts.is_empty()
            && self.responses.is_empty()
            && self.lines.iter().all(|n| *n == 0)
    }
}

/// Running totals for the `stats` lines (and the deltas between two of them).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub records_read: u64,
    pub records_undecodable: u64,
    /// Lines produced (packet, alert, interface; not `start` and `stats`), before the sinks.
    pub lines: u64,
    /// Records lost in the kernel because the ring buffer was full.
    pub drops: u64,
    pub kernel: BTreeMap<&'static str, u64>,
    /// Alerts by code.
    pub alerts: BTreeMap<&'static str, u64>,
    pub sinks: BTreeMap<String, SinkTotals>,
}

impl Totals {
    /// `self - before`, field by field (the queue length stays as it is now).
    pub fn delta(&self, before: &Totals) -> Totals {
        fn sub<K: Ord + Clone>(a: &BTreeMap<K, u64>, b: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
            a.iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(b.get(k).copied().unwrap_or(0))))
                .collect()
        }
        Totals {
            records_read: self.records_read.saturating_sub(before.records_read),
            records_undecodable: self
                .records_undecodable
                .saturating_sub(before.records_undecodable),
            lines: self.lines.saturating_sub(before.lines),
            drops: self.drops.saturating_sub(before.drops),
            kernel: sub(&self.kernel, &before.kernel),
            alerts: sub(&self.alerts, &before.alerts),
            sinks: self
                .sinks
                .iter()
                .map(|(k, v)| {
                    let b = before.sinks.get(k).copied().unwrap_or_default();
                    (
                        k.clone(),
                        SinkTotals {
                            lines: v.lines.saturating_sub(b.lines),
                            bytes: v.bytes.saturating_sub(b.bytes),
                            errors: v.errors.saturating_sub(b.errors),
                            dropped: v.dropped.saturating_sub(b.dropped),
                            queued: v.queued,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// What `/healthz` answers.
#[derive(Clone, Debug, Serialize)]
pub struct HealthReport {
    pub healthy: bool,
    pub interfaces: BTreeMap<String, IfaceState>,
    /// Seconds since the reader last came round (`null` before it first did).
    pub reader_idle_s: Option<f64>,
    /// Why it is unhealthy, one reason per problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Telemetry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves counters that are still counters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a batch's counts; `name` maps an interface index to its name.
    pub fn add(&self, tally: &mut Tally, name: impl Fn(u32) -> String) {
        if tally.is_empty() {
            return;
        }
        let mut g = self.lock();
        for &((ifindex, hook, msg), n) in &tally.records {
            let iname = name(ifindex);
            let c = match g.ifaces.get_mut(iname.as_str()) {
                Some(c) => c,
                None => g.ifaces.entry(iname).or_default(),
            };
            *c.records.entry(hook).or_default() += n;
            *c.messages.entry((hook, msg)).or_default() += n;
            g.records_read += n;
        }
        g.records_undecodable += tally.undecodable;
        g.records_read += tally.undecodable;
        for (code, sev, iface) in tally.alerts.drain(..) {
            *g.alerts
                .entry((code, sev, iface.unwrap_or_default()))
                .or_default() += 1;
        }
        for r in tally.responses.drain(..) {
            *g.responses.entry(r).or_default() += 1;
        }
        for (t, n) in g.lines.iter_mut().zip(tally.lines.iter()) {
            *t += n;
        }
        tally.records.clear();
        tally.undecodable = 0;
        tally.lines = Default::default();
    }

    /// The kernel counters as just read (summed over CPUs), with their names.
    pub fn set_kernel(&self, counters: Vec<(&'static str, u64)>) {
        self.lock().kernel = counters;
    }

    pub fn set_detect(&self, stats: EngineStats) {
        self.lock().detect = Some(stats);
    }

    pub fn register_sink(&self, sink: Arc<SinkCounters>) {
        self.lock().sinks.push(sink);
    }

    pub fn set_interface(&self, iface: &str, state: IfaceState) {
        self.lock().health.insert(iface.to_string(), state);
    }

    pub fn policy_reload_failed(&self) {
        self.lock().policy_reload_failures += 1;
    }

    /// The reader came round (records or not).
    pub fn reader_alive(&self) {
        self.lock().last_read = Some(Instant::now());
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn totals(&self) -> Totals {
        let g = self.lock();
        let mut alerts = BTreeMap::new();
        for ((code, _, _), n) in &g.alerts {
            *alerts.entry(*code).or_default() += n;
        }
        Totals {
            records_read: g.records_read,
            records_undecodable: g.records_undecodable,
            lines: content_lines(&g.lines),
            drops: g
                .kernel
                .iter()
                .find(|(n, _)| *n == "ringbuf_drops")
                .map_or(0, |(_, v)| *v),
            kernel: g.kernel.iter().copied().collect(),
            alerts,
            sinks: g
                .sinks
                .iter()
                .map(|s| (s.name.clone(), s.totals()))
                .collect(),
        }
    }

    pub fn health(&self) -> HealthReport {
        let g = self.lock();
        let mut problems = Vec::new();
        if g.health.is_empty() {
            problems.push("no program attached yet".to_string());
        }
        for (iface, st) in &g.health {
            match st {
                IfaceState::Attached => {}
                IfaceState::Gone => problems.push(format!("interface {iface} is gone")),
                IfaceState::Waiting => {
                    problems.push(format!("interface {iface} does not exist yet"))
                }
            }
        }
        let idle = g.last_read.map(|t| t.elapsed());
        match idle {
            None => problems.push("the ring buffer has not been read yet".into()),
            Some(d) if d > READER_STALE_AFTER => problems.push(format!(
                "the ring buffer was last read {:.1}s ago",
                d.as_secs_f64()
            )),
            Some(_) => {}
        }
        HealthReport {
            healthy: problems.is_empty(),
            interfaces: g.health.clone(),
            reader_idle_s: idle.map(|d| d.as_secs_f64()),
            problems,
        }
    }

    /// A registry whose one collector reads this telemetry at each scrape, plus the build info.
    pub fn registry(self: &Arc<Self>) -> Registry {
        let mut r = Registry::default();
        r.register(
            "v6probe_build",
            "The v6probe version and the commit it was built from",
            Info::new(vec![
                ("version".to_string(), VERSION.to_string()),
                ("commit".to_string(), COMMIT.to_string()),
            ]),
        );
        r.register_collector(Box::new(TelemetryCollector(Arc::clone(self))));
        r
    }
}

/// Encodes the registry: OpenMetrics text when `openmetrics`, else Prometheus text 0.0.4.
pub fn encode(registry: &Registry, openmetrics: bool) -> Result<String, std::fmt::Error> {
    let mut s = String::with_capacity(16 * 1024);
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut s, registry)?;
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut s, registry)?;
    }
    Ok(s)
}

#[derive(Debug)]
struct TelemetryCollector(Arc<Telemetry>);

type Labels = Vec<(&'static str, String)>;

/// Writes one metric family: `name` (without `_total`), its help, type, and one sample per
/// label set.
fn family<V: Copy>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    ty: MetricType,
    samples: impl IntoIterator<Item = (Labels, V)>,
    put: impl Fn(V, prometheus_client::encoding::MetricEncoder) -> std::fmt::Result,
) -> std::fmt::Result {
    let mut me = enc.encode_descriptor(name, help, None, ty)?;
    for (labels, v) in samples {
        put(v, me.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64, me: prometheus_client::encoding::MetricEncoder) -> std::fmt::Result {
    ConstCounter::new(v).encode(me)
}

fn gauge_i(v: i64, me: prometheus_client::encoding::MetricEncoder) -> std::fmt::Result {
    ConstGauge::new(v).encode(me)
}

fn gauge_f(v: f64, me: prometheus_client::encoding::MetricEncoder) -> std::fmt::Result {
    ConstGauge::new(v).encode(me)
}

impl Collector for TelemetryCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        use MetricType::{Counter, Gauge};
        let t = &self.0;
        let health = t.health();
        let g = t.lock();
        let mut records = Vec::new();
        let mut messages = Vec::new();
        for (iface, c) in &g.ifaces {
            for (hook, n) in &c.records {
                records.push((
                    vec![("iface", iface.clone()), ("hook", hook.to_string())],
                    *n,
                ));
            }
            for ((hook, msg), n) in &c.messages {
                messages.push((
                    vec![
                        ("iface", iface.clone()),
                        ("hook", hook.to_string()),
                        ("type", msg.to_string()),
                    ],
                    *n,
                ));
            }
        }
        family(
            &mut enc,
            "v6probe_records",
            "Records read from the ring buffer, by interface and hook (xdp, tc_ingress, \
             tc_egress). Counted in user space from the records themselves; the kernel's own \
             counters are summed over all interfaces (v6probe_kernel_*).",
            Counter,
            records,
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_messages",
            "ICMPv6 messages read from the ring buffer, by interface, hook and type \
             (router_solicit, ..., fragment for a non-first fragment). Counted in user space.",
            Counter,
            messages,
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_records_undecodable",
            "Records whose bytes did not decode as Ethernet + IPv6 (none expected).",
            Counter,
            [(vec![], g.records_undecodable)],
            counter,
        )?;
        // Frames only when the kernel counted every frame (`monitor --count-frames`).
        let counted: Vec<u64> = g
            .kernel
            .iter()
            .filter(|(n, _)| *n == "non_ipv6" || *n == "ipv6")
            .map(|(_, v)| *v)
            .collect();
        if counted.len() == 2 {
            let frames: u64 = counted.iter().sum();
            family(
                &mut enc,
                "v6probe_kernel_frames",
                "Frames the kernel programs saw, all watched interfaces and hooks together \
                 (kernel counter, summed over CPUs).",
                Counter,
                [(vec![], frames)],
                counter,
            )?;
        }
        if !g.kernel.is_empty() {
            // The flood guard's per-class counters are one family with a `class` label (a
            // name such as ..._ns_total would read as nanoseconds).
            let by_class: Vec<(Labels, u64)> = g
                .kernel
                .iter()
                .filter_map(|(name, v)| {
                    name.strip_prefix("flood_suppressed_")
                        .map(|class| (vec![("class", class.to_string())], *v))
                })
                .collect();
            if !by_class.is_empty() {
                family(
                    &mut enc,
                    "v6probe_kernel_flood_suppressed_by_class",
                    "Frames the in-kernel flood guard counted instead of recording, by message \
                     class (summed over CPUs and interfaces).",
                    Counter,
                    by_class,
                    counter,
                )?;
            }
            for (name, v) in &g.kernel {
                if name.starts_with("flood_suppressed_") {
                    continue;
                }
                if *name == "ringbuf_drops" {
                    family(
                        &mut enc,
                        "v6probe_ringbuf_drops",
                        "Records lost in the kernel because the ring buffer was full (kernel \
                         counter, summed over CPUs and interfaces).",
                        Counter,
                        [(vec![], *v)],
                        counter,
                    )?;
                    continue;
                }
                family(
                    &mut enc,
                    &format!("v6probe_kernel_{name}"),
                    &format!(
                        "Kernel counter `{name}`, summed over CPUs and all watched interfaces \
                         and hooks."
                    ),
                    Counter,
                    [(vec![], *v)],
                    counter,
                )?;
            }
        }
        let mut alerts: Vec<(Labels, u64)> = g
            .alerts
            .iter()
            .map(|((code, sev, iface), n)| {
                (
                    vec![
                        ("code", code.to_string()),
                        ("severity", sev.to_string()),
                        ("iface", iface.clone()),
                    ],
                    *n,
                )
            })
            .collect();
        alerts.sort();
        family(
            &mut enc,
            "v6probe_alerts",
            "Alerts raised, by code, severity and interface.",
            Counter,
            alerts,
            counter,
        )?;
        let responses: Vec<(Labels, u64)> = g
            .responses
            .iter()
            .map(|((action, code, iface, outcome), n)| {
                (
                    vec![
                        ("action", action.to_string()),
                        ("code", code.to_string()),
                        ("iface", iface.clone()),
                        ("outcome", outcome.to_string()),
                    ],
                    *n,
                )
            })
            .collect();
        family(
            &mut enc,
            "v6probe_responses",
            "Countermeasures (monitor --respond) by action (withdraw_router, restore_neighbor), \
             the alert code answered, interface and outcome (sent, failed).",
            Counter,
            responses,
            counter,
        )?;
        let mut lines = Vec::new();
        for (k, n) in LINE_KINDS.iter().zip(g.lines.iter()) {
            lines.push((vec![("kind", k.to_string())], *n));
        }
        family(
            &mut enc,
            "v6probe_lines",
            "Lines the monitor produced, by kind, before the sinks (each sink counts what it \
             wrote in v6probe_sink_lines_total).",
            Counter,
            lines,
            counter,
        )?;
        let sink_lines: Vec<(Labels, u64)> = g
            .sinks
            .iter()
            .flat_map(|s| {
                LINE_KINDS
                    .iter()
                    .zip(s.lines.iter())
                    .filter(|(_, n)| n.load(Ordering::Relaxed) > 0)
                    .map(|(k, n)| {
                        (
                            vec![("sink", s.name.clone()), ("kind", k.to_string())],
                            n.load(Ordering::Relaxed),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        family(
            &mut enc,
            "v6probe_sink_lines",
            "Lines written by each sink, by kind (frames, for a pcapng sink).",
            Counter,
            sink_lines,
            counter,
        )?;
        let per_sink = |f: fn(&SinkCounters) -> u64| -> Vec<(Labels, u64)> {
            g.sinks
                .iter()
                .map(|s| (vec![("sink", s.name.clone())], f(s)))
                .collect()
        };
        family(
            &mut enc,
            "v6probe_sink_bytes",
            "Bytes written by each sink.",
            Counter,
            per_sink(|s| s.bytes.load(Ordering::Relaxed)),
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_sink_errors",
            "Failed writes, connects and opens, by sink.",
            Counter,
            per_sink(|s| s.errors.load(Ordering::Relaxed)),
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_sink_dropped_lines",
            "Lines a sink never delivered (its queue was full, or a write failed), by sink.",
            Counter,
            per_sink(|s| s.dropped.load(Ordering::Relaxed)),
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_sink_rotations",
            "Files rotated, by sink.",
            Counter,
            per_sink(|s| s.rotations.load(Ordering::Relaxed)),
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_sink_queue_lines",
            "Lines waiting in each sink's queue.",
            Gauge,
            per_sink(|s| s.queued.load(Ordering::Relaxed))
                .into_iter()
                .map(|(l, v)| (l, i64::try_from(v).unwrap_or(i64::MAX))),
            gauge_i,
        )?;
        if let Some(d) = &g.detect {
            family(
                &mut enc,
                "v6probe_detector_packets",
                "Packets the detection engine judged.",
                Counter,
                [(vec![], d.observed)],
                counter,
            )?;
            family(
                &mut enc,
                "v6probe_detector_learning",
                "1 while the learning period runs.",
                Gauge,
                [(vec![], i64::from(d.learning))],
                gauge_i,
            )?;
            let sizes = [
                ("neighbors", d.neighbors),
                ("routers", d.routers),
                ("router_macs", d.router_macs),
                ("dad", d.dad),
                ("pending_ns", d.pending_ns),
                ("sources", d.sources),
                ("suppress", d.suppress_entries),
            ];
            family(
                &mut enc,
                "v6probe_detector_table_entries",
                "Entries in each detector table (each is bounded; see evictions).",
                Gauge,
                sizes
                    .iter()
                    .map(|(t, n)| (vec![("table", t.to_string())], *n as i64)),
                gauge_i,
            )?;
            family(
                &mut enc,
                "v6probe_detector_evictions",
                "Entries evicted from each detector table to stay within its bound.",
                Counter,
                d.evictions
                    .iter()
                    .map(|(t, n)| (vec![("table", t.to_string())], *n)),
                counter,
            )?;
            let r = &d.reassembly;
            family(
                &mut enc,
                "v6probe_reassembly_fragments",
                "Fragments taken by the reassembler, and what became of them: `reassembled` \
                 packets, datagrams `timed_out` or `evicted` (memory bounds), first fragments \
                 without the whole header chain (`chain_incomplete`), drops by reason.",
                Counter,
                [
                    ("taken", r.fragments),
                    ("reassembled", r.reassembled),
                    ("timed_out", r.timed_out),
                    ("evicted", r.evicted),
                    ("chain_incomplete", r.chain_incomplete),
                ]
                .into_iter()
                .chain(r.discarded.iter().map(|(k, v)| (*k, *v)))
                .map(|(what, n)| (vec![("what", what.to_string())], n)),
                counter,
            )?;
            family(
                &mut enc,
                "v6probe_reassembly_held_bytes",
                "Bytes the reassembler holds for incomplete datagrams (bounded per interface \
                 and in total).",
                Gauge,
                [(vec![], i64::try_from(r.held_bytes).unwrap_or(i64::MAX))],
                gauge_i,
            )?;
            family(
                &mut enc,
                "v6probe_detector_bindings_not_admitted",
                "New neighbour bindings not stored because their message class was flooding.",
                Counter,
                [(vec![], d.bindings_not_admitted)],
                counter,
            )?;
            family(
                &mut enc,
                "v6probe_detector_mac_changes",
                "Changes of a neighbour binding's MAC, every one: alerted, or held back in a \
                 MAC storm.",
                Counter,
                [(vec![], d.mac_changes)],
                counter,
            )?;
            family(
                &mut enc,
                "v6probe_detector_ra_prefix_changes",
                "Prefix changes of known routers (renumbering) taken into their baseline \
                 without an alert.",
                Counter,
                [(vec![], d.ra_prefix_changes)],
                counter,
            )?;
            family(
                &mut enc,
                "v6probe_alerts_suppressed",
                "Alerts counted but not printed (repeats of a code and subject, per-code \
                 budget), by code.",
                Counter,
                d.suppressed
                    .iter()
                    .map(|(c, n)| (vec![("code", c.to_string())], *n)),
                counter,
            )?;
        }
        family(
            &mut enc,
            "v6probe_policy_reload_failures",
            "Policy reloads (SIGHUP) that failed; the previous policy stayed in force.",
            Counter,
            [(vec![], g.policy_reload_failures)],
            counter,
        )?;
        family(
            &mut enc,
            "v6probe_interface_attached",
            "1 while the programs are attached to a watched interface, 0 while it is gone or \
             not there yet.",
            Gauge,
            health.interfaces.iter().map(|(i, s)| {
                (
                    vec![("iface", i.clone())],
                    i64::from(*s == IfaceState::Attached),
                )
            }),
            gauge_i,
        )?;
        family(
            &mut enc,
            "v6probe_healthy",
            "1 when /healthz answers 200 (programs attached, ring buffer being read).",
            Gauge,
            [(vec![], i64::from(health.healthy))],
            gauge_i,
        )?;
        drop(g);
        let p = process::Figures::read();
        family(
            &mut enc,
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            Counter,
            [(vec![], p.cpu_seconds)],
            |v: f64, me| ConstCounter::new(v).encode(me),
        )?;
        family(
            &mut enc,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            Gauge,
            [(vec![], p.resident_bytes as i64)],
            gauge_i,
        )?;
        family(
            &mut enc,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            Gauge,
            [(vec![], p.virtual_bytes as i64)],
            gauge_i,
        )?;
        family(
            &mut enc,
            "process_open_fds",
            "Number of open file descriptors.",
            Gauge,
            [(vec![], p.open_fds as i64)],
            gauge_i,
        )?;
        if let Some(max) = p.max_fds {
            family(
                &mut enc,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                Gauge,
                [(vec![], max as i64)],
                gauge_i,
            )?;
        }
        family(
            &mut enc,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds.",
            Gauge,
            [(vec![], t.start_unix)],
            gauge_f,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Arc<Telemetry> {
        let t = Telemetry::new();
        let mut tally = Tally::default();
        tally.record(3, "xdp", "neighbor_solicit");
        tally.record(3, "xdp", "neighbor_solicit");
        tally.record(3, "tc_egress", "neighbor_advert");
        tally.alert("ra_rogue", "high", Some("eth0"));
        tally.response("withdraw_router", "ra_rogue", "eth0", true);
        tally.line("packet");
        tally.line("alert");
        t.add(&mut tally, |i| {
            if i == 3 {
                "eth0".into()
            } else {
                format!("if{i}")
            }
        });
        t.set_kernel(vec![
            ("ipv6", 10),
            ("non_ipv6", 2),
            ("ringbuf_drops", 1),
            ("flood_suppressed", 7),
            ("flood_suppressed_ns", 5),
            ("flood_suppressed_na", 2),
        ]);
        let sink = Arc::new(SinkCounters::new("file:/tmp/x"));
        sink.lines[0].fetch_add(5, Ordering::Relaxed);
        sink.dropped.fetch_add(2, Ordering::Relaxed);
        t.register_sink(sink);
        t.set_interface("eth0", IfaceState::Attached);
        t.reader_alive();
        t
    }

    #[test]
    fn prometheus_text_has_the_documented_names_and_labels() {
        let t = sample();
        let text = encode(&t.registry(), false).unwrap();
        for want in [
            "v6probe_records_total{iface=\"eth0\",hook=\"xdp\"} 2",
            "v6probe_records_total{iface=\"eth0\",hook=\"tc_egress\"} 1",
            "v6probe_alerts_total{code=\"ra_rogue\",severity=\"high\",iface=\"eth0\"} 1",
            "v6probe_responses_total{action=\"withdraw_router\",code=\"ra_rogue\",iface=\"eth0\",outcome=\"sent\"} 1",
            "v6probe_ringbuf_drops_total 1",
            "v6probe_kernel_frames_total 12",
            "v6probe_kernel_flood_suppressed_total 7",
            "v6probe_kernel_flood_suppressed_by_class_total{class=\"ns\"} 5",
            "v6probe_sink_dropped_lines_total{sink=\"file:/tmp/x\"} 2",
            "v6probe_sink_lines_total{sink=\"file:/tmp/x\",kind=\"packet\"} 5",
            "v6probe_interface_attached{iface=\"eth0\"} 1",
            "process_resident_memory_bytes ",
            "# TYPE v6probe_records_total counter",
        ] {
            assert!(text.contains(want), "{want} missing in\n{text}");
        }
        assert!(
            text.contains(&format!(
                "v6probe_build_info{{version=\"{VERSION}\",commit=\"{COMMIT}\"}} 1"
            )),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
        assert!(!text.contains("suppressed_ns"), "{text}");
    }

    #[test]
    fn openmetrics_text_ends_with_eof() {
        let text = encode(&sample().registry(), true).unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(text.contains("# TYPE v6probe_records counter"), "{text}");
        assert!(text.contains("v6probe_records_total{iface=\"eth0\",hook=\"xdp\"} 2"));
    }

    #[test]
    fn totals_and_deltas() {
        let t = sample();
        let a = t.totals();
        assert_eq!(a.records_read, 3);
        assert_eq!(a.lines, 2);
        assert_eq!(a.drops, 1);
        assert_eq!(a.alerts.get("ra_rogue"), Some(&1));
        assert_eq!(a.sinks["file:/tmp/x"].dropped, 2);
        let mut tally = Tally::default();
        tally.record(3, "xdp", "router_advert");
        t.add(&mut tally, |_| "eth0".into());
        let b = t.totals();
        let d = b.delta(&a);
        assert_eq!(d.records_read, 1);
        assert_eq!(d.alerts.get("ra_rogue"), Some(&0));
        assert_eq!(d.sinks["file:/tmp/x"].dropped, 0);
    }

    #[test]
    fn health_names_what_is_wrong() {
        let t = Telemetry::new();
        let h = t.health();
        assert!(!h.healthy);
        t.set_interface("eth0", IfaceState::Attached);
        t.reader_alive();
        assert!(t.health().healthy, "{:?}", t.health());
        t.set_interface("eth1", IfaceState::Gone);
        let h = t.health();
        assert!(!h.healthy);
        assert_eq!(h.problems, ["interface eth1 is gone"]);
    }
}
