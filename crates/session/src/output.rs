//! What leaves a [`crate::Session`]: blobs to send ([`Transmit`]), key changes for the media
//! path ([`KeyUpdate`]), events for the application ([`Event`]), and the errors of its commands
//! ([`SessionError`]).

use std::time::Duration;

use hush_group::issued::Issued;
use hush_group::{RosterView, SenderSecret};
use hush_wire::Target;

use crate::status::{AdmissionRequest, E2eeStatus, EndReason, Refusal};

/// A blob to send through the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Everyone else in the room, or one relay id.
    pub to: Target,
    /// The bytes (a group message).
    pub bytes: Vec<u8>,
}

/// A change to the keys of the media path (the `Opener` and the `Sealer`), in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyUpdate {
    /// The display names (and identities) of an epoch's roster, before its keys.
    Roster(RosterView),
    /// A new epoch: seal with `my_sender`, open with `receivers`.
    Epoch {
        /// The epoch.
        epoch: u64,
        /// This participant's sending key.
        my_sender: SenderSecret,
        /// Every other member's receiving key.
        receivers: Vec<SenderSecret>,
    },
    /// Transport mode: keys issued by the relay's key service (replacing `previous`).
    Issued {
        /// The new keys.
        issued: Issued,
        /// The keys held before, if any.
        previous: Option<Issued>,
    },
    /// Erase every key of this epoch (its grace is over).
    Expire(u64),
    /// Erase every key (removed, left, disconnected, ended).
    Clear,
    /// Keep the keys but never install or queue again (test hook: a member that left with its
    /// keys).
    Freeze,
    /// Readiness after a batch: the epoch this participant may seal in (0: none) and how many
    /// others its roster lists.
    Ready {
        /// The keyed epoch, 0 for none.
        epoch: u64,
        /// Others in that epoch's roster.
        others: usize,
    },
}

/// What the application is told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new epoch's roster is in force.
    RosterChanged(RosterView),
    /// The security code changed (SPEC §10).
    SecurityCode(String),
    /// The end-to-end status changed (every change, across reconnects).
    E2ee(E2eeStatus),
    /// Host, [`crate::Admit::Ask`]: someone asks to join.
    AdmissionRequest(AdmissionRequest),
    /// Host: a join request was refused by policy, not by the operator (a connector under
    /// `Admit::Auto` without `admit_connectors`); the joiner was told why.
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
    /// The host's roster no longer lists this participant; every key is erased.
    Removed,
    /// Member: the host's connection is gone; the epoch stays for at most `grace`.
    HostAway {
        /// How long the meeting waits for the host.
        grace: Duration,
    },
    /// A group message could not be sent (too large for the relay, or the network refused
    /// it): the meeting may stop changing epochs, so the application must tell the user.
    SendFailed(crate::SendFailure),
    /// The meeting is over for this participant.
    Ended(EndReason),
}

/// Why a command or a (re)connection was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The group layer refused.
    #[error("group: {0}")]
    Group(#[from] hush_group::GroupError),
    /// The operation needs the host role.
    #[error("only the host can do this")]
    NotHost,
    /// No pending admission for that relay id.
    #[error("no pending join request from participant {0}")]
    NoSuchRequest(u64),
    /// No roster (and so no host) yet.
    #[error("not ready: no epoch key yet (waiting for the host's signed roster)")]
    NotReady,
    /// The relay issues the keys and this participant may not take them (SPEC §12.5).
    #[error("the relay issues its own keys (transport mode)")]
    RelayKeys {
        /// True when the meeting had run on client-made keys (a downgrade).
        downgrade: bool,
    },
    /// The configuration is contradictory.
    #[error("configuration: {0}")]
    Config(&'static str),
}
