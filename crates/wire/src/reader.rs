//! The one byte reader of hush's codecs: a bounds-checked cursor over a byte slice that reads
//! big-endian integers, fixed arrays and length-prefixed byte strings front to back.
//!
//! Every read returns a [`ReadError`] instead of panicking, and [`Reader::finish`] refuses
//! trailing bytes, so a decoder built on it is total. Each codec maps [`ReadError`] into its own
//! error type (`From` impls): this crate's [`WireError`], hush-group's `DecodeError`, and so on.
//! Strings are the caller's business: the reader hands out bytes, the codec checks UTF-8.
//!
//! ```
//! use hush_wire::reader::{ReadError, Reader};
//!
//! let mut r = Reader::new(&[0x01, 0x02, 0x00, 0x02, b'h', b'i', 0xff]);
//! assert_eq!(r.u16(), Ok(0x0102));
//! assert_eq!(r.prefixed16(), Ok(&b"hi"[..]));
//! assert_eq!(r.finish(), Err(ReadError::TrailingBytes(1)));
//! assert_eq!(r.u16(), Err(ReadError::Truncated));
//! ```

use crate::WireError;

/// Why a [`Reader`] refused a read. Deliberately exhaustive: a codec's mapping into its own
/// error type names every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The input ended before the field did.
    #[error("input truncated")]
    Truncated,
    /// Bytes remained after the last field ([`Reader::finish`]).
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// A length prefix announces more than the field allows ([`Reader::prefixed16_max`]).
    #[error("field of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
}

/// A cursor over a byte slice. Reads consume from the front; a failed read consumes nothing.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or(ReadError::Truncated)?;
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let (head, tail) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or(ReadError::Truncated)?;
        self.buf = tail;
        Ok(*head)
    }

    /// A `u8`.
    pub fn u8(&mut self) -> Result<u8, ReadError> {
        let [b] = self.array()?;
        Ok(b)
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, ReadError> {
        self.array().map(u16::from_be_bytes)
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, ReadError> {
        self.array().map(u32::from_be_bytes)
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, ReadError> {
        self.array().map(u64::from_be_bytes)
    }

    /// A byte string after a `u8` length.
    pub fn prefixed8(&mut self) -> Result<&'a [u8], ReadError> {
        self.prefixed(|r| r.u8().map(usize::from), usize::MAX)
    }

    /// A byte string after a big-endian `u16` length.
    pub fn prefixed16(&mut self) -> Result<&'a [u8], ReadError> {
        self.prefixed16_max(usize::MAX)
    }

    /// A byte string after a big-endian `u16` length of at most `max`
    /// ([`ReadError::TooLarge`] before reading the bytes otherwise).
    pub fn prefixed16_max(&mut self, max: usize) -> Result<&'a [u8], ReadError> {
        self.prefixed(|r| r.u16().map(usize::from), max)
    }

    fn prefixed(
        &mut self,
        len: impl FnOnce(&mut Self) -> Result<usize, ReadError>,
        max: usize,
    ) -> Result<&'a [u8], ReadError> {
        let mut r = self.clone();
        let n = len(&mut r)?;
        if n > max {
            return Err(ReadError::TooLarge { len: n, max });
        }
        let bytes = r.take(n)?;
        *self = r;
        Ok(bytes)
    }

    /// Everything not read yet (the reader is then empty).
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// `Ok` if every byte was read, else [`ReadError::TrailingBytes`].
    pub fn finish(&self) -> Result<(), ReadError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(ReadError::TrailingBytes(n)),
        }
    }
}

impl From<ReadError> for WireError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Truncated => WireError::Truncated,
            ReadError::TrailingBytes(n) => WireError::TrailingBytes(n),
            ReadError::TooLarge { len, max } => WireError::TooLarge { len, max },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u32(), Ok(3));
        assert_eq!(r.u64(), Ok(4));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn a_failed_read_consumes_nothing() {
        let mut r = Reader::new(&[0, 3, b'a', b'b']);
        assert_eq!(r.prefixed16(), Err(ReadError::Truncated));
        assert_eq!(r.u64(), Err(ReadError::Truncated));
        assert_eq!(
            r.prefixed16_max(2),
            Err(ReadError::TooLarge { len: 3, max: 2 })
        );
        assert_eq!(r.remaining(), 4);
        assert_eq!(r.prefixed8(), Ok(&[][..]));
        assert_eq!(r.prefixed8(), Err(ReadError::Truncated));
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.take(3), Ok(&[3, b'a', b'b'][..]));
        assert_eq!(r.take(1), Err(ReadError::Truncated));
        assert_eq!(r.rest(), &[][..]);
    }

    #[test]
    fn finish_counts_trailing_bytes() {
        let mut r = Reader::new(&[9, 8, 7]);
        assert_eq!(r.array::<1>(), Ok([9]));
        assert_eq!(r.finish(), Err(ReadError::TrailingBytes(2)));
        assert_eq!(r.rest(), &[8, 7][..]);
        assert_eq!(r.finish(), Ok(()));
    }
}
