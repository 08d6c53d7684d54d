//! `cargo xtask test`: set-up, formatting, clippy (user space and eBPF separately), every test,
//! and `cargo check` of the BSD/macOS code for its targets.
//!
//! Tests that need root, BPF or network namespaces are `#[ignore = "needs root: <why>"]` and
//! panic with the reason when run without privileges. When the privileges are here (root, `ip`,
//! a network namespace can be made) this runs `cargo test -- --include-ignored`, so every test
//! runs; otherwise the plain suite runs and the privileged tests are reported as ignored, unless
//! `V6PROBE_EXPECT_PRIVILEGES=1` (set by `.ci/run`) says they must run: then it fails at once.
//! The closing line counts passed, failed and ignored tests over every test binary.
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{setup, util::step, workspace_root};

/// Set to `1` where the privileged tests must run (CI): without privileges, `test` fails at
/// once instead of reporting them as ignored.
pub const EXPECT_PRIVILEGES: &str = "V6PROBE_EXPECT_PRIVILEGES";

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo xtask setup` (when you know the toolchain is present).
    #[arg(long)]
    pub no_setup: bool,
    /// Extra arguments passed to `cargo test` (e.g. a test name filter; test-harness
    /// arguments after a further `--`).
    #[arg(last = true)]
    pub cargo_test_args: Vec<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let expected = std::env::var(EXPECT_PRIVILEGES).is_ok_and(|v| v == "1");
    if expected && !crate::util::is_root() {
        anyhow::bail!(
            "{EXPECT_PRIVILEGES}=1: the privileged tests must run, but this is not root \
             (run `cargo xtask test` as root, or unset {EXPECT_PRIVILEGES} to report them as \
             ignored)"
        );
    }
    let root = workspace_root();
    if !args.no_setup {
        setup::run(&setup::Args::default())?;
    }
    // After set-up (which installs iproute2): can a namespace be made here?
    let missing = v6probe_lab::missing_privileges();
    match (&missing, expected) {
        (Some(why), true) => anyhow::bail!(
            "{EXPECT_PRIVILEGES}=1: the privileged tests must run, but they cannot here: {why}"
        ),
        (Some(why), false) => eprintln!(
            "xtask [test]: privileged tests will be reported as ignored ({why}); run as root to \
             include them"
        ),
        (None, _) => eprintln!("xtask [test]: privileged tests included (--include-ignored)"),
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
        .args(test_args(&args.cargo_test_args, missing.is_none()));
    let totals = run_counting(&mut test)?;
    // One closing line over every test binary (cargo's own last line is the doc-test run).
    let privileged = match &missing {
        None => "privileged tests included".to_string(),
        Some(why) => format!("privileged tests not run: {why}"),
    };
    println!(
        "xtask: {} passed, {} failed, {} ignored ({privileged})",
        totals.passed, totals.failed, totals.ignored
    );
    if !totals.ok {
        anyhow::bail!("step `test` failed: {} failed", totals.failed);
    }
    Ok(())
}

/// The arguments after `cargo test`: the caller's, plus `--include-ignored` for the test
/// harness when the privileged tests can run (unless the caller already chose what to run).
fn test_args(extra: &[String], include_ignored: bool) -> Vec<String> {
    let mut args = extra.to_vec();
    let harness = args
        .iter()
        .position(|a| a == "--")
        .map_or(&[][..], |i| &args[i + 1..]);
    let chosen = harness
        .iter()
        .any(|a| a == "--ignored" || a == "--include-ignored");
    if include_ignored && !chosen {
        if !args.iter().any(|a| a == "--") {
            args.push("--".into());
        }
        args.push("--include-ignored".into());
    }
    args
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

#[cfg(test)]
mod tests {
    use super::test_args;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    /// What follows xtask's `--` reaches cargo test as given, a second `--` included.
    #[test]
    fn extra_arguments_are_kept_whole() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: super::Args,
        }
        let cli =
            Cli::try_parse_from(["test", "--no-setup", "--", "scan", "--", "--nocapture"]).unwrap();
        assert!(cli.args.no_setup);
        assert_eq!(cli.args.cargo_test_args, v(&["scan", "--", "--nocapture"]));
    }

    #[test]
    fn include_ignored_goes_to_the_test_harness() {
        assert_eq!(test_args(&[], true), v(&["--", "--include-ignored"]));
        assert_eq!(test_args(&[], false), v(&[]));
        assert_eq!(
            test_args(&v(&["-p", "v6probe", "scan"]), true),
            v(&["-p", "v6probe", "scan", "--", "--include-ignored"])
        );
        assert_eq!(
            test_args(&v(&["scan", "--", "--nocapture"]), true),
            v(&["scan", "--", "--nocapture", "--include-ignored"])
        );
        // The caller's choice stands.
        assert_eq!(
            test_args(&v(&["--", "--ignored"]), true),
            v(&["--", "--ignored"])
        );
    }
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
        // The targets that link the v6probe library need no eBPF object: skip its build.
        cmd.current_dir(&root)
            .env("AYA_BUILD_SKIP", "1")
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
