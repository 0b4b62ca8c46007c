//! The real relay as a child process (`hush relay`, its first stdout line is
//! `hush relay listening on <ip:port> sha256=<64 hex>`): what the load and fault tests run, so
//! the relay's memory is its own and killing it is a real `SIGKILL`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::error::TestkitError;

/// A running `hush relay` child process. Dropping it kills it.
#[derive(Debug)]
pub struct RelayProcess {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// The address from its first line.
    pub addr: SocketAddr,
    /// The certificate pin from its first line.
    pub pin: [u8; 32],
    /// The metrics endpoint from its second line (when started with `--metrics`).
    pub metrics_addr: Option<SocketAddr>,
}

impl RelayProcess {
    /// Starts `bin relay <args>` and reads its first line. Its stderr is discarded.
    pub fn spawn(bin: &Path, args: &[String]) -> Result<Self, TestkitError> {
        let err = |m: String| TestkitError::Process(m);
        let mut child = Command::new(bin)
            .arg("relay")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("cannot start {}: {e}", bin.display())))?;
        let stdout = child.stdout.take().ok_or_else(|| err("no stdout".into()))?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .map_err(|e| err(format!("cannot read the first line: {e}")))?;
        let parsed = parse_first_line(&line);
        let Some((addr, pin)) = parsed else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(err(format!("unexpected first line {line:?}")));
        };
        let mut metrics_addr = None;
        if args.iter().any(|a| a == "--metrics") {
            let mut line = String::new();
            stdout
                .read_line(&mut line)
                .map_err(|e| err(format!("cannot read the metrics line: {e}")))?;
            metrics_addr = line
                .trim()
                .strip_prefix("metrics on http://")
                .and_then(|r| r.strip_suffix("/metrics"))
                .and_then(|a| a.parse().ok());
        }
        Ok(RelayProcess {
            child,
            _stdout: stdout,
            addr,
            pin,
            metrics_addr,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid())
    }

    /// The relay's counters: `(name, value)` for every sample of its Prometheus text (needs
    /// `--metrics`).
    pub fn metrics(&self) -> Result<Vec<(String, f64)>, TestkitError> {
        use std::io::{Read, Write};
        let addr = self
            .metrics_addr
            .ok_or_else(|| TestkitError::Process("started without --metrics".into()))?;
        let io = |e: std::io::Error| TestkitError::Process(format!("metrics: {e}"));
        let mut s = std::net::TcpStream::connect(addr).map_err(io)?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: relay\r\n\r\n")
            .map_err(io)?;
        let mut text = String::new();
        s.read_to_string(&mut text).map_err(io)?;
        let body = text.split_once("\r\n\r\n").map_or(&text[..], |(_, b)| b);
        Ok(body
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, v) = l.rsplit_once(' ')?;
                Some((name.to_owned(), v.parse().ok()?))
            })
            .collect())
    }

    /// CPU time the relay has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.pid())
    }

    /// Sends `SIGTERM` (a service manager's stop) and waits for the exit, at most `limit`;
    /// `None` if it had not exited by then.
    pub fn terminate(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        signal(self.pid(), "TERM");
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// `SIGKILL`: the relay gets no chance to close anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn parse_first_line(line: &str) -> Option<(SocketAddr, [u8; 32])> {
    let rest = line.trim().strip_prefix("hush relay listening on ")?;
    let (addr, sha) = rest.split_once(" sha256=")?;
    let mut pin = [0u8; 32];
    hex::decode_to_slice(sha, &mut pin).ok()?;
    Some((addr.parse().ok()?, pin))
}

/// Sends signal `name` (`TERM`, `INT`, ...) to process `pid` with the system's `kill`.
pub fn signal(pid: u32, name: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

/// Peak resident memory (`VmHWM` in `/proc/<pid>/status`) of a process, in KiB (Linux only).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Resident memory now (`VmRSS` in `/proc/<pid>/status`) of a process, in KiB (Linux only).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The `field` line of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) a process has used so far, in seconds (Linux only; assumes the
/// usual 100 clock ticks per second).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// UDP receive-buffer overflows on this host so far (`RcvbufErrors` in `/proc/net/snmp`): the
/// datagrams the kernel dropped because a socket was not read fast enough.
pub fn udp_rcvbuf_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = udp.next()?.split_whitespace().collect();
    let values: Vec<&str> = udp.next()?.split_whitespace().collect();
    let i = names.iter().position(|n| *n == "RcvbufErrors")?;
    values.get(i)?.parse().ok()
}

/// Writes `cert` as PEM files `cert.pem` and `key.pem` in `dir`, for `hush relay --cert --key`
/// (a relay restarted with them keeps its pin).
pub fn write_pem(dir: &Path, cert: &crate::SelfSigned) -> std::io::Result<(String, String)> {
    let c = dir.join("cert.pem");
    let k = dir.join("key.pem");
    std::fs::write(&c, &cert.cert_pem)?;
    std::fs::write(&k, &cert.key_pem)?;
    Ok((c.display().to_string(), k.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_parses() {
        let pin = "ab".repeat(32);
        let line = format!("hush relay listening on 127.0.0.1:4433 sha256={pin}\n");
        let (addr, p) = parse_first_line(&line).unwrap_or_else(|| panic!("no parse"));
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 4433)));
        assert_eq!(p, [0xab; 32]);
        assert!(parse_first_line("something else").is_none());
    }

    #[test]
    fn own_peak_memory_is_readable() {
        let kib = peak_rss_kib(std::process::id()).unwrap_or(0);
        assert!(kib > 0);
    }
}
