//! The reassembler on plain values: RFC 8200 4.5, RFC 5722 and RFC 7112 cases. Frames are
//! built here byte by byte (Ethernet, IPv6, per-fragment headers, fragment header, data), so
//! the tests do not lean on the code under test to make their input.
use std::net::Ipv6Addr;

use v6probe_common::{
    abi::next_header as nh,
    wire::{
        addr, icmpv6::msg_type as mt, ndisc_option::Preference, EthernetAddress, Frame, Icmpv6Repr,
        Message, Options,
    },
};

use super::*;

const S: u64 = 1_000_000_000;
const SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x66);
const DST: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Ethernet + IPv6 header for `payload_len` bytes of payload starting with `next`.
fn ip_head(next: u8, payload_len: usize) -> Vec<u8> {
    let mut b = vec![
        0x33, 0x33, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0x66, 0x86, 0xdd, // Ethernet
        0x60, 0, 0, 0,
    ];
    b.extend_from_slice(&(payload_len as u16).to_be_bytes());
    b.push(next);
    b.push(255);
    b.extend_from_slice(&SRC.octets());
    b.extend_from_slice(&DST.octets());
    b
}

/// One fragment: `per_fragment` headers (their first byte is set to announce the fragment
/// header; the IPv6 header announces the first of them), the fragment header, `data`.
fn frag(per_fragment: &[u8], next: u8, offset: usize, more: bool, id: u32, data: &[u8]) -> Vec<u8> {
    let len = per_fragment.len() + 8 + data.len();
    let first = if per_fragment.is_empty() {
        nh::FRAGMENT
    } else {
        nh::HOP_BY_HOP
    };
    let mut b = ip_head(first, len);
    let mut pf = per_fragment.to_vec();
    if !pf.is_empty() {
        pf[0] = nh::FRAGMENT;
    }
    b.extend_from_slice(&pf);
    assert_eq!(offset % 8, 0);
    let w = ((offset / 8) as u16) << 3 | u16::from(more);
    b.push(next);
    b.push(0);
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(data);
    b
}

/// `len` bytes of a recognisable pattern.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// `whole` split into pieces of `size` bytes (a multiple of 8), as fragments of `id`.
fn split(next: u8, whole: &[u8], size: usize, id: u32) -> Vec<Vec<u8>> {
    let n = whole.len().div_ceil(size);
    (0..n)
        .map(|i| {
            let end = ((i + 1) * size).min(whole.len());
            frag(&[], next, i * size, i + 1 < n, id, &whole[i * size..end])
        })
        .collect()
}

fn complete(p: Pushed) -> Reassembled {
    match p.outcome {
        Outcome::Complete(r) => r,
        o => panic!("expected a complete packet, got {o:?}"),
    }
}

/// The unfragmented frame `whole` would have been.
fn original(next: u8, whole: &[u8]) -> Vec<u8> {
    let mut b = ip_head(next, whole.len());
    b.extend_from_slice(whole);
    b
}

#[test]
fn in_order_fragments_give_the_original_packet() {
    let mut r = Reassembler::default();
    let whole = data(1000);
    let frags = split(nh::UDP, &whole, 304, 7);
    assert_eq!(frags.len(), 4);
    for f in &frags[..3] {
        assert_eq!(r.push(0, 0, f).outcome, Outcome::Held);
    }
    let p = complete(r.push(0, 1, &frags[3]));
    assert_eq!(p.bytes, original(nh::UDP, &whole));
    assert_eq!(p.fragments, 4);
    assert_eq!(p.key.id, 7);
    assert_eq!((p.key.src, p.key.dst), (SRC, DST));
    assert_eq!(r.held(), 0);
    assert_eq!(r.held_bytes(), 0);
    let s = r.stats();
    assert_eq!((s.fragments, s.reassembled), (4, 1));
}

#[test]
fn out_of_order_fragments_give_the_same_packet() {
    let whole = data(777);
    let frags = split(nh::ICMPV6, &whole, 200, 9);
    for order in [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]] {
        let mut r = Reassembler::default();
        for &i in &order[..3] {
            assert_eq!(r.push(0, 0, &frags[i]).outcome, Outcome::Held, "{order:?}");
        }
        let p = complete(r.push(0, 0, &frags[order[3]]));
        assert_eq!(p.bytes, original(nh::ICMPV6, &whole), "{order:?}");
    }
}

#[test]
fn an_exact_duplicate_is_dropped_alone() {
    let mut r = Reassembler::default();
    let whole = data(400);
    let frags = split(nh::UDP, &whole, 200, 1);
    assert_eq!(r.push(0, 0, &frags[0]).outcome, Outcome::Held);
    assert_eq!(
        r.push(0, 0, &frags[0]).outcome,
        Outcome::Discarded(Discard::Duplicate)
    );
    let p = complete(r.push(0, 0, &frags[1]));
    assert_eq!(p.bytes, original(nh::UDP, &whole));
    assert_eq!(r.stats().discarded.get("duplicate"), Some(&1));
}

#[test]
fn overlapping_fragments_drop_the_whole_datagram() {
    let mut r = Reassembler::default();
    let whole = data(400);
    let a = frag(&[], nh::ICMPV6, 0, true, 5, &whole[..200]);
    // Starts inside the first one (RFC 5722: the classic overwrite of the ICMPv6 header).
    let b = frag(&[], nh::ICMPV6, 192, false, 5, &whole[192..]);
    assert_eq!(r.push(0, 0, &a).outcome, Outcome::Held);
    let p = r.push(0, 0, &b);
    assert_eq!(
        p.outcome,
        Outcome::Discarded(Discard::Overlap(Overlap {
            held: (0, 200),
            arrived: (192, 400),
            same_range: false,
            fragments: 2,
        }))
    );
    assert_eq!(r.held(), 0);
    assert_eq!(r.held_bytes(), 0);
    // What comes after starts a new datagram, as in Linux: a clean set still completes.
    let c = frag(&[], nh::ICMPV6, 200, false, 5, &whole[200..]);
    assert_eq!(r.push(0, 0, &c).outcome, Outcome::Held);
    let p = complete(r.push(0, 0, &a));
    assert_eq!(p.bytes, original(nh::ICMPV6, &whole));
}

#[test]
fn a_later_fragment_overlapping_from_the_left_is_an_overlap_too() {
    let mut r = Reassembler::default();
    let whole = data(400);
    let b = frag(&[], nh::UDP, 200, false, 5, &whole[200..]);
    let a = frag(&[], nh::UDP, 0, true, 5, &whole[..208]);
    assert_eq!(r.push(0, 0, &b).outcome, Outcome::Held);
    let Outcome::Discarded(Discard::Overlap(o)) = r.push(0, 0, &a).outcome else {
        panic!("an overlap")
    };
    assert_eq!((o.held, o.arrived), ((200, 400), (0, 208)));
}

#[test]
fn the_same_range_with_other_bytes_is_an_overlap_not_a_duplicate() {
    let mut r = Reassembler::default();
    let whole = data(400);
    let a = frag(&[], nh::ICMPV6, 0, true, 5, &whole[..200]);
    let mut other = whole[..200].to_vec();
    other[0] = 134; // another ICMPv6 type in the same place
    let a2 = frag(&[], nh::ICMPV6, 0, true, 5, &other);
    assert_eq!(r.push(0, 0, &a).outcome, Outcome::Held);
    let Outcome::Discarded(Discard::Overlap(o)) = r.push(0, 0, &a2).outcome else {
        panic!("an overlap")
    };
    assert!(o.same_range);
    assert_eq!(o.fragments, 2);
}

#[test]
fn a_fragment_past_65535_bytes_is_dropped_alone() {
    let mut r = Reassembler::default();
    let last = frag(&[], nh::UDP, 65_528, false, 3, &data(16));
    assert_eq!(
        r.push(0, 0, &last).outcome,
        Outcome::Discarded(Discard::TooBig { len: 65_544 })
    );
    assert_eq!(r.held(), 0);
    // Exactly 65,535 bytes of payload is allowed.
    let ok = frag(&[], nh::UDP, 65_528, false, 3, &data(7));
    assert_eq!(r.push(0, 0, &ok).outcome, Outcome::Held);
}

#[test]
fn a_middle_fragment_not_a_multiple_of_8_is_dropped_alone() {
    let mut r = Reassembler::default();
    let f = frag(&[], nh::UDP, 0, true, 3, &data(100));
    assert_eq!(
        r.push(0, 0, &f).outcome,
        Outcome::Discarded(Discard::BadLength)
    );
    assert_eq!(r.held(), 0);
}

#[test]
fn ends_that_disagree_drop_the_datagram() {
    let whole = data(400);
    // Two last fragments with different ends.
    let mut r = Reassembler::default();
    let l1 = frag(&[], nh::UDP, 200, false, 4, &whole[200..]);
    let l2 = frag(&[], nh::UDP, 200, false, 4, &whole[200..392]);
    assert_eq!(r.push(0, 0, &l1).outcome, Outcome::Held);
    assert_eq!(
        r.push(0, 0, &l2).outcome,
        Outcome::Discarded(Discard::Inconsistent)
    );
    assert_eq!(r.held(), 0);
    // Data past the last fragment's end.
    let mut r = Reassembler::default();
    let past = frag(&[], nh::UDP, 400, true, 4, &data(8));
    assert_eq!(r.push(0, 0, &l1).outcome, Outcome::Held);
    assert_eq!(
        r.push(0, 0, &past).outcome,
        Outcome::Discarded(Discard::Inconsistent)
    );
    // An empty fragment.
    let mut r = Reassembler::default();
    let empty = frag(&[], nh::UDP, 8, true, 4, &[]);
    assert_eq!(
        r.push(0, 0, &empty).outcome,
        Outcome::Discarded(Discard::Inconsistent)
    );
    assert_eq!(r.held_bytes(), 0);
}

#[test]
fn a_datagram_is_abandoned_60_s_after_its_first_fragment() {
    let mut r = Reassembler::default();
    let whole = data(400);
    let frags = split(nh::UDP, &whole, 200, 8);
    assert_eq!(r.push(0, 0, &frags[0]).outcome, Outcome::Held);
    // 59.9 s later it still completes.
    let p = complete(r.push(0, 60 * S - 1, &frags[1]));
    assert_eq!(p.first_ns, 0);
    // Again, but the rest comes at 60 s: the first is gone, the second starts anew.
    assert_eq!(r.push(0, 100 * S, &frags[0]).outcome, Outcome::Held);
    assert_eq!(r.push(0, 160 * S, &frags[1]).outcome, Outcome::Held);
    assert_eq!(r.stats().timed_out, 1);
    assert_eq!(r.held(), 1);
    // Time passing alone abandons it too.
    r.expire(300 * S);
    assert_eq!(r.held(), 0);
    assert_eq!(r.held_bytes(), 0);
    assert_eq!(r.stats().timed_out, 2);
}

#[test]
fn memory_is_bounded_per_link_and_in_total_with_counted_evictions() {
    let limits = Limits {
        timeout: Duration::from_secs(60),
        link_bytes: 20_000,
        total_bytes: 50_000,
    };
    let mut r = Reassembler::new(limits);
    let first = |id: u32| frag(&[], nh::UDP, 0, true, id, &data(1000));
    // 100 incomplete datagrams on link 0: only about 20 kB of them stay.
    for id in 0..100 {
        assert_eq!(r.push(0, u64::from(id), &first(id)).outcome, Outcome::Held);
        assert!(r.held_bytes() <= limits.link_bytes);
    }
    let s = r.stats();
    assert!(s.evicted > 70, "{s:?}");
    assert_eq!(s.evicted as usize + s.held, 100);
    // The newest are the ones kept: the last one still completes.
    let last = frag(&[], nh::UDP, 1000, false, 99, &data(8));
    assert!(matches!(
        r.push(0, 200, &last).outcome,
        Outcome::Complete(_)
    ));
    // The oldest is gone: its last fragment starts a new datagram.
    let last0 = frag(&[], nh::UDP, 1000, false, 0, &data(8));
    assert_eq!(r.push(0, 201, &last0).outcome, Outcome::Held);
    // Other links fill up to the total bound; link 0 keeps what it had until then.
    for link in 1..10u16 {
        for id in 0..30 {
            r.push(link, 300, &first(id));
            assert!(r.held_bytes() <= limits.total_bytes);
        }
    }
    assert!(r.held_bytes() > limits.link_bytes);
}

#[test]
fn a_fragment_of_another_link_is_another_datagram() {
    let mut r = Reassembler::default();
    let whole = data(400);
    let frags = split(nh::UDP, &whole, 200, 2);
    assert_eq!(r.push(0, 0, &frags[0]).outcome, Outcome::Held);
    assert_eq!(r.push(1, 0, &frags[1]).outcome, Outcome::Held);
    assert_eq!(r.held(), 2);
    assert!(matches!(
        r.push(1, 0, &frags[0]).outcome,
        Outcome::Complete(_)
    ));
}

#[test]
fn an_atomic_fragment_and_a_plain_packet_are_not_held() {
    let mut r = Reassembler::default();
    let atomic = frag(&[], nh::ICMPV6, 0, false, 1, &data(24));
    assert_eq!(r.push(0, 0, &atomic).outcome, Outcome::Atomic);
    let plain = original(nh::ICMPV6, &data(24));
    assert_eq!(r.push(0, 0, &plain).outcome, Outcome::NotFragment);
    assert_eq!(r.held(), 0);
    assert_eq!(r.stats().fragments, 1);
}

#[test]
fn a_cut_fragment_cannot_be_placed() {
    let mut r = Reassembler::default();
    let mut f = frag(&[], nh::UDP, 0, true, 1, &data(200));
    f.truncate(f.len() - 50);
    assert_eq!(
        r.push(0, 0, &f).outcome,
        Outcome::Discarded(Discard::Unusable(Unusable::Truncated))
    );
}

/// An RA (router lifetime 1800, no options) from SRC to all nodes, with a valid checksum.
fn ra() -> Vec<u8> {
    let f = Frame::new(
        EthernetAddress([0x02, 0, 0, 0, 0, 0x66]),
        EthernetAddress(addr::multicast_mac(&DST)),
        SRC,
        DST,
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
                options: Options::default(),
            },
        ),
    );
    let b = f.to_bytes();
    b[14 + 40..].to_vec()
}

#[test]
fn a_first_fragment_with_only_options_is_flagged_and_the_ra_still_reassembled() {
    // As `ra6 -u 256 -y 64` sends it: a 256-byte destination-options header in front of the
    // RA, fragments of 64 bytes, so the first holds options only (RFC 7112).
    let mut whole = vec![0u8; 256];
    whole[0] = nh::ICMPV6;
    whole[1] = 31; // (31 + 1) * 8 = 256
    whole[2] = 1; // PadN
    whole[3] = 252;
    let ra = ra();
    whole.extend_from_slice(&ra);
    let frags = split(nh::DEST_OPTS, &whole, 64, 0xbeef);
    let mut r = Reassembler::default();
    let first = r.push(0, 0, &frags[0]);
    assert!(first.chain_incomplete);
    assert_eq!(first.outcome, Outcome::Held);
    for f in &frags[1..frags.len() - 1] {
        let p = r.push(0, 0, f);
        assert!(!p.chain_incomplete);
        assert_eq!(p.outcome, Outcome::Held);
    }
    let p = complete(r.push(0, 0, frags.last().unwrap()));
    let f = Frame::parse(&p.bytes).expect("the reassembled packet decodes");
    let m = f.icmp6.as_ref().expect("an ICMPv6 message");
    assert_eq!(u8::from(m.msg_type), mt::ROUTER_ADVERT);
    assert_eq!(f.checksum_ok, Some(true));
    assert_eq!(f.ip6.ext.headers().len(), 1);
    assert_eq!(f.ip6.frag(), None);
    assert_eq!(r.stats().chain_incomplete, 1);
}

#[test]
fn a_first_fragment_holding_too_little_of_the_upper_header_is_incomplete() {
    let ra = ra();
    // An 8-byte destination-options header announcing ICMPv6, then `n` bytes of the RA.
    let with = |n: usize| [vec![nh::ICMPV6, 0, 1, 4, 0, 0, 0, 0], ra[..n].to_vec()].concat();
    let incomplete = |n: usize, more: bool| {
        let f = frag(&[], nh::DEST_OPTS, 0, more, 1, &with(n));
        Fragment::parse(&f).unwrap().unwrap().chain_incomplete()
    };
    // Linux asks for the 8-byte ICMPv6 header in the first fragment.
    assert!(!incomplete(8, true));
    assert!(!incomplete(16, true));
    assert!(incomplete(4, true));
    assert!(incomplete(0, true));
    // A lone fragment (no more to come) is the whole packet, not an incomplete chain.
    assert!(!incomplete(0, false));
    // A later fragment is never the one to blame.
    let f = frag(&[], nh::DEST_OPTS, 64, true, 1, &with(0));
    assert!(!Fragment::parse(&f).unwrap().unwrap().chain_incomplete());
}

#[test]
fn per_fragment_headers_come_from_the_first_fragment() {
    // A hop-by-hop header in front of the fragment header: it stays, and announces what the
    // fragment header announced.
    let hbh = [0u8, 0, 1, 4, 0, 0, 0, 0];
    let whole = data(300);
    let a = frag(&hbh, nh::UDP, 0, true, 6, &whole[..200]);
    let b = frag(&hbh, nh::UDP, 200, false, 6, &whole[200..]);
    let mut r = Reassembler::default();
    assert_eq!(r.push(0, 0, &b).outcome, Outcome::Held);
    let p = complete(r.push(0, 0, &a));
    let mut want = ip_head(nh::HOP_BY_HOP, 8 + 300);
    let mut h = hbh;
    h[0] = nh::UDP;
    want.extend_from_slice(&h);
    want.extend_from_slice(&whole);
    assert_eq!(p.bytes, want);
}
