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
    Rfc3339::new(t).as_str().to_owned()
}

/// [`rfc3339_nanos`] written into a buffer on the stack: no allocation, so a packet line can
/// carry its time as a [`SystemTime`] and format it only when it is printed.
#[derive(Clone, Copy)]
pub struct Rfc3339 {
    buf: [u8; Self::MAX],
    len: u8,
}

impl Rfc3339 {
    /// The longest text: a sign, the 29 digits of the largest year, then
    /// `-MM-DDTHH:MM:SS.NNNNNNNNNZ`.
    const MAX: usize = 1 + 29 + 26;

    pub fn new(t: SystemTime) -> Self {
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
        // Within 0000..=9999 the arithmetic fits i64, which is several times faster than i128.
        let (year, month, day, sod) = match i64::try_from(secs) {
            Ok(s) if (-62_167_219_200..=253_402_300_799).contains(&s) => {
                let (y, m, d) = civil_from_days(s.div_euclid(86_400));
                (i128::from(y), m, d, s.rem_euclid(86_400) as u32)
            }
            _ => {
                let (y, m, d) = civil_from_days_wide(secs.div_euclid(86_400));
                (y, m, d, secs.rem_euclid(86_400) as u32)
            }
        };
        let mut w = Self {
            buf: [0; Self::MAX],
            len: 0,
        };
        if (0..=9999).contains(&year) {
            w.digits(year as u64, 4);
        } else {
            // `{year:+05}`: a sign, then at least four digits.
            w.push(if year < 0 { b'-' } else { b'+' });
            let mag = year.unsigned_abs();
            let n = mag.checked_ilog10().map_or(1, |l| l as usize + 1).max(4);
            w.digits_wide(mag, n);
        }
        w.push(b'-');
        w.digits(u64::from(month), 2);
        w.push(b'-');
        w.digits(u64::from(day), 2);
        w.push(b'T');
        w.digits(u64::from(sod / 3600), 2);
        w.push(b':');
        w.digits(u64::from(sod / 60 % 60), 2);
        w.push(b':');
        w.digits(u64::from(sod % 60), 2);
        w.push(b'.');
        w.digits(u64::from(nanos), 9);
        w.push(b'Z');
        w
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation were written.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len as usize] = b;
        self.len += 1;
    }

    /// `v` as exactly `n` decimal digits (zero-padded; `v` has no more than `n`).
    fn digits(&mut self, mut v: u64, n: usize) {
        let at = self.len as usize;
        for i in (0..n).rev() {
            self.buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.len += n as u8;
    }

    fn digits_wide(&mut self, mut v: u128, n: usize) {
        let at = self.len as usize;
        for i in (0..n).rev() {
            self.buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.len += n as u8;
    }
}

impl std::ops::Deref for Rfc3339 {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Serializes a time as [`rfc3339_nanos`] text (for `#[serde(serialize_with)]`).
pub fn ser_rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    Rfc3339::new(*t).serialize(s)
}

// Civil date from days since 1970-01-01 in the proleptic Gregorian calendar
// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// [`civil_from_days`] for any day a `SystemTime` can hold.
fn civil_from_days_wide(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month as u32, day as u32)
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

    /// The formatter before it wrote into a stack buffer, kept as the reference.
    fn reference(t: SystemTime) -> String {
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
        let (year, month, day) = civil_from_days_wide(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
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

    #[test]
    fn stack_formatter_agrees_with_the_reference() {
        use std::time::Duration;
        let e = SystemTime::UNIX_EPOCH;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut times = vec![
            e,
            e + Duration::new(253_402_300_799, 999_999_999),
            e + Duration::from_secs(253_402_300_800),
            e - Duration::from_secs(62_167_219_200),
            e - Duration::new(62_167_219_200, 1),
            e - Duration::new(0, 1),
        ];
        for max in [i64::MAX as u64 / 2, 1 << 40, 1 << 36, 300_000_000_000] {
            times.extend(
                [
                    e.checked_add(Duration::from_secs(max)),
                    e.checked_sub(Duration::from_secs(max)),
                ]
                .into_iter()
                .flatten(),
            );
        }
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = Duration::new(
                x % (1 << (x >> 58).max(8)),
                (x >> 32) as u32 % 1_000_000_000,
            );
            times.extend([e.checked_add(d), e.checked_sub(d)].into_iter().flatten());
        }
        for t in times {
            let fast = Rfc3339::new(t);
            assert_eq!(fast.as_str(), reference(t), "{t:?}");
            assert_eq!(rfc3339_nanos(t), reference(t));
            assert_eq!(
                serde_json::to_string(&fast).unwrap(),
                format!("\"{}\"", reference(t))
            );
        }
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
