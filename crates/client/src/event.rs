//! What a meeting reports to the application ([`MeetingEvent`]) and the end-to-end status line
//! every client prints ([`E2eeStatus`], SPEC §11.5, §12, §13).

use std::sync::Arc;

use bytes::Bytes;
use hush_group::{IdentityKey, RosterView};

use crate::blob::DataKind;

pub use hush_frame::SenderAuth;
pub use hush_session::{AdmissionRequest, E2eeStatus, EndReason, Refusal, SendFailure};

/// A decrypted media frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// Sender's index in the epoch's roster.
    pub sender: u16,
    /// Sender's display name (decrypted from the roster; `#<index>` in transport mode).
    /// Another party's text: escape it before printing.
    pub sender_name: Arc<str>,
    /// Sender's identity key from the epoch's host-signed roster (`None` in transport mode).
    /// Names are not unique; this is.
    pub sender_identity: Option<IdentityKey>,
    /// Epoch the frame was sealed in.
    pub epoch: u64,
    /// SFrame counter.
    pub ctr: u64,
    /// Whether the sender's identity had vouched for this frame when it was delivered (SPEC
    /// §14): [`SenderAuth::Pending`] frames are delivered before their vouch (within at most
    /// 64 frames or 1 s of the sender's), and a [`MeetingEvent::Forged`] follows if the vouch
    /// shows one was forged. A frame delivered as pending is never re-delivered as vouched.
    pub auth: SenderAuth,
    /// The plaintext.
    pub payload: Bytes,
}

/// Something forged in another member's name (SPEC §14): a member holds every sender's SFrame
/// key of the epoch, but not their identity keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgery {
    /// The roster index the forgery claims.
    pub sender: u16,
    /// That member's display name. Another party's text: escape it before printing.
    pub sender_name: Arc<str>,
    /// That member's identity key from the host-signed roster.
    pub sender_identity: Option<IdentityKey>,
    /// Epoch of the key it was sealed under.
    pub epoch: u64,
    /// Its SFrame counter.
    pub ctr: u64,
    /// What it claimed to be: `"media frame"`, `"chat message"`, `"file chunk"`, ...
    pub what: &'static str,
    /// True if it had been delivered (as [`SenderAuth::Pending`] media) before the claimed
    /// sender's vouch showed it forged; false if it was refused before delivery.
    pub delivered: bool,
}

impl std::fmt::Display for Forgery {
    /// One line; the name is escaped (SPEC §8.10).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = self
            .sender_identity
            .map(|k| k.to_hex()[..8].to_owned())
            .unwrap_or_else(|| format!("#{}", self.sender));
        write!(
            f,
            "{} in the name of \"{}\" ({who}), epoch {} ctr {}: {}",
            self.what,
            self.sender_name.escape_debug(),
            self.epoch,
            self.ctr,
            if self.delivered {
                "delivered before the sender's vouch, which names another frame"
            } else {
                "refused, the sender's identity does not vouch for it"
            }
        )
    }
}

/// A decrypted data message (chat, reaction, poll, file chunk; SPEC §11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage {
    /// Sender's index in the epoch's roster.
    pub sender: u16,
    /// Sender's display name. Another party's text: escape it before printing.
    pub sender_name: Arc<str>,
    /// Sender's identity key from the epoch's host-signed roster (`None` in transport mode).
    /// Names are not unique; this is.
    pub sender_identity: Option<IdentityKey>,
    /// Epoch the message was sealed in.
    pub epoch: u64,
    /// Kind byte.
    pub kind: DataKind,
    /// Payload after the kind byte.
    pub payload: Bytes,
}

/// Something that happened in the meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MeetingEvent {
    /// A new epoch's roster is in force (this client holds its keys).
    RosterChanged(RosterView),
    /// The security code changed (SPEC §10).
    SecurityCode(String),
    /// The end-to-end status changed.
    E2ee(E2eeStatus),
    /// A media frame opened.
    Media(MediaFrame),
    /// A data message opened.
    Data(DataMessage),
    /// A frame or data message forged in another member's name (SPEC §14), refused or (media
    /// delivered before its vouch) detected; counted in `Stats::forged`.
    Forged(Forgery),
    /// Host, [`crate::Admit::Ask`]: someone asks to join.
    AdmissionRequest(AdmissionRequest),
    /// Host: a join request refused by policy (a connector under [`crate::Admit::Auto`]
    /// without consent); the joiner was sent a signed denial saying why.
    JoinRefused {
        /// Who asked.
        request: AdmissionRequest,
        /// Why.
        reason: hush_group::DenyReason,
    },
    /// A received message was refused (and counted).
    Refused {
        /// Relay id of the sender (0: the relay).
        from: u64,
        /// Why.
        reason: Refusal,
    },
    /// The host removed this client from the roster; every key is erased.
    Removed,
    /// The connection to the relay dropped.
    Disconnected {
        /// Why.
        reason: String,
        /// True if the client is trying to reconnect; false when the meeting is over.
        reconnecting: bool,
    },
    /// The client reconnected and rejoined the room (keys follow with the next roster).
    Reconnected,
    /// The meeting moved to another relay (the previous one went away or was lost); sent just
    /// before [`MeetingEvent::Reconnected`].
    Moved {
        /// The relay carrying the meeting now.
        relay: std::net::SocketAddr,
        /// Its region, as its `Hello` says (attacker-chosen text: escape before printing).
        region: String,
    },
    /// The relays carrying the meeting changed, as the client's relay reports them (SPEC §15.8):
    /// `(name, region)`, that relay first. Attacker-chosen text (escape before printing), and
    /// what the relays say: a client cannot verify which relays its frames crossed.
    Carriers {
        /// `(name, region)` of each relay.
        relays: Vec<(String, String)>,
    },
    /// Member: the relay reports the host's connection gone. The current epoch's keys stay in
    /// use for at most `grace` while the host may come back (a host reconnect brings a new
    /// roster); then the meeting ends ([`MeetingEvent::Ended`]).
    HostAway {
        /// How long the meeting waits for the host.
        grace: std::time::Duration,
    },
    /// A group message (a commit, a welcome, a join request...) could not be sent: too large
    /// for the relay, or the connection refused it. The meeting may stop changing epochs, so
    /// tell the user (`hush` prints `cannot send <what>`).
    SendFailed(SendFailure),
    /// The meeting is over for this client: removed by the host, the host gone for good, or a
    /// relay that now wants to issue the keys of an end-to-end encrypted meeting. Every key is
    /// erased; no more events follow.
    Ended(EndReason),
}
