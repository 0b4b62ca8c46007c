//! hush-session: the meeting core. One participant's whole meeting protocol (SPEC §8.8–§8.9,
//! §11.1, §11.5, §12.5) as a plain state machine in the quinn-proto style: [`Session`] takes
//! what arrives through `handle_*` (the relay's events, blobs, timers) and the application's
//! commands, and gives out what leaves through three separate queues: blobs to send
//! ([`Session::poll_transmit`]), key changes for the media path ([`Session::poll_key_update`])
//! and events for the application ([`Session::poll_event`]). No sockets, no tasks, no clock:
//! time is passed in (milliseconds), randomness comes from the generator it is given. Media
//! frames never pass through it (the media path opens them with the keys it was handed), so
//! neither a flood of media nor a slow application can hold back a rekey.
//!
//! `hush-client` is the async driver over quinn; the deterministic tests in `tests/` run whole
//! meetings of these cores on a simulated relay and clock.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod blob;
mod config;
pub mod guard;
mod output;
mod session;
mod status;

pub use config::{Admit, ClientRole, SessionConfig};
pub use output::{Event, KeyUpdate, SessionError, Transmit};
pub use session::{MAX_PENDING, MAX_TRANSPORT_PEERS, Session};
pub use status::{AdmissionRequest, E2eeStatus, EndReason, IssuedRefusal, Refusal, SendFailure};
