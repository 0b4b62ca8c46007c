//! Output of `hush bench`: the `--json` object (the contract of issue 6), the table, and the
//! ratios between modes measured in the same run.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Mode, RunResult};

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// One run as a JSON object: the keys, then `loss`, `fanout`, `suite`, `frames_bad`,
/// `latency_samples`, `elapsed_s` (sending plus drain), `server_drops`, `regime` (`paced`,
/// `light` or `saturated`, see [`super::Regime`]), `regime_attempts`,
/// `relay_send_calls_per_frame` (the server's UDP send system calls per delivered frame) and
/// `relay_datagrams_per_send` (datagrams per call: above 1 only with GSO) (extra keys; the
/// contract's keys are always present). A `connector` run adds `connector_frames` (frames the
/// connector opened and re-emitted), `connector_dropped` (frames its meeting dropped because
/// the bridge fell behind), `connector_datagrams` (datagrams it sent),
/// `connector_udp_errors`, `sink_datagrams` and `sink_bytes` (what the UDP sink received) and
/// `connector_cpu_s_per_1000` (its thread's CPU seconds per 1000 frames it bridged).
pub fn run_json(r: &RunResult) -> Value {
    let w = &r.workload;
    let (relay, clients) = r.cpu_per_1000();
    let mut v = json!({
        "mode": r.mode.name(),
        "relays": w.relays,
        "senders": w.senders,
        "receivers": w.receivers,
        "frame_size": w.frame_size,
        "duration_s": w.duration.as_secs_f64(),
        "frames_sent": r.frames_sent,
        "frames_delivered": r.frames_delivered,
        "frames_per_s": round(r.frames_per_s(), 1),
        "goodput_mb_s": round(r.goodput_mb_s(), 3),
        "latency_us": {
            "p50": round(r.latency_us[0], 1),
            "p99": round(r.latency_us[1], 1),
            "p999": round(r.latency_us[2], 1),
        },
        "cpu_s_per_1000": {
            "relay": round(relay, 6),
            "clients": round(clients, 6),
        },
        "peak_rss_mb": round(r.peak_rss_mb, 1),
        "loss": round(r.loss(), 6),
        "fanout": w.fanout(),
        "suite": match r.mode {
            Mode::Sframe | Mode::E2ee | Mode::E2eeAuth | Mode::Transport | Mode::Connector => {
                Value::from(w.suite.name())
            }
            _ => Value::Null,
        },
        "frames_bad": r.frames_bad,
        "latency_samples": r.latency_samples,
        "elapsed_s": round(r.elapsed_s, 3),
        "server_drops": r.server_drops,
        "regime": r.regime().name(),
        "regime_attempts": r.attempts,
        "relay_send_calls_per_frame": r.send_calls().map(|c| round(c.0, 3)),
        "relay_wire_bytes_per_frame": r.wire_bytes_per_frame().map(|b| round(b, 1)),
        "relay_datagrams_per_send": r.send_calls().map(|c| round(c.1, 2)),
    });
    if let (Some(e), Some(obj)) = (&r.ed25519, v.as_object_mut()) {
        obj.insert("ed25519_sign_us".into(), Value::from(round(e.sign_us, 2)));
        obj.insert(
            "ed25519_verify_us".into(),
            Value::from(round(e.verify_us, 2)),
        );
    }
    if let (Some(c), Some(obj)) = (&r.connector, v.as_object_mut()) {
        let cpu = if c.frames_bridged == 0 {
            0.0
        } else {
            c.cpu_s / (c.frames_bridged as f64 / 1000.0)
        };
        for (k, x) in [
            ("connector_frames", Value::from(c.frames_bridged)),
            ("connector_dropped", Value::from(c.frames_dropped)),
            ("connector_datagrams", Value::from(c.datagrams_sent)),
            ("connector_udp_errors", Value::from(c.udp_errors)),
            ("sink_datagrams", Value::from(c.sink_datagrams)),
            ("sink_bytes", Value::from(c.sink_bytes)),
            ("connector_cpu_s_per_1000", Value::from(round(cpu, 6))),
        ] {
            obj.insert(k.to_owned(), x);
        }
    }
    v
}

/// A run's name in the table: the mode, and `@2` on two relays.
pub fn label(mode: Mode, relays: usize) -> String {
    if relays > 1 {
        format!("{}@{relays}", mode.name())
    } else {
        mode.name().to_owned()
    }
}

/// The whole `--json` output: `{"runs":[...]}`.
pub fn json(runs: &[RunResult]) -> Value {
    json!({ "runs": runs.iter().map(run_json).collect::<Vec<_>>() })
}

/// The human table.
pub fn table(runs: &[RunResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10} {:>9} {:>10} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7}",
        "mode",
        "sent",
        "delivered",
        "loss%",
        "frames/s",
        "MB/s",
        "p50µs",
        "p99µs",
        "p999µs",
        "relay µs",
        "client µs",
        "RSS MB"
    );
    for r in runs {
        let (relay, clients) = r.cpu_per_1000();
        let _ = writeln!(
            s,
            "{:<10} {:>9} {:>10} {:>7.3} {:>10.0} {:>8.2} {:>8.1} {:>8.1} {:>8.1} {:>9.2} {:>9.2} {:>7.1}",
            label(r.mode, r.workload.relays),
            r.frames_sent,
            r.frames_delivered,
            r.loss() * 100.0,
            r.frames_per_s(),
            r.goodput_mb_s(),
            r.latency_us[0],
            r.latency_us[1],
            r.latency_us[2],
            relay * 1000.0,
            clients * 1000.0,
            r.peak_rss_mb
        );
    }
    let _ = writeln!(
        s,
        "(relay µs / client µs: CPU per delivered frame; RSS: process-wide peak during the run)"
    );
    let calls: Vec<String> = runs
        .iter()
        .filter_map(|r| {
            r.send_calls().map(|(c, d)| {
                format!(
                    "{} {c:.2} ({d:.2} datagrams each)",
                    label(r.mode, r.workload.relays)
                )
            })
        })
        .collect();
    if !calls.is_empty() {
        let _ = writeln!(
            s,
            "server send system calls per delivered frame: {}",
            calls.join(", ")
        );
    }
    if runs.iter().any(|r| r.regime() != super::Regime::Paced) {
        let landed: Vec<String> = runs
            .iter()
            .map(|r| format!("{} {}", label(r.mode, r.workload.relays), r.regime().name()))
            .collect();
        let _ = writeln!(
            s,
            "regime: {} (saturated: p50 from {:.0} µs; --regime pins one)",
            landed.join(", "),
            super::Regime::SATURATED_P50_US
        );
    }
    for r in runs {
        if let Some(c) = &r.connector {
            let per_frame_us = if c.frames_bridged == 0 {
                0.0
            } else {
                c.cpu_s / c.frames_bridged as f64 * 1e6
            };
            let _ = writeln!(
                s,
                "connector: {} of {} sent frames bridged ({} dropped behind the bridge), {} datagrams sent, {} received by the sink, {:.2} µs CPU per bridged frame",
                c.frames_bridged,
                r.frames_sent,
                c.frames_dropped,
                c.datagrams_sent,
                c.sink_datagrams,
                per_frame_us
            );
        }
    }
    for line in ratios(runs) {
        let _ = writeln!(s, "{line}");
    }
    s
}

/// Ratios between the modes present, one line each.
pub fn ratios(runs: &[RunResult]) -> Vec<String> {
    let get = |m: Mode| runs.iter().find(|r| r.mode == m && r.workload.relays == 1);
    let per_frame = |r: &RunResult| r.cpu_per_1000().0;
    let mut out = Vec::new();
    // Two relays against one, mode by mode: what the hop adds.
    for two in runs.iter().filter(|r| r.workload.relays == 2) {
        if let Some(one) = get(two.mode) {
            let (a, b) = (per_frame(two), per_frame(one));
            out.push(format!(
                "{}: a relay hop adds p50 {:+.1} µs, p99 {:+.1} µs; relay CPU per delivered frame \
                 2 relays/1 relay: {}",
                two.mode.name(),
                two.latency_us[0] - one.latency_us[0],
                two.latency_us[1] - one.latency_us[1],
                if b > 0.0 {
                    format!("{:.3}", a / b)
                } else {
                    "n/a".to_owned()
                }
            ));
        }
    }
    let mut ratio = |label: &str, a: Option<f64>, b: Option<f64>| {
        if let (Some(a), Some(b)) = (a, b)
            && b > 0.0
        {
            out.push(format!("{label}: {:.3}", a / b));
        }
    };
    let plain = get(Mode::Plain);
    let e2ee = get(Mode::E2ee);
    let quinn = get(Mode::QuinnMin);
    let udp = get(Mode::UdpFloor);
    let transport = get(Mode::Transport);
    let connector = get(Mode::Connector);
    let auth = get(Mode::E2eeAuth);
    let client_per_frame = |r: &RunResult| r.cpu_per_1000().1;
    ratio(
        "client CPU per frame e2ee-auth/e2ee",
        auth.map(client_per_frame),
        e2ee.map(client_per_frame),
    );
    ratio(
        "wire bytes per frame e2ee-auth/e2ee",
        auth.and_then(RunResult::wire_bytes_per_frame),
        e2ee.and_then(RunResult::wire_bytes_per_frame),
    );
    ratio(
        "goodput e2ee/plain",
        e2ee.map(RunResult::goodput_mb_s),
        plain.map(RunResult::goodput_mb_s),
    );
    ratio(
        "goodput transport/plain",
        transport.map(RunResult::goodput_mb_s),
        plain.map(RunResult::goodput_mb_s),
    );
    ratio(
        "goodput connector/e2ee",
        connector.map(RunResult::goodput_mb_s),
        e2ee.map(RunResult::goodput_mb_s),
    );
    ratio(
        "goodput plain/quinn-min",
        plain.map(RunResult::goodput_mb_s),
        quinn.map(RunResult::goodput_mb_s),
    );
    ratio(
        "goodput quinn-min/udp-floor",
        quinn.map(RunResult::goodput_mb_s),
        udp.map(RunResult::goodput_mb_s),
    );
    ratio(
        "relay CPU per frame e2ee/plain",
        e2ee.map(per_frame),
        plain.map(per_frame),
    );
    ratio(
        "relay CPU per frame connector/e2ee",
        connector.map(per_frame),
        e2ee.map(per_frame),
    );
    ratio(
        "relay CPU per frame plain/quinn-min",
        plain.map(per_frame),
        quinn.map(per_frame),
    );
    ratio(
        "relay CPU per frame e2ee/quinn-min",
        e2ee.map(per_frame),
        quinn.map(per_frame),
    );
    if let (Some(e), Some(p)) = (e2ee, plain) {
        out.push(format!(
            "p50 latency e2ee - plain: {:+.1} µs",
            e.latency_us[0] - p.latency_us[0]
        ));
    }
    if let (Some(a), Some(e)) = (auth, e2ee) {
        out.push(format!(
            "p50 latency e2ee-auth - e2ee: {:+.1} µs",
            a.latency_us[0] - e.latency_us[0]
        ));
    }
    if let (Some(a), Some(ed)) = (auth, auth.and_then(|a| a.ed25519.as_ref())) {
        let (_, clients) = a.cpu_per_1000();
        out.push(format!(
            "per-frame Ed25519 instead (measured in this run): sign {:.1} µs + verify {:.1} µs \
             per frame and receiver, vs e2ee-auth clients' {:.1} µs per delivered frame in all",
            ed.sign_us,
            ed.verify_us,
            clients * 1000.0
        ));
    }
    out
}
