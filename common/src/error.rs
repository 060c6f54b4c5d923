//! The error type every tool reports through, and the exit codes of DESIGN's table.
//!
//! Each variant knows its exit code, so a script can tell "fix the call" from "retry
//! later" from "stop". [`report`] is the one place that turns an error into the
//! `tool: error: ...` / `  hint: ...` lines on stderr.

use std::fmt;

/// Process exit codes shared by all tools (sysexits-style, as in DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    Ok = 0,
    NotFound = 1,
    Usage = 64,
    BadInput = 65,
    Unavailable = 69,
    Internal = 70,
    TempFail = 75,
    Denied = 77,
    Config = 78,
}

impl ExitCode {
    pub const ALL: [ExitCode; 9] = [
        ExitCode::Ok,
        ExitCode::NotFound,
        ExitCode::Usage,
        ExitCode::BadInput,
        ExitCode::Unavailable,
        ExitCode::Internal,
        ExitCode::TempFail,
        ExitCode::Denied,
        ExitCode::Config,
    ];

    /// What the code means and what a script should do about it (the man pages'
    /// EXIT STATUS).
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Ok => "done",
            ExitCode::NotFound => "the thing asked for does not exist",
            ExitCode::Usage => "usage error: fix the call",
            ExitCode::BadInput => "bad input document: fix the input",
            ExitCode::Unavailable => "AWS unreachable, or 5xx after retries: retry later",
            ExitCode::Internal => "internal error (a bug): report it",
            ExitCode::TempFail => "throttled or timed out: retry later",
            ExitCode::Denied => {
                "denied: proof refused, not granted, no credentials, AccessDenied: stop"
            }
            ExitCode::Config => "bad config: fix the config",
        }
    }

    /// How serious a failure is, for picking one exit code out of a batch: a denial
    /// outranks a bad document, which outranks a transient failure.
    pub fn severity(self) -> u8 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::NotFound => 1,
            ExitCode::TempFail => 2,
            ExitCode::Unavailable => 3,
            ExitCode::BadInput => 4,
            ExitCode::Usage => 5,
            ExitCode::Config => 6,
            ExitCode::Denied => 7,
            ExitCode::Internal => 8,
        }
    }

    /// The most serious of two codes.
    pub fn worst(self, other: ExitCode) -> ExitCode {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// A short stable name, used as `code` in batch error lines.
    pub fn name(self) -> &'static str {
        match self {
            ExitCode::Ok => "ok",
            ExitCode::NotFound => "not_found",
            ExitCode::Usage => "usage",
            ExitCode::BadInput => "bad_input",
            ExitCode::Unavailable => "unavailable",
            ExitCode::Internal => "internal",
            ExitCode::TempFail => "temporary_failure",
            ExitCode::Denied => "denied",
            ExitCode::Config => "bad_config",
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// A message with an optional hint on how to fix what went wrong.
#[derive(Debug, Clone)]
pub struct Msg {
    pub text: String,
    pub hint: Option<String>,
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Errors that carry their exit code. Tools wrap them in `anyhow` with context; the
/// code survives the wrapping and [`report`] finds it again.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(Msg),
    #[error("{0}")]
    Usage(Msg),
    #[error("{0}")]
    BadInput(Msg),
    #[error("{0}")]
    Unavailable(Msg),
    #[error("{0}")]
    Internal(Msg),
    #[error("{0}")]
    TempFail(Msg),
    #[error("{0}")]
    Denied(Msg),
    #[error("{0}")]
    Config(Msg),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn msg(text: impl Into<String>) -> Msg {
    Msg {
        text: text.into(),
        hint: None,
    }
}

impl Error {
    pub fn not_found(text: impl Into<String>) -> Self {
        Error::NotFound(msg(text))
    }
    pub fn usage(text: impl Into<String>) -> Self {
        Error::Usage(msg(text))
    }
    pub fn bad_input(text: impl Into<String>) -> Self {
        Error::BadInput(msg(text))
    }
    pub fn unavailable(text: impl Into<String>) -> Self {
        Error::Unavailable(msg(text))
    }
    pub fn internal(text: impl Into<String>) -> Self {
        Error::Internal(msg(text))
    }
    pub fn temp_fail(text: impl Into<String>) -> Self {
        Error::TempFail(msg(text))
    }
    pub fn denied(text: impl Into<String>) -> Self {
        Error::Denied(msg(text))
    }
    pub fn config(text: impl Into<String>) -> Self {
        Error::Config(msg(text))
    }

    fn parts(&self) -> (&Msg, ExitCode) {
        match self {
            Error::NotFound(m) => (m, ExitCode::NotFound),
            Error::Usage(m) => (m, ExitCode::Usage),
            Error::BadInput(m) => (m, ExitCode::BadInput),
            Error::Unavailable(m) => (m, ExitCode::Unavailable),
            Error::Internal(m) => (m, ExitCode::Internal),
            Error::TempFail(m) => (m, ExitCode::TempFail),
            Error::Denied(m) => (m, ExitCode::Denied),
            Error::Config(m) => (m, ExitCode::Config),
        }
    }

    fn msg_mut(&mut self) -> &mut Msg {
        match self {
            Error::NotFound(m)
            | Error::Usage(m)
            | Error::BadInput(m)
            | Error::Unavailable(m)
            | Error::Internal(m)
            | Error::TempFail(m)
            | Error::Denied(m)
            | Error::Config(m) => m,
        }
    }

    /// Adds (or replaces) the hint shown under the message.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.msg_mut().hint = Some(hint.into());
        self
    }

    /// Puts `context: ` in front of the message, keeping code and hint.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        let m = self.msg_mut();
        m.text = format!("{context}: {}", m.text);
        self
    }

    pub fn code(&self) -> ExitCode {
        self.parts().1
    }

    pub fn hint_text(&self) -> Option<&str> {
        self.parts().0.hint.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.parts().0.text
    }
}

/// Finds the exit code and hint of an `anyhow` error: the first [`Error`] in its chain
/// decides; anything else is an internal error (a bug).
pub fn classify(err: &anyhow::Error) -> (ExitCode, Option<&str>) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return (e.code(), e.hint_text());
        }
    }
    (ExitCode::Internal, None)
}

/// The full message of an `anyhow` error, contexts first, joined with `: `.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for (i, cause) in err.chain().enumerate() {
        if i > 0 {
            out.push_str(": ");
        }
        out.push_str(&cause.to_string());
    }
    out
}

/// Prints `tool: error: ...` (and `  hint: ...`) on stderr and returns the exit code.
pub fn report(tool: &str, err: &anyhow::Error) -> ExitCode {
    if crate::output::is_broken_pipe(err) {
        return ExitCode::Ok;
    }
    let (code, hint) = classify(err);
    let mut text = format!("{tool}: error: {}\n", render(err));
    if let Some(hint) = hint {
        text.push_str(&format!("  hint: {hint}\n"));
    }
    if code == ExitCode::Internal {
        text.push_str(
            "  hint: this is a bug in vaultless; please report it with the command you ran\n",
        );
    }
    crate::output::stderr(&text);
    code
}

/// Prints a warning line on stderr.
pub fn warn(tool: &str, text: &str) {
    crate::output::stderr(&format!("{tool}: warning: {text}\n"));
}

/// An error and its causes on one line, for errors from libraries whose `Display`
/// shows only the outermost layer.
pub fn source_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ALL is every code, once, in order: a new variant breaks the exhaustive match
    /// below until it is given a place, and then this test until ALL lists it.
    #[test]
    fn all_lists_every_code_once() {
        fn place(c: ExitCode) -> usize {
            match c {
                ExitCode::Ok => 0,
                ExitCode::NotFound => 1,
                ExitCode::Usage => 2,
                ExitCode::BadInput => 3,
                ExitCode::Unavailable => 4,
                ExitCode::Internal => 5,
                ExitCode::TempFail => 6,
                ExitCode::Denied => 7,
                ExitCode::Config => 8,
            }
        }
        let places: Vec<usize> = ExitCode::ALL.iter().map(|c| place(*c)).collect();
        assert_eq!(places, (0..ExitCode::ALL.len()).collect::<Vec<_>>());
    }

    /// The README's exit-code table has a row for every code, and no other.
    #[test]
    fn the_readme_table_lists_every_code() {
        let readme = include_str!("../../README.md");
        let start = readme.find("## Exit codes").expect("an exit codes section");
        let rows: Vec<i32> = readme[start..]
            .lines()
            .skip_while(|l| !l.starts_with("| code"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.split('|').nth(1).unwrap().trim().parse().unwrap())
            .collect();
        let codes: Vec<i32> = ExitCode::ALL.iter().map(|c| *c as i32).collect();
        assert_eq!(rows, codes);
    }

    #[test]
    fn code_survives_anyhow_context() {
        let err = anyhow::Error::new(Error::denied("no").hint("ask")).context("verifying proof 2");
        assert_eq!(classify(&err), (ExitCode::Denied, Some("ask")));
        assert_eq!(render(&err), "verifying proof 2: no");
    }

    #[test]
    fn plain_errors_are_internal() {
        let err = anyhow::anyhow!("boom");
        assert_eq!(classify(&err).0, ExitCode::Internal);
    }

    #[test]
    fn worst_prefers_denial() {
        assert_eq!(ExitCode::BadInput.worst(ExitCode::Denied), ExitCode::Denied);
        assert_eq!(ExitCode::Denied.worst(ExitCode::TempFail), ExitCode::Denied);
        assert_eq!(
            ExitCode::Ok.worst(ExitCode::Unavailable),
            ExitCode::Unavailable
        );
    }
}
