//! verify-login's command line.

use clap::Parser;
use common::cli::CommonArgs;
use common::manual::Section;

#[derive(Debug, Parser)]
#[command(
    name = "verify-login",
    version,
    about = "Verify login proofs with STS, strictly, and print the caller's identity",
    long_about = "Read login proofs on stdin (one, or many as NDJSON), check each far more strictly than \
Vault or Akeyless do, send the ones that pass to STS, and print the caller's verified identity and the \
login role it matched, one JSON document per line.\n\n\
Proofs may be in Vault's login payload format (as sign-login, the vault CLI and hvac make them), a \
Kubernetes ExecCredential holding an EKS token, or an Akeyless cloud_id; the format is told by shape.\n\n\
Before any connection is opened, a proof is refused when: its method is not POST (GET for EKS tokens); \
its URL is not https, names an authority (host and port) that is neither a real STS endpoint on its \
default port nor listed in [login] allowed_sts_hosts, has userinfo, a path other than /, or (for POST) a \
query; its body or query holds anything but one Action=GetCallerIdentity and Version; a key repeats \
(also in another case, and in the proof document itself); it carries an X-Amz-* header off the \
allowlist; the server ID header is missing, wrong or unsigned; Authorization is missing, repeated or \
malformed; X-Amz-Date is missing, unsigned, malformed, outside max_skew or not the credential scope's \
date; Content-Length is not the body's length in digits; X-Amz-Expires is outside 0-900; or it is \
oversized or not valid base64 or JSON. STS must then answer 200 with exactly one \
GetCallerIdentityResult whose ARN parses, belongs to the answer's account and is a user, role or \
assumed role; and the login role's bindings must all match.\n\n\
With several proofs, each gets one line in input order: its identity, or {\"error\": {\"code\", \"message\"}}."
)]
pub struct Cli {
    /// Verify up to N proofs at once
    #[arg(long, short = 'j', value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The man page's sections beyond what clap knows (`TOOL --generate man`).
pub const MANUAL: &[Section] = &[
    Section {
        title: "CONFIG",
        body: &[
            "[login] server_id = \"broker.example.com\": proofs must carry this X-Vault-AWS-IAM-Server-ID, signed. Required unless require_server_id = false is written out. For EKS tokens it is the cluster ID their x-k8s-aws-id must carry.",
            "[login] max_skew = \"5m\": X-Amz-Date must be within this of now; at most 15m.",
            "[login] sts_endpoint = \"https://sts.us-east-1.amazonaws.com\": send every proof here, with Host kept as signed. Otherwise each proof goes to the real STS endpoint it names. http only for loopback addresses.",
            "[login] allowed_sts_hosts = []: authorities accepted in proof URLs beyond the real STS endpoints, each \"host\" or \"host:port\" (\"[::1]:8080\" for IPv6). A bare host admits only the scheme's default port (443, or 80 for http); any other port must be listed with it, so allowlisting a loopback host does not open its every service. The rule holds with sts_endpoint set too. http is accepted for listed loopback authorities only.",
            "[login] timeout = \"10s\": total time for one STS call, retries included.",
            "[login] single_use = true (the default): a proof verifies once. After STS and the bindings accept it, the SHA-256 of its signature is recorded in the state store ([ledger]) until its X-Amz-Date + max_skew; a proof already recorded is refused with 77 (already used), so a proof intercepted in transit or logged by a proxy cannot be replayed. With the SQLite store that holds on one host; brokers behind a load balancer share a DynamoDB table. EKS tokens are exempt (kubectl reuses one for up to 15 minutes). Write single_use = false to turn it off. sign-login signs a random X-Vaultless-Nonce header, so two logins in one second are two proofs; other clients (hvac, the vault CLI) sign alike within one second, and the second of two such logins is refused.",
            common::manual::LEDGER,
            "[roles.NAME] bound_account_ids, bound_principal_arns (exact, or * globs on the full ARN), bound_role_names, bound_user_ids: every non-empty list must match (AND across lists, any item within one). A role must bind by account, ARN or unique id. A proof names its role with \"role\"; without one the principal's name is used.",
        ],
    },
    common::manual::AUDIT,
    Section {
        title: "ENVIRONMENT",
        body: &[
            "VAULTLESS_CONFIG: the default for --config. XDG_STATE_HOME: where the SQLite state store lives by default. AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB and the standard AWS settings, for a DynamoDB state store.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "Verify one proof; the identity document goes to stdout:",
            "$ sign-login --server-id broker.example.com | verify-login",
            "A broker behind ssh: share/vaultless/vaultless-broker as the ForceCommand (its header has the sshd_config and authorized_keys lines) routes each verified caller to fetch-secret or mint-creds:",
            "$ sign-login --server-id broker.example.com --request secret_id=ci/db | ssh vaultless@broker",
            "Or the pipeline itself, for one secret:",
            "$ verify-login | fetch-secret",
            "Verify a batch, 16 at a time, keeping only the accepted ARNs:",
            "$ verify-login --jobs 16 < proofs.ndjson | jq -r 'select(.identity) | .identity.arn'",
            "Check a config against the emulator in tests (sts_endpoint = \"http://127.0.0.1:5000\"):",
            "$ sign-login --server-id broker.test | verify-login --config test.toml -v",
        ],
    },
];
