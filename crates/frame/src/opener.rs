//! The receiving side: keys by KID, each with its replay window (SPEC §2, §4.3).

use std::fmt;

use hush_wire::sframe_header::Header;

use crate::auth::{self, Forgery, MAX_FORGERY_REPORTS, MediaVerdict, SenderAuth, SenderRecord};
use crate::buffer::FrameBuffer;
use crate::key::{self, BaseKey, FrameKey};
use crate::replay::{Refused, ReplayWindow};
use crate::{CipherSuite, FrameError};

/// Default replay window: 1024 frames.
pub const DEFAULT_REPLAY_WINDOW: u64 = 1024;

/// Largest accepted replay window.
pub const MAX_REPLAY_WINDOW: u64 = 65536;

/// What a successful [`Opener::open`] read from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Key id of the frame.
    pub kid: u64,
    /// Counter of the frame.
    pub ctr: u64,
    /// Whether the sender's identity vouched for it (SPEC §14); [`SenderAuth::Group`] for a key
    /// added with [`Opener::add_key`].
    pub auth: SenderAuth,
}

struct ReceiverKey {
    suite: CipherSuite,
    key: FrameKey,
    /// Accepted counters (a key without sender authentication).
    window: ReplayWindow,
    /// Sender authentication (SPEC §14), for keys added with [`Opener::add_sender_key`]: it
    /// replaces the replay window, keeping each counter's digest, so that a copy is a replay,
    /// another frame under a vouched counter a forgery, and only what the sender vouched for or
    /// signed moves the window.
    auth: Option<SenderRecord>,
}

/// The installed keys, sorted by KID, with the slot of the last KID found.
///
/// Frames come in runs from the same sender, and a meeting has a handful of senders (times
/// an epoch or two), so "same as last time" answers most lookups with one comparison and a
/// binary search the rest, with no hashing (a SipHash `HashMap` lookup was a measurable
/// share of a small frame's open).
#[derive(Default)]
struct KeyTable {
    slots: Vec<(u64, ReceiverKey)>,
    last: usize,
}

impl KeyTable {
    /// The slot of `kid`, or where it would be inserted.
    #[inline]
    fn find(&self, kid: u64) -> Result<usize, usize> {
        self.slots.binary_search_by_key(&kid, |(k, _)| *k)
    }

    #[inline]
    fn get_mut(&mut self, kid: u64) -> Option<&mut ReceiverKey> {
        let i = match self.slots.get(self.last) {
            Some((k, _)) if *k == kid => self.last,
            _ => {
                let i = self.find(kid).ok()?;
                self.last = i;
                i
            }
        };
        self.slots.get_mut(i).map(|(_, rk)| rk)
    }

    fn contains(&self, kid: u64) -> bool {
        self.find(kid).is_ok()
    }

    /// Inserts unless `kid` is present; returns whether it inserted.
    fn insert_new(&mut self, kid: u64, make: impl FnOnce() -> ReceiverKey) -> bool {
        match self.find(kid) {
            Ok(_) => false,
            Err(i) => {
                self.slots.insert(i, (kid, make()));
                true
            }
        }
    }

    fn remove(&mut self, kid: u64) -> bool {
        match self.find(kid) {
            Ok(i) => {
                self.slots.remove(i);
                true
            }
            Err(_) => false,
        }
    }
}

/// Opens frames from any number of senders, each known by its KID.
pub struct Opener {
    keys: KeyTable,
    window: u64,
    aad: Vec<u8>,
    /// Frames delivered before their vouch that it showed were forged, until taken.
    forgeries: Vec<Forgery>,
    forgeries_dropped: u64,
}

impl Default for Opener {
    fn default() -> Self {
        Self::new()
    }
}

impl Opener {
    /// An opener with no keys and the default replay window (1024 frames).
    pub fn new() -> Self {
        Self {
            keys: KeyTable::default(),
            window: DEFAULT_REPLAY_WINDOW,
            aad: Vec::new(),
            forgeries: Vec::new(),
            forgeries_dropped: 0,
        }
    }

    /// An opener whose keys get a replay window of `frames` (1..=65536).
    ///
    /// # Errors
    /// [`FrameError::InvalidWindow`] outside that range.
    pub fn with_replay_window(frames: u64) -> Result<Self, FrameError> {
        if !(1..=MAX_REPLAY_WINDOW).contains(&frames) {
            return Err(FrameError::InvalidWindow(frames));
        }
        Ok(Self {
            window: frames,
            ..Self::new()
        })
    }

    /// Installs the key for `kid` (deriving and expanding it once, here) with a fresh window.
    ///
    /// # Errors
    /// [`FrameError::DuplicateKid`] if `kid` already has a key: replacing it would reset its
    /// replay window, so [`remove_key`](Self::remove_key) it first on purpose.
    pub fn add_key(
        &mut self,
        kid: u64,
        suite: CipherSuite,
        base_key: BaseKey,
    ) -> Result<(), FrameError> {
        self.insert(kid, suite, &base_key, false)
    }

    /// As [`add_key`](Self::add_key), for a key whose sender vouches for its frames (SPEC §14):
    /// media frames are delivered as [`SenderAuth::Pending`] until the sender's vouch arrives
    /// ([`vouch`](Self::vouch)) and as [`SenderAuth::Vouched`] after it; a frame the vouch does
    /// not name is [`FrameError::Forged`]; only vouched frames and signed messages
    /// ([`open_signed`](Self::open_signed)) move the replay window.
    ///
    /// # Errors
    /// As [`add_key`](Self::add_key).
    pub fn add_sender_key(
        &mut self,
        kid: u64,
        suite: CipherSuite,
        base_key: BaseKey,
    ) -> Result<(), FrameError> {
        self.insert(kid, suite, &base_key, true)
    }

    fn insert(
        &mut self,
        kid: u64,
        suite: CipherSuite,
        base_key: &BaseKey,
        sender_auth: bool,
    ) -> Result<(), FrameError> {
        let window = self.window;
        let inserted = self.keys.insert_new(kid, || ReceiverKey {
            suite,
            key: FrameKey::new(suite, kid, base_key),
            window: ReplayWindow::new(window),
            auth: sender_auth.then(SenderRecord::default),
        });
        if inserted {
            Ok(())
        } else {
            Err(FrameError::DuplicateKid(kid))
        }
    }

    /// Removes the key for `kid`; returns whether there was one.
    pub fn remove_key(&mut self, kid: u64) -> bool {
        self.keys.remove(kid)
    }

    /// Whether a key is installed for `kid`.
    pub fn has_key(&self, kid: u64) -> bool {
        self.keys.contains(kid)
    }

    /// Opens `buf` in place: on entry it holds `header || ciphertext || tag`, on success the
    /// plaintext. The replay window is checked before decrypting and updated only after the
    /// tag verifies.
    ///
    /// The plaintext is decrypted where it lies (after the header) and then brought to the
    /// front with [`FrameBuffer::keep_range`]: O(1) for `BytesMut`, one `memmove` for `Vec`.
    /// [`open_in_place`](Self::open_in_place) moves nothing, for any buffer.
    ///
    /// # Errors
    /// [`FrameError::Header`], [`FrameError::Truncated`], [`FrameError::UnknownKid`],
    /// [`FrameError::Replay`], [`FrameError::TooOld`] leave `buf` untouched;
    /// [`FrameError::Authentication`] leaves it unspecified, and so do the refusals of a
    /// sender-authenticated key that come after decryption ([`FrameError::Forged`],
    /// [`FrameError::Unvouched`], and a replay of a frame delivered before its vouch).
    #[inline]
    pub fn open<B: FrameBuffer + ?Sized>(
        &mut self,
        metadata: &[u8],
        buf: &mut B,
    ) -> Result<Opened, FrameError> {
        let (opened, start, len) = self.open_at(metadata, buf.as_mut_slice())?;
        buf.keep_range(start, len);
        Ok(opened)
    }

    /// Opens `frame` (`header || ciphertext || tag`) without moving anything: on success the
    /// returned slice is the plaintext, decrypted in place inside `frame` right after the
    /// header. Same checks, order and errors as [`open`](Self::open).
    ///
    /// # Errors
    /// As [`open`](Self::open); on an error other than [`FrameError::Authentication`] `frame`
    /// is untouched.
    #[inline]
    pub fn open_in_place<'a>(
        &mut self,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<(Opened, &'a mut [u8]), FrameError> {
        let (opened, start, len) = self.open_at(metadata, frame)?;
        Ok((opened, &mut frame[start..start + len]))
    }

    /// Opens a signed message (SPEC §14.3) in place, as [`open`](Self::open), and commits its
    /// counter only if `verify(opened, plaintext)` says the claimed sender signed it. For a
    /// sender-authenticated key, frames delivered earlier under the same counter are then known
    /// to be forged (reported by [`take_forgeries`](Self::take_forgeries)).
    ///
    /// # Errors
    /// As [`open`](Self::open); [`FrameError::Forged`] when `verify` refuses (the buffer is then
    /// unspecified and nothing was committed).
    pub fn open_signed<B: FrameBuffer + ?Sized>(
        &mut self,
        metadata: &[u8],
        buf: &mut B,
        verify: impl FnOnce(&Opened, &[u8]) -> bool,
    ) -> Result<Opened, FrameError> {
        let frame = buf.as_mut_slice();
        let (header, h) = Header::decode(frame)?;
        let Header { kid, ctr } = header;
        let rk = self.keys.get_mut(kid).ok_or(FrameError::UnknownKid(kid))?;
        Self::precheck(rk, kid, ctr, frame.len(), h)?;
        let len = Self::decrypt(rk, &mut self.aad, metadata, frame, h, ctr)?;
        let opened = Opened {
            kid,
            ctr,
            auth: if rk.auth.is_some() {
                SenderAuth::Vouched
            } else {
                SenderAuth::Group
            },
        };
        if !verify(&opened, &frame[h..h + len]) {
            return Err(FrameError::Forged { kid, ctr });
        }
        if rk.auth.is_none() {
            rk.window.commit(ctr);
        }
        if let Some(rec) = &mut rk.auth {
            for _ in 0..rec.on_signed(ctr) {
                push_forgery(
                    &mut self.forgeries,
                    &mut self.forgeries_dropped,
                    Forgery { kid, ctr },
                );
            }
        }
        buf.keep_range(h, len);
        Ok(opened)
    }

    /// Applies a vouch of `kid`'s sender that verified (SPEC §14.4): frames delivered as
    /// [`SenderAuth::Pending`] that it names are committed; those it does not name are reported
    /// as forgeries ([`take_forgeries`](Self::take_forgeries)); frames still to come under its
    /// counters must match it.
    ///
    /// # Errors
    /// [`FrameError::UnknownKid`] without a key for `kid`. A key that is not
    /// sender-authenticated ignores vouches.
    pub fn vouch(
        &mut self,
        kid: u64,
        list: &auth::VouchList,
    ) -> Result<auth::VouchOutcome, FrameError> {
        let rk = self.keys.get_mut(kid).ok_or(FrameError::UnknownKid(kid))?;
        let Some(mut rec) = rk.auth.take() else {
            return Ok(auth::VouchOutcome::default());
        };
        let (forgeries, dropped) = (&mut self.forgeries, &mut self.forgeries_dropped);
        let out = rec.on_vouch(list, |ctr| {
            push_forgery(forgeries, dropped, Forgery { kid, ctr });
        });
        rk.auth = Some(rec);
        Ok(out)
    }

    /// Takes the forgeries detected after delivery since the last call (at most
    /// [`MAX_FORGERY_REPORTS`](auth::MAX_FORGERY_REPORTS) are held), and how many more were
    /// detected but not held.
    pub fn take_forgeries(&mut self) -> (Vec<Forgery>, u64) {
        (
            std::mem::take(&mut self.forgeries),
            std::mem::take(&mut self.forgeries_dropped),
        )
    }

    /// Bytes of sender-authentication state held for all keys (SPEC §14.4: at most
    /// `AUTH_WINDOW` slots per sender key that has received a frame).
    pub fn sender_auth_bytes(&self) -> usize {
        self.keys
            .slots
            .iter()
            .filter_map(|(_, rk)| rk.auth.as_ref().map(SenderRecord::bytes))
            .sum()
    }

    /// Length and replay checks before any decryption (for a sender-authenticated key, those
    /// its record can make without the frame's digest).
    #[inline]
    fn precheck(
        rk: &ReceiverKey,
        kid: u64,
        ctr: u64,
        len: usize,
        h: usize,
    ) -> Result<(), FrameError> {
        let min = h + rk.suite.tag_len();
        if len < min {
            return Err(FrameError::Truncated { len, min });
        }
        if let Some(rec) = &rk.auth {
            return rec.precheck(kid, ctr);
        }
        rk.window.check(ctr).map_err(|r| match r {
            Refused::Replay => FrameError::Replay { kid, ctr },
            Refused::TooOld => FrameError::TooOld { kid, ctr },
        })
    }

    /// Decrypts `frame[h..]` in place; returns the plaintext length.
    #[inline]
    fn decrypt(
        rk: &ReceiverKey,
        scratch: &mut Vec<u8>,
        metadata: &[u8],
        frame: &mut [u8],
        h: usize,
        ctr: u64,
    ) -> Result<usize, FrameError> {
        let (hdr, body) = frame.split_at_mut(h);
        let aad = key::aad(scratch, hdr, metadata);
        let nonce = rk.key.nonce(ctr);
        rk.key
            .aead
            .open(&nonce, aad, body)
            .map_err(|_| FrameError::Authentication)
    }

    /// Checks, decrypts in place, commits; returns where the plaintext is in `frame`.
    #[inline]
    fn open_at(
        &mut self,
        metadata: &[u8],
        frame: &mut [u8],
    ) -> Result<(Opened, usize, usize), FrameError> {
        let (header, h) = Header::decode(frame)?;
        let Header { kid, ctr } = header;
        let rk = self.keys.get_mut(kid).ok_or(FrameError::UnknownKid(kid))?;
        Self::precheck(rk, kid, ctr, frame.len(), h)?;
        // Sender authentication: the digest of the sealed frame, before it is decrypted.
        let digest = rk.auth.as_ref().map(|_| auth::frame_digest(frame));
        let len = Self::decrypt(rk, &mut self.aad, metadata, frame, h, ctr)?;
        let auth = match (&mut rk.auth, digest) {
            (Some(rec), Some(d)) => match rec.on_media(kid, ctr, d) {
                MediaVerdict::Deliver(a) => a,
                MediaVerdict::Refuse(e) => return Err(e),
            },
            _ => SenderAuth::Group,
        };
        if rk.auth.is_none() {
            rk.window.commit(ctr);
        }
        Ok((Opened { kid, ctr, auth }, h, len))
    }
}

fn push_forgery(to: &mut Vec<Forgery>, dropped: &mut u64, f: Forgery) {
    if to.len() < MAX_FORGERY_REPORTS {
        to.push(f);
    } else {
        *dropped += 1;
    }
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self.keys.slots.iter().map(|(k, _)| k).collect();
        f.debug_struct("Opener")
            .field("kids", &kids)
            .field("replay_window", &self.window)
            .finish_non_exhaustive()
    }
}
