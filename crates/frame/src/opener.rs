//! The receiving side: keys by KID, each with its replay window (SPEC §2, §4.3).

use std::collections::HashMap;
use std::fmt;

use hush_wire::sframe_header::{Header, MAX_HEADER_LEN};

use crate::backend::{self, FrameAead};
use crate::buffer::FrameBuffer;
use crate::key::{self, BaseKey};
use crate::replay::{Refused, ReplayWindow};
use crate::{CipherSuite, FrameError, NONCE_LEN};

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
    salt: zeroize::Zeroizing<[u8; NONCE_LEN]>,
    aead: Box<dyn FrameAead>,
    window: ReplayWindow,
}

/// Opens frames from any number of senders, each known by its KID.
pub struct Opener {
    keys: HashMap<u64, ReceiverKey>,
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
            keys: HashMap::new(),
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
        if self.keys.contains_key(&kid) {
            return Err(FrameError::DuplicateKid(kid));
        }
        let ks = key::derive(suite, kid, &base_key);
        self.keys.insert(
            kid,
            ReceiverKey {
                suite,
                salt: zeroize::Zeroizing::new(ks.salt),
                aead: backend::new(suite, &ks.key),
                window: ReplayWindow::new(self.window),
            },
        );
        Ok(())
    }

    /// Removes the key for `kid`; returns whether there was one.
    pub fn remove_key(&mut self, kid: u64) -> bool {
        self.keys.remove(&kid).is_some()
    }

    /// Whether a key is installed for `kid`.
    pub fn has_key(&self, kid: u64) -> bool {
        self.keys.contains_key(&kid)
    }

    /// Opens `buf` in place: on entry it holds `header || ciphertext || tag`, on success the
    /// plaintext. The replay window is checked before decrypting and updated only after the
    /// tag verifies.
    ///
    /// # Errors
    /// [`FrameError::Header`], [`FrameError::Truncated`], [`FrameError::UnknownKid`],
    /// [`FrameError::Replay`], [`FrameError::TooOld`] leave `buf` untouched;
    /// [`FrameError::Authentication`] leaves it unspecified.
    pub fn open<B: FrameBuffer + ?Sized>(
        &mut self,
        metadata: &[u8],
        buf: &mut B,
    ) -> Result<Opened, FrameError> {
        let frame = buf.as_slice();
        let (header, h) = Header::decode(frame)?;
        let Header { kid, ctr } = header;
        let rk = self.keys.get_mut(&kid).ok_or(FrameError::UnknownKid(kid))?;
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
        let mut hbytes = [0u8; MAX_HEADER_LEN];
        hbytes[..h].copy_from_slice(&frame[..h]);
        let aad: &[u8] = if metadata.is_empty() {
            &hbytes[..h]
        } else {
            self.aad.clear();
            self.aad.extend_from_slice(&hbytes[..h]);
            self.aad.extend_from_slice(metadata);
            &self.aad
        };
        let nonce = key::nonce(&rk.salt, ctr);
        let pt_len = rk
            .aead
            .open_within(&nonce, aad, buf.as_mut_slice(), h)
            .map_err(|_| FrameError::Authentication)?;
        rk.window.commit(ctr);
        buf.resize_to(pt_len);
        Ok(Opened { kid, ctr })
    }
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("Opener")
            .field("kids", &kids)
            .field("replay_window", &self.window)
            .finish_non_exhaustive()
    }
}
