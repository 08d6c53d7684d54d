//! `v6probe decode FILE`: decode the ICMPv6 frames of a pcap or pcapng capture into `packet`
//! lines (the schema `monitor` prints, plus `frame`), and with `--all` a `skipped` line for each
//! other frame. A damaged file: the lines before the damage, then an error naming the byte
//! offset, exit 1. No ICMPv6 frame in the file: exit 2.
use std::{
    io::{self, Write},
    path::PathBuf,
    process::ExitCode,
};

use anyhow::{Context as _, Result};

use super::EXIT_NOTHING_FOUND;
use crate::{
    capture::CaptureReader,
    output::{Format, JsonLines},
    term::Esc,
    text_line,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A pcap or pcapng file of Ethernet frames.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also print a `skipped` line (with a reason) for every frame that is not ICMPv6.
    #[arg(long)]
    pub all: bool,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let stdout = io::stdout().lock();
    match run(&args, stdout) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        r => r,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn run<W: Write>(args: &Args, w: W) -> Result<ExitCode> {
    let path = args.file.display();
    let reader = CaptureReader::open(&args.file)
        .with_context(|| format!("{path}: cannot read as a capture"))?;
    let mut out = JsonLines::new(w);
    let mut packets = 0u64;
    let mut warned_link_types = Vec::new();
    for item in reader {
        let frame = item.with_context(|| format!("{path}"))?;
        match frame.decode() {
            Ok(p) => {
                packets += 1;
                match args.format {
                    Format::Json => out.write("packet", &p)?,
                    Format::Text => text_line!(out.get_mut(), "{:>6} {}", frame.number, p.text())?,
                }
            }
            Err(s) if args.all => match args.format {
                Format::Json => out.write("skipped", &s)?,
                Format::Text => text_line!(
                    out.get_mut(),
                    "{:>6} skipped: {} ({})",
                    s.frame,
                    s.reason,
                    s.detail
                )?,
            },
            Err(s) => {
                // Say once per link type why its frames print nothing.
                if let Some(t) = s.link_type.filter(|t| !warned_link_types.contains(t)) {
                    warned_link_types.push(t);
                    tracing::warn!("{path}: frames skipped: {}", Esc(&s.detail));
                }
            }
        }
    }
    out.get_mut().flush()?;
    Ok(if packets == 0 {
        ExitCode::from(EXIT_NOTHING_FOUND)
    } else {
        ExitCode::SUCCESS
    })
}
