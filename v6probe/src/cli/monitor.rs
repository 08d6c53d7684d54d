//! `v6probe monitor`: attach the kernel programs, print one line per NDP / ICMPv6-error packet,
//! and a final `stats` line with the counters. Everything attached is detached on exit (SIGINT,
//! SIGTERM, `--duration`, or an error).
use std::{
    collections::BTreeMap,
    io::{self, Write},
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use serde::Serialize;
use tokio::signal::unix::{signal, SignalKind};
use v6probe_common::abi::{self, class, counter, Record};

use crate::{
    detect::{self, DetectArgs, Detector},
    metrics::{http::MetricsServer, IfaceState, SinkTotals, Tally, Telemetry, Totals},
    observe::{HookSel, KernelLog, KernelLogSink, Observer, ObserverConfig, XdpModeSel},
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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Print a `stats` line (totals, and what changed since the last one) this often; 0: only
    /// the final one at exit.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub stats_interval: u64,
    /// Serve Prometheus metrics on `/metrics` and a health check on `/healthz` at this address
    /// (e.g. `[::]:9478`; port 0 picks a free one, logged at info level).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "pcap")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub detect: DetectArgs,
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
    /// `false` for the periodic lines (`--stats-interval`), `true` for the one at exit.
    #[serde(rename = "final")]
    is_final: bool,
    /// Kernel counters summed over CPUs (live monitoring).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    kernel: BTreeMap<&'static str, u64>,
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
    duration_s: f64,
    /// Detection engine figures (bindings, evictions, alerts by code).
    detect: Option<detect::EngineStats>,
    /// Per sink: lines and bytes written, errors, lines dropped, lines queued now.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    sinks: BTreeMap<String, SinkTotals>,
    /// Seconds since the previous `stats` line (live monitoring).
    #[serde(skip_serializing_if = "Option::is_none")]
    interval_s: Option<f64>,
    /// What changed since the previous `stats` line (live monitoring).
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<Totals>,
}

impl Stats {
    /// A live run's line from the shared figures; `prev` is the previous line's totals and
    /// when it was printed.
    fn live(t: &Telemetry, prev: &mut (Totals, Instant), is_final: bool) -> Self {
        let totals = t.totals();
        let delta = totals.delta(&prev.0);
        let interval = prev.1.elapsed();
        let mut kernel = totals.kernel.clone();
        if !kernel.is_empty() {
            let frames = kernel.get("non_ipv6").copied().unwrap_or(0)
                + kernel.get("ipv6").copied().unwrap_or(0);
            kernel.insert("frames", frames);
        }
        let s = Self {
            is_final,
            kernel,
            capture: None,
            records_read: totals.records_read,
            records_undecodable: totals.records_undecodable,
            lines: totals.lines,
            drops: totals.drops,
            duration_s: t.uptime().as_secs_f64(),
            detect: None,
            sinks: totals.sinks.clone(),
            interval_s: Some(interval.as_secs_f64()),
            delta: Some(delta),
        };
        *prev = (totals, Instant::now());
        s
    }
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

/// The `hook` label of a record: `xdp`, `tc_ingress` or `tc_egress` (as in the `start` line).
fn hook_label(rec: &Record) -> &'static str {
    match (rec.header.hook, rec.header.direction) {
        (abi::hook::TC, abi::direction::EGRESS) => "tc_egress",
        (abi::hook::TC, _) => "tc_ingress",
        _ => "xdp",
    }
}

/// The kernel counters with their names, for the telemetry.
fn named_counters(c: &[u64; counter::COUNT as usize]) -> Vec<(&'static str, u64)> {
    counter::NAMES
        .iter()
        .copied()
        .zip(c.iter().copied())
        .collect()
}

/// What woke the reader's loop.
enum Wake {
    Batch,
    Tick,
    Stop,
}

async fn run(args: Args) -> Result<ExitCode> {
    let telemetry = Telemetry::new();
    // Bound before anything is attached: a taken port stops the start, not a running monitor.
    let metrics = args
        .metrics_listen
        .map(|addr| MetricsServer::start(addr, Arc::clone(&telemetry)))
        .transpose()?;
    if let Some(m) = &metrics {
        tracing::info!(addr = %m.local_addr(), "serving /metrics and /healthz");
    }
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
    };
    let mut observer = Observer::start(&config)?;
    tracing::info!(attachments = ?observer.attachments(), "attached");
    for a in observer.attachments() {
        telemetry.set_interface(&a.iface, IfaceState::Attached);
    }
    telemetry.reader_alive();
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
    let deadline = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    // Once a second: the kernel counters and detector figures for metrics, the health
    // heartbeat, and the periodic stats line when it is due.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stats_every = (args.stats_interval > 0).then(|| Duration::from_secs(args.stats_interval));
    let mut prev = (Totals::default(), Instant::now());
    let mut tally = Tally::default();
    let mut write_err: Option<io::Error> = None;
    let mut batch = Vec::new();
    loop {
        batch.clear();
        let wake = tokio::select! {
            r = observer.next_batch(|rec| batch.push(rec.to_record())) => { r?; Wake::Batch }
            _ = tick.tick() => Wake::Tick,
            _ = &mut deadline => Wake::Stop,
            _ = sigint.recv() => Wake::Stop,
            _ = sigterm.recv() => Wake::Stop,
        };
        let res = match wake {
            Wake::Stop => break,
            Wake::Batch => {
                let r = print_batch(
                    &observer,
                    &mut detector,
                    &batch,
                    args.format,
                    &mut out,
                    &mut tally,
                );
                telemetry.add(&mut tally, |i| observer.iface_name(i));
                r
            }
            Wake::Tick => {
                telemetry.set_kernel(named_counters(&observer.counters()?));
                telemetry.set_detect(detector.stats());
                telemetry.reader_alive();
                match stats_every {
                    Some(every) if prev.1.elapsed() >= every => {
                        let mut st = Stats::live(&telemetry, &mut prev, false);
                        st.detect = Some(detector.stats());
                        write_stats(&st, args.format, &mut out)
                    }
                    _ => Ok(()),
                }
            }
        };
        if let Err(e) = res {
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
            &mut tally,
        ) {
            write_err = Some(e);
        }
        telemetry.add(&mut tally, |i| observer.iface_name(i));
    }
    telemetry.set_kernel(named_counters(&observer.counters()?));
    observer.stop();
    let stats = Stats::live(&telemetry, &mut prev, true);
    let code = finish(&mut detector, stats, write_err, args.format, &mut out);
    if let Some(m) = metrics {
        m.stop();
    }
    code
}

/// Prints a `stats` line (JSON, or `-- ...` text lines).
fn write_stats<W: Write>(stats: &Stats, format: Format, out: &mut JsonLines<W>) -> io::Result<()> {
    match format {
        Format::Json => out.write("stats", stats),
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
            w.flush()
        }
    }
}

/// The common end of a live or replayed run: save the detection state, then print the final
/// `stats` line. A closed stdout (`| head`) ends quietly; any other write error is reported.
fn finish<W: Write>(
    detector: &mut Detector,
    mut stats: Stats,
    write_err: Option<io::Error>,
    format: Format,
    out: &mut JsonLines<W>,
) -> Result<ExitCode> {
    stats.is_final = true;
    stats.detect = Some(detector.stats());
    let saved = detector.save().context("saving the detection state");
    match write_err {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Some(e) => return Err(e).context("writing to stdout"),
        None => {}
    }
    saved?;
    write_stats(&stats, format, out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_batch<W: Write>(
    observer: &Observer,
    detector: &mut Detector,
    batch: &[Record],
    format: Format,
    out: &mut JsonLines<W>,
    tally: &mut Tally,
) -> io::Result<()> {
    for rec in batch {
        let ts = observer.wall_time(rec.header.ts_ns);
        let packet =
            match Packet::from_record(&rec.view(), ts, observer.iface_name(rec.header.ifindex)) {
                Ok(p) => p,
                Err(e) => {
                    tally.undecodable();
                    tracing::debug!("kernel record not decodable: {e}");
                    continue;
                }
            };
        tally.record(
            rec.header.ifindex,
            hook_label(rec),
            packet.frame.icmp6.as_ref().map_or("fragment", |m| m.name),
        );
        judge_and_print(detector, &packet, ts, format, out, tally)?;
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
    tally: &mut Tally,
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
        tally.line("packet");
    }
    for a in &alerts {
        tally.alert(a.code.code(), a.severity.as_str(), a.iface.as_deref());
        tally.line("alert");
    }
    detect::run::write_alerts(out, format, &alerts)?;
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
    let mut tally = Tally::default();
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
                    &mut tally,
                ) {
                    write_err = Some(e);
                    break;
                }
            }
            Err(_) => capture.skipped += 1,
        }
    }
    stats.capture = Some(capture);
    stats.lines = tally.lines_total();
    stats.duration_s = started.elapsed().as_secs_f64();
    let code = finish(&mut detector, stats, write_err, args.format, &mut out)?;
    if let Some(e) = damage {
        return Err(e).with_context(|| format!("{}", path.display()));
    }
    Ok(code)
}
