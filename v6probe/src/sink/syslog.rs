//! `--syslog udp://HOST:PORT | tcp://HOST:PORT | unix:PATH`: alerts and `interface` lines
//! (and with `--syslog-events`, packet lines) as RFC 5424 messages:
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME v6probe PID MSGID - {"kind":"alert",...}
//! ```
//! PRI is the facility (`--syslog-facility`, default `daemon`) times 8 plus the severity: an
//! alert's `high` is crit (2), `medium` warning (4), `low` notice (5); an interface gone is
//! warning, back notice; packets are info (6). MSGID is the alert code (or the line kind). The
//! message is the JSON object, without a BOM (as rsyslog and journald send it), so log
//! shippers can parse it as it is.
//!
//! UDP: one datagram per message. TCP: RFC 6587 octet counting (`LEN SP MSG`), written in
//! chunks. unix: a datagram socket (as `/dev/log`), or a stream socket with octet counting.
//! A lost connection is counted (`errors`, and the lines of the failed write in `dropped`);
//! lines then wait in the queue while the sink reconnects, 1 s after the failure, backing off
//! to 30 s. UDP cannot tell a lost datagram: only the errors the kernel reports (port
//! unreachable) are counted.
use std::{
    io::{self, Write},
    net::{TcpStream, ToSocketAddrs, UdpSocket},
    ops::Range,
    os::unix::net::{UnixDatagram, UnixStream},
    path::PathBuf,
    sync::atomic::Ordering,
    time::{Duration, Instant, SystemTime},
};

use super::{kind_bit, Batch, SinkError, Writer};
use crate::metrics::{SinkCounters, LINE_KINDS};

/// Where messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Udp(String),
    Tcp(String),
    Unix(PathBuf),
}

impl std::str::FromStr for Target {
    type Err = SinkError;

    fn from_str(s: &str) -> Result<Self, SinkError> {
        let bad = || SinkError::SyslogSpec(s.to_string());
        let hostport = |rest: &str| -> Result<String, SinkError> {
            // HOST:PORT, with an IPv6 literal in brackets.
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad());
            }
            if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
                return Err(bad());
            }
            Ok(rest.to_string())
        };
        if let Some(rest) = s.strip_prefix("udp://") {
            Ok(Self::Udp(hostport(rest)?))
        } else if let Some(rest) = s.strip_prefix("tcp://") {
            Ok(Self::Tcp(hostport(rest)?))
        } else if let Some(rest) = s.strip_prefix("unix:") {
            if rest.is_empty() {
                return Err(bad());
            }
            Ok(Self::Unix(PathBuf::from(rest)))
        } else {
            Err(bad())
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Udp(a) => write!(f, "udp://{a}"),
            Self::Tcp(a) => write!(f, "tcp://{a}"),
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// `--syslog-facility` names and their numbers (RFC 5424 section 6.2.1).
pub fn facility(name: &str) -> Result<u8, SinkError> {
    let n = match name {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return Err(SinkError::Facility(name.to_string())),
    };
    Ok(n)
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    UnixDgram(UnixDatagram),
    UnixStream(UnixStream),
}

impl Conn {
    fn is_stream(&self) -> bool {
        matches!(self, Self::Tcp(_) | Self::UnixStream(_))
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// Stream chunks are written once this much is buffered.
const CHUNK: usize = 256 * 1024;

pub struct SyslogWriter {
    target: Target,
    facility: u8,
    hostname: String,
    pid: u32,
    conn: Option<Conn>,
    next_attempt: Instant,
    backoff: Duration,
    /// Stream framing buffer and the lines in it.
    buf: Vec<u8>,
    kinds: [u64; LINE_KINDS.len()],
    /// One message (datagram transports).
    msg: Vec<u8>,
}

impl SyslogWriter {
    pub fn new(target: Target, facility: u8) -> Self {
        Self {
            target,
            facility,
            hostname: hostname(),
            pid: std::process::id(),
            conn: None,
            next_attempt: Instant::now(),
            backoff: FIRST_RETRY,
            buf: Vec::with_capacity(CHUNK),
            kinds: Default::default(),
            msg: Vec::with_capacity(4096),
        }
    }

    fn connect(&self) -> io::Result<Conn> {
        match &self.target {
            Target::Udp(addr) => {
                let dest = resolve(addr)?;
                let bind: std::net::SocketAddr = if dest.is_ipv6() {
                    "[::]:0".parse().map_err(io::Error::other)?
                } else {
                    "0.0.0.0:0".parse().map_err(io::Error::other)?
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(dest)?;
                Ok(Conn::Udp(s))
            }
            Target::Tcp(addr) => {
                let s = TcpStream::connect_timeout(&resolve(addr)?, CONNECT_TIMEOUT)?;
                s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                s.set_nodelay(true)?;
                Ok(Conn::Tcp(s))
            }
            Target::Unix(path) => {
                let d = UnixDatagram::unbound()?;
                match d.connect(path) {
                    Ok(()) => Ok(Conn::UnixDgram(d)),
                    Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
                        let s = UnixStream::connect(path)?;
                        s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                        Ok(Conn::UnixStream(s))
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The connection failed: count it, and wait before the next attempt.
    fn fail(&mut self, what: &str, e: &io::Error, c: &SinkCounters) {
        if self.backoff == FIRST_RETRY {
            tracing::warn!("syslog {}: {what}: {e}", self.target);
        }
        c.errors.fetch_add(1, Ordering::Relaxed);
        self.conn = None;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_RETRY);
    }

    /// Writes the RFC 5424 message for line `i` to `out`.
    fn format(&self, out: &mut Vec<u8>, batch: &Batch, i: usize) {
        let meta = batch.lines[i];
        let pri = u32::from(self.facility) * 8 + u32::from(meta.severity.min(7));
        let json = batch.json_line(i);
        let json = json.strip_suffix(b"\n").unwrap_or(json);
        let _ = write!(
            out,
            "<{pri}>1 {} {} v6probe {} {} - ",
            timestamp(batch.created),
            self.hostname,
            self.pid,
            msgid(meta.msgid),
        );
        out.extend_from_slice(json);
    }
}

/// RFC 5424 TIMESTAMP: UTC with microseconds (the format allows at most six digits).
fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// MSGID: 1 to 32 printable US-ASCII characters, else `-`.
fn msgid(s: &str) -> &str {
    if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| (33..=126).contains(&b)) {
        s
    } else {
        "-"
    }
}

/// HOSTNAME: this host's name if it is 1 to 255 printable US-ASCII characters, else `-`.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| (33..=126).contains(&b)) {
        name
    } else {
        "-".into()
    }
}

fn resolve(addr: &str) -> io::Result<std::net::SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("{addr} resolves to no address")))
}

impl Writer for SyslogWriter {
    fn ready(&mut self, c: &SinkCounters) -> bool {
        if self.conn.is_some() {
            return true;
        }
        if Instant::now() < self.next_attempt {
            return false;
        }
        match self.connect() {
            Ok(conn) => {
                if self.backoff > FIRST_RETRY {
                    tracing::info!("syslog {}: connected again", self.target);
                }
                self.conn = Some(conn);
                self.backoff = FIRST_RETRY;
                true
            }
            Err(e) => {
                self.fail("connecting", &e, c);
                false
            }
        }
    }

    fn write(&mut self, batch: &Batch, range: Range<usize>, want: u8, c: &SinkCounters) {
        for i in range {
            let meta = batch.lines[i];
            if want & kind_bit(meta.kind as usize) == 0 {
                continue;
            }
            let Some(conn) = &self.conn else {
                // Lost mid-batch: the rest of it cannot be sent now.
                c.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if conn.is_stream() {
                let mut msg = std::mem::take(&mut self.msg);
                msg.clear();
                self.format(&mut msg, batch, i);
                let _ = write!(self.buf, "{} ", msg.len());
                self.buf.extend_from_slice(&msg);
                self.msg = msg;
                self.kinds[meta.kind as usize] += 1;
                if self.buf.len() >= CHUNK {
                    self.flush(c);
                }
                continue;
            }
            let mut msg = std::mem::take(&mut self.msg);
            msg.clear();
            self.format(&mut msg, batch, i);
            let sent = match &self.conn {
                Some(Conn::Udp(s)) => s.send(&msg).map(|_| ()),
                Some(Conn::UnixDgram(s)) => s.send(&msg).map(|_| ()),
                _ => Ok(()),
            };
            match sent {
                Ok(()) => {
                    c.bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
                    c.lines[meta.kind as usize].fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                    match e.raw_os_error() {
                        // The peer's port was unreachable a moment ago (ICMP): keep the
                        // socket, the next datagram may go through.
                        Some(libc::ECONNREFUSED) => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                        }
                        // Too big for a datagram: this line only.
                        Some(libc::EMSGSIZE) => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => self.fail("sending", &e, c),
                    }
                }
            }
            self.msg = msg;
        }
    }

    fn flush(&mut self, c: &SinkCounters) {
        if self.buf.is_empty() {
            return;
        }
        let lines: u64 = self.kinds.iter().sum();
        let res = match &mut self.conn {
            Some(Conn::Tcp(s)) => s.write_all(&self.buf),
            Some(Conn::UnixStream(s)) => s.write_all(&self.buf),
            _ => Err(io::Error::from(io::ErrorKind::NotConnected)),
        };
        match res {
            Ok(()) => {
                c.bytes.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
                for (t, n) in c.lines.iter().zip(self.kinds.iter()) {
                    t.fetch_add(*n, Ordering::Relaxed);
                }
            }
            Err(e) => {
                c.dropped.fetch_add(lines, Ordering::Relaxed);
                self.fail("writing", &e, c);
            }
        }
        self.buf.clear();
        self.kinds = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        metrics::Telemetry,
        sink::{kinds, severity, Emitter, SinkHandle, SinkSpec},
    };
    use std::io::{BufRead, Read};

    #[test]
    fn targets_parse_and_print() {
        for ok in [
            "udp://127.0.0.1:514",
            "tcp://[fd00::1]:6514",
            "udp://logs.example:514",
            "unix:/dev/log",
        ] {
            let t: Target = ok.parse().unwrap();
            assert_eq!(t.to_string(), ok);
        }
        for bad in [
            "127.0.0.1:514",
            "udp://127.0.0.1",
            "udp://fd00::1:514",
            "tcp://:514",
            "tcp://h:0",
            "unix:",
            "http://x:1",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
        assert_eq!(facility("local3").unwrap(), 19);
        assert!(facility("nope").is_err());
    }

    #[derive(serde::Serialize)]
    struct A {
        code: &'static str,
    }

    fn sink(target: Target, want: u8) -> (Emitter, std::sync::Arc<SinkCounters>) {
        let h = SinkHandle::start(
            SinkSpec {
                name: format!("syslog:{target}"),
                want,
                text: false,
                writer: Box::new(SyslogWriter::new(target, 3)),
            },
            1000,
        )
        .unwrap();
        let c = std::sync::Arc::clone(h.counters());
        (Emitter::new(vec![h], &Telemetry::new()), c)
    }

    fn check_message(m: &str, pri: u32, msgid: &str) {
        let parts: Vec<&str> = m.splitn(8, ' ').collect();
        assert_eq!(parts[0], format!("<{pri}>1"), "{m}");
        assert!(parts[1].ends_with('Z') && parts[1].len() == 27, "{m}");
        assert_eq!(parts[3], "v6probe");
        assert_eq!(parts[4], std::process::id().to_string());
        assert_eq!(parts[5], msgid);
        assert_eq!(parts[6], "-");
        let v: serde_json::Value = serde_json::from_str(parts[7]).unwrap();
        assert_eq!(v["kind"], "alert");
    }

    #[test]
    fn udp_messages_are_rfc5424_with_the_json_as_msg() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let target = Target::Udp(rx.local_addr().unwrap().to_string());
        let (mut e, c) = sink(target, kinds(&["alert"]));
        e.line("packet", &A { code: "-" }, severity::INFO, "packet", |_| {})
            .unwrap();
        e.line(
            "alert",
            &A { code: "ra_rogue" },
            severity::CRIT,
            "ra_rogue",
            |_| {},
        )
        .unwrap();
        e.close(Duration::from_secs(5));
        let mut buf = [0u8; 65536];
        let n = rx.recv(&mut buf).unwrap();
        let m = std::str::from_utf8(&buf[..n]).unwrap();
        // daemon (3) * 8 + crit (2)
        check_message(m, 26, "ra_rogue");
        assert_eq!(
            c.lines[crate::metrics::kind_index("alert")].load(Ordering::Relaxed),
            1
        );
        assert_eq!(c.dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn tcp_messages_are_octet_counted() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = Target::Tcp(l.local_addr().unwrap().to_string());
        let (mut e, c) = sink(target, kinds(&["alert"]));
        for _ in 0..3 {
            e.line(
                "alert",
                &A { code: "dad_dos" },
                severity::WARNING,
                "dad_dos",
                |_| {},
            )
            .unwrap();
        }
        e.close(Duration::from_secs(5));
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = io::BufReader::new(s);
        for _ in 0..3 {
            let mut len = Vec::new();
            r.read_until(b' ', &mut len).unwrap();
            let n: usize = std::str::from_utf8(&len).unwrap().trim().parse().unwrap();
            let mut msg = vec![0u8; n];
            r.read_exact(&mut msg).unwrap();
            check_message(std::str::from_utf8(&msg).unwrap(), 28, "dad_dos");
        }
        assert_eq!(c.dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn an_unreachable_tcp_peer_is_counted_and_never_blocks() {
        // A port with nothing listening.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (mut e, c) = sink(Target::Tcp(format!("127.0.0.1:{port}")), kinds(&["alert"]));
        for _ in 0..5 {
            e.line(
                "alert",
                &A { code: "flood" },
                severity::CRIT,
                "flood",
                |_| {},
            )
            .unwrap();
        }
        e.close(Duration::from_millis(300));
        assert_eq!(c.dropped.load(Ordering::Relaxed), 5);
        assert!(c.errors.load(Ordering::Relaxed) >= 1);
    }

    #[test]
    fn unix_datagram_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (mut e, _c) = sink(Target::Unix(path), kinds(&["alert"]));
        e.line(
            "alert",
            &A { code: "flood" },
            severity::NOTICE,
            "flood",
            |_| {},
        )
        .unwrap();
        e.close(Duration::from_secs(5));
        let mut buf = [0u8; 65536];
        let n = rx.recv(&mut buf).unwrap();
        check_message(std::str::from_utf8(&buf[..n]).unwrap(), 29, "flood");
    }
}
