//! A counting wrapper around quinn's UDP socket: how many send system calls the relay makes and
//! how many datagrams they carry (a GSO batch to one destination is one call of several), so
//! the cost of fan-out per delivered frame is measured, not guessed (`hush_udp_send_calls`,
//! `hush_udp_datagrams_sent`; `hush bench` reports them per delivered frame).

use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// Send calls and datagrams, shared by every endpoint of a relay.
#[derive(Debug, Default)]
pub struct UdpCounts {
    pub(crate) send_calls: AtomicU64,
    pub(crate) datagrams_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
}

impl UdpCounts {
    /// Send system calls so far, and the datagrams they carried.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.send_calls.load(Relaxed),
            self.datagrams_sent.load(Relaxed),
        )
    }

    /// UDP payload bytes sent so far (QUIC packets as the kernel got them: every byte on the
    /// wire but the UDP and IP headers).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Relaxed)
    }
}

/// quinn's own socket for the tokio runtime, counted.
pub struct Counted {
    inner: Arc<dyn AsyncUdpSocket>,
    counts: Arc<UdpCounts>,
}

impl Counted {
    /// Wraps `socket` as quinn's tokio runtime would, counting its sends into `counts`.
    ///
    /// # Errors
    /// The runtime cannot take the socket (not inside a tokio runtime, or a socket error).
    pub fn wrap(
        socket: std::net::UdpSocket,
        counts: Arc<UdpCounts>,
    ) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let inner = quinn::Runtime::wrap_udp_socket(&quinn::TokioRuntime, socket)?;
        Ok(Arc::new(Counted { inner, counts }))
    }
}

impl fmt::Debug for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counted")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Datagrams in one transmit: one, or its GSO segments.
fn datagrams(t: &Transmit<'_>) -> u64 {
    match t.segment_size {
        Some(s) if s > 0 => t.contents.len().div_ceil(s) as u64,
        _ => 1,
    }
}

impl AsyncUdpSocket for Counted {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        self.inner.clone().create_io_poller()
    }

    fn try_send(&self, transmit: &Transmit<'_>) -> io::Result<()> {
        let r = self.inner.try_send(transmit);
        if r.is_ok() {
            self.counts.send_calls.fetch_add(1, Relaxed);
            self.counts
                .datagrams_sent
                .fetch_add(datagrams(transmit), Relaxed);
            self.counts
                .bytes_sent
                .fetch_add(transmit.contents.len() as u64, Relaxed);
        }
        r
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_recv(cx, bufs, meta)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        self.inner.max_transmit_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_gso_batch_counts_its_segments() {
        let t = |len: usize, seg: Option<usize>| {
            let contents = vec![0u8; len];
            let tr = Transmit {
                destination: SocketAddr::from(([127, 0, 0, 1], 9)),
                ecn: None,
                contents: &contents,
                segment_size: seg,
                src_ip: None,
            };
            datagrams(&tr)
        };
        assert_eq!(t(1200, None), 1);
        assert_eq!(t(1200, Some(1200)), 1);
        assert_eq!(t(3000, Some(1200)), 3);
        assert_eq!(t(2400, Some(1200)), 2);
    }
}
