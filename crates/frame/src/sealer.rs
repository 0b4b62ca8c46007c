//! The sending side: one key, one counter (SPEC §2, §4.1).

use std::fmt;

use hush_wire::sframe_header::{Header, MAX_HEADER_LEN};

use crate::buffer::FrameBuffer;
use crate::key::{self, BaseKey, FrameKey};
use crate::{CipherSuite, FrameError};

/// Seals frames under one sender key. Owns the key and its counter; not `Clone`.
///
/// Counters start at 0 (or [`starting_at`](Self::starting_at)) and go up by one per frame;
/// a counter is never reused. When the key's frame limit or the counter space is used up,
/// [`seal`](Self::seal) returns [`FrameError::KeyExhausted`]: it never wraps.
pub struct Sealer {
    suite: CipherSuite,
    kid: u64,
    key: FrameKey,
    next_ctr: u64,
    /// Set once the frame with counter `u64::MAX` is sealed.
    ctr_done: bool,
    remaining: u64,
    aad: Vec<u8>,
}

impl Sealer {
    /// A sealer for `kid` under `base_key`, expanding the AEAD key once, here.
    pub fn new(suite: CipherSuite, kid: u64, base_key: BaseKey) -> Self {
        Self {
            suite,
            kid,
            key: FrameKey::new(suite, kid, &base_key),
            next_ctr: 0,
            ctr_done: false,
            remaining: suite.max_frames_per_key(),
            aad: Vec::new(),
        }
    }

    /// Lowers the number of frames this key may seal (never above the suite's
    /// [`max_frames_per_key`](CipherSuite::max_frames_per_key)).
    #[must_use]
    pub fn with_frame_limit(mut self, frames: u64) -> Self {
        self.remaining = self.remaining.min(frames);
        self
    }

    /// Starts the counter at `ctr` instead of 0 (e.g. for `hush frame seal --ctr`).
    #[must_use]
    pub fn starting_at(mut self, ctr: u64) -> Self {
        self.next_ctr = ctr;
        self
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The key id written in every header.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// The counter the next frame will carry.
    pub fn next_counter(&self) -> u64 {
        self.next_ctr
    }

    /// How many more frames this key can seal; rekey before it reaches 0.
    pub fn frames_remaining(&self) -> u64 {
        if self.ctr_done {
            return 0;
        }
        let ctr_room = (u64::MAX - self.next_ctr).saturating_add(1);
        self.remaining.min(ctr_room)
    }

    /// Seals `buf` in place: on entry it holds the plaintext, on return
    /// `header || ciphertext || tag`. `metadata` is authenticated (AAD = header || metadata)
    /// but neither encrypted nor written to `buf`. Returns the header used.
    ///
    /// The plaintext has to move up by the header's length (one `memmove`);
    /// [`seal_into`](Self::seal_into) writes it once, straight to its place.
    ///
    /// # Errors
    /// [`FrameError::KeyExhausted`] when no frame is left on this key (the buffer is untouched);
    /// [`FrameError::TooLarge`] if the AEAD refuses the length (the buffer is then unspecified).
    #[inline]
    pub fn seal<B: FrameBuffer + ?Sized>(
        &mut self,
        metadata: &[u8],
        buf: &mut B,
    ) -> Result<Header, FrameError> {
        let (header, hbytes, h) = self.next_header()?;
        let t = self.suite.tag_len();
        let n = buf.as_slice().len();
        buf.resize_to(h + n + t);
        let frame = buf.as_mut_slice();
        frame.copy_within(0..n, h);
        frame[..h].copy_from_slice(&hbytes[..h]);
        self.seal_laid_out(header, metadata, frame, h)
    }

    /// Seals a copy of `plaintext` into `out`, replacing whatever `out` held: on return `out`
    /// is `header || ciphertext || tag`. Same frame, counter and errors as [`seal`](Self::seal)
    /// (on [`FrameError::KeyExhausted`] `out` is untouched); the plaintext is copied once, to
    /// its final place, and `out` keeps its allocation from frame to frame.
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    #[inline]
    pub fn seal_into<B: FrameBuffer + ?Sized>(
        &mut self,
        metadata: &[u8],
        plaintext: &[u8],
        out: &mut B,
    ) -> Result<Header, FrameError> {
        let (header, hbytes, h) = self.next_header()?;
        out.assign(&hbytes[..h], plaintext, self.suite.tag_len());
        self.seal_laid_out(header, metadata, out.as_mut_slice(), h)
    }

    /// The next frame's header, or [`FrameError::KeyExhausted`]. Changes nothing.
    #[inline]
    fn next_header(&self) -> Result<(Header, [u8; MAX_HEADER_LEN], usize), FrameError> {
        if self.frames_remaining() == 0 {
            return Err(FrameError::KeyExhausted);
        }
        let header = Header::new(self.kid, self.next_ctr);
        let (hbytes, h) = header.to_array();
        Ok((header, hbytes, h))
    }

    /// `frame` is `header (h bytes) || plaintext || tag room`: encrypts the plaintext in place,
    /// writes the tag, and spends the counter.
    #[inline]
    fn seal_laid_out(
        &mut self,
        header: Header,
        metadata: &[u8],
        frame: &mut [u8],
        h: usize,
    ) -> Result<Header, FrameError> {
        let t = self.suite.tag_len();
        let (hdr, rest) = frame.split_at_mut(h);
        let n = rest.len().checked_sub(t).ok_or(FrameError::TooLarge)?;
        let aad = key::aad(&mut self.aad, hdr, metadata);
        let nonce = self.key.nonce(header.ctr);
        let (data, tag) = rest.split_at_mut(n);
        self.key
            .aead
            .seal(&nonce, aad, data, tag)
            .map_err(|_| FrameError::TooLarge)?;
        self.remaining -= 1;
        match self.next_ctr.checked_add(1) {
            Some(c) => self.next_ctr = c,
            None => self.ctr_done = true,
        }
        Ok(header)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("suite", &self.suite)
            .field("kid", &self.kid)
            .field("next_ctr", &self.next_ctr)
            .field("frames_remaining", &self.frames_remaining())
            .finish_non_exhaustive()
    }
}
