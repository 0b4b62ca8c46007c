//! Hostile peers against the untrusted-input rules of SPEC §8.3 and §8.5 (issue 10): display
//! names with terminal escapes or bidi controls, and HPKE public keys nobody can seal to
//! (small-order X25519 points, X-Wing keys failing the ML-KEM modulus check). Every test plays
//! the attack and asserts the exact typed error.
#![allow(clippy::unwrap_used)]

mod common;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use common::*;
use hpke::{Deserializable, Kem, OpModeS, Serializable};
use hush_group::message::sign;
use hush_group::names::{hpke_key_hash, join_name_info, name_commit, welcome_info};
use hush_group::*;

fn decode_roster(bytes: &[u8]) -> Signed<Roster> {
    match Message::decode(bytes).unwrap() {
        Message::Roster(r) => r,
        other => panic!("not a roster: {other:?}"),
    }
}

fn decode_join(bytes: &[u8]) -> Signed<JoinRequest> {
    match Message::decode(bytes).unwrap() {
        Message::JoinRequest(r) => r,
        other => panic!("not a join request: {other:?}"),
    }
}

/// `u8 len || name || zeros` to the next multiple of 32, without the character rule: what a
/// hostile implementation sends.
fn raw_pad(name: &str) -> Vec<u8> {
    let b = name.as_bytes();
    let mut out = vec![0u8; (1 + b.len()).div_ceil(32) * 32];
    out[0] = b.len() as u8;
    out[1..=b.len()].copy_from_slice(b);
    out
}

/// HPKE base-mode seal (X25519, HKDF-SHA256, ChaCha20-Poly1305) straight from the hpke crate,
/// bypassing every hush check.
fn hpke_seal(
    pk: &[u8],
    info: &[u8],
    pt: &[u8],
    rng: &mut rand::rngs::StdRng,
) -> (Vec<u8>, Vec<u8>) {
    type K = hpke::kem::X25519HkdfSha256;
    let pk = <K as Kem>::PublicKey::from_bytes(pk).unwrap();
    let (enc, ct) = hpke::single_shot_seal_with_rng::<
        hpke::aead::ChaCha20Poly1305,
        hpke::kdf::HkdfSha256,
        K,
    >(&OpModeS::Base, &pk, info, pt, &[], rng)
    .unwrap();
    (enc.to_bytes().to_vec(), ct)
}

const SALT: [u8; 16] = [0x5a; 16];

/// A roster name sealed as SPEC §9.4 says (`salt || padded name`), without the character rule.
fn raw_roster_name(
    names_key: &[u8; 32],
    index: u16,
    identity: &IdentityKey,
    name: &str,
) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    nonce[10..].copy_from_slice(&index.to_be_bytes());
    ChaCha20Poly1305::new(&Key::from(*names_key))
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &[&SALT[..], &raw_pad(name)].concat(),
                aad: &identity.0,
            },
        )
        .unwrap()
}

/// Every small-order X25519 encoding, with bit 255 clear and set.
fn small_order_keys() -> Vec<[u8; 32]> {
    X25519_SMALL_ORDER
        .iter()
        .flat_map(|p| {
            let mut high = *p;
            high[31] |= 0x80;
            [*p, high]
        })
        .collect()
}

/// A joiner that holds the host's roster and has made an honest join request.
fn joiner(m: &mut Meeting, seed: u8) -> (Identity, Vec<u8>) {
    let id = identity(seed);
    let mut j = Member::new(id.clone(), "Alice", ROOM, None, MemberConfig::default()).unwrap();
    j.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
    let req = j.join_request(&mut m.rng).unwrap();
    (id, req)
}

/// The joiner's request with its content edited and signed again by the joiner itself (the
/// joiner is the attacker: its signature is valid).
fn resign_join(req: &[u8], id: &Identity, edit: impl FnOnce(&mut JoinRequest)) -> Vec<u8> {
    let mut content = decode_join(req).content;
    edit(&mut content);
    let body = content.encode_body();
    sign(content, body, id, ROOM).to_bytes()
}

#[test]
fn hostile_joiner_named_with_terminal_escape_cannot_start() {
    assert_eq!(
        Member::new(
            identity(2),
            "alice\x1b[8m",
            ROOM,
            None,
            MemberConfig::default()
        )
        .err(),
        Some(GroupError::BadDisplayName {
            reason: NameError::Control('\x1b')
        })
    );
    let mut rng = rng(1);
    assert_eq!(
        Host::new(
            identity(1),
            "Hanna\u{202e}tsoH",
            ROOM,
            HOST_RELAY,
            HostConfig::default(),
            &mut rng,
            0
        )
        .err(),
        Some(GroupError::BadDisplayName {
            reason: NameError::Bidi('\u{202e}')
        })
    );
    assert_eq!(
        names::pad_name("zero\u{200b}width").err(),
        Some(GroupError::BadDisplayName {
            reason: NameError::Invisible('\u{200b}')
        })
    );
}

#[test]
fn hostile_join_request_named_with_terminal_escape_is_refused_by_host() {
    let mut m = Meeting::new(KemId::X25519);
    let (id, honest) = joiner(&mut m, 2);
    let host_roster = decode_roster(m.host.roster_bytes()).content;
    let host_pk = host_roster.host_hpke.clone();
    let meeting = m.host.meeting_id();
    for (name, reason) in [
        ("alice\x1b[8m", NameError::Control('\x1b')),
        ("alice\u{202e}", NameError::Bidi('\u{202e}')),
        ("al\u{2066}ice", NameError::Bidi('\u{2066}')),
        ("alice\u{feff}", NameError::Invisible('\u{feff}')),
        ("alice\u{9b}31m", NameError::Control('\u{9b}')),
    ] {
        let (enc, ct) = hpke_seal(
            &host_pk,
            &join_name_info(&meeting, &id.public()),
            &raw_pad(name),
            &mut m.rng,
        );
        let hostile = resign_join(&honest, &id, |r| {
            r.name_enc = enc;
            r.name_ct = ct;
        });
        let refused = Err(GroupError::BadDisplayName { reason });
        assert_eq!(
            m.host.handle_join_request(300, &hostile).map(|_| ()),
            refused
        );
        assert_eq!(
            m.host.handle(300, &hostile, &mut m.rng, 0).map(|_| ()),
            refused
        );
    }
    // Nothing of the refused requests was kept: the honest request with the same nonce is
    // still fresh, and it is the only one that reaches the waiting room.
    let pending = m.host.handle_join_request(300, &honest).unwrap();
    assert_eq!(pending.display_name(), "Alice");
}

/// A hostile (or broken) host admits a joiner with a forged epoch: the full roster of the
/// next epoch, with the joiner and an extra entry named `extra_name`, and the joiner's
/// welcome (the honest [`Host`] refuses such names itself). Returns the joiner, the roster and
/// the welcome.
fn forged_welcome(m: &mut Meeting, seed: u8, extra_name: &str) -> (Member, Vec<u8>, Vec<u8>) {
    let id = identity(seed);
    let mut joiner = Member::new(id.clone(), "Carol", ROOM, None, MemberConfig::default()).unwrap();
    joiner.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
    let req = decode_join(&joiner.join_request(&mut m.rng).unwrap()).content;
    let mut content = decode_roster(m.host.roster_bytes()).content;
    let epoch = content.epoch + 1;
    content.epoch = epoch;
    let entry = |index: u16, id: IdentityKey, hpke: &[u8], name: &str| RosterEntry {
        index,
        relay_id: 500 + u64::from(index),
        role: Role::Participant,
        identity: id,
        hpke_hash: hpke_key_hash(hpke),
        name_commit: name_commit(index, &id, &SALT, &raw_pad(name)),
    };
    let extra = HpkeKeyPair::generate(KemId::X25519, &mut m.rng);
    let names = ["Carol", extra_name];
    content
        .members
        .push(entry(5, req.identity, &req.hpke_public, names[0]));
    content
        .members
        .push(entry(6, identity(9).public(), extra.public_key(), names[1]));
    // The forger is the host: it commits to its own name with a salt of its choice.
    let host_id = content.host;
    content.members[0].name_commit = name_commit(0, &host_id, &SALT, &raw_pad("Hanna Host"));
    content.members.retain(|e| e.index == 0 || e.index >= 5);
    let secret = [0x55u8; 32];
    let names_key = EpochSecret::from_bytes(secret).names_key(&content.meeting, epoch);
    let body = content.encode_body();
    let hash = roster_hash(&body);
    let roster = sign(content.clone(), body, &m.host_identity, ROOM).to_bytes();
    let mut sealed = Vec::new();
    for e in &content.members {
        let name = match e.index {
            5 => names[0],
            6 => names[1],
            _ => "Hanna Host",
        };
        sealed.push(SealedName {
            index: e.index,
            ciphertext: raw_roster_name(&names_key, e.index, &e.identity, name),
        });
    }
    let info = welcome_info(&content.meeting, epoch, 5, &req.identity, &hash);
    let plain = [[0x77u8; 32], secret].concat();
    let (enc, ciphertext) = hpke_seal(&req.hpke_public, &info, &plain, &mut m.rng);
    let w = Welcome {
        meeting: content.meeting,
        epoch,
        recipient_index: 5,
        recipient: req.identity,
        roster_hash: hash,
        enc,
        ciphertext,
        names: sealed,
    };
    let body = w.encode_body();
    let welcome = sign(w, body, &m.host_identity, ROOM).to_bytes();
    (joiner, roster, welcome)
}

#[test]
fn hostile_roster_entry_name_with_bidi_override_is_refused_by_members() {
    let mut m = Meeting::new(KemId::X25519);
    // Control: the forging itself is sound, a clean extra name is accepted.
    let (mut carol, roster, welcome) = forged_welcome(&mut m, 4, "Mallory");
    assert_eq!(carol.handle(HOST_RELAY, &roster, 0), Ok(vec![]));
    let ev = carol.handle(HOST_RELAY, &welcome, 0).unwrap();
    assert!(ev.iter().any(|e| matches!(e, Event::EpochReady { .. })));
    assert_eq!(carol.epoch(), Some(m.host.epoch() + 1));
    // The attack: "evil<RLO>exe.doc" would display as "evilcod.exe".
    let (mut dave, roster, welcome) = forged_welcome(&mut m, 5, "evil\u{202e}cod.exe");
    assert_eq!(dave.handle(HOST_RELAY, &roster, 0), Ok(vec![]));
    assert_eq!(
        dave.handle(HOST_RELAY, &welcome, 0),
        Err(GroupError::BadDisplayName {
            reason: NameError::Bidi('\u{202e}')
        })
    );
    // Refused whole: no keys of that epoch, no security code.
    assert_eq!(dave.epoch(), None);
    assert_eq!(dave.security_code(), None);
    assert!(!dave.is_joined());
    // A terminal escape in a roster name likewise.
    let (mut erin, roster, welcome) = forged_welcome(&mut m, 6, "x\x1b]0;pwned\x07");
    erin.handle(HOST_RELAY, &roster, 0).unwrap();
    assert_eq!(
        erin.handle(HOST_RELAY, &welcome, 0),
        Err(GroupError::BadDisplayName {
            reason: NameError::Control('\x1b')
        })
    );
    assert_eq!(erin.epoch(), None);
}

#[test]
fn hostile_low_order_x25519_key_in_join_request_is_refused_before_the_waiting_room() {
    let mut m = Meeting::new(KemId::X25519);
    let (id, honest) = joiner(&mut m, 2);
    for bad in small_order_keys() {
        let hostile = resign_join(&honest, &id, |r| r.hpke_public = bad.to_vec());
        assert_eq!(
            m.host.handle_join_request(300, &hostile).map(|_| ()),
            Err(GroupError::InvalidHpkeKey),
            "{}",
            hex::encode(bad)
        );
        assert_eq!(
            m.host.handle(300, &hostile, &mut m.rng, 0).map(|_| ()),
            Err(GroupError::InvalidHpkeKey)
        );
    }
    // Refused before the nonce was recorded and before any decision: the honest request (same
    // nonce) is still admitted, and the meeting keeps rotating (a key nobody can seal to would
    // have made every later epoch fail).
    let pending = m.host.handle_join_request(300, &honest).unwrap();
    let step = m.host.admit(pending, &mut m.rng, 0).unwrap();
    m.deliver(step);
    assert!(m.host.rekey(&mut m.rng, 0).is_ok());
}

#[test]
fn hostile_low_order_x25519_host_key_in_roster_is_refused_by_joiners() {
    let mut m = Meeting::new(KemId::X25519);
    m.join(2, "Alice");
    let current = decode_roster(m.host.roster_bytes()).content;
    for bad in small_order_keys() {
        // The host's HPKE key, at a joiner: it would seal its name to an all-zero DH. (Members'
        // keys are bound by hash only: the host, the only one that seals to them, checks them
        // in the join request, above.)
        let mut content = current.clone();
        content.host_hpke = bad.to_vec();
        content.members[0].hpke_hash = hpke_key_hash(&bad);
        let body = content.encode_body();
        let forged = sign(content, body, &m.host_identity, ROOM).to_bytes();
        let mut fresh =
            Member::new(identity(4), "Carol", ROOM, None, MemberConfig::default()).unwrap();
        assert_eq!(
            fresh.handle(HOST_RELAY, &forged, 0),
            Err(GroupError::InvalidHpkeKey),
            "{}",
            hex::encode(bad)
        );
        assert_eq!(fresh.host(), None, "nothing pinned from a refused roster");
        assert_eq!(fresh.join_request(&mut m.rng), Err(GroupError::NoHostYet));
    }
    // A host key whose hash is not entry 0's is refused too.
    let mut content = current.clone();
    content.host_hpke = HpkeKeyPair::generate(KemId::X25519, &mut m.rng)
        .public_key()
        .to_vec();
    let body = content.encode_body();
    let forged = sign(content, body, &m.host_identity, ROOM).to_bytes();
    let mut fresh = Member::new(identity(4), "Carol", ROOM, None, MemberConfig::default()).unwrap();
    assert_eq!(
        fresh.handle(HOST_RELAY, &forged, 0),
        Err(GroupError::InvalidRoster(
            "entry 0 does not list the host's HPKE key"
        ))
    );
}

#[test]
fn hostile_invalid_xwing_key_in_join_request_and_roster_is_refused() {
    let mut m = Meeting::new(KemId::XWing);
    let (id, honest) = joiner(&mut m, 2);
    let good = decode_join(&honest).content.hpke_public;
    // ML-KEM part: first coefficient 0xfff >= q; X25519 part: a small-order point.
    let mut modulus = good.clone();
    modulus[0] = 0xff;
    modulus[1] |= 0x0f;
    let mut low = good.clone();
    low[XWING_MLKEM_PK_LEN..].copy_from_slice(&X25519_SMALL_ORDER[2]);
    for bad in [&modulus, &low] {
        let hostile = resign_join(&honest, &id, |r| r.hpke_public = bad.clone());
        assert_eq!(
            m.host.handle_join_request(300, &hostile).map(|_| ()),
            Err(GroupError::InvalidHpkeKey)
        );
        let mut content = decode_roster(m.host.roster_bytes()).content;
        content.host_hpke = bad.clone();
        content.members[0].hpke_hash = hpke_key_hash(bad);
        let body = content.encode_body();
        let forged = sign(content, body, &m.host_identity, ROOM).to_bytes();
        let mut fresh =
            Member::new(identity(4), "Carol", ROOM, None, MemberConfig::default()).unwrap();
        assert_eq!(
            fresh.handle(HOST_RELAY, &forged, 0),
            Err(GroupError::InvalidHpkeKey)
        );
    }
    assert!(m.host.handle_join_request(300, &honest).is_ok());
}
