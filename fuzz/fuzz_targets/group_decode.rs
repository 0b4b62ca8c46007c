//! Fuzz target `group_decode`: see `hush_fuzz::group_checks` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hush_fuzz::group_checks::check_group(data));
