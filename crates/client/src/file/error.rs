//! Why a file message is refused.

/// Why a file message was refused. The transfer it belonged to, if any, is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Too short, or a bad name length.
    #[error("malformed file message")]
    Malformed,
    /// The file name is empty, longer than 255 bytes, or not UTF-8.
    #[error("bad file name")]
    BadName,
    /// The declared size is over the limit.
    #[error("file of {size} bytes is over the limit of {max}")]
    TooLarge {
        /// Declared size.
        size: u64,
        /// [`FileLimits::max_file_size`](super::FileLimits::max_file_size).
        max: u64,
    },
    /// The sender already has the most open transfers allowed.
    #[error("too many transfers open from this sender (at most {max})")]
    TooManyTransfers {
        /// [`FileLimits::max_transfers_per_sender`](super::FileLimits::max_transfers_per_sender).
        max: usize,
    },
    /// The sender's (or everyone's) open transfers would hold too many bytes.
    #[error("too many bytes in open transfers (at most {max})")]
    OverBudget {
        /// The limit hit.
        max: u64,
    },
    /// A `FileStart` for a transfer id this sender already has open.
    #[error("duplicate transfer id")]
    DuplicateTransfer,
    /// A chunk or end for no open transfer of this sender.
    #[error("no such transfer")]
    UnknownTransfer,
    /// More bytes than the declared size.
    #[error("more bytes than the declared {size}")]
    Overrun {
        /// Declared size.
        size: u64,
    },
    /// The end came before the declared size.
    #[error("{got} bytes of the declared {size}")]
    Incomplete {
        /// Declared size.
        size: u64,
        /// Received.
        got: u64,
    },
    /// The content's SHA-256 differs from the one in `FileEnd`.
    #[error("content hash mismatch")]
    HashMismatch,
}
