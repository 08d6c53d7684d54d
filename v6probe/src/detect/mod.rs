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
pub mod alert;
pub mod baseline;
pub mod config;
pub mod engine;
pub mod error;
pub mod gate;
pub mod policy;
pub mod run;
pub mod state;
pub mod table;

#[cfg(test)]
mod tests;

pub use alert::{Alert, AlertCode, Severity};
pub use baseline::RaParams;
pub use config::Config;
pub use engine::{Engine, EngineStats};
pub use error::DetectError;
pub use policy::Policy;
pub use run::{DetectArgs, Detector, Events};
pub use state::State;
