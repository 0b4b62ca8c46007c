//! Blob demultiplexing (SPEC §11.1). Every blob a client receives (`Deliver { from, blob }`,
//! SPEC §6.3) is classified by its sender id and first byte, with no overlap:
//!
//! | from | first byte | meaning |
//! |------|------------|---------|
//! | 0 (the relay) | `0xA1` | key service `Issued` (transport mode, SPEC §12) |
//! | 0 | anything else | refused |
//! | ≠ 0 | `0x01` | hush-group message (its version byte, SPEC §8.2); the whole blob |
//! | ≠ 0 | `0xD1` | sealed data message: `0xD1 ‖ SFrame frame` |
//! | ≠ 0 | `0xD2` | signed sealed data message (sender authentication, SPEC §14.3) |
//! | ≠ 0 | anything else | refused |

/// First byte of a hush-group message (hush-group's `VERSION`).
pub const CLASS_GROUP: u8 = hush_group::message::VERSION;
/// First byte of a sealed data message.
pub const CLASS_DATA: u8 = 0xD1;
/// First byte of a signed sealed data message (SPEC §14.3).
pub const CLASS_SIGNED_DATA: u8 = 0xD2;
/// First byte of the key service's `Issued` (only from participant 0).
pub const CLASS_ISSUED: u8 = hush_group::issued::ISSUED_TYPE;

/// What a received blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobClass {
    /// A hush-group message from a participant.
    Group,
    /// A sealed data message from a participant, signed (`0xD2`) or not (`0xD1`).
    Data,
    /// The key service's `Issued` (from participant 0).
    Issued,
    /// Anything else: refused.
    Unknown,
}

/// Classifies a blob by sender id and first byte (SPEC §11.1).
pub fn classify(from: u64, blob: &[u8]) -> BlobClass {
    match (from, blob.first()) {
        (0, Some(&CLASS_ISSUED)) => BlobClass::Issued,
        (0, _) => BlobClass::Unknown,
        (_, Some(&CLASS_GROUP)) => BlobClass::Group,
        (_, Some(&CLASS_DATA | &CLASS_SIGNED_DATA)) => BlobClass::Data,
        _ => BlobClass::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_do_not_overlap() {
        assert_eq!(classify(0, &[CLASS_ISSUED, 1]), BlobClass::Issued);
        assert_eq!(classify(0, &[CLASS_GROUP, 1]), BlobClass::Unknown);
        assert_eq!(classify(0, &[CLASS_DATA]), BlobClass::Unknown);
        assert_eq!(classify(0, &[]), BlobClass::Unknown);
        assert_eq!(classify(5, &[CLASS_GROUP, 2]), BlobClass::Group);
        assert_eq!(classify(5, &[CLASS_DATA, 0]), BlobClass::Data);
        assert_eq!(classify(5, &[CLASS_SIGNED_DATA, 0]), BlobClass::Data);
        assert_eq!(classify(0, &[CLASS_SIGNED_DATA, 0]), BlobClass::Unknown);
        assert_eq!(classify(5, &[CLASS_ISSUED]), BlobClass::Unknown);
        assert_eq!(classify(5, &[]), BlobClass::Unknown);
    }
}
