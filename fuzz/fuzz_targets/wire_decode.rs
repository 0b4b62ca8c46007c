//! Fuzz target `wire_decode`: see `hush_fuzz::wire_checks` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hush_fuzz::wire_checks::check_wire(data));
