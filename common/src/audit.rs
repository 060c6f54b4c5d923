//! The audit trail: with `[audit] path` set, every tool appends one JSON line per
//! decision (a login accepted or refused, a secret read or refused, a lease minted or
//! revoked). The file is opened once per run with O_APPEND and each line goes out in
//! one write(2), so processes sharing the file never interleave, and logrotate can move
//! it between runs. It fails closed: a tool that cannot write its line hands nothing
//! out (the callers check [`Audit::record`]'s result before they print).

use std::io::Write;
use std::sync::Mutex;

use crate::config::Config;
use crate::docs::{AuditCaller, AuditRecord, AuditTarget, VerifiedIdentity};
use crate::error::{Error, Result};

/// A reason longer than this is cut: a line stays small enough to land whole, and a
/// message that quotes its input cannot fill the trail.
const MAX_REASON_BYTES: usize = 1024;

enum Sink {
    Off,
    Stderr,
    File(Mutex<std::fs::File>, String),
}

pub struct Audit {
    sink: Sink,
    tool: &'static str,
    host: String,
}

impl Audit {
    /// Opens the audit trail the config names (nothing when `[audit]` is unset). A
    /// file that cannot be opened is an error (69): a broker must not run unaudited.
    pub fn open(config: &Config, tool: &'static str) -> Result<Audit> {
        let sink = match config.audit.path.as_deref() {
            None => Sink::Off,
            Some("-") => Sink::Stderr,
            Some(path) => {
                use std::os::unix::fs::OpenOptionsExt;
                let file = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o640)
                    .open(path)
                    .map_err(|e| unwritable(path, &e.to_string()))?;
                Sink::File(Mutex::new(file), path.to_string())
            }
        };
        Ok(Audit {
            sink,
            tool,
            host: crate::hostname(),
        })
    }

    /// No trail at all.
    pub fn off(tool: &'static str) -> Audit {
        Audit {
            sink: Sink::Off,
            tool,
            host: crate::hostname(),
        }
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.sink, Sink::Off)
    }

    /// A record of this tool, host and process, at this time.
    pub fn record_of(
        &self,
        action: &str,
        outcome: &str,
        exit_code: crate::ExitCode,
    ) -> AuditRecord {
        AuditRecord {
            time: crate::time::format(jiff::Timestamp::now()),
            tool: self.tool.to_string(),
            host: self.host.clone(),
            pid: std::process::id(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            exit_code: exit_code as i32,
            caller: None,
            target: AuditTarget::default(),
            reason: None,
            proof_hash: None,
        }
    }

    /// Appends one line; an error means it is not in the trail.
    pub fn record(&self, record: &AuditRecord) -> Result<()> {
        let capped;
        let record = match &record.reason {
            Some(r) if r.len() > MAX_REASON_BYTES => {
                let mut end = MAX_REASON_BYTES;
                while !r.is_char_boundary(end) {
                    end -= 1;
                }
                capped = AuditRecord {
                    reason: Some(format!("{}...", &r[..end])),
                    ..record.clone()
                };
                &capped
            }
            _ => record,
        };
        let mut line = serde_json::to_vec(record).expect("audit records serialize");
        line.push(b'\n');
        match &self.sink {
            Sink::Off => Ok(()),
            // Fail closed here too: a closed or full stderr is a trail not written.
            Sink::Stderr => std::io::stderr()
                .lock()
                .write_all(&line)
                .map_err(|e| unwritable("stderr", &e.to_string())),
            Sink::File(file, path) => {
                let file = file.lock().unwrap_or_else(|e| e.into_inner());
                // One write(2) per line: with O_APPEND it lands whole, after every
                // other process's lines.
                match (&*file).write(&line) {
                    Ok(n) if n == line.len() => Ok(()),
                    Ok(n) => Err(unwritable(
                        path,
                        &format!("short write ({n} of {} bytes)", line.len()),
                    )),
                    Err(e) => Err(unwritable(path, &e.to_string())),
                }
            }
        }
    }
}

impl Audit {
    /// Writes the line of a run refused before any decision of its own (stdin empty,
    /// unreadable or too large, no verified identity), and gives the error back to be
    /// reported. Nothing is handed out either way, so a line that cannot be written is
    /// only warned about.
    pub fn refused_run(&self, action: &str, e: Error) -> Error {
        let (outcome, reason) = refusal(&e);
        let mut record = self.record_of(action, outcome, e.code());
        record.reason = reason;
        if let Err(w) = self.record(&record) {
            crate::error::warn(self.tool, &w.to_string());
        }
        e
    }
}

fn unwritable(path: &str, why: &str) -> Error {
    Error::unavailable(format!("cannot write the audit trail {path}: {why}"))
        .hint("nothing is handed out unaudited; make [audit] path writable for this user")
}

/// The target part of a record about a lease: its id and profile, and the IAM user or
/// session it names.
#[cfg(feature = "ledger")]
pub fn lease_target(row: &crate::ledger::Lease) -> AuditTarget {
    use crate::ledger::Resources;
    let mut t = AuditTarget {
        lease_id: Some(row.id.clone()),
        profile: Some(row.profile.clone()),
        ..AuditTarget::default()
    };
    match &row.resources {
        Resources::IamUser(u) => t.iam_user = Some(u.user_name.clone()),
        Resources::AssumedRole { session_name, .. } => t.session_name = Some(session_name.clone()),
        Resources::FederationToken { name } => t.session_name = Some(name.clone()),
        Resources::SessionToken => {}
    }
    t
}

/// The caller part of a record, from a verified identity.
pub fn caller(id: &VerifiedIdentity) -> AuditCaller {
    AuditCaller {
        arn: id.identity.arn.clone(),
        user_id: id.identity.user_id.clone(),
        role: id.role.clone(),
    }
}

/// The outcome word and reason of a failed decision: refused (denied, not granted, bad
/// input) or failed (AWS or the system could not do it).
pub fn refusal(e: &Error) -> (&'static str, Option<String>) {
    use crate::ExitCode::*;
    let word = match e.code() {
        Denied | BadInput | Usage | NotFound | Config => "refused",
        _ => "failed",
    };
    (word, Some(e.to_string()))
}
