//! Opening received frames and data messages in place, with transport mode's keys derived on
//! first sight (SPEC §11.4, §12), and sender authentication (SPEC §14): signed data messages
//! verified against the claimed sender's identity before delivery, vouches applied, forgeries
//! named.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use hush_frame::auth::VouchList;
use hush_frame::{FrameError, Opened};
use hush_group::sender_auth::SIGNATURE_LEN;
use hush_group::split_kid;

use super::{Keys, Queued};
use crate::blob::{AfterClassByte, CLASS_SIGNED_DATA, DATA_AAD, DataKind, SIGNED_DATA_AAD};
use crate::event::{DataMessage, Forgery, MediaFrame, MeetingEvent};
use crate::stats::Counters;

/// What a forged data message claimed to be, from its (untrusted) kind byte.
fn data_what(kind: Option<u8>) -> &'static str {
    match kind.map(DataKind::from_u8) {
        Some(DataKind::Chat) => "chat message",
        Some(DataKind::Reaction) => "reaction",
        Some(DataKind::Poll) => "poll",
        Some(DataKind::FileChunk) => "file chunk",
        Some(DataKind::FileStart) => "file start",
        Some(DataKind::FileEnd) => "file end",
        Some(DataKind::Vouch) => "vouch",
        _ => "data message",
    }
}

impl Keys {
    fn open<B: hush_frame::FrameBuffer + ?Sized>(
        &mut self,
        aad: &[u8],
        buf: &mut B,
    ) -> Result<Opened, FrameError> {
        match self.opener.open(aad, buf) {
            Err(FrameError::UnknownKid(kid)) if self.derive_transport_key(kid)? => {
                self.opener.open(aad, buf)
            }
            r => r,
        }
    }

    /// Transport mode: derives the key of `kid`'s sender on first sight (SPEC §12); whether it
    /// did.
    fn derive_transport_key(&mut self, kid: u64) -> Result<bool, FrameError> {
        let (epoch, index) = split_kid(kid);
        let Some(iss) = &self.transport else {
            return Ok(false);
        };
        if epoch != iss.epoch || index == iss.your_index {
            return Ok(false);
        }
        let s = iss.sender(index).map_err(|_| FrameError::UnknownKid(kid))?;
        self.add_key(epoch, &s, false)?;
        // Transport mode has no roster: name the sender once, not per frame.
        self.epochs
            .entry(epoch)
            .or_default()
            .names
            .entry(index)
            .or_insert_with(|| Arc::from(format!("#{index}")));
        Ok(true)
    }

    /// A forgery claiming `kid`'s sender.
    fn forgery(&self, kid: u64, ctr: u64, what: &'static str, delivered: bool) -> MeetingEvent {
        let (epoch, sender) = split_kid(kid);
        Counters::inc(&self.shared.counters.forged);
        MeetingEvent::Forged(Forgery {
            sender,
            sender_name: self.name(epoch, sender),
            sender_identity: self.identity(epoch, sender),
            epoch,
            ctr,
            what,
            delivered,
        })
    }

    /// Opens a media frame in place; `None` if it was refused (counted) or held for a future
    /// epoch. A forgery in another member's name is refused as an event that names it.
    pub(super) fn open_media(&mut self, mut buf: BytesMut) -> Option<MeetingEvent> {
        match self.open(&[], &mut buf) {
            Ok(o) => {
                Counters::inc(&self.shared.counters.media_opened);
                if o.auth == hush_frame::SenderAuth::Pending {
                    Counters::inc(&self.shared.counters.media_pending);
                }
                let (epoch, sender) = split_kid(o.kid);
                Some(MeetingEvent::Media(MediaFrame {
                    sender,
                    sender_name: self.name(epoch, sender),
                    sender_identity: self.identity(epoch, sender),
                    epoch,
                    ctr: o.ctr,
                    auth: o.auth,
                    payload: buf.freeze(),
                }))
            }
            Err(FrameError::UnknownKid(kid)) if self.can_wait_for(kid) => {
                self.queue(kid, Queued::Media(buf));
                None
            }
            Err(FrameError::Forged { kid, ctr }) => {
                Some(self.forgery(kid, ctr, "media frame", false))
            }
            Err(e) => {
                self.shared.counters.refused_frame(&e);
                None
            }
        }
    }

    /// Opens a data message blob (`0xD1 ‖ SFrame` or, signed, `0xD2 ‖ SFrame`); `Ok(None)` if
    /// queued for a future epoch or consumed here (a vouch).
    pub(crate) fn on_data(
        &mut self,
        from: u64,
        blob: Bytes,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        let blob = self.to_mut(blob);
        self.open_data(from, blob)
    }

    /// The forgeries found on the data path since the last call.
    pub(crate) fn take_forgeries(&mut self) -> Vec<MeetingEvent> {
        std::mem::take(&mut self.forgeries)
    }

    pub(super) fn open_data(
        &mut self,
        from: u64,
        mut blob: BytesMut,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        let signed = blob.first() == Some(&CLASS_SIGNED_DATA);
        let opened = if signed {
            self.open_signed(&mut blob)
        } else {
            self.open_unsigned(&mut blob)
        };
        let o = match opened {
            Ok(o) => o,
            Err(FrameError::UnknownKid(kid)) if self.can_wait_for(kid) => {
                self.queue(kid, Queued::Data { from, blob });
                return Ok(None);
            }
            Err(FrameError::Forged { kid, ctr }) => {
                // A bad signature: the frame opened, its plaintext (kind byte first) lies right
                // after the header. An unsigned message was not opened.
                let kind = signed
                    .then(|| hush_frame::Header::decode(blob.get(1..).unwrap_or_default()).ok())
                    .flatten()
                    .and_then(|(_, h)| blob.get(1 + h).copied());
                let ev = self.forgery(kid, ctr, data_what(kind), false);
                return Ok(Some(ev));
            }
            Err(e) => return Err(e),
        };
        self.collect_forgeries();
        // `0xD1/0xD2 ‖ kind ‖ payload [‖ signature]`.
        let end = blob.len() - if signed { SIGNATURE_LEN } else { 0 };
        if end < 2 {
            return Err(FrameError::Truncated {
                len: blob.len().saturating_sub(1),
                min: 1,
            });
        }
        Counters::inc(&self.shared.counters.data_opened);
        let (epoch, sender) = split_kid(o.kid);
        let kind = DataKind::from_u8(blob[1]);
        if kind == DataKind::Vouch {
            if signed {
                let list = VouchList::decode(&blob[2..end])?;
                let out = self.opener.vouch(o.kid, &list)?;
                self.shared.counters.media_confirmed.fetch_add(
                    u64::from(out.confirmed),
                    std::sync::atomic::Ordering::Relaxed,
                );
                self.collect_forgeries();
            }
            return Ok(None);
        }
        blob.truncate(end);
        Ok(Some(MeetingEvent::Data(DataMessage {
            sender,
            sender_name: self.name(epoch, sender),
            sender_identity: self.identity(epoch, sender),
            epoch,
            kind,
            payload: blob.freeze().slice(2..),
        })))
    }

    /// A signed data message (SPEC §14.3): opened, then its signature checked against the
    /// identity the roster gives the sender of its KID, before anything moves or is delivered.
    fn open_signed(&mut self, blob: &mut BytesMut) -> Result<Opened, FrameError> {
        let room = self.shared.signer.get().map(|s| s.room.clone());
        let epochs = &mut self.epochs;
        let verify = |o: &Opened, plain: &[u8]| {
            let (epoch, index) = split_kid(o.kid);
            let Some(e) = epochs.get_mut(&epoch) else {
                return false;
            };
            let Some(identity) = e.identities.get(&index) else {
                return false;
            };
            let Some(key) = e
                .verifiers
                .entry(index)
                .or_insert_with(|| identity.data_verifier())
            else {
                return false;
            };
            let (Some(room), Some(split)) = (&room, plain.len().checked_sub(SIGNATURE_LEN)) else {
                return false;
            };
            let (body, sig) = plain.split_at(split);
            let mut s = [0u8; SIGNATURE_LEN];
            s.copy_from_slice(sig);
            key.verify(room, o.kid, o.ctr, body, &s)
        };
        self.opener
            .open_signed(SIGNED_DATA_AAD, &mut AfterClassByte(blob), verify)
    }

    /// An unsigned data message: only where senders are not authenticated (transport mode, or
    /// sender authentication off); in an authenticated meeting it claims a sender that did not
    /// sign it, so it is a forgery, refused before it is opened.
    fn open_unsigned(&mut self, blob: &mut BytesMut) -> Result<Opened, FrameError> {
        if self.sender_auth() && self.transport.is_none() {
            let (h, _) = hush_frame::Header::decode(blob.get(1..).unwrap_or_default())?;
            return Err(FrameError::Forged {
                kid: h.kid,
                ctr: h.ctr,
            });
        }
        self.open(DATA_AAD, &mut AfterClassByte(blob))
    }

    /// Moves the opener's after-the-fact forgery reports into [`Keys::take_forgeries`]'s list.
    fn collect_forgeries(&mut self) {
        let (found, dropped) = self.opener.take_forgeries();
        for f in found {
            let ev = self.forgery(f.kid, f.ctr, "media frame", true);
            self.forgeries.push(ev);
        }
        for _ in 0..dropped {
            Counters::inc(&self.shared.counters.forged);
        }
    }
}
