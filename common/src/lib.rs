//! Pieces shared by two or more vaultless tools: the JSON documents they pass to one
//! another, the error type and its exit codes, the config file, shared command-line
//! flags, stdout handling and (behind the `aws` feature) AWS client setup.

pub mod audit;
#[cfg(feature = "aws")]
pub mod aws;
pub mod broker;
pub mod cli;
pub mod config;
pub mod docs;
pub mod duration;
pub mod error;
pub mod input;
#[cfg(feature = "ledger")]
pub mod ledger;
pub mod manual;
pub mod output;
pub mod proof;
#[cfg(feature = "ledger")]
pub mod revoke;
#[cfg(feature = "aws")]
pub mod runtime;
pub mod time;

pub use error::{Error, ExitCode, Result};

/// This host's name, for audit lines, claim owners and session names.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
