//! Fuzz target `frame_open`: see `hush_fuzz::frame_checks` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hush_fuzz::frame_checks::check_frame_open(data));
