//! `hush join`: join a meeting through a relay (SPEC §8.9, §11). Prints `security code: <code>`
//! and the `e2ee: ...` line each time they change (stdout, one line each, flushed); everything
//! else goes to stderr. Sends a file (`--send-file`) or synthetic media (`--frame-size`/`--fps`)
//! and writes what it decrypts (`--recv-dir`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::{BufMut, BytesMut};
use hush_client::recording::RecordKind;
use hush_client::{
    Admit, ClientRole, DataKind, Meeting, MeetingConfig, MeetingError, MeetingEvent, MeetingEvents,
};
use hush_frame::CipherSuite;
use hush_group::KemId;

use super::meeting::{PolicyArgs, RelayArgs, meeting_config, print_session_event, print_status};
use super::recording::Tape;

/// The recording of `--record`, shared by the listener (which writes) and the session (which
/// finishes it on leave and on SIGINT).
type SharedTape = Arc<std::sync::Mutex<Tape>>;

/// Size of one file chunk (one data message).
const FILE_CHUNK: usize = 16 * 1024;

/// How the host answers join requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdmitArg {
    /// Admit every participant (connectors only with --admit-connectors).
    Auto,
    /// Ask on the terminal.
    Ask,
}

/// The HPKE KEM for the meeting (host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KemArg {
    /// X25519-HKDF-SHA256.
    X25519,
    /// X-Wing (X25519 + ML-KEM-768), hybrid post-quantum.
    Xwing,
}

/// `hush join` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    relay: RelayArgs,
    /// Display name (end-to-end encrypted; the relay never sees it).
    #[arg(long)]
    name: String,
    /// Host the meeting: hold the keys, admit joiners, sign rosters.
    #[arg(long)]
    host: bool,
    /// Host: how to answer join requests.
    #[arg(long, value_enum, default_value = "ask")]
    admit: AdmitArg,
    /// Host: also admit connectors (bridges that decrypt) without asking.
    #[arg(long)]
    admit_connectors: bool,
    /// With --send-file: wait until this many other participants are admitted.
    #[arg(long, default_value_t = 0)]
    wait_for: usize,
    /// Send this file as encrypted chunks on the reliable path, then leave.
    #[arg(long)]
    send_file: Option<PathBuf>,
    /// Write what each sender sent, decrypted, in order: files to `DIR/<name>`, media to
    /// `DIR/<name>.media`.
    #[arg(long)]
    recv_dir: Option<PathBuf>,
    /// Record everything received (media and data messages, with sender and time) into this
    /// file, encrypted at rest (SPEC §11.6); the fresh key goes to `PATH.key` (mode 0600).
    /// Read it back with `hush recording show`.
    #[arg(long)]
    record: Option<PathBuf>,
    /// With --record: use this recording key (64 hex digits) instead of a fresh one.
    #[arg(long, requires = "record")]
    record_key: Option<String>,
    /// Exit after this many seconds without frames, once one arrived.
    #[arg(long)]
    until_idle: Option<f64>,
    /// Synthetic media: bytes per frame (default 1200 when --fps is given).
    #[arg(long)]
    frame_size: Option<usize>,
    /// Synthetic media: frames per second (default 50 when --frame-size is given).
    #[arg(long)]
    fps: Option<f64>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Host: SFrame cipher suite (name or id); default: the best for this CPU.
    #[arg(long)]
    suite: Option<String>,
    /// Host: HPKE KEM.
    #[arg(long, value_enum, default_value = "x25519")]
    kem: KemArg,
}

fn config(args: &Args) -> anyhow::Result<MeetingConfig> {
    let trust = args.relay.trust()?;
    let role = if args.host {
        ClientRole::Host {
            admit: match args.admit {
                AdmitArg::Auto => Admit::Auto,
                AdmitArg::Ask => Admit::Ask,
            },
            admit_connectors: args.admit_connectors,
        }
    } else {
        ClientRole::Guest
    };
    let mut cfg = meeting_config(&args.relay, trust, &args.name, &args.policy)?.with_role(role);
    if let Some(s) = &args.suite {
        cfg.suite = s.parse::<CipherSuite>()?;
    }
    cfg.kem = match args.kem {
        KemArg::X25519 => KemId::X25519,
        KemArg::Xwing => KemId::XWing,
    };
    Ok(cfg)
}

/// Runs `hush join`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = config(&args)?;
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(session(args, cfg))
}

async fn session(args: Args, cfg: MeetingConfig) -> anyhow::Result<()> {
    if let Some(dir) = &args.recv_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tape: Option<SharedTape> = match &args.record {
        Some(path) => Some(Arc::new(std::sync::Mutex::new(Tape::start(
            path,
            args.record_key.as_deref(),
        )?))),
        None => None,
    };
    let (meeting, events) = Meeting::join(cfg).await?;
    eprintln!(
        "joined room {:?} via relay {} (region {:?}, mode {})",
        args.relay.room,
        meeting.relay_addr(),
        meeting.relay_region(),
        meeting
            .relay_mode()
            .map_or_else(|| "?".to_owned(), |m| m.to_string()),
    );
    let (idle_tx, mut idle_rx) = tokio::sync::mpsc::channel::<()>(1);
    let listener = tokio::spawn(listen(
        meeting.clone(),
        events,
        args.recv_dir.clone(),
        tape.clone(),
        args.until_idle.map(Duration::from_secs_f64),
        idle_tx,
    ));
    let synthetic = args.frame_size.is_some() || args.fps.is_some();
    let work = async {
        if let Some(path) = &args.send_file {
            send_file(&meeting, path, args.wait_for).await
        } else if synthetic {
            let size = args.frame_size.unwrap_or(1200);
            let fps = args.fps.unwrap_or(50.0);
            send_synthetic(&meeting, args.wait_for, size, fps).await
        } else {
            std::future::pending().await
        }
    };
    let result = tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => { eprintln!("interrupted: leaving"); Ok(()) }
        _ = idle_rx.recv() => { eprintln!("idle: leaving"); Ok(()) }
        r = listener => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(anyhow::anyhow!("listener failed: {e}")),
        },
    };
    let _ = meeting.leave().await;
    if let Some(t) = &tape {
        t.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .finish();
    }
    result
}

async fn send_file(meeting: &Meeting, path: &Path, wait_for: usize) -> anyhow::Result<()> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    meeting
        .wait_for_others(wait_for, Duration::from_secs(24 * 3600))
        .await?;
    for chunk in data.chunks(FILE_CHUNK) {
        meeting.send_data(DataKind::FileChunk, chunk).await?;
    }
    eprintln!("sent {} bytes from {}", data.len(), path.display());
    Ok(())
}

async fn send_synthetic(
    meeting: &Meeting,
    wait_for: usize,
    size: usize,
    fps: f64,
) -> anyhow::Result<()> {
    if !(fps > 0.0 && fps.is_finite()) {
        bail!("--fps must be a positive number");
    }
    if size > hush_wire::MAX_FRAME_SIZE - 64 {
        bail!("--frame-size is too large");
    }
    meeting
        .wait_for_others(wait_for, Duration::from_secs(24 * 3600))
        .await?;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = BytesMut::with_capacity(size + 64);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        buf.reserve(size + 64);
        buf.put_u64(n);
        buf.resize(size.max(8), 0x42);
        match meeting.send_media(&mut buf).await {
            Ok(_) => n += 1,
            // Reconnecting, or between a removal and a new epoch: skip this frame.
            Err(MeetingError::NotReady | MeetingError::Net(_)) => buf.clear(),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Where each sender's decrypted bytes go.
struct Sinks {
    dir: PathBuf,
    files: HashMap<(String, bool), std::fs::File>,
}

/// A sender's display name as a file name (also used by `hush recording export`).
pub(crate) fn sanitize(name: &str) -> String {
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

impl Sinks {
    fn write(&mut self, sender: &str, media: bool, bytes: &[u8]) -> anyhow::Result<()> {
        let key = (sender.to_owned(), media);
        if !self.files.contains_key(&key) {
            let mut name = sanitize(sender);
            if media {
                name.push_str(".media");
            }
            let path = self.dir.join(name);
            let f = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            self.files.insert(key.clone(), f);
        }
        if let Some(f) = self.files.get_mut(&key) {
            f.write_all(bytes).context("cannot write to --recv-dir")?;
        }
        Ok(())
    }
}

async fn ask(name: String, short: String) -> bool {
    tokio::task::spawn_blocking(move || {
        eprint!("admit {name} ({short})? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).is_ok()
            && matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    })
    .await
    .unwrap_or(false)
}

async fn listen(
    meeting: Meeting,
    mut events: MeetingEvents,
    recv_dir: Option<PathBuf>,
    tape: Option<SharedTape>,
    until_idle: Option<Duration>,
    idle: tokio::sync::mpsc::Sender<()>,
) -> anyhow::Result<()> {
    let mut sinks = recv_dir.map(|dir| Sinks {
        dir,
        files: HashMap::new(),
    });
    let mut last_frame: Option<Instant> = None;
    loop {
        let wait = match (until_idle, last_frame) {
            (Some(d), Some(t)) => d.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = tokio::time::sleep(wait) => {
                if until_idle.is_some() && last_frame.is_some() {
                    let _ = idle.send(()).await;
                    return Ok(());
                }
                continue;
            }
        };
        let Some(ev) = ev else {
            return Ok(());
        };
        if let Some(t) = &tape {
            let mut t = t.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &ev {
                MeetingEvent::Media(f) => t.record(RecordKind::Media, &f.sender_name, &f.payload),
                MeetingEvent::Data(d) => {
                    t.record(RecordKind::Data(d.kind.to_u8()), &d.sender_name, &d.payload);
                }
                _ => {}
            }
        }
        if print_status(&ev) || print_session_event(&ev)? {
            continue;
        }
        match ev {
            MeetingEvent::Media(f) => {
                last_frame = Some(Instant::now());
                if let Some(s) = sinks.as_mut() {
                    s.write(&f.sender_name, true, &f.payload)?;
                }
            }
            MeetingEvent::Data(d) => {
                last_frame = Some(Instant::now());
                match d.kind {
                    DataKind::FileChunk => {
                        if let Some(s) = sinks.as_mut() {
                            s.write(&d.sender_name, false, &d.payload)?;
                        }
                    }
                    DataKind::Chat => {
                        eprintln!("{}: {}", d.sender_name, String::from_utf8_lossy(&d.payload));
                    }
                    _ => {}
                }
            }
            MeetingEvent::AdmissionRequest(req) => {
                let m = meeting.clone();
                let name = Arc::<str>::from(req.name.as_str());
                let yes = ask(name.to_string(), req.short_id()).await;
                if let Err(e) = m.admit(req.relay_id, yes).await {
                    eprintln!("cannot answer the join request: {e}");
                }
            }
            MeetingEvent::Removed => eprintln!("removed from the meeting"),
            _ => {}
        }
    }
}
