//! `hush join`: join a meeting through a relay (SPEC §8.9, §11). Prints `security code: <code>`
//! and the `e2ee: ...` line each time they change (stdout, one line each, flushed); everything
//! else goes to stderr. Sends a file (`--send-file`) or synthetic media (`--frame-size`/`--fps`)
//! and writes what it decrypts (`--recv-dir`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::{BufMut, BytesMut};
use hush_client::file::SenderId;
use hush_client::{
    AdmissionRequest, Admit, ClientRole, DataKind, Meeting, MeetingConfig, MeetingError,
    MeetingEvent, MeetingEvents,
};
use hush_frame::CipherSuite;
use hush_group::names::Escaped;
use hush_group::{KemId, Role};
use hush_recording::RecordKind;
use hush_wire::sync::lock;
use tokio::sync::mpsc;

use super::meeting::{
    PolicyArgs, RelayArgs, chat_line, meeting_config, mode_refusal, print_chat,
    print_session_event, print_status, quoted,
};
use super::recording::Tape;
use super::recv_dir::Sinks;

/// The recording of `--record`, shared by the listener (which writes) and the session (which
/// finishes it on leave and on SIGINT).
type SharedTape = Arc<std::sync::Mutex<Tape>>;

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
    /// Accept a relay that issues the meeting's keys itself (transport mode): a meeting the
    /// relay can read. Without it such a relay is refused before anything is sent (exit 3).
    #[arg(long, conflicts_with_all = ["host", "host_key", "admit_connectors"])]
    allow_transport: bool,
    /// With --send-file or synthetic media: wait until this many other participants are keyed
    /// in (e2ee: in the host's roster; transport mode: in the room, as the relay reports).
    #[arg(long, default_value_t = 0)]
    wait_for: usize,
    /// Send this file as encrypted chunks on the reliable path, then leave.
    #[arg(long)]
    send_file: Option<PathBuf>,
    /// Write what each sender sent, decrypted: each received file to `DIR/<its sanitized
    /// name>`, each sender's media to `DIR/<sender name>.media`; a new file every time, never
    /// one that exists (` (1)`, ` (2)`, ... on a collision).
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
    /// Send a real media track from this file, or `-` for stdin (repeatable, one track each):
    /// IVF (VP8, VP9, AV1) or Ogg/Opus, paced by its timestamps. E.g.
    /// `ffmpeg -re -f lavfi -i testsrc -c:v libvpx -f ivf - | hush join … --media-in -`.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["frame_size", "fps", "send_file"])]
    media_in: Vec<PathBuf>,
    /// With --media-in: start each file again at its end (not stdin), timestamps continuing.
    #[arg(long = "loop", requires = "media_in")]
    looping: bool,
    /// Send each line of stdin as an end-to-end encrypted chat message and print received chat
    /// on stdout (`[chat] Bob (1a2b3c4d): hello`); leaves at the end of input.
    #[arg(long)]
    chat: bool,
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
    cfg.allow_transport = args.allow_transport;
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
    // Every path before anything connects: one line naming the flag and the path.
    if let Some(p) = &args.send_file {
        super::paths::input_file("--send-file", p)?;
    }
    if let Some(p) = &args.recv_dir {
        super::paths::output_dir("--recv-dir", p)?;
    }
    if let Some(p) = &args.record {
        super::paths::output_file("--record", p)?;
    }
    let stdin_media = args.media_in.iter().any(|p| p.as_os_str() == "-");
    if args.chat && (stdin_media || (args.host && args.admit == AdmitArg::Ask)) {
        bail!(
            "--chat reads stdin, which {} also needs: use one of them",
            if stdin_media {
                "--media-in -"
            } else {
                "--admit ask (the host's prompts)"
            }
        );
    }
    let tracks = super::media_in::open_all(&args.media_in, args.looping)?;
    // A prompt nobody can answer would refuse everyone: say so before joining.
    if args.host && args.admit == AdmitArg::Ask && !std::io::stdin().is_terminal() {
        bail!(
            "--admit ask (the default) needs a terminal on stdin to answer join requests; \
             pass --admit auto"
        );
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let r = rt.block_on(session(args, cfg, tracks));
    // Do not wait for the stdin reader (it may be blocked in a read): it dies with the process.
    rt.shutdown_background();
    r
}

async fn session(
    args: Args,
    cfg: MeetingConfig,
    tracks: Vec<hush_media::TrackSender>,
) -> anyhow::Result<()> {
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
    let (meeting, events) = Meeting::join(cfg).await.map_err(mode_refusal)?;
    eprintln!(
        "joined room {:?} via relay {} (region \"{}\", mode {})",
        args.relay.room,
        meeting.relay_addr(),
        Escaped(&meeting.relay_region()),
        meeting
            .relay_mode()
            .map_or_else(|| "?".to_owned(), |m| m.to_string()),
    );
    if !args.host && meeting.relay_mode() == Some(hush_wire::RelayMode::E2ee) {
        eprintln!("waiting for the host…");
    }
    let (idle_tx, mut idle_rx) = tokio::sync::mpsc::channel::<()>(1);
    let answers = (args.host && args.admit == AdmitArg::Ask).then(stdin_lines);
    let mut listener = tokio::spawn(listen(
        meeting.clone(),
        events,
        answers,
        Outputs {
            recv_dir: args.recv_dir.clone(),
            tape: tape.clone(),
            until_idle: args.until_idle.map(Duration::from_secs_f64),
            chat: args.chat,
        },
        idle_tx,
    ));
    let synthetic = args.frame_size.is_some() || args.fps.is_some();
    let work = async {
        if let Some(path) = &args.send_file {
            send_file(&meeting, path, args.wait_for).await
        } else if !tracks.is_empty() {
            super::media_in::send_all(&meeting, tracks, args.wait_for).await
        } else if args.chat {
            send_chat(&meeting).await
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
        () = super::signal::terminated() => { eprintln!("terminated: leaving"); Ok(()) }
        // Only a real idle signal: a listener that ended (with its error) drops the sender.
        Some(()) = idle_rx.recv() => { eprintln!("idle: leaving"); Ok(()) }
        r = &mut listener => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(anyhow::anyhow!("listener failed: {e}")),
        },
    };
    let _ = meeting.leave().await;
    // The listener ends once the meeting's events do: its files are finished or removed (an
    // open transfer's partial file) before the process exits. Bounded, like the leave.
    if !listener.is_finished()
        && tokio::time::timeout(Duration::from_secs(2), &mut listener)
            .await
            .is_err()
    {
        listener.abort();
        let _ = listener.await; // the task (and its open files) dropped
    }
    if let Some(t) = &tape {
        lock(t).finish();
    }
    result
}

async fn send_file(meeting: &Meeting, path: &Path, wait_for: usize) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("--send-file {} names no file", path.display()))?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let size = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    meeting
        .wait_for_others(wait_for, Duration::from_secs(24 * 3600))
        .await?;
    // A progress bar on a terminal only (scripts read stderr lines); paced by the relay's
    // announced budget, a large file takes a while.
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "sending {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(name.clone());
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let reader = std::io::BufReader::new(file);
    let sent = meeting
        .send_file_from(&name, size, reader, |n| bar.set_position(n))
        .await;
    bar.finish_and_clear();
    sent?;
    eprintln!(
        "sent {} from {}",
        super::count(size, "byte", "bytes"),
        path.display()
    );
    Ok(())
}

/// `--chat`: each line of stdin, once keyed in, as a chat message; returns at the end of input.
async fn send_chat(meeting: &Meeting) -> anyhow::Result<()> {
    meeting
        .wait_for_others(0, Duration::from_secs(24 * 3600))
        .await?;
    let mut lines = stdin_lines();
    while let Some(line) = lines.recv().await {
        if let Err(e) = meeting.send_chat(&line).await {
            eprintln!("chat not sent: {e}");
        }
    }
    eprintln!("end of input: leaving");
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

/// Lines typed on stdin, read on a detached thread (a blocked read must not keep the process
/// alive after Ctrl-C); the channel closes at the end of input.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("cannot read stdin: {e}");
    }
    rx
}

/// The admission prompt (SPEC §8.9 step 5): what the joiner asks to be, its name and its full
/// identity fingerprint.
fn prompt(req: &AdmissionRequest) -> String {
    let what = match req.role {
        Role::Connector => "a connector, which DECRYPTS the meeting:",
        _ => "a participant:",
    };
    format!(
        "admit {what} {} with identity {}? [y/N] ",
        quoted(&req.name),
        req.identity.fingerprint()
    )
}

/// Asks on the terminal. A line typed before the question does not answer it; the end of
/// input is a refusal (with a warning line).
async fn ask(
    answers: &mut Option<mpsc::UnboundedReceiver<String>>,
    req: &AdmissionRequest,
) -> bool {
    let Some(rx) = answers.as_mut() else {
        eprintln!("no terminal to ask: refused {}", quoted(&req.name));
        return false;
    };
    loop {
        match rx.try_recv() {
            Ok(_) => {}
            Err(mpsc::error::TryRecvError::Empty) => break,
            Err(mpsc::error::TryRecvError::Disconnected) => {
                eprintln!("warning: stdin is closed: refused {}", quoted(&req.name));
                return false;
            }
        }
    }
    eprint!("{}", prompt(req));
    let _ = std::io::stderr().flush();
    match rx.recv().await {
        Some(line) => matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"),
        None => {
            eprintln!();
            eprintln!("warning: stdin is closed: refused {}", quoted(&req.name));
            false
        }
    }
}

/// What the listener does with what arrives.
struct Outputs {
    /// `--recv-dir`.
    recv_dir: Option<PathBuf>,
    /// `--record`.
    tape: Option<SharedTape>,
    /// `--until-idle`.
    until_idle: Option<Duration>,
    /// `--chat`: received chat on stdout.
    chat: bool,
}

async fn listen(
    meeting: Meeting,
    mut events: MeetingEvents,
    mut answers: Option<mpsc::UnboundedReceiver<String>>,
    outputs: Outputs,
    idle: tokio::sync::mpsc::Sender<()>,
) -> anyhow::Result<()> {
    let Outputs {
        recv_dir,
        tape,
        until_idle,
        chat,
    } = outputs;
    let mut sinks = recv_dir.map(Sinks::new);
    let mut last_frame: Option<Instant> = None;
    loop {
        let mut wait = match (until_idle, last_frame) {
            (Some(d), Some(t)) => d.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        // Transfers of departed senders end on time even when nothing else happens.
        if let Some(next) = sinks.as_mut().and_then(Sinks::expire) {
            wait = wait.min(next + Duration::from_millis(10));
        }
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = tokio::time::sleep(wait) => {
                let idle_for = until_idle.zip(last_frame).map(|(d, t)| t.elapsed() >= d);
                if idle_for == Some(true) {
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
            let mut t = lock(t);
            match &ev {
                MeetingEvent::Media(f) => t.record(RecordKind::Media, &f.sender_name, &f.payload),
                MeetingEvent::Data(d) => {
                    t.record(RecordKind::Data(d.kind.to_u8()), &d.sender_name, &d.payload);
                }
                _ => {}
            }
        }
        if let (MeetingEvent::RosterChanged(view), Some(s)) = (&ev, sinks.as_mut()) {
            // Transfers of those who left are dropped with their partial content.
            s.retain_senders(|who| match who {
                SenderId::Identity(id) => view.members.iter().any(|m| m.identity == *id),
                SenderId::Index(_) => true,
            });
        }
        if print_status(&ev) || print_session_event(&ev)? {
            continue;
        }
        match ev {
            MeetingEvent::Media(f) => {
                last_frame = Some(Instant::now());
                if let Some(s) = sinks.as_mut() {
                    s.media(&f)?;
                }
            }
            MeetingEvent::Data(d) => {
                last_frame = Some(Instant::now());
                match d.kind {
                    DataKind::FileStart | DataKind::FileChunk | DataKind::FileEnd => {
                        if let Some(s) = sinks.as_mut() {
                            s.data(&d)?;
                        }
                    }
                    DataKind::Chat if chat => super::meeting::out(&chat_line(&d)),
                    DataKind::Chat => print_chat(&d),
                    _ => {}
                }
            }
            MeetingEvent::AdmissionRequest(req) => {
                let yes = ask(&mut answers, &req).await;
                if let Err(e) = meeting.admit(req.relay_id, yes).await {
                    eprintln!("cannot answer the join request: {e}");
                }
            }
            MeetingEvent::Removed => eprintln!("removed from the meeting"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_admission_prompt_says_role_name_and_full_fingerprint() {
        // A joiner named like another one's prompt cannot make its own look the same: the name
        // is quoted and escaped, the role and the full fingerprint follow.
        let req = |name: &str, role| AdmissionRequest {
            relay_id: 7,
            identity: hush_group::IdentityKey([0xab; 32]),
            name: name.to_owned(),
            role,
        };
        let fp = "abababab ".repeat(8);
        let fp = fp.trim_end();
        assert_eq!(
            prompt(&req("alice (12345678)? [y/N] \x1b[8m", Role::Participant)),
            format!(
                "admit a participant: \"alice (12345678)? [y/N] \\x1b[8m\" with identity {fp}? \
                 [y/N] "
            )
        );
        assert_eq!(
            prompt(&req("phone", Role::Connector)),
            format!(
                "admit a connector, which DECRYPTS the meeting: \"phone\" with identity {fp}? \
                 [y/N] "
            )
        );
    }
}
