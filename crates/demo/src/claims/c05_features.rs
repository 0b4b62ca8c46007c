//! C5: what works under e2ee, and why; chat, reactions, polls, breakout rooms and local
//! recording shown live.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// One row of `hush features`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    /// Feature.
    pub feature: String,
    /// `yes`, `no` or `connector`.
    pub e2ee: String,
    /// Needs a server to see plaintext.
    pub needs_server_plaintext: bool,
}

/// What C5 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The feature table (from `hush features`).
    pub table: Vec<Row>,
    /// For chat, reaction and poll: which other clients got it decrypted.
    pub data_delivered: BTreeMap<String, BTreeMap<String, bool>>,
    /// Files of the relay's dump, plus its report, containing a data message's text.
    pub data_in_relay_hits: usize,
    /// The main room's security code at the time.
    pub main_code: String,
    /// The breakout room's code on each of its two clients.
    pub breakout_codes: Vec<String>,
    /// Breakout frames a hostile participant replayed into the main room.
    pub breakout_frames_replayed: u64,
    /// Main-room frames refused meanwhile (all main clients).
    pub main_clients_refused: u64,
    /// Replayed breakout frames some main-room client opened.
    pub main_clients_opened_breakout: u64,
    /// Entries in the local recording.
    pub recording_entries: usize,
    /// Plaintexts found in the recording file.
    pub recording_plaintext_hits: usize,
    /// The recording opened with its key and matched what was received.
    pub recording_reopened: bool,
}

impl Claim for Obs {
    const ID: &'static str = "C5";
    const TITLE: &'static str = "Chat, reactions, polls, breakout rooms and recording work under e2ee; only server-side processing cannot";
    const SHOWN: &'static str = "the feature table, then live: encrypted chat, a reaction and a \
        poll; a breakout room with its own keys; a local recording encrypted at rest";

    fn judge(&self) -> Verdict {
        let kinds_ok = ["chat", "reaction", "poll"].iter().all(|k| {
            self.data_delivered
                .get(*k)
                .is_some_and(|m| !m.is_empty() && m.values().all(|&d| d))
        });
        let first = self.breakout_codes.first().cloned().unwrap_or_default();
        Verdict::default()
            .check(
                "the table says what works and what needs server plaintext",
                self.table.iter().any(|r| r.e2ee == "yes")
                    && self.table.iter().any(|r| r.needs_server_plaintext),
            )
            .check(
                "chat, reaction and poll reached every other client",
                kinds_ok,
            )
            .check(
                "no data message text is in the relay's dump or report",
                self.data_in_relay_hits == 0,
            )
            .check(
                "the breakout room has its own security code (its own keys)",
                self.breakout_codes.len() == 2
                    && !first.is_empty()
                    && self.breakout_codes.iter().all(|c| *c == first)
                    && first != self.main_code,
            )
            .check(
                "main-room keys opened none of the breakout frames replayed into the main room",
                self.breakout_frames_replayed > 0
                    && self.main_clients_opened_breakout == 0
                    && self.main_clients_refused >= self.breakout_frames_replayed,
            )
            .check(
                "the local recording holds no plaintext and opens with its key",
                self.recording_entries > 0
                    && self.recording_plaintext_hits == 0
                    && self.recording_reopened,
            )
    }

    fn sabotage(&mut self) {
        self.breakout_codes = vec![self.main_code.clone(), self.main_code.clone()];
    }

    fn saw(&self) -> Vec<Saw> {
        let mut v: Vec<Saw> = self
            .table
            .iter()
            .map(|r| {
                Saw::new(
                    format!("  {}", r.feature),
                    format!(
                        "{}{}",
                        r.e2ee,
                        if r.needs_server_plaintext {
                            " (needs server plaintext)"
                        } else {
                            ""
                        }
                    ),
                )
            })
            .collect();
        for (kind, who) in &self.data_delivered {
            let got: Vec<&str> = who
                .iter()
                .filter(|(_, d)| **d)
                .map(|(n, _)| n.as_str())
                .collect();
            v.push(Saw::new(
                kind.clone(),
                format!("decrypted by {}", got.join(", ")),
            ));
        }
        v.push(Saw::new(
            "relay",
            format!("data message texts found: {}", self.data_in_relay_hits),
        ));
        v.push(Saw::new(
            "breakout",
            format!(
                "code {} (main room {})",
                self.breakout_codes.first().map_or("", String::as_str),
                self.main_code
            ),
        ));
        v.push(Saw::new(
            "main room",
            format!(
                "{} breakout frames replayed in: {} opened, {} refused",
                self.breakout_frames_replayed,
                self.main_clients_opened_breakout,
                self.main_clients_refused
            ),
        ));
        v.push(Saw::new(
            "recording",
            format!(
                "{} entries, {} plaintexts in the file, reopened with its key: {}",
                self.recording_entries, self.recording_plaintext_hits, self.recording_reopened
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
        let to = |n: &[&str]| n.iter().map(|x| (x.to_string(), true)).collect();
        Obs {
            table: vec![
                Row {
                    feature: "chat".into(),
                    e2ee: "yes".into(),
                    needs_server_plaintext: false,
                },
                Row {
                    feature: "cloud recording".into(),
                    e2ee: "no".into(),
                    needs_server_plaintext: true,
                },
            ],
            data_delivered: [
                ("chat".into(), to(&["B", "C"])),
                ("reaction".into(), to(&["A", "C"])),
                ("poll".into(), to(&["A", "B"])),
            ]
            .into(),
            main_code: "main".into(),
            breakout_codes: vec!["bo".into(), "bo".into()],
            breakout_frames_replayed: 3,
            main_clients_refused: 9,
            recording_entries: 5,
            recording_reopened: true,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_breakout_sharing_the_main_code_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_undelivered_poll_fails() {
        let mut o = good();
        if let Some(m) = o.data_delivered.get_mut("poll") {
            m.insert("B".into(), false);
        }
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_opened_breakout_frame_fails() {
        let mut o = good();
        o.main_clients_opened_breakout = 1;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn chat_text_at_the_relay_fails() {
        let mut o = good();
        o.data_in_relay_hits = 1;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
