//! sign-login: signs, without sending, an sts:GetCallerIdentity request with the
//! machine's own AWS credentials and prints it as a login proof.

pub mod cli;
mod sign;

use common::ExitCode;
use common::docs::Request;
use common::proof;

use crate::cli::{Cli, OutputFormat};

pub const TOOL: &str = "sign-login";

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let server_id = match &cli.server_id {
        Some(id) => Some(id.clone()),
        None if cli.format == OutputFormat::Eks && cli.cluster.is_some() => None,
        // The config is read only when it could supply the server ID.
        None => cli.common.load_config()?.config.login.server_id,
    };
    if server_id
        .as_deref()
        .is_some_and(|id| id.is_empty() || id.chars().any(char::is_control))
    {
        return Err(common::Error::usage("--server-id must be non-empty printable text").into());
    }
    let runtime = common::runtime::current_thread()?;
    let settings = runtime.block_on(common::aws::sts_settings());
    let target = sign::Target::resolve(cli.region.as_deref(), &settings)?;
    let extra: Option<Request> = (!cli.request.is_empty()).then(|| {
        cli.request
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect()
    });
    let cluster = match cli.format {
        OutputFormat::Eks => Some(
            cli.cluster
                .clone()
                .or_else(|| server_id.clone())
                .ok_or_else(|| {
                    common::Error::usage("--format eks needs the cluster name")
                        .hint("pass --cluster NAME (or --server-id)")
                })?,
        ),
        _ => None,
    };

    let creds = runtime.block_on(common::aws::credentials(&target.region))?;
    common::cli::log(
        cli.common.verbose,
        TOOL,
        format_args!(
            "signing for {} as {} (region {})",
            target.url,
            creds.access_key_id(),
            target.region
        ),
    );

    let now = std::time::SystemTime::now();
    let out = match cli.format {
        OutputFormat::Vault | OutputFormat::Akeyless => {
            let req = sign::post(&target, &creds, server_id.as_deref(), now)?;
            if cli.format == OutputFormat::Vault {
                serde_json::to_string(&proof::to_vault(&req, cli.role.clone(), extra))?
            } else {
                serde_json::to_string(&proof::to_akeyless(&req, cli.role.clone(), extra))?
            }
        }
        OutputFormat::Eks => {
            let cluster = cluster.expect("checked above");
            let url = sign::presign(&target, &creds, &cluster, now)?;
            let expires = common::time::format(
                jiff::Timestamp::try_from(now)?.checked_add(jiff::SignedDuration::from_mins(15))?,
            );
            serde_json::to_string(&proof::to_eks(&url, expires, cli.role.clone(), extra))?
        }
    };
    common::output::raw(format!("{out}\n").as_bytes())?;
    Ok(ExitCode::Ok)
}
