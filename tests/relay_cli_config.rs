//! `hush relay` refuses bad operator input at start (issue 10, item 9): a limit outside its
//! range (SPEC §7.4), a limit of 0, a `cert` without `key` (or the reverse) is one line on
//! stderr naming the key, and a non-zero exit, before anything listens.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

fn relay_with_config(name: &str, toml: &str, extra: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("hush-relay-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .arg("relay")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--config")
        .arg(&path)
        .args(extra)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn one_error_line(o: &Output) -> String {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert!(!o.status.success(), "accepted; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(o.stdout.is_empty(), "nothing listened: {:?}", o.stdout);
    err
}

#[test]
fn abuse_relay_cli_refuses_out_of_range_limits() {
    let e = one_error_line(&relay_with_config(
        "queue",
        "[limits]\ncontrol_queue = 4611686018427387904\n",
        &[],
    ));
    assert!(
        e.contains("control_queue") && e.contains("1..=65536"),
        "{e}"
    );
    let e = one_error_line(&relay_with_config(
        "frames",
        "[limits]\nstream_frames_in_flight = 4611686018427387904\n",
        &[],
    ));
    assert!(e.contains("stream_frames_in_flight"), "{e}");
    let e = one_error_line(&relay_with_config("zero", "[limits]\nmax_rooms = 0\n", &[]));
    assert!(e.contains("max_rooms") && e.contains("1..="), "{e}");
    // A flag is checked the same way.
    let e = one_error_line(&relay_with_config("flag", "", &["--max-connections", "0"]));
    assert!(e.contains("--max-connections"), "{e}");
}

#[test]
fn abuse_relay_cli_refuses_cert_without_key() {
    let e = one_error_line(&relay_with_config("cert", "cert = \"relay.pem\"\n", &[]));
    assert!(e.contains("`cert` is set without `key`"), "{e}");
    let e = one_error_line(&relay_with_config("key", "key = \"relay.key\"\n", &[]));
    assert!(e.contains("`key` is set without `cert`"), "{e}");
}

/// The cascade's flags (SPEC §15.5): a directory that cannot be reached at start is a network
/// error (exit 4) naming it; a directory cluster without a region, cluster flags without a
/// cluster, a bad peer or name are usage errors (exit 2); a password in the directory's URL is
/// never printed.
#[test]
fn abuse_relay_cli_refuses_bad_cluster_settings() {
    let o = relay_with_config(
        "nodir",
        "",
        &["--cluster", "redis://:s3cret@127.0.0.1:1", "--region", "eu"],
    );
    let e = one_error_line(&o);
    assert_eq!(o.status.code(), Some(4), "{e}");
    assert!(e.contains("cannot reach the cluster directory"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
    for (tag, args, needle) in [
        (
            "noregion",
            &["--cluster", "redis://127.0.0.1:1"][..],
            "--region",
        ),
        (
            "noclust",
            &["--name", "relay-a"][..],
            "need --cluster or --peer",
        ),
        (
            "badpeer",
            &[
                "--peer",
                "127.0.0.1:1#00",
                "--cluster-secret-file",
                "/nonexistent",
            ][..],
            "--peer",
        ),
        (
            "badname",
            &[
                "--cluster",
                "redis://127.0.0.1:1",
                "--region",
                "eu",
                "--name",
                "a:b",
            ][..],
            "--name",
        ),
        (
            "nosecret",
            &["--peer", &format!("127.0.0.1:1#{}", "00".repeat(32))][..],
            "--cluster-secret-file",
        ),
    ] {
        let o = relay_with_config(tag, "", args);
        let e = one_error_line(&o);
        assert_eq!(o.status.code(), Some(2), "{tag}: {e}");
        assert!(e.contains(needle), "{tag}: {e}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args([
            "relay",
            "--cluster",
            "redis://:s3cret@10.0.0.1:6379",
            "--region",
            "eu",
        ])
        .args(["--advertise", "10.0.0.1:4433", "--print-config"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        text.contains("cluster = \"redis://:***@10.0.0.1:6379\""),
        "{text}"
    );
    assert!(text.contains("name = \"10.0.0.1-4433\""), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}
