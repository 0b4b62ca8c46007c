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
use std::time::{Duration, Instant};

use anyhow::Context;
use hush_client::file::{
    Dropped, FileAssembler, FileLimits, FileStep, SenderId, TransferId, create_unique,
};
use hush_group::names::Escaped;
use hush_media::{Codec, FrameHeader, TrackWriter};

use super::meeting::quoted;

/// A transfer being written: its `.part` file and who sends it.
struct Partial {
    file: std::fs::File,
    path: PathBuf,
    from: String,
}

/// How long the open transfers of a sender who left the roster may still complete (longer
/// than the epoch grace during which its last data messages still open).
const DEPARTED_GRACE: Duration = Duration::from_secs(5);

/// Tracks one sender may have written at most; frames of more are dropped.
const MAX_TRACKS_PER_SENDER: usize = 16;

/// A received track (SPEC §11.7): waiting for its configuration, or being written.
enum Track {
    Waiting {
        skipped: u64,
    },
    Writing {
        writer: TrackWriter<std::fs::File>,
        codec: Codec,
        path: PathBuf,
    },
}

/// Where received files and each sender's media go (`--recv-dir`).
pub(super) struct Sinks {
    dir: PathBuf,
    /// One media file per sender identity (not per name: names are not unique) for untracked
    /// media.
    media: HashMap<SenderId, std::fs::File>,
    /// Tracked media: one container file per sender identity and track.
    tracks: HashMap<(SenderId, u8), Track>,
    /// Senders whose bad track headers were already reported (reported once each).
    bad_headers: std::collections::HashSet<SenderId>,
    files: FileAssembler<SenderId>,
    partial: HashMap<(SenderId, TransferId), Partial>,
    /// Senders who left the roster, since when (their transfers end after the grace).
    departed: HashMap<SenderId, Instant>,
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
            tracks: HashMap::new(),
            bad_headers: std::collections::HashSet::new(),
            files: FileAssembler::new(FileLimits::on_disk()),
            partial: HashMap::new(),
            departed: HashMap::new(),
        }
    }

    pub(super) fn media(&mut self, f: &hush_client::MediaFrame) -> anyhow::Result<()> {
        let who = SenderId::of_media(f);
        match FrameHeader::decode(&f.payload) {
            Ok(Some((header, frame))) => return self.track(who, f, header, frame),
            Ok(None) => {}
            Err(e) => {
                if self.bad_headers.insert(who) {
                    eprintln!(
                        "media from {} dropped: {e}",
                        sender_line(&f.sender_name, f.sender_identity.as_ref())
                    );
                }
                return Ok(());
            }
        }
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

    /// A tracked frame: written into its sender's track file once the track's configuration
    /// has arrived (frames before it cannot be decoded and are counted as skipped).
    fn track(
        &mut self,
        who: SenderId,
        f: &hush_client::MediaFrame,
        header: FrameHeader,
        frame: &[u8],
    ) -> anyhow::Result<()> {
        let key = (who, header.track);
        if !self.tracks.contains_key(&key) {
            let of_sender = self.tracks.keys().filter(|(s, _)| *s == who).count();
            if of_sender >= MAX_TRACKS_PER_SENDER {
                return Ok(());
            }
            self.tracks.insert(key, Track::Waiting { skipped: 0 });
        }
        let Some(track) = self.tracks.get_mut(&key) else {
            return Ok(());
        };
        if let (Track::Waiting { skipped }, Some(config)) = (&*track, &header.config) {
            let name = format!(
                "{}.{}.{}",
                sanitize(&f.sender_name),
                header.track,
                TrackWriter::<std::fs::File>::extension(header.codec)
            );
            let (file, path) = create_unique(&self.dir, &name)
                .with_context(|| format!("cannot create {name} in {}", self.dir.display()))?;
            let writer = TrackWriter::new(file, header.codec, config, u32::from(header.track) + 1)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "track {} ({}) from {} to {}{}",
                header.track,
                header.codec.name(),
                sender_line(&f.sender_name, f.sender_identity.as_ref()),
                path.display(),
                if *skipped > 0 {
                    format!(
                        " ({} before its configuration skipped)",
                        super::count(*skipped, "frame", "frames")
                    )
                } else {
                    String::new()
                }
            );
            *track = Track::Writing {
                writer,
                codec: header.codec,
                path,
            };
        }
        match track {
            Track::Waiting { skipped } => *skipped += 1,
            Track::Writing {
                writer,
                codec,
                path,
            } => {
                if *codec != header.codec {
                    return Ok(());
                }
                match writer.write(header.timestamp, frame) {
                    Ok(()) => {}
                    Err(hush_media::MediaError::Io(e)) => {
                        return Err(e).with_context(|| format!("cannot write {}", path.display()));
                    }
                    // Another party's malformed frame (an Opus packet with a bad TOC): dropped,
                    // said once; the meeting goes on.
                    Err(e) => {
                        if self.bad_headers.insert(who) {
                            eprintln!(
                                "media from {} dropped: {e}",
                                sender_line(&f.sender_name, f.sender_identity.as_ref())
                            );
                        }
                    }
                }
            }
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

    /// Senders `keep` refuses (they left the roster) get [`DEPARTED_GRACE`] before their open
    /// transfers end: the roster change travels on the key lane and overtakes the data
    /// messages the sender sealed before it left, which still open under the old epoch's keys
    /// for the epoch grace. Then [`Sinks::expire`] removes what did not complete.
    pub(super) fn retain_senders(&mut self, keep: impl Fn(&SenderId) -> bool) {
        let now = Instant::now();
        let gone: Vec<SenderId> = self
            .partial
            .keys()
            .map(|(s, _)| *s)
            .filter(|s| !keep(s))
            .collect();
        for s in gone {
            self.departed.entry(s).or_insert(now);
        }
        self.departed.retain(|s, _| !keep(s));
    }

    /// Ends the transfers of senders who left more than [`DEPARTED_GRACE`] ago; returns how
    /// long until the next one is due, if any.
    pub(super) fn expire(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let due: Vec<SenderId> = self
            .departed
            .iter()
            .filter(|(_, t)| now.duration_since(**t) >= DEPARTED_GRACE)
            .map(|(s, _)| *s)
            .collect();
        if !due.is_empty() {
            for gone in self.files.retain_senders(|s| !due.contains(s)) {
                self.discard(&gone, "its sender left");
            }
            self.departed.retain(|s, _| !due.contains(s));
        }
        self.departed
            .values()
            .map(|t| DEPARTED_GRACE.saturating_sub(now.duration_since(*t)))
            .min()
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
