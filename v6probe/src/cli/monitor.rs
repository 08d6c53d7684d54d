//! `v6probe monitor`: attach the kernel programs and report one line per NDP / ICMPv6-error
//! packet and per alert, to stdout, rotating files and syslog (`sink`); a `stats` line every
//! `--stats-interval` seconds and a final one; Prometheus metrics and a health check with
//! `--metrics-listen`. Everything attached is detached on exit (SIGINT, SIGTERM, `--duration`,
//! or an error), after every sink has written what it holds.
use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context as _, Result};
use serde::Serialize;
use tokio::signal::unix::{signal, SignalKind};
use v6probe_common::abi::{self, class, counter, guard, FloodGuard, RecordHeader, RecordRef};

use super::respond::{Countermeasures, RespondArgs};
use crate::{
    detect::{self, alert::FloodSourceCount, Alert, DetectArgs, Detector, KernelFlood, Severity},
    metrics::{http::MetricsServer, IfaceState, SinkTotals, Tally, Telemetry, Totals},
    observe::{
        FloodSource, HookSel, KernelLog, KernelLogSink, Observer, ObserverConfig, XdpModeSel,
    },
    output::Format,
    packet::Packet,
    service::{self, links::LinkEvents, Systemd},
    sink::{
        self,
        file::{FileWriter, Rotation},
        pcapng::PcapngWriter,
        severity,
        stdout::StdoutWriter,
        syslog::{SyslogWriter, Target},
        Emitter, FrameMeta, SinkHandle, SinkSpec,
    },
    term, text_line,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface to watch (repeat for several).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present_any = ["pcap", "config"]
    )]
    pub interfaces: Vec<String>,
    /// Start even if an --interface does not exist yet, and attach when it appears (an
    /// `interface` line says `waiting`, then `back`).
    #[arg(long, conflicts_with = "pcap")]
    pub wait_for_interface: bool,
    /// Read flags from this TOML file: each key is a flag without its `--`
    /// (`interface = ["eth0"]`, `rotate-size = "100M"`); the command line overrides it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Replay a pcap/pcapng capture through the same decoder and detector, with the capture's
    /// timestamps, instead of watching interfaces (offline; no privileges needed).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["interfaces", "duration"])]
    pub pcap: Option<std::path::PathBuf>,
    /// Hooks: `auto` (per interface: `tc` on a veth, whose XDP native mode costs the sending
    /// side; `both` on any other link), `xdp` (ingress), `tc` (ingress and egress), `both` (XDP
    /// ingress + TC egress, also on a veth).
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
    /// Count every frame the kernel programs see (`frames`, `non_ipv6`, `ipv6` in the stats
    /// and metrics). Off by default: other traffic then leaves the kernel programs before any
    /// map is touched (the interfaces' own counters, `ip -s link`, count frames).
    #[arg(long)]
    pub count_frames: bool,
    /// Output format of stdout and file outputs (syslog messages are always JSON).
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
    /// Where the lines go (repeatable): `stdout` (the default when no --output is given) or
    /// `file:PATH` (appended to; SIGHUP reopens it).
    #[arg(long = "output", value_name = "SINK")]
    pub outputs: Vec<Output>,
    /// Rotate each file output before a line would take it past this size: bytes, or a number
    /// with K, M or G (powers of 1024). Rotated files are PATH.1 (newest), PATH.2, ...
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub rotate_size: Option<u64>,
    /// Rotated files kept per file output (0: none).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub rotate_keep: usize,
    /// gzip rotated files (PATH.1.gz, ...).
    #[arg(long)]
    pub rotate_compress: bool,
    /// Send alerts, `interface` and `response` lines to syslog as RFC 5424 messages (repeatable):
    /// `udp://HOST:PORT`, `tcp://HOST:PORT` (RFC 6587 octet counting) or `unix:PATH`.
    #[arg(long, value_name = "URL")]
    pub syslog: Vec<Target>,
    /// Also send packet lines to syslog.
    #[arg(long)]
    pub syslog_events: bool,
    /// Syslog facility: kern, user, mail, daemon, auth, syslog, local0 ... local7.
    #[arg(long, value_name = "NAME", default_value = "daemon", value_parser = parse_facility)]
    pub syslog_facility: u8,
    /// Lines each sink may hold while it cannot keep up or reconnects; beyond that, lines are
    /// dropped and counted per sink (stats, metrics). The reader never waits for a sink.
    #[arg(long, value_name = "LINES", default_value_t = 16384)]
    pub sink_queue: usize,
    /// Like --sink-queue, for each syslog destination (default: the --sink-queue value).
    #[arg(long, value_name = "LINES")]
    pub syslog_queue: Option<usize>,
    /// Write the frames the kernel reported, byte for byte, to rotating pcapng files in DIR
    /// (`v6probe.pcapng`, then `.1` newest ...), with interface names, directions, kernel
    /// timestamps, and the alerts a frame raised as its packet comment.
    #[arg(long, value_name = "DIR", conflicts_with = "pcap")]
    pub pcapng: Option<PathBuf>,
    /// Rotate the pcapng file before a frame would take it past this size (bytes, K/M/G).
    #[arg(long, value_name = "SIZE", default_value = "100M", value_parser = parse_size)]
    pub pcapng_size: u64,
    /// Rotated pcapng files kept.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub pcapng_keep: usize,
    #[command(flatten)]
    pub detect: DetectArgs,
    #[command(flatten)]
    pub respond: RespondArgs,
}

/// An `--output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl std::str::FromStr for Output {
    type Err = sink::SinkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stdout" | "-" => Ok(Self::Stdout),
            _ => match s.strip_prefix("file:") {
                Some(p) if !p.is_empty() => Ok(Self::File(PathBuf::from(p))),
                _ => Err(sink::SinkError::OutputSpec(s.to_string())),
            },
        }
    }
}

fn parse_size(s: &str) -> std::result::Result<u64, String> {
    sink::parse_size(s).map_err(|e| e.to_string())
}

fn parse_facility(s: &str) -> std::result::Result<u8, String> {
    sink::syslog::facility(s).map_err(|e| e.to_string())
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
    /// Source MACs the kernel's flood guard counted frames from, most first (live monitoring
    /// with the guard on).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flood_sources: Vec<FloodSource>,
    duration_s: f64,
    /// Detection engine figures (bindings, evictions, alerts by code).
    detect: Option<detect::EngineStats>,
    /// Countermeasures (`--respond`).
    #[serde(skip_serializing_if = "Option::is_none")]
    respond: Option<crate::respond::RespondStats>,
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
        // Only when the kernel counted every frame (`--count-frames`).
        if let (Some(a), Some(b)) = (kernel.get("non_ipv6"), kernel.get("ipv6")) {
            let frames = a + b;
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
            flood_sources: Vec::new(),
            duration_s: t.uptime().as_secs_f64(),
            detect: None,
            respond: None,
            sinks: totals.sinks.clone(),
            interval_s: Some(interval.as_secs_f64()),
            delta: Some(delta),
        };
        *prev = (totals, Instant::now());
        s
    }

    /// The `--format text` form: `-- ...` lines, each escaped for a terminal.
    fn text(&self, out: &mut Vec<u8>) {
        let mut lines = Vec::new();
        if self.capture.is_none() {
            lines.push(format!(
                "-- {} records, {} lines, {} dropped in kernel, {:.1}s",
                self.records_read, self.lines, self.drops, self.duration_s
            ));
            for (name, s) in &self.sinks {
                lines.push(format!(
                    "-- sink {name}: {} lines, {} errors, {} dropped",
                    s.lines, s.errors, s.dropped
                ));
            }
        }
        if let Some(d) = &self.detect {
            lines.push(detect::run::stats_text(d));
        }
        if let Some(r) = &self.respond {
            let sent: u64 = r.sent.values().sum();
            lines.push(format!(
                "-- respond: {sent} sent, {} failed, {} rate limited, {} incidents open",
                r.failed, r.rate_limited, r.incidents
            ));
        }
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(term::escape(l).as_bytes());
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct CaptureStats {
    file: String,
    frames: u64,
    skipped: u64,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let args = match &args.config {
        Some(path) => match with_config(path) {
            Ok(a) => a,
            Err(code) => return Ok(code),
        },
        None => args,
    };
    if args.interfaces.is_empty() && args.pcap.is_none() {
        eprintln!("v6probe monitor: give --interface (or `interface` in the --config file)");
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    if let Some(path) = args.pcap.clone() {
        return replay(&args, &path);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run(args))
}

/// The monitor's arguments: the config file's flags, under those of the command line (a flag
/// set there, even a repeatable one, replaces the file's). A bad file is a usage error (64)
/// naming `file:line:column`.
fn with_config(path: &std::path::Path) -> std::result::Result<Args, ExitCode> {
    use clap::{parser::ValueSource, CommandFactory as _, Parser as _};
    let usage = ExitCode::from(super::EXIT_USAGE);
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = super::Cli::command();
    let matches = cmd.try_get_matches_from_mut(&argv).map_err(|e| {
        let _ = e.print();
        usage
    })?;
    let Some(("monitor", sub)) = matches.subcommand() else {
        return Err(usage);
    };
    let given = sub
        .ids()
        .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.to_string())
        .collect();
    cmd.build();
    let Some(monitor) = cmd.find_subcommand("monitor") else {
        return Err(usage);
    };
    let extra = crate::service::config::args_from_file(path, monitor, &given).map_err(|e| {
        let _ = text_line!(std::io::stderr(), "v6probe monitor: --config {e}");
        usage
    })?;
    let Some(pos) = argv.iter().position(|a| a == "monitor") else {
        return Err(usage);
    };
    let mut merged = argv[..=pos].to_vec();
    merged.extend(extra);
    merged.extend_from_slice(&argv[pos + 1..]);
    match super::Cli::try_parse_from(merged) {
        Ok(super::Cli {
            command: super::Command::Monitor(a),
            ..
        }) => Ok(*a),
        Ok(_) => Err(usage),
        Err(e) => {
            let _ = e.print();
            Err(usage)
        }
    }
}

/// Starts the sinks `args` ask for (stdout when no --output is given).
fn start_sinks(args: &Args) -> Result<Vec<SinkHandle>> {
    let text = args.format == Format::Text;
    let outputs = if args.outputs.is_empty() {
        vec![Output::Stdout]
    } else {
        args.outputs.clone()
    };
    let rotation = args.rotate_size.map(|size| Rotation {
        size,
        keep: args.rotate_keep,
        compress: args.rotate_compress,
    });
    let mut specs = Vec::new();
    for o in outputs {
        specs.push(match o {
            Output::Stdout => SinkSpec {
                name: "stdout".into(),
                want: sink::ALL_KINDS,
                text,
                writer: Box::new(StdoutWriter::new(text)),
            },
            Output::File(path) => SinkSpec {
                name: format!("file:{}", path.display()),
                want: sink::ALL_KINDS,
                text,
                writer: Box::new(FileWriter::new(path, text, rotation.clone())),
            },
        });
    }
    let mut syslog_kinds = vec!["alert", "interface", "response"];
    if args.syslog_events {
        syslog_kinds.push("packet");
    }
    if let Some(dir) = &args.pcapng {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--pcapng: creating {}", dir.display()))?;
        specs.push(SinkSpec {
            name: format!("pcapng:{}", dir.display()),
            want: sink::FRAME_BIT,
            text: false,
            writer: Box::new(PcapngWriter::new(dir, args.pcapng_size, args.pcapng_keep)),
        });
    }
    let mut handles = specs
        .into_iter()
        .map(|s| SinkHandle::start(s, args.sink_queue))
        .collect::<Result<Vec<_>, _>>()?;
    for t in &args.syslog {
        let spec = SinkSpec {
            name: format!("syslog:{t}"),
            want: sink::kinds(&syslog_kinds),
            text: false,
            writer: Box::new(SyslogWriter::new(t.clone(), args.syslog_facility)),
        };
        handles.push(SinkHandle::start(
            spec,
            args.syslog_queue.unwrap_or(args.sink_queue),
        )?);
    }
    Ok(handles)
}

/// The `hook` label of a record: `xdp`, `tc_ingress` or `tc_egress` (as in the `start` line).
fn hook_label(h: &RecordHeader) -> &'static str {
    match (h.hook, h.direction) {
        (abi::hook::TC, abi::direction::EGRESS) => "tc_egress",
        (abi::hook::TC, _) => "tc_ingress",
        _ => "xdp",
    }
}

/// An alert's RFC 5424 severity.
fn alert_severity(a: &Alert) -> u8 {
    match a.severity {
        Severity::High => severity::CRIT,
        Severity::Medium => severity::WARNING,
        Severity::Low => severity::NOTICE,
    }
}

/// What woke the reader's loop.
enum Wake {
    Batch,
    /// Lines held back ([`HANDOVER_DELAY`]) are due.
    Handover,
    Links,
    Tick,
    Reopen,
    Stop,
}

/// While records keep coming, the lines are handed to the sinks once this much is pending
/// (or [`HANDOVER_DELAY`] after the previous hand-over), not after every read of the ring
/// buffer: a reader that keeps up with a flood reads a few dozen records at a time, and a
/// hand-over per read woke the sink threads (a context switch and a `write` each) thousands
/// of times a second. Reads further apart than the delay hand over at once.
const HANDOVER_BYTES: usize = 256 * 1024;

/// The longest a line waits in the reader before the sinks get it (a timer hands over what
/// is left when the records stop).
const HANDOVER_DELAY: Duration = Duration::from_millis(5);

/// How long the sinks get at exit to write what they hold.
const SINK_CLOSE: Duration = Duration::from_secs(5);

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
    // A state file that cannot be read is moved aside (and alerted on once the sinks run):
    // a restart loop over it would leave the host unwatched.
    let set_aside = args
        .detect
        .state
        .as_deref()
        .and_then(service::set_aside_unreadable_state);
    let set_aside = set_aside.map(|s| {
        let a = StateUnreadable::new(&s);
        tracing::error!("{}", a.message);
        a
    });
    let mut detector = Detector::new(&args.detect).context("starting the detector")?;
    let mut respond = Countermeasures::start(
        &args.respond,
        &args.detect,
        &args.interfaces,
        args.wait_for_interface,
    )?;
    let mut systemd = Systemd::new();
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
        count_frames: args.count_frames,
        wait_for_interfaces: args.wait_for_interface,
    };
    let mut observer = Observer::start(&config)?;
    tracing::info!(attachments = ?observer.attachments(), "attached");
    let mut watched = Watched::new(&args.interfaces, &observer, &telemetry);
    // Subscribed before anything can change: a link event between the attach and this
    // point is also caught by the once-a-second comparison.
    let mut links = LinkEvents::subscribe().context("subscribing to rtnetlink link events")?;
    telemetry.reader_alive();
    let mut out = Emitter::new(start_sinks(&args)?, &telemetry);
    let mut tally = Tally::default();
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
    if args.format == Format::Text {
        let names: Vec<String> = start
            .attachments
            .iter()
            .map(|a| format!("{}:{}", a.iface, a.hook))
            .collect();
        let _ = text_line!(std::io::stderr(), "v6probe: watching {}", names.join(", "));
    }
    out.line("start", &start, severity::INFO, "start", |_| {})?;
    tally.line("start");
    if let Some(a) = &set_aside {
        out.line("alert", &a, severity::CRIT, "state_unreadable", |b| {
            b.extend_from_slice(term::escape(&a.text()).as_bytes())
        })?;
        tally.alert("state_unreadable", "high", None);
        tally.line("alert");
    }
    watched.report_waiting(&mut out, &mut tally)?;
    out.flush();
    telemetry.add(&mut tally, |i| observer.iface_name(i));
    systemd.ready(&format!("watching {}", args.interfaces.join(", ")));
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let deadline = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    // Once a second: the kernel counters and detector figures for metrics, the health
    // heartbeat, and the periodic stats line when it is due.
    let mut tick = tokio::time::interval(
        systemd
            .watchdog_interval()
            .map_or(Duration::from_secs(1), |w| w.min(Duration::from_secs(1))),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stats_every = (args.stats_interval > 0).then(|| Duration::from_secs(args.stats_interval));
    let mut prev = (Totals::default(), Instant::now());
    let mut flood = FloodWatch::new(args.flood_guard.0);
    let mut batch = Records::default();
    // The packet of the record before: the next one is decoded into it, in place.
    let mut slot = None;
    // Lines wait for their hand-over (HANDOVER_BYTES, HANDOVER_DELAY): `handover` is due
    // HANDOVER_DELAY after the last one, and wakes the loop only while lines are pending.
    let mut handed_at = tokio::time::Instant::now();
    let handover = tokio::time::sleep(HANDOVER_DELAY);
    tokio::pin!(handover);
    loop {
        batch.clear();
        let wake = tokio::select! {
            r = observer.next_batch(|rec| batch.push(&rec)) => { r?; Wake::Batch }
            () = &mut handover, if out.pending_bytes() > 0 => Wake::Handover,
            _ = tick.tick() => Wake::Tick,
            Some(()) = links.changed() => Wake::Links,
            _ = sighup.recv() => Wake::Reopen,
            _ = &mut deadline => Wake::Stop,
            _ = sigint.recv() => Wake::Stop,
            _ = sigterm.recv() => Wake::Stop,
        };
        match wake {
            Wake::Stop => break,
            Wake::Batch => {
                judge_batch(
                    &observer,
                    &mut detector,
                    respond.as_mut(),
                    &batch,
                    &mut slot,
                    &mut out,
                    &mut tally,
                )?;
                // Records far apart (the reader slept in between) go at once, as do a full
                // hand-over's worth; reads in quick succession wait for the next hand-over.
                let now = tokio::time::Instant::now();
                if out.pending_bytes() >= HANDOVER_BYTES || now >= handed_at + HANDOVER_DELAY {
                    out.flush();
                    telemetry.add(&mut tally, |i| observer.iface_name(i));
                    handed_at = now;
                    handover.as_mut().reset(now + HANDOVER_DELAY);
                }
            }
            Wake::Handover => {
                out.flush();
                telemetry.add(&mut tally, |i| observer.iface_name(i));
                handed_at = tokio::time::Instant::now();
                handover.as_mut().reset(handed_at + HANDOVER_DELAY);
            }
            Wake::Links => {
                watched.reconcile(&mut observer, &telemetry, &mut out, &mut tally)?;
                out.flush();
                telemetry.add(&mut tally, |i| observer.iface_name(i));
            }
            Wake::Reopen => {
                systemd.reloading();
                match detector.reload_policy() {
                    Ok(true) => {
                        tracing::info!("SIGHUP: policy reloaded");
                        if let Some(Err(e)) = respond.as_mut().map(Countermeasures::reload) {
                            telemetry.policy_reload_failed();
                            let _ = text_line!(
                                std::io::stderr(),
                                "v6probe: SIGHUP: keeping the responses in force: {e:#}"
                            );
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        telemetry.policy_reload_failed();
                        let _ = text_line!(
                            std::io::stderr(),
                            "v6probe: SIGHUP: keeping the policy in force: {e}"
                        );
                    }
                }
                tracing::info!("SIGHUP: reopening the output files");
                out.reopen();
                systemd.reloaded();
            }
            Wake::Tick => {
                telemetry.set_kernel(observer.named_counters()?);
                telemetry.set_detect(detector.stats());
                telemetry.reader_alive();
                systemd.alive();
                // Catches what the link events may have missed (a full netlink buffer).
                if watched.reconcile(&mut observer, &telemetry, &mut out, &mut tally)? {
                    out.flush();
                    telemetry.add(&mut tally, |i| observer.iface_name(i));
                }
                if flood.due() {
                    flood.report(&observer, &mut detector, &mut out, &mut tally)?;
                    out.flush();
                    telemetry.add(&mut tally, |i| observer.iface_name(i));
                }
                if stats_every.is_some_and(|every| prev.1.elapsed() >= every) {
                    let mut st = Stats::live(&telemetry, &mut prev, false);
                    st.detect = Some(detector.stats());
                    st.respond = respond.as_ref().map(Countermeasures::stats);
                    out.line("stats", &st, severity::INFO, "stats", |b| st.text(b))?;
                    tally.line("stats");
                    out.flush();
                    telemetry.add(&mut tally, |i| observer.iface_name(i));
                }
            }
        }
        if out.gone().is_some() {
            // stdout's reader went away (`| head`): end quietly.
            break;
        }
    }
    // Lines held for their hand-over go now.
    out.flush();
    telemetry.add(&mut tally, |i| observer.iface_name(i));
    // Whatever arrived before the stop is still judged: at most what the ring buffer held
    // then (the programs are still attached, so a flood could otherwise keep this going).
    let mut left = abi::RING_BYTES as usize / abi::ring_slot(0) as usize;
    while out.gone().is_none() && left > 0 {
        let mut rest = Records::default();
        let n = observer.drain(left.min(crate::observe::DRAIN_BATCH), |rec| rest.push(&rec));
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n);
        judge_batch(
            &observer,
            &mut detector,
            respond.as_mut(),
            &rest,
            &mut slot,
            &mut out,
            &mut tally,
        )?;
        out.flush();
        telemetry.add(&mut tally, |i| observer.iface_name(i));
    }
    if out.gone().is_none() {
        flood.report(&observer, &mut detector, &mut out, &mut tally)?;
        out.flush();
        telemetry.add(&mut tally, |i| observer.iface_name(i));
    }
    telemetry.set_kernel(observer.named_counters()?);
    let flood_sources: Vec<FloodSource> = observer
        .flood_sources()
        .unwrap_or_else(|e| {
            tracing::warn!("reading the flood guard's table: {e}");
            Vec::new()
        })
        .into_iter()
        .take(FLOOD_SOURCES_LISTED)
        .collect();
    systemd.stopping();
    observer.stop();
    // The sinks write what they hold first, so the final figures are final.
    out.settle(SINK_CLOSE);
    let mut stats = Stats::live(&telemetry, &mut prev, true);
    stats.flood_sources = flood_sources;
    stats.respond = respond.as_ref().map(Countermeasures::stats);
    let code = finish(&mut detector, stats, out, &mut tally);
    if let Some(m) = metrics {
        m.stop();
    }
    code
}

/// How often the kernel flood guard's counts are turned into alerts.
const FLOOD_REPORT_EVERY: Duration = Duration::from_secs(1);
/// Source MACs named per flood alert and in the `stats` line.
const FLOOD_SOURCES_LISTED: usize = 8;

/// Turns the kernel flood guard's counts (per class in the counters, per source MAC in its
/// table) into `flood` alerts, once per [`FLOOD_REPORT_EVERY`]: what was counted since the
/// last report.
struct FloodWatch {
    guard: Option<FloodGuard>,
    last: Instant,
    class_seen: [u64; guard::COUNT as usize],
    /// Suppressions the kernel attributed to a MAC in its table, at the last report.
    tracked_seen: u64,
    mac_seen: HashMap<[u8; 6], u64>,
}

impl FloodWatch {
    fn new(guard: Option<FloodGuard>) -> Self {
        Self {
            guard,
            last: Instant::now(),
            class_seen: [0; guard::COUNT as usize],
            tracked_seen: 0,
            mac_seen: HashMap::new(),
        }
    }

    fn due(&self) -> bool {
        self.guard.is_some() && self.last.elapsed() >= FLOOD_REPORT_EVERY
    }

    fn report(
        &mut self,
        observer: &Observer,
        detector: &mut Detector,
        out: &mut Emitter,
        tally: &mut Tally,
    ) -> Result<()> {
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
        // re-created counts from zero again). The table is walked only when the kernel
        // attributed suppressions to a MAC in it since the last report: under a flood with a
        // new source MAC per frame every suppression is untracked, and a walk of a full table
        // (a syscall per slot) would be most of the monitor's work.
        let tracked = counters[counter::FLOOD_SUPPRESSED as usize]
            .saturating_sub(counters[counter::FLOOD_UNTRACKED as usize]);
        let walk = tracked != self.tracked_seen;
        self.tracked_seen = tracked;
        let mut sources = Vec::new();
        match walk.then(|| observer.flood_sources()) {
            None => {}
            Some(Ok(list)) => {
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
            Some(Err(e)) => tracing::warn!("reading the flood guard's table: {e}"),
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
        emit_alerts(&alerts, out, tally)
    }
}

/// An `interface` line: a watched interface went away, came back, or is not there yet.
#[derive(Debug, Serialize)]
struct IfaceEvent<'a> {
    ts: String,
    iface: &'a str,
    /// `gone`, `back` or `waiting`.
    event: &'static str,
    /// The interface index it had (`gone`) or has now (`back`).
    #[serde(skip_serializing_if = "Option::is_none")]
    ifindex: Option<u32>,
    /// The hooks attached now (`back`) or lost (`gone`).
    hooks: Vec<&'static str>,
    /// Why attaching failed, when it did (the monitor tries again).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The watched interfaces and where each stands.
struct Watched {
    ifaces: Vec<(String, IfaceState, u32, Vec<&'static str>)>,
    /// The last attach error per interface, said once.
    failing: HashMap<String, String>,
}

impl Watched {
    fn new(names: &[String], observer: &Observer, telemetry: &Telemetry) -> Self {
        let mut ifaces = Vec::new();
        for n in names {
            let att: Vec<&crate::observe::Attachment> = observer
                .attachments()
                .iter()
                .filter(|a| &a.iface == n)
                .collect();
            let (state, idx) = match att.first() {
                Some(a) => (IfaceState::Attached, a.ifindex),
                None => (IfaceState::Waiting, 0),
            };
            telemetry.set_interface(n, state);
            ifaces.push((n.clone(), state, idx, att.iter().map(|a| a.hook).collect()));
        }
        Self {
            ifaces,
            failing: HashMap::new(),
        }
    }

    fn emit(out: &mut Emitter, tally: &mut Tally, ev: &IfaceEvent<'_>) -> Result<()> {
        let sev = if ev.event == "gone" || ev.error.is_some() {
            severity::WARNING
        } else {
            severity::NOTICE
        };
        out.line("interface", ev, sev, "interface", |b| {
            let mut t = format!(
                "{} {:<8} INTERFACE {} {}",
                ev.ts,
                ev.iface,
                ev.event,
                ev.hooks.join(",")
            );
            if let Some(e) = &ev.error {
                t.push_str(&format!(" ({e})"));
            }
            b.extend_from_slice(term::escape(&t).as_bytes())
        })?;
        tally.line("interface");
        Ok(())
    }

    /// `waiting` lines for the interfaces that did not exist at start.
    fn report_waiting(&self, out: &mut Emitter, tally: &mut Tally) -> Result<()> {
        for (name, state, _, _) in &self.ifaces {
            if *state == IfaceState::Waiting {
                let ev = IfaceEvent {
                    ts: crate::output::rfc3339_nanos(SystemTime::now()),
                    iface: name,
                    event: "waiting",
                    ifindex: None,
                    hooks: Vec::new(),
                    error: None,
                };
                Self::emit(out, tally, &ev)?;
            }
        }
        Ok(())
    }

    /// Compares each watched name with the interfaces that exist: one that vanished (or now
    /// has another index: deleted and created again) is detached and reported `gone`; one that
    /// (re)appeared is attached and reported `back`. Returns whether anything changed.
    fn reconcile(
        &mut self,
        observer: &mut Observer,
        telemetry: &Telemetry,
        out: &mut Emitter,
        tally: &mut Tally,
    ) -> Result<bool> {
        let mut changed = false;
        for (name, state, idx, hooks) in &mut self.ifaces {
            let now = crate::observe::ifindex(name).unwrap_or(0);
            if *state == IfaceState::Attached && now != *idx {
                observer.detach(name);
                let ev = IfaceEvent {
                    ts: crate::output::rfc3339_nanos(SystemTime::now()),
                    iface: name,
                    event: "gone",
                    ifindex: Some(*idx),
                    hooks: std::mem::take(hooks),
                    error: None,
                };
                tracing::warn!("interface {name} is gone; attaching again when it returns");
                // /healthz says so before the line can be read.
                *state = IfaceState::Gone;
                telemetry.set_interface(name, *state);
                Self::emit(out, tally, &ev)?;
                changed = true;
            }
            if *state != IfaceState::Attached && now != 0 {
                match observer.attach(name) {
                    Ok(att) => {
                        *idx = now;
                        *hooks = att.iter().map(|a| a.hook).collect();
                        *state = IfaceState::Attached;
                        telemetry.set_interface(name, *state);
                        self.failing.remove(name.as_str());
                        let ev = IfaceEvent {
                            ts: crate::output::rfc3339_nanos(SystemTime::now()),
                            iface: name,
                            event: "back",
                            ifindex: Some(now),
                            hooks: hooks.clone(),
                            error: None,
                        };
                        tracing::info!("interface {name} is back; attached");
                        Self::emit(out, tally, &ev)?;
                        changed = true;
                    }
                    Err(e) => {
                        // Said once per distinct error; tried again at the next event or tick.
                        let msg = e.to_string();
                        if self.failing.get(name.as_str()) != Some(&msg) {
                            tracing::warn!("interface {name}: attaching: {msg}");
                            self.failing.insert(name.clone(), msg);
                        }
                    }
                }
            }
        }
        Ok(changed)
    }
}

/// The `state_unreadable` alert: the state file could not be read, was moved aside, and the
/// detector learns afresh.
#[derive(Debug, Serialize)]
struct StateUnreadable {
    code: &'static str,
    severity: &'static str,
    iface: Option<String>,
    ts: String,
    message: String,
    evidence: StateEvidence,
    suppressed: u64,
}

#[derive(Debug, Serialize)]
struct StateEvidence {
    file: PathBuf,
    moved_to: Option<PathBuf>,
    error: String,
}

impl StateUnreadable {
    fn new(s: &service::SetAside) -> Self {
        let moved = s.moved_to.as_ref().map_or_else(
            || "could not be moved aside".to_string(),
            |p| format!("moved to {}", p.display()),
        );
        Self {
            code: "state_unreadable",
            severity: "high",
            iface: None,
            ts: crate::output::rfc3339_nanos(std::time::SystemTime::now()),
            message: format!(
                "state file {} unreadable ({}): {moved}; learning afresh",
                s.file.display(),
                s.error
            ),
            evidence: StateEvidence {
                file: s.file.clone(),
                moved_to: s.moved_to.clone(),
                error: s.error.clone(),
            },
            suppressed: 0,
        }
    }

    fn text(&self) -> String {
        format!(
            "{} -        ALERT high   {:<26} {}",
            self.ts, self.code, self.message
        )
    }
}

/// The common end of a live or replayed run: save the detection state, print the final
/// `stats` line, and close the sinks. A closed stdout (`| head`) ends quietly.
fn finish(
    detector: &mut Detector,
    mut stats: Stats,
    mut out: Emitter,
    tally: &mut Tally,
) -> Result<ExitCode> {
    stats.is_final = true;
    stats.detect = Some(detector.stats());
    let saved = detector.save().context("saving the detection state");
    if out.gone().is_none() {
        out.line("stats", &stats, severity::INFO, "stats", |b| stats.text(b))?;
        tally.line("stats");
    }
    out.close(SINK_CLOSE);
    saved?;
    Ok(ExitCode::SUCCESS)
}

/// The records taken off the ring buffer in one wake-up: headers and frame bytes in two
/// buffers kept from one wake-up to the next, so a record costs a copy, not an allocation.
#[derive(Default)]
struct Records {
    /// Each header with the end of its frame in `bytes` (it starts where the previous ended).
    items: Vec<(RecordHeader, usize)>,
    bytes: Vec<u8>,
}

impl Records {
    fn push(&mut self, rec: &RecordRef<'_>) {
        self.bytes.extend_from_slice(rec.frame);
        self.items.push((rec.header, self.bytes.len()));
    }

    fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }

    fn iter(&self) -> impl Iterator<Item = RecordRef<'_>> {
        let mut start = 0;
        self.items.iter().map(move |&(header, end)| {
            let frame = &self.bytes[start..end];
            start = end;
            RecordRef { header, frame }
        })
    }
}

fn judge_batch(
    observer: &Observer,
    detector: &mut Detector,
    mut respond: Option<&mut Countermeasures>,
    batch: &Records,
    slot: &mut Option<Packet>,
    out: &mut Emitter,
    tally: &mut Tally,
) -> Result<()> {
    let mut recs = batch.iter().peekable();
    // The interface of the record before and its name: the records of a batch mostly share
    // it, and names change only between batches (link events).
    let mut named: Option<(u32, std::sync::Arc<str>)> = None;
    while let Some(rec) = recs.next() {
        if let Some(next) = recs.peek() {
            detector.prefetch(next.frame);
        }
        let ts = observer.wall_time(rec.header.ts_ns);
        let ifindex = rec.header.ifindex;
        let iface = match named.take() {
            Some((i, name)) if i == ifindex => name,
            _ => observer.iface_shared(ifindex),
        };
        // Decoded into the packet of the record before (`slot`), in place.
        let decoded = crate::wire::FrameRef::from_record(&rec)
            .map(|f| Packet::decode_record_into(slot, &rec, ts, &iface, &f));
        let comment = match decoded {
            Ok(packet) => {
                tally.record(
                    rec.header.ifindex,
                    hook_label(&rec.header),
                    packet
                        .frame
                        .icmp6
                        .as_ref()
                        .map_or("fragment", |m| m.msg_type.name()),
                );
                judge(
                    detector,
                    respond.as_deref_mut(),
                    rec.frame,
                    packet,
                    ts,
                    out,
                    tally,
                )?
            }
            Err(e) => {
                tally.undecodable();
                tracing::debug!("kernel record not decodable: {e}");
                None
            }
        };
        if out.wants_frames() {
            out.frame(
                rec.frame,
                FrameMeta {
                    end: 0,
                    ts,
                    iface: iface.to_string(),
                    ingress: rec.header.direction != abi::direction::EGRESS,
                    wire_len: rec.header.wire_len,
                    comment,
                },
            );
        }
        named = Some((ifindex, iface));
    }
    Ok(())
}

/// Runs the detector on one frame (`bytes`, decoded as `packet`) and emits its line (as
/// `--events` says), the line of the packet it completed if it was the last missing fragment,
/// its alerts and the countermeasures decided on them (`--respond`); returns the alerts named
/// for a pcapng packet comment (`None` without alerts).
fn judge(
    detector: &mut Detector,
    respond: Option<&mut Countermeasures>,
    bytes: &[u8],
    packet: &Packet,
    ts: std::time::SystemTime,
    out: &mut Emitter,
    tally: &mut Tally,
) -> Result<Option<String>> {
    // The responder's own frames, seen leaving, are not judged.
    let own = respond.as_deref().is_some_and(|r| r.is_own(packet, ts));
    let judged = if own {
        detect::run::Judged::default()
    } else {
        detector.observe_frame(bytes, packet, ts)
    };
    for p in std::iter::once(packet).chain(judged.reassembled.as_ref()) {
        if detector.show_packet(p) {
            out.line_with(
                "packet",
                |b| p.write_json_line(b),
                severity::INFO,
                "packet",
                |b| b.extend_from_slice(term::escape(&p.text()).as_bytes()),
            )?;
            tally.line("packet");
        }
    }
    let alerts = judged.alerts;
    emit_alerts(&alerts, out, tally)?;
    if let Some(r) = respond {
        // A reassembled message is what the alerts are about.
        let about = judged.reassembled.as_ref().unwrap_or(packet);
        r.answer(about, &alerts, ts, out, tally)?;
    }
    Ok((!alerts.is_empty()).then(|| {
        alerts
            .iter()
            .map(|a| format!("v6probe alert: {} ({})", a.code.code(), a.severity.as_str()))
            .collect::<Vec<_>>()
            .join("; ")
    }))
}

/// Emits alert lines (and counts them).
fn emit_alerts(alerts: &[Alert], out: &mut Emitter, tally: &mut Tally) -> Result<()> {
    for a in alerts {
        tally.alert(a.code.code(), a.severity.as_str(), a.iface.as_deref());
        out.line("alert", a, alert_severity(a), a.code.code(), |b| {
            b.extend_from_slice(term::escape(&a.text()).as_bytes())
        })?;
        tally.line("alert");
    }
    Ok(())
}

/// How long a replay waits for a sink that takes no lines before it counts drops instead.
const REPLAY_STALL: std::time::Duration = std::time::Duration::from_secs(10);

/// `monitor --pcap FILE`: the capture's frames through the same decoder and detector, with the
/// capture's timestamps, so a recorded incident can be re-judged offline. A damaged file: what
/// came before the damage is judged and printed, then the error names the byte offset.
fn replay(args: &Args, path: &std::path::Path) -> Result<ExitCode> {
    let mut detector = Detector::new(&args.detect).context("starting the detector")?;
    let reader =
        crate::capture::CaptureReader::open(path).with_context(|| format!("{}", path.display()))?;
    let telemetry = Telemetry::new();
    let mut out = Emitter::new(start_sinks(args)?, &telemetry);
    // Nothing is lost by waiting offline: a slow reader (a pipe, a slow disk) gets every line.
    out.wait_for_room(REPLAY_STALL);
    let started = std::time::Instant::now();
    let mut stats = Stats::default();
    let mut capture = CaptureStats {
        file: path.display().to_string(),
        ..CaptureStats::default()
    };
    let mut damage = None;
    let mut tally = Tally::default();
    // The packet of the frame before: the next one is decoded into it, in place.
    let mut slot = None;
    for item in reader {
        let frame = match item {
            Ok(f) => f,
            Err(e) => {
                damage = Some(e);
                break;
            }
        };
        capture.frames += 1;
        // What `CaptureFrame::decode` decodes, and fragments whatever their upper layer, as
        // the kernel records them: reassembled.
        let decoded = frame
            .is_ethernet()
            .then(|| {
                crate::wire::FrameRef::parse(&frame.data)
                    .or_else(|_| crate::wire::FrameRef::parse_fragment(&frame.data))
                    .ok()
            })
            .flatten()
            .map(|f| Packet::decode_into(&mut slot, frame.seen(), &f));
        match decoded {
            Some(packet) => {
                stats.records_read += 1;
                judge(
                    &mut detector,
                    None,
                    &frame.data,
                    packet,
                    frame.ts,
                    &mut out,
                    &mut tally,
                )?;
            }
            None => capture.skipped += 1,
        }
        if capture.frames.is_multiple_of(1024) {
            out.flush();
            if out.gone().is_some() {
                break;
            }
        }
    }
    out.settle(SINK_CLOSE);
    stats.capture = Some(capture);
    stats.lines = tally.lines_total();
    stats.duration_s = started.elapsed().as_secs_f64();
    stats.sinks = telemetry.totals().sinks;
    let code = finish(&mut detector, stats, out, &mut tally)?;
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
