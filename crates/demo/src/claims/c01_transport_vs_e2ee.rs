//! C1: "end-to-end encrypted" only means something if the server never holds the keys.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// The status line of a transport-mode client.
pub const TRANSPORT_STATUS: &str = "e2ee: off (keys issued by the relay)";

/// What C1 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The plaintext sent in both meetings.
    pub plaintext: String,
    /// The transport-mode guest's status line.
    pub transport_status: String,
    /// The transport-mode guest decrypted the frame.
    pub transport_guest_decrypted: bool,
    /// Records in the key service's decrypted dump.
    pub transport_relay_decrypted_records: usize,
    /// The key service's decrypted dump contains the plaintext.
    pub transport_relay_read_plaintext: bool,
    /// The decrypted record holding it (hex).
    pub transport_relay_excerpt: String,
    /// The sealed frame as the transport relay forwarded it (hex).
    pub transport_frame_excerpt: String,
    /// Each e2ee client (other than the sender): decrypted the frame.
    pub e2ee_clients_decrypted: BTreeMap<String, bool>,
    /// Bytes the e2ee relay received and dumped (media and blobs, everything).
    pub e2ee_relay_bytes_received: u64,
    /// Files of the e2ee dump containing the plaintext.
    pub e2ee_relay_plaintext_hits: usize,
    /// The sealed frame as the e2ee relay holds it (hex).
    pub e2ee_relay_excerpt: String,
}

impl Claim for Obs {
    const ID: &'static str = "C1";
    const TITLE: &'static str =
        "\"End-to-end encrypted\" holds only if the server never has the keys";
    const SHOWN: &'static str = "the same plaintext is sent in a transport-mode meeting (keys \
        issued by the relay's key service, the 2020 model) and in an e2ee meeting (keys made by \
        the clients); then we look at everything each relay kept";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "transport mode: the relay's key service decrypted the frame",
                self.transport_relay_read_plaintext,
            )
            .check(
                "transport mode: the guest decrypted it and shows e2ee off",
                self.transport_guest_decrypted && self.transport_status == TRANSPORT_STATUS,
            )
            .check(
                "e2ee mode: every receiving client decrypted it",
                !self.e2ee_clients_decrypted.is_empty()
                    && self.e2ee_clients_decrypted.values().all(|&d| d),
            )
            .check(
                "e2ee mode: the relay received the frames (its dump is not empty)",
                self.e2ee_relay_bytes_received > 0,
            )
            .check(
                "e2ee mode: nothing the relay received contains the plaintext",
                self.e2ee_relay_plaintext_hits == 0,
            )
    }

    fn sabotage(&mut self) {
        self.e2ee_relay_plaintext_hits += 1;
    }

    fn saw(&self) -> Vec<Saw> {
        let mut v = vec![
            Saw::new("sender", format!("sent {:?}", self.plaintext)),
            Saw::new(
                "transport relay",
                format!("forwarded {}", self.transport_frame_excerpt),
            ),
            Saw::new(
                "transport key service",
                format!(
                    "decrypted {} frames; one reads {}",
                    self.transport_relay_decrypted_records, self.transport_relay_excerpt
                ),
            ),
            Saw::new("transport guest", self.transport_status.clone()),
            Saw::new(
                "e2ee relay",
                format!(
                    "holds {} bytes, e.g. {}; plaintext found in {} files",
                    self.e2ee_relay_bytes_received,
                    self.e2ee_relay_excerpt,
                    self.e2ee_relay_plaintext_hits
                ),
            ),
        ];
        for (who, ok) in &self.e2ee_clients_decrypted {
            v.push(Saw::new(
                who.clone(),
                if *ok {
                    "decrypted it"
                } else {
                    "did NOT decrypt it"
                },
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    pub(crate) fn good() -> Obs {
        Obs {
            plaintext: "p".into(),
            transport_status: TRANSPORT_STATUS.into(),
            transport_guest_decrypted: true,
            transport_relay_decrypted_records: 1,
            transport_relay_read_plaintext: true,
            e2ee_clients_decrypted: [("Bob".into(), true), ("Carol".into(), true)].into(),
            e2ee_relay_bytes_received: 100,
            ..Obs::default()
        }
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn plaintext_in_the_e2ee_dump_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_client_that_did_not_decrypt_fails() {
        let mut o = good();
        o.e2ee_clients_decrypted.insert("Carol".into(), false);
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_relay_that_could_not_read_transport_frames_fails() {
        let mut o = good();
        o.transport_relay_read_plaintext = false;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
