//! Running commands with a clear account of which step failed.
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

/// Runs a command with inherited stdio; an error names the step and the command line.
pub fn step(step: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("xtask [{step}]: {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("step `{step}`: could not start {}", describe(cmd)))?;
    if !status.success() {
        bail!("step `{step}` failed ({status}): {}", describe(cmd));
    }
    Ok(())
}

/// Runs a command quietly and returns whether it succeeded (used for probes).
pub fn probe(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs a command and returns its stdout; an error names the step.
pub fn output(step: &str, cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("step `{step}`: could not start {}", describe(cmd)))?;
    if !out.status.success() {
        bail!(
            "step `{step}` failed ({}): {}: {}",
            out.status,
            describe(cmd),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Whether we run as root (privileged tests, apt-get, attaching programs).
pub fn is_root() -> bool {
    probe(Command::new("sh").args(["-c", "[ \"$(id -u)\" = 0 ]"]))
}
