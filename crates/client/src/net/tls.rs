//! How the client trusts the relay (SPEC §6.1): the pinned-certificate verifier, CA files, and
//! the client's TLS 1.3 / QUIC configuration.

use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::TrustAnchor;
use super::error::{CaFileError, NetError, SetupError};

/// What the pinned verifier refused (the certificate the relay presented instead).
pub(crate) use hush_pin::PinProbe;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The trust anchors of a CA file (PEM): at least one certificate, each usable as a root.
fn ca_roots(path: &std::path::Path) -> Result<rustls::RootCertStore, CaFileError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path)? {
        roots.add(cert?)?;
    }
    if roots.is_empty() {
        return Err(CaFileError::NoCertificate);
    }
    Ok(roots)
}

/// The quinn client configuration for a trust anchor (TLS 1.3, ALPN `hush/1`).
pub fn client_config(trust: &TrustAnchor) -> Result<quinn::ClientConfig, NetError> {
    client_config_probed(trust).map(|(cfg, _)| cfg)
}

/// As [`client_config`], with the probe that tells a pin mismatch from other handshake failures.
pub(crate) fn client_config_probed(
    trust: &TrustAnchor,
) -> Result<(quinn::ClientConfig, PinProbe), NetError> {
    let provider = provider();
    let mut probe = PinProbe::default();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(SetupError::from)?;
    let mut tls = match trust {
        TrustAnchor::Sha256(sha256) => {
            let (verifier, refused) =
                hush_pin::PinnedCert::new(*sha256, provider.signature_verification_algorithms);
            probe = refused;
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
        TrustAnchor::CaFile(path) => {
            let roots = ca_roots(path).map_err(|source| NetError::CaFile {
                path: path.clone(),
                source,
            })?;
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    tls.alpn_protocols = vec![hush_wire::ALPN.to_vec()];
    let quic = QuicClientConfig::try_from(tls).map_err(SetupError::from)?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(quic));
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(Duration::from_secs(5)));
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(4));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(256));
    t.stream_receive_window(quinn::VarInt::from_u32(2 * 1024 * 1024));
    t.datagram_receive_buffer_size(Some(4 * 1024 * 1024));
    cfg.transport_config(Arc::new(t));
    Ok((cfg, probe))
}
