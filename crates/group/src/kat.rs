//! Known-answer vectors for SPEC §8-§10, generated and verified by the same code.
//!
//! [`generate`] builds the vectors from fixed inputs; [`verify`] recomputes every one of them and
//! reports the first mismatch. `tests/data/group_vectors.json` is the committed copy; the test
//! `kat` checks it, and `HUSH_REGENERATE_VECTORS=1 cargo test -p hush-group --test kat`
//! rewrites it. Epoch-key vectors contain HPKE ciphertexts, which are randomized: they are
//! verified by opening them with the recipient's private key, not by byte equality.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::MeetingId;
use crate::code::{roster_hash, security_code};
use crate::host::{Draft, Entry, build_roster, wrap_epoch_key};
use crate::identity::Identity;
use crate::kem::{HpkeKeyPair, KemId};
use crate::message::{Message, Role};
use crate::names::epoch_key_info;
use crate::schedule::{EpochSecret, kid};

/// All vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vectors {
    /// Epoch secret → sender base keys and KIDs (SPEC §9).
    pub key_schedule: Vec<KeyScheduleVector>,
    /// Roster hash and epoch → security code (SPEC §10).
    pub security_code: Vec<CodeVector>,
    /// Full signed rosters from fixed keys (SPEC §8.4).
    pub roster: Vec<RosterVector>,
    /// Wrapped epoch secrets (SPEC §8.6).
    pub epoch_key: Vec<EpochKeyVector>,
}

/// One sender's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderVector {
    /// Roster index.
    pub index: u16,
    /// KID.
    pub kid: u64,
    /// Base key, hex.
    pub base_key: String,
}

/// Key schedule of one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyScheduleVector {
    /// Meeting id, hex.
    pub meeting_id: String,
    /// Epoch.
    pub epoch: u64,
    /// Cipher suite id.
    pub suite: u16,
    /// Epoch secret, hex.
    pub epoch_secret: String,
    /// Names key, hex.
    pub names_key: String,
    /// Sender keys.
    pub senders: Vec<SenderVector>,
}

/// A security code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeVector {
    /// Roster hash, hex.
    pub roster_hash: String,
    /// Epoch.
    pub epoch: u64,
    /// Expected code.
    pub code: String,
}

/// One roster member's fixed inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterMemberVector {
    /// Index.
    pub index: u16,
    /// Relay id.
    pub relay_id: u64,
    /// Role byte.
    pub role: u8,
    /// Ed25519 seed, hex.
    pub identity_secret: String,
    /// HPKE private key, hex.
    pub hpke_private: String,
    /// Display name.
    pub name: String,
}

/// A full signed roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterVector {
    /// Room name.
    pub room: String,
    /// Meeting id, hex.
    pub meeting_id: String,
    /// Epoch.
    pub epoch: u64,
    /// Suite.
    pub suite: u16,
    /// KEM id.
    pub kem: u16,
    /// Lock bit.
    pub locked: bool,
    /// Epoch secret, hex.
    pub epoch_secret: String,
    /// Members; the first is the host.
    pub members: Vec<RosterMemberVector>,
    /// Expected message, hex.
    pub roster: String,
    /// Expected roster hash, hex.
    pub roster_hash: String,
    /// Expected security code.
    pub security_code: String,
}

/// A wrapped epoch secret for the member at `recipient` of `roster[roster_index]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochKeyVector {
    /// Which roster vector this key belongs to.
    pub roster_index: usize,
    /// Recipient's member position in that vector.
    pub recipient: usize,
    /// Expected info string, hex.
    pub info: String,
    /// The message, hex.
    pub message: String,
}

const ROOM: &str = "kat-room";

fn fixed(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn schedule_vector(
    meeting: [u8; 16],
    epoch: u64,
    suite: u16,
    secret: [u8; 32],
    n: u16,
) -> KeyScheduleVector {
    let s = EpochSecret::from_bytes(secret);
    let m = MeetingId(meeting);
    KeyScheduleVector {
        meeting_id: hex::encode(meeting),
        epoch,
        suite,
        epoch_secret: hex::encode(secret),
        names_key: hex::encode(*s.names_key(&m, epoch)),
        senders: (0..n)
            .map(|i| {
                let k = s
                    .sender(&m, epoch, i, suite)
                    .unwrap_or_else(|_| unreachable_sender());
                SenderVector {
                    index: i,
                    kid: k.kid,
                    base_key: hex::encode(*k.base_key),
                }
            })
            .collect(),
    }
}

fn unreachable_sender() -> crate::schedule::SenderSecret {
    crate::schedule::SenderSecret {
        kid: u64::MAX,
        suite: 0,
        base_key: zeroize::Zeroizing::new([0; 32]),
    }
}

fn roster_inputs() -> Vec<(KemId, u64, bool, Vec<RosterMemberVector>)> {
    let member = |index: u16, role: Role, seed: u8, name: &str| RosterMemberVector {
        index,
        relay_id: 1000 + u64::from(index),
        role: role.to_u8(),
        identity_secret: hex::encode(fixed(seed)),
        hpke_private: hex::encode(fixed(seed.wrapping_add(0x40))),
        name: name.to_owned(),
    };
    vec![
        (
            KemId::X25519,
            1,
            false,
            vec![member(0, Role::Host, 0x11, "Host")],
        ),
        (
            KemId::X25519,
            7,
            true,
            vec![
                member(0, Role::Host, 0x11, "Host"),
                member(1, Role::Participant, 0x22, "Alice"),
                member(3, Role::Connector, 0x33, "Phone bridge"),
            ],
        ),
        (
            KemId::XWing,
            2,
            false,
            vec![
                member(0, Role::Host, 0x11, "Host"),
                member(1, Role::Participant, 0x22, "Ålice ✓"),
            ],
        ),
    ]
}

fn hex32(s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("bad hex {s:?}: {e}"))?;
    Ok(out)
}

fn build(v: &RosterVector) -> Result<(Vec<u8>, [u8; 32]), String> {
    let kem = KemId::from_u16(v.kem).map_err(|e| e.to_string())?;
    let host = Identity::from_secret_bytes(&hex32(&v.members[0].identity_secret)?);
    let mut entries = Vec::new();
    for m in &v.members {
        let id = Identity::from_secret_bytes(&hex32(&m.identity_secret)?);
        let hpke = HpkeKeyPair::from_private_bytes(kem, &hex32(&m.hpke_private)?)
            .map_err(|e| e.to_string())?;
        entries.push(Entry {
            index: m.index,
            relay_id: m.relay_id,
            role: Role::from_u8(m.role).map_err(|e| e.to_string())?,
            identity: id.public(),
            hpke_public: hpke.public_key().to_vec(),
            name: m.name.clone(),
            joined_epoch: 0,
        });
    }
    let mut meeting = [0u8; 16];
    hex::decode_to_slice(&v.meeting_id, &mut meeting).map_err(|e| e.to_string())?;
    let draft = Draft {
        meeting: MeetingId(meeting),
        epoch: v.epoch,
        suite: v.suite,
        kem,
        locked: v.locked,
        members: &entries,
    };
    let secret = EpochSecret::from_bytes(hex32(&v.epoch_secret)?);
    let signed = build_roster(&host, &v.room, &draft, &secret).map_err(|e| e.to_string())?;
    Ok((signed.to_bytes(), roster_hash(&signed.body)))
}

/// Generates the vectors; `rng` only feeds the HPKE encapsulations of the epoch-key vectors.
pub fn generate<R: CryptoRng>(rng: &mut R) -> Result<Vectors, String> {
    let key_schedule = vec![
        schedule_vector([0; 16], 1, 0x0004, fixed(0), 3),
        schedule_vector([0xa5; 16], 2, 0x0004, fixed(0x42), 4),
        schedule_vector(
            *b"hush-kat-meeting",
            crate::schedule::MAX_EPOCH,
            0x0002,
            fixed(0xff),
            2,
        ),
    ];
    let codes = [(fixed(0), 1u64), (fixed(0x01), 1), (fixed(0x01), 2)]
        .into_iter()
        .map(|(h, e)| CodeVector {
            roster_hash: hex::encode(h),
            epoch: e,
            code: crate::code::security_code(&h, e),
        })
        .collect();
    let mut roster = Vec::new();
    let mut epoch_key = Vec::new();
    for (i, (kem, epoch, locked, members)) in roster_inputs().into_iter().enumerate() {
        let mut v = RosterVector {
            room: ROOM.to_owned(),
            meeting_id: hex::encode([i as u8 + 1; 16]),
            epoch,
            suite: 0x0004,
            kem: kem.to_u16(),
            locked,
            epoch_secret: hex::encode(fixed(0x70 + i as u8)),
            members,
            roster: String::new(),
            roster_hash: String::new(),
            security_code: String::new(),
        };
        let (bytes, hash) = build(&v)?;
        v.roster = hex::encode(&bytes);
        v.roster_hash = hex::encode(hash);
        v.security_code = security_code(&hash, epoch);
        let recipient = v.members.len() - 1;
        let r = &v.members[recipient];
        let host = Identity::from_secret_bytes(&hex32(&v.members[0].identity_secret)?);
        let rid = Identity::from_secret_bytes(&hex32(&r.identity_secret)?).public();
        let hpke = HpkeKeyPair::from_private_bytes(kem, &hex32(&r.hpke_private)?)
            .map_err(|e| e.to_string())?;
        let meeting = MeetingId([i as u8 + 1; 16]);
        let key = wrap_epoch_key(
            &host,
            ROOM,
            meeting,
            epoch,
            kem,
            r.index,
            rid,
            hpke.public_key(),
            hash,
            &EpochSecret::from_bytes(hex32(&v.epoch_secret)?),
            rng,
        )
        .map_err(|e| e.to_string())?;
        epoch_key.push(EpochKeyVector {
            roster_index: i,
            recipient,
            info: hex::encode(epoch_key_info(&meeting, epoch, r.index, &rid, &hash)),
            message: hex::encode(key.to_bytes()),
        });
        roster.push(v);
    }
    Ok(Vectors {
        key_schedule,
        security_code: codes,
        roster,
        epoch_key,
    })
}

/// Recomputes every vector; `Err` names the first mismatch.
pub fn verify(v: &Vectors) -> Result<(), String> {
    for k in &v.key_schedule {
        let mut meeting = [0u8; 16];
        hex::decode_to_slice(&k.meeting_id, &mut meeting).map_err(|e| e.to_string())?;
        let n = u16::try_from(k.senders.len()).map_err(|e| e.to_string())?;
        let again = schedule_vector(meeting, k.epoch, k.suite, hex32(&k.epoch_secret)?, n);
        if &again != k {
            return Err(format!("key schedule mismatch for epoch {}", k.epoch));
        }
        for s in &k.senders {
            if s.kid != kid(k.epoch, s.index) {
                return Err(format!("kid mismatch {}", s.kid));
            }
        }
    }
    for c in &v.security_code {
        if security_code(&hex32(&c.roster_hash)?, c.epoch) != c.code {
            return Err(format!("security code mismatch for {}", c.roster_hash));
        }
    }
    for r in &v.roster {
        let (bytes, hash) = build(r)?;
        if hex::encode(&bytes) != r.roster || hex::encode(hash) != r.roster_hash {
            return Err(format!("roster mismatch for epoch {}", r.epoch));
        }
        if security_code(&hash, r.epoch) != r.security_code {
            return Err(format!(
                "roster security code mismatch for epoch {}",
                r.epoch
            ));
        }
        // The roster also decodes and verifies under the host key.
        let host = Identity::from_secret_bytes(&hex32(&r.members[0].identity_secret)?).public();
        match Message::decode(&bytes) {
            Ok(Message::Roster(s)) => s.verify(&r.room, &host).map_err(|e| e.to_string())?,
            _ => return Err("roster does not decode".into()),
        }
    }
    for k in &v.epoch_key {
        let r = v.roster.get(k.roster_index).ok_or("bad roster_index")?;
        let m = r.members.get(k.recipient).ok_or("bad recipient")?;
        let kem = KemId::from_u16(r.kem).map_err(|e| e.to_string())?;
        let hpke = HpkeKeyPair::from_private_bytes(kem, &hex32(&m.hpke_private)?)
            .map_err(|e| e.to_string())?;
        let host = Identity::from_secret_bytes(&hex32(&r.members[0].identity_secret)?).public();
        let bytes = hex::decode(&k.message).map_err(|e| e.to_string())?;
        let Ok(Message::EpochKey(signed)) = Message::decode(&bytes) else {
            return Err("epoch key does not decode".into());
        };
        signed.verify(&r.room, &host).map_err(|e| e.to_string())?;
        let c = &signed.content;
        if hex::encode(c.roster_hash) != r.roster_hash {
            return Err("epoch key roster hash mismatch".into());
        }
        let info = epoch_key_info(
            &c.meeting,
            c.epoch,
            c.recipient_index,
            &c.recipient,
            &c.roster_hash,
        );
        if hex::encode(&info) != k.info {
            return Err("epoch key info mismatch".into());
        }
        let secret = hpke
            .open(&c.enc, &info, &c.ciphertext)
            .map_err(|e| e.to_string())?;
        if hex::encode(secret.as_slice()) != r.epoch_secret {
            return Err("epoch key does not open to the epoch secret".into());
        }
    }
    Ok(())
}
