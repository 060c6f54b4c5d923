//! verify-login's command line.

use clap::Parser;
use common::cli::CommonArgs;

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
