//! File transfer over data messages (SPEC §11.2.1): the wire format, the sending side
//! ([`crate::Meeting::send_file`]) and a sans-IO [`FileReceiver`] that reassembles each
//! transfer apart from every other, within bounds, and sanitizes the sender's file name.
//!
//! A transfer is `FileStart`, then `FileChunk`s, then `FileEnd`, all from one sender on its
//! reliable, ordered path; every message carries the sender's random 8-byte transfer id:
//!
//! ```text
//! FileStart (0x05) = transfer_id (8) || size u64 || name_len u8 || name (UTF-8, 1..=255 bytes)
//! FileChunk (0x04) = transfer_id (8) || bytes
//! FileEnd   (0x06) = transfer_id (8) || SHA-256(content) (32)
//! ```
//!
//! The name travels inside the sealed data messages (end-to-end encrypted); the relay sees only
//! their number and sizes. A receiver keys transfers by (sender, transfer id), where the sender
//! is its roster identity ([`SenderId`]), so nobody can write into another sender's transfer,
//! whatever its display name or transfer id.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use hush_group::IdentityKey;
use sha2::{Digest, Sha256};

use crate::blob::DataKind;
use crate::event::{DataMessage, MediaFrame};

/// Longest file name on the wire, in bytes of UTF-8.
pub const MAX_FILE_NAME: usize = 255;
/// Longest name [`sanitize_file_name`] returns, in bytes (room for a ` (N)` suffix within the
/// usual 255-byte file name limit).
pub const MAX_SAVED_NAME: usize = 200;
/// Bytes of file content per `FileChunk` that [`crate::Meeting::send_file`] sends.
pub const FILE_CHUNK: usize = 16 * 1024;
/// Length of a transfer id.
pub const TRANSFER_ID_LEN: usize = 8;

/// A transfer's id: 8 random bytes chosen by the sender.
pub type TransferId = [u8; TRANSFER_ID_LEN];

/// `FileStart` payload.
pub(crate) fn encode_start(id: &TransferId, size: u64, name: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(TRANSFER_ID_LEN + 9 + name.len());
    p.extend_from_slice(id);
    p.extend_from_slice(&size.to_be_bytes());
    // The caller checked 1..=MAX_FILE_NAME bytes.
    p.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    p.extend_from_slice(name.as_bytes());
    p
}

/// `FileChunk` payload.
pub(crate) fn encode_chunk(id: &TransferId, bytes: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(TRANSFER_ID_LEN + bytes.len());
    p.extend_from_slice(id);
    p.extend_from_slice(bytes);
    p
}

/// `FileEnd` payload.
pub(crate) fn encode_end(id: &TransferId, sha256: &[u8; 32]) -> Vec<u8> {
    let mut p = Vec::with_capacity(TRANSFER_ID_LEN + 32);
    p.extend_from_slice(id);
    p.extend_from_slice(sha256);
    p
}

/// Checks a file name for sending: 1..=[`MAX_FILE_NAME`] bytes.
pub(crate) fn check_name(name: &str) -> Result<(), FileError> {
    if name.is_empty() || name.len() > MAX_FILE_NAME {
        return Err(FileError::BadName);
    }
    Ok(())
}

/// Who sent a data message or media frame, to keep their files apart: the sender's roster
/// identity in e2ee mode; in transport mode (no roster) its sender index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenderId {
    /// The identity key in the epoch's host-signed roster.
    Identity(IdentityKey),
    /// Transport mode: the sender index the key service assigned.
    Index(u16),
}

impl SenderId {
    /// The sender of a data message.
    pub fn of(msg: &DataMessage) -> Self {
        msg.sender_identity
            .map_or(SenderId::Index(msg.sender), SenderId::Identity)
    }

    /// The sender of a media frame.
    pub fn of_media(frame: &MediaFrame) -> Self {
        frame
            .sender_identity
            .map_or(SenderId::Index(frame.sender), SenderId::Identity)
    }
}

/// What a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// Largest file (declared size), in bytes.
    pub max_file_size: u64,
    /// Most transfers one sender may have open at once.
    pub max_transfers_per_sender: usize,
    /// Most bytes (sum of declared sizes) one sender's open transfers may hold.
    pub max_bytes_per_sender: u64,
    /// Most bytes (sum of declared sizes) all open transfers may hold.
    pub max_total_bytes: u64,
}

impl Default for FileLimits {
    /// 64 MiB per file, 4 open transfers and 128 MiB per sender, 512 MiB in all.
    fn default() -> Self {
        FileLimits {
            max_file_size: 64 << 20,
            max_transfers_per_sender: 4,
            max_bytes_per_sender: 128 << 20,
            max_total_bytes: 512 << 20,
        }
    }
}

/// Why a file message was refused. The transfer it belonged to, if any, is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Too short, or a bad name length.
    #[error("malformed file message")]
    Malformed,
    /// The file name is empty, longer than 255 bytes, or not UTF-8.
    #[error("bad file name")]
    BadName,
    /// The declared size is over the limit.
    #[error("file of {size} bytes is over the limit of {max}")]
    TooLarge {
        /// Declared size.
        size: u64,
        /// [`FileLimits::max_file_size`].
        max: u64,
    },
    /// The sender already has the most open transfers allowed.
    #[error("too many transfers open from this sender (at most {max})")]
    TooManyTransfers {
        /// [`FileLimits::max_transfers_per_sender`].
        max: usize,
    },
    /// The sender's (or everyone's) open transfers would hold too many bytes.
    #[error("too many bytes in open transfers (at most {max})")]
    OverBudget {
        /// The limit hit.
        max: u64,
    },
    /// A `FileStart` for a transfer id this sender already has open.
    #[error("duplicate transfer id")]
    DuplicateTransfer,
    /// A chunk or end for no open transfer of this sender.
    #[error("no such transfer")]
    UnknownTransfer,
    /// More bytes than the declared size.
    #[error("more bytes than the declared {size}")]
    Overrun {
        /// Declared size.
        size: u64,
    },
    /// The end came before the declared size.
    #[error("{got} bytes of the declared {size}")]
    Incomplete {
        /// Declared size.
        size: u64,
        /// Received.
        got: u64,
    },
    /// The content's SHA-256 differs from the one in `FileEnd`.
    #[error("content hash mismatch")]
    HashMismatch,
}

/// A completed transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFile<K> {
    /// Who sent it.
    pub sender: K,
    /// Its transfer id.
    pub transfer: TransferId,
    /// The sender's file name, sanitized ([`sanitize_file_name`]): safe as one path component.
    pub name: String,
    /// The content (its SHA-256 matched).
    pub bytes: Vec<u8>,
}

struct Transfer {
    name: String,
    size: u64,
    data: Vec<u8>,
    hash: Sha256,
}

#[derive(Default)]
struct Budget {
    transfers: usize,
    bytes: u64,
}

/// Reassembles the files of every sender, each transfer apart (sans-IO: feed it the data
/// messages, write what it returns). `K` names a sender: [`SenderId`] for a live meeting, or
/// whatever the caller can vouch for (e.g. a recording's sender name).
pub struct FileReceiver<K = SenderId> {
    limits: FileLimits,
    transfers: HashMap<(K, TransferId), Transfer>,
    budgets: HashMap<K, Budget>,
    total: u64,
}

impl<K> std::fmt::Debug for FileReceiver<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReceiver")
            .field("limits", &self.limits)
            .field("open", &self.transfers.len())
            .field("total", &self.total)
            .finish()
    }
}

fn id_of(p: &[u8]) -> Result<(TransferId, &[u8]), FileError> {
    let (id, rest) = p
        .split_first_chunk::<TRANSFER_ID_LEN>()
        .ok_or(FileError::Malformed)?;
    Ok((*id, rest))
}

impl FileReceiver<SenderId> {
    /// Feeds one data message of a live meeting; see [`FileReceiver::feed`].
    pub fn on_message(
        &mut self,
        msg: &DataMessage,
    ) -> Result<Option<ReceivedFile<SenderId>>, FileError> {
        self.feed(SenderId::of(msg), msg.kind, &msg.payload)
    }
}

impl<K: Eq + Hash + Clone> FileReceiver<K> {
    /// A receiver with these bounds.
    pub fn new(limits: FileLimits) -> Self {
        FileReceiver {
            limits,
            transfers: HashMap::new(),
            budgets: HashMap::new(),
            total: 0,
        }
    }

    /// Feeds one data message from `sender`. Other kinds than the three file kinds are ignored
    /// (`Ok(None)`), as are a `FileStart` and a chunk that are accepted; a `FileEnd` that
    /// completes a transfer returns the file. A refused message drops the transfer it names.
    pub fn feed(
        &mut self,
        sender: K,
        kind: DataKind,
        payload: &[u8],
    ) -> Result<Option<ReceivedFile<K>>, FileError> {
        match kind {
            DataKind::FileStart => self.start(sender, payload).map(|()| None),
            DataKind::FileChunk => self.chunk(sender, payload).map(|()| None),
            DataKind::FileEnd => self.end(sender, payload).map(Some),
            _ => Ok(None),
        }
    }

    fn start(&mut self, sender: K, payload: &[u8]) -> Result<(), FileError> {
        let (id, rest) = id_of(payload)?;
        let (size, rest) = rest.split_first_chunk::<8>().ok_or(FileError::Malformed)?;
        let size = u64::from_be_bytes(*size);
        let (&len, name) = rest.split_first().ok_or(FileError::Malformed)?;
        if name.len() != usize::from(len) {
            return Err(FileError::Malformed);
        }
        let name = std::str::from_utf8(name).map_err(|_| FileError::BadName)?;
        check_name(name)?;
        if size > self.limits.max_file_size {
            return Err(FileError::TooLarge {
                size,
                max: self.limits.max_file_size,
            });
        }
        let key = (sender.clone(), id);
        if self.transfers.contains_key(&key) {
            // The open transfer is dropped too: the sender reused its id.
            self.drop_transfer(&key);
            return Err(FileError::DuplicateTransfer);
        }
        let b = self.budgets.entry(sender.clone()).or_default();
        if b.transfers >= self.limits.max_transfers_per_sender {
            return Err(FileError::TooManyTransfers {
                max: self.limits.max_transfers_per_sender,
            });
        }
        if b.bytes.saturating_add(size) > self.limits.max_bytes_per_sender {
            return Err(FileError::OverBudget {
                max: self.limits.max_bytes_per_sender,
            });
        }
        if self.total.saturating_add(size) > self.limits.max_total_bytes {
            return Err(FileError::OverBudget {
                max: self.limits.max_total_bytes,
            });
        }
        b.transfers += 1;
        b.bytes += size;
        self.total += size;
        self.transfers.insert(
            key,
            Transfer {
                name: sanitize_file_name(name),
                size,
                data: Vec::new(),
                hash: Sha256::new(),
            },
        );
        Ok(())
    }

    fn chunk(&mut self, sender: K, payload: &[u8]) -> Result<(), FileError> {
        let (id, bytes) = id_of(payload)?;
        let key = (sender, id);
        let t = self
            .transfers
            .get_mut(&key)
            .ok_or(FileError::UnknownTransfer)?;
        let got = (t.data.len() as u64).saturating_add(bytes.len() as u64);
        if got > t.size {
            let size = t.size;
            self.drop_transfer(&key);
            return Err(FileError::Overrun { size });
        }
        t.data.extend_from_slice(bytes);
        t.hash.update(bytes);
        Ok(())
    }

    fn end(&mut self, sender: K, payload: &[u8]) -> Result<ReceivedFile<K>, FileError> {
        let (id, hash) = id_of(payload)?;
        let key = (sender, id);
        if !self.transfers.contains_key(&key) {
            return Err(FileError::UnknownTransfer);
        }
        let t = self.drop_transfer(&key).ok_or(FileError::UnknownTransfer)?;
        let hash: [u8; 32] = hash.try_into().map_err(|_| FileError::Malformed)?;
        let got = t.data.len() as u64;
        if got != t.size {
            return Err(FileError::Incomplete { size: t.size, got });
        }
        let mine: [u8; 32] = t.hash.finalize().into();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&mine[..], &hash[..])) {
            return Err(FileError::HashMismatch);
        }
        let (sender, transfer) = key;
        Ok(ReceivedFile {
            sender,
            transfer,
            name: t.name,
            bytes: t.data,
        })
    }

    fn drop_transfer(&mut self, key: &(K, TransferId)) -> Option<Transfer> {
        let t = self.transfers.remove(key)?;
        if let Some(b) = self.budgets.get_mut(&key.0) {
            b.transfers = b.transfers.saturating_sub(1);
            b.bytes = b.bytes.saturating_sub(t.size);
            if b.transfers == 0 {
                self.budgets.remove(&key.0);
            }
        }
        self.total = self.total.saturating_sub(t.size);
        Some(t)
    }

    /// Drops every open transfer of a sender that is not `keep` (e.g. those who left the
    /// roster): their partial content is freed.
    pub fn retain_senders(&mut self, keep: impl Fn(&K) -> bool) {
        let gone: Vec<(K, TransferId)> = self
            .transfers
            .keys()
            .filter(|(k, _)| !keep(k))
            .cloned()
            .collect();
        for key in gone {
            self.drop_transfer(&key);
        }
    }

    /// How many transfers are open.
    pub fn open_transfers(&self) -> usize {
        self.transfers.len()
    }

    /// Bytes reserved by the open transfers (sum of their declared sizes).
    pub fn reserved_bytes(&self) -> u64 {
        self.total
    }
}

/// Characters that reorder or hide text (bidi controls, zero-width characters, BOM).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A file name from another party made safe as one path component: path separators, control,
/// bidi and invisible characters and `: * ? " < > |` become `_`; leading dots and spaces and
/// trailing dots and spaces are dropped; at most [`MAX_SAVED_NAME`] bytes (cut at a character
/// boundary); empty becomes `file`.
pub fn sanitize_file_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            let bad = c.is_control()
                || is_invisible(c)
                || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|');
            if bad { '_' } else { c }
        })
        .collect();
    let mut s = replaced.trim_start_matches(['.', ' ']);
    if s.len() > MAX_SAVED_NAME {
        let mut cut = MAX_SAVED_NAME;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s = &s[..cut];
    }
    let s = s.trim_end_matches(['.', ' ']);
    if s.is_empty() {
        "file".to_owned()
    } else {
        s.to_owned()
    }
}

/// `name` with ` (n)` before its extension: `notes.pdf` → `notes (1).pdf`, `Bob` → `Bob (1)`.
fn with_suffix(name: &str, n: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({n})"),
    }
}

/// Creates a new file named `name` (one path component, e.g. from [`sanitize_file_name`]) in
/// `dir`, never opening an existing one: on a collision it tries `name (1)`, `name (2)`, ...
/// (before the extension). Returns the file and its path.
pub fn create_unique(dir: &Path, name: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
    const TRIES: u32 = 10_000;
    for n in 0..TRIES {
        let candidate = if n == 0 {
            name.to_owned()
        } else {
            with_suffix(name, n)
        };
        let path = dir.join(&candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{TRIES} files named like {name:?} already exist"),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits() -> FileLimits {
        FileLimits {
            max_file_size: 100,
            max_transfers_per_sender: 2,
            max_bytes_per_sender: 150,
            max_total_bytes: 250,
        }
    }

    fn end_for(id: &TransferId, content: &[u8]) -> Vec<u8> {
        encode_end(id, &Sha256::digest(content).into())
    }

    type R = FileReceiver<&'static str>;

    fn send_all(r: &mut R, who: &'static str, id: TransferId, name: &str, content: &[u8]) {
        r.feed(
            who,
            DataKind::FileStart,
            &encode_start(&id, content.len() as u64, name),
        )
        .unwrap();
        for c in content.chunks(7) {
            r.feed(who, DataKind::FileChunk, &encode_chunk(&id, c))
                .unwrap();
        }
    }

    #[test]
    fn a_transfer_round_trips_with_its_sanitized_name() {
        let mut r = R::new(limits());
        let content = b"the quarterly numbers".to_vec();
        send_all(&mut r, "bob", [1; 8], "../../etc/notes.pdf", &content);
        let f = r
            .feed("bob", DataKind::FileEnd, &end_for(&[1; 8], &content))
            .unwrap()
            .unwrap();
        assert_eq!(f.sender, "bob");
        assert_eq!(f.name, "_.._etc_notes.pdf");
        assert_eq!(f.bytes, content);
        assert_eq!(r.open_transfers(), 0);
        assert_eq!(r.reserved_bytes(), 0);
        // Other kinds are not file messages.
        assert_eq!(r.feed("bob", DataKind::Chat, b"hi"), Ok(None));
    }

    #[test]
    fn abuse_two_senders_with_one_transfer_id_stay_apart() {
        let mut r = R::new(limits());
        send_all(&mut r, "alice-1", [7; 8], "a.txt", b"first alice");
        send_all(&mut r, "alice-2", [7; 8], "a.txt", b"second alice!");
        // A chunk of alice-2 cannot land in alice-1's transfer.
        let a1 = r
            .feed(
                "alice-1",
                DataKind::FileEnd,
                &end_for(&[7; 8], b"first alice"),
            )
            .unwrap()
            .unwrap();
        let a2 = r
            .feed(
                "alice-2",
                DataKind::FileEnd,
                &end_for(&[7; 8], b"second alice!"),
            )
            .unwrap()
            .unwrap();
        assert_eq!(a1.bytes, b"first alice");
        assert_eq!(a2.bytes, b"second alice!");
    }

    #[test]
    fn abuse_oversize_file_is_refused_at_start_and_by_overrun() {
        let mut r = R::new(limits());
        assert_eq!(
            r.feed("m", DataKind::FileStart, &encode_start(&[1; 8], 101, "x")),
            Err(FileError::TooLarge {
                size: 101,
                max: 100
            })
        );
        assert_eq!(r.open_transfers(), 0);
        // Declares 10, sends 11: refused and dropped.
        r.feed("m", DataKind::FileStart, &encode_start(&[2; 8], 10, "x"))
            .unwrap();
        r.feed("m", DataKind::FileChunk, &encode_chunk(&[2; 8], &[0; 6]))
            .unwrap();
        assert_eq!(
            r.feed("m", DataKind::FileChunk, &encode_chunk(&[2; 8], &[0; 5])),
            Err(FileError::Overrun { size: 10 })
        );
        assert_eq!(r.open_transfers(), 0);
        assert_eq!(r.reserved_bytes(), 0);
        assert_eq!(
            r.feed("m", DataKind::FileChunk, &encode_chunk(&[2; 8], &[0; 1])),
            Err(FileError::UnknownTransfer)
        );
    }

    #[test]
    fn abuse_too_many_transfers_and_too_many_bytes_per_sender() {
        let mut r = R::new(limits());
        r.feed("m", DataKind::FileStart, &encode_start(&[1; 8], 10, "a"))
            .unwrap();
        r.feed("m", DataKind::FileStart, &encode_start(&[2; 8], 10, "b"))
            .unwrap();
        assert_eq!(
            r.feed("m", DataKind::FileStart, &encode_start(&[3; 8], 10, "c")),
            Err(FileError::TooManyTransfers { max: 2 })
        );
        // Someone else is not held back by m.
        r.feed("n", DataKind::FileStart, &encode_start(&[3; 8], 100, "c"))
            .unwrap();
        // Bytes: n has 100 of 150 reserved.
        assert_eq!(
            r.feed("n", DataKind::FileStart, &encode_start(&[4; 8], 51, "d")),
            Err(FileError::OverBudget { max: 150 })
        );
        // Total: 120 reserved of 250; o may reserve 100 but not then 100 more via p.
        r.feed("o", DataKind::FileStart, &encode_start(&[5; 8], 100, "e"))
            .unwrap();
        assert_eq!(
            r.feed("p", DataKind::FileStart, &encode_start(&[6; 8], 100, "f")),
            Err(FileError::OverBudget { max: 250 })
        );
        // Leaving frees the reservation.
        r.retain_senders(|k| *k != "o");
        r.feed("p", DataKind::FileStart, &encode_start(&[6; 8], 100, "f"))
            .unwrap();
    }

    #[test]
    fn abuse_unknown_duplicate_incomplete_tampered_and_malformed_are_refused() {
        let mut r = R::new(limits());
        assert_eq!(
            r.feed("m", DataKind::FileChunk, &encode_chunk(&[9; 8], b"x")),
            Err(FileError::UnknownTransfer)
        );
        assert_eq!(
            r.feed("m", DataKind::FileEnd, &end_for(&[9; 8], b"")),
            Err(FileError::UnknownTransfer)
        );
        // A chunk for another sender's transfer id is unknown for this sender.
        send_all(&mut r, "bob", [1; 8], "f", b"abc");
        assert_eq!(
            r.feed("eve", DataKind::FileChunk, &encode_chunk(&[1; 8], b"evil")),
            Err(FileError::UnknownTransfer)
        );
        // Duplicate start: refused, and the open transfer is dropped.
        assert_eq!(
            r.feed("bob", DataKind::FileStart, &encode_start(&[1; 8], 3, "f")),
            Err(FileError::DuplicateTransfer)
        );
        assert_eq!(r.open_transfers(), 0);
        // Incomplete.
        send_all(&mut r, "bob", [2; 8], "f", b"abc");
        r.feed("bob", DataKind::FileStart, &encode_start(&[3; 8], 4, "g"))
            .unwrap();
        assert_eq!(
            r.feed("bob", DataKind::FileEnd, &end_for(&[3; 8], b"")),
            Err(FileError::Incomplete { size: 4, got: 0 })
        );
        // Wrong hash.
        assert_eq!(
            r.feed("bob", DataKind::FileEnd, &end_for(&[2; 8], b"abd")),
            Err(FileError::HashMismatch)
        );
        assert_eq!(r.open_transfers(), 0);
        // Malformed: short, bad name length, empty or non-UTF-8 name.
        for bad in [
            &b"1234567"[..],
            &encode_start(&[4; 8], 1, "abc")[..19],
            &[&[4u8; 8][..], &1u64.to_be_bytes(), &[0]].concat(),
            &[&[4u8; 8][..], &1u64.to_be_bytes(), &[1, 0xFF]].concat(),
        ] {
            assert!(r.feed("bob", DataKind::FileStart, bad).is_err(), "{bad:?}");
        }
        assert!(r.feed("bob", DataKind::FileChunk, b"short").is_err());
        assert!(r.feed("bob", DataKind::FileEnd, &[1; 8]).is_err());
        assert_eq!(r.open_transfers(), 0);
    }

    #[test]
    fn hostile_file_names_are_sanitized() {
        for (name, want) in [
            ("notes.pdf", "notes.pdf"),
            ("..", "file"),
            (".", "file"),
            ("", "file"),
            ("../../etc/x", "_.._etc_x"),
            ("/etc/passwd", "_etc_passwd"),
            ("..\\..\\win.ini", "_.._win.ini"),
            (".bashrc", "bashrc"),
            ("a\nb\x1b[8m", "a_b_[8m"),
            ("evil\u{202E}fdp.exe", "evil_fdp.exe"),
            ("trailing. . ", "trailing"),
            ("C:x", "C_x"),
        ] {
            assert_eq!(sanitize_file_name(name), want, "{name:?}");
        }
        let long = "é".repeat(200);
        let s = sanitize_file_name(&long);
        assert!(s.len() <= MAX_SAVED_NAME && s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn create_unique_never_reuses_a_file() {
        let dir = std::env::temp_dir().join(format!("hush-file-unique-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (_, a) = create_unique(&dir, "notes.pdf").unwrap();
        let (_, b) = create_unique(&dir, "notes.pdf").unwrap();
        let (_, c) = create_unique(&dir, "notes.pdf").unwrap();
        let (_, d) = create_unique(&dir, "Bob").unwrap();
        let (_, e) = create_unique(&dir, "Bob").unwrap();
        assert_eq!(a, dir.join("notes.pdf"));
        assert_eq!(b, dir.join("notes (1).pdf"));
        assert_eq!(c, dir.join("notes (2).pdf"));
        assert_eq!(d, dir.join("Bob"));
        assert_eq!(e, dir.join("Bob (1)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
