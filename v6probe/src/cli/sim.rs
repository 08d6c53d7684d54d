//! `v6probe sim`: simulated neighbours (and optionally a router) on an interface, for labs.
use std::{
    io,
    net::Ipv6Addr,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::{
    netio::{Capture, PacketSocket},
    output::JsonLines,
    scan::sim::{Router, Sim},
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
    /// Seconds between periodic RAs.
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

pub fn exec(a: Args) -> Result<ExitCode> {
    if a.neighbors.is_empty() && a.router.is_empty() {
        eprintln!("v6probe sim: nothing to simulate: give --neighbor ADDR=MAC or --router PREFIX");
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let rx = PacketSocket::open(&a.interface, Capture::Ipv6).context("sim")?;
    let tx = PacketSocket::open(&a.interface, Capture::Nothing).context("sim")?;
    let sim = Sim {
        neighbors: a.neighbors.clone(),
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
    let mut next_ra = start;
    let mut buf = vec![0u8; 65536];
    loop {
        let now = Instant::now();
        if a.duration.is_some_and(|d| now.duration_since(start) >= d) {
            break;
        }
        if sim.router.is_some() && now >= next_ra {
            if let Some((f, ev)) = sim.periodic() {
                tx.send(&f.to_bytes()).context("sending an RA")?;
                out.write("sim_event", &ev)?;
            }
            next_ra = now + a.ra_interval;
        }
        let mut wait = Duration::from_millis(200);
        if sim.router.is_some() {
            wait = wait.min(next_ra.saturating_duration_since(now));
        }
        if let Some(d) = a.duration {
            wait = wait.min((start + d).saturating_duration_since(now));
        }
        let Some(r) = rx.recv(&mut buf, wait)? else {
            continue;
        };
        if r.outgoing {
            continue;
        }
        let Ok(f) = Frame::parse(&buf[..r.len]) else {
            continue;
        };
        for (reply, ev) in sim.respond(&f) {
            tx.send(&reply.to_bytes()).context("sending a reply")?;
            out.write("sim_event", &ev)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
