//! The decrypted dump (SPEC §12.4): next to the relay's opaque dump (SPEC §7.7), the plaintext of
//! every frame the key service opened, one file per sender per room at
//! `DIR/room-<name>/<participant as 16 hex>.decrypted`, with the relay's record framing
//! (`u32` big-endian length, then the bytes). Read it back with [`hush_relay::dump::read_records`].

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use hush_wire::ParticipantId;

/// File extension of the decrypted dump.
pub const EXTENSION: &str = "decrypted";

/// Path of a sender's decrypted dump in `dir`.
pub fn decrypted_path(dir: &Path, room: &str, id: ParticipantId) -> PathBuf {
    hush_relay::dump::dump_path(dir, room, id, EXTENSION)
}

/// One sender's decrypted dump file, buffered. Opened in append mode, so a room that closes and
/// opens again never loses earlier records. A write error stops this file, logged once.
#[derive(Debug)]
pub(crate) struct DecryptedDump {
    file: Option<BufWriter<File>>,
}

impl DecryptedDump {
    pub(crate) fn open(dir: &Path, room: &str, id: ParticipantId) -> Self {
        let path = decrypted_path(dir, room, id);
        if let Some(parent) = path.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            tracing::warn!(path = %parent.display(), error = %e, "cannot create dump directory");
            return Self { file: None };
        }
        let file = match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => Some(BufWriter::with_capacity(64 * 1024, f)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot create decrypted dump");
                None
            }
        };
        Self { file }
    }

    pub(crate) fn record(&mut self, payload: &[u8]) {
        if let Some(f) = self.file.as_mut()
            && let Err(e) = hush_relay::dump::write_record(f, payload)
        {
            tracing::warn!(error = %e, "decrypted dump write failed; stopping for this sender");
            self.file = None;
        }
    }

    pub(crate) fn flush(&mut self) {
        if let Some(f) = self.file.as_mut()
            && let Err(e) = f.flush()
        {
            tracing::warn!(error = %e, "decrypted dump flush failed; stopping for this sender");
            self.file = None;
        }
    }
}
