//! `v6probe listen ADDR:PORT`: a dual-stack TCP listener reporting each peer. It keeps
//! serving under load: a failed accept for lack of descriptors or memory is retried with
//! back-off, sessions are capped, and each session ends when idle or at an absolute limit.
use std::{
    io::{self, Write},
    net::SocketAddr,
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use serde::Serialize;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::{
    dualstack::{
        listener::{
            accept_error_is_transient, echo, Backoff, DualListener, SessionEnd, SessionLimits,
            Strategy,
        },
        Family,
    },
    output::{Format, JsonLines},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port, e.g. `[::]:8080` (dual-stack), `[fd00::1]:80`, `0.0.0.0:80`.
    pub addr: SocketAddr,
    /// IPV6_V6ONLY for an IPv6 address (always set explicitly; default false: dual-stack).
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub v6only: Option<bool>,
    /// Echo back what each peer sends.
    #[arg(long)]
    pub echo: bool,
    /// Use two sockets (`[::]` IPv6-only and `0.0.0.0`) instead of one dual-stack socket.
    #[arg(long)]
    pub two_sockets: bool,
    /// Exit after this many peers (and their echo sessions) are done.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// At most this many echo sessions at once; a peer over the cap is closed at once (and
    /// counted).
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions: u64,
    /// Close an echo session after this long without a byte from the peer.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub idle_timeout: Duration,
    /// Close an echo session after this long, whatever the peer sends.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub max_session_time: Duration,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<ExitCode> {
    let strategy = if args.two_sockets {
        Strategy::TwoSockets
    } else {
        Strategy::Auto
    };
    let listener = DualListener::bind(args.addr, args.v6only, strategy)?;
    let out = Arc::new(Mutex::new(JsonLines::new(io::stdout())));
    let info = listener.info().clone();
    write(&out, args.format, "listening", &info, || {
        format!(
            "listening on {} ({:?}{})",
            info.addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            info.mode,
            info.v6only
                .map_or(String::new(), |v| format!(", IPV6_V6ONLY={}", v as u8))
        )
    })?;
    let limits = SessionLimits {
        idle: args.idle_timeout,
        total: args.max_session_time,
    };
    let mut stats = ListenStats::default();
    let mut sessions = tokio::task::JoinSet::new();
    let mut backoff = Backoff::new();
    let mut last_warning: Option<Instant> = None;
    let mut interrupted = false;
    let mut stop = Stop::new()?;
    loop {
        if args.count.is_some_and(|n| stats.accepted >= n) {
            break;
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = stop.signalled() => {
                interrupted = true;
                break;
            }
            Some(Ok(end)) = sessions.join_next(), if !sessions.is_empty() => {
                stats.ended(end);
                continue;
            }
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff.succeeded();
                a
            }
            Err(e) if accept_error_is_transient(&e) => {
                // Out of descriptors or memory, or the peer left: wait, then accept again
                // (sessions ending meanwhile free what is missing).
                stats.accept_errors += 1;
                let wait = backoff.failed();
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    last_warning = Some(Instant::now());
                    tracing::warn!(
                        errors = stats.accept_errors,
                        "accepting a connection: {e}; retrying in {} ms (logged once per 10 s)",
                        wait.as_millis()
                    );
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    () = stop.signalled() => {
                        interrupted = true;
                        break;
                    }
                }
                continue;
            }
            Err(e) => return Err(e).context("accepting a connection"),
        };
        if args.echo {
            while let Some(Ok(end)) = sessions.try_join_next() {
                stats.ended(end);
            }
            if sessions.len() as u64 >= args.max_sessions {
                stats.refused_max_sessions += 1;
                drop(stream);
                continue;
            }
        }
        stats.accepted += 1;
        write(&out, args.format, "peer", &peer, || {
            format!(
                "peer {} ({}{}) on {}",
                peer.peer,
                match peer.family {
                    Family::Ipv6 => "IPv6",
                    Family::Ipv4 => "IPv4",
                },
                if peer.mapped { ", IPv4-mapped" } else { "" },
                peer.local
            )
        })?;
        if args.echo {
            sessions.spawn(echo(stream, limits));
        }
    }
    if interrupted {
        sessions.abort_all();
    }
    while let Some(r) = sessions.join_next().await {
        if let Ok(end) = r {
            stats.ended(end);
        }
    }
    write(&out, args.format, "listen_stats", &stats, || {
        format!(
            "{} peers, {} refused over --max-sessions, {} accept errors retried; sessions \
             closed idle {}, at the time limit {}",
            stats.accepted,
            stats.refused_max_sessions,
            stats.accept_errors,
            stats.closed_idle,
            stats.closed_limit
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT and SIGTERM, listened for once for the whole run (no signal lost between waits).
struct Stop {
    int: Signal,
    term: Signal,
}

impl Stop {
    fn new() -> Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    /// Returns when either signal arrives.
    async fn signalled(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// The last line (`"kind":"listen_stats"`).
#[derive(Debug, Default, Serialize)]
struct ListenStats {
    accepted: u64,
    /// Peers closed at once because `--max-sessions` sessions were running.
    refused_max_sessions: u64,
    /// Failed accepts retried after a back-off (EMFILE, ENFILE, ENOBUFS, ...).
    accept_errors: u64,
    closed_idle: u64,
    closed_limit: u64,
}

impl ListenStats {
    fn ended(&mut self, end: SessionEnd) {
        match end {
            SessionEnd::Idle => self.closed_idle += 1,
            SessionEnd::Limit => self.closed_limit += 1,
            SessionEnd::Closed | SessionEnd::Error => {}
        }
    }
}

fn write<T: serde::Serialize>(
    out: &Mutex<JsonLines<io::Stdout>>,
    format: Format,
    kind: &str,
    body: &T,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let mut out = out
        .lock()
        .map_err(|_| anyhow::anyhow!("output lock poisoned"))?;
    match format {
        Format::Json => out.write(kind, body)?,
        Format::Text => {
            let w = out.get_mut();
            crate::term::write_line(&mut *w, &text())?;
            w.flush()?;
        }
    }
    Ok(())
}
