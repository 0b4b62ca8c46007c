//! The relay's stable identity (issue 12): `hush relay --state-dir DIR` generates its key and
//! certificate once and reuses them, so a restarted relay keeps its pin and the clients of a
//! meeting reconnect to it instead of being stranded (`invalid peer certificate`). `hush relay
//! pin` prints the pin without starting; `--print-config` shows the merged configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hush_testkit::Hush;
use hush_testkit::RelayProcess;
use hush_testkit::meeting::TempDir;

const GUARD: Duration = Duration::from_secs(30);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

fn hush(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args).stdin(Stdio::null()).env_remove("RUST_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn wait_lines(path: &Path, needle: &str, n: usize) {
    hush_testkit::wait_for_lines(path, needle, n, GUARD);
}

/// `hush join <relay_args> --room r --name <tag>`: waits for `joined room`, then SIGTERM, which
/// must leave cleanly with exit 0.
fn join_then_leave(dir: &Path, tag: &str, relay_args: &[&str]) {
    let err = dir.join(format!("{tag}.err"));
    let child = Command::new(bin())
        .arg("join")
        .args(relay_args)
        .args(["--room", "r", "--name", tag])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut p = hush_testkit::Proc(child);
    wait_lines(&err, "joined room", 1);
    hush_testkit::signal(p.0.id(), "TERM");
    assert_eq!(p.wait_blocking(GUARD), 0);
}

#[test]
fn a_relay_restarted_from_its_state_dir_keeps_its_pin_and_the_meeting_reconnects() {
    let dir = TempDir::new("cli-state-dir");
    let state = dir.path().join("state");
    let state_s = state.to_str().unwrap();
    let none = hush(&["relay", "pin", state_s], &[]);
    assert_eq!(none.status.code(), Some(2), "no identity yet");

    let start = |listen: &str| {
        let args = [
            "--listen",
            listen,
            "--state-dir",
            state_s,
            "--drain-secs",
            "0",
        ];
        RelayProcess::spawn(bin(), &args.map(String::from)).unwrap()
    };
    let mut first = start("127.0.0.1:0");
    let addr = first.addr;
    let pin = hush(&["relay", "pin", state_s], &[]);
    assert!(pin.status.success());
    assert_eq!(
        String::from_utf8(pin.stdout).unwrap(),
        format!("sha256={}\n", hex::encode(first.pin)),
        "`hush relay pin` prints what the relay printed"
    );

    let h = Hush::new(bin(), addr, first.pin, dir.path());
    let _host = h.spawn(
        "join",
        "host",
        "restart",
        "H",
        &["--host", "--admit", "auto"],
    );
    let mut guest = h.spawn("join", "guest", "restart", "G", &[]);
    wait_lines(&h.out("guest"), "security code:", 1);

    let status = first.terminate(GUARD).expect("the relay exits");
    assert!(status.success());
    let second = start(&addr.to_string());
    assert_eq!(second.pin, first.pin, "the same identity after a restart");
    assert_eq!(second.addr, addr);

    for tag in ["host", "guest"] {
        wait_lines(&h.err(tag), "reconnected", 1);
    }
    // The meeting continues in a new epoch on the restarted relay.
    wait_lines(&h.out("guest"), "security code:", 2);
    let err = std::fs::read_to_string(h.err("guest")).unwrap();
    assert!(!err.contains("invalid peer certificate"), "{err}");
    hush_testkit::signal(guest.0.id(), "TERM");
    assert_eq!(guest.wait_blocking(GUARD), 0);
}

#[test]
fn print_config_merges_file_environment_and_flags_in_that_order() {
    let dir = TempDir::new("cli-print-config");
    let file = dir.path().join("relay.toml");
    std::fs::write(
        &file,
        "mode = \"transport\"\nregion = \"from-file\"\ndrain_secs = 7\nendpoints = 3\n\
         [limits]\nmax_rooms = 5\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = hush(
        &["relay", "--config", f, "--print-config", "--max-rooms", "9"],
        &[
            ("HUSH_RELAY_REGION", "from-env"),
            ("HUSH_RELAY_LISTEN", "127.0.0.1:5555"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed: hush_relay::FileConfig = toml::from_str(&text).unwrap();
    assert_eq!(
        parsed.mode,
        Some(hush_relay::ModeName::Transport),
        "from the file"
    );
    assert_eq!(parsed.region.as_deref(), Some("from-env"), "env over file");
    assert_eq!(parsed.listen, Some("127.0.0.1:5555".parse().unwrap()));
    assert_eq!(parsed.drain_secs, Some(7));
    assert_eq!(parsed.endpoints, Some(3), "from the file");
    assert_eq!(parsed.limits.max_rooms, 9, "flag over file");
    // The printed configuration is itself a valid config file.
    std::fs::write(&file, &text).unwrap();
    let again = hush(&["relay", "--config", f, "--print-config"], &[]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);

    let out = hush(
        &["relay", "--print-config"],
        &[("HUSH_RELAY_MODE", "bogus")],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad variable is a usage error"
    );
    let out = hush(
        &["relay", "--print-config", "--config", f],
        &[("HUSH_RELAY_DRAIN_SECS", "301")],
    );
    assert_eq!(out.status.code(), Some(2));
    // One endpoint per core by default; 0 and more than 64 are usage errors.
    let out = hush(&["relay", "--print-config"], &[]);
    let parsed: hush_relay::FileConfig =
        toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get().min(64);
    assert_eq!(parsed.endpoints, Some(cores));
    for bad in ["0", "65"] {
        let out = hush(&["relay", "--print-config", "--endpoints", bad], &[]);
        assert_eq!(out.status.code(), Some(2), "--endpoints {bad}");
    }
}

/// Newcomer item 5: a wrong pin is one line naming both certificates (exit 1, authentication),
/// and the pin is accepted as the relay prints it, `sha256=` prefix included.
#[test]
fn a_wrong_pin_says_expected_and_got_and_the_printed_form_is_accepted() {
    let dir = TempDir::new("cli-pin");
    let relay = RelayProcess::spawn(bin(), &["--listen".into(), "127.0.0.1:0".into()]).unwrap();
    let addr = relay.addr.to_string();
    let wrong = format!("sha256={}", "ab".repeat(32));
    let out = hush(
        &[
            "join",
            "--relay",
            &addr,
            "--relay-cert-sha256",
            &wrong,
            "--room",
            "p",
            "--name",
            "G",
        ],
        &[],
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "hush: error: the relay's certificate does not match the pin: expected {}, got {}",
            "ab".repeat(32),
            hex::encode(relay.pin)
        )
    );
    let right = format!("sha256={}", hex::encode(relay.pin));
    join_then_leave(
        dir.path(),
        "g",
        &["--relay", &addr, "--relay-cert-sha256", &right],
    );
    let out = hush(
        &[
            "join",
            "--relay",
            &addr,
            "--relay-cert-sha256",
            "sha256=abc",
            "--room",
            "p",
            "--name",
            "G",
        ],
        &[],
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("64 hex digits"), "{err}");
}

/// `--relay-ca` checks the relay's host name (or `--server-name`), so a certificate a CA issued
/// for a DNS name validates; before, the client always checked `hush-relay`.
#[test]
fn relay_ca_checks_the_host_name_of_the_relay_or_server_name() {
    use std::net::ToSocketAddrs as _;
    let dir = TempDir::new("cli-ca");
    let issued = hush_testkit::CaIssued::generate("localhost").unwrap();
    let [ca, cert, key] = issued.write(dir.path()).unwrap();
    let args = [
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--cert".to_owned(),
        cert.display().to_string(),
        "--key".to_owned(),
        key.display().to_string(),
    ];
    let relay = RelayProcess::spawn(bin(), &args).unwrap();
    let port = relay.addr.port();
    let ca = ca.to_str().unwrap();
    let join = |relay_arg: &str, extra: &[&str]| {
        let mut a = vec![
            "join",
            "--relay",
            relay_arg,
            "--relay-ca",
            ca,
            "--room",
            "ca",
            "--name",
            "G",
        ];
        a.extend_from_slice(extra);
        hush(&a, &[])
    };
    let joins = |tag: &str, relay_arg: &str, extra: &[&str]| {
        let mut a = vec!["--relay", relay_arg, "--relay-ca", ca];
        a.extend_from_slice(extra);
        join_then_leave(dir.path(), tag, &a);
    };
    let ip = format!("127.0.0.1:{port}");
    // An IP address has no name: `hush-relay` is checked, which the CA's certificate lacks.
    let out = join(&ip, &[]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("certificate"), "{err}");
    joins("named", &ip, &["--server-name", "localhost"]);
    // The name from `--relay` itself, where `localhost` resolves to the relay's IPv4 address.
    let v4_first = ("localhost", port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| a.is_ipv4());
    if v4_first {
        joins("host", &format!("localhost:{port}"), &[]);
    }
}

/// `--log-format json`: one JSON object per line on stderr; the relay logs its version on start
/// and a failed handshake (here a client holding a wrong pin) at `info` with the reason.
#[test]
fn json_logs_carry_the_version_and_handshake_failures_at_info() {
    use std::io::BufRead as _;
    let dir = TempDir::new("cli-json-log");
    let err_path = dir.path().join("relay.err");
    let mut child = Command::new(bin())
        .args(["relay", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let mut relay = hush_testkit::Proc(child);
    let addr = first.split_whitespace().nth(4).unwrap().to_owned();
    let out = hush(
        &[
            "join",
            "--relay",
            &addr,
            "--relay-cert-sha256",
            &"cd".repeat(32),
            "--room",
            "j",
            "--name",
            "G",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    wait_lines(&err_path, "handshake failed", 1);
    hush_testkit::signal(relay.0.id(), "TERM");
    assert_eq!(relay.wait_blocking(GUARD), 0);
    let text = std::fs::read_to_string(&err_path).unwrap();
    let logs: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let started = logs
        .iter()
        .find(|l| l["fields"]["message"] == "hush relay started")
        .expect("a start line");
    assert_eq!(started["fields"]["version"], env!("CARGO_PKG_VERSION"));
    let failed = logs
        .iter()
        .find(|l| l["fields"]["message"] == "handshake failed")
        .expect("the failed handshake is logged");
    assert_eq!(failed["level"], "INFO");
    assert!(failed["fields"]["remote"].is_string());
    assert!(
        failed["fields"]["reason"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{failed}"
    );
}

/// The sample `deploy/relay.toml` is a valid configuration, and its keys are what the relay
/// prints with `--print-config`.
#[test]
fn the_sample_deploy_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/relay.toml");
    let file = hush_relay::FileConfig::load(&path).unwrap();
    assert_eq!(file.mode, Some(hush_relay::ModeName::E2ee));
    assert!(file.state_dir.is_some() && file.metrics.is_some());
    let out = hush(
        &[
            "relay",
            "--config",
            path.to_str().unwrap(),
            "--print-config",
        ],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let printed: hush_relay::FileConfig =
        toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(printed.state_dir, file.state_dir);
    assert_eq!(printed.limits, file.limits);
    let unit = std::fs::read_to_string(path.with_file_name("hush-relay.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/hush relay --config"),
        "{unit}"
    );
    assert!(unit.contains("StateDirectory=hush-relay"));
}
