//! `v6probe sim`: simulated neighbours (and optionally a router) on an interface, for labs.
//! Router advertisements follow RFC 4861 6.2.6 (see [`RaSchedule`]); a failed send or receive
//! is logged, counted and survived; SIGINT / SIGTERM end it with a `sim_stats` line.
use std::{
    hash::{BuildHasher, RandomState},
    io,
    net::Ipv6Addr,
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::{
    netio::{Capture, PacketSocket},
    output::JsonLines,
    scan::sim::{RaSchedule, Router, Sim, MAX_RA_DELAY_TIME},
    wire::{EthernetAddress, Frame, Prefix},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(short, long)]
    pub interface: String,
    /// ADDR=MAC: answer NS for ADDR with MAC (repeatable).
    #[arg(long = "neighbor", value_parser = parse_neighbor)]
    pub neighbors: Vec<(Ipv6Addr, [u8; 6])>,
    /// Run a simulated router advertising PREFIX (repeatable; on-link, autonomous if /64).
    #[arg(long = "router", value_parser = parse_prefix)]
    pub router: Vec<Prefix>,
    /// The router's MAC (its address is the EUI-64 link-local of it).
    #[arg(long, default_value = "02:76:36:00:00:01")]
    pub router_mac: EthernetAddress,
    /// Router lifetime in the RAs, seconds.
    #[arg(long, default_value_t = 1800)]
    pub router_lifetime: u16,
    /// Time between periodic RAs (at least 3 s: RFC 4861 MIN_DELAY_BETWEEN_RAS).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub ra_interval: Duration,
    /// Stop after this long (e.g. `30s`); default: until killed.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

fn parse_neighbor(s: &str) -> Result<(Ipv6Addr, [u8; 6]), String> {
    let (a, m) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected ADDR=MAC"))?;
    let addr = a
        .parse()
        .map_err(|_| format!("`{a}` is not an IPv6 address"))?;
    let mac: EthernetAddress = m.parse().map_err(|e| format!("`{m}` is {e}"))?;
    Ok((addr, mac.0))
}

/// A prefix to advertise, host bits cleared.
fn parse_prefix(s: &str) -> Result<Prefix, String> {
    s.parse::<Prefix>()
        .map(|p| p.trunc())
        .map_err(|e| format!("`{s}` is {e}"))
}

#[derive(Serialize)]
struct Ready<'a> {
    interface: &'a str,
    neighbors: usize,
    router: Option<Ipv6Addr>,
}

/// The last line (`"kind":"sim_stats"`).
#[derive(Debug, Default, Serialize)]
struct Stats {
    na_sent: u64,
    ra_sent: u64,
    rs_received: u64,
    /// Router solicitations answered by an RA already scheduled (RFC 4861 6.2.6).
    rs_consolidated: u64,
    /// Sends and receives that failed (interface down, buffers full, ...): logged, counted,
    /// and the simulator went on.
    io_errors: u64,
}

/// Set by SIGINT / SIGTERM: the loop ends and the stats line is written.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn stop_on_signals() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic, which is
        // async-signal-safe. No SA_RESTART: a blocking poll returns, the loop sees STOP.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A random delay of 0 to [`MAX_RA_DELAY_TIME`] for an RA answering an RS (RFC 4861 6.2.6),
/// from the standard library's per-process random hash keys.
fn ra_delay(n: u64) -> Duration {
    let r = RandomState::new().hash_one(n);
    Duration::from_micros(r % (MAX_RA_DELAY_TIME.as_micros() as u64 + 1))
}

/// Logs an I/O failure at most once per 10 s (the count goes in the stats line).
fn io_failed(what: &str, e: &dyn std::fmt::Display, stats: &mut Stats, last: &mut Option<Instant>) {
    stats.io_errors += 1;
    if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
        *last = Some(Instant::now());
        tracing::warn!(
            errors = stats.io_errors,
            "sim: {what}: {e} (going on; logged once per 10 s)"
        );
    }
}

pub fn exec(a: Args) -> Result<ExitCode> {
    if a.neighbors.is_empty() && a.router.is_empty() {
        eprintln!("v6probe sim: nothing to simulate: give --neighbor ADDR=MAC or --router PREFIX");
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let rx = PacketSocket::open(&a.interface, Capture::Ipv6).context("sim")?;
    let tx = PacketSocket::open(&a.interface, Capture::Nothing).context("sim")?;
    stop_on_signals().context("sim: installing the SIGINT/SIGTERM handlers")?;
    let sim = Sim {
        neighbors: a.neighbors.iter().copied().collect(),
        router: (!a.router.is_empty()).then(|| Router {
            mac: a.router_mac.0,
            addr: a.router_mac.link_local(),
            prefixes: a.router.clone(),
            lifetime: a.router_lifetime,
        }),
    };
    let mut out = JsonLines::new(io::stdout().lock());
    out.write(
        "sim_ready",
        &Ready {
            interface: &a.interface,
            neighbors: sim.neighbors.len(),
            router: sim.router.as_ref().map(|r| r.addr),
        },
    )?;
    let start = Instant::now();
    let mut schedule = RaSchedule::new(a.ra_interval, Duration::ZERO);
    let mut stats = Stats::default();
    let mut last_warning = None;
    let mut buf = vec![0u8; 65536];
    while !STOP.load(Ordering::Relaxed) {
        let now = start.elapsed();
        if a.duration.is_some_and(|d| now >= d) {
            break;
        }
        if sim.router.is_some() {
            if let Some(why) = schedule.due(now) {
                if let Some((f, ev)) = sim.multicast_ra(why) {
                    match tx.send(&f.to_bytes()) {
                        Ok(()) => {
                            stats.ra_sent += 1;
                            out.write("sim_event", &ev)?;
                        }
                        Err(e) => io_failed("sending an RA", &e, &mut stats, &mut last_warning),
                    }
                }
                schedule.sent(now);
            }
        }
        let mut wait = Duration::from_millis(200);
        if sim.router.is_some() {
            wait = wait.min(schedule.next().saturating_sub(now));
        }
        if let Some(d) = a.duration {
            wait = wait.min(d.saturating_sub(now));
        }
        let r = match rx.recv(&mut buf, wait) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                // E.g. ENETDOWN once when the interface goes down: wait a little, go on.
                io_failed("receiving", &e, &mut stats, &mut last_warning);
                std::thread::sleep(wait.min(Duration::from_millis(100)));
                continue;
            }
        };
        if r.outgoing {
            continue;
        }
        let Ok(f) = Frame::parse(&buf[..r.len]) else {
            continue;
        };
        if sim.solicits_router(&f) {
            stats.rs_received += 1;
            schedule.on_router_solicit(start.elapsed(), ra_delay(stats.rs_received));
            continue;
        }
        for (reply, ev) in sim.respond(&f) {
            match tx.send(&reply.to_bytes()) {
                Ok(()) => {
                    stats.na_sent += 1;
                    out.write("sim_event", &ev)?;
                }
                Err(e) => io_failed("sending an NA", &e, &mut stats, &mut last_warning),
            }
        }
    }
    stats.rs_consolidated = schedule.consolidated;
    out.write("sim_stats", &stats)?;
    Ok(ExitCode::SUCCESS)
}
