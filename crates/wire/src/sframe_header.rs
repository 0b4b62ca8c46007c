//! The SFrame header codec (RFC 9605 §4.3; SPEC §2).
//!
//! It lives in `hush-wire`, a crate with no cryptography, because the relay reads the key id
//! (KID) and counter (CTR) of every frame for its knowledge report (SPEC §5) and must not link
//! the frame cipher. `hush-frame` re-exports it.
//!
//! ```text
//!   0 1 2 3 4 5 6 7
//!  +-+-+-+-+-+-+-+-+---------------+---------------+
//!  |X|  K  |Y|  C  |  KID (KLEN)   |  CTR (CLEN)   |
//!  +-+-+-+-+-+-+-+-+---------------+---------------+
//! ```
//!
//! `X = 0`: `K` is the KID itself (0..=7) and no KID bytes follow. `X = 1`: `K + 1` is KLEN, the
//! number of big-endian KID bytes that follow (1..=8). `Y`/`C`/CLEN work the same for CTR, whose
//! bytes come after the KID's.
//!
//! Values are encoded compactly, exactly one way: a value in 0..=7 goes in the config byte, a
//! larger one in the fewest bytes that hold it. [`decode`](Header::decode) refuses any other
//! encoding ([`HeaderError::NonMinimalKid`], [`HeaderError::NonMinimalCtr`]), so a (KID, CTR)
//! pair has one header and the header, which is authenticated as AAD, cannot be re-encoded.

/// The longest possible header: the config byte, 8 KID bytes and 8 CTR bytes.
pub const MAX_HEADER_LEN: usize = 17;

/// A decoded SFrame header: which key sealed the frame and with which counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Key id (KID): names the sender's key.
    pub kid: u64,
    /// Frame counter (CTR): unique per frame under one key.
    pub ctr: u64,
}

/// Why a header could not be decoded or encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The input ends before the header does (including an empty input).
    #[error("SFrame header truncated: needs {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the config byte announces.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// The KID is not in its one compact encoding (extended form for 0..=7, or a leading zero
    /// byte).
    #[error("SFrame header KID is not minimally encoded")]
    NonMinimalKid,
    /// The CTR is not in its one compact encoding (extended form for 0..=7, or a leading zero
    /// byte).
    #[error("SFrame header CTR is not minimally encoded")]
    NonMinimalCtr,
    /// The output buffer given to [`Header::encode`] is shorter than [`Header::encoded_len`].
    #[error("output buffer too small for the SFrame header: needs {needed} bytes, has {available}")]
    BufferTooSmall {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
}

/// Bytes needed to hold `v` in the extended form (`v >= 8`).
fn value_len(v: u64) -> usize {
    // v >= 8, so at least one byte; leading_zeros <= 60.
    8 - (v.leading_zeros() as usize / 8)
}

impl Header {
    /// A header for `kid` and `ctr`.
    pub const fn new(kid: u64, ctr: u64) -> Self {
        Self { kid, ctr }
    }

    /// Length of the encoded header in bytes (1..=[`MAX_HEADER_LEN`]).
    pub fn encoded_len(&self) -> usize {
        let k = if self.kid < 8 { 0 } else { value_len(self.kid) };
        let c = if self.ctr < 8 { 0 } else { value_len(self.ctr) };
        1 + k + c
    }

    /// Encodes into the front of `out`, returning the number of bytes written.
    ///
    /// # Errors
    /// [`HeaderError::BufferTooSmall`] if `out` is shorter than [`encoded_len`](Self::encoded_len).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, HeaderError> {
        let needed = self.encoded_len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(HeaderError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        };
        let mut config = 0u8;
        let mut pos = 1;
        if self.kid < 8 {
            config |= (self.kid as u8) << 4;
        } else {
            let n = value_len(self.kid);
            config |= 0x80 | (((n - 1) as u8) << 4);
            out[pos..pos + n].copy_from_slice(&self.kid.to_be_bytes()[8 - n..]);
            pos += n;
        }
        if self.ctr < 8 {
            config |= self.ctr as u8;
        } else {
            let n = value_len(self.ctr);
            config |= 0x08 | ((n - 1) as u8);
            out[pos..pos + n].copy_from_slice(&self.ctr.to_be_bytes()[8 - n..]);
        }
        out[0] = config;
        Ok(needed)
    }

    /// Encodes into a fixed array; the header is `array[..len]`.
    pub fn to_array(&self) -> ([u8; MAX_HEADER_LEN], usize) {
        let mut out = [0u8; MAX_HEADER_LEN];
        // MAX_HEADER_LEN always suffices.
        let len = self.encode(&mut out).unwrap_or(0);
        (out, len)
    }

    /// Decodes the header at the front of `input`, returning it and its length in bytes. Bytes
    /// after the header (the ciphertext) are not looked at.
    ///
    /// # Errors
    /// [`HeaderError::Truncated`] if `input` ends inside the header;
    /// [`HeaderError::NonMinimalKid`] / [`HeaderError::NonMinimalCtr`] for a non-compact value.
    pub fn decode(input: &[u8]) -> Result<(Self, usize), HeaderError> {
        let Some(&config) = input.first() else {
            return Err(HeaderError::Truncated {
                needed: 1,
                available: 0,
            });
        };
        let k = (config >> 4) & 0x07;
        let c = config & 0x07;
        let klen = if config & 0x80 != 0 {
            k as usize + 1
        } else {
            0
        };
        let clen = if config & 0x08 != 0 {
            c as usize + 1
        } else {
            0
        };
        let needed = 1 + klen + clen;
        if input.len() < needed {
            return Err(HeaderError::Truncated {
                needed,
                available: input.len(),
            });
        }
        let kid = if klen == 0 {
            u64::from(k)
        } else {
            read_compact(&input[1..1 + klen]).ok_or(HeaderError::NonMinimalKid)?
        };
        let ctr = if clen == 0 {
            u64::from(c)
        } else {
            read_compact(&input[1 + klen..needed]).ok_or(HeaderError::NonMinimalCtr)?
        };
        Ok((Self { kid, ctr }, needed))
    }
}

/// Reads a big-endian extended-form value (1..=8 bytes); `None` if not its minimal encoding.
fn read_compact(bytes: &[u8]) -> Option<u64> {
    if bytes.first() == Some(&0) {
        return None;
    }
    let v = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (v >= 8).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_forms() {
        assert_eq!(Header::new(0, 0).to_array().1, 1);
        let (buf, len) = Header::new(0x123, 0x4567).to_array();
        assert_eq!(&buf[..len], &[0x99, 0x01, 0x23, 0x45, 0x67]);
        assert_eq!(
            Header::decode(&buf[..len]),
            Ok((Header::new(0x123, 0x4567), 5))
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            Header::decode(&[]),
            Err(HeaderError::Truncated { .. })
        ));
        assert!(matches!(
            Header::decode(&[0x99, 1, 2, 3]),
            Err(HeaderError::Truncated { .. })
        ));
        assert_eq!(
            Header::decode(&[0x80, 0x05]),
            Err(HeaderError::NonMinimalKid)
        );
        assert_eq!(
            Header::decode(&[0x90, 0x00, 0x09]),
            Err(HeaderError::NonMinimalKid)
        );
        assert_eq!(
            Header::decode(&[0x08, 0x07]),
            Err(HeaderError::NonMinimalCtr)
        );
        assert_eq!(
            Header::decode(&[0x09, 0x00, 0xff]),
            Err(HeaderError::NonMinimalCtr)
        );
        let mut small = [0u8; 2];
        assert!(matches!(
            Header::new(1000, 0).encode(&mut small),
            Err(HeaderError::BufferTooSmall {
                needed: 3,
                available: 2
            })
        ));
    }

    #[test]
    fn every_value_length_round_trips() {
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let h = Header::new(v, v.rotate_left(7));
                let (buf, len) = h.to_array();
                assert_eq!(len, h.encoded_len());
                assert_eq!(Header::decode(&buf[..len]), Ok((h, len)));
            }
        }
    }
}
