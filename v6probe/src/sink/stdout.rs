//! The stdout sink. Lines are written a batch at a time and flushed whenever the queue runs
//! empty: a terminal or a pipe reader sees every line within the reader's poll interval (the
//! ring buffer is read at least every 10 ms), whole, and a flood costs one `write` per batch
//! instead of one per line. When stdout's reader goes away (`| head`), the sink says so
//! ([`super::Writer::gone`]) and the monitor ends quietly.
use std::{
    io::{self, Write},
    ops::Range,
    sync::atomic::Ordering,
};

use super::{kind_bit, Batch, Writer, ALL_KINDS};
use crate::metrics::{SinkCounters, LINE_KINDS};

/// Write out once this much is buffered, even while the queue still has lines.
const CHUNK: usize = 256 * 1024;

pub struct StdoutWriter {
    out: io::Stdout,
    text: bool,
    buf: Vec<u8>,
    kinds: [u64; LINE_KINDS.len()],
    gone: bool,
}

impl StdoutWriter {
    pub fn new(text: bool) -> Self {
        Self {
            out: io::stdout(),
            text,
            buf: Vec::with_capacity(CHUNK),
            kinds: Default::default(),
            gone: false,
        }
    }
}

impl StdoutWriter {
    /// Writes the buffer, then `more`, and counts them (the lines by kind as `kinds` holds
    /// them).
    fn write_out(&mut self, more: &[u8], c: &SinkCounters) {
        if (self.buf.is_empty() && more.is_empty()) || self.gone {
            self.buf.clear();
            self.kinds = Default::default();
            return;
        }
        let mut lock = self.out.lock();
        let res = lock
            .write_all(&self.buf)
            .and_then(|()| lock.write_all(more))
            .and_then(|()| lock.flush());
        let lines: u64 = self.kinds.iter().sum();
        match res {
            Ok(()) => {
                c.bytes
                    .fetch_add((self.buf.len() + more.len()) as u64, Ordering::Relaxed);
                for (t, n) in c.lines.iter().zip(self.kinds.iter()) {
                    t.fetch_add(*n, Ordering::Relaxed);
                }
            }
            Err(e) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                c.dropped.fetch_add(lines, Ordering::Relaxed);
                if e.kind() == io::ErrorKind::BrokenPipe {
                    self.gone = true;
                } else {
                    tracing::warn!("writing to stdout: {e}");
                }
            }
        }
        self.buf.clear();
        self.kinds = Default::default();
    }
}

impl Writer for StdoutWriter {
    fn write(&mut self, batch: &Batch, range: Range<usize>, want: u8, c: &SinkCounters) {
        if want & ALL_KINDS == ALL_KINDS && !range.is_empty() {
            // Every line kind: the range's lines are one run of bytes in the batch (a frame
            // has no line), written from there, without a copy into the buffer when the run
            // is large (a flood hands over batches of up to a megabyte).
            let end_of = |i: usize| {
                let l = &batch.lines[i];
                if self.text {
                    l.text_end as usize
                } else {
                    l.json_end as usize
                }
            };
            let start = range.start.checked_sub(1).map_or(0, end_of);
            let mut from = start;
            for i in range.clone() {
                let to = end_of(i);
                if to > from {
                    self.kinds[batch.lines[i].kind as usize] += 1;
                }
                from = to;
            }
            let bytes = if self.text { &batch.text } else { &batch.json };
            let run = &bytes[start..from];
            if self.buf.len() + run.len() < CHUNK {
                self.buf.extend_from_slice(run);
            } else {
                self.write_out(run, c);
            }
            return;
        }
        for i in range {
            let meta = batch.lines[i];
            if want & kind_bit(meta.kind as usize) == 0 {
                continue;
            }
            let line = if self.text {
                batch.text_line(i)
            } else {
                batch.json_line(i)
            };
            if line.is_empty() {
                continue;
            }
            self.buf.extend_from_slice(line);
            self.kinds[meta.kind as usize] += 1;
            if self.buf.len() >= CHUNK {
                self.flush(c);
            }
        }
    }

    fn flush(&mut self, c: &SinkCounters) {
        self.write_out(&[], c);
    }

    fn gone(&self) -> bool {
        self.gone
    }
}
