//! hush-relay (work in progress)
#![forbid(unsafe_code)]
