//! hush-keyservice: transport mode, the 2020 model (SPEC §12).
//!
//! The operator *adds* a key service beside the untrusted relay: it generates and holds each
//! room's epoch secret, issues it to every joiner over the relay's TLS connection
//! ([`message::Issued`], from participant 0), and, holding the secret, opens every frame the
//! relay forwards. Clients still seal every frame with SFrame, with exactly the frame format and
//! sender-key derivation of e2ee mode (hush-group's schedule, SPEC §9); only the origin of the
//! epoch secret differs. That is the point being shown (claim C1): "encrypted" frames that the
//! server can read.
//!
//! hush-relay stays crypto-free: this crate depends on it for the [`hush_relay::RelayHook`]
//! trait, never the other way round.
//!
//! ```no_run
//! # async fn f() -> Result<(), hush_relay::RelayError> {
//! use std::sync::Arc;
//! use hush_keyservice::{KeyService, KeyServiceConfig};
//!
//! let service = Arc::new(KeyService::new(KeyServiceConfig::default()));
//! let mut config = hush_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap());
//! config.hook = Some(service.clone());
//! let relay = hush_relay::Relay::bind(config).await?.spawn();
//! // ... clients join, receive `Issued`, send frames; the service opens them ...
//! println!("{:?}", service.stats());
//! relay.shutdown().await
//! # }
//! ```
//!
//! Modules: [`message`] (the `Issued` codec, sans-IO), `service` (the hook), [`decrypted_dump`]
//! (where the opened payloads go).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod decrypted_dump;
/// The `Issued` message now lives in `hush_group::issued` (clients read it without this crate).
pub use hush_group::issued as message;
mod service;

pub use message::{DecodeError, Issued, decode};
pub use service::{FIRST_EPOCH, KeyService, KeyServiceConfig, KeyServiceStats};

/// Failures inside the key service. The relay hook cannot return errors, so these are logged
/// and the affected join gets no key or the affected frame counts as failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyServiceError {
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The room used up every epoch number (2^48).
    #[error("epoch numbers exhausted")]
    EpochExhausted,
    /// The key schedule refused (hush-group).
    #[error("key schedule: {0}")]
    Group(#[from] hush_group::GroupError),
    /// The frame layer refused a key (hush-frame).
    #[error("frame layer: {0}")]
    Frame(#[from] hush_frame::FrameError),
}
