//! `cargo xtask demo`: set-up, build, then run the lab (`v6probe/examples/demo.rs`): network
//! namespaces with real kernels talking NDP, watched by `v6probe monitor`. The lab removes
//! itself at the end, on error and on Ctrl-C.
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
            "--example",
            "demo",
        ]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let demo = target.join("debug").join("examples").join("demo");
    let bin = target.join("debug").join("v6probe");
    // Ctrl-C reaches the whole process group; the demo cleans up and exits, and we wait for it.
    // SAFETY: ignoring SIGINT in this process only; the child gets the default disposition
    // back through exec (SIG_IGN is inherited, so the demo installs its own handler).
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = Command::new(&demo)
        .env("V6PROBE_BIN", &bin)
        .current_dir(&root)
        .status()
        .with_context(|| format!("running {}", demo.display()))?;
    if !status.success() {
        bail!("the demo failed ({status})");
    }
    Ok(())
}
