//! The legacy endpoint of the `connector` mode: a plain UDP socket that counts the datagrams and
//! bytes the connector re-emits to it (SPEC §13.3 framing, not parsed: a count is all the
//! benchmark needs; `tests/bench_cli.rs` and the connector's own tests check the framing).
//!
//! It runs on its own blocking thread named [`SINK_THREAD`], which the CPU split does not
//! count: it stands for a phone gateway or a recorder, outside hush.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

/// Name of the sink's thread (not counted as relay or clients).
pub const SINK_THREAD: &str = "hush-sink";
/// How long a read waits before checking whether it should stop.
const POLL: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Counts {
    datagrams: AtomicU64,
    bytes: AtomicU64,
    stop: AtomicBool,
}

/// What the sink received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkCounts {
    /// Datagrams received.
    pub datagrams: u64,
    /// Their bytes (framing header included).
    pub bytes: u64,
}

/// A running UDP sink on loopback.
pub struct UdpSink {
    addr: SocketAddr,
    counts: Arc<Counts>,
    thread: Option<JoinHandle<()>>,
}

impl UdpSink {
    /// Binds `127.0.0.1:0` and starts counting.
    pub fn start() -> anyhow::Result<UdpSink> {
        let socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).context("sink bind")?;
        socket
            .set_read_timeout(Some(POLL))
            .context("sink timeout")?;
        let addr = socket.local_addr().context("sink address")?;
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let thread = std::thread::Builder::new()
            .name(SINK_THREAD.into())
            .spawn(move || {
                let mut buf = vec![0u8; 65_536];
                loop {
                    match socket.recv(&mut buf) {
                        Ok(n) => {
                            c.datagrams.fetch_add(1, Relaxed);
                            c.bytes.fetch_add(n as u64, Relaxed);
                        }
                        // A read that waited a whole poll period with nothing: stop if asked
                        // (what was queued before the stop has been read by then).
                        Err(_) if c.stop.load(Relaxed) => return,
                        Err(_) => {}
                    }
                }
            })
            .context("sink thread")?;
        Ok(UdpSink {
            addr,
            counts,
            thread: Some(thread),
        })
    }

    /// Where the connector sends.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counts so far.
    pub fn counts(&self) -> SinkCounts {
        SinkCounts {
            datagrams: self.counts.datagrams.load(Relaxed),
            bytes: self.counts.bytes.load(Relaxed),
        }
    }

    /// Reads what is still queued, stops the thread and returns the final counts.
    pub fn stop(mut self) -> SinkCounts {
        self.halt();
        self.counts()
    }

    fn halt(&mut self) {
        self.counts.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for UdpSink {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_arrives_and_stops() {
        let sink = UdpSink::start().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for n in [10usize, 20, 30] {
            tx.send_to(&vec![1u8; n], sink.addr()).unwrap();
        }
        let c = sink.stop();
        assert_eq!(
            c,
            SinkCounts {
                datagrams: 3,
                bytes: 60
            }
        );
    }
}
