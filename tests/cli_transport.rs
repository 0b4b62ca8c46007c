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
