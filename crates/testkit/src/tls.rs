//! The hostile relay's TLS 1.3 identity (SPEC §6.1): a self-signed certificate whose SHA-256 the
//! clients pin, exactly as they pin the real relay's.

use std::sync::Arc;

use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::error::TestkitError;

/// A self-signed certificate for `hush-relay` / `localhost`, as PEM and DER.
#[derive(Clone)]
pub struct SelfSigned {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key, DER.
    pub key_der: Vec<u8>,
    /// The certificate, PEM (for `hush relay --cert`).
    pub cert_pem: String,
    /// The private key, PEM (for `hush relay --key`).
    pub key_pem: String,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned")
            .field("sha256", &hex::encode(self.sha256()))
            .finish_non_exhaustive()
    }
}

impl SelfSigned {
    /// Generates a fresh certificate and key.
    pub fn generate() -> Result<Self, TestkitError> {
        let names = vec!["hush-relay".to_owned(), "localhost".to_owned()];
        let ck = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TestkitError::Setup(e.to_string()))?;
        Ok(SelfSigned {
            cert_der: ck.cert.der().to_vec(),
            key_der: ck.signing_key.serialize_der(),
            cert_pem: ck.cert.pem(),
            key_pem: ck.signing_key.serialize_pem(),
        })
    }

    /// SHA-256 of the certificate's DER: the pin clients check.
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.cert_der).into()
    }

    /// A quinn server configuration: TLS 1.3 only, ALPN `hush/1`, datagrams on.
    pub(crate) fn server_config(&self) -> Result<quinn::ServerConfig, TestkitError> {
        let setup = |e: &dyn std::fmt::Display| TestkitError::Setup(e.to_string());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = vec![CertificateDer::from(self.cert_der.clone())];
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| setup(&e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| setup(&e))?;
        tls.alpn_protocols = vec![hush_wire::ALPN.to_vec()];
        let quic = QuicServerConfig::try_from(tls).map_err(|e| setup(&e))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
        let mut t = quinn::TransportConfig::default();
        t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(0));
        t.max_concurrent_uni_streams(quinn::VarInt::from_u32(64));
        t.datagram_receive_buffer_size(Some(1 << 20));
        t.datagram_send_buffer_size(1 << 20);
        server.transport_config(Arc::new(t));
        Ok(server)
    }
}

/// A test certificate authority and one end-entity certificate it issued for a DNS name, as a
/// public CA would issue a relay's (issue 12: `--relay-ca` checks the relay's host name).
#[derive(Clone)]
pub struct CaIssued {
    /// The CA certificate, PEM (the client's `--relay-ca` file).
    pub ca_pem: String,
    /// The end-entity certificate for the relay's name, PEM (`hush relay --cert`).
    pub cert_pem: String,
    /// The end-entity private key, PEM (`hush relay --key`).
    pub key_pem: String,
}

impl std::fmt::Debug for CaIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaIssued").finish_non_exhaustive()
    }
}

impl CaIssued {
    /// A fresh CA and an end-entity certificate for `dns_name`, signed by it.
    pub fn generate(dns_name: &str) -> Result<Self, TestkitError> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let setup = |e: rcgen::Error| TestkitError::Setup(e.to_string());
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(setup)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "hush test CA");
        let ca =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(setup)?).map_err(setup)?;
        let key = KeyPair::generate().map_err(setup)?;
        let cert = CertificateParams::new(vec![dns_name.to_owned()])
            .map_err(setup)?
            .signed_by(&key, &ca)
            .map_err(setup)?;
        Ok(CaIssued {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Writes `ca.pem`, `relay.pem` and `relay.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &std::path::Path) -> Result<[std::path::PathBuf; 3], TestkitError> {
        let io = |e: std::io::Error| TestkitError::Setup(e.to_string());
        let paths = [
            dir.join("ca.pem"),
            dir.join("relay.pem"),
            dir.join("relay.key"),
        ];
        for (p, text) in paths
            .iter()
            .zip([&self.ca_pem, &self.cert_pem, &self.key_pem])
        {
            std::fs::write(p, text).map_err(io)?;
        }
        Ok(paths)
    }
}
