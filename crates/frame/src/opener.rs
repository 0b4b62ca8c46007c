//! The receiving side: keys by KID, each with its replay window (SPEC §2, §4.3).

use std::fmt;

use hush_wire::sframe_header::Header;

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
}

struct ReceiverKey {
    suite: CipherSuite,
    key: FrameKey,
    window: ReplayWindow,
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
        let window = self.window;
        let inserted = self.keys.insert_new(kid, || ReceiverKey {
            suite,
            key: FrameKey::new(suite, kid, &base_key),
            window: ReplayWindow::new(window),
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
    /// [`FrameError::Authentication`] leaves it unspecified.
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
        let min = h + rk.suite.tag_len();
        if frame.len() < min {
            return Err(FrameError::Truncated {
                len: frame.len(),
                min,
            });
        }
        rk.window.check(ctr).map_err(|r| match r {
            Refused::Replay => FrameError::Replay { kid, ctr },
            Refused::TooOld => FrameError::TooOld { kid, ctr },
        })?;
        let (hdr, body) = frame.split_at_mut(h);
        let aad = key::aad(&mut self.aad, hdr, metadata);
        let nonce = rk.key.nonce(ctr);
        let len = rk
            .key
            .aead
            .open(&nonce, aad, body)
            .map_err(|_| FrameError::Authentication)?;
        rk.window.commit(ctr);
        Ok((Opened { kid, ctr }, h, len))
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
