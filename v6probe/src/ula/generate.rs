//! RFC 4193 section 3.2.2: the pseudo-random global ID of a unique local prefix.
//!
//! > 1) Obtain the current time of day in 64-bit NTP format [NTP].
//! > 2) Obtain an EUI-64 identifier from the system running this algorithm. If an EUI-64 does
//! >    not exist, one can be created from a 48-bit MAC address as specified in [ADDARCH].
//! > 3) Concatenate the time of day with the system-specific identifier in order to create a key.
//! > 4) Compute an SHA-1 digest on the key as specified in [FIPS, SHA1]; the resulting value is
//! >    160 bits.
//! > 5) Use the least significant 40 bits as the Global ID.
//! > 6) Concatenate FC00::/7, the L bit set to 1, and the 40-bit Global ID to create a Local IPv6
//! >    address prefix.
//!
//! The key is the 16 bytes (time, big-endian, then the EUI-64), never their hex text.
use std::{
    net::Ipv6Addr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use ipnet::Ipv6Net;
use serde::Serialize;
use sha1::{Digest, Sha1};
use v6probe_common::wire::{Eui64, Hex};

/// Seconds between the NTP era 0 epoch (1900-01-01) and the Unix epoch.
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A time as a 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, the binary fraction
/// of a second in the low 32 bits. Times before 1900 or after era 0 (2036) wrap, as NTP does.
pub fn ntp_time(t: SystemTime) -> u64 {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() + NTP_UNIX_OFFSET, d.subsec_nanos()),
        Err(e) => {
            let d: Duration = e.duration();
            (
                NTP_UNIX_OFFSET.wrapping_sub(d.as_secs() + 1),
                1_000_000_000 - d.subsec_nanos(),
            )
        }
    };
    let frac = ((u64::from(nanos)) << 32) / 1_000_000_000;
    (secs << 32).wrapping_add(frac)
}

/// A generated unique local /48 and the inputs that produced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UlaPrefix {
    /// `fdXX:XXXX:XXXX::/48`.
    pub prefix: Ipv6Net,
    /// The 40-bit global ID as 10 hex digits.
    pub global_id: String,
    /// The NTP-format time used, as an integer.
    pub ntp_time: u64,
    /// The EUI-64 used, as `xx:xx:xx:xx:xx:xx:xx:xx`.
    pub eui64: String,
    /// The SHA-1 digest of the key, hex.
    pub sha1: String,
}

/// The 40-bit global ID for a time and EUI-64 (steps 3 to 5).
pub fn global_id(ntp_time: u64, eui64: [u8; 8]) -> (u64, [u8; 20]) {
    let mut h = Sha1::new();
    h.update(ntp_time.to_be_bytes());
    h.update(eui64);
    let digest: [u8; 20] = h.finalize().into();
    let mut id = 0u64;
    for b in &digest[15..20] {
        id = (id << 8) | u64::from(*b);
    }
    (id, digest)
}

/// The /48 `fd00::/8` + global ID (step 6).
pub fn prefix_from_global_id(id: u64) -> Ipv6Net {
    let id = id & 0xff_ffff_ffff;
    let mut b = [0u8; 16];
    b[0] = 0xfd;
    b[1..6].copy_from_slice(&id.to_be_bytes()[3..8]);
    // A /48 is always a valid prefix length.
    Ipv6Net::new_assert(Ipv6Addr::from(b), 48)
}

/// Runs the whole algorithm for the given inputs.
pub fn generate(ntp_time: u64, eui64: [u8; 8]) -> UlaPrefix {
    let (id, digest) = global_id(ntp_time, eui64);
    UlaPrefix {
        prefix: prefix_from_global_id(id),
        global_id: format!("{id:010x}"),
        ntp_time,
        eui64: Eui64(eui64).to_string(),
        sha1: Hex(&digest).to_string(),
    }
}

/// The first `n` /64 subnets of a /48 (at most 65536).
pub fn subnets(prefix: Ipv6Net, n: u32) -> Vec<Ipv6Net> {
    let base = u128::from(prefix.trunc().network());
    (0..n.min(65536))
        .map(|i| Ipv6Net::new_assert(Ipv6Addr::from(base | (u128::from(i) << 64)), 64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_inverts_universal_local_bit() {
        assert_eq!(
            v6probe_common::wire::EthernetAddress([0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc])
                .modified_eui64()
                .0,
            [0x02, 0x1b, 0x21, 0xff, 0xfe, 0xaa, 0xbb, 0xcc]
        );
    }

    #[test]
    fn ntp_time_of_known_instants() {
        assert_eq!(ntp_time(UNIX_EPOCH), NTP_UNIX_OFFSET << 32);
        let half = UNIX_EPOCH + Duration::from_millis(1500);
        assert_eq!(ntp_time(half), ((NTP_UNIX_OFFSET + 1) << 32) | 0x8000_0000);
    }

    #[test]
    fn prefix_has_l_bit_and_is_48() {
        for (t, e) in [
            (0u64, [0u8; 8]),
            (u64::MAX, [0xff; 8]),
            (1234, [1, 2, 3, 4, 5, 6, 7, 8]),
        ] {
            let p = generate(t, e).prefix;
            assert_eq!(p.prefix_len(), 48);
            assert_eq!(p.network().octets()[0], 0xfd, "fc00::/7 with L = 1");
            assert_eq!(p.network(), p.trunc().network());
        }
    }

    #[test]
    fn subnets_count_up_in_the_16_bit_field() {
        let p: Ipv6Net = "fd12:3456:789a::/48".parse().unwrap();
        let s = subnets(p, 3);
        let want: Vec<Ipv6Net> = [
            "fd12:3456:789a::/64",
            "fd12:3456:789a:1::/64",
            "fd12:3456:789a:2::/64",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(s, want);
        assert_eq!(subnets(p, 70000).len(), 65536);
        assert_eq!(
            subnets(p, 65536)[65535].to_string(),
            "fd12:3456:789a:ffff::/64"
        );
    }

    /// Independent vectors: the test computes them with Python's hashlib from the same inputs,
    /// over the bytes (`struct.pack('>Q', t) + eui64`), and compares.
    #[test]
    fn matches_python_hashlib() {
        let Some(py) = crate::ula::tests_support::python() else {
            panic!("/usr/bin/python3 not found (cargo xtask setup installs it)");
        };
        let cases: Vec<(u64, [u8; 8])> = (0..64u64)
            .map(|i| {
                let t = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xe9a1_2b3c_0000_0000;
                let e = (i.wrapping_mul(0x2545_f491_4f6c_dd1d)).to_be_bytes();
                (t, e)
            })
            .chain([(0, [0; 8]), (u64::MAX, [0xff; 8])])
            .collect();
        let script = "import sys,hashlib,struct\n\
            for line in sys.stdin:\n\
            \x20   t,e=line.split()\n\
            \x20   d=hashlib.sha1(struct.pack('>Q',int(t))+bytes.fromhex(e)).digest()\n\
            \x20   g=d[-5:]\n\
            \x20   print(d.hex(), 'fd%02x:%02x%02x:%02x%02x::/48'%(g[0],g[1],g[2],g[3],g[4]))\n";
        let input: String = cases
            .iter()
            .map(|(t, e)| format!("{t} {}\n", Hex(e)))
            .collect();
        let out = crate::ula::tests_support::run_python(&py, script, &input);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), cases.len());
        for ((t, e), line) in cases.iter().zip(lines) {
            let (digest, prefix) = line.split_once(' ').unwrap();
            let got = generate(*t, *e);
            assert_eq!(got.sha1, digest, "t={t} e={e:?}");
            let want: Ipv6Net = prefix.parse().unwrap();
            assert_eq!(got.prefix, want, "t={t} e={e:?}");
        }
    }
}
