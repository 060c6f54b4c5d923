//! The async runtimes the tools run on, built in one place.

use crate::error::{Error, Result};

/// One thread: for tools whose work is a few calls at a time.
pub fn current_thread() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("starting the async runtime: {e}")))
}

/// Two worker threads: for tools that run many calls at once (sweeps).
pub fn multi_thread() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("starting the async runtime: {e}")))
}
