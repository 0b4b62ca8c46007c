//! The wire format of the three file messages (SPEC §11.2.1): building their payloads on the
//! sending side and splitting off the transfer id on the receiving side.

use super::{FileError, MAX_FILE_NAME, TRANSFER_ID_LEN, TransferId};

/// `FileStart` payload.
pub(crate) fn encode_start(id: &TransferId, size: u64, name: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(TRANSFER_ID_LEN + 9 + name.len());
    p.extend_from_slice(id);
    p.extend_from_slice(&size.to_be_bytes());
    // The caller checked 1..=MAX_FILE_NAME bytes.
    p.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    p.extend_from_slice(name.as_bytes());
    p
}

/// `FileChunk` payload.
pub(crate) fn encode_chunk(id: &TransferId, bytes: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(TRANSFER_ID_LEN + bytes.len());
    p.extend_from_slice(id);
    p.extend_from_slice(bytes);
    p
}

/// `FileEnd` payload.
pub(crate) fn encode_end(id: &TransferId, sha256: &[u8; 32]) -> Vec<u8> {
    let mut p = Vec::with_capacity(TRANSFER_ID_LEN + 32);
    p.extend_from_slice(id);
    p.extend_from_slice(sha256);
    p
}

/// Checks a file name for sending: 1..=[`MAX_FILE_NAME`] bytes.
pub(crate) fn check_name(name: &str) -> Result<(), FileError> {
    if name.is_empty() || name.len() > MAX_FILE_NAME {
        return Err(FileError::BadName);
    }
    Ok(())
}

pub(super) fn id_of(p: &[u8]) -> Result<(TransferId, &[u8]), FileError> {
    let (id, rest) = p
        .split_first_chunk::<TRANSFER_ID_LEN>()
        .ok_or(FileError::Malformed)?;
    Ok((*id, rest))
}
