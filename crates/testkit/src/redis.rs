//! A real `redis-server` for the cluster tests (SPEC §15.7): started on a free loopback port
//! with no persistence, in its own temporary directory; stopped (and restarted on the same
//! port, empty) on demand. `.ci/run` installs `redis-server` when it is missing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::TestkitError;
use crate::meeting::TempDir;

/// A running `redis-server` child. Dropping it kills it.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    dir: TempDir,
}

impl RedisServer {
    /// [`start`](Self::start), or `None` (after a note on stderr) on a machine without
    /// `redis-server`, as the ffmpeg tests do; in CI (`CI` set) a missing server is a panic, so
    /// the cluster tests are never skipped there.
    pub fn start_or_skip() -> Option<Self> {
        let installed = std::process::Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is missing in CI: .ci/run installs it with apt-get"
            );
            eprintln!("skipped: redis-server not installed (apt-get install redis-server)");
            return None;
        }
        Some(Self::start().expect("cannot start redis-server"))
    }

    /// Starts `redis-server` on a free loopback port and waits until it answers `PING`.
    pub fn start() -> Result<Self, TestkitError> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| TestkitError::Process(format!("no free port: {e}")))?
            .port();
        let mut s = RedisServer {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: TempDir::new("redis"),
        };
        s.restart()?;
        Ok(s)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Kills the server (`SIGKILL`): the directory is gone until [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.addr.port().to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                TestkitError::Process(format!(
                    "cannot start redis-server ({e}); .ci/run installs it with \
                     `apt-get install redis-server`"
                ))
            })?;
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(TestkitError::Process(format!(
            "redis-server on {} did not answer PING",
            self.addr
        )))
    }

    /// True if the server answers `PING`.
    pub fn ping(&self) -> bool {
        self.command(&["PING"])
            .is_some_and(|r| r.starts_with("+PONG"))
    }

    /// Sends one command (RESP) and returns the raw reply, `None` if the server cannot be
    /// reached. For inspecting the directory's keys in tests.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).ok()?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = Vec::new();
        // Enough for the small replies the tests read: until a read returns less than asked
        // and the reply looks complete.
        loop {
            let n = s.read(&mut buf).ok()?;
            got.extend_from_slice(&buf[..n]);
            if n == 0 || got.ends_with(b"\r\n") {
                break;
            }
        }
        Some(String::from_utf8_lossy(&got).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
