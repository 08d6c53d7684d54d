//! Reading capture files: pcap and pcapng, frame by frame.
//!
//! [`CaptureReader`] is an iterator of [`CaptureFrame`]s: the 1-based frame number, the byte
//! offset of the frame's record in the file, the timestamp, the interface name and direction
//! when pcapng says them, the link type and the captured bytes. It streams (a bounded buffer,
//! not the whole file), so `decode` and `monitor --pcap` work on captures of any size.
//!
//! A damaged file yields the frames before the damage, then one [`CaptureError`] naming the byte
//! offset of the record that could not be read, then ends. The file is treated as hostile:
//! record lengths are checked before anything is buffered for them ([`MAX_RECORD`]), options
//! must fit their block, interface blocks are bounded ([`MAX_INTERFACES`], [`MAX_IF_NAME`]),
//! and a timestamp that does not convert (a resolution that does not fit 64 bits, a time before
//! 1970 or past 2554 once `if_tsoffset` is applied) is damage at its block's offset, never a
//! panic or a made-up time.
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

pub mod craft;
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

/// Interface blocks accepted in one pcapng section; more is taken as damage. Real captures
/// have a handful (mergecap writes one per interface of each merged file).
pub const MAX_INTERFACES: usize = 4096;
/// Longest interface name (`if_name`) accepted, in bytes.
pub const MAX_IF_NAME: usize = 256;

/// pcapng block types and option codes (draft-ietf-opsawg-pcapng sections 4.1 to 4.4).
const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 1;
const SPB_TYPE: u32 = 3;
const EPB_TYPE: u32 = 6;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;
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
            self.iface.as_deref().map(Into::into),
            self.direction.map(Direction::as_str),
        )
    }

    /// Decodes and validates the frame (the `packet` line of `decode`), or says why it is not
    /// an ICMPv6 frame the decoder represents. `monitor --pcap` decodes the same frames (and
    /// fragments whatever their upper layer) into a reused option list, without the reason.
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
    /// pcap: byte order, link type and timestamp fraction unit per second.
    pcap_big_endian: bool,
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

impl CaptureReader<'_> {
    /// Grows the buffer for a record longer than it (up to [`MAX_RECORD`]) and reads more.
    fn grow(&mut self, offset: u64) -> Result<(), CaptureError> {
        if self.buffer >= MAX_RECORD {
            return Err(CaptureError::RecordTooLarge {
                offset,
                limit: MAX_RECORD,
            });
        }
        self.buffer = (self.buffer * 4).min(MAX_RECORD);
        if !self.reader.grow(self.buffer) || self.reader.refill().is_err() {
            return Err(CaptureError::RecordTooLarge {
                offset,
                limit: self.buffer,
            });
        }
        Ok(())
    }
}

impl Iterator for CaptureReader<'_> {
    type Item = Result<CaptureFrame, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let offset = self.reader.consumed() as u64;
            if let Some(e) = precheck(&self.state, self.reader.data(), offset) {
                return self.fail(e);
            }
            let (len, step) = match self.reader.next() {
                Ok((len, block)) => (len, handle(&mut self.state, offset, block)),
                Err(PcapError::Eof) => {
                    self.done = true;
                    return None;
                }
                Err(PcapError::Incomplete(_)) => {
                    let before = self.reader.data().len();
                    if self.reader.refill().is_err() {
                        let source = take_io(&self.io_err);
                        return self.fail(CaptureError::Read { offset, source });
                    }
                    // Nothing read and not at the end: the buffer is full, so the record is
                    // longer than it (pcap-parser does not always say so).
                    if self.reader.data().len() == before && !self.reader.reader_exhausted() {
                        if let Err(e) = self.grow(offset) {
                            return self.fail(e);
                        }
                    }
                    continue;
                }
                Err(PcapError::BufferTooSmall) => {
                    if let Err(e) = self.grow(offset) {
                        return self.fail(e);
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

fn u32_at(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// Checks the lengths in the header of the record at the front of `data` (as far as it has been
/// read) before pcap-parser reads the record: a length that cannot be right is damage now, at
/// the record's offset, instead of a buffer grown and the file read up to [`MAX_RECORD`] first,
/// or a misleading "truncated".
fn precheck(st: &State, data: &[u8], offset: u64) -> Option<CaptureError> {
    let corrupt = |what: String| Some(CaptureError::Corrupt { offset, what });
    let too_large = |len: u32| {
        (len as usize > MAX_RECORD).then_some(CaptureError::RecordTooLarge {
            offset,
            limit: MAX_RECORD,
        })
    };
    match st.format {
        // The file header is read by pcap-parser when the reader is created.
        None => None,
        Some(Format::Pcap) => {
            // Record header: ts_sec, ts_frac, caplen, origlen.
            too_large(u32_at(data, 8, st.pcap_big_endian)?)
        }
        Some(Format::PcapNg) => {
            let ty = u32_at(data, 0, false)?;
            let big_endian = if ty == SHB_TYPE {
                // A new section says its own byte order.
                match data.get(8..12)? {
                    [0x4d, 0x3c, 0x2b, 0x1a] => false,
                    [0x1a, 0x2b, 0x3c, 0x4d] => true,
                    m => {
                        return corrupt(format!(
                            "section header with byte-order magic {m:02x?} (not 1a2b3c4d)"
                        ))
                    }
                }
            } else {
                st.big_endian
            };
            let ty = if big_endian { ty.swap_bytes() } else { ty };
            let len = u32_at(data, 4, big_endian)?;
            let min = match ty {
                SHB_TYPE => 28,
                IDB_TYPE => 20,
                SPB_TYPE => 16,
                EPB_TYPE => 32,
                _ => 12,
            };
            if len < min {
                return corrupt(format!(
                    "block of type {ty:#x} with length {len}, below its minimum of {min}"
                ));
            }
            if len % 4 != 0 {
                return corrupt(format!(
                    "block of type {ty:#x} with length {len}, not a multiple of 4"
                ));
            }
            if let Some(e) = too_large(len) {
                return Some(e);
            }
            if ty == EPB_TYPE {
                let caplen = u32_at(data, 20, big_endian)?;
                if u64::from(caplen).next_multiple_of(4) > u64::from(len - 32) {
                    return corrupt(format!(
                        "packet block with {caplen} captured bytes in a block of {len} bytes"
                    ));
                }
            }
            None
        }
    }
}

fn handle(st: &mut State, offset: u64, block: PcapBlockOwned<'_>) -> Step {
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            st.format = Some(Format::Pcap);
            st.pcap_big_endian = h.is_bigendian();
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

/// An option's value, exactly `len` bytes (pcap-parser's `value()` includes the padding).
fn opt_bytes<'a>(o: &'a PcapNGOption<'_>) -> &'a [u8] {
    o.as_bytes().unwrap_or_default()
}

/// The first option with `code`, which must be `len` bytes long when `len` is given.
fn find_opt<'a>(
    options: &'a [PcapNGOption<'a>],
    code: u16,
    len: Option<usize>,
    name: &str,
) -> Result<Option<&'a [u8]>, String> {
    let Some(v) = options.iter().find(|o| o.code.0 == code).map(opt_bytes) else {
        return Ok(None);
    };
    match len {
        Some(n) if v.len() != n => Err(format!("{name} option of {} bytes (it has {n})", v.len())),
        _ => Ok(Some(v)),
    }
}

/// The options parsed must cover the block's whole options area (`area` bytes starting `start`
/// bytes into the block): pcap-parser stops quietly at an option that runs past the end.
fn options_fit(options: &[PcapNGOption<'_>], start: usize, area: usize) -> Result<(), String> {
    let covered: usize = options.iter().map(|o| 4 + o.value().len()).sum();
    if covered < area {
        return Err(format!(
            "the option {} bytes into the block runs past the block's end",
            start + covered
        ));
    }
    Ok(())
}

fn ne_u64(b: &[u8], big_endian: bool) -> Option<u64> {
    let b: [u8; 8] = b.try_into().ok()?;
    Some(if big_endian {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    })
}

/// Units per second of an `if_tsresol` value: 10^v, or 2^(v & 0x7f) when the top bit is set;
/// `None` when that does not fit 64 bits. (pcap-parser's own function takes every binary
/// resolution for invalid, and reads `if_tsoffset` little-endian in any section.)
fn ts_resolution(v: u8) -> Option<u64> {
    if v & 0x80 == 0 {
        10u64.checked_pow(u32::from(v))
    } else {
        1u64.checked_shl(u32::from(v & 0x7f))
    }
}

/// Reads an interface block's name, timestamp resolution and offset, in the section's byte
/// order; says what is wrong with them otherwise.
fn interface(idb: &InterfaceDescriptionBlock<'_>, big_endian: bool) -> Result<Interface, String> {
    options_fit(
        &idb.options,
        16,
        (idb.block_len1 as usize).saturating_sub(20),
    )?;
    let name = find_opt(&idb.options, OPT_IF_NAME, None, "if_name")?.map(|v| {
        let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
        &v[..end]
    });
    if let Some(n) = name.filter(|n| n.len() > MAX_IF_NAME) {
        return Err(format!(
            "interface name of {} bytes (at most {MAX_IF_NAME} are read)",
            n.len()
        ));
    }
    let resolution = match find_opt(&idb.options, OPT_IF_TSRESOL, Some(1), "if_tsresol")? {
        None => 1_000_000,
        Some(v) => ts_resolution(v[0]).ok_or_else(|| {
            format!(
                "if_tsresol {:#04x}: {}^-{} s does not fit 64 bits of units per second",
                v[0],
                if v[0] & 0x80 == 0 { 10 } else { 2 },
                v[0] & 0x7f
            )
        })?,
    };
    let ts_offset = match find_opt(&idb.options, OPT_IF_TSOFFSET, Some(8), "if_tsoffset")? {
        None => 0,
        Some(v) => ne_u64(v, big_endian).unwrap_or_default() as i64,
    };
    Ok(Interface {
        link_type: u32::from(idb.linktype.0 as u16),
        name: name.map(|n| String::from_utf8_lossy(n).into_owned()),
        resolution,
        ts_offset,
    })
}

/// The last instant a capture may name: 2^64 - 1 ns after 1970 (2554-07-21T23:34:33Z), the
/// range every consumer (the detector, `ts_ns` fields) keeps times in.
const MAX_NANOS: i128 = u64::MAX as i128;

/// A packet block's time: `ts` units of `1/resolution` s, plus `if_tsoffset` seconds. An error
/// (the block is damaged) when it falls outside 1970 ..= [`MAX_NANOS`].
fn ng_time(ts: u64, ifc: &Interface) -> Result<SystemTime, String> {
    let res = u128::from(ifc.resolution);
    let ts = u128::from(ts);
    let ns = ((ts / res) * 1_000_000_000 + (ts % res) * 1_000_000_000 / res) as i128
        + i128::from(ifc.ts_offset) * 1_000_000_000;
    let out_of_range = || {
        format!(
            "timestamp {} s from 1970 (raw {ts} at {} units per second, if_tsoffset {} s) is \
             outside 1970-01-01 .. 2554-07-21",
            ns.div_euclid(1_000_000_000),
            ifc.resolution,
            ifc.ts_offset
        )
    };
    if !(0..=MAX_NANOS).contains(&ns) {
        return Err(out_of_range());
    }
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_nanos(ns as u64))
        .ok_or_else(out_of_range)
}

fn epb_direction(
    epb: &EnhancedPacketBlock<'_>,
    big_endian: bool,
) -> Result<Option<Direction>, String> {
    let area = (epb.block_len1 as usize)
        .saturating_sub(32)
        .saturating_sub((epb.caplen as usize).next_multiple_of(4));
    options_fit(&epb.options, 32 + epb.data.len(), area)?;
    let Some(v) = find_opt(&epb.options, OPT_EPB_FLAGS, Some(4), "epb_flags")? else {
        return Ok(None);
    };
    let flags = u32_at(v, 0, big_endian).unwrap_or_default();
    Ok(match flags & 0b11 {
        1 => Some(Direction::Inbound),
        2 => Some(Direction::Outbound),
        _ => None,
    })
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
            if st.interfaces.len() >= MAX_INTERFACES {
                return Step::Error(CaptureError::Corrupt {
                    offset,
                    what: format!("more than {MAX_INTERFACES} interface blocks in one section"),
                });
            }
            match interface(&idb, st.big_endian) {
                Ok(ifc) => st.interfaces.push(ifc),
                Err(what) => {
                    let what = format!("interface block {}: {what}", st.interfaces.len());
                    return Step::Error(CaptureError::Corrupt { offset, what });
                }
            }
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
            let checked = ng_time(ts, ifc)
                .and_then(|ts| epb_direction(&epb, st.big_endian).map(|direction| (ts, direction)));
            let (ts, direction) = match checked {
                Ok(v) => v,
                Err(what) => {
                    let what = format!("packet block on interface {}: {what}", epb.if_id);
                    return Step::Error(CaptureError::Corrupt { offset, what });
                }
            };
            Step::Frame(CaptureFrame {
                number: st.frames,
                offset,
                ts,
                iface: ifc.name.clone(),
                direction,
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
