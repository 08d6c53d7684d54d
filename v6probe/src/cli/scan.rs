//! `v6probe scan`: neighbor solicitations to many targets; who answers, how fast, and whether
//! anyone else answers too.
use std::{
    collections::HashMap,
    io::{self, Write},
    net::Ipv6Addr,
    process::ExitCode,
    time::Duration,
};

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    output::JsonLines,
    scan::{self, Progress, ScanConfig, ScanReport, SchedConfig, TargetSpec},
};

use super::{EXIT_NOTHING_FOUND, EXIT_USAGE};

/// `--format` of `scan`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// One `scan_result` JSON line per target and a final `scan_summary`.
    #[default]
    Json,
    /// An aligned table of the targets that answered or got a verdict, a progress bar on a
    /// terminal (stderr), and a summary line.
    #[value(alias = "text")]
    Table,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface to scan on.
    #[arg(short, long)]
    pub interface: String,
    /// Targets: ADDR, PREFIX/LEN, START-END (`fd00::1-ff`, `fd00::1-fd00::2:0`), @FILE.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Add the kernel's neighbour table entries for the interface.
    #[arg(long)]
    pub neighbors: bool,
    /// Discover responders with an echo request to ff02::1, then confirm each with NS.
    #[arg(long)]
    pub multicast: bool,
    /// Probes per second; 0 is as fast as the link takes them.
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = parse_rate)]
    pub rate: u64,
    /// Extra probes to a target that has not answered.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// Wait for an answer to each probe, in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// At most this many targets with a probe in flight.
    #[arg(long, default_value_t = 65_536)]
    pub max_in_flight: usize,
    /// Allow more than 65,536 target addresses.
    #[arg(long)]
    pub max_targets: Option<u128>,
    /// Send NS to the target address (Ethernet: the neighbour table's MAC, else broadcast)
    /// instead of its solicited-node multicast group.
    #[arg(long)]
    pub unicast: bool,
    /// Source address of the probes (default: the interface's link-local address).
    #[arg(long)]
    pub source: Option<Ipv6Addr>,
    /// Ethernet source and source link-layer address of the probes (default: the interface's).
    #[arg(long)]
    pub src_mac: Option<crate::wire::EthernetAddress>,
    #[arg(long, value_enum, default_value_t)]
    pub format: ScanFormat,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let mut specs = match scan::parse_args(&args.targets) {
        Ok(s) => s,
        Err(e) => return usage(&e.to_string()),
    };
    let cfg = ScanConfig {
        iface: args.interface.clone(),
        source: args.source,
        src_mac: args.src_mac.map(|m| m.0),
        unicast: args.unicast,
        dst_macs: HashMap::new(),
        sched: SchedConfig {
            rate: args.rate,
            retries: args.retries,
            timeout_ns: args.timeout * 1_000_000,
            max_in_flight: args.max_in_flight,
        },
    };
    let mut cfg = cfg;
    if args.neighbors {
        let entries = crate::neigh::list(Some(&args.interface))
            .with_context(|| format!("reading the neighbour table of {}", args.interface))?;
        // Unicast entries only (the table also holds multicast groups, state noarp).
        let entries: Vec<_> = entries
            .into_iter()
            .filter(|e| !e.address.is_multicast() && e.state != "noarp")
            .collect();
        for e in &entries {
            if let Some(mac) = e
                .mac
                .as_deref()
                .and_then(|m| m.parse::<crate::wire::EthernetAddress>().ok())
            {
                cfg.dst_macs.insert(e.address, mac.0);
            }
        }
        specs.extend(scan::addrs_to_specs(entries.iter().map(|e| e.address)));
    }
    let max = args.max_targets.unwrap_or(scan::DEFAULT_MAX_TARGETS);
    let mut multicast_over_limit = 0;
    if args.multicast {
        // Anyone on the link can answer the echo, from as many forged sources as they like:
        // keep what the target limit leaves room for, and say so.
        let have = specs
            .iter()
            .map(TargetSpec::count)
            .fold(0u128, u128::saturating_add);
        let room = usize::try_from(max.saturating_sub(have)).unwrap_or(usize::MAX);
        let found = scan::discover_multicast(
            &cfg,
            args.retries + 1,
            Duration::from_millis(args.timeout),
            room,
        )
        .with_context(|| format!("multicast discovery on {}", args.interface))?;
        if found.over_limit > 0 {
            eprintln!(
                "v6probe scan: --multicast: more addresses answered than the limit of {max} \
                 targets leaves room for: scanning the first {} ({} more echo replies not kept; \
                 raise the limit with --max-targets)",
                found.addrs.len(),
                found.over_limit
            );
        }
        multicast_over_limit = found.over_limit;
        specs.extend(found.addrs.into_iter().map(TargetSpec::Addr));
    }
    if args.targets.is_empty() && !args.neighbors && !args.multicast {
        return usage(
            "no targets: give addresses, prefixes, ranges, @FILE, --neighbors or --multicast",
        );
    }
    let targets = match scan::expand(&specs, max) {
        Ok(t) => t,
        Err(e) => return usage(&e.to_string()),
    };
    let bar = (args.format == ScanFormat::Table).then(|| progress_bar(targets.len()));
    let mut on_progress = |p: Progress| {
        if let Some(b) = &bar {
            b.set_position(p.finished as u64);
            b.set_message(format!("{} alive, {} probes", p.answered, p.sent));
        }
    };
    let mut report = scan::scan(&cfg, &targets, &mut on_progress)
        .with_context(|| format!("scan on {}", args.interface))?;
    report.summary.multicast_over_limit = multicast_over_limit;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut out = io::stdout().lock();
    match args.format {
        ScanFormat::Json => {
            // The scan is over: write the lines in 64 KiB blocks, not one write(2) each.
            let mut w = JsonLines::new(Vec::with_capacity(80 << 10));
            for r in &report.results {
                w.write("scan_result", r)?;
                if w.get_mut().len() >= 64 << 10 {
                    out.write_all(w.get_mut())?;
                    w.get_mut().clear();
                }
            }
            w.write("scan_summary", &report.summary)?;
            out.write_all(w.get_mut())?;
            out.flush()?;
        }
        ScanFormat::Table => print_table(&mut out, &report)?,
    }
    Ok(if report.any_alive() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOTHING_FOUND)
    })
}

fn parse_rate(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| {
        format!("`{s}` is not a rate: give a whole number of probes per second (0 = unlimited)")
    })
}

fn usage(msg: &str) -> Result<ExitCode> {
    let _ = crate::text_line!(io::stderr(), "v6probe scan: {msg}");
    Ok(ExitCode::from(EXIT_USAGE))
}

/// A progress bar on stderr (drawn only when stderr is a terminal).
fn progress_bar(targets: usize) -> ProgressBar {
    let b = ProgressBar::with_draw_target(Some(targets as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("[{bar:30}] {pos}/{len} done, {msg}") {
        b.set_style(style.progress_chars("#>."));
    }
    b
}

fn print_table(out: &mut impl Write, report: &ScanReport) -> io::Result<()> {
    writeln!(
        out,
        "{:<40} {:<17} {:>10} {:>6} {:>7}  VERDICTS",
        "TARGET", "MAC", "RTT_US", "PROBES", "REPLIES"
    )?;
    for r in report
        .results
        .iter()
        .filter(|r| r.alive || !r.verdicts.is_empty())
    {
        let rtt = r
            .replies
            .iter()
            .filter_map(|g| g.rtt_min_us)
            .min_by(|a, b| a.total_cmp(b))
            .map_or("-".to_string(), |v| format!("{v:.1}"));
        let replies: u32 = r.replies.iter().map(|g| g.count).sum();
        let row = format!(
            "{:<40} {:<17} {:>10} {:>6} {:>7}  {}",
            r.target.to_string(),
            r.mac.as_deref().unwrap_or("-"),
            rtt,
            r.probes,
            replies,
            r.verdicts.join(",")
        );
        crate::term::write_line(&mut *out, row.trim_end())?;
        for g in r.replies.iter().skip(1) {
            writeln!(
                out,
                "{:<40} {:<17} {:>10}",
                "",
                g.tlla.as_deref().unwrap_or(&g.eth_src),
                g.rtt_min_us.map_or("-".to_string(), |v| format!("{v:.1}"))
            )?;
        }
    }
    let s = &report.summary;
    writeln!(
        out,
        "{} of {} targets answered on {}; {} probes in {:.1} ms ({:.0}/s){}",
        s.alive,
        s.targets,
        s.interface,
        s.probes_sent,
        s.duration_ms,
        s.probes_per_sec,
        if s.capture_drops > 0 {
            format!("; capture dropped {} frames", s.capture_drops)
        } else {
            String::new()
        }
    )
}
