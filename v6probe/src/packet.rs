//! The `"kind":"packet"` line: one decoded frame plus where and when it was seen. Printed by
//! `monitor` (kernel records), `decode` and `monitor --pcap` (capture files), from the same
//! decoder ([`Frame`]) and the same validation, so every consumer sees one schema.
//!
//! ```text
//! {"kind":"packet","v":1,"ts":"2026-11-26T17:45:05.034648650Z","iface":"eth0","dir":"ingress",
//!  "hook":"xdp","eth":{..},"ip6":{..},"icmp6":{..}|null,"truncated":false,"violations":[..]}
//! ```
//! `decode` adds `"frame"` (1-based number in the file). See README, "Output schema".
use std::{cell::OnceCell, net::Ipv6Addr, sync::Arc, time::SystemTime};

use serde::Serialize;
use v6probe_common::{
    abi::{direction, hook, RecordRef},
    wire::{
        ndisc_option::Preference, validate::Violation, Frame, FrameError, FrameRef, Message,
        NdpOption,
    },
};

use crate::output::{json, ser_rfc3339, Rfc3339, SCHEMA_VERSION};

/// Where and when a frame was seen.
#[derive(Clone, Debug, Serialize)]
pub struct Seen {
    /// 1-based frame number in a capture file (`decode` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// Printed as [`crate::output::rfc3339_nanos`] text, formatted only when the line is printed.
    #[serde(serialize_with = "ser_rfc3339")]
    pub ts: SystemTime,
    /// Interface name (`null` when a capture file does not say). Shared: a monitor gives
    /// every record of an interface the same name, without a copy per record.
    #[serde(serialize_with = "ser_iface")]
    pub iface: Option<Arc<str>>,
    /// `ingress` / `egress` (`null` when a capture file does not say).
    pub dir: Option<&'static str>,
    /// `xdp`, `tc` or `pcap`.
    pub hook: &'static str,
}

/// A record's direction, as [`Seen::dir`] says it.
fn dir_of(rec: &RecordRef<'_>) -> &'static str {
    if rec.header.direction == direction::EGRESS {
        "egress"
    } else {
        "ingress"
    }
}

/// A record's hook, as [`Seen::hook`] says it.
fn hook_of(rec: &RecordRef<'_>) -> &'static str {
    if rec.header.hook == hook::TC {
        "tc"
    } else {
        "xdp"
    }
}

fn ser_iface<S: serde::Serializer>(v: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    v.as_deref().serialize(s)
}

impl Seen {
    /// For a kernel record.
    pub fn from_record(rec: &RecordRef<'_>, ts: SystemTime, iface: Arc<str>) -> Self {
        Self {
            frame: None,
            ts,
            iface: Some(iface),
            dir: Some(dir_of(rec)),
            hook: hook_of(rec),
        }
    }

    /// Makes this [`Seen::from_record`] in place: the interface name is shared anew only when
    /// it is not already `iface` (the same `Arc`), as for the records of one interface in a
    /// row, which then cost no reference count each.
    pub fn set_from_record(&mut self, rec: &RecordRef<'_>, ts: SystemTime, iface: &Arc<str>) {
        self.frame = None;
        self.ts = ts;
        if !self.iface.as_ref().is_some_and(|i| Arc::ptr_eq(i, iface)) {
            self.iface = Some(Arc::clone(iface));
        }
        self.dir = Some(dir_of(rec));
        self.hook = hook_of(rec);
    }

    /// For a frame read from a capture file.
    pub fn from_capture(
        number: u64,
        ts: SystemTime,
        iface: Option<Arc<str>>,
        dir: Option<&'static str>,
    ) -> Self {
        Self {
            frame: Some(number),
            ts,
            iface,
            dir,
            hook: "pcap",
        }
    }
}

/// A decoded frame with its validation findings, ready to print. The findings are computed
/// the first time they are asked for (printing asks; the detector does not), so a monitor that
/// prints only alerts does not pay for the RFC checks.
#[derive(Clone, Debug)]
pub struct Packet {
    pub seen: Seen,
    pub frame: Frame,
    /// Set when the monitor put this packet back together from fragments (`frame` is then the
    /// reassembled packet, without its fragment header).
    pub reassembled: Option<Reassembly>,
    violations: OnceCell<Vec<Violation>>,
}

/// The `"reassembled"` member of a packet line: which fragments the packet was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reassembly {
    /// The fragment header's identification.
    pub id: u32,
    /// Fragments it was built from.
    pub fragments: u32,
}

impl Packet {
    /// Decodes a kernel record (its frame bytes, as a capture file's). An error only for bytes
    /// the kernel would not have recorded (not Ethernet + IPv6).
    pub fn from_record(
        rec: &RecordRef<'_>,
        ts: SystemTime,
        iface: Arc<str>,
    ) -> Result<Self, FrameError> {
        Ok(Self::new(
            Seen::from_record(rec, ts, iface),
            Frame::from_record(rec)?,
        ))
    }

    /// Makes this packet's frame the decode of `frame`, in place ([`Frame::refill_from`]): what
    /// was computed for the frame before (its findings, its reassembly) is forgotten.
    fn refill_frame(&mut self, frame: &FrameRef<'_>) {
        self.frame.refill_from(frame);
        self.reassembled = None;
        self.violations = OnceCell::new();
    }

    /// The decode of kernel record `rec` (its frame decoded as `frame`) in `slot`, as
    /// [`Packet::decode_into`] with [`Seen::set_from_record`]: a flood's records from one
    /// interface share its name without a reference count each.
    pub fn decode_record_into<'s>(
        slot: &'s mut Option<Packet>,
        rec: &RecordRef<'_>,
        ts: SystemTime,
        iface: &Arc<str>,
        frame: &FrameRef<'_>,
    ) -> &'s Packet {
        match slot {
            Some(p) => {
                p.seen.set_from_record(rec, ts, iface);
                p.refill_frame(frame);
                p
            }
            None => slot.insert(Packet::new(
                Seen::from_record(rec, ts, Arc::clone(iface)),
                frame.to_owned(),
            )),
        }
    }

    /// The decode of `frame`, seen as `seen`, in `slot`: refilled in place
    /// ([`Packet::refill_frame`]) when it holds the packet before, built otherwise. A monitor
    /// decodes frame after frame into one packet, so a flood neither allocates nor moves a
    /// packet per frame.
    pub fn decode_into<'s>(
        slot: &'s mut Option<Packet>,
        seen: Seen,
        frame: &FrameRef<'_>,
    ) -> &'s Packet {
        match slot {
            Some(p) => {
                p.seen = seen;
                p.refill_frame(frame);
                p
            }
            None => slot.insert(Packet::new(seen, frame.to_owned())),
        }
    }

    /// An already decoded frame.
    pub fn new(seen: Seen, frame: Frame) -> Self {
        Self {
            seen,
            frame,
            reassembled: None,
            violations: OnceCell::new(),
        }
    }

    /// The RFC findings ([`Frame::validate`]), computed once.
    pub fn violations(&self) -> &[Violation] {
        self.violations.get_or_init(|| self.frame.validate())
    }

    /// The ICMPv6 message name (`neighbor_solicit`, ...), or why there is none
    /// ([`Frame::no_message`]: `fragment`, `truncated_chain`, ...).
    pub fn name(&self) -> &str {
        self.frame
            .icmp6
            .as_ref()
            .map_or_else(|| self.frame.no_message(), |m| m.msg_type.name())
    }

    /// One aligned, readable line.
    pub fn text(&self) -> String {
        let src: Ipv6Addr = self.frame.ip6.src;
        let dst: Ipv6Addr = self.frame.ip6.dst;
        let mut s = format!(
            "{} {:<8} {:<7} {:<4} {:<17} {:>26} -> {:<26} hlim={:<3} {}",
            Rfc3339::new(self.seen.ts),
            self.seen.iface.as_deref().unwrap_or("-"),
            self.seen.dir.unwrap_or("-"),
            self.seen.hook,
            self.frame.eth.src,
            src,
            dst,
            self.frame.ip6.hop_limit,
            self.name(),
        );
        if let Some(r) = self.reassembled {
            s.push_str(&format!(" (reassembled from {} fragments)", r.fragments));
        }
        if !self.violations().is_empty() {
            let codes: Vec<&str> = self.violations().iter().map(|v| v.code.code()).collect();
            s.push_str(" !");
            s.push_str(&codes.join(",!"));
        }
        s
    }
}

impl Serialize for Packet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            #[serde(flatten)]
            seen: &'a Seen,
            #[serde(flatten)]
            frame: &'a Frame,
            #[serde(skip_serializing_if = "Option::is_none")]
            reassembled: Option<Reassembly>,
            violations: &'a [Violation],
        }
        Line {
            seen: &self.seen,
            frame: &self.frame,
            reassembled: self.reassembled,
            violations: self.violations(),
        }
        .serialize(s)
    }
}

/// `,"key":true` or `,"key":false`, each a single literal.
macro_rules! bool_field {
    ($out:expr, $key:literal, $v:expr) => {
        $out.extend_from_slice(if $v {
            concat!(",\"", $key, "\":true").as_bytes()
        } else {
            concat!(",\"", $key, "\":false").as_bytes()
        })
    };
}

/// [`bool_field!`] into a [`json::Cur`].
macro_rules! flag {
    ($c:expr, $key:literal, $v:expr) => {
        $c.flag(
            concat!(",\"", $key, "\":true").as_bytes(),
            concat!(",\"", $key, "\":false").as_bytes(),
            $v,
        )
    };
}

impl Packet {
    /// Appends the packet's JSON line, `{"kind":"packet","v":1,...}` without the newline: the
    /// same bytes as serializing `Line { kind: "packet", v, body: self }` with `serde_json`
    /// (tested on many frames), written directly: literal keys, numbers and addresses into the
    /// buffer, `serde_json` only for values that may need escaping (interface names) and for
    /// what is rare (messages other than NDP, option kinds not listed here, findings). A
    /// monitor under a flood writes one of these per frame.
    pub fn write_json_line(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let f = &self.frame;
        // 21 + 20 + 9 + 20 + 6 + 58 + 10 bytes at most.
        json::fixed::<144>(out, |c| {
            c.lit(b"{\"kind\":\"packet\",\"v\":");
            c.uint(u64::from(SCHEMA_VERSION));
            if let Some(n) = self.seen.frame {
                c.lit(b",\"frame\":");
                c.uint(n);
            }
            c.lit(b",\"ts\":");
            c.ts(self.seen.ts);
            c.lit(b",\"iface\":");
        });
        json::opt_str(out, self.seen.iface.as_deref());

        // The Ethernet and IPv6 sources as written: the NDP parts usually repeat them (a
        // link-layer address option, an NA's target) and copy the text instead.
        let mut again = Again {
            mac: f.eth.src.0,
            ip: f.ip6.src,
            ..Again::default()
        };
        // 7 + NAME_MAX + 2 + 8 + NAME_MAX + 2 + 14 + 19 + 7 + 19 + 9 bytes at most.
        json::fixed::<{ 87 + 2 * json::NAME_MAX }>(out, |c| {
            c.lit(b",\"dir\":");
            match self.seen.dir {
                Some(d) => c.name(d),
                None => c.lit(b"null"),
            }
            c.lit(b",\"hook\":");
            c.name(self.seen.hook);
            c.lit(b",\"eth\":{\"src\":");
            let at = c.pos();
            c.mac(&f.eth.src.0);
            again.mac_text.copy_from_slice(c.since(at));
            c.lit(b",\"dst\":");
            c.mac(&f.eth.dst.0);
            c.lit(b",\"vlan\":[");
        });
        for (i, t) in f.eth.vlans().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"vid\":");
            json::uint(out, u64::from(t.vid()));
            out.extend_from_slice(b",\"pcp\":");
            json::uint(out, u64::from(t.pcp()));
            bool_field!(out, "dei", t.dei());
            if let Some(p) = t.tpid {
                out.extend_from_slice(b",\"tpid\":");
                json::uint(out, u64::from(p));
            }
            out.push(b'}');
        }

        let ip = &f.ip6;
        // 18 + 47 + 7 + 47 + 13 + 3 + 15 + 5 + 8 bytes at most.
        json::fixed::<224>(out, |c| {
            c.lit(b"]},\"ip6\":{\"src\":");
            let at = c.pos();
            c.ipv6(&ip.src);
            let text = c.since(at);
            again.ip_len = text.len();
            again.ip_text[..text.len()].copy_from_slice(text);
            c.lit(b",\"dst\":");
            c.ipv6(&ip.dst);
            c.lit(b",\"hop_limit\":");
            c.uint(u64::from(ip.hop_limit));
            c.lit(b",\"payload_len\":");
            c.uint(u64::from(ip.payload_len));
            c.lit(b",\"ext\":[");
        });
        for (i, h) in ip.ext.headers().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::str(out, h.name());
        }
        // 1 + 12 + 20 + 8 + 11 + 20 + 13 + 6 + 20 + 1 + 10, then 8 + 20 + 8 + 20 + 8 +
        // NAME_MAX + 2 + 15 + 5 bytes at most (every number counted at 20 digits).
        json::fixed::<{ 208 + json::NAME_MAX }>(out, |c| {
            c.lit(b"]");
            let more = ip.ext.count() - ip.ext.headers().len();
            if more > 0 {
                c.lit(b",\"ext_more\":");
                c.uint(more as u64);
            }
            c.lit(b",\"frag\":");
            match ip.frag() {
                Some(fr) => {
                    c.lit(b"{\"offset\":");
                    c.uint(u64::from(fr.offset));
                    flag!(c, "more", fr.more);
                    c.lit(b",\"id\":");
                    c.uint(u64::from(fr.id));
                    c.lit(b"}");
                }
                None => c.lit(b"null"),
            }
            c.lit(b"},\"icmp6\":");
            match &f.icmp6 {
                Some(m) => {
                    c.lit(b"{\"type\":");
                    c.uint(u64::from(u8::from(m.msg_type)));
                    c.lit(b",\"code\":");
                    c.uint(u64::from(m.code));
                    c.lit(b",\"name\":");
                    c.name(m.msg_type.name());
                    c.lit(b",\"checksum_ok\":");
                    c.lit(match f.checksum_ok {
                        Some(true) => b"true",
                        Some(false) => b"false",
                        None => b"null",
                    });
                }
                None => c.lit(b"null"),
            }
        });
        if let Some(m) = &f.icmp6 {
            write_message(out, &m.message, &again)?;
            out.push(b'}');
        }
        let v = self.violations();
        // 18 + 21 + 20 + 13 + 20 + 1 + 17 bytes at most.
        json::fixed::<110>(out, |c| {
            flag!(c, "truncated", f.truncated);
            if let Some(r) = self.reassembled {
                c.lit(b",\"reassembled\":{\"id\":");
                c.uint(u64::from(r.id));
                c.lit(b",\"fragments\":");
                c.uint(u64::from(r.fragments));
                c.lit(b"}");
            }
            c.lit(if v.is_empty() {
                b",\"violations\":[]}"
            } else {
                b",\"violations\":"
            });
        });
        if !v.is_empty() {
            serde_json::to_writer(&mut *out, v)?;
            out.push(b'}');
        }
        Ok(())
    }
}

/// The text of the frame's Ethernet and IPv6 sources as the line wrote them (with quotes).
struct Again {
    mac: [u8; 6],
    mac_text: [u8; 19],
    ip: Ipv6Addr,
    ip_text: [u8; 47],
    ip_len: usize,
}

impl Default for Again {
    fn default() -> Self {
        Self {
            mac: [0; 6],
            mac_text: [0; 19],
            ip: Ipv6Addr::UNSPECIFIED,
            ip_text: [0; 47],
            ip_len: 0,
        }
    }
}

impl Again {
    /// `a` as a string: the source's text when it is the source.
    #[inline(always)]
    fn ipv6<const N: usize>(&self, c: &mut json::Cur<'_, N>, a: &Ipv6Addr) {
        if *a == self.ip && self.ip_len > 0 {
            c.lit(&self.ip_text[..self.ip_len]);
        } else {
            c.ipv6(a);
        }
    }

    /// `m` as a string: the source's text when it is the source.
    #[inline(always)]
    fn mac<const N: usize>(&self, c: &mut json::Cur<'_, N>, m: &[u8; 6]) {
        if *m == self.mac {
            c.lit(&self.mac_text);
        } else {
            c.mac(m);
        }
    }
}

/// The message's members inside the `icmp6` object (each after a comma).
fn write_message(out: &mut Vec<u8>, m: &Message, again: &Again) -> serde_json::Result<()> {
    let options = match m {
        Message::RouterSolicit { options, .. } => options,
        Message::RouterAdvert {
            cur_hop_limit,
            managed,
            other,
            home_agent,
            preference,
            proxy,
            router_lifetime,
            reachable_time,
            retrans_timer,
            options,
            ..
        } => {
            out.extend_from_slice(b",\"cur_hop_limit\":");
            json::uint(out, u64::from(*cur_hop_limit));
            bool_field!(out, "managed", *managed);
            bool_field!(out, "other", *other);
            bool_field!(out, "home_agent", *home_agent);
            out.extend_from_slice(b",\"preference\":");
            out.extend_from_slice(preference_json(*preference));
            bool_field!(out, "proxy", *proxy);
            out.extend_from_slice(b",\"router_lifetime\":");
            json::uint(out, u64::from(*router_lifetime));
            out.extend_from_slice(b",\"reachable_time\":");
            json::uint(out, u64::from(*reachable_time));
            out.extend_from_slice(b",\"retrans_timer\":");
            json::uint(out, u64::from(*retrans_timer));
            options
        }
        Message::NeighborSolicit {
            target, options, ..
        } => {
            json::fixed::<112>(out, |c| {
                c.lit(b",\"target\":");
                again.ipv6(c, target);
            });
            options
        }
        Message::NeighborAdvert {
            router,
            solicited,
            override_,
            target,
            options,
            ..
        } => {
            // 15 + 18 + 17 + 10 + 47 bytes at most.
            json::fixed::<160>(out, |c| {
                flag!(c, "router", *router);
                flag!(c, "solicited", *solicited);
                flag!(c, "override", *override_);
                c.lit(b",\"target\":");
                again.ipv6(c, target);
            });
            options
        }
        Message::Redirect {
            target,
            destination,
            options,
            ..
        } => {
            out.extend_from_slice(b",\"target\":");
            json::ipv6(out, target);
            out.extend_from_slice(b",\"destination\":");
            json::ipv6(out, destination);
            options
        }
        other => {
            // Errors, echo and the rest are rare: their members as serde writes them (an
            // object), spliced in without its braces.
            let body = serde_json::to_vec(other)?;
            if let Some(inner) = body
                .strip_prefix(b"{")
                .and_then(|b| b.strip_suffix(b"}"))
                .filter(|b| !b.is_empty())
            {
                out.push(b',');
                out.extend_from_slice(inner);
            }
            return Ok(());
        }
    };
    out.extend_from_slice(b",\"options\":[");
    for (i, o) in options.list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_option(out, o, again)?;
    }
    out.push(b']');
    Ok(())
}

fn preference_json(p: Preference) -> &'static [u8] {
    match p {
        Preference::Medium => b"\"medium\"",
        Preference::High => b"\"high\"",
        Preference::Reserved => b"\"reserved\"",
        Preference::Low => b"\"low\"",
    }
}

/// One option object, `{"type":N,"name":"..",...}`.
fn write_option(out: &mut Vec<u8>, o: &NdpOption, again: &Again) -> serde_json::Result<()> {
    // The common kinds are written whole in room made once ([`json::fixed`]); sizes: the
    // literals, 51 bytes for a prefix, 20 for a number.
    match o {
        NdpOption::SourceLlAddr { addr } => {
            json::fixed::<80>(out, |c| {
                c.lit(b"{\"type\":1,\"name\":\"source_ll_addr\",\"addr\":");
                again.mac(c, &addr.0);
                c.lit(b"}");
            });
            return Ok(());
        }
        NdpOption::TargetLlAddr { addr } => {
            json::fixed::<80>(out, |c| {
                c.lit(b"{\"type\":2,\"name\":\"target_ll_addr\",\"addr\":");
                again.mac(c, &addr.0);
                c.lit(b"}");
            });
            return Ok(());
        }
        NdpOption::PrefixInfo {
            prefix,
            on_link,
            autonomous,
            router_addr,
            dhcpv6_pd,
            valid_lifetime,
            preferred_lifetime,
            ..
        } => {
            json::fixed::<256>(out, |c| {
                c.lit(b"{\"type\":3,\"name\":\"prefix_info\",\"prefix\":");
                c.prefix(&prefix.addr, prefix.len);
                flag!(c, "on_link", *on_link);
                flag!(c, "autonomous", *autonomous);
                flag!(c, "router_addr", *router_addr);
                flag!(c, "dhcpv6_pd", *dhcpv6_pd);
                c.lit(b",\"valid_lifetime\":");
                c.uint(u64::from(*valid_lifetime));
                c.lit(b",\"preferred_lifetime\":");
                c.uint(u64::from(*preferred_lifetime));
                c.lit(b"}");
            });
            return Ok(());
        }
        NdpOption::Mtu { mtu } => {
            json::fixed::<64>(out, |c| {
                c.lit(b"{\"type\":5,\"name\":\"mtu\",\"mtu\":");
                c.uint(u64::from(*mtu));
                c.lit(b"}");
            });
            return Ok(());
        }
        NdpOption::Nonce { nonce } => {
            out.extend_from_slice(b"{\"type\":14,\"name\":\"nonce\",\"nonce\":");
            json::hex(out, nonce);
        }
        NdpOption::RouteInfo {
            prefix,
            preference,
            route_lifetime,
            ..
        } => {
            json::fixed::<192>(out, |c| {
                c.lit(b"{\"type\":24,\"name\":\"route_info\",\"prefix\":");
                c.prefix(&prefix.addr, prefix.len);
                c.lit(b",\"preference\":");
                c.lit(preference_json(*preference));
                c.lit(b",\"route_lifetime\":");
                c.uint(u64::from(*route_lifetime));
                c.lit(b"}");
            });
            return Ok(());
        }
        NdpOption::Rdnss { lifetime, servers } => {
            out.extend_from_slice(b"{\"type\":25,\"name\":\"rdnss\",\"lifetime\":");
            json::uint(out, u64::from(*lifetime));
            out.extend_from_slice(b",\"servers\":[");
            for (i, a) in servers.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json::ipv6(out, a);
            }
            out.push(b']');
        }
        // DNS names, portal URIs, unknown and malformed options: as serde writes them.
        other => return serde_json::to_writer(&mut *out, other),
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use v6probe_common::wire::{
        EthernetAddress, FragmentInfo, Icmpv6Repr, Icmpv6Type, Message, NdpOption, Options,
    };

    use super::*;
    use crate::output::Line;

    /// The line as `serde_json` writes it: the reference for the direct writer.
    fn reference(p: &Packet) -> Vec<u8> {
        serde_json::to_vec(&Line {
            kind: "packet",
            v: SCHEMA_VERSION,
            body: p,
        })
        .unwrap()
    }

    fn direct(p: &Packet) -> Vec<u8> {
        let mut out = b"junk before".to_vec();
        p.write_json_line(&mut out).unwrap();
        out.split_off(11)
    }

    /// Frames with what a capture rarely has: every option kind, options with text that needs
    /// escaping, unknown and malformed options, VLAN tags, extension headers, a fragment
    /// header, echo, an unknown ICMPv6 type.
    fn crafted() -> Vec<Vec<u8>> {
        let mac = |b: u8| EthernetAddress([0x02, 0, 0, 0, 0, b]);
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let opt = |t: u8, body: &[u8]| {
            let mut data = body.to_vec();
            while !(data.len() + 2).is_multiple_of(8) {
                data.push(0);
            }
            NdpOption::Unknown {
                option_type: t,
                data,
            }
        };
        // DNSSL and captive portal with quotes, backslashes, control bytes, UTF-8, invalid UTF-8.
        let dnssl = opt(
            31,
            b"\0\0\0\0\x00\x01\x00\x00\x06a\"b\\c\x01\x03\xc3\xa9x\x00\x02\xff\x7f\x00",
        );
        let portal = opt(37, b"https://x/\"\\\n\t\x1f\x7f\xe2\x80\xa8\xff");
        let ra = Message::RouterAdvert {
            cur_hop_limit: 64,
            managed: true,
            other: false,
            home_agent: true,
            preference: Preference::Reserved,
            proxy: true,
            reserved_flags: 0,
            router_lifetime: 1800,
            reachable_time: 0,
            retrans_timer: u32::MAX,
            options: Options::from(vec![
                NdpOption::SourceLlAddr { addr: mac(1) },
                NdpOption::Mtu { mtu: 1280 },
                opt(
                    3,
                    &[
                        64, 0xf0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0x20, 1, 0xd, 0xb8,
                    ],
                ),
                opt(24, &[48, 0x18, 0, 0, 0x0e, 0x10, 0x20, 1, 0xd, 0xb8, 0, 0]),
                opt(24, &[0, 0x08, 0, 0, 0, 0]),
                opt(
                    25,
                    &[
                        0, 0, 0, 0, 0, 60, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0x53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1,
                    ],
                ),
                opt(14, &[1, 2, 3, 4, 5, 6]),
                opt(26, &[0x80, 0, 0, 0, 0, 0]),
                opt(
                    38,
                    &[0x0e, 0x10, 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0],
                ),
                opt(2, &[1, 2, 3, 4, 5]),
                opt(3, &[1, 2]),
                opt(200, b"\"quoted\""),
                dnssl,
                portal,
            ]),
        };
        let msgs = [
            (Icmpv6Type::RouterAdvert, ra),
            (
                Icmpv6Type::EchoRequest,
                Message::EchoRequest {
                    id: 7,
                    seq: 9,
                    data_len: 3,
                    data: vec![1, 2, 3],
                },
            ),
            (
                Icmpv6Type::from(200),
                Message::Other {
                    data_len: 4,
                    data: vec![0; 4],
                },
            ),
        ];
        let mut frames = Vec::new();
        for (t, m) in msgs {
            let repr = Icmpv6Repr {
                msg_type: t,
                code: 3,
                checksum: 0,
                message: m,
            };
            let f = Frame::new(mac(1), mac(2), a("fe80::1"), a("ff02::1"), 255, repr);
            frames.push(f.to_bytes());
            frames.push(
                f.clone()
                    .with_vlan(0x8100, 0x2abc)
                    .with_vlan(0x88a8, 7)
                    .to_bytes(),
            );
            frames.push(
                f.clone()
                    .with_ext_headers(&[
                        (0, 8, None),
                        (60, 16, None),
                        (
                            44,
                            8,
                            Some(FragmentInfo {
                                offset: 0,
                                more: true,
                                id: 0xdead_beef,
                            }),
                        ),
                    ])
                    .to_bytes(),
            );
        }
        frames
    }

    fn frames_of_the_replay_capture() -> Vec<Vec<u8>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/detect_replay.pcapng"
        );
        crate::capture::CaptureReader::open(path)
            .unwrap()
            .map(|f| f.unwrap().data.to_vec())
            .collect()
    }

    #[test]
    fn a_packet_refilled_in_place_is_the_packet_built_anew() {
        let mut frames = frames_of_the_replay_capture();
        frames.extend(crafted());
        let mut slot = None;
        let (mut refilled, mut found, mut reassembled) = (0, 0, 0);
        for (i, bytes) in frames.iter().enumerate() {
            let Ok(r) = FrameRef::parse(bytes).or_else(|_| FrameRef::parse_fragment(bytes)) else {
                continue;
            };
            let seen = Seen::from_capture(
                i as u64 + 1,
                SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000 + i as u64, i as u32),
                (i % 2 == 0).then(|| Arc::from("eth0")),
                None,
            );
            let fresh = Packet::new(seen.clone(), r.to_owned());
            refilled += usize::from(slot.is_some());
            let p = Packet::decode_into(&mut slot, seen, &r);
            assert_eq!(p.frame, fresh.frame, "frame {i}");
            assert_eq!(
                p.reassembled, None,
                "frame {i}: the reassembly before is forgotten"
            );
            assert_eq!(p.violations(), fresh.violations(), "frame {i}");
            assert_eq!(direct(p), direct(&fresh), "frame {i}");
            found += usize::from(!p.violations().is_empty());
            // What the next frame must not inherit: findings and a reassembly of this one.
            if let Some(p) = slot.as_mut() {
                if i % 3 == 0 {
                    p.reassembled = Some(Reassembly {
                        id: i as u32,
                        fragments: 2,
                    });
                    reassembled += 1;
                }
            }
        }
        assert!(refilled > 1000, "{refilled} frames refilled");
        assert!(
            found > 0 && reassembled > 0,
            "{found} with findings, {reassembled}"
        );
    }

    #[test]
    fn records_decoded_in_place_are_the_records_decoded_anew() {
        use v6probe_common::abi::RecordHeader;
        // Runs of records from one interface, then another, then a third name with the
        // first's text (another `Arc`).
        let names: [Arc<str>; 3] = [Arc::from("eth0"), Arc::from("v6p-b"), Arc::from("eth0")];
        let frames = frames_of_the_replay_capture();
        let mut slot = None;
        let mut checked = 0;
        for (i, bytes) in frames.iter().enumerate() {
            let rec = RecordRef {
                header: RecordHeader {
                    ts_ns: i as u64,
                    ifindex: (i / 7 % 3) as u32 + 1,
                    direction: if i % 4 == 0 {
                        direction::EGRESS
                    } else {
                        direction::INGRESS
                    },
                    hook: if i % 5 == 0 { hook::TC } else { hook::XDP },
                    ..RecordHeader::default()
                },
                frame: bytes,
            };
            let Ok(f) = FrameRef::from_record(&rec) else {
                continue;
            };
            let ts = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, i as u32);
            let iface = &names[i / 7 % 3];
            let fresh = Packet::from_record(&rec, ts, Arc::clone(iface)).unwrap();
            let p = Packet::decode_record_into(&mut slot, &rec, ts, iface, &f);
            assert_eq!(
                String::from_utf8_lossy(&direct(p)),
                String::from_utf8_lossy(&direct(&fresh)),
                "record {i}"
            );
            assert!(
                p.seen.iface.as_ref().is_some_and(|n| Arc::ptr_eq(n, iface)),
                "record {i}: the name given"
            );
            checked += 1;
        }
        assert!(checked > 1000, "{checked} records");
    }

    /// Every message name fits the room the line writer counts for it ([`json::Cur::name`];
    /// the hook and direction names are checked by its `debug_assert` in the tests below).
    #[test]
    fn message_names_fit_the_room_counted_for_them() {
        for t in 0..=255u8 {
            let name = v6probe_common::wire::Icmpv6Type::from(t).name();
            assert!(name.len() <= json::NAME_MAX, "{name}");
        }
    }

    #[test]
    fn direct_writer_writes_what_serde_writes() {
        let mut bases = frames_of_the_replay_capture();
        assert!(bases.len() > 1000, "{} frames", bases.len());
        bases.extend(crafted());
        let hostile = [
            "eth0",
            "",
            "we\"ird\\name",
            "tab\tnl\n\u{1}\u{1f}\u{7f}",
            "\u{e9}t\u{2028}h\u{1f600}",
        ];
        let mut x = 0x853c_49e6_748f_ea9bu64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut checked, mut kinds) = (0usize, std::collections::BTreeSet::new());
        let mut options = std::collections::BTreeSet::new();
        for (i, base) in bases.iter().enumerate() {
            // The frame, then mutants: a few bytes changed, or cut short.
            let mut variants = vec![base.clone()];
            for _ in 0..24 {
                let mut m = base.clone();
                if next() % 4 == 0 {
                    m.truncate(next() as usize % (m.len() + 1));
                } else {
                    for _ in 0..=next() % 3 {
                        let at = 14 + next() as usize % (m.len().max(15) - 14);
                        if let Some(b) = m.get_mut(at) {
                            *b = next() as u8;
                        }
                    }
                }
                variants.push(m);
            }
            for bytes in variants {
                for frame in [Frame::parse(&bytes), Frame::parse_fragment(&bytes)]
                    .into_iter()
                    .flatten()
                {
                    let r = next();
                    let ts =
                        SystemTime::UNIX_EPOCH + Duration::new(r >> 34, (r % 1_000_000_000) as u32);
                    let seen = Seen {
                        frame: (r % 3 == 0).then_some(i as u64 + 1),
                        ts,
                        iface: (r % 5 != 0)
                            .then(|| Arc::from(hostile[(r >> 8) as usize % hostile.len()])),
                        dir: [None, Some("ingress"), Some("egress")][(r >> 16) as usize % 3],
                        hook: ["xdp", "tc", "pcap"][(r >> 20) as usize % 3],
                    };
                    let mut p = Packet::new(seen, frame);
                    if r % 7 == 0 {
                        p.reassembled = Some(Reassembly {
                            id: r as u32,
                            fragments: (r >> 40) as u32 % 9,
                        });
                    }
                    kinds.insert(p.name().to_string());
                    if let Some(m) = &p.frame.icmp6 {
                        if let Some(o) = m.options() {
                            options.extend(o.iter().map(NdpOption::name));
                        }
                    }
                    let want = reference(&p);
                    assert_eq!(
                        String::from_utf8_lossy(&direct(&p)),
                        String::from_utf8_lossy(&want),
                        "frame {i}"
                    );
                    checked += 1;
                }
            }
        }
        // The comparison covered every NDP message, errors, echo and what does not decode.
        for k in [
            "router_solicit",
            "router_advert",
            "neighbor_solicit",
            "neighbor_advert",
            "redirect",
            "packet_too_big",
            "echo_request",
        ] {
            assert!(kinds.contains(k), "no {k} among {kinds:?}");
        }
        for o in [
            "source_ll_addr",
            "target_ll_addr",
            "prefix_info",
            "mtu",
            "nonce",
            "route_info",
            "rdnss",
            "ra_flags_ext",
            "dnssl",
            "captive_portal",
            "pref64",
            "malformed",
        ] {
            assert!(options.contains(o), "no {o} among {options:?}");
        }
        assert!(checked > 40_000, "{checked} lines compared");
    }
}
