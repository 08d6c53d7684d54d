//! The kernel parser, run in the real kernel with BPF_PROG_TEST_RUN on crafted frames.
//! Asserts the ring-buffer records (header and frame bytes) and the per-CPU counters. Needs root:
//! the tests are ignored unless asked for (`--include-ignored`), and fail when run without
//! privileges.
#![cfg(target_os = "linux")]

use std::sync::{Arc, Mutex};

use aya::{
    maps::{MapData, RingBuf},
    programs::{TestRun, TestRunOptions},
};
use v6probe::{
    abi::{
        self, class, counter, direction, ext, flags, hook, FloodGuard, Rate, Record, FRAME_CLASSES,
        MAX_FRAME_CAP, RECORD_HEADER_LEN,
    },
    observe::{drain_ring, KernelLog, KernelLogSink, LoadOptions, Programs},
    wire::{Frame, Icmpv6Type},
};
use v6probe_lab::frame::{frag, ns_body, opts8, ra_body, FrameSpec, SRC_MAC};

struct Harness {
    programs: Programs,
    ring: RingBuf<MapData>,
}

impl Harness {
    /// The programs with every frame counted (non_ipv6, ipv6), as `monitor --count-frames`.
    fn new() -> Self {
        Self::with(true)
    }

    fn with(count_frames: bool) -> Self {
        let mut programs = Programs::load_with(&LoadOptions {
            count_frames,
            ..LoadOptions::default()
        })
        .expect("load programs");
        let ring = programs.take_ring().expect("ring");
        Self { programs, ring }
    }

    fn run_xdp(&mut self, frame: &[u8]) -> u32 {
        let prog = self.programs.xdp(abi::PROG_XDP).unwrap();
        let res = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                ..TestRunOptions::new()
            })
            .expect("test_run");
        res.return_value
    }

    fn run_tc(&mut self, name: &'static str, frame: &[u8]) -> u32 {
        let prog = self.programs.classifier(name).unwrap();
        prog.test_run(TestRunOptions {
            data_in: Some(frame),
            ..TestRunOptions::new()
        })
        .expect("test_run")
        .return_value
    }

    /// The records in the ring; each ring item must be exactly a header plus its size class.
    fn records(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        while let Some(item) = self.ring.next() {
            let r = Record::from_bytes(&item).expect("record");
            assert!(
                FRAME_CLASSES.contains(&(r.header.cap as usize)),
                "cap {} is not a size class",
                r.header.cap
            );
            assert_eq!(item.len(), RECORD_HEADER_LEN + r.header.cap as usize);
            out.push(r);
        }
        out
    }

    fn counters(&self) -> [u64; counter::COUNT as usize] {
        self.programs.counters().unwrap()
    }

    /// Runs `frame` through XDP `n` times in one BPF_PROG_TEST_RUN call (one CPU, so one set
    /// of the guard's per-CPU buckets); returns the records and the counter deltas.
    fn xdp_repeat(
        &mut self,
        frame: &[u8],
        n: u32,
    ) -> (Vec<Record>, [u64; counter::COUNT as usize]) {
        let before = self.counters();
        let prog = self.programs.xdp(abi::PROG_XDP).unwrap();
        let res = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                repeat: n,
                ..TestRunOptions::new()
            })
            .expect("test_run");
        assert_eq!(res.return_value, 2);
        let after = self.counters();
        let mut delta = [0; counter::COUNT as usize];
        for i in 0..delta.len() {
            delta[i] = after[i] - before[i];
        }
        (self.records(), delta)
    }

    /// Runs one frame through XDP; returns the records and the counter deltas.
    fn xdp_one(&mut self, frame: &[u8]) -> (Vec<Record>, [u64; counter::COUNT as usize]) {
        let before = self.counters();
        let verdict = self.run_xdp(frame);
        assert_eq!(verdict, 2, "XDP must always pass (XDP_PASS = 2)");
        let after = self.counters();
        let mut delta = [0; counter::COUNT as usize];
        for i in 0..delta.len() {
            delta[i] = after[i] - before[i];
        }
        (self.records(), delta)
    }
}

fn c(delta: &[u64], idx: u32) -> u64 {
    delta[idx as usize]
}

/// The user-space decode of a record (the same parser as capture files).
fn decode(r: &Record) -> Frame {
    Frame::from_record(&r.view()).expect("record decodes")
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn every_ndp_and_error_type_is_recorded() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    for (ty, code, counter_idx) in [
        (133u8, 0u8, counter::ROUTER_SOLICIT),
        (134, 0, counter::ROUTER_ADVERT),
        (135, 0, counter::NEIGHBOR_SOLICIT),
        (136, 0, counter::NEIGHBOR_ADVERT),
        (137, 0, counter::REDIRECT),
        (1, 3, counter::DEST_UNREACHABLE),
        (2, 0, counter::PACKET_TOO_BIG),
        (3, 0, counter::TIME_EXCEEDED),
        (4, 1, counter::PARAM_PROBLEM),
    ] {
        let spec = FrameSpec::icmp(ty, code, &ns_body());
        let frame = spec.build();
        let (recs, d) = h.xdp_one(&frame);
        assert_eq!(recs.len(), 1, "type {ty}");
        let r = &recs[0];
        assert_eq!(r.frame, frame, "type {ty}: the frame as on the wire");
        assert_eq!(r.header.wire_len as usize, frame.len());
        assert_eq!(r.header.captured_len as usize, frame.len());
        assert_eq!(
            r.header.cap,
            128,
            "an {}-byte frame fits the smallest class",
            frame.len()
        );
        assert_eq!(r.header.icmp_type, ty);
        assert_eq!(r.header.icmp_code, code);
        assert_eq!(r.message(), &spec.payload[..], "type {ty}: message bytes");
        assert_eq!(r.header.msg_len as usize, spec.payload.len());
        assert_eq!(r.header.hook, hook::XDP);
        assert_eq!(r.header.direction, direction::INGRESS);
        assert_eq!(r.header.hop_limit, 255);
        assert_eq!(r.header.ext_count, 0);
        assert_eq!(r.header.flags, 0);
        assert_eq!(r.header.l3_offset, 14);
        assert_eq!(r.header.upper_offset, 54);
        assert_eq!(r.header.upper, 58);
        assert!(r.header.ts_ns > 0);
        let f = decode(r);
        assert_eq!(f.icmp6.as_ref().map(|m| u8::from(m.msg_type)), Some(ty));
        assert!(!f.truncated);
        assert_eq!(c(&d, counter_idx), 1, "type {ty} counter");
        assert_eq!(counter::frames(&d), 1);
        assert_eq!(c(&d, counter::IPV6), 1);
        assert_eq!(c(&d, counter::ICMPV6), 1);
        assert_eq!(c(&d, counter::RECORDS), 1);
        assert_eq!(c(&d, counter::RECORDS_CLASS0), 1);
    }
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn extension_headers_in_front_of_ndp() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // HBH, then destination options, then a first fragment (offset 0, M=1), then NS.
    let mut spec = FrameSpec::icmp(135, 0, &ns_body());
    spec.ext = vec![
        (0, opts8()),
        (60, opts8()),
        (44, frag(0, true, 0xdead_beef)),
    ];
    let frame = spec.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.frame, frame);
    assert_eq!(r.header.icmp_type, 135);
    assert_eq!(r.header.ext_count, 3);
    assert_eq!(
        r.header.ext_bitmap,
        ext::HOP_BY_HOP | ext::DEST_OPTS | ext::FRAGMENT
    );
    assert_eq!(r.header.flags, flags::FRAGMENT | flags::MORE_FRAGMENTS);
    assert_eq!(r.header.frag_offset, 0);
    assert_eq!(r.header.frag_id, 0xdead_beef);
    assert_eq!(r.message(), &spec.payload[..]);
    assert_eq!(r.header.upper_offset as usize, 54 + 24);
    assert_eq!(c(&d, counter::NEIGHBOR_SOLICIT), 1);
    let f = decode(r);
    let kinds: Vec<u8> = f.ip6.ext.headers().iter().map(|h| h.kind).collect();
    assert_eq!(kinds, [0, 60, 44]);
    assert_eq!(f.ip6.frag().map(|fr| fr.id), Some(0xdead_beef));

    // Routing header (type 0 style, 8 bytes) in front of an RA.
    let mut spec = FrameSpec::icmp(134, 0, &[64, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0]);
    spec.ext = vec![(43, vec![0, 0, 0, 0, 0, 0, 0])];
    let (recs, _) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.ext_bitmap, ext::ROUTING);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn non_first_fragment_of_icmpv6_is_reported_as_fragment() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let mut spec = FrameSpec::icmp(0, 0, &[0; 28]);
    spec.ext = vec![(44, frag(7, false, 42))];
    let frame = spec.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.header.icmp_type, 0);
    assert_eq!(
        r.header.flags & flags::NON_FIRST_FRAGMENT,
        flags::NON_FIRST_FRAGMENT
    );
    assert_eq!(r.header.frag_offset, 7);
    assert_eq!(r.header.frag_id, 42);
    // The fragment's data is in the record: user space can reassemble.
    assert_eq!(r.frame, frame);
    assert!(r.message().is_empty());
    let f = decode(r);
    assert!(f.icmp6.is_none());
    assert_eq!(f.ip6.frag().map(|fr| fr.offset), Some(7));
    assert_eq!(c(&d, counter::FRAGMENTS), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn vlan_tagged_frames_are_recorded_with_their_tags() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let mut spec = FrameSpec::icmp(136, 0, &ns_body());
    spec.vlans = vec![(0x8100, 0x2064)]; // PCP 1, VID 100
    let frame = spec.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.frame, frame, "the tag stays in the recorded bytes");
    assert_eq!(r.header.vlan_count, 1);
    assert_eq!(r.header.l3_offset, 18);
    assert_eq!(r.header.upper_offset, 58);
    assert_eq!(c(&d, counter::VLAN), 1);
    let f = decode(r);
    assert_eq!(f.eth.vlans().len(), 1);
    assert_eq!(f.eth.vlans()[0].tci, 0x2064);
    assert_eq!(f.eth.vlans()[0].tpid, Some(0x8100));

    spec.vlans = vec![(0x88a8, 200), (0x8100, 300)];
    let frame = spec.build();
    let (recs, _) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.header.vlan_count, 2);
    assert_eq!(r.header.l3_offset, 22);
    assert_eq!(r.header.icmp_type, 136);
    assert_eq!(r.message(), &spec.payload[..]);
    let f = decode(r);
    let tags: Vec<(Option<u16>, u16)> = f.eth.vlans().iter().map(|v| (v.tpid, v.tci)).collect();
    assert_eq!(tags, [(Some(0x88a8), 200), (Some(0x8100), 300)]);
    assert_eq!(
        f.icmp6.as_ref().map(|m| m.msg_type),
        Some(Icmpv6Type::NeighborAdvert)
    );
}

/// A frame of exactly `len` bytes: a destination unreachable padded with quoted bytes.
fn frame_of_len(len: usize) -> Vec<u8> {
    let body = vec![0xab; len - 14 - 40 - 4];
    let f = FrameSpec::icmp(1, 0, &body).build();
    assert_eq!(f.len(), len);
    f
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn records_take_the_smallest_size_class_that_holds_the_frame() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    for (len, cap, class_counter) in [
        (86, 128, counter::RECORDS_CLASS0),
        (128, 128, counter::RECORDS_CLASS0),
        (129, 256, counter::RECORDS_CLASS1),
        (256, 256, counter::RECORDS_CLASS1),
        (257, 512, counter::RECORDS_CLASS2),
        (512, 512, counter::RECORDS_CLASS2),
        (513, 2048, counter::RECORDS_CLASS3),
        (1514, 2048, counter::RECORDS_CLASS3),
        (1522, 2048, counter::RECORDS_CLASS3),
        (2048, 2048, counter::RECORDS_CLASS3),
    ] {
        let frame = frame_of_len(len);
        let (recs, d) = h.xdp_one(&frame);
        assert_eq!(recs.len(), 1, "{len} bytes");
        let r = &recs[0];
        assert_eq!(r.header.cap as usize, cap, "{len} bytes");
        assert_eq!(r.frame, frame, "{len} bytes, whole");
        assert_eq!(r.header.flags & flags::TRUNCATED, 0, "{len} bytes");
        assert_eq!(c(&d, class_counter), 1, "{len} bytes");
        assert_eq!(c(&d, counter::TRUNCATED), 0, "{len} bytes");
    }
}

/// An RA of `len` bytes on the wire: SLLA, MTU, two PIO, RDNSS (ra_body), then PIOs.
fn big_ra(pios: usize) -> FrameSpec {
    let mut body = ra_body();
    for i in 0..pios {
        // PIO: type 3 len 4, /64, L|A, valid 86400, preferred 14400, fd00:0:0:<i>::/64
        body.extend_from_slice(&[
            3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0,
        ]);
        let hi = (i >> 8) as u8;
        let lo = i as u8;
        body.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, hi, lo, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    FrameSpec::icmp(134, 0, &body)
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn a_router_advertisement_of_a_full_mtu_frame_is_captured_whole() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // 14 + 40 + 16 + 96 (ra_body options) + 38 * 32 = 1382 bytes: padded far past the 512 bytes
    // records kept before.
    let spec = big_ra(38);
    let frame = spec.build();
    assert!(frame.len() > 1300 && frame.len() <= 1514, "{}", frame.len());
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.header.cap as usize, MAX_FRAME_CAP);
    assert_eq!(r.frame, frame);
    assert_eq!(r.header.flags & flags::TRUNCATED, 0);
    assert_eq!(c(&d, counter::TRUNCATED), 0);
    let f = decode(r);
    assert!(!f.truncated);
    let ra = f.icmp6.expect("RA decoded");
    assert_eq!(ra.msg_type, Icmpv6Type::RouterAdvert);
    // SLLA, MTU, 2 PIO, RDNSS from ra_body, then the 38 PIOs: every option, nothing cut.
    let opts = ra.options().expect("RA options");
    assert!(opts.error.is_none());
    assert_eq!(opts.list.len(), 5 + 38);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn truncation_is_flagged_and_counted() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // A destination unreachable quoting 2500 bytes: longer than the largest size class.
    let spec = FrameSpec::icmp(1, 0, &[0xab; 2500]);
    let frame = spec.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.header.captured_len as usize, MAX_FRAME_CAP);
    assert_eq!(r.header.wire_len as usize, frame.len());
    assert_eq!(r.frame, frame[..MAX_FRAME_CAP]);
    assert_eq!(r.header.msg_len, 2504);
    assert_eq!(r.header.flags & flags::TRUNCATED, flags::TRUNCATED);
    assert_eq!(&r.message()[..4], &[1, 0, 0, 0]);
    assert_eq!(c(&d, counter::TRUNCATED), 1);
    let f = decode(r);
    assert!(f.truncated);
    assert!(f.icmp6.is_some());
    assert_eq!(f.checksum_ok, None);

    // The IPv6 header claims more than the frame carries.
    let mut spec = FrameSpec::icmp(135, 0, &ns_body());
    spec.payload_len = Some(200);
    let frame = spec.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].frame, frame);
    assert_eq!(recs[0].header.msg_len, 200);
    assert_eq!(recs[0].header.flags & flags::TRUNCATED, flags::TRUNCATED);
    assert_eq!(c(&d, counter::TRUNCATED), 1);
    assert!(decode(&recs[0]).truncated);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn other_traffic_is_counted_but_not_recorded() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // IPv4 (a minimal header).
    let mut v4 = FrameSpec::icmp(0, 0, &[]);
    v4.ethertype = 0x0800;
    let (recs, d) = h.xdp_one(&v4.build());
    assert!(recs.is_empty());
    assert_eq!(counter::frames(&d), 1);
    assert_eq!(c(&d, counter::NON_IPV6), 1);
    assert_eq!(c(&d, counter::IPV6), 0);

    // IPv6 TCP.
    let mut tcp = FrameSpec::icmp(0, 0, &[0; 16]);
    tcp.upper = 6;
    let (recs, d) = h.xdp_one(&tcp.build());
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::IPV6), 1);
    assert_eq!(c(&d, counter::ICMPV6), 0);

    // ICMPv6 echo request: ICMPv6, not a reported type.
    let (recs, d) = h.xdp_one(&FrameSpec::icmp(128, 0, &[0, 1, 0, 1]).build());
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::ICMPV6), 1);
    assert_eq!(c(&d, counter::RECORDS), 0);

    // Truncated IPv6 header.
    let mut short = FrameSpec::icmp(135, 0, &[]).build();
    short.truncate(14 + 6);
    let (recs, d) = h.xdp_one(&short);
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::PARSE_FAILURES), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn config_mask_selects_classes() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    h.programs.set_report_mask(class::NDP).unwrap();
    let (recs, d) = h.xdp_one(&FrameSpec::icmp(2, 0, &[0, 0, 5, 0]).build());
    assert!(
        recs.is_empty(),
        "PTB must not be reported with an NDP-only mask"
    );
    assert_eq!(c(&d, counter::PACKET_TOO_BIG), 1, "but it is counted");
    let (recs, _) = h.xdp_one(&FrameSpec::icmp(135, 0, &ns_body()).build());
    assert_eq!(recs.len(), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn tc_programs_share_the_parser_and_pass() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let mut spec = FrameSpec::icmp(135, 0, &ns_body());
    spec.ext = vec![(0, opts8())];
    spec.vlans = vec![(0x8100, 42)];
    let frame = spec.build();
    for (name, dir) in [
        (abi::PROG_TC_INGRESS, direction::INGRESS),
        (abi::PROG_TC_EGRESS, direction::EGRESS),
    ] {
        let verdict = h.run_tc(name, &frame);
        assert_eq!(verdict as i32, -1, "TC observers return TC_ACT_UNSPEC");
        let recs = h.records();
        assert_eq!(recs.len(), 1, "{name}");
        let r = &recs[0];
        assert_eq!(r.header.hook, hook::TC);
        assert_eq!(r.header.direction, dir);
        assert_eq!(r.header.icmp_type, 135);
        assert_eq!(r.header.ext_bitmap, ext::HOP_BY_HOP);
        assert_eq!(
            r.frame, frame,
            "{name}: the frame as on the wire, tag included"
        );
        assert_eq!(r.message(), &spec.payload[..]);
    }
    // A frame for the largest class through TC as well.
    let ra = big_ra(38).build();
    assert_eq!(h.run_tc(abi::PROG_TC_INGRESS, &ra) as i32, -1);
    let recs = h.records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].frame, ra);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn drain_takes_at_most_what_it_is_asked_for() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let frame = FrameSpec::icmp(135, 0, &ns_body()).build();
    for _ in 0..10 {
        assert_eq!(h.run_xdp(&frame), 2);
    }
    let mut seen = 0;
    assert_eq!(drain_ring(&mut h.ring, 3, |_| seen += 1), 3);
    assert_eq!(seen, 3);
    assert_eq!(drain_ring(&mut h.ring, 100, |_| seen += 1), 7);
    assert_eq!(seen, 10);
    assert_eq!(drain_ring(&mut h.ring, 100, |_| seen += 1), 0);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn kernel_log_says_why_a_frame_was_not_walked() {
    v6probe_lab::require_privileges();
    let lines = Arc::new(Mutex::new(Vec::<(log::Level, String)>::new()));
    let sink = {
        let lines = lines.clone();
        KernelLogSink::new(move |level, msg| {
            if let Ok(mut l) = lines.lock() {
                l.push((level, msg.to_string()));
            }
        })
    };
    // No program loaded with the object: the log reader takes its map first, and the program
    // loaded afterwards (as the monitor's attach does) still writes to it.
    let mut programs = Programs::load_with(&LoadOptions {
        kernel_log: KernelLog::Debug,
        log_sink: sink,
        programs: Vec::new(),
        ..LoadOptions::default()
    })
    .expect("load programs with logging");
    assert!(
        programs.xdp(abi::PROG_XDP).unwrap().fd().is_err(),
        "not loaded yet"
    );
    programs
        .ensure_loaded(abi::PROG_XDP)
        .expect("load after the logger");
    // An IPv6 EtherType carrying IP version 4 at offset 14.
    let mut bad = FrameSpec::icmp(135, 0, &ns_body()).build();
    bad[14] = 0x45;
    let prog = programs.xdp(abi::PROG_XDP).unwrap();
    let res = prog
        .test_run(TestRunOptions {
            data_in: Some(&bad),
            ..TestRunOptions::new()
        })
        .expect("test_run");
    assert_eq!(res.return_value, 2);
    programs.flush_kernel_log();
    let got = lines.lock().unwrap().clone();
    assert!(
        got.iter().any(
            |(level, m)| *level == log::Level::Debug && m.contains("IP version 4 at offset 14")
        ),
        "{got:?}"
    );

    // Off (the default): no log reader is created.
    let mut quiet = Programs::load(class::ALL).expect("load programs");
    assert!(quiet.take_kernel_logger().is_none());
}

/// A guard that lets `class_burst` records of a class through at once, then one per second
/// (far longer than a test run of a few dozen frames), and `mac_burst` per source MAC; 0 means
/// no limit.
fn guard(class_burst: u32, mac_burst: u32) -> FloodGuard {
    let rate = |burst: u32| Rate {
        per_sec: u32::from(burst != 0),
        burst,
    };
    FloodGuard {
        class: rate(class_burst),
        mac: rate(mac_burst),
    }
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn flood_guard_records_the_first_packets_then_counts() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let ns = FrameSpec::icmp(135, 0, &ns_body()).build();
    // Off: every frame recorded.
    let (recs, d) = h.xdp_repeat(&ns, 50);
    assert_eq!(recs.len(), 50);
    assert_eq!(c(&d, counter::FLOOD_SUPPRESSED), 0);

    // Per class: a burst of 5, then counted.
    h.programs.set_flood_guard(Some(guard(5, 0))).unwrap();
    let (recs, d) = h.xdp_repeat(&ns, 50);
    assert!(
        (5..=6).contains(&recs.len()),
        "the burst, plus at most one more if a second passed: {}",
        recs.len()
    );
    assert!(recs.iter().all(|r| r.frame == ns), "recorded in full");
    let suppressed = c(&d, counter::FLOOD_SUPPRESSED);
    assert_eq!(
        recs.len() as u64 + suppressed,
        50,
        "every frame recorded or counted"
    );
    assert_eq!(c(&d, counter::FLOOD_NS), suppressed);
    assert_eq!(c(&d, counter::FLOOD_NA), 0);
    assert_eq!(c(&d, counter::RECORDS), recs.len() as u64);
    assert_eq!(
        c(&d, counter::NEIGHBOR_SOLICIT),
        50,
        "counted by type all the same"
    );
    // Another class has its own bucket.
    let na = FrameSpec::icmp(136, 0, &ns_body()).build();
    let (recs, _) = h.xdp_repeat(&na, 3);
    assert_eq!(recs.len(), 3);
    // The per-MAC table names the sender.
    let sources = h.programs.flood_sources().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].mac.0, SRC_MAC);
    assert_eq!(sources[0].suppressed, suppressed);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn flood_guard_limits_one_source_mac_and_not_the_others() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    h.programs.set_flood_guard(Some(guard(0, 4))).unwrap();
    let a = FrameSpec::icmp(136, 0, &ns_body()).build();
    let (recs, d) = h.xdp_repeat(&a, 40);
    assert!((4..=5).contains(&recs.len()), "{}", recs.len());
    let suppressed = c(&d, counter::FLOOD_SUPPRESSED);
    assert_eq!(recs.len() as u64 + suppressed, 40);
    assert_eq!(c(&d, counter::FLOOD_NA), suppressed);
    // Another source MAC, same class: recorded.
    let mut b = a.clone();
    b[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0xbb]);
    let (recs, d) = h.xdp_repeat(&b, 3);
    assert_eq!(recs.len(), 3);
    assert_eq!(c(&d, counter::FLOOD_SUPPRESSED), 0);
    let sources = h.programs.flood_sources().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].mac.0, SRC_MAC);
    assert_eq!(sources[0].suppressed, suppressed);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn flood_guard_counts_new_source_macs_without_a_table_entry() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    h.programs.set_flood_guard(Some(guard(3, 0))).unwrap();
    // A flood with a new source MAC per frame (as THC's tools send): past the class's burst,
    // each frame is counted, as untracked, and makes no entry in the per-MAC table.
    const N: usize = 40;
    let base = FrameSpec::icmp(136, 0, &ns_body()).build();
    let mut recorded = Vec::new();
    let mut total = [0u64; counter::COUNT as usize];
    for i in 0..N {
        let mut f = base.clone();
        f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0x01, i as u8]);
        let (recs, d) = h.xdp_one(&f);
        recorded.extend(recs);
        for (t, v) in total.iter_mut().zip(d) {
            *t += v;
        }
    }
    let suppressed = c(&total, counter::FLOOD_SUPPRESSED);
    assert_eq!(
        recorded.len() as u64 + suppressed,
        N as u64,
        "recorded or counted"
    );
    // Per CPU: the burst, plus one more if a second passed (the runs may land on either CPU).
    assert!(
        (3..=8).contains(&recorded.len()),
        "the class burst is recorded: {}",
        recorded.len()
    );
    assert_eq!(c(&total, counter::FLOOD_NA), suppressed);
    assert_eq!(
        c(&total, counter::FLOOD_UNTRACKED),
        suppressed,
        "no MAC seen twice"
    );
    assert!(
        h.programs.flood_sources().unwrap().is_empty(),
        "no MAC entry with suppressions"
    );

    // A recorded MAC has an entry: its suppressed frames are counted against it.
    let again = recorded[0].frame.clone();
    let (recs, d) = h.xdp_repeat(&again, 20);
    let counted = c(&d, counter::FLOOD_SUPPRESSED);
    assert_eq!(recs.len() as u64 + counted, 20);
    assert!(counted >= 10, "{counted}");
    assert_eq!(c(&d, counter::FLOOD_UNTRACKED), 0);
    let sources = h.programs.flood_sources().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].mac.0[..], again[6..12]);
    assert_eq!(sources[0].suppressed, counted);
}

/// Keeps the calling thread on the CPU it runs on, so that every test_run it makes uses the
/// same per-CPU maps (the flood guard's buckets and MAC table are per CPU).
fn stay_on_this_cpu() {
    // SAFETY: sched_getcpu has no preconditions; the set is a plain bit mask on the stack,
    // initialised by CPU_ZERO before use; pid 0 is the calling thread.
    unsafe {
        let cpu = libc::sched_getcpu();
        assert!(
            cpu >= 0,
            "sched_getcpu: {}",
            std::io::Error::last_os_error()
        );
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu as usize, &mut set);
        let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            rc,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn flood_guard_tracks_two_macs_per_slot_pair_and_counts_a_third_untracked() {
    v6probe_lab::require_privileges();
    stay_on_this_cpu();
    let mut h = Harness::new();
    // Per MAC: a burst of 2, then one a second; no class limit.
    h.programs.set_flood_guard(Some(guard(0, 2))).unwrap();
    // Three MACs whose hash picks the same two slots of the guard's table.
    let with_mac = |last: u16| [0x02, 0x5e, 0, 0, (last >> 8) as u8, last as u8];
    let pair = abi::mac_slots(abi::mac_key(with_mac(0)));
    let macs: Vec<[u8; 6]> = (0..=u16::MAX)
        .map(with_mac)
        .filter(|m| abi::mac_slots(abi::mac_key(*m)) == pair)
        .take(3)
        .collect();
    assert_eq!(macs.len(), 3, "65,536 MACs over 2,048 slot pairs");
    let base = FrameSpec::icmp(136, 0, &ns_body()).build();
    let frame_from = |mac: &[u8; 6]| {
        let mut f = base.clone();
        f[6..12].copy_from_slice(mac);
        f
    };
    // The first two take the pair's slots: each is recorded for its burst, then counted
    // against it.
    for mac in &macs[..2] {
        let (recs, d) = h.xdp_repeat(&frame_from(mac), 10);
        assert!((2..=3).contains(&recs.len()), "{}", recs.len());
        assert_eq!(recs.len() as u64 + c(&d, counter::FLOOD_SUPPRESSED), 10);
        assert_eq!(c(&d, counter::FLOOD_NA), c(&d, counter::FLOOD_SUPPRESSED));
        assert_eq!(c(&d, counter::FLOOD_UNTRACKED), 0);
    }
    // The third finds both slots held by MACs over their rate: it is not tracked, so only its
    // class's rate (none here) holds it, and nothing is counted against it.
    let (recs, d) = h.xdp_repeat(&frame_from(&macs[2]), 10);
    assert_eq!(recs.len(), 10, "no slot, no per-MAC limit");
    assert_eq!(c(&d, counter::FLOOD_SUPPRESSED), 0);
    let sources = h.programs.flood_sources().unwrap();
    let listed: Vec<[u8; 6]> = sources.iter().map(|s| s.mac.0).collect();
    assert_eq!(listed.len(), 2, "{sources:?}");
    assert!(
        listed.contains(&macs[0]) && listed.contains(&macs[1]),
        "{sources:?}"
    );
    assert!(
        sources.iter().all(|s| (7..=8).contains(&s.suppressed)),
        "{sources:?}"
    );

    // With a class limit too, the third MAC's frames over the class's rate are counted as
    // untracked: every frame still recorded or counted.
    h.programs.set_flood_guard(Some(guard(1, 2))).unwrap();
    let (recs, d) = h.xdp_repeat(&frame_from(&macs[2]), 10);
    let suppressed = c(&d, counter::FLOOD_SUPPRESSED);
    assert_eq!(recs.len() as u64 + suppressed, 10);
    assert!(suppressed >= 8, "{suppressed}");
    assert_eq!(c(&d, counter::FLOOD_UNTRACKED), suppressed);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn without_frame_counting_other_traffic_touches_no_counter() {
    v6probe_lab::require_privileges();
    let mut h = Harness::with(false);
    let mut tcp = FrameSpec::icmp(0, 0, &[0; 16]);
    tcp.upper = 6;
    let mut v4 = FrameSpec::icmp(0, 0, &[]);
    v4.ethertype = 0x0800;
    for f in [tcp.build(), v4.build()] {
        let (recs, d) = h.xdp_one(&f);
        assert!(recs.is_empty());
        assert!(d.iter().all(|v| *v == 0), "{d:?}");
    }
    // NDP is recorded and counted by type as ever; only the frame counters stay 0.
    let ns = FrameSpec::icmp(135, 0, &ns_body()).build();
    let (recs, d) = h.xdp_one(&ns);
    assert_eq!(recs.len(), 1);
    assert_eq!(c(&d, counter::ICMPV6), 1);
    assert_eq!(c(&d, counter::NEIGHBOR_SOLICIT), 1);
    assert_eq!(c(&d, counter::RECORDS), 1);
    assert_eq!(c(&d, counter::IPV6), 0);
    assert_eq!(c(&d, counter::NON_IPV6), 0);
}

/// Runs `frame` through one hook ("xdp", or a TC program's name); returns the records and the
/// counter deltas.
fn run_on(
    h: &mut Harness,
    hook: &str,
    frame: &[u8],
) -> (Vec<Record>, [u64; counter::COUNT as usize]) {
    match hook {
        "xdp" => h.xdp_one(frame),
        tc => {
            let name = [abi::PROG_TC_INGRESS, abi::PROG_TC_EGRESS]
                .into_iter()
                .find(|n| *n == tc)
                .expect("a TC program");
            let before = h.counters();
            assert_eq!(
                h.run_tc(name, frame) as i32,
                -1,
                "{name} returns TC_ACT_UNSPEC"
            );
            let after = h.counters();
            let mut delta = [0; counter::COUNT as usize];
            for i in 0..delta.len() {
                delta[i] = after[i] - before[i];
            }
            (h.records(), delta)
        }
    }
}

/// The entry programs' first look lets other traffic leave on a shortcut (a bit per next
/// header modulo 64, so some other next headers go on to the parser): for every next-header
/// value, on every hook, with and without frame counting, a frame ends as the parser decides.
#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn the_first_look_agrees_with_the_parser_on_every_next_header() {
    v6probe_lab::require_privileges();
    let walked = [0u8, 43, 44, 51, 58, 60, 135];
    for counting in [false, true] {
        let mut h = Harness::with(counting);
        for hook in ["xdp", abi::PROG_TC_INGRESS, abi::PROG_TC_EGRESS] {
            for nh in 0..=255u8 {
                let mut spec = FrameSpec::icmp(0, 0, &[0; 16]);
                spec.upper = nh;
                let (recs, d) = run_on(&mut h, hook, &spec.build());
                if walked.contains(&nh) {
                    // The parser walked it: the zeros read as ICMPv6 type 0 or as a chain of
                    // headers that runs out, and say so in a counter.
                    let others = d.iter().sum::<u64>() - c(&d, counter::IPV6);
                    assert!(others > 0 || !recs.is_empty(), "{hook} nh {nh}: not walked");
                    continue;
                }
                assert!(recs.is_empty(), "{hook} nh {nh}: recorded");
                for (i, v) in d.iter().enumerate() {
                    let want = u64::from(counting && i == counter::IPV6 as usize);
                    assert_eq!(*v, want, "{hook} nh {nh} counting {counting}: counter {i}");
                }
            }
            // IPv4, and an IPv6 EtherType with another IP version: the latter is a failure
            // whatever its next header.
            let mut v4 = FrameSpec::icmp(0, 0, &[]);
            v4.ethertype = 0x0800;
            let (recs, d) = run_on(&mut h, hook, &v4.build());
            assert!(recs.is_empty());
            assert_eq!(c(&d, counter::NON_IPV6), u64::from(counting), "{hook}");
            assert_eq!(d.iter().sum::<u64>(), u64::from(counting), "{hook}: {d:?}");
            let mut tcp = FrameSpec::icmp(0, 0, &[0; 16]);
            tcp.upper = 6;
            let mut bad = tcp.build();
            bad[14] = 0x45;
            let (recs, d) = run_on(&mut h, hook, &bad);
            assert!(recs.is_empty());
            assert_eq!(c(&d, counter::IP_VERSION), 1, "{hook} counting {counting}");
            assert_eq!(
                c(&d, counter::PARSE_FAILURES),
                1,
                "{hook} counting {counting}"
            );
            // NDP still gets past the first look on every hook.
            let (recs, d) = run_on(&mut h, hook, &FrameSpec::icmp(135, 0, &ns_body()).build());
            assert_eq!(recs.len(), 1, "{hook} counting {counting}");
            assert_eq!(c(&d, counter::NEIGHBOR_SOLICIT), 1);
        }
    }
}

/// An options header (hop-by-hop or destination options) of `len` bytes in all (a multiple of
/// 8, at least 8), as FrameSpec wants it: without its next-header byte, padded with PadN.
fn opts(len: usize) -> Vec<u8> {
    assert!(len >= 8 && len.is_multiple_of(8) && len <= 2048);
    let mut b = vec![(len / 8 - 1) as u8];
    let mut left = len - 2;
    while left > 0 {
        // PadN: type 1, length n, n zero bytes (2 + n bytes); Pad1 (one zero byte) for 1.
        if left == 1 {
            b.push(0);
            left = 0;
        } else {
            let n = (left - 2).min(255);
            b.push(1);
            b.push(n as u8);
            b.extend(std::iter::repeat_n(0, n));
            left -= n + 2;
        }
    }
    b
}

/// Replaces the crafted frame's addresses (fe80::1 -> ff02::1:ff00:2) with global unicast ones
/// and sets a hop limit: a packet that cannot be NDP by its addresses.
fn off_link(frame: &mut [u8], l3: usize, hop_limit: u8) {
    frame[l3 + 7] = hop_limit;
    frame[l3 + 8..l3 + 24]
        .copy_from_slice(&[0x20, 0x01, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    frame[l3 + 24..l3 + 40]
        .copy_from_slice(&[0x20, 0x01, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn first_fragment_with_only_options_is_recorded_and_so_is_the_rest() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // ra6 -u 256 -y 64 style: the first fragment holds a fragment header and a 256-byte
    // destination-options header announcing ICMPv6, and no ICMPv6 header at all.
    let mut first = FrameSpec::icmp(0, 0, &[]);
    first.payload.clear();
    first.ext = vec![(44, frag(0, true, 0x5151)), (60, opts(256))];
    let frame = first.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1, "the first fragment is recorded");
    let r = &recs[0];
    assert_eq!(r.frame, frame);
    assert_eq!(
        r.header.flags & (flags::FRAGMENT | flags::MORE_FRAGMENTS | flags::CHAIN_INCOMPLETE),
        flags::FRAGMENT | flags::MORE_FRAGMENTS | flags::CHAIN_INCOMPLETE
    );
    assert_eq!(r.header.icmp_type, 0);
    assert_eq!(r.header.upper, 58);
    assert_eq!(r.header.upper_offset as usize, 14 + 40 + 8 + 256);
    assert_eq!(r.header.ext_count, 2);
    assert_eq!(c(&d, counter::CHAIN_INCOMPLETE), 1);
    assert_eq!(c(&d, counter::FRAGMENTS), 1);
    assert_eq!(
        c(&d, counter::PARSE_FAILURES),
        0,
        "recorded, not a silent failure"
    );
    let f = decode(r);
    assert!(f.icmp6.is_none());
    assert_eq!(
        f.ip6.frag().map(|fr| (fr.offset, fr.more, fr.id)),
        Some((0, true, 0x5151))
    );

    // The second fragment carries the RA from offset 264 (33 units): recorded whole.
    let mut second = FrameSpec::icmp(134, 0, &ra_body());
    second.ext = vec![(44, frag(33, false, 0x5151))];
    second.upper = 60;
    let frame = second.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1, "the later fragment is recorded");
    let r = &recs[0];
    assert_eq!(r.frame, frame);
    assert_eq!(
        r.header.flags & flags::NON_FIRST_FRAGMENT,
        flags::NON_FIRST_FRAGMENT
    );
    assert_eq!(r.header.frag_offset, 33);
    assert_eq!(c(&d, counter::FRAGMENTS), 1);

    // A first fragment that ends inside a 304-byte options header.
    let mut cut = FrameSpec::icmp(0, 0, &[]);
    cut.payload.clear();
    cut.ext = vec![(44, frag(0, true, 7)), (60, opts(304))];
    let mut frame = cut.build();
    frame.truncate(14 + 40 + 8 + 200);
    let plen = (frame.len() - 54) as u16;
    frame[18..20].copy_from_slice(&plen.to_be_bytes());
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    assert_ne!(recs[0].header.flags & flags::CHAIN_INCOMPLETE, 0);
    assert_eq!(c(&d, counter::CHAIN_INCOMPLETE), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn fragments_of_link_scope_packets_are_recorded_whatever_their_next_header() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // A first fragment of a UDP packet with link-local source: recorded.
    let mut udp = FrameSpec::icmp(0, 0, &[0; 16]);
    udp.upper = 17;
    udp.ext = vec![(44, frag(0, true, 1))];
    let frame = udp.build();
    let (recs, _) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.upper, 17);
    assert_eq!(recs[0].header.icmp_type, 0);
    assert!(decode(&recs[0]).icmp6.is_none());
    // A non-first fragment claiming UDP, link-local: recorded.
    udp.ext = vec![(44, frag(4, false, 1))];
    let (recs, _) = h.xdp_one(&udp.build());
    assert_eq!(recs.len(), 1);
    assert_ne!(recs[0].header.flags & flags::NON_FIRST_FRAGMENT, 0);
    // Hop limit 255 alone is enough (global addresses).
    let mut frame = udp.build();
    off_link(&mut frame, 14, 255);
    assert_eq!(h.xdp_one(&frame).0.len(), 1);
    // Global addresses and hop limit 64: not NDP, not recorded.
    off_link(&mut frame, 14, 64);
    assert!(h.xdp_one(&frame).0.is_empty());
    udp.ext = vec![(44, frag(0, true, 1))];
    let mut frame = udp.build();
    off_link(&mut frame, 14, 64);
    assert!(h.xdp_one(&frame).0.is_empty());
    // A first fragment of an echo request, link-local: recorded with its type.
    let mut echo = FrameSpec::icmp(128, 0, &[0, 1, 0, 1]);
    echo.ext = vec![(44, frag(0, true, 9))];
    let (recs, _) = h.xdp_one(&echo.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.icmp_type, 128);
    // Off link scope, a non-first ICMPv6 fragment is still reported (it may hide an error).
    let mut icmp = FrameSpec::icmp(0, 0, &[0; 24]);
    icmp.ext = vec![(44, frag(7, false, 3))];
    let mut frame = icmp.build();
    off_link(&mut frame, 14, 64);
    assert_eq!(h.xdp_one(&frame).0.len(), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn long_header_chains_are_walked_or_recorded_with_a_flag() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // An RA behind 9, then 16, eight-byte destination-options headers (Linux accepts both):
    // walked to the RA.
    for n in [9usize, 16] {
        let mut ra = FrameSpec::icmp(134, 0, &ra_body());
        ra.ext = (0..n).map(|_| (60u8, opts8())).collect();
        let frame = ra.build();
        let (recs, d) = h.xdp_one(&frame);
        assert_eq!(recs.len(), 1, "{n} headers");
        let r = &recs[0];
        assert_eq!(r.header.icmp_type, 134, "{n} headers");
        assert_eq!(r.header.ext_count as usize, n);
        assert_eq!(r.header.flags, 0);
        assert_eq!(c(&d, counter::CHAIN_TOO_LONG), 0);
        let f = decode(r);
        assert_eq!(
            f.icmp6.as_ref().map(|m| m.msg_type),
            Some(Icmpv6Type::RouterAdvert),
            "{n} headers"
        );
        assert_eq!(f.ip6.ext.headers().len(), n);
    }
    // A 300-byte (304 with padding to 8) options header in front of an RA.
    let mut ra = FrameSpec::icmp(134, 0, &ra_body());
    ra.ext = vec![(60, opts(304))];
    let frame = ra.build();
    let (recs, _) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].frame, frame);
    assert_eq!(recs[0].header.upper_offset as usize, 14 + 40 + 304);
    assert_eq!(
        decode(&recs[0]).icmp6.map(|m| m.msg_type),
        Some(Icmpv6Type::RouterAdvert)
    );

    // 17 headers: past the walk. Link scope: recorded with the flag, for user space.
    let mut long = FrameSpec::icmp(134, 0, &ra_body());
    long.ext = (0..17).map(|_| (60u8, opts8())).collect();
    let frame = long.build();
    let (recs, d) = h.xdp_one(&frame);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.frame, frame);
    assert_eq!(
        r.header.flags & flags::CHAIN_TOO_LONG,
        flags::CHAIN_TOO_LONG
    );
    assert_eq!(r.header.ext_count, 16);
    assert_eq!(r.header.upper, 60, "stopped at the 17th header");
    assert_eq!(c(&d, counter::CHAIN_TOO_LONG), 1);
    assert_eq!(c(&d, counter::PARSE_FAILURES), 0);
    let f = decode(r);
    let codes: Vec<&str> = f.validate().iter().map(|v| v.code.code()).collect();
    assert!(codes.contains(&"ext_chain_too_long"), "{codes:?}");
    // Off link scope: not recorded, but counted under its reason.
    let mut frame = long.build();
    off_link(&mut frame, 14, 64);
    let (recs, d) = h.xdp_one(&frame);
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::CHAIN_TOO_LONG), 1);
    assert_eq!(c(&d, counter::PARSE_FAILURES), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn every_parse_failure_has_a_reason_counter() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let mut v4 = FrameSpec::icmp(135, 0, &ns_body()).build();
    v4[14] = 0x45;
    let (recs, d) = h.xdp_one(&v4);
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::IP_VERSION), 1);
    assert_eq!(c(&d, counter::PARSE_FAILURES), 1);

    let mut short = FrameSpec::icmp(135, 0, &[]).build();
    short.truncate(14 + 30);
    let (_, d) = h.xdp_one(&short);
    assert_eq!(c(&d, counter::HEADER_TRUNCATED), 1);
    assert_eq!(c(&d, counter::PARSE_FAILURES), 1);

    // Not a fragment: an options header that runs past the end.
    let mut cut = FrameSpec::icmp(135, 0, &[]);
    cut.payload.clear();
    cut.ext = vec![(0, opts8())];
    let mut frame = cut.build();
    frame.truncate(14 + 40 + 4);
    let (recs, d) = h.xdp_one(&frame);
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::HEADER_TRUNCATED), 1);
    assert_eq!(c(&d, counter::PARSE_FAILURES), 1);
    // An ICMPv6 header cut after its first byte.
    let mut frame = FrameSpec::icmp(135, 0, &[]).build();
    frame.truncate(14 + 40 + 1);
    let (_, d) = h.xdp_one(&frame);
    assert_eq!(c(&d, counter::HEADER_TRUNCATED), 1);
}
