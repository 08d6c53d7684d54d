//! `v6probe monitor` detection flags that fail before anything is attached (no root needed).
#![cfg(target_os = "linux")]

use std::process::Command;

use v6probe_lab::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

#[test]
fn bad_policy_names_file_line_and_column() {
    let dir = TempDir::new("detect-cli").unwrap();
    let p = dir
        .file(
            "bad.toml",
            b"strict = true\n[[routers]]\nmac = \"02:00:00:00:00:zz\"\nlink_local = \"fe80::1\"\n",
        )
        .unwrap();
    let out = Command::new(BIN)
        .args(["monitor", "-i", "lo", "--duration", "1", "--policy"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("policy {}:3:7:", p.display())),
        "{err}"
    );
    assert!(err.contains("not a MAC address"), "{err}");
}

#[test]
fn corrupt_state_file_is_an_error_and_bad_learn_is_usage() {
    let dir = TempDir::new("detect-cli").unwrap();
    let p = dir
        .file("state.json", b"{\"version\": 1, \"neighbors\": [1]}\n")
        .unwrap();
    let out = Command::new(BIN)
        .args(["monitor", "-i", "lo", "--duration", "1", "--state"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("state file {}:1:", p.display())),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["monitor", "-i", "lo", "--learn", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = Command::new(BIN)
        .args(["monitor", "-i", "lo", "--events", "loud"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}
