//! Real media end to end (issue 13), with the real binaries and ffmpeg: a 3 s VP8 clip and a
//! 3 s Opus clip made by ffmpeg go through a real relay as two end-to-end encrypted tracks, and
//! the receiver's files are, for ffmpeg, exactly the frames sent (count, per-frame checksums,
//! timestamps); the relay's dump holds none of their bytes; ffmpeg can pipe into
//! `--media-in -`; an input that is not media is one error line before joining.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hush_testkit::meeting::TempDir;
use hush_testkit::{Hush, RelayProcess, ffmpeg};

const GUARD: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

fn wait_file_text(path: &Path, needle: &str) {
    hush_testkit::wait_for_lines(path, needle, 1, GUARD);
}

/// 16-byte samples from the middle of every tenth frame of `clip`.
fn samples(clip: &Path) -> Vec<Vec<u8>> {
    let mut s = hush_media::Source::open(Box::new(std::fs::File::open(clip).unwrap())).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(f) = s.next_frame().unwrap() {
        if i % 10 == 0 && f.data.len() >= 48 {
            let mid = f.data.len() / 2;
            out.push(f.data[mid - 8..mid + 8].to_vec());
        }
        i += 1;
    }
    out
}

fn all_bytes_under(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all.extend(all_bytes_under(&p));
        } else {
            all.extend(std::fs::read(&p).unwrap_or_default());
        }
    }
    all
}

struct Meeting {
    dir: TempDir,
    relay: RelayProcess,
    dump: PathBuf,
}

fn meeting(tag: &str) -> Meeting {
    let dir = TempDir::new(tag);
    let dump = dir.path().join("dump");
    let relay = RelayProcess::spawn(
        bin(),
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--dump-dir".into(),
            dump.display().to_string(),
        ],
    )
    .unwrap();
    Meeting { dir, relay, dump }
}

#[test]
fn vp8_and_opus_tracks_arrive_frame_for_frame_and_the_relay_holds_none_of_them() {
    if !ffmpeg::available() {
        return;
    }
    let m = meeting("cli-media");
    let d = m.dir.path();
    let (vp8, opus) = (d.join("clip.ivf"), d.join("clip.opus"));
    ffmpeg::vp8_clip(&vp8, 3);
    ffmpeg::opus_clip(&opus, 3);
    let got = d.join("got");
    let h = Hush::new(bin(), m.relay.addr, m.relay.pin, d);
    let mut host = h.spawn(
        "join",
        "host",
        "media",
        "H",
        &[
            "--host",
            "--admit",
            "auto",
            "--recv-dir",
            got.to_str().unwrap(),
        ],
    );
    wait_file_text(&h.out("host"), "security code:");
    let mut sender = h.spawn(
        "join",
        "sender",
        "media",
        "Alice",
        &[
            "--media-in",
            vp8.to_str().unwrap(),
            "--media-in",
            opus.to_str().unwrap(),
            "--wait-for",
            "1",
        ],
    );
    let started = Instant::now();
    assert_eq!(
        sender.wait_blocking(GUARD),
        0,
        "{}",
        std::fs::read_to_string(h.err("sender")).unwrap()
    );
    // Paced by the timestamps: a 3 s clip takes about 3 s, not a burst.
    assert!(started.elapsed() >= Duration::from_millis(2500));
    let err = std::fs::read_to_string(h.err("sender")).unwrap();
    assert!(err.contains("track 0: vp8"), "{err}");
    assert!(err.contains("track 1: opus"), "{err}");
    wait_file_text(&h.err("host"), "track 1 (opus) from Alice");
    // The sender left: the host rekeys without it; its files are complete by then.
    wait_file_text(&h.err("host"), "epoch 3:");
    hush_testkit::signal(host.0.id(), "TERM");
    assert_eq!(host.wait_blocking(GUARD), 0);

    for (clip, name, codec) in [
        (&vp8, "Alice.0.ivf", "vp8"),
        (&opus, "Alice.1.opus", "opus"),
    ] {
        let out = got.join(name);
        let (c, n) = ffmpeg::probe(&out);
        assert_eq!(c, codec, "{name}");
        let sent = ffmpeg::framemd5(clip);
        let received = ffmpeg::framemd5(&out);
        assert!(
            n as usize == sent.len() && n > 40,
            "{name}: {n} of {}",
            sent.len()
        );
        assert_eq!(
            received, sent,
            "{name}: frame for frame, same bytes and timestamps"
        );
    }
    // The relay forwarded every frame and kept a dump of all of it: none of it is media.
    let dump = all_bytes_under(&m.dump);
    assert!(dump.len() > 50_000, "the dump holds what was forwarded");
    for s in samples(&vp8).iter().chain(samples(&opus).iter()) {
        assert!(
            !dump.windows(s.len()).any(|w| w == s.as_slice()),
            "the relay's dump holds plaintext media"
        );
    }
}

#[test]
fn ffmpeg_pipes_into_media_in_stdin() {
    if !ffmpeg::available() {
        return;
    }
    let m = meeting("cli-media-pipe");
    let d = m.dir.path();
    let clip = d.join("clip.ivf");
    ffmpeg::vp8_clip(&clip, 2);
    let got = d.join("got");
    let h = Hush::new(bin(), m.relay.addr, m.relay.pin, d);
    let mut host = h.spawn(
        "join",
        "host",
        "pipe",
        "H",
        &[
            "--host",
            "--admit",
            "auto",
            "--recv-dir",
            got.to_str().unwrap(),
        ],
    );
    wait_file_text(&h.out("host"), "security code:");
    // ffmpeg re-muxes the clip to IVF on its stdout, straight into hush's stdin.
    let mut ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(&clip)
        .args(["-c", "copy", "-f", "ivf", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = ff.stdout.take().unwrap();
    let err = std::fs::File::create(h.err("sender")).unwrap();
    let mut sender = Command::new(bin())
        .arg("join")
        .args(["--relay", &m.relay.addr.to_string()])
        .args(["--relay-cert-sha256", &hex::encode(m.relay.pin)])
        .args([
            "--room",
            "pipe",
            "--name",
            "Piper",
            "--media-in",
            "-",
            "--wait-for",
            "1",
        ])
        .stdin(Stdio::from(pipe))
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    assert!(ff.wait().unwrap().success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = sender.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < GUARD, "the sender hangs");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(h.err("sender")).unwrap()
    );
    wait_file_text(&h.err("host"), "epoch 3:");
    hush_testkit::signal(host.0.id(), "TERM");
    assert_eq!(host.wait_blocking(GUARD), 0);
    assert_eq!(
        ffmpeg::framemd5(&got.join("Piper.0.ivf")),
        ffmpeg::framemd5(&clip)
    );
}

#[test]
fn an_input_that_is_not_media_is_one_line_before_joining() {
    let dir = TempDir::new("cli-media-bad");
    let bad = dir.path().join("notes.txt");
    std::fs::File::create(&bad)
        .unwrap()
        .write_all(b"hello, not a clip")
        .unwrap();
    // The relay does not exist: an error naming the input proves nothing connected first.
    let out = Command::new(bin())
        .args([
            "join",
            "--relay",
            "127.0.0.1:9",
            "--relay-cert-sha256",
            &"ab".repeat(32),
        ])
        .args(["--room", "r", "--name", "N", "--media-in"])
        .arg(&bad)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "--media-in {}: not IVF or Ogg/Opus (it starts with \"hell\")",
            bad.display()
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

/// `hush join --chat`: each stdin line is an end-to-end encrypted chat message; received chat is
/// printed on stdout as `[chat] <name> (<8 hex>): <text>`, escaped; the end of input leaves.
#[test]
fn chat_from_the_terminal_is_sent_and_printed_escaped() {
    let m = meeting("cli-chat");
    let d = m.dir.path();
    let h = Hush::new(bin(), m.relay.addr, m.relay.pin, d);
    // Both ends read stdin (`--chat` leaves at its end): each gets a pipe held open.
    let spawn = |tag: &str, name: &str, extra: &[&str]| {
        Command::new(bin())
            .arg("join")
            .args(["--relay", &m.relay.addr.to_string()])
            .args(["--relay-cert-sha256", &hex::encode(m.relay.pin)])
            .args(["--room", "chat", "--name", name, "--chat"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(h.out(tag)).unwrap())
            .stderr(std::fs::File::create(h.err(tag)).unwrap())
            .spawn()
            .unwrap()
    };
    let mut host = hush_testkit::Proc(spawn("host", "H", &["--host", "--admit", "auto"]));
    let _host_input = host.0.stdin.take().unwrap();
    wait_file_text(&h.out("host"), "security code:");
    let mut guest = spawn("guest", "Bob", &[]);
    let mut input = guest.stdin.take().unwrap();
    input
        .write_all(b"hello there\n\x1b[8msecurity code: 0\rX\n")
        .unwrap();
    wait_file_text(&h.out("host"), "[chat] Bob (");
    wait_file_text(&h.out("host"), "security code: 0");
    wait_file_text(&h.out("host"), r"\rX");
    drop(input); // end of input: the guest leaves
    let start = Instant::now();
    let status = loop {
        if let Some(s) = guest.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < GUARD, "the guest does not leave at EOF");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    let guest_err = std::fs::read_to_string(h.err("guest")).unwrap();
    assert!(guest_err.contains("end of input: leaving"), "{guest_err}");
    hush_testkit::signal(host.0.id(), "TERM");
    assert_eq!(host.wait_blocking(GUARD), 0);
    let out = std::fs::read_to_string(h.out("host")).unwrap();
    let chat: Vec<&str> = out.lines().filter(|l| l.starts_with("[chat]")).collect();
    assert_eq!(chat.len(), 2, "{out}");
    assert!(chat[0].starts_with("[chat] Bob (") && chat[0].ends_with("): hello there"));
    assert!(
        chat[1].ends_with(r"): \x1b[8msecurity code: 0\rX"),
        "{}",
        chat[1]
    );
    assert!(
        !out.contains('\x1b'),
        "no control character reaches the terminal"
    );
    // The only line that starts with `security code:` is the host's own.
    assert!(
        out.lines()
            .filter(|l| l.starts_with("security code:"))
            .all(|l| l.len() > 30)
    );
}

/// Received tracks are written as they go: after `kill -9` of the receiver, ffmpeg reads its
/// files up to the last frame, and what is there is exactly what was sent, in order.
#[test]
fn track_files_are_valid_after_the_receiver_is_killed() {
    if !ffmpeg::available() {
        return;
    }
    let m = meeting("cli-media-kill9");
    let d = m.dir.path();
    let (vp8, opus) = (d.join("clip.ivf"), d.join("clip.opus"));
    ffmpeg::vp8_clip(&vp8, 3);
    ffmpeg::opus_clip(&opus, 3);
    let got = d.join("got");
    let h = Hush::new(bin(), m.relay.addr, m.relay.pin, d);
    let mut host = h.spawn(
        "join",
        "host",
        "kill9",
        "H",
        &[
            "--host",
            "--admit",
            "auto",
            "--recv-dir",
            got.to_str().unwrap(),
        ],
    );
    wait_file_text(&h.out("host"), "security code:");
    let _sender = h.spawn(
        "join",
        "sender",
        "kill9",
        "S",
        &[
            "--media-in",
            vp8.to_str().unwrap(),
            "--media-in",
            opus.to_str().unwrap(),
            "--wait-for",
            "1",
        ],
    );
    let video = got.join("S.0.ivf");
    let start = Instant::now();
    while std::fs::metadata(&video).map_or(0, |m| m.len()) < 20_000 {
        assert!(start.elapsed() < GUARD, "the track file does not grow");
        std::thread::sleep(Duration::from_millis(20));
    }
    host.0.kill().unwrap(); // SIGKILL: nothing finished, nothing flushed at exit
    host.0.wait().unwrap();
    for (file, clip) in [(video, &vp8), (got.join("S.1.opus"), &opus)] {
        let kept = ffmpeg::framemd5(&file);
        let sent = ffmpeg::framemd5(clip);
        assert!(
            !kept.is_empty() && kept.len() < sent.len(),
            "{}: {}",
            file.display(),
            kept.len()
        );
        assert_eq!(
            kept[..],
            sent[..kept.len()],
            "{}: a prefix of what was sent",
            file.display()
        );
    }
}

/// `hush connector --rtp-sink … --sdp …`: each track leaves the connector as RTP (VP8 per RFC
/// 7741, Opus per RFC 7587) and ffmpeg, reading only the SDP file, gets every frame back with
/// the bytes that were sent. The sender joins twice with one identity: its first run makes the
/// streams known (the SDP is written before a stream's first packet), ffmpeg then listens, and
/// the second run's frames are counted and compared.
#[test]
fn the_connectors_rtp_plays_in_ffmpeg_from_its_sdp() {
    if !ffmpeg::available() {
        return;
    }
    let m = meeting("cli-media-rtp");
    let d = m.dir.path();
    let (vp8, opus) = (d.join("clip.ivf"), d.join("clip.opus"));
    ffmpeg::vp8_clip(&vp8, 3);
    ffmpeg::opus_clip(&opus, 3);
    let id = d.join("sender.id");
    let made = Command::new(bin())
        .args(["identity", "new", "--out"])
        .arg(&id)
        .output()
        .unwrap();
    assert!(made.status.success());
    // A free even port pair region: the streams use PORT and PORT+2.
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port() & !1
    };
    let sdp = d.join("meeting.sdp");
    let h = Hush::new(bin(), m.relay.addr, m.relay.pin, d);
    let _host = h.spawn(
        "join",
        "host",
        "rtp",
        "H",
        &["--host", "--admit", "auto", "--admit-connectors"],
    );
    wait_file_text(&h.out("host"), "security code:");
    let sink = format!("127.0.0.1:{port}");
    let mut connector = h.spawn(
        "connector",
        "connector",
        "rtp",
        "bridge",
        &["--rtp-sink", &sink, "--sdp", sdp.to_str().unwrap()],
    );
    let send = |tag: &str| {
        let mut s = h.spawn(
            "join",
            tag,
            "rtp",
            "S",
            &[
                "--identity",
                id.to_str().unwrap(),
                "--media-in",
                vp8.to_str().unwrap(),
                "--media-in",
                opus.to_str().unwrap(),
                "--wait-for",
                "2",
            ],
        );
        assert_eq!(
            s.wait_blocking(GUARD),
            0,
            "{}",
            std::fs::read_to_string(h.err(tag)).unwrap()
        );
    };
    send("first");
    let text = std::fs::read_to_string(&sdp).unwrap();
    assert_eq!(text.matches("m=").count(), 2, "{text}");
    assert!(text.contains("a=rtpmap:96 VP8/90000") && text.contains("a=rtpmap:111 opus/48000/2"));
    let (video_out, audio_out) = (d.join("rtp-video.md5"), d.join("rtp-audio.md5"));
    let mut ff = Command::new("ffmpeg")
        .args(["-y", "-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(["-protocol_whitelist", "file,udp,rtp", "-i"])
        .arg(&sdp)
        .args(["-map", "0:v", "-c", "copy", "-f", "framemd5"])
        .arg(&video_out)
        .args(["-map", "0:a", "-c", "copy", "-f", "framemd5"])
        .arg(&audio_out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    send("second");
    // Every frame has arrived once the counts stop growing.
    let md5s = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(',').nth(5).map(|s| s.trim().to_owned()))
            .collect()
    };
    let sent = |clip: &Path| -> Vec<String> {
        ffmpeg::framemd5(clip)
            .into_iter()
            .map(|(_, _, h)| h)
            .collect()
    };
    let (want_v, want_a) = (sent(&vp8), sent(&opus));
    let start = Instant::now();
    while (md5s(&video_out).len() < want_v.len() || md5s(&audio_out).len() < want_a.len())
        && start.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGINT: ffmpeg finishes its outputs (SIGKILL could lose buffered lines).
    hush_testkit::signal(ff.id(), "INT");
    let stop = Instant::now();
    while ff.try_wait().unwrap().is_none() && stop.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = ff.kill();
    let _ = ff.wait();
    assert_eq!(
        md5s(&video_out),
        want_v,
        "every VP8 frame, byte for byte, from the SDP"
    );
    assert_eq!(
        md5s(&audio_out),
        want_a,
        "every Opus packet, byte for byte, from the SDP"
    );
    hush_testkit::signal(connector.0.id(), "TERM");
    assert_eq!(connector.wait_blocking(GUARD), 0);
}
