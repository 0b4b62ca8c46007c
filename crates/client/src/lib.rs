//! hush-client: the client side of hush.
//!
//! - [`Meeting`]: join a meeting through a relay and talk in it, end-to-end encrypted. One driver
//!   task owns the connection's control events and the group state machine (hush-group: host or
//!   member) and installs the SFrame `Opener`'s keys; media frames are opened in place on the
//!   connection's reader task, and sending seals in place on the caller's task (SPEC §8.9, §11).
//! - [`net`]: the network layer (connect with certificate pinning, control stream, media,
//!   events). It carries opaque bytes only.
//!
//! ```no_run
//! # async fn f(relay: std::net::SocketAddr, pin: [u8; 32]) -> Result<(), hush_client::MeetingError> {
//! use hush_client::{ClientRole, Admit, Meeting, MeetingConfig, MeetingEvent, net::TrustAnchor};
//! let config = MeetingConfig::new(relay, TrustAnchor::Sha256(pin), "room", "Alice")?
//!     .with_role(ClientRole::Host { admit: Admit::Auto, admit_connectors: false });
//! let (meeting, mut events) = Meeting::join(config).await?;
//! meeting.wait_ready(std::time::Duration::from_secs(5)).await?;
//! meeting.send_media(&mut bytes::BytesMut::from(&b"frame"[..])).await?;
//! while let Some(ev) = events.recv().await {
//!     if let MeetingEvent::SecurityCode(code) = ev { println!("security code: {code}"); }
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod blob;
mod config;
mod connect;
mod driver;
mod error;
mod event;
pub mod file;
mod keys;
mod lanes;
mod meeting;
pub mod net;
mod rng;
mod shared;
mod stats;

pub use blob::DataKind;
pub use config::{
    Admit, ClientRole, DEFAULT_SERVER_NAME, MeetingConfig, ephemeral_identity, load_identity,
};
pub use error::MeetingError;
pub use event::{
    AdmissionRequest, DataMessage, E2eeStatus, EndReason, Forgery, MediaFrame, MeetingEvent,
    Refusal, SendFailure, SenderAuth,
};
pub use hush_group::DenyReason;
pub use lanes::{CONTROL_CAPACITY, MeetingEvents};
pub use meeting::{Forge, Meeting};
pub use net::{MediaPath, TrustAnchor};
pub use stats::Stats;
