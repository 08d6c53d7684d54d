//! The Debian package, installed into this system: `cargo xtask package --no-build` (cargo-deb)
//! packages the binary this test build already made, `dpkg -i` installs it, the installed
//! binary runs, the man pages render, the files are where `dpkg -L` says; `dpkg -r` (then a
//! purge of the config files) removes it again on every path, failures included.
#![cfg(target_os = "linux")]

use std::{path::Path, process::Command};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed() -> bool {
    Command::new("dpkg")
        .args(["-s", "v6probe"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Removes the package when dropped (the test's end, or a failed assertion).
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        for args in [["-r", "v6probe"], ["--purge", "v6probe"]] {
            match Command::new("dpkg").args(args).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => eprintln!(
                    "dpkg {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => eprintln!("dpkg {}: {e}", args.join(" ")),
            }
        }
    }
}

#[test]
#[ignore = "needs root: installs the package into this system with dpkg -i (and removes it)"]
fn deb_installs_runs_and_removes() {
    v6probe_lab::require_privileges();
    assert!(
        !installed(),
        "a v6probe package is already installed here; this test will not replace it"
    );
    // The profile folder of this test build (target/debug for `cargo test`): `--no-build`
    // packages the binary in it instead of compiling a release one.
    let profile = Path::new(BIN)
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .expect("the binary's folder");
    let profile = if profile == "debug" { "dev" } else { profile };
    let out = v6probe_lab::TempDir::new("deb").unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let printed = run(
        &cargo,
        &[
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "package",
            "--profile",
            profile,
            "--no-build",
            "--fast",
            "--output",
            out.path().to_str().unwrap(),
        ],
    );
    let deb = printed
        .lines()
        .rfind(|l| l.ends_with(".deb"))
        .unwrap_or_else(|| panic!("no .deb path printed: {printed}"))
        .trim()
        .to_string();
    assert!(deb.starts_with(out.path().to_str().unwrap()), "{deb}");

    let _installed = Installed;
    run("dpkg", &["-i", &deb]);
    let files: Vec<String> = run("dpkg", &["-L", "v6probe"])
        .lines()
        .map(str::to_string)
        .collect();
    for want in [
        "/usr/bin/v6probe",
        "/usr/lib/systemd/system/v6probe-monitor.service",
        "/usr/share/man/man1/v6probe.1.gz",
        "/usr/share/man/man1/v6probe-monitor.1.gz",
        "/usr/share/bash-completion/completions/v6probe",
        "/usr/share/zsh/vendor-completions/_v6probe",
        "/usr/share/fish/vendor_completions.d/v6probe.fish",
        "/usr/share/doc/v6probe/v6probe.schema.json",
        "/etc/v6probe/monitor.toml",
    ] {
        assert!(
            files.iter().any(|f| f == want),
            "{want} not in dpkg -L: {files:?}"
        );
        assert!(Path::new(want).exists(), "{want} listed but not on disk");
    }
    // The example config is a conffile: an upgrade keeps the operator's edits.
    let conffiles = run("dpkg-query", &["-W", "-f=${Conffiles}", "v6probe"]);
    assert!(
        conffiles.contains("/etc/v6probe/monitor.toml"),
        "{conffiles}"
    );
    assert_eq!(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/config/monitor.toml"
        ))
        .unwrap(),
        std::fs::read("/etc/v6probe/monitor.toml").unwrap()
    );
    // The installed binary is this build's.
    let version = run("/usr/bin/v6probe", &["--version"]);
    assert_eq!(version, run(BIN, &["--version"]));
    assert!(version.starts_with("v6probe "), "{version}");
    let bash = run("/usr/bin/v6probe", &["completions", "bash"]);
    assert!(bash.contains("complete -F"), "{bash}");
    assert_eq!(
        std::fs::read_to_string("/usr/share/bash-completion/completions/v6probe").unwrap(),
        bash,
        "the packaged bash completion differs from the installed binary's"
    );
    let page = run(
        "man",
        &[
            "-l",
            "-P",
            "cat",
            "/usr/share/man/man1/v6probe-monitor.1.gz",
        ],
    );
    assert!(page.contains("v6probe-monitor"), "{page}");
    assert!(page.contains("--interface"), "{page}");

    drop(_installed);
    assert!(!installed(), "still installed after dpkg -r / --purge");
    assert!(!Path::new("/usr/bin/v6probe").exists());
}
