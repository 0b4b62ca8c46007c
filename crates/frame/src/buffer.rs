//! The in-place buffer trait: a frame is sealed and opened inside the caller's buffer.

/// A growable byte buffer that frames are sealed and opened in place.
///
/// Implemented for `Vec<u8>` and `bytes::BytesMut`. Once the buffer's capacity covers the
/// largest frame (plaintext + up to 17 header bytes + 16 tag bytes), sealing and opening
/// allocate nothing.
pub trait FrameBuffer {
    /// The bytes currently in the buffer.
    fn as_slice(&self) -> &[u8];
    /// The bytes currently in the buffer, mutably.
    fn as_mut_slice(&mut self) -> &mut [u8];
    /// Sets the length: grows with zero bytes, or truncates.
    fn resize_to(&mut self, len: usize);
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
}
