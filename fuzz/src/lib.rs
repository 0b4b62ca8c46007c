//! Checks shared by the cargo-fuzz targets of hush (issue 7) and by the corpus-replay tests that
//! run in CI without nightly (`crates/{wire,frame,group}/tests/fuzz_replay.rs` include these
//! files with `#[path]`). Each check takes arbitrary bytes and panics only on a real bug: a
//! decoder panic, a round trip that does not hold, or a state machine breaking an invariant.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth_checks;
pub mod frame_checks;
pub mod group_checks;
pub mod wire_checks;
