//! What a claim's check produces: named checks, a verdict computed from them, and the result
//! the renderer prints. Nothing here knows any claim; each claim module supplies a pure
//! [`Claim::judge`] over its observations.

use serde::Serialize;

/// One thing a claim requires, and whether the observations show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is required, in one line.
    pub check: String,
    /// Whether the observations show it.
    pub held: bool,
}

/// `pass` or `fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// At least one check failed (or there were none).
    Fail,
}

/// The checks of one claim; the outcome is computed from them, never set by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Adds a check.
    #[must_use]
    pub fn check(mut self, what: impl Into<String>, held: bool) -> Self {
        self.checks.push(Check {
            check: what.into(),
            held,
        });
        self
    }

    /// Pass when there is at least one check and every check held.
    pub fn outcome(&self) -> Outcome {
        if !self.checks.is_empty() && self.checks.iter().all(|c| c.held) {
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    }
}

/// One line of "what each party saw".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Saw {
    /// The party (a client by display name, the relay, the key service, a UDP sink...).
    pub who: String,
    /// What it saw, short (hex excerpts for bytes).
    pub what: String,
}

impl Saw {
    /// A line.
    pub fn new(who: impl Into<String>, what: impl Into<String>) -> Self {
        Saw {
            who: who.into(),
            what: what.into(),
        }
    }
}

/// A claim's observations: serializable, judged by a pure function, and corruptible on purpose
/// (the end-to-end check that a broken observation really turns the verdict to `fail`).
pub trait Claim: Serialize {
    /// `C1`..`C12`.
    const ID: &'static str;
    /// The claim in one line.
    const TITLE: &'static str;
    /// What the demo does to show it.
    const SHOWN: &'static str;
    /// The verdict, from the observations alone.
    fn judge(&self) -> Verdict;
    /// Corrupts one observation so that [`judge`](Claim::judge) must fail.
    fn sabotage(&mut self);
    /// What each party saw, for the reader.
    fn saw(&self) -> Vec<Saw>;
}

/// A judged claim, ready to print.
#[derive(Debug, Clone)]
pub struct ClaimResult {
    /// `C1`..`C12`.
    pub id: &'static str,
    /// The claim in one line.
    pub title: &'static str,
    /// What was done to show it.
    pub shown: &'static str,
    /// What each party saw.
    pub saw: Vec<Saw>,
    /// The observations as JSON.
    pub observations: serde_json::Value,
    /// The checks and the computed outcome.
    pub verdict: Verdict,
}

/// Judges `obs` (after corrupting it when `sabotage` is set) into a result.
pub fn judge<C: Claim>(mut obs: C, sabotage: bool) -> ClaimResult {
    if sabotage {
        obs.sabotage();
    }
    let verdict = obs.judge();
    let observations = serde_json::to_value(&obs)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
    ClaimResult {
        id: C::ID,
        title: C::TITLE,
        shown: C::SHOWN,
        saw: obs.saw(),
        observations,
        verdict,
    }
}

/// True if every value is `expected` and there is at least one.
pub fn all_eq<'a, T: PartialEq + 'a>(
    values: impl IntoIterator<Item = &'a T>,
    expected: &T,
) -> bool {
    let mut n = 0;
    for v in values {
        if v != expected {
            return false;
        }
        n += 1;
    }
    n > 0
}

/// True if there are at least `min` values and all are equal and non-empty strings.
pub fn all_same<'a>(values: impl IntoIterator<Item = &'a String>, min: usize) -> bool {
    let v: Vec<&String> = values.into_iter().collect();
    v.len() >= min && !v[0].is_empty() && v.iter().all(|x| *x == v[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_checks_is_a_fail() {
        assert_eq!(Verdict::default().outcome(), Outcome::Fail);
        assert_eq!(Verdict::default().check("a", true).outcome(), Outcome::Pass);
        assert_eq!(
            Verdict::default()
                .check("a", true)
                .check("b", false)
                .outcome(),
            Outcome::Fail
        );
    }

    #[test]
    fn helpers() {
        assert!(all_eq([&1, &1], &1));
        assert!(!all_eq::<i32>([], &1));
        assert!(!all_eq([&1, &2], &1));
        let a = "x".to_string();
        let b = "y".to_string();
        assert!(all_same([&a, &a], 2));
        assert!(!all_same([&a, &b], 2));
        assert!(!all_same([&a], 2));
        let e = String::new();
        assert!(!all_same([&e, &e], 2));
    }
}
