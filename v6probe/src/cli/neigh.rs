//! `v6probe neigh`: ND parameters, the neighbour table, and its changes.
use std::{
    io::{self, Write},
    process::ExitCode,
    time::Duration,
};

use crate::{
    neigh::{self, NeighParams, ParamValue},
    output::{Format, JsonLines},
    text_line,
};
use anyhow::{Context as _, Result};

use super::EXIT_NOTHING_FOUND;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Read or set the IPv6 ND parameters of an interface (or `default`).
    Params(ParamsArgs),
    /// The IPv6 neighbour table.
    List(ListArgs),
    /// Neighbour table changes as they happen.
    Watch(WatchArgs),
}

#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    /// Interface name, or `default` for the values new interfaces get (and gc_thresh*).
    #[arg(short, long, default_value = "default")]
    pub interface: String,
    /// KEY=VALUE to write (repeatable). All are checked before any is written; a failed write
    /// restores the ones already written.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Check and show the changes without writing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(short, long)]
    pub interface: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[arg(short, long)]
    pub interface: Option<String>,
    /// Stop after this long (e.g. `30s`, `5m`); default: until interrupted.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Params(a) => params(a),
        Cmd::List(a) => {
            let entries = neigh::list(a.interface.as_deref()).context("neigh list")?;
            let mut out = JsonLines::new(io::stdout().lock());
            for e in &entries {
                match a.format {
                    Format::Json => out.write("neighbour", e)?,
                    Format::Text => text_line!(
                        out.get_mut(),
                        "{:<40} dev {:<12} lladdr {:<17} {}{}",
                        e.address.to_string(),
                        e.interface,
                        e.mac.as_deref().unwrap_or("-"),
                        e.state,
                        if e.router { " router" } else { "" }
                    )?,
                }
            }
            Ok(if entries.is_empty() {
                ExitCode::from(EXIT_NOTHING_FOUND)
            } else {
                ExitCode::SUCCESS
            })
        }
        Cmd::Watch(a) => {
            let mut out = JsonLines::new(io::stdout().lock());
            let mut failed = None;
            neigh::watch(a.interface.as_deref(), a.duration, |ev| {
                let r = match a.format {
                    Format::Json => out.write("neigh_event", &ev),
                    Format::Text => text_line!(
                        out.get_mut(),
                        "{} {:<3} {:<40} dev {:<12} lladdr {:<17} {}{}",
                        ev.time,
                        ev.event,
                        ev.entry.address.to_string(),
                        ev.entry.interface,
                        ev.entry.mac.as_deref().unwrap_or("-"),
                        ev.entry.state,
                        if ev.entry.router { " router" } else { "" }
                    )
                    .and_then(|_| out.get_mut().flush()),
                };
                match r {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })
            .context("neigh watch")?;
            match failed {
                // A closed pipe ends the watch quietly.
                Some(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(ExitCode::SUCCESS),
            }
        }
    }
}

fn params(a: ParamsArgs) -> Result<ExitCode> {
    let np = NeighParams::default();
    let values: Vec<ParamValue> = if a.set.is_empty() {
        np.read(&a.interface)?
    } else {
        np.apply(&a.interface, &a.set, a.dry_run)?
    };
    let mut out = JsonLines::new(io::stdout().lock());
    for v in &values {
        match a.format {
            Format::Json => out.write("neigh_param", v)?,
            Format::Text => {
                let change = match v.old {
                    Some(o) if a.dry_run => format!("  (now {o}, dry run)"),
                    Some(o) => format!("  (was {o})"),
                    None => String::new(),
                };
                text_line!(
                    out.get_mut(),
                    "{:<24} {:>12} {:<16} [{}..={}]{change}",
                    v.key,
                    v.value,
                    v.unit,
                    v.min,
                    v.max
                )?
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
