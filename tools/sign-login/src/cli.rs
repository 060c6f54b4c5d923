//! sign-login's command line.

use clap::{Parser, ValueEnum};
use common::cli::CommonArgs;
use common::manual::Section;

/// Sign an sts:GetCallerIdentity request with this machine's AWS identity and print it
/// as a login proof. Nothing is sent.
#[derive(Debug, Parser)]
#[command(
    name = "sign-login",
    version,
    about = "Sign an sts:GetCallerIdentity request as a login proof, without sending it",
    long_about = "Sign an sts:GetCallerIdentity request with this machine's AWS credentials and print it on \
stdout as a login proof. Nothing is sent anywhere: the proof is handed to whoever verifies it \
(verify-login, HashiCorp Vault's aws auth method, Akeyless, or a Kubernetes API server) over any pipe.\n\n\
Credentials come from the standard AWS chain: environment variables, AWS_PROFILE and the shared \
config and credentials files (SSO profiles included), web identity (AWS_WEB_IDENTITY_TOKEN_FILE, as CI systems provide it), \
the ECS/container endpoint, credential_process, and EC2 instance metadata.\n\n\
The request is POST https://sts.amazonaws.com/ (region us-east-1), or the regional endpoint \
https://sts.REGION.amazonaws.com/ with --region (FIPS and dual-stack when AWS_USE_FIPS_ENDPOINT, \
AWS_USE_DUALSTACK_ENDPOINT or the profile ask for them), or the endpoint in AWS_ENDPOINT_URL_STS, \
AWS_ENDPOINT_URL or the profile's endpoint_url when set, signed for --region or the configured region. The proof is good for as long as the verifier's clock skew allows \
(15 minutes at most); make a fresh one for every login."
)]
pub struct Cli {
    /// Bind the proof to this server: adds a signed X-Vault-AWS-IAM-Server-ID header
    /// [default: [login] server_id of the config file, if any]
    #[arg(long, value_name = "ID", env = "VAULTLESS_SERVER_ID")]
    pub server_id: Option<String>,

    /// Login role to ask for (the verifier uses the principal's name when none is given)
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,

    /// Sign for the regional STS endpoint of REGION instead of the global one
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Proof format: vault (Vault's login payload), eks (a Kubernetes ExecCredential, as
    /// `aws eks get-token` prints), akeyless (an Akeyless cloud_id)
    #[arg(long, value_enum, default_value_t = OutputFormat::Vault, value_name = "FORMAT")]
    pub format: OutputFormat,

    /// EKS cluster name to sign into the token's x-k8s-aws-id header (with --format eks)
    /// [default: the server ID]
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Add KEY=VALUE to the proof's unsigned `request` object, which tells a broker what
    /// to fetch or mint (e.g. secret_id=ci/db, creds=deployer); repeatable
    #[arg(long = "request", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub request: Vec<(String, String)>,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Vault,
    Eks,
    Akeyless,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// The man page's sections beyond what clap knows (`TOOL --generate man`).
pub const MANUAL: &[Section] = &[
    Section {
        title: "ENVIRONMENT",
        body: &[
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_EC2_METADATA_DISABLED: the standard AWS credential chain.",
            "AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, or endpoint_url in the profile (or its services section) of ~/.aws/config: sign for this endpoint instead of the real STS (tests, private endpoints).",
            "AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, or use_fips_endpoint and use_dualstack_endpoint in the profile: sign for sts-fips.REGION.amazonaws.com, sts.REGION.api.aws, or sts-fips.REGION.api.aws, in the configured region (AWS_REGION or the profile's).",
            "VAULTLESS_SERVER_ID: the default for --server-id. VAULTLESS_CONFIG: the default for --config.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "Log in to a verify-login broker over ssh and get a database password (share/doc/vaultless/github-actions.yml and gitlab-ci.yml do this from CI with an OIDC identity):",
            "$ sign-login --server-id broker.example.com --request secret_id=ci/db | ssh broker vaultless-login",
            "Log in to HashiCorp Vault's aws auth method, no Vault client needed:",
            "$ sign-login --server-id vault.example.com --role ci | curl -sf --data @- \"$VAULT_ADDR/v1/auth/aws/login\" | jq -r .auth.client_token",
            "A kubeconfig exec plugin for an EKS cluster (what aws eks get-token prints; share/doc/vaultless/kubeconfig.yaml has the whole kubeconfig):",
            "$ sign-login --format eks --cluster prod --region eu-west-1",
            "An Akeyless cloud_id:",
            "$ sign-login --format akeyless | jq -r .cloud_id",
            "Check a proof locally against a broker's config:",
            "$ sign-login --server-id broker.example.com --role ci | verify-login --config /etc/vaultless/config.toml",
        ],
    },
];
