//! mint-creds' command line.

use clap::{Parser, ValueEnum};
use common::cli::CommonArgs;
use common::duration::Dur;

#[derive(Debug, Parser)]
#[command(
    name = "mint-creds",
    version,
    about = "Mint short-lived AWS credentials under a lease recorded in a ledger",
    long_about = "Mint short-lived AWS credentials from a [creds.NAME] profile of the config: an assumed role \
(sts:AssumeRole), a federation token, a session token, or a dynamic IAM user made for this lease alone. \
Every mint is recorded in the lease ledger before anything is created in AWS, so a mint killed half-way \
leaves a row that `revoke-lease --expired` rolls back; revoke-lease, run from cron, cleans up expired \
leases.\n\n\
Behind verify-login (`verify-login | mint-creds`), mint-creds reads verified identities on stdin and mints \
only profiles the caller's login role lists in `creds`; the profile is the argument or the caller's \
request.creds. stdin is read only with --identity, when the config sets [broker] require_identity, or \
when no profile is named: `--output credential-process` with a NAME never touches it.\n\n\
STS is called in the configured region (AWS_REGION, the profile), else us-east-1; instance metadata is \
never asked for a region."
)]
pub struct Cli {
    /// The [creds.NAME] profile to mint
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// How long the credentials live [default: the profile's default_ttl, else 15m, or 1h
    /// with --output credential-process];
    /// capped by the profile's (and the login role's) max_ttl. STS types need at least 15m
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<Dur>,

    /// Output: json (the lease document), credential-process (only the credentials, as
    /// the AWS CLI and SDKs read them), env (export AWS_ACCESS_KEY_ID=... lines)
    #[arg(long, value_enum, default_value_t = Output::Json, value_name = "FORMAT")]
    pub output: Output,

    /// assumed_role: which of the profile's role_arns to assume
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// session_token: the current code of the profile's MFA device
    #[arg(long, value_name = "CODE")]
    pub mfa_code: Option<String>,

    #[command(flatten)]
    pub act: common::cli::ActArgs,

    /// With --exec: revoke the lease when the command ends
    #[arg(long, requires = "exec")]
    pub revoke_on_exit: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    CredentialProcess,
    Env,
}
