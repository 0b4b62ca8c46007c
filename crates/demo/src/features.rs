//! The feature table (claim C5): which meeting features work under end-to-end encryption in
//! hush, and why. The data lives in [`FEATURES`] alone: `hush features` prints it ([`to_text`],
//! [`to_json`]) and the demo's C5 check reads it.

/// Whether a feature works under e2ee in hush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// Works with every key kept on clients.
    Yes,
    /// Does not work under e2ee.
    No,
    /// Only through a connector, which turns e2ee off for everyone, visibly (SPEC §13).
    Connector,
}

impl Support {
    /// The JSON and table word: `yes`, `no` or `connector`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Support::Yes => "yes",
            Support::No => "no",
            Support::Connector => "connector",
        }
    }
}

/// One row of the feature table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// The feature, as the 2020 documents name it.
    pub feature: &'static str,
    /// Whether it works under e2ee in hush.
    pub e2ee: Support,
    /// Whether it needs a server to see plaintext (the reason it cannot work, as opposed to a
    /// feature that only needed a design).
    pub needs_server_plaintext: bool,
    /// How it works, or why it cannot.
    pub why: &'static str,
}

/// The feature table (claim C5): the features the documents say turning E2EE on disabled, and
/// more, each with hush's answer.
pub const FEATURES: &[Feature] = &[
    Feature {
        feature: "join before host",
        e2ee: Support::No,
        needs_server_plaintext: false,
        why: "the meeting key is made by the host's client, never by a server: guests may connect \
              first and wait in the cryptographic waiting room, but get the key only when the \
              host's client admits them; it would need only a design (a co-host identity the host \
              authorises in advance), never server plaintext",
    },
    Feature {
        feature: "cloud (server-side) recording",
        e2ee: Support::No,
        needs_server_plaintext: true,
        why: "the server would need the plaintext; hush records locally instead: a client writes \
              what it decrypted, encrypted at rest under a key only its user holds",
    },
    Feature {
        feature: "local recording, encrypted at rest",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "a participant's client records the media it decrypted and encrypts the file at \
              rest; nothing is stored on any server (claim C8)",
    },
    Feature {
        feature: "live streaming via the server",
        e2ee: Support::Connector,
        needs_server_plaintext: true,
        why: "a stream needs plaintext outside the meeting: only through a connector, which joins \
              as a visible roster member the host must admit, and every client then shows \
              `e2ee: off` and a new security code",
    },
    Feature {
        feature: "server-side live transcription",
        e2ee: Support::No,
        needs_server_plaintext: true,
        why: "a server cannot transcribe audio it cannot decrypt; client-side transcription works: \
              each client transcribes what it decrypted and can share the text as an end-to-end \
              encrypted data message",
    },
    Feature {
        feature: "breakout rooms",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "each breakout is its own hush room with its own host-signed roster and its own epoch \
              keys; the relay sees one more opaque room",
    },
    Feature {
        feature: "polls",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "end-to-end encrypted data messages (kind poll, SPEC §11), sealed with the sender's \
              key; votes are counted by the clients",
    },
    Feature {
        feature: "reactions",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "end-to-end encrypted data messages (kind reaction, SPEC §11)",
    },
    Feature {
        feature: "group chat",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "end-to-end encrypted data messages (kind chat, SPEC §11) on the reliable path; the \
              relay forwards bytes it cannot read",
    },
    Feature {
        feature: "private 1:1 chat",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "an end-to-end encrypted data message sent to one participant id (SPEC §6): the \
              relay routes it and cannot read it; sealing it to the recipient's HPKE key from the \
              signed roster keeps it from the other members too; no server plaintext needed",
    },
    Feature {
        feature: "phone / room-system bridge",
        e2ee: Support::Connector,
        needs_server_plaintext: true,
        why: "a legacy endpoint cannot do SFrame: only via a connector that decrypts for it, which \
              turns e2ee off for everyone, visibly (`e2ee: off (connector <name> decrypts)`)",
    },
    Feature {
        feature: "security code",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "derived by every client from the host-signed roster and the epoch; it changes on \
              every join, leave or connector (claim C9)",
    },
    Feature {
        feature: "sender authentication (no in-meeting impersonation)",
        e2ee: Support::Yes,
        needs_server_plaintext: false,
        why: "every chat, reaction, poll and file chunk is signed, and every media frame vouched \
              for in signed batches, with the sender's identity key from the host-signed roster \
              (SPEC §14): a member that forges another's audio or chat is refused by every \
              client, which names the forgery (claim C12); 2020's E2EE design left this out of \
              scope",
    },
];

/// One JSON row; field order is the output order.
#[derive(serde::Serialize)]
struct JsonRow {
    feature: &'static str,
    e2ee: &'static str,
    needs_server_plaintext: bool,
    why: &'static str,
}

/// The table as one line of JSON:
/// `{"features":[{"feature":..,"e2ee":..,"needs_server_plaintext":..,"why":..}]}`.
pub fn to_json() -> String {
    #[derive(serde::Serialize)]
    struct Table {
        features: Vec<JsonRow>,
    }
    let features = FEATURES
        .iter()
        .map(|f| JsonRow {
            feature: f.feature,
            e2ee: f.e2ee.as_str(),
            needs_server_plaintext: f.needs_server_plaintext,
            why: f.why,
        })
        .collect();
    // Only strings and booleans: serializing cannot fail.
    serde_json::to_string(&Table { features }).unwrap_or_default()
}

/// The table as text: one row per feature, the explanation wrapped under it.
pub fn to_text() -> String {
    const WIDTH: usize = 96;
    let name_w = FEATURES.iter().map(|f| f.feature.len()).max().unwrap_or(0);
    let mut s = format!(
        "{:<name_w$}  {:<9}  how / why not\n{}\n",
        "feature",
        "e2ee?",
        "-".repeat(WIDTH)
    );
    let indent = name_w + 2 + 9 + 2;
    for f in FEATURES {
        let mut line = format!("{:<name_w$}  {:<9}  ", f.feature, f.e2ee.as_str());
        let mut col = indent;
        for word in f.why.split_whitespace() {
            if col > indent && col + 1 + word.len() > WIDTH {
                s.push_str(line.trim_end());
                s.push('\n');
                line = " ".repeat(indent);
                col = indent;
            }
            if col > indent {
                line.push(' ');
                col += 1;
            }
            line.push_str(word);
            col += word.len();
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push_str(
        "\nyes: works with every key kept on clients.  no: does not work under e2ee.\n\
         connector: only through a visible connector, which turns e2ee off for everyone.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_row_and_only_the_three_words() {
        let v: serde_json::Value = serde_json::from_str(&to_json()).unwrap_or_default();
        let rows = v["features"].as_array().map(Vec::len);
        assert_eq!(rows, Some(FEATURES.len()));
        for (row, f) in v["features"].as_array().into_iter().flatten().zip(FEATURES) {
            assert_eq!(row["feature"], f.feature);
            assert!(["yes", "no", "connector"].contains(&row["e2ee"].as_str().unwrap_or("")));
            assert!(!f.why.is_empty());
        }
    }

    #[test]
    fn plaintext_features_never_claim_yes() {
        for f in FEATURES {
            assert!(
                !(f.needs_server_plaintext && f.e2ee == Support::Yes),
                "{} cannot work under e2ee if a server needs plaintext",
                f.feature
            );
        }
        let text = to_text();
        for f in FEATURES {
            assert!(text.contains(f.feature), "{}", f.feature);
        }
    }
}
