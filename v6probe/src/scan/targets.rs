//! Scan targets: addresses, prefixes (`fd00::/120`), ranges (`fd00::1-ff`, `fd00::1-fd00::2:0`)
//! and `@FILE` lists, expanded in order without duplicates. More than
//! [`DEFAULT_MAX_TARGETS`] addresses need an explicit, larger limit.
use std::{collections::HashSet, io, net::Ipv6Addr, path::Path};

use super::ScanError;

/// Without `--max-targets`, at most this many addresses (a /112).
pub const DEFAULT_MAX_TARGETS: u128 = 65_536;

/// One target argument, before expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    Addr(Ipv6Addr),
    /// First and last address, inclusive.
    Range(Ipv6Addr, Ipv6Addr),
}

impl TargetSpec {
    /// How many addresses this spec stands for.
    pub fn count(&self) -> u128 {
        match self {
            Self::Addr(_) => 1,
            Self::Range(a, b) => (u128::from(*b) - u128::from(*a)).saturating_add(1),
        }
    }
}

/// Parses one target: an address, `ADDR/LEN`, `START-END` where END is a whole address or the
/// hex digits that replace the same number of trailing hex digits of START (`fd00::1-ff` is
/// fd00::1 to fd00::ff). `@FILE` is handled by [`parse_args`].
pub fn parse_target(s: &str) -> Result<TargetSpec, ScanError> {
    let bad = |why: &str| ScanError::BadTarget {
        target: s.to_string(),
        why: why.to_string(),
    };
    let t = s.trim();
    if t.contains('/') {
        let p = t
            .parse::<crate::wire::Prefix>()
            .map_err(|e| bad(&e.to_string()))?;
        return Ok(TargetSpec::Range(p.network(), p.last()));
    }
    if let Some((a, b)) = t.split_once('-') {
        let start: Ipv6Addr = a
            .parse()
            .map_err(|_| bad("range start is not an IPv6 address"))?;
        let end: Ipv6Addr = match b.parse::<Ipv6Addr>() {
            Ok(e) => e,
            Err(_) => {
                if b.is_empty() || b.len() > 32 || !b.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(bad(
                        "range end must be an address or hex digits (fd00::1-ff)",
                    ));
                }
                let tail = u128::from_str_radix(b, 16).map_err(|_| bad("range end"))?;
                let bits = 4 * b.len() as u32;
                let mask = if bits >= 128 {
                    u128::MAX
                } else {
                    (1u128 << bits) - 1
                };
                ((u128::from(start) & !mask) | tail).into()
            }
        };
        if u128::from(end) < u128::from(start) {
            return Err(bad("range end is below its start"));
        }
        return Ok(TargetSpec::Range(start, end));
    }
    t.parse()
        .map(TargetSpec::Addr)
        .map_err(|_| bad("not an IPv6 address, prefix or range"))
}

/// Parses target arguments; `@FILE` reads one target per line (blank lines and `#` comments
/// skipped), and an error there names the file and line.
pub fn parse_args(args: &[String]) -> Result<Vec<TargetSpec>, ScanError> {
    let mut out = Vec::new();
    for a in args {
        if let Some(path) = a.strip_prefix('@') {
            out.extend(parse_file(Path::new(path))?);
        } else {
            out.push(parse_target(a)?);
        }
    }
    Ok(out)
}

/// A target file larger than this is refused (a million targets of 40 characters).
const MAX_TARGET_FILE_BYTES: u64 = 64 << 20;

fn parse_file(path: &Path) -> Result<Vec<TargetSpec>, ScanError> {
    let err = |source: io::Error| ScanError::TargetFile {
        path: path.display().to_string(),
        source,
    };
    // A regular file only: a FIFO or a device would block or never end.
    let bytes = crate::files::read_regular(path, MAX_TARGET_FILE_BYTES)
        .map_err(err)?
        .ok_or_else(|| err(io::Error::new(io::ErrorKind::NotFound, "no such file")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text (at byte {at})"),
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        out.push(parse_target(l).map_err(|e| ScanError::TargetFileLine {
            path: path.display().to_string(),
            line: i + 1,
            source: Box::new(e),
        })?);
    }
    Ok(out)
}

/// Expands specs into addresses in order, without duplicates. Fails before allocating if the
/// total exceeds `max` (naming the spec that crossed it).
pub fn expand(specs: &[TargetSpec], max: u128) -> Result<Vec<Ipv6Addr>, ScanError> {
    let mut total: u128 = 0;
    for s in specs {
        total = total.saturating_add(s.count());
        if total > max {
            return Err(ScanError::TooManyTargets {
                target: match s {
                    TargetSpec::Addr(a) => a.to_string(),
                    TargetSpec::Range(a, b) => format!("{a}-{b}"),
                },
                count: total,
                max,
            });
        }
    }
    let mut seen = HashSet::with_capacity(total as usize);
    let mut out = Vec::with_capacity(total as usize);
    for s in specs {
        let (a, b) = match s {
            TargetSpec::Addr(a) => (u128::from(*a), u128::from(*a)),
            TargetSpec::Range(a, b) => (u128::from(*a), u128::from(*b)),
        };
        let mut x = a;
        loop {
            let addr = Ipv6Addr::from(x);
            if seen.insert(addr) {
                out.push(addr);
            }
            if x == b {
                break;
            }
            x += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_address_prefix_and_ranges() {
        assert_eq!(
            parse_target("fd00::1").unwrap(),
            TargetSpec::Addr(a("fd00::1"))
        );
        assert_eq!(
            parse_target("fd00::1-ff").unwrap(),
            TargetSpec::Range(a("fd00::1"), a("fd00::ff"))
        );
        assert_eq!(
            parse_target("fd00::1000-2fff").unwrap(),
            TargetSpec::Range(a("fd00::1000"), a("fd00::2fff"))
        );
        assert_eq!(
            parse_target("fd00::1-fd00::1:2").unwrap(),
            TargetSpec::Range(a("fd00::1"), a("fd00::1:2"))
        );
        assert_eq!(
            parse_target("fd00::77/120").unwrap(),
            TargetSpec::Range(a("fd00::"), a("fd00::ff"))
        );
        assert_eq!(parse_target("fd00::/120").unwrap().count(), 256);
        assert_eq!(parse_target("::/0").unwrap().count(), u128::MAX);
    }

    #[test]
    fn invalid_target_names_itself() {
        for bad in [
            "fd00::/129",
            "fd00::zz",
            "fd00::20-1f",
            "fd00::1-xyz",
            "10.0.0.1",
            "fd00::/x",
        ] {
            let e = parse_target(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn expands_in_order_without_duplicates() {
        let specs = parse_args(&["fd00::2-4".into(), "fd00::3".into(), "fd00::1".into()]).unwrap();
        let v = expand(&specs, DEFAULT_MAX_TARGETS).unwrap();
        assert_eq!(
            v,
            vec![a("fd00::2"), a("fd00::3"), a("fd00::4"), a("fd00::1")]
        );
    }

    #[test]
    fn large_ranges_need_a_limit() {
        let specs = vec![parse_target("fd00::/112").unwrap()];
        assert_eq!(expand(&specs, DEFAULT_MAX_TARGETS).unwrap().len(), 65_536);
        let specs = vec![parse_target("fd00::/111").unwrap()];
        let e = expand(&specs, DEFAULT_MAX_TARGETS).unwrap_err();
        assert!(
            matches!(e, ScanError::TooManyTargets { count: 131_072, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("--max-targets"), "{e}");
        assert_eq!(expand(&specs, 200_000).unwrap().len(), 131_072);
        // Never allocates for a huge prefix.
        let specs = vec![parse_target("fd00::/64").unwrap()];
        assert!(expand(&specs, DEFAULT_MAX_TARGETS).is_err());
    }

    #[test]
    fn file_targets_name_file_and_line() {
        let scratch = v6probe_lab::TempDir::new("scan-targets").unwrap();
        let dir = scratch.path();
        let f = dir.join("t.txt");
        std::fs::write(&f, "# lab\nfd00::1\n\nfd00::10-12 # three\n").unwrap();
        let specs = parse_args(&[format!("@{}", f.display())]).unwrap();
        assert_eq!(expand(&specs, 10).unwrap().len(), 4);
        std::fs::write(&f, "fd00::1\nfd00::nope\n").unwrap();
        let e = parse_args(&[format!("@{}", f.display())])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.txt") && e.contains("line 2") && e.contains("fd00::nope"),
            "{e}"
        );
        let e = parse_args(&["@/nonexistent/v6p".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/v6p"), "{e}");
    }

    #[test]
    fn target_file_must_be_a_regular_text_file() {
        let scratch = v6probe_lab::TempDir::new("scan-targets-fifo").unwrap();
        let fifo = scratch.path().join("t.fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Refused at once, not read (no writer: a blocking read would never return).
        let e = parse_args(&[format!("@{}", fifo.display())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.fifo") && e.contains("a FIFO"), "{e}");
        let e = parse_args(&[format!("@{}", scratch.path().display())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a directory"), "{e}");
        let bin = scratch.path().join("t.bin");
        std::fs::write(&bin, b"fd00::1\n\xff\xfe\n").unwrap();
        let e = parse_args(&[format!("@{}", bin.display())])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.bin") && e.contains("not UTF-8 text (at byte 8)"),
            "{e}"
        );
    }
}
