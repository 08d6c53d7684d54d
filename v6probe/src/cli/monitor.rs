//! `v6probe monitor`: attach the kernel programs, print one line per NDP / ICMPv6-error packet,
//! and a final `stats` line with the counters. Everything attached is detached on exit (SIGINT,
//! SIGTERM, `--duration`, or an error).
use std::{
    collections::HashMap,
    io::{self, Write},
    process::ExitCode,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context as _, Result};
use serde::Serialize;
use tokio::signal::unix::{signal, SignalKind};
use v6probe_common::abi::{self, class, counter, guard, FloodGuard, Record};

use crate::{
    detect::{self, alert::FloodSourceCount, DetectArgs, Detector, KernelFlood},
    observe::{
        FloodSource, HookSel, KernelLog, KernelLogSink, Observer, ObserverConfig, XdpModeSel,
    },
    output::{Format, JsonLines},
    packet::Packet,
    term, text_line,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface to watch (repeat for several).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "pcap"
    )]
    pub interfaces: Vec<String>,
    /// Replay a pcap/pcapng capture through the same decoder and detector, with the capture's
    /// timestamps, instead of watching interfaces (offline; no privileges needed).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["interfaces", "duration"])]
    pub pcap: Option<std::path::PathBuf>,
    /// Hooks: `xdp` (ingress), `tc` (ingress and egress), `both` (XDP ingress + TC egress).
    #[arg(long, value_enum, default_value_t)]
    pub hook: HookSel,
    /// XDP attach mode.
    #[arg(long, value_enum, default_value_t)]
    pub xdp_mode: XdpModeSel,
    /// Kernel-side diagnostics on stderr (why a frame could not be walked, at which offset;
    /// records lost to a full ring buffer). `off` costs nothing in the kernel.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t)]
    pub kernel_log: KernelLog,
    /// In-kernel flood guard: past RATE records per second of one message class (RS, RA, NS,
    /// NA, redirect, errors, other; per CPU, after a burst of one second's worth), or past a
    /// quarter of that from one source MAC, frames are counted instead of recorded, and the
    /// counts become `flood` alerts and `stats` figures. `off` records every frame.
    #[arg(long, value_name = "off|RATE", default_value = "1000", value_parser = parse_flood_guard)]
    pub flood_guard: FloodGuardArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub detect: DetectArgs,
}

/// `--flood-guard`: `off`, or a rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodGuardArg(pub Option<FloodGuard>);

fn parse_flood_guard(s: &str) -> std::result::Result<FloodGuardArg, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(FloodGuardArg(None));
    }
    match s.parse::<u32>() {
        Ok(r) if (1..=10_000_000).contains(&r) => Ok(FloodGuardArg(Some(FloodGuard::with_rate(r)))),
        _ => Err(format!(
            "`{s}`: give `off` or records per second per message class, 1 to 10000000"
        )),
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn parse_secs(s: &str) -> std::result::Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 || v > 1e9 {
        return Err(format!("`{s}`: give a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// First line: what was attached where.
#[derive(Debug, Serialize)]
struct Start {
    attachments: Vec<StartAttachment>,
}

#[derive(Debug, Serialize)]
struct StartAttachment {
    iface: String,
    ifindex: u32,
    hook: &'static str,
}

#[derive(Debug, Default, Serialize)]
struct Stats {
    /// Kernel counters summed over CPUs (live monitoring).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    kernel: serde_json::Map<String, serde_json::Value>,
    /// Frames read from the capture and frames that were not ICMPv6 on Ethernet (`--pcap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<CaptureStats>,
    /// Records read from the ring buffer.
    records_read: u64,
    /// Records whose frame bytes did not decode as Ethernet + IPv6 (none expected: the kernel
    /// walked the same headers).
    #[serde(skip_serializing_if = "is_zero")]
    records_undecodable: u64,
    /// Lines written.
    lines: u64,
    /// Records lost in the kernel because the ring buffer was full.
    drops: u64,
    /// Source MACs the kernel's flood guard counted frames from, most first (live monitoring
    /// with the guard on).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flood_sources: Vec<FloodSource>,
    duration_s: f64,
    /// Detection engine figures (bindings, evictions, alerts by code).
    detect: Option<detect::EngineStats>,
}

#[derive(Debug, Default, Serialize)]
struct CaptureStats {
    file: String,
    frames: u64,
    skipped: u64,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if let Some(path) = args.pcap.clone() {
        return replay(&args, &path);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<ExitCode> {
    let mut detector = Detector::new(&args.detect).context("starting the detector")?;
    let config = ObserverConfig {
        interfaces: args.interfaces.clone(),
        hook: args.hook,
        xdp_mode: args.xdp_mode,
        report_mask: class::ALL,
        kernel_log: args.kernel_log,
        log_sink: KernelLogSink::new(|level, msg| {
            eprintln!(
                "v6probe: kernel {}: {msg}",
                level.as_str().to_ascii_lowercase()
            )
        }),
        flood_guard: args.flood_guard.0,
    };
    let mut observer = Observer::start(&config)?;
    tracing::info!(attachments = ?observer.attachments(), "attached");
    let stdout = io::stdout();
    let mut out = JsonLines::new(io::BufWriter::new(stdout.lock()));
    let start = Start {
        attachments: observer
            .attachments()
            .iter()
            .map(|a| StartAttachment {
                iface: a.iface.clone(),
                ifindex: a.ifindex,
                hook: a.hook,
            })
            .collect(),
    };
    match args.format {
        Format::Json => out.write("start", &start)?,
        Format::Text => {
            let names: Vec<String> = start
                .attachments
                .iter()
                .map(|a| format!("{}:{}", a.iface, a.hook))
                .collect();
            let _ = text_line!(io::stderr(), "v6probe: watching {}", names.join(", "));
        }
    }
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let started = std::time::Instant::now();
    let deadline = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut stats = Stats::default();
    let mut write_err: Option<io::Error> = None;
    let mut flood = FloodWatch::new(args.flood_guard.0);
    let mut flood_tick = tokio::time::interval(FLOOD_REPORT_EVERY);
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            r = observer.next_batch(|rec| batch.push(rec.to_record())) => { r?; }
            _ = flood_tick.tick() => {}
            _ = &mut deadline => break,
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        }
        if flood.due() {
            if let Err(e) =
                flood.report(&observer, &mut detector, args.format, &mut out, &mut stats)
            {
                write_err = Some(e);
                break;
            }
        }
        if let Err(e) = print_batch(
            &observer,
            &mut detector,
            &batch,
            args.format,
            &mut out,
            &mut stats,
        ) {
            write_err = Some(e);
            break;
        }
    }
    // Whatever arrived before the stop still gets printed: at most what the ring buffer held
    // then (the programs are still attached, so a flood could otherwise keep this going).
    let mut left = abi::RING_BYTES as usize / abi::ring_slot(0) as usize;
    while write_err.is_none() && left > 0 {
        let mut rest = Vec::new();
        let n = observer.drain(left.min(crate::observe::DRAIN_BATCH), |rec| {
            rest.push(rec.to_record())
        });
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n);
        if let Err(e) = print_batch(
            &observer,
            &mut detector,
            &rest,
            args.format,
            &mut out,
            &mut stats,
        ) {
            write_err = Some(e);
        }
    }
    if write_err.is_none() {
        if let Err(e) = flood.report(&observer, &mut detector, args.format, &mut out, &mut stats) {
            write_err = Some(e);
        }
    }
    let counters = observer.counters()?;
    stats.flood_sources = observer
        .flood_sources()
        .unwrap_or_else(|e| {
            tracing::warn!("reading the flood guard's table: {e}");
            Vec::new()
        })
        .into_iter()
        .take(FLOOD_SOURCES_LISTED)
        .collect();
    observer.stop();
    stats
        .kernel
        .insert("frames".into(), counter::frames(&counters).into());
    for (i, name) in counter::NAMES.iter().enumerate() {
        stats.kernel.insert((*name).into(), counters[i].into());
    }
    stats.drops = counters[counter::RINGBUF_DROPS as usize];
    finish(
        &mut detector,
        stats,
        started,
        write_err,
        args.format,
        &mut out,
    )
}

/// How often the kernel flood guard's counts are turned into alerts.
const FLOOD_REPORT_EVERY: Duration = Duration::from_secs(1);
/// Source MACs named per flood alert and in the `stats` line.
const FLOOD_SOURCES_LISTED: usize = 8;

/// Turns the kernel flood guard's counts (per class in the counters, per source MAC in its LRU
/// table) into `flood` alerts, once per [`FLOOD_REPORT_EVERY`]: what was counted since the
/// last report.
struct FloodWatch {
    guard: Option<FloodGuard>,
    last: Instant,
    class_seen: [u64; guard::COUNT as usize],
    mac_seen: HashMap<[u8; 6], u64>,
}

impl FloodWatch {
    fn new(guard: Option<FloodGuard>) -> Self {
        Self {
            guard,
            last: Instant::now(),
            class_seen: [0; guard::COUNT as usize],
            mac_seen: HashMap::new(),
        }
    }

    fn due(&self) -> bool {
        self.guard.is_some() && self.last.elapsed() >= FLOOD_REPORT_EVERY
    }

    fn report<W: Write>(
        &mut self,
        observer: &Observer,
        detector: &mut Detector,
        format: Format,
        out: &mut JsonLines<W>,
        stats: &mut Stats,
    ) -> io::Result<()> {
        let Some(g) = self.guard else { return Ok(()) };
        let window = self.last.elapsed();
        self.last = Instant::now();
        let counters = match observer.counters() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("reading the kernel counters: {e}");
                return Ok(());
            }
        };
        let mut deltas = [0u64; guard::COUNT as usize];
        for (i, d) in deltas.iter_mut().enumerate() {
            let now = counters[counter::FLOOD_RS as usize + i];
            *d = now.saturating_sub(self.class_seen[i]);
            self.class_seen[i] = now;
        }
        if deltas.iter().all(|d| *d == 0) {
            return Ok(());
        }
        // Per MAC: what each counted since the last report (an entry the kernel evicted and
        // re-created counts from zero again).
        let mut sources = Vec::new();
        match observer.flood_sources() {
            Ok(list) => {
                for s in list {
                    let before = self.mac_seen.insert(s.mac.0, s.suppressed).unwrap_or(0);
                    let d = if s.suppressed >= before {
                        s.suppressed - before
                    } else {
                        s.suppressed
                    };
                    if d > 0 {
                        sources.push(FloodSourceCount {
                            mac: s.mac,
                            suppressed: d,
                        });
                    }
                }
                // Bounded like the kernel table, whatever the churn.
                if self.mac_seen.len() > 4 * abi::GUARD_MACS as usize {
                    self.mac_seen.clear();
                }
            }
            Err(e) => tracing::warn!("reading the flood guard's table: {e}"),
        }
        sources.sort_by(|a, b| b.suppressed.cmp(&a.suppressed).then(a.mac.0.cmp(&b.mac.0)));
        sources.truncate(FLOOD_SOURCES_LISTED);
        let now = SystemTime::now();
        let mut alerts = Vec::new();
        for (i, &d) in deltas.iter().enumerate() {
            if d == 0 {
                continue;
            }
            let f = KernelFlood {
                guard_class: i as u8,
                name: guard::NAMES[i],
                suppressed: d,
                window,
                guard_rate: g.class.per_sec,
                sources: sources.clone(),
            };
            alerts.extend(detector.kernel_flood(&f, now));
        }
        stats.lines += detect::run::write_alerts(out, format, &alerts)?;
        Ok(())
    }
}

/// The common end of a live or replayed run: save the detection state, then print the `stats`
/// line. A closed stdout (`| head`) ends quietly; any other write error is reported.
fn finish<W: Write>(
    detector: &mut Detector,
    mut stats: Stats,
    started: std::time::Instant,
    write_err: Option<io::Error>,
    format: Format,
    out: &mut JsonLines<W>,
) -> Result<ExitCode> {
    stats.duration_s = started.elapsed().as_secs_f64();
    stats.detect = Some(detector.stats());
    let saved = detector.save().context("saving the detection state");
    match write_err {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Some(e) => return Err(e).context("writing to stdout"),
        None => {}
    }
    saved?;
    match format {
        Format::Json => out.write("stats", &stats)?,
        Format::Text => {
            let w = out.get_mut();
            if stats.capture.is_none() {
                text_line!(
                    &mut *w,
                    "-- {} records, {} lines, {} dropped in kernel, {:.1}s",
                    stats.records_read,
                    stats.lines,
                    stats.drops,
                    stats.duration_s
                )?;
            }
            if let Some(d) = &stats.detect {
                term::write_line(&mut *w, &detect::run::stats_text(d))?;
            }
            w.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_batch<W: Write>(
    observer: &Observer,
    detector: &mut Detector,
    batch: &[Record],
    format: Format,
    out: &mut JsonLines<W>,
    stats: &mut Stats,
) -> io::Result<()> {
    for rec in batch {
        stats.records_read += 1;
        let ts = observer.wall_time(rec.header.ts_ns);
        let packet =
            match Packet::from_record(&rec.view(), ts, observer.iface_name(rec.header.ifindex)) {
                Ok(p) => p,
                Err(e) => {
                    stats.records_undecodable += 1;
                    tracing::debug!("kernel record not decodable: {e}");
                    continue;
                }
            };
        judge_and_print(detector, &packet, ts, format, out, stats)?;
    }
    Ok(())
}

/// Runs the detector on one packet and prints its line (as `--events` says) and its alerts.
fn judge_and_print<W: Write>(
    detector: &mut Detector,
    packet: &Packet,
    ts: std::time::SystemTime,
    format: Format,
    out: &mut JsonLines<W>,
    stats: &mut Stats,
) -> io::Result<()> {
    let alerts = detector.observe(packet, ts);
    if detector.show_packet(packet) {
        match format {
            Format::Json => out.write("packet", packet)?,
            Format::Text => {
                let w = out.get_mut();
                term::write_line(&mut *w, &packet.text())?;
                w.flush()?;
            }
        }
        stats.lines += 1;
    }
    stats.lines += detect::run::write_alerts(out, format, &alerts)?;
    Ok(())
}

/// `monitor --pcap FILE`: the capture's frames through the same decoder and detector, with the
/// capture's timestamps, so a recorded incident can be re-judged offline. A damaged file: what
/// came before the damage is judged and printed, then the error names the byte offset.
fn replay(args: &Args, path: &std::path::Path) -> Result<ExitCode> {
    let mut detector = Detector::new(&args.detect).context("starting the detector")?;
    let reader =
        crate::capture::CaptureReader::open(path).with_context(|| format!("{}", path.display()))?;
    let stdout = io::stdout();
    let mut out = JsonLines::new(io::BufWriter::new(stdout.lock()));
    let started = std::time::Instant::now();
    let mut stats = Stats::default();
    let mut capture = CaptureStats {
        file: path.display().to_string(),
        ..CaptureStats::default()
    };
    let mut damage = None;
    let mut write_err = None;
    for item in reader {
        let frame = match item {
            Ok(f) => f,
            Err(e) => {
                damage = Some(e);
                break;
            }
        };
        capture.frames += 1;
        match frame.decode() {
            Ok(packet) => {
                stats.records_read += 1;
                if let Err(e) = judge_and_print(
                    &mut detector,
                    &packet,
                    frame.ts,
                    args.format,
                    &mut out,
                    &mut stats,
                ) {
                    write_err = Some(e);
                    break;
                }
            }
            Err(_) => capture.skipped += 1,
        }
    }
    stats.capture = Some(capture);
    let code = finish(
        &mut detector,
        stats,
        started,
        write_err,
        args.format,
        &mut out,
    )?;
    if let Some(e) = damage {
        return Err(e).with_context(|| format!("{}", path.display()));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flood_guard_argument() {
        assert_eq!(parse_flood_guard("off").unwrap(), FloodGuardArg(None));
        assert_eq!(parse_flood_guard("OFF").unwrap(), FloodGuardArg(None));
        assert_eq!(
            parse_flood_guard("500").unwrap(),
            FloodGuardArg(Some(FloodGuard::with_rate(500)))
        );
        for bad in ["0", "-1", "fast", "", "10000001"] {
            let e = parse_flood_guard(bad).unwrap_err();
            assert!(e.contains("off"), "{bad}: {e}");
        }
    }
}
