//! C12: no participant can speak as another (sender authentication, SPEC §14).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What one receiving client saw of the forgeries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Receiver {
    /// Forgeries it reported naming the host as the claimed sender (`MeetingEvent::Forged`).
    pub named_host: u64,
    /// Forged media or chat it delivered to the application as the host's.
    pub forged_delivered: u64,
    /// Forged frames that failed SFrame authentication (a forger without the host's key would
    /// make these; the forger here holds it, so this stays 0).
    pub refused_auth: u64,
    /// Frames under a counter the host never vouched for, refused (the 2^64-1 poisoning).
    pub refused_unvouched: u64,
    /// The host's genuine audio sent after every forgery arrived, under the host's name.
    pub genuine_media_after: bool,
    /// The host's genuine chat sent after every forgery arrived, under the host's name.
    pub genuine_chat_after: bool,
}

/// What C12 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The admitted member that forged.
    pub forger: String,
    /// The member it forged (the host).
    pub victim: String,
    /// The forger held the victim's sending key (every member derives every sender's key of the
    /// epoch, SPEC §9.3) and sealed valid SFrame frames with it.
    pub forger_held_key: bool,
    /// Forgeries sent: audio under a counter the host vouched for, audio under counter 2^64-1,
    /// and a chat message signed with the forger's own identity.
    pub forgeries_sent: u64,
    /// Each other client's view.
    pub receivers: BTreeMap<String, Receiver>,
}

impl Claim for Obs {
    const ID: &'static str = "C12";
    const TITLE: &'static str = "No participant can speak as another";
    const SHOWN: &'static str = "an admitted member, holding every sender's key of the epoch, \
        forges the host's audio (twice, one under counter 2^64-1 to silence her) and a chat \
        line in her name; the host then keeps talking";

    fn judge(&self) -> Verdict {
        let any = !self.receivers.is_empty();
        let all = |f: &dyn Fn(&Receiver) -> bool| any && self.receivers.values().all(f);
        Verdict::default()
            .check(
                "the forger held the host's key and sent valid SFrame forgeries",
                self.forger_held_key && self.forgeries_sent >= 3,
            )
            .check(
                "every other client refused each forgery and named the host as the claimed sender",
                all(&|r| r.forged_delivered == 0 && r.named_host >= 2 && r.refused_unvouched >= 1),
            )
            .check(
                "only sender authentication caught them (none failed SFrame authentication)",
                all(&|r| r.refused_auth == 0 && r.named_host >= 2),
            )
            .check(
                "the host's genuine audio and chat still arrived, under her name",
                all(&|r| r.genuine_media_after && r.genuine_chat_after),
            )
    }

    fn sabotage(&mut self) {
        if let Some(r) = self.receivers.values_mut().next() {
            r.forged_delivered += 1;
        }
    }

    fn saw(&self) -> Vec<Saw> {
        let mut out = vec![Saw::new(
            self.forger.clone(),
            format!(
                "held {}'s key: {}; sent {} forgeries in her name",
                self.victim,
                if self.forger_held_key { "yes" } else { "no" },
                self.forgeries_sent
            ),
        )];
        for (name, r) in &self.receivers {
            out.push(Saw::new(
                name.clone(),
                format!(
                    "named {} forgeries of {:?}, delivered {} of them, refused {} under an \
                     unvouched counter; her real audio after: {}, her real chat after: {}",
                    r.named_host,
                    self.victim,
                    r.forged_delivered,
                    r.refused_unvouched,
                    if r.genuine_media_after {
                        "heard"
                    } else {
                        "LOST"
                    },
                    if r.genuine_chat_after { "read" } else { "LOST" },
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn receiver() -> Receiver {
        Receiver {
            named_host: 2,
            refused_unvouched: 1,
            genuine_media_after: true,
            genuine_chat_after: true,
            ..Receiver::default()
        }
    }

    fn edit(o: &mut Obs, who: &str, f: impl FnOnce(&mut Receiver)) {
        if let Some(r) = o.receivers.get_mut(who) {
            f(r);
        }
    }

    fn good() -> Obs {
        Obs {
            forger: "Mallory".into(),
            victim: "Alice".into(),
            forger_held_key: true,
            forgeries_sent: 3,
            receivers: [
                ("Bob".to_owned(), receiver()),
                ("Carol".to_owned(), receiver()),
            ]
            .into(),
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_delivered_forgery_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_unnamed_forgery_fails() {
        let mut o = good();
        edit(&mut o, "Carol", |r| r.named_host = 1);
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_silenced_host_fails() {
        let mut o = good();
        edit(&mut o, "Bob", |r| r.genuine_media_after = false);
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn forgeries_caught_by_the_aead_prove_nothing() {
        let mut o = good();
        o.forger_held_key = false;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
        let mut o = good();
        edit(&mut o, "Bob", |r| r.refused_auth = 2);
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn no_receivers_fails() {
        let mut o = good();
        o.receivers.clear();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
