#![no_main]
//! Fuzz target `sts_answer`: see vaultless_tests::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultless_tests::fuzzing::run("sts_answer", data));
