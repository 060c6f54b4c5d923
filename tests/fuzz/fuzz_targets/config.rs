#![no_main]
//! Fuzz target `config`: see vaultless_tests::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultless_tests::fuzzing::run("config", data));
