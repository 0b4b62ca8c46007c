//! The payload dump (SPEC §7.7): with `--dump-dir`, every payload the relay forwards is written
//! exactly as received, one file per sender per room, each record a `u32` big-endian length then
//! the bytes. Off by default.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hush_wire::ParticipantId;
use hush_wire::reader::Reader;
use hush_wire::sync::lock;

/// Directory name for a room: `room-` then the name's bytes, with `[A-Za-z0-9_-]` kept and every
/// other byte written `%XX` (upper-case hex).
pub fn room_dir_name(room: &str) -> String {
    let mut s = String::from("room-");
    for b in room.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Path of a sender's media dump: `DIR/room-<name>/<id as 16 hex>.media`; blobs go to the same
/// stem with `.blobs`.
pub fn dump_path(dir: &Path, room: &str, id: ParticipantId, ext: &str) -> PathBuf {
    dir.join(room_dir_name(room)).join(format!("{id}.{ext}"))
}

/// One sender's two dump files.
#[derive(Debug)]
pub(crate) struct DumpFiles {
    media: Mutex<Option<BufWriter<File>>>,
    blobs: Mutex<Option<BufWriter<File>>>,
}

fn open(dir: &Path, room: &str, id: ParticipantId, ext: &str) -> Option<BufWriter<File>> {
    let path = dump_path(dir, room, id, ext);
    if let Some(parent) = path.parent()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        tracing::warn!(path = %parent.display(), error = %e, "cannot create dump directory");
        return None;
    }
    match File::create(&path) {
        Ok(f) => Some(BufWriter::with_capacity(64 * 1024, f)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot create dump file");
            None
        }
    }
}

/// Writes one record: `payload`'s length as a `u32` big-endian, then the bytes (the framing
/// [`read_records`] reads back; also the key service's decrypted dump, SPEC §12.4).
///
/// # Errors
/// The writer's error.
pub fn write_record(w: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    w.write_all(&len.to_be_bytes())?;
    w.write_all(payload)
}

fn record(w: &Mutex<Option<BufWriter<File>>>, payload: &[u8]) {
    let mut g = lock(w);
    if let Some(f) = g.as_mut()
        && let Err(e) = write_record(f, payload)
    {
        tracing::warn!(error = %e, "dump write failed; dumping stops for this sender");
        *g = None;
    }
}

impl DumpFiles {
    pub(crate) fn create(dir: &Path, room: &str, id: ParticipantId) -> Self {
        DumpFiles {
            media: Mutex::new(open(dir, room, id, "media")),
            blobs: Mutex::new(open(dir, room, id, "blobs")),
        }
    }

    pub(crate) fn media(&self, frame: &[u8]) {
        record(&self.media, frame);
    }

    pub(crate) fn blob(&self, blob: &[u8]) {
        record(&self.blobs, blob);
    }

    pub(crate) fn flush(&self) {
        for w in [&self.media, &self.blobs] {
            let mut g = lock(w);
            if let Some(f) = g.as_mut() {
                let _ = f.flush();
            }
        }
    }
}

/// Reads a dump file back into its records (for tests and the demo).
pub fn read_records(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let data = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut r = Reader::new(&data);
    while r.remaining() > 0 {
        let rec = r.u32().and_then(|len| r.take(len as usize)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "truncated record")
        })?;
        out.push(rec.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_escaped() {
        assert_eq!(room_dir_name("a-b_C9"), "room-a-b_C9");
        assert_eq!(room_dir_name("../x y"), "room-%2E%2E%2Fx%20y");
    }
}
