//! `v6probe ula`: generate, check, discover and aggregate unique local prefixes.
use std::{
    io::{self, BufRead},
    process::ExitCode,
    time::SystemTime,
};

use crate::{
    output::{Format, JsonLines},
    term, text_line,
    ula::{self, classify::Check, discover::Discovery},
    wire::{EthernetAddress, Eui64},
};
use anyhow::{Context as _, Result};
use ipnet::{IpNet, Ipv6Net};
use serde::Serialize;

use super::{EXIT_NOTHING_FOUND, EXIT_USAGE};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Generate a ULA /48 per RFC 4193 3.2.2 (SHA-1 of NTP time and EUI-64).
    Generate(GenerateArgs),
    /// Check addresses or prefixes: ULA status, weak global IDs, and address classification.
    Check(CheckArgs),
    /// List the ULA prefixes configured on interfaces, grouped by /48 and aggregated.
    Discover(DiscoverArgs),
    /// The minimal set of prefixes covering exactly the input (arguments, or stdin).
    Aggregate(AggregateArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// MAC to derive the EUI-64 from (modified EUI-64, RFC 4291 appendix A), as
    /// aa:bb:cc:dd:ee:ff.
    #[arg(long, conflicts_with = "eui64")]
    pub mac: Option<EthernetAddress>,
    /// EUI-64 to use as is (8 bytes, aa:bb:cc:dd:ee:ff:00:11).
    #[arg(long)]
    pub eui64: Option<Eui64>,
    /// 64-bit NTP-format time (seconds since 1900 << 32 | fraction); default: now.
    #[arg(long)]
    pub ntp_time: Option<u64>,
    /// Also list the first N /64 subnets (at most 65536).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=65536))]
    pub subnets: u32,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// IPv6 addresses or ADDR/LEN prefixes.
    #[arg(required = true)]
    pub targets: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct DiscoverArgs {
    /// Only this interface.
    #[arg(short, long)]
    pub interface: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct AggregateArgs {
    /// Prefixes (IPv4 or IPv6); read from stdin, one per line, when none are given.
    pub prefixes: Vec<String>,
    /// Clear host bits instead of refusing prefixes that have them.
    #[arg(long)]
    pub mask_host_bits: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Generate(a) => generate(a),
        Cmd::Check(a) => check(a),
        Cmd::Discover(a) => discover(a),
        Cmd::Aggregate(a) => aggregate(a),
    }
}

#[derive(Serialize)]
struct Generated<'a> {
    #[serde(flatten)]
    prefix: &'a ula::UlaPrefix,
    /// Where the EUI-64 came from: `eui64`, `mac`, or `interface`.
    eui64_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    /// `given` or `now`.
    time_source: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subnets: Vec<Ipv6Net>,
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    let _ = text_line!(io::stderr(), "v6probe: {msg}");
    ExitCode::from(EXIT_USAGE)
}

fn generate(a: GenerateArgs) -> Result<ExitCode> {
    let (eui64, source, mac) = match (&a.eui64, &a.mac) {
        (Some(e), _) => (*e, "eui64", None),
        (None, Some(m)) => (m.modified_eui64(), "mac", Some(*m)),
        (None, None) => {
            let m = ula::discover::first_mac().context("taking the EUI-64 of an interface")?;
            let m = EthernetAddress(m);
            (m.modified_eui64(), "interface", Some(m))
        }
    };
    let (t, time_source) = match a.ntp_time {
        Some(t) => (t, "given"),
        None => (ula::ntp_time(SystemTime::now()), "now"),
    };
    let p = ula::generate(t, eui64.0);
    let rec = Generated {
        subnets: ula::subnets(p.prefix, a.subnets),
        prefix: &p,
        eui64_source: source,
        mac: mac.map(|m| m.to_string()),
        time_source,
    };
    let stdout = io::stdout().lock();
    match a.format {
        Format::Json => JsonLines::new(stdout).write("ula_prefix", &rec)?,
        Format::Text => {
            let mut w = stdout;
            text_line!(&mut w, "prefix     {}", p.prefix)?;
            text_line!(&mut w, "global_id  {}", p.global_id)?;
            text_line!(&mut w, "ntp_time   {} ({})", p.ntp_time, time_source)?;
            text_line!(&mut w, "eui64      {} ({})", p.eui64, source)?;
            if let Some(m) = &rec.mac {
                text_line!(&mut w, "mac        {m}")?;
            }
            text_line!(&mut w, "sha1       {}", p.sha1)?;
            for s in &rec.subnets {
                text_line!(&mut w, "subnet     {s}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check_text(c: &Check) -> String {
    let mut s = format!(
        "{:<40} ula={:<11} type={} scope={}",
        c.input,
        serde_json::to_value(c.ula)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        c.addr_type,
        c.scope
    );
    if let Some(b) = c.block {
        s.push_str(&format!(" block={b}"));
    }
    if let Some(g) = &c.global_id {
        s.push_str(&format!(" global_id={g}"));
    }
    if let Some(g) = &c.subnet_id {
        s.push_str(&format!(" subnet_id={g}"));
    }
    if let Some(i) = &c.iid {
        let v = serde_json::to_value(i).unwrap_or_default();
        s.push_str(&format!(" iid={}", v["kind"].as_str().unwrap_or("?")));
        if let Some(m) = v.get("mac").and_then(|m| m.as_str()) {
            s.push_str(&format!(" mac={m}"));
        }
        if let Some(m) = v.get("ipv4").and_then(|m| m.as_str()) {
            s.push_str(&format!(" ipv4={m}"));
        }
    }
    for w in &c.warnings {
        s.push_str(&format!("\n    warning: {}", w.message()));
    }
    s
}

fn check(a: CheckArgs) -> Result<ExitCode> {
    let mut checks = Vec::new();
    for t in &a.targets {
        match ula::check(t) {
            Ok(c) => checks.push(c),
            Err(e) => return Ok(usage(e)),
        }
    }
    let mut out = JsonLines::new(io::stdout().lock());
    for c in &checks {
        match a.format {
            Format::Json => out.write("ula_check", c)?,
            Format::Text => term::write_line(out.get_mut(), &check_text(c))?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Aggregate<'a> {
    prefixes: &'a [Ipv6Net],
}

fn discover(a: DiscoverArgs) -> Result<ExitCode> {
    let addrs = ula::discover::interface_addresses(a.interface.as_deref())
        .context("listing interface addresses")?;
    let d: Discovery = ula::discover::group(&addrs);
    let mut out = JsonLines::new(io::stdout().lock());
    for s in &d.sites {
        match a.format {
            Format::Json => out.write("ula_site", s)?,
            Format::Text => {
                let w = out.get_mut();
                text_line!(
                    &mut *w,
                    "site {}  interfaces: {}",
                    s.site,
                    s.interfaces.join(", ")
                )?;
                for p in &s.prefixes {
                    text_line!(&mut *w, "  prefix  {p}")?;
                }
                for ad in &s.addresses {
                    text_line!(
                        &mut *w,
                        "  address {}/{} on {}",
                        ad.address,
                        ad.prefix_len,
                        ad.interface
                    )?;
                }
            }
        }
    }
    match a.format {
        Format::Json => out.write(
            "ula_aggregate",
            &Aggregate {
                prefixes: &d.aggregate,
            },
        )?,
        Format::Text => {
            let list: Vec<String> = d.aggregate.iter().map(|p| p.to_string()).collect();
            text_line!(out.get_mut(), "aggregate {}", list.join(" "))?;
        }
    }
    Ok(if d.sites.is_empty() {
        ExitCode::from(EXIT_NOTHING_FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Serialize)]
struct Prefix {
    prefix: IpNet,
}

fn aggregate(a: AggregateArgs) -> Result<ExitCode> {
    let mut nets = Vec::new();
    if a.prefixes.is_empty() {
        for (n, line) in io::stdin().lock().lines().enumerate() {
            let line = line.context("reading stdin")?;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            nets.push(
                ula::parse_prefix(t, a.mask_host_bits)
                    .with_context(|| format!("stdin line {}", n + 1))?,
            );
        }
    } else {
        for p in &a.prefixes {
            match ula::parse_prefix(p, a.mask_host_bits) {
                Ok(n) => nets.push(n),
                Err(e) => return Ok(usage(e)),
            }
        }
    }
    let agg = ula::aggregate(&nets);
    let mut out = JsonLines::new(io::stdout().lock());
    for p in &agg {
        match a.format {
            Format::Json => out.write("prefix", &Prefix { prefix: *p })?,
            Format::Text => text_line!(out.get_mut(), "{p}")?,
        }
    }
    Ok(if agg.is_empty() {
        ExitCode::from(EXIT_NOTHING_FOUND)
    } else {
        ExitCode::SUCCESS
    })
}
