//! Command-line front end: one clap `Args` struct and one `exec()` per subcommand, each in its
//! own file.
//!
//! Exit codes scripts can rely on (see README):
//! - 0: success (for `scan`: at least one target answered);
//! - 1: runtime error (interface missing, permission, I/O, file corrupt);
//! - 2: ran fine but found nothing (`scan`: no target answered; `decode`: no ICMPv6 frame);
//! - 64: bad command line (EX_USAGE).
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod completions;
mod connect;
mod decode;
mod listen;
#[cfg(target_os = "linux")]
mod monitor;
mod neigh;
#[cfg(target_os = "linux")]
mod respond;
mod route;
#[cfg(target_os = "linux")]
mod scan;
#[cfg(target_os = "linux")]
mod send;
#[cfg(target_os = "linux")]
mod sim;
mod ula;

/// Exit code for a run that worked but found nothing.
pub const EXIT_NOTHING_FOUND: u8 = 2;
/// Exit code for a bad command line.
pub const EXIT_USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "v6probe",
    version,
    about = "IPv6 Neighbor Discovery observer and toolkit"
)]
pub struct Cli {
    /// Log verbosity for diagnostics on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch NDP and ICMPv6 errors with the kernel programs; one JSON object per line.
    #[cfg(target_os = "linux")]
    Monitor(Box<monitor::Args>),
    /// Decode the NDP / ICMPv6 frames of a pcap or pcapng file; one JSON object per line.
    Decode(decode::Args),
    /// Unique local addresses (RFC 4193): generate, check, discover, aggregate.
    Ula(ula::Args),
    /// Add, delete and list IPv6 routes (rtnetlink; routing socket on FreeBSD/macOS).
    Route(route::Args),
    /// IPv6 ND parameters and the neighbour table.
    Neigh(neigh::Args),
    /// Happy Eyeballs connect (RFC 8305) that falls back on ICMPv6 errors and remembers them.
    Connect(connect::Args),
    /// Dual-stack TCP listener (IPV6_V6ONLY set explicitly); reports each peer.
    Listen(listen::Args),
    /// Neighbor solicitations to many targets: who answers, how fast, and who else answers.
    #[cfg(target_os = "linux")]
    Scan(scan::Args),
    /// Send one NDP message (RS, RA, NS, NA, redirect) with every field set from flags.
    #[cfg(target_os = "linux")]
    Send(Box<send::Args>),
    /// Simulated neighbours and router answering on an interface (labs and tests).
    #[cfg(target_os = "linux")]
    Sim(sim::Args),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(completions::Args),
}

/// Parses the command line, runs the subcommand, and maps the result to an exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // A typed message field that refused its value names the flag and the text itself
            // (`invalid --prefix `fd00::/129`: ...`): print that alone, not wrapped by clap.
            if let Some(f) = std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<crate::send::FieldError>())
            {
                let cmd = <Cli as clap::CommandFactory>::command();
                let sub = std::env::args()
                    .skip(1)
                    .find(|a| cmd.find_subcommand(a).is_some())
                    .map_or(String::new(), |s| format!(" {s}"));
                eprintln!("v6probe{sub}: {f}");
                return ExitCode::from(EXIT_USAGE);
            }
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(&cli.log);
    let result = match cli.command {
        #[cfg(target_os = "linux")]
        Command::Monitor(args) => monitor::exec(*args),
        Command::Decode(args) => decode::exec(args),
        Command::Ula(args) => ula::exec(args),
        Command::Route(args) => route::exec(args),
        Command::Neigh(args) => neigh::exec(args),
        Command::Connect(args) => connect::exec(args),
        Command::Listen(args) => listen::exec(args),
        #[cfg(target_os = "linux")]
        Command::Scan(args) => scan::exec(args),
        #[cfg(target_os = "linux")]
        Command::Send(args) => send::exec(*args),
        #[cfg(target_os = "linux")]
        Command::Sim(args) => sim::exec(args),
        Command::Completions(args) => completions::exec(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors quote file contents and names (a parser's message, an interface name).
            let _ = crate::term::write_line(
                std::io::stderr().lock(),
                &format!("v6probe: error: {e:#}"),
            );
            ExitCode::from(1)
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
