//! The relay as a service, with the real binaries: SIGTERM drains the relay (SPEC §7.11), the
//! meeting of `hush join --relay A,B` moves to B and continues in a new epoch, the relay exits
//! 0; `hush join` and `hush connector` treat SIGTERM like SIGINT (leave cleanly, exit 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hush_testkit::meeting::TempDir;
use hush_testkit::{RelayProcess, SelfSigned, signal, write_pem};

const GUARD: Duration = Duration::from_secs(30);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

/// A `hush` child whose stdout and stderr go to `<dir>/<tag>.out` and `.err`; killed on drop.
struct Proc {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Proc {
    fn spawn(dir: &Path, tag: &str, args: &[&str]) -> Proc {
        let out = dir.join(format!("{tag}.out"));
        let err = dir.join(format!("{tag}.err"));
        let child = Command::new(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Proc { child, out, err }
    }

    /// Waits until stdout (or stderr) has `n` lines containing `needle`.
    fn wait(&self, stderr: bool, needle: &str, n: usize) {
        let path = if stderr { &self.err } else { &self.out };
        hush_testkit::wait_for_lines(path, needle, n, GUARD);
    }

    /// SIGTERM, then the exit code (bounded by [`GUARD`]).
    fn terminate(&mut self) -> Option<i32> {
        assert!(signal(self.child.id(), "TERM"));
        let start = Instant::now();
        while start.elapsed() < GUARD {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no exit within {GUARD:?} after SIGTERM");
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_drains_the_relay_and_the_meeting_moves_to_the_next_relay() {
    let dir = TempDir::new("cli-drain");
    let cert = SelfSigned::generate().unwrap();
    let (c, k) = write_pem(dir.path(), &cert).unwrap();
    let relay = |drain: &str| {
        let args = ["--listen", "127.0.0.1:0", "--cert", &c, "--key", &k];
        let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        args.extend(["--drain-secs".to_owned(), drain.to_owned()]);
        RelayProcess::spawn(bin(), &args).unwrap()
    };
    let mut a = relay("30");
    let b = relay("0");
    let relays = format!("{},{}", a.addr, b.addr);
    let pin = hex::encode(a.pin);
    let common = [
        "--relay",
        &relays,
        "--relay-cert-sha256",
        &pin,
        "--room",
        "svc",
    ];
    let host = Proc::spawn(
        dir.path(),
        "host",
        &[
            &["join"][..],
            &common,
            &["--name", "H", "--host", "--admit", "auto"],
        ]
        .concat(),
    );
    let mut guest = Proc::spawn(
        dir.path(),
        "guest",
        &[&["join"][..], &common, &["--name", "G"]].concat(),
    );
    for p in [&host, &guest] {
        p.wait(false, "security code:", 1);
    }
    let started = Instant::now();
    let status = a.terminate(GUARD).expect("the relay exits after its drain");
    assert!(status.success(), "a drained relay exits 0: {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the drain ends when its clients have moved"
    );
    let moved = format!("moved to relay {}", b.addr);
    for p in [&host, &guest] {
        p.wait(true, &moved, 1);
        p.wait(true, "reconnected", 1);
    }
    // A new epoch on relay B: the guest sees a second security code with both members.
    guest.wait(false, "security code:", 2);
    guest.wait(true, "\"G\" (Participant", 2);

    assert_eq!(guest.terminate(), Some(0), "{}", guest.stderr());
    assert!(guest.stderr().contains("terminated: leaving"));
}

#[test]
fn sigterm_makes_the_connector_leave_cleanly() {
    let dir = TempDir::new("cli-connector-term");
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let addr = relay.addr.to_string();
    let pin = hex::encode(relay.pin);
    let mut conn = Proc::spawn(
        dir.path(),
        "connector",
        &[
            "connector",
            "--relay",
            &addr,
            "--relay-cert-sha256",
            &pin,
            "--room",
            "c",
            "--name",
            "bridge",
            "--udp-sink",
            "127.0.0.1:9",
        ],
    );
    conn.wait(true, "joined room", 1);
    assert_eq!(conn.terminate(), Some(0), "{}", conn.stderr());
    let err = conn.stderr();
    assert!(err.contains("terminated: leaving"), "{err}");
    assert!(err.contains("connector: left;"), "{err}");
}

/// Newcomer item 2: a file larger than the relay's per-connection budget allows in a burst
/// arrives whole. The sender paces itself below the limits the relay announced in `Hello`
/// (SPEC §6.3) instead of being closed for `RATE_LIMITED` halfway (what happened before: the
/// receiver kept a truncated file). A tight budget (4 MiB/s) keeps the test short; the 200 MB
/// run is `big_file_arrives_whole_at_the_default_budget` (ignored: release, minutes).
#[test]
fn a_file_above_the_relay_budget_arrives_whole() {
    file_arrives_whole(
        "cli-pace",
        12 << 20,
        &["--bytes-per-sec", "4194304", "--frames-per-sec", "400"],
    );
}

/// The issue's own case: 200 MB through the relay's default budget, streamed from disk on the
/// sender and to disk on the receiver (never all in memory).
#[test]
fn big_file_arrives_whole_at_the_default_budget() {
    file_arrives_whole("cli-pace-200", 200 << 20, &[]);
}

fn file_arrives_whole(tag: &str, size: usize, relay_flags: &[&str]) {
    let dir = TempDir::new(tag);
    let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
    args.extend(relay_flags.iter().map(|s| (*s).to_owned()));
    let relay = RelayProcess::spawn(bin(), &args).unwrap();
    let addr = relay.addr.to_string();
    let pin = hex::encode(relay.pin);
    let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &body).unwrap();
    let got = dir.path().join("got");
    let common = ["--relay", &addr, "--relay-cert-sha256", &pin, "--room", "f"];
    let host = Proc::spawn(
        dir.path(),
        "host",
        &[
            &["join"][..],
            &common,
            &["--name", "H", "--host", "--admit", "auto"],
            &["--recv-dir", got.to_str().unwrap()],
        ]
        .concat(),
    );
    host.wait(false, "security code:", 1);
    let mut sender = Proc::spawn(
        dir.path(),
        "sender",
        &[
            &["join"][..],
            &common,
            &["--name", "S", "--send-file", src.to_str().unwrap()],
            &["--wait-for", "1"],
        ]
        .concat(),
    );
    let start = Instant::now();
    while sender.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(600), "sender hangs");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        sender.child.wait().unwrap().code(),
        Some(0),
        "{}",
        sender.stderr()
    );
    assert!(
        !sender.stderr().contains("disconnected"),
        "the sender was never closed: {}",
        sender.stderr()
    );
    host.wait(true, "received \"big.bin\"", 1);
    let back = std::fs::read(got.join("big.bin")).unwrap();
    assert_eq!(back.len(), body.len());
    assert!(back == body, "the bytes differ");
}

/// Newcomer item 2, the receiving side: a transfer that cannot complete (here its sender is
/// killed halfway) leaves no file behind, and the receiver says what it removed. Before, the
/// receiver kept a truncated file without a word.
#[test]
fn a_transfer_cut_off_halfway_leaves_no_file_and_says_so() {
    let dir = TempDir::new("cli-cut-transfer");
    let args: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--bytes-per-sec",
        "2097152",
        "--frames-per-sec",
        "400",
        // A killed sender sends no close: the relay notices when its connection idles out.
        "--idle-timeout",
        "2",
    ]
    .map(String::from)
    .to_vec();
    let relay = RelayProcess::spawn(bin(), &args).unwrap();
    let addr = relay.addr.to_string();
    let pin = hex::encode(relay.pin);
    let src = dir.path().join("cut.bin");
    std::fs::write(&src, vec![7u8; 32 << 20]).unwrap();
    let got = dir.path().join("got");
    let common = [
        "--relay",
        &addr,
        "--relay-cert-sha256",
        &pin,
        "--room",
        "cut",
    ];
    let host = Proc::spawn(
        dir.path(),
        "host",
        &[
            &["join"][..],
            &common,
            &["--name", "H", "--host", "--admit", "auto"],
            &["--recv-dir", got.to_str().unwrap()],
        ]
        .concat(),
    );
    host.wait(false, "security code:", 1);
    let mut sender = Proc::spawn(
        dir.path(),
        "sender",
        &[
            &["join"][..],
            &common,
            &["--name", "S", "--send-file", src.to_str().unwrap()],
            &["--wait-for", "1"],
        ]
        .concat(),
    );
    host.wait(true, "receiving \"cut.bin\"", 1);
    // Some bytes are on disk in the partial file, then the sender dies.
    let part = got.join("cut.bin.part");
    let start = Instant::now();
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < 1 << 20 {
        assert!(start.elapsed() < GUARD, "no partial file grows");
        std::thread::sleep(Duration::from_millis(20));
    }
    sender.child.kill().unwrap();
    sender.child.wait().unwrap();
    host.wait(true, "incomplete file \"cut.bin\"", 1);
    let err = host.stderr();
    assert!(err.contains("the partial file is removed"), "{err}");
    assert!(!err.contains("received \"cut.bin\""), "{err}");
    let left: Vec<_> = std::fs::read_dir(&got).unwrap().collect();
    assert!(left.is_empty(), "nothing kept: {left:?}");
}

/// Newcomer items 3 and 7: nobody waits in silence. The guest says it waits for the host; a
/// connector that the README's host (`--admit auto`) refuses is told why and exits 3 (refused
/// by policy); the host prints that it refused a connector and how to admit one; a second
/// `--host` in the room is told the room already has a host and stops with 3.
#[test]
fn waiting_denied_and_second_host_each_get_one_clear_line() {
    let dir = TempDir::new("cli-waits");
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let addr = relay.addr.to_string();
    let pin = hex::encode(relay.pin);
    let common = ["--relay", &addr, "--relay-cert-sha256", &pin, "--room", "w"];
    let guest = Proc::spawn(
        dir.path(),
        "guest",
        &[&["join"][..], &common, &["--name", "G"]].concat(),
    );
    guest.wait(true, "waiting for the host…", 1);
    let host = Proc::spawn(
        dir.path(),
        "host",
        &[
            &["join"][..],
            &common,
            &["--name", "H", "--host", "--admit", "auto"],
        ]
        .concat(),
    );
    guest.wait(false, "security code:", 1);
    let mut conn = Proc::spawn(
        dir.path(),
        "connector",
        &[
            &["connector"][..],
            &common,
            &["--name", "phone", "--udp-sink", "127.0.0.1:9"],
        ]
        .concat(),
    );
    let start = Instant::now();
    let code = loop {
        if let Some(s) = conn.child.try_wait().unwrap() {
            break s.code();
        }
        assert!(start.elapsed() < GUARD, "the refused connector still waits");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(3), "{}", conn.stderr());
    assert!(
        conn.stderr().contains("the host refused this connector"),
        "{}",
        conn.stderr()
    );
    host.wait(true, "refused connector \"phone\"", 1);
    host.wait(true, "--admit-connectors", 1);

    let mut second = Proc::spawn(
        dir.path(),
        "second",
        &[
            &["join"][..],
            &common,
            &["--name", "H2", "--host", "--admit", "auto"],
        ]
        .concat(),
    );
    let start = Instant::now();
    let code = loop {
        if let Some(s) = second.child.try_wait().unwrap() {
            break s.code();
        }
        assert!(start.elapsed() < GUARD, "the second host did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(3), "{}", second.stderr());
    assert!(
        second.stderr().contains("the room already has a host"),
        "{}",
        second.stderr()
    );
}

/// Newcomer item 6: one exit-code scheme, documented in `--help`; a relay that cannot be
/// reached is a network failure (4).
#[test]
fn exit_codes_are_documented_and_an_unreachable_relay_exits_4() {
    let help = Command::new(bin())
        .args(["join", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for want in ["Exit codes:", "2 usage", "3 refused by policy", "4 network"] {
        assert!(
            text.contains(want),
            "{want:?} missing from join --help:\n{text}"
        );
    }
    // A UDP port with nothing behind it.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap().to_string();
    drop(sock);
    let out = Command::new(bin())
        .args([
            "join",
            "--relay",
            &addr,
            "--relay-cert-sha256",
            &"ab".repeat(32),
        ])
        .args(["--room", "x", "--name", "G"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
