//! `v6probe route` against the real kernel, inside namespaces this test creates: every option
//! of add/del checked against `ip -6 route show`, `route list` compared with `ip -j -6 route`,
//! and every error case leaving the routing tables unchanged.
use std::process::Output;

use v6probe_lab::{json_lines, veth, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

struct Lab {
    a: Netns,
    _b: Netns,
    gw_ll: String,
}

/// `a` (v6p0, fd00:7::1/64) -- veth -- `b` (v6p1, fd00:7::2/64).
fn lab(tag: &str) -> Lab {
    let a = Netns::new(&format!("{tag}-a")).unwrap();
    let b = Netns::new(&format!("{tag}-b")).unwrap();
    veth(&a, "v6p0", &b, "v6p1").unwrap();
    a.ip(&["-6", "addr", "add", "fd00:7::1/64", "dev", "v6p0", "nodad"])
        .unwrap();
    b.ip(&["-6", "addr", "add", "fd00:7::2/64", "dev", "v6p1", "nodad"])
        .unwrap();
    // Both ends: a link-local finishing DAD adds a local route, which would show up as a
    // change between two snapshots of the tables.
    a.wait_dad(std::time::Duration::from_secs(5)).unwrap();
    b.wait_dad(std::time::Duration::from_secs(5)).unwrap();
    let mac = b.mac("v6p1").unwrap();
    let m: Vec<u8> = mac
        .split(':')
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect();
    let gw_ll = format!(
        "fe80::{:x}:{:x}:{:x}:{:x}",
        u16::from_be_bytes([m[0] ^ 2, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]])
    );
    Lab { a, _b: b, gw_ll }
}

fn v6probe(ns: &Netns, args: &[&str]) -> Output {
    ns.command(BIN).args(args).output().unwrap()
}

fn ok(ns: &Netns, args: &[&str]) -> String {
    let o = v6probe(ns, args);
    assert!(
        o.status.success(),
        "v6probe {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs a command that must fail with exit 1 and a message containing `want`, and checks that
/// no routing table changed.
fn fails(ns: &Netns, args: &[&str], want: &str) {
    let before = tables(ns);
    let o = v6probe(ns, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "v6probe {args:?}: {err}");
    assert!(
        err.contains(want),
        "v6probe {args:?}: `{err}` lacks `{want}`"
    );
    assert_eq!(tables(ns), before, "v6probe {args:?} changed the routes");
}

/// Every IPv6 route of every table, as `ip` shows them, without the expiry countdown.
fn tables(ns: &Netns) -> String {
    let s = ns.ip(&["-6", "route", "show", "table", "all"]).unwrap();
    s.lines()
        .map(|l| {
            let mut t: Vec<&str> = l.split_whitespace().collect();
            if let Some(i) = t.iter().position(|w| *w == "expires") {
                t.drain(i..i + 2);
            }
            t.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn show(ns: &Netns, prefix: &str, table: &str) -> String {
    ns.ip(&["-6", "route", "show", prefix, "table", table])
        .unwrap()
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs root: network namespaces"]
fn add_list_delete_with_each_option() {
    v6probe_lab::require_privileges();
    let l = lab("rt");
    let a = &l.a;

    // Interface route, defaults.
    ok(a, &["route", "add", "fd00:100::/64", "--dev", "v6p0"]);
    assert_eq!(
        show(a, "fd00:100::/64", "main"),
        "fd00:100::/64 dev v6p0 proto static metric 1024 pref medium"
    );
    // --via a global gateway (device found by the kernel).
    ok(a, &["route", "add", "fd00:101::/64", "--via", "fd00:7::2"]);
    assert_eq!(
        show(a, "fd00:101::/64", "main"),
        "fd00:101::/64 via fd00:7::2 dev v6p0 proto static metric 1024 pref medium"
    );
    // --via a link-local gateway with --dev.
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:102::/64",
            "--via",
            &l.gw_ll,
            "--dev",
            "v6p0",
        ],
    );
    assert_eq!(
        show(a, "fd00:102::/64", "main"),
        format!(
            "fd00:102::/64 via {} dev v6p0 proto static metric 1024 pref medium",
            l.gw_ll
        )
    );
    // --metric.
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:103::/64",
            "--dev",
            "v6p0",
            "--metric",
            "333",
        ],
    );
    assert_eq!(
        show(a, "fd00:103::/64", "main"),
        "fd00:103::/64 dev v6p0 proto static metric 333 pref medium"
    );
    // --table, below and above 255 (RTA_TABLE).
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:104::/64",
            "--dev",
            "v6p0",
            "--table",
            "100",
        ],
    );
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:105::/64",
            "--via",
            "fd00:7::2",
            "--table",
            "1000",
        ],
    );
    assert_eq!(show(a, "fd00:104::/64", "main"), "");
    assert_eq!(
        show(a, "fd00:104::/64", "100"),
        "fd00:104::/64 dev v6p0 proto static metric 1024 pref medium"
    );
    assert_eq!(
        show(a, "fd00:105::/64", "1000"),
        "fd00:105::/64 via fd00:7::2 dev v6p0 proto static metric 1024 pref medium"
    );
    // --pref.
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:106::/64",
            "--dev",
            "v6p0",
            "--pref",
            "high",
        ],
    );
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:107::/64",
            "--dev",
            "v6p0",
            "--pref",
            "low",
        ],
    );
    assert!(show(a, "fd00:106::/64", "main").ends_with("pref high"));
    assert!(show(a, "fd00:107::/64", "main").ends_with("pref low"));
    // --expires: the kernel counts down from it.
    ok(
        a,
        &[
            "route",
            "add",
            "2001:db8:108::/48",
            "--dev",
            "v6p0",
            "--expires",
            "300",
        ],
    );
    let e = show(a, "2001:db8:108::/48", "main");
    let secs: u32 = e
        .split_whitespace()
        .skip_while(|w| *w != "expires")
        .nth(1)
        .and_then(|s| s.trim_end_matches("sec").parse().ok())
        .unwrap_or_else(|| panic!("no expiry in `{e}`"));
    assert!((290..=300).contains(&secs), "{e}");
    // --dry-run changes nothing.
    let before = tables(a);
    let out = ok(
        a,
        &[
            "route",
            "add",
            "fd00:109::/64",
            "--dev",
            "v6p0",
            "--dry-run",
        ],
    );
    assert!(out.contains("\"dry_run\":true"), "{out}");
    assert_eq!(tables(a), before);

    // `route list` (main) matches `ip -j -6 route show` route for route.
    let ours = json_lines(&ok(a, &["route", "list"]));
    let theirs: Vec<serde_json::Value> =
        serde_json::from_str(&a.ip(&["-j", "-6", "route", "show"]).unwrap()).unwrap();
    assert_eq!(ours.len(), theirs.len(), "ours {ours:?}\nip {theirs:?}");
    for t in &theirs {
        let dst = t["dst"].as_str().unwrap();
        let dst = if dst == "default" {
            "::/0".to_string()
        } else if dst.contains('/') {
            dst.to_string()
        } else {
            format!("{dst}/128")
        };
        let o = ours
            .iter()
            .find(|o| o["prefix"] == dst.as_str())
            .unwrap_or_else(|| panic!("{dst} missing from route list"));
        assert_eq!(o["kind"], "route");
        assert_eq!(o["dev"], t["dev"], "{dst}");
        assert_eq!(o["via"], t["gateway"], "{dst}");
        assert_eq!(o["metric"], t["metric"], "{dst}");
        assert_eq!(o["protocol"], t["protocol"], "{dst}");
        assert_eq!(o["pref"], t["pref"], "{dst}");
        if t.get("expires").is_some() {
            let d = o["expires"].as_i64().unwrap() - t["expires"].as_i64().unwrap();
            assert!(d.abs() <= 2, "{dst}: {o} vs {t}");
        }
    }
    // --table and --ula filters.
    let t1000 = ok(a, &["route", "list", "--table", "1000", "--format", "text"]);
    assert_eq!(t1000.lines().count(), 1, "{t1000}");
    assert!(t1000.starts_with("fd00:105::/64"), "{t1000}");
    let ula = ok(a, &["route", "list", "--ula"]);
    assert!(ula.lines().all(|l| l.contains("\"prefix\":\"fd")), "{ula}");
    assert!(!ula.contains("2001:db8:108::"), "{ula}");
    assert!(ula.contains("fd00:103::/64"), "{ula}");

    // Delete: by prefix only, with --dev, with --via, with --table, with --metric.
    ok(a, &["route", "del", "fd00:100::/64"]);
    assert_eq!(show(a, "fd00:100::/64", "main"), "");
    ok(
        a,
        &[
            "route",
            "del",
            "fd00:103::/64",
            "--dev",
            "v6p0",
            "--metric",
            "333",
        ],
    );
    assert_eq!(show(a, "fd00:103::/64", "main"), "");
    ok(
        a,
        &[
            "route",
            "del",
            "fd00:102::/64",
            "--via",
            &l.gw_ll,
            "--dev",
            "v6p0",
        ],
    );
    assert_eq!(show(a, "fd00:102::/64", "main"), "");
    ok(
        a,
        &[
            "route",
            "del",
            "fd00:105::/64",
            "--table",
            "1000",
            "--via",
            "fd00:7::2",
        ],
    );
    assert_eq!(show(a, "fd00:105::/64", "1000"), "");
    // Two metrics for one prefix: deleting one leaves the other.
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:110::/64",
            "--dev",
            "v6p0",
            "--metric",
            "10",
        ],
    );
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:110::/64",
            "--dev",
            "v6p0",
            "--metric",
            "20",
        ],
    );
    ok(a, &["route", "del", "fd00:110::/64", "--metric", "10"]);
    assert_eq!(
        show(a, "fd00:110::/64", "main"),
        "fd00:110::/64 dev v6p0 proto static metric 20 pref medium"
    );
    let out = ok(a, &["route", "del", "fd00:110::/64", "--format", "text"]);
    assert_eq!(out.trim(), "deleted fd00:110::/64");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn errors_leave_the_tables_unchanged() {
    v6probe_lab::require_privileges();
    let l = lab("rte");
    let a = &l.a;
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:200::/64",
            "--dev",
            "v6p0",
            "--metric",
            "50",
        ],
    );
    ok(
        a,
        &[
            "route",
            "add",
            "fd00:201::/64",
            "--via",
            "fd00:7::2",
            "--table",
            "300",
        ],
    );

    // Adding an existing route (same prefix, table, metric).
    fails(
        a,
        &[
            "route",
            "add",
            "fd00:200::/64",
            "--dev",
            "v6p0",
            "--metric",
            "50",
        ],
        "already exists",
    );
    fails(
        a,
        &[
            "route",
            "add",
            "fd00:201::/64",
            "--via",
            "fd00:7::2",
            "--table",
            "300",
        ],
        "already exists",
    );
    // Deleting a missing one, or one whose fields do not match.
    fails(
        a,
        &["route", "del", "fd00:299::/64"],
        "no route to fd00:299::/64",
    );
    fails(
        a,
        &["route", "del", "fd00:200::/64", "--metric", "51"],
        "no route",
    );
    fails(
        a,
        &[
            "route",
            "del",
            "fd00:201::/64",
            "--via",
            "fd00:7::3",
            "--table",
            "300",
        ],
        "no route",
    );
    fails(a, &["route", "del", "fd00:201::/64"], "no route");
    // An unknown interface.
    fails(
        a,
        &["route", "add", "fd00:202::/64", "--dev", "nosuch0"],
        "interface `nosuch0` not found",
    );
    fails(
        a,
        &["route", "del", "fd00:200::/64", "--dev", "nosuch0"],
        "interface `nosuch0` not found",
    );
    fails(
        a,
        &[
            "route",
            "add",
            "fd00:202::/64",
            "--dev",
            "nosuch0",
            "--dry-run",
        ],
        "interface `nosuch0` not found",
    );
    // A link-local gateway without a device.
    fails(
        a,
        &["route", "add", "fd00:203::/64", "--via", &l.gw_ll],
        "is link-local: give the interface",
    );
    fails(
        a,
        &["route", "del", "fd00:200::/64", "--via", "fe80::1"],
        "is link-local",
    );
    // Neither device nor gateway; host bits; an off-link gateway; table 0.
    fails(
        a,
        &["route", "add", "fd00:204::/64"],
        "needs --dev or --via",
    );
    fails(
        a,
        &["route", "add", "fd00:205::1/64", "--dev", "v6p0"],
        "host bits set",
    );
    fails(
        a,
        &[
            "route",
            "add",
            "fd00:206::/64",
            "--dev",
            "v6p0",
            "--via",
            "2001:db8:99::1",
        ],
        "not reachable on-link",
    );
    fails(
        a,
        &[
            "route",
            "add",
            "fd00:207::/64",
            "--dev",
            "v6p0",
            "--table",
            "0",
        ],
        "table 0",
    );
    // A bad prefix is a usage error (64), and changes nothing either.
    let before = tables(a);
    let o = v6probe(a, &["route", "add", "not-a-prefix", "--dev", "v6p0"]);
    assert_eq!(o.status.code(), Some(64));
    let o = v6probe(a, &["route", "add", "10.0.0.0/8", "--dev", "v6p0"]);
    assert_eq!(o.status.code(), Some(64));
    assert_eq!(tables(a), before);
}
