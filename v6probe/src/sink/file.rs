//! `--output file:PATH`: lines appended to PATH (created 0640), in chunks of up to 1 MiB,
//! flushed when the queue runs empty. With `--rotate-size`, a line that would take the file
//! past the size first rotates it: PATH.N-1 becomes PATH.N (PATH.keep is removed), PATH
//! becomes PATH.1 (gzipped to PATH.1.gz with `--rotate-compress`), and a new PATH is started.
//! Only whole lines are written to a file, so rotation neither loses nor splits a line. A file
//! larger than the size only happens for a single line longer than it.
//!
//! SIGHUP (through [`super::Emitter::reopen`]) closes and reopens PATH, so logrotate can move
//! the file away itself. A failed open or write is counted (`errors`, and its lines in
//! `dropped`) and the file is opened again on the next chunk, at most once a second.
use std::{
    fs::{File, OpenOptions},
    io::{self, Write},
    ops::Range,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use super::{kind_bit, Batch, Writer};
use crate::metrics::{SinkCounters, LINE_KINDS};

/// Write out once this much is buffered.
const CHUNK: usize = 1 << 20;
/// A failed open is tried again after this long (lines meanwhile count as dropped).
const RETRY_OPEN: Duration = Duration::from_secs(1);

/// How a file sink rotates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a line would take the file past this many bytes.
    pub size: u64,
    /// Rotated files kept (PATH.1 ... PATH.keep); 0 keeps none.
    pub keep: usize,
    /// gzip rotated files (PATH.1.gz ...).
    pub compress: bool,
}

pub struct FileWriter {
    path: PathBuf,
    text: bool,
    rotation: Option<Rotation>,
    file: Option<File>,
    /// Bytes in the file now.
    size: u64,
    buf: Vec<u8>,
    kinds: [u64; LINE_KINDS.len()],
    failed_open: Option<Instant>,
}

impl FileWriter {
    pub fn new(path: PathBuf, text: bool, rotation: Option<Rotation>) -> Self {
        Self {
            path,
            text,
            rotation,
            file: None,
            size: 0,
            buf: Vec::with_capacity(CHUNK),
            kinds: Default::default(),
            failed_open: None,
        }
    }

    fn open(&mut self, c: &SinkCounters) -> bool {
        if self.file.is_some() {
            return true;
        }
        if self.failed_open.is_some_and(|t| t.elapsed() < RETRY_OPEN) {
            return false;
        }
        let opened = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&self.path)
            .and_then(|f| f.metadata().map(|m| (f, m.len())));
        match opened {
            Ok((f, len)) => {
                self.file = Some(f);
                self.size = len;
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

    fn drop_buffer(&mut self, c: &SinkCounters) {
        c.dropped
            .fetch_add(self.kinds.iter().sum::<u64>(), Ordering::Relaxed);
        self.buf.clear();
        self.kinds = Default::default();
    }

    /// Rotates the (flushed) file: see the module documentation.
    fn rotate(&mut self, c: &SinkCounters) {
        let Some(rot) = self.rotation.clone() else {
            return;
        };
        self.file = None;
        if let Err(e) = rotate_files(&self.path, &rot) {
            tracing::warn!("rotating {}: {e}", self.path.display());
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        c.rotations.fetch_add(1, Ordering::Relaxed);
        self.size = 0;
    }
}

/// The name of rotated file `n` of `path`.
pub fn rotated_name(path: &Path, n: usize, compress: bool) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}{}", if compress { ".gz" } else { "" }));
    PathBuf::from(s)
}

/// Shifts PATH.1 ... to PATH.2 ..., dropping the oldest, and moves PATH to PATH.1 (gzipped
/// when asked).
pub fn rotate_files(path: &Path, rot: &Rotation) -> io::Result<()> {
    if rot.keep == 0 {
        return std::fs::remove_file(path);
    }
    let oldest = rotated_name(path, rot.keep, rot.compress);
    match std::fs::remove_file(&oldest) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    for n in (1..rot.keep).rev() {
        let from = rotated_name(path, n, rot.compress);
        match std::fs::rename(&from, rotated_name(path, n + 1, rot.compress)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    if rot.compress {
        let dest = rotated_name(path, 1, true);
        let mut tmp = dest.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let res = (|| {
            let mut input = File::open(path)?;
            let out = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o640)
                .open(&tmp)?;
            let mut gz = flate2::write::GzEncoder::new(
                io::BufWriter::with_capacity(256 * 1024, out),
                flate2::Compression::default(),
            );
            io::copy(&mut input, &mut gz)?;
            gz.finish()?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            std::fs::rename(&tmp, &dest)?;
            std::fs::remove_file(path)
        })();
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res
    } else {
        std::fs::rename(path, rotated_name(path, 1, false))
    }
}

impl Writer for FileWriter {
    fn write(&mut self, batch: &Batch, range: Range<usize>, want: u8, c: &SinkCounters) {
        // Opened before the first line, so the size of what an earlier run left is known.
        self.open(c);
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
            if let Some(rot) = &self.rotation {
                let pending = self.size + self.buf.len() as u64;
                if pending > 0 && pending + line.len() as u64 > rot.size {
                    self.flush(c);
                    if self.size > 0 {
                        self.rotate(c);
                    }
                }
            }
            self.buf.extend_from_slice(line);
            self.kinds[meta.kind as usize] += 1;
            if self.buf.len() >= CHUNK {
                self.flush(c);
            }
        }
    }

    fn flush(&mut self, c: &SinkCounters) {
        if self.buf.is_empty() {
            return;
        }
        if !self.open(c) {
            self.drop_buffer(c);
            return;
        }
        let Some(f) = self.file.as_mut() else {
            return;
        };
        match f.write_all(&self.buf) {
            Ok(()) => {
                self.size += self.buf.len() as u64;
                c.bytes.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
                for (t, n) in c.lines.iter().zip(self.kinds.iter()) {
                    t.fetch_add(*n, Ordering::Relaxed);
                }
                self.buf.clear();
                self.kinds = Default::default();
            }
            Err(e) => {
                tracing::warn!("writing {}: {e}", self.path.display());
                c.errors.fetch_add(1, Ordering::Relaxed);
                self.drop_buffer(c);
                // Reopened on the next chunk: the file may have been removed or the disk freed.
                self.file = None;
            }
        }
    }

    fn reopen(&mut self, _c: &SinkCounters) {
        self.file = None;
        self.failed_open = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        metrics::Telemetry,
        sink::{severity, Emitter, SinkHandle, SinkSpec, ALL_KINDS},
    };
    use std::io::Read;

    #[derive(serde::Serialize)]
    struct L {
        n: u32,
        pad: String,
    }

    fn file_sink(
        path: &Path,
        rotation: Option<Rotation>,
    ) -> (Emitter, std::sync::Arc<SinkCounters>) {
        let h = SinkHandle::start(
            SinkSpec {
                name: format!("file:{}", path.display()),
                want: ALL_KINDS,
                text: false,
                writer: Box::new(FileWriter::new(path.to_path_buf(), false, rotation)),
            },
            1 << 20,
        )
        .unwrap();
        let c = std::sync::Arc::clone(h.counters());
        (Emitter::new(vec![h], &Telemetry::new()), c)
    }

    fn read_all(p: &Path) -> String {
        let mut s = String::new();
        if p.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(File::open(p).unwrap())
                .read_to_string(&mut s)
                .unwrap();
        } else {
            File::open(p).unwrap().read_to_string(&mut s).unwrap();
        }
        s
    }

    /// Every line written appears exactly once across the live and rotated files, each file
    /// holds only whole lines and stays within the size.
    fn burst(compress: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        let rot = Rotation {
            size: 16 * 1024,
            keep: 1000,
            compress,
        };
        let (mut e, c) = file_sink(&path, Some(rot));
        let n = 5000u32;
        for i in 0..n {
            let pad = "x".repeat((i % 97) as usize);
            e.line("packet", &L { n: i, pad }, severity::INFO, "packet", |_| {})
                .unwrap();
            if i % 37 == 0 {
                e.flush();
            }
        }
        e.close(Duration::from_secs(30));
        assert_eq!(c.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(c.errors.load(Ordering::Relaxed), 0);
        let rotations = c.rotations.load(Ordering::Relaxed) as usize;
        assert!(rotations > 10, "{rotations}");
        let mut seen = vec![0u32; n as usize];
        let mut files = vec![path.clone()];
        files.extend((1..=rotations).map(|k| rotated_name(&path, k, compress)));
        assert!(!rotated_name(&path, rotations + 1, compress).exists());
        for f in &files {
            let text = read_all(f);
            assert!(text.ends_with('\n'), "{} ends mid-line", f.display());
            if !compress {
                assert!(text.len() as u64 <= 16 * 1024, "{} too big", f.display());
            }
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                seen[v["n"].as_u64().unwrap() as usize] += 1;
            }
        }
        assert!(seen.iter().all(|k| *k == 1), "a line lost or repeated");
        // Newest rotated file holds the lines just before the live file's.
        let live_first: serde_json::Value =
            serde_json::from_str(read_all(&path).lines().next().unwrap()).unwrap();
        let newest_last: serde_json::Value = serde_json::from_str(
            read_all(&rotated_name(&path, 1, compress))
                .lines()
                .last()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            newest_last["n"].as_u64().unwrap() + 1,
            live_first["n"].as_u64().unwrap()
        );
    }

    #[test]
    fn rotation_under_a_burst_loses_and_splits_no_line() {
        burst(false);
    }

    #[test]
    fn compressed_rotation_under_a_burst_loses_and_splits_no_line() {
        burst(true);
    }

    #[test]
    fn keeps_only_the_newest_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let (mut e, c) = file_sink(
            &path,
            Some(Rotation {
                size: 100,
                keep: 2,
                compress: false,
            }),
        );
        for i in 0..20 {
            e.line(
                "alert",
                &L {
                    n: i,
                    pad: "y".repeat(60),
                },
                2,
                "x",
                |_| {},
            )
            .unwrap();
        }
        e.close(Duration::from_secs(5));
        assert_eq!(c.rotations.load(Ordering::Relaxed), 19);
        assert!(rotated_name(&path, 2, false).exists());
        assert!(!rotated_name(&path, 3, false).exists());
        assert!(read_all(&path).contains("\"n\":19"));
        assert!(read_all(&rotated_name(&path, 1, false)).contains("\"n\":18"));
    }

    #[test]
    fn reopen_follows_a_moved_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let (mut e, _c) = file_sink(&path, None);
        e.line(
            "packet",
            &L {
                n: 1,
                pad: String::new(),
            },
            6,
            "p",
            |_| {},
        )
        .unwrap();
        e.settle(Duration::from_secs(5));
        // logrotate's way: move the file, then signal.
        std::fs::rename(&path, dir.path().join("out.json.old")).unwrap();
        e.reopen();
        e.line(
            "packet",
            &L {
                n: 2,
                pad: String::new(),
            },
            6,
            "p",
            |_| {},
        )
        .unwrap();
        e.close(Duration::from_secs(5));
        assert!(read_all(&dir.path().join("out.json.old")).contains("\"n\":1"));
        let now = read_all(&path);
        assert!(now.contains("\"n\":2") && !now.contains("\"n\":1"), "{now}");
    }

    #[test]
    fn an_unwritable_path_counts_errors_and_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("out.json");
        let (mut e, c) = file_sink(&path, None);
        e.line(
            "packet",
            &L {
                n: 1,
                pad: String::new(),
            },
            6,
            "p",
            |_| {},
        )
        .unwrap();
        e.close(Duration::from_secs(5));
        assert_eq!(c.dropped.load(Ordering::Relaxed), 1);
        assert!(c.errors.load(Ordering::Relaxed) >= 1);
    }
}
