//! The kernel parser, run in the real kernel with BPF_PROG_TEST_RUN on crafted frames.
//! Asserts the ring-buffer records and the per-CPU counters. Needs root: the tests are ignored
//! unless asked for (`--include-ignored`), and fail when run without privileges.
#![cfg(target_os = "linux")]

use aya::{
    maps::{MapData, RingBuf},
    programs::{TestRun, TestRunOptions},
};
use v6probe::{
    abi::{self, class, counter, direction, ext, flags, hook, Record, MSG_CAP},
    observe::{drain_ring, Programs},
};
use v6probe_lab::frame::{frag, ns_body, opts8, FrameSpec, DST_IP, DST_MAC, SRC_IP, SRC_MAC};

struct Harness {
    programs: Programs,
    ring: RingBuf<MapData>,
}

impl Harness {
    fn new() -> Self {
        let mut programs = Programs::load(class::ALL).expect("load programs");
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

    fn records(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        while let Some(item) = self.ring.next() {
            out.push(Record::from_bytes(&item).expect("record size"));
        }
        out
    }

    fn counters(&self) -> [u64; counter::COUNT as usize] {
        self.programs.counters().unwrap()
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
        assert_eq!(r.header.icmp_type, ty);
        assert_eq!(r.message()[1], code);
        assert_eq!(r.message(), &spec.payload[..], "type {ty}: message bytes");
        assert_eq!(r.header.msg_len as usize, spec.payload.len());
        assert_eq!(r.header.hook, hook::XDP);
        assert_eq!(r.header.direction, direction::INGRESS);
        assert_eq!(r.header.eth_src, SRC_MAC);
        assert_eq!(r.header.eth_dst, DST_MAC);
        assert_eq!(r.header.ip6_src, SRC_IP);
        assert_eq!(r.header.ip6_dst, DST_IP);
        assert_eq!(r.header.hop_limit, 255);
        assert_eq!(r.header.ext_count, 0);
        assert_eq!(r.header.flags, 0);
        assert_eq!(r.header.icmp_offset, 54);
        assert_eq!(c(&d, counter_idx), 1, "type {ty} counter");
        assert_eq!(counter::frames(&d), 1);
        assert_eq!(c(&d, counter::IPV6), 1);
        assert_eq!(c(&d, counter::ICMPV6), 1);
        assert_eq!(c(&d, counter::RECORDS), 1);
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
    let (recs, d) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.header.icmp_type, 135);
    assert_eq!(r.header.ext_count, 3);
    assert_eq!(&r.header.ext_types[..3], &[0, 60, 44]);
    assert_eq!(
        r.header.ext_bitmap,
        ext::HOP_BY_HOP | ext::DEST_OPTS | ext::FRAGMENT
    );
    assert_eq!(r.header.flags, flags::FRAGMENT | flags::MORE_FRAGMENTS);
    assert_eq!(r.header.frag_offset, 0);
    assert_eq!(r.header.frag_id, 0xdead_beef);
    assert_eq!(r.message(), &spec.payload[..]);
    assert_eq!(r.header.icmp_offset as usize, 54 + 24);
    assert_eq!(c(&d, counter::NEIGHBOR_SOLICIT), 1);

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
    let (recs, d) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.header.icmp_type, 0);
    assert_eq!(
        r.header.flags & flags::NON_FIRST_FRAGMENT,
        flags::NON_FIRST_FRAGMENT
    );
    assert_eq!(r.header.frag_offset, 7);
    assert_eq!(r.header.captured_len, 0);
    assert_eq!(c(&d, counter::FRAGMENTS), 1);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn vlan_tagged_frames() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    let mut spec = FrameSpec::icmp(136, 0, &ns_body());
    spec.vlans = vec![(0x8100, 0x2064)]; // PCP 1, VID 100
    let (recs, d) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.vlan_count, 1);
    assert_eq!(recs[0].header.vlan_tci[0], 0x2064);
    assert_eq!(recs[0].header.icmp_offset, 58);
    assert_eq!(c(&d, counter::VLAN), 1);

    spec.vlans = vec![(0x88a8, 200), (0x8100, 300)];
    let (recs, _) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.vlan_count, 2);
    assert_eq!(recs[0].header.vlan_tci, [200, 300]);
    assert_eq!(recs[0].header.icmp_type, 136);
    assert_eq!(recs[0].message(), &spec.payload[..]);
}

#[test]
#[ignore = "needs root: loads the kernel programs (BPF_PROG_TEST_RUN)"]
fn truncation_is_flagged_and_counted() {
    v6probe_lab::require_privileges();
    let mut h = Harness::new();
    // A destination unreachable quoting 1000 bytes: longer than MSG_CAP.
    let spec = FrameSpec::icmp(1, 0, &[0xab; 1000]);
    let (recs, d) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.captured_len as usize, MSG_CAP);
    assert_eq!(recs[0].header.msg_len, 1004);
    assert_eq!(recs[0].header.flags & flags::TRUNCATED, flags::TRUNCATED);
    assert_eq!(&recs[0].message()[..4], &[1, 0, 0, 0]);
    assert_eq!(c(&d, counter::TRUNCATED), 1);

    // The IPv6 header claims more than the frame carries.
    let mut spec = FrameSpec::icmp(135, 0, &ns_body());
    spec.payload_len = Some(200);
    let (recs, _) = h.xdp_one(&spec.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.captured_len as usize, spec.payload.len());
    assert_eq!(recs[0].header.msg_len, 200);
    assert_eq!(recs[0].header.flags & flags::TRUNCATED, flags::TRUNCATED);
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

    // A chain of 9 destination-options headers: longer than the parser walks.
    let mut long = FrameSpec::icmp(135, 0, &ns_body());
    long.ext = (0..9).map(|_| (60u8, opts8())).collect();
    let (recs, d) = h.xdp_one(&long.build());
    assert!(recs.is_empty());
    assert_eq!(c(&d, counter::PARSE_FAILURES), 1);

    // 8 headers is within the bound.
    long.ext.truncate(8);
    let (recs, _) = h.xdp_one(&long.build());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.ext_count, 8);
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
    let frame = spec.build();
    for (name, dir) in [
        (abi::PROG_TC_INGRESS, direction::INGRESS),
        (abi::PROG_TC_EGRESS, direction::EGRESS),
    ] {
        let verdict = h.run_tc(name, &frame);
        assert_eq!(verdict as i32, -1, "TC observers return TC_ACT_UNSPEC");
        let recs = h.records();
        assert_eq!(recs.len(), 1, "{name}");
        assert_eq!(recs[0].header.hook, hook::TC);
        assert_eq!(recs[0].header.direction, dir);
        assert_eq!(recs[0].header.icmp_type, 135);
        assert_eq!(recs[0].header.ext_bitmap, ext::HOP_BY_HOP);
        assert_eq!(recs[0].message(), &spec.payload[..]);
    }
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
