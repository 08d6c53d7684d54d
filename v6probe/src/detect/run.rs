//! What `monitor` (and, later, `monitor --pcap`) call: the detection flags, and a
//! [`Detector`] fed one packet at a time.
use std::{
    io::{self, Write},
    path::PathBuf,
    time::Duration,
    time::SystemTime,
};

use super::{
    alert::Alert,
    config::Config,
    engine::{Engine, EngineStats},
    error::DetectError,
    policy::Policy,
    state::State,
    vendors::{Vendors, IEEE_DATA_DIR},
};
use crate::{
    output::{Format, JsonLines},
    packet::Packet,
};

/// Which packet lines to print besides the alerts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Events {
    /// Alerts only.
    None,
    /// NDP messages (RS, RA, NS, NA, redirect).
    Ndp,
    /// Every packet the kernel programs report.
    #[default]
    All,
}

/// Detection flags, flattened into `monitor`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DetectArgs {
    /// Packet lines to print besides alerts.
    #[arg(long, value_enum, default_value_t)]
    pub events: Events,
    /// Learn routers and neighbours for this many seconds before judging them.
    #[arg(long, value_name = "SECS", value_parser = parse_learn)]
    pub learn: Option<Duration>,
    /// Policy file (TOML): legitimate routers, prefixes, RDNSS, routes, proxies.
    #[arg(long, value_name = "FILE.toml")]
    pub policy: Option<PathBuf>,
    /// Save the learned baseline here on exit and after learning; restore it at start.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Most neighbour bindings kept (older ones are evicted, counted in the stats).
    #[arg(long, value_name = "N", default_value_t = Config::default().max_neighbors)]
    pub max_neighbors: usize,
    /// Directory of the IEEE MAC registries (oui.csv, mam.csv, oui36.csv, iab.csv) that name
    /// the vendor of an alert's MAC; without them alerts carry no `vendor`.
    #[arg(long, value_name = "DIR", default_value = IEEE_DATA_DIR)]
    pub ieee_data: PathBuf,
}

impl Default for DetectArgs {
    fn default() -> Self {
        Self {
            events: Events::default(),
            learn: None,
            policy: None,
            state: None,
            max_neighbors: Config::default().max_neighbors,
            ieee_data: PathBuf::from(IEEE_DATA_DIR),
        }
    }
}

fn parse_learn(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return Err(format!("`{s}`: give a number of seconds >= 0"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// The engine plus its policy and state file.
pub struct Detector {
    engine: Engine,
    events: Events,
    state_path: Option<PathBuf>,
    policy_path: Option<PathBuf>,
    /// Packet time of the last state save (or of the first packet).
    last_save: Option<SystemTime>,
}

/// What one frame gave: its alerts, and the packet it completed, if it was the last missing
/// fragment of one.
#[derive(Debug, Default)]
pub struct Judged {
    pub alerts: Vec<Alert>,
    pub reassembled: Option<Packet>,
}

/// With `--state`, the baseline is also saved this often (packet time), so a crash loses
/// little.
pub const SAVE_EVERY: Duration = Duration::from_secs(300);

impl Detector {
    /// Loads the policy and the state named in `args`, with default bounds.
    pub fn new(args: &DetectArgs) -> Result<Self, DetectError> {
        Self::with_config(args, Config::default())
    }

    pub fn with_config(args: &DetectArgs, mut cfg: Config) -> Result<Self, DetectError> {
        let policy = args.policy.as_deref().map(Policy::load).transpose()?;
        if let Some(l) = args.learn {
            cfg.learn = l;
        }
        cfg.max_neighbors = args.max_neighbors;
        let wants_vendor = policy.as_ref().is_some_and(|p| p.unknown_vendor);
        let mut engine = Engine::new(cfg, policy);
        // Read once, here: the engine only looks MACs up. Without a registry the monitor
        // runs as before, minus the `vendor` field: one line says so.
        let dir = &args.ieee_data;
        let vendors = Vendors::load_dir(dir);
        match &vendors {
            Some(v) => tracing::debug!(assignments = v.len(), "MAC vendor registry loaded"),
            None => tracing::warn!(
                "no IEEE MAC registry in {} (Debian package ieee-data): alerts name no vendor{}",
                dir.display(),
                if wants_vendor {
                    ", and the policy's unknown_vendor alerts are off"
                } else {
                    ""
                }
            ),
        }
        engine.set_vendors(vendors.map(std::sync::Arc::new));
        if let Some(path) = &args.state {
            if let Some(s) = State::load(path)? {
                tracing::info!(
                    path = %path.display(),
                    routers = s.routers.len(),
                    neighbors = s.neighbors.len(),
                    "state restored"
                );
                engine.restore(&s);
            }
        }
        Ok(Self {
            engine,
            events: args.events,
            state_path: args.state.clone(),
            policy_path: args.policy.clone(),
            last_save: None,
        })
    }

    /// Reads the policy file again (the monitor's SIGHUP). On an error the policy in force
    /// stays, and the error says why. Without `--policy`, nothing to do.
    pub fn reload_policy(&mut self) -> Result<bool, DetectError> {
        let Some(path) = &self.policy_path else {
            return Ok(false);
        };
        let policy = Policy::load(path)?;
        self.engine.set_policy(Some(policy));
        Ok(true)
    }

    /// Judges one packet (its kernel or capture timestamp as `now`).
    pub fn observe(&mut self, p: &Packet, now: SystemTime) -> Vec<Alert> {
        let alerts = self.engine.observe(p, now);
        self.after(now);
        alerts
    }

    /// Judges one frame: its decode `p`, and its bytes for fragment reassembly and the header
    /// chain ([`Engine::observe_frame_into`]). A fragment that completes a packet gives that
    /// packet too, already judged, for its own line.
    pub fn observe_frame(&mut self, bytes: &[u8], p: &Packet, now: SystemTime) -> Judged {
        let mut alerts = Vec::new();
        let reassembled = self.engine.observe_frame_into(bytes, p, now, &mut alerts);
        self.after(now);
        Judged {
            alerts,
            reassembled,
        }
    }

    /// See [`Engine::prefetch`]: called with the next frame of a batch before judging the
    /// current one.
    pub fn prefetch(&self, frame: &[u8]) {
        self.engine.prefetch(frame);
    }

    /// Saves the state after learning and every [`SAVE_EVERY`].
    fn after(&mut self, now: SystemTime) {
        let due = self.state_path.is_some()
            && match self.last_save {
                None => {
                    self.last_save = Some(now);
                    false
                }
                Some(t) => now.duration_since(t).is_ok_and(|d| d >= SAVE_EVERY),
            };
        if self.engine.take_learning_finished() || due {
            self.last_save = Some(now);
            if let Err(e) = self.save() {
                tracing::warn!("saving the detection baseline: {e}");
            }
        }
    }

    /// See [`Engine::kernel_flood`] (the kernel flood guard's counts as alerts).
    pub fn kernel_flood(&mut self, f: &super::KernelFlood, now: SystemTime) -> Option<Alert> {
        self.engine.kernel_flood(f, now)
    }

    /// Whether `--events` asks for this packet's line.
    pub fn show_packet(&self, p: &Packet) -> bool {
        match self.events {
            Events::None => false,
            Events::All => true,
            Events::Ndp => p.frame.icmp6.as_ref().is_some_and(|m| m.msg_type.is_ndp()),
        }
    }

    /// Saves the state file, if one was given.
    pub fn save(&self) -> Result<(), DetectError> {
        match &self.state_path {
            Some(p) => self.engine.save_state(p),
            None => Ok(()),
        }
    }

    pub fn stats(&self) -> EngineStats {
        self.engine.stats()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Prints alerts (`"kind":"alert"` lines, or text); returns how many lines were written.
pub fn write_alerts<W: Write>(
    out: &mut JsonLines<W>,
    format: Format,
    alerts: &[Alert],
) -> io::Result<u64> {
    for a in alerts {
        match format {
            Format::Json => out.write("alert", a)?,
            Format::Text => {
                let w = out.get_mut();
                crate::term::write_line(&mut *w, &a.text())?;
                w.flush()?;
            }
        }
    }
    Ok(alerts.len() as u64)
}

/// The engine figures as one text line (for `--format text`).
pub fn stats_text(s: &EngineStats) -> String {
    let alerts: Vec<String> = s.alerts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let evicted: u64 = s.evictions.values().sum();
    format!(
        "-- detect: {} observed, {} neighbours, {} routers, {} evicted, alerts: {}",
        s.observed,
        s.neighbors,
        s.routers,
        evicted,
        if alerts.is_empty() {
            "none".to_string()
        } else {
            alerts.join(" ")
        }
    )
}
