//! The relay's TLS 1.3 identity and QUIC transport settings (SPEC §6.1).

use std::sync::Arc;

use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::config::{CertSource, Limits};
use crate::error::RelayError;

/// Subject names of the generated self-signed certificate.
pub const SELF_SIGNED_NAMES: [&str; 2] = ["hush-relay", "localhost"];

/// A certificate chain and its key.
pub(crate) struct Identity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl Identity {
    pub(crate) fn load(source: &CertSource) -> Result<Self, RelayError> {
        match source {
            CertSource::SelfSigned => {
                let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
                let ck = rcgen::generate_simple_self_signed(names)
                    .map_err(|e| RelayError::CertGen(e.to_string()))?;
                let key = PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der());
                Ok(Identity {
                    chain: vec![ck.cert.der().clone()],
                    key: key.into(),
                })
            }
            CertSource::StateDir(dir) => {
                let files = crate::state_dir::ensure(dir)?;
                Self::load(&CertSource::Pem {
                    cert: files.cert,
                    key: files.key,
                })
            }
            CertSource::Pem { cert, key } => {
                let pem_err =
                    |what, path: &std::path::Path, e: &dyn std::fmt::Display| RelayError::Pem {
                        what,
                        path: path.to_owned(),
                        reason: e.to_string(),
                    };
                let chain = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| pem_err("certificate", cert, &e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| pem_err("certificate", cert, &e))?;
                if chain.is_empty() {
                    return Err(pem_err("certificate", cert, &"no CERTIFICATE block"));
                }
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| pem_err("private key", key, &e))?;
                Ok(Identity { chain, key })
            }
        }
    }

    /// SHA-256 of the end-entity certificate's DER: what clients pin.
    pub(crate) fn sha256(&self) -> [u8; 32] {
        self.chain
            .first()
            .map(|c| Sha256::digest(c.as_ref()).into())
            .unwrap_or([0; 32])
    }

    pub(crate) fn server_config(self, limits: &Limits) -> Result<quinn::ServerConfig, RelayError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| RelayError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.chain, self.key)
            .map_err(|e| RelayError::Tls(e.to_string()))?;
        // Clients speak `hush/1`; relays of a cascade link with `hush-peer/1` (SPEC §15).
        tls.alpn_protocols = vec![
            hush_wire::ALPN.to_vec(),
            hush_wire::peer::PEER_ALPN.to_vec(),
        ];
        tls.max_early_data_size = 0;
        let quic = QuicServerConfig::try_from(tls).map_err(|e| RelayError::Tls(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
        server.transport_config(Arc::new(transport(limits)));
        Ok(server)
    }
}

/// UDP socket buffer size the relay asks for (the kernel caps it, e.g. at `net.core.rmem_max`).
pub(crate) const SOCKET_BUFFER: usize = 8 * 1024 * 1024;

/// Asks for large UDP socket buffers, best effort. All clients share the relay's one socket: with
/// the usual 208 KiB default, a few milliseconds without CPU (a busy host) overflow it and the
/// kernel drops inbound media (the issue-7 load test lost over 40 % of its frames that way).
pub(crate) fn enlarge_socket_buffers(socket: &std::net::UdpSocket) {
    let Ok(state) = quinn::udp::UdpSocketState::new(socket.into()) else {
        return;
    };
    if let Err(e) = state.set_recv_buffer_size(socket.into(), SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the UDP receive buffer");
    }
    if let Err(e) = state.set_send_buffer_size(socket.into(), SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the UDP send buffer");
    }
}

/// QUIC transport parameters of the relay's side (SPEC §7.4).
fn transport(limits: &Limits) -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    let idle = quinn::IdleTimeout::try_from(limits.idle_timeout())
        .unwrap_or_else(|_| quinn::IdleTimeout::from(quinn::VarInt::from_u32(30_000)));
    t.max_idle_timeout(Some(idle));
    // Clients never open bidirectional streams: the relay opens the control stream.
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(0));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(32));
    let frame = limits.max_frame_size.max(1) as u64;
    t.stream_receive_window(quinn::VarInt::from_u64(frame + 1024).unwrap_or(quinn::VarInt::MAX));
    t.receive_window(quinn::VarInt::from_u64(8 * (frame + 1024)).unwrap_or(quinn::VarInt::MAX));
    t.datagram_receive_buffer_size(Some(1 << 20));
    t.datagram_send_buffer_size(1 << 20);
    // Stream bytes the relay buffers per connection until the peer acknowledges them (quinn's
    // default is 10 MB): bounds what a receiver that withholds acknowledgements makes it hold.
    t.send_window(SEND_WINDOW);
    t
}

/// Unacknowledged stream bytes the relay buffers per connection (SPEC §7.4).
pub(crate) const SEND_WINDOW: u64 = 4 * 1024 * 1024;
