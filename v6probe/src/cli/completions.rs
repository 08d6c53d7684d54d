//! `v6probe completions SHELL`: the shell completion script, generated from the command line's
//! own clap definition (clap_complete), so it never drifts from the flags. Install it where the
//! shell looks, e.g. `v6probe completions bash > /usr/share/bash-completion/completions/v6probe`.
//!
//! `v6probe completions --man DIR` (hidden: `cargo xtask man` and `cargo xtask package` call
//! it) writes one roff man page per command and subcommand (clap_mangen) into DIR:
//! `v6probe.1`, `v6probe-monitor.1`, `v6probe-ula-generate.1`, ...
use std::{
    io::{self, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to print the completion script for.
    #[arg(value_enum, required_unless_present = "man")]
    pub shell: Option<Shell>,
    /// Write one man page per command into DIR (created if missing) instead.
    #[arg(long, value_name = "DIR", hide = true, conflicts_with = "shell")]
    pub man: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if let Some(dir) = &args.man {
        let pages = man_pages(dir)?;
        eprintln!("v6probe: wrote {pages} man pages into {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(shell) = args.shell else {
        // clap requires SHELL unless --man is given.
        return Ok(ExitCode::from(super::EXIT_USAGE));
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut super::Cli::command(), "v6probe", &mut script);
    let mut out = io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Writes the man pages of `v6probe` and every visible subcommand into `dir`; returns how many.
fn man_pages(dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = 0;
    write_pages(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut usize) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let man = clap_mangen::Man::new(cmd.clone()).manual("v6probe manual");
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)
        .with_context(|| format!("rendering {}", path.display()))?;
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    *written += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut crate::cli::Cli::command(),
                "v6probe",
                &mut script,
            );
            let text = String::from_utf8(script).unwrap();
            for sub in ["decode", "ula", "completions"] {
                assert!(text.contains(sub), "{shell}: no `{sub}` in the script");
            }
        }
    }
}
