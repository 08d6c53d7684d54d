//! `cargo xtask bench`: prints figures and ratios against baselines measured in the same run,
//! and writes them to target/bench/*.json.
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Result<()> {
    crate::setup::run(&crate::setup::Args::default())?;
    crate::bench_dualstack::run()?;
    Ok(())
}
