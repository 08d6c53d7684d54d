//! The `"kind":"packet"` line: one decoded frame plus where and when it was seen. Printed by
//! `monitor` (kernel records), `decode` and `monitor --pcap` (capture files), from the same
//! decoder ([`Frame`]) and the same validation, so every consumer sees one schema.
//!
//! ```text
//! {"kind":"packet","v":1,"ts":"2026-11-26T17:45:05.034648650Z","iface":"eth0","dir":"ingress",
//!  "hook":"xdp","eth":{..},"ip6":{..},"icmp6":{..}|null,"truncated":false,"violations":[..]}
//! ```
//! `decode` adds `"frame"` (1-based number in the file). See README, "Output schema".
use std::{
    net::Ipv6Addr,
    sync::{Arc, OnceLock},
    time::SystemTime,
};

use serde::Serialize;
use v6probe_common::{
    abi::{direction, hook, RecordRef},
    wire::{validate::Violation, Frame, FrameError},
};

use crate::output::{ser_rfc3339, Rfc3339};

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
            dir: Some(if rec.header.direction == direction::EGRESS {
                "egress"
            } else {
                "ingress"
            }),
            hook: if rec.header.hook == hook::TC {
                "tc"
            } else {
                "xdp"
            },
        }
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
    violations: OnceLock<Vec<Violation>>,
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

    /// An already decoded frame.
    pub fn new(seen: Seen, frame: Frame) -> Self {
        Self {
            seen,
            frame,
            reassembled: None,
            violations: OnceLock::new(),
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
