//! hush-client: the client side of hush.
//!
//! - [`net`]: the network layer (connect with certificate pinning, control stream, media,
//!   events). It carries opaque bytes only; the end-to-end encryption lives in other modules.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod net;
