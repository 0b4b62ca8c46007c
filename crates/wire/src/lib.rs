//! hush-wire (work in progress)
#![forbid(unsafe_code)]
