//! Builds the eBPF programs (`v6probe-ebpf`) with aya-build and leaves the object in OUT_DIR,
//! where `observe::EBPF_OBJECT` embeds it. With `AYA_BUILD_SKIP=1` (cross-target checks, quick
//! builds of the tools that do not load programs) an empty placeholder is written instead and the
//! monitor reports that the binary was built without its kernel programs.
use std::{env, fs, path::PathBuf};

use anyhow::{anyhow, Context as _};

fn main() -> anyhow::Result<()> {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or_else(|| anyhow!("OUT_DIR not set"))?);
    let object = out_dir.join("v6probe");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let ebpf_dir = manifest_dir
        .parent()
        .ok_or_else(|| anyhow!("no workspace above {}", manifest_dir.display()))?
        .join("v6probe-ebpf");
    let ebpf_dir = ebpf_dir
        .to_str()
        .ok_or_else(|| anyhow!("non-UTF-8 path {}", ebpf_dir.display()))?;

    if target_os == "linux" {
        aya_build::build_ebpf(
            [aya_build::Package {
                name: "v6probe-ebpf",
                root_dir: ebpf_dir,
                ..Default::default()
            }],
            aya_build::Toolchain::Nightly,
        )
        .context("building the eBPF programs (run `cargo xtask setup` for the toolchain)")?;
    }
    build_commit(&manifest_dir);
    if !object.exists() {
        fs::write(&object, []).with_context(|| format!("writing {}", object.display()))?;
    }
    Ok(())
}

/// `V6PROBE_COMMIT` for `v6probe_build_info`: the commit being built (`-dirty` when the tree has
/// changes), or nothing outside a git checkout (the metric then says `unknown`).
fn build_commit(manifest_dir: &std::path::Path) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(manifest_dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return;
    };
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    println!(
        "cargo:rustc-env=V6PROBE_COMMIT={commit}{}",
        if dirty { "-dirty" } else { "" }
    );
    // Rebuilt when HEAD moves (a commit, a checkout); the index catches most edits.
    for p in ["HEAD", "index"] {
        if let Some(path) = git(&["rev-parse", "--git-path", p]) {
            let path = manifest_dir.join(path);
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &r]) {
            println!(
                "cargo:rerun-if-changed={}",
                manifest_dir.join(path).display()
            );
        }
    }
}
