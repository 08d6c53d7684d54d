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
        .args([
            "test",
            "--workspace",
            "--exclude",
            "v6probe-ebpf",
            "--no-fail-fast",
        ])
        .args(&args.cargo_test_args);
    let totals = run_counting(&mut test)?;
    // One closing line over every test binary (cargo's own last line is the doc-test run).
    println!(
        "xtask: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    if !totals.ok {
        anyhow::bail!("step `test` failed: {} failed", totals.failed);
    }
    Ok(())
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
    ok: bool,
}

/// Runs `cargo test`, passing its output through, and adds up its `test result:` lines.
fn run_counting(cmd: &mut Command) -> Result<Totals> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask [test]: {}", crate::util::describe(cmd));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("step `test`: could not start cargo test")?;
    let mut t = Totals::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.trim().strip_prefix("test result: ") {
                for part in rest.split(';') {
                    let mut w = part.split_whitespace().rev();
                    let (Some(kind), Some(n)) = (w.next(), w.next()) else {
                        continue;
                    };
                    let n: u64 = n.parse().unwrap_or(0);
                    match kind {
                        "passed" => t.passed += n,
                        "failed" => t.failed += n,
                        "ignored" => t.ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child
        .wait()
        .context("step `test`: waiting for cargo test")?;
    t.ok = status.success() && t.failed == 0;
    Ok(t)
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
