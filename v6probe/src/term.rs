//! Text for a terminal: strings that came from the network or a file, escaped.
//!
//! An interface name in a capture, a DNS search domain, a host name or a value quoted by a
//! parser's error message can hold control characters: `ESC[2J` clears the screen, a newline
//! starts a line the reader takes for one of ours ("ALERT high ra_rogue ..."), a carriage
//! return or a bidirectional override rewrites what is shown. Every `--format text` line and
//! every error message goes through [`escape`], which writes them as visible escapes:
//! `\n`, `\r`, `\t`, `\\`, `\xHH` for the other C0 controls and DEL, `\u{HHHH}` for the C1
//! controls and the bidirectional formatting characters. JSON output needs none of this: the
//! serializer escapes control characters itself.
//!
//! Text records are written with [`write_line`] (or the [`text_line!`](crate::text_line) macro,
//! `writeln!` with the escaping): the whole line is escaped, so no field of it, present or
//! added later, can end it or carry a control sequence. Blocks of several lines escape each
//! field with [`Esc`] and are written with [`write_lines`].
use std::{
    borrow::Cow,
    fmt,
    io::{self, Write},
};

/// Whether `c` is written as an escape: C0 controls, DEL, C1 controls (all of Unicode's `Cc`),
/// the backslash (so an escape in the output is never ambiguous), and the bidirectional
/// formatting characters (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), which
/// reorder what a terminal shows.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every character [`needs_escape`] says written as an escape; borrowed when there is
/// none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x80 && needs_escape(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// A [`fmt::Display`] of a string, escaped: for one field inside a larger text.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&escape(self.0))
    }
}

/// Writes one text record: `line` escaped as a whole (a newline inside it is data, not the end
/// of the record), then a newline.
pub fn write_line<W: Write>(mut w: W, line: &str) -> io::Result<()> {
    w.write_all(escape(line).as_bytes())?;
    w.write_all(b"\n")
}

/// Writes a block of text records, one per line: each line escaped, the line breaks kept.
/// For blocks whose fields were already escaped with [`Esc`] (so no line break in them is
/// data).
pub fn write_lines<W: Write>(mut w: W, text: &str) -> io::Result<()> {
    for line in text.lines() {
        write_line(&mut w, line)?;
    }
    Ok(())
}

/// `writeln!` for a text record: formats the line, then writes it with [`write_line`]
/// (escaped, so whatever the fields hold it stays one line).
#[macro_export]
macro_rules! text_line {
    ($w:expr, $($arg:tt)*) => {
        $crate::term::write_line($w, &::std::format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "2026-01-01T00:00:00Z eth0 fe80::1 -> ff02::1 héllo ✓";
        assert!(matches!(escape(s), Cow::Borrowed(x) if x == s));
    }

    #[test]
    fn a_forged_line_and_a_screen_clear_become_visible_escapes() {
        let name = "eth0\x1b[2J\nALERT high ra_rogue forged\r\t\\\x00\x7f";
        assert_eq!(
            escape(name),
            "eth0\\x1b[2J\\nALERT high ra_rogue forged\\r\\t\\\\\\x00\\x7f"
        );
        let mut out = Vec::new();
        write_line(&mut out, &format!("{name} rest")).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.matches('\n').count(), 1, "{s:?}");
        assert!(s.ends_with(" rest\n"));
        assert!(!s.contains('\x1b'));
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_escaped() {
        assert_eq!(escape("a\u{9b}2Jb"), "a\\u{009b}2Jb");
        assert_eq!(escape("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(escape("\u{2066}\u{200f}"), "\\u{2066}\\u{200f}");
    }

    #[test]
    fn every_char_below_0xa0_is_printable_or_escaped() {
        for c in (0u32..0xa0).filter_map(char::from_u32) {
            let e = escape(c.encode_utf8(&mut [0; 4])).into_owned();
            assert!(
                e.chars().all(|x| (' '..='~').contains(&x)),
                "{c:?} -> {e:?}"
            );
        }
    }

    #[test]
    fn field_escape_keeps_padding() {
        assert_eq!(format!("[{:<8}]", Esc("a\nb")), "[a\\nb    ]");
        assert_eq!(format!("[{:<4}]", Esc("ok")), "[ok  ]");
    }

    #[test]
    fn write_lines_keeps_breaks_and_escapes_each_line() {
        let mut out = Vec::new();
        write_lines(&mut out, "one\x1b[1m\ntwo\n").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "one\\x1b[1m\ntwo\n");
    }
}
