//! Golden JSON: the `eth`/`ip6`/`icmp6`/`truncated` object and the findings of a set of frames
//! (every scapy vector, and hand-made variants for each option kind, malformed options, walk
//! errors, short and unknown messages, bad and unverifiable checksums), byte for byte. The file
//! testdata/golden.jsonl was written by the decoder before the codec moved to one module per
//! option and a borrowed parse; any change to the output shows here.
extern crate std;
use alloc::{format, string::String, vec, vec::Vec};

use super::vectors::*;
use super::{checksum, Frame};

/// Sets the IPv6 payload length of an untagged frame and recomputes its ICMPv6 checksum.
fn fixed(mut f: Vec<u8>) -> Vec<u8> {
    let plen = (f.len() - 54) as u16;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    f[56] = 0;
    f[57] = 0;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&f[22..38]);
    dst.copy_from_slice(&f[38..54]);
    let c = checksum::compute(&src.into(), &dst.into(), 58, &f[54..]);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f
}

fn with_options(base: &[u8], opts: &[&[u8]]) -> Vec<u8> {
    let mut f = base.to_vec();
    for o in opts {
        f.extend_from_slice(o);
    }
    fixed(f)
}

pub(crate) fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("ns", NS.to_vec()),
        ("ns_dad", NS_DAD.to_vec()),
        ("na", NA.to_vec()),
        ("rs", RS.to_vec()),
        ("ra", RA.to_vec()),
        ("redirect", REDIRECT.to_vec()),
        ("dest_unreach", DEST_UNREACH.to_vec()),
        ("pkt_too_big", PKT_TOO_BIG.to_vec()),
        ("time_exceeded", TIME_EXCEEDED.to_vec()),
        ("param_problem", PARAM_PROBLEM.to_vec()),
        ("echo_request", ECHO_REQUEST.to_vec()),
        ("ns_vlan_hbh_frag", NS_VLAN_HBH_FRAG.to_vec()),
    ];
    let mut bad = NS.to_vec();
    bad[56] ^= 0xff;
    v.push(("ns_bad_checksum", bad));
    v.push(("ns_capture_cut", NS[..80].to_vec()));
    // Captive portal, PREF64, nonce, unknown type, and malformed known types.
    let mut cp = vec![37u8, 4];
    cp.extend_from_slice(b"https://portal.example/");
    cp.resize(32, 0);
    let w: u16 = (225 << 3) | 1;
    let mut p64 = vec![38u8, 2];
    p64.extend_from_slice(&w.to_be_bytes());
    p64.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0x64, 0, 0, 0, 0, 0, 0]);
    let nonce = [14u8, 1, 1, 2, 3, 4, 5, 6];
    let unknown = [200u8, 1, 9, 9, 9, 9, 9, 9];
    let mtu_bad = [5u8, 2, 0, 0, 0, 0, 5, 0xdc, 0, 0, 0, 0, 0, 0, 0, 0];
    let lla_bad = [1u8, 2, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let dnssl_bad = [31u8, 2, 0, 0, 0, 0, 0, 60, 70, b'a', 0, 0, 0, 0, 0, 0];
    // Labels with a dot, a backslash and a control byte inside, escaped in the text.
    let dnssl_esc = [
        31u8, 3, 0, 0, 0, 0, 0, 60, 3, b'a', b'.', b'b', 3, b'c', b'\\', 1, 0, 2, b'o', b'k', 0, 0,
        0, 0,
    ];
    let rio = [
        24u8, 3, 56, 0x18, 0, 0, 0x0e, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0x42, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ];
    let pref64_bad = [38u8, 2, 0, 7, 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
    let flags_ext = [26u8, 1, 0x80, 0, 0, 0, 0, 1];
    let mut rh = vec![4u8, 6, 0, 0, 0, 0, 0, 0];
    rh.extend_from_slice(&NS[14..54]);
    v.push((
        "ra_more_options",
        with_options(
            &RA,
            &[
                &cp,
                &p64,
                &nonce,
                &unknown,
                &mtu_bad,
                &lla_bad,
                &dnssl_bad,
                &dnssl_esc,
                &rio,
                &pref64_bad,
                &flags_ext,
                &rh,
            ],
        ),
    ));
    v.push((
        "ra_zero_length_option",
        with_options(&RA, &[&[3u8, 0, 0, 0, 0, 0, 0, 0]]),
    ));
    v.push((
        "ra_option_past_end",
        with_options(&RA, &[&[3u8, 4, 64, 0xc0, 0, 0, 0, 0]]),
    ));
    v.push(("ra_option_header_cut", with_options(&RA, &[&[3u8]])));
    v.push(("ns_short", fixed(NS[..66].to_vec())));
    let mut other = NS[..54].to_vec();
    other.extend_from_slice(&[200, 3, 0, 0, 1, 2]);
    v.push(("unknown_type", fixed(other)));
    let mut reply = ECHO_REQUEST.to_vec();
    reply[54] = 129;
    v.push(("echo_reply", fixed(reply)));
    let mut na_mcast = NA.to_vec();
    na_mcast[38..54].copy_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    na_mcast[21] = 64;
    v.push(("na_solicited_to_multicast_hlim_64", fixed(na_mcast)));
    v
}

pub(crate) fn lines() -> String {
    let mut out = String::new();
    for (name, bytes) in cases() {
        let line = match Frame::parse(&bytes) {
            Ok(f) => format!(
                "{name} {} {}\n",
                serde_json::to_string(&f).unwrap(),
                serde_json::to_string(&f.validate()).unwrap()
            ),
            Err(e) => format!("{name} error {e}\n"),
        };
        out.push_str(&line);
    }
    out
}

#[test]
fn json_is_byte_identical_to_the_golden_file() {
    let got = lines();
    let want = include_str!("testdata/golden.jsonl");
    for (g, w) in got.lines().zip(want.lines()) {
        assert_eq!(g, w);
    }
    assert_eq!(got.lines().count(), want.lines().count());
}
