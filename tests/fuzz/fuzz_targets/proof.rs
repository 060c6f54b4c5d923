#![no_main]
//! Fuzz target `proof`: see vaultless_tests::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultless_tests::fuzzing::run("proof", data));
