//! What every benchmark shares: where its figures go, the `meta` block that says where and on
//! what they were measured, its targets with met/missed, and a clear failure when it cannot run.
//!
//! A benchmark calls [`Bench::start`] first: that removes its previous JSON, so a run that
//! fails (not root, a peer tool missing, a panic) never leaves older figures that pass for this
//! run's. It then checks what it needs ([`Bench::require_privileges`],
//! [`Bench::require_program`]), which exits non-zero with the reason, measures, records each
//! target ([`Bench::target`]) and ends with [`Bench::finish`], which writes
//! `<target>/bench/<name>.json` as `{"meta": .., "targets": [..], ..figures}`.
use std::{
    fmt,
    path::{Path, PathBuf},
    process::Command,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where and on what a benchmark ran: part of every benchmark's JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// The benchmark's name (its JSON file's stem).
    pub bench: String,
    /// `git rev-parse HEAD` of the workspace, `unknown` outside a git checkout.
    pub commit: String,
    /// Whether the work tree had uncommitted changes (`git status --porcelain` not empty).
    pub dirty: bool,
    /// When the benchmark started, RFC 3339 UTC.
    pub date: String,
    /// `uname -r`.
    pub kernel: String,
    /// The first `model name` of /proc/cpuinfo.
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cores: usize,
    /// Whether it ran as root.
    pub root: bool,
}

impl Meta {
    /// Meta for benchmark `bench`, measured now.
    pub fn collect(bench: &str) -> Self {
        let root_dir = workspace_root();
        let git = |args: &[&str]| -> Option<String> {
            let o = Command::new("git")
                .args(args)
                .current_dir(&root_dir)
                .output()
                .ok()?;
            o.status
                .success()
                .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| cpu_model(&s))
            .unwrap_or_else(|| "unknown".into());
        Self {
            bench: bench.into(),
            commit,
            dirty,
            date: rfc3339_utc(SystemTime::now()),
            kernel,
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            // SAFETY: geteuid has no preconditions.
            root: unsafe { libc::geteuid() } == 0,
        }
    }
}

/// The first `model name` line of /proc/cpuinfo text.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "model name").then(|| v.trim().to_string())
    })
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ` (UTC; times before 1970 print as 1970).
pub fn rfc3339_utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t.max(UNIX_EPOCH)).to_string()
}

/// Which way a target bounds its figure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The figure must be at most this.
    AtMost(f64),
    /// The figure must be at least this.
    AtLeast(f64),
}

impl Bound {
    pub fn met(self, figure: f64) -> bool {
        match self {
            // NaN (a figure that could not be measured) never meets a target.
            Bound::AtMost(b) => figure <= b,
            Bound::AtLeast(b) => figure >= b,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::AtMost(b) => write!(f, "<= {b}"),
            Bound::AtLeast(b) => write!(f, ">= {b}"),
        }
    }
}

/// One target of a benchmark, as written to its JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Target {
    /// What is compared, e.g. `monitor --events none CPU per offered frame / tcpdump's`.
    pub what: String,
    pub figure: f64,
    pub bound: Bound,
    pub met: bool,
}

/// A running benchmark (see the module documentation).
#[derive(Debug)]
pub struct Bench {
    meta: Meta,
    path: PathBuf,
    targets: Vec<Target>,
}

impl Bench {
    /// Starts benchmark `name`: removes its previous `<target>/bench/<name>.json` (exits
    /// non-zero if that fails) and collects [`Meta`].
    pub fn start(name: &str) -> Self {
        let path = bench_dir().join(format!("{name}.json"));
        let bench = Self {
            meta: Meta::collect(name),
            path,
            targets: Vec::new(),
        };
        match std::fs::remove_file(&bench.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bench.fail(format_args!(
                "removing the previous {}: {e}",
                bench.path.display()
            )),
        }
        eprintln!(
            "bench {name}: commit {}{}, kernel {}, {} x {}, {}",
            short(&bench.meta.commit),
            if bench.meta.dirty { " (dirty)" } else { "" },
            bench.meta.kernel,
            bench.meta.cores,
            bench.meta.cpu_model,
            if bench.meta.root { "root" } else { "not root" }
        );
        bench
    }

    pub fn name(&self) -> &str {
        &self.meta.bench
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Where [`Self::finish`] writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ends the process with exit code 1 after saying why the benchmark cannot run (or
    /// finish). No JSON is written.
    pub fn fail(&self, reason: impl fmt::Display) -> ! {
        eprintln!("bench {}: cannot run: {reason}", self.meta.bench);
        std::process::exit(1)
    }

    /// The value, or [`Self::fail`] naming `what` failed and why.
    #[track_caller]
    pub fn check<T, E: fmt::Display>(&self, r: Result<T, E>, what: impl fmt::Display) -> T {
        match r {
            Ok(v) => v,
            Err(e) => self.fail(format_args!("{what}: {e}")),
        }
    }

    /// Root, `ip`, network namespaces (see [`crate::missing_privileges`]), or [`Self::fail`].
    pub fn require_privileges(&self) {
        if let Some(why) = crate::missing_privileges() {
            self.fail(why);
        }
    }

    /// The path of `program` on `PATH` (or in /usr/sbin, /sbin), or [`Self::fail`] naming
    /// the Debian `package` that provides it.
    pub fn require_program(&self, program: &str, package: &str) -> PathBuf {
        find_program(program).unwrap_or_else(|| {
            self.fail(format_args!(
                "`{program}` not found (Debian package {package}; `cargo xtask setup` installs it)"
            ))
        })
    }

    /// Records a target and prints it with met / MISSED. Returns whether it is met.
    pub fn target(&mut self, what: impl Into<String>, figure: f64, bound: Bound) -> bool {
        let t = Target {
            what: what.into(),
            figure,
            bound,
            met: bound.met(figure),
        };
        println!(
            "target: {} = {:.3} ({}): {}",
            t.what,
            t.figure,
            t.bound,
            if t.met { "met" } else { "MISSED" }
        );
        let met = t.met;
        self.targets.push(t);
        met
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Writes `{"meta", "targets", ...figures}` (figures that are not a JSON object go under
    /// `figures`) to [`Self::path`], prints where, and returns the path. Exits non-zero if the
    /// file cannot be written.
    pub fn finish(self, figures: &impl Serialize) -> PathBuf {
        let figures = self.check(serde_json::to_value(figures), "serializing the figures");
        let mut out = serde_json::Map::new();
        out.insert(
            "meta".into(),
            self.check(serde_json::to_value(&self.meta), "serializing meta"),
        );
        out.insert(
            "targets".into(),
            self.check(serde_json::to_value(&self.targets), "serializing targets"),
        );
        match figures {
            Value::Object(m) => {
                for (k, v) in m {
                    if k != "meta" && k != "targets" {
                        out.insert(k, v);
                    }
                }
            }
            other => {
                out.insert("figures".into(), other);
            }
        }
        let dir = bench_dir();
        self.check(
            std::fs::create_dir_all(&dir),
            format_args!("creating {}", dir.display()),
        );
        let text = self.check(
            serde_json::to_string_pretty(&Value::Object(out)),
            "serializing",
        );
        self.check(
            std::fs::write(&self.path, text + "\n"),
            format_args!("writing {}", self.path.display()),
        );
        let met = self.targets.iter().filter(|t| t.met).count();
        println!(
            "bench {}: {met}/{} targets met; written: {}",
            self.meta.bench,
            self.targets.len(),
            self.path.display()
        );
        self.path
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// The workspace root (this crate's parent folder).
fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `<target>/bench`: under `CARGO_TARGET_DIR`, or the workspace's `target/`.
pub fn bench_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("bench")
}

/// The targets recorded in a benchmark's JSON file (none for a file without `targets`).
pub fn read_targets(path: &Path) -> std::io::Result<Vec<Target>> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path)?)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    targets_in(&v).map_err(|e| std::io::Error::other(format!("{}: targets: {e}", path.display())))
}

/// The targets of a benchmark's JSON already parsed (none when it has no `targets`).
pub fn targets_in(json: &Value) -> serde_json::Result<Vec<Target>> {
    json.get("targets")
        .map_or(Ok(Vec::new()), Vec::<Target>::deserialize)
}

/// `program` on `PATH`, or in /usr/sbin and /sbin (not always on a user's `PATH`).
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The calling thread's CPU time in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`: it advances only
/// while the thread runs, so time the host takes from the thread counts for no measurement).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write; the clock id is a constant the OS knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The q-quantile (0..=1) of `v`, by linear interpolation between the sorted values; NaN when
/// `v` is empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc3339_utc() {
        let at = |s| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400`: the leap day of a year divisible by 400.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn cpu_model_is_the_first_model_name() {
        let info = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Some CPU @ 2.0GHz\n\n\
                    processor\t: 1\nmodel name\t: Other\n";
        assert_eq!(cpu_model(info).as_deref(), Some("Some CPU @ 2.0GHz"));
        assert_eq!(cpu_model("processor : 0\n"), None);
    }

    #[test]
    fn bounds() {
        assert!(Bound::AtMost(1.0).met(1.0));
        assert!(!Bound::AtMost(1.0).met(1.01));
        assert!(Bound::AtLeast(0.95).met(0.96));
        assert!(!Bound::AtLeast(0.95).met(f64::NAN));
        assert!(!Bound::AtMost(4.0).met(f64::NAN));
        assert_eq!(Bound::AtMost(1.1).to_string(), "<= 1.1");
    }

    #[test]
    fn targets_round_trip_through_the_json() {
        let dir = crate::TempDir::new("bench-t").unwrap();
        let t = Target {
            what: "x / y".into(),
            figure: 0.5,
            bound: Bound::AtMost(1.0),
            met: true,
        };
        let p = dir
            .file(
                "b.json",
                serde_json::to_string(&serde_json::json!({"targets": [t]}))
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap();
        let back = read_targets(&p).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].bound, Bound::AtMost(1.0));
        assert!(back[0].met);
        let p = dir.file("c.json", b"{}").unwrap();
        assert!(read_targets(&p).unwrap().is_empty());
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("v6p-no-such-program").is_none());
    }

    #[test]
    fn meta_names_the_bench_and_this_machine() {
        let m = Meta::collect("unit");
        assert_eq!(m.bench, "unit");
        assert!(m.cores >= 1);
        assert_eq!(m.date.len(), 20, "{}", m.date);
        assert!(!m.kernel.is_empty());
    }
}
