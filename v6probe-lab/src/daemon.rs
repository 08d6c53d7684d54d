//! Programs a lab test runs beside the one it checks: daemons killed on drop, radvd, and a
//! `v6probe monitor` started and stopped the way every test reads it.

use std::{
    io,
    net::Ipv6Addr,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::{json_line, LineReader, Netns};

/// A daemon killed and reaped on drop (the namespace's drop would kill it too, later).
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Netns {
    /// The first link-local address of `ifname`.
    pub fn link_local(&self, ifname: &str) -> io::Result<Ipv6Addr> {
        let out = self.ip(&["-6", "-o", "addr", "show", "dev", ifname, "scope", "link"])?;
        out.split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .and_then(|w| w.split('/').next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no link-local on {ifname}: {out}")))
    }

    /// radvd in the foreground with configuration `conf`, its pid file at `pid`.
    pub fn radvd(&self, conf: &Path, pid: &Path) -> io::Result<Daemon> {
        self.command("radvd")
            .arg("-n")
            .args(["-m", "stderr", "-C"])
            .arg(conf)
            .arg("-p")
            .arg(pid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Daemon)
            .map_err(|e| io::Error::other(format!("radvd (apt-get install radvd): {e}")))
    }
}

/// Spawns `cmd` (a `v6probe monitor` command line) with its output piped and waits up to
/// `timeout` for its `start` line; panics naming its stderr if none comes.
pub fn start_monitor(cmd: &mut Command, timeout: Duration) -> LineReader {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the monitor");
    let mut mon = LineReader::new(child);
    if mon
        .wait_for(timeout, |l| l.contains("\"kind\":\"start\""))
        .is_none()
    {
        mon.signal(libc::SIGKILL);
        let err = mon
            .finish(Duration::from_secs(5))
            .map(|(_, _, err)| err)
            .unwrap_or_default();
        panic!("no monitor start line within {timeout:?}: {err}");
    }
    mon
}

/// Stops a monitor with SIGINT, asserts it exited 0, and returns its lines as JSON (each
/// validated against the schema by `json_line`).
pub fn stop_monitor(mon: LineReader) -> Vec<Value> {
    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    out.iter().map(|l| json_line(l)).collect()
}
