//! hush-connector (work in progress)
#![forbid(unsafe_code)]
