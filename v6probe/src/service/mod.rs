//! What the monitor needs to run as a service: its config file ([`config`]), systemd's
//! readiness and watchdog protocol ([`Systemd`]), and a state file that cannot be read moved
//! aside instead of stopping the start ([`set_aside_unreadable_state`]).
pub mod config;
pub mod links;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use crate::detect::{DetectError, State};

/// systemd's `Type=notify` protocol (sd_notify(3)): `READY=1` once the programs are attached
/// and the reader runs, `WATCHDOG=1` at half the `WatchdogSec=` interval while the reader comes
/// round, `RELOADING=1`/`READY=1` around a SIGHUP, `STOPPING=1` at exit. Without
/// `NOTIFY_SOCKET` (not started by systemd) every call does nothing.
pub struct Systemd {
    watchdog_every: Option<Duration>,
    last_ping: Instant,
}

impl Default for Systemd {
    fn default() -> Self {
        Self::new()
    }
}

impl Systemd {
    pub fn new() -> Self {
        Self {
            // `WATCHDOG_USEC` for this process (`WATCHDOG_PID` unset or ours).
            watchdog_every: sd_notify::watchdog_enabled().map(|d| d / 2),
            last_ping: Instant::now(),
        }
    }

    fn send(&self, state: &[sd_notify::NotifyState]) {
        if let Err(e) = sd_notify::notify(state) {
            tracing::warn!("notifying systemd: {e}");
        }
    }

    /// The programs are attached and the reader is about to run.
    pub fn ready(&mut self, status: &str) {
        self.send(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(status),
        ]);
        self.last_ping = Instant::now();
    }

    /// Called each time the reader comes round: pings the watchdog when it is due.
    pub fn alive(&mut self) {
        if let Some(every) = self.watchdog_every {
            if self.last_ping.elapsed() >= every {
                self.send(&[sd_notify::NotifyState::Watchdog]);
                self.last_ping = Instant::now();
            }
        }
    }

    /// How often the watchdog wants a ping (half of `WATCHDOG_USEC`), if it is on.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog_every
    }

    pub fn reloading(&self) {
        let now = sd_notify::NotifyState::monotonic_usec_now();
        match now {
            Ok(t) => self.send(&[sd_notify::NotifyState::Reloading, t]),
            Err(_) => self.send(&[sd_notify::NotifyState::Reloading]),
        }
    }

    pub fn reloaded(&self) {
        self.send(&[sd_notify::NotifyState::Ready]);
    }

    pub fn stopping(&self) {
        self.send(&[sd_notify::NotifyState::Stopping]);
    }
}

/// A state file that could not be read, and where it went.
#[derive(Debug, Clone)]
pub struct SetAside {
    pub file: PathBuf,
    pub moved_to: Option<PathBuf>,
    pub error: String,
}

/// If `path` exists but cannot be read as a state file, renames it to
/// `PATH.unreadable-<unix seconds>` (so nothing is lost and the next start does not trip on it
/// again) and says why; the detector then starts learning afresh. A restart loop over a bad
/// state file would leave a host without any monitoring.
pub fn set_aside_unreadable_state(path: &Path) -> Option<SetAside> {
    let error = match State::load(path) {
        Ok(_) => return None,
        Err(e) => e,
    };
    // A missing directory or a permission problem is not the file's fault: moving it would not
    // help, and the error stays the detector's to report.
    if let DetectError::Io { error: source, .. } = &error {
        if matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound
        ) {
            return None;
        }
    }
    let ts = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut to = path.as_os_str().to_owned();
    to.push(format!(".unreadable-{ts}"));
    let to = PathBuf::from(to);
    let moved_to = match std::fs::rename(path, &to) {
        Ok(()) => Some(to),
        Err(e) => {
            tracing::error!(
                "state file {} cannot be read ({error}) nor moved aside: {e}",
                path.display()
            );
            None
        }
    };
    Some(SetAside {
        file: path.to_path_buf(),
        moved_to,
        error: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_state_file_is_moved_aside_and_a_good_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(
            set_aside_unreadable_state(&path).is_none(),
            "missing is fine"
        );
        std::fs::write(&path, b"{\"version\":1,\"neighbors\":[").unwrap();
        let aside = set_aside_unreadable_state(&path).expect("damaged");
        let to = aside.moved_to.expect("moved");
        assert!(!path.exists());
        assert!(to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("state.json.unreadable-"));
        assert_eq!(
            std::fs::read(&to).unwrap(),
            b"{\"version\":1,\"neighbors\":["
        );
        assert!(aside.error.contains("state.json"), "{}", aside.error);
        State {
            version: crate::detect::state::STATE_VERSION,
            ..State::default()
        }
        .save(&path)
        .unwrap();
        assert!(set_aside_unreadable_state(&path).is_none());
        assert!(path.exists());
    }
}
