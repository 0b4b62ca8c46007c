//! Byte readers and writers for the message layouts of SPEC §8.2: big-endian integers and
//! byte strings prefixed by a 16-bit length. Reading is hush-wire's [`Reader`] (never panics,
//! rejects trailing bytes), its errors mapped into [`DecodeError`].

pub(crate) use hush_wire::reader::{ReadError, Reader};

use crate::error::DecodeError;

/// Appends fields to a message body.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// A byte string with a u16 length prefix. Callers bound lengths below 65536 beforehand;
    /// longer input is truncated to keep the writer total (never reached by hush's own types).
    pub(crate) fn var(&mut self, v: &[u8]) -> &mut Self {
        let len = u16::try_from(v.len()).unwrap_or(u16::MAX);
        self.u16(len);
        self.buf.extend_from_slice(&v[..usize::from(len)]);
        self
    }
}

/// A length-prefixed (`u16`) byte string that must be exactly `len` bytes long
/// ([`DecodeError::BadLength`] otherwise).
pub(crate) fn var_exact<'a>(r: &mut Reader<'a>, len: usize) -> Result<&'a [u8], DecodeError> {
    let v = r.prefixed16()?;
    if v.len() == len {
        Ok(v)
    } else {
        Err(DecodeError::BadLength)
    }
}

impl From<ReadError> for DecodeError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Truncated => DecodeError::Truncated,
            ReadError::TrailingBytes(_) => DecodeError::TrailingBytes,
            // Group fields have no maximum below their u16 prefix; never produced here.
            ReadError::TooLarge { .. } => DecodeError::BadLength,
        }
    }
}
