//! `v6probe completions SHELL` loaded by the real shells: bash and fish complete a subcommand and
//! a flag from the script, zsh reads it without a syntax error. (Elvish only loads completers in
//! an interactive session, and PowerShell is not a Debian package: their scripts are checked
//! for content in the unit tests.) `completions --man DIR` writes pages `man` can render.
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn script(shell: &str, dir: &v6probe_lab::TempDir, name: &str) -> std::path::PathBuf {
    let out = Command::new(BIN)
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.file(name, &out.stdout).unwrap()
}

fn shell(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (cargo xtask setup installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let dir = v6probe_lab::TempDir::new("compl").unwrap();
    let path = script("bash", &dir, "v6probe.bash");
    // What bash-completion does on TAB: set COMP_* and call the function `complete` names.
    let complete = |line: &str| -> Vec<String> {
        let prog = r#"source "$1"
func=$(complete -p v6probe | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
read -ra COMP_WORDS <<< "$2"
[[ "$2" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
"$func" v6probe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
        shell("bash", &["-c", prog, "bash", path.to_str().unwrap(), line])
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(complete("v6probe mon"), ["monitor"]);
    assert_eq!(complete("v6probe monitor --ho"), ["--hook"]);
    assert!(complete("v6probe ula ").contains(&"generate".to_string()));
}

#[test]
fn fish_completes_subcommands_and_flags() {
    let dir = v6probe_lab::TempDir::new("compl").unwrap();
    let path = script("fish", &dir, "v6probe.fish");
    let out = shell(
        "fish",
        &[
            "--no-config",
            "-c",
            "source $argv[1]; complete -C 'v6probe mon'; complete -C 'v6probe scan --ret'",
            path.to_str().unwrap(),
        ],
    );
    let first: Vec<&str> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(first, ["monitor", "--retries"], "{out}");
}

#[test]
fn zsh_reads_the_script() {
    let dir = v6probe_lab::TempDir::new("compl").unwrap();
    let path = script("zsh", &dir, "_v6probe");
    shell("zsh", &["-n", path.to_str().unwrap()]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("#compdef v6probe"), "{}", &text[..40]);
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));
}

#[test]
fn man_pages_render() {
    let dir = v6probe_lab::TempDir::new("man").unwrap();
    let out = Command::new(BIN)
        .args(["completions", "--man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "v6probe.1",
        "v6probe-monitor.1",
        "v6probe-ula-generate.1",
        "v6probe-completions.1",
    ] {
        let text = shell(
            "man",
            &["-l", "-P", "cat", dir.path().join(page).to_str().unwrap()],
        );
        let name = page.trim_end_matches(".1");
        assert!(
            text.contains("NAME") && text.contains(name),
            "{page}: {text}"
        );
    }
    let monitor = std::fs::read_to_string(dir.path().join("v6probe-monitor.1")).unwrap();
    assert!(
        monitor.contains("interface"),
        "the monitor page lists its flags"
    );
}
