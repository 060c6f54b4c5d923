//! revoke-lease: picks the leases to revoke (ids, lease documents, `--expired`,
//! `--prefix`), claims each in the ledger so no two sweepers revoke one lease, revokes
//! it with retries, and records the outcome.

pub mod cli;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use common::docs::{Revocation, RevocationStatus};
use common::ledger::{Lease, Resources, State, Store};
use common::revoke::{Finished, Outcome, Revoker};
use common::{Error, ExitCode, Result};

use crate::cli::Cli;

pub const TOOL: &str = "revoke-lease";
/// How long to wait for another process that is revoking a lease named by id.
const BUSY_WAIT: Duration = Duration::from_secs(60);

/// One lease to revoke: a ledger row, or an id the ledger does not know.
enum Target {
    Row(Box<Lease>),
    Named(String),
}

impl Target {
    fn id(&self) -> &str {
        match self {
            Target::Row(r) => &r.id,
            Target::Named(id) => id,
        }
    }
}

fn result(id: &str, status: RevocationStatus, expires_at: Option<jiff::Timestamp>) -> Revocation {
    Revocation {
        lease_id: id.to_string(),
        status,
        error: None,
        expires_at: expires_at.map(common::time::format),
    }
}

/// Lease ids from stdin: lease documents or bare ids, one per line.
fn ids_from_stdin() -> Result<Vec<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::usage("no leases named")
            .hint("name lease ids, pipe lease documents in, or use --expired or --prefix"));
    }
    lease_ids(&common::input::read_stdin("lease ids on stdin")?)
}

/// Lease ids from lease documents or bare ids, one per line (what stdin may hold).
pub fn lease_ids(input: &[u8]) -> Result<Vec<String>> {
    let text = std::str::from_utf8(input)
        .map_err(|_| Error::bad_input("lease ids on stdin are not UTF-8 text"))?;
    let mut ids = Vec::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        if line.starts_with('{') {
            let not_json =
                |e: String| Error::bad_input(format!("stdin line {}: not JSON ({e})", n + 1));
            common::input::check_unique_keys(line.as_bytes()).map_err(not_json)?;
            let doc: serde_json::Value =
                serde_json::from_str(line).map_err(|e| not_json(e.to_string()))?;
            match doc.get("lease_id").and_then(|v| v.as_str()) {
                Some(id) if !common::docs::is_lease_id(id) => {
                    return Err(Error::bad_input(format!(
                        "stdin line {}: lease_id is not a lease id (creds/PROFILE/ID)",
                        n + 1
                    )));
                }
                Some(id) => ids.push(id.to_string()),
                None => {
                    return Err(Error::bad_input(format!(
                        "stdin line {}: a JSON document without lease_id",
                        n + 1
                    ))
                    .hint("pipe in mint-creds' lease documents (--output json)"));
                }
            }
        } else if common::docs::is_lease_id(line) {
            ids.push(line.to_string());
        } else {
            // Not echoed: a line that is no lease id may be anything, a secret included.
            return Err(Error::bad_input(format!(
                "stdin line {} is neither a lease id (creds/PROFILE/ID) nor a lease document",
                n + 1
            ))
            .hint("pipe in lease ids, or mint-creds' lease documents (--output json)"));
        }
    }
    Ok(ids)
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = cli.common.load_config()?;
    let config = &loaded.config;
    // A trail that cannot be opened is said, and revocation goes on without it.
    let audit = common::audit::Audit::open(config, TOOL).unwrap_or_else(|e| {
        common::error::warn(TOOL, &e.to_string());
        common::audit::Audit::off(TOOL)
    });
    let mut ids = cli.lease_ids.clone();
    if let Some(n) = ids
        .iter()
        .position(|i| i != "-" && !common::docs::is_lease_id(i))
    {
        let e = Error::usage(format!(
            "argument {} is not a lease id (creds/PROFILE/ID)",
            n + 1
        ))
        .hint("give the lease_id of mint-creds' lease document, or - to read them from stdin");
        return Err(audit.refused_run("revoke", e).into());
    }
    if ids.iter().any(|i| i == "-") || (ids.is_empty() && !cli.expired && cli.prefix.is_none()) {
        ids.retain(|i| i != "-");
        ids.extend(ids_from_stdin().map_err(|e| audit.refused_run("revoke", e))?);
    }
    let grace = config
        .ledger
        .pending_grace
        .map_or(common::ledger::DEFAULT_PENDING_GRACE, |d| d.0);
    let runtime = common::runtime::multi_thread()?;
    runtime.block_on(async move {
        let ledger: Arc<dyn Store> = Arc::from(common::ledger::open(config).await?);
        let code = sweep(&cli, ledger.clone(), ids, grace, &audit).await;
        common::cli::log(
            cli.common.verbose,
            TOOL,
            format_args!("done; {}", ledger.describe()),
        );
        code
    })
}

/// Lists what to revoke, then claims and revokes each, `--jobs` at a time.
async fn sweep(
    cli: &Cli,
    ledger: Arc<dyn Store>,
    ids: Vec<String>,
    grace: Duration,
    audit: &common::audit::Audit,
) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let mut targets: Vec<Target> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |t: Target, targets: &mut Vec<Target>| {
        if seen.insert(t.id().to_string()) {
            targets.push(t);
        }
    };
    for id in &ids {
        match ledger.get(id).await? {
            Some(row) => add(Target::Row(Box::new(row)), &mut targets),
            None => add(Target::Named(id.clone()), &mut targets),
        }
    }
    if cli.expired {
        let grace = jiff::SignedDuration::try_from(grace).unwrap_or(jiff::SignedDuration::MAX);
        let pending_before = now.checked_sub(grace).unwrap_or(jiff::Timestamp::MIN);
        for row in ledger.due(now, pending_before).await? {
            add(Target::Row(Box::new(row)), &mut targets);
        }
        if !cli.dry_run {
            let pruned = ledger.prune(now).await?;
            common::cli::log(
                cli.common.verbose,
                TOOL,
                format_args!(
                    "pruned {pruned} revoked lease(s) and used-proof record(s) past retention"
                ),
            );
        }
    }
    if let Some(prefix) = &cli.prefix {
        for row in ledger.live_with_prefix(prefix).await? {
            add(Target::Row(Box::new(row)), &mut targets);
        }
    }
    common::cli::log(
        cli.common.verbose,
        TOOL,
        format_args!("{} lease(s) to revoke", targets.len()),
    );
    if targets.is_empty() {
        return Ok(ExitCode::Ok);
    }
    if cli.dry_run {
        return dry_run(&targets);
    }

    let live = |r: &Lease| r.state != State::Revoked;
    let needs_iam = targets.iter().any(|t| match t {
        Target::Row(r) => live(r) && (matches!(r.resources, Resources::IamUser(_)) || cli.hard),
        Target::Named(_) => false,
    });
    if cli.hard {
        let mut roles: Vec<&str> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Row(r) if live(r) => match &r.resources {
                    Resources::AssumedRole { role_arn, .. } => Some(role_arn.as_str()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        roles.sort_unstable();
        roles.dedup();
        if !roles.is_empty() {
            common::error::warn(
                TOOL,
                &format!(
                    "--hard cuts off every session of {} issued before now, not only these leases' sessions",
                    roles.join(", ")
                ),
            );
        }
    }
    let explicit: std::collections::HashSet<String> = ids.into_iter().collect();
    let iam = if needs_iam {
        Some(common::revoke::iam_client(
            &common::aws::load_global().await?.config,
        ))
    } else {
        None
    };
    let revoker = Arc::new(Revoker {
        iam,
        hard: cli.hard,
    });
    let owner = Arc::new(common::ledger::owner("sweep"));
    let permits = Arc::new(tokio::sync::Semaphore::new(usize::from(cli.jobs)));
    let total = targets.len();
    let progress = std::io::stderr().is_terminal() && total > 10;
    let mut tasks = Vec::with_capacity(total);
    for target in targets {
        let by_id = explicit.contains(target.id());
        let named = match &target {
            Target::Row(row) => common::audit::lease_target(row),
            Target::Named(id) => common::docs::AuditTarget {
                lease_id: Some(id.clone()),
                ..Default::default()
            },
        };
        let (ledger, revoker, owner, permits) = (
            ledger.clone(),
            revoker.clone(),
            owner.clone(),
            permits.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            let done = revoke_one(ledger.as_ref(), &revoker, &owner, target, by_id).await;
            (done, named)
        }));
    }
    let mut worst = ExitCode::Ok;
    for (done, task) in tasks.into_iter().enumerate() {
        let ((result, code), named) = task.await.context("a revocation task failed")?;
        worst = worst.worst(code);
        if let Some(result) = result {
            if let Some(e) = &result.error {
                common::output::stderr(&format!("{TOOL}: error: {}: {e}\n", result.lease_id));
            }
            if audit.enabled() {
                let action = if cli.expired { "sweep" } else { "revoke" };
                let mut record = audit.record_of(action, result.status.name(), code);
                record.target = named;
                record.reason = result.error.clone();
                // Revocation proceeds without its line; that it is missing is said.
                if let Err(e) = audit.record(&record) {
                    common::error::warn(TOOL, &e.to_string());
                }
            }
            common::output::json_line(&result)?;
        }
        if progress {
            common::output::stderr(&format!("\r{TOOL}: {}/{total}", done + 1));
        }
    }
    if progress {
        common::output::stderr("\n");
    }
    Ok(worst)
}

fn dry_run(targets: &[Target]) -> anyhow::Result<ExitCode> {
    let mut worst = ExitCode::Ok;
    for t in targets {
        let result = match t {
            Target::Row(r) if r.state == State::Revoked => {
                result(&r.id, RevocationStatus::AlreadyRevoked, None)
            }
            Target::Row(r) => result(&r.id, RevocationStatus::WouldRevoke, Some(r.expires_at)),
            Target::Named(id) => {
                worst = worst.worst(ExitCode::NotFound);
                Revocation {
                    lease_id: id.clone(),
                    status: RevocationStatus::Failed,
                    error: Some("no such lease in the ledger".into()),
                    expires_at: None,
                }
            }
        };
        common::output::json_line(&result)?;
    }
    Ok(worst)
}

fn failed(id: &str, e: &Error) -> (Option<Revocation>, ExitCode) {
    (
        Some(Revocation {
            lease_id: id.to_string(),
            status: RevocationStatus::Failed,
            error: Some(e.to_string()),
            expires_at: None,
        }),
        e.code(),
    )
}

/// Claims, revokes and records one lease. `by_id`: named by the user, so a lease
/// another sweeper holds is waited for instead of skipped.
async fn revoke_one(
    ledger: &dyn Store,
    revoker: &Revoker,
    owner: &str,
    target: Target,
    by_id: bool,
) -> (Option<Revocation>, ExitCode) {
    let id = target.id().to_string();
    if let Target::Named(_) = target {
        let e = Error::not_found(format!("no lease {id} in the ledger"));
        return failed(&id, &e);
    }
    let wait = by_id.then_some(BUSY_WAIT);
    match common::revoke::revoke_lease(ledger, revoker, &id, owner, wait).await {
        Ok(Finished::Done(Outcome::Revoked, _)) => (
            Some(result(&id, RevocationStatus::Revoked, None)),
            ExitCode::Ok,
        ),
        Ok(Finished::Done(Outcome::AlreadyGone, _)) => (
            Some(result(&id, RevocationStatus::AlreadyRevoked, None)),
            ExitCode::Ok,
        ),
        Ok(Finished::Done(Outcome::ExpiresOnly, lease)) => (
            Some(result(
                &id,
                RevocationStatus::ExpiresOnly,
                Some(lease.expires_at),
            )),
            ExitCode::Ok,
        ),
        // Finished by another sweeper since this one listed it: its work, not ours.
        Ok(Finished::AlreadyRevoked) if !by_id => (None, ExitCode::Ok),
        Ok(Finished::AlreadyRevoked) => (
            Some(result(&id, RevocationStatus::AlreadyRevoked, None)),
            ExitCode::Ok,
        ),
        // Another sweeper holds it: its work, not ours to report.
        Ok(Finished::Busy) if !by_id => (None, ExitCode::Ok),
        Ok(Finished::Busy) => failed(
            &id,
            &Error::temp_fail("another process is still revoking this lease"),
        ),
        Ok(Finished::Unknown) => failed(
            &id,
            &Error::not_found(format!("no lease {id} in the ledger")),
        ),
        Err(e) => failed(&id, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_ids_from_lines_and_documents() {
        let ids = lease_ids(
            b"  creds/a/00000000000000a1  \n\n{\"lease_id\":\"creds/b/00000000000000b2\"}\n",
        )
        .unwrap();
        assert_eq!(
            ids,
            ["creds/a/00000000000000a1", "creds/b/00000000000000b2"]
        );
        for bad in [
            &b"{\"lease_id\":\"creds/a/00000000000000a1 \"}"[..],
            b"export AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG'",
            b"creds/a/1",
            b"creds//00000000000000a1",
            b"creds/a/00000000000000A1",
            b"creds/a b/00000000000000a1",
            b"{\"lease_id\":\" \"}",
            b"{\"lease_id\":\"a\\u0000b\"}",
            b"{\"lease_id\":\"a\",\"lease_id\":\"b\"}",
            b"{\"id\":\"a\"}",
            b"\xff",
        ] {
            let e = lease_ids(bad).unwrap_err();
            assert_eq!(
                e.code(),
                ExitCode::BadInput,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
