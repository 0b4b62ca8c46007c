//! Transport mode has no roster, so readiness ("keyed, with N others") counts who the relay says
//! is in the room (issue 12, newcomer item 10: `hush join --wait-for 1` waited forever there).
//! The count is bounded whatever a hostile relay announces.
#![allow(clippy::unwrap_used)]

use hush_frame::CipherSuite;
use hush_group::issued::Issued;
use hush_group::{Identity, KemId, MeetingId, Zeroizing};
use hush_session::{ClientRole, KeyUpdate, MAX_TRANSPORT_PEERS, Session, SessionConfig};
use hush_wire::RelayMode;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn session() -> Session {
    let mut rng = StdRng::seed_from_u64(7);
    let cfg = SessionConfig {
        room: "t".to_owned(),
        name: "G".to_owned(),
        identity: Identity::generate(&mut rng),
        role: ClientRole::Guest,
        host_key: None,
        allow_transport: true,
        suite: CipherSuite::ChaCha20Poly1305Sha256,
        kem: KemId::X25519,
        rotation_ms: 300_000,
        grace_ms: 2000,
        host_grace_ms: 60_000,
        max_message: hush_wire::MAX_BLOB_SIZE,
    };
    Session::new(cfg, rng).unwrap()
}

fn issued(epoch: u64) -> Vec<u8> {
    Issued {
        suite: CipherSuite::ChaCha20Poly1305Sha256,
        meeting: MeetingId([3; 16]),
        epoch,
        epoch_secret: Zeroizing::new([9; 32]),
        your_index: 1,
    }
    .encode()
    .to_vec()
}

/// The last readiness the session reported, if any since the last call.
fn ready(s: &mut Session) -> Option<(u64, usize)> {
    let mut last = None;
    while let Some(k) = s.poll_key_update() {
        if let KeyUpdate::Ready { epoch, others } = k {
            last = Some((epoch, others));
        }
    }
    last
}

#[test]
fn transport_readiness_counts_the_relays_participants() {
    let mut s = session();
    s.handle_connected(1, 10, &[10, 11], RelayMode::Transport)
        .unwrap();
    assert_eq!(ready(&mut s), None, "not keyed yet");
    assert!(
        !s.handle_blob(2, 0, &issued(1)),
        "handled here, not a data message"
    );
    assert_eq!(ready(&mut s), Some((1, 1)), "keyed, with the one other");
    s.handle_peer_joined(12);
    assert_eq!(ready(&mut s), Some((1, 2)));
    s.handle_peer_joined(12);
    assert_eq!(ready(&mut s), Some((1, 2)), "an id counts once");
    s.handle_peer_left(3, 11);
    s.handle_peer_left(3, 99);
    assert_eq!(ready(&mut s), Some((1, 1)), "an unknown id changes nothing");
}

#[test]
fn a_relay_announcing_endless_peers_fills_a_bounded_set() {
    let mut s = session();
    s.handle_connected(1, 1, &[1], RelayMode::Transport)
        .unwrap();
    assert!(
        !s.handle_blob(2, 0, &issued(1)),
        "handled here, not a data message"
    );
    for id in 2..(MAX_TRANSPORT_PEERS as u64 + 500) {
        s.handle_peer_joined(id);
    }
    assert_eq!(ready(&mut s), Some((1, MAX_TRANSPORT_PEERS)));
}
