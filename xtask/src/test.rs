//! `cargo xtask test`: set-up, formatting, clippy (user space and eBPF separately), every test
//! (privileged ones run when root, otherwise they print why they skip), and `cargo check` of the
//! BSD/macOS code for its targets.
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{setup, util::step, workspace_root};

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo xtask setup` (when you know the toolchain is present).
    #[arg(long)]
    pub no_setup: bool,
    /// Extra arguments passed to `cargo test` (e.g. a test name filter).
    #[arg(last = true)]
    pub cargo_test_args: Vec<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let root = workspace_root();
    if !args.no_setup {
        setup::run(&setup::Args::default())?;
    }
    step(
        "fmt",
        Command::new("cargo")
            .current_dir(&root)
            .args(["fmt", "--all", "--check"]),
    )
    .context("formatting differs: run `cargo fmt --all`")?;
    step(
        "clippy (user space)",
        Command::new("cargo").current_dir(&root).args([
            "clippy",
            "--workspace",
            "--exclude",
            "v6probe-ebpf",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "clippy (eBPF)",
        Command::new("cargo")
            .current_dir(root.join("v6probe-ebpf"))
            .args([
                "+nightly",
                "clippy",
                "--package",
                "v6probe-ebpf",
                "--target",
                "bpfel-unknown-none",
                "-Z",
                "build-std=core",
                "--release",
                "--",
                "-D",
                "warnings",
            ])
            .env("CARGO_TARGET_DIR", root.join("target").join("ebpf-clippy")),
    )?;
    for target in setup::CROSS_TARGETS {
        step(
            &format!("check {target}"),
            Command::new("cargo")
                .current_dir(&root)
                .args([
                    "check",
                    "--package",
                    "v6probe",
                    "--all-targets",
                    "--target",
                    target,
                ])
                .env("AYA_BUILD_SKIP", "1"),
        )
        .with_context(|| format!("the BSD/macOS code must compile for {target}"))?;
    }
    let mut test = Command::new("cargo");
    test.current_dir(&root)
        .args(["test", "--workspace", "--exclude", "v6probe-ebpf"])
        .args(&args.cargo_test_args);
    step("test", &mut test)?;
    Ok(())
}

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Seconds to run each fuzz target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Run only these targets (default: every target `cargo fuzz list` shows).
    #[arg(long = "target")]
    pub targets: Vec<String>,
}

pub fn fuzz(args: &FuzzArgs) -> Result<()> {
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    anyhow::ensure!(fuzz_dir.exists(), "no fuzz/ crate in {}", root.display());
    if !crate::util::probe(Command::new("cargo").args(["+nightly", "fuzz", "--version"])) {
        step(
            "cargo-fuzz",
            Command::new("cargo").args(["+nightly", "install", "cargo-fuzz", "--locked"]),
        )?;
    }
    let list = crate::util::output(
        "fuzz list",
        Command::new("cargo")
            .current_dir(&root)
            .args(["+nightly", "fuzz", "list"]),
    )?;
    let selected = |t: &str| args.targets.is_empty() || args.targets.iter().any(|a| a == t);
    for target in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && selected(l))
    {
        let seeds = fuzz_dir.join("seeds").join(target);
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&root)
            .args(["+nightly", "fuzz", "run", target]);
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        cmd.arg(&corpus);
        if seeds.exists() {
            cmd.arg(&seeds);
        }
        // libFuzzer prints its figures (execs, corpus size) on stderr; a crash leaves the input
        // in fuzz/artifacts/<target>/ and fails the step.
        cmd.args([
            "--",
            &format!("-max_total_time={}", args.seconds),
            "-print_final_stats=1",
        ]);
        step(&format!("fuzz {target}"), &mut cmd)?;
    }
    Ok(())
}
