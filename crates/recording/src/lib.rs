//! hush-recording: local recordings encrypted at rest (SPEC §11, "Local recordings"; claims C5
//! and C8), apart from the client's network and meeting code.
//!
//! A client that wants a recording makes it itself: what it received (media frames, chat and
//! other data messages) is written as a sequence of SFrame frames (hush-frame's [`Sealer`]) under
//! a fresh random 32-byte [`RecordingKey`] that never leaves the client, with KID 0 and the file
//! header as SFrame metadata (AAD), so a frame cannot be moved between recordings and a changed
//! header makes every frame fail. Nothing here touches the network; no server ever holds a
//! recording or its key.
//!
//! ```text
//! file   = header(36) ‖ record*
//! header = "HUSHREC\0"(8) ‖ version 0x01(1) ‖ suite(2, BE) ‖ flags 0x00(1)
//!          ‖ recording_id(16, random) ‖ key_id(8)
//! record = length(4, BE u32) ‖ SFrame frame (KID 0, CTR = record number from 0)
//! plaintext of a frame = kind(1) ‖ at_ms(8, BE) ‖ sender_len(1) ‖ sender(UTF-8) ‖ payload
//! ```
//!
//! `key_id` is the first 8 bytes of `SHA-256("hush 1.0 recording key id" ‖ key)`: a reader with
//! the wrong key says so ([`RecordingError::WrongKey`]) instead of reporting tampering. The last
//! record of a finished recording has kind [`KIND_END`] and the number of records before it as
//! its 8-byte payload; a reader reports whether it saw one ([`Recording::finished`]).
//!
//! ```
//! use hush_recording::{RecordKind, Recorder, RecordingKey};
//!
//! let key = RecordingKey::generate()?;
//! let mut rec = Recorder::new(Vec::new(), &key, hush_frame::CipherSuite::default_for_this_cpu())?;
//! rec.record(RecordKind::Data(0x01), 12, "alice", b"hello")?;
//! let bytes = rec.finish()?;
//! let opened = hush_recording::read(&bytes, &key)?;
//! assert_eq!(opened.entries[0].payload, b"hello");
//! assert!(opened.finished);
//! # Ok::<(), hush_recording::RecordingError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use hush_frame::{BaseKey, CipherSuite, FrameError, Opener, Sealer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The first 8 bytes of every recording file.
pub const MAGIC: [u8; 8] = *b"HUSHREC\0";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 0x01;
/// Length of the file header.
pub const HEADER_LEN: usize = 36;
/// The KID every frame of a recording carries.
pub const RECORDING_KID: u64 = 0;
/// Kind byte of a media frame's record.
pub const KIND_MEDIA: u8 = 0x10;
/// Kind byte of the end record.
pub const KIND_END: u8 = 0xFF;
/// Largest record (one SFrame frame) a reader accepts: 16 MiB.
pub const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;
/// Label of the key id hash.
const KEY_ID_LABEL: &[u8] = b"hush 1.0 recording key id";
/// Bytes before the payload in a frame's plaintext, besides the sender name.
const FIXED_PLAINTEXT: usize = 1 + 8 + 1;

/// Why a recording could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// Reading or writing the file failed.
    #[error("recording file: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with the recording magic.
    #[error("not a hush recording")]
    NotARecording,
    /// The format version is not one this build reads.
    #[error("unsupported recording version {0}")]
    UnsupportedVersion(u8),
    /// The header names a cipher suite hush does not implement.
    #[error("unknown cipher suite 0x{0:04x}")]
    UnknownSuite(u16),
    /// The key is not the one the recording was made with.
    #[error("wrong recording key")]
    WrongKey,
    /// A record does not authenticate: the file was altered (or records were reordered).
    #[error("recording tampered with: record {record} does not authenticate")]
    Tampered {
        /// Number of the first record that failed (from 0).
        record: u64,
    },
    /// The file ends inside the header or a record.
    #[error("recording truncated at byte {offset}")]
    Truncated {
        /// Where the data ran out.
        offset: usize,
    },
    /// A record authenticated but its content is malformed, or records follow the end record.
    #[error("malformed record {record}: {reason}")]
    Malformed {
        /// Record number.
        record: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A sender name longer than 255 bytes cannot be recorded.
    #[error("sender name of {0} bytes exceeds 255")]
    SenderTooLong(usize),
    /// A data kind that the format reserves (`0x10` media, `0xFF` end) cannot be recorded.
    #[error("data kind 0x{0:02x} is reserved in recordings")]
    ReservedKind(u8),
    /// The recording key reached its frame limit: start a new recording.
    #[error("recording key exhausted; start a new recording")]
    Full,
    /// The key text is not 64 hex digits.
    #[error("a recording key is 64 hex digits")]
    BadKeyText,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// The secret of one recording: 32 random bytes. Zeroized on drop; `Debug` shows only its id.
pub struct RecordingKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for RecordingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordingKey(id {})", hex::encode(self.key_id()))
    }
}

impl RecordingKey {
    /// A fresh key from the operating system's randomness.
    ///
    /// # Errors
    /// [`RecordingError::Random`] if the OS cannot provide randomness.
    pub fn generate() -> Result<Self, RecordingError> {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, k.as_mut_slice())
            .map_err(|_| RecordingError::Random)?;
        Ok(RecordingKey(k))
    }

    /// Wraps key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        RecordingKey(Zeroizing::new(bytes))
    }

    /// Parses 64 hex digits (how a user keeps the key).
    ///
    /// # Errors
    /// [`RecordingError::BadKeyText`] for anything else.
    pub fn from_hex(text: &str) -> Result<Self, RecordingError> {
        let mut k = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), k.as_mut_slice())
            .map_err(|_| RecordingError::BadKeyText)?;
        Ok(RecordingKey(k))
    }

    /// The key as 64 hex digits, in a string zeroized on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }

    /// The 8-byte key id written in the header (not secret: a hash of the key).
    pub fn key_id(&self) -> [u8; 8] {
        let d = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(self.0.as_slice())
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&d[..8]);
        id
    }

    fn base_key(&self) -> Result<BaseKey, RecordingError> {
        BaseKey::new(self.0.to_vec()).map_err(|_| RecordingError::WrongKey)
    }
}

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// A decrypted media frame ([`KIND_MEDIA`]).
    Media,
    /// A decrypted data message; the byte is its kind (SPEC §11.2: 0x01 chat, 0x02 reaction,
    /// 0x03 poll, 0x04 file chunk). Kinds `0x10` and `0xFF` are not data kinds here.
    Data(u8),
}

impl RecordKind {
    fn to_u8(self) -> u8 {
        match self {
            RecordKind::Media => KIND_MEDIA,
            RecordKind::Data(b) => b,
        }
    }
}

/// One recorded item, decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: RecordKind,
    /// Milliseconds since the recording started (as the recorder was told).
    pub at_ms: u64,
    /// Display name of the sender.
    pub sender: String,
    /// The plaintext.
    pub payload: Vec<u8>,
}

fn header(suite: CipherSuite, recording_id: &[u8; 16], key_id: &[u8; 8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8] = VERSION;
    h[9..11].copy_from_slice(&suite.id().to_be_bytes());
    h[11] = 0;
    h[12..28].copy_from_slice(recording_id);
    h[28..36].copy_from_slice(key_id);
    h
}

/// Writes a recording: each [`record`](Recorder::record) call seals one SFrame frame, writes it
/// and flushes the writer, so a recording killed at any moment (`kill -9`, a crash) reads back
/// up to its last complete record ([`Recording::cut_off`]); [`finish`](Recorder::finish) writes
/// the end record.
pub struct Recorder<W: Write> {
    out: W,
    sealer: Sealer,
    header: [u8; HEADER_LEN],
    records: u64,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> fmt::Debug for Recorder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl Recorder<BufWriter<File>> {
    /// Creates (or truncates) `path` and starts a recording in it with the default suite of
    /// this CPU.
    ///
    /// # Errors
    /// [`RecordingError::Io`], [`RecordingError::Random`].
    pub fn create(path: &Path, key: &RecordingKey) -> Result<Self, RecordingError> {
        let f = BufWriter::new(File::create(path)?);
        Recorder::new(f, key, CipherSuite::default_for_this_cpu())
    }
}

impl<W: Write> Recorder<W> {
    /// Starts a recording in `out` (a fresh random recording id) and writes the header.
    ///
    /// # Errors
    /// [`RecordingError::Io`], [`RecordingError::Random`].
    pub fn new(mut out: W, key: &RecordingKey, suite: CipherSuite) -> Result<Self, RecordingError> {
        let mut id = [0u8; 16];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut id)
            .map_err(|_| RecordingError::Random)?;
        let header = header(suite, &id, &key.key_id());
        out.write_all(&header)?;
        out.flush()?;
        Ok(Recorder {
            out,
            sealer: Sealer::new(suite, RECORDING_KID, key.base_key()?),
            header,
            records: 0,
            buf: Zeroizing::new(Vec::new()),
        })
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn write_record(
        &mut self,
        kind: u8,
        at_ms: u64,
        sender: &str,
        payload: &[u8],
    ) -> Result<(), RecordingError> {
        let name = sender.as_bytes();
        let name_len =
            u8::try_from(name.len()).map_err(|_| RecordingError::SenderTooLong(name.len()))?;
        self.buf.clear();
        self.buf
            .reserve(FIXED_PLAINTEXT + name.len() + payload.len() + 64);
        self.buf.push(kind);
        self.buf.extend_from_slice(&at_ms.to_be_bytes());
        self.buf.push(name_len);
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(payload);
        // Refuse an oversize record before sealing it: sealing takes a counter value, and the
        // reader demands counter == record number, so a sealed-then-refused record would make
        // every later record of the file unreadable.
        let header_len =
            hush_frame::Header::new(self.sealer.kid(), self.sealer.next_counter()).encoded_len();
        if header_len + self.buf.len() + self.sealer.suite().tag_len() > MAX_RECORD_LEN {
            return Err(RecordingError::Malformed {
                record: self.records,
                reason: "record larger than 16 MiB",
            });
        }
        self.sealer
            .seal(&self.header, &mut *self.buf)
            .map_err(|e| match e {
                FrameError::KeyExhausted => RecordingError::Full,
                _ => RecordingError::Malformed {
                    record: self.records,
                    reason: "too large to seal",
                },
            })?;
        let len = u32::try_from(self.buf.len())
            .ok()
            .filter(|&l| l as usize <= MAX_RECORD_LEN)
            .ok_or(RecordingError::Malformed {
                record: self.records,
                reason: "record larger than 16 MiB",
            })?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(&self.buf)?;
        // Written as it goes: one write per record from the buffered writer.
        self.out.flush()?;
        self.records += 1;
        Ok(())
    }

    /// Seals and writes one item received `at_ms` milliseconds after the recording started.
    ///
    /// # Errors
    /// [`RecordingError::SenderTooLong`], [`RecordingError::ReservedKind`],
    /// [`RecordingError::Full`], [`RecordingError::Io`], [`RecordingError::Malformed`] for a
    /// payload over 16 MiB.
    pub fn record(
        &mut self,
        kind: RecordKind,
        at_ms: u64,
        sender: &str,
        payload: &[u8],
    ) -> Result<(), RecordingError> {
        if let RecordKind::Data(k @ (KIND_MEDIA | KIND_END)) = kind {
            return Err(RecordingError::ReservedKind(k));
        }
        self.write_record(kind.to_u8(), at_ms, sender, payload)
    }

    /// Writes the end record, flushes, and returns the writer.
    ///
    /// # Errors
    /// [`RecordingError::Io`], [`RecordingError::Full`].
    pub fn finish(mut self) -> Result<W, RecordingError> {
        let n = self.records;
        self.write_record(KIND_END, 0, "", &n.to_be_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A recording opened with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The suite it was sealed with.
    pub suite: CipherSuite,
    /// Its random id (from the header).
    pub recording_id: [u8; 16],
    /// Every item, in order.
    pub entries: Vec<Entry>,
    /// True if the end record was present (the recorder finished; nothing was cut off).
    pub finished: bool,
    /// Bytes of an incomplete last record that were ignored: the recorder was stopped while
    /// writing it (`kill -9`, a crash, a full disk). Everything before it authenticated; such a
    /// recording is never [`finished`](Self::finished).
    pub cut_off: usize,
}

/// Opens the recording file at `path` with `key`.
///
/// # Errors
/// See [`read`]; [`RecordingError::Io`] if the file cannot be read.
pub fn open(path: &Path, key: &RecordingKey) -> Result<Recording, RecordingError> {
    read(&std::fs::read(path)?, key)
}

fn parse_plaintext(record: u64, pt: &[u8]) -> Result<(u8, Entry), RecordingError> {
    let bad = |reason| RecordingError::Malformed { record, reason };
    let (&kind, rest) = pt.split_first().ok_or(bad("empty record"))?;
    let (at, rest) = rest.split_first_chunk::<8>().ok_or(bad("short record"))?;
    let (&name_len, rest) = rest.split_first().ok_or(bad("short record"))?;
    if rest.len() < name_len as usize {
        return Err(bad("sender name cut off"));
    }
    let (name, payload) = rest.split_at(name_len as usize);
    let sender = std::str::from_utf8(name)
        .map_err(|_| bad("sender name is not UTF-8"))?
        .to_owned();
    let entry = Entry {
        kind: if kind == KIND_MEDIA {
            RecordKind::Media
        } else {
            RecordKind::Data(kind)
        },
        at_ms: u64::from_be_bytes(*at),
        sender,
        payload: payload.to_vec(),
    };
    Ok((kind, entry))
}

/// Opens a recording held in memory with `key`. Every record must authenticate under the key
/// and the header, with counters 0, 1, 2… in order; nothing may follow the end record. An
/// incomplete last record (a recorder stopped while writing) ends the reading: what came before
/// is returned, [`Recording::cut_off`] says how many bytes were left over.
///
/// # Errors
/// [`RecordingError::NotARecording`], [`RecordingError::UnsupportedVersion`],
/// [`RecordingError::UnknownSuite`], [`RecordingError::WrongKey`],
/// [`RecordingError::Tampered`], [`RecordingError::Truncated`], [`RecordingError::Malformed`].
pub fn read(bytes: &[u8], key: &RecordingKey) -> Result<Recording, RecordingError> {
    let (hdr, mut rest) = bytes.split_first_chunk::<HEADER_LEN>().ok_or(
        if bytes.starts_with(&MAGIC[..bytes.len().min(8)]) {
            RecordingError::Truncated {
                offset: bytes.len(),
            }
        } else {
            RecordingError::NotARecording
        },
    )?;
    if hdr[..8] != MAGIC {
        return Err(RecordingError::NotARecording);
    }
    if hdr[8] != VERSION {
        return Err(RecordingError::UnsupportedVersion(hdr[8]));
    }
    let suite_id = u16::from_be_bytes([hdr[9], hdr[10]]);
    let suite = CipherSuite::from_id(suite_id).ok_or(RecordingError::UnknownSuite(suite_id))?;
    if hdr[28..36] != key.key_id() {
        return Err(RecordingError::WrongKey);
    }
    let mut recording_id = [0u8; 16];
    recording_id.copy_from_slice(&hdr[12..28]);
    let mut opener = Opener::new();
    opener
        .add_key(RECORDING_KID, suite, key.base_key()?)
        .map_err(|_| RecordingError::WrongKey)?;
    let mut entries = Vec::new();
    let mut finished = false;
    let mut cut_off = 0;
    let mut record = 0u64;
    let mut buf = Zeroizing::new(Vec::new());
    while !rest.is_empty() {
        if finished {
            return Err(RecordingError::Malformed {
                record,
                reason: "data after the end record",
            });
        }
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            // Stopped inside a length prefix: the records before it stand.
            cut_off = rest.len();
            break;
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > MAX_RECORD_LEN {
            return Err(RecordingError::Tampered { record });
        }
        if tail.len() < len {
            // Stopped inside the last record (or a shortened file: either way, not finished).
            cut_off = rest.len();
            break;
        }
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        buf.clear();
        buf.extend_from_slice(frame);
        let opened = opener
            .open(hdr, &mut *buf)
            .map_err(|_| RecordingError::Tampered { record })?;
        if opened.kid != RECORDING_KID || opened.ctr != record {
            // Reordered, dropped or duplicated records.
            return Err(RecordingError::Tampered { record });
        }
        let (kind, entry) = parse_plaintext(record, &buf)?;
        if kind == KIND_END {
            let count: [u8; 8] =
                entry
                    .payload
                    .as_slice()
                    .try_into()
                    .map_err(|_| RecordingError::Malformed {
                        record,
                        reason: "bad end record",
                    })?;
            if u64::from_be_bytes(count) != record {
                return Err(RecordingError::Malformed {
                    record,
                    reason: "end record count does not match",
                });
            }
            finished = true;
        } else {
            entries.push(entry);
        }
        record += 1;
    }
    Ok(Recording {
        suite,
        recording_id,
        entries,
        finished,
        cut_off,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// An oversize record is refused without taking a counter value, so the records after it
    /// still read back.
    #[test]
    fn an_oversize_record_does_not_spoil_the_rest() {
        let key = RecordingKey::generate().unwrap();
        let mut r = Recorder::new(Vec::new(), &key, CipherSuite::default_for_this_cpu()).unwrap();
        r.record(RecordKind::Media, 0, "alice", b"before").unwrap();
        let huge = vec![0u8; MAX_RECORD_LEN];
        assert!(matches!(
            r.record(RecordKind::Media, 1, "alice", &huge),
            Err(RecordingError::Malformed { record: 1, .. })
        ));
        r.record(RecordKind::Media, 2, "alice", b"after").unwrap();
        let file = r.finish().unwrap();
        let rec = read(&file, &key).unwrap();
        let payloads: Vec<&[u8]> = rec.entries.iter().map(|e| &e.payload[..]).collect();
        assert_eq!(payloads, [&b"before"[..], &b"after"[..]]);
        assert!(rec.finished);
    }

    fn sample(key: &RecordingKey) -> Vec<u8> {
        let mut r = Recorder::new(Vec::new(), key, CipherSuite::default_for_this_cpu()).unwrap();
        r.record(RecordKind::Media, 0, "alice", b"frame one")
            .unwrap();
        r.record(RecordKind::Data(0x01), 5, "bob", b"secret chat line")
            .unwrap();
        r.record(RecordKind::Media, 9, "alice", &[7u8; 3000])
            .unwrap();
        r.finish().unwrap()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn round_trip_with_the_key() {
        let key = RecordingKey::generate().unwrap();
        let bytes = sample(&key);
        let rec = read(&bytes, &key).unwrap();
        assert!(rec.finished);
        assert_eq!(rec.entries.len(), 3);
        assert_eq!(rec.entries[0].kind, RecordKind::Media);
        assert_eq!(rec.entries[0].payload, b"frame one");
        assert_eq!(rec.entries[1].kind, RecordKind::Data(0x01));
        assert_eq!(rec.entries[1].sender, "bob");
        assert_eq!(rec.entries[1].at_ms, 5);
        assert_eq!(rec.entries[2].payload, vec![7u8; 3000]);
    }

    #[test]
    fn no_plaintext_at_rest() {
        let key = RecordingKey::generate().unwrap();
        let bytes = sample(&key);
        for needle in [&b"frame one"[..], b"secret chat line", b"alice", b"bob"] {
            assert!(!contains(&bytes, needle), "{needle:?} found in the file");
        }
    }

    #[test]
    fn wrong_key_is_refused() {
        let key = RecordingKey::generate().unwrap();
        let other = RecordingKey::generate().unwrap();
        let bytes = sample(&key);
        assert!(matches!(
            read(&bytes, &other),
            Err(RecordingError::WrongKey)
        ));
    }

    #[test]
    fn wrong_key_with_forged_key_id_fails_authentication() {
        let key = RecordingKey::generate().unwrap();
        let other = RecordingKey::generate().unwrap();
        let mut bytes = sample(&key);
        bytes[28..36].copy_from_slice(&other.key_id());
        assert!(matches!(
            read(&bytes, &other),
            Err(RecordingError::Tampered { record: 0 })
        ));
    }

    /// Any flipped byte is an error, or (a length prefix made to claim more than the file
    /// holds, which looks like a recorder stopped while writing) a recording that is not
    /// finished, says it was cut off and shows only genuine records in order: never a finished
    /// recording, never an altered entry.
    #[test]
    fn every_flipped_byte_is_detected() {
        let key = RecordingKey::from_bytes([3u8; 32]);
        let bytes = sample(&key);
        let genuine = read(&bytes, &key).unwrap();
        for i in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                let mut t = bytes.clone();
                t[i] ^= bit;
                if let Ok(r) = read(&t, &key) {
                    assert!(
                        !r.finished && r.cut_off > 0,
                        "flip at byte {i} not detected"
                    );
                    assert!(genuine.entries.starts_with(&r.entries), "byte {i}");
                }
            }
        }
    }

    #[test]
    fn header_is_bound_to_every_frame() {
        let key = RecordingKey::generate().unwrap();
        let mut bytes = sample(&key);
        bytes[12] ^= 0xFF; // recording id
        assert!(matches!(
            read(&bytes, &key),
            Err(RecordingError::Tampered { record: 0 })
        ));
    }

    #[test]
    fn frames_cannot_move_between_recordings() {
        let key = RecordingKey::generate().unwrap();
        let a = sample(&key);
        let b = sample(&key);
        let mut spliced = b[..HEADER_LEN].to_vec();
        spliced.extend_from_slice(&a[HEADER_LEN..]);
        assert!(matches!(
            read(&spliced, &key),
            Err(RecordingError::Tampered { record: 0 })
        ));
    }

    #[test]
    fn truncation_and_reordering_are_detected() {
        let key = RecordingKey::generate().unwrap();
        let bytes = sample(&key);
        // Cut inside the last record (a recorder killed while writing it): the records before
        // it read back, the recording is not finished and says how much was cut off.
        let r = read(&bytes[..bytes.len() - 3], &key).unwrap();
        assert!(!r.finished);
        assert_eq!(
            r.entries.len(),
            3,
            "every complete record (the end record was cut)"
        );
        assert!(r.cut_off > 0);
        // Cut inside a length prefix.
        let first_len = u32::from_be_bytes(bytes[HEADER_LEN..HEADER_LEN + 4].try_into().unwrap());
        let r = read(&bytes[..HEADER_LEN + 4 + first_len as usize + 2], &key).unwrap();
        assert_eq!((r.entries.len(), r.cut_off, r.finished), (1, 2, false));
        // Cut at a record boundary: the end record is gone, so the recording is not finished.
        let cut = HEADER_LEN + 4 + first_len as usize;
        let r = read(&bytes[..cut], &key).unwrap();
        assert!(!r.finished);
        assert_eq!(r.entries.len(), 1);
        // Drop the first record: the counters no longer match.
        let mut dropped = bytes[..HEADER_LEN].to_vec();
        dropped.extend_from_slice(&bytes[cut..]);
        assert!(matches!(
            read(&dropped, &key),
            Err(RecordingError::Tampered { record: 0 })
        ));
        // Anything after the end record.
        let mut extra = bytes.clone();
        extra.extend_from_slice(&bytes[HEADER_LEN..cut]);
        assert!(matches!(
            read(&extra, &key),
            Err(RecordingError::Malformed { .. })
        ));
    }

    #[test]
    fn not_a_recording_and_bad_header_fields() {
        let key = RecordingKey::generate().unwrap();
        assert!(matches!(
            read(b"hello", &key),
            Err(RecordingError::NotARecording)
        ));
        assert!(matches!(
            read(b"HUSH", &key),
            Err(RecordingError::Truncated { .. })
        ));
        let mut bytes = sample(&key);
        bytes[8] = 9;
        assert!(matches!(
            read(&bytes, &key),
            Err(RecordingError::UnsupportedVersion(9))
        ));
        bytes[8] = VERSION;
        bytes[9..11].copy_from_slice(&0x7777u16.to_be_bytes());
        assert!(matches!(
            read(&bytes, &key),
            Err(RecordingError::UnknownSuite(0x7777))
        ));
    }

    #[test]
    fn key_text_round_trip_and_debug_hides_the_key() {
        let key = RecordingKey::from_bytes([0xAB; 32]);
        let text = key.to_hex();
        assert_eq!(
            RecordingKey::from_hex(&text).unwrap().key_id(),
            key.key_id()
        );
        assert!(!format!("{key:?}").contains("abab"));
        assert!(matches!(
            RecordingKey::from_hex("xyz"),
            Err(RecordingError::BadKeyText)
        ));
    }

    #[test]
    fn file_round_trip() {
        let dir = std::env::temp_dir().join(format!("hush-rec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("meeting.hushrec");
        let key = RecordingKey::generate().unwrap();
        let mut r = Recorder::create(&path, &key).unwrap();
        r.record(RecordKind::Data(0x02), 1, "carol", "👍".as_bytes())
            .unwrap();
        r.finish().unwrap();
        let rec = open(&path, &key).unwrap();
        assert_eq!(rec.entries[0].payload, "👍".as_bytes());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reserved_kinds_are_refused() {
        let key = RecordingKey::generate().unwrap();
        let mut r = Recorder::new(Vec::new(), &key, CipherSuite::default_for_this_cpu()).unwrap();
        for k in [KIND_MEDIA, KIND_END] {
            assert!(matches!(
                r.record(RecordKind::Data(k), 0, "a", b""),
                Err(RecordingError::ReservedKind(_))
            ));
        }
        assert_eq!(r.records(), 0);
    }

    #[test]
    fn long_sender_names_are_refused() {
        let key = RecordingKey::generate().unwrap();
        let mut r = Recorder::new(Vec::new(), &key, CipherSuite::default_for_this_cpu()).unwrap();
        let name = "x".repeat(256);
        assert!(matches!(
            r.record(RecordKind::Media, 0, &name, b""),
            Err(RecordingError::SenderTooLong(256))
        ));
    }
}
