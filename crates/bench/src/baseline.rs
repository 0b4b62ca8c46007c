//! The baseline server: `quinn-min`, a minimal quinn forwarder doing the same fan-out as the
//! hush relay with none of hush: no hush-wire, no control stream, no rooms, no rate limits, no
//! report. Every connection's datagrams and unidirectional streams are forwarded to every other
//! connection (datagram as datagram, stream as a fresh stream). It runs with the relay's TLS
//! (TLS 1.3, ring, self-signed) and QUIC transport settings, so the difference between the two
//! is hush's own per-frame work.
//!
//! (`udp-floor` needs no server: see the harness.)

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context as _;
use bytes::Bytes;
use hush_wire::sync::{lock, read, write};
use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// ALPN of the baseline (the hush client configuration offers hush's, so reuse it).
const ALPN: &[u8] = hush_wire::ALPN;

type Conns = Arc<RwLock<Arc<[(usize, quinn::Connection)]>>>;

/// A running `quinn-min` forwarder.
pub struct QuinnMin {
    endpoint: quinn::Endpoint,
    /// Its send system calls, counted as the relay's are.
    pub udp: Arc<hush_relay::udp_count::UdpCounts>,
    /// UDP address.
    pub addr: SocketAddr,
    /// SHA-256 of its self-signed certificate.
    pub cert_sha256: [u8; 32],
    accept: tokio::task::JoinHandle<()>,
}

/// The relay's transport parameters (crates/relay/src/tls.rs), repeated for the baseline.
fn transport() -> quinn::TransportConfig {
    let frame = hush_wire::MAX_FRAME_SIZE as u64;
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(0));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(32));
    t.stream_receive_window(quinn::VarInt::from_u64(frame + 1024).unwrap_or(quinn::VarInt::MAX));
    t.receive_window(quinn::VarInt::from_u64(8 * (frame + 1024)).unwrap_or(quinn::VarInt::MAX));
    t.datagram_receive_buffer_size(Some(1 << 20));
    t.datagram_send_buffer_size(1 << 20);
    t
}

impl QuinnMin {
    /// Binds on `127.0.0.1:0` and starts accepting (call inside the server's runtime).
    pub fn start() -> anyhow::Result<QuinnMin> {
        let ck = rcgen::generate_simple_self_signed(vec!["hush-relay".to_owned()])
            .context("self-signed certificate")?;
        let der = ck.cert.der().clone();
        let cert_sha256 = hush_client_pin(&der);
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .context("TLS 1.3")?
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .context("server certificate")?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic = QuicServerConfig::try_from(tls).context("QUIC TLS")?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
        server.transport_config(Arc::new(transport()));
        let udp = Arc::new(hush_relay::udp_count::UdpCounts::default());
        let socket = std::net::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .context("bind quinn-min")?;
        let socket =
            hush_relay::udp_count::Counted::wrap(socket, udp.clone()).context("bind quinn-min")?;
        let endpoint = quinn::Endpoint::new_with_abstract_socket(
            quinn::EndpointConfig::default(),
            Some(server),
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .context("bind quinn-min")?;
        let addr = endpoint.local_addr().context("quinn-min address")?;
        let conns: Conns = Arc::new(RwLock::new(Arc::from(Vec::new())));
        let ep = endpoint.clone();
        let accept = tokio::spawn(async move {
            let next = Arc::new(Mutex::new(0usize));
            while let Some(incoming) = ep.accept().await {
                let conns = conns.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    let id = {
                        let mut n = lock(&next);
                        *n += 1;
                        *n
                    };
                    {
                        let mut w = write(&conns);
                        let list: Vec<_> = w.iter().cloned().chain([(id, conn.clone())]).collect();
                        *w = Arc::from(list);
                    }
                    tokio::spawn(streams(conns.clone(), id, conn.clone()));
                    datagrams(&conns, id, &conn).await;
                });
            }
        });
        Ok(QuinnMin {
            endpoint,
            udp,
            addr,
            cert_sha256,
            accept,
        })
    }

    /// Closes every connection and stops.
    pub async fn stop(self) {
        self.endpoint.close(quinn::VarInt::from_u32(0), b"done");
        self.accept.abort();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.endpoint.wait_idle())
            .await;
    }
}

/// SHA-256 of a DER certificate, as hush clients pin it.
fn hush_client_pin(der: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn snapshot(conns: &Conns) -> Arc<[(usize, quinn::Connection)]> {
    read(conns).clone()
}

async fn datagrams(conns: &Conns, me: usize, conn: &quinn::Connection) {
    while let Ok(d) = conn.read_datagram().await {
        for (id, c) in snapshot(conns).iter() {
            if *id != me {
                let _ = c.send_datagram(d.clone());
            }
        }
    }
}

async fn streams(conns: Conns, me: usize, conn: quinn::Connection) {
    while let Ok(mut recv) = conn.accept_uni().await {
        let conns = conns.clone();
        tokio::spawn(async move {
            let Ok(data) = recv.read_to_end(hush_wire::MAX_FRAME_SIZE).await else {
                return;
            };
            let data = Bytes::from(data);
            for (id, c) in snapshot(&conns).iter() {
                if *id != me {
                    let c = c.clone();
                    let data = data.clone();
                    tokio::spawn(async move {
                        if let Ok(mut s) = c.open_uni().await
                            && s.write_chunk(data).await.is_ok()
                        {
                            let _ = s.finish();
                        }
                    });
                }
            }
        });
    }
}
