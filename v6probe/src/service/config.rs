//! `monitor --config FILE.toml`: every monitor flag as a key, spelled as on the command line
//! without the leading `--` (`interface = ["eth0"]`, `metrics-listen = "[::]:9478"`,
//! `rotate-compress = true`). Repeatable flags take an array (or one value); switches take a
//! boolean; numbers may be TOML integers or strings. Flags given on the command line override
//! the file's (a repeatable flag given there replaces the file's list). Relative paths are
//! relative to the working directory, as on the command line.
//!
//! The file is turned into command-line arguments and parsed by the same clap definitions,
//! so a value means exactly what it means as a flag; each value is first checked with that
//! flag's own parser, so an error names `file:line:column`.
use std::{
    collections::HashSet,
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
};

use clap::{ArgAction, Command};
use thiserror::Error;
use toml::de::{DeTable, DeValue};

/// A config file may not be larger than this.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("reading {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The arguments `path` stands for, for `cmd` (the monitor subcommand), leaving out the flags
/// whose ids are in `given` (set on the command line).
pub fn args_from_file(
    path: &Path,
    cmd: &Command,
    given: &HashSet<String>,
) -> Result<Vec<OsString>, ConfigError> {
    let io = |source| ConfigError::Io {
        file: path.to_path_buf(),
        source,
    };
    let bytes = crate::files::read_regular(path, MAX_CONFIG_BYTES)
        .map_err(io)?
        .ok_or_else(|| io(std::io::Error::from(std::io::ErrorKind::NotFound)))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        ConfigError::At {
            file: path.to_path_buf(),
            line,
            column,
            message: "not UTF-8 text".into(),
        }
    })?;
    args_from_str(&text, path, cmd, given)
}

/// [`args_from_file`] on text already read (`path` names it in errors).
pub fn args_from_str(
    text: &str,
    path: &Path,
    cmd: &Command,
    given: &HashSet<String>,
) -> Result<Vec<OsString>, ConfigError> {
    let at = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        ConfigError::At {
            file: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let table = DeTable::parse(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        at(offset, e.message().trim().to_string())
    })?;
    let mut out = Vec::new();
    for (key, value) in table.get_ref() {
        let name = key.get_ref().as_ref();
        let key_at = key.span().start;
        let long = name.replace('_', "-");
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config" && long != "help")
            .ok_or_else(|| {
                let known: Vec<&str> = cmd
                    .get_arguments()
                    .filter_map(|a| a.get_long())
                    .filter(|l| !matches!(*l, "config" | "help" | "log"))
                    .collect();
                at(
                    key_at,
                    format!(
                        "unknown key `{name}`; the keys are the monitor's flags: {}",
                        known.join(", ")
                    ),
                )
            })?;
        if given.contains(arg.get_id().as_str()) {
            continue;
        }
        let flag = format!("--{long}");
        let repeatable = matches!(arg.get_action(), ArgAction::Append);
        let switch = matches!(arg.get_action(), ArgAction::SetTrue);
        let val_at = value.span().start;
        if switch {
            match value.get_ref() {
                DeValue::Boolean(true) => out.push(OsString::from(&flag)),
                DeValue::Boolean(false) => {}
                _ => {
                    return Err(at(
                        val_at,
                        format!("`{name}` is a switch: give true or false"),
                    ))
                }
            }
            continue;
        }
        let items: Vec<(String, usize)> = match value.get_ref() {
            DeValue::Array(a) if repeatable => a
                .iter()
                .map(|v| scalar(v.get_ref()).map(|s| (s, v.span().start)))
                .collect::<Option<_>>()
                .ok_or_else(|| at(val_at, format!("`{name}`: give strings or numbers")))?,
            DeValue::Array(_) => {
                return Err(at(val_at, format!("`{name}` takes one value, not a list")))
            }
            v => vec![scalar(v)
                .map(|s| (s, val_at))
                .ok_or_else(|| at(val_at, format!("`{name}`: give a string or a number")))?],
        };
        for (v, off) in items {
            let one = OsString::from(format!("{flag}={v}"));
            // The flag's own parser judges the value: the subcommand parses it alone (with
            // `--config` standing in for the interfaces it otherwise requires).
            cmd.clone()
                .no_binary_name(true)
                .try_get_matches_from([OsStr::new("--config=-"), one.as_os_str()])
                .map_err(|e| at(off, clap_message(&e)))?;
            out.push(one);
        }
    }
    Ok(out)
}

/// A TOML scalar as the text a flag would take.
fn scalar(v: &DeValue) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            i64::from_str_radix(&digits, i.radix())
                .ok()
                .map(|n| n.to_string())
        }
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A clap error's message, without the `error: ` prefix and the usage lines.
fn clap_message(e: &clap::Error) -> String {
    let s = e.to_string();
    let first = s.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn monitor_cmd() -> Command {
        let mut cmd = crate::cli::Cli::command();
        cmd.build();
        cmd.find_subcommand("monitor").unwrap().clone()
    }

    fn args(text: &str, given: &[&str]) -> Result<Vec<String>, ConfigError> {
        let given = given.iter().map(|s| s.to_string()).collect();
        args_from_str(text, Path::new("m.toml"), &monitor_cmd(), &given)
            .map(|v| v.into_iter().map(|s| s.into_string().unwrap()).collect())
    }

    #[test]
    fn keys_become_flags() {
        let a = args(
            "interface = [\"eth0\", \"eth1\"]\nrotate-compress = true\nsyslog-events = false\n\
             rotate_size = \"10M\"\nstats-interval = 30\nlearn = 1.5\nhook = \"tc\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            a,
            [
                "--hook=tc",
                "--interface=eth0",
                "--interface=eth1",
                "--learn=1.5",
                "--rotate-compress",
                "--rotate-size=10M",
                "--stats-interval=30",
            ]
        );
    }

    #[test]
    fn command_line_flags_are_left_out() {
        let a = args("interface = \"eth0\"\nhook = \"tc\"\n", &["interfaces"]).unwrap();
        assert_eq!(a, ["--hook=tc"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = args("hook = \"tc\"\n\nevents = \"some\"\n", &[]).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("m.toml:3:10: "), "{s}");
        assert!(s.contains("some"), "{s}");
        let e = args("interface = [\"eth0\"]\n  colour = 1\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.toml:2:3: unknown key `colour`"),
            "{e}"
        );
        let e = args("rotate-size = \"10X\"\n", &[]).unwrap_err();
        assert!(e.to_string().starts_with("m.toml:1:15: "), "{e}");
        let e = args("rotate-compress = \"yes\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("switch"), "{e}");
        let e = args("hook = [\"tc\"]\n", &[]).unwrap_err();
        assert!(e.to_string().contains("one value"), "{e}");
        let e = args("hook = \"tc\"\nhook = \"xdp\"\n", &[]).unwrap_err();
        assert!(e.to_string().starts_with("m.toml:2:"), "{e}");
        let e = args("config = \"x.toml\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("unknown key `config`"), "{e}");
    }

    #[test]
    fn line_columns() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
    }
}

#[cfg(test)]
mod example {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// The example config the packages ship is a valid monitor configuration, every key of it.
    #[test]
    fn the_shipped_example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/monitor.toml");
        let mut cmd = crate::cli::Cli::command();
        cmd.build();
        let monitor = cmd.find_subcommand("monitor").unwrap();
        let extra = args_from_file(&path, monitor, &HashSet::new()).unwrap();
        assert!(extra.len() >= 10, "{extra:?}");
        let mut argv = vec![OsString::from("v6probe"), OsString::from("monitor")];
        argv.extend(extra);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let crate::cli::Command::Monitor(a) = cli.command else {
            panic!("not monitor");
        };
        assert_eq!(a.interfaces, ["eth0"]);
        assert_eq!(a.rotate_size, Some(100 << 20));
        assert!(a.rotate_compress);
        assert_eq!(a.metrics_listen, Some("[::]:9478".parse().unwrap()));
        assert_eq!(
            a.detect.state.as_deref(),
            Some(Path::new("/var/lib/v6probe/state.json"))
        );
    }
}
