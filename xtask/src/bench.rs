//! `cargo xtask bench`: every benchmark, each printing its figures and ratios against a
//! baseline measured in the same run and writing `target/bench/<name>.json`.
//!
//! The benchmarks are `harness = false` bench targets of the v6probe crate (they load the real
//! eBPF programs, build namespace labs, and so need the library): `cargo bench -p v6probe` runs
//! them all. Those needing root print why they skip without it.
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{util::step, workspace_root};

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo xtask setup`.
    #[arg(long)]
    pub no_setup: bool,
    /// Run only this benchmark (a bench target such as `xdp`, or `dualstack`).
    #[arg(long)]
    pub only: Option<String>,
    /// Minutes the soak benchmark runs the monitor (default 10): `--only soak --minutes 2`
    /// for a quick run.
    #[arg(long, value_name = "N")]
    pub minutes: Option<u64>,
}

pub fn run(args: &Args) -> Result<()> {
    if !args.no_setup {
        crate::setup::run(&crate::setup::Args::default())?;
    }
    let root = workspace_root();
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&root)
        .args(["bench", "--package", "v6probe"]);
    if let Some(only) = &args.only {
        cmd.args(["--bench", only]);
    }
    if let Some(m) = args.minutes {
        cmd.env("V6PROBE_SOAK_MINUTES", m.to_string());
    }
    step("bench", &mut cmd)?;
    if args.only.as_deref().is_none_or(|o| o == "dualstack") {
        crate::bench_dualstack::run()?;
    }
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("bench");
    println!("\nfigures written:");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        println!("  {}", f.display());
    }
    Ok(())
}
