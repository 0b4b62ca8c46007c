//! Buffers received frames are opened in: quinn's own when unshared, else cut from an arena.

use bytes::{Bytes, BytesMut};

use super::Keys;

/// Size of the blocks received frames are copied into when quinn's buffer is shared (several
/// datagrams of one GRO batch live in one allocation): one allocation per block, not per frame.
/// A block is freed when the last frame cut from it is dropped.
pub(super) const ARENA_BLOCK: usize = 64 * 1024;

impl Keys {
    /// A mutable buffer holding `b`: quinn's own when nothing else shares it (no copy), else a
    /// copy cut from the arena.
    pub(super) fn to_mut(&mut self, b: Bytes) -> BytesMut {
        match b.try_into_mut() {
            Ok(m) => m,
            Err(shared) => self.join([&shared], shared.len()),
        }
    }

    /// `parts` (`len` bytes in all) copied one after the other into a buffer cut from the arena:
    /// one allocation per [`ARENA_BLOCK`] bytes, not per frame (the block is reused once every
    /// frame cut from it has been dropped).
    pub(super) fn join<'a>(
        &mut self,
        parts: impl IntoIterator<Item = &'a Bytes>,
        len: usize,
    ) -> BytesMut {
        if self.arena.capacity() < len {
            self.arena.reserve(ARENA_BLOCK.max(len));
        }
        for p in parts {
            self.arena.extend_from_slice(p);
        }
        self.arena.split()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::shared::Shared;

    #[test]
    fn unique_buffers_are_taken_as_they_are_shared_ones_are_copied_to_the_arena() {
        let mut k = Keys::new(Arc::new(Shared::new()));
        // Uniquely owned (quinn's buffer once nothing else refers to it): no copy.
        let b = Bytes::from(vec![1u8, 2, 3, 4]);
        let at = b.as_ptr();
        let m = k.to_mut(b);
        assert_eq!(m.as_ptr(), at);
        assert_eq!(&m[..], &[1, 2, 3, 4]);
        // Shared (another datagram of the same receive batch still alive): copied, contents
        // equal, the other holder unaffected.
        let shared = Bytes::from(vec![5u8; 100]);
        let other = shared.clone();
        let m1 = k.to_mut(shared);
        assert_ne!(m1.as_ptr(), other.as_ptr());
        assert_eq!(&m1[..], &other[..]);
        // Frames cut one after the other from the same arena block.
        let m2 = k.to_mut(other.clone());
        assert_eq!(m2.as_ptr(), m1.as_ptr().wrapping_add(100));
        // Parts of a stream-carried frame are joined in order.
        let parts = [Bytes::from_static(b"ab"), Bytes::from_static(b"cde")];
        let j = k.join(parts.iter(), 5);
        assert_eq!(&j[..], b"abcde");
        // A frame larger than a block gets a block of its own.
        let big = Bytes::from(vec![9u8; ARENA_BLOCK + 1]);
        let keep = big.clone();
        let j = k.to_mut(big);
        assert_eq!(j.len(), ARENA_BLOCK + 1);
        assert_eq!(&j[..], &keep[..]);
    }
}
