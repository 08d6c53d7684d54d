//! `cargo xtask man` and `cargo xtask package`: the man pages (clap_mangen, written by the built
//! binary's hidden `completions --man DIR`, so they come from the same clap definition as the
//! flags), and a Debian package built by cargo-deb from `[package.metadata.deb]` in
//! `v6probe/Cargo.toml`: the binary, the systemd unit, the man pages, the bash/zsh/fish
//! completions, the example config and the README.
//!
//! The binary is built once by cargo (release by default); `--no-build` packages the one already
//! built for `--profile`, which is how the package test reuses the test build instead of
//! compiling a release binary.
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, ensure, Context as _, Result};

use crate::{
    util::{output, probe, step},
    workspace_root,
};

/// The cargo-deb release `package` installs when `cargo deb` is missing or another version.
pub const CARGO_DEB_VERSION: &str = "3.8.0";

/// Completion scripts packaged, with the file name each shell's loader looks for.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "v6probe"),
    ("zsh", "_v6probe"),
    ("fish", "v6probe.fish"),
];

#[derive(clap::Args)]
pub struct ManArgs {
    /// Use this v6probe binary instead of building one (`cargo build -p v6probe`).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Where to write the pages (default: target/man).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct Args {
    /// Cargo profile of the packaged binary (`release`, `dev`, or a custom one).
    #[arg(long, default_value = "release")]
    pub profile: String,
    /// Package the binary already built for `--profile` instead of building it.
    #[arg(long)]
    pub no_build: bool,
    /// Folder for the .deb (default: target/debian).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Faster, weaker compression (for tests).
    #[arg(long)]
    pub fast: bool,
}

/// Cargo's target folder (`CARGO_TARGET_DIR` or the workspace's `target/`).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The folder cargo puts a profile's artifacts in.
fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        p => p,
    }
}

pub fn man(args: &ManArgs) -> Result<()> {
    let root = workspace_root();
    let bin = match &args.binary {
        Some(b) => b.clone(),
        None => {
            step(
                "man",
                Command::new("cargo").current_dir(&root).args([
                    "build",
                    "--package",
                    "v6probe",
                    "--bin",
                    "v6probe",
                ]),
            )?;
            target_dir(&root).join("debug").join("v6probe")
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir(&root).join("man"));
    let pages = write_man_pages(&bin, &out)?;
    for p in &pages {
        println!("{}", p.display());
    }
    eprintln!("xtask [man]: {} pages in {}", pages.len(), out.display());
    Ok(())
}

/// Runs `BIN completions --man DIR` into a clean DIR; returns the pages, sorted.
fn write_man_pages(bin: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    ensure!(
        bin.is_file(),
        "no v6probe binary at {}: build it first (or drop --no-build / --binary)",
        bin.display()
    );
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    step(
        "man",
        Command::new(bin).args(["completions", "--man"]).arg(dir),
    )?;
    let mut pages: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    ensure!(
        pages.iter().any(|p| p.ends_with("v6probe.1")),
        "{} wrote no v6probe.1 into {}",
        bin.display(),
        dir.display()
    );
    Ok(pages)
}

pub fn package(args: &Args) -> Result<()> {
    let root = workspace_root();
    cargo_deb()?;
    if !args.no_build {
        step(
            "package",
            Command::new("cargo").current_dir(&root).args([
                "build",
                "--package",
                "v6probe",
                "--bin",
                "v6probe",
                "--profile",
                &args.profile,
            ]),
        )?;
    }
    // Assets named `target/release/...` in [package.metadata.deb] resolve to this folder for
    // the profile cargo-deb is given.
    let products = target_dir(&root).join(profile_dir(&args.profile));
    let bin = products.join("v6probe");
    let assets = products.join("deb-assets");
    // Debian policy: man pages compressed with gzip -9n (no name or time stamp).
    let mut gzip = Command::new("gzip");
    gzip.arg("-9nf")
        .args(write_man_pages(&bin, &assets.join("man"))?);
    step("package", &mut gzip)?;
    let completions = assets.join("completions");
    fs::create_dir_all(&completions)
        .with_context(|| format!("creating {}", completions.display()))?;
    for (shell, name) in COMPLETIONS {
        let script = output("package", Command::new(&bin).args(["completions", shell]))?;
        ensure!(
            !script.trim().is_empty(),
            "`v6probe completions {shell}` printed nothing"
        );
        let path = completions.join(name);
        fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut deb = Command::new("cargo");
    deb.current_dir(&root).args([
        "deb",
        "--package",
        "v6probe",
        "--no-build",
        "--profile",
        &args.profile,
    ]);
    if let Some(out) = &args.output {
        fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        deb.arg("--output").arg(out);
    }
    if args.fast {
        deb.arg("--fast");
    }
    let printed = output("package", &mut deb)?;
    let path = printed
        .lines()
        .map(str::trim)
        .rfind(|l| l.ends_with(".deb"))
        .context("cargo deb did not print the path of the package it built")?;
    println!("{path}");
    Ok(())
}

/// Installs cargo-deb (pinned) unless `cargo deb --version` already reports that version.
fn cargo_deb() -> Result<()> {
    let have = Command::new("cargo")
        .args(["deb", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if have.contains(CARGO_DEB_VERSION) {
        return Ok(());
    }
    step(
        "cargo-deb",
        Command::new("cargo").args([
            "install",
            "cargo-deb",
            "--version",
            CARGO_DEB_VERSION,
            "--locked",
        ]),
    )
    .context("installing cargo-deb from crates.io (needed to build the Debian package)")?;
    if !probe(Command::new("cargo").args(["deb", "--version"])) {
        bail!(
            "cargo-deb installed, but `cargo deb --version` does not run: is ~/.cargo/bin on PATH?"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::profile_dir;

    #[test]
    fn profiles_map_to_cargo_folders() {
        assert_eq!(profile_dir("dev"), "debug");
        assert_eq!(profile_dir("release"), "release");
        assert_eq!(profile_dir("dist"), "dist");
    }
}
