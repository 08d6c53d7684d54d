//! `--pcapng DIR`: the frames the kernel reported, byte for byte from the Ethernet header (VLAN
//! tags included), in `DIR/v6probe.pcapng`: one interface description block per interface as
//! it first appears in a file (`if_name`, nanosecond timestamps), one enhanced packet block per
//! frame with the kernel timestamp, the length on the wire, the direction (`epb_flags`: 1
//! inbound, 2 outbound) and, for a frame that raised alerts, a packet comment naming them
//! (`v6probe alert: ra_rogue (high)`).
//!
//! Before a frame would take the file past `--pcapng-size`, it is closed and rotated like the
//! file outputs: `v6probe.pcapng.1` (newest) ... `.N` (`--pcapng-keep`). Every file is a whole
//! pcapng file of its own (section header, interfaces, frames), so `tshark -r` reads each one.
//! A file left by an earlier run is rotated away at start; SIGHUP starts a new file.
use std::{
    borrow::Cow,
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    ops::Range,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::{Instant, UNIX_EPOCH},
};

use pcap_file::{
    pcapng::{
        blocks::{
            enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption},
            interface_description::{
                InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
            },
            opt_common::CommonOption,
        },
        PcapNgBlock, PcapNgWriter,
    },
    DataLink, Endianness,
};

use super::{file::Rotation, kind_bit, Batch, Writer};
use crate::metrics::{kind_index, SinkCounters};

/// The file's name in DIR.
pub const FILE_NAME: &str = "v6probe.pcapng";

struct Open {
    w: PcapNgWriter<BufWriter<File>>,
    /// Interface ids in this file, by name.
    ifaces: HashMap<String, u32>,
    bytes: u64,
}

pub struct PcapngWriter {
    path: PathBuf,
    rotation: Rotation,
    open: Option<Open>,
    /// Frames written since the last flush (counted when the flush succeeds).
    pending: u64,
    pending_bytes: u64,
    failed_open: Option<Instant>,
    started: bool,
}

impl PcapngWriter {
    /// Frames go to `dir/v6probe.pcapng`, rotated at `size` bytes, `keep` rotated files kept.
    pub fn new(dir: &Path, size: u64, keep: usize) -> Self {
        Self {
            path: dir.join(FILE_NAME),
            rotation: Rotation {
                size,
                keep,
                compress: false,
            },
            open: None,
            pending: 0,
            pending_bytes: 0,
            failed_open: None,
            started: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&mut self, c: &SinkCounters) -> bool {
        if self.open.is_some() {
            return true;
        }
        if self
            .failed_open
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1))
        {
            return false;
        }
        if !self.started {
            // What an earlier run left becomes the newest rotated file.
            self.started = true;
            if self.path.exists() {
                self.rotate_file(c);
            }
        }
        let res = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o640)
            .open(&self.path)
            .and_then(|f| {
                PcapNgWriter::with_endianness(
                    BufWriter::with_capacity(256 * 1024, f),
                    Endianness::Little,
                )
                .map_err(io::Error::other)
            });
        match res {
            Ok(w) => {
                self.open = Some(Open {
                    w,
                    ifaces: HashMap::new(),
                    bytes: 28,
                });
                self.failed_open = None;
                true
            }
            Err(e) => {
                if self.failed_open.is_none() {
                    tracing::warn!("opening {}: {e}", self.path.display());
                }
                c.errors.fetch_add(1, Ordering::Relaxed);
                self.failed_open = Some(Instant::now());
                false
            }
        }
    }

    fn rotate_file(&mut self, c: &SinkCounters) {
        if let Err(e) = super::file::rotate_files(&self.path, &self.rotation) {
            tracing::warn!("rotating {}: {e}", self.path.display());
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Closes the current file (flushed) and rotates it.
    fn rotate(&mut self, c: &SinkCounters) {
        self.flush(c);
        if self.open.take().is_some() {
            self.rotate_file(c);
            c.rotations.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn fail(&mut self, e: &dyn std::fmt::Display, c: &SinkCounters) {
        tracing::warn!("writing {}: {e}", self.path.display());
        c.errors.fetch_add(1, Ordering::Relaxed);
        c.dropped.fetch_add(self.pending, Ordering::Relaxed);
        self.pending = 0;
        self.pending_bytes = 0;
        self.open = None;
    }
}

/// Bytes an enhanced packet block of `len` frame bytes and `comment` takes (an estimate
/// rounded up, for the rotation decision).
fn epb_size(len: usize, comment: Option<&str>) -> u64 {
    let pad = |n: usize| n.div_ceil(4) * 4;
    let opts = 12 + comment.map_or(0, |c| 4 + pad(c.len())) + 4;
    (32 + pad(len) + opts) as u64
}

impl Writer for PcapngWriter {
    fn write(&mut self, batch: &Batch, range: Range<usize>, want: u8, c: &SinkCounters) {
        let frame_kind = kind_index("frame");
        for i in range {
            let meta = batch.lines[i];
            if meta.kind as usize != frame_kind || want & kind_bit(frame_kind) == 0 {
                continue;
            }
            let (f, bytes) = batch.frame(meta.frame as usize);
            let need = epb_size(bytes.len(), f.comment.as_deref())
                + if self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.ifaces.contains_key(&f.iface))
                {
                    0
                } else {
                    40 + f.iface.len() as u64
                };
            if self
                .open
                .as_ref()
                .is_some_and(|o| o.bytes > 28 && o.bytes + need > self.rotation.size)
            {
                self.rotate(c);
            }
            if !self.open(c) {
                c.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(o) = self.open.as_mut() else {
                continue;
            };
            let if_id = match o.ifaces.get(&f.iface) {
                Some(id) => *id,
                None => {
                    let idb = InterfaceDescriptionBlock {
                        linktype: DataLink::ETHERNET,
                        snaplen: 65_535,
                        options: vec![
                            InterfaceDescriptionOption::IfName(Cow::Borrowed(&f.iface)),
                            InterfaceDescriptionOption::IfTsResol(InterfaceTsResolution::NANO),
                        ],
                    };
                    match o.w.write_block(&idb.into_block()) {
                        Ok(n) => o.bytes += n as u64,
                        Err(e) => {
                            self.fail(&e, c);
                            c.dropped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                    let id = o.ifaces.len() as u32;
                    o.ifaces.insert(f.iface.clone(), id);
                    id
                }
            };
            let mut options = vec![EnhancedPacketOption::Flags(if f.ingress { 1 } else { 2 })];
            if let Some(comment) = &f.comment {
                options.push(EnhancedPacketOption::Common(CommonOption::Comment(
                    Cow::Borrowed(comment),
                )));
            }
            let epb = EnhancedPacketBlock {
                interface_id: if_id,
                timestamp: f.ts.duration_since(UNIX_EPOCH).unwrap_or_default(),
                original_len: f.wire_len.max(bytes.len() as u32),
                data: Cow::Borrowed(bytes),
                options,
            };
            match o.w.write_block(&epb.into_block()) {
                Ok(n) => {
                    o.bytes += n as u64;
                    self.pending += 1;
                    self.pending_bytes += n as u64;
                }
                Err(e) => {
                    self.pending += 1;
                    self.fail(&e, c);
                }
            }
        }
    }

    fn flush(&mut self, c: &SinkCounters) {
        let Some(o) = self.open.as_mut() else {
            return;
        };
        match o.w.get_mut().flush() {
            Ok(()) => {
                c.lines[kind_index("frame")].fetch_add(self.pending, Ordering::Relaxed);
                c.bytes.fetch_add(self.pending_bytes, Ordering::Relaxed);
                self.pending = 0;
                self.pending_bytes = 0;
            }
            Err(e) => self.fail(&e, c),
        }
    }

    fn reopen(&mut self, c: &SinkCounters) {
        self.rotate(c);
    }
}
