//! `cargo xtask bench`: prints figures and ratios against baselines measured in the same run,
//! and writes them to target/bench/*.json.
use std::process::Command;

use anyhow::Result;

use crate::{util::step, workspace_root};

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Result<()> {
    crate::setup::run(&crate::setup::Args::default())?;
    let root = workspace_root();
    // Detection engine: observations/s vs. a decode baseline, peak heap after 1M forged MACs
    // (target/bench/detect.json).
    step(
        "bench detect",
        Command::new("cargo").current_dir(&root).args([
            "bench",
            "--package",
            "v6probe",
            "--bench",
            "detect",
        ]),
    )?;
    Ok(())
}
