//! hush-group (work in progress)
#![forbid(unsafe_code)]
