//! Passive NDP attack detection.
//!
//! [`Engine`] is the sans-I/O core: fed decoded [`crate::packet::Packet`]s and their time, it
//! keeps neighbour bindings, routers and their RA baseline, DAD attempts, unanswered NS targets
//! and rate windows, all bounded ([`Config`]) with counted evictions, and returns [`Alert`]s.
//! It is deterministic: the same packets with the same times give the same alerts, live or
//! replayed from a capture.
//!
//! Around it: [`policy`] (`--policy FILE.toml`), [`state`] (`--state FILE`, atomic save and
//! restore of the learned baseline), and [`Detector`] + [`DetectArgs`], what `monitor` calls
//! once per packet.
//!
//! Layout, each module importing only those listed before it (no module imports this facade,
//! so there is no import circle):
//! - [`table`] bounded maps and rate windows; [`baseline`] a router's RA parameters and their
//!   diff; [`vendors`] the IEEE MAC registry; [`config`], [`error`];
//! - [`alert`] the alert record with its typed evidence and reasons; [`gate`] repeat
//!   suppression and per-code budgets; [`policy`], [`state`] the files;
//! - [`sink`] the packet context every rule reads and the sink it raises alerts into;
//! - the rule subjects, each owning its tables: [`packet_checks`] (rates, hop limit, bogons,
//!   extension headers, fragments, checksums, truncation, link-layer mismatch, packet too
//!   big), [`fragments`] (reassembly, overlaps, incomplete and over-long header chains), [`dad`],
//!   [`neighbors`] (bindings, NA checks, cache exhaustion; hears DAD answers), [`routers`]
//!   (rogue, killed, changed, policy contents, redirects; binds the router as a neighbour);
//! - [`engine`] composes the subjects and the gate; [`run`] wraps it for `monitor`.
pub mod alert;
pub mod baseline;
pub mod config;
pub mod dad;
pub mod engine;
pub mod error;
pub mod fragments;
pub mod gate;
pub mod links;
pub mod neighbors;
pub mod packet_checks;
pub mod policy;
pub mod routers;
pub mod run;
pub mod sink;
pub mod state;
pub mod table;
pub mod vendors;

#[cfg(test)]
mod evasion_tests;
#[cfg(test)]
mod tests;

pub use alert::{Alert, AlertCode, Severity};
pub use baseline::RaParams;
pub use config::Config;
pub use engine::{Engine, EngineStats, KernelFlood};
pub use error::DetectError;
pub use policy::Policy;
pub use run::{DetectArgs, Detector, Events};
pub use state::State;
