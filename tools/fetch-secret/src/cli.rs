//! fetch-secret's command line.

use clap::{Parser, ValueEnum};
use common::cli::CommonArgs;

#[derive(Debug, Parser)]
#[command(
    name = "fetch-secret",
    version,
    about = "Read AWS Secrets Manager secrets, for a workload or for a verified caller",
    long_about = "Read secrets from AWS Secrets Manager with this machine's AWS identity, so no secret has \
to be stored on the machine.\n\n\
Workload-direct: name the secret (or set VAULTLESS_SECRET_ID) and fetch-secret reads it with the standard \
AWS credential chain and prints it as JSON, raw, shell `export` lines or a dotenv file, or runs a command \
with the secret's keys in its environment (--exec), so the value never touches stdout, a file or argv.\n\n\
Broker: behind verify-login (`verify-login | fetch-secret`), fetch-secret reads verified identities on \
stdin and fetches, for each caller, only what the `secrets` patterns of the caller's login role in the \
config allow. The secret is the argument, or the `request.secret_id` the caller put in its proof. Each \
caller gets one output line, its identity travelling along with the secret.\n\n\
stdin is read only with --identity, when the config sets [broker] require_identity, or when no secret \
is named; otherwise it is left alone for an --exec child."
)]
pub struct Cli {
    /// Secret names or ARNs; several give NDJSON, fetched concurrently
    /// [default: $VAULTLESS_SECRET_ID]
    #[arg(value_name = "SECRET_ID")]
    pub secret_ids: Vec<String>,

    /// Read this version instead of the current one
    #[arg(long, value_name = "ID", conflicts_with = "version_stage")]
    pub version_id: Option<String>,

    /// Read the version with this staging label [default: AWSCURRENT]
    #[arg(long, value_name = "STAGE")]
    pub version_stage: Option<String>,

    /// Print one field of a JSON secret (nested: a.b); strings as they are
    #[arg(long, value_name = "KEY")]
    pub field: Option<String>,

    /// Output: json (the secret document), raw (the value exactly), env (`export KEY='value'`
    /// lines), dotenv (KEY=value lines)
    #[arg(long, value_enum, default_value_t = Output::Json, value_name = "FORMAT")]
    pub output: Output,

    /// Prefix for variable names made from a JSON secret's keys (env, dotenv, --exec)
    #[arg(long, value_name = "PREFIX")]
    pub env_prefix: Option<String>,

    /// Variable name for a plain-string secret (env, dotenv, --exec)
    #[arg(long = "env", value_name = "NAME")]
    pub env_name: Option<String>,

    /// AWS region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    #[command(flatten)]
    pub act: common::cli::ActArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Raw,
    Env,
    Dotenv,
}
