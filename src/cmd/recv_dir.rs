//! Where `hush join --recv-dir DIR` writes what it decrypted: each received file under its own
//! sanitized name, each sender's media to `DIR/<sender>.media`, always as new files. `hush
//! recording export` writes the same layout from a recording ([`sanitize`]).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use hush_client::file::{FileLimits, FileReceiver, ReceivedFile, SenderId, create_unique};
use hush_group::names::Escaped;

use super::meeting::quoted;

/// Where received files and each sender's media go (`--recv-dir`).
pub(super) struct Sinks {
    dir: PathBuf,
    /// One media file per sender identity (not per name: names are not unique).
    media: HashMap<SenderId, std::fs::File>,
    files: FileReceiver,
}

/// A sender's display name as a file name (also used by `hush recording export`).
pub(super) fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_owned();
    if s.is_empty() { "_".to_owned() } else { s }
}

/// Who sent something, for a line: `Bob (<full fingerprint>)`, or `#1` in transport mode.
fn sender_line(name: &str, id: Option<&hush_group::IdentityKey>) -> String {
    match id {
        Some(id) => format!("{} ({})", Escaped(name), id.fingerprint()),
        None => Escaped(name).to_string(),
    }
}

impl Sinks {
    pub(super) fn new(dir: PathBuf) -> Self {
        Sinks {
            dir,
            media: HashMap::new(),
            files: FileReceiver::new(FileLimits::default()),
        }
    }

    pub(super) fn media(&mut self, f: &hush_client::MediaFrame) -> anyhow::Result<()> {
        let who = SenderId::of_media(f);
        if !self.media.contains_key(&who) {
            let name = format!("{}.media", sanitize(&f.sender_name));
            let (file, _) = create_unique(&self.dir, &name)
                .with_context(|| format!("cannot create {name} in {}", self.dir.display()))?;
            self.media.insert(who, file);
        }
        if let Some(file) = self.media.get_mut(&who) {
            file.write_all(&f.payload)
                .context("cannot write to --recv-dir")?;
        }
        Ok(())
    }

    /// Feeds a file message; writes and announces a completed file.
    pub(super) fn data(&mut self, d: &hush_client::DataMessage) -> anyhow::Result<()> {
        let from = || sender_line(&d.sender_name, d.sender_identity.as_ref());
        match self.files.on_message(d) {
            Ok(Some(f)) => self.save(&f, &from()),
            Ok(None) => Ok(()),
            Err(e) => {
                eprintln!("file from {} refused: {e}", from());
                Ok(())
            }
        }
    }

    /// Drops the transfers (and their partial content) of senders `keep` refuses.
    pub(super) fn retain_senders(&mut self, keep: impl Fn(&SenderId) -> bool) {
        self.files.retain_senders(keep);
    }

    fn save(&self, f: &ReceivedFile<SenderId>, from: &str) -> anyhow::Result<()> {
        let (mut file, path) = create_unique(&self.dir, &f.name)
            .with_context(|| format!("cannot create a file in {}", self.dir.display()))?;
        file.write_all(&f.bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let saved = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!(
            "received {} ({}) from {from}",
            quoted(&saved),
            super::count(f.bytes.len() as u64, "byte", "bytes")
        );
        Ok(())
    }
}
