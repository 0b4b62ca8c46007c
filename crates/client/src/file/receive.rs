//! The sans-IO [`FileReceiver`]: reassembles each sender's transfers in memory, apart from
//! every other, within [`FileLimits`] (checking, hashing and naming are the
//! [`FileAssembler`]'s).

use std::collections::HashMap;
use std::hash::Hash;

use super::assemble::{FileAssembler, FileLimits, FileStep};
use super::{FileError, SenderId, TransferId};
use crate::blob::DataKind;
use crate::event::DataMessage;

/// A completed transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFile<K> {
    /// Who sent it.
    pub sender: K,
    /// Its transfer id.
    pub transfer: TransferId,
    /// The sender's file name, sanitized ([`sanitize_file_name`](super::sanitize_file_name)):
    /// safe as one path component.
    pub name: String,
    /// The content (its SHA-256 matched).
    pub bytes: Vec<u8>,
}

/// Reassembles the files of every sender in memory, each transfer apart (sans-IO: feed it the
/// data messages, write what it returns): a [`FileAssembler`] that keeps the chunks. `K` names a
/// sender: [`SenderId`] for a live meeting, or whatever the caller can vouch for (e.g. a
/// recording's sender name). For files too large for memory, drive a [`FileAssembler`] and
/// store the chunks elsewhere.
pub struct FileReceiver<K = SenderId> {
    assembler: FileAssembler<K>,
    data: HashMap<(K, TransferId), Vec<u8>>,
}

impl<K> std::fmt::Debug for FileReceiver<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReceiver")
            .field("assembler", &self.assembler)
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
    /// A receiver with these bounds (they bound the memory the content takes).
    pub fn new(limits: FileLimits) -> Self {
        FileReceiver {
            assembler: FileAssembler::new(limits),
            data: HashMap::new(),
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
        match self.assembler.step(sender, kind, payload) {
            Ok(FileStep::Ignored) => Ok(None),
            Ok(FileStep::Started {
                sender, transfer, ..
            }) => {
                self.data.insert((sender, transfer), Vec::new());
                Ok(None)
            }
            Ok(FileStep::Chunk {
                sender,
                transfer,
                bytes,
                ..
            }) => {
                if let Some(d) = self.data.get_mut(&(sender, transfer)) {
                    d.extend_from_slice(bytes);
                }
                Ok(None)
            }
            Ok(FileStep::Completed {
                sender,
                transfer,
                name,
                ..
            }) => {
                let bytes = self
                    .data
                    .remove(&(sender.clone(), transfer))
                    .unwrap_or_default();
                Ok(Some(ReceivedFile {
                    sender,
                    transfer,
                    name,
                    bytes,
                }))
            }
            Err(r) => {
                if let Some(d) = r.dropped {
                    self.data.remove(&(d.sender, d.transfer));
                }
                Err(r.error)
            }
        }
    }

    /// Drops every open transfer of a sender that is not `keep` (e.g. those who left the
    /// roster): their partial content is freed.
    pub fn retain_senders(&mut self, keep: impl Fn(&K) -> bool) {
        for d in self.assembler.retain_senders(keep) {
            self.data.remove(&(d.sender, d.transfer));
        }
    }

    /// How many transfers are open.
    pub fn open_transfers(&self) -> usize {
        self.assembler.open_transfers()
    }

    /// Bytes reserved by the open transfers (sum of their declared sizes).
    pub fn reserved_bytes(&self) -> u64 {
        self.assembler.reserved_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
