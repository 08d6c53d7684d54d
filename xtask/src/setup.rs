//! `cargo xtask setup`: everything a fresh machine needs, each step skipped when already done.
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

use crate::util::{output, probe, step};

/// Debian packages the tests, benchmarks and demo use. Kept in one place so `.ci/run` on a fresh
/// machine and a developer's machine install the same things.
pub const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    // (a command or file the package provides, package)
    ("ip", "iproute2"),
    ("tshark", "tshark"),
    (
        "/usr/lib/python3/dist-packages/scapy/__init__.py",
        "python3-scapy",
    ),
    ("ndisc6", "ndisc6"),
    ("radvd", "radvd"),
    ("tcpdump", "tcpdump"),
    ("scan6", "ipv6toolkit"),
    ("atk6-alive6", "thc-ipv6"),
    ("curl", "curl"),
    ("ping", "iputils-ping"),
    ("sysctl", "procps"),
    // tests list the programs attached to an interface (XDP, TC, TCX links).
    ("bpftool", "bpftool"),
    // ula tests compare with hashlib and ipaddress; the dualstack bench's sequential client.
    ("/usr/bin/python3", "python3"),
    // neigh tests bind-mount a sysctl read-only.
    ("mount", "mount"),
    // the dualstack bench pins CPUs; the least-privilege tests drop to a user with setpriv.
    ("taskset", "util-linux"),
    // monitor service tests: a real Prometheus scrapes /metrics (promtool checks a scrape), a
    // real rsyslog receives the syslog sink's messages, bpftool lists what stays attached.
    ("prometheus", "prometheus"),
    ("/usr/sbin/rsyslogd", "rsyslog"),
    ("/usr/sbin/bpftool", "bpftool"),
    ("setpriv", "util-linux"),
    // completions are loaded by the real shells; man pages rendered by man.
    ("zsh", "zsh"),
    ("fish", "fish"),
    ("man", "man-db"),
    // `systemd-analyze verify` and `security` check the unit (no running systemd needed).
    ("systemd-analyze", "systemd"),
    // cargo-deb computes the package's shared-library dependencies with dpkg-shlibdeps.
    ("dpkg-shlibdeps", "dpkg-dev"),
    // the detector names MAC vendors from the IEEE registry; its test reads the real one.
    ("/usr/share/ieee-data/oui.csv", "ieee-data"),
];

/// Cross targets whose `cargo check` proves the BSD/macOS code compiles.
pub const CROSS_TARGETS: &[&str] = &["x86_64-unknown-freebsd", "x86_64-apple-darwin"];

const BPF_LINKER_VERSION: &str = "0.13.0";

#[derive(clap::Args, Default)]
pub struct Args {
    /// Skip the Debian packages (toolchain only).
    #[arg(long)]
    pub no_packages: bool,
}

pub fn run(args: &Args) -> Result<()> {
    rust_src()?;
    bpf_linker()?;
    cross_targets()?;
    if !args.no_packages {
        debian_packages()?;
    }
    eprintln!("xtask [setup]: ready");
    Ok(())
}

fn rust_src() -> Result<()> {
    let installed = output(
        "rust-src",
        Command::new("rustup").args(["component", "list", "--installed", "--toolchain", "nightly"]),
    )
    .context(
        "the nightly toolchain is needed to build the eBPF programs: `rustup toolchain install nightly`",
    )?;
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        return Ok(());
    }
    step(
        "rust-src",
        Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]),
    )
    .context("the eBPF build needs rust-src (-Z build-std=core); is the network reachable?")
}

fn bpf_linker_works() -> bool {
    // bpf-linker links the nightly toolchain's libLLVM dynamically; `rustup run nightly` puts
    // the toolchain's lib folder on the library path, exactly as aya-build runs it.
    let Ok(out) = Command::new("rustup")
        .args(["run", "nightly", "bpf-linker", "--version"])
        .output()
    else {
        return false;
    };
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains(BPF_LINKER_VERSION)
}

fn bpf_linker() -> Result<()> {
    if bpf_linker_works() {
        return Ok(());
    }
    // bpf-linker has no prebuilt download here: build it against the nightly toolchain's own
    // LLVM, exposed as <prefix>/lib/libLLVM.so.
    let sysroot = output(
        "bpf-linker",
        Command::new("rustc").args(["+nightly", "--print", "sysroot"]),
    )?;
    let libdir = PathBuf::from(sysroot.trim()).join("lib");
    let llvm = find_llvm(&libdir)?;
    let prefix = dirs_cache().join("v6probe-llvm");
    let link = prefix.join("lib").join("libLLVM.so");
    fs::create_dir_all(prefix.join("lib"))
        .with_context(|| format!("step `bpf-linker`: creating {}", prefix.display()))?;
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&llvm, &link).with_context(|| {
        format!(
            "step `bpf-linker`: linking {} -> {}",
            link.display(),
            llvm.display()
        )
    })?;
    step(
        "bpf-linker",
        Command::new("cargo")
            .args([
                "+nightly",
                "install",
                "bpf-linker",
                "--version",
                BPF_LINKER_VERSION,
                "--locked",
                "--no-default-features",
                "--features",
                "llvm-22",
            ])
            .env("LLVM_PREFIX", &prefix),
    )
    .context(
        "building bpf-linker from source failed; it needs the nightly toolchain (rustup toolchain \
         install nightly) and crates.io",
    )?;
    if !bpf_linker_works() {
        bail!("step `bpf-linker`: installed, but `bpf-linker --version` does not run under `rustup run nightly`; is ~/.cargo/bin on PATH?");
    }
    Ok(())
}

fn find_llvm(libdir: &Path) -> Result<PathBuf> {
    let entries = fs::read_dir(libdir)
        .with_context(|| format!("step `bpf-linker`: reading {}", libdir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("libLLVM.so.22") || name.starts_with("libLLVM-22") {
            return Ok(e.path());
        }
    }
    bail!(
        "step `bpf-linker`: no libLLVM.so.22* in {}: the nightly toolchain's LLVM is not version \
         22; install the nightly that ships LLVM 22 or change the llvm-22 feature",
        libdir.display()
    )
}

fn dirs_cache() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
        .join(".cache")
}

fn cross_targets() -> Result<()> {
    let installed = output(
        "cross-targets",
        Command::new("rustup").args(["target", "list", "--installed"]),
    )?;
    let missing: Vec<&str> = CROSS_TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add"]).args(&missing);
    step("cross-targets", &mut cmd)
        .context("needed for `cargo check --target` of the BSD/macOS code")
}

fn debian_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(probe_for, _)| !present(probe_for))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !crate::util::is_root() {
        bail!(
            "step `packages`: missing Debian packages {}: run `sudo apt-get install {}`",
            missing.join(" "),
            missing.join(" ")
        );
    }
    step("packages", Command::new("apt-get").arg("update"))
        .context("apt-get update failed: is the Debian mirror reachable?")?;
    let mut cmd = Command::new("apt-get");
    cmd.args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive");
    step("packages", &mut cmd).context("apt-get install failed")
}

fn present(what: &str) -> bool {
    if what.starts_with('/') {
        return Path::new(what).exists();
    }
    probe(Command::new("sh").args(["-c", &format!("command -v {what}")]))
        || Path::new("/usr/sbin").join(what).exists()
}
