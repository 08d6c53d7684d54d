//! Unique local addresses (RFC 4193): generation, checks and classification, discovery on the
//! host's interfaces, and prefix aggregation.
pub mod aggregate;
pub mod classify;
pub mod discover;
pub mod generate;

use ipnet::IpNet;

pub use aggregate::{aggregate, parse_prefix};
pub use classify::{check, Check, IidKind, UlaStatus, Weakness};
pub use generate::{eui64_from_mac, generate, ntp_time, subnets, UlaPrefix};

/// Errors of the ULA toolkit.
#[derive(Debug, thiserror::Error)]
pub enum UlaError {
    #[error("`{input}` is not an IPv6 address or ADDR/LEN prefix")]
    BadAddress { input: String },
    #[error("`{input}` is not an IP prefix (ADDR/LEN or ADDR)")]
    BadPrefix { input: String },
    #[error("`{input}` has host bits set (the network is {network}); use --mask-host-bits to clear them")]
    HostBitsSet { input: String, network: IpNet },
    #[error("`{input}` is not a MAC address (xx:xx:xx:xx:xx:xx)")]
    BadMac { input: String },
    #[error("`{input}` is not an EUI-64 (8 bytes, xx:xx:xx:xx:xx:xx:xx:xx or 16 hex digits)")]
    BadEui64 { input: String },
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

/// Parses hex bytes separated by `:` or `-`, or written together.
fn parse_hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digits: String = s.chars().filter(|c| *c != ':' && *c != '-').collect();
    let sep = s.chars().filter(|c| *c == ':' || *c == '-').count();
    if digits.len() != 2 * N || !(sep == 0 || sep == N - 1) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Parses a MAC address `xx:xx:xx:xx:xx:xx` (or `-` separated).
pub fn parse_mac(s: &str) -> Result<[u8; 6], UlaError> {
    parse_hex_bytes::<6>(s).ok_or_else(|| UlaError::BadMac {
        input: s.to_string(),
    })
}

/// Parses an EUI-64 (`xx:..:xx`, 8 bytes, or 16 hex digits).
pub fn parse_eui64(s: &str) -> Result<[u8; 8], UlaError> {
    parse_hex_bytes::<8>(s).ok_or_else(|| UlaError::BadEui64 {
        input: s.to_string(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mac_and_eui64() {
        assert_eq!(
            parse_mac("00:1b:21:AA:bb:cc").unwrap(),
            [0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc]
        );
        assert_eq!(
            parse_mac("00-1b-21-aa-bb-cc").unwrap(),
            [0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc]
        );
        assert!(parse_mac("00:1b:21:aa:bb").is_err());
        assert!(parse_mac("00:1b:21:aa:bb:cg").is_err());
        assert!(parse_mac("001b:21aa:bbcc").is_err());
        assert_eq!(
            parse_eui64("0123456789abcdef").unwrap(),
            [1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        );
        assert!(parse_eui64("01:23:45:67:89:ab:cd").is_err());
    }
}
