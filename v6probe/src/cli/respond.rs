//! `monitor --respond`: the thin sender around [`crate::respond::Responder`]. One packet
//! socket per watched interface, opened at start (so a missing CAP_NET_RAW is an error before
//! anything is attached; an interface that does not exist yet, with `--wait-for-interface`,
//! is opened when an alert on it needs it, and again after a send fails). Each response is sent
//! on the interface of the packet it answers, then emitted as a `response` line (or text) with
//! its outcome and counted (stats, metrics).
use std::time::SystemTime;

use anyhow::{Context as _, Result};

use crate::{
    detect::{engine::nanos, Alert, DetectArgs, Policy},
    metrics::Tally,
    netio::{Capture, NetIoError, PacketSocket},
    packet::Packet,
    respond::{Config, RespondError, RespondStats, Responder, Response},
    sink::{severity, Emitter},
    term,
};

/// The countermeasure flags, flattened into `monitor`'s arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RespondArgs {
    /// Answer attacks on the link (off by default; needs CAP_NET_RAW): a router lifetime 0 RA
    /// from a rogue router's own addresses, an override NA restoring a spoofed neighbour.
    /// Only the alert codes the policy lists in `respond = [...]` are answered.
    #[arg(long, requires = "policy", conflicts_with = "pcap")]
    pub respond: bool,
    /// With --respond: most responses per second, all interfaces together (the burst is the
    /// same number; one incident is answered at most once a second).
    #[arg(long, value_name = "N", requires = "respond", default_value_t = Config::default().per_sec,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub respond_rate: u32,
}

/// The responder and a send socket per interface.
pub struct Countermeasures {
    responder: Responder,
    policy_path: std::path::PathBuf,
    /// Per watched interface: its socket, `None` until it could be opened.
    sockets: Vec<(String, Option<PacketSocket>)>,
}

impl Countermeasures {
    /// `None` without `--respond`. Reads the policy's allow list and opens the sockets;
    /// `wait` (`--wait-for-interface`) lets an interface that does not exist yet be opened
    /// later.
    pub fn start(
        args: &RespondArgs,
        detect: &DetectArgs,
        interfaces: &[String],
        wait: bool,
    ) -> Result<Option<Self>> {
        if !args.respond {
            return Ok(None);
        }
        let path = detect.policy.as_deref().ok_or(RespondError::NoPolicy)?;
        let policy = Policy::load(path).context("--respond: reading the policy")?;
        let cfg = Config {
            per_sec: args.respond_rate,
            ..Config::default()
        };
        let mut cm = Self {
            responder: Responder::new(cfg, &policy, path)?,
            policy_path: path.to_path_buf(),
            sockets: interfaces.iter().map(|i| (i.clone(), None)).collect(),
        };
        for i in 0..cm.sockets.len() {
            match cm.open(i) {
                Ok(()) => {}
                Err(NetIoError::UnknownInterface(name)) if wait => {
                    tracing::info!("--respond: {name} does not exist yet; its socket opens later");
                }
                Err(e) => return Err(e).context("--respond"),
            }
        }
        tracing::info!(
            codes = ?policy.respond.iter().map(|c| c.code()).collect::<Vec<_>>(),
            per_sec = args.respond_rate,
            "countermeasures on"
        );
        Ok(Some(cm))
    }

    /// Reads the policy again (after the detector did, on SIGHUP): its allow list and routers
    /// from now on. On an error the list in force stays.
    pub fn reload(&mut self) -> Result<()> {
        let policy = Policy::load(&self.policy_path).context("--respond: reading the policy")?;
        self.responder.set_policy(&policy, &self.policy_path)?;
        if policy.respond.is_empty() {
            tracing::warn!("--respond: the policy lists no code any more: nothing is answered");
        }
        Ok(())
    }

    /// Opens the socket of interface number `i` and tells the responder its MAC.
    fn open(&mut self, i: usize) -> Result<(), NetIoError> {
        let name = self.sockets[i].0.clone();
        let sock = PacketSocket::open(&name, Capture::Nothing)?;
        let mac = sock.mac()?;
        self.responder.set_interface(&name, mac);
        self.sockets[i].1 = Some(sock);
        Ok(())
    }

    /// Whether `packet` is one of the responses, seen leaving (not judged again).
    pub fn is_own(&self, packet: &Packet, ts: SystemTime) -> bool {
        self.responder.is_own(packet, nanos(ts))
    }

    /// Decides on one packet and its alerts, sends what was decided, and emits and counts
    /// each response.
    pub fn answer(
        &mut self,
        packet: &Packet,
        alerts: &[Alert],
        ts: SystemTime,
        out: &mut Emitter,
        tally: &mut Tally,
    ) -> std::io::Result<()> {
        if !alerts.is_empty() {
            // An interface that was missing (or whose send failed): try its socket again.
            let iface = packet.seen.iface.as_deref();
            if let Some(i) = self
                .sockets
                .iter()
                .position(|(n, s)| s.is_none() && Some(n.as_str()) == iface)
            {
                if let Err(e) = self.open(i) {
                    tracing::warn!("--respond: {e}");
                }
            }
        }
        for mut r in self.responder.decide(packet, alerts, nanos(ts)) {
            self.send(&mut r);
            self.responder.report(&r);
            tally.response(r.action.as_str(), r.code.code(), &r.iface, r.sent);
            let sev = if r.sent {
                severity::NOTICE
            } else {
                severity::WARNING
            };
            out.line("response", &r, sev, "response", |b| {
                b.extend_from_slice(term::escape(&r.text()).as_bytes())
            })?;
            tally.line("response");
        }
        Ok(())
    }

    fn send(&mut self, r: &mut Response) {
        let Some(slot) = self.sockets.iter_mut().find(|(n, _)| *n == r.iface) else {
            r.error = Some(format!("{} is not a watched interface", r.iface));
            return;
        };
        let Some(sock) = &slot.1 else {
            r.error = Some(format!("no packet socket on {} (yet)", r.iface));
            return;
        };
        match sock.send(&r.bytes) {
            Ok(()) => r.sent = true,
            Err(e) => {
                r.error = Some(e.to_string());
                // Reopened at the next alert on it (the interface may have been recreated).
                slot.1 = None;
            }
        }
        if let Some(e) = &r.error {
            tracing::warn!("--respond: {e}");
        }
    }

    pub fn stats(&self) -> RespondStats {
        self.responder.stats()
    }
}
