//! C4: in e2ee mode keys never leave the clients; there is no server-side key store at all.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict, all_eq, all_same};

/// What C4 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The mode the relay announced in its `Hello`, as each client saw it.
    pub relay_mode: String,
    /// Whether the demo gave this relay a key service hook.
    pub key_service_attached: bool,
    /// Each client's status line.
    pub statuses: BTreeMap<String, String>,
    /// Each client's security code (same epoch).
    pub codes: BTreeMap<String, String>,
    /// Distinct media plaintexts sent through this relay and searched for.
    pub plaintexts_checked: usize,
    /// Bytes the relay received (its whole dump).
    pub relay_bytes_received: u64,
    /// Files of the dump containing any of those plaintexts.
    pub plaintext_hits: usize,
}

impl Claim for Obs {
    const ID: &'static str = "C4";
    const TITLE: &'static str = "Keys never leave the clients; no server-side key store exists";
    const SHOWN: &'static str = "the e2ee meeting runs on a relay with no key service; hush-relay \
        does not even link the frame cipher (checked in CI by .ci/relay-has-no-crypto)";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "the relay announced e2ee mode and has no key service",
                self.relay_mode == "e2ee" && !self.key_service_attached,
            )
            .check(
                "every client reached `e2ee: on`",
                self.statuses.len() >= 3 && all_eq(self.statuses.values(), &"e2ee: on".to_owned()),
            )
            .check(
                "every client shows the same security code",
                all_same(self.codes.values(), 3),
            )
            .check(
                "nothing the relay received contains any frame plaintext",
                self.plaintexts_checked > 0
                    && self.relay_bytes_received > 0
                    && self.plaintext_hits == 0,
            )
    }

    fn sabotage(&mut self) {
        if let Some(c) = self.codes.values_mut().last() {
            *c = "00000 00000 00000 00000 00000 00000 00000 00000".into();
        }
    }

    fn saw(&self) -> Vec<Saw> {
        let mut v = vec![Saw::new(
            "relay",
            format!(
                "mode {}, key service: {}; received {} bytes; {} of {} plaintexts found",
                self.relay_mode,
                if self.key_service_attached {
                    "yes"
                } else {
                    "none"
                },
                self.relay_bytes_received,
                self.plaintext_hits,
                self.plaintexts_checked
            ),
        )];
        for (who, s) in &self.statuses {
            let code = self.codes.get(who).map_or("", String::as_str);
            v.push(Saw::new(who.clone(), format!("{s}, security code {code}")));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn good() -> Obs {
        let names = ["A", "B", "C"];
        Obs {
            relay_mode: "e2ee".into(),
            key_service_attached: false,
            statuses: names
                .iter()
                .map(|n| (n.to_string(), "e2ee: on".into()))
                .collect(),
            codes: names
                .iter()
                .map(|n| (n.to_string(), "123".into()))
                .collect(),
            plaintexts_checked: 4,
            relay_bytes_received: 1000,
            plaintext_hits: 0,
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn codes_that_differ_fail() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_key_service_fails() {
        let mut o = good();
        o.key_service_attached = true;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn plaintext_at_the_relay_fails() {
        let mut o = good();
        o.plaintext_hits = 1;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
