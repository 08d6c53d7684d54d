//! MAC vendors from the IEEE registries as Debian's `ieee-data` package installs them
//! (`/usr/share/ieee-data/{oui,mam,oui36,iab}.csv`: MA-L 24-bit, MA-M 28-bit, MA-S and IAB
//! 36-bit assignments). Loaded once at start, bounded in size, and tolerant: a missing file is
//! skipped, a record that does not parse is counted and skipped.
use std::{collections::HashMap, path::Path, sync::Arc};

use v6probe_common::wire::EthernetAddress;

use super::table::Hasher;

/// Where Debian's `ieee-data` puts the registries.
pub const IEEE_DATA_DIR: &str = "/usr/share/ieee-data";

/// The registry files read, with the hex digits of their assignments.
pub const FILES: [(&str, u8); 4] = [
    ("oui.csv", 6),
    ("mam.csv", 7),
    ("oui36.csv", 9),
    ("iab.csv", 9),
];

/// A registry file larger than this is not read (the 2022 `oui.csv` is 3 MB).
const MAX_FILE_BYTES: u64 = 32 << 20;
/// At most this many assignments are kept (the four files held about 46,000 in 2022).
const MAX_ENTRIES: usize = 500_000;
/// Organisation names are cut to this many characters.
const MAX_NAME_CHARS: usize = 120;

/// MAC prefix -> organisation name.
#[derive(Debug, Default)]
pub struct Vendors {
    /// Keyed by (assignment length in hex digits, assignment value).
    by_prefix: HashMap<(u8, u64), Arc<str>, Hasher>,
    /// One copy of each organisation name.
    names: HashMap<Box<str>, Arc<str>, Hasher>,
    /// Records that did not parse, over all files.
    skipped: usize,
}

impl Vendors {
    /// Reads the registries in `dir`; `None` when none of them gave an assignment.
    pub fn load_dir(dir: &Path) -> Option<Self> {
        let mut v = Self::default();
        for (name, digits) in FILES {
            let path = dir.join(name);
            match read_bounded(&path) {
                Ok(text) => {
                    let (added, skipped) = v.add_csv(&text, digits);
                    tracing::debug!(path = %path.display(), added, skipped, "MAC vendor registry");
                }
                Err(e) => {
                    tracing::debug!(path = %path.display(), "MAC vendor registry not read: {e}")
                }
            }
        }
        if v.skipped > 0 {
            tracing::debug!(
                dir = %dir.display(),
                records = v.skipped,
                "MAC vendor registry: records that did not parse were skipped"
            );
        }
        v.names = HashMap::default();
        (!v.by_prefix.is_empty()).then_some(v)
    }

    /// Adds the assignments of one registry CSV (`Registry,Assignment,Organization
    /// Name,Organization Address`) whose assignments have `digits` hex digits; returns
    /// (added, skipped records).
    pub fn add_csv(&mut self, text: &str, digits: u8) -> (usize, usize) {
        let (mut added, mut skipped) = (0, 0);
        let mut first = true;
        for_each_record(text, |record| {
            let header =
                first && record.is_some_and(|r| r.first().is_some_and(|f| f == "Registry"));
            first = false;
            if header {
                return;
            }
            let parsed = record.and_then(|r| {
                let (assignment, org) = (r.get(1)?, r.get(2)?.trim());
                let ok = assignment.len() == usize::from(digits)
                    && assignment.bytes().all(|b| b.is_ascii_hexdigit());
                let value = u64::from_str_radix(assignment, 16).ok().filter(|_| ok)?;
                let org = match org.char_indices().nth(MAX_NAME_CHARS) {
                    Some((end, _)) => &org[..end],
                    None => org,
                };
                (!org.is_empty()).then_some((value, org))
            });
            let Some((value, org)) = parsed else {
                skipped += 1;
                return;
            };
            if self.by_prefix.len() >= MAX_ENTRIES {
                skipped += 1;
                return;
            }
            let name = match self.names.get(org) {
                Some(n) => n.clone(),
                None => {
                    let n: Arc<str> = Arc::from(org);
                    self.names.insert(org.into(), n.clone());
                    n
                }
            };
            self.by_prefix.insert((digits, value), name);
            added += 1;
        });
        self.skipped += skipped;
        (added, skipped)
    }

    pub fn len(&self) -> usize {
        self.by_prefix.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }

    /// Records that did not parse.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// True for a universally administered unicast MAC: only those are in the registries.
    pub fn is_universal(mac: &EthernetAddress) -> bool {
        mac.0[0] & 0x03 == 0
    }

    /// The organisation `mac` was assigned to; the most specific assignment wins.
    pub fn lookup(&self, mac: &EthernetAddress) -> Option<&str> {
        if !Self::is_universal(mac) {
            return None;
        }
        let m = mac.0;
        let v = u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]]);
        [9u8, 7, 6].into_iter().find_map(|digits| {
            let value = v >> (4 * (12 - u32::from(digits)));
            self.by_prefix.get(&(digits, value)).map(|s| &**s)
        })
    }
}

/// A regular file of at most [`MAX_FILE_BYTES`] (a FIFO planted there would block the start).
fn read_bounded(path: &Path) -> std::io::Result<String> {
    let buf = crate::files::read_regular(path, MAX_FILE_BYTES)?
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))?;
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Calls `f` with the fields of each CSV record of `text` (RFC 4180: a quoted field may hold
/// commas, line breaks and `""` for a quote; the registry's addresses span lines), or `None`
/// for a record that is malformed (a stray quote, or a quote never closed). Blank lines are
/// no records.
///
/// The delimiters are ASCII, so the text is scanned as bytes and copied a run at a time (a run
/// between ASCII bytes is whole UTF-8); the field strings are reused from record to record.
fn for_each_record(text: &str, mut f: impl FnMut(Option<&[String]>)) {
    // fields[..n] are the record's finished fields; fields[n] is the one being read.
    let mut fields: Vec<String> = vec![String::new()];
    let mut n = 0;
    let (mut quoted, mut bad, mut blank) = (false, false, true);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if quoted {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'"')
                .map_or(b.len(), |p| i + p);
            fields[n].push_str(&text[i..end]);
            if end == b.len() {
                break;
            }
            if b.get(end + 1) == Some(&b'"') {
                fields[n].push('"');
                i = end + 2;
            } else {
                quoted = false;
                i = end + 1;
            }
            continue;
        }
        let end = b[i..]
            .iter()
            .position(|&c| matches!(c, b'"' | b',' | b'\r' | b'\n'))
            .map_or(b.len(), |p| i + p);
        if end > i {
            fields[n].push_str(&text[i..end]);
            blank = false;
        }
        let Some(&c) = b.get(end) else { break };
        i = end + 1;
        match c {
            b'"' if fields[n].is_empty() => {
                quoted = true;
                blank = false;
            }
            b'"' => bad = true,
            b',' => {
                n += 1;
                if fields.len() == n {
                    fields.push(String::new());
                }
                fields[n].clear();
                blank = false;
            }
            b'\r' => {}
            _ => {
                if !blank {
                    f((!bad).then_some(&fields[..=n]));
                }
                n = 0;
                fields[0].clear();
                (bad, blank) = (false, true);
            }
        }
    }
    if !blank {
        f((!bad && !quoted).then_some(&fields[..=n]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUI: &str = "Registry,Assignment,Organization Name,Organization Address\n\
        MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US 98248 \n\
        MA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \n\
        MA-L,3C5AB4,\"Google, Inc.\",1600 Amphitheatre Parkway Mountain View CA US 94043 \n\
        MA-L,C404D8,Aviva Links Inc.,\"160 E Tasman Dr\n\
        STE 102 SAN JOSE CA US 95134 \"\n\
        \n\
        MA-L,ZZZZZZ,Bad hex,\n\
        MA-L,0011,Too short,\n\
        MA-L,00AABB,Stray \" quote,\n\
        MA-L,001122,\"Never closed\n\
        MA-L,001123,Swallowed by the open quote\n";
    const OUI36: &str = "Registry,Assignment,Organization Name,Organization Address\n\
        MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1 Moscow  RU 109388 \"\n";

    fn mac(s: &str) -> EthernetAddress {
        let mut m = [0u8; 6];
        for (i, p) in s.split(':').enumerate() {
            m[i] = u8::from_str_radix(p, 16).unwrap();
        }
        EthernetAddress(m)
    }

    #[test]
    fn registry_lines_quoted_or_garbled() {
        let mut v = Vendors::default();
        assert_eq!(v.add_csv(OUI, 6), (4, 4));
        assert_eq!(v.add_csv(OUI36, 9), (1, 0));
        assert_eq!(
            v.lookup(&mac("00:22:72:01:02:03")),
            Some("American Micro-Fuel Device Corp.")
        );
        assert_eq!(v.lookup(&mac("3c:5a:b4:00:00:01")), Some("Google, Inc."));
        // A quoted address over two lines is one record.
        assert_eq!(
            v.lookup(&mac("c4:04:d8:00:00:01")),
            Some("Aviva Links Inc.")
        );
        assert_eq!(v.lookup(&mac("00:11:23:00:00:01")), None);
        // The MA-S block inside the IEEE's own MA-L: the longer assignment wins.
        assert_eq!(v.lookup(&mac("70:b3:d5:f2:f0:01")), Some("TELEPLATFORMS"));
        assert_eq!(
            v.lookup(&mac("70:b3:d5:00:00:01")),
            Some("IEEE Registration Authority")
        );
        // Unknown, locally administered and multicast MACs have no vendor.
        assert_eq!(v.lookup(&mac("00:00:01:00:00:01")), None);
        assert_eq!(v.lookup(&mac("02:22:72:01:02:03")), None);
        assert_eq!(v.lookup(&mac("01:22:72:01:02:03")), None);
    }

    #[test]
    fn the_system_registry_loads_and_names_well_known_prefixes() {
        // Debian's ieee-data, installed by `cargo xtask setup`.
        let v = Vendors::load_dir(Path::new(IEEE_DATA_DIR))
            .expect("no IEEE registry in /usr/share/ieee-data: apt-get install ieee-data");
        assert!(v.len() > 20_000, "{} assignments", v.len());
        // Every record of Debian's files parses (addresses span lines inside quotes).
        assert_eq!(v.skipped(), 0);
        assert_eq!(
            v.lookup(&mac("00:00:0c:12:34:56")),
            Some("Cisco Systems, Inc")
        );
        assert_eq!(
            v.lookup(&mac("08:00:27:00:00:01")),
            Some("PCS Systemtechnik GmbH")
        );
        assert_eq!(v.lookup(&mac("02:00:0c:12:34:56")), None);
    }

    /// The record splitter as it was before it scanned bytes, kept as the reference.
    fn reference_records(text: &str) -> Vec<Option<Vec<String>>> {
        let mut out = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        let mut field = String::new();
        let (mut quoted, mut bad, mut blank) = (false, false, true);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    c => field.push(c),
                }
                continue;
            }
            match c {
                '"' if field.is_empty() => {
                    quoted = true;
                    blank = false;
                }
                '"' => bad = true,
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    blank = false;
                }
                '\r' => {}
                '\n' => {
                    if !blank {
                        fields.push(std::mem::take(&mut field));
                        out.push((!bad).then(|| fields.clone()));
                    }
                    fields.clear();
                    field.clear();
                    (bad, blank) = (false, true);
                }
                c => {
                    field.push(c);
                    blank = false;
                }
            }
        }
        if !blank {
            fields.push(field);
            out.push((!bad && !quoted).then_some(fields));
        }
        out
    }

    fn records(text: &str) -> Vec<Option<Vec<String>>> {
        let mut out = Vec::new();
        for_each_record(text, |r| out.push(r.map(<[String]>::to_vec)));
        out
    }

    #[test]
    fn record_splitter_agrees_with_the_reference() {
        let mut texts = vec![OUI.to_string(), OUI36.to_string(), String::new()];
        for (name, _) in FILES {
            if let Ok(t) = read_bounded(&Path::new(IEEE_DATA_DIR).join(name)) {
                texts.push(t);
            }
        }
        // Random texts over the characters the splitter treats specially, and some others.
        let alphabet = [
            "a",
            "B7",
            ",",
            "\"",
            "\"\"",
            "\n",
            "\r",
            "\r\n",
            " ",
            "\u{e9}",
            "\u{1f600}",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut t = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 24) {
                t.push_str(alphabet[((x >> (k * 2 % 60)) as usize + k as usize) % alphabet.len()]);
            }
            texts.push(t);
        }
        for t in &texts {
            assert_eq!(records(t), reference_records(t), "{t:?}");
        }
    }

    #[test]
    fn missing_directory_or_files_give_no_registry() {
        let scratch = v6probe_lab::TempDir::new("vendors").unwrap();
        let dir = scratch.path().join("ieee-data");
        assert!(Vendors::load_dir(&dir).is_none());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("oui.csv"), b"\xff\xfe garbage\nno,commas here\n").unwrap();
        assert!(Vendors::load_dir(&dir).is_none());
        // A FIFO in place of a registry is skipped, not read (it would block).
        let fifo = std::ffi::CString::new(dir.join("mam.csv").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::fs::write(dir.join("oui.csv"), OUI).unwrap();
        let v = Vendors::load_dir(&dir).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v.skipped(), 4);
    }
}
