//! The `hush` binary as a child process of a test (`hush join`, `hush connector`): started
//! against a relay with its output in files, killed by its pid on every path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often a wait looks at the child.
const POLL: Duration = Duration::from_millis(50);

/// A child process killed (by its pid, through `Child::kill`) when dropped.
#[derive(Debug)]
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// Its exit code once it has exited (-1 for a signal); panics once `within` has passed
    /// since `start` without an exit.
    fn exit_code(&mut self, start: Instant, within: Duration) -> Option<i32> {
        let status = self.0.try_wait().expect("cannot poll the child");
        assert!(
            status.is_some() || start.elapsed() < within,
            "child did not exit"
        );
        status.map(|s| s.code().unwrap_or(-1))
    }

    /// Waits for the exit (panics after `within`) and returns the code, from async code.
    pub async fn wait(&mut self, within: Duration) -> i32 {
        let start = Instant::now();
        loop {
            match self.exit_code(start, within) {
                Some(code) => return code,
                None => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// As [`Proc::wait`], blocking the thread.
    pub fn wait_blocking(&mut self, within: Duration) -> i32 {
        let start = Instant::now();
        loop {
            match self.exit_code(start, within) {
                Some(code) => return code,
                None => std::thread::sleep(POLL),
            }
        }
    }
}

/// Waits until the file at `path` has `n` lines containing `needle`, polling; panics after
/// `within` with the file's text (a child's stdout or stderr, written as it goes).
pub fn wait_for_lines(path: &Path, needle: &str, n: usize, within: Duration) {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // Complete lines only: the child may be half-way through writing one.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        if complete.lines().filter(|l| l.contains(needle)).count() >= n {
            return;
        }
        assert!(
            start.elapsed() < within,
            "no {n}× {needle:?} in {} within {within:?}:\n{text}",
            path.display()
        );
        std::thread::sleep(POLL);
    }
}

/// Where `hush` children connect and write: the binary, the relay's address and pin, the
/// directory for their output.
#[derive(Debug, Clone, Copy)]
pub struct Hush<'a> {
    /// The `hush` binary.
    pub bin: &'a Path,
    /// The relay's address.
    pub addr: SocketAddr,
    /// The relay's certificate pin.
    pub pin: [u8; 32],
    /// Where each child's stdout and stderr go.
    pub dir: &'a Path,
}

impl<'a> Hush<'a> {
    /// Children of `bin` on the relay at `addr` pinned to `pin`, writing into `dir`.
    pub fn new(bin: &'a Path, addr: SocketAddr, pin: [u8; 32], dir: &'a Path) -> Self {
        Hush {
            bin,
            addr,
            pin,
            dir,
        }
    }

    /// `hush <cmd>` on the relay in `room` under `name`, then `extra`; stdout and stderr into
    /// [`Hush::out`] and [`Hush::err`] of `tag`.
    pub fn spawn(&self, cmd: &str, tag: &str, room: &str, name: &str, extra: &[&str]) -> Proc {
        let out = std::fs::File::create(self.out(tag)).expect("cannot create the stdout file");
        let err = std::fs::File::create(self.err(tag)).expect("cannot create the stderr file");
        let child = Command::new(self.bin)
            .arg(cmd)
            .args(["--relay", &self.addr.to_string()])
            .args(["--relay-cert-sha256", &hex::encode(self.pin)])
            .args(["--room", room, "--name", name])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("cannot start hush");
        Proc(child)
    }

    /// `DIR/<tag>.out`: what the child `tag` printed on stdout.
    pub fn out(&self, tag: &str) -> PathBuf {
        self.dir.join(format!("{tag}.out"))
    }

    /// `DIR/<tag>.err`: what the child `tag` printed on stderr.
    pub fn err(&self, tag: &str) -> PathBuf {
        self.dir.join(format!("{tag}.err"))
    }
}
