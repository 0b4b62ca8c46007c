//! `hush join --record` and `hush recording show|export` (SPEC §11.6; claims C5, C8), end to end
//! through the binary: a relay, a recording host and a guest sending a file run as child
//! processes (killed by pid on every path), then the recording is read back with its key, with a
//! wrong key, and after tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hush_testkit::meeting::TempDir;
use hush_testkit::{Hush, Proc, RelayProcess};

/// Upper bound on any one wait for a child: a guard against hangs, not a timing assertion.
const GUARD: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

/// `hush join` in `room` on `relay`, stdout and stderr into `DIR/<name>.out` and `.err`.
fn join(relay: &RelayProcess, dir: &Path, room: &str, name: &str, extra: &[&str]) -> Proc {
    Hush::new(bin(), relay.addr, relay.pin, dir).spawn("join", name, room, name, extra)
}

/// Waits (bounded by [`GUARD`]) until `path` has a line containing `needle`.
fn wait_for_text(path: &Path, needle: &str) {
    hush_testkit::wait_for_lines(path, needle, 1, GUARD);
}

fn recording(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("recording")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// 40 000 deterministic pseudo-random bytes, then a line of text.
fn sample_file() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v: Vec<u8> = (0..40_000)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect();
    v.extend_from_slice(b"the quarterly numbers are confidential");
    v
}

#[test]
fn join_record_then_show_and_export_with_the_key() {
    let dir = TempDir::new("clirec-record");
    let d = &dir.0;
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let rec = d.join("meeting.hushrec");
    let rec_s = rec.to_str().unwrap();
    let key_file = d.join("meeting.hushrec.key");
    let file = sample_file();
    let file_path = d.join("report.bin");
    std::fs::write(&file_path, &file).unwrap();

    let room = "rec";
    let mut host = join(
        &relay,
        d,
        room,
        "Host",
        &[
            "--host",
            "--admit",
            "auto",
            "--record",
            rec_s,
            "--until-idle",
            "1.5",
        ],
    );
    wait_for_text(&d.join("Host.out"), "security code: ");
    let mut guest = join(
        &relay,
        d,
        room,
        "Guest",
        &[
            "--send-file",
            file_path.to_str().unwrap(),
            "--wait-for",
            "1",
        ],
    );
    assert_eq!(guest.wait_blocking(GUARD), 0, "guest failed");
    assert_eq!(host.wait_blocking(GUARD), 0, "host failed");

    // The start line, the key file (mode 0600), and stdout left as it was: only the contract.
    let err = std::fs::read_to_string(d.join("Host.err")).unwrap();
    let line = format!("recording: {rec_s} (key in {}.key)", rec_s);
    assert!(err.lines().any(|l| l == line), "no {line:?} in {err}");
    let out = std::fs::read_to_string(d.join("Host.out")).unwrap();
    assert!(
        out.lines()
            .all(|l| l.starts_with("security code: ") || l.starts_with("e2ee: ")),
        "unexpected stdout {out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64);

    // Encrypted at rest: none of the file's bytes, nor the sender's name, are in the recording.
    let bytes = std::fs::read(&rec).unwrap();
    assert!(bytes.len() > file.len());
    assert!(!contains(&bytes, b"the quarterly numbers"));
    assert!(!contains(&bytes, &file[..32]));
    assert!(!contains(&bytes, &file[20_000..20_032]));
    assert!(!contains(&bytes, b"Guest"));

    // With the key: the entries are the file transfer (start, chunks, end; SPEC §11.2.1), in
    // order, from the guest; the chunks after their 8-byte transfer id are the file.
    let shown = recording(&[
        "show",
        rec_s,
        "--key-file",
        key_file.to_str().unwrap(),
        "--json",
    ]);
    assert!(shown.status.success(), "{shown:?}");
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v["finished"], true);
    let entries = v["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    let mut joined = Vec::new();
    let last = entries.len() - 1;
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["sender"], "Guest");
        let want = match i {
            0 => "file-start",
            i if i == last => "file-end",
            _ => "file",
        };
        assert_eq!(e["kind"], want);
        let p = hex::decode(e["payload_hex"].as_str().unwrap()).unwrap();
        assert_eq!(e["len"].as_u64().unwrap() as usize, p.len());
        if want == "file" {
            joined.extend_from_slice(&p[8..]);
        }
    }
    assert_eq!(joined, file, "the recording holds the file's bytes");

    // The text listing: one line per entry and a summary.
    let text = recording(&["show", rec_s, "--key", key.trim()]);
    assert!(text.status.success(), "{text:?}");
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), entries.len() + 1);
    assert!(
        text.lines()
            .all(|l| !l.contains("Guest") || l.contains("file"))
    );
    let summary = text.lines().last().unwrap();
    let recorded: u64 = entries.iter().map(|e| e["len"].as_u64().unwrap()).sum();
    assert!(summary.starts_with(&format!("{} entries, {recorded} bytes", entries.len())));
    assert!(summary.ends_with(", finished"), "{summary}");

    // Export: DIR/<the sender's file name> is the file.
    let ex = d.join("export");
    let exported = recording(&[
        "export",
        rec_s,
        "--key-file",
        key_file.to_str().unwrap(),
        "--out",
        ex.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{exported:?}");
    assert_eq!(std::fs::read(ex.join("report.bin")).unwrap(), file);

    // A wrong key: exit 1, one line.
    let wrong = "11".repeat(32);
    let refused = recording(&["show", rec_s, "--key", &wrong]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let msg = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(msg.contains("wrong recording key"), "{msg}");

    // Tampered (one bit in the middle) and truncated (cut inside a record): exit 1.
    let mut tampered = bytes.clone();
    tampered[bytes.len() / 2] ^= 0x04;
    let t = d.join("tampered.hushrec");
    std::fs::write(&t, &tampered).unwrap();
    let out = recording(&["show", t.to_str().unwrap(), "--key", key.trim()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("tampered"));
    let cut = d.join("cut.hushrec");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let out = recording(&["show", cut.to_str().unwrap(), "--key", key.trim()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("truncated"));

    // Not a recording, or a bad key text: exit 2.
    let out = recording(&["show", file_path.to_str().unwrap(), "--key", key.trim()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = recording(&["show", rec_s, "--key", "xyz"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    drop(relay);
}

#[cfg(unix)]
#[test]
fn sigint_finishes_the_recording_with_a_given_key() {
    let dir = TempDir::new("clirec-sigint");
    let d = &dir.0;
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let rec = d.join("alone.hushrec");
    let rec_s = rec.to_str().unwrap();
    let key = "ab".repeat(32);
    let mut host = join(
        &relay,
        d,
        "sigint",
        "Host",
        &[
            "--host",
            "--admit",
            "auto",
            "--record",
            rec_s,
            "--record-key",
            &key,
        ],
    );
    wait_for_text(&d.join("Host.out"), "e2ee: ");
    let pid = host.0.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    assert_eq!(host.wait_blocking(GUARD), 0, "SIGINT leaves cleanly");
    let err = std::fs::read_to_string(d.join("Host.err")).unwrap();
    assert!(
        err.lines()
            .any(|l| l == format!("recording: {rec_s} (key from --record-key)")),
        "{err}"
    );
    assert!(
        !d.join("alone.hushrec.key").exists(),
        "a given key is not written"
    );
    let shown = recording(&["show", rec_s, "--key", &key, "--json"]);
    assert!(shown.status.success(), "{shown:?}");
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v["finished"], true, "the end record was written on SIGINT");
    drop(relay);
}

/// Newcomer item 4: a recording is written as it goes, so after `kill -9` (no chance to finish)
/// it reads back up to its last complete record: the entries are shown, then one line says the
/// recording is not finished (exit 1, as for any unfinished recording). Before, everything sat
/// in a buffer and the file held 0 bytes.
#[test]
fn a_recording_killed_with_sigkill_reads_back_up_to_its_last_record() {
    let dir = TempDir::new("clirec-kill9");
    let d = &dir.0;
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let rec = d.join("killed.hushrec");
    let rec_s = rec.to_str().unwrap();
    let key = "cd".repeat(32);
    let mut host = join(
        &relay,
        d,
        "kill9",
        "Host",
        &[
            "--host",
            "--admit",
            "auto",
            "--record",
            rec_s,
            "--record-key",
            &key,
        ],
    );
    wait_for_text(&d.join("Host.out"), "e2ee: ");
    let _guest = join(
        &relay,
        d,
        "kill9",
        "Guest",
        &["--frame-size", "300", "--fps", "50"],
    );
    // Wait until well over a buffer's worth of records is on disk.
    let start = Instant::now();
    while std::fs::metadata(&rec).map_or(0, |m| m.len()) < 20_000 {
        assert!(start.elapsed() < GUARD, "the recording does not grow");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = host.0.kill(); // SIGKILL: no end record, no flush at exit
    host.0.wait().unwrap();
    let shown = recording(&["show", rec_s, "--key", &key, "--json"]);
    assert_eq!(shown.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v["finished"], false);
    let entries = v["entries"].as_array().unwrap();
    assert!(entries.len() >= 40, "{} entries", entries.len());
    assert!(
        entries
            .iter()
            .all(|e| e["sender"] == "Guest" && e["len"] == 300)
    );
    let err = String::from_utf8(shown.stderr).unwrap();
    assert!(err.contains("recording not finished"), "{err}");
    let text = recording(&["show", rec_s, "--key", &key]);
    let line = String::from_utf8(text.stdout).unwrap();
    assert!(line.contains("NOT finished"), "{line}");
}
