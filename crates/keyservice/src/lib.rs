//! hush-keyservice (work in progress)
#![forbid(unsafe_code)]
