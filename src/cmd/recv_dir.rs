//! Where `hush join --recv-dir DIR` writes what it decrypted: each received file under its own
//! sanitized name, each sender's media to `DIR/<sender>.media`, always as new files. `hush
//! recording export` writes the same layout from a recording ([`sanitize`]).
//!
//! Files are streamed to disk as they arrive (`DIR/<name>.part`, within
//! [`FileLimits::on_disk`]) and take their name only once every declared byte arrived and the
//! hash matched. A transfer that ends any other way (refused, its sender gone, the meeting over)
//! has its partial file removed with one line saying so: a truncated file is never kept.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use hush_client::file::{
    Dropped, FileAssembler, FileLimits, FileStep, SenderId, TransferId, create_unique,
};
use hush_group::names::Escaped;

use super::meeting::quoted;

/// A transfer being written: its `.part` file and who sends it.
struct Partial {
    file: std::fs::File,
    path: PathBuf,
    from: String,
}

/// Where received files and each sender's media go (`--recv-dir`).
pub(super) struct Sinks {
    dir: PathBuf,
    /// One media file per sender identity (not per name: names are not unique).
    media: HashMap<SenderId, std::fs::File>,
    files: FileAssembler<SenderId>,
    partial: HashMap<(SenderId, TransferId), Partial>,
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
            files: FileAssembler::new(FileLimits::on_disk()),
            partial: HashMap::new(),
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

    /// Feeds a file message: streams its bytes to the transfer's `.part` file, names and
    /// announces a completed file, removes (and says so) the partial file of a refused one.
    pub(super) fn data(&mut self, d: &hush_client::DataMessage) -> anyhow::Result<()> {
        let from = || sender_line(&d.sender_name, d.sender_identity.as_ref());
        match self.files.step(SenderId::of(d), d.kind, &d.payload) {
            Ok(FileStep::Ignored) => Ok(()),
            Ok(FileStep::Started {
                sender,
                transfer,
                name,
                size,
            }) => {
                let part = format!("{name}.part");
                let (file, path) = create_unique(&self.dir, &part)
                    .with_context(|| format!("cannot create a file in {}", self.dir.display()))?;
                eprintln!(
                    "receiving {} ({}) from {}",
                    quoted(&name),
                    super::count(size, "byte", "bytes"),
                    from()
                );
                let from = from();
                self.partial
                    .insert((sender, transfer), Partial { file, path, from });
                Ok(())
            }
            Ok(FileStep::Chunk {
                sender,
                transfer,
                bytes,
                ..
            }) => {
                if let Some(p) = self.partial.get_mut(&(sender, transfer)) {
                    p.file
                        .write_all(bytes)
                        .with_context(|| format!("cannot write {}", p.path.display()))?;
                }
                Ok(())
            }
            Ok(FileStep::Completed {
                sender,
                transfer,
                name,
                size,
            }) => match self.partial.remove(&(sender, transfer)) {
                Some(p) => self.save(p, &name, size),
                None => Ok(()),
            },
            Err(r) => {
                eprintln!("file from {} refused: {}", from(), r.error);
                if let Some(gone) = r.dropped {
                    self.discard(&gone, "refused");
                }
                Ok(())
            }
        }
    }

    /// Ends the transfers (and removes the partial files) of senders `keep` refuses.
    pub(super) fn retain_senders(&mut self, keep: impl Fn(&SenderId) -> bool) {
        for gone in self.files.retain_senders(keep) {
            self.discard(&gone, "its sender left");
        }
    }

    /// Removes the partial file of a transfer that will not complete, with one line.
    fn discard(&mut self, gone: &Dropped<SenderId>, why: &str) {
        let Some(p) = self.partial.remove(&(gone.sender, gone.transfer)) else {
            return;
        };
        drop(p.file);
        let removed = std::fs::remove_file(&p.path).is_ok();
        eprintln!(
            "incomplete file {} from {} ({why}): {} of {} arrived; {}",
            quoted(&gone.name),
            p.from,
            gone.received,
            super::count(gone.size, "byte", "bytes"),
            if removed {
                "the partial file is removed".to_owned()
            } else {
                format!("cannot remove {}", p.path.display())
            }
        );
    }

    /// Gives a complete, verified transfer its name: a new file, never an existing one.
    fn save(&self, p: Partial, name: &str, size: u64) -> anyhow::Result<()> {
        p.file
            .sync_all()
            .with_context(|| format!("cannot write {}", p.path.display()))?;
        drop(p.file);
        // Reserve a new name, then move the content onto it (a rename replaces the empty file).
        let (reserved, path) = create_unique(&self.dir, name)
            .with_context(|| format!("cannot create a file in {}", self.dir.display()))?;
        drop(reserved);
        std::fs::rename(&p.path, &path)
            .with_context(|| format!("cannot rename {} to {}", p.path.display(), path.display()))?;
        let saved = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!(
            "received {} ({}) from {}",
            quoted(&saved),
            super::count(size, "byte", "bytes"),
            p.from
        );
        Ok(())
    }
}

impl Drop for Sinks {
    /// The meeting is over: transfers still open will never complete.
    fn drop(&mut self) {
        for gone in self.files.drain_open() {
            self.discard(&gone, "the meeting ended");
        }
    }
}
