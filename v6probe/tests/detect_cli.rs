//! `v6probe monitor` detection flags that fail before anything is attached (no root needed).
#![cfg(target_os = "linux")]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("v6p-detect-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_policy_names_file_line_and_column() {
    let p = tmp(
        "bad.toml",
        "strict = true\n[[routers]]\nmac = \"02:00:00:00:00:zz\"\nlink_local = \"fe80::1\"\n",
    );
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
    let p = tmp("state.json", "{\"version\": 1, \"neighbors\": [1]}\n");
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
