//! C11: rekey on every leave; a departed participant cannot decrypt what is sent after.

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What C11 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// Who left (keeping every key it had, as a hostile client would).
    pub departed: String,
    /// The epoch it held when it left.
    pub epoch_at_leave: u64,
    /// Frames the host sent from the leave on.
    pub frames_sent: u64,
    /// Of those, frames a remaining guest received sealed in a later epoch.
    pub frames_in_later_epochs: u64,
    /// Frames the departed client still opened (sent before the host's rekey took effect).
    pub departed_opened: u64,
    /// Frames of a later epoch it opened.
    pub departed_opened_later_epochs: u64,
    /// Milliseconds from its leave until the last frame it could open was sent.
    pub exposure_window_ms: f64,
}

impl Claim for Obs {
    const ID: &'static str = "C11";
    const TITLE: &'static str = "A participant who leaves cannot decrypt what is sent after";
    const SHOWN: &'static str = "a guest leaves but keeps every key it had and keeps listening \
        on the relay; the host keeps sending frames";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "the meeting rekeyed: the others received frames of a later epoch",
                self.frames_in_later_epochs > 0,
            )
            .check(
                "the departed client opened none of them",
                self.frames_in_later_epochs > 0 && self.departed_opened_later_epochs == 0,
            )
    }

    fn sabotage(&mut self) {
        self.departed_opened_later_epochs += 1;
    }

    fn saw(&self) -> Vec<Saw> {
        vec![
            Saw::new(
                "host",
                format!(
                    "sent {} frames after the leave; {} arrived in an epoch after {}",
                    self.frames_sent, self.frames_in_later_epochs, self.epoch_at_leave
                ),
            ),
            Saw::new(
                self.departed.clone(),
                format!(
                    "opened {} (all from epoch {} or older), {} from later epochs",
                    self.departed_opened, self.epoch_at_leave, self.departed_opened_later_epochs
                ),
            ),
            Saw::new(
                "exposure window",
                format!(
                    "{:.1} ms from the leave to the last frame its old keys could open",
                    self.exposure_window_ms
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
            frames_sent: 50,
            frames_in_later_epochs: 40,
            departed_opened: 3,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_departed_client_opening_new_frames_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn no_rekey_fails() {
        let mut o = good();
        o.frames_in_later_epochs = 0;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
