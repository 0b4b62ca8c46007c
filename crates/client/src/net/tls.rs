//! How the client trusts the relay (SPEC §6.1): the pinned-certificate verifier, CA files, and
//! the client's TLS 1.3 / QUIC configuration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::crypto::rustls::QuicClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::TrustAnchor;
use super::error::{CaFileError, NetError, SetupError};

/// A certificate verifier that accepts exactly one end-entity certificate, identified by the
/// SHA-256 of its DER (compared in constant time), and still verifies the TLS 1.3 handshake
/// signature with the provider's algorithms, so the server must hold the pinned key.
#[derive(Debug)]
struct PinnedCert {
    sha256: [u8; 32],
    algs: WebPkiSupportedAlgorithms,
    refused: PinProbe,
}

/// What the pinned verifier refused: the SHA-256 of the certificate the relay presented when it
/// did not match, so the error can say `expected …, got …` instead of rustls' generic alert.
#[derive(Debug, Clone, Default)]
pub(crate) struct PinProbe(Arc<Mutex<Option<[u8; 32]>>>);

impl PinProbe {
    fn record(&self, got: [u8; 32]) {
        *hush_wire::sync::lock(&self.0) = Some(got);
    }

    /// The refused certificate's hash, if the verifier refused one.
    pub(crate) fn refused(&self) -> Option<[u8; 32]> {
        *hush_wire::sync::lock(&self.0)
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if bool::from(got.ct_eq(&self.sha256)) {
            Ok(ServerCertVerified::assertion())
        } else {
            self.refused.record(got);
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // TLS 1.2 is never offered (QUIC is TLS 1.3 only).
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

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
    let probe = PinProbe::default();
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(SetupError::from)?;
    let mut tls = match trust {
        TrustAnchor::Sha256(sha256) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCert {
                sha256: *sha256,
                algs: provider.signature_verification_algorithms,
                refused: probe.clone(),
            }))
            .with_no_client_auth(),
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
