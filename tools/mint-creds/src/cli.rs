//! mint-creds' command line.

use clap::{Parser, ValueEnum};
use common::cli::CommonArgs;
use common::duration::Dur;
use common::manual::Section;

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

    /// With --output credential-process: mint a new lease, neither reusing a cached one
    /// nor caching this one
    #[arg(long)]
    pub no_cache: bool,

    /// iam_user: hand the new key out at once, without waiting until AWS accepts it
    #[arg(long)]
    pub no_wait: bool,

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

/// The man page's sections beyond what clap knows (`TOOL --generate man`).
pub const MANUAL: &[Section] = &[
    Section {
        title: "CONFIG",
        body: &[
            "[creds.NAME] type = \"assumed_role\" | \"federation_token\" | \"session_token\" | \"iam_user\".",
            "assumed_role: role_arn (or role_arns, chosen with --role-arn), policy_document and policy_arns (a session policy), session_tags, external_id. The session is named vaultless-CALLER-RANDOM; behind verify-login SourceIdentity is the caller's principal name, so CloudTrail shows who was behind the session.",
            "federation_token: policy_document or policy_arns, required: without one the token would carry the minting identity's own permissions.",
            "session_token: mfa_serial_number, with --mfa-code.",
            "iam_user: a user vaultless-PROFILE-RANDOM made for this lease alone, with user_path, permissions_boundary_arn, the inline policy_document, the managed policy_arns and the iam_groups, tagged with the lease id; revoke-lease deletes it.",
            "default_ttl (else 15m, or 1h with --output credential-process: the AWS SDKs and CLI run a credential_process again whenever its credentials expire within 15 minutes, so shorter leases would be minted anew on every use) and max_ttl. STS types live at least 15m (AWS's minimum); an iam_user lease lives any time from 1s.",
            "reuse_min_remaining (default 15m): --output credential-process hands a cached lease out again while it has more than this left. key_wait (iam_user, default 20s, 0s for never): how long a new access key is given to start working.",
            common::manual::LEDGER,
        ],
    },
    Section {
        title: "CREDENTIAL PROCESS CACHE",
        body: &[
            "The AWS CLI and SDKs do not cache what a credential_process prints: every aws command, and every parallel process of a terraform run, runs mint-creds again. So --output credential-process reuses a live lease of the same profile, config file, TTL, role and caller (the verified identity behind verify-login, else this user and the AWS_* settings of the environment, secrets excepted) while it has more than reuse_min_remaining left, instead of minting one lease (for iam_user: one IAM user) per call.",
            "Entries live in $XDG_RUNTIME_DIR/vaultless/ (a per-user tmpfs, emptied at logout), else in $XDG_STATE_HOME/vaultless/cache/: a 0700 directory of 0600 files owned by the user, written whole by rename. A lock per entry (flock) makes parallel calls mint once; the others wait (at most a minute) and reuse it. An entry is trusted only when it is a regular file of this user that no one else may read, parses, and names a lease the ledger still holds active: a revoked lease is never handed out again. A corrupt, foreign-owned, open or symlinked entry is ignored with a warning and replaced.",
            "The trade-off: the credentials sit on disk (a tmpfs where XDG_RUNTIME_DIR is set) for up to the lease's lifetime, readable by this user and root, as the AWS CLI's own SSO and assume-role caches are; in exchange a busy workstation or CI job holds one lease per profile instead of hundreds. --no-cache neither reads nor writes the cache: one call, one lease.",
        ],
    },
    Section {
        title: "IAM USER KEYS",
        body: &[
            "IAM is eventually consistent: for a few seconds after CreateAccessKey, AWS refuses the new key (InvalidClientTokenId). mint-creds therefore calls sts:GetCallerIdentity with the new key, under a backoff from 200 ms to 3 s, until AWS accepts it or key_wait (default 20s) has passed, so that the caller's first command does not fail. Past key_wait the lease is handed out with a warning. --no-wait hands it out at once.",
        ],
    },
    Section {
        title: "LEASES",
        body: &[
            "Before its first AWS call mint-creds writes a pending row to the ledger, naming what it is about to create; it marks the row active once the credentials exist. A mint killed half-way leaves a pending row that revoke-lease --expired rolls back once it is older than pending_grace. If the credentials cannot be written (a closed pipe), they are revoked at once and mint-creds exits 75. No secret is ever written to the ledger.",
        ],
    },
    common::manual::AUDIT,
    Section {
        title: "ENVIRONMENT",
        body: &[
            "AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM and the rest of the standard AWS settings, for the minting identity. VAULTLESS_CONFIG: the default for --config. XDG_STATE_HOME: where the ledger lives by default. XDG_RUNTIME_DIR: where the credential_process cache lives.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "The AWS CLI and SDKs use mint-creds as a credential source (in ~/.aws/config):",
            "| [profile deploy]\ncredential_process = /usr/local/bin/mint-creds deployer --output credential-process",
            "$ aws s3 ls --profile deploy     # one lease, reused by the next calls",
            "Run one command with its own credentials, revoked when it ends:",
            "$ mint-creds tmpuser --ttl 10m --exec --revoke-on-exit -- terraform apply",
            "Into the shell:",
            "$ eval \"$(mint-creds deployer --output env)\"",
            "A broker minting for verified callers, the caller naming the profile in its proof:",
            "$ sign-login --server-id broker.example.com --role ci --request creds=deployer | ssh broker",
            "$ verify-login | mint-creds     # on the broker",
        ],
    },
];
