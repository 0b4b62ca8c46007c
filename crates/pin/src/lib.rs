//! hush-pin: trusting a server by the SHA-256 of its certificate (SPEC §6.1), for a client
//! dialling its relay and for a relay dialling a peer relay (SPEC §15.1). One verifier, so the
//! check that decides who a connection talks to is written once.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A certificate verifier that accepts exactly one end-entity certificate, identified by the
/// SHA-256 of its DER (compared in constant time), and still verifies the TLS 1.3 handshake
/// signature with the provider's algorithms, so the server must hold the pinned key.
#[derive(Debug)]
pub struct PinnedCert {
    sha256: [u8; 32],
    algs: WebPkiSupportedAlgorithms,
    refused: PinProbe,
}

impl PinnedCert {
    /// A verifier for the certificate whose SHA-256 is `sha256`, checking handshake signatures
    /// with `algs` (the crypto provider's), and the probe that says what it refused.
    pub fn new(sha256: [u8; 32], algs: WebPkiSupportedAlgorithms) -> (Arc<Self>, PinProbe) {
        let refused = PinProbe::default();
        let v = PinnedCert {
            sha256,
            algs,
            refused: refused.clone(),
        };
        (Arc::new(v), refused)
    }
}

/// What a [`PinnedCert`] refused: the SHA-256 of the certificate the server presented when it
/// did not match, so an error can say `expected …, got …` instead of rustls' generic alert.
#[derive(Debug, Clone, Default)]
pub struct PinProbe(Arc<Mutex<Option<[u8; 32]>>>);

impl PinProbe {
    fn record(&self, got: [u8; 32]) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(got);
    }

    /// The refused certificate's hash, if the verifier refused one.
    pub fn refused(&self) -> Option<[u8; 32]> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn verifier(pin: [u8; 32]) -> (Arc<PinnedCert>, PinProbe) {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        PinnedCert::new(pin, algs)
    }

    #[test]
    fn only_the_pinned_certificate_passes_and_a_refusal_names_what_was_presented() {
        let cert = CertificateDer::from(b"not really DER, only hashed".to_vec());
        let pin: [u8; 32] = Sha256::digest(cert.as_ref()).into();
        let name = ServerName::try_from("hush-relay").unwrap();
        let now = UnixTime::now();
        let (ok, probe) = verifier(pin);
        assert!(ok.verify_server_cert(&cert, &[], &name, &[], now).is_ok());
        assert_eq!(probe.refused(), None);
        let mut other = pin;
        other[31] ^= 1;
        let (bad, probe) = verifier(other);
        assert!(bad.verify_server_cert(&cert, &[], &name, &[], now).is_err());
        assert_eq!(probe.refused(), Some(pin));
    }
}
