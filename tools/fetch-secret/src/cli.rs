//! fetch-secret's command line.

use clap::{Parser, ValueEnum};
use common::cli::CommonArgs;
use common::manual::Section;

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

/// The man page's sections beyond what clap knows (`TOOL --generate man`).
pub const MANUAL: &[Section] = &[
    Section {
        title: "OUTPUT",
        body: &[
            "json: one document per secret: name, arn, version_id, version_stages, created_date, and secret_string or secret_binary (base64). Behind verify-login the caller's identity, role, verified_at and request travel along. Several secrets, or several callers, give one line each, in order; one that fails gets {\"error\": {\"code\", \"message\"}} in its place.",
            "raw: the string, or the binary bytes, exactly; a newline is added after a string only when stdout is a terminal.",
            "env: export NAME='value' lines, single-quoted so that eval \"$(fetch-secret ...)\" is safe. dotenv: NAME='value' lines, double-quoted with escapes when the value holds a quote or a newline.",
            "Each top-level key of a JSON secret becomes a variable, upper-cased with other characters turned to _ (db-password becomes DB_PASSWORD), after --env-prefix. A plain-string secret needs --env NAME; a binary one cannot be a variable.",
            "When stdout is a terminal and a value is about to be shown, a one-line notice goes to stderr. Values never appear on stderr, in -v logs, in error messages (a missing --field lists key names only), or in an --exec child's argv.",
        ],
    },
    Section {
        title: "BROKER",
        body: &[
            "fetch-secret reads verified identities (verify-login's output, one per line) from stdin when --identity - is given, when the config sets [broker] require_identity = true, or when no SECRET_ID is given. For each caller it looks up [roles.ROLE] of the caller's login role and fetches the SECRET_IDs given, or else the request.secret_id of the caller's proof, only if they match the role's secrets patterns (names or ARNs, * globs; a pattern on a name also matches that secret's ARN). Anything else is refused with 77; one refusal does not stop the other callers.",
            "With require_identity set, a missing or refused identity is a refusal: a broker never falls back to its own AWS powers.",
        ],
    },
    common::manual::AUDIT,
    Section {
        title: "ENVIRONMENT",
        body: &[
            "VAULTLESS_SECRET_ID: the secret when none is given as an argument (for service units). VAULTLESS_CONFIG: the default for --config.",
            "AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SECRETS_MANAGER and the rest of the standard AWS settings.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "The whole secret document, and one field of it:",
            "$ fetch-secret prod/db",
            "$ fetch-secret prod/db --field password",
            "Into the shell, and into a dotenv file for docker compose:",
            "$ eval \"$(fetch-secret prod/db --output env --env-prefix DB_)\"",
            "$ fetch-secret prod/app --output dotenv > .env",
            "A certificate stored as a binary secret:",
            "$ fetch-secret prod/tls-key --output raw > key.pem",
            "Run a command with the secret in its environment only (stdin stays the command's):",
            "$ fetch-secret prod/db --exec -- psql \"host=db.internal user=app\" < dump.sql",
            "Several secrets at once, as NDJSON:",
            "$ fetch-secret ci/db ci/api-key ci/signing-key",
            "A broker: the caller's proof names the secret, the broker's config grants it:",
            "$ sign-login --server-id broker.example.com --role ci --request secret_id=ci/db | ssh broker",
            "$ verify-login | fetch-secret     # on the broker, as the ssh ForceCommand",
            "A systemd unit that gets its environment from Secrets Manager at start-up, nothing on disk but a tmpfs file (share/doc/vaultless/app-with-secrets.service is the whole unit; github-actions.yml and gitlab-ci.yml use fetch-secret --exec in CI):",
            "| [Service]\nRuntimeDirectory=app\nExecStartPre=/bin/sh -c 'umask 077; fetch-secret prod/app --output dotenv > /run/app/env'\nEnvironmentFile=/run/app/env",
        ],
    },
];
