//! `cargo xtask bench [NAME...]`: every benchmark (or the named ones), each printing its
//! figures and ratios against a baseline measured in the same run and writing
//! `target/bench/<name>.json` with `meta` and its targets.
//!
//! The benchmarks are the `harness = false` bench targets of the v6probe crate (they load the
//! real eBPF programs, build namespace labs, and so need the library), listed from
//! v6probe/Cargo.toml, plus `dualstack` (a release-built example, see `bench_dualstack.rs`).
//! Each runs on its own, so one that cannot run does not stop the others. A benchmark removes
//! its previous JSON before it starts and exits non-zero with the reason when it cannot run:
//! the closing summary lists only files written by this run, and every target with met/missed.
use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::SystemTime,
};

use anyhow::{bail, Context as _, Result};

use crate::{
    util::{describe, step},
    workspace_root,
};

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo xtask setup`.
    #[arg(long)]
    pub no_setup: bool,
    /// Run only this benchmark (repeatable; a bench target such as `xdp`, or `dualstack`).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Benchmarks to run (as `--only`); all when none is named.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Minutes the soak benchmark runs the monitor (default 10): `soak --minutes 2` for a
    /// quick run.
    #[arg(long, value_name = "N")]
    pub minutes: Option<u64>,
    /// Run no benchmark: copy the JSON of the last full run (target/bench, one commit, a clean
    /// tree) to bench/results/ and regenerate the README's figures from it.
    #[arg(long, conflicts_with_all = ["only", "names", "minutes"])]
    pub readme: bool,
}

/// The benchmark that is not a bench target of v6probe.
const DUALSTACK: &str = "dualstack";

pub fn run(args: &Args) -> Result<()> {
    if args.readme {
        return crate::bench_readme::update(&v6probe_lab::bench::bench_dir());
    }
    let root = workspace_root();
    let all = bench_targets(&root.join("v6probe").join("Cargo.toml"))?;
    let mut chosen: Vec<String> = args.only.iter().chain(&args.names).cloned().collect();
    for c in &chosen {
        if c != DUALSTACK && !all.contains(c) {
            bail!(
                "no benchmark `{c}`: the benchmarks are {}, {DUALSTACK}",
                all.join(", ")
            );
        }
    }
    if chosen.is_empty() {
        chosen = all.clone();
        chosen.push(DUALSTACK.into());
    }
    if !args.no_setup {
        crate::setup::run(&crate::setup::Args::default())?;
    }
    // One build of every selected bench target, so a compile error stops here, once.
    let targets: Vec<&String> = chosen.iter().filter(|c| *c != DUALSTACK).collect();
    if !targets.is_empty() {
        let mut build = Command::new("cargo");
        build
            .current_dir(&root)
            .args(["bench", "--package", "v6probe", "--no-run"]);
        for t in &targets {
            build.args(["--bench", t]);
        }
        step("bench (build)", &mut build)?;
    }
    let dir = v6probe_lab::bench::bench_dir();
    let mut outcomes = Vec::new();
    for name in &chosen {
        let started = SystemTime::now();
        let result = if name == DUALSTACK {
            crate::bench_dualstack::run()
        } else {
            let mut cmd = Command::new("cargo");
            cmd.current_dir(&root)
                .args(["bench", "--package", "v6probe", "--bench", name]);
            if let Some(m) = args.minutes {
                cmd.env("V6PROBE_SOAK_MINUTES", m.to_string());
            }
            run_bench(name, &mut cmd)
        };
        let path = dir.join(format!("{name}.json"));
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        outcomes.push(match (result, fresh) {
            (Ok(()), true) => Outcome::Written(path),
            (Ok(()), false) => Outcome::Failed(format!(
                "exited 0 but wrote no {} during this run",
                path.display()
            )),
            (Err(e), _) => Outcome::Failed(format!("{e:#}")),
        });
    }
    summary(&chosen, &outcomes)
}

enum Outcome {
    Written(PathBuf),
    Failed(String),
}

/// Prints what each benchmark wrote (or why it did not) and every target; fails if any
/// benchmark did not run to the end.
fn summary(names: &[String], outcomes: &[Outcome]) -> Result<()> {
    println!("\nbenchmarks:");
    let mut failed = Vec::new();
    for (name, o) in names.iter().zip(outcomes) {
        match o {
            Outcome::Written(p) => println!("  {name:<14} written: {}", p.display()),
            Outcome::Failed(why) => {
                println!("  {name:<14} FAILED: {why}");
                failed.push(name.as_str());
            }
        }
    }
    println!("\ntargets (from the files written by this run):");
    for (name, o) in names.iter().zip(outcomes) {
        let Outcome::Written(p) = o else { continue };
        match v6probe_lab::bench::read_targets(p) {
            Ok(ts) if ts.is_empty() => println!("  {name:<14} (no targets recorded)"),
            Ok(ts) => {
                for t in ts {
                    println!(
                        "  {name:<14} {:<7} {} = {:.3} ({})",
                        if t.met { "met" } else { "MISSED" },
                        t.what,
                        t.figure,
                        t.bound
                    );
                }
            }
            Err(e) => println!("  {name:<14} (cannot read targets: {e})"),
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} benchmark(s) did not run to the end: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Runs one benchmark, relaying its output; an error carries the reason it printed
/// (`bench NAME: cannot run: ...`) when there is one.
pub fn run_bench(name: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("xtask [bench {name}]: {}", describe(cmd));
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", describe(cmd)))?;
    let mut reason = None;
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if let Some(r) = line.split_once(": cannot run: ").map(|(_, r)| r) {
                reason = Some(r.to_string());
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {}", describe(cmd)))?;
    if status.success() {
        return Ok(());
    }
    match reason {
        Some(r) => bail!("cannot run: {r}"),
        None => bail!("exited with {status}"),
    }
}

/// The `[[bench]]` names of a Cargo.toml, in order.
fn bench_targets(manifest: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    Ok(parse_bench_targets(&text))
}

fn parse_bench_targets(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bench = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bench = line == "[[bench]]";
        } else if in_bench {
            if let Some(v) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('='))
            {
                names.push(v.trim().trim_matches('"').to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_targets_from_the_manifest() {
        let toml = "[package]\nname = \"v6probe\"\n\n[[bin]]\nname = \"v6probe\"\n\n\
                    [[bench]]\nname = \"xdp\"\nharness = false\n\n[[bench]]\nharness = false\n\
                    name = \"scan\"\n\n[dev-dependencies]\nname = 1\n";
        assert_eq!(parse_bench_targets(toml), ["xdp", "scan"]);
    }

    #[test]
    fn the_real_manifest_lists_the_benches() {
        let all = bench_targets(&workspace_root().join("v6probe").join("Cargo.toml")).unwrap();
        assert!(all.iter().any(|b| b == "xdp"), "{all:?}");
    }
}
