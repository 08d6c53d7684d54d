//! `v6probe ula` end to end: generation checked against Python's hashlib, check and aggregate
//! from the command line and stdin, and discovery of the ULAs this test puts on interfaces in a
//! namespace it creates.
use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use v6probe_lab::{stdout_json, veth, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
const PY: &str = "/usr/bin/python3";

fn run(args: &[&str], stdin: &str) -> Output {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

#[test]
fn generate_matches_python_for_given_inputs() {
    assert!(
        Path::new(PY).exists(),
        "{PY} not found (cargo xtask setup installs it)"
    );
    // Python builds the modified EUI-64 from the MAC itself (RFC 4291 appendix A), hashes the
    // bytes, and prints the /48 and its first two /64s.
    let script = r#"
import hashlib, ipaddress, struct, sys
mac, t = sys.argv[1], int(sys.argv[2])
m = bytes.fromhex(mac.replace(':', ''))
eui = bytes([m[0] ^ 2]) + m[1:3] + b'\xff\xfe' + m[3:]
g = hashlib.sha1(struct.pack('>Q', t) + eui).digest()[-5:]
net = ipaddress.IPv6Network((b'\xfd' + g + bytes(10), 48))
print(net, g.hex(), eui.hex(':'))
subs = list(net.subnets(new_prefix=64))
print(subs[0], subs[1])
"#;
    for (mac, t) in [
        ("00:1b:21:aa:bb:cc", "16645418446484066304"),
        ("02:00:5e:10:00:01", "0"),
        ("fe:ff:ff:ff:ff:ff", "18446744073709551615"),
    ] {
        let py = Command::new(PY)
            .args(["-c", script, mac, t])
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{}",
            String::from_utf8_lossy(&py.stderr)
        );
        let py = String::from_utf8(py.stdout).unwrap();
        let mut lines = py.lines();
        let first: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let subs: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let o = run(
            &[
                "ula",
                "generate",
                "--mac",
                mac,
                "--ntp-time",
                t,
                "--subnets",
                "2",
            ],
            "",
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let j = &stdout_json(&o)[0];
        assert_eq!(j["kind"], "ula_prefix");
        assert_eq!(j["prefix"], first[0], "{mac} {t}");
        assert_eq!(j["global_id"], first[1]);
        assert_eq!(j["eui64"], first[2]);
        assert_eq!(j["ntp_time"].to_string(), t);
        assert_eq!(j["eui64_source"], "mac");
        assert_eq!(j["time_source"], "given");
        assert_eq!(j["subnets"][0], subs[0]);
        assert_eq!(j["subnets"][1], subs[1]);
        // The same EUI-64 given directly gives the same prefix.
        let o = run(
            &["ula", "generate", "--eui64", first[2], "--ntp-time", t],
            "",
        );
        assert_eq!(stdout_json(&o)[0]["prefix"], first[0]);
    }
    // Without --ntp-time the time is now: two runs differ.
    let a = run(&["ula", "generate", "--mac", "00:1b:21:aa:bb:cc"], "");
    let b = run(&["ula", "generate", "--mac", "00:1b:21:aa:bb:cc"], "");
    assert_ne!(stdout_json(&a)[0]["prefix"], stdout_json(&b)[0]["prefix"]);
    assert_eq!(stdout_json(&a)[0]["time_source"], "now");
    // Bad input is a usage error.
    assert_eq!(
        run(&["ula", "generate", "--mac", "00:11"], "")
            .status
            .code(),
        Some(64)
    );
    assert_eq!(
        run(&["ula", "generate", "--eui64", "zz"], "").status.code(),
        Some(64)
    );
    assert_eq!(
        run(
            &[
                "ula",
                "generate",
                "--mac",
                "00:1b:21:aa:bb:cc",
                "--eui64",
                "0011223344556677"
            ],
            ""
        )
        .status
        .code(),
        Some(64)
    );
}

#[test]
fn check_classifies_and_warns() {
    let o = run(
        &[
            "ula",
            "check",
            "fd12:3456:789a::/48",
            "fc00:1:2::1",
            "fe80::21b:21ff:feaa:bbcc",
            "fd3c:9e21:7b4:2a::53",
        ],
        "",
    );
    assert!(o.status.success());
    let j = stdout_json(&o);
    assert_eq!(j.len(), 4);
    assert_eq!(j[0]["ula"], "valid");
    assert_eq!(j[0]["warnings"][0], "sequential_nibbles");
    assert_eq!(j[1]["ula"], "reserved_l0");
    assert_eq!(j[2]["ula"], "not_ula");
    assert_eq!(j[2]["scope"], "link");
    assert_eq!(j[2]["iid"]["kind"], "modified_eui64");
    assert_eq!(j[2]["iid"]["mac"], "00:1b:21:aa:bb:cc");
    assert_eq!(j[3]["global_id"], "3c9e2107b4");
    assert_eq!(j[3]["subnet_id"], "002a");
    assert_eq!(j[3]["iid"]["kind"], "low_byte");
    assert_eq!(j[3]["warnings"].as_array().unwrap().len(), 0);
    assert_eq!(
        run(&["ula", "check", "fd00::zz"], "").status.code(),
        Some(64)
    );
    assert_eq!(
        run(&["ula", "check", "192.0.2.1"], "").status.code(),
        Some(64)
    );
}

#[test]
fn aggregate_from_args_and_stdin() {
    let o = run(
        &[
            "ula",
            "aggregate",
            "fd00:1::/64",
            "fd00:1:0:1::/64",
            "192.0.2.0/25",
            "192.0.2.128/25",
        ],
        "",
    );
    assert!(o.status.success());
    let got: Vec<String> = stdout_json(&o)
        .iter()
        .map(|j| j["prefix"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, vec!["192.0.2.0/24", "fd00:1::/63"]);
    let o = run(
        &["ula", "aggregate", "--format", "text"],
        "# site\nfd00:2::/64\n\nfd00:2:0:1::/64\nfd00:2::/48\n",
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "fd00:2::/48\n");
    // Host bits: an error naming the prefix, or masked on request.
    let o = run(&["ula", "aggregate", "fd00:3::1/64"], "");
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`fd00:3::1/64` has host bits set"));
    let o = run(&["ula", "aggregate"], "fd00:3::/64\nfd00:3::1/64\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("stdin line 2"));
    let o = run(
        &[
            "ula",
            "aggregate",
            "--mask-host-bits",
            "fd00:3::1/64",
            "fd00:3:0:1::9/64",
        ],
        "",
    );
    assert_eq!(stdout_json(&o)[0]["prefix"], "fd00:3::/63");
    // Nothing in, nothing out: exit 2.
    assert_eq!(run(&["ula", "aggregate"], "").status.code(), Some(2));
}

#[test]
#[ignore = "needs root: network namespaces"]
fn discover_finds_the_ulas_on_the_test_interfaces() {
    v6probe_lab::require_privileges();
    let a = Netns::new("uld-a").unwrap();
    let b = Netns::new("uld-b").unwrap();
    veth(&a, "v6p0", &b, "v6p1").unwrap();
    veth(&a, "v6p2", &b, "v6p3").unwrap();
    for (addr, dev) in [
        ("fd3c:9e21:7b4:1::1/64", "v6p0"),
        ("fd3c:9e21:7b4:2::1/64", "v6p2"),
        ("fd3c:9e21:7b4:3::1/64", "v6p2"),
        ("fdaa:bb:cc:1::1/64", "v6p0"),
        ("2001:db8:1::1/64", "v6p0"),
    ] {
        a.ip(&["-6", "addr", "add", addr, "dev", dev, "nodad"])
            .unwrap();
    }
    let o = a.command(BIN).args(["ula", "discover"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = stdout_json(&o);
    assert_eq!(j.len(), 3, "{j:?}");
    assert_eq!(j[0]["kind"], "ula_site");
    assert_eq!(j[0]["site"], "fd3c:9e21:7b4::/48");
    assert_eq!(j[0]["interfaces"], serde_json::json!(["v6p0", "v6p2"]));
    assert_eq!(
        j[0]["prefixes"],
        serde_json::json!(["fd3c:9e21:7b4:1::/64", "fd3c:9e21:7b4:2::/63"])
    );
    assert_eq!(j[0]["addresses"].as_array().unwrap().len(), 3);
    assert_eq!(j[1]["site"], "fdaa:bb:cc::/48");
    assert_eq!(j[1]["interfaces"], serde_json::json!(["v6p0"]));
    assert_eq!(j[2]["kind"], "ula_aggregate");
    assert_eq!(
        j[2]["prefixes"],
        serde_json::json!([
            "fd3c:9e21:7b4:1::/64",
            "fd3c:9e21:7b4:2::/63",
            "fdaa:bb:cc:1::/64"
        ])
    );
    // One interface only.
    let o = a
        .command(BIN)
        .args(["ula", "discover", "-i", "v6p2"])
        .output()
        .unwrap();
    let j = stdout_json(&o);
    assert_eq!(j.len(), 2);
    assert_eq!(j[0]["interfaces"], serde_json::json!(["v6p2"]));
    assert_eq!(
        j[0]["prefixes"],
        serde_json::json!(["fd3c:9e21:7b4:2::/63"])
    );
    // Unknown interface: error; no ULA at all (namespace b): exit 2.
    let o = a
        .command(BIN)
        .args(["ula", "discover", "-i", "nosuch0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("interface `nosuch0` not found"));
    let o = b.command(BIN).args(["ula", "discover"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));

    // generate without --mac/--eui64 takes the first interface with a MAC (v6p0; lo has none).
    let mac = a.mac("v6p0").unwrap();
    let o = a
        .command(BIN)
        .args(["ula", "generate", "--ntp-time", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = &stdout_json(&o)[0];
    assert_eq!(g["eui64_source"], "interface");
    assert_eq!(g["mac"], mac.as_str());
    let o = run(&["ula", "generate", "--ntp-time", "1", "--mac", &mac], "");
    assert_eq!(stdout_json(&o)[0]["prefix"], g["prefix"]);
}
