//! IPv6 Neighbor Discovery parameters in `/proc/sys/net/ipv6/neigh/<iface>/`: the keys, their
//! units and the ranges the kernel accepts, checked all together before any is written; a write
//! that fails restores the ones already written.
//!
//! The I/O goes through a root directory (normally `/proc/sys/net/ipv6/neigh`) so that the core
//! can be tested on a plain directory as well as on the kernel.
use std::{
    fs, io,
    path::{Path, PathBuf},
};

use serde::Serialize;

/// The kernel's `/proc` directory of IPv6 neighbour parameters.
pub const PROC_ROOT: &str = "/proc/sys/net/ipv6/neigh";

const INT_MAX: i64 = i32::MAX as i64;

/// One parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ParamSpec {
    pub key: &'static str,
    pub unit: &'static str,
    pub min: i64,
    pub max: i64,
    /// Only in `default/` (table-wide), not per interface.
    pub default_only: bool,
    pub about: &'static str,
}

const fn p(
    key: &'static str,
    unit: &'static str,
    min: i64,
    max: i64,
    about: &'static str,
) -> ParamSpec {
    ParamSpec {
        key,
        unit,
        min,
        max,
        default_only: false,
        about,
    }
}

/// Upper bound for values the kernel converts to jiffies (HZ up to 1000) without overflow.
const SECS_MAX: i64 = INT_MAX / 1000;
/// Same, for values in USER_HZ (1/100 s) ticks.
const TICKS_MAX: i64 = INT_MAX / 10;

/// The keys `neigh params` knows, in the order they are shown and written.
///
/// Ranges: the kernel's `proc_dointvec_*` handlers accept 0..=INT_MAX for counts
/// (`neigh_proc_dointvec_zero_intmax`), require interval_probe_time_ms > 0, bound unres_qlen by
/// INT_MAX / SKB_TRUESIZE(ETH_FRAME_LEN) (below INT_MAX / 4096 on every build), and convert
/// seconds and ticks to jiffies in an int (so at most INT_MAX / HZ).
pub const PARAMS: &[ParamSpec] = &[
    p(
        "base_reachable_time_ms",
        "ms",
        1,
        INT_MAX,
        "base for the random ReachableTime (RFC 4861 6.3.2)",
    ),
    p(
        "retrans_time_ms",
        "ms",
        1,
        INT_MAX,
        "RetransTimer: time between NS retransmissions",
    ),
    p(
        "delay_first_probe_time",
        "s",
        0,
        SECS_MAX,
        "DELAY_FIRST_PROBE_TIME: STALE to PROBE delay",
    ),
    p(
        "gc_stale_time",
        "s",
        0,
        SECS_MAX,
        "how long an unused entry is kept before GC",
    ),
    p(
        "ucast_solicit",
        "probes",
        0,
        INT_MAX,
        "unicast NS probes before FAILED (MAX_UNICAST_SOLICIT)",
    ),
    p(
        "mcast_solicit",
        "probes",
        0,
        INT_MAX,
        "multicast NS probes before FAILED (MAX_MULTICAST_SOLICIT)",
    ),
    p(
        "app_solicit",
        "probes",
        0,
        INT_MAX,
        "probes sent through a user-space daemon (ARPD)",
    ),
    p(
        "mcast_resolicit",
        "probes",
        0,
        INT_MAX,
        "multicast re-probes after unicast ones failed",
    ),
    p(
        "unres_qlen",
        "packets",
        0,
        INT_MAX / 4096,
        "packets queued per unresolved neighbour",
    ),
    p(
        "unres_qlen_bytes",
        "bytes",
        0,
        INT_MAX,
        "bytes queued per unresolved neighbour",
    ),
    p(
        "proxy_qlen",
        "packets",
        0,
        INT_MAX,
        "queue length of delayed proxy NAs",
    ),
    p(
        "anycast_delay",
        "ticks (1/100 s)",
        0,
        TICKS_MAX,
        "max random delay of an anycast NA",
    ),
    p(
        "proxy_delay",
        "ticks (1/100 s)",
        0,
        TICKS_MAX,
        "max random delay of a proxied NA",
    ),
    p(
        "locktime",
        "ticks (1/100 s)",
        0,
        TICKS_MAX,
        "minimum time an entry is kept before replaced",
    ),
    p(
        "interval_probe_time_ms",
        "ms",
        1,
        INT_MAX,
        "probe interval of MANAGED entries",
    ),
    ParamSpec {
        default_only: true,
        ..p(
            "gc_thresh1",
            "entries",
            0,
            INT_MAX,
            "below this, GC never runs (table-wide)",
        )
    },
    ParamSpec {
        default_only: true,
        ..p(
            "gc_thresh2",
            "entries",
            0,
            INT_MAX,
            "soft limit: GC after 5 s above it (table-wide)",
        )
    },
    ParamSpec {
        default_only: true,
        ..p(
            "gc_thresh3",
            "entries",
            0,
            INT_MAX,
            "hard limit on entries (table-wide)",
        )
    },
];

/// Looks up a key.
pub fn spec(key: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.key == key)
}

/// Errors of `neigh params`.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("`{arg}` is not KEY=VALUE")]
    NotKeyValue { arg: String },
    #[error("unknown ND parameter `{key}` (known: {known})")]
    UnknownKey { key: String, known: String },
    #[error("`{key}` is given more than once")]
    Duplicate { key: String },
    #[error("`{key}={value}`: not an integer")]
    NotInteger { key: String, value: String },
    #[error("`{key}={value}`: out of range {min}..={max} {unit}")]
    OutOfRange {
        key: String,
        value: i64,
        min: i64,
        max: i64,
        unit: &'static str,
    },
    #[error("`{key}` exists only for `default` (table-wide), not for interface {iface}")]
    DefaultOnly { key: String, iface: String },
    #[error("no IPv6 neighbour parameters for `{iface}` ({path}): no such interface")]
    NoSuchInterface { iface: String, path: PathBuf },
    #[error(
        "{path} does not exist: the kernel has `default` ND parameters (and gc_thresh*) only in \
         the initial network namespace; give an interface with -i"
    )]
    NoDefault { path: PathBuf },
    #[error("`{key}` is not available for {iface} on this kernel ({path})")]
    Missing {
        key: String,
        iface: String,
        path: PathBuf,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} holds `{text}`, not an integer")]
    Corrupt { path: PathBuf, text: String },
    #[error(
        "writing {key}={value} to {path} failed: {source}; {}",
        rollback_summary(rolled_back, restore_errors)
    )]
    WriteFailed {
        key: String,
        value: i64,
        path: PathBuf,
        #[source]
        source: io::Error,
        /// Keys written before the failure and restored to their old values.
        rolled_back: Vec<String>,
        /// Keys that could not be restored, with the error.
        restore_errors: Vec<String>,
    },
}

fn rollback_summary(rolled_back: &[String], restore_errors: &[String]) -> String {
    let mut s = if rolled_back.is_empty() {
        "nothing had been written".to_string()
    } else {
        format!("restored {}", rolled_back.join(", "))
    };
    if !restore_errors.is_empty() {
        s.push_str(&format!(
            "; COULD NOT RESTORE: {}",
            restore_errors.join("; ")
        ));
    }
    s
}

/// A parameter's current value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamValue {
    pub interface: String,
    pub key: &'static str,
    pub value: i64,
    pub unit: &'static str,
    pub min: i64,
    pub max: i64,
    /// The value before this run changed it (only for keys that were set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<i64>,
}

/// A checked change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub spec: &'static ParamSpec,
    pub value: i64,
}

/// Parses and checks every `KEY=VALUE` for `iface` (pure; nothing is read or written).
pub fn check(iface: &str, sets: &[String]) -> Result<Vec<Change>, ParamError> {
    let mut out: Vec<Change> = Vec::new();
    for arg in sets {
        let (k, v) = arg
            .split_once('=')
            .ok_or_else(|| ParamError::NotKeyValue { arg: arg.clone() })?;
        let (k, v) = (k.trim(), v.trim());
        let spec = spec(k).ok_or_else(|| ParamError::UnknownKey {
            key: k.to_string(),
            known: PARAMS.iter().map(|p| p.key).collect::<Vec<_>>().join(", "),
        })?;
        if spec.default_only && iface != "default" {
            return Err(ParamError::DefaultOnly {
                key: k.to_string(),
                iface: iface.to_string(),
            });
        }
        if out.iter().any(|c| c.spec.key == spec.key) {
            return Err(ParamError::Duplicate { key: k.to_string() });
        }
        let value: i64 = v.parse().map_err(|_| ParamError::NotInteger {
            key: k.to_string(),
            value: v.to_string(),
        })?;
        if value < spec.min || value > spec.max {
            return Err(ParamError::OutOfRange {
                key: k.to_string(),
                value,
                min: spec.min,
                max: spec.max,
                unit: spec.unit,
            });
        }
        out.push(Change { spec, value });
    }
    Ok(out)
}

/// Access to one root of neighbour parameters.
#[derive(Clone, Debug)]
pub struct NeighParams {
    root: PathBuf,
}

impl Default for NeighParams {
    fn default() -> Self {
        Self::new(PROC_ROOT)
    }
}

impl NeighParams {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn dir(&self, iface: &str) -> Result<PathBuf, ParamError> {
        let dir = self.root.join(iface);
        if iface == "default" && !dir.is_dir() {
            return Err(ParamError::NoDefault { path: dir });
        }
        if iface.is_empty() || iface.contains('/') || iface == "." || iface == ".." || !dir.is_dir()
        {
            return Err(ParamError::NoSuchInterface {
                iface: iface.to_string(),
                path: dir,
            });
        }
        Ok(dir)
    }

    fn read_one(path: &Path) -> Result<i64, ParamError> {
        let text = fs::read_to_string(path).map_err(|source| ParamError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        text.trim().parse().map_err(|_| ParamError::Corrupt {
            path: path.to_path_buf(),
            text: text.trim().to_string(),
        })
    }

    fn write_one(path: &Path, value: i64) -> io::Result<()> {
        // One write(2) of the whole value, as sysctl(8) does; no create, no truncate games.
        use std::io::Write;
        let mut f = fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(format!("{value}\n").as_bytes())
    }

    /// Every known parameter present for `iface` (or `default`).
    pub fn read(&self, iface: &str) -> Result<Vec<ParamValue>, ParamError> {
        let dir = self.dir(iface)?;
        let mut out = Vec::new();
        for spec in PARAMS {
            if spec.default_only && iface != "default" {
                continue;
            }
            let path = dir.join(spec.key);
            if !path.exists() {
                continue;
            }
            out.push(ParamValue {
                interface: iface.to_string(),
                key: spec.key,
                value: Self::read_one(&path)?,
                unit: spec.unit,
                min: spec.min,
                max: spec.max,
                old: None,
            });
        }
        Ok(out)
    }

    /// Checks every change, reads the old values, then (unless `dry_run`) writes them in order;
    /// if a write fails, restores the ones already written (newest first) and reports each
    /// restore failure. Returns the values read back after the writes (with `old` set on the
    /// changed keys), or for a dry run the current values with the planned ones.
    pub fn apply(
        &self,
        iface: &str,
        sets: &[String],
        dry_run: bool,
    ) -> Result<Vec<ParamValue>, ParamError> {
        let changes = check(iface, sets)?;
        let dir = self.dir(iface)?;
        let mut old = Vec::with_capacity(changes.len());
        for c in &changes {
            let path = dir.join(c.spec.key);
            if !path.exists() {
                return Err(ParamError::Missing {
                    key: c.spec.key.to_string(),
                    iface: iface.to_string(),
                    path,
                });
            }
            old.push(Self::read_one(&path)?);
        }
        if dry_run {
            let mut now = self.read(iface)?;
            for (c, o) in changes.iter().zip(&old) {
                if let Some(v) = now.iter_mut().find(|v| v.key == c.spec.key) {
                    v.value = c.value;
                    v.old = Some(*o);
                }
            }
            return Ok(now);
        }
        for (i, c) in changes.iter().enumerate() {
            let path = dir.join(c.spec.key);
            tracing::debug!(
                key = c.spec.key,
                value = c.value,
                iface,
                "writing ND parameter"
            );
            if let Err(source) = Self::write_one(&path, c.value) {
                let mut rolled_back = Vec::new();
                let mut restore_errors = Vec::new();
                for (done, o) in changes[..i].iter().zip(&old).rev() {
                    match Self::write_one(&dir.join(done.spec.key), *o) {
                        Ok(()) => rolled_back.push(format!("{}={o}", done.spec.key)),
                        Err(e) => restore_errors.push(format!("{}={o}: {e}", done.spec.key)),
                    }
                }
                return Err(ParamError::WriteFailed {
                    key: c.spec.key.to_string(),
                    value: c.value,
                    path,
                    source,
                    rolled_back,
                    restore_errors,
                });
            }
        }
        let mut now = self.read(iface)?;
        for (c, o) in changes.iter().zip(&old) {
            if let Some(v) = now.iter_mut().find(|v| v.key == c.spec.key) {
                v.old = Some(*o);
                if v.value != c.value {
                    // Times are kept in jiffies: 12345 ms reads back as 12348 at HZ=250.
                    tracing::warn!(
                        key = c.spec.key,
                        iface,
                        requested = c.value,
                        stored = v.value,
                        "the kernel stored a different value (rounded to its clock ticks)"
                    );
                }
            }
        }
        Ok(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A fake `neigh/` tree in a private temporary directory (removed on drop).
    fn tree(tag: &str) -> v6probe_lab::TempDir {
        let scratch = v6probe_lab::TempDir::new(&format!("neigh-{tag}")).unwrap();
        let root = scratch.path();
        for iface in ["eth0", "default"] {
            fs::create_dir_all(root.join(iface)).unwrap();
            for p in PARAMS {
                if p.default_only && iface != "default" {
                    continue;
                }
                fs::write(root.join(iface).join(p.key), format!("{}\n", p.min + 3)).unwrap();
            }
        }
        scratch
    }

    #[test]
    fn check_refuses_bad_input() {
        assert!(check("eth0", &s(&["ucast_solicit=5", "retrans_time_ms=500"])).is_ok());
        assert!(matches!(
            check("eth0", &s(&["ucast_solicit"])),
            Err(ParamError::NotKeyValue { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["nope=1"])),
            Err(ParamError::UnknownKey { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["ucast_solicit=x"])),
            Err(ParamError::NotInteger { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["ucast_solicit=-1"])),
            Err(ParamError::OutOfRange { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["interval_probe_time_ms=0"])),
            Err(ParamError::OutOfRange { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["unres_qlen=2000000"])),
            Err(ParamError::OutOfRange { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["ucast_solicit=1", "ucast_solicit=2"])),
            Err(ParamError::Duplicate { .. })
        ));
        assert!(matches!(
            check("eth0", &s(&["gc_thresh1=5"])),
            Err(ParamError::DefaultOnly { .. })
        ));
        assert!(check("default", &s(&["gc_thresh1=5"])).is_ok());
    }

    #[test]
    fn apply_reads_back_and_refuses_without_writing() {
        let scratch = tree("apply");
        let root = scratch.path().to_path_buf();
        let np = NeighParams::new(&root);
        let v = np
            .apply(
                "eth0",
                &s(&["ucast_solicit=9", "retrans_time_ms=750"]),
                false,
            )
            .unwrap();
        let u = v.iter().find(|p| p.key == "ucast_solicit").unwrap();
        assert_eq!((u.value, u.old), (9, Some(3)));
        assert_eq!(
            fs::read_to_string(root.join("eth0/retrans_time_ms"))
                .unwrap()
                .trim(),
            "750"
        );
        // One bad value among good ones: nothing is written.
        let before = np.read("eth0").unwrap();
        assert!(np
            .apply("eth0", &s(&["mcast_solicit=4", "ucast_solicit=-2"]), false)
            .is_err());
        assert_eq!(np.read("eth0").unwrap(), before);
        // Dry run shows the plan and writes nothing.
        let plan = np.apply("eth0", &s(&["mcast_solicit=4"]), true).unwrap();
        assert_eq!(
            plan.iter()
                .find(|p| p.key == "mcast_solicit")
                .unwrap()
                .value,
            4
        );
        assert_eq!(np.read("eth0").unwrap(), before);
        assert!(matches!(
            np.read("nosuch"),
            Err(ParamError::NoSuchInterface { .. })
        ));
        assert!(matches!(
            np.read("../eth0"),
            Err(ParamError::NoSuchInterface { .. })
        ));
    }

    /// A write that fails restores what was already written. The failing key is a symlink to
    /// a read-only sysctl (`/proc/sys/kernel/ngroups_max`, mode 0444): readable, and its write
    /// refused by the kernel with EACCES even for root, so nothing outside the tree can change.
    #[cfg(target_os = "linux")]
    #[test]
    fn failed_write_rolls_back() {
        let ro = Path::new("/proc/sys/kernel/ngroups_max");
        assert!(ro.exists(), "{} not present", ro.display());
        let scratch = tree("rollback");
        let root = scratch.path().to_path_buf();
        let np = NeighParams::new(&root);
        fs::remove_file(root.join("eth0/locktime")).unwrap();
        std::os::unix::fs::symlink(ro, root.join("eth0/locktime")).unwrap();
        let before = fs::read_to_string(root.join("eth0/ucast_solicit")).unwrap();
        let err = np
            .apply(
                "eth0",
                &s(&[
                    "ucast_solicit=9",
                    "retrans_time_ms=750",
                    "locktime=5",
                    "proxy_delay=1",
                ]),
                false,
            )
            .unwrap_err();
        match &err {
            ParamError::WriteFailed {
                key,
                rolled_back,
                restore_errors,
                ..
            } => {
                assert_eq!(key, "locktime");
                assert_eq!(rolled_back, &s(&["retrans_time_ms=4", "ucast_solicit=3"]));
                assert!(restore_errors.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(err
            .to_string()
            .contains("restored retrans_time_ms=4, ucast_solicit=3"));
        assert_eq!(
            fs::read_to_string(root.join("eth0/ucast_solicit")).unwrap(),
            "3\n"
        );
        assert_eq!(before, "3\n");
        assert_eq!(
            fs::read_to_string(root.join("eth0/proxy_delay")).unwrap(),
            "3\n"
        );
    }
}
