//! Rules on a frame's IPv6 layer, whatever it carries: fragments put back together (through
//! [`crate::reasm`], one table per engine, bounded per link and in total), overlapping
//! fragments (RFC 5722), first fragments without the whole header chain (RFC 7112), and
//! header chains longer than the kernel programs walk on link-scope traffic.
//!
//! The reassembled packet goes back through the engine like any other, so NDP hidden in
//! fragments meets the same rules (a rogue RA in fragments is `ra_rogue` as well as
//! `ndp_fragmented`).
use v6probe_common::{
    abi::{next_header as nh, MAX_EXT_HEADERS},
    wire::{addr, ipv6::ChainEnd, Frame},
};

use super::{
    alert::{AlertCode, Detail, Severity},
    sink::{Cx, Sink},
};
use crate::reasm::{Discard, Limits, Outcome, ReasmStats, Reassembled, Reassembler};

/// The reassembler and the rules on fragments.
pub struct Fragments {
    reasm: Reassembler,
}

/// Traffic the kernel programs treat as possibly NDP: hop limit 255, a link-local source, or
/// a link-local or multicast destination.
pub fn link_scope(f: &Frame) -> bool {
    let ip = &f.ip6;
    ip.hop_limit == 255
        || addr::is_link_local(&ip.src)
        || addr::is_link_local(&ip.dst)
        || ip.dst.is_multicast()
}

/// What ends a frame's header chain, in one word (`icmpv6`, `udp`, ... for an upper layer).
fn chain_end(f: &Frame) -> &'static str {
    let ext = &f.ip6.ext;
    match ext.end {
        ChainEnd::Upper => match ext.upper {
            nh::ICMPV6 => "icmpv6",
            nh::TCP => "tcp",
            nh::UDP => "udp",
            _ => "other",
        },
        ChainEnd::Truncated => "truncated_chain",
        ChainEnd::Esp => "esp",
        ChainEnd::NoNext => "no_next_header",
        ChainEnd::NonFirstFragment => "fragment",
    }
}

impl Fragments {
    pub fn new(limits: Limits) -> Self {
        Self {
            reasm: Reassembler::new(limits),
        }
    }

    pub fn stats(&self) -> ReasmStats {
        self.reasm.stats()
    }

    /// `ndp_header_chain_too_long`: a link-scope packet whose extension-header chain is longer
    /// than the kernel programs walk (they record it for user space, which walks on).
    pub fn long_chain(&self, cx: &Cx, sink: &mut Sink) {
        let f = &cx.p.frame;
        let ext = &f.ip6.ext;
        if !ext.longer_than_kernel_walks() || !link_scope(f) {
            return;
        }
        let (src, eth_src) = (cx.src(), cx.eth_src());
        let (count, end) = (ext.count(), chain_end(f));
        sink.raise(
            cx,
            AlertCode::NdpHeaderChainTooLong,
            Severity::High,
            cx.sent(),
            |a| {
                a.message = format!(
                    "{} from {src} behind {count} extension headers (the kernel walks \
                     {MAX_EXT_HEADERS}; the chain ends in {end})",
                    cx.msg_name()
                );
                a.address = Some(src);
                a.mac = Some(eth_src);
                a.evidence.detail = Detail::LongChain {
                    ext_count: count,
                    kernel_walks: MAX_EXT_HEADERS,
                    ext: ext.headers().iter().map(|h| h.name()).collect(),
                    chain_end: end,
                };
            },
        );
    }

    /// A frame with a fragment header (`bytes`: the frame `cx.p` was decoded from): held for
    /// reassembly; alerts on an incomplete first fragment and on overlaps. Returns the packet
    /// when this fragment completes it.
    pub fn push(&mut self, cx: &Cx, sink: &mut Sink, bytes: &[u8]) -> Option<Reassembled> {
        let pushed = self.reasm.push(cx.link, cx.t, bytes);
        let f = &cx.p.frame;
        let (src, eth_src) = (cx.src(), cx.eth_src());
        if pushed.chain_incomplete {
            if let Some(frag) = f.ip6.frag() {
                let end = chain_end(f);
                sink.raise(
                    cx,
                    AlertCode::FragmentIncompleteHeaderChain,
                    Severity::High,
                    cx.sent(),
                    |a| {
                        a.message = format!(
                            "first fragment (id {:#x}) from {src} to {} without the upper-layer \
                             header (RFC 7112; the chain ends in {end}): it hides what it \
                             carries from filters",
                            frag.id, f.ip6.dst
                        );
                        a.address = Some(src);
                        a.mac = Some(eth_src);
                        a.evidence.detail = Detail::IncompleteChain {
                            frag,
                            ext: f.ip6.ext.headers().iter().map(|h| h.name()).collect(),
                            chain_end: end,
                        };
                    },
                );
            }
        }
        match pushed.outcome {
            Outcome::Complete(r) => Some(r),
            Outcome::Discarded(Discard::Overlap(o)) => {
                let id = pushed.key.map_or(0, |k| k.id);
                sink.raise(
                    cx,
                    AlertCode::FragmentOverlap,
                    Severity::High,
                    cx.sent(),
                    |a| {
                        a.message = format!(
                            "overlapping fragments (id {id:#x}) from {src} to {}: bytes \
                             {}..{} arrived over {}..{}{} (RFC 5722: the datagram is dropped; \
                             hosts that keep either copy see different packets)",
                            f.ip6.dst,
                            o.arrived.0,
                            o.arrived.1,
                            o.held.0,
                            o.held.1,
                            if o.same_range {
                                " with other bytes"
                            } else {
                                ""
                            }
                        );
                        a.address = Some(src);
                        a.mac = Some(eth_src);
                        a.evidence.detail = Detail::FragmentOverlap {
                            frag_id: id,
                            overlap: o,
                        };
                    },
                );
                None
            }
            _ => None,
        }
    }
}
