//! C8: no server-side recording exists in e2ee mode; a client's recording stays encrypted at
//! rest.

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What C8 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// Bytes the relay received (what a server-side recording could at most hold).
    pub relay_bytes_received: u64,
    /// Files of the relay's dump containing a plaintext.
    pub relay_plaintext_hits: usize,
    /// Who made the local recording.
    pub recorder: String,
    /// Size of the recording file.
    pub recording_bytes: u64,
    /// Its first bytes (hex).
    pub recording_excerpt: String,
    /// Plaintexts (media, chat, names) found in the file.
    pub recording_plaintext_hits: usize,
    /// Entries read back with the key.
    pub entries_reopened: usize,
    /// They equal what the recorder received.
    pub entries_match: bool,
    /// What opening with a wrong key said.
    pub wrong_key_error: String,
    /// A wrong key was refused with a typed error.
    pub wrong_key_refused: bool,
}

impl Claim for Obs {
    const ID: &'static str = "C8";
    const TITLE: &'static str =
        "No server-side recording to steal in e2ee mode; a local recording is encrypted at rest";
    const SHOWN: &'static str = "the relay's dump is what a server-side recording would hold; a \
        guest records what it received locally, under its own random key";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "what the server holds (the relay's dump) contains no plaintext",
                self.relay_bytes_received > 0 && self.relay_plaintext_hits == 0,
            )
            .check(
                "the local recording file contains no plaintext",
                self.recording_bytes > 0 && self.recording_plaintext_hits == 0,
            )
            .check(
                "it opens with its key and holds what was received",
                self.entries_reopened > 0 && self.entries_match,
            )
            .check("a wrong key is refused", self.wrong_key_refused)
    }

    fn sabotage(&mut self) {
        self.recording_plaintext_hits += 1;
    }

    fn saw(&self) -> Vec<Saw> {
        vec![
            Saw::new(
                "relay",
                format!(
                    "holds {} bytes; plaintext found in {} files",
                    self.relay_bytes_received, self.relay_plaintext_hits
                ),
            ),
            Saw::new(
                format!("{} (recording file)", self.recorder),
                format!(
                    "{}; plaintexts found: {}",
                    self.recording_excerpt, self.recording_plaintext_hits
                ),
            ),
            Saw::new(
                format!("{} (with the key)", self.recorder),
                format!(
                    "{} entries, equal to what it received: {}",
                    self.entries_reopened, self.entries_match
                ),
            ),
            Saw::new("anyone with another key", self.wrong_key_error.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn good() -> Obs {
        Obs {
            relay_bytes_received: 10,
            recording_bytes: 100,
            entries_reopened: 4,
            entries_match: true,
            wrong_key_refused: true,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn plaintext_in_the_recording_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn an_accepted_wrong_key_fails() {
        let mut o = good();
        o.wrong_key_refused = false;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
