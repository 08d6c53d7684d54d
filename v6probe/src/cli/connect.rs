//! `v6probe connect HOST PORT`: Happy Eyeballs with the ICMPv6-driven fallback table.
use std::{
    fmt::Write as _,
    io::{self, Write},
    net::IpAddr,
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    dualstack::{
        dialer::Outcome, DialConfig, DialReport, Dialer, FallbackTable, Family, IcmpFeed, MtuAlert,
        Policy, Target, Transition,
    },
    output::{Format, JsonLines},
    term::Esc,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Host name (resolved per family: AAAA and A) or address literal.
    pub host: String,
    pub port: u16,
    /// Connect to these addresses instead of resolving HOST (repeatable).
    #[arg(long = "addr", value_name = "ADDR")]
    pub addrs: Vec<IpAddr>,
    /// Connection attempt delay in ms (RFC 8305; at least 10).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..))]
    pub attempt_delay: u64,
    /// Family tried first when the fallback table says nothing against it.
    #[arg(long, value_enum, default_value_t = Family::Ipv6)]
    pub prefer: Family,
    /// Overall deadline per connection in ms (also the TCP_USER_TIMEOUT).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Connect N times in a row with one fallback table, to show it learning.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeat: u32,
    /// Pause between repeated connections, in ms.
    #[arg(long, default_value_t = 0)]
    pub interval: u64,
    /// How long `limited` lasts (ms; 15 s by default).
    #[arg(long, default_value_t = 15_000)]
    pub limited_pause: u64,
    /// How long `blocked` skips IPv6 before one probe attempt (ms).
    #[arg(long, default_value_t = 60_000)]
    pub blocked_cooldown: u64,
    /// After connecting, send this many bytes and read as many back (an echo server, e.g.
    /// `v6probe listen --echo`), then record the path MTU the kernel learned.
    #[arg(long, value_name = "BYTES")]
    pub send: Option<usize>,
    /// Do not read ICMPv6 errors from the socket error queue (IPV6_RECVERR): the kernel's plain
    /// behaviour, for comparison.
    #[arg(long)]
    pub no_recverr: bool,
    /// Write the fallback metrics (Prometheus text) to this file at the end.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<std::path::PathBuf>,
    /// Also feed the dialer the ICMPv6 errors the kernel programs (XDP, as `monitor`) see
    /// arriving on this interface (repeatable). Needs the privileges of `monitor`.
    #[cfg(target_os = "linux")]
    #[arg(long = "observe", value_name = "IFACE")]
    pub observe: Vec<String>,
}

/// Starts the kernel observer on `ifaces` (ICMPv6 errors only) and pushes every error it sees
/// into `feed`. The observer (and its attachments) lives as long as the returned task.
#[cfg(target_os = "linux")]
fn start_observer(
    ifaces: &[String],
    feed: &IcmpFeed,
) -> Result<Option<tokio::task::JoinHandle<()>>> {
    use crate::observe::{HookSel, Observer, ObserverConfig, XdpModeSel};
    if ifaces.is_empty() {
        return Ok(None);
    }
    let mut observer = Observer::start(&ObserverConfig {
        interfaces: ifaces.to_vec(),
        hook: HookSel::Xdp,
        xdp_mode: XdpModeSel::Auto,
        report_mask: crate::abi::class::ERRORS,
        kernel_log: Default::default(),
        log_sink: Default::default(),
        flood_guard: None,
        count_frames: false,
        wait_for_interfaces: false,
    })
    .context("--observe: starting the kernel observer")?;
    let feed = feed.clone();
    Ok(Some(tokio::spawn(async move {
        loop {
            let pushed = observer
                .next_batch(|rec| {
                    // Refused messages (cut, wrong checksum, not an error) are counted in the
                    // feed and shown with the metrics.
                    let (Some(src), Some(dst)) = (rec.ip6_src(), rec.ip6_dst()) else {
                        return;
                    };
                    let _ = crate::dualstack::push_observed_icmpv6(
                        &feed,
                        rec.message(),
                        usize::from(rec.header.msg_len),
                        crate::dualstack::Outer {
                            src: src.into(),
                            dst: dst.into(),
                        },
                        std::time::Instant::now(),
                        std::time::SystemTime::now(),
                    );
                })
                .await;
            if let Err(e) = pushed {
                tracing::warn!("kernel observer stopped: {e}");
                return;
            }
        }
    })))
}

/// The record after a `--send` transfer (`"kind":"transfer"`).
#[derive(serde::Serialize)]
struct TransferRecord {
    peer: std::net::SocketAddr,
    bytes_sent: usize,
    bytes_echoed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_mtu: Option<u32>,
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
    let policy = Policy {
        limited_pause: Duration::from_millis(args.limited_pause),
        time_exceeded_pause: Duration::from_millis(args.limited_pause),
        blocked_cooldown: Duration::from_millis(args.blocked_cooldown),
        ..Policy::default()
    };
    let table = Arc::new(FallbackTable::new(1024, policy));
    let cfg = DialConfig {
        attempt_delay: Duration::from_millis(args.attempt_delay),
        prefer: args.prefer,
        timeout: Duration::from_millis(args.timeout),
        tcp_user_timeout: Some(Duration::from_millis(args.timeout)),
        recverr: !args.no_recverr,
        ..DialConfig::default()
    };
    let feed = IcmpFeed::default();
    #[cfg(target_os = "linux")]
    let observer = start_observer(&args.observe, &feed)?;
    let dialer = Dialer::new(table.clone(), feed, cfg)?;
    let target = if args.addrs.is_empty() {
        Target::Host(args.host.clone())
    } else {
        Target::Addrs(args.addrs.clone())
    };
    let mut out = JsonLines::new(io::stdout().lock());
    let mut failures = 0u32;
    for i in 0..args.repeat {
        if i > 0 && args.interval > 0 {
            tokio::time::sleep(Duration::from_millis(args.interval)).await;
        }
        let (stream, mut report) = dialer.dial(target.clone(), args.port).await;
        let mut transfer = None;
        let mut alert = None;
        if let (Some(mut s), Some(n)) = (stream, args.send) {
            let peer = s.peer_addr().context("peer address of the connection")?;
            let echoed = echo_transfer(&mut s, n, Duration::from_millis(args.timeout))
                .await
                .with_context(|| format!("transfer of {n} bytes with {peer}"))?;
            let mtu = dialer.record_path_mtu(&s).map(|(mtu, a)| {
                alert = a;
                mtu
            });
            report.path_mtu = mtu;
            transfer = Some(TransferRecord {
                peer,
                bytes_sent: n,
                bytes_echoed: echoed,
                path_mtu: mtu,
            });
        }
        if !report.connected {
            failures += 1;
        }
        emit(
            &mut out,
            args.format,
            i,
            &report,
            transfer.as_ref(),
            alert.as_ref(),
        )?;
    }
    if let Some(path) = &args.metrics {
        // Replaced atomically (never through a planted link); 0644 so that a textfile
        // collector running as another user can read it.
        let text =
            table.render_prometheus(std::time::Instant::now()) + &dialer.feed().render_prometheus();
        crate::files::write_atomic(path, 0o644, text.as_bytes())
            .with_context(|| format!("writing metrics to {}", path.display()))?;
    }
    // Detach the kernel programs (the observer task owns them).
    #[cfg(target_os = "linux")]
    if let Some(task) = observer {
        task.abort();
        let _ = task.await;
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_NOTHING_FOUND)
    })
}

/// Sends `n` bytes and reads until as many came back (or EOF, or the timeout).
async fn echo_transfer(
    s: &mut tokio::net::TcpStream,
    n: usize,
    timeout: Duration,
) -> io::Result<usize> {
    let (mut r, mut w) = s.split();
    let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let write = async {
        w.write_all(&data).await?;
        w.flush().await
    };
    let read = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < n {
            let k = r.read(&mut buf).await?;
            if k == 0 {
                break;
            }
            got += k;
        }
        Ok::<_, io::Error>(got)
    };
    let (wr, rd) = tokio::time::timeout(timeout, async { tokio::join!(write, read) })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "echo transfer timed out"))?;
    wr?;
    rd
}

#[derive(serde::Serialize)]
struct Iteration<'a> {
    iteration: u32,
    #[serde(flatten)]
    report: &'a DialReport,
}

fn emit<W: Write>(
    out: &mut JsonLines<W>,
    format: Format,
    i: u32,
    report: &DialReport,
    transfer: Option<&TransferRecord>,
    alert: Option<&MtuAlert>,
) -> Result<()> {
    match format {
        Format::Json => {
            for t in &report.transitions {
                out.write("fallback_transition", t)?;
            }
            out.write(
                "connect",
                &Iteration {
                    iteration: i,
                    report,
                },
            )?;
            if let Some(t) = transfer {
                out.write("transfer", t)?;
            }
            if let Some(a) = alert {
                out.write("mtu_alert", a)?;
            }
        }
        Format::Text => {
            let w = out.get_mut();
            crate::term::write_lines(&mut *w, &text(i, report, transfer, alert))?;
            w.flush()?;
        }
    }
    Ok(())
}

fn text(
    i: u32,
    r: &DialReport,
    transfer: Option<&TransferRecord>,
    alert: Option<&MtuAlert>,
) -> String {
    let mut s = String::new();
    match (r.winner, r.family, r.time_to_connect_ms) {
        (Some(w), Some(f), Some(ms)) => {
            let _ = writeln!(
                s,
                "#{i} {} port {}: connected to {w} ({}) in {ms:.3} ms",
                Esc(&r.host),
                r.port,
                match f {
                    Family::Ipv6 => "IPv6",
                    Family::Ipv4 => "IPv4",
                }
            );
        }
        _ => {
            let _ = writeln!(s, "#{i} {} port {}: no connection", Esc(&r.host), r.port);
        }
    }
    for sk in &r.skipped {
        let _ = writeln!(s, "    skipped   {:<40} {}", sk.addr, Esc(&sk.why));
    }
    for a in &r.attempts {
        let outcome = match a.outcome {
            Some(Outcome::Connected) => "connected",
            Some(Outcome::Failed) => "failed",
            Some(Outcome::Cancelled) => "cancelled",
            Some(Outcome::TimedOut) => "timed out",
            None => "-",
        };
        let _ = writeln!(
            s,
            "    +{:>9.3} ms {:<40} {:<9} at {:>11}  {}",
            a.start_ms,
            a.addr.to_string(),
            outcome,
            a.end_ms.map_or("-".to_string(), |e| format!("+{e:.3} ms")),
            Esc(&a.why)
        );
    }
    for t in &r.transitions {
        let _ = writeln!(s, "    {}", transition_text(t));
    }
    if let Some(t) = transfer {
        let _ = writeln!(
            s,
            "    transfer {} bytes, {} echoed, path MTU {}",
            t.bytes_sent,
            t.bytes_echoed,
            t.path_mtu.map_or("unknown".to_string(), |m| m.to_string())
        );
    }
    if let Some(a) = alert {
        let _ = writeln!(
            s,
            "    ALERT path MTU {} to {} is below 1280",
            a.mtu, a.dest
        );
    }
    s
}

fn transition_text(t: &Transition) -> String {
    format!(
        "state {} {} -> {} ({}){}",
        t.dest,
        t.from.as_str(),
        t.to.as_str(),
        t.reason.as_str(),
        t.for_ms.map_or(String::new(), |ms| format!(" for {ms} ms"))
    )
}
