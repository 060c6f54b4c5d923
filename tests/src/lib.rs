//! Support for the black-box tests in `tests/`, and the man pages, generated from the
//! tools' clap definitions so they cannot drift from the code.

pub mod fuzzing;
pub mod man;
