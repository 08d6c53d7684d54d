//! The process's own CPU time, memory and open files, from `/proc` (Linux) — the
//! `process_*` metrics every Prometheus client exports, and the soak benchmark's readings of the
//! monitor it runs.
use std::path::Path;

/// One reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    /// User + system CPU time, seconds.
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
}

impl Figures {
    /// This process, now. Fields that cannot be read stay 0 (`None` for the limit).
    pub fn read() -> Self {
        Self::of(Path::new("/proc/self"))
    }

    /// The process whose `/proc` folder is `proc_dir` (`/proc/self`, `/proc/<pid>`).
    pub fn of(proc_dir: &Path) -> Self {
        let mut f = Figures::default();
        if let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) {
            if let Some((cpu, vsize, rss_pages)) = parse_stat(&stat) {
                let tick = clock_ticks();
                f.cpu_seconds = cpu as f64 / tick;
                f.virtual_bytes = vsize;
                f.resident_bytes = rss_pages.saturating_mul(page_size());
            }
        }
        if let Ok(dir) = std::fs::read_dir(proc_dir.join("fd")) {
            f.open_fds = dir.count() as u64;
        }
        if let Ok(limits) = std::fs::read_to_string(proc_dir.join("limits")) {
            f.max_fds = parse_max_fds(&limits);
        }
        f
    }
}

/// (utime + stime in clock ticks, vsize in bytes, rss in pages) from `/proc/PID/stat`. The
/// command name (field 2) may hold spaces and parentheses: fields are counted after its last
/// `)`.
fn parse_stat(stat: &str) -> Option<(u64, u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field n is f[n - 3].
    let num = |n: usize| f.get(n - 3).and_then(|s| s.parse::<u64>().ok());
    Some((num(14)? + num(15)?, num(23)?, num(24)?))
}

/// The soft limit on open files from `/proc/PID/limits`.
fn parse_max_fds(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|p| *p > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_a_tricky_name() {
        // /proc/PID/stat of a process named "a) b" (fields 3.. as the kernel writes them).
        let stat = "1234 (a) b) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 \
                    12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(parse_stat(stat), Some((300, 104_857_600, 2560)));
    }

    #[test]
    fn parses_the_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_max_fds(limits), Some(1024));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let f = Figures::read();
        assert!(f.resident_bytes > 0, "{f:?}");
        assert!(f.open_fds >= 3, "{f:?}");
    }
}
