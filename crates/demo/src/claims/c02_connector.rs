//! C2: a connector decrypts; every client must show it and the security code must change.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict, all_eq};

/// The status every client must show while `name` is in the roster.
pub fn off_status(name: &str) -> String {
    format!("e2ee: off (connector {name} decrypts)")
}

/// What C2 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The connector's display name.
    pub connector: String,
    /// The role in the join request the host saw (`connector`).
    pub requested_role: String,
    /// The host answered that request explicitly (not auto-admitted).
    pub admitted_explicitly: bool,
    /// Each client's status line while the connector was in the roster.
    pub status_with_connector: BTreeMap<String, String>,
    /// Each client's status line after it left.
    pub status_after_leave: BTreeMap<String, String>,
    /// The host's security code before, with and after the connector.
    pub code_before: String,
    /// With the connector.
    pub code_with: String,
    /// After it left.
    pub code_after: String,
    /// What the host said in the meeting.
    pub plaintext: String,
    /// What the legacy UDP sink received (text).
    pub sink_received: String,
    /// The sink received exactly the plaintext, in the clear.
    pub sink_got_plaintext: bool,
}

impl Claim for Obs {
    const ID: &'static str = "C2";
    const TITLE: &'static str =
        "A connector decrypts the meeting, visibly: everyone sees e2ee off and a new code";
    const SHOWN: &'static str = "the host explicitly admits a connector that bridges the meeting \
        to a legacy UDP endpoint (think: a phone gateway); then it leaves again";

    fn judge(&self) -> Verdict {
        let off = off_status(&self.connector);
        Verdict::default()
            .check(
                "the connector asked as a connector and the host admitted it explicitly",
                self.requested_role == "connector" && self.admitted_explicitly,
            )
            .check(
                format!("every client showed `{off}`"),
                !self.connector.is_empty() && all_eq(self.status_with_connector.values(), &off),
            )
            .check(
                "the security code changed when it joined",
                !self.code_before.is_empty()
                    && !self.code_with.is_empty()
                    && self.code_before != self.code_with,
            )
            .check(
                "the legacy endpoint received the plaintext (the connector decrypts)",
                self.sink_got_plaintext,
            )
            .check(
                "after it left every client showed `e2ee: on` again",
                all_eq(self.status_after_leave.values(), &"e2ee: on".to_owned()),
            )
            .check(
                "the security code changed again when it left",
                !self.code_after.is_empty() && self.code_after != self.code_with,
            )
    }

    fn sabotage(&mut self) {
        if let Some(v) = self.status_with_connector.values_mut().next() {
            *v = "e2ee: on".into();
        }
    }

    fn saw(&self) -> Vec<Saw> {
        let mut v = vec![Saw::new(
            "host",
            format!(
                "join request from {:?} as {}; admitted: {}",
                self.connector, self.requested_role, self.admitted_explicitly
            ),
        )];
        for (who, s) in &self.status_with_connector {
            v.push(Saw::new(who.clone(), format!("with connector: {s}")));
        }
        v.push(Saw::new(
            "UDP sink",
            format!("received {:?} in the clear", self.sink_received),
        ));
        for (who, s) in &self.status_after_leave {
            v.push(Saw::new(who.clone(), format!("after it left: {s}")));
        }
        v.push(Saw::new(
            "codes",
            format!(
                "{} → {} → {}",
                self.code_before, self.code_with, self.code_after
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
        Obs {
            connector: "gw".into(),
            requested_role: "connector".into(),
            admitted_explicitly: true,
            status_with_connector: [
                ("A".into(), off_status("gw")),
                ("B".into(), off_status("gw")),
            ]
            .into(),
            status_after_leave: [
                ("A".into(), "e2ee: on".into()),
                ("B".into(), "e2ee: on".into()),
            ]
            .into(),
            code_before: "1".into(),
            code_with: "2".into(),
            code_after: "3".into(),
            sink_got_plaintext: true,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_client_that_did_not_flip_off_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_unchanged_code_fails() {
        let mut o = good();
        o.code_with = o.code_before.clone();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_auto_admitted_connector_fails() {
        let mut o = good();
        o.admitted_explicitly = false;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
