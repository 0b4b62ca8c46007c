//! The recording container (SPEC §13.4), the connector's "cloud recording": a 9-byte file header
//! (`"HUSHCREC"`, version `0x01`), then one record per decrypted media frame or data message:
//! type, data kind, time, sender index, epoch, sender name, payload (integers big-endian).
//! Plaintext by nature: unlike a client's local recording (SPEC §11.6) nothing here is
//! encrypted, because its reader is a system outside the meeting.
//!
//! Sans-IO: [`Record::encode`] appends to a caller buffer; [`read_records`] parses a whole file.

use hush_wire::reader::{ReadError, Reader};

use crate::error::ConnectorError;

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"HUSHCREC";
/// The format version, the 9th byte.
pub const VERSION: u8 = 0x01;
/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 9;
/// Record type: a media frame.
pub const TYPE_MEDIA: u8 = 0x01;
/// Record type: a data message (chat, reaction, poll, file chunk; SPEC §11.2).
pub const TYPE_DATA: u8 = 0x02;
/// Bytes of a record before its name: type, kind, time, sender, epoch, name length.
const FIXED_LEN: usize = 1 + 1 + 8 + 2 + 8 + 1;

/// Writes the file header.
pub fn file_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
}

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// A media frame's payload.
    Media,
    /// A data message: its kind byte (SPEC §11.2) and payload.
    Data(u8),
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Media or data.
    pub kind: RecordKind,
    /// When the connector opened it: microseconds since the Unix epoch.
    pub time_us: u64,
    /// Sender's index in the roster of `epoch`.
    pub sender: u16,
    /// The epoch it was sealed in.
    pub epoch: u64,
    /// Sender's display name (at most 255 bytes of UTF-8; longer names are cut at a character
    /// boundary).
    pub sender_name: String,
    /// The plaintext.
    pub payload: Vec<u8>,
}

/// Borrowed parts of a record, for writing without copying the payload.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Media or data.
    pub kind: RecordKind,
    /// Microseconds since the Unix epoch.
    pub time_us: u64,
    /// Sender's roster index.
    pub sender: u16,
    /// Epoch.
    pub epoch: u64,
    /// Sender's display name.
    pub sender_name: &'a str,
    /// The plaintext.
    pub payload: &'a [u8],
}

fn cut_name(name: &str) -> &str {
    let mut end = name.len().min(255);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or_default()
}

impl RecordRef<'_> {
    /// Appends the record.
    ///
    /// # Errors
    /// [`ConnectorError::PayloadTooLarge`] for a payload over `u32::MAX` bytes.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ConnectorError> {
        let len = u32::try_from(self.payload.len())
            .map_err(|_| ConnectorError::PayloadTooLarge(self.payload.len()))?;
        let name = cut_name(self.sender_name);
        let (ty, kind) = match self.kind {
            RecordKind::Media => (TYPE_MEDIA, 0),
            RecordKind::Data(k) => (TYPE_DATA, k),
        };
        out.reserve(FIXED_LEN + name.len() + 4 + self.payload.len());
        out.push(ty);
        out.push(kind);
        out.extend_from_slice(&self.time_us.to_be_bytes());
        out.extend_from_slice(&self.sender.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.push(name.len() as u8); // cut_name keeps it at most 255
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(self.payload);
        Ok(())
    }
}

impl Record {
    /// Appends the record.
    ///
    /// # Errors
    /// As [`RecordRef::encode`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ConnectorError> {
        RecordRef {
            kind: self.kind,
            time_us: self.time_us,
            sender: self.sender,
            epoch: self.epoch,
            sender_name: &self.sender_name,
            payload: &self.payload,
        }
        .encode(out)
    }
}

/// A cut-off field of a record: the recording ends inside it.
fn truncated(_: ReadError) -> ConnectorError {
    ConnectorError::MalformedRecording("truncated record")
}

/// Parses a whole recording.
///
/// # Errors
/// [`ConnectorError::MalformedRecording`]: wrong magic or version, an unknown record type, a
/// media record with a non-zero kind byte, a name that is not UTF-8, or a truncated record
/// (a recording cut off by a crash ends in one; the records before it can be read with
/// [`read_records_lenient`]).
pub fn read_records(file: &[u8]) -> Result<Vec<Record>, ConnectorError> {
    let (records, err) = read_records_lenient(file);
    match err {
        Some(e) => Err(e),
        None => Ok(records),
    }
}

/// Parses a recording up to its first malformed record; returns the records before it and the
/// error, if any.
pub fn read_records_lenient(file: &[u8]) -> (Vec<Record>, Option<ConnectorError>) {
    let mut out = Vec::new();
    let Some(rest) = file.strip_prefix(&MAGIC[..]) else {
        return (
            out,
            Some(ConnectorError::MalformedRecording(
                "not a connector recording",
            )),
        );
    };
    let Some((&VERSION, rest)) = rest.split_first() else {
        return (
            out,
            Some(ConnectorError::MalformedRecording("unknown version")),
        );
    };
    let mut c = Reader::new(rest);
    while c.remaining() > 0 {
        match read_one(&mut c) {
            Ok(r) => out.push(r),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

fn read_one(c: &mut Reader<'_>) -> Result<Record, ConnectorError> {
    let [ty, kind] = c.array::<2>().map_err(truncated)?;
    let kind = match (ty, kind) {
        (TYPE_MEDIA, 0) => RecordKind::Media,
        (TYPE_MEDIA, _) => {
            return Err(ConnectorError::MalformedRecording(
                "media record with a kind",
            ));
        }
        (TYPE_DATA, k) => RecordKind::Data(k),
        _ => return Err(ConnectorError::MalformedRecording("unknown record type")),
    };
    let time_us = c.u64().map_err(truncated)?;
    let sender = c.u16().map_err(truncated)?;
    let epoch = c.u64().map_err(truncated)?;
    let name = std::str::from_utf8(c.prefixed8().map_err(truncated)?)
        .map_err(|_| ConnectorError::MalformedRecording("sender name is not UTF-8"))?;
    let len = c.u32().map_err(truncated)?;
    let payload = c.take(len as usize).map_err(truncated)?.to_vec();
    Ok(Record {
        kind,
        time_us,
        sender,
        epoch,
        sender_name: name.to_owned(),
        payload,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(records: &[Record]) -> Vec<u8> {
        let mut out = Vec::new();
        file_header(&mut out);
        for r in records {
            r.encode(&mut out).unwrap();
        }
        out
    }

    fn sample() -> Record {
        Record {
            kind: RecordKind::Data(0x01),
            time_us: 0x0102_0304_0506_0708,
            sender: 0x0A0B,
            epoch: 3,
            sender_name: "Al".into(),
            payload: b"hey".to_vec(),
        }
    }

    #[test]
    fn layout_is_exact() {
        let f = file(&[sample()]);
        let expect: Vec<u8> = [
            &b"HUSHCREC\x01"[..],
            &[0x02, 0x01],
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[0x0A, 0x0B],
            &[0, 0, 0, 0, 0, 0, 0, 3],
            &[2],
            b"Al",
            &[0, 0, 0, 3],
            b"hey",
        ]
        .concat();
        assert_eq!(f, expect);
    }

    #[test]
    fn malformed_files_are_refused() {
        let good = file(&[sample()]);
        assert!(read_records(b"HUSHCREX\x01").is_err());
        assert!(read_records(b"HUSHCREC\x02").is_err());
        assert!(read_records(b"HUSHCREC").is_err());
        for cut in FILE_HEADER_LEN + 1..good.len() {
            let (ok, err) = read_records_lenient(&good[..cut]);
            assert!(ok.is_empty() && err.is_some(), "cut at {cut}");
        }
        let mut bad = good.clone();
        bad[FILE_HEADER_LEN] = 0x03;
        assert!(read_records(&bad).is_err());
        let mut bad = good.clone();
        bad[FILE_HEADER_LEN] = TYPE_MEDIA; // media with kind 0x01
        assert!(read_records(&bad).is_err());
        let mut bad = good;
        bad[FILE_HEADER_LEN + 21] = 0xFF; // name byte
        assert!(read_records(&bad).is_err());
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let mut r = sample();
        r.sender_name = "é".repeat(200); // 400 bytes
        let back = read_records(&file(&[r])).unwrap().remove(0);
        assert_eq!(back.sender_name, "é".repeat(127));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip(
            recs in proptest::collection::vec(
                (any::<bool>(), any::<u8>(), any::<u64>(), any::<u16>(), any::<u64>(),
                 "[a-zA-Z ]{0,40}", proptest::collection::vec(any::<u8>(), 0..300)),
                0..8),
        ) {
            let recs: Vec<Record> = recs.into_iter().map(|(m, k, t, s, e, n, p)| Record {
                kind: if m { RecordKind::Media } else { RecordKind::Data(k) },
                time_us: t, sender: s, epoch: e, sender_name: n, payload: p,
            }).collect();
            prop_assert_eq!(read_records(&file(&recs)).unwrap(), recs);
        }
    }
}
