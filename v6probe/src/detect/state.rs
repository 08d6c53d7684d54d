//! `--state FILE`: the learned baseline (routers with their RA values, MACs acting as routers,
//! neighbour bindings), saved as JSON and written atomically ([`crate::files::write_atomic`]):
//! a new temporary file with a random name in the same directory (mode 0600, never one planted
//! there), fsync, rename over the old one, fsync of the directory. A crash leaves either the old
//! file or the new one, never a torn one.
//!
//! Loading takes the file as hostile (it may have been edited, truncated or planted): a regular
//! file of at most [`MAX_STATE_BYTES`], and any value out of range (version, VLAN id, name
//! length) is an error naming `file:line:column`.
use std::{net::Ipv6Addr, path::Path};

use serde::{Deserialize, Serialize, Serializer};
use v6probe_common::wire::EthernetAddress;

use super::{baseline::RaParams, error::DetectError, links::Links};

pub const STATE_VERSION: u32 = 1;

/// Largest state file read. The default bounds save about 20 MB; this leaves room for
/// `--max-neighbors` in the millions.
pub const MAX_STATE_BYTES: u64 = 1 << 30;

/// Longest interface name read from a state file (the capture reader's bound too).
pub const MAX_IFACE_NAME: usize = crate::capture::MAX_IF_NAME;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(deserialize_with = "checked::version")]
    pub version: u32,
    pub neighbors: Vec<NeighborState>,
    pub routers: Vec<RouterState>,
    pub router_macs: Vec<RouterMacState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborState {
    #[serde(deserialize_with = "checked::iface")]
    pub iface: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "checked::vlan"
    )]
    pub vlan: Option<u16>,
    pub address: Ipv6Addr,
    pub mac: EthernetAddress,
    pub prev_macs: Vec<EthernetAddress>,
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterState {
    #[serde(deserialize_with = "checked::iface")]
    pub iface: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "checked::vlan"
    )]
    pub vlan: Option<u16>,
    pub link_local: Ipv6Addr,
    pub mac: EthernetAddress,
    pub params: Option<RaParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterMacState {
    #[serde(deserialize_with = "checked::iface")]
    pub iface: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "checked::vlan"
    )]
    pub vlan: Option<u16>,
    pub mac: EthernetAddress,
}

/// Values checked while they are parsed, so an error carries the line and column.
mod checked {
    use serde::{de::Error, Deserialize, Deserializer};

    pub fn version<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = u32::deserialize(d)?;
        if v != super::STATE_VERSION {
            return Err(D::Error::custom(format!(
                "state version {v} (this build reads {})",
                super::STATE_VERSION
            )));
        }
        Ok(v)
    }

    pub fn iface<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() > super::MAX_IFACE_NAME {
            return Err(D::Error::custom(format!(
                "interface name of {} bytes (at most {})",
                s.len(),
                super::MAX_IFACE_NAME
            )));
        }
        Ok(s)
    }

    pub fn vlan<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        let v = Option::<u16>::deserialize(d)?;
        if let Some(id) = v.filter(|id| *id > 4095) {
            return Err(D::Error::custom(format!(
                "VLAN id {id} (VLAN ids are 12 bits: 0 to 4095)"
            )));
        }
        Ok(v)
    }
}

impl State {
    /// Reads a state file; `Ok(None)` when it does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Self>, DetectError> {
        let bytes = match crate::files::read_regular(path, MAX_STATE_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(error) => {
                return Err(DetectError::Io {
                    op: "reading the state file",
                    path: path.to_path_buf(),
                    error,
                })
            }
        };
        Self::parse(&bytes, path).map(Some)
    }

    /// Parses state file bytes; `path` names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, DetectError> {
        serde_json::from_slice(bytes).map_err(|e| {
            // serde_json's text ends with the position, which the error shows already.
            let text = e.to_string();
            let at = format!(" at line {} column {}", e.line(), e.column());
            DetectError::State {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: text.strip_suffix(&at).unwrap_or(&text).to_string(),
            }
        })
    }

    /// Writes the state atomically, mode 0600 (see the module documentation). The JSON is
    /// streamed to the file: a state of 20,000 bindings is megabytes of text, and a buffer
    /// that large, built at every periodic save, left the monitor's heap that much larger.
    pub fn save(&self, path: &Path) -> Result<(), DetectError> {
        save_json(path, self)
    }
}

/// Writes `state` (a [`State`] or a [`StateView`]) as the state file: pretty JSON and a
/// newline, streamed into the atomic write.
pub(crate) fn save_json(path: &Path, state: &impl Serialize) -> Result<(), DetectError> {
    crate::files::write_atomic_with(path, 0o600, |w| {
        serde_json::to_writer_pretty(&mut *w, state)?;
        w.write_all(b"\n")
    })
    .map_err(|e| DetectError::Io {
        op: e.op,
        path: e.path,
        error: e.error,
    })
}

/// A [`State`] serialized from the detector's own tables (the same JSON, field for field):
/// a periodic save of a full neighbour table then copies no binding (an owned list of
/// 20,000 bindings is about 2 MB, built every five minutes). Each list is a [`Listed`].
#[derive(Serialize)]
pub struct StateView<N, R, M> {
    pub version: u32,
    pub neighbors: N,
    pub routers: R,
    pub router_macs: M,
}

/// A [`NeighborState`] borrowed from the neighbour table.
#[derive(Serialize)]
pub struct NeighborRef<'a> {
    pub iface: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub address: Ipv6Addr,
    pub mac: EthernetAddress,
    pub prev_macs: &'a [EthernetAddress],
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
}

/// A [`RouterState`] borrowed from the router table.
#[derive(Serialize)]
pub struct RouterRef<'a> {
    pub iface: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub link_local: Ipv6Addr,
    pub mac: EthernetAddress,
    pub params: Option<&'a RaParams>,
}

/// A [`RouterMacState`] borrowed from the neighbour table.
#[derive(Serialize)]
pub struct RouterMacRef<'a> {
    pub iface: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub mac: EthernetAddress,
}

/// A JSON array of `entries` (references into a table, in file order), each written as
/// `show` makes it when its turn comes: what is held is the references, not the entries.
pub struct Listed<T, F> {
    entries: Vec<T>,
    show: F,
}

impl<T, F> Listed<T, F> {
    pub fn new(entries: Vec<T>, show: F) -> Self {
        Self { entries, show }
    }
}

impl<T, F, R> Serialize for Listed<T, F>
where
    F: Fn(&T) -> R,
    R: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.entries.iter().map(&self.show))
    }
}

/// The links' names for a save, and their order in the file: by interface name (empty when
/// the packets did not say), then VLAN (untagged first), as [`State`]'s lists are sorted.
pub struct SavedLinks<'a> {
    /// Per link id: interface name, VLAN, place in the file order.
    links: Vec<(&'a str, Option<u16>, u32)>,
}

impl<'a> SavedLinks<'a> {
    pub fn new(links: &'a Links) -> Self {
        let mut named: Vec<(&str, Option<u16>, u32)> = (0..links.len())
            .map(|id| {
                let id = id as u16;
                (links.name(id).unwrap_or_default(), links.vlan(id), 0)
            })
            .collect();
        let mut order: Vec<u16> = (0..named.len() as u16).collect();
        // The link id breaks a tie (an unnamed link and one named ""), so the order is total.
        order.sort_unstable_by_key(|&id| (named[id as usize].0, named[id as usize].1, id));
        for (rank, id) in order.into_iter().enumerate() {
            named[id as usize].2 = rank as u32;
        }
        Self { links: named }
    }

    /// Interface name (empty when unknown) and VLAN of link `id`.
    pub fn name(&self, id: u16) -> (&'a str, Option<u16>) {
        self.links
            .get(id as usize)
            .map_or(("", None), |l| (l.0, l.1))
    }

    /// Link `id`'s place in the file order.
    pub fn rank(&self, id: u16) -> u32 {
        self.links.get(id as usize).map_or(u32::MAX, |l| l.2)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use v6probe_lab::TempDir;

    fn sample() -> State {
        State {
            version: STATE_VERSION,
            neighbors: vec![NeighborState {
                iface: "eth0".into(),
                vlan: Some(7),
                address: "fd00::1".parse().unwrap(),
                mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
                prev_macs: vec![EthernetAddress([2, 0, 0, 0, 0, 2])],
                first_seen_ns: 1,
                last_seen_ns: 2,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn save_ignores_a_link_planted_at_the_old_temporary_name_and_writes_0600() {
        let d = TempDir::new("state-save").unwrap();
        let victim = d.file("victim", b"root-owned content").unwrap();
        let path = d.path().join("state.json");
        // The name the temporary file used to have: `.state.json.tmp.<pid>`.
        let old_tmp = d
            .path()
            .join(format!(".state.json.tmp.{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
        sample().save(&path).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"root-owned content");
        assert!(std::fs::symlink_metadata(&old_tmp)
            .unwrap()
            .file_type()
            .is_symlink());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(State::load(&path).unwrap(), Some(sample()));
    }

    #[test]
    fn hostile_values_are_errors_with_line_and_column() {
        let p = Path::new("s.json");
        let good = serde_json::to_string_pretty(&sample()).unwrap();
        for (text, what) in [
            (
                good.replace("\"version\": 1", "\"version\": 99"),
                "state version 99",
            ),
            (
                good.replace("\"vlan\": 7", "\"vlan\": 4096"),
                "VLAN id 4096",
            ),
            (
                good.replace("\"vlan\": 7", "\"vlan\": 70000"),
                "invalid value",
            ),
            (
                good.replace("\"vlan\": 7", "\"vlan\": \"7\""),
                "invalid type",
            ),
            (
                good.replace("\"first_seen_ns\": 1", "\"first_seen_ns\": 1e400"),
                "number out of range",
            ),
            (
                good.replace(
                    "\"first_seen_ns\": 1",
                    "\"first_seen_ns\": 18446744073709551616",
                ),
                "invalid",
            ),
            (
                good.replace("\"eth0\"", &format!("\"{}\"", "a".repeat(257))),
                "interface name of 257 bytes",
            ),
            (good.replace("\"fd00::1\"", "\"fd00::zz\""), "invalid IPv6"),
            (good.replace("02:00:00:00:00:01", "02:00"), "not a MAC"),
            (
                // Nesting in an unknown field is skipped without recursion: no stack
                // overflow, and the missing version is reported after it.
                format!(
                    "{{\"x\": {}{}}}",
                    "[".repeat(1_000_000),
                    "]".repeat(1_000_000)
                ),
                "1:2000007: missing field `version`",
            ),
            (
                good.replace(
                    "\"neighbors\": [",
                    &format!("\"neighbors\": [{}", "[".repeat(500)),
                ),
                "invalid type: sequence",
            ),
            ("{\"version\": 1, \"neighbors\": [".into(), "EOF"),
        ] {
            let e = State::parse(text.as_bytes(), p).unwrap_err();
            let s = e.to_string();
            assert!(s.contains(what), "{s}");
            match e {
                DetectError::State { line, column, .. } => {
                    assert!(line >= 1 && column >= 1, "{s}")
                }
                other => panic!("{other}"),
            }
        }
        // Invalid UTF-8 inside a string.
        let mut bytes = good.into_bytes();
        let at = bytes.windows(4).position(|w| w == b"eth0").unwrap();
        bytes[at + 1] = 0xff;
        let e = State::parse(&bytes, p).unwrap_err().to_string();
        assert!(e.contains("s.json:5:18: invalid unicode"), "{e}");
    }
}
