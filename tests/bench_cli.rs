//! `hush bench --json`: the output is exactly one JSON object with the keys of issue 6, and
//! frames were delivered in every mode; the `connector` mode re-emits frames to its UDP sink.
//! No speed is asserted (speed belongs in BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> (std::process::Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    (out, stdout)
}

fn number(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("missing number {key} in {v}"))
}

#[test]
fn json_has_the_contract_shape_and_frames_arrive() {
    let modes = ["plain", "quinn-min", "e2ee"];
    let (out, stdout) = bench(&[
        "--mode",
        &modes.join(","),
        "--senders",
        "1",
        "--receivers",
        "2",
        "--frame-size",
        "200",
        "--fps",
        "100",
        "--duration",
        "0.5",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Exactly one JSON value on stdout, nothing else.
    let mut stream = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let doc = stream.next().unwrap().unwrap();
    assert!(stream.next().is_none(), "more than one value: {stdout}");
    assert_eq!(stdout.trim_end().lines().count(), 1);
    let obj = doc.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["runs"]);
    let runs = obj["runs"].as_array().unwrap();
    assert_eq!(runs.len(), modes.len());
    for (run, mode) in runs.iter().zip(modes) {
        assert_eq!(run["mode"], mode);
        assert_eq!(run["senders"], 1);
        assert_eq!(run["receivers"], 2);
        assert_eq!(run["frame_size"], 200);
        assert_eq!(number(run, "duration_s"), 0.5);
        let sent = number(run, "frames_sent");
        let delivered = number(run, "frames_delivered");
        assert!(sent > 0.0, "{mode}: nothing sent");
        assert!(delivered > 0.0, "{mode}: nothing delivered");
        assert!(delivered <= 2.0 * sent, "{mode}: more than fan-out");
        assert!(number(run, "frames_per_s") > 0.0);
        assert!(number(run, "goodput_mb_s") > 0.0);
        let lat = &run["latency_us"];
        let (p50, p99, p999) = (number(lat, "p50"), number(lat, "p99"), number(lat, "p999"));
        assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{lat}");
        let cpu = &run["cpu_s_per_1000"];
        number(cpu, "relay");
        assert!(number(cpu, "clients") > 0.0);
        assert!(number(run, "peak_rss_mb") > 0.0);
        // A paced run has no saturation regime to land in.
        assert_eq!(run["regime"], "paced");
        assert_eq!(run["regime_attempts"], 1);
        // Every mode here has a QUIC server whose send system calls are counted.
        assert!(number(run, "relay_send_calls_per_frame") > 0.0, "{run}");
        assert!(number(run, "relay_datagrams_per_send") >= 1.0, "{run}");
        assert_eq!(
            number(run, "frames_bad"),
            0.0,
            "{mode}: frames failed to open; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn bad_arguments_are_one_error_line() {
    let (out, stdout) = bench(&["--mode", "nonsense", "--fps", "10", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown mode"), "{stderr}");
    let (out, _) = bench(&["--mode", "plain", "--fps", "10", "--frame-size", "4"]);
    assert_eq!(out.status.code(), Some(2));
    // Only a saturating run has a regime to pin.
    let (out, _) = bench(&["--mode", "plain", "--regime", "light"]);
    assert_eq!(out.status.code(), Some(2));
    let (out, _) = bench(&["--mode", "plain", "--max", "--regime", "heavy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown regime"));
}

#[test]
fn connector_mode_bridges_to_the_udp_sink() {
    let (out, stdout) = bench(&[
        "--mode",
        "connector",
        "--senders",
        "1",
        "--receivers",
        "2",
        "--frame-size",
        "200",
        "--fps",
        "100",
        "--duration",
        "0.5",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim_end().lines().count(), 1);
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["mode"], "connector");
    // The contract keys, as in every mode.
    for key in [
        "senders",
        "receivers",
        "frame_size",
        "duration_s",
        "frames_sent",
        "frames_delivered",
        "frames_per_s",
        "goodput_mb_s",
        "peak_rss_mb",
    ] {
        number(run, key);
    }
    for key in ["p50", "p99", "p999"] {
        number(&run["latency_us"], key);
    }
    for key in ["relay", "clients"] {
        number(&run["cpu_s_per_1000"], key);
    }
    let sent = number(run, "frames_sent");
    let delivered = number(run, "frames_delivered");
    assert!(sent > 0.0 && delivered > 0.0, "{run}");
    // The connector is not one of the receivers: frames delivered counts the two of them.
    assert!(delivered <= 2.0 * sent, "{run}");
    assert_eq!(number(run, "frames_bad"), 0.0, "{run}");
    // It opened frames and re-emitted them; 200 B frames take one datagram each.
    let bridged = number(run, "connector_frames");
    assert!(bridged > 0.0 && bridged <= sent, "{run}");
    assert_eq!(number(run, "connector_datagrams"), bridged, "{run}");
    assert_eq!(number(run, "connector_udp_errors"), 0.0, "{run}");
    assert!(bridged + number(run, "connector_dropped") <= sent, "{run}");
    let datagrams = number(run, "sink_datagrams");
    assert!(datagrams > 0.0 && datagrams <= bridged, "{run}");
    // Each datagram: the 16-byte framing header and the 200-byte payload.
    assert_eq!(number(run, "sink_bytes"), datagrams * 216.0, "{run}");
    number(run, "connector_cpu_s_per_1000");
}

#[test]
fn rekey_json_has_the_contract_shape_and_fan_out_is_linear() {
    let (out, stdout) = bench(&[
        "--mode",
        "rekey",
        "--json",
        "--members",
        "10,40",
        "--kem",
        "x25519,xwing",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for (r, (kem, n)) in runs.iter().zip([
        ("x25519", 10.0),
        ("x25519", 40.0),
        ("xwing", 10.0),
        ("xwing", 40.0),
    ]) {
        assert_eq!(r["mode"], "rekey");
        assert_eq!(r["kem"], kem);
        assert_eq!(number(r, "members"), n);
        for key in ["host_cpu_ms", "member_cpu_ms"] {
            assert!(number(r, key) > 0.0, "{key} in {r}");
        }
        assert!(number(r, "host_bytes") > 0.0);
        assert!(number(r, "relay_fanout_bytes") >= number(r, "host_bytes"));
    }
    // Four times the members, about four times the bytes fanned out (O(N^2) would be ~16).
    let ratio = number(&runs[1], "relay_fanout_bytes") / number(&runs[0], "relay_fanout_bytes");
    assert!(ratio < 6.0, "fan-out grew {ratio}x for 4x the members");
}
