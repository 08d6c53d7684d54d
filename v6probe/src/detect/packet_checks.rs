//! Rules on the packet alone: rates (floods per link and class, per source MAC), hop limit,
//! bogon sources, extension headers, fragments, link-layer options that differ from the
//! Ethernet source, and packet-too-big below the IPv6 minimum MTU.
use std::net::Ipv6Addr;

use v6probe_common::{
    abi::next_header as nh,
    wire::{addr, Icmpv6Repr, Icmpv6Type, Message},
};

use super::{
    alert::{AlertCode, BogonReason, Detail, LlOption, MsgClass, Severity},
    config::Config,
    sink::{Cx, Mac, Sink, Subject, Target},
    table::{RateSlots, RateWindow},
};

/// What the header checks concluded about an NDP packet.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// The source address is one no NDP message of this type may come from.
    pub bogon: Option<BogonReason>,
    /// Hosts discard the packet (RFC 4861 6.1, 7.1: hop limit, code, checksum), or it is one
    /// fragment of a message judged once reassembled: no rule sees it, it changes no state.
    pub discarded: bool,
    /// Some hosts may accept the message, but it cannot be trusted to describe the link: a
    /// fragmented message (RFC 6980: Linux drops it, other stacks may not) or one whose
    /// checksum could not be checked (captured in part). The rules judge it (a rogue RA is
    /// still `ra_rogue`) but it changes no state: no binding, router or baseline.
    pub untrusted: bool,
}

/// Rate windows and the per-packet rules.
pub struct PacketChecks {
    /// Per link, per message class.
    class_rates: Vec<[RateWindow; MsgClass::COUNT]>,
    sources: RateSlots<(u16, Mac)>,
    flood_per_sec: [u32; MsgClass::COUNT],
    flood_per_source_per_sec: u32,
}

/// Why `src` may not send a message of type `ty`.
pub fn bogon(ty: Icmpv6Type, src: &Ipv6Addr) -> Option<BogonReason> {
    let o = src.octets();
    if src.is_multicast() {
        Some(BogonReason::Multicast)
    } else if src.is_loopback() {
        Some(BogonReason::Loopback)
    } else if o[..12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
        Some(BogonReason::Ipv4Mapped)
    } else if src.is_unspecified() {
        matches!(
            ty,
            Icmpv6Type::NeighborAdvert | Icmpv6Type::RouterAdvert | Icmpv6Type::Redirect
        )
        .then_some(BogonReason::Unspecified)
    } else if matches!(ty, Icmpv6Type::RouterAdvert | Icmpv6Type::Redirect)
        && !addr::is_link_local(src)
    {
        Some(BogonReason::NotLinkLocal)
    } else {
        None
    }
}

/// `ndp_ethernet_mismatch` when the link-layer option `ll` differs from the Ethernet source.
pub fn ll_mismatch(cx: &Cx, sink: &mut Sink, ll: Option<Mac>, opt: LlOption) {
    let eth_src = cx.eth_src();
    let Some(ll) = ll else { return };
    if ll == eth_src {
        return;
    }
    let src = cx.src();
    sink.raise(
        cx,
        AlertCode::NdpEthernetMismatch,
        Severity::Medium,
        cx.sent(),
        |a| {
            a.message = format!(
                "{} {ll} differs from the Ethernet source {eth_src} (from {src})",
                opt.as_str()
            );
            a.address = Some(src);
            a.mac = Some(ll);
            a.evidence.detail = opt.detail(ll);
        },
    );
}

impl PacketChecks {
    pub fn new(cfg: &Config) -> Self {
        Self {
            class_rates: Vec::new(),
            sources: RateSlots::new(cfg.max_sources),
            flood_per_sec: cfg.flood_per_sec,
            flood_per_source_per_sec: cfg.flood_per_source_per_sec,
        }
    }

    /// Source-MAC rate slots in use, and how many were taken over by another MAC.
    pub fn sources(&self) -> (usize, u64) {
        (self.sources.used(), self.sources.replaced())
    }

    /// Prefetches the rate slot of source MAC `mac` (see [`RateSlots::prefetch`]).
    pub fn prefetch_source(&self, mac: &Mac) {
        self.sources.prefetch(self.sources.hash(mac));
    }

    /// Counts the packet in its link's class window and its source's window; alerts on a
    /// flood. Returns true when the class is over its limit on this link.
    pub fn rates(&mut self, cx: &Cx, sink: &mut Sink, class: MsgClass) -> bool {
        let link = cx.link as usize;
        if self.class_rates.len() <= link {
            self.class_rates
                .resize(link + 1, [RateWindow::default(); MsgClass::COUNT]);
        }
        let rate = self.class_rates[link][class.index()].add(cx.t);
        let limit = self.flood_per_sec[class.index()];
        if rate > limit {
            sink.raise(
                cx,
                AlertCode::Flood,
                Severity::High,
                Subject::class(class),
                |a| {
                    a.message = format!(
                        "{} flood: {rate} per second (limit {limit})",
                        class.as_str()
                    );
                    a.evidence.detail = Detail::Flood {
                        class,
                        source: None,
                        rate,
                        limit,
                    };
                },
            );
        }
        let eth_src = cx.eth_src();
        // Slots are picked by the MAC alone (the link is compared, not hashed), so that
        // `prefetch_source` can find the slot from the frame's bytes.
        let h = self.sources.hash(&eth_src);
        let srate = self.sources.add_at(h, (cx.link, eth_src), cx.t);
        let slimit = self.flood_per_source_per_sec;
        if srate > slimit {
            sink.raise(
                cx,
                AlertCode::Flood,
                Severity::High,
                Subject::sent(class.msg_type(), eth_src, Target::None),
                |a| {
                    a.message =
                        format!("NDP flood from {eth_src}: {srate} per second (limit {slimit})");
                    a.mac = Some(eth_src);
                    a.evidence.detail = Detail::Flood {
                        class,
                        source: Some(eth_src),
                        rate: srate,
                        limit: slimit,
                    };
                },
            );
        }
        rate > limit
    }

    /// Extension headers, fragments, hop limit and source address of an NDP packet.
    pub fn headers(&self, cx: &Cx, sink: &mut Sink, icmp: &Icmpv6Repr) -> Verdict {
        let f = &cx.p.frame;
        let (src, eth_src) = (cx.src(), cx.eth_src());
        let name = cx.msg_name();
        let headers = f.ip6.ext.headers();
        if headers.iter().any(|h| h.kind != nh::FRAGMENT) {
            let names: Vec<&'static str> = headers.iter().map(|h| h.name()).collect();
            sink.raise(
                cx,
                AlertCode::NdpWithExtensionHeaders,
                Severity::High,
                cx.sent(),
                |a| {
                    a.message = format!(
                        "{name} from {src} behind extension headers {}",
                        names.join(",")
                    );
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.detail = Detail::ExtensionHeaders { ext: names };
                },
            );
        }
        let frag = f.ip6.frag();
        if let Some(fr) = frag {
            sink.raise(
                cx,
                AlertCode::NdpFragmented,
                Severity::High,
                cx.sent(),
                |a| {
                    a.message = format!("fragmented {name} from {src} (RFC 6980 forbids it)");
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.detail = Detail::Fragment { frag: fr };
                },
            );
        } else if let Some(r) = cx.p.reassembled {
            sink.raise(
                cx,
                AlertCode::NdpFragmented,
                Severity::High,
                cx.sent(),
                |a| {
                    a.message = format!(
                        "{name} from {src} reassembled from {} fragments (RFC 6980 forbids \
                         fragmented NDP)",
                        r.fragments
                    );
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.detail = Detail::Reassembled { reassembled: r };
                },
            );
        }
        // One piece of a fragmented message: its checksum covers bytes in other fragments, so
        // it is judged once reassembled.
        let piece = frag.is_some_and(|fr| fr.offset != 0 || fr.more);
        let bad_checksum = !piece && f.checksum_ok == Some(false);
        let unverifiable = !piece && f.checksum_ok.is_none();
        if bad_checksum {
            sink.raise(
                cx,
                AlertCode::NdpChecksumInvalid,
                Severity::Medium,
                cx.sent(),
                |a| {
                    a.message = format!(
                        "{name} from {src} with a wrong ICMPv6 checksum (hosts drop it; it \
                         changes nothing here either)"
                    );
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                },
            );
        } else if unverifiable {
            let (captured, payload_len) = (f.icmp6_len, f.ip6.payload_len);
            sink.raise(
                cx,
                AlertCode::NdpTruncated,
                Severity::Medium,
                cx.sent(),
                |a| {
                    a.message = format!(
                        "{name} from {src} captured in part ({captured} bytes of ICMPv6, IPv6 \
                         payload {payload_len}): checksum not checked, compared only as far as \
                         captured, changes no state"
                    );
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.detail = Detail::Truncated {
                        icmp6_captured: captured,
                        payload_len,
                    };
                },
            );
        }
        let hop = f.ip6.hop_limit;
        if hop != 255 {
            sink.raise(
                cx,
                AlertCode::NdpHopLimitInvalid,
                Severity::Medium,
                cx.sent(),
                |a| {
                    a.message = format!(
                        "{name} from {src} with hop limit {hop} (not 255: sent from off-link)"
                    );
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                },
            );
        }
        let bogus = bogon(icmp.msg_type, &src);
        if let Some(why) = bogus {
            sink.raise(
                cx,
                AlertCode::NdpBogonSource,
                Severity::Medium,
                Subject::sent(icmp.msg_type, eth_src, Target::Addr(src)),
                |a| {
                    a.message = format!("{name} from bogon source {src} ({})", why.as_str());
                    a.address = Some(src);
                    a.mac = Some(eth_src);
                    a.evidence.detail = Detail::Bogon { reason: why };
                },
            );
        }
        Verdict {
            bogon: bogus,
            discarded: hop != 255 || icmp.code != 0 || bad_checksum || piece,
            untrusted: frag.is_some() || cx.p.reassembled.is_some() || unverifiable,
        }
    }

    /// `ptb_mtu_below_minimum`: a packet too big advertising less than 1280.
    pub fn packet_too_big(&self, cx: &Cx, sink: &mut Sink, icmp: &Icmpv6Repr) {
        let Message::PacketTooBig { mtu, quoted, .. } = &icmp.message else {
            return;
        };
        if *mtu >= 1280 {
            return;
        }
        let (mtu, src, quoted_dst) = (*mtu, cx.src(), quoted.dst);
        sink.raise(
            cx,
            AlertCode::PtbMtuBelowMinimum,
            Severity::Medium,
            Subject::of_msg(icmp.msg_type, Target::Addr(src)),
            |a| {
                a.message = format!("packet too big from {src} advertises MTU {mtu} < 1280");
                a.address = Some(src);
                a.mac = Some(cx.eth_src());
                a.evidence.detail = Detail::PacketTooBig { mtu, quoted_dst };
            },
        );
    }
}
