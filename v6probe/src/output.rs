//! Machine output: one JSON object per line, each with a `kind` and the schema version `v`.
//! Human output is aligned text made from the same typed records.
use std::{
    io::{self, Write},
    time::SystemTime,
};

use serde::Serialize;

/// Version of the JSON-lines schema (README, "Output schema"). Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// `--format` for the commands that print records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Json,
    /// Aligned, readable text.
    Text,
}

/// A record wrapped with its `kind` and the schema version.
#[derive(Serialize)]
pub struct Line<'a, T: Serialize> {
    pub kind: &'a str,
    pub v: u32,
    #[serde(flatten)]
    pub body: &'a T,
}

/// Writes one JSON object per line and flushes after each, so pipelines see records at once.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes `{"kind":kind,"v":SCHEMA_VERSION, ...body}` and a newline.
    pub fn write<T: Serialize>(&mut self, kind: &str, body: &T) -> io::Result<()> {
        let line = Line {
            kind,
            v: SCHEMA_VERSION,
            body,
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

/// RFC 3339 UTC time with nanoseconds, e.g. `2026-11-26T17:37:22.123456789Z`.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_kind_and_version() {
        #[derive(Serialize)]
        struct Body {
            x: u8,
        }
        let mut w = JsonLines::new(Vec::new());
        w.write("stats", &Body { x: 7 }).unwrap();
        let s = String::from_utf8(w.out).unwrap();
        assert_eq!(s, "{\"kind\":\"stats\",\"v\":1,\"x\":7}\n");
    }

    #[test]
    fn formats_time() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::new(1, 5);
        assert_eq!(rfc3339_nanos(t), "1970-01-01T00:00:01.000000005Z");
    }
}
