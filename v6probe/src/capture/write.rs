//! Capture writers (pcap with nanosecond timestamps; pcapng with interface names, directions
//! and packet comments), for tests, labs and saving frames a tool produced or saw. Both write
//! little-endian files of Ethernet frames. The block layout is `pcap-file`'s: this module only
//! fixes the choices (link type, resolution, snap length) and maps errors to `io::Error`.
use std::{
    borrow::Cow,
    io::{self, Write},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use pcap_file::{
    pcap::{PcapHeader, PcapPacket, PcapTsResolution},
    pcapng::{
        blocks::{
            enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption},
            interface_description::{
                InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
            },
            opt_common::CommonOption,
        },
        PcapNgBlock,
    },
    DataLink, Endianness,
};

use super::Direction;

/// Snap length written in the headers (the frames themselves are never cut).
const SNAPLEN: u32 = 262_144;

fn since_epoch(ts: SystemTime) -> Duration {
    ts.duration_since(UNIX_EPOCH).unwrap_or_default()
}

fn io_error(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    // I/O failures come back as they were; anything else is a value the format cannot hold.
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return io::Error::new(io.kind(), e.to_string());
        }
        src = s.source();
    }
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

fn frame_len(frame: &[u8]) -> io::Result<u32> {
    u32::try_from(frame.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))
}

/// A pcap file (little-endian, nanosecond timestamps, LINKTYPE_ETHERNET).
pub struct PcapWriter<W: Write> {
    inner: pcap_file::pcap::PcapWriter<W>,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(out: W) -> io::Result<Self> {
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: PcapTsResolution::NanoSecond,
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        Ok(Self {
            inner: pcap_file::pcap::PcapWriter::with_header(out, header).map_err(io_error)?,
        })
    }

    /// Appends one frame.
    pub fn write(&mut self, ts: SystemTime, frame: &[u8]) -> io::Result<()> {
        let p = PcapPacket::new(since_epoch(ts), frame_len(frame)?, frame).map_err(io_error)?;
        self.inner.write_packet(&p).map(drop).map_err(io_error)
    }

    pub fn into_inner(self) -> W {
        self.inner.into_inner()
    }
}

/// A pcapng file (little-endian, one section, Ethernet interfaces with nanosecond timestamps).
pub struct PcapNgWriter<W: Write> {
    inner: pcap_file::pcapng::PcapNgWriter<W>,
    interfaces: u32,
}

impl<W: Write> PcapNgWriter<W> {
    /// Writes the section header.
    pub fn new(out: W) -> io::Result<Self> {
        Ok(Self {
            inner: pcap_file::pcapng::PcapNgWriter::with_endianness(out, Endianness::Little)
                .map_err(io_error)?,
            interfaces: 0,
        })
    }

    /// Adds an Ethernet interface (nanosecond timestamps, `if_name` when given); returns its id.
    pub fn add_interface(&mut self, name: Option<&str>) -> io::Result<u32> {
        let mut options = Vec::new();
        if let Some(n) = name {
            options.push(InterfaceDescriptionOption::IfName(Cow::Borrowed(n)));
        }
        options.push(InterfaceDescriptionOption::IfTsResol(
            InterfaceTsResolution::NANO,
        ));
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: SNAPLEN,
            options,
        };
        self.inner
            .write_block(&idb.into_block())
            .map_err(io_error)?;
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
        self.write_commented(if_id, ts, dir, None, frame)
    }

    /// Appends one frame as [`Self::write`] does, with a packet comment (`opt_comment`, e.g.
    /// why the frame was kept) when given.
    pub fn write_commented(
        &mut self,
        if_id: u32,
        ts: SystemTime,
        dir: Option<Direction>,
        comment: Option<&str>,
        frame: &[u8],
    ) -> io::Result<()> {
        let mut options = Vec::new();
        if let Some(c) = comment {
            options.push(EnhancedPacketOption::Common(CommonOption::Comment(
                Cow::Borrowed(c),
            )));
        }
        if let Some(d) = dir {
            // epb_flags bits 0-1: 01 inbound, 10 outbound.
            options.push(EnhancedPacketOption::Flags(match d {
                Direction::Inbound => 1,
                Direction::Outbound => 2,
            }));
        }
        let epb = EnhancedPacketBlock {
            interface_id: if_id,
            timestamp: since_epoch(ts),
            original_len: frame_len(frame)?,
            data: Cow::Borrowed(frame),
            options,
        };
        self.inner
            .write_block(&epb.into_block())
            .map(drop)
            .map_err(io_error)
    }

    pub fn get_ref(&self) -> &W {
        self.inner.get_ref()
    }

    pub fn into_inner(self) -> W {
        self.inner.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    #[test]
    fn pcapng_comments_directions_and_interface_names_read_back() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        let a = w.add_interface(Some("v6p-a")).unwrap();
        w.write_commented(
            a,
            t,
            Some(Direction::Inbound),
            Some("ra_rogue"),
            &[0xaa; 60],
        )
        .unwrap();
        // An undefined interface is refused, not written.
        let before = w.get_ref().len();
        assert!(w.write(7, t, None, &[0; 60]).is_err());
        assert_eq!(w.get_ref().len(), before);
        let file = w.into_inner();
        let got: Vec<_> = CaptureReader::new(&file[..])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].ts, t);
        assert_eq!(got[0].iface.as_deref(), Some("v6p-a"));
        assert_eq!(got[0].direction, Some(Direction::Inbound));
        let at = file
            .windows(8)
            .position(|x| x == b"ra_rogue")
            .expect("the comment is in the file");
        // opt_comment: code 1, length 8, then the text.
        assert_eq!(&file[at - 4..at], &[1, 0, 8, 0]);
    }
}
