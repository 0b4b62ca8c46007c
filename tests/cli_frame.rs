//! `hush frame seal|inspect|open` as a script would run it: hex on stdin, hex on stdout,
//! one error line on stderr and the documented exit codes (1 authentication, 2 other).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hush(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // hush may reject its arguments and exit before reading stdin: a broken pipe is fine then.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_string()
}

/// Fails unless the run exited with `code` and printed exactly one line on stderr, no panic.
fn assert_fails(o: &Output, code: i32) -> String {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "stderr: {err}"
    );
    assert!(o.stdout.is_empty());
    err
}

const KEY: &str = "000102030405060708090a0b0c0d0e0f";

#[test]
fn rfc_vector_seal_inspect_open() {
    // RFC 9605 Appendix C, AES_128_CTR_HMAC_SHA256_80.
    let pt = "64726166742d696574662d736672616d652d656e63";
    let meta = "4945544620534672616d65205747";
    let ct = "9901234567449408b6f490086165b9d6f62b24ae1a59a56486b4ae8ed036b88912e24f11";
    let sealed = hush(
        &[
            "frame",
            "seal",
            "--suite",
            "1",
            "--key",
            KEY,
            "--kid",
            "291",
            "--ctr",
            "17767",
            "--metadata",
            meta,
        ],
        pt,
    );
    assert!(sealed.status.success());
    assert_eq!(stdout(&sealed), ct);

    let seen = hush(&["frame", "inspect"], &format!("{ct}\n"));
    assert!(seen.status.success());
    assert_eq!(
        stdout(&seen),
        "kid=291 ctr=17767 header_len=5 payload_len=31"
    );

    let opened = hush(
        &[
            "frame",
            "open",
            "--suite",
            "AES_128_CTR_HMAC_SHA256_80",
            "--key",
            KEY,
            "--metadata",
            meta,
        ],
        ct,
    );
    assert!(opened.status.success());
    assert_eq!(stdout(&opened), pt);
}

#[test]
fn round_trip_every_suite_by_number_or_name() {
    for suite in [
        "aes-128-gcm",
        "0x0005",
        "CHACHA20_POLY1305_SHA256",
        "61441",
        "2",
        "3",
    ] {
        let sealed = hush(
            &[
                "frame", "seal", "--suite", suite, "--key", KEY, "--kid", "7", "--ctr", "1000",
            ],
            "c0ffee",
        );
        assert!(sealed.status.success(), "{suite}");
        let frame = stdout(&sealed);
        assert_eq!(frame, frame.to_lowercase());
        let opened = hush(&["frame", "open", "--suite", suite, "--key", KEY], &frame);
        assert_eq!(stdout(&opened), "c0ffee", "{suite}");
    }
}

#[test]
fn wrong_key_or_metadata_exits_1() {
    let frame = stdout(&hush(
        &[
            "frame", "seal", "--suite", "4", "--key", KEY, "--kid", "1", "--ctr", "0",
        ],
        "00",
    ));
    let err = assert_fails(
        &hush(&["frame", "open", "--suite", "4", "--key", "ff"], &frame),
        1,
    );
    assert!(err.contains("authentication"), "{err}");
    assert_fails(
        &hush(
            &[
                "frame",
                "open",
                "--suite",
                "4",
                "--key",
                KEY,
                "--metadata",
                "01",
            ],
            &frame,
        ),
        1,
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let err = assert_fails(&hush(&["frame", "inspect"], "not hex"), 2);
    assert!(err.contains("hex"), "{err}");
    let err = assert_fails(
        &hush(
            &[
                "frame", "seal", "--suite", "rot13", "--key", KEY, "--kid", "1", "--ctr", "0",
            ],
            "00",
        ),
        2,
    );
    assert!(err.contains("suite"), "{err}");
    assert_fails(
        &hush(
            &[
                "frame", "seal", "--suite", "4", "--key", "abc", "--kid", "1", "--ctr", "0",
            ],
            "00",
        ),
        2,
    );
    // Truncated: the config byte announces 4 more header bytes.
    let err = assert_fails(&hush(&["frame", "inspect"], "99"), 2);
    assert!(err.contains("truncated"), "{err}");
    assert_fails(
        &hush(&["frame", "open", "--suite", "4", "--key", KEY], "99"),
        2,
    );
    // A complete header but fewer bytes than a tag.
    let err = assert_fails(
        &hush(&["frame", "open", "--suite", "4", "--key", KEY], "1100aabb"),
        2,
    );
    assert!(err.contains("truncated"), "{err}");
    assert_fails(
        &hush(&["frame", "open", "--suite", "4", "--key", KEY], ""),
        2,
    );
}
