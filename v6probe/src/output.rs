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

/// RFC 3339 UTC time with nanoseconds, e.g. `2026-11-26T17:37:22.123456789Z`. Total: any
/// `SystemTime` formats, none panics. Years outside 0000..=9999, which RFC 3339 cannot write,
/// get the ISO 8601 expanded form with a sign (`+10000-01-01T00:00:00.000000000Z`,
/// `-0001-12-31T...`); times before 1970 count back from the epoch.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    // Seconds since the epoch (negative before it) and the nanoseconds after that second.
    let (secs, nanos): (i128, u32) = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (i128::from(d.as_secs()), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let s = -i128::from(d.as_secs());
            match d.subsec_nanos() {
                0 => (s, 0),
                n => (s - 1, 1_000_000_000 - n),
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 in the proleptic Gregorian calendar
    // (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+05}")
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
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

    #[test]
    fn time_formatting_is_total() {
        use std::time::Duration;
        let e = SystemTime::UNIX_EPOCH;
        // Agrees with humantime over its range (1970 ..= 9999), leap days and ends of years.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = match i {
                0 => 0,
                1 => 253_402_300_799, // 9999-12-31T23:59:59
                2 => 951_782_400,     // 2000-02-29
                3 => 4_107_542_399,   // 2100-02-28T23:59:59
                _ => x % 253_402_300_800,
            };
            let t = e + Duration::new(secs, (x >> 32) as u32 % 1_000_000_000);
            assert_eq!(
                rfc3339_nanos(t),
                humantime::format_rfc3339_nanos(t).to_string()
            );
        }
        // Outside it: an ISO 8601 expanded year, and no panic.
        let after = e + Duration::from_secs(253_402_300_800);
        assert_eq!(rfc3339_nanos(after), "+10000-01-01T00:00:00.000000000Z");
        let before = e - Duration::new(1, 999_999_999);
        assert_eq!(rfc3339_nanos(before), "1969-12-31T23:59:58.000000001Z");
        let long_ago = e - Duration::from_secs(62_167_219_200 + 86_400);
        assert_eq!(rfc3339_nanos(long_ago), "-0001-12-31T00:00:00.000000000Z");
        for d in [
            Duration::from_secs(i64::MAX as u64 / 2),
            Duration::from_secs(1 << 40),
        ] {
            for t in [e.checked_add(d), e.checked_sub(d)].into_iter().flatten() {
                let s = rfc3339_nanos(t);
                assert!(s.ends_with('Z') && s.contains('T'), "{s}");
            }
        }
    }
}
