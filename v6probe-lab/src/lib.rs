//! v6probe's test scaffolding (never part of the library): throwaway network labs of network
//! namespaces and veth pairs named `v6p-*`, removed on drop; the scanner's and the dialer's labs
//! ([`scan`], [`dualstack`]); crafted frames independent of the codec ([`frame`]) and whole NDP messages built with
//! it ([`ndp`]); the one
//! reader of v6probe's JSON output ([`json_lines`]); what every benchmark shares ([`bench`]).
//!
//! Used by the privileged tests, the benchmarks and `cargo xtask demo`. Everything here shells
//! out to iproute2 (`ip`), which is what an operator would type, so a failing step names the
//! command and its stderr. Traffic in a lab only ever goes to addresses inside namespaces the lab
//! created.
pub mod bench;
mod daemon;
#[cfg(target_os = "linux")]
pub mod delay;
#[cfg(target_os = "linux")]
pub mod dualstack;
pub mod frame;
mod json;
pub mod ndp;
#[cfg(target_os = "linux")]
pub mod scan;
pub mod schema;
mod switch;

pub use daemon::{start_monitor, stop_monitor, Daemon};
pub use json::{json_line, json_lines, run_json, stdout_json};
pub use switch::Switch;

use std::{
    io,
    process::{Child, Command, Output, Stdio},
    sync::{
        atomic::{AtomicU32, Ordering},
        OnceLock,
    },
    thread,
    time::{Duration, Instant},
};

/// Why privileged tests cannot run here, or `None` when they can (root, `ip` present, and a
/// network namespace can be created). Probed once per process.
pub fn missing_privileges() -> Option<String> {
    static PROBED: OnceLock<Option<String>> = OnceLock::new();
    PROBED
        .get_or_init(|| {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return Some("needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF)".into());
            }
            match Command::new("ip").arg("-V").output() {
                Ok(o) if o.status.success() => {}
                _ => return Some("iproute2 `ip` not found".into()),
            }
            match Netns::new("probe") {
                Ok(_) => None,
                Err(e) => Some(format!("cannot create a network namespace: {e}")),
            }
        })
        .clone()
}

/// The first call of every privileged test (`#[ignore = "needs root: <why>"]`): panics with the
/// reason when privileges are missing, so such a test fails, never passes, when it runs
/// without them.
#[track_caller]
pub fn require_privileges() {
    if let Some(reason) = missing_privileges() {
        panic!(
            "this test needs privileges it does not have: {reason}. Run it as root: \
             `cargo xtask test` includes the ignored (privileged) tests when root, as does \
             `cargo test -- --include-ignored`"
        );
    }
}

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A network namespace `v6p-<tag>-<pid>-<n>`, deleted (with every process still in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace and brings its loopback up.
    pub fn new(tag: &str) -> io::Result<Self> {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let name = format!("v6p-{tag}-{}-{n}", std::process::id());
        run_ip(&["netns", "add", &name])?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`; an error carries the command and its stderr.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_ip(&full)
    }

    /// A command that runs `program args...` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs a program inside the namespace to completion; an error carries its stderr.
    pub fn exec(&self, program: &str, args: &[&str]) -> io::Result<String> {
        let out = self.command(program).args(args).output()?;
        check(&format!("{program} {}", args.join(" ")), out)
    }

    /// Runs a shell snippet inside the namespace.
    pub fn sh(&self, script: &str) -> io::Result<String> {
        self.exec("sh", &["-c", script])
    }

    /// Starts a program inside the namespace, with stdout and stderr piped.
    pub fn spawn(&self, program: &str, args: &[&str]) -> io::Result<Child> {
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// Writes a sysctl inside the namespace (e.g. `net.ipv6.conf.all.forwarding`, `1`).
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<String> {
        self.exec("sysctl", &["-qw", &format!("{key}={value}")])
    }

    /// The interface index of `ifname` inside the namespace.
    pub fn ifindex(&self, ifname: &str) -> io::Result<u32> {
        let s = self.exec("cat", &[&format!("/sys/class/net/{ifname}/ifindex")])?;
        s.trim()
            .parse()
            .map_err(|e| io::Error::other(format!("ifindex of {ifname} in {}: {e}", self.name)))
    }

    /// The packet and drop counters of `ifname` inside the namespace (`ip -s -j link`).
    pub fn counters(&self, ifname: &str) -> io::Result<LinkCounters> {
        let out = self.ip(&["-s", "-j", "link", "show", "dev", ifname])?;
        let v: serde_json::Value = serde_json::from_str(&out)
            .map_err(|e| io::Error::other(format!("ip -s -j link show dev {ifname}: {e}")))?;
        let s = &v[0]["stats64"];
        let n = |p: &str| -> io::Result<u64> {
            s.pointer(p)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| io::Error::other(format!("no {p} in the stats of {ifname}")))
        };
        Ok(LinkCounters {
            rx: n("/rx/packets")?,
            tx: n("/tx/packets")?,
            rx_dropped: n("/rx/dropped")?,
            tx_dropped: n("/tx/dropped")?,
        })
    }

    /// The MAC address of `ifname` inside the namespace.
    pub fn mac(&self, ifname: &str) -> io::Result<String> {
        Ok(self
            .exec("cat", &[&format!("/sys/class/net/{ifname}/address")])?
            .trim()
            .to_string())
    }

    /// Waits (bounded) until no IPv6 address in the namespace is tentative (DAD finished).
    pub fn wait_dad(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.ip(&["-6", "addr", "show", "tentative"])?;
            // Right after a link comes up its link-local address may not exist yet, so "no
            // tentative address" alone would pass too early: every link with carrier (and
            // address generation on) must also have its fe80:: address.
            let missing = self.links_without_link_local()?;
            if out.trim().is_empty() && missing.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "DAD still running in {} after {timeout:?}: {out} (no link-local yet: {missing:?})",
                    self.name
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn links_without_link_local(&self) -> io::Result<Vec<String>> {
        let links = self.ip(&["-d", "-o", "link", "show", "up"])?;
        let addrs = self.ip(&["-6", "-o", "addr", "show", "scope", "link"])?;
        let mut missing = Vec::new();
        for l in links.lines() {
            if !l.contains("LOWER_UP") || l.contains("LOOPBACK") || l.contains("addrgenmode none") {
                continue;
            }
            let Some(name) = l
                .split(':')
                .nth(1)
                .map(|n| n.trim().split('@').next().unwrap_or(""))
            else {
                continue;
            };
            let has = addrs
                .lines()
                .any(|a| a.split_whitespace().nth(1) == Some(name) && a.contains("inet6 fe80:"));
            if !has {
                missing.push(name.to_string());
            }
        }
        Ok(missing)
    }

    /// Waits (bounded) until `ifname` has a link-local address that finished DAD: the source
    /// the kernel and `v6probe send` pick for NDP. Right after a veth comes up it has none.
    pub fn wait_link_local(&self, ifname: &str, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.ip(&["-6", "addr", "show", "dev", ifname, "scope", "link"])?;
            if out.contains("inet6 fe80:") && !out.contains("tentative") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "{ifname} in {} has no usable link-local address after {timeout:?}: {out}",
                    self.name
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn cleanup(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Ok(pids) = run_ip(&["netns", "pids", &self.name]) {
            for pid in pids.split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        if let Err(e) = run_ip(&["netns", "del", &self.name]) {
            errors.push(e.to_string());
        }
        errors
    }
}

/// An interface's packets and drops, each way ([`Netns::counters`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkCounters {
    pub rx: u64,
    pub tx: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for e in self.cleanup() {
            eprintln!("v6probe lab: cleaning up {}: {e}", self.name);
        }
    }
}

#[cfg(target_os = "linux")]
/// Runs `f` on a fresh thread that has entered the network namespace `name` (from
/// `ip netns add`), and returns its result. Sockets opened in `f` belong to that namespace and
/// keep working from any thread afterwards.
pub fn in_netns<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let path = format!("/var/run/netns/{name}");
    let handle = thread::spawn(move || -> io::Result<T> {
        let file = std::fs::File::open(&path)?;
        use std::os::fd::AsRawFd;
        // SAFETY: a valid namespace fd; setns only changes this thread's network namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(f())
    });
    handle
        .join()
        .map_err(|_| io::Error::other("thread in the namespace panicked"))?
}

/// A child process whose stdout lines are collected by a thread, so a test can wait (bounded)
/// for a line and still read everything at the end. The child is killed on drop.
pub struct LineReader {
    child: Child,
    rx: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl LineReader {
    /// Takes over a child spawned with piped stdout (and stderr).
    pub fn new(mut child: Child) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = child.stderr.take().map(|mut err| {
            thread::spawn(move || {
                use std::io::Read;
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                s
            })
        });
        Self {
            child,
            rx,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Waits until a line satisfies `pred` (returning it) or `timeout` passes (`None`).
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        if let Some(l) = self.seen.iter().find(|l| pred(l)) {
            return Some(l.clone());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.seen.push(line.clone());
                    if hit {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Sends a signal to the child (e.g. `libc::SIGINT`).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits (bounded) for the child to exit; returns its status, every stdout line and stderr.
    pub fn finish(
        mut self,
        timeout: Duration,
    ) -> io::Result<(std::process::ExitStatus, Vec<String>, String)> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(st) = self.child.try_wait()? {
                break st;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                return Err(io::Error::other(format!(
                    "child did not exit within {timeout:?}"
                )));
            }
            thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.rx.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((status, std::mem::take(&mut self.seen), err))
    }
}

impl Drop for LineReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private scratch folder `v6p-<tag>-<random>` in the temp dir (made by `tempfile`: a fresh
/// random name, mode 0700, never an existing path), removed with its contents on drop.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(tag: &str) -> io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        tempfile::Builder::new()
            .prefix(&format!("v6p-{tag}-"))
            // tempfile uses the default mode (0777 & ~umask) unless told.
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map(Self)
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }

    /// Writes `bytes` to `name` inside the folder and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> io::Result<std::path::PathBuf> {
        let p = self.path().join(name);
        std::fs::write(&p, bytes)?;
        Ok(p)
    }
}

/// A copy of the executable `src` that any user can run (the build folder may not be
/// reachable for `nobody`), in a fresh folder (mode 0755) removed on drop.
///
/// The copy is written by `install` in a child process, never through a file this process
/// opens for writing: another test thread's `fork` would inherit such a descriptor until its
/// `exec`, and running the copy meanwhile fails with ETXTBSY ("Text file busy").
pub fn public_executable(
    src: &std::path::Path,
    tag: &str,
) -> io::Result<(TempDir, std::path::PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new(tag)?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let name = src
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} names no file", src.display())))?;
    let dst = dir.path().join(name);
    let out = Command::new("install")
        .args(["-m", "0755"])
        .arg(src)
        .arg(&dst)
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "install {} {}: {}",
            src.display(),
            dst.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok((dir, dst))
}

/// Writes a benchmark's figures to `<target>/bench/<name>.json` with [`bench::Meta`], prints
/// where, and returns the path. Prefer [`bench::Bench`]: it also removes the previous JSON
/// before the run and records the targets.
pub fn write_bench_figures(
    name: &str,
    figures: &impl serde::Serialize,
) -> io::Result<std::path::PathBuf> {
    let dir = bench::bench_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.json"));
    let mut out = serde_json::Map::new();
    out.insert(
        "meta".into(),
        serde_json::to_value(bench::Meta::collect(name)).map_err(io::Error::other)?,
    );
    match serde_json::to_value(figures).map_err(io::Error::other)? {
        serde_json::Value::Object(m) => out.extend(m),
        other => {
            out.insert("figures".into(), other);
        }
    }
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&out).map_err(io::Error::other)?,
    )?;
    println!("written: {}", path.display());
    Ok(path)
}

/// Connects `a` and `b` with a veth pair: `a_if` in `a`, `b_if` in `b`, both up.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> io::Result<()> {
    a.ip(&[
        "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name,
    ])?;
    a.ip(&["link", "set", a_if, "up"])?;
    b.ip(&["link", "set", b_if, "up"])?;
    Ok(())
}

fn run_ip(args: &[&str]) -> io::Result<String> {
    let out = Command::new("ip").args(args).output()?;
    check(&format!("ip {}", args.join(" ")), out)
}

fn check(what: &str, out: Output) -> io::Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "`{what}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_are_private_fresh_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let a = TempDir::new("lab-t").unwrap();
        let b = TempDir::new("lab-t").unwrap();
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("v6p-lab-t-"), "{name}");
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let f = a.file("x", b"1").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"1");
        let p = a.path().to_path_buf();
        drop(a);
        assert!(!p.exists());
    }

    #[test]
    #[ignore = "needs root: network namespaces"]
    fn namespace_lifecycle_and_veth() {
        crate::require_privileges();
        let a = Netns::new("lab-a").unwrap();
        let b = Netns::new("lab-b").unwrap();
        veth(&a, "v6p0", &b, "v6p1").unwrap();
        a.ip(&["-6", "addr", "add", "fd00:6::1/64", "dev", "v6p0", "nodad"])
            .unwrap();
        b.ip(&["-6", "addr", "add", "fd00:6::2/64", "dev", "v6p1", "nodad"])
            .unwrap();
        let out = a
            .exec("ping", &["-6", "-c", "1", "-W", "2", "fd00:6::2"])
            .unwrap();
        assert!(out.contains("1 received"), "{out}");
        assert!(a.ifindex("v6p0").unwrap() > 1);
        assert_eq!(b.mac("v6p1").unwrap().len(), 17);
        let name = a.name().to_string();
        drop(a);
        let list = run_ip(&["netns", "list"]).unwrap();
        assert!(!list.contains(&name), "{name} still present: {list}");
    }
}
