//! Known-answer vectors for SPEC §8-§10, generated and verified by the same code.
//!
//! [`generate`] builds the vectors from fixed inputs; [`verify`] recomputes every one of them from
//! its inputs and reports the first mismatch. The committed copy is the top-level
//! `vectors/group.json` (SPEC §9.6, described in `vectors/README.md`); the test `kat` checks it,
//! and `HUSH_REGENERATE_VECTORS=1 cargo test -p hush-group --test kat` rewrites it. Vectors that
//! hold HPKE ciphertexts (epoch keys, join-request names) are randomized: they are verified by
//! opening them with the recipient's private key, not by byte equality.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::MeetingId;
use crate::code::{roster_hash, security_code};
use crate::error::{GroupError, NameError};
use crate::host::{Entry, diff, sign_roster, welcome};
use crate::identity::{Identity, IdentityKey};
use crate::kem::{self, HpkeKeyPair, KemId, X25519_SMALL_ORDER, XWING_MLKEM_PK_LEN};
use crate::message::{Commit, EpochKey, JoinRequest, Message, Role, Roster, sign};
use crate::names::{
    check_display_name, escape_for_terminal, join_name_info, open_roster_name, pad_name,
    unpad_name, welcome_info,
};
use crate::schedule::{EpochSecret, WrapKey, kid};

/// All vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vectors {
    /// Epoch secret → sender base keys and KIDs (SPEC §9).
    pub key_schedule: Vec<KeyScheduleVector>,
    /// Roster hash and epoch → security code (SPEC §10).
    pub security_code: Vec<CodeVector>,
    /// Full signed rosters from fixed keys (SPEC §8.4).
    pub roster: Vec<RosterVector>,
    /// Epoch secrets wrapped under a member's wrap key (SPEC §8.6).
    pub epoch_key: Vec<EpochKeyVector>,
    /// Welcomes of new members (SPEC §8.6).
    pub welcome: Vec<WelcomeVector>,
    /// Commits from one roster vector to the next epoch (SPEC §8.6).
    pub commit: Vec<CommitVector>,
    /// Display name → padded plaintext (SPEC §8.5).
    pub name_padding: Vec<NamePaddingVector>,
    /// Join requests whose name opens with the host's HPKE key (SPEC §8.5).
    pub join_name: Vec<JoinNameVector>,
    /// HPKE public keys every implementation must refuse (SPEC §8.3).
    pub invalid_hpke_pk: Vec<InvalidKeyVector>,
    /// Display names, accepted or refused, and their escaped form (SPEC §8.5, §8.10).
    pub display_name: Vec<DisplayNameVector>,
    /// Identity fingerprints (SPEC §8.10).
    pub fingerprint: Vec<FingerprintVector>,
}

/// A display name and its padded plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamePaddingVector {
    /// The name.
    pub name: String,
    /// `u8 len || name || zeros`, hex.
    pub padded: String,
}

/// A join request by `roster[roster_index].members[joiner]` to that roster's host (member 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinNameVector {
    /// Which roster vector: its meeting, room, KEM and host HPKE key.
    pub roster_index: usize,
    /// The joiner's member position in that vector (identity, HPKE key, role, name).
    pub joiner: usize,
    /// Expected HPKE `info` of the name, hex.
    pub info: String,
    /// Expected padded name (the HPKE plaintext), hex.
    pub padded_name: String,
    /// The signed join request, hex.
    pub message: String,
}

/// A public key that must be refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidKeyVector {
    /// KEM id.
    pub kem: u16,
    /// The public key, hex.
    pub public_key: String,
    /// Why it is invalid (informative).
    pub reason: String,
}

/// A display name and what the rule of SPEC §8.5 makes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayNameVector {
    /// The name's UTF-8 bytes, hex (so this file holds no raw control or bidi character).
    pub name_utf8: String,
    /// `null` if accepted; else `"<class> U+XXXX"` for the first forbidden character, class
    /// one of `control`, `bidi`, `invisible`, `separator`.
    pub refused: Option<String>,
    /// The name as `escape_for_terminal` renders it (SPEC §8.10).
    pub escaped: String,
}

/// An identity and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintVector {
    /// Ed25519 seed, hex.
    pub identity_secret: String,
    /// Ed25519 public key (the identity), hex.
    pub identity_pk: String,
    /// Its fingerprint.
    pub fingerprint: String,
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
    /// The salt of the name's commitment, hex (16 bytes).
    pub name_salt: String,
    /// The member's wrap key, hex.
    pub wrap_key: String,
    /// Expected identity key (from `identity_secret`), hex.
    pub identity_pk: String,
    /// Expected HPKE public key (from `hpke_private`), hex.
    pub hpke_public: String,
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
    /// Expected names key of the epoch, hex.
    pub names_key: String,
    /// Expected sender keys of the listed members.
    pub senders: Vec<SenderVector>,
    /// Members; the first is the host.
    pub members: Vec<RosterMemberVector>,
    /// Expected message, hex.
    pub roster: String,
    /// Expected roster hash, hex.
    pub roster_hash: String,
    /// Expected security code.
    pub security_code: String,
    /// Expected sealed names (salt and padded name under the names key), in member order, hex.
    pub names: Vec<String>,
}

/// The epoch secret of `roster[roster_index]` wrapped to its member at `recipient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochKeyVector {
    /// Which roster vector this key belongs to.
    pub roster_index: usize,
    /// Recipient's member position in that vector.
    pub recipient: usize,
    /// Expected message, hex (deterministic).
    pub message: String,
}

/// A welcome of the member at `recipient` of `roster[roster_index]` (randomized HPKE: verified
/// by opening it with the recipient's key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeVector {
    /// Which roster vector.
    pub roster_index: usize,
    /// Recipient's member position in that vector.
    pub recipient: usize,
    /// Expected HPKE info, hex.
    pub info: String,
    /// The message, hex.
    pub message: String,
}

/// The commit that takes `roster[from_roster]` to its next epoch: `removed` indices leave,
/// `added` members join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitVector {
    /// Which roster vector it starts from.
    pub from_roster: usize,
    /// Indices removed.
    pub removed: Vec<u16>,
    /// Members added.
    pub added: Vec<RosterMemberVector>,
    /// True if the secret is fresh (`epoch_secret` is then an input), false if ratcheted
    /// (`epoch_secret` is then the expected ratchet of the previous epoch's).
    pub fresh: bool,
    /// The new epoch's secret, hex.
    pub epoch_secret: String,
    /// Expected hash of the new roster, hex.
    pub roster_hash: String,
    /// Expected security code of the new epoch.
    pub security_code: String,
    /// Expected message, hex (deterministic).
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
        name_salt: hex::encode([seed.wrapping_add(0x80); 16]),
        wrap_key: hex::encode(fixed(seed.wrapping_add(0xc0))),
        identity_pk: String::new(),
        hpke_public: String::new(),
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

fn entry_of(kem: KemId, m: &RosterMemberVector) -> Result<Entry, String> {
    let (id, hpke) = member_keys(kem, m)?;
    let mut salt = [0u8; 16];
    hex::decode_to_slice(&m.name_salt, &mut salt).map_err(|e| e.to_string())?;
    Entry::with_secrets(
        m.index,
        m.relay_id,
        Role::from_u8(m.role).map_err(|e| e.to_string())?,
        id.public(),
        hpke.public_key().to_vec(),
        m.name.clone(),
        0,
        WrapKey::new(hex32(&m.wrap_key)?),
        salt,
    )
    .map_err(|e| e.to_string())
}

fn host_of(v: &RosterVector) -> Result<(Identity, HpkeKeyPair), String> {
    let kem = KemId::from_u16(v.kem).map_err(|e| e.to_string())?;
    member_keys(kem, v.members.first().ok_or("no host")?)
}

/// The roster of `members` in the meeting of `v` at `epoch`.
fn roster_of(v: &RosterVector, epoch: u64, members: &[Entry]) -> Result<Roster, String> {
    let (host, host_hpke) = host_of(v)?;
    Ok(Roster {
        meeting: meeting_of(v)?,
        epoch,
        suite: v.suite,
        kem: KemId::from_u16(v.kem).map_err(|e| e.to_string())?,
        locked: v.locked,
        host: host.public(),
        host_hpke: host_hpke.public_key().to_vec(),
        members: members.iter().map(|e| e.listed.clone()).collect(),
    })
}

fn entries_of(v: &RosterVector) -> Result<Vec<Entry>, String> {
    let kem = KemId::from_u16(v.kem).map_err(|e| e.to_string())?;
    v.members.iter().map(|m| entry_of(kem, m)).collect()
}

/// A roster message, its hash and its sealed names (hex).
type Built = (Vec<u8>, [u8; 32], Vec<String>);

/// The signed roster message, its hash and the sealed names of a roster vector.
fn build(v: &RosterVector) -> Result<Built, String> {
    let (host, _) = host_of(v)?;
    let entries = entries_of(v)?;
    let signed = sign_roster(&host, &v.room, roster_of(v, v.epoch, &entries)?);
    let secret = EpochSecret::from_bytes(hex32(&v.epoch_secret)?);
    let names_key = secret.names_key(&meeting_of(v)?, v.epoch);
    let names = entries
        .iter()
        .map(|e| e.sealed_name(&names_key).map(|n| hex::encode(n.ciphertext)))
        .collect::<Result<_, _>>()
        .map_err(|e: GroupError| e.to_string())?;
    Ok((signed.to_bytes(), roster_hash(&signed.body), names))
}

/// The commit of `c` from `roster[c.from_roster]`, and the new roster's hash and secret.
fn build_commit(v: &Vectors, c: &CommitVector) -> Result<(Vec<u8>, [u8; 32], EpochSecret), String> {
    let r = v.roster.get(c.from_roster).ok_or("bad from_roster")?;
    let kem = KemId::from_u16(r.kem).map_err(|e| e.to_string())?;
    let (host, _) = host_of(r)?;
    let prev_entries = entries_of(r)?;
    let prev = roster_of(r, r.epoch, &prev_entries)?;
    let prev_hash = roster_hash(&prev.encode_body());
    let mut next: Vec<Entry> = prev_entries
        .into_iter()
        .filter(|e| !c.removed.contains(&e.index))
        .collect();
    for m in &c.added {
        next.push(entry_of(kem, m)?);
    }
    next.sort_by_key(|e| e.index);
    let epoch = r.epoch + 1;
    let roster = roster_of(r, epoch, &next)?;
    let hash = roster_hash(&roster.encode_body());
    let meeting = meeting_of(r)?;
    let secret = if c.fresh {
        EpochSecret::from_bytes(hex32(&c.epoch_secret)?)
    } else {
        EpochSecret::from_bytes(hex32(&r.epoch_secret)?).ratchet(&meeting, epoch, &hash)
    };
    let (removed, upserted) = diff(&prev, &roster);
    let names_key = secret.names_key(&meeting, epoch);
    let names = upserted
        .iter()
        .filter_map(|u| next.iter().find(|e| e.index == u.index))
        .map(|e| e.sealed_name(&names_key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let commit = Commit {
        meeting,
        epoch,
        prev_hash,
        roster_hash: hash,
        locked: r.locked,
        fresh: c.fresh,
        removed,
        upserted,
        names,
        confirm: secret.confirm(&meeting, epoch, &hash),
    };
    let body = commit.encode_body();
    Ok((sign(commit, body, &host, &r.room).to_bytes(), hash, secret))
}

/// The member's identity and HPKE key pair from its secrets.
fn member_keys(kem: KemId, m: &RosterMemberVector) -> Result<(Identity, HpkeKeyPair), String> {
    let id = Identity::from_secret_bytes(&hex32(&m.identity_secret)?);
    let hpke = HpkeKeyPair::from_private_bytes(kem, &hex32(&m.hpke_private)?)
        .map_err(|e| e.to_string())?;
    Ok((id, hpke))
}

fn meeting_of(v: &RosterVector) -> Result<MeetingId, String> {
    let mut meeting = [0u8; 16];
    hex::decode_to_slice(&v.meeting_id, &mut meeting).map_err(|e| e.to_string())?;
    Ok(MeetingId(meeting))
}

/// The outputs of a roster vector computed from its inputs: members' public keys, names key,
/// sender keys.
fn roster_outputs(v: &RosterVector) -> Result<RosterVector, String> {
    let kem = KemId::from_u16(v.kem).map_err(|e| e.to_string())?;
    let meeting = meeting_of(v)?;
    let secret = EpochSecret::from_bytes(hex32(&v.epoch_secret)?);
    let mut out = v.clone();
    out.names_key = hex::encode(*secret.names_key(&meeting, v.epoch));
    out.senders = Vec::new();
    for m in &mut out.members {
        let (id, hpke) = member_keys(kem, m)?;
        m.identity_pk = id.public().to_hex();
        m.hpke_public = hex::encode(hpke.public_key());
        let k = secret
            .sender(&meeting, v.epoch, m.index, v.suite)
            .map_err(|e| e.to_string())?;
        out.senders.push(SenderVector {
            index: m.index,
            kid: k.kid,
            base_key: hex::encode(*k.base_key),
        });
    }
    Ok(out)
}

/// Names padded at the boundaries of SPEC §8.5: empty, short, multi-byte UTF-8, 31 bytes (one
/// block), 32 bytes (two blocks), 127 bytes (the longest).
fn padding_names() -> Vec<String> {
    vec![
        String::new(),
        "Alice".into(),
        "Ålice ✓".into(),
        "a".repeat(31),
        "b".repeat(32),
        "c".repeat(127),
    ]
}

/// Display names for the character rule of SPEC §8.5 and the escaping of SPEC §8.10.
fn display_names() -> Vec<&'static str> {
    vec![
        "Alice",
        "Ålice ✓",
        "王小明 ❤️",
        "C:\\temp",
        "alice\x1b[8m",
        "a\tb",
        "x\u{7f}",
        "x\u{9b}31m",
        "evil\u{202e}cod.exe",
        "a\u{2066}b\u{2069}",
        "\u{200f}rtl",
        "\u{61c}x",
        "zero\u{200b}width",
        "z\u{200d}j",
        "\u{feff}bom",
        "soft\u{ad}hyphen",
        "tag\u{e0041}",
        "line\u{2028}break",
    ]
}

fn refusal_text(e: NameError) -> String {
    let (class, c) = match e {
        NameError::Control(c) => ("control", c),
        NameError::Bidi(c) => ("bidi", c),
        NameError::Invisible(c) => ("invisible", c),
        NameError::Separator(c) => ("separator", c),
    };
    format!("{class} U+{:04X}", u32::from(c))
}

fn display_vector(name: &str) -> DisplayNameVector {
    DisplayNameVector {
        name_utf8: hex::encode(name),
        refused: check_display_name(name).err().map(refusal_text),
        escaped: escape_for_terminal(name),
    }
}

fn invalid_keys(xwing_good: &[u8]) -> Vec<InvalidKeyVector> {
    let mut out = Vec::new();
    for p in X25519_SMALL_ORDER {
        let mut high = p;
        high[31] |= 0x80;
        for (k, note) in [(p, ""), (high, ", bit 255 set")] {
            out.push(InvalidKeyVector {
                kem: KemId::X25519.to_u16(),
                public_key: hex::encode(k),
                reason: format!("small-order X25519 point{note}"),
            });
        }
    }
    let mut modulus = xwing_good.to_vec();
    if modulus.len() > 1 {
        modulus[0] = 0xff;
        modulus[1] |= 0x0f;
    }
    out.push(InvalidKeyVector {
        kem: KemId::XWing.to_u16(),
        public_key: hex::encode(&modulus),
        reason: "ML-KEM-768 coefficient 4095 >= q (FIPS 203 modulus check)".into(),
    });
    let mut low = xwing_good.to_vec();
    if low.len() == XWING_MLKEM_PK_LEN + 32 {
        low[XWING_MLKEM_PK_LEN..].copy_from_slice(&X25519_SMALL_ORDER[2]);
    }
    out.push(InvalidKeyVector {
        kem: KemId::XWing.to_u16(),
        public_key: hex::encode(&low),
        reason: "X-Wing key whose X25519 part is a small-order point".into(),
    });
    out
}

fn fingerprint_vector(seed: [u8; 32]) -> FingerprintVector {
    let id = Identity::from_secret_bytes(&seed).public();
    FingerprintVector {
        identity_secret: hex::encode(seed),
        identity_pk: id.to_hex(),
        fingerprint: id.fingerprint(),
    }
}

/// A signed join request by `r.members[joiner]` with its name sealed to the host's HPKE key.
fn join_vector<R: CryptoRng>(
    r: &RosterVector,
    roster_index: usize,
    joiner: usize,
    rng: &mut R,
) -> Result<JoinNameVector, String> {
    let kem = KemId::from_u16(r.kem).map_err(|e| e.to_string())?;
    let meeting = meeting_of(r)?;
    let host = r.members.first().ok_or("no host")?;
    let (_, host_hpke) = member_keys(kem, host)?;
    let m = r.members.get(joiner).ok_or("bad joiner")?;
    let (id, hpke) = member_keys(kem, m)?;
    let info = join_name_info(&meeting, &id.public());
    let padded = pad_name(&m.name).map_err(|e| e.to_string())?;
    let (name_enc, name_ct) =
        kem::seal(kem, host_hpke.public_key(), &info, &padded, rng).map_err(|e| e.to_string())?;
    let req = JoinRequest {
        meeting,
        nonce: [joiner as u8; 16],
        role: Role::from_u8(m.role).map_err(|e| e.to_string())?,
        identity: id.public(),
        kem,
        hpke_public: hpke.public_key().to_vec(),
        name_enc,
        name_ct,
    };
    let body = req.encode_body();
    Ok(JoinNameVector {
        roster_index,
        joiner,
        info: hex::encode(&info),
        padded_name: hex::encode(padded.as_slice()),
        message: hex::encode(sign(req, body, &id, &r.room).to_bytes()),
    })
}

/// The epoch key of roster vector `v` for its member at `recipient`.
fn build_epoch_key(v: &RosterVector, recipient: usize) -> Result<Vec<u8>, String> {
    let m = v.members.get(recipient).ok_or("bad recipient")?;
    let (_, hash, _) = build(v)?;
    let key = EpochKey::seal(
        meeting_of(v)?,
        v.epoch,
        m.index,
        hash,
        &hex32(&m.wrap_key)?,
        &hex32(&v.epoch_secret)?,
    )
    .map_err(|e| e.to_string())?;
    Ok(key.to_bytes())
}

/// A welcome of roster vector `v`'s member at `recipient`: its HPKE info and the message.
fn build_welcome<R: CryptoRng>(
    v: &RosterVector,
    recipient: usize,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (host, _) = host_of(v)?;
    let entries = entries_of(v)?;
    let roster = roster_of(v, v.epoch, &entries)?;
    let hash = roster_hash(&roster.encode_body());
    let secret = EpochSecret::from_bytes(hex32(&v.epoch_secret)?);
    let names_key = secret.names_key(&roster.meeting, v.epoch);
    let names = entries
        .iter()
        .map(|e| e.sealed_name(&names_key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let e = entries.get(recipient).ok_or("bad recipient")?;
    let info = welcome_info(&roster.meeting, v.epoch, e.index, &e.identity, &hash);
    let w = welcome(&host, &v.room, &roster, hash, e, &secret, names, rng)
        .map_err(|e| e.to_string())?;
    Ok((info, w.to_bytes()))
}

/// Generates the vectors; `rng` only feeds the HPKE encapsulations of the epoch-key and
/// join-request vectors.
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
    let mut welcomes = Vec::new();
    for (i, (kem, epoch, locked, members)) in roster_inputs().into_iter().enumerate() {
        let v = RosterVector {
            room: ROOM.to_owned(),
            meeting_id: hex::encode([i as u8 + 1; 16]),
            epoch,
            suite: 0x0004,
            kem: kem.to_u16(),
            locked,
            epoch_secret: hex::encode(fixed(0x70 + i as u8)),
            names_key: String::new(),
            senders: Vec::new(),
            members,
            roster: String::new(),
            roster_hash: String::new(),
            security_code: String::new(),
            names: Vec::new(),
        };
        let mut v = roster_outputs(&v)?;
        let (bytes, hash, names) = build(&v)?;
        v.roster = hex::encode(&bytes);
        v.roster_hash = hex::encode(hash);
        v.security_code = security_code(&hash, epoch);
        v.names = names;
        let recipient = v.members.len() - 1;
        epoch_key.push(EpochKeyVector {
            roster_index: i,
            recipient,
            message: hex::encode(build_epoch_key(&v, recipient)?),
        });
        let (info, message) = build_welcome(&v, recipient, rng)?;
        welcomes.push(WelcomeVector {
            roster_index: i,
            recipient,
            info: hex::encode(info),
            message: hex::encode(message),
        });
        roster.push(v);
    }
    // Alice joins the X25519 meeting, the connector too, and Ålice the X-Wing one.
    let join_name = vec![
        join_vector(&roster[1], 1, 1, rng)?,
        join_vector(&roster[1], 1, 2, rng)?,
        join_vector(&roster[2], 2, 1, rng)?,
    ];
    // The connector leaves the locked X25519 meeting (fresh); Bob joins the lone host
    // (ratchet).
    let bob = {
        let mut m = roster[1].members[1].clone();
        m.index = 1;
        m.relay_id = 2001;
        m.name = "Bob".into();
        m.identity_secret = hex::encode(fixed(0x44));
        m.hpke_private = hex::encode(fixed(0x84));
        m.name_salt = hex::encode([0x5b; 16]);
        m.wrap_key = hex::encode(fixed(0xb0));
        m.identity_pk = Identity::from_secret_bytes(&fixed(0x44)).public().to_hex();
        let hpke = HpkeKeyPair::from_private_bytes(KemId::X25519, &fixed(0x84))
            .map_err(|e| e.to_string())?;
        m.hpke_public = hex::encode(hpke.public_key());
        m
    };
    let mut commit = vec![
        CommitVector {
            from_roster: 1,
            removed: vec![3],
            added: Vec::new(),
            fresh: true,
            epoch_secret: hex::encode(fixed(0x99)),
            roster_hash: String::new(),
            security_code: String::new(),
            message: String::new(),
        },
        CommitVector {
            from_roster: 0,
            removed: Vec::new(),
            added: vec![bob],
            fresh: false,
            epoch_secret: String::new(),
            roster_hash: String::new(),
            security_code: String::new(),
            message: String::new(),
        },
    ];
    let partial = Vectors {
        key_schedule: Vec::new(),
        security_code: Vec::new(),
        roster: roster.clone(),
        epoch_key: Vec::new(),
        welcome: Vec::new(),
        commit: Vec::new(),
        name_padding: Vec::new(),
        join_name: Vec::new(),
        invalid_hpke_pk: Vec::new(),
        display_name: Vec::new(),
        fingerprint: Vec::new(),
    };
    for c in &mut commit {
        let (bytes, hash, secret) = build_commit(&partial, c)?;
        c.message = hex::encode(bytes);
        c.roster_hash = hex::encode(hash);
        c.security_code = security_code(&hash, partial.roster[c.from_roster].epoch + 1);
        c.epoch_secret = hex::encode(secret.as_bytes());
    }
    let xwing_host = roster[2].members[0].hpke_public.clone();
    let xwing_host = hex::decode(xwing_host).map_err(|e| e.to_string())?;
    let name_padding = padding_names()
        .into_iter()
        .map(|name| {
            let padded = pad_name(&name).map_err(|e| e.to_string())?;
            Ok(NamePaddingVector {
                padded: hex::encode(padded.as_slice()),
                name,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Vectors {
        key_schedule,
        security_code: codes,
        roster,
        epoch_key,
        welcome: welcomes,
        commit,
        name_padding,
        join_name,
        invalid_hpke_pk: invalid_keys(&xwing_host),
        display_name: display_names().into_iter().map(display_vector).collect(),
        fingerprint: [fixed(0x01), fixed(0x11), fixed(0x22)]
            .into_iter()
            .map(fingerprint_vector)
            .collect(),
    })
}

fn verify_welcome(v: &Vectors, w: &WelcomeVector) -> Result<(), String> {
    let r = v.roster.get(w.roster_index).ok_or("bad roster_index")?;
    let kem = KemId::from_u16(r.kem).map_err(|e| e.to_string())?;
    let m = r.members.get(w.recipient).ok_or("bad recipient")?;
    let (id, hpke) = member_keys(kem, m)?;
    let (host, _) = host_of(r)?;
    let bytes = hex::decode(&w.message).map_err(|e| e.to_string())?;
    let Ok(Message::Welcome(signed)) = Message::decode(&bytes) else {
        return Err("welcome does not decode".into());
    };
    signed
        .verify(&r.room, &host.public())
        .map_err(|e| format!("welcome signature: {e}"))?;
    let c = &signed.content;
    if hex::encode(c.roster_hash) != r.roster_hash || c.recipient != id.public() {
        return Err("welcome fields mismatch".into());
    }
    let info = welcome_info(
        &c.meeting,
        c.epoch,
        c.recipient_index,
        &c.recipient,
        &c.roster_hash,
    );
    if hex::encode(&info) != w.info {
        return Err("welcome info mismatch".into());
    }
    let plain = hpke
        .open(&c.enc, &info, &c.ciphertext)
        .map_err(|e| e.to_string())?;
    if hex::encode(&plain[..]) != format!("{}{}", m.wrap_key, r.epoch_secret) {
        return Err("welcome does not open to the wrap key and the epoch secret".into());
    }
    let names: Vec<String> = c.names.iter().map(|n| hex::encode(&n.ciphertext)).collect();
    if names != r.names {
        return Err("welcome names mismatch".into());
    }
    let names_key = EpochSecret::from_bytes(hex32(&r.epoch_secret)?).names_key(&c.meeting, c.epoch);
    let entries = entries_of(r)?;
    for (e, n) in entries.iter().zip(&c.names) {
        let name = open_roster_name(
            &names_key,
            e.index,
            &e.identity,
            &n.ciphertext,
            &e.listed.name_commit,
        )
        .map_err(|e| e.to_string())?;
        if name != e.name {
            return Err("welcome name mismatch".into());
        }
    }
    Ok(())
}

fn verify_join(v: &Vectors, j: &JoinNameVector) -> Result<(), String> {
    let r = v.roster.get(j.roster_index).ok_or("bad roster_index")?;
    let kem = KemId::from_u16(r.kem).map_err(|e| e.to_string())?;
    let meeting = meeting_of(r)?;
    let (_, host_hpke) = member_keys(kem, r.members.first().ok_or("no host")?)?;
    let m = r.members.get(j.joiner).ok_or("bad joiner")?;
    let (id, hpke) = member_keys(kem, m)?;
    let bytes = hex::decode(&j.message).map_err(|e| e.to_string())?;
    let Ok(Message::JoinRequest(signed)) = Message::decode(&bytes) else {
        return Err("join request does not decode".into());
    };
    signed
        .verify(&r.room, &id.public())
        .map_err(|e| format!("join request signature: {e}"))?;
    let c = &signed.content;
    if c.meeting != meeting
        || c.identity != id.public()
        || c.kem != kem
        || c.hpke_public != hpke.public_key()
        || c.role.to_u8() != m.role
    {
        return Err("join request fields mismatch".into());
    }
    kem.check_public_key(&c.hpke_public)
        .map_err(|e| e.to_string())?;
    let info = join_name_info(&meeting, &id.public());
    if hex::encode(&info) != j.info {
        return Err("join name info mismatch".into());
    }
    let padded = pad_name(&m.name).map_err(|e| e.to_string())?;
    if hex::encode(padded.as_slice()) != j.padded_name {
        return Err("join padded name mismatch".into());
    }
    let opened = host_hpke
        .open(&c.name_enc, &info, &c.name_ct)
        .map_err(|e| format!("join name does not open: {e}"))?;
    if opened.as_slice() != padded.as_slice() {
        return Err("join name opens to other bytes".into());
    }
    if unpad_name(&opened).map_err(|e| e.to_string())? != m.name {
        return Err("join name mismatch".into());
    }
    Ok(())
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
        if &roster_outputs(r)? != r {
            return Err(format!(
                "roster keys (public keys, names key or sender keys) mismatch for epoch {}",
                r.epoch
            ));
        }
        let (bytes, hash, names) = build(r)?;
        if hex::encode(&bytes) != r.roster || hex::encode(hash) != r.roster_hash {
            return Err(format!("roster mismatch for epoch {}", r.epoch));
        }
        if names != r.names {
            return Err(format!("sealed names mismatch for epoch {}", r.epoch));
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
        if hex::encode(build_epoch_key(r, k.recipient)?) != k.message {
            return Err("epoch key mismatch".into());
        }
        let m = r.members.get(k.recipient).ok_or("bad recipient")?;
        let bytes = hex::decode(&k.message).map_err(|e| e.to_string())?;
        let Ok(Message::EpochKey(key)) = Message::decode(&bytes) else {
            return Err("epoch key does not decode".into());
        };
        let secret = key.open(&hex32(&m.wrap_key)?).map_err(|e| e.to_string())?;
        if hex::encode(secret.as_bytes()) != r.epoch_secret {
            return Err("epoch key does not open to the epoch secret".into());
        }
    }
    for w in &v.welcome {
        verify_welcome(v, w)?;
    }
    for c in &v.commit {
        let (bytes, hash, secret) = build_commit(v, c)?;
        let epoch = v.roster.get(c.from_roster).ok_or("bad from_roster")?.epoch + 1;
        if hex::encode(&bytes) != c.message
            || hex::encode(hash) != c.roster_hash
            || hex::encode(secret.as_bytes()) != c.epoch_secret
            || security_code(&hash, epoch) != c.security_code
        {
            return Err(format!("commit mismatch for epoch {epoch}"));
        }
    }
    for p in &v.name_padding {
        let padded = pad_name(&p.name).map_err(|e| e.to_string())?;
        if hex::encode(padded.as_slice()) != p.padded {
            return Err(format!("padding mismatch for {:?}", p.name));
        }
        let bytes = hex::decode(&p.padded).map_err(|e| e.to_string())?;
        if unpad_name(&bytes).map_err(|e| e.to_string())? != p.name {
            return Err(format!("unpadding mismatch for {:?}", p.name));
        }
    }
    for j in &v.join_name {
        verify_join(v, j)?;
    }
    for k in &v.invalid_hpke_pk {
        let kem = KemId::from_u16(k.kem).map_err(|e| e.to_string())?;
        let pk = hex::decode(&k.public_key).map_err(|e| e.to_string())?;
        if kem.check_public_key(&pk) != Err(GroupError::InvalidHpkeKey) {
            return Err(format!("invalid key accepted: {}", k.public_key));
        }
    }
    for d in &v.display_name {
        let bytes = hex::decode(&d.name_utf8).map_err(|e| e.to_string())?;
        let name = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        if display_vector(&name) != *d {
            return Err(format!("display name mismatch for {}", d.escaped));
        }
    }
    for f in &v.fingerprint {
        if fingerprint_vector(hex32(&f.identity_secret)?) != *f {
            return Err(format!("fingerprint mismatch for {}", f.identity_pk));
        }
        let mut pk = [0u8; 32];
        hex::decode_to_slice(f.fingerprint.replace(' ', ""), &mut pk).map_err(|e| e.to_string())?;
        if IdentityKey(pk).to_hex() != f.identity_pk {
            return Err("fingerprint is not the identity key".into());
        }
    }
    Ok(())
}
