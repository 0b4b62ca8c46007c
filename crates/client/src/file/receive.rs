//! The sans-IO [`FileReceiver`]: reassembles each sender's transfers apart from every other,
//! within [`FileLimits`], checks each file's SHA-256 and sanitizes its name.

use std::collections::HashMap;
use std::hash::Hash;

use sha2::{Digest, Sha256};

use super::message::{check_name, id_of};
use super::{FileError, SenderId, TransferId, sanitize_file_name};
use crate::blob::DataKind;
use crate::event::DataMessage;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
