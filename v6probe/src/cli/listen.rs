//! `v6probe listen ADDR:PORT`: a dual-stack TCP listener reporting each peer.
use std::{
    io::{self, Write},
    net::SocketAddr,
    process::ExitCode,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    dualstack::{
        listener::{DualListener, Strategy},
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
    let mut sessions = tokio::task::JoinSet::new();
    let mut accepted = 0u64;
    loop {
        if args.count.is_some_and(|n| accepted >= n) {
            break;
        }
        let (mut stream, peer) = tokio::select! {
            r = listener.accept() => r.context("accepting a connection")?,
            _ = tokio::signal::ctrl_c() => break,
        };
        accepted += 1;
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
            sessions.spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n =
                        match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf))
                            .await
                        {
                            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                            Ok(Ok(n)) => n,
                        };
                    if stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    while sessions.join_next().await.is_some() {}
    Ok(ExitCode::SUCCESS)
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
