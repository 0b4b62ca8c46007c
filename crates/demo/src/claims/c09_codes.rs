//! C9: a security code every client of an epoch shares, which changes on every join, leave or
//! connector.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict, all_same};

/// The codes of every client at one point of the meeting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stage {
    /// What had just happened.
    pub after: String,
    /// Each client's security code.
    pub codes: BTreeMap<String, String>,
}

impl Stage {
    fn code(&self) -> &str {
        self.codes.values().next().map_or("", String::as_str)
    }
}

/// What C9 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl Claim for Obs {
    const ID: &'static str = "C9";
    const TITLE: &'static str =
        "The security code is the same on every client and changes when anyone joins or leaves";
    const SHOWN: &'static str = "every client's code, read after each change of the meeting";

    fn judge(&self) -> Verdict {
        let equal =
            self.stages.len() >= 3 && self.stages.iter().all(|s| all_same(s.codes.values(), 2));
        let changes = self.stages.windows(2).all(|w| w[0].code() != w[1].code());
        Verdict::default()
            .check("within each epoch every client shows the same code", equal)
            .check(
                "the code changed at every join, leave and connector",
                self.stages.len() >= 3 && changes,
            )
    }

    fn sabotage(&mut self) {
        if let Some(c) = self
            .stages
            .first_mut()
            .and_then(|s| s.codes.values_mut().last())
        {
            c.push('9');
        }
    }

    fn saw(&self) -> Vec<Saw> {
        self.stages
            .iter()
            .map(|s| {
                let distinct: std::collections::BTreeSet<&String> = s.codes.values().collect();
                let what = if distinct.len() == 1 {
                    format!("{} on all {} clients", s.code(), s.codes.len())
                } else {
                    format!("DIFFERENT: {:?}", s.codes)
                };
                Saw::new(format!("after {}", s.after), what)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn stage(code: &str) -> Stage {
        Stage {
            after: "x".into(),
            codes: [("A".into(), code.into()), ("B".into(), code.into())].into(),
        }
    }

    fn good() -> Obs {
        Obs {
            stages: vec![stage("1"), stage("2"), stage("3")],
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn codes_that_differ_within_an_epoch_fail() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_code_that_did_not_change_fails() {
        let mut o = good();
        o.stages[1] = stage("1");
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
