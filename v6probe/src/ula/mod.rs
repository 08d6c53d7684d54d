//! Unique local addresses (RFC 4193): generation, checks and classification, discovery on the
//! host's interfaces, and prefix aggregation.
pub mod aggregate;
pub mod classify;
pub mod discover;
pub mod generate;

use ipnet::IpNet;

pub use aggregate::{aggregate, parse_prefix};
pub use classify::{check, Check, IidKind, UlaStatus, Weakness};
pub use generate::{generate, ntp_time, subnets, UlaPrefix};

/// Errors of the ULA toolkit.
#[derive(Debug, thiserror::Error)]
pub enum UlaError {
    #[error("`{input}` is not an IPv6 address or ADDR/LEN prefix")]
    BadAddress { input: String },
    #[error("`{input}` is not an IP prefix (ADDR/LEN or ADDR)")]
    BadPrefix { input: String },
    #[error("`{input}` has host bits set (the network is {network}); use --mask-host-bits to clear them")]
    HostBitsSet { input: String, network: IpNet },
    #[error("no interface with a MAC address to take an EUI-64 from; give --mac or --eui64")]
    NoMac,
    #[error("interface `{name}` not found")]
    NoSuchInterface { name: String },
    #[error("listing interface addresses: {0}")]
    Io(#[from] std::io::Error),
    #[cfg(target_os = "linux")]
    #[error("netlink: {0}")]
    Netlink(#[from] rtnetlink::Error),
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::{
        io::Write,
        path::{Path, PathBuf},
        process::{Command, Stdio},
    };

    /// Debian's python with its standard library (hashlib, ipaddress).
    pub fn python() -> Option<PathBuf> {
        let p = Path::new("/usr/bin/python3");
        p.exists().then(|| p.to_path_buf())
    }

    /// Runs a python script with `input` on stdin and returns stdout; panics with stderr.
    pub fn run_python(py: &Path, script: &str, input: &str) -> String {
        let mut child = Command::new(py)
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start python3");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write to python3");
        let out = child.wait_with_output().expect("python3 output");
        assert!(
            out.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}
