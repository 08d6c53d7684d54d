//! `v6probe decode` as a user runs it: packet lines with frame numbers, `--all` skipped lines
//! with reasons, text output, a damaged file (lines before the damage, then the byte offset and
//! exit 1), a missing file, a file that is not a capture, and a capture without ICMPv6 (exit 2).
use std::{
    net::Ipv6Addr,
    path::Path,
    process::{Command, Output},
    time::{Duration, UNIX_EPOCH},
};

use serde_json::Value;
use v6probe::{
    capture::{
        write::{PcapNgWriter, PcapWriter},
        Direction,
    },
    wire::{EthernetAddress, Frame, Icmpv6Repr, Message, NdpOption, Options},
};
use v6probe_lab::{stdout_json, TempDir};

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn ns(target: &str) -> Vec<u8> {
    let m = Icmpv6Repr::new(
        135,
        0,
        Message::NeighborSolicit {
            reserved: 0,
            target: ip(target),
            options: Options {
                list: vec![NdpOption::SourceLlAddr {
                    addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
                }],
                error: None,
            },
        },
    );
    Frame::new(
        EthernetAddress([2, 0, 0, 0, 0, 1]),
        EthernetAddress([0x33, 0x33, 0xff, 0, 0, 2]),
        ip("fe80::1"),
        ip("ff02::1:ff00:2"),
        255,
        m,
    )
    .to_bytes()
}

/// An ARP request (not IPv6).
fn arp() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.resize(60, 0);
    f
}

/// An IPv6 UDP datagram (IPv6, not ICMPv6).
fn udp6() -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 17, 64]);
    f.extend_from_slice(&ip("fd00::1").octets());
    f.extend_from_slice(&ip("fd00::2").octets());
    f.extend_from_slice(&[0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
    f
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write(UNIX_EPOCH + Duration::new(1_790_000_000 + i as u64, 5), f)
            .unwrap();
    }
    w.into_inner()
}

fn run(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_v6probe"))
        .arg("decode")
        .arg(file)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn packet_lines_and_skipped_lines() {
    let dir = TempDir::new("decode-all").unwrap();
    let file = dir
        .file(
            "mix.pcap",
            &pcap(&[arp(), ns("fe80::2"), udp6(), ns("fe80::3")]),
        )
        .unwrap();
    let o = run(&[], &file);
    assert!(o.status.success(), "{o:?}");
    let l = stdout_json(&o);
    assert_eq!(l.len(), 2);
    for (line, (frame, target)) in l.iter().zip([(2, "fe80::2"), (4, "fe80::3")]) {
        assert_eq!(line["kind"], "packet");
        assert_eq!(line["v"], 1);
        assert_eq!(line["frame"], frame);
        assert_eq!(line["hook"], "pcap");
        assert_eq!(line["iface"], Value::Null);
        assert_eq!(line["icmp6"]["name"], "neighbor_solicit");
        assert_eq!(line["icmp6"]["target"], target);
        assert_eq!(line["icmp6"]["checksum_ok"], true);
        assert_eq!(line["icmp6"]["options"][0]["addr"], "02:00:00:00:00:01");
        assert_eq!(line["violations"], serde_json::json!([]));
    }
    assert_eq!(l[0]["ts"], "2026-09-21T14:13:21.000000005Z");

    let o = run(&["--all"], &file);
    assert!(o.status.success(), "{o:?}");
    let l = stdout_json(&o);
    let kinds: Vec<(String, u64, String)> = l
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap().to_string(),
                x["frame"].as_u64().unwrap(),
                x["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("skipped".into(), 1, "not_ipv6".into()),
            ("packet".into(), 2, "".into()),
            ("skipped".into(), 3, "not_icmpv6".into()),
            ("packet".into(), 4, "".into()),
        ]
    );
    assert!(l[0]["detail"].as_str().unwrap().contains("0x0806"));
    assert!(l[2]["detail"].as_str().unwrap().contains("17"));
}

#[test]
fn pcapng_interface_and_direction_and_text_output() {
    let dir = TempDir::new("decode-ng").unwrap();
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let a = w.add_interface(Some("v6p-a0")).unwrap();
    w.write(a, UNIX_EPOCH, Some(Direction::Outbound), &ns("fe80::2"))
        .unwrap();
    w.write(a, UNIX_EPOCH, None, &arp()).unwrap();
    let file = dir.file("x.pcapng", &w.into_inner()).unwrap();
    let l = stdout_json(&run(&[], &file));
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["iface"], "v6p-a0");
    assert_eq!(l[0]["dir"], "egress");

    let o = run(&["--format", "text", "--all"], &file);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].contains("v6p-a0") && rows[0].contains("egress"));
    assert!(rows[0].contains("neighbor_solicit") && rows[0].contains("fe80::1"));
    assert!(rows[1].contains("skipped: not_ipv6"), "{text}");
}

#[test]
fn truncated_file_prints_lines_before_then_offset_and_exits_1() {
    let dir = TempDir::new("decode-cut").unwrap();
    let frames = [ns("fe80::2"), ns("fe80::3"), ns("fe80::4")];
    let full = pcap(&frames);
    let third = 24 + 2 * (16 + frames[0].len());
    let file = dir.file("cut.pcap", &full[..third + 20]).unwrap();
    let o = run(&[], &file);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let l = stdout_json(&o);
    assert_eq!(l.len(), 2);
    assert_eq!(l[1]["frame"], 2);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
    assert!(err.contains(&format!("byte offset {third}")), "{err}");
    assert!(err.contains("cut.pcap"), "{err}");
}

#[test]
fn missing_file_and_not_a_capture_exit_1() {
    let dir = TempDir::new("decode-bad").unwrap();
    let o = run(&[], &dir.path().join("nope.pcap"));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("nope.pcap") && err.contains("No such file"),
        "{err}"
    );

    let file = dir
        .file("notes.txt", b"hello, this is not a capture file at all\n")
        .unwrap();
    let o = run(&[], &file);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("not a pcap or pcapng"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn capture_without_icmpv6_exits_2() {
    let dir = TempDir::new("decode-none").unwrap();
    let file = dir.file("none.pcap", &pcap(&[arp(), udp6()])).unwrap();
    let o = run(&[], &file);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(o.stdout.is_empty());
    // With --all the skipped lines are printed; still nothing found.
    let o = run(&["--all"], &file);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout_json(&o).len(), 2);
}

#[test]
fn bad_usage_exits_64() {
    let o = Command::new(env!("CARGO_BIN_EXE_v6probe"))
        .args(["decode", "--format", "xml", "x.pcap"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn other_link_types_are_skipped_with_a_reason() {
    // A pcap of LINKTYPE_LINUX_SLL (113) holding one frame.
    let mut file = pcap(&[ns("fe80::2")]);
    file[20..24].copy_from_slice(&113u32.to_le_bytes());
    let dir = TempDir::new("decode-sll").unwrap();
    let file = dir.file("sll.pcap", &file).unwrap();
    let o = run(&["--all"], &file);
    assert_eq!(o.status.code(), Some(2));
    let l = stdout_json(&o);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["kind"], "skipped");
    assert_eq!(l[0]["reason"], "unsupported_link_type");
    assert_eq!(l[0]["link_type"], 113);
    // Without --all nothing is printed on stdout, and stderr says why.
    let o = run(&[], &file);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("link type 113 (linux_sll)"), "{err}");
}
