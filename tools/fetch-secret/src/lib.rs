//! fetch-secret: reads AWS Secrets Manager for the workload itself, or, behind
//! verify-login, for each verified caller within the grants of its login role.

pub mod cli;
mod fetch;
mod render;

use std::io::IsTerminal;

use aws_sdk_secretsmanager::Client;
use common::broker::{self, IdentitySource};
use common::config::Loaded;
use common::docs::{Secret, VerifiedIdentity};
use common::{Error, ExitCode, Result};

use crate::cli::{Cli, Output};
use crate::fetch::Version;

pub const TOOL: &str = "fetch-secret";

/// What the command line asks for, checked before anything is read or fetched.
struct Plan<'a> {
    cli: &'a Cli,
    ids: Vec<String>,
    version: Version,
    audit: &'a common::audit::Audit,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = cli.common.load_config()?;
    let mut ids = cli.secret_ids.clone();
    if ids.is_empty()
        && let Some(id) = std::env::var("VAULTLESS_SECRET_ID")
            .ok()
            .filter(|v| !v.is_empty())
    {
        ids.push(id);
    }
    let source = cli.act.identity_source(
        loaded.config.broker.require_identity,
        !ids.is_empty(),
        "fetch-secret ID",
    )?;
    let single_value = cli.field.is_some() || cli.output == Output::Raw;
    if source.is_none() && single_value && ids.len() > 1 {
        return Err(Error::usage("--field and --output raw take one secret").into());
    }
    if cli.env_name.is_some() && ids.len() > 1 {
        return Err(Error::usage(
            "--env names the variable of one plain-string secret; name one secret",
        )
        .into());
    }
    // Opened before anything is read: a broker that cannot audit hands nothing out.
    let audit = common::audit::Audit::open(&loaded.config, TOOL)?;
    let plan = Plan {
        cli: &cli,
        audit: &audit,
        ids,
        version: Version {
            id: cli.version_id.clone(),
            stage: cli.version_stage.clone(),
        },
    };
    // Identities are read before any AWS work, so a broker refuses early and cheaply.
    let identities = source
        .as_ref()
        .map(|s| broker::read_identities(s, TOOL))
        .transpose()
        .map_err(|e| audit.refused_run("read_secret", e))?;
    if let Some(IdentitySource::File(_)) | Some(IdentitySource::Stdin) = &source {
        log(
            &cli,
            format_args!(
                "acting for {} verified caller(s)",
                identities.as_ref().map_or(0, Vec::len)
            ),
        );
    }

    let runtime = common::runtime::current_thread()?;
    let outcome = runtime.block_on(async {
        let aws = common::aws::load(cli.region.as_deref()).await?;
        let client = Client::new(&aws.config);
        match identities {
            None => workload(&plan, &client).await,
            Some(list) => broker_mode(&plan, &client, &loaded, list)
                .await
                .map(Outcome::Done),
        }
    })?;
    match outcome {
        Outcome::Done(code) => Ok(code),
        Outcome::Exec(vars) => exec(&cli.act.command, vars),
    }
}

enum Outcome {
    Done(ExitCode),
    Exec(Vec<(String, String)>),
}

fn log(cli: &Cli, text: std::fmt::Arguments<'_>) {
    common::cli::log(cli.common.verbose, TOOL, text);
}

/// Says once, on stderr, that a secret is about to be shown on a terminal.
fn notice_terminal() {
    if std::io::stdout().is_terminal() {
        common::output::stderr(&format!(
            "{TOOL}: note: the secret value is shown on this terminal\n"
        ));
    }
}

async fn workload(plan: &Plan<'_>, client: &Client) -> anyhow::Result<Outcome> {
    if plan.ids.is_empty() {
        return Err(Error::usage("no secret named")
            .hint("fetch-secret SECRET_ID, or set VAULTLESS_SECRET_ID")
            .into());
    }
    log(plan.cli, format_args!("reading {}", plan.ids.join(", ")));
    let results = fetch::many(client, &plan.ids, &plan.version).await;
    let asked: Vec<(Option<&VerifiedIdentity>, &str)> =
        plan.ids.iter().map(|id| (None, id.as_str())).collect();
    audit_reads(plan.audit, &asked, &results)?;
    let cli = plan.cli;
    if cli.act.exec || (cli.field.is_none() && matches!(cli.output, Output::Env | Output::Dotenv)) {
        let secrets = results.into_iter().collect::<Result<Vec<_>>>()?;
        let vars = merged_variables(cli, &secrets)?;
        if cli.act.exec {
            return Ok(Outcome::Exec(vars));
        }
        print_variables(cli, &vars)?;
        return Ok(Outcome::Done(ExitCode::Ok));
    }
    if cli.field.is_some() || cli.output == Output::Raw {
        let secret = results.into_iter().next().expect("one secret")?;
        print_value(cli, &secret)?;
        return Ok(Outcome::Done(ExitCode::Ok));
    }
    print_documents(results).map(Outcome::Done)
}

/// Prints variables as `--output env` or `dotenv` lines.
fn print_variables(cli: &Cli, vars: &[(String, String)]) -> anyhow::Result<()> {
    notice_terminal();
    let text: String = vars
        .iter()
        .map(|(k, v)| match cli.output {
            Output::Env => common::output::shell_export(k, v),
            _ => render::dotenv_line(k, v),
        })
        .collect();
    common::output::raw(text.as_bytes())?;
    Ok(())
}

/// Prints `--field` or `--output raw` for one secret.
fn print_value(cli: &Cli, secret: &Secret) -> Result<(), anyhow::Error> {
    let (bytes, is_text) = match &cli.field {
        Some(path) => (
            render::text(&render::field(secret, path)?).into_bytes(),
            true,
        ),
        None => (render::raw_value(secret)?, secret.secret_string.is_some()),
    };
    notice_terminal();
    let mut out = bytes;
    if is_text && std::io::stdout().is_terminal() {
        out.push(b'\n');
    }
    common::output::raw(&out)?;
    Ok(())
}

/// Prints secret documents as NDJSON, an error line in place of each failure.
fn print_documents(results: Vec<Result<Secret>>) -> anyhow::Result<ExitCode> {
    let mut out =
        common::output::Batch::new(TOOL, "item", results.len() > 1).before_first(notice_terminal);
    for result in results {
        out.item(result)?;
    }
    Ok(out.finish())
}

/// Every secret's variables, later secrets winning; collisions are named on stderr.
fn merged_variables(cli: &Cli, secrets: &[Secret]) -> Result<Vec<(String, String)>> {
    let prefix = cli.env_prefix.as_deref().unwrap_or("");
    let mut vars: Vec<(String, String)> = Vec::new();
    for secret in secrets {
        for (name, value) in render::variables(secret, prefix, cli.env_name.as_deref())? {
            if let Some(slot) = vars.iter_mut().find(|(k, _)| *k == name) {
                common::error::warn(
                    TOOL,
                    &format!(
                        "{name} is set by more than one secret; `{}` wins",
                        secret.name
                    ),
                );
                slot.1 = value;
            } else {
                vars.push((name, value));
            }
        }
    }
    Ok(vars)
}

/// Replaces this process with the command, its environment holding the variables.
fn exec(command: &[String], vars: Vec<(String, String)>) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(&command[0])
        .args(&command[1..])
        .envs(vars)
        .exec();
    Err(Error::usage(format!("cannot run `{}`: {err}", command[0])).into())
}

/// The secret name in a Secrets Manager ARN, without the 6-character suffix AWS adds.
fn arn_secret_name(arn: &str) -> Option<&str> {
    let name = arn.strip_prefix("arn:")?.split_once(":secret:")?.1;
    match name.rsplit_once('-') {
        Some((base, suffix))
            if suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some(base)
        }
        _ => Some(name),
    }
}

/// True when a role's `secrets` patterns grant this name or ARN; a pattern on a name
/// also grants that secret's ARN.
fn granted(patterns: &[String], name_or_arn: &str) -> bool {
    broker::matches_any(patterns, name_or_arn)
        || arn_secret_name(name_or_arn).is_some_and(|name| broker::matches_any(patterns, name))
}

/// What one verified caller asked for.
fn requested(plan: &Plan<'_>, id: &VerifiedIdentity) -> Result<Vec<String>> {
    if !plan.ids.is_empty() {
        return Ok(plan.ids.clone());
    }
    match id.request.as_ref().and_then(|r| r.get("secret_id")) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(vec![s.clone()]),
        Some(_) => Err(Error::bad_input(
            "request.secret_id must be a non-empty string",
        )),
        None => Err(
            Error::bad_input(format!("{} named no secret", id.identity.arn))
                .hint("name it as an argument, or sign the proof with --request secret_id=NAME"),
        ),
    }
}

/// Writes the audit line of every read (granted or refused) before anything is
/// printed: when one cannot be written, no secret is handed out.
fn audit_reads(
    audit: &common::audit::Audit,
    asked: &[(Option<&VerifiedIdentity>, &str)],
    results: &[Result<Secret>],
) -> Result<()> {
    if !audit.enabled() {
        return Ok(());
    }
    for ((caller, secret_id), result) in asked.iter().zip(results) {
        let mut record = match result {
            Ok(secret) => {
                let mut r = audit.record_of("read_secret", "granted", ExitCode::Ok);
                r.target.secret_arn = Some(secret.arn.clone());
                r.target.version_id = Some(secret.version_id.clone());
                r
            }
            Err(e) => {
                let (outcome, reason) = common::audit::refusal(e);
                let mut r = audit.record_of("read_secret", outcome, e.code());
                r.reason = reason;
                r
            }
        };
        record.target.secret_id = (!secret_id.is_empty()).then(|| secret_id.to_string());
        if let Some(c) = caller {
            record.caller = Some(common::audit::caller(c));
            record.proof_hash = c.proof_hash.clone();
        }
        audit.record(&record)?;
    }
    Ok(())
}

/// Fetches one secret for one caller, inside the caller's grants.
async fn for_caller(
    client: &Client,
    loaded: &Loaded,
    caller: &VerifiedIdentity,
    secret_id: &str,
    version: &Version,
) -> Result<Secret> {
    let role = loaded.config.roles.get(&caller.role).ok_or_else(|| {
        Error::denied(format!(
            "login role `{}` is not configured {}",
            caller.role,
            loaded.origin()
        ))
    })?;
    let refuse = || {
        Error::denied(format!(
            "login role `{}` ({}) is not granted secret `{secret_id}`",
            caller.role, caller.identity.arn
        ))
        .hint(format!(
            "add it to [roles.{}] secrets {}",
            caller.role,
            loaded.origin()
        ))
    };
    if !granted(&role.secrets, secret_id) {
        return Err(refuse());
    }
    let mut secret = fetch::one(client, secret_id, version).await?;
    // The name asked for may be a partial ARN; the secret read must be granted too.
    if !(granted(&role.secrets, &secret.name) || granted(&role.secrets, &secret.arn)) {
        return Err(refuse());
    }
    secret.caller = Some(caller.clone());
    Ok(secret)
}

async fn broker_mode(
    plan: &Plan<'_>,
    client: &Client,
    loaded: &Loaded,
    identities: Vec<Result<VerifiedIdentity>>,
) -> anyhow::Result<ExitCode> {
    let mut results: Vec<Result<Secret>> = Vec::new();
    let mut asked: Vec<(Option<VerifiedIdentity>, String)> = Vec::new();
    for identity in identities {
        let caller = match identity {
            Ok(c) => c,
            Err(e) => {
                results.push(Err(e));
                asked.push((None, String::new()));
                continue;
            }
        };
        match requested(plan, &caller) {
            Err(e) => {
                results.push(Err(e));
                asked.push((Some(caller.clone()), String::new()));
            }
            Ok(ids) => {
                for secret_id in ids {
                    asked.push((Some(caller.clone()), secret_id.clone()));
                    log(
                        plan.cli,
                        format_args!(
                            "{} (role {}) asks for {secret_id}",
                            caller.identity.arn, caller.role
                        ),
                    );
                    results
                        .push(for_caller(client, loaded, &caller, &secret_id, &plan.version).await);
                }
            }
        }
    }
    let asked: Vec<(Option<&VerifiedIdentity>, &str)> = asked
        .iter()
        .map(|(c, id)| (c.as_ref(), id.as_str()))
        .collect();
    audit_reads(plan.audit, &asked, &results)?;
    let cli = plan.cli;
    if cli.field.is_some() || cli.output != Output::Json {
        if results.len() != 1 {
            return Err(Error::usage(
                "--field and --output other than json take exactly one caller and one secret",
            )
            .into());
        }
        let secret = results.pop().expect("one result")?;
        if cli.field.is_some() || cli.output == Output::Raw {
            print_value(cli, &secret)?;
        } else {
            print_variables(cli, &merged_variables(cli, std::slice::from_ref(&secret))?)?;
        }
        return Ok(ExitCode::Ok);
    }
    print_documents(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_names() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/db-AbC123";
        assert_eq!(arn_secret_name(arn), Some("ci/db"));
        assert_eq!(
            arn_secret_name("arn:aws:secretsmanager:us-east-1:1:secret:ci/db"),
            Some("ci/db")
        );
        assert_eq!(arn_secret_name("ci/db"), None);
    }

    #[test]
    fn grants_match_names_and_arns() {
        let p = vec!["ci/*".to_string()];
        assert!(granted(&p, "ci/db"));
        assert!(granted(
            &p,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/db-AbC123"
        ));
        assert!(!granted(&p, "prod/db"));
        assert!(!granted(
            &p,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123"
        ));
    }
}
