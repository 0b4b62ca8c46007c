//! The hostile relay's policy: what it does with each delivery (one item, from one participant,
//! to one recipient). The honest answer is [`Fate::Pass`]; every attack of issue 7 is some other
//! answer, or an [`Out`] injected by the test.

use bytes::Bytes;
use hush_wire::ParticipantId;

/// What is being delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A media frame (an SFrame frame; datagram or stream).
    Media,
    /// An opaque blob on the control stream (`Deliver`): group messages, data messages.
    Blob,
    /// The relay telling `to` that `from` joined the room (`PeerJoined`, or `from` listed in
    /// `to`'s `Joined`).
    PeerJoined,
    /// The relay telling `to` that `from` left the room (`PeerLeft`).
    PeerLeft,
}

/// One delivery the relay is about to make.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// The room.
    pub room: &'a str,
    /// The sender (or the participant who joined or left).
    pub from: ParticipantId,
    /// The recipient.
    pub to: ParticipantId,
    /// What it is.
    pub kind: Kind,
    /// The bytes as the sender sent them (empty for `PeerJoined`/`PeerLeft`).
    pub bytes: &'a Bytes,
}

/// Something the relay sends to one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Out {
    /// A media frame to `to`.
    Media {
        /// Recipient connection (ids are unique across rooms).
        to: ParticipantId,
        /// Frame bytes.
        bytes: Bytes,
    },
    /// `Deliver { from, blob }` to `to`; `from` may be anyone, the relay chooses it.
    Blob {
        /// Recipient connection.
        to: ParticipantId,
        /// Claimed sender.
        from: ParticipantId,
        /// Blob bytes.
        bytes: Bytes,
    },
    /// `PeerJoined { id }` to `to`.
    PeerJoined {
        /// Recipient connection.
        to: ParticipantId,
        /// Claimed newcomer.
        id: ParticipantId,
    },
    /// `PeerLeft { id }` to `to`.
    PeerLeft {
        /// Recipient connection.
        to: ParticipantId,
        /// Claimed leaver.
        id: ParticipantId,
    },
    /// `Carriers { relays }` to `to` (SPEC §15.8): whatever names the relay chooses.
    Carriers {
        /// Recipient connection.
        to: ParticipantId,
        /// `(name, region)` pairs.
        relays: Vec<(String, String)>,
    },
}

impl Out {
    /// What the honest relay would send for `d`, with `bytes` in place of the original.
    pub fn like(d: &Delivery<'_>, bytes: Bytes) -> Out {
        match d.kind {
            Kind::Media => Out::Media { to: d.to, bytes },
            Kind::Blob => Out::Blob {
                to: d.to,
                from: d.from,
                bytes,
            },
            Kind::PeerJoined => Out::PeerJoined {
                to: d.to,
                id: d.from,
            },
            Kind::PeerLeft => Out::PeerLeft {
                to: d.to,
                id: d.from,
            },
        }
    }

    /// The recipient.
    pub fn to(&self) -> ParticipantId {
        match self {
            Out::Media { to, .. }
            | Out::Blob { to, .. }
            | Out::PeerJoined { to, .. }
            | Out::PeerLeft { to, .. }
            | Out::Carriers { to, .. } => *to,
        }
    }
}

/// What becomes of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fate {
    /// Deliver it unchanged (the honest relay).
    Pass,
    /// Do not deliver it.
    Drop,
    /// Send these instead (none, one altered copy, two copies, held-back earlier items, items for
    /// other connections...), in this order.
    Send(Vec<Out>),
}

/// A misbehaviour policy. Called for every delivery, in the order the relay makes them (one
/// sender's items in the order it sent them), under one lock: keep it short.
pub trait Tamper: Send + 'static {
    /// Decides the fate of `d`.
    fn deliver(&mut self, d: &Delivery<'_>) -> Fate;
}

impl<F> Tamper for F
where
    F: FnMut(&Delivery<'_>) -> Fate + Send + 'static,
{
    fn deliver(&mut self, d: &Delivery<'_>) -> Fate {
        self(d)
    }
}

/// The honest relay.
pub(crate) struct Honest;

impl Tamper for Honest {
    fn deliver(&mut self, _: &Delivery<'_>) -> Fate {
        Fate::Pass
    }
}
