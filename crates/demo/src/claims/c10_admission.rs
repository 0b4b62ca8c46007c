//! C10: admission is cryptographic; a joiner the host denies, or anyone after the meeting is
//! locked, gets no key.

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What C10 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The joiner the host denied.
    pub denied: String,
    /// The host saw its request.
    pub host_saw_request: bool,
    /// The host denied it.
    pub host_denied: bool,
    /// It got an epoch key.
    pub denied_got_key: bool,
    /// Media frames the relay forwarded to it.
    pub denied_frames_reached: u64,
    /// Of those, how many it opened.
    pub denied_frames_opened: u64,
    /// The admitted guests received the same frames.
    pub admitted_received: bool,
    /// The joiner that tried after the host locked the meeting.
    pub locked_out: String,
    /// The host refused its request because the meeting is locked.
    pub locked_refused_by_host: bool,
    /// It got an epoch key.
    pub locked_got_key: bool,
    /// Frames it opened.
    pub locked_frames_opened: u64,
}

impl Claim for Obs {
    const ID: &'static str = "C10";
    const TITLE: &'static str =
        "Only the host admits: a denied or locked-out joiner gets no key, whatever the relay does";
    const SHOWN: &'static str = "a joiner the host denies, then a joiner after the host locks the \
        meeting; both are in the relay's room and receive every frame";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "the host saw the request and denied it",
                self.host_saw_request && self.host_denied,
            )
            .check(
                "the denied joiner got no key and opened none of the frames it received",
                !self.denied_got_key
                    && self.denied_frames_reached > 0
                    && self.denied_frames_opened == 0
                    && self.admitted_received,
            )
            .check(
                "after the lock the host refused the new joiner and it got no key",
                self.locked_refused_by_host
                    && !self.locked_got_key
                    && self.locked_frames_opened == 0,
            )
    }

    fn sabotage(&mut self) {
        self.denied_frames_opened += 1;
    }

    fn saw(&self) -> Vec<Saw> {
        vec![
            Saw::new(
                "host",
                format!(
                    "request from {:?}: seen {}, denied {}",
                    self.denied, self.host_saw_request, self.host_denied
                ),
            ),
            Saw::new(
                self.denied.clone(),
                format!(
                    "key: {}; frames received {}, opened {}",
                    if self.denied_got_key { "YES" } else { "none" },
                    self.denied_frames_reached,
                    self.denied_frames_opened
                ),
            ),
            Saw::new(
                "host (locked)",
                format!(
                    "refused {:?} as locked: {}",
                    self.locked_out, self.locked_refused_by_host
                ),
            ),
            Saw::new(
                self.locked_out.clone(),
                format!(
                    "key: {}; frames opened {}",
                    if self.locked_got_key { "YES" } else { "none" },
                    self.locked_frames_opened
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn good() -> Obs {
        Obs {
            host_saw_request: true,
            host_denied: true,
            denied_frames_reached: 2,
            admitted_received: true,
            locked_refused_by_host: true,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_denied_joiner_that_opened_a_frame_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_locked_out_joiner_with_a_key_fails() {
        let mut o = good();
        o.locked_got_key = true;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
