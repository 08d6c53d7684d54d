//! `v6probe listen` under load, on loopback (no privileges needed): it keeps serving when it
//! runs out of descriptors (RLIMIT_NOFILE lowered with `prlimit`), refuses peers over
//! `--max-sessions`, and closes a session whose peer trickles bytes at the absolute limit.
#![cfg(target_os = "linux")]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

/// A `listen` process on [::1], its port, and its stdout lines (read by a thread).
struct Listener {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

impl Listener {
    /// Starts `[prlimit --nofile=N --] v6probe listen [::1]:0 --echo ARGS`.
    fn start(nofile: Option<u32>, args: &[&str]) -> Self {
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = cmd
            .args(["listen", "[::1]:0", "--echo"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the listener");
        let out: ChildStdout = child.stdout.take().unwrap();
        let lines = lines_of(out);
        let stderr = lines_of(child.stderr.take().unwrap());
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the listening line");
        let v: Value = serde_json::from_str(&first).unwrap();
        let addr: std::net::SocketAddr = v["addrs"][0].as_str().unwrap().parse().unwrap();
        Self {
            child,
            port: addr.port(),
            lines,
            stderr,
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("::1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends SIGTERM and returns the `listen_stats` line.
    fn stop(mut self) -> Value {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let mut stats = None;
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(10)) {
            let v: Value = serde_json::from_str(&l).unwrap();
            if v["kind"] == "listen_stats" {
                stats = Some(v);
            }
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        stats.expect("a listen_stats line")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `msg` and reads the echo back.
fn echoes(s: &mut TcpStream, msg: &[u8]) -> bool {
    if s.write_all(msg).is_err() {
        return false;
    }
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).is_ok() && got == msg
}

#[test]
fn out_of_descriptors_the_listener_backs_off_and_serves_new_clients_afterwards() {
    // 32 descriptors: the runtime and the listening socket take a few, so about two dozen
    // sessions fit; 60 idle clients run it out.
    let l = Listener::start(Some(32), &["--idle-timeout", "60s"]);
    let idle: Vec<TcpStream> = (0..60).map(|_| l.connect()).collect();
    // Bounded: at most 50 stderr lines or 10 s.
    let warned = (0..50)
        .map_while(|_| l.stderr.recv_timeout(Duration::from_secs(10)).ok())
        .find(|line| line.contains("Too many open files"));
    assert!(warned.is_some(), "no warning about the failed accept");
    // Still running, still accepting into the freed descriptors once the idle clients leave.
    let mut l = l;
    assert!(l.child.try_wait().unwrap().is_none(), "the listener exited");
    drop(idle);
    let mut fresh = l.connect();
    assert!(echoes(&mut fresh, b"still serving"));
    drop(fresh);
    let stats = l.stop();
    assert!(stats["accept_errors"].as_u64().unwrap() > 0, "{stats}");
}

#[test]
fn peers_over_max_sessions_are_closed_and_counted() {
    let l = Listener::start(None, &["--max-sessions", "2"]);
    let mut a = l.connect();
    let mut b = l.connect();
    assert!(echoes(&mut a, b"a"));
    assert!(echoes(&mut b, b"b"));
    let mut c = l.connect();
    let mut buf = [0u8; 1];
    let _ = c.write_all(b"c");
    let n = c.read(&mut buf);
    assert!(
        matches!(n, Ok(0) | Err(_)),
        "the third peer was served: {n:?}"
    );
    // Sessions still serve.
    assert!(echoes(&mut a, b"again"));
    drop((a, b));
    let stats = l.stop();
    assert_eq!(stats["refused_max_sessions"], 1, "{stats}");
    assert_eq!(stats["accepted"], 2, "{stats}");
}

#[test]
fn a_peer_trickling_bytes_is_closed_at_the_session_limit() {
    let l = Listener::start(None, &["--idle-timeout", "1s", "--max-session-time", "2s"]);
    let mut s = l.connect();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // One byte every 200 ms keeps the session from going idle; at most 100 (20 s).
    let mut echoed = 0;
    for _ in 0..100 {
        if !echoes(&mut s, b"x") {
            break;
        }
        echoed += 1;
        thread::sleep(Duration::from_millis(200));
    }
    assert!(echoed > 0, "nothing was echoed");
    assert!(echoed < 100, "the session outlived its limit");
    let stats = l.stop();
    assert_eq!(stats["closed_limit"], 1, "{stats}");
    assert_eq!(stats["closed_idle"], 0, "{stats}");
}
