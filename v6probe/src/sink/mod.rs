//! Where the monitor's lines go: stdout, rotating files, syslog.
//!
//! The ring-buffer reader serializes each line once, into a [`Batch`] (JSON, and text when a
//! sink prints text), and hands the batch to every sink at once ([`Emitter::flush`]): one
//! `Arc` per sink, no copy. Each sink has a thread of its own behind a bounded queue (counted
//! in lines): when a queue is full the lines that do not fit are counted as dropped for that
//! sink, and the reader goes on. A sink never blocks the ring-buffer reader; offline work (a
//! capture replayed) waits for room instead ([`Emitter::wait_for_room`]). The sink threads
//! write large buffered chunks, never a `write` or `flush` per line, and reconnect or reopen
//! by themselves after an error.
pub mod file;
pub mod pcapng;
pub mod stdout;
pub mod syslog;

use std::{
    collections::VecDeque,
    ops::Range,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use serde::Serialize;
use thiserror::Error;

use crate::{
    metrics::{kind_index, SinkCounters, Telemetry, LINE_KINDS},
    output::{Line, SCHEMA_VERSION},
};

#[derive(Debug, Error)]
pub enum SinkError {
    #[error("--output `{0}`: give `stdout` or `file:PATH`")]
    OutputSpec(String),
    #[error("--syslog `{0}`: give udp://HOST:PORT, tcp://HOST:PORT or unix:PATH")]
    SyslogSpec(String),
    #[error("--syslog-facility `{0}`: give kern, user, daemon, auth, syslog, local0 ... local7")]
    Facility(String),
    #[error("size `{0}`: give bytes, or a number with K, M or G (powers of 1024)")]
    Size(String),
    #[error("starting the thread of sink {name}: {source}")]
    Thread {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Bit of a line kind in a sink's wanted-kinds mask.
pub const fn kind_bit(kind_idx: usize) -> u8 {
    1 << kind_idx
}

/// The `frame` pseudo-line: a frame for the pcapng sink, not a line.
pub const FRAME_BIT: u8 = kind_bit(5);

/// Every line kind (not frames).
pub const ALL_KINDS: u8 = !FRAME_BIT;

/// RFC 5424 severities the lines carry (for syslog).
pub mod severity {
    pub const CRIT: u8 = 2;
    pub const WARNING: u8 = 4;
    pub const NOTICE: u8 = 5;
    pub const INFO: u8 = 6;
}

/// One line's place in a [`Batch`].
#[derive(Clone, Copy, Debug)]
pub struct LineMeta {
    /// Index in [`LINE_KINDS`].
    pub kind: u8,
    /// RFC 5424 severity (alerts: high = crit, medium = warning, low = notice).
    pub severity: u8,
    /// RFC 5424 MSGID: the alert code, or the line kind.
    pub msgid: &'static str,
    /// End of the line (newline included) in [`Batch::json`]; it starts where the previous
    /// line ended.
    pub json_end: u32,
    /// End of the line in [`Batch::text`] (empty when the line has no text form).
    pub text_end: u32,
    /// For a `frame`: its index in [`Batch::frames`].
    pub frame: u32,
}

/// A frame the kernel reported, for the pcapng sink.
#[derive(Clone, Debug)]
pub struct FrameMeta {
    /// End of the frame's bytes in [`Batch::frame_bytes`] (it starts where the previous ended).
    pub end: u32,
    /// Kernel timestamp, as wall-clock time.
    pub ts: SystemTime,
    pub iface: String,
    /// `true` ingress, `false` egress.
    pub ingress: bool,
    /// Length on the wire (more than the bytes when the kernel cut the frame).
    pub wire_len: u32,
    /// The alert codes the frame raised, as a packet comment.
    pub comment: Option<String>,
}

/// Lines serialized once by the reader and shared by every sink.
#[derive(Debug)]
pub struct Batch {
    pub json: Vec<u8>,
    pub text: Vec<u8>,
    pub lines: Vec<LineMeta>,
    /// Frame bytes and their descriptions (when a pcapng sink runs).
    pub frame_bytes: Vec<u8>,
    pub frames: Vec<FrameMeta>,
    /// When the reader handed it over (the syslog TIMESTAMP).
    pub created: SystemTime,
}

impl Batch {
    fn with_capacity(json: usize, text: usize, lines: usize) -> Self {
        Self {
            json: Vec::with_capacity(json),
            text: Vec::with_capacity(text),
            lines: Vec::with_capacity(lines),
            frame_bytes: Vec::new(),
            frames: Vec::new(),
            created: SystemTime::now(),
        }
    }

    /// Line `i` as JSON, newline included (empty if no sink asked for JSON).
    pub fn json_line(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.lines[i - 1].json_end as usize
        };
        &self.json[start..self.lines[i].json_end as usize]
    }

    /// Line `i` as text, newline included (empty when it has no text form).
    pub fn text_line(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.lines[i - 1].text_end as usize
        };
        &self.text[start..self.lines[i].text_end as usize]
    }

    /// Frame `i` (of [`Batch::frames`]) and its bytes.
    pub fn frame(&self, i: usize) -> (&FrameMeta, &[u8]) {
        let start = if i == 0 {
            0
        } else {
            self.frames[i - 1].end as usize
        };
        let m = &self.frames[i];
        (m, &self.frame_bytes[start..m.end as usize])
    }

    /// How many of lines `range` a sink wanting `want` takes.
    pub fn wanted(&self, range: Range<usize>, want: u8) -> usize {
        self.lines[range]
            .iter()
            .filter(|l| want & kind_bit(l.kind as usize) != 0)
            .count()
    }
}

/// What a sink's thread does with the lines it is handed.
pub trait Writer: Send + 'static {
    /// Takes lines `range` of `batch` (only the kinds in `want`), buffering as it likes.
    fn write(&mut self, batch: &Batch, range: Range<usize>, want: u8, c: &SinkCounters);
    /// Writes out whatever is buffered (called when the queue runs empty, and before a close).
    fn flush(&mut self, c: &SinkCounters);
    /// Closes and reopens the destination (SIGHUP: logrotate moved the file).
    fn reopen(&mut self, _c: &SinkCounters) {}
    /// Whether the destination takes lines now; a sink that lost its connection tries to
    /// reconnect here (at its own pace) and says no meanwhile, so lines wait in the queue.
    fn ready(&mut self, _c: &SinkCounters) -> bool {
        true
    }
    /// The destination is gone for good (stdout closed by its reader).
    fn gone(&self) -> bool {
        false
    }
}

struct Item {
    batch: Arc<Batch>,
    range: Range<usize>,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Item>,
    /// Wanted lines in `items`.
    lines: usize,
    reopen: bool,
    /// Set by [`SinkHandle::close`]: write what is queued until then, and stop.
    close_by: Option<Instant>,
}

struct Queue {
    state: Mutex<QueueState>,
    cv: Condvar,
    /// Signalled by the sink's thread when it took lines off the queue (for a reader that
    /// waits for room: [`Emitter::wait_for_room`]).
    room: Condvar,
    capacity: usize,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What kind of sink, and what it takes.
pub struct SinkSpec {
    pub name: String,
    /// Line kinds it takes ([`kind_bit`]s).
    pub want: u8,
    /// Text lines instead of JSON.
    pub text: bool,
    pub writer: Box<dyn Writer>,
}

/// The reader's end of one sink.
pub struct SinkHandle {
    queue: Arc<Queue>,
    counters: Arc<SinkCounters>,
    want: u8,
    text: bool,
    gone: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Wait this long for room in a full queue before dropping (None: never wait).
    wait: Option<Duration>,
    /// The last wait ran out: do not wait again until the sink takes lines off its queue.
    stalled: AtomicBool,
}

impl SinkHandle {
    /// Starts the sink's thread.
    pub fn start(spec: SinkSpec, capacity: usize) -> Result<Self, SinkError> {
        let queue = Arc::new(Queue {
            state: Mutex::default(),
            cv: Condvar::new(),
            room: Condvar::new(),
            capacity: capacity.max(1),
        });
        let counters = Arc::new(SinkCounters::new(spec.name.clone()));
        let gone = Arc::new(AtomicBool::new(false));
        let thread = {
            let (queue, counters, gone) = (queue.clone(), counters.clone(), gone.clone());
            let (want, mut writer) = (spec.want, spec.writer);
            std::thread::Builder::new()
                .name(format!(
                    "v6probe-sink-{}",
                    spec.name.split(':').next().unwrap_or("")
                ))
                .spawn(move || run_sink(&queue, &counters, &gone, want, writer.as_mut()))
                .map_err(|source| SinkError::Thread {
                    name: spec.name.clone(),
                    source,
                })?
        };
        Ok(Self {
            queue,
            counters,
            want: spec.want,
            text: spec.text,
            gone,
            thread: Some(thread),
            wait: None,
            stalled: AtomicBool::new(false),
        })
    }

    pub fn counters(&self) -> &Arc<SinkCounters> {
        &self.counters
    }

    /// Queues the lines of `batch` this sink wants, as many as fit; counts the rest as dropped.
    /// With [`SinkHandle::wait`] set, waits for room first: lines are dropped only when the
    /// sink takes nothing off its queue for that long, or is gone.
    fn offer(&self, batch: &Arc<Batch>) {
        let n = batch.wanted(0..batch.lines.len(), self.want);
        if n == 0 {
            return;
        }
        let (mut from, mut left) = (0, n);
        let mut st = self.queue.lock();
        let mut stalled_since = None;
        loop {
            let space = self.queue.capacity.saturating_sub(st.lines);
            let take = left.min(space);
            if take > 0 {
                stalled_since = None;
                self.stalled.store(false, Ordering::Relaxed);
                // From `from`, up to the line where `take` wanted ones are reached.
                let end = if take == left {
                    batch.lines.len()
                } else {
                    let mut seen = 0;
                    let mut end = from;
                    for (i, l) in batch.lines.iter().enumerate().skip(from) {
                        if self.want & kind_bit(l.kind as usize) != 0 {
                            seen += 1;
                            if seen == take {
                                end = i + 1;
                                break;
                            }
                        }
                    }
                    end
                };
                st.items.push_back(Item {
                    batch: Arc::clone(batch),
                    range: from..end,
                });
                st.lines += take;
                (from, left) = (end, left - take);
                self.queue.cv.notify_one();
            }
            self.counters
                .queued
                .store(st.lines as u64, Ordering::Relaxed);
            let Some(wait) = self.wait else { break };
            if left == 0
                || self.gone.load(Ordering::Relaxed)
                || self.stalled.load(Ordering::Relaxed)
            {
                break;
            }
            let since = *stalled_since.get_or_insert_with(Instant::now);
            let Some(rest) = wait.checked_sub(since.elapsed()) else {
                self.stalled.store(true, Ordering::Relaxed);
                break;
            };
            st = self
                .queue
                .room
                .wait_timeout(st, rest.min(Duration::from_millis(100)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(st);
        if left > 0 {
            self.counters
                .dropped
                .fetch_add(left as u64, Ordering::Relaxed);
        }
    }

    fn reopen(&self) {
        self.queue.lock().reopen = true;
        self.queue.cv.notify_one();
    }

    fn is_idle(&self) -> bool {
        self.queue.lock().lines == 0
    }

    /// Writes what is queued (giving up at `deadline`: the rest counts as dropped), flushes,
    /// and stops the thread.
    fn close(&mut self, deadline: Instant) {
        self.queue.lock().close_by = Some(deadline);
        self.queue.cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SinkHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.close(Instant::now() + Duration::from_secs(2));
        }
    }
}

/// A sink thread's loop: see the module documentation.
fn run_sink(q: &Queue, c: &SinkCounters, gone: &AtomicBool, want: u8, w: &mut dyn Writer) {
    loop {
        let mut st = q.lock();
        // Wait for lines, a reopen or the close.
        while st.items.is_empty() && !st.reopen && st.close_by.is_none() {
            st =
                q.cv.wait_timeout(st, Duration::from_secs(1))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
        }
        if std::mem::take(&mut st.reopen) {
            drop(st);
            w.flush(c);
            w.reopen(c);
            continue;
        }
        let close_by = st.close_by;
        if st.items.is_empty() {
            // Closing, nothing left.
            drop(st);
            w.flush(c);
            return;
        }
        drop(st);
        if !w.ready(c) {
            if close_by.is_some_and(|d| Instant::now() >= d) {
                // Closing and the destination is still unreachable: what is left is lost.
                let mut st = q.lock();
                c.dropped.fetch_add(st.lines as u64, Ordering::Relaxed);
                st.items.clear();
                st.lines = 0;
                c.queued.store(0, Ordering::Relaxed);
                q.room.notify_all();
                return;
            }
            // Lines stay queued (and the queue's bound applies) while it reconnects.
            let st = q.lock();
            let _ =
                q.cv.wait_timeout(st, Duration::from_millis(100))
                    .unwrap_or_else(|e| e.into_inner());
            continue;
        }
        let items = {
            let mut st = q.lock();
            st.lines = 0;
            c.queued.store(0, Ordering::Relaxed);
            std::mem::take(&mut st.items)
        };
        q.room.notify_all();
        for it in &items {
            if w.gone() {
                let n = it.batch.wanted(it.range.clone(), want);
                c.dropped.fetch_add(n as u64, Ordering::Relaxed);
                continue;
            }
            w.write(&it.batch, it.range.clone(), want, c);
        }
        drop(items);
        if q.lock().items.is_empty() {
            w.flush(c);
        }
        if w.gone() {
            gone.store(true, Ordering::Relaxed);
        }
    }
}

/// The reader's side: builds batches of lines and hands them to every sink.
pub struct Emitter {
    batch: Batch,
    /// Batches handed to the sinks, kept so their buffers can be used again once every sink
    /// is done with them (a fresh buffer of a megabyte is fresh pages, faulted in one by one).
    handed: VecDeque<Arc<Batch>>,
    json: bool,
    text: bool,
    frames: bool,
    sinks: Vec<SinkHandle>,
}

/// A batch is handed over at the latest when its JSON reaches this size.
const BATCH_BYTES: usize = 1 << 20;

/// Handed-over batches kept for [`Emitter::reuse`].
const HANDED_KEPT: usize = 3;

impl Emitter {
    /// Starts with these sinks (already started) and registers their counters.
    pub fn new(sinks: Vec<SinkHandle>, telemetry: &Telemetry) -> Self {
        for s in &sinks {
            telemetry.register_sink(Arc::clone(s.counters()));
        }
        Self {
            batch: Batch::with_capacity(64 * 1024, 0, 256),
            handed: VecDeque::new(),
            json: sinks.iter().any(|s| !s.text && s.want & ALL_KINDS != 0),
            text: sinks.iter().any(|s| s.text),
            frames: sinks.iter().any(|s| s.want & FRAME_BIT != 0),
            sinks,
        }
    }

    /// Offline work (a capture replayed): instead of dropping lines when a sink's queue is
    /// full, wait for room, up to `stall` without the sink taking anything off its queue (a
    /// destination that stays unreachable still costs counted drops, not a hang).
    pub fn wait_for_room(&mut self, stall: Duration) {
        for s in &mut self.sinks {
            s.wait = Some(stall);
        }
    }

    /// Bytes of the lines not yet handed to the sinks (JSON and text forms), 0 when none.
    pub fn pending_bytes(&self) -> usize {
        self.batch.json.len() + self.batch.text.len() + self.batch.frame_bytes.len()
    }

    /// Whether any sink prints text (so callers can skip building text forms).
    pub fn wants_text(&self) -> bool {
        self.text
    }

    /// Whether a sink takes frames (pcapng).
    pub fn wants_frames(&self) -> bool {
        self.frames
    }

    /// Appends one frame for the frame sinks (nothing when there is none).
    pub fn frame(&mut self, bytes: &[u8], mut meta: FrameMeta) {
        if !self.frames {
            return;
        }
        self.batch.frame_bytes.extend_from_slice(bytes);
        meta.end = u32::try_from(self.batch.frame_bytes.len()).unwrap_or(u32::MAX);
        let idx = self.batch.frames.len() as u32;
        self.batch.frames.push(meta);
        self.batch.lines.push(LineMeta {
            kind: kind_index("frame") as u8,
            severity: severity::INFO,
            msgid: "frame",
            json_end: u32::try_from(self.batch.json.len()).unwrap_or(u32::MAX),
            text_end: u32::try_from(self.batch.text.len()).unwrap_or(u32::MAX),
            frame: idx,
        });
        if self.batch.frame_bytes.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Appends one line: `{"kind":kind,"v":1,...body}` for JSON sinks and, for text sinks,
    /// what `text` writes (without its final newline; nothing: the line has no text form).
    pub fn line<T: Serialize>(
        &mut self,
        kind: &'static str,
        body: &T,
        severity: u8,
        msgid: &'static str,
        text: impl FnOnce(&mut Vec<u8>),
    ) -> std::io::Result<()> {
        self.line_with(
            kind,
            |b| {
                let line = Line {
                    kind,
                    v: SCHEMA_VERSION,
                    body,
                };
                serde_json::to_writer(b, &line)
            },
            severity,
            msgid,
            text,
        )
    }

    /// [`Emitter::line`] with the JSON written by `json` (the whole object, without the
    /// newline), for lines that have a writer faster than their `Serialize`
    /// ([`crate::packet::Packet::write_json_line`]).
    pub fn line_with(
        &mut self,
        kind: &'static str,
        json: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
        severity: u8,
        msgid: &'static str,
        text: impl FnOnce(&mut Vec<u8>),
    ) -> std::io::Result<()> {
        if self.json {
            let before = self.batch.json.len();
            if let Err(e) = json(&mut self.batch.json) {
                self.batch.json.truncate(before);
                return Err(e.into());
            }
            self.batch.json.push(b'\n');
        }
        if self.text {
            let before = self.batch.text.len();
            text(&mut self.batch.text);
            if self.batch.text.len() > before {
                self.batch.text.push(b'\n');
            }
        }
        self.batch.lines.push(LineMeta {
            kind: kind_index(kind) as u8,
            severity,
            msgid,
            json_end: u32::try_from(self.batch.json.len()).unwrap_or(u32::MAX),
            text_end: u32::try_from(self.batch.text.len()).unwrap_or(u32::MAX),
            frame: 0,
        });
        if self.batch.json.len() >= BATCH_BYTES || self.batch.text.len() >= BATCH_BYTES {
            self.flush();
        }
        Ok(())
    }

    /// Hands the lines so far to every sink.
    pub fn flush(&mut self) {
        if self.batch.lines.is_empty() {
            return;
        }
        let next = self.reuse().unwrap_or_else(|| {
            // The capacity the batch grew to, not its length: batches end up to one line past
            // `BATCH_BYTES`, and one sized to the length before it reallocated (copying its
            // megabyte) whenever it ended a few bytes longer. A quiet monitor's batches never
            // grow past their first capacity.
            Batch::with_capacity(
                self.batch.json.capacity(),
                self.batch.text.capacity(),
                self.batch.lines.capacity(),
            )
        });
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.created = SystemTime::now();
        let batch = Arc::new(batch);
        for s in &self.sinks {
            s.offer(&batch);
        }
        self.handed.push_back(batch);
        if self.handed.len() > HANDED_KEPT {
            // A slow sink still holds it: it is freed when that sink is done.
            self.handed.pop_front();
        }
    }

    /// A handed-over batch no sink holds any more, emptied.
    fn reuse(&mut self) -> Option<Batch> {
        let i = self.handed.iter().position(|b| Arc::strong_count(b) == 1)?;
        let mut b = Arc::try_unwrap(self.handed.remove(i)?).ok()?;
        b.json.clear();
        b.text.clear();
        b.lines.clear();
        b.frame_bytes.clear();
        b.frames.clear();
        Some(b)
    }

    /// A sink's destination is gone for good (stdout's reader went away): the run should end.
    pub fn gone(&self) -> Option<&str> {
        self.sinks
            .iter()
            .find(|s| s.gone.load(Ordering::Relaxed))
            .map(|s| s.counters.name.as_str())
    }

    /// Every sink closes and reopens its destination (SIGHUP).
    pub fn reopen(&self) {
        for s in &self.sinks {
            s.reopen();
        }
    }

    /// Waits (at most `timeout`) until every queue is empty, so the figures read next are final.
    pub fn settle(&mut self, timeout: Duration) {
        self.flush();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && !self.sinks.iter().all(SinkHandle::is_idle) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Flushes and closes every sink: each writes what it holds (a sink still unreachable at
    /// `timeout` counts the rest as dropped).
    pub fn close(mut self, timeout: Duration) {
        self.flush();
        let deadline = Instant::now() + timeout;
        for s in &mut self.sinks {
            s.close(deadline);
        }
    }
}

/// Lines of a kind name list, as a [`kind_bit`] mask.
pub fn kinds(names: &[&str]) -> u8 {
    names
        .iter()
        .filter_map(|n| LINE_KINDS.iter().position(|k| k == n))
        .fold(0, |m, i| m | kind_bit(i))
}

/// `--rotate-size` and `--pcapng-size`: bytes, or a number with K, M or G (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, SinkError> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(SinkError::Size(s.to_string())),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| SinkError::Size(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("4K").unwrap(), 4096);
        assert_eq!(parse_size("10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        for bad in ["", "0", "K", "1T", "-1", "1.5M", "99999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    /// A writer that records what it got, and can be told to hold (not ready).
    struct Recorder {
        got: Arc<Mutex<Vec<String>>>,
        ready: Arc<AtomicBool>,
        flushes: Arc<AtomicU64>,
    }

    impl Writer for Recorder {
        fn write(&mut self, b: &Batch, range: Range<usize>, want: u8, c: &SinkCounters) {
            for i in range {
                let l = b.lines[i];
                if want & kind_bit(l.kind as usize) == 0 {
                    continue;
                }
                let s = String::from_utf8_lossy(b.json_line(i)).into_owned();
                self.got.lock().unwrap().push(s);
                c.lines[l.kind as usize].fetch_add(1, Ordering::Relaxed);
            }
        }
        fn flush(&mut self, _c: &SinkCounters) {
            self.flushes.fetch_add(1, Ordering::Relaxed);
        }
        fn ready(&mut self, _c: &SinkCounters) -> bool {
            self.ready.load(Ordering::Relaxed)
        }
    }

    #[derive(Serialize)]
    struct N {
        n: u32,
    }

    fn recorder(
        want: u8,
        capacity: usize,
    ) -> (SinkHandle, Arc<Mutex<Vec<String>>>, Arc<AtomicBool>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let ready = Arc::new(AtomicBool::new(true));
        let h = SinkHandle::start(
            SinkSpec {
                name: "test".into(),
                want,
                text: false,
                writer: Box::new(Recorder {
                    got: got.clone(),
                    ready: ready.clone(),
                    flushes: Arc::new(AtomicU64::new(0)),
                }),
            },
            capacity,
        )
        .unwrap();
        (h, got, ready)
    }

    #[test]
    fn lines_reach_the_sink_in_order_and_filtered() {
        let t = Telemetry::new();
        let (all, got_all, _) = recorder(ALL_KINDS, 1000);
        let (alerts, got_alerts, _) = recorder(kinds(&["alert"]), 1000);
        let mut e = Emitter::new(vec![all, alerts], &t);
        for n in 0..10 {
            let kind = if n % 3 == 0 { "alert" } else { "packet" };
            e.line(kind, &N { n }, severity::INFO, kind, |_| {})
                .unwrap();
        }
        e.close(Duration::from_secs(5));
        let all = got_all.lock().unwrap();
        assert_eq!(all.len(), 10);
        for (n, l) in all.iter().enumerate() {
            assert!(l.ends_with(&format!("\"n\":{n}}}\n")), "{l}");
            assert!(l.starts_with("{\"kind\":"), "{l}");
        }
        let alerts = got_alerts.lock().unwrap();
        assert_eq!(alerts.len(), 4);
        assert!(alerts.iter().all(|l| l.contains("\"kind\":\"alert\"")));
    }

    #[test]
    fn a_stuck_sink_drops_what_does_not_fit_and_never_blocks() {
        let t = Telemetry::new();
        let (h, got, ready) = recorder(ALL_KINDS, 5);
        ready.store(false, Ordering::Relaxed);
        let counters = Arc::clone(h.counters());
        let mut e = Emitter::new(vec![h], &t);
        for n in 0..3 {
            e.line("packet", &N { n }, severity::INFO, "packet", |_| {})
                .unwrap();
        }
        e.flush();
        for n in 3..10 {
            e.line("packet", &N { n }, severity::INFO, "packet", |_| {})
                .unwrap();
        }
        e.flush();
        // 5 fit, 5 dropped; nothing written while the sink is not ready.
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 5);
        assert_eq!(counters.queued.load(Ordering::Relaxed), 5);
        assert!(got.lock().unwrap().is_empty());
        ready.store(true, Ordering::Relaxed);
        e.settle(Duration::from_secs(5));
        let got_now: Vec<String> = got.lock().unwrap().clone();
        assert_eq!(got_now.len(), 5);
        assert!(got_now[4].contains("\"n\":4"), "{got_now:?}");
        assert_eq!(t.totals().sinks["test"].dropped, 5);
        e.close(Duration::from_secs(5));
    }

    #[test]
    fn waiting_for_room_delivers_every_line_to_a_slow_sink() {
        let t = Telemetry::new();
        // Room for 5 lines, batches of 20: each batch goes in pieces as the sink takes them.
        let (h, got, ready) = recorder(ALL_KINDS, 5);
        ready.store(false, Ordering::Relaxed);
        let counters = Arc::clone(h.counters());
        let mut e = Emitter::new(vec![h], &t);
        e.wait_for_room(Duration::from_secs(30));
        let opener = {
            let ready = ready.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                ready.store(true, Ordering::Relaxed);
            })
        };
        for n in 0..60 {
            e.line("packet", &N { n }, severity::INFO, "packet", |_| {})
                .unwrap();
            if n % 20 == 19 {
                e.flush();
            }
        }
        e.close(Duration::from_secs(5));
        opener.join().unwrap();
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 0);
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 60);
        for (n, l) in got.iter().enumerate() {
            assert!(l.ends_with(&format!("\"n\":{n}}}\n")), "{l}");
        }
    }

    #[test]
    fn waiting_for_room_gives_up_on_a_sink_that_takes_nothing() {
        let t = Telemetry::new();
        let (h, got, ready) = recorder(ALL_KINDS, 5);
        ready.store(false, Ordering::Relaxed);
        let counters = Arc::clone(h.counters());
        let mut e = Emitter::new(vec![h], &t);
        e.wait_for_room(Duration::from_millis(200));
        for round in 0..2 {
            for n in 0..10 {
                e.line("packet", &N { n }, severity::INFO, "packet", |_| {})
                    .unwrap();
            }
            e.flush();
            // The first batch waited, then dropped what did not fit; the second did not wait
            // for a sink that took nothing since.
            assert_eq!(counters.dropped.load(Ordering::Relaxed), 5 + 10 * round);
        }
        assert!(got.lock().unwrap().is_empty());
        ready.store(true, Ordering::Relaxed);
        e.close(Duration::from_secs(5));
        assert_eq!(got.lock().unwrap().len(), 5);
    }

    /// A new batch (while the sinks still hold the ones handed over) gets the capacity the last
    /// one grew to: a flood's batches, which end up to a line past `BATCH_BYTES` and vary in
    /// length, never reallocate and copy their megabyte; a quiet monitor's small batches keep
    /// their first, small capacity (the soak's RSS).
    #[test]
    fn a_new_batch_has_the_room_the_last_one_grew_to() {
        let t = Telemetry::new();
        let (h, got, ready) = recorder(ALL_KINDS, 1 << 20);
        // Not ready: the sink's queue holds every batch, so none can be reused.
        ready.store(false, Ordering::Relaxed);
        let mut e = Emitter::new(vec![h], &t);
        let line = |e: &mut Emitter, len: usize| {
            e.line_with(
                "packet",
                |out| {
                    out.extend_from_slice(b"{\"kind\":\"packet\",\"pad\":\"");
                    out.resize(out.len() + len, b'x');
                    out.extend_from_slice(b"\"}");
                    Ok(())
                },
                severity::INFO,
                "packet",
                |_| {},
            )
            .unwrap();
        };
        // Quiet: a few lines per batch.
        let small = e.batch.json.capacity();
        for _ in 0..3 {
            for _ in 0..10 {
                line(&mut e, 100);
            }
            e.flush();
            assert_eq!(e.batch.json.capacity(), small);
        }
        // A flood: lines until the batch is handed over by its size (the line that crossed
        // `BATCH_BYTES` leaves an empty batch behind).
        let mut n = 0;
        loop {
            line(&mut e, 500);
            n += 1;
            assert!(n < 10 * BATCH_BYTES / 500, "never handed over");
            if e.batch.lines.is_empty() {
                break;
            }
        }
        let grown = e.batch.json.capacity();
        assert!(grown > BATCH_BYTES, "{grown}");
        // The next batches' lines are longer: each batch ends longer than the one before it,
        // and still fits.
        for len in [501, 530, 600] {
            let mut n = 0;
            loop {
                line(&mut e, len);
                n += 1;
                assert!(n < 10 * BATCH_BYTES / len, "never handed over");
                if e.batch.lines.is_empty() {
                    break;
                }
                assert_eq!(e.batch.json.capacity(), grown, "line length {len}");
            }
        }
        ready.store(true, Ordering::Relaxed);
        e.close(Duration::from_secs(30));
        assert!(got.lock().unwrap().len() > 4 * (BATCH_BYTES / 700));
    }

    #[test]
    fn closing_while_unreachable_counts_the_rest_as_dropped() {
        let t = Telemetry::new();
        let (h, _got, ready) = recorder(ALL_KINDS, 100);
        ready.store(false, Ordering::Relaxed);
        let counters = Arc::clone(h.counters());
        let mut e = Emitter::new(vec![h], &t);
        for n in 0..7 {
            e.line("alert", &N { n }, severity::CRIT, "x", |_| {})
                .unwrap();
        }
        e.close(Duration::from_millis(200));
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 7);
        assert_eq!(counters.queued.load(Ordering::Relaxed), 0);
    }
}
