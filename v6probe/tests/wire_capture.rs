//! The codec against real frames: a kernel, radvd, ndisc6/rdisc6 and ping talk over a veth pair
//! between two lab namespaces while tcpdump captures; every captured ICMPv6 frame must decode,
//! carry a good checksum, pass validation (kernel- and radvd-made frames follow the RFCs) and
//! re-emit to the same bytes.
use std::{
    fs,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use v6probe::wire::{icmpv6::QuotedUpper, Frame, Message, NdpOption};
use v6probe_lab::{veth, Netns, TempDir};

const RADVD_CONF: &str = "interface v6pa0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    AdvManagedFlag on;
    AdvLinkMTU 1400;
    prefix fd00:1::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 86400; AdvPreferredLifetime 14400; };
    prefix fd00:2::/64 { };
    route fd00:100::/48 { AdvRoutePreference high; AdvRouteLifetime 1800; };
    RDNSS fd00::53 fd00::54 { AdvRDNSSLifetime 600; };
    DNSSL example.com lab.example.org { AdvDNSSLLifetime 600; };
};
";

/// Frames of a classic pcap file (Ethernet link type), read by hand to keep this test free of
/// a pcap dependency.
fn pcap_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert!(bytes.len() >= 24, "pcap header missing");
    let le = match &bytes[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        m => panic!("not a pcap file: magic {m:02x?}"),
    };
    let u32_at = |b: &[u8], at: usize| {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    assert_eq!(u32_at(bytes, 20), 1, "link type is not Ethernet");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let incl = u32_at(bytes, off + 8) as usize;
        let start = off + 16;
        if start + incl > bytes.len() {
            break; // the last record may be cut when tcpdump is stopped
        }
        out.push(bytes[start..start + incl].to_vec());
        off = start + incl;
    }
    out
}

fn wait_for_file(path: &Path, min_len: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if fs::metadata(path).is_ok_and(|m| m.len() >= min_len) {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("{} not written within {timeout:?}", path.display());
}

#[test]
#[ignore = "needs root: network namespaces, packet capture (tcpdump)"]
fn real_ndp_frames_decode_validate_and_reemit() {
    v6probe_lab::require_privileges();
    for tool in ["tcpdump", "radvd", "rdisc6", "ndisc6", "ping"] {
        assert!(
            which(tool).is_some(),
            "{tool} not installed (cargo xtask setup installs it)"
        );
    }
    let a = Netns::new("wire-a").unwrap();
    let b = Netns::new("wire-b").unwrap();
    veth(&a, "v6pa0", &b, "v6pb0").unwrap();
    a.sysctl("net.ipv6.conf.all.forwarding", "1").unwrap();

    let scratch = TempDir::new("wire").unwrap();
    let dir = scratch.path();
    let pcap = dir.join("capture.pcap");
    let conf = dir.join("radvd.conf");
    fs::write(&conf, RADVD_CONF).unwrap();

    let pcap_s = pcap.to_str().unwrap();
    let mut tcpdump = b
        .spawn(
            "timeout",
            &[
                "20",
                "tcpdump",
                "-i",
                "v6pb0",
                "-U",
                "--immediate-mode",
                "-n",
                "-c",
                "200",
                "-w",
                pcap_s,
                "icmp6",
            ],
        )
        .unwrap();
    wait_for_file(&pcap, 24, Duration::from_secs(5));

    a.ip(&["-6", "addr", "add", "fd00::1/64", "dev", "v6pa0"])
        .unwrap();
    b.ip(&["-6", "addr", "add", "fd00::2/64", "dev", "v6pb0"])
        .unwrap();
    a.wait_dad(Duration::from_secs(5)).unwrap();
    b.wait_dad(Duration::from_secs(5)).unwrap();

    let pidfile = dir.join("radvd.pid");
    let mut radvd = a
        .spawn(
            "radvd",
            &[
                "-n",
                "-m",
                "stderr",
                "-C",
                conf.to_str().unwrap(),
                "-p",
                pidfile.to_str().unwrap(),
            ],
        )
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    // RS from b, RA answered by radvd.
    let _ = b.exec("rdisc6", &["-1", "-r", "3", "-w", "1000", "v6pb0"]);
    // NS with SLLA from ndisc6, NA from a's kernel.
    let _ = b.exec(
        "ndisc6",
        &["-1", "-r", "3", "-w", "1000", "fd00::1", "v6pb0"],
    );
    // Echo request/reply.
    b.exec(
        "ping",
        &[
            "-6", "-c", "2", "-i", "0.2", "-W", "1", "-w", "10", "fd00::1",
        ],
    )
    .unwrap();
    // UDP to a closed port: a's kernel answers port unreachable quoting it.
    let _ = b.exec("bash", &["-c", "echo x > /dev/udp/fd00::1/33434"]);
    thread::sleep(Duration::from_millis(500));
    // SAFETY: kill has no memory-safety preconditions; the pid is the child we started.
    unsafe { libc::kill(tcpdump.id() as i32, libc::SIGTERM) };
    let _ = tcpdump.wait();
    // SAFETY: as above, for the radvd child.
    unsafe { libc::kill(radvd.id() as i32, libc::SIGTERM) };
    let _ = radvd.wait();

    let frames = pcap_frames(&fs::read(&pcap).unwrap());
    assert!(!frames.is_empty(), "nothing captured");

    let mut seen = std::collections::BTreeSet::new();
    let mut ra_checked = false;
    let mut unreach_checked = false;
    for (i, bytes) in frames.iter().enumerate() {
        let f = Frame::parse(bytes).unwrap_or_else(|e| panic!("frame {}: {e}", i + 1));
        let m = f
            .icmp6
            .as_ref()
            .unwrap_or_else(|| panic!("frame {}: no ICMPv6", i + 1));
        assert_eq!(f.checksum_ok, Some(true), "frame {}: {m:?}", i + 1);
        seen.insert(m.msg_type.name());
        if m.msg_type.is_ndp() || u8::from(m.msg_type) < 130 {
            assert!(
                f.validate().is_empty(),
                "frame {} ({}): {:?}",
                i + 1,
                m.msg_type,
                f.validate()
            );
            assert_eq!(
                &f.to_bytes(),
                bytes,
                "frame {} ({}) re-emits differently",
                i + 1,
                m.msg_type
            );
        }
        match &m.message {
            Message::RouterAdvert {
                managed, options, ..
            } => {
                assert!(*managed);
                let o = &options.list;
                assert!(o.contains(&NdpOption::Mtu { mtu: 1400 }), "{o:?}");
                let text = format!("{o:?}");
                for want in ["fd00:1::", "fd00:2::", "fd00:100::", "fd00::53", "fd00::54"] {
                    assert!(text.contains(want), "{want} missing from {text}");
                }
                assert!(o.iter().any(|x| matches!(x,
                    NdpOption::Dnssl { domains, .. } if domains == &["example.com", "lab.example.org"])));
                assert_eq!(
                    options.source_ll_addr().map(|m| m.to_string()),
                    Some(a.mac("v6pa0").unwrap())
                );
                ra_checked = true;
            }
            Message::DestUnreachable { quoted, .. } => {
                assert_eq!(
                    quoted.upper.map(|u| match u {
                        QuotedUpper::Udp { dst_port, .. } => dst_port,
                        _ => 0,
                    }),
                    Some(33434)
                );
                unreach_checked = true;
            }
            _ => {}
        }
    }
    eprintln!("captured {} frames: {seen:?}", frames.len());
    for want in [
        "neighbor_solicit",
        "neighbor_advert",
        "router_solicit",
        "router_advert",
        "echo_request",
        "echo_reply",
    ] {
        assert!(seen.contains(want), "no {want} captured: {seen:?}");
    }
    assert!(ra_checked && unreach_checked, "seen {seen:?}");
}

fn which(tool: &str) -> Option<()> {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| ())
}
