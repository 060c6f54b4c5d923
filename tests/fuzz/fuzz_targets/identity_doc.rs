#![no_main]
//! Fuzz target `identity_doc`: see vaultless_tests::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultless_tests::fuzzing::run("identity_doc", data));
