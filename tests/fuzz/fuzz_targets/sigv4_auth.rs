#![no_main]
//! Fuzz target `sigv4_auth`: see vaultless_tests::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultless_tests::fuzzing::run("sigv4_auth", data));
