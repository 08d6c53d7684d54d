//! `v6probe monitor`.
use std::process::ExitCode;

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args) -> Result<ExitCode> {
    anyhow::bail!("monitor: work in progress")
}
