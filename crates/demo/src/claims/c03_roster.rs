//! C3: nobody can be inserted into a meeting without appearing in the roster.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What C3 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The injector's relay participant id (hex).
    pub injector: String,
    /// It broadcast a roster listing itself, signed by its own key.
    pub forged_roster_sent: bool,
    /// It broadcast forged epoch keys signed by its own key.
    pub forged_keys_sent: bool,
    /// The forged roster (hex excerpt).
    pub forged_roster_excerpt: String,
    /// Each client's refusals of the injector's messages (reasons).
    pub refusals: BTreeMap<String, Vec<String>>,
    /// The people the host admitted.
    pub admitted: Vec<String>,
    /// Each client's roster afterwards (display names, sorted).
    pub rosters_after: BTreeMap<String, Vec<String>>,
    /// Media frames the injector received through the relay.
    pub injector_frames_received: u64,
    /// Of those, how many it could open.
    pub injector_frames_opened: u64,
}

impl Claim for Obs {
    const ID: &'static str = "C3";
    const TITLE: &'static str =
        "Nobody can be inserted into a meeting without being in the participant list";
    const SHOWN: &'static str = "a hostile participant on the relay (as the relay itself could) \
        injects a roster listing itself, signed by its own key, and forged epoch keys";

    fn judge(&self) -> Verdict {
        let mut admitted = self.admitted.clone();
        admitted.sort();
        Verdict::default()
            .check(
                "the forged roster and keys were sent",
                self.forged_roster_sent && self.forged_keys_sent,
            )
            .check(
                "every client refused them (at least the roster and a key each)",
                !self.refusals.is_empty() && self.refusals.values().all(|r| r.len() >= 2),
            )
            .check(
                "every roster still lists exactly the admitted people",
                !admitted.is_empty()
                    && !self.rosters_after.is_empty()
                    && self.rosters_after.values().all(|r| *r == admitted),
            )
            .check(
                "the injector received frames and opened none",
                self.injector_frames_received > 0 && self.injector_frames_opened == 0,
            )
    }

    fn sabotage(&mut self) {
        if let Some(r) = self.rosters_after.values_mut().next() {
            r.push("Mallory".into());
        }
    }

    fn saw(&self) -> Vec<Saw> {
        let mut v = vec![Saw::new(
            "injector",
            format!(
                "participant {} sent the forged roster {}",
                self.injector, self.forged_roster_excerpt
            ),
        )];
        for (who, r) in &self.refusals {
            let roster = self
                .rosters_after
                .get(who)
                .map(|n| n.join(", "))
                .unwrap_or_default();
            v.push(Saw::new(
                who.clone(),
                format!(
                    "refused {} message(s) ({}); roster: {roster}",
                    r.len(),
                    r.first().map_or("none", String::as_str)
                ),
            ));
        }
        v.push(Saw::new(
            "injector",
            format!(
                "received {} media frames, opened {}",
                self.injector_frames_received, self.injector_frames_opened
            ),
        ));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn good() -> Obs {
        let admitted = vec!["A".to_string(), "B".to_string()];
        Obs {
            forged_roster_sent: true,
            forged_keys_sent: true,
            refusals: [
                ("A".into(), vec!["x".into(), "y".into()]),
                ("B".into(), vec!["x".into(), "y".into()]),
            ]
            .into(),
            rosters_after: [
                ("A".into(), admitted.clone()),
                ("B".into(), admitted.clone()),
            ]
            .into(),
            admitted,
            injector_frames_received: 3,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn an_injected_roster_entry_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_client_that_did_not_refuse_fails() {
        let mut o = good();
        o.refusals.insert("B".into(), vec![]);
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_injector_that_opened_a_frame_fails() {
        let mut o = good();
        o.injector_frames_opened = 1;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
