//! How a client trusts the relay (SPEC §6.1, issue 12): a wrong pin is a typed error that says
//! which certificate the relay presented; with `--relay-ca` the relay's certificate must name the
//! server name the client asked for (a CA-issued certificate for a DNS name validates, the fixed
//! `hush-relay` name does not), and a meeting takes that name from its configuration.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hush_client::net::{self, ConnectOptions, NetError, TrustAnchor};
use hush_relay::{CertSource, Relay, RelayConfig};
use hush_testkit::CaIssued;

async fn relay_with(cert: CertSource) -> hush_relay::RunningRelay {
    let mut c = RelayConfig::new("127.0.0.1:0".parse().unwrap());
    c.cert = cert;
    Relay::bind(c).await.unwrap().spawn()
}

#[tokio::test]
async fn a_wrong_pin_names_the_expected_and_the_presented_certificate() {
    let relay = relay_with(CertSource::SelfSigned).await;
    let wrong = [0x5a; 32];
    let e = net::connect(
        relay.addr,
        TrustAnchor::Sha256(wrong),
        ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    match &e {
        NetError::PinMismatch { expected, got } => {
            assert_eq!(*expected, wrong);
            assert_eq!(*got, relay.cert_sha256, "the relay's real certificate");
        }
        other => panic!("expected PinMismatch, got {other:?}"),
    }
    let text = e.to_string();
    assert_eq!(
        text,
        format!(
            "the relay's certificate does not match the pin: expected {}, got {}",
            hex::encode(wrong),
            hex::encode(relay.cert_sha256)
        )
    );
    // The right pin still connects.
    let (conn, _events) = net::connect(
        relay.addr,
        TrustAnchor::Sha256(relay.cert_sha256),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    conn.close().await;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_ca_issued_certificate_validates_for_its_dns_name_only() {
    let dir = TempDir::new("relay-ca");
    let issued = CaIssued::generate("relay.hush.test").unwrap();
    let [ca, cert, key] = issued.write(dir.path()).unwrap();
    let relay = relay_with(CertSource::Pem { cert, key }).await;
    let options = |name: &str| ConnectOptions {
        server_name: name.to_owned(),
        ..ConnectOptions::default()
    };
    let trust = TrustAnchor::CaFile(ca.clone());
    let (conn, _events) = net::connect(relay.addr, trust.clone(), options("relay.hush.test"))
        .await
        .unwrap();
    conn.close().await;
    for wrong in [hush_client::DEFAULT_SERVER_NAME, "other.hush.test"] {
        let e = net::connect(relay.addr, trust.clone(), options(wrong))
            .await
            .unwrap_err();
        assert!(
            matches!(e, NetError::Connect(_)),
            "{wrong}: a name the certificate does not hold is refused: {e}"
        );
        assert!(e.to_string().contains("certificate"), "{e}");
    }
    // A CA the certificate does not chain to is refused too.
    let other = CaIssued::generate("relay.hush.test").unwrap();
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let [other_ca, ..] = other.write(&other_dir).unwrap();
    let e = net::connect(
        relay.addr,
        TrustAnchor::CaFile(other_ca),
        options("relay.hush.test"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, NetError::Connect(_)), "{e}");

    // A meeting checks the name its configuration gives for the relay's address.
    let mut cfg = hush_client::MeetingConfig::new(relay.addr, trust.clone(), "ca", "G").unwrap();
    assert!(
        hush_client::Meeting::join(cfg.clone()).await.is_err(),
        "the default name `hush-relay` is not in a CA-issued certificate"
    );
    cfg.server_names
        .insert(relay.addr, "relay.hush.test".to_owned());
    let (meeting, _ev) = join(cfg).await;
    meeting.leave().await.unwrap();
    relay.shutdown().await.unwrap();
}
