//! Dual-stack connectivity: a Happy Eyeballs dialer (RFC 8305) that learns from ICMPv6 errors,
//! and a dual-stack listener.
//!
//! - [`state`]: the fallback state machine of one destination, without I/O.
//! - [`table`]: many destinations in a lock-free table (atomics, compare-and-swap), with
//!   transition records and Prometheus text.
//! - [`icmp`]: ICMPv6 errors as plain input, and the feed every source pushes to (the kernel
//!   observer calls [`icmp::push_observed_icmpv6`]).
//! - [`errqueue`]: the unprivileged source, the socket error queue (IPV6_RECVERR).
//! - [`plan`]: the decisions of one dial (which attempt next, when, what an ICMPv6 error or the
//!   deadline does), without I/O.
//! - [`dialer`]: the tokio dialer driving a plan.
//! - [`listener`]: the socket2 listener, IPV6_V6ONLY always set explicitly.
//!
//! The client/router/server namespaces the tests and the benchmark use are in the test-only
//! crate `v6probe-lab` (`v6probe_lab::dualstack`).
//!
//! # What Linux does with an ICMPv6 no-route for a connecting TCP socket
//!
//! Measured on kernel 6.18 in that lab (`cargo xtask bench`, section `kernel` of
//! `target/bench/dualstack.json`); the code path is `tcp_v6_err()` in `net/ipv6/tcp_ipv6.c`.
//!
//! - In `SYN_SENT`, an ICMPv6 destination unreachable is fatal: `tcp_done_with_error()` with
//!   ENETUNREACH (code 0), EACCES (1, 5, 6) or EHOSTUNREACH (3, and time exceeded). The
//!   connect fails at once -- *if the socket is not locked by its owner at that moment*.
//! - If the error arrives while the process still holds the socket lock (inside `connect()`),
//!   the kernel only stores it as a soft error (`sk_err_soft`), counts `TcpExtLockDroppedIcmps`
//!   and raises no POLLERR; the SYN is retransmitted after the initial RTO (1 s) and the
//!   second ICMPv6 error fails the connect: the "about 1 s" a plain connect can take.
//! - In a veth lab the router answers within the `connect()` syscall itself (veth delivers
//!   synchronously in the sender's softirq), so the first error always lands on a locked
//!   socket: a plain non-blocking connect reports ENETUNREACH after ~1020-1030 ms every time.
//!   When the error arrives even a few ms later (router egress shaped with `tbf`), the same
//!   plain connect fails with ENETUNREACH as soon as it arrives (~4-10 ms in the lab). On a
//!   real path, with a round trip longer than the syscall, Linux therefore already fails fast;
//!   the 1 s case is a same-host / very-low-latency effect (namespaces, containers, a router
//!   on the same machine), not the general rule.
//! - With IPV6_RECVERR, `ipv6_icmp_error()` queues the error to the socket's error queue
//!   *before* the lock check, which raises POLLERR at once, and `SO_ERROR` returns the soft
//!   error: the connect fails in ~0.01 ms in both cases, with the type, code and offender
//!   (router) available from `recvmsg(MSG_ERRQUEUE)`. This needs no privilege; it is what the
//!   dialer uses ([`errqueue`]).
//! - Packet too big is never queued for TCP; the kernel lowers the MSS itself and the path MTU
//!   is read back with `getsockopt(IPV6_MTU)` on the connected socket.
//! - Forwarding ignores an unlocked route MTU (`ip6_dst_mtu_maybe_forward`): the lab's 1280
//!   path uses `mtu lock`.

pub mod dialer;
pub mod errqueue;
pub mod icmp;
pub mod listener;
pub mod plan;
pub mod resolve;
pub mod state;
pub mod table;

pub use dialer::{DialConfig, DialReport, Dialer, Target};
pub use icmp::{push_observed_icmpv6, IcmpErrorEvent, IcmpFeed, IcmpSource, Outer};
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
