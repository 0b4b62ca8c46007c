//! The key service (SPEC §12.3): a [`RelayHook`] that makes, holds and issues each room's epoch
//! secret, and opens every media frame the relay forwards.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hush_frame::{BaseKey, CipherSuite, Header, Opener};
use hush_group::{EpochSecret, MAX_EPOCH, MeetingId, kid, split_kid};
use hush_relay::{HookMessage, RelayHook};
use hush_wire::sync::{lock, read, write};
use hush_wire::{ParticipantId, RelayMode, Target};
use zeroize::Zeroizing;

use crate::KeyServiceError;
use crate::decrypted_dump::DecryptedDump;
use crate::message::Issued;

/// The first epoch of every room.
pub const FIRST_EPOCH: u64 = 1;

/// How often, at most, a sender's decrypted dump is flushed while frames arrive.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// How the key service is set up.
#[derive(Debug, Clone)]
pub struct KeyServiceConfig {
    /// Cipher suite issued to every room.
    pub suite: CipherSuite,
    /// Where to write decrypted payloads (the relay's `--dump-dir`); `None` writes nothing.
    pub dump_dir: Option<PathBuf>,
}

impl Default for KeyServiceConfig {
    fn default() -> Self {
        KeyServiceConfig {
            suite: CipherSuite::default_for_this_cpu(),
            dump_dir: None,
        }
    }
}

/// Counters of a key service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyServiceStats {
    /// `Issued` messages handed out.
    pub issued: u64,
    /// Media frames opened (authenticated and decrypted).
    pub opened: u64,
    /// Media frames that could not be opened (bad header, wrong KID for the sender, unknown
    /// room or sender, replay, failed authentication).
    pub failed: u64,
    /// Rooms holding a secret right now.
    pub rooms: u64,
}

#[derive(Default)]
struct Counters {
    issued: AtomicU64,
    opened: AtomicU64,
    failed: AtomicU64,
}

struct Sender {
    index: u16,
    dump: Option<DecryptedDump>,
    last_flush: Instant,
}

/// One room's keys: the epoch secret, who holds which index, and the opener of every sender.
struct RoomKeys {
    meeting: MeetingId,
    epoch: u64,
    secret: Zeroizing<[u8; 32]>,
    /// Next unused index. Indices are never reused within an epoch: a reused index would give a
    /// new sender an old sender's key with its counter back at 0 (nonce reuse).
    next_index: u32,
    senders: HashMap<ParticipantId, Sender>,
    opener: Opener,
    /// Reused buffer each frame is opened in (no allocation per frame after warm-up).
    scratch: Zeroizing<Vec<u8>>,
}

fn random<const N: usize>(rng: &ring::rand::SystemRandom) -> Result<[u8; N], KeyServiceError> {
    let mut b = [0u8; N];
    ring::rand::SecureRandom::fill(rng, &mut b).map_err(|_| KeyServiceError::Random)?;
    Ok(b)
}

fn fresh_secret(rng: &ring::rand::SystemRandom) -> Result<Zeroizing<[u8; 32]>, KeyServiceError> {
    let mut s = Zeroizing::new([0u8; 32]);
    ring::rand::SecureRandom::fill(rng, s.as_mut_slice()).map_err(|_| KeyServiceError::Random)?;
    Ok(s)
}

impl RoomKeys {
    fn new(rng: &ring::rand::SystemRandom) -> Result<Self, KeyServiceError> {
        Ok(RoomKeys {
            meeting: MeetingId(random(rng)?),
            epoch: FIRST_EPOCH,
            secret: fresh_secret(rng)?,
            next_index: 0,
            senders: HashMap::new(),
            opener: Opener::new(),
            scratch: Zeroizing::new(Vec::new()),
        })
    }

    fn take_index(&mut self) -> Option<u16> {
        let i = u16::try_from(self.next_index).ok()?;
        self.next_index += 1;
        Some(i)
    }

    fn issued(&self, suite: CipherSuite, your_index: u16) -> Issued {
        Issued {
            suite,
            meeting: self.meeting,
            epoch: self.epoch,
            epoch_secret: self.secret.clone(),
            your_index,
        }
    }

    /// A fresh epoch: new secret (never derived from the old one), indices from 0, no keys.
    fn rotate(&mut self, rng: &ring::rand::SystemRandom) -> Result<(), KeyServiceError> {
        if self.epoch >= MAX_EPOCH {
            return Err(KeyServiceError::EpochExhausted);
        }
        self.secret = fresh_secret(rng)?;
        self.epoch += 1;
        self.next_index = 0;
        self.opener = Opener::new();
        Ok(())
    }

    /// Installs the opener key of `index` in the current epoch if it is not there yet.
    fn ensure_key(&mut self, suite: CipherSuite, index: u16) -> Result<u64, KeyServiceError> {
        let k = kid(self.epoch, index);
        if !self.opener.has_key(k) {
            let s = EpochSecret::from_bytes(*self.secret).sender(
                &self.meeting,
                self.epoch,
                index,
                suite.id(),
            )?;
            let base = BaseKey::new(s.base_key.to_vec())?;
            self.opener.add_key(k, suite, base)?;
        }
        Ok(k)
    }
}

/// The transport-mode key service: plug it into [`hush_relay::RelayConfig::hook`].
///
/// It generates one epoch secret per room at the room's first join, gives each joiner a fresh
/// sender index and an [`Issued`] message (delivered from participant 0), and opens every media
/// frame the relay forwards, writing the plaintext to the decrypted dump when configured.
pub struct KeyService {
    suite: CipherSuite,
    dump_dir: Option<PathBuf>,
    rng: ring::rand::SystemRandom,
    rooms: RwLock<HashMap<String, Arc<Mutex<RoomKeys>>>>,
    counters: Counters,
}

impl std::fmt::Debug for KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyService")
            .field("suite", &self.suite)
            .field("dump_dir", &self.dump_dir)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Default for KeyService {
    fn default() -> Self {
        Self::new(KeyServiceConfig::default())
    }
}

impl KeyService {
    /// A key service with no rooms yet.
    pub fn new(config: KeyServiceConfig) -> Self {
        KeyService {
            suite: config.suite,
            dump_dir: config.dump_dir,
            rng: ring::rand::SystemRandom::new(),
            rooms: RwLock::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// The suite issued to every room.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> KeyServiceStats {
        let rooms = read(&self.rooms).len();
        KeyServiceStats {
            issued: self.counters.issued.load(Relaxed),
            opened: self.counters.opened.load(Relaxed),
            failed: self.counters.failed.load(Relaxed),
            rooms: rooms as u64,
        }
    }

    /// Flushes every decrypted dump file to disk.
    pub fn flush(&self) {
        let rooms: Vec<_> = read(&self.rooms).values().cloned().collect();
        for r in rooms {
            for s in lock(&r).senders.values_mut() {
                if let Some(d) = s.dump.as_mut() {
                    d.flush();
                }
            }
        }
    }

    fn message(&self, to: ParticipantId, issued: &Issued) -> HookMessage {
        self.counters.issued.fetch_add(1, Relaxed);
        // The blob leaves as `Bytes` for the relay's TLS stream; that copy is not zeroized. In
        // transport mode the service holds the secret anyway: that is the model being shown.
        HookMessage {
            to: Target::Participant(to),
            blob: Bytes::copy_from_slice(&issued.encode()),
        }
    }

    fn join(&self, room: &str, id: ParticipantId) -> Result<Vec<HookMessage>, KeyServiceError> {
        // Lock order everywhere: the room map, then one room.
        let mut rooms = write(&self.rooms);
        let r = match rooms.get(room) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(Mutex::new(RoomKeys::new(&self.rng)?));
                rooms.insert(room.to_owned(), r.clone());
                r
            }
        };
        let mut keys = lock(&r);
        drop(rooms);
        if let Some(old) = keys.senders.remove(&id) {
            // Same id twice without a leave: retire its old index, issue a fresh one.
            let k = kid(keys.epoch, old.index);
            keys.opener.remove_key(k);
        }
        let mut out = Vec::new();
        let index = match keys.take_index() {
            Some(i) => i,
            None => {
                // 65536 joins in one epoch: start a new epoch and re-issue to everyone present.
                keys.rotate(&self.rng)?;
                let ids: Vec<ParticipantId> = keys.senders.keys().copied().collect();
                for other in ids {
                    let i = keys.take_index().ok_or(KeyServiceError::EpochExhausted)?;
                    if let Some(s) = keys.senders.get_mut(&other) {
                        s.index = i;
                    }
                    out.push(self.message(other, &keys.issued(self.suite, i)));
                }
                keys.take_index().ok_or(KeyServiceError::EpochExhausted)?
            }
        };
        let dump = self
            .dump_dir
            .as_ref()
            .map(|d| DecryptedDump::open(d, room, id));
        keys.senders.insert(
            id,
            Sender {
                index,
                dump,
                last_flush: Instant::now(),
            },
        );
        tracing::info!(room, id = %id, epoch = keys.epoch, index, "issued the room key");
        out.push(self.message(id, &keys.issued(self.suite, index)));
        Ok(out)
    }

    fn failed(&self) {
        self.counters.failed.fetch_add(1, Relaxed);
    }
}

impl RelayHook for KeyService {
    fn mode(&self) -> RelayMode {
        RelayMode::Transport
    }

    fn on_join(
        &self,
        room: &str,
        id: ParticipantId,
        _members: &[ParticipantId],
    ) -> Vec<HookMessage> {
        match self.join(room, id) {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(room, id = %id, error = %e, "cannot issue a key");
                Vec::new()
            }
        }
    }

    /// Forgets the participant's index; the room's secret stays (the 2020 model did not rekey on
    /// leave, SPEC §12.3). The room's keys are erased when its last participant leaves.
    fn on_leave(
        &self,
        room: &str,
        id: ParticipantId,
        _members: &[ParticipantId],
    ) -> Vec<HookMessage> {
        let mut rooms = write(&self.rooms);
        let Some(r) = rooms.get(room).cloned() else {
            return Vec::new();
        };
        let mut keys = lock(&r);
        if let Some(mut s) = keys.senders.remove(&id) {
            let k = kid(keys.epoch, s.index);
            keys.opener.remove_key(k);
            if let Some(d) = s.dump.as_mut() {
                d.flush();
            }
        }
        // Decided on the service's own view, not `members`: a new room of the same name may
        // already have joined here before this leave arrived.
        if keys.senders.is_empty() {
            rooms.remove(room);
        }
        Vec::new()
    }

    fn on_media(&self, room: &str, from: ParticipantId, frame: &[u8]) {
        let r = {
            let rooms = read(&self.rooms);
            match rooms.get(room) {
                Some(r) => r.clone(),
                None => return self.failed(),
            }
        };
        let mut guard = lock(&r);
        let keys = &mut *guard;
        let Some(index) = keys.senders.get(&from).map(|s| s.index) else {
            return self.failed();
        };
        let Ok((header, _)) = Header::decode(frame) else {
            return self.failed();
        };
        // A sender may only use its own KID in the current epoch.
        if split_kid(header.kid) != (keys.epoch, index) {
            return self.failed();
        }
        if let Err(e) = keys.ensure_key(self.suite, index) {
            tracing::warn!(room, id = %from, error = %e, "cannot derive a sender key");
            return self.failed();
        }
        keys.scratch.clear();
        keys.scratch.extend_from_slice(frame);
        if keys.opener.open(b"", &mut *keys.scratch).is_err() {
            return self.failed();
        }
        self.counters.opened.fetch_add(1, Relaxed);
        if let Some(s) = keys.senders.get_mut(&from)
            && let Some(d) = s.dump.as_mut()
        {
            d.record(&keys.scratch);
            let now = Instant::now();
            if now.duration_since(s.last_flush) >= FLUSH_EVERY {
                d.flush();
                s.last_flush = now;
            }
        }
    }
}
