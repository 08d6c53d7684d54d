//! `cargo xtask demo`: set-up, build v6probe, then run the lab (`demo_lab.rs`, built on
//! v6probe-lab): network namespaces with real kernels talking NDP, watched by `v6probe
//! monitor`. The lab removes itself at the end, on error and on Ctrl-C.
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::{util::step, workspace_root};

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo xtask setup`.
    #[arg(long)]
    pub no_setup: bool,
}

pub fn run(args: &Args) -> Result<()> {
    if !args.no_setup {
        crate::setup::run(&crate::setup::Args::default())?;
    }
    if !crate::util::is_root() {
        bail!("the demo creates network namespaces and attaches eBPF programs: run it as root");
    }
    let root = workspace_root();
    step(
        "build",
        Command::new("cargo").current_dir(&root).args([
            "build",
            "--package",
            "v6probe",
            "--bin",
            "v6probe",
        ]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join("v6probe");
    let bin = bin
        .to_str()
        .with_context(|| format!("the v6probe binary's path is not UTF-8: {}", bin.display()))?;
    crate::demo_lab::main(bin)
}
