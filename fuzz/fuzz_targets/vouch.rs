//! Fuzz target `vouch`: see `hush_fuzz::auth_checks` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hush_fuzz::auth_checks::check_sender_record(data));
