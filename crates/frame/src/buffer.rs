//! The in-place buffer trait: a frame is sealed and opened inside the caller's buffer.

use bytes::Buf;

/// A growable byte buffer that frames are sealed and opened in place.
///
/// Implemented for `Vec<u8>` and `bytes::BytesMut`. Once the buffer's capacity covers the
/// largest frame (plaintext + up to 17 header bytes + 16 tag bytes), sealing and opening
/// allocate nothing.
///
/// Only the first three methods are required; the others have correct default bodies written
/// in terms of them, which implementations override where the buffer can do better (for
/// `BytesMut`, dropping the header after opening is O(1) instead of a `memmove`).
pub trait FrameBuffer {
    /// The bytes currently in the buffer.
    fn as_slice(&self) -> &[u8];
    /// The bytes currently in the buffer, mutably.
    fn as_mut_slice(&mut self) -> &mut [u8];
    /// Sets the length: grows with zero bytes, or truncates.
    fn resize_to(&mut self, len: usize);

    /// Keeps only the bytes `start..start + len`, which end up at the front of the buffer
    /// (the opener uses it to drop the header and the tag around the plaintext).
    ///
    /// The default moves the bytes (`memmove`); `BytesMut` advances its start instead.
    ///
    /// # Panics
    /// If `start + len` is past the end of the buffer (callers in this crate never do that).
    #[inline]
    fn keep_range(&mut self, start: usize, len: usize) {
        if start != 0 {
            self.as_mut_slice().copy_within(start..start + len, 0);
        }
        self.resize_to(len);
    }

    /// Replaces the contents with `head || body || zeros` (`zeros` zero bytes): the sealer uses
    /// it to lay out `header || plaintext || room for the tag` in one pass.
    ///
    /// The default resizes (zero-filling what grows) and copies; `Vec` and `BytesMut` clear and
    /// append, so the plaintext is written once and never zero-filled first.
    #[inline]
    fn assign(&mut self, head: &[u8], body: &[u8], zeros: usize) {
        let (h, n) = (head.len(), body.len());
        self.resize_to(h + n + zeros);
        let s = self.as_mut_slice();
        s[..h].copy_from_slice(head);
        s[h..h + n].copy_from_slice(body);
        s[h + n..].fill(0);
    }
}

impl FrameBuffer for Vec<u8> {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        self
    }
    #[inline]
    fn as_mut_slice(&mut self) -> &mut [u8] {
        self
    }
    #[inline]
    fn resize_to(&mut self, len: usize) {
        self.resize(len, 0);
    }
    #[inline]
    fn assign(&mut self, head: &[u8], body: &[u8], zeros: usize) {
        self.clear();
        self.reserve(head.len() + body.len() + zeros);
        self.extend_from_slice(head);
        self.extend_from_slice(body);
        self.resize(self.len() + zeros, 0);
    }
}

impl FrameBuffer for bytes::BytesMut {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        self
    }
    #[inline]
    fn as_mut_slice(&mut self) -> &mut [u8] {
        self
    }
    #[inline]
    fn resize_to(&mut self, len: usize) {
        self.resize(len, 0);
    }
    #[inline]
    fn keep_range(&mut self, start: usize, len: usize) {
        // O(1): the bytes before `start` stay in the allocation until a later `reserve`
        // reclaims them (without allocating, when the buffer is not shared).
        self.truncate(start + len);
        self.advance(start);
    }
    #[inline]
    fn assign(&mut self, head: &[u8], body: &[u8], zeros: usize) {
        self.clear();
        self.reserve(head.len() + body.len() + zeros);
        self.extend_from_slice(head);
        self.extend_from_slice(body);
        self.resize(self.len() + zeros, 0);
    }
}
