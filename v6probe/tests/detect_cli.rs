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
fn corrupt_state_file_is_moved_aside_and_bad_learn_is_usage() {
    let dir = TempDir::new("detect-cli").unwrap();
    let p = dir
        .file("state.json", b"{\"version\": 1, \"neighbors\": [1]}\n")
        .unwrap();
    let out = Command::new(BIN)
        .args(["monitor", "-i", "lo", "--duration", "1", "--state"])
        .arg(&p)
        .output()
        .unwrap();
    // A service must not stop over its state file: it is moved aside (the monitor then goes
    // on, or stops for another reason, such as missing privileges here), and the message
    // names the file and where its parse failed.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("state file {}:1:", p.display())) && err.contains("moved to"),
        "{err}"
    );
    if out.status.success() {
        // It ran (as root) and saved a baseline learned afresh in its place.
        let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(saved["version"], 1, "{saved}");
    } else {
        assert!(!p.exists(), "the unreadable state file stayed in place");
    }
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.json.unreadable-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{err}");
    assert_eq!(
        std::fs::read(aside[0].path()).unwrap(),
        b"{\"version\": 1, \"neighbors\": [1]}\n"
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
