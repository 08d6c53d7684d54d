//! `v6probe send rs|ra|ns|na|redirect`: one NDP message, every field from flags, sent as a raw
//! frame (any Ethernet source). Prints a `sent` line with the decode of each frame sent.
use std::{io, net::Ipv6Addr, process::ExitCode, time::Duration};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::{
    netio::{Capture, PacketSocket},
    output::JsonLines,
    send::{self as build, parse_fragment, HexBytes, Kind, LinkAddr, SendSpec},
    wire::{ipv6::FragmentInfo, EthernetAddress, Frame},
};

use super::EXIT_USAGE;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Message type.
    #[arg(value_enum)]
    pub kind: Kind,
    #[arg(short, long)]
    pub interface: String,
    /// IPv6 source (default: the interface's link-local address; `::` allowed).
    #[arg(long)]
    pub src: Option<Ipv6Addr>,
    /// IPv6 destination (default: ff02::2 for RS, ff02::1 for RA and NA, the target's
    /// solicited-node group for NS; required for redirect).
    #[arg(long)]
    pub dst: Option<Ipv6Addr>,
    /// Ethernet source (default: the interface's MAC), as aa:bb:cc:dd:ee:ff.
    #[arg(long)]
    pub src_mac: Option<EthernetAddress>,
    /// Ethernet destination (default: the multicast MAC of a multicast --dst).
    #[arg(long)]
    pub dst_mac: Option<EthernetAddress>,
    #[arg(long)]
    pub hop_limit: Option<u8>,
    /// ICMPv6 code (0 for valid NDP).
    #[arg(long)]
    pub code: Option<u8>,
    /// NS, NA, redirect: target address.
    #[arg(long)]
    pub target: Option<Ipv6Addr>,
    /// Redirect: destination address.
    #[arg(long)]
    pub destination: Option<Ipv6Addr>,
    /// NA: letters of R S O; RA: of M O H P.
    #[arg(long)]
    pub flags: Option<String>,
    /// RA: Cur Hop Limit.
    #[arg(long)]
    pub cur_hop_limit: Option<u8>,
    /// RA: router lifetime in seconds.
    #[arg(long)]
    pub router_lifetime: Option<u16>,
    /// RA: reachable time in ms.
    #[arg(long)]
    pub reachable_time: Option<u32>,
    /// RA: retrans timer in ms.
    #[arg(long)]
    pub retrans_timer: Option<u32>,
    /// RA: default router preference (high, medium, low, reserved).
    #[arg(long)]
    pub preference: Option<String>,
    /// RA: PREFIX[,valid=S][,preferred=S][,flags=LARP] (repeatable).
    #[arg(long = "prefix")]
    pub prefixes: Vec<String>,
    /// RA: ADDR[,ADDR..][,lifetime=S] (repeatable).
    #[arg(long)]
    pub rdnss: Vec<String>,
    /// RA: DOMAIN[,DOMAIN..][,lifetime=S] (repeatable).
    #[arg(long)]
    pub dnssl: Vec<String>,
    /// RA: PREFIX[,pref=high|medium|low][,lifetime=S] (repeatable).
    #[arg(long = "route")]
    pub routes: Vec<String>,
    /// RA: MTU option.
    #[arg(long)]
    pub mtu: Option<u32>,
    /// RA: captive portal URI (RFC 8910).
    #[arg(long)]
    pub captive_portal: Option<String>,
    /// RA: PREF64 PREFIX[,lifetime=S] (RFC 8781).
    #[arg(long)]
    pub pref64: Option<String>,
    /// RA: extended flags option, the 48 bits as a number (RFC 5175).
    #[arg(long)]
    pub ra_flags_ext: Option<u64>,
    /// RS, RA, NS: source link-layer address option (MAC, or the Ethernet source if no value).
    #[arg(long, num_args = 0..=1, default_missing_value = "auto")]
    pub slla: Option<LinkAddr>,
    /// NA, redirect: target link-layer address option (MAC, or the Ethernet source).
    #[arg(long, num_args = 0..=1, default_missing_value = "auto")]
    pub tlla: Option<LinkAddr>,
    /// Nonce option (RFC 3971), hex.
    #[arg(long)]
    pub nonce: Option<HexBytes>,
    /// Redirect: redirected header option, the quoted packet in hex.
    #[arg(long)]
    pub redirected_header: Option<HexBytes>,
    /// Any option: TYPE:HEX (data after the type and length bytes, zero-padded).
    #[arg(long = "option")]
    pub raw_options: Vec<String>,
    /// Hop-by-hop options header in front, of this many bytes (padding; default 8).
    #[arg(long, num_args = 0..=1, default_missing_value = "8")]
    pub hbh: Option<usize>,
    /// Destination options header in front, of this many bytes (padding; default 8).
    #[arg(long, num_args = 0..=1, default_missing_value = "8")]
    pub dstopt: Option<usize>,
    /// Fragment header in front: [id=N][,offset=N][,more] (the message is not split).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_parser = parse_fragment)]
    pub fragment: Option<FragmentInfo>,
    /// How many to send.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Time between sends (e.g. `100ms`, `1s`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub interval: Duration,
}

#[derive(Serialize)]
struct Sent<'a> {
    interface: &'a str,
    n: u64,
    len: usize,
    #[serde(flatten)]
    frame: &'a Frame,
}

pub fn exec(a: Args) -> Result<ExitCode> {
    let spec = SendSpec {
        src: a.src,
        dst: a.dst,
        src_mac: a.src_mac.map(|m| m.0),
        dst_mac: a.dst_mac.map(|m| m.0),
        hop_limit: a.hop_limit,
        code: a.code,
        target: a.target,
        destination: a.destination,
        flags: a.flags,
        cur_hop_limit: a.cur_hop_limit,
        router_lifetime: a.router_lifetime,
        reachable_time: a.reachable_time,
        retrans_timer: a.retrans_timer,
        preference: a.preference,
        prefixes: a.prefixes,
        rdnss: a.rdnss,
        dnssl: a.dnssl,
        routes: a.routes,
        mtu: a.mtu,
        slla: a.slla,
        tlla: a.tlla,
        nonce: a.nonce.map(|h| h.0),
        captive_portal: a.captive_portal,
        pref64: a.pref64,
        ra_flags_ext: a.ra_flags_ext,
        redirected_header: a.redirected_header.map(|h| h.0),
        raw_options: a.raw_options,
        hbh: a.hbh,
        dstopt: a.dstopt,
        fragment: a.fragment,
    };
    let sock = PacketSocket::open(&a.interface, Capture::Nothing)
        .with_context(|| format!("send {}", a.kind.name()))?;
    let mac = sock.mac().context("reading the interface MAC")?;
    let ll = crate::scan::link_local(&a.interface).ok();
    let frame = match build::build(a.kind, &spec, mac, ll) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("v6probe send: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let bytes = frame.to_bytes();
    let decoded = Frame::parse(&bytes).unwrap_or(frame);
    let mut out = JsonLines::new(io::stdout().lock());
    for n in 0..a.count {
        if n > 0 {
            std::thread::sleep(a.interval);
        }
        sock.send(&bytes)
            .with_context(|| format!("sending {} on {}", a.kind.name(), a.interface))?;
        out.write(
            "sent",
            &Sent {
                interface: &a.interface,
                n: n + 1,
                len: bytes.len(),
                frame: &decoded,
            },
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over the whole command line (types, defaults, names).
    #[test]
    fn command_line_is_consistent() {
        crate::cli::Cli::command().debug_assert();
    }
}
