//! The sans-IO [`FileAssembler`]: checks each sender's transfers apart from every other, within
//! [`FileLimits`], hashes the content as it passes and sanitizes the name, but stores nothing:
//! each accepted chunk is handed back ([`FileStep::Chunk`]) for the caller to keep (in memory:
//! [`FileReceiver`](super::FileReceiver); on disk: `hush join --recv-dir`), and a transfer is
//! [`Completed`](FileStep::Completed) only when every declared byte arrived and the SHA-256
//! matched. A transfer that ends any other way is named in [`Refused::dropped`] or returned by
//! [`FileAssembler::retain_senders`] / [`FileAssembler::drain_open`], so a caller can remove what
//! it kept and say so: a truncated file is never kept silently.

use std::collections::HashMap;
use std::hash::Hash;

use sha2::{Digest, Sha256};

use super::message::{check_name, id_of};
use super::{FileError, TransferId, sanitize_file_name};
use crate::blob::DataKind;

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
    /// For content kept in memory: 64 MiB per file, 4 open transfers and 128 MiB per sender,
    /// 512 MiB in all.
    fn default() -> Self {
        FileLimits {
            max_file_size: 64 << 20,
            max_transfers_per_sender: 4,
            max_bytes_per_sender: 128 << 20,
            max_total_bytes: 512 << 20,
        }
    }
}

impl FileLimits {
    /// For content streamed to disk (`hush join --recv-dir`): 2 GiB per file, 4 open transfers
    /// and 4 GiB per sender, 8 GiB in all.
    pub fn on_disk() -> Self {
        FileLimits {
            max_file_size: 2 << 30,
            max_transfers_per_sender: 4,
            max_bytes_per_sender: 4 << 30,
            max_total_bytes: 8 << 30,
        }
    }
}

/// What one accepted file message did.
#[derive(Debug, PartialEq, Eq)]
pub enum FileStep<'a, K> {
    /// Not a file message: nothing to do.
    Ignored,
    /// A transfer opened: its sanitized name and declared size.
    Started {
        /// Who sends it.
        sender: K,
        /// Its id.
        transfer: TransferId,
        /// The sender's file name, sanitized (safe as one path component).
        name: String,
        /// Declared size in bytes.
        size: u64,
    },
    /// The next bytes of an open transfer, in order, within its declared size.
    Chunk {
        /// Who sends it.
        sender: K,
        /// Its id.
        transfer: TransferId,
        /// The bytes.
        bytes: &'a [u8],
        /// Bytes of the transfer so far, these included.
        received: u64,
        /// Declared size.
        size: u64,
    },
    /// Every declared byte arrived and the SHA-256 matched: the kept content is the file.
    Completed {
        /// Who sent it.
        sender: K,
        /// Its id.
        transfer: TransferId,
        /// Sanitized name.
        name: String,
        /// Size in bytes.
        size: u64,
    },
}

/// A refused file message: why, and the open transfer it ended (whose kept bytes are now
/// garbage), if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Refused<K> {
    /// Why.
    pub error: FileError,
    /// The transfer this message ended.
    pub dropped: Option<Dropped<K>>,
}

/// An open transfer that ended without completing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped<K> {
    /// Who sent it.
    pub sender: K,
    /// Its id.
    pub transfer: TransferId,
    /// Sanitized name.
    pub name: String,
    /// Bytes received.
    pub received: u64,
    /// Declared size.
    pub size: u64,
}

struct Open {
    name: String,
    size: u64,
    received: u64,
    hash: Sha256,
}

#[derive(Default)]
struct Budget {
    transfers: usize,
    bytes: u64,
}

/// Checks and hashes every sender's transfers (see the module docs). `K` names a sender.
pub struct FileAssembler<K> {
    limits: FileLimits,
    open: HashMap<(K, TransferId), Open>,
    budgets: HashMap<K, Budget>,
    total: u64,
}

impl<K> std::fmt::Debug for FileAssembler<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAssembler")
            .field("limits", &self.limits)
            .field("open", &self.open.len())
            .field("total", &self.total)
            .finish()
    }
}

fn refused<K>(error: FileError) -> Refused<K> {
    Refused {
        error,
        dropped: None,
    }
}

impl<K: Eq + Hash + Clone> FileAssembler<K> {
    /// An assembler with these bounds.
    pub fn new(limits: FileLimits) -> Self {
        FileAssembler {
            limits,
            open: HashMap::new(),
            budgets: HashMap::new(),
            total: 0,
        }
    }

    /// Feeds one data message from `sender`; other kinds than the three file kinds are
    /// [`FileStep::Ignored`]. A refused message ends the transfer it names (see [`Refused`]).
    pub fn step<'a>(
        &mut self,
        sender: K,
        kind: DataKind,
        payload: &'a [u8],
    ) -> Result<FileStep<'a, K>, Refused<K>> {
        match kind {
            DataKind::FileStart => self.start(sender, payload),
            DataKind::FileChunk => self.chunk(sender, payload),
            DataKind::FileEnd => self.end(sender, payload),
            _ => Ok(FileStep::Ignored),
        }
    }

    fn start<'a>(&mut self, sender: K, payload: &[u8]) -> Result<FileStep<'a, K>, Refused<K>> {
        let (id, rest) = id_of(payload).map_err(refused)?;
        let (size, rest) = rest
            .split_first_chunk::<8>()
            .ok_or(refused(FileError::Malformed))?;
        let size = u64::from_be_bytes(*size);
        let (&len, name) = rest.split_first().ok_or(refused(FileError::Malformed))?;
        if name.len() != usize::from(len) {
            return Err(refused(FileError::Malformed));
        }
        let name = std::str::from_utf8(name).map_err(|_| refused(FileError::BadName))?;
        check_name(name).map_err(refused)?;
        if size > self.limits.max_file_size {
            return Err(refused(FileError::TooLarge {
                size,
                max: self.limits.max_file_size,
            }));
        }
        let key = (sender.clone(), id);
        if self.open.contains_key(&key) {
            // The open transfer is dropped too: the sender reused its id.
            return Err(Refused {
                error: FileError::DuplicateTransfer,
                dropped: self.drop_transfer(&key),
            });
        }
        let b = self.budgets.entry(sender.clone()).or_default();
        if b.transfers >= self.limits.max_transfers_per_sender {
            return Err(refused(FileError::TooManyTransfers {
                max: self.limits.max_transfers_per_sender,
            }));
        }
        if b.bytes.saturating_add(size) > self.limits.max_bytes_per_sender {
            return Err(refused(FileError::OverBudget {
                max: self.limits.max_bytes_per_sender,
            }));
        }
        if self.total.saturating_add(size) > self.limits.max_total_bytes {
            return Err(refused(FileError::OverBudget {
                max: self.limits.max_total_bytes,
            }));
        }
        b.transfers += 1;
        b.bytes += size;
        self.total += size;
        let name = sanitize_file_name(name);
        self.open.insert(
            key,
            Open {
                name: name.clone(),
                size,
                received: 0,
                hash: Sha256::new(),
            },
        );
        Ok(FileStep::Started {
            sender,
            transfer: id,
            name,
            size,
        })
    }

    fn chunk<'a>(&mut self, sender: K, payload: &'a [u8]) -> Result<FileStep<'a, K>, Refused<K>> {
        let (id, bytes) = id_of(payload).map_err(refused)?;
        let key = (sender, id);
        let t = self
            .open
            .get_mut(&key)
            .ok_or(refused(FileError::UnknownTransfer))?;
        let received = t.received.saturating_add(bytes.len() as u64);
        if received > t.size {
            let size = t.size;
            return Err(Refused {
                error: FileError::Overrun { size },
                dropped: self.drop_transfer(&key),
            });
        }
        t.received = received;
        t.hash.update(bytes);
        let size = t.size;
        let (sender, transfer) = key;
        Ok(FileStep::Chunk {
            sender,
            transfer,
            bytes,
            received,
            size,
        })
    }

    fn end<'a>(&mut self, sender: K, payload: &[u8]) -> Result<FileStep<'a, K>, Refused<K>> {
        let (id, hash) = id_of(payload).map_err(refused)?;
        let key = (sender, id);
        let Some(t) = self.remove(&key) else {
            return Err(refused(FileError::UnknownTransfer));
        };
        let (sender, transfer) = key;
        let dropped = |error| Refused {
            error,
            dropped: Some(Dropped {
                sender: sender.clone(),
                transfer,
                name: t.name.clone(),
                received: t.received,
                size: t.size,
            }),
        };
        let Ok(hash) = <[u8; 32]>::try_from(hash) else {
            return Err(dropped(FileError::Malformed));
        };
        if t.received != t.size {
            return Err(dropped(FileError::Incomplete {
                size: t.size,
                got: t.received,
            }));
        }
        let mine: [u8; 32] = t.hash.finalize().into();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&mine[..], &hash[..])) {
            return Err(dropped(FileError::HashMismatch));
        }
        Ok(FileStep::Completed {
            sender,
            transfer,
            name: t.name,
            size: t.size,
        })
    }

    fn remove(&mut self, key: &(K, TransferId)) -> Option<Open> {
        let t = self.open.remove(key)?;
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

    fn drop_transfer(&mut self, key: &(K, TransferId)) -> Option<Dropped<K>> {
        let t = self.remove(key)?;
        Some(Dropped {
            sender: key.0.clone(),
            transfer: key.1,
            name: t.name,
            received: t.received,
            size: t.size,
        })
    }

    /// Ends every open transfer of a sender that `keep` refuses (e.g. those who left the
    /// roster) and returns them.
    pub fn retain_senders(&mut self, keep: impl Fn(&K) -> bool) -> Vec<Dropped<K>> {
        let gone: Vec<(K, TransferId)> = self
            .open
            .keys()
            .filter(|(k, _)| !keep(k))
            .cloned()
            .collect();
        gone.iter().filter_map(|k| self.drop_transfer(k)).collect()
    }

    /// Ends every open transfer (the meeting is over) and returns them.
    pub fn drain_open(&mut self) -> Vec<Dropped<K>> {
        self.retain_senders(|_| false)
    }

    /// How many transfers are open.
    pub fn open_transfers(&self) -> usize {
        self.open.len()
    }

    /// Bytes reserved by the open transfers (sum of their declared sizes).
    pub fn reserved_bytes(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::file::message::{encode_chunk, encode_end, encode_start};

    type A = FileAssembler<&'static str>;

    fn limits() -> FileLimits {
        FileLimits {
            max_file_size: 100,
            max_transfers_per_sender: 2,
            max_bytes_per_sender: 150,
            max_total_bytes: 250,
        }
    }

    /// The steps of a streamed transfer: the name and size first, the bytes in order with the
    /// running count, then completion only once the hash matched.
    #[test]
    fn a_streamed_transfer_reports_each_step() {
        let mut a = A::new(limits());
        let id = [4; 8];
        let msg = encode_start(&id, 10, "a/b.txt");
        let step = a.step("bob", DataKind::FileStart, &msg).unwrap();
        assert!(
            matches!(step, FileStep::Started { size: 10, ref name, .. } if *name == sanitize_file_name("a/b.txt"))
        );
        for (i, c) in b"0123456789".chunks(4).enumerate() {
            let msg = encode_chunk(&id, c);
            match a.step("bob", DataKind::FileChunk, &msg).unwrap() {
                FileStep::Chunk {
                    bytes, received, ..
                } => {
                    assert_eq!(bytes, c);
                    assert_eq!(received, ((i + 1) * 4).min(10) as u64);
                }
                other => panic!("{other:?}"),
            }
        }
        let end = encode_end(&id, &Sha256::digest(b"0123456789").into());
        let step = a.step("bob", DataKind::FileEnd, &end).unwrap();
        assert!(matches!(step, FileStep::Completed { size: 10, .. }));
        assert_eq!((a.open_transfers(), a.reserved_bytes()), (0, 0));
    }

    /// Every way a transfer ends without completing names the transfer, so a caller that kept
    /// its bytes (a partial file on disk) can remove them and say so.
    #[test]
    fn every_unfinished_transfer_is_named_when_it_ends() {
        let mut a = A::new(limits());
        let start = |a: &mut A, id: [u8; 8]| {
            a.step("bob", DataKind::FileStart, &encode_start(&id, 5, "f"))
                .unwrap();
        };
        // Overrun.
        start(&mut a, [1; 8]);
        let r = a
            .step(
                "bob",
                DataKind::FileChunk,
                &encode_chunk(&[1; 8], b"123456"),
            )
            .unwrap_err();
        assert_eq!(r.error, FileError::Overrun { size: 5 });
        assert_eq!(r.dropped.unwrap().transfer, [1; 8]);
        // Incomplete at the end.
        start(&mut a, [2; 8]);
        a.step("bob", DataKind::FileChunk, &encode_chunk(&[2; 8], b"12"))
            .unwrap();
        let end = encode_end(&[2; 8], &Sha256::digest(b"12").into());
        let r = a.step("bob", DataKind::FileEnd, &end).unwrap_err();
        assert_eq!(r.error, FileError::Incomplete { size: 5, got: 2 });
        let d = r.dropped.unwrap();
        assert_eq!((d.received, d.size), (2, 5));
        // Wrong hash.
        start(&mut a, [3; 8]);
        a.step("bob", DataKind::FileChunk, &encode_chunk(&[3; 8], b"12345"))
            .unwrap();
        let end = encode_end(&[3; 8], &[0; 32]);
        let r = a.step("bob", DataKind::FileEnd, &end).unwrap_err();
        assert_eq!(r.error, FileError::HashMismatch);
        assert!(r.dropped.is_some());
        // A reused id ends the open transfer.
        start(&mut a, [5; 8]);
        let r = a
            .step("bob", DataKind::FileStart, &encode_start(&[5; 8], 5, "f"))
            .unwrap_err();
        assert_eq!(r.error, FileError::DuplicateTransfer);
        assert!(r.dropped.is_some());
        // Still open when the sender leaves or the meeting ends.
        start(&mut a, [6; 8]);
        a.step("eve", DataKind::FileStart, &encode_start(&[7; 8], 5, "g"))
            .unwrap();
        let gone = a.retain_senders(|s| *s != "bob");
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].sender, "bob");
        let rest = a.drain_open();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].name, "g");
        assert_eq!((a.open_transfers(), a.reserved_bytes()), (0, 0));
    }

    /// Refusals that name no open transfer drop nothing.
    #[test]
    fn a_refused_start_drops_nothing() {
        let mut a = A::new(limits());
        let r = a
            .step("bob", DataKind::FileStart, &encode_start(&[1; 8], 101, "f"))
            .unwrap_err();
        assert!(matches!(r.error, FileError::TooLarge { .. }));
        assert!(r.dropped.is_none());
        let r = a
            .step("bob", DataKind::FileChunk, &encode_chunk(&[9; 8], b"x"))
            .unwrap_err();
        assert_eq!(r.error, FileError::UnknownTransfer);
    }
}
