//! The engine against the evasions of NDP monitoring: RAs hidden in fragments (the first one
//! holding only options, as `ra6 -u 256 -y 64` sends them), overlapping fragments, header
//! chains longer than the kernel walks, and messages captured in part or with a bad checksum.
//! Frames are emitted whole by the `wire` emitter and cut into fragments or shortened here,
//! byte by byte, then fed as bytes, as the monitor feeds them.
use std::{net::Ipv6Addr, time::Duration};

use v6probe_common::{
    abi::next_header as nh,
    wire::{
        addr, icmpv6::msg_type as mt, ndisc_option::Preference, EthernetAddress, Frame, Icmpv6Repr,
        Message, NdpOption, Options, Prefix,
    },
};

use super::{
    alert::Detail,
    tests::{at, ll, mac, na_frame, ALL_NODES},
    *,
};
use crate::packet::{Packet, Seen};

const ETH_IP: usize = 14 + 40;

fn dns(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, n)
}

/// An RA from router `n` (MAC and link-local address), with RDNSS `rdnss` and `pad` bytes of
/// unknown option (type 253) before it.
fn ra(n: u8, rdnss: Ipv6Addr, pad: usize) -> Frame {
    let m = mac(n);
    let mut options = vec![NdpOption::SourceLlAddr { addr: m }];
    if pad > 0 {
        options.push(NdpOption::Unknown {
            option_type: 253,
            data: vec![0; pad - 2],
        });
    }
    options.push(NdpOption::Mtu { mtu: 1500 });
    options.push(NdpOption::PrefixInfo {
        prefix: Prefix {
            addr: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0),
            len: 64,
        },
        on_link: true,
        autonomous: true,
        router_addr: false,
        dhcpv6_pd: false,
        reserved_flags: 0,
        valid_lifetime: 86400,
        preferred_lifetime: 14400,
    });
    options.push(NdpOption::Rdnss {
        lifetime: 600,
        servers: vec![rdnss],
    });
    Frame::new(
        m,
        EthernetAddress(addr::multicast_mac(&ALL_NODES)),
        ll(n.into()),
        ALL_NODES,
        255,
        Icmpv6Repr::new(
            mt::ROUTER_ADVERT,
            0,
            Message::RouterAdvert {
                cur_hop_limit: 64,
                managed: false,
                other: false,
                home_agent: false,
                preference: Preference::Medium,
                proxy: false,
                reserved_flags: 0,
                router_lifetime: 1800,
                reachable_time: 0,
                retrans_timer: 0,
                options: Options::from(options),
            },
        ),
    )
}

/// A solicited NA for `target` from its owner `m`.
fn na(m: EthernetAddress, target: Ipv6Addr) -> Frame {
    na_frame(m, target, target, (false, true, false), Some(m))
}

/// A destination-options header of `len` bytes (a multiple of 8, at most 2048) announcing
/// `next`, its option area one PadN option (or several, past 257 bytes).
fn dest_opts(next: u8, len: usize) -> Vec<u8> {
    assert!(len.is_multiple_of(8) && (8..=2048).contains(&len));
    let mut h = vec![next, (len / 8 - 1) as u8];
    let mut left = len - 2;
    while left > 0 {
        if left == 1 {
            h.push(0); // Pad1
            left = 0;
        } else {
            let n = (left - 2).min(255);
            h.push(1);
            h.push(n as u8);
            h.extend(std::iter::repeat_n(0, n));
            left -= n + 2;
        }
    }
    h
}

/// `frame`'s bytes with `headers` destination-options headers of `len` bytes each between
/// the IPv6 header and the message (payload length and next headers set).
fn behind_options(frame: &Frame, headers: usize, len: usize) -> Vec<u8> {
    let whole = frame.to_bytes();
    let (head, body) = whole.split_at(ETH_IP);
    let mut out = head.to_vec();
    let mut next = head[20];
    let mut chain = Vec::new();
    for _ in 0..headers {
        let mut h = dest_opts(next, len);
        h.extend_from_slice(&chain);
        chain = h;
        next = nh::DEST_OPTS;
    }
    out[20] = next;
    out.extend_from_slice(&chain);
    out.extend_from_slice(body);
    let payload = (out.len() - ETH_IP) as u16;
    out[18..20].copy_from_slice(&payload.to_be_bytes());
    out
}

/// Cuts an unfragmented frame into fragments of `size` bytes of fragmentable part (a multiple
/// of 8): everything after the IPv6 header is fragmentable (as in `ra6 -u`, whose options
/// header goes into the fragments).
fn fragments(whole: &[u8], size: usize, id: u32) -> Vec<Vec<u8>> {
    assert_eq!(size % 8, 0);
    let (head, body) = whole.split_at(ETH_IP);
    let next = head[20];
    let n = body.len().div_ceil(size);
    (0..n)
        .map(|i| {
            let part = &body[i * size..((i + 1) * size).min(body.len())];
            fragment(head, next, i * size, i + 1 < n, id, part)
        })
        .collect()
}

fn fragment(head: &[u8], next: u8, offset: usize, more: bool, id: u32, part: &[u8]) -> Vec<u8> {
    let mut f = head.to_vec();
    f[20] = nh::FRAGMENT;
    f[18..20].copy_from_slice(&((8 + part.len()) as u16).to_be_bytes());
    f.push(next);
    f.push(0);
    f.extend_from_slice(&(((offset / 8) as u16) << 3 | u16::from(more)).to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(part);
    f
}

struct H {
    e: Engine,
    all: Vec<Alert>,
    whole: Vec<Packet>,
}

impl H {
    /// An engine that learned routers 8 and 9 and one neighbour.
    fn learned() -> Self {
        let mut h = Self {
            e: Engine::new(
                Config {
                    learn: Duration::from_secs(10),
                    ..Default::default()
                },
                None,
            ),
            all: vec![],
            whole: vec![],
        };
        h.feed(&ra(9, dns(1), 0).to_bytes(), 0);
        h.feed(&ra(8, dns(1), 0).to_bytes(), 1000);
        h.feed(&na(mac(1), ll(1)).to_bytes(), 2000);
        // Past the learning period.
        h.feed(&ra(9, dns(1), 0).to_bytes(), 11_000);
        assert!(h.all.is_empty(), "{:?}", h.codes());
        h
    }

    /// One frame's bytes, decoded as the monitor decodes a kernel record.
    fn feed(&mut self, bytes: &[u8], ms: u64) -> Vec<&'static str> {
        let frame = Frame::parse_fragment(bytes).expect("crafted frame decodes");
        let p = Packet::new(
            Seen {
                frame: None,
                ts: at(0),
                iface: Some("eth0".into()),
                dir: Some("ingress"),
                hook: "xdp",
            },
            frame,
        );
        let mut out = Vec::new();
        if let Some(w) = self.e.observe_frame_into(bytes, &p, at(ms), &mut out) {
            self.whole.push(w);
        }
        self.all.extend(out.iter().cloned());
        out.iter().map(|a| a.code.code()).collect()
    }

    fn codes(&self) -> Vec<&'static str> {
        self.all.iter().map(|a| a.code.code()).collect()
    }

    fn count(&self, code: &str) -> usize {
        self.all.iter().filter(|a| a.code.code() == code).count()
    }

    fn first(&self, code: &str) -> &Alert {
        self.all
            .iter()
            .find(|a| a.code.code() == code)
            .unwrap_or_else(|| panic!("no {code} in {:?}", self.codes()))
    }

    /// (routers, neighbours) known.
    fn state(&self) -> (usize, usize) {
        let s = self.e.stats();
        (s.routers, s.neighbors)
    }
}

#[test]
fn a_rogue_ra_in_fragments_is_reassembled_and_judged_rogue_without_being_learned() {
    let mut h = H::learned();
    let before = h.state();
    let frags = fragments(&ra(66, dns(66), 0).to_bytes(), 32, 0x1234);
    assert!(frags.len() >= 3);
    for (i, f) in frags.iter().enumerate() {
        h.feed(f, 12_000 + i as u64);
    }
    assert_eq!(h.whole.len(), 1, "{:?}", h.codes());
    let w = &h.whole[0];
    assert_eq!(
        w.reassembled.map(|r| (r.id, r.fragments as usize)),
        Some((0x1234, frags.len()))
    );
    assert_eq!(w.frame.checksum_ok, Some(true));
    assert!(h.count("ra_rogue") == 1, "{:?}", h.codes());
    assert!(h.count("ndp_fragmented") >= 1, "{:?}", h.codes());
    assert!(matches!(
        h.first("ra_rogue").evidence.detail,
        Detail::Rogue { .. }
    ));
    // Untrusted: no router, no binding learned from it.
    assert_eq!(h.state(), before);
    let s = h.e.stats().reassembly;
    assert_eq!(
        (s.fragments, s.reassembled, s.held),
        (frags.len() as u64, 1, 0)
    );
}

#[test]
fn a_known_routers_ra_in_fragments_with_another_rdnss_is_a_change() {
    let mut h = H::learned();
    for (i, f) in fragments(&ra(9, dns(66), 0).to_bytes(), 48, 7)
        .iter()
        .enumerate()
    {
        h.feed(f, 12_000 + i as u64);
    }
    assert_eq!(h.count("ra_params_changed"), 1, "{:?}", h.codes());
    assert_eq!(h.count("ra_rogue"), 0, "{:?}", h.codes());
    // The baseline did not move: the same RA unfragmented is a change too (past the repeat
    // interval, so it is printed).
    h.feed(&ra(9, dns(66), 0).to_bytes(), 45_000);
    assert_eq!(h.count("ra_params_changed"), 2, "{:?}", h.codes());
}

#[test]
fn ra6_u256_y64_first_fragment_with_only_options_is_flagged_and_the_ra_judged() {
    let mut h = H::learned();
    let whole = behind_options(&ra(66, dns(66), 0), 1, 256);
    let frags = fragments(&whole, 64, 0xabcd);
    // The first fragment holds only part of the options header: no ICMPv6 header in it.
    let first = Frame::parse_fragment(&frags[0]).unwrap();
    assert!(first.icmp6.is_none());
    assert_eq!(first.no_message(), "fragment");
    for (i, f) in frags.iter().enumerate() {
        h.feed(f, 12_000 + i as u64);
    }
    for code in [
        "fragment_incomplete_header_chain",
        "ndp_with_extension_headers",
        "ndp_fragmented",
        "ra_rogue",
    ] {
        assert_eq!(h.count(code), 1, "{code}: {:?}", h.codes());
    }
    let a = h.first("fragment_incomplete_header_chain");
    assert_eq!(a.severity, Severity::High);
    assert!(matches!(
        &a.evidence.detail,
        Detail::IncompleteChain { frag, chain_end: "truncated_chain", .. }
            if frag.id == 0xabcd && frag.offset == 0 && frag.more
    ));
    let v = serde_json::to_value(a).unwrap();
    assert_eq!(v["evidence"]["frag"]["id"], 0xabcd);
}

#[test]
fn overlapping_fragments_are_an_alert_and_assemble_nothing() {
    let mut h = H::learned();
    let whole = ra(66, dns(66), 0).to_bytes();
    let frags = fragments(&whole, 32, 99);
    let (head, body) = whole.split_at(ETH_IP);
    h.feed(&frags[0], 12_000);
    // Bytes 16..48 again, with other content: overlaps the first fragment's 0..32.
    let mut other = body[16..48].to_vec();
    other[0] ^= 0xff;
    h.feed(&fragment(head, head[20], 16, true, 99, &other), 12_001);
    for f in &frags[1..] {
        h.feed(f, 12_002);
    }
    assert_eq!(h.count("fragment_overlap"), 1, "{:?}", h.codes());
    let a = h.first("fragment_overlap");
    assert!(matches!(
        a.evidence.detail,
        Detail::FragmentOverlap { frag_id: 99, overlap } if overlap.held == (0, 32) && overlap.arrived == (16, 48)
    ));
    // The datagram was dropped: the later fragments start a new one that never completes.
    assert!(h.whole.is_empty());
    assert_eq!(h.count("ra_rogue"), 0);
    assert_eq!(h.e.stats().reassembly.discarded.get("overlap"), Some(&1));
}

#[test]
fn header_chains_longer_than_the_kernel_walks_are_an_alert_and_still_judged() {
    let mut h = H::learned();
    // Nine and sixteen headers: walked by the kernel, an RA behind options, judged.
    for (i, n) in [9usize, 16].into_iter().enumerate() {
        let codes = h.feed(&behind_options(&ra(60 + i as u8, dns(1), 0), n, 8), 12_000);
        assert!(
            codes.contains(&"ndp_with_extension_headers"),
            "{n}: {codes:?}"
        );
        assert!(codes.contains(&"ra_rogue"), "{n}: {codes:?}");
        assert!(
            !codes.contains(&"ndp_header_chain_too_long"),
            "{n}: {codes:?}"
        );
    }
    // Seventeen: longer than the kernel walks.
    let codes = h.feed(&behind_options(&ra(70, dns(1), 0), 17, 8), 13_000);
    for code in [
        "ndp_header_chain_too_long",
        "ndp_with_extension_headers",
        "ra_rogue",
    ] {
        assert!(codes.contains(&code), "{code}: {codes:?}");
    }
    assert!(matches!(
        h.first("ndp_header_chain_too_long").evidence.detail,
        Detail::LongChain {
            ext_count: 17,
            kernel_walks: 16,
            chain_end: "icmpv6",
            ..
        }
    ));
    // One 304-byte options header: an ordinary chain of one.
    let codes = h.feed(&behind_options(&ra(71, dns(1), 0), 1, 304), 14_000);
    assert!(codes.contains(&"ndp_with_extension_headers"), "{codes:?}");
    assert!(codes.contains(&"ra_rogue"), "{codes:?}");
}

#[test]
fn a_truncated_ra_is_compared_as_far_as_captured_and_changes_nothing() {
    let mut h = H::learned();
    // The known router's RA padded with 1,200 bytes: captured whole, the new RDNSS is a change.
    let padded = ra(9, dns(66), 1200).to_bytes();
    let codes = h.feed(&padded, 12_000);
    assert_eq!(codes, ["ra_params_changed"]);
    // Cut after the padding, before the RDNSS: nothing visible changed, but it could not be
    // compared in full.
    let rdnss_at = padded.len() - 24;
    let codes = h.feed(&padded[..rdnss_at], 12_100);
    assert_eq!(codes, ["ndp_truncated"]);
    let a = h.first("ndp_truncated");
    assert_eq!(a.severity, Severity::Medium);
    assert!(matches!(
        a.evidence.detail,
        Detail::Truncated { icmp6_captured, .. } if icmp6_captured == rdnss_at - ETH_IP
    ));
    // Cut inside the RDNSS option: an option running past the end is not parsed, so it is the
    // header values and the options before the cut that are compared.
    let mut cut_mtu = ra(9, dns(1), 1200);
    if let Some(Icmpv6Repr {
        message: Message::RouterAdvert { options, .. },
        ..
    }) = cut_mtu.icmp6.as_mut()
    {
        options.list.retain(|o| !matches!(o, NdpOption::Mtu { .. }));
        options.list.insert(1, NdpOption::Mtu { mtu: 1280 });
    }
    let b = cut_mtu.to_bytes();
    // Past the repeat interval of the first change alert.
    h.feed(&b[..b.len() - 24], 45_000);
    assert_eq!(h.count("ra_params_changed"), 2, "{:?}", h.codes());
    let last = h
        .all
        .iter()
        .rev()
        .find(|a| a.code.code() == "ra_params_changed");
    assert!(
        last.is_some_and(|a| a.message.contains("mtu")),
        "{:?}",
        last
    );
    // A truncated NA of a new neighbour creates no binding.
    let before = h.state();
    let n = na(mac(40), ll(40)).to_bytes();
    let codes = h.feed(&n[..n.len() - 4], 46_000);
    assert_eq!(codes, ["ndp_truncated"]);
    assert_eq!(h.state(), before);
}

#[test]
fn a_bad_checksum_is_an_alert_and_changes_nothing() {
    let mut h = H::learned();
    let before = h.state();
    let mut n = na(mac(40), ll(40)).to_bytes();
    n[ETH_IP + 2] ^= 0x55;
    assert_eq!(h.feed(&n, 12_000), ["ndp_checksum_invalid"]);
    let mut r = ra(66, dns(66), 0).to_bytes();
    r[ETH_IP + 3] ^= 0x55;
    // A host drops it: not judged as a rogue RA either.
    assert_eq!(h.feed(&r, 12_001), ["ndp_checksum_invalid"]);
    assert_eq!(h.state(), before);
    // The same NA intact is a new neighbour.
    n[ETH_IP + 2] ^= 0x55;
    assert_eq!(h.feed(&n, 12_002), ["neighbor_new"]);
}

#[test]
fn benign_traffic_allocates_no_reassembly_state() {
    let mut h = H::learned();
    for i in 0..100u16 {
        h.feed(&na(mac(1), ll(1)).to_bytes(), 12_000 + u64::from(i));
    }
    let s = h.e.stats().reassembly;
    assert_eq!((s.fragments, s.held, s.held_bytes), (0, 0, 0));
    assert!(h.all.is_empty(), "{:?}", h.codes());
}
