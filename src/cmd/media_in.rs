//! `hush join --media-in PATH` (repeatable; `-` is stdin): real media tracks, read on their own
//! threads (a pipe may block) and sent paced by their timestamps, as a live source would
//! (hush-media's `TrackSender` does the framing; SPEC §11.7).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::BytesMut;
use hush_client::{Meeting, MeetingError};
use hush_media::{Input, Outgoing, Source, TrackSender};
use tokio::sync::mpsc;

/// Frames read ahead of their send time, per track.
const READ_AHEAD: usize = 32;

/// How long the last frames get to reach the relay before the meeting is left.
const LINGER: Duration = Duration::from_millis(300);

/// Opens every input before anything connects: an unreadable or unsupported one is one error
/// line naming it. Track ids follow the order of the flags.
pub(super) fn open_all(paths: &[PathBuf], looping: bool) -> anyhow::Result<Vec<TrackSender>> {
    if paths.len() > usize::from(u8::MAX) {
        bail!("--media-in: at most 255 tracks");
    }
    if paths.iter().filter(|p| is_stdin(p)).count() > 1 {
        bail!("--media-in -: stdin can be only one track");
    }
    let mut tracks = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let source =
            Source::open(open(path)?).with_context(|| format!("--media-in {}", path.display()))?;
        let reopen: Option<Box<dyn FnMut() -> std::io::Result<Input> + Send>> =
            (looping && !is_stdin(path)).then(|| {
                let p = path.clone();
                Box::new(move || std::fs::File::open(&p).map(|f| Box::new(f) as Input)) as _
            });
        eprintln!(
            "track {i}: {} from {}",
            source.codec().name(),
            path.display()
        );
        tracks.push(TrackSender::new(source, i as u8, reopen));
    }
    Ok(tracks)
}

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn open(path: &Path) -> anyhow::Result<Input> {
    if is_stdin(path) {
        return Ok(Box::new(std::io::stdin()));
    }
    super::paths::input_file("--media-in", path)?;
    let f = std::fs::File::open(path).with_context(|| format!("--media-in {}", path.display()))?;
    Ok(Box::new(std::io::BufReader::new(f)))
}

/// Sends every track until all have ended (or forever with `--loop`), once `wait_for` others
/// are keyed in.
pub(super) async fn send_all(
    meeting: &Meeting,
    tracks: Vec<TrackSender>,
    wait_for: usize,
) -> anyhow::Result<()> {
    meeting
        .wait_for_others(wait_for, Duration::from_secs(24 * 3600))
        .await?;
    let start = tokio::time::Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    for track in tracks {
        let (tx, rx) = mpsc::channel::<Outgoing>(READ_AHEAD);
        let codec = track.codec().name();
        std::thread::Builder::new()
            .name(format!("media-in-{codec}"))
            .spawn(move || read(track, tx))
            .context("cannot start a reading thread")?;
        let meeting = meeting.clone();
        sends.spawn(async move { pace(&meeting, rx, start).await });
    }
    let mut sent = 0u64;
    while let Some(r) = sends.join_next().await {
        sent += r.context("a media track failed")??;
    }
    // The relay reads datagrams and the control stream apart: a `Leave` sent right after the
    // last frame can overtake it there and the frame is dropped as "not in a room". Linger.
    tokio::time::sleep(LINGER).await;
    eprintln!("media: sent {}", super::count(sent, "frame", "frames"));
    Ok(())
}

/// The reading thread: frames into the channel until the input ends, a read fails (said once)
/// or nobody sends any more.
fn read(mut track: TrackSender, tx: mpsc::Sender<Outgoing>) {
    loop {
        match track.next_frame() {
            Ok(Some(f)) => {
                if tx.blocking_send(f).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                eprintln!("media: track {} stopped: {e}", track.codec().name());
                return;
            }
        }
    }
}

/// Sends each frame when it is due; frames that cannot be sent right now (no key yet, a
/// reconnect) are skipped, as a live source would.
async fn pace(
    meeting: &Meeting,
    mut rx: mpsc::Receiver<Outgoing>,
    start: tokio::time::Instant,
) -> anyhow::Result<u64> {
    let mut sent = 0;
    let mut buf = BytesMut::new();
    while let Some(f) = rx.recv().await {
        tokio::time::sleep_until(start + f.due).await;
        buf.clear();
        buf.extend_from_slice(&f.payload);
        match meeting.send_media(&mut buf).await {
            Ok(_) => sent += 1,
            Err(MeetingError::NotReady | MeetingError::Net(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(sent)
}
