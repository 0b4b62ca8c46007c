//! `hush recording show|export` and the `hush join --record` writer (SPEC §11.6; claims C5, C8):
//! a client's own recording of what it decrypted, encrypted at rest under a key that never
//! leaves the machine. The format and its checks are `hush_recording`'s; this module is
//! the command line around it.
//!
//! Exit codes: 0 success; 1 the recording does not authenticate under the key (wrong key,
//! altered, truncated or unfinished file); 2 any other error (unreadable file, not a recording,
//! bad key text). Errors are one line on stderr.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use hush_client::DataKind;
use hush_client::file::{FileLimits, FileReceiver, create_unique};
use hush_recording::{Entry, KIND_END, KIND_MEDIA, RecordKind, Recorder, Recording};
use hush_recording::{RecordingError, RecordingKey};

use super::Failure;

const EXIT_CODES: &str = "Exit codes: 0 success, 1 the recording does not authenticate under \
the key (wrong key, altered, truncated or unfinished file), 2 any other error.";

/// How many payload bytes an entry line shows.
const PREVIEW: usize = 24;

/// Where the recording key comes from.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct KeyArgs {
    /// The recording key, 64 hex digits.
    #[arg(long)]
    key: Option<String>,
    /// A file holding the recording key as 64 hex digits (e.g. the `PATH.key` written by
    /// `hush join --record PATH`).
    #[arg(long)]
    key_file: Option<PathBuf>,
}

/// `hush recording` subcommands.
#[derive(Debug, Subcommand)]
pub enum Args {
    /// Decrypt a recording and list its entries (time, sender, kind, length, first bytes).
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The recording file.
        path: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        /// One JSON object on stdout, with every entry's full payload as hex.
        #[arg(long)]
        json: bool,
    },
    /// Decrypt a recording and write each sender's file bytes to `DIR/<name>` and media to
    /// `DIR/<name>.media`, in order (as `hush join --recv-dir` does).
    #[command(after_help = EXIT_CODES)]
    Export {
        /// The recording file.
        path: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `hush recording`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args {
        Args::Show { path, key, json } => {
            let rec = open(&path, &key)?;
            if json {
                show_json(&rec)?;
            } else {
                show_text(&rec)?;
            }
            require_finished(&rec)
        }
        Args::Export { path, key, out } => {
            let rec = open(&path, &key)?;
            export(&rec, &out)?;
            require_finished(&rec)
        }
    }
}

fn load_key(args: &KeyArgs) -> anyhow::Result<RecordingKey> {
    // The key text is parsed where it lies (the argument, or the file's text, dropped at once);
    // the parsed key is zeroized on drop.
    match (&args.key, &args.key_file) {
        (Some(k), _) => Ok(RecordingKey::from_hex(k)?),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the key file {}", f.display()))?;
            Ok(RecordingKey::from_hex(&text)?)
        }
        (None, None) => anyhow::bail!("--key or --key-file is required"),
    }
}

fn open(path: &Path, key: &KeyArgs) -> anyhow::Result<Recording> {
    let key = load_key(key)?;
    hush_recording::open(path, &key).map_err(|e| failure(path, e))
}

/// Authentication and integrity failures exit with 1, everything else with 2.
fn failure(path: &Path, e: RecordingError) -> anyhow::Error {
    let code = match e {
        RecordingError::WrongKey
        | RecordingError::Tampered { .. }
        | RecordingError::Truncated { .. }
        | RecordingError::Malformed { .. } => 1,
        _ => 2,
    };
    Failure {
        code,
        message: format!("{}: {e}", path.display()),
    }
    .into()
}

fn require_finished(rec: &Recording) -> anyhow::Result<()> {
    if rec.finished {
        return Ok(());
    }
    let message = if rec.cut_off > 0 {
        format!(
            "recording not finished: truncated inside its last record ({} ignored: the \
             recorder was stopped while writing, or the file was cut); the entries before that \
             authenticate",
            super::count(rec.cut_off as u64, "byte", "bytes")
        )
    } else {
        "recording not finished: it ends without its end record (the recorder stopped or the \
         tail was cut off); the entries before that authenticate"
            .to_owned()
    };
    Err(Failure { code: 1, message }.into())
}

fn kind_name(kind: RecordKind) -> String {
    match kind {
        RecordKind::Media => "media".to_owned(),
        RecordKind::Data(b) => match DataKind::from_u8(b) {
            DataKind::Chat => "chat".to_owned(),
            DataKind::Reaction => "reaction".to_owned(),
            DataKind::Poll => "poll".to_owned(),
            DataKind::FileChunk => "file".to_owned(),
            DataKind::FileStart => "file-start".to_owned(),
            DataKind::FileEnd => "file-end".to_owned(),
            _ => format!("data-0x{b:02x}"),
        },
        _ => "unknown".to_owned(),
    }
}

fn kind_byte(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Media => KIND_MEDIA,
        RecordKind::Data(b) => b,
        _ => KIND_END,
    }
}

/// The first bytes as quoted text when they are printable UTF-8, otherwise as hex.
fn preview(payload: &[u8]) -> String {
    let head = &payload[..payload.len().min(PREVIEW)];
    let more = if payload.len() > head.len() {
        "…"
    } else {
        ""
    };
    match std::str::from_utf8(head) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{:?}{more}", s),
        _ => format!("{}{more}", hex::encode(head)),
    }
}

fn show_text(rec: &Recording) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for e in &rec.entries {
        writeln!(
            out,
            "{:>10} ms  {:<16} {:<9} {:>8} B  {}",
            e.at_ms,
            e.sender.escape_debug().to_string(),
            kind_name(e.kind),
            e.payload.len(),
            preview(&e.payload)
        )?;
    }
    let senders = rec
        .entries
        .iter()
        .map(|e| e.sender.as_str())
        .collect::<std::collections::BTreeSet<_>>();
    let bytes: usize = rec.entries.iter().map(|e| e.payload.len()).sum();
    writeln!(
        out,
        "{}, {}, {}, suite {}, recording id {}, {}",
        super::count(rec.entries.len() as u64, "entry", "entries"),
        super::count(bytes as u64, "byte", "bytes"),
        super::count(senders.len() as u64, "sender", "senders"),
        rec.suite.name(),
        hex::encode(rec.recording_id),
        if rec.finished {
            "finished".to_owned()
        } else if rec.cut_off > 0 {
            format!(
                "NOT finished (stopped while writing: {} of an incomplete last record ignored)",
                super::count(rec.cut_off as u64, "byte", "bytes")
            )
        } else {
            "NOT finished".to_owned()
        }
    )?;
    out.flush()?;
    Ok(())
}

fn entry_json(e: &Entry) -> serde_json::Value {
    serde_json::json!({
        "at_ms": e.at_ms,
        "sender": e.sender,
        "kind": kind_name(e.kind),
        "kind_byte": kind_byte(e.kind),
        "len": e.payload.len(),
        "payload_hex": hex::encode(&e.payload),
    })
}

fn show_json(rec: &Recording) -> anyhow::Result<()> {
    let v = serde_json::json!({
        "suite": rec.suite.name(),
        "recording_id": hex::encode(rec.recording_id),
        "finished": rec.finished,
        "cut_off_bytes": rec.cut_off,
        "entries": rec.entries.iter().map(entry_json).collect::<Vec<_>>(),
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &v)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Writes each file transfer of the recording to `DIR/<its sanitized file name>` and each
/// sender's media to `DIR/<sender>.media`, always as new files (` (1)`, ` (2)`, ... on a
/// collision). A recording names senders by display name only, so transfers are kept apart by
/// (name, transfer id).
fn export(rec: &Recording, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut media: HashMap<String, BufWriter<std::fs::File>> = HashMap::new();
    let mut files: FileReceiver<String> = FileReceiver::new(FileLimits::default());
    let (mut written, mut refused) = (0usize, 0usize);
    for e in &rec.entries {
        match e.kind {
            RecordKind::Media => {
                if !media.contains_key(&e.sender) {
                    let name = format!("{}.media", super::recv_dir::sanitize(&e.sender));
                    let (f, _) = create_unique(dir, &name)
                        .with_context(|| format!("cannot create {name} in {}", dir.display()))?;
                    media.insert(e.sender.clone(), BufWriter::new(f));
                }
                if let Some(f) = media.get_mut(&e.sender) {
                    f.write_all(&e.payload)
                        .with_context(|| format!("cannot write to {}", dir.display()))?;
                }
            }
            RecordKind::Data(b) => {
                match files.feed(e.sender.clone(), DataKind::from_u8(b), &e.payload) {
                    Ok(Some(f)) => {
                        let (mut out, path) = create_unique(dir, &f.name).with_context(|| {
                            format!("cannot create a file in {}", dir.display())
                        })?;
                        out.write_all(&f.bytes)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        written += 1;
                    }
                    Ok(None) => {}
                    Err(_) => refused += 1,
                }
            }
            _ => {}
        }
    }
    for (_, mut f) in media {
        f.flush()
            .with_context(|| format!("cannot write to {}", dir.display()))?;
    }
    eprintln!(
        "exported {} to {} ({}, {} refused)",
        super::count(rec.entries.len() as u64, "entry", "entries"),
        dir.display(),
        super::count(written as u64, "file", "files"),
        super::count(refused as u64, "file message", "file messages"),
    );
    Ok(())
}

/// A recording being made by `hush join --record`: what the client decrypts goes in, sealed
/// under the recording key, with the time since the start.
pub(crate) struct Tape {
    recorder: Option<Recorder<BufWriter<std::fs::File>>>,
    start: Instant,
    path: PathBuf,
}

impl Tape {
    /// Starts a recording at `path`. With `key_hex` the key is that; otherwise a fresh key is
    /// written to `PATH.key` (hex, mode 0600). Prints one line on stderr saying where the key is.
    pub(crate) fn start(path: &Path, key_hex: Option<&str>) -> anyhow::Result<Self> {
        let (key, whence) = match key_hex {
            Some(h) => (
                RecordingKey::from_hex(h).context("--record-key")?,
                "key from --record-key".to_owned(),
            ),
            None => {
                let key = RecordingKey::generate()?;
                let key_path = key_path(path);
                write_secret(&key_path, &key)?;
                (key, format!("key in {}", key_path.display()))
            }
        };
        let recorder = Recorder::create(path, &key)
            .with_context(|| format!("cannot start the recording {}", path.display()))?;
        eprintln!("recording: {} ({whence})", path.display());
        Ok(Tape {
            recorder: Some(recorder),
            start: Instant::now(),
            path: path.to_owned(),
        })
    }

    /// Records one decrypted item. A failure stops the recording (said once on stderr) but not
    /// the meeting; a data kind the format reserves is skipped.
    pub(crate) fn record(&mut self, kind: RecordKind, sender: &str, payload: &[u8]) {
        let at_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Some(r) = self.recorder.as_mut() else {
            return;
        };
        match r.record(kind, at_ms, sender, payload) {
            Ok(()) | Err(RecordingError::ReservedKind(_)) => {}
            Err(e) => {
                eprintln!("recording {} stopped: {e}", self.path.display());
                self.finish();
            }
        }
    }

    /// Writes the end record and flushes. Idempotent.
    pub(crate) fn finish(&mut self) {
        if let Some(r) = self.recorder.take() {
            let n = r.records();
            match r.finish() {
                Ok(_) => eprintln!(
                    "recording {} finished: {}",
                    self.path.display(),
                    super::count(n, "entry", "entries")
                ),
                Err(e) => eprintln!("recording {}: cannot finish: {e}", self.path.display()),
            }
        }
    }
}

impl Drop for Tape {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `PATH.key` next to `PATH`.
fn key_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

fn write_secret(path: &Path, key: &RecordingKey) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let f = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        // An existing file keeps its mode on open: narrow it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        write_key(f, path, key)
    }
    #[cfg(not(unix))]
    {
        let f = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        write_key(f, path, key)
    }
}

fn write_key(mut f: std::fs::File, path: &Path, key: &RecordingKey) -> anyhow::Result<()> {
    let mut text = key.to_hex();
    text.push('\n');
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_text_or_hex() {
        assert_eq!(preview(b"hi"), "\"hi\"");
        assert_eq!(preview(&[0, 1, 0xff]), "0001ff");
        assert_eq!(preview(b"a\nb"), "610a62");
        let long = [b'x'; 40];
        assert!(preview(&long).ends_with('…'));
    }

    #[test]
    fn key_path_appends_key() {
        assert_eq!(key_path(Path::new("a/b.rec")), PathBuf::from("a/b.rec.key"));
    }
}
