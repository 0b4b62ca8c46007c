//! C7: what the operator could be compelled to hand over, said by the relay itself.

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What C7 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// Size of the knowledge report.
    pub report_bytes: usize,
    /// A few lines of it.
    pub excerpt: Vec<String>,
    /// It lists participant ids.
    pub lists_participant_ids: bool,
    /// It lists remote addresses.
    pub lists_addresses: bool,
    /// It lists SFrame key ids.
    pub lists_kids: bool,
    /// It lists counter ranges.
    pub lists_counters: bool,
    /// Display names found in it.
    pub names_found: Vec<String>,
    /// Chat, reaction or poll texts found in it.
    pub chat_found: Vec<String>,
    /// Media plaintexts found in it.
    pub plaintext_found: Vec<String>,
}

impl Claim for Obs {
    const ID: &'static str = "C7";
    const TITLE: &'static str =
        "The relay says exactly what it could hand over: metadata, never names, chat or content";
    const SHOWN: &'static str = "the e2ee relay's knowledge report after the whole demo, searched \
        for every display name, chat text and media plaintext used";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "it lists participant ids, addresses, KIDs and counters",
                self.lists_participant_ids
                    && self.lists_addresses
                    && self.lists_kids
                    && self.lists_counters,
            )
            .check("it contains no display name", self.names_found.is_empty())
            .check("it contains no chat text", self.chat_found.is_empty())
            .check(
                "it contains no media plaintext",
                self.report_bytes > 0 && self.plaintext_found.is_empty(),
            )
    }

    fn sabotage(&mut self) {
        self.names_found.push("Alice".into());
    }

    fn saw(&self) -> Vec<Saw> {
        let mut v: Vec<Saw> = self
            .excerpt
            .iter()
            .map(|l| Saw::new("  report", l.clone()))
            .collect();
        v.push(Saw::new(
            "search",
            format!(
                "{} bytes; names found: {:?}; chat found: {:?}; plaintext found: {:?}",
                self.report_bytes, self.names_found, self.chat_found, self.plaintext_found
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
            report_bytes: 10,
            lists_participant_ids: true,
            lists_addresses: true,
            lists_kids: true,
            lists_counters: true,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_display_name_in_the_report_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_report_without_kids_fails() {
        let mut o = good();
        o.lists_kids = false;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
