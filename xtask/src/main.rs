//! Project tasks: `cargo xtask setup | test | bench | demo | fuzz | man | package`.
//!
//! `setup` is idempotent and quick when everything is present; `test`, `bench` and `demo` call it
//! first so the README's two commands work on a fresh machine.
use std::{path::PathBuf, process::ExitCode};

use anyhow::Result;
use clap::{Parser, Subcommand};

mod bench;
mod bench_dualstack;
mod bench_readme;
mod demo;
mod demo_lab;
mod package;
mod setup;
mod test;
mod util;

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install the eBPF toolchain (rust-src, bpf-linker), cross targets and the Debian packages
    /// the tests use.
    Setup(setup::Args),
    /// Set-up, formatting, clippy (user space and eBPF), every test (the privileged ones when
    /// root), BSD/macOS checks.
    Test(test::Args),
    /// Benchmarks: prints figures and ratios, writes target/bench/*.json.
    Bench(bench::Args),
    /// A throwaway lab of network namespaces talking NDP, watched by `v6probe monitor`.
    Demo(demo::Args),
    /// Run the cargo-fuzz targets for a while each.
    Fuzz(test::FuzzArgs),
    /// Man pages, one per subcommand, into target/man (from the clap definitions).
    Man(package::ManArgs),
    /// Debian package in target/debian: binary, systemd unit, man pages, completions, config.
    Package(package::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Setup(a) => setup::run(&a),
        Cmd::Test(a) => test::run(&a),
        Cmd::Bench(a) => bench::run(&a),
        Cmd::Demo(a) => demo::run(&a),
        Cmd::Fuzz(a) => test::fuzz(&a),
        Cmd::Man(a) => package::man(&a),
        Cmd::Package(a) => package::package(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

pub type Res = Result<()>;
