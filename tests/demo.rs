//! `hush demo` end to end: the built binary runs every claim live and computes its verdicts;
//! sabotaging observations from outside (`HUSH_DEMO_SABOTAGE`) must turn exactly those claims
//! to `fail` and the exit code to 1.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn demo(args: &[&str], sabotage: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hush"));
    cmd.arg("demo").args(args).env_remove("HUSH_DEMO_SABOTAGE");
    if let Some(s) = sabotage {
        cmd.env("HUSH_DEMO_SABOTAGE", s);
    }
    cmd.output().unwrap()
}

fn verdicts(out: &Output) -> (serde_json::Value, Vec<(String, String)>) {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
    let list = v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (v, list)
}

const IDS: [&str; 12] = [
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12",
];

#[test]
fn every_claim_holds_live() {
    let out = demo(&["--json"], None);
    let (v, list) = verdicts(&out);
    assert!(
        out.status.success(),
        "exit {:?}; stderr: {}; json: {v}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<&str> = list.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, IDS);
    for (id, verdict) in &list {
        assert_eq!(verdict, "pass", "{id} failed: {v}");
    }
    assert_eq!(v["passed"], 12);
    assert_eq!(v["failed"], 0);
    // The verdicts come with what they were computed from.
    for c in v["claims"].as_array().unwrap() {
        assert!(c["observations"].is_object(), "{}", c["id"]);
        assert!(!c["checks"].as_array().unwrap().is_empty(), "{}", c["id"]);
    }
    assert_eq!(v["claims"][3]["observations"]["plaintext_hits"], 0);
    assert_eq!(
        v["claims"][0]["observations"]["transport_relay_read_plaintext"],
        true
    );
}

#[test]
fn sabotaged_observations_fail_those_claims_and_the_exit_code() {
    let out = demo(&["--json"], Some("C3,C11,C12"));
    assert_eq!(out.status.code(), Some(1));
    let (_, list) = verdicts(&out);
    for (id, verdict) in &list {
        let expected = if ["C3", "C11", "C12"].contains(&id.as_str()) {
            "fail"
        } else {
            "pass"
        };
        assert_eq!(verdict, expected, "{id}");
    }
}

#[test]
fn text_output_has_no_colour_when_piped_and_a_summary() {
    let out = demo(&[], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "ANSI escapes in piped output");
    for id in IDS {
        assert!(text.contains(&format!("\n{id} ")), "no heading for {id}");
    }
    assert!(text.contains("12/12 claims hold"));
}
