//! v6probe: an IPv6-first observer for Linux hosts.
//!
//! One folder per capability; the protocol codec lives in `v6probe-common` and is re-exported
//! here as [`wire`] so the kernel programs and user space share it.

pub use v6probe_common::{abi, wire};

pub mod capture;
pub mod cli;
pub mod detect;
pub mod dualstack;
pub mod files;
#[cfg(target_os = "linux")]
pub mod metrics;
#[cfg(target_os = "linux")]
pub mod netio;
pub mod output;
pub mod packet;
pub mod reasm;
pub mod respond;

pub mod neigh;
#[cfg(target_os = "linux")]
pub mod observe;
pub mod route;
pub mod scan;
pub mod send;
#[cfg(target_os = "linux")]
pub mod service;
#[cfg(target_os = "linux")]
pub mod sink;
pub mod term;
pub mod ula;
