//! `--state FILE`: the learned baseline (routers with their RA values, MACs acting as routers,
//! neighbour bindings), saved as JSON and written atomically: a temporary file in the same
//! directory, fsync, rename over the old one, fsync of the directory. A crash leaves either the
//! old file or the new one, never a torn one.
use std::{
    io::Write,
    net::Ipv6Addr,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use v6probe_common::wire::EthernetAddress;

use super::{baseline::RaParams, error::DetectError};

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub neighbors: Vec<NeighborState>,
    pub routers: Vec<RouterState>,
    pub router_macs: Vec<RouterMacState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborState {
    pub iface: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub address: Ipv6Addr,
    pub mac: EthernetAddress,
    pub prev_macs: Vec<EthernetAddress>,
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterState {
    pub iface: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub link_local: Ipv6Addr,
    pub mac: EthernetAddress,
    pub params: Option<RaParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterMacState {
    pub iface: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    pub mac: EthernetAddress,
}

impl State {
    /// Reads a state file; `Ok(None)` when it does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Self>, DetectError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(DetectError::Io {
                    op: "reading the state file",
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let s: State = serde_json::from_str(&text).map_err(|e| DetectError::State {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if s.version != STATE_VERSION {
            return Err(DetectError::State {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!(
                    "state version {} (this build reads {STATE_VERSION})",
                    s.version
                ),
            });
        }
        Ok(Some(s))
    }

    /// Writes the state atomically (temporary file + rename).
    pub fn save(&self, path: &Path) -> Result<(), DetectError> {
        let io = |op: &'static str, p: &Path| {
            let p = p.to_path_buf();
            move |source| DetectError::Io {
                op,
                path: p,
                source,
            }
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let json = serde_json::to_vec_pretty(self).map_err(|e| DetectError::State {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: e.to_string(),
        })?;
        let result = (|| {
            let mut f = std::fs::File::create(&tmp).map_err(io("creating", &tmp))?;
            f.write_all(&json).map_err(io("writing", &tmp))?;
            f.write_all(b"\n").map_err(io("writing", &tmp))?;
            f.sync_all().map_err(io("syncing", &tmp))?;
            std::fs::rename(&tmp, path).map_err(io("renaming the new state over", path))?;
            // Make the rename itself durable; not every filesystem allows fsync on a directory.
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}
