//! Reading capture files: pcap and pcapng, frame by frame.
//!
//! [`CaptureReader`] is an iterator of [`CaptureFrame`]s: the 1-based frame number, the byte
//! offset of the frame's record in the file, the timestamp, the interface name and direction
//! when pcapng says them, the link type and the captured bytes. It streams (a bounded buffer,
//! not the whole file), so `decode` and `monitor --pcap` work on captures of any size.
//!
//! A damaged file yields the frames before the damage, then one [`CaptureError`] naming the byte
//! offset of the record that could not be read, then ends.
//!
//! Only the frames' link type is checked, not interpreted: [`CaptureFrame::link_type`] says what
//! the bytes are, and the consumer skips what it cannot decode (`decode --all` prints a
//! `skipped` line with reason `unsupported_link_type`).
use std::{
    cell::RefCell,
    fs::File,
    io::{self, Read},
    path::{Path, PathBuf},
    rc::Rc,
    time::{Duration, SystemTime},
};

use pcap_parser::{
    pcapng::{Block, EnhancedPacketBlock, InterfaceDescriptionBlock, PcapNGOption},
    traits::{PcapNGPacketBlock, PcapReaderIterator},
    PcapBlockOwned, PcapError,
};

use serde::Serialize;
use v6probe_common::wire::Frame;

use crate::packet::{Packet, Seen};

#[cfg(test)]
mod tests;
pub mod write;

/// Link-layer header types (tcpdump.org/linktypes.html) the reader names.
pub mod link_type {
    /// LINKTYPE_ETHERNET: the only one the frame decoder reads.
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;

    /// A short name for messages.
    pub fn name(t: u32) -> &'static str {
        match t {
            0 => "null",
            ETHERNET => "ethernet",
            RAW => "raw",
            LINUX_SLL => "linux_sll",
            IPV6 => "ipv6",
            LINUX_SLL2 => "linux_sll2",
            _ => "other",
        }
    }
}

/// Initial read buffer; it grows for larger records up to [`MAX_RECORD`].
const INITIAL_BUFFER: usize = 1 << 16;
/// The largest record (pcap record or pcapng block) the reader accepts. Larger ones are taken
/// as corruption (a damaged length field) rather than allocated.
pub const MAX_RECORD: usize = 64 << 20;

/// File magics: pcapng section header; pcap micro- and nanosecond, both byte orders; the
/// "modified" (Kuznetzov) pcap.
const MAGICS: [[u8; 4]; 7] = [
    [0x0a, 0x0d, 0x0d, 0x0a],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x34, 0xcd, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xcd, 0x34],
];

/// pcapng option codes (draft-ietf-opsawg-pcapng section 4.2 and 4.3).
const OPT_IF_NAME: u16 = 2;
const OPT_EPB_FLAGS: u16 = 2;

/// Why a capture file cannot be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("read error at byte offset {offset}: {source}")]
    Read { offset: u64, source: io::Error },
    #[error("empty file: not a pcap or pcapng capture")]
    Empty,
    #[error("not a pcap or pcapng capture (unrecognised file header)")]
    NotCapture,
    #[error(
        "truncated capture: the record at byte offset {offset} is cut short by the end of the file"
    )]
    Truncated { offset: u64 },
    #[error("corrupt capture at byte offset {offset}: {what}")]
    Corrupt { offset: u64, what: String },
    #[error("corrupt capture at byte offset {offset}: a record longer than {limit} bytes")]
    RecordTooLarge { offset: u64, limit: usize },
}

impl CaptureError {
    /// The byte offset the error is about, for errors that have one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Read { offset, .. }
            | Self::Truncated { offset }
            | Self::Corrupt { offset, .. }
            | Self::RecordTooLarge { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// Direction of a frame, from the pcapng `epb_flags` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// `ingress` / `egress`, as in `packet` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "ingress",
            Self::Outbound => "egress",
        }
    }
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

/// One frame read from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureFrame {
    /// 1-based number in the file (the number Wireshark shows).
    pub number: u64,
    /// Byte offset of the frame's record (pcap record header or pcapng block) in the file.
    pub offset: u64,
    /// Capture time. Simple Packet Blocks carry none: they get `UNIX_EPOCH`.
    pub ts: SystemTime,
    /// Interface name (pcapng `if_name`).
    pub iface: Option<String>,
    /// Direction (pcapng `epb_flags`).
    pub direction: Option<Direction>,
    /// LINKTYPE_* of the frame's interface (see [`link_type`]).
    pub link_type: u32,
    /// Length of the frame on the wire (may exceed `data.len()` when the capture cut it).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

impl CaptureFrame {
    pub fn is_ethernet(&self) -> bool {
        self.link_type == link_type::ETHERNET
    }

    /// Where and when the frame was seen, for its `packet` line.
    pub fn seen(&self) -> Seen {
        Seen::from_capture(
            self.number,
            self.ts,
            self.iface.clone(),
            self.direction.map(Direction::as_str),
        )
    }

    /// Decodes and validates the frame (the `packet` line of `decode` and `monitor --pcap`),
    /// or says why it is not an ICMPv6 frame the decoder represents.
    pub fn decode(&self) -> Result<Packet, Skipped> {
        if !self.is_ethernet() {
            return Err(Skipped {
                frame: self.number,
                reason: "unsupported_link_type",
                detail: format!(
                    "link type {} ({}): only Ethernet (1) is decoded",
                    self.link_type,
                    link_type::name(self.link_type)
                ),
                link_type: Some(self.link_type),
            });
        }
        match Frame::parse(&self.data) {
            Ok(frame) => Ok(Packet::new(self.seen(), frame)),
            Err(e) => Err(Skipped {
                frame: self.number,
                reason: e.code(),
                detail: e.to_string(),
                link_type: None,
            }),
        }
    }
}

/// A frame that is not an ICMPv6 frame on Ethernet: the body of a `"kind":"skipped"` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// 1-based frame number.
    pub frame: u64,
    /// Stable snake_case reason: `unsupported_link_type`, or [`v6probe_common::wire::FrameError::code`]
    /// (`not_ipv6`, `not_icmpv6`, `truncated`, `malformed`).
    pub reason: &'static str,
    /// Readable detail (the EtherType, next header, link type, ...).
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_type: Option<u32>,
}

/// What the reader knows about one pcapng interface.
#[derive(Clone, Debug)]
struct Interface {
    link_type: u32,
    name: Option<String>,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    ts_offset: i64,
}

/// State carried between records.
#[derive(Debug, Default)]
struct State {
    format: Option<Format>,
    /// pcap: link type and timestamp fraction unit per second.
    pcap_link_type: u32,
    pcap_frac_per_sec: u64,
    /// pcapng: the current section's byte order and interfaces.
    big_endian: bool,
    interfaces: Vec<Interface>,
    frames: u64,
}

/// A `Read` that keeps the last I/O error, which pcap-parser reduces to `ReadError`.
struct Tap<R> {
    inner: R,
    err: Rc<RefCell<Option<io::Error>>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    *self.err.borrow_mut() = Some(e);
                    return Err(copy);
                }
                ok => return ok,
            }
        }
    }
}

/// Streams the frames of a pcap or pcapng capture; see the module documentation.
pub struct CaptureReader<'r> {
    reader: Box<dyn PcapReaderIterator + 'r>,
    io_err: Rc<RefCell<Option<io::Error>>>,
    state: State,
    buffer: usize,
    done: bool,
}

impl std::fmt::Debug for CaptureReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("state", &self.state)
            .field("done", &self.done)
            .finish()
    }
}

impl CaptureReader<'static> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let f = File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(f)
    }
}

impl<'r> CaptureReader<'r> {
    /// Reads a capture from any byte stream (the format is probed: pcapng first, then pcap).
    pub fn new<R: Read + 'r>(mut inner: R) -> Result<Self, CaptureError> {
        // Look at the magic first, so a short or foreign file is "not a capture" rather than
        // a truncated one. pcap-parser probes the format with a single read, so hand it a
        // prefix long enough for any file header.
        let mut head = vec![0u8; 4096];
        let mut got = 0;
        while got < head.len() {
            match inner.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(CaptureError::Read {
                        offset: got as u64,
                        source,
                    })
                }
            }
        }
        head.truncate(got);
        if head.is_empty() {
            return Err(CaptureError::Empty);
        }
        if !head.get(..4).is_some_and(|m| MAGICS.iter().any(|x| x == m)) {
            return Err(CaptureError::NotCapture);
        }
        let io_err = Rc::new(RefCell::new(None));
        let tap = Tap {
            inner: io::Cursor::new(head).chain(inner),
            err: io_err.clone(),
        };
        let reader = match pcap_parser::create_reader(INITIAL_BUFFER, tap) {
            Ok(r) => r,
            Err(e) => {
                return Err(match e {
                    PcapError::Eof => CaptureError::Empty,
                    PcapError::ReadError => CaptureError::Read {
                        offset: 0,
                        source: take_io(&io_err),
                    },
                    PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                        CaptureError::Truncated { offset: 0 }
                    }
                    _ => CaptureError::NotCapture,
                })
            }
        };
        Ok(Self {
            reader,
            io_err,
            state: State::default(),
            buffer: INITIAL_BUFFER,
            done: false,
        })
    }

    /// The file format, known once the first record has been read.
    pub fn format(&self) -> Option<Format> {
        self.state.format
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.reader.consumed() as u64
    }

    fn fail(&mut self, e: CaptureError) -> Option<Result<CaptureFrame, CaptureError>> {
        self.done = true;
        Some(Err(e))
    }
}

fn take_io(slot: &Rc<RefCell<Option<io::Error>>>) -> io::Error {
    slot.borrow_mut()
        .take()
        .unwrap_or_else(|| io::Error::other("read failed"))
}

/// What one record turned into.
enum Step {
    Frame(CaptureFrame),
    Other,
    Error(CaptureError),
}

impl Iterator for CaptureReader<'_> {
    type Item = Result<CaptureFrame, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let offset = self.reader.consumed() as u64;
            let (len, step) = match self.reader.next() {
                Ok((len, block)) => (len, handle(&mut self.state, offset, block)),
                Err(PcapError::Eof) => {
                    self.done = true;
                    return None;
                }
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.refill().is_err() {
                        let source = take_io(&self.io_err);
                        return self.fail(CaptureError::Read { offset, source });
                    }
                    continue;
                }
                Err(PcapError::BufferTooSmall) => {
                    if self.buffer >= MAX_RECORD {
                        return self.fail(CaptureError::RecordTooLarge {
                            offset,
                            limit: MAX_RECORD,
                        });
                    }
                    self.buffer = (self.buffer * 4).min(MAX_RECORD);
                    let grown = self.reader.grow(self.buffer);
                    if !grown || self.reader.refill().is_err() {
                        return self.fail(CaptureError::RecordTooLarge {
                            offset,
                            limit: self.buffer,
                        });
                    }
                    continue;
                }
                Err(PcapError::UnexpectedEof) => {
                    return self.fail(CaptureError::Truncated { offset });
                }
                Err(PcapError::ReadError) => {
                    let source = take_io(&self.io_err);
                    return self.fail(CaptureError::Read { offset, source });
                }
                Err(PcapError::NomError(_, kind)) | Err(PcapError::OwnedNomError(_, kind)) => {
                    let what = format!("unreadable record ({})", kind.description());
                    return self.fail(CaptureError::Corrupt { offset, what });
                }
                Err(PcapError::HeaderNotRecognized) => {
                    let what = "unrecognised record".to_string();
                    return self.fail(CaptureError::Corrupt { offset, what });
                }
            };
            self.reader.consume(len);
            match step {
                Step::Frame(f) => return Some(Ok(f)),
                Step::Other => {}
                Step::Error(e) => return self.fail(e),
            }
        }
    }
}

fn handle(st: &mut State, offset: u64, block: PcapBlockOwned<'_>) -> Step {
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            st.format = Some(Format::Pcap);
            st.pcap_link_type = h.network.0 as u32;
            st.pcap_frac_per_sec = if h.is_nanosecond_precision() {
                1_000_000_000
            } else {
                1_000_000
            };
            Step::Other
        }
        PcapBlockOwned::Legacy(b) => {
            st.frames += 1;
            let frac = u64::from(b.ts_usec);
            if frac >= st.pcap_frac_per_sec {
                return Step::Error(CaptureError::Corrupt {
                    offset,
                    what: format!("timestamp fraction {frac} is not below one second"),
                });
            }
            let nanos = frac * (1_000_000_000 / st.pcap_frac_per_sec);
            let data_len = (b.caplen as usize).min(b.data.len());
            Step::Frame(CaptureFrame {
                number: st.frames,
                offset,
                ts: SystemTime::UNIX_EPOCH + Duration::new(u64::from(b.ts_sec), nanos as u32),
                iface: None,
                direction: None,
                link_type: st.pcap_link_type,
                orig_len: b.origlen,
                data: b.data[..data_len].to_vec(),
            })
        }
        PcapBlockOwned::NG(b) => handle_ng(st, offset, b),
    }
}

fn opt_u32(o: &PcapNGOption<'_>, big_endian: bool) -> Option<u32> {
    let v: [u8; 4] = o.value().get(..4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    })
}

fn interface(idb: &InterfaceDescriptionBlock<'_>) -> Interface {
    let name = idb
        .options
        .iter()
        .find(|o| o.code.0 == OPT_IF_NAME)
        .map(|o| {
            let v = o.value();
            let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
            String::from_utf8_lossy(&v[..end]).into_owned()
        });
    Interface {
        link_type: idb.linktype.0 as u32,
        name,
        // `None` for a resolution beyond 2^64 units per second; such a file is nonsense, read
        // its timestamps as microseconds (the default) rather than fail.
        resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
        ts_offset: idb.ts_offset(),
    }
}

fn ng_time(ts: u64, ifc: &Interface) -> SystemTime {
    let res = ifc.resolution;
    let secs = ts / res;
    let nanos = (u128::from(ts % res) * 1_000_000_000 / u128::from(res)) as u32;
    let base = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    let off = Duration::from_secs(ifc.ts_offset.unsigned_abs());
    if ifc.ts_offset >= 0 {
        base.checked_add(off).unwrap_or(base)
    } else {
        base.checked_sub(off).unwrap_or(base)
    }
}

fn epb_direction(epb: &EnhancedPacketBlock<'_>, big_endian: bool) -> Option<Direction> {
    let flags = epb
        .options
        .iter()
        .find(|o| o.code.0 == OPT_EPB_FLAGS)
        .and_then(|o| opt_u32(o, big_endian))?;
    match flags & 0b11 {
        1 => Some(Direction::Inbound),
        2 => Some(Direction::Outbound),
        _ => None,
    }
}

fn handle_ng(st: &mut State, offset: u64, block: Block<'_>) -> Step {
    match block {
        Block::SectionHeader(shb) => {
            st.format = Some(Format::PcapNg);
            st.big_endian = shb.big_endian();
            // Interface ids are per section.
            st.interfaces.clear();
            Step::Other
        }
        Block::InterfaceDescription(idb) => {
            st.interfaces.push(interface(&idb));
            Step::Other
        }
        Block::EnhancedPacket(epb) => {
            st.frames += 1;
            let Some(ifc) = st.interfaces.get(epb.if_id as usize) else {
                return Step::Error(CaptureError::Corrupt {
                    offset,
                    what: format!(
                        "packet block refers to interface {}, which no interface block defined",
                        epb.if_id
                    ),
                });
            };
            let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            Step::Frame(CaptureFrame {
                number: st.frames,
                offset,
                ts: ng_time(ts, ifc),
                iface: ifc.name.clone(),
                direction: epb_direction(&epb, st.big_endian),
                link_type: ifc.link_type,
                orig_len: epb.origlen,
                data: epb.packet_data().to_vec(),
            })
        }
        Block::SimplePacket(spb) => {
            st.frames += 1;
            // RFC-draft pcapng 4.4: a Simple Packet Block belongs to the first interface.
            let Some(ifc) = st.interfaces.first() else {
                return Step::Error(CaptureError::Corrupt {
                    offset,
                    what: "simple packet block before any interface block".to_string(),
                });
            };
            Step::Frame(CaptureFrame {
                number: st.frames,
                offset,
                ts: SystemTime::UNIX_EPOCH,
                iface: ifc.name.clone(),
                direction: None,
                link_type: ifc.link_type,
                orig_len: spb.origlen,
                data: spb.packet_data().to_vec(),
            })
        }
        _ => Step::Other,
    }
}
