//! Hostile input corpus: capture, state and policy files written by an attacker. Every case is
//! run through the binary (`decode`, and `monitor --pcap` with `--state`), each run bounded by
//! a timeout: it must exit 1 with the damaged byte offset or `file:line:column` (or the reason
//! a file is refused), never 101 (a panic), never hang; the frames before the damage are
//! printed and the state is saved. Text output shows control characters as escapes.
//!
//! `V6PROBE_CORPUS_DIR=DIR` keeps the generated files there (to run other builds on them).
use std::{
    fs::{self, File},
    net::Ipv6Addr,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use v6probe::{
    capture::{
        craft::{self, opt, Ng},
        MAX_IF_NAME, MAX_INTERFACES,
    },
    wire::EthernetAddress,
};
use v6probe_lab::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");
/// A run that takes longer than this is a hang (the slowest case takes well under a second).
const HANG: Duration = Duration::from_secs(60);

/// 2023-11-14T22:13:20Z in microseconds (pcapng's default resolution).
const T_US: u64 = 1_700_000_000_000_000;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args`, output to files (no pipe to fill), killed after [`HANG`].
fn run(dir: &Path, args: &[&std::ffi::OsStr]) -> Run {
    let out = dir.join(".stdout");
    let err = dir.join(".stderr");
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("v6probe {args:?} hung: killed after {HANG:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&fs::read(&out).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err).unwrap()).into_owned(),
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

/// An unsolicited NA with the Override flag, from `eth` claiming `target` (TLLA = `eth`).
fn na(eth: EthernetAddress, target: Ipv6Addr) -> Vec<u8> {
    v6probe_lab::ndp::unsolicited_na(eth, target).to_bytes()
}

fn target() -> Ipv6Addr {
    "fd00:1::10".parse().unwrap()
}

/// One Ethernet interface (microseconds) and one good ICMPv6 frame.
fn good_start() -> Ng {
    Ng::le()
        .shb()
        .idb(1, &[opt::if_name(b"eth0")])
        .epb(0, T_US, &na(mac(1), target()), &[])
}

/// A hostile capture: its bytes, the frames printed before the damage, and the byte offset
/// the error must name (`None`: refused as a whole, `what` says why).
struct CaptureCase {
    name: &'static str,
    bytes: Vec<u8>,
    frames_before: usize,
    offset: Option<usize>,
    what: &'static str,
}

fn case(
    name: &'static str,
    start: Ng,
    rest: impl FnOnce(Ng) -> Ng,
    frames_before: usize,
    what: &'static str,
) -> CaptureCase {
    let offset = start.len();
    CaptureCase {
        name,
        bytes: rest(start).into_bytes(),
        frames_before,
        offset: Some(offset),
        what,
    }
}

fn capture_corpus() -> Vec<CaptureCase> {
    let ns = na(mac(1), target());
    let with_len = |o: craft::Opt, len: u16| craft::Opt {
        len: Some(len),
        ..o
    };
    let mut v = vec![
        case(
            "tsresol_0_ts_near_2_pow_64",
            good_start().idb(1, &[opt::if_tsresol(0)]),
            |n| n.epb(1, u64::MAX - 255, &ns, &[]),
            1,
            "is outside 1970-01-01 .. 2554-07-21",
        ),
        case(
            "epb_high_word_ffffffff",
            good_start(),
            |n| n.epb(0, 0xffff_ffff << 32, &ns, &[]),
            1,
            "is outside",
        ),
        case(
            "tsoffset_minus_1e12_s",
            good_start().idb(1, &[opt::if_tsoffset(-1_000_000_000_000)]),
            |n| n.epb(1, T_US, &ns, &[]),
            1,
            "if_tsoffset -1000000000000 s",
        ),
        case(
            "tsoffset_i64_max",
            good_start().idb(1, &[opt::if_tsoffset(i64::MAX)]),
            |n| n.epb(1, T_US, &ns, &[]),
            1,
            "is outside",
        ),
        case(
            "tsoffset_i64_min",
            good_start().idb(1, &[opt::if_tsoffset(i64::MIN)]),
            |n| n.epb(1, u64::MAX, &ns, &[]),
            1,
            "is outside",
        ),
        case(
            "tsresol_10_pow_minus_20",
            good_start(),
            |n| n.idb(1, &[opt::if_tsresol(20)]),
            1,
            "if_tsresol 0x14",
        ),
        case(
            "tsresol_2_pow_minus_64",
            good_start(),
            |n| n.idb(1, &[opt::if_tsresol(0xc0)]),
            1,
            "if_tsresol 0xc0",
        ),
        case(
            "tsresol_option_of_2_bytes",
            good_start(),
            |n| n.idb(1, &[opt::raw(9, &[6, 6])]),
            1,
            "if_tsresol option of 2 bytes",
        ),
        case(
            "tsoffset_option_of_3_bytes",
            good_start(),
            |n| n.idb(1, &[opt::raw(14, &[1, 2, 3])]),
            1,
            "if_tsoffset option of 3 bytes",
        ),
        case(
            "block_length_8",
            good_start(),
            |n| n.block_with_len(6, &[0; 40], 8, 8).raw(&[0; 64]),
            1,
            "below its minimum of 32",
        ),
        case(
            "block_length_not_multiple_of_4",
            good_start(),
            |n| n.block_with_len(6, &[0; 40], 54, 54).raw(&[0; 64]),
            1,
            "not a multiple of 4",
        ),
        case(
            "block_length_4_gib",
            good_start(),
            |n| n.block_with_len(6, &[0; 40], 0xffff_fff0, 0xffff_fff0),
            1,
            "a record longer than",
        ),
        case(
            "block_length_0_unknown_type",
            good_start(),
            |n| n.block_with_len(0x4242, &[], 0, 0).raw(&[0; 32]),
            1,
            "below its minimum of 12",
        ),
        case(
            "trailing_length_differs",
            good_start(),
            |n| n.block_with_len(6, &[0; 40], 52, 48),
            1,
            "corrupt capture",
        ),
        case(
            "caplen_beyond_block",
            good_start(),
            |n| n.epb_lengths(0, T_US, 4000, 4000, &ns, &[]).raw(&[0; 8192]),
            1,
            "4000 captured bytes in a block",
        ),
        case(
            "caplen_u32_max",
            good_start(),
            |n| n.epb_lengths(0, T_US, u32::MAX, u32::MAX, &ns, &[]),
            1,
            "captured bytes in a block",
        ),
        case(
            "idb_option_length_past_block",
            good_start(),
            |n| n.idb(1, &[with_len(opt::if_name(b"x"), 0xfff0)]),
            1,
            "runs past the block's end",
        ),
        case(
            "epb_option_length_past_block",
            good_start(),
            |n| n.epb(0, T_US, &ns, &[with_len(opt::epb_flags(1), 600)]),
            1,
            "runs past the block's end",
        ),
        case(
            "epb_flags_of_2_bytes",
            good_start(),
            |n| n.epb(0, T_US, &ns, &[opt::raw(2, &[1, 0])]),
            1,
            "epb_flags option of 2 bytes",
        ),
        case(
            "if_name_257_bytes",
            good_start(),
            |n| n.idb(1, &[opt::if_name(&[b'n'; MAX_IF_NAME + 1])]),
            1,
            "interface name of 257 bytes",
        ),
        case(
            "section_with_unknown_byte_order_magic",
            good_start(),
            |n| {
                let mut body = vec![0x11, 0x22, 0x33, 0x44, 1, 0, 0, 0];
                body.extend_from_slice(&[0xff; 8]);
                n.block(0x0A0D_0D0A, &body)
            },
            1,
            "byte-order magic",
        ),
        case(
            "packet_on_undefined_interface_70000",
            good_start(),
            |n| n.epb(70_000, T_US, &ns, &[]),
            1,
            "interface 70000, which no interface block defined",
        ),
        case(
            "simple_packet_before_interface",
            Ng::le().shb(),
            |n| n.spb(&ns),
            0,
            "simple packet block before any interface block",
        ),
    ];
    // More interface blocks than a section may hold.
    let mut many = good_start();
    for _ in 1..MAX_INTERFACES {
        many = many.idb(1, &[opt::if_name(b"eth1")]);
    }
    v.push(case(
        "interfaces_4097",
        many,
        |n| n.idb(1, &[]),
        1,
        "more than 4096 interface blocks",
    ));
    // Cut inside an interface block and inside a packet block.
    let full = good_start().idb(1, &[opt::if_name(b"eth1")]).into_bytes();
    let at = good_start().len();
    v.push(CaptureCase {
        name: "truncated_interface_block",
        bytes: full[..at + 10].to_vec(),
        frames_before: 1,
        offset: Some(at),
        what: "truncated",
    });
    let full = good_start().epb(0, T_US, &ns, &[]).into_bytes();
    v.push(CaptureCase {
        name: "truncated_packet_block",
        bytes: full[..full.len() - 9].to_vec(),
        frames_before: 1,
        offset: Some(at),
        what: "truncated",
    });
    // pcap: a record of 4 GiB, a fraction of a second of 2 s.
    let good = craft::pcap(65535, 1, &[(1_700_000_000, 0, 86, 86, &ns)]);
    let at = good.len();
    let mut huge = good.clone();
    huge.extend_from_slice(&craft::pcap(0, 0, &[(1, 0, u32::MAX, 60, &[])])[24..]);
    v.push(CaptureCase {
        name: "pcap_record_of_4_gib",
        bytes: huge,
        frames_before: 1,
        offset: Some(at),
        what: "a record longer than",
    });
    let mut frac = good.clone();
    frac.extend_from_slice(&craft::pcap(0, 0, &[(1, 2_000_000, 86, 86, &ns)])[24..]);
    v.push(CaptureCase {
        name: "pcap_fraction_of_2_s",
        bytes: frac,
        frames_before: 1,
        offset: Some(at),
        what: "timestamp fraction 2000000 is not below one second",
    });
    v.push(CaptureCase {
        name: "not_a_capture",
        bytes: b"\x1b[2J\nALERT high ra_rogue".to_vec(),
        frames_before: 0,
        offset: None,
        what: "not a pcap or pcapng capture",
    });
    v.push(CaptureCase {
        name: "empty",
        bytes: Vec::new(),
        frames_before: 0,
        offset: None,
        what: "empty file",
    });
    v
}

fn keep_dir() -> Option<PathBuf> {
    let d = PathBuf::from(std::env::var_os("V6PROBE_CORPUS_DIR")?);
    fs::create_dir_all(&d).ok()?;
    Some(d)
}

#[test]
fn hostile_captures_exit_1_at_the_damaged_offset_with_the_frames_before_and_the_state_saved() {
    let dir = TempDir::new("hostile-cap").unwrap();
    let keep = keep_dir();
    let corpus = capture_corpus();
    let mut failures = Vec::new();
    for c in &corpus {
        let path = dir.file(&format!("{}.pcapng", c.name), &c.bytes).unwrap();
        if let Some(k) = &keep {
            fs::write(k.join(format!("{}.pcapng", c.name)), &c.bytes).unwrap();
        }
        let want = match c.offset {
            Some(o) => format!("byte offset {o}"),
            None => String::new(),
        };
        // decode: the frames before, then the error.
        let r = run(dir.path(), &[os("decode"), path.as_os_str()]);
        let packets = r
            .stdout
            .lines()
            .filter(|l| v6probe_lab::json_line(l)["kind"] == "packet")
            .count();
        if r.code != Some(1)
            || packets != c.frames_before
            || !r.stderr.contains(&want)
            || !r.stderr.contains(c.what)
        {
            failures.push(format!(
                "decode {}: exit {:?}, {packets} packets, stderr {}",
                c.name, r.code, r.stderr
            ));
        }
        // monitor --pcap --state: the same, and the state is saved, mode 0600.
        let state = dir.path().join(format!("{}.state", c.name));
        let r = run(
            dir.path(),
            &[
                os("monitor"),
                os("--pcap"),
                path.as_os_str(),
                os("--state"),
                state.as_os_str(),
            ],
        );
        let packets = r
            .stdout
            .lines()
            .filter(|l| v6probe_lab::json_line(l)["kind"] == "packet")
            .count();
        let saved = fs::metadata(&state).map(|m| m.permissions().mode() & 0o777);
        // A file refused as a whole stops before the detector runs: nothing to save.
        let want_saved = c.offset.is_some();
        if r.code != Some(1)
            || packets != c.frames_before
            || !r.stderr.contains(&want)
            || !r.stderr.contains(c.what)
            || (want_saved && saved.as_ref().ok() != Some(&0o600))
        {
            failures.push(format!(
                "monitor --pcap {}: exit {:?}, {packets} packets, state {saved:?}, stderr {}",
                c.name, r.code, r.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}

#[test]
fn absurd_snaplen_and_binary_resolution_are_read_not_refused() {
    let dir = TempDir::new("hostile-ok").unwrap();
    let ns = na(mac(1), target());
    let file = Ng::le()
        .shb()
        .idb_snaplen(1, u32::MAX, &[opt::if_tsresol(0x80 | 20)])
        .idb_snaplen(1, 1, &[])
        .epb(0, (1_700_000_000u64 << 20) + (1 << 19), &ns, &[])
        .epb(1, T_US, &ns, &[])
        .into_bytes();
    let path = dir.file("snaplen.pcapng", &file).unwrap();
    let r = run(dir.path(), &[os("decode"), path.as_os_str()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let ts: Vec<String> = r
        .stdout
        .lines()
        .map(|l| {
            v6probe_lab::json_line(l)["ts"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ts,
        [
            "2023-11-14T22:13:20.500000000Z",
            "2023-11-14T22:13:20.000000000Z"
        ]
    );
    let pcap = craft::pcap(u32::MAX, 1, &[(1_700_000_000, 0, 86, u32::MAX, &ns)]);
    let path = dir.file("snaplen.pcap", &pcap).unwrap();
    let r = run(dir.path(), &[os("decode"), path.as_os_str()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// A hostile state file: name, how to plant it, what the error must say.
fn state_corpus(dir: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    let good = r#"{
  "version": 1,
  "neighbors": [
    {
      "iface": "eth0",
      "vlan": 7,
      "address": "fd00::1",
      "mac": "02:00:00:00:00:01",
      "prev_macs": [],
      "first_seen_ns": 1,
      "last_seen_ns": 2
    }
  ],
  "routers": [],
  "router_macs": []
}"#;
    let mut v = Vec::new();
    let mut file = |name: &'static str, bytes: Vec<u8>, what: &'static str| {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        v.push((name, p, what));
    };
    file(
        "version_99.json",
        good.replace("\"version\": 1", "\"version\": 99").into(),
        "version_99.json:2:15: state version 99 (this build reads 1)",
    );
    file(
        "vlan_4096.json",
        good.replace("\"vlan\": 7", "\"vlan\": 4096").into(),
        "vlan_4096.json:6:18: VLAN id 4096",
    );
    file(
        "vlan_70000.json",
        good.replace("\"vlan\": 7", "\"vlan\": 70000").into(),
        "vlan_70000.json:6:19: invalid value",
    );
    file(
        "number_1e400.json",
        good.replace("\"first_seen_ns\": 1", "\"first_seen_ns\": 1e400")
            .into(),
        "number_1e400.json:10:",
    );
    file(
        "number_2_pow_64.json",
        good.replace(
            "\"first_seen_ns\": 1",
            "\"first_seen_ns\": 18446744073709551616",
        )
        .into(),
        "number_2_pow_64.json:10:",
    );
    file(
        "wrong_type.json",
        good.replace("\"routers\": []", "\"routers\": \"all\"")
            .into(),
        "wrong_type.json:14:",
    );
    file(
        "deep_nesting.json",
        good.replace(
            "\"routers\": []",
            &format!(
                "\"routers\": {}{}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        )
        .into(),
        "deep_nesting.json:14:",
    );
    file(
        "deep_unknown_field.json",
        format!(
            "{{\"x\": {}{}}}",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000)
        )
        .into(),
        "deep_unknown_field.json:1:2000007: missing field `version`",
    );
    file(
        "iface_name_300_bytes.json",
        good.replace("\"eth0\"", &format!("\"{}\"", "i".repeat(300)))
            .into(),
        "interface name of 300 bytes",
    );
    let mut bad = good.as_bytes().to_vec();
    bad[good.find("eth0").unwrap() + 1] = 0xff;
    file(
        "invalid_utf8.json",
        bad,
        "invalid_utf8.json:5:18: invalid unicode",
    );
    file(
        "truncated.json",
        good[..good.len() / 2].into(),
        "truncated.json:",
    );
    file("empty.json", Vec::new(), "empty.json:1:0: EOF");
    // Larger than the bound: a sparse file, refused before it is read.
    let p = dir.join("huge.json");
    File::create(&p).unwrap().set_len((1 << 30) + 1).unwrap();
    v.push(("huge.json", p, "longer than the 1073741824 bytes read"));
    let mut link = |name: &'static str, to: &Path, what: &'static str| {
        let p = dir.join(name);
        std::os::unix::fs::symlink(to, &p).unwrap();
        v.push((name, p, what));
    };
    link(
        "link_to_dev_zero",
        Path::new("/dev/zero"),
        "a character device",
    );
    link("link_to_missing", &dir.join("nowhere"), "symbolic link");
    let lp = dir.join("link_loop");
    link("link_loop", &lp, "symbolic links");
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    v.push(("fifo", fifo, "a FIFO"));
    let d = dir.join("a_directory");
    fs::create_dir(&d).unwrap();
    v.push(("a_directory", d, "a directory"));
    v
}

fn policy_corpus(dir: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    let mut v = Vec::new();
    let mut file = |name: &'static str, bytes: Vec<u8>, what: &'static str| {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        v.push((name, p, what));
    };
    file(
        "invalid_utf8.toml",
        b"strict = true\nrdnss = [\"\xff\xfe\"]\n".to_vec(),
        "invalid_utf8.toml:2:11: invalid UTF-8",
    );
    file(
        "deep_arrays.toml",
        format!("prefixes = {}{}", "[".repeat(100_000), "]".repeat(100_000)).into(),
        "deep_arrays.toml:1:",
    );
    file(
        "deep_tables.toml",
        format!("x = {}1{}", "{a=".repeat(100_000), "}".repeat(100_000)).into(),
        "deep_tables.toml:1:",
    );
    file(
        "deep_keys.toml",
        format!("[{}b]\n", "a.".repeat(100_000)).into(),
        "deep_keys.toml: recursion limit (the TOML parser gives no position)",
    );
    file(
        "huge_integer.toml",
        format!("strict = 1{}", "0".repeat(5000)).into(),
        "huge_integer.toml:1:10:",
    );
    file(
        "wrong_type.toml",
        b"strict = \"yes\"\n".to_vec(),
        "wrong_type.toml:1:10:",
    );
    file(
        "unknown_field.toml",
        b"strict = true\nadmin = true\n".to_vec(),
        "unknown_field.toml:2:1:",
    );
    file(
        "control_characters.toml",
        b"dnssl = [\"a\x1b[2J\"]\n".to_vec(),
        "control_characters.toml:1:",
    );
    let p = dir.join("huge.toml");
    File::create(&p).unwrap().set_len((16 << 20) + 1).unwrap();
    v.push(("huge.toml", p, "longer than the 16777216 bytes read"));
    let p = dir.join("link_to_dev_zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
    v.push(("link_to_dev_zero.toml", p, "a character device"));
    let fifo = dir.join("fifo.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    v.push(("fifo.toml", fifo, "a FIFO"));
    let p = dir.join("missing.toml");
    v.push(("missing.toml", p, "missing.toml"));
    v
}

#[test]
fn hostile_state_and_policy_files_exit_1_with_file_line_column() {
    let dir = TempDir::new("hostile-files").unwrap();
    let good = dir
        .file(
            "good.pcap",
            &craft::pcap(
                65535,
                1,
                &[(1_700_000_000, 0, 86, 86, &na(mac(1), target()))],
            ),
        )
        .unwrap();
    let states = dir.path().join("states");
    let policies = dir.path().join("policies");
    fs::create_dir(&states).unwrap();
    fs::create_dir(&policies).unwrap();
    if let Some(k) = keep_dir() {
        for (sub, make) in [
            ("states", state_corpus as fn(&Path) -> _),
            ("policies", policy_corpus),
        ] {
            let d = k.join(sub);
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).unwrap();
            make(&d);
        }
        fs::copy(&good, k.join("good.pcap")).unwrap();
    }
    let mut failures = Vec::new();
    let mut n = 0;
    for (flag, corpus) in [
        ("--state", state_corpus(&states)),
        ("--policy", policy_corpus(&policies)),
    ] {
        for (name, path, what) in corpus {
            n += 1;
            let before = fs::symlink_metadata(&path).ok().map(|m| m.len());
            let r = run(
                dir.path(),
                &[
                    os("monitor"),
                    os("--pcap"),
                    good.as_os_str(),
                    os(flag),
                    path.as_os_str(),
                ],
            );
            if r.code != Some(1) || !r.stderr.contains(what) {
                failures.push(format!(
                    "{flag} {name}: exit {:?}, stderr {}",
                    r.code,
                    r.stderr.chars().take(400).collect::<String>()
                ));
            }
            // A refused file is left as it was (not replaced by a fresh state).
            let after = fs::symlink_metadata(&path).ok().map(|m| m.len());
            if before != after {
                failures.push(format!("{flag} {name}: changed ({before:?} -> {after:?})"));
            }
            // Error messages are one line, with no raw control character, and say the cause
            // once (no "X: X" from an error chain).
            let err = r.stderr.trim_end_matches('\n');
            if err.contains('\n') || err.contains('\x1b') {
                failures.push(format!("{flag} {name}: raw stderr {err:?}"));
            }
            let parts: Vec<&str> = err.split(": ").collect();
            if parts.windows(2).any(|w| w[0] == w[1]) {
                failures.push(format!("{flag} {name}: repeated cause in {err:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn text_output_shows_a_hostile_interface_name_as_escapes() {
    let dir = TempDir::new("hostile-text").unwrap();
    let hostile = b"eth0\x1b[2J\nALERT high ra_rogue forged by the capture\r\x07";
    let t0 = T_US;
    // The owner announces itself, then another MAC takes the address over: alerts too.
    let file = Ng::le()
        .shb()
        .idb(1, &[opt::if_name(hostile)])
        .epb(0, t0, &na(mac(1), target()), &[])
        .epb(0, t0 + 200_000, &na(mac(2), target()), &[])
        .into_bytes();
    if let Some(k) = keep_dir() {
        fs::write(k.join("text_escape_interface_name.pcapng"), &file).unwrap();
    }
    let path = dir.file("name.pcapng", &file).unwrap();
    let escaped = "eth0\\x1b[2J\\nALERT high ra_rogue forged by the capture\\r\\x07";
    for args in [
        vec![os("decode"), os("--format"), os("text"), path.as_os_str()],
        vec![
            os("monitor"),
            os("--pcap"),
            path.as_os_str(),
            os("--format"),
            os("text"),
        ],
    ] {
        let r = run(dir.path(), &args);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
        assert!(
            !r.stdout.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: raw control characters in {:?}",
            r.stdout
        );
        // Every line that names the interface shows it escaped, and no line starts with a
        // forged "ALERT".
        let named: Vec<&str> = r.stdout.lines().filter(|l| l.contains("eth0")).collect();
        assert!(!named.is_empty(), "{args:?}: {}", r.stdout);
        for l in &named {
            assert!(l.contains(escaped), "{args:?}: {l}");
        }
        assert!(
            r.stdout.lines().all(|l| !l.starts_with("ALERT")),
            "{}",
            r.stdout
        );
        if args[0] == "monitor" {
            // Packets, then alerts about the takeover, each on its own line.
            let alerts: Vec<&str> = named
                .iter()
                .copied()
                .filter(|l| l.contains(" ALERT "))
                .collect();
            assert!(
                alerts.iter().any(|l| l.contains("neighbor_mac_changed")),
                "{}",
                r.stdout
            );
        }
    }
}
