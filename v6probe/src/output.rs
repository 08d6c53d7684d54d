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

/// Pieces of JSON written straight into a byte buffer: what `serde_json` writes for the same
/// values, without its serializer machinery (a `packet` line is written this way, see
/// [`crate::packet::Packet::write_json_line`]). Strings go through [`json::str`], which escapes
/// exactly as `serde_json` does.
pub mod json {
    use std::{cell::Cell, net::Ipv6Addr, time::SystemTime};

    use v6probe_common::wire::text::{hex_pair, Ipv6Text};

    /// A JSON string: copied between quotes when nothing in it needs an escape (the usual case:
    /// names, addresses), else written by `serde_json`.
    #[inline]
    pub fn str(out: &mut Vec<u8>, s: &str) {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            out.reserve(s.len() + 2);
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            // Writing into a Vec cannot fail, and a &str always serializes.
            let _ = serde_json::to_writer(&mut *out, s);
        }
    }

    /// The longest of the program's own names written by [`Cur::name`].
    pub const NAME_MAX: usize = 32;

    /// `null` or [`str`].
    #[inline]
    pub fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => str(out, s),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// Makes room for `N` bytes at the end of `out` and lets `write` fill it through a
    /// [`Cur`], then keeps what was written. Pieces go in place, with the position in a
    /// register: built on the stack and then copied, a piece was reloaded with wider moves than
    /// it was stored with (a load that waits for the stores), and appended piece by piece, the
    /// line's length and capacity were stored and reloaded around every byte written. `N` is
    /// the most the writer can put (a longer write panics: the sizes are bounded by the
    /// types written, see the callers).
    #[inline(always)]
    pub fn fixed<const N: usize>(out: &mut Vec<u8>, write: impl FnOnce(&mut Cur<'_, N>)) {
        let len = out.len();
        out.resize(len + N, 0);
        let n = match out[len..].first_chunk_mut::<N>() {
            Some(buf) => {
                let mut c = Cur { buf, n: 0 };
                write(&mut c);
                c.n
            }
            None => 0,
        };
        out.truncate(len + n);
    }

    /// A write position in room made by [`fixed`].
    pub struct Cur<'a, const N: usize> {
        buf: &'a mut [u8; N],
        n: usize,
    }

    impl<const N: usize> Cur<'_, N> {
        /// Where the next byte goes (for [`Cur::since`]).
        #[inline(always)]
        pub fn pos(&self) -> usize {
            self.n
        }

        /// What was written from `at` (a [`Cur::pos`]) on.
        #[inline(always)]
        pub fn since(&self, at: usize) -> &[u8] {
            &self.buf[at.min(self.n)..self.n]
        }

        /// Bytes as they are (literal JSON).
        #[inline(always)]
        pub fn lit(&mut self, s: &[u8]) {
            let end = self.n + s.len();
            self.buf[self.n..end].copy_from_slice(s);
            self.n = end;
        }

        /// `key` (a literal such as `,"on_link":`) and `true` or `false`, as one literal.
        #[inline(always)]
        pub fn flag(&mut self, yes: &[u8], no: &[u8], v: bool) {
            self.lit(if v { yes } else { no });
        }

        /// A JSON string from the program's own names (hook, direction, message names), at
        /// most [`NAME_MAX`] + 2 bytes: copied between quotes without [`str`]'s scan for
        /// characters to escape, which they never have.
        #[inline(always)]
        pub fn name(&mut self, s: &'static str) {
            debug_assert!(s.len() <= NAME_MAX);
            debug_assert!(s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
            self.lit(b"\"");
            self.lit(s.as_bytes());
            self.lit(b"\"");
        }

        /// A time as a string, [`super::Rfc3339`] text (at most 58 bytes). Frames of a flood
        /// share their second: the date and time of day are formatted once per second (per
        /// thread, `ts_head`), only the nanoseconds per line.
        #[inline]
        pub fn ts(&mut self, t: SystemTime) {
            let Some((d, head)) = ts_head(t) else {
                self.lit(b"\"");
                self.lit(super::Rfc3339::new(t).as_bytes());
                self.lit(b"\"");
                return;
            };
            let buf = &mut self.buf[self.n..self.n + 32];
            buf[0] = b'"';
            buf[1..21].copy_from_slice(&head);
            super::dec_digits(&mut buf[21..30], u64::from(d.subsec_nanos()));
            buf[30] = b'Z';
            buf[31] = b'"';
            self.n += 32;
        }

        /// A decimal number (at most 20 bytes), two digits per division.
        #[inline]
        pub fn uint(&mut self, v: u64) {
            let n = v.checked_ilog10().map_or(1, |l| l as usize + 1);
            super::dec_digits(&mut self.buf[self.n..self.n + n], v);
            self.n += n;
        }

        /// The text of `a` without quotes (at most 39 bytes; needs 45 of room).
        #[inline]
        fn ipv6_text(&mut self, a: &Ipv6Addr) {
            if let Some(t) = self.buf[self.n..].first_chunk_mut::<45>() {
                self.n += Ipv6Text::write(a, t);
            } else {
                // Not enough room for the scratch space: a caller's `N` is too small.
                self.lit(Ipv6Text::new(a).as_bytes());
            }
        }

        /// An IPv6 address as a string, as `Ipv6Addr`'s `Display` writes it (RFC 5952:
        /// lowercase, no leading zeros, the longest run of two or more zero groups as `::`,
        /// the first of equal runs; IPv4-mapped as `::ffff:a.b.c.d`). Needs 47 bytes of room.
        #[inline]
        pub fn ipv6(&mut self, a: &Ipv6Addr) {
            self.lit(b"\"");
            self.ipv6_text(a);
            self.lit(b"\"");
        }

        /// A prefix as a string, `ADDR/LEN` (the address as given, not truncated). Needs 51
        /// bytes of room.
        #[inline]
        pub fn prefix(&mut self, addr: &Ipv6Addr, len: u8) {
            self.lit(b"\"");
            self.ipv6_text(addr);
            self.lit(b"/");
            self.uint(u64::from(len));
            self.lit(b"\"");
        }

        /// A MAC address as a string, `02:00:00:00:00:01` (19 bytes).
        #[inline]
        pub fn mac(&mut self, m: &[u8; 6]) {
            let buf = &mut self.buf[self.n..self.n + 19];
            buf[0] = b'"';
            for (i, b) in m.iter().enumerate() {
                buf[1 + 3 * i..3 + 3 * i].copy_from_slice(&hex_pair(*b));
                buf[3 + 3 * i] = b':';
            }
            buf[18] = b'"';
            self.n += 19;
        }
    }

    /// A decimal number.
    #[inline]
    pub fn uint(out: &mut Vec<u8>, v: u64) {
        fixed::<20>(out, |c| c.uint(v));
    }

    /// An IPv6 address as a string ([`Cur::ipv6`]).
    #[inline]
    pub fn ipv6(out: &mut Vec<u8>, a: &Ipv6Addr) {
        fixed::<47>(out, |c| c.ipv6(a));
    }

    /// A prefix as a string ([`Cur::prefix`]).
    #[inline]
    pub fn prefix(out: &mut Vec<u8>, addr: &Ipv6Addr, len: u8) {
        fixed::<51>(out, |c| c.prefix(addr, len));
    }

    /// The time since the epoch and the text of its second, `YYYY-MM-DDTHH:MM:SS.` (20
    /// bytes, kept per thread for the next time in the same second); `None` for a time that
    /// text does not fit (before 1970 or after 9999).
    #[inline]
    fn ts_head(t: SystemTime) -> Option<(std::time::Duration, [u8; 20])> {
        // Up to 9999-12-31T23:59:59 the text before the nanoseconds is 20 bytes.
        const LAST: u64 = 253_402_300_800;
        thread_local! {
            static SECOND: Cell<(u64, [u8; 20])> = const { Cell::new((u64::MAX, [0; 20])) };
        }
        let d = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .filter(|d| d.as_secs() < LAST)?;
        let secs = d.as_secs();
        let head = SECOND.with(|c| {
            let (s, head) = c.get();
            if s == secs {
                return head;
            }
            let mut head = [0u8; 20];
            head.copy_from_slice(&super::Rfc3339::new(t).as_bytes()[..20]);
            c.set((secs, head));
            head
        });
        Some((d, head))
    }

    /// A MAC address as a string ([`Cur::mac`]).
    #[inline]
    pub fn mac(out: &mut Vec<u8>, m: &[u8; 6]) {
        fixed::<19>(out, |c| c.mac(m));
    }

    /// Bytes as a string of lowercase hex digits.
    pub fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
        out.reserve(bytes.len() * 2 + 2);
        out.push(b'"');
        for b in bytes {
            out.extend_from_slice(&hex_pair(*b));
        }
        out.push(b'"');
    }
}

/// Writes `v` in decimal into the whole of `buf`, zero-padded on the left (`v` has no more
/// digits than `buf` is long), two digits per division from a table of digit pairs: what every
/// decimal text of the output is written with (numbers, times).
#[inline(always)]
fn dec_digits(buf: &mut [u8], mut v: u64) {
    /// The two digits of every number below 100, tens first.
    static DEC_PAIRS: [[u8; 2]; 100] = {
        let mut t = [[0u8; 2]; 100];
        let mut v = 0;
        while v < 100 {
            t[v] = [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
            v += 1;
        }
        t
    };
    let mut end = buf.len();
    while end >= 2 {
        buf[end - 2..end].copy_from_slice(&DEC_PAIRS[(v % 100) as usize]);
        v /= 100;
        end -= 2;
    }
    if end == 1 {
        // One digit left: `v` is below 10.
        buf[0] = b'0' + v as u8;
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
                let (y, m, d) = civil_from_days(days_i64(secs.div_euclid(86_400)));
                (i128::from(y), m, d, secs.rem_euclid(86_400) as u32)
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

    /// The text's bytes (ASCII), without the UTF-8 check of [`Rfc3339::as_str`].
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
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
    fn digits(&mut self, v: u64, n: usize) {
        let at = self.len as usize;
        dec_digits(&mut self.buf[at..at + n], v);
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

/// A day count from a `SystemTime` as i64. Seconds since the epoch are at most a `u64` either
/// way (a `Duration`), so the days stay below 2^48 and always fit; the arithmetic in
/// [`civil_from_days`] then stays far from i64's range too.
fn days_i64(days: i128) -> i64 {
    i64::try_from(days).unwrap_or(if days < 0 { i64::MIN / 4 } else { i64::MAX / 4 })
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

    /// `civil_from_days` in i128, as the formatter first did it: the reference's own
    /// arithmetic, so the i64 one is checked against something other than itself.
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
    fn json_pieces_agree_with_serde() {
        use std::net::Ipv6Addr;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut addrs: Vec<Ipv6Addr> = [
            "::",
            "::1",
            "1::",
            "::ffff:10.0.0.1",
            "::ffff:0:0",
            "::1.2.3.4",
            "fe80::1",
            "1:0:0:2:0:0:0:3",
            "1:0:0:2:0:0:3:4",
            "1:0:2:0:3:0:4:0",
            "0:1:0:1:0:1:0:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8:0:0:1:0:0:1",
            "0:0:1::",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for _ in 0..200_000 {
            // Groups zero half the time, short and long otherwise: runs of every length.
            let (r, s) = (next(), next());
            let mut seg = [0u16; 8];
            for (i, g) in seg.iter_mut().enumerate() {
                if r >> i & 1 == 1 {
                    *g = (s >> (8 * i)) as u16 >> ((r >> (8 + 4 * i)) % 16);
                }
            }
            addrs.push(Ipv6Addr::from(seg));
        }
        let mut out = Vec::new();
        for a in &addrs {
            out.clear();
            json::ipv6(&mut out, a);
            assert_eq!(out, serde_json::to_vec(&a.to_string()).unwrap(), "{a}");
            let len = (next() % 129) as u8;
            out.clear();
            json::prefix(&mut out, a, len);
            assert_eq!(out, serde_json::to_vec(&format!("{a}/{len}")).unwrap());
        }
        for v in [0, 1, 9, 10, 99, 100, u64::from(u32::MAX), u64::MAX]
            .into_iter()
            .chain((0..10_000).map(|_| next() >> (next() % 64)))
        {
            out.clear();
            json::uint(&mut out, v);
            assert_eq!(out, serde_json::to_vec(&v).unwrap());
        }
        for s in [
            "",
            "eth0",
            "a\"b",
            "\\",
            "\u{0}\u{1f}\u{7f}",
            "\u{e9}\u{2028}\u{1f600}",
            "\n\t",
        ] {
            out.clear();
            json::str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap());
        }
        for m in [[0u8; 6], [0xff; 6], [0x02, 0x1b, 0x21, 0xaa, 0x0f, 0xf0]] {
            out.clear();
            json::mac(&mut out, &m);
            assert_eq!(
                out,
                serde_json::to_vec(&v6probe_common::wire::EthernetAddress(m)).unwrap()
            );
        }
    }

    #[test]
    fn json_time_agrees_with_serde() {
        use std::time::Duration;
        let e = SystemTime::UNIX_EPOCH;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut times = vec![
            e,
            e + Duration::new(253_402_300_799, 999_999_999),
            e + Duration::from_secs(253_402_300_800),
            e - Duration::new(0, 1),
            e - Duration::from_secs(86_400 * 400),
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = e + Duration::new(x % 4_000_000_000, (x >> 32) as u32 % 1_000_000_000);
            // Runs within one second, as a flood's frames come, and jumps between seconds.
            times.extend([
                t,
                t + Duration::from_nanos(x % 1000),
                t - Duration::from_secs(1),
            ]);
        }
        let mut out = Vec::new();
        for t in times {
            out.clear();
            json::fixed::<58>(&mut out, |c| c.ts(t));
            assert_eq!(out, serde_json::to_vec(&Rfc3339::new(t)).unwrap(), "{t:?}");
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
