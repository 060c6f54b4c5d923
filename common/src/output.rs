//! The one way tools write: data to stdout (a JSON document per line), everything else
//! to stderr. Stdout is locked and flushed per document so NDJSON lines never interleave.

use std::io::{self, Write};

use serde::Serialize;

/// Writes one JSON document and a newline to stdout, flushed.
///
/// A closed pipe (`tool | head -1`) comes back as an `io::Error` of kind `BrokenPipe`;
/// [`crate::error::report`] treats that as a quiet end, not a failure.
pub fn json_line<T: Serialize + ?Sized>(doc: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(doc).map_err(io::Error::other)?;
    line.push(b'\n');
    raw(&line)
}

/// Writes bytes to stdout as they are, flushed.
pub fn raw(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Writes to stderr, ignoring failure: there is nowhere left to report it.
pub fn stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// True when an error chain ends in a closed stdout pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
