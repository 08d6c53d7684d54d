//! Minimal capture writers (pcap with nanosecond timestamps, pcapng with interface names and
//! directions), for tests, labs and saving frames a tool produced. Both write Ethernet frames.
use std::{
    io::{self, Write},
    time::{SystemTime, UNIX_EPOCH},
};

use super::{link_type, Direction};

fn since_epoch(ts: SystemTime) -> (u64, u32) {
    let d = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.subsec_nanos())
}

/// A pcap file (little-endian, nanosecond timestamps, LINKTYPE_ETHERNET).
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_3c4du32.to_le_bytes())?; // nanosecond magic
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&link_type::ETHERNET.to_le_bytes())?;
        Ok(Self { out })
    }

    /// Appends one frame.
    pub fn write(&mut self, ts: SystemTime, frame: &[u8]) -> io::Result<()> {
        let (s, ns) = since_epoch(ts);
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
        self.out.write_all(&(s as u32).to_le_bytes())?;
        self.out.write_all(&ns.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(frame)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A pcapng file (little-endian, one section, nanosecond resolution interfaces).
pub struct PcapNgWriter<W: Write> {
    out: W,
    interfaces: u32,
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(pad4(buf.len()), 0);
}

impl<W: Write> PcapNgWriter<W> {
    /// Writes the section header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        block(&mut out, 0x0a0d_0d0a, &body)?;
        Ok(Self { out, interfaces: 0 })
    }

    /// Adds an Ethernet interface (nanosecond timestamps); returns its id.
    pub fn add_interface(&mut self, name: Option<&str>) -> io::Result<u32> {
        let mut body = Vec::new();
        body.extend_from_slice(&(link_type::ETHERNET as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&262_144u32.to_le_bytes());
        if let Some(n) = name {
            option(&mut body, 2, n.as_bytes()); // if_name
        }
        option(&mut body, 9, &[9]); // if_tsresol: 10^-9
        option(&mut body, 0, &[]); // opt_endofopt
        block(&mut self.out, 1, &body)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Appends one frame on interface `if_id`, with `epb_flags` when `dir` is given.
    pub fn write(
        &mut self,
        if_id: u32,
        ts: SystemTime,
        dir: Option<Direction>,
        frame: &[u8],
    ) -> io::Result<()> {
        let (s, ns) = since_epoch(ts);
        let t = s * 1_000_000_000 + u64::from(ns);
        let len = frame.len() as u32;
        let mut body = Vec::new();
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(t as u32).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(frame);
        body.resize(pad4(body.len()), 0);
        if let Some(d) = dir {
            let flags: u32 = match d {
                Direction::Inbound => 1,
                Direction::Outbound => 2,
            };
            option(&mut body, 2, &flags.to_le_bytes());
            option(&mut body, 0, &[]);
        }
        block(&mut self.out, 6, &body)
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn block<W: Write>(out: &mut W, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}
