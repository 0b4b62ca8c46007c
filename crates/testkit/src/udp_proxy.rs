//! A UDP forwarder between a client and one server, which a test can cut (a network partition)
//! and heal: every datagram either way is dropped while it is cut.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// A running forwarder to `target`. Dropping it stops it.
pub struct UdpProxy {
    /// Where clients send (instead of the target).
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl UdpProxy {
    /// Forwards datagrams between each client and `target`, one upstream socket per client.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let addr = front.local_addr()?;
        let cut = Arc::new(AtomicBool::new(false));
        let (f, c) = (front.clone(), cut.clone());
        let task = tokio::spawn(async move {
            let mut ups: HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)> = HashMap::new();
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = f.recv_from(&mut buf).await {
                if c.load(Relaxed) {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = ups.entry(from) {
                    let Ok(up) = UdpSocket::bind("127.0.0.1:0").await else {
                        continue;
                    };
                    if up.connect(target).await.is_err() {
                        continue;
                    }
                    let up = Arc::new(up);
                    let (back, front, cut) = (up.clone(), f.clone(), c.clone());
                    let t = tokio::spawn(async move {
                        let mut buf = vec![0u8; 65536];
                        while let Ok(n) = back.recv(&mut buf).await {
                            if !cut.load(Relaxed) {
                                let _ = front.send_to(&buf[..n], from).await;
                            }
                        }
                    });
                    slot.insert((up, t));
                }
                if let Some((up, _)) = ups.get(&from) {
                    let _ = up.send(&buf[..n]).await;
                }
            }
            for (_, (_, t)) in ups {
                t.abort();
            }
        });
        Ok(UdpProxy { addr, cut, task })
    }

    /// Cuts (`true`) or heals (`false`) the path: while cut, nothing passes either way.
    pub fn cut(&self, cut: bool) {
        self.cut.store(cut, Relaxed);
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
