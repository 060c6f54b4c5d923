//! mint-creds: mints short-lived AWS credentials from a config profile, for the
//! workload or for a verified caller, recording each lease in the ledger *before* the
//! first AWS call and revoking at once whatever could not be handed over.

mod cache;
pub mod cli;
mod mint;

use std::time::Duration;

use anyhow::Context;
use common::broker;
use common::config::{Config, CredsProfile, CredsType, Loaded};
use common::docs::{Lease, ProcessCredentials, VerifiedIdentity};
use common::ledger::{IamUser, Lease as LeaseRow, Resources, Store};
use common::revoke::Revoker;
use common::{Error, ExitCode, Result};
use jiff::Timestamp;

use crate::cli::{Cli, Output};
use crate::mint::Minted;

pub const TOOL: &str = "mint-creds";
const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// The default for `--output credential-process`: well past the 15 minutes before
/// expiry at which the AWS SDKs and CLI fetch new credentials.
const CREDENTIAL_PROCESS_TTL: Duration = Duration::from_secs(60 * 60);
/// AWS's shortest STS credential lifetime.
use common::config::STS_MIN_TTL;
/// Variables removed from an --exec child, so it uses only the minted credentials.
const CREDENTIAL_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// One lease to mint, checked against the config.
struct Job {
    profile_name: String,
    profile: CredsProfile,
    ttl: Duration,
    role_arn: Option<String>,
    caller: Option<VerifiedIdentity>,
}

fn log(cli: &Cli, text: std::fmt::Arguments<'_>) {
    common::cli::log(cli.common.verbose, TOOL, text);
}

/// The lease's lifetime: asked, else the profile's default, else 15m; capped by the
/// profile's and the login role's max_ttl.
fn lifetime(
    cli: &Cli,
    name: &str,
    p: &CredsProfile,
    role_max: Option<Duration>,
    origin: &str,
) -> Result<Duration> {
    let asked = cli.ttl.map(|d| d.0);
    // The AWS SDKs re-run a credential_process whose credentials expire within 15
    // minutes, so a 15m lease there would be minted anew on every use.
    let fallback = if cli.output == Output::CredentialProcess {
        CREDENTIAL_PROCESS_TTL
    } else {
        DEFAULT_TTL
    };
    let mut ttl = asked.or(p.default_ttl.map(|d| d.0)).unwrap_or(fallback);
    if ttl.is_zero() {
        return Err(Error::usage("--ttl must be more than 0s"));
    }
    for cap in [p.max_ttl.map(|d| d.0), role_max].into_iter().flatten() {
        if ttl > cap {
            log(
                cli,
                format_args!(
                    "ttl {} capped to max_ttl {}",
                    common::duration::Dur(ttl),
                    common::duration::Dur(cap)
                ),
            );
            ttl = cap;
        }
    }
    if p.kind != CredsType::IamUser && ttl < STS_MIN_TTL {
        if asked.is_some_and(|a| a < STS_MIN_TTL) {
            return Err(Error::usage(format!(
                "--ttl {} is shorter than 15m, the least AWS gives STS credentials",
                common::duration::Dur(ttl)
            ))
            .hint("ask for --ttl 15m or more, or use an iam_user profile for shorter leases"));
        }
        return Err(Error::config(format!(
            "[creds.{name}] lifetime {} is below the 15m STS minimum (check default_ttl and max_ttl) {origin}",
            common::duration::Dur(ttl)
        )));
    }
    if ttl.as_secs() < 1 {
        return Err(Error::usage("a lease lives at least 1s"));
    }
    Ok(ttl)
}

fn plan(cli: &Cli, loaded: &Loaded, name: &str, caller: Option<VerifiedIdentity>) -> Result<Job> {
    let config: &Config = &loaded.config;
    let origin = loaded.origin();
    let mut role_max = None;
    if let Some(c) = &caller {
        let role = config.roles.get(&c.role).ok_or_else(|| {
            Error::denied(format!(
                "login role `{}` is not configured {origin}",
                c.role
            ))
        })?;
        if !role.creds.iter().any(|p| p == name) {
            return Err(Error::denied(format!(
                "login role `{}` ({}) may not mint `{name}`",
                c.role, c.identity.arn
            ))
            .hint(format!("add it to [roles.{}] creds {origin}", c.role)));
        }
        role_max = role.max_ttl.map(|d| d.0);
    }
    let profile = config.creds.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.creds.keys().map(String::as_str).collect();
        let e = Error::usage(format!("no [creds.{name}] profile {origin}"));
        if known.is_empty() {
            e
        } else {
            e.hint(format!("profiles: {}", known.join(", ")))
        }
    })?;
    let ttl = lifetime(cli, name, &profile, role_max, &origin)?;
    let role_arn = if profile.kind == CredsType::AssumedRole {
        let mut choices: Vec<&String> = profile
            .role_arn
            .iter()
            .chain(profile.role_arns.iter())
            .collect();
        choices.dedup();
        Some(match &cli.role_arn {
            Some(asked) if choices.contains(&asked) => asked.clone(),
            Some(asked) => {
                return Err(Error::usage(format!(
                    "--role-arn {asked} is not one of [creds.{name}] role_arns"
                ))
                .hint(format!(
                    "choose one of: {}",
                    choices
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            None if choices.len() == 1 => choices[0].clone(),
            None => {
                return Err(Error::usage(format!(
                    "[creds.{name}] has several role_arns: choose one with --role-arn"
                )));
            }
        })
    } else {
        if cli.role_arn.is_some() {
            return Err(Error::usage("--role-arn is for assumed_role profiles"));
        }
        None
    };
    Ok(Job {
        profile_name: name.to_string(),
        profile,
        ttl,
        role_arn,
        caller,
    })
}

/// Keeps the characters IAM allows in names (`[\w+=,.@-]`), at most `max` of them.
fn sanitize(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect()
}

fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&format!("{:016x}", common::ledger::random_u64()));
    }
    s.truncate(len);
    s
}

/// The ledger row for a job, with every AWS name chosen up front.
fn row_for(job: &Job, now: Timestamp) -> LeaseRow {
    let random = random_hex(16);
    let id = format!("creds/{}/{random}", job.profile_name);
    let caller = job
        .caller
        .as_ref()
        .map_or_else(common::ledger::hostname, |c| {
            c.identity.principal_name.clone()
        });
    let resources = match job.profile.kind {
        CredsType::AssumedRole => Resources::AssumedRole {
            role_arn: job.role_arn.clone().unwrap_or_default(),
            // vaultless-<caller>-<random>, at most 64 characters.
            session_name: format!(
                "vaultless-{}-{}",
                sanitize(&caller, 64 - 10 - 13),
                &random[..12]
            ),
        },
        CredsType::FederationToken => Resources::FederationToken {
            // GetFederationToken names are at most 32 characters.
            name: format!("vl-{}-{}", sanitize(&caller, 32 - 3 - 9), &random[..8]),
        },
        CredsType::SessionToken => Resources::SessionToken,
        CredsType::IamUser => Resources::IamUser(IamUser {
            user_name: format!(
                "vaultless-{}-{}",
                sanitize(&job.profile_name, 64 - 10 - 17),
                &random[..16]
            ),
            access_key_id: None,
            inline_policies: if job.profile.policy_document.is_some() {
                vec![mint::INLINE_POLICY.to_string()]
            } else {
                Vec::new()
            },
            policy_arns: job.profile.policy_arns.clone(),
            groups: job.profile.iam_groups.clone(),
        }),
    };
    let ttl = jiff::SignedDuration::try_from(job.ttl).unwrap_or(jiff::SignedDuration::MAX);
    let mut row = LeaseRow::pending(
        id,
        job.profile_name.clone(),
        resources,
        now,
        now.checked_add(ttl).unwrap_or(Timestamp::MAX),
    );
    row.caller_arn = job.caller.as_ref().map(|c| c.identity.arn.clone());
    row
}

struct Clients {
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
}

/// Revokes a lease this process minted (or half-minted) and records it. Errors are
/// reported on stderr: the lease stays in the ledger for the next sweep.
async fn revoke_now(store: &dyn Store, iam: &aws_sdk_iam::Client, id: &str) {
    revoke_audited(store, iam, id, None).await;
}

/// Takes a lease back at once; with `audit` (a lease that was granted: `why` it is
/// taken back), the revocation is a line of its own in the trail.
async fn revoke_audited(
    store: &dyn Store,
    iam: &aws_sdk_iam::Client,
    id: &str,
    audit: Option<(&common::audit::Audit, &str)>,
) {
    use common::revoke::{Finished, Outcome};
    let revoker = Revoker {
        iam: Some(iam.clone()),
        hard: false,
    };
    let owner = common::ledger::owner("mint");
    let done = common::revoke::revoke_lease(store, &revoker, id, &owner, None).await;
    if let Err(e) = &done {
        common::error::warn(
            TOOL,
            &format!("lease {id} is not yet revoked ({e}); the next revoke-lease --expired will"),
        );
    }
    let Some((audit, why)) = audit else {
        return;
    };
    let (outcome, code) = match &done {
        Ok(Finished::Done(Outcome::Revoked, _)) => ("revoked", ExitCode::Ok),
        Ok(Finished::Done(Outcome::ExpiresOnly, _)) => ("expires_only", ExitCode::Ok),
        Ok(Finished::Done(Outcome::AlreadyGone, _) | Finished::AlreadyRevoked) => {
            ("already_revoked", ExitCode::Ok)
        }
        Ok(Finished::Busy) => ("failed", ExitCode::TempFail),
        Ok(Finished::Unknown) => ("failed", ExitCode::NotFound),
        Err(e) => ("failed", e.code()),
    };
    let mut record = audit.record_of("revoke", outcome, code);
    record.target.lease_id = Some(id.to_string());
    record.reason = Some(match &done {
        Err(e) => format!("{why}; {e}"),
        Ok(_) => why.to_string(),
    });
    if let Err(e) = audit.record(&record) {
        common::error::warn(
            TOOL,
            &format!("the revocation of {id} is not in the trail: {e}"),
        );
    }
}

async fn mint_one(
    cli: &Cli,
    job: &Job,
    ledger: &dyn Store,
    clients: &Clients,
) -> Result<(Lease, LeaseRow)> {
    let now = Timestamp::now();
    let row = row_for(job, now);
    // The row goes in before the first AWS call: a crash from here on leaves it for
    // the sweeper to roll back.
    ledger.insert_pending(&row).await?;
    log(
        cli,
        format_args!("lease {} ({}) recorded; minting", row.id, row.kind().name()),
    );
    let ttl_secs = i32::try_from(job.ttl.as_secs()).unwrap_or(i32::MAX);
    let minted: Result<Minted> = match &row.resources {
        Resources::IamUser(user) => {
            let minted = mint::iam_user(&clients.iam, &job.profile, &row, user).await;
            let wait = job.profile.key_wait.map_or(mint::DEFAULT_KEY_WAIT, |d| d.0);
            if let Ok(key) = &minted
                && !cli.no_wait
                && !wait.is_zero()
            {
                let started = std::time::Instant::now();
                match mint::wait_for_key(&clients.sts, key, wait).await {
                    Ok(calls) => log(
                        cli,
                        format_args!(
                            "the new key of {} works ({calls} sts:GetCallerIdentity, {} ms)",
                            user.user_name,
                            started.elapsed().as_millis()
                        ),
                    ),
                    Err(calls) => common::error::warn(
                        TOOL,
                        &format!(
                            "AWS still refused the new key of {} after {}s ({calls} tries); it is handed out, and should work within a minute",
                            user.user_name,
                            wait.as_secs()
                        ),
                    ),
                }
            }
            minted
        }
        _ => {
            let source = job
                .caller
                .as_ref()
                .map(|c| sanitize(&c.identity.principal_name, 64));
            mint::sts(
                &clients.sts,
                &job.profile,
                &row,
                ttl_secs,
                source.as_deref(),
                cli.mfa_code.as_deref(),
            )
            .await
        }
    };
    let minted = match minted {
        Ok(m) => m,
        Err(e) => {
            revoke_now(ledger, &clients.iam, &row.id).await;
            return Err(e);
        }
    };
    let expires_at = minted.expires_at.unwrap_or(row.expires_at);
    let key_id =
        matches!(row.resources, Resources::IamUser(_)).then_some(minted.access_key_id.as_str());
    if !ledger.activate(&row.id, key_id, expires_at).await? {
        revoke_now(ledger, &clients.iam, &row.id).await;
        return Err(Error::temp_fail(format!(
            "lease {} was revoked while it was being minted",
            row.id
        )));
    }
    let lease = Lease {
        lease_id: row.id.clone(),
        credential_type: row.kind().name().to_string(),
        lease_duration: u64::try_from(expires_at.as_second() - now.as_second()).unwrap_or(0),
        renewable: false,
        issued_at: common::time::format(now),
        expires_at: common::time::format(expires_at),
        credentials: ProcessCredentials {
            version: 1,
            access_key_id: minted.access_key_id,
            secret_access_key: minted.secret_access_key,
            session_token: minted.session_token,
            expiration: Some(common::time::format(expires_at)),
        },
    };
    Ok((lease, LeaseRow { expires_at, ..row }))
}

/// Writes the audit line of one mint: granted with what was made, or refused.
fn audit_mint(
    audit: &common::audit::Audit,
    job: Option<&Job>,
    minted: &Result<(Lease, LeaseRow)>,
) -> Result<()> {
    if !audit.enabled() {
        return Ok(());
    }
    let mut record = match minted {
        Ok((_, row)) => {
            let mut r = audit.record_of("mint", "granted", ExitCode::Ok);
            r.target = common::audit::lease_target(row);
            r
        }
        Err(e) => {
            let (outcome, reason) = common::audit::refusal(e);
            let mut r = audit.record_of("mint", outcome, e.code());
            r.reason = reason;
            r
        }
    };
    if let Some(job) = job {
        record.target.profile = Some(job.profile_name.clone());
        if let Some(c) = &job.caller {
            record.caller = Some(common::audit::caller(c));
            record.proof_hash = c.proof_hash.clone();
        }
    }
    audit.record(&record)
}

fn env_lines(lease: &Lease) -> String {
    credential_vars(lease)
        .iter()
        .map(|(k, v)| common::output::shell_export(k, v))
        .collect()
}

fn credential_vars(lease: &Lease) -> Vec<(&'static str, String)> {
    let c = &lease.credentials;
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", c.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.clone()),
    ];
    if let Some(t) = &c.session_token {
        vars.push(("AWS_SESSION_TOKEN", t.clone()));
    }
    vars.push(("AWS_CREDENTIAL_EXPIRATION", lease.expires_at.clone()));
    vars
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = cli.common.load_config()?;
    // Opened before anything is read: a broker that cannot audit mints nothing, and a
    // refusal is in the trail as much as a mint.
    let audit = common::audit::Audit::open(&loaded.config, TOOL)?;
    let source = cli.act.identity_source(
        loaded.config.broker.require_identity,
        cli.name.is_some(),
        "mint-creds NAME",
    )?;
    let jobs: Vec<Result<Job>> = match &source {
        None => vec![plan(
            &cli,
            &loaded,
            cli.name.as_deref().expect("named"),
            None,
        )],
        Some(src) => broker::read_identities(src, TOOL)
            .map_err(|e| audit.refused_run("mint", e))?
            .into_iter()
            .map(|identity| {
                let caller = identity?;
                let name = match (
                    &cli.name,
                    caller.request.as_ref().and_then(|r| r.get("creds")),
                ) {
                    (Some(n), _) => n.clone(),
                    (None, Some(serde_json::Value::String(n))) if !n.is_empty() => n.clone(),
                    (None, Some(_)) => {
                        return Err(Error::bad_input("request.creds must be a non-empty string"));
                    }
                    (None, None) => {
                        return Err(Error::bad_input(format!(
                            "{} named no creds profile",
                            caller.identity.arn
                        ))
                        .hint(
                            "name it as an argument, or sign the proof with --request creds=NAME",
                        ));
                    }
                };
                plan(&cli, &loaded, &name, Some(caller))
            })
            .collect(),
    };
    if jobs.len() > 1 && cli.output != Output::Json {
        return Err(
            Error::usage("--output credential-process and env take exactly one lease").into(),
        );
    }
    if jobs.len() == 1 && jobs[0].is_err() {
        let e = jobs
            .into_iter()
            .next()
            .expect("one job")
            .err()
            .expect("an error");
        return Err(audit.refused_run("mint", e).into());
    }
    let runtime = common::runtime::current_thread()?;
    runtime.block_on(async {
        let ledger = common::ledger::open(&loaded.config).await?;
        let cache = match (&jobs[..], cli.output) {
            ([Ok(job)], Output::CredentialProcess) if !cli.no_cache && !cli.act.exec => {
                let asked = [
                    format!("ttl={}", job.ttl.as_secs()),
                    format!("role_arn={:?}", job.role_arn),
                ];
                let key = cache::key(
                    &job.profile_name,
                    &job.profile,
                    loaded.path.as_deref(),
                    &asked,
                    job.caller.as_ref(),
                );
                let min = job
                    .profile
                    .reuse_min_remaining
                    .map_or(cache::DEFAULT_REUSE_MIN_REMAINING, |d| d.0);
                if job.ttl <= min {
                    common::error::warn(
                        TOOL,
                        &format!(
                            "a {} lease never has more than reuse_min_remaining {} left, so it is not reused: every call mints one (the AWS CLI and SDKs also run credential_process again for credentials expiring within 15 minutes); ask for --ttl 1h",
                            common::duration::Dur(job.ttl),
                            common::duration::Dur(min)
                        ),
                    );
                }
                cache::Cache::open(key, min)
            }
            _ => None,
        };
        // Held until this call has minted and cached its lease: parallel calls wait,
        // then find it.
        let mut _lock = None;
        if let Some(cache) = &cache {
            if let Some(lease) = cache.lookup(ledger.as_ref(), false).await {
                return reuse(&cli, &audit, &jobs, &lease);
            }
            _lock = cache.lock();
            if _lock.is_some()
                && let Some(lease) = cache.lookup(ledger.as_ref(), true).await
            {
                return reuse(&cli, &audit, &jobs, &lease);
            }
        }
        let aws = common::aws::load_global().await?;
        let clients = Clients {
            sts: aws_sdk_sts::Client::new(&aws.config),
            iam: aws_sdk_iam::Client::new(&aws.config),
        };
        // Minted, audited, then handed out; a lease whose line cannot be written is
        // revoked at once.
        let mint_audited = |job: Result<Job>| async {
            let (job, minted) = match job {
                Ok(job) => {
                    let minted = mint_one(&cli, &job, ledger.as_ref(), &clients).await;
                    (Some(job), minted)
                }
                Err(e) => (None, Err(e)),
            };
            // The outer error: the audit line could not be written (fatal).
            if let Err(e) = audit_mint(&audit, job.as_ref(), &minted) {
                if let Ok((_, row)) = &minted {
                    revoke_now(ledger.as_ref(), &clients.iam, &row.id).await;
                }
                return Err(e);
            }
            Ok(minted)
        };
        if cli.act.exec {
            let job = jobs.into_iter().next().expect("one job");
            let (lease, _) = mint_audited(job).await??;
            return exec(&cli, &lease, ledger.as_ref(), &clients, &audit).await;
        }
        let mut out = common::output::Batch::new(TOOL, "item", jobs.len() > 1);
        for job in jobs {
            let minted = mint_audited(job).await?;
            let (lease, row) = match minted {
                Ok(m) => m,
                Err(e) => {
                    out.item::<Lease>(Err(e))?;
                    continue;
                }
            };
            let written = match cli.output {
                Output::Json => out.item(Ok(&lease)),
                Output::CredentialProcess => out.item(Ok(&lease.credentials)),
                Output::Env => {
                    common::output::raw(env_lines(&lease).as_bytes()).map_err(Into::into)
                }
            };
            if written.is_ok()
                && let Some(cache) = &cache
            {
                cache.store(&lease);
            }
            if let Err(e) = written {
                // Nobody received these credentials: take them back now.
                revoke_audited(
                    ledger.as_ref(),
                    &clients.iam,
                    &row.id,
                    Some((&audit, "its credentials could not be written out")),
                )
                .await;
                return Err(Error::temp_fail(format!(
                    "could not write the credentials of lease {} ({}); the lease was revoked",
                    row.id,
                    common::error::render(&e)
                ))
                .into());
            }
        }
        Ok(out.finish())
    })
}

/// Hands a cached lease out again, audited like a mint.
fn reuse(
    cli: &Cli,
    audit: &common::audit::Audit,
    jobs: &[Result<Job>],
    lease: &Lease,
) -> anyhow::Result<ExitCode> {
    log(
        cli,
        format_args!(
            "reusing cached lease {} (expires {})",
            lease.lease_id, lease.expires_at
        ),
    );
    if audit.enabled() {
        let mut record = audit.record_of("mint", "reused", ExitCode::Ok);
        record.target.lease_id = Some(lease.lease_id.clone());
        if let Some(Ok(job)) = jobs.first() {
            record.target.profile = Some(job.profile_name.clone());
            if let Some(c) = &job.caller {
                record.caller = Some(common::audit::caller(c));
                record.proof_hash = c.proof_hash.clone();
            }
        }
        audit.record(&record)?;
    }
    common::output::json_line(&lease.credentials)?;
    Ok(ExitCode::Ok)
}

/// Runs the command with the lease's credentials (and no other credential settings)
/// in its environment; with --revoke-on-exit, revokes the lease when it ends.
async fn exec(
    cli: &Cli,
    lease: &Lease,
    ledger: &dyn Store,
    clients: &Clients,
    audit: &common::audit::Audit,
) -> anyhow::Result<ExitCode> {
    let mut cmd = tokio::process::Command::new(&cli.act.command[0]);
    cmd.args(&cli.act.command[1..]);
    for var in CREDENTIAL_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(credential_vars(lease));
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let why = "the --exec command could not be run";
            revoke_audited(ledger, &clients.iam, &lease.lease_id, Some((audit, why))).await;
            return Err(Error::usage(format!("cannot run `{}`: {e}", cli.act.command[0])).into());
        }
    };
    // Ctrl-C reaches the command too; mint-creds stays to revoke once it has ended.
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.context("waiting for the command")?,
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    if cli.revoke_on_exit {
        log(cli, format_args!("revoking lease {}", lease.lease_id));
        let why = "--revoke-on-exit: the command ended";
        revoke_audited(ledger, &clients.iam, &lease.lease_id, Some((audit, why))).await;
    }
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_and_bounded() {
        assert_eq!(sanitize("ci runner/x", 64), "ci-runner-x");
        assert_eq!(sanitize(&"a".repeat(100), 10).len(), 10);
    }
}
