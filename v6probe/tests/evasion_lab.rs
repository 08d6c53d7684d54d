//! `v6probe monitor` against the evasions of NDP monitoring, sent by scapy from an attacker
//! namespace onto a bridge shared with a radvd router and the monitored host (real kernels,
//! the kernel programs attached): an RA in fragments whose first fragment holds only part of
//! a 256-byte options header (`ra6 -u 256 -y 64`), overlapping fragments, RAs behind nine,
//! sixteen and seventeen options headers and behind one 304-byte header, an RA of the known
//! router padded to 1,400 bytes with another RDNSS, one padded past what a record holds, and
//! an NA with a wrong checksum. Each must raise its alerts. The links run at MTU 3000 so a
//! frame can be longer than the largest record (2048 bytes). Addresses: 2001:db8::/32 and
//! fe80::/10, inside the lab only.
#![cfg(target_os = "linux")]

use std::{
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use v6probe_lab::{json_line, veth, Daemon, LineReader, Netns, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
const MTU: &str = "3000";

/// Sends one evasion case with scapy: `iface case src_mac src_ll [args]`. Fragments are cut
/// by hand, byte for byte (all of the packet after the IPv6 header is the fragmentable part,
/// as `ra6 -u` sends its options header inside the fragments).
const SCAPY: &str = r#"
import sys
from scapy.all import (Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, PadN, Raw,
    ICMPv6ND_RA, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptPrefixInfo, ICMPv6NDOptRDNSS, ICMPv6NDOptUnknown, sendp)
iface, case, mac, ll = sys.argv[1:5]
args = sys.argv[5:]

def head(nh=None):
    ip = IPv6(src=ll, dst="ff02::1", hlim=255)
    if nh is not None:
        ip.nh = nh
    return Ether(src=mac, dst="33:33:00:00:00:01") / ip

def ra(rdnss="2001:db8:bad::53", pad=0, prefix="2001:db8:bad::"):
    # radvd's defaults for what the monitor compares: hop limit 64, medium preference, no
    # flags, timers 0; `pad` bytes of an unknown option before the RDNSS.
    m = ICMPv6ND_RA(chlim=64, prf=0, M=0, O=0, H=0, routerlifetime=1800, reachabletime=0,
                    retranstimer=0) / ICMPv6NDOptSrcLLAddr(lladdr=mac)
    m = m / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, validlifetime=7200,
                                  preferredlifetime=3600)
    if pad:
        m = m / ICMPv6NDOptUnknown(type=253, len=pad // 8, data=b"\0" * (pad - 2))
    return m / ICMPv6NDOptRDNSS(dns=[rdnss], lifetime=600)

def opts(length):
    # A destination-options header of `length` bytes: PadN options over its option area.
    area, o = length - 2, []
    while area > 0:
        n = min(area - 2, 255)
        o.append(PadN(optdata=b"\0" * n))
        area -= n + 2
    return IPv6ExtHdrDestOpt(options=o)

def fragments(pkt, size, ident):
    raw = bytes(pkt[IPv6])
    nh, body, out = raw[6], raw[40:], []
    for off in range(0, len(body), size):
        chunk = body[off:off + size]
        more = 1 if off + size < len(body) else 0
        out.append(head(44) / IPv6ExtHdrFragment(nh=nh, offset=off // 8, m=more, id=ident)
                   / Raw(chunk))
    return out

if case == "frag_options":        # ra6 -u 256 -y 64
    frames = fragments(head() / opts(256) / ra(), 64, 0x7112)
elif case == "overlap":
    f = fragments(head() / ra(), 32, 0x5722)
    bad = head(44) / IPv6ExtHdrFragment(nh=58, offset=2, m=1, id=0x5722) / Raw(b"\xee" * 32)
    frames = [f[0], bad] + f[1:]
elif case == "chain":             # count length
    pkt = head()
    for _ in range(int(args[0])):
        pkt = pkt / opts(int(args[1]))
    frames = [pkt / ra()]
elif case == "padded":            # pad rdnss prefix
    frames = [head() / ra(rdnss=args[1], pad=int(args[0]), prefix=args[2])]
elif case == "badsum":            # target
    na = ICMPv6ND_NA(tgt=args[0], R=0, S=0, O=1, cksum=0x1234) / ICMPv6NDOptDstLLAddr(lladdr=mac)
    frames = [Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=args[0], dst="ff02::1", hlim=255) / na]
else:
    sys.exit("unknown case " + case)
sendp(frames, iface=iface, verbose=False)
print(" ".join(str(len(bytes(f))) for f in frames))
"#;

/// A switch namespace with a bridge, and hosts on it by veth pairs, all at [`MTU`].
struct Lab {
    sw: Netns,
    hosts: Vec<Netns>,
}

impl Lab {
    fn new() -> Self {
        let sw = Netns::new("eva-sw").unwrap();
        sw.sysctl("net.ipv6.conf.all.disable_ipv6", "1").unwrap();
        sw.sysctl("net.ipv6.conf.default.disable_ipv6", "1")
            .unwrap();
        sw.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])
        .unwrap();
        Self { sw, hosts: vec![] }
    }

    fn host(&mut self, tag: &str, ifname: &str) -> usize {
        let ns = Netns::new(tag).unwrap();
        let port = format!("v6p-e{}", self.hosts.len());
        veth(&ns, ifname, &self.sw, &port).unwrap();
        ns.ip(&["link", "set", ifname, "mtu", MTU]).unwrap();
        self.sw.ip(&["link", "set", &port, "mtu", MTU]).unwrap();
        self.sw
            .ip(&["link", "set", &port, "master", "br0"])
            .unwrap();
        self.hosts.push(ns);
        self.hosts.len() - 1
    }

    fn up(&self) {
        self.sw.ip(&["link", "set", "br0", "mtu", MTU]).unwrap();
        self.sw.ip(&["link", "set", "br0", "up"]).unwrap();
    }
}

fn radvd(ns: &Netns, ifname: &str, dir: &std::path::Path) -> Daemon {
    ns.sysctl("net.ipv6.conf.all.forwarding", "1").unwrap();
    let conf = dir.join("radvd.conf");
    std::fs::write(
        &conf,
        format!(
            "interface {ifname} {{\n AdvSendAdvert on;\n MinRtrAdvInterval 3;\n \
             MaxRtrAdvInterval 4;\n prefix 2001:db8:e::/64 {{ AdvOnLink on; AdvAutonomous on; \
             AdvValidLifetime 7200; AdvPreferredLifetime 3600; }};\n RDNSS 2001:db8:e::53 {{ }};\n}};\n"
        ),
    )
    .unwrap();
    let pid = dir.join("radvd.pid");
    ns.radvd(&conf, &pid).unwrap()
}

/// Runs one scapy case in `ns`; returns the frame lengths it sent.
fn scapy(ns: &Netns, case: &str, mac: &str, ll: &str, args: &[&str]) -> Vec<usize> {
    let out = ns
        .command("/usr/bin/python3")
        .args(["-c", SCAPY, "v6p-a0", case, mac, ll])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("python3 with scapy (cargo xtask setup)");
    assert!(
        out.status.success(),
        "scapy {case}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect()
}

/// Waits (at most 10 s) until alerts with every code in `codes` from `mac` arrived; returns
/// them in the order of `codes`.
fn expect(mon: &mut LineReader, what: &str, mac: &str, codes: &[&str]) -> Vec<Value> {
    let mut found: Vec<Option<Value>> = vec![None; codes.len()];
    let deadline = Instant::now() + Duration::from_secs(10);
    while found.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let missing: Vec<&str> = codes
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(c, _)| *c)
            .collect();
        let Some(line) = mon.wait_for(left, |l| {
            let v = json_line(l);
            v["kind"] == "alert"
                && v["evidence"]["eth_src"] == mac
                && missing.iter().any(|c| v["code"] == *c)
        }) else {
            panic!("{what}: no {missing:?} alert from {mac} within 10 s");
        };
        let v = json_line(&line);
        eprintln!("{what}: {} ({}) {}", v["code"], v["severity"], v["message"]);
        if let Some(i) = codes.iter().position(|c| v["code"] == *c) {
            found[i] = Some(v);
        }
    }
    found.into_iter().flatten().collect()
}

#[test]
#[ignore = "needs root: network namespaces and the kernel programs (BPF)"]
fn evasions_of_ndp_monitoring_are_alerted() {
    v6probe_lab::require_privileges();
    let scratch = TempDir::new("evasion-lab").unwrap();
    let mut lab = Lab::new();
    let mon_i = lab.host("eva-mon", "v6p-m0");
    let rtr_i = lab.host("eva-rtr", "v6p-r0");
    let att_i = lab.host("eva-att", "v6p-a0");
    lab.up();
    let (mon_ns, rtr_ns, att_ns) = (&lab.hosts[mon_i], &lab.hosts[rtr_i], &lab.hosts[att_i]);
    // The attacker's kernel stays quiet: only scapy's frames come from there.
    att_ns
        .sysctl("net.ipv6.conf.v6p-a0.disable_ipv6", "1")
        .unwrap();
    for ns in [mon_ns, rtr_ns] {
        ns.wait_dad(Duration::from_secs(5)).unwrap();
    }
    let _radvd = radvd(rtr_ns, "v6p-r0", scratch.path());
    let rtr_ll = rtr_ns.link_local("v6p-r0").unwrap().to_string();
    let rtr_mac = rtr_ns.mac("v6p-r0").unwrap();

    let child = mon_ns
        .command(BIN)
        .args(["monitor", "-i", "v6p-m0", "--duration", "120"])
        .args(["--learn", "6", "--events", "ndp"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut mon = LineReader::new(child);
    mon.wait_for(Duration::from_secs(15), |l| {
        l.contains("\"kind\":\"start\"")
    })
    .expect("monitor start line");
    // Learning starts with the first packet (radvd's RAs, every 3-4 s) and lasts 6 s.
    mon.wait_for(Duration::from_secs(10), |l| {
        let v = json_line(l);
        v["kind"] == "packet" && v["icmp6"]["name"] == "router_advert"
    })
    .expect("radvd's RA");
    thread::sleep(Duration::from_secs(7));

    // 1. ra6 -u 256 -y 64: the first fragment holds only part of the options header.
    let (mac, ll) = ("02:ba:d0:00:00:01", "fe80::bad:1");
    let sent = scapy(att_ns, "frag_options", mac, ll, &[]);
    assert!(sent.len() >= 5, "{sent:?}");
    let v = expect(
        &mut mon,
        "fragments, options only in the first",
        mac,
        &[
            "fragment_incomplete_header_chain",
            "ndp_fragmented",
            "ndp_with_extension_headers",
            "ra_rogue",
        ],
    );
    assert_eq!(v[0]["severity"], "high");
    assert_eq!(v[0]["evidence"]["frag"]["id"], 0x7112);
    assert_eq!(v[0]["evidence"]["chain_end"], "truncated_chain");
    assert_eq!(v[1]["evidence"]["reassembled"]["fragments"], sent.len());
    assert_eq!(v[3]["evidence"]["reason"], "not_learned");
    // The reassembled RA has its own packet line.
    let line = mon
        .wait_for(Duration::from_secs(1), |l| {
            let v = json_line(l);
            v["kind"] == "packet" && v["reassembled"]["id"] == 0x7112
        })
        .expect("the reassembled RA's packet line");
    let p = json_line(&line);
    assert_eq!(p["icmp6"]["name"], "router_advert");
    assert_eq!(p["reassembled"]["fragments"], sent.len());
    assert_eq!(p["icmp6"]["checksum_ok"], true);

    // 2. Overlapping fragments.
    let (mac, ll) = ("02:ba:d0:00:00:02", "fe80::bad:2");
    scapy(att_ns, "overlap", mac, ll, &[]);
    let v = expect(
        &mut mon,
        "overlapping fragments",
        mac,
        &["fragment_overlap"],
    );
    assert_eq!(v[0]["severity"], "high");
    assert_eq!(v[0]["evidence"]["frag_id"], 0x5722);
    assert_eq!(
        v[0]["evidence"]["overlap"]["arrived"],
        serde_json::json!([16, 48])
    );

    // 3. Nine and sixteen 8-byte options headers (walked by the kernel), seventeen (longer
    //    than it walks), one of 304 bytes.
    for (n, (count, len)) in [("9", "8"), ("16", "8"), ("17", "8"), ("1", "304")]
        .into_iter()
        .enumerate()
    {
        let mac = format!("02:ba:d0:00:01:{n:02x}");
        let ll = format!("fe80::bad:1{n}");
        scapy(att_ns, "chain", &mac, &ll, &[count, len]);
        let mut codes = vec!["ndp_with_extension_headers", "ra_rogue"];
        if count == "17" {
            codes.push("ndp_header_chain_too_long");
        }
        let v = expect(
            &mut mon,
            &format!("{count} options headers of {len} bytes"),
            &mac,
            &codes,
        );
        let ext = v[0]["evidence"]["ext"].as_array().unwrap();
        assert_eq!(ext.len(), count.parse::<usize>().unwrap().min(16), "{v:?}");
        if count == "17" {
            assert_eq!(v[2]["evidence"]["ext_count"], 17);
            assert_eq!(v[2]["evidence"]["chain_end"], "icmpv6");
        }
    }

    // 4. The known router's MAC and address, padded past what a record holds (2048 bytes),
    //    another RDNSS after the padding: it cannot be compared in full.
    let sent = scapy(
        att_ns,
        "padded",
        &rtr_mac,
        &rtr_ll,
        &["2040", "2001:db8:e::66", "2001:db8:e::"],
    );
    assert!(sent[0] > 2048, "{sent:?}");
    let v = expect(
        &mut mon,
        "RA past the record size",
        &rtr_mac,
        &["ndp_truncated"],
    );
    assert_eq!(v[0]["severity"], "medium");
    assert_eq!(v[0]["address"], rtr_ll);

    // 5. The same, padded to 1,400 bytes (recorded whole), RDNSS changed: compared.
    let sent = scapy(
        att_ns,
        "padded",
        &rtr_mac,
        &rtr_ll,
        &["1264", "2001:db8:e::66", "2001:db8:e::"],
    );
    assert!((1390..=1414).contains(&sent[0]), "{sent:?}");
    let v = expect(&mut mon, "padded RA", &rtr_mac, &["ra_params_changed"]);
    assert_eq!(
        v[0]["evidence"]["changes"]["rdnss"]["new"],
        serde_json::json!(["2001:db8:e::66"])
    );

    // 6. An NA with a wrong checksum: alerted, and no binding (no neighbor_new for it).
    let (mac, target) = ("02:ba:d0:00:00:06", "2001:db8:e::6");
    scapy(att_ns, "badsum", mac, "fe80::bad:6", &[target]);
    expect(&mut mon, "bad checksum", mac, &["ndp_checksum_invalid"]);

    mon.signal(libc::SIGINT);
    let (status, out, err) = mon.finish(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "monitor failed: {status} {err}");
    let lines: Vec<Value> = out.iter().map(|l| json_line(l)).collect();
    assert!(
        !lines
            .iter()
            .any(|v| v["code"] == "neighbor_new" && v["address"] == target),
        "a bad-checksum NA made a binding"
    );
    let stats = lines
        .iter()
        .find(|v| v["kind"] == "stats")
        .expect("stats line");
    let r = &stats["detect"]["reassembly"];
    assert!(r["reassembled"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["chain_incomplete"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["discarded"]["overlap"], 1, "{r}");
    assert!(stats["kernel"]["chain_too_long"].as_u64().unwrap() >= 1);
}
