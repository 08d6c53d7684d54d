//! `v6probe send rs|ra|ns|na|redirect`: one NDP message, every field from flags, sent as a raw
//! frame (any Ethernet source). Prints a `sent` line with the decode of each frame sent.
use std::{io, process::ExitCode, time::Duration};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::{
    netio::{Capture, PacketSocket},
    output::JsonLines,
    send::{self, Kind, SendSpec},
    wire::Frame,
};

use super::EXIT_USAGE;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Message type.
    #[arg(value_parser = send::kind_parser())]
    pub kind: Kind,
    #[arg(short, long)]
    pub interface: String,
    #[command(flatten)]
    pub spec: SendSpec,
    /// How many to send.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Time between sends (e.g. `100ms`, `1s`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub interval: Duration,
}

#[derive(Serialize)]
struct Sent<'a> {
    interface: &'a str,
    n: u64,
    len: usize,
    #[serde(flatten)]
    frame: &'a Frame,
}

pub fn exec(a: Args) -> Result<ExitCode> {
    let sock = PacketSocket::open(&a.interface, Capture::Nothing)
        .with_context(|| format!("send {}", a.kind.as_str()))?;
    let mac = sock.mac().context("reading the interface MAC")?;
    let ll = crate::scan::link_local(&a.interface).ok();
    let frame = match send::build(a.kind, &a.spec, mac, ll) {
        Ok(f) => f,
        Err(e) => {
            let _ = crate::text_line!(std::io::stderr(), "v6probe send: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let bytes = frame.to_bytes();
    let decoded = Frame::parse(&bytes).unwrap_or(frame);
    let mut out = JsonLines::new(io::stdout().lock());
    for n in 0..a.count {
        if n > 0 {
            std::thread::sleep(a.interval);
        }
        sock.send(&bytes)
            .with_context(|| format!("sending {} on {}", a.kind.as_str(), a.interface))?;
        out.write(
            "sent",
            &Sent {
                interface: &a.interface,
                n: n + 1,
                len: bytes.len(),
                frame: &decoded,
            },
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over the whole command line (types, defaults, names).
    #[test]
    fn command_line_is_consistent() {
        crate::cli::Cli::command().debug_assert();
    }
}
