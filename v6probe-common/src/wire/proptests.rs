//! Property tests: random RA / NS / NA with random options survive emit -> parse unchanged,
//! and random bytes behind valid headers never make the decoder or validator panic.
extern crate std;
use alloc::{string::String, vec};
use core::net::Ipv6Addr;

use proptest::prelude::*;

use super::ndisc_option::Preference;
use super::*;

fn addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}
fn mac() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}
fn pref() -> impl Strategy<Value = Preference> {
    (0u8..4).prop_map(Preference::from_bits)
}
fn cut(a: Ipv6Addr, bytes: usize) -> Ipv6Addr {
    let mut o = a.octets();
    o[bytes..].fill(0);
    Ipv6Addr::from(o)
}
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,12}"
}
fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
}
fn names_len(d: &[String]) -> usize {
    d.iter().map(|n| n.len() + 2).sum()
}

fn option() -> impl Strategy<Value = NdpOption> {
    prop_oneof![
        mac().prop_map(|addr| NdpOption::SourceLlAddr { addr }),
        mac().prop_map(|addr| NdpOption::TargetLlAddr { addr }),
        (
            addr(),
            0u8..=128,
            any::<[bool; 4]>(),
            0u8..16,
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(a, len, f, r, v, p)| NdpOption::PrefixInfo {
                prefix: Prefix { addr: a, len },
                on_link: f[0],
                autonomous: f[1],
                router_addr: f[2],
                dhcpv6_pd: f[3],
                reserved_flags: r,
                valid_lifetime: v,
                preferred_lifetime: p,
            }),
        any::<u32>().prop_map(|mtu| NdpOption::Mtu { mtu }),
        (0usize..3, any::<[u8; 22]>()).prop_map(|(k, b)| NdpOption::Nonce {
            nonce: b[..6 + 8 * k].to_vec()
        }),
        (addr(), 0u8..=128, 1u8..=3, pref(), any::<u32>()).prop_map(|(a, len, l, p, t)| {
            NdpOption::RouteInfo {
                prefix: Prefix {
                    addr: cut(a, (l as usize - 1) * 8),
                    len,
                },
                preference: p,
                route_lifetime: t,
                length: l,
            }
        }),
        (any::<u32>(), prop::collection::vec(addr(), 1..4))
            .prop_map(|(lifetime, servers)| NdpOption::Rdnss { lifetime, servers }),
        (0u64..1 << 48).prop_map(|bits| NdpOption::RaFlagsExt { bits }),
        (any::<u32>(), prop::collection::vec(domain(), 1..4)).prop_map(|(lifetime, domains)| {
            let length = (8 + names_len(&domains)).div_ceil(8) as u8;
            NdpOption::Dnssl {
                lifetime,
                domains,
                length,
            }
        }),
        "[!-~]{1,60}".prop_map(|uri| {
            let length = (2 + uri.len()).div_ceil(8) as u8;
            NdpOption::CaptivePortal { uri, length }
        }),
        (
            addr(),
            prop::sample::select(vec![96u8, 64, 56, 48, 40, 32]),
            0u16..8192
        )
            .prop_map(|(a, len, sl)| NdpOption::Pref64 {
                prefix: Prefix {
                    addr: cut(a, 12),
                    len
                },
                lifetime: sl * 8,
            }),
        (100u8..=255, 0usize..3, any::<[u8; 22]>()).prop_map(|(t, k, b)| NdpOption::Unknown {
            option_type: t,
            data: b[..6 + 8 * k].to_vec(),
        }),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    prop::collection::vec(option(), 0..8).prop_map(Options::from)
}

fn message() -> impl Strategy<Value = Icmpv6Repr> {
    prop_oneof![
        (
            any::<u8>(),
            any::<[bool; 4]>(),
            pref(),
            0u8..4,
            any::<(u16, u32, u32)>(),
            options()
        )
            .prop_map(|(hl, f, p, r, (lt, reach, retr), options)| Icmpv6Repr::new(
                134,
                0,
                Message::RouterAdvert {
                    cur_hop_limit: hl,
                    managed: f[0],
                    other: f[1],
                    home_agent: f[2],
                    preference: p,
                    proxy: f[3],
                    reserved_flags: r,
                    router_lifetime: lt,
                    reachable_time: reach,
                    retrans_timer: retr,
                    options,
                }
            )),
        (any::<u32>(), addr(), options()).prop_map(|(reserved, target, options)| {
            Icmpv6Repr::new(
                135,
                0,
                Message::NeighborSolicit {
                    reserved,
                    target,
                    options,
                },
            )
        }),
        (any::<[bool; 3]>(), 0u32..1 << 29, addr(), options()).prop_map(
            |(f, reserved, target, options)| Icmpv6Repr::new(
                136,
                0,
                Message::NeighborAdvert {
                    router: f[0],
                    solicited: f[1],
                    override_: f[2],
                    reserved,
                    target,
                    options,
                }
            )
        ),
    ]
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.

    #[test]
    fn ndp_roundtrip(m in message(), src in addr(), dst in addr(), hl in any::<u8>(), a in mac(), b in mac()) {
        let f = Frame::new(a, b, src, dst, hl, m.clone());
        let bytes = f.to_bytes();
        let g = Frame::parse(&bytes).unwrap();
        let got = g.icmp6.clone().unwrap();
        prop_assert_eq!(g.checksum_ok, Some(true));
        prop_assert_eq!(&got.message, &m.message);
        prop_assert_eq!(got.options().and_then(|o| o.error), None);
        // Emit again: the same bytes.
        prop_assert_eq!(g.to_bytes(), bytes);
        let _ = g.validate();
    }

    #[test]
    fn random_icmpv6_never_panics(t in prop::sample::select(vec![1u8, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137, 200]),
                                  body in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut msg = vec![t, 0, 0, 0];
        msg.extend_from_slice(&body);
        let m = Icmpv6Repr::new(t, 0, Message::Other { data_len: body.len(), data: body.clone() });
        let f = Frame::new(EthernetAddress([2, 0, 0, 0, 0, 1]), EthernetAddress([2, 0, 0, 0, 0, 2]),
            "fe80::1".parse().unwrap(), "ff02::1".parse().unwrap(), 255, m);
        let bytes = f.to_bytes();
        if let Ok(g) = Frame::parse(&bytes) {
            let _ = g.validate();
            let _ = g.to_bytes();
            #[cfg(feature = "serde")]
            let _ = serde_json::to_string(&g).unwrap();
        }
        let _ = Options::parse(&body);
    }

    #[test]
    fn random_frames_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(g) = Frame::parse(&bytes) {
            let _ = g.validate();
        }
    }
}

fn vector() -> impl Strategy<Value = &'static [u8]> {
    use super::vectors::*;
    prop::sample::select(vec![
        &NS[..],
        &NS_DAD,
        &NA,
        &RS,
        &RA,
        &REDIRECT,
        &DEST_UNREACH,
        &PKT_TOO_BIG,
        &TIME_EXCEEDED,
        &PARAM_PROBLEM,
        &ECHO_REQUEST,
        &NS_VLAN_HBH_FRAG,
    ])
}

proptest! {
    /// Mutated real vectors (random byte overwrites, then a random cut) never make the decoder,
    /// validator, serializer or emitter panic, and what decodes re-emits to something that
    /// decodes again.
    #[test]
    fn mutated_vectors_never_panic(v in vector(),
                                   edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                                   cut in any::<prop::sample::Index>()) {
        let mut b = v.to_vec();
        for (i, x) in edits {
            let at = i.index(b.len());
            b[at] = x;
        }
        let n = cut.index(b.len() + 1);
        for bytes in [&b[..], &b[..n]] {
            if let Ok(f) = Frame::parse(bytes) {
                let _ = f.validate();
                #[cfg(feature = "serde")]
                let _ = serde_json::to_string(&f).unwrap();
                if f.icmp6.is_some() {
                    let again = f.to_bytes();
                    prop_assert!(Frame::parse(&again).is_ok());
                }
            }
        }
    }
}
