//! Opening received frames and data messages in place, with transport mode's keys derived on
//! first sight (SPEC §11.4, §12).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use hush_frame::{FrameError, Opened};
use hush_group::split_kid;

use super::{Keys, Queued};
use crate::blob::{AfterClassByte, DATA_AAD, DataKind};
use crate::event::{DataMessage, MediaFrame, MeetingEvent};
use crate::stats::Counters;

impl Keys {
    fn open<B: hush_frame::FrameBuffer + ?Sized>(
        &mut self,
        aad: &[u8],
        buf: &mut B,
    ) -> Result<Opened, FrameError> {
        match self.opener.open(aad, buf) {
            Err(FrameError::UnknownKid(kid)) => {
                // Transport mode: derive the sender's key on first sight (SPEC §12).
                let (epoch, index) = split_kid(kid);
                let Some(iss) = &self.transport else {
                    return Err(FrameError::UnknownKid(kid));
                };
                if epoch != iss.epoch || index == iss.your_index {
                    return Err(FrameError::UnknownKid(kid));
                }
                let s = iss.sender(index).map_err(|_| FrameError::UnknownKid(kid))?;
                self.add_key(epoch, &s)?;
                // Transport mode has no roster: name the sender once, not per frame.
                self.epochs
                    .entry(epoch)
                    .or_default()
                    .names
                    .entry(index)
                    .or_insert_with(|| Arc::from(format!("#{index}")));
                self.opener.open(aad, buf)
            }
            r => r,
        }
    }

    /// Opens a media frame in place; `None` if it was refused (counted) or held for a future
    /// epoch.
    pub(super) fn open_media(&mut self, mut buf: BytesMut) -> Option<MeetingEvent> {
        match self.open(&[], &mut buf) {
            Ok(o) => {
                Counters::inc(&self.shared.counters.media_opened);
                let (epoch, sender) = split_kid(o.kid);
                Some(MeetingEvent::Media(MediaFrame {
                    sender,
                    sender_name: self.name(epoch, sender),
                    sender_identity: self.identity(epoch, sender),
                    epoch,
                    ctr: o.ctr,
                    payload: buf.freeze(),
                }))
            }
            Err(FrameError::UnknownKid(kid)) if self.can_wait_for(kid) => {
                self.queue(kid, Queued::Media(buf));
                None
            }
            Err(e) => {
                self.shared.counters.refused_frame(&e);
                None
            }
        }
    }

    /// Opens a data message blob (`0xD1 ‖ SFrame`); `Ok(None)` if queued for a future epoch.
    pub(crate) fn on_data(
        &mut self,
        from: u64,
        blob: Bytes,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        let blob = self.to_mut(blob);
        self.open_data(from, blob)
    }

    pub(super) fn open_data(
        &mut self,
        from: u64,
        mut blob: BytesMut,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        match self.open(DATA_AAD, &mut AfterClassByte(&mut blob)) {
            Ok(o) => {
                if blob.len() < 2 {
                    return Err(FrameError::Truncated {
                        len: blob.len().saturating_sub(1),
                        min: 1,
                    });
                }
                Counters::inc(&self.shared.counters.data_opened);
                let (epoch, sender) = split_kid(o.kid);
                let kind = DataKind::from_u8(blob[1]);
                Ok(Some(MeetingEvent::Data(DataMessage {
                    sender,
                    sender_name: self.name(epoch, sender),
                    sender_identity: self.identity(epoch, sender),
                    epoch,
                    kind,
                    payload: blob.freeze().slice(2..),
                })))
            }
            Err(FrameError::UnknownKid(kid)) if self.can_wait_for(kid) => {
                self.queue(kid, Queued::Data { from, blob });
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
