//! `hush join` against a relay that issues its own keys (SPEC §12.5): refused with one line and
//! exit code 3 unless `--allow-transport`; `--allow-transport` with `--host`, `--host-key` or
//! `--admit-connectors` is a usage error (exit 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use hush_testkit::RelayProcess;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

fn join(relay: &RelayProcess, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("join")
        .args(["--relay", &relay.addr.to_string()])
        .args(["--relay-cert-sha256", &hex::encode(relay.pin)])
        .args(["--room", "r", "--name", "G"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn hostile_transport_relay_is_refused_by_hush_join_with_exit_code_3() {
    let relay = RelayProcess::spawn(
        bin(),
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--mode".into(),
            "transport".into(),
        ],
    )
    .unwrap();
    let key = "11".repeat(32);
    for extra in [
        &[][..],
        &["--host", "--admit", "auto"][..],
        &["--host-key", key.as_str()][..],
    ] {
        let out = join(&relay, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {stderr}");
        let want = format!(
            "relay {} issues its own keys (transport mode); refusing: pass --allow-transport to \
             accept a meeting the relay can read",
            relay.addr
        );
        assert!(stderr.contains(&want), "{extra:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
        assert!(out.stdout.is_empty(), "nothing joined, no status printed");
    }
}

#[test]
fn allow_transport_with_host_controls_is_a_usage_error() {
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let key = "11".repeat(32);
    for extra in [
        &["--allow-transport", "--host", "--admit", "auto"][..],
        &["--allow-transport", "--host-key", key.as_str()][..],
        &["--allow-transport", "--admit-connectors"][..],
    ] {
        let out = join(&relay, extra);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    }
}

/// Newcomer item 10: in transport mode `--wait-for` counts the participants the relay reports
/// (there is no roster), so `--send-file F --wait-for 1` sends once the receiver is there and
/// exits, instead of waiting forever without a word.
#[test]
fn transport_send_file_with_wait_for_sends_and_exits() {
    let relay = RelayProcess::spawn(
        bin(),
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--mode".into(),
            "transport".into(),
        ],
    )
    .unwrap();
    let dir = hush_testkit::meeting::TempDir::new("cli-transport-wait");
    let file = dir.path().join("t.bin");
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let got = dir.path().join("got");
    let h = hush_testkit::Hush::new(bin(), relay.addr, relay.pin, dir.path());
    let mut receiver = h.spawn(
        "join",
        "rx",
        "r",
        "R",
        &["--allow-transport", "--recv-dir", got.to_str().unwrap()],
    );
    let mut sender = h.spawn(
        "join",
        "tx",
        "r",
        "S",
        &[
            "--allow-transport",
            "--send-file",
            file.to_str().unwrap(),
            "--wait-for",
            "1",
        ],
    );
    let guard = std::time::Duration::from_secs(30);
    assert_eq!(
        sender.wait_blocking(guard),
        0,
        "{}",
        std::fs::read_to_string(h.err("tx")).unwrap_or_default()
    );
    let start = std::time::Instant::now();
    let target = got.join("t.bin");
    while std::fs::read(&target).ok().as_deref() != Some(&data[..]) {
        assert!(
            start.elapsed() < guard,
            "the file did not arrive whole: {}",
            std::fs::read_to_string(h.err("rx")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    hush_testkit::signal(receiver.0.id(), "TERM");
    assert_eq!(receiver.wait_blocking(guard), 0);
}
