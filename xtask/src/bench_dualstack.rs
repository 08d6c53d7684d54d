//! `cargo xtask bench` section `dualstack`: builds v6probe and the `bench_dualstack` example in
//! release mode and runs it; it prints the table and writes target/bench/dualstack.json.
use std::process::Command;

use anyhow::Result;

use crate::{bench::run_bench, util::step, workspace_root};

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
    let release = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release");
    run_bench(
        "dualstack",
        Command::new(release.join("examples").join("bench_dualstack"))
            .arg("--bin")
            .arg(release.join("v6probe")),
    )
}
