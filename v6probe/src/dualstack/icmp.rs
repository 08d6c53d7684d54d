//! ICMPv6 errors as plain input for the dialer, whatever their source.
//!
//! Two sources feed the same channel ([`IcmpFeed`]):
//! - the socket error queue (IPV6_RECVERR), read by each dialer attempt: works without
//!   privileges (see [`super::errqueue`]);
//! - the kernel observer (eBPF), which sees every ICMPv6 error on the host: it calls
//!   [`push_observed_icmpv6`] with each captured ICMPv6 message.
//!
//! Only the error queue's events were checked by the kernel (checksum, socket, sequence
//! number). Every other source is hostile until shown otherwise: its messages must carry a
//! valid ICMPv6 checksum over the outer addresses (else they are refused here, and counted),
//! and the dialer believes an error only if it quotes a flow of one of its attempts with the
//! attempt's SYN sequence number (see [`super::plan`]).
use std::{
    net::Ipv6Addr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Instant, SystemTime},
};

use serde::Serialize;
use tokio::sync::broadcast;

use super::state::Observation;

pub const ICMPV6_DEST_UNREACH: u8 = 1;
pub const ICMPV6_PACKET_TOO_BIG: u8 = 2;
pub const ICMPV6_TIME_EXCEEDED: u8 = 3;
pub const ICMPV6_PARAM_PROBLEM: u8 = 4;

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IcmpSource {
    /// The attempt's own socket error queue (IPV6_RECVERR).
    Errqueue,
    /// The kernel observer (eBPF programs).
    Observer,
}

/// One ICMPv6 error, with the fields of the packet it quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IcmpErrorEvent {
    /// ICMPv6 type (1 destination unreachable, 2 packet too big, 3 time exceeded, 4 parameter
    /// problem).
    pub icmp_type: u8,
    pub code: u8,
    /// The MTU of a packet too big (0 otherwise).
    pub mtu: u32,
    /// The router (or host) that sent the error, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offender: Option<Ipv6Addr>,
    /// Source, destination, next header and ports of the quoted (offending) packet.
    pub quoted_src: Ipv6Addr,
    pub quoted_dst: Ipv6Addr,
    pub quoted_proto: u8,
    pub quoted_src_port: u16,
    pub quoted_dst_port: u16,
    /// The quoted TCP segment's sequence number, when quoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted_seq: Option<u32>,
    /// Monotonic time the error was seen (for ordering within a run).
    #[serde(skip)]
    pub seen_at: Instant,
    /// RFC 3339 wall-clock time it was seen.
    pub seen: String,
    pub source: IcmpSource,
}

impl IcmpErrorEvent {
    /// What the state machine learns from this error; `None` for a packet too big (an MTU to
    /// record, never a fallback) and for errors that say nothing about reachability.
    pub fn observation(&self) -> Option<Observation> {
        match self.icmp_type {
            ICMPV6_DEST_UNREACH => Some(Observation::DestUnreachable { code: self.code }),
            ICMPV6_TIME_EXCEEDED => Some(Observation::TimeExceeded),
            _ => None,
        }
    }

    /// Short text for timelines, e.g. `icmpv6 dest-unreach no-route from fd00:c::1`.
    pub fn describe(&self) -> String {
        let what = match (self.icmp_type, self.code) {
            (1, 0) => "destination unreachable (no route)".to_string(),
            (1, 1) => "destination unreachable (administratively prohibited)".to_string(),
            (1, 2) => "destination unreachable (beyond scope)".to_string(),
            (1, 3) => "destination unreachable (address unreachable)".to_string(),
            (1, 4) => "destination unreachable (port unreachable)".to_string(),
            (1, 5) => "destination unreachable (policy failed)".to_string(),
            (1, 6) => "destination unreachable (reject route)".to_string(),
            (2, _) => format!("packet too big (mtu {})", self.mtu),
            (3, 0) => "time exceeded (hop limit)".to_string(),
            (t, c) => format!("type {t} code {c}"),
        };
        match self.offender {
            Some(o) => format!("icmpv6 {what} from {o}"),
            None => format!("icmpv6 {what}"),
        }
    }

    /// Whether this error quotes a packet of the TCP flow `src:sport -> dst:dport`.
    pub fn matches_tcp(&self, src: Ipv6Addr, sport: u16, dst: Ipv6Addr, dport: u16) -> bool {
        self.quoted_proto == libc::IPPROTO_TCP as u8
            && self.quoted_src == src
            && self.quoted_dst == dst
            && self.quoted_src_port == sport
            && self.quoted_dst_port == dport
    }
}

/// Why an ICMPv6 message could not be turned into an [`IcmpErrorEvent`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("ICMPv6 message of {len} bytes is too short for {what}")]
    Truncated { len: usize, what: &'static str },
    #[error("ICMPv6 type {0} is not an error message this dialer uses")]
    NotAnError(u8),
    #[error("quoted packet is IPv{0}, not IPv6")]
    NotIpv6(u8),
    #[error(
        "ICMPv6 checksum of a {len}-byte message from {src} is wrong (forged, damaged or cut)"
    )]
    BadChecksum { src: Ipv6Addr, len: usize },
}

impl ParseError {
    /// A stable label for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::NotAnError(_) => "not_an_error",
            Self::NotIpv6(_) => "not_ipv6",
            Self::BadChecksum { .. } => "bad_checksum",
        }
    }

    const REASONS: [&'static str; 4] = ["truncated", "not_an_error", "not_ipv6", "bad_checksum"];
}

/// The outer IPv6 addresses of an ICMPv6 message: the checksum covers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outer {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

/// Parses an ICMPv6 error message (starting at its type byte) into an event, with the shared
/// `wire` decoder: the quoted packet is walked through its extension headers to the TCP/UDP
/// ports, as far as the quoted bytes go. With `outer`, the checksum is verified first (the
/// whole message is needed: a cut one fails); the sender becomes the offender.
pub fn parse_icmpv6_error(
    msg: &[u8],
    seen_at: Instant,
    seen: SystemTime,
    source: IcmpSource,
    outer: Option<Outer>,
) -> Result<IcmpErrorEvent, ParseError> {
    use v6probe_common::wire::icmpv6::{Icmpv6Repr, Message, QuotedUpper};

    let len = msg.len();
    if len < 8 {
        return Err(ParseError::Truncated {
            len,
            what: "the ICMPv6 header",
        });
    }
    let icmp_type = msg[0];
    if !(ICMPV6_DEST_UNREACH..=ICMPV6_PARAM_PROBLEM).contains(&icmp_type) {
        return Err(ParseError::NotAnError(icmp_type));
    }
    if let Some(o) = &outer {
        if !v6probe_common::wire::Icmpv6Packet::new_unchecked(msg).verify_checksum(&o.src, &o.dst) {
            return Err(ParseError::BadChecksum { src: o.src, len });
        }
    }
    let repr = Icmpv6Repr::parse(msg).map_err(|_| ParseError::Truncated {
        len,
        what: "the ICMPv6 header",
    })?;
    let (mtu, quoted) = match &repr.message {
        Message::PacketTooBig { mtu, quoted, .. } => (*mtu, quoted),
        Message::DestUnreachable { quoted, .. }
        | Message::TimeExceeded { quoted, .. }
        | Message::ParamProblem { quoted, .. } => (0, quoted),
        _ => return Err(ParseError::NotAnError(icmp_type)),
    };
    let (Some(quoted_src), Some(quoted_dst), Some(next_header)) =
        (quoted.src, quoted.dst, quoted.next_header)
    else {
        if len >= 8 + 40 && msg[8] >> 4 != 6 {
            return Err(ParseError::NotIpv6(msg[8] >> 4));
        }
        return Err(ParseError::Truncated {
            len,
            what: "the quoted IPv6 header",
        });
    };
    let (quoted_proto, quoted_src_port, quoted_dst_port) = match quoted.upper {
        Some(QuotedUpper::Tcp { src_port, dst_port }) => (6, src_port, dst_port),
        Some(QuotedUpper::Udp { src_port, dst_port }) => (17, src_port, dst_port),
        Some(QuotedUpper::Icmpv6 { .. }) => (58, 0, 0),
        None => (next_header, 0, 0),
    };
    // The TCP sequence number follows the ports (RFC 9293 3.1), from where the decoder found
    // the upper-layer header: after the 8-byte ICMPv6 header and the 40-byte quoted header.
    let quoted_seq = matches!(quoted.upper, Some(QuotedUpper::Tcp { .. }))
        .then(|| 8 + 40 + quoted.ext.upper_offset + 4)
        .and_then(|at| msg.get(at..at + 4))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes);
    Ok(IcmpErrorEvent {
        icmp_type,
        code: msg[1],
        mtu,
        offender: outer.map(|o| o.src),
        quoted_src,
        quoted_dst,
        quoted_proto,
        quoted_src_port,
        quoted_dst_port,
        quoted_seq,
        seen_at,
        seen: crate::output::rfc3339_nanos(seen),
        source,
    })
}

/// The channel every ICMPv6 error source pushes into; each dialer subscribes. A broadcast
/// channel, so one observer can feed many concurrent dialers. Cheap to clone; the clones share
/// the count of messages refused.
#[derive(Clone, Debug)]
pub struct IcmpFeed {
    tx: broadcast::Sender<IcmpErrorEvent>,
    refused: Arc<[AtomicU64; 4]>,
}

impl Default for IcmpFeed {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl IcmpFeed {
    /// A feed buffering up to `capacity` events per slow subscriber (older ones are dropped
    /// for that subscriber, and it logs how many).
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
            refused: Arc::default(),
        }
    }

    /// Pushes an event to every current subscriber (none: dropped, which is fine).
    pub fn push(&self, ev: IcmpErrorEvent) {
        let _ = self.tx.send(ev);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<IcmpErrorEvent> {
        self.tx.subscribe()
    }

    fn count_refused(&self, e: &ParseError) {
        if let Some(i) = ParseError::REASONS.iter().position(|r| *r == e.reason()) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Messages [`push_observed_icmpv6`] refused so far, by reason (`bad_checksum`,
    /// `truncated`, `not_an_error`, `not_ipv6`).
    pub fn refused(&self) -> Vec<(&'static str, u64)> {
        ParseError::REASONS
            .iter()
            .zip(self.refused.iter())
            .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
            .collect()
    }

    /// Prometheus text: `v6probe_icmp_refused_total` by reason.
    pub fn render_prometheus(&self) -> String {
        let mut s = String::from(
            "# HELP v6probe_icmp_refused_total ICMPv6 messages from the observer refused before any dialer saw them.\n\
             # TYPE v6probe_icmp_refused_total counter\n",
        );
        for (r, n) in self.refused() {
            s.push_str(&format!(
                "v6probe_icmp_refused_total{{reason=\"{r}\"}} {n}\n"
            ));
        }
        s
    }
}

/// The entry point for the kernel observer: checks and converts one ICMPv6 message the eBPF
/// programs captured (bytes from the ICMPv6 type byte, e.g. `record.message()`; `msg_len`: the
/// length the IPv6 header gives it, `record.msg_len`), with the outer IPv6 addresses, and
/// pushes it to the dialers. A message cut by the capture (its checksum cannot be verified),
/// with a wrong checksum, or that is not an ICMPv6 error about an IPv6 packet, is refused,
/// counted in the feed, and returned as the error.
pub fn push_observed_icmpv6(
    feed: &IcmpFeed,
    icmpv6_message: &[u8],
    msg_len: usize,
    outer: Outer,
    seen_at: Instant,
    seen: SystemTime,
) -> Result<(), ParseError> {
    let parsed = if icmpv6_message.len() < msg_len {
        Err(ParseError::Truncated {
            len: icmpv6_message.len(),
            what: "its checksum (the capture cut the message)",
        })
    } else {
        parse_icmpv6_error(
            icmpv6_message,
            seen_at,
            seen,
            IcmpSource::Observer,
            Some(outer),
        )
    };
    match parsed {
        Ok(ev) => {
            feed.push(ev);
            Ok(())
        }
        Err(e) => {
            feed.count_refused(&e);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: Outer = Outer {
        src: Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 1),
        dst: Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 2),
    };

    /// An ICMPv6 destination unreachable (no route) quoting a TCP SYN from
    /// [2001:db8:c::2]:36732 to [2001:db8:5::2]:80, laid out as a router sends it (synthetic;
    /// the layout matches the lab capture of a Linux router with an `unreachable` route), with
    /// the checksum for [`ROUTER`]'s addresses.
    fn no_route_msg() -> Vec<u8> {
        let mut m = vec![1, 0, 0, 0, 0, 0, 0, 0];
        // Quoted IPv6 header: version 6, payload 40, next header TCP, hop limit 63.
        m.extend_from_slice(&[0x60, 0, 0, 0, 0, 40, 6, 63]);
        m.extend_from_slice(&"2001:db8:c::2".parse::<Ipv6Addr>().unwrap().octets());
        m.extend_from_slice(&"2001:db8:5::2".parse::<Ipv6Addr>().unwrap().octets());
        // TCP header start: ports 36732 -> 80, sequence number.
        m.extend_from_slice(&[0x8f, 0x7c, 0x00, 0x50, 0x11, 0x46, 0x79, 0x4f]);
        seal(&mut m);
        m
    }

    /// Sets the checksum for [`ROUTER`]'s addresses.
    fn seal(m: &mut [u8]) {
        m[2..4].fill(0);
        let c = v6probe_common::wire::checksum::compute(&ROUTER.src, &ROUTER.dst, 58, m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn parses_quoted_flow_and_matches() {
        let ev = parse_icmpv6_error(
            &no_route_msg(),
            Instant::now(),
            SystemTime::UNIX_EPOCH,
            IcmpSource::Observer,
            Some(ROUTER),
        )
        .unwrap();
        assert_eq!((ev.icmp_type, ev.code, ev.mtu), (1, 0, 0));
        assert_eq!(ev.offender, Some(ROUTER.src));
        assert_eq!(ev.quoted_src_port, 36732);
        assert_eq!(ev.quoted_dst_port, 80);
        assert_eq!(ev.quoted_seq, Some(0x1146_794f));
        assert!(ev.matches_tcp(
            "2001:db8:c::2".parse().unwrap(),
            36732,
            "2001:db8:5::2".parse().unwrap(),
            80
        ));
        assert!(!ev.matches_tcp(
            "2001:db8:c::2".parse().unwrap(),
            36733,
            "2001:db8:5::2".parse().unwrap(),
            80
        ));
        assert_eq!(
            ev.observation(),
            Some(Observation::DestUnreachable { code: 0 })
        );
        assert!(ev.describe().contains("no route"), "{}", ev.describe());
        // Cut before the sequence number: no sequence number.
        let mut cut = no_route_msg()[..8 + 40 + 6].to_vec();
        seal(&mut cut);
        let ev = parse_icmpv6_error(
            &cut,
            Instant::now(),
            SystemTime::UNIX_EPOCH,
            IcmpSource::Observer,
            Some(ROUTER),
        )
        .unwrap();
        assert_eq!((ev.quoted_dst_port, ev.quoted_seq), (80, None));
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        let now = Instant::now();
        let t = SystemTime::UNIX_EPOCH;
        let mut m = no_route_msg();
        m[2] ^= 0xff;
        assert_eq!(
            parse_icmpv6_error(&m, now, t, IcmpSource::Observer, Some(ROUTER)),
            Err(ParseError::BadChecksum {
                src: ROUTER.src,
                len: m.len()
            })
        );
        // The right bytes from another sender (the checksum covers the outer addresses).
        let other = Outer {
            src: "2001:db8:c::66".parse().unwrap(),
            ..ROUTER
        };
        assert!(matches!(
            parse_icmpv6_error(&no_route_msg(), now, t, IcmpSource::Observer, Some(other)),
            Err(ParseError::BadChecksum { .. })
        ));
        // A message cut short fails the same way.
        let m = no_route_msg();
        assert!(matches!(
            parse_icmpv6_error(
                &m[..m.len() - 2],
                now,
                t,
                IcmpSource::Observer,
                Some(ROUTER)
            ),
            Err(ParseError::BadChecksum { .. })
        ));
    }

    #[test]
    fn packet_too_big_carries_mtu_and_no_observation() {
        let mut m = no_route_msg();
        m[0] = 2;
        m[4..8].copy_from_slice(&1280u32.to_be_bytes());
        let ev = parse_icmpv6_error(
            &m,
            Instant::now(),
            SystemTime::UNIX_EPOCH,
            IcmpSource::Observer,
            None,
        )
        .unwrap();
        assert_eq!(ev.mtu, 1280);
        assert_eq!(ev.observation(), None);
    }

    #[test]
    fn rejects_short_and_non_error_messages() {
        let now = Instant::now();
        let t = SystemTime::UNIX_EPOCH;
        let m = no_route_msg();
        assert!(matches!(
            parse_icmpv6_error(&m[..20], now, t, IcmpSource::Observer, None),
            Err(ParseError::Truncated { .. })
        ));
        let mut echo = m.clone();
        echo[0] = 128;
        assert_eq!(
            parse_icmpv6_error(&echo, now, t, IcmpSource::Observer, None),
            Err(ParseError::NotAnError(128))
        );
        let mut v4 = m;
        v4[8] = 0x45;
        assert_eq!(
            parse_icmpv6_error(&v4, now, t, IcmpSource::Observer, None),
            Err(ParseError::NotIpv6(4))
        );
    }

    #[tokio::test]
    async fn observer_entry_point_reaches_subscribers_and_counts_refusals() {
        let feed = IcmpFeed::new(8);
        let mut rx = feed.subscribe();
        push_observed_icmpv6(
            &feed,
            &no_route_msg(),
            no_route_msg().len(),
            ROUTER,
            Instant::now(),
            SystemTime::now(),
        )
        .unwrap();
        let ev = rx.recv().await.unwrap();
        assert_eq!(ev.source, IcmpSource::Observer);
        assert!(push_observed_icmpv6(
            &feed,
            &[128, 0, 0, 0],
            4,
            ROUTER,
            Instant::now(),
            SystemTime::now()
        )
        .is_err());
        let mut bad = no_route_msg();
        bad[3] ^= 1;
        for _ in 0..3 {
            assert!(push_observed_icmpv6(
                &feed,
                &bad,
                bad.len(),
                ROUTER,
                Instant::now(),
                SystemTime::now()
            )
            .is_err());
        }
        // Cut by the capture: not checkable.
        let m = no_route_msg();
        assert!(push_observed_icmpv6(
            &feed,
            &m[..40],
            m.len(),
            ROUTER,
            Instant::now(),
            SystemTime::now()
        )
        .is_err());
        let refused: std::collections::BTreeMap<_, _> = feed.refused().into_iter().collect();
        assert_eq!(refused["bad_checksum"], 3);
        assert_eq!(refused["truncated"], 2);
        assert!(
            rx.try_recv().is_err(),
            "nothing refused reached the dialers"
        );
        assert!(feed
            .render_prometheus()
            .contains("v6probe_icmp_refused_total{reason=\"bad_checksum\"} 3"));
    }
}
