#![no_main]
//! Fuzz target `lease_ids`: see vaultless_tests::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultless_tests::fuzzing::run("lease_ids", data));
