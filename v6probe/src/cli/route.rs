//! `v6probe route`: add, delete and list IPv6 routes.
use std::{io, net::Ipv6Addr, process::ExitCode};

use crate::{
    output::{Format, JsonLines},
    route::{self, ListFilter, Op, RouteEntry, RoutePref, RouteSpec},
    term,
};
use anyhow::{Context as _, Result};
use ipnet::Ipv6Net;
use serde::Serialize;

use super::EXIT_NOTHING_FOUND;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Add a route (refused if one exists for the prefix with the same table and metric).
    Add(AddArgs),
    /// Delete the route matching the prefix and the fields given.
    Del(DelArgs),
    /// List IPv6 routes.
    List(ListArgs),
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Pref {
    Low,
    Medium,
    High,
}

impl From<Pref> for RoutePref {
    fn from(p: Pref) -> Self {
        match p {
            Pref::Low => RoutePref::Low,
            Pref::Medium => RoutePref::Medium,
            Pref::High => RoutePref::High,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Destination IPv6 prefix (ADDR/LEN, no host bits).
    pub prefix: Ipv6Net,
    /// Outgoing interface (needed for an interface route or a link-local gateway).
    #[arg(long)]
    pub dev: Option<String>,
    /// Next-hop router (a link-local one needs --dev).
    #[arg(long)]
    pub via: Option<Ipv6Addr>,
    /// Route metric (priority); the kernel's default for IPv6 is 1024.
    #[arg(long)]
    pub metric: Option<u32>,
    /// Routing table (default: main, 254).
    #[arg(long)]
    pub table: Option<u32>,
    /// RFC 4191 route preference.
    #[arg(long, value_enum)]
    pub pref: Option<Pref>,
    /// Lifetime in seconds; the kernel removes the route after it.
    #[arg(long)]
    pub expires: Option<u32>,
    /// Check everything (interface included) and show the route, without adding it.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct DelArgs {
    /// Destination IPv6 prefix.
    pub prefix: Ipv6Net,
    #[arg(long)]
    pub dev: Option<String>,
    #[arg(long)]
    pub via: Option<Ipv6Addr>,
    #[arg(long)]
    pub metric: Option<u32>,
    #[arg(long)]
    pub table: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only routes to unique local prefixes (fc00::/7).
    #[arg(long)]
    pub ula: bool,
    /// Routing table (default: main, 254).
    #[arg(long)]
    pub table: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Serialize)]
struct Done<'a> {
    op: Op,
    dry_run: bool,
    #[serde(flatten)]
    route: &'a RouteSpec,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Add(a) => {
            let spec = RouteSpec {
                prefix: a.prefix,
                dev: a.dev,
                via: a.via,
                metric: a.metric,
                table: a.table,
                pref: a.pref.map(Into::into),
                expires: a.expires,
            };
            if a.dry_run {
                spec.validate(Op::Add)?;
                if let Some(d) = &spec.dev {
                    route::ifindex(d)?;
                }
            } else {
                route::add(&spec).with_context(|| format!("route add {}", spec.prefix))?;
            }
            report(Op::Add, a.dry_run, &spec, a.format)
        }
        Cmd::Del(a) => {
            let spec = RouteSpec {
                prefix: a.prefix,
                dev: a.dev,
                via: a.via,
                metric: a.metric,
                table: a.table,
                ..Default::default()
            };
            route::del(&spec).with_context(|| format!("route del {}", spec.prefix))?;
            report(Op::Del, false, &spec, a.format)
        }
        Cmd::List(a) => {
            let entries = route::list(ListFilter {
                ula_only: a.ula,
                table: a.table,
            })?;
            let mut out = JsonLines::new(io::stdout().lock());
            for e in &entries {
                match a.format {
                    Format::Json => out.write("route", e)?,
                    Format::Text => term::write_line(out.get_mut(), &text(e))?,
                }
            }
            Ok(if entries.is_empty() {
                ExitCode::from(EXIT_NOTHING_FOUND)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn report(op: Op, dry_run: bool, spec: &RouteSpec, format: Format) -> Result<ExitCode> {
    let mut out = JsonLines::new(io::stdout().lock());
    match format {
        Format::Json => out.write(
            "route_change",
            &Done {
                op,
                dry_run,
                route: spec,
            },
        )?,
        Format::Text => {
            let verb = match (op, dry_run) {
                (Op::Add, true) => "would add",
                (Op::Add, false) => "added",
                (Op::Del, _) => "deleted",
            };
            let mut s = format!("{verb} {}", spec.prefix);
            if let Some(v) = spec.via {
                s.push_str(&format!(" via {v}"));
            }
            if let Some(d) = &spec.dev {
                s.push_str(&format!(" dev {d}"));
            }
            if let Some(m) = spec.metric {
                s.push_str(&format!(" metric {m}"));
            }
            if let Some(t) = spec.table {
                s.push_str(&format!(" table {t}"));
            }
            if let Some(p) = spec.pref {
                s.push_str(&format!(" pref {}", p.as_str()));
            }
            if let Some(e) = spec.expires {
                s.push_str(&format!(" expires {e}s"));
            }
            term::write_line(out.get_mut(), &s)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text(e: &RouteEntry) -> String {
    let mut s = format!("{:<44}", e.prefix.to_string());
    if let Some(v) = e.via {
        s.push_str(&format!(" via {v}"));
    }
    if let Some(d) = &e.dev {
        s.push_str(&format!(" dev {d}"));
    }
    s.push_str(&format!(" proto {}", e.protocol));
    if let Some(m) = e.metric {
        s.push_str(&format!(" metric {m}"));
    }
    if e.kind != "unicast" {
        s.push_str(&format!(" type {}", e.kind));
    }
    if let Some(x) = e.expires {
        s.push_str(&format!(" expires {x}s"));
    }
    if let Some(p) = e.pref {
        s.push_str(&format!(" pref {}", p.as_str()));
    }
    s
}
