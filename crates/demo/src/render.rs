//! Printing the results: a terminal report (ANSI colour only when stdout is a terminal) or one
//! JSON object (`hush demo --json`).

use std::fmt::Write as _;

use serde::Serialize;

use super::verdict::{Check, ClaimResult, Outcome, Saw};

/// ANSI styles, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour on or off.
    pub fn new(colour: bool) -> Self {
        Style { colour }
    }

    fn wrap(self, code: &str, s: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    /// Bold.
    pub fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }

    /// Dim.
    pub fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }

    fn green(self, s: &str) -> String {
        self.wrap("1;32", s)
    }

    fn red(self, s: &str) -> String {
        self.wrap("1;31", s)
    }

    fn outcome(self, o: Outcome) -> String {
        match o {
            Outcome::Pass => self.green("PASS"),
            Outcome::Fail => self.red("FAIL"),
        }
    }

    fn mark(self, held: bool) -> String {
        if held {
            self.green("ok  ")
        } else {
            self.red("FAIL")
        }
    }
}

/// The intro printed before the run.
pub fn intro(style: Style) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        style.bold("hush demo: every claim, live, with verdicts computed from what happened")
    );
    let _ = writeln!(
        o,
        "One process: an embedded relay on loopback (region eu-west), a host and two guests, a"
    );
    let _ = writeln!(
        o,
        "connector, a hostile participant, and a second relay in transport mode (server-issued keys)."
    );
    let _ = writeln!(
        o,
        "Each verdict is computed from the observations printed with it; nothing is hard-coded."
    );
    o
}

/// One progress line (text mode only).
pub fn progress(style: Style, what: &str) -> String {
    style.dim(&format!("  · {what}"))
}

fn claim_text(o: &mut String, style: Style, r: &ClaimResult) {
    let outcome = r.verdict.outcome();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{} {}  {}",
        style.bold(&format!("{:<3}", r.id)),
        style.bold(r.title),
        style.outcome(outcome)
    );
    let _ = writeln!(o, "    {}", style.dim(r.shown));
    let width = r
        .saw
        .iter()
        .map(|s| s.who.chars().count())
        .max()
        .unwrap_or(0);
    for Saw { who, what } in &r.saw {
        let pad = width.saturating_sub(who.chars().count());
        let _ = writeln!(o, "    {who}{}  {what}", " ".repeat(pad));
    }
    for Check { check, held } in &r.verdict.checks {
        let _ = writeln!(o, "    {} {check}", style.mark(*held));
    }
}

/// The whole terminal report after the run, ending with the summary line.
pub fn text(style: Style, results: &[ClaimResult], seconds: f64) -> String {
    let mut o = String::new();
    for r in results {
        claim_text(&mut o, style, r);
    }
    let passed = passed(results);
    let total = results.len();
    let _ = writeln!(o);
    let summary = format!("{passed}/{total} claims hold");
    let line = if passed == total {
        style.green(&summary)
    } else {
        style.red(&format!("{summary}; {} failed", total - passed))
    };
    let _ = writeln!(o, "{line}  {}", style.dim(&format!("({seconds:.1} s)")));
    o
}

/// How many results passed.
pub fn passed(results: &[ClaimResult]) -> usize {
    results
        .iter()
        .filter(|r| r.verdict.outcome() == Outcome::Pass)
        .count()
}

#[derive(Serialize)]
struct JsonClaim<'a> {
    id: &'a str,
    verdict: Outcome,
    title: &'a str,
    shown: &'a str,
    observations: &'a serde_json::Value,
    checks: &'a [Check],
    saw: &'a [Saw],
}

#[derive(Serialize)]
struct JsonReport<'a> {
    claims: Vec<JsonClaim<'a>>,
    passed: usize,
    failed: usize,
}

/// The one JSON object `hush demo --json` prints.
pub fn json(results: &[ClaimResult]) -> String {
    let passed = passed(results);
    let report = JsonReport {
        claims: results
            .iter()
            .map(|r| JsonClaim {
                id: r.id,
                verdict: r.verdict.outcome(),
                title: r.title,
                shown: r.shown,
                observations: &r.observations,
                checks: &r.verdict.checks,
                saw: &r.saw,
            })
            .collect(),
        passed,
        failed: results.len() - passed,
    };
    serde_json::to_string(&report).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;

    fn result(held: bool) -> ClaimResult {
        ClaimResult {
            id: "C0",
            title: "t",
            shown: "s",
            saw: vec![Saw::new("relay", "00ff")],
            observations: serde_json::json!({"x": 1}),
            verdict: Verdict::default().check("c", held),
        }
    }

    #[test]
    fn json_has_lowercase_verdicts_and_counts() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&[result(true), result(false)])).unwrap();
        assert_eq!(v["claims"][0]["verdict"], "pass");
        assert_eq!(v["claims"][1]["verdict"], "fail");
        assert_eq!(v["passed"], 1);
        assert_eq!(v["failed"], 1);
        assert_eq!(v["claims"][0]["observations"]["x"], 1);
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = text(Style::new(false), &[result(true)], 1.0);
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("1/1 claims hold"));
        let coloured = text(Style::new(true), &[result(false)], 1.0);
        assert!(coloured.contains("\x1b[1;31m"));
        assert!(coloured.contains("0/1 claims hold"));
    }
}
