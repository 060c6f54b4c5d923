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

/// `export NAME='value'` for `eval "$(tool ...)"`: single-quoted, so no shell expands
/// anything in the value.
pub fn shell_export(name: &str, value: &str) -> String {
    format!("export {name}='{}'\n", value.replace('\'', r"'\''"))
}

/// Prints a tool's results in input order, one JSON document per line. With one item,
/// an error fails the command as usual; in a batch each error is reported on stderr
/// (`tool: error: item N: ...`) and gets an `{"error": ...}` line in its place, and
/// [`Batch::finish`] gives the most serious exit code.
pub struct Batch<'a> {
    tool: &'a str,
    what: &'a str,
    batch: bool,
    index: usize,
    worst: crate::ExitCode,
    before_first: Option<Box<dyn FnOnce() + 'a>>,
}

impl<'a> Batch<'a> {
    /// `what` names an item in messages (`proof`, `item`); `batch` is whether there is
    /// more than one.
    pub fn new(tool: &'a str, what: &'a str, batch: bool) -> Batch<'a> {
        Batch {
            tool,
            what,
            batch,
            index: 0,
            worst: crate::ExitCode::Ok,
            before_first: None,
        }
    }

    /// Runs `f` once, just before the first document is written (a terminal notice).
    pub fn before_first(mut self, f: impl FnOnce() + 'a) -> Self {
        self.before_first = Some(Box::new(f));
        self
    }

    pub fn item<T: Serialize>(&mut self, result: crate::Result<T>) -> anyhow::Result<()> {
        self.index += 1;
        match result {
            Ok(doc) => {
                if let Some(f) = self.before_first.take() {
                    f();
                }
                json_line(&doc)?;
            }
            Err(e) if self.batch => {
                self.worst = self.worst.worst(e.code());
                let mut text = format!("{}: error: {} {}: {e}\n", self.tool, self.what, self.index);
                if let Some(h) = e.hint_text() {
                    text.push_str(&format!("  hint: {h}\n"));
                }
                stderr(&text);
                json_line(&crate::docs::ErrorLine::new(e.code(), e.message()))?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    pub fn finish(self) -> crate::ExitCode {
        self.worst
    }
}
