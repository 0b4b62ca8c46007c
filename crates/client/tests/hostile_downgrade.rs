//! A relay must not be able to switch a meeting to its own keys (SPEC §12.5): one
//! unauthenticated byte of its `Hello` (the mode) does not decide whether a meeting is end to
//! end encrypted. Each test is an attack by a relay operator who restarts the stock relay with
//! `--mode transport` and the same certificate (so the clients' pin still matches).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use common::*;
use hush_client::{Admit, ClientRole, E2eeStatus, MeetingError, MeetingEvent};
use hush_keyservice::{KeyService, KeyServiceConfig};
use hush_relay::{CertSource, Relay, RelayConfig};
use hush_testkit::meeting::config;

/// A fixed certificate (the testkit's), so a restarted relay keeps the pin.
struct Cert {
    _dir: TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl Cert {
    fn new() -> Self {
        let dir = TempDir::new("downgrade");
        let (cert, key) =
            hush_testkit::write_pem(dir.path(), &hush_testkit::SelfSigned::generate().unwrap())
                .unwrap();
        Cert {
            _dir: dir,
            cert: cert.into(),
            key: key.into(),
        }
    }

    fn config(
        &self,
        listen: std::net::SocketAddr,
        service: Option<Arc<KeyService>>,
    ) -> RelayConfig {
        let mut c = RelayConfig::new(listen);
        c.cert = CertSource::Pem {
            cert: self.cert.clone(),
            key: self.key.clone(),
        };
        if let Some(s) = service {
            c.hook = Some(s);
        }
        c
    }
}

fn ask_host() -> ClientRole {
    ClientRole::Host {
        admit: Admit::Ask,
        admit_connectors: false,
    }
}

#[tokio::test]
async fn hostile_transport_relay_is_refused_before_anything_is_sent() {
    let service = Arc::new(KeyService::new(KeyServiceConfig::default()));
    let relay = TestRelay::start_with(|c| c.hook = Some(service.clone())).await;
    let host_key = hush_client::ephemeral_identity().unwrap().public();
    let mut pinned = relay.config("m", "G", ClientRole::Guest);
    pinned.host_key = Some(host_key);
    for cfg in [
        relay.config("m", "H", ask_host()),
        relay.config("m", "H", host_role()),
        relay.config("m", "G", ClientRole::Guest),
        pinned,
        relay.config("m", "C", ClientRole::Connector),
    ] {
        let err = hush_client::Meeting::join(cfg).await.unwrap_err();
        assert!(
            matches!(err, MeetingError::TransportRefused { relay: r } if r == relay.addr),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "relay {} issues its own keys (transport mode); refusing: pass \
                 --allow-transport to accept a meeting the relay can read",
                relay.addr
            )
        );
    }
    // Nothing joined: the key service never saw a room nor issued a key.
    let st = service.stats();
    assert_eq!((st.rooms, st.issued), (0, 0), "{st:?}");
}

#[tokio::test]
async fn hostile_transport_cannot_go_with_hosting_or_a_pinned_host() {
    let relay = TestRelay::start().await;
    let mut host = relay.config("m", "H", host_role());
    host.allow_transport = true;
    let mut pinned = relay.config("m", "G", ClientRole::Guest);
    pinned.allow_transport = true;
    pinned.host_key = Some(hush_client::ephemeral_identity().unwrap().public());
    for cfg in [host, pinned] {
        let err = hush_client::Meeting::join(cfg).await.unwrap_err();
        assert!(matches!(err, MeetingError::Config(_)), "{err:?}");
    }
}

/// The attack of the issue: an e2ee meeting runs, the operator restarts the relay in transport
/// mode with the same certificate; the clients reconnect on their own. Before SPEC §12.5 they
/// took the relay's keys and still showed `e2ee: on`.
async fn restart_into_transport(guest_allows_transport: bool) {
    let cert = Cert::new();
    let relay = Relay::bind(cert.config("127.0.0.1:0".parse().unwrap(), None))
        .await
        .unwrap();
    let addr = relay.local_addr();
    let pin = relay.cert_sha256();
    let running = relay.spawn();
    let mk = |name: &str, role| config(addr, pin, "dg", name, role);
    let (host, mut hev) = join(mk("H", host_role())).await;
    let mut gcfg = mk("G", ClientRole::Guest);
    gcfg.allow_transport = guest_allows_transport;
    let (guest, mut gev) = join(gcfg).await;
    wait_members(&guest, &mut gev, 2).await;
    wait_members(&host, &mut hev, 2).await;
    assert_eq!(guest.e2ee_status(), Some(E2eeStatus::On));

    running.shutdown().await.unwrap();
    let service = Arc::new(KeyService::new(KeyServiceConfig::default()));
    let running = Relay::bind(cert.config(addr, Some(service.clone())))
        .await
        .unwrap()
        .spawn();
    for (m, ev) in [(&host, &mut hev), (&guest, &mut gev)] {
        let reason = wait_for(ev, |e| match e {
            MeetingEvent::E2ee(s @ E2eeStatus::KeysIssuedByRelay) => {
                panic!("status changed to {s} on a downgrade")
            }
            MeetingEvent::Ended(reason) => Some(reason.to_string()),
            _ => None,
        })
        .await;
        assert_eq!(
            reason,
            format!(
                "relay {addr} now issues its own keys (transport mode) for a meeting that was \
                 end-to-end encrypted; refusing to continue on keys the relay can read"
            )
        );
        m.wait_ready(Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(
            m.send_media(&mut BytesMut::from(&b"secret"[..])).await,
            Err(MeetingError::NotReady)
        ));
        assert_eq!(m.e2ee_status(), Some(E2eeStatus::On));
    }
    let st = service.stats();
    assert_eq!((st.issued, st.opened), (0, 0), "{st:?}");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn hostile_relay_restart_in_transport_mode_ends_an_e2ee_meeting() {
    restart_into_transport(false).await;
}

#[tokio::test]
async fn hostile_relay_restart_in_transport_mode_ends_an_e2ee_meeting_even_when_allowed() {
    restart_into_transport(true).await;
}

/// A guest that opted in to transport mode and later reconnects into an e2ee meeting prints
/// the new status: the status event fires on every change, across reconnects.
#[tokio::test]
async fn hostile_status_is_emitted_on_every_change_across_reconnects() {
    let cert = Cert::new();
    let service = Arc::new(KeyService::new(KeyServiceConfig::default()));
    let relay = Relay::bind(cert.config("127.0.0.1:0".parse().unwrap(), Some(service)))
        .await
        .unwrap();
    let addr = relay.local_addr();
    let pin = relay.cert_sha256();
    let running = relay.spawn();
    let mk = |name: &str, role| config(addr, pin, "st", name, role);
    let mut gcfg = mk("G", ClientRole::Guest);
    gcfg.allow_transport = true;
    let (guest, mut gev) = join(gcfg).await;
    let s = wait_for(&mut gev, |e| match e {
        MeetingEvent::E2ee(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(s, E2eeStatus::KeysIssuedByRelay);
    guest.wait_ready(GUARD).await.unwrap();

    running.shutdown().await.unwrap();
    let running = Relay::bind(cert.config(addr, None)).await.unwrap().spawn();
    let (_host, _hev) = join(mk("H", host_role())).await;
    let s = wait_for(&mut gev, |e| match e {
        MeetingEvent::E2ee(s) => Some(s.clone()),
        MeetingEvent::Ended(reason) => panic!("ended: {reason}"),
        _ => None,
    })
    .await;
    assert_eq!(s, E2eeStatus::On);
    assert_eq!(guest.e2ee_status(), Some(E2eeStatus::On));
    running.shutdown().await.unwrap();
}
