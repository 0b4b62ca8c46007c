//! The client's randomness: a ChaCha-based `StdRng` seeded from the operating system, owned by
//! one task (hush-group takes randomness as a parameter; SPEC §8).

use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};

use crate::error::MeetingError;

/// A cryptographically secure generator seeded from the OS.
pub(crate) fn os_rng() -> Result<StdRng, MeetingError> {
    StdRng::try_from_rng(&mut SysRng).map_err(|_| MeetingError::Random)
}
