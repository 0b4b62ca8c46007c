//! hush-connector: a visible, decrypting bridge from a hush meeting to legacy endpoints that
//! cannot do end-to-end encryption (a phone gateway, a cloud recorder). SPEC §13.
//!
//! A [`Connector`] joins the meeting as a participant with the role `connector`. The host admits
//! it only when told to (`admit_connectors`, or an explicit yes when asked); once admitted it is
//! in the host-signed roster, flagged as decrypting, so every client shows
//! `e2ee: off (connector <name> decrypts)` and a new security code. It then re-emits every media
//! payload it decrypts:
//!
//! - to a UDP sink, as framed datagrams ([`udp`], SPEC §13.3);
//! - to a recording file ([`record`], SPEC §13.4), with data messages (chat) too;
//! - as RTP, one stream per sender and track, VP8 and Opus, with an SDP file ([`rtp`],
//!   [`sdp`], SPEC §13.5), for ffmpeg, ffplay or GStreamer.
//!
//! **What leaves the connector is plaintext, by nature**: the legacy side cannot decrypt SFrame,
//! so while a connector is present the meeting is not end-to-end encrypted, and every client
//! says so. A connector the host did not admit holds no key and bridges nothing.
//!
//! ```no_run
//! # async fn f(relay: std::net::SocketAddr, pin: [u8; 32]) -> Result<(), hush_connector::ConnectorError> {
//! use hush_client::{MeetingConfig, TrustAnchor};
//! use hush_connector::{Connector, SinkConfig};
//! let config = MeetingConfig::new(relay, TrustAnchor::Sha256(pin), "room", "Phone bridge")?;
//! let sinks = SinkConfig { udp: "127.0.0.1:9999".parse().ok(), ..SinkConfig::default() };
//! let (connector, _events) = Connector::join(config, sinks).await?;
//! connector.wait_admitted(std::time::Duration::from_secs(60)).await?;
//! // ... later:
//! let stats = connector.stop().await?;
//! println!("{} frames bridged", stats.frames_bridged);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bridge;
mod datagram_size;
mod error;
pub mod record;
pub mod rtp;
pub mod sdp;
mod sink;
mod stats;
pub mod udp;

pub use bridge::{Connector, ConnectorEvents, EVENT_CAPACITY};
pub use error::ConnectorError;
pub use sink::SinkConfig;
pub use stats::BridgeStats;
