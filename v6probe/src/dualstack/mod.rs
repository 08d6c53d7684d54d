//! Dual-stack connectivity: a Happy Eyeballs dialer (RFC 8305) that learns from ICMPv6 errors,
//! and a dual-stack listener.
//!
//! - [`state`]: the fallback state machine of one destination, without I/O.
//! - [`table`]: many destinations in a lock-free table (atomics, compare-and-swap), with
//!   transition records and Prometheus text.
//! - [`icmp`]: ICMPv6 errors as plain input, and the feed every source pushes to (the kernel
//!   observer calls [`icmp::push_observed_icmpv6`]).
//! - [`errqueue`]: the unprivileged source, the socket error queue (IPV6_RECVERR).
//! - [`dialer`]: the tokio dialer.
//! - [`listener`]: the socket2 listener, IPV6_V6ONLY always set explicitly.
//! - [`lab`]: the client/router/server namespaces the tests and the benchmark use.
pub mod dialer;
pub mod errqueue;
pub mod icmp;
pub mod lab;
pub mod listener;
pub mod resolve;
pub mod state;
pub mod table;

pub use dialer::{DialConfig, DialReport, Dialer, Target};
pub use icmp::{push_observed_icmpv6, IcmpErrorEvent, IcmpFeed, IcmpSource};
pub use resolve::Family;
pub use state::{Decision, FallbackState, Observation, Policy, Reason};
pub use table::{FallbackTable, MtuAlert, Transition};

use std::net::SocketAddr;

/// Errors of the dual-stack module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("connection attempt delay of {ms} ms is below the 10 ms minimum of RFC 8305")]
    AttemptDelayTooShort { ms: u64 },
    #[error("the overall timeout must be above zero")]
    ZeroTimeout,
    #[error("cannot listen on {addr}: port {port} is already in use", port = addr.port())]
    PortInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: the address is not assigned to any local interface")]
    AddressNotLocal { addr: SocketAddr },
    #[error("cannot listen on {addr}: {what}: {source}")]
    Listen {
        addr: SocketAddr,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("--v6only {v6only} does not apply to the IPv4 address {addr}")]
    V6OnlyOnIpv4 { addr: SocketAddr, v6only: bool },
}
