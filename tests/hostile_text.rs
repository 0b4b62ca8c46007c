//! Issue 10, items 5 and 7: text from other parties is untrusted input, and received files
//! cannot be written into by another sender. End to end through the binary: `hush join` and
//! `hush connector` run as child processes (killed by pid on every path) against a relay in
//! this process; hostile members are library clients that send what the CLI never would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hush_client::ClientRole;
use hush_testkit::meeting::{GUARD, TempDir, TestRelay, config, host_role, join};
use hush_testkit::{HostileRelay, Hush, Proc};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

/// What a test starts from: a relay in this process and a directory for the children's output.
struct Scene {
    relay: TestRelay,
    dir: TempDir,
}

impl Scene {
    async fn start(tag: &str) -> Self {
        let dir = TempDir::new(tag);
        let relay = TestRelay::start().await;
        Scene { relay, dir }
    }

    /// `hush` children on the relay, writing into the directory.
    fn hush(&self) -> Hush<'_> {
        Hush::new(bin(), self.relay.addr, self.relay.pin, self.dir.path())
    }
}

/// `hush join --host --admit auto <extra>` in `room` as child `host`, once it printed its
/// security code.
async fn start_host(at: &Hush<'_>, room: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--host", "--admit", "auto"];
    args.extend_from_slice(extra);
    let host = at.spawn("join", "host", room, "Host", &args);
    wait_text(&at.out("host"), "security code: ").await;
    host
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// Waits (bounded by [`GUARD`]) until `path` holds `n` lines satisfying `pred`.
/// Waits for `n` complete lines (ended by a newline: a child may be half-way through writing
/// one) that `pred` accepts.
async fn wait_lines(path: &Path, n: usize, pred: impl Fn(&str) -> bool) {
    let start = Instant::now();
    let complete = |t: String| t[..t.rfind('\n').map_or(0, |i| i + 1)].to_owned();
    while complete(read(path)).lines().filter(|l| pred(l)).count() < n {
        assert!(
            start.elapsed() < GUARD * 2,
            "{n} matching lines never appeared in {path:?}:\n{}",
            read(path)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_text(path: &Path, needle: &str) {
    wait_lines(path, 1, |l| l.contains(needle)).await;
}

/// No ESC (nor any other C0 control but newline) anywhere in what a child printed.
fn assert_no_controls(dir: &Path, tag: &str) {
    for ext in ["out", "err"] {
        let p = dir.join(format!("{tag}.{ext}"));
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.iter().any(|&b| b < 0x20 && b != b'\n'),
            "control byte in {p:?}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// `8 groups of 8 hex digits separated by spaces`.
fn is_fingerprint(s: &str) -> bool {
    s.len() == 71
        && s.split(' ').count() == 8
        && s.split(' ')
            .all(|g| g.len() == 8 && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_chat_cannot_print_a_fake_security_code() {
    let scene = Scene::start("hostile-chat").await;
    let (relay, d, at) = (&scene.relay, scene.dir.path(), scene.hush());
    let room = "chat";
    let _host = start_host(&at, room, &[]).await;
    let (mallory, _ev) = join(relay.config(room, "Mallory", ClientRole::Guest)).await;
    mallory.wait_for_others(1, GUARD).await.unwrap();
    let fake = "\nsecurity code: 00000 00000 00000 00000 00000 00000\x1b[8m\r\u{202e}";
    mallory.send_chat(fake).await.unwrap();
    let me = &mallory
        .roster()
        .unwrap()
        .members
        .iter()
        .find(|m| m.name == "Mallory")
        .unwrap()
        .identity
        .to_hex()[..8];
    let line = format!(
        "chat from Mallory ({me}): \"\\nsecurity code: 00000 00000 00000 00000 00000 \
         00000\\x1b[8m\\r\\u{{202e}}\""
    );
    wait_text(&d.join("host.err"), "chat from Mallory").await;
    let err = read(&d.join("host.err"));
    assert!(err.lines().any(|l| l == line), "no {line:?} in:\n{err}");
    assert_no_controls(d, "host");
    // The only `security code:` lines are the host's own, on stdout, and they are the real code.
    assert!(
        !err.lines().any(|l| l.starts_with("security code:")),
        "{err}"
    );
    let code = mallory.security_code().unwrap();
    let out = read(&d.join("host.out"));
    let codes: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("security code:"))
        .collect();
    assert_eq!(
        codes.last(),
        Some(&format!("security code: {code}").as_str())
    );
    // Roster lines quote the names and give each full fingerprint.
    assert!(
        err.lines()
            .any(|l| l.starts_with("epoch ") && l.contains("\"Mallory\" (Participant, ")),
        "{err}"
    );
    let _ = mallory.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_connector_name_cannot_change_the_e2ee_line() {
    let scene = Scene::start("hostile-connector").await;
    let (d, at) = (scene.dir.path(), scene.hush());
    let room = "conn";
    let _host = at.spawn(
        "join",
        "host",
        room,
        "Host",
        &["--host", "--admit", "auto", "--admit-connectors"],
    );
    wait_text(&d.join("host.out"), "e2ee: on").await;
    let _bob = at.spawn("join", "bob", room, "Bob", &[]);
    wait_lines(&d.join("bob.out"), 1, |l| l == "e2ee: on").await;
    // The group rule refuses the name before anything is sent; its own error line is escaped.
    let evil = "rec\ne2ee: on\x1b[8m";
    let mut c = at.spawn(
        "connector",
        "evil",
        room,
        evil,
        &["--udp-sink", "127.0.0.1:9"],
    );
    assert_ne!(c.wait(GUARD * 4).await, 0, "{}", read(&d.join("evil.err")));
    assert_no_controls(d, "evil");
    assert!(read(&d.join("evil.err")).contains("display name"));
    // An ordinary connector still reads as before; after it leaves, `e2ee: on` again.
    let mut phone = at.spawn(
        "connector",
        "phone",
        room,
        "phone",
        &["--udp-sink", "127.0.0.1:9"],
    );
    for who in ["host", "bob"] {
        wait_lines(&d.join(format!("{who}.out")), 1, |l| {
            l == "e2ee: off (connector phone decrypts)"
        })
        .await;
    }
    let _ = Command::new("kill")
        .args(["-INT", &phone.0.id().to_string()])
        .status();
    phone.wait(GUARD * 4).await;
    for who in ["host", "bob"] {
        wait_lines(&d.join(format!("{who}.out")), 2, |l| l == "e2ee: on").await;
        let out = read(&d.join(format!("{who}.out")));
        let last = out.lines().rfind(|l| l.starts_with("e2ee:"));
        assert_eq!(last, Some("e2ee: on"), "{out}");
        assert_no_controls(d, who);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_two_senders_named_alice_get_two_files() {
    let scene = Scene::start("hostile-alices").await;
    let (d, at) = (scene.dir.path(), scene.hush());
    let got = d.join("got");
    let room = "files";
    let mut host = start_host(
        &at,
        room,
        &["--recv-dir", got.to_str().unwrap(), "--until-idle", "3"],
    )
    .await;
    let mut contents = Vec::new();
    let mut senders = Vec::new();
    for (i, tag) in ["alice1", "alice2"].iter().enumerate() {
        let src = d.join(tag);
        std::fs::create_dir_all(&src).unwrap();
        let body = format!("notes of Alice number {i}\n").repeat(2000 + i * 1000);
        let path = src.join("notes.txt");
        std::fs::write(&path, &body).unwrap();
        contents.push(body);
        senders.push(at.spawn(
            "join",
            tag,
            room,
            "Alice",
            &["--send-file", path.to_str().unwrap(), "--wait-for", "1"],
        ));
    }
    for s in &mut senders {
        assert_eq!(s.wait(GUARD * 4).await, 0);
    }
    wait_lines(&d.join("host.err"), 2, |l| l.starts_with("received ")).await;
    assert_eq!(
        host.wait(GUARD * 4).await,
        0,
        "{}",
        read(&d.join("host.err"))
    );

    // Two files, each with its own name and exactly its sender's bytes.
    assert_eq!(
        files_in(&got),
        BTreeSet::from(["notes.txt".to_owned(), "notes (1).txt".to_owned()])
    );
    let mut read_back: Vec<String> = ["notes.txt", "notes (1).txt"]
        .iter()
        .map(|n| std::fs::read_to_string(got.join(n)).unwrap())
        .collect();
    read_back.sort();
    contents.sort();
    assert_eq!(read_back, contents);

    // `received "<name>" (<N> bytes) from Alice (<fingerprint>)`, two different fingerprints.
    let err = read(&d.join("host.err"));
    let mut fps = BTreeSet::new();
    for l in err.lines().filter(|l| l.starts_with("received ")) {
        let (name, rest) = l
            .strip_prefix("received \"")
            .and_then(|r| r.split_once("\" ("))
            .unwrap_or_else(|| panic!("{l}"));
        let (n, rest) = rest.split_once(" bytes) from Alice (").unwrap();
        let fp = rest.strip_suffix(')').unwrap();
        assert_eq!(
            std::fs::read(got.join(name)).unwrap().len(),
            n.parse::<usize>().unwrap()
        );
        assert!(is_fingerprint(fp), "{l}");
        fps.insert(fp.to_owned());
    }
    assert_eq!(fps.len(), 2, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_file_names_land_inside_the_recv_dir() {
    let scene = Scene::start("hostile-names").await;
    let (relay, d, at) = (&scene.relay, scene.dir.path(), scene.hush());
    let got = d.join("a").join("got");
    let room = "names";
    let _host = start_host(&at, room, &["--recv-dir", got.to_str().unwrap()]).await;
    let (mallory, _ev) = join(relay.config(room, "Mallory", ClientRole::Guest)).await;
    mallory.wait_for_others(1, GUARD).await.unwrap();
    let sent: [(&str, &[u8]); 6] = [
        ("../../etc/x", b"one"),
        ("..", b"two"),
        (".", b"three"),
        (".bashrc", b"four"),
        ("/abs\n\x1b[8m.txt", b"five"),
        ("x", b"six"),
    ];
    for (name, body) in sent {
        mallory.send_file(name, body).await.unwrap();
    }
    wait_lines(&d.join("host.err"), sent.len(), |l| {
        l.starts_with("received ")
    })
    .await;
    let want: BTreeSet<String> = [
        "_.._etc_x",
        "file",
        "file (1)",
        "bashrc",
        "_abs__[8m.txt",
        "x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(files_in(&got), want);
    assert_eq!(std::fs::read(got.join("_.._etc_x")).unwrap(), b"one");
    assert_eq!(std::fs::read(got.join("x")).unwrap(), b"six");
    // Nothing outside the directory.
    assert_eq!(files_in(&d.join("a")), BTreeSet::from(["got".to_owned()]));
    assert!(!d.join("etc").exists());
    assert_no_controls(d, "host");
    let _ = mallory.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_media_of_two_senders_named_alice_goes_to_two_files() {
    let scene = Scene::start("hostile-media").await;
    let (d, at) = (scene.dir.path(), scene.hush());
    let got = d.join("got");
    let room = "media";
    let _host = start_host(&at, room, &["--recv-dir", got.to_str().unwrap()]).await;
    let _a1 = at.spawn(
        "join",
        "a1",
        room,
        "Alice",
        &["--frame-size", "100", "--fps", "20", "--wait-for", "1"],
    );
    let _a2 = at.spawn(
        "join",
        "a2",
        room,
        "Alice",
        &["--frame-size", "100", "--fps", "20", "--wait-for", "1"],
    );
    let start = Instant::now();
    let both = BTreeSet::from(["Alice.media".to_owned(), "Alice (1).media".to_owned()]);
    loop {
        let ok = files_in(&got) == both
            && both
                .iter()
                .all(|n| std::fs::metadata(got.join(n)).unwrap().len() >= 500);
        if ok {
            break;
        }
        assert!(start.elapsed() < GUARD * 2, "{:?}", files_in(&got));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A host (in process) and a `hush join` guest (its output under `d` as `guest.*`) in `room`
/// of the hostile `relay`, the guest keyed; the guest's relay id.
async fn host_and_cli_guest(
    relay: &HostileRelay,
    d: &Path,
    room: &str,
) -> (hush_client::Meeting, Proc, hush_wire::ParticipantId) {
    let at = Hush::new(bin(), relay.addr(), relay.pin(), d);
    let (host, _hev) = join(config(relay.addr(), relay.pin(), room, "Host", host_role())).await;
    host.wait_ready(GUARD).await.unwrap();
    let child = at.spawn("join", "guest", room, "Guest", &[]);
    wait_text(&d.join("guest.out"), "security code: ").await;
    let me = host.relay_id().unwrap();
    let guest = relay
        .members(room)
        .into_iter()
        .find(|id| id.0 != me)
        .unwrap();
    (host, child, guest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_relay_close_reason_is_printed_escaped() {
    let dir = TempDir::new("hostile-close");
    let d = dir.path();
    let relay = HostileRelay::start().await.unwrap();
    let (host, _child, guest) = host_and_cli_guest(&relay, d, "close").await;
    relay.disconnect_with(guest, b"bye\nsecurity code: 11111 11111\x1b[8m");
    wait_text(&d.join("guest.err"), "disconnected: ").await;
    let err = read(&d.join("guest.err"));
    assert!(
        err.lines()
            .any(|l| l == "disconnected: bye\\nsecurity code: 11111 11111\\x1b[8m"),
        "{err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("security code:")),
        "{err}"
    );
    assert_no_controls(d, "guest");
    let _ = host.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_relay_names_in_carriers_are_printed_escaped() {
    let dir = TempDir::new("hostile-carriers");
    let d = dir.path();
    let relay = HostileRelay::start().await.unwrap();
    let (host, _child, guest) = host_and_cli_guest(&relay, d, "carriers").await;
    relay.inject([hush_testkit::Out::Carriers {
        to: guest,
        relays: vec![("x\x1b[2J\ne2ee: on".to_owned(), "eu\u{202e}\r".to_owned())],
    }]);
    wait_text(&d.join("guest.err"), "carried by relays: ").await;
    let err = read(&d.join("guest.err"));
    assert!(
        err.lines()
            .any(|l| l == "carried by relays: x\\x1b[2J\\ne2ee: on (region \"eu\\u{202e}\\r\")"),
        "{err}"
    );
    assert!(!err.lines().any(|l| l.starts_with("e2ee:")), "{err}");
    assert_no_controls(d, "guest");
    let _ = host.leave().await;
}

#[test]
fn abuse_admit_ask_without_a_terminal_is_a_usage_error() {
    let out = Command::new(bin())
        .args(["join", "--relay", "127.0.0.1:9"])
        .args(["--relay-cert-sha256", &"00".repeat(32)])
        .args(["--room", "r", "--name", "Host", "--host"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--admit auto"), "{err}");
}
