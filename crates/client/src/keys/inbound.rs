//! [`Inbound`]: the lock around the [`Keys`] that the connection's readers open media under.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::Keys;
use crate::event::MeetingEvent;
use crate::lanes::EventTx;
use crate::net::MediaSink;
use crate::shared::{Shared, lock};

/// The media receive path shared by the connection's readers and the driver.
pub(crate) struct Inbound {
    keys: Mutex<Keys>,
    events: EventTx,
}

impl Inbound {
    pub(crate) fn new(shared: Arc<Shared>, events: EventTx) -> Self {
        Inbound {
            keys: Mutex::new(Keys::new(shared)),
            events,
        }
    }

    /// The keys, locked (never held across an await).
    pub(crate) fn keys(&self) -> MutexGuard<'_, Keys> {
        lock(&self.keys)
    }

    /// Puts a media event on the application's media lane; a full lane drops it (counted).
    fn push(&self, ev: MeetingEvent) {
        self.events.push(ev);
    }

    /// After new keys (call with the lock held): releases the held frames of the now keyed
    /// epoch. Media events go to the channel at once, before any later frame can be opened;
    /// data events are returned for the driver to emit in order with the other data.
    pub(crate) fn release_held(&self, keys: &mut Keys) -> Vec<MeetingEvent> {
        let mut data = Vec::new();
        for ev in keys.retry_future() {
            match ev {
                MeetingEvent::Media(_) => self.push(ev),
                ev => data.push(ev),
            }
        }
        data
    }
}

impl MediaSink for Inbound {
    fn on_media(&self, frame: Bytes) {
        let mut keys = self.keys();
        let buf = keys.to_mut(frame);
        if let Some(ev) = keys.open_media(buf) {
            self.push(ev);
        }
    }

    fn on_media_parts(&self, head: &[Bytes], tail: &[Bytes], len: usize) {
        let mut keys = self.keys();
        let buf = keys.join(head.iter().chain(tail), len);
        if let Some(ev) = keys.open_media(buf) {
            self.push(ev);
        }
    }
}
