//! `ula aggregate`: the minimal set of prefixes that covers exactly the union of the input, like
//! Python's `ipaddress.collapse_addresses`, for IPv4 and IPv6 (each family collapsed on its own,
//! IPv4 first).
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::UlaError;

/// Parses one prefix (`ADDR/LEN`, or a bare address as a host prefix). Host bits set are an
/// error naming the prefix, unless `mask_host_bits`, which clears them.
pub fn parse_prefix(s: &str, mask_host_bits: bool) -> Result<IpNet, UlaError> {
    let s = s.trim();
    let net = if s.contains('/') {
        s.parse::<IpNet>().map_err(|_| UlaError::BadPrefix {
            input: s.to_string(),
        })?
    } else {
        let a: IpAddr = s.parse().map_err(|_| UlaError::BadPrefix {
            input: s.to_string(),
        })?;
        IpNet::from(a)
    };
    let trunc = net.trunc();
    if trunc != net && !mask_host_bits {
        return Err(UlaError::HostBitsSet {
            input: s.to_string(),
            network: trunc,
        });
    }
    Ok(trunc)
}

/// Collapses the prefixes (which must have no host bits set: see [`parse_prefix`]).
pub fn aggregate(nets: &[IpNet]) -> Vec<IpNet> {
    let mut v4: Vec<(u128, u8)> = Vec::new();
    let mut v6: Vec<(u128, u8)> = Vec::new();
    for n in nets {
        match n.trunc() {
            IpNet::V4(n) => v4.push((u128::from(u32::from(n.network())), n.prefix_len())),
            IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len())),
        }
    }
    let mut out: Vec<IpNet> = collapse(v4, 32)
        .into_iter()
        .map(|(a, l)| IpNet::V4(Ipv4Net::new_assert((a as u32).into(), l)))
        .collect();
    out.extend(
        collapse(v6, 128)
            .into_iter()
            .map(|(a, l)| IpNet::V6(Ipv6Net::new_assert(a.into(), l))),
    );
    out
}

/// The core on plain integers: `(network, prefix length)` in a `bits`-wide address space.
///
/// Sorted by network then by length (shorter first), every prefix is either inside the last one
/// kept or after it; a prefix that is not inside is pushed, then while the two on top are
/// siblings (same length, differing only in their last prefix bit) they become their parent.
fn collapse(mut nets: Vec<(u128, u8)>, bits: u8) -> Vec<(u128, u8)> {
    nets.sort_unstable();
    nets.dedup();
    let size = |l: u8| -> u128 {
        let host = u32::from(bits - l);
        if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        }
    };
    let contains = |(a, l): (u128, u8), (b, _): (u128, u8)| b >= a && b - a <= size(l);
    let mut stack: Vec<(u128, u8)> = Vec::with_capacity(nets.len());
    for n in nets {
        if let Some(top) = stack.last() {
            if contains(*top, n) {
                continue;
            }
        }
        stack.push(n);
        while stack.len() >= 2 {
            let (b, lb) = stack[stack.len() - 1];
            let (a, la) = stack[stack.len() - 2];
            if la != lb || la == 0 {
                break;
            }
            let parent_len = la - 1;
            let parent = a & !size(parent_len);
            if b & !size(parent_len) != parent || a == b {
                break;
            }
            stack.truncate(stack.len() - 2);
            stack.push((parent, parent_len));
        }
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|s| parse_prefix(s, false).unwrap()).collect()
    }

    #[test]
    fn merges_siblings_and_drops_covered() {
        let got = aggregate(&nets(&[
            "fd00:1::/64",
            "fd00:1:0:1::/64",
            "fd00:1:0:2::/63",
            "fd00:1::5/128",
            "192.0.2.0/25",
            "192.0.2.128/25",
            "198.51.100.7",
        ]));
        assert_eq!(
            got,
            nets(&["192.0.2.0/24", "198.51.100.7/32", "fd00:1::/62"])
        );
        assert_eq!(
            aggregate(&nets(&["0.0.0.0/1", "128.0.0.0/1"])),
            nets(&["0.0.0.0/0"])
        );
        assert_eq!(aggregate(&nets(&["::/1", "8000::/1"])), nets(&["::/0"]));
        assert!(aggregate(&[]).is_empty());
    }

    #[test]
    fn host_bits_are_an_error_or_masked() {
        match parse_prefix("fd00::1/64", false) {
            Err(UlaError::HostBitsSet { input, network }) => {
                assert_eq!(input, "fd00::1/64");
                assert_eq!(network.to_string(), "fd00::/64");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_prefix("fd00::1/64", true).unwrap().to_string(),
            "fd00::/64"
        );
        assert!(matches!(
            parse_prefix("fd00::/129", false),
            Err(UlaError::BadPrefix { .. })
        ));
    }

    /// Thousands of random prefix sets, IPv4 and IPv6, compared with Python's
    /// `ipaddress.collapse_addresses`. Python draws the sets from a fixed seed and prints each
    /// set and its collapse; this checks our result for every set.
    #[test]
    fn matches_python_collapse_addresses() {
        let Some(py) = crate::ula::tests_support::python() else {
            panic!("/usr/bin/python3 not found (cargo xtask setup installs it)");
        };
        // Prefixes are drawn near each other (a shared random base, short random suffixes) so
        // that siblings and nesting are frequent.
        let script = r#"
import ipaddress, random
rng = random.Random(4193)
for case in range(3000):
    v6 = case % 2 == 1
    bits = 128 if v6 else 32
    cls = ipaddress.IPv6Network if v6 else ipaddress.IPv4Network
    base_len = rng.randint(0, bits - 8)
    base = rng.getrandbits(bits) & ~((1 << (bits - base_len)) - 1) if base_len else 0
    nets = []
    for _ in range(rng.randint(1, 40)):
        l = rng.randint(base_len, min(bits, base_len + 8))
        a = (base | rng.getrandbits(bits - base_len)) if base_len < bits else base
        a &= ~((1 << (bits - l)) - 1) if l < bits else (1 << bits) - 1
        nets.append(cls((a, l)))
    out = ipaddress.collapse_addresses(nets)
    print(" ".join(map(str, nets)) + "|" + " ".join(map(str, out)))
"#;
        let out = crate::ula::tests_support::run_python(&py, script, "");
        let mut cases = 0;
        for line in out.lines() {
            let (input, want) = line.split_once('|').unwrap();
            let input: Vec<IpNet> = input
                .split(' ')
                .map(|s| parse_prefix(s, false).unwrap())
                .collect();
            let want: Vec<IpNet> = want.split(' ').map(|s| s.parse().unwrap()).collect();
            assert_eq!(aggregate(&input), want, "input: {line}");
            cases += 1;
        }
        assert_eq!(cases, 3000);
    }
}
