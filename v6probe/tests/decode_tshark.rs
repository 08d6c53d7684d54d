//! `v6probe decode` against Wireshark: frames made by our emitter (written as pcapng by
//! `capture::write`) and by an independent generator (scapy, written as pcap by scapy itself)
//! go through `tshark -T json` and `v6probe decode`, and every frame must agree on addresses,
//! types, codes, checksum status, RA / NA flags, lifetimes, prefixes, MTU, RDNSS servers, DNSSL
//! names, link-layer addresses, nonces, captive portal, PREF64, RA flags extension, route
//! information, redirected headers and the quoted packets of the four ICMPv6 errors.
//!
//! Both sides are reduced to the same `key=value` facts (`opt3.prefix=2001:db8:1::`); a
//! disagreement prints the facts only one side has.
use std::{
    collections::BTreeSet,
    fs,
    net::Ipv6Addr,
    path::Path,
    process::Command,
    time::{Duration, UNIX_EPOCH},
};

use serde_json::Value;
use v6probe::{
    capture::{
        write::{PcapNgWriter, PcapWriter},
        Direction,
    },
    wire::{
        icmpv6::Quoted, ndisc_option::Preference, EthernetAddress, Frame, Icmpv6Repr, Ipv6Repr,
        Message, NdpOption, Options, Prefix,
    },
};
use v6probe_lab::{stdout_json, TempDir};

const SCAPY: &str = "/usr/bin/python3";

/// Independent frames: scapy builds and writes them (`wrpcap`), one per line of its summary.
const SCAPY_SCRIPT: &str = r#"
import sys
from scapy.all import *
m1 = "02:00:00:00:00:01"; m2 = "02:00:00:00:00:02"
def E(dst, src=m1): return Ether(src=src, dst=dst)
F = []
F.append(E("33:33:00:00:00:02")/IPv6(src="fe80::1", dst="ff02::2")/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=m1))
ra = E("33:33:00:00:00:01")/IPv6(src="fe80::1", dst="ff02::1")/ICMPv6ND_RA(chlim=64, M=1, O=0, H=1, prf=3, P=1, routerlifetime=1800, reachabletime=30000, retranstimer=1000)
ra = ra/ICMPv6NDOptSrcLLAddr(lladdr=m1)/ICMPv6NDOptMTU(mtu=1500)
for p, l, a, v, pr in [("2001:db8:1::", 1, 1, 86400, 14400), ("2001:db8:2::", 0, 1, 4294967295, 4294967295), ("fd00:1::", 1, 0, 7200, 0)]:
    ra = ra/ICMPv6NDOptPrefixInfo(prefix=p, prefixlen=64, L=l, A=a, validlifetime=v, preferredlifetime=pr)
ra = ra/ICMPv6NDOptRDNSS(lifetime=600, dns=["2001:db8::53", "2001:db8::54", "fd00::53"])
ra = ra/ICMPv6NDOptDNSSL(lifetime=900, searchlist=["example.com", "lab.example.org", "a.b.c.example"])
ra = ra/ICMPv6NDOptRouteInfo(prefix="2001:db8:100::", plen=48, prf=1, rtlifetime=1800)
ra = ra/ICMPv6NDOptRouteInfo(prefix="::", plen=0, prf=3, rtlifetime=60)
ra = ra/ICMPv6NDOptEFA()
F.append(ra)
F.append(E("33:33:ff:00:00:02")/IPv6(src="fe80::1", dst="ff02::1:ff00:2")/ICMPv6ND_NS(tgt="fe80::2")/ICMPv6NDOptSrcLLAddr(lladdr=m1))
F.append(E("33:33:ff:00:00:02")/IPv6(src="::", dst="ff02::1:ff00:2")/ICMPv6ND_NS(tgt="2001:db8::2"))
F.append(E(m1, m2)/IPv6(src="fe80::2", dst="fe80::1")/ICMPv6ND_NA(tgt="fe80::2", R=1, S=1, O=0)/ICMPv6NDOptDstLLAddr(lladdr=m2))
F.append(E("33:33:00:00:00:01", m2)/IPv6(src="fe80::2", dst="ff02::1")/ICMPv6ND_NA(tgt="2001:db8::2", R=0, S=0, O=1)/ICMPv6NDOptDstLLAddr(lladdr=m2))
rd = IPv6(src="2001:db8::1", dst="2001:db8::5", hlim=63)/TCP(sport=40000, dport=443)
F.append(E(m2)/IPv6(src="fe80::1", dst="fe80::2")/ICMPv6ND_Redirect(tgt="fe80::3", dst="2001:db8::5")/ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:03")/ICMPv6NDOptRedirectedHdr(pkt=rd))
F.append(E(m1, m2)/IPv6(src="fd00::2", dst="fd00::1", hlim=64)/ICMPv6DestUnreach(code=3)/IPv6(src="fd00::1", dst="fd00::9", hlim=7)/UDP(sport=40000, dport=33434)/(b"x"*4))
F.append(E(m1, m2)/IPv6(src="fd00::2", dst="fd00::1", hlim=64)/ICMPv6PacketTooBig(mtu=1400)/IPv6(src="fd00::1", dst="fd00::9")/TCP(sport=443, dport=51000))
F.append(E(m1, m2)/IPv6(src="fd00::2", dst="fd00::1", hlim=64)/ICMPv6TimeExceeded(code=1)/IPv6(src="fd00::1", dst="fd00::9", hlim=1)/ICMPv6EchoRequest(id=0x1234, seq=7, data=b"abcd"))
F.append(E(m1, m2)/IPv6(src="fd00::2", dst="fd00::1", hlim=64)/ICMPv6ParamProblem(code=1, ptr=6)/IPv6(src="fd00::1", dst="fd00::2", nh=200)/(b"\x00"*8))
wrpcap(sys.argv[1], F)
"#;

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn mac(last: u8) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, 0, last])
}

fn opts(list: Vec<NdpOption>) -> Options {
    Options { list, error: None }
}

fn prefix(s: &str, len: u8) -> Prefix {
    Prefix { addr: ip(s), len }
}

/// An IPv6 packet (header + `upper`) to quote in an error or a redirected-header option.
fn inner(src: &str, dst: &str, nh: u8, hop_limit: u8, upper: &[u8]) -> Vec<u8> {
    let r = Ipv6Repr {
        src: ip(src),
        dst: ip(dst),
        next_header: nh,
        payload_len: upper.len() as u16,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut b = vec![0u8; 40];
    r.emit(&mut b).unwrap();
    b.extend_from_slice(upper);
    b
}

fn error(t: u8, code: u8, word: u32, data: Vec<u8>) -> Icmpv6Repr {
    let quoted = Box::new(Quoted::parse(&data));
    let reason = v6probe::wire::Icmpv6Type::from(t).code_name(code);
    let m = match t {
        1 => Message::DestUnreachable {
            reason,
            unused: word,
            quoted,
            data,
        },
        2 => Message::PacketTooBig {
            mtu: word,
            quoted,
            data,
        },
        3 => Message::TimeExceeded {
            reason,
            unused: word,
            quoted,
            data,
        },
        _ => Message::ParamProblem {
            reason,
            pointer: word,
            quoted,
            data,
        },
    };
    Icmpv6Repr::new(t, code, m)
}

/// Frames from our emitter: every message and option kind the codec writes.
fn emitted() -> Vec<Vec<u8>> {
    let all_nodes = EthernetAddress([0x33, 0x33, 0, 0, 0, 1]);
    let routers = EthernetAddress([0x33, 0x33, 0, 0, 0, 2]);
    let sol = EthernetAddress([0x33, 0x33, 0xff, 0, 0, 2]);
    let mut out = Vec::new();
    let rs = Icmpv6Repr::new(
        133,
        0,
        Message::RouterSolicit {
            reserved: 0,
            options: opts(vec![NdpOption::SourceLlAddr { addr: mac(1) }]),
        },
    );
    out.push(Frame::new(
        mac(1),
        routers,
        ip("fe80::1"),
        ip("ff02::2"),
        255,
        rs,
    ));
    let mut cp = b"https://portal.example/welcome?x=1".to_vec();
    cp.truncate(34);
    let ra = Icmpv6Repr::new(
        134,
        0,
        Message::RouterAdvert {
            cur_hop_limit: 64,
            managed: true,
            other: true,
            home_agent: false,
            preference: Preference::High,
            proxy: false,
            reserved_flags: 0,
            router_lifetime: 9000,
            reachable_time: 0,
            retrans_timer: 0,
            options: opts(vec![
                NdpOption::SourceLlAddr { addr: mac(1) },
                NdpOption::Mtu { mtu: 1280 },
                NdpOption::PrefixInfo {
                    prefix: prefix("2001:db8:a::", 64),
                    on_link: true,
                    autonomous: true,
                    router_addr: false,
                    dhcpv6_pd: false,
                    reserved_flags: 0,
                    valid_lifetime: 2592000,
                    preferred_lifetime: 604800,
                },
                NdpOption::PrefixInfo {
                    prefix: prefix("2001:db8:b::", 64),
                    on_link: false,
                    autonomous: true,
                    router_addr: true,
                    dhcpv6_pd: false,
                    reserved_flags: 0,
                    valid_lifetime: u32::MAX,
                    preferred_lifetime: u32::MAX,
                },
                NdpOption::PrefixInfo {
                    prefix: prefix("fd00:c::", 48),
                    on_link: true,
                    autonomous: false,
                    router_addr: false,
                    dhcpv6_pd: false,
                    reserved_flags: 0,
                    valid_lifetime: 3600,
                    preferred_lifetime: 0,
                },
                NdpOption::RouteInfo {
                    prefix: prefix("::", 0),
                    preference: Preference::Low,
                    route_lifetime: 600,
                    length: 1,
                },
                NdpOption::RouteInfo {
                    prefix: prefix("2001:db8:100::", 56),
                    preference: Preference::High,
                    route_lifetime: 1800,
                    length: 2,
                },
                NdpOption::RouteInfo {
                    prefix: prefix("2001:db8:200::1", 128),
                    preference: Preference::Medium,
                    route_lifetime: u32::MAX,
                    length: 3,
                },
                NdpOption::Rdnss {
                    lifetime: 1200,
                    servers: vec![ip("2001:db8::53"), ip("fd00::53")],
                },
                NdpOption::Dnssl {
                    lifetime: 1200,
                    domains: vec!["example.com".into(), "corp.example.net".into()],
                    length: 0,
                },
                NdpOption::CaptivePortal {
                    uri: String::from_utf8(cp).unwrap(),
                    length: 0,
                },
                NdpOption::Pref64 {
                    prefix: prefix("64:ff9b::", 96),
                    lifetime: 1800,
                },
                NdpOption::Pref64 {
                    prefix: prefix("2001:db8:64::", 64),
                    lifetime: 600,
                },
                NdpOption::RaFlagsExt {
                    bits: 0x8000_0000_0000,
                },
                NdpOption::Nonce {
                    nonce: vec![0xde, 0xad, 0xbe, 0xef, 0x01, 0x02],
                },
            ]),
        },
    );
    out.push(Frame::new(
        mac(1),
        all_nodes,
        ip("fe80::1"),
        ip("ff02::1"),
        255,
        ra,
    ));
    let ns = Icmpv6Repr::new(
        135,
        0,
        Message::NeighborSolicit {
            reserved: 0,
            target: ip("2001:db8::2"),
            options: opts(vec![NdpOption::SourceLlAddr { addr: mac(1) }]),
        },
    );
    out.push(Frame::new(
        mac(1),
        sol,
        ip("2001:db8::1"),
        ip("ff02::1:ff00:2"),
        255,
        ns,
    ));
    let dad = Icmpv6Repr::new(
        135,
        0,
        Message::NeighborSolicit {
            reserved: 0,
            target: ip("fe80::2"),
            options: opts(vec![NdpOption::Nonce {
                nonce: vec![1, 2, 3, 4, 5, 6],
            }]),
        },
    );
    out.push(Frame::new(
        mac(2),
        sol,
        ip("::"),
        ip("ff02::1:ff00:2"),
        255,
        dad,
    ));
    for (r, s, o, dst) in [
        (true, true, true, "fe80::1"),
        (false, false, true, "ff02::1"),
        (true, false, false, "fe80::1"),
    ] {
        let na = Icmpv6Repr::new(
            136,
            0,
            Message::NeighborAdvert {
                router: r,
                solicited: s,
                override_: o,
                reserved: 0,
                target: ip("2001:db8::2"),
                options: opts(vec![NdpOption::TargetLlAddr { addr: mac(2) }]),
            },
        );
        out.push(Frame::new(mac(2), mac(1), ip("fe80::2"), ip(dst), 255, na));
    }
    let udp = [
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x10, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
    let rd = Icmpv6Repr::new(
        137,
        0,
        Message::Redirect {
            reserved: 0,
            target: ip("fe80::3"),
            destination: ip("2001:db8::5"),
            options: opts(vec![
                NdpOption::TargetLlAddr { addr: mac(3) },
                NdpOption::RedirectedHeader {
                    data: inner("2001:db8::1", "2001:db8::5", 17, 63, &udp),
                },
            ]),
        },
    );
    out.push(Frame::new(
        mac(1),
        mac(2),
        ip("fe80::1"),
        ip("fe80::2"),
        255,
        rd,
    ));
    // The four errors, each quoting a different upper layer.
    let tcp = [
        0x01, 0xbb, 0xc7, 0x38, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0,
    ];
    let echo = [128, 0, 0, 0, 0xbe, 0xef, 0x00, 0x09, b'p', b'i', b'n', b'g'];
    let errs = [
        error(1, 4, 0, inner("fd00::1", "fd00::2", 17, 64, &udp)),
        error(1, 1, 0, inner("fd00::1", "fd00::7", 6, 64, &tcp)),
        error(2, 0, 1400, inner("fd00::1", "fd00::9", 6, 63, &tcp)),
        error(3, 0, 0, inner("fd00::1", "fd00::9", 58, 1, &echo)),
        error(4, 0, 42, inner("fd00::1", "fd00::2", 58, 64, &echo)),
    ];
    for e in errs {
        out.push(Frame::new(
            mac(2),
            mac(1),
            ip("fd00::2"),
            ip("fd00::1"),
            64,
            e,
        ));
    }
    let mut bytes: Vec<Vec<u8>> = out.iter().map(Frame::to_bytes).collect();
    // An NS with a broken checksum: both must say so.
    let mut bad = bytes[2].clone();
    let n = bad.len();
    bad[n - 1] ^= 0x55;
    bytes.push(bad);
    bytes
}

/// `tshark -T json` of a file: one `_source.layers` object per frame.
fn tshark(file: &Path) -> Vec<Value> {
    let out = Command::new("tshark")
        .args(["-n", "-T", "json", "--no-duplicate-keys", "-r"])
        .arg(file)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("tshark JSON");
    v.as_array()
        .expect("a list of frames")
        .iter()
        .map(|f| f["_source"]["layers"].clone())
        .collect()
}

fn decode(file: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_v6probe"))
        .arg("decode")
        .arg(file)
        .output()
        .expect("run v6probe decode");
    assert!(
        out.status.success(),
        "decode failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_json(&out)
}

/// A string for a JSON scalar: numbers and bools as numbers, `0x..` hex as decimal.
fn s(v: &Value) -> String {
    match v {
        Value::String(x) => {
            if let Some(h) = x.strip_prefix("0x") {
                u64::from_str_radix(h, 16).map_or_else(|_| x.clone(), |n| n.to_string())
            } else {
                x.clone()
            }
        }
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// A tshark field that may repeat (a string, or a list with `--no-duplicate-keys`).
fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(s).collect(),
        Value::Null => Vec::new(),
        x => vec![s(x)],
    }
}

fn pref_bits(p: &Value) -> String {
    match p.as_str() {
        Some("medium") => "0",
        Some("high") => "1",
        Some("reserved") => "2",
        Some("low") => "3",
        _ => "?",
    }
    .into()
}

struct Facts(BTreeSet<String>);

impl Facts {
    fn put(&mut self, k: impl AsRef<str>, v: impl Into<String>) {
        self.0.insert(format!("{}={}", k.as_ref(), v.into()));
    }
    /// Puts `k=v` when the tshark field exists.
    fn put_ts(&mut self, k: impl AsRef<str>, v: &Value) {
        if !v.is_null() {
            self.put(k, list(v).join(","));
        }
    }
}

/// The quoted packet of an error or a redirected-header option, from tshark's nested layers.
fn tshark_quoted(f: &mut Facts, k: &str, o: &Value) {
    let ip6 = &o["ipv6"];
    f.put_ts(format!("{k}.src"), &ip6["ipv6.src"]);
    f.put_ts(format!("{k}.dst"), &ip6["ipv6.dst"]);
    f.put_ts(format!("{k}.nh"), &ip6["ipv6.nxt"]);
    f.put_ts(format!("{k}.hlim"), &ip6["ipv6.hlim"]);
    for (proto, sp, dp) in [
        ("udp", "udp.srcport", "udp.dstport"),
        ("tcp", "tcp.srcport", "tcp.dstport"),
    ] {
        f.put_ts(format!("{k}.{proto}.sport"), &o[proto][sp]);
        f.put_ts(format!("{k}.{proto}.dport"), &o[proto][dp]);
    }
    let ic = &o["icmpv6"];
    f.put_ts(format!("{k}.icmp.type"), &ic["icmpv6.type"]);
    f.put_ts(format!("{k}.icmp.code"), &ic["icmpv6.code"]);
    f.put_ts(format!("{k}.icmp.id"), &ic["icmpv6.echo.identifier"]);
    f.put_ts(format!("{k}.icmp.seq"), &ic["icmpv6.echo.sequence_number"]);
}

fn ours_quoted(f: &mut Facts, k: &str, q: &Value) {
    f.put(format!("{k}.src"), s(&q["src"]));
    f.put(format!("{k}.dst"), s(&q["dst"]));
    f.put(format!("{k}.nh"), s(&q["next_header"]));
    f.put(format!("{k}.hlim"), s(&q["hop_limit"]));
    let u = &q["upper"];
    match u["proto"].as_str() {
        Some(p @ ("udp" | "tcp")) => {
            f.put(format!("{k}.{p}.sport"), s(&u["src_port"]));
            f.put(format!("{k}.{p}.dport"), s(&u["dst_port"]));
        }
        Some("icmpv6") => {
            f.put(format!("{k}.icmp.type"), s(&u["type"]));
            f.put(format!("{k}.icmp.code"), s(&u["code"]));
            if !u["id"].is_null() {
                f.put(format!("{k}.icmp.id"), s(&u["id"]));
                f.put(format!("{k}.icmp.seq"), s(&u["seq"]));
            }
        }
        _ => {}
    }
}

/// tshark's view of one frame.
fn tshark_facts(l: &Value) -> Facts {
    let mut f = Facts(BTreeSet::new());
    let fr = &l["frame"];
    f.put_ts("frame", &fr["frame.number"]);
    f.put_ts("time", &fr["frame.time_epoch"]);
    f.put_ts(
        "iface",
        &fr["frame.interface_id_tree"]["frame.interface_name"],
    );
    f.put(
        "dir",
        match s(&fr["frame.packet_flags_tree"]["frame.packet_flags_direction"]).as_str() {
            "1" => "ingress",
            "2" => "egress",
            _ => "null",
        },
    );
    f.put_ts("eth.src", &l["eth"]["eth.src"]);
    f.put_ts("eth.dst", &l["eth"]["eth.dst"]);
    let ip6 = &l["ipv6"];
    f.put_ts("ip.src", &ip6["ipv6.src"]);
    f.put_ts("ip.dst", &ip6["ipv6.dst"]);
    f.put_ts("ip.hlim", &ip6["ipv6.hlim"]);
    let ic = &l["icmpv6"];
    f.put_ts("type", &ic["icmpv6.type"]);
    f.put_ts("code", &ic["icmpv6.code"]);
    f.put(
        "checksum_ok",
        match ic["icmpv6.checksum.status"].as_str() {
            Some("1") => "1",
            Some("0") => "0",
            _ => "unverified",
        },
    );
    let ra = &ic["icmpv6.nd.ra.flag_tree"];
    f.put_ts("ra.cur_hop_limit", &ic["icmpv6.nd.ra.cur_hop_limit"]);
    for flag in ["m", "o", "h", "prf", "p"] {
        f.put_ts(
            format!("ra.{flag}"),
            &ra[format!("icmpv6.nd.ra.flag.{flag}")],
        );
    }
    f.put_ts("ra.router_lifetime", &ic["icmpv6.nd.ra.router_lifetime"]);
    f.put_ts("ra.reachable_time", &ic["icmpv6.nd.ra.reachable_time"]);
    f.put_ts("ra.retrans_timer", &ic["icmpv6.nd.ra.retrans_timer"]);
    f.put_ts("target", &ic["icmpv6.nd.ns.target_address"]);
    f.put_ts("target", &ic["icmpv6.nd.na.target_address"]);
    f.put_ts("target", &ic["icmpv6.nd.rd.target_address"]);
    f.put_ts("destination", &ic["icmpv6.rd.na.destination_address"]);
    let na = &ic["icmpv6.nd.na.flag_tree"];
    for flag in ["r", "s", "o"] {
        f.put_ts(
            format!("na.{flag}"),
            &na[format!("icmpv6.nd.na.flag.{flag}")],
        );
    }
    f.put_ts("mtu", &ic["icmpv6.mtu"]);
    f.put_ts("pointer", &ic["icmpv6.pointer"]);
    if !ic["ipv6"].is_null() {
        tshark_quoted(&mut f, "quoted", ic);
    }
    let options: Vec<Value> = match &ic["icmpv6.opt"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        o => vec![o.clone()],
    };
    for (i, o) in options.iter().enumerate() {
        let k = format!("opt{i}");
        let t = s(&o["icmpv6.opt.type"]);
        f.put(format!("{k}.type"), t.clone());
        match t.as_str() {
            "1" | "2" => f.put_ts(format!("{k}.ll"), &o["icmpv6.opt.linkaddr"]),
            "3" => {
                let fl = &o["icmpv6.opt.prefix.flag_tree"];
                f.put_ts(format!("{k}.prefix"), &o["icmpv6.opt.prefix"]);
                f.put_ts(format!("{k}.plen"), &o["icmpv6.opt.prefix.length"]);
                for flag in ["l", "a", "r"] {
                    f.put_ts(
                        format!("{k}.{flag}"),
                        &fl[format!("icmpv6.opt.prefix.flag.{flag}")],
                    );
                }
                f.put_ts(format!("{k}.valid"), &o["icmpv6.opt.prefix.valid_lifetime"]);
                f.put_ts(
                    format!("{k}.preferred"),
                    &o["icmpv6.opt.prefix.preferred_lifetime"],
                );
            }
            "4" => tshark_quoted(&mut f, &k, o),
            "5" => f.put_ts(format!("{k}.mtu"), &o["icmpv6.opt.mtu"]),
            "14" => f.put(
                format!("{k}.nonce"),
                s(&o["icmpv6.opt.nonce"]).replace(':', ""),
            ),
            "24" => {
                // A length-1 option carries no prefix bytes (RFC 4191 2.3: only with prefix
                // length 0): tshark shows no prefix field, v6probe shows `::/0`.
                if o["icmpv6.opt.prefix"].is_null() && s(&o["icmpv6.opt.length"]) == "1" {
                    f.put(format!("{k}.prefix"), "::");
                }
                f.put_ts(format!("{k}.prefix"), &o["icmpv6.opt.prefix"]);
                f.put_ts(format!("{k}.plen"), &o["icmpv6.opt.prefix.length"]);
                f.put_ts(
                    format!("{k}.prf"),
                    &o["icmpv6.opt.route_info.flag_tree"]
                        ["icmpv6.opt.route_info.flag.route_preference"],
                );
                f.put_ts(format!("{k}.lifetime"), &o["icmpv6.opt.route_lifetime"]);
            }
            "25" => {
                f.put_ts(format!("{k}.lifetime"), &o["icmpv6.opt.rdnss.lifetime"]);
                f.put_ts(format!("{k}.servers"), &o["icmpv6.opt.rdnss"]);
            }
            "26" => f.put_ts(format!("{k}.efo"), &o["icmpv6.opt.efo"]),
            "31" => {
                f.put_ts(format!("{k}.lifetime"), &o["icmpv6.opt.dnssl.lifetime"]);
                f.put_ts(format!("{k}.domains"), &o["icmpv6.opt.dnssl"]);
            }
            "37" => f.put_ts(format!("{k}.uri"), &o["icmpv6.opt.captive_portal"]),
            "38" => {
                f.put_ts(format!("{k}.prefix"), &o["icmpv6.opt.pref64.prefix"]);
                f.put_ts(format!("{k}.plc"), &o["icmpv6.opt.pref64.plc"]);
                f.put_ts(
                    format!("{k}.scaled_lifetime"),
                    &o["icmpv6.opt.pref64.scaled_lifetime"],
                );
            }
            _ => {}
        }
    }
    f
}

/// v6probe's view of one frame (a `packet` line).
fn ours_facts(p: &Value) -> Facts {
    let mut f = Facts(BTreeSet::new());
    f.put("frame", s(&p["frame"]));
    let ts = humantime::parse_rfc3339(p["ts"].as_str().unwrap_or_default()).expect("ts");
    let d = ts.duration_since(UNIX_EPOCH).unwrap();
    f.put("time", format!("{}.{:09}", d.as_secs(), d.subsec_nanos()));
    if !p["iface"].is_null() {
        f.put("iface", s(&p["iface"]));
    }
    f.put("dir", s(&p["dir"]));
    f.put("eth.src", s(&p["eth"]["src"]));
    f.put("eth.dst", s(&p["eth"]["dst"]));
    f.put("ip.src", s(&p["ip6"]["src"]));
    f.put("ip.dst", s(&p["ip6"]["dst"]));
    f.put("ip.hlim", s(&p["ip6"]["hop_limit"]));
    let ic = &p["icmp6"];
    f.put("type", s(&ic["type"]));
    f.put("code", s(&ic["code"]));
    f.put(
        "checksum_ok",
        match ic["checksum_ok"].as_bool() {
            Some(true) => "1",
            Some(false) => "0",
            None => "unverified",
        },
    );
    match ic["name"].as_str().unwrap_or_default() {
        "router_advert" => {
            f.put("ra.cur_hop_limit", s(&ic["cur_hop_limit"]));
            f.put("ra.m", s(&ic["managed"]));
            f.put("ra.o", s(&ic["other"]));
            f.put("ra.h", s(&ic["home_agent"]));
            f.put("ra.prf", pref_bits(&ic["preference"]));
            f.put("ra.p", s(&ic["proxy"]));
            f.put("ra.router_lifetime", s(&ic["router_lifetime"]));
            f.put("ra.reachable_time", s(&ic["reachable_time"]));
            f.put("ra.retrans_timer", s(&ic["retrans_timer"]));
        }
        "neighbor_solicit" => f.put("target", s(&ic["target"])),
        "neighbor_advert" => {
            f.put("target", s(&ic["target"]));
            f.put("na.r", s(&ic["router"]));
            f.put("na.s", s(&ic["solicited"]));
            f.put("na.o", s(&ic["override"]));
        }
        "redirect" => {
            f.put("target", s(&ic["target"]));
            f.put("destination", s(&ic["destination"]));
        }
        _ => {}
    }
    if !ic["mtu"].is_null() {
        f.put("mtu", s(&ic["mtu"]));
    }
    if !ic["pointer"].is_null() {
        f.put("pointer", s(&ic["pointer"]));
    }
    if !ic["quoted"].is_null() {
        ours_quoted(&mut f, "quoted", &ic["quoted"]);
    }
    let empty = Vec::new();
    for (i, o) in ic["options"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .enumerate()
    {
        let k = format!("opt{i}");
        f.put(format!("{k}.type"), s(&o["type"]));
        let split = |p: &Value| {
            let t = s(p);
            let (a, l) = t.split_once('/').unwrap_or((&t, ""));
            (a.to_string(), l.to_string())
        };
        match o["name"].as_str().unwrap_or_default() {
            "source_ll_addr" | "target_ll_addr" => f.put(format!("{k}.ll"), s(&o["addr"])),
            "prefix_info" => {
                let (a, l) = split(&o["prefix"]);
                f.put(format!("{k}.prefix"), a);
                f.put(format!("{k}.plen"), l);
                f.put(format!("{k}.l"), s(&o["on_link"]));
                f.put(format!("{k}.a"), s(&o["autonomous"]));
                f.put(format!("{k}.r"), s(&o["router_addr"]));
                f.put(format!("{k}.valid"), s(&o["valid_lifetime"]));
                f.put(format!("{k}.preferred"), s(&o["preferred_lifetime"]));
            }
            "redirected_header" => ours_quoted(&mut f, &k, &o["quoted"]),
            "mtu" => f.put(format!("{k}.mtu"), s(&o["mtu"])),
            "nonce" => f.put(format!("{k}.nonce"), s(&o["nonce"])),
            "route_info" => {
                let (a, l) = split(&o["prefix"]);
                f.put(format!("{k}.prefix"), a);
                f.put(format!("{k}.plen"), l);
                f.put(format!("{k}.prf"), pref_bits(&o["preference"]));
                f.put(format!("{k}.lifetime"), s(&o["route_lifetime"]));
            }
            "rdnss" => {
                f.put(format!("{k}.lifetime"), s(&o["lifetime"]));
                f.put(format!("{k}.servers"), list(&o["servers"]).join(","));
            }
            "ra_flags_ext" => {
                // tshark shows the first 16 of the 48 bits.
                let bits = o["bits"].as_u64().unwrap_or_default();
                f.put(format!("{k}.efo"), (bits >> 32).to_string());
            }
            "dnssl" => {
                f.put(format!("{k}.lifetime"), s(&o["lifetime"]));
                f.put(format!("{k}.domains"), list(&o["domains"]).join(","));
            }
            "captive_portal" => f.put(format!("{k}.uri"), s(&o["uri"])),
            "pref64" => {
                let (a, l) = split(&o["prefix"]);
                f.put(format!("{k}.prefix"), a);
                let plc = match l.as_str() {
                    "96" => 0,
                    "64" => 1,
                    "56" => 2,
                    "48" => 3,
                    "40" => 4,
                    _ => 5,
                };
                f.put(format!("{k}.plc"), plc.to_string());
                let life = o["lifetime"].as_u64().unwrap_or_default();
                f.put(format!("{k}.scaled_lifetime"), (life / 8).to_string());
            }
            _ => {}
        }
    }
    f
}

/// Compares every ICMPv6 frame of `file`; returns the number compared.
fn agree(file: &Path) -> usize {
    let ts: Vec<Value> = tshark(file)
        .into_iter()
        .filter(|l| !l["icmpv6"].is_null())
        .collect();
    let ours = decode(file);
    assert_eq!(
        ts.len(),
        ours.len(),
        "{}: tshark saw {} ICMPv6 frames, v6probe {}",
        file.display(),
        ts.len(),
        ours.len()
    );
    let mut bad = Vec::new();
    for (t, o) in ts.iter().zip(&ours) {
        let (t, o) = (tshark_facts(t), ours_facts(o));
        if t.0 != o.0 {
            let only_t: Vec<_> = t.0.difference(&o.0).collect();
            let only_o: Vec<_> = o.0.difference(&t.0).collect();
            bad.push(format!(
                "frame {:?}:\n  only tshark:  {only_t:?}\n  only v6probe: {only_o:?}",
                t.0.iter().find(|x| x.starts_with("frame="))
            ));
        }
        assert!(t.0.len() > 8, "too few facts compared: {:?}", t.0);
    }
    assert!(
        bad.is_empty(),
        "{}: v6probe and tshark disagree:\n{}",
        file.display(),
        bad.join("\n")
    );
    ours.len()
}

/// The tools compared against: a test fails, never passes, where they are missing.
fn require_tools() {
    assert!(
        have("tshark", &["--version"]),
        "tshark is not installed (cargo xtask setup installs it)"
    );
    assert!(
        have(SCAPY, &["-c", "import scapy.all"]),
        "python3-scapy is not installed (cargo xtask setup installs it)"
    );
}

#[test]
fn emitter_frames_agree_with_tshark() {
    require_tools();
    let dir = TempDir::new("tshark-emit").unwrap();
    let file = dir.path().join("emitted.pcapng");
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let ifc = w.add_interface(Some("v6p-lab0")).unwrap();
    let frames = emitted();
    for (i, b) in frames.iter().enumerate() {
        let ts = UNIX_EPOCH + Duration::new(1_790_000_000 + i as u64, 1000 * i as u32);
        w.write(ifc, ts, Some(Direction::Inbound), b).unwrap();
    }
    fs::write(&file, w.into_inner()).unwrap();
    assert_eq!(agree(&file), frames.len());
}

#[test]
fn scapy_frames_agree_with_tshark() {
    require_tools();
    let dir = TempDir::new("tshark-scapy").unwrap();
    let file = dir.path().join("scapy.pcap");
    let out = Command::new(SCAPY)
        .args(["-c", SCAPY_SCRIPT])
        .arg(&file)
        .output()
        .expect("run scapy");
    assert!(
        out.status.success(),
        "scapy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(agree(&file), 11);
}

/// The pcap writer's output reads back in tshark too (same frames, same count).
#[test]
fn pcap_writer_output_reads_in_tshark() {
    require_tools();
    let dir = TempDir::new("tshark-pcap").unwrap();
    let file = dir.path().join("emitted.pcap");
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let frames = emitted();
    for b in &frames {
        w.write(UNIX_EPOCH + Duration::from_secs(1_790_000_000), b)
            .unwrap();
    }
    fs::write(&file, w.into_inner()).unwrap();
    assert_eq!(agree(&file), frames.len());
}
