//! pcapng and pcap built field by field, valid or not: the hostile-input tests and the fuzz
//! seeds use it to write what no well-behaved writer ([`super::write`]) would (a resolution that
//! does not fit, an option running past its block, a length that lies).
//!
//! ```
//! use v6probe::capture::craft::{Ng, opt};
//! let file = Ng::le()
//!     .shb()
//!     .idb(1, &[opt::if_tsresol(9)])
//!     .epb(0, 1_700_000_000_000_000_000, &[0u8; 60], &[])
//!     .into_bytes();
//! assert_eq!(&file[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
//! ```

/// A pcapng file under construction, in one byte order.
#[derive(Clone, Debug)]
pub struct Ng {
    big_endian: bool,
    bytes: Vec<u8>,
}

/// One pcapng option: code and value (padded when written). The length written is the value's
/// unless [`Opt::len`] says otherwise.
#[derive(Clone, Debug)]
pub struct Opt {
    pub code: u16,
    pub value: Vec<u8>,
    /// The length field to write instead of the value's length (to lie about it).
    pub len: Option<u16>,
}

/// Options by name (draft-ietf-opsawg-pcapng sections 4.2, 4.3).
pub mod opt {
    use super::Opt;

    pub fn raw(code: u16, value: &[u8]) -> Opt {
        Opt {
            code,
            value: value.to_vec(),
            len: None,
        }
    }
    pub fn if_name(name: &[u8]) -> Opt {
        raw(2, name)
    }
    pub fn if_tsresol(v: u8) -> Opt {
        raw(9, &[v])
    }
    /// `if_tsoffset`; the byte order is fixed when the block is written.
    pub fn if_tsoffset(secs: i64) -> Opt {
        Opt {
            code: 14,
            value: secs.to_le_bytes().to_vec(),
            len: None,
        }
    }
    pub fn epb_flags(flags: u32) -> Opt {
        Opt {
            code: 2,
            value: flags.to_le_bytes().to_vec(),
            len: None,
        }
    }
}

impl Ng {
    /// Little-endian sections.
    pub fn le() -> Self {
        Self {
            big_endian: false,
            bytes: Vec::new(),
        }
    }

    /// Big-endian sections.
    pub fn be() -> Self {
        Self {
            big_endian: true,
            bytes: Vec::new(),
        }
    }

    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Option values that are numbers are kept little-endian in [`Opt`]; swap them for a
    /// big-endian section.
    fn options(&self, code_swaps: &[u16], opts: &[Opt]) -> Vec<u8> {
        let mut out = Vec::new();
        for o in opts {
            let mut value = o.value.clone();
            if self.big_endian && code_swaps.contains(&o.code) {
                value.reverse();
            }
            out.extend_from_slice(&self.u16(o.code));
            out.extend_from_slice(&self.u16(o.len.unwrap_or(value.len() as u16)));
            out.extend_from_slice(&value);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        if !opts.is_empty() {
            out.extend_from_slice(&[0; 4]);
        }
        out
    }

    /// Appends a block of type `ty` around `body`, with the correct length.
    pub fn block(self, ty: u32, body: &[u8]) -> Self {
        let len = 12 + body.len() as u32;
        self.block_with_len(ty, body, len, len)
    }

    /// Appends a block whose two length fields say whatever they are given.
    pub fn block_with_len(mut self, ty: u32, body: &[u8], len: u32, trailer: u32) -> Self {
        let (t, l, tr) = (self.u32(ty), self.u32(len), self.u32(trailer));
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(&tr);
        self
    }

    /// A section header block (version 1.0, section length unknown).
    pub fn shb(self) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(0x1A2B_3C4D));
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0A0D_0D0A, &body)
    }

    /// An interface description block (snaplen 0: unlimited).
    pub fn idb(self, link_type: u16, opts: &[Opt]) -> Self {
        self.idb_snaplen(link_type, 0, opts)
    }

    pub fn idb_snaplen(self, link_type: u16, snaplen: u32, opts: &[Opt]) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16(link_type));
        body.extend_from_slice(&[0; 2]);
        body.extend_from_slice(&self.u32(snaplen));
        body.extend_from_slice(&self.options(&[14], opts));
        self.block(1, &body)
    }

    /// An enhanced packet block: interface, raw 64-bit timestamp, data, options.
    pub fn epb(self, if_id: u32, ts: u64, data: &[u8], opts: &[Opt]) -> Self {
        let caplen = data.len() as u32;
        self.epb_lengths(if_id, ts, caplen, caplen, data, opts)
    }

    /// An enhanced packet block with the captured and original lengths given.
    pub fn epb_lengths(
        self,
        if_id: u32,
        ts: u64,
        caplen: u32,
        origlen: u32,
        data: &[u8],
        opts: &[Opt],
    ) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(if_id));
        body.extend_from_slice(&self.u32((ts >> 32) as u32));
        body.extend_from_slice(&self.u32(ts as u32));
        body.extend_from_slice(&self.u32(caplen));
        body.extend_from_slice(&self.u32(origlen));
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        body.extend_from_slice(&self.options(&[2], opts));
        self.block(6, &body)
    }

    /// A simple packet block.
    pub fn spb(self, data: &[u8]) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        self.block(3, &body)
    }

    /// Raw bytes, as they are.
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Bytes written so far (offsets of the next block).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A little-endian pcap file (microseconds) with the given snaplen and link type, and its
/// records as (seconds, fraction, caplen field, origlen field, data).
pub fn pcap(snaplen: u32, link_type: u32, records: &[(u32, u32, u32, u32, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&snaplen.to_le_bytes());
    b.extend_from_slice(&link_type.to_le_bytes());
    for (s, frac, caplen, origlen, data) in records {
        b.extend_from_slice(&s.to_le_bytes());
        b.extend_from_slice(&frac.to_le_bytes());
        b.extend_from_slice(&caplen.to_le_bytes());
        b.extend_from_slice(&origlen.to_le_bytes());
        b.extend_from_slice(data);
    }
    b
}
