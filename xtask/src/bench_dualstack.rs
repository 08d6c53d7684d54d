//! `cargo xtask bench` section `dualstack`: builds v6probe and the `bench_dualstack` example in
//! release mode and runs it; it prints the table and writes target/bench/dualstack.json.
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{util::step, workspace_root};

pub fn run() -> Result<()> {
    let root = workspace_root();
    step(
        "bench dualstack (build)",
        Command::new("cargo").current_dir(&root).args([
            "build",
            "--release",
            "-p",
            "v6probe",
            "--bin",
            "v6probe",
            "--example",
            "bench_dualstack",
        ]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let release = target.join("release");
    let out = target.join("bench").join("dualstack.json");
    step(
        "bench dualstack",
        Command::new(release.join("examples").join("bench_dualstack"))
            .arg("--bin")
            .arg(release.join("v6probe"))
            .arg("--out")
            .arg(&out),
    )
    .with_context(|| format!("dualstack benchmark (results in {})", out.display()))
}
